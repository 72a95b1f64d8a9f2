//! An object a Get read, given later to a Set (piped, or as `-Instance`): the Set must not write
//! back, over a change another session made in between, the values read before it. Four sessions
//! each running `Get-CsPersistentChatRoom R | Set-CsPersistentChatRoom -Members @{Add=…}` kept
//! about one member in four: each wrote back the member list it had read.
//!
//! A Get stamps what it returns (`objects::AsRead`). A Set given a stamped object reads the object
//! again inside its own transaction, through its Get, and compares:
//! * unchanged since it was read: the object applies as given, edits included;
//! * changed, the object not edited: what it holds is stale and applies nothing but its Identity;
//!   the Set's parameters apply to the object as it is now;
//! * changed and edited: the edit was made on a stale copy and writing it would undo the other
//!   change: refused, nothing changed, naming the properties that differ;
//! * gone (removed or renamed since): refused, rather than created again or reported missing
//!   under a name the user did not give.
//!
//! Objects nothing read (built in a runbook, or by New with -InMemory) carry no stamp and apply as
//! given. Nothing changes the object between this read and the Set's write: a SQLite writer holds
//! the store, and a PostgreSQL write is SERIALIZABLE, so a change committed in between fails the
//! call, which runs again and reads again (engine/retry.rs).

use rhai::{Dynamic, Map};

use crate::binder::{self, Bound};
use crate::catalog::{self, Cmdlet, ObjType, Ty};
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::{Ctx, Table};
use crate::objects;

const INSTANCE: &str = "Instance";

/// Whether a Set given an object of type `t` applies its properties. The state object's Set takes
/// only its Identity (what to do comes in -PoolState), and its Change counter moves with every
/// write to the pool: comparing it would refuse edits that change nothing.
fn applies_properties(t: ObjType) -> bool {
    t != ObjType::State
}

/// What a Set can write of an object: the properties its parameters name. Only these count when
/// an object is compared with what was read.
fn writable(set: &Cmdlet) -> Vec<&'static str> {
    set.params.iter().map(|p| p.name).collect()
}

/// The Set an object a Get returns of type `t` can be given to, if its Set applies properties.
fn set_for(get: &Cmdlet, t: ObjType) -> Option<&'static Cmdlet> {
    let set = catalog::find(&get.name.replacen("Get-", "Set-", 1))?;
    let takes = set.params.iter().any(|p| p.name == INSTANCE && p.ty == Ty::Object(t));
    (takes && applies_properties(t)).then_some(set)
}

/// Stamp what a Get returns, so that a Set given it later can tell what changed since.
pub fn stamp_reads(bound: &Bound, out: &mut [Dynamic]) {
    if bound.cmdlet.verb() != "Get" {
        return;
    }
    let as_object = bound.declares("AsObject") && bound.switch("AsObject");
    let mut writes: Option<(ObjType, Vec<&str>)> = None;
    for o in out.iter_mut() {
        let Some(t) = ObjType::from_tag(o.tag()) else { continue };
        if writes.as_ref().is_none_or(|(w, _)| *w != t) {
            let Some(set) = set_for(bound.cmdlet, t) else { continue };
            writes = Some((t, writable(set)));
        }
        if let Some((_, names)) = &writes {
            objects::stamp(o, as_object, names);
        }
    }
}

/// The binding a Set runs with: `bound` itself, or (Some) with its object reduced to its Identity,
/// when the one given was read before the object changed and was not edited. Errors when it was
/// edited, or the object is gone.
pub fn reconcile(ctx: &mut Ctx, handlers: &'static Table, bound: &Bound) -> CmdletResult<Option<Bound>> {
    if bound.cmdlet.verb() != "Set" || !bound.declares(INSTANCE) {
        return Ok(None);
    }
    let Some((t, given, read)) = bound.object_as_read(INSTANCE) else { return Ok(None) };
    if !applies_properties(t) {
        return Ok(None);
    }
    let identity = objects::prop_str(given, "Identity")
        .ok_or_else(|| CmdletError::invalid("-Instance: the object has no Identity property"))?;
    // Gone: what its Get says of it (`no chat room '…'`), and why it was there when read.
    let gone = |e: CmdletError| {
        let mut e = CmdletError::not_found(format!(
            "{}: it was removed or renamed after this object was read (by another session, or an earlier call); \
             nothing was changed",
            e.message
        ));
        e.target = Some(identity.clone());
        e
    };
    let writable = writable(bound.cmdlet);
    let now = read_again(ctx, handlers, bound, &identity, read.as_object)?.map_err(gone)?;
    if read.shows(&now, &writable) {
        return Ok(None);
    }
    if !read.shows(given, &writable) {
        let differ = objects::differing(given, &now, &writable).join(", ");
        return Err(CmdletError::invalid_operation(format!(
            "-Instance: '{identity}' was changed after this object was read (by another session, or an earlier \
             call), and the object was edited since: writing it would undo that change (it differs now in {differ}). Nothing was changed; read \
             it again and repeat the edit, or give the change as parameters, which apply to it as it is now"
        ))
        .with_target(&identity));
    }
    // Unedited and stale: it gives nothing but its Identity, which names the object, so the Set's
    // parameters apply to the object as the Set itself reads it (under its own lock).
    let identity_only: Map =
        given.iter().filter(|(k, _)| k.eq_ignore_ascii_case("Identity")).map(|(k, v)| (k.clone(), v.clone())).collect();
    Ok(Some(bound.with_object(INSTANCE, identity_only)))
}

fn get_name(set: &Bound) -> String {
    set.cmdlet.name.replacen("Set-", "Get-", 1)
}

/// The object `identity` as the Set's Get shows it now, in this transaction; Err inside when it
/// is gone (what the Get said).
fn read_again(
    ctx: &mut Ctx,
    handlers: &'static Table,
    set: &Bound,
    identity: &str,
    as_object: bool,
) -> CmdletResult<Result<Map, CmdletError>> {
    let name = get_name(set);
    let registration = catalog::find(&name).and_then(|c| handlers.get(c)).ok_or_else(|| {
        CmdletError::invalid_operation(format!("{}: no {name} to read the object again with", set.cmdlet.name))
    })?;
    let get = binder::bind_stored_identity(registration.cmdlet, identity, as_object)?;
    // The Get runs as part of the Set's call: what it might report or warn of is not the Set's.
    let (cmdlet, common) = (ctx.cmdlet, ctx.common);
    let (reported, warnings) = (ctx.reported.len(), ctx.warnings.len());
    ctx.cmdlet = registration.cmdlet;
    ctx.common = get.common;
    let found = (registration.run)(ctx, &get);
    ctx.cmdlet = cmdlet;
    ctx.common = common;
    ctx.reported.truncate(reported);
    ctx.warnings.truncate(warnings);
    match found {
        Ok(mut out) if out.len() == 1 => {
            out.pop().and_then(|o| o.try_cast::<Map>()).map(Ok).ok_or_else(|| CmdletError::not_found("not a map"))
        }
        Ok(_) => Ok(Err(CmdletError::not_found(format!("{name} -Identity '{identity}' finds nothing")))),
        Err(e) if e.kind == crate::errors::ErrorKind::NotFound => Ok(Err(e)),
        Err(e) => Err(e),
    }
}
