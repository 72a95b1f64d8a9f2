//! PowerShell's own pipeline commands that one-liners use around the cmdlets (Where-Object,
//! ForEach-Object, Select-Object, Sort-Object, Measure-Object, Format-*, ConvertTo-Json,
//! Export-Csv, Write-*, Get-Help): a small declarative table of their parameters, binding with
//! PowerShell's rules (names, unique prefixes, aliases, positions), and their Rhai translation.

use super::PsError;
use super::ast::{Arg, Command, Expr, Pos};
use super::translate::{Code, Kind, Translator, rhai_string};

#[derive(Debug, Clone, Copy)]
pub struct UParam {
    pub name: &'static str,
    pub switch: bool,
    pub position: Option<u8>,
    /// A positional script block binds here (rather than to the other parameter at that position).
    pub block: bool,
    /// Takes the positional arguments left over (ValueFromRemainingArguments), as a list.
    pub rest: bool,
}

const fn value(name: &'static str) -> UParam {
    UParam { name, switch: false, position: None, block: false, rest: false }
}
const fn switch(name: &'static str) -> UParam {
    UParam { name, switch: true, position: None, block: false, rest: false }
}
const fn at(mut p: UParam, position: u8) -> UParam {
    p.position = Some(position);
    p
}
const fn rest(mut p: UParam) -> UParam {
    p.rest = true;
    p
}
const fn block(mut p: UParam) -> UParam {
    p.block = true;
    p
}

#[derive(Debug)]
pub struct Utility {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub params: &'static [UParam],
    /// Real PowerShell parameters the subset leaves out (named in the error).
    pub unsupported: &'static [&'static str],
}

/// Set-Content and Add-Content take the same parameters (they differ in replacing or appending).
const CONTENT_WRITER_PARAMS: &[UParam] =
    &[at(value("Path"), 0), value("LiteralPath"), at(value("Value"), 1), value("Encoding"), switch("Force")];

const WHERE_OPS: &[&str] = &[
    "EQ",
    "NE",
    "GT",
    "GE",
    "LT",
    "LE",
    "Like",
    "NotLike",
    "Match",
    "NotMatch",
    "Contains",
    "NotContains",
    "In",
    "NotIn",
];

