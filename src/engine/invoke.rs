//! Running one cmdlet call: split the Rhai arguments into pipeline input, positional and named
//! arguments; bind; run the handler once per pipeline item, each in its own transaction.

use rhai::{Array, Dynamic, EvalAltResult, Map, Position};

use super::Session;
use crate::binder::{self, Call, ErrorAction};
use crate::catalog::{Cmdlet, ObjType, Output};
use crate::errors::CmdletError;
use crate::invocation::{Ctx, Handler, Registration, Sticky};

pub fn throw(e: &CmdletError) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(Dynamic::from(e.to_string()), Position::NONE).into()
}

/// The call forms of docs/command-line.md. A trailing untagged map is the named arguments; a first argument that
/// is an array, an object or a blob is pipeline input; everything else is positional.
fn split_args(mut args: Vec<Dynamic>) -> (Option<Vec<Dynamic>>, Call) {
    let mut call = Call::default();
    if args.last().is_some_and(|a| a.is_map() && ObjType::from_tag(a.tag()).is_none()) {
        let last = args.pop().unwrap_or_default();
        call.named = last.cast::<Map>();
    }
    let mut items = None;
    if let Some(first) = args.first()
        && (first.is_array() || first.is_map() || first.is_blob())
    {
        let first = args.remove(0);
        items = Some(if first.is_array() { first.cast::<Array>() } else { vec![first] });
    }
    call.positional = args;
    (items, call)
}

/// Entry point from every registered Rhai function.
pub fn invoke(
    session: &super::SharedSession,
    registration: &'static Registration,
    args: Vec<Dynamic>,
    line: Option<usize>,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let (cmdlet, handler) = (registration.cmdlet, registration.run);
    let (items, call) = split_args(args);
    let mut s = session.borrow_mut();
    s.line = line;
    let prepared = binder::prepare(cmdlet, &call).map_err(|mut e| {
        e.cmdlet = cmdlet.name;
        throw(&e)
    })?;
    if let Some(e) = super::unit::refusal(&s, cmdlet, prepared.common.what_if || s.what_if) {
        s.errors.push(e.clone());
        return Err(throw(&e));
    }
    // Outside a transaction the check waits for the call's own (after BEGIN in `run_one`, or
    // below for a batch): here it would read in a transaction of its own.
    if s.store.in_transaction()
        && let Err(mut e) = check_loaded(&s.store, cmdlet, None)
    {
        e.cmdlet = cmdlet.name;
        s.errors.push(e.clone());
        return Err(throw(&e));
    }
    let piped = items.is_some();
    let inputs: Vec<Option<Dynamic>> = match items {
        Some(v) => v.into_iter().map(Some).collect(),
        None => vec![None],
    };
    let mut results = Vec::new();
    let mut sticky = Sticky::default();
    // A piped call runs in one transaction with a savepoint per item: each item is still all or
    // nothing, but 100,000 piped users do not pay 100,000 commits. Topology changes re-attach pool
    // databases after each commit, so they keep one transaction per item. Inside an atomic run or
    // a plan every item is already a savepoint of the unit's transaction.
    let batch = inputs.len() > 1 && cmdlet.noun != crate::catalog::Noun::Topology && !s.store.in_transaction();
    if batch {
        if let Err(mut e) = begin(&s.store, !cmdlet.is_read_only()) {
            e.cmdlet = cmdlet.name;
            return Err(throw(&e));
        }
        if let Err(mut e) = check_loaded(&s.store, cmdlet, None) {
            s.store.rollback();
            e.cmdlet = cmdlet.name;
            s.errors.push(e.clone());
            return Err(throw(&e));
        }
    }
    let outcome = run_items(&mut s, cmdlet, handler, &prepared, inputs, &mut sticky, &mut results);
    if batch {
        // Items done before a stop (terminating error, Ctrl-C) stay done, as in PowerShell.
        let what_if = prepared.common.what_if || s.what_if;
        let committed = if what_if {
            s.store.rollback();
            s.done.drop_pending();
            Ok(())
        } else {
            let committed = s.store.commit();
            if committed.is_ok() {
                s.done.commit_pending();
            }
            committed
        };
        if let Err(e) = committed {
            s.store.rollback();
            s.done.drop_pending();
            let mut e = CmdletError::from(e).terminating();
            e.cmdlet = cmdlet.name;
            return Err(throw(&e));
        }
    }
    outcome?;
    if let Err(mut e) = check_loaded(&s.store, cmdlet, Some(&results)) {
        e.cmdlet = cmdlet.name;
        s.errors.push(e.clone());
        return Err(throw(&e));
    }
    Ok(shape(cmdlet.output, piped, results))
}

