//! The warnings of a call are said once, by the attempt that commits: a call run again after a
//! lost race (`PCHAT_FAULT=after-handler:conflict:1`, its first attempt's handler done) says them
//! once, and a call that fails in the end says nothing of a change that never happened
//! (engine/invoke.rs `Effects`, docs/atomic-and-plan.md "Concurrent changes").

use crate::common;

use common::{ROOT, Run, Store};

const REPOINT_LINE: &str = "WARNING: Publish-CsTopology: SQL instance sql02.contoso.com\\rtc now names";

/// The demo store with a change in pool pc01 (a pool never written to has nothing to warn about),
/// and the demo topology giving sql02 (pc01's backup) another place: a file of another name on
/// SQLite, another, empty, database on PostgreSQL.
fn store_and_repointed_topology() -> (Store, String) {
    let s = Store::demo();
    s.c(r#"new_cs_persistent_chat_category(#{Name: "Warned", PersistentChatPoolFqdn: "pc01.contoso.com"})"#).ok();
    let demo = std::fs::read_to_string(format!("{ROOT}/scripts/demo/topology.json")).expect("demo topology");
    let mut doc: serde_json::Value = serde_json::from_str(&s.topology_text(&demo)).expect("JSON");
    let place = if s.is_postgres() {
        // A database of the test's own, as the test harness makes one for an instance it has not seen.
        let other: serde_json::Value =
            serde_json::from_str(&s.topology_text(r#"{"SqlInstances": [{"Identity": "moved.contoso.com\\rtc"}]}"#))
                .expect("JSON");
        ("Connection", other["SqlInstances"][0]["Connection"].clone())
    } else {
        ("File", "sql02-moved.db".into())
    };
    let sql02 = doc["SqlInstances"]
        .as_array_mut()
        .expect("instances")
        .iter_mut()
        .find(|i| i["Identity"] == "sql02.contoso.com\\rtc")
        .expect("sql02");
    sql02.as_object_mut().expect("an object").remove("File");
    sql02[place.0] = place.1;
    let path = s.dir.path().join("repointed.json");
    std::fs::write(&path, serde_json::to_string_pretty(&doc).expect("JSON")).expect("write the topology");
    (s, path.to_string_lossy().into_owned())
}

fn publish(s: &Store, topology: &str, fault: Option<&str>) -> Run {
    let mut cmd = s.command(&["-c", &format!("publish_cs_topology({topology:?}); print(\"published\")")]);
    if let Some(fault) = fault {
        cmd.env("PCHAT_FAULT", fault);
    }
    cmd.env("PCHAT_REPORT_RETRIES", "1").env("NO_COLOR", "1").stdin(std::process::Stdio::null());
    Run::from(cmd.output().expect("pchat runs"))
}

/// The store is as `before` (a dump), but for the new place's empty pool file, which a publish
/// that fails leaves ready for the next one (as documented for Publish-CsTopology). The dumps are
/// not printed: they are long.
fn unchanged(s: &Store, before: &str) -> bool {
    let after = s.dump();
    let kept = match after.split_once("== sql02-moved.db\n") {
        Some((head, tail)) => {
            format!("{head}{}", tail.split_once("\n== ").map_or(String::new(), |(_, t)| format!("== {t}")))
        }
        None => after,
    };
    kept.trim_end() == before.trim_end()
}

fn repoint_warnings(run: &Run) -> usize {
    run.stderr.lines().filter(|l| l.starts_with(REPOINT_LINE)).count()
}

/// Publish-CsTopology re-pointing a pool's copy loses a race in its first attempt. On PostgreSQL
/// it runs again (alone) and commits: one warning, not one per attempt. On SQLite a publish is
/// not run again (it manages files outside the transaction): it fails, changing nothing, and
/// says no warning about the re-pointing that did not happen. Without the fault, one warning on
/// either backend.
#[test]
fn a_retried_or_failed_publish_warns_only_for_the_attempt_that_commits() {
    let (s, topology) = store_and_repointed_topology();
    let before = s.dump();
    let run = publish(&s, &topology, Some("after-handler:conflict:1"));
    let s = if s.is_postgres() {
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains("pchat: attempts retried: 1"), "the publish was not retried: {}", run.stderr);
        assert_eq!(repoint_warnings(&run), 1, "{}", run.stderr);
        assert_eq!(run.stdout, "published\n");
        s
    } else {
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains("this cmdlet is not run again automatically"), "{}", run.stderr);
        assert_eq!(repoint_warnings(&run), 0, "a warning about a publish that changed nothing: {}", run.stderr);
        assert!(unchanged(&s, &before), "the failed publish changed the store");
        // Without the fault, on a store of its own (the failed publish left the new file ready,
        // and a file already there is adopted without the warning: see the report of wt-pgwords2).
        let (s, topology) = store_and_repointed_topology();
        let run = publish(&s, &topology, None).ok();
        assert_eq!(repoint_warnings(&run), 1, "{}", run.stderr);
        s
    };
    // Re-pointed: the pool's changes are refused until the repair the warning names.
    let refused =
        s.c(r#"new_cs_persistent_chat_category(#{Name: "After", PersistentChatPoolFqdn: "pc01.contoso.com"})"#);
    assert!(refused.code > 0 && refused.stderr.contains("repair_cs_persistent_chat_database"), "{}", refused.stderr);
}

/// A publish that fails in every attempt (PostgreSQL: eight lost races; SQLite: the first) says
/// no warning: the SQL instance was not re-pointed.
#[test]
fn a_publish_that_keeps_losing_says_no_warning() {
    let (s, topology) = store_and_repointed_topology();
    let before = s.dump();
    let run = publish(&s, &topology, Some("before-commit:conflict:8"));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(repoint_warnings(&run), 0, "{}", run.stderr);
    assert!(!run.stdout.contains("published"));
    assert!(unchanged(&s, &before), "the failed publish changed the store");
}

const REPAIR: &str = r#"repair_cs_persistent_chat_database(#{Identity: "PersistentChatServer:pc01.contoso.com", Source: "Primary"}); print("repaired")"#;
const REBUILT_LINE: &str = "WARNING: sql02.contoso.com\\rtc was unusable";

/// The repair that rebuilds the re-pointed copy loses a race in its first attempt: on PostgreSQL
/// it runs again and commits, saying once what it rebuilt; on SQLite it is not run again and says
/// nothing of a rebuild that was undone. The repair that commits says it once.
#[test]
fn a_retried_or_failed_repair_warns_only_for_the_attempt_that_commits() {
    let s = Store::demo();
    s.c(r#"new_cs_persistent_chat_category(#{Name: "Warned", PersistentChatPoolFqdn: "pc01.contoso.com"})"#).ok();
    // pc01's backup copy made unusable: its database emptied, its file deleted.
    if s.is_postgres() {
        s.execute(Some("sql02.contoso.com\\rtc"), "DROP SCHEMA public CASCADE");
        s.execute(Some("sql02.contoso.com\\rtc"), "CREATE SCHEMA public");
    } else {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(s.dir.path().join(format!("sql02.contoso.com-rtc.db{suffix}")));
        }
    }
    let mut cmd = s.command(&["-c", REPAIR]);
    cmd.env("PCHAT_FAULT", "after-handler:conflict:1").env("PCHAT_REPORT_RETRIES", "1").env("NO_COLOR", "1");
    let run = Run::from(cmd.stdin(std::process::Stdio::null()).output().expect("pchat runs"));
    let rebuilt = |run: &Run| run.stderr.lines().filter(|l| l.starts_with(REBUILT_LINE)).count();
    if s.is_postgres() {
        assert_eq!(run.code, 0, "{}", run.stderr);
        assert!(run.stderr.contains("pchat: attempts retried: 1"), "the repair was not retried: {}", run.stderr);
        assert_eq!(rebuilt(&run), 1, "{}", run.stderr);
    } else {
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains("this cmdlet is not run again automatically"), "{}", run.stderr);
        assert_eq!(rebuilt(&run), 0, "a warning about a rebuild that was undone: {}", run.stderr);
        let run = s.c(REPAIR).ok();
        assert_eq!(rebuilt(&run), 1, "{}", run.stderr);
    }
    s.c(r#"new_cs_persistent_chat_category(#{Name: "After", PersistentChatPoolFqdn: "pc01.contoso.com"})"#).ok();
}
