//! A throwaway PostgreSQL server for the integration tests, got as the library's tests get theirs
//! (src/store/pg/test_cluster.rs): the one `PCHAT_PG_URL` names (`scripts/pg-test-cluster run
//! cargo test`), else one started by scripts/pg-test-cluster for this test process and stopped
//! when it exits (a watchdog stops it should the process die without exiting). Without PostgreSQL
//! installed a test skips, saying so, unless `PCHAT_PG_REQUIRED` is set (as .ci/run sets it):
//! then that is a failure.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use postgres::{Client, Config, NoTls};

pub struct Server {
    url: String,
    /// The cluster this process started (stopped at exit).
    dir: Option<PathBuf>,
    _watchdog: Option<Child>,
}

static SHARED: OnceLock<Option<Server>> = OnceLock::new();

fn script() -> PathBuf {
    PathBuf::from(super::ROOT).join("scripts/pg-test-cluster")
}

/// Registered with atexit: a static is never dropped.
extern "C" fn stop_shared() {
    if let Some(Some(Server { dir: Some(dir), .. })) = SHARED.get() {
        let _ = Command::new(script()).arg("stop").arg(dir).status();
    }
}

impl Server {
    /// The server, or `None` with a message when PostgreSQL is not installed (a failure instead
    /// when `PCHAT_PG_REQUIRED` is set).
    pub fn shared(test: &str) -> Option<&'static Server> {
        let server = SHARED.get_or_init(|| {
            let server = Server::start();
            if server.as_ref().is_some_and(|s| s.dir.is_some()) {
                // SAFETY: registers a plain function without arguments, as atexit expects.
                unsafe { libc::atexit(stop_shared) };
            }
            server
        });
        if server.is_none() {
            eprintln!("{test}: SKIPPED, PostgreSQL is not installed (scripts/pg-test-cluster install)");
        }
        server.as_ref()
    }

    fn start() -> Option<Server> {
        if let Ok(url) = std::env::var("PCHAT_PG_URL") {
            return Some(Server { url, dir: None, _watchdog: None });
        }
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
                .stdin(Stdio::piped()) // close-on-exec: no pchat this process starts holds it
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("run scripts/pg-test-cluster watch")
        });
        Some(Server { url, dir, _watchdog: watchdog })
    }

    /// The URL of a database of a unique name (`pchat_<tag>_<8 hex>`) that does not exist.
    pub fn missing_database(&self, tag: &str) -> String {
        let name = format!("pchat_{tag}_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        self.url_of(&name)
    }

    /// The URL of the database `name` on this server.
    pub fn url_of(&self, name: &str) -> String {
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

    /// The databases of the server whose names start with `prefix`.
    pub fn databases_named(&self, prefix: &str) -> Vec<String> {
        connect(&self.url_of("postgres"))
            .query("SELECT datname::text FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1", &[&prefix])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
}

pub fn connect(url: &str) -> Client {
    url.parse::<Config>().unwrap().connect(NoTls).expect("connect to the test database")
}

/// The name of the database a URL of [`Server::missing_database`] names.
pub fn database_name(url: &str) -> String {
    url.rsplit('/').next().and_then(|n| n.split('?').next()).unwrap().to_string()
}
