//! Get/New/Set/Remove of scoped settings, shared by configuration collections,
//! compliance collections and policies: each kind is a descriptor (`store::settings`), and the
//! property parameters of the catalog entries carry each property's type and range.

use rhai::{Dynamic, Map};

use super::settings_identity::Scope;
use super::wildcard_filter;
use crate::binder::Bound;
use crate::binder::value::{self, Value};
use crate::errors::{CmdletError, CmdletResult, ErrorKind};
use crate::invocation::Ctx;
use crate::objects::{object, prop_str, text};
use crate::store::settings::{FieldKind, FieldValue, POLICY, ScopeFamily, SettingsKind, SettingsRow};
use crate::values::time::format_timespan;
use crate::values::url::is_http_url;

/// The output object: Identity then every property of the kind.
pub fn settings_object(kind: &SettingsKind, row: &SettingsRow) -> Dynamic {
    let props = std::iter::once(("Identity", text(row.identity.clone()))).chain(
        kind.fields.iter().zip(&row.values).map(|(f, v)| {
            let d = match (v, f.kind) {
                (FieldValue::Null, _) => Dynamic::UNIT,
                (FieldValue::Int(secs), FieldKind::Span) => text(format_timespan(chrono::TimeDelta::seconds(*secs))),
                (FieldValue::Int(i), _) => Dynamic::from(*i),
                (FieldValue::Bool(b), _) => Dynamic::from(*b),
                (FieldValue::Text(s), _) => text(s.clone()),
            };
            (f.property, d)
        }),
    );
    object(kind.obj, props)
}

/// The object identified by `identity`, or `NotFound` naming what would be valid.
fn existing(ctx: &Ctx, kind: &SettingsKind, identity: &str) -> CmdletResult<SettingsRow> {
    let canonical = Scope::parse(identity, kind.family)?.canonical();
    ctx.store.settings_get(kind, &canonical)?.ok_or_else(|| {
        CmdletError::not_found(format!(
            "no {} '{canonical}' (list them with {})",
            kind.what,
            ctx.cmdlet.name.replacen(ctx.cmdlet.verb(), "Get", 1)
        ))
        .with_target(canonical.clone())
    })
}

/// `-Tenant` on Remove: the policy must belong to that tenant.
fn check_tenant(kind: &SettingsKind, row: &SettingsRow, b: &Bound) -> CmdletResult<()> {
    let Some(tenant) = b.declares("Tenant").then(|| b.str("Tenant")).flatten() else { return Ok(()) };
    match row.get(kind, "TenantId") {
        Some(FieldValue::Text(t)) if t.eq_ignore_ascii_case(tenant) => Ok(()),
        _ => {
            Err(CmdletError::not_found(format!("{} '{}' does not belong to tenant {tenant}", kind.what, row.identity))
                .with_target(row.identity.clone()))
        }
    }
}

fn field_value(kind: &SettingsKind, index: usize, v: &Value, source: &str) -> CmdletResult<FieldValue> {
    let f = &kind.fields[index];
    Ok(match v {
        Value::Null => match f.kind {
            FieldKind::Text | FieldKind::Url | FieldKind::Guid => FieldValue::Null,
            _ => return Err(CmdletError::invalid(format!("{source} '{}' cannot be null", f.property))),
        },
        Value::Str(s) if f.kind == FieldKind::Url => {
            let s = s.trim();
            if s.is_empty() {
                FieldValue::Null
            } else if is_http_url(s) {
                FieldValue::Text(s.to_string())
            } else {
                return Err(CmdletError::invalid(format!(
                    "{source} '{}': '{s}' is not an absolute http:// or https:// URL (e.g. https://chat.contoso.com/rooms)",
                    f.property
                )));
            }
        }
        Value::Str(s) => FieldValue::Text(s.clone()),
        Value::Int(i) => FieldValue::Int(*i),
        Value::Bool(b) => FieldValue::Bool(*b),
        Value::Span(d) => FieldValue::Int(d.num_seconds()),
        other => {
            return Err(CmdletError::invalid(format!("{source} '{}' cannot take the value {other:?}", f.property)));
        }
    })
}

