//! Units of work that span a whole run or block (docs/atomic-and-plan.md):
//!
//! * **atomic** (`pchat run --atomic`, `atomic(|| { ... })`): one write transaction over the
//!   store and every pool database, held from start to end; each cmdlet call inside it is a
//!   savepoint; files wait in a staging area. Everything commits at the end, or nothing does.
//! * **plan** (`pchat run --plan`): the same, always rolled back, with what it would have left
//!   behind read from the store before and after (see `plan`).
//!
//! A nested `atomic` block is a savepoint of the unit around it: when the block fails, its own
//! changes (rows and files) are undone and its error goes on up; when it succeeds its changes
//! join the enclosing unit's and commit only with it.

use std::rc::Rc;

use rhai::{Dynamic, EvalAltResult, FnPtr, NativeCallContext, Position};

use super::{Session, SharedSession};
use crate::catalog::Cmdlet;
use crate::errors::CmdletError;
use crate::files::Staging;
use crate::files::Unplaced;
use crate::files::journal::{self, UnitFile};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Atomic,
    Plan,
}

/// The open unit of a session.
pub struct Unit {
    pub kind: Kind,
    pub staging: Rc<Staging>,
    /// Nested blocks open inside it.
    depth: usize,
    /// Where the audit ended when the unit began (the plan's order of objects).
    pub audit_from: i64,
}

/// Cmdlets that manage their own files or locks and so cannot be held back with the rest of a
/// unit: each with why, for the refusal. (Under WhatIf they change nothing and may run.)
const OWN_COMMIT: &[(&str, &str, bool)] = &[
    // (cmdlet, why, refused in a plan too)
    ("Publish-CsTopology", "it creates the pool database files of new SQL instances and attaches them", true),
    ("Repair-CsPersistentChatDatabase", "it may rebuild a database file outside any transaction", true),
    ("Set-CsPersistentChatState", "it fails a pool over or back, which must be committed on its own", false),
];

/// Whether the cmdlet manages its own files or locks (see `OWN_COMMIT`): what it did outside the
/// transaction cannot be undone, so on SQLite it is not run again after a lost race either
/// (invoke.rs). On PostgreSQL they run alone, and are run again like any cmdlet.
pub fn own_commit(cmdlet: &Cmdlet) -> bool {
    OWN_COMMIT.iter().any(|(name, _, _)| *name == cmdlet.name)
}

/// A terminating error for a cmdlet that cannot run inside the session's unit, if it is one.
pub fn refusal(s: &Session, cmdlet: &Cmdlet, what_if: bool) -> Option<CmdletError> {
    let unit = s.unit.as_ref()?;
    if !s.store.in_transaction() {
        // SQLite ends a transaction itself on some failures (an interrupted statement, a full
        // disk): nothing may then run outside the unit and commit on its own.
        let mut e = CmdletError::invalid_operation(format!(
            "cannot run: the transaction of this {} was ended by an earlier failure and everything in it was undone",
            if unit.kind == Kind::Plan { "plan" } else { "atomic run" }
        ));
        e.cmdlet = cmdlet.name;
        return Some(e.terminating());
    }
    if what_if {
        return None;
    }
    let (_, why, in_plan) = OWN_COMMIT.iter().find(|(name, _, _)| *name == cmdlet.name)?;
    let mut e = match unit.kind {
        Kind::Atomic => CmdletError::invalid_operation(format!(
            "cannot run inside an atomic run or block: {why}; run it on its own (outside atomic(...), without --atomic)"
        )),
        Kind::Plan if *in_plan => {
            CmdletError::invalid_operation(format!("cannot run in a plan: {why}; try it with WhatIf: true instead"))
        }
        Kind::Plan => return None,
    };
    e.cmdlet = cmdlet.name;
    Some(e.terminating())
}

fn runtime(text: String) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(text.into(), Position::NONE).into()
}

