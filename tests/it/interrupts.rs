//! Ctrl-C and SIGTERM stop long cmdlets (rolling back the object in progress, removing a
//! half-written file, saying what completed); confirmation prompts answered No or interrupted.
//! Signals are sent at a fault point the process announces (`PCHAT_FAULT=<step>:pause:<file>`),
//! never after a sleep.
#![cfg(unix)]

use crate::common;

use std::io::{BufReader, Read, Write};
use std::os::fd::FromRawFd;
use std::path::Path;
use std::process::{Child, Stdio};

use common::held::Held;
use common::{Run, Store};

/// Start pchat paused at `step`, send `signal` there, let it go on, and collect the run.
fn signal_at(s: &Store, step: &str, signal: i32, args: &[&str]) -> Run {
    let held = Held::at(s.command(args), step);
    held.signal(signal);
    held.finish()
}

fn export_code(file: &Path, extra: &str) -> String {
    format!(
        r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{}`{extra}}}); print("after")"#,
        file.display()
    )
}

#[test]
fn ctrl_c_stops_an_export_and_removes_the_partial_archive() {
    let s = Store::examples();
    let zip = s.dir.path().join("out.zip");
    let before = s.dump();
    let run = signal_at(&s, "export-message", libc::SIGINT, &["-c", &export_code(&zip, "")]);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "Export-CsPersistentChatData: Canceled: interrupted (Ctrl-C); nothing was exported; no archive was written"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("after"), "the statement stopped");
    assert!(!zip.exists(), "no half-written archive is left");
    let left: Vec<_> = std::fs::read_dir(s.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "no temporary file is left: {left:?}");
    assert_eq!(s.dump(), before);
}

#[test]
fn sigterm_during_disable_exported_nodes_disables_nothing_and_exits_143() {
    let s = Store::examples();
    let zip = s.dir.path().join("out.zip");
    let before = s.dump();
    let run =
        signal_at(&s, "export-disable", libc::SIGTERM, &["-c", &export_code(&zip, ", DisableExportedNodes: true")]);
    assert_eq!(run.code, 143, "{}", run.stderr);
    assert!(
        run.stderr.contains("interrupted (SIGTERM); the archive is complete; no room was disabled"),
        "{}",
        run.stderr
    );
    assert_eq!(s.dump(), before, "the disabling rolled back");
}

#[test]
fn ctrl_c_stops_an_import_which_keeps_nothing() {
    let s = Store::examples();
    let zip = s.dir.path().join("all.zip");
    s.c(&export_code(&zip, "")).ok();
    s.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).clear_cs_persistent_chat_room(#{EndDate: "2100-01-01", Confirm: false})"#).ok();
    let before = s.dump();
    let code = format!(
        r#"import_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{}`}})"#,
        zip.display()
    );
    let run = signal_at(&s, "import-message", libc::SIGINT, &["-c", &code]);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(run.stderr.contains("interrupted (Ctrl-C); nothing was imported"), "{}", run.stderr);
    assert_eq!(s.dump(), before);
}

#[test]
fn ctrl_c_stops_a_pipeline_keeping_the_objects_done_and_saying_so() {
    let s = Store::examples();
    let code =
        r#"get_cs_persistent_chat_room().set_cs_persistent_chat_room(#{Description: "changed"}); print("after")"#;
    let run = signal_at(&s, "pipeline-item", libc::SIGINT, &["-c", code]);
    assert_eq!(run.code, 130, "{}", run.stderr);
    let total = s.c("get_cs_persistent_chat_room().len()").ok().stdout.trim().to_string();
    assert!(run.stderr.contains(&format!("interrupted (Ctrl-C); 0 of {total} objects done")), "{}", run.stderr);
    assert!(run.stderr.contains("pchat: committed before the interruption, and kept: no change;"), "{}", run.stderr);
    assert!(!run.stdout.contains("after"));
    let changed = s.c(r#"get_cs_persistent_chat_room().filter(|r| r.Description == "changed").len()"#).ok();
    assert_eq!(changed.stdout.trim(), "0");
}

/// pchat with a pseudo-terminal for standard input (so it prompts), stdout/stderr piped.
pub(crate) struct Terminal {
    child: Child,
    master: std::fs::File,
    stderr: BufReader<std::process::ChildStderr>,
    seen: String,
}

impl Terminal {
    pub(crate) fn start(s: &Store, args: &[&str]) -> Terminal {
        Terminal::start_with(s, args, &[])
    }

    /// `start` with environment variables set (a fault).
    pub(crate) fn start_with(s: &Store, args: &[&str], env: &[(&str, &str)]) -> Terminal {
        let mut cmd = s.command(args);
        cmd.envs(env.iter().copied());
        Terminal::spawn(cmd)
    }

    /// `cmd` (a `pchat` command) with a terminal as its standard input.
    pub(crate) fn spawn(mut cmd: std::process::Command) -> Terminal {
        let (mut master, mut slave) = (0, 0);
        // SAFETY: openpty fills two descriptors we then own.
        let rc =
            unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
        assert_eq!(rc, 0, "openpty");
        // SAFETY: the descriptors were just opened and are owned by these files alone.
        let (master, slave) = unsafe { (std::fs::File::from_raw_fd(master), std::fs::File::from_raw_fd(slave)) };
        let mut child =
            cmd.stdin(Stdio::from(slave)).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn");
        let stderr = BufReader::new(child.stderr.take().expect("stderr"));
        Terminal { child, master, stderr, seen: String::new() }
    }

    /// Read stderr up to the next prompt.
    pub(crate) fn until_prompt(&mut self) {
        self.until("(default is \"Y\"): ");
    }

    /// Read stderr up to the next `text` (a fault point's `pchat-fault: reached STEP`, say).
    pub(crate) fn until(&mut self, text: &str) {
        let mut buf = Vec::new();
        loop {
            let mut byte = [0u8];
            assert_eq!(self.stderr.read(&mut byte).expect("read"), 1, "no {text:?}:\n{}", self.seen);
            buf.push(byte[0]);
            if buf.ends_with(text.as_bytes()) {
                break;
            }
        }
        self.seen.push_str(&String::from_utf8_lossy(&buf));
    }

    pub(crate) fn answer(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).expect("type");
    }

    pub(crate) fn finish(mut self) -> Run {
        let mut rest = String::new();
        self.stderr.read_to_string(&mut rest).expect("stderr");
        let out = self.child.wait_with_output().expect("wait");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into(),
            stderr: format!("{}{rest}", self.seen),
        }
    }
}

