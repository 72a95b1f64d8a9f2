//! Test-CsPersistentChatMessage: a real round trip through the message path that leaves nothing
//! behind, Failure results that say what to fix, Setup of the health test users, and the output
//! variables.

use crate::common;
use common::{Store, fails_unchanged, single_error_line};
use serde_json::Value;

const CMDLET: &str = "Test-CsPersistentChatMessage";

/// A ClientPlatform test between two users, each with the credential of its own account unless
/// `creds` names other accounts.
fn client(sender: &str, receiver: &str, creds: (&str, &str), extra: &str) -> String {
    format!(
        r#"let c1 = get_credential("{}", #{{Password: "x"}}); let c2 = get_credential("{}", #{{Password: "x"}});
test_cs_persistent_chat_message(#{{TargetFqdn: "pc01.contoso.com", SenderSipAddress: "{sender}", SenderCredential: c1, ReceiverSipAddress: "{receiver}", ReceiverCredential: c2{extra}}})"#,
        creds.0.replace('\\', "\\\\"),
        creds.1.replace('\\', "\\\\"),
    )
}

fn annb_bobk(extra: &str) -> String {
    client("sip:annb@contoso.com", "sip:bobk@contoso.com", ("contoso\\annb", "contoso\\bobk"), extra)
}

/// Run a test call: it must succeed as a call (exit 0, no error) and leave every database file
/// exactly as it was. Returns the TaskOutput.
fn task(s: &Store, code: &str) -> Value {
    let before = s.dump();
    let run = s.run(&["--json", "-c", code]);
    assert_eq!(run.code, 0, "{code}\n{}{}", run.stdout, run.stderr);
    assert!(run.stderr.is_empty(), "{code}\n{}", run.stderr);
    assert_eq!(s.dump(), before, "{code} changed the store");
    serde_json::from_str(run.stdout.trim()).unwrap_or_else(|e| panic!("{e}: {}", run.stdout))
}

fn field<'a>(v: &'a Value, k: &str) -> &'a str {
    v[k].as_str().unwrap_or_default()
}

fn is_timespan(s: &str) -> bool {
    let re = regex::Regex::new(r"^\d{2}:\d{2}:\d{2}(\.\d{7})?$").expect("regex");
    re.is_match(s)
}

/// Row counts of the message tables of every pool database (primary and backup copies), by SQL
/// instance.
fn message_rows(s: &Store) -> Vec<(String, i64, i64)> {
    let instances = s.central_db().texts("SELECT identity FROM sql_instances ORDER BY identity", &[]);
    instances
        .into_iter()
        .map(|instance| {
            let row = s.copy_db(&instance).query(
                "SELECT (SELECT count(*) FROM messages), \
                 (SELECT CAST(coalesce(sum(content_bytes), 0) AS bigint) FROM rooms)",
                &[],
            );
            let (n, bytes) = (row[0][0].int(), row[0][1].int());
            (instance, n, bytes)
        })
        .collect()
}

