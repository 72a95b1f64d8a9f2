//! The .NET members PowerShell scripts call on values: string methods, list and hashtable
//! methods, date methods (dates are ISO-8601 text in pchat), casts, `-is`, and the static
//! members `[Math]::Round`, `[string]::IsNullOrEmpty`, `[array]::Sort`, `[DateTime]::Now`.
//! A method a value does not have is an error naming the value's type, never a silent `$Null`.

use chrono::{Months, NaiveDateTime, TimeDelta};
use rhai::{Array, Dynamic, Map};

use super::runtime::{order, pipe, text, truth};
use super::text::{as_date, date_value, format_date, format_value};

type Result<T> = std::result::Result<T, String>;

/// The type name PowerShell would report, for error messages.
pub fn type_name(v: &Dynamic) -> &'static str {
    if v.is_unit() {
        "$null"
    } else if v.is_string() {
        "String"
    } else if v.is_int() {
        "Int32"
    } else if v.is_float() {
        "Double"
    } else if v.is_bool() {
        "Boolean"
    } else if v.is_array() {
        "Object[]"
    } else if v.is_map() {
        match crate::catalog::ObjType::from_tag(v.tag()) {
            Some(_) => "pchat object",
            None => "Hashtable",
        }
    } else {
        "Object"
    }
}

fn arg(args: &Array, i: usize, method: &str) -> Result<Dynamic> {
    args.get(i).cloned().ok_or_else(|| format!(".{method}() needs {} argument(s)", i + 1))
}

fn int_arg(args: &Array, i: usize, method: &str) -> Result<i64> {
    let v = arg(args, i, method)?;
    v.as_int()
        .ok()
        .or_else(|| v.as_float().ok().map(|f| f.round() as i64))
        .or_else(|| text(v.clone()).trim().parse().ok())
        .ok_or_else(|| format!(".{method}(): argument {} must be a number, not '{}'", i + 1, text(v)))
}

fn float_arg(args: &Array, i: usize, method: &str) -> Result<f64> {
    let v = arg(args, i, method)?;
    v.as_float()
        .ok()
        .or_else(|| v.as_int().ok().map(|n| n as f64))
        .or_else(|| text(v.clone()).trim().parse().ok())
        .ok_or_else(|| format!(".{method}(): argument {} must be a number, not '{}'", i + 1, text(v)))
}

fn check_args(args: &Array, allowed: &[usize], method: &str) -> Result<()> {
    if allowed.contains(&args.len()) {
        Ok(())
    } else {
        Err(format!(
            ".{method}() takes {} argument(s), not {}",
            allowed.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" or "),
            args.len()
        ))
    }
}

/// `$x.Method(args)`: `target` may be changed in place (list and hashtable methods).
pub fn call(target: &mut Dynamic, name: &str, args: Array) -> Result<Dynamic> {
    let method = name.to_ascii_lowercase();
    if target.is_array() {
        return list_method(target, &method, name, args);
    }
    if target.is_map() {
        return map_method(target, &method, name, args);
    }
    if target.is_string() {
        if let Some(d) = as_date(target)
            && let Some(r) = date_method(d, &method, name, &args)?
        {
            return Ok(r);
        }
        return string_method(&text(target.clone()), &method, name, args);
    }
    if target.is_int() || target.is_float() {
        return match method.as_str() {
            "tostring" => {
                check_args(&args, &[0, 1], name)?;
                match args.first() {
                    Some(spec) => format_value(target, &text(spec.clone())),
                    None => Ok(text(target.clone())),
                }
                .map(Dynamic::from)
            }
            "equals" => Ok(Dynamic::from_bool(order(target, &arg(&args, 0, name)?).is_eq())),
            "compareto" => Ok(Dynamic::from_int(order(target, &arg(&args, 0, name)?) as i64)),
            _ => Err(no_method(target, name)),
        };
    }
    if target.is_bool() && method == "tostring" {
        return Ok(Dynamic::from(text(target.clone())));
    }
    if target.is_unit() {
        return Err(format!("you cannot call a method on a null-valued expression (.{name}())"));
    }
    Err(no_method(target, name))
}

