//! Translation unit tests: the Rhai each construct becomes, and the errors for what is outside
//! the subset.

use super::*;

fn rhai(ps: &str) -> String {
    match translate(ps) {
        Ok(t) => t.rhai,
        Err(e) => panic!("{ps}: {e}"),
    }
}

fn error(ps: &str) -> String {
    match translate(ps) {
        Ok(t) => panic!("{ps} translated to {}", t.rhai),
        Err(e) => e.to_string(),
    }
}

#[test]
fn cmdlet_calls() {
    assert_eq!(rhai("Get-CsService"), "get_cs_service()");
    assert_eq!(
        rhai(r#"Get-CsService -FileStore -PoolFqdn "fe01.contoso.com""#),
        r#"get_cs_service(#{FileStore: true, PoolFqdn: "fe01.contoso.com"})"#
    );
    assert_eq!(
        rhai(r#"get-csadprincipal -ou "OU=Sales,DC=contoso,DC=com" -res 5"#),
        r#"get_cs_ad_principal(#{OU: "OU=Sales,DC=contoso,DC=com", ResultSize: 5})"#
    );
    assert_eq!(
        rhai(r#"Grant-CsPersistentChatPolicy "sip:annb@contoso.com" "SalesChatPolicy" -PassThru"#),
        r#"grant_cs_persistent_chat_policy("sip:annb@contoso.com", #{PassThru: true, PolicyName: "SalesChatPolicy"})"#
    );
    assert_eq!(
        rhai(r#"Set-CsPersistentChatState -Identity "PersistentChatServer:pc01.contoso.com" -PoolState FailedOver"#),
        r#"set_cs_persistent_chat_state(#{Identity: "PersistentChatServer:pc01.contoso.com", PoolState: "FailedOver"})"#
    );
    assert_eq!(
        rhai(
            r#"Clear-CsPersistentChatRoom -Identity "pc01.contoso.com\FinanceRoom" -EndDate "6/30/2020" -Confirm:$False"#
        ),
        r#"clear_cs_persistent_chat_room(#{Identity: "pc01.contoso.com\\FinanceRoom", EndDate: "6/30/2020", Confirm: false})"#
    );
}

#[test]
fn values() {
    assert_eq!(
        rhai(r#"Set-CsPersistentChatActiveServer -Identity "x" -ActiveServers @{Replace="a","b"}"#),
        r#"set_cs_persistent_chat_active_server(#{Identity: "x", ActiveServers: #{Replace: ["a", "b"]}})"#
    );
    assert_eq!(
        rhai(r#"Get-CsAdPrincipal -Filter {SipAddress -eq "sip:x@contoso.com"}"#),
        r#"get_cs_ad_principal(#{Filter: "SipAddress -eq \"sip:x@contoso.com\""})"#
    );
    assert_eq!(rhai("$x = 'it''s'; \"a $x b\""), "let x = \"it's\";\n(\"a \" + ps_str(x) + \" b\")");
    assert_eq!(rhai("$c.DefaultChatHistory = 60"), "c.ps_set(\"DefaultChatHistory\", 60);");
}

#[test]
fn pipelines() {
    assert_eq!(
        rhai(r#"Get-CsService | Where-Object {$_.Role -eq "Registrar" -or $_.Role -eq "UserServer"}"#),
        r#"get_cs_service().filter(|it| (ps_true(ps_eq(ps_prop(it, "Role"), "Registrar")) || ps_true(ps_eq(ps_prop(it, "Role"), "UserServer"))))"#
    );
    assert_eq!(
        rhai(r#"Get-CsService | where Role -eq Registrar"#),
        r#"get_cs_service().filter(|it| ps_true(ps_eq(ps_prop(it, "Role"), "Registrar")))"#
    );
    assert_eq!(
        rhai(r#"Get-CsAdminRole -Identity "CsHelpDesk" | Select-Object -ExpandProperty Cmdlets"#),
        r#"ps_expand(get_cs_admin_role(#{Identity: "CsHelpDesk"}), "Cmdlets")"#
    );
    assert_eq!(
        rhai(r#""OU=Oslo,DC=contoso,DC=com" | Get-CsAdPrincipal"#),
        r#"ps_pipe("OU=Oslo,DC=contoso,DC=com").get_cs_ad_principal()"#
    );
    assert_eq!(
        rhai("Get-CsUser | ForEach-Object { Get-CsAdPrincipal $_.SipAddress }"),
        r#"ps_flat(get_cs_user().map(|it| get_cs_ad_principal(#{Identity: ps_prop(it, "SipAddress")})))"#
    );
    assert_eq!(
        rhai("Get-CsUser | Sort-Object DisplayName -Descending | Select-Object -First 2 DisplayName"),
        r#"ps_select(ps_first(ps_sort(get_cs_user(), ["DisplayName"], true), 2), ["DisplayName"])"#
    );
}

#[test]
fn unsupported_constructs_name_the_construct_and_column() {
    for (ps, construct, col) in [
        ("Invoke-Expression 'Get-CsService'", "the command 'Invoke-Expression'", 1),
        ("& Get-CsService", "the call operator '&'", 1),
        ("Get-CsService | % { [System.IO.File]::ReadAllText('x') }", ".NET static members of [System.IO.File]", 21),
        ("$w = [System.Net.WebClient]$x", "the .NET type [System.Net.WebClient]", 6),
        ("Get-CsService > out.txt", "output redirection ('>')", 15),
        ("Get-CsUser -Filter {x} | Format-Table -GroupBy Role", "the -GroupBy parameter of Format-Table", 39),
        ("$a ??= 1", "the '??' operator", 4),
        ("trap { 'x' }", "the 'trap' statement", 1),
        ("class Room { }", "the 'class' statement", 1),
        ("foreach ($x in 1..3) { break outer }", "a label after 'break'", 30),
        ("Get-CsService | Select-Object @{n='x';e={1};q=2}", "the key 'q' in a calculated property", 31),
        ("Remote\\Get-CsService", "commands of the module 'Remote'", 1),
        ("switch -File x.txt { }", "switch -File", 8),
        ("$?", "the automatic variable '$?'", 1),
        ("\"ok: $?\"", "the automatic variable '$?'", 6),
        ("Write-Host \"ok: $($?)\"", "the automatic variable '$?'", 19),
        ("'a' | % { \"$$\" }", "the automatic variable '$$'", 12),
    ] {
        let e = error(ps);
        assert!(e.starts_with(&format!("not supported in pchat's PowerShell subset: {construct}")), "{ps}: {e}");
        assert!(e.ends_with(&format!("(column {col})")), "{ps}: {e}");
    }
    // In a here-string too, where the line is the body's.
    let e = error("$x = @\"\nlast: $^ $$\n\"@");
    assert!(e.ends_with("the automatic variable '$^' (line 2, column 7)"), "{e}");
}

#[test]
fn detection() {
    for ps in [
        "Get-CsService",
        "  # c\nGet-CsService",
        "$x = 1",
        "\"a\" | Get-CsAdPrincipal",
        "where-object",
        "\"a\",\"b\" | ForEach-Object { $_ }",
        "'a', 'b' | % { $_ }",
        "@(1, 2) | ForEach-Object { $_ }",
        "(Get-CsPersistentChatRoom).Count",
        "if ($x -eq 1) { 'one' }",
        "foreach ($r in Get-CsPersistentChatRoom) { $r.Name }",
        "[int]$x = '5'",
        "[void]$list.Add(1)",
        "[Math]::Round(2.5)",
        "function Get-Report { 'x' }",
        "param([int]$Days = 30)\nGet-CsPersistentChatRoom",
        "5 -gt 3",
        "1.5 -eq '1.5'",
        "'9' -gt 10",
        "\"a\" -like \"A*\"",
        "'{0} rooms' -f 3",
        "'ab' + 'c'",
        "'abc'.Length",
    ] {
        assert!(looks_like_powershell(ps), "{ps}");
    }
    for rhai in [
        "get_cs_service()",
        "let x = 1;",
        "\"a\"",
        "help",
        "#{a: 1}",
        "x - y",
        "print(\"Get-CsService\")",
        "if x > 1 { print(\"$x\") }",
        "[1, 2].len()",
        "(1 + 2) * 3",
        "for x in [1, 2] { print(x) }",
        "\"a\" + \"b\"",
        "5 - gt",
        "5 -gt",
        "10 - x",
        "\"a\" -b",
        "'a'",
        "'a' == 'b'",
        "'\\n' + \"x\"",
    ] {
        assert!(!looks_like_powershell(rhai), "{rhai}");
    }
}

#[test]
fn incomplete_input_continues() {
    for ps in [
        "Get-CsService |",
        "Get-CsService `",
        "Get-CsService | Where-Object {",
        "Get-CsAdPrincipal \"x",
        "Get-X -A a,",
        "$note = @\"",
        "$note = @'  ",
        "$note = @\"\nbody",
        "$n = @'\nbody\n '@",
        "@\"\n",
    ] {
        assert!(is_incomplete(ps), "{ps}");
    }
    for ps in [
        "Get-CsService",
        "Get-CsService | Where-Object { $_ }",
        "Get-CsService }",
        "$x = @\" text",
        "$n = @'\nbody\n'@",
    ] {
        assert!(!is_incomplete(ps), "{ps}");
    }
}

#[test]
fn variables_a_cmdlet_sets_are_declared_first() {
    assert_eq!(
        rhai("Test-CsPersistentChatMessage pc01.contoso.com -olv TestLog -OutVerboseVariable 'v'; $TestLog.Result"),
        "let testlog;\nlet v;\nps_out(test_cs_persistent_chat_message(\"pc01.contoso.com\", #{OutLoggerVariable: \"testlog\", OutVerboseVariable: \"v\"}));\nps_prop(testlog, \"Result\")"
    );
    // Already assigned: no second declaration; a non-literal name goes to the cmdlet as it is.
    assert_eq!(
        rhai("$log = 1; Test-CsPersistentChatMessage pc01.contoso.com -olv log -ovv $name"),
        "let log = 1;\ntest_cs_persistent_chat_message(\"pc01.contoso.com\", #{OutLoggerVariable: \"log\", OutVerboseVariable: name})"
    );
}

use crate::testing::XorShift;

const EXAMPLES: &str = include_str!("../../tests/data/powershell_examples.txt");
const NOISE: &[&str] = &[
    "{",
    "}",
    "(",
    ")",
    "[",
    "]",
    "$",
    "$_",
    "\"",
    "'",
    "`",
    "|",
    ";",
    ",",
    "-",
    "--%",
    "@",
    "@{",
    "@(",
    "$(",
    "#",
    "<#",
    "#>",
    "\n",
    " ",
    "=",
    "+=",
    "-eq",
    "-and",
    "-not",
    ".",
    "::",
    "&",
    ">",
    "2>&1",
    "\u{201C}",
    "\u{2013}",
    "é",
    "0x",
    "1kb",
    "-1",
    "Where-Object",
    "% {",
    "?",
    "ForEach-Object",
    "Select-Object -First",
    "$null",
    "if (",
    "} elseif (",
    "} else {",
    "foreach ($x in ",
    "for ($i = 0; $i -lt 3; $i++) {",
    "while (",
    "do {",
    "} until (",
    "switch -Wildcard (",
    "default {",
    "function F { param([int]$a = 1, [Parameter(Mandatory=$true)][string]$b) ",
    "try {",
    "} catch {",
    "} finally {",
    "throw ",
    "return ",
    "break",
    "..",
    " -f ",
    " -split ",
    " -replace ",
    " -join ",
    "@\"\n",
    "\n\"@",
    "@'\n",
    "[int]",
    "[datetime]",
    "[PSCustomObject]@{",
    "[Math]::Round(",
    ".ToUpper()",
    ".Substring(1, 2)",
    "++",
    "$x += ",
    "userserver:$pool",
    "SkypeForBusiness\\",
];

/// Random and mutated example lines never make the parser or translator panic (or overflow the
/// stack); they either translate or report an error with a position inside the text.
#[test]
fn parser_never_panics_on_random_and_mutated_lines() {
    // Example lines, and windows of one to six lines of the admin-script corpus (control flow,
    // functions, here-strings...).
    let corpus: Vec<String> = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ps_scripts"))
        .map(|d| d.flatten().filter_map(|e| std::fs::read_to_string(e.path()).ok()).collect())
        .unwrap_or_default();
    assert!(corpus.len() >= 40, "the script corpus is missing");
    let mut windows: Vec<String> = Vec::new();
    for script in &corpus {
        let ls: Vec<&str> = script.lines().filter(|l| !l.starts_with("##")).collect();
        for size in [1, 3, 6] {
            for w in ls.windows(size.min(ls.len())) {
                windows.push(w.join("\n"));
            }
        }
    }
    let lines: Vec<&str> =
        EXAMPLES.lines().filter_map(|l| l.strip_prefix("ps: ")).chain(windows.iter().map(String::as_str)).collect();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    for round in 0..30_000 {
        let mut chars: Vec<char> = if round % 10 == 0 {
            (0..rng.below(60)).flat_map(|_| NOISE[rng.below(NOISE.len())].chars()).collect()
        } else {
            lines[rng.below(lines.len())].chars().collect()
        };
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(chars.len() + 1);
            match rng.below(5) {
                0 if !chars.is_empty() => {
                    let end = (at + 1 + rng.below(8)).min(chars.len());
                    chars.drain(at.min(end)..end);
                }
                1 => {
                    let noise: Vec<char> = NOISE[rng.below(NOISE.len())].chars().collect();
                    chars.splice(at..at, noise);
                }
                2 if !chars.is_empty() => chars.truncate(at),
                3 => {
                    let other: Vec<char> = lines[rng.below(lines.len())].chars().collect();
                    let from = rng.below(other.len());
                    chars.splice(at..at, other[from..].iter().copied().take(20));
                }
                _ => {
                    if let Some(c) = chars.get_mut(at) {
                        *c = NOISE[rng.below(NOISE.len())].chars().next().unwrap_or('x');
                    }
                }
            }
        }
        let line: String = chars.iter().collect();
        if let Err(e) = translate(&line) {
            let lines_in_text = line.split('\n').count();
            assert!(e.pos.line >= 1 && e.pos.line <= lines_in_text, "{line:?}: {e}");
        }
        let _ = is_incomplete(&line);
        let _ = looks_like_powershell(&line);
    }
}

#[test]
fn deep_nesting_is_an_error_not_a_stack_overflow() {
    for open in ["(", "@(", "{", "$(", "@{a=", "-not "] {
        let line = format!("$x = {}", open.repeat(5000));
        assert!(translate(&line).is_err());
        let line = format!("Get-CsService | Where-Object {{ {}{} }}", "(".repeat(400), ")".repeat(400));
        assert!(translate(&line).is_err());
    }
}

/// What `--help` shows of a `.ps1` runbook's `param()`: defaults by value or as written, and
/// each parameter's help from comment-based help, the comments by it, or its HelpMessage.
#[test]
fn script_params_carry_defaults_and_help() {
    let src = r#"<#
.SYNOPSIS
Rooms report.
.PARAMETER days
Rooms quiet for this many
days are listed.
.EXAMPLE
.\report.ps1 -Days 10
#>
param(
    # The pool to report on
    [Parameter(Mandatory = $true, HelpMessage = "Pool FQDN, mandatory")]
    [string]$Pool,
    [int]$Days = 30,
    [ValidateSet('csv', 'json')][string]$As = 'csv',   # output format
    [Parameter(HelpMessage = 'Where the ''report'' goes, as a folder')]
    [string]$Out = "C:\Reports",
    [datetime]$Since = (Get-Date).AddDays(-30),
    [string[]]$Pools = @('pc01', 'pc02'),
    [switch]$Quiet
)
"$Pool"
"#;
    let params = script_params(src).unwrap().unwrap();
    let got: Vec<(&str, Option<&str>, &str, bool)> =
        params.iter().map(|p| (p.name.as_str(), p.default.as_deref(), p.help.as_str(), p.mandatory)).collect();
    assert_eq!(
        got,
        [
            ("Pool", None, "The pool to report on", true),
            ("Days", Some("30"), "Rooms quiet for this many days are listed.", false),
            ("As", Some("csv"), "output format", false),
            ("Out", Some("C:\\Reports"), "Where the 'report' goes, as a folder", false),
            ("Since", Some("(Get-Date).AddDays(-30)"), "", false),
            ("Pools", Some("pc01,pc02"), "", false),
            ("Quiet", None, "", false),
        ]
    );
    assert_eq!(params[2].valid, ["csv", "json"]);
}

/// A comment on the line where a parameter ends is that parameter's; one on a line of its own
/// describes the next; a HelpMessage is used when no comment describes the parameter, and its
/// text (commas, the word Mandatory) is never read as the attribute's arguments.
#[test]
fn param_comments_and_help_messages_go_to_the_right_parameter() {
    let src = "param(\n  [int]$A = 1, # about A\n  # about B\n  <# and more\n about B #> [string]$B,\n  [Parameter(HelpMessage = \"x, Mandatory, y\")][string]$C = \"c\" # about C\n)\n";
    let params = script_params(src).unwrap().unwrap();
    let help: Vec<&str> = params.iter().map(|p| p.help.as_str()).collect();
    assert_eq!(help, ["about A", "about B and more about B", "about C"]);
    assert!(params.iter().all(|p| !p.mandatory), "'Mandatory' inside the HelpMessage is text");
    let src = "param([Parameter(Mandatory, HelpMessage = \"Say `\"hi`\"\")][string]$Greeting)\n";
    let p = &script_params(src).unwrap().unwrap()[0];
    assert_eq!((p.help.as_str(), p.mandatory), ("Say \"hi\"", true));
    // Without a param() block there is nothing to show.
    assert!(script_params("# just a comment\nGet-CsService\n").unwrap().is_none());
}
