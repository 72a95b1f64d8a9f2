//! Waiting for the writers at work on PostgreSQL, for a transaction that must run alone (a
//! fail-over, a repair, a publish, an atomic run or a plan: design notes §4).
//!
//! The writers' lock (`audit_head` EXCLUSIVE) is waited for in slices of the session's
//! `lock_timeout` (5 s, db/pg.rs) rather than with one long timeout: a lock held by a dead
//! coordinator's prepared branch is freed only by the recovery that a lock wait triggers
//! (`rollback_sessions`), so each slice ends with that recovery, then begins again. The wait
//! has no bound of its own: it ends when the lock is taken, at Ctrl-C (which also cancels the
//! running LOCK statement), or when the run's time budget (`--max-seconds`) ends. Each slice
//! begins a fresh transaction, before any read: no snapshot is lost.

use super::Store;
use super::db::{self, Begin, ErrorKind};

impl Store {
    /// Take the writers' lock in EXCLUSIVE mode in the central session, waiting for the writers
    /// at work: `first` is the first attempt's outcome (the BEGIN and LOCK message of
    /// `begin_postgres`), each further one a LOCK in a transaction begun anew (nothing read yet).
    /// Err: the wait was stopped (the transaction is rolled back), or a failure other than a lock
    /// wait.
    pub(super) fn wait_for_writers(&self, first: db::Result<()>) -> db::Result<()> {
        let mut attempt = first;
        loop {
            let e = match attempt {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            let _ = self.db.rollback();
            if e.kind() != ErrorKind::Busy {
                return Err(e);
            }
            if crate::interrupt::requested() {
                return Err(db::DbError::other(
                    "interrupted while waiting for the other writers of the store to finish; nothing was changed",
                ));
            }
            if crate::interrupt::past_deadline() {
                return Err(db::DbError::other(
                    "other writers of the store were still at work when the run's time budget ended; nothing was changed: run it again, or raise the budget with --max-seconds N",
                ));
            }
            // Copies where a statement met a lock wait are recovered here (dead coordinators).
            self.rollback_sessions();
            crate::fault::point("alone:waited");
            self.db.begin(Begin::Immediate)?;
            attempt = self.db.execute_batch("LOCK TABLE audit_head IN EXCLUSIVE MODE");
        }
    }

    /// Roll back a transaction that `begin_attached` begins again: one that ran alone runs alone
    /// again (the turn is not given up by attaching the pool databases anew).
    pub(super) fn rollback_keeping_turn(&self) {
        let alone = self.runs_alone();
        self.rollback();
        if alone {
            self.run_alone_next();
        }
    }
}