fn no_method(target: &Dynamic, name: &str) -> String {
    format!("method .{name}() is not supported on a {} value in pchat's PowerShell subset", type_name(target))
}

fn string_method(s: &str, method: &str, name: &str, args: Array) -> Result<Dynamic> {
    let chars: Vec<char> = s.chars().collect();
    let text_arg = |i: usize| arg(&args, i, name).map(text);
    let trim_set =
        |args: &Array| -> Vec<char> { args.iter().flat_map(|a| text(a.clone()).chars().collect::<Vec<_>>()).collect() };
    let out = match method {
        "tolower" | "tolowerinvariant" => Dynamic::from(s.to_lowercase()),
        "toupper" | "toupperinvariant" => Dynamic::from(s.to_uppercase()),
        "tostring" => Dynamic::from(s.to_string()),
        "trim" | "trimstart" | "trimend" => {
            let set = trim_set(&args);
            let is_trimmed = |c: char| if set.is_empty() { c.is_whitespace() } else { set.contains(&c) };
            Dynamic::from(
                match method {
                    "trim" => s.trim_matches(is_trimmed),
                    "trimstart" => s.trim_start_matches(is_trimmed),
                    _ => s.trim_end_matches(is_trimmed),
                }
                .to_string(),
            )
        }
        // .NET Framework's String.Split(char[]): every character of the argument separates.
        "split" => {
            let set = trim_set(&args.iter().filter(|a| a.is_string() || a.is_array()).cloned().collect());
            let parts: Array = if set.is_empty() {
                s.split(char::is_whitespace).map(|p| Dynamic::from(p.to_string())).collect()
            } else {
                s.split(|c| set.contains(&c)).map(|p| Dynamic::from(p.to_string())).collect()
            };
            Dynamic::from_array(parts)
        }
        "substring" => {
            check_args(&args, &[1, 2], name)?;
            let start = int_arg(&args, 0, name)?;
            let len = if args.len() > 1 { int_arg(&args, 1, name)? } else { chars.len() as i64 - start };
            if start < 0 || len < 0 || start + len > chars.len() as i64 {
                return Err(format!(
                    ".Substring({start}{}): out of range for a string of {} characters",
                    if args.len() > 1 { format!(", {len}") } else { String::new() },
                    chars.len()
                ));
            }
            Dynamic::from(chars[start as usize..(start + len) as usize].iter().collect::<String>())
        }
        "replace" => {
            check_args(&args, &[2], name)?;
            let from = text_arg(0)?;
            if from.is_empty() {
                return Err(".Replace(): the text to replace cannot be empty".into());
            }
            Dynamic::from(s.replace(&from, &text_arg(1)?))
        }
        "contains" => Dynamic::from_bool(s.contains(&text_arg(0)?)),
        "startswith" => Dynamic::from_bool(s.starts_with(&text_arg(0)?)),
        "endswith" => Dynamic::from_bool(s.ends_with(&text_arg(0)?)),
        "indexof" | "lastindexof" => {
            let needle: Vec<char> = text_arg(0)?.chars().collect();
            let positions = (0..=chars.len().saturating_sub(needle.len())).filter(|i| chars[*i..].starts_with(&needle));
            let found = if method == "indexof" { positions.min() } else { positions.max() };
            Dynamic::from_int(found.map_or(-1, |i| i as i64))
        }
        "padleft" | "padright" => {
            let width = int_arg(&args, 0, name)?.max(0) as usize;
            let fill = args.get(1).map(|c| text(c.clone()).chars().next().unwrap_or(' ')).unwrap_or(' ');
            let pad: String = std::iter::repeat_n(fill, width.saturating_sub(chars.len())).collect();
            Dynamic::from(if method == "padleft" { format!("{pad}{s}") } else { format!("{s}{pad}") })
        }
        "remove" => {
            let start = int_arg(&args, 0, name)?;
            let len = if args.len() > 1 { int_arg(&args, 1, name)? } else { chars.len() as i64 - start };
            if start < 0 || len < 0 || start + len > chars.len() as i64 {
                return Err(format!(".Remove(): out of range for a string of {} characters", chars.len()));
            }
            let mut c = chars.clone();
            c.drain(start as usize..(start + len) as usize);
            Dynamic::from(c.into_iter().collect::<String>())
        }
        "insert" => {
            let at = int_arg(&args, 0, name)?;
            if at < 0 || at > chars.len() as i64 {
                return Err(format!(".Insert(): out of range for a string of {} characters", chars.len()));
            }
            let mut c = chars.clone();
            let ins: Vec<char> = text_arg(1)?.chars().collect();
            c.splice(at as usize..at as usize, ins);
            Dynamic::from(c.into_iter().collect::<String>())
        }
        "equals" => Dynamic::from_bool(s == text_arg(0)?),
        "compareto" => Dynamic::from_int(s.cmp(&text_arg(0)?) as i64),
        "tochararray" => Dynamic::from_array(chars.iter().map(|c| Dynamic::from(c.to_string())).collect()),
        "normalize" => Dynamic::from(s.to_string()),
        _ => return Err(no_method(&Dynamic::from(s.to_string()), name)),
    };
    Ok(out)
}

