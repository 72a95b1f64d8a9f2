//! Help text, derived entirely from the catalog: `help()` (the overview) and `help("Name")`.

mod ps_examples;

use crate::catalog::{self, COMMON_PARAMS, Cmdlet, Expect, Noun, Output, Param, Range, SHOULD_PROCESS_PARAMS, Ty};

/// Syntax lines and descriptions are wrapped to this many columns.
const WIDTH: usize = 100;
/// The overview's synopses are wrapped to this many columns.
const OVERVIEW_WIDTH: usize = 120;
const INDENT: &str = "    ";
const INDENT2: &str = "        ";

/// Full help for one cmdlet (ends with a newline).
pub fn render(cmdlet: &Cmdlet) -> String {
    let mut out = String::new();
    let rhai = cmdlet.rhai_name();

    section(&mut out, "NAME");
    out.push_str(&format!("{INDENT}{}  (Rhai: {rhai})\n", cmdlet.name));

    section(&mut out, "SYNOPSIS");
    push_wrapped(&mut out, cmdlet.synopsis, INDENT);
    if cmdlet.extension {
        out.push_str(&format!("{INDENT}pchat extension: not part of the product's cmdlets.\n"));
    }
    if cmdlet.confirm_by_default {
        out.push_str(&format!("{INDENT}Asks for confirmation unless called with `Confirm: false`.\n"));
    }

    section(&mut out, "SYNTAX");
    let sets = cmdlet.set_names();
    for (i, set) in sets.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if sets.len() > 1 {
            let default = if i == 0 { " (default)" } else { "" };
            out.push_str(&format!("{INDENT}Parameter set {set}{default}:\n"));
        }
        for line in syntax_lines(cmdlet, set) {
            out.push_str(&line);
            out.push('\n');
        }
    }
    for group in cmdlet.exclusive {
        out.push('\n');
        push_wrapped(&mut out, &format!("Cannot be combined: {}.", group.join(", ")), INDENT);
    }

    section(&mut out, "PARAMETERS");
    let extra: &[Param] = if cmdlet.should_process { SHOULD_PROCESS_PARAMS } else { &[] };
    if cmdlet.params.is_empty() && extra.is_empty() {
        out.push_str(&format!("{INDENT}None besides the common parameters.\n"));
    }
    for (i, p) in cmdlet.params.iter().chain(extra).enumerate() {
        if i > 0 {
            out.push('\n');
        }
        param_block(&mut out, cmdlet, p);
    }

    section(&mut out, "OUTPUT");
    push_wrapped(&mut out, &output_text(cmdlet.output), INDENT);

    if !cmdlet.examples.is_empty() {
        section(&mut out, "EXAMPLES");
        for (i, ex) in cmdlet.examples.iter().enumerate() {
            if i > 0 {
                out.push('\n');
            }
            out.push_str(&format!("{INDENT}Example {}: {}\n", i + 1, ex.summary));
            // The same example as a PowerShell command line, where it has one.
            if let Some(ps) = ps_examples::powershell_form(ex.code) {
                out.push_str(&format!("{INDENT2}PS> {ps}\n"));
            }
            for line in ex.code.lines() {
                out.push_str(&format!("{INDENT2}{line}\n"));
            }
            if let Expect::Error(id) = ex.expect {
                out.push_str(&format!("{INDENT2}Fails with {id}.\n"));
            }
        }
    }

    section(&mut out, "COMMON PARAMETERS");
    let names: Vec<&str> = COMMON_PARAMS.iter().map(|p| p.name).collect();
    push_wrapped(&mut out, &format!("Every cmdlet also accepts {}.", names.join(", ")), INDENT);
    // One trailing newline, so `print!` of the text ends the last line.
    let mut text = out.trim_end().to_string();
    text.push('\n');
    text
}

