//! What the category, room, add-in and eligibility handlers share: `pool\name` identities, names
//! with an optional pool, principal references in membership lists and their rendering.

use std::collections::HashMap;

use rhai::{Dynamic, Map};

use crate::binder::ListModifier;
use crate::catalog::enums::PrincipalKind;
use crate::errors::{CmdletError, CmdletResult};
use crate::store::Store;
use crate::store::ancestry::principal_key;
use crate::store::directory::PrincipalRow;
use crate::store::pools::PoolTarget;
use crate::values::wildcard::has_wildcards;

/// Split `pool\name`; `what` names the object kind for the message.
pub fn split_identity<'a>(identity: &'a str, what: &str) -> CmdletResult<(&'a str, &'a str)> {
    match identity.trim().split_once('\\') {
        Some((pool, name)) if !pool.trim().is_empty() && !name.trim().is_empty() => Ok((pool.trim(), name.trim())),
        _ => Err(CmdletError::not_found(format!(
            "no {what} '{identity}': give the identity as <poolFqdn>\\<Name>, e.g. pc01.contoso.com\\Finance"
        ))
        .with_target(identity)),
    }
}

/// The pool of a `pool\name` identity; an unknown pool is NotFound for the object. A bare name
/// (as Microsoft's guides write `-Identity testCat`) resolves when exactly one pool holds an
/// object of that kind and name; several are an error listing them.
pub fn identity_pool<'a>(store: &Store, identity: &'a str, what: &str) -> CmdletResult<(PoolTarget, &'a str)> {
    let bare = identity.trim();
    if !bare.is_empty() && !bare.contains('\\') && !has_wildcards(bare) {
        return bare_name_pool(store, bare, what);
    }
    let (pool, name) = split_identity(identity, what)?;
    let target = store.chat_pools(Some(pool)).map_err(|e| {
        if e.kind != crate::errors::ErrorKind::NotFound {
            // The pool exists but its database cannot serve (unavailable, out of step): the
            // object may well be there, so the error is the pool's, not "no chat room".
            return e.with_target(identity);
        }
        let mut named =
            CmdletError::new(e.kind, format!("no {what} '{identity}': {}", e.message)).with_target(identity);
        // A lost race stays one (store::pools, `in_flight`): the call is run again.
        named.transient = e.transient;
        named
    })?;
    Ok((target.into_iter().next().ok_or_else(|| CmdletError::not_found(format!("no pool '{pool}'")))?, name))
}

fn bare_name_pool<'a>(store: &Store, name: &'a str, what: &str) -> CmdletResult<(PoolTarget, &'a str)> {
    let mut holders = Vec::new();
    for pool in store.chat_pools(None)? {
        let held = match what {
            "chat room" => store.room_by_name(&pool, name)?.is_some(),
            "category" => store.category_key(&pool, name)?.is_some(),
            "add-in" => store.addin_by_name(&pool, name)?.is_some(),
            _ => false,
        };
        if held {
            holders.push(pool);
        }
    }
    match holders.len() {
        1 => Ok((holders.remove(0), name)),
        0 => Err(CmdletError::not_found(format!(
            "no {what} named '{name}' in any pool (give the identity as <poolFqdn>\\<Name>, e.g. pc01.contoso.com\\{name})"
        ))
        .with_target(name)),
        _ => {
            let candidates: Vec<String> = holders.iter().map(|p| format!("{}\\{name}", p.fqdn)).collect();
            Err(CmdletError::invalid(format!(
                "the {what} name '{name}' is held by several pools: {}; give one of them as the identity",
                candidates.join(", ")
            ))
            .with_target(name))
        }
    }
}

pub fn not_found(what: &str, identity: &str) -> CmdletError {
    CmdletError::not_found(format!("no {what} '{identity}'")).with_target(identity)
}

