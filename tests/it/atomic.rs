//! `pchat run --atomic`, `atomic(|| ...)` and `pchat run --plan`: a unit that fails, is stopped or
//! is killed leaves nothing (in the primary and the backup copy of each pool, and no file); one
//! that commits leaves everything; and the plan of every shipped runbook is what a real run then
//! does, compared object by object.

use crate::common;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::held::Held;
use common::{ROOT, Run, Store};
use serde_json::{Value, json};

/// Five changes in pc01 (a category and four rooms, one of them through a pipeline) and a file,
/// then a throw unless `Fail` is false.
const FIVE: &str = r#"
const PARAMS = #{ Fail: #{ type: "bool", default: true, help: "throw after the changes" } };
new_cs_persistent_chat_category(#{Name: "Atomic", PersistentChatPoolFqdn: "pc01.contoso.com"});
new_cs_persistent_chat_room(#{Name: "A0", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Atomic"});
new_cs_persistent_chat_room(#{Name: "A1", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Atomic"});
get_cs_persistent_chat_room(#{Filter: "A*"}).set_cs_persistent_chat_room(#{Description: "Ünïcødé ✓"});
new_cs_persistent_chat_room(#{Name: "A2", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Atomic"});
write_text(SCRIPT_DIR + "/report.txt", "five changes");
if read_text(SCRIPT_DIR + "/report.txt") != "five changes" { throw "the run does not see its own file"; }
if ARGS.Fail { throw "stop after five changes"; }
"#;

/// The demo's SQL instances holding pc01: its primary and its backup.
const PRIMARY: &str = "sql01.contoso.com\\rtc";
const BACKUP: &str = "sql02.contoso.com\\rtc";

/// pc01's rooms and categories named in one pool database (`instance`), read directly.
fn atomic_rows(s: &Store, instance: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (table, prefix) in [("rooms", "room:"), ("categories", "category:")] {
        let sql = format!(
            "SELECT name, coalesce(description, '') FROM {table} WHERE pool = 'pc01.contoso.com' AND (name LIKE 'A_' OR name = 'Atomic')"
        );
        out.extend(s.rows(Some(instance), &sql).into_iter().map(|row| format!("{prefix}{row}")));
    }
    out
}

fn all_five() -> BTreeSet<String> {
    ["room:A0|Ünïcødé ✓", "room:A1|Ünïcødé ✓", "room:A2|", "category:Atomic|"].into_iter().map(String::from).collect()
}

/// Both copies of pc01 hold exactly `expected`, and pchat serves the pool in step.
fn check_copies(s: &Store, expected: &BTreeSet<String>) {
    assert_eq!(&atomic_rows(s, PRIMARY), expected, "primary");
    assert_eq!(&atomic_rows(s, BACKUP), expected, "backup");
    let state = s.c(r#"let st = get_cs_persistent_chat_state("pc01.contoso.com")[0]; `${st.InSync} ${st.PrimaryStatus} ${st.BackupStatus}`"#).ok();
    assert_eq!(state.stdout.trim(), "true Current Current");
    let served = s.c(r#"get_cs_persistent_chat_room(#{Filter: "A?"}).len()"#).ok();
    assert_eq!(served.stdout.trim(), if expected.is_empty() { "0" } else { "3" });
}

fn write_runbook(s: &Store, name: &str, code: &str) -> String {
    let path = s.dir.path().join(name);
    std::fs::write(&path, code).expect("runbook");
    path.to_string_lossy().into_owned()
}

#[test]
fn an_atomic_run_that_throws_after_five_changes_leaves_none_in_primary_and_backup() {
    let s = Store::demo();
    let before = s.dump();
    let file = write_runbook(&s, "five.rhai", FIVE);
    let run = s.run(&["run", "--atomic", &file]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("stop after five changes"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was committed"), "{}", run.stderr);
    assert_eq!(s.dump(), before, "no row of the run is left, in any database");
    assert!(!s.dir.path().join("report.txt").exists(), "no file of the run is left");
    check_copies(&s, &BTreeSet::new());

    // Without --atomic the same runbook keeps its five changes (what --atomic prevents).
    let run = s.run(&["run", &file]);
    assert_eq!(run.code, 1);
    check_copies(&s, &all_five());
}

#[test]
fn an_atomic_run_that_completes_commits_everything_in_both_copies_and_places_its_files() {
    let s = Store::demo();
    let file = write_runbook(&s, "five.rhai", FIVE);
    s.run(&["run", "--atomic", &file, "--arg", "Fail=false"]).ok();
    check_copies(&s, &all_five());
    assert_eq!(std::fs::read_to_string(s.dir.path().join("report.txt")).expect("report"), "five changes");
    // substr, not LIKE: a backslash escapes in PostgreSQL's LIKE.
    let audit = s.count(None, "SELECT count(*) FROM audit WHERE substr(target, 1, 18) = 'pc01.contoso.com\\A'");
    assert_eq!(audit, 6, "every change is audited as usual (a category, three rooms, two through a pipeline)");
}

/// A run that would exit 3 (a non-terminating error) is not clean: nothing is committed, exit 1.
#[test]
fn an_atomic_run_with_a_non_terminating_error_commits_nothing() {
    let s = Store::demo();
    let before = s.dump();
    let file = write_runbook(
        &s,
        "nonterm.rhai",
        r#"new_cs_persistent_chat_category(#{Name: "Atomic", PersistentChatPoolFqdn: "pc01.contoso.com"});
set_cs_persistent_chat_room("pc01.contoso.com\\NoSuchRoom", #{Description: "x"});"#,
    );
    let plain = s.copy();
    let run = s.run(&["run", "--atomic", &file]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(s.dump(), before);
    assert_eq!(plain.run(&["run", &file]).code, 3, "without --atomic the same run exits 3");
}

#[test]
fn a_spent_budget_or_a_signal_rolls_an_atomic_run_back() {
    let s = Store::demo();
    let before = s.dump();
    let looping = write_runbook(&s, "loop.rhai", &FIVE.replace("if ARGS.Fail", "loop { } if ARGS.Fail"));
    let run = s.run(&["run", "--atomic", "--max-operations", "100000", &looping]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("operations"), "{}", run.stderr);
    assert_eq!(s.dump(), before);

    // SIGTERM while the run waits at a fault point after its changes: exit 143, nothing kept.
    let held = Held::at(
        s.command(&["run", "--atomic", &write_runbook(&s, "five.rhai", FIVE), "--arg", "Fail=false"]),
        "atomic:before-commit",
    );
    held.signal(libc::SIGTERM);
    assert_eq!(held.finish().code, 143);
    assert_eq!(s.dump(), before);
    assert!(!s.dir.path().join("report.txt").exists());
    check_copies(&s, &BTreeSet::new());
}

/// Killed (as by `kill -9`) at each step of an atomic run, the store holds all of the run or
/// none of it once reopened, in both copies, in step.
#[test]
fn an_atomic_run_killed_at_any_step_leaves_all_or_none() {
    let base = Store::demo();
    for (step, kept) in [
        ("atomic:begun", false),
        ("pipeline-item", false),
        ("atomic:before-commit", false),
        ("atomic:committed", true),
        ("atomic:files-placed", true),
    ] {
        let s = base.copy();
        let before = s.dump();
        let file = write_runbook(&s, "five.rhai", FIVE);
        let run = Run::from(
            s.command(&["run", "--atomic", &file, "--arg", "Fail=false"])
                .env("PCHAT_FAULT", format!("{step}:kill"))
                .stdin(Stdio::null())
                .output()
                .expect("runs"),
        );
        assert!(run.stderr.contains(&format!("pchat-fault: killed at {step}")), "{step}: {}", run.stderr);
        assert_ne!(run.code, 0, "{step}");
        if kept {
            check_copies(&s, &all_five());
        } else {
            check_copies(&s, &BTreeSet::new());
            assert_eq!(s.dump(), before, "{step}");
        }
        // Files are all or none too: a run killed after its commit has them put in place by the
        // next command (check_copies ran some), see docs/atomic-and-plan.md.
        let placed = s.dir.path().join("report.txt").exists();
        assert_eq!(placed, kept, "{step}: report.txt");
        if kept {
            assert_eq!(std::fs::read_to_string(s.dir.path().join("report.txt")).expect("report"), "five changes");
        }
        let strays = store_strays(&s);
        assert!(strays.is_empty(), "{step}: temporary files left: {strays:?}");
    }
}

/// Temporary and staged files in the store's folder, and the store's unit files (beside it on
/// SQLite, in its local state folder on PostgreSQL).
fn store_strays(s: &Store) -> Vec<String> {
    let mut out: Vec<String> = strays(s.dir.path()).into_iter().filter(|n| !n.contains(".db.unit-")).collect();
    out.extend(s.unit_files());
    out
}

/// Temporary, staged and unit files in a folder.
fn strays(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp") || n.ends_with(".staged") || n.contains(".db.unit-"))
        .collect()
}

/// A category and two files in the folder `out` beside the runbook.
const TWO_FILES: &str = r#"
new_cs_persistent_chat_category(#{Name: "Atomic", PersistentChatPoolFqdn: "pc01.contoso.com"});
write_text(SCRIPT_DIR + "/out/one.txt", "one");
write_text(SCRIPT_DIR + "/out/two.txt", "old two");
write_text(SCRIPT_DIR + "/out/two.txt", "two");
"#;

/// Run TWO_FILES atomically in a copy of the demo store, killed at `step`.
fn killed_with_two_files(step: &str) -> (Store, PathBuf) {
    let s = Store::demo();
    let out = kill_with_two_files(&s, step);
    (s, out)
}

/// Run TWO_FILES atomically in `s`, killed at `step`: the folder its files go to.
fn kill_with_two_files(s: &Store, step: &str) -> PathBuf {
    let out = s.dir.path().join("out");
    std::fs::create_dir(&out).expect("out");
    let file = write_runbook(s, "two.rhai", TWO_FILES);
    let run = Run::from(
        s.command(&["run", "--atomic", &file])
            .env("PCHAT_FAULT", format!("{step}:kill"))
            .stdin(Stdio::null())
            .output()
            .expect("runs"),
    );
    assert!(run.stderr.contains(&format!("pchat-fault: killed at {step}")), "{step}: {}", run.stderr);
    out
}

fn category(s: &Store) -> bool {
    atomic_rows(s, PRIMARY).contains("category:Atomic|")
}

/// Killed between the commit and the renames: the next command puts both files in place and
/// says so; the store's changes were committed.
#[test]
fn an_atomic_run_killed_after_its_commit_has_its_files_placed_by_the_next_command() {
    let (s, out) = killed_with_two_files("atomic:committed");
    assert!(category(&s), "the changes are committed");
    assert!(!out.join("one.txt").exists() && !out.join("two.txt").exists());
    assert_eq!(strays(&out).len(), 2, "both files wait under their staged names: {:?}", strays(&out));

    let next = s.c("1 + 1").ok();
    assert_eq!(next.stdout.trim(), "2");
    assert!(next.stderr.contains("atomic: finished placing 2 files of a run committed at "), "{}", next.stderr);
    assert_eq!(std::fs::read_to_string(out.join("one.txt")).expect("one"), "one");
    assert_eq!(std::fs::read_to_string(out.join("two.txt")).expect("two"), "two", "the last content of each file");
    assert!(strays(&out).is_empty() && store_strays(&s).is_empty());
    let pending = s.count(None, "SELECT count(*) FROM atomic_files");
    assert_eq!(pending, 0, "the journal is cleared");
    // Once: the command after that has nothing to say.
    assert_eq!(s.c("1").ok().stderr, "");
}

/// Killed after the first of two renames: a command that writes nothing (`--what-if`, a plan)
/// only says what is waiting; the next one that may write places the second file.
#[test]
fn an_atomic_run_killed_between_its_renames_has_the_rest_placed_and_reads_only_report_it() {
    let (s, out) = killed_with_two_files("atomic:file-placed");
    assert!(category(&s));
    assert_eq!(std::fs::read_to_string(out.join("one.txt")).expect("one"), "one");
    assert!(!out.join("two.txt").exists());

    let plan = write_runbook(&s, "noop.rhai", "1");
    // Apart from the databases (SQLite checkpoints a WAL the kill left when a reader closes).
    let not_databases = || -> Vec<_> {
        let database = |n: &str| n.ends_with(".db") || n.ends_with("-wal") || n.ends_with("-shm");
        common::file_states(&s).into_iter().filter(|(n, _, _)| !database(n)).collect()
    };
    let before = not_databases();
    let units = s.unit_files();
    assert_eq!(units.len(), 1, "the run's unit file: {units:?}");
    let shown = listing(&out);
    let read = s.run(&["--what-if", "-c", "get_cs_persistent_chat_category().len()"]).ok();
    assert!(
        read.stderr.contains("atomic: 1 file of a run committed at ")
            && read.stderr.contains("the next pchat command without --what-if or --plan puts it there"),
        "{}",
        read.stderr
    );
    let planned = s.run(&["run", "--plan", &plan]).ok();
    assert!(planned.stderr.contains("atomic: 1 file of a run committed at "), "{}", planned.stderr);
    assert_eq!(listing(&out), shown, "a read places nothing");
    assert_eq!(not_databases(), before);
    assert_eq!(s.unit_files(), units, "nor removes the run's journal");

    let next = s.c("1").ok();
    assert!(next.stderr.contains("atomic: finished placing 1 file of a run committed at "), "{}", next.stderr);
    assert!(next.stderr.contains("(1 of 2 had been placed before it stopped)"), "{}", next.stderr);
    assert_eq!(std::fs::read_to_string(out.join("one.txt")).expect("one"), "one");
    assert_eq!(std::fs::read_to_string(out.join("two.txt")).expect("two"), "two");
    assert!(strays(&out).is_empty() && store_strays(&s).is_empty());
}

/// TWO_FILES run atomically in a demo store, paused between its commit and its renames: the
/// folder its files go to and the process.
fn paused_after_commit(s: &Store) -> (PathBuf, Held) {
    let out = s.dir.path().join("out");
    std::fs::create_dir(&out).expect("out");
    let held = Held::at(s.command(&["run", "--atomic", &write_runbook(s, "two.rhai", TWO_FILES)]), "atomic:committed");
    (out, held)
}

/// A run paused between its commit and its renames is at work, not dead: another command
/// meanwhile leaves its files alone, and the run then places them itself.
#[test]
fn files_of_a_run_still_at_work_are_left_to_it() {
    let s = Store::demo();
    let (out, held) = paused_after_commit(&s);
    let other = s.c("1").ok();
    assert_eq!(other.stderr, "", "nothing to report: the run is at work");
    assert_eq!(strays(&out).len(), 2, "{:?}", strays(&out));
    assert!(held.finish().code == 0);
    assert_eq!(std::fs::read_to_string(out.join("two.txt")).expect("two"), "two");
    assert!(strays(&out).is_empty() && store_strays(&s).is_empty());
    assert_eq!(s.c("1").ok().stderr, "");
}

/// A file of a committed run that cannot be put in place (here its target became a folder
/// between the commit and the rename) keeps its committed content under its staged name, and
/// the run says where; the next command places it once the target is free.
#[test]
fn a_file_that_cannot_be_placed_after_the_commit_is_kept_and_placed_by_a_later_command() {
    let s = Store::demo();
    let (out, held) = paused_after_commit(&s);
    std::fs::create_dir(out.join("one.txt")).expect("a folder in the way");
    let Run { code, stderr: rest, .. } = held.finish();
    assert_eq!(code, 1, "{rest}");
    assert!(category(&s), "the changes are committed");
    assert!(rest.contains("atomic: committed, but a file could not be put in place"), "{rest}");
    assert!(rest.contains("its content is kept in ") && rest.contains(".one.txt.pchat-"), "{rest}");
    assert_eq!(std::fs::read_to_string(out.join("two.txt")).expect("two"), "two");
    assert_eq!(strays(&out).len(), 1, "the unplaced file waits under its staged name: {:?}", strays(&out));

    // Still in the way: said again, and kept.
    let next = s.c("1").ok();
    assert!(next.stderr.contains("cannot be put in place yet"), "{}", next.stderr);
    assert_eq!(strays(&out).len(), 1);
    std::fs::remove_dir(out.join("one.txt")).expect("out of the way");
    let next = s.c("1").ok();
    assert!(next.stderr.contains("atomic: finished placing 1 file of a run committed at "), "{}", next.stderr);
    assert!(!next.stderr.contains("before it stopped"), "the run did not stop: {}", next.stderr);
    assert_eq!(std::fs::read_to_string(out.join("one.txt")).expect("one"), "one");
    assert!(strays(&out).is_empty() && store_strays(&s).is_empty());
    assert_eq!(s.c("1").ok().stderr, "");
}

/// Killed while writing its unit file: no staged file exists yet (the unit file names them
/// first), and the next command removes the half-written unit file.
#[test]
fn an_atomic_run_killed_writing_its_unit_file_leaves_nothing_behind() {
    let s = Store::demo();
    let before = s.dump();
    let out = kill_with_two_files(&s, "atomic:unit-file-written");
    assert!(!category(&s));
    assert!(strays(&out).is_empty(), "no staged file before the unit file is complete: {:?}", strays(&out));
    assert_eq!(store_strays(&s).len(), 1, "{:?}", store_strays(&s));
    let next = s.c("1").ok();
    assert_eq!(next.stdout.trim(), "1");
    assert!(store_strays(&s).is_empty(), "{:?}", store_strays(&s));
    assert!(listing(&out).is_empty());
    assert_eq!(s.dump(), before);
}

/// Killed just before the commit, with its files already named: nothing is kept, and the next
/// command removes the staged names.
#[test]
fn an_atomic_run_killed_before_its_commit_leaves_no_change_and_no_file() {
    let s = Store::demo();
    let before = s.dump();
    let out = kill_with_two_files(&s, "atomic:before-commit");
    assert!(!category(&s));
    assert_eq!(s.dump(), before, "no row of the run is kept");
    assert_eq!(strays(&out).len(), 2, "the named files the kill left: {:?}", strays(&out));
    let next = s.c("1").ok();
    assert!(!next.stderr.contains("finished placing"), "{}", next.stderr);
    assert!(listing(&out).is_empty(), "no file and no staged file: {:?}", listing(&out));
    assert!(store_strays(&s).is_empty(), "{:?}", store_strays(&s));
    assert_eq!(s.dump(), before);
}

#[test]
fn atomic_blocks_commit_together_nest_and_refuse_what_commits_on_its_own() {
    let s = Store::demo();
    let file = write_runbook(
        &s,
        "blocks.rhai",
        r#"
new_cs_persistent_chat_category(#{Name: "Atomic", PersistentChatPoolFqdn: "pc01.contoso.com"});
// A failed block leaves nothing, and its error can be caught.
try {
    atomic(|| {
        new_cs_persistent_chat_room(#{Name: "A0", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Atomic"});
        write_text(SCRIPT_DIR + "/block.txt", "never");
        throw "first block fails";
    });
} catch (e) { print(`caught: ${e}`); }
// A block that succeeds keeps the work of its inner blocks that succeeded, not of those that failed.
let value = atomic(|| {
    new_cs_persistent_chat_room(#{Name: "A1", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Atomic"});
    try {
        atomic(|| {
            new_cs_persistent_chat_room(#{Name: "A2", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Atomic"});
            write_text(SCRIPT_DIR + "/block.txt", "inner, undone");
            throw "inner fails";
        });
    } catch (e) { print(`caught: ${e}`); }
    atomic(|| { set_cs_persistent_chat_room("pc01.contoso.com\\A1", #{Description: "inner kept"}); });
    write_text(SCRIPT_DIR + "/block.txt", "kept");
    42
});
print(`value ${value}`);
// Fail-over cannot be held back with other changes.
try {
    atomic(|| {
        new_cs_persistent_chat_room(#{Name: "A3", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Atomic"});
        set_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com", #{PoolState: "FailedOver"});
    });
} catch (e) { print(`caught: ${e}`); }
"#,
    );
    let run = s.run(&["run", &file]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "caught: first block fails");
    assert_eq!(lines[1], "caught: inner fails");
    assert_eq!(lines[2], "value 42");
    assert_eq!(
        lines[3],
        "caught: Set-CsPersistentChatState: InvalidOperation: cannot run inside an atomic run or block: it fails a pool over or back, which must be committed on its own; run it on its own (outside atomic(...), without --atomic)"
    );
    let rooms: BTreeSet<String> = ["room:A1|inner kept", "category:Atomic|"].into_iter().map(String::from).collect();
    assert_eq!(atomic_rows(&s, PRIMARY), rooms);
    assert_eq!(atomic_rows(&s, BACKUP), rooms);
    assert_eq!(std::fs::read_to_string(s.dir.path().join("block.txt")).expect("block.txt"), "kept");
    let state = s.c(r#"get_cs_persistent_chat_state("pc01.contoso.com")[0].PoolState"#).ok();
    assert_eq!(state.stdout.trim(), "Normal");

    // A failed inner block that was the first to change the pool takes its move of the pool's
    // change counter with it; the change after it moves the counter again, in every copy.
    let change =
        |s: &Store| s.c(r#"get_cs_persistent_chat_state("pc01.contoso.com")[0].Change"#).ok().stdout.trim().to_string();
    let before: i64 = change(&s).parse().expect("change");
    s.c(r#"atomic(|| {
        try { atomic(|| { new_cs_persistent_chat_room(#{Name: "A4", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Atomic"}); throw "x"; }); } catch (e) { }
        new_cs_persistent_chat_room(#{Name: "A5", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Atomic"});
    })"#)
    .ok();
    assert_eq!(change(&s), (before + 1).to_string());
    let rooms: BTreeSet<String> =
        ["room:A1|inner kept", "room:A5|", "category:Atomic|"].into_iter().map(String::from).collect();
    assert_eq!(atomic_rows(&s, PRIMARY), rooms);
    assert_eq!(atomic_rows(&s, BACKUP), rooms);
    for db in [PRIMARY, BACKUP] {
        let held = s.count(Some(db), "SELECT seq FROM pool_sync WHERE pool = 'pc01.contoso.com'");
        assert_eq!(held, before + 1, "{db} holds the pool's change");
    }

    // In an atomic run the refusal ends the run and nothing is kept.
    let before = s.dump();
    let over = format!("{ROOT}/scripts/fail_over.rhai");
    let run = s.run(&["run", "--atomic", &over, "--arg", "Pool=pc01.contoso.com"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("Set-CsPersistentChatState: InvalidOperation: cannot run inside an atomic run"),
        "{}",
        run.stderr
    );
    assert_eq!(s.dump(), before);
}

// ---- plans ----

/// Every stored object by type, as the Get cmdlets list them (the test's own reading).
const OBJECTS: &[(&str, &str)] = &[
    ("Service", "get_cs_service()"),
    ("PersistentChatState", "get_cs_persistent_chat_state()"),
    ("PersistentChatConfiguration", "get_cs_persistent_chat_configuration()"),
    ("PersistentChatComplianceConfiguration", "get_cs_persistent_chat_compliance_configuration()"),
    ("PersistentChatPolicy", "get_cs_persistent_chat_policy()"),
    ("PersistentChatRunbookConfiguration", "get_cs_persistent_chat_runbook_configuration()"),
    ("OCSPersistentChatContact", "get_cs_persistent_chat_endpoint()"),
    ("AddinObject", "get_cs_persistent_chat_addin()"),
    ("CategoryObject", "get_cs_persistent_chat_category()"),
    ("ChatRoomObject", "get_cs_persistent_chat_room()"),
    ("OCSADPrincipal", "get_cs_ad_principal()"),
    ("OCSUserOrAppContact", "get_cs_user()"),
    ("Role", "get_cs_admin_role()"),
];

fn objects(s: &Store) -> BTreeMap<String, Vec<Value>> {
    let code =
        format!("#{{ {} }}", OBJECTS.iter().map(|(t, get)| format!("\"{t}\": {get}")).collect::<Vec<_>>().join(", "));
    let run = s.run(&["--json", "-c", &code]).ok();
    let v: BTreeMap<String, Vec<Value>> = serde_json::from_str(&run.stdout).expect("objects json");
    v
}

fn key(o: &Value) -> String {
    let id = o.get("Identity").cloned().unwrap_or(Value::Null);
    id.as_str().map(str::to_lowercase).unwrap_or_else(|| id.to_string())
}

fn empty(v: &Value) -> bool {
    v.is_null() || v.as_array().is_some_and(|a| a.is_empty())
}

/// (Action, ObjectType, Identity) → [(Property, Before, After)], from two readings.
type Effect = BTreeMap<(String, String, String), Vec<(String, Value, Value)>>;

fn effect(before: &BTreeMap<String, Vec<Value>>, after: &BTreeMap<String, Vec<Value>>) -> Effect {
    let mut out = Effect::new();
    for (t, _) in OBJECTS {
        let index =
            |list: &Vec<Value>| -> BTreeMap<String, Value> { list.iter().map(|o| (key(o), o.clone())).collect() };
        let (was, now) = (index(&before[*t]), index(&after[*t]));
        let ids: BTreeSet<&String> = was.keys().chain(now.keys()).collect();
        for id in ids {
            let (b, a) = (was.get(id), now.get(id));
            let action = match (b, a) {
                (None, Some(_)) => "Created",
                (Some(_), None) => "Removed",
                _ => "Changed",
            };
            let props: BTreeSet<String> =
                b.iter().chain(a.iter()).flat_map(|o| o.as_object().expect("object").keys().cloned()).collect();
            let mut changes = Vec::new();
            for p in props {
                if *t == "PersistentChatState" && p == "Change" {
                    continue;
                }
                let get = |o: Option<&Value>| o.and_then(|o| o.get(&p)).cloned().unwrap_or(Value::Null);
                let (x, y) = (get(b), get(a));
                let keep = match action {
                    "Created" => !empty(&y),
                    "Removed" => !empty(&x),
                    _ => x != y,
                };
                if keep {
                    changes.push((p, x, y));
                }
            }
            if action != "Changed" || !changes.is_empty() {
                let shown = a.or(b).and_then(|o| o.get("Identity")).and_then(Value::as_str).unwrap_or_default();
                out.insert((action.to_string(), t.to_string(), shown.to_string()), changes);
            }
        }
    }
    out
}

/// Times of creation are when each ran, the plan's a moment before the real run's: compared by
/// presence.
fn without_times(effect: Effect) -> Effect {
    let stamp = |v: Value| if v.is_null() { v } else { Value::String("<time>".into()) };
    effect
        .into_iter()
        .map(|(k, changes)| {
            let changes = changes
                .into_iter()
                .map(|(p, b, a)| if p == "WhenCreated" { (p, stamp(b), stamp(a)) } else { (p, b, a) })
                .collect();
            (k, changes)
        })
        .collect()
}

fn planned(plan: &Value) -> Effect {
    let mut out = Effect::new();
    for e in plan.as_array().expect("plan array") {
        let s = |k: &str| e[k].as_str().expect("string").to_string();
        if s("Action") == "File" {
            continue;
        }
        let mut changes: Vec<(String, Value, Value)> = e["Changes"]
            .as_array()
            .expect("changes")
            .iter()
            .map(|c| (c["Property"].as_str().expect("property").to_string(), c["Before"].clone(), c["After"].clone()))
            .collect();
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        out.insert((s("Action"), s("ObjectType"), s("Identity")), changes);
    }
    out
}

fn listing(dir: &Path) -> BTreeSet<String> {
    walk(dir).into_iter().filter(|n| !n.ends_with("-wal") && !n.ends_with("-shm")).collect()
}

fn walk(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).expect("dir").flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if e.path().is_dir() {
            out.extend(walk(&e.path()).into_iter().map(|n| format!("{name}/{n}")));
        }
        out.push(name);
    }
    out
}

/// Plan `script` on one copy of `base` and run it on another: the plan keeps nothing and writes
/// no file, exits as the run does, and lists exactly the objects and files the run changed.
/// `{dir}` in an argument is the copy's folder.
fn plan_matches_run(base: &Store, script: &str, args: &[&str]) -> (Value, Run) {
    let planner = base.copy();
    let real = base.copy();
    for s in [&planner, &real] {
        s.allow_own_folder();
        std::fs::create_dir_all(s.dir.path().join("exports")).expect("exports");
        std::fs::write(
            s.dir.path().join("rooms.csv"),
            "Pool,Category,Room,Description,Privacy,Type\npc01.contoso.com,Legal,Contracts,Contract reviews,Secret,Normal\npc02.contoso.com,Ops,Ops Desk,,Open,Auditorium\n",
        )
        .expect("csv");
    }
    let with = |s: &Store| -> Vec<String> {
        args.iter().map(|a| a.replace("{dir}", &s.dir.path().to_string_lossy())).collect()
    };
    let script = format!("{ROOT}/scripts/{script}");

    let (dump, files) = (planner.dump(), listing(planner.dir.path()));
    let mut cmd = vec!["--json".to_string(), "run".into(), "--plan".into(), script.clone()];
    cmd.extend(with(&planner));
    let plan = planner.run(&cmd.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(planner.dump(), dump, "{script}: the plan kept a change");
    assert_eq!(listing(planner.dir.path()), files, "{script}: the plan wrote a file");
    let plan_json: Value =
        serde_json::from_str(&plan.stdout).unwrap_or_else(|e| panic!("{script}: {e}: {}", plan.stdout));

    let before = objects(&real);
    let old_files = listing(real.dir.path());
    let mut cmd = vec!["run".to_string(), script.clone()];
    cmd.extend(with(&real));
    let run = real.run(&cmd.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(plan.code, run.code, "{script}: exit codes\nplan:\n{}\nrun:\n{}", plan.stderr, run.stderr);
    let after = objects(&real);
    assert_eq!(
        without_times(planned(&plan_json)),
        without_times(effect(&before, &after)),
        "{script}: the plan is not what the run did"
    );

    let written: BTreeSet<String> = plan_json
        .as_array()
        .expect("plan")
        .iter()
        .filter(|e| e["Action"] == "File")
        .map(|e| {
            let p = e["Identity"].as_str().expect("path");
            let rel =
                Path::new(p).strip_prefix(planner.dir.path().canonicalize().expect("dir")).expect("in the store dir");
            rel.to_string_lossy().into_owned()
        })
        .collect();
    let new_files: BTreeSet<String> = listing(real.dir.path()).difference(&old_files).cloned().collect();
    assert_eq!(written, new_files, "{script}: planned files");
    (plan_json, run)
}

#[test]
fn the_plan_of_each_shipped_runbook_is_what_a_real_run_then_does() {
    let base = Store::examples();
    // Read-only runbooks plan nothing.
    for (script, args) in [("directory_report.rhai", &[][..]), ("rooms/out-of-scope-report.rhai", &[][..])] {
        let (plan, _) = plan_matches_run(&base, script, args);
        assert_eq!(plan, json!([]), "{script}");
    }
    let (plan, _) = plan_matches_run(&base, "rooms/bulk-create.rhai", &["--arg", "File={dir}/rooms.csv"]);
    assert!(plan.as_array().expect("plan").len() >= 3, "{plan}");
    plan_matches_run(&base, "rooms/disable-unmanaged.rhai", &[]);
    let managed = base.copy();
    managed.c(r#"["pc01.contoso.com\\FinanceRoom", "pc01.contoso.com\\Draft"].set_cs_persistent_chat_room(#{Managers: #{Add: "sip:annb@contoso.com"}})"#).ok();
    let (plan, run) = plan_matches_run(
        &managed,
        "rooms/rehome-manager.rhai",
        &["--arg", "Leaver=sip:annb@contoso.com", "--arg", "NewManager=sip:bobk@contoso.com"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(plan.as_array().expect("plan").len(), 2, "{plan}");
    let (plan, _) = plan_matches_run(&base, "retention.rhai", &["--arg", "Days=365"]);
    assert!(plan.to_string().contains("ChatContentSizeMB"), "retention shows the content it removes: {plan}");
    let (plan, _) =
        plan_matches_run(&base, "nightly_export.rhai", &["--arg", "Folder={dir}/exports", "--arg", "Keep=1"]);
    assert_eq!(plan.as_array().expect("plan").len(), 2, "the archive and its report: {plan}");
    let (plan, _) = plan_matches_run(&base, "fail_over.rhai", &["--arg", "Pool=pc01.contoso.com"]);
    assert!(plan.to_string().contains("\"FailedOver\""), "{plan}");
    let failed_over = base.copy();
    failed_over.run(&["run", &format!("{ROOT}/scripts/fail_over.rhai"), "--arg", "Pool=pc01.contoso.com"]).ok();
    plan_matches_run(&failed_over, "fail_back.rhai", &["--arg", "Pool=pc01.contoso.com"]);
    // A failing run's plan fails the same way.
    let (_, run) = plan_matches_run(&failed_over, "fail_over.rhai", &["--arg", "Pool=pc01.contoso.com"]);
    assert_eq!(run.code, 1);

    // Publishing a topology creates database files: a plan refuses it, saying so.
    let s = Store::empty();
    let run = s.run(&["run", "--plan", &format!("{ROOT}/scripts/demo/setup.rhai")]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("Publish-CsTopology: InvalidOperation: cannot run in a plan"), "{}", run.stderr);
    assert!(!s.dir.path().join("sql01.contoso.com-rtc.db").exists());
}

#[test]
fn a_plan_prints_text_sends_the_runbook_output_to_stderr_and_sees_its_own_changes() {
    let s = Store::demo();
    let file = write_runbook(
        &s,
        "plan.rhai",
        r#"
new_cs_persistent_chat_category(#{Name: "Atomic", PersistentChatPoolFqdn: "pc01.contoso.com"});
new_cs_persistent_chat_room(#{Name: "A0", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Atomic"});
// A later statement sees the earlier ones' effects.
set_cs_persistent_chat_room("pc01.contoso.com\\A0", #{Description: "Ünïcødé ✓"});
set_cs_persistent_chat_policy("Global", #{EnablePersistentChat: true});
new_cs_persistent_chat_room(#{Name: "A1", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Atomic"});
remove_cs_persistent_chat_room("pc01.contoso.com\\A1", #{Confirm: false});
write_text(SCRIPT_DIR + "/out.txt", "abc");
print("runbook output");
"done"
"#,
    );
    let before = s.dump();
    let run = s.run(&["run", "--plan", &file]).ok();
    assert_eq!(s.dump(), before);
    assert!(!s.dir.path().join("out.txt").exists());
    assert!(run.stderr.contains("runbook output") && run.stderr.contains("done"), "{}", run.stderr);
    assert!(!run.stdout.contains("runbook output"), "{}", run.stdout);
    let text = run.stdout;
    assert!(text.contains("Created CategoryObject 'pc01.contoso.com\\Atomic'"), "{text}");
    assert!(text.contains("Created ChatRoomObject 'pc01.contoso.com\\A0'"), "{text}");
    assert!(text.contains("    Description: \"Ünïcødé ✓\""), "{text}");
    assert!(text.contains("Changed PersistentChatPolicy 'Global'\n    EnablePersistentChat: False → True"), "{text}");
    // The room's identity, not the bare name: the temporary folder's random name may hold "A1".
    assert!(!text.contains("\\A1'"), "net effect: a room created and removed is not there: {text}");
    assert!(
        text.contains(&format!(
            "File '{}/out.txt' would be written (new, 3 bytes)",
            s.dir.path().canonicalize().unwrap().display()
        )),
        "{text}"
    );
    assert!(
        text.ends_with("Plan: 3 objects and 1 file would change; nothing was kept. The run would exit with code 0.\n"),
        "{text}"
    );
    // In the order the run changed them.
    let category = text.find("Created CategoryObject").unwrap();
    let room = text.find("Created ChatRoomObject").unwrap();
    let policy = text.find("Changed PersistentChatPolicy").unwrap();
    assert!(category < room && room < policy, "{text}");
}

/// A PowerShell runbook's output objects and Write-Host lines go to stderr under --plan: with
/// --json, standard output is exactly the plan.
#[test]
fn a_powershell_runbook_plans_and_runs_atomically_too() {
    let s = Store::demo();
    let file = write_runbook(
        &s,
        "plan.ps1",
        r#"New-CsPersistentChatCategory -Name "PsCat" -PersistentChatPoolFqdn "pc01.contoso.com"
Set-CsPersistentChatCategory -Identity "pc01.contoso.com\PsCat" -Description "from ps"
Write-Host "host line"
"done"
"#,
    );
    let before = s.dump();
    let run = s.run(&["--json", "run", "--plan", &file]).ok();
    assert_eq!(s.dump(), before);
    let plan: Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    assert_eq!(plan.as_array().map(Vec::len), Some(1), "{plan}");
    assert_eq!(plan[0]["Action"], "Created");
    assert!(plan[0]["Changes"].to_string().contains(r#""After":"from ps""#), "{plan}");
    assert!(run.stderr.contains("host line") && run.stderr.contains("done"), "{}", run.stderr);

    let run = s.run(&["run", "--atomic", &file]).ok();
    assert!(run.stdout.contains("host line"), "{}", run.stdout);
    let description = s.c(r#"get_cs_persistent_chat_category("pc01.contoso.com\\PsCat")[0].Description"#).ok();
    assert_eq!(description.stdout.trim(), "from ps");
}

/// Under `--plan` a shipped runbook's report says what would be done, as under `--what-if`:
/// nothing of a plan is kept.
#[test]
fn a_planned_runbook_reports_what_would_be_done() {
    let s = Store::examples();
    let plan = s.run(&["run", "--plan", &format!("{ROOT}/scripts/retention.rhai"), "--arg", "Days=1"]).ok();
    let said = format!("{}{}", plan.stdout, plan.stderr);
    assert!(said.contains("messages would be deleted in"), "{said}");
    assert!(!said.contains("messages deleted in"), "{said}");
    let real = s.run(&["run", &format!("{ROOT}/scripts/retention.rhai"), "--arg", "Days=1"]).ok();
    assert!(real.stdout.contains("messages deleted in"), "{}", real.stdout);
    let code = "print(is_plan())";
    assert_eq!(s.c(code).ok().stdout.trim(), "false");
}
