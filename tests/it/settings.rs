//! Scoped settings: configuration and compliance collections, policies, Grant and the effective
//! settings extensions, through the built binary.

use crate::common;
use common::{ROOT, Store, fails_unchanged, single_error_line};

/// The demo store plus the settings fixture the catalog examples use.
fn settings_store() -> Store {
    let s = Store::demo();
    s.run(&["--yes", "run", &format!("{ROOT}/tests/fixtures/1_settings.rhai")]).ok();
    s
}

fn out(s: &Store, code: &str) -> String {
    s.c(code).ok().stdout.trim().to_string()
}

#[test]
fn configuration_examples_of_2_3() {
    let s = settings_store();
    // Get: all collections in the standard order; by identity in any case; wildcard filter.
    assert_eq!(
        out(&s, "get_cs_persistent_chat_configuration().map(|c| c.Identity)"),
        "Global\nSite:Dublin\nService:PersistentChatServer:pc01.contoso.com"
    );
    assert_eq!(out(&s, r#"get_cs_persistent_chat_configuration("SITE:dublin")[0].ParticipantUpdateLimit"#), "150");
    assert_eq!(
        out(&s, r#"get_cs_persistent_chat_configuration(#{Filter: "site:*"}).map(|c| c.Identity)"#),
        "Site:Dublin"
    );
    assert_eq!(
        out(&s, "get_cs_persistent_chat_configuration().filter(|c| c.RoomManagementUrl != ()).map(|c| c.Identity)"),
        "Service:PersistentChatServer:pc01.contoso.com"
    );
    assert_eq!(out(&s, "get_cs_persistent_chat_configuration().filter(|c| c.ParticipantUpdateLimit < 75).len()"), "0");

    // New: given values plus defaults; pool scope spelled as the topology spells it.
    let created = out(
        &s,
        r#"let c = new_cs_persistent_chat_configuration("site:oslo", #{ParticipantUpdateLimit: 150});
           `${c.Identity} ${c.DefaultChatHistory} ${c.MaxFileSizeKB} ${c.ParticipantUpdateLimit} ${c.RoomManagementUrl}`"#,
    );
    assert_eq!(created, "Site:Oslo 30 20000 150");
    out(
        &s,
        r#"new_cs_persistent_chat_configuration("service:persistentchatserver:PC02.CONTOSO.COM", #{DefaultChatHistory: 50, MaxFileSizeKB: 10000})"#,
    );
    assert_eq!(
        out(
            &s,
            r#"let c = get_cs_persistent_chat_configuration("Service:PersistentChatServer:pc02.contoso.com")[0]; `${c.Identity} ${c.DefaultChatHistory} ${c.MaxFileSizeKB}`"#
        ),
        "Service:PersistentChatServer:pc02.contoso.com 50 10000"
    );

    // Set: Global by name, Global by default, piped service collections.
    out(&s, r#"set_cs_persistent_chat_configuration("global", #{MaxFileSizeKB: 40000})"#);
    out(&s, "set_cs_persistent_chat_configuration(#{DefaultChatHistory: 25})");
    out(
        &s,
        r#"get_cs_persistent_chat_configuration(#{Filter: "service:*"}).set_cs_persistent_chat_configuration(#{ParticipantUpdateLimit: 60})"#,
    );
    assert_eq!(
        out(
            &s,
            "get_cs_persistent_chat_configuration().map(|c| `${c.Identity} ${c.DefaultChatHistory} ${c.MaxFileSizeKB} ${c.ParticipantUpdateLimit}`)"
        ),
        "Global 25 40000 75\nSite:Dublin 30 20000 150\nSite:Oslo 30 20000 150\n\
         Service:PersistentChatServer:pc01.contoso.com 50 20000 60\nService:PersistentChatServer:pc02.contoso.com 50 10000 60"
    );
    fails_unchanged(
        &s,
        r#"set_cs_persistent_chat_configuration("site:Dublin", #{DefaultChatHistory: 600})"#,
        "Set-CsPersistentChatConfiguration",
        "OutOfRange",
    );
    // `()` clears the URL.
    out(
        &s,
        r#"set_cs_persistent_chat_configuration("Service:PersistentChatServer:pc01.contoso.com", #{RoomManagementUrl: ()})"#,
    );
    assert_eq!(out(&s, "get_cs_persistent_chat_configuration().filter(|c| c.RoomManagementUrl != ()).len()"), "0");

    // Remove: site deleted, piped service collections deleted, Global reset and still present.
    out(&s, r#"remove_cs_persistent_chat_configuration("site:Dublin")"#);
    out(
        &s,
        r#"get_cs_persistent_chat_configuration(#{Filter: "service:*"}).remove_cs_persistent_chat_configuration()"#,
    );
    out(&s, r#"remove_cs_persistent_chat_configuration("global")"#);
    assert_eq!(
        out(
            &s,
            "get_cs_persistent_chat_configuration().map(|c| `${c.Identity} ${c.DefaultChatHistory} ${c.MaxFileSizeKB} ${c.ParticipantUpdateLimit} ${c.RoomManagementUrl}`)"
        ),
        "Global 30 20000 75 \nSite:Oslo 30 20000 150"
    );
    fails_unchanged(
        &s,
        r#"remove_cs_persistent_chat_configuration("site:Dublin")"#,
        "Remove-CsPersistentChatConfiguration",
        "NotFound",
    );
    fails_unchanged(
        &s,
        r#"get_cs_persistent_chat_configuration("site:Dublin")"#,
        "Get-CsPersistentChatConfiguration",
        "NotFound",
    );
}

#[test]
fn in_memory_objects_are_committed_through_set_instance() {
    let s = settings_store();
    let before = s.dump();
    let shown = out(&s, r#"let c = new_cs_persistent_chat_configuration("site:Oslo", #{InMemory: true}); c.Identity"#);
    assert_eq!(shown, "Site:Oslo");
    assert_eq!(s.dump(), before, "InMemory saves nothing");
    out(
        &s,
        r#"let c = new_cs_persistent_chat_configuration("site:Oslo", #{InMemory: true}); c.DefaultChatHistory = 60; set_cs_persistent_chat_configuration(#{Instance: c})"#,
    );
    assert_eq!(out(&s, r#"get_cs_persistent_chat_configuration("site:Oslo")[0].DefaultChatHistory"#), "60");
    // Edits to a fetched object are written; explicit parameters override them.
    out(
        &s,
        r#"let c = get_cs_persistent_chat_configuration("site:Oslo")[0]; c.MaxFileSizeKB = 123; c.DefaultChatHistory = 61;
           c.set_cs_persistent_chat_configuration(#{DefaultChatHistory: 62})"#,
    );
    assert_eq!(
        out(
            &s,
            r#"let c = get_cs_persistent_chat_configuration("site:Oslo")[0]; `${c.MaxFileSizeKB} ${c.DefaultChatHistory}`"#
        ),
        "123 62"
    );
    // Instance values obey the ranges too.
    fails_unchanged(
        &s,
        r#"let c = get_cs_persistent_chat_configuration("site:Oslo")[0]; c.DefaultChatHistory = 501; set_cs_persistent_chat_configuration(#{Instance: c})"#,
        "Set-CsPersistentChatConfiguration",
        "OutOfRange",
    );
    fails_unchanged(
        &s,
        r#"let c = new_cs_persistent_chat_compliance_configuration("site:Oslo", #{InMemory: true}); c.RunInterval = "1:2"; set_cs_persistent_chat_compliance_configuration(#{Instance: c})"#,
        "Set-CsPersistentChatComplianceConfiguration",
        "InvalidArgument",
    );
    // Policies too: an unsaved per-user policy is created by Set -Instance.
    out(
        &s,
        r#"let p = new_cs_persistent_chat_policy("Pilot", #{InMemory: true}); p.EnablePersistentChat = true; p.Description = "pilot"; set_cs_persistent_chat_policy(#{Instance: p})"#,
    );
    assert_eq!(
        out(
            &s,
            r#"let p = get_cs_persistent_chat_policy("pilot")[0]; `${p.Identity} ${p.EnablePersistentChat} ${p.Description}`"#
        ),
        "Tag:Pilot true pilot"
    );
}

#[test]
fn compliance_examples_of_2_4() {
    let s = settings_store();
    assert_eq!(
        out(&s, "get_cs_persistent_chat_compliance_configuration().map(|c| c.Identity)"),
        "Global\nSite:Dublin\nService:PersistentChatServer:pc01.contoso.com"
    );
    assert_eq!(
        out(
            &s,
            "get_cs_persistent_chat_compliance_configuration().filter(|c| c.AdapterType == ()).map(|c| c.Identity)"
        ),
        "Global\nService:PersistentChatServer:pc01.contoso.com"
    );
    let c = out(
        &s,
        r#"let c = new_cs_persistent_chat_compliance_configuration("site:Oslo", #{AdapterType: "Microsoft.Rtc.Internal.Chat.Server.Compliance.XmlAdapter,compliance", AdapterOutputDirectory: "D:\\Compliance\\Xml"});
           `${c.Identity}|${c.AdapterType}|${c.AdapterOutputDirectory}|${c.RunInterval}|${c.AddUserDetails}|${c.CreateFileAttachmentsManifest}`"#,
    );
    assert_eq!(
        c,
        "Site:Oslo|Microsoft.Rtc.Internal.Chat.Server.Compliance.XmlAdapter,compliance|D:\\Compliance\\Xml|00:15:00|false|false"
    );
    out(
        &s,
        r#"new_cs_persistent_chat_compliance_configuration("service:PersistentChatServer:pc02.contoso.com", #{RunInterval: "1.02:03:04"})"#,
    );
    assert_eq!(
        out(
            &s,
            r#"get_cs_persistent_chat_compliance_configuration("service:PersistentChatServer:pc02.contoso.com")[0].RunInterval"#
        ),
        "1.02:03:04"
    );

    out(&s, r#"set_cs_persistent_chat_compliance_configuration("site:Dublin", #{OneChatRoomPerOutputFile: true})"#);
    out(&s, r#"set_cs_persistent_chat_compliance_configuration(#{RunInterval: "02:00:00"})"#);
    out(
        &s,
        "get_cs_persistent_chat_compliance_configuration().set_cs_persistent_chat_compliance_configuration(#{AddChatRoomDetails: true})",
    );
    assert_eq!(
        out(
            &s,
            "get_cs_persistent_chat_compliance_configuration().map(|c| `${c.Identity} ${c.RunInterval} ${c.OneChatRoomPerOutputFile} ${c.AddChatRoomDetails}`)"
        ),
        "Global 02:00:00 false true\nSite:Dublin 00:15:00 true true\nSite:Oslo 00:15:00 false true\n\
         Service:PersistentChatServer:pc01.contoso.com 01:00:00 true true\nService:PersistentChatServer:pc02.contoso.com 1.02:03:04 false true"
    );
    // Remove those writing one file per room: Global among them is only reset.
    out(
        &s,
        "get_cs_persistent_chat_compliance_configuration().filter(|c| c.OneChatRoomPerOutputFile == true).remove_cs_persistent_chat_compliance_configuration()",
    );
    assert_eq!(
        out(&s, "get_cs_persistent_chat_compliance_configuration().map(|c| c.Identity)"),
        "Global\nSite:Oslo\nService:PersistentChatServer:pc02.contoso.com"
    );
    out(
        &s,
        r#"get_cs_persistent_chat_compliance_configuration(#{Filter: "service:*"}).remove_cs_persistent_chat_compliance_configuration()"#,
    );
    out(&s, r#"remove_cs_persistent_chat_compliance_configuration("GLOBAL")"#);
    assert_eq!(
        out(
            &s,
            "get_cs_persistent_chat_compliance_configuration().map(|c| `${c.Identity} ${c.RunInterval} ${c.AddChatRoomDetails}`)"
        ),
        "Global 00:15:00 false\nSite:Oslo 00:15:00 true"
    );
}

#[test]
fn creation_errors_change_nothing() {
    let s = settings_store();
    let cases: &[(&str, &str, &str)] = &[
        (r#"new_cs_persistent_chat_configuration("global")"#, "New-CsPersistentChatConfiguration", "InvalidArgument"),
        (
            r#"new_cs_persistent_chat_compliance_configuration("Global")"#,
            "New-CsPersistentChatComplianceConfiguration",
            "InvalidArgument",
        ),
        (r#"new_cs_persistent_chat_policy("global")"#, "New-CsPersistentChatPolicy", "InvalidArgument"),
        (
            r#"new_cs_persistent_chat_configuration("site:dublin")"#,
            "New-CsPersistentChatConfiguration",
            "AlreadyExists",
        ),
        (
            r#"new_cs_persistent_chat_compliance_configuration("Service:PersistentChatServer:PC01.contoso.com")"#,
            "New-CsPersistentChatComplianceConfiguration",
            "AlreadyExists",
        ),
        (r#"new_cs_persistent_chat_policy("tag:saleschatpolicy")"#, "New-CsPersistentChatPolicy", "AlreadyExists"),
        (r#"new_cs_persistent_chat_policy("Site:Dublin")"#, "New-CsPersistentChatPolicy", "AlreadyExists"),
        (r#"new_cs_persistent_chat_configuration("site:Atlantis")"#, "New-CsPersistentChatConfiguration", "NotFound"),
        (
            r#"new_cs_persistent_chat_compliance_configuration("site:Atlantis")"#,
            "New-CsPersistentChatComplianceConfiguration",
            "NotFound",
        ),
        (r#"new_cs_persistent_chat_policy("site:Atlantis")"#, "New-CsPersistentChatPolicy", "NotFound"),
        (
            r#"new_cs_persistent_chat_configuration("service:Registrar:fe01.contoso.com")"#,
            "New-CsPersistentChatConfiguration",
            "InvalidArgument",
        ),
        (
            r#"new_cs_persistent_chat_compliance_configuration("service:PersistentChatServer:fe01.contoso.com")"#,
            "New-CsPersistentChatComplianceConfiguration",
            "NotFound",
        ),
        (
            r#"new_cs_persistent_chat_configuration("service:PersistentChatServer:nowhere.contoso.com")"#,
            "New-CsPersistentChatConfiguration",
            "NotFound",
        ),
        (
            r#"new_cs_persistent_chat_policy("service:PersistentChatServer:pc01.contoso.com")"#,
            "New-CsPersistentChatPolicy",
            "InvalidArgument",
        ),
        (
            r#"new_cs_persistent_chat_configuration("tag:Sales")"#,
            "New-CsPersistentChatConfiguration",
            "InvalidArgument",
        ),
        (
            r#"new_cs_persistent_chat_configuration("site:Oslo", #{RoomManagementUrl: "chat.contoso.com/rooms"})"#,
            "New-CsPersistentChatConfiguration",
            "InvalidArgument",
        ),
        (
            r#"new_cs_persistent_chat_policy("Pilot", #{Tenant: "not-a-guid"})"#,
            "New-CsPersistentChatPolicy",
            "ParameterBinding",
        ),
        (
            r#"new_cs_persistent_chat_configuration("site:Oslo", #{MaxChatContentSizeMB: 100})"#,
            "New-CsPersistentChatConfiguration",
            "ParameterBinding",
        ),
    ];
    for (code, cmdlet, id) in cases {
        fails_unchanged(&s, code, cmdlet, id);
    }
    let line = fails_unchanged(
        &s,
        r#"new_cs_persistent_chat_policy("site:Atlantis")"#,
        "New-CsPersistentChatPolicy",
        "NotFound",
    );
    assert!(line.contains("Dublin, Oslo"), "names the valid sites: {line}");
}

#[test]
fn one_past_each_range_boundary_is_out_of_range_and_changes_nothing() {
    let s = settings_store();
    for cmdlet in ["new", "set"] {
        let target = if cmdlet == "new" { "site:Oslo" } else { "site:Dublin" };
        let ps =
            if cmdlet == "new" { "New-CsPersistentChatConfiguration" } else { "Set-CsPersistentChatConfiguration" };
        for v in ["0", "501"] {
            fails_unchanged(
                &s,
                &format!(r#"{cmdlet}_cs_persistent_chat_configuration("{target}", #{{DefaultChatHistory: {v}}})"#),
                ps,
                "OutOfRange",
            );
        }
        // The uint32 properties have no range beyond their type (3.33): outside it is a binding error.
        for p in ["MaxFileSizeKB", "ParticipantUpdateLimit"] {
            for v in ["-1", "4294967296"] {
                fails_unchanged(
                    &s,
                    &format!(r#"{cmdlet}_cs_persistent_chat_configuration("{target}", #{{{p}: {v}}})"#),
                    ps,
                    "ParameterBinding",
                );
            }
        }
        let ps = if cmdlet == "new" {
            "New-CsPersistentChatComplianceConfiguration"
        } else {
            "Set-CsPersistentChatComplianceConfiguration"
        };
        for v in ["00:00:59", "30.00:00:01"] {
            fails_unchanged(
                &s,
                &format!(
                    r#"{cmdlet}_cs_persistent_chat_compliance_configuration("{target}", #{{RunInterval: "{v}"}})"#
                ),
                ps,
                "OutOfRange",
            );
        }
        for v in ["15 minutes", "00:60:00", "1:2"] {
            fails_unchanged(
                &s,
                &format!(
                    r#"{cmdlet}_cs_persistent_chat_compliance_configuration("{target}", #{{RunInterval: "{v}"}})"#
                ),
                ps,
                "ParameterBinding",
            );
        }
    }
    // The boundaries themselves are accepted.
    out(
        &s,
        r#"new_cs_persistent_chat_configuration("site:Oslo", #{DefaultChatHistory: 500, MaxFileSizeKB: 4294967295, ParticipantUpdateLimit: 0})"#,
    );
    out(&s, r#"set_cs_persistent_chat_configuration("site:Oslo", #{DefaultChatHistory: 1})"#);
    out(&s, r#"new_cs_persistent_chat_compliance_configuration("site:Oslo", #{RunInterval: "30.00:00:00"})"#);
    out(&s, r#"set_cs_persistent_chat_compliance_configuration("site:Oslo", #{RunInterval: "00:01:00"})"#);
    assert_eq!(
        out(
            &s,
            r#"let c = get_cs_persistent_chat_configuration("site:Oslo")[0]; `${c.DefaultChatHistory} ${c.MaxFileSizeKB} ${c.ParticipantUpdateLimit}`"#
        ),
        "1 4294967295 0"
    );
}

#[test]
fn policy_examples_of_2_5() {
    let s = settings_store();
    assert_eq!(
        out(&s, "get_cs_persistent_chat_policy().map(|p| p.Identity)"),
        "Global\nSite:Dublin\nTag:SalesChatPolicy"
    );
    assert_eq!(out(&s, r#"get_cs_persistent_chat_policy("saleschatpolicy")[0].Identity"#), "Tag:SalesChatPolicy");
    assert_eq!(out(&s, r#"get_cs_persistent_chat_policy(#{Filter: "tag:*"}).len()"#), "1");
    assert_eq!(
        out(&s, "get_cs_persistent_chat_policy().filter(|p| p.EnablePersistentChat == false).map(|p| p.Identity)"),
        "Global"
    );

    let p = out(
        &s,
        r#"let p = new_cs_persistent_chat_policy("site:Oslo", #{EnablePersistentChat: true, Description: "Oslo users"}); `${p.Identity} ${p.EnablePersistentChat} ${p.Description} ${p.TenantId}`"#,
    );
    assert_eq!(p, "Site:Oslo true Oslo users");
    out(&s, r#"set_cs_persistent_chat_policy("global", #{EnablePersistentChat: true})"#);
    out(&s, r#"set_cs_persistent_chat_policy("site:Dublin", #{Description: "Dublin pilot"})"#);
    out(&s, r#"set_cs_persistent_chat_policy(#{Description: ()})"#);
    out(
        &s,
        r#"get_cs_persistent_chat_policy(#{Filter: "tag:*"}).set_cs_persistent_chat_policy(#{EnablePersistentChat: false})"#,
    );
    assert_eq!(
        out(&s, "get_cs_persistent_chat_policy().map(|p| `${p.Identity}|${p.Description}|${p.EnablePersistentChat}`)"),
        "Global||true\nSite:Dublin|Dublin pilot|true\nSite:Oslo|Oslo users|true\nTag:SalesChatPolicy|Sales team|false"
    );
    fails_unchanged(
        &s,
        r#"set_cs_persistent_chat_policy("NoSuchPolicy", #{EnablePersistentChat: true})"#,
        "Set-CsPersistentChatPolicy",
        "NotFound",
    );

    // Tenants (1.6): stored as TenantId; Get -Tenant selects; Remove -Tenant must match.
    let t = "38aad667-af54-4397-aaa7-e94c79ec2308";
    out(&s, &format!(r#"new_cs_persistent_chat_policy("Online", #{{Tenant: "{}"}})"#, t.to_uppercase()));
    assert_eq!(
        out(
            &s,
            &format!(r#"get_cs_persistent_chat_policy(#{{Tenant: "{t}"}}).map(|p| p.Identity + " " + p.TenantId)"#)
        ),
        format!("Tag:Online {t}")
    );
    fails_unchanged(
        &s,
        r#"remove_cs_persistent_chat_policy("Online", #{Tenant: "00000000-0000-0000-0000-000000000001"})"#,
        "Remove-CsPersistentChatPolicy",
        "NotFound",
    );
    out(&s, &format!(r#"remove_cs_persistent_chat_policy("Online", #{{Tenant: "{t}"}})"#));

    // Remove: Global reset; unassigned per-user policy deleted without a prompt.
    out(&s, r#"remove_cs_persistent_chat_policy("global")"#);
    assert_eq!(
        out(&s, r#"let g = get_cs_persistent_chat_policy("Global")[0]; `${g.EnablePersistentChat} ${g.Description}|`"#),
        "false |"
    );
    out(&s, r#"remove_cs_persistent_chat_policy("SalesChatPolicy")"#);
    out(&s, r#"get_cs_persistent_chat_policy(#{Filter: "site:*"}).remove_cs_persistent_chat_policy()"#);
    assert_eq!(out(&s, "get_cs_persistent_chat_policy().map(|p| p.Identity)"), "Global");
}

#[test]
fn grant_assigns_unassigns_and_passes_users_through() {
    let s = settings_store();
    out(&s, r#"grant_cs_persistent_chat_policy(#{Identity: "Ann Beebe", PolicyName: "SalesChatPolicy"})"#);
    assert_eq!(out(&s, r#"get_cs_user("sip:annb@contoso.com")[0].PersistentChatPolicy"#), "SalesChatPolicy");
    let u = out(
        &s,
        r#"let u = grant_cs_persistent_chat_policy("sip:annb@contoso.com", "saleschatpolicy", #{PassThru: true}); `${u.SipAddress} ${u.PersistentChatPolicy}`"#,
    );
    assert_eq!(u, "sip:annb@contoso.com SalesChatPolicy", "positional form; canonical name");
    let sales = out(&s, r#"get_cs_user(#{LdapFilter: "Department=Sales"}).len()"#);
    out(
        &s,
        r#"get_cs_user(#{LdapFilter: "Department=Sales"}).grant_cs_persistent_chat_policy(#{PolicyName: "SalesChatPolicy"})"#,
    );
    let holders = out(&s, r#"get_cs_user(#{Filter: "PersistentChatPolicy -eq \"SalesChatPolicy\""}).len()"#);
    let sales_n: usize = sales.parse().unwrap();
    assert!(sales_n > 1);
    assert_eq!(holders.parse::<usize>().unwrap(), sales_n + 1, "the Sales users and Ann");
    out(
        &s,
        r#"get_cs_user(#{Filter: "PersistentChatPolicy -eq \"SalesChatPolicy\""}).grant_cs_persistent_chat_policy(#{PolicyName: ()})"#,
    );
    assert_eq!(out(&s, "get_cs_user().filter(|u| u.PersistentChatPolicy != ()).len()"), "0");
    // Wildcard display names name several users.
    let passed =
        out(&s, r#"grant_cs_persistent_chat_policy("A*", #{PolicyName: "SalesChatPolicy", PassThru: true}).len()"#);
    assert!(passed.parse::<usize>().unwrap() > 1, "{passed}");
    // WhatIf writes nothing.
    let before = s.dump();
    let run = s.c(r#"grant_cs_persistent_chat_policy("sip:kenmyer@contoso.com", #{PolicyName: "SalesChatPolicy", WhatIf: true})"#).ok();
    assert!(run.stdout.contains(
        r#"What if: Performing the operation "Grant-CsPersistentChatPolicy" on target "sip:kenmyer@contoso.com"."#
    ));
    assert_eq!(s.dump(), before);

    fails_unchanged(
        &s,
        r#"grant_cs_persistent_chat_policy("sip:annb@contoso.com", #{PolicyName: "site:Dublin"})"#,
        "Grant-CsPersistentChatPolicy",
        "InvalidArgument",
    );
    fails_unchanged(
        &s,
        r#"grant_cs_persistent_chat_policy("sip:annb@contoso.com", #{PolicyName: "Global"})"#,
        "Grant-CsPersistentChatPolicy",
        "InvalidArgument",
    );
    fails_unchanged(
        &s,
        r#"grant_cs_persistent_chat_policy("sip:annb@contoso.com", #{PolicyName: "NoSuchPolicy"})"#,
        "Grant-CsPersistentChatPolicy",
        "NotFound",
    );
    fails_unchanged(
        &s,
        r#"grant_cs_persistent_chat_policy("sip:ghost@contoso.com", #{PolicyName: "SalesChatPolicy"})"#,
        "Grant-CsPersistentChatPolicy",
        "NotFound",
    );
    // Piped policy objects resolve to no user (3.25).
    fails_unchanged(
        &s,
        r#"get_cs_persistent_chat_policy("SalesChatPolicy").grant_cs_persistent_chat_policy(#{PolicyName: "SalesChatPolicy"})"#,
        "Grant-CsPersistentChatPolicy",
        "NotFound",
    );
}

#[test]
fn removing_an_assigned_policy_prompts_unless_force_and_clears_assignments() {
    let s = settings_store();
    out(&s, r#"grant_cs_persistent_chat_policy("sip:annb@contoso.com", "SalesChatPolicy")"#);
    // Unattended and no --yes: the due prompt is an error saying how to proceed; nothing changes.
    let line = fails_unchanged(
        &s,
        r#"remove_cs_persistent_chat_policy("SalesChatPolicy")"#,
        "Remove-CsPersistentChatPolicy",
        "InvalidOperation",
    );
    assert!(line.contains("assigned to 1 user") && line.contains("Force: true"), "{line}");
    // -Force deletes it and clears the assignment: Ann falls back to her site policy.
    out(&s, r#"remove_cs_persistent_chat_policy("SalesChatPolicy", #{Force: true})"#);
    assert_eq!(out(&s, r#"get_cs_user("sip:annb@contoso.com")[0].PersistentChatPolicy"#), "");
    assert_eq!(
        out(&s, r#"get_cs_effective_persistent_chat_policy("sip:annb@contoso.com")[0].Identity"#),
        "Site:Dublin"
    );
    // --yes answers the prompt.
    out(
        &s,
        r#"new_cs_persistent_chat_policy("Temp"); grant_cs_persistent_chat_policy("sip:annb@contoso.com", "Temp")"#,
    );
    s.run(&["--yes", "-c", r#"remove_cs_persistent_chat_policy("Temp")"#]).ok();
    assert_eq!(out(&s, "get_cs_user().filter(|u| u.PersistentChatPolicy != ()).len()"), "0");
}

#[test]
fn effective_settings_follow_the_precedence_of_1_3() {
    let s = settings_store();
    let eff = |who: &str| {
        out(
            &s,
            &format!(
                r#"let p = get_cs_effective_persistent_chat_policy("{who}")[0]; `${{p.Identity}} ${{p.Scope}} ${{p.AppliesTo}} ${{p.EnablePersistentChat}}`"#
            ),
        )
    };
    // Ann is homed on fe01 (Dublin); Olga on fe02 (Oslo, no site policy).
    assert_eq!(eff("sip:annb@contoso.com"), "Site:Dublin Site sip:annb@contoso.com true");
    assert_eq!(eff("sip:ohansen@contoso.com"), "Global Global sip:ohansen@contoso.com false");
    out(&s, r#"grant_cs_persistent_chat_policy("sip:ohansen@contoso.com", "SalesChatPolicy")"#);
    assert_eq!(eff("Olga Hansen"), "Tag:SalesChatPolicy Tag sip:ohansen@contoso.com true");
    fails_unchanged(
        &s,
        r#"get_cs_effective_persistent_chat_policy("sip:ghost@contoso.com")"#,
        "Get-CsEffectivePersistentChatPolicy",
        "NotFound",
    );

    let cfg = |kind: &str| {
        out(
            &s,
            &format!(
                "get_cs_effective_persistent_chat_{kind}().map(|c| `${{c.AppliesTo}} ${{c.Identity}} ${{c.Scope}}`)"
            ),
        )
    };
    assert_eq!(
        cfg("configuration"),
        "pc01.contoso.com Service:PersistentChatServer:pc01.contoso.com Service\npc02.contoso.com Global Global"
    );
    out(
        &s,
        r#"remove_cs_persistent_chat_configuration("service:PersistentChatServer:pc01.contoso.com"); new_cs_persistent_chat_configuration("site:Oslo")"#,
    );
    assert_eq!(cfg("configuration"), "pc01.contoso.com Site:Dublin Site\npc02.contoso.com Site:Oslo Site");
    assert_eq!(
        cfg("compliance_configuration"),
        "pc01.contoso.com Service:PersistentChatServer:pc01.contoso.com Service\npc02.contoso.com Global Global"
    );
    assert_eq!(
        out(&s, r#"get_cs_effective_persistent_chat_configuration("PC01.contoso.com")[0].ParticipantUpdateLimit"#),
        "150"
    );
    fails_unchanged(
        &s,
        r#"get_cs_effective_persistent_chat_configuration("fe01.contoso.com")"#,
        "Get-CsEffectivePersistentChatConfiguration",
        "NotFound",
    );
}

#[test]
fn what_if_validates_and_writes_nothing() {
    let s = settings_store();
    let before = s.dump();
    for code in [
        r#"new_cs_persistent_chat_policy("Pilot", #{WhatIf: true})"#,
        r#"set_cs_persistent_chat_configuration(#{DefaultChatHistory: 10, WhatIf: true})"#,
        r#"remove_cs_persistent_chat_compliance_configuration("site:Dublin", #{WhatIf: true})"#,
    ] {
        let run = s.c(code).ok();
        assert!(run.stdout.starts_with("What if: Performing the operation"), "{code}: {}", run.stdout);
    }
    assert_eq!(s.dump(), before);
    fails_unchanged(
        &s,
        r#"new_cs_persistent_chat_policy("global", #{WhatIf: true})"#,
        "New-CsPersistentChatPolicy",
        "InvalidArgument",
    );
}

/// A piped call shares one transaction, but each item stays all-or-nothing: a failing item is
/// reported and skipped; a terminating one stops the pipeline with the earlier items kept.
#[test]
fn pipeline_items_are_atomic_and_earlier_items_survive_a_stop() {
    let s = settings_store();
    let run = s.c(
        r#"["sip:annb@contoso.com", "sip:ghost@contoso.com", "sip:kenmyer@contoso.com"].grant_cs_persistent_chat_policy(#{PolicyName: "SalesChatPolicy"})"#,
    );
    assert_eq!(run.code, 3, "a non-terminating error: {}", run.stderr);
    assert!(
        single_error_line(&run)
            .starts_with("Grant-CsPersistentChatPolicy: NotFound: no SIP-enabled user matches 'sip:ghost@contoso.com'")
    );
    assert_eq!(
        out(&s, r#"get_cs_user(#{Filter: "PersistentChatPolicy -eq \"SalesChatPolicy\""}).map(|u| u.SipAddress)"#),
        "sip:annb@contoso.com\nsip:kenmyer@contoso.com"
    );
    let run = s.c(
        r#"["sip:annb@contoso.com", "sip:ghost@contoso.com", "sip:kenmyer@contoso.com"].grant_cs_persistent_chat_policy(#{PolicyName: (), ErrorAction: "Stop"})"#,
    );
    assert_eq!(run.code, 1, "ErrorAction Stop makes it terminating: {}", run.stderr);
    assert_eq!(
        out(&s, r#"get_cs_user(#{Filter: "PersistentChatPolicy -eq \"SalesChatPolicy\""}).map(|u| u.SipAddress)"#),
        "sip:kenmyer@contoso.com",
        "Ann (before the stop) is unassigned, Ken (after it) untouched"
    );
    // WhatIf over a pipeline writes nothing at all.
    let before = s.dump();
    s.c(r#"get_cs_user(#{ResultSize: 5}).grant_cs_persistent_chat_policy(#{PolicyName: "SalesChatPolicy", WhatIf: true})"#).ok();
    assert_eq!(s.dump(), before);
}
