//! The Rhai engine: every cmdlet of the handler table registered in all call forms of
//! docs/command-line.md, the error stream, WhatIf/Confirm, strict variables, Ctrl-C, modules.

pub mod budget;
mod done;
mod files;
mod instance;
mod invoke;
mod members;
mod modules;
pub mod params;
pub mod plan;
mod reconnect;
pub(crate) mod retry;
pub mod unit;

use rhai::{AST, Dynamic, Engine, EvalAltResult, Map, NativeCallContext, Position, Scope};
use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::binder::ErrorAction;
use crate::catalog::{self, Cmdlet};
use crate::errors::CmdletError;
use crate::files::{Confinement, Guard};
use crate::invocation::Table;
pub use crate::invocation::{Origin, PromptMode};
use crate::store::Store;
pub use budget::Budget;

pub struct Options {
    pub db: PathBuf,
    pub json: bool,
    pub what_if: bool,
    pub prompt_mode: PromptMode,
    /// The runbook being run, if any (for `SCRIPT_DIR` and module resolution).
    pub script: Option<PathBuf>,
    /// The runbook's bound parameters, visible to scripts as the map `ARGS`.
    pub args: Map,
    /// The cmdlets to register, each with its handler (the CLI passes `handlers::TABLE`).
    pub handlers: &'static Table,
    /// Open files only under the allowed folders (`pchat run`, scripts on standard input).
    pub confined: bool,
    pub budget: Budget,
    /// Whom the session acts as (`--as`, `PCHAT_USER`, else the operating-system account).
    pub acting: crate::access::Declared,
    /// Where its calls come from, for the audit trail.
    pub origin: Origin,
    /// The command writes nothing (`--what-if`, `pchat run --plan`): the files of an atomic run
    /// that committed but was killed before they were all in place are only reported, not placed.
    pub read_only: bool,
}

/// State shared by every registered function.
pub struct Session {
    pub store: Store,
    pub what_if: bool,
    pub prompt_mode: PromptMode,
    /// Non-terminating (and terminating) errors, readable with `last_errors()`.
    pub errors: Vec<CmdletError>,
    /// Errors written to stderr: any makes the run end with exit code 3.
    pub errors_written: usize,
    /// Caller variables set by cmdlets, waiting to be assigned in the script's scope.
    pub out_variables: OutVariables,
    /// The folders a confined run may open files in; None: not confined (`-c`, the REPL).
    pub confinement: Option<Rc<Confinement>>,
    /// When the time budget ends, for cmdlets that loop long (see `Ctx::check_time`).
    pub deadline: Option<(std::time::Instant, u64)>,
    /// The open atomic run or block, or plan (see `unit`).
    pub unit: Option<unit::Unit>,
    /// The acting identity and its roles.
    pub access: crate::access::Access,
    /// Where calls come from, and the script line of the call running now (audit trail).
    pub origin: Origin,
    pub line: Option<usize>,
    /// What the running statement has committed (reported when it is stopped part-way).
    pub done: done::Done,
    /// Where the files of a piped call wait for its transaction (see invoke.rs): a failed
    /// attempt's are dropped, the committing attempt's placed.
    pub call_staging: Option<Rc<crate::files::Staging>>,
    /// A cmdlet was called: a run that called none (`help()`, arithmetic) did not look for a
    /// store, so a missing one is not worth a word.
    pub cmdlet_called: bool,
    /// The registered cmdlets: a Set reads its object again through its Get (instance.rs).
    pub handlers: &'static Table,
    /// The last cmdlet call, when it returned nothing (see `members`).
    pub nothing: Option<members::Nothing>,
}

impl Session {
    /// The rules for a file a script names (`read_text`, Export-Csv, ...).
    pub fn files(&self) -> Result<Guard, Box<EvalAltResult>> {
        let databases = self.store.database_files().map_err(|e| {
            EvalAltResult::ErrorRuntime(format!("cannot list the store's files: {e:#}").into(), Position::NONE)
        })?;
        let state = self.store.state_folder().map_err(|e| {
            EvalAltResult::ErrorRuntime(format!("cannot find the store's state folder: {e:#}").into(), Position::NONE)
        })?;
        Ok(Guard::new(self.confinement.clone(), &databases)
            .protecting(state)
            .protecting_password_file(self.store.password_file())
            .staged(self.staging()))
    }

    /// Where writes wait while a unit is open.
    pub fn staging(&self) -> Option<Rc<crate::files::Staging>> {
        self.unit.as_ref().map(|u| u.staging.clone()).or_else(|| self.call_staging.clone())
    }
}

