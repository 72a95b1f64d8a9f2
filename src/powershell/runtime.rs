//! Rhai functions that translated PowerShell calls (`ps_*`), so the translated code stays short
//! and keeps PowerShell's semantics where Rhai's differ: case-insensitive comparisons, wildcards
//! and regexes, a missing property reading as `$Null`, truthiness, arithmetic, and the pipeline
//! commands (Select-, Sort-, Measure-Object, Format-*, ConvertTo-Json, Export-Csv). Only
//! translated code calls them; Rhai users keep Rhai's strict rules.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Position};

use crate::filters::expr::{self, Comparison, Literal, Op};
use crate::output;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

fn fail<T>(message: impl Into<String>) -> RhaiResult<T> {
    Err(EvalAltResult::ErrorRuntime(Dynamic::from(message.into()), Position::NONE).into())
}

/// Register the helpers, `translate("...")` and `help(name, section)`. `json`: how `ps_out`
/// prints intermediate statement results (as the final result is printed).
pub fn register(engine: &mut Engine, json: bool) {
    engine.register_fn("ps_prop", checked_prop);
    engine.register_fn("ps_set", set);
    engine.register_fn("ps_index", index);
    engine.register_fn("ps_pipe", pipe);
    engine.register_fn("ps_true", truth);
    engine.register_fn("ps_str", text);
    engine.register_fn("ps_flat", flat);
    engine.register_fn("ps_discard", |_: Dynamic| ());
    for (name, op) in [
        ("ps_eq", Op::Eq),
        ("ps_ne", Op::Ne),
        ("ps_gt", Op::Gt),
        ("ps_ge", Op::Ge),
        ("ps_lt", Op::Lt),
        ("ps_le", Op::Le),
        ("ps_like", Op::Like),
        ("ps_notlike", Op::NotLike),
        ("ps_match", Op::Match),
        ("ps_notmatch", Op::NotMatch),
    ] {
        engine.register_fn(name, move |l: Dynamic, r: Dynamic| compare(&l, op, &r));
    }
    engine.register_fn("ps_contains", |l: Dynamic, r: Dynamic| contains(&l, &r));
    engine.register_fn("ps_notcontains", |l: Dynamic, r: Dynamic| contains(&l, &r).map(|b| !b));
    engine.register_fn("ps_in", |l: Dynamic, r: Dynamic| contains(&r, &l));
    engine.register_fn("ps_notin", |l: Dynamic, r: Dynamic| contains(&r, &l).map(|b| !b));
    engine.register_fn("ps_add", |l: Dynamic, r: Dynamic| arithmetic('+', l, r));
    engine.register_fn("ps_sub", |l: Dynamic, r: Dynamic| arithmetic('-', l, r));
    engine.register_fn("ps_mul", |l: Dynamic, r: Dynamic| arithmetic('*', l, r));
    engine.register_fn("ps_div", |l: Dynamic, r: Dynamic| arithmetic('/', l, r));
    engine.register_fn("ps_rem", |l: Dynamic, r: Dynamic| arithmetic('%', l, r));
    engine.register_fn("ps_select", select);
    engine.register_fn("ps_expand", expand);
    engine.register_fn("ps_first", |a: Array, n: Dynamic| -> RhaiResult<Array> {
        let n = count(&n, "First")?;
        Ok(a.into_iter().take(n).collect())
    });
    engine.register_fn("ps_last", |a: Array, n: Dynamic| -> RhaiResult<Array> {
        let n = count(&n, "Last")?;
        let skip = a.len().saturating_sub(n);
        Ok(a.into_iter().skip(skip).collect())
    });
    engine.register_fn("ps_skip", |a: Array, n: Dynamic| -> RhaiResult<Array> {
        let n = count(&n, "Skip")?;
        Ok(a.into_iter().skip(n).collect())
    });
    engine.register_fn("ps_unique", unique);
    engine.register_fn("ps_sort", sort);
    engine.register_fn("ps_measure", measure);
    engine.register_fn("ps_format_table", |a: Array, props: Array| output::format_table(&a, &strings(&props)));
    engine.register_fn("ps_format_list", |a: Array, props: Array| output::format_list(&a, &strings(&props)));
    engine.register_fn("ps_to_json", to_json);
    engine.register_fn("ps_out", move |v: Dynamic| {
        let text = output::render(&v, json);
        if !text.is_empty() {
            println!("{}", text.trim_end_matches('\n'));
        }
    });
    engine.register_fn("translate", |code: &str| -> RhaiResult<String> {
        match super::translate(code) {
            Ok(t) => Ok(t.rhai),
            Err(e) => fail(format!("translate: {e}")),
        }
    });
}

