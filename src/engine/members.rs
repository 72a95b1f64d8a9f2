//! Member enumeration: `get_cs_persistent_chat_room(id).Description` reads the property of the
//! objects a Get returned, as PowerShell's `(Get-CsPersistentChatRoom id).Description` does,
//! instead of Rhai's "a getter is not registered for type 'array'". And a property read on the
//! `()` a failed New returned says the cmdlet's error, not Rhai's.
//!
//! Rhai has no fallback getter, so one getter per property name the catalog knows is registered
//! on arrays and on `()`; any other name still fails, and `describe` words that failure as an
//! object's unknown property is (`no_property`).

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Position};

use super::SharedSession;
use crate::catalog::{ObjType, Output};

/// What the last cmdlet call returned when it returned nothing: a property read on `()` right
/// after says why there is no object.
#[derive(Debug, Clone)]
pub struct Nothing {
    pub cmdlet: &'static str,
    pub output: Output,
    /// The error the call wrote ("Cmdlet: Kind: message"), when it failed.
    pub error: Option<String>,
}

/// Every property name of the catalog's object types, once.
fn catalog_names() -> Vec<&'static str> {
    let mut names: Vec<&'static str> =
        ObjType::ALL.iter().flat_map(|t| t.properties().iter().chain(t.extra_properties())).copied().collect();
    names.sort_unstable();
    names.dedup();
    names
}

pub fn register(engine: &mut Engine, session: &SharedSession) {
    register_array_comparisons(engine);
    for name in catalog_names() {
        engine.register_get(name, move |items: &mut Array| enumerate(items, name));
        let s = session.clone();
        engine.register_get(name, move |_: &mut ()| -> Result<Dynamic, Box<EvalAltResult>> {
            Err(fail(of_nothing(name, s.borrow().nothing.as_ref())))
        });
    }
}

/// `==` and `!=` between an array and a single value: Rhai answers false (true) for any two
/// values of different types, so `get_cs_persistent_chat_state().InSync == false` over two pools
/// would be silently false. An array there is what member enumeration gave for several objects;
/// the comparison is an error that says how to ask what was meant.
fn register_array_comparisons(engine: &mut Engine) {
    macro_rules! both_ways {
        ($($t:ty),*) => {$(
            for op in ["==", "!="] {
                engine.register_fn(op, move |a: Array, v: $t| -> Result<bool, Box<EvalAltResult>> {
                    Err(fail(compared(op, a.len(), &Dynamic::from(v))))
                });
                engine.register_fn(op, move |v: $t, a: Array| -> Result<bool, Box<EvalAltResult>> {
                    Err(fail(compared(op, a.len(), &Dynamic::from(v))))
                });
            }
        )*};
    }
    // Not `()`: `x != ()` asks whether x is set at all, which an array is.
    both_ways!(bool, rhai::ImmutableString, i64, f64, char);
}

fn compared(op: &str, len: usize, value: &Dynamic) -> String {
    let shown = if value.is_string() { format!("{:?}", value.to_string()) } else { value.to_string() };
    format!(
        "cannot compare an array of {len} values with {shown} using {op}: ask .contains({shown}) for any, .all(|v| v {op} {shown}) for every one, or compare one item ([0])"
    )
}

fn fail(text: String) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(text.into(), Position::NONE).into()
}

/// `name` of each object of `items`: one object gives its value, several an array of their values
/// in order (an array property stays one value per object), none `()` as PowerShell gives `$null`.
/// An item without the property, or not an object, is an error, as reading it on the item is.
fn enumerate(items: &Array, name: &str) -> Result<Dynamic, Box<EvalAltResult>> {
    let mut values = Array::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        let Some(map) = item.read_lock::<Map>() else {
            return Err(fail(format!(
                "no property '{name}': item {i} of the array is {}, not an object",
                a_type(item.type_name())
            )));
        };
        match map.get(name) {
            Some(v) => values.push(v.clone()),
            None => {
                let kind = ObjType::from_tag(item.tag()).map(|t| format!(" ({})", t.type_name())).unwrap_or_default();
                return Err(fail(format!("no property '{name}' on item {i} of the array{kind}")));
            }
        }
    }
    Ok(match values.len() {
        0 => Dynamic::UNIT,
        1 => values.pop().unwrap_or(Dynamic::UNIT),
        _ => Dynamic::from_array(values),
    })
}