/// Open a unit over the whole session: attach every pool database and take the write lock (the
/// central database's now, each pool database's before its first use).
pub fn begin(s: &mut Session, kind: Kind) -> anyhow::Result<()> {
    if s.unit.is_some() {
        anyhow::bail!("a unit of work is already open");
    }
    s.store.begin_unit()?;
    let audit_from = match s.store.audit_position() {
        Ok(p) => p,
        Err(e) => {
            s.store.rollback();
            return Err(e.into());
        }
    };
    s.unit = Some(Unit { kind, staging: Rc::new(Staging::new()), depth: 0, audit_from });
    crate::fault::point("atomic:begun");
    Ok(())
}

/// The roll-forward journal of a unit that wrote files: its id and unit file (see
/// files/journal.rs and store/unit.rs).
struct Journal {
    id: String,
    file: UnitFile,
}

/// Before the commit: name every file the unit will place beside its target, list those names
/// in a unit file (beside the store, or in the store's local state folder on PostgreSQL; held
/// locked until the files are in place), and record them in the unit's transaction, so that they
/// commit with its changes. None: the unit wrote no file.
fn journal(s: &Session, unit: &Unit) -> Result<Option<Journal>, String> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    // The unit file lists the staged names before any is given: a kill in between leaves no
    // staged file that nothing names (the next command removes what a dead unit's file lists).
    let staged = unit.staging.names(&id);
    if staged.is_empty() {
        return Ok(None);
    }
    // Beside the store file (SQLite), or in this machine's state folder for the store
    // (PostgreSQL, files/unit_home.rs).
    let home = s.store.unit_home().map_err(|e| format!("the run's file journal has no place: {e:#}"))?;
    home.prepare().map_err(|e| format!("the folder {} cannot be created: {e}", home.folder().display()))?;
    let path = journal::unit_file(&home.base, &id);
    let file = UnitFile::create(&path, &staged)
        .map_err(|e| format!("the unit file {} cannot be written: {e}", path.display()))?;
    let journal = Journal { id, file };
    let files = match unit.staging.name(&journal.id) {
        Ok(files) => files,
        Err(e) => {
            abandon(unit, Some(journal));
            return Err(format!("a file could not be staged: {e}"));
        }
    };
    if let Err(e) = s.store.record_unit_files(&journal.id, &files, &home) {
        abandon(unit, Some(journal));
        return Err(format!("the files of the run cannot be recorded: {e}"));
    }
    Ok(Some(journal))
}

/// The unit did not commit: remove its named files, then its unit file.
fn abandon(unit: &Unit, journal: Option<Journal>) {
    unit.staging.discard();
    if let Some(j) = journal {
        let _ = j.file.remove();
    }
}

/// Why a unit's commit failed, and whether nothing at all was committed (otherwise `why` says
/// what was: see `store::commit`).
#[derive(Debug)]
pub struct Failed {
    pub why: String,
    pub nothing: bool,
}

impl Failed {
    fn nothing(why: String) -> Self {
        Failed { why, nothing: true }
    }

    /// The line for standard error.
    pub fn describe(&self, prefix: &str) -> String {
        if self.nothing {
            format!("{prefix}nothing was committed: {}", self.why)
        } else {
            format!("{prefix}{}", self.why)
        }
    }
}

