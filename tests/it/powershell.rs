//! The PowerShell-syntax front end through the built binary: every example line of reference
//! section 2 runs verbatim and has the same effect as its Rhai form; unsupported constructs are
//! reported with their column; `.ps1` runbooks, `translate()` and PowerShell-style help work.

use crate::common;
use std::path::Path;

use common::{ROOT, Run, Store, single_error_line};
use pchat::catalog::{self, Mandatory, Output};

struct Pair {
    ps: String,
    rhai: String,
}

fn pairs() -> Vec<Pair> {
    let text = std::fs::read_to_string(Path::new(ROOT).join("tests/data/powershell_examples.txt")).expect("data file");
    let mut out = Vec::new();
    let mut ps: Option<String> = None;
    for line in text.lines() {
        if let Some(p) = line.strip_prefix("ps: ") {
            assert!(ps.is_none(), "two ps: lines in a row before {p}");
            ps = Some(p.to_string());
        } else if let Some(r) = line.strip_prefix("rhai: ") {
            let ps = ps.take().unwrap_or_else(|| panic!("rhai: line without its ps: line: {r}"));
            out.push(Pair { ps, rhai: r.to_string() });
        }
    }
    assert!(ps.is_none(), "the last ps: line has no rhai: line");
    out
}

/// Run in the store's folder, so that examples writing files write there.
fn run_in(s: &Store, args: &[&str]) -> Run {
    s.run_in(s.dir.path(), args)
}

/// Everything the Get cmdlets of this build can show without arguments, as JSON: the logical
/// state of the store (row ids are random and audit records carry times and sources, so no raw
/// dump and no audit trail).
fn state(s: &Store) -> String {
    let reads: Vec<String> = catalog::all()
        .iter()
        .filter(|c| matches!(c.output, Output::Collection(_)))
        .filter(|c| !c.params.iter().any(|p| p.mandatory != Mandatory::No))
        // The audit trail records how and when each form was called, which differs by design.
        .filter(|c| c.noun != catalog::Noun::Audit)
        .map(|c| format!("{}: {}()", c.name.replace('-', "_"), c.rhai_name()))
        .collect();
    let run = run_in(s, &["--json", "-c", &format!("#{{{}}}", reads.join(", "))]);
    assert_eq!(run.code, 0, "state read failed: {}", run.stderr);
    run.stdout
}

