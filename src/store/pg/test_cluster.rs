//! A throwaway PostgreSQL server for tests, made by scripts/pg-test-cluster (the one place that knows how),
//! or the one named by `PCHAT_PG_URL` (as `scripts/pg-test-cluster run cargo test` sets it). One server
//! serves every test of the process (each test makes its own databases): starting one takes seconds.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use postgres::{Client, Config, NoTls};

pub(crate) struct Cluster {
    url: String,
    /// The cluster this process started, stopped and removed when the process exits.
    dir: Option<PathBuf>,
    /// `pg-test-cluster watch DIR`, reading a pipe whose only writer is this process: when the process
    /// dies without running `atexit` (kill -9, a signal, an abort), the pipe closes and the watchdog stops
    /// the server, which would otherwise run on with its data folder in /tmp.
    _watchdog: Option<Child>,
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
            return Some(Cluster { url, dir: None, _watchdog: None });
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
                .stdin(Stdio::piped()) // std opens the pipe close-on-exec: no child of a test holds it.
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("run scripts/pg-test-cluster watch")
        });
        Some(Cluster { url, dir, _watchdog: watchdog })
    }

    /// A new, empty database of a unique name; its URL (a URL so that a child process can be told it).
    pub(crate) fn database(&self, tag: &str) -> String {
        // FILE_COPY: with fsync off it is faster than copying template1 through the WAL.
        self.database_with(tag, "STRATEGY = FILE_COPY")
    }

    /// [`Cluster::database`] made with `options` of CREATE DATABASE.
    pub(crate) fn database_with(&self, tag: &str, options: &str) -> String {
        let url = self.missing_database(tag);
        let name = url.rsplit('/').next().and_then(|n| n.split('?').next()).unwrap();
        connect(&self.url).batch_execute(&format!("CREATE DATABASE {name} {options}")).unwrap();
        url
    }

    /// The URL of a database of a unique name that does not exist.
    pub(crate) fn missing_database(&self, tag: &str) -> String {
        let name = format!("pchat_{tag}_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
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

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};

    /// Run by `a_killed_test_process_leaves_no_server_running` in a child process: starts a cluster of its
    /// own, says where, and waits to be killed.
    #[test]
    #[ignore = "a child process of a_killed_test_process_leaves_no_server_running"]
    fn cluster_owner_child() {
        if std::env::var_os("PCHAT_PG_CHILD_CLUSTER").is_none() {
            return;
        }
        let cluster = Cluster::start().expect("PostgreSQL is installed (the parent checked)");
        let watchdog = cluster._watchdog.as_ref().expect("a cluster this process started is watched").id();
        println!("URL={}\nDIR={}\nWATCHDOG={watchdog}", cluster.url, cluster.dir.as_ref().unwrap().display());
        loop {
            std::thread::park();
        }
    }

    /// Blocks until process `pid` has exited (a pidfd becomes readable then); false after `timeout_ms`.
    fn wait_for_exit(pid: u32, timeout_ms: i32) -> bool {
        // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) } as libc::c_int;
        if fd < 0 {
            return std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH); // gone already
        }
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd; the descriptor is ours and closed right after.
        let ready = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        unsafe { libc::close(fd) };
        ready == 1
    }

    #[test]
    fn a_killed_test_process_leaves_no_server_running() {
        if Cluster::shared("a_killed_test_process_leaves_no_server_running").is_none() {
            return;
        }
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "store::pg::test_cluster::tests::cluster_owner_child", "--ignored", "--nocapture"])
            .env("PCHAT_PG_CHILD_CLUSTER", "1")
            .env_remove("PCHAT_PG_URL") // its own server, not the one a `pg-test-cluster run` named
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut said = std::collections::HashMap::new();
        for line in BufReader::new(child.stdout.take().unwrap()).lines() {
            let line = line.unwrap();
            if let Some((k, v)) = line.split_once('=') {
                said.insert(k.to_string(), v.to_string());
            }
            if said.contains_key("WATCHDOG") {
                break;
            }
        }
        let (url, dir, watchdog) = (&said["URL"], PathBuf::from(&said["DIR"]), said["WATCHDOG"].parse().unwrap());
        assert!(connect(url).simple_query("SELECT 1").is_ok());
        assert!(dir.is_dir());

        child.kill().unwrap(); // SIGKILL: no atexit, no destructor
        child.wait().unwrap();
        assert!(wait_for_exit(watchdog, 60_000), "the watchdog did not finish within a minute");
        assert!(!dir.exists(), "{} is left behind", dir.display());
        let gone = url.parse::<Config>().unwrap().connect(NoTls);
        assert!(gone.is_err(), "the server of a killed test process still answers");
    }
}
