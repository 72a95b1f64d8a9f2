//! Categories, rooms, add-ins and eligibility : examples as
//! Rhai, bad inputs leaving the store unchanged, pipelines, WhatIf, and the room runbooks.

use crate::common;
use common::{ROOT, Store, single_error_line};

/// The demo store plus the rooms fixture (Finance, Announcements, Projects; FinanceRoom,
/// CEO Updates, Draft; the BudgetTracker add-in).
fn rooms_store() -> Store {
    let s = Store::demo();
    s.run(&["--yes", "run", &format!("{ROOT}/tests/fixtures/2_rooms.rhai")]).ok();
    s
}

/// Lines printed by `code` (identities and the like).
fn lines(s: &Store, code: &str) -> Vec<String> {
    s.c(code).ok().stdout.lines().map(str::to_string).collect()
}

fn ids(s: &Store, code: &str) -> Vec<String> {
    lines(s, &format!("{code}.map(|x| x.Identity)"))
}

#[test]
fn categories_are_created_with_documented_defaults_and_edited_with_list_modifiers() {
    let s = rooms_store();
    let run = s
        .run(&[
            "--json",
            "-c",
            r#"new_cs_persistent_chat_category(#{Name: "Legal", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
        ])
        .ok();
    let c: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(c["Identity"], "pc01.contoso.com\\Legal");
    assert_eq!(
        (c["FileUpload"].clone(), c["Invites"].clone(), c["ChatHistory"].clone()),
        (false.into(), false.into(), true.into())
    );
    assert_eq!(c["AllowedMembers"], serde_json::json!([]));
    let code = r#"
        set_cs_persistent_chat_category("pc01.contoso.com\\legal", #{AllowedMembers: #{Add: ["sip:annb@contoso.com", "OU=Finance,DC=contoso,DC=com"]}});
        set_cs_persistent_chat_category("pc01.contoso.com\\Legal", #{DeniedMembers: #{Add: "sip:tempuser@contoso.com"}, Creators: #{Add: "sip:annb@contoso.com"}, Invitations: true, FileUpload: true, ChatHistory: false, Description: "Counsel"});
        let c = get_cs_persistent_chat_category("pc01.contoso.com\\Legal")[0];
        print(c.AllowedMembers); print(c.DeniedMembers); print(c.Creators); print([c.Invites, c.FileUpload, c.ChatHistory, c.Description]);
        set_cs_persistent_chat_category("pc01.contoso.com\\Legal", #{AsObject: true, Creators: #{Remove: "Ann Beebe"}});
        print(get_cs_persistent_chat_category("pc01.contoso.com\\Legal")[0].Creators);
        set_cs_persistent_chat_category("pc01.contoso.com\\Legal", #{AllowedMembers: ()});
        print(get_cs_persistent_chat_category("pc01.contoso.com\\Legal")[0].AllowedMembers);
        print(get_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{AsObject: true})[0].Creators);
    "#;
    assert_eq!(
        s.c(code).ok().stdout.lines().collect::<Vec<_>>(),
        [
            r#"["sip:annb@contoso.com", "OU=Finance,DC=contoso,DC=com"]"#,
            r#"["sip:tempuser@contoso.com"]"#,
            r#"["sip:annb@contoso.com"]"#,
            r#"[true, true, false, "Counsel"]"#,
            "[]",
            "[]",
            r#"["Ann Beebe"]"#,
        ]
    );
    assert_eq!(
        ids(&s, r#"get_cs_persistent_chat_category().filter(|c| c.Creators.contains("sip:annb@contoso.com"))"#),
        ["pc01.contoso.com\\Finance"]
    );
    assert_eq!(
        ids(&s, r#"get_cs_persistent_chat_category(#{PersistentChatPoolFqdn: "pc01.contoso.com"})"#),
        [
            "pc01.contoso.com\\Announcements",
            "pc01.contoso.com\\Finance",
            "pc01.contoso.com\\Legal",
            "pc01.contoso.com\\Projects"
        ]
    );
}

#[test]
fn scope_follows_groups_subtrees_and_denied_and_rejects_ineligible_entries() {
    let s = rooms_store();
    let set = |code: &str| s.c(code);
    // FinanceChat (a group inside OU=Finance) is in scope through the OU; Ken (Sales) is not.
    set(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Members: #{Add: "CN=FinanceChat,OU=Finance,DC=contoso,DC=com"}, Managers: #{Add: "sip:annb@contoso.com"}})"#).ok();
    let run = set(
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Managers: #{Add: ["sip:bobk@contoso.com", "sip:kenmyer@contoso.com"]}})"#,
    );
    assert!(
        single_error_line(&run)
            .starts_with("Set-CsPersistentChatRoom: NotEligible: -Managers: 'sip:kenmyer@contoso.com'"),
        "{}",
        run.stderr
    );
    // Denied wins over Allowed, and the whole call changed nothing (Bob was not added either).
    set(r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{DeniedMembers: #{Add: "sip:bobk@contoso.com"}})"#).ok();
    let run = set(
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Managers: #{Add: "sip:bobk@contoso.com"}})"#,
    );
    assert!(single_error_line(&run).contains(": NotEligible: "), "{}", run.stderr);
    assert_eq!(
        lines(&s, r#"get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")[0].Managers"#),
        ["sip:annb@contoso.com"]
    );
    // Nested groups: ChatSupportGroup contains HelpDeskTier2; allowing the outer group admits Ida.
    set(r#"new_cs_persistent_chat_category(#{Name: "Support", PersistentChatPoolFqdn: "pc01.contoso.com"})"#).ok();
    set(r#"set_cs_persistent_chat_category("pc01.contoso.com\\Support", #{AllowedMembers: "CN=ChatSupportGroup,OU=IT,DC=contoso,DC=com", Creators: #{Add: "CN=Ida Quinn,OU=IT,DC=contoso,DC=com"}})"#).ok();
    assert_eq!(
        lines(&s, r#"get_cs_persistent_chat_category("pc01.contoso.com\\Support")[0].Creators"#),
        [format!("sip:{}@contoso.com", ida_sip_user(&s))]
    );
    // Creators are checked against the scope as it stands after the call; existing entries are never re-validated.
    let run = set(
        r#"set_cs_persistent_chat_category("pc01.contoso.com\\Support", #{AllowedMembers: (), Creators: #{Add: "sip:annb@contoso.com"}})"#,
    );
    assert!(
        single_error_line(&run)
            .contains("Set-CsPersistentChatCategory: NotEligible: -Creators: 'sip:annb@contoso.com'"),
        "{}",
        run.stderr
    );
    set(r#"set_cs_persistent_chat_category("pc01.contoso.com\\Support", #{AllowedMembers: ()})"#).ok();
    assert_eq!(lines(&s, r#"get_cs_persistent_chat_category("pc01.contoso.com\\Support")[0].Creators.len()"#), ["1"]);
    // An empty AllowedMembers admits nobody.
    let run = set(
        r#"set_cs_persistent_chat_category("pc01.contoso.com\\Support", #{Creators: #{Add: "sip:annb@contoso.com"}})"#,
    );
    assert!(single_error_line(&run).contains(": NotEligible: "));
}

/// The local part of Ida Quinn's SIP address as the demo directory spells it.
fn ida_sip_user(s: &Store) -> String {
    let sip = lines(s, r#"get_cs_ad_principal("CN=Ida Quinn,OU=IT,DC=contoso,DC=com")[0].SipAddress"#).remove(0);
    sip.trim_start_matches("sip:").split('@').next().unwrap_or_default().to_string()
}

#[test]
fn bad_inputs_give_their_error_and_leave_the_store_unchanged() {
    let s = rooms_store();
    let before = s.dump();
    let cases = [
        (
            r#"new_cs_persistent_chat_room(#{Name: "X", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "NoSuchCategory"})"#,
            "New-CsPersistentChatRoom: NotFound:",
        ),
        (
            r#"new_cs_persistent_chat_category(#{Name: "X", PersistentChatPoolFqdn: "pc09.contoso.com"})"#,
            "New-CsPersistentChatCategory: NotFound:",
        ),
        (r#"new_cs_persistent_chat_category(#{Name: "X"})"#, "New-CsPersistentChatCategory: InvalidArgument:"),
        (
            r#"new_cs_persistent_chat_category(#{Name: "finance", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
            "New-CsPersistentChatCategory: AlreadyExists:",
        ),
        (
            r#"new_cs_persistent_chat_room(#{Name: "financeroom", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"})"#,
            "New-CsPersistentChatRoom: AlreadyExists:",
        ),
        (
            r#"new_cs_persistent_chat_addin(#{Name: "budgettracker", PersistentChatPoolFqdn: "pc01.contoso.com", Url: "https://x.contoso.com"})"#,
            "New-CsPersistentChatAddin: AlreadyExists:",
        ),
        (
            r#"new_cs_persistent_chat_addin(#{Name: "Y", PersistentChatPoolFqdn: "pc01.contoso.com", Url: "ftp://x"})"#,
            "New-CsPersistentChatAddin: InvalidArgument:",
        ),
        (
            r#"new_cs_persistent_chat_room(#{Name: "Y", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance", Addin: "Nope"})"#,
            "New-CsPersistentChatRoom: NotFound:",
        ),
        (
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Managers: #{Add: "sip:kenmyer@contoso.com"}, Disabled: true})"#,
            "Set-CsPersistentChatRoom: NotEligible:",
        ),
        (
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Presenters: #{Add: "sip:annb@contoso.com"}})"#,
            "Set-CsPersistentChatRoom: InvalidOperation:",
        ),
        (
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Members: #{Add: "sip:nobody@contoso.com"}})"#,
            "Set-CsPersistentChatRoom: NotFound:",
        ),
        (
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Name: "Draft"})"#,
            "Set-CsPersistentChatRoom: AlreadyExists:",
        ),
        (
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Category: "pc02.contoso.com\\Finance"})"#,
            "Set-CsPersistentChatRoom: InvalidArgument:",
        ),
        (
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Category: "Nowhere"})"#,
            "Set-CsPersistentChatRoom: NotFound:",
        ),
        (
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\Nope", #{Disabled: true})"#,
            "Set-CsPersistentChatRoom: NotFound:",
        ),
        (
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{Members: #{Add: "sip:annb@contoso.com"}})"#,
            "Set-CsPersistentChatCategory: ParameterBinding:",
        ),
        (
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{DeniedMembers: #{Add: "CN=ChatSupportGroup.OU=IT,DC=contoso,DC=com"}})"#,
            "Set-CsPersistentChatCategory: NotFound:",
        ),
        (
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{AsObject: true, AllowedMembers: #{Add: "* Beebe"}})"#,
            "Set-CsPersistentChatCategory: InvalidArgument: -AllowedMembers: '* Beebe' contains wildcards",
        ),
        (
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{Name: "Projects"})"#,
            "Set-CsPersistentChatCategory: AlreadyExists:",
        ),
        (
            r#"get_cs_persistent_chat_room(#{Category: "Finance", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
            "Get-CsPersistentChatRoom: AmbiguousParameterSet:",
        ),
        (
            r#"get_cs_persistent_chat_room(#{Identity: "pc01.contoso.com\\Draft", Privacy: "Open"})"#,
            "Get-CsPersistentChatRoom: AmbiguousParameterSet:",
        ),
        (
            r#"get_cs_persistent_chat_room(#{Filter: "Fin", Category: "Finance"})"#,
            "Get-CsPersistentChatRoom: AmbiguousParameterSet:",
        ),
        (r#"get_cs_persistent_chat_room(#{Category: "Nope"})"#, "Get-CsPersistentChatRoom: NotFound:"),
        (
            r#"get_cs_persistent_chat_eligible_principal(#{Category: "Finance", Room: "FinanceRoom"})"#,
            "Get-CsPersistentChatEligiblePrincipal: AmbiguousParameterSet:",
        ),
        (
            r#"get_cs_persistent_chat_eligible_principal(#{Room: "FinanceRoom", Presenters: true})"#,
            "Get-CsPersistentChatEligiblePrincipal: InvalidOperation:",
        ),
        (
            r#"remove_cs_persistent_chat_category("pc01.contoso.com\\Finance")"#,
            "Remove-CsPersistentChatCategory: NotEmpty:",
        ),
        (
            r#"remove_cs_persistent_chat_addin("pc01.contoso.com\\BudgetTracker")"#,
            "Remove-CsPersistentChatAddin: InvalidOperation: confirmation is required",
        ),
        (
            r#"new_cs_persistent_chat_room(#{Name: "Z", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance", WhatIf: true})"#,
            "New-CsPersistentChatRoom: ParameterBinding:",
        ),
    ];
    for (code, want) in cases {
        let run = s.runbook("bad.rhai", &format!("{code};"), &[]);
        assert_ne!(run.code, 0, "{code}");
        let line = single_error_line(&run);
        assert!(line.starts_with(want), "{code}\n got: {line}\nwant: {want}");
        assert_eq!(s.dump(), before, "{code} changed the store");
    }
}

#[test]
fn room_lifecycle_presenters_moves_renames_and_as_object() {
    let s = rooms_store();
    let run = s.run(&["--json", "-c", r#"new_cs_persistent_chat_room(#{Name: "Treasury", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"})"#]).ok();
    let r: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(
        (
            r["Type"].as_str(),
            r["Privacy"].as_str(),
            r["Invitations"].as_str(),
            r["Disabled"].as_bool(),
            r["ChatContentSizeMB"].as_f64()
        ),
        (Some("Normal"), Some("Closed"), Some("Inherit"), Some(false), Some(0.0))
    );
    let code = r#"
        // Type is applied before Presenters in one call.
        set_cs_persistent_chat_room("pc01.contoso.com\\Treasury", #{Type: "Auditorium", Presenters: #{Replace: "sip:annb@contoso.com"}});
        set_cs_persistent_chat_room("pc01.contoso.com\\Treasury", #{Name: "Treasury Desk", Category: "Projects", Privacy: "Secret", Invitations: "False", Addin: "BudgetTracker", Description: "Cash"});
        // Renaming the category and the add-in keeps the room attached to both.
        set_cs_persistent_chat_category("pc01.contoso.com\\Projects", #{Name: "Programmes"});
        set_cs_persistent_chat_addin("pc01.contoso.com\\BudgetTracker", #{Name: "BudgetBoard"});
        let r = get_cs_persistent_chat_room("pc01.contoso.com\\treasury desk", #{AsObject: true})[0];
        print([r.Identity, r.Category, r.Type, r.Privacy, r.Invitations, r.Addin, r.Description]);
        print(r.Presenters);
        set_cs_persistent_chat_room("pc01.contoso.com\\Treasury Desk", #{Addin: ""});
        print(get_cs_persistent_chat_room("pc01.contoso.com\\Treasury Desk")[0].Addin);
    "#;
    assert_eq!(
        lines(&s, code),
        [
            r#"["pc01.contoso.com\\Treasury Desk", "Programmes", "Auditorium", "Secret", "False", "BudgetBoard", "Cash"]"#,
            r#"["Ann Beebe"]"#,
            "",
        ]
    );
    s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Members: #{Add: "CN=FinanceLeads,OU=Finance,DC=contoso,DC=com"}})"#).ok();
    assert_eq!(lines(&s, r#"get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")[0].Members.len()"#), ["1"]);
    s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Members: ()})"#).ok();
    assert_eq!(lines(&s, r#"get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")[0].Members.len()"#), ["0"]);
    s.c(r#"remove_cs_persistent_chat_room("pc01.contoso.com\\Draft")"#).ok();
    assert_eq!(
        ids(&s, "get_cs_persistent_chat_room()"),
        ["pc01.contoso.com\\CEO Updates", "pc01.contoso.com\\FinanceRoom", "pc01.contoso.com\\Treasury Desk"]
    );
}

#[test]
fn get_room_filters_combine_in_a_deterministic_order() {
    let s = rooms_store();
    s.c(r#"
        new_cs_persistent_chat_category(#{Name: "Finance", PersistentChatPoolFqdn: "pc02.contoso.com"});
        set_cs_persistent_chat_category("pc02.contoso.com\\Finance", #{AllowedMembers: "DC=contoso,DC=com"});
        new_cs_persistent_chat_room(#{Name: "Budget 2020", PersistentChatPoolFqdn: "pc02.contoso.com", Category: "Finance", Privacy: "Secret"});
        set_cs_persistent_chat_room("pc02.contoso.com\\Budget 2020", #{Members: #{Add: "CN=FinanceLeads,OU=Finance,DC=contoso,DC=com"}, Managers: #{Add: "OU=Finance,DC=contoso,DC=com"}});
        new_cs_persistent_chat_room(#{Name: "Sales Floor", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Announcements", Description: "no budget talk"});
        set_cs_persistent_chat_room("pc01.contoso.com\\Sales Floor", #{Members: #{Add: "sip:kenmyer@contoso.com"}});
    "#).ok();
    let all = [
        "pc01.contoso.com\\CEO Updates",
        "pc01.contoso.com\\Draft",
        "pc01.contoso.com\\FinanceRoom",
        "pc01.contoso.com\\Sales Floor",
        "pc02.contoso.com\\Budget 2020",
    ];
    assert_eq!(ids(&s, "get_cs_persistent_chat_room()"), all);
    let cases: &[(&str, &[&str])] = &[
        (r#"#{Category: "Finance"}"#, &[all[1], all[2], all[4]]),
        (r#"#{Category: "pc02.contoso.com\\Finance"}"#, &[all[4]]),
        (r#"#{Category: "Finance", Disabled: false}"#, &[all[2], all[4]]),
        (r#"#{PersistentChatPoolFqdn: "pc01.contoso.com", Type: "Auditorium"}"#, &[all[0]]),
        (r#"#{Privacy: "Secret"}"#, &[all[4]]),
        (r#"#{Invitations: "Inherit", ResultSize: 2}"#, &[all[0], all[1]]),
        (r#"#{ResultSize: 0}"#, &[]),
        (r#"#{Addin: "BudgetTracker"}"#, &[all[1]]),
        (r#"#{ChatContentExceedsMB: 0}"#, &[]),
        // Ann: in FinanceLeads (Budget 2020), in scope of Finance/Announcements where Members is empty; not in Sales Floor.
        (r#"#{Member: "sip:annb@contoso.com"}"#, &[all[0], all[1], all[2], all[4]]),
        (r#"#{Member: "sip:annb@contoso.com", Privacy: "Secret"}"#, &[all[4]]),
        (r#"#{Member: "sip:kenmyer@contoso.com"}"#, &[all[0], all[3]]),
        (r#"#{Manager: "sip:annb@contoso.com"}"#, &[all[4]]),
        (r#"#{Manager: "sip:kenmyer@contoso.com"}"#, &[]),
        (r#"#{Filter: "Name -like \"Fin*\""}"#, &[all[2]]),
        (r#"#{Filter: "{Description -like '*budget*' -or Name -eq 'draft'}"}"#, &[all[1], all[2], all[3]]),
        (r#"#{Filter: "budget"}"#, &[all[4]]),
        (r#"#{Filter: "budget", SearchDescription: true}"#, &[all[2], all[3], all[4]]),
        (r#"#{Filter: "*room"}"#, &[all[2]]),
        // Name prefixes narrow the scan through the index; case and -or must not lose rooms.
        (r#"#{Filter: "Name -like 'fINANCE*'"}"#, &[all[2]]),
        (r#"#{Filter: "Name -like 'Fin*' -or Name -like 'Dr?ft'"}"#, &[all[1], all[2]]),
        (r#"#{Filter: "Name -eq 'financeroom' -and Disabled -eq $false"}"#, &[all[2]]),
        (r#"#{Filter: "Fi*"}"#, &[all[2]]),
    ];
    for (args, want) in cases {
        assert_eq!(ids(&s, &format!("get_cs_persistent_chat_room({args})")), *want, "{args}");
    }
    // The Kelvin sign folds to "k": a prefix scan in SQLite (which folds ASCII only) would miss it.
    s.c("new_cs_persistent_chat_room(#{Name: \"\u{212A}iosk\", PersistentChatPoolFqdn: \"pc01.contoso.com\", Category: \"Announcements\"}); ()").ok();
    assert_eq!(
        lines(&s, r#"get_cs_persistent_chat_room(#{Filter: "Name -like 'kio*'"}).map(|r| r.Name.len())"#),
        ["5"]
    );
}

#[test]
fn pipelines_go_on_after_a_failing_item_and_what_if_changes_nothing() {
    let s = rooms_store();
    s.c(r#"new_cs_persistent_chat_category(#{Name: "Empty", PersistentChatPoolFqdn: "pc01.contoso.com"})"#).ok();
    let before = s.dump();
    let run = s.c(r#"get_cs_persistent_chat_room(#{Privacy: "Secret"}).remove_cs_persistent_chat_room(#{WhatIf: true}); get_cs_persistent_chat_room().remove_cs_persistent_chat_room(#{WhatIf: true})"#).ok();
    assert_eq!(run.stdout.matches("What if: Performing the operation \"Remove-CsPersistentChatRoom\"").count(), 3);
    assert_eq!(s.dump(), before);
    let run = s.run(&["--what-if", "-c", r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Disabled: true}); new_cs_persistent_chat_addin(#{Name: "A", PersistentChatPoolFqdn: "pc01.contoso.com", Url: "https://a.contoso.com"})"#]).ok();
    assert!(run.stdout.contains(
        r#"What if: Performing the operation "Set-CsPersistentChatRoom" on target "pc01.contoso.com\FinanceRoom"."#
    ));
    assert_eq!(s.dump(), before);

    // Empty categories go; each non-empty one is a NotEmpty error and the pipeline goes on.
    let run = s.c(r#"get_cs_persistent_chat_category(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).remove_cs_persistent_chat_category(); last_errors().map(|e| e.Target)"#);
    assert_eq!(run.code, 3);
    assert_eq!(run.stdout.trim(), "pc01.contoso.com\\Announcements\npc01.contoso.com\\Finance");
    assert_eq!(run.stderr.matches(": NotEmpty: ").count(), 2);
    assert_eq!(
        ids(&s, "get_cs_persistent_chat_category()"),
        ["pc01.contoso.com\\Announcements", "pc01.contoso.com\\Finance"]
    );
    // Piped identity strings bind to -Identity.
    s.c(r#"new_cs_persistent_chat_category(#{Name: "Gone", PersistentChatPoolFqdn: "pc01.contoso.com"}); ["pc01.contoso.com\\Gone"].remove_cs_persistent_chat_category()"#).ok();

    // Piped rooms bind to -Instance; script-side edits to the object are committed.
    let run = s.c(r#"
        let rooms = get_cs_persistent_chat_room();
        rooms[0].Description = "edited";
        rooms[1].Identity = "pc01.contoso.com\\Vanished";
        rooms.set_cs_persistent_chat_room(#{Invitations: "False"});
        get_cs_persistent_chat_room().map(|r| `${r.Name}|${r.Invitations}|${r.Description}`)
    "#);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert!(
        single_error_line(&run)
            .starts_with("Set-CsPersistentChatRoom: NotFound: no chat room 'pc01.contoso.com\\Vanished'")
    );
    assert_eq!(run.stdout.trim(), "CEO Updates|False|edited\nDraft|Inherit|\nFinanceRoom|False|Budget and forecasting");
}

#[test]
fn add_ins_prompt_when_in_use_and_clear_their_rooms_on_removal() {
    let s = rooms_store();
    assert_eq!(ids(&s, "get_cs_persistent_chat_addin()"), ["pc01.contoso.com\\BudgetTracker"]);
    s.c(r#"set_cs_persistent_chat_addin("pc01.contoso.com\\BudgetTracker", #{Url: "https://apps.contoso.com/budget2"})"#).ok();
    assert_eq!(
        lines(&s, r#"get_cs_persistent_chat_addin(#{PersistentChatPoolFqdn: "pc01.contoso.com"})[0].Url"#),
        ["https://apps.contoso.com/budget2"]
    );
    // Unattended, an in-use add-in needs Force (or --yes); an unused one goes without a prompt.
    let run = s.c(r#"remove_cs_persistent_chat_addin("pc01.contoso.com\\BudgetTracker")"#);
    assert!(single_error_line(&run).contains("Force: true"), "{}", run.stderr);
    s.c(r#"new_cs_persistent_chat_addin(#{Name: "Spare", PersistentChatPoolFqdn: "pc01.contoso.com", Url: "https://spare.contoso.com"}); remove_cs_persistent_chat_addin("pc01.contoso.com\\Spare")"#).ok();
    s.c(r#"get_cs_persistent_chat_addin().remove_cs_persistent_chat_addin(#{Force: true})"#).ok();
    assert!(ids(&s, "get_cs_persistent_chat_addin()").is_empty());
    assert_eq!(lines(&s, r#"get_cs_persistent_chat_room("pc01.contoso.com\\Draft")[0].Addin == ()"#), ["True"]);
}

#[test]
fn eligible_principals_expand_groups_and_subtrees_minus_denied() {
    let s = rooms_store();
    s.c(r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{DeniedMembers: #{Add: "sip:tempuser@contoso.com"}})"#).ok();
    let finance_users = lines(&s, r#"get_cs_ad_principal(#{OU: "OU=Finance,DC=contoso,DC=com"}).filter(|p| p.ObjectClass.contains("user")).len()"#)[0].parse::<usize>().expect("count");
    let eligible = lines(
        &s,
        r#"let e = get_cs_persistent_chat_eligible_principal(#{PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"}); print(e.filter(|p| p.PersistentChatPrincipalType == "User").len()); e.filter(|p| p.PersistentChatPrincipalType != "User").map(|p| p.Identity)"#,
    );
    assert_eq!(eligible[0], (finance_users - 1).to_string(), "every Finance user but the denied one");
    assert_eq!(eligible[1..], ["OU=Finance,DC=contoso,DC=com"]);
    assert_eq!(
        lines(
            &s,
            r#"get_cs_persistent_chat_eligible_principal(#{Category: "pc01.contoso.com\\Finance", Filter: "*tempuser*"}).len()"#
        ),
        ["0"]
    );
    assert_eq!(
        lines(&s, r#"get_cs_persistent_chat_eligible_principal(#{PersistentChatPoolFqdn: "pc01.contoso.com", Room: "FinanceRoom", Filter: "*beebe*"}).map(|p| p.SipAddress)"#).len(),
        lines(&s, r#"get_cs_user().filter(|u| u.SipAddress.contains("beebe") && u.Identity.ends_with("OU=Finance,DC=contoso,DC=com")).len()"#)[0].parse::<usize>().expect("n")
    );
    // Presenters of an auditorium room: its Members when set, else the category scope.
    s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\CEO Updates", #{Members: #{Add: ["sip:ceo@contoso.com", "CN=FinanceLeads,OU=Finance,DC=contoso,DC=com"]}})"#).ok();
    let presenters = lines(
        &s,
        r#"get_cs_persistent_chat_eligible_principal(#{Room: "CEO Updates", Presenters: true, ResultSize: 10}).map(|p| `${p.PersistentChatPrincipalType}|${p.DisplayName}`)"#,
    );
    assert_eq!(presenters.len(), 5, "{presenters:?}");
    assert!(
        presenters.contains(&"Group|FinanceLeads".to_string())
            && presenters.contains(&"User|Chris Executive".to_string())
    );
}

#[test]
fn room_runbooks() {
    let s = rooms_store();
    s.allow_own_folder();
    let csv = "Pool,Category,Room,Description,Privacy,Type\n\
               pc01.contoso.com,Legal,Contracts,Contract reviews,Secret,Normal\n\
               pc01.contoso.com,Legal,Litigation,,,\n\
               pc02.contoso.com,Ops,Ops Desk,,Open,Auditorium\n\
               pc01.contoso.com,Finance,FinanceRoom,,,\n";
    let bulk = format!("{ROOT}/scripts/rooms/bulk-create.rhai");
    let file = s.dir.path().join("rooms.csv");
    std::fs::write(&file, csv).expect("csv");
    let file_arg = format!("File={}", file.display());
    let run = s.run(&["run", &bulk, "--arg", &file_arg]).ok();
    assert_eq!(run.stdout.trim(), "2 categories and 3 rooms created, 1 rows skipped, 0 rows failed");
    assert_eq!(
        lines(
            &s,
            r#"let r = get_cs_persistent_chat_room("pc02.contoso.com\\Ops Desk")[0]; `${r.Category}|${r.Privacy}|${r.Type}`"#
        ),
        ["Ops|Open|Auditorium"]
    );
    let again = s.run(&["run", &bulk, "--arg", &file_arg]).ok();
    assert_eq!(again.stdout.trim(), "0 categories and 0 rooms created, 4 rows skipped, 0 rows failed");
    std::fs::write(&file, "Pool,Category,Room\npc01.contoso.com,Legal\n").expect("csv");
    let bad = s.run(&["run", &bulk, "--arg", &file_arg]);
    assert_eq!(bad.code, 1);
    assert!(
        bad.stderr.contains("read_csv: cannot read") && bad.stderr.contains("line 2: 2 fields where the header has 3"),
        "{}",
        bad.stderr
    );

    // Re-home: Ann manages two rooms directly; Bob takes over.
    s.c(r#"["pc01.contoso.com\\FinanceRoom", "pc01.contoso.com\\Draft"].set_cs_persistent_chat_room(#{Managers: #{Add: "sip:annb@contoso.com"}})"#).ok();
    let run = s
        .run(&[
            "run",
            &format!("{ROOT}/scripts/rooms/rehome-manager.rhai"),
            "--arg",
            "Leaver=annb@contoso.com",
            "--arg",
            "NewManager=sip:bobk@contoso.com",
        ])
        .ok();
    assert!(run.stdout.starts_with("2 of 2 rooms re-homed"), "{}", run.stdout);
    assert_eq!(
        ids(&s, r#"get_cs_persistent_chat_room(#{Manager: "sip:bobk@contoso.com"})"#),
        ["pc01.contoso.com\\Draft", "pc01.contoso.com\\FinanceRoom"]
    );
    assert!(ids(&s, r#"get_cs_persistent_chat_room(#{Manager: "sip:annb@contoso.com"})"#).is_empty());

    // Out-of-scope report: Bob becomes denied in Finance after being made a manager.
    s.c(r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{DeniedMembers: #{Add: "sip:bobk@contoso.com"}})"#).ok();
    let run = s
        .run(&[
            "--json",
            "run",
            &format!("{ROOT}/scripts/rooms/out-of-scope-report.rhai"),
            "--arg",
            "Pool=pc01.contoso.com",
        ])
        .ok();
    let found: serde_json::Value = serde_json::from_str(&run.stdout).expect("json");
    assert_eq!(
        found,
        serde_json::json!([
            {"Room": "pc01.contoso.com\\Draft", "List": "Managers", "Entry": "sip:bobk@contoso.com"},
            {"Room": "pc01.contoso.com\\FinanceRoom", "List": "Managers", "Entry": "sip:bobk@contoso.com"}
        ])
    );

    // Disable unmanaged rooms (WhatIf first: nothing changes).
    let before = s.dump();
    let disable = format!("{ROOT}/scripts/rooms/disable-unmanaged.rhai");
    let run = s.run(&["--what-if", "run", &disable]).ok();
    assert_eq!(run.stdout.matches("What if:").count(), 4, "{}", run.stdout);
    assert_eq!(s.dump(), before);
    let run = s.run(&["run", &disable, "--arg", "Pool=pc01.contoso.com"]).ok();
    assert_eq!(
        run.stdout.trim(),
        "pc01.contoso.com\\CEO Updates\npc01.contoso.com\\Contracts\npc01.contoso.com\\Litigation"
    );
    assert_eq!(
        ids(&s, "get_cs_persistent_chat_room(#{Disabled: false})"),
        ["pc01.contoso.com\\FinanceRoom", "pc02.contoso.com\\Ops Desk"]
    );
}

#[test]
fn when_created_is_stored_shown_filtered_and_kept_by_export_and_import() {
    let s = rooms_store();
    let before = chrono::Utc::now().timestamp_micros();
    let created = lines(
        &s,
        r#"let r = new_cs_persistent_chat_room(#{Name: "Ledger ✓", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"});
           print(r.WhenCreated);
           // Read-only: the -Instance object's value is not written back.
           r.WhenCreated = "1/1/2001";
           set_cs_persistent_chat_room(#{Instance: r, Description: "books"});
           print(get_cs_persistent_chat_room("pc01.contoso.com\\Ledger ✓")[0].WhenCreated);
           print(get_cs_persistent_chat_room(#{Filter: "WhenCreated -gt '1/1/2020' -and Name -like 'Ledger*'"}).len());
           print(get_cs_persistent_chat_room(#{Filter: "WhenCreated -lt '1/1/2020'"}).len());"#,
    );
    let at = chrono::DateTime::parse_from_rfc3339(&created[0]).expect("ISO-8601").timestamp_micros();
    assert!(before <= at && at <= chrono::Utc::now().timestamp_micros(), "{created:?}");
    assert_eq!(created[1..], [created[0].as_str(), "1", "0"]);

    // Not a parameter of Set.
    let run = s.runbook(
        "bad.rhai",
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\Ledger ✓", #{WhenCreated: "1/1/2001"});"#,
        &[],
    );
    assert!(single_error_line(&run).starts_with("Set-CsPersistentChatRoom: ParameterBinding:"), "{}", run.stderr);

    // Export, remove, import: the same instant comes back.
    let zip = s.dir.path().join("rooms.zip");
    let zip = zip.to_string_lossy();
    s.c(&format!(
        r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{zip}`, Level: "RoomDirectory"}});
           remove_cs_persistent_chat_room("pc01.contoso.com\\Ledger ✓");
           import_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{zip}`}});"#
    ))
    .ok();
    assert_eq!(
        lines(&s, r#"get_cs_persistent_chat_room("pc01.contoso.com\\Ledger ✓")[0].WhenCreated"#),
        [created[0].clone()]
    );
}

#[test]
fn removing_an_entry_that_is_neither_listed_nor_in_the_directory_is_not_found() {
    // A typo in a leaver's address must not pass for a removal: the member would stay, without a word.
    let s = rooms_store();
    s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Members: #{Add: "sip:annb@contoso.com"}, Managers: #{Add: "sip:annb@contoso.com"}})"#).ok();
    for (code, cmdlet) in [
        (
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Members: #{Remove: "sip:annb@contso.com"}})"#,
            "Set-CsPersistentChatRoom",
        ),
        (
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Managers: #{Remove: ["sip:annb@contoso.com", "CN=Ann Bebe,OU=Finance,DC=contoso,DC=com"]}})"#,
            "Set-CsPersistentChatRoom",
        ),
        (
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{AllowedMembers: #{Remove: "OU=Fnance,DC=contoso,DC=com"}})"#,
            "Set-CsPersistentChatCategory",
        ),
    ] {
        let line = common::fails_unchanged(&s, code, cmdlet, "NotFound");
        assert!(line.contains("cannot remove") && line.contains("is not in the list"), "{line}");
    }
    // A directory principal that is not in the list is removed as a no-op, as before; so is an
    // entry that is listed but no longer in the directory.
    s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Members: #{Remove: "sip:kenmyer@contoso.com"}})"#).ok();
    s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Members: #{Remove: "SIP:ANNB@contoso.com"}})"#).ok();
    assert_eq!(lines(&s, r#"get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")[0].Members.len()"#), ["0"]);
}

/// A list modifier with Replace beside Add or Remove is refused, changing nothing: PowerShell's
/// PSListModifier drops the Add/Remove without a word (adversary: `#{Add: bob, Replace: [ann]}` left
/// [ann]). Same refusal from the Rhai map and the PowerShell hashtable; the two calls it advises work.
#[test]
fn replace_beside_add_or_remove_is_refused_naming_the_two_calls() {
    let s = rooms_store();
    let room = r#""pc01.contoso.com\\FinanceRoom""#;
    s.c(&format!(r#"set_cs_persistent_chat_room({room}, #{{Members: #{{Add: "sip:tempuser@contoso.com"}}}})"#)).ok();
    for (modifier, other) in [
        (r#"#{Add: "sip:bobk@contoso.com", Replace: ["sip:annb@contoso.com"]}"#, "Add"),
        (r#"#{remove: "sip:tempuser@contoso.com", REPLACE: "sip:annb@contoso.com"}"#, "Remove"),
        (
            r#"#{Add: "sip:bobk@contoso.com", Remove: "sip:tempuser@contoso.com", Replace: "sip:annb@contoso.com"}"#,
            "Add and Remove",
        ),
    ] {
        let code = format!("set_cs_persistent_chat_room({room}, #{{Members: {modifier}}})");
        let line = common::fails_unchanged(&s, &code, "Set-CsPersistentChatRoom", "ParameterBinding");
        assert!(line.contains("'Members'"), "{line}");
        assert!(line.contains(&format!("Replace cannot be combined with {other}")), "{line}");
        assert!(line.contains(&format!("the first with only Replace, the second with only {other}")), "{line}");
    }
    let before = s.dump();
    let run = s.runbook(
        "both.ps1",
        "Set-CsPersistentChatRoom -Identity 'pc01.contoso.com\\FinanceRoom' -Members @{Add='sip:bobk@contoso.com'; Replace='sip:annb@contoso.com'}\n",
        &[],
    );
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("Set-CsPersistentChatRoom: ParameterBinding: cannot bind parameter 'Members': Replace cannot be combined with Add"),
        "{}",
        run.stderr
    );
    assert_eq!(s.dump(), before);
    // An empty Replace means no replacement (PowerShell's rule), so it may stand beside Add; then the two calls.
    s.c(&format!(
        r#"set_cs_persistent_chat_room({room}, #{{Members: #{{Replace: [], Add: "sip:bobk@contoso.com"}}}})"#
    ))
    .ok();
    s.c(&format!(r#"set_cs_persistent_chat_room({room}, #{{Members: #{{Replace: "sip:annb@contoso.com"}}}})"#)).ok();
    s.c(&format!(r#"set_cs_persistent_chat_room({room}, #{{Members: #{{Add: "sip:bobk@contoso.com"}}}})"#)).ok();
    assert_eq!(
        lines(&s, &format!("get_cs_persistent_chat_room({room})[0].Members")),
        ["sip:annb@contoso.com", "sip:bobk@contoso.com"]
    );
}

/// `(version, entry, ord)` of a room's Members in one pool copy (`sql01`, `sql02`), in list
/// order: the version changes when the row is written again (`Store::row_version`).
fn member_rows(s: &Store, instance: &str, room: &str) -> Vec<(String, String, i64)> {
    let sql = format!(
        "SELECT {}, e.entry, e.ord FROM room_entries e JOIN rooms r ON r.id = e.room_id \
         WHERE r.name = ?1 AND e.list = 'Members' ORDER BY e.ord",
        s.row_version("e")
    );
    s.copy_db(instance)
        .query(&sql, &[room.into()])
        .into_iter()
        .map(|row| (row[0].text().to_string(), row[1].text().to_string(), row[2].int()))
        .collect()
}

/// Adding members writes only the added entries (a room of thousands of members must not be
/// rewritten per addition), continuing the list's order in both copies; a removal rewrites the
/// list, and a later addition continues the rewritten order. Runs on both backends
/// (PCHAT_TEST_BACKEND).
#[test]
fn adding_members_writes_only_the_added_entries_in_order_in_both_copies() {
    let s = Store::demo_full();
    let room = "Month-End Close";
    let get = format!(r#"get_cs_persistent_chat_room("pc01.contoso.com\\{room}")[0].Members"#);
    let before = member_rows(&s, "sql01", room);
    assert_eq!(before.len(), 4, "{before:?}");

    s.c(&format!(
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\{room}", #{{Members: #{{Add: "OU=Finance,DC=contoso,DC=com"}}}})"#
    ))
    .ok();
    let added = member_rows(&s, "sql01", room);
    assert_eq!(added[..4], before[..], "the entries already there are not written again");
    assert_eq!((added[4].1.as_str(), added[4].2), ("OU=Finance,DC=contoso,DC=com", 4));
    assert_eq!(lines(&s, &get).last().map(String::as_str), Some("OU=Finance,DC=contoso,DC=com"));

    s.c(&format!(
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\{room}", #{{Members: #{{Remove: "sip:bobk@contoso.com"}}}})"#
    ))
    .ok();
    s.c(&format!(
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\{room}", #{{Members: #{{Add: "sip:bobk@contoso.com"}}}})"#
    ))
    .ok();
    let primary = member_rows(&s, "sql01", room);
    let order: Vec<(&str, i64)> = primary.iter().map(|(_, e, o)| (e.as_str(), *o)).collect();
    assert_eq!(
        order,
        [
            ("sip:annb@contoso.com", 0),
            ("sip:aberg@contoso.com", 1),
            ("sip:abyrne@contoso.com", 2),
            ("OU=Finance,DC=contoso,DC=com", 3),
            ("sip:bobk@contoso.com", 4)
        ]
    );
    let backup: Vec<(String, i64)> = member_rows(&s, "sql02", room).into_iter().map(|(_, e, o)| (e, o)).collect();
    let primary: Vec<(String, i64)> = primary.into_iter().map(|(_, e, o)| (e, o)).collect();
    assert_eq!(backup, primary, "the backup holds the same list in the same order");
}

/// Names compare without letter case, Unicode letters included: 'ÄRGER' is taken by the room
/// 'Ärger'. The refusal names the existing room as it is spelt (the new spelling alone read as if
/// 'ÄRGER' existed), and the spelling asked for; the same for a rename, a category and an add-in.
/// Runs on both backends (PCHAT_TEST_BACKEND).
#[test]
fn a_name_taken_in_another_letter_case_names_the_existing_one() {
    let s = rooms_store();
    s.c(r#"new_cs_persistent_chat_room(#{Name: "Ärger", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"}); ()"#).ok();
    let taken = "already has a chat room named 'Ärger' ('ÄRGER' differs from it only in letter case";
    let line = common::fails_unchanged(
        &s,
        r#"new_cs_persistent_chat_room(#{Name: "ÄRGER", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"})"#,
        "New-CsPersistentChatRoom",
        "AlreadyExists",
    );
    assert!(line.contains(taken), "{line}");
    let line = common::fails_unchanged(
        &s,
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\Draft", #{Name: "ÄRGER"})"#,
        "Set-CsPersistentChatRoom",
        "AlreadyExists",
    );
    assert!(
        line.contains(&format!("cannot rename 'pc01.contoso.com\\Draft': pool 'pc01.contoso.com' {taken}")),
        "{line}"
    );
    let line = common::fails_unchanged(
        &s,
        r#"new_cs_persistent_chat_category(#{Name: "FINANCE", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
        "New-CsPersistentChatCategory",
        "AlreadyExists",
    );
    assert!(
        line.contains("already has a category named 'Finance' ('FINANCE' differs from it only in letter case"),
        "{line}"
    );
    let line = common::fails_unchanged(
        &s,
        r#"new_cs_persistent_chat_addin(#{Name: "budgettracker", PersistentChatPoolFqdn: "pc01.contoso.com", Url: "https://budget.contoso.com"})"#,
        "New-CsPersistentChatAddin",
        "AlreadyExists",
    );
    assert!(line.contains("already has an add-in named 'BudgetTracker' ('budgettracker' differs"), "{line}");
    // The same spelling: named once.
    let line = common::fails_unchanged(
        &s,
        r#"new_cs_persistent_chat_room(#{Name: "Ärger", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"})"#,
        "New-CsPersistentChatRoom",
        "AlreadyExists",
    );
    assert!(line.ends_with("already has a chat room named 'Ärger'"), "{line}");
}

/// An empty Replace changes nothing (PSListModifier's rule, kept), but not silently: each list
/// parameter says so once, naming the cmdlet, the parameter, the object and the entries it left,
/// and how to empty the list instead. A plain empty array is an empty Replace too.
#[test]
fn an_empty_replace_changes_nothing_and_says_so() {
    let s = Store::demo_full();
    let room = r#"get_cs_persistent_chat_room(#{Identity: "pc01.contoso.com\\Project Atlas"})[0].Members"#;
    let members = s.c(room).ok().stdout;
    assert_eq!(members.lines().count(), 4, "{members}");
    let calls = [
        (
            r#"set_cs_persistent_chat_room(#{Identity: "pc01.contoso.com\\Project Atlas", Members: #{Replace: []}})"#,
            "Set-CsPersistentChatRoom: -Members of 'pc01.contoso.com\\Project Atlas': the empty Replace removed none of its 4 entries",
        ),
        (
            r#"set_cs_persistent_chat_room(#{Identity: "pc01.contoso.com\\Project Atlas", Members: []})"#,
            "Set-CsPersistentChatRoom: -Members of 'pc01.contoso.com\\Project Atlas': the empty Replace removed none of its 4 entries",
        ),
        (
            r#"set_cs_persistent_chat_category(#{Identity: "pc01.contoso.com\\Projects", AllowedMembers: #{Replace: []}})"#,
            "Set-CsPersistentChatCategory: -AllowedMembers of 'pc01.contoso.com\\Projects': the empty Replace removed none of its 3 entries",
        ),
        (
            r#"set_cs_persistent_chat_active_server(#{Identity: "PersistentChatServer:pc01.contoso.com", ActiveServers: #{Replace: []}})"#,
            "Set-CsPersistentChatActiveServer: -ActiveServers of 'PersistentChatServer:pc01.contoso.com': the empty Replace removed none of its 2 entries",
        ),
    ];
    for (code, said) in calls {
        let before = s.dump();
        let run = s.c(code).ok();
        assert_eq!(run.stderr.matches(said).count(), 1, "{code}: {}", run.stderr);
        assert!(run.stderr.contains("to empty the list, give $null"), "{}", run.stderr);
        assert_eq!(s.dump(), before, "{code} changed the store");
    }
    // PowerShell's spelling, and a Replace with entries, which says nothing.
    let script = s.dir.path().join("empty.ps1");
    std::fs::write(
        &script,
        "Set-CsPersistentChatRoom -Identity \"pc01.contoso.com\\Project Atlas\" -Members @{Replace=@()}\n\
         Set-CsPersistentChatRoom -Identity \"pc01.contoso.com\\Project Atlas\" -Managers @{Replace=\"sip:annb@contoso.com\"}\n",
    )
    .unwrap();
    let run = s.run(&["run", &script.to_string_lossy()]).ok();
    assert_eq!(run.stderr.matches("WARNING: Set-CsPersistentChatRoom: -Members of").count(), 1, "{}", run.stderr);
    assert!(!run.stderr.contains("-Managers of"), "{}", run.stderr);
    assert_eq!(s.c(room).ok().stdout, members);
}
