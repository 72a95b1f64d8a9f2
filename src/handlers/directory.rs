//! Import-CsAdPrincipal and Remove-CsAdPrincipal (pchat extensions; the document format is in docs/formats.md).

use crate::values::limits::{self, Field};
use std::collections::HashMap;

use rhai::Dynamic;
use serde::Deserialize;
use serde_json::{Map as JsonMap, Value as Json};

use super::principals::RESERVED;
use crate::binder::Bound;
use crate::catalog;
use crate::catalog::enums::{Named, PrincipalKind};
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::store::Store;
use crate::store::directory::{PrincipalSpec, RoleRow, normalize_dn};
use crate::store::seed::{role_sid, standard_roles};

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct DirectoryDoc {
    domain: Option<DomainDoc>,
    #[serde(default)]
    principals: Vec<Entry>,
    #[serde(default)]
    roles: Vec<RoleDoc>,
}

/// One principal's keys. A key given twice (`SipAddress` and `sipaddress`: keys ignore case) is
/// refused: a map would keep the last of the two without a word.
struct Entry(JsonMap<String, Json>);

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Keys;
        impl<'de> serde::de::Visitor<'de> for Keys {
            type Value = Entry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a principal object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
                let mut out = JsonMap::new();
                while let Some(key) = map.next_key::<String>()? {
                    if let Some(first) = out.keys().find(|k| k.eq_ignore_ascii_case(&key)) {
                        return Err(serde::de::Error::custom(twice(first, &key)));
                    }
                    let value = map.next_value()?;
                    out.insert(key, value);
                }
                Ok(Entry(out))
            }
        }
        d.deserialize_map(Keys)
    }
}

fn twice(first: &str, again: &str) -> String {
    if first == again {
        format!("the key '{first}' is given twice")
    } else {
        format!("the key '{first}' is given twice (again as '{again}': keys ignore case)")
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct DomainDoc {
    name: String,
    net_bios_name: String,
    dn: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct RoleDoc {
    identity: String,
    cmdlets: Vec<String>,
    #[serde(default)]
    user_scopes: Vec<String>,
}

/// The keys a principal entry defines; anything else is a generic attribute (`l`, `Title`, ...).
const KEYS: &[&str] = &[
    "Type",
    "Dn",
    "DisplayName",
    "SipAddress",
    "SamAccountName",
    "UserPrincipalName",
    "Department",
    "RegistrarPool",
    "EnterpriseVoiceEnabled",
    "LineURI",
    "Members",
];

/// A parsed file: principals with where each came from (for error messages), roles, the domain.
#[derive(Default)]
struct Parsed {
    domain: Option<DomainDoc>,
    entries: Vec<(String, PrincipalSpec)>,
    roles: Vec<RoleDoc>,
}

/// A validated import, ready to be written.
struct Import {
    domain: Option<DomainDoc>,
    principals: Vec<PrincipalSpec>,
    roles: Vec<RoleRow>,
}

/// `canonical_key`, remembered per distinct key: a directory of 100,000 users repeats a handful of
/// attribute names, and the typo check compares each with every defined key.
type KeyCache = HashMap<String, Result<Option<&'static str>, String>>;

fn canonical_key_cached(cache: &mut KeyCache, key: &str) -> Result<Option<&'static str>, String> {
    if let Some(known) = cache.get(key) {
        return known.clone();
    }
    let answer = canonical_key(key);
    cache.insert(key.to_string(), answer.clone());
    answer
}

fn canonical_key(key: &str) -> Result<Option<&'static str>, String> {
    if let Some(k) = KEYS.iter().find(|k| k.eq_ignore_ascii_case(key)) {
        return Ok(Some(k));
    }
    if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(key)) {
        return Err(format!("'{key}' is a property of every principal and cannot be given as an attribute"));
    }
    // A near miss of a defined key is a typo, not a new attribute; very short
    // attribute names such as `l` are too close to everything to judge.
    if key.chars().count() > 3 {
        let lower = key.to_ascii_lowercase();
        if let Some(k) = KEYS.iter().find(|k| strsim::damerau_levenshtein(&lower, &k.to_ascii_lowercase()) <= 2) {
            return Err(format!("unknown key '{key}'; did you mean '{k}'?"));
        }
    }
    Ok(None)
}

