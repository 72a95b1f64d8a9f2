//! One change committed in the central database and every copy of a pool's data (primary and backup in
//! Normal state, the backup alone when failed over), or in none, with PostgreSQL's two-phase commit
//! (docs/design/postgres-port.md, "Two-phase commit").
//!
//! * A change has a transaction id `T` (a UUID). Copy `i` is prepared as `pchat:T:i`: one gid per copy,
//!   because several copies may live in one cluster, where gids are unique.
//! * The central database is the last agent, never prepared: after every copy is prepared, the central
//!   transaction (with the change's own central rows: audit, marks) inserts `T` into
//!   `pchat_twophase_decisions` and commits. That commit is the commit point. Copies follow it: committed when
//!   the row exists, rolled back when it does not (presumed abort). The decision lives apart from the copies,
//!   so a copy's in-doubt branch can be resolved with the other copy's server gone.
//! * The coordinator holds a session advisory lock on `T` in the central database from before the first
//!   PREPARE until it is done, and commits the decision on that session. A prepared `pchat:` branch whose lock
//!   can be taken has no live coordinator, so recovery may resolve it; a coordinator that lost its session
//!   (and with it the lock) can no longer decide.
//! * Recovery runs on open and when a writer times out on a lock held by a prepared branch.
//!
//! The steps (`new_locked_txid`, `complete`, `undo`, `recover`) are written once over `Agent`, a
//! session of the protocol: the `Coordinator` below runs them on raw `postgres::Client`s, the store
//! (store/sessions.rs, `commit_prepared`) on its `Db` sessions.

use std::time::Duration;

use postgres::Client;
use postgres::error::SqlState;
use postgres::types::ToSql;
use uuid::Uuid;

use crate::store::db::{Db, DbError, ErrorKind, OptionalExtension};

/// Where commit decisions are recorded, in the central database.
pub(crate) const DECISIONS_DDL: &str = "CREATE TABLE IF NOT EXISTS pchat_twophase_decisions (
    txid text PRIMARY KEY,
    decided_at timestamptz NOT NULL DEFAULT now()
)";

/// Prefix of every gid pchat prepares; recovery touches no other prepared transaction.
pub(super) const GID_PREFIX: &str = "pchat:";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isolation {
    /// Each statement sees the latest committed rows; a change locks its object first
    /// (`SELECT … FOR UPDATE`) so concurrent read-modify-writes queue instead of failing.
    ReadCommitted,
    /// PostgreSQL detects every anomaly and fails one side with 40001, which `transact` retries.
    Serializable,
}

/// The points of the protocol where a fault can stop the coordinator (tests; `PCHAT_FAULT=pg-2pc-…:kill`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// The first copy is prepared, the others not yet.
    PreparedFirst,
    /// Every copy is prepared; the central transaction is still open.
    PreparedAll,
    /// The central transaction, with the decision, is committed.
    Decided,
    /// The first copy's branch is committed, the others not yet.
    CommittedFirst,
}

impl Step {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Step::PreparedFirst => "pg-2pc-prepared-first",
            Step::PreparedAll => "pg-2pc-prepared-all",
            Step::Decided => "pg-2pc-decided",
            Step::CommittedFirst => "pg-2pc-committed-first",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TwoPhaseError {
    /// A fault hook stopped the coordinator as a crash would: no cleanup was done.
    #[error("stopped at fault point {}", .0.name())]
    Died(Step),
    /// The decision is committed (so is the change), but a copy's branch could not be committed now;
    /// recovery commits it on the next open or when a writer meets its locks.
    #[error("the change is committed, but completing it in copy {copy} failed (it completes on next open): {source}")]
    CommittedIncomplete { copy: usize, source: postgres::Error },
    /// The central session was lost while committing the decision: whether it committed is unknown here,
    /// and recovery (which reads it) decides.
    #[error(
        "the connection to the central database was lost while committing; the outcome is decided on next open: {0}"
    )]
    InDoubt(postgres::Error),
    #[error("the copies disagree: a write changed {0:?} rows in them")]
    Diverged(Vec<u64>),
    #[error("gave up after {attempts} attempts on concurrent changes: {source}")]
    Exhausted { attempts: u32, source: postgres::Error },
}

/// One session taking part in the protocol: the coordinator's raw `postgres::Client`s, and the
/// store's `Db` sessions (store/sessions.rs), so that both run the same steps below. Values are
/// spelt into the texts: gids, transaction ids and lock keys are pchat's own (hex and digits).
pub(crate) trait Agent {
    type Error: std::error::Error + 'static;
    /// Statements without rows.
    fn run(&mut self, sql: &str) -> Result<(), Self::Error>;
    /// Whether the query returns a row.
    fn ask(&mut self, sql: &str) -> Result<bool, Self::Error>;
    /// The first column (text) of each row.
    fn texts(&mut self, sql: &str) -> Result<Vec<String>, Self::Error>;
    /// `pg_try_advisory_lock(key)` on this session: whether it took the lock.
    fn try_lock(&mut self, key: i64) -> Result<bool, Self::Error>;
    /// `PREPARE TRANSACTION`: the session's transaction becomes the prepared branch `gid`.
    fn prepare(&mut self, gid: &str) -> Result<(), Self::Error>;
    /// Run `last` (statements without rows) and commit the open transaction (the central one:
    /// the commit point), in one round trip. A failure ends the transaction; `lost` tells
    /// whether the COMMIT may have run.
    fn commit_with(&mut self, last: &str) -> Result<(), Self::Error>;
    /// Roll back the open transaction, if any; best effort (undo and lost sessions).
    fn end(&mut self);
    /// `COMMIT PREPARED` or `ROLLBACK PREPARED`; false when no such branch is prepared (another
    /// recoverer resolved it first).
    fn finish_prepared(&mut self, gid: &str, commit: bool) -> Result<bool, Self::Error>;
    /// Whether the failure is the session's loss (no answer): what the statement did is unknown.
    fn lost(e: &Self::Error) -> bool;
}

