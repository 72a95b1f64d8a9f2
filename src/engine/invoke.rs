//! Running one cmdlet call: split the Rhai arguments into pipeline input, positional and named
//! arguments; bind; run the handler once per pipeline item, each in its own transaction.

use std::rc::Rc;

use rhai::{Array, Dynamic, EvalAltResult, Map, Position};

use super::{Session, retry};
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
    s.cmdlet_called = true;
    s.nothing = None;
    let prepared = binder::prepare(cmdlet, &call).map_err(|mut e| {
        e.cmdlet = cmdlet.name;
        throw(&e)
    })?;
    if let Some(e) = super::unit::refusal(&s, cmdlet, prepared.common.what_if || s.what_if) {
        s.errors.push(e.clone());
        return Err(throw(&e));
    }
    if let Err(mut e) = super::reconnect::before_call(&mut s) {
        e.cmdlet = cmdlet.name;
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
    let errors_before = s.errors.len();
    let inputs: Vec<Option<Dynamic>> = match items {
        Some(v) => v.into_iter().map(Some).collect(),
        None => vec![None],
    };
    // A piped call runs in one transaction with a savepoint per item: each item is still all or
    // nothing, but 100,000 piped users do not pay 100,000 commits. Topology changes re-attach pool
    // databases after each commit, so they keep one transaction per item. Inside an atomic run or
    // a plan every item is already a savepoint of the unit's transaction.
    let batch = inputs.len() > 1 && cmdlet.noun != crate::catalog::Noun::Topology && !s.store.in_transaction();
    let results = if batch {
        run_batch(&mut s, cmdlet, handler, &prepared, &inputs)
    } else {
        run_each(&mut s, cmdlet, handler, &prepared, &inputs)
    }
    .map_err(|e| {
        s.errors.push(e.clone());
        throw(&e)
    })?;
    if let Err(mut e) = check_loaded(&s.store, cmdlet, Some(&results)) {
        e.cmdlet = cmdlet.name;
        s.errors.push(e.clone());
        return Err(throw(&e));
    }
    let out = shape(cmdlet.output, piped, results);
    if out.is_unit() {
        // A failed New's `()` read as an object next says this error (engine/members.rs).
        let error = s.errors.get(errors_before..).and_then(|new| new.last()).map(|e| e.to_string());
        s.nothing = Some(super::members::Nothing { cmdlet: cmdlet.name, output: cmdlet.output, error });
    }
    Ok(out)
}

/// What a call on one object does besides its rows, held until its transaction commits: a
/// failed attempt's are dropped with its rows (see `run_one`), so an error is printed once.
#[derive(Default)]
struct Effects {
    /// Non-terminating errors (the cmdlet named), with the action that says whether to print them.
    reported: Vec<(CmdletError, ErrorAction)>,
    /// Caller variables (`-OutLoggerVariable`), in the order set.
    variables: Vec<(String, Dynamic)>,
    /// A confirmation prompt was answered.
    prompted: bool,
    /// Warnings of the attempts that committed (`Ctx::warn`): a retried call says them once.
    warnings: Vec<String>,
}

impl Effects {
    /// The attempt counts: print and record its errors, hand its variables to the script.
    fn settle(self, s: &mut Session) {
        s.out_variables.publish(self.variables);
        for line in &self.warnings {
            crate::streams::warning(&format!("WARNING: {line}"));
        }
        for (e, action) in self.reported {
            s.report(e, action);
        }
    }
}

/// The items of a call that is not piped in a transaction of its own: each item in its own
/// transaction (`run_one` retries it), or each a savepoint of an open atomic run or plan. The
/// results, or the terminating error that stopped the call (the cmdlet named).
fn run_each(
    s: &mut Session,
    cmdlet: &'static Cmdlet,
    handler: Handler,
    prepared: &binder::Prepared,
    inputs: &[Option<Dynamic>],
) -> Result<Vec<Dynamic>, CmdletError> {
    let mut results = Vec::new();
    let mut sticky = Sticky::default();
    let mut effects = Effects::default();
    // Each item has committed (or is in the unit) by the time the next starts: settle as we go.
    let outcome = run_items(s, cmdlet, handler, prepared, inputs, &mut sticky, &mut results, &mut effects, true);
    effects.settle(s);
    outcome.map(|()| results)
}