pub static UTILITIES: &[Utility] = &[
    Utility {
        name: "Where-Object",
        aliases: &["where", "?"],
        params: &[
            at(block(value("FilterScript")), 0),
            at(value("Property"), 0),
            at(value("Value"), 1),
            switch("EQ"),
            switch("NE"),
            switch("GT"),
            switch("GE"),
            switch("LT"),
            switch("LE"),
            switch("Like"),
            switch("NotLike"),
            switch("Match"),
            switch("NotMatch"),
            switch("Contains"),
            switch("NotContains"),
            switch("In"),
            switch("NotIn"),
            switch("Not"),
        ],
        unsupported: &[
            "CEQ",
            "CNE",
            "CGT",
            "CGE",
            "CLT",
            "CLE",
            "CLike",
            "CNotLike",
            "CMatch",
            "CNotMatch",
            "CContains",
            "CNotContains",
            "CIn",
            "CNotIn",
            "Is",
            "IsNot",
            "InputObject",
        ],
    },
    Utility {
        name: "ForEach-Object",
        aliases: &["foreach", "%"],
        params: &[at(block(value("Process")), 0), at(value("MemberName"), 0)],
        unsupported: &["Begin", "End", "RemainingScripts", "ArgumentList", "Parallel", "InputObject"],
    },
    Utility {
        name: "Select-Object",
        aliases: &["select"],
        params: &[
            at(value("Property"), 0),
            value("ExpandProperty"),
            value("First"),
            value("Last"),
            value("Skip"),
            switch("Unique"),
        ],
        unsupported: &["ExcludeProperty", "Index", "SkipLast", "Wait", "InputObject"],
    },
    Utility {
        name: "Sort-Object",
        aliases: &["sort"],
        params: &[at(value("Property"), 0), switch("Descending"), switch("Unique")],
        unsupported: &["CaseSensitive", "Culture", "Stable", "Top", "Bottom", "InputObject"],
    },
    Utility {
        name: "Measure-Object",
        aliases: &["measure"],
        params: &[at(value("Property"), 0), switch("Sum"), switch("Average"), switch("Maximum"), switch("Minimum")],
        unsupported: &["Character", "Line", "Word", "IgnoreWhiteSpace", "AllStats", "StandardDeviation", "InputObject"],
    },
    Utility {
        name: "Format-Table",
        aliases: &["ft"],
        params: &[at(value("Property"), 0), switch("AutoSize"), switch("Wrap"), switch("HideTableHeaders")],
        unsupported: &["GroupBy", "View", "ShowError", "DisplayError", "Expand", "Force", "InputObject"],
    },
    Utility {
        name: "Format-List",
        aliases: &["fl"],
        params: &[at(value("Property"), 0)],
        unsupported: &["GroupBy", "View", "ShowError", "DisplayError", "Expand", "Force", "InputObject"],
    },
    Utility {
        name: "ConvertTo-Json",
        aliases: &[],
        params: &[value("Depth"), switch("Compress")],
        unsupported: &["EnumsAsStrings", "AsArray", "EscapeHandling", "InputObject"],
    },
    Utility {
        name: "Export-Csv",
        aliases: &["epcsv"],
        params: &[
            at(value("Path"), 0),
            value("LiteralPath"),
            switch("NoTypeInformation"),
            value("Delimiter"),
            value("Encoding"),
            switch("Force"),
        ],
        unsupported: &[
            "Append",
            "UseCulture",
            "NoClobber",
            "IncludeTypeInformation",
            "QuoteFields",
            "UseQuotes",
            "InputObject",
        ],
    },
    Utility {
        name: "Write-Output",
        aliases: &["echo", "write"],
        params: &[at(value("InputObject"), 0)],
        unsupported: &["NoEnumerate"],
    },
    Utility {
        name: "Write-Host",
        aliases: &[],
        // Colours are presentation only: accepted, the text is written as is.
        // `Write-Host $a $b $c` writes the three joined by spaces, as PowerShell does.
        params: &[
            rest(at(value("Object"), 0)),
            switch("NoNewline"),
            value("ForegroundColor"),
            value("BackgroundColor"),
        ],
        unsupported: &["Separator"],
    },
    Utility { name: "Out-Null", aliases: &[], params: &[], unsupported: &["InputObject"] },
    Utility {
        name: "Get-Date",
        aliases: &[],
        params: &[at(value("Date"), 0), value("Format")],
        unsupported: &["UFormat", "DisplayHint", "AsUTC"],
    },
    Utility {
        name: "New-Object",
        aliases: &[],
        params: &[at(value("TypeName"), 0), value("Property")],
        unsupported: &["ArgumentList", "ComObject", "Strict"],
    },
    Utility {
        name: "Add-Member",
        aliases: &[],
        params: &[
            at(value("MemberType"), 0),
            at(value("Name"), 1),
            at(value("Value"), 2),
            value("InputObject"),
            value("NotePropertyName"),
            value("NotePropertyValue"),
            switch("PassThru"),
            switch("Force"),
        ],
        unsupported: &["NotePropertyMembers", "SecondValue", "TypeName"],
    },
    Utility {
        name: "Write-Verbose",
        aliases: &[],
        params: &[at(value("Message"), 0), switch("Verbose")],
        unsupported: &[],
    },
    Utility { name: "Write-Warning", aliases: &[], params: &[at(value("Message"), 0)], unsupported: &[] },
    Utility {
        name: "Write-Error",
        aliases: &[],
        params: &[at(value("Message"), 0), value("ErrorAction")],
        unsupported: &["Exception", "ErrorRecord", "Category"],
    },
    Utility {
        name: "Out-File",
        aliases: &[],
        params: &[
            at(value("FilePath"), 0),
            value("LiteralPath"),
            switch("Append"),
            value("Encoding"),
            switch("Force"),
            value("InputObject"),
        ],
        unsupported: &["NoClobber", "Width", "NoNewline"],
    },
    Utility {
        name: "Set-Content",
        aliases: &[],
        params: CONTENT_WRITER_PARAMS,
        unsupported: &["NoNewline", "Stream", "PassThru"],
    },
    Utility {
        name: "Add-Content",
        aliases: &[],
        params: CONTENT_WRITER_PARAMS,
        unsupported: &["NoNewline", "Stream", "PassThru"],
    },
    Utility {
        name: "Get-Content",
        aliases: &["gc", "cat", "type"],
        params: &[at(value("Path"), 0), value("LiteralPath"), switch("Raw"), value("TotalCount"), value("Encoding")],
        unsupported: &["Tail", "Wait", "ReadCount", "Delimiter", "Stream"],
    },
    Utility {
        name: "Import-Csv",
        aliases: &["ipcsv"],
        params: &[at(value("Path"), 0), value("LiteralPath"), value("Delimiter"), value("Encoding")],
        unsupported: &["Header", "UseCulture"],
    },
    Utility {
        name: "ConvertFrom-Json",
        aliases: &[],
        params: &[at(value("InputObject"), 0)],
        unsupported: &["AsHashtable", "Depth", "NoEnumerate"],
    },
    Utility {
        name: "Test-Path",
        aliases: &[],
        params: &[at(value("Path"), 0), value("LiteralPath"), value("PathType")],
        unsupported: &["Filter", "Include", "Exclude", "IsValid", "OlderThan", "NewerThan"],
    },
    Utility {
        name: "Get-Member",
        aliases: &["gm"],
        params: &[at(value("Name"), 0), value("MemberType")],
        unsupported: &["Static", "View", "Force", "InputObject"],
    },
    Utility {
        name: "Group-Object",
        aliases: &["group"],
        params: &[at(value("Property"), 0), switch("NoElement")],
        unsupported: &["AsHashTable", "AsString", "CaseSensitive", "Culture", "InputObject"],
    },
    Utility {
        name: "Import-Module",
        aliases: &["ipmo"],
        params: &[at(value("Name"), 0), switch("Force")],
        unsupported: &["Prefix", "PSSession", "CimSession", "Global"],
    },
    Utility {
        name: "Join-Path",
        aliases: &[],
        params: &[at(value("Path"), 0), at(value("ChildPath"), 1)],
        unsupported: &["Resolve", "AdditionalChildPath"],
    },
    Utility { name: "Out-Host", aliases: &["oh"], params: &[switch("Paging")], unsupported: &["InputObject"] },
    Utility { name: "more", aliases: &[], params: &[], unsupported: &[] },
    Utility {
        name: "Out-String",
        aliases: &[],
        params: &[switch("Stream"), value("Width")],
        unsupported: &["InputObject"],
    },
    Utility {
        name: "New-TimeSpan",
        aliases: &[],
        params: &[
            at(value("Start"), 0),
            at(value("End"), 1),
            value("Days"),
            value("Hours"),
            value("Minutes"),
            value("Seconds"),
        ],
        unsupported: &["Milliseconds"],
    },
    Utility {
        name: "Get-Help",
        aliases: &["help", "man"],
        params: &[at(value("Name"), 0), switch("Examples"), switch("Full"), switch("Detailed"), value("Parameter")],
        unsupported: &["Online", "ShowWindow", "Category", "Component", "Functionality", "Role", "Path"],
    },
];

