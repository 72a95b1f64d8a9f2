//! Output objects: Rhai object maps tagged with their type (see `ObjType::tag`), so a piped object
//! binds ByValue to the `-Instance` of the matching cmdlet.

use rhai::{Array, Dynamic, Map};

use crate::catalog::ObjType;

/// Build an object from (property, value) pairs.
pub fn object(t: ObjType, props: impl IntoIterator<Item = (&'static str, Dynamic)>) -> Dynamic {
    let map: Map = props.into_iter().map(|(k, v)| (k.into(), v)).collect();
    let mut d = Dynamic::from_map(map);
    d.set_tag(t.tag());
    d
}

/// An optional string: `()` when absent (PowerShell's `$Null`).
pub fn opt(s: Option<impl Into<String>>) -> Dynamic {
    s.map(|s| Dynamic::from(s.into())).unwrap_or(Dynamic::UNIT)
}

pub fn text(s: impl Into<String>) -> Dynamic {
    Dynamic::from(s.into())
}

pub fn list<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Dynamic {
    Dynamic::from_array(items.into_iter().map(|s| Dynamic::from(s.into())).collect::<Array>())
}

/// Read a string property of an object map (`None` when missing or `()`).
pub fn prop_str(map: &Map, name: &str) -> Option<String> {
    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).filter(|(_, v)| !v.is_unit()).map(|(_, v)| v.to_string())
}
