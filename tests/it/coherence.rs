//! Every cache and memo in pchat answers as the database does: after each changing cmdlet (each
//! example of its catalog entry), the objects read in the same process equal those read by a
//! fresh process.

use crate::common;
use common::Store;
use pchat::catalog::{self, Expect};

/// Everything a changing cmdlet can change, read back.
const READ: &str = r#"
print("=== after the change ===");
print(get_cs_persistent_chat_state());
print(get_cs_persistent_chat_room());
print(get_cs_persistent_chat_category());
print(get_cs_persistent_chat_addin());
print(get_cs_persistent_chat_policy());
print(get_cs_persistent_chat_configuration());
print(get_cs_persistent_chat_compliance_configuration());
print(get_cs_persistent_chat_endpoint());
print(get_cs_service());
print(get_cs_user().map(|u| `${u.Identity} ${u.PersistentChatPolicy}`));
print(get_cs_ad_principal().len());
"#;

fn after_marker(out: &str) -> String {
    out.split_once("=== after the change ===").map(|(_, rest)| rest.to_string()).unwrap_or_default()
}

#[test]
fn each_change_reads_back_the_same_in_the_same_process_and_in_a_fresh_one() {
    let examples: Vec<(&str, &str)> = catalog::all()
        .iter()
        .filter(|c| !c.is_read_only())
        .flat_map(|c| c.examples.iter().filter(|e| e.expect == Expect::Ok).map(move |e| (c.name, e.code)))
        .collect();
    // Two at a time: each is two processes over a store of its own.
    let results: Vec<(bool, Option<String>)> = std::thread::scope(|scope| {
        let halves: Vec<_> = examples
            .chunks(examples.len().div_ceil(2))
            .map(|chunk| scope.spawn(move || chunk.iter().map(|(name, code)| check(name, code)).collect::<Vec<_>>()))
            .collect();
        halves.into_iter().flat_map(|h| h.join().expect("worker")).collect()
    });
    let checked = results.iter().filter(|(ran, _)| *ran).count();
    let failures: Vec<String> = results.into_iter().filter_map(|(_, f)| f).collect();
    assert!(checked >= 40, "only {checked} changes checked");
    assert!(failures.is_empty(), "read back differently in the same process:\n{}", failures.join("\n"));
}

/// Run one example then the reads in the same process, and the reads in a fresh one: (whether
/// the example ran, the failure if the answers differ).
fn check(name: &str, code: &str) -> (bool, Option<String>) {
    let s = Store::examples();
    let cwd = s.dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).expect("cwd");
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(std::path::Path::new(common::ROOT).join("scripts"), cwd.join("scripts"));
    let same = s.run_in(&cwd, &["--yes", "-c", &format!("{code}\n;\n{READ}")]);
    if same.code != 0 {
        return (false, None); // an example that needs a prompt answered or another's objects
    }
    let fresh = s.run_in(&cwd, &["-c", READ]).ok();
    let differs = after_marker(&same.stdout) != after_marker(&fresh.stdout);
    (true, differs.then(|| format!("{name}: `{code}`")))
}

/// The directory document that makes `admins` the CsAdministrator group's users (and `boss` and
/// `boss2` users), written into the store's folder.
fn admins_file(s: &Store, name: &str, admins: &[&str]) -> String {
    let ou = "OU=IT,DC=contoso,DC=com";
    let user = |n: &str| {
        format!(
            r#"{{"Type": "User", "Dn": "CN={n},{ou}", "SamAccountName": "{n}", "SipAddress": "sip:{n}@contoso.com"}}"#
        )
    };
    let members: Vec<String> = admins.iter().map(|a| format!("\"CN={a},{ou}\"")).collect();
    let doc = format!(
        r#"{{"Principals": [{}, {}, {{"Type": "Group", "Dn": "CN=CsAdministrator,{ou}", "SamAccountName": "CsAdministrator", "Members": [{}]}}]}}"#,
        user("boss"),
        user("boss2"),
        members.join(", ")
    );
    let path = s.dir.path().join(name);
    std::fs::write(&path, doc).expect("write");
    path.to_string_lossy().into_owned()
}

const SET_ROOM: &str = r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Description: "coherent"})"#;

/// The role set is resolved once per process and reused: a change of the directory by the same
/// process is seen by its next call.
#[test]
fn roles_follow_the_directory_written_by_the_same_process() {
    let s = Store::examples();
    let both = admins_file(&s, "both.json", &["boss", "boss2"]);
    s.run(&["--yes", "-c", &format!("import_cs_ad_principal({both:?})")]).ok();
    let only_boss = admins_file(&s, "only-boss.json", &["boss"]);
    let code = format!(
        "{SET_ROOM};\nimport_cs_ad_principal({only_boss:?}, #{{Confirm: false}});\ntry {{ {SET_ROOM}; print(\"stale\"); }} catch (e) {{ print(e); }}"
    );
    let run = s.run(&["--as", "boss2", "-c", &code]);
    assert!(
        run.stdout.contains("Set-CsPersistentChatRoom: AccessDenied: contoso\\boss2 may not run"),
        "{}{}",
        run.stdout,
        run.stderr
    );
}

/// Another process's change of the directory between two calls is seen by the second, even one
/// that does not mark it (another program editing the database).
#[test]
fn roles_follow_the_directory_written_by_another_process() {
    use std::io::BufRead;
    let s = Store::examples();
    let both = admins_file(&s, "both.json", &["boss", "boss2"]);
    s.run(&["--yes", "-c", &format!("import_cs_ad_principal({both:?})")]).ok();
    let go = s.dir.path().join("go");
    let mut paused = s
        .command(&["--as", "boss2", "-c", &format!("{SET_ROOM}; {SET_ROOM};")])
        .env("PCHAT_FAULT", format!("committed:pause:{}", go.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let mut err = std::io::BufReader::new(paused.stderr.take().expect("stderr"));
    let mut line = String::new();
    while line.trim() != "pchat-fault: reached committed" {
        line.clear();
        assert!(err.read_line(&mut line).expect("read") > 0, "the first change did not commit");
    }
    // Another program edits the membership directly (pchat's own writes also mark the change).
    let removed = s.execute(None, "DELETE FROM group_members WHERE member_dn = 'CN=boss2,OU=IT,DC=contoso,DC=com'");
    assert_eq!(removed, 1);
    std::fs::write(&go, "").expect("release");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut err, &mut rest).expect("read");
    let status = paused.wait().expect("exit");
    assert_eq!(status.code(), Some(1), "{rest}");
    assert!(rest.contains("Set-CsPersistentChatRoom: AccessDenied: contoso\\boss2 may not run"), "{rest}");
}