/// `$x.Name`: case-insensitive; a missing property is `$Null`; on a list, `Count`/`Length` is its
/// size and any other name reads that property of every element (member enumeration).
pub fn prop(v: Dynamic, name: &str) -> Dynamic {
    if let Some(map) = v.read_lock::<Map>() {
        return expr::lookup_ci(&map, name).cloned().unwrap_or(Dynamic::UNIT);
    }
    if let Some(items) = v.read_lock::<Array>() {
        if name.eq_ignore_ascii_case("Count") || name.eq_ignore_ascii_case("Length") {
            return Dynamic::from_int(items.len() as i64);
        }
        let mut out = Array::new();
        for item in items.iter() {
            out.extend(pipe(prop(item.clone(), name)));
        }
        return Dynamic::from_array(out);
    }
    if let Some(s) = v.read_lock::<rhai::ImmutableString>()
        && name.eq_ignore_ascii_case("Length")
    {
        return Dynamic::from_int(s.chars().count() as i64);
    }
    if v.is_unit() && name.eq_ignore_ascii_case("Count") {
        return Dynamic::from_int(0);
    }
    if !v.is_unit() && name.eq_ignore_ascii_case("Count") {
        return Dynamic::from_int(1);
    }
    Dynamic::UNIT
}

/// `$x.Name` in a script: as [`prop`], but a property that an object of a catalog type does not
/// have is an error naming it (with a suggestion), not `$Null`: `Where-Object {$_.Disabld}` must
/// not quietly select nothing, or everything. PowerShell's own hashtables and objects (Import-Csv
/// rows, Select-Object results) keep PowerShell's rule.
fn checked_prop(v: Dynamic, name: &str) -> RhaiResult<Dynamic> {
    check_typed(&v, name).or_else(fail)?;
    Ok(prop(v, name))
}

fn check_typed(v: &Dynamic, name: &str) -> Result<(), String> {
    // PowerShell's intrinsic members exist on every object.
    if name.eq_ignore_ascii_case("Count") || name.eq_ignore_ascii_case("Length") {
        return Ok(());
    }
    if let Some(map) = v.read_lock::<Map>() {
        return match crate::catalog::ObjType::from_tag(v.tag()) {
            Some(t) if expr::lookup_ci(&map, name).is_none() => {
                let present: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
                t.check_property(name, &present)
            }
            _ => Ok(()),
        };
    }
    if let Some(items) = v.read_lock::<Array>() {
        return items.iter().try_for_each(|item| check_typed(item, name));
    }
    Ok(())
}

/// `$x.Name = value`: sets the property with the object's own spelling when it exists.
fn set(map: &mut Map, name: &str, value: Dynamic) {
    let key = map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| name.into());
    map.insert(key, value);
}

/// `$x[i]`: negative indexes count from the end; out of range is `$Null`.
fn index(v: Dynamic, i: Dynamic) -> RhaiResult<Dynamic> {
    if let Some(items) = v.read_lock::<Array>() {
        let Ok(i) = i.as_int() else {
            return fail(format!("an array index must be a number, not {}", text(i)));
        };
        let len = items.len() as i64;
        let at = if i < 0 { len + i } else { i };
        return Ok(if (0..len).contains(&at) { items[at as usize].clone() } else { Dynamic::UNIT });
    }
    if let Some(map) = v.read_lock::<Map>() {
        return Ok(expr::lookup_ci(&map, &text(i)).cloned().unwrap_or(Dynamic::UNIT));
    }
    if v.is_unit() {
        return fail("cannot index into a null value");
    }
    // A single value is a one-element collection in PowerShell.
    Ok(match i.as_int() {
        Ok(0 | -1) => v,
        _ => Dynamic::UNIT,
    })
}