/// Why `name` cannot be read on `()`: the cmdlet that just returned nothing, and its error.
fn of_nothing(name: &str, nothing: Option<&Nothing>) -> String {
    let Some(n) = nothing else {
        return format!("no property '{name}': the value is () (nothing)");
    };
    let why = match (&n.error, n.output) {
        (Some(error), _) => return format!("no object to read '{name}' from: {error}"),
        (None, Output::PassThru(_)) => format!("{} returns nothing unless PassThru: true", n.cmdlet),
        (None, Output::Nothing | Output::Bytes) => format!("{} returns nothing", n.cmdlet),
        (None, _) => format!("{} returned nothing", n.cmdlet),
    };
    format!("no object to read '{name}' from: {why}")
}

fn a_type(rhai_type: &str) -> String {
    let t = match rhai_type {
        "()" => "() (nothing)",
        "string" | "ImmutableString" => "a string",
        "i64" => "a number",
        "f64" => "a decimal number",
        "bool" => "a bool",
        "char" => "a character",
        "array" => "an array",
        "map" => "an object",
        other => other,
    };
    t.to_string()
}

/// "no property 'X'; did you mean 'Y'?" for a property no object has: the catalog's nearest name
/// (the exact spelling of a name given in another case). A name some other kind of object has (a
/// group's `Members` read on a user) is no typo: it is not suggested as itself. `on` says what it
/// was read on when there is no suggestion.
pub fn no_property(name: &str, on: &str) -> String {
    let known = catalog_names();
    match crate::values::text::suggest(name, known.into_iter()).filter(|n| *n != name) {
        Some(n) => format!("no property '{name}'; did you mean '{n}'?"),
        None => format!("no property '{name}' on {on}"),
    }
}

/// Rhai's "Unknown property 'X' - a getter is not registered for type 'T'" as pchat says it.
pub fn unknown_getter(rhai_message: &str) -> Option<String> {
    let rest = rhai_message.strip_prefix("Unknown property '")?;
    let (name, rest) = rest.split_once("' - a getter is not registered for type '")?;
    let rhai_type = rest.strip_suffix('\'')?;
    let on = match rhai_type {
        "array" => "the array's objects".to_string(),
        other => a_type(other),
    };
    Some(no_property(name, &on))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rhai_getter_errors_read_as_unknown_properties() {
        let m = "Unknown property 'Descriptin' - a getter is not registered for type 'array'";
        assert_eq!(unknown_getter(m).unwrap(), "no property 'Descriptin'; did you mean 'Description'?");
        let m = "Unknown property 'description' - a getter is not registered for type 'array'";
        assert_eq!(unknown_getter(m).unwrap(), "no property 'description'; did you mean 'Description'?");
        let m = "Unknown property 'Zzzzzzzzzz' - a getter is not registered for type 'string'";
        assert_eq!(unknown_getter(m).unwrap(), "no property 'Zzzzzzzzzz' on a string");
        assert!(unknown_getter("something else").is_none());
    }

    #[test]
    fn one_object_gives_its_value_several_an_array_none_nothing() {
        let obj = |v: i64| {
            let mut m = Map::new();
            m.insert("Name".into(), Dynamic::from_int(v));
            Dynamic::from_map(m)
        };
        assert!(enumerate(&vec![], "Name").unwrap().is_unit());
        assert_eq!(enumerate(&vec![obj(1)], "Name").unwrap().as_int().unwrap(), 1);
        let two = enumerate(&vec![obj(1), obj(2)], "Name").unwrap().into_array().unwrap();
        assert_eq!(two.iter().map(|v| v.as_int().unwrap()).collect::<Vec<_>>(), [1, 2]);
        let e = enumerate(&vec![obj(1), Dynamic::from("x")], "Name").unwrap_err().to_string();
        assert!(e.contains("item 1 of the array is a string, not an object"), "{e}");
        let e = enumerate(&vec![obj(1)], "Identity").unwrap_err().to_string();
        assert!(e.contains("no property 'Identity' on item 0 of the array"), "{e}");
    }
}
