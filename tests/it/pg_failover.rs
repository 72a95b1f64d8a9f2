//! Issue #18's fault acceptance for fail-over on PostgreSQL, through the built binary: "pchat
//! killed mid-write, the primary server stopped, fail-over, fail-back: every change a writer was
//! told was committed is present". Pool pc01's primary database lives on a second throwaway
//! server of the test's own, which is stopped as if its machine died (`pg_ctl stop -m
//! immediate`) and started again. Skipped without PostgreSQL unless `PCHAT_PG_REQUIRED` is set.

use std::process::Stdio;

use crate::common::INSTANCES;
use crate::common::Run;
use crate::common::held::{Held, until_a_writer_waits};
use crate::common::pg::{Server, connect};
use crate::postgres::{Pg, count, on_postgres_at};

const POOL: &str = "pc01.contoso.com";
const FAIL_OVER: &str =
    r#"set_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com", #{PoolState: "FailedOver"})"#;
const FAIL_BACK: &str =
    r#"set_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com", #{PoolState: "Normal"})"#;

/// `code` in one pchat process, with `PCHAT_FAULT` when given.
fn call(pg: &Pg, code: &str, fault: Option<&str>) -> Run {
    let mut cmd = pg.command(&["-c", code]);
    cmd.stdin(Stdio::null());
    if let Some(fault) = fault {
        cmd.env("PCHAT_FAULT", fault);
    }
    Run::from(cmd.output().unwrap())
}

/// A writer: rooms `names`, one process each, some killed at a two-phase commit point; the rooms
/// the binary reported committed (exit 0), and those whose process was killed.
fn write_rooms(pg: &Pg, names: &[String], kills: &[(usize, &str)]) -> (Vec<String>, Vec<String>) {
    let (mut committed, mut killed) = (Vec::new(), Vec::new());
    for (i, name) in names.iter().enumerate() {
        let fault = kills.iter().find(|(at, _)| *at == i).map(|(_, f)| format!("{f}:kill"));
        let code = format!(
            r#"new_cs_persistent_chat_room(#{{Name: "{name}", PersistentChatPoolFqdn: "{POOL}", Category: "Finance"}})"#
        );
        let run = call(pg, &code, fault.as_deref());
        match fault {
            None => {
                assert_eq!(run.code, 0, "{name}: {}", run.stderr);
                committed.push(name.clone());
            }
            Some(f) => {
                // -1: ended by a signal (the fault's abort), not an error exit.
                assert_eq!(run.code, -1, "{name} was to be killed at {f}: {}", run.stderr);
                killed.push(name.clone());
            }
        }
    }
    (committed, killed)
}

fn names(from: usize, to: usize) -> Vec<String> {
    (from..to).map(|i| format!("Acc-{i:03}")).collect()
}

/// The pool's rows in the copy at `url` (see `test_server::pool_rows`).
fn pool_rows(url: &str) -> Vec<String> {
    crate::common::pg::pool_rows(url, POOL)
}

fn has_room(url: &str, name: &str) -> bool {
    connect(url).query_opt("SELECT 1 FROM rooms WHERE pool = $1 AND name = $2", &[&POOL, &name]).unwrap().is_some()
}

fn prepared(url: &str) -> i64 {
    count(url, "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()")
}

/// The pool's state and mark in the central database.
fn central_state(pg: &Pg) -> (String, i64, i64) {
    let row =
        connect(&pg.central).query_one("SELECT state, generation, seq FROM pools WHERE fqdn = $1", &[&POOL]).unwrap();
    (row.get(0), row.get(1), row.get(2))
}