pub fn find(name: &str) -> Option<&'static Utility> {
    UTILITIES
        .iter()
        .find(|u| u.name.eq_ignore_ascii_case(name) || u.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
}

pub fn names() -> impl Iterator<Item = &'static str> {
    UTILITIES.iter().map(|u| u.name)
}

/// Bound arguments: parameter, value (`None` for a switch given without one), position.
pub type Args = Vec<(&'static UParam, Option<Expr>, Pos)>;

fn resolve(u: &'static Utility, name: &str, pos: Pos) -> Result<&'static UParam, PsError> {
    if let Some(p) = u.params.iter().find(|p| p.name.eq_ignore_ascii_case(name)) {
        return Ok(p);
    }
    if let Some(x) = u.unsupported.iter().find(|x| x.eq_ignore_ascii_case(name)) {
        return Err(PsError::unsupported(format!("the -{x} parameter of {}", u.name), pos));
    }
    let lower = name.to_ascii_lowercase();
    let matches: Vec<&'static UParam> =
        u.params.iter().filter(|p| p.name.to_ascii_lowercase().starts_with(&lower)).collect();
    match matches.as_slice() {
        [p] => Ok(p),
        [] => {
            let valid: Vec<String> = u.params.iter().map(|p| format!("-{}", p.name)).collect();
            Err(PsError::command(
                format!(
                    "{}: no parameter '-{name}'; valid parameters are {}",
                    u.name,
                    if valid.is_empty() { "none".to_string() } else { valid.join(", ") }
                ),
                pos,
            ))
        }
        many => Err(PsError::command(
            format!(
                "{}: parameter name '-{name}' is ambiguous; it could be {}",
                u.name,
                many.iter().map(|p| format!("-{}", p.name)).collect::<Vec<_>>().join(", ")
            ),
            pos,
        )),
    }
}

pub fn bind(u: &'static Utility, c: &Command) -> Result<Args, PsError> {
    let mut out: Args = Vec::new();
    let mut position = 0u8;
    let mut args = c.args.iter().peekable();
    let bound = |out: &Args, p: &UParam| out.iter().any(|(q, _, _)| q.name == p.name);
    while let Some(arg) = args.next() {
        let (p, v, pos) = match arg {
            Arg::Param { name, pos, value } => {
                let p = resolve(u, name, *pos)?;
                let v = match value {
                    Some(v) => Some(v.clone()),
                    None if p.switch => None,
                    None => match args.next() {
                        Some(Arg::Value(v, _)) => Some(v.clone()),
                        _ => {
                            return Err(PsError::command(
                                format!("{}: parameter -{} needs a value", u.name, p.name),
                                *pos,
                            ));
                        }
                    },
                };
                (p, v, *pos)
            }
            Arg::Value(v, vpos) if u.params.iter().any(|p| p.rest && p.position.is_some_and(|k| k < position)) => {
                // One more value for the parameter that takes the remaining arguments.
                let p = u.params.iter().find(|p| p.rest).expect("a rest parameter");
                let Some(slot) = out.iter_mut().find(|(q, _, _)| q.name == p.name) else {
                    return Err(PsError::command(
                        format!("{}: a positional argument cannot be bound (too many values)", u.name),
                        *vpos,
                    ));
                };
                match &mut slot.1 {
                    Some(Expr::Array(items)) => items.push(v.clone()),
                    Some(first) => *first = Expr::Array(vec![first.clone(), v.clone()]),
                    None => slot.1 = Some(v.clone()),
                }
                continue;
            }
            Arg::Value(v, vpos) => {
                let is_block = matches!(v, Expr::Block(_));
                let candidates: Vec<&'static UParam> =
                    u.params.iter().filter(|p| p.position == Some(position) && !bound(&out, p)).collect();
                let p = candidates.iter().find(|p| p.block == is_block).or(candidates.first()).copied().ok_or_else(
                    || {
                        PsError::command(
                            format!("{}: a positional argument cannot be bound (too many values)", u.name),
                            c.pos,
                        )
                    },
                )?;
                position += 1;
                (p, Some(v.clone()), *vpos)
            }
        };
        if bound(&out, p) {
            return Err(PsError::command(format!("{}: parameter -{} is given more than once", u.name, p.name), pos));
        }
        out.push((p, v, pos));
    }
    Ok(out)
}

pub(super) fn get<'a>(args: &'a Args, name: &str) -> Option<(&'a Option<Expr>, Pos)> {
    args.iter().find(|(p, _, _)| p.name == name).map(|(_, v, pos)| (v, *pos))
}

/// A switch's state: given without a value, or with a literal `$True`/`$False`.
pub(super) fn switch_on(args: &Args, name: &str) -> Result<bool, PsError> {
    match get(args, name) {
        None => Ok(false),
        Some((None, _)) => Ok(true),
        Some((Some(Expr::Var(v, _)), _)) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some((Some(Expr::Var(v, _)), _)) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some((Some(_), pos)) => Err(PsError::unsupported(format!("a computed value for the switch -{name}"), pos)),
    }
}

/// Property names given as words, strings or a list of them (calculated properties are outside the subset).
pub(super) fn property_names(e: &Expr, pos: Pos) -> Result<Vec<String>, PsError> {
    match e {
        Expr::Str(s) | Expr::Bare(s) => Ok(vec![s.clone()]),
        Expr::Array(items) => {
            let mut out = Vec::new();
            for i in items {
                out.extend(property_names(i, pos)?);
            }
            Ok(out)
        }
        Expr::Hash(_) => Err(PsError::unsupported("calculated properties (@{Name=...; Expression={...}})", pos)),
        _ => Err(PsError::unsupported("property names that are not written out (use words or quoted names)", pos)),
    }
}

/// Select-Object's -Property: names, and calculated properties `@{Name=...; Expression={...}}`
/// as `#{name: ..., expr: |it| ...}`.
fn select_specs(t: &mut Translator, e: &Expr, pos: Pos) -> Result<String, PsError> {
    let items: Vec<&Expr> = match e {
        Expr::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for item in items {
        match item {
            Expr::Hash(entries) => {
                let mut name = None;
                let mut expr = None;
                for (k, v) in entries {
                    let k = k.to_ascii_lowercase();
                    if "name".starts_with(&k) || "label".starts_with(&k) {
                        name = Some(t.expr(v)?.text);
                    } else if "expression".starts_with(&k) {
                        expr = Some(match v {
                            Expr::Block(b) => format!("|it| ps_one({})", t.item_block(b, false)?.text),
                            other => t.expr(other)?.text,
                        });
                    } else {
                        return Err(PsError::unsupported(format!("the key '{k}' in a calculated property"), pos));
                    }
                }
                let (Some(name), Some(expr)) = (name, expr) else {
                    return Err(PsError::command(
                        "Select-Object: a calculated property needs Name (or Label) and Expression",
                        pos,
                    ));
                };
                out.push(format!("#{{name: {name}, expr: {expr}}}"));
            }
            other => out.extend(property_names(other, pos)?.iter().map(|n| rhai_string(n))),
        }
    }
    Ok(format!("[{}]", out.join(", ")))
}

pub(super) fn name_list(names: &[String]) -> String {
    format!("[{}]", names.iter().map(|n| rhai_string(n)).collect::<Vec<_>>().join(", "))
}

pub(super) fn needs_input(u: &Utility, c: &Command, input: Option<Code>) -> Result<String, PsError> {
    input
        .map(Code::items)
        .ok_or_else(|| PsError::command(format!("{} needs pipeline input (write ... | {})", u.name, u.name), c.pos))
}

pub fn translate(
    t: &mut Translator,
    u: &'static Utility,
    c: &Command,
    args: &Args,
    input: Option<Code>,
) -> Result<Code, PsError> {
    let value_of = |name: &str| get(args, name).and_then(|(v, pos)| v.clone().map(|v| (v, pos)));
    match u.name {
        "Where-Object" => {
            let items = needs_input(u, c, input)?;
            if let Some((e, pos)) = value_of("FilterScript") {
                let Expr::Block(b) = e else {
                    return Err(PsError::command("Where-Object: -FilterScript takes a script block { ... }", pos));
                };
                let body = t.item_block(&b, false)?;
                return Ok(Code::new(format!("{items}.filter(|it| {})", body.truth()), Kind::Array));
            }
            let (prop, pos) = value_of("Property").ok_or_else(|| {
                PsError::command("Where-Object: give a script block { ... } or a property name", c.pos)
            })?;
            let [prop] = property_names(&prop, pos)?
                .try_into()
                .map_err(|_| PsError::command("Where-Object: -Property takes one property name", pos))?;
            let read = format!("ps_prop(it, {})", rhai_string(&prop));
            let mut ops: Vec<&str> = Vec::new();
            for op in WHERE_OPS {
                if switch_on(args, op)? {
                    ops.push(op);
                }
            }
            let not = switch_on(args, "Not")?;
            let test = match (ops.as_slice(), value_of("Value")) {
                ([], None) if not => format!("!ps_true({read})"),
                ([], None) => format!("ps_true({read})"),
                ([op], Some((v, _))) if !not => {
                    format!("ps_true(ps_{}({read}, {}))", op.to_ascii_lowercase(), t.expr(&v)?.text)
                }
                ([], Some(_)) => {
                    return Err(PsError::command("Where-Object: -Value needs an operator such as -EQ or -Like", c.pos));
                }
                ([_], None) => return Err(PsError::command("Where-Object: the operator needs a value", c.pos)),
                _ => {
                    return Err(PsError::command(
                        "Where-Object: give one operator (or -Not alone); combine conditions in a script block",
                        c.pos,
                    ));
                }
            };
            Ok(Code::new(format!("{items}.filter(|it| {test})"), Kind::Array))
        }
        "ForEach-Object" => {
            let items = needs_input(u, c, input)?;
            if let Some((e, pos)) = value_of("MemberName") {
                let [name] = property_names(&e, pos)?
                    .try_into()
                    .map_err(|_| PsError::command("ForEach-Object: give one member name", pos))?;
                return Ok(Code::new(format!("ps_expand({items}, {})", rhai_string(&name)), Kind::Array));
            }
            let (e, pos) = value_of("Process")
                .ok_or_else(|| PsError::command("ForEach-Object: give a script block { ... }", c.pos))?;
            let Expr::Block(b) = e else {
                return Err(PsError::command("ForEach-Object: -Process takes a script block { ... }", pos));
            };
            let body = t.item_block(&b, true)?;
            Ok(Code::new(format!("ps_flat({items}.map(|it| {}))", body.text), Kind::Array))
        }
        "Select-Object" => {
            let mut code = needs_input(u, c, input)?;
            for (name, f) in [("Skip", "ps_skip"), ("First", "ps_first"), ("Last", "ps_last")] {
                if let Some((e, _)) = value_of(name) {
                    code = format!("{f}({code}, {})", t.expr(&e)?.text);
                }
            }
            if let Some((e, pos)) = value_of("Property") {
                code = format!("ps_select({code}, {})", select_specs(t, &e, pos)?);
            }
            if let Some((e, pos)) = value_of("ExpandProperty") {
                let [name] = property_names(&e, pos)?
                    .try_into()
                    .map_err(|_| PsError::command("Select-Object: -ExpandProperty takes one property name", pos))?;
                code = format!("ps_expand({code}, {})", rhai_string(&name));
            }
            if switch_on(args, "Unique")? {
                code = format!("ps_unique({code})");
            }
            Ok(Code::new(code, Kind::Array))
        }
        "Sort-Object" => {
            let items = needs_input(u, c, input)?;
            let props = match value_of("Property") {
                Some((e, pos)) => property_names(&e, pos)?,
                None => Vec::new(),
            };
            let mut code = format!("ps_sort({items}, {}, {})", name_list(&props), switch_on(args, "Descending")?);
            if switch_on(args, "Unique")? {
                code = format!("ps_unique({code})");
            }
            Ok(Code::new(code, Kind::Array))
        }
        "Measure-Object" => {
            let items = needs_input(u, c, input)?;
            let prop = match value_of("Property") {
                Some((e, pos)) => {
                    let [name] = property_names(&e, pos)?
                        .try_into()
                        .map_err(|_| PsError::command("Measure-Object: give one property", pos))?;
                    rhai_string(&name)
                }
                None => "()".into(),
            };
            let mut stats = Vec::new();
            for s in ["Sum", "Average", "Maximum", "Minimum"] {
                if switch_on(args, s)? {
                    stats.push(s.to_string());
                }
            }
            Ok(Code::new(format!("ps_measure({items}, {prop}, {})", name_list(&stats)), Kind::Value))
        }
        "Format-Table" | "Format-List" => {
            let items = needs_input(u, c, input)?;
            let props = match value_of("Property") {
                Some((e, pos)) => property_names(&e, pos)?,
                None => Vec::new(),
            };
            let f = if u.name == "Format-Table" { "ps_format_table" } else { "ps_format_list" };
            Ok(Code::new(format!("{f}({items}, {})", name_list(&props)), Kind::Value))
        }
        "ConvertTo-Json" => {
            let input = input.ok_or_else(|| PsError::command("ConvertTo-Json needs pipeline input", c.pos))?;
            let depth = match value_of("Depth") {
                Some((e, _)) => t.expr(&e)?.text,
                None => "2".into(),
            };
            let text = input.text;
            Ok(Code::new(format!("ps_to_json({text}, {depth}, {})", switch_on(args, "Compress")?), Kind::Value))
        }
        "Export-Csv" => {
            let items = needs_input(u, c, input)?;
            let path = super::utility_script::path_value(t, u, c, args, "Path")?;
            super::utility_script::check_encoding(args, u)?;
            let delimiter = match value_of("Delimiter") {
                Some((e, _)) => t.expr(&e)?.text,
                None => "\",\"".into(),
            };
            Ok(Code::new(format!("ps_export_csv({items}, {path}, {delimiter})"), Kind::Value))
        }
        "Write-Output" => match (value_of("InputObject"), input) {
            (Some((e, _)), _) => t.expr(&e),
            (None, Some(i)) => Ok(i),
            (None, None) => Ok(Code::new("()", Kind::Value)),
        },
        "Write-Host" => {
            let text = match (value_of("Object"), input) {
                (Some((e, _)), _) => t.expr(&e)?.text,
                (None, Some(i)) => i.text,
                (None, None) => "\"\"".into(),
            };
            Ok(Code::new(format!("ps_host({text}, {})", !switch_on(args, "NoNewline")?), Kind::Value))
        }
        "Out-Null" => {
            let items = needs_input(u, c, input)?;
            Ok(Code::new(format!("ps_discard({items})"), Kind::Value))
        }
        "Get-Help" => {
            let Some((e, pos)) = value_of("Name") else {
                return Ok(Code::new("help()", Kind::Value));
            };
            let name = match e {
                Expr::Str(s) | Expr::Bare(s) => s,
                _ => return Err(PsError::unsupported("a computed name for Get-Help", pos)),
            };
            let section = if switch_on(args, "Examples")? {
                Some("Examples".to_string())
            } else if let Some((p, ppos)) = value_of("Parameter") {
                match p {
                    Expr::Str(s) | Expr::Bare(s) => Some(format!("Parameter {s}")),
                    _ => return Err(PsError::unsupported("a computed parameter name for Get-Help", ppos)),
                }
            } else {
                None
            };
            Ok(Code::new(
                match section {
                    Some(s) => format!("help({}, {})", rhai_string(&name), rhai_string(&s)),
                    None => format!("help({})", rhai_string(&name)),
                },
                Kind::Value,
            ))
        }
        _ => super::utility_script::translate(t, u, c, args, input),
    }
}
