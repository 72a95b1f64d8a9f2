//! Rhai functions that translated PowerShell calls (`ps_*`), so the translated code stays short
//! and keeps PowerShell's semantics where Rhai's differ: case-insensitive comparisons, wildcards
//! and regexes, a missing property reading as `$Null`, truthiness, arithmetic, and the pipeline
//! commands (Select-, Sort-, Measure-Object, Format-*, ConvertTo-Json, Export-Csv). Only
//! translated code calls them; Rhai users keep Rhai's strict rules.

use std::cell::RefCell;
use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::Timelike;
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
    engine.register_fn("ps_prop", |v: Dynamic, name: &str| prop(v, name));
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
        // A list on the left is filtered (`$list -eq $null` gives the nulls), as in PowerShell.
        engine.register_fn(name, move |l: Dynamic, r: Dynamic| -> RhaiResult<Dynamic> {
            if l.is_array() {
                // Each item is compared as it would be on its own: `@('10', '3') -gt 2` keeps '3'.
                let mut kept = Array::new();
                for x in l.cast::<Array>() {
                    if scalar_comparison(&x, op, r.clone())?.as_bool().unwrap_or(false) {
                        kept.push(x);
                    }
                }
                return Ok(Dynamic::from_array(kept));
            }
            scalar_comparison(&l, op, r)
        });
    }

    register_script(engine);
    super::cmdlets::register(engine, json);
    engine.register_fn("ps_contains", |l: Dynamic, r: Dynamic| contains(&l, &r));
    engine.register_fn("ps_notcontains", |l: Dynamic, r: Dynamic| contains(&l, &r).map(|b| !b));
    engine.register_fn("ps_in", |l: Dynamic, r: Dynamic| contains(&r, &l));
    engine.register_fn("ps_notin", |l: Dynamic, r: Dynamic| contains(&r, &l).map(|b| !b));
    engine.register_fn("ps_add", |l: Dynamic, r: Dynamic| arithmetic('+', l, r));
    engine.register_fn("ps_sub", |l: Dynamic, r: Dynamic| arithmetic('-', l, r));
    engine.register_fn("ps_mul", |l: Dynamic, r: Dynamic| arithmetic('*', l, r));
    engine.register_fn("ps_div", |l: Dynamic, r: Dynamic| arithmetic('/', l, r));
    engine.register_fn("ps_rem", |l: Dynamic, r: Dynamic| arithmetic('%', l, r));
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
    engine.register_fn("ps_format_table", |a: Array, props: Array| -> RhaiResult<String> {
        let props = strings(&props);
        check_columns(&a, &props)?;
        Ok(output::format_table(&a, &props))
    });
    engine.register_fn("ps_format_list", |a: Array, props: Array| -> RhaiResult<String> {
        let props = strings(&props);
        check_columns(&a, &props)?;
        Ok(output::format_list(&a, &props))
    });
    engine.register_fn("ps_to_json", to_json);
    engine.register_fn("ps_out", move |v: Dynamic| {
        if json && collect_output(&v) {
            return;
        }
        let text = output::render(&v, json);
        if !text.is_empty() {
            crate::streams::result(text.trim_end_matches('\n'));
        }
    });
    engine.register_fn("translate", |code: &str| -> RhaiResult<String> {
        match super::translate(code) {
            Ok(t) => Ok(t.rhai),
            Err(e) => fail(format!("translate: {e}")),
        }
    });
}