/// A store with nothing loaded answers with how to load it, never with silent empty results:
/// before the call for cmdlets about the chat service when there is no topology, after an empty
/// directory read when the directory is empty. (The synthetic test reports its own diagnosis.)
fn check_loaded(store: &crate::store::Store, cmdlet: &Cmdlet, results: Option<&[Dynamic]>) -> Result<(), CmdletError> {
    use crate::catalog::Noun;
    const TRY_DEMO: &str = "or try pchat --demo for a demo store";
    match (cmdlet.noun, results) {
        (Noun::Directory, Some([])) if cmdlet.is_read_only() && cmdlet.name != "Get-Credential" => {
            if store.has_principals()? {
                return Ok(());
            }
            Err(CmdletError::invalid_operation(format!(
                "the directory of this store is empty: load one with import_cs_ad_principal(\"directory.json\") ({TRY_DEMO})"
            ))
            .terminating())
        }
        (
            Noun::State | Noun::Category | Noun::Room | Noun::Addin | Noun::Endpoint | Noun::Eligibility | Noun::Data,
            None,
        )
        | (Noun::Message, None)
        | (Noun::Topology, None)
            if cmdlet.name != "Test-CsPersistentChatMessage" && cmdlet.name != "Publish-CsTopology" =>
        {
            if store.has_pools()? {
                return Ok(());
            }
            Err(CmdletError::invalid_operation(format!(
                "this store has no topology (no Persistent Chat pool): publish one with publish_cs_topology(\"topology.json\") ({TRY_DEMO})"
            ))
            .terminating())
        }
        _ => Ok(()),
    }
}

/// Attach the pool databases and begin the call's transaction (see `Store::begin_attached`).
fn begin(store: &crate::store::Store, write: bool) -> Result<(), CmdletError> {
    store.begin_attached(write).map_err(|e| match e {
        crate::store::BeginError::Attach(e) => CmdletError::invalid_operation(format!("{e:#}")).terminating(),
        crate::store::BeginError::Begin(e) => CmdletError::from(e),
    })
}

/// Run the handler once per input, recording non-terminating errors; stops at a terminating one.
fn run_items(
    s: &mut Session,
    cmdlet: &'static Cmdlet,
    handler: Handler,
    prepared: &binder::Prepared,
    inputs: Vec<Option<Dynamic>>,
    sticky: &mut Sticky,
    results: &mut Vec<Dynamic>,
) -> Result<(), Box<EvalAltResult>> {
    let total = inputs.len();
    for (done, item) in inputs.into_iter().enumerate() {
        if total > 1 {
            crate::fault::point("pipeline-item");
        }
        let outcome = crate::errors::check_stop(|| {
            if total > 1 { format!("{done} of {total} objects done") } else { String::new() }
        })
        .and_then(|()| binder::bind(prepared, item.as_ref()))
        .and_then(|bound| run_one(s, handler, &bound, sticky));
        match outcome {
            Ok(out) => results.extend(out),
            // Answering No skips the object (its changes rolled back), as in PowerShell.
            Err(e) if e.declined => {}
            Err(mut e) => {
                e.cmdlet = cmdlet.name;
                if e.terminating || prepared.common.error_action == ErrorAction::Stop {
                    s.errors.push(e.clone());
                    return Err(throw(&e));
                }
                s.report(e, prepared.common.error_action);
            }
        }
    }
    Ok(())
}

/// Every object a Get cmdlet returns when called with no argument (a plan's snapshot), read in
/// the open unit without touching the session's error record.
pub(super) fn read_all(s: &mut Session, registration: &'static Registration) -> Result<Vec<Dynamic>, CmdletError> {
    let prepared = binder::prepare(registration.cmdlet, &Call::default())?;
    let bound = binder::bind(&prepared, None)?;
    run_one(s, registration.run, &bound, &mut Sticky::default())
}

/// Every path parameter of a confined run is checked before anything is opened or begun, whatever
/// the handler then does with it (the handlers' own reads and writes check again, fully).
fn check_paths(s: &Session, bound: &binder::Bound) -> Result<(), CmdletError> {
    let Some(confinement) = &s.confinement else { return Ok(()) };
    let guard = crate::files::Guard::new(Some(confinement.clone()), &[]);
    for p in bound.cmdlet.params.iter().filter(|p| p.ty == crate::catalog::Ty::Path) {
        if let Some(path) = bound.str(p.name) {
            guard.check(std::path::Path::new(path)).map_err(|e| crate::invocation::in_param(p.name, e.into()))?;
        }
    }
    Ok(())
}

