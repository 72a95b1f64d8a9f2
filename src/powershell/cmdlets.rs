//! What the utility cmdlets of `utility_script.rs` do at run time: dates, custom objects,
//! the Verbose/Warning/Error streams, file contents (the engine reads and writes them through the file rules), CSV and JSON input,
//! Get-Member, Group-Object, Select-Object's calculated properties and the pager.

use std::cell::Cell;
use std::io::{BufRead, IsTerminal, Write};

use rhai::{Array, Dynamic, Engine, EvalAltResult, FnPtr, Map, NativeCallContext, Position};

use super::runtime::{prop, text};
use super::text::{as_date, date_value, format_date};
use crate::filters::expr;
use crate::output;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

fn fail<T>(message: impl Into<String>) -> RhaiResult<T> {
    Err(EvalAltResult::ErrorRuntime(Dynamic::from(message.into()), Position::NONE).into())
}

thread_local! {
    /// `$VerbosePreference = 'Continue'` (or a script run with -Verbose) shows Write-Verbose.
    static VERBOSE: Cell<bool> = const { Cell::new(false) };
}

pub fn set_verbose(on: bool) {
    VERBOSE.with(|v| v.set(on));
}

fn now() -> chrono::NaiveDateTime {
    use chrono::Timelike;
    let t = chrono::Utc::now().naive_utc();
    t.with_nanosecond(0).unwrap_or(t)
}

/// A map whose properties display in `keys` order.
pub fn ordered(map: Map, keys: Vec<String>) -> Dynamic {
    let mut d = Dynamic::from_map(map);
    d.set_tag(output::order_tag(keys));
    d
}

fn keys_in_order(v: &Dynamic, map: &Map) -> Vec<String> {
    output::ordered_keys(map, v.tag())
}

fn get_date(date: Dynamic, format: Dynamic) -> RhaiResult<Dynamic> {
    let d = if date.is_unit() {
        now()
    } else {
        match as_date(&date)
            .or_else(|| crate::values::time::parse_datetime(&text(date.clone())).ok().map(|d| d.as_start()))
        {
            Some(d) => d,
            None => return fail(format!("Get-Date: '{}' is not a date", text(date))),
        }
    };
    Ok(if format.is_unit() { date_value(d) } else { Dynamic::from(format_date(d, &text(format))) })
}

fn add_member(target: &mut Dynamic, name: Dynamic, value: Dynamic, force: bool) -> RhaiResult<()> {
    if !target.is_map() {
        return fail(format!("Add-Member: cannot add a property to {}", text(target.clone())));
    }
    let name = text(name);
    let tag = target.tag();
    let mut map = std::mem::take(target).cast::<Map>();
    let existing = map.keys().find(|k| k.eq_ignore_ascii_case(&name)).cloned();
    if existing.is_some() && !force {
        let mut d = Dynamic::from_map(map);
        d.set_tag(tag);
        *target = d;
        return fail(format!("Add-Member: the object already has a property '{name}' (add -Force to replace it)"));
    }
    let probe = {
        let mut d = Dynamic::from_map(map.clone());
        d.set_tag(tag);
        d
    };
    let mut keys = keys_in_order(&probe, &map);
    let key = existing.unwrap_or_else(|| name.clone().into());
    if !keys.iter().any(|k| k == key.as_str()) {
        keys.push(key.to_string());
    }
    map.insert(key, value);
    *target = if crate::catalog::ObjType::from_tag(tag).is_some() {
        let mut d = Dynamic::from_map(map);
        d.set_tag(tag);
        d
    } else {
        ordered(map, keys)
    };
    Ok(())
}

/// What Out-File writes: the objects as the console shows them.
pub fn out_file_body(items: Array) -> String {
    let rendered = output::render(&Dynamic::from_array(items), false);
    let mut body = rendered.trim_end_matches('\n').to_string();
    body.push('\n');
    body
}

/// What Set-Content and Add-Content write: one line per value.
pub fn content_body(items: Array) -> String {
    let mut body = String::new();
    for v in items {
        body.push_str(&text(v));
        body.push('\n');
    }
    body
}