/// A new or renamed object's name: at least one visible character (a name of spaces or
/// zero-width characters shows as empty everywhere), and no backslash (it would break the identity).
pub fn check_name(param: &str, name: &str) -> CmdletResult<String> {
    let n = name.trim();
    if !n.chars().any(|c| !c.is_whitespace() && !invisible(c)) || n.contains('\\') {
        return Err(CmdletError::invalid(format!(
            "-{param} '{name}' is not a valid name: it must hold at least one visible character and no backslash"
        )));
    }
    Ok(n.to_string())
}

/// Characters that take no space when shown: zero-width spaces and joiners, the soft hyphen,
/// format marks, fillers and variation selectors (Unicode's default-ignorable code points).
fn invisible(c: char) -> bool {
    matches!(c,
        '\u{ad}' | '\u{34f}' | '\u{61c}' | '\u{115f}' | '\u{1160}' | '\u{17b4}' | '\u{17b5}'
        | '\u{180b}'..='\u{180f}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
        | '\u{2060}'..='\u{206f}' | '\u{3164}' | '\u{fe00}'..='\u{fe0f}' | '\u{feff}' | '\u{ffa0}'
        | '\u{fff0}'..='\u{fff8}' | '\u{1bca0}'..='\u{1bca3}' | '\u{1d173}'..='\u{1d17a}'
        | '\u{e0000}'..='\u{e0fff}')
}

/// Candidate pools for a name given as `pool\name` or bare with an optional `-PersistentChatPoolFqdn`:
/// returns the pools to search and the bare name.
pub fn name_scope(
    store: &Store,
    value: &str,
    pool: Option<&str>,
    param: &str,
) -> CmdletResult<(Vec<PoolTarget>, String)> {
    let (named_pool, name) = split_scoped_name(value, pool, param)?;
    Ok((store.chat_pools(named_pool.or(pool))?, name))
}

/// The pool a `pool\name` value names, if any, and the bare name; an error when that pool is not
/// the `-PersistentChatPoolFqdn` also given. Resolves nothing, for callers that already hold the
/// pool (resolving it again costs a check of each of its database files).
pub fn split_scoped_name<'a>(
    value: &'a str,
    pool: Option<&str>,
    param: &str,
) -> CmdletResult<(Option<&'a str>, String)> {
    match value.split_once('\\') {
        Some((p, name)) => {
            if let Some(given) = pool
                && !given.trim().eq_ignore_ascii_case(p.trim())
            {
                return Err(CmdletError::invalid(format!(
                    "-{param} '{value}' names pool '{p}' but -PersistentChatPoolFqdn is '{given}'"
                )));
            }
            Ok((Some(p), name.trim().to_string()))
        }
        None => Ok((None, value.trim().to_string())),
    }
}

