//! Endpoints: directory contacts that give a Persistent Chat pool a SIP address.

use rhai::{Dynamic, Map};

use super::limit;
use super::principals::{object_class, parse_expr, parse_ldap, principal_object};
use crate::binder::Bound;
use crate::catalog::ObjType;
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::objects::{list, object, opt, text};
use crate::store::Store;
use crate::store::directory::{PrincipalRow, dn_within, normalize_dn};
use crate::store::endpoint::with_sip_prefix;
use crate::values::dns::is_fqdn;

/// The OCSPersistentChatContact object.
fn endpoint_object(e: &PrincipalRow) -> Dynamic {
    let attr = |k: &str| e.attrs.get(k).and_then(|v| v.as_str()).map(str::to_string);
    object(
        ObjType::Endpoint,
        [
            ("Identity", text(e.dn.clone())),
            ("SipAddress", opt(e.sip.clone())),
            ("DisplayName", opt(e.display_name.clone())),
            ("PersistentChatPoolFqdn", opt(e.endpoint_pool.clone())),
            ("ConferencingPolicy", opt(attr("ConferencingPolicy"))),
            ("VoicePolicy", opt(attr("VoicePolicy"))),
            ("ObjectClass", list(object_class(e.kind).iter().copied())),
        ],
    )
}

fn named_endpoints(store: &Store, identity: &str) -> CmdletResult<Vec<PrincipalRow>> {
    let found = store.find_endpoints(identity)?;
    if found.is_empty() {
        return Err(CmdletError::not_found(format!(
            "no Persistent Chat endpoint '{identity}' (give its SIP address, display name or DN)"
        ))
        .with_target(identity));
    }
    Ok(found)
}

pub fn get(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let filter = parse_expr(b, ObjType::Endpoint)?;
    let ldap = parse_ldap(store, b)?;
    let pool = b.str("PersistentChatPoolFqdn").map(|f| store.pchat_pool(Some(f))).transpose()?;
    let ou = b.str("OU").map(normalize_dn);
    let rows = match b.str("Identity") {
        Some(id) => named_endpoints(store, id)?,
        None => store.endpoints()?,
    };
    let out = rows
        .iter()
        .filter(|e| {
            pool.as_ref().is_none_or(|p| e.endpoint_pool.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(&p.fqdn)))
        })
        .filter(|e| ou.as_deref().is_none_or(|root| dn_within(&e.dn, root)))
        .filter(|e| ldap.as_ref().is_none_or(|l| principal_object(e).read_lock::<Map>().is_some_and(|m| l.eval(&m))))
        .map(endpoint_object)
        .filter(|o| filter.as_ref().is_none_or(|f| o.read_lock::<Map>().is_some_and(|m| f.eval(&m))))
        .collect();
    Ok(limit(out, b))
}

/// Rule 27: `sip:` prefix, `user@domain` syntax, a SIP domain of the organisation, unused.
fn check_new_sip(store: &Store, given: &str) -> CmdletResult<String> {
    let given = given.trim();
    let has_prefix = given.get(..4).is_some_and(|p| p.eq_ignore_ascii_case("sip:"));
    if !has_prefix {
        return Err(CmdletError::invalid(format!(
            "-SipAddress '{given}' must start with 'sip:' (e.g. sip:chat@contoso.com)"
        ))
        .with_target(given));
    }
    let sip = with_sip_prefix(given);
    let (user, domain) = sip[4..].split_once('@').unwrap_or(("", ""));
    let user_ok = !user.is_empty() && user.chars().all(|c| c.is_ascii_alphanumeric() || "._-+'".contains(c));
    if !user_ok || !is_fqdn(domain) {
        return Err(CmdletError::invalid(format!("-SipAddress '{given}' is not of the form sip:user@domain"))
            .with_target(given));
    }
    let domains = store.sip_domains()?;
    if !domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return Err(CmdletError::invalid(format!(
            "-SipAddress '{given}': '{domain}' is not a SIP domain of the organisation (SIP domains: {})",
            if domains.is_empty() { "none".to_string() } else { domains.join(", ") }
        ))
        .with_target(given));
    }
    if let Some(holder) = store.principal_by_sip(&sip)? {
        let what = if holder.endpoint_pool.is_some() { "the endpoint" } else { "the principal" };
        return Err(CmdletError::exists(format!(
            "-SipAddress '{sip}' is already used by {what} '{}'",
            holder.display_name.as_deref().unwrap_or(&holder.dn)
        ))
        .with_target(sip));
    }
    Ok(sip)
}

pub fn new(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let pool = ctx.store.pchat_pool(b.str("PersistentChatPoolFqdn"))?;
    let sip = check_new_sip(ctx.store, b.str("SipAddress").unwrap_or_default())?;
    let display_name = b.str("DisplayName").map(str::trim).filter(|d| !d.is_empty());
    if !ctx.should_process(&sip)? {
        return Ok(Vec::new());
    }
    let dn = ctx.store.insert_endpoint(&sip, display_name, &pool.fqdn)?;
    if !b.switch("PassThru") {
        return Ok(Vec::new());
    }
    let created = ctx
        .store
        .principal_by_dn(&dn)?
        .ok_or_else(|| CmdletError::invalid_operation(format!("the new endpoint '{dn}' cannot be read back")))?;
    Ok(vec![endpoint_object(&created)])
}

pub fn remove(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    for e in named_endpoints(ctx.store, b.str("Identity").unwrap_or_default())? {
        if ctx.should_process(e.sip.as_deref().unwrap_or(&e.dn))? {
            ctx.store.remove_principal(e.id)?;
        }
    }
    Ok(Vec::new())
}
