//! Chat rooms: Get/New/Set/Remove/Clear-CsPersistentChatRoom.

use rhai::{Dynamic, Map};

use super::access::{UserFilter, user_filter};
use super::chat::{
    Principals, check_name, identity_pool, instance_prop, instance_text, name_scope, not_found, split_scoped_name,
    target_identity, unique_match,
};
use super::described::{Projection, apply_plain, changed_values, object_of};
use super::message::{micros, plural, pool_data, posted_at_text};
use crate::binder::Bound;
use crate::catalog::ObjType;
use crate::catalog::enums::RoomType;
use crate::errors::{CmdletError, CmdletResult, ErrorKind};
use crate::filters::expr;
use crate::invocation::Ctx;
use crate::store::Store;
use crate::store::ancestry::{in_scope, principal_key};
use crate::store::category::CategoryRow;
use crate::store::directory::PrincipalRow;
use crate::store::message::MessageQuery;
use crate::store::pools::PoolTarget;
use crate::store::room::{MANAGERS, MEMBERS, PRESENTERS, RoomQuery, RoomRow};
use crate::values::wildcard::{Wildcard, has_wildcards};

const WHAT: &str = "chat room";
const MB: i64 = 1_048_576;

pub fn identity(r: &RoomRow) -> String {
    format!("{}\\{}", r.pool(), r.name())
}

fn room_object(r: &RoomRow, names: &mut Principals) -> Dynamic {
    object_of(r, names)
}

/// The room a Set/Remove call targets: -Identity, or the Identity of the -Instance object.
fn target(store: &Store, b: &Bound) -> CmdletResult<(PoolTarget, RoomRow)> {
    let id = target_identity(b)?;
    let (pool, name) = identity_pool(store, &id, WHAT)?;
    let r = store.room_by_name(&pool, name)?.ok_or_else(|| not_found(WHAT, &id))?;
    Ok((pool, r))
}

fn category_of(store: &Store, pool: &PoolTarget, r: &RoomRow) -> CmdletResult<CategoryRow> {
    store
        .category_by_name(pool, r.category())?
        .ok_or_else(|| CmdletError::invalid_operation(format!("the category of room '{}' is missing", identity(r))))
}

// ---------------------------------------------------------------------------------------------
// Get

/// `-Filter`: an expression over the room's properties, or plain text.
enum RoomFilter {
    /// The expression, the scalar properties it reads, and whether it reads a list.
    Expr(expr::Expr, Projection, bool),
    Wildcard(Wildcard),
    Text(String),
}

impl RoomFilter {
    fn parse(f: &str) -> CmdletResult<RoomFilter> {
        if expr::looks_like_expression(f) {
            let e = expr::parse(f).map_err(|e| super::principals::unreadable_filter("Filter", f, e))?;
            // A misspelled property would read as $Null for every room: stop before anything runs.
            e.check_properties(ObjType::ChatRoom, &[])
                .map_err(|m| CmdletError::invalid(format!("-Filter '{f}': {m}")).terminating())?;
            let props = e.properties();
            return Ok(RoomFilter::Expr(
                e,
                Projection::new::<RoomRow>(&props),
                Projection::reads_lists::<RoomRow>(&props),
            ));
        }
        if let Some(why) = expr::misspelled_operator(f) {
            return Err(CmdletError::invalid(format!("-Filter '{f}': {why}")).terminating());
        }
        if has_wildcards(f) {
            return Wildcard::new(f)
                .map(RoomFilter::Wildcard)
                .map_err(|e| CmdletError::invalid(format!("-Filter: {e}")));
        }
        Ok(RoomFilter::Text(f.to_lowercase()))
    }

    /// A prefix every matching room's name has, for the store to narrow its scan with.
    fn name_prefix(&self, search_description: bool) -> Option<String> {
        match self {
            RoomFilter::Expr(e, ..) => e.required_prefix("Name"),
            RoomFilter::Wildcard(w) if !search_description => Some(w.literal_prefix()),
            _ => None,
        }
    }

    /// Whether the expression reads a list property (which then must be loaded first).
    fn needs_lists(&self) -> bool {
        matches!(self, RoomFilter::Expr(_, _, true))
    }

    fn matches(&self, r: &RoomRow, search_description: bool, names: &mut Principals) -> bool {
        let text_matches =
            |f: &dyn Fn(&str) -> bool| f(r.name()) || (search_description && r.description().is_some_and(f));
        match self {
            RoomFilter::Expr(e, _, true) => room_object(r, names).read_lock::<Map>().is_some_and(|m| e.eval(&m)),
            // Only the properties the expression reads: building whole objects for every room
            // of a large pool would dominate the search.
            RoomFilter::Expr(e, projection, false) => e.eval(&projection.of(r)),
            RoomFilter::Wildcard(w) => text_matches(&|s| w.is_match(s)),
            RoomFilter::Text(t) => text_matches(&|s| s.to_lowercase().contains(t.as_str())),
        }
    }
}