fn as_string(key: &str, v: &Json) -> Result<Option<String>, String> {
    match v {
        Json::Null => Ok(None),
        Json::String(s) if s.trim().is_empty() => Ok(None),
        Json::String(s) => Ok(Some(s.trim().to_string())),
        other => Err(format!("{key} must be a string, not {other}")),
    }
}

/// New-CsPersistentChatEndpoint's rule too (`values::sip`), and a SIP domain of the topology (once
/// one is published).
fn valid_sip(sip: &str, domains: &[String]) -> Result<(), String> {
    let Some((_, domain)) = crate::values::sip::parts(sip) else {
        return Err(format!("SipAddress '{sip}' must have the form {}", crate::values::sip::FORM));
    };
    if !domains.is_empty() && !domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return Err(format!("SipAddress '{sip}' is not in a SIP domain of the topology ({})", domains.join(", ")));
    }
    Ok(())
}

/// Turn one principal entry (JSON object or CSV row) into a spec; `at` says where it came from.
fn principal_spec(
    fields: &JsonMap<String, Json>,
    default_kind: Option<PrincipalKind>,
    keys: &mut KeyCache,
) -> Result<PrincipalSpec, String> {
    let mut spec = PrincipalSpec::default();
    let mut kind = default_kind;
    let mut members = None;
    for (key, value) in fields {
        match canonical_key_cached(keys, key)? {
            Some("Type") => {
                let t = as_string(key, value)?.unwrap_or_default();
                let Some(k) = PrincipalKind::parse(&t).filter(|_| t.trim() == t) else {
                    return Err(format!("Type '{t}' is not one of {}", PrincipalKind::NAMES.join(", ")));
                };
                kind = Some(k);
            }
            Some("Dn") => spec.dn = normalize_dn(&as_string(key, value)?.unwrap_or_default()),
            Some("DisplayName") => spec.display_name = as_string(key, value)?,
            // The prefix in any letter case, stored as `sip:` (as an endpoint's is).
            Some("SipAddress") => {
                spec.sip = as_string(key, value)?.map(|s| match crate::values::text::strip_prefix_ci(&s, "sip:") {
                    Some(rest) => format!("sip:{rest}"),
                    None => s,
                })
            }
            Some("SamAccountName") => spec.sam = as_string(key, value)?,
            Some("UserPrincipalName") => spec.upn = as_string(key, value)?,
            Some("RegistrarPool") => spec.registrar_pool = as_string(key, value)?,
            Some("EnterpriseVoiceEnabled") => {
                let on = match value {
                    Json::Bool(b) => *b,
                    Json::String(s) if s.trim().eq_ignore_ascii_case("true") => true,
                    Json::String(s) if s.trim().eq_ignore_ascii_case("false") => false,
                    other => return Err(format!("EnterpriseVoiceEnabled must be true or false, not {other}")),
                };
                spec.attrs.insert("EnterpriseVoiceEnabled".into(), Json::Bool(on));
            }
            Some("LineURI") => {
                if let Some(uri) = as_string(key, value)? {
                    if !uri.get(..4).is_some_and(|t| t.eq_ignore_ascii_case("tel:")) || uri.len() < 5 {
                        return Err(format!("LineURI '{uri}' must be a tel: URI (e.g. tel:+35315550101)"));
                    }
                    spec.attrs.insert("LineURI".into(), Json::String(uri));
                }
            }
            Some("Members") => {
                let list = value.as_array().ok_or("Members must be an array of DNs")?;
                members = Some(
                    list.iter()
                        .map(|m| {
                            m.as_str().map(normalize_dn).ok_or_else(|| format!("Members entry {m} is not a DN string"))
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
            Some(k) => {
                spec.attrs.insert(k.to_string(), value.clone());
            }
            None => {
                if value.is_object() {
                    return Err(format!("attribute '{key}' must be a string, number, boolean or list"));
                }
                spec.attrs.insert(key.clone(), value.clone());
            }
        }
    }
    spec.kind = kind.ok_or("Type is missing (User, Group, Contact, OrganizationalUnit, Container or Domain)")?;
    if spec.dn.is_empty() || !spec.dn.contains('=') {
        return Err(
            "Dn is missing or is not a distinguished name (e.g. CN=Ann Beebe,OU=Finance,DC=contoso,DC=com)".into()
        );
    }
    if spec.sip.is_some() && !matches!(spec.kind, PrincipalKind::User | PrincipalKind::Contact) {
        return Err(format!("a {} has no SipAddress (only users and contacts do)", spec.kind));
    }
    if spec.registrar_pool.is_some() && spec.kind != PrincipalKind::User {
        return Err(format!("a {} has no RegistrarPool (only users do)", spec.kind));
    }
    for voice in ["EnterpriseVoiceEnabled", "LineURI"] {
        if spec.attrs.contains_key(voice) && spec.kind != PrincipalKind::User {
            return Err(format!("a {} has no {voice} (only users do)", spec.kind));
        }
    }
    match (spec.kind, members) {
        (PrincipalKind::Group, m) => spec.members = Some(m.unwrap_or_default()),
        (_, Some(_)) => return Err(format!("a {} has no Members (only groups do)", spec.kind)),
        _ => {}
    }
    Ok(spec)
}

fn parse_json(text: &str) -> Result<Parsed, String> {
    let doc: DirectoryDoc = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut principals = Vec::with_capacity(doc.principals.len() + 1);
    let mut keys = KeyCache::new();
    if let Some(d) = &doc.domain {
        let spec = PrincipalSpec {
            dn: normalize_dn(&d.dn),
            kind: PrincipalKind::Domain,
            display_name: None,
            attrs: [("NetBiosName".to_string(), Json::String(d.net_bios_name.clone()))].into_iter().collect(),
            ..Default::default()
        };
        if !spec.dn.contains('=') {
            return Err(format!("Domain: Dn '{}' is not a distinguished name (e.g. DC=contoso,DC=com)", d.dn));
        }
        principals.push(("Domain".to_string(), spec));
    }
    for (i, Entry(fields)) in doc.principals.iter().enumerate() {
        let dn = fields.get("Dn").and_then(Json::as_str).unwrap_or("?");
        let at = format!("Principals[{i}] ({dn})");
        principals.push((at.clone(), principal_spec(fields, None, &mut keys).map_err(|e| format!("{at}: {e}"))?));
    }
    Ok(Parsed { domain: doc.domain, entries: principals, roles: doc.roles })
}

fn parse_csv(text: &str) -> Result<Parsed, String> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| format!("CSV header: {e}"))?.clone();
    let names: Vec<&str> = headers.iter().collect();
    for (i, h) in names.iter().enumerate() {
        if let Some(first) = names[..i].iter().find(|o| o.eq_ignore_ascii_case(h)) {
            return Err(format!("CSV header: {}", twice(first, h).replace("key", "column")));
        }
    }
    let mut out = Vec::new();
    let mut keys = KeyCache::new();
    for record in reader.records() {
        let record = record.map_err(|e| format!("CSV: {e}"))?;
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let fields: JsonMap<String, Json> = headers
            .iter()
            .zip(record.iter())
            .filter(|(_, v)| !v.is_empty())
            .map(|(h, v)| (h.to_string(), Json::String(v.to_string())))
            .collect();
        let at = format!("line {line}");
        let spec = principal_spec(&fields, Some(PrincipalKind::User), &mut keys).map_err(|e| format!("{at}: {e}"))?;
        if spec.kind != PrincipalKind::User {
            return Err(format!("{at}: a CSV file holds users only (Type '{}')", spec.kind));
        }
        out.push((at, spec));
    }
    Ok(Parsed { entries: out, ..Default::default() })
}

/// Check the whole import against itself and the store; nothing is written on any problem.
/// The limits of docs/limits.md on every text of a principal: a directory file is input like any
/// cmdlet argument, and its names end up in tables, prompts and archives.
fn check_limits(spec: &PrincipalSpec) -> Result<(), String> {
    let texts = [("Dn", Some(&spec.dn)), ("SipAddress", spec.sip.as_ref()), ("SamAccountName", spec.sam.as_ref())]
        .into_iter()
        .chain([("UserPrincipalName", spec.upn.as_ref()), ("RegistrarPool", spec.registrar_pool.as_ref())])
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), Field::Text, v.as_str())))
        .chain(spec.display_name.iter().map(|v| ("DisplayName".to_string(), Field::Name, v.as_str())))
        .chain(spec.members.iter().flatten().map(|m| ("Members".to_string(), Field::Text, m.as_str())))
        .chain(spec.attrs.iter().flat_map(|(k, v)| {
            let values: Vec<&str> = match v {
                Json::String(s) => vec![s.as_str()],
                Json::Array(items) => items.iter().filter_map(Json::as_str).collect(),
                _ => Vec::new(),
            };
            values.into_iter().map(move |s| (k.clone(), Field::Text, s))
        }));
    for (key, field, value) in texts {
        limits::check(field, value).map_err(|e| format!("{key}: {e}"))?;
    }
    spec.attrs.keys().try_for_each(|k| limits::check(Field::Name, k).map_err(|e| format!("attribute name: {e}")))
}

