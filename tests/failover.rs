//! Pool state, active servers and real fail-over between primary and backup databases.

mod common;
use common::{Store, single_error_line};
use rusqlite::Connection;

const PC01: &str = "PersistentChatServer:pc01.contoso.com";

fn state(s: &Store, prop: &str) -> String {
    s.c(&format!("get_cs_persistent_chat_state(\"{PC01}\")[0].{prop}")).ok().stdout.trim().to_string()
}

fn pool_file(s: &Store, instance: &str) -> std::path::PathBuf {
    s.dir.path().join(format!("{instance}.contoso.com-rtc.db"))
}

/// Plant a category of pc01 directly in one pool database file, as a changed copy would hold it.
fn plant_category(path: &std::path::Path, id: i64, name: &str, seq: i64) {
    let c = Connection::open(path).expect("open pool db");
    c.execute(
        "INSERT INTO categories(id, pool, name, invites, file_upload, chat_history) VALUES (?1, 'pc01.contoso.com', ?2, 0, 0, 1)",
        rusqlite::params![id, name],
    )
    .expect("insert");
    c.execute(
        "INSERT INTO pool_sync(pool, seq) VALUES ('pc01.contoso.com', ?1) ON CONFLICT(pool) DO UPDATE SET seq = excluded.seq",
        [seq],
    )
    .expect("seq");
}

fn categories(path: &std::path::Path) -> Vec<String> {
    let c = Connection::open(path).expect("open pool db");
    let mut stmt =
        c.prepare("SELECT name FROM categories WHERE pool = 'pc01.contoso.com' ORDER BY name").expect("select");
    stmt.query_map([], |r| r.get(0)).expect("rows").collect::<Result<_, _>>().expect("names")
}

