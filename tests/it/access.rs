//! Roles are enforced: derived from the catalog, every changing cmdlet is refused to an actor whose
//! roles do not list it, and every cmdlet that changes principals is refused outside the user
//! scopes of the actor's roles. Membership comes from the directory, nested groups included; a
//! store keeps everyone CsAdministrator until that role's group has a user.

use crate::common;
use common::{ROOT, Run, Store};
use pchat::catalog::{self, Cmdlet, Expect};
use serde_json::{Value, json};

const OU: &str = "OU=IT,DC=contoso,DC=com";

fn user(name: &str) -> Value {
    json!({ "Type": "User", "Dn": format!("CN={name},{OU}"), "DisplayName": name, "SamAccountName": name,
            "SipAddress": format!("sip:{name}@contoso.com") })
}

fn group(name: &str, members: &[String]) -> Value {
    json!({ "Type": "Group", "Dn": format!("CN={name},{OU}"), "SamAccountName": name, "Members": members })
}

fn dn(name: &str) -> String {
    format!("CN={name},{OU}")
}

/// Import a directory document (principals and roles) into the store.
fn import(s: &Store, principals: Vec<Value>, roles: Vec<Value>, extra: &[&str]) -> Run {
    let path = s.dir.path().join("access-directory.json");
    std::fs::write(&path, json!({ "Principals": principals, "Roles": roles }).to_string()).expect("write");
    let mut args = extra.to_vec();
    let code = format!("import_cs_ad_principal({:?})", path.to_string_lossy());
    args.extend(["--yes", "-c", &code]);
    s.run(&args)
}

/// Enforcement on: the CsAdministrator group has one user, `boss`.
fn enforced(principals: Vec<Value>, roles: Vec<Value>) -> Store {
    let s = Store::examples();
    let mut all = vec![user("boss"), group("CsAdministrator", &[dn("boss")])];
    all.extend(principals);
    import(&s, all, roles, &[]).ok();
    s
}

/// The Cs cmdlets roles govern.
fn governed() -> Vec<&'static Cmdlet> {
    catalog::all().iter().filter(|c| c.name.contains("-Cs")).collect()
}

fn changing() -> Vec<&'static Cmdlet> {
    governed().into_iter().filter(|c| !c.is_read_only()).collect()
}