fn validate(store: &Store, parsed: Parsed) -> Result<Import, String> {
    let Parsed { domain, mut entries, roles } = parsed;
    let sip_domains = store.sip_domains().map_err(|e| e.to_string())?;
    let registrars: Vec<String> = store
        .services()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|s| s.role == "Registrar")
        .map(|s| s.pool)
        .collect();
    let existing = store.principals().map_err(|e| e.to_string())?;
    // A DN already stored in another case of letters beyond A–Z is an update of that principal,
    // under its stored spelling, as one differing in A–Z is (the column folds A–Z only: it would
    // be written as a second principal).
    let stored: HashMap<String, &str> = existing
        .iter()
        .filter(|p| !p.dn.is_ascii())
        .map(|p| (crate::store::directory::dn_key(&p.dn), p.dn.as_str()))
        .collect();
    for (_, spec) in entries.iter_mut().filter(|(_, s)| !s.dn.is_ascii()) {
        if let Some(dn) = stored.get(&crate::store::directory::dn_key(&spec.dn)) {
            spec.dn = dn.to_string();
        }
    }
    let mut dn_at: HashMap<String, &str> = HashMap::with_capacity(entries.len());
    let mut sip_at: HashMap<String, (&str, String)> = HashMap::new();
    let mut sam_at: HashMap<String, (&str, String)> = HashMap::new();
    for (at, spec) in &entries {
        check_limits(spec).map_err(|e| format!("{at}: {e}"))?;
        if let Some(first) = dn_at.insert(spec.dn.to_lowercase(), at) {
            return Err(format!("{at}: Dn '{}' is a duplicate of {first}", spec.dn));
        }
        if let Some(sip) = &spec.sip {
            valid_sip(sip, &sip_domains).map_err(|e| format!("{at}: {e}"))?;
            if let Some((first, _)) = sip_at.insert(sip.to_lowercase(), (at, spec.dn.clone())) {
                return Err(format!("{at}: SipAddress '{sip}' is a duplicate of {first}"));
            }
        }
        if let Some(sam) = &spec.sam
            && let Some((first, _)) = sam_at.insert(sam.to_lowercase(), (at, spec.dn.clone()))
        {
            return Err(format!("{at}: SamAccountName '{sam}' is a duplicate of {first}"));
        }
        if let Some(pool) = &spec.registrar_pool
            && !registrars.iter().any(|r| r.eq_ignore_ascii_case(pool))
        {
            let known = if registrars.is_empty() {
                "none: publish the topology first".to_string()
            } else {
                registrars.join(", ")
            };
            return Err(format!("{at}: RegistrarPool '{pool}' is not a Registrar pool of the topology ({known})"));
        }
    }
    // Clashes with principals already in the store (an update of the same DN is not a clash).
    for p in &existing {
        if dn_at.contains_key(&p.dn.to_lowercase()) {
            continue;
        }
        if let Some(sip) = &p.sip
            && let Some((at, _)) = sip_at.get(&sip.to_lowercase())
        {
            return Err(format!("{at}: SipAddress '{sip}' is already used by {}", p.dn));
        }
        if let Some(sam) = &p.sam
            && let Some((at, _)) = sam_at.get(&sam.to_lowercase())
        {
            return Err(format!("{at}: SamAccountName '{sam}' is already used by {}", p.dn));
        }
    }
    let existing_dns: std::collections::HashSet<String> = existing.iter().map(|p| p.dn.to_lowercase()).collect();
    for (at, spec) in &entries {
        for m in spec.members.iter().flatten() {
            if !dn_at.contains_key(&m.to_lowercase()) && !existing_dns.contains(&m.to_lowercase()) {
                return Err(format!("{at}: member '{m}' is not a principal of this file or of the directory"));
            }
        }
    }
    let standard = standard_roles();
    let mut role_rows: Vec<RoleRow> = Vec::new();
    for (i, r) in roles.into_iter().enumerate() {
        let at = format!("Roles[{i}] ({})", r.identity);
        let identity = r.identity.trim().to_string();
        if identity.is_empty() {
            return Err(format!("{at}: Identity is empty"));
        }
        limits::check(Field::Name, &identity).map_err(|e| format!("{at}: Identity: {e}"))?;
        if standard.iter().any(|(s, _)| s.eq_ignore_ascii_case(&identity)) {
            return Err(format!("{at}: '{identity}' is a built-in role, which cannot be changed"));
        }
        if role_rows.iter().any(|x| x.identity.eq_ignore_ascii_case(&identity)) {
            return Err(format!("{at}: role '{identity}' is listed twice"));
        }
        let mut cmdlets = Vec::new();
        for c in &r.cmdlets {
            let Some(found) = catalog::find(c) else {
                let hint = crate::binder::suggest(c, catalog::all().iter().map(|x| x.name))
                    .map(|n| format!("; did you mean '{n}'?"))
                    .unwrap_or_default();
                return Err(format!("{at}: '{c}' is not a cmdlet{hint}"));
            };
            cmdlets.push(found.name.to_string());
        }
        for scope in &r.user_scopes {
            let ok =
                scope.split_once(':').is_some_and(|(kind, dn)| kind.eq_ignore_ascii_case("OU") && dn.contains('='));
            if !ok {
                return Err(format!("{at}: UserScopes entry '{scope}' must have the form OU:<distinguished name>"));
            }
        }
        let user_scopes = r
            .user_scopes
            .iter()
            .map(|s| format!("OU:{}", s.split_once(':').map_or(s.as_str(), |(_, dn)| dn).trim()))
            .collect();
        role_rows.push(RoleRow { sid: role_sid(&identity), identity, cmdlets, user_scopes, is_standard: false });
    }
    Ok(Import { domain, principals: entries.into_iter().map(|(_, s)| s).collect(), roles: role_rows })
}

