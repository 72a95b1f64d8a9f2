//! What a plan would leave behind, derived from the store itself rather than from each cmdlet:
//! every object the catalog's Get cmdlets can list is read before the run and again after it
//! (inside the unit, before the rollback), and the two are compared object by object and
//! property by property, by the catalog's property lists. Objects are listed in the order the
//! run first changed them (the audit it wrote), then the files it would write.

use rhai::{Dynamic, Map};
use serde_json::{Value, json};

use super::Session;
use crate::catalog::{ObjType, Output};
use crate::files::PlannedFile;
use crate::invocation::Table;
use crate::values::text::escape_line;

/// The object types a plan compares: what the store keeps. Derived views (effective settings,
/// eligible principals) follow from these; messages are counted by their rooms' content size.
const PLANNED: &[ObjType] = &[
    ObjType::Service,
    ObjType::State,
    ObjType::Configuration,
    ObjType::ComplianceConfiguration,
    ObjType::Policy,
    ObjType::RunbookConfiguration,
    ObjType::Endpoint,
    ObjType::Addin,
    ObjType::Category,
    ObjType::ChatRoom,
    ObjType::AdPrincipal,
    ObjType::User,
    ObjType::Role,
];

/// Bookkeeping that every change moves (the pool's change counter), left out of a plan.
const BOOKKEEPING: &[(ObjType, &str)] = &[(ObjType::State, "Change")];

/// The objects of one type, each with its identity; or why they could not be read.
type Objects = Result<Vec<(String, Dynamic)>, String>;

/// Every stored object by type.
pub struct Snapshot(Vec<(ObjType, Objects)>);

/// The Get cmdlet that lists every object of each planned type (none takes an argument).
fn readers(handlers: &'static Table) -> impl Iterator<Item = (ObjType, &'static crate::invocation::Registration)> {
    handlers.cmdlets.iter().filter_map(|r| match r.cmdlet.output {
        Output::Collection(t)
            if PLANNED.contains(&t) && r.cmdlet.name.starts_with("Get-") && !r.cmdlet.name.contains("Effective") =>
        {
            Some((t, r))
        }
        _ => None,
    })
}

fn identity(t: ObjType, object: &Dynamic) -> String {
    let key = if t.properties().contains(&"Identity") { "Identity" } else { t.properties()[0] };
    object.read_lock::<Map>().and_then(|m| m.get(key).map(|v| v.to_string())).unwrap_or_default()
}

/// Read every stored object (in the session's open unit).
pub fn snapshot(s: &mut Session, handlers: &'static Table) -> Snapshot {
    let mut out = Vec::new();
    for (t, reader) in readers(handlers) {
        let read = super::invoke::read_all(s, reader)
            .map(|objects| objects.into_iter().map(|o| (identity(t, &o), o)).collect())
            .map_err(|e| format!("{}: {}", reader.cmdlet.name, e.message));
        out.push((t, read));
    }
    Snapshot(out)
}

/// One property's change.
pub struct Change {
    pub property: String,
    pub before: Dynamic,
    pub after: Dynamic,
}

/// One entry of a plan: an object created, changed or removed, or a file written.
pub struct Entry {
    pub action: &'static str,
    pub object_type: String,
    pub identity: String,
    pub changes: Vec<Change>,
}

fn same(a: &Dynamic, b: &Dynamic) -> bool {
    crate::output::to_json(a) == crate::output::to_json(b)
}

fn properties(t: ObjType, objects: &[&Dynamic]) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for o in objects {
        if let Some(map) = o.read_lock::<Map>() {
            for k in crate::output::ordered_keys(&map, o.tag()) {
                if !names.contains(&k) && !BOOKKEEPING.contains(&(t, k.as_str())) {
                    names.push(k);
                }
            }
        }
    }
    names
}

fn prop(o: Option<&Dynamic>, name: &str) -> Dynamic {
    o.and_then(|o| o.read_lock::<Map>().and_then(|m| m.get(name).cloned())).unwrap_or(Dynamic::UNIT)
}

fn is_empty(v: &Dynamic) -> bool {
    v.is_unit() || v.read_lock::<rhai::Array>().is_some_and(|a| a.is_empty())
}

