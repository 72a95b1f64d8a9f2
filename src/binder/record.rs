//! A bound call's parameters as the audit trail records them: canonical parameter names, values
//! as given (after conversion), secrets never. JSON, in the catalog's parameter order.

use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use super::Bound;
use super::value::Value;
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
        Value::Date(d) => json!(format_datetime(d.at)),
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
        Value::Object(ty, map) => {
            let identity = map.get("Identity").map(|v| v.to_string());
            json!({ "Type": ty.map(|t| t.type_name()), "Identity": identity })
        }
        Value::Bytes(bytes) => json!({ "Bytes": bytes.len(), "SHA256": hex(&Sha256::digest(bytes)) }),
        Value::Credential(c) => json!({ "UserName": c.user, "Password": "***" }),
    }
}

impl Bound {
    /// `{"Name": value, ...}` of the parameters the call was given (common parameters left out).
    pub fn parameters_json(&self) -> String {
        let map: serde_json::Map<String, Json> =
            self.values.iter().map(|(p, v)| (p.name.to_string(), to_json(v))).collect();
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
}