impl Agent for Client {
    type Error = postgres::Error;

    fn run(&mut self, sql: &str) -> Result<(), postgres::Error> {
        self.batch_execute(sql)
    }

    fn ask(&mut self, sql: &str) -> Result<bool, postgres::Error> {
        Ok(self.query_opt(sql, &[])?.is_some())
    }

    fn texts(&mut self, sql: &str) -> Result<Vec<String>, postgres::Error> {
        Ok(self.query(sql, &[])?.iter().map(|r| r.get(0)).collect())
    }

    fn try_lock(&mut self, key: i64) -> Result<bool, postgres::Error> {
        self.ask(&format!("SELECT 1 WHERE pg_try_advisory_lock({key})"))
    }

    fn prepare(&mut self, gid: &str) -> Result<(), postgres::Error> {
        self.batch_execute(&format!("PREPARE TRANSACTION '{gid}'"))
    }

    fn commit_with(&mut self, last: &str) -> Result<(), postgres::Error> {
        // A failure leaves the transaction aborted or ended; `undo` rolls back what is left.
        self.batch_execute(&format!("{last}; COMMIT"))
    }

    fn end(&mut self) {
        // A warning when no transaction is open (the remains of a failed PREPARE, say).
        let _ = self.batch_execute("ROLLBACK");
    }

