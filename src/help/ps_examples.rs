//! The PowerShell form of a help example written in Rhai: the documented command line when the
//! example is one of the product's documented examples, else the call rewritten as a command
//! (`f("x", #{A: 1})` becomes `Verb-Noun "x" -A 1`). Examples that are Rhai programs (closures,
//! chains, several statements) have no PowerShell form here.

use crate::catalog;

const PAIRS: &str = include_str!("../../tests/data/powershell_examples.txt");

pub fn powershell_form(rhai: &str) -> Option<String> {
    let rhai = rhai.trim();
    let mut ps: Option<&str> = None;
    for line in PAIRS.lines() {
        if let Some(p) = line.strip_prefix("ps: ") {
            ps = Some(p);
        } else if let Some(r) = line.strip_prefix("rhai: ")
            && r == rhai
        {
            return ps.map(str::to_string);
        }
    }
    rewrite_call(rhai)
}

/// `name(args)` with literal arguments only.
fn rewrite_call(rhai: &str) -> Option<String> {
    let open = rhai.find('(')?;
    let name = &rhai[..open];
    let cmdlet = catalog::all().iter().find(|c| c.rhai_name() == name)?;
    let inner = rhai[open + 1..].strip_suffix(')')?;
    let chars: Vec<char> = inner.chars().collect();
    let mut i = 0;
    let mut out = vec![cmdlet.name.to_string()];
    loop {
        skip_blanks(&chars, &mut i);
        if i >= chars.len() {
            break;
        }
        if chars[i] == '#' {
            // The parameter map: `#{Name: value, ...}`.
            i += 2;
            loop {
                skip_blanks(&chars, &mut i);
                if chars.get(i) == Some(&'}') {
                    i += 1;
                    break;
                }
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let key: String = chars[start..i].iter().collect();
                skip_blanks(&chars, &mut i);
                if key.is_empty() || chars.get(i) != Some(&':') {
                    return None;
                }
                i += 1;
                skip_blanks(&chars, &mut i);
                let value = literal(&chars, &mut i)?;
                let switch = crate::binder::resolve_name(cmdlet, &key).is_ok_and(|p| p.ty == catalog::Ty::Switch);
                match value.as_str() {
                    "$True" if switch => out.push(format!("-{key}")),
                    "$False" if switch => out.push(format!("-{key}:$False")),
                    _ => out.push(format!("-{key} {value}")),
                }
                skip_blanks(&chars, &mut i);
                if chars.get(i) == Some(&',') {
                    i += 1;
                }
            }
        } else {
            out.push(literal(&chars, &mut i)?);
        }
        skip_blanks(&chars, &mut i);
        if chars.get(i) == Some(&',') {
            i += 1;
        }
    }
    Some(out.join(" "))
}

fn skip_blanks(chars: &[char], i: &mut usize) {
    while chars.get(*i).is_some_and(|c| c.is_whitespace()) {
        *i += 1;
    }
}

/// A Rhai literal as PowerShell writes it; `None` for anything computed.
fn literal(chars: &[char], i: &mut usize) -> Option<String> {
    match chars.get(*i)? {
        '"' => {
            *i += 1;
            let mut s = String::new();
            while let Some(&c) = chars.get(*i) {
                *i += 1;
                match c {
                    '\\' => {
                        let e = *chars.get(*i)?;
                        *i += 1;
                        s.push(match e {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                    }
                    '"' => return Some(format!("\"{}\"", s.replace('`', "``").replace('"', "`\"").replace('$', "`$"))),
                    other => s.push(other),
                }
            }
            None
        }
        '[' => {
            *i += 1;
            let mut items = Vec::new();
            loop {
                skip_blanks(chars, i);
                if chars.get(*i) == Some(&']') {
                    *i += 1;
                    return Some(items.join(","));
                }
                items.push(literal(chars, i)?);
                skip_blanks(chars, i);
                if chars.get(*i) == Some(&',') {
                    *i += 1;
                }
            }
        }
        '#' if chars.get(*i + 1) == Some(&'{') => {
            *i += 2;
            let mut entries = Vec::new();
            loop {
                skip_blanks(chars, i);
                if chars.get(*i) == Some(&'}') {
                    *i += 1;
                    return Some(format!("@{{{}}}", entries.join("; ")));
                }
                let start = *i;
                while chars.get(*i).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
                    *i += 1;
                }
                let key: String = chars[start..*i].iter().collect();
                skip_blanks(chars, i);
                if key.is_empty() || chars.get(*i) != Some(&':') {
                    return None;
                }
                *i += 1;
                skip_blanks(chars, i);
                entries.push(format!("{key}={}", literal(chars, i)?));
                skip_blanks(chars, i);
                if chars.get(*i) == Some(&',') {
                    *i += 1;
                }
            }
        }
        '(' if chars.get(*i + 1) == Some(&')') => {
            *i += 2;
            Some("$Null".into())
        }
        c if c.is_ascii_digit() || *c == '-' => {
            let start = *i;
            *i += 1;
            while chars.get(*i).is_some_and(|c| c.is_ascii_alphanumeric() || *c == '.') {
                *i += 1;
            }
            Some(chars[start..*i].iter().collect())
        }
        _ => {
            let start = *i;
            while chars.get(*i).is_some_and(|c| c.is_alphabetic()) {
                *i += 1;
            }
            match chars[start..*i].iter().collect::<String>().as_str() {
                "true" => Some("$True".into()),
                "false" => Some("$False".into()),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_examples_and_simple_calls_have_a_powershell_form() {
        assert_eq!(powershell_form("get_cs_service()").as_deref(), Some("Get-CsService"));
        assert_eq!(
            powershell_form(r#"set_cs_persistent_chat_room(#{Identity: "pc01.contoso.com\\X", Disabled: true, Members: #{Add: ["a", "b"]}, Description: ()})"#)
                .as_deref(),
            Some(r#"Set-CsPersistentChatRoom -Identity "pc01.contoso.com\X" -Disabled $True -Members @{Add="a","b"} -Description $Null"#)
        );
        assert_eq!(powershell_form("get_cs_persistent_chat_room().filter(|r| r.Disabled)"), None);
        // Every rewritten form is PowerShell the front end reads back as the same call.
        let rhai = r#"new_cs_persistent_chat_room(#{Name: "R", Category: "Finance", PersistentChatPoolFqdn: "pc01.contoso.com"})"#;
        let ps = powershell_form(rhai).unwrap();
        assert_eq!(crate::powershell::translate(&ps).unwrap().rhai, rhai);
    }

    #[test]
    fn every_powershell_form_in_help_is_powershell_the_front_end_reads() {
        let mut shown = 0;
        for c in catalog::all() {
            for ex in c.examples {
                if let Some(ps) = powershell_form(ex.code) {
                    shown += 1;
                    assert!(crate::powershell::translate(&ps).is_ok(), "{}: {ps}", c.name);
                }
            }
        }
        assert!(shown >= 120, "only {shown} examples have a PowerShell form");
    }
}
