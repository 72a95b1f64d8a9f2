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

/// Names in `dir` (and its `sub`) that hold a backslash: files a Windows path left behind.
fn backslash_names(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for d in [dir.to_path_buf(), dir.join("sub")] {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            if n.contains('\\') {
                out.push(n);
            }
        }
    }
    out
}

#[test]
fn windows_paths_written_are_read_back_by_every_path_parameter() {
    let s = Store::demo_full();
    let dir = s.dir.path();
    std::fs::create_dir(dir.join("sub")).unwrap();
    std::fs::write(dir.join("t.ps1"), r#"
Get-CsPersistentChatRoom | Select-Object Name | Export-Csv -Path .\rooms.csv -NoTypeInformation
$rows = Import-Csv -Path .\rooms.csv
"read $($rows.Count) $(Test-Path "$PSScriptRoot\rooms.csv")"
$rows | Export-Csv "$PSScriptRoot\sub\again.csv" -NoTypeInformation
"again $((Import-Csv sub\again.csv).Count)"
"one line" | Out-File -FilePath .\sub\note.txt
"two" | Add-Content -Path sub\..\sub\note.txt
"note $((Get-Content sub\note.txt) -join '+')"
Export-CsPersistentChatData -DBInstance sql01.contoso.com\rtc -FileName .\sub\data.zip -Report "$PSScriptRoot\sub\report.html"
"zip $(Test-Path -Path .\sub\data.zip) $(Test-Path -LiteralPath sub\report.html)"
$rows | Export-Csv -LiteralPath .\sub\literal.csv -NoTypeInformation
"literal $((Get-Content -LiteralPath .\sub\literal.csv).Count)"
"#).unwrap();
    let run = s.run_in(dir, &["run", "t.ps1"]);
    let rooms = s.c("get_cs_persistent_chat_room().len()").ok().stdout.trim().to_string();
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains(&format!("read {rooms} True\n")), "{}", run.stdout);
    assert!(run.stdout.contains(&format!("again {rooms}\n")), "{}", run.stdout);
    assert!(run.stdout.contains("note one line+two\n"), "{}", run.stdout);
    assert!(run.stdout.contains("zip True True\n"), "{}", run.stdout);
    let lines: usize = rooms.parse::<usize>().unwrap() + 1;
    assert!(run.stdout.contains(&format!("literal {lines}\n")), "{}", run.stdout);
    for f in ["rooms.csv", "sub/again.csv", "sub/literal.csv", "sub/note.txt", "sub/data.zip", "sub/report.html"] {
        assert!(dir.join(f).is_file(), "{f} was not written where the script named it");
    }
    assert_eq!(backslash_names(dir), Vec::<String>::new());
}

#[test]
fn drive_and_network_paths_are_refused_naming_the_cmdlet_and_parameter_before_any_change() {
    let s = Store::demo_full();
    let dir = s.dir.path();
    let before = s.dump();
    let change = "Set-CsPersistentChatRoom -Identity FinanceRoom -Description changed\n";
    for (line, cmdlet, param, name) in [
        ("Get-CsPersistentChatRoom | Export-Csv -Path C:\\Logs\\rooms.csv", "Export-Csv", "Path", "rooms.csv"),
        ("Get-CsPersistentChatRoom | Export-Csv C:/Logs/rooms.csv", "Export-Csv", "Path", "rooms.csv"),
        ("'x' | Out-File \\\\server\\share\\x.txt", "Out-File", "FilePath", "x.txt"),
        ("'x' | Set-Content -Path D:\\x.txt", "Set-Content", "Path", "x.txt"),
        ("Import-Csv \\\\server\\share\\users.csv", "Import-Csv", "Path", "users.csv"),
        ("Get-Content C:\\x.txt", "Get-Content", "Path", "x.txt"),
        ("Test-Path C:\\x.txt", "Test-Path", "Path", "x.txt"),
        ("Get-Content -LiteralPath C:\\x.txt", "Get-Content", "LiteralPath", "x.txt"),
        (
            "Export-CsPersistentChatData -DBInstance sql01.contoso.com\\rtc -FileName C:\\Logs\\PersistentChatData.zip",
            "Export-CsPersistentChatData",
            "FileName",
            "PersistentChatData.zip",
        ),
        (
            "Export-CsPersistentChatData -DBInstance sql01.contoso.com\\rtc -FileName x.zip -Report \\\\srv\\logs\\r.html",
            "Export-CsPersistentChatData",
            "Report",
            "r.html",
        ),
        (
            "Import-CsPersistentChatData -DBInstance sql01.contoso.com\\rtc -FileName C:\\x.zip",
            "Import-CsPersistentChatData",
            "FileName",
            "x.zip",
        ),
    ] {
        let run = s.run_in(dir, &["run", &write(dir, &format!("{change}{line}\n"))]);
        assert_eq!(run.code, 2, "{line}: {}", run.stderr);
        assert!(run.stderr.contains(&format!("{cmdlet}: -{param} '")), "{line}: {}", run.stderr);
        assert!(
            run.stderr.contains("give a path on this machine instead, such as ./") && run.stderr.contains(name),
            "{}",
            run.stderr
        );
        let kind = if line.contains("\\\\") { "network (UNC) path" } else { "Windows drive path" };
        assert!(run.stderr.contains(kind), "{line}: {}", run.stderr);
    }
    // Computed at run time: refused when the value is known, the same way, and nothing is written.
    let run = s.run_in(
        dir,
        &["run", &write(dir, "$d = 'C:\\Logs'\nGet-CsPersistentChatRoom | Export-Csv \"$d\\rooms.csv\"\n")],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("Export-Csv: -Path 'C:\\Logs\\rooms.csv' is a Windows drive path (C:)"),
        "{}",
        run.stderr
    );
    let run = s.run_in(dir, &["run", &write(dir, "$share = '\\\\server\\share'\nExport-CsPersistentChatData -DBInstance sql01.contoso.com\\rtc -FileName \"$share\\x.zip\"\n")]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("Export-CsPersistentChatData: -FileName '\\\\server\\share\\x.zip' is a network (UNC) path"),
        "{}",
        run.stderr
    );
    assert_eq!(s.dump(), before, "a refused script changed the store");
    assert_eq!(backslash_names(dir), Vec::<String>::new());
    let written: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .filter(|n| !n.to_string_lossy().ends_with(".db") && n != "t.ps1")
        .collect();
    assert!(written.is_empty(), "{written:?}");
}

