//! A commit that stops between the database files it writes (docs/failover.md, "A commit that
//! failed part way"). SQLite commits the central database first, then each pool database file;
//! the `commit:<file>` fault steps fail the write of one file's commit as a full disk does, or
//! kill the process there. Whatever is left: the error says what committed where and what to
//! run, a copy that missed the change is never served as current, the audit trail says what
//! happened, and an atomic run's files are placed only if its rows are in a copy.

use crate::common;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::{Run, Store};
use rusqlite::Connection;

const PC01: &str = "PersistentChatServer:pc01.contoso.com";
const PRIMARY: &str = "sql01.contoso.com-rtc.db";
const BACKUP: &str = "sql02.contoso.com-rtc.db";

fn with_fault(s: &Store, fault: &str, args: &[&str]) -> Run {
    Run::from(s.command(args).env("PCHAT_FAULT", fault).stdin(Stdio::null()).output().expect("pchat runs"))
}

fn state(s: &Store, prop: &str) -> String {
    s.c(&format!("get_cs_persistent_chat_state(\"{PC01}\")[0].{prop}")).ok().stdout.trim().to_string()
}

/// pc01's category names in one pool database file, read directly.
fn categories_in(path: &Path) -> BTreeSet<String> {
    let c = Connection::open(path).expect("open pool db");
    let mut stmt = c.prepare("SELECT name FROM categories WHERE pool = 'pc01.contoso.com'").expect("select");
    stmt.query_map([], |r| r.get(0)).expect("rows").collect::<Result<_, _>>().expect("names")
}

fn file(s: &Store, name: &str) -> PathBuf {
    s.dir.path().join(name)
}

fn s_is_postgres() -> bool {
    common::backend() == common::Backend::Postgres
}

const NEW: &str = r#"new_cs_persistent_chat_category(#{Name: "Partial", PersistentChatPoolFqdn: "pc01.contoso.com"})"#;

