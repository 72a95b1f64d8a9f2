//! Hostile Unicode through every cmdlet of the catalog: accented, combining, right-to-left, emoji,
//! NUL and other control characters, and very long strings, in every textual parameter and in
//! every string of every catalog example. Nothing may panic (exit 101) or crash the process.

use crate::common;

use common::Store;
use pchat::catalog::{self, Cmdlet, Mandatory, Ty};

/// Values chosen to break byte-offset slicing, prefix tests on `sip:`/`service:`/`Tag:`, DN
/// splitting, wildcard and filter parsing, and terminal output.
fn hostile() -> Vec<String> {
    vec![
        "Renée Dubois".into(),
        "CN=Émile Zola,OU=Finance,DC=contoso,DC=com".into(),
        "Persistént".into(),
        "sié".into(),
        "sip:é@contoso.com".into(),
        "service:PersistentChatServer:é".into(),
        "pc01.contoso.com\\Ünïcødé".into(),
        "e\u{301}\u{301}\u{301}\u{302}".into(),
        "\u{202E}moor\u{202C} שלום مرحبا".into(),
        "😀👩‍👩‍👧‍👦🏳️‍🌈".into(),
        "a\0b".into(),
        "\u{1b}[2J\u{1b}[31mred\u{7f}\u{85}\u{9b}".into(),
        "Tag:é*?[é-ü]`".into(),
        "OU:é,DC=é\\,é".into(),
        "http://é/ü".into(),
        "İıßﬃ\u{FEFF}".into(),
        "é".repeat(20_000),
    ]
}

/// A Rhai string literal for any text (every character outside printable ASCII escaped).
fn rhai_literal(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push('"');
    out
}

/// A plausible value for a parameter the call needs besides the one under test.
fn filler(ty: Ty) -> Option<String> {
    Some(match ty {
        Ty::String | Ty::Filter | Ty::StringList | Ty::ListModifier => "\"x\"".into(),
        Ty::Path => "\"missing.json\"".into(),
        Ty::Fqdn => "\"pc01.contoso.com\"".into(),
        Ty::Sip => "\"sip:annb@contoso.com\"".into(),
        Ty::Bool => "false".into(),
        Ty::Int16 | Ty::Int32 | Ty::UInt32 | Ty::Unlimited => "1".into(),
        Ty::Enum(values) => format!("\"{}\"", values[0]),
        Ty::TimeSpan => "\"00:30:00\"".into(),
        Ty::DateTime => "\"2018-03-01\"".into(),
        Ty::Guid => "\"00000000-0000-0000-0000-000000000001\"".into(),
        Ty::Credential => "\"contoso\\\\annb\"".into(),
        Ty::Bytes => "blob(4)".into(),
        Ty::Switch | Ty::Object(_) => return None,
    })
}

fn textual(ty: Ty) -> bool {
    !matches!(ty, Ty::Bool | Ty::Switch | Ty::Int16 | Ty::Int32 | Ty::UInt32 | Ty::Bytes | Ty::Object(_))
}

/// Each textual parameter of the cmdlet with each hostile value, the other mandatory parameters of
/// its set filled in; and the positional form.
fn direct_calls(cmdlet: &Cmdlet, values: &[String]) -> Vec<String> {
    let f = cmdlet.rhai_name();
    let mut calls = Vec::new();
    for p in cmdlet.params.iter().filter(|p| textual(p.ty)) {
        let set = cmdlet.set_names().into_iter().find(|s| p.in_set(s)).unwrap_or(cmdlet.default_set());
        let others: Vec<String> = cmdlet
            .params
            .iter()
            .filter(|o| o.name != p.name && o.is_mandatory_in(set) && o.mandatory != Mandatory::No)
            .filter_map(|o| filler(o.ty).map(|v| format!("{}: {v}", o.name)))
            .collect();
        for v in values {
            let mut args = vec![format!("{}: {v}", p.name)];
            args.extend(others.iter().cloned());
            calls.push(format!("{f}(#{{{}}})", args.join(", ")));
        }
    }
    for v in values {
        calls.push(format!("{f}({v})"));
    }
    calls
}

/// Byte ranges of the double-quoted string literals of a piece of Rhai.
fn string_literals(code: &str) -> Vec<(usize, usize)> {
    let bytes = code.as_bytes();
    let (mut out, mut i) = (Vec::new(), 0);
    while i < bytes.len() {
        if bytes[i] == b'"' {
            let start = i;
            i += 1;
            while i < bytes.len() && bytes[i] != b'"' {
                i += if bytes[i] == b'\\' { 2 } else { 1 };
            }
            out.push((start, (i + 1).min(bytes.len())));
        }
        i += 1;
    }
    out
}

/// Every catalog example with one of its strings replaced by a hostile value: valid calls
/// otherwise, so the hostile text reaches the handlers and the store.
fn example_calls(cmdlet: &Cmdlet, values: &[String]) -> Vec<String> {
    let mut calls = Vec::new();
    for ex in cmdlet.examples {
        for (start, end) in string_literals(ex.code) {
            for v in values {
                calls.push(format!("{}{v}{}", &ex.code[..start], &ex.code[end..]));
            }
        }
    }
    calls
}

#[test]
fn no_cmdlet_panics_on_hostile_unicode() {
    let values: Vec<String> = hostile().iter().map(|s| rhai_literal(s)).collect();
    let mut failures = Vec::new();
    let mut total = 0;
    for cmdlet in catalog::all() {
        let mut calls = direct_calls(cmdlet, &values);
        calls.extend(example_calls(cmdlet, &values));
        total += calls.len();
        // One runbook per cmdlet; each call announces itself so a crash names the call.
        let script: String = calls
            .iter()
            .enumerate()
            .map(|(i, c)| format!("print(\"call {i}\");\ntry {{ {c}; }} catch (e) {{ }}\n"))
            .chain(std::iter::once("print(\"fuzz done\");\n".to_string()))
            .collect();
        let s = Store::examples();
        let cwd = s.dir.path().join("cwd");
        std::fs::create_dir_all(&cwd).expect("cwd");
        let path = s.dir.path().join("fuzz.rhai");
        std::fs::write(&path, &script).expect("runbook");
        let run = s.run_in(&cwd, &["--yes", "run", &path.to_string_lossy()]);
        if run.code == 101 || run.code < 0 || run.stderr.contains("panicked") || !run.stdout.contains("fuzz done") {
            let last = run.stdout.lines().rfind(|l| l.starts_with("call ")).unwrap_or("call ?");
            let n: usize = last.trim_start_matches("call ").parse().unwrap_or(0);
            let call = calls.get(n).map(|c| pchat::values::text::clip(c, 300).into_owned()).unwrap_or_default();
            let panic = run.stderr.lines().find(|l| l.contains("panicked")).unwrap_or("").to_string();
            let first_error = run.stderr.lines().next().unwrap_or("").to_string();
            failures.push(format!("{}: exit {} at {call}\n  {panic}\n  {first_error}", cmdlet.name, run.code));
        }
    }
    assert!(total > 2000, "only {total} calls");
    assert!(failures.is_empty(), "{} cmdlets crashed:\n{}", failures.len(), failures.join("\n"));
}
