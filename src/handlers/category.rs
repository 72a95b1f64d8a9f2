//! Categories: Get/New/Set/Remove-CsPersistentChatCategory.

use rhai::{Dynamic, Map};

use super::chat::{
    Principals, check_name, identity_pool, instance_bool, instance_prop, instance_text, not_found, target_identity,
};
use crate::binder::Bound;
use crate::catalog::ObjType;
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::objects::{object, opt, text};
use crate::store::Store;
use crate::store::ancestry::in_scope;
use crate::store::category::CategoryRow;
use crate::store::pools::PoolTarget;

const WHAT: &str = "category";

pub fn identity(c: &CategoryRow) -> String {
    format!("{}\\{}", c.pool, c.name)
}

fn category_object(c: &CategoryRow, names: &mut Principals) -> Dynamic {
    object(
        ObjType::Category,
        [
            ("Identity", text(identity(c))),
            ("Name", text(c.name.clone())),
            ("Description", opt(c.description.clone())),
            ("PersistentChatPoolFqdn", text(c.pool.clone())),
            ("AllowedMembers", names.render_list(&c.allowed)),
            ("DeniedMembers", names.render_list(&c.denied)),
            ("Creators", names.render_list(&c.creators)),
            ("Invites", Dynamic::from(c.invites)),
            ("FileUpload", Dynamic::from(c.file_upload)),
            ("ChatHistory", Dynamic::from(c.chat_history)),
        ],
    )
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
    let c = CategoryRow {
        id: store.new_id(),
        pool: pool.fqdn.clone(),
        name,
        description: b.str("Description").map(str::to_string),
        invites: b.switch("EnableInvitations"),
        file_upload: b.switch("EnableFileUpload"),
        chat_history: !b.switch("RemoveChatHistory"),
        allowed: Vec::new(),
        denied: Vec::new(),
        creators: Vec::new(),
    };
    let id = identity(&c);
    if store.category_by_name(&pool, &c.name)?.is_some() {
        return Err(CmdletError::exists(format!("pool '{}' already has a category named '{}'", pool.fqdn, c.name))
            .with_target(id));
    }
    if !ctx.should_process(&id)? {
        return Ok(Vec::new());
    }
    store.insert_category(&pool, &c)?;
    Ok(vec![category_object(&c, &mut Principals::new(store, false))])
}

/// The lists of `c` after the Instance object (if any) and the explicit modifiers; returns the
/// principals this call adds to Creators (validated against the new scope by the caller).
fn apply_lists(
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
            let (after, added) = names.apply(param, list, m)?;
            *list = after;
            if which == 2 {
                creators_added.extend(added);
            }
        }
    }
    Ok(creators_added)
}

fn apply_instance_properties(map: &Map, c: &mut CategoryRow) -> CmdletResult<()> {
    if let Some(n) = instance_text(map, "Name").flatten() {
        c.name = n;
    }
    if let Some(d) = instance_text(map, "Description") {
        c.description = d;
    }
    if let Some(v) = instance_bool(map, "Invites")? {
        c.invites = v;
    }
    if let Some(v) = instance_bool(map, "FileUpload")? {
        c.file_upload = v;
    }
    if let Some(v) = instance_bool(map, "ChatHistory")? {
        c.chat_history = v;
    }
    Ok(())
}

pub fn set(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let (pool, before) = target(store, b)?;
    let id = identity(&before);
    let mut c = before.clone();
    if let Some(map) = b.object("Instance") {
        apply_instance_properties(map, &mut c)?;
    }
    if let Some(n) = b.str("Name") {
        c.name = n.to_string();
    }
    if c.name != before.name {
        c.name = check_name("Name", &c.name)?;
        if store.category_by_name(&pool, &c.name)?.is_some_and(|o| o.id != c.id) {
            return Err(CmdletError::exists(format!(
                "cannot rename '{id}': pool '{}' already has a category named '{}'",
                pool.fqdn, c.name
            ))
            .with_target(id));
        }
    }
    if b.has("Description") {
        c.description = b.str("Description").map(str::to_string);
    }
    if let Some(v) = b.bool("Invitations") {
        c.invites = v;
    }
    if let Some(v) = b.bool("FileUpload") {
        c.file_upload = v;
    }
    if let Some(v) = b.bool("ChatHistory") {
        c.chat_history = v;
    }
    let names = Principals::new(store, b.switch("AsObject"));
    let creators_added = apply_lists(&names, b, &mut c).map_err(|e| e.with_target(id.clone()))?;
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
    if !ctx.should_process(&id)? {
        return Ok(Vec::new());
    }
    store.update_category(&pool, &c)?;
    let mut names = Principals::new(store, false);
    let (old, new) = (category_object(&before, &mut names), category_object(&c, &mut names));
    ctx.record_values(&old.cast(), &new.cast());
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
    if ctx.should_process(&id)? {
        store.delete_category(&pool, c.id)?;
    }
    Ok(Vec::new())
}
