//! One moment of a PostgreSQL store for `copy-store` (`copy_back`): writers held off while the
//! copy's snapshots (or the check's reads, `copy_consistency`) are taken.
//!
//! * A gate session on the central database holds `audit_head` in EXCLUSIVE mode. Every writer
//!   takes ROW SHARE on it before anything else (`Store::begin`, design notes §4), so while the
//!   gate is held no writer is between its begin and its central commit, and none can begin.
//! * A writer whose central commit (its decision) is done may still have its pool branches to
//!   COMMIT PREPARED (the gate let it finish its central part). Before a pool database is read,
//!   `drain` waits for such a live coordinator (`twophase::in_flight`); no new branch can be
//!   prepared while the gate is held, so that database then holds every change the central one
//!   does and no other. A branch without a coordinator is left for the caller to refuse.
//! * The wait cannot deadlock: a coordinator past its decision holds no central lock and waits
//!   on nothing of ours; `lock_timeout` bounds it anyway.

use anyhow::Context;

use super::shown_url;
use crate::store::db::{Begin, Db};

pub(super) struct Gate {
    db: Db,
}

impl Gate {
    /// Writers of the store whose central database is `url` held off until the gate is dropped.
    pub(super) fn close(url: &str) -> anyhow::Result<Gate> {
        let shown = shown_url(url);
        let db = Db::open_postgres(url).with_context(|| {
            format!("cannot open the source {shown} (check that its server runs and the URL, user and password are right; nothing was copied)")
        })?;
        db.begin(Begin::Deferred)?;
        db.execute_batch("LOCK TABLE audit_head IN EXCLUSIVE MODE").with_context(|| {
            format!("{shown} is not a pchat store (cannot hold its writers off for the copy; nothing was copied)")
        })?;
        Ok(Gate { db })
    }

    /// The gate's own session: it reads the central database as the gate holds it.
    pub(super) fn central(&self) -> &Db {
        &self.db
    }

    /// Wait until no live coordinator has a branch prepared in `pool`. One wait is enough (no
    /// branch can be prepared while the gate is held); the bound only keeps a broken promise
    /// from looping.
    pub(super) fn drain(&self, pool: &Db) -> anyhow::Result<()> {
        let (mut central, mut copy) = (&self.db, pool);
        Ok(super::twophase::drain(&mut central, &mut copy)?)
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if !self.db.is_autocommit() {
            let _ = self.db.rollback();
        }
    }
}