    fn finish_prepared(&mut self, gid: &str, commit: bool) -> Result<bool, postgres::Error> {
        match self.batch_execute(&finish_prepared_sql(gid, commit)) {
            Ok(()) => Ok(true),
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_OBJECT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    fn lost(e: &postgres::Error) -> bool {
        e.as_db_error().is_none()
    }
}

fn finish_prepared_sql(gid: &str, commit: bool) -> String {
    format!("{} PREPARED '{gid}'", if commit { "COMMIT" } else { "ROLLBACK" })
}

/// The store's sessions (store/sessions.rs), whose `Db` tracks its transaction: PREPARE goes
/// through it, so that the session knows it is outside a transaction after.
impl Agent for &Db {
    type Error = DbError;

    fn run(&mut self, sql: &str) -> Result<(), DbError> {
        self.execute_batch(sql)
    }

    fn ask(&mut self, sql: &str) -> Result<bool, DbError> {
        Ok(self.query_row(sql, (), |_| Ok(())).optional()?.is_some())
    }

    fn texts(&mut self, sql: &str) -> Result<Vec<String>, DbError> {
        self.query_map(sql, (), |r| r.get(0))
    }

    /// One text for every key, kept prepared: the key spelt into the text made every change
    /// parse a new statement first, a round trip of its own (design notes §5 step 8).
    fn try_lock(&mut self, key: i64) -> Result<bool, DbError> {
        self.prepare_cached("SELECT pg_try_advisory_lock(?1)")?.query_row([key], |r| r.get(0))
    }

    fn prepare(&mut self, gid: &str) -> Result<(), DbError> {
        self.prepare_transaction(gid)
    }

    fn commit_with(&mut self, last: &str) -> Result<(), DbError> {
        Db::commit_with(self, last)
    }

    fn end(&mut self) {
        if !self.is_autocommit() {
            let _ = self.rollback();
        }
    }

    fn finish_prepared(&mut self, gid: &str, commit: bool) -> Result<bool, DbError> {
        Db::finish_prepared(self, gid, commit)
    }

    /// No SQLSTATE, or a connection failure's: the session is gone.
    fn lost(e: &DbError) -> bool {
        e.kind() == ErrorKind::Unavailable
    }
}

/// How the protocol stopped short of a complete commit.
#[derive(Debug)]
pub(crate) enum Failure<E> {
    /// Before the decision: nothing is committed anywhere. The caller undoes it (`undo`), the
    /// first `prepared` copies being prepared branches.
    Undecided { source: E, prepared: usize },
    /// A fault point stopped it as a crash would (tests).
    Died(Step),
    /// The central session was lost during the commit point: the decision may or may not have
    /// committed, so nothing is undone; recovery decides from what the central database holds.
    InDoubt(E),
    /// The decision is committed, so the change is; copy `copy`'s branch could not be committed
    /// now (the others were), and recovery commits it.
    Incomplete { copy: usize, source: E },
}

/// A new transaction id whose advisory lock this central session now holds: who holds it is the
/// only one who may decide (recovery waits for the lock). Another id hashing to the same key is
/// held by someone else: draw again.
pub(crate) fn new_locked_txid<A: Agent>(central: &mut A) -> Result<Uuid, A::Error> {
    loop {
        let txid = Uuid::new_v4();
        if central.try_lock(lock_key(&txid))? {
            return Ok(txid);
        }
    }
}

/// Release the transaction id's lock; a lost session has released it already.
pub(crate) fn unlock<A: Agent>(central: &mut A, txid: &Uuid) {
    let _ = central.run(&unlock_sql(txid));
}

pub(crate) fn unlock_sql(txid: &Uuid) -> String {
    format!("SELECT pg_advisory_unlock({})", lock_key(txid))
}

/// The decision of a change whose every branch is committed is needed no more: deleting it (or
/// losing the delete) leaves nothing to resolve, since no prepared branch names it.
pub(crate) fn forget_sql(txid: &Uuid) -> String {
    format!("DELETE FROM pchat_twophase_decisions WHERE txid = '{txid}'")
}

/// After `complete` succeeded: delete the decision and release the lock, in one round trip
/// (outside a transaction). The store's sessions release the lock at once and defer the DELETE
/// to the next write instead (store/sessions.rs, `Sessions::forget`).
pub(crate) fn forget_and_unlock<A: Agent>(central: &mut A, txid: &Uuid) {
    let _ = central.run(&format!("{}; {}", forget_sql(txid), unlock_sql(txid)));
}

/// Everything after the change's statements, with `txid` locked on `central` and a transaction
/// open on it and on every copy: prepare each copy in order (the serving one first), commit the
/// decision with the central transaction (the commit point, one round trip for both), then
/// commit each prepared branch. The decision row is left for the caller to delete, with the
/// lock (`forget_and_unlock`, or later with another statement). `stop` is the tests' crash at a
/// step (`Failure::Died`); the fault points of `crate::fault` are reached whatever it says.
pub(crate) fn complete<A: Agent>(
    central: &mut A,
    copies: &mut [A],
    txid: &Uuid,
    last: Option<&str>,
    stop: &dyn Fn(Step) -> bool,
) -> Result<(), Failure<A::Error>> {
    let reached = |step: Step| {
        crate::fault::point(step.name());
        if stop(step) { Err(Failure::Died(step)) } else { Ok(()) }
    };
    let many = copies.len() > 1;
    // Phase one, in order.
    for (i, copy) in copies.iter_mut().enumerate() {
        copy.prepare(&gid(txid, i)).map_err(|source| Failure::Undecided { source, prepared: i })?;
        if i == 0 && many {
            reached(Step::PreparedFirst)?;
        }
    }
    let prepared = copies.len();
    reached(Step::PreparedAll)?;
    // The commit point: the decision commits with the change's central rows, or neither does.
    // `last`: the change's own last central statements (the store's audit head), sent with it.
    let decide = format!("INSERT INTO pchat_twophase_decisions (txid) VALUES ('{txid}')");
    let decide = match last {
        Some(last) => format!("{last}; {decide}"),
        None => decide,
    };
    if let Err(source) = central.commit_with(&decide) {
        // Lost on the wire: the commit may or may not have happened; undoing could contradict it.
        // Any other failure (of the INSERT or of the COMMIT) leaves no decision.
        return Err(if A::lost(&source) { Failure::InDoubt(source) } else { Failure::Undecided { source, prepared } });
    }
    reached(Step::Decided)?;
    // Phase two: from here the change is committed whatever fails.
    let mut incomplete = None;
    for (i, copy) in copies.iter_mut().enumerate() {
        if let Err(source) = copy.finish_prepared(&gid(txid, i), true) {
            // Go on with the others: each committed copy is one less for recovery.
            incomplete.get_or_insert(Failure::Incomplete { copy: i, source });
        }
        if i == 0 && many {
            reached(Step::CommittedFirst)?;
        }
    }
    if let Some(e) = incomplete {
        return Err(e);
    }
    Ok(())
}

/// Undo a change that failed before its decision. Best effort: a branch that cannot be rolled
/// back now stays prepared without a decision, which recovery rolls back.
pub(crate) fn undo<A: Agent>(central: &mut A, copies: &mut [A], txid: &Uuid, prepared: usize) {
    // First the central transaction: no decision can follow.
    central.end();
    for (i, copy) in copies.iter_mut().enumerate() {
        if i < prepared {
            let _ = copy.finish_prepared(&gid(txid, i), false);
        } else {
            // An open transaction, or the remains of a failed PREPARE.
            copy.end();
        }
    }
}

/// The sessions of a change, handed to the caller's statements: the central database and the pool's
/// copies, the serving one first.
pub struct Tx<'a> {
    pub central: &'a mut Client,
    pub copies: &'a mut [Client],
}

impl Tx<'_> {
    /// The copy that serves the pool's reads.
    pub fn serving(&mut self) -> &mut Client {
        &mut self.copies[0]
    }

    /// Run one write on every copy; they hold the same rows, so the counts must agree.
    pub fn execute_copies(&mut self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> anyhow::Result<u64> {
        let counts = self.copies.iter_mut().map(|c| c.execute(sql, params)).collect::<Result<Vec<_>, _>>()?;
        if counts.windows(2).any(|w| w[0] != w[1]) {
            return Err(TwoPhaseError::Diverged(counts).into());
        }
        Ok(counts[0])
    }
}

/// What recovery did with the prepared pchat branches of one database.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Recovered {
    pub committed: Vec<String>,
    pub rolled_back: Vec<String>,
    /// Branches whose coordinator is alive (its lock is held): left to it.
    pub live: Vec<String>,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct Stats {
    pub committed: u64,
    /// Attempts that failed on a serialization failure, deadlock or lock timeout and were run again.
    pub retries: u64,
}

pub struct Coordinator {
    central: Client,
    /// The serving copy first (the primary in Normal state).
    copies: Vec<Client>,
    pub isolation: Isolation,
    pub max_attempts: u32,
    pub stats: Stats,
    fault: Option<Step>,
}

impl Coordinator {
    /// Take the sessions, make sure the decision table exists and resolve what crashed coordinators left
    /// prepared in any copy.
    pub fn open(mut central: Client, mut copies: Vec<Client>) -> anyhow::Result<(Coordinator, Vec<Recovered>)> {
        assert!(!copies.is_empty(), "a change needs the copy that serves the pool");
        central.batch_execute(DECISIONS_DDL)?;
        let recovered = copies.iter_mut().map(|c| recover(&mut central, c)).collect::<Result<_, _>>()?;
        let c = Coordinator {
            central,
            copies,
            isolation: Isolation::Serializable,
            max_attempts: 1000,
            stats: Stats::default(),
            fault: None,
        };
        Ok((c, recovered))
    }