/// The folders a confined run may open: its own, the store's, and those the store's runbook
/// configuration allows (read once, when the run starts).
fn confinement(store: &Store, script_dir: Option<&Path>) -> anyhow::Result<Confinement> {
    let mut roots = Vec::new();
    if let Some(dir) = script_dir {
        let dir = if dir.as_os_str().is_empty() { Path::new(".") } else { dir };
        roots.push((dir.to_path_buf(), "the runbook's folder".to_string()));
    }
    if !store.is_postgres() {
        // A PostgreSQL store has no folder.
        roots.push((store.dir().to_path_buf(), "the store's folder".to_string()));
    }
    for folder in store.runbook_allowed_folders()? {
        roots.push((PathBuf::from(folder), "allowed by the runbook configuration".to_string()));
    }
    Ok(Confinement::new(roots))
}

/// Caller variables set by cmdlets (`-OutLoggerVariable NAME`, `-OutVerboseVariable NAME`).
///
/// A native Rhai function cannot reach its caller's scope, so a cmdlet leaves the values here and
/// the engine assigns them: a variable resolver assigns one the next time the script reads a
/// variable of that name (a script declares it first, `let log;`, as strict variables require),
/// and after each input the rest are declared in the session scope, so the next REPL input can
/// read them. Constants (`ARGS`, `SCRIPT_DIR`) are never overwritten.
#[derive(Clone, Default)]
pub struct OutVariables(Rc<RefCell<Vec<(String, Dynamic)>>>);

impl OutVariables {
    /// Queue values; a later value for the same name replaces an earlier one.
    pub fn publish(&self, variables: Vec<(String, Dynamic)>) {
        let mut pending = self.0.borrow_mut();
        for (name, value) in variables {
            pending.retain(|(n, _)| *n != name);
            pending.push((name, value));
        }
    }

    fn take(&self, name: &str) -> Option<Dynamic> {
        let mut pending = self.0.borrow_mut();
        let i = pending.iter().position(|(n, _)| n == name)?;
        Some(pending.remove(i).1)
    }

    /// Resolver hook: assign a pending value to the variable about to be read. `Some` only when
    /// the name is not in the current scope (e.g. read inside a function), for this one read.
    fn resolve(&self, name: &str, scope: &mut Scope) -> Option<Dynamic> {
        if self.0.borrow().is_empty() {
            return None;
        }
        let value = self.take(name)?;
        match scope.is_constant(name) {
            Some(false) => {
                scope.set_value(name, value);
                None
            }
            Some(true) => None,
            None => Some(value),
        }
    }

    /// Declare (or assign) every value not read yet in the session scope.
    fn settle(&self, scope: &mut Scope) {
        for (name, value) in self.0.borrow_mut().drain(..) {
            if scope.is_constant(&name) != Some(true) {
                scope.set_or_push(name, value);
            }
        }
    }
}

pub type SharedSession = Rc<RefCell<Session>>;

/// Finish what atomic runs killed half way left (see `Store::finish_units`) and say so on
/// standard error; a command that writes nothing only says what is waiting. A failure is
/// reported and the command goes on: it is tried again at the next open.
fn finish_units(store: &Store, act: bool) {
    let report = match store.finish_units(act) {
        Ok(r) => r,
        Err(e) => {
            crate::streams::warning(&format!(
                "atomic: cannot finish the files of an earlier atomic run: {e:#}; the next pchat command tries again"
            ));
            return;
        }
    };
    let plural = |n: usize| if n == 1 { "" } else { "s" };
    for u in &report.finished {
        let total = u.placed + u.already + u.lost.len() + u.failed.len();
        if u.placed > 0 {
            // A run whose process went on (a file it could not place) placed none of these.
            let before = if u.already > 0 {
                format!(" ({} of {total} had been placed before it stopped)", u.already)
            } else {
                String::new()
            };
            crate::streams::warning(&format!(
                "atomic: finished placing {} file{} of a run committed at {}{before}",
                u.placed,
                plural(u.placed),
                u.committed_at
            ));
        }
        for target in &u.lost {
            crate::streams::warning(&format!(
                "atomic: the file {} of a run committed at {} was removed before it could be put in place",
                crate::values::text::escape_block(&target.display().to_string()),
                u.committed_at
            ));
        }
        for (target, why) in &u.failed {
            crate::streams::warning(&format!(
                "atomic: the file {} of a run committed at {} cannot be put in place yet: {why}; the next pchat command tries again",
                crate::values::text::escape_block(&target.display().to_string()),
                u.committed_at
            ));
        }
    }
    for u in &report.withheld {
        crate::streams::warning(&format!(
            "atomic: a run committed at {} stopped part way through its commit: {}; its {} staged file{} {} removed and not put in place; {}",
            u.committed_at,
            u.why,
            u.removed,
            plural(u.removed),
            if u.removed == 1 { "was" } else { "were" },
            "see get_cs_persistent_chat_state() and docs/failover.md"
        ));
    }
    for u in &report.waiting {
        let n = u.files.len();
        crate::streams::warning(&format!(
            "atomic: {n} file{} of a run committed at {} {} not in place yet; this command writes nothing, the next pchat command without --what-if or --plan puts {} there (e.g. pchat -c '()')",
            plural(n),
            u.committed_at,
            if n == 1 { "is" } else { "are" },
            if n == 1 { "it" } else { "them" }
        ));
    }
}

