//! The demo as a newcomer meets it: `pchat --demo` loads a working set, the README's quick start
//! answers with data, and every shipped runbook has something real to act on (and fails honestly
//! when pointed at what does not exist).

use crate::common;

use common::{ROOT, Store};

fn script(name: &str) -> String {
    format!("{ROOT}/scripts/{name}")
}

/// A number printed alone on stdout.
fn number(s: &Store, code: &str) -> i64 {
    let run = s.c(code).ok();
    run.stdout.trim().parse().unwrap_or_else(|_| panic!("{code}: not a number: {}", run.stdout))
}

#[test]
fn demo_flag_loads_the_working_set_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("demo.db");
    let db = db.to_string_lossy();
    let pchat = |code: &str| {
        common::Run::from(
            common::pchat()
                .args(["--demo", "--db", &db, "-c", code])
                .env_remove("PCHAT_DB")
                .stdin(std::process::Stdio::null())
                .output()
                .expect("pchat runs"),
        )
        .ok()
    };
    let first = pchat("get_cs_persistent_chat_room().len()");
    assert!(first.stderr.contains("loaded the demo environment"), "{}", first.stderr);
    assert_eq!(first.stdout.trim(), "9");
    // Nothing of the working set leaks into the session, and a second start loads nothing.
    let again = pchat(
        "let n = 0; for r in get_cs_persistent_chat_room() { n += get_cs_persistent_chat_message(r.Identity).len(); } n",
    );
    assert!(!again.stderr.contains("loaded"), "{}", again.stderr);
    let messages: i64 = again.stdout.trim().parse().expect("a count");
    assert!((2_000..5_000).contains(&messages), "a few thousand messages: {messages}");
}

