//! Categories: Get/New/Set/Remove-CsPersistentChatCategory.

use rhai::{Dynamic, Map};

use super::chat::{
    Principals, check_name, identity_pool, instance_bool, instance_prop, instance_text, not_found, target_identity,
};
use super::described::{apply_plain, changed_values, object_of};
use crate::binder::Bound;
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::store::Store;
use crate::store::ancestry::in_scope;
use crate::store::category::CategoryRow;
use crate::store::pools::PoolTarget;

const WHAT: &str = "category";

pub fn identity(c: &CategoryRow) -> String {
    format!("{}\\{}", c.pool(), c.name())
}

fn category_object(c: &CategoryRow, names: &mut Principals) -> Dynamic {
    object_of(c, names)
}

/// The category a Set/Remove call targets: -Identity, or the Identity of the -Instance object.
fn target(store: &Store, b: &Bound) -> CmdletResult<(PoolTarget, CategoryRow)> {
    let id = target_identity(b)?;
    let (pool, name) = identity_pool(store, &id, WHAT)?;
    let c = store.category_by_name(&pool, name)?.ok_or_else(|| not_found(WHAT, &id))?;
    Ok((pool, c))
}

pub fn get(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let rows = match b.str("Identity") {
        Some(id) => {
            let (pool, name) = identity_pool(store, id, WHAT)?;
            vec![store.category_by_name(&pool, name)?.ok_or_else(|| not_found(WHAT, id))?]
        }
        None => {
            let mut rows = Vec::new();
            for pool in store.chat_pools(b.str("PersistentChatPoolFqdn"))? {
                rows.extend(store.categories(&pool)?);
            }
            rows
        }
    };
    let mut names = Principals::new(store, b.switch("AsObject"));
    Ok(rows.iter().map(|c| category_object(c, &mut names)).collect())
}

pub fn new(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let name = check_name("Name", b.str("Name").unwrap_or_default())?;
    let pool = store.chat_pool_for_new(b.str("PersistentChatPoolFqdn"))?;
    let mut c = CategoryRow::new(store.new_id(), &pool.fqdn, name);
    apply_plain(&mut c, b, None)?;
    c.set_invites(b.switch("EnableInvitations"));
    c.set_file_upload(b.switch("EnableFileUpload"));
    c.set_chat_history(!b.switch("RemoveChatHistory"));
    let id = identity(&c);
    if let Some(o) = store.category_by_name(&pool, c.name())? {
        return Err(
            CmdletError::exists(super::name_taken(&pool.fqdn, "a category", o.name(), c.name())).with_target(id)
        );
    }
    if !ctx.should_process_in(&pool, &id)? {
        return Ok(Vec::new());
    }
    store.insert_category(&pool, &c)?;
    Ok(vec![category_object(&c, &mut Principals::new(store, false))])
}

/// The lists of `c` after the Instance object (if any) and the explicit modifiers; returns the
/// principals this call adds to Creators (validated against the new scope by the caller).
fn apply_lists(
    ctx: &mut Ctx,
    id: &str,
    names: &Principals,
    b: &Bound,
    c: &mut CategoryRow,
) -> CmdletResult<Vec<crate::store::directory::PrincipalRow>> {
    let mut creators_added = Vec::new();
    for (param, which) in [("AllowedMembers", 0), ("DeniedMembers", 1), ("Creators", 2)] {
        let list = match which {
            0 => &mut c.allowed,
            1 => &mut c.denied,
            _ => &mut c.creators,
        };
        if let Some(v) = b.object("Instance").and_then(|m| instance_prop(m, param)) {
            let (after, added) = names.apply_instance_list(param, list, v)?;
            *list = after;
            if which == 2 {
                creators_added.extend(added);
            }
        }
        if let Some(m) = b.modifier(param) {
            if let Some(line) = m.empty_replace_warning(ctx.cmdlet.name, param, id, list.len()) {
                ctx.warn(line);
            }
            let (after, added) = names.apply(param, list, m)?;
            *list = after;
            if which == 2 {
                creators_added.extend(added);
            }
        }
    }
    Ok(creators_added)
}

/// The -Instance object's Name and its properties that New sets with switches of other names.
fn apply_instance_properties(map: &Map, c: &mut CategoryRow) -> CmdletResult<()> {
    if let Some(n) = instance_text(map, "Name").flatten() {
        c.set_name(n);
    }
    if let Some(v) = instance_bool(map, "Invites")? {
        c.set_invites(v);
    }
    if let Some(v) = instance_bool(map, "FileUpload")? {
        c.set_file_upload(v);
    }
    if let Some(v) = instance_bool(map, "ChatHistory")? {
        c.set_chat_history(v);
    }
    Ok(())
}

pub fn set(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let (pool, before) = target(store, b)?;
    let id = identity(&before);
    let mut c = before.clone();
    let instance = b.object("Instance");
    if let Some(map) = instance {
        apply_instance_properties(map, &mut c)?;
    }
    apply_plain(&mut c, b, instance)?;
    if let Some(n) = b.str("Name") {
        c.set_name(n.to_string());
    }
    if c.name() != before.name() {
        c.set_name(check_name("Name", c.name())?);
        if let Some(o) = store.category_by_name(&pool, c.name())?.filter(|o| o.id != c.id) {
            let taken = super::name_taken(&pool.fqdn, "a category", o.name(), c.name());
            return Err(CmdletError::exists(format!("cannot rename '{id}': {taken}")).with_target(id));
        }
    }
    if let Some(v) = b.bool("Invitations") {
        c.set_invites(v);
    }
    if let Some(v) = b.bool("FileUpload") {
        c.set_file_upload(v);
    }
    if let Some(v) = b.bool("ChatHistory") {
        c.set_chat_history(v);
    }
    let names = Principals::new(store, b.switch("AsObject"));
    let creators_added = apply_lists(ctx, &id, &names, b, &mut c).map_err(|e| e.with_target(id.clone()))?;
    for p in &creators_added {
        if !in_scope(&store.ancestry(p)?, &c.allowed, &c.denied) {
            return Err(CmdletError::new(
                crate::errors::ErrorKind::NotEligible,
                format!(
                    "-Creators: '{}' is not in the scope of category '{id}' (AllowedMembers must cover it and DeniedMembers must not)",
                    crate::store::ancestry::principal_key(p)
                ),
            )
            .with_target(id));
        }
    }
    if !ctx.should_process_in(&pool, &id)? {
        return Ok(Vec::new());
    }
    if c != before {
        store.update_category(&pool, &before, &c)?;
        let (old, new) = changed_values(&before, &c, &mut Principals::new(store, false));
        ctx.record_values(&old, &new);
    } else {
        ctx.unchanged();
    }
    Ok(Vec::new())
}

pub fn remove(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let (pool, c) = target(store, b)?;
    let id = identity(&c);
    let rooms = store.category_room_count(&pool, c.id)?;
    if rooms > 0 {
        return Err(CmdletError::new(
            crate::errors::ErrorKind::NotEmpty,
            format!(
                "category '{id}' still holds {rooms} room{}; remove them or move them with Set-CsPersistentChatRoom -Category first",
                if rooms == 1 { "" } else { "s" }
            ),
        )
        .with_target(id));
    }
    if ctx.should_process_in(&pool, &id)? {
        store.delete_category(&pool, c.id)?;
    }
    Ok(Vec::new())
}
