//! Acceptance, written as an administrator works: a long session fed on standard input (one
//! process, as a pasted REPL session), then a chain of runbooks that create, change, read back and
//! verify across processes. Every step checks what the store really holds.

use crate::common;

use common::{ROOT, Store};

/// One process: a morning's work typed into pchat, checked as it goes (a failed check throws).
const SESSION: &str = r#"
fn check(ok, what) { if !ok { throw `check failed: ${what}`; } }

// A new category for the legal team, scoped to Finance, with a room managed by Ann.
new_cs_persistent_chat_category(#{Name: "Legal", PersistentChatPoolFqdn: "pc01.contoso.com", Description: "Legal work"});
set_cs_persistent_chat_category("pc01.contoso.com\\Legal", #{AllowedMembers: #{Add: "OU=Finance,DC=contoso,DC=com"}});
new_cs_persistent_chat_room(#{Name: "Contracts", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Legal", Privacy: "Secret"});
set_cs_persistent_chat_room("pc01.contoso.com\\Contracts", #{Managers: #{Add: "sip:annb@contoso.com"}, Members: #{Add: ["sip:annb@contoso.com", "sip:bobk@contoso.com"]}});

// Read it back by every name an administrator uses for Ann.
for who in ["sip:annb@contoso.com", "annb@contoso.com", "contoso\\annb", "Ann Beebe", "CN=Ann Beebe,OU=Finance,DC=contoso,DC=com"] {
    let managed = get_cs_persistent_chat_room(#{Manager: who}).map(|r| r.Identity);
    check("pc01.contoso.com\\Contracts" in managed, `Ann (${who}) manages Contracts`);
}
check(get_cs_persistent_chat_room(#{Member: "contoso\\bobk"}).filter(|r| r.Name == "Contracts").len() == 1, "Bob is a member");

// Chat traffic as logon names; the messages carry SIP addresses.
new_cs_persistent_chat_policy("Tag:Legal", #{EnablePersistentChat: true});
grant_cs_persistent_chat_policy("contoso\\annb", #{PolicyName: "Legal"});
grant_cs_persistent_chat_policy("contoso\\bobk", #{PolicyName: "Legal"});
send_cs_persistent_chat_message("pc01.contoso.com\\Contracts", #{SenderSipAddress: "contoso\\annb", Message: "Draft v1 attached", PostedAt: "2024-01-10T09:00:00Z"});
send_cs_persistent_chat_message("pc01.contoso.com\\Contracts", #{SenderSipAddress: "contoso\\bobk", Message: "Reviewed", PostedAt: "2024-01-11T09:00:00Z"});
check(get_cs_persistent_chat_message("pc01.contoso.com\\Contracts", #{UserUri: "Ann Beebe"}).len() == 1, "Ann's message");

// A mistake is an error, recorded, and the session goes on.
get_cs_persistent_chat_room(#{Member: "contoso\\nobody"});
check(last_errors().len() == 1 && last_errors()[0].ErrorId == "NotFound", "an unknown user is NotFound");
clear_errors();

// Clear old content under WhatIf first: nothing changes.
clear_cs_persistent_chat_room("pc01.contoso.com\\Contracts", #{EndDate: "2024-01-10", WhatIf: true});
check(get_cs_persistent_chat_message("pc01.contoso.com\\Contracts").len() == 2, "WhatIf kept both messages");
clear_cs_persistent_chat_room("pc01.contoso.com\\Contracts", #{EndDate: "2024-01-10", Confirm: false});
let left = get_cs_persistent_chat_message("pc01.contoso.com\\Contracts");
check(left.len() == 1 && left[0].Text == "Reviewed", "only the newer message is left");

// Disable, re-enable through a pipeline, and report.
get_cs_persistent_chat_room(#{Category: "Legal"}).set_cs_persistent_chat_room(#{Disabled: true});
check(get_cs_persistent_chat_room("pc01.contoso.com\\Contracts")[0].Disabled, "disabled");
get_cs_persistent_chat_room(#{Category: "Legal"}).set_cs_persistent_chat_room(#{Disabled: false});
let r = get_cs_persistent_chat_room("pc01.contoso.com\\Contracts")[0];
#{ Room: r.Identity, Privacy: r.Privacy, Disabled: r.Disabled, Managers: r.Managers, Messages: left.len() }
"#;

#[test]
fn an_administrators_session_on_standard_input() {
    let s = Store::demo();
    let run = s.stdin(&["--json"], SESSION);
    assert_eq!(run.code, 3, "ran to the end with the one deliberate error:\n{}\n{}", run.stdout, run.stderr);
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(
        doc,
        serde_json::json!({"Room": "pc01.contoso.com\\Contracts", "Privacy": "Secret", "Disabled": false,
                           "Managers": ["sip:annb@contoso.com"], "Messages": 1})
    );
    assert!(
        run.stderr.contains("Get-CsPersistentChatRoom: NotFound: -Member: no user 'contoso\\nobody'"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("What if: Performing the operation \"Clear-CsPersistentChatRoom\""), "{}", run.stderr);
    // The next process sees exactly what the session left.
    let again = s.c(r#"get_cs_persistent_chat_room(#{Manager: "contoso\\annb"}).map(|r| r.Identity)"#).ok();
    assert_eq!(again.stdout.trim(), "pc01.contoso.com\\Contracts");
}

const CREATE: &str = r#"
const PARAMS = #{
    Category: #{ type: "string", mandatory: true, help: "category to create on pc01" },
    Rooms: #{ type: "string[]", mandatory: true, help: "rooms to create in it" },
    Manager: #{ type: "string", mandatory: true, help: "SIP address of their manager" },
};
new_cs_persistent_chat_category(#{Name: ARGS.Category, PersistentChatPoolFqdn: "pc01.contoso.com", ErrorAction: "Stop"});
set_cs_persistent_chat_category("pc01.contoso.com\\" + ARGS.Category, #{AllowedMembers: "DC=contoso,DC=com", ErrorAction: "Stop"});
for name in ARGS.Rooms {
    new_cs_persistent_chat_room(#{Name: name, PersistentChatPoolFqdn: "pc01.contoso.com", Category: ARGS.Category, ErrorAction: "Stop"});
}
get_cs_persistent_chat_room(#{Category: ARGS.Category}).set_cs_persistent_chat_room(#{Managers: #{Add: ARGS.Manager}});
print(`created ${ARGS.Rooms.len()} rooms in ${ARGS.Category}`);
"#;

const CHANGE: &str = r#"
const PARAMS = #{
    Category: #{ type: "string", mandatory: true, help: "category whose rooms change" },
    Privacy: #{ type: "string", default: "Secret", help: "their new privacy" },
    Days: #{ type: "int", default: 30, help: "keep this many days of content" },
};
get_cs_persistent_chat_room(#{Category: ARGS.Category}).set_cs_persistent_chat_room(#{Privacy: ARGS.Privacy});
print(`privacy ${ARGS.Privacy}, retention ${ARGS.Days} days`);
"#;

const VERIFY: &str = r#"
const PARAMS = #{
    Category: #{ type: "string", mandatory: true, help: "category to verify" },
    Expect: #{ type: "int", mandatory: true, help: "how many rooms it must hold" },
    Privacy: #{ type: "string", mandatory: true, help: "the privacy every room must have" },
    Manager: #{ type: "string", mandatory: true, help: "who must manage every room (any identity form)" },
};
let rooms = get_cs_persistent_chat_room(#{Category: ARGS.Category});
if rooms.len() != ARGS.Expect { throw `expected ${ARGS.Expect} rooms, found ${rooms.len()}`; }
let wrong = rooms.filter(|r| r.Privacy != ARGS.Privacy);
if wrong.len() > 0 { throw `wrong privacy: ${wrong.map(|r| r.Identity)}`; }
let managed = get_cs_persistent_chat_room(#{Manager: ARGS.Manager, Category: ARGS.Category});
if managed.len() != rooms.len() { throw `${ARGS.Manager} manages ${managed.len()} of ${rooms.len()}`; }
rooms.map(|r| #{ Identity: r.Identity, Privacy: r.Privacy })
"#;

#[test]
fn a_chain_of_runbooks_across_processes() {
    let s = Store::demo();
    s.allow_own_folder();
    let dir = s.dir.path();
    for (name, code) in [("create.rhai", CREATE), ("change.rhai", CHANGE), ("verify.rhai", VERIFY)] {
        std::fs::write(dir.join(name), code).expect("runbook");
    }
    let rb = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let run = s
        .run(&[
            "run",
            &rb("create.rhai"),
            "--arg",
            "category=Ops",
            "--arg",
            "ROOMS=Ops Desk, Ops Night",
            "--arg",
            "manager=sip:annb@contoso.com",
        ])
        .ok();
    assert_eq!(run.stdout.trim(), "created 2 rooms in Ops");

    // Verification fails honestly before the change (wrong privacy), exit 1.
    let verify =
        ["--arg", "Category=Ops", "--arg", "Expect=2", "--arg", "Privacy=Secret", "--arg", "Manager=contoso\\annb"];
    let mut argv = vec!["run".to_string(), rb("verify.rhai")];
    argv.extend(verify.iter().map(|a| a.to_string()));
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let run = s.run(&argv);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("wrong privacy"), "{}", run.stderr);

    // A mistyped argument changes nothing and runs nothing.
    let before = s.dump();
    let run = s.run(&["run", &rb("change.rhai"), "--arg", "Category=Ops", "--arg", "Dayz=7"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("did you mean 'Days'?"), "{}", run.stderr);
    assert_eq!(s.dump(), before);

    // The plan, then the change.
    let run = s.run(&["--what-if", "run", &rb("change.rhai"), "--arg", "category=Ops"]).ok();
    assert_eq!(run.stdout.matches("What if:").count(), 2, "{}", run.stdout);
    assert_eq!(s.dump(), before);
    s.run(&["run", &rb("change.rhai"), "--arg", "category=Ops"]).ok();

    let mut json = vec!["--json"];
    json.extend(argv.iter());
    let run = s.run(&json).ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(
        doc,
        serde_json::json!([{"Identity": "pc01.contoso.com\\Ops Desk", "Privacy": "Secret"},
                           {"Identity": "pc01.contoso.com\\Ops Night", "Privacy": "Secret"}])
    );

    // The shipped runbooks on the same store: bulk-create more rooms, export, report.
    let csv = dir.join("more.csv");
    std::fs::write(&csv, "Pool,Category,Room\npc01.contoso.com,Ops,Ops Weekend\n").expect("csv");
    let file = format!("File={}", csv.display());
    let run = s.run(&["run", &format!("{ROOT}/scripts/rooms/bulk-create.rhai"), "--arg", &file]).ok();
    assert!(run.stdout.contains("0 categories and 1 rooms created"), "{}", run.stdout);
    let exports = dir.join("exports");
    std::fs::create_dir_all(&exports).expect("folder");
    let folder = format!("Folder={}", exports.display());
    let run = s.run(&["run", &format!("{ROOT}/scripts/nightly_export.rhai"), "--arg", &folder, "--arg", "keep=3"]).ok();
    assert!(run.stdout.contains("of 3)"), "{}", run.stdout);
    let run = s
        .run(&[
            "--json",
            "run",
            &format!("{ROOT}/scripts/rooms/disable-unmanaged.rhai"),
            "--arg",
            "pool=pc01.contoso.com",
        ])
        .ok();
    let disabled: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert!(disabled.as_array().is_some_and(|a| a.iter().any(|r| r == "pc01.contoso.com\\Ops Weekend")), "{disabled}");
    let still = s.c(r#"get_cs_persistent_chat_room("pc01.contoso.com\\Ops Desk")[0].Disabled"#).ok();
    assert_eq!(still.stdout.trim(), "False", "managed rooms stay enabled");
}