const TWO_ROOMS: &str = r#"["pc01.contoso.com\\FinanceRoom", "pc01.contoso.com\\Draft"].remove_cs_persistent_chat_room(#{Confirm: true}); print("after")"#;

#[test]
fn answering_no_skips_the_object_without_an_error() {
    let s = Store::examples();
    let mut t = Terminal::start(&s, &["-c", TWO_ROOMS]);
    t.until_prompt();
    t.answer("n\n");
    t.until_prompt();
    t.answer("y\n");
    let run = t.finish();
    assert_eq!(run.code, 0, "a declined object is not an error:\n{}", run.stderr);
    assert!(run.stdout.contains("after"));
    assert!(!run.stderr.contains("Canceled") && !run.stderr.contains("declined"), "{}", run.stderr);
    let left =
        s.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).map(|r| r.Name)"#).ok();
    assert!(left.stdout.contains("FinanceRoom") && !left.stdout.contains("Draft"), "{}", left.stdout);
}

#[test]
fn a_question_mark_or_an_unknown_answer_at_a_prompt_explains_the_answers() {
    let s = Store::examples();
    let mut t = Terminal::start(&s, &["-c", TWO_ROOMS]);
    t.until_prompt();
    t.answer("?\n");
    t.until_prompt();
    t.answer("maybe\n");
    t.until_prompt();
    t.answer("l\n");
    let run = t.finish();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("[?] Help"), "{}", run.stderr);
    assert_eq!(
        run.stderr.matches("L - Skip this operation and all subsequent operations.").count(),
        2,
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("\"maybe\" is not one of the answers."), "{}", run.stderr);
    // "No to All": neither room was removed, and nothing was asked for the second.
    assert_eq!(run.stderr.matches("Are you sure").count(), 1, "{}", run.stderr);
    let left =
        s.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).map(|r| r.Name)"#).ok();
    assert!(left.stdout.contains("FinanceRoom") && left.stdout.contains("Draft"), "{}", left.stdout);
}

#[test]
fn end_of_input_at_a_prompt_stops_the_statement_instead_of_answering_no() {
    let s = Store::examples();
    let before = s.dump();
    let mut t = Terminal::start(&s, &["-c", TWO_ROOMS]);
    t.until_prompt();
    // Ctrl-D at the start of a line: the terminal's end of input.
    t.answer("\x04");
    let run = t.finish();
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("(end of input): the statement stops here"), "{}", run.stderr);
    assert_eq!(run.stderr.matches("Are you sure").count(), 1, "not asked again: {}", run.stderr);
    assert!(!run.stdout.contains("after"));
    assert_eq!(s.dump(), before, "nothing was removed");
}

#[test]
fn ctrl_c_at_a_prompt_stops_the_whole_statement() {
    let s = Store::examples();
    let before = s.dump();
    let mut t = Terminal::start(&s, &["-c", TWO_ROOMS]);
    t.until_prompt();
    // SAFETY: sending a signal to our own child process (as the terminal does on Ctrl-C).
    unsafe {
        libc::kill(t.child.id() as i32, libc::SIGINT);
    }
    // Whatever is typed next is not taken as the answer.
    t.answer("y\n");
    let run = t.finish();
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(run.stderr.contains("interrupted (Ctrl-C)"), "{}", run.stderr);
    assert!(!run.stdout.contains("after"));
    assert_eq!(s.dump(), before, "nothing was removed");
}

