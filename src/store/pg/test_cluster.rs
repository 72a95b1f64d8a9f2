//! A throwaway PostgreSQL server for tests, made by scripts/pg-test-cluster (the one place that knows how),
//! or the one named by `PCHAT_PG_URL` (as `scripts/pg-test-cluster run cargo test` sets it). One server
//! serves every test of the process (each test makes its own databases): starting one takes seconds.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use postgres::{Client, Config, NoTls};

pub(crate) struct Cluster {
    url: String,
    /// The cluster this process started, stopped and removed when the process exits.
    dir: Option<PathBuf>,
}

static SHARED: OnceLock<Option<Cluster>> = OnceLock::new();

/// Registered with atexit: the test harness has no teardown hook, and a static is never dropped.
extern "C" fn stop_shared() {
    if let Some(Some(Cluster { dir: Some(dir), .. })) = SHARED.get() {
        let _ = Command::new(script()).arg("stop").arg(dir).status();
    }
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/pg-test-cluster")
}

impl Cluster {
    /// `None`, with a message saying so, when PostgreSQL is not installed here (unless
    /// `PCHAT_PG_REQUIRED` is set, as CI sets it: then that is a failure).
    pub(crate) fn shared(test: &str) -> Option<&'static Cluster> {
        let cluster = SHARED.get_or_init(|| {
            let cluster = Cluster::start();
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

    fn start() -> Option<Cluster> {
        if let Ok(url) = std::env::var("PCHAT_PG_URL") {
            return Some(Cluster { url, dir: None });
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
        Some(Cluster { url, dir })
    }

    /// A new, empty database of a unique name; its URL (a URL so that a child process can be told it).
    pub(crate) fn database(&self, tag: &str) -> String {
        // FILE_COPY: with fsync off it is faster than copying template1 through the WAL.
        self.database_with(tag, "STRATEGY = FILE_COPY")
    }

    /// [`Cluster::database`] made with `options` of CREATE DATABASE.
    pub(crate) fn database_with(&self, tag: &str, options: &str) -> String {
        let name = format!("pchat_{tag}_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        connect(&self.url).batch_execute(&format!("CREATE DATABASE {name} {options}")).unwrap();
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