/// One part of a cmdlet's help: `Examples`, or `Parameter <Name>` (its block). `None` when the
/// cmdlet has no such part.
pub fn part(cmdlet: &Cmdlet, which: &str) -> Option<String> {
    if which.eq_ignore_ascii_case("examples") {
        let full = render(cmdlet);
        let start = full.find("\nEXAMPLES\n")?;
        let end = full[start + 1..].find("\nCOMMON PARAMETERS\n").map_or(full.len(), |e| start + 1 + e);
        return Some(format!("{}\n", full[start + 1..end].trim_end()));
    }
    let name = which.strip_prefix("Parameter ")?.trim();
    let extra: &[Param] = if cmdlet.should_process { SHOULD_PROCESS_PARAMS } else { &[] };
    let p = cmdlet.params.iter().chain(extra).find(|p| p.name.eq_ignore_ascii_case(name))?;
    let mut out = String::new();
    param_block(&mut out, cmdlet, p);
    Some(out)
}

/// Every available cmdlet grouped by noun (in catalog order), with its Rhai name and synopsis
/// (ends with a newline).
pub fn overview(available: &dyn Fn(&Cmdlet) -> bool) -> String {
    let cmdlets: Vec<&Cmdlet> = catalog::all().iter().filter(|c| available(c)).collect();
    let pad = cmdlets.iter().map(|c| c.rhai_name().len()).max().unwrap_or(0);
    let mut nouns: Vec<Noun> = Vec::new();
    for c in &cmdlets {
        if !nouns.contains(&c.noun) {
            nouns.push(c.noun);
        }
    }
    let mut out = String::from("pchat cmdlets (Rhai functions; each takes an object map of parameters)\n");
    for noun in nouns {
        out.push_str(&format!("\n{}\n", noun_title(noun)));
        for c in cmdlets.iter().filter(|c| c.noun == noun) {
            let mut words: Vec<&str> = c.synopsis.split_whitespace().collect();
            if c.extension {
                words.push("(pchat extension)");
            }
            let name = format!("{INDENT}{:<pad$}  ", c.rhai_name());
            out.push_str(&hanging(&name, &words, OVERVIEW_WIDTH));
        }
    }
    out.push_str("\nAlso: last_errors(), clear_errors(), cmd(\"Get-CsPersistentChatRoom\", #{...}), print(value).\n");
    out.push_str("Help on one cmdlet: help(\"Get-CsPersistentChatRoom\") or help(\"get_cs_persistent_chat_room\").\n");
    out
}

/// `head` then `words` wrapped to `width`, continuation lines aligned under the first word.
fn hanging(head: &str, words: &[&str], width: usize) -> String {
    let indent = " ".repeat(head.chars().count());
    let mut out = String::new();
    let mut line = head.to_string();
    let mut empty = true;
    for word in words {
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line.clone_from(&indent);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

fn noun_title(noun: Noun) -> &'static str {
    match noun {
        Noun::Topology => "Topology",
        Noun::Directory => "Directory",
        Noun::State => "Pool state and active servers",
        Noun::Configuration => "Persistent Chat configuration",
        Noun::Compliance => "Compliance configuration",
        Noun::Policy => "Policies",
        Noun::Category => "Categories",
        Noun::Room => "Chat rooms",
        Noun::Addin => "Add-ins",
        Noun::Endpoint => "Endpoints",
        Noun::Eligibility => "Eligible principals",
        Noun::Data => "Data export and import",
        Noun::Message => "Messages",
        Noun::Runbook => "Runbooks",
        Noun::Audit => "Audit trail",
    }
}

fn section(out: &mut String, title: &str) {
    if !out.is_empty() {
        out.push('\n');
    }
    out.push_str(title);
    out.push('\n');
}

/// The parameters of one set in syntax order: positional (by position), mandatory, the rest.
fn set_params<'a>(cmdlet: &'a Cmdlet, set: &str) -> Vec<&'a Param> {
    let mut params: Vec<&Param> = cmdlet.params.iter().filter(|p| p.in_set(set)).collect();
    // Stable sort keeps declaration order within each group.
    params.sort_by_key(|p| match p.position {
        Some(pos) => (0, pos),
        None if p.is_mandatory_in(set) => (1, 0),
        None => (2, 0),
    });
    params
}

