//! The foundation: command line, exit codes, binding errors, WhatIf/Confirm, topology and
//! directory loading, and the directory reads — all through the built binary.

use crate::common;
use common::{ROOT, Store, single_error_line};

#[test]
fn demo_store_lists_its_persistent_chat_pools() {
    let s = Store::demo();
    let run = s.c("get_cs_service(#{PersistentChatServer: true}).map(|x| x.Identity)").ok();
    assert_eq!(run.stdout.trim(), "PersistentChatServer:pc01.contoso.com\nPersistentChatServer:pc02.contoso.com");
    let run = s.run(&["--json", "-c", "get_cs_service(#{PersistentChatServer: true})"]).ok();
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("valid JSON");
    let pools = json.as_array().expect("array");
    assert_eq!(pools.len(), 2);
    assert_eq!(pools[0]["Role"], "PersistentChatServer");
    assert_eq!(pools[0]["SiteId"], "Site:Dublin");
    assert_eq!(pools[0]["ActiveServers"], serde_json::json!(["pcsrv01.contoso.com", "pcsrv02.contoso.com"]));
    assert_eq!(pools[0]["Servers"].as_array().map(|a| a.len()), Some(4));
}

#[test]
fn get_cs_service_filters() {
    let s = Store::demo();
    let ids = |code: &str| s.c(&format!("{code}.map(|x| x.Identity)")).ok().stdout.trim().to_string();
    assert_eq!(
        ids(r#"get_cs_service(#{FileStore: true, PoolFqdn: "fe01.contoso.com"})"#),
        "FileStore:fe01.contoso.com"
    );
    assert_eq!(
        ids(r#"get_cs_service(#{Filter: "Registrar:*"})"#),
        "Registrar:fe01.contoso.com\nRegistrar:fe02.contoso.com"
    );
    assert_eq!(ids(r#"get_cs_service("registrar:FE02.contoso.com")"#), "Registrar:fe02.contoso.com");
    let oslo = s.c(r#"get_cs_service().filter(|x| x.SiteId == "Site:Oslo").len()"#).ok();
    assert_eq!(oslo.stdout.trim(), "5");
    let run = s.c(r#"get_cs_service(#{Registrar: true, EdgeServer: true})"#);
    assert_eq!(run.code, 1);
    assert!(single_error_line(&run).starts_with("Get-CsService: AmbiguousParameterSet:"), "{}", run.stderr);
    let run = s.c(r#"get_cs_service("Registrar:nowhere.contoso.com"); 7"#);
    assert_eq!(run.code, 3, "a non-terminating error lets the script finish with exit code 3");
    assert_eq!(run.stdout.trim(), "7");
    assert!(single_error_line(&run).starts_with("Get-CsService: NotFound: no service 'Registrar:nowhere.contoso.com'"));
}

/// Each binding error: one line naming cmdlet and parameter, exit 1 in a runbook, store unchanged.
#[test]
fn binding_errors_are_one_clear_line_exit_1_and_change_nothing() {
    let s = Store::demo();
    let before = s.dump();
    let cases = [
        (
            r#"remove_cs_ad_principal(#{Identiy: "sip:annb@contoso.com"});"#,
            "Remove-CsAdPrincipal: ParameterBinding: no parameter 'Identiy'; did you mean 'Identity'?",
        ),
        (
            r#"remove_cs_ad_principal("sip:annb@contoso.com", #{ErrorAction: "Halt"});"#,
            "Remove-CsAdPrincipal: ParameterBinding: cannot bind parameter 'ErrorAction': 'Halt' is not one of Continue, Stop, SilentlyContinue, Ignore",
        ),
        ("remove_cs_ad_principal();", "Remove-CsAdPrincipal: ParameterBinding: missing mandatory parameter 'Identity'"),
        (
            r#"get_cs_admin_role(#{Identity: "CsHelpDesk", Sid: "S-1-5-21-1"});"#,
            "Get-CsAdminRole: AmbiguousParameterSet: parameter set cannot be resolved: 'Sid' cannot be used with 'Identity'",
        ),
        (
            r#"get_cs_ad_principal(#{ResultSize: -1});"#,
            "Get-CsAdPrincipal: ParameterBinding: cannot bind parameter 'ResultSize': -1 is not a valid count",
        ),
        (
            r#"remove_cs_ad_principal("sip:annb@contoso.com", #{WhatIf: "maybe"});"#,
            "Remove-CsAdPrincipal: ParameterBinding: cannot bind parameter 'WhatIf': expected true or false",
        ),
        (
            r#"clear_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{EndDate: "13/45/2020", Confirm: false});"#,
            "Clear-CsPersistentChatRoom: ParameterBinding: cannot bind parameter 'EndDate': ",
        ),
        (
            r#"set_cs_persistent_chat_configuration(#{DefaultChatHistory: 600});"#,
            "Set-CsPersistentChatConfiguration: OutOfRange: parameter 'DefaultChatHistory': 600 is out of range; valid values are 1 to 500",
        ),
    ];
    for (code, expected) in cases {
        let run = s.runbook("bad.rhai", &format!("{code}\nprint(\"not reached\");"), &[]);
        assert_eq!(run.code, 1, "{code}\n{}", run.stderr);
        let line = single_error_line(&run);
        assert!(line.starts_with(expected), "{code}\n got: {line}\nwant: {expected}");
        assert!(!run.stdout.contains("not reached"));
        assert_eq!(s.dump(), before, "{code} changed the store");
    }
}

#[test]
fn syntax_errors_and_undefined_variables_exit_2_runtime_errors_exit_1() {
    let s = Store::empty();
    let run = s.c("let x = ;");
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("syntax error"), "{}", run.stderr);
    let run = s.c("undefined_thing + 1");
    assert_eq!(run.code, 2, "strict variables: {}", run.stderr);
    let run = s.c("let m = #{a: 1}; m.b");
    assert_eq!(run.code, 1, "unknown map property is an error: {}", run.stderr);
    let run = s.run(&["run", "/nonexistent/runbook.rhai"]);
    assert_eq!(run.code, 2);
    let run = s.run(&["--no-such-flag"]);
    assert_eq!(run.code, 2);
}

#[test]
fn errors_can_be_caught_read_and_made_terminating() {
    let s = Store::demo();
    let run = s.runbook(
        "errors.rhai",
        r#"
        get_cs_ad_principal("sip:ghost@contoso.com", #{ErrorAction: "SilentlyContinue"});
        let e = last_errors();
        print(`${e.len()} ${e[0].ErrorId} ${e[0].Cmdlet} ${e[0].Target}`);
        clear_errors();
        print(last_errors().len());
        try {
            get_cs_ad_principal("sip:ghost@contoso.com", #{ErrorAction: "Stop"});
            print("not reached");
        } catch (err) {
            print(`caught: ${err}`);
        }
        "#,
        &[],
    );
    assert_eq!(run.code, 0, "SilentlyContinue errors are not written: {}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "1 NotFound Get-CsAdPrincipal sip:ghost@contoso.com");
    assert_eq!(lines[1], "0");
    assert!(
        lines[2].starts_with("caught: Get-CsAdPrincipal: NotFound: no principal 'sip:ghost@contoso.com'"),
        "{}",
        lines[2]
    );
    let run = s.c(r#"get_cs_ad_principal("sip:ghost@contoso.com", #{ErrorAction: "Stop"}); 1"#);
    assert_eq!(run.code, 1);
}

#[test]
fn unattended_prompt_fails_fast_with_guidance_and_yes_answers_it() {
    let s = Store::demo();
    let before = s.dump();
    let run = s.runbook(
        "confirm.rhai",
        r#"remove_cs_ad_principal("sip:tempuser@contoso.com", #{Confirm: true}); print("after");"#,
        &[],
    );
    assert_eq!(run.code, 1);
    let line = single_error_line(&run);
    assert!(line.starts_with("Remove-CsAdPrincipal: InvalidOperation: confirmation is required"), "{line}");
    assert!(line.contains("Confirm: false") && line.contains("--yes"), "{line}");
    assert_eq!(s.dump(), before);
    let run = s.run(&["--yes", "-c", r#"remove_cs_ad_principal("sip:tempuser@contoso.com", #{Confirm: true}); get_cs_user("sip:tempuser@contoso.com", #{ErrorAction: "SilentlyContinue"}).len()"#]).ok();
    assert_eq!(run.stdout.trim(), "0");
}

#[test]
fn what_if_reports_and_writes_nothing() {
    let s = Store::demo();
    let before = s.dump();
    let run = s.c(r#"remove_cs_ad_principal("sip:tempuser@contoso.com", #{WhatIf: true})"#).ok();
    assert_eq!(
        run.stdout.trim(),
        r#"What if: Performing the operation "Remove-CsAdPrincipal" on target "CN=Temp User,OU=Finance,DC=contoso,DC=com"."#
    );
    let run = s.run(&["--what-if", "-c", r#"remove_cs_ad_principal("sip:tempuser@contoso.com")"#]).ok();
    assert!(run.stdout.starts_with("What if:"));
    assert_eq!(s.dump(), before);
}

#[test]
fn topology_and_directory_errors_reject_the_whole_file_with_the_place() {
    let s = Store::demo();
    let before = s.dump();
    let cases = [
        ("publish_cs_topology", "tests/data/topology_typo.json", "unknown field `Fdqn`"),
        ("publish_cs_topology", "tests/data/topology_invalid.json", "line 12 column 7"),
        (
            "import_cs_ad_principal",
            "tests/data/directory_dangling.json",
            "member 'CN=Ghost User,OU=Finance,DC=contoso,DC=com' is not a principal",
        ),
        (
            "import_cs_ad_principal",
            "tests/data/directory_dup_sip.json",
            "SipAddress 'sip:annb@contoso.com' is a duplicate of Principals[",
        ),
        (
            "import_cs_ad_principal",
            "tests/data/directory_typo.json",
            "unknown key 'SipAdress'; did you mean 'SipAddress'?",
        ),
        ("import_cs_ad_principal", "tests/data/missing.json", "cannot be read"),
    ];
    for (cmdlet, file, needle) in cases {
        let run = s.c(&format!("{cmdlet}(\"{file}\")"));
        assert_eq!(run.code, 3, "{file}: {}", run.stderr);
        let line = single_error_line(&run);
        assert!(line.contains(": InvalidArgument: ") && line.contains(file) && line.contains(needle), "{file}: {line}");
        assert_eq!(s.dump(), before, "{file} changed the store");
    }
}

/// A topology with service versions, as Publish-CsTopology reads it.
const VERSIONED_TOPOLOGY: &str = r#"{
  "SipDomains": ["contoso.com"],
  "Sites": [{ "Name": "Dublin" }],
  "SqlInstances": [{ "Identity": "sql01.contoso.com\\rtc" }],
  "Pools": [
    { "Fqdn": "fe01.contoso.com", "Site": "Dublin", "Services": [{ "Role": "Registrar", "Version": 6 }, "WebServer"] },
    { "Fqdn": "pc01.contoso.com", "Site": "Dublin", "Services": [{ "Role": "PersistentChatServer", "Version": 7 }],
      "Database": "sql01.contoso.com\\rtc" }
  ]
}"#;

/// Get-CsService's Version is the topology's, read alike from Rhai, JSON and a .ps1 script; a
/// service the topology gives no Version shows $Null, and republishing without it clears it.
#[test]
fn service_versions_come_from_the_topology_and_are_never_made_up() {
    let s = Store::empty();
    let topology = s.dir.path().join("topology.json");
    std::fs::write(&topology, s.topology_text(VERSIONED_TOPOLOGY)).expect("write topology");
    let publish = format!("publish_cs_topology({:?})", topology.to_string_lossy());
    s.c(&publish).ok();
    let out = |code: &str| s.c(code).ok().stdout.trim().to_string();
    assert_eq!(out("get_cs_service(#{PersistentChatServer: true})[0].Version"), "7");
    assert_eq!(out(r#"get_cs_service("Registrar:fe01.contoso.com")[0].Version + 1"#), "7");
    assert_eq!(out(r#"type_of(get_cs_service("WebServer:fe01.contoso.com")[0].Version)"#), "()");
    let run = s.run(&["--json", "-c", "get_cs_service()"]).ok();
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    let versions: Vec<(&str, &serde_json::Value)> = json
        .as_array()
        .expect("array")
        .iter()
        .map(|o| (o["Identity"].as_str().expect("Identity"), &o["Version"]))
        .collect();
    let null = serde_json::Value::Null;
    assert_eq!(
        versions,
        [
            ("Registrar:fe01.contoso.com", &serde_json::json!(6)),
            ("WebServer:fe01.contoso.com", &null),
            ("PersistentChatServer:pc01.contoso.com", &serde_json::json!(7)),
        ]
    );
    // The way administrators' scripts read it.
    let script = r#"$v = (Get-CsService -PersistentChatServer).Version
if ($v -ge 7) { Write-Output "pc01 runs version $v" }
if ($null -eq (Get-CsService -WebServer).Version) { Write-Output "WebServer: no version" }
Get-CsService | Where-Object { $_.Version -eq 6 } | ForEach-Object { $_.Identity }
"#;
    let run = s.runbook("versions.ps1", script, &[]).ok();
    assert_eq!(
        run.stdout.lines().collect::<Vec<_>>(),
        ["pc01 runs version 7", "WebServer: no version", "Registrar:fe01.contoso.com"]
    );
    assert_eq!(out("(Get-CsService -Registrar).Version"), "6");
    // Published again without a Version: none, not the one it had.
    std::fs::write(&topology, s.topology_text(&VERSIONED_TOPOLOGY.replace(r#", "Version": 7"#, "")))
        .expect("write topology");
    s.c(&publish).ok();
    assert_eq!(out("type_of(get_cs_service(#{PersistentChatServer: true})[0].Version)"), "()");
}

/// A bad Version rejects the whole topology, naming the pool, the service and the field.
#[test]
fn a_bad_service_version_is_refused_naming_the_field() {
    let s = Store::demo();
    let path = s.dir.path().join("topology.json");
    for (bad, why) in [("\"7\"", "is a string"), ("2015", "looks like a release year"), ("0", "is not valid")] {
        std::fs::write(
            &path,
            s.topology_text(&VERSIONED_TOPOLOGY.replace(r#""Version": 7"#, &format!(r#""Version": {bad}"#))),
        )
        .expect("write topology");
        let line = common::fails_unchanged(
            &s,
            &format!("publish_cs_topology({:?})", path.to_string_lossy()),
            "Publish-CsTopology",
            "InvalidArgument",
        );
        let want = format!("Pools[1] (pc01.contoso.com): service PersistentChatServer: Version {bad} {why}");
        assert!(line.contains(&want), "{line}");
        assert!(line.contains("Version must be a whole number from 1 to 99"), "{line}");
    }
    // The published topology stands, versions and all.
    assert_eq!(s.c("get_cs_service(#{PersistentChatServer: true}).map(|s| s.Version)").ok().stdout.trim(), "7\n6");
}

/// The demo topology gives its Persistent Chat services versions (and its other services none).
#[test]
fn the_demo_topology_carries_persistent_chat_versions() {
    let s = Store::demo();
    let run = s.c("(Get-CsService -PersistentChatServer) | ForEach-Object { \"$($_.PoolFqdn) $($_.Version)\" }").ok();
    assert_eq!(run.stdout.trim(), "pc01.contoso.com 7\npc02.contoso.com 6");
    let run = s.c("get_cs_service(#{Registrar: true}).filter(|s| s.Version != ()).len()").ok();
    assert_eq!(run.stdout.trim(), "0");
}

#[test]
fn republishing_the_same_topology_is_idempotent_and_keeps_default_endpoints() {
    let s = Store::demo();
    let endpoints = || {
        s.c(r#"get_cs_ad_principal(#{Filter: "SipAddress -like 'sip:pchat-*'"}).map(|p| p.SipAddress + " " + p.Identity)"#).ok().stdout
    };
    let first = endpoints();
    assert_eq!(first.lines().count(), 2, "{first}");
    assert!(first.contains("sip:pchat-pc01@contoso.com CN={"), "{first}");
    assert!(first.contains(",CN=Application Contacts,CN=RTC Service,CN=Services,CN=Configuration,DC=contoso,DC=com"));
    s.c(&format!("publish_cs_topology({:?})", s.demo_topology())).ok();
    assert_eq!(endpoints(), first);
}

#[test]
fn ad_principal_queries() {
    let s = Store::demo();
    let count = |code: &str| s.c(&format!("{code}.len()")).ok().stdout.trim().parse::<usize>().expect("a count");
    assert_eq!(count(r#"get_cs_ad_principal(#{Filter: "{SipAddress -eq 'sip:LobbyKiosk@contoso.com'}"})"#), 1);
    assert_eq!(count(r#"get_cs_ad_principal(#{OU: "OU=Sales,DC=contoso,DC=com", ResultSize: 5})"#), 5);
    assert_eq!(
        count(r#"get_cs_ad_principal(#{OU: "OU=Finance,DC=contoso,DC=com"}).filter(|p| "group" in p.ObjectClass)"#),
        2
    );
    assert_eq!(count(r#"["OU=Oslo,DC=contoso,DC=com", "OU=Sales,DC=contoso,DC=com"].get_cs_ad_principal()"#), 2);
    assert_eq!(count(r#"get_cs_ad_principal("* Beebe")"#), 1);
    assert_eq!(count(r#"get_cs_ad_principal(#{LDAPFilter: "(&(l=Oslo)(objectClass=user))"})"#), 61);
    assert_eq!(count(r#"get_cs_ad_principal(#{ResultSize: 0})"#), 0);
    let ann = s.c(r#"let p = get_cs_ad_principal("contoso\\annb")[0]; `${p.Name}|${p.DisplayName}|${p.ObjectClass}|${p.Department}|${p.DistinguishedName}`"#).ok();
    assert_eq!(
        ann.stdout.trim(),
        "Ann Beebe|Ann Beebe|[\"top\", \"person\", \"organizationalPerson\", \"user\"]|Finance|CN=Ann Beebe,OU=Finance,DC=contoso,DC=com"
    );
    let run = s.c(r#"get_cs_ad_principal(#{Filter: "SipAddress -eq"})"#);
    assert!(
        single_error_line(&run).starts_with("Get-CsAdPrincipal: InvalidArgument: -Filter 'SipAddress -eq'"),
        "{}",
        run.stderr
    );
}

#[test]
fn users_roles_and_credentials() {
    let s = Store::demo();
    let count = |code: &str| s.c(&format!("{code}.len()")).ok().stdout.trim().parse::<usize>().expect("a count");
    assert_eq!(count("get_cs_user()"), 299, "the non-SIP user is not a Get-CsUser result");
    assert_eq!(
        count(r#"get_cs_user(#{LdapFilter: "Department=Sales"})"#),
        count(r#"get_cs_user().filter(|u| u.Department == "Sales")"#)
    );
    assert_eq!(count(r#"get_cs_user(#{Filter: "{DisplayName -like 'Ken*'}"})"#), 1);
    let ken = s.c(r#"let u = get_cs_user("sip:kenmyer@contoso.com")[0]; `${u.SiteId} ${u.RegistrarPool} ${u.PersistentChatPolicy}`"#).ok();
    assert_eq!(ken.stdout.trim(), "Site:Dublin fe01.contoso.com");
    let run = s.c(r#"get_cs_user("CN=Nora NoSip,OU=IT,DC=contoso,DC=com")"#);
    assert_eq!(run.code, 3);
    assert_eq!(count(r#"get_cs_admin_role(#{Filter: "*Archiving*"})"#), 1);
    let helpdesk = s.c(r#"get_cs_admin_role("CsHelpDesk")[0].Cmdlets"#).ok().stdout;
    assert!(helpdesk.contains("Test-CsPersistentChatMessage") && !helpdesk.contains("Remove-"), "{helpdesk}");
    let custom =
        s.c(r#"let r = get_cs_admin_role("FinanceChatAdmins")[0]; `${r.IsStandardRole} ${r.UserScopes}`"#).ok();
    assert_eq!(custom.stdout.trim(), r#"false ["OU:OU=Finance,DC=contoso,DC=com"]"#);
    let sid =
        s.c(r#"let sid = get_cs_admin_role("CsHelpDesk")[0].Sid; get_cs_admin_role(#{Sid: sid})[0].Identity"#).ok();
    assert_eq!(sid.stdout.trim(), "CsHelpDesk");
    let cred = s.c(r#"let c = get_credential("contoso\\annb"); c.UserName"#).ok();
    assert_eq!(cred.stdout.trim(), "contoso\\annb");
}

#[test]
fn removing_a_principal_and_reimporting_updates() {
    let s = Store::demo();
    s.c(r#"remove_cs_ad_principal("sip:tempuser@contoso.com")"#).ok();
    let run = s.c(r#"remove_cs_ad_principal("OU=Finance,DC=contoso,DC=com")"#);
    assert!(
        single_error_line(&run)
            .contains("InvalidOperation: OrganizationalUnit 'OU=Finance,DC=contoso,DC=com' still contains")
    );
    let run = s.c(r#"remove_cs_ad_principal("sip:pchat-pc01@contoso.com")"#);
    assert!(single_error_line(&run).contains("Remove-CsPersistentChatEndpoint"));
    // Importing the demo directory again restores the leaver and changes nothing else.
    s.c(&format!(r#"import_cs_ad_principal("{ROOT}/scripts/demo/directory.json"); get_cs_user().len()"#)).ok();
    assert_eq!(s.c("get_cs_user().len()").ok().stdout.trim(), "299");
}

#[test]
fn csv_import_adds_users() {
    let s = Store::demo();
    let csv = s.dir.path().join("joiners.csv");
    std::fs::write(
        &csv,
        "Dn,DisplayName,SipAddress,SamAccountName,Department,RegistrarPool,l\n\
         \"CN=New Joiner,OU=Sales,DC=contoso,DC=com\",New Joiner,sip:newj@contoso.com,newj,Sales,fe01.contoso.com,Dublin\n",
    )
    .expect("write csv");
    let run = s
        .c(&format!(
            r#"import_cs_ad_principal({:?}); get_cs_user("sip:newj@contoso.com")[0].Department"#,
            csv.to_string_lossy()
        ))
        .ok();
    assert_eq!(run.stdout.trim(), "Sales");
    std::fs::write(&csv, "Dn,DisplayName,SipAdress\n\"CN=X,DC=contoso,DC=com\",X,sip:x@contoso.com\n")
        .expect("write csv");
    let run = s.c(&format!(r#"import_cs_ad_principal({:?})"#, csv.to_string_lossy()));
    assert!(single_error_line(&run).contains("line 2: unknown key 'SipAdress'"), "{}", run.stderr);
}

#[test]
fn runbooks_get_args_script_dir_modules_and_stdin() {
    let s = Store::demo();
    std::fs::write(s.dir.path().join("helpers.rhai"), "fn twice(x) { x * 2 }").expect("module");
    let run = s
        .runbook(
            "main.rhai",
            r#"
        import "helpers" as h;
        import "common" as c;
        const PARAMS = #{ pool: #{ type: "string", mandatory: true, help: "the pool" } };
        let by_dept = c::count_by(get_cs_user(#{LdapFilter: "Department=Sales"}), "Department");
        print(`${h::twice(21)} ${ARGS.pool} ${SCRIPT_DIR.len() > 0} ${by_dept.keys()}`);
        "#,
            &["--arg", "pool=pc01.contoso.com"],
        )
        .ok();
    assert_eq!(run.stdout.trim(), "42 pc01.contoso.com true [\"Sales\"]");
    let run = s.stdin(&[], "let n = get_cs_service(#{PersistentChatServer: true}).len();\nprint(n);").ok();
    assert_eq!(run.stdout.trim(), "2");
    let run = s.c("cmd(\"Get-CsService\", #{PersistentChatServer: true}).len()").ok();
    assert_eq!(run.stdout.trim(), "2");
}

#[test]
fn demo_flag_loads_the_demo_into_a_new_store_once() {
    let s = Store::empty();
    if s.is_postgres() {
        return demo_flag_on_postgres_names_the_route_that_works(s);
    }
    let run = s.run(&["--demo", "-c", "get_cs_user().len()"]).ok();
    assert_eq!(run.stdout.trim(), "299");
    assert!(run.stderr.contains("loaded the demo environment"));
    let run = s.run(&["--demo", "-c", "get_cs_user().len()"]).ok();
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

/// PostgreSQL: `--demo` with a URL is refused (the demo topology names pool files), changing
/// nothing, and the refusal names the route that works: the demo into SQLite, then copy-store
/// into new databases, then the store without `--demo`. That route, followed, gives the demo.
fn demo_flag_on_postgres_names_the_route_that_works(s: Store) {
    let tables = "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema()";
    let run = s.run(&["--demo", "-c", "get_cs_user().len()"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    for route in [
        "pchat --demo --db demo.db -c 1",
        "pchat copy-store --from demo.db --to postgres://",
        "--pool 'sql01.contoso.com\\rtc=postgres://",
        "--pool 'sql03.contoso.com\\rtc=postgres://",
        "_sql03",
        "without --demo",
    ] {
        assert!(run.stderr.contains(route), "{route}: {}", run.stderr);
    }
    assert_eq!(s.count(None, tables), 0, "a refused --demo changes nothing");
    let dir = tempfile::tempdir().expect("temp dir");
    let demo = dir.path().join("demo.db");
    let made = common::pchat().arg("--demo").arg("--db").arg(&demo).args(["-c", "1"]).env_remove("PCHAT_DB").output();
    common::Run::from(made.expect("pchat runs")).ok();
    let pools: Vec<(String, String)> = ["sql01", "sql02", "sql03"]
        .iter()
        .map(|i| (format!("{i}.contoso.com\\rtc"), common::damage::new_empty_database(&s, i)))
        .collect();
    let central = s.location().to_string_lossy().into_owned();
    common::pg_copy::copy_into_postgres(&[], &demo, &central, pools.iter().map(|(i, u)| (i.as_str(), u.as_str())));
    let run = s.run(&["-c", "get_cs_user().len()"]).ok();
    assert_eq!(run.stdout.trim(), "299");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    let rooms = s.c("get_cs_persistent_chat_room().len()").ok();
    assert_eq!(rooms.stdout.trim(), "9");
}

#[test]
fn help_is_derived_from_the_catalog() {
    let s = Store::empty();
    let run = s.c(r#"help("Get-CsAdPrincipal")"#).ok();
    assert!(run.stdout.contains("get_cs_ad_principal") && run.stdout.contains("LDAPFilter"), "{}", run.stdout);
    let same = s.c(r#"help("get_cs_ad_principal")"#).ok();
    assert_eq!(run.stdout, same.stdout);
    let overview = s.c("help()").ok();
    assert!(overview.stdout.contains("get_cs_service"));
}

/// Objects carry exactly the properties their type lists (ObjType::properties), in that order
/// (principals add their directory attributes; Persistent Chat services add their servers).
#[test]
fn objects_have_the_reference_properties_in_order() {
    use pchat::catalog::ObjType;
    let s = Store::demo();
    let cases = [
        ("get_cs_user(#{ResultSize: 1})[0]", ObjType::User, true),
        ("get_cs_admin_role(\"CsHelpDesk\")[0]", ObjType::Role, true),
        ("get_credential(\"contoso\\\\annb\")", ObjType::Credential, true),
        ("get_cs_service(\"Registrar:fe01.contoso.com\")[0]", ObjType::Service, true),
        ("get_cs_service(#{PersistentChatServer: true})[0]", ObjType::Service, false),
        ("get_cs_ad_principal(\"sip:annb@contoso.com\")[0]", ObjType::AdPrincipal, false),
    ];
    for (code, kind, exact) in cases {
        let run = s.run(&["--json", "-c", code]).ok();
        let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON object");
        let keys: Vec<&str> = json.as_object().expect("object").keys().map(String::as_str).collect();
        let props = kind.properties();
        assert_eq!(&keys[..props.len()], props, "{code}");
        if exact {
            assert_eq!(keys.len(), props.len(), "{code}: {keys:?}");
        }
    }
}

#[test]
fn directory_report_runbook() {
    let s = Store::demo();
    let report = format!("{ROOT}/scripts/directory_report.rhai");
    let run = s.run(&["run", &report, "--arg", "ou=OU=Sales,DC=contoso,DC=com"]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "SIP-enabled users in OU=Sales,DC=contoso,DC=com: 48");
    assert!(lines.contains(&"  Sales: 48"), "{}", run.stdout);
    assert_eq!(lines.last(), Some(&"With a per-user policy: 0"));
    let run = s.run(&["run", &report]).ok();
    assert!(run.stdout.starts_with("SIP-enabled users: 299\n"), "{}", run.stdout);
}

/// Ctrl-C (SIGINT) stops a running script cleanly: exit code 130, a clear message, no hang.
#[cfg(unix)]
#[test]
fn interrupt_stops_a_running_script() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let s = Store::demo();
    let mut child = s
        .command(&["-c", r#"print("started"); let n = 0; loop { n += 1; }"#])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut first).expect("read");
    assert_eq!(first.trim(), "started");
    // SAFETY: sending a signal to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(130));
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted"));
}