/// A piped call: every item in one transaction, a savepoint each. When that transaction loses a
/// race with another session the whole call runs again, from `begin`, with what the failed
/// attempt did outside the database (results, errors, prompts' sticky answers, files, the
/// statement's done-bookkeeping) dropped; see `retry`.
fn run_batch(
    s: &mut Session,
    cmdlet: &'static Cmdlet,
    handler: Handler,
    prepared: &binder::Prepared,
    inputs: &[Option<Dynamic>],
) -> Result<Vec<Dynamic>, CmdletError> {
    let mut backoff = retry::Backoff::new();
    let mut reconnected = false;
    loop {
        let mut results = Vec::new();
        let mut effects = Effects::default();
        let staging = Rc::new(crate::files::Staging::new());
        s.call_staging = Some(staging.clone());
        let outcome = batch_attempt(s, cmdlet, handler, prepared, inputs, &staging, &mut results, &mut effects);
        s.call_staging = None;
        match outcome {
            Err(e) if retry::retryable(&e, s.store.is_postgres()) => {
                again(s, cmdlet, &mut backoff, effects.prompted, Some(inputs.len()), e)?;
            }
            Err(e) if super::reconnect::lost(&e, s.store.is_postgres()) && !effects.prompted => {
                super::reconnect::after_lost(s, e, !reconnected)?;
                reconnected = true;
            }
            outcome => {
                effects.settle(s);
                return outcome.map(|()| results);
            }
        }
    }
}

/// After a lost race: wait, and Ok to run the call again (after a prompt was answered, saying
/// that it asks again); or the error that ends it (the attempts are used up, the user asked to
/// stop).
fn again(
    s: &Session,
    cmdlet: &'static Cmdlet,
    backoff: &mut retry::Backoff,
    prompted: bool,
    objects: Option<usize>,
    last: CmdletError,
) -> Result<(), CmdletError> {
    let named = |mut e: CmdletError| {
        e.cmdlet = cmdlet.name;
        e
    };
    if s.unit.is_some() {
        return Err(named(retry::in_unit(s.unit.as_ref().is_some_and(|u| u.kind == super::unit::Kind::Plan))));
    }
    if !backoff.may_retry() {
        // A copy that stayed out of step through every attempt (the later ones alone) is out of
        // step indeed: its own message, naming the repair, not "other sessions kept changing".
        if last.transient == Some(crate::errors::Transient::CopyOutOfStep) {
            return Err(named(CmdletError { transient: None, ..last }.terminating()));
        }
        // A lock held through every wait is one session holding it, not sessions racing.
        if last.transient == Some(crate::errors::Transient::LockTimeout) {
            return Err(named(retry::lock_held(backoff.failed() + 1, objects, &last.message)));
        }
        return Err(named(retry::exhausted(backoff.failed() + 1, objects)));
    }
    std::thread::sleep(backoff.next_delay());
    if prompted {
        // The next attempt asks again, about the objects as they are now. It does not run alone:
        // that would hold every other writer of the store for as long as the prompt waits for
        // a person (a call about to prompt does not take the turn first for the same reason).
        crate::streams::warning(&retry::asking_again(cmdlet.name));
    } else {
        // On PostgreSQL the next attempt waits for its turn and runs alone (`run_alone_next`).
        s.store.run_alone_next();
    }
    crate::errors::check_stop(|| "nothing was changed".to_string()).map_err(named)
}