impl Session {
    /// A non-terminating error: record it, and print it unless told to keep quiet.
    fn report(&mut self, e: CmdletError, action: ErrorAction) {
        match action {
            ErrorAction::Ignore => return,
            ErrorAction::SilentlyContinue => {}
            ErrorAction::Continue | ErrorAction::Stop => {
                crate::streams::error(&e.to_string());
                self.errors_written += 1;
            }
        }
        self.errors.push(e);
    }
}

pub struct Shell {
    engine: Engine,
    scope: Scope<'static>,
    /// Functions defined in earlier REPL inputs.
    functions: AST,
    session: SharedSession,
    handlers: &'static Table,
    pub json: bool,
    budget: Budget,
}

/// The token a Ctrl-C stops a script with (budgets stop it with their message).
const INTERRUPTED: &str = "interrupted";

impl Shell {
    pub fn new(opts: Options) -> anyhow::Result<Shell> {
        let store = match crate::store::pg::postgres_url(&opts.db) {
            // Pool databases' sessions open (and recover what a killed writer left prepared in
            // them) at the first call that needs them, as a SQLite store's files are attached.
            Some(url) => Store::open_postgres(url)?,
            None => Store::open(&opts.db)?,
        };
        Shell::with_store(opts, store)
    }

    /// A shell on a store opened already (`opts.db` is not opened): a PostgreSQL store's tests
    /// until the command line reaches one.
    pub(crate) fn with_store(opts: Options, store: Store) -> anyhow::Result<Shell> {
        finish_units(&store, !opts.read_only);
        if !opts.read_only {
            // What a killed repair left; like an atomic run's files, before anything runs.
            match store.clean_rebuilding() {
                Ok(told) => told.iter().for_each(|line| crate::streams::warning(&format!("repair: {line}"))),
                Err(e) => crate::streams::warning(&format!("repair: {e:#}; the next pchat command tries again")),
            }
        }
        let script_dir = opts.script.as_ref().and_then(|p| p.parent()).map(Path::to_path_buf);
        let confinement = if opts.confined { Some(Rc::new(confinement(&store, script_dir.as_deref())?)) } else { None };
        let session = Rc::new(RefCell::new(Session {
            store,
            what_if: opts.what_if,
            prompt_mode: opts.prompt_mode,
            errors: Vec::new(),
            errors_written: 0,
            out_variables: OutVariables::default(),
            confinement,
            deadline: opts.budget.deadline(),
            unit: None,
            access: crate::access::Access::new(opts.acting),
            origin: opts.origin,
            line: None,
            done: done::Done::default(),
            call_staging: None,
            cmdlet_called: false,
            handlers: opts.handlers,
            nothing: None,
        }));
        let mut engine = Engine::new();
        crate::engine::params::allow_default_key(&mut engine);
        engine.set_strict_variables(true);
        // Registered operators before Rhai's built-in ones: `array == value` of two types would
        // otherwise be a silent false before pchat's error for it is reached (engine/members.rs).
        engine.set_fast_operators(false);
        engine.set_fail_on_invalid_map_property(true);
        engine.set_max_expr_depths(256, 256);
        // A script printing a stored name must not pass its control characters to the terminal.
        // (On stdout, or stderr when stdout carries --json.)
        engine.on_print(|text| crate::streams::say(&crate::values::text::escape_block(text)));
        let spent = opts.budget.apply(&mut engine);
        engine.on_progress(move |operations| {
            if crate::interrupt::requested() {
                return Some(Dynamic::from(INTERRUPTED));
            }
            spent(operations)
        });
        engine.set_module_resolver(modules::resolver(script_dir.clone(), session.borrow().confinement.clone()));
        let pending = session.borrow().out_variables.clone();
        // `on_var` is flagged as a volatile API, not a deprecated one; nothing else reaches the scope.
        #[allow(deprecated)]
        engine.on_var(move |name, _, mut context| Ok(pending.resolve(name, context.scope_mut())));
        register_cmdlets(&mut engine, &session, opts.handlers);
        register_builtins(&mut engine, &session, opts.handlers);
        members::register(&mut engine, &session);
        files::register(&mut engine, &session);
        crate::powershell::runtime::register(&mut engine, opts.json);

        let mut scope = Scope::new();
        scope.push_constant("ARGS", opts.args);
        let dir = script_dir
            .map(|d| if d.as_os_str().is_empty() { PathBuf::from(".") } else { d })
            .unwrap_or_else(|| PathBuf::from("."));
        scope.push_constant("SCRIPT_DIR", dir.to_string_lossy().to_string());
        Ok(Shell {
            engine,
            scope,
            functions: AST::empty(),
            session,
            handlers: opts.handlers,
            json: opts.json,
            budget: opts.budget,
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Is this cmdlet registered (the handler table holds it)?
    pub fn is_available(&self, cmdlet: &Cmdlet) -> bool {
        self.handlers.has(cmdlet)
    }

    /// Compile and run `code`, keeping variables and functions for the next input (REPL).
    pub fn eval(&mut self, code: &str) -> Result<Dynamic, Box<EvalAltResult>> {
        self.session.borrow_mut().done.clear();
        // A New that failed in an earlier REPL input does not explain this input's `()`.
        self.session.borrow_mut().nothing = None;
        let ast = self.engine.compile_with_scope(&self.scope, code)?;
        let full = self.functions.merge(&ast);
        let result = self.engine.eval_ast_with_scope::<Dynamic>(&mut self.scope, &full);
        self.functions = full.clone_functions_only();
        let pending = self.session.borrow().out_variables.clone();
        pending.settle(&mut self.scope);
        result
    }

    pub fn variables(&self) -> Vec<String> {
        self.scope.iter().map(|(name, _, _)| name.to_string()).collect()
    }

    /// Has a topology been published into the store?
    pub fn has_topology(&self) -> bool {
        self.session.borrow().store.pools().is_ok_and(|p| !p.is_empty())
    }

    /// A PostgreSQL database this run's open made a store of, and nothing wrote to since, is left
    /// empty again (`Store::unmake_if_unwritten`): true when it was.
    pub fn unmake_unwritten_store(&self) -> bool {
        self.session.borrow().store.unmake_if_unwritten()
    }

    /// Has any cmdlet changed the store (ever, as its audit shows)?
    /// The session's store, for tests that look at it between calls.
    #[cfg(test)]
    pub fn looking_at_store<T>(&self, f: impl FnOnce(&Store) -> T) -> T {
        f(&self.session.borrow().store)
    }

    /// Has any cmdlet been called (the store looked at)?
    pub fn cmdlet_called(&self) -> bool {
        self.session.borrow().cmdlet_called
    }

    pub fn store_changed(&self) -> bool {
        self.session.borrow().store.has_changes().unwrap_or(true)
    }

    /// One line for an error that escaped the script, naming the budget when one was spent.
    pub fn describe_error(&self, err: &EvalAltResult) -> String {
        describe(err, Some(&self.budget))
    }

    /// A name given with `--as` or `PCHAT_USER` must be exactly one directory user.
    pub fn check_acting_identity(&self) -> Result<(), String> {
        let s = self.session.borrow();
        s.access.check_declared(&s.store)
    }

    /// After a statement a signal stopped: what it had committed, which stands.
    pub fn interrupted_note(&self) -> Option<String> {
        crate::interrupt::signal()?;
        Some(format!(
            "pchat: committed before the interruption, and kept: {}; the change in progress was undone",
            self.session.borrow().done.summary()
        ))
    }

    pub fn errors_written(&self) -> usize {
        self.session.borrow().errors_written
    }

    /// Open a unit over everything the session runs from now on (`--atomic`, `--plan`).
    pub fn begin_unit(&mut self, kind: unit::Kind) -> anyhow::Result<()> {
        unit::begin(&mut self.session.borrow_mut(), kind)
    }

    /// Every stored object, read in the open unit (see `plan`).
    pub fn snapshot(&self) -> plan::Snapshot {
        plan::snapshot(&mut self.session.borrow_mut(), self.handlers)
    }

    /// End an atomic run whose script ended with `code`: commit if it is 0, else undo
    /// everything. The run's exit code (a run that would exit 3 exits 1: nothing was kept).
    pub fn finish_atomic(&mut self, code: i32) -> i32 {
        let mut s = self.session.borrow_mut();
        if code != 0 {
            unit::rollback(&mut s);
            crate::streams::warning("pchat: --atomic: the run did not complete; nothing was committed");
            return atomic_exit_code(code);
        }
        match unit::commit(&mut s) {
            Ok(failed) if failed.is_empty() => 0,
            Ok(failed) => {
                unit::report_unplaced(&failed);
                1
            }
            Err(failed) => {
                crate::streams::error(&failed.describe("pchat: --atomic: "));
                crate::interrupt::exit_code().unwrap_or(1)
            }
        }
    }

    /// End a plan: read what it would leave behind, then undo everything it did.
    pub fn finish_plan(&mut self, before: &plan::Snapshot) -> (Vec<plan::Entry>, Vec<String>) {
        let after = self.snapshot();
        let mut s = self.session.borrow_mut();
        let from = s.unit.as_ref().map(|u| u.audit_from).unwrap_or(0);
        let order = s.store.audit_targets_since(from).unwrap_or_default();
        let files = unit::rollback(&mut s).map(|staging| staging.planned()).unwrap_or_default();
        plan::diff(before, &after, &order, &files)
    }
}

/// The exit code of an atomic run whose script ended with `code` and was rolled back.
pub fn atomic_exit_code(code: i32) -> i32 {
    match code {
        0 | 2 | 130 | 143 => code,
        _ => 1,
    }
}

/// One line for an error that escaped the script: the innermost message and where it happened,
/// control characters written out.
pub fn describe_error(err: &EvalAltResult) -> String {
    describe(err, None)
}

fn describe(err: &EvalAltResult, budget: Option<&Budget>) -> String {
    crate::values::text::escape_block(&describe_raw(err, budget)).into_owned()
}

fn describe_raw(err: &EvalAltResult, budget: Option<&Budget>) -> String {
    if let Some(text) = budget.and_then(|b| b.describe(err)) {
        return with_position(text, err.position());
    }
    match err {
        // Inside a module (stdlib, or a .rhai beside the runbook): the runbook's line that called
        // it, and where in the module it failed.
        EvalAltResult::ErrorInFunctionCall(name, source, inner, pos) if !source.is_empty() && !pos.is_none() => {
            let (text, at) = innermost(inner);
            let within = at.line().map(|l| format!(", line {l}")).unwrap_or_default();
            with_position(format!("{text} (in {name}() of module '{source}'{within})"), *pos)
        }
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) | EvalAltResult::ErrorInModule(_, inner, _) => {
            describe_raw(inner, budget)
        }
        EvalAltResult::ErrorFunctionNotFound(signature, pos) => {
            with_position(format!("Function not found: {signature}{}", function_hint(signature)), *pos)
        }
        EvalAltResult::ErrorRuntime(value, pos) => with_position(value.to_string(), *pos),
        EvalAltResult::ErrorTerminated(token, pos) => match token.clone().into_string() {
            Ok(text) if text != INTERRUPTED => with_position(text, *pos),
            _ => with_position(crate::errors::stopped("").message, *pos),
        },
        EvalAltResult::ErrorParsing(e, pos) => with_position(format!("syntax error: {e}{}", repl_word_hint(e)), *pos),
        // Reading a property a map does not have is an error (never a silent `()`); the nearest
        // property name of the catalog's object types is the likely intent.
        EvalAltResult::ErrorPropertyNotFound(name, pos) => {
            with_position(members::no_property(name, "this object"), *pos)
        }
        // A property no getter serves on an array (a name the catalog lacks), a string, ...
        EvalAltResult::ErrorDotExpr(text, pos) if members::unknown_getter(text).is_some() => {
            with_position(members::unknown_getter(text).unwrap_or_default(), *pos)
        }
        other => {
            let pos = other.position();
            let mut text = other.to_string();
            if let Some(i) = text.rfind(" (line ") {
                text.truncate(i);
            }
            with_position(text, pos)
        }
    }
}

/// The REPL's words alone on a line (`help`, `exit`) are functions in a script: say how to call them.
fn repl_word_hint(e: &rhai::ParseErrorType) -> &'static str {
    match e {
        rhai::ParseErrorType::VariableUndefined(name) => match name.as_str() {
            "help" => {
                " (in a script, help is a function: help() lists the cmdlets, \
                 help(\"Get-CsPersistentChatRoom\") shows one)"
            }
            "exit" | "quit" => " (in a script, exit() ends it here)",
            _ => "",
        },
        _ => "",
    }
}

/// The message of the innermost error (no position) and where it was raised.
fn innermost(err: &EvalAltResult) -> (String, Position) {
    match err {
        EvalAltResult::ErrorInFunctionCall(_, _, inner, _) | EvalAltResult::ErrorInModule(_, inner, _) => {
            innermost(inner)
        }
        other => {
            let pos = other.position();
            let mut text = describe_error(other);
            if let Some(i) = text.rfind(" (line ") {
                text.truncate(i);
            }
            (text, pos)
        }
    }
}

/// Functions a script can call: the cmdlets (snake case) and pchat's own.
const BUILTINS: &[&str] = &[
    "atomic",
    "cmd",
    "help",
    "last_errors",
    "clear_errors",
    "is_what_if",
    "is_plan",
    "utc_date",
    "utc_day_number",
    "read_csv",
    "read_lines",
    "read_text",
    "translate",
    "eprint",
    "select_object",
];

/// "; did you mean 'get_cs_persistent_chat_room'?" for a mistyped function name.
fn function_hint(signature: &str) -> String {
    let name = signature.split([' ', '(']).next().unwrap_or(signature);
    let cmdlets: Vec<String> = catalog::all().iter().map(|c| c.rhai_name()).collect();
    let names = cmdlets.iter().map(String::as_str).chain(BUILTINS.iter().copied());
    crate::binder::suggest(name, names).map(|n| format!("; did you mean '{n}'?")).unwrap_or_default()
}

fn with_position(text: String, pos: Position) -> String {
    match (pos.line(), pos.position()) {
        (Some(l), Some(c)) => format!("{text} (line {l}, column {c})"),
        (Some(l), None) => format!("{text} (line {l})"),
        _ => text,
    }
}

/// Syntax errors exit with 2, everything else that stops a script with 1.
pub fn is_syntax_error(err: &EvalAltResult) -> bool {
    matches!(err, EvalAltResult::ErrorParsing(..))
}

/// The script line a cmdlet was called from (recorded in the audit trail).
fn line(c: &NativeCallContext) -> Option<usize> {
    c.call_position().line()
}

fn register_cmdlets(engine: &mut Engine, session: &SharedSession, handlers: &'static Table) {
    for cmdlet in handlers.cmdlets {
        let name = cmdlet.cmdlet.rhai_name();
        let s = session.clone();
        engine.register_fn(&name, move |c: NativeCallContext| invoke::invoke(&s, cmdlet, vec![], line(&c)));
        let s = session.clone();
        engine
            .register_fn(&name, move |c: NativeCallContext, a: Dynamic| invoke::invoke(&s, cmdlet, vec![a], line(&c)));
        let s = session.clone();
        engine.register_fn(&name, move |c: NativeCallContext, a: Dynamic, b: Dynamic| {
            invoke::invoke(&s, cmdlet, vec![a, b], line(&c))
        });
        let s = session.clone();
        engine.register_fn(&name, move |c: NativeCallContext, a: Dynamic, b: Dynamic, d: Dynamic| {
            invoke::invoke(&s, cmdlet, vec![a, b, d], line(&c))
        });
    }
}

/// `cmd("Get-CsPersistentChatRoom", ...)`: call a cmdlet by its PowerShell name.
fn dispatch(
    session: &SharedSession,
    handlers: &'static Table,
    name: &str,
    args: Vec<Dynamic>,
    line: Option<usize>,
) -> Result<Dynamic, Box<EvalAltResult>> {
    match catalog::find(name).and_then(|c| handlers.get(c)) {
        Some(registration) => invoke::invoke(session, registration, args, line),
        None => {
            let names = handlers.cmdlets.iter().map(|r| r.cmdlet.name);
            let hint =
                crate::binder::suggest(name, names).map(|n| format!("; did you mean '{n}'?")).unwrap_or_default();
            Err(EvalAltResult::ErrorRuntime(format!("unknown cmdlet '{name}'{hint}").into(), Position::NONE).into())
        }
    }
}

/// "no cmdlet 'X'; did you mean 'Y'?" (PowerShell or snake-case names).
pub fn no_cmdlet(name: &str) -> String {
    let snake = name.contains('_');
    let names: Vec<String> =
        catalog::all().iter().map(|c| if snake { c.rhai_name() } else { c.name.to_string() }).collect();
    let hint = crate::binder::suggest(name, names.iter().map(String::as_str))
        .map(|n| format!("; did you mean '{n}'?"))
        .unwrap_or_default();
    format!("no cmdlet '{name}'{hint}")
}

fn register_builtins(engine: &mut Engine, session: &SharedSession, handlers: &'static Table) {
    let s = session.clone();
    engine.register_fn("last_errors", move || -> rhai::Array {
        s.borrow()
            .errors
            .iter()
            .map(|e| {
                let mut m = Map::new();
                m.insert("Cmdlet".into(), e.cmdlet.into());
                m.insert("ErrorId".into(), e.kind.id().into());
                m.insert("Message".into(), e.message.clone().into());
                m.insert("Target".into(), e.target.clone().map(Dynamic::from).unwrap_or(Dynamic::UNIT));
                Dynamic::from_map(m)
            })
            .collect()
    });
    let s = session.clone();
    engine.register_fn("clear_errors", move || s.borrow_mut().errors.clear());
    // PowerShell's Write-Error: a non-terminating error the script itself writes (exit code 3).
    let s = session.clone();
    engine.register_fn("ps_write_error", move |message: &str| {
        eprintln!("Write-Error: {}", crate::values::text::escape_block(message));
        s.borrow_mut().errors_written += 1;
    });
    // Runbooks skip their verification steps when nothing is being changed (`--what-if`).
    let s = session.clone();
    engine.register_fn("is_what_if", move || s.borrow().what_if);
    // Under `--plan` changes are made, so verification steps still run, but none is kept: a
    // runbook's report says "would be" (`is_what_if() || is_plan()`).
    let s = session.clone();
    engine.register_fn("is_plan", move || s.borrow().unit.as_ref().is_some_and(|u| matches!(u.kind, unit::Kind::Plan)));
    // Scheduled runbooks (retention, rotation) need today's date: `utc_date(-90)` is the UTC date
    // 90 days ago as yyyy-MM-dd; `utc_day_number()` counts days since 1970-01-01.
    // A date out of range is an error, never today's date: a retention cut-off that fell back to
    // today would delete everything.
    engine.register_fn("utc_date", |offset_days: i64| -> Result<String, Box<EvalAltResult>> {
        let day = chrono::Utc::now().date_naive();
        chrono::TimeDelta::try_days(offset_days)
            .and_then(|delta| day.checked_add_signed(delta))
            .map(|d| d.format("%Y-%m-%d").to_string())
            .ok_or_else(|| {
                let text =
                    format!("utc_date: {offset_days} days from today is outside the calendar pchat can represent");
                EvalAltResult::ErrorRuntime(text.into(), Position::NONE).into()
            })
    });
    // A runbook's own warnings go to stderr, beside the cmdlets' errors; like print(), with
    // control characters written out (a CSV cell or file line echoed must not drive the terminal).
    engine.register_fn("eprint", |text: &str| crate::streams::warning(&crate::values::text::escape_block(text)));
    engine.register_fn("utc_day_number", || chrono::Utc::now().timestamp().div_euclid(86_400));
    // Methods of returned objects (the test log's `log.ToHTML()`), as the handler table lists them.
    for &(name, render) in handlers.methods {
        engine.register_fn(name, move |log: &mut Map| -> Result<String, Box<EvalAltResult>> {
            render(log).map_err(|e| EvalAltResult::ErrorRuntime(format!("{name}: {e}").into(), Position::NONE).into())
        });
    }
    engine.register_fn("help", || crate::streams::say(&crate::help::overview(&|c: &Cmdlet| handlers.has(c))));
    engine.register_fn("help", |name: &str| -> Result<(), Box<EvalAltResult>> {
        match catalog::find(name) {
            Some(c) if handlers.has(c) => {
                crate::streams::say(&crate::help::render(c));
                Ok(())
            }
            _ => Err(EvalAltResult::ErrorRuntime(format!("help: {}", no_cmdlet(name)).into(), Position::NONE).into()),
        }
    });
    // `Get-Help Name -Examples` / `-Parameter P` in PowerShell form.
    engine.register_fn("help", |name: &str, section: &str| -> Result<(), Box<EvalAltResult>> {
        match catalog::find(name) {
            Some(c) if handlers.has(c) => match crate::help::part(c, section) {
                Some(text) => {
                    crate::streams::say(&text);
                    Ok(())
                }
                None => Err(EvalAltResult::ErrorRuntime(
                    format!("help: {} has no {section}", c.name).into(),
                    Position::NONE,
                )
                .into()),
            },
            _ => Err(EvalAltResult::ErrorRuntime(format!("help: {}", no_cmdlet(name)).into(), Position::NONE).into()),
        }
    });
    // `atomic(|| { ... })`: the block's changes commit together or not at all (see `unit`).
    let s = session.clone();
    engine.register_fn("atomic", move |context: NativeCallContext, body: rhai::FnPtr| {
        unit::atomic_block(&s, &context, body)
    });
    let s = session.clone();
    engine.register_fn("cmd", move |x: NativeCallContext, name: &str| dispatch(&s, handlers, name, vec![], line(&x)));
    let s = session.clone();
    engine.register_fn("cmd", move |x: NativeCallContext, name: &str, a: Dynamic| {
        dispatch(&s, handlers, name, vec![a], line(&x))
    });
    let s = session.clone();
    engine.register_fn("cmd", move |x: NativeCallContext, name: &str, a: Dynamic, b: Dynamic| {
        dispatch(&s, handlers, name, vec![a, b], line(&x))
    });
    let s = session.clone();
    engine.register_fn("cmd", move |x: NativeCallContext, name: &str, a: Dynamic, b: Dynamic, c: Dynamic| {
        dispatch(&s, handlers, name, vec![a, b, c], line(&x))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shell(dir: &Path) -> Shell {
        let opts = Options {
            db: dir.join("pchat.db"),
            json: false,
            what_if: false,
            prompt_mode: PromptMode::Unattended,
            script: None,
            args: Map::new(),
            handlers: &crate::handlers::TABLE,
            confined: false,
            budget: Budget::default(),
            acting: crate::access::Declared::Os("tester".into()),
            origin: Origin::Code,
            read_only: false,
        };
        Shell::new(opts).unwrap()
    }

    const TEST: &str = r#"test_cs_persistent_chat_message("pc01.contoso.com", #{OutVerboseVariable: "#;

    #[test]
    fn cmdlets_set_caller_variables_in_this_input_and_for_later_ones() {
        let dir = tempfile::tempdir().unwrap();
        let mut sh = shell(dir.path());
        // Not read in its input: declared for the next REPL input.
        let _ = sh.eval(&format!(r#"{TEST} "later", OutLoggerVariable: "TestLog"}})"#)).unwrap();
        assert_eq!(sh.eval("TestLog.Result").unwrap().to_string(), "Failure");
        assert!(sh.eval("later").unwrap().to_string().contains("the topology has no Persistent Chat pool"));
        // Declared first and read in the same input, also inside a function's own scope.
        let r = sh.eval(&format!(r#"let x = 1; {TEST} "x"}}); x"#)).unwrap();
        assert!(r.to_string().contains("no Persistent Chat pool"), "{r}");
        let r = sh.eval(&format!(r#"fn f() {{ let y = 0; {TEST} "y"}}); y }} f()"#)).unwrap();
        assert!(r.to_string().contains("no Persistent Chat pool"), "{r}");
        assert!(!sh.variables().contains(&"y".to_string()), "a function's variable stays local");
        // A later call replaces the value.
        let _ = sh.eval(&format!(r#"{TEST} "later", Verbose: false}})"#)).unwrap();
        assert!(sh.eval("later").unwrap().to_string().starts_with("20"));
    }

    #[test]
    fn pending_values_never_overwrite_constants() {
        let vars = OutVariables::default();
        let mut scope = Scope::new();
        scope.push_constant("ARGS", 1_i64);
        scope.push("log", ());
        vars.publish(vec![("ARGS".into(), Dynamic::from(2_i64)), ("log".into(), Dynamic::from("x"))]);
        assert!(vars.resolve("ARGS", &mut scope).is_none());
        assert!(vars.resolve("log", &mut scope).is_none());
        assert_eq!(scope.get_value::<String>("log").as_deref(), Some("x"));
        vars.publish(vec![("ARGS".into(), Dynamic::from(3_i64)), ("new".into(), Dynamic::from(4_i64))]);
        vars.settle(&mut scope);
        assert_eq!(scope.get_value::<i64>("ARGS"), Some(1));
        assert_eq!(scope.get_value::<i64>("new"), Some(4));
    }
}
