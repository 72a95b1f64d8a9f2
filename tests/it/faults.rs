//! Fault injection: readers, writers and fail-over toggles racing; primary and backup deleted,
//! truncated and corrupted in each pool state; the process killed at each step of fail-over,
//! fail-back and repair (the binary's PCHAT_FAULT points). Whatever happens, every room a writer
//! was told was committed is there afterwards, in both copies once they are in sync, and no
//! command ever serves an empty pool or copies over the good copy.
//! Each numbered item of the fault issue is a named case: `item1_…` to `item7_…`.

use crate::common;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};

use common::{Run, Store, file_states, single_error_line};
use rusqlite::Connection;

const PC01: &str = "PersistentChatServer:pc01.contoso.com";

fn pool_file(s: &Store, instance: &str) -> PathBuf {
    s.dir.path().join(format!("{instance}.contoso.com-rtc.db"))
}

fn repair(source: &str, force: bool) -> String {
    format!(r#"repair_cs_persistent_chat_database(#{{Identity: "{PC01}", Source: "{source}", Force: {force}}})"#)
}

fn set_state(state: &str) -> String {
    format!(r#"set_cs_persistent_chat_state("{PC01}", #{{PoolState: "{state}"}})"#)
}

fn state(s: &Store, prop: &str) -> String {
    s.c(&format!("get_cs_persistent_chat_state(\"{PC01}\")[0].{prop}")).ok().stdout.trim().to_string()
}

/// pc01's room names in one copy of the pool, `instance` (`sql01`, `sql02`): read directly, not
/// through pchat.
fn rooms_in(s: &Store, instance: &str) -> BTreeSet<String> {
    s.copy_db(instance).texts("SELECT name FROM rooms WHERE pool = 'pc01.contoso.com'", &[]).into_iter().collect()
}

/// pc01's room names as pchat serves them.
fn rooms_served(s: &Store) -> Result<BTreeSet<String>, String> {
    let run =
        s.c(r#"for r in get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}) { print(r.Name) }"#);
    if run.code == 0 { Ok(run.stdout.lines().map(str::to_string).collect()) } else { Err(run.stderr) }
}

const SETUP: &str = r#"
new_cs_persistent_chat_category(#{Name: "Load", PersistentChatPoolFqdn: "pc01.contoso.com"});
for i in 0..ROOM_COUNT { new_cs_persistent_chat_room(#{Name: `R${i}`, PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"}); }
"#;

/// The demo store with `n` rooms in pc01.
fn with_rooms(n: usize) -> (Store, BTreeSet<String>) {
    let s = Store::demo();
    s.runbook("setup.rhai", &SETUP.replace("ROOM_COUNT", &n.to_string()), &[]).ok();
    (s, (0..n).map(|i| format!("R{i}")).collect())
}

/// Start pchat with a fault point; standard error is read line by line by the caller.
fn spawn(s: &Store, fault: &str, code: &str) -> Child {
    s.command(&["--yes", "-c", code])
        .env("PCHAT_FAULT", fault)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn")
}

/// Wait (blocking read, no sleeping) until the child reports it reached a paused fault point.
fn wait_reached(child: &mut Child, step: &str) -> BufReader<std::process::ChildStderr> {
    let mut err = BufReader::new(child.stderr.take().expect("stderr"));
    let mut line = String::new();
    loop {
        line.clear();
        assert!(err.read_line(&mut line).expect("read") > 0, "the child ended before reaching {step}");
        if line.trim() == format!("pchat-fault: reached {step}") {
            return err;
        }
    }
}

fn finish(child: Child) -> Run {
    Run::from(child.wait_with_output().expect("exit"))
}

fn damage(path: &Path, how: &str) {
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    match how {
        "delete" => std::fs::remove_file(path).expect("delete"),
        "truncate" => std::fs::write(path, b"").expect("truncate"),
        "corrupt-header" => {
            let mut bytes = std::fs::read(path).expect("read");
            bytes[..100].copy_from_slice(&[0x5a; 100]);
            std::fs::write(path, bytes).expect("write");
        }
        // Every page after the first three (the schema and the file's identity stay readable).
        "corrupt-pages" => {
            let mut bytes = std::fs::read(path).expect("read");
            for b in bytes.iter_mut().skip(3 * 4096) {
                *b ^= 0xa5;
            }
            std::fs::write(path, bytes).expect("write");
        }
        other => panic!("unknown damage {other}"),
    }
}

/// Item 1: a writer creating rooms (printing each one pchat reported done), readers looping
/// over the state and the rooms, and fail-over/fail-back toggles. Every room reported done is
/// there afterwards, in both copies.
#[cfg(unix)]
#[test]
fn item1_readers_writers_and_toggles_lose_no_committed_room() {
    let (s, _) = with_rooms(0);
    let writer_code = r#"
for i in 0..2500 {
    new_cs_persistent_chat_room(#{Name: `W${i}`, PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load", ErrorAction: "Continue"});
    if last_errors().len() == 0 { print(`W${i}`); } else { clear_errors(); }
}
"#;
    let reader_code = r#"
for i in 0..60 {
    let st = get_cs_persistent_chat_state(#{ErrorAction: "Continue"});
    let n = get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com", ErrorAction: "Continue"}).len();
    clear_errors();
}
"#;
    let toggler_code = format!(
        r#"for i in 0..4 {{
    set_cs_persistent_chat_state("{PC01}", #{{PoolState: "FailedOver", ErrorAction: "Stop"}});
    set_cs_persistent_chat_state("{PC01}", #{{PoolState: "Normal", ErrorAction: "Stop"}});
}}"#
    );
    let path = |name: &str| s.dir.path().join(name);
    for (name, code) in [("writer.rhai", writer_code), ("reader.rhai", reader_code)] {
        std::fs::write(path(name), code).expect("runbook");
    }
    std::fs::write(path("toggler.rhai"), &toggler_code).expect("runbook");
    let start = |name: &str| {
        s.command(&["--yes", "run", &path(name).to_string_lossy()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let writer = start("writer.rhai");
    let readers: Vec<Child> = (0..3).map(|_| start("reader.rhai")).collect();
    let toggler = start("toggler.rhai");
    let toggled = finish(toggler);
    let written = finish(writer);
    for r in readers {
        let run = finish(r);
        assert_eq!(run.code, 0, "reader: {}", run.stderr);
        assert!(!run.stderr.contains("brought it up to date"), "a read repaired: {}", run.stderr);
    }
    assert_eq!(toggled.code, 0, "toggler: {}", toggled.stderr);
    let committed: BTreeSet<String> = written.stdout.lines().map(str::to_string).collect();
    assert!(committed.len() >= 2000, "the writer got {} rooms through: {}", committed.len(), written.stderr);
    assert_eq!(state(&s, "PoolState"), "Normal");
    assert_eq!(state(&s, "InSync"), "True");
    let served = rooms_served(&s).expect("readable");
    assert!(committed.is_subset(&served), "{} committed rooms missing", committed.difference(&served).count());
    assert_eq!(rooms_in(&s, "sql01"), served);
    assert_eq!(rooms_in(&s, "sql02"), served);
}

/// Item 1, made deterministic: a fail-back paused after its copy, holding the lock. Readers go on
/// (and see the pool as it was), a writer waits for the lock, and its room reaches both copies.
#[cfg(unix)]
#[test]
fn item1_a_writer_waiting_on_a_paused_fail_back_reaches_both_copies() {
    let (s, rooms) = with_rooms(300);
    s.c(&set_state("FailedOver")).ok();
    s.c(r#"new_cs_persistent_chat_room(#{Name: "WhileFailedOver", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"})"#).ok();
    let release = s.dir.path().join("release");
    let mut toggler = spawn(&s, &format!("failback:copied:pause:{}", release.display()), &set_state("Normal"));
    let _err = wait_reached(&mut toggler, "failback:copied");
    // The fail-back holds every lock: reads go on from what is committed.
    assert_eq!(state(&s, "PoolState"), "FailedOver");
    assert_eq!(rooms_served(&s).expect("readable").len(), rooms.len() + 1);
    let writer = s
        .command(&["-c", r#"new_cs_persistent_chat_room(#{Name: "AfterFailBack", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"}); print("done")"#])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("writer");
    std::fs::write(&release, b"").expect("release");
    assert_eq!(finish(toggler).code, 0);
    let w = finish(writer);
    assert_eq!(w.stdout.trim(), "done", "{}", w.stderr);
    assert_eq!(state(&s, "InSync"), "True");
    for instance in ["sql01", "sql02"] {
        let held = rooms_in(&s, instance);
        assert_eq!(held.len(), rooms.len() + 2, "{instance}");
        assert!(held.contains("WhileFailedOver") && held.contains("AfterFailBack"), "{instance}");
    }
}

/// Item 2 and its relatives: delete, truncate or corrupt either copy in either pool state. No
/// command serves the pool empty, nothing is copied over the good copy, and one repair command
/// from the good copy brings every room back into both.
#[test]
fn item2_a_lost_or_damaged_copy_is_never_served_empty_nor_copied_over_the_good_one() {
    let (template, rooms) = with_rooms(20);
    if template.is_postgres() {
        return item2_on_postgres(&template, &rooms);
    }
    for pool_state in ["Normal", "FailedOver"] {
        for (lost, good, good_side) in [("sql01", "sql02", "Backup"), ("sql02", "sql01", "Primary")] {
            for how in ["delete", "truncate", "corrupt-header", "corrupt-pages"] {
                let case = format!("{pool_state}, {lost} {how}");
                let s = template.copy();
                if pool_state == "FailedOver" {
                    s.c(&set_state("FailedOver")).ok();
                }
                damage(&pool_file(&s, lost), how);
                // Reads: every room, or an error that names the file and the way out.
                match rooms_served(&s) {
                    Ok(served) => assert_eq!(served, rooms, "{case}: served a partial pool"),
                    Err(e) => assert!(
                        e.contains(&format!("{lost}.contoso.com-rtc.db")) || e.contains("malformed"),
                        "{case}: {e}"
                    ),
                }
                // Every procedure a hurried admin might try; none may copy over the good copy.
                let _ = s.c(&set_state("FailedOver"));
                let _ = s.c(&set_state("Normal"));
                let _ = s.c(&repair(if good_side == "Primary" { "Backup" } else { "Primary" }, false));
                let _ = s.run(&[
                    "run",
                    &format!("{}/scripts/fail_back.rhai", common::ROOT),
                    "--arg",
                    "pool=pc01.contoso.com",
                ]);
                if how != "corrupt-pages" {
                    assert!(std::fs::metadata(pool_file(&s, good)).is_ok_and(|m| m.len() > 0), "{case}");
                }
                assert_eq!(rooms_in(&s, good), rooms, "{case}: the good copy lost rooms");
                // The recovery: one command from the good copy.
                s.c(&repair(good_side, false)).ok();
                assert_eq!(rooms_served(&s).expect("served"), rooms, "{case}");
                assert_eq!(rooms_in(&s, lost), rooms, "{case}: rebuilt copy");
                assert_eq!(state(&s, "InSync"), "True", "{case}");
                s.c(r#"new_cs_persistent_chat_room(#{Name: "Next", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"})"#)
                    .ok();
            }
        }
    }
}

/// PostgreSQL: either copy's database dropped, restored empty, damaged (its identity row not the
/// recorded one) or with one of pchat's tables dropped, in either pool state. No command serves
/// the pool empty or copies over the good copy; the repair from the good copy brings every room
/// back, after what its refusal tells a DBA to do where it refuses (pchat creates no database, and
/// rebuilds into an empty one only).
fn item2_on_postgres(template: &Store, rooms: &BTreeSet<String>) {
    use common::damage::{
        break_pool_db_table, create_empty_pool_db, damage_pool_db, empty_pool_db, lose_pool_db, pool_db_exists,
        pool_name,
    };
    for pool_state in ["Normal", "FailedOver"] {
        for (lost, good, good_side) in [("sql01", "sql02", "Backup"), ("sql02", "sql01", "Primary")] {
            for how in ["drop", "empty", "damage", "drop-table"] {
                let case = format!("{pool_state}, {lost} {how}");
                let s = template.copy();
                if pool_state == "FailedOver" {
                    s.c(&set_state("FailedOver")).ok();
                }
                let identity = format!("{lost}.contoso.com\\rtc");
                let named = pool_name(&s, lost);
                match how {
                    "drop" => lose_pool_db(&s, lost),
                    "empty" => empty_pool_db(&s, lost),
                    "damage" => damage_pool_db(&s, lost),
                    _ => break_pool_db_table(&s, lost),
                }
                match rooms_served(&s) {
                    Ok(served) => assert_eq!(served, *rooms, "{case}: served a partial pool"),
                    Err(e) => assert!(e.contains(&named) || e.contains(&identity), "{case}: {e}"),
                }
                let _ = s.c(&set_state("FailedOver"));
                let _ = s.c(&set_state("Normal"));
                let _ = s.c(&repair(if good_side == "Primary" { "Backup" } else { "Primary" }, false));
                let _ = s.run(&[
                    "run",
                    &format!("{}/scripts/fail_back.rhai", common::ROOT),
                    "--arg",
                    "pool=pc01.contoso.com",
                ]);
                assert_eq!(rooms_in(&s, good), *rooms, "{case}: the good copy lost rooms");
                let run = s.c(&repair(good_side, false));
                if run.code != 0 {
                    // Refused: it says what to do first, which is then done.
                    let said = if how == "drop" { "does not exist" } else { "create it again empty" };
                    assert!(run.stderr.contains(said), "{case}: {}", run.stderr);
                    if pool_db_exists(&s, lost) {
                        empty_pool_db(&s, lost);
                    } else {
                        create_empty_pool_db(&s, lost);
                    }
                    s.c(&repair(good_side, false)).ok();
                }
                assert_eq!(rooms_served(&s).expect("served"), *rooms, "{case}");
                assert_eq!(rooms_in(&s, lost), *rooms, "{case}: rebuilt copy");
                assert_eq!(state(&s, "InSync"), "True", "{case}");
                s.c(r#"new_cs_persistent_chat_room(#{Name: "Next", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"})"#)
                    .ok();
            }
        }
    }
}

/// Item 2 as reported: with the pool failed over, the backup file is deleted. Reads fail naming
/// the file and the command; fail-back does not call an empty backup "in sync" and copy it.
#[test]
fn item2_the_reported_sequence_keeps_every_room() {
    let (s, rooms) = with_rooms(20);
    let over = format!("{}/scripts/fail_over.rhai", common::ROOT);
    let back = format!("{}/scripts/fail_back.rhai", common::ROOT);
    s.run(&["run", &over, "--arg", "pool=pc01.contoso.com"]).ok();
    if s.is_postgres() {
        return reported_sequence_on_postgres(&s, &rooms, &back);
    }
    std::fs::remove_file(pool_file(&s, "sql02")).expect("delete backup");
    let err = rooms_served(&s).expect_err("an empty pool must not be served");
    assert!(err.contains("sql02.contoso.com-rtc.db is missing"), "{err}");
    assert!(err.contains(r#"repair_cs_persistent_chat_database(#{Identity: \"PersistentChatServer:pc01.contoso.com\", Source: \"Primary\"})"#) || err.contains(r#"Source: "Primary""#), "{err}");
    assert!(!pool_file(&s, "sql02").exists(), "no read recreates the file");
    fail_back_returns_to_the_primary_and_rebuilds_the_backup(&s, &back, &rooms);
}

/// The fail-back runbook, its serving backup lost: it returns to the primary and rebuilds the
/// backup from it, every room in both.
fn fail_back_returns_to_the_primary_and_rebuilds_the_backup(s: &Store, back: &str, rooms: &BTreeSet<String>) {
    let run = s.run(&["run", back, "--arg", "pool=pc01.contoso.com"]).ok();
    assert!(
        run.stdout.contains("The serving backup sql02.contoso.com\\rtc is lost: return to the primary"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[6] Verify: state Normal, served from sql01.contoso.com\\rtc, in sync true"),
        "{}",
        run.stdout
    );
    assert_eq!(rooms_served(s).expect("served"), *rooms);
    assert_eq!(rooms_in(s, "sql02"), *rooms);
}

/// PostgreSQL: the serving backup's database is dropped. Reads fail naming it, and none creates
/// it; the fail-back refuses until it exists (pchat creates no database, and a repair fills an
/// empty one only), saying so; once a DBA created it empty, the fail-back returns to the primary
/// and rebuilds the backup from it.
fn reported_sequence_on_postgres(s: &Store, rooms: &BTreeSet<String>, back: &str) {
    use common::damage::{create_empty_pool_db, lose_pool_db, pool_db_exists, pool_name};
    lose_pool_db(s, "sql02");
    let err = rooms_served(s).expect_err("an empty pool must not be served");
    assert!(err.contains(&pool_name(s, "sql02")) && err.contains("does not exist"), "{err}");
    assert!(!pool_db_exists(s, "sql02"), "no read creates the database");
    let run = s.run(&["run", back, "--arg", "pool=pc01.contoso.com"]);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    assert!(!pool_db_exists(s, "sql02"));
    assert_eq!(rooms_in(s, "sql01"), *rooms, "the primary is untouched");
    create_empty_pool_db(s, "sql02");
    fail_back_returns_to_the_primary_and_rebuilds_the_backup(s, back, rooms);
}

/// A room created while failed over lives only in the backup: losing the backup loses it, and
/// the way back says so and needs Force.
#[test]
fn item2_returning_to_the_primary_without_the_backup_needs_force_and_names_the_loss() {
    let (s, rooms) = with_rooms(5);
    s.c(&set_state("FailedOver")).ok();
    s.c(r#"new_cs_persistent_chat_room(#{Name: "OnlyInBackup", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"})"#).ok();
    if s.is_postgres() {
        // The backup's database restored empty (dropped and created again as the docs say).
        common::damage::empty_pool_db(&s, "sql02");
    } else {
        damage(&pool_file(&s, "sql02"), "truncate");
    }
    let before = file_states(&s);
    let run = s.c(&repair("Primary", false));
    let line = single_error_line(&run);
    assert!(
        line.contains("would lose data: the pool is at change 7 of generation 2 but the source holds change 6"),
        "{line}"
    );
    assert_eq!(file_states(&s), before, "a refused repair changes nothing");
    let run = s.c(&repair("Primary", true)).ok();
    assert!(run.stderr.contains("WARNING: the pool is at change 7"), "{}", run.stderr);
    assert_eq!(state(&s, "PoolState"), "Normal");
    assert_eq!(rooms_served(&s).expect("served"), rooms);
    // The counter moved past the dropped change: an old copy of the backup can never pass.
    assert_eq!(state(&s, "Change"), "8");
}

/// Item 3: reads and `--what-if` change no file (SQLite's -shm index excepted), and take no copy:
/// on a store whose backup is behind, and on one whose backup is missing. Runs on both backends
/// (PCHAT_TEST_BACKEND): on PostgreSQL the backup's rows from before the change are put back, and
/// the missing backup is a dropped database (a stopped server: tests/it/pg_failover.rs).
#[test]
fn item3_reads_and_what_if_change_no_file() {
    let (s, _) = with_rooms(10);
    let rows = s.is_postgres().then(|| s.copy_db("sql02").save());
    let bytes = (!s.is_postgres()).then(|| std::fs::read(pool_file(&s, "sql02")).expect("backup bytes"));
    s.c(
        r#"new_cs_persistent_chat_room(#{Name: "Late", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"})"#,
    )
    .ok();
    // As if the backup had not committed.
    match (&rows, &bytes) {
        (Some(rows), _) => s.copy_db("sql02").restore(rows),
        (_, Some(bytes)) => std::fs::write(pool_file(&s, "sql02"), bytes).expect("put the bytes back"),
        _ => unreachable!("saved one way"),
    }
    let reads = [
        "get_cs_persistent_chat_state()",
        r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
        "get_cs_persistent_chat_category()",
        "get_cs_persistent_chat_addin()",
        "get_cs_service()",
    ];
    let changes = [set_state("FailedOver"), set_state("Normal"), repair("Primary", false), repair("Backup", true)];
    for round in ["backup behind", "backup missing"] {
        let before = file_states(&s);
        for read in reads {
            s.c(read).ok();
            s.run(&["--what-if", "-c", read]).ok();
        }
        for change in &changes {
            let _ = s.run(&["--what-if", "-c", change]);
        }
        let _ = s.run(&[
            "--what-if",
            "run",
            &format!("{}/scripts/fail_over.rhai", common::ROOT),
            "--arg",
            "pool=pc01.contoso.com",
        ]);
        assert_eq!(file_states(&s), before, "{round}: a read or a --what-if changed a file");
        if round == "backup behind" {
            // Deleted; on PostgreSQL dropped (no read or --what-if may create it again).
            common::damage::lose_pool_db(&s, "sql02");
        }
    }
    assert!(!common::damage::pool_db_exists(&s, "sql02"));
}

/// Item 6: a stale list in the process made Replace-then-Add keep the old list and two Swaps
/// undo nothing. Every change is seen at once, in the same script and in a fresh process.
#[test]
fn item6_active_server_changes_are_seen_at_once() {
    let s = Store::demo();
    let script = format!(
        r#"
let id = "{PC01}";
fn active(id) {{ get_cs_persistent_chat_state(id)[0].ActiveServers }}
set_cs_persistent_chat_active_server(id, #{{ActiveServers: #{{Replace: ["pcsrv03.contoso.com"]}}}});
print(`replace ${{active(id)}}`);
set_cs_persistent_chat_active_server(id, #{{ActiveServers: #{{Add: "pcsrv04.contoso.com"}}}});
print(`add ${{active(id)}}`);
set_cs_persistent_chat_active_server(id, #{{Swap: true}});
print(`swap ${{active(id)}}`);
set_cs_persistent_chat_active_server(id, #{{Swap: true}});
print(`swap ${{active(id)}}`);
"#
    );
    let run = s.runbook("active.rhai", &script, &["--yes"]).ok();
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        [
            r#"replace ["pcsrv03.contoso.com"]"#,
            r#"add ["pcsrv03.contoso.com", "pcsrv04.contoso.com"]"#,
            r#"swap ["pcsrv01.contoso.com", "pcsrv02.contoso.com"]"#,
            r#"swap ["pcsrv03.contoso.com", "pcsrv04.contoso.com"]"#,
        ]
    );
    assert_eq!(state(&s, "ActiveServers").replace('\n', ","), "pcsrv03.contoso.com,pcsrv04.contoso.com");
    let run =
        s.run(&["run", &format!("{}/scripts/fail_over.rhai", common::ROOT), "--arg", "pool=pc01.contoso.com"]).ok();
    assert!(run.stdout.contains(r#"active ["pcsrv01.contoso.com", "pcsrv02.contoso.com"]"#), "{}", run.stdout);
}

/// Item 7: the fail-over runbook is for a damaged primary; with the serving backup damaged, the
/// fail-back runbook returns to the intact primary.
#[test]
fn item7_the_runbooks_handle_a_damaged_primary_and_a_damaged_serving_backup() {
    let over = format!("{}/scripts/fail_over.rhai", common::ROOT);
    let back = format!("{}/scripts/fail_back.rhai", common::ROOT);
    let (template, rooms) = with_rooms(15);
    if template.is_postgres() {
        return item7_on_postgres(&template, &rooms, &over, &back);
    }
    for how in ["delete", "corrupt-header"] {
        let s = template.copy();
        damage(&pool_file(&s, "sql01"), how);
        let run = s.run(&["run", &over, "--arg", "pool=pc01.contoso.com"]).ok();
        assert!(
            run.stdout.contains("[5] Verify: state FailedOver, served from sql02.contoso.com\\rtc"),
            "{how}: {}",
            run.stdout
        );
        assert_eq!(rooms_served(&s).expect("served"), rooms, "{how}");
        // Back again: the runbook rebuilds the lost primary from the backup first.
        let run = s.run(&["run", &back, "--arg", "pool=pc01.contoso.com"]).ok();
        assert!(run.stdout.contains("Rebuild the lost primary sql01.contoso.com\\rtc"), "{how}: {}", run.stdout);
        assert!(run.stdout.contains("in sync true"), "{how}: {}", run.stdout);
        assert_eq!(rooms_in(&s, "sql01"), rooms, "{how}");

        let s = template.copy();
        s.run(&["run", &over, "--arg", "pool=pc01.contoso.com"]).ok();
        damage(&pool_file(&s, "sql02"), how);
        let run = s.run(&["run", &back, "--arg", "pool=pc01.contoso.com"]).ok();
        assert!(run.stdout.contains("is lost: return to the primary"), "{how}: {}", run.stdout);
        assert_eq!(rooms_served(&s).expect("served"), rooms, "{how}");
        assert_eq!(rooms_in(&s, "sql02"), rooms, "{how}: the backup is rebuilt");
    }
}

/// PostgreSQL: a pool database dropped, or damaged (its identity row not the one recorded). The
/// fail-over runbook serves the pool from the other copy; the fail-back refuses to rebuild the
/// lost one until a DBA does what its error says (pchat creates no database, and a repair fills
/// an empty one only), then rebuilds it and returns to the primary.
fn item7_on_postgres(template: &Store, rooms: &BTreeSet<String>, over: &str, back: &str) {
    use common::damage::{create_empty_pool_db, damage_pool_db, empty_pool_db, lose_pool_db};
    let hurt = |s: &Store, instance: &str, how: &str| match how {
        "drop" => lose_pool_db(s, instance),
        _ => damage_pool_db(s, instance),
    };
    // What the refusal says to do, done: create the dropped database, or drop the damaged one
    // and create it again empty.
    let follow_the_advice = |s: &Store, instance: &str, how: &str, refused: &Run| {
        let said = if how == "drop" { "does not exist" } else { "create it again empty" };
        assert!(refused.stderr.contains(said), "{how}: {}", refused.stderr);
        match how {
            "drop" => create_empty_pool_db(s, instance),
            _ => empty_pool_db(s, instance),
        }
    };
    for how in ["drop", "damage"] {
        let s = template.copy();
        hurt(&s, "sql01", how);
        let run = s.run(&["run", over, "--arg", "pool=pc01.contoso.com"]).ok();
        assert!(
            run.stdout.contains("[5] Verify: state FailedOver, served from sql02.contoso.com\\rtc"),
            "{how}: {}",
            run.stdout
        );
        assert_eq!(rooms_served(&s).expect("served"), *rooms, "{how}");
        let refused = s.run(&["run", back, "--arg", "pool=pc01.contoso.com"]);
        assert_ne!(refused.code, 0, "{how}: {}", refused.stdout);
        assert_eq!(rooms_served(&s).expect("still served"), *rooms, "{how}");
        follow_the_advice(&s, "sql01", how, &refused);
        let run = s.run(&["run", back, "--arg", "pool=pc01.contoso.com"]).ok();
        assert!(run.stdout.contains("Rebuild the lost primary sql01.contoso.com\\rtc"), "{how}: {}", run.stdout);
        assert!(run.stdout.contains("in sync true"), "{how}: {}", run.stdout);
        assert_eq!(rooms_in(&s, "sql01"), *rooms, "{how}");

        let s = template.copy();
        s.run(&["run", over, "--arg", "pool=pc01.contoso.com"]).ok();
        hurt(&s, "sql02", how);
        let refused = s.run(&["run", back, "--arg", "pool=pc01.contoso.com"]);
        assert_ne!(refused.code, 0, "{how}: {}", refused.stdout);
        assert_eq!(rooms_in(&s, "sql01"), *rooms, "{how}: the primary is untouched");
        follow_the_advice(&s, "sql02", how, &refused);
        let run = s.run(&["run", back, "--arg", "pool=pc01.contoso.com"]).ok();
        assert!(run.stdout.contains("is lost: return to the primary"), "{how}: {}", run.stdout);
        assert_eq!(rooms_served(&s).expect("served"), *rooms, "{how}");
        assert_eq!(rooms_in(&s, "sql02"), *rooms, "{how}: the backup is rebuilt");
    }
}

/// kill -9 at each step of fail-over, fail-back and repair: afterwards the pool is in its old or
/// its new state, every room is there, and at most one repair command (never a read) brings both
/// copies back in sync. Runs on both backends (PCHAT_TEST_BACKEND). The lost backup a repair
/// rebuilds is a corrupt file on SQLite (killed also between building its file and renaming it
/// into place), and on PostgreSQL a database restored empty (killed also at each step of the
/// two-phase commit that fills it).
#[test]
fn a_kill_at_each_step_loses_nothing() {
    let (template, rooms) = with_rooms(200);
    let failed_over = template.copy();
    failed_over.c(&set_state("FailedOver")).ok();
    let lost_backup = {
        let s = template.copy();
        s.c(&set_state("FailedOver")).ok();
        if s.is_postgres() {
            common::damage::empty_pool_db(&s, "sql02");
        } else {
            damage(&pool_file(&s, "sql02"), "corrupt-header");
        }
        s
    };
    let mut cases: Vec<(&Store, &str, String)> = vec![
        (&template, "failover:checked", set_state("FailedOver")),
        (&template, "failover:written", set_state("FailedOver")),
        (&template, "committed", set_state("FailedOver")),
        (&failed_over, "failback:checked", set_state("Normal")),
        (&failed_over, "failback:copied", set_state("Normal")),
        (&failed_over, "failback:written", set_state("Normal")),
        (&failed_over, "committed", set_state("Normal")),
        (&template, "repair:checked", repair("Primary", false)),
        (&template, "repair:copied", repair("Primary", false)),
        (&template, "repair:written", repair("Backup", false)),
    ];
    let rebuild_steps: &[&str] = if template.is_postgres() {
        &[
            "repair:checked",
            "pg-2pc-prepared-first",
            "pg-2pc-prepared-all",
            "pg-2pc-decided",
            "pg-2pc-committed-first",
            "repair:written",
            "committed",
        ]
    } else {
        &["repair:checked", "repair:built", "repair:renamed", "repair:written", "committed"]
    };
    cases.extend(rebuild_steps.iter().map(|step| (&lost_backup, *step, repair("Primary", false))));
    for (base, step, code) in cases {
        let s = base.copy();
        let run = finish(spawn(&s, &format!("{step}:kill"), &code));
        assert_ne!(run.code, 0, "{step}: not killed");
        assert!(run.stderr.contains(&format!("pchat-fault: killed at {step}")), "{step}: {}", run.stderr);
        let statuses = s.c(&format!(r#"let x = get_cs_persistent_chat_state("{PC01}")[0]; `${{x.PoolState}} ${{x.PrimaryStatus}} / ${{x.BackupStatus}}`"#)).ok();
        let statuses = statuses.stdout.trim().to_string();
        if !statuses.ends_with("Current / Current") {
            // The copy the pool is served from is the one to keep.
            let source = if statuses.starts_with("FailedOver") && !statuses.contains("/ Unavailable") {
                "Backup"
            } else {
                "Primary"
            };
            let run = s.c(&repair(source, false));
            assert_eq!(run.code, 0, "{step} ({statuses}): {}", run.stderr);
        }
        assert_eq!(rooms_served(&s).expect("served"), rooms, "{step}");
        assert_eq!(rooms_in(&s, "sql01"), rooms, "{step}");
        assert_eq!(rooms_in(&s, "sql02"), rooms, "{step}");
        assert_eq!(state(&s, "InSync"), "True", "{step}");
    }
}

/// Files a pool needs are never made by opening the store: only by publishing a topology (a new
/// SQL instance) or by a repair.
#[test]
fn opening_the_store_never_creates_a_pool_file() {
    let s = Store::demo();
    if s.is_postgres() {
        return opening_the_store_never_creates_a_pool_database(&s);
    }
    std::fs::remove_file(pool_file(&s, "sql03")).expect("delete");
    s.c("get_cs_persistent_chat_state().len()").ok();
    let _ = s.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc02.contoso.com"})"#);
    assert!(!pool_file(&s, "sql03").exists());
    // Publishing the same topology again does not recreate it either: the instance keeps its file.
    s.c(&format!(r#"publish_cs_topology("{}/scripts/demo/topology.json")"#, common::ROOT)).ok();
    assert!(!pool_file(&s, "sql03").exists());
    // A file put in its place that pchat did not create for that instance is refused.
    std::fs::copy(pool_file(&s, "sql01"), pool_file(&s, "sql03")).expect("copy");
    let run = s.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc02.contoso.com"})"#);
    assert!(
        single_error_line(&run).contains("is not the one pchat created for sql03.contoso.com\\rtc"),
        "{}",
        run.stderr
    );
}

/// PostgreSQL: a pool database dropped (by a DBA) is never created again by opening the store,
/// nor by publishing the same topology; the error says it does not exist and gives the CREATE
/// DATABASE line; a database put in its place that is another pool database (a copy of sql01's)
/// is refused, not served.
fn opening_the_store_never_creates_a_pool_database(s: &Store) {
    use common::damage::{lose_pool_db, pool_db_exists, pool_location, pool_name};
    lose_pool_db(s, "sql03");
    s.c("get_cs_persistent_chat_state().len()").ok();
    let run = s.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc02.contoso.com"})"#);
    assert_ne!(run.code, 0);
    let line = single_error_line(&run);
    assert!(line.contains(&pool_name(s, "sql03")) && line.contains("does not exist"), "{line}");
    assert!(!pool_db_exists(s, "sql03"));
    s.c(&format!(r#"publish_cs_topology("{}")"#, s.demo_topology())).ok();
    assert!(!pool_db_exists(s, "sql03"));
    // A database put in its place that pchat did not make for that instance is refused.
    let copy_of = |from: &str, to: &str| {
        let (from, to) = (pool_location(s, from), pool_location(s, to));
        let admin = format!("{}/postgres", to.rsplit_once('/').expect("a URL").0);
        common::pg::connect(&admin)
            .batch_execute(&format!(
                "CREATE DATABASE \"{}\" TEMPLATE \"{}\"",
                common::pg::database_name(&to),
                common::pg::database_name(&from)
            ))
            .expect("copy a database");
    };
    copy_of("sql01", "sql03");
    let run = s.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc02.contoso.com"})"#);
    assert_ne!(run.code, 0);
    let line = single_error_line(&run);
    assert!(line.contains("is not the pool database pchat made for sql03.contoso.com\\rtc"), "{line}");
}

/// A repair killed while its new file is built leaves `<file>.rebuilding`: the next command that
/// may write removes it (a partial copy of the untouched source), and says so; a command under
/// --what-if leaves it; a file another store's repair is building is never touched.
#[test]
fn a_killed_repairs_rebuilding_file_is_removed_by_the_next_writer_only_if_it_is_this_stores() {
    let (template, rooms) = with_rooms(5);
    if template.is_postgres() {
        return a_killed_repair_on_postgres(&template, &rooms);
    }
    damage(&pool_file(&template, "sql02"), "corrupt-header");
    let s = template.copy();
    let run = finish(spawn(&s, "repair:built:kill", &repair("Primary", false)));
    assert!(run.stderr.contains("pchat-fault: killed at repair:built"), "{}", run.stderr);
    let building = PathBuf::from(format!("{}.rebuilding", pool_file(&s, "sql02").display()));
    assert!(building.exists(), "the kill left the file being built");

    let looked = s.run(&["--what-if", "-c", "()"]).ok();
    assert!(building.exists(), "--what-if writes nothing: {}", looked.stderr);
    let next = s.c("()").ok();
    assert!(next.stderr.contains("removed") && next.stderr.contains(".rebuilding"), "{}", next.stderr);
    for suffix in ["", "-wal", "-shm"] {
        assert!(!PathBuf::from(format!("{}{suffix}", building.display())).exists(), "{suffix}");
    }
    s.c(&repair("Primary", false)).ok();
    assert_eq!(rooms_in(&s, "sql02"), rooms);

    // Another store's file of the same name (two stores in one folder): left alone, said so.
    let other = Store::empty();
    let theirs = other.dir.path().join("pool.db");
    other.c("()").ok();
    let building = PathBuf::from(format!("{}.rebuilding", pool_file(&s, "sql02").display()));
    std::fs::copy(pool_file(&template, "sql01"), &theirs).expect("copy");
    Connection::open(&theirs).expect("open").execute("UPDATE pool_file SET store = 'another'", []).expect("owner");
    std::fs::copy(&theirs, &building).expect("copy");
    let next = s.c("()").ok();
    assert!(next.stderr.contains("left alone"), "{}", next.stderr);
    assert!(building.exists());
}

/// PostgreSQL: a repair rebuilds into an empty database (restored empty), in its transaction
/// there: killed with that transaction prepared (the pool schema and rows made, no decision), it
/// leaves a prepared branch, never served; the next command's recovery rolls it back, so the
/// database is empty again and the repair can run. A database holding another store's pool
/// schema is never a repair's to fill.
fn a_killed_repair_on_postgres(template: &Store, rooms: &BTreeSet<String>) {
    use common::damage::empty_pool_db;
    empty_pool_db(template, "sql02");
    let s = template.copy();
    let tables = "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()";
    let prepared = "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()";
    let run = finish(spawn(&s, "pg-2pc-prepared-all:kill", &repair("Primary", false)));
    assert!(run.stderr.contains("pchat-fault: killed at pg-2pc-prepared-all"), "{}", run.stderr);
    assert_eq!(s.count(Some("sql02.contoso.com\\rtc"), prepared), 1, "the kill left the rebuild prepared");
    assert_eq!(s.count(Some("sql02.contoso.com\\rtc"), tables), 0, "and unseen");

    // --what-if writes nothing; a command reaching the pool's databases resolves the branch.
    s.run(&["--what-if", "-c", "()"]).ok();
    assert_eq!(s.count(Some("sql02.contoso.com\\rtc"), prepared), 1);
    let next = s.c("get_cs_persistent_chat_state().len()").ok();
    assert_eq!(s.count(Some("sql02.contoso.com\\rtc"), prepared), 0, "{}", next.stderr);
    assert_eq!(s.count(Some("sql02.contoso.com\\rtc"), tables), 0);
    s.c(&repair("Primary", false)).ok();
    assert_eq!(rooms_in(&s, "sql02"), *rooms);

    // Another store's pool database in its place: left alone, said so.
    s.copy_db("sql02").execute("UPDATE pool_file SET store = 'another'", &[]);
    let before = s.copy_db("sql02").every_row();
    let run = s.c(&repair("Primary", false));
    let line = single_error_line(&run);
    assert!(line.contains("belongs to another store") && line.ends_with("nothing was changed"), "{line}");
    assert_eq!(s.copy_db("sql02").every_row(), before);
}

/// A backup with one of pchat's tables dropped (PostgreSQL), or pages overwritten (SQLite): a
/// change to its pool is refused with advice that then works, word for word. On PostgreSQL the
/// repair fills an empty database only, so the advice drops and creates it first; it never says
/// to fail over (that would serve the broken copy).
#[test]
fn a_damaged_backups_refusal_advises_what_then_works() {
    let s = Store::examples();
    let set = r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Description: "after"})"#;
    common::damage::break_pool_db_table(&s, "sql02");
    let run = s.c(set);
    assert_ne!(run.code, 0, "{}", run.stdout);
    let line = single_error_line(&run);
    assert!(line.contains("changes would not reach it (rebuild it: "), "{line}");
    assert!(!line.contains("fail the pool over"), "{line}");
    let repair = r#"repair_cs_persistent_chat_database(#{Identity: "PersistentChatServer:pc01.contoso.com", Source: "Primary"})"#;
    assert!(line.contains(repair), "{line}");
    if s.is_postgres() {
        assert!(line.contains("rebuild it: drop the database, have it created with CREATE DATABASE"), "{line}");
        common::damage::empty_pool_db(&s, "sql02");
    }
    s.run(&["--yes", "-c", repair]).ok();
    s.c(set).ok();
    let state = s.c(r#"get_cs_persistent_chat_state("pc01.contoso.com").InSync"#).ok();
    assert_eq!(state.stdout.trim(), "True");
}