/// The Rhai syntax (map form, then the positional form when the set has a positional
/// parameter) and the PowerShell syntax of one parameter set, wrapped.
fn syntax_lines(cmdlet: &Cmdlet, set: &str) -> Vec<String> {
    let rhai = cmdlet.rhai_name();
    let params = set_params(cmdlet, set);
    let extra: &[Param] = if cmdlet.should_process { SHOULD_PROCESS_PARAMS } else { &[] };
    let mut lines = Vec::new();

    let rhai_atom = |p: &Param| {
        let atom = format!("{}: {}", p.name, rhai_type(&p.ty));
        if p.is_mandatory_in(set) { atom } else { format!("[{atom}]") }
    };
    let map_atoms: Vec<String> = params.iter().copied().chain(extra).map(rhai_atom).collect();
    if map_atoms.is_empty() {
        lines.push(format!("{INDENT}{rhai}()"));
    } else {
        lines.extend(wrap_atoms(&format!("{INDENT}{rhai}(#{{"), &map_atoms, ", ", "})"));
    }
    if let Some(first) = params.iter().find(|p| p.position == Some(0)) {
        let rest: Vec<String> =
            params.iter().copied().filter(|p| p.position != Some(0)).chain(extra).map(rhai_atom).collect();
        if rest.is_empty() {
            lines.push(format!("{INDENT}{rhai}(<{}>)", first.name));
        } else {
            lines.extend(wrap_atoms(&format!("{INDENT}{rhai}(<{}>, #{{", first.name), &rest, ", ", "})"));
        }
    }

    let mut ps_atoms: Vec<String> = params.iter().copied().chain(extra).map(|p| ps_atom(p, set)).collect();
    ps_atoms.push("[<CommonParameters>]".into());
    lines.extend(wrap_atoms(&format!("{INDENT}{} ", cmdlet.name), &ps_atoms, " ", ""));
    lines
}

fn rhai_type(ty: &Ty) -> String {
    match ty {
        // Enum values are strings in Rhai.
        Ty::Enum(values) => values.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(" | "),
        other => other.display(),
    }
}

fn ps_atom(p: &Param, set: &str) -> String {
    let name = match p.position {
        Some(_) => format!("[-{}]", p.name),
        None => format!("-{}", p.name),
    };
    let typed = match p.ty {
        Ty::Switch => name,
        Ty::Enum(values) => format!("{name} {{{}}}", values.join(" | ")),
        ref ty => format!("{name} <{}>", ty.display()),
    };
    if p.is_mandatory_in(set) { typed } else { format!("[{typed}]") }
}

/// Join atoms with `sep` after `prefix`, ending with `suffix`, breaking lines between atoms so
/// that no line passes [`WIDTH`] unless one atom alone does.
fn wrap_atoms(prefix: &str, atoms: &[String], sep: &str, suffix: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = prefix.to_string();
    let mut line_has_atom = false;
    for (i, atom) in atoms.iter().enumerate() {
        let piece = if i + 1 == atoms.len() { format!("{atom}{suffix}") } else { format!("{atom}{sep}") };
        if line_has_atom && line.trim_end().len() + piece.trim_end().len() > WIDTH {
            lines.push(line.trim_end().to_string());
            line = INDENT2.to_string();
        }
        line.push_str(&piece);
        line_has_atom = true;
    }
    lines.push(line.trim_end().to_string());
    lines
}