fn repair(source: &str) -> String {
    format!(r#"repair_cs_persistent_chat_database(#{{Identity: "{PC01}", Source: "{source}"}})"#)
}

/// The last audit record's cmdlet and `After.Incomplete`, and whether the chain verifies.
fn last_audit(s: &Store) -> (String, String, String) {
    let out = s
        .c(r#"let r = get_cs_persistent_chat_audit_record()[-1]; print(r.Cmdlet); print(if r.After == () { "" } else { r.After.Incomplete ?? "" }); print(test_cs_persistent_chat_audit_record().Result)"#)
        .ok()
        .stdout;
    let lines: Vec<&str> = out.lines().collect();
    (lines[0].to_string(), lines[1].to_string(), lines[2].to_string())
}

/// The backup's commit fails (full disk) after the store's and the primary's succeeded.
#[test]
fn a_full_disk_at_the_backups_commit_says_what_committed_and_leaves_the_backup_behind() {
    if s_is_postgres() {
        return backups_commit_fails_on_postgres();
    }
    let s = Store::demo();
    let run = with_fault(&s, &format!("commit:{BACKUP}:full"), &["--yes", "-c", NEW]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    for part in [
        "the commit was incomplete (database or disk is full)",
        "is committed in the store",
        &format!("in sql01.contoso.com\\rtc ({})", file(&s, PRIMARY).display()),
        &format!("but not in sql02.contoso.com\\rtc ({})", file(&s, BACKUP).display()),
        "which is now behind",
        &repair("Primary"),
    ] {
        assert!(run.stderr.contains(part), "missing {part:?} in:\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("store error"), "{}", run.stderr);
    assert!(categories_in(&file(&s, PRIMARY)).contains("Partial"));
    assert!(!categories_in(&file(&s, BACKUP)).contains("Partial"));
    assert_eq!(state(&s, "PrimaryStatus"), "Current");
    assert!(state(&s, "BackupStatus").starts_with("Behind"), "{}", state(&s, "BackupStatus"));

    // The change's own record, then one saying where it did not arrive; the chain holds.
    let (cmdlet, incomplete, verified) = last_audit(&s);
    assert_eq!(cmdlet, "(commit)");
    assert!(incomplete.contains("not in sql02.contoso.com"), "{incomplete}");
    assert_eq!(verified, "Success");

    // Changes are refused until the repair the message names, which brings the backup back.
    let refused =
        s.c(r#"new_cs_persistent_chat_category(#{Name: "Later", PersistentChatPoolFqdn: "pc01.contoso.com"})"#);
    assert_ne!(refused.code, 0);
    s.run(&["--yes", "-c", &repair("Primary")]).ok();
    assert_eq!(state(&s, "InSync"), "True");
    assert!(categories_in(&file(&s, BACKUP)).contains("Partial"));
}

/// PostgreSQL: the backup's COMMIT PREPARED fails (`commit:<database>:full`) after the decision
/// (the commit point) and the primary's: the change is committed and the error says so, naming
/// the backup, which holds it prepared, unseen; the next command completes it there (no repair,
/// as the error says). Its PREPARE failing instead commits nothing anywhere.
fn backups_commit_fails_on_postgres() {
    let s = Store::demo();
    let backup = common::damage::pool_name(&s, "sql02");
    let run = with_fault(&s, &format!("commit:{backup}:full"), &["--yes", "-c", NEW]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    for part in [
        "the change is committed, but completing it in the pool database",
        &format!("/{backup} failed (could not write to file"),
        "No space left on device",
        "it completes when pchat next opens the store",
    ] {
        assert!(run.stderr.contains(part), "missing {part:?} in:\n{}", run.stderr);
    }
    assert!(!run.stderr.contains("store error") && !run.stderr.contains("nothing was committed"), "{}", run.stderr);
    assert!(has_partial(&s, PRIMARY_ID), "the primary's branch committed");
    assert!(!has_partial(&s, BACKUP_ID), "the backup's branch is still prepared: not seen");
    // The next command completes the backup's branch, as the error said: nothing to repair.
    assert_eq!(state(&s, "InSync"), "True");
    assert!(has_partial(&s, BACKUP_ID));
    let (cmdlet, incomplete, verified) = last_audit(&s);
    assert_eq!((cmdlet.as_str(), incomplete.as_str()), ("New-CsPersistentChatCategory", ""));
    assert_eq!(verified, "Success");
    s.run(&[
        "--yes",
        "-c",
        r#"new_cs_persistent_chat_category(#{Name: "Later", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
    ])
    .ok();

    // The backup's PREPARE fails: before the decision, so nothing is committed anywhere.
    let s = Store::demo();
    let backup = common::damage::pool_name(&s, "sql02");
    let run = with_fault(&s, &format!("prepare:{backup}:full"), &["--yes", "-c", NEW]);
    assert_ne!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("no fail-over or repair is needed for this); nothing was committed"), "{}", run.stderr);
    assert!(!run.stderr.contains("is committed"), "{}", run.stderr);
    assert!(!has_partial(&s, PRIMARY_ID) && !has_partial(&s, BACKUP_ID));
    assert_eq!(prepared_left(&s), 0, "the primary's prepared branch was rolled back");
    assert_eq!(state(&s, "InSync"), "True");
}

/// PostgreSQL: pchat's prepared branches left in pc01's copies.
fn prepared_left(s: &Store) -> i64 {
    [PRIMARY_ID, BACKUP_ID]
        .iter()
        .map(|i| s.count(Some(i), "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"))
        .sum()
}

/// pc01's room descriptions in one pool database file, read directly.
fn description_in(path: &Path, room: &str) -> Option<String> {
    let c = Connection::open(path).expect("open pool db");
    c.query_row("SELECT description FROM rooms WHERE name = ?1", [room], |r| r.get(0)).expect("room")
}

/// A pipeline whose second item failed (its savepoint rolled back, so the commit reads the marks
/// back rather than trusting what the first item set), then the backup's commit fails: the
/// report is as exact as for one change.
#[test]
fn a_partial_commit_after_an_item_was_rolled_back_still_says_what_committed_where() {
    let s = Store::demo_full();
    let code = r#"["pc01.contoso.com\\FinanceRoom", "pc01.contoso.com\\NoSuchRoom"].set_cs_persistent_chat_room(#{Description: "Audited"})"#;
    if s.is_postgres() {
        // The backup's COMMIT PREPARED fails after the decision: committed, and said so; the
        // next command completes the backup's branch.
        let backup = common::damage::pool_name(&s, "sql02");
        let run = with_fault(&s, &format!("commit:{backup}:full"), &["--yes", "-c", code]);
        assert_ne!(run.code, 0, "{}", run.stderr);
        for part in [
            "NoSuchRoom",
            "the change is committed, but completing it in the pool database",
            &format!("/{backup} failed"),
            "it completes when pchat next opens the store",
        ] {
            assert!(run.stderr.contains(part), "missing {part:?} in:\n{}", run.stderr);
        }
        let description =
            |id: &str| s.rows(Some(id), "SELECT description FROM rooms WHERE name = 'FinanceRoom'").concat();
        assert_eq!(description(PRIMARY_ID), "Audited");
        assert_ne!(description(BACKUP_ID), "Audited");
        assert_eq!(state(&s, "InSync"), "True");
        assert_eq!(description(BACKUP_ID), "Audited");
        return;
    }
    let run = with_fault(&s, &format!("commit:{BACKUP}:full"), &["--yes", "-c", code]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    for part in [
        "NoSuchRoom",
        "the commit was incomplete (database or disk is full)",
        &format!("in sql01.contoso.com\\rtc ({})", file(&s, PRIMARY).display()),
        &format!("but not in sql02.contoso.com\\rtc ({})", file(&s, BACKUP).display()),
        &repair("Primary"),
    ] {
        assert!(run.stderr.contains(part), "missing {part:?} in:\n{}", run.stderr);
    }
    assert_eq!(description_in(&file(&s, PRIMARY), "FinanceRoom").as_deref(), Some("Audited"));
    assert_ne!(description_in(&file(&s, BACKUP), "FinanceRoom").as_deref(), Some("Audited"));
    assert!(state(&s, "BackupStatus").starts_with("Behind"), "{}", state(&s, "BackupStatus"));
}

/// The primary's commit fails: SQLite stops there, so the change is in the store only. The
/// error says it is lost; the repair it names drops it and records so.
#[test]
fn a_full_disk_at_the_primarys_commit_says_the_change_reached_no_copy() {
    let s = Store::demo();
    if s.is_postgres() {
        // The primary is prepared first: its PREPARE failing is before the decision, so the
        // change reached no copy and the store did not record it either; nothing to repair.
        let primary = common::damage::pool_name(&s, "sql01");
        let run = with_fault(&s, &format!("prepare:{primary}:full"), &["--yes", "-c", NEW]);
        assert_ne!(run.code, 0, "{}", run.stderr);
        assert!(
            run.stderr.contains("no fail-over or repair is needed for this); nothing was committed"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("is committed") && !run.stderr.contains("repair_cs"), "{}", run.stderr);
        assert!(!has_partial(&s, PRIMARY_ID) && !has_partial(&s, BACKUP_ID));
        assert_eq!(prepared_left(&s), 0);
        assert_eq!(state(&s, "InSync"), "True");
        assert_ne!(last_audit(&s).0, "New-CsPersistentChatCategory", "no record of a change that did not commit");
        s.run(&["--yes", "-c", NEW]).ok();
        assert!(has_partial(&s, PRIMARY_ID) && has_partial(&s, BACKUP_ID));
        return;
    }
    let run = with_fault(&s, &format!("commit:{PRIMARY}:full"), &["--yes", "-c", NEW]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    for part in
        ["the commit was incomplete", "in no copy", "which are now behind", "the change is lost", &repair("Primary")]
    {
        assert!(run.stderr.contains(part), "missing {part:?} in:\n{}", run.stderr);
    }
    for f in [PRIMARY, BACKUP] {
        assert!(!categories_in(&file(&s, f)).contains("Partial"), "{f}");
    }
    assert!(state(&s, "PrimaryStatus").starts_with("Behind"));
    let repaired = s.run(&["--yes", "-c", &repair("Primary")]).ok();
    assert!(repaired.stderr.contains("is dropped"), "{}", repaired.stderr);
    assert_eq!(state(&s, "InSync"), "True");
    // The Repair's record keeps what it dropped.
    let dropped = s
        .c(r#"let r = get_cs_persistent_chat_audit_record()[-1]; print(r.Cmdlet); print(r.After.Dropped)"#)
        .ok()
        .stdout;
    assert!(dropped.contains("Repair-CsPersistentChatDatabase") && dropped.contains("dropped"), "{dropped}");
}

/// A commit that writes the central database alone is atomic: a full disk there commits nothing.
#[test]
fn a_full_disk_at_the_stores_commit_commits_nothing() {
    let s = Store::demo();
    // PostgreSQL: the central COMMIT that carries the decision, with both copies prepared.
    let central =
        if s.is_postgres() { common::pg::database_name(&s.location().to_string_lossy()) } else { "pchat.db".into() };
    let run = with_fault(&s, &format!("commit:{central}:full"), &["--yes", "-c", NEW]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("nothing was committed"), "{}", run.stderr);
    assert_eq!(state(&s, "InSync"), "True");
    if s.is_postgres() {
        assert!(!has_partial(&s, PRIMARY_ID) && !has_partial(&s, BACKUP_ID));
        assert_eq!(prepared_left(&s), 0, "the prepared copies were rolled back");
        return;
    }
    for f in [PRIMARY, BACKUP] {
        assert!(!categories_in(&file(&s, f)).contains("Partial"), "{f}");
    }
}

const ATOMIC: &str = r#"
new_cs_persistent_chat_category(#{Name: "Partial", PersistentChatPoolFqdn: "pc01.contoso.com"});
write_text(SCRIPT_DIR + "/out.txt", "done");
"#;

fn atomic(s: &Store, fault: &str) -> Run {
    let path = file(s, "run.rhai");
    std::fs::write(&path, ATOMIC).expect("write runbook");
    with_fault(s, fault, &["--yes", "run", "--atomic", &path.to_string_lossy()])
}

/// Staged files and unit files left in the store's folder, and the store's unit files (in its
/// local state folder on PostgreSQL).
fn leftovers(s: &Store) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(s.dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".staged") || n.contains(".unit-"))
        .collect();
    out.extend(s.unit_files());
    out
}

/// Whether pc01's copy in `instance` holds the category the runs make, read directly.
fn has_partial(s: &Store, instance: &str) -> bool {
    s.count(Some(instance), "SELECT count(*) FROM categories WHERE pool = 'pc01.contoso.com' AND name = 'Partial'") == 1
}

const PRIMARY_ID: &str = "sql01.contoso.com\\rtc";
const BACKUP_ID: &str = "sql02.contoso.com\\rtc";

/// An atomic run killed, or failing, after the store's commit and before any copy's: its rows
/// are in no copy, so its file is never put in place (the store had promised it). On
/// PostgreSQL the central commit is the decision, so the counterpart is a run killed with copies
/// prepared and no decision: nothing is kept, and its staged file and unit file are removed.
#[test]
fn an_atomic_run_whose_rows_reach_no_copy_places_no_file() {
    if s_is_postgres() {
        // The two-phase commit's counterpart: killed with a copy prepared and no decision.
        for step in ["pg-2pc-prepared-first", "pg-2pc-prepared-all"] {
            let s = Store::demo();
            let run = atomic(&s, &format!("{step}:kill"));
            assert!(run.stderr.contains(&format!("pchat-fault: killed at {step}")), "{step}: {}", run.stderr);
            assert_eq!(leftovers(&s).len(), 2, "{step}: the staged file and the unit file: {:?}", leftovers(&s));
            let next = s.c("()").ok();
            assert!(!next.stderr.contains("finished placing"), "{step}: {}", next.stderr);
            assert!(!file(&s, "out.txt").exists(), "{step}: the file of a run that did not commit was placed");
            assert_eq!(leftovers(&s), Vec::<String>::new(), "{step}");
            assert_eq!(state(&s, "InSync"), "True", "{step}: recovery rolled the prepared copy back");
            assert!(!has_partial(&s, PRIMARY_ID) && !has_partial(&s, BACKUP_ID), "{step}");
        }
        return;
    }
    for action in ["kill", "full"] {
        let s = Store::demo();
        let run = atomic(&s, &format!("commit:{PRIMARY}:{action}"));
        assert_ne!(run.code, 0, "{action}: {}", run.stderr);
        if action == "full" {
            assert!(run.stderr.contains("the run's files were not put in place"), "{}", run.stderr);
        }
        let next = s.c("()").ok();
        assert!(
            next.stderr.contains("stopped part way through its commit") && next.stderr.contains("reached neither copy"),
            "{action}: {}",
            next.stderr
        );
        assert!(!file(&s, "out.txt").exists(), "{action}: the file of a run whose rows are in no copy was placed");
        assert_eq!(leftovers(&s), Vec::<String>::new(), "{action}");
        s.run(&["--yes", "-c", &repair("Primary")]).ok();
        assert_eq!(state(&s, "InSync"), "True");
        assert!(!categories_in(&file(&s, PRIMARY)).contains("Partial"));
    }
}

/// An atomic run whose backup misses the commit: its rows are in the store and the primary, so
/// it committed; its file goes in place and the error says what to repair. On PostgreSQL: a run
/// killed after the decision (a copy still prepared) committed, and the next command places its
/// file while recovery completes the copy.
#[test]
fn an_atomic_run_whose_backup_misses_the_commit_keeps_its_file_and_says_so() {
    if s_is_postgres() {
        // Killed once the decision is committed, before (or after) the first copy's COMMIT
        // PREPARED: the run committed, so the next command puts its file in place, and recovery
        // completes the copy left prepared.
        for step in ["pg-2pc-decided", "pg-2pc-committed-first"] {
            let s = Store::demo();
            let run = atomic(&s, &format!("{step}:kill"));
            assert!(run.stderr.contains(&format!("pchat-fault: killed at {step}")), "{step}: {}", run.stderr);
            assert!(!file(&s, "out.txt").exists(), "{step}");
            assert_eq!(leftovers(&s).len(), 2, "{step}: the staged file and the unit file: {:?}", leftovers(&s));
            let next = s.c("()").ok();
            assert!(
                next.stderr.contains("atomic: finished placing 1 file of a run committed at "),
                "{step}: {}",
                next.stderr
            );
            assert_eq!(std::fs::read_to_string(file(&s, "out.txt")).expect("placed"), "done", "{step}");
            assert_eq!(leftovers(&s), Vec::<String>::new(), "{step}");
            assert_eq!(state(&s, "InSync"), "True", "{step}");
            assert!(has_partial(&s, PRIMARY_ID) && has_partial(&s, BACKUP_ID), "{step}");
        }
        return;
    }
    let s = Store::demo();
    let run = atomic(&s, &format!("commit:{BACKUP}:full"));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stderr.contains("nothing was committed"), "{}", run.stderr);
    for part in ["the commit was incomplete", "the run's files were put in place", &repair("Primary")] {
        assert!(run.stderr.contains(part), "missing {part:?} in:\n{}", run.stderr);
    }
    assert_eq!(std::fs::read_to_string(file(&s, "out.txt")).expect("placed"), "done");
    assert_eq!(leftovers(&s), Vec::<String>::new());
    s.run(&["--yes", "-c", &repair("Primary")]).ok();
    assert!(categories_in(&file(&s, BACKUP)).contains("Partial"));
}

/// A repair that rebuilt a file and moved the damaged one aside, whose commit then fails: the
/// files are put back as they were, so that "nothing was committed" is true of the files too.
#[test]
fn a_repair_whose_commit_fails_puts_its_files_back() {
    let s = Store::demo();
    if s.is_postgres() {
        // No file is built or set aside: the repair makes the pool schema in the backup's empty
        // database (restored empty) and fills it in the backup's branch, which the central
        // commit failing rolls back: the database is empty again, as it was.
        common::damage::empty_pool_db(&s, "sql02");
        let tables = "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()";
        let central = common::pg::database_name(&s.location().to_string_lossy());
        let run = with_fault(&s, &format!("commit:{central}:full"), &["--yes", "-c", &repair("Primary")]);
        assert_ne!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains("nothing was committed"), "{}", run.stderr);
        assert_eq!(s.count(Some(BACKUP_ID), tables), 0, "the backup's database is empty again");
        assert_eq!(prepared_left(&s), 0);
        s.run(&["--yes", "-c", &repair("Primary")]).ok();
        assert_eq!(state(&s, "InSync"), "True");
        assert_ne!(s.count(Some(BACKUP_ID), tables), 0);
        return;
    }
    let backup = file(&s, BACKUP);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", backup.display()));
    }
    let mut bytes = std::fs::read(&backup).expect("read");
    bytes[..100].copy_from_slice(&[0x5a; 100]);
    std::fs::write(&backup, &bytes).expect("damage");
    let names = |s: &Store| -> BTreeSet<String> {
        std::fs::read_dir(s.dir.path())
            .expect("dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect()
    };
    let before = names(&s);

    let run = with_fault(&s, "commit:pchat.db:full", &["--yes", "-c", &repair("Primary")]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("nothing was committed") && run.stderr.contains("is back as it was"), "{}", run.stderr);
    assert_eq!(std::fs::read(&backup).expect("read"), bytes, "the damaged file is back in place");
    let after: BTreeSet<String> =
        names(&s).into_iter().filter(|n| !n.ends_with("-wal") && !n.ends_with("-shm")).collect();
    let before: BTreeSet<String> =
        before.into_iter().filter(|n| !n.ends_with("-wal") && !n.ends_with("-shm")).collect();
    assert_eq!(after, before, "no file moved aside, none left built");

    s.run(&["--yes", "-c", &repair("Primary")]).ok();
    assert_eq!(state(&s, "InSync"), "True");
}

/// A pool file on a full disk cannot be opened (SQLite cannot create its `-shm` index): that is
/// said, with the advice to free space, not "damaged ... fail the pool over". The full disk is a
/// small tmpfs in a private mount namespace (`unshare`); where user namespaces are not allowed,
/// the test says so and checks nothing.
#[test]
fn a_pool_file_on_a_full_disk_is_reported_as_a_full_disk_not_as_damage() {
    if s_is_postgres() {
        return full_disk_on_postgres();
    }
    if !std::process::Command::new("unshare").args(["-rm", "true"]).status().is_ok_and(|s| s.success()) {
        eprintln!("SKIPPED: unshare -rm is not allowed here, so no tmpfs can be mounted");
        return;
    }
    let s = Store::demo();
    let full = file(&s, "full");
    std::fs::create_dir(&full).expect("mkdir");
    let pchat = env!("CARGO_BIN_EXE_pchat");
    let db = s.db();
    let script = format!(
        r#"set -e
mount -t tmpfs -o size=512k tmpfs '{full}'
mv '{primary}' '{full}/'
ln -s '{full}/{PRIMARY}' '{primary}'
dd if=/dev/zero of='{full}/filler' bs=4k 2>/dev/null || true
'{pchat}' --db '{db}' --yes -c '{NEW}' 2>&1 || true
'{pchat}' --db '{db}' -c 'get_cs_persistent_chat_room(#{{PersistentChatPoolFqdn: "pc02.contoso.com"}}); print("pc02 is served")' 2>&1"#,
        full = full.display(),
        primary = file(&s, PRIMARY).display(),
        db = db.display(),
    );
    let out = std::process::Command::new("unshare")
        .args(["-rm", "sh", "-c", &script])
        .env("PCHAT_SQL_INVENTORY", common::sql_inventory())
        .output()
        .expect("unshare runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("the disk holding it is full") && text.contains("free space on that disk"), "{text}");
    assert!(!text.contains("is damaged") && !text.contains("fail the pool over"), "{text}");
    assert!(text.contains("no fail-over or repair is needed"), "{text}");
    assert!(text.contains("pc02 is served"), "a pool served from another disk keeps working: {text}");
}

/// PostgreSQL: the primary's server is out of disk space when the change is prepared there (the
/// `prepare:<database>:full` fault, worded as the server's SQLSTATE 53100 is): said as a full
/// disk with the advice to free space, not as damage nor with a fail-over; nothing committed;
/// another pool is still served, and once there is room the same change commits.
fn full_disk_on_postgres() {
    let s = Store::demo();
    let primary = common::damage::pool_name(&s, "sql01");
    let run = with_fault(&s, &format!("prepare:{primary}:full"), &["--yes", "-c", NEW]);
    assert_ne!(run.code, 0, "{}", run.stderr);
    let text = &run.stderr;
    assert!(text.contains("the disk holding it is full") && text.contains("free space on that disk"), "{text}");
    assert!(text.contains(&format!("/{primary} cannot be written")), "{text}");
    assert!(!text.contains("is damaged") && !text.contains("fail the pool over"), "{text}");
    assert!(text.contains("no fail-over or repair is needed") && text.contains("nothing was committed"), "{text}");
    let pc02 =
        s.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc02.contoso.com"}); print("pc02 is served")"#);
    assert!(pc02.ok().stdout.contains("pc02 is served"));
    assert_eq!(state(&s, "InSync"), "True");
    s.run(&["--yes", "-c", NEW]).ok();
    assert!(has_partial(&s, PRIMARY_ID) && has_partial(&s, BACKUP_ID));
}
