//! PowerShell idioms from admin scripts, run as `.ps1` runbooks through the built binary: exit
//! codes as pwsh gives them on Linux, Windows-style paths, .NET lists, `$?`, and the wording of
//! the errors a PowerShell user sees.

use crate::common::{Run, Store};

fn ps(s: &Store, script: &str) -> Run {
    s.runbook("t.ps1", script, &[])
}

#[test]
fn exit_codes_are_taken_modulo_256_as_pwsh_does_and_a_wrap_to_success_is_an_error() {
    let s = Store::empty();
    for (script, code) in [
        ("exit 3", 3),
        ("exit -1", 255),
        ("exit -2", 254),
        ("$code = -1; exit $code", 255),
        ("exit 255", 255),
        ("exit 257", 1),
        ("exit 0", 0),
        ("exit", 0),
    ] {
        let run = ps(&s, script);
        assert_eq!(run.code, code, "{script}: {}", run.stderr);
    }
    // pwsh would exit 0 for `exit 256`: a failure reported as success. pchat refuses it.
    for script in ["exit 256", "exit -256", "$c = 512; exit $c"] {
        let run = ps(&s, &format!("'before'\n{script}"));
        assert_eq!(run.code, 1, "{script}: {}", run.stderr);
        assert!(run.stderr.contains("would wrap to 0 (success)"), "{script}: {}", run.stderr);
        assert!(run.stderr.contains("from 1 to 255"), "{}", run.stderr);
    }
}

#[test]
fn dollar_question_mark_in_a_string_is_refused_as_it_is_outside_one_before_anything_runs() {
    let s = Store::demo_full();
    let before = s.dump();
    for line in ["\"ok: $?\"", "\"ok: $($?)\"", "$?"] {
        let run = ps(&s, &format!("Set-CsPersistentChatRoom -Identity FinanceRoom -Description changed\n{line}\n"));
        assert_eq!(run.code, 2, "{line}: {}", run.stdout);
        assert!(
            run.stderr.contains("not supported in pchat's PowerShell subset: the automatic variable '$?'"),
            "{}",
            run.stderr
        );
        assert!(!run.stdout.contains("ok:"), "{}", run.stdout);
    }
    assert_eq!(s.dump(), before, "a refused script changed the store");
}

#[test]
fn new_object_lists_are_empty_lists_that_grow_not_null() {
    let s = Store::demo_full();
    let script = r#"
$changed = New-Object System.Collections.ArrayList
foreach ($r in Get-CsPersistentChatRoom -Category Finance) {
    Set-CsPersistentChatRoom -Identity $r.Identity -Description "reviewed"
    [void]$changed.Add($r.Identity)
}
"changed $($changed.Count)"
"#;
    let run = ps(&s, script).ok();
    let finance = s.c("get_cs_persistent_chat_room(#{Category: \"Finance\"}).len()").ok();
    let n: usize = finance.stdout.trim().parse().expect("a count");
    assert!(n > 0, "the demo has Finance rooms");
    assert_eq!(run.stdout.trim(), format!("changed {n}"), "{}", run.stderr);
    let reviewed = s
        .c("get_cs_persistent_chat_room(#{Category: \"Finance\"}).filter(|r| r.Description == \"reviewed\").len()")
        .ok();
    assert_eq!(reviewed.stdout.trim(), n.to_string());

    // Every form of an empty list; Add returns the index (discarded three ways), then Count,
    // Contains, Remove, indexing and foreach.
    for make in [
        "New-Object System.Collections.ArrayList",
        "New-Object -TypeName System.Collections.ArrayList",
        "New-Object System.Collections.Generic.List[string]",
        "New-Object 'System.Collections.Generic.List[System.String]'",
        "[System.Collections.ArrayList]@()",
        "[System.Collections.ArrayList]::new()",
        "[System.Collections.Generic.List[string]]::new()",
    ] {
        let script = format!(
            "$l = {make}\n\"empty $($l.Count) $($null -eq $l)\"\n$i = $l.Add('a')\n\"index $i\"\n[void]$l.Add('b')\n$l.Add('c') | Out-Null\n$null = $l.Add('d')\n$l.Remove('b')\n\"count $($l.Count) $($l.Contains('c')) $($l.Contains('b')) $($l[1])\"\nforeach ($x in $l) {{ \"item $x\" }}\n"
        );
        let run = ps(&s, &script);
        assert_eq!(
            run.stdout, "empty 0 False\nindex 0\ncount 3 True False c\nitem a\nitem c\nitem d\n",
            "{make}: {}",
            run.stderr
        );
    }
}

#[test]
fn new_object_of_an_unsupported_type_is_refused_before_any_change() {
    let s = Store::demo_full();
    let before = s.dump();
    for ty in ["System.Text.StringBuilder", "System.Collections.Generic.List[int]", "System.Collections.Queue"] {
        let script =
            format!("Set-CsPersistentChatRoom -Identity FinanceRoom -Description changed\n$l = New-Object {ty}\n");
        let run = ps(&s, &script);
        assert_eq!(run.code, 2, "{ty}: {}", run.stderr);
        assert!(
            run.stderr.contains(&format!("not supported in pchat's PowerShell subset: the .NET type [{ty}]")),
            "{}",
            run.stderr
        );
    }
    let run = ps(
        &s,
        "Set-CsPersistentChatRoom -Identity FinanceRoom -Description changed\n$l = [System.Collections.ArrayList]::new(10)\n",
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("arguments to [System.Collections.ArrayList]::new()"), "{}", run.stderr);
    assert_eq!(s.dump(), before, "a refused script changed the store");
}