fn param_block(out: &mut String, cmdlet: &Cmdlet, p: &Param) {
    out.push_str(&format!("{INDENT}-{} <{}>\n", p.name, p.ty.display()));
    push_wrapped(out, p.description, INDENT2);
    let row = |out: &mut String, label: &str, value: &str| {
        out.push_str(&format!("{INDENT2}{label:<24}{value}\n"));
    };
    let sets = cmdlet.set_names();
    let member_of: Vec<&str> = sets.iter().copied().filter(|s| p.in_set(s)).collect();
    row(out, "Required?", &required_text(p, &member_of));
    row(out, "Position?", &p.position.map(|n| n.to_string()).unwrap_or_else(|| "named".into()));
    let pipeline = match (p.by_value, p.by_property) {
        (true, true) => "true (ByValue, ByPropertyName)",
        (true, false) => "true (ByValue)",
        (false, true) => "true (ByPropertyName)",
        (false, false) => "false",
    };
    row(out, "Accept pipeline input?", pipeline);
    if sets.len() > 1 {
        let in_sets = if p.sets.is_empty() { "all".to_string() } else { member_of.join(", ") };
        row(out, "Parameter sets", &in_sets);
    }
    if !p.aliases.is_empty() {
        row(out, "Aliases", &p.aliases.join(", "));
    }
    if let Ty::Enum(values) = p.ty {
        row(out, "Values", &values.join(", "));
    }
    match p.range {
        Some(Range::Int(min, max)) => row(out, "Range", &format!("{min}..{max}")),
        Some(Range::Span(min, max)) => row(out, "Range", &format!("{}..{}", span(min), span(max))),
        None => {}
    }
}

/// "true", "false", or per set when the parameter is mandatory in only some of its sets.
fn required_text(p: &Param, member_of: &[&str]) -> String {
    let (yes, no): (Vec<&str>, Vec<&str>) = member_of.iter().partition(|s| p.is_mandatory_in(s));
    match (yes.is_empty(), no.is_empty()) {
        (true, _) => "false".into(),
        (false, true) => "true".into(),
        (false, false) => format!("true in {}; false in {}", yes.join(", "), no.join(", ")),
    }
}

/// Seconds as a time span: `[d.]hh:mm:ss`.
fn span(secs: i64) -> String {
    let sign = if secs < 0 { "-" } else { "" };
    let s = secs.unsigned_abs();
    let (d, h, m, s) = (s / 86400, s / 3600 % 24, s / 60 % 60, s % 60);
    if d > 0 { format!("{sign}{d}.{h:02}:{m:02}:{s:02}") } else { format!("{sign}{h:02}:{m:02}:{s:02}") }
}

fn output_text(output: Output) -> String {
    // The properties in output order (for rooms and categories, their descriptor's).
    let properties = |t: catalog::ObjType| format!(" Its properties: {}.", t.properties().join(", "));
    match output {
        Output::Collection(t) => {
            format!("An array of {} objects (possibly empty).{}", t.type_name(), properties(t))
        }
        Output::Object(t) => format!("A {} object.{}", t.type_name(), properties(t)),
        Output::PassThru(t) => {
            format!("Nothing; with `PassThru: true`, the {} object.{}", t.type_name(), properties(t))
        }
        Output::Bytes => "With `AsBytes: true`, the data as a byte array (blob); otherwise nothing.".into(),
        Output::Nothing => "Nothing.".into(),
    }
}

