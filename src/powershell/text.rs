//! PowerShell's text operators and .NET's formatting as scripts use them: `-f` with
//! `{0,-10:N2}` items, `-split`/`-replace` (case-insensitive .NET regexes), `-join`, and date
//! and number format strings (`yyyy-MM-dd`, `N0`, `F2`, `0.00`). All of it works on characters,
//! never on bytes, so non-ASCII text is safe.

use chrono::{Datelike, NaiveDateTime, Timelike};
use rhai::{Array, Dynamic};

use super::runtime::{pipe, text};

fn regex(pattern: &str, op: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(1 << 22)
        .build()
        .map_err(|e| format!("{op}: '{pattern}' is not a valid regular expression: {e}"))
}

/// A date as PowerShell scripts get it from pchat: ISO-8601 text, or en-US `3/1/2018`.
pub fn as_date(v: &Dynamic) -> Option<NaiveDateTime> {
    let s = v.read_lock::<rhai::ImmutableString>()?;
    let t = s.trim();
    // Cheap test first: dates start with a digit and hold '-' or '/'.
    if !t.starts_with(|c: char| c.is_ascii_digit()) || !t.contains(['-', '/']) {
        return None;
    }
    crate::values::time::parse_datetime(t).ok().map(|d| d.as_start())
}

pub fn date_value(t: NaiveDateTime) -> Dynamic {
    Dynamic::from(crate::values::time::format_datetime(t))
}

/// `-join`: the items' text joined by the separator.
pub fn join(items: Dynamic, sep: Dynamic) -> String {
    let sep = if sep.is_unit() { String::new() } else { text(sep) };
    pipe(items).into_iter().map(text).collect::<Vec<_>>().join(&sep)
}

/// `-split`: by a regex (case-insensitive), optionally into at most N pieces; on a list, every item.
pub fn split(value: Dynamic, right: Dynamic) -> Result<Array, String> {
    let (pattern, max) = match right.read_lock::<Array>() {
        Some(a) if !a.is_empty() => {
            let max = a.get(1).and_then(|m| m.as_int().ok()).unwrap_or(0);
            (text(a[0].clone()), max)
        }
        _ => (text(right.clone()), 0),
    };
    let re = regex(&pattern, "-split")?;
    let mut out = Array::new();
    for item in pipe(value) {
        let s = text(item);
        let parts: Vec<&str> = if max > 0 { re.splitn(&s, max as usize).collect() } else { re.split(&s).collect() };
        out.extend(parts.into_iter().map(|p| Dynamic::from(p.to_string())));
    }
    Ok(out)
}

/// Unary `-split`: by runs of white space, empty pieces dropped.
pub fn split_blanks(value: Dynamic) -> Array {
    pipe(value)
        .into_iter()
        .flat_map(|v| text(v).split_whitespace().map(|p| Dynamic::from(p.to_string())).collect::<Vec<_>>())
        .collect()
}

/// `-replace pattern, replacement`: a case-insensitive regex; `$1` and `${name}` as in .NET.
pub fn replace(value: Dynamic, right: Dynamic) -> Result<Dynamic, String> {
    let (pattern, with) = match right.read_lock::<Array>() {
        Some(a) if a.len() == 2 => (text(a[0].clone()), text(a[1].clone())),
        Some(a) if a.len() == 1 => (text(a[0].clone()), String::new()),
        Some(_) => return Err("-replace takes a pattern and at most one replacement".into()),
        None => (text(right.clone()), String::new()),
    };
    let re = regex(&pattern, "-replace")?;
    // .NET reads `$1a` as group 1 then 'a'; the regex crate would look for a group named `1a`.
    let digits = regex::Regex::new(r"\$(\d+)").map_err(|e| e.to_string())?;
    let with = digits.replace_all(&with, "$${${1}}").into_owned();
    let one = |v: Dynamic| Dynamic::from(re.replace_all(&text(v), with.as_str()).into_owned());
    Ok(match value.read_lock::<Array>() {
        Some(items) => Dynamic::from_array(items.iter().cloned().map(one).collect()),
        None => one(value.clone()),
    })
}