fn records_of(s: &Store, cmdlet: &str) -> i64 {
    assert!(cmdlet.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'), "{cmdlet}");
    s.count(None, &format!("SELECT count(*) FROM audit WHERE cmdlet = '{cmdlet}'"))
}

/// Run a cmdlet's examples as `actor` until one is refused with AccessDenied by that cmdlet. Each
/// runs on its own copy of `base`; none may leave a record of the cmdlet, and an example that
/// calls no other changing cmdlet must leave the store as it was. The problem, if any.
fn refused(base: &Store, cmdlet: &Cmdlet, actor: &str) -> Option<String> {
    let others: Vec<String> =
        changing().iter().filter(|c| c.name != cmdlet.name).map(|c| format!("{}(", c.rhai_name())).collect();
    for ex in cmdlet.examples.iter().filter(|e| e.expect == Expect::Ok) {
        let s = base.copy();
        let cwd = s.dir.path().join("cwd");
        std::fs::create_dir_all(&cwd).expect("cwd");
        #[cfg(unix)]
        let _ = std::os::unix::fs::symlink(std::path::Path::new(ROOT).join("scripts"), cwd.join("scripts"));
        let before = s.dump();
        let run = s.run_in(&cwd, &["--as", actor, "--yes", "-c", ex.code]);
        if records_of(&s, cmdlet.name) != records_of(base, cmdlet.name) {
            return Some(format!("{} `{}` as {actor} ran: {}", cmdlet.name, ex.code, run.stderr));
        }
        if !others.iter().any(|o| ex.code.contains(o.as_str())) && s.dump() != before {
            return Some(format!("{} `{}` as {actor} changed the store: {}", cmdlet.name, ex.code, run.stderr));
        }
        if run.stderr.contains(&format!("{}: AccessDenied: ", cmdlet.name)) {
            assert_ne!(run.code, 0, "{}", ex.code);
            return None;
        }
    }
    Some(format!("{}: no example was refused to {actor}", cmdlet.name))
}

fn check_all(base: &Store, cmdlets: Vec<&'static Cmdlet>, actor: impl Fn(usize) -> String + Sync) {
    let work: Vec<(usize, &'static Cmdlet)> = cmdlets.into_iter().enumerate().collect();
    let actor = &actor;
    let failures: Vec<String> = std::thread::scope(|scope| {
        let halves: Vec<_> = work
            .chunks(work.len().div_ceil(2))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk.iter().filter_map(|(i, c)| refused(base, c, &actor(*i))).collect::<Vec<String>>()
                })
            })
            .collect();
        halves.into_iter().flat_map(|h| h.join().expect("worker")).collect::<Vec<String>>()
    });
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_changing_cmdlet_is_refused_to_an_actor_whose_roles_do_not_list_it() {
    let cmdlets = changing();
    assert!(cmdlets.len() >= 25, "only {} changing cmdlets", cmdlets.len());
    let mut principals = Vec::new();
    let mut roles = Vec::new();
    for (i, c) in cmdlets.iter().enumerate() {
        // Actor i holds a role listing every governed cmdlet but this one.
        let (actor, role) = (format!("actor{i}"), format!("AllBut{i}"));
        principals.push(user(&actor));
        principals.push(group(&role, &[dn(&actor)]));
        let listed: Vec<&str> = governed().iter().map(|g| g.name).filter(|n| *n != c.name).collect();
        roles.push(json!({ "Identity": role, "Cmdlets": listed }));
    }
    let base = enforced(principals, roles);
    check_all(&base, cmdlets, |i| format!("actor{i}"));
}

#[test]
fn every_principal_changing_cmdlet_is_refused_outside_the_roles_user_scopes() {
    let cmdlets: Vec<&'static Cmdlet> = changing().into_iter().filter(|c| c.changes_principals()).collect();
    assert!(cmdlets.iter().any(|c| c.name == "Grant-CsPersistentChatPolicy"), "{cmdlets:?}");
    let everything: Vec<&str> = governed().iter().map(|c| c.name).collect();
    let base = enforced(
        vec![user("scoped"), group("NowhereAdmins", &[dn("scoped")])],
        vec![
            json!({ "Identity": "NowhereAdmins", "Cmdlets": everything, "UserScopes": ["OU:OU=Nowhere,DC=contoso,DC=com"] }),
        ],
    );
    check_all(&base, cmdlets, |_| "scoped".to_string());
}

#[test]
fn a_scoped_role_changes_users_inside_its_scope_and_no_others() {
    let s = enforced(
        vec![user("spadmin"), group("SalesPolicyAdmins", &[dn("spadmin")])],
        vec![json!({ "Identity": "SalesPolicyAdmins", "Cmdlets": ["Grant-CsPersistentChatPolicy", "Get-CsUser"],
                     "UserScopes": ["OU:OU=Sales,DC=contoso,DC=com"] })],
    );
    let ok = s.run(&[
        "--as",
        "spadmin",
        "-c",
        r#"grant_cs_persistent_chat_policy("Ken Myer", #{PolicyName: "SalesChatPolicy"})"#,
    ]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let before = s.dump();
    let refused = s.run(&[
        "--as",
        "spadmin",
        "-c",
        r#"grant_cs_persistent_chat_policy("Ann Beebe", #{PolicyName: "SalesChatPolicy"})"#,
    ]);
    assert_eq!(refused.code, 3, "a target outside the scopes is a per-object error: {}", refused.stderr);
    assert!(
        refused.stderr.contains("Grant-CsPersistentChatPolicy: AccessDenied: contoso\\spadmin may not run Grant-CsPersistentChatPolicy on 'CN=Ann Beebe,OU=Finance,DC=contoso,DC=com'"),
        "{}",
        refused.stderr
    );
    assert_eq!(s.dump(), before);
    // A cmdlet the role does not list is refused whole, naming a role that would allow it.
    let run = s.run(&[
        "--as",
        "spadmin",
        "-c",
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Disabled: true})"#,
    ]);
    assert_eq!(run.code, 1);
    let line = common::single_error_line(&run);
    assert!(
        line.starts_with("Set-CsPersistentChatRoom: AccessDenied: contoso\\spadmin may not run Set-CsPersistentChatRoom (holds SalesPolicyAdmins); the role ")
            && line.contains("allows it"),
        "{line}"
    );
}