/// The net effect of the run, object by object; `order`: the targets the run changed, in order.
/// Types that could not be read are returned apart, to be reported.
pub fn diff(before: &Snapshot, after: &Snapshot, order: &[String], files: &[PlannedFile]) -> (Vec<Entry>, Vec<String>) {
    let mut entries: Vec<(usize, Entry)> = Vec::new();
    let mut unreadable = Vec::new();
    let positions: std::collections::HashMap<String, usize> =
        order.iter().enumerate().rev().map(|(i, t)| (t.to_lowercase(), i)).collect();
    let position = |id: &str| positions.get(&id.to_lowercase()).copied().unwrap_or(usize::MAX);
    for ((t, was), (_, now)) in before.0.iter().zip(&after.0) {
        let (was, now) = match (was, now) {
            (Ok(w), Ok(n)) => (w, n),
            (Err(e), _) | (_, Err(e)) => {
                unreadable.push(e.clone());
                continue;
            }
        };
        let old: std::collections::HashMap<String, &Dynamic> = was.iter().map(|(i, o)| (i.to_lowercase(), o)).collect();
        let new: std::collections::HashMap<String, &Dynamic> = now.iter().map(|(i, o)| (i.to_lowercase(), o)).collect();
        // Objects after the run, then those it removed.
        let ids = now
            .iter()
            .map(|(i, _)| i)
            .chain(was.iter().map(|(i, _)| i).filter(|i| !new.contains_key(&i.to_lowercase())));
        for id in ids {
            let (b, a) = (old.get(&id.to_lowercase()).copied(), new.get(&id.to_lowercase()).copied());
            let action = match (b, a) {
                (None, Some(_)) => "Created",
                (Some(_), None) => "Removed",
                (Some(b), Some(a)) if same(b, a) => continue,
                _ => "Changed",
            };
            let objects: Vec<&Dynamic> = b.into_iter().chain(a).collect();
            let changes: Vec<Change> = properties(*t, &objects)
                .into_iter()
                .map(|p| Change { before: prop(b, &p), after: prop(a, &p), property: p })
                .filter(|c| match action {
                    "Changed" => !same(&c.before, &c.after),
                    "Created" => !is_empty(&c.after),
                    _ => !is_empty(&c.before),
                })
                .collect();
            if action == "Changed" && changes.is_empty() {
                continue;
            }
            let entry = Entry { action, object_type: t.type_name().to_string(), identity: id.clone(), changes };
            entries.push((position(id), entry));
        }
    }
    // Stable: objects the audit does not name keep the catalog's order, after those it does.
    entries.sort_by_key(|(p, _)| *p);
    let mut out: Vec<Entry> = entries.into_iter().map(|(_, e)| e).collect();
    for f in files {
        let size = |n: Option<u64>| n.map(|n| Dynamic::from(n as i64)).unwrap_or(Dynamic::UNIT);
        out.push(Entry {
            action: "File",
            object_type: "File".into(),
            identity: f.path.display().to_string(),
            changes: vec![Change { property: "Length".into(), before: size(f.before), after: size(Some(f.after)) }],
        });
    }
    (out, unreadable)
}

/// `[{Action, ObjectType, Identity, Changes: [{Property, Before, After}]}]`.
pub fn to_json(entries: &[Entry]) -> Value {
    Value::Array(
        entries
            .iter()
            .map(|e| {
                let changes: Vec<Value> = e
                    .changes
                    .iter()
                    .map(|c| {
                        json!({
                            "Property": c.property,
                            "Before": crate::output::to_json(&c.before),
                            "After": crate::output::to_json(&c.after),
                        })
                    })
                    .collect();
                json!({"Action": e.action, "ObjectType": e.object_type, "Identity": e.identity, "Changes": changes})
            })
            .collect(),
    )
}

fn shown(v: &Dynamic) -> String {
    if v.is_unit() {
        return "$null".into();
    }
    let text = crate::output::render_value_inline(v);
    if v.is_string() { format!("\"{}\"", escape_line(&text)) } else { escape_line(&text).into_owned() }
}

/// The plan for a person: one block per object, one line per property.
pub fn to_text(entries: &[Entry], exit_code: i32) -> String {
    let mut out = String::new();
    for e in entries {
        let id = escape_line(&e.identity);
        if e.action == "File" {
            let c = &e.changes[0];
            let what = if c.before.is_unit() {
                format!("new, {} bytes", c.after)
            } else {
                format!("replaced, {} → {} bytes", c.before, c.after)
            };
            out.push_str(&format!("File '{id}' would be written ({what})\n"));
            continue;
        }
        out.push_str(&format!("{} {} '{id}'\n", e.action, e.object_type));
        for c in &e.changes {
            let line = match e.action {
                "Created" => format!("    {}: {}\n", c.property, shown(&c.after)),
                "Removed" => format!("    {}: {}\n", c.property, shown(&c.before)),
                _ => format!("    {}: {} → {}\n", c.property, shown(&c.before), shown(&c.after)),
            };
            out.push_str(&line);
        }
    }
    let objects = entries.iter().filter(|e| e.action != "File").count();
    let files = entries.len() - objects;
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    out.push_str(&format!(
        "Plan: {} and {} would change; nothing was kept. The run would exit with code {exit_code}.\n",
        plural(objects, "object"),
        plural(files, "file")
    ));
    out
}
