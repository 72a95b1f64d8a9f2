//! Directory reads: Get-CsAdPrincipal, Get-CsUser (extension), Get-CsAdminRole, Get-Credential.

use rhai::{Dynamic, Map};

use super::{limit, wildcard_filter};
use crate::binder::Bound;
use crate::catalog::ObjType;
use crate::catalog::enums::PrincipalKind;
use crate::errors::{CmdletError, CmdletResult};
use crate::filters::{expr, ldap};
use crate::invocation::Ctx;
use crate::objects::{list, object, opt, text};
use crate::store::Store;
use crate::store::directory::{PrincipalRow, normalize_dn};
use crate::values::text::did_you_mean;
use crate::values::wildcard::has_wildcards;

/// ObjectClass values per principal type.
pub fn object_class(kind: PrincipalKind) -> &'static [&'static str] {
    match kind {
        PrincipalKind::User => &["top", "person", "organizationalPerson", "user"],
        PrincipalKind::Group => &["top", "group"],
        PrincipalKind::Contact => &["top", "person", "organizationalPerson", "contact"],
        PrincipalKind::Container => &["top", "container"],
        PrincipalKind::OrganizationalUnit => &["top", "organizationalUnit"],
        PrincipalKind::Domain => &["top", "domain", "domainDNS"],
    }
}

/// Attribute names that are properties of every principal object and so cannot be attributes.
pub const RESERVED: &[&str] = &[
    "Identity",
    "DistinguishedName",
    "Name",
    "DisplayName",
    "ObjectClass",
    "SipAddress",
    "SamAccountName",
    "UserPrincipalName",
];

fn json_to_dynamic(v: &serde_json::Value) -> Dynamic {
    serde_json::from_value::<Dynamic>(v.clone()).unwrap_or(Dynamic::UNIT)
}

/// The OCSADPrincipal object: fixed properties plus the principal's generic attributes.
pub fn principal_object(p: &PrincipalRow) -> Dynamic {
    let mut props = vec![
        ("Identity", text(p.dn.clone())),
        ("DistinguishedName", text(p.dn.clone())),
        ("Name", text(p.name.clone())),
        ("DisplayName", opt(p.display_name.clone())),
        ("ObjectClass", list(object_class(p.kind).iter().copied())),
        ("SipAddress", opt(p.sip.clone())),
        ("SamAccountName", opt(p.sam.clone())),
        ("UserPrincipalName", opt(p.upn.clone())),
    ];
    let mut d = object(ObjType::AdPrincipal, props.drain(..));
    if let Some(mut map) = d.write_lock::<Map>() {
        for (k, v) in &p.attrs {
            map.insert(k.as_str().into(), json_to_dynamic(v));
        }
    }
    d
}

/// A filter that cannot be read (bad syntax, a form pchat does not evaluate) stops the call, as an
/// unknown property does: answering nothing would read as "nothing matched", and a script would
/// go on (adversary: an LDAP extensible match gave [] while an unknown attribute threw).
pub(crate) fn unreadable_filter(param: &str, f: &str, why: impl std::fmt::Display) -> CmdletError {
    CmdletError::invalid(format!("-{param} '{f}': {why}")).terminating()
}

/// `-Filter` over objects of type `t`; an unknown property stops the call before anything runs.
pub(crate) fn parse_expr(b: &Bound, t: ObjType) -> CmdletResult<Option<expr::Expr>> {
    let Some(f) = b.str("Filter") else { return Ok(None) };
    let e = expr::parse(f).map_err(|e| unreadable_filter("Filter", f, e))?;
    e.check_properties(t, &[]).map_err(|m| CmdletError::invalid(format!("-Filter '{f}': {m}")).terminating())?;
    Ok(Some(e))
}

/// `-LdapFilter`, its attributes checked as `check_directory_names` does (mapped LDAP names such
/// as `msRTCSIP-PrimaryUserAddress` always pass).
pub(crate) fn parse_ldap(store: &Store, b: &Bound) -> CmdletResult<Option<ldap::LdapFilter>> {
    let Some(f) = b.str("LDAPFilter").or_else(|| b.str("LdapFilter")) else { return Ok(None) };
    let filter = ldap::parse(f).map_err(|e| unreadable_filter("LdapFilter", f, e))?;
    let unmapped = filter.attributes().into_iter().filter(|a| !a.is_mapped()).map(|a| a.name.as_str());
    if let Some(why) = check_directory_names(store, unmapped, &ldap::MAPPED_NAMES, "attribute")? {
        return Err(CmdletError::invalid(format!("-LdapFilter '{f}': {why}")).terminating());
    }
    Ok(Some(filter))
}