/// Explicitly passed property parameters override the row's values.
fn apply_params(kind: &SettingsKind, row: &mut SettingsRow, b: &Bound) -> CmdletResult<()> {
    for (i, f) in kind.fields.iter().enumerate() {
        if let Some(v) = b.get(f.param) {
            row.values[i] = field_value(kind, i, v, "parameter")?;
        }
    }
    Ok(())
}

/// The property values of an `-Instance` object, converted and range-checked exactly as the
/// matching parameters are, so script-side edits cannot bypass the ranges.
fn apply_instance(kind: &SettingsKind, row: &mut SettingsRow, instance: &Map, b: &Bound) -> CmdletResult<()> {
    for (i, f) in kind.fields.iter().enumerate() {
        let Some((_, raw)) = instance.iter().find(|(k, _)| k.eq_ignore_ascii_case(f.property)) else { continue };
        let v = if raw.is_unit() {
            Value::Null
        } else {
            let Some(param) = b.cmdlet.param(f.param) else { continue };
            value::convert(param, raw).map_err(|mut e| {
                e.terminating = false;
                if e.kind == ErrorKind::ParameterBinding {
                    e.kind = ErrorKind::InvalidArgument;
                }
                e.message = format!("Instance property '{}': {}", f.property, e.message);
                e
            })?
        };
        row.values[i] = field_value(kind, i, &v, "Instance property")?;
    }
    Ok(())
}

pub fn get(ctx: &mut Ctx, b: &Bound, kind: &SettingsKind) -> CmdletResult<Vec<Dynamic>> {
    let filter = wildcard_filter(b)?;
    let tenant = b.declares("Tenant").then(|| b.str("Tenant")).flatten();
    let rows = match b.str("Identity") {
        Some(id) => vec![existing(ctx, kind, id)?],
        None => ctx.store.settings_all(kind)?,
    };
    Ok(rows
        .iter()
        .filter(|r| filter.as_ref().is_none_or(|f| f.is_match(&r.identity)))
        .filter(|r| {
            tenant.is_none_or(
                |t| matches!(r.get(kind, "TenantId"), Some(FieldValue::Text(x)) if x.eq_ignore_ascii_case(t)),
            )
        })
        .map(|r| settings_object(kind, r))
        .collect())
}

/// A scope New (or Set -Instance of an unsaved object) may create (rules 22, 25).
fn creatable_scope(ctx: &Ctx, kind: &SettingsKind, identity: &str) -> CmdletResult<Scope> {
    let scope = Scope::parse(identity, kind.family)?;
    if scope == Scope::Global {
        return Err(CmdletError::invalid(format!(
            "the Global {} always exists and cannot be created; change it with {}",
            kind.what,
            ctx.cmdlet.name.replacen(ctx.cmdlet.verb(), "Set", 1)
        ))
        .with_target("Global"));
    }
    scope.resolve(ctx.store)
}

pub fn new(ctx: &mut Ctx, b: &Bound, kind: &SettingsKind) -> CmdletResult<Vec<Dynamic>> {
    let identity = b.str("Identity").unwrap_or_default();
    let canonical = creatable_scope(ctx, kind, identity)?.canonical();
    if let Some(found) = ctx.store.settings_get(kind, &canonical)? {
        return Err(CmdletError::exists(format!(
            "the {} '{}' already exists; change it with {}",
            kind.what,
            found.identity,
            ctx.cmdlet.name.replacen("New", "Set", 1)
        ))
        .with_target(found.identity));
    }
    let mut row = SettingsRow::defaults(kind, &canonical);
    apply_params(kind, &mut row, b)?;
    if b.switch("InMemory") {
        return Ok(vec![settings_object(kind, &row)]);
    }
    if !ctx.should_process(&canonical)? {
        return Ok(Vec::new());
    }
    ctx.store.settings_insert(kind, &row)?;
    Ok(vec![settings_object(kind, &row)])
}

