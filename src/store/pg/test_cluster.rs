//! The library tests' PostgreSQL server (`test_server`, shared with the integration tests) and
//! the databases they make on it.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use postgres::{Config, NoTls};

pub(crate) use super::test_server::{Server as Cluster, connect};

impl Cluster {
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
