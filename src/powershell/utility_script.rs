//! The utility cmdlets scripts use around the Cs cmdlets (Get-Date, New-Object, Add-Member,
//! Write-Verbose/Warning/Error, Out-File, Set-/Add-/Get-Content, Import-Csv, ConvertFrom-Json,
//! Test-Path, Get-Member, Group-Object, Out-Host -Paging, Out-String, New-TimeSpan): their
//! translation into the `ps_*` functions of `cmdlets.rs`.

use super::PsError;
use super::ast::{Command, Expr};
use super::translate::{Code, Kind, Translator, rhai_string};
use super::utility::{Args, Utility, get, needs_input, property_names, switch_on};

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_') && c.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub fn translate(
    t: &mut Translator,
    u: &'static Utility,
    c: &Command,
    args: &Args,
    input: Option<Code>,
) -> Result<Code, PsError> {
    let value_of = |name: &str| get(args, name).and_then(|(v, pos)| v.clone().map(|v| (v, pos)));
    let opt = |t: &mut Translator, name: &str| -> Result<String, PsError> {
        match value_of(name) {
            Some((e, _)) => Ok(t.expr(&e)?.text),
            None => Ok("()".into()),
        }
    };
    // The value a cmdlet works on: its -InputObject/-Value, else the pipeline.
    let subject = |t: &mut Translator, name: &str, input: Option<Code>| -> Result<String, PsError> {
        match (value_of(name), input) {
            (Some((e, _)), _) => Ok(t.expr(&e)?.items()),
            (None, Some(i)) => Ok(i.items()),
            (None, None) => Err(PsError::command(format!("{} needs -{name} or pipeline input", u.name), c.pos)),
        }
    };
    let required =
        |name: &str| value_of(name).ok_or_else(|| PsError::command(format!("{}: -{name} is required", u.name), c.pos));
    Ok(match u.name {
        "Get-Date" => {
            let date = opt(t, "Date")?;
            let format = opt(t, "Format")?;
            Code::new(format!("ps_get_date({date}, {format})"), Kind::Value)
        }
        "New-Object" => {
            let (e, pos) = required("TypeName")?;
            let written = match &e {
                Expr::Str(s) | Expr::Bare(s) => s.clone(),
                _ => return Err(PsError::unsupported("a computed type name for New-Object", pos)),
            };
            let ty = super::types::cast_type(&written)
                .ok_or_else(|| PsError::unsupported(format!("the .NET type [{written}]"), pos))?;
            let property = value_of("Property");
            match (ty, property) {
                ("pscustomobject" | "object", None) => Code::new("ps_cast(#{}, \"pscustomobject\")", Kind::Value),
                ("pscustomobject" | "object", Some((p, _))) => {
                    Code::new(format!("ps_cast({}, \"pscustomobject\")", t.expr(&p)?.text), Kind::Value)
                }
                ("hashtable", None) => Code::new("#{}", Kind::Value),
                // One object that is an empty list: the output of New-Object is not enumerated, so
                // `$l = New-Object System.Collections.ArrayList` holds the list, never `$null`.
                ("arraylist" | "array", None) => Code::new("[[]]", Kind::Array),
                _ => return Err(PsError::unsupported(format!("New-Object {written} with these parameters"), pos)),
            }
        }
        "Add-Member" => {
            if let Some((e, pos)) = value_of("MemberType") {
                let kind = match &e {
                    Expr::Str(s) | Expr::Bare(s) => s.to_ascii_lowercase(),
                    _ => return Err(PsError::unsupported("a computed -MemberType", pos)),
                };
                if kind != "noteproperty" {
                    return Err(PsError::unsupported(
                        format!("Add-Member -MemberType {kind} (NoteProperty only)"),
                        pos,
                    ));
                }
            }
            let name = match (value_of("Name"), value_of("NotePropertyName")) {
                (Some((e, _)), _) | (None, Some((e, _))) => t.expr(&e)?.text,
                _ => return Err(PsError::command("Add-Member: -Name is required", c.pos)),
            };
            let value = match (value_of("Value"), value_of("NotePropertyValue")) {
                (Some((e, _)), _) | (None, Some((e, _))) => t.expr(&e)?.text,
                _ => "()".into(),
            };
            let force = switch_on(args, "Force")?;
            let pass = switch_on(args, "PassThru")?;
            let target = match (value_of("InputObject"), input) {
                (Some((e, _)), _) => t.expr(&e)?,
                (None, Some(i)) => i,
                (None, None) => return Err(PsError::command("Add-Member needs -InputObject or pipeline input", c.pos)),
            };
            if is_identifier(&target.text) {
                let v = target.text;
                let tail = if pass { format!(" {v}") } else { String::new() };
                Code::new(format!("{{ {v}.ps_add_member({name}, {value}, {force});{tail} }}"), Kind::Value)
            } else if pass {
                Code::new(format!("ps_with_member({}, {name}, {value}, {force})", target.text), Kind::Value)
            } else {
                return Err(PsError::unsupported(
                    "Add-Member on a value not held in a variable without -PassThru (assign it first)",
                    c.pos,
                ));
            }
        }
        "Write-Verbose" => {
            let m = opt(t, "Message")?;
            Code::new(format!("ps_verbose({m}, {})", switch_on(args, "Verbose")?), Kind::Value)
        }
        "Write-Warning" => Code::new(format!("ps_warning({})", opt(t, "Message")?), Kind::Value),
        "Write-Error" => {
            let m = opt(t, "Message")?;
            let stop = match value_of("ErrorAction") {
                Some((Expr::Str(s) | Expr::Bare(s), _)) => s.eq_ignore_ascii_case("stop"),
                Some((_, pos)) => return Err(PsError::unsupported("a computed -ErrorAction", pos)),
                None => false,
            };
            if stop {
                Code::new(format!("throw ps_str({m})"), Kind::Value)
            } else {
                Code::new(format!("ps_write_error(ps_str({m}))"), Kind::Value)
            }
        }
        "Out-File" => {
            let items = subject(t, "InputObject", input)?;
            let path = path_value(t, u, c, args, "FilePath")?;
            check_encoding(args, u)?;
            Code::new(format!("ps_out_file({items}, {path}, {})", switch_on(args, "Append")?), Kind::Value)
        }
        "Set-Content" | "Add-Content" => {
            let items = subject(t, "Value", input)?;
            let path = path_value(t, u, c, args, "Path")?;
            check_encoding(args, u)?;
            Code::new(format!("ps_set_content({items}, {path}, {})", u.name == "Add-Content"), Kind::Value)
        }
        "Get-Content" => {
            let path = path_value(t, u, c, args, "Path")?;
            let total = opt(t, "TotalCount")?;
            check_encoding(args, u)?;
            let raw = switch_on(args, "Raw")?;
            Code::new(format!("ps_get_content({path}, {raw}, {total})"), if raw { Kind::Value } else { Kind::Array })
        }
        "Import-Csv" => {
            let path = path_value(t, u, c, args, "Path")?;
            let delimiter = match value_of("Delimiter") {
                Some((e, _)) => t.expr(&e)?.text,
                None => "\",\"".into(),
            };
            check_encoding(args, u)?;
            Code::new(format!("ps_import_csv({path}, {delimiter})"), Kind::Array)
        }
        "ConvertFrom-Json" => {
            let text = match (value_of("InputObject"), input) {
                (Some((e, _)), _) => t.expr(&e)?.text,
                (None, Some(i)) => i.text,
                (None, None) => return Err(PsError::command("ConvertFrom-Json needs input", c.pos)),
            };
            Code::new(format!("ps_from_json({text})"), Kind::Value)
        }
        "Test-Path" => {
            let path = path_value(t, u, c, args, "Path")?;
            let kind = opt(t, "PathType")?;
            Code::new(format!("ps_test_path({path}, {kind})"), Kind::Bool)
        }
        "Get-Member" => {
            let items = needs_input(u, c, input)?;
            let name = opt(t, "Name")?;
            Code::new(format!("ps_get_member({items}, {name})"), Kind::Array)
        }
        "Group-Object" => {
            let items = needs_input(u, c, input)?;
            let props = match value_of("Property") {
                Some((e, pos)) => property_names(&e, pos)?,
                None => Vec::new(),
            };
            let list: Vec<String> = props.iter().map(|p| rhai_string(p)).collect();
            Code::new(
                format!("ps_group({items}, [{}], {})", list.join(", "), switch_on(args, "NoElement")?),
                Kind::Array,
            )
        }
        "Out-Host" | "more" => {
            let items = needs_input(u, c, input)?;
            let paging = u.name == "more" || switch_on(args, "Paging")?;
            Code::new(format!("ps_out_host({items}, {paging})"), Kind::Value)
        }
        "Out-String" => {
            let items = needs_input(u, c, input)?;
            Code::new(format!("ps_out_string({items}, {})", switch_on(args, "Stream")?), Kind::Value)
        }
        // The Cs cmdlets are always loaded in pchat; other modules do not exist here.
        "Import-Module" => {
            let (e, pos) = required("Name")?;
            let names: Vec<String> = match &e {
                Expr::Str(s) | Expr::Bare(s) => vec![s.clone()],
                Expr::Array(items) => items
                    .iter()
                    .map(|i| match i {
                        Expr::Str(s) | Expr::Bare(s) => Ok(s.clone()),
                        _ => Err(PsError::unsupported("a computed module name", pos)),
                    })
                    .collect::<Result<_, _>>()?,
                _ => return Err(PsError::unsupported("a computed module name", pos)),
            };
            for n in &names {
                let base = n.rsplit(['\\', '/']).next().unwrap_or(n).trim_end_matches(".psd1").to_ascii_lowercase();
                if !matches!(base.as_str(), "lync" | "skypeforbusiness") {
                    return Err(PsError::unsupported(
                        format!("the module '{n}' (pchat has the Lync/SkypeForBusiness cmdlets)"),
                        pos,
                    ));
                }
            }
            Code::new("()", Kind::Value)
        }
        "Join-Path" => {
            let (p, _) = required("Path")?;
            let (c2, _) = required("ChildPath")?;
            let (p, c2) = (t.expr(&p)?.text, t.expr(&c2)?.text);
            Code::new(format!("ps_join_path({p}, {c2})"), Kind::Value)
        }
        "New-TimeSpan" => {
            let mut parts = Vec::new();
            for p in ["Start", "End", "Days", "Hours", "Minutes", "Seconds"] {
                parts.push(opt(t, p)?);
            }
            Code::new(format!("ps_timespan({})", parts.join(", ")), Kind::Value)
        }
        other => return Err(PsError::unsupported(format!("the command '{other}'"), c.pos)),
    })
}