#[test]
fn nested_group_membership_grants_a_role_and_cycles_end() {
    // CsPersistentChatAdministrator ⊃ ChatOps ⊃ NightShift ∋ nils, and NightShift ⊃ ChatOps (a cycle).
    let s = enforced(
        vec![
            user("nils"),
            user("outsider"),
            group("CsPersistentChatAdministrator", &[dn("ChatOps")]),
            group("ChatOps", &[dn("NightShift")]),
            group("NightShift", &[dn("nils"), dn("ChatOps")]),
        ],
        vec![],
    );
    let set = r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Description: "nested"})"#;
    s.run(&["--as", "nils", "-c", set]).ok();
    let denied = s.run(&["--as", "outsider", "-c", set]);
    assert_eq!(denied.code, 1);
    assert!(
        denied.stderr.contains("contoso\\outsider may not run Set-CsPersistentChatRoom (holds no role)"),
        "{}",
        denied.stderr
    );
    // The nested role does not reach what only CsAdministrator may do.
    let publish =
        s.run(&["--as", "nils", "-c", r#"set_cs_persistent_chat_runbook_configuration(#{AllowedFolders: ()})"#]);
    assert!(publish.stderr.contains("AccessDenied"), "{}", publish.stderr);
}

#[test]
fn everyone_is_administrator_until_the_administrator_group_has_a_user() {
    let s = Store::examples();
    // A group holding only an empty group is no administrator: nothing is enforced yet.
    import(&s, vec![user("first"), group("Empty", &[]), group("CsAdministrator", &[dn("Empty")])], vec![], &[]).ok();
    s.run(&[
        "--as",
        "first",
        "-c",
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Description: "open"})"#,
    ])
    .ok();
    // The first user in it locks the store down; importing as someone else still works until then.
    import(&s, vec![group("Empty", &[dn("first")])], vec![], &["--as", "first"]).ok();
    let run = s.run(&[
        "--as",
        "Ann Beebe",
        "-c",
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Description: "closed"})"#,
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("AccessDenied: contoso\\annb may not run"), "{}", run.stderr);
    s.run(&[
        "--as",
        "first",
        "-c",
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Description: "admin"})"#,
    ])
    .ok();
}

#[test]
fn the_acting_identity_comes_from_as_then_pchat_user_then_the_os_account() {
    let s = enforced(vec![], vec![]);
    let who = r#"get_cs_persistent_chat_audit_record().map(|r| r.Actor)"#;
    // A name that is no user is a usage error before anything runs.
    let run = s.run(&["--as", "nobody@contoso.com", "-c", "1"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("'nobody@contoso.com' (from --as or PCHAT_USER) names no directory user"),
        "{}",
        run.stderr
    );
    // --as beats PCHAT_USER.
    let set = r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Description: "x"})"#;
    let run = Run::from(s.command(&["--as", "boss", "-c", set]).env("PCHAT_USER", "Ann Beebe").output().expect("runs"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = Run::from(s.command(&["-c", set]).env("PCHAT_USER", "Ann Beebe").output().expect("runs"));
    assert!(run.stderr.contains("contoso\\annb may not run"), "{}", run.stderr);
    // Without either: the operating-system account, here no directory user.
    let login = String::from_utf8(std::process::Command::new("id").arg("-un").output().expect("id").stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    let run = Run::from(s.command(&["-c", set]).env_remove("PCHAT_USER").output().expect("runs"));
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!("local:{login} may not run Set-CsPersistentChatRoom: the account '{login}' matches no directory user's logon name"))
            && run.stderr.contains("--as NAME"),
        "{}",
        run.stderr
    );
    // Once a user has that logon name, the account acts as that user.
    let mut me = user("me-os");
    me["SamAccountName"] = json!(login);
    import(&s, vec![me, group("CsAdministrator", &[dn("boss"), dn("me-os")])], vec![], &["--as", "boss"]).ok();
    // A real change (the same Description again would change nothing and leave no record).
    let change = r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Description: "y"})"#;
    let run = Run::from(s.command(&["-c", change]).env_remove("PCHAT_USER").output().expect("runs"));
    assert_eq!(run.code, 0, "{}", run.stderr);
    let actors = s.run(&["--as", "boss", "--json", "-c", who]).ok().stdout;
    assert!(actors.contains(&format!("contoso\\\\{login}")), "{actors}");
}