    /// Stop (as a crash would) when the protocol reaches `step`.
    #[cfg(test)]
    pub(crate) fn set_fault(&mut self, step: Option<Step>) {
        self.fault = step;
    }

    /// Resolve what crashed coordinators left prepared in any copy.
    pub fn recover(&mut self) -> anyhow::Result<Vec<Recovered>> {
        Ok(self.copies.iter_mut().map(|c| recover(&mut self.central, c)).collect::<Result<_, _>>()?)
    }

    /// Run `f` as one change: committed in the central database and every copy, or in none. `f` may run
    /// several times: a serialization failure, deadlock or lock timeout undoes the attempt and runs it again.
    pub fn transact<T>(&mut self, mut f: impl FnMut(&mut Tx) -> anyhow::Result<T>) -> anyhow::Result<T> {
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let txid = new_locked_txid(&mut self.central)?;
            let mut prepared = 0;
            let err = match self.attempt(&txid, &mut prepared, &mut f) {
                Ok(v) => {
                    forget_and_unlock(&mut self.central, &txid);
                    self.stats.committed += 1;
                    return Ok(v);
                }
                Err(e) => e,
            };
            match err.downcast_ref::<TwoPhaseError>() {
                // A crash: nothing more happens, as nothing would.
                Some(TwoPhaseError::Died(_)) => return Err(err),
                // Nothing to undo: the decision (or its absence) is for recovery to act on.
                Some(TwoPhaseError::CommittedIncomplete { .. } | TwoPhaseError::InDoubt(_)) => {
                    unlock(&mut self.central, &txid);
                    return Err(err);
                }
                _ => {}
            }
            undo(&mut self.central, &mut self.copies, &txid, prepared);
            unlock(&mut self.central, &txid);
            let code = err.downcast_ref::<postgres::Error>().and_then(|e| e.code()).cloned();
            let retry = match code {
                Some(SqlState::T_R_SERIALIZATION_FAILURE | SqlState::T_R_DEADLOCK_DETECTED) => true,
                // A lock held by a prepared branch whose coordinator died: resolve it, then retry.
                Some(SqlState::LOCK_NOT_AVAILABLE) => {
                    self.recover()?;
                    true
                }
                _ => false,
            };
            if !retry {
                return Err(err);
            }
            if attempt >= self.max_attempts {
                let source = err.downcast::<postgres::Error>()?;
                return Err(TwoPhaseError::Exhausted { attempts: attempt, source }.into());
            }
            self.stats.retries += 1;
            backoff(attempt);
        }
    }

    /// One attempt; `prepared` counts the copies prepared so far, so that a failure undoes exactly that.
    fn attempt<T>(
        &mut self,
        txid: &Uuid,
        prepared: &mut usize,
        f: &mut impl FnMut(&mut Tx) -> anyhow::Result<T>,
    ) -> anyhow::Result<T> {
        let begin = match self.isolation {
            Isolation::ReadCommitted => "BEGIN ISOLATION LEVEL READ COMMITTED",
            Isolation::Serializable => "BEGIN ISOLATION LEVEL SERIALIZABLE",
        };
        self.central.batch_execute(begin)?;
        for copy in &mut self.copies {
            copy.batch_execute(begin)?;
        }
        let value = f(&mut Tx { central: &mut self.central, copies: &mut self.copies })?;
        let fault = self.fault;
        match complete(&mut self.central, &mut self.copies, txid, None, &|step| fault == Some(step)) {
            Ok(()) => Ok(value),
            Err(Failure::Undecided { source, prepared: n }) => {
                *prepared = n;
                Err(source.into())
            }
            Err(Failure::Died(step)) => Err(TwoPhaseError::Died(step).into()),
            Err(Failure::InDoubt(e)) => Err(TwoPhaseError::InDoubt(e).into()),
            Err(Failure::Incomplete { copy, source }) => {
                Err(TwoPhaseError::CommittedIncomplete { copy, source }.into())
            }
        }
    }
}

/// Resolve the prepared pchat branches in `copy`'s database whose coordinator is gone: commit those with a
/// recorded decision, roll back the others. `central` must be outside a transaction: a snapshot older
/// than a decision would read as its absence.
pub(crate) fn recover<A: Agent>(central: &mut A, copy: &mut A) -> Result<Recovered, A::Error> {
    let mut out = Recovered::default();
    let gids = copy.texts(&format!(
        "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, '{GID_PREFIX}') ORDER BY prepared"
    ))?;
    for gid in gids {
        let Some(txid) = parse_gid(&gid) else { continue };
        if !central.try_lock(lock_key(&txid))? {
            out.live.push(gid);
            continue;
        }
        let result = resolve(central, copy, &txid, &gid);
        unlock(central, &txid);
        match result? {
            Some(true) => out.committed.push(gid),
            Some(false) => out.rolled_back.push(gid),
            None => {}
        }
    }
    Ok(out)
}

