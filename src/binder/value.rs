//! Bound parameter values and their conversion from Rhai values.

use chrono::TimeDelta;
use rhai::{Dynamic, Map};

use super::modifier::ListModifier;
use crate::catalog::{ObjType, Param, Range, Ty};
use crate::errors::CmdletError;
use crate::values::dns::is_fqdn;
use crate::values::time::{self, DateArg};

#[derive(Debug, Clone)]
pub struct Credential {
    pub user: String,
    pub password: Option<String>,
}

/// A converted, validated parameter value.
#[derive(Debug, Clone)]
pub enum Value {
    /// `()` given explicitly: clears a nullable property.
    Null,
    Str(String),
    Bool(bool),
    Int(i64),
    /// Canonical enum spelling from the catalog.
    Enum(&'static str),
    /// The date and the text it was given as (the audit trail keeps both for a date alone).
    Date(DateArg, String),
    Span(TimeDelta),
    List(Vec<String>),
    Modifier(ListModifier),
    /// An object, its type if tagged, and what a Get stamped it with (`objects::AsRead`).
    Object(Option<ObjType>, Map, Option<crate::objects::AsRead>),
    Bytes(Vec<u8>),
    Credential(Credential),
}

fn err(p: &Param, msg: impl std::fmt::Display) -> CmdletError {
    CmdletError::binding(format!("cannot bind parameter '{}': {msg}", p.name)).terminating()
}

/// How a value reads in an error message.
pub fn describe(d: &Dynamic) -> String {
    if d.is_unit() {
        "()".into()
    } else if d.is_string() {
        format!("\"{d}\"")
    } else if d.is_map() {
        "an object map".into()
    } else if d.is_array() {
        "an array".into()
    } else {
        format!("{} {d}", d.type_name())
    }
}

fn nullable(ty: Ty) -> bool {
    matches!(ty, Ty::String | Ty::Sip | Ty::Fqdn | Ty::Path | Ty::ListModifier | Ty::StringList | Ty::Filter)
}

/// Every text argument, list entries included, passes here: its length and control characters
/// are checked once for every cmdlet and front end.
fn as_text(p: &Param, d: &Dynamic) -> Result<String, CmdletError> {
    if let Some(s) = d.read_lock::<rhai::ImmutableString>() {
        crate::values::limits::check(crate::values::limits::Field::of_param(p.name), &s).map_err(|m| err(p, m))?;
        return Ok(s.to_string());
    }
    if d.is_int() || d.is_float() || d.is_char() || d.is_bool() {
        return Ok(d.to_string());
    }
    Err(err(p, format!("expected a string, got {}", describe(d))))
}

fn as_int(p: &Param, d: &Dynamic) -> Result<i64, CmdletError> {
    if let Ok(i) = d.as_int() {
        return Ok(i);
    }
    if let Ok(f) = d.as_float()
        && f.fract() == 0.0
        && f.abs() < 9.0e15
    {
        return Ok(f as i64);
    }
    if let Some(s) = d.read_lock::<rhai::ImmutableString>()
        && let Ok(i) = s.trim().parse::<i64>()
    {
        return Ok(i);
    }
    Err(err(p, format!("expected an integer, got {}", describe(d))))
}

fn strings(p: &Param, d: &Dynamic) -> Result<Vec<String>, CmdletError> {
    if let Some(arr) = d.read_lock::<rhai::Array>() {
        return arr.iter().map(|x| as_text(p, x)).collect();
    }
    if d.is_unit() {
        return Ok(Vec::new());
    }
    Ok(vec![as_text(p, d)?])
}

fn check_range(p: &Param, n: i64) -> Result<(), CmdletError> {
    if let Some(Range::Int(min, max)) = p.range
        && (n < min || n > max)
    {
        return Err(CmdletError::out_of_range(format!(
            "parameter '{}': {n} is out of range; valid values are {min} to {max}",
            p.name
        ))
        .terminating());
    }
    Ok(())
}

fn bounded(p: &Param, n: i64, min: i64, max: i64, ty: &str) -> Result<i64, CmdletError> {
    if n < min || n > max {
        return Err(err(p, format!("{n} is not a valid {ty} (valid: {min} to {max})")));
    }
    check_range(p, n)?;
    Ok(n)
}

fn is_guid(s: &str) -> bool {
    let s = s.trim_start_matches('{').trim_end_matches('}');
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups.iter().zip([8, 4, 4, 4, 12]).all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

fn modifier(p: &Param, d: &Dynamic) -> Result<ListModifier, CmdletError> {
    if d.is_unit() {
        return Ok(ListModifier::clear());
    }
    let Some(map) = d.read_lock::<Map>() else {
        return Ok(ListModifier::replace(strings(p, d)?));
    };
    let mut m = ListModifier::default();
    for (k, v) in map.iter() {
        let items = strings(p, v)?;
        match k.to_ascii_lowercase().as_str() {
            "add" => m.add = items,
            "remove" => m.remove = items,
            "replace" => {
                m.empty_replace = items.is_empty();
                m.replace = items;
            }
            other => {
                return Err(err(p, format!("disallowed key '{other}' in list modifier; use Add, Remove or Replace")));
            }
        }
    }
    // PowerShell's PSListModifier ignores Add and Remove beside a non-empty Replace: a change the caller asked
    // for would be dropped without a word, so the combination is refused (an empty Replace means no replacement).
    if !m.replace.is_empty() && (!m.add.is_empty() || !m.remove.is_empty()) {
        let other = match (m.add.is_empty(), m.remove.is_empty()) {
            (false, true) => "Add",
            (true, false) => "Remove",
            _ => "Add and Remove",
        };
        return Err(err(
            p,
            format!(
                "Replace cannot be combined with {other} in one list modifier ({other} would be ignored); \
                 make two calls: the first with only Replace, the second with only {other}"
            ),
        ));
    }
    Ok(m)
}

/// Convert one Rhai value to the parameter's type, checking bounds and ranges.
pub fn convert(p: &Param, d: &Dynamic) -> Result<Value, CmdletError> {
    if d.is_unit() {
        if p.ty == Ty::ListModifier {
            return Ok(Value::Modifier(ListModifier::clear()));
        }
        if nullable(p.ty) {
            return Ok(Value::Null);
        }
        return Err(err(p, format!("the argument is null; a {} value is required", p.ty.display())));
    }
    Ok(match p.ty {
        Ty::String | Ty::Path | Ty::Filter => Value::Str(as_text(p, d)?),
        Ty::Sip => Value::Str(as_text(p, d)?.trim().to_string()),
        Ty::Fqdn => {
            let s = as_text(p, d)?.trim().to_string();
            if !is_fqdn(&s) {
                return Err(err(
                    p,
                    format!("'{s}' is not a valid FQDN (labels of letters, digits and hyphens separated by dots)"),
                ));
            }
            Value::Str(s)
        }
        Ty::Guid => {
            let s = as_text(p, d)?;
            if !is_guid(&s) {
                return Err(err(p, format!("'{s}' is not a GUID (form 38aad667-af54-4397-aaa7-e94c79ec2308)")));
            }
            Value::Str(s.trim_start_matches('{').trim_end_matches('}').to_ascii_lowercase())
        }
        Ty::Bool | Ty::Switch => match d.as_bool() {
            Ok(b) => Value::Bool(b),
            Err(_) => match d.as_int() {
                Ok(0) => Value::Bool(false),
                Ok(1) => Value::Bool(true),
                // As PowerShell says it: a text "False" is not a boolean there either.
                _ if crate::errors::in_powershell() => {
                    let meant =
                        d.clone().into_string().ok().and_then(|t| match t.trim().to_ascii_lowercase().as_str() {
                            "true" => Some("$true"),
                            "false" => Some("$false"),
                            _ => None,
                        });
                    let sep = if p.ty == Ty::Switch { ":" } else { " " };
                    let hint = meant.map(|m| format!(": write -{}{sep}{m}", p.name)).unwrap_or_default();
                    return Err(err(p, format!("expected $true or $false (or 1 or 0), got {}{hint}", describe(d))));
                }
                _ => return Err(err(p, format!("expected true or false, got {}", describe(d)))),
            },
        },
        Ty::Int16 => Value::Int(bounded(p, as_int(p, d)?, i16::MIN as i64, i16::MAX as i64, "Int16")?),
        Ty::Int32 => Value::Int(bounded(p, as_int(p, d)?, i32::MIN as i64, i32::MAX as i64, "Int32")?),
        Ty::UInt32 => Value::Int(bounded(p, as_int(p, d)?, 0, u32::MAX as i64, "UInt32")?),
        Ty::Unlimited => {
            if let Some(s) = d.read_lock::<rhai::ImmutableString>()
                && s.trim().eq_ignore_ascii_case("unlimited")
            {
                return Ok(Value::Int(i32::MAX as i64));
            }
            Value::Int(bounded(p, as_int(p, d)?, 0, i32::MAX as i64, "count (0 to 2147483647 or Unlimited)")?)
        }
        Ty::Enum(values) => {
            let s = as_text(p, d)?;
            match values.iter().find(|v| v.eq_ignore_ascii_case(s.trim())) {
                Some(v) => Value::Enum(v),
                None => {
                    let hint = crate::binder::suggest(s.trim(), values.iter().copied())
                        .map(|n| format!("; did you mean '{n}'?"))
                        .unwrap_or_default();
                    return Err(err(p, format!("'{s}' is not one of {}{hint}", values.join(", "))));
                }
            }
        }
        Ty::TimeSpan => {
            let s = as_text(p, d)?;
            let span = time::parse_timespan(&s).map_err(|e| err(p, e))?;
            if let Some(Range::Span(min, max)) = p.range {
                let secs = span.num_seconds();
                if span < TimeDelta::seconds(min) || span > TimeDelta::seconds(max) {
                    let fmt = |x: i64| time::format_timespan(TimeDelta::seconds(x));
                    return Err(CmdletError::out_of_range(format!(
                        "parameter '{}': {} ({secs} s) is out of range; valid values are {} to {}",
                        p.name,
                        time::format_timespan(span),
                        fmt(min),
                        fmt(max)
                    ))
                    .terminating());
                }
            }
            Value::Span(span)
        }
        Ty::DateTime => {
            let text = as_text(p, d)?;
            Value::Date(time::parse_datetime(&text).map_err(|e| err(p, e))?, text)
        }
        Ty::ListModifier => Value::Modifier(modifier(p, d)?),
        Ty::StringList => Value::List(strings(p, d)?),
        Ty::Credential => {
            if let Some(map) = d.read_lock::<Map>() {
                let field = |k: &str| map.get(k).filter(|v| !v.is_unit()).map(|v| v.to_string());
                match field("UserName") {
                    Some(user) => Value::Credential(Credential { user, password: field("Password") }),
                    None => return Err(err(p, "a credential object (from get_credential) has a UserName")),
                }
            } else {
                Value::Credential(Credential { user: as_text(p, d)?, password: None })
            }
        }
        Ty::Bytes => match d.read_lock::<rhai::Blob>() {
            Some(b) => Value::Bytes(b.clone()),
            None => return Err(err(p, format!("expected a byte array (blob), got {}", describe(d)))),
        },
        Ty::Object(want) => match d.read_lock::<Map>() {
            Some(map) => {
                let tag = ObjType::from_tag(d.tag());
                if let Some(t) = tag
                    && t != want
                {
                    return Err(err(p, format!("expected a {} object, got a {}", want.type_name(), t.type_name())));
                }
                // A property the type does not have (`x.Descripton = "..."`) would be dropped
                // silently when the object is written back.
                if let Some(unknown) = map.keys().find_map(|k| want.check_property(k, &[]).err()) {
                    return Err(err(p, format!("{unknown}; nothing was changed")));
                }
                Value::Object(tag, map.clone(), crate::objects::as_read(d.tag()))
            }
            None => return Err(err(p, format!("expected a {} object, got {}", want.type_name(), describe(d)))),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::param;

    #[test]
    fn fqdn_syntax() {
        assert!(is_fqdn("pc01.contoso.com"));
        assert!(is_fqdn("pcsrv01"));
        assert!(!is_fqdn("pc01..contoso.com"));
        assert!(!is_fqdn("-pc.contoso.com"));
        assert!(!is_fqdn("pc_01.contoso.com"));
    }

    #[test]
    fn ints_respect_type_bounds_then_ranges() {
        let p = param("DefaultChatHistory", Ty::Int16, "d").range(1, 500);
        assert!(matches!(convert(&p, &Dynamic::from(30_i64)), Ok(Value::Int(30))));
        let e = convert(&p, &Dynamic::from(600_i64)).unwrap_err();
        assert_eq!(e.kind, crate::errors::ErrorKind::OutOfRange);
        assert!(e.terminating);
        let e = convert(&p, &Dynamic::from(40000_i64)).unwrap_err();
        assert_eq!(e.kind, crate::errors::ErrorKind::ParameterBinding);
        let u = param("MaxFileSizeKB", Ty::UInt32, "d");
        assert!(convert(&u, &Dynamic::from(-1_i64)).is_err());
    }

    #[test]
    fn enums_are_case_insensitive_and_canonical() {
        let p = param("PoolState", Ty::Enum(&["Normal", "FailedOver"]), "d");
        assert!(matches!(convert(&p, &Dynamic::from("failedover")), Ok(Value::Enum("FailedOver"))));
        let e = convert(&p, &Dynamic::from("Failover")).unwrap_err();
        assert!(e.message.contains("Normal, FailedOver"), "{}", e.message);
        assert!(e.message.contains("did you mean 'FailedOver'"), "{}", e.message);
        let inv = param("Invitations", Ty::Enum(&["Inherit", "False"]), "d");
        assert!(matches!(convert(&inv, &Dynamic::from(false)), Ok(Value::Enum("False"))));
    }

    #[test]
    fn list_modifier_forms() {
        let p = param("Members", Ty::ListModifier, "d");
        let mut m = Map::new();
        m.insert("Add".into(), Dynamic::from("a"));
        m.insert("remove".into(), Dynamic::from(vec![Dynamic::from("b")]));
        match convert(&p, &Dynamic::from(m)) {
            Ok(Value::Modifier(lm)) => {
                assert_eq!(lm.add, vec!["a"]);
                assert_eq!(lm.remove, vec!["b"]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(convert(&p, &Dynamic::UNIT), Ok(Value::Modifier(ListModifier { clear: true, .. }))));
        let mut bad = Map::new();
        bad.insert("Append".into(), Dynamic::from("x"));
        assert!(convert(&p, &Dynamic::from(bad)).unwrap_err().message.contains("disallowed key"));
        // Replace beside Add or Remove is refused; beside an empty Add, or an empty Replace beside Add, it binds.
        let both = |k: &str, v: Dynamic| {
            let mut m = Map::new();
            m.insert("Replace".into(), Dynamic::from("r"));
            m.insert(k.into(), v);
            convert(&p, &Dynamic::from(m))
        };
        let e = both("Add", Dynamic::from("a")).unwrap_err();
        assert!(e.message.contains("Replace cannot be combined with Add"), "{}", e.message);
        assert!(both("remove", Dynamic::from("a")).unwrap_err().message.contains("with Remove"));
        assert!(matches!(both("Add", Dynamic::from(rhai::Array::new())), Ok(Value::Modifier(_))));
        let mut empty_replace = Map::new();
        empty_replace.insert("Replace".into(), Dynamic::from(rhai::Array::new()));
        empty_replace.insert("Add".into(), Dynamic::from("a"));
        assert!(matches!(convert(&p, &Dynamic::from(empty_replace)), Ok(Value::Modifier(_))));
    }

    #[test]
    fn null_only_where_nullable() {
        let b = param("Disabled", Ty::Bool, "d");
        assert!(convert(&b, &Dynamic::UNIT).is_err());
        let s = param("Description", Ty::String, "d");
        assert!(matches!(convert(&s, &Dynamic::UNIT), Ok(Value::Null)));
    }
}