/// Per-pool id restriction from -Member / -Manager (effective membership: direct, through groups, or through the category).
fn principal_rooms(
    store: &Store,
    pool: &PoolTarget,
    manager: Option<&UserFilter>,
    member: Option<&UserFilter>,
) -> CmdletResult<Option<Vec<i64>>> {
    let mut restrict: Option<Vec<i64>> = None;
    let mut intersect = |ids: Vec<i64>| {
        restrict = Some(match restrict.take() {
            None => ids,
            Some(prev) => prev.into_iter().filter(|i| ids.contains(i)).collect(),
        });
    };
    if let Some(user) = manager {
        let a = store.ancestry_of_key(&user.key)?;
        let keys: Vec<String> = a.keys().cloned().collect();
        intersect(store.rooms_listing(pool, MANAGERS, &keys)?);
    }
    if let Some(user) = member {
        let a = store.ancestry_of_key(&user.key)?;
        let keys: Vec<String> = a.keys().cloned().collect();
        let mut ids = store.rooms_listing(pool, MEMBERS, &keys)?;
        let scoped: Vec<i64> =
            store.categories(pool)?.into_iter().filter(|c| in_scope(&a, &c.allowed, &c.denied)).map(|c| c.id).collect();
        if !scoped.is_empty() {
            ids.extend(store.rooms_inheriting_members(pool, &scoped)?);
        }
        intersect(ids);
    }
    Ok(restrict)
}

