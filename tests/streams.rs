//! What reaches standard output and standard error: with `--json` exactly one JSON document on
//! stdout; messages for people on stderr; errors and warnings that stand out on a terminal.

mod common;

use common::{ROOT, Store};

fn one_document(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"))
}

#[test]
fn json_stdout_carries_only_the_result() {
    let s = Store::examples();
    let run = s
        .run(&[
            "--json",
            "-c",
            r#"print("hello"); help("Get-CsUser");
               remove_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{WhatIf: true});
               get_cs_service(#{PersistentChatServer: true})"#,
        ])
        .ok();
    let doc = one_document(&run.stdout);
    assert_eq!(doc.as_array().map(|a| a.len()), Some(2));
    for want in ["hello", "What if: Performing the operation \"Remove-CsPersistentChatRoom\"", "Get-CsUser"] {
        assert!(run.stderr.contains(want), "{want} belongs on stderr:\n{}", run.stderr);
    }
}

#[test]
fn json_runbooks_parse_whatever_they_print() {
    let s = Store::examples();
    let run = s.run(&["--json", "--what-if", "run", &format!("{ROOT}/scripts/rooms/disable-unmanaged.rhai")]).ok();
    let doc = one_document(&run.stdout);
    assert!(doc.as_array().is_some_and(|a| !a.is_empty()), "{doc}");
    assert!(run.stderr.contains("What if:"), "{}", run.stderr);
    let run =
        s.run(&["--json", "--what-if", "run", &format!("{ROOT}/scripts/retention.rhai"), "--arg", "Days=30"]).ok();
    assert_eq!(one_document(&run.stdout), serde_json::Value::Null, "a run with no result prints null");
    assert!(run.stderr.contains("Retention:"), "{}", run.stderr);
}