fn list_method(target: &mut Dynamic, method: &str, name: &str, args: Array) -> Result<Dynamic> {
    let mut items = std::mem::take(target).cast::<Array>();
    let result = (|| -> Result<Dynamic> {
        Ok(match method {
            // ArrayList.Add returns the new item's index (scripts discard it with [void]).
            "add" => {
                check_args(&args, &[1], name)?;
                items.push(args[0].clone());
                Dynamic::from_int(items.len() as i64 - 1)
            }
            "addrange" => {
                items.extend(pipe(arg(&args, 0, name)?));
                Dynamic::UNIT
            }
            "insert" => {
                let at = int_arg(&args, 0, name)?;
                if at < 0 || at as usize > items.len() {
                    return Err(format!(".Insert(): index {at} is outside a list of {}", items.len()));
                }
                items.insert(at as usize, arg(&args, 1, name)?);
                Dynamic::UNIT
            }
            "remove" => {
                let x = arg(&args, 0, name)?;
                if let Some(i) = items.iter().position(|v| super::runtime::equal(v, &x)) {
                    let _ = items.remove(i);
                }
                Dynamic::UNIT
            }
            "removeat" => {
                let at = int_arg(&args, 0, name)?;
                if at < 0 || at as usize >= items.len() {
                    return Err(format!(".RemoveAt(): index {at} is outside a list of {}", items.len()));
                }
                let _ = items.remove(at as usize);
                Dynamic::UNIT
            }
            "clear" => {
                items.clear();
                Dynamic::UNIT
            }
            "contains" => {
                let x = arg(&args, 0, name)?;
                Dynamic::from_bool(items.iter().any(|v| super::runtime::equal(v, &x)))
            }
            "indexof" => {
                let x = arg(&args, 0, name)?;
                Dynamic::from_int(items.iter().position(|v| super::runtime::equal(v, &x)).map_or(-1, |i| i as i64))
            }
            "toarray" | "clone" => Dynamic::from_array(items.clone()),
            "sort" => {
                items.sort_by(order);
                Dynamic::UNIT
            }
            "reverse" => {
                items.reverse();
                Dynamic::UNIT
            }
            "gettype" => return Err(".GetType() is outside pchat's PowerShell subset (use -is [array])".into()),
            _ => return Err(no_method(&Dynamic::from_array(Array::new()), name)),
        })
    })();
    *target = Dynamic::from_array(items);
    result
}

