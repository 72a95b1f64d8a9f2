//! Endpoints: directory contacts that give a Persistent Chat pool a SIP address.

use std::collections::HashSet;

use rhai::{Dynamic, Map};

use super::described::{Projection, scalar_object};
use super::limit;
use super::principals::{parse_expr, parse_ldap, principal_object};
use crate::binder::Bound;
use crate::catalog::ObjType;
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::store::Store;
use crate::store::directory::{dn_within, normalize_dn};
use crate::store::endpoint::{EndpointRow, with_sip_prefix};

fn named_endpoints(store: &Store, identity: &str) -> CmdletResult<Vec<EndpointRow>> {
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
    // -LdapFilter reads any directory attribute, so it runs on the endpoints as principals.
    let ldap_ids: Option<HashSet<i64>> = match &ldap {
        Some(l) => Some(
            store
                .endpoint_principals()?
                .iter()
                .filter(|e| principal_object(e).read_lock::<Map>().is_some_and(|m| l.eval(&m)))
                .map(|e| e.id)
                .collect(),
        ),
        None => None,
    };
    let projection = filter.as_ref().map(|f| Projection::new::<EndpointRow>(&f.properties()));
    let out = rows
        .iter()
        .filter(|e| pool.as_ref().is_none_or(|p| e.pool().is_some_and(|x| x.eq_ignore_ascii_case(&p.fqdn))))
        .filter(|e| ou.as_deref().is_none_or(|root| dn_within(e.dn(), root)))
        .filter(|e| ldap_ids.as_ref().is_none_or(|ids| ids.contains(&e.id)))
        .filter(|e| filter.as_ref().zip(projection.as_ref()).is_none_or(|(f, p)| f.eval(&p.of(*e))))
        .map(scalar_object)
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
    // The directory file's rule: an address a user may have, an endpoint may have too.
    let Some((_, domain)) = crate::values::sip::parts(&sip) else {
        return Err(CmdletError::invalid(format!(
            "-SipAddress '{given}' is not of the form {}",
            crate::values::sip::FORM
        ))
        .with_target(given));
    };
    let domains = store.sip_domains()?;
    if !domains.iter().any(|d| d.eq_ignore_ascii_case(domain)) {
        return Err(CmdletError::invalid(format!(
            "-SipAddress '{given}': '{domain}' is not a SIP domain of the organisation (SIP domains: {})",
            if domains.is_empty() { "none".to_string() } else { domains.join(", ") }
        ))
        .with_target(given));
    }
    // An import keeps addresses unique ignoring the case of every letter, so an endpoint's
    // address does too (`sip:JÖRG.bot` beside `sip:jörg.bot`): `principal_by_sip` folds them all.
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
        .endpoint_by_dn(&dn)?
        .ok_or_else(|| CmdletError::invalid_operation(format!("the new endpoint '{dn}' cannot be read back")))?;
    Ok(vec![scalar_object(&created)])
}

pub fn remove(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    for e in named_endpoints(ctx.store, b.str("Identity").unwrap_or_default())? {
        if ctx.should_process(e.sip().unwrap_or(e.dn()))? {
            ctx.store.remove_principal(e.id)?;
        }
    }
    Ok(Vec::new())
}