/// Get-Content's answer from a file's text: its lines (the first `total`), or the whole text.
pub fn content_lines(content: String, raw: bool, total: Dynamic) -> RhaiResult<Dynamic> {
    if raw {
        return Ok(Dynamic::from(content));
    }
    let limit = match total.as_int() {
        Ok(n) if n >= 0 => n as usize,
        Ok(n) => return fail(format!("Get-Content: -TotalCount must be 0 or more, not {n}")),
        Err(_) if total.is_unit() => usize::MAX,
        Err(_) => return fail("Get-Content: -TotalCount takes a number"),
    };
    Ok(Dynamic::from_array(content.lines().take(limit).map(|l| Dynamic::from(l.to_string())).collect()))
}

/// Import-Csv's rows from a file's text, keeping the header's column order.
pub fn csv_rows(path: &str, content: &str, delimiter: &str) -> RhaiResult<Array> {
    let [d] = delimiter.as_bytes() else {
        return fail(format!("Import-Csv: -Delimiter must be one character, not '{delimiter}'"));
    };
    // Windows PowerShell's Export-Csv writes a `#TYPE ...` line first.
    let body = match content.strip_prefix("#TYPE") {
        Some(rest) => rest.split_once('\n').map_or("", |(_, b)| b),
        None => content,
    };
    let mut reader = csv::ReaderBuilder::new().delimiter(*d).flexible(true).from_reader(body.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|h| h.trim().to_string()).collect(),
        Err(e) => return fail(format!("Import-Csv: '{path}': {e}")),
    };
    if let Some(dup) = headers.iter().enumerate().find(|(i, h)| headers[..*i].iter().any(|o| o.eq_ignore_ascii_case(h)))
    {
        return fail(format!("Import-Csv: '{path}' names the column '{}' twice", dup.1));
    }
    let tag = output::order_tag(headers.clone());
    let mut rows = Array::new();
    for (n, record) in reader.records().enumerate() {
        let record = record.or_else(|e| fail(format!("Import-Csv: '{path}' row {}: {e}", n + 2)))?;
        let row: Map = headers
            .iter()
            .enumerate()
            .map(|(i, h)| (h.as_str().into(), record.get(i).map_or(Dynamic::UNIT, |v| Dynamic::from(v.to_string()))))
            .collect();
        let mut d = Dynamic::from_map(row);
        d.set_tag(tag);
        rows.push(d);
    }
    Ok(rows)
}

fn from_json(input: Dynamic) -> RhaiResult<Dynamic> {
    let textual = match input.read_lock::<Array>() {
        Some(lines) => lines.iter().map(|l| text(l.clone())).collect::<Vec<_>>().join("\n"),
        None => text(input.clone()),
    };
    let value: serde_json::Value =
        serde_json::from_str(&textual).or_else(|e| fail(format!("ConvertFrom-Json: not valid JSON: {e}")))?;
    Ok(json_value(value))
}

/// JSON objects keep their property order, as PowerShell's PSCustomObjects do.
fn json_value(v: serde_json::Value) -> Dynamic {
    match v {
        serde_json::Value::Null => Dynamic::UNIT,
        serde_json::Value::Bool(b) => Dynamic::from_bool(b),
        serde_json::Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(0.0)),
        },
        serde_json::Value::String(s) => Dynamic::from(s),
        serde_json::Value::Array(items) => Dynamic::from_array(items.into_iter().map(json_value).collect()),
        serde_json::Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            let map: Map = o.into_iter().map(|(k, v)| (k.into(), json_value(v))).collect();
            ordered(map, keys)
        }
    }
}

fn get_member(items: Array, name: Dynamic) -> Array {
    let mut seen: Vec<(String, String)> = Vec::new();
    let mut out = Array::new();
    let filter = (!name.is_unit()).then(|| text(name));
    let pattern = filter.as_deref().and_then(|f| crate::values::wildcard::Wildcard::new(f).ok());
    for item in items {
        let type_name = match crate::catalog::ObjType::from_tag(item.tag()) {
            Some(k) => format!("{k:?}"),
            None => super::methods::type_name(&item).to_string(),
        };
        let members: Vec<(String, String)> = match item.read_lock::<Map>() {
            Some(m) => keys_in_order(&item, &m)
                .into_iter()
                .map(|k| {
                    let v = m.get(k.as_str()).cloned().unwrap_or(Dynamic::UNIT);
                    let def = format!("{} {k}", super::methods::type_name(&v));
                    (k, def)
                })
                .collect(),
            None if item.is_string() => vec![("Length".into(), "int Length".into())],
            None => Vec::new(),
        };
        for (k, def) in members {
            if pattern.as_ref().is_some_and(|p| !p.is_match(&k)) {
                continue;
            }
            if seen.iter().any(|(t, n)| *t == type_name && *n == k) {
                continue;
            }
            seen.push((type_name.clone(), k.clone()));
            let mut m = Map::new();
            m.insert("TypeName".into(), Dynamic::from(type_name.clone()));
            m.insert("Name".into(), Dynamic::from(k));
            m.insert("MemberType".into(), Dynamic::from("Property".to_string()));
            m.insert("Definition".into(), Dynamic::from(def));
            out.push(ordered(m, vec!["TypeName".into(), "Name".into(), "MemberType".into(), "Definition".into()]));
        }
    }
    out
}

