//! The one binder: every call, whichever front end it came from, is validated here against the
//! catalog, so errors are identical everywhere.

pub mod modifier;
mod record;
pub mod value;

use rhai::{Dynamic, Map};

pub use modifier::ListModifier;
pub use value::{Credential, Value};

use crate::catalog::enums::Named;
use crate::catalog::{COMMON_PARAMS, Cmdlet, ObjType, Param, SHOULD_PROCESS_PARAMS, Ty};
use crate::errors::CmdletError;
use crate::values::time::DateArg;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorAction {
    Continue,
    Stop,
    SilentlyContinue,
    Ignore,
}

/// Common parameters that change how the engine runs the cmdlet.
#[derive(Debug, Clone, Copy)]
pub struct Common {
    pub what_if: bool,
    /// `Some(true)`: prompt before each change; `Some(false)`: never prompt.
    pub confirm: Option<bool>,
    pub error_action: ErrorAction,
    pub verbose: bool,
}

impl Default for Common {
    fn default() -> Self {
        Common { what_if: false, confirm: None, error_action: ErrorAction::Continue, verbose: false }
    }
}

pub use crate::values::text::suggest;
use crate::values::text::{name_matches, normalize_name as normalize};

/// Every parameter a cmdlet accepts: its own, WhatIf/Confirm when it supports them, the common ones.
pub fn accepted_params(cmdlet: &'static Cmdlet) -> impl Iterator<Item = &'static Param> {
    let sp: &'static [Param] = if cmdlet.should_process { SHOULD_PROCESS_PARAMS } else { &[] };
    cmdlet.params.iter().chain(sp.iter()).chain(COMMON_PARAMS.iter())
}

/// Resolve a parameter key: exact name or alias, else a unique prefix (PowerShell's rule).
pub fn resolve_name(cmdlet: &'static Cmdlet, key: &str) -> Result<&'static Param, CmdletError> {
    let k = normalize(key);
    if k.is_empty() {
        return Err(CmdletError::binding("empty parameter name").terminating());
    }
    let exact =
        accepted_params(cmdlet).find(|p| name_matches(p.name, &k) || p.aliases.iter().any(|a| name_matches(a, &k)));
    if let Some(p) = exact {
        return Ok(p);
    }
    let prefixed: Vec<&'static Param> = accepted_params(cmdlet)
        .filter(|p| normalize(p.name).starts_with(&k) || p.aliases.iter().any(|a| normalize(a).starts_with(&k)))
        .collect();
    match prefixed.len() {
        1 => Ok(prefixed[0]),
        0 => {
            let hint = suggest(
                key,
                cmdlet
                    .params
                    .iter()
                    .map(|p| p.name)
                    .chain(if cmdlet.should_process { SHOULD_PROCESS_PARAMS } else { &[] }.iter().map(|p| p.name)),
            )
            .map(|n| format!("; did you mean '{n}'?"))
            .unwrap_or_else(|| {
                format!(
                    "; valid parameters are {}",
                    cmdlet.params.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
                )
            });
            Err(CmdletError::binding(format!("no parameter '{key}'{hint}")).terminating())
        }
        _ => Err(CmdletError::binding(format!(
            "parameter name '{key}' is ambiguous; it could be {}",
            prefixed.iter().map(|p| p.name).collect::<Vec<_>>().join(", ")
        ))
        .terminating()),
    }
}

/// The arguments of one call as a front end hands them over, before any pipeline item.
#[derive(Debug, Clone, Default)]
pub struct Call {
    pub positional: Vec<Dynamic>,
    pub named: Map,
}

/// Named and positional arguments converted once per call; pipeline items are added per item.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub cmdlet: &'static Cmdlet,
    values: Vec<(&'static Param, Value)>,
    pub common: Common,
}

impl Prepared {
    fn is_bound(&self, p: &Param) -> bool {
        self.values.iter().any(|(q, _)| q.name == p.name)
    }
}

/// Bind a call's named and positional arguments. Errors here are terminating.
pub fn prepare(cmdlet: &'static Cmdlet, call: &Call) -> Result<Prepared, CmdletError> {
    let mut out = Prepared { cmdlet, values: Vec::new(), common: Common::default() };
    for (key, raw) in call.named.iter() {
        let p = resolve_name(cmdlet, key)?;
        if out.is_bound(p) {
            return Err(CmdletError::binding(format!("parameter '{}' is given more than once", p.name)).terminating());
        }
        let v = value::convert(p, raw)?;
        refuse_null_selector(cmdlet, p, &v)?;
        if common_param(p, &v, &mut out.common) {
            continue;
        }
        // `X: false` on a switch is the same as leaving it out.
        if p.ty == Ty::Switch && matches!(v, Value::Bool(false)) {
            continue;
        }
        out.values.push((p, v));
    }
    for (i, raw) in call.positional.iter().enumerate() {
        let candidates: Vec<&'static Param> = cmdlet.params.iter().filter(|p| p.position == Some(i as u8)).collect();
        if candidates.is_empty() {
            return Err(CmdletError::binding(format!(
                "positional argument {} ({}) cannot be bound: {} takes {} positional parameter{}",
                i + 1,
                value::describe(raw),
                cmdlet.name,
                cmdlet.params.iter().filter(|p| p.position.is_some()).count(),
                if cmdlet.params.iter().filter(|p| p.position.is_some()).count() == 1 { "" } else { "s" }
            ))
            .terminating());
        }
        // Prefer the declared-first positional parameter (3.19: a bare value binds to Identity).
        let p = candidates[0];
        if out.is_bound(p) {
            return Err(CmdletError::binding(format!("parameter '{}' is given both by position and by name", p.name))
                .terminating());
        }
        let v = value::convert(p, raw)?;
        refuse_null_selector(cmdlet, p, &v)?;
        out.values.push((p, v));
    }
    Ok(out)
}

/// A Get of one object by the identity a stored object carries (engine/instance.rs reads an
/// object again for its Set). The identity is not checked as typed input is: a name stored before
/// a rule existed (a control character) must still be found, as the Set's own lookup finds it.
pub fn bind_stored_identity(get: &'static Cmdlet, identity: &str, as_object: bool) -> Result<Bound, CmdletError> {
    let mut named = Map::new();
    if as_object {
        named.insert("AsObject".into(), true.into());
    }
    let mut prepared = prepare(get, &Call { positional: Vec::new(), named })?;
    let p = resolve_name(get, "Identity")?;
    prepared.values.push((p, Value::Str(identity.to_string())));
    bind(&prepared, None)
}

/// A Get cmdlet given `Identity: ()` would answer as if no identity were given: every object.
/// That `$null` is nearly always a missing value (`$row.Rom` of a CSV row with a typo'd column,
/// an unset variable), and piped on it would change every room or user, so it is refused;
/// leaving the parameter out asks for everything.
///
/// The same holds for every optional parameter of a cmdlet that reads, removes or moves data
/// rather than setting properties (Get, Remove, Clear, Export, Import, Test): each narrows what
/// the cmdlet touches, so `$null`, empty text or an empty list would widen it to everything
/// (`Remove-CsPersistentChatMessage -UserUri $row.SipAdress` deleted a whole room's history).
/// On Set and New cmdlets `()` stays meaningful: it clears a property. Mandatory parameters are
/// values, not narrowings (a `-ReplaceMessage` text); their `$null` is refused in `resolve_set`.
fn refuse_null_selector(cmdlet: &Cmdlet, p: &Param, v: &Value) -> Result<(), CmdletError> {
    if matches!(v, Value::Null) && p.name == "Identity" && cmdlet.name.starts_with("Get-") {
        return Err(CmdletError::binding(format!(
            "cannot bind parameter 'Identity': the argument is null; give an identity, or leave Identity out to get every object ({} without it)",
            cmdlet.name
        ))
        .terminating());
    }
    if !matches!(cmdlet.verb(), "Get" | "Remove" | "Clear" | "Export" | "Import" | "Test")
        || !matches!(p.mandatory, crate::catalog::Mandatory::No)
        || COMMON_PARAMS.iter().any(|c| c.name == p.name)
    {
        return Ok(());
    }
    let what = match v {
        Value::Null => "null",
        Value::Str(s) if s.trim().is_empty() => "empty",
        Value::List(l) if l.is_empty() => "an empty list",
        _ => return Ok(()),
    };
    Err(CmdletError::binding(format!(
        "cannot bind parameter '{}': the argument is {what}; {} narrows what it {} by {}, so a missing value (an unset \
         variable, a misspelt CSV column) must not widen it to everything; give a value, or leave {} out",
        p.name,
        cmdlet.name,
        match cmdlet.verb() {
            "Get" | "Test" => "reads",
            "Export" => "exports",
            "Import" => "imports",
            _ => "removes",
        },
        p.name,
        p.name
    ))
    .terminating())
}

/// Capture common parameters; returns true when `p` was one of them.
fn common_param(p: &Param, v: &Value, common: &mut Common) -> bool {
    match (p.name, v) {
        ("WhatIf", Value::Bool(b)) => common.what_if = *b,
        ("Confirm", Value::Bool(b)) => common.confirm = Some(*b),
        ("Verbose", Value::Bool(b)) => common.verbose = *b,
        ("ErrorAction", Value::Enum(e)) => {
            common.error_action = match *e {
                "Stop" => ErrorAction::Stop,
                "SilentlyContinue" => ErrorAction::SilentlyContinue,
                "Ignore" => ErrorAction::Ignore,
                _ => ErrorAction::Continue,
            }
        }
        _ => return COMMON_PARAMS.iter().any(|c| c.name == p.name),
    }
    true
}

/// A fully bound invocation: one parameter set, converted values.
#[derive(Debug, Clone)]
pub struct Bound {
    pub cmdlet: &'static Cmdlet,
    pub set: &'static str,
    values: Vec<(&'static Param, Value)>,
    pub common: Common,
}

impl Bound {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.checked(name, |_| true)
    }

    /// The value of `name`, which must be a parameter of the cmdlet whose type `fits` the accessor:
    /// a handler reading a parameter its catalog entry does not declare (a typo, a parameter moved
    /// to another cmdlet) or reading it as the wrong type stops every test run that reaches it.
    fn checked(&self, name: &str, fits: fn(&Ty) -> bool) -> Option<&Value> {
        debug_assert!(
            accepted_params(self.cmdlet).any(|p| p.name.eq_ignore_ascii_case(name) && fits(&p.ty)),
            "{} reads parameter '{name}', which its catalog entry does not declare with a type this accessor reads",
            self.cmdlet.name
        );
        self.values.iter().find(|(p, _)| p.name.eq_ignore_ascii_case(name)).map(|(_, v)| v)
    }
    pub fn has(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
    /// Does the cmdlet declare this parameter? For a handler shared by cmdlets of which only some
    /// declare it (`-Tenant` of the policy cmdlets).
    pub fn declares(&self, name: &str) -> bool {
        self.cmdlet.param(name).is_some()
    }
    /// A string value; `None` when absent or given as `()`.
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.checked(name, |t| {
            matches!(t, Ty::String | Ty::Path | Ty::Filter | Ty::Sip | Ty::Fqdn | Ty::Guid | Ty::Enum(_))
        }) {
            Some(Value::Str(s)) => Some(s),
            Some(Value::Enum(s)) => Some(s),
            _ => None,
        }
    }
    pub fn is_null(&self, name: &str) -> bool {
        matches!(self.get(name), Some(Value::Null))
    }
    pub fn switch(&self, name: &str) -> bool {
        matches!(self.checked(name, |t| matches!(t, Ty::Switch | Ty::Bool)), Some(Value::Bool(true)))
    }
    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.checked(name, |t| matches!(t, Ty::Switch | Ty::Bool)) {
            Some(Value::Bool(b)) => Some(*b),
            _ => None,
        }
    }
    pub fn int(&self, name: &str) -> Option<i64> {
        match self.checked(name, |t| matches!(t, Ty::Int16 | Ty::Int32 | Ty::UInt32 | Ty::Unlimited)) {
            Some(Value::Int(i)) => Some(*i),
            _ => None,
        }
    }
    pub fn enum_value(&self, name: &str) -> Option<&'static str> {
        match self.checked(name, |t| matches!(t, Ty::Enum(_))) {
            Some(Value::Enum(e)) => Some(e),
            _ => None,
        }
    }
    /// An enumerated value as its Rust enum, whose names must be the catalog's value list.
    pub fn choice<T: Named>(&self, name: &str) -> Option<T> {
        debug_assert!(
            self.cmdlet.param(name).is_some_and(|p| matches!(p.ty, Ty::Enum(values) if values == T::NAMES)),
            "{} reads parameter '{name}' as an enumeration its catalog entry does not list",
            self.cmdlet.name
        );
        self.enum_value(name).and_then(T::parse)
    }
    pub fn date(&self, name: &str) -> Option<DateArg> {
        match self.checked(name, |t| matches!(t, Ty::DateTime)) {
            Some(Value::Date(d, _)) => Some(*d),
            _ => None,
        }
    }
    /// The instant a DateTime parameter stands for: a date given without a time is the start of
    /// that day, or its end (23:59:59.999999) for a parameter that ends a range (EndDate). What
    /// the handlers apply and what the audit trail records (`parameters_json`) both come from here.
    pub fn instant(&self, name: &str) -> Option<chrono::NaiveDateTime> {
        let ends = self.cmdlet.param(name).is_some_and(|p| p.ends_range);
        self.date(name).map(|d| effective(&d, ends))
    }
    pub fn span(&self, name: &str) -> Option<chrono::TimeDelta> {
        match self.checked(name, |t| matches!(t, Ty::TimeSpan)) {
            Some(Value::Span(d)) => Some(*d),
            _ => None,
        }
    }
    pub fn list(&self, name: &str) -> Option<&[String]> {
        match self.checked(name, |t| matches!(t, Ty::StringList)) {
            Some(Value::List(l)) => Some(l),
            _ => None,
        }
    }
    pub fn modifier(&self, name: &str) -> Option<&ListModifier> {
        match self.checked(name, |t| matches!(t, Ty::ListModifier)) {
            Some(Value::Modifier(m)) => Some(m),
            _ => None,
        }
    }
    pub fn object(&self, name: &str) -> Option<&Map> {
        match self.checked(name, |t| matches!(t, Ty::Object(_))) {
            Some(Value::Object(_, m, _)) => Some(m),
            _ => None,
        }
    }
    /// An object parameter with its type and what a Get stamped it with, if it was read.
    pub fn object_as_read(&self, name: &str) -> Option<(ObjType, &Map, crate::objects::AsRead)> {
        match self.checked(name, |t| matches!(t, Ty::Object(_))) {
            Some(Value::Object(Some(t), m, Some(read))) => Some((*t, m, *read)),
            _ => None,
        }
    }
    /// The same binding with the object parameter `name` holding `map` instead (no longer stamped).
    pub fn with_object(&self, name: &str, map: Map) -> Bound {
        let mut out = self.clone();
        for (p, v) in out.values.iter_mut() {
            if p.name.eq_ignore_ascii_case(name)
                && let Value::Object(t, _, _) = v
            {
                *v = Value::Object(*t, map.clone(), None);
            }
        }
        out
    }
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        match self.checked(name, |t| matches!(t, Ty::Bytes)) {
            Some(Value::Bytes(b)) => Some(b),
            _ => None,
        }
    }
    pub fn credential(&self, name: &str) -> Option<&Credential> {
        match self.checked(name, |t| matches!(t, Ty::Credential)) {
            Some(Value::Credential(c)) => Some(c),
            _ => None,
        }
    }
    /// Names of the parameters given (excluding common ones), in the order bound.
    pub fn given(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.values.iter().map(|(p, _)| p.name)
    }
}