/// `$x.Name`: case-insensitive. On a pchat object a property its type does not have is an error
/// (a typo must not read as `$Null`); on hashtables, custom objects and CSV rows it is `$Null`, as
/// in PowerShell. On a list, `Count`/`Length` is its size and any other name reads that property
/// of every element (member enumeration; one result is that result).
pub fn prop(v: Dynamic, name: &str) -> RhaiResult<Dynamic> {
    if let Some(map) = v.read_lock::<Map>() {
        if let Some(found) = expr::lookup_ci(&map, name) {
            return Ok(found.clone());
        }
        if let Some(kind) = crate::catalog::ObjType::from_tag(v.tag()) {
            if name.eq_ignore_ascii_case("Count") {
                return Ok(Dynamic::from_int(1));
            }
            // Directory objects carry open attribute sets: an unknown name there is `$Null`.
            let present: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
            kind.check_property(name, &present).or_else(fail)?;
            return Ok(Dynamic::UNIT);
        }
        return Ok(match name.to_ascii_lowercase().as_str() {
            "count" => Dynamic::from_int(map.len() as i64),
            "keys" => Dynamic::from_array(map.keys().map(|k| Dynamic::from(k.to_string())).collect()),
            "values" => Dynamic::from_array(map.values().cloned().collect()),
            _ => Dynamic::UNIT,
        });
    }
    if let Some(items) = v.read_lock::<Array>() {
        if name.eq_ignore_ascii_case("Count") || name.eq_ignore_ascii_case("Length") {
            return Ok(Dynamic::from_int(items.len() as i64));
        }
        let mut out = Array::new();
        for item in items.iter() {
            out.extend(pipe(prop(item.clone(), name)?));
        }
        return Ok(one(out));
    }
    if v.is_string() {
        if name.eq_ignore_ascii_case("Length") {
            return Ok(Dynamic::from_int(
                v.read_lock::<rhai::ImmutableString>().map_or(0, |s| s.chars().count()) as i64
            ));
        }
        if let Some(p) = super::methods::text_property(&v, name) {
            return Ok(p);
        }
    }
    if name.eq_ignore_ascii_case("Count") {
        return Ok(Dynamic::from_int(if v.is_unit() { 0 } else { 1 }));
    }
    Ok(Dynamic::UNIT)
}

/// A pipeline's output as a value: nothing is `$Null`, one object is that object.
pub fn one(mut a: Array) -> Dynamic {
    match a.len() {
        0 => Dynamic::UNIT,
        1 => a.pop().unwrap_or(Dynamic::UNIT),
        _ => Dynamic::from_array(a),
    }
}

/// PowerShell's equality of two values (case-insensitive text), for list methods.
pub fn equal(a: &Dynamic, b: &Dynamic) -> bool {
    compiled(Op::Eq, b).is_ok_and(|c| c.test_value(a)) && a.is_array() == b.is_array()
}

/// `$x.Name = value`: sets the property with the object's own spelling when it exists.
fn set(map: &mut Map, name: &str, value: Dynamic) {
    let key = map.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned().unwrap_or_else(|| name.into());
    map.insert(key, value);
}