/// One attempt of a piped call (see `run_batch`): begin, the items, the commit (or, under
/// WhatIf, the rollback). Err: the error that ends the attempt; everything it did is undone
/// unless it is an item's terminating error, after which the items done before it commit, as
/// in PowerShell.
#[allow(clippy::too_many_arguments)]
fn batch_attempt(
    s: &mut Session,
    cmdlet: &'static Cmdlet,
    handler: Handler,
    prepared: &binder::Prepared,
    inputs: &[Option<Dynamic>],
    staging: &crate::files::Staging,
    results: &mut Vec<Dynamic>,
    effects: &mut Effects,
) -> Result<(), CmdletError> {
    let named = |mut e: CmdletError| {
        e.cmdlet = cmdlet.name;
        e
    };
    begin(&s.store, cmdlet).map_err(named)?;
    if let Err(e) = check_loaded(&s.store, cmdlet, None) {
        s.store.rollback();
        return Err(named(e));
    }
    // Sticky answers last for one attempt: a retried call asked nothing (see `again`).
    let mut sticky = Sticky::default();
    let outcome = run_items(s, cmdlet, handler, prepared, inputs, &mut sticky, results, effects, false);
    if let Err(e) = &outcome
        && (retry::retryable(e, s.store.is_postgres()) || super::reconnect::lost(e, s.store.is_postgres()))
    {
        s.store.rollback();
        s.done.drop_pending();
        return outcome;
    }
    if prepared.common.what_if || s.what_if {
        s.store.rollback();
        s.done.drop_pending();
        return outcome;
    }
    match finish(s, staging) {
        Ok(()) => {
            s.done.commit_pending();
            outcome
        }
        Err(e) => {
            s.done.drop_pending();
            effects.warnings.clear();
            Err(named(e.terminating()))
        }
    }
}

/// Commit the call's own transaction: its files go in place first (as they did when written at
/// once: a process killed after the commit leaves no change without its file), then the
/// commit. Err: rolled back; a lost race keeps its kind (see `retry`) when nothing committed.
fn finish(s: &Session, staging: &crate::files::Staging) -> Result<(), CmdletError> {
    // Testing: a commit that loses a race (`PCHAT_FAULT=before-commit:conflict:N`).
    if let Some(e) = injected("before-commit") {
        s.store.rollback();
        return Err(e);
    }
    if let Err(e) = place(staging) {
        s.store.rollback();
        return Err(e);
    }
    s.store.commit_telling().map_err(|f| {
        s.store.rollback();
        let nothing = matches!(f.committed, crate::store::commit::Committed::Nothing);
        let mut e = CmdletError::from(f.error);
        if !nothing {
            // Something committed: running the call again would do it twice.
            e.transient = None;
        }
        e
    })
}

/// Put the files the attempt wrote in place. A file that cannot be placed fails the call (its
/// transaction is then rolled back): its temporary file is removed.
fn place(staging: &crate::files::Staging) -> Result<(), CmdletError> {
    let mut unplaced = staging.place_call().into_iter();
    let Some(first) = unplaced.next() else { return Ok(()) };
    for u in std::iter::once(&first).chain(unplaced.as_slice()) {
        if let Some(kept) = &u.kept {
            let _ = std::fs::remove_file(kept);
        }
    }
    let mut e = CmdletError::from(first.error);
    e.message = format!("{}; nothing was changed", e.message);
    Err(e)
}

/// The failure a fault asks for at `step` (testing the retry on SQLite, see `crate::fault`).
fn injected(step: &str) -> Option<CmdletError> {
    use crate::store::db::{DbError, ErrorKind};
    let kind = match crate::fault::failure(step)? {
        crate::fault::Failure::Conflict => ErrorKind::Serialization,
        crate::fault::Failure::Busy => ErrorKind::Busy,
    };
    Some(CmdletError::from(DbError::new(kind, format!("injected at {step} (PCHAT_FAULT)"))))
}