/// The file a file cmdlet names, by `-Path` (`-FilePath` for Out-File, also by position) or
/// `-LiteralPath` (the same here: pchat's paths have no wildcards), as a path on this machine.
pub(super) fn path_value(
    t: &mut Translator,
    u: &Utility,
    c: &Command,
    args: &Args,
    name: &str,
) -> Result<String, PsError> {
    let given = |n: &str| get(args, n).and_then(|(v, pos)| v.clone().map(|v| (v, pos)));
    match (given(name), given("LiteralPath")) {
        (Some((e, pos)), None) => t.path_arg(&e, u.name, name, pos),
        (None, Some((e, pos))) => t.path_arg(&e, u.name, "LiteralPath", pos),
        (Some(_), Some((_, pos))) => {
            Err(PsError::command(format!("{}: give -{name} or -LiteralPath, not both", u.name), pos))
        }
        (None, None) => Err(PsError::command(format!("{}: -{name} is required", u.name), c.pos)),
    }
}

/// The `-Encoding` pchat honours. It writes UTF-8 without a byte-order mark, what pwsh writes for
/// `UTF8`, `utf8NoBOM` and `Default`: a writer accepts exactly those. A reader recognises a
/// byte-order mark (UTF-8 or UTF-16) and otherwise reads UTF-8, of which ASCII is a part, so it
/// also accepts `utf8BOM` and `ASCII`. Any other is refused rather than silently read or written
/// as UTF-8.
pub(super) fn check_encoding(args: &Args, u: &Utility) -> Result<(), PsError> {
    const WRITTEN: &[&str] = &["utf8", "utf8nobom", "default"];
    const READ: &[&str] = &["utf8", "utf8nobom", "default", "utf8bom", "ascii"];
    let writes = matches!(u.name, "Out-File" | "Set-Content" | "Add-Content" | "Export-Csv");
    match get(args, "Encoding") {
        Some((Some(Expr::Str(s) | Expr::Bare(s)), pos)) => {
            let accepted = if writes { WRITTEN } else { READ };
            if accepted.contains(&s.to_ascii_lowercase().as_str()) {
                Ok(())
            } else if writes {
                Err(PsError::command(
                    format!(
                        "{}: -Encoding {s} is not what pchat writes (UTF-8 without a byte-order mark); use -Encoding UTF8, utf8NoBOM or Default, or leave it out",
                        u.name
                    ),
                    pos,
                ))
            } else {
                Err(PsError::command(
                    format!(
                        "{}: -Encoding {s} is not read by pchat (UTF-8, with or without a byte-order mark, and UTF-16 with its mark are recognised); use -Encoding UTF8, utf8NoBOM, utf8BOM, ASCII or Default, or leave it out",
                        u.name
                    ),
                    pos,
                ))
            }
        }
        Some((_, pos)) => Err(PsError::unsupported(format!("a computed -Encoding for {}", u.name), pos)),
        None => Ok(()),
    }
}
