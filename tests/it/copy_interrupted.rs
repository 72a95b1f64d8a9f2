//! `pchat copy-store` ended before it finished (docs/command-line.md, "When a copy is
//! interrupted"): killed (a fault point's abort, as `kill -9`) or stopped by one signal, in both
//! directions. What it leaves is refused as what it is when opened, never written by a read, and
//! cleared by what the messages say (into PostgreSQL) or by the next copy-store (into SQLite).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::held::Held;
use crate::common::pg::{Server, connect, database_name};
use crate::common::pg_copy::copy_store_command;
use crate::common::{self, Run};
use crate::copy_store::{args, copy_store, demo, on_postgres, pg_dump, pool_flags};

/// `pchat --db DB` reading the rooms (a read: it must write nothing).
fn read(db: &str) -> Run {
    let mut cmd = common::pchat();
    cmd.args(["--db", db, "-c", "get_cs_persistent_chat_room().len()"]).env_remove("PCHAT_DB");
    if db.starts_with("postgres://") {
        // A PostgreSQL run's own texts are not the inventory's (tests/it/postgres.rs).
        cmd.env_remove("PCHAT_SQL_INVENTORY");
    }
    Run::from(cmd.output().expect("pchat runs"))
}

/// A copy-store run with `PCHAT_FAULT=<step>:kill` (ended by abort, as a kill would end it).
fn killed_at(step: &str, args: &[&str]) -> Run {
    let run = Run::from(
        copy_store_command(&[&["copy-store"], args].concat())
            .env("PCHAT_FAULT", format!("{step}:kill"))
            .output()
            .expect("pchat runs"),
    );
    assert!(run.stderr.contains(&format!("pchat-fault: killed at {step}")), "{}", run.stderr);
    assert_ne!(run.code, 0);
    run
}

/// The names in `dir` (SQLite's -wal and -shm files aside), sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with("-wal") && !n.ends_with("-shm"))
        .collect();
    names.sort();
    names
}

/// Rows of `sql` (a count) in the database at `url`.
fn count(url: &str, sql: &str) -> i64 {
    connect(url).query_one(sql, &[]).unwrap().get(0)
}

/// The SQL of each `psql … -c '<SQL>'` line of a message, run on the server's `postgres`
/// database as the line says.
fn run_drop_commands(server: &Server, message: &str) -> usize {
    let mut ran = 0;
    for line in message.lines().map(str::trim).filter(|l| l.starts_with("psql ")) {
        let (server_part, sql) = line.split_once(" -c ").unwrap_or_else(|| panic!("{line}"));
        assert!(server_part.ends_with("/postgres'") || server_part.ends_with("/postgres"), "{line}");
        let sql = sql.trim_matches('\'');
        assert!(sql.starts_with("DROP DATABASE IF EXISTS \""), "{line}");
        connect(&server.url_of("postgres")).batch_execute(sql).unwrap_or_else(|e| panic!("{line}: {e}"));
        ran += 1;
    }
    ran
}

