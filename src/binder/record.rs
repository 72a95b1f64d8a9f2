//! A bound call's parameters as the audit trail records them: canonical parameter names, values
//! as given (after conversion), secrets never. JSON, in the catalog's parameter order.

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::Bound;
use super::value::Value;
use crate::catalog::Param;
use crate::values::time::{format_datetime, format_timespan};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn to_json(value: &Value) -> Json {
    match value {
        Value::Null => Json::Null,
        Value::Str(s) => json!(s),
        Value::Bool(b) => json!(b),
        Value::Int(i) => json!(i),
        Value::Enum(e) => json!(e),
        // A date alone is widened by `param_json`, which knows the parameter; an instant is itself.
        Value::Date(d, _) => json!(format_datetime(d.at)),
        Value::Span(s) => json!(format_timespan(*s)),
        Value::List(items) => json!(items),
        Value::Modifier(m) if m.clear => Json::Null,
        Value::Modifier(m) => {
            let mut out = serde_json::Map::new();
            for (name, items) in [("Replace", &m.replace), ("Add", &m.add), ("Remove", &m.remove)] {
                if !items.is_empty() {
                    out.insert(name.into(), json!(items));
                }
            }
            Json::Object(out)
        }
        // An object is recorded by what identifies it, not by every property it carried.
        Value::Object(ty, map, _) => {
            let identity = map.get("Identity").map(|v| v.to_string());
            json!({ "Type": ty.map(|t| t.type_name()), "Identity": identity })
        }
        Value::Bytes(bytes) => json!({ "Bytes": bytes.len(), "SHA256": hex(&Sha256::digest(bytes)) }),
        Value::Credential(c) => json!({ "UserName": c.user, "Password": "***" }),
    }
}

/// Append `value` as compact JSON: exactly what `to_json(value).to_string()` gives, without
/// building the tree for the common scalar cases (one call per changed object of a pipeline).
fn write_json(out: &mut Vec<u8>, value: &Value) {
    // Writing into a Vec cannot fail, and these values always serialise.
    let _ = match value {
        Value::Null => serde_json::to_writer(&mut *out, &()),
        Value::Str(s) => serde_json::to_writer(&mut *out, s.as_str()),
        Value::Bool(b) => serde_json::to_writer(&mut *out, b),
        Value::Int(i) => serde_json::to_writer(&mut *out, i),
        Value::Enum(e) => serde_json::to_writer(&mut *out, e),
        Value::List(items) => serde_json::to_writer(&mut *out, items),
        other => serde_json::to_writer(&mut *out, &to_json(other)),
    };
}

/// A parameter's value as recorded: `to_json`, except that a date given without a time records
/// the text given and the instant it stood for (`Bound::instant`: the start of that day, or its
/// end for a parameter that ends a range), so a record of `EndDate: "11/30/2026"` says that
/// messages through 2026-11-30T23:59:59.999999Z were covered.
fn param_json(p: &Param, value: &Value) -> Json {
    match value {
        Value::Date(d, given) if d.date_only => {
            json!({ "Given": given, "Effective": format_datetime(super::effective(d, p.ends_range)) })
        }
        other => to_json(other),
    }
}