/// `-Filter` over directory principals: as `parse_expr`, its properties checked as
/// `check_directory_names` does.
fn parse_principal_expr(store: &Store, b: &Bound) -> CmdletResult<Option<expr::Expr>> {
    let Some(e) = parse_expr(b, ObjType::AdPrincipal)? else { return Ok(None) };
    if let Some(why) = check_directory_names(store, e.properties().iter().map(String::as_str), &[], "property")? {
        let f = b.str("Filter").unwrap_or_default();
        return Err(CmdletError::invalid(format!("-Filter '{f}': {why}")).terminating());
    }
    Ok(Some(e))
}

/// A filter's name that is neither a property of directory objects nor carried by any principal
/// of the directory would match nothing (or, negated, everything): the message naming it, with
/// the closest of `also`, the properties and the attributes present (None: all known). The directory's attribute
/// names are read only when some name is not a property.
fn check_directory_names<'a>(
    store: &Store,
    names: impl Iterator<Item = &'a str>,
    also: &[&str],
    what: &str,
) -> CmdletResult<Option<String>> {
    let t = ObjType::AdPrincipal;
    let unknown: Vec<&str> = names.filter(|n| !t.has_property(n, &[])).collect();
    if unknown.is_empty() {
        return Ok(None);
    }
    let present = store.attribute_names()?;
    let Some(name) = unknown.into_iter().find(|n| !present.iter().any(|p| p.eq_ignore_ascii_case(n))) else {
        return Ok(None);
    };
    let mut candidates: Vec<&str> = also.to_vec();
    candidates.extend(t.properties());
    candidates.extend(present.iter().map(String::as_str));
    let mut seen = std::collections::HashSet::new();
    candidates.retain(|c| seen.insert(c.to_ascii_lowercase()));
    let plural = if what == "property" { "properties" } else { "attributes" };
    Ok(Some(format!(
        "no principal of the directory has the {what} '{name}'{}",
        did_you_mean(name, &candidates, plural)
    )))
}

/// Principals named by `-Identity` (NotFound when a non-wildcard identity matches nothing).
fn by_identity(store: &Store, identity: &str, what: &str) -> CmdletResult<Vec<PrincipalRow>> {
    let found = store.find_principals(identity)?;
    if found.is_empty() && !has_wildcards(identity) {
        return Err(CmdletError::not_found(format!(
            "no {what} '{identity}' (give a SIP address, DOMAIN\\logon, UPN, display name or DN)"
        ))
        .with_target(identity));
    }
    Ok(found)
}

pub fn get_ad_principal(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let filter = parse_principal_expr(store, b)?;
    let ldap = parse_ldap(store, b)?;
    let mut rows = match b.str("Identity") {
        Some(id) => by_identity(store, id, "principal")?,
        None => store.principals()?,
    };
    if let Some(ou) = b.str("OU") {
        let root = normalize_dn(ou);
        let holder = store.principal_by_dn(&root)?;
        if !holder.is_some_and(|h| h.kind.is_container()) {
            return Err(CmdletError::not_found(format!("no OU or container '{ou}'")).with_target(ou));
        }
        rows.retain(|p| crate::store::directory::dn_within(&p.dn, &root));
    }
    let mut objects = Vec::new();
    for p in &rows {
        let mut o = principal_object(p);
        if p.kind == PrincipalKind::Group
            && let Some(mut map) = o.write_lock::<Map>()
        {
            map.insert("Members".into(), list(store.group_members(p.id)?));
        }
        let keep = o.read_lock::<Map>().is_some_and(|map| {
            filter.as_ref().is_none_or(|f| f.eval(&map)) && ldap.as_ref().is_none_or(|l| l.eval(&map))
        });
        if keep {
            objects.push(o);
        }
    }
    Ok(limit(objects, b))
}

