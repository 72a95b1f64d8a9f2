//! On PostgreSQL, the calls that run alone (an atomic run, a fail-over, a publish) wait for the
//! writers at work instead of failing, and writers wait for them: no conflict reaches the user
//! (design notes §4; docs/failover.md, docs/atomic-and-plan.md). Processes are held at fault
//! points (`PCHAT_FAULT=<step>:pause:<file>`) and the waits are seen in `pg_locks`, as in
//! pg_failover.rs. Skipped without PostgreSQL unless `PCHAT_PG_REQUIRED` is set.

use std::io::{BufReader, Read};
use std::process::Stdio;

use crate::common::INSTANCES;
use crate::common::Run;
use crate::common::held::{Held, read_until, until_a_change_is_waited_for, until_a_writer_waits};
use crate::common::pg::Server;
use crate::postgres::{Pg, count, on_postgres};

const FAIL_OVER: &str =
    r#"set_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com", #{PoolState: "FailedOver"})"#;

fn room_code(name: &str, pool: &str, category: &str) -> String {
    format!(
        r#"new_cs_persistent_chat_room(#{{Name: "{name}", PersistentChatPoolFqdn: "{pool}", Category: "{category}"}})"#
    )
}

/// Whether some pool database holds room `name`.
fn has_room(pg: &Pg, name: &str) -> bool {
    pg.pools.iter().any(|url| count(url, &format!("SELECT count(*) FROM rooms WHERE name = '{name}'")) > 0)
}

/// An atomic block that created a room in pc01, held before its commit: the store's writers'
/// lock is its own. A fail-over of pc01 waits for it past the session's lock timeout (5 s,
/// which used to end it with "another session changed the same objects"): it is seen to start
/// a second slice of its wait. Once the block commits, the fail-over runs and succeeds.
#[test]
fn a_fail_over_started_while_an_atomic_block_holds_the_store_waits_for_its_commit() {
    let Some(server) = Server::shared("a_fail_over_started_while_an_atomic_block_holds_the_store_waits") else {
        return;
    };
    let pg = on_postgres(server, "turns_fo");
    let held = atomic_block_held_before_commit(&pg, "Atom");

    // The pause file exists: each slice of the wait is only reported, not held.
    let seen = tempfile::NamedTempFile::new().unwrap();
    let mut failover = pg
        .command(&["-c", FAIL_OVER])
        .env("PCHAT_FAULT", format!("alone:waited:pause:{}", seen.path().display()))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(failover.stderr.take().unwrap());
    read_until(&mut stderr, "pchat-fault: reached alone:waited");
    held.release();
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    let status = failover.wait().unwrap();
    assert!(status.success(), "fail-over: {rest}");
    assert!(!rest.contains("another session"), "{rest}");
    let state: String = crate::common::pg::connect(&pg.central)
        .query_one("SELECT state FROM pools WHERE fqdn = 'pc01.contoso.com'", &[])
        .unwrap()
        .get(0);
    assert_eq!(state, "FailedOver");
    let [primary, backup] = pg.copies();
    for url in [primary, backup] {
        assert_eq!(count(url, "SELECT count(*) FROM rooms WHERE name = 'Atom'"), 1, "{url}");
    }
}

/// An atomic block in pool pc01 and an ordinary writer in pool pc02: the writer waits for the
/// block (which holds every writer, as on SQLite) instead of aborting its commit, and both land.
#[test]
fn an_atomic_block_in_one_pool_and_a_writer_in_another_both_succeed() {
    let Some(server) = Server::shared("an_atomic_block_in_one_pool_and_a_writer_in_another_both_succeed") else {
        return;
    };
    let pg = on_postgres(server, "turns_at");
    let held = atomic_block_held_before_commit(&pg, "AtomPc01");
    let writer = pg
        .command(&["-c", &room_code("OtherPc02", "pc02.contoso.com", "Sales")])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    until_a_writer_waits(&pg.central);
    assert!(!has_room(&pg, "OtherPc02"), "the writer committed during the atomic block");
    held.release();
    let written = Run::from(writer.wait_with_output().unwrap()).ok();
    assert!(written.stderr.is_empty(), "{}", written.stderr);
    assert!(has_room(&pg, "AtomPc01") && has_room(&pg, "OtherPc02"));
}