fn map_method(target: &mut Dynamic, method: &str, name: &str, args: Array) -> Result<Dynamic> {
    let custom = crate::catalog::ObjType::from_tag(target.tag()).is_none();
    let key = |i: usize| arg(&args, i, name).map(text);
    if !custom && !matches!(method, "tostring" | "psobject") {
        return Err(format!(
            "method .{name}() is not supported on pchat objects (read and set their properties instead)"
        ));
    }
    let tag = target.tag();
    let mut map = std::mem::take(target).cast::<Map>();
    let find = |map: &Map, k: &str| map.keys().find(|x| x.eq_ignore_ascii_case(k)).cloned();
    let result = (|| -> Result<Dynamic> {
        Ok(match method {
            "add" => {
                let k = key(0)?;
                if find(&map, &k).is_some() {
                    return Err(format!(".Add(): the key '{k}' is already in the hashtable"));
                }
                map.insert(k.into(), arg(&args, 1, name)?);
                Dynamic::UNIT
            }
            "remove" => {
                if let Some(k) = find(&map, &key(0)?) {
                    map.remove(&k);
                }
                Dynamic::UNIT
            }
            "containskey" | "contains" => Dynamic::from_bool(find(&map, &key(0)?).is_some()),
            "containsvalue" => {
                let x = arg(&args, 0, name)?;
                Dynamic::from_bool(map.values().any(|v| super::runtime::equal(v, &x)))
            }
            "clear" => {
                map.clear();
                Dynamic::UNIT
            }
            "getenumerator" => Dynamic::from_array(
                map.iter()
                    .map(|(k, v)| {
                        let mut e = Map::new();
                        e.insert("Key".into(), Dynamic::from(k.to_string()));
                        e.insert("Name".into(), Dynamic::from(k.to_string()));
                        e.insert("Value".into(), v.clone());
                        Dynamic::from_map(e)
                    })
                    .collect(),
            ),
            "clone" => Dynamic::from_map(map.clone()),
            "tostring" => Dynamic::from(text(Dynamic::from_map(map.clone()))),
            _ => return Err(no_method(&Dynamic::from_map(Map::new()), name)),
        })
    })();
    let mut d = Dynamic::from_map(map);
    d.set_tag(tag);
    *target = d;
    result
}

fn date_method(d: NaiveDateTime, method: &str, name: &str, args: &Array) -> Result<Option<Dynamic>> {
    let add = |delta: Option<TimeDelta>| -> Result<Dynamic> {
        delta
            .and_then(|x| d.checked_add_signed(x))
            .map(date_value)
            .ok_or_else(|| format!(".{name}(): the date would be out of range"))
    };
    let n = |_: ()| float_arg(args, 0, name);
    let ms = |f: f64, unit: f64| TimeDelta::try_milliseconds((f * unit).round() as i64);
    Ok(Some(match method {
        "adddays" => add(ms(n(())?, 86_400_000.0))?,
        "addhours" => add(ms(n(())?, 3_600_000.0))?,
        "addminutes" => add(ms(n(())?, 60_000.0))?,
        "addseconds" => add(ms(n(())?, 1000.0))?,
        "addmilliseconds" => add(ms(n(())?, 1.0))?,
        "addmonths" | "addyears" => {
            let k = int_arg(args, 0, name)? * if method == "addyears" { 12 } else { 1 };
            let months = Months::new(k.unsigned_abs().min(u32::MAX as u64) as u32);
            let moved = if k >= 0 { d.checked_add_months(months) } else { d.checked_sub_months(months) };
            moved.map(date_value).ok_or_else(|| format!(".{name}(): the date would be out of range"))?
        }
        "tostring" => match args.first() {
            Some(spec) => Dynamic::from(format_date(d, &text(spec.clone()))),
            None => Dynamic::from(format_date(d, "G")),
        },
        "toshortdatestring" => Dynamic::from(format_date(d, "d")),
        "tolongdatestring" => Dynamic::from(format_date(d, "D")),
        "toshorttimestring" => Dynamic::from(format_date(d, "t")),
        "touniversaltime" | "tolocaltime" => date_value(d),
        "subtract" => {
            let other = arg(args, 0, name)?;
            match as_date(&other) {
                Some(o) => Dynamic::from(crate::values::time::format_timespan(d - o)),
                None => return Err(".Subtract() takes a date".into()),
            }
        }
        _ => return Ok(None),
    }))
}