#[test]
fn state_objects_show_where_each_pool_is_served_from() {
    let s = Store::demo();
    let run = s.run(&["--json", "-c", "get_cs_persistent_chat_state()"]).ok();
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(json[0]["Identity"], PC01);
    assert_eq!(json[0]["PoolState"], "Normal");
    assert_eq!(json[0]["ServingDatabase"], "sql01.contoso.com\\rtc");
    assert_eq!(json[0]["InSync"], true);
    assert_eq!(json[1]["Identity"], "PersistentChatServer:pc02.contoso.com");
    let ids = s.c(r#"get_cs_persistent_chat_state(#{Filter: "*pc02*"}).map(|x| x.Identity)"#).ok();
    assert_eq!(ids.stdout.trim(), "PersistentChatServer:pc02.contoso.com");
    for form in ["service:PersistentChatServer:pc01.contoso.com", "pc01.CONTOSO.com"] {
        assert_eq!(s.c(&format!("get_cs_persistent_chat_state(\"{form}\").len()")).ok().stdout.trim(), "1");
    }
}

#[test]
fn fail_over_and_back_switch_the_serving_database() {
    let s = Store::demo();
    s.c(&format!(r#"set_cs_persistent_chat_state("{PC01}", #{{PoolState: "FailedOver"}})"#)).ok();
    assert_eq!(state(&s, "PoolState"), "FailedOver");
    assert_eq!(state(&s, "ServingDatabase"), "sql02.contoso.com\\rtc");
    s.c(&format!(r#"get_cs_persistent_chat_state("{PC01}").set_cs_persistent_chat_state(#{{PoolState: "normal"}})"#))
        .ok();
    assert_eq!(state(&s, "PoolState"), "Normal");
    assert_eq!(state(&s, "ServingDatabase"), "sql01.contoso.com\\rtc");
}

#[test]
fn failing_back_brings_a_lost_primary_up_to_date_from_the_backup() {
    let s = Store::demo();
    s.c(&format!(r#"set_cs_persistent_chat_state("{PC01}", #{{PoolState: "FailedOver"}})"#)).ok();
    // While failed over, the backup changes and the primary file is lost.
    plant_category(&pool_file(&s, "sql02"), 11, "Finance", 1);
    assert_eq!(state(&s, "InSync"), "False");
    std::fs::remove_file(pool_file(&s, "sql01")).expect("delete primary");
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", pool_file(&s, "sql01").display()));
    }
    s.c(&format!(r#"set_cs_persistent_chat_state("{PC01}", #{{PoolState: "Normal"}})"#)).ok();
    assert_eq!(categories(&pool_file(&s, "sql01")), ["Finance"]);
    assert_eq!(state(&s, "InSync"), "True");
}

#[test]
fn a_corrupt_primary_of_a_failed_over_pool_is_set_aside_and_rebuilt_on_failback() {
    let s = Store::demo();
    s.c(&format!(r#"set_cs_persistent_chat_state("{PC01}", #{{PoolState: "FailedOver"}})"#)).ok();
    plant_category(&pool_file(&s, "sql02"), 12, "Projects", 1);
    // sql01 is also pc02's backup; pc02 is Normal, so its data is rebuilt from sql03 too.
    std::fs::write(pool_file(&s, "sql01"), b"this is not a database file, it is garbage.....").expect("corrupt");
    let run = s.c(&format!(r#"set_cs_persistent_chat_state("{PC01}", #{{PoolState: "Normal"}})"#)).ok();
    assert!(run.stderr.contains("moved it to"), "{}", run.stderr);
    assert_eq!(categories(&pool_file(&s, "sql01")), ["Projects"]);
    let aside = std::fs::read_dir(s.dir.path())
        .expect("dir")
        .flatten()
        .any(|e| e.file_name().to_string_lossy().contains(".damaged-"));
    assert!(aside, "the damaged file is kept for inspection");
}

#[test]
fn a_copy_left_behind_by_a_crash_is_repaired_from_the_complete_one() {
    let s = Store::demo();
    // As if a process died between the commits of primary and backup.
    plant_category(&pool_file(&s, "sql01"), 13, "Announcements", 1);
    let run = s.c("get_cs_persistent_chat_state().len()").ok();
    assert!(
        run.stderr.contains("pool pc01.contoso.com: sql02.contoso.com\\rtc was behind sql01.contoso.com\\rtc"),
        "{}",
        run.stderr
    );
    assert_eq!(categories(&pool_file(&s, "sql02")), ["Announcements"]);
}

#[test]
fn a_corrupt_serving_database_is_reported_with_the_way_out() {
    let s = Store::demo();
    std::fs::write(pool_file(&s, "sql03"), b"garbage garbage garbage garbage garbage garbage").expect("corrupt");
    // pc02 is served by sql03: its state is still readable and it can fail over to sql01.
    let run = s.c(r#"set_cs_persistent_chat_state("PersistentChatServer:pc02.contoso.com", #{PoolState: "FailedOver"}); get_cs_persistent_chat_state("pc02.contoso.com")[0].ServingDatabase"#).ok();
    assert_eq!(run.stdout.trim(), "sql01.contoso.com\\rtc");
}

#[test]
fn state_errors_change_nothing() {
    let s = Store::demo();
    let before = s.dump();
    let cases = [
        (
            r#"set_cs_persistent_chat_state("PersistentChatServer:nowhere.contoso.com", #{PoolState: "FailedOver"})"#,
            "Set-CsPersistentChatState: NotFound: 'nowhere.contoso.com' is not a Persistent Chat pool",
        ),
        (
            r#"set_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com", #{PoolState: "Failover"})"#,
            "Set-CsPersistentChatState: ParameterBinding: cannot bind parameter 'PoolState': 'Failover' is not one of Normal, FailedOver",
        ),
        (
            r#"set_cs_persistent_chat_state(#{PoolState: "FailedOver"})"#,
            "Set-CsPersistentChatState: InvalidArgument: the pool must be specified",
        ),
        (
            r#"set_cs_persistent_chat_active_server("pc01.contoso.com", #{ActiveServers: "pcsrv01.contoso.com", Swap: true})"#,
            "Set-CsPersistentChatActiveServer: AmbiguousParameterSet:",
        ),
        (
            r#"set_cs_persistent_chat_active_server("pc01.contoso.com")"#,
            "Set-CsPersistentChatActiveServer: ParameterBinding: missing mandatory parameter 'ActiveServers'",
        ),
        (
            r#"set_cs_persistent_chat_active_server("pc01.contoso.com", #{ActiveServers: #{Add: "pcsrv05.contoso.com"}})"#,
            "Set-CsPersistentChatActiveServer: InvalidArgument: -ActiveServers: 'pcsrv05.contoso.com' is not a server of pool 'pc01.contoso.com'",
        ),
    ];
    for (code, expected) in cases {
        let run = s.c(code);
        assert_ne!(run.code, 0, "{code}");
        let line = single_error_line(&run);
        assert!(line.starts_with(expected), "{code}\n got: {line}\nwant: {expected}");
        assert_eq!(s.dump(), before, "{code} changed the store");
    }
}

#[test]
fn a_pool_without_backup_cannot_fail_over() {
    let s = Store::demo();
    let text = std::fs::read_to_string(format!("{}/scripts/demo/topology.json", common::ROOT)).expect("topology");
    let mut topo: serde_json::Value = serde_json::from_str(&text).expect("json");
    let pools = topo["Pools"].as_array_mut().expect("pools");
    let pc02 = pools.iter_mut().find(|p| p["Fqdn"] == "pc02.contoso.com").expect("pc02");
    pc02.as_object_mut().expect("object").remove("BackupDatabase");
    let path = s.dir.path().join("topology.json");
    std::fs::write(&path, topo.to_string()).expect("write");
    s.c(&format!("publish_cs_topology({:?})", path.to_string_lossy())).ok();
    let before = s.dump();
    let run = s.c(r#"set_cs_persistent_chat_state("pc02.contoso.com", #{PoolState: "FailedOver"})"#);
    assert!(
        single_error_line(&run).contains("InvalidOperation: pool 'pc02.contoso.com' has no BackupDatabase"),
        "{}",
        run.stderr
    );
    assert_eq!(s.dump(), before);
    assert_eq!(s.c("get_cs_persistent_chat_state(\"pc02.contoso.com\")[0].InSync").ok().stdout.trim(), "");
}

#[test]
fn active_servers_list_modifiers_swap_and_null() {
    let s = Store::demo();
    let active = |s: &Store| state(s, "ActiveServers").replace('\n', ",");
    s.c(r#"set_cs_persistent_chat_active_server("PersistentChatServer:pc01.contoso.com", #{ActiveServers: #{Add: "pcsrv03.contoso.com", Remove: "pcsrv01.contoso.com"}})"#).ok();
    assert_eq!(active(&s), "pcsrv02.contoso.com,pcsrv03.contoso.com");
    s.c(r#"set_cs_persistent_chat_active_server("pc01.contoso.com", #{Swap: true})"#).ok();
    assert_eq!(active(&s), "pcsrv01.contoso.com,pcsrv04.contoso.com");
    s.c(r#"set_cs_persistent_chat_active_server("pc01.contoso.com", #{ActiveServers: ()})"#).ok();
    assert_eq!(active(&s), "");
    s.c(r#"set_cs_persistent_chat_active_server("pc01.contoso.com", #{ActiveServers: #{Replace: ["PCSRV03.contoso.com", "pcsrv04.contoso.com"]}})"#).ok();
    assert_eq!(active(&s), "pcsrv03.contoso.com,pcsrv04.contoso.com");
    let run = s.c(r#"set_cs_persistent_chat_active_server("pc01.contoso.com", #{Swap: true, WhatIf: true})"#).ok();
    assert!(run.stdout.starts_with("What if: Performing the operation \"Set-CsPersistentChatActiveServer\" on target \"PersistentChatServer:pc01.contoso.com\"."));
    assert_eq!(active(&s), "pcsrv03.contoso.com,pcsrv04.contoso.com");
}

#[test]
fn fail_over_and_fail_back_runbooks() {
    let s = Store::demo();
    let over = format!("{}/scripts/fail_over.rhai", common::ROOT);
    let back = format!("{}/scripts/fail_back.rhai", common::ROOT);
    let before = s.dump();
    let plan = s.run(&["--what-if", "run", &over, "--arg", "pool=pc01.contoso.com"]).ok();
    assert_eq!(plan.stdout.matches("What if:").count(), 3, "{}", plan.stdout);
    assert!(plan.stdout.contains("[4] Activate [\"pcsrv03.contoso.com\", \"pcsrv04.contoso.com\"]"), "{}", plan.stdout);
    assert_eq!(s.dump(), before, "--what-if shows the plan and changes nothing");

    let run = s.run(&["run", &over, "--arg", "pool=pc01.contoso.com"]).ok();
    assert!(run.stdout.contains("[5] Verify: state FailedOver, served from sql02.contoso.com\\rtc"), "{}", run.stdout);
    assert_eq!(state(&s, "ActiveServers").replace('\n', ","), "pcsrv03.contoso.com,pcsrv04.contoso.com");

    let run = s.run(&["run", &over, "--arg", "pool=pc01.contoso.com"]);
    assert_eq!(run.code, 1, "a second fail-over is refused by the checks");
    assert!(run.stderr.contains("is already FailedOver"), "{}", run.stderr);

    let run = s
        .run(&[
            "run",
            &back,
            "--arg",
            "pool=pc01.contoso.com",
            "--arg",
            "servers=pcsrv01.contoso.com, pcsrv02.contoso.com",
        ])
        .ok();
    assert!(
        run.stdout.contains("[5] Verify: state Normal, served from sql01.contoso.com\\rtc, in sync true"),
        "{}",
        run.stdout
    );
    assert_eq!(state(&s, "ActiveServers").replace('\n', ","), "pcsrv01.contoso.com,pcsrv02.contoso.com");

    let run = s.run(&["run", &back]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("--arg pool="), "{}", run.stderr);
}