fn group(items: Array, props: Array, no_element: bool) -> RhaiResult<Array> {
    let props: Vec<String> = props.into_iter().map(text).collect();
    let mut groups: Vec<(String, Array, Array)> = Vec::new();
    for item in items {
        let values: Array = if props.is_empty() {
            vec![item.clone()]
        } else {
            let mut vs = Array::new();
            for p in &props {
                vs.push(prop(item.clone(), p)?);
            }
            vs
        };
        let name = values.iter().map(|v| text(v.clone())).collect::<Vec<_>>().join(", ");
        match groups.iter_mut().find(|(n, _, _)| expr::eq_ci(n, &name)) {
            Some((_, _, members)) => members.push(item),
            None => groups.push((name, values, vec![item])),
        }
    }
    let keys: Vec<String> = if no_element {
        vec!["Count".into(), "Name".into()]
    } else {
        vec!["Count".into(), "Name".into(), "Group".into()]
    };
    Ok(groups
        .into_iter()
        .map(|(name, values, members)| {
            let mut m = Map::new();
            m.insert("Count".into(), Dynamic::from_int(members.len() as i64));
            m.insert("Name".into(), Dynamic::from(name));
            m.insert("Values".into(), Dynamic::from_array(values));
            if !no_element {
                m.insert("Group".into(), Dynamic::from_array(members));
            }
            ordered(m, keys.clone())
        })
        .collect())
}

/// Select-Object -Property: names (wildcards allowed) and calculated properties
/// (`#{name: "X", expr: |it| ...}` or `#{name: "X", expr: "Prop"}`), in the order given.
fn select(ctx: NativeCallContext, a: Array, specs: Array) -> RhaiResult<Array> {
    let mut out = Array::with_capacity(a.len());
    for item in a {
        let Some(map) = item.read_lock::<Map>().map(|m| m.clone()) else {
            out.push(item);
            continue;
        };
        let mut selected = Map::new();
        let mut keys: Vec<String> = Vec::new();
        for spec in &specs {
            if let Some(calc) = spec.read_lock::<Map>() {
                let name = calc.get("name").map(|n| text(n.clone())).unwrap_or_default();
                let value = match calc.get("expr") {
                    Some(f) if f.is_fnptr() => {
                        let f = f.clone().cast::<FnPtr>();
                        f.call_within_context::<Dynamic>(&ctx, (item.clone(),))?
                    }
                    Some(p) => prop(item.clone(), &text(p.clone()))?,
                    None => Dynamic::UNIT,
                };
                keys.retain(|k| !k.eq_ignore_ascii_case(&name));
                keys.push(name.clone());
                selected.insert(name.into(), value);
                continue;
            }
            let w = text(spec.clone());
            if w.contains(['*', '?']) {
                let p = crate::values::wildcard::Wildcard::new(&w).or_else(|e| fail(format!("Select-Object: {e}")))?;
                for k in keys_in_order(&item, &map) {
                    if p.is_match(&k) && !keys.contains(&k) {
                        selected.insert(k.as_str().into(), map.get(k.as_str()).cloned().unwrap_or(Dynamic::UNIT));
                        keys.push(k);
                    }
                }
                continue;
            }
            // Reading through prop() makes a typo on a pchat object an error, not an empty column.
            let value = prop(item.clone(), &w)?;
            let key = map.keys().find(|k| k.eq_ignore_ascii_case(&w)).map_or(w.clone(), |k| k.to_string());
            if !keys.contains(&key) {
                keys.push(key.clone());
            }
            selected.insert(key.into(), value);
        }
        out.push(ordered(selected, keys));
    }
    Ok(out)
}