/// Date and time-span properties of text holding one (`.Year`, `.DayOfWeek`, `.TotalDays`...).
pub fn text_property(s: &Dynamic, name: &str) -> Option<Dynamic> {
    use chrono::{Datelike, Timelike};
    let lower = name.to_ascii_lowercase();
    if let Some(d) = as_date(s) {
        return Some(match lower.as_str() {
            "year" => Dynamic::from_int(d.year() as i64),
            "month" => Dynamic::from_int(d.month() as i64),
            "day" => Dynamic::from_int(d.day() as i64),
            "hour" => Dynamic::from_int(d.hour() as i64),
            "minute" => Dynamic::from_int(d.minute() as i64),
            "second" => Dynamic::from_int(d.second() as i64),
            "dayofweek" => Dynamic::from(super::text::day_name(d).to_string()),
            "dayofyear" => Dynamic::from_int(d.ordinal() as i64),
            "date" => date_value(d.date().and_hms_opt(0, 0, 0)?),
            _ => return None,
        });
    }
    let span = crate::values::time::parse_timespan(&text(s.clone())).ok()?;
    let ms = span.num_milliseconds() as f64;
    Some(match lower.as_str() {
        "days" => Dynamic::from_int(span.num_days()),
        "hours" => Dynamic::from_int(span.num_hours() % 24),
        "minutes" => Dynamic::from_int(span.num_minutes() % 60),
        "seconds" => Dynamic::from_int(span.num_seconds() % 60),
        "totaldays" => Dynamic::from_float(ms / 86_400_000.0),
        "totalhours" => Dynamic::from_float(ms / 3_600_000.0),
        "totalminutes" => Dynamic::from_float(ms / 60_000.0),
        "totalseconds" => Dynamic::from_float(ms / 1000.0),
        _ => return None,
    })
}

/// `[type]value`.
pub fn cast(v: Dynamic, ty: &str) -> Result<Dynamic> {
    let bad = |v: &Dynamic| format!("cannot convert '{}' ({}) to [{ty}]", text(v.clone()), type_name(v));
    Ok(match ty {
        "string" => {
            if v.is_unit() {
                Dynamic::from(String::new())
            } else {
                Dynamic::from(text(v))
            }
        }
        "int" => {
            if v.is_unit() {
                return Ok(Dynamic::from_int(0));
            }
            if let Ok(i) = v.as_int() {
                return Ok(Dynamic::from_int(i));
            }
            if let Ok(f) = v.as_float() {
                // .NET rounds half to even when converting to an integer.
                return Ok(Dynamic::from_int(f.round_ties_even() as i64));
            }
            if let Ok(b) = v.as_bool() {
                return Ok(Dynamic::from_int(b as i64));
            }
            let t = text(v.clone());
            match t.trim().parse::<i64>() {
                Ok(i) => Dynamic::from_int(i),
                Err(_) => match t.trim().parse::<f64>() {
                    Ok(f) if f.is_finite() => Dynamic::from_int(f.round_ties_even() as i64),
                    _ => return Err(bad(&v)),
                },
            }
        }
        "double" => {
            if v.is_unit() {
                return Ok(Dynamic::from_float(0.0));
            }
            if let Ok(i) = v.as_int() {
                return Ok(Dynamic::from_float(i as f64));
            }
            if let Ok(f) = v.as_float() {
                return Ok(Dynamic::from_float(f));
            }
            match text(v.clone()).trim().parse::<f64>() {
                Ok(f) => Dynamic::from_float(f),
                Err(_) => return Err(bad(&v)),
            }
        }
        "bool" => Dynamic::from_bool(truth(v)),
        "datetime" => {
            if v.is_unit() {
                return Err(bad(&v));
            }
            match crate::values::time::parse_datetime(&text(v.clone())) {
                Ok(d) => date_value(d.as_start()),
                Err(e) => return Err(format!("[datetime]: {e}")),
            }
        }
        "array" | "arraylist" => Dynamic::from_array(pipe(v)),
        "pscustomobject" | "hashtable" => {
            if v.is_map() {
                v
            } else {
                return Err(bad(&v));
            }
        }
        "void" => Dynamic::UNIT,
        _ => v,
    })
}

