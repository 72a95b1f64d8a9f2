//! Add-ins: Get/New/Set/Remove-CsPersistentChatAddin.

use rhai::Dynamic;

use super::chat::{check_name, identity_pool, instance_text, not_found, target_identity};
use super::described::{apply_plain, identity, scalar_object};
use crate::binder::Bound;
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::store::Store;
use crate::store::addin::AddinRow;
use crate::store::pools::PoolTarget;

const WHAT: &str = "add-in";

/// An absolute http or https URL with a host.
fn check_url(url: &str) -> CmdletResult<String> {
    let u = url.trim();
    let rest = ["http://", "https://"]
        .iter()
        .find_map(|s| crate::values::text::strip_prefix_ci(u, s).filter(|rest| !rest.is_empty()));
    let host = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
    match host {
        Some(h) if !h.is_empty() && !u.contains(char::is_whitespace) => Ok(u.to_string()),
        _ => Err(CmdletError::invalid(format!(
            "-Url '{url}' is not an absolute http or https URL (e.g. https://apps.contoso.com/budget)"
        ))),
    }
}

fn target(store: &Store, b: &Bound) -> CmdletResult<(PoolTarget, AddinRow)> {
    let id = target_identity(b)?;
    let (pool, name) = identity_pool(store, &id, WHAT)?;
    let a = store.addin_by_name(&pool, name)?.ok_or_else(|| not_found(WHAT, &id))?;
    Ok((pool, a))
}

pub fn get(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    if let Some(id) = b.str("Identity") {
        let (pool, name) = identity_pool(store, id, WHAT)?;
        let a = store.addin_by_name(&pool, name)?.ok_or_else(|| not_found(WHAT, id))?;
        return Ok(vec![scalar_object(&a)]);
    }
    let mut out = Vec::new();
    for pool in store.chat_pools(b.str("PersistentChatPoolFqdn"))? {
        out.extend(store.addins(&pool)?.iter().map(scalar_object));
    }
    Ok(out)
}

pub fn new(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let name = check_name("Name", b.str("Name").unwrap_or_default())?;
    let url = check_url(b.str("Url").unwrap_or_default())?;
    let pool = store.chat_pool_for_new(b.str("PersistentChatPoolFqdn"))?;
    let mut a = AddinRow::new(store.new_id(), &pool.fqdn, name, url);
    apply_plain(&mut a, b, None)?;
    let id = identity(&a);
    if let Some(o) = store.addin_by_name(&pool, a.name())? {
        return Err(CmdletError::exists(super::name_taken(&pool.fqdn, "an add-in", o.name(), a.name())).with_target(id));
    }
    if !ctx.should_process_in(&pool, &id)? {
        return Ok(Vec::new());
    }
    store.insert_addin(&pool, &a)?;
    Ok(vec![scalar_object(&a)])
}

pub fn set(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let (pool, before) = target(store, b)?;
    let id = identity(&before);
    let mut a = before.clone();
    if let Some(map) = b.object("Instance") {
        if let Some(n) = instance_text(map, "Name").flatten() {
            a.set_name(n);
        }
        if let Some(u) = instance_text(map, "Url").flatten() {
            a.set_url(u);
        }
    }
    if let Some(n) = b.str("Name") {
        a.set_name(n.to_string());
    }
    if let Some(u) = b.str("Url") {
        a.set_url(u.to_string());
    }
    apply_plain(&mut a, b, b.object("Instance"))?;
    if a.url() != before.url() {
        a.set_url(check_url(a.url()).map_err(|e| e.with_target(id.clone()))?);
    }
    if a.name() != before.name() {
        a.set_name(check_name("Name", a.name()).map_err(|e| e.with_target(id.clone()))?);
        if let Some(o) = store.addin_by_name(&pool, a.name())?.filter(|o| o.id != a.id) {
            let taken = super::name_taken(&pool.fqdn, "an add-in", o.name(), a.name());
            return Err(CmdletError::exists(format!("cannot rename '{id}': {taken}")).with_target(id));
        }
    }
    if ctx.should_process_in(&pool, &id)? {
        // Rooms reference the add-in by id, so a rename carries them along (1.10 #21).
        store.update_addin(&pool, &before, &a)?;
        ctx.record_values(&scalar_object(&before).cast(), &scalar_object(&a).cast());
    }
    Ok(Vec::new())
}

pub fn remove(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let (pool, a) = target(store, b)?;
    let id = identity(&a);
    if !ctx.should_process_in(&pool, &id)? {
        return Ok(Vec::new());
    }
    let rooms = store.addin_room_count(&pool, a.id)?;
    if rooms > 0 {
        let situation = format!(
            "The add-in {id} is used by {rooms} chat room{}; their Addin will be cleared",
            if rooms == 1 { "" } else { "s" }
        );
        ctx.confirm_situation(&id, b.switch("Force"), &situation)?;
    }
    // ON DELETE SET NULL clears the Addin of the rooms that used it.
    store.delete_addin(&pool, a.id)?;
    Ok(Vec::new())
}
