//! Get-CsPersistentChatAuditRecord and Test-CsPersistentChatAuditRecord (pchat extensions): the
//! audit trail every change writes in its own transaction (see store/audit.rs).

use rhai::Dynamic;

use crate::binder::Bound;
use crate::catalog::{self, ObjType};
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::objects::{object, opt, text};
use crate::store::audit::{AuditQuery, AuditRecord};
use crate::values::wildcard::{Wildcard, has_wildcards};

/// A recorded JSON document as a Rhai value (`r.Parameters.Name`); `()` when absent.
fn document(json: Option<&str>) -> Dynamic {
    json.and_then(|j| serde_json::from_str::<serde_json::Value>(j).ok())
        .and_then(|v| rhai::serde::to_dynamic(v).ok())
        .unwrap_or(Dynamic::UNIT)
}

fn record_object(r: AuditRecord) -> Dynamic {
    let e = r.entry;
    object(
        ObjType::AuditRecord,
        [
            ("Sequence", Dynamic::from(r.sequence)),
            ("Time", text(e.time)),
            ("Actor", text(e.actor)),
            ("Cmdlet", text(e.cmdlet)),
            ("Target", text(e.target)),
            ("Parameters", document(Some(&e.parameters))),
            ("Before", document(e.before.as_deref())),
            ("After", document(e.after.as_deref())),
            ("Source", text(e.source)),
        ],
    )
}

/// Times as records spell them, so that text order is time order.
fn stamp(t: chrono::NaiveDateTime) -> String {
    t.format(crate::store::audit::TIME_FORMAT).to_string()
}

/// An exact value filters in SQL; a wildcard afterwards.
fn split(value: Option<&str>, param: &str) -> CmdletResult<(Option<String>, Option<Wildcard>)> {
    match value.map(str::trim) {
        Some(v) if has_wildcards(v) => Ok((
            None,
            Some(Wildcard::new(v).map_err(|e| CmdletError::invalid(format!("-{param}: {e}")).with_target(v))?),
        )),
        other => Ok((other.map(str::to_string), None)),
    }
}

pub fn get(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let cmdlet = match b.str("Cmdlet") {
        None => None,
        Some(name) => Some(
            catalog::find(name)
                .ok_or_else(|| {
                    let hint = crate::values::text::suggest(name, catalog::all().iter().map(|c| c.name))
                        .map(|n| format!("; did you mean '{n}'?"))
                        .unwrap_or_default();
                    CmdletError::invalid(format!("-Cmdlet: no cmdlet '{name}'{hint}")).with_target(name)
                })?
                .name
                .to_string(),
        ),
    };
    let (actor, actor_like) = split(b.str("Actor"), "Actor")?;
    let (target, target_like) = split(b.str("Target"), "Target")?;
    let limit = b.int("ResultSize").map(|n| n.max(0) as usize);
    let post_filter = actor_like.is_some() || target_like.is_some();
    let query = AuditQuery {
        actor,
        cmdlet,
        target,
        from: b.instant("StartDate").map(stamp),
        to: b.instant("EndDate").map(stamp),
        limit: if post_filter { None } else { limit },
    };
    let records = ctx.store.audit_records(&query)?.into_iter().filter(|r| {
        actor_like.as_ref().is_none_or(|w| w.is_match(&r.entry.actor))
            && target_like.as_ref().is_none_or(|w| w.is_match(&r.entry.target))
    });
    Ok(records.take(limit.unwrap_or(usize::MAX)).map(record_object).collect())
}

fn anchor(b: &Bound) -> CmdletResult<Option<(i64, String)>> {
    let Some(raw) = b.str("Anchor") else { return Ok(None) };
    let bad = || {
        CmdletError::invalid(format!(
            "-Anchor: '{raw}' is not <sequence>:<hash> (LastSequence and LastHash of an earlier result, e.g. 42:<64 hexadecimal digits>)"
        ))
        .with_target(raw)
    };
    let (sequence, hash) = raw.trim().split_once(':').ok_or_else(bad)?;
    let sequence: i64 = sequence.trim().parse().ok().filter(|n| *n > 0).ok_or_else(bad)?;
    let hash = hash.trim().to_ascii_lowercase();
    if hash.len() != 64 || !hash.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad());
    }
    Ok(Some((sequence, hash)))
}

pub fn test(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let anchor = anchor(b)?;
    let v = ctx.store.verify_audit(anchor.as_ref())?;
    let (result, bad, reason) = match &v.broken {
        None => ("Success", Dynamic::UNIT, None),
        Some((sequence, why)) => ("Failure", Dynamic::from(*sequence), Some(why.clone())),
    };
    if let Some(why) = &reason {
        ctx.report(CmdletError::invalid_operation(format!("the audit trail does not verify: {why}")));
    }
    Ok(vec![object(
        ObjType::AuditVerification,
        [
            ("Result", text(result)),
            ("RecordsChecked", Dynamic::from(v.checked)),
            ("FirstBadSequence", bad),
            ("Reason", opt(reason)),
            ("LastSequence", Dynamic::from(v.head.0)),
            ("LastHash", text(v.head.1)),
        ],
    )])
}