pub fn set(ctx: &mut Ctx, b: &Bound, kind: &SettingsKind) -> CmdletResult<Vec<Dynamic>> {
    let (mut row, create) = match b.object("Instance") {
        Some(instance) => {
            let identity = prop_str(instance, "Identity")
                .ok_or_else(|| CmdletError::invalid("the Instance object has no Identity property"))?;
            let canonical = Scope::parse(&identity, kind.family)?.canonical();
            // An object built with New -InMemory is committed here.
            let (mut row, create) = match ctx.store.settings_get(kind, &canonical)? {
                Some(row) => (row, false),
                None => {
                    let scope = creatable_scope(ctx, kind, &identity)?;
                    (SettingsRow::defaults(kind, &scope.canonical()), true)
                }
            };
            apply_instance(kind, &mut row, instance, b)?;
            (row, create)
        }
        None => (existing(ctx, kind, b.str("Identity").unwrap_or("Global"))?, false),
    };
    let before = (!create).then(|| settings_object(kind, &row));
    apply_params(kind, &mut row, b)?;
    if !ctx.should_process(&row.identity)? {
        return Ok(Vec::new());
    }
    if create {
        ctx.store.settings_insert(kind, &row)?;
    } else {
        ctx.store.settings_update(kind, &row)?;
    }
    if let Some(before) = before {
        ctx.record_values(&before.cast(), &settings_object(kind, &row).cast());
    }
    Ok(Vec::new())
}

pub fn remove(ctx: &mut Ctx, b: &Bound, kind: &SettingsKind) -> CmdletResult<Vec<Dynamic>> {
    let row = existing(ctx, kind, b.str("Identity").unwrap_or_default())?;
    check_tenant(kind, &row, b)?;
    let target = row.identity.clone();
    let scope = Scope::parse(&target, kind.family)?;
    // An assigned per-user policy needs confirmation unless -Force (rule 24).
    let assigned = match (&scope, kind.family) {
        (Scope::Tag(tag), ScopeFamily::Policy) => ctx.store.policy_assignment_count(tag)?,
        _ => 0,
    };
    if !ctx.should_process(&target)? {
        return Ok(Vec::new());
    }
    if assigned > 0 {
        let situation = format!(
            "the per-user policy '{target}' is assigned to {assigned} user{}; they will fall back to their site or the Global policy",
            if assigned == 1 { "" } else { "s" }
        );
        ctx.confirm_situation(&target, b.switch("Force"), &situation)?;
    }
    match scope {
        // Global always exists: Remove resets it to the defaults.
        Scope::Global => ctx.store.settings_update(kind, &SettingsRow::defaults(kind, &target))?,
        Scope::Tag(tag) => {
            ctx.store.clear_policy_assignments(&tag)?;
            ctx.store.settings_delete(kind, &target)?;
        }
        _ => ctx.store.settings_delete(kind, &target)?,
    }
    Ok(Vec::new())
}

/// The canonical tag name of an existing per-user policy named by Grant's -PolicyName (rule 23).
pub fn per_user_policy_tag(ctx: &Ctx, name: &str) -> CmdletResult<String> {
    match Scope::parse(name, ScopeFamily::Policy)? {
        Scope::Tag(tag) => match ctx.store.settings_get(&POLICY, &format!("Tag:{tag}"))? {
            Some(row) => {
                Ok(crate::values::text::strip_prefix_ci(&row.identity, "Tag:").unwrap_or(&row.identity).to_string())
            }
            None => {
                let known: Vec<String> = ctx
                    .store
                    .settings_all(&POLICY)?
                    .into_iter()
                    .filter_map(|r| r.identity.strip_prefix("Tag:").map(str::to_string))
                    .collect();
                Err(CmdletError::not_found(format!(
                    "-PolicyName: no per-user policy '{tag}' (per-user policies: {})",
                    if known.is_empty() { "none".to_string() } else { known.join(", ") }
                ))
                .with_target(tag))
            }
        },
        other => Err(CmdletError::invalid(format!(
            "-PolicyName '{name}' names the {} policy '{}': only per-user (tag) policies can be granted",
            if other == Scope::Global { "global" } else { "site" },
            other.canonical()
        ))),
    }
}
