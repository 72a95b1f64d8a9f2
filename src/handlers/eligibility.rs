//! Get-CsPersistentChatEligiblePrincipal: who may hold a role in a category or
//! room, with groups, OUs, containers and domains expanded to the users they contain.

use std::collections::HashSet;

use rhai::Dynamic;

use super::chat::{name_scope, unique_match};
use super::room;
use crate::binder::Bound;
use crate::catalog::ObjType;
use crate::catalog::enums::{Named, PrincipalKind, RoomType};
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::objects::{object, opt, text};
use crate::store::ancestry::in_scope;
use crate::store::directory::PrincipalRow;
use crate::values::wildcard::Wildcard;

/// The PersistentChatPrincipalType of a principal: its kind, except that a contact is none.
fn principal_type(kind: PrincipalKind) -> Option<&'static str> {
    (kind != PrincipalKind::Contact).then(|| kind.name())
}

fn eligible_object(p: &PrincipalRow, kind: &'static str) -> Dynamic {
    object(
        ObjType::EligiblePrincipal,
        [
            ("PersistentChatPrincipalType", text(kind)),
            ("SipAddress", opt(p.sip.clone())),
            ("DisplayName", opt(p.display_name.clone().or_else(|| Some(p.name.clone())))),
            ("Identity", text(p.dn.clone())),
        ],
    )
}

pub fn get(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let pool_arg = b.str("PersistentChatPoolFqdn");
    // The governing list and the category's DeniedMembers.
    let (governing, denied) = if let Some(c) = b.str("Category") {
        let (pools, name) = name_scope(store, c, pool_arg, "Category")?;
        let mut found = Vec::new();
        for p in pools {
            if let Some(cat) = store.category_by_name(&p, &name)? {
                found.push((p, cat));
            }
        }
        let (_, cat) = unique_match(found, "category", c)?;
        (cat.allowed, cat.denied)
    } else {
        let room_arg = b.str("Room").unwrap_or_default();
        let (pool, room) = room::find(store, room_arg, pool_arg)?;
        let cat = room::category_of_room(store, &pool, &room)?;
        if b.switch("Presenters") {
            if room.room_type() != RoomType::Auditorium {
                return Err(CmdletError::invalid_operation(format!(
                    "-Presenters: '{}\\{}' is a {} room; only Auditorium rooms have presenters",
                    room.pool(),
                    room.name(),
                    room.room_type()
                ))
                .with_target(room_arg));
            }
            let effective = if room.members.is_empty() { cat.allowed } else { room.members };
            (effective, cat.denied)
        } else {
            (cat.allowed, cat.denied)
        }
    };
    let filter = b
        .str("Filter")
        .map(|f| Wildcard::new(f).map_err(|e| CmdletError::invalid(format!("-Filter: {e}"))))
        .transpose()?;

    let mut found: Vec<(PrincipalRow, &'static str)> = Vec::new();
    for entry in &governing {
        let p = if entry.contains('=') { store.principal_by_dn(entry)? } else { store.principal_by_sip(entry)? };
        if let Some(p) = p
            && p.kind != PrincipalKind::User
            && let Some(kind) = principal_type(p.kind)
            && in_scope(&store.ancestry(&p)?, &governing, &denied)
        {
            found.push((p, kind));
        }
    }
    let excluded: HashSet<i64> = store.users_covered(&denied)?.into_iter().map(|p| p.id).collect();
    found.extend(
        store
            .users_covered(&governing)?
            .into_iter()
            .filter(|p| !excluded.contains(&p.id))
            .map(|p| (p, PrincipalKind::User.name())),
    );
    found.retain(|(p, _)| filter.as_ref().is_none_or(|w| p.sip.as_deref().is_some_and(|s| w.is_match(s))));
    // Standard order for principals: display name, then DN.
    found.sort_by_cached_key(|(p, _)| {
        (p.display_name.clone().unwrap_or_else(|| p.name.clone()).to_lowercase(), p.dn.to_lowercase())
    });
    let objects = found.iter().map(|(p, k)| eligible_object(p, k)).collect();
    Ok(super::limit(objects, b))
}
