//! Answers an administrator can trust: every identity form of a user is accepted, an unknown
//! exact name is NotFound (a wildcard or filter matching nothing is an empty answer), a store
//! without topology says so, and objects keep the column order that was asked for.

mod common;

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
