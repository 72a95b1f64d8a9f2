//! A `pchat` process held at a fault point (`PCHAT_FAULT=<step>:pause:<file>`: it waits there
//! until the file exists), for tests of what other processes do meanwhile. A held process is
//! killed when its [`Held`] is dropped unreleased: a test that fails while holding one leaves no
//! paused `pchat` behind (it would wait for its file forever, holding its locks and sessions).

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::Run;

pub struct Held {
    /// `None` once released (waited for).
    child: Option<Child>,
    go: PathBuf,
    _gate: tempfile::TempDir,
    /// Standard error up to the fault point, then the rest (read on, so the pipe never fills).
    seen: String,
    rest: Option<JoinHandle<String>>,
    stdout: Option<JoinHandle<String>>,
}

impl Held {
    /// Start `cmd` paused at `step`; returns once it reports being there.
    pub fn at(mut cmd: Command, step: &str) -> Held {
        let gate = tempfile::tempdir().expect("temp dir");
        let go = gate.path().join("go");
        let mut child = cmd
            .env("PCHAT_FAULT", format!("{step}:pause:{}", go.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pchat runs");
        let mut stdout = child.stdout.take().expect("stdout");
        let stdout = std::thread::spawn(move || {
            let mut out = String::new();
            let _ = stdout.read_to_string(&mut out);
            out
        });
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        // Owned by `held` before reading: should the process end early, the assertion's unwind
        // drops it (and its drain threads end with the pipes).
        let mut held =
            Held { child: Some(child), go, _gate: gate, seen: String::new(), rest: None, stdout: Some(stdout) };
        held.seen = read_until(&mut stderr, &format!("pchat-fault: reached {step}"));
        held.rest = Some(std::thread::spawn(move || {
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
            rest
        }));
        held
    }

    /// The held process's id.
    pub fn id(&self) -> u32 {
        self.child.as_ref().expect("not released yet").id()
    }

    /// Send it `signal` (it acts on it once released: a signal that ends it ends it there).
    pub fn signal(&self, signal: i32) {
        let pid = self.id() as libc::pid_t;
        // SAFETY: kill(2) on the pid of a child this process spawned and has not waited for.
        assert_eq!(unsafe { libc::kill(pid, signal) }, 0, "signal {signal} to {pid}");
    }

    /// Let it go on; its exit must be a success.
    pub fn release(self) {
        let run = self.finish();
        assert!(run.code == 0, "the held process failed: {}", run.stderr);
    }

    /// Let it go on and wait for it: its exit code, standard output, and whole standard error.
    pub fn finish(mut self) -> Run {
        std::fs::write(&self.go, "").expect("release the held process");
        let status = self.child.take().expect("not released yet").wait().expect("wait for the held process");
        let read = |reader: Option<JoinHandle<String>>| reader.map(|r| r.join().expect("reader")).unwrap_or_default();
        Run {
            code: status.code().unwrap_or(-1),
            stdout: read(self.stdout.take()),
            stderr: format!("{}{}", self.seen, read(self.rest.take())),
        }
    }
}

impl Drop for Held {
    /// Kill an unreleased process (the test failed while holding it) and reap it.
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Read `stderr` until a line containing `line`; what was read.
pub fn read_until(stderr: &mut BufReader<ChildStderr>, line: &str) -> String {
    let mut seen = String::new();
    while !seen.contains(line) {
        let mut next = String::new();
        assert!(stderr.read_line(&mut next).expect("read stderr") > 0, "ended before {line:?}: {seen}");
        seen.push_str(&next);
    }
    seen
}

/// Until a session of the store whose central database is `central` waits for the writers' lock
/// (as the server sees it): a writer queued behind a held process.
pub fn until_a_writer_waits(central: &str) {
    until_a_lock_is_waited_for(
        central,
        "l.relation = (SELECT oid FROM pg_class WHERE relname = 'audit_head')",
        "the writers' lock",
    );
}

/// Until a session of the store waits for a change's advisory lock: a call waiting for a change
/// being completed (`twophase::in_flight`).
pub fn until_a_change_is_waited_for(central: &str) {
    until_a_lock_is_waited_for(central, "l.locktype = 'advisory'", "a change's advisory lock");
}

/// Until the server at `central` shows a lock matching `which` (a condition on `pg_locks l`) not
/// granted. Polls the server: the wait is the other process's, seen from outside.
pub fn until_a_lock_is_waited_for(central: &str, which: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let waiting = format!("SELECT count(*) FROM pg_locks l WHERE {which} AND NOT l.granted");
    let mut db = super::pg::connect(central);
    while db.query_one(&waiting, &[]).expect("pg_locks").get::<_, i64>(0) == 0 {
        assert!(Instant::now() < deadline, "nobody waited for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test that fails while holding a process (here, a panic caught to look afterwards) leaves
    /// no process behind: the held one is killed and reaped as the panic unwinds.
    #[test]
    fn a_test_failing_while_holding_a_process_leaves_none_behind() {
        let s = super::super::Store::demo();
        let code = r#"atomic(|| { new_cs_persistent_chat_category(#{Name: "Held", PersistentChatPoolFqdn: "pc01.contoso.com"}); }); 1"#;
        let pid = std::sync::Mutex::new(None);
        let failed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let held = Held::at(s.command(&["-c", code]), "atomic:before-commit");
            *pid.lock().unwrap() = Some(held.id());
            panic!("a failing assertion while a process is held (expected by this test)");
        }));
        assert!(failed.is_err());
        let pid = pid.into_inner().unwrap().expect("the process was held");
        // Reaped, not a zombie: the pid names no process any more.
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the held pchat {pid} is still there");
        // Killed before its commit: the block changed nothing.
        assert_eq!(s.c(r#"get_cs_persistent_chat_category(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).filter(|c| c.Name == "Held").len()"#).ok().stdout.trim(), "0");
    }
}