/// New endpoints get a random GUID in their DN, and Test-CsPersistentChatMessage measures a
/// latency: compare the two runs with both masked.
fn mask_volatile(text: &str) -> String {
    static GUID: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    static LATENCY: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let guid = GUID.get_or_init(|| {
        regex::Regex::new(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
            .expect("regex")
    });
    let latency = LATENCY.get_or_init(|| regex::Regex::new(r"Latency(\s*): \d\d:\d\d:\d\d\.\d{7}").expect("regex"));
    let text = guid.replace_all(text, "GUID");
    latency.replace_all(&text, "Latency$1: TIMESPAN").into_owned()
}

/// Error lines without the Rhai position suffix (the two forms differ in where the call sits).
fn errors(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(|l| match l.rfind(" (line ") {
            Some(i) => l[..i].to_string(),
            None => l.to_string(),
        })
        .collect()
}

#[test]
fn every_reference_example_runs_verbatim_with_the_effect_of_its_rhai_form() {
    let pairs = pairs();
    // Every documented PowerShell example line; a new pair changes this count.
    assert_eq!(pairs.len(), 150, "example pairs in tests/data/powershell_examples.txt");
    let mut ran = 0;
    let mut failures = Vec::new();
    // The reference's archive examples name Windows drives (`-FileName "D:\Export\pchat.zip"`):
    // no place on this machine, so the PowerShell form refuses them, saying what to write instead
    // (their Rhai form takes the name as written).
    let mut drive_paths = 0;
    for pair in &pairs {
        let translation = match pchat::powershell::translate(&pair.ps) {
            Ok(t) => t,
            Err(e) if pair.ps.contains("\"D:\\Export\\") => {
                let e = e.to_string();
                assert!(e.contains("is a Windows drive path (D:)") && e.contains("give a path on this machine"), "{e}");
                drive_paths += 1;
                continue;
            }
            Err(e) => {
                failures.push(format!("{}\n  does not translate: {e}", pair.ps));
                continue;
            }
        };
        ran += 1;
        let (a, b) = (Store::examples(), Store::examples());
        let ps = run_in(&a, &["--yes", "-c", &pair.ps]);
        let rhai = run_in(&b, &["--yes", "-c", &pair.rhai]);
        let same = ps.code == rhai.code
            && mask_volatile(&ps.stdout) == mask_volatile(&rhai.stdout)
            && errors(&ps.stderr) == errors(&rhai.stderr)
            && mask_volatile(&state(&a)) == mask_volatile(&state(&b));
        if !same {
            failures.push(format!(
                "{}\n  ps   (exit {}): {}{}\n  rhai (exit {}): {}{}\n  translated: {}",
                pair.ps, ps.code, ps.stdout, ps.stderr, rhai.code, rhai.stdout, rhai.stderr, translation.rhai
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {ran} pairs differ:\n{}", failures.len(), failures.join("\n"));
    assert_eq!(drive_paths, 5, "examples refused for their drive path");
}

#[test]
fn unsupported_constructs_exit_2_naming_the_construct_and_column() {
    let s = Store::demo();
    let before = s.dump();
    for (ps, expected) in [
        (
            "Invoke-Expression \"Get-CsService\"",
            "not supported in pchat's PowerShell subset: the command 'Invoke-Expression' (column 1)",
        ),
        ("Get-CsService | & { $_ }", "not supported in pchat's PowerShell subset: the call operator '&' (column 17)"),
        (
            "Get-CsService | Where-Object { [System.IO.Path]::GetFileName($_.SiteId) }",
            "not supported in pchat's PowerShell subset: .NET static members of [System.IO.Path] (column 32)",
        ),
        (
            "$s = New-PSSession -ComputerName fe01; Get-CsUser",
            "not supported in pchat's PowerShell subset: the command 'New-PSSession' (column 6)",
        ),
        (
            "if ($true) { Invoke-Expression 'Get-CsUser' }",
            "not supported in pchat's PowerShell subset: the command 'Invoke-Expression' (column 14)",
        ),
        (
            "Get-CsUser | Remove-CsAdPrincipal 2>&1",
            "not supported in pchat's PowerShell subset: output redirection ('2>', '2>&1') (column 35)",
        ),
        (
            "Get-CsService | Sort-Object Role -CaseSensitive",
            "not supported in pchat's PowerShell subset: the -CaseSensitive parameter of Sort-Object (column 34)",
        ),
    ] {
        let run = s.c(ps);
        assert_eq!(run.code, 2, "{ps}: {}", run.stderr);
        assert_eq!(single_error_line(&run), expected, "{ps}");
        assert!(run.stdout.is_empty(), "{ps}");
    }
    assert_eq!(s.dump(), before);
}

#[test]
fn errors_come_from_the_same_binder_as_rhai() {
    let s = Store::demo();
    let ps = s.c(r#"Remove-CsAdPrincipal -Identiy "sip:annb@contoso.com""#);
    let rhai = s.c(r#"remove_cs_ad_principal(#{Identiy: "sip:annb@contoso.com"})"#);
    assert_eq!(ps.code, 1);
    assert_eq!(errors(&ps.stderr), errors(&rhai.stderr));
    assert!(
        ps.stderr
            .starts_with("Remove-CsAdPrincipal: ParameterBinding: no parameter 'Identiy'; did you mean 'Identity'?")
    );
    let run = s.c(r#"Get-CsAdPrincipal -ResultSize -1"#);
    assert!(
        single_error_line(&run).starts_with("Get-CsAdPrincipal: ParameterBinding: cannot bind parameter 'ResultSize'")
    );
    let run = s.c(r#"Get-CsServise"#);
    assert_eq!(run.code, 2);
    assert_eq!(single_error_line(&run), "unknown command 'Get-CsServise'; did you mean 'Get-CsService'? (column 1)");
}

#[test]
fn ps1_runbooks_variables_foreach_select_sort_measure() {
    let s = Store::demo();
    let script = r#"
# Finance users, by name (a comment), with a continued line
$finance = Get-CsUser -LdapFilter "Department=Finance" |
    Sort-Object DisplayName -Descending
$names = $finance | ForEach-Object { $_.DisplayName }
"Finance users: $($finance.Count)"
$finance | Select-Object -First 2 -Property DisplayName, SipAddress | Format-Table
Get-CsUser | Where-Object Department -like "fin*" | Measure-Object | Select-Object -ExpandProperty Count
$first = $names[0]
Get-CsAdPrincipal `
    -Identity $first | ForEach-Object Name
"#;
    let run = s.runbook("report.ps1", script, &[]).ok();
    let lines: Vec<&str> = run.stdout.lines().collect();
    let users = s.c(r#"get_cs_user(#{LdapFilter: "Department=Finance"}).map(|u| u.DisplayName)"#).ok();
    let mut names: Vec<String> = users.stdout.lines().map(str::to_string).collect();
    names.sort_by_key(|n| std::cmp::Reverse(n.to_lowercase()));
    assert!(names.len() >= 2, "demo has Finance users");
    assert_eq!(lines[0], format!("Finance users: {}", names.len()));
    assert!(lines[1].starts_with("DisplayName") && lines[1].contains("SipAddress"), "{}", run.stdout);
    assert!(lines[3].starts_with(&names[0]) && lines[4].starts_with(&names[1]), "{}", run.stdout);
    assert_eq!(lines[5], names.len().to_string());
    assert_eq!(lines[6], names[0]);
}

#[test]
fn whatif_and_error_action_in_powershell_form() {
    let s = Store::demo();
    let before = s.dump();
    let run = s.c(r#"Get-CsAdPrincipal -Identity "sip:annb@contoso.com" | Remove-CsAdPrincipal -WhatIf"#).ok();
    assert!(run.stdout.starts_with("What if: Performing the operation \"Remove-CsAdPrincipal\""), "{}", run.stdout);
    assert_eq!(s.dump(), before);
    let run = s.c(r#"Get-CsAdPrincipal -Identity "sip:nobody@contoso.com" -ErrorAction Stop; Get-CsService"#);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    let run =
        s.c(r#"Get-CsAdPrincipal -Identity "sip:nobody@contoso.com"; (Get-CsService -PersistentChatServer).Count"#);
    assert_eq!(run.code, 3);
    assert_eq!(run.stdout.trim(), "2");
}

#[test]
fn translate_shows_the_rhai_and_json_export_work() {
    let s = Store::demo();
    let run = s
        .c(r#"translate("Get-CsService -PersistentChatServer | Where-Object { $_.PoolFqdn -like 'pc0*' } | Sort-Object PoolFqdn")"#)
        .ok();
    assert_eq!(
        run.stdout.trim(),
        r#"ps_sort(get_cs_service(#{PersistentChatServer: true}).filter(|it| ps_true(ps_like(ps_prop(it, "PoolFqdn"), "pc0*"))), ["PoolFqdn"], false)"#
    );
    let run = s.c(r#"translate("Get-CsService | iex")"#);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("not supported in pchat's PowerShell subset: the command 'iex' (column 17)"),
        "{}",
        run.stderr
    );

    let run = s
        .c(r#"Get-CsService -PersistentChatServer | Select-Object Identity, PoolFqdn | ConvertTo-Json -Compress"#)
        .ok();
    let json: serde_json::Value = serde_json::from_str(run.stdout.trim()).expect("json");
    assert_eq!(json[0]["PoolFqdn"], "pc01.contoso.com");
    let csv = s.dir.path().join("svc.csv");
    let code = format!(
        "Get-CsService -PersistentChatServer | Export-Csv -Path '{}' -NoTypeInformation",
        csv.to_string_lossy()
    );
    s.c(&code).ok();
    let text = std::fs::read_to_string(&csv).expect("csv written");
    assert!(text.starts_with("Identity,"), "{text}");
    assert_eq!(text.lines().count(), 3);
}

#[test]
fn get_help_in_powershell_form() {
    let s = Store::demo();
    let run = s.c("Get-Help Get-CsAdPrincipal -Examples").ok();
    assert!(run.stdout.starts_with("EXAMPLES\n"), "{}", run.stdout);
    assert!(run.stdout.contains("get_cs_ad_principal("));
    assert!(!run.stdout.contains("COMMON PARAMETERS"));
    let run = s.c("Get-Help Get-CsAdPrincipal").ok();
    assert!(run.stdout.starts_with("NAME\n"));
}

#[test]
fn a_ps1_param_block_takes_its_values_from_arg_and_refuses_bad_ones_before_opening_the_store() {
    let s = Store::empty();
    let script = s.dir.path().join("report.ps1");
    std::fs::write(
        &script,
        "param([Parameter(Mandatory)][string]$Pool, [int]$Days = 30, [ValidateSet('csv','json')][string]$As = 'csv')\n\"$Pool $($Days * 2) $As\"\n",
    )
    .expect("script");
    let path = script.to_string_lossy().into_owned();
    for (args, message) in [
        (vec!["--arg", "days=5"], "Pool"),
        (vec!["--arg", "pool=x", "--arg", "Dayz=5"], "Dayz"),
        (vec!["--arg", "pool=x", "--arg", "days=five"], "five"),
        (vec!["--arg", "pool=x", "--arg", "as=xml"], "--arg As: 'xml' is not one of csv, json"),
    ] {
        let mut all = vec!["run", path.as_str()];
        all.extend(args);
        let run = s.run(&all);
        assert_eq!(run.code, 2, "{all:?}: {}", run.stderr);
        assert!(run.stderr.contains(message), "{all:?}: {}", run.stderr);
        assert!(!s.db().exists(), "the store is not opened for a refused argument");
    }
    let run = s.run(&["run", &path, "--arg", "POOL=pc01", "--arg", "days=4", "--arg", "as=JSON"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout.trim(), "pc01 8 JSON");
}

/// `pchat run script.ps1 --help` lists each `param()` parameter with its default and its help,
/// as a `.rhai` runbook's `--help` does, without opening the store; the script still computes
/// its defaults itself when it runs.
#[test]
fn ps1_help_shows_each_parameters_default_and_help() {
    let s = Store::empty();
    let script = s.dir.path().join("stale.ps1");
    std::fs::write(
        &script,
        r#"<#
.SYNOPSIS
Lists quiet rooms.
.PARAMETER Days
Rooms without a message for this
many days are listed.
#>
param(
    # The Persistent Chat pool to look at
    [Parameter(Mandatory = $true, HelpMessage = "Pool FQDN")]
    [string]$Pool,
    [int]$Days = 30,
    [ValidateSet('csv', 'json')][string]$As = 'csv',   # output format
    [Parameter(HelpMessage = 'Folder for the report')]
    [string]$Out = "reports",
    [datetime]$Since = (Get-Date).AddDays(-30)
)
"$Pool $Days $As $Out $($Since -lt (Get-Date))"
"#,
    )
    .expect("script");
    let path = script.to_string_lossy().into_owned();
    let run = s.run(&["run", &path, "--help"]).ok();
    let rows: Vec<Vec<&str>> = run
        .stdout
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| l.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect())
        .collect();
    assert_eq!(
        rows,
        [
            vec!["Pool", "string", "mandatory", "The Persistent Chat pool to look at"],
            vec!["Days", "int", "default 30", "Rooms without a message for this many days are listed."],
            vec!["As", "string", "default csv", "output format (one of csv, json)"],
            vec!["Out", "string", "default reports", "Folder for the report"],
            vec!["Since", "date", "default (Get-Date).AddDays(-30)"],
        ],
        "{}",
        run.stdout
    );
    let run = s.run(&["--json", "run", &path, "--help"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(doc[1]["Default"], "30");
    assert_eq!(doc[4]["Default"], "(Get-Date).AddDays(-30)");
    assert_eq!(doc[0]["Help"], "The Persistent Chat pool to look at");
    assert!(!s.db().exists(), "--help opens no store");
    // A missing mandatory parameter is reported with its help; the defaults are the script's.
    let run = s.run(&["run", &path]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("missing --arg Pool=<string>: The Persistent Chat pool to look at"), "{}", run.stderr);
    let run = s.run(&["run", &path, "--arg", "pool=pc01"]).ok();
    assert_eq!(run.stdout.trim(), "pc01 30 csv reports True");
}

#[test]
fn ps1_runtime_errors_name_the_scripts_own_line() {
    let s = Store::examples();
    let script = "param([string]$Pool = \"pc01.contoso.com\")\n\
                  # a comment, then a blank line\n\
                  \n\
                  function Show-Room {\n\
                  \x20   param($Room)\n\
                  \x20   $Room.Nmae\n\
                  }\n\
                  $n = 0\n\
                  foreach ($r in Get-CsPersistentChatRoom -PersistentChatPoolFqdn $Pool) {\n\
                  \x20   $n++\n\
                  \x20   if ($n -eq 2) {\n\
                  \x20       Show-Room $r\n\
                  \x20   }\n\
                  }\n";
    let run = s.runbook("rooms.ps1", script, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let path = s.dir.path().join("rooms.ps1");
    assert!(
        run.stderr.trim_end().ends_with(&format!("did you mean 'Name'? ({}, line 6)", path.display())),
        "{}",
        run.stderr
    );
    let run = s.runbook(
        "stop.ps1",
        "$a = 1\n\n\n$b = Get-CsPersistentChatRoom -Identity \"pc01.contoso.com\\Nope\" -ErrorAction Stop\n",
        &[],
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("NotFound") && run.stderr.contains("stop.ps1, line 4)"), "{}", run.stderr);
}

#[test]
fn format_table_and_list_refuse_a_typod_property_with_a_suggestion() {
    let s = Store::demo();
    for cmd in ["Format-Table", "Format-List"] {
        let run = s.c(&format!("Get-CsService -PersistentChatServer | {cmd} Identity, Versoin"));
        assert_eq!(run.code, 1, "{cmd}: {}{}", run.stdout, run.stderr);
        assert!(run.stdout.is_empty(), "{cmd}: {}", run.stdout);
        assert!(
            single_error_line(&run).starts_with("Service has no property 'Versoin'; did you mean 'Version'?"),
            "{cmd}: {}",
            run.stderr
        );
        let run = s.c(&format!("Get-CsService -PersistentChatServer | {cmd} Identity, Vers*")).ok();
        assert!(run.stdout.contains("Version"), "{cmd}: {}", run.stdout);
    }
}

#[test]
fn expand_property_typo_names_the_closest_property() {
    let s = Store::demo();
    let run = s.c("Get-CsService -PersistentChatServer | Select-Object -ExpandProperty Versoin");
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert!(
        single_error_line(&run)
            .starts_with("Select-Object: property 'Versoin' cannot be found; did you mean 'Version'?"),
        "{}",
        run.stderr
    );
}

#[test]
fn comparisons_convert_the_right_operand_to_the_type_of_the_left_one() {
    let s = Store::demo();
    // PowerShell's answers (LanguagePrimitives.Equals and Compare): text on the left compares as
    // text, a number on the left converts the right operand to a number, a truth value to a truth value.
    let run = s
        .c(r#"@(('9' -gt 10), (10 -lt '9'), (0 -eq ''), ($true -eq 'false'), (1 -eq $true), (2 -eq $true), ('1.0' -eq 1), (5 -eq 'abc'), (5 -ne 'abc'), ('abc' -eq 'ABC'), (10 -eq ' 10 ')) -join ",""#)
        .ok();
    assert_eq!(run.stdout.trim(), "True,False,True,True,True,False,False,False,True,True,True");
    // A script ported from PowerShell may have meant numbers: said once, on stderr.
    assert_eq!(run.stderr.matches("as text, as PowerShell does").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("[int]"), "{}", run.stderr);
    // Ordering a number against text that is not one is an error, as PowerShell's "Could not compare".
    let run = s.c("5 -gt 'abc'");
    assert_ne!(run.code, 0);
    assert!(single_error_line(&run).contains("cannot compare '5'"), "{}", run.stderr);
    // With [int], the numbers are compared, and nothing is said.
    let run = s.c(r#"$t = '9'; [int]$t -gt 10"#).ok();
    assert_eq!(run.stdout.trim(), "False");
    assert!(run.stderr.is_empty(), "{}", run.stderr);
}

#[test]
fn list_filters_contains_like_and_match_convert_as_a_single_comparison_does() {
    let s = Store::demo();
    // A list on the left compares each item as it would be compared on its own; -contains and -in
    // convert the value to each item's type; -like and -match compare text, whatever the types.
    let run = s
        .c(r#"@(((@('10', '3') -gt 2) -join '+'), (@(0) -eq '').Count, (@('2.0') -contains 2), (2 -in @('2.0')), (@(1, 2) -contains '2'), (5 -like '5*'), (15 -match '^1'), ($true -like 'F*'), ($false -match 'e')) -join ",""#)
        .ok();
    assert_eq!(run.stdout.trim(), "3,1,False,False,True,True,True,False,True");
    let run = s.c("@(5) -gt 'abc'");
    assert_ne!(run.code, 0);
    assert!(single_error_line(&run).contains("cannot compare '5'"), "{}", run.stderr);
}

#[test]
fn ordering_comparisons_with_null_follow_powershell() {
    let s = Store::demo();
    // $null is above negative numbers and below everything else, as in PowerShell.
    let run = s
        .c(r#"@(($null -lt 7), ($null -gt 7), ($null -le 0), (7 -gt $null), ($null -lt -1), (-1 -lt $null), ($null -ge $null), ($null -lt "a")) -join ",""#)
        .ok();
    assert_eq!(run.stdout.trim(), "True,False,True,True,False,True,True,True");
    let run = s.c(r#"$sorted = @(1, $null, -3, 0) | Sort-Object; $sorted -join ",""#).ok();
    assert_eq!(run.stdout.trim(), "-3,,0,1");
    // Services without a Version are older than 7 to a PowerShell script, not left out.
    let older = s.c("@(Get-CsService | Where-Object { $_.Version -lt 7 }).Count").ok();
    let all = s.c("@(Get-CsService | Where-Object { $_.Version -ne 7 }).Count").ok();
    assert_eq!(older.stdout.trim(), all.stdout.trim());
    // [Math] takes $null as the number 0, as .NET converts it.
    let run = s.c(r#"@([Math]::Max($null, -1), [Math]::Min($null, 5), [Math]::Max(3, $null)) -join ",""#).ok();
    assert_eq!(run.stdout.trim(), "0,0,3");
}

/// `--help` of a .ps1 pchat cannot run fails as running it does, instead of listing parameters
/// the script can never take.
#[test]
fn help_of_a_script_pchat_cannot_translate_fails_as_running_it_does() {
    let s = Store::demo();
    let script = s.dir.path().join("j.ps1");
    std::fs::write(&script, "param([string]$日本 = \"値\")\nWrite-Output $日本\n").unwrap();
    let script = script.to_string_lossy().to_string();
    let help = s.run(&["run", &script, "--help"]);
    let run = s.run(&["run", &script]);
    assert_eq!((help.code, run.code), (2, 2), "{}\n{}", help.stderr, run.stderr);
    assert!(help.stderr.contains("the variable name '日本'"), "{}", help.stderr);
    assert!(help.stdout.is_empty(), "{}", help.stdout);
}