fn write(dir: &std::path::Path, script: &str) -> String {
    std::fs::write(dir.join("t.ps1"), script).unwrap();
    "t.ps1".to_string()
}

#[test]
fn messages_tell_a_powershell_user_what_to_write_in_powershell() {
    let s = Store::demo_full();
    let before = s.dump();
    // Confirm: in a .ps1 the switch as PowerShell writes it; in Rhai, the map key.
    let run = ps(&s, "Clear-CsPersistentChatRoom -Identity FinanceRoom -EndDate 6/30/2020\n");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("no one can answer") && run.stderr.contains("add -Confirm:$false, or run pchat with --yes"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("Confirm: false"), "{}", run.stderr);
    let run =
        s.runbook("t.rhai", "clear_cs_persistent_chat_room(#{Identity: \"FinanceRoom\", EndDate: \"6/30/2020\"})", &[]);
    assert!(run.stderr.contains("pass Confirm: false, or run pchat with --yes"), "{}", run.stderr);
    // A boolean given as text.
    let run = ps(&s, "Set-CsPersistentChatRoom -Identity FinanceRoom -Disabled \"False\"\n");
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("cannot bind parameter 'Disabled': expected $true or $false (or 1 or 0), got \"False\": write -Disabled $false"),
        "{}",
        run.stderr
    );
    let run = s.c("set_cs_persistent_chat_room(#{Identity: \"FinanceRoom\", Disabled: \"False\"})");
    assert!(run.stderr.contains("expected true or false, got \"False\""), "{}", run.stderr);
    assert_eq!(s.dump(), before);
}

#[test]
fn write_host_joins_its_arguments_with_spaces() {
    let s = Store::empty();
    let run = ps(&s, "$a = 'rooms:'; $n = 3\nWrite-Host $a $n \"done\" -ForegroundColor Green\nWrite-Host 'x' -NoNewline 'y'\nWrite-Host '!'\nWrite-Host 1,2 3\n").ok();
    assert_eq!(run.stdout, "rooms: 3 done\nx y!\n1 2 3\n");
}

#[test]
fn encodings_accepted_are_exactly_those_matching_what_pchat_reads_and_writes() {
    let s = Store::demo_full();
    let dir = s.dir.path();
    std::fs::write(
        dir.join("t.ps1"),
        "Get-CsPersistentChatCategory | Select-Object Name | Export-Csv -Path cats.csv -NoTypeInformation -Encoding UTF8\n\
         'é' | Out-File -FilePath a.txt -Encoding utf8NoBOM\n'b' | Add-Content -Path a.txt -Encoding Default\n\
         \"read $((Import-Csv cats.csv -Encoding utf8BOM).Count) $((Get-Content a.txt -Encoding ASCII) -join '+')\"\n",
    )
    .unwrap();
    let run = s.run_in(dir, &["run", "t.ps1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let cats = s.c("get_cs_persistent_chat_category().len()").ok().stdout.trim().to_string();
    assert_eq!(run.stdout, format!("read {cats} é+b\n"));
    assert_eq!(std::fs::read(dir.join("a.txt")).unwrap(), "é\nb\n".as_bytes(), "UTF-8 without a byte-order mark");
    for (line, says) in [
        (
            "Get-CsPersistentChatRoom | Export-Csv x.csv -Encoding Unicode",
            "Export-Csv: -Encoding Unicode is not what pchat writes (UTF-8 without a byte-order mark); use -Encoding UTF8, utf8NoBOM or Default",
        ),
        ("'x' | Out-File x.txt -Encoding utf8BOM", "Out-File: -Encoding utf8BOM is not what pchat writes"),
        ("'x' | Set-Content x.txt -Encoding ASCII", "Set-Content: -Encoding ASCII is not what pchat writes"),
        ("Get-Content a.txt -Encoding UTF32", "Get-Content: -Encoding UTF32 is not read by pchat"),
    ] {
        let run = s.run_in(dir, &["run", &write(dir, &format!("{line}\n"))]);
        assert_eq!(run.code, 2, "{line}: {}", run.stderr);
        assert!(run.stderr.contains(says), "{line}: {}", run.stderr);
        assert!(!dir.join("x.csv").exists() && !dir.join("x.txt").exists());
    }
}
