//! Pool state and active servers: Get/Set-CsPersistentChatState, Set-CsPersistentChatActiveServer.
//! Fail-over is real: FailedOver serves the pool from its backup database; failing back first
//! brings the primary up to date from the backup; Repair-CsPersistentChatDatabase recovers from
//! a lost or damaged copy (the rules are in store/failover.rs and docs/failover.md).

use rhai::Dynamic;

use super::wildcard_filter;
use crate::binder::Bound;
use crate::catalog::ObjType;
use crate::catalog::enums::{Named, PoolState};
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::objects::{list, object, opt, prop_str, text};
use crate::store::Store;
use crate::store::failover::{CopyState, Mark, Side};
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

/// How one copy of a pool stands: `Current` (holds the pool's last change; the copy serving the
/// pool must also be of its generation), `Behind (...)` or `Unavailable (...)`. Read without a
/// lock: what a state change or repair finds under its lock decides.
fn copy_status(
    store: &Store,
    instance: Option<&str>,
    serving: bool,
    fqdn: &str,
    mark: Mark,
) -> CmdletResult<(String, Option<Mark>)> {
    let Some(instance) = instance else { return Ok((String::new(), None)) };
    Ok(match store.copy_state(instance, fqdn)? {
        CopyState::Ready { mark: held, .. } if held == mark || (!serving && held.1 == mark.1) => {
            ("Current".into(), Some(held))
        }
        CopyState::Ready { mark: held, .. } => (
            format!(
                "Behind (holds change {} of generation {}; the pool is at change {} of generation {})",
                held.1, held.0, mark.1, mark.0
            ),
            Some(held),
        ),
        CopyState::Unavailable(why) => (format!("Unavailable ({why})"), None),
    })
}

fn state_object(store: &Store, p: &PoolRow) -> CmdletResult<Dynamic> {
    let serving = p.serving_database().map(str::to_string);
    let mark = store.pool_mark(&p.fqdn)?;
    let failed_over = p.state == PoolState::FailedOver;
    let (primary, primary_mark) = copy_status(store, p.database.as_deref(), !failed_over, &p.fqdn, mark)?;
    let (backup, backup_mark) = copy_status(store, p.backup_database.as_deref(), failed_over, &p.fqdn, mark)?;
    // In sync: the copy that is not serving holds every change the serving one has.
    let in_sync = match (&p.database, &p.backup_database) {
        (Some(_), Some(_)) => Dynamic::from(match (primary_mark, backup_mark) {
            (Some(a), Some(b)) => a.1 == mark.1 && b.1 == mark.1,
            _ => false,
        }),
        _ => Dynamic::UNIT,
    };
    Ok(object(
        ObjType::State,
        [
            ("Identity", text(state_identity(&p.fqdn))),
            ("PoolState", text(p.state.name())),
            ("ActiveServers", list(p.active_servers.clone())),
            ("Servers", list(p.servers.clone())),
            ("PrimaryDatabase", opt(p.database.clone())),
            ("BackupDatabase", opt(p.backup_database.clone())),
            ("ServingDatabase", opt(serving)),
            ("InSync", in_sync),
            ("PrimaryStatus", text(primary)),
            ("BackupStatus", text(backup)),
            ("Generation", Dynamic::from(mark.0)),
            ("Change", Dynamic::from(mark.1)),
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
    let Some(wanted) = b.choice::<PoolState>("PoolState") else {
        return Ok(Vec::new());
    };
    if wanted == pool.state {
        return Ok(Vec::new());
    }
    if ctx.should_process(&target)? {
        ctx.record_pairs(&[("PoolState", pool.state.name().into(), wanted.name().into())]);
        if wanted == PoolState::Normal {
            store.fail_back(&pool)?;
        } else {
            store.fail_over(&pool)?;
        }
    }
    Ok(Vec::new())
}

/// Repair-CsPersistentChatDatabase: make both copies of a pool the verified source's, and serve
/// the pool from it (see `store::failover`).
pub fn repair(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let pool = target_pool(store, b)?;
    let target = state_identity(&pool.fqdn);
    let source = match b.enum_value("Source") {
        Some("Backup") => Side::Backup,
        _ => Side::Primary,
    };
    let plan = store.plan_repair(&pool, source).map_err(|e| e.with_target(&target))?;
    if !plan.losses.is_empty() && !b.switch("Force") {
        return Err(CmdletError::invalid_operation(format!(
            "repairing pool '{}' from its {} would lose data: {}; to accept that, run it again with Force: true",
            pool.fqdn,
            source.name().to_lowercase(),
            plan.losses.join("; ")
        ))
        .with_target(&target));
    }
    let giving_up =
        if plan.losses.is_empty() { String::new() } else { format!("; giving up: {}", plan.losses.join("; ")) };
    if !ctx.should_process(&format!("{target} ({}{giving_up})", plan.summary()))? {
        return Ok(Vec::new());
    }
    ctx.record_target(&target);
    // The plan says what would be lost; once made, the repair has lost it.
    let given_up: Vec<String> = plan.losses.iter().map(|l| l.replace(" would be lost", " are lost")).collect();
    let dropped: Vec<String> = given_up.iter().chain(&plan.notes).cloned().collect();
    if !dropped.is_empty() {
        // What Force gave up, and a change interrupted in its commit that the store recorded
        // (with its audit record) but no copy holds, stay on record with the Repair itself.
        ctx.record_pairs(&[("Dropped", Dynamic::UNIT, list(dropped))]);
    }
    let notes = store.repair(&pool, &plan).map_err(|e| e.with_target(&target))?;
    for line in given_up.iter().chain(&plan.notes).chain(&notes) {
        ctx.warn(line.clone());
    }
    let now = store.pchat_pool(Some(&pool.fqdn))?;
    Ok(vec![state_object(store, &now)?])
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
        if let Some(line) =
            modifier.empty_replace_warning(ctx.cmdlet.name, "ActiveServers", &target, pool.active_servers.len())
        {
            ctx.warn(line);
        }
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
        if active == pool.active_servers {
            ctx.unchanged();
        } else {
            store.set_active_servers(&pool.fqdn, &active)?;
            ctx.record_pairs(&[("ActiveServers", list(pool.active_servers.clone()), list(active.clone()))]);
        }
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