pub fn import(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let path = b.str("FileName").unwrap_or_default();
    let content = ctx.read_file("FileName", path)?;
    let fail = |e: String| CmdletError::invalid(format!("{path}: {e}"));
    let is_csv = path.to_ascii_lowercase().ends_with(".csv");
    let parsed = if is_csv { parse_csv(&content) } else { parse_json(&content) }.map_err(fail)?;
    let import = validate(ctx.store, parsed).map_err(fail)?;
    for p in &import.principals {
        ctx.check_user(&p.dn)?;
    }
    if !import.roles.is_empty() && ctx.user_scope != crate::access::UserScope::Any {
        return Err(CmdletError::access_denied(format!(
            "{} may not define roles with Import-CsAdPrincipal: the roles that allow it are limited to user scopes",
            ctx.grants.actor
        )));
    }
    let target = format!("{} principals and {} roles from {path}", import.principals.len(), import.roles.len());
    if !ctx.should_process(&target)? {
        return Ok(Vec::new());
    }
    let store = ctx.store;
    if let Some(d) = &import.domain {
        store.set_meta("domain_dn", &normalize_dn(&d.dn))?;
        store.set_meta("domain_netbios", &d.net_bios_name)?;
        store.set_meta("domain_name", &d.name)?;
    }
    store.upsert_principals(&import.principals)?;
    for r in &import.roles {
        store.upsert_custom_role(r)?;
    }
    Ok(Vec::new())
}