/// Pipeline input as PowerShell enumerates it: `$Null` is nothing, a list is its elements, any
/// other value is one item.
pub fn pipe(v: Dynamic) -> Array {
    if v.is_unit() {
        Array::new()
    } else if v.is_array() {
        v.cast::<Array>()
    } else {
        vec![v]
    }
}

/// PowerShell's truthiness.
pub fn truth(v: Dynamic) -> bool {
    if v.is_unit() {
        return false;
    }
    if let Ok(b) = v.as_bool() {
        return b;
    }
    if let Ok(i) = v.as_int() {
        return i != 0;
    }
    if let Ok(f) = v.as_float() {
        return f != 0.0;
    }
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        return !s.is_empty();
    }
    if let Some(items) = v.read_lock::<Array>() {
        return match items.len() {
            0 => false,
            1 => truth(items[0].clone()),
            _ => true,
        };
    }
    true
}

/// A value as PowerShell puts it in a string: lists space-separated, `$True` as `True`.
pub fn text(v: Dynamic) -> String {
    if let Some(items) = v.read_lock::<Array>() {
        return items.iter().map(|i| text(i.clone())).collect::<Vec<_>>().join(" ");
    }
    output::render_value_inline(&v)
}

/// ForEach-Object's output: the outputs of every item, flattened one level, `$Null`s dropped.
fn flat(a: Array) -> Array {
    let mut out = Array::with_capacity(a.len());
    for v in a {
        out.extend(pipe(v));
    }
    out
}

thread_local! {
    /// Compiled comparisons by operator and operand: a Where-Object runs the same one per item.
    static COMPILED: RefCell<HashMap<(u8, String), Comparison>> = RefCell::new(HashMap::new());
}

fn compiled(op: Op, operand: &Dynamic) -> RhaiResult<Comparison> {
    let literal = Literal::from_dynamic(operand);
    let key = (op as u8, format!("{literal:?}"));
    if let Some(c) = COMPILED.with(|m| m.borrow().get(&key).cloned()) {
        return Ok(c);
    }
    let c = Comparison::with_value(op, literal).or_else(fail)?;
    COMPILED.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() > 256 {
            m.clear();
        }
        m.insert(key, c.clone());
    });
    Ok(c)
}

fn compare(l: &Dynamic, op: Op, r: &Dynamic) -> RhaiResult<bool> {
    Ok(compiled(op, r)?.test_value(l))
}

fn contains(list: &Dynamic, item: &Dynamic) -> RhaiResult<bool> {
    Ok(compiled(Op::Eq, item)?.contains(list))
}

fn number(v: &Dynamic) -> Option<f64> {
    v.as_int()
        .map(|i| i as f64)
        .ok()
        .or_else(|| v.as_float().ok())
        .or_else(|| v.read_lock::<rhai::ImmutableString>().and_then(|s| s.trim().parse::<f64>().ok()))
}

/// PowerShell arithmetic: the left operand's type decides (`"a" + 1` is `"a1"`, `@(1) + 2` is
/// `@(1, 2)`, `$Null + 1` is 1); `/` is true division.
fn arithmetic(op: char, l: Dynamic, r: Dynamic) -> RhaiResult<Dynamic> {
    if op == '+' {
        if l.is_unit() {
            return Ok(r);
        }
        if l.is_array() {
            let mut a = pipe(l);
            a.extend(pipe(r));
            return Ok(Dynamic::from_array(a));
        }
        if l.is_string() {
            return Ok(Dynamic::from(format!("{}{}", text(l), text(r))));
        }
    }
    let (Some(a), Some(b)) = (number(&l).or(l.is_unit().then_some(0.0)), number(&r).or(r.is_unit().then_some(0.0)))
    else {
        return fail(format!("cannot apply '{op}' to {} and {}", describe(&l), describe(&r)));
    };
    if let (Ok(x), Ok(y)) = (l.as_int().or(if l.is_unit() { Ok(0) } else { Err("") }), r.as_int()) {
        let exact = match op {
            '+' => x.checked_add(y),
            '-' => x.checked_sub(y),
            '*' => x.checked_mul(y),
            '%' if y != 0 => x.checked_rem(y),
            '/' if y != 0 && x % y == 0 => x.checked_div(y),
            _ => None,
        };
        if let Some(v) = exact {
            return Ok(Dynamic::from_int(v));
        }
    }
    if (op == '/' || op == '%') && b == 0.0 {
        return fail("attempted to divide by zero");
    }
    Ok(Dynamic::from_float(match op {
        '+' => a + b,
        '-' => a - b,
        '*' => a * b,
        '/' => a / b,
        _ => a % b,
    }))
}