/// A runbook stopped between statements says which changes were committed before the signal
/// (and so stand), and the statements after it do not run.
#[test]
fn an_interrupted_runbook_says_what_it_committed_before_the_signal() {
    let s = Store::examples();
    let runbook = s.dir.path().join("stopped.rhai");
    std::fs::write(
        &runbook,
        r#"new_cs_persistent_chat_category(#{Name: "Ärende", PersistentChatPoolFqdn: "pc01.contoso.com"});
get_cs_persistent_chat_room().set_cs_persistent_chat_room(#{Description: "Reviewed"});
"#,
    )
    .unwrap();
    let run = signal_at(&s, "committed", libc::SIGINT, &["run", &runbook.to_string_lossy()]);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(
        run.stderr.contains(
            "pchat: committed before the interruption, and kept: 1 change (New-CsPersistentChatCategory 1); the change in progress was undone"
        ),
        "{}",
        run.stderr
    );
    let kept = s.c(r#"get_cs_persistent_chat_category("pc01.contoso.com\\Ärende").len()"#).ok();
    assert_eq!(kept.stdout.trim(), "1");
    let reviewed = s.c(r#"get_cs_persistent_chat_room(#{Filter: "Description -eq 'Reviewed'"}).len()"#).ok();
    assert_eq!(reviewed.stdout.trim(), "0");
}

/// An atomic run stopped part-way keeps nothing, and says so.
#[test]
fn an_interrupted_atomic_run_says_nothing_was_kept() {
    let s = Store::examples();
    let runbook = s.dir.path().join("atomic.rhai");
    std::fs::write(
        &runbook,
        r#"new_cs_persistent_chat_category(#{Name: "Kept?", PersistentChatPoolFqdn: "pc01.contoso.com"}); print("after")"#,
    )
    .unwrap();
    let before = s.dump();
    let run = signal_at(&s, "atomic:begun", libc::SIGINT, &["run", "--atomic", &runbook.to_string_lossy()]);
    assert_eq!(run.code, 130, "{}", run.stderr);
    assert!(run.stderr.contains("pchat: committed before the interruption, and kept: no change;"), "{}", run.stderr);
    assert_eq!(s.dump(), before);
}

/// The URL of a PostgreSQL "server" that accepts connections and never answers: a listener of
/// this test's own that keeps what it accepts open. `connected` hears of each connection.
fn server_that_never_answers() -> (String, std::sync::mpsc::Receiver<()>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (accepted, connected) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for conn in listener.incoming().flatten() {
            open.push(conn);
            let _ = accepted.send(());
        }
    });
    (format!("postgres://pchat@127.0.0.1:{port}/pchat"), connected)
}

/// pchat on `url` with `args`, started.
fn spawn_on(url: &str, args: &[&str]) -> Child {
    common::pchat()
        .args(["--db", url])
        .args(args)
        .env_remove("PCHAT_DB")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The child's exit code and standard error once it ends by itself; the test fails (and kills
/// it) if that takes a minute: `what` should have ended it.
fn ended_by(mut child: Child, what: &str) -> (Option<i32>, String) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} did not end the run");
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (status.code(), stderr)
}

/// A database server that accepts connections and never answers (its machine alive, the server
/// stopped or wedged): the run's statement cannot be interrupted (even a cancel request hangs),
/// and one SIGTERM — what `timeout`, systemd and cron's supervisors send — must still end the
/// run, saying why, within the grace of interrupt.rs (a second signal was needed, and the run
/// ended without a word).
#[test]
fn one_sigterm_ends_a_run_blocked_on_a_server_that_never_answers() {
    let (url, connected) = server_that_never_answers();
    let child = spawn_on(&url, &["-c", "print(1)"]);
    connected.recv_timeout(std::time::Duration::from_secs(60)).expect("pchat connects");
    // SAFETY: a signal to the child this test started.
    assert_eq!(unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) }, 0);
    let (code, stderr) = ended_by(child, "one SIGTERM");
    assert_eq!(code, Some(143), "{stderr}");
    assert!(stderr.contains("interrupted (SIGTERM)") && stderr.contains("did not stop within"), "{stderr}");
}

/// The same server, and no signal: the run's time budget (`--max-seconds`) ends it, saying so,
/// though no check between statements is ever reached (it used to wait for ever, its budget
/// spent).
#[test]
fn the_time_budget_ends_a_run_blocked_on_a_server_that_never_answers() {
    let (url, _connected) = server_that_never_answers();
    let child = spawn_on(&url, &["--max-seconds", "1", "-c", "print(1)"]);
    let (code, stderr) = ended_by(child, "the time budget");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("time budget of 1 seconds") && stderr.contains("--max-seconds"), "{stderr}");
}