/// A store with nothing loaded answers with how to load it, never with silent empty results:
/// before the call for cmdlets about the chat service when there is no topology, after an empty
/// directory read when the directory is empty. (The synthetic test reports its own diagnosis.)
fn check_loaded(store: &crate::store::Store, cmdlet: &Cmdlet, results: Option<&[Dynamic]>) -> Result<(), CmdletError> {
    use crate::catalog::Noun;
    // --demo loads into a SQLite file only: a PostgreSQL store is given one by copy-store.
    let try_demo = if store.is_postgres() {
        "or copy a store in with `pchat copy-store --from STORE.db --to postgres://… --pool INSTANCE=postgres://…`"
    } else {
        "or try pchat --demo for a demo store"
    };
    match (cmdlet.noun, results) {
        (Noun::Directory, Some([])) if cmdlet.is_read_only() && cmdlet.name != "Get-Credential" => {
            if store.has_principals()? {
                return Ok(());
            }
            Err(CmdletError::invalid_operation(format!(
                "the directory of this store is empty: load one with import_cs_ad_principal(\"directory.json\") ({try_demo})"
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
                "this store has no topology (no Persistent Chat pool): publish one with publish_cs_topology(\"topology.json\") ({try_demo})"
            ))
            .terminating())
        }
        _ => Ok(()),
    }
}

/// Attach the pool databases and begin the call's transaction (see `Store::begin_attached`).
/// Fail-over, fail-back, repair and publish run alone from their first read on PostgreSQL
/// (`Store::exclude_writers`), waiting for the writers at work: they meet no race there.
fn begin(store: &crate::store::Store, cmdlet: &Cmdlet) -> Result<(), CmdletError> {
    if super::unit::own_commit(cmdlet) {
        store.run_alone_next();
    }
    store.begin_attached(!cmdlet.is_read_only()).map_err(|e| match e {
        crate::store::BeginError::Attach(e) => CmdletError::invalid_operation(format!("{e:#}")).terminating(),
        crate::store::BeginError::Begin(e) => CmdletError::from(e),
    })
}

