//! Endpoints as directory contacts, through the built binary.

use crate::common;
use common::{Store, fails_unchanged};

fn out(s: &Store, code: &str) -> String {
    s.c(code).ok().stdout.trim().to_string()
}

#[test]
fn every_persistent_chat_pool_has_its_default_endpoint_after_publishing() {
    let s = Store::demo();
    assert_eq!(
        out(
            &s,
            "get_cs_persistent_chat_endpoint().map(|e| `${e.SipAddress} ${e.PersistentChatPoolFqdn} ${e.DisplayName}`)"
        ),
        "sip:pchat-pc01@contoso.com pc01.contoso.com Persistent Chat pc01.contoso.com\n\
         sip:pchat-pc02@contoso.com pc02.contoso.com Persistent Chat pc02.contoso.com"
    );
    // Removed, then restored by publishing the topology again.
    out(&s, r#"remove_cs_persistent_chat_endpoint("sip:pchat-pc02@contoso.com")"#);
    assert_eq!(out(&s, "get_cs_persistent_chat_endpoint().len()"), "1");
    s.c(&format!("publish_cs_topology(#{{FileName: {:?}}})", s.demo_topology())).ok();
    assert_eq!(out(&s, r#"get_cs_persistent_chat_endpoint(#{PersistentChatPoolFqdn: "pc02.contoso.com"}).len()"#), "1");
}

#[test]
fn endpoint_examples_of_2_9() {
    let s = Store::demo();
    // New without PassThru returns nothing; with PassThru the contact.
    assert_eq!(
        out(
            &s,
            r#"let r = new_cs_persistent_chat_endpoint(#{SipAddress: "sip:chat@contoso.com", PersistentChatPoolFqdn: "pc01.contoso.com", DisplayName: "Contoso Chat"}); type_of(r)"#
        ),
        "()"
    );
    let e = out(
        &s,
        r#"let e = new_cs_persistent_chat_endpoint(#{SipAddress: "SIP:chat-emea@contoso.com", PersistentChatPoolFqdn: "PC02.contoso.com", PassThru: true});
           `${e.SipAddress}|${e.PersistentChatPoolFqdn}|${e.DisplayName}|${e.ObjectClass}|${e.Identity}`"#,
    );
    let parts: Vec<&str> = e.split('|').collect();
    assert_eq!(&parts[..3], ["sip:chat-emea@contoso.com", "pc02.contoso.com", ""]);
    assert!(parts[3].contains("contact"));
    let dn = parts[4];
    assert!(
        dn.starts_with("CN={")
            && dn.ends_with("},CN=Application Contacts,CN=RTC Service,CN=Services,CN=Configuration,DC=contoso,DC=com"),
        "{dn}"
    );

    // Get by SIP address (with or without sip:), display name, DN with a space after a comma; by pool.
    for id in ["sip:chat@contoso.com", "chat@contoso.com", "contoso chat"] {
        assert_eq!(
            out(&s, &format!(r#"get_cs_persistent_chat_endpoint("{id}")[0].SipAddress"#)),
            "sip:chat@contoso.com",
            "{id}"
        );
    }
    let spaced = dn.replace("},CN=", "}, CN=");
    assert_eq!(
        out(&s, &format!(r#"get_cs_persistent_chat_endpoint("{spaced}")[0].SipAddress"#)),
        "sip:chat-emea@contoso.com"
    );
    assert_eq!(
        out(
            &s,
            r#"get_cs_persistent_chat_endpoint(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).map(|e| e.SipAddress)"#
        ),
        "sip:chat@contoso.com\nsip:pchat-pc01@contoso.com"
    );
    assert_eq!(out(&s, r#"get_cs_persistent_chat_endpoint(#{Filter: "ConferencingPolicy -ne $Null"}).len()"#), "0");
    assert_eq!(
        out(&s, r#"get_cs_persistent_chat_endpoint(#{Filter: "DisplayName -like \"Persistent*\""}).len()"#),
        "2"
    );
    assert_eq!(out(&s, r#"get_cs_persistent_chat_endpoint(#{ResultSize: 1}).len()"#), "1");
    fails_unchanged(
        &s,
        r#"get_cs_persistent_chat_endpoint("sip:nobody@contoso.com")"#,
        "Get-CsPersistentChatEndpoint",
        "NotFound",
    );
    fails_unchanged(
        &s,
        r#"get_cs_persistent_chat_endpoint(#{PersistentChatPoolFqdn: "fe01.contoso.com"})"#,
        "Get-CsPersistentChatEndpoint",
        "NotFound",
    );

    // Endpoints are directory contacts (rule 28).
    assert_eq!(
        out(&s, r#"get_cs_ad_principal("sip:chat@contoso.com").map(|p| `${p.DisplayName} ${p.ObjectClass[3]}`)"#),
        "Contoso Chat contact"
    );

    // Remove one; then every pc02 endpoint, the automatically created one included.
    out(&s, r#"remove_cs_persistent_chat_endpoint("sip:chat@contoso.com")"#);
    out(
        &s,
        r#"get_cs_persistent_chat_endpoint(#{PersistentChatPoolFqdn: "pc02.contoso.com"}).remove_cs_persistent_chat_endpoint()"#,
    );
    assert_eq!(out(&s, "get_cs_persistent_chat_endpoint().map(|e| e.SipAddress)"), "sip:pchat-pc01@contoso.com");
    assert_eq!(
        out(&s, r#"get_cs_ad_principal("sip:chat@contoso.com", #{ErrorAction: "SilentlyContinue"}).len()"#),
        "0"
    );
    fails_unchanged(
        &s,
        r#"remove_cs_persistent_chat_endpoint("sip:chat@contoso.com")"#,
        "Remove-CsPersistentChatEndpoint",
        "NotFound",
    );
}

#[test]
fn sip_address_rules_of_rule_27() {
    let s = Store::demo();
    let new = |sip: &str, pool: &str| {
        format!(r#"new_cs_persistent_chat_endpoint(#{{SipAddress: "{sip}", PersistentChatPoolFqdn: "{pool}"}})"#)
    };
    let c = "New-CsPersistentChatEndpoint";
    fails_unchanged(&s, &new("chat@contoso.com", "pc01.contoso.com"), c, "InvalidArgument");
    let line = fails_unchanged(&s, &new("sip:chat@fabrikam.com", "pc01.contoso.com"), c, "InvalidArgument");
    assert!(line.contains("fabrikam.com") && line.contains("contoso.com"), "{line}");
    fails_unchanged(&s, &new("sip:chat", "pc01.contoso.com"), c, "InvalidArgument");
    fails_unchanged(&s, &new("sip:a b@contoso.com", "pc01.contoso.com"), c, "InvalidArgument");
    let line = fails_unchanged(&s, &new("sip:ANNB@contoso.com", "pc01.contoso.com"), c, "AlreadyExists");
    assert!(line.contains("Ann Beebe"), "{line}");
    fails_unchanged(&s, &new("sip:pchat-pc01@contoso.com", "pc02.contoso.com"), c, "AlreadyExists");
    fails_unchanged(&s, &new("sip:chat@contoso.com", "fe01.contoso.com"), c, "NotFound");
    fails_unchanged(&s, &new("sip:chat@contoso.com", "nowhere.contoso.com"), c, "NotFound");
    fails_unchanged(
        &s,
        r#"new_cs_persistent_chat_endpoint(#{SipAddress: "sip:chat@contoso.com"})"#,
        c,
        "ParameterBinding",
    );
    // WhatIf validates and writes nothing.
    let before = s.dump();
    let run =
        s.c(&format!("{}; 1", new("sip:chat@contoso.com", "pc01.contoso.com").replace("})", ", WhatIf: true})"))).ok();
    assert!(run.stdout.contains(r#"on target "sip:chat@contoso.com""#), "{}", run.stdout);
    assert_eq!(s.dump(), before);
}

/// One SIP address rule for the directory file and New-CsPersistentChatEndpoint (`values::sip`):
/// an endpoint's address may hold letters of any script, as a user's does (the endpoint refused
/// `sip:jörg.bot@contoso.com` while import, room members and messages took `sip:jörg.müller@…`),
/// and an address with a space is refused by both, in the same words.
#[test]
fn endpoint_and_directory_sip_addresses_follow_one_rule() {
    let s = Store::demo();
    let directory = |sip: &str| {
        let mut d: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(format!("{}/scripts/demo/directory.json", common::ROOT)).unwrap(),
        )
        .unwrap();
        d["Principals"].as_array_mut().unwrap().push(serde_json::json!({
            "Type": "User", "Dn": "CN=Jörg Müller,OU=Finance,DC=contoso,DC=com", "DisplayName": "Jörg Müller",
            "SipAddress": sip, "SamAccountName": "jmuller", "UserPrincipalName": "jmuller@contoso.com",
            "Department": "Finance"
        }));
        let path = s.dir.path().join("directory.json");
        std::fs::write(&path, d.to_string()).unwrap();
        format!("import_cs_ad_principal({:?})", path.to_string_lossy())
    };
    let refused = s.c(&directory("sip:jörg müller@contoso.com"));
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("must have the form sip:user@domain (the user part letters and digits of any script"),
        "{}",
        refused.stderr
    );
    s.c(&directory("SIP:jörg.müller@contoso.com")).ok();
    assert_eq!(out(&s, r#"get_cs_ad_principal("Jörg Müller")[0].SipAddress"#), "sip:jörg.müller@contoso.com");

    let new = |sip: &str| {
        format!(
            r#"new_cs_persistent_chat_endpoint(#{{SipAddress: "{sip}", PersistentChatPoolFqdn: "pc01.contoso.com", DisplayName: "Jörg Bot"}})"#
        )
    };
    let line = fails_unchanged(&s, &new("sip:jörg bot@contoso.com"), "New-CsPersistentChatEndpoint", "InvalidArgument");
    assert!(
        line.contains("is not of the form sip:user@domain (the user part letters and digits of any script"),
        "{line}"
    );
    s.c(&new("sip:jörg.bot@contoso.com")).ok();
    assert_eq!(
        out(
            &s,
            r#"get_cs_persistent_chat_endpoint("sip:jörg.bot@contoso.com").map(|e| `${e.SipAddress} ${e.DisplayName}`)"#
        ),
        "sip:jörg.bot@contoso.com Jörg Bot"
    );
    fails_unchanged(&s, &new("sip:jörg.müller@contoso.com"), "New-CsPersistentChatEndpoint", "AlreadyExists");
    // Taken in another case of its letters beyond A–Z too, as an import would refuse it.
    for taken in ["sip:JÖRG.MÜLLER@contoso.com", "sip:JÖRG.bot@contoso.com"] {
        fails_unchanged(&s, &new(taken), "New-CsPersistentChatEndpoint", "AlreadyExists");
    }
}