/// `--as "$UNSET"` in a crontab must not quietly act as the operating-system account.
#[test]
fn an_empty_acting_name_is_a_usage_error() {
    let s = Store::demo();
    for name in ["", "   "] {
        let run = s.run(&["--as", name, "-c", "get_cs_persistent_chat_audit_record().len()"]);
        assert_eq!(run.code, 2, "--as {name:?}: {}", run.stderr);
        assert!(run.stderr.contains("--as (or PCHAT_USER) is empty"), "{}", run.stderr);
    }
}

/// `--as annb`: a bare logon name (SamAccountName) names its user, as the operating-system
/// account is matched, in any case of its letters; a name that matches nobody is refused
/// suggesting the nearest, and one that is one user's display name and another's logon name is
/// refused naming both, before anything runs.
#[test]
fn as_takes_a_bare_logon_name_when_it_names_one_user() {
    let s = Store::examples();
    let who = r#"get_cs_persistent_chat_audit_record().map(|r| r.Actor)[-1]"#;
    for (i, name) in ["annb", "ANNB", "contoso\\annb", "Ann Beebe"].into_iter().enumerate() {
        let set =
            format!(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{{Description: "by {i}"}})"#);
        s.run(&["--as", name, "-c", &set]).ok();
        let actor = s.run(&["--as", name, "-c", who]).ok().stdout;
        assert_eq!(actor.trim(), "contoso\\annb", "--as {name}");
    }
    let before = s.dump();
    let set = r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Description: "refused"})"#;
    let run = s.run(&["--as", "annbb", "-c", set]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let line = common::single_error_line(&run);
    assert!(line.contains("'annbb' (from --as or PCHAT_USER) names no directory user; did you mean 'annb'?"), "{line}");
    assert_eq!(s.dump(), before);

    // `bobk` is Bob Kelly's logon name and, now, another user's display name.
    let mut other = user("other");
    other["DisplayName"] = json!("bobk");
    import(&s, vec![other], vec![], &[]).ok();
    let before = s.dump();
    let run = s.run(&["--as", "bobk", "-c", set]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let line = common::single_error_line(&run);
    assert!(
        line.contains("'bobk' (from --as or PCHAT_USER) names 2 directory users (")
            && line.contains("contoso\\bobk (CN=Bob Kelly,OU=Finance,DC=contoso,DC=com)")
            && line.contains(&format!("contoso\\other ({})", dn("other"))),
        "{line}"
    );
    assert_eq!(s.dump(), before);
    // Either is still named exactly.
    s.run(&["--as", "contoso\\bobk", "-c", "1"]).ok();
    // A logon name's letters beyond A-Z fold as the directory folds them.
    let mut jorg = user("jmüller");
    jorg["DisplayName"] = json!("Jörg Müller");
    import(&s, vec![jorg], vec![], &[]).ok();
    s.run(&["--as", "JMÜLLER", "-c", set]).ok();
    assert_eq!(s.run(&["-c", who]).ok().stdout.trim(), "contoso\\jmüller");
}