fn run_one(
    s: &mut Session,
    handler: Handler,
    bound: &binder::Bound,
    sticky: &mut Sticky,
) -> Result<Vec<Dynamic>, CmdletError> {
    let cmdlet = bound.cmdlet;
    let what_if = bound.common.what_if || s.what_if;
    check_paths(s, bound)?;
    // Inside a pipeline's transaction (see `invoke`) the item gets a savepoint instead.
    let nested = s.store.in_transaction();
    if nested {
        s.store.savepoint()?;
    } else {
        begin(&s.store, !cmdlet.is_read_only())?;
        // The check `invoke` left to the call's transaction.
        if let Err(e) = check_loaded(&s.store, cmdlet, None) {
            s.store.rollback();
            return Err(e);
        }
    }
    // Roles are checked inside the call's transaction, against the directory as it is now.
    let allowed = s.access.grants(&s.store).and_then(|g| g.allows(cmdlet).map(|scope| (g, scope)));
    let (grants, user_scope) = match allowed {
        Ok((g, scope)) if cmdlet.changes_principals() => (g, scope),
        Ok((g, _)) => (g, crate::access::UserScope::Any),
        Err(e) => {
            if nested {
                s.store.rollback_to_savepoint()
            } else {
                s.store.rollback()
            }
            return Err(e);
        }
    };
    let mut ctx = Ctx {
        store: &s.store,
        cmdlet,
        common: bound.common,
        what_if,
        mode: s.prompt_mode,
        sticky,
        changed: Vec::new(),
        variables: Vec::new(),
        confinement: s.confinement.clone(),
        deadline: s.deadline,
        staging: s.staging(),
        grants,
        user_scope,
        reported: Vec::new(),
    };
    let mut result = handler(&mut ctx, bound);
    if result.is_err() && !nested && ctx.store.take_recheck() {
        // A read saw a pool's copies out of step, which a writer between the commits of the two
        // files also shows: look again holding the write lock (nothing is written).
        ctx.store.rollback();
        ctx.store.begin(true)?;
        ctx.variables.clear();
        ctx.changed.clear();
        ctx.reported.clear();
        result = handler(&mut ctx, bound);
    }
    let changed = !ctx.changed.is_empty();
    let result = result.and_then(|out| {
        if changed {
            record(&ctx, bound, s.origin.source(s.line))?;
        }
        Ok(out)
    });
    let reported = std::mem::take(&mut ctx.reported);
    // Output variables describe what the call did, so they are set whether or not it wrote anything.
    if result.is_ok() {
        let variables = std::mem::take(&mut ctx.variables);
        s.out_variables.publish(variables);
    }
    for mut e in reported {
        e.cmdlet = cmdlet.name;
        s.report(e, bound.common.error_action);
    }
    match result {
        Ok(out) if !what_if => {
            if nested {
                s.store.release_savepoint()?;
                if changed {
                    s.done.pending(cmdlet.name);
                }
                return Ok(out);
            }
            s.store.commit()?;
            if changed {
                s.done.committed(cmdlet.name);
            }
            crate::fault::point("committed");
            if cmdlet.noun == crate::catalog::Noun::Topology && !cmdlet.is_read_only() {
                // New SQL instances get their pool database files now rather than on first use.
                s.store.attach_pool_databases().map_err(|e| CmdletError::invalid_operation(format!("{e:#}")))?;
            }
            Ok(out)
        }
        Ok(out) => {
            if nested {
                s.store.rollback_to_savepoint()
            } else {
                s.store.rollback()
            }
            Ok(out)
        }
        Err(e) => {
            if nested {
                s.store.rollback_to_savepoint()
            } else {
                s.store.rollback()
            }
            Err(e)
        }
    }
}

/// One audit record per object the call changed, in its transaction.
fn record(ctx: &Ctx, bound: &binder::Bound, source: String) -> Result<(), CmdletError> {
    // RFC 3339 with milliseconds and `Z`: the records' TIME_FORMAT, without parsing a format string.
    let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let parameters = bound.parameters_json();
    for changed in &ctx.changed {
        ctx.store.append_audit_record(&crate::store::audit::NewRecord {
            time: &time,
            actor: &ctx.grants.actor,
            cmdlet: ctx.cmdlet.name,
            target: &changed.target,
            parameters: &parameters,
            before: changed.before.as_deref(),
            after: changed.after.as_deref(),
            source: &source,
        })?;
    }
    Ok(())
}

/// What a call returns (docs/command-line.md): Get → always an array; New → the object (an array when piped);
/// Set/Remove → nothing unless PassThru.
fn shape(output: Output, piped: bool, mut results: Vec<Dynamic>) -> Dynamic {
    match output {
        Output::Collection(_) => Dynamic::from_array(results),
        Output::Nothing => Dynamic::UNIT,
        Output::Object(_) | Output::PassThru(_) | Output::Bytes => {
            if results.is_empty() {
                Dynamic::UNIT
            } else if results.len() == 1 && !piped {
                results.remove(0)
            } else {
                Dynamic::from_array(results)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_forms_split_as_designed() {
        let named: Map = [("Disabled".into(), Dynamic::from(true))].into_iter().collect();
        let (items, call) = split_args(vec![Dynamic::from(named.clone())]);
        assert!(items.is_none() && call.positional.is_empty() && call.named.len() == 1);

        let (items, call) = split_args(vec![Dynamic::from("pc01\\r"), Dynamic::from(named.clone())]);
        assert!(items.is_none());
        assert_eq!(call.positional.len(), 1);

        let mut obj = Dynamic::from(named.clone());
        obj.set_tag(ObjType::ChatRoom.tag());
        let (items, call) = split_args(vec![obj.clone()]);
        assert_eq!(items.map(|v| v.len()), Some(1));
        assert!(call.named.is_empty());

        let (items, _) = split_args(vec![Dynamic::from_array(vec![obj.clone(), obj]), Dynamic::from(named)]);
        assert_eq!(items.map(|v| v.len()), Some(2));
    }
}