fn describe(v: &Dynamic) -> String {
    if v.is_unit() { "$Null".into() } else { format!("'{}' ({})", text(v.clone()), v.type_name()) }
}

fn strings(a: &Array) -> Vec<String> {
    a.iter().map(|v| text(v.clone())).collect()
}

fn count(n: &Dynamic, param: &str) -> RhaiResult<usize> {
    match n.as_int() {
        Ok(i) if i >= 0 => Ok(i as usize),
        _ => fail(format!("Select-Object: -{param} takes a count (0 or more), not {}", describe(n))),
    }
}

/// Select-Object -Property: new objects with just those properties (wildcards allowed).
fn select(a: Array, props: Array) -> Array {
    let wanted = strings(&props);
    a.into_iter()
        .map(|item| {
            let Some(map) = item.read_lock::<Map>().map(|m| m.clone()) else {
                return item;
            };
            let mut out = Map::new();
            for w in &wanted {
                let pattern = crate::values::wildcard::Wildcard::new(w).ok().filter(|_| w.contains(['*', '?', '[']));
                match pattern {
                    Some(p) => {
                        for (k, v) in map.iter().filter(|(k, _)| p.is_match(k)) {
                            out.insert(k.clone(), v.clone());
                        }
                    }
                    None => {
                        let key = map.keys().find(|k| k.eq_ignore_ascii_case(w)).cloned().unwrap_or_else(|| w.into());
                        out.insert(key, expr::lookup_ci(&map, w).cloned().unwrap_or(Dynamic::UNIT));
                    }
                }
            }
            Dynamic::from_map(out)
        })
        .collect()
}

/// Select-Object -ExpandProperty: the property's values, lists unrolled.
fn expand(a: Array, name: &str) -> RhaiResult<Array> {
    let mut out = Array::new();
    for item in a {
        let is_object = item.is_map();
        let found = item.read_lock::<Map>().is_some_and(|m| expr::lookup_ci(&m, name).is_some());
        if is_object && !found {
            return fail(format!("Select-Object: property '{name}' cannot be found"));
        }
        out.extend(pipe(prop(item, name)));
    }
    Ok(out)
}

fn unique(a: Array) -> Array {
    let mut out: Array = Vec::with_capacity(a.len());
    for v in a {
        let key = text(v.clone());
        let dup = out.iter().any(|o| {
            expr::Comparison::with_value(Op::Eq, Literal::Str(key.clone())).is_ok_and(|c| c.test_value(o))
                && o.type_name() == v.type_name()
        });
        if !dup {
            out.push(v);
        }
    }
    out
}

/// PowerShell's ordering of two values: numbers numerically, `$Null` first, text case-insensitively.
fn order(a: &Dynamic, b: &Dynamic) -> Ordering {
    match (a.is_unit(), b.is_unit()) {
        (true, true) => return Ordering::Equal,
        (true, false) => return Ordering::Less,
        (false, true) => return Ordering::Greater,
        _ => {}
    }
    let numeric = |d: &Dynamic| d.as_int().map(|i| i as f64).ok().or_else(|| d.as_float().ok());
    if let (Some(x), Some(y)) = (numeric(a), numeric(b)) {
        return x.partial_cmp(&y).unwrap_or(Ordering::Equal);
    }
    if let (Ok(x), Ok(y)) = (a.as_bool(), b.as_bool()) {
        return x.cmp(&y);
    }
    let (x, y) = (text(a.clone()), text(b.clone()));
    x.to_lowercase().cmp(&y.to_lowercase())
}