/// Publish-CsTopology of the store's own topology while a piped writer is at work (held between
/// its items): the publish waits for it, runs alone, and succeeds; the writer's change lands.
#[test]
fn publish_while_writers_are_at_work_waits_for_them_and_succeeds() {
    let Some(server) = Server::shared("publish_while_writers_are_at_work_waits_for_them_and_succeeds") else {
        return;
    };
    let pg = on_postgres(server, "turns_pub");
    let mut doc: serde_json::Value = serde_json::from_str(include_str!("../../scripts/demo/topology.json")).unwrap();
    for (instance, url) in doc["SqlInstances"].as_array_mut().unwrap().iter_mut().zip(&pg.pools) {
        assert!(INSTANCES.iter().any(|i| instance["Identity"] == *i));
        instance["Connection"] = url.as_str().into();
    }
    let file = pg.source.dir.path().join("topology.json");
    std::fs::write(&file, serde_json::to_string_pretty(&doc).unwrap()).unwrap();

    let piped = r#"get_cs_persistent_chat_room().set_cs_persistent_chat_room(#{Description: "piped"}); "done""#;
    let held = Held::at(pg.command(&["-c", piped]), "pipeline-item");
    let publish = pg
        .command(&["-c", &format!("publish_cs_topology({:?}); \"published\"", file.to_string_lossy())])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    until_a_writer_waits(&pg.central);
    held.release();
    let published = Run::from(publish.wait_with_output().unwrap()).ok();
    assert!(published.stdout.contains("published"), "{}", published.stderr);
    assert!(!published.stderr.contains("another session"), "{}", published.stderr);
    let changed = pg.c(r#"get_cs_persistent_chat_room().filter(|r| r.Description != "piped").len()"#).ok();
    assert_eq!(changed.stdout.trim(), "0", "the piped writer's change was lost");
}

/// A fail-over waiting for an atomic block is ended by Ctrl-C: exit 130, nothing changed (the
/// pool stays Normal), and the block then commits.
#[test]
fn ctrl_c_ends_a_fail_over_waiting_for_the_writers() {
    let Some(server) = Server::shared("ctrl_c_ends_a_fail_over_waiting_for_the_writers") else { return };
    let pg = on_postgres(server, "turns_int");
    let held = atomic_block_held_before_commit(&pg, "AtomInt");
    let failover = spawn_fail_over(&pg);
    until_a_writer_waits(&pg.central);
    // SAFETY: kill(2) on the pid of a child this test spawned and has not waited for.
    assert_eq!(unsafe { libc::kill(failover.id() as libc::pid_t, libc::SIGINT) }, 0);
    let stopped = Run::from(failover.wait_with_output().unwrap());
    assert_eq!(stopped.code, 130, "{}", stopped.stderr);
    assert!(stopped.stderr.contains("interrupted (Ctrl-C)"), "{}", stopped.stderr);
    held.release();
    let state: String = crate::common::pg::connect(&pg.central)
        .query_one("SELECT state FROM pools WHERE fqdn = 'pc01.contoso.com'", &[])
        .unwrap()
        .get(0);
    assert_eq!(state, "Normal");
    assert!(has_room(&pg, "AtomInt"));
}

/// A writer between its decision (the central COMMIT) and its `COMMIT PREPARED`s, and a fail-over
/// of the same pool, which runs alone: before it reads a copy it waits for that writer's branch
/// (the writer's advisory lock, released as soon as its branches are committed), so it finds the
/// copy in step at its first attempt. The writer's next change then waits for the fail-over.
/// When the lock was kept until the writer's next change (stop 27's deferral), that change waited
/// for the fail-over's lock and the fail-over for the writer's: both held until the lock timeout,
/// and a call retried (the four-writer acceptance run lost calls to such windows).
#[test]
fn a_call_running_alone_waits_for_a_change_being_completed_and_needs_no_retry() {
    let Some(server) = Server::shared("a_call_running_alone_waits_for_a_change_being_completed") else {
        return;
    };
    let pg = on_postgres(server, "turns_drain");
    let set =
        |d: &str| format!(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{{Description: "{d}"}})"#);
    let writer = Held::at(pg.command(&["-c", &format!("{}; {}", set("first"), set("second"))]), "pg-2pc-decided");
    let failover = spawn_fail_over(&pg);
    // The fail-over waits for the writer's branch, on its advisory lock.
    until_a_change_is_waited_for(&pg.central);
    writer.release();
    let out = failover.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "fail-over: {stderr}");
    assert!(!stderr.contains("retried"), "the fail-over needed no second attempt: {stderr}");
    // The first change reached both copies before the fail-over; the second, after it, the
    // backup that now serves the pool.
    let [primary, backup] = pg.copies();
    let q = |d: &str| format!("SELECT count(*) FROM rooms WHERE name = 'FinanceRoom' AND description = '{d}'");
    assert_eq!(count(primary, &q("first")), 1, "{primary}");
    assert_eq!(count(backup, &q("second")), 1, "{backup}");
}

/// The fail-over of pc01, started (standard output and error piped).
fn spawn_fail_over(pg: &Pg) -> std::process::Child {
    pg.command(&["-c", FAIL_OVER]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap()
}

/// An atomic block creating room `name` in pc01, held before its commit (it holds the store's
/// writers' lock).
fn atomic_block_held_before_commit(pg: &Pg, name: &str) -> Held {
    let atomic = format!(r#"atomic(|| {{ {}; }}); "done""#, room_code(name, "pc01.contoso.com", "Finance"));
    Held::at(pg.command(&["-c", &atomic]), "atomic:before-commit")
}