/// `"{0} has {1:N0} rooms" -f $pool, $n`.
pub fn format(template: &str, args: Dynamic) -> Result<String, String> {
    let args: Array = match args.read_lock::<Array>() {
        Some(a) => a.clone(),
        None => vec![args.clone()],
    };
    let chars: Vec<char> = template.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '{' if chars.get(i + 1) == Some(&'{') => {
                out.push('{');
                i += 2;
            }
            '}' if chars.get(i + 1) == Some(&'}') => {
                out.push('}');
                i += 2;
            }
            '{' => {
                let Some(end) = chars[i..].iter().position(|c| *c == '}').map(|k| i + k) else {
                    return Err(format!("-f: '{template}' has a '{{' without its '}}'"));
                };
                let item: String = chars[i + 1..end].iter().collect();
                let (head, spec) = match item.split_once(':') {
                    Some((h, s)) => (h, Some(s)),
                    None => (item.as_str(), None),
                };
                let (index, align) = match head.split_once(',') {
                    Some((n, a)) => (n.trim(), a.trim().parse::<i64>().ok()),
                    None => (head.trim(), None),
                };
                let Ok(index) = index.parse::<usize>() else {
                    return Err(format!("-f: '{{{item}}}' is not a format item (write {{0}}, {{1:N2}}...)"));
                };
                let Some(arg) = args.get(index) else {
                    return Err(format!("-f: '{{{index}}}' refers to argument {index}, but {} were given", args.len()));
                };
                let mut s = match spec {
                    Some(spec) => format_value(arg, spec)?,
                    None => text(arg.clone()),
                };
                if let Some(w) = align {
                    let width = w.unsigned_abs() as usize;
                    let len = s.chars().count();
                    if len < width {
                        let pad = " ".repeat(width - len);
                        s = if w < 0 { format!("{s}{pad}") } else { format!("{pad}{s}") };
                    }
                }
                out.push_str(&s);
                i = end + 1;
            }
            '}' => return Err(format!("-f: '{template}' has a '}}' without its '{{'")),
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

fn number(v: &Dynamic) -> Option<f64> {
    v.as_int().map(|i| i as f64).ok().or_else(|| v.as_float().ok())
}

/// A value by a .NET format string: a date format for dates, a numeric one for numbers.
pub fn format_value(v: &Dynamic, spec: &str) -> Result<String, String> {
    if let Some(n) = number(v) {
        return format_number(n, v.is_int(), spec);
    }
    if let Some(d) = as_date(v) {
        return Ok(format_date(d, spec));
    }
    Ok(text(v.clone()))
}

fn fixed(n: f64, decimals: usize, thousands: bool) -> String {
    let s = format!("{:.*}", decimals, n.abs());
    let (int_part, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (s, None),
    };
    let int_part = if thousands { crate::values::text::group_thousands(&int_part) } else { int_part };
    let sign = if n < 0.0 && s_nonzero(n, decimals) { "-" } else { "" };
    match frac {
        Some(f) => format!("{sign}{int_part}.{f}"),
        None => format!("{sign}{int_part}"),
    }
}

fn s_nonzero(n: f64, decimals: usize) -> bool {
    (n.abs() * 10f64.powi(decimals as i32)).round() != 0.0
}

fn format_number(n: f64, is_int: bool, spec: &str) -> Result<String, String> {
    let mut chars = spec.chars();
    let kind = chars.next().map(|c| c.to_ascii_uppercase());
    let rest: String = chars.collect();
    let precision = if rest.is_empty() { None } else { rest.parse::<usize>().ok() };
    let standard = precision.is_some() || rest.is_empty();
    Ok(match kind {
        Some('N') if standard => fixed(n, precision.unwrap_or(2), true),
        Some('F') if standard => fixed(n, precision.unwrap_or(2), false),
        Some('P') if standard => format!("{} %", fixed(n * 100.0, precision.unwrap_or(2), true)),
        Some('D') if standard && is_int => {
            let digits = format!("{}", (n as i64).unsigned_abs());
            let width = precision.unwrap_or(0);
            let padded = format!("{digits:0>width$}");
            if n < 0.0 { format!("-{padded}") } else { padded }
        }
        Some('X') if standard && is_int => {
            let width = precision.unwrap_or(0);
            let hex = format!("{:X}", n as i64);
            let hex = format!("{hex:0>width$}");
            if spec.starts_with('x') { hex.to_lowercase() } else { hex }
        }
        Some('G') if standard => {
            super::runtime::text(if is_int { Dynamic::from_int(n as i64) } else { Dynamic::from_float(n) })
        }
        _ => custom_number(n, spec)?,
    })
}

/// Custom numeric formats: `0.00`, `#,##0`, `#.#`, `000`.
fn custom_number(n: f64, spec: &str) -> Result<String, String> {
    if !spec.chars().all(|c| matches!(c, '0' | '#' | ',' | '.' | '%')) {
        return Err(format!("the number format '{spec}' is not supported (use N2, F0, D3, P1, X, 0.00 or #,##0)"));
    }
    let percent = spec.contains('%');
    let n = if percent { n * 100.0 } else { n };
    let spec = spec.replace('%', "");
    let (int_spec, frac_spec) = spec.split_once('.').unwrap_or((spec.as_str(), ""));
    let min_frac = frac_spec.chars().filter(|c| *c == '0').count();
    let max_frac = frac_spec.chars().filter(|c| *c == '0' || *c == '#').count();
    let min_int = int_spec.chars().filter(|c| *c == '0').count();
    let mut s = fixed(n, max_frac, int_spec.contains(','));
    if max_frac > min_frac && s.contains('.') {
        while s.ends_with('0') && s.split_once('.').is_some_and(|(_, f)| f.len() > min_frac) {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    let negative = s.starts_with('-');
    let body = s.trim_start_matches('-');
    let (ip, fp) = match body.split_once('.') {
        Some((a, b)) => (a.to_string(), Some(b.to_string())),
        None => (body.to_string(), None),
    };
    let digits = ip.chars().filter(|c| c.is_ascii_digit()).count();
    let mut ip = if digits < min_int { format!("{}{ip}", "0".repeat(min_int - digits)) } else { ip };
    if min_int == 0 && ip == "0" {
        ip.clear();
    }
    let mut out = format!("{}{ip}", if negative { "-" } else { "" });
    if let Some(f) = fp {
        out.push('.');
        out.push_str(&f);
    }
    if percent {
        out.push('%');
    }
    Ok(out)
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];

pub fn day_name(d: NaiveDateTime) -> &'static str {
    DAYS[d.weekday().num_days_from_monday() as usize]
}

/// A date by a .NET format: the standard one-letter formats (en-US) or a custom pattern.
pub fn format_date(d: NaiveDateTime, spec: &str) -> String {
    let custom = match spec {
        "d" => "M/d/yyyy",
        "D" => "dddd, MMMM d, yyyy",
        "f" => "dddd, MMMM d, yyyy h:mm tt",
        "F" => "dddd, MMMM d, yyyy h:mm:ss tt",
        "g" => "M/d/yyyy h:mm tt",
        "G" | "" => "M/d/yyyy h:mm:ss tt",
        "s" => "yyyy-MM-ddTHH:mm:ss",
        "u" => "yyyy-MM-dd HH:mm:ssZ",
        "o" | "O" => "yyyy-MM-ddTHH:mm:ss.fffffffZ",
        "t" => "h:mm tt",
        "T" => "h:mm:ss tt",
        "M" | "m" => "MMMM d",
        "Y" | "y" => "MMMM yyyy",
        other => other,
    };
    let chars: Vec<char> = custom.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let run = chars[i..].iter().take_while(|x| **x == c).count();
        let hour12 = if d.hour().is_multiple_of(12) { 12 } else { d.hour() % 12 };
        match c {
            'y' => {
                out.push_str(&match run {
                    1 => (d.year() % 100).to_string(),
                    2 => format!("{:02}", d.year() % 100),
                    _ => format!("{:0width$}", d.year(), width = run),
                });
            }
            'M' => out.push_str(&match run {
                1 => d.month().to_string(),
                2 => format!("{:02}", d.month()),
                3 => MONTHS[d.month0() as usize][..3].to_string(),
                _ => MONTHS[d.month0() as usize].to_string(),
            }),
            'd' => out.push_str(&match run {
                1 => d.day().to_string(),
                2 => format!("{:02}", d.day()),
                3 => day_name(d)[..3].to_string(),
                _ => day_name(d).to_string(),
            }),
            'H' => out.push_str(&if run == 1 { d.hour().to_string() } else { format!("{:02}", d.hour()) }),
            'h' => out.push_str(&if run == 1 { hour12.to_string() } else { format!("{hour12:02}") }),
            'm' => out.push_str(&if run == 1 { d.minute().to_string() } else { format!("{:02}", d.minute()) }),
            's' => out.push_str(&if run == 1 { d.second().to_string() } else { format!("{:02}", d.second()) }),
            'f' | 'F' => {
                let nanos = format!("{:09}", d.nanosecond() % 1_000_000_000);
                let digits: String = nanos.chars().chain(std::iter::repeat('0')).take(run.min(7)).collect();
                out.push_str(if c == 'F' { digits.trim_end_matches('0') } else { &digits });
            }
            't' => out.push_str(if d.hour() < 12 {
                if run == 1 { "A" } else { "AM" }
            } else if run == 1 {
                "P"
            } else {
                "PM"
            }),
            'z' | 'K' => out.push_str(if run >= 2 || c == 'K' { "+00:00" } else { "+0" }),
            '\\' => {
                if let Some(n) = chars.get(i + 1) {
                    out.push(*n);
                }
                i += 2;
                continue;
            }
            '\'' | '"' => {
                let end = chars[i + 1..].iter().position(|x| *x == c).map_or(chars.len(), |k| i + 1 + k);
                out.extend(&chars[i + 1..end]);
                i = end + 1;
                continue;
            }
            other => {
                for _ in 0..run {
                    out.push(other);
                }
            }
        }
        i += run;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Dynamic {
        Dynamic::from(x.to_string())
    }

    #[test]
    fn format_operator() {
        let args = Dynamic::from_array(vec![s("pc01"), Dynamic::from_int(12345), Dynamic::from_float(0.256)]);
        assert_eq!(format("{0}: {1:N0} rooms, {2:P1}", args.clone()).unwrap(), "pc01: 12,345 rooms, 25.6 %");
        assert_eq!(format("[{0,-6}][{1,7}]", args.clone()).unwrap(), "[pc01  ][  12345]");
        assert_eq!(format("{{{0}}}", s("x")).unwrap(), "{x}");
        assert_eq!(format("{1:D7} {2:F2} {2:0.0}", args.clone()).unwrap(), "0012345 0.26 0.3");
        assert!(format("{3}", args.clone()).unwrap_err().contains("argument 3"));
        assert!(format("{0", args).is_err());
        assert_eq!(format("{0:yyyy-MM-dd HH:mm}", s("2020-06-30T07:05:00Z")).unwrap(), "2020-06-30 07:05");
        assert_eq!(format("{0:dddd d MMM}", s("2020-06-30T07:05:00Z")).unwrap(), "Tuesday 30 Jun");
    }

    #[test]
    fn split_replace_join_are_unicode_safe() {
        let parts = split(s("Zürich;Åre;東京"), s(";")).unwrap();
        assert_eq!(parts.iter().map(|p| p.to_string()).collect::<Vec<_>>(), ["Zürich", "Åre", "東京"]);
        assert_eq!(
            replace(s("Room-Zürich"), Dynamic::from_array(vec![s("^room-(.)"), s("$1_")])).unwrap().to_string(),
            "Z_ürich"
        );
        assert_eq!(replace(s("ABC"), s("b")).unwrap().to_string(), "AC");
        assert_eq!(join(Dynamic::from_array(vec![s("a"), Dynamic::from_int(1)]), s(", ")), "a, 1");
        assert_eq!(split(s("a,b,c"), Dynamic::from_array(vec![s(","), Dynamic::from_int(2)])).unwrap().len(), 2);
        assert!(split(s("x"), s("(")).is_err());
    }
}