/// Sort-Object: by the given properties in turn (or by the values themselves); stable.
fn sort(mut a: Array, props: Array, descending: bool) -> Array {
    let props = strings(&props);
    a.sort_by(|x, y| {
        let ord = if props.is_empty() {
            order(x, y)
        } else {
            props
                .iter()
                .map(|p| order(&prop(x.clone(), p), &prop(y.clone(), p)))
                .find(|o| *o != Ordering::Equal)
                .unwrap_or(Ordering::Equal)
        };
        if descending { ord.reverse() } else { ord }
    });
    a
}

/// Measure-Object: Count, and Sum/Average/Maximum/Minimum of a property when asked.
fn measure(a: Array, property: Dynamic, stats: Array) -> RhaiResult<Map> {
    let stats = strings(&stats);
    let values: Vec<Dynamic> = match property.is_unit() {
        true => a.clone(),
        false => a.iter().map(|v| prop(v.clone(), &text(property.clone()))).filter(|v| !v.is_unit()).collect(),
    };
    let mut out = Map::new();
    out.insert("Count".into(), Dynamic::from_int(values.len() as i64));
    let numbers: Vec<f64> = if stats.is_empty() {
        Vec::new()
    } else {
        let mut ns = Vec::with_capacity(values.len());
        for v in &values {
            match number(v) {
                Some(n) => ns.push(n),
                None => return fail(format!("Measure-Object: {} is not a number", describe(v))),
            }
        }
        ns
    };
    let int_if_whole = |f: f64| {
        if f.fract() == 0.0 && f.abs() < 9.0e15 { Dynamic::from_int(f as i64) } else { Dynamic::from_float(f) }
    };
    for s in ["Average", "Sum", "Maximum", "Minimum"] {
        let value = if !stats.iter().any(|x| x == s) || numbers.is_empty() {
            Dynamic::UNIT
        } else {
            match s {
                "Sum" => int_if_whole(numbers.iter().sum()),
                "Average" => Dynamic::from_float(numbers.iter().sum::<f64>() / numbers.len() as f64),
                "Maximum" => int_if_whole(numbers.iter().copied().fold(f64::MIN, f64::max)),
                _ => int_if_whole(numbers.iter().copied().fold(f64::MAX, f64::min)),
            }
        };
        out.insert(s.into(), value);
    }
    out.insert("Property".into(), if property.is_unit() { Dynamic::UNIT } else { Dynamic::from(text(property)) });
    Ok(out)
}

/// ConvertTo-Json: objects keep `Identity` first; deeper levels than `depth` become text, as in
/// PowerShell.
fn to_json(v: Dynamic, depth: i64, compress: bool) -> RhaiResult<String> {
    if !(0..=100).contains(&depth) {
        return fail(format!("ConvertTo-Json: -Depth must be 0..100, not {depth}"));
    }
    let limited = limit_depth(v, depth as usize);
    if compress {
        let json: serde_json::Value = serde_json::to_value(&limited).unwrap_or(serde_json::Value::Null);
        return Ok(json.to_string());
    }
    Ok(output::render_json(&limited))
}

fn limit_depth(v: Dynamic, depth: usize) -> Dynamic {
    if v.is_map() {
        let Some(map) = v.read_lock::<Map>().map(|m| m.clone()) else { return v };
        if depth == 0 {
            return Dynamic::from(text(v));
        }
        return Dynamic::from_map(map.into_iter().map(|(k, x)| (k, limit_depth(x, depth - 1))).collect());
    }
    if v.is_array() {
        return Dynamic::from_array(v.cast::<Array>().into_iter().map(|x| limit_depth(x, depth)).collect());
    }
    v
}

