//! What the handlers derive from an object type's descriptor: the output object, the properties
//! a `-Filter` expression reads, and the plain properties that New and Set parameters (and a
//! piped `-Instance` object) set as they are.

use rhai::{Dynamic, Map};

use super::chat::{Principals, instance_bool, instance_enum, instance_text};
use super::message::posted_at_text;
use super::principals::object_class;
use crate::binder::Bound;
use crate::catalog::descriptor::{Access, Cell, Property, Shape, Source};
use crate::catalog::enums::{Named, PrincipalKind};
use crate::errors::CmdletResult;
use crate::objects::{list, object, text};
use crate::store::described::Described;

const MB: f64 = 1_048_576.0;

/// `<pool>\<name>` of a stored object.
pub fn identity<R: Described>(r: &R) -> String {
    let cell = |name| R::DESCRIPTOR.find(name).and_then(|(_, c)| r.cells()[c].text()).unwrap_or_default();
    format!("{}\\{}", cell("PersistentChatPoolFqdn"), cell("Name"))
}

/// The output object of a stored row, its lists rendered by `names`.
pub fn object_of<R: Described>(r: &R, names: &mut Principals) -> Dynamic {
    build(r, |list| names.render_list(list))
}

/// The output object of a row of a type without lists (add-ins, endpoints).
pub fn scalar_object<R: Described>(r: &R) -> Dynamic {
    build(r, |_| Dynamic::UNIT)
}

fn build<R: Described>(r: &R, mut render_list: impl FnMut(&[String]) -> Dynamic) -> Dynamic {
    let d = R::DESCRIPTOR;
    // Sized up front: the map is built from a list that would otherwise grow three times per row.
    let mut props = Vec::with_capacity(d.properties.len());
    for (p, cell) in d.with_cells() {
        let v = match p.source {
            Source::List(stored_as) => render_list(r.list(stored_as)),
            _ => scalar(r, p, cell),
        };
        props.push((p.name, v));
    }
    object(d.obj, props)
}

/// The properties whose stored cells or lists differ between `before` and `after`, as objects
/// show them: what a Set's audit record keeps (`Ctx::record_values` drops the rest as
/// unchanged). Rendering only these spares rendering and serialising every member list of both
/// objects for each object of a `get | set` pipeline.
pub fn changed_values<R: Described>(before: &R, after: &R, names: &mut Principals) -> (Map, Map) {
    let (b, a) = (before.cells(), after.cells());
    let (mut old, mut new) = (Map::new(), Map::new());
    for (p, cell) in R::DESCRIPTOR.with_cells() {
        let (was, is) = match p.source {
            Source::List(stored_as) => {
                if before.list(stored_as) == after.list(stored_as) {
                    continue;
                }
                (names.render_list(before.list(stored_as)), names.render_list(after.list(stored_as)))
            }
            // Derived from other cells (pool and name): cheap, and record_values drops it if equal.
            Source::Identity => (scalar(before, p, cell), scalar(after, p, cell)),
            _ if b[cell..cell + p.cells()] == a[cell..cell + p.cells()] => continue,
            _ => (scalar(before, p, cell), scalar(after, p, cell)),
        };
        old.insert(p.name.into(), was);
        new.insert(p.name.into(), is);
    }
    (old, new)
}

/// A scalar property (not a list) as objects and filters show it.
pub fn scalar<R: Described>(r: &R, p: &Property, cell: usize) -> Dynamic {
    let cells = r.cells();
    match p.source {
        Source::Identity => text(identity(r)),
        Source::Reference { .. } => shown(Shape::OptText, &cells[cell + 1]),
        Source::Column(_) => shown(p.shape, &cells[cell]),
        Source::Attribute { .. } => shown(Shape::OptText, &cells[cell]),
        Source::List(_) => Dynamic::UNIT,
    }
}

fn shown(shape: Shape, cell: &Cell) -> Dynamic {
    match (cell, shape) {
        (Cell::Null, _) => Dynamic::UNIT,
        (Cell::Text(s), _) => text(s.clone()),
        (Cell::Bool(b), _) => Dynamic::from(*b),
        (Cell::Enum(i), Shape::Enum(names)) => names.get(*i as usize).map_or(Dynamic::UNIT, |n| text(*n)),
        (Cell::Enum(i), Shape::ObjectClass) => {
            PrincipalKind::ALL.get(*i as usize).map_or(Dynamic::UNIT, |k| list(object_class(*k).iter().copied()))
        }
        (Cell::Int(n), Shape::SizeMb) => Dynamic::from(*n as f64 / MB),
        (Cell::Int(n), Shape::DateTime) => text(posted_at_text(*n)),
        (Cell::Int(n), _) => Dynamic::from(*n),
        (Cell::Enum(_), _) => Dynamic::UNIT,
    }
}

