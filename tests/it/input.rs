//! Hostile and mistaken input: misspelled properties (in -Filter, Where-Object, Rhai and -Instance)
//! are errors with a suggestion, accented identities are answered, not crashed on.

use crate::common;
use common::{Store, fails_unchanged, single_error_line};

const ROOMS: &str = "get_cs_persistent_chat_room().len()";

#[test]
fn a_misspelled_filter_property_stops_the_pipeline_before_anything_is_removed() {
    let s = Store::examples();
    let before = s.c(ROOMS).ok().stdout;
    assert_ne!(before.trim(), "0");
    let dump = s.dump();
    for (args, code) in [
        (
            vec!["--yes", "-c"],
            r#"get_cs_persistent_chat_room(#{Filter: "Disabld -ne $false"}).remove_cs_persistent_chat_room()"#,
        ),
        (vec!["--yes", "-c"], "Get-CsPersistentChatRoom -Filter {Disabld -ne $false} | Remove-CsPersistentChatRoom"),
    ] {
        let mut a = args.clone();
        a.push(code);
        let run = s.run(&a);
        assert_eq!(run.code, 1, "{code}\n{}{}", run.stdout, run.stderr);
        let line = single_error_line(&run);
        assert!(
            line.starts_with("Get-CsPersistentChatRoom: InvalidArgument: -Filter 'Disabld -ne $false': ChatRoomObject has no property 'Disabld'; did you mean 'Disabled'?"),
            "{line}"
        );
    }
    assert_eq!(s.dump(), dump, "nothing may be removed");
    // The correct spelling still works.
    let run = s.c(r#"get_cs_persistent_chat_room(#{Filter: "Disabled -eq $true"}).len()"#).ok();
    assert_eq!(run.stdout.trim(), "1");
}

#[test]
fn every_expression_filter_checks_its_properties() {
    let s = Store::examples();
    for (code, cmdlet, hint) in [
        (
            r#"get_cs_user(#{Filter: "PersistentChatPolicy -eq 'x' -or Departmnt -eq 'Sales'"})"#,
            "Get-CsUser",
            "did you mean 'Department'?",
        ),
        (r#"get_cs_ad_principal(#{Filter: "SipAdress -like '*'"})"#, "Get-CsAdPrincipal", "did you mean 'SipAddress'?"),
        (
            r#"get_cs_persistent_chat_endpoint(#{Filter: "Zzzzzzzzzz -eq 1"})"#,
            "Get-CsPersistentChatEndpoint",
            "valid properties: Identity, SipAddress",
        ),
    ] {
        let line = fails_unchanged(&s, code, cmdlet, "InvalidArgument");
        assert!(line.contains("-Filter '") && line.contains(hint), "{line}");
    }
    // Directory attributes that some principals lack are still filterable (PowerShell's $Null).
    let run = s.c(r#"get_cs_ad_principal(#{Filter: "l -eq 'Nowhere'"}).len()"#).ok();
    assert_eq!(run.stdout.trim(), "0");
}

#[test]
fn where_object_and_rhai_name_a_misspelled_property_of_a_typed_object() {
    let s = Store::examples();
    let run = s.stdin(&[], "Get-CsPersistentChatRoom | Where-Object {$_.Disabld -eq $true}\n");
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("ChatRoomObject has no property 'Disabld'; did you mean 'Disabled'?"),
        "{}",
        run.stderr
    );
    let run = s.stdin(&[], "Get-CsPersistentChatRoom | Where-Object Nmae -like 'F*'\n");
    assert!(run.stderr.contains("did you mean 'Name'?"), "{}", run.stderr);
    // PowerShell's own hashtables keep PowerShell's rule.
    let run = s.stdin(&[], "$h = @{a = 1}\n$h.b -eq $null\n").ok();
    assert_eq!(run.stdout.trim(), "True");
    let run = s.c("get_cs_persistent_chat_room().filter(|r| r.Disabld)");
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no property 'Disabld'; did you mean 'Disabled'?"), "{}", run.stderr);
}

#[test]
fn an_instance_with_a_property_its_type_lacks_changes_nothing() {
    let s = Store::examples();
    let get = r#"let r = get_cs_persistent_chat_room("pc01.contoso.com\\Draft")[0]; r.Descripton = "typo";"#;
    for call in ["set_cs_persistent_chat_room(#{Instance: r})", "r.set_cs_persistent_chat_room()"] {
        let line = fails_unchanged(&s, &format!("{get} {call}"), "Set-CsPersistentChatRoom", "ParameterBinding");
        assert!(
            line.contains("'Instance': ChatRoomObject has no property 'Descripton'; did you mean 'Description'?"),
            "{line}"
        );
    }
    let before = s.dump();
    let ps = "$x = (Get-CsPersistentChatRoom -Identity 'pc01.contoso.com\\Draft')[0]\n$x.Descripton = 'typo'\n$x | Set-CsPersistentChatRoom\n";
    let run = s.stdin(&[], ps);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("has no property 'Descripton'; did you mean 'Description'?"), "{}", run.stderr);
    assert_eq!(s.dump(), before);
    // The correct spelling goes through.
    let ok = r#"let r = get_cs_persistent_chat_room("pc01.contoso.com\\Draft")[0]; r.Description = "fine"; r.set_cs_persistent_chat_room(); get_cs_persistent_chat_room("pc01.contoso.com\\Draft")[0].Description"#;
    assert_eq!(s.c(ok).ok().stdout.trim(), "fine");
}

#[test]
fn accented_identities_are_not_found_not_a_crash() {
    let s = Store::demo();
    for (code, cmdlet) in [
        (r#"get_cs_user("Renée Dubois")"#, "Get-CsUser"),
        (r#"get_cs_user("CN=Émile Zola,OU=Finance,DC=contoso,DC=com")"#, "Get-CsUser"),
        (r#"get_cs_persistent_chat_state("Persistént")"#, "Get-CsPersistentChatState"),
        (r#"get_cs_ad_principal("sié")"#, "Get-CsAdPrincipal"),
    ] {
        fails_unchanged(&s, code, cmdlet, "NotFound");
    }
}

#[test]
fn control_characters_already_stored_are_shown_escaped_everywhere() {
    let s = Store::examples();
    // A store written before names were checked: put the bytes in directly, in both copies.
    for instance in ["sql01.contoso.com\\rtc", "sql02.contoso.com\\rtc"] {
        let sql =
            "UPDATE rooms SET name = 'Dr\u{1b}[2Jaft', description = 'x\u{1b}]0;owned\u{7}y' WHERE name = 'Draft'";
        assert_eq!(s.execute(Some(instance), sql), 1, "{instance}");
    }
    let pick = r#"get_cs_persistent_chat_room(#{Filter: "Name -like 'Dr*'"})"#;
    let outputs = [
        s.c(pick).ok(),
        s.c(&format!("print({pick}[0].Description)")).ok(),
        s.c(&format!("{pick}.set_cs_persistent_chat_room(#{{Disabled: true, WhatIf: true}})")).ok(),
        s.c(&format!(r#"{pick}.set_cs_persistent_chat_room(#{{Presenters: "sip:annb@contoso.com"}})"#)),
        s.stdin(&[], "Get-CsPersistentChatRoom -Filter {Name -like 'Dr*'} | Format-List Name, Description\n").ok(),
    ];
    for run in &outputs {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "raw control characters printed:\n{all:?}");
        assert!(all.contains("Dr\\e[2Jaft") || all.contains("x\\e]0;owned\\u{7}y"), "{all}");
    }
    assert!(
        outputs[2].stdout.contains(
            "What if: Performing the operation \"Set-CsPersistentChatRoom\" on target \"pc01.contoso.com\\Dr\\e[2Jaft\""
        ),
        "{}",
        outputs[2].stdout
    );
    // JSON keeps the value exact, escaped the JSON way.
    let run = s.run(&["--json", "-c", pick]).ok();
    assert!(run.stdout.contains("Dr\\u001b[2Jaft"), "{}", run.stdout);
}

#[test]
fn warnings_and_host_output_show_control_characters_escaped() {
    // A runbook echoing a CSV cell or a file line (bulk-create's `eprint("line 3: ... failed")`)
    // must not drive the terminal of whoever reads the log, whichever way it writes.
    let s = Store::demo();
    let rhai = s.c(r#"eprint("a\x1b[2Jb\x07c")"#).ok();
    let ps = s.runbook(
        "echo.ps1",
        "$e = \"`e[2J\"\nWrite-Host \"h$e\"\nWrite-Host \"n$e\" -NoNewline\nWrite-Warning \"w$e\"\nWrite-Verbose \"v$e\" -Verbose\nWrite-Error \"x$e\"\n",
        &[],
    );
    assert_eq!(ps.code, 3, "{}{}", ps.stdout, ps.stderr);
    for run in [&rhai, &ps] {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains('\u{1b}') && !all.contains('\u{7}'), "raw control characters printed:\n{all:?}");
    }
    assert!(rhai.stderr.contains("a\\e[2Jb\\u{7}c"), "{}", rhai.stderr);
    for shown in ["h\\e[2J", "n\\e[2J", "WARNING: w\\e[2J", "VERBOSE: v\\e[2J", "Write-Error: x\\e[2J"] {
        assert!(format!("{}{}", ps.stdout, ps.stderr).contains(shown), "{shown}: {}{}", ps.stdout, ps.stderr);
    }
}

#[test]
fn a_name_of_invisible_characters_only_is_refused_like_an_empty_one() {
    // "  " is refused as empty; a name of zero-width characters looks exactly as empty in every
    // listing, error and audit record, and cannot be told from the next one.
    let s = Store::demo();
    s.c(r#"new_cs_persistent_chat_category(#{Name: "Legal", PersistentChatPoolFqdn: "pc01.contoso.com"})"#).ok();
    for (code, cmdlet) in [
        (
            r#"new_cs_persistent_chat_room(#{Name: "\u200b", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Legal"})"#,
            "New-CsPersistentChatRoom",
        ),
        (
            r#"new_cs_persistent_chat_category(#{Name: " \u200d\u2060\ufeff ", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
            "New-CsPersistentChatCategory",
        ),
        (
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Legal", #{Name: "\u00ad\u034f"})"#,
            "Set-CsPersistentChatCategory",
        ),
    ] {
        let line = fails_unchanged(&s, code, cmdlet, "InvalidArgument");
        assert!(line.contains("-Name") && line.contains("visible character"), "{line}");
    }
    // Visible text with a zero-width joiner inside (an emoji sequence) stays a valid name.
    s.c(r#"new_cs_persistent_chat_room(#{Name: "Team 👩‍💻", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Legal"})"#)
        .ok();
}

#[test]
fn a_null_identity_given_to_a_get_is_refused_not_read_as_every_object() {
    // `$row.Rom` of a CSV row (a typo'd column) is $null: read as "no identity", it selected
    // every room, and the pipeline disabled them all.
    let s = Store::demo_full();
    std::fs::write(s.dir.path().join("dis.csv"), "Room\npc02.contoso.com\\Sales Oslo\n").unwrap();
    let before = s.dump();
    let csv = s.dir.path().join("dis.csv").to_string_lossy().into_owned();
    let script = format!(
        "foreach ($row in Import-Csv '{csv}') {{\n  Get-CsPersistentChatRoom -Identity $row.Rom | Set-CsPersistentChatRoom -Disabled $true\n}}\n"
    );
    let run = s.runbook("dis.ps1", &script, &[]);
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(
            "Get-CsPersistentChatRoom: ParameterBinding: cannot bind parameter 'Identity': the argument is null"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(s.dump(), before, "nothing may change");
    for code in [r#"get_cs_persistent_chat_room(())"#, r#"get_cs_user(#{Identity: ()})"#] {
        let run = s.c(code);
        assert_eq!(run.code, 1, "{code}: {}", run.stdout);
        assert!(
            run.stderr.contains("the argument is null") && run.stderr.contains("leave Identity out"),
            "{}",
            run.stderr
        );
    }
    // Leaving Identity out still asks for everything.
    assert_eq!(s.c("get_cs_persistent_chat_room().len()").ok().stdout.trim(), "9");
}

/// `Remove-CsPersistentChatMessage -UserUri $l.SipAdress` (a misspelt CSV column, so `$null`)
/// deleted every message of the room, as if UserUri were not given; `-Filter $RoomName` with an
/// empty mandatory script argument disabled every room. A narrowing parameter of a Get, Remove,
/// Clear, Export, Import or Test cmdlet given `$null`, empty text or an empty list is refused.
#[test]
fn a_missing_value_given_to_a_narrowing_parameter_is_refused_not_read_as_everything() {
    let s = Store::demo_full();
    std::fs::write(s.dir.path().join("leavers.csv"), "SipAddress\nsip:abarry@contoso.com\n").unwrap();
    let csv = s.dir.path().join("leavers.csv").to_string_lossy().into_owned();
    let before = s.dump();
    let script = format!(
        "foreach ($l in Import-Csv '{csv}') {{\n  Remove-CsPersistentChatMessage -Identity 'pc01.contoso.com\\FinanceRoom' -UserUri $l.SipAdress -Remove\n}}\n\"purged\"\n"
    );
    let run = s.runbook("purge.ps1", &script, &[]);
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("purged"), "the run must stop: {}", run.stdout);
    assert!(
        run.stderr.contains(
            "Remove-CsPersistentChatMessage: ParameterBinding: cannot bind parameter 'UserUri': the argument is null"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(s.dump(), before, "no message may be removed");

    let disable = "Get-CsPersistentChatRoom -Filter $RoomName | Set-CsPersistentChatRoom -Disabled $true\n";
    for code in [
        r#"remove_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{Filter: "", Remove: true})"#,
        r#"remove_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{Filter: "  ", Remove: true})"#,
        r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{UserUri: ()}).len()"#,
        r#"get_cs_persistent_chat_room(#{Filter: ()}).set_cs_persistent_chat_room(#{Disabled: true})"#,
        r#"get_cs_persistent_chat_room(#{Category: ""}).set_cs_persistent_chat_room(#{Disabled: true})"#,
        r#"get_cs_persistent_chat_room(#{Manager: ()}).set_cs_persistent_chat_room(#{Disabled: true})"#,
        r#"export_cs_persistent_chat_data(#{DBInstance: "sql01.contoso.com\\rtc", FileName: "x.zip", Scope: []})"#,
        &format!("$RoomName = ''\n{disable}"),
        &format!("$RoomName = $null\n{disable}"),
    ] {
        let run = s.c(code);
        assert_eq!(run.code, 1, "{code}: {}", run.stdout);
        let line = single_error_line(&run);
        assert!(
            line.contains("ParameterBinding: cannot bind parameter '")
                && (line.contains("the argument is null;")
                    || line.contains("the argument is empty;")
                    || line.contains("the argument is an empty list;"))
                && line.contains("must not widen it to everything"),
            "{code}: {line}"
        );
    }
    // The tester's runbook, given `--arg RoomName=$ROOM` with $ROOM unset in the shell.
    let script = format!("param([Parameter(Mandatory=$true)][string]$RoomName)\n{disable}\"disabled\"\n");
    let run = s.runbook("disable.ps1", &script, &["--arg", "RoomName="]);
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("--arg RoomName: parameter 'RoomName' is mandatory and the value is empty"),
        "{}",
        run.stderr
    );
    assert_eq!(s.dump(), before, "nothing may change");
    // Left out, the parameter does not narrow; on Set, `()` still clears a property.
    assert_eq!(s.c("get_cs_persistent_chat_room().len()").ok().stdout.trim(), "9");
    s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Description: ()})"#).ok();
}

#[test]
fn null_given_to_a_mandatory_parameter_is_refused_as_null_and_changes_nothing() {
    let s = Store::demo_full();
    let before = s.dump();
    for (code, param) in [
        (
            r#"new_cs_persistent_chat_room(#{Name: (), PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Projects"})"#,
            "Name",
        ),
        (r#"set_cs_persistent_chat_room((), #{Disabled: true})"#, "Identity"),
        ("New-CsPersistentChatRoom -Name $null -PersistentChatPoolFqdn pc01.contoso.com -Category Projects", "Name"),
    ] {
        let run = s.c(code);
        assert_eq!(run.code, 1, "{code}: {}", run.stdout);
        assert!(
            run.stderr.contains(&format!(
                "cannot bind parameter '{param}': the argument is null; the parameter is mandatory"
            )),
            "{code}: {}",
            run.stderr
        );
    }
    assert_eq!(s.dump(), before, "nothing may change");
    // An optional parameter keeps `$null` as "clear" or "unassign".
    s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Description: ()})"#).ok();
}

/// A bidirectional override or isolate (U+202A–U+202E, U+2066–U+2069) reorders what follows it on
/// the screen: a room listed as `Evil\u{202e}gnp.exe` reads `Evilexe.png` (the "Trojan Source"
/// trick). Shown, they are written out like control characters; JSON keeps the value exact.
#[test]
fn bidirectional_overrides_are_shown_written_out() {
    let s = Store::examples();
    let name = "Evil\u{202e}gnp.exe\u{2066}x\u{2069}";
    s.c(&format!(
        r#"new_cs_persistent_chat_room(#{{Name: "{name}", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"}})"#
    ))
    .ok();
    let pick = r#"get_cs_persistent_chat_room(#{Filter: "Name -like 'Evil*'"})"#;
    let outputs = [
        s.c(pick).ok(),
        s.c(&format!("print({pick}[0].Name)")).ok(),
        s.c(&format!("{pick}.set_cs_persistent_chat_room(#{{Disabled: true, WhatIf: true}})")).ok(),
        s.stdin(&[], "Get-CsPersistentChatRoom -Filter {Name -like 'Evil*'} | Format-List Name\n").ok(),
    ];
    for run in &outputs {
        let all = format!("{}{}", run.stdout, run.stderr);
        assert!(!all.contains(['\u{202e}', '\u{2066}', '\u{2069}']), "raw overrides printed:\n{all:?}");
        assert!(all.contains("Evil\\u{202e}gnp.exe\\u{2066}x\\u{2069}"), "{all}");
    }
    let run = s.run(&["--json", "-c", pick]).ok();
    assert!(run.stdout.contains("Evil\u{202e}gnp.exe") || run.stdout.contains("Evil\\u202egnp.exe"), "{}", run.stdout);
    // Right-to-left text itself, and the marks that order it (U+200E, U+200F), are shown as they are.
    let hebrew = s.c(r#"print("שלום\u200Fמרחבא")"#).ok();
    assert!(hebrew.stdout.contains("שלום\u{200f}מרחבא"), "{}", hebrew.stdout);
}

/// A directory entry naming a key twice (a JSON key repeated, a CSV column repeated, in any case)
/// kept whichever came last, without a word: a user imported with the second of two SIP addresses.
/// The file is refused whole, naming the key, like any other bad entry.
#[test]
fn a_directory_entry_naming_a_key_twice_is_refused() {
    let s = Store::demo();
    let dn = "CN=Zed Q,OU=Finance,DC=contoso,DC=com";
    let entry = |second: &str| {
        format!(
            r#"{{"Principals": [{{"Type": "User", "Dn": "{dn}", "SamAccountName": "zedq", "SipAddress": "sip:zedq@contoso.com", "{second}": "sip:other@contoso.com"}}]}}"#
        )
    };
    let files = [
        ("same.json", entry("SipAddress")),
        ("case.json", entry("sipaddress")),
        (
            "same.csv",
            format!(
                "Dn,SipAddress,SamAccountName,SipAddress\n\"{dn}\",sip:zedq@contoso.com,zedq,sip:other@contoso.com\n"
            ),
        ),
        (
            "case.csv",
            format!(
                "Dn,SipAddress,SamAccountName,SIPADDRESS\n\"{dn}\",sip:zedq@contoso.com,zedq,sip:other@contoso.com\n"
            ),
        ),
    ];
    let before = s.dump();
    for (name, text) in files {
        let path = s.dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let run = s.c(&format!("import_cs_ad_principal({:?})", path.to_string_lossy()));
        assert_ne!(run.code, 0, "{name}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("Import-CsAdPrincipal") && run.stderr.contains("twice"), "{name}: {}", run.stderr);
        assert!(run.stderr.to_lowercase().contains("sipaddress"), "{name}: {}", run.stderr);
        assert_eq!(s.dump(), before, "{name}");
    }
}
