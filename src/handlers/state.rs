//! Pool state and active servers: Get/Set-CsPersistentChatState, Set-CsPersistentChatActiveServer.
//! Fail-over is real: FailedOver serves the pool from its backup database; failing back first
//! brings the primary up to date from the backup.

use rhai::Dynamic;

use super::wildcard_filter;
use crate::binder::Bound;
use crate::catalog::ObjType;
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::objects::{list, object, opt, prop_str, text};
use crate::store::Store;
use crate::store::topology::PoolRow;

const PREFIX: &str = "PersistentChatServer:";

pub fn state_identity(pool: &str) -> String {
    format!("{PREFIX}{pool}")
}

/// `PersistentChatServer:<fqdn>`, `service:PersistentChatServer:<fqdn>` or the bare FQDN (1.2).
fn pool_of_identity(identity: &str) -> Option<&str> {
    let id = identity.trim();
    let id = strip_ci(id, "service:").unwrap_or(id);
    match strip_ci(id, PREFIX) {
        Some(fqdn) => Some(fqdn),
        None if !id.contains(':') => Some(id),
        None => None,
    }
}

use crate::values::text::strip_prefix_ci as strip_ci;

/// The pool a Set call targets: -Identity, the piped state object, or the only pool.
fn target_pool(store: &Store, b: &Bound) -> CmdletResult<PoolRow> {
    // Set-CsPersistentChatActiveServer shares this and has no -Instance.
    let instance = b.declares("Instance").then(|| b.object("Instance")).flatten();
    let identity = b.str("Identity").map(str::to_string).or_else(|| instance.and_then(|m| prop_str(m, "Identity")));
    match identity {
        None => store.pchat_pool(None),
        Some(id) => {
            let fqdn = pool_of_identity(&id).ok_or_else(|| {
                CmdletError::not_found(format!(
                    "'{id}' is not a Persistent Chat service identity (PersistentChatServer:<pool fqdn>)"
                ))
                .with_target(&id)
            })?;
            store.pchat_pool(Some(fqdn)).map_err(|e| e.with_target(&id))
        }
    }
}

fn state_object(store: &Store, p: &PoolRow) -> CmdletResult<Dynamic> {
    let serving = if p.state == "FailedOver" { p.backup_database.clone() } else { p.database.clone() };
    // In sync: the copy that is not serving holds every change the serving one has.
    let in_sync = match (&p.database, &p.backup_database) {
        (Some(primary), Some(backup)) => match (store.pool_schema(primary), store.pool_schema(backup)) {
            (Some(a), Some(b)) => Dynamic::from(store.pool_seq(&a, &p.fqdn)? == store.pool_seq(&b, &p.fqdn)?),
            _ => Dynamic::from(false),
        },
        _ => Dynamic::UNIT,
    };
    Ok(object(
        ObjType::State,
        [
            ("Identity", text(state_identity(&p.fqdn))),
            ("PoolState", text(p.state.clone())),
            ("ActiveServers", list(p.active_servers.clone())),
            ("Servers", list(p.servers.clone())),
            ("PrimaryDatabase", opt(p.database.clone())),
            ("BackupDatabase", opt(p.backup_database.clone())),
            ("ServingDatabase", opt(serving)),
            ("InSync", in_sync),
        ],
    ))
}

pub fn get_state(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let filter = wildcard_filter(b)?;
    let pools: Vec<PoolRow> = match b.str("Identity") {
        Some(id) => {
            let fqdn = pool_of_identity(id)
                .ok_or_else(|| CmdletError::not_found(format!("no Persistent Chat state '{id}'")).with_target(id))?;
            vec![store.pchat_pool(Some(fqdn)).map_err(|e| e.with_target(id))?]
        }
        None => store.pools()?.into_iter().filter(|p| p.is_pchat).collect(),
    };
    pools
        .iter()
        .filter(|p| filter.as_ref().is_none_or(|f| f.is_match(&state_identity(&p.fqdn))))
        .map(|p| state_object(store, p))
        .collect()
}

pub fn set_state(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let pool = target_pool(store, b)?;
    let target = state_identity(&pool.fqdn);
    let Some(wanted) = b.enum_value("PoolState") else {
        return Ok(Vec::new());
    };
    if wanted == pool.state {
        return Ok(Vec::new());
    }
    let backup = pool.backup_database.clone().ok_or_else(|| {
        CmdletError::invalid_operation(format!(
            "pool '{}' has no BackupDatabase in the topology, so it cannot fail over",
            pool.fqdn
        ))
        .with_target(&target)
    })?;
    let primary = pool.database.clone().unwrap_or_default();
    let unavailable = |instance: &str| {
        CmdletError::invalid_operation(format!(
            "the database {instance} of pool '{}' is unavailable{}",
            pool.fqdn,
            store.unavailable_reason(instance).map(|r| format!(" ({r})")).unwrap_or_default()
        ))
        .with_target(&target)
    };
    let backup_schema = store.pool_schema(&backup).ok_or_else(|| unavailable(&backup))?;
    if wanted == "Normal" {
        // Fail back: the primary first receives everything that changed while failed over.
        let primary_schema = store.pool_schema(&primary).ok_or_else(|| unavailable(&primary))?;
        if ctx.should_process(&target)? {
            if store.pool_seq(&primary_schema, &pool.fqdn)? != store.pool_seq(&backup_schema, &pool.fqdn)? {
                store.copy_pool(&pool.fqdn, &backup_schema, &primary_schema)?;
            }
            store.set_pool_state(&pool.fqdn, "Normal")?;
        }
    } else if ctx.should_process(&target)? {
        store.set_pool_state(&pool.fqdn, "FailedOver")?;
    }
    Ok(Vec::new())
}

pub fn set_active_server(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let pool = target_pool(store, b)?;
    let target = state_identity(&pool.fqdn);
    let active = if b.switch("Swap") {
        pool.servers
            .iter()
            .filter(|s| !pool.active_servers.iter().any(|a| a.eq_ignore_ascii_case(s)))
            .cloned()
            .collect()
    } else {
        let modifier = b.modifier("ActiveServers").cloned().unwrap_or_default();
        for s in modifier.added(&pool.active_servers) {
            if !pool.servers.iter().any(|x| x.eq_ignore_ascii_case(&s)) {
                return Err(CmdletError::invalid(format!(
                    "-ActiveServers: '{s}' is not a server of pool '{}' (its servers: {})",
                    pool.fqdn,
                    pool.servers.join(", ")
                ))
                .with_target(&target));
            }
        }
        modifier.apply(&pool.active_servers)
    };
    if ctx.should_process(&target)? {
        store.set_active_servers(&pool.fqdn, &active)?;
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_forms() {
        assert_eq!(pool_of_identity("PersistentChatServer:pc01.contoso.com"), Some("pc01.contoso.com"));
        assert_eq!(pool_of_identity("service:persistentchatserver:pc01.contoso.com"), Some("pc01.contoso.com"));
        assert_eq!(pool_of_identity("pc01.contoso.com"), Some("pc01.contoso.com"));
        assert_eq!(pool_of_identity("Registrar:fe01.contoso.com"), None);
    }
}
