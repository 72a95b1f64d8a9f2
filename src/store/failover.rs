//! Fail-over, fail-back and repair of a pool's two copies (docs/failover.md states the rules for
//! users). What makes them safe:
//!
//! * each pool has a mark in the central database, (generation, change): the generation moves on
//!   at every fail-over, fail-back and repair, the change counts committed writes. Each copy
//!   carries the mark it was last written at (`pool_sync`). A copy serves the pool only while its
//!   mark equals the pool's, so a recreated file, a file of another instance or an older copy of
//!   the right file never passes for the pool's data;
//! * every decision here is taken inside the caller's write transaction, which holds the write
//!   lock of the central database and of each copy it reads (`Store::lock_copy`, taken in
//!   `copy_state` before the copy's mark is read), from marks read under that lock;
//! * a copy is made only from a source that passes SQLite's integrity check and whose mark is not
//!   behind the target's (behind: only with Force, saying what is lost).
//!
//! On PostgreSQL the same code runs with three differences: the calls run alone
//! (`Store::exclude_writers`: the writers' lock taken EXCLUSIVE, where SQLite's one write lock
//! already excludes them); the copy is streamed between the two databases' sessions inside the
//! two-phase commit (`pg::pool_copy`); and an unusable target can only be repaired when it is an
//! empty database, which gets the pool schema in the repair's transaction
//! (`Store::prepare_empty_pool_database`), never by replacing a database.

use crate::store::db::{self, OptionalExtension, params};

use super::Store;
use super::pg::epoch_watch::SET_POOL_MARK;
use super::route::{Target, route};
use super::sessions::Behind;
use super::topology::PoolRow;
use crate::catalog::enums::PoolState;
use crate::errors::{CmdletError, CmdletResult};
use crate::fault;

/// (generation, change) of a pool: in the central database, the pool's; in a copy, what it holds.
pub type Mark = (i64, i64);

/// One of a pool's two copies, as found now.
#[derive(Debug, Clone)]
pub enum CopyState {
    /// Attached: its schema and mark.
    Ready { schema: String, mark: Mark },
    /// Why it cannot be used (missing, empty, damaged, replaced file).
    Unavailable(String),
}

/// Which copy a repair starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Primary,
    Backup,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Primary => "Primary",
            Side::Backup => "Backup",
        }
    }
}

pub fn repair_call(fqdn: &str, source: Side) -> String {
    format!(
        "repair_cs_persistent_chat_database(#{{Identity: \"PersistentChatServer:{fqdn}\", Source: \"{}\"}})",
        source.name()
    )
}

impl Store {
    /// `repair`, the call that rebuilds the copy of `instance` (unusable for `why`), as advice:
    /// on PostgreSQL a database that does not exist is to be created empty first (`DATABASE_MISSING`:
    /// a repair fills an empty database only, and refuses until then).
    /// A PostgreSQL database that holds something else (damaged, another database restored in its
    /// place) is to be dropped and created empty first, as its reason says: the repair alone
    /// would be refused.
    pub(crate) fn rebuild_advice(&self, instance: &str, why: &str, repair: String) -> String {
        let emptied_first = why.contains(super::pg::EMPTY_FIRST);
        if !why.contains(super::DATABASE_MISSING) && !emptied_first {
            return repair;
        }
        match self.create_database_advice(instance) {
            Ok(create) if emptied_first => format!("drop the database, {create}, then {repair}"),
            Ok(create) => format!("{create}, then {repair}"),
            Err(_) => repair,
        }
    }
}

pub(crate) fn describe(mark: Mark) -> String {
    format!("change {} of generation {}", mark.1, mark.0)
}

fn refused(message: String, fqdn: &str) -> CmdletError {
    CmdletError::invalid_operation(message).with_target(format!("PersistentChatServer:{fqdn}"))
}

/// Record a pool's mark (?1 pool, ?2 seq, ?3 generation) in a copy.
const SET_COPY_MARK: &str = "INSERT INTO {db}.pool_sync(pool, seq, generation) VALUES (?1, ?2, ?3)
     ON CONFLICT(pool) DO UPDATE SET seq = excluded.seq, generation = excluded.generation";