/// Bind a pipeline item (ByValue, then ByPropertyName), then resolve the parameter set.
pub fn bind(prepared: &Prepared, item: Option<&Dynamic>) -> Result<Bound, CmdletError> {
    let cmdlet = prepared.cmdlet;
    let mut values = prepared.values.clone();
    if let Some(item) = item {
        bind_item(cmdlet, &mut values, item)?;
    }
    let set = resolve_set(cmdlet, &values)?;
    Ok(Bound { cmdlet, set, values, common: prepared.common })
}

fn bind_item(
    cmdlet: &'static Cmdlet,
    values: &mut Vec<(&'static Param, Value)>,
    item: &Dynamic,
) -> Result<(), CmdletError> {
    let bound = |values: &Vec<(&'static Param, Value)>, p: &Param| values.iter().any(|(q, _)| q.name == p.name);
    let cannot = || {
        CmdletError::invalid(format!(
            "the input object ({}) cannot be bound to any parameter of {}",
            value::describe(item),
            cmdlet.name
        ))
    };
    if item.is_map() {
        let tag = ObjType::from_tag(item.tag());
        // ByValue: a tagged object of the right type goes to -Instance (or another object parameter).
        if let Some(t) = tag
            && let Some(p) = cmdlet.params.iter().find(|p| p.by_value && p.ty == Ty::Object(t) && !bound(values, p))
        {
            values.push((p, value::convert(p, item)?));
            return Ok(());
        }
        // ByPropertyName: each pipeline-aware parameter takes the property of its name.
        let Some(map) = item.read_lock::<Map>() else { return Err(cannot()) };
        let mut any = false;
        let wanted: Vec<&'static Param> = cmdlet.params.iter().filter(|p| p.by_property && !bound(values, p)).collect();
        for p in wanted {
            let prop = map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(p.name) || p.aliases.iter().any(|a| k.eq_ignore_ascii_case(a)));
            if let Some((_, v)) = prop {
                let v = value::convert(p, v)?;
                refuse_null_selector(cmdlet, p, &v)?;
                values.push((p, v));
                any = true;
            }
        }
        return if any { Ok(()) } else { Err(cannot()) };
    }
    if item.is_blob() {
        return match cmdlet.params.iter().find(|p| p.by_value && p.ty == Ty::Bytes && !bound(values, p)) {
            Some(p) => {
                values.push((p, value::convert(p, item)?));
                Ok(())
            }
            None => Err(cannot()),
        };
    }
    // A scalar binds ByValue to a text parameter, else (a Rhai convenience) to the first positional one.
    let text_ty = |p: &&Param| matches!(p.ty, Ty::String | Ty::Sip | Ty::Fqdn | Ty::Path | Ty::Filter);
    let target = cmdlet
        .params
        .iter()
        .filter(text_ty)
        .find(|p| p.by_value && !bound(values, p))
        .or_else(|| cmdlet.params.iter().find(|p| p.position == Some(0) && !bound(values, p)));
    match target {
        Some(p) => {
            let v = value::convert(p, item)?;
            refuse_null_selector(cmdlet, p, &v)?;
            values.push((p, v));
            Ok(())
        }
        None => Err(cannot()),
    }
}

fn resolve_set(cmdlet: &'static Cmdlet, values: &[(&'static Param, Value)]) -> Result<&'static str, CmdletError> {
    let all = cmdlet.set_names();
    let mut candidates = all.clone();
    for (p, _) in values {
        if !p.sets.is_empty() {
            candidates.retain(|s| p.sets.contains(s));
            if candidates.is_empty() {
                let others: Vec<&str> = values
                    .iter()
                    .filter(|(q, _)| {
                        q.name != p.name && !q.sets.is_empty() && !q.sets.iter().any(|s| p.sets.contains(s))
                    })
                    .map(|(q, _)| q.name)
                    .collect();
                let with = if others.is_empty() { String::new() } else { format!(" with '{}'", others.join("', '")) };
                return Err(CmdletError::ambiguous(format!(
                    "parameter set cannot be resolved: '{}' cannot be used{with} (they belong to different parameter sets)",
                    p.name
                ))
                .terminating());
            }
        }
    }
    for group in cmdlet.exclusive {
        let given: Vec<&str> =
            group.iter().copied().filter(|g| values.iter().any(|(p, _)| p.name.eq_ignore_ascii_case(g))).collect();
        if given.len() > 1 {
            return Err(CmdletError::ambiguous(format!(
                "parameter set cannot be resolved: '{}' cannot be used together",
                given.join("' and '")
            ))
            .terminating());
        }
    }
    let satisfied = |set: &str| {
        cmdlet.params.iter().filter(|p| p.is_mandatory_in(set)).all(|p| values.iter().any(|(q, _)| q.name == p.name))
    };
    let set = if candidates.len() == 1 {
        candidates[0]
    } else {
        let complete: Vec<&'static str> = candidates.iter().copied().filter(|s| satisfied(s)).collect();
        if complete.len() == 1 {
            complete[0]
        } else if candidates.contains(&cmdlet.default_set()) {
            cmdlet.default_set()
        } else if let Some(first) = complete.first() {
            first
        } else {
            candidates[0]
        }
    };
    if let Some(missing) =
        cmdlet.params.iter().find(|p| p.is_mandatory_in(set) && !values.iter().any(|(q, _)| q.name == p.name))
    {
        let hint = if cmdlet.sets.len() > 1 { format!(" (parameter set {set})") } else { String::new() };
        return Err(CmdletError::binding(format!("missing mandatory parameter '{}'{hint}", missing.name)).terminating());
    }
    // As PowerShell: `$null` given to a mandatory parameter is no value at all, not an empty one
    // (`#{Name: ()}` would otherwise be judged as the name '').
    if let Some((p, _)) = values.iter().find(|(p, v)| matches!(v, Value::Null) && p.is_mandatory_in(set)) {
        return Err(CmdletError::binding(format!(
            "cannot bind parameter '{}': the argument is null; the parameter is mandatory and needs a {} value",
            p.name,
            p.ty.display()
        ))
        .terminating());
    }
    Ok(set)
}

#[cfg(test)]
mod tests;

/// The instant of a date parameter (see `Bound::instant`).
pub(crate) fn effective(d: &DateArg, ends_range: bool) -> chrono::NaiveDateTime {
    if ends_range { d.as_end() } else { d.as_start() }
}
