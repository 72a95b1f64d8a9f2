//! Persistent Chat policies: Get/New/Set/Remove through the shared scoped-settings
//! handlers, Grant here, and the effective policy of a user (extension).

use rhai::Dynamic;

use super::principals::{site_lookup, user_object};
use super::{effective, settings};
use crate::binder::Bound;
use crate::catalog::enums::PrincipalKind;
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::store::Store;
use crate::store::directory::PrincipalRow;
use crate::store::settings::POLICY;

pub fn get(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    settings::get(ctx, b, &POLICY)
}

pub fn new(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    settings::new(ctx, b, &POLICY)
}

pub fn set(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    settings::set(ctx, b, &POLICY)
}

pub fn remove(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    settings::remove(ctx, b, &POLICY)
}

pub fn get_effective(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    effective::policy(ctx, b)
}

/// The SIP-enabled users a user-id names (a wildcard display name can name several); `NotFound`
/// when there are none.
pub fn sip_users(store: &Store, identity: &str) -> CmdletResult<Vec<PrincipalRow>> {
    let users: Vec<PrincipalRow> = store
        .find_principals(identity)?
        .into_iter()
        .filter(|p| p.kind == PrincipalKind::User && p.sip.is_some())
        .collect();
    if users.is_empty() {
        return Err(CmdletError::not_found(format!(
            "no SIP-enabled user matches '{identity}' (give a SIP address, UPN, DOMAIN\\logon, display name or DN)"
        ))
        .with_target(identity));
    }
    Ok(users)
}

/// Assign the per-user policy `-PolicyName` (or, given `()` or nothing, unassign) (rule 23).
pub fn grant(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let tag = match b.str("PolicyName").map(str::trim).filter(|n| !n.is_empty()) {
        Some(name) => Some(settings::per_user_policy_tag(ctx, name)?),
        None => None,
    };
    let users = sip_users(ctx.store, b.str("Identity").unwrap_or_default())?;
    // All or none: a wildcard naming one user outside the actor's scopes changes nobody.
    for user in &users {
        ctx.check_user(&user.dn)?;
    }
    let pass_thru = b.switch("PassThru");
    let site_of = if pass_thru { Some(site_lookup(ctx.store)?) } else { None };
    let mut out = Vec::new();
    for mut user in users {
        let target = user.sip.clone().unwrap_or_else(|| user.dn.clone());
        if !ctx.should_process(&target)? {
            continue;
        }
        // Re-granting the same policy is a no-op.
        if user.policy != tag {
            ctx.store.set_user_policy(user.id, tag.as_deref())?;
            ctx.record_text("PersistentChatPolicy", user.policy.as_deref(), tag.as_deref());
            user.policy = tag.clone();
        } else {
            ctx.unchanged();
        }
        if let Some(site_of) = &site_of {
            out.push(user_object(&user, site_of));
        }
    }
    Ok(out)
}