/// Commit the session's unit: the database first, then the staged files are moved into place.
/// Err: nothing was committed (rolled back), or the commit reached some files and not others
/// (`Failed::nothing` false). Ok: the files that could not be placed, if any.
///
/// The files are all or none too: each has a name and a row of the unit's transaction before the
/// commit, so a process killed between the commit and the last rename leaves the rest to the
/// next pchat command (`Store::finish_units`), and one killed before the commit leaves only
/// names that command removes.
pub fn commit(s: &mut Session) -> Result<Vec<Unplaced>, Failed> {
    let Some(unit) = s.unit.take() else { return Err(Failed::nothing("no unit of work is open".into())) };
    let journal = match journal(s, &unit) {
        Ok(j) => j,
        Err(why) => {
            s.store.rollback();
            s.done.drop_pending();
            abandon(&unit, None);
            return Err(Failed::nothing(why));
        }
    };
    crate::fault::point("atomic:before-commit");
    // A signal that came after the last statement still stops the commit.
    if crate::interrupt::requested() {
        s.store.rollback();
        s.done.drop_pending();
        abandon(&unit, journal);
        return Err(Failed::nothing(crate::interrupt::describe("")));
    }
    let mut partly = None;
    if let Err(f) = injected_commit_failure().map_or_else(|| s.store.commit_telling(), Err) {
        use crate::store::commit::Committed;
        match f.committed {
            Committed::Nothing => {
                s.store.rollback();
                s.done.drop_pending();
                abandon(&unit, journal);
                return Err(Failed::nothing(commit_failed(s, &f.error)));
            }
            // Every change is in the store and in a copy of its pool (a repair restores the
            // other; on PostgreSQL, `Pending`, recovery commits the other's prepared branch): the
            // run committed, and its files go in place as after any commit.
            Committed::Recoverable | Committed::Everything | Committed::Pending => partly = Some(f.error.to_string()),
            // Some change reached no copy: the files stay staged, listed in the unit file and in
            // the committed rows, for the next command to remove (`Store::finish_units` reads
            // the same marks); when what committed cannot be read, that command decides.
            Committed::Lost | Committed::Unknown => {
                s.done.drop_pending();
                return Err(Failed {
                    why: format!(
                        "{}; the run's files were not put in place: the next pchat command removes them, or places them if the pool database files show the run's changes",
                        f.error
                    ),
                    nothing: false,
                });
            }
        }
    }
    s.done.commit_pending();
    crate::fault::point("atomic:committed");
    let failed = unit.staging.place();
    crate::fault::point("atomic:files-placed");
    // A file that could not be placed keeps its content under its staged name, and the unit its
    // rows and unit file (unlocked when this process ends): the next command places it.
    if let Some(j) = journal.filter(|_| failed.is_empty()) {
        // Left behind, the rows only make the next command find every file in place already.
        let forgotten = s.store.forget_unit_files(&j.id).map_err(|e| e.to_string());
        if let Err(why) = forgotten.and_then(|()| j.file.remove().map_err(|e| e.to_string())) {
            crate::streams::warning(&format!(
                "atomic: every file is in place, but the run's journal could not be cleared ({why}); the next pchat command clears it"
            ));
        }
    }
    if let Some(why) = partly {
        report_unplaced(&failed);
        let placed = if failed.is_empty() {
            "the run's files were put in place"
        } else {
            "the run's other files were put in place"
        };
        return Err(Failed { why: format!("{why}; {placed}"), nothing: false });
    }
    Ok(failed)
}

/// Why a unit's commit that committed nothing failed. A lost race with another session is not
/// retried (the runbook's own effects, what it printed, cannot be undone): the user reads what
/// happened and what to do, not the database's code.
fn commit_failed(s: &Session, error: &crate::store::db::DbError) -> String {
    use crate::store::db::ErrorKind;
    let lost_race = match error.kind() {
        ErrorKind::Serialization => true,
        ErrorKind::Busy => s.store.is_postgres(),
        _ => false,
    };
    if lost_race {
        "another session changed the same objects at the same time; an atomic run is not retried automatically: run it again".into()
    } else {
        format!("the commit failed: {error}")
    }
}

/// Testing: the unit's commit loses a race (`PCHAT_FAULT=atomic:before-commit:conflict:N`).
fn injected_commit_failure() -> Option<crate::store::commit::CommitFailure> {
    use crate::store::db::{DbError, ErrorKind};
    let kind = match crate::fault::failure("atomic:before-commit")? {
        crate::fault::Failure::Conflict => ErrorKind::Serialization,
        crate::fault::Failure::Busy => ErrorKind::Busy,
    };
    Some(crate::store::commit::CommitFailure::nothing(DbError::new(
        kind,
        "injected at atomic:before-commit (PCHAT_FAULT)",
    )))
}