/// The scalar properties an expression reads, resolved once: (name as written, property, cell).
pub struct Projection(Vec<(String, &'static Property, usize)>);

impl Projection {
    /// `wanted` are names the caller has checked against the object type.
    pub fn new<R: Described>(wanted: &[String]) -> Projection {
        Projection(
            wanted
                .iter()
                .filter_map(|w| R::DESCRIPTOR.find(w).map(|(p, c)| (w.clone(), p, c)))
                .filter(|(_, p, _)| !matches!(p.source, Source::List(_)))
                .collect(),
        )
    }

    /// Whether the expression reads a list (the rows must then carry them, and whole objects are built).
    pub fn reads_lists<R: Described>(wanted: &[String]) -> bool {
        wanted.iter().any(|w| R::DESCRIPTOR.find(w).is_some_and(|(p, _)| matches!(p.source, Source::List(_))))
    }

    /// The projected properties of one row, as a filter sees them.
    pub fn of<R: Described>(&self, r: &R) -> Map {
        self.0.iter().map(|(name, p, cell)| (name.as_str().into(), scalar(r, p, *cell))).collect()
    }
}

/// Set the plain properties from a piped `-Instance` object (when given), then from the
/// parameters of the same names (which win).
pub fn apply_plain<R: Described>(r: &mut R, b: &Bound, instance: Option<&Map>) -> CmdletResult<()> {
    for (p, cell) in R::DESCRIPTOR.with_cells().filter(|(p, _)| p.access == Access::Plain) {
        if let Some(map) = instance
            && let Some(v) = from_instance(map, p)?
        {
            r.cells_mut()[cell] = v;
        }
        if let Some(v) = from_param(b, p) {
            r.cells_mut()[cell] = v;
        }
    }
    Ok(())
}

fn enum_cell(names: &[&str], v: &str) -> Option<Cell> {
    names.iter().position(|n| *n == v).map(|i| Cell::Enum(i as u8))
}

fn from_param(b: &Bound, p: &Property) -> Option<Cell> {
    match p.shape {
        Shape::Text | Shape::OptText => {
            b.has(p.name).then(|| b.str(p.name).map_or(Cell::Null, |s| Cell::Text(s.to_string())))
        }
        Shape::Bool => b.bool(p.name).map(Cell::Bool),
        Shape::Enum(names) => b.enum_value(p.name).and_then(|v| enum_cell(names, v)),
        Shape::SizeMb | Shape::DateTime | Shape::Principals | Shape::ObjectClass => None,
    }
}

fn from_instance(map: &Map, p: &Property) -> CmdletResult<Option<Cell>> {
    Ok(match p.shape {
        Shape::Text | Shape::OptText => instance_text(map, p.name).map(|v| v.map_or(Cell::Null, Cell::Text)),
        Shape::Bool => instance_bool(map, p.name)?.map(Cell::Bool),
        Shape::Enum(names) => instance_enum(map, p.name, names)?.and_then(|v| enum_cell(names, v)),
        Shape::SizeMb | Shape::DateTime | Shape::Principals | Shape::ObjectClass => None,
    })
}

/// The archived column properties of a row (export), each under its property name.
pub fn archived<R: Described>(r: &R) -> serde_json::Map<String, serde_json::Value> {
    use serde_json::Value as J;
    let cells = r.cells();
    archived_columns::<R>()
        .map(|(p, cell)| {
            let v = match (&cells[cell], p.shape) {
                (Cell::Null, _) => J::Null,
                (Cell::Text(s), _) => J::String(s.clone()),
                (Cell::Bool(b), _) => J::Bool(*b),
                (Cell::Enum(i), shape) => {
                    shape.names().and_then(|names| names.get(*i as usize)).map_or(J::Null, |n| J::String(n.to_string()))
                }
                (Cell::Int(n), Shape::DateTime) => J::String(posted_at_text(*n)),
                (Cell::Int(n), _) => J::from(*n),
            };
            (p.name.to_string(), v)
        })
        .collect()
}

fn archived_columns<R: Described>() -> impl Iterator<Item = (&'static Property, usize)> {
    R::DESCRIPTOR.with_cells().filter(|(p, _)| p.archived && matches!(p.source, Source::Column(_)))
}

/// The cells an archived document sets (import), checked: every key an archived property of the
/// type, every value of its shape, every property that cannot be null present. A nullable
/// property left out keeps the row's value. `Err` says what is wrong, for the caller to place.
pub fn from_archive<R: Described>(
    doc: &serde_json::Map<String, serde_json::Value>,
) -> Result<Vec<(usize, Cell)>, String> {
    use crate::values::limits::{self, Field};
    use serde_json::Value as J;
    if let Some(k) = doc.keys().find(|k| !archived_columns::<R>().any(|(p, _)| p.name == k.as_str())) {
        return Err(format!("unknown key '{}'", crate::values::text::clip(k, 80)));
    }
    let mut cells = Vec::new();
    for (p, cell) in archived_columns::<R>() {
        let Some(v) = doc.get(p.name) else {
            if p.shape.nullable() {
                continue;
            }
            return Err(format!("{} is missing", p.name));
        };
        let wrong = || format!("{} is {v}, not {}", p.name, expected(p.shape));
        let c = match (v, p.shape) {
            (J::Null, shape) if shape.nullable() => Cell::Null,
            (J::String(s), Shape::Text | Shape::OptText) => {
                limits::check(Field::Description, s).map_err(|e| format!("{}: {e}", p.name))?;
                Cell::Text(s.clone())
            }
            (J::Bool(b), Shape::Bool) => Cell::Bool(*b),
            (J::String(s), Shape::Enum(names)) => enum_cell(names, s).ok_or_else(|| {
                format!("{} '{}' is not one of {}", p.name, crate::values::text::clip(s, 80), names.join(", "))
            })?,
            (J::String(s), Shape::DateTime) => {
                let at = crate::values::time::parse_datetime(s).map_err(|e| format!("{}: {e}", p.name))?;
                Cell::Int(at.at.and_utc().timestamp_micros())
            }
            (J::Number(n), Shape::SizeMb) => Cell::Int(n.as_i64().ok_or_else(wrong)?),
            _ => return Err(wrong()),
        };
        cells.push((cell, c));
    }
    Ok(cells)
}

fn expected(shape: Shape) -> &'static str {
    match shape {
        Shape::Text => "a string",
        Shape::OptText => "a string or null",
        Shape::Bool => "true or false",
        Shape::Enum(_) => "one of its names",
        Shape::SizeMb => "a whole number",
        Shape::DateTime => "an ISO-8601 date-time or null",
        Shape::Principals => "a list",
        Shape::ObjectClass => "a principal kind",
    }
}
