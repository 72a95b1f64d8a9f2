//! A throwaway PostgreSQL server for tests, made by scripts/pg-test-cluster (the one place that knows how),
//! or the one named by `PCHAT_PG_URL` (as `scripts/pg-test-cluster run cargo test` sets it). One server
//! serves every test of the process (each test makes its own databases): starting one takes seconds.
//! Shared by the library's tests (`test_cluster`) and the integration tests (tests/it/common/pg.rs,
//! which include this file): std, libc, uuid and postgres only.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use postgres::{Client, Config, NoTls};

pub(crate) struct Server {
    pub(crate) url: String,
    /// The cluster this process started, stopped and removed when the process exits.
    pub(crate) dir: Option<PathBuf>,
    /// `pg-test-cluster watch DIR`, reading a pipe whose only writer is this process: when the process
    /// dies without running `atexit` (kill -9, a signal, an abort), the pipe closes and the watchdog stops
    /// the server, which would otherwise run on with its data folder in /tmp.
    pub(crate) _watchdog: Option<Child>,
}

static SHARED: OnceLock<Option<Server>> = OnceLock::new();

/// Registered with atexit: the test harness has no teardown hook, and a static is never dropped.
extern "C" fn stop_shared() {
    if let Some(Some(Server { dir: Some(dir), .. })) = SHARED.get() {
        let _ = Command::new(script()).arg("stop").arg(dir).status();
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-test-cluster")
}

impl Server {
    /// `None`, with a message saying so, when PostgreSQL is not installed here (unless
    /// `PCHAT_PG_REQUIRED` is set, as CI sets it: then that is a failure).
    pub(crate) fn shared(test: &str) -> Option<&'static Server> {
        let cluster = SHARED.get_or_init(|| {
            let cluster = Server::start();
            if cluster.as_ref().is_some_and(|c| c.dir.is_some()) {
                // SAFETY: registers a plain function without arguments, as atexit expects.
                unsafe { libc::atexit(stop_shared) };
            }
            cluster
        });
        if cluster.is_none() {
            eprintln!("{test}: SKIPPED, PostgreSQL is not installed (scripts/pg-test-cluster install)");
        }
        cluster.as_ref()
    }

    pub(crate) fn start() -> Option<Server> {
        if let Ok(url) = std::env::var("PCHAT_PG_URL") {
            return Some(Server { url, dir: None, _watchdog: None });
        }
        Server::start_own()
    }

    /// A server of this process's own, even when `PCHAT_PG_URL` names one: a test that stops its
    /// server (`halt`) must not stop the one other tests use. `None` as for `shared`.
    pub(crate) fn start_own() -> Option<Server> {
        let found = Command::new(script()).arg("bindir").output().expect("run scripts/pg-test-cluster");
        if !found.status.success() {
            assert!(
                std::env::var_os("PCHAT_PG_REQUIRED").is_none(),
                "PCHAT_PG_REQUIRED is set but PostgreSQL is not installed"
            );
            return None;
        }
        let out = Command::new(script()).arg("start").output().expect("run scripts/pg-test-cluster");
        assert!(out.status.success(), "pg-test-cluster start: {}", String::from_utf8_lossy(&out.stderr));
        let text = String::from_utf8(out.stdout).unwrap();
        let field = |k: &str| text.lines().find_map(|l| l.strip_prefix(k)).map(str::to_string);
        let url = field("PCHAT_PG_URL=").expect("a URL");
        let dir = field("PCHAT_PG_DIR=").map(PathBuf::from);
        let watchdog = dir.as_ref().map(|dir| {
            Command::new(script())
                .arg("watch")
                .arg(dir)
                .stdin(Stdio::piped()) // std opens the pipe close-on-exec: no child of a test holds it.
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("run scripts/pg-test-cluster watch")
        });
        Some(Server { url, dir, _watchdog: watchdog })
    }

    /// Stop the server at once, as if its machine died (`pg_ctl stop -m immediate`); its data stays.
    #[allow(dead_code, reason = "the integration tests' fail-over acceptance uses it")]
    pub(crate) fn halt(&self) {
        self.control("halt");
    }

    /// Start a halted server again, on the same port.
    #[allow(dead_code, reason = "the integration tests' fail-over acceptance uses it")]
    pub(crate) fn resume(&self) {
        self.control("resume");
    }

    #[allow(dead_code, reason = "see halt")]
    fn control(&self, what: &str) {
        let dir = self.dir.as_ref().expect("a server this process started (Server::start_own)");
        let out = Command::new(script()).arg(what).arg(dir).output().expect("run scripts/pg-test-cluster");
        assert!(out.status.success(), "pg-test-cluster {what}: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// The URL of a database of a unique name (`pchat_<tag>_<8 hex>`) that does not exist.
    pub(crate) fn missing_database(&self, tag: &str) -> String {
        self.url_of(&format!("pchat_{tag}_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]))
    }

    /// The URL of the database `name` on this server.
    pub(crate) fn url_of(&self, name: &str) -> String {
        let (base, query) = self.url.split_once('?').map_or((self.url.as_str(), None), |(b, q)| (b, Some(q)));
        let authority_end = base.find("://").map_or(0, |i| i + 3);
        let server = match base[authority_end..].find('/') {
            Some(slash) => &base[..authority_end + slash],
            None => base,
        };
        match query {
            Some(q) => format!("{server}/{name}?{q}"),
            None => format!("{server}/{name}"),
        }
    }
}

pub(crate) fn connect(url: &str) -> Client {
    url.parse::<Config>().unwrap().connect(NoTls).expect("connect to the test database")
}

/// The pool tables a pool's copy holds, parents before children (each child with its parent table
/// and key): `pool_data::COPY_ORDER` and `pool_sync`, spelt here because the integration tests,
/// which include this file, cannot reach the library's (a library test checks they agree).
pub(crate) const POOL_TABLES: &[(&str, Option<(&str, &str)>)] = &[
    ("addins", None),
    ("categories", None),
    ("category_entries", Some(("categories", "category_id"))),
    ("rooms", None),
    ("room_entries", Some(("rooms", "room_id"))),
    ("messages", Some(("rooms", "room_id"))),
    ("pool_sync", None),
];

/// Each pool table's rows of `pool` in the pool database at `url`, as "table: count md5": two
/// copies holding the same rows give the same lines.
pub(crate) fn pool_rows(url: &str, pool: &str) -> Vec<String> {
    let mut db = connect(url);
    POOL_TABLES
        .iter()
        .map(|(table, parent)| {
            let from = match parent {
                None => format!("{table} t WHERE lower(t.pool) = lower($1)"),
                Some((parent, key)) => {
                    format!("{table} t JOIN {parent} p ON p.id = t.{key} WHERE lower(p.pool) = lower($1)")
                }
            };
            let row = db
                .query_one(
                    &format!(
                        "SELECT count(*), coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') FROM {from}"
                    ),
                    &[&pool],
                )
                .unwrap_or_else(|e| panic!("{table}: {e}"));
            format!("{table}: {} {}", row.get::<_, i64>(0), row.get::<_, String>(1))
        })
        .collect()
}