/// Runs on both backends (PCHAT_TEST_BACKEND).
#[test]
fn a_round_trip_succeeds_and_leaves_no_message_in_primary_or_backup() {
    let s = Store::examples();
    let before = message_rows(&s);
    assert_eq!(before.len(), 3, "{before:?}");
    assert!(
        before.iter().any(|(f, n, _)| f.starts_with("sql02") && *n == 3),
        "the backup holds the fixture's messages: {before:?}"
    );
    let out = task(&s, &annb_bobk(""));
    assert_eq!(field(&out, "Result"), "Success", "{out}");
    assert_eq!(field(&out, "TargetFqdn"), "pc01.contoso.com");
    assert!(is_timespan(field(&out, "Latency")), "{out}");
    assert!(out["Error"].is_null() && out["Diagnosis"].is_null(), "{out}");
    let keys: Vec<&str> = out.as_object().map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
    assert_eq!(keys.len(), 5, "{keys:?}");
    assert_eq!(message_rows(&s), before);

    // The same in an explicit room, in the default Rhai display, and with the pool failed over
    // (the backup then serves the pool and must stay untouched too).
    let run = s.c(&annb_bobk(r#", ChatRoomUri: "pc01.contoso.com\\FinanceRoom""#)).ok();
    let lines: Vec<&str> = run.stdout.lines().map(|l| l.split(':').next().unwrap_or("").trim()).collect();
    assert_eq!(lines, ["TargetFqdn", "Result", "Latency", "Error", "Diagnosis"], "{}", run.stdout);
    s.c(r#"set_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com", #{PoolState: "FailedOver"})"#).ok();
    let out = task(&s, &annb_bobk(""));
    assert_eq!(field(&out, "Result"), "Success", "{out}");
    assert_eq!(message_rows(&s), before);
    let count = s.c(r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom").len()"#).ok();
    assert_eq!(count.stdout.trim(), "3");
}

#[test]
fn every_failed_check_is_a_failure_result_saying_what_to_fix() {
    let s = Store::examples();
    // A Closed room with explicit members for the membership rule.
    s.c(r#"new_cs_persistent_chat_room(#{Name: "Members Only", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"});
set_cs_persistent_chat_room("pc01.contoso.com\\Members Only", #{Members: "sip:annb@contoso.com"})"#)
        .ok();
    let members_only = r#", ChatRoomUri: "pc01.contoso.com\\Members Only""#;
    let cases: Vec<(String, &str, &str)> = vec![
        (
            annb_bobk("").replace("\"pc01.contoso.com\", Sender", "\"pc09.contoso.com\", Sender"),
            "'pc09.contoso.com' is not a pool of the topology",
            "pc01.contoso.com, pc02.contoso.com",
        ),
        (
            client("sip:board@contoso.com", "sip:bobk@contoso.com", ("contoso\\annb", "contoso\\bobk"), ""),
            "the sender sip:board@contoso.com is not a SIP-enabled user",
            "get_cs_user(\"sip:board@contoso.com\")",
        ),
        (
            client("sip:annb@contoso.com", "sip:leaver@contoso.com", ("contoso\\annb", "contoso\\bobk"), ""),
            "the receiver sip:leaver@contoso.com is not a SIP-enabled user",
            "import_cs_ad_principal",
        ),
        (
            client("sip:annb@contoso.com", "sip:ohansen@contoso.com", ("contoso\\annb", "contoso\\ohansen"), ""),
            "the receiver 'sip:ohansen@contoso.com' may not use Persistent Chat: the effective policy Global has EnablePersistentChat False",
            "set_cs_persistent_chat_policy(\"Global\", #{EnablePersistentChat: true})",
        ),
        (
            client("sip:annb@contoso.com", "sip:ceo@contoso.com", ("contoso\\annb", "contoso\\ceo"), ""),
            "none of the 4 chat rooms of pc01.contoso.com lets sip:annb@contoso.com post and sip:ceo@contoso.com join",
            "Bring sip:ceo@contoso.com into the scope of category 'Finance'",
        ),
        (
            annb_bobk(r#", ChatRoomUri: "pc01.contoso.com\\Draft""#),
            "chat room 'pc01.contoso.com\\Draft' is disabled",
            "set_cs_persistent_chat_room(\"pc01.contoso.com\\\\Draft\", #{Disabled: false})",
        ),
        (
            annb_bobk(members_only),
            "the receiver 'sip:bobk@contoso.com' may not take part in 'pc01.contoso.com\\Members Only': the room is Closed",
            "#{Members: #{Add: \"sip:bobk@contoso.com\"}}",
        ),
        (
            annb_bobk(r#", ChatRoomUri: "pc01.contoso.com\\NoSuchRoom""#),
            "ChatRoomUri: no chat room 'pc01.contoso.com\\NoSuchRoom'",
            "get_cs_persistent_chat_room()",
        ),
        (
            client("sip:annb@contoso.com", "sip:bobk@contoso.com", ("contoso\\bobk", "contoso\\bobk"), ""),
            "SenderCredential is the account 'contoso\\bobk' (Bob Kelly), not the sender sip:annb@contoso.com given by SenderSipAddress",
            "get_credential(\"contoso\\\\annb\")",
        ),
        (
            client("sip:annb@contoso.com", "sip:bobk@contoso.com", ("contoso\\annb", "nobody@contoso.com"), ""),
            "ReceiverCredential: the account 'nobody@contoso.com' is not a user of the directory",
            "get_credential(\"contoso\\\\bobk\")",
        ),
        (
            client("sip:annb@contoso.com", "sip:annb@contoso.com", ("contoso\\annb", "contoso\\annb"), ""),
            "the sender and the receiver are the same user",
            "two different SIP addresses",
        ),
        (
            r#"test_cs_persistent_chat_message("pc01.contoso.com")"#.to_string(),
            "no health-monitoring test users are stored for pool 'pc01.contoso.com'",
            "Setup: true",
        ),
    ];
    for (code, error, diagnosis) in cases {
        let out = task(&s, &code);
        assert_eq!(field(&out, "Result"), "Failure", "{code}\n{out}");
        assert!(out["Latency"].is_null(), "{out}");
        assert!(field(&out, "Error").contains(error), "{code}\n error: {}\n want: {error}", field(&out, "Error"));
        assert!(
            field(&out, "Diagnosis").contains(diagnosis),
            "{code}\n diagnosis: {}\n want: {diagnosis}",
            field(&out, "Diagnosis")
        );
    }
}

#[test]
fn a_pool_without_rooms_fails_the_test() {
    let s = Store::demo();
    s.c(r#"new_cs_persistent_chat_policy("site:Dublin", #{EnablePersistentChat: true})"#).ok();
    let out = task(&s, &annb_bobk(""));
    assert_eq!(field(&out, "Result"), "Failure");
    assert_eq!(field(&out, "Error"), "no chat room exists on pc01.contoso.com");
    assert!(field(&out, "Diagnosis").starts_with("Create a room both users can join: new_cs_persistent_chat_room("));
    // With chat disabled by the Global policy, the policy is what the test reports first.
    let s = Store::demo();
    let out = task(&s, &annb_bobk(""));
    assert!(field(&out, "Error").starts_with("the sender 'sip:annb@contoso.com' may not use Persistent Chat"), "{out}");
}

#[test]
fn setup_stores_the_test_users_that_server_platform_tests_use() {
    let s = Store::examples();
    // The health users (OU=IT) are in the scope of the Projects category only.
    s.c(r#"new_cs_persistent_chat_room(#{Name: "Health", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Projects", Privacy: "Open"})"#).ok();
    let before = s.dump();
    let run = s
        .run(&["--json", "-c", r#"test_cs_persistent_chat_message("pc01.contoso.com", #{Setup: true, TestUser1SipAddress: "sip:watch1@contoso.com", TestUser2SipAddress: "watch2@contoso.com"})"#])
        .ok();
    let out: Value = serde_json::from_str(run.stdout.trim()).expect("json");
    assert_eq!(field(&out, "Result"), "Success");
    assert_eq!(field(&out, "TargetFqdn"), "pc01.contoso.com");
    assert!(
        field(&out, "Diagnosis").contains("sip:watch1@contoso.com (sender) and sip:watch2@contoso.com (receiver)"),
        "{out}"
    );
    let after = s.dump();
    assert_ne!(after, before);
    assert_eq!(
        s.rows(None, "SELECT pool, user1, user2 FROM health_test_users"),
        ["pc01.contoso.com|sip:watch1@contoso.com|sip:watch2@contoso.com"]
    );

    let code = r#"let v; let r = test_cs_persistent_chat_message("pc01.contoso.com", #{OutVerboseVariable: "v"}); r.Result + "|" + v"#;
    let run = s.c(code).ok();
    let text = run.stdout.trim();
    assert!(text.starts_with("Success|"), "{text}");
    assert!(text.contains("Room [Success]: pc01.contoso.com\\Health (the first room both users can use)"), "{text}");
    assert!(
        text.contains("sip:watch1@contoso.com posted in pc01.contoso.com\\Health and sip:watch2@contoso.com read it"),
        "{text}"
    );
    assert!(
        text.contains("sip:watch2@contoso.com posted in pc01.contoso.com\\Health and sip:watch1@contoso.com read it"),
        "{text}"
    );
    assert_eq!(s.dump(), after, "the test left something behind");

    // A Registrar pool has its own test users and reaches the Persistent Chat pools; an explicit
    // address overrides the stored one.
    s.c(r#"test_cs_persistent_chat_message("fe01.contoso.com", #{Setup: true, TestUser1SipAddress: "sip:annb@contoso.com", TestUser2SipAddress: "sip:bobk@contoso.com"})"#).ok();
    let out = task(&s, r#"test_cs_persistent_chat_message("fe01.contoso.com")"#);
    assert_eq!((field(&out, "Result"), field(&out, "TargetFqdn")), ("Success", "fe01.contoso.com"), "{out}");
    let out = task(
        &s,
        r#"test_cs_persistent_chat_message("fe01.contoso.com", #{ReceiverSipAddress: "sip:ohansen@contoso.com"})"#,
    );
    assert!(field(&out, "Error").starts_with("the receiver 'sip:ohansen@contoso.com'"), "{out}");
    // Under --what-if a Setup stores nothing and says so; running Setup again replaces the pair.
    let before = s.dump();
    let run = s
        .run(&["--what-if", "-c", r#"test_cs_persistent_chat_message("pc01.contoso.com", #{Setup: true, TestUser1SipAddress: "sip:annb@contoso.com", TestUser2SipAddress: "sip:bobk@contoso.com"}).Diagnosis"#])
        .ok();
    assert!(run.stdout.starts_with("What if: Performing the operation \"Test-CsPersistentChatMessage\" on target \"pc01.contoso.com (health test users sip:annb@contoso.com, sip:bobk@contoso.com)\"."), "{}", run.stdout);
    assert!(run.stdout.contains("Not stored (WhatIf)"), "{}", run.stdout);
    assert_eq!(s.dump(), before);
    s.c(r#"test_cs_persistent_chat_message("pc01.contoso.com", #{Setup: true, TestUser1SipAddress: "sip:annb@contoso.com", TestUser2SipAddress: "sip:ceo@contoso.com"})"#).ok();
    let out = task(&s, r#"test_cs_persistent_chat_message("pc01.contoso.com")"#);
    assert!(field(&out, "Error").contains("sip:annb@contoso.com post and sip:ceo@contoso.com join"), "{out}");
}

#[test]
fn setup_and_parameter_mistakes_are_errors_that_change_nothing() {
    let s = Store::examples();
    let line = fails_unchanged(
        &s,
        r#"test_cs_persistent_chat_message("pc01.contoso.com", #{Setup: true, TestUser1SipAddress: "sip:watch1@contoso.com"})"#,
        CMDLET,
        "InvalidArgument",
    );
    assert!(line.contains("-TestUser2SipAddress is required with -Setup $True"), "{line}");
    for (code, id, text) in [
        (
            r#"test_cs_persistent_chat_message("pc01.contoso.com", #{Setup: true, TestUser2SipAddress: "sip:watch2@contoso.com"})"#,
            "InvalidArgument",
            "-TestUser1SipAddress is required",
        ),
        (
            r#"test_cs_persistent_chat_message("pc01.contoso.com", #{Setup: true, TestUser1SipAddress: "sip:watch1@contoso.com", TestUser2SipAddress: "sip:nobody@contoso.com"})"#,
            "NotFound",
            "-TestUser2SipAddress: no user 'sip:nobody@contoso.com'",
        ),
        (
            r#"test_cs_persistent_chat_message("pc01.contoso.com", #{Setup: true, TestUser1SipAddress: "sip:board@contoso.com", TestUser2SipAddress: "sip:watch2@contoso.com"})"#,
            "InvalidArgument",
            "is a contact",
        ),
        (
            r#"test_cs_persistent_chat_message("pc01.contoso.com", #{Setup: true, TestUser1SipAddress: "sip:watch1@contoso.com", TestUser2SipAddress: "watch1@contoso.com"})"#,
            "InvalidArgument",
            "are the same user",
        ),
        (
            r#"test_cs_persistent_chat_message("pc09.contoso.com", #{Setup: true, TestUser1SipAddress: "sip:watch1@contoso.com", TestUser2SipAddress: "sip:watch2@contoso.com"})"#,
            "NotFound",
            "'pc09.contoso.com' is not a pool of the topology",
        ),
        (
            r#"test_cs_persistent_chat_message("pc01.contoso.com", #{TestUser1SipAddress: "sip:watch1@contoso.com"})"#,
            "InvalidArgument",
            "used only with -Setup $True",
        ),
        (
            r#"test_cs_persistent_chat_message("pc01.contoso.com", #{OutLoggerVariable: "$log"})"#,
            "InvalidArgument",
            "without '$'",
        ),
        (
            r#"test_cs_persistent_chat_message("pc01.contoso.com", #{OutLoggerVariable: "ARGS"})"#,
            "InvalidArgument",
            "constant",
        ),
        (
            r#"test_cs_persistent_chat_message("pc01.contoso.com", #{RegistrarPort: 0})"#,
            "OutOfRange",
            "-RegistrarPort 0",
        ),
        (
            r#"test_cs_persistent_chat_message(#{SenderSipAddress: "sip:annb@contoso.com", SenderCredential: get_credential("contoso\\annb"), ReceiverSipAddress: "sip:bobk@contoso.com"})"#,
            "ParameterBinding",
            "ReceiverCredential",
        ),
        (r#"test_cs_persistent_chat_message("pc01.contoso.com", #{WhatIf: true})"#, "ParameterBinding", "WhatIf"),
    ] {
        let line = fails_unchanged(&s, code, CMDLET, id);
        assert!(line.contains(text), "{code}\n{line}");
    }
}

#[test]
fn output_variables_receive_the_log_and_the_verbose_text() {
    let s = Store::examples();
    let code = format!(
        "let log; let verbose;\n{};\nprint(log.Result + \"|\" + log.TargetFqdn + \"|\" + log.Entries.len()); print(log.ToHTML()); print(log.ToXML()); print(verbose);",
        annb_bobk(r#", OutLoggerVariable: "log", OutVerboseVariable: "verbose""#)
    );
    let run = s.c(&code).ok();
    let out = run.stdout;
    let first = out.lines().next().unwrap_or_default();
    let parts: Vec<&str> = first.split('|').collect();
    assert_eq!(parts[..2], ["Success", "pc01.contoso.com"], "{out}");
    assert!(parts[2].parse::<i64>().is_ok_and(|n| n >= 8), "{out}");
    assert!(out.contains("<!DOCTYPE html>") && out.contains("<td>Message</td><td>Success</td>"), "{out}");
    assert!(out.contains("<TestLog Cmdlet=\"Test-CsPersistentChatMessage\" TargetFqdn=\"pc01.contoso.com\" Result=\"Success\" Latency=\""), "{out}");
    assert!(out.contains("Sign-in [Success]: SenderCredential contoso\\annb signs in sip:annb@contoso.com"), "{out}");
    assert!(out.contains("Cleanup [Info]: the test messages were rolled back"), "{out}");

    // A failed test fills the variables too; Verbose: true prints the same steps on stderr.
    let run = s
        .c(r#"let log; test_cs_persistent_chat_message("pc01.contoso.com", #{OutLoggerVariable: "log", Verbose: true}); log.Diagnosis"#)
        .ok();
    assert!(run.stdout.contains("Setup: true"), "{}", run.stdout);
    assert!(run.stderr.lines().all(|l| l.starts_with("VERBOSE: ")), "{}", run.stderr);
    assert!(run.stderr.contains("Result [Failure]"), "{}", run.stderr);

    // ToHTML on anything but a test log is an error.
    let run = s.c(r#"#{a: 1}.ToHTML()"#);
    assert_eq!(run.code, 1);
    assert!(single_error_line(&run).starts_with("ToHTML: not a test log"), "{}", run.stderr);

    // The PowerShell form declares the variable, as PowerShell does.
    let run = s.c(r#"Test-CsPersistentChatMessage pc01.contoso.com -OutLoggerVariable TestLog; $TestLog.Result; $TestLog.Entries.Count -gt 2"#).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[lines.len() - 2..], ["Failure", "True"], "{}", run.stdout);
}