/// Killed after its first pool database committed: the central database is marked as an
/// incomplete copy. Opening it as a store, `--verify-only` and copying it back refuse it as
/// that, saying what to run, and write nothing (no store id, no seeding: the database is as the
/// kill left it). The same copy-store again, or one into another central database, names the pool
/// database the killed one filled as its leftover (not merely "not empty"), with the command that
/// drops it; run as said, the copy succeeds and the store opens.
#[test]
fn a_killed_copy_into_postgres_is_refused_as_incomplete_and_cleared_as_told() {
    let Some(server) = Server::shared("a_killed_copy_into_postgres_is_refused_as_incomplete_and_cleared_as_told")
    else {
        return;
    };
    let s = demo();
    let from = s.db().to_string_lossy().into_owned();
    let central = server.missing_database("killed_central");
    let pools = pool_flags(server, "killed");
    let copy = args(&from, &central, &pools);
    killed_at("copy-store:pool-committed", &copy);
    let pool_urls: Vec<&str> = pools.iter().map(|p| p.rsplit_once('=').unwrap().1).collect();
    let filled: Vec<&str> =
        pool_urls.iter().copied().filter(|u| count(u, "SELECT count(*) FROM pool_file") > 0).collect();
    assert_eq!(filled.len(), 1, "one pool database committed before the kill");
    assert_eq!(count(&central, "SELECT count(*) FROM pchat_copy_incomplete"), 1);
    let before = pg_dump(&central);

    let opened = read(&central);
    assert_ne!(opened.code, 0, "{}", opened.stdout);
    for said in ["is an incomplete copy", "was interrupted", "nothing was read or written", "pchat copy-store --from"] {
        assert!(opened.stderr.contains(said), "{said}: {}", opened.stderr);
    }
    assert!(
        opened.stderr.contains(&format!("DROP DATABASE IF EXISTS \"{}\"", database_name(&central))),
        "{}",
        opened.stderr
    );
    assert_eq!(pg_dump(&central), before, "a read of an incomplete copy wrote to it");
    assert_eq!(count(&central, "SELECT count(*) FROM meta"), 0, "no store id given");

    let mut verify = copy.clone();
    verify.push("--verify-only");
    let verified = copy_store(&verify);
    assert!(verified.code != 0 && verified.stderr.contains("is an incomplete copy"), "{}", verified.stderr);
    let dir = tempfile::tempdir().unwrap();
    let back = dir.path().join("back.db");
    let copied_back = copy_store(&["--from", &central, "--to", &back.to_string_lossy()]);
    assert!(copied_back.code != 0 && copied_back.stderr.contains("is an incomplete copy"), "{}", copied_back.stderr);
    assert!(listing(dir.path()).is_empty(), "{:?}", listing(dir.path()));
    assert_eq!(pg_dump(&central), before);

    // Into another central database with the same pool databases: the filled one is still named
    // as the interrupted copy's (its identity names that copy's marked central database).
    let elsewhere = server.missing_database("killed_elsewhere");
    let other = copy_store(&args(&from, &elsewhere, &pools));
    assert!(other.code != 0 && other.stderr.contains("rows an interrupted copy-store left"), "{}", other.stderr);
    assert!(other.stderr.contains(&database_name(filled[0])), "{}", other.stderr);
    assert!(server.databases_named(&database_name(&elsewhere)).is_empty(), "a refused copy made its central database");

    let again = copy_store(&copy);
    assert_ne!(again.code, 0);
    assert!(again.stderr.contains("rows an interrupted copy-store left"), "{}", again.stderr);
    assert!(!again.stderr.contains("is not empty"), "{}", again.stderr);
    assert!(
        again.stderr.contains(&format!("DROP DATABASE IF EXISTS \"{}\"", database_name(filled[0]))),
        "{}",
        again.stderr
    );
    assert_eq!(run_drop_commands(server, &again.stderr), 1, "{}", again.stderr);
    copy_store(&copy).ok();
    let opened = read(&central).ok();
    assert!(opened.stdout.trim().parse::<i64>().unwrap() > 0, "{}", opened.stdout);
    copy_store(&verify).ok();
}

/// One SIGINT or SIGTERM stops copy-store at any step, at once, with the signal's exit code: before
/// anything was created (nothing is), after every target was marked, and while tables are being
/// copied (the targets are left marked and empty, and the same command fills them). Copying back,
/// nothing is left at or beside the target. The source is never changed.
#[test]
fn one_signal_stops_copy_store_promptly_at_every_step() {
    let Some(server) = Server::shared("one_signal_stops_copy_store_promptly_at_every_step") else { return };
    let s = demo();
    let from = s.db().to_string_lossy().into_owned();
    let before = common::file_states(&s);
    let steps =
        [("copy-store:start", libc::SIGTERM), ("copy-store:marked", libc::SIGINT), ("copy-store:table", libc::SIGTERM)];
    for (i, (step, signal)) in steps.into_iter().enumerate() {
        let central = server.missing_database(&format!("stopped{i}_central"));
        let pools = pool_flags(server, &format!("stopped{i}"));
        let copy = args(&from, &central, &pools);
        let run = stopped(copy_store_command(&[&["copy-store"], &copy[..]].concat()), step, signal);
        if i == 0 {
            assert!(run.stderr.contains("nothing was created or written"), "{step}: {}", run.stderr);
            assert!(
                server.databases_named(&database_name(&central)).is_empty(),
                "{step}: the central database was made"
            );
            continue;
        }
        assert!(run.stderr.contains("marked as an incomplete copy"), "{step}: {}", run.stderr);
        assert!(run.stderr.contains("Run the same copy-store again"), "{step}: {}", run.stderr);
        let opened = read(&central);
        assert!(opened.code != 0 && opened.stderr.contains("is an incomplete copy"), "{step}: {}", opened.stderr);
        copy_store(&copy).ok();
        read(&central).ok();
    }
    assert_eq!(common::file_states(&s), before, "copy-store changed its source");

    let (_s, central, _) = on_postgres(server, "stopped_back");
    let source = pg_dump(&central);
    let steps =
        [("copy-store:start", libc::SIGINT), ("copy-back:staged", libc::SIGINT), ("copy-back:loaded", libc::SIGTERM)];
    for (step, signal) in steps {
        let dir = tempfile::tempdir().unwrap();
        let to = dir.path().join("pchat.db").to_string_lossy().into_owned();
        let run = stopped(copy_store_command(&["copy-store", "--from", &central, "--to", &to]), step, signal);
        let said = if step == "copy-store:start" { "nothing was created or written" } else { "no file was left at" };
        assert!(run.stderr.contains(said), "{step}: {}", run.stderr);
        assert!(listing(dir.path()).is_empty(), "{step}: {:?}", listing(dir.path()));
    }
    assert_eq!(pg_dump(&central), source, "copying back changed its source");
}