/// Select-Object for Rhai scripts: as [`select`], but a plain property name that an object built by
/// a script does not have is an error with a suggestion (a Rhai map literal has no fixed type
/// that would catch a typo, and a silent empty column would pass for data).
fn select_object(ctx: NativeCallContext, a: Array, specs: Array) -> RhaiResult<Array> {
    for item in &a {
        let Some(map) = item.read_lock::<Map>() else { continue };
        if crate::catalog::ObjType::from_tag(item.tag()).is_some() {
            continue; // pchat objects check their own properties
        }
        for spec in &specs {
            if spec.is_map() {
                continue;
            }
            let name = text(spec.clone());
            if !name.contains(['*', '?']) && expr::lookup_ci(&map, &name).is_none() {
                let keys: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
                let hint = crate::values::text::did_you_mean(&name, &keys, "properties");
                return fail(format!("select_object: the object has no property '{name}'{hint}"));
            }
        }
    }
    select(ctx, a, specs)
}

/// Out-Host -Paging and `| more`: a screenful at a time when a person is at the terminal.
fn out_host(items: Array, paging: bool, json: bool) {
    let rendered = output::render(&Dynamic::from_array(items), json);
    let text = rendered.trim_end_matches('\n');
    if text.is_empty() {
        return;
    }
    let interactive = paging
        && std::io::stdout().is_terminal()
        && std::io::stdin().is_terminal()
        && !crate::streams::stdout_reserved();
    if !interactive {
        crate::streams::result(text);
        return;
    }
    let height = std::env::var("LINES").ok().and_then(|l| l.parse::<usize>().ok()).unwrap_or(24).max(3) - 1;
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for (i, line) in text.lines().enumerate() {
        if i > 0 && i % height == 0 {
            let _ = write!(out, "-- More -- (Enter: next page, q: quit) ");
            let _ = out.flush();
            let mut answer = String::new();
            if stdin.lock().read_line(&mut answer).is_err() || answer.trim().eq_ignore_ascii_case("q") {
                return;
            }
        }
        let _ = writeln!(out, "{line}");
    }
}

fn timespan(start: Dynamic, end: Dynamic, parts: [Dynamic; 4]) -> RhaiResult<String> {
    use chrono::TimeDelta;
    if !start.is_unit() || !end.is_unit() {
        let date = |v: &Dynamic, name: &str| -> RhaiResult<chrono::NaiveDateTime> {
            if v.is_unit() {
                return Ok(now());
            }
            as_date(v).map_or_else(|| fail(format!("New-TimeSpan: -{name} '{}' is not a date", text(v.clone()))), Ok)
        };
        let (s, e) = (date(&start, "Start")?, date(&end, "End")?);
        return Ok(crate::values::time::format_timespan(e - s));
    }
    let mut total = TimeDelta::zero();
    for (v, unit, name) in
        [(&parts[0], 86_400, "Days"), (&parts[1], 3600, "Hours"), (&parts[2], 60, "Minutes"), (&parts[3], 1, "Seconds")]
    {
        if v.is_unit() {
            continue;
        }
        let Ok(n) = super::methods::cast(v.clone(), "int").map(|n| n.as_int().unwrap_or(0)) else {
            return fail(format!("New-TimeSpan: -{name} takes a whole number"));
        };
        let Some(d) = n.checked_mul(unit).and_then(TimeDelta::try_seconds) else {
            return fail(format!("New-TimeSpan: -{name} {n} is out of range"));
        };
        total += d;
    }
    Ok(crate::values::time::format_timespan(total))
}

