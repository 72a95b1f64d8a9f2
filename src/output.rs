//! Rendering results for people (PowerShell's Format-Table / Format-List look) and for `--json`.
//!
//! `rhai::Map` iterates in sorted key order, which would bury `Identity` among the other
//! properties; every object is therefore shown with `Identity` first, then the rest in map order.

use crate::catalog::ObjType;
use crate::values::text::escape_block;
use comfy_table::{ContentArrangement, Table, presets};
use rhai::{Array, Dynamic, Map};

/// Objects with more properties than this are listed (Format-List) rather than tabulated.
const MAX_TABLE_COLUMNS: usize = 5;
/// Width assumed when stdout is not a terminal.
const DEFAULT_WIDTH: usize = 120;

/// Render a result for stdout; `()` renders as the empty string (nothing to print). Control
/// characters in values are written out (`\e[2J`), so no stored name can drive the terminal;
/// JSON escapes them itself.
pub fn render(value: &Dynamic, json: bool) -> String {
    if json {
        return render_json(value);
    }
    escape_block(&render_with_width(value, terminal_width())).into_owned()
}

/// The terminal width of stdout, or [`DEFAULT_WIDTH`] when stdout is not a terminal.
fn terminal_width() -> usize {
    Table::new().width().map(usize::from).filter(|w| *w > 0).unwrap_or(DEFAULT_WIDTH)
}

/// Pretty JSON; objects keep `Identity` first. Values serde cannot represent fall back to their
/// display text, so `--json` never fails to print a result.
pub fn render_json(value: &Dynamic) -> String {
    if value.is_unit() {
        return String::new();
    }
    let v = to_json(value);
    serde_json::to_string_pretty(&v).unwrap_or_else(|_| v.to_string())
}

/// JSON with objects' keys in display order (serde would sort them: `rhai::Map` is a BTreeMap).
pub fn to_json(value: &Dynamic) -> serde_json::Value {
    if let Some(items) = value.read_lock::<Array>() {
        return serde_json::Value::Array(items.iter().map(to_json).collect());
    }
    if let Some(map) = value.read_lock::<Map>() {
        return serde_json::Value::Object(
            ordered_keys(&map, value.tag())
                .into_iter()
                .map(|k| {
                    let v = map.get(k.as_str()).map(to_json).unwrap_or(serde_json::Value::Null);
                    (k, v)
                })
                .collect(),
        );
    }
    serde_json::to_value(value).unwrap_or_else(|_| serde_json::Value::String(value.to_string()))
}

/// Human rendering for a given terminal width (separate from [`render`] so tests are deterministic).
pub fn render_with_width(value: &Dynamic, width: usize) -> String {
    if value.is_unit() {
        return String::new();
    }
    if let Some(items) = value.read_lock::<Array>() {
        return render_array(&items, width);
    }
    if let Some(map) = value.read_lock::<Map>() {
        return render_list(&map, value.tag());
    }
    render_value_inline(value)
}

