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