/// The OCSUserOrAppContact object of a SIP-enabled user.
pub fn user_object(p: &PrincipalRow, site_of: &dyn Fn(&str) -> Option<String>) -> Dynamic {
    let department = p.attrs.get("Department").and_then(|v| v.as_str()).map(str::to_string);
    object(
        ObjType::User,
        [
            ("Identity", text(p.dn.clone())),
            ("DisplayName", opt(p.display_name.clone())),
            ("SipAddress", opt(p.sip.clone())),
            ("SamAccountName", opt(p.sam.clone())),
            ("UserPrincipalName", opt(p.upn.clone())),
            ("Department", opt(department)),
            ("RegistrarPool", opt(p.registrar_pool.clone())),
            ("SiteId", opt(p.registrar_pool.as_deref().and_then(site_of).map(|s| format!("Site:{s}")))),
            ("PersistentChatPolicy", opt(p.policy.clone())),
            (
                "EnterpriseVoiceEnabled",
                Dynamic::from_bool(p.attrs.get("EnterpriseVoiceEnabled").and_then(|v| v.as_bool()).unwrap_or(false)),
            ),
            ("LineURI", opt(p.attrs.get("LineURI").and_then(|v| v.as_str()).map(str::to_string))),
        ],
    )
}

/// A closure from pool FQDN to its site, read once per call.
pub fn site_lookup(store: &Store) -> CmdletResult<impl Fn(&str) -> Option<String>> {
    let pools = store.pools()?;
    Ok(move |fqdn: &str| pools.iter().find(|p| p.fqdn.eq_ignore_ascii_case(fqdn)).map(|p| p.site.clone()))
}

pub fn get_user(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let filter = parse_expr(b, ObjType::User)?;
    let ldap = parse_ldap(store, b)?;
    let site_of = site_lookup(store)?;
    let is_user = |p: &PrincipalRow| p.kind == PrincipalKind::User && p.sip.is_some();
    let rows = match b.str("Identity") {
        Some(id) => {
            let found: Vec<_> = by_identity(store, id, "user")?.into_iter().filter(is_user).collect();
            if found.is_empty() && !has_wildcards(id) {
                return Err(CmdletError::not_found(format!("'{id}' is not a SIP-enabled user")).with_target(id));
            }
            found
        }
        // Without filters, a -ResultSize page comes straight from the ordered index.
        None => match b.int("ResultSize") {
            Some(n) if filter.is_none() && ldap.is_none() => store.first_users(n.max(0) as usize)?,
            _ => store.users()?,
        },
    };
    let mut out = Vec::new();
    let wanted = b.int("ResultSize").map(|n| n.max(0) as usize).unwrap_or(usize::MAX);
    for p in &rows {
        if out.len() >= wanted {
            break;
        }
        let user = user_object(p, &site_of);
        if let Some(f) = &filter
            && !user.read_lock::<Map>().is_some_and(|m| f.eval(&m))
        {
            continue;
        }
        // LDAP filters see every directory attribute, not just the user object's properties.
        if let Some(l) = &ldap
            && !principal_object(p).read_lock::<Map>().is_some_and(|m| l.eval(&m))
        {
            continue;
        }
        out.push(user);
    }
    Ok(out)
}

pub fn get_admin_role(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let filter = wildcard_filter(b)?;
    let identity = b.str("Identity");
    let sid = b.str("Sid");
    let out: Vec<Dynamic> = ctx
        .store
        .roles()?
        .into_iter()
        .filter(|r| {
            identity.is_none_or(|i| i.eq_ignore_ascii_case(&r.identity))
                && sid.is_none_or(|s| s.eq_ignore_ascii_case(&r.sid))
                && filter.as_ref().is_none_or(|f| f.is_match(&r.identity))
        })
        .map(|r| {
            object(
                ObjType::Role,
                [
                    ("Identity", text(r.identity)),
                    ("Sid", text(r.sid)),
                    ("Cmdlets", list(r.cmdlets)),
                    ("UserScopes", list(r.user_scopes)),
                    ("IsStandardRole", Dynamic::from(r.is_standard)),
                    ("ConfigScopes", list(Vec::<String>::new())),
                ],
            )
        })
        .collect();
    if out.is_empty()
        && let Some(missing) = identity.or(sid)
    {
        return Err(CmdletError::not_found(format!("no RBAC role '{missing}'")).with_target(missing));
    }
    Ok(out)
}

pub fn get_credential(_ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let user = b.str("UserName").unwrap_or_default().trim().to_string();
    if user.is_empty() {
        return Err(CmdletError::invalid("UserName must not be empty (e.g. \"contoso\\\\annb\")"));
    }
    // The secret is never shown; it has no use beyond proving a credential was supplied.
    let password = b.str("Password").map(|_| "********".to_string());
    Ok(vec![object(ObjType::Credential, [("UserName", text(user)), ("Password", opt(password))])])
}
