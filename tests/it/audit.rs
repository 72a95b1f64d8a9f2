//! The audit trail: each change is recorded with its actor, parameters, changed values and origin,
//! in its own transaction; refusals, WhatIf and failures are not; the hash chain finds an edited,
//! removed, reordered or truncated record; records live through fail-over and fail-back.

use crate::common;
use common::{Run, Store};
use serde_json::Value;

fn records(s: &Store, filter: &str) -> Vec<Value> {
    let run = s.run(&["--json", "-c", &format!("get_cs_persistent_chat_audit_record({filter})")]).ok();
    serde_json::from_str(&run.stdout).expect("JSON")
}

fn verify(s: &Store) -> (Run, Value) {
    let run = s.run(&["--json", "-c", "test_cs_persistent_chat_audit_record()"]);
    let v = serde_json::from_str(&run.stdout).expect("JSON");
    (run, v)
}

/// Damage done by another program to the central database's audit tables.
fn sql(s: &Store, statements: &str) {
    s.central_db().batch(statements);
}

const ROOM: &str = r#"pc01.contoso.com\\FinanceRoom"#;

#[test]
fn a_record_says_who_did_what_from_where_and_what_changed() {
    let s = Store::examples();
    let before = records(&s, "").len();
    let runbook = format!(
        "// line 1\nset_cs_persistent_chat_room(\"{ROOM}\", #{{Description: \"Quarterly ✓\", Disabled: true}});\n"
    );
    s.runbook("change.rhai", &runbook, &["--as", "Ann Beebe"]).ok();
    s.stdin(
        &["--as", "sip:kenmyer@contoso.com"],
        &format!("set_cs_persistent_chat_room(\"{ROOM}\", #{{Disabled: false}})"),
    )
    .ok();
    let all = records(&s, "");
    assert_eq!(all.len(), before + 2);
    let first = &all[before];
    assert_eq!(first["Actor"], "contoso\\annb");
    assert_eq!(first["Cmdlet"], "Set-CsPersistentChatRoom");
    assert_eq!(first["Target"], "pc01.contoso.com\\FinanceRoom");
    assert_eq!(first["Parameters"]["Description"], "Quarterly ✓");
    assert_eq!(first["Parameters"]["Disabled"], true);
    assert_eq!(first["Before"]["Disabled"], false);
    assert_eq!(first["After"]["Disabled"], true);
    assert_eq!(first["After"]["Description"], "Quarterly ✓");
    assert!(first["Before"].get("Name").is_none(), "only changed properties: {first}");
    let source = first["Source"].as_str().expect("source");
    assert!(source.ends_with("change.rhai:2"), "{source}");
    assert_eq!(all[before + 1]["Source"], "stdin");
    assert_eq!(all[before + 1]["Actor"], "contoso\\kenmyer");
    // Filters: actor, cmdlet, target (wildcards), time and size.
    assert_eq!(records(&s, r#"#{Actor: "contoso\\annb"}"#).len(), 1);
    assert_eq!(records(&s, r#"#{Actor: "contoso\\*", Cmdlet: "set_cs_persistent_chat_room"}"#).len(), 2);
    assert_eq!(records(&s, r#"#{Target: "*financeroom", ResultSize: 1}"#).len(), 1);
    assert_eq!(records(&s, r#"#{EndDate: "2000-01-01"}"#).len(), 0);
}

#[test]
fn refusals_what_if_and_failures_leave_no_record() {
    let s = Store::examples();
    let before = records(&s, "").len();
    s.c(&format!("set_cs_persistent_chat_room(\"{ROOM}\", #{{Disabled: true, WhatIf: true}})")).ok();
    s.run(&["--what-if", "-c", &format!("set_cs_persistent_chat_room(\"{ROOM}\", #{{Disabled: true}})")]).ok();
    let failed = s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\NoSuchRoom", #{Disabled: true})"#);
    assert_ne!(failed.code, 0);
    let failed = s.c(r#"new_cs_persistent_chat_room(#{Name: "FinanceRoom", Category: "pc01.contoso.com\\Finance"})"#);
    assert_ne!(failed.code, 0);
    assert_eq!(records(&s, "").len(), before);
}

/// Five changes, then one kind of damage done to a copy: the check names the first bad record.
/// Runs on both backends (PCHAT_TEST_BACKEND).
#[test]
fn the_chain_finds_an_edited_removed_reordered_or_truncated_record() {
    let base = Store::examples();
    for i in 0..5 {
        base.c(&format!("set_cs_persistent_chat_room(\"{ROOM}\", #{{Description: \"v{i}\"}})")).ok();
    }
    let (run, v) = verify(&base);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["Result"], "Success");
    let n = v["RecordsChecked"].as_i64().expect("count");
    assert!(n >= 5);
    let cases = [
        ("edited", "UPDATE audit SET parameters = '{\"Description\":\"forged\"}' WHERE id = 3".to_string(), 3),
        // Record times are milliseconds (on PostgreSQL a bigint column).
        ("edited time", "UPDATE audit SET at = 946684800000 WHERE id = 2".to_string(), 2),
        ("removed", "DELETE FROM audit WHERE id = 4".to_string(), 4),
        (
            "reordered",
            "UPDATE audit SET id = -1 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 3; UPDATE audit SET id = 3 WHERE id = -1;"
                .to_string(),
            2,
        ),
        ("truncated", format!("DELETE FROM audit WHERE id > {}", n - 2), n - 1),
        ("head moved back", format!("UPDATE audit_head SET count = {}", n - 1), n),
    ];
    let mut cases = cases.to_vec();
    if !base.is_postgres() {
        // A SQLite column takes a text time too (as stores older than central step 10 hold).
        cases.push(("edited time as text", "UPDATE audit SET at = '2000-01-01T00:00:00.000Z' WHERE id = 2".into(), 2));
    }
    for (what, damage, first_bad) in cases {
        let s = base.copy();
        sql(&s, &damage);
        let (run, v) = verify(&s);
        assert_eq!(run.code, 3, "{what}: a failure writes a non-terminating error\n{}", run.stderr);
        assert_eq!(v["Result"], "Failure", "{what}");
        assert_eq!(v["FirstBadSequence"], first_bad, "{what}: {v}");
        assert!(
            run.stderr.contains("Test-CsPersistentChatAuditRecord: InvalidOperation: the audit trail does not verify")
        );
    }
    // A store whose trail is damaged makes no unrecorded change: its head is behind its records.
    let s = base.copy();
    sql(&s, &format!("UPDATE audit_head SET count = {}", n - 1));
    let run = s.c(&format!("set_cs_persistent_chat_room(\"{ROOM}\", #{{Description: \"after\"}})"));
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("the audit trail is damaged"), "{}", run.stderr);
    // An anchor noted earlier catches a trail that no longer passes through it.
    let (_, v) = verify(&base);
    let anchor = format!("{}:{}", v["LastSequence"], "0".repeat(64));
    let run = base.run(&["--json", "-c", &format!("test_cs_persistent_chat_audit_record(#{{Anchor: {anchor:?}}})")]);
    assert_eq!(run.code, 3);
    assert!(run.stdout.contains("not the one noted in the anchor"), "{}", run.stdout);
}

#[test]
fn a_set_records_exactly_the_properties_it_changed_lists_and_renames_included() {
    let s = Store::examples();
    let before = records(&s, "").len();
    s.c(&format!(
        "set_cs_persistent_chat_room(\"{ROOM}\", #{{Managers: #{{Add: \"sip:annb@contoso.com\"}}, Disabled: true}})"
    ))
    .ok();
    s.c(&format!("set_cs_persistent_chat_room(\"{ROOM}\", #{{Name: \"FinanceRoom2\"}})")).ok();
    let all = records(&s, "");
    assert_eq!(all.len(), before + 2);
    let keys = |v: &Value| v.as_object().expect("object").keys().cloned().collect::<Vec<_>>();
    let (lists, rename) = (&all[before], &all[before + 1]);
    assert_eq!(keys(&lists["Before"]), ["Disabled", "Managers"], "{lists}");
    assert_eq!(keys(&lists["After"]), ["Disabled", "Managers"], "{lists}");
    let managers = lists["After"]["Managers"].as_array().expect("list");
    assert_eq!(managers.len(), lists["Before"]["Managers"].as_array().expect("list").len() + 1, "{lists}");
    assert!(managers.iter().any(|m| m == "sip:annb@contoso.com"), "{lists}");
    assert_eq!(keys(&rename["Before"]), ["Identity", "Name"], "{rename}");
    assert_eq!(rename["Before"]["Identity"], "pc01.contoso.com\\FinanceRoom");
    assert_eq!(rename["After"]["Identity"], "pc01.contoso.com\\FinanceRoom2");
}

#[test]
fn records_live_in_the_central_database_through_fail_over_and_fail_back() {
    let s = Store::examples();
    let state = |to: &str| {
        format!(
            r#"set_cs_persistent_chat_state(#{{Identity: "PersistentChatServer:pc01.contoso.com", PoolState: "{to}"}})"#
        )
    };
    let before = records(&s, "").len();
    s.run(&["--yes", "-c", &state("FailedOver")]).ok();
    s.c(&format!("set_cs_persistent_chat_room(\"{ROOM}\", #{{Description: \"served from the backup\"}})")).ok();
    s.run(&["--yes", "-c", &state("Normal")]).ok();
    let all = records(&s, "");
    assert_eq!(all.len(), before + 3);
    assert_eq!(all[before]["After"]["PoolState"], "FailedOver");
    assert_eq!(all[before + 2]["Before"]["PoolState"], "FailedOver");
    let (run, v) = verify(&s);
    assert_eq!((run.code, v["Result"].as_str()), (0, Some("Success")), "{}", run.stderr);
}

/// A nested atomic block that stops takes its records back with its changes; the records around
/// it, and those of a pipeline inside the unit (one of whose items fails), still chain.
#[test]
fn a_stopped_nested_block_leaves_the_chain_whole() {
    let s = Store::examples();
    let before = records(&s, "").len();
    let code = format!(
        r#"atomic(|| {{
            set_cs_persistent_chat_room("{ROOM}", #{{Description: "outer 1"}});
            try {{
                atomic(|| {{
                    set_cs_persistent_chat_room("{ROOM}", #{{Description: "inner"}});
                    throw "stop";
                }});
            }} catch {{}}
            set_cs_persistent_chat_room("{ROOM}", #{{Description: "outer 2"}});
            get_cs_persistent_chat_room("{ROOM}").set_cs_persistent_chat_room(#{{Description: "piped"}});
        }});
        get_cs_persistent_chat_audit_record(#{{Target: "*financeroom"}}).len()"#
    );
    let run = s.c(&code);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let all = records(&s, "");
    let descriptions: Vec<&Value> = all[before..].iter().map(|r| &r["After"]["Description"]).collect();
    assert_eq!(descriptions, ["outer 1", "outer 2", "piped"]);
    let (run, v) = verify(&s);
    assert_eq!((run.code, v["Result"].as_str()), (0, Some("Success")), "{}", run.stderr);
    assert_eq!(v["RecordsChecked"].as_u64(), Some((before + 3) as u64));
}

#[test]
fn concurrent_writers_extend_one_chain() {
    let s = Store::examples();
    let before = records(&s, "").len();
    let code = |tag: &str| {
        format!("for i in 0..15 {{ set_cs_persistent_chat_room(\"{ROOM}\", #{{Description: `{tag}${{i}}`}}); }}")
    };
    for run in s.c_at_once(&[code("a"), code("b")]) {
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let (run, v) = verify(&s);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(v["RecordsChecked"].as_u64(), Some((before + 30) as u64));
}

/// A `.ps1` runbook runs translated, so its records name the file without a line (never a wrong one).
#[test]
fn a_powershell_runbook_is_named_without_a_line() {
    let s = Store::examples();
    let ps1 = "# a comment\n\nSet-CsPersistentChatRoom -Identity \"pc01.contoso.com\\FinanceRoom\" -Description \"from ps1\"\n";
    s.runbook("change.ps1", ps1, &[]).ok();
    let last = records(&s, "").pop().expect("a record");
    let source = last["Source"].as_str().expect("source");
    assert!(source.ends_with("change.ps1"), "{source}");
}

/// A call that leaves its object as it was changes nothing and so records nothing: granting a
/// user the policy it already has, setting a room property to its current value (by name or
/// piped). The real change before each of them is recorded once.
#[test]
fn a_call_that_changes_nothing_writes_no_record() {
    let s = Store::examples();
    s.c(r#"new_cs_persistent_chat_policy("NoOpPolicy", #{EnablePersistentChat: true}); ()"#).ok();
    let grant = r#"grant_cs_persistent_chat_policy(#{Identity: "sip:kenmyer@contoso.com", PolicyName: "NoOpPolicy"})"#;
    let grants = || records(&s, r#"#{Cmdlet: "Grant-CsPersistentChatPolicy"}"#).len();
    let before = grants();
    s.c(grant).ok();
    s.c(grant).ok();
    assert_eq!(grants(), before + 1, "the second grant of the same policy changes nothing");

    let set = format!("set_cs_persistent_chat_room(\"{ROOM}\", #{{Description: \"same\"}})");
    s.c(&set).ok();
    let all = records(&s, "").len();
    s.c(&set).ok();
    s.c(&format!("get_cs_persistent_chat_room(\"{ROOM}\").set_cs_persistent_chat_room(#{{Description: \"same\"}})"))
        .ok();
    assert_eq!(records(&s, "").len(), all, "a room set to its current value is not recorded");
    let (run, v) = verify(&s);
    assert_eq!((run.code, v["Result"].as_str()), (0, Some("Success")), "{}", run.stderr);
}

#[test]
fn message_operations_are_recorded_against_the_room_they_change() {
    // An auditor asking what happened to a room by its identity must see its content being
    // cleared or replaced, not only its settings changing.
    let s = Store::demo_full();
    let room = r#"pc01.contoso.com\\Helpdesk"#;
    s.c(&format!(
        r#"remove_cs_persistent_chat_message(#{{Identity: "{room}", EndDate: "2100-01-01", Confirm: false}})"#
    ))
    .ok();
    s.c(&format!(r#"clear_cs_persistent_chat_room("{room}", #{{EndDate: "2100-01-01", Confirm: false}})"#)).ok();
    let found = records(&s, &format!(r#"#{{Target: "{room}"}}"#));
    let cmdlets: Vec<&str> = found.iter().filter_map(|r| r["Cmdlet"].as_str()).collect();
    assert!(
        cmdlets.contains(&"Remove-CsPersistentChatMessage") && cmdlets.contains(&"Clear-CsPersistentChatRoom"),
        "{found:?}"
    );
    for r in &found {
        assert_eq!(r["Target"], "pc01.contoso.com\\Helpdesk", "{r}");
    }
}

/// A date given without a time is recorded as what was typed and the instant it stood for (the
/// end of that day for an EndDate, its start for a StartDate), which is the bound the call
/// applied; a message operation records the room's messages before and after and how many it
/// removed or replaced, not only the matched count.
#[test]
fn a_date_alone_is_recorded_as_the_bound_applied_and_counts_say_what_the_room_held() {
    let s = Store::demo();
    for f in ["1_settings.rhai", "2_rooms.rhai"] {
        s.run(&["--yes", "run", &format!("{}/tests/fixtures/{f}", common::ROOT)]).ok();
    }
    let before = records(&s, "").len();
    let runbook = format!(
        r#"
let r = "{ROOM}";
for p in [["sip:annb@contoso.com", "a 12-30", "2019-12-30T10:00:00Z"], ["sip:bobk@contoso.com", "b 12-31 midnight", "2019-12-31T00:00:00Z"],
          ["sip:annb@contoso.com", "c 12-31 late", "2019-12-31T23:30:00Z"], ["sip:bobk@contoso.com", "d 01-01", "2020-01-01T00:00:00Z"],
          ["sip:annb@contoso.com", "e 01-02", "2020-01-02T09:00:00Z"]] {{
    send_cs_persistent_chat_message(r, #{{SenderSipAddress: p[0], Message: p[1], PostedAt: p[2]}});
}}
let texts = || get_cs_persistent_chat_message(r).map(|m| m.Text);
let seen = [];
clear_cs_persistent_chat_room(r, #{{EndDate: "2019-12-31T00:00:00Z", Confirm: false}});
seen.push(texts.call());
clear_cs_persistent_chat_room(r, #{{EndDate: "12/31/2019", Confirm: false}});
seen.push(texts.call());
remove_cs_persistent_chat_message(#{{Identity: r, StartDate: "1/1/2020", EndDate: "2020-01-01", Confirm: false}});
seen.push(texts.call());
remove_cs_persistent_chat_message(#{{Identity: r, EndDate: "1/2/2020", Remove: true, Confirm: false}});
seen.push(texts.call());
seen
"#
    );
    let run = s.runbook("retention.rhai", &runbook, &["--json"]).ok();
    let seen: Value = serde_json::from_str(&run.stdout).expect("JSON");
    let replaced = "This message was replaced by the Persistent Chat administrator.";
    assert_eq!(
        seen,
        serde_json::json!([["c 12-31 late", "d 01-01", "e 01-02"], ["d 01-01", "e 01-02"], [replaced, "e 01-02"], []]),
        "the date alone covered the whole day: 23:30 was cleared, 1/1 00:00 was not"
    );
    let all = records(&s, "");
    let mine: Vec<&Value> = all[before..].iter().filter(|r| r["Cmdlet"] != "Send-CsPersistentChatMessage").collect();
    let shown: Vec<(Value, Value, Value)> =
        mine.iter().map(|r| (r["Parameters"].clone(), r["Before"].clone(), r["After"].clone())).collect();
    let json = |v: &str| serde_json::from_str::<Value>(v).unwrap();
    assert_eq!(
        shown,
        [
            (
                json(r#"{"Identity": "pc01.contoso.com\\FinanceRoom", "EndDate": "2019-12-31T00:00:00Z"}"#),
                json(r#"{"Messages": 5}"#),
                json(r#"{"Messages": 3, "MessagesRemoved": 2}"#)
            ),
            (
                json(
                    r#"{"Identity": "pc01.contoso.com\\FinanceRoom", "EndDate": {"Given": "12/31/2019", "Effective": "2019-12-31T23:59:59.999999Z"}}"#
                ),
                json(r#"{"Messages": 3}"#),
                json(r#"{"Messages": 2, "MessagesRemoved": 1}"#)
            ),
            (
                json(
                    r#"{"Identity": "pc01.contoso.com\\FinanceRoom", "StartDate": {"Given": "1/1/2020", "Effective": "2020-01-01T00:00:00Z"}, "EndDate": {"Given": "2020-01-01", "Effective": "2020-01-01T23:59:59.999999Z"}}"#
                ),
                json(r#"{"Messages": 2}"#),
                json(r#"{"Messages": 2, "MessagesReplaced": 1}"#)
            ),
            (
                json(
                    r#"{"Identity": "pc01.contoso.com\\FinanceRoom", "Remove": true, "EndDate": {"Given": "1/2/2020", "Effective": "2020-01-02T23:59:59.999999Z"}}"#
                ),
                json(r#"{"Messages": 2}"#),
                json(r#"{"Messages": 0, "MessagesRemoved": 2}"#)
            ),
        ]
    );
    for r in &mine {
        assert_eq!(r["Target"], "pc01.contoso.com\\FinanceRoom", "{r}");
    }
    let (run, v) = verify(&s);
    assert_eq!((run.code, v["Result"].as_str()), (0, Some("Success")), "{}", run.stderr);
}