impl Store {
    /// The pool's mark in the central database.
    /// On PostgreSQL read once per transaction (`Store::kept_pool_mark`).
    pub fn pool_mark(&self, fqdn: &str) -> db::Result<Mark> {
        if let Some(mark) = self.kept_pool_mark(fqdn) {
            return Ok(mark);
        }
        let mark: Option<(i64, Option<i64>)> = self
            .db()
            .prepare_cached("SELECT generation, seq FROM pools WHERE fqdn = ?1 COLLATE NOCASE")?
            .query_row([fqdn], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?;
        let mark = mark.map(|(g, s)| (g, s.unwrap_or(0))).unwrap_or((1, 0));
        self.keep_pool_mark(fqdn, Some(mark));
        Ok(mark)
    }

    /// The mark a copy holds for a pool; a copy the pool never wrote to holds the first one.
    pub fn copy_mark(&self, schema: &str, fqdn: &str) -> db::Result<Mark> {
        // PostgreSQL: read as the copy's session joins the transaction, when it joins here.
        if let Some(mark) = self.join_copy_reading_mark(schema, fqdn)? {
            return Ok(mark);
        }
        self.route(Target::Copy(schema), "SELECT generation, seq FROM {db}.pool_sync WHERE pool = ?1 COLLATE NOCASE")
            .prepare_cached()?
            .query_row([fqdn], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
            .map(|m| m.unwrap_or((1, 0)))
    }

    /// Record `mark` as the pool's and as held by each of `copies`.
    pub(crate) fn set_marks(&self, fqdn: &str, mark: Mark, copies: &[&str]) -> db::Result<()> {
        // Before the writes: the item of a failed one is rolled back, which makes the note a
        // question for `commit_intent` to read.
        self.note_marks_set(fqdn, mark, copies);
        // Forgotten first: a failed update leaves nothing kept.
        self.keep_pool_mark(fqdn, None);
        let updated = self.db().prepare_cached(SET_POOL_MARK)?.execute(params![fqdn, mark.0, mark.1])?;
        // No row: `pool_mark` reads (and answers) the first mark, as before.
        self.keep_pool_mark(fqdn, (updated == 1).then_some(mark));
        for schema in copies {
            self.route(Target::Copy(schema), SET_COPY_MARK).prepare_cached()?.execute(params![fqdn, mark.1, mark.0])?;
        }
        Ok(())
    }

    /// A copy of a pool: attached with its mark, or why not.
    pub fn copy_state(&self, instance: &str, fqdn: &str) -> db::Result<CopyState> {
        if !self.verified_in_transaction(instance) {
            if !self.checked_at_begin(instance) && self.attached_file_changed(instance) {
                return Ok(CopyState::Unavailable("its file was replaced or deleted while in use".into()));
            }
            self.note_verified(instance);
        }
        Ok(match self.pool_schema(instance) {
            Some(schema) => {
                self.lock_copy(&schema)?;
                let mark = self.copy_mark(&schema, fqdn)?;
                CopyState::Ready { schema, mark }
            }
            None => CopyState::Unavailable(self.unavailable_reason(instance).unwrap_or_else(|| "not attached".into())),
        })
    }

    /// SQLite's integrity check of one attached schema (the source of every copy must pass it).
    ///
    /// PostgreSQL: the server guards its own pages (WAL, and data checksums where the cluster has
    /// them on), so there is no `quick_check` to run. That the copy is the pool database the store
    /// records, at the current pool schema, was checked when its session opened on the SQL
    /// instance's `Connection` (`open_pool_session`: anything else is Unavailable before this is
    /// asked; identity rows, checked there too, are to come). What is left is that the copy
    /// answers now: its session is alive and its `pool_sync` reads.
    pub fn integrity(&self, schema: &str) -> Result<(), String> {
        if self.is_postgres() {
            return self
                .route(Target::Copy(schema), "SELECT count(*) FROM {db}.pool_sync")
                .query_row((), |r| r.get::<i64>(0))
                .map(drop)
                .map_err(|e| e.to_string());
        }
        let rows: db::Result<Vec<String>> = self
            .route(Target::Copy(schema), "PRAGMA {db}.quick_check")
            .prepare()
            .and_then(|mut s| s.query_map((), |r| r.get(0))?.collect());
        match rows {
            Ok(r) if r.len() == 1 && r[0] == "ok" => Ok(()),
            Ok(r) => Err(r.into_iter().take(3).collect::<Vec<_>>().join("; ")),
            Err(e) => Err(e.to_string()),
        }
    }

    /// `copy_state`, with a PostgreSQL copy that only looks behind the pool's mark told apart
    /// (`Store::why_behind`): a change being completed there is a retryable race, and after a
    /// dead writer's branches were resolved the copy is read again.
    fn settled_state(&self, instance: &str, fqdn: &str, mark: Mark) -> CmdletResult<CopyState> {
        let state = self.copy_state(instance, fqdn)?;
        if let CopyState::Ready { schema, mark: held } = &state
            && self.is_postgres()
            && *held < mark
        {
            match self.why_behind(schema)? {
                Behind::Transient(e) => return Err(e),
                Behind::Recovered => return Ok(self.copy_state(instance, fqdn)?),
                Behind::Truly => {}
            }
        }
        Ok(state)
    }

    fn require_locked(&self) -> CmdletResult<()> {
        if self.is_locked() {
            Ok(())
        } else {
            Err(CmdletError::invalid_operation("internal: a pool's copies can only be changed under the write lock"))
        }
    }

    /// Normal → FailedOver: the backup serves the pool from now on. The backup must hold the
    /// pool's mark and pass the integrity check; the primary may be anything (losing it is what
    /// fail-over is for).
    pub fn fail_over(&self, pool: &PoolRow) -> CmdletResult<()> {
        self.require_locked()?;
        self.exclude_writers()?;
        let fqdn = &pool.fqdn;
        let (Some(primary), Some(backup)) = (&pool.database, &pool.backup_database) else {
            return Err(refused(
                format!("pool '{fqdn}' has no BackupDatabase in the topology, so it cannot fail over"),
                fqdn,
            ));
        };
        let mark = self.pool_mark(fqdn)?;
        let schema = match self.settled_state(backup, fqdn, mark)? {
            CopyState::Unavailable(why) => {
                return Err(refused(
                    format!(
                        "the backup database {backup} of pool '{fqdn}' is unavailable ({why}); there is nothing to fail over to"
                    ),
                    fqdn,
                ));
            }
            CopyState::Ready { mark: held, .. } if held != mark => {
                let primary_good =
                    matches!(self.settled_state(primary, fqdn, mark)?, CopyState::Ready { mark: m, .. } if m == mark);
                let way = if primary_good {
                    format!("bring it up to date from the primary first: {}", repair_call(fqdn, Side::Primary))
                } else {
                    format!("neither copy holds it; see {}", repair_call(fqdn, Side::Backup))
                };
                return Err(refused(
                    format!(
                        "the backup database {backup} of pool '{fqdn}' holds {} but the pool is at {}: failing over would lose changes; {way}",
                        describe(held),
                        describe(mark)
                    ),
                    fqdn,
                ));
            }
            CopyState::Ready { schema, .. } => schema,
        };
        if let Err(why) = self.integrity(&schema) {
            return Err(refused(
                format!("the backup database {backup} of pool '{fqdn}' is damaged ({why}); it cannot serve the pool"),
                fqdn,
            ));
        }
        fault::point("failover:checked");
        let next = (mark.0 + 1, mark.1);
        self.set_pool_state(fqdn, PoolState::FailedOver)?;
        self.set_marks(fqdn, next, &[&schema])?;
        fault::point("failover:written");
        Ok(())
    }

    /// FailedOver → Normal: the primary is brought up to date from the backup (which must hold
    /// the pool's mark and pass the integrity check) when it is behind, then serves the pool
    /// again. A primary holding the pool's last change is not copied over.
    pub fn fail_back(&self, pool: &PoolRow) -> CmdletResult<()> {
        self.require_locked()?;
        self.exclude_writers()?;
        let fqdn = &pool.fqdn;
        let (Some(primary), Some(backup)) = (&pool.database, &pool.backup_database) else {
            return Err(refused(format!("pool '{fqdn}' has no BackupDatabase in the topology"), fqdn));
        };
        let mark = self.pool_mark(fqdn)?;
        let from = match self.settled_state(backup, fqdn, mark)? {
            CopyState::Ready { schema, mark: held } if held == mark => schema,
            CopyState::Ready { mark: held, .. } => {
                return Err(refused(
                    format!(
                        "the backup database {backup} serving pool '{fqdn}' holds {} but the pool is at {}; see {}",
                        describe(held),
                        describe(mark),
                        repair_call(fqdn, Side::Backup)
                    ),
                    fqdn,
                ));
            }
            CopyState::Unavailable(why) if why.contains(super::SERVER_SILENT) => {
                return Err(refused(
                    format!(
                        "the backup database {backup} serving pool '{fqdn}' is unavailable ({why}); bring its server back, then fail back: it holds the changes made while failed over"
                    ),
                    fqdn,
                ));
            }
            CopyState::Unavailable(why) => {
                return Err(refused(
                    format!(
                        "the backup database {backup} serving pool '{fqdn}' is unavailable ({why}); to return to the primary as it is: {}",
                        self.rebuild_advice(backup, &why, repair_call(fqdn, Side::Primary))
                    ),
                    fqdn,
                ));
            }
        };
        let (to, primary_mark) = match self.copy_state(primary, fqdn)? {
            CopyState::Ready { schema, mark: held } if held.1 <= mark.1 => (schema, held),
            CopyState::Ready { mark: held, .. } => {
                return Err(refused(
                    format!(
                        "the primary database {primary} of pool '{fqdn}' holds {}, later than the pool's {}; nothing is copied over it (see help for Repair-CsPersistentChatDatabase)",
                        describe(held),
                        describe(mark)
                    ),
                    fqdn,
                ));
            }
            // A server that does not answer says nothing of its database: a repair could not
            // reach it either, and an intact database needs none once the server is back.
            CopyState::Unavailable(why) if why.contains(super::SERVER_SILENT) => {
                return Err(refused(
                    format!(
                        "the primary database {primary} of pool '{fqdn}' is unavailable ({why}); bring its server back, then fail back (a database that is intact needs no repair); if that server is lost for good, give the SQL instance another Connection in the topology (an empty database) and repair it from the backup with {}",
                        repair_call(fqdn, Side::Backup)
                    ),
                    fqdn,
                ));
            }
            // A database that does not exist (its server answers) is to be created first: a
            // repair fills an empty database only.
            CopyState::Unavailable(why) => {
                let repair = format!("rebuild it from the backup with {}", repair_call(fqdn, Side::Backup));
                return Err(refused(
                    format!(
                        "the primary database {primary} of pool '{fqdn}' is unavailable ({why}); {}, then fail back",
                        self.rebuild_advice(primary, &why, repair)
                    ),
                    fqdn,
                ));
            }
        };
        if let Err(why) = self.integrity(&from) {
            return Err(refused(
                format!("the backup database {backup} of pool '{fqdn}' is damaged ({why}); nothing is copied from it"),
                fqdn,
            ));
        }
        // The primary holds the pool's last change when the fail-over left it untouched (nothing
        // changed since) or a repair made it equal to the backup: the change counter is never
        // reused (a forced repair moves it past every change seen), so it holds the backup's data
        // and is left exactly as it is. Copying would put over it whatever happened to the backup
        // behind pchat's back (rows deleted there), and lose it from both copies.
        // Not copied over, it serves as it is: one that fails the integrity check is refused
        // (copying into its damaged pages fails, or leaves them).
        let copy = primary_mark.1 != mark.1;
        if !copy && let Err(why) = self.integrity(&to) {
            return Err(refused(
                format!(
                    "the primary database {primary} of pool '{fqdn}' is damaged ({why}); rebuild it from the backup with {}, then fail back",
                    repair_call(fqdn, Side::Backup)
                ),
                fqdn,
            ));
        }
        fault::point("failback:checked");
        if copy {
            self.copy_pool(fqdn, &from, &to)?;
        }
        fault::point("failback:copied");
        self.set_pool_state(fqdn, PoolState::Normal)?;
        self.set_marks(fqdn, (mark.0 + 1, mark.1), &[&from, &to])?;
        fault::point("failback:written");
        Ok(())
    }
}

impl Store {
    /// The copies of a pool that hold changes no other copy holds, with why: the backup serving a
    /// failed-over pool, and any copy whose mark is ahead of the pool's other copy (or whose
    /// other copy is unusable). A topology may not drop or move them (Publish-CsTopology).
    pub fn copies_that_must_stay(&self, pool: &PoolRow) -> CmdletResult<Vec<(Side, String, String)>> {
        let fqdn = &pool.fqdn;
        let (Some(primary), Some(backup)) = (&pool.database, &pool.backup_database) else { return Ok(Vec::new()) };
        let held = |instance: &str| -> CmdletResult<Option<Mark>> {
            Ok(match self.copy_state(instance, fqdn)? {
                CopyState::Ready { mark, .. } => Some(mark),
                CopyState::Unavailable(_) => None,
            })
        };
        let (p, b) = (held(primary)?, held(backup)?);
        let mut out = Vec::new();
        for (side, instance, mine, other) in [(Side::Primary, primary, p, b), (Side::Backup, backup, b, p)] {
            let Some(mine) = mine else { continue };
            let why = if side == Side::Backup && pool.state == PoolState::FailedOver {
                format!("it serves the failed-over pool and holds its {}", describe(mine))
            } else if other.is_none_or(|o| mine.1 > o.1) {
                let than = other
                    .map(|o| format!("the other copy holds {}", describe(o)))
                    .unwrap_or_else(|| "the other copy is unavailable".into());
                format!("it holds {} and {than}", describe(mine))
            } else {
                continue;
            };
            out.push((side, instance.clone(), why));
        }
        Ok(out)
    }
}

/// What a repair found under the lock, and what it will do.
#[derive(Debug, Clone)]
pub struct RepairPlan {
    pub source: Side,
    pub source_instance: String,
    pub target_instance: String,
    source_schema: String,
    source_mark: Mark,
    /// The target's schema when it is attached and intact (rebuilt in place), else why not
    /// (a new file replaces it).
    target: Result<(String, Mark), String>,
    pool_mark: Mark,
    /// What the repair gives up (needs Force).
    pub losses: Vec<String>,
    /// What it drops that no command was ever told had been done.
    pub notes: Vec<String>,
}

impl RepairPlan {
    /// One line for WhatIf and the confirmation prompt.
    pub fn summary(&self) -> String {
        let how = match &self.target {
            Ok(_) => "bring",
            Err(_) => "rebuild",
        };
        format!(
            "{how} {} from {} ({}), then serve the pool from {}",
            self.target_instance,
            self.source_instance,
            describe(self.source_mark),
            self.source_instance
        )
    }
}

impl Store {
    /// Check a repair of `pool` from its `source` copy, under the write lock.
    pub fn plan_repair(&self, pool: &PoolRow, source: Side) -> CmdletResult<RepairPlan> {
        self.require_locked()?;
        self.exclude_writers()?;
        let fqdn = &pool.fqdn;
        let (Some(primary), Some(backup)) = (&pool.database, &pool.backup_database) else {
            return Err(refused(
                format!(
                    "pool '{fqdn}' has no BackupDatabase in the topology: there is no second copy to repair from or to"
                ),
                fqdn,
            ));
        };
        let (from, to) = match source {
            Side::Primary => (primary, backup),
            Side::Backup => (backup, primary),
        };
        let other = if source == Side::Primary { Side::Backup } else { Side::Primary };
        let pool_mark = self.pool_mark(fqdn)?;
        let (source_schema, source_mark) = match self.settled_state(from, fqdn, pool_mark)? {
            CopyState::Ready { schema, mark } => (schema, mark),
            CopyState::Unavailable(why) if why.contains(super::SERVER_SILENT) => {
                return Err(refused(
                    format!(
                        "the {} database {from} of pool '{fqdn}' cannot be the source: {why}; bring its server back, then repair again",
                        source.name().to_lowercase(),
                    ),
                    fqdn,
                ));
            }
            CopyState::Unavailable(why) => {
                return Err(refused(
                    format!(
                        "the {} database {from} of pool '{fqdn}' cannot be the source: {why}; repair from the other copy: {}",
                        source.name().to_lowercase(),
                        repair_call(fqdn, other)
                    ),
                    fqdn,
                ));
            }
        };
        if let Err(why) = self.integrity(&source_schema) {
            return Err(refused(
                format!(
                    "the {} database {from} of pool '{fqdn}' fails the integrity check ({why}); it cannot be the source: {}",
                    source.name().to_lowercase(),
                    repair_call(fqdn, other)
                ),
                fqdn,
            ));
        }
        let target = match self.copy_state(to, fqdn)? {
            CopyState::Ready { schema, mark } => match self.integrity(&schema) {
                Ok(()) => Ok((schema, mark)),
                Err(why) => Err(format!("it fails the integrity check ({why})")),
            },
            CopyState::Unavailable(why) if why.contains(super::WRITTEN_BY_NEWER) => {
                return Err(refused(
                    format!(
                        "the {} database {to} of pool '{fqdn}' cannot be repaired by this pchat: {why}",
                        other.name().to_lowercase()
                    ),
                    fqdn,
                ));
            }
            CopyState::Unavailable(why) => Err(why),
        };
        // PostgreSQL has no file to build and swap in: an unusable target can only be an empty
        // database, which the repair makes a pool database (`prepare_empty_pool_database`).
        if let Err(why) = &target
            && self.is_postgres()
            && let Err(not) = self.check_empty_pool_database(to)
        {
            return Err(refused(
                format!(
                    "the {} database {to} of pool '{fqdn}' is unusable ({why}) and cannot be rebuilt: {not}; nothing was changed",
                    other.name().to_lowercase()
                ),
                fqdn,
            ));
        }
        // Change counters only grow along the pool's history, and a repair that drops changes
        // continues above every counter seen (see `repair`): a copy with a higher counter holds
        // changes the source lacks.
        let mut losses = Vec::new();
        let mut notes = Vec::new();
        match &target {
            Ok((_, held)) if held.1 > source_mark.1 => losses.push(format!(
                "{to} holds {}, later than the source's {}: the changes after the source's would be lost",
                describe(*held),
                describe(source_mark)
            )),
            Err(_) if pool_mark.1 > source_mark.1 => losses.push(format!(
                "the pool is at {} but the source holds {}: the changes after it, held only by {to}, would be lost",
                describe(pool_mark),
                describe(source_mark)
            )),
            // A change commits to the central database and to each copy in turn, so a process
            // killed in between leaves the pool's mark one change ahead of both copies, in the
            // same generation: that change was never reported done and may be dropped. Anything
            // more (or a gap across generations) was reported done to someone: the copies were
            // restored from older files, and only Force gives those changes up.
            _ if pool_mark.1 == source_mark.1 + 1 && pool_mark.0 == source_mark.0 => notes.push(format!(
                "the pool recorded {} but neither copy holds more than {}: the missing change was interrupted before it was reported done, and is dropped",
                describe(pool_mark),
                describe(source_mark)
            )),
            _ if pool_mark.1 > source_mark.1 => losses.push(format!(
                "the pool is at {} but neither copy holds more than {}: changes {} to {} ({} changes, each reported done) are in neither copy and would be lost; the copies look restored from older {}",
                describe(pool_mark),
                describe(source_mark),
                source_mark.1 + 1,
                pool_mark.1,
                pool_mark.1 - source_mark.1,
                if self.is_postgres() { "backups" } else { "files" }
            )),
            _ => {}
        }
        Ok(RepairPlan {
            source,
            source_instance: from.clone(),
            target_instance: to.clone(),
            source_schema,
            source_mark,
            target,
            pool_mark,
            losses,
            notes,
        })
    }

    /// Carry out a checked repair (same transaction as `plan_repair`): the target copy of the
    /// pool becomes the source's, in place when the target file is intact, else in a new file
    /// that replaces it (the old one is kept aside). The pool is then served from the source.
    /// Returns notes for the caller to show.
    pub fn repair(&self, pool: &PoolRow, plan: &RepairPlan) -> CmdletResult<Vec<String>> {
        self.require_locked()?;
        self.exclude_writers()?;
        let fqdn = &pool.fqdn;
        let mut notes = Vec::new();
        let target_mark = plan.target.as_ref().map(|(_, m)| *m).unwrap_or((0, 0));
        let generation = plan.pool_mark.0.max(plan.source_mark.0).max(target_mark.0) + 1;
        // Dropping changes moves the counter above every one seen, so that no copy of the
        // dropped history can ever pass for the new one.
        let top = plan.pool_mark.1.max(target_mark.1);
        let next = (generation, if top > plan.source_mark.1 { top + 1 } else { plan.source_mark.1 });
        let state = if plan.source == Side::Primary { PoolState::Normal } else { PoolState::FailedOver };
        match &plan.target {
            Ok((schema, _)) => {
                fault::point("repair:checked");
                self.copy_pool(fqdn, &plan.source_schema, schema)?;
                fault::point("repair:copied");
                self.set_pool_state(fqdn, state)?;
                self.set_marks(fqdn, next, &[&plan.source_schema, schema])?;
            }
            Err(why) if self.is_postgres() => {
                fault::point("repair:checked");
                let made = self.prepare_empty_pool_database(&plan.target_instance).map_err(|e| {
                    refused(
                        format!("cannot rebuild {} of pool '{fqdn}': {e}; nothing was changed", plan.target_instance),
                        fqdn,
                    )
                })?;
                self.copy_pool(fqdn, &plan.source_schema, &made)?;
                fault::point("repair:copied");
                notes.push(format!(
                    "{} was unusable ({why}); the pool schema was made in its empty database and filled from {}",
                    plan.target_instance, plan.source_instance
                ));
                self.set_pool_state(fqdn, state)?;
                self.set_marks(fqdn, next, &[&plan.source_schema, &made])?;
                notes.extend(self.copies_of_other_pools(fqdn, &plan.target_instance)?);
            }
            Err(why) => {
                fault::point("repair:checked");
                let aside = self.rebuild_file(fqdn, plan, next).map_err(|e| {
                    refused(format!("cannot rebuild {} of pool '{fqdn}': {e:#}", plan.target_instance), fqdn)
                })?;
                notes.push(format!(
                    "{} was unusable ({why}); it was rebuilt in a new file{}",
                    plan.target_instance,
                    aside.map(|a| format!(", the old one is kept as {}", a.display())).unwrap_or_default()
                ));
                self.set_pool_state(fqdn, state)?;
                self.set_marks(fqdn, next, &[&plan.source_schema])?;
                notes.extend(self.copies_of_other_pools(fqdn, &plan.target_instance)?);
            }
        }
        fault::point("repair:written");
        Ok(notes)
    }

    /// The other pools that kept a copy in `instance`, which a rebuilt one does not hold: how to
    /// rebuild each.
    fn copies_of_other_pools(&self, fqdn: &str, instance: &str) -> CmdletResult<Vec<String>> {
        let mut notes = Vec::new();
        for other in self.pools()?.iter().filter(|p| p.is_pchat && !p.fqdn.eq_ignore_ascii_case(fqdn)) {
            for (side, kept) in [(Side::Backup, &other.database), (Side::Primary, &other.backup_database)] {
                if kept.as_deref().is_some_and(|i| i.eq_ignore_ascii_case(instance)) {
                    let what = if self.is_postgres() { "the rebuilt database" } else { "the new file" };
                    notes.push(format!(
                        "pool '{}' also kept a copy in {instance}, which {what} does not hold: {}",
                        other.fqdn,
                        repair_call(&other.fqdn, side)
                    ));
                }
            }
        }
        Ok(notes)
    }

    /// Build the target's new file beside it from the source file, then put it in place (the
    /// old file, if any, moved aside). Its identity is recorded in this transaction: should the
    /// transaction not commit, the new file is not the recorded one and a repair starts again.
    fn rebuild_file(&self, fqdn: &str, plan: &RepairPlan, next: Mark) -> anyhow::Result<Option<std::path::PathBuf>> {
        use anyhow::Context;
        let path = self.pool_file_path(&plan.target_instance)?.context("the SQL instance has no file")?;
        let source = self.pool_file_path(&plan.source_instance)?.context("the SQL instance has no file")?;
        // The file in the way may be another store's (two stores in one folder name their files
        // alike): it is not this repair's to move aside.
        let owner = self.pool_file_owner()?;
        if let Ok(found) = super::pool_files::inspect(&path) {
            if let Some(other) = found.other_store(Some(&owner.id)) {
                anyhow::bail!("{}", super::pool_files::belongs_to(&path, other));
            }
            let recorded: Option<String> = self.db().query_row(
                "SELECT file_id FROM sql_instances WHERE identity = ?1 COLLATE NOCASE",
                [&plan.target_instance],
                |r| r.get(0),
            )?;
            if found.owner.is_none() && recorded.as_deref().is_some_and(|r| r != found.id) {
                anyhow::bail!(
                    "the file {} is a pool database that this store did not record and that names no store (made by an earlier pchat): it may be another store's, so it is not moved aside; move it away yourself if no store uses it, or give the SQL instance another File in the topology",
                    path.display()
                );
            }
        }
        let building = std::path::PathBuf::from(format!("{}.rebuilding", path.display()));
        // Left by a repair that was stopped: never served, only ever written by a repair.
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
        }
        let id = super::pool_files::create(&building, &owner)?;
        {
            let db = db::Db::open_sqlite_rw(&building)?;
            db.execute_batch("PRAGMA foreign_keys = ON")?;
            let mut uri = super::pool_files::uri_rw(&source);
            uri.truncate(uri.len() - "rw".len());
            uri.push_str("ro");
            db.execute("ATTACH DATABASE ?1 AS src", [uri])?;
            db.execute_batch("BEGIN IMMEDIATE")?;
            // On this connection the new file is `main` and the source is attached as `src`.
            let (source, built) = (Target::Copy("src"), Target::Copy("main"));
            super::pool_data::copy_pool_with(&db, fqdn, source, built)?;
            route(&db, built, SET_COPY_MARK).execute(params![fqdn, next.1, next.0])?;
            db.execute_batch("COMMIT; DETACH DATABASE src;")?;
            db.query_row("PRAGMA wal_checkpoint(TRUNCATE)", (), |_| Ok(()))?;
        }
        fault::point("repair:built");
        let aside = super::pool_files::set_aside(&path)?;
        if let Err(e) = std::fs::rename(&building, &path) {
            let back = aside.as_ref().map(|a| std::fs::rename(a, &path));
            anyhow::bail!(
                "cannot put the new {} in place ({e}); {}",
                path.display(),
                match (&aside, back) {
                    (Some(_), Some(Ok(()))) => "the previous file was moved back".to_string(),
                    (Some(a), _) => format!("the previous file is kept as {}: move it back by hand", a.display()),
                    (None, _) => "there was no file before".to_string(),
                }
            );
        }
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
        }
        // Until the transaction commits, the files are put back should it not (`Store::rollback`).
        self.rebuilt.borrow_mut().push(super::pool_files::Swap {
            path: path.clone(),
            aside: aside.clone(),
            id: id.clone(),
        });
        fault::point("repair:renamed");
        self.db().execute(
            "UPDATE sql_instances SET file_id = ?2 WHERE identity = ?1 COLLATE NOCASE",
            params![plan.target_instance, id],
        )?;
        Ok(aside)
    }
}