pub fn get(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let mut names = Principals::new(store, b.switch("AsObject"));
    if let Some(id) = b.str("Identity") {
        let (pool, name) = identity_pool(store, id, WHAT)?;
        let r = store.room_by_name(&pool, name)?.ok_or_else(|| not_found(WHAT, id))?;
        return Ok(vec![room_object(&r, &mut names)]);
    }
    let filter = b.str("Filter").map(RoomFilter::parse).transpose()?;
    let search_description = b.switch("SearchDescription");
    let wanted = b.int("ResultSize").map(|n| n.max(0) as usize).unwrap_or(usize::MAX);
    let base = RoomQuery {
        disabled: b.bool("Disabled"),
        privacy: b.choice("Privacy"),
        room_type: b.choice("Type"),
        invitations: b.choice("Invitations"),
        content_over: b.int("ChatContentExceedsMB").map(|n| n.saturating_mul(MB)),
        name_prefix: filter.as_ref().and_then(|f| f.name_prefix(search_description)),
        ..Default::default()
    };
    let (pools, category) = match b.str("Category") {
        Some(c) => {
            let (pools, name) = name_scope(store, c, None, "Category")?;
            (pools, Some(name))
        }
        None => (store.chat_pools(b.str("PersistentChatPoolFqdn"))?, None),
    };
    // Any identity form; a user no longer in the directory still finds the rooms listing them.
    let manager = b.str("Manager").map(|u| user_filter(store, "Manager", u)).transpose()?;
    let member = b.str("Member").map(|u| user_filter(store, "Member", u)).transpose()?;
    let (mut category_seen, mut addin_seen) = (false, false);
    let mut out = Vec::new();
    for pool in &pools {
        if out.len() >= wanted {
            break;
        }
        let mut q = base.clone();
        if let Some(name) = &category {
            let Some((id, _)) = store.category_key(pool, name)? else { continue };
            category_seen = true;
            q.category_ids = Some(vec![id]);
        }
        if let Some(addin) = b.str("Addin") {
            let Some(a) = store.addin_by_name(pool, addin.trim())? else { continue };
            addin_seen = true;
            q.addin_id = Some(a.id);
        }
        q.ids = principal_rooms(store, pool, manager.as_ref(), member.as_ref())?;
        let mut rows = store.rooms(pool, &q)?;
        if filter.as_ref().is_some_and(RoomFilter::needs_lists) {
            store.load_room_lists(pool, &mut rows)?;
        }
        if let Some(f) = &filter {
            rows.retain(|r| f.matches(r, search_description, &mut names));
        }
        rows.truncate(wanted - out.len());
        if !filter.as_ref().is_some_and(RoomFilter::needs_lists) {
            store.load_room_lists(pool, &mut rows)?;
        }
        out.extend(rows.iter().map(|r| room_object(r, &mut names)));
    }
    if let Some(c) = b.str("Category").filter(|_| !category_seen) {
        return Err(not_found("category", c));
    }
    if let Some(a) = b.str("Addin").filter(|_| !addin_seen) {
        return Err(not_found("add-in", a));
    }
    if out.is_empty()
        && let Some(e) = [manager, member].into_iter().flatten().find_map(|u| u.gone)
    {
        return Err(e);
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// New

pub fn new(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let name = check_name("Name", b.str("Name").unwrap_or_default())?;
    let category_arg = b.str("Category").unwrap_or_default();
    // A `pool\name` category fixes the pool when -PersistentChatPoolFqdn is omitted.
    let pool_arg = b.str("PersistentChatPoolFqdn").or_else(|| category_arg.split_once('\\').map(|(p, _)| p));
    let pool = store.chat_pool_for_new(pool_arg)?;
    let (_, category_name) = split_scoped_name(category_arg, Some(&pool.fqdn), "Category")?;
    let category = store.category_key(&pool, &category_name)?.ok_or_else(|| {
        CmdletError::not_found(format!(
            "-Category: pool '{}' has no category '{category_name}' (create it with New-CsPersistentChatCategory)",
            pool.fqdn
        ))
        .with_target(format!("{}\\{name}", pool.fqdn))
    })?;
    let mut r = RoomRow::new(store.new_id(), &pool.fqdn, name, category);
    r.set_addin(resolve_addin(store, &pool, b.str("Addin"))?);
    apply_plain(&mut r, b, None)?;
    let id = identity(&r);
    if let Some(existing) = store.room_name_taken(&pool, r.name(), None)? {
        return Err(
            CmdletError::exists(super::name_taken(&pool.fqdn, "a chat room", &existing, r.name())).with_target(id)
        );
    }
    if !ctx.should_process_in(&pool, &id)? {
        return Ok(Vec::new());
    }
    store.insert_room(&pool, &r)?;
    Ok(vec![room_object(&r, &mut Principals::new(store, false))])
}

/// `-Addin`: a name of an add-in of the room's pool; `()` or "" means none (1.10 #19).
fn resolve_addin(store: &Store, pool: &PoolTarget, name: Option<&str>) -> CmdletResult<Option<(i64, String)>> {
    match name.map(str::trim).filter(|n| !n.is_empty()) {
        None => Ok(None),
        Some(n) => {
            let a = store.addin_by_name(pool, n)?.ok_or_else(|| {
                CmdletError::not_found(format!(
                    "-Addin: pool '{}' has no add-in '{n}' (register it with New-CsPersistentChatAddin)",
                    pool.fqdn
                ))
            })?;
            Ok(Some((a.id, a.name().to_string())))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Set

pub fn set(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let (pool, before) = target(store, b)?;
    let id = identity(&before);
    let instance = b.object("Instance");
    let mut r = before.clone();
    let at = |e: CmdletError| e.with_target(id.clone());

    // Order of application: Name, Category, the plain properties (Type before the lists, whose
    // Presenters need an Auditorium), the lists, the add-in.
    if let Some(n) =
        b.str("Name").map(str::to_string).or_else(|| instance.and_then(|m| instance_text(m, "Name").flatten()))
    {
        r.set_name(check_name("Name", &n).map_err(at)?);
        if r.name() != before.name()
            && let Some(existing) = store.room_name_taken(&pool, r.name(), Some(r.id))?
        {
            let taken = super::name_taken(&pool.fqdn, "a chat room", &existing, r.name());
            return Err(at(CmdletError::exists(format!("cannot rename '{id}': {taken}"))));
        }
    }
    let category_arg =
        b.str("Category").map(str::to_string).or_else(|| instance.and_then(|m| instance_text(m, "Category").flatten()));
    let category = match category_arg {
        Some(c) if !c.eq_ignore_ascii_case(before.category()) => {
            let name = match c.split_once('\\') {
                Some((p, _)) if !p.trim().eq_ignore_ascii_case(&pool.fqdn) => {
                    return Err(at(CmdletError::invalid(format!(
                        "-Category '{c}': a room can only move to a category of its own pool '{}'",
                        pool.fqdn
                    ))));
                }
                Some((_, n)) => n.trim().to_string(),
                None => c.trim().to_string(),
            };
            let cat = store.category_by_name(&pool, &name)?.ok_or_else(|| {
                at(CmdletError::not_found(format!("-Category: pool '{}' has no category '{name}'", pool.fqdn)))
            })?;
            r.set_category(cat.id, cat.name().to_string());
            Some(cat)
        }
        // The current category is read only if added entries need checking against it.
        _ => None,
    };
    apply_plain(&mut r, b, instance).map_err(at)?;

    let names = Principals::new(store, b.switch("AsObject"));
    let mut added: Vec<(&str, PrincipalRow)> = Vec::new();
    for list in [MEMBERS, MANAGERS, PRESENTERS] {
        let mut current = before.list(list).to_vec();
        if let Some(v) = instance.and_then(|m| instance_prop(m, list)) {
            let (after, new) = names.apply_instance_list(list, &current, v).map_err(at)?;
            current = after;
            added.extend(new.into_iter().map(|p| (list, p)));
        }
        if let Some(m) = b.modifier(list) {
            if let Some(line) = m.empty_replace_warning(ctx.cmdlet.name, list, &id, current.len()) {
                ctx.warn(line);
            }
            let (after, new) = names.apply(list, &current, m).map_err(at)?;
            current = after;
            added.extend(new.into_iter().map(|p| (list, p)));
        }
        match list {
            MEMBERS => r.members = current,
            MANAGERS => r.managers = current,
            _ => r.presenters = current,
        }
    }
    if added.iter().any(|(l, _)| *l == PRESENTERS) && r.room_type() != RoomType::Auditorium {
        return Err(at(CmdletError::invalid_operation(format!(
            "-Presenters: '{id}' is a {} room; presenters apply only to Auditorium rooms (set Type: \"Auditorium\" first or in the same call)",
            r.room_type()
        ))));
    }
    let category = match (category, added.is_empty()) {
        (Some(c), _) => Some(c),
        (None, false) => Some(category_of(store, &pool, &before)?),
        (None, true) => None,
    };
    for ((list, p), category) in added.iter().zip(std::iter::repeat(category.as_ref()).flatten()) {
        if !in_scope(&store.ancestry(p)?, &category.allowed, &category.denied) {
            return Err(at(CmdletError::new(
                ErrorKind::NotEligible,
                format!(
                    "-{list}: '{}' is not in the scope of category '{}\\{}' (its AllowedMembers must cover it and DeniedMembers must not)",
                    principal_key(p),
                    pool.fqdn,
                    category.name()
                ),
            )));
        }
    }

    if let Some(map) = instance
        && let Some(a) = instance_text(map, "Addin")
        && !b.has("Addin")
        && !a.as_deref().unwrap_or_default().eq_ignore_ascii_case(before.addin().unwrap_or_default())
    {
        r.set_addin(resolve_addin(store, &pool, a.as_deref()).map_err(at)?);
    }
    if b.has("Addin") {
        r.set_addin(resolve_addin(store, &pool, b.str("Addin")).map_err(at)?);
    }
    if !ctx.should_process_in(&pool, &id)? {
        return Ok(Vec::new());
    }
    if r != before {
        store.update_room(&pool, &before, &r)?;
        let (old, new) = changed_values(&before, &r, &mut Principals::new(store, false));
        ctx.record_values(&old, &new);
    } else {
        ctx.unchanged();
    }
    Ok(Vec::new())
}

// ---------------------------------------------------------------------------------------------
// Remove

pub fn remove(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let (pool, r) = target(store, b)?;
    if ctx.should_process_in(&pool, &identity(&r))? {
        store.delete_room(&pool, r.id)?;
    }
    Ok(Vec::new())
}

// ---------------------------------------------------------------------------------------------
// Clear

/// Clear-CsPersistentChatRoom: delete the room's messages posted on or before -EndDate.
pub fn clear(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let (pool, room) = target(store, b)?;
    let end = b.instant("EndDate").map(micros).unwrap_or(i64::MIN);
    let q = MessageQuery { to: Some(end), ..Default::default() };
    let totals = store.message_totals(&pool.schema, room.id, &q)?;
    let count = totals.0;
    // The room's own total, for the record: what it held before and holds after.
    let held = store.message_totals(&pool.schema, room.id, &MessageQuery::default())?.0;
    let pd = pool_data(store, &pool)?;
    let target = format!("{} ({} posted on or before {})", identity(&room), plural(count), posted_at_text(end));
    if ctx.should_process_in(&pool, &target)? {
        ctx.record_target(&identity(&room));
        if count == 0 {
            ctx.unchanged();
        } else {
            pd.clear_messages(room.id, end, totals)?;
            ctx.record_counts(&[("Messages", held)], &[("Messages", held - count), ("MessagesRemoved", count)]);
        }
    }
    Ok(Vec::new())
}

/// A room named by `pool\name` or by name with an optional pool (eligibility, runbooks).
pub fn find(store: &Store, value: &str, pool: Option<&str>) -> CmdletResult<(PoolTarget, RoomRow)> {
    let (pools, name) = name_scope(store, value, pool, "Room")?;
    let mut found = Vec::new();
    for p in pools {
        if let Some(r) = store.room_by_name(&p, &name)? {
            found.push((p, r));
        }
    }
    unique_match(found, WHAT, value)
}

pub fn category_of_room(store: &Store, pool: &PoolTarget, r: &RoomRow) -> CmdletResult<CategoryRow> {
    category_of(store, pool, r)
}
