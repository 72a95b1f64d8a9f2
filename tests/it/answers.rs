//! Answers an administrator can trust: every identity form of a user is accepted, an unknown
//! exact name is NotFound (a wildcard or filter matching nothing is an empty answer), a store
//! without topology says so, and objects keep the column order that was asked for.

use crate::common;

use common::{Run, Store};

/// Every way an administrator names Ann Beebe.
const ANN: [&str; 5] = [
    "sip:annb@contoso.com",
    "annb@contoso.com",
    "contoso\\\\annb",
    "Ann Beebe",
    "CN=Ann Beebe,OU=Finance,DC=contoso,DC=com",
];

fn out(s: &Store, code: &str) -> String {
    s.c(code).ok().stdout.trim().to_string()
}

fn not_found(s: &Store, code: &str, cmdlet: &str) -> Run {
    let run = s.c(code);
    assert!(run.code == 1 || run.code == 3, "{code}: {}", run.stdout);
    assert!(run.stderr.starts_with(&format!("{cmdlet}: NotFound: ")), "{code}: {}", run.stderr);
    run
}

#[test]
fn room_member_and_manager_take_every_identity_form() {
    let s = Store::examples();
    s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Managers: #{Add: "sip:annb@contoso.com"}})"#)
        .ok();
    for param in ["Member", "Manager"] {
        let by_sip = out(
            &s,
            &format!(r#"get_cs_persistent_chat_room(#{{{param}: "sip:annb@contoso.com"}}).map(|r| r.Identity)"#),
        );
        assert!(by_sip.contains("FinanceRoom"), "{param}: {by_sip}");
        for form in ANN {
            let got = out(&s, &format!(r#"get_cs_persistent_chat_room(#{{{param}: "{form}"}}).map(|r| r.Identity)"#));
            assert_eq!(got, by_sip, "-{param} {form}");
        }
        let run = not_found(
            &s,
            &format!(r#"get_cs_persistent_chat_room(#{{{param}: "contoso\\annbb"}})"#),
            "Get-CsPersistentChatRoom",
        );
        assert!(run.stderr.contains(&format!("-{param}")) && run.stderr.contains("did you mean"), "{}", run.stderr);
        not_found(
            &s,
            &format!(r#"get_cs_persistent_chat_room(#{{{param}: "sip:nobody@contoso.com"}})"#),
            "Get-CsPersistentChatRoom",
        );
    }
}

#[test]
fn message_users_take_every_identity_form_and_unknown_users_are_not_found() {
    let s = Store::examples();
    let by_sip = out(
        &s,
        r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{UserUri: "sip:annb@contoso.com"}).len()"#,
    );
    assert_eq!(by_sip, "1");
    for form in ANN {
        let got = out(
            &s,
            &format!(
                r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{{UserUri: "{form}"}}).len()"#
            ),
        );
        assert_eq!(got, by_sip, "-UserUri {form}");
    }
    not_found(
        &s,
        r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{UserUri: "sip:anb@contoso.com"})"#,
        "Get-CsPersistentChatMessage",
    );
    let before = s.dump();
    not_found(
        &s,
        r#"remove_cs_persistent_chat_message(#{Identity: "pc01.contoso.com\\FinanceRoom", UserUri: "sip:anb@contoso.com", Confirm: false})"#,
        "Remove-CsPersistentChatMessage",
    );
    assert_eq!(s.dump(), before);
    // Sending as a logon name posts as the user's SIP address.
    s.c(r#"send_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{SenderSipAddress: "contoso\\annb", Message: "by logon"})"#)
        .ok();
    let sender = out(
        &s,
        r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{UserUri: "Ann Beebe"}).map(|m| m.Sender)"#,
    );
    assert!(sender.contains("sip:annb@contoso.com"), "{sender}");
}

#[test]
fn grant_takes_every_identity_form() {
    let s = Store::examples();
    s.c(r#"new_cs_persistent_chat_policy("Tag:Sales", #{EnablePersistentChat: true})"#).ok();
    for form in ANN {
        s.c(&format!(r#"grant_cs_persistent_chat_policy("{form}", #{{PolicyName: "Sales"}})"#)).ok();
        assert_eq!(out(&s, r#"get_cs_user("sip:annb@contoso.com")[0].PersistentChatPolicy"#), "Sales", "{form}");
        s.c(r#"grant_cs_persistent_chat_policy("sip:annb@contoso.com", #{PolicyName: ()})"#).ok();
    }
    not_found(
        &s,
        r#"grant_cs_persistent_chat_policy("contoso\\nobody", #{PolicyName: "Sales"})"#,
        "Grant-CsPersistentChatPolicy",
    );
}

#[test]
fn exact_names_that_match_nothing_are_not_found_but_wildcards_are_empty() {
    let s = Store::examples();
    for (code, cmdlet) in [
        (r#"get_cs_persistent_chat_room(#{Category: "Financ"})"#, "Get-CsPersistentChatRoom"),
        (r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc09.contoso.com"})"#, "Get-CsPersistentChatRoom"),
        (
            r#"get_cs_persistent_chat_category(#{PersistentChatPoolFqdn: "pc09.contoso.com"})"#,
            "Get-CsPersistentChatCategory",
        ),
        (r#"get_cs_persistent_chat_addin(#{PersistentChatPoolFqdn: "pc09.contoso.com"})"#, "Get-CsPersistentChatAddin"),
        (r#"get_cs_user("Ann Beebee")"#, "Get-CsUser"),
        (r#"get_cs_ad_principal(#{OU: "OU=Nowhere,DC=contoso,DC=com"})"#, "Get-CsAdPrincipal"),
    ] {
        not_found(&s, code, cmdlet);
    }
    for code in [
        r#"get_cs_user("Zz*").len()"#,
        r#"get_cs_ad_principal("Zz*").len()"#,
        r#"get_cs_persistent_chat_room(#{Filter: "Zz*"}).len()"#,
        r#"get_cs_user(#{LdapFilter: "Department=Nothing"}).len()"#,
    ] {
        assert_eq!(out(&s, code), "0", "{code}");
    }
}

#[test]
fn a_store_without_topology_or_directory_says_how_to_load_one() {
    let s = Store::empty();
    // Only a directory: the store exists, with no topology.
    let dir = s.dir.path().join("directory.json");
    std::fs::write(
        &dir,
        r#"{"Domain": {"Name": "contoso.com", "NetBiosName": "contoso", "Dn": "DC=contoso,DC=com"},
            "Principals": [{"Type": "OrganizationalUnit", "Dn": "OU=Finance,DC=contoso,DC=com"}]}"#,
    )
    .expect("directory");
    s.c(&format!(r#"import_cs_ad_principal({:?})"#, dir.to_string_lossy())).ok();
    for (code, cmdlet) in [
        ("get_cs_persistent_chat_room()", "Get-CsPersistentChatRoom"),
        ("get_cs_persistent_chat_category()", "Get-CsPersistentChatCategory"),
        ("get_cs_service()", "Get-CsService"),
        ("get_cs_persistent_chat_state()", "Get-CsPersistentChatState"),
        ("get_cs_persistent_chat_endpoint()", "Get-CsPersistentChatEndpoint"),
        (
            r#"new_cs_persistent_chat_category(#{Name: "X", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
            "New-CsPersistentChatCategory",
        ),
    ] {
        let run = s.c(code);
        assert_eq!(run.code, 1, "{code}: {}", run.stdout);
        // --demo loads into a SQLite file only: on PostgreSQL the hint is copy-store.
        let other_way = if s.is_postgres() { "pchat copy-store --from STORE.db" } else { "--demo" };
        assert!(
            run.stderr.starts_with(&format!("{cmdlet}: InvalidOperation: this store has no topology"))
                && run.stderr.contains("publish_cs_topology(")
                && run.stderr.contains(other_way)
                && (s.is_postgres() != run.stderr.contains("--demo")),
            "{code}: {}",
            run.stderr
        );
    }
    // Only a topology: the directory reads say the directory is empty.
    let t = Store::empty();
    t.c(&format!("publish_cs_topology({:?})", t.demo_topology())).ok();
    for code in ["get_cs_user()", r#"get_cs_ad_principal(#{LdapFilter: "objectClass=user"})"#] {
        let run = t.c(code);
        assert_eq!(run.code, 1);
        assert!(
            run.stderr.contains("the directory of this store is empty: load one with import_cs_ad_principal("),
            "{}",
            run.stderr
        );
    }
    assert_eq!(t.c("get_cs_service().len() > 0").ok().stdout.trim(), "True");
}

#[test]
fn reading_a_store_that_does_not_exist_creates_nothing() {
    let s = Store::empty();
    let run = s.c("get_cs_persistent_chat_room()");
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no topology"), "{}", run.stderr);
    if s.is_postgres() {
        // An empty database stays empty: a read does not make it a central store, and the hints
        // name what works there (--demo is refused with a URL).
        let url = s.location().to_string_lossy().into_owned();
        assert!(run.stderr.contains(&format!("there is no store at {url}")), "{}", run.stderr);
        assert!(run.stderr.contains(&format!("pchat copy-store --from STORE.db --to {url}")), "{}", run.stderr);
        assert!(!run.stderr.contains("--demo"), "{}", run.stderr);
        let relations = "SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace";
        assert_eq!(s.count(None, relations), 0, "a read made a store of the empty database");
        // A write makes the store, as it makes the file on SQLite.
        let users = s.dir.path().join("users.json");
        std::fs::write(
            &users,
            r#"{"Domain": {"Name": "contoso.com", "NetBiosName": "contoso", "Dn": "DC=contoso,DC=com"}, "Principals": [{"Type": "OrganizationalUnit", "Dn": "OU=A,DC=contoso,DC=com"}]}"#,
        )
        .unwrap();
        let run = s.c(&format!("import_cs_ad_principal({:?}); 1", users.to_string_lossy())).ok();
        assert!(!run.stderr.contains("there is no store"), "{}", run.stderr);
        assert!(s.count(None, "SELECT count(*) FROM audit") > 0);
        let run = s.c("get_cs_persistent_chat_room()");
        assert!(run.stderr.contains("no topology") && !run.stderr.contains("there is no store"), "{}", run.stderr);
        return;
    }
    assert!(run.stderr.contains(&format!("there is no store at {}", s.db().display())), "{}", run.stderr);
    assert!(!s.db().exists(), "a read made an empty store");
    let nested = s.dir.path().join("no/such/folder/pchat.db");
    let nested_arg = nested.to_string_lossy().into_owned();
    let run = common::Run::from(
        common::pchat()
            .args(["--db", &nested_arg, "-c", "get_cs_persistent_chat_policy().len()"])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("pchat"),
    );
    assert!(run.stderr.contains("there is no store at"), "{}", run.stderr);
    assert!(!nested.exists() && !nested.parent().expect("parent").exists());
}

/// Help needs no store: asked for where there is none, it answers and says nothing of a
/// missing store (which it never looked for), and makes none.
#[test]
fn help_answers_without_a_store_and_does_not_complain() {
    let s = Store::empty();
    let runs = [
        ("help()", s.c("help()")),
        ("help(name)", s.c(r#"help("get_cs_persistent_chat_room")"#)),
        ("the REPL's help()", s.stdin(&[], "help()\n")),
        ("Get-Help", s.runbook("help.ps1", "Get-Help Get-CsPersistentChatRoom\n", &[])),
    ];
    for (what, run) in runs {
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        assert!(run.stdout.contains("Get-CsPersistentChatRoom"), "{what}: {}", run.stdout);
        assert!(!run.stderr.contains("there is no store"), "{what}: {}", run.stderr);
    }
    if s.is_postgres() {
        let relations = "SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace";
        assert_eq!(s.count(None, relations), 0, "help made a store of the empty database");
    } else {
        assert!(!s.db().exists(), "help made a store");
    }
    // A call that looks for the store is still told there is none.
    let run = s.c("help(); get_cs_persistent_chat_room()");
    assert!(run.stderr.contains("there is no store at"), "{}", run.stderr);
}

/// The REPL's `help`, `help NAME`, `exit` and `quit` answer alike as a whole -c, standard input or
/// runbook; within a longer script (where they are functions) the error says how to call them.
#[test]
fn the_repls_help_and_exit_words_work_alone_and_are_explained_within_a_script() {
    let s = Store::examples();
    let before = s.dump();
    for (what, run) in [
        ("-c help", s.c("help")),
        ("-c help;", s.c(" help; ")),
        ("standard input", s.stdin(&[], "help\n")),
        ("a runbook", s.runbook("help.rhai", "help\n", &[])),
    ] {
        assert_eq!(run.code, 0, "{what}: {}", run.stderr);
        assert!(run.stdout.starts_with("pchat cmdlets"), "{what}: {}", run.stdout);
        assert!(run.stderr.is_empty(), "{what}: {}", run.stderr);
    }
    let run = s.c("help Get-CsPersistentChatRoom").ok();
    assert!(run.stdout.contains("get_cs_persistent_chat_room"), "{}", run.stdout);
    let run = s.c("help Get-CsPersistentChatRom");
    assert_eq!(run.code, 1);
    assert!(
        common::single_error_line(&run)
            .starts_with("help: no cmdlet 'Get-CsPersistentChatRom'; did you mean 'Get-CsPersistentChatRoom'?"),
        "{}",
        run.stderr
    );
    for word in ["exit", "quit", "exit;"] {
        let run = s.c(word).ok();
        assert_eq!((run.stdout.as_str(), run.stderr.as_str()), ("", ""), "{word}");
    }
    for (code, want) in [
        ("let x = 1;\nhelp", "help() lists the cmdlets, help(\"Get-CsPersistentChatRoom\") shows one) (line 2"),
        ("let x = 1; quit", "Undefined variable: quit (in a script, exit() ends it here) (line 1"),
    ] {
        let run = s.c(code);
        assert_eq!(run.code, 2, "{code}");
        assert!(common::single_error_line(&run).contains(want), "{code}: {}", run.stderr);
    }
    assert_eq!(s.dump(), before);
}

#[test]
fn mistyped_functions_help_topics_and_properties_get_a_suggestion() {
    let s = Store::examples();
    for (code, want) in [
        ("get_cs_persistent_chat_rom()", "did you mean 'get_cs_persistent_chat_room'?"),
        (
            r#"help("Get-CsPersistentChatRom")"#,
            "help: no cmdlet 'Get-CsPersistentChatRom'; did you mean 'Get-CsPersistentChatRoom'?",
        ),
        (r#"help("get_cs_persistent_chat_rom")"#, "did you mean 'get_cs_persistent_chat_room'?"),
        ("get_cs_persistent_chat_room()[0].Nmae", "'Nmae'; did you mean 'Name'?"),
        ("last_eror()", "did you mean 'last_errors'?"),
    ] {
        let run = s.c(code);
        assert_ne!(run.code, 0, "{code}");
        assert!(run.stderr.contains(want), "{code}: {}", run.stderr);
    }
}

#[test]
fn select_object_in_rhai_keeps_the_order_asked_for_in_tables_and_json() {
    let s = Store::examples();
    let code = r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).select_object(["Privacy", "Name", "Category"])"#;
    let table = out(&s, code);
    assert!(table.starts_with("Privacy Name"), "{table}");
    assert!(table.lines().next().is_some_and(|l| l.trim_end().ends_with("Category")), "{table}");
    let json = s.run(&["--json", "-c", code]).ok().stdout;
    let keys: Vec<&str> = json.lines().filter_map(|l| l.trim().strip_prefix('"')?.split('"').next()).take(3).collect();
    assert_eq!(keys, ["Privacy", "Name", "Category"], "{json}");
    // Objects a script builds, one object, and a single name.
    let one = out(&s, r#"#{b: 1, a: 2, c: 3}.select_object(["c", "a"])"#);
    assert_eq!(one, "c : 3\na : 2");
    let names =
        out(&s, r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).select_object("Name")"#);
    assert!(names.starts_with("Name\n----\n"), "{names}");
    // A typo is an error with a suggestion, never an empty column.
    let run = s.c(r#"[#{Room: 1, List: 2}].select_object(["Room", "Lsit"])"#);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no property 'Lsit'; did you mean 'List'?"), "{}", run.stderr);
    let run = s.c(r#"get_cs_persistent_chat_room().select_object(["Nmae"])"#);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("did you mean 'Name'?"), "{}", run.stderr);
}

#[test]
fn a_failed_read_is_answered_by_its_error_not_by_an_empty_value() {
    let s = Store::examples();
    // Not "0", "" or "[]" after the error line: those would pass for a real answer.
    for code in [
        r#"get_cs_persistent_chat_room(#{Category: "Nope"}).len()"#,
        r#"get_cs_persistent_chat_room(#{Category: "Nope"})"#,
        r#"get_cs_persistent_chat_room(#{Category: "Nope"}).map(|r| r.Name)"#,
        r#"(Get-CsPersistentChatRoom -Category Nope).Count"#,
    ] {
        let run = s.c(code);
        assert_eq!(run.code, 3, "{code}");
        assert!(run.stderr.contains("NotFound: no category 'Nope'"), "{code}: {}", run.stderr);
        assert_eq!(run.stdout, "", "{code}");
        let run = s.run(&["--json", "-c", code]);
        assert_eq!(run.stdout.trim(), "null", "{code}");
    }
    // A real answer is printed even when an earlier statement wrote an error.
    let run = s.c(r#"get_cs_persistent_chat_room(#{Category: "Nope"}); get_cs_persistent_chat_room(#{Category: "Finance"}).len()"#);
    assert_eq!((run.code, run.stdout.trim()), (3, "2"));
    // Without an error, an empty answer is an answer.
    assert_eq!(out(&s, r#"get_cs_persistent_chat_room(#{Filter: "nothing*"}).len()"#), "0");
}

#[test]
fn pools_and_computers_of_the_topology_answer_as_in_the_lync_shell() {
    let s = Store::demo();
    let run = s.c(r#"Get-CsPool -Filter "fe*" | Select-Object Identity, Site, Computers"#).ok();
    assert_eq!(
        run.stdout.trim(),
        "Identity         Site        Computers\n\
         --------         ----        ---------\n\
         fe01.contoso.com Site:Dublin {fe01.contoso.com}\n\
         fe02.contoso.com Site:Oslo   {fe02.contoso.com}"
    );
    assert_eq!(out(&s, r#"get_cs_pool("PC02.contoso.com")[0].Services"#), "PersistentChatServer:pc02.contoso.com");
    assert_eq!(
        out(&s, r#"get_cs_computer(#{Filter: "pcsrv0[56]*"}).map(|c| c.Pool)"#),
        "pc02.contoso.com\npc02.contoso.com"
    );
    assert_eq!(out(&s, r#"(Get-CsComputer pcsrv03.contoso.com).Pool"#), "pc01.contoso.com");
    // Unknown names are NotFound with a suggestion, never an empty answer; a filter may match nothing.
    let run =
        not_found(&s, r#"get_cs_computer(#{Service: "PersistentChatServer:pc03.contoso.com"})"#, "Get-CsComputer");
    assert!(run.stderr.contains("get_cs_service() lists them"), "{}", run.stderr);
    let run = not_found(&s, r#"get_cs_computer(#{Pool: "pc2.contoso.com"})"#, "Get-CsComputer");
    assert!(run.stderr.contains("did you mean 'pc02.contoso.com'?"), "{}", run.stderr);
    assert_eq!(out(&s, r#"get_cs_pool(#{Filter: "lync*"}).len()"#), "0");
    let run = s.c(r#"get_cs_pool()[0].Computer"#);
    assert_eq!(run.code, 1, "a property a pool does not have is an error");
    // A store without topology says how to load one.
    let empty = Store::empty();
    let run = empty.c("get_cs_computer()");
    assert!(run.stderr.contains("publish one with publish_cs_topology"), "{}", run.stderr);
}

#[test]
fn services_and_users_carry_the_properties_admin_scripts_read() {
    let s = Store::demo();
    assert_eq!(
        out(&s, r#"get_cs_service("UserServer:fe01.contoso.com")[0].UserDatabase"#),
        "UserDatabase:sql01.contoso.com"
    );
    assert_eq!(
        out(&s, r#"(Get-CsService -UserServer -PoolFqdn fe01.contoso.com).Registrar"#),
        "Registrar:fe01.contoso.com"
    );
    assert_eq!(out(&s, r#"get_cs_service("UserDatabase:sql01.contoso.com")[0].SqlInstanceName"#), "rtc");
    assert_eq!(
        out(&s, r#"get_cs_service("PersistentChatServer:pc01.contoso.com")[0].PersistentChatDatabase"#),
        "PersistentChatDatabase:sql01.contoso.com"
    );
    let voice =
        out(&s, r#"Get-CsUser | Where-Object {$_.EnterpriseVoiceEnabled -eq $true} | ForEach-Object {$_.LineURI}"#);
    assert_eq!(voice.lines().count(), 5, "{voice}");
    assert!(voice.contains("tel:+35315550101"), "{voice}");
    assert_eq!(out(&s, r#"get_cs_user("contoso\\tempuser")[0].EnterpriseVoiceEnabled"#), "False");
    // A typo of the new properties is still an error with a suggestion.
    let run = s.c(r#"get_cs_user("contoso\\annb")[0].LineUri2"#);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("did you mean 'LineURI'?"), "{}", run.stderr);
}

/// A filter naming an attribute no principal has, or a misspelled operator, would match nothing
/// (or, negated, everything): each is an error naming it, with a suggestion.
#[test]
fn misspelled_filter_attributes_and_operators_are_errors_with_a_suggestion() {
    let s = Store::demo_full();
    for (code, want) in [
        (r#"get_cs_user(#{LdapFilter: "(SipAdress=sip:annb@contoso.com)"})"#, "did you mean 'SipAddress'?"),
        (r#"get_cs_ad_principal(#{LdapFilter: "(Departmnt=Sales)"})"#, "did you mean 'department'?"),
        (r#"get_cs_ad_principal(#{Filter: "Departmnt -eq 'Sales'"})"#, "did you mean 'Department'?"),
        (r#"get_cs_persistent_chat_room(#{Filter: "Name -lik 'Fin*'"})"#, "did you mean '-like'?"),
    ] {
        let run = s.c(code);
        assert_eq!(run.code, 1, "{code}: {}", run.stdout);
        assert!(run.stderr.contains(want), "{code}: {}", run.stderr);
        assert!(run.stdout.trim().is_empty(), "{code}: {}", run.stdout);
    }
    // Attributes only some principals carry stay usable, for one principal too.
    for code in [
        r#"get_cs_ad_principal(#{LdapFilter: "(Title=Accountant)"}).len()"#,
        r#"get_cs_ad_principal("contoso\\annb", #{Filter: "Title -eq 'nobody'"}).len()"#,
        r#"get_cs_user(#{LdapFilter: "(&(Department=Sales)(l=Oslo))"}).len()"#,
    ] {
        s.c(code).ok();
    }
}

/// A filter pchat cannot evaluate stops the call, whatever the reason: an LDAP extensible match
/// (`attr:rule:=value`, "not supported") answered [] and the script went on as if no principal
/// matched, while an unknown attribute threw (adversary). Syntax errors of -LdapFilter and -Filter
/// stop it the same way; `try`/`catch` sees each.
#[test]
fn a_filter_that_cannot_be_evaluated_stops_the_call_whatever_the_reason() {
    let s = Store::demo_full();
    let cases = [
        (
            r#"get_cs_ad_principal(#{LdapFilter: "(memberOf:1.2.840.113556.1.4.1941:=CN=FinanceChat,OU=Finance,DC=contoso,DC=com)"})"#,
            "extensible match",
        ),
        (
            r#"get_cs_ad_principal(#{LdapFilter: "(whenCreated>=20200101000000.0Z)"})"#,
            "no principal of the directory has the attribute",
        ),
        (r#"get_cs_user(#{LdapFilter: "(&(l=Oslo)"})"#, "-LdapFilter '(&(l=Oslo)'"),
        (r#"get_cs_ad_principal(#{Filter: "DisplayName -eq"})"#, "-Filter 'DisplayName -eq'"),
        (r#"get_cs_persistent_chat_room(#{Filter: "Name -eq 'a' -and"})"#, "-Filter 'Name -eq 'a' -and'"),
    ];
    for (call, want) in cases {
        let code = format!(
            r#"let r = "went on"; try {{ let n = {call}.len(); r = `went on with ${{n}}`; }} catch (e) {{ r = "stopped"; }} print(r);"#
        );
        assert_eq!(out(&s, &code), "stopped", "{call}");
        let run = s.c(&format!("{call}; print(\"after\")"));
        assert_eq!(run.code, 1, "{call}: {}", run.stderr);
        assert!(!run.stdout.contains("after"), "{call}: the script went on: {}", run.stdout);
        let line = common::single_error_line(&run);
        assert!(line.contains(": InvalidArgument: ") && line.contains(want), "{call}: {line}");
    }
}

/// Who holds a role: a group lists its members' DNs; reading `Members` on a user is an error
/// that does not suggest the very name it refuses.
#[test]
fn groups_list_their_members_and_a_missing_property_is_not_suggested_as_itself() {
    let s = Store::demo_full();
    let run = s.c(r#"get_cs_ad_principal(#{Filter: "Name -eq 'AllSales'"})[0].Members.len() > 0"#).ok();
    assert_eq!(run.stdout.trim(), "True");
    let run = s.c(r#"get_cs_ad_principal("contoso\\annb")[0].Members"#);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no property 'Members' on this object"), "{}", run.stderr);
    assert!(!run.stderr.contains("did you mean 'Members'"), "{}", run.stderr);
}

/// Display names and logon names match ignoring case as the directory does, for every letter.
#[test]
fn display_and_logon_names_match_ignoring_case_beyond_ascii() {
    let s = Store::demo();
    let path = s.dir.path().join("more.json");
    let user = serde_json::json!({ "Principals": [{
        "Type": "User", "Dn": "CN=Jürgen Müller,OU=Finance,DC=contoso,DC=com", "DisplayName": "Jürgen Müller",
        "SipAddress": "sip:jmueller@contoso.com", "SamAccountName": "jmüller" }] });
    std::fs::write(&path, user.to_string()).expect("write");
    s.c(&format!("import_cs_ad_principal({:?})", path.to_string_lossy())).ok();
    for id in ["ann beebe", "ANN BEEBE", "jürgen müller", "JÜRGEN MÜLLER", "CONTOSO\\\\JMÜLLER"] {
        let run = s.c(&format!(r#"get_cs_user("{id}").len()"#)).ok();
        assert_eq!(run.stdout.trim(), "1", "{id}");
    }
    let run = s.run(&["--as", "CONTOSO\\JMÜLLER", "-c", "1"]).ok();
    assert_eq!(run.stdout.trim(), "1");
    let run = s.c(r#"get_cs_user("jürgen mueller")"#);
    assert_eq!(run.code, 3, "{}", run.stdout);
}

/// A DN matches ignoring the case of every letter, as display names do and as AD compares DNs
/// (adversary: `CN=ömer çelik,…` was NotFound while `cn=Ömer Çelik,…` was found): by -Identity, as
/// -OU and under it, and in a directory file that names a stored principal in another case, which
/// updates it instead of adding a second one. Both backends answer alike (the fold is pchat's).
#[test]
fn distinguished_names_match_ignoring_case_beyond_ascii() {
    let s = Store::demo();
    let import = |name: &str, dn: &str, title: &str| {
        let path = s.dir.path().join(name);
        let file = serde_json::json!({ "Principals": [
            { "Type": "OrganizationalUnit", "Dn": "OU=Ventes Été,DC=contoso,DC=com" },
            { "Type": "User", "Dn": dn, "DisplayName": "Ömer Çelik", "SipAddress": "sip:omer@contoso.com",
              "SamAccountName": "omer", "Title": title }] });
        std::fs::write(&path, file.to_string()).expect("write");
        s.c(&format!("import_cs_ad_principal({:?})", path.to_string_lossy())).ok();
    };
    import("one.json", "CN=Ömer Çelik,OU=Ventes Été,DC=contoso,DC=com", "Seller");
    for id in [
        "CN=Ömer Çelik,OU=Ventes Été,DC=contoso,DC=com",
        "cn=ömer çelik,ou=ventes été,dc=contoso,dc=com",
        "CN=ÖMER ÇELIK,OU=VENTES ÉTÉ,DC=CONTOSO,DC=COM",
    ] {
        assert_eq!(out(&s, &format!(r#"get_cs_ad_principal("{id}").len()"#)), "1", "{id}");
    }
    assert_eq!(
        out(&s, r#"get_cs_ad_principal(#{OU: "ou=ventes été,dc=contoso,dc=com"}).map(|p| p.DisplayName)"#),
        "Ömer Çelik"
    );
    // The same principal named in another case: updated under its stored DN, not added again.
    import("two.json", "CN=ömer çelik,OU=VENTES ÉTÉ,DC=contoso,DC=com", "Manager");
    assert_eq!(
        out(&s, r#"get_cs_ad_principal("*elik").map(|p| `${p.DistinguishedName} ${p.Title}`)"#),
        "CN=Ömer Çelik,OU=Ventes Été,DC=contoso,DC=com Manager"
    );
    let run = s.c(r#"get_cs_ad_principal("CN=Omer Celik,OU=Ventes Été,DC=contoso,DC=com")"#);
    assert_eq!(run.code, 3, "accents are not case: {}", run.stdout);
}

/// Member enumeration, as PowerShell's `(Get-CsPersistentChatRoom id).Description`: a property
/// read on what a Get returned is its object's value (one object), its objects' values (several)
/// or `()` (none, PowerShell's `$null`), never Rhai's "a getter is not registered for type
/// 'array'"; a misspelled name is still an error with a suggestion. A failed New read as an object
/// says the New's error.
#[test]
fn a_property_of_a_gets_answer_is_its_objects_property() {
    let s = Store::examples();
    assert_eq!(out(&s, r#"get_cs_persistent_chat_state("pc01.contoso.com").InSync"#), "True");
    let one = r#"get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom").Description"#;
    assert_eq!(out(&s, one), "Budget and forecasting");
    assert_eq!(out(&s, &format!("type_of({one})")), "string");
    let several = r#"get_cs_persistent_chat_category(#{PersistentChatPoolFqdn: "pc01.contoso.com"})"#;
    assert_eq!(
        out(&s, &format!("let c = {several}; c.Name == c.map(|x| x.Name)")),
        "True",
        "one value per object, in order"
    );
    let none = r#"get_cs_persistent_chat_room(#{Filter: "Name -like 'zz*'"}).Name"#;
    assert_eq!(out(&s, &format!("{none} == ()")), "True");
    // The PowerShell form reads the same.
    let ps = s.stdin(&[], "(Get-CsPersistentChatRoom -Identity 'pc01.contoso.com\\FinanceRoom').Description\n").ok();
    assert_eq!(ps.stdout.trim(), "Budget and forecasting");

    for (code, want) in [
        ("get_cs_persistent_chat_room().Descriptin", "no property 'Descriptin'; did you mean 'Description'? (line 1"),
        ("get_cs_persistent_chat_room().description", "no property 'description'; did you mean 'Description'? (line 1"),
        (
            r#"get_cs_ad_principal(#{Filter: "Name -like '*'"}).Members"#,
            "no property 'Members' on item 0 of the array (OCSADPrincipal)",
        ),
    ] {
        let run = s.c(code);
        assert_eq!(run.code, 1, "{code}: {}", run.stdout);
        let line = common::single_error_line(&run);
        assert!(line.starts_with(want), "{code}: {line}");
    }

    let before = s.dump();
    let new = r#"new_cs_persistent_chat_room(#{Name: "Elsewhere", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "nope"}).Identity"#;
    let run = s.c(new);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{}", run.stderr);
    assert!(lines[0].starts_with("New-CsPersistentChatRoom: NotFound: -Category: "), "{}", run.stderr);
    assert!(lines[1].starts_with(&format!("no object to read 'Identity' from: {}", lines[0])), "{}", run.stderr);
    assert_eq!(s.dump(), before);
}

/// Several objects' values compared with one value by `==` or `!=` would be Rhai's silent false
/// (true) for two types: `if get_cs_persistent_chat_state().InSync == false { exit(4) }` would
/// never fail a check runbook. It is an error saying how to ask what was meant; one object's
/// value compares as itself, and `x != ()` still asks whether x is set.
#[test]
fn several_values_compared_with_one_is_an_error_not_a_silent_false() {
    let s = Store::examples();
    for (code, op, value) in [
        ("get_cs_persistent_chat_state().InSync == false", "==", "false"),
        (r#"get_cs_persistent_chat_state().PoolState != "Normal""#, "!=", "\"Normal\""),
        (r#""x" == get_cs_persistent_chat_room().Name"#, "==", "\"x\""),
    ] {
        let run = s.c(code);
        assert_eq!(run.code, 1, "{code}: {}", run.stdout);
        let line = common::single_error_line(&run);
        assert!(line.starts_with("cannot compare an array of "), "{code}: {line}");
        assert!(line.contains(&format!("with {value} using {op}: ask .contains({value}) for any")), "{code}: {line}");
    }
    let pools = "get_cs_persistent_chat_state()";
    assert_eq!(out(&s, &format!("{pools}.InSync.all(|v| v == true)")), "True");
    assert_eq!(out(&s, r#"get_cs_persistent_chat_state("pc01.contoso.com").InSync == true"#), "True");
    assert_eq!(out(&s, &format!("{pools}.InSync != ()")), "True");
}

/// SIP addresses and UPNs are looked up ignoring the case of every letter, as they are kept
/// unique (`sip:JÖRG@…` finds `sip:jörg@…`): by -Identity, as a user parameter, as a list entry
/// (stored in the directory's spelling) and as an endpoint's address. Both backends answer alike
/// (the fold is pchat's).
#[test]
fn sip_addresses_and_upns_match_ignoring_case_beyond_ascii() {
    let s = Store::examples();
    let path = s.dir.path().join("jorg.json");
    let file = serde_json::json!({ "Principals": [
        { "Type": "User", "Dn": "CN=Jörg Ölund,OU=Finance,DC=contoso,DC=com", "DisplayName": "Jörg Ölund",
          "SipAddress": "sip:jörg@contoso.com", "SamAccountName": "jorg", "UserPrincipalName": "jörg.ölund@contoso.com",
          "RegistrarPool": "fe01.contoso.com" }] });
    std::fs::write(&path, file.to_string()).expect("write");
    s.c(&format!("import_cs_ad_principal({:?})", path.to_string_lossy())).ok();
    for id in [
        "sip:jörg@contoso.com",
        "sip:JÖRG@contoso.com",
        "SIP:JöRG@CONTOSO.COM",
        "JÖRG@contoso.com",
        "JÖRG.ÖLUND@contoso.com",
    ] {
        assert_eq!(
            out(&s, &format!(r#"get_cs_ad_principal("{id}").map(|p| p.SipAddress)"#)),
            "sip:jörg@contoso.com",
            "{id}"
        );
    }
    let room = r#""pc01.contoso.com\\FinanceRoom""#;
    s.c(&format!(r#"set_cs_persistent_chat_room({room}, #{{Members: #{{Add: "sip:JÖRG@contoso.com"}}}})"#)).ok();
    assert_eq!(
        out(&s, &format!("get_cs_persistent_chat_room({room})[0].Members.filter(|m| m.contains(\"rg@\"))")),
        "sip:jörg@contoso.com"
    );
    let rooms = out(&s, r#"get_cs_persistent_chat_room(#{Member: "sip:JÖRG@contoso.com"}).map(|r| r.Name)"#);
    assert!(rooms.contains("FinanceRoom"), "{rooms}");
    assert_eq!(out(&s, r#"get_cs_effective_persistent_chat_policy("JÖRG.ÖLUND@contoso.com").len()"#), "1");
    s.c(r#"new_cs_persistent_chat_endpoint(#{SipAddress: "sip:bötchen@contoso.com", PersistentChatPoolFqdn: "pc01.contoso.com"})"#).ok();
    assert_eq!(
        out(&s, r#"get_cs_persistent_chat_endpoint("sip:BÖTCHEN@contoso.com").map(|e| e.SipAddress)"#),
        "sip:bötchen@contoso.com"
    );
    // An accented letter is not its plain letter.
    let run = s.c(r#"get_cs_ad_principal("sip:jorg@contoso.com")"#);
    assert_eq!(run.code, 3, "{}", run.stdout);
}