impl Bound {
    /// `{"Name": value, ...}` of the parameters the call was given (common parameters left out).
    pub fn parameters_json(&self) -> String {
        let names_unique =
            self.values.iter().enumerate().all(|(i, (p, _))| self.values[..i].iter().all(|(q, _)| q.name != p.name));
        if !names_unique {
            // A JSON map built from the list keeps a repeated name's first place and last value.
            let map: serde_json::Map<String, Json> =
                self.values.iter().map(|(p, v)| (p.name.to_string(), param_json(p, v))).collect();
            return Json::Object(map).to_string();
        }
        let mut out = Vec::with_capacity(32 + 48 * self.values.len());
        out.push(b'{');
        for (i, (p, v)) in self.values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let _ = serde_json::to_writer(&mut out, p.name);
            out.push(b':');
            match v {
                Value::Date(d, _) if d.date_only => {
                    let _ = serde_json::to_writer(&mut out, &param_json(p, v));
                }
                _ => write_json(&mut out, v),
            }
        }
        out.push(b'}');
        // serde_json writes UTF-8 only.
        String::from_utf8(out).unwrap_or_default()
    }

    /// The tree-building spelling `parameters_json` must match (tests).
    #[cfg(test)]
    fn parameters_json_tree(&self) -> String {
        let map: serde_json::Map<String, Json> =
            self.values.iter().map(|(p, v)| (p.name.to_string(), param_json(p, v))).collect();
        Json::Object(map).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binder::value::Credential;

    #[test]
    fn secrets_are_masked_and_bytes_summarised() {
        let c =
            to_json(&Value::Credential(Credential { user: "contoso\\annb".into(), password: Some("s3cret".into()) }));
        assert_eq!((c["UserName"].as_str(), c["Password"].as_str()), (Some("contoso\\annb"), Some("***")));
        assert!(!c.to_string().contains("s3cret"));
        let b = to_json(&Value::Bytes(b"abc".to_vec()));
        assert_eq!(b["Bytes"], 3);
        assert_eq!(b["SHA256"], "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    /// The direct writer spells every kind of value exactly as the JSON tree did (the records'
    /// hashes cover these bytes).
    #[test]
    fn parameters_are_written_as_the_tree_spells_them() {
        use rhai::{Dynamic, Map};
        let cmdlet = crate::catalog::find("Set-CsPersistentChatRoom").unwrap();
        let named: Map = [
            ("Identity", Dynamic::from("pc01\\R\"oom\u{e9}\u{1F600}")),
            ("Description", Dynamic::UNIT),
            ("Disabled", Dynamic::from(true)),
            ("Privacy", Dynamic::from("closed")),
            ("Members", Dynamic::from_array(vec!["sip:a@contoso.com".into(), "sip:b@contoso.com".into()])),
            ("Managers", {
                let mut m = Map::new();
                m.insert("Add".into(), Dynamic::from_array(vec!["sip:c@contoso.com".into()]));
                Dynamic::from(m)
            }),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v))
        .collect();
        let call = crate::binder::Call { positional: vec![], named };
        let bound = crate::binder::bind(&crate::binder::prepare(cmdlet, &call).unwrap(), None).unwrap();
        assert!(bound.values.len() >= 5, "{:?}", bound.values);
        assert_eq!(bound.parameters_json(), bound.parameters_json_tree());
    }

    /// A date alone records the text given and the instant it stood for: the start of the day,
    /// or its end for a parameter that ends a range; an instant records itself. The instant is
    /// the one the handlers apply (`Bound::instant`).
    #[test]
    fn a_date_alone_records_the_text_given_and_the_bound_applied() {
        use rhai::{Dynamic, Map};
        let cmdlet = crate::catalog::find("Remove-CsPersistentChatMessage").unwrap();
        let call = |start: &str, end: &str| {
            let named: Map = [
                ("Identity", Dynamic::from("pc01.contoso.com\\FinanceRoom")),
                ("StartDate", Dynamic::from(start.to_string())),
                ("EndDate", Dynamic::from(end.to_string())),
            ]
            .into_iter()
            .map(|(k, v)| (k.into(), v))
            .collect();
            let call = crate::binder::Call { positional: vec![], named };
            crate::binder::bind(&crate::binder::prepare(cmdlet, &call).unwrap(), None).unwrap()
        };
        let bound = call("11/1/2026", "11/30/2026");
        let recorded: Json = serde_json::from_str(&bound.parameters_json()).unwrap();
        assert_eq!(recorded["StartDate"], json!({"Given": "11/1/2026", "Effective": "2026-11-01T00:00:00Z"}));
        assert_eq!(recorded["EndDate"], json!({"Given": "11/30/2026", "Effective": "2026-11-30T23:59:59.999999Z"}));
        assert_eq!(bound.parameters_json(), bound.parameters_json_tree());
        let end = bound.instant("EndDate").unwrap();
        assert_eq!(crate::values::time::format_datetime(end), "2026-11-30T23:59:59.999999Z");

        let bound = call("2026-11-01T08:00:00+01:00", "2026-11-19T00:00:00Z");
        let recorded: Json = serde_json::from_str(&bound.parameters_json()).unwrap();
        assert_eq!(
            (recorded["StartDate"].as_str(), recorded["EndDate"].as_str()),
            (Some("2026-11-01T07:00:00Z"), Some("2026-11-19T00:00:00Z"))
        );
        assert_eq!(bound.parameters_json(), bound.parameters_json_tree());
    }
}