/// `$x -is [type]`.
pub fn is_type(v: &Dynamic, ty: &str) -> bool {
    match ty {
        "string" => v.is_string(),
        "int" => v.is_int(),
        "double" => v.is_float(),
        "bool" => v.is_bool(),
        "datetime" => as_date(v).is_some(),
        "array" | "arraylist" => v.is_array(),
        "hashtable" => v.is_map() && crate::catalog::ObjType::from_tag(v.tag()).is_none(),
        "pscustomobject" => v.is_map(),
        "object" => !v.is_unit(),
        _ => false,
    }
}

fn round_to(x: f64, digits: i64) -> f64 {
    // .NET's Math.Round rounds half to even.
    let f = 10f64.powi(digits.clamp(0, 15) as i32);
    (x * f).round_ties_even() / f
}

/// `[type]::Member` and `[type]::Method(args)`.
pub fn static_member(ty: &str, member: &str, args: Option<Array>, now: NaiveDateTime) -> Result<Dynamic> {
    let lower = member.to_ascii_lowercase();
    let name = format!("[{ty}]::{member}");
    let a = args.clone().unwrap_or_default();
    let num = |i: usize| float_arg(&a, i, &name);
    let int_result = |f: f64| {
        if f.fract() == 0.0 && f.abs() < 9.0e15 { Dynamic::from_int(f as i64) } else { Dynamic::from_float(f) }
    };
    let called = args.is_some();
    Ok(match (ty, lower.as_str(), called) {
        ("math", "round", true) => {
            let x = arg(&a, 0, &name)?;
            let digits = if a.len() > 1 { int_arg(&a, 1, &name)? } else { 0 };
            let r = round_to(float_arg(&a, 0, &name)?, digits);
            if digits == 0 && x.is_int() {
                x
            } else if digits == 0 {
                int_result(r)
            } else {
                Dynamic::from_float(r)
            }
        }
        ("math", "floor", true) => int_result(num(0)?.floor()),
        ("math", "ceiling", true) => int_result(num(0)?.ceil()),
        ("math", "truncate", true) => int_result(num(0)?.trunc()),
        ("math", "abs", true) => {
            let x = arg(&a, 0, &name)?;
            match x.as_int() {
                Ok(i) => Dynamic::from_int(i.abs()),
                Err(_) => Dynamic::from_float(num(0)?.abs()),
            }
        }
        ("math", "max" | "min", true) => {
            // .NET converts $null to the numeric parameter's 0 before comparing.
            let zero_for_null = |v: Dynamic| if v.is_unit() { Dynamic::from_int(0) } else { v };
            let (x, y) = (zero_for_null(arg(&a, 0, &name)?), zero_for_null(arg(&a, 1, &name)?));
            let pick_first = (order(&x, &y).is_ge()) == (lower == "max");
            if pick_first { x } else { y }
        }
        ("math", "pow", true) => Dynamic::from_float(num(0)?.powf(num(1)?)),
        ("math", "sqrt", true) => Dynamic::from_float(num(0)?.sqrt()),
        ("math", "pi", false) => Dynamic::from_float(std::f64::consts::PI),
        ("string", "isnullorempty", true) => {
            let x = arg(&a, 0, &name)?;
            Dynamic::from_bool(x.is_unit() || text(x).is_empty())
        }
        ("string", "isnullorwhitespace", true) => {
            let x = arg(&a, 0, &name)?;
            Dynamic::from_bool(x.is_unit() || text(x).trim().is_empty())
        }
        ("string", "join", true) => {
            let sep = text(arg(&a, 0, &name)?);
            let items: Array = if a.len() == 2 { pipe(a[1].clone()) } else { a[1..].to_vec() };
            Dynamic::from(items.into_iter().map(text).collect::<Vec<_>>().join(&sep))
        }
        ("string", "empty", false) => Dynamic::from(String::new()),
        ("string", "format", true) => {
            let template = text(arg(&a, 0, &name)?);
            let rest: Array = if a.len() == 2 && a[1].is_array() { pipe(a[1].clone()) } else { a[1..].to_vec() };
            Dynamic::from(super::text::format(&template, Dynamic::from_array(rest))?)
        }
        ("string", "concat", true) => Dynamic::from(a.into_iter().map(text).collect::<String>()),
        ("datetime", "now" | "today" | "utcnow", false) => {
            let t = if lower == "today" { now.date().and_hms_opt(0, 0, 0).unwrap_or(now) } else { now };
            date_value(t)
        }
        ("datetime", "parse", true) => cast(arg(&a, 0, &name)?, "datetime")?,
        ("datetime", "daysinmonth", true) => {
            let (y, m) = (int_arg(&a, 0, &name)?, int_arg(&a, 1, &name)?);
            let first = chrono::NaiveDate::from_ymd_opt(y as i32, m as u32, 1)
                .ok_or_else(|| format!("{name}: no such month"))?;
            let next = first.checked_add_months(Months::new(1)).ok_or_else(|| format!("{name}: no such month"))?;
            Dynamic::from_int((next - first).num_days())
        }
        ("int", "maxvalue", false) => Dynamic::from_int(i32::MAX as i64),
        ("int", "minvalue", false) => Dynamic::from_int(i32::MIN as i64),
        ("int", "parse", true) => cast(arg(&a, 0, &name)?, "int")?,
        ("environment", "newline", false) => Dynamic::from("\n".to_string()),
        ("environment", "machinename", false) => Dynamic::from(
            std::env::var("HOSTNAME").or_else(|_| std::env::var("COMPUTERNAME")).unwrap_or_else(|_| "localhost".into()),
        ),
        ("environment", "username", false) => {
            Dynamic::from(std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_default())
        }
        _ => {
            return Err(format!("{name}{} is outside pchat's PowerShell subset", if called { "()" } else { "" }));
        }
    })
}