/// What a copy's database holds of changes between their decision and their `COMMIT PREPARED`
/// (`in_flight`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InFlight {
    /// No prepared pchat branch.
    None,
    /// A branch whose coordinator was alive (its lock was held): `in_flight` waited until it was
    /// done, so a retry with new snapshots finds the copy complete.
    Live,
    /// A branch whose coordinator is gone: only recovery (`recover`) completes it.
    Dead,
}

/// Whether `copy`'s database holds prepared pchat branches, and whether a live coordinator holds
/// them (a dead one's win over a live one's: recovery is what the caller must ask for). Works
/// inside a transaction of either session: `pg_prepared_xacts` and the advisory locks are not
/// read through a snapshot; a lock taken to test a coordinator is released at once.
pub(crate) fn in_flight<A: Agent>(central: &mut A, copy: &mut A) -> Result<InFlight, A::Error> {
    let gids = copy.texts(&format!(
        "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, '{GID_PREFIX}') ORDER BY prepared"
    ))?;
    let mut found = InFlight::None;
    for gid in gids {
        let Some(txid) = parse_gid(&gid) else { continue };
        let key = lock_key(&txid);
        if central.try_lock(key)? {
            unlock(central, &txid);
            return Ok(InFlight::Dead);
        }
        // Wait until its coordinator is done (it unlocks after its COMMIT PREPAREDs) before the
        // caller's retry: failing at once, a retry that comes back within the window fails again,
        // and under a steady stream of writers it lost every attempt. No deadlock: a prepared
        // coordinator has run all its statements and waits on no lock of ours; `lock_timeout`
        // bounds the wait anyway (a Busy error, retried as well).
        central.run(&format!("SELECT pg_advisory_lock({key}); SELECT pg_advisory_unlock({key})"))?;
        found = InFlight::Live;
    }
    Ok(found)
}

/// Wait until no live coordinator has a branch prepared in `copy`, for a caller that holds the
/// writers off (audit_head EXCLUSIVE), so that no new branch can be prepared meanwhile: one wait
/// is enough; the bound only keeps a broken promise from looping. A dead coordinator's branch is
/// left for the caller (recovery).
pub(crate) fn drain<A: Agent>(central: &mut A, copy: &mut A) -> Result<(), A::Error> {
    for _ in 0..100 {
        if in_flight(central, copy)? != InFlight::Live {
            break;
        }
    }
    Ok(())
}

/// `Some(committed)`, or `None` when another recoverer resolved it first.
fn resolve<A: Agent>(central: &mut A, copy: &mut A, txid: &Uuid, gid: &str) -> Result<Option<bool>, A::Error> {
    let decided = central.ask(&format!("SELECT 1 FROM pchat_twophase_decisions WHERE txid = '{txid}'"))?;
    Ok(copy.finish_prepared(gid, decided)?.then_some(decided))
}

pub(crate) fn gid(txid: &Uuid, copy: usize) -> String {
    format!("{GID_PREFIX}{}:{copy}", txid.simple())
}

fn parse_gid(gid: &str) -> Option<Uuid> {
    let (id, copy) = gid.strip_prefix(GID_PREFIX)?.split_once(':')?;
    copy.parse::<u8>().ok()?;
    Uuid::parse_str(id).ok()
}

/// The advisory lock key of a transaction id: its first 64 bits.
pub(crate) fn lock_key(txid: &Uuid) -> i64 {
    let b = txid.as_bytes();
    i64::from_be_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]])
}

/// Exponential back-off with jitter, so writers that collided do not collide again in step.
fn backoff(attempt: u32) {
    let cap_ms = 1u64 << attempt.min(6);
    let jitter = u64::from(Uuid::new_v4().as_bytes()[0]) % (cap_ms + 1);
    std::thread::sleep(Duration::from_millis(jitter));
}

#[cfg(all(test, unix))]
mod tests {
    use std::time::Instant;

    use super::*;
    use crate::store::pg::test_cluster::{Cluster, connect};

    struct Setup {
        central: String,
        primary: String,
        backup: String,
    }

    fn setup(test: &str) -> Option<Setup> {
        let cluster = Cluster::shared(test)?;
        let (central, primary, backup) = (cluster.database("c"), cluster.database("p"), cluster.database("b"));
        // The central side of a change (audit records, pool marks in the store).
        // Its key is checked at COMMIT, so a test can make the commit point itself fail.
        connect(&central)
            .batch_execute("CREATE TABLE changes (room int, UNIQUE (room) DEFERRABLE INITIALLY DEFERRED)")
            .unwrap();
        for db in [&primary, &backup] {
            connect(db)
                .batch_execute(
                    "CREATE TABLE rooms (id int PRIMARY KEY, name text NOT NULL, members text[] NOT NULL DEFAULT '{}')",
                )
                .unwrap();
        }
        Some(Setup { central, primary, backup })
    }

    impl Setup {
        fn open(&self) -> (Coordinator, Vec<Recovered>) {
            Coordinator::open(connect(&self.central), vec![connect(&self.primary), connect(&self.backup)]).unwrap()
        }

        /// Open once the servers have ended the sessions of a "crashed" coordinator (that is
        /// asynchronous: until then its lock is held and recovery leaves its branches alone).
        fn open_settled(&self) -> (Coordinator, Vec<Recovered>) {
            let deadline = Instant::now() + Duration::from_secs(10);
            let mut all = Vec::new();
            loop {
                let (c, r) = self.open();
                let settled = r.iter().all(|r| r.live.is_empty());
                all.extend(r);
                if settled {
                    return (c, all);
                }
                assert!(Instant::now() < deadline, "prepared branches still live: {all:?}");
                drop(c);
                std::thread::sleep(Duration::from_millis(20));
            }
        }