pub fn register(engine: &mut Engine, json: bool) {
    use crate::values::text::escape_block;
    engine.register_fn("ps_get_date", get_date);
    engine.register_fn("ps_add_member", add_member);
    engine.register_fn("ps_with_member", |v: Dynamic, name: Dynamic, value: Dynamic, force: bool| {
        let mut v = v;
        add_member(&mut v, name, value, force).map(|_| v)
    });
    engine.register_fn("ps_ordered", |m: Map, keys: Array| ordered(m, keys.into_iter().map(text).collect()));
    engine.register_fn("ps_set_verbose", |v: Dynamic| set_verbose(text(v).eq_ignore_ascii_case("continue")));
    engine.register_fn("ps_verbose", |m: Dynamic, forced: bool| {
        if forced || VERBOSE.with(Cell::get) {
            eprintln!("VERBOSE: {}", escape_block(&text(m)));
        }
    });
    engine.register_fn("ps_warning", |m: Dynamic| eprintln!("WARNING: {}", escape_block(&text(m))));
    // Like print(): control characters are written out, so a script echoing a file's line or a
    // CSV cell cannot drive the terminal (see docs/limits.md).
    engine.register_fn("ps_host", move |m: Dynamic, newline: bool| {
        let t = text(m);
        let t = escape_block(&t);
        // With --json (or under --plan), stdout carries only the JSON document (the plan).
        match (json || crate::streams::stdout_reserved(), newline) {
            (true, true) => eprintln!("{t}"),
            (true, false) => eprint!("{t}"),
            (false, true) => println!("{t}"),
            (false, false) => {
                print!("{t}");
                let _ = std::io::stdout().flush();
            }
        }
    });
    engine.register_fn("ps_from_json", from_json);
    engine.register_fn("ps_get_member", get_member);
    engine.register_fn("ps_join_path", |a: Dynamic, b: Dynamic| {
        let (a, b) = (text(a), text(b));
        let b = b.trim_start_matches(['\\', '/']);
        if a.is_empty() {
            b.to_string()
        } else if a.ends_with(['\\', '/']) {
            format!("{a}{b}")
        } else {
            format!("{a}/{b}")
        }
    });
    engine.register_fn("ps_group", group);
    engine.register_fn("ps_select", select);
    // The Rhai form of Select-Object: `rooms.select_object(["Privacy", "Name"])`.
    engine.register_fn("select_object", select_object);
    engine.register_fn("select_object", |ctx: NativeCallContext, a: Array, name: &str| {
        select_object(ctx, a, vec![Dynamic::from(name.to_string())])
    });
    engine.register_fn("select_object", |ctx: NativeCallContext, m: Map, specs: Array| -> RhaiResult<Dynamic> {
        let mut out = select_object(ctx, vec![Dynamic::from_map(m)], specs)?;
        Ok(out.pop().unwrap_or(Dynamic::UNIT))
    });
    engine.register_fn("ps_out_host", move |items: Array, paging: bool| out_host(items, paging, json));
    engine.register_fn("ps_out_string", |items: Array, stream: bool| {
        let rendered = output::render(&Dynamic::from_array(items), false);
        if stream {
            Dynamic::from_array(rendered.lines().map(|l| Dynamic::from(l.to_string())).collect())
        } else {
            Dynamic::from(format!("{}\n", rendered.trim_end_matches('\n')))
        }
    });
    engine.register_fn("ps_timespan", |s: Dynamic, e: Dynamic, d: Dynamic, h: Dynamic, m: Dynamic, sec: Dynamic| {
        timespan(s, e, [d, h, m, sec])
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Dynamic {
        Dynamic::from(x.to_string())
    }

    #[test]
    fn groups_keep_first_appearance_order() {
        let items: Array = ["b", "a", "B"].iter().map(|x| s(x)).collect();
        let g = group(items, Array::new(), false).unwrap();
        assert_eq!(g.len(), 2);
        let first = g[0].read_lock::<Map>().unwrap().clone();
        assert_eq!(first["Count"].as_int().unwrap(), 2);
        assert_eq!(output::ordered_keys(&first, g[0].tag()), ["Count", "Name", "Group", "Values"]);
    }

    #[test]
    fn csv_rows_keep_their_column_order() {
        let content =
            super::super::fileio::decode(b"\xEF\xBB\xBFZeta,Alpha\nz1,a1\nz2\n".to_vec(), "u.csv", "Import-Csv");
        let rows = csv_rows("u.csv", &content.unwrap(), ",").unwrap();
        assert_eq!(rows.len(), 2);
        let m = rows[0].read_lock::<Map>().unwrap().clone();
        assert_eq!(output::ordered_keys(&m, rows[0].tag()), ["Zeta", "Alpha"]);
        assert!(rows[1].read_lock::<Map>().unwrap()["Alpha"].is_unit(), "a short row reads as $null");
    }

    #[test]
    fn timespans() {
        let none = || Dynamic::UNIT;
        assert_eq!(
            timespan(none(), none(), [Dynamic::from_int(2), Dynamic::from_int(3), none(), none()]).unwrap(),
            "2.03:00:00"
        );
        assert_eq!(
            timespan(s("2020-01-01"), s("2020-01-31"), [none(), none(), none(), none()]).unwrap(),
            "30.00:00:00"
        );
    }
}
