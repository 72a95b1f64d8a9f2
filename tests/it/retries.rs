//! A call whose transaction loses a race with another session is run again from its start, and
//! the user sees one run of it (docs/atomic-and-plan.md, "Concurrent changes"). On SQLite the
//! races are injected (`PCHAT_FAULT=<step>:conflict:<N>`: the step fails its first N times in the
//! process).

use crate::common;
use std::path::Path;

use common::{Run, Store};

const POOL: &str = "pc01.contoso.com";
const ANN: &str = "sip:annb@contoso.com";

/// The examples' store with a category "Retry" and five rooms R0..R4 in it.
fn store() -> Store {
    let s = Store::examples();
    s.c(&format!(
        r#"new_cs_persistent_chat_category(#{{Name: "Retry", PersistentChatPoolFqdn: "{POOL}"}});
        set_cs_persistent_chat_category("{POOL}\\Retry", #{{AllowedMembers: #{{Add: "{ANN}"}}}});
        for i in 0..5 {{ new_cs_persistent_chat_room(#{{Name: "R" + i, PersistentChatPoolFqdn: "{POOL}", Category: "Retry"}}); }}"#
    ))
    .ok();
    s
}

/// Run `code` with the fault `fault`.
fn with_fault(s: &Store, fault: &str, args: &[&str]) -> Run {
    let out = s.command(args).env("PCHAT_FAULT", fault).stdin(std::process::Stdio::null()).output();
    Run::from(out.expect("pchat runs"))
}

fn c_with_fault(s: &Store, fault: &str, code: &str) -> Run {
    with_fault(s, fault, &["-c", code])
}

/// How many audit records `cmdlet` left for room `name`.
fn records(s: &Store, cmdlet: &str, name: &str) -> usize {
    let run =
        s.c(&format!(r#"get_cs_persistent_chat_audit_record(#{{Cmdlet: "{cmdlet}", Target: "*\\{name}"}}).len()"#));
    run.ok().stdout.trim().parse().expect("a count")
}

/// The members of room `name`, one per line.
fn members(s: &Store, name: &str) -> Vec<String> {
    let run = s.c(&format!(r#"for m in get_cs_persistent_chat_room("{POOL}\\{name}")[0].Members {{ print(m); }}"#));
    run.ok().stdout.lines().map(String::from).collect()
}

fn description(s: &Store, name: &str) -> String {
    let run = s.c(&format!(r#"print(get_cs_persistent_chat_room("{POOL}\\{name}")[0].Description ?? "")"#));
    run.ok().stdout.trim().to_string()
}

const ADD_ANN: &str = r#"set_cs_persistent_chat_room("pc01.contoso.com\\R0", #{Members: #{Add: "sip:annb@contoso.com"}}); print("set done")"#;

#[test]
fn a_set_that_loses_two_races_commits_once_and_says_nothing_of_them() {
    for fault in ["before-commit:conflict:2", "after-handler:conflict:2", "before-commit:conflict:7"] {
        let s = store();
        let run = c_with_fault(&s, fault, ADD_ANN).ok();
        assert_eq!(run.stdout, "set done\n", "{fault}: output printed once");
        assert_eq!(run.stderr, "", "{fault}: the user never sees the races");
        assert_eq!(members(&s, "R0"), vec![ANN.to_string()], "{fault}: the member is there once");
        assert_eq!(records(&s, "Set-CsPersistentChatRoom", "R0"), 1, "{fault}: one audit record");
    }
}

#[test]
fn a_call_that_keeps_losing_gives_up_after_eight_attempts_having_changed_nothing() {
    let s = store();
    let before = s.dump();
    let run = c_with_fault(&s, "before-commit:conflict:8", ADD_ANN);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = common::single_error_line(&run);
    assert!(
        line.starts_with(
            "Set-CsPersistentChatRoom: InvalidOperation: other sessions kept changing the same objects at the same time: \
             the call was tried 8 times and gave up; nothing was changed: run it again"
        ),
        "{line}"
    );
    assert!(!run.stdout.contains("set done"), "the error is terminating");
    assert!(!run.stderr.contains("40001") && !run.stderr.contains("injected"), "{}", run.stderr);
    assert_eq!(s.dump(), before);
    assert!(members(&s, "R0").is_empty());
}

/// A lock another session holds through every wait is that session's doing, not a race: the
/// error says so and how to find it, never "other sessions kept changing the same objects". On
/// PostgreSQL each wait (55P03) is tried again; SQLite's busy timeout has waited already, so the
/// call fails at once with the store's own error.
#[test]
fn a_lock_held_through_every_attempt_is_named_as_a_held_lock_not_a_race() {
    let s = store();
    let before = s.dump();
    let run = c_with_fault(&s, "before-commit:busy:8", ADD_ANN);
    let line = common::single_error_line(&run);
    assert!(!line.contains("kept changing"), "{line}");
    if s.is_postgres() {
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(
            line.starts_with(
                "Set-CsPersistentChatRoom: InvalidOperation: another session held a lock this call needs through all 8 attempts ("
            ) && line.contains("nothing was changed: run it again once that session has committed or ended")
                && line.contains("pg_stat_activity"),
            "{line}"
        );
        assert!(!run.stdout.contains("set done"), "the error is terminating");
    } else {
        assert_eq!(run.code, 3, "{}", run.stderr);
        assert!(line.starts_with("Set-CsPersistentChatRoom: InvalidOperation: store error: "), "{line}");
    }
    assert_eq!(s.dump(), before);
    assert!(members(&s, "R0").is_empty());
}

#[test]
fn a_piped_set_that_loses_races_runs_again_whole_and_changes_each_room_once() {
    let s = store();
    // Items given as identities: a Get in the same run would use the injected failures up first.
    let code = r#"let rooms = [];
        for i in 0..5 { rooms.push("pc01.contoso.com\\R" + i); }
        rooms.push("pc01.contoso.com\\Nowhere");
        rooms.set_cs_persistent_chat_room(#{Description: "retried"});
        print("5 changed")"#;
    let run = c_with_fault(&s, "before-commit:conflict:2", code);
    assert_eq!(run.code, 3, "one non-terminating error\n{}", run.stderr);
    assert_eq!(run.stdout, "5 changed\n", "output printed once");
    let line = common::single_error_line(&run);
    assert!(
        line.starts_with("Set-CsPersistentChatRoom: NotFound: "),
        "printed once, for the attempt that counts: {line}"
    );
    for i in 0..5 {
        let name = format!("R{i}");
        assert_eq!(description(&s, &name), "retried");
        assert_eq!(records(&s, "Set-CsPersistentChatRoom", &name), 1, "{name} changed once");
    }
}

#[test]
fn a_piped_set_that_keeps_losing_changes_none_of_its_rooms() {
    let s = store();
    let before = s.dump();
    let code = r#"let rooms = [];
        for i in 0..5 { rooms.push("pc01.contoso.com\\R" + i); }
        rooms.set_cs_persistent_chat_room(#{Description: "never"})"#;
    let run = c_with_fault(&s, "after-handler:conflict:100", code);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let line = common::single_error_line(&run);
    assert!(
        line.contains("tried 8 times and gave up; nothing was changed (none of the 5 objects): run it again"),
        "{line}"
    );
    assert_eq!(s.dump(), before);
}

#[test]
fn a_non_terminating_error_of_a_retried_call_is_printed_once() {
    let s = store();
    let anchor = format!("1:{}", "0".repeat(64));
    let code = format!(r#"test_cs_persistent_chat_audit_record(#{{Anchor: "{anchor}"}}); print("after")"#);
    let run = c_with_fault(&s, "before-commit:conflict:3", &code);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let line = common::single_error_line(&run);
    assert!(
        line.starts_with("Test-CsPersistentChatAuditRecord: InvalidOperation: the audit trail does not verify"),
        "{line}"
    );
    assert!(run.stdout.ends_with("after\n"));
}

#[test]
fn an_atomic_run_that_loses_a_race_is_not_retried_and_keeps_nothing() {
    let runbook = r#"set_cs_persistent_chat_room("pc01.contoso.com\\R0", #{Members: #{Add: "sip:annb@contoso.com"}});
        set_cs_persistent_chat_room("pc01.contoso.com\\R1", #{Description: "atomic"});
        print("statement done");"#;
    // A call inside the run loses the race: the run stops there.
    let s = store();
    let before = s.dump();
    let path = s.dir.path().join("atomic.rhai");
    std::fs::write(&path, runbook).expect("runbook");
    let run = with_fault(&s, "after-handler:conflict:1", &["run", "--atomic", &path.to_string_lossy()]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains(
            "Set-CsPersistentChatRoom: InvalidOperation: another session changed the same objects at the same time; an atomic run is not retried automatically: it stops here and nothing it did is kept: run it again"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stdout.contains("statement done"));
    assert_eq!(s.dump(), before);
    // The run's commit loses the race: nothing is committed, and the user reads why.
    let run = with_fault(&s, "atomic:before-commit:conflict:1", &["run", "--atomic", &path.to_string_lossy()]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains(
            "pchat: --atomic: nothing was committed: another session changed the same objects at the same time; an atomic run is not retried automatically: run it again"
        ),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("injected"), "{}", run.stderr);
    assert_eq!(s.dump(), before);
    assert!(members(&s, "R0").is_empty());
}

/// The entries of a zip archive, which must be complete (its central directory read).
fn archive_entries(path: &Path) -> usize {
    let file = std::fs::File::open(path).expect("the archive is there");
    zip::ZipArchive::new(file).expect("a complete archive").len()
}

/// Files whose name says they are temporary or staged, in `dir`.
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp") || n.contains(".staged"))
        .collect()
}

#[test]
fn a_retried_export_writes_its_archive_once_and_whole() {
    let s = store();
    let zip = s.dir.path().join("out.zip");
    let code = format!(
        r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{}`, DisableExportedNodes: true}}); print("after")"#,
        zip.display()
    );
    // Every attempt's archive is dropped with it: one that never commits writes none.
    let before = s.dump();
    let run = c_with_fault(&s, "before-commit:conflict:8", &code);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        common::single_error_line(&run).starts_with("Export-CsPersistentChatData: InvalidOperation: other sessions")
    );
    assert!(!zip.exists(), "no archive of a call that changed nothing");
    assert_eq!(s.dump(), before);
    assert!(leftovers(s.dir.path()).is_empty(), "{:?}", leftovers(s.dir.path()));
    // Retried twice, then committed: the archive of the attempt that counts, complete.
    let run = c_with_fault(&s, "after-handler:conflict:2", &code).ok();
    assert_eq!(run.stdout, "after\n");
    assert!(archive_entries(&zip) > 1);
    assert!(leftovers(s.dir.path()).is_empty(), "{:?}", leftovers(s.dir.path()));
    assert_eq!(description(&s, "R0"), "", "the room is still there");
    let disabled = s.c(r#"print(get_cs_persistent_chat_room("pc01.contoso.com\\R0")[0].Disabled)"#).ok();
    assert_eq!(disabled.stdout.trim(), "true", "the nodes were disabled once the archive was complete");
}

#[test]
fn sqlite_busy_is_not_retried() {
    if common::backend() == common::Backend::Postgres {
        return a_held_lock_is_waited_out_on_postgres();
    }
    // SQLite's busy timeout has already waited: the call fails at once, as before (an error of
    // the one object, so the statement goes on).
    let s = store();
    let before = s.dump();
    let run = c_with_fault(&s, "before-commit:busy:1", ADD_ANN);
    assert_eq!(run.code, 3, "{}", run.stderr);
    let line = common::single_error_line(&run);
    assert!(line.starts_with("Set-CsPersistentChatRoom: InvalidOperation: store error: "), "{line}");
    assert_eq!(s.dump(), before);
}

/// PostgreSQL's counterpart of SQLITE_BUSY: another session holds a lock on the rooms of the
/// pool's primary database in an open transaction. A statement waits `lock_timeout` (a few
/// seconds, so that a writer blocked by a dead coordinator's prepared branch looks for it) and
/// fails with 55P03; that is no error to show: the call is run again, and commits once the lock
/// is released. No lock error reaches the user (issue #18), and the change is made once.
fn a_held_lock_is_waited_out_on_postgres() {
    let s = store();
    let primary = common::damage::pool_location(&s, "sql01");
    let mut holder = common::pg::connect(&primary);
    holder.batch_execute("BEGIN; LOCK TABLE rooms IN ACCESS EXCLUSIVE MODE").expect("hold the lock");
    let child = s
        .command(&["-c", ADD_ANN])
        .env("PCHAT_REPORT_RETRIES", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("pchat runs");
    let rooms = "l.relation = (SELECT oid FROM pg_class WHERE relname = 'rooms')";
    common::held::until_a_lock_is_waited_for(&primary, rooms, "the lock on rooms");
    // Held past one lock_timeout: the first attempt failed with 55P03 and a second one waits
    // (a new transaction, seen from outside by its start time).
    let mut seen = std::collections::BTreeSet::new();
    let mut watch = common::pg::connect(&primary);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while seen.len() < 2 {
        assert!(std::time::Instant::now() < deadline, "the call was not tried again");
        for r in watch
            .query(
                "SELECT CAST(xact_start AS text) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND xact_start IS NOT NULL",
                &[],
            )
            .expect("pg_stat_activity")
        {
            seen.insert(r.get::<_, String>(0));
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    holder.batch_execute("ROLLBACK").expect("release the lock");
    let run = Run::from(child.wait_with_output().expect("pchat exits"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "set done\n");
    let retried = run.stderr.strip_prefix("pchat: attempts retried: ").map(str::trim);
    assert!(retried.and_then(|n| n.parse::<u32>().ok()).is_some_and(|n| n >= 1), "one line, the count: {}", run.stderr);
    assert!(members(&s, "R0").contains(&ANN.to_string()));
    assert_eq!(records(&s, "Set-CsPersistentChatRoom", "R0"), 1);
}

/// A call that lost the race after its confirmation was answered runs again and asks again,
/// about the object as it is now (the answer is not reused), saying why; answered Yes, it
/// commits once; answered No, nothing is changed. (Between two processes on PostgreSQL:
/// `a_prompted_call_that_loses_a_race_to_another_process_asks_again_and_commits`.)
#[test]
fn a_call_that_prompted_asks_again_after_a_lost_race() {
    let code = r#"set_cs_persistent_chat_room("pc01.contoso.com\\R0", #{Description: "asked", Confirm: true}); print("after")"#;
    for (second, expected) in [("y\n", "asked"), ("n\n", "")] {
        let s = store();
        let mut t = crate::interrupts::Terminal::start_with(
            &s,
            &["-c", code],
            &[("PCHAT_FAULT", "before-commit:conflict:1"), ("NO_COLOR", "1")],
        );
        t.until_prompt();
        t.answer("y\n");
        t.until_prompt();
        t.answer(second);
        let run = t.finish();
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert_eq!(run.stderr.matches("Are you sure you want to perform this action?").count(), 2, "{}", run.stderr);
        assert_eq!(
            run.stderr.matches("WARNING: Set-CsPersistentChatRoom: another session changed the same objects after the confirmation was answered; nothing was changed yet: asking again").count(),
            1,
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("InvalidOperation"), "{}", run.stderr);
        assert_eq!(run.stdout, "after\n");
        assert_eq!(description(&s, "R0"), expected);
        assert_eq!(records(&s, "Set-CsPersistentChatRoom", "R0"), usize::from(!expected.is_empty()));
    }
}

/// Two processes on PostgreSQL, no injected failure: A asks to confirm a change of a room and,
/// answered, is held (`PCHAT_FAULT=confirmed:pause:FILE`) before it writes; B changes the same
/// room and commits; A, released, loses the race (SERIALIZABLE) and, rather than failing with the
/// conflict, says so, asks again, and commits when answered Yes. B's change was seen by the
/// second question: the final description is A's, written once.
#[test]
fn a_prompted_call_that_loses_a_race_to_another_process_asks_again_and_commits() {
    let test = "a_prompted_call_that_loses_a_race_to_another_process_asks_again_and_commits";
    let Some(server) = crate::common::pg::Server::shared(test) else { return };
    let pg = crate::postgres::on_postgres(server, "reask");
    let dir = tempfile::tempdir().unwrap();
    let go = dir.path().join("go");
    let room = r#""pc01.contoso.com\\LoadRoom""#;
    let mut cmd = pg.command(&[
        "-c",
        &format!(r#"set_cs_persistent_chat_room({room}, #{{Description: "A", Confirm: true}}); print("A done")"#),
    ]);
    cmd.env("PCHAT_FAULT", format!("confirmed:pause:{}", go.display())).env("NO_COLOR", "1");
    let mut a = crate::interrupts::Terminal::spawn(cmd);
    a.until_prompt();
    a.answer("y\n");
    a.until("pchat-fault: reached confirmed");
    let mut b = pg.command(&["-c", &format!(r#"set_cs_persistent_chat_room({room}, #{{Description: "B"}})"#)]);
    let b = Run::from(b.stdin(std::process::Stdio::null()).output().expect("pchat runs")).ok();
    assert!(b.stderr.is_empty(), "{}", b.stderr);
    std::fs::write(&go, "").unwrap();
    a.until_prompt();
    a.answer("y\n");
    let run = a.finish();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "A done\n");
    assert_eq!(run.stderr.matches("Are you sure you want to perform this action?").count(), 2, "{}", run.stderr);
    assert!(run.stderr.contains("another session changed the same objects after the confirmation was answered; nothing was changed yet: asking again"), "{}", run.stderr);
    assert!(!run.stderr.contains("InvalidOperation"), "{}", run.stderr);
    let read = |code: &str| {
        let out = pg.command(&["-c", code]).stdin(std::process::Stdio::null()).output().expect("pchat runs");
        Run::from(out).ok().stdout.trim().to_string()
    };
    assert_eq!(read(&format!("print(get_cs_persistent_chat_room({room})[0].Description)")), "A");
    let records =
        r#"get_cs_persistent_chat_audit_record(#{Cmdlet: "Set-CsPersistentChatRoom", Target: "*\\LoadRoom"}).len()"#;
    assert_eq!(read(records), "2", "one record for B, one for A");
}