#[test]
fn a_stopped_primary_server_fail_over_and_fail_back_lose_no_committed_change() {
    let test = "a_stopped_primary_server_fail_over_and_fail_back_lose_no_committed_change";
    let Some(server) = Server::shared(test) else { return };
    let Some(primary_server) = Server::start_own() else { return };
    let pools: Vec<String> = (0..INSTANCES.len())
        .map(|i| {
            if i == 0 { primary_server.missing_database("fo_p0") } else { server.missing_database(&format!("fo_p{i}")) }
        })
        .collect();
    let pg = on_postgres_at(server, "fo", pools);
    let [primary, backup] = pg.copies();

    // Normal: a writer adds rooms, one process each; two are killed inside their commit (after
    // both PREPAREs: never committed; after the decision: committed, completed at the next open).
    let (mut committed, mut killed) =
        write_rooms(&pg, &names(0, 8), &[(2, "pg-2pc-prepared-all"), (5, "pg-2pc-decided")]);

    // The primary's server dies: a write says the primary is unavailable and how to fail over.
    primary_server.halt();
    let refused = call(
        &pg,
        &format!(
            r#"new_cs_persistent_chat_room(#{{Name: "Never", PersistentChatPoolFqdn: "{POOL}", Category: "Finance"}})"#
        ),
        None,
    );
    assert!(refused.code > 0, "an error exit: {}", refused.stderr);
    eprintln!("{test}: with the primary's server stopped a write says: {}", refused.stderr.trim());
    let shown_primary = primary.rsplit('/').next().unwrap();
    for expected in
        // "refused": why the server cannot be reached, not only that it cannot.
        [
            "is unavailable",
            shown_primary,
            "refused",
            "fail the pool over to its backup",
            r#"PoolState: \"FailedOver\""#,
        ]
    {
        assert!(
            refused.stderr.replace('\\', "").contains(&expected.replace('\\', "")),
            "{expected}: {}",
            refused.stderr
        );
    }
    assert!(!has_room(backup, "Never"));

    // Fail-over with the primary's server down; writes go on in the backup.
    call(&pg, FAIL_OVER, None).ok();
    assert_eq!(central_state(&pg).0, "FailedOver");
    let (more, more_killed) = write_rooms(&pg, &names(8, 14), &[(3, "pg-2pc-decided")]);
    committed.extend(more);
    killed.extend(more_killed);

    // Its server still stopped, a fail-back (the cmdlet, the runbook) says to bring the server
    // back, changing nothing: it advised rebuilding the primary from the backup, a repair then
    // refused because the server cannot be reached, and needless for a database that is intact.
    let run = call(&pg, FAIL_BACK, None);
    assert!(run.code > 0, "an error exit: {}", run.stderr);
    for expected in ["its server does not answer", "bring its server back, then fail back", "needs no repair"] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
    assert!(!run.stderr.contains("rebuild it from the backup"), "{}", run.stderr);
    let back = format!("{}/scripts/fail_back.rhai", crate::common::ROOT);
    let run = pg.run(&["run", &back, "--arg", "Pool=pc01.contoso.com"]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("[2]"), "no step changed anything: {}", run.stdout);
    for expected in ["its server does not answer", "bring its server back, then run this again", "nothing was changed"]
    {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
    assert_eq!(central_state(&pg).0, "FailedOver");

    // The primary's server comes back. A fail-back killed after its copy (before its commit)
    // changes nothing: after the next open the pool is still failed over, the primary as it was.
    primary_server.resume();
    let (rows_before, state_before) = (pool_rows(primary), central_state(&pg));
    let run = call(&pg, FAIL_BACK, Some("failback:copied:kill"));
    assert_eq!(run.code, -1, "killed mid-fail-back: {}", run.stderr);
    call(&pg, r#"get_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com")"#, None).ok();
    assert_eq!(central_state(&pg), state_before);
    assert_eq!(pool_rows(primary), rows_before);
    assert_eq!((prepared(primary), prepared(backup)), (0, 0));

    // A fail-back killed after its decision (before any COMMIT PREPARED) is committed: the next
    // open completes it in both copies. Failing back again then has nothing to do.
    let run = call(&pg, FAIL_BACK, Some("pg-2pc-decided:kill"));
    assert_eq!(run.code, -1, "killed after the decision: {}", run.stderr);
    call(&pg, r#"get_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com")"#, None).ok();
    assert_eq!(central_state(&pg).0, "Normal");
    assert_eq!((prepared(primary), prepared(backup)), (0, 0));
    assert_eq!(pool_rows(primary), pool_rows(backup));

    // Fail back: every room a writer was told was committed is in central (its audit record),
    // the primary and the backup, and both copies hold the same rows.
    call(&pg, FAIL_BACK, None).ok();
    let (state, generation, seq) = central_state(&pg);
    assert_eq!(state, "Normal");
    assert_eq!(committed.len(), 11);
    for name in &committed {
        assert!(has_room(primary, name) && has_room(backup, name), "{name} was reported committed");
        let audited = connect(&pg.central)
            .query_one("SELECT count(*) FROM audit WHERE position($1 in coalesce(target, '')) > 0", &[name])
            .unwrap()
            .get::<_, i64>(0);
        assert_eq!(audited, 1, "{name}'s audit record");
    }
    // A killed writer's room: in both copies or in neither.
    for name in &killed {
        assert_eq!(has_room(primary, name), has_room(backup, name), "{name}");
    }
    assert_eq!(pool_rows(primary), pool_rows(backup), "both copies hold the same rows");
    for url in [primary, backup] {
        let mark: (i64, i64) = {
            let row =
                connect(url).query_one("SELECT generation, seq FROM pool_sync WHERE pool = $1", &[&POOL]).unwrap();
            (row.get(0), row.get(1))
        };
        assert_eq!(mark, (generation, seq), "{url}");
        assert_eq!(prepared(url), 0);
    }
    // Normal again: a change reaches both copies; the audit chain holds.
    write_rooms(&pg, &names(20, 21), &[]);
    assert!(has_room(primary, "Acc-020") && has_room(backup, "Acc-020"));
    let chain = pg.run(&["--json", "-c", "test_cs_persistent_chat_audit_record().Result"]).ok();
    assert!(chain.stdout.contains("Success"), "{}", chain.stdout);
    pg.assert_cwd_empty();
}

/// A writer racing a fail-back cannot commit between its copy and its marks (the primary would
/// silently lack the change): it waits for the fail-back, which runs alone, then lands in both
/// copies. The fail-back is held after its copy (`PCHAT_FAULT=failback:copied:pause:<file>`)
/// until the writer is seen waiting for its lock.
#[test]
fn a_writer_racing_a_fail_back_waits_for_it_and_lands_in_both_copies() {
    let Some(server) = Server::shared("a_writer_racing_a_fail_back_waits_for_it_and_lands_in_both_copies") else {
        return;
    };
    let pools = (0..INSTANCES.len()).map(|i| server.missing_database(&format!("race_p{i}"))).collect();
    let pg = on_postgres_at(server, "race", pools);
    let [primary, backup] = pg.copies();
    call(&pg, FAIL_OVER, None).ok();
    write_rooms(&pg, &names(0, 1), &[]);

    let failback = Held::at(pg.command(&["-c", FAIL_BACK]), "failback:copied");

    let code = format!(
        r#"new_cs_persistent_chat_room(#{{Name: "Racer", PersistentChatPoolFqdn: "{POOL}", Category: "Finance"}})"#
    );
    let writer =
        pg.command(&["-c", &code]).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    // The writer waits for the writers' lock the fail-back holds (a lock wait, seen by the server).
    until_a_writer_waits(&pg.central);
    assert!(!has_room(primary, "Racer") && !has_room(backup, "Racer"), "committed during the fail-back");

    let failback = failback.finish();
    assert!(failback.code == 0, "fail-back: {}", failback.stderr);
    let written = Run::from(writer.wait_with_output().unwrap()).ok();
    assert!(written.stderr.is_empty(), "{}", written.stderr);
    assert_eq!(central_state(&pg).0, "Normal");
    for name in ["Acc-000", "Racer"] {
        assert!(has_room(primary, name) && has_room(backup, name), "{name}");
    }
    assert_eq!(pool_rows(primary), pool_rows(backup));
}

/// With the server of pool pc01's serving database stopped, every cmdlet that resolves an
/// `-Identity` in pc01 says the pool's database is unavailable and how to fail over, never that
/// the object does not exist (the identity's pool is resolved first, and its error was worded as
/// a NotFound of the object). pc02, on the running server, still answers.
#[test]
fn an_identity_in_a_pool_whose_server_is_stopped_is_unavailable_not_missing() {
    let test = "an_identity_in_a_pool_whose_server_is_stopped_is_unavailable_not_missing";
    let Some(server) = Server::shared(test) else { return };
    let Some(primary_server) = Server::start_own() else { return };
    let pools: Vec<String> = (0..INSTANCES.len())
        .map(|i| {
            if i == 0 { primary_server.missing_database("un_p0") } else { server.missing_database(&format!("un_p{i}")) }
        })
        .collect();
    let pg = on_postgres_at(server, "un", pools);
    primary_server.halt();
    for code in [
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{Description: "x"})"#,
        r#"remove_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom")"#,
        r#"get_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom")"#,
        r#"set_cs_persistent_chat_category("pc01.contoso.com\\Load", #{Description: "x"})"#,
        r#"remove_cs_persistent_chat_category("pc01.contoso.com\\Load")"#,
        r#"set_cs_persistent_chat_addin("pc01.contoso.com\\BudgetTracker", #{Url: "https://x.contoso.com"})"#,
        r#"remove_cs_persistent_chat_addin("pc01.contoso.com\\BudgetTracker")"#,
        r#"clear_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{EndDate: "2000-01-01"})"#,
        // A bare name: every pool is searched, pc01 among them.
        r#"set_cs_persistent_chat_room("LoadRoom", #{Description: "x"})"#,
    ] {
        let run = call(&pg, code, None);
        crate::common::says_pc01_unavailable_not_missing(code, &run);
    }
    let run =
        call(&pg, r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc02.contoso.com"}).len()"#, None).ok();
    assert!(run.stdout.trim() != "0", "{}", run.stdout);
    primary_server.resume();
    call(&pg, r#"set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{Description: "back"})"#, None).ok();
}

/// The fail-back runbook with the serving backup's server stopped (issue #18's adversary, F8):
/// it used to deactivate every server, then fail at the repair, leaving pool pc01 failed over
/// with no active server. Now it stops before the first change, with or without Force, saying to
/// bring the server back (the backup may be intact), and changes nothing. A server that stops after the
/// checks, inside the switch back (held there by `failback:checked:pause`), makes the runbook
/// reactivate the servers it deactivated and say so. With the server back, it fails back.
#[test]
fn the_fail_back_runbook_with_the_backups_server_stopped_never_leaves_the_pool_without_servers() {
    let test = "the_fail_back_runbook_with_the_backups_server_stopped_never_leaves_the_pool_without_servers";
    let Some(server) = Server::shared(test) else { return };
    let Some(backup_server) = Server::start_own() else { return };
    let pools = (0..INSTANCES.len())
        .map(|i| {
            if i == 0 {
                server.missing_database("fbd_p0")
            } else {
                backup_server.missing_database(&format!("fbd_p{i}"))
            }
        })
        .collect();
    let pg = on_postgres_at(server, "fbd", pools);
    let over = format!("{}/scripts/fail_over.rhai", crate::common::ROOT);
    let back = format!("{}/scripts/fail_back.rhai", crate::common::ROOT);
    let state = |pg: &Pg| {
        pg.c(r#"let s = get_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com")[0]; print(`${s.PoolState} ${s.ActiveServers}`)"#)
            .ok()
            .stdout
            .trim()
            .to_string()
    };
    let failed_over = r#"FailedOver ["pcsrv03.contoso.com", "pcsrv04.contoso.com"]"#;
    pg.run(&["run", &over, "--arg", "Pool=pc01.contoso.com"]).ok();
    write_rooms(&pg, &names(0, 1), &[]);
    assert_eq!(state(&pg), failed_over);

    backup_server.halt();
    for force in ["Force=false", "Force=true"] {
        let run = pg.run(&["run", &back, "--arg", "Pool=pc01.contoso.com", "--arg", force]);
        assert_eq!(run.code, 1, "{force}: {}{}", run.stdout, run.stderr);
        assert!(!run.stdout.contains("[2]"), "{force}: no step changed anything: {}", run.stdout);
        // A serving backup whose server does not answer may be intact: bring it back (a repair
        // from the primary, which this used to check and report refused, could not reach it).
        for expected in
            ["its server does not answer", "bring its server back, then run this again", "nothing was changed"]
        {
            assert!(run.stderr.contains(expected), "{force}: {expected}: {}", run.stderr);
        }
        backup_server.resume();
        assert_eq!(state(&pg), failed_over, "{force}");
        backup_server.halt();
    }
    backup_server.resume();

    // Stopped after the checks, inside step 4.
    let held = Held::at(pg.command(&["run", &back, "--arg", "Pool=pc01.contoso.com"]), "failback:checked");
    backup_server.halt();
    let Run { code, stdout, stderr } = held.finish();
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("[2] Stop new connections") && stdout.contains("[!] Put back: reactivated"), "{stdout}");
    assert!(stderr.contains("the servers it deactivated were reactivated"), "{stderr}");
    assert!(stderr.contains("the pool is FailedOver, served from sql02.contoso.com\\rtc"), "{stderr}");
    backup_server.resume();
    assert_eq!(state(&pg), failed_over);

    let run = pg.run(&["run", &back, "--arg", "Pool=pc01.contoso.com"]).ok();
    assert!(run.stdout.contains("[6] Verify: state Normal"), "{}", run.stdout);
    assert_eq!(state(&pg), r#"Normal ["pcsrv01.contoso.com", "pcsrv02.contoso.com"]"#);
    let [primary, backup] = pg.copies();
    assert!(has_room(primary, "Acc-000") && has_room(backup, "Acc-000"));
}

/// With the server of pool pc01's serving database stopped, the cmdlets that name a room or a
/// category of pc01 other than by `-Identity` (Export's `-Scope`, Import's archive, the message
/// cmdlets' room, Get-CsPersistentChatRoom `-Category`, New-CsPersistentChatRoom `-Category`, the
/// eligible principals of a room) say the pool's database is unavailable and how to fail over,
/// never that the room or category does not exist (on SQLite, a deleted pool file:
/// tests/it/failover.rs).
#[test]
fn a_room_or_category_of_a_pool_whose_server_is_stopped_is_unavailable_not_missing() {
    let test = "a_room_or_category_of_a_pool_whose_server_is_stopped_is_unavailable_not_missing";
    let Some(server) = Server::shared(test) else { return };
    let Some(primary_server) = Server::start_own() else { return };
    let pools: Vec<String> = (0..INSTANCES.len())
        .map(|i| {
            if i == 0 { primary_server.missing_database("um_p0") } else { server.missing_database(&format!("um_p{i}")) }
        })
        .collect();
    let pg = on_postgres_at(server, "um", pools);
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("pc01.zip").to_string_lossy().into_owned();
    call(
        &pg,
        &format!(r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: {archive:?}}})"#),
        None,
    )
    .ok();
    connect(&pg.pools[0]).batch_execute("CHECKPOINT").unwrap();
    primary_server.halt();
    let out = dir.path().join("scoped.zip").to_string_lossy().into_owned();
    for code in [
        format!(
            r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: {out:?}, Scope: ["Load"]}})"#
        ),
        format!(
            r#"import_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: {archive:?}, Confirm: false}})"#
        ),
        r#"get_cs_persistent_chat_message("pc01.contoso.com\\LoadRoom")"#.to_string(),
        r#"remove_cs_persistent_chat_message(#{Identity: "pc01.contoso.com\\LoadRoom", Confirm: false})"#.to_string(),
        r#"get_cs_persistent_chat_room(#{Category: "pc01.contoso.com\\Load"})"#.to_string(),
        r#"new_cs_persistent_chat_room(#{Name: "New", Category: "pc01.contoso.com\\Load"})"#.to_string(),
        r#"get_cs_persistent_chat_eligible_principal(#{Room: "pc01.contoso.com\\LoadRoom"})"#.to_string(),
    ] {
        let run = call(&pg, &code, None);
        crate::common::says_pc01_unavailable_not_missing(&code, &run);
    }
    assert!(!std::path::Path::new(&out).exists(), "an export of an unavailable pool wrote an archive");
    primary_server.resume();
}