/// `$x[i]`: negative indexes count from the end; out of range is `$Null`.
fn index(v: Dynamic, i: Dynamic) -> RhaiResult<Dynamic> {
    if let Some(items) = v.read_lock::<Array>() {
        // `$a[1..3]`, `$a[0, -1]`: a slice.
        if let Some(indexes) = i.read_lock::<Array>() {
            let mut out = Array::with_capacity(indexes.len());
            for k in indexes.iter() {
                let Ok(k) = k.as_int() else {
                    return fail(format!("an array index must be a number, not {}", text(k.clone())));
                };
                let len = items.len() as i64;
                let at = if k < 0 { len + k } else { k };
                if (0..len).contains(&at) {
                    out.push(items[at as usize].clone());
                }
            }
            return Ok(Dynamic::from_array(out));
        }
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
    if v.tag() == ERROR_RECORD_TAG
        && let Some(m) = v.read_lock::<Map>()
    {
        return m.get("Message").map(|x| text(x.clone())).unwrap_or_default();
    }
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

/// How `l` orders against `r` when either is `$null`, as PowerShell orders them
/// (LanguagePrimitives.CompareObjectToNull): `$null` is above negative numbers and below
/// everything else, so `$null -lt 7` is true and `$null -lt -1` false. `None` without a `$null`.
fn null_order(l: &Dynamic, r: &Dynamic) -> Option<Ordering> {
    let against_null = |v: &Dynamic| {
        let negative = v.as_int().map(|i| i < 0).or_else(|_| v.as_float().map(|f| f < 0.0)).unwrap_or(false);
        if negative { Ordering::Less } else { Ordering::Greater }
    };
    match (l.is_unit(), r.is_unit()) {
        (true, true) => Some(Ordering::Equal),
        (true, false) => Some(against_null(r).reverse()),
        (false, true) => Some(against_null(l)),
        (false, false) => None,
    }
}

/// The right operand of a comparison, converted as PowerShell converts it.
enum Converted {
    To(Dynamic),
    /// Text that is not a number, compared with a number.
    Impossible(Dynamic),
}

/// PowerShell converts the right operand to the type of the left one before it compares them
/// (LanguagePrimitives.Equals and Compare): `'9' -gt 10` compares text, and "9" sorts after
/// "10"; `0 -eq ''` is true ('' is the number 0); `$true -eq 'false'` is true (text that is not
/// empty is true); `1 -eq $true` is true ($true is the number 1). Scripts written for PowerShell
/// rely on these answers, so translated code gets them; Rhai code keeps its own rules.
fn to_left_type(l: &Dynamic, r: Dynamic) -> Converted {
    let text_r = r.is_string() || r.is_char();
    let number_r = r.is_int() || r.is_float();
    if l.is_string() && (number_r || r.is_bool() || r.is_char()) {
        if number_r && number(l).is_some() {
            warn_text_number_once(l, &r);
        }
        return Converted::To(Dynamic::from(text(r)));
    }
    if l.is_int() || l.is_float() {
        if r.is_bool() {
            return Converted::To(Dynamic::from_int(r.as_bool().map_or(0, i64::from)));
        }
        if text_r {
            let t = text(r.clone());
            if t.trim().is_empty() {
                return Converted::To(Dynamic::from_int(0));
            }
            return match number(&Dynamic::from(t)) {
                Some(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => Converted::To(Dynamic::from_int(n as i64)),
                Some(n) => Converted::To(Dynamic::from_float(n)),
                None => Converted::Impossible(r),
            };
        }
    }
    if l.is_bool() && !r.is_bool() && !r.is_unit() && !r.is_array() {
        return Converted::To(Dynamic::from_bool(truth(r)));
    }
    Converted::To(r)
}

/// Equality with text that is no number is false, as in PowerShell; an ordering is an error
/// there too ("Could not compare"), and one here.
fn not_comparable(l: &Dynamic, op: Op, r: &Dynamic) -> RhaiResult<Dynamic> {
    match op {
        Op::Eq => Ok(Dynamic::FALSE),
        Op::Ne => Ok(Dynamic::TRUE),
        _ => fail(format!(
            "cannot compare {} with {}: PowerShell converts the right operand to the type of the left one, and this text is not a number",
            describe(l),
            describe(r)
        )),
    }
}

/// `'9' -gt 10` is true in PowerShell and here (text compared as text): said once per run,
/// because a script ported from PowerShell may have meant numbers.
fn warn_text_number_once(l: &Dynamic, r: &Dynamic) {
    static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if !WARNED.swap(true, std::sync::atomic::Ordering::Relaxed) {
        crate::streams::warning(&format!(
            "warning: {} is compared with {} as text, as PowerShell does (\"9\" sorts after \"10\"); write [int] before the left operand to compare numbers",
            describe(l),
            describe(r)
        ));
    }
}

/// One comparison of PowerShell's: `$null` ordered first, the right operand converted to the
/// type of the left one (`-like` and `-match` compare text whatever the operands' types).
fn scalar_comparison(l: &Dynamic, op: Op, r: Dynamic) -> RhaiResult<Dynamic> {
    if let Some(o) = null_order(l, &r) {
        match op {
            Op::Lt => return Ok(Dynamic::from_bool(o == Ordering::Less)),
            Op::Le => return Ok(Dynamic::from_bool(o != Ordering::Greater)),
            Op::Gt => return Ok(Dynamic::from_bool(o == Ordering::Greater)),
            Op::Ge => return Ok(Dynamic::from_bool(o != Ordering::Less)),
            _ => {}
        }
    }
    if matches!(op, Op::Like | Op::NotLike | Op::Match | Op::NotMatch) {
        return compare(l, op, &r).map(Dynamic::from_bool);
    }
    let r = match to_left_type(l, r) {
        Converted::To(r) => r,
        Converted::Impossible(r) => return not_comparable(l, op, &r),
    };
    compare(l, op, &r).map(Dynamic::from_bool)
}

fn compare(l: &Dynamic, op: Op, r: &Dynamic) -> RhaiResult<bool> {
    Ok(compiled(op, r)?.test_value(l))
}

/// `-contains` / `-in`: some item `-eq` the value, each compared as on its own (the value
/// converted to the item's type: `@(1, 2) -contains '2'` is true, `@('2.0') -contains 2` false).
fn contains(list: &Dynamic, item: &Dynamic) -> RhaiResult<bool> {
    if !list.is_array() {
        return Ok(scalar_comparison(list, Op::Eq, item.clone())?.as_bool().unwrap_or(false));
    }
    for x in list.read_lock::<Array>().into_iter().flat_map(|a| a.iter().cloned().collect::<Vec<_>>()) {
        if scalar_comparison(&x, Op::Eq, item.clone())?.as_bool().unwrap_or(false) {
            return Ok(true);
        }
    }
    Ok(false)
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

/// Format-Table / Format-List columns: on a pchat object a property its type does not have is an
/// error with a suggestion, as for `$_.Name` and Select-Object (a typo must not show as an empty
/// column). Wildcards pick among the properties there are.
fn check_columns(items: &Array, columns: &[String]) -> RhaiResult<()> {
    for item in items {
        let Some(kind) = crate::catalog::ObjType::from_tag(item.tag()) else { continue };
        let Some(map) = item.read_lock::<Map>() else { continue };
        let present: Vec<&str> = map.keys().map(|k| k.as_str()).collect();
        for c in columns.iter().filter(|c| !crate::values::wildcard::has_wildcards(c)) {
            kind.check_property(c, &present).or_else(fail)?;
        }
    }
    Ok(())
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

/// Select-Object -ExpandProperty: the property's values, lists unrolled.
fn expand(a: Array, name: &str) -> RhaiResult<Array> {
    let mut out = Array::new();
    for item in a {
        if let Some(m) = item.read_lock::<Map>()
            && expr::lookup_ci(&m, name).is_none()
        {
            let keys: Vec<&str> = m.keys().map(|k| k.as_str()).collect();
            let hint = crate::values::text::did_you_mean(name, &keys, "properties");
            return fail(format!("Select-Object: property '{name}' cannot be found{hint}"));
        }
        out.extend(pipe(prop(item, name)?));
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

/// PowerShell's ordering of two values: numbers numerically, `$Null` after negative numbers and
/// before everything else, text case-insensitively.
pub fn order(a: &Dynamic, b: &Dynamic) -> Ordering {
    if let Some(o) = null_order(a, b) {
        return o;
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
fn sort(a: Array, props: Array, descending: bool) -> RhaiResult<Array> {
    let props = strings(&props);
    let mut keyed: Vec<(Vec<Dynamic>, Dynamic)> = Vec::with_capacity(a.len());
    for x in a {
        let mut keys = Vec::with_capacity(props.len());
        for p in &props {
            keys.push(prop(x.clone(), p)?);
        }
        keyed.push((keys, x));
    }
    keyed.sort_by(|(kx, x), (ky, y)| {
        let ord = if props.is_empty() {
            order(x, y)
        } else {
            kx.iter().zip(ky).map(|(p, q)| order(p, q)).find(|o| *o != Ordering::Equal).unwrap_or(Ordering::Equal)
        };
        if descending { ord.reverse() } else { ord }
    });
    Ok(keyed.into_iter().map(|(_, x)| x).collect())
}

/// Measure-Object: Count, and Sum/Average/Maximum/Minimum of a property when asked.
fn measure(a: Array, property: Dynamic, stats: Array) -> RhaiResult<Map> {
    let stats = strings(&stats);
    let values: Vec<Dynamic> = match property.is_unit() {
        true => a.clone(),
        false => {
            let name = text(property.clone());
            let mut vs = Vec::with_capacity(a.len());
            for v in &a {
                let x = prop(v.clone(), &name)?;
                if !x.is_unit() {
                    vs.push(x);
                }
            }
            vs
        }
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
    let tag = a.first().map_or(0, Dynamic::tag);
    let columns = maps.first().map(|m| output::ordered_keys(m, tag)).unwrap_or_default();
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

thread_local! {
    /// A whole run's output objects under `--json`, printed at its end as one array
    /// (see [`collect_json_output`]); `None`: each statement prints its own output.
    static JSON_OUTPUT: std::cell::RefCell<Option<Array>> = const { std::cell::RefCell::new(None) };
}

/// Gather what a script's statements output, instead of printing a JSON document per statement:
/// a `.ps1` run with `--json` prints one array, as its output stream is one sequence of objects.
pub fn collect_json_output() {
    JSON_OUTPUT.with(|o| *o.borrow_mut() = Some(Array::new()));
}

/// The objects gathered since [`collect_json_output`], if it was called; gathering stops.
pub fn take_json_output() -> Option<Array> {
    JSON_OUTPUT.with(|o| o.borrow_mut().take())
}

/// Keep `v`'s objects for the run's one JSON array; false when no run is gathering them.
fn collect_output(v: &Dynamic) -> bool {
    JSON_OUTPUT.with(|o| match o.borrow_mut().as_mut() {
        Some(items) => {
            items.extend(pipe(v.clone()));
            true
        }
        None => false,
    })
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
        assert_eq!(prop(obj.clone(), "SITEID").unwrap().into_string().unwrap(), "Site:Dublin");
        assert!(prop(obj.clone(), "Nope").unwrap().is_unit(), "a hashtable keeps PowerShell's rule");
        assert_eq!(prop(prop(obj.clone(), "members").unwrap(), "Count").unwrap().as_int().unwrap(), 2);
        let mut typed = obj.clone();
        typed.set_tag(crate::catalog::ObjType::ChatRoom.tag());
        assert!(prop(typed, "Privcy").unwrap_err().to_string().contains("'Privcy'"));
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

/// The tag of an error record bound to `$_` in a catch block (its text is the message).
const ERROR_RECORD_TAG: i32 = 0x5BFF;

thread_local! {
    /// The code `exit N` asked for, read by the command line once the script has stopped.
    static EXIT_CODE: RefCell<Option<i32>> = const { RefCell::new(None) };
}

/// The exit code a PowerShell `exit N` set, if any (and forget it).
pub fn take_exit_code() -> Option<i32> {
    EXIT_CODE.with(|c| c.borrow_mut().take())
}

/// The process status of `exit N`: as pwsh on Linux, the code modulo 256 (`exit -1` is 255).
/// A code that is not 0 but would wrap to 0 (`exit 256`) would report a failure as success, so it
/// is an error instead (the run then ends with exit code 1).
fn exit_status(code: i64) -> RhaiResult<i32> {
    let status = code.rem_euclid(256) as i32;
    if status == 0 && code != 0 {
        return fail(format!(
            "exit {code}: the exit code would wrap to 0 (success) on this system; give a code from 1 to 255 for a failure"
        ));
    }
    Ok(status)
}

fn now() -> chrono::NaiveDateTime {
    let t = chrono::Utc::now().naive_utc();
    t.with_nanosecond(0).unwrap_or(t)
}

fn error_record(e: Dynamic) -> Dynamic {
    let message = text(e.clone());
    let mut exception = Map::new();
    exception.insert("Message".into(), Dynamic::from(message.clone()));
    let mut record = Map::new();
    record.insert("Exception".into(), Dynamic::from_map(exception));
    record.insert("Message".into(), Dynamic::from(message));
    record.insert("TargetObject".into(), e);
    let mut d = Dynamic::from_map(record);
    d.set_tag(ERROR_RECORD_TAG);
    d
}

fn add_to(target: &mut Dynamic, v: Dynamic) -> RhaiResult<()> {
    if target.is_array() {
        let mut items = std::mem::take(target).cast::<Array>();
        items.extend(pipe(v));
        *target = Dynamic::from_array(items);
        return Ok(());
    }
    let current = std::mem::take(target);
    *target = arithmetic('+', current, v)?;
    Ok(())
}

fn set_index(target: &mut Dynamic, key: Dynamic, v: Dynamic) -> RhaiResult<()> {
    if target.is_map() {
        let tag = target.tag();
        let mut map = std::mem::take(target).cast::<Map>();
        let k = text(key);
        let existing = map.keys().find(|x| x.eq_ignore_ascii_case(&k)).cloned();
        map.insert(existing.unwrap_or_else(|| k.into()), v);
        let mut d = Dynamic::from_map(map);
        d.set_tag(tag);
        *target = d;
        return Ok(());
    }
    if target.is_array() {
        let Ok(i) = key.as_int() else {
            return fail(format!("an array index must be a number, not {}", text(key)));
        };
        let mut items = std::mem::take(target).cast::<Array>();
        let len = items.len() as i64;
        let at = if i < 0 { len + i } else { i };
        let result = if (0..len).contains(&at) {
            items[at as usize] = v;
            Ok(())
        } else {
            fail(format!("index {i} is outside the array (it has {len} items)"))
        };
        *target = Dynamic::from_array(items);
        return result;
    }
    fail(format!("cannot index into {} to set an element", describe(target)))
}

fn range(a: Dynamic, b: Dynamic) -> RhaiResult<Array> {
    let (Ok(x), Ok(y)) = (super::methods::cast(a.clone(), "int"), super::methods::cast(b.clone(), "int")) else {
        return fail(format!("the range {}..{} needs numbers", text(a), text(b)));
    };
    let (x, y) = (x.as_int().unwrap_or(0), y.as_int().unwrap_or(0));
    if x.abs_diff(y) > 10_000_000 {
        return fail(format!("the range {x}..{y} is too large (at most 10,000,000 numbers)"));
    }
    Ok(if x <= y { (x..=y).map(Dynamic::from_int).collect() } else { (y..=x).rev().map(Dynamic::from_int).collect() })
}

fn script_arg(args: Dynamic, name: &str) -> Dynamic {
    args.read_lock::<Map>().and_then(|m| expr::lookup_ci(&m, name).cloned()).unwrap_or(Dynamic::UNIT)
}

fn register_script(engine: &mut Engine) {
    let err = |r: Result<Dynamic, String>| r.or_else(fail);
    engine.register_fn("ps_one", |v: Dynamic| if v.is_array() { one(v.cast::<Array>()) } else { v });
    engine.register_fn("ps_add_to", add_to);
    engine.register_fn("ps_set_index", set_index);
    engine.register_fn("ps_switch_items", |v: Dynamic| if v.is_unit() { vec![Dynamic::UNIT] } else { pipe(v) });
    engine.register_fn("ps_error_record", error_record);
    engine.register_fn("ps_exit", |code: Dynamic| -> RhaiResult<()> {
        let Ok(c) = super::methods::cast(code.clone(), "int").map(|c| c.as_int().unwrap_or(1)) else {
            return fail(format!("exit: '{}' is not an exit code", text(code)));
        };
        let status = exit_status(c)?;
        EXIT_CODE.with(|e| *e.borrow_mut() = Some(status));
        Ok(())
    });
    // A runbook's `exit(3)` ends it with exit code 3, as the shell's and PowerShell's `exit 3` do
    // (Rhai's own `exit(3)` only ends the script with the value 3, and pchat would exit 0 after
    // printing it). Any other value keeps Rhai's meaning.
    engine.register_fn("exit", |code: i64| -> RhaiResult<()> {
        // A process's status is 0 to 255: any other code would reach cron as another number.
        let Ok(status) = u8::try_from(code) else {
            return fail(format!("exit({code}): an exit code is a whole number from 0 to 255 (0: success)"));
        };
        EXIT_CODE.with(|e| *e.borrow_mut() = Some(i32::from(status)));
        Err(EvalAltResult::Exit(Dynamic::UNIT, Position::NONE).into())
    });
    engine.register_fn("exit", |code: f64| -> RhaiResult<()> {
        fail(format!("exit({code}): an exit code is a whole number from 0 to 255 (0: success)"))
    });
    engine.register_fn("ps_param_value", move |v: Dynamic, ty: &str, name: &str| {
        err(super::methods::param_value(v, ty, name))
    });
    engine.register_fn("ps_validate_set", |v: Dynamic, allowed: Array, name: &str| -> RhaiResult<()> {
        for item in pipe(v) {
            let t = text(item);
            if !allowed.iter().any(|a| expr::eq_ci(&text(a.clone()), &t)) {
                return fail(format!("{name}: '{t}' is not one of {}", strings(&allowed).join(", ")));
            }
        }
        Ok(())
    });
    engine.register_fn("ps_script_arg", script_arg);
    engine.register_fn("ps_env", |name: &str| std::env::var(name).map(Dynamic::from).unwrap_or(Dynamic::UNIT));
    engine.register_fn("ps_join", |l: Dynamic, r: Dynamic| super::text::join(l, r));
    engine.register_fn("ps_split", move |l: Dynamic, r: Dynamic| super::text::split(l, r).or_else(fail));
    engine.register_fn("ps_split_blanks", super::text::split_blanks);
    engine.register_fn("ps_replace", move |l: Dynamic, r: Dynamic| err(super::text::replace(l, r)));
    engine.register_fn("ps_format", move |l: Dynamic, r: Dynamic| {
        super::text::format(&text(l), r).map(Dynamic::from).or_else(fail)
    });
    engine.register_fn("ps_range", range);
    engine.register_fn("ps_is", |v: Dynamic, ty: &str| super::methods::is_type(&v, ty));
    engine.register_fn("ps_call", move |v: &mut Dynamic, name: &str, args: Array| {
        err(super::methods::call(v, name, args))
    });
    engine.register_fn("ps_call_on", move |mut v: Dynamic, name: &str, args: Array| {
        err(super::methods::call(&mut v, name, args))
    });
    engine.register_fn("ps_cast", move |v: Dynamic, ty: &str| err(super::methods::cast(v, ty)));
    engine.register_fn("ps_static", move |ty: &str, member: &str, args: Dynamic| {
        let args = if args.is_unit() { None } else { Some(pipe(args)) };
        err(super::methods::static_member(ty, member, args, now()))
    });
    engine.register_fn("ps_sort_in_place", super::methods::sort_in_place);
}