/// Undo the session's unit: no row kept, no staged file written. The staged files, if a plan
/// wants to list them.
pub fn rollback(s: &mut Session) -> Option<Rc<Staging>> {
    let unit = s.unit.take()?;
    s.store.rollback();
    s.done.drop_pending();
    Some(unit.staging)
}

/// `atomic(|| { ... })`: run the closure as a unit (see the module comment); its value is the
/// closure's. Non-terminating errors inside the block fail it too: it commits only if clean.
pub fn atomic_block(
    session: &SharedSession,
    context: &NativeCallContext,
    body: FnPtr,
) -> Result<Dynamic, Box<EvalAltResult>> {
    let (nested, errors_before) = {
        let mut s = session.borrow_mut();
        let errors_before = s.errors_written;
        let nested = match s.unit.as_mut() {
            Some(unit) => {
                unit.depth += 1;
                unit.staging.open_block();
                let depth = unit.depth;
                s.done.open_block();
                if let Err(e) = s.store.block_savepoint(depth) {
                    if let Some(u) = s.unit.as_mut() {
                        u.depth -= 1;
                        u.staging.discard_block();
                    }
                    s.done.discard_block();
                    return Err(runtime(format!("atomic: cannot open the block: {e}")));
                }
                Some(depth)
            }
            None => {
                begin(&mut s, Kind::Atomic).map_err(|e| runtime(format!("atomic: cannot begin: {e:#}")))?;
                None
            }
        };
        (nested, errors_before)
    };
    let mut result = body.call_within_context::<Dynamic>(context, ());
    let mut s = session.borrow_mut();
    let errors = s.errors_written - errors_before;
    if result.is_ok() && errors > 0 {
        result = Err(runtime(format!(
            "atomic: {errors} error{} in the block (see above)",
            if errors == 1 { "" } else { "s" }
        )));
    }
    match (nested, result) {
        (Some(depth), Ok(value)) => {
            if let Some(u) = s.unit.as_mut() {
                u.depth -= 1;
                u.staging.close_block();
            }
            s.done.close_block();
            s.store.release_block(depth).map_err(|e| runtime(format!("atomic: cannot close the block: {e}")))?;
            Ok(value)
        }
        (Some(depth), Err(e)) => {
            if let Some(u) = s.unit.as_mut() {
                u.depth -= 1;
                u.staging.discard_block();
            }
            s.store.rollback_block(depth);
            s.done.discard_block();
            crate::streams::warning("atomic: the block stopped; every change it made was undone");
            Err(e)
        }
        (None, Ok(value)) => match commit(&mut s) {
            Ok(failed) => {
                report_unplaced(&failed);
                Ok(value)
            }
            Err(failed) => {
                if failed.nothing {
                    crate::streams::warning("atomic: nothing was committed");
                }
                Err(runtime(format!("atomic: {}", failed.why)))
            }
        },
        (None, Err(e)) => {
            rollback(&mut s);
            crate::streams::warning("atomic: the block stopped; every change it made was undone");
            Err(e)
        }
    }
}

/// Files of a committed unit that could not be moved into place (the store's changes stand).
pub fn report_unplaced(failed: &[Unplaced]) {
    for u in failed {
        let kept = match &u.kept {
            Some(staged) => format!(
                "; its content is kept in {} and the next pchat command puts it in place (remove that file to give it up)",
                crate::values::text::escape_block(&staged.display().to_string())
            ),
            None => String::new(),
        };
        crate::streams::error(&format!("atomic: committed, but a file could not be put in place: {}{kept}", u.error));
    }
}