/// `[array]::Sort($list)` on a variable: sorts it in place.
pub fn sort_in_place(list: &mut Dynamic) {
    if list.is_array() {
        let mut items = std::mem::take(list).cast::<Array>();
        items.sort_by(order);
        *list = Dynamic::from_array(items);
    }
}

/// A parameter value converted to its declared type (`[int]$Days`), or an error naming it.
pub fn param_value(v: Dynamic, ty: &str, name: &str) -> Result<Dynamic> {
    if v.is_unit() {
        return Ok(v);
    }
    let canonical = match ty {
        "string" => "string",
        "int" | "int32" | "int64" | "long" => "int",
        "double" => "double",
        "bool" | "boolean" | "switch" => "bool",
        "datetime" => "datetime",
        "string[]" | "int[]" | "array" => "array",
        _ => return Ok(v),
    };
    if canonical == "bool" && v.is_string() {
        return match text(v.clone()).to_ascii_lowercase().as_str() {
            "true" | "$true" | "1" | "yes" => Ok(Dynamic::from_bool(true)),
            "false" | "$false" | "0" | "no" => Ok(Dynamic::from_bool(false)),
            other => Err(format!("{name}: '{other}' is not a bool (true or false)")),
        };
    }
    if canonical == "array" && v.is_string() {
        let items: Array = text(v).split(',').map(|p| Dynamic::from(p.trim().to_string())).collect();
        return if ty == "int[]" {
            items
                .into_iter()
                .map(|i| cast(i, "int").map_err(|e| format!("{name}: {e}")))
                .collect::<Result<Array>>()
                .map(Dynamic::from_array)
        } else {
            Ok(Dynamic::from_array(items))
        };
    }
    if canonical == "int" && v.is_string() && text(v.clone()).trim().parse::<i64>().is_err() {
        return Err(format!("{name}: '{}' is not a whole number", text(v)));
    }
    cast(v, canonical).map_err(|e| format!("{name}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Dynamic {
        Dynamic::from(x.to_string())
    }

    #[test]
    fn string_methods_count_characters() {
        let mut v = s("Zürich-Åre");
        assert_eq!(
            call(&mut v, "Substring", vec![Dynamic::from_int(1), Dynamic::from_int(5)]).unwrap().to_string(),
            "ürich"
        );
        assert_eq!(call(&mut v, "IndexOf", vec![s("Å")]).unwrap().as_int().unwrap(), 7);
        assert_eq!(call(&mut v, "ToUpper", vec![]).unwrap().to_string(), "ZÜRICH-ÅRE");
        assert!(call(&mut v, "Substring", vec![Dynamic::from_int(8), Dynamic::from_int(5)]).is_err());
        assert_eq!(call(&mut v, "Split", vec![s("-")]).unwrap().cast::<Array>().len(), 2);
        assert!(call(&mut v, "Frobnicate", vec![]).unwrap_err().contains("Frobnicate"));
    }

    #[test]
    fn lists_change_in_place() {
        let mut l = Dynamic::from_array(vec![]);
        assert_eq!(call(&mut l, "Add", vec![s("a")]).unwrap().as_int().unwrap(), 0);
        let _ = call(&mut l, "Add", vec![s("b")]).unwrap();
        let _ = call(&mut l, "Remove", vec![s("A")]).unwrap();
        assert_eq!(l.clone().cast::<Array>().len(), 1);
        assert!(call(&mut l, "Contains", vec![s("b")]).unwrap().as_bool().unwrap());
    }

    #[test]
    fn dates_and_statics() {
        let mut d = s("2020-01-31T10:00:00Z");
        assert_eq!(call(&mut d, "AddMonths", vec![Dynamic::from_int(1)]).unwrap().to_string(), "2020-02-29T10:00:00Z");
        assert_eq!(call(&mut d, "AddDays", vec![Dynamic::from_int(-31)]).unwrap().to_string(), "2019-12-31T10:00:00Z");
        assert_eq!(call(&mut d, "ToString", vec![s("yyyyMMdd")]).unwrap().to_string(), "20200131");
        assert_eq!(text_property(&d, "DayOfWeek").unwrap().to_string(), "Friday");
        assert_eq!(text_property(&s("30.12:00:00"), "TotalDays").unwrap().as_float().unwrap(), 30.5);
        let now = chrono::NaiveDate::from_ymd_opt(2020, 1, 1).unwrap().and_hms_opt(0, 0, 0).unwrap();
        let r = static_member("math", "Round", Some(vec![Dynamic::from_float(2.567), Dynamic::from_int(1)]), now);
        assert_eq!(r.unwrap().as_float().unwrap(), 2.6);
        assert_eq!(
            static_member("math", "Round", Some(vec![Dynamic::from_float(2.5)]), now).unwrap().as_int().unwrap(),
            2
        );
        assert!(static_member("string", "IsNullOrEmpty", Some(vec![Dynamic::UNIT]), now).unwrap().as_bool().unwrap());
        assert!(static_member("math", "Frob", Some(vec![]), now).is_err());
        assert_eq!(cast(s("42"), "int").unwrap().as_int().unwrap(), 42);
        assert!(cast(s("forty"), "int").is_err());
        assert!(param_value(s("x"), "int", "-Days").unwrap_err().contains("-Days"));
    }
}