/// On PostgreSQL (where `--demo` is refused) the demo is loaded into SQLite and copied into the
/// test's databases by `pchat copy-store` (`Store::demo_full`), the route the refusal gives: the
/// same working set must be there.
#[test]
fn the_working_set_has_scopes_members_managers_add_ins_grants_and_recent_messages() {
    let s = Store::demo_full();
    assert_eq!(number(&s, "get_cs_persistent_chat_category().len()"), 5);
    assert_eq!(number(&s, "get_cs_persistent_chat_addin().len()"), 2);
    assert_eq!(
        number(&s, "get_cs_persistent_chat_category().filter(|c| c.AllowedMembers.is_empty()).len()"),
        0,
        "every category has a scope"
    );
    assert!(number(&s, "get_cs_persistent_chat_room().filter(|r| !r.Members.is_empty()).len()") >= 5);
    assert!(number(&s, "get_cs_persistent_chat_room().filter(|r| !r.Managers.is_empty()).len()") >= 5);
    assert_eq!(number(&s, r#"get_cs_user().filter(|u| u.PersistentChatPolicy == "SalesChatPolicy").len()"#), 12);
    // Messages over recent weeks: some older than 30 days, none older than 60, none in the future.
    let recent = number(
        &s,
        r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{StartDate: utc_date(-30)}).len()"#,
    );
    let all = number(&s, r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom").len()"#);
    let old = number(
        &s,
        r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{EndDate: utc_date(-60)}).len()"#,
    );
    assert!(recent > 100 && all > recent && old == 0, "recent {recent}, all {all}, older than 60 days {old}");
    // Running the demo runbook again adds nothing.
    let census = "let n = 0; for r in get_cs_persistent_chat_room() { n += 1000000 + get_cs_persistent_chat_message(r.Identity).len(); } n";
    let before = number(&s, census);
    if s.is_postgres() {
        // The runbook's topology names pool files (a PostgreSQL store refuses it: Connection is
        // required): its three steps, with the demo topology spelt with this store's databases.
        let directory = script("demo/directory.json");
        s.c(&format!(
            r#"publish_cs_topology(#{{FileName: {:?}, ErrorAction: "Stop"}}); import_cs_ad_principal(#{{FileName: {directory:?}, ErrorAction: "Stop"}}); ()"#,
            s.demo_topology()
        ))
        .ok();
        s.run(&["run", &script("demo/working_set.rhai")]).ok();
    } else {
        s.run(&["run", &script("demo/setup.rhai")]).ok();
    }
    assert_eq!(number(&s, census), before);
}

#[test]
fn the_readme_quick_start_answers_with_data() {
    let s = Store::demo_full();
    for (code, want) in [
        ("get_cs_service(#{PersistentChatServer: true})", "pc02.contoso.com"),
        (r#"get_cs_user(#{LdapFilter: "(&(Department=Sales)(l=Oslo))"}).len()"#, "12"),
        (r#"get_cs_ad_principal("* Beebe")"#, "Ann Beebe"),
        (
            r#"get_cs_ad_principal(#{OU: "OU=Finance,DC=contoso,DC=com"}).filter(|p| "group" in p.ObjectClass)"#,
            "FinanceLeads",
        ),
        (r#"get_cs_admin_role("CsHelpDesk")[0].Cmdlets"#, "Get-CsPersistentChatRoom"),
        (r#"remove_cs_ad_principal("sip:tempuser@contoso.com", #{WhatIf: true})"#, "What if:"),
        (
            r#"get_cs_persistent_chat_room(#{Member: "sip:annb@contoso.com"}).map(|r| r.Identity)"#,
            "pc01.contoso.com\\FinanceRoom",
        ),
        (r#"get_cs_persistent_chat_message("pc02.contoso.com\\Sales Oslo", #{ResultSize: 3})"#, "Sales Oslo"),
    ] {
        let run = s.c(code).ok();
        assert!(run.stdout.contains(want), "{code}: {}", run.stdout);
    }
    // The README's PowerShell lines change something real: Ann's rooms, the Sales grants.
    s.c(r#"Get-CsPersistentChatRoom -Category "Finance" | Set-CsPersistentChatRoom -Privacy Secret"#).ok();
    assert_eq!(number(&s, r#"get_cs_persistent_chat_room(#{Category: "Finance", Privacy: "Secret"}).len()"#), 3);
    s.c(r#"Get-CsUser -LdapFilter "Department=Sales" | Grant-CsPersistentChatPolicy -PolicyName $Null"#).ok();
    assert_eq!(number(&s, r#"get_cs_user().filter(|u| u.PersistentChatPolicy == "SalesChatPolicy").len()"#), 0);
    // The end-to-end test of a pool passes between two demo users.
    let run = s
        .c(r#"test_cs_persistent_chat_message(#{TargetFqdn: "pc01.contoso.com", SenderSipAddress: "sip:annb@contoso.com",
            SenderCredential: get_credential("contoso\\annb"), ReceiverSipAddress: "sip:bobk@contoso.com",
            ReceiverCredential: get_credential("contoso\\bobk")}).Result"#)
        .ok();
    assert_eq!(run.stdout.trim(), "Success");
}

#[test]
fn every_shipped_runbook_acts_on_the_demo() {
    let s = Store::demo_full();
    s.allow_own_folder();
    let run = s.run(&["run", &script("directory_report.rhai"), "--arg", "OU=OU=Sales,DC=contoso,DC=com"]).ok();
    assert!(run.stdout.contains("SIP-enabled users in OU=Sales,DC=contoso,DC=com: 48"), "{}", run.stdout);
    assert!(run.stdout.contains("With a per-user policy: 6"), "{}", run.stdout);

    let run = s.run(&["--what-if", "run", &script("retention.rhai"), "--arg", "Days=30"]).ok();
    let total = run.stdout.lines().find(|l| l.starts_with("Total: ")).expect("a total");
    assert!(!total.starts_with("Total: 0 "), "{}", run.stdout);
    let run = s.run(&["--what-if", "run", &script("retention.rhai"), "--arg", "Days=90"]).ok();
    assert!(run.stdout.contains("Total: 0 messages would be deleted in 9 rooms"), "{}", run.stdout);

    let run = s.run(&["run", &script("rooms/out-of-scope-report.rhai")]).ok();
    assert!(run.stdout.contains("pc02.contoso.com\\Sales Oslo"), "{}", run.stdout);
    assert!(run.stdout.starts_with("Room "), "columns in the order the runbook builds them: {}", run.stdout);

    let run = s.run(&["--what-if", "run", &script("rooms/disable-unmanaged.rhai")]).ok();
    assert!(run.stdout.contains("pc02.contoso.com\\Sales Leads"), "{}", run.stdout);

    // A successor outside the rooms' category scope: nothing re-homed, nothing listed as re-homed.
    let run = s.run(&[
        "run",
        &script("rooms/rehome-manager.rhai"),
        "--arg",
        "Leaver=sip:tempuser@contoso.com",
        "--arg",
        "NewManager=sip:kenmyer@contoso.com",
    ]);
    assert_eq!(run.code, 3, "{}", run.stderr);
    assert_eq!(run.stdout.trim(), "0 of 2 rooms re-homed from sip:tempuser@contoso.com to sip:kenmyer@contoso.com");
    let run = s
        .run(&[
            "run",
            &script("rooms/rehome-manager.rhai"),
            "--arg",
            "Leaver=contoso\\tempuser",
            "--arg",
            "NewManager=Bob Kelly",
        ])
        .ok();
    assert!(run.stdout.contains("2 of 2 rooms re-homed"), "{}", run.stdout);
    assert!(run.stdout.contains("pc01.contoso.com\\Project Atlas"), "{}", run.stdout);

    let folder = s.dir.path().join("exports");
    std::fs::create_dir_all(&folder).expect("folder");
    let run = s.run(&["run", &script("nightly_export.rhai"), "--arg", &format!("Folder={}", folder.display())]).ok();
    assert!(run.stdout.starts_with("Exported sql01.contoso.com\\rtc"), "{}", run.stdout);

    let run = s.run(&["--what-if", "run", &script("fail_over.rhai"), "--arg", "Pool=pc01.contoso.com"]).ok();
    assert!(run.stdout.contains("What if:"), "{}", run.stdout);
}

#[test]
fn a_mistyped_pool_is_named_with_a_suggestion() {
    let s = Store::demo_full();
    let run = s.run(&["run", &script("rooms/disable-unmanaged.rhai"), "--arg", "Pool=pc1.contoso.com"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("did you mean 'pc01.contoso.com'?"), "{}", run.stderr);
    let run = s.run(&["run", &script("retention.rhai"), "--arg", "Pool=pc09"]);
    assert!(run.stderr.contains("valid pools: pc01.contoso.com, pc02.contoso.com"), "{}", run.stderr);
}

/// `--demo --what-if` (or `--plan`) on a store the demo is not loaded into writes nothing and says
/// how to load it first; once loaded, both run.
#[test]
fn demo_with_what_if_or_plan_does_not_load_the_demo_and_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("demo.db");
    let db = db.to_string_lossy().to_string();
    let runbook = dir.path().join("count.rhai");
    std::fs::write(&runbook, "print(get_cs_persistent_chat_room().len());").expect("runbook");
    let runbook = runbook.to_string_lossy().to_string();
    let pchat = |args: &[&str]| {
        common::Run::from(
            common::pchat()
                .args(["--demo", "--db", &db])
                .args(args)
                .env_remove("PCHAT_DB")
                .stdin(std::process::Stdio::null())
                .output()
                .expect("pchat runs"),
        )
    };
    for args in [&["--what-if", "-c", "1"][..], &["run", "--plan", &runbook][..]] {
        let run = pchat(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("the demo is not loaded into"), "{}", run.stderr);
        assert!(run.stderr.contains("-c 1`, then add --what-if or --plan"), "{}", run.stderr);
        let left: Vec<_> = std::fs::read_dir(dir.path()).expect("dir").flatten().map(|e| e.file_name()).collect();
        assert_eq!(left.len(), 1, "only the runbook: {left:?}");
    }
    pchat(&["-c", "1"]).ok();
    assert_eq!(pchat(&["--what-if", "-c", "get_cs_persistent_chat_room().len()"]).ok().stdout.trim(), "9");
    assert!(pchat(&["run", "--plan", &runbook]).ok().stderr.contains("9"));
}

/// A pool whose servers are all active (as a pool of one server always is) has none on standby:
/// the fail-over runbook stops before changing anything and says to name them with
/// `--arg Servers=`, giving the pool's servers; named, it fails over.
#[test]
fn fail_over_of_a_pool_with_every_server_active_asks_for_servers() {
    let s = Store::demo();
    let all = "pcsrv01.contoso.com,pcsrv02.contoso.com,pcsrv03.contoso.com,pcsrv04.contoso.com";
    s.c(&format!(
        r#"set_cs_persistent_chat_active_server("PersistentChatServer:pc01.contoso.com", #{{ActiveServers: #{{Replace: {:?}}}}})"#,
        all.split(',').collect::<Vec<_>>()
    ))
    .ok();
    let before = s.dump();
    let run = s.run(&["run", &script("fail_over.rhai"), "--arg", "Pool=pc01.contoso.com"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("none is on standby") && run.stderr.contains(&format!("--arg Servers={all}")),
        "{}",
        run.stderr
    );
    assert_eq!(s.dump(), before);
    s.run(&[
        "run",
        &script("fail_over.rhai"),
        "--arg",
        "Pool=pc01.contoso.com",
        "--arg",
        "Servers=pcsrv01.contoso.com",
    ])
    .ok();
    let state = s.c(r#"get_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com")[0].PoolState"#).ok();
    assert_eq!(state.stdout.trim(), "FailedOver");
}
