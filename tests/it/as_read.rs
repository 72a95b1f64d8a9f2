//! An object read by a Get and given later to a Set (piped, or as -Instance) never writes back,
//! over a change made after it was read, the values it was read with: unedited, it applies only
//! the Set's parameters to the object as it is now; edited, it is refused; gone, it is not made
//! again. Each test reads, changes the object by another call, then sets the stale copy.

use crate::common::{self, Run, Store};

/// The demo store plus the rooms fixture (FinanceRoom and its Finance category).
fn rooms_store() -> Store {
    let s = Store::demo();
    s.run(&["--yes", "run", &format!("{}/tests/fixtures/2_rooms.rhai", common::ROOT)]).ok();
    s
}

const ROOM: &str = r#"let id = "pc01.contoso.com\\FinanceRoom";
let fin = get_cs_user(#{LdapFilter: "Department=Finance", ResultSize: 3}).map(|x| x.SipAddress);"#;

fn members(s: &Store) -> Vec<String> {
    let out = s
        .run(&[
            "-c",
            r#"for m in get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")[0].Members { print(m) }"#,
        ])
        .ok()
        .stdout;
    out.lines().map(str::to_string).collect()
}

fn finance_users(s: &Store) -> Vec<String> {
    let out = s
        .c(r#"for u in get_cs_user(#{LdapFilter: "Department=Finance", ResultSize: 3}) { print(u.SipAddress) }"#)
        .ok()
        .stdout;
    out.lines().map(str::to_string).collect()
}

fn single_error(run: &Run) -> String {
    assert_eq!(run.code, 3, "expected the call's error\nstdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    common::single_error_line(run)
}

#[test]
fn a_piped_stale_object_adds_its_member_and_keeps_the_one_added_since_it_was_read() {
    let s = rooms_store();
    let before = members(&s);
    let fin = finance_users(&s);
    s.c(&format!(
        r#"{ROOM}
let r = get_cs_persistent_chat_room(id)[0];
set_cs_persistent_chat_room(id, #{{Members: #{{Add: [fin[0]]}}}});
r.set_cs_persistent_chat_room(#{{Members: #{{Add: [fin[1]]}}}});"#
    ))
    .ok();
    let after = members(&s);
    assert_eq!(after.len(), before.len() + 2, "both added members are there: {after:?}");
    assert!(after.contains(&fin[0]) && after.contains(&fin[1]), "{after:?}");
}

#[test]
fn a_stale_object_read_with_as_object_applies_only_the_parameters_too() {
    let s = rooms_store();
    let fin = finance_users(&s);
    s.c(&format!(
        r#"{ROOM}
let r = get_cs_persistent_chat_room(#{{Identity: id, AsObject: true}})[0];
set_cs_persistent_chat_room(id, #{{Members: #{{Add: [fin[0]]}}}});
r.set_cs_persistent_chat_room(#{{Description: "piped"}});"#
    ))
    .ok();
    let after = members(&s);
    assert!(after.contains(&fin[0]), "the member added since the read stays: {after:?}");
    let d = s.c(r#"get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")[0].Description"#).ok().stdout;
    assert_eq!(d.trim(), "piped");
}

#[test]
fn a_piped_stale_object_in_a_powershell_pipeline_keeps_the_change_made_since() {
    let s = rooms_store();
    let fin = finance_users(&s);
    let script = format!(
        "$r = Get-CsPersistentChatRoom -Identity 'pc01.contoso.com\\FinanceRoom'\n\
         Set-CsPersistentChatRoom -Identity 'pc01.contoso.com\\FinanceRoom' -Members @{{Add='{}'}}\n\
         $r | Set-CsPersistentChatRoom -Members @{{Add='{}'}}\n",
        fin[0], fin[1]
    );
    s.runbook("t.ps1", &script, &[]).ok();
    let after = members(&s);
    assert!(after.contains(&fin[0]) && after.contains(&fin[1]), "{after:?}");
}

#[test]
fn an_edit_applies_beside_a_change_made_since_but_not_over_one_to_the_same_property() {
    let s = rooms_store();
    // Another call changed Privacy; the edit of Description applies and Privacy stays.
    s.c(r#"let id = "pc01.contoso.com\\FinanceRoom";
let r = get_cs_persistent_chat_room(id)[0];
set_cs_persistent_chat_room(id, #{Privacy: "Secret"});
r.Description = "mine";
set_cs_persistent_chat_room(#{Instance: r})"#)
        .ok();
    let now = s.c(r#"let r = get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")[0]; print(r.Description); print(r.Privacy)"#).ok().stdout;
    assert_eq!(now.lines().collect::<Vec<_>>(), ["mine", "Secret"]);

    // Another call changed Description itself: the edit is refused, naming it, and nothing changes.
    let before = members(&s);
    let run = s.c(r#"let id = "pc01.contoso.com\\FinanceRoom";
let r = get_cs_persistent_chat_room(id)[0];
set_cs_persistent_chat_room(id, #{Description: "theirs"});
r.Description = "edited on a stale copy";
r.Privacy = "Open";
set_cs_persistent_chat_room(#{Instance: r})"#);
    let line = single_error(&run);
    for part in [
        "Set-CsPersistentChatRoom: InvalidOperation: -Instance:",
        "pc01.contoso.com\\FinanceRoom': Description edited on this object but changed differently after it was read",
        "Nothing was changed",
    ] {
        assert!(line.contains(part), "{part:?} in: {line}");
    }
    let now = s.c(r#"let r = get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")[0]; print(r.Description); print(r.Privacy)"#).ok().stdout;
    assert_eq!(now.lines().collect::<Vec<_>>(), ["theirs", "Secret"], "the Privacy edit went with the refusal");
    assert_eq!(members(&s), before);

    // The same edit another call already made is no conflict.
    s.c(r#"let id = "pc01.contoso.com\\FinanceRoom";
let r = get_cs_persistent_chat_room(id)[0];
set_cs_persistent_chat_room(id, #{Description: "agreed"});
r.Description = "agreed";
set_cs_persistent_chat_room(#{Instance: r})"#)
        .ok();
}

#[test]
fn an_object_edited_and_set_twice_applies_both_times() {
    let s = rooms_store();
    s.c(r#"let r = get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")[0];
r.Description = "one";
r.set_cs_persistent_chat_room();
r.Privacy = "Open";
r.set_cs_persistent_chat_room();"#)
        .ok();
    let now = s.c(r#"let r = get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")[0]; print(r.Description); print(r.Privacy)"#).ok().stdout;
    assert_eq!(now.lines().collect::<Vec<_>>(), ["one", "Open"]);
}

#[test]
fn a_saved_object_given_alone_is_written_back_whole_saying_what_it_sets_back() {
    let s = Store::demo();
    let run = s
        .c(r#"let before = get_cs_persistent_chat_configuration("Global")[0];
set_cs_persistent_chat_configuration("Global", #{MaxFileSizeKB: 1});
before.set_cs_persistent_chat_configuration();
print(get_cs_persistent_chat_configuration("Global")[0].MaxFileSizeKB)"#)
        .ok();
    assert_eq!(run.stdout.trim(), "20000", "restored");
    assert!(
        run.stderr.contains("Set-CsPersistentChatConfiguration: 'Global' changed after this object was read; writing the object as given sets MaxFileSizeKB back to the value read"),
        "{}",
        run.stderr
    );
}

#[test]
fn properties_named_unlike_their_parameters_are_compared_too() {
    let s = rooms_store();
    s.c(r#"let c = get_cs_persistent_chat_category("pc01.contoso.com\\Finance")[0];
set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{Invitations: true});
c.set_cs_persistent_chat_category(#{Description: "reviewed"});"#)
        .ok();
    let now = s.c(r#"let c = get_cs_persistent_chat_category("pc01.contoso.com\\Finance")[0]; print(c.Invites); print(c.Description)"#).ok().stdout;
    assert_eq!(now.lines().collect::<Vec<_>>(), ["true", "reviewed"], "Invites (set by -Invitations) kept");
}

#[test]
fn a_copy_under_an_edited_identity_and_a_new_object_behave_as_objects_do() {
    let s = rooms_store();
    // A policy copied under a new name is made, as New -InMemory then Set makes one.
    s.c(r#"new_cs_persistent_chat_policy("Orig", #{Description: "template"});
let p = get_cs_persistent_chat_policy("Tag:Orig")[0];
p.Identity = "Tag:Copy";
set_cs_persistent_chat_policy(#{Instance: p})"#)
        .ok();
    let copy = s.c(r#"get_cs_persistent_chat_policy("Tag:Copy")[0].Description"#).ok().stdout;
    assert_eq!(copy.trim(), "template");
    // An object New returned is a read too: a change made since is kept when it is edited and set.
    let fin = finance_users(&s);
    s.c(&format!(
        r#"let r = new_cs_persistent_chat_room(#{{Name: "Fresh", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"}});
set_cs_persistent_chat_room("pc01.contoso.com\\Fresh", #{{Members: #{{Add: [{:?}]}}}});
r.Description = "edited";
r.set_cs_persistent_chat_room();"#,
        fin[0]
    ))
    .ok();
    let now = s.c(r#"let r = get_cs_persistent_chat_room("pc01.contoso.com\\Fresh")[0]; print(r.Description); print(r.Members)"#).ok().stdout;
    assert!(now.contains("edited") && now.contains(&fin[0]), "{now}");
}

#[test]
fn an_object_edited_while_nothing_changed_it_applies_whole() {
    let s = rooms_store();
    let fin = finance_users(&s);
    s.c(&format!(
        r#"{ROOM}
let r = get_cs_persistent_chat_room(id)[0];
set_cs_persistent_chat_room("pc01.contoso.com\\CEO Updates", #{{Description: "another room changed"}});
r.Description = "edited";
r.Members.push(fin[2]);
set_cs_persistent_chat_room(#{{Instance: r}});"#
    ))
    .ok();
    assert!(members(&s).contains(&fin[2]));
    let d = s.c(r#"get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")[0].Description"#).ok().stdout;
    assert_eq!(d.trim(), "edited");
}

#[test]
fn a_policy_read_before_a_change_applies_only_the_parameters_and_a_conflicting_edit_is_refused() {
    let s = Store::demo();
    s.c(r#"new_cs_persistent_chat_policy("Stale", #{Description: "first", EnablePersistentChat: false})"#).ok();
    s.c(r#"let p = get_cs_persistent_chat_policy("Tag:Stale")[0];
set_cs_persistent_chat_policy("Tag:Stale", #{EnablePersistentChat: true});
p.set_cs_persistent_chat_policy(#{Description: "second"});"#)
        .ok();
    let now = s.c(r#"let p = get_cs_persistent_chat_policy("Tag:Stale")[0]; print(p.Description); print(p.EnablePersistentChat)"#).ok().stdout;
    assert_eq!(now.lines().collect::<Vec<_>>(), ["second", "true"], "the change made since the read stays");

    let run = s.c(r#"let p = get_cs_persistent_chat_policy("Tag:Stale")[0];
set_cs_persistent_chat_policy("Tag:Stale", #{Description: "other"});
p.Description = "third";
p.EnablePersistentChat = false;
set_cs_persistent_chat_policy(#{Instance: p})"#);
    let line = single_error(&run);
    assert!(line.contains("Set-CsPersistentChatPolicy") && line.contains("'Tag:Stale': Description edited"), "{line}");
    let now = s
        .c(r#"let p = get_cs_persistent_chat_policy("Tag:Stale")[0]; print(p.Description); print(p.EnablePersistentChat)"#)
        .ok()
        .stdout;
    assert_eq!(now.lines().collect::<Vec<_>>(), ["other", "true"]);
}

#[test]
fn a_stale_copy_of_a_removed_policy_does_not_make_it_again() {
    let s = Store::demo();
    s.c(r#"new_cs_persistent_chat_policy("Gone", #{Description: "first"})"#).ok();
    let run = s.c(r#"let p = get_cs_persistent_chat_policy("Tag:Gone")[0];
remove_cs_persistent_chat_policy("Tag:Gone");
p.set_cs_persistent_chat_policy(#{Description: "again"})"#);
    let line = single_error(&run);
    assert!(
        line.contains("NotFound")
            && line.contains("Tag:Gone")
            && line.contains("removed or renamed after this object was read"),
        "{line}"
    );
    let left = s.c(r#"get_cs_persistent_chat_policy().filter(|p| p.Identity == "Tag:Gone").len()"#).ok().stdout;
    assert_eq!(left.trim(), "0");
    // An object nothing read (New with -InMemory) is still committed by Set.
    s.c(r#"let p = new_cs_persistent_chat_policy("Gone", #{InMemory: true}); p.Description = "made"; set_cs_persistent_chat_policy(#{Instance: p})"#).ok();
    let made = s.c(r#"get_cs_persistent_chat_policy("Tag:Gone")[0].Description"#).ok().stdout;
    assert_eq!(made.trim(), "made");
}

/// Four sessions at once, each piping its own read of one room into a Set that adds members one
/// at a time: every member added is there (each Set wrote back the members it had read, and kept
/// about one in four, before Sets compared what they were given with the room as it is now).
#[test]
fn four_sessions_piping_get_into_set_keep_every_member_they_add() {
    let s = rooms_store();
    let room = "pc01.contoso.com\\CEO Updates";
    let users = s
        .c(r#"for u in get_cs_user(#{ResultSize: 60}) { print(u.SipAddress) }"#)
        .ok()
        .stdout
        .lines()
        .map(str::to_string)
        .collect::<Vec<_>>();
    assert_eq!(users.len(), 60);
    let codes: Vec<String> = users
        .chunks(15)
        .map(|mine| {
            format!(
                "for u in {mine:?} {{ get_cs_persistent_chat_room({room:?}).set_cs_persistent_chat_room(#{{Members: #{{Add: [u]}}}}); }}"
            )
        })
        .collect();
    for run in s.c_at_once(&codes) {
        assert_eq!(run.code, 0, "{}", run.stderr);
    }
    let code = format!("for m in get_cs_persistent_chat_room({room:?})[0].Members {{ print(m) }}");
    let now = s.c(&code).ok().stdout;
    let missing: Vec<&String> = users.iter().filter(|u| !now.lines().any(|l| l == u.as_str())).collect();
    assert!(missing.is_empty(), "{} of 60 members lost: {missing:?}", missing.len());
}