        /// Whether room `id` is in (central, primary, backup).
        fn has(&self, id: i32) -> (bool, bool, bool) {
            let q = |db: &str, sql: &str| connect(db).query_opt(sql, &[&id]).unwrap().is_some();
            (
                q(&self.central, "SELECT 1 FROM changes WHERE room = $1"),
                q(&self.primary, "SELECT 1 FROM rooms WHERE id = $1"),
                q(&self.backup, "SELECT 1 FROM rooms WHERE id = $1"),
            )
        }

        fn names(&self, db: &str) -> Vec<String> {
            connect(db).query("SELECT name FROM rooms ORDER BY id", &[]).unwrap().iter().map(|r| r.get(0)).collect()
        }

        fn prepared(&self, db: &str) -> Vec<String> {
            connect(db)
                .query("SELECT gid FROM pg_prepared_xacts WHERE database = current_database()", &[])
                .unwrap()
                .iter()
                .map(|r| r.get(0))
                .collect()
        }

        /// Commit room 1, then stop the coordinator at `step` while it adds room 2, and end its sessions
        /// as a crash would. What the servers hold then: (prepared in primary, prepared in backup).
        fn crash_at(&self, step: Step) -> (usize, usize) {
            let (mut c, _) = self.open();
            c.transact(|t| add_room(t, 1, "one")).unwrap();
            c.set_fault(Some(step));
            let err = c.transact(|t| add_room(t, 2, "two")).unwrap_err();
            assert!(matches!(err.downcast_ref(), Some(TwoPhaseError::Died(s)) if *s == step), "{err}");
            drop(c);
            (self.prepared(&self.primary).len(), self.prepared(&self.backup).len())
        }
    }

    /// A change with a central side: the room in every copy, its record in the central database.
    fn add_room(t: &mut Tx, id: i32, name: &str) -> anyhow::Result<()> {
        t.execute_copies("INSERT INTO rooms (id, name) VALUES ($1, $2)", &[&id, &name])?;
        t.central.execute("INSERT INTO changes (room) VALUES ($1)", &[&id])?;
        Ok(())
    }

    #[test]
    fn a_change_commits_in_both_copies() {
        let Some(s) = setup("a_change_commits_in_both_copies") else { return };
        let (mut c, recovered) = s.open();
        assert_eq!(recovered, [Recovered::default(), Recovered::default()]);
        c.transact(|b| b.execute_copies("INSERT INTO rooms (id, name) VALUES (1, 'one')", &[])).unwrap();
        assert_eq!(s.names(&s.primary), ["one"]);
        assert_eq!(s.names(&s.backup), ["one"]);
        assert!(s.prepared(&s.primary).is_empty() && s.prepared(&s.backup).is_empty());
        // A failing statement leaves nothing in either copy.
        let err = c.transact(|b| b.execute_copies("INSERT INTO rooms (id, name) VALUES (1, 'dup')", &[])).unwrap_err();
        assert_eq!(err.downcast_ref::<postgres::Error>().and_then(|e| e.code()), Some(&SqlState::UNIQUE_VIOLATION));
        c.transact(|b| b.execute_copies("INSERT INTO rooms (id, name) VALUES (2, 'two')", &[])).unwrap();
        assert_eq!(s.names(&s.backup), ["one", "two"]);
        // The decision rows are removed once both branches are committed.
        let mut central = connect(&s.central);
        let left: i64 = central.query_one("SELECT count(*) FROM pchat_twophase_decisions", &[]).unwrap().get(0);
        assert_eq!(left, 0);
    }

    #[test]
    fn a_commit_point_that_fails_rolls_back_the_prepared_copies() {
        let Some(s) = setup("a_commit_point_that_fails_rolls_back_the_prepared_copies") else { return };
        let (mut c, _) = s.open();
        c.transact(|t| add_room(t, 1, "one")).unwrap();
        // Room 2 in the copies, a second record of room 1 in central: refused only at the central COMMIT,
        // after both copies are prepared.
        let err = c
            .transact(|t| {
                t.execute_copies("INSERT INTO rooms (id, name) VALUES (2, 'two')", &[])?;
                t.central.execute("INSERT INTO changes (room) VALUES (1)", &[])?;
                Ok(())
            })
            .unwrap_err();
        assert_eq!(err.downcast_ref::<postgres::Error>().and_then(|e| e.code()), Some(&SqlState::UNIQUE_VIOLATION));
        assert_eq!(s.has(2), (false, false, false));
        assert_eq!((s.prepared(&s.primary).len(), s.prepared(&s.backup).len()), (0, 0));
        c.transact(|t| add_room(t, 2, "two")).unwrap();
        assert_eq!(s.has(2), (true, true, true));
    }