/// Export-Csv's content: a header of the first object's properties, one row per object; lists are
/// joined with spaces as PowerShell writes them. The engine writes it through the file rules.
pub fn csv_bytes(a: Array, delimiter: &str) -> RhaiResult<Vec<u8>> {
    let [d] = delimiter.as_bytes() else {
        return fail(format!("Export-Csv: -Delimiter must be one character, not '{delimiter}'"));
    };
    let maps: Vec<Map> = a.iter().filter_map(|v| v.read_lock::<Map>().map(|m| m.clone())).collect();
    if maps.len() != a.len() {
        return fail("Export-Csv: only objects can be exported (pipe cmdlet results, not plain values)");
    }
    let kind = a.first().and_then(|v| crate::catalog::ObjType::from_tag(v.tag()));
    let columns = maps.first().map(|m| output::ordered_keys(m, kind)).unwrap_or_default();
    let mut writer = csv::WriterBuilder::new().delimiter(*d).from_writer(Vec::new());
    let mut write = || -> Result<Vec<u8>, csv::Error> {
        if !columns.is_empty() {
            writer.write_record(&columns)?;
        }
        for m in &maps {
            writer
                .write_record(columns.iter().map(|c| m.get(c.as_str()).map(|v| text(v.clone())).unwrap_or_default()))?;
        }
        writer.flush()?;
        Ok(writer.get_ref().clone())
    };
    write().or_else(|e| fail(format!("Export-Csv: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Dynamic {
        Dynamic::from(x.to_string())
    }

    #[test]
    fn comparisons_follow_powershell() {
        assert!(compare(&s("Registrar"), Op::Eq, &s("registrar")).unwrap());
        assert!(compare(&Dynamic::UNIT, Op::Eq, &Dynamic::UNIT).unwrap());
        assert!(!compare(&Dynamic::UNIT, Op::Ne, &Dynamic::UNIT).unwrap());
        assert!(compare(&Dynamic::from_int(50), Op::Lt, &Dynamic::from_int(75)).unwrap());
        let list = Dynamic::from_array(vec![s("top"), s("group")]);
        assert!(contains(&list, &s("GROUP")).unwrap());
        assert!(!contains(&list, &s("gro")).unwrap());
        assert!(compare(&list, Op::Match, &s("^gr")).unwrap());
        assert!(compare(&s("Finance"), Op::Like, &s("fin*")).unwrap());
        assert!(compare(&s("x"), Op::Match, &s("(")).is_err());
    }

    #[test]
    fn properties_and_truth() {
        let mut m = Map::new();
        m.insert("SiteId".into(), s("Site:Dublin"));
        m.insert("Members".into(), Dynamic::from_array(vec![s("a"), s("b")]));
        let obj = Dynamic::from_map(m);
        assert_eq!(prop(obj.clone(), "SITEID").into_string().unwrap(), "Site:Dublin");
        assert!(prop(obj.clone(), "Nope").is_unit());
        assert_eq!(prop(prop(obj.clone(), "members"), "Count").as_int().unwrap(), 2);
        assert!(!truth(Dynamic::UNIT) && !truth(s("")) && truth(s("x")) && !truth(Dynamic::from_array(vec![])));
        assert_eq!(text(Dynamic::from_array(vec![s("a"), Dynamic::from_bool(true)])), "a True");
    }

    #[test]
    fn arithmetic_follows_the_left_operand() {
        assert_eq!(arithmetic('/', Dynamic::from_int(5), Dynamic::from_int(2)).unwrap().as_float().unwrap(), 2.5);
        assert_eq!(arithmetic('/', Dynamic::from_int(6), Dynamic::from_int(2)).unwrap().as_int().unwrap(), 3);
        assert_eq!(arithmetic('+', s("a"), Dynamic::from_int(1)).unwrap().into_string().unwrap(), "a1");
        assert_eq!(arithmetic('+', Dynamic::UNIT, Dynamic::from_int(1)).unwrap().as_int().unwrap(), 1);
        assert!(arithmetic('-', s("a"), Dynamic::from_int(1)).is_err());
        assert!(arithmetic('/', Dynamic::from_int(1), Dynamic::from_int(0)).is_err());
    }
}