/// `cmd` held at `step`, sent `signal`, let go: it must end at once with the signal's exit code,
/// saying it was interrupted (not ended by the grace that follows a statement that does not stop).
fn stopped(cmd: std::process::Command, step: &str, signal: i32) -> Run {
    let held = Held::at(cmd, step);
    held.signal(signal);
    let started = Instant::now();
    let run = held.finish();
    let took = started.elapsed();
    assert_eq!(run.code, 128 + signal, "{step}: {}", run.stderr);
    assert!(took < Duration::from_secs(4) && !run.stderr.contains("did not stop within"), "{step}: {took:?}");
    let name = if signal == libc::SIGTERM { "interrupted (SIGTERM)" } else { "interrupted (Ctrl-C)" };
    assert!(run.stderr.contains(name), "{step}: {}", run.stderr);
    run
}

/// Copying back killed after the pool files were placed and before the central file: its one
/// staging folder and those pool files are left, and no central file (so nothing half-written
/// under the target's name). Opening the target says what was left and how to clear it, and
/// makes no store there; a second copy-store into it meanwhile is refused while the first runs;
/// the next copy-store removes the leftovers (and an earlier pchat's staging folder), saying so,
/// and copies. Killed before placing anything, only the staging folder is left, removed likewise;
/// killed after placing everything, the store opens, and the next copy-store removes the folder.
#[test]
fn a_killed_copy_back_is_reported_on_open_and_cleared_by_the_next_copy() {
    let Some(server) = Server::shared("a_killed_copy_back_is_reported_on_open_and_cleared_by_the_next_copy") else {
        return;
    };
    let (_s, central, _) = on_postgres(server, "killed_back");
    let dir = tempfile::tempdir().unwrap();
    let to: PathBuf = dir.path().join("pchat.db");
    let to_text = to.to_string_lossy().into_owned();
    let back = ["--from", central.as_str(), "--to", to_text.as_str()];
    killed_at("copy-back:pools-placed", &back);
    let left = listing(dir.path());
    assert!(left.contains(&".pchat.db.copy".to_string()) && !left.contains(&"pchat.db".to_string()), "{left:?}");
    assert_eq!(left.len(), 1 + crate::common::INSTANCES.len(), "the staging folder and the pool files: {left:?}");

    let opened = read(&to_text);
    assert_ne!(opened.code, 0);
    let said = ["there is no store at", "was interrupted", ".pchat.db.copy", "rm -r", "sql01.contoso.com-rtc.db"];
    for said in said.into_iter().chain([format!("pchat copy-store --from {central} --to ").as_str()]) {
        assert!(opened.stderr.contains(said), "{said}: {}", opened.stderr);
    }
    assert_eq!(listing(dir.path()), left, "opening the target changed its folder");

    let older = dir.path().join(".pchat.db.copy-0123456789ab");
    std::fs::create_dir(&older).unwrap();
    std::fs::write(older.join("pchat.db"), "partial").unwrap();
    let again = copy_store(&back).ok();
    assert!(again.stderr.contains("removed what an interrupted copy-store into"), "{}", again.stderr);
    assert!(again.stderr.contains("(an earlier pchat's)"), "{}", again.stderr);
    let placed = listing(dir.path());
    assert_eq!(placed.len(), 1 + crate::common::INSTANCES.len(), "{placed:?}");
    assert!(placed.iter().all(|n| !n.starts_with('.')), "{placed:?}");
    read(&to_text).ok();

    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("pchat.db").to_string_lossy().into_owned();
    let back = ["--from", central.as_str(), "--to", to.as_str()];
    let held = Held::at(copy_store_command(&[&["copy-store"], &back[..]].concat()), "copy-back:staged");
    let second = copy_store(&back);
    assert!(second.code != 0 && second.stderr.contains("another copy-store into"), "{}", second.stderr);
    drop(held);
    killed_at("copy-back:loaded", &back);
    assert_eq!(listing(dir.path()), [".pchat.db.copy"]);
    let again = copy_store(&back).ok();
    assert!(again.stderr.contains("removed what an interrupted copy-store into"), "{}", again.stderr);
    assert!(listing(dir.path()).iter().all(|n| !n.starts_with('.')), "{:?}", listing(dir.path()));

    // Killed once every file was placed: the store is whole, its staging folder is left; the next
    // copy-store into it removes that folder, saying so, and refuses to write over the store.
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("pchat.db").to_string_lossy().into_owned();
    let back = ["--from", central.as_str(), "--to", to.as_str()];
    killed_at("copy-back:placed", &back);
    assert!(listing(dir.path()).contains(&".pchat.db.copy".to_string()), "{:?}", listing(dir.path()));
    read(&to).ok();
    let again = copy_store(&back);
    assert!(again.code != 0 && again.stderr.contains("already exists"), "{}", again.stderr);
    assert!(again.stderr.contains("removed what an interrupted copy-store into"), "{}", again.stderr);
    assert!(listing(dir.path()).iter().all(|n| !n.starts_with('.')), "{:?}", listing(dir.path()));
}
