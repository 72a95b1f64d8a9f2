//! Effective settings (pchat extensions): which configuration or compliance collection governs a
//! Persistent Chat pool, and which policy governs a user. The objects are the
//! governing ones, plus `AppliesTo` (the pool or user asked about) and `Scope` (where the
//! settings came from: Service, Site, Tag or Global).

use rhai::{Dynamic, Map};

use super::policy::sip_users;
use super::settings::settings_object;
use crate::binder::Bound;
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::objects::text;
use crate::store::settings::{POLICY, SettingsKind, SettingsRow, scope_level};
use crate::store::topology::PoolRow;

fn effective_object(kind: &SettingsKind, row: &SettingsRow, applies_to: &str) -> Dynamic {
    let mut d = settings_object(kind, row);
    if let Some(mut map) = d.write_lock::<Map>() {
        map.insert("AppliesTo".into(), text(applies_to));
        map.insert("Scope".into(), text(scope_level(&row.identity)));
    }
    d
}

/// One object per Persistent Chat pool asked about (every pool when none is named).
pub fn pool_settings(ctx: &mut Ctx, b: &Bound, kind: &SettingsKind) -> CmdletResult<Vec<Dynamic>> {
    let pools: Vec<PoolRow> = match b.str("PersistentChatPoolFqdn") {
        Some(fqdn) => vec![ctx.store.pchat_pool(Some(fqdn))?],
        None => ctx.store.pools()?.into_iter().filter(|p| p.is_pchat).collect(),
    };
    pools
        .iter()
        .map(|pool| {
            let row = ctx.store.effective_settings(kind, pool)?;
            Ok(effective_object(kind, &row, &pool.fqdn))
        })
        .collect()
}

/// One object per SIP-enabled user the identity names.
pub fn policy(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let users = sip_users(ctx.store, b.str("Identity").unwrap_or_default())?;
    let mut out = Vec::with_capacity(users.len());
    for user in users {
        let sip = user.sip.unwrap_or_default();
        let governing = ctx.store.effective_policy(&sip)?;
        let row = ctx.store.settings_get(&POLICY, &governing.identity)?.ok_or_else(|| {
            CmdletError::invalid_operation(format!("the policy '{}' vanished while being read", governing.identity))
        })?;
        out.push(effective_object(&POLICY, &row, &sip));
    }
    Ok(out)
}
