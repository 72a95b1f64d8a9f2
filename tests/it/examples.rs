//! Every example of every cmdlet's catalog entry runs as a test against the demo store plus the
//! fixtures under tests/fixtures/, and does what it says: a successful example of a Get or New
//! cmdlet shows objects, a read changes nothing, a change (outside WhatIf) is stored, and a
//! failing example fails with its error identifier and changes nothing.

use crate::common;
use std::path::Path;

use common::{ROOT, Store};
use pchat::catalog::{self, Expect, Output};

/// Examples in the catalog; a new example changes this count (a vanished one fails the test).
const EXAMPLES: usize = 228;

/// Examples that select what the example store does not hold (or end in a call that returns
/// nothing): they show an empty answer, not an error.
const SHOW_NOTHING: &[&str] = &[
    r#"get_cs_persistent_chat_state(#{Filter: "*.emea.contoso.com"})"#,
    r#"get_cs_persistent_chat_configuration().filter(|c| c.ParticipantUpdateLimit < 75)"#,
    r#"let c = new_cs_persistent_chat_configuration("site:Oslo", #{InMemory: true}); c.DefaultChatHistory = 60; set_cs_persistent_chat_configuration(#{Instance: c})"#,
    r#"get_cs_persistent_chat_compliance_configuration().filter(|c| c.AddUserDetails == true)"#,
    r#"get_cs_persistent_chat_room(#{Member: "sip:annb@contoso.com", Privacy: "Secret"})"#,
    r#"get_cs_persistent_chat_room(#{ChatContentExceedsMB: 100, ResultSize: 10})"#,
    r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).filter(|r| r.Privacy == "Secret").set_cs_persistent_chat_room(#{Disabled: true})"#,
    r#"get_cs_persistent_chat_endpoint(#{Filter: "ConferencingPolicy -ne $Null"})"#,
    r#"get_cs_persistent_chat_eligible_principal(#{PersistentChatPoolFqdn: "pc01.contoso.com", Room: "FinanceRoom", Filter: "*beebe*"})"#,
    r#"get_cs_user(#{Filter: "PersistentChatPolicy -eq \"SalesChatPolicy\""})"#,
    r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{UserUri: "sip:annb@contoso.com", StartDate: "1/1/2020"})"#,
];

/// Run an example in its own working directory (examples may write files such as pchat.zip),
/// with the repository's `scripts` folder reachable, so the repository is never written to.
fn run_isolated(s: &Store, code: &str) -> common::Run {
    let cwd = s.dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).expect("cwd");
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(Path::new(ROOT).join("scripts"), cwd.join("scripts"));
    s.run_in(&cwd, &["--yes", "-c", code])
}

/// What a successful example must show beyond its exit code, or `None` when it does.
fn result_problem(cmdlet: &catalog::Cmdlet, code: &str, stdout: &str, changed: bool) -> Option<&'static str> {
    let what_if = code.contains("WhatIf: true");
    let shows = matches!(cmdlet.output, Output::Collection(_) | Output::Object(_));
    match (shows && !SHOW_NOTHING.contains(&code), stdout.trim().is_empty()) {
        (true, true) => return Some("shows no object"),
        (false, false) if SHOW_NOTHING.contains(&code) => return Some("shows objects: take it off SHOW_NOTHING"),
        _ => {}
    }
    if cmdlet.is_read_only() && changed {
        return Some("a read changed the store");
    }
    if what_if && changed {
        return Some("WhatIf changed the store");
    }
    None
}

#[test]
fn catalog_examples_behave_as_documented() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for cmdlet in catalog::all() {
        let mut succeeded = false;
        for ex in cmdlet.examples {
            ran += 1;
            let s = Store::examples();
            let code = ex.code.replace("\"scripts/demo/topology.json\"", &format!("{:?}", s.demo_topology()));
            let before = s.dump();
            let run = run_isolated(&s, &code);
            let changed = s.dump() != before;
            let problem = match ex.expect {
                Expect::Ok if run.code != 0 => Some("fails"),
                Expect::Ok => result_problem(cmdlet, ex.code, &run.stdout, changed),
                Expect::Error(id) if run.code == 0 || !run.stderr.contains(&format!(": {id}:")) => {
                    Some("does not fail with its error identifier")
                }
                // A terminating error changes nothing (a piped call keeps the items done before it).
                Expect::Error(_) if changed && run.code != 3 => Some("fails but changed the store"),
                Expect::Error(_) => None,
            };
            succeeded |= ex.expect == Expect::Ok && problem.is_none();
            if let Some(problem) = problem {
                failures.push(format!(
                    "{} example `{}` (expected {:?}) {problem}: exit {}\n{}{}",
                    cmdlet.name, ex.code, ex.expect, run.code, run.stdout, run.stderr
                ));
            }
        }
        // Every cmdlet is registered and reaches its handler: one of its examples succeeds.
        if !succeeded {
            failures.push(format!("{} has no successful example", cmdlet.name));
        }
    }
    assert!(failures.is_empty(), "{} of {ran} examples failed:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(ran, EXAMPLES, "examples in the catalog");
}