/// Exactly one match across the searched pools, else NotFound / an ambiguity error naming the pools.
pub fn unique_match<T>(found: Vec<(PoolTarget, T)>, what: &str, value: &str) -> CmdletResult<(PoolTarget, T)> {
    match found.len() {
        0 => Err(not_found(what, value)),
        1 => Ok(found.into_iter().next().ok_or_else(|| not_found(what, value))?),
        _ => Err(CmdletError::invalid(format!(
            "{what} '{value}' exists in several pools ({}); give -PersistentChatPoolFqdn or <poolFqdn>\\<Name>",
            found.iter().map(|(p, _)| p.fqdn.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .with_target(value)),
    }
}

fn is_sip(s: &str) -> bool {
    crate::values::text::strip_prefix_ci(s, "sip:").is_some_and(|rest| !rest.is_empty())
}

/// Resolves principal references of membership lists and renders stored keys,
/// caching directory reads for the length of one call.
pub struct Principals<'a> {
    store: &'a Store,
    pub as_object: bool,
    names: HashMap<String, String>,
}

impl<'a> Principals<'a> {
    pub fn new(store: &'a Store, as_object: bool) -> Self {
        Principals { store, as_object, names: HashMap::new() }
    }

    /// The principal an entry names: a SIP address, a DN, or (with AsObject) a display name.
    pub fn resolve(&self, param: &str, raw: &str) -> CmdletResult<PrincipalRow> {
        let t = raw.trim();
        if has_wildcards(t) {
            return Err(CmdletError::invalid(format!(
                "-{param}: '{t}' contains wildcards; list entries name one principal each"
            ))
            .with_target(t));
        }
        let found = if is_sip(t) {
            self.store.principal_by_sip(t)?
        } else if t.contains('=') {
            self.store.principal_by_dn(t)?
        } else if self.as_object {
            let mut all = self.store.find_principals(t)?;
            if all.len() > 1 {
                return Err(CmdletError::invalid(format!(
                    "-{param}: the display name '{t}' is ambiguous: it could be {}; give the SIP address or DN",
                    all.iter().map(|p| p.sip.clone().unwrap_or_else(|| p.dn.clone())).collect::<Vec<_>>().join(", ")
                ))
                .with_target(t));
            }
            all.pop()
        } else {
            return Err(CmdletError::not_found(format!(
                "-{param}: '{t}' is neither a SIP address (sip:user@domain) nor a DN; with AsObject: true users may be given by display name"
            ))
            .with_target(t));
        };
        let p = found.ok_or_else(|| {
            CmdletError::not_found(format!("-{param}: no user, group, OU, container or domain '{t}' in the directory"))
                .with_target(t)
        })?;
        if p.kind == PrincipalKind::Contact {
            return Err(CmdletError::invalid(format!(
                "-{param}: '{t}' is a contact; lists take users, groups, OUs, containers or the domain"
            ))
            .with_target(t));
        }
        Ok(p)
    }

    /// The stored key of an entry to remove: the principal's key, or the entry as given when it
    /// is listed without resolving (a principal since removed from the directory). An entry that
    /// is neither is a typo, `NotFound`: removing it silently would leave the real one in place.
    fn key_to_remove(&self, param: &str, raw: &str, current: &[String]) -> CmdletResult<String> {
        let t = raw.trim();
        match self.resolve(param, raw) {
            Ok(p) => Ok(principal_key(&p)),
            Err(_) if current.iter().any(|c| c.eq_ignore_ascii_case(t)) => Ok(t.to_string()),
            Err(e) if e.kind != crate::errors::ErrorKind::NotFound => Err(e),
            Err(e) => {
                let listed = if current.is_empty() {
                    "the list is empty".to_string()
                } else {
                    let more = current.len().saturating_sub(5);
                    let shown = current.iter().take(5).map(String::as_str).collect::<Vec<_>>().join(", ");
                    if more > 0 { format!("it holds {shown} and {more} more") } else { format!("it holds {shown}") }
                };
                let why = e.message.strip_prefix(&format!("-{param}: ")).unwrap_or(&e.message).to_string();
                Err(CmdletError::not_found(format!(
                    "-{param}: cannot remove '{t}': it is not in the list ({listed}); {why}"
                ))
                .with_target(t))
            }
        }
    }

    /// Apply a list modifier to `current` stored keys: added entries must resolve (NotFound).
    /// Returns the new list and the entries it adds, as principals.
    pub fn apply(
        &self,
        param: &str,
        current: &[String],
        m: &ListModifier,
    ) -> CmdletResult<(Vec<String>, Vec<PrincipalRow>)> {
        let strict = |v: &[String]| -> CmdletResult<Vec<(String, PrincipalRow)>> {
            v.iter().map(|x| self.resolve(param, x).map(|p| (principal_key(&p), p))).collect()
        };
        let replace = strict(&m.replace)?;
        let add = strict(&m.add)?;
        let keyed = ListModifier {
            clear: m.clear,
            replace: replace.iter().map(|(k, _)| k.clone()).collect(),
            add: add.iter().map(|(k, _)| k.clone()).collect(),
            remove: m.remove.iter().map(|x| self.key_to_remove(param, x, current)).collect::<CmdletResult<_>>()?,
            empty_replace: m.empty_replace,
        };
        let after = keyed.apply(current);
        let added_keys = keyed.added(current);
        let added = replace
            .into_iter()
            .chain(add)
            .filter(|(k, _)| added_keys.iter().any(|a| a.eq_ignore_ascii_case(k)))
            .map(|(_, p)| p)
            .collect();
        Ok((after, added))
    }

    /// A list given whole by an -Instance object: entries equal to current ones stay (even if
    /// they no longer resolve); others are references to resolve, as display names if need be.
    pub fn apply_instance_list(
        &self,
        param: &str,
        current: &[String],
        value: &Dynamic,
    ) -> CmdletResult<(Vec<String>, Vec<PrincipalRow>)> {
        let items: Vec<String> = match value.as_array_ref() {
            Ok(a) => a.iter().filter(|v| !v.is_unit()).map(|v| v.to_string()).collect(),
            Err(_) if value.is_unit() => Vec::new(),
            Err(_) => vec![value.to_string()],
        };
        let lenient = Principals { store: self.store, as_object: true, names: HashMap::new() };
        let mut out: Vec<String> = Vec::new();
        let mut added = Vec::new();
        for item in items {
            let key = match current.iter().find(|c| c.eq_ignore_ascii_case(item.trim())) {
                Some(c) => c.clone(),
                None => {
                    let p = lenient.resolve(param, &item)?;
                    let k = principal_key(&p);
                    if !current.iter().any(|c| c.eq_ignore_ascii_case(&k)) {
                        added.push(p);
                    }
                    k
                }
            };
            if !out.iter().any(|o| o.eq_ignore_ascii_case(&key)) {
                out.push(key);
            }
        }
        Ok((out, added))
    }

    /// A stored key as shown: the key itself, or with AsObject the principal's display name.
    pub fn render(&mut self, key: &str) -> String {
        if !self.as_object {
            return key.to_string();
        }
        if let Some(n) = self.names.get(key) {
            return n.clone();
        }
        let found = if key.contains('=') { self.store.principal_by_dn(key) } else { self.store.principal_by_sip(key) };
        let name = match found {
            Ok(Some(p)) => p.display_name.unwrap_or(p.name),
            _ => key.to_string(),
        };
        self.names.insert(key.to_string(), name.clone());
        name
    }

    pub fn render_list(&mut self, keys: &[String]) -> Dynamic {
        Dynamic::from_array(keys.iter().map(|k| Dynamic::from(self.render(k))).collect())
    }
}

/// A property of an -Instance object, if present.
/// The `pool\name` identity a Set/Remove call targets: -Identity, or the Identity property of
/// the -Instance object.
pub fn target_identity(b: &crate::binder::Bound) -> CmdletResult<String> {
    match b.object("Instance") {
        Some(map) => instance_text(map, "Identity")
            .flatten()
            .ok_or_else(|| CmdletError::invalid("-Instance: the object has no Identity property")),
        None => Ok(b.str("Identity").unwrap_or_default().to_string()),
    }
}

pub fn instance_prop<'m>(map: &'m Map, name: &str) -> Option<&'m Dynamic> {
    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// A bool property of an -Instance object (a wrong type is an error naming it).
pub fn instance_bool(map: &Map, name: &str) -> CmdletResult<Option<bool>> {
    match instance_prop(map, name) {
        None => Ok(None),
        Some(v) => v
            .as_bool()
            .map(Some)
            .map_err(|_| CmdletError::invalid(format!("-Instance: property {name} must be true or false, not {v}"))),
    }
}

/// An optional string property of an -Instance object: `Some(None)` when it is `()`.
pub fn instance_text(map: &Map, name: &str) -> Option<Option<String>> {
    instance_prop(map, name).map(|v| if v.is_unit() { None } else { Some(v.to_string()) })
}

/// An enum property of an -Instance object, canonicalised against the catalog's values.
pub fn instance_enum(map: &Map, name: &str, values: &[&'static str]) -> CmdletResult<Option<&'static str>> {
    match instance_text(map, name).flatten() {
        None => Ok(None),
        Some(v) => values.iter().copied().find(|x| x.eq_ignore_ascii_case(&v)).map(Some).ok_or_else(|| {
            CmdletError::invalid(format!("-Instance: property {name} is '{v}', not one of {}", values.join(", ")))
        }),
    }
}