pub fn remove(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let identity = b.str("Identity").unwrap_or_default();
    let store = ctx.store;
    let found = store.find_principals(identity)?;
    let p = match found.len() {
        0 => return Err(CmdletError::not_found(format!("no principal '{identity}'")).with_target(identity)),
        1 => &found[0],
        n => {
            return Err(CmdletError::invalid(format!(
                "'{identity}' matches {n} principals ({}); give a SIP address or DN",
                found.iter().take(5).map(|p| p.dn.as_str()).collect::<Vec<_>>().join("; ")
            ))
            .with_target(identity));
        }
    };
    if let Some(pool) = &p.endpoint_pool {
        return Err(CmdletError::invalid_operation(format!(
            "'{}' is the Persistent Chat endpoint of pool {pool}; remove it with Remove-CsPersistentChatEndpoint",
            p.dn
        ))
        .with_target(&p.dn));
    }
    if p.kind.is_container() {
        let inside = store.principals_within(&p.dn)?.len();
        if inside > 0 {
            return Err(CmdletError::invalid_operation(format!(
                "{} '{}' still contains {inside} principals; remove them first",
                p.kind, p.dn
            ))
            .with_target(&p.dn));
        }
    }
    ctx.check_user(&p.dn)?;
    if ctx.should_process(&p.dn)? {
        store.remove_principal(p.id)?;
        if p.kind == PrincipalKind::Domain {
            for key in ["domain_dn", "domain_netbios", "domain_name"] {
                store.remove_meta(key)?;
            }
        }
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Result<PrincipalSpec, String> {
        let map: JsonMap<String, Json> = serde_json::from_str(json).unwrap();
        principal_spec(&map, None, &mut KeyCache::new())
    }

    #[test]
    fn typos_of_defined_keys_are_rejected_but_attributes_kept() {
        let e = spec(r#"{"Type":"User","Dn":"CN=A,DC=c","SipAdress":"sip:a@c.com"}"#).unwrap_err();
        assert!(e.contains("did you mean 'SipAddress'"), "{e}");
        let s = spec(r#"{"Type":"user","Dn":"CN=A, DC=c","l":"Oslo","Title":"CEO","Department":"Sales"}"#).unwrap();
        assert_eq!(s.kind, PrincipalKind::User);
        assert_eq!(s.dn, "CN=A,DC=c");
        assert_eq!(s.attrs.get("l"), Some(&Json::String("Oslo".into())));
        assert_eq!(s.attrs.get("Department"), Some(&Json::String("Sales".into())));
        assert!(spec(r#"{"Type":"Person","Dn":"CN=A,DC=c"}"#).unwrap_err().contains("Type 'Person'"));
        assert!(spec(r#"{"Type":"Group","Dn":"CN=G,DC=c","SipAddress":"sip:g@c.com"}"#).is_err());
        assert!(spec(r#"{"Type":"User","Dn":"CN=U,DC=c","Identity":"x"}"#).is_err());
    }

    #[test]
    fn sip_addresses_need_the_prefix_and_a_known_domain() {
        let d = vec!["contoso.com".to_string()];
        assert!(valid_sip("sip:a@contoso.com", &d).is_ok());
        assert!(valid_sip("a@contoso.com", &d).is_err());
        assert!(valid_sip("sip:a@fabrikam.com", &d).is_err());
        assert!(valid_sip("sip:a@fabrikam.com", &[]).is_ok());
        // The endpoint's rule: letters of any script pass, a space does not.
        assert!(valid_sip("sip:jörg.müller@contoso.com", &d).is_ok());
        assert!(valid_sip("sip:a b@contoso.com", &d).unwrap_err().contains("must have the form sip:user@domain"));
    }
}
