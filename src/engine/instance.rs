//! An object a cmdlet read, given later to a Set (piped, or as `-Instance`): the Set must not write
//! back, over a change made in between, the values read before it. Four sessions each running
//! `Get-CsPersistentChatRoom R | Set-CsPersistentChatRoom -Members @{Add=…}` kept about one member
//! in four: each wrote back the member list it had read.
//!
//! Get (and a New or Set that returns what it stored) keeps what each object showed
//! (`objects::AsRead`). A Set given such an object reads the object again inside its own
//! transaction, through its Get, and takes each property by itself:
//! * not edited on the object: the value read applies nothing; the store's value stands (whether
//!   or not it changed since);
//! * edited, and unchanged in the store since the read (or changed to the same value): applies;
//! * edited, and changed differently in the store since: refused, naming the property, nothing
//!   changed (writing it would undo that change).
//!
//! So a piped object adds nothing of its own but the Set's parameters, and an edited one writes its
//! edits only. Two exceptions keep PowerShell's meaning: a Set given nothing but the object
//! (`$saved | Set-…`, a restore) writes it whole, warning of each value it sets back; an object
//! whose Identity was edited (a copy of a policy under a new name) is not the object read and
//! applies as given. An object removed or renamed since is NotFound, not made again.
//!
//! Objects nothing read (built in a runbook, or by New with -InMemory) apply as given. Nothing
//! changes the object between this read and the Set's write: a SQLite writer holds the store, and
//! a PostgreSQL write is SERIALIZABLE, so a change committed in between fails the call, which runs
//! again and reads again (engine/retry.rs).

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

/// Stamp the objects a call returns from the store: a Get's, a New's or a Set's (`PassThru`),
/// not an object New only built (`InMemory`) and not one a WhatIf call only described.
pub fn stamp_reads(bound: &Bound, what_if: bool, out: &mut [Dynamic]) {
    let built = bound.declares("InMemory") && bound.switch("InMemory");
    if !matches!(bound.cmdlet.verb(), "Get" | "New" | "Set") || built || what_if || out.is_empty() {
        return;
    }
    // Looked up once per type, not per object: a Get returns one type, often by the thousand.
    let mut settable: Vec<(ObjType, bool)> = Vec::new();
    for o in out.iter() {
        let Some(t) = ObjType::from_tag(o.tag()) else { return };
        let takes = match settable.iter().find(|(s, _)| *s == t) {
            Some((_, takes)) => *takes,
            None => {
                let takes = set_for(bound.cmdlet, t).is_some();
                settable.push((t, takes));
                takes
            }
        };
        if !takes {
            return;
        }
    }
    let as_object = bound.declares("AsObject") && bound.switch("AsObject");
    objects::stamp(out, as_object);
}

/// The Set an object of type `t` that `cmdlet` returns can be given to, if that Set applies the
/// object's properties.
fn set_for(cmdlet: &Cmdlet, t: ObjType) -> Option<&'static Cmdlet> {
    let (_, noun) = cmdlet.name.split_once('-')?;
    let set = catalog::find(&format!("Set-{noun}"))?;
    let takes = set.params.iter().any(|p| p.name == INSTANCE && p.ty == Ty::Object(t));
    (takes && applies_properties(t)).then_some(set)
}

/// The binding a Set runs with: `bound` itself, or (Some) with its object reduced to its Identity
/// and the properties edited on it. Errors when an edit meets a change made since the read, when
/// the object is gone, or when the read is too old to compare with.
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
    let too_old = || {
        CmdletError::invalid_operation(format!(
            "-Instance: '{identity}' was read too long ago to tell what changed since (more than {} objects \
             have been read after it); nothing was changed: read it again",
            objects::KEPT
        ))
        .with_target(&identity)
    };
    let edited = read.edited(given).ok_or_else(too_old)?;
    // Its Identity edited: another object, given the values of this one.
    if edited.iter().any(|p| p.eq_ignore_ascii_case("Identity")) {
        return Ok(None);
    }
    let identity_only: Map =
        given.iter().filter(|(k, _)| k.eq_ignore_ascii_case("Identity")).map(|(k, v)| (k.clone(), v.clone())).collect();
    // Not edited, and the Set gives changes of its own (a pipeline's `| Set -Privacy Secret`): the
    // object gives only its Identity whatever changed since, so there is nothing to compare. The
    // Set's own lookup finds the object, or says it is gone; a settings Set would make a missing
    // object, so whether it is gone is checked below.
    if edited.is_empty() && gives_changes(bound) && !makes_missing(t) {
        return Ok(Some(bound.with_object(INSTANCE, identity_only)));
    }
    let as_object = read.as_object().ok_or_else(too_old)?;
    let new = bound.cmdlet.name.replacen("Set-", "New-", 1);
    let remedy = match catalog::find(&new) {
        Some(_) => format!("; to make it again, use {new}"),
        None => String::new(),
    };
    let gone = |e: CmdletError| {
        let mut e = CmdletError::not_found(format!(
            "-Instance: {} (it was removed or renamed after this object was read, by another session or an earlier \
             call); nothing was changed{remedy}",
            e.message
        ));
        e.target = Some(identity.clone());
        e
    };
    let now = read_again(ctx, handlers, bound, &identity, as_object)?.map_err(gone)?;
    let merge = read.merge(given, &now).ok_or_else(too_old)?;
    if !merge.conflicts.is_empty() {
        return Err(CmdletError::invalid_operation(format!(
            "-Instance: '{identity}': {} edited on this object but changed differently after it was read (by \
             another session, or an earlier call); writing it would undo that change. Nothing was changed: read \
             it again and repeat the edit, or give the change as a parameter, which applies to it as it is now",
            listed(&merge.conflicts)
        ))
        .with_target(&identity));
    }
    if merge.edited.is_empty() && !merge.stale.is_empty() && !gives_changes(bound) {
        // The object is all the Set was given: write it whole, as PowerShell does (a restore).
        ctx.warn(format!(
            "{}: '{identity}' changed after this object was read; writing the object as given sets {} back to \
             the value read",
            bound.cmdlet.name,
            listed(&merge.stale)
        ));
        return Ok(None);
    }
    let mut reduced = identity_only;
    for (k, v) in given.iter().filter(|(k, _)| merge.edited.iter().any(|e| e.eq_ignore_ascii_case(k))) {
        reduced.insert(k.clone(), v.clone());
    }
    Ok(Some(bound.with_object(INSTANCE, reduced)))
}

/// Whether a Set given an object of type `t` that is not stored makes it (settings: an object of
/// New -InMemory is committed so) rather than saying it is not found.
fn makes_missing(t: ObjType) -> bool {
    matches!(t, ObjType::Policy | ObjType::Configuration | ObjType::ComplianceConfiguration)
}

/// "Description", "Description and Members", "A, B and C".
fn listed(names: &[String]) -> String {
    match names {
        [one] => one.clone(),
        [rest @ .., last] => format!("{} and {last}", rest.join(", ")),
        [] => String::new(),
    }
}

/// Whether a Set call gives a change besides its object (a parameter that sets something).
fn gives_changes(bound: &Bound) -> bool {
    bound.given().any(|p| !matches!(p, INSTANCE | "Force" | "AsObject" | "PassThru"))
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