fn render_array(items: &[Dynamic], width: usize) -> String {
    if items.is_empty() {
        return String::new();
    }
    let maps: Vec<Map> = items.iter().filter_map(|v| v.read_lock::<Map>().map(|m| m.clone())).collect();
    if maps.len() == items.len() {
        let kinds: Vec<i32> = items.iter().map(Dynamic::tag).collect();
        let columns = ordered_keys(&maps[0], kinds[0]);
        if !columns.is_empty()
            && columns.len() <= MAX_TABLE_COLUMNS
            && let Some(table) = render_table(&columns, &maps, width)
        {
            return table;
        }
        return maps.iter().zip(kinds).map(|(m, k)| render_list(m, k)).collect::<Vec<_>>().join("\n\n");
    }
    // Mixed or scalar arrays: one item per line, objects as list blocks.
    items
        .iter()
        .map(|v| match v.read_lock::<Map>() {
            Some(m) => render_list(&m, v.tag()),
            None => render_value_inline(v),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// An explicit Format-Table (PowerShell front end): always a table, of `columns` (default: the
/// first object's properties); non-objects are shown as they are.
pub fn format_table(items: &[Dynamic], columns: &[String]) -> String {
    let maps: Vec<Map> = items.iter().filter_map(|v| v.read_lock::<Map>().map(|m| m.clone())).collect();
    if maps.is_empty() || maps.len() != items.len() {
        return render_array(items, usize::MAX);
    }
    let columns =
        if columns.is_empty() { ordered_keys(&maps[0], items[0].tag()) } else { select_columns(&maps[0], columns) };
    render_table(&columns, &maps, usize::MAX).unwrap_or_default()
}

/// An explicit Format-List (PowerShell front end): every object as `Name : value` lines.
pub fn format_list(items: &[Dynamic], columns: &[String]) -> String {
    items
        .iter()
        .map(|v| match v.read_lock::<Map>() {
            Some(m) if columns.is_empty() => render_list(&m, v.tag()),
            Some(m) => {
                let picked: Map = select_columns(&m, columns)
                    .into_iter()
                    .map(|k| {
                        let value = crate::filters::expr::lookup_ci(&m, &k).cloned().unwrap_or(Dynamic::UNIT);
                        (k.into(), value)
                    })
                    .collect();
                render_list(&picked, v.tag())
            }
            None => render_value_inline(v),
        })
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// The requested columns in their requested order, with wildcards expanded and the object's own
/// spelling of each property.
fn select_columns(map: &Map, requested: &[String]) -> Vec<String> {
    let keys = ordered_keys(map, 0);
    let mut out: Vec<String> = Vec::new();
    for r in requested {
        let matched: Vec<String> = match crate::values::wildcard::Wildcard::new(r) {
            Ok(w) if crate::values::wildcard::has_wildcards(r) => {
                keys.iter().filter(|k| w.is_match(k)).cloned().collect()
            }
            _ => vec![keys.iter().find(|k| k.eq_ignore_ascii_case(r)).cloned().unwrap_or_else(|| r.clone())],
        };
        for m in matched {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    out
}

/// Format-Table: header, dashes as long as each header, left-aligned cells separated by one space.
/// `None` when a line would be wider than `width` (the caller falls back to a list).
fn render_table(columns: &[String], rows: &[Map], width: usize) -> Option<String> {
    let mut table = Table::new();
    table.load_style(presets::NOTHING);
    table.set_content_arrangement(ContentArrangement::Disabled);
    table.set_header(columns.to_vec());
    table.add_row(columns.iter().map(|c| "-".repeat(c.chars().count())).collect::<Vec<_>>());
    for row in rows {
        table.add_row(
            columns
                .iter()
                .map(|c| crate::filters::expr::lookup_ci(row, c).map(render_value_inline).unwrap_or_default())
                .map(|cell| one_line(&cell))
                .collect::<Vec<_>>(),
        );
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 1));
    }
    let lines: Vec<String> = table.lines().map(|l| l.trim_end().to_string()).collect();
    if lines.iter().any(|l| l.chars().count() > width) {
        return None;
    }
    Some(lines.join("\n"))
}

/// A table cell must stay on one line; PowerShell shows embedded line breaks as spaces too.
fn one_line(s: &str) -> String {
    if s.contains(['\n', '\r']) {
        s.split(['\n', '\r']).filter(|p| !p.is_empty()).collect::<Vec<_>>().join(" ")
    } else {
        s.to_string()
    }
}

/// Format-List: `Name : value` lines, names padded to the longest; continuation lines of a
/// multi-line value are indented to the value column.
fn render_list(map: &Map, tag: i32) -> String {
    let keys = ordered_keys(map, tag);
    let pad = keys.iter().map(|k| k.chars().count()).max().unwrap_or(0);
    let mut out = Vec::with_capacity(keys.len());
    for key in &keys {
        let value = map.get(key.as_str()).map(render_value_inline).unwrap_or_default();
        let mut lines = value.lines();
        let first = lines.next().unwrap_or("");
        let mut line = format!("{key:<pad$} : {first}");
        for rest in lines {
            line.push('\n');
            line.push_str(&" ".repeat(pad + 3));
            line.push_str(rest);
        }
        out.push(line.trim_end().to_string());
    }
    out.join("\n")
}

/// Keys of an object in display order: its type's property order (reference 1.11) when the
/// object came from a cmdlet, the order it was built in for objects a script built (see
/// [`order_tag`]), else `Identity` first; remaining keys follow in map order.
pub fn ordered_keys(map: &Map, tag: i32) -> Vec<String> {
    if let Some(order) = built_order(tag) {
        let mut keys: Vec<String> = order.iter().filter(|k| map.contains_key(k.as_str())).cloned().collect();
        keys.extend(map.keys().filter(|k| !order.iter().any(|o| o == k.as_str())).map(|k| k.to_string()));
        return keys;
    }
    let lead: &[&str] = ObjType::from_tag(tag).map(ObjType::properties).unwrap_or(&["Identity"]);
    let mut keys: Vec<String> = lead.iter().filter(|k| map.contains_key(**k)).map(|k| k.to_string()).collect();
    keys.extend(map.keys().filter(|k| !lead.contains(&k.as_str())).map(|k| k.to_string()));
    keys
}

/// Tags at and above this one stand for a property order registered by [`order_tag`].
const ORDER_TAG_BASE: i32 = 0x10_0000;
/// Distinct property orders kept; beyond this, objects fall back to map order.
const MAX_ORDERS: usize = 4096;

/// Registered property orders: by tag (index), and the tag of each order.
type Orders = (Vec<std::rc::Rc<[String]>>, std::collections::HashMap<Vec<String>, i32>);

thread_local! {
    static ORDERS: std::cell::RefCell<Orders> = Default::default();
}

/// The tag that makes an object display its properties in `keys` order (a PowerShell
/// `[PSCustomObject]@{...}`, a Select-Object result, an Import-Csv row): Rhai maps are sorted.
pub fn order_tag(keys: Vec<String>) -> i32 {
    ORDERS.with(|o| {
        let mut o = o.borrow_mut();
        if let Some(tag) = o.1.get(&keys) {
            return *tag;
        }
        if o.0.len() >= MAX_ORDERS {
            return 0;
        }
        let tag = ORDER_TAG_BASE + o.0.len() as i32;
        o.0.push(keys.clone().into());
        o.1.insert(keys, tag);
        tag
    })
}

fn built_order(tag: i32) -> Option<std::rc::Rc<[String]>> {
    if tag < ORDER_TAG_BASE {
        return None;
    }
    ORDERS.with(|o| o.borrow().0.get((tag - ORDER_TAG_BASE) as usize).cloned())
}

/// One value on one line (table cells, list values, array items): PowerShell's conventions.
pub fn render_value_inline(v: &Dynamic) -> String {
    if v.is_unit() {
        return String::new();
    }
    if let Ok(b) = v.as_bool() {
        return if b { "True" } else { "False" }.to_string();
    }
    if let Ok(i) = v.as_int() {
        return i.to_string();
    }
    if let Ok(f) = v.as_float() {
        return format_float(f);
    }
    if let Some(s) = v.read_lock::<rhai::ImmutableString>() {
        return s.to_string();
    }
    if let Some(blob) = v.read_lock::<rhai::Blob>() {
        return format!("<{} bytes>", blob.len());
    }
    if let Some(items) = v.read_lock::<Array>() {
        return format!("{{{}}}", items.iter().map(render_value_inline).collect::<Vec<_>>().join(", "));
    }
    if let Some(map) = v.read_lock::<Map>() {
        let parts: Vec<String> = ordered_keys(&map, v.tag())
            .iter()
            .map(|k| format!("{k}={}", map.get(k.as_str()).map(render_value_inline).unwrap_or_default()))
            .collect();
        return format!("@{{{}}}", parts.join("; "));
    }
    v.to_string()
}

/// Round to 15 significant digits (as .NET displays doubles), then print the shortest form, so
/// `0.1 + 0.2` shows `0.3` and `2.0` shows `2`.
fn format_float(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let rounded: f64 = format!("{f:.14e}").parse().unwrap_or(f);
    format!("{rounded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(pairs: &[(&str, Dynamic)]) -> Dynamic {
        let mut m = Map::new();
        for (k, v) in pairs {
            m.insert((*k).into(), v.clone());
        }
        Dynamic::from_map(m)
    }

    fn s(v: &str) -> Dynamic {
        Dynamic::from(v.to_string())
    }

    #[test]
    fn unit_renders_nothing() {
        assert_eq!(render(&Dynamic::UNIT, false), "");
        assert_eq!(render(&Dynamic::UNIT, true), "");
        assert_eq!(render_with_width(&Dynamic::from_array(vec![]), 80), "");
    }

    #[test]
    fn scalars_inline() {
        assert_eq!(render_value_inline(&Dynamic::TRUE), "True");
        assert_eq!(render_value_inline(&Dynamic::FALSE), "False");
        assert_eq!(render_value_inline(&Dynamic::from(42_i64)), "42");
        assert_eq!(render_value_inline(&Dynamic::from(2.0_f64)), "2");
        assert_eq!(render_value_inline(&Dynamic::from(0.5_f64)), "0.5");
        assert_eq!(render_value_inline(&Dynamic::from(0.1_f64 + 0.2_f64)), "0.3");
        assert_eq!(render_value_inline(&Dynamic::from(f64::NAN)), "NaN");
        assert_eq!(render_value_inline(&s("pc01.contoso.com")), "pc01.contoso.com");
        assert_eq!(render_value_inline(&Dynamic::from_blob(vec![1, 2, 3])), "<3 bytes>");
        assert_eq!(render_value_inline(&Dynamic::UNIT), "");
        assert_eq!(render_value_inline(&Dynamic::from_array(vec![s("a"), s("b"), s("c")])), "{a, b, c}");
        assert_eq!(render_value_inline(&Dynamic::from_array(vec![])), "{}");
        let nested = obj(&[("Name", s("x")), ("Identity", s("id")), ("Flag", Dynamic::TRUE)]);
        assert_eq!(render_value_inline(&nested), "@{Identity=id; Flag=True; Name=x}");
    }

    #[test]
    fn scalars_render_as_is() {
        assert_eq!(render_with_width(&s("hello\nworld"), 80), "hello\nworld");
        assert_eq!(render_with_width(&Dynamic::from(7_i64), 80), "7");
        let arr = Dynamic::from_array(vec![s("a"), Dynamic::from(1_i64), Dynamic::TRUE]);
        assert_eq!(render_with_width(&arr, 80), "a\n1\nTrue");
    }

    #[test]
    fn small_objects_make_a_table() {
        let rows = Dynamic::from_array(vec![
            obj(&[("Name", s("Finance")), ("Identity", s("pc01\\Finance")), ("Disabled", Dynamic::FALSE)]),
            obj(&[("Name", s("Ops")), ("Identity", s("pc01\\Ops")), ("Disabled", Dynamic::TRUE)]),
        ]);
        let out = render_with_width(&rows, 120);
        let expected = "\
Identity     Disabled Name
--------     -------- ----
pc01\\Finance False    Finance
pc01\\Ops     True     Ops";
        assert_eq!(out, expected);
    }

    #[test]
    fn table_cells_render_lists_and_missing_properties() {
        let rows = Dynamic::from_array(vec![
            obj(&[("Identity", s("a")), ("Members", Dynamic::from_array(vec![s("x"), s("y")]))]),
            obj(&[("Identity", s("b"))]),
        ]);
        let out = render_with_width(&rows, 120);
        assert_eq!(out, "Identity Members\n-------- -------\na        {x, y}\nb");
    }

    #[test]
    fn wide_or_large_objects_make_a_list() {
        let wide = Dynamic::from_array(vec![obj(&[("Identity", s("a")), ("Description", s(&"z".repeat(200)))])]);
        let out = render_with_width(&wide, 80);
        assert!(out.starts_with("Identity    : a\nDescription : zzz"), "{out}");

        let many: Vec<(&str, Dynamic)> =
            ["A", "B", "C", "D", "E", "F"].iter().map(|k| (*k, Dynamic::from(1_i64))).collect();
        let arr = Dynamic::from_array(vec![obj(&many), obj(&many)]);
        let out = render_with_width(&arr, 200);
        assert_eq!(out, "A : 1\nB : 1\nC : 1\nD : 1\nE : 1\nF : 1\n\nA : 1\nB : 1\nC : 1\nD : 1\nE : 1\nF : 1");
    }

    #[test]
    fn single_object_is_a_list_with_padded_names() {
        let o = obj(&[
            ("PoolState", s("Normal")),
            ("Identity", s("PersistentChatServer:pc01.contoso.com")),
            ("Text", s("line one\nline two")),
            ("Empty", Dynamic::UNIT),
        ]);
        let out = render_with_width(&o, 80);
        let expected = "\
Identity  : PersistentChatServer:pc01.contoso.com
Empty     :
PoolState : Normal
Text      : line one
            line two";
        assert_eq!(out, expected);
    }

    #[test]
    fn json_keeps_identity_first_and_blobs_as_numbers() {
        let o = obj(&[("Name", s("x")), ("Identity", s("id")), ("Data", Dynamic::from_blob(vec![1, 2]))]);
        let out = render(&Dynamic::from_array(vec![o]), true);
        let v: serde_json::Value = serde_json::from_str(&out).expect("valid JSON");
        let first = &v[0];
        assert_eq!(first.as_object().and_then(|m| m.keys().next()).map(String::as_str), Some("Identity"));
        assert_eq!(first["Data"], serde_json::json!([1, 2]));
        assert!(out.contains('\n'), "pretty printed");
        assert_eq!(render(&s("text"), true), "\"text\"");
    }
}