/// Run the handler once per input, collecting non-terminating errors in `effects`; stops at a
/// terminating one (returned, the cmdlet named). `settle_each`: each item has a transaction of
/// its own, committed before the next begins, so its effects are settled at once (a piped
/// call's wait for its commit instead, and a lost race of any item ends the whole attempt).
#[allow(clippy::too_many_arguments)]
fn run_items(
    s: &mut Session,
    cmdlet: &'static Cmdlet,
    handler: Handler,
    prepared: &binder::Prepared,
    inputs: &[Option<Dynamic>],
    sticky: &mut Sticky,
    results: &mut Vec<Dynamic>,
    effects: &mut Effects,
    settle_each: bool,
) -> Result<(), CmdletError> {
    let total = inputs.len();
    for (done, item) in inputs.iter().enumerate() {
        if total > 1 {
            crate::fault::point("pipeline-item");
        }
        let outcome = crate::errors::check_stop(|| {
            if total > 1 { format!("{done} of {total} objects done") } else { String::new() }
        })
        .and_then(|()| binder::bind(prepared, item.as_ref()))
        .and_then(|bound| run_one(s, handler, &bound, sticky, effects));
        if settle_each {
            std::mem::take(effects).settle(s);
        }
        match outcome {
            Ok(out) => results.extend(out),
            // Answering No skips the object (its changes rolled back), as in PowerShell.
            Err(e) if e.declined => {}
            Err(mut e) => {
                e.cmdlet = cmdlet.name;
                // A lost connection ends a piped call's attempt as a lost race does (its
                // transaction is gone); an item of its own has been run again already.
                let on_postgres = s.store.is_postgres();
                let lost_race = retry::retryable(&e, on_postgres) || super::reconnect::lost(&e, on_postgres);
                if e.terminating || lost_race || prepared.common.error_action == ErrorAction::Stop {
                    return Err(e);
                }
                effects.reported.push((e, prepared.common.error_action));
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
    run_one(s, registration.run, &bound, &mut Sticky::default(), &mut Effects::default())
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

/// One call on one object. Inside a transaction already open (a piped call's, an atomic run's,
/// a plan's) it is a savepoint of that transaction, run once: a lost race ends the enclosing
/// transaction (a piped call runs again whole, a unit stops). Otherwise it has a transaction of
/// its own and runs again from `begin` after a lost race (see `retry`), what each failed attempt
/// did outside the database dropped with its rows. Its effects go to `effects` once they count.
fn run_one(
    s: &mut Session,
    handler: Handler,
    bound: &binder::Bound,
    sticky: &mut Sticky,
    effects: &mut Effects,
) -> Result<Vec<Dynamic>, CmdletError> {
    check_paths(s, bound)?;
    if s.store.in_transaction() {
        let outcome = attempt(s, handler, bound, sticky, effects, None);
        return match (&s.unit, outcome) {
            (Some(unit), Err(e)) if retry::retryable(&e, s.store.is_postgres()) => {
                Err(retry::in_unit(unit.kind == super::unit::Kind::Plan))
            }
            (_, outcome) => outcome,
        };
    }
    let mut backoff = retry::Backoff::new();
    // An answer given in an attempt that lost the race is not kept ("Yes to All" included): the
    // next attempt asks again about the objects as they are then.
    let answered_before = *sticky;
    let mut reconnected = false;
    loop {
        let mut tried = Effects::default();
        // The attempt's files wait for its commit (see `finish`); dropped, they vanish.
        let staging = Rc::new(crate::files::Staging::new());
        match attempt(s, handler, bound, sticky, &mut tried, Some(staging)) {
            Err(e) if retry::retryable(&e, s.store.is_postgres()) => {
                // On PostgreSQL they have nothing outside the store's transaction (pchat creates
                // no database there and keeps no file of it): run again like any other.
                if super::unit::own_commit(bound.cmdlet) && !s.store.is_postgres() {
                    return Err(retry::own_commit());
                }
                again(s, bound.cmdlet, &mut backoff, tried.prompted, None, e)?;
                *sticky = answered_before;
            }
            // Lost before anything committed: once more, on a fresh connection (reconnect.rs).
            Err(e) if super::reconnect::lost(&e, s.store.is_postgres()) && !tried.prompted => {
                super::reconnect::after_lost(s, e, !reconnected)?;
                reconnected = true;
            }
            outcome => {
                effects.reported.extend(tried.reported);
                effects.variables.extend(tried.variables);
                effects.warnings.extend(tried.warnings);
                effects.prompted |= tried.prompted;
                return outcome;
            }
        }
    }
}

/// One attempt of a call on one object: `own` is the staging of a call with a transaction of
/// its own (begun, and committed or rolled back, here); None: a savepoint of the open one.
fn attempt(
    s: &mut Session,
    handler: Handler,
    bound: &binder::Bound,
    sticky: &mut Sticky,
    effects: &mut Effects,
    own: Option<Rc<crate::files::Staging>>,
) -> Result<Vec<Dynamic>, CmdletError> {
    let cmdlet = bound.cmdlet;
    let what_if = bound.common.what_if || s.what_if;
    let nested = own.is_none();
    if nested {
        s.store.savepoint()?;
    } else {
        begin(&s.store, cmdlet)?;
        // The check `invoke` left to the call's transaction.
        if let Err(e) = check_loaded(&s.store, cmdlet, None) {
            s.store.rollback();
            return Err(e);
        }
    }
    let undo = |s: &Session| {
        if nested { s.store.rollback_to_savepoint() } else { s.store.rollback() }
    };
    // Roles are checked inside the call's transaction, against the directory as it is now.
    let allowed = s.access.grants(&s.store).and_then(|g| g.allows(cmdlet).map(|scope| (g, scope)));
    let (grants, user_scope) = match allowed {
        Ok((g, scope)) if cmdlet.changes_principals() => (g, scope),
        Ok((g, _)) => (g, crate::access::UserScope::Any),
        Err(e) => {
            undo(s);
            return Err(e);
        }
    };
    // An item of a piped call stages its files in a block of the call's staging, so that a
    // failed item's go with its savepoint.
    let item_files = if nested && s.unit.is_none() { s.call_staging.clone() } else { None };
    if let Some(files) = &item_files {
        files.open_block();
    }
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
        staging: own.clone().or_else(|| s.staging()),
        grants,
        user_scope,
        reported: Vec::new(),
        prompted: false,
        warnings: Vec::new(),
    };
    // A Set given an object read before another session changed it (instance.rs); a Get's
    // objects stamped for such a Set.
    let handlers = s.handlers;
    let run = |ctx: &mut Ctx| -> Result<Vec<Dynamic>, CmdletError> {
        let reconciled = super::instance::reconcile(ctx, handlers, bound)?;
        let mut out = handler(ctx, reconciled.as_ref().unwrap_or(bound))?;
        super::instance::stamp_reads(bound, ctx.what_if, &mut out);
        Ok(out)
    };
    let mut result = run(&mut ctx);
    if result.is_err() && !nested && ctx.store.take_recheck() {
        // A read saw a pool's copies out of step, which a writer between the commits of the two
        // files also shows: look again holding the write lock (nothing is written).
        ctx.store.rollback();
        ctx.store.begin(true)?;
        ctx.variables.clear();
        ctx.changed.clear();
        ctx.reported.clear();
        ctx.warnings.clear();
        if let Some(files) = &own {
            files.discard();
        }
        result = run(&mut ctx);
    }
    // Testing: a statement of the handler that loses a race (`PCHAT_FAULT=after-handler:conflict:N`).
    if result.is_ok()
        && let Some(e) = injected("after-handler")
    {
        result = Err(e);
    }
    let changed = !ctx.changed.is_empty();
    let mut result = result.and_then(|out| {
        if changed {
            record(&ctx, bound, s.origin.source(s.line))?;
        }
        Ok(out)
    });
    let mut reported = std::mem::take(&mut ctx.reported);
    let warnings = std::mem::take(&mut ctx.warnings);
    effects.prompted |= ctx.prompted;
    // A statement that lost a race, reported as one object's error, lost it for the whole
    // transaction (PostgreSQL takes no further statement in it): the attempt fails.
    let on_postgres = s.store.is_postgres();
    // So does a lost connection (reconnect.rs).
    let ends = |e: &CmdletError| retry::retryable(e, on_postgres) || super::reconnect::lost(e, on_postgres);
    if !result.as_ref().is_err_and(ends)
        && let Some(i) = reported.iter().position(ends)
    {
        result = Err(reported.remove(i));
    }
    // Output variables describe what the call did, so they are set whether or not it wrote anything.
    if result.is_ok() {
        effects.variables.extend(std::mem::take(&mut ctx.variables));
    }
    for mut e in reported {
        e.cmdlet = cmdlet.name;
        effects.reported.push((e, bound.common.error_action));
    }
    match result {
        Ok(out) if !what_if => {
            let Some(files) = &own else {
                s.store.release_savepoint()?;
                if let Some(files) = &item_files {
                    files.close_block();
                }
                if changed {
                    s.done.pending(cmdlet.name);
                }
                // Said when the enclosing transaction commits (a piped call's: `batch_attempt`).
                effects.warnings.extend(warnings);
                return Ok(out);
            };
            finish(s, files)?;
            effects.warnings.extend(warnings);
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
        outcome => {
            undo(s);
            if let Some(files) = &item_files {
                files.discard_block();
            }
            outcome
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