    #[test]
    fn a_failed_over_pool_commits_in_the_backup_alone() {
        let Some(s) = setup("a_failed_over_pool_commits_in_the_backup_alone") else { return };
        let (mut c, _) = Coordinator::open(connect(&s.central), vec![connect(&s.backup)]).unwrap();
        c.transact(|t| add_room(t, 1, "one")).unwrap();
        assert_eq!(s.has(1), (true, false, true), "(central, primary, backup)");
        c.set_fault(Some(Step::PreparedAll));
        c.transact(|t| add_room(t, 2, "two")).unwrap_err();
        drop(c);
        assert_eq!(s.prepared(&s.backup).len(), 1);
        // With the primary's server gone, the decision is still found: it is central.
        let (mut central, mut backup) = (connect(&s.central), connect(&s.backup));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !s.prepared(&s.backup).is_empty() {
            assert!(Instant::now() < deadline);
            recover(&mut central, &mut backup).unwrap();
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(s.has(2), (false, false, false));
    }

    #[test]
    fn dying_between_the_prepares_commits_neither() {
        let Some(s) = setup("dying_between_the_prepares_commits_neither") else { return };
        // The backup's unprepared transaction ended with its session; the primary's branch waits.
        assert_eq!(s.crash_at(Step::PreparedFirst), (1, 0));
        let (_c, recovered) = s.open_settled();
        assert_eq!(recovered.iter().map(|r| r.rolled_back.len()).sum::<usize>(), 1);
        assert_eq!(s.names(&s.primary), ["one"]);
        assert_eq!(s.names(&s.backup), ["one"]);
        assert_eq!(s.has(2), (false, false, false), "(central, primary, backup)");
        assert_eq!((s.prepared(&s.primary).len(), s.prepared(&s.backup).len()), (0, 0));
    }

    #[test]
    fn dying_after_both_prepares_before_the_decision_commits_neither() {
        let Some(s) = setup("dying_after_both_prepares_before_the_decision_commits_neither") else { return };
        assert_eq!(s.crash_at(Step::PreparedAll), (1, 1));
        let (_c, recovered) = s.open_settled();
        assert_eq!(recovered.iter().map(|r| r.rolled_back.len()).sum::<usize>(), 2);
        assert!(recovered.iter().all(|r| r.committed.is_empty()));
        assert_eq!(s.names(&s.primary), ["one"]);
        assert_eq!(s.names(&s.backup), ["one"]);
        assert_eq!(s.has(2), (false, false, false), "(central, primary, backup)");
    }

    #[test]
    fn dying_after_the_decision_commits_both() {
        let Some(s) = setup("dying_after_the_decision_commits_both") else { return };
        assert_eq!(s.crash_at(Step::Decided), (1, 1));
        assert_eq!(s.names(&s.primary), ["one"], "not visible before recovery commits it");
        assert_eq!(s.has(2), (true, false, false), "committed in central: the commit point");
        let (_c, recovered) = s.open_settled();
        assert_eq!(recovered.iter().map(|r| r.committed.len()).sum::<usize>(), 2);
        assert_eq!(s.names(&s.primary), ["one", "two"]);
        assert_eq!(s.names(&s.backup), ["one", "two"]);
        assert_eq!(s.has(2), (true, true, true), "(central, primary, backup)");
    }

    #[test]
    fn dying_between_the_commit_prepareds_commits_both() {
        let Some(s) = setup("dying_between_the_commit_prepareds_commits_both") else { return };
        assert_eq!(s.crash_at(Step::CommittedFirst), (0, 1));
        assert_eq!(s.names(&s.primary), ["one", "two"]);
        assert_eq!(s.names(&s.backup), ["one"]);
        assert_eq!(s.has(2), (true, true, false));
        let (_c, recovered) = s.open_settled();
        assert_eq!(recovered.iter().map(|r| r.committed.len()).sum::<usize>(), 1);
        assert_eq!(s.names(&s.backup), ["one", "two"]);
        assert_eq!(s.has(2), (true, true, true), "(central, primary, backup)");
        assert_eq!((s.prepared(&s.primary).len(), s.prepared(&s.backup).len()), (0, 0));
    }

    /// Run by `a_killed_writer_leaves_both_or_neither` in a child process, which `PCHAT_FAULT` kills
    /// (abort: no destructor, no goodbye to the servers) at a step of the protocol.
    #[test]
    #[ignore = "a child process of a_killed_writer_leaves_both_or_neither"]
    fn killed_writer_child() {
        let Ok(urls) = std::env::var("PCHAT_PG_CHILD_DATABASES") else { return };
        let urls: Vec<&str> = urls.split(' ').collect();
        let id: i32 = std::env::var("PCHAT_PG_CHILD_ROOM").unwrap().parse().unwrap();
        let (mut c, _) = Coordinator::open(connect(urls[0]), vec![connect(urls[1]), connect(urls[2])]).unwrap();
        c.transact(|t| add_room(t, id, "killed")).unwrap();
        unreachable!("PCHAT_FAULT kills the process before the change returns");
    }

    #[test]
    fn a_killed_writer_leaves_both_or_neither() {
        let Some(s) = setup("a_killed_writer_leaves_both_or_neither") else { return };
        let cases = [
            (Step::PreparedFirst, false),
            (Step::PreparedAll, false),
            (Step::Decided, true),
            (Step::CommittedFirst, true),
        ];
        for (id, (step, committed)) in (1..).zip(cases) {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args(["--exact", "store::pg::twophase::tests::killed_writer_child", "--ignored", "--nocapture"])
                .env("PCHAT_PG_CHILD_DATABASES", format!("{} {} {}", s.central, s.primary, s.backup))
                .env("PCHAT_PG_CHILD_ROOM", id.to_string())
                .env("PCHAT_FAULT", format!("{}:kill", step.name()))
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(stderr.contains(&format!("pchat-fault: killed at {}", step.name())), "{step:?}: {stderr}");
            assert!(!out.status.success());
            let (_c, _) = s.open_settled();
            assert_eq!(s.has(id), (committed, committed, committed), "killed at {step:?}");
            assert!(s.prepared(&s.primary).is_empty() && s.prepared(&s.backup).is_empty(), "{step:?}");
        }
    }

    #[test]
    fn recovery_leaves_a_live_coordinators_branches_alone() {
        let Some(s) = setup("recovery_leaves_a_live_coordinators_branches_alone") else { return };
        let (mut live, _) = s.open();
        live.set_fault(Some(Step::PreparedAll));
        live.transact(|b| b.execute_copies("INSERT INTO rooms (id, name) VALUES (1, 'one')", &[])).unwrap_err();
        // Its sessions (and lock) are alive: another process opening the store must not decide for it.
        let (_other, recovered) = s.open();
        assert_eq!(recovered.iter().map(|r| r.live.len()).sum::<usize>(), 2);
        assert!(recovered.iter().all(|r| r.committed.is_empty() && r.rolled_back.is_empty()));
        drop(live);
        let (_c, recovered) = s.open_settled();
        assert_eq!(recovered.iter().map(|r| r.rolled_back.len()).sum::<usize>(), 2);
        assert!(s.names(&s.primary).is_empty() && s.names(&s.backup).is_empty());
    }

    #[test]
    fn a_writer_blocked_by_a_dead_coordinators_branch_resolves_it() {
        let Some(s) = setup("a_writer_blocked_by_a_dead_coordinators_branch_resolves_it") else { return };
        let (mut c, _) = s.open();
        c.transact(|b| b.execute_copies("INSERT INTO rooms (id, name) VALUES (1, 'one')", &[])).unwrap();
        // The writer is open before the crash, so only meeting the lock can make it recover.
        let sessions = [&s.central, &s.primary, &s.backup].map(|db| {
            let mut client = connect(db);
            client.batch_execute("SET lock_timeout = '300ms'").unwrap();
            client
        });
        let [central, primary, backup] = sessions;
        let (mut writer, _) = Coordinator::open(central, vec![primary, backup]).unwrap();
        c.set_fault(Some(Step::CommittedFirst));
        c.transact(|b| b.execute_copies("UPDATE rooms SET name = 'uno' WHERE id = 1", &[])).unwrap_err();
        drop(c);
        // The backup's row 1 is locked by the dead coordinator's prepared branch.
        writer
            .transact(|b| {
                b.execute_copies(
                    "UPDATE rooms SET members = array_append(members, 'sip:ann@contoso.com') WHERE id = 1",
                    &[],
                )
            })
            .unwrap();
        assert!(writer.stats.retries >= 1);
        for db in [&s.primary, &s.backup] {
            let row = connect(db).query_one("SELECT name, members FROM rooms WHERE id = 1", &[]).unwrap();
            assert_eq!(row.get::<_, String>(0), "uno");
            assert_eq!(row.get::<_, Vec<String>>(1), ["sip:ann@contoso.com"]);
        }
    }

    /// Four writers each add `PER_WRITER` members to one room by read-modify-write of its list.
    fn concurrent_additions(test: &str, isolation: Isolation, lock: &'static str) {
        const WRITERS: usize = 4;
        const PER_WRITER: usize = 100;
        let Some(s) = setup(test) else { return };
        let (mut c, _) = s.open();
        c.transact(|b| b.execute_copies("INSERT INTO rooms (id, name) VALUES (1, 'one')", &[])).unwrap();
        drop(c);
        let started = Instant::now();
        let retries: u64 = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..WRITERS)
                .map(|w| {
                    let s = &s;
                    scope.spawn(move || {
                        let (mut c, _) = s.open();
                        c.isolation = isolation;
                        for i in 0..PER_WRITER {
                            let member = format!("sip:w{w}-{i}@contoso.com");
                            c.transact(|b| {
                                let sql = format!("SELECT members FROM rooms WHERE id = 1 {lock}");
                                let mut members: Vec<String> = b.serving().query_one(&sql, &[])?.get(0);
                                members.push(member.clone());
                                b.execute_copies("UPDATE rooms SET members = $1 WHERE id = 1", &[&members])
                            })
                            .unwrap();
                        }
                        c.stats.retries
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).sum()
        });
        eprintln!(
            "{test}: {} additions by {WRITERS} writers in {:?}, {retries} retries",
            WRITERS * PER_WRITER,
            started.elapsed()
        );
        let lists: Vec<Vec<String>> = [&s.primary, &s.backup]
            .iter()
            .map(|db| connect(db).query_one("SELECT members FROM rooms WHERE id = 1", &[]).unwrap().get(0))
            .collect();
        assert_eq!(lists[0], lists[1], "the copies agree");
        let mut distinct = lists[0].clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), WRITERS * PER_WRITER, "no addition lost");
        assert_eq!(lists[0].len(), WRITERS * PER_WRITER, "none applied twice");
    }

    #[test]
    fn concurrent_writers_lose_no_update_under_serializable_with_retries() {
        concurrent_additions(
            "concurrent_writers_lose_no_update_under_serializable_with_retries",
            Isolation::Serializable,
            "",
        );
    }

    #[test]
    fn concurrent_writers_lose_no_update_under_read_committed_with_row_locks() {
        concurrent_additions(
            "concurrent_writers_lose_no_update_under_read_committed_with_row_locks",
            Isolation::ReadCommitted,
            "FOR UPDATE",
        );
    }

    #[test]
    fn gids_round_trip_and_foreign_ones_are_ignored() {
        let t = Uuid::new_v4();
        assert_eq!(parse_gid(&gid(&t, 0)), Some(t));
        assert_eq!(parse_gid(&gid(&t, 1)), Some(t));
        assert_eq!(parse_gid(&format!("pchat:{}:x", t.simple())), None);
        assert_eq!(parse_gid("other-app-gid"), None);
    }
}