/// Append `text` word-wrapped to [`WIDTH`], each line starting with `indent`.
fn push_wrapped(out: &mut String, text: &str, indent: &str) {
    for paragraph in text.lines() {
        let mut line = indent.to_string();
        let mut empty = true;
        for word in paragraph.split_whitespace() {
            if !empty && line.len() + 1 + word.len() > WIDTH {
                out.push_str(&line);
                out.push('\n');
                line = indent.to_string();
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            line.push_str(word);
            empty = false;
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
}

/// The cmdlet reference in Markdown, as checked in at docs/cmdlets.md: every cmdlet with its
/// syntax, parameters (type, sets, required, position, pipeline input, aliases, values, range),
/// output and examples, in catalog order.
pub fn markdown_reference() -> String {
    let mut out = String::from("# Cmdlet reference\n\n");
    out.push_str(
        "Generated from the catalog (`src/catalog/entries/`) by `help::markdown_reference`; do not edit.\n\
         Regenerate with `PCHAT_REGENERATE_DOCS=1 cargo test --lib help::tests::the_cmdlet_reference_is_current`.\n\
         In the REPL, `help(\"Name\")` shows the same for one cmdlet.\n",
    );
    let mut nouns: Vec<Noun> = Vec::new();
    for c in catalog::all() {
        if !nouns.contains(&c.noun) {
            nouns.push(c.noun);
        }
    }
    out.push_str("\n## Contents\n\n");
    for noun in &nouns {
        let links: Vec<String> = catalog::all()
            .iter()
            .filter(|c| c.noun == *noun)
            .map(|c| format!("[{}](#{})", c.name, c.name.to_ascii_lowercase()))
            .collect();
        out.push_str(&format!("* {}: {}\n", noun_title(*noun), links.join(", ")));
    }
    for noun in nouns {
        out.push_str(&format!("\n## {}\n", noun_title(noun)));
        for c in catalog::all().iter().filter(|c| c.noun == noun) {
            markdown_cmdlet(&mut out, c);
        }
    }
    out.push_str(
        "\n## Common parameters\n\nEvery cmdlet also accepts these; only ErrorAction and Verbose have an effect.\n\n",
    );
    markdown_params(&mut out, None, COMMON_PARAMS);
    out
}

fn markdown_cmdlet(out: &mut String, c: &Cmdlet) {
    out.push_str(&format!("\n### {}\n\n", c.name));
    out.push_str(&format!("Rhai: `{}`.", c.rhai_name()));
    if c.extension {
        out.push_str(" A pchat extension: not part of the product's cmdlets.");
    }
    if c.confirm_by_default {
        out.push_str(" Asks for confirmation unless called with `Confirm: false`.");
    }
    out.push_str(&format!("\n\n{}\n\n```text\n", c.synopsis));
    let sets = c.set_names();
    for (i, set) in sets.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        if sets.len() > 1 {
            let default = if i == 0 { " (default)" } else { "" };
            out.push_str(&format!("Parameter set {set}{default}:\n"));
        }
        for line in syntax_lines(c, set) {
            out.push_str(line.strip_prefix(INDENT).unwrap_or(&line));
            out.push('\n');
        }
    }
    out.push_str("```\n");
    for group in c.exclusive {
        out.push_str(&format!("\nCannot be combined: {}.\n", group.join(", ")));
    }
    let extra: &[Param] = if c.should_process { SHOULD_PROCESS_PARAMS } else { &[] };
    let params: Vec<Param> = c.params.iter().chain(extra).copied().collect();
    if !params.is_empty() {
        out.push_str("\n**Parameters**\n\n");
        markdown_params(out, Some(c), &params);
    }
    out.push_str(&format!("\n**Output**: {}\n", output_text(c.output)));
    if !c.examples.is_empty() {
        out.push_str("\n**Examples**\n");
        for ex in c.examples {
            let fails = match ex.expect {
                Expect::Error(id) => format!(" Fails with {id}."),
                Expect::Ok => String::new(),
            };
            out.push_str(&format!("\n{}{fails}\n\n```rhai\n{}\n```\n", ex.summary, ex.code));
        }
    }
}

/// A parameter table; `cmdlet` gives the sets (common parameters belong to every set).
fn markdown_params(out: &mut String, cmdlet: Option<&Cmdlet>, params: &[Param]) {
    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
    let sets = cmdlet.map(|c| c.set_names()).unwrap_or_default();
    let many_sets = sets.len() > 1;
    out.push_str("| Parameter | Type | Required | Position | Pipeline input |");
    out.push_str(if many_sets { " Sets |" } else { "" });
    out.push_str(" Aliases | Values or range | Description |\n|---|---|---|---|---|");
    out.push_str(if many_sets { "---|" } else { "" });
    out.push_str("---|---|---|\n");
    for p in params {
        let member_of: Vec<&str> = sets.iter().copied().filter(|s| p.in_set(s)).collect();
        let required = if cmdlet.is_some() { required_text(p, &member_of) } else { "false".into() };
        let pipeline = match (p.by_value, p.by_property) {
            (true, true) => "ByValue, ByPropertyName",
            (true, false) => "ByValue",
            (false, true) => "ByPropertyName",
            (false, false) => "no",
        };
        let values = match (p.ty, p.range) {
            (Ty::Enum(values), _) => values.join(", "),
            (_, Some(Range::Int(min, max))) => format!("{min}..{max}"),
            (_, Some(Range::Span(min, max))) => format!("{}..{}", span(min), span(max)),
            _ => String::new(),
        };
        let ty = match p.ty {
            Ty::Enum(_) => "Enum".to_string(),
            ty => ty.display(),
        };
        out.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |",
            p.name,
            ty,
            required,
            p.position.map(|n| n.to_string()).unwrap_or_else(|| "named".into()),
            pipeline
        ));
        if many_sets {
            let in_sets = if p.sets.is_empty() { "all".to_string() } else { member_of.join(", ") };
            out.push_str(&format!(" {in_sets} |"));
        }
        out.push_str(&format!(" {} | {} | {} |\n", p.aliases.join(", "), cell(&values), cell(p.description)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_renders() {
        for c in catalog::all() {
            let text = render(c);
            assert!(text.starts_with(&format!("NAME\n    {}  (Rhai: {})", c.name, c.rhai_name())), "{text}");
            for heading in ["SYNOPSIS", "SYNTAX", "PARAMETERS", "OUTPUT", "COMMON PARAMETERS"] {
                assert!(text.lines().any(|l| l == heading), "{} lacks {heading}", c.name);
            }
            for p in c.params {
                assert!(text.contains(&format!("    -{} <", p.name)), "{} lacks -{}", c.name, p.name);
            }
            assert_eq!(text.contains("[-WhatIf]"), c.should_process, "{}", c.name);
            let marker = "\n    pchat extension: not part of the product's cmdlets.\n";
            assert_eq!(text.contains(marker), c.extension, "{}", c.name);
            for ex in c.examples {
                assert!(text.contains(ex.summary), "{} lacks example {}", c.name, ex.summary);
                if let Expect::Error(id) = ex.expect {
                    assert!(text.contains(&format!("Fails with {id}.")), "{}", c.name);
                }
            }
        }
    }

    #[test]
    fn syntax_of_an_optional_positional_parameter() {
        let Some(c) = catalog::find("Get-CsPersistentChatRoom") else {
            return;
        };
        let text = render(c);
        assert!(text.contains("get_cs_persistent_chat_room(<Identity>"), "{text}");
        assert!(text.contains("Get-CsPersistentChatRoom [[-Identity] <String>]"), "{text}");
        assert!(text.contains("[AsObject: Switch]"), "{text}");
        assert!(text.contains("[<CommonParameters>]"), "{text}");
        assert!(text.contains("An array of ChatRoomObject objects"), "{text}");
    }

    #[test]
    fn mandatory_parameters_are_unbracketed() {
        for c in catalog::all() {
            for set in c.set_names() {
                let lines = syntax_lines(c, set).join("\n");
                for p in set_params(c, set) {
                    let rhai = format!("{}: {}", p.name, rhai_type(&p.ty));
                    if p.is_mandatory_in(set) {
                        assert!(!lines.contains(&format!("[{rhai}]")), "{}: {lines}", c.name);
                        assert!(lines.contains(&rhai), "{}: {lines}", c.name);
                    } else {
                        assert!(lines.contains(&format!("[{rhai}]")), "{}: {lines}", c.name);
                    }
                }
            }
        }
    }

    #[test]
    fn parameter_details() {
        let p = crate::catalog::param("Privacy", Ty::Enum(&["Open", "Secret"]), "Who sees the room.")
            .aliases(&["pv"])
            .by_property();
        let c = Cmdlet {
            name: "Set-CsThing",
            noun: Noun::Room,
            synopsis: "Changes a thing.",
            sets: &["A", "B"],
            params: &[],
            exclusive: &[],
            should_process: true,
            confirm_by_default: true,
            output: Output::PassThru(catalog::ObjType::ChatRoom),
            examples: &[],
            extension: false,
        };
        let mut out = String::new();
        param_block(&mut out, &c, &p.mandatory_in(&["B"]));
        assert!(out.contains("Required?               true in B; false in A"), "{out}");
        assert!(out.contains("Accept pipeline input?  true (ByPropertyName)"), "{out}");
        assert!(out.contains("Aliases                 pv"), "{out}");
        assert!(out.contains("Values                  Open, Secret"), "{out}");
        assert!(out.contains("Parameter sets          all"), "{out}");
        let text = render(&c);
        assert!(text.contains("set_cs_thing(#{[WhatIf: Switch], [Confirm: Switch]})"), "{text}");
        assert!(text.contains("Set-CsThing [-WhatIf] [-Confirm] [<CommonParameters>]"), "{text}");
        assert!(text.contains("Asks for confirmation unless"), "{text}");
        assert!(text.contains("with `PassThru: true`, the ChatRoomObject object"), "{text}");
    }

    #[test]
    fn exclusive_groups_are_listed() {
        for c in catalog::all().iter().filter(|c| !c.exclusive.is_empty()) {
            let text = render(c);
            for group in c.exclusive {
                let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
                assert!(joined.contains(&format!("Cannot be combined: {}.", group.join(", "))), "{text}");
            }
        }
    }

    #[test]
    fn hanging_indent() {
        let text = hanging("    name  ", &["one", "two", "three", "(pchat extension)"], 18);
        assert_eq!(text, "    name  one two\n          three\n          (pchat extension)\n");
        assert_eq!(hanging("x ", &[], 10), "x\n");
    }

    #[test]
    fn spans_and_wrapping() {
        assert_eq!(span(1), "00:00:01");
        assert_eq!(span(86400 * 30), "30.00:00:00");
        assert_eq!(span(5400), "01:30:00");
        let atoms: Vec<String> = (0..30).map(|i| format!("[Param{i}: String]")).collect();
        let lines = wrap_atoms("    f(#{", &atoms, ", ", "})");
        assert!(lines.len() > 1);
        assert!(lines.iter().all(|l| l.len() <= WIDTH));
        assert!(lines[0].starts_with("    f(#{[Param0: String], "));
        assert!(lines.last().is_some_and(|l| l.ends_with("[Param29: String]})")));
    }

    #[test]
    fn overview_lists_available_cmdlets_by_noun() {
        let text = overview(&|_| true);
        let joined = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for c in catalog::all() {
            assert!(text.contains(&c.rhai_name()), "{}", c.name);
            let synopsis = c.synopsis.split_whitespace().collect::<Vec<_>>().join(" ");
            assert!(joined.contains(&synopsis), "{}", c.name);
        }
        assert!(text.lines().all(|l| l.chars().count() <= OVERVIEW_WIDTH), "{text}");
        assert!(text.contains("help(\"Get-CsPersistentChatRoom\")"));
        let none = overview(&|_| false);
        assert!(!none.contains("\n    get_cs_"));
        assert!(none.contains("help(\"get_cs_persistent_chat_room\")"));
    }

    /// docs/cmdlets.md is the catalog's reference as generated now.
    #[test]
    fn the_cmdlet_reference_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/cmdlets.md");
        let generated = super::markdown_reference();
        if std::env::var_os("PCHAT_REGENERATE_DOCS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let checked_in = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            checked_in == generated,
            "docs/cmdlets.md is not current; regenerate it with\n  \
             PCHAT_REGENERATE_DOCS=1 cargo test --lib help::tests::the_cmdlet_reference_is_current"
        );
    }
}
