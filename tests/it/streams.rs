//! What reaches standard output and standard error: with `--json` exactly one JSON document on
//! stdout; messages for people on stderr; errors and warnings that stand out on a terminal.

use crate::common;

use common::{ROOT, Store};

fn one_document(stdout: &str) -> serde_json::Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{stdout}"))
}

#[test]
fn json_stdout_carries_only_the_result() {
    let s = Store::examples();
    let run = s
        .run(&[
            "--json",
            "-c",
            r#"print("hello"); help("Get-CsUser");
               remove_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{WhatIf: true});
               get_cs_service(#{PersistentChatServer: true})"#,
        ])
        .ok();
    let doc = one_document(&run.stdout);
    assert_eq!(doc.as_array().map(|a| a.len()), Some(2));
    for want in ["hello", "What if: Performing the operation \"Remove-CsPersistentChatRoom\"", "Get-CsUser"] {
        assert!(run.stderr.contains(want), "{want} belongs on stderr:\n{}", run.stderr);
    }
}

#[test]
fn json_runbooks_parse_whatever_they_print() {
    let s = Store::examples();
    let run = s.run(&["--json", "--what-if", "run", &format!("{ROOT}/scripts/rooms/disable-unmanaged.rhai")]).ok();
    let doc = one_document(&run.stdout);
    assert!(doc.as_array().is_some_and(|a| !a.is_empty()), "{doc}");
    assert!(run.stderr.contains("What if:"), "{}", run.stderr);
    let run =
        s.run(&["--json", "--what-if", "run", &format!("{ROOT}/scripts/retention.rhai"), "--arg", "Days=30"]).ok();
    assert_eq!(one_document(&run.stdout), serde_json::Value::Null, "a run with no result prints null");
    assert!(run.stderr.contains("Retention:"), "{}", run.stderr);
}

/// Run pchat with stderr on a pseudo-terminal; returns what the terminal showed.
#[cfg(unix)]
fn stderr_on_terminal(s: &Store, code: &str, no_color: bool) -> String {
    use std::io::Read;
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty fills two descriptors we then own.
    let rc =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    assert_eq!(rc, 0);
    // SAFETY: just opened, owned by these files alone.
    let (mut master, slave) = unsafe { (std::fs::File::from_raw_fd(master), std::fs::File::from_raw_fd(slave)) };
    let child = {
        let mut cmd = s.command(&["-c", code]);
        cmd.stdin(std::process::Stdio::null()).stdout(std::process::Stdio::null()).stderr(slave);
        if no_color {
            cmd.env("NO_COLOR", "1");
        } else {
            cmd.env_remove("NO_COLOR");
        }
        cmd.spawn().expect("spawn")
    };
    let mut shown = Vec::new();
    // Ends with EIO once the child (the last holder of the terminal) exits.
    let _ = master.read_to_end(&mut shown);
    child.wait_with_output().expect("wait");
    String::from_utf8_lossy(&shown).into_owned()
}

#[cfg(unix)]
#[test]
fn errors_are_red_on_a_terminal_and_plain_with_no_color_or_in_a_pipe() {
    let s = Store::examples();
    let code = r#"get_cs_persistent_chat_room("pc01.contoso.com\\Nope", #{ErrorAction: "Continue"}); 1"#;
    let shown = stderr_on_terminal(&s, code, false);
    assert!(shown.contains("\x1b[31mGet-CsPersistentChatRoom: NotFound"), "{shown:?}");
    let plain = stderr_on_terminal(&s, code, true);
    assert!(plain.contains("Get-CsPersistentChatRoom: NotFound") && !plain.contains('\x1b'), "{plain:?}");
    let piped = s.c(code);
    assert!(piped.stderr.starts_with("Get-CsPersistentChatRoom: NotFound") && !piped.stderr.contains('\x1b'));
}

#[test]
fn a_ps1_run_with_json_prints_its_whole_output_as_one_array() {
    let s = Store::examples();
    let script = "Get-CsPersistentChatCategory -PersistentChatPoolFqdn pc01.contoso.com | Select-Object Name\n\
                  Write-Output \"between\"\n\
                  foreach ($n in 1..2) { $n }\n\
                  Write-Host \"for people\"\n";
    let path = s.dir.path().join("report.ps1");
    std::fs::write(&path, script).expect("write");
    let run = s.run(&["--json", "run", &path.to_string_lossy()]).ok();
    let doc = one_document(&run.stdout);
    let items = doc.as_array().unwrap_or_else(|| panic!("one array: {doc}"));
    assert_eq!(items.len(), 3 + 1 + 2, "{doc}");
    assert_eq!(items[0]["Name"], "Announcements");
    assert_eq!(items[3], "between");
    assert_eq!(items[5], 2);
    assert!(run.stderr.contains("for people"), "{}", run.stderr);
    // Output written before a script stops, or before `exit`, is still one document.
    for (tail, code) in [("throw \"boom\"\n", 1), ("exit 4\n", 4)] {
        std::fs::write(&path, format!("Write-Output \"a\"\nWrite-Output \"b\"\n{tail}")).expect("write");
        let run = s.run(&["--json", "run", &path.to_string_lossy()]);
        assert_eq!(run.code, code, "{}", run.stderr);
        assert_eq!(one_document(&run.stdout), serde_json::json!(["a", "b"]));
    }
}
