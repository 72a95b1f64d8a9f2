//! Finishing what atomic units left on a PostgreSQL store (`Store::finish_units` on SQLite is in
//! unit.rs). The rules are SQLite's — a unit whose rows committed has its files put in place, a
//! unit without rows has its staged files removed, a unit whose process is alive is left to it —
//! with two differences:
//!
//! * Only the owner acts. The unit files are in this machine's state folder for the store
//!   (files/unit_home.rs) and each row names the host and folder that owns it: rows owned
//!   elsewhere are another machine's staged files, which this one can neither see nor place, so
//!   they are left alone (that machine's next pchat command finishes them) and cost nothing here.
//! * No store-wide write lock. Each unit is finished in a transaction of its own, begun after its
//!   unit file was claimed: a unit that finished its own files meanwhile has forgotten its rows
//!   before it let go of its unit file, so what the transaction reads is what is left. Two
//!   commands of one owner never work on one unit at once (the unit file's lock), except for rows
//!   whose unit file is gone, where placing is idempotent and one of the two deletes fails with a
//!   serialization error, reported and tried again by the next command.
//!
//! There are no withheld units: the central COMMIT is the two-phase commit's decision, so a unit
//! whose rows are in the central database committed in every copy it changed.

use std::path::PathBuf;

use super::Store;
use super::db::{self, params};
use super::unit::{FinishedUnit, UnitsReport};
use crate::files::journal::{self, Claim, Finished, LeftUnit};
use crate::files::unit_home::{self, UnitHome};

/// What finishing one unit found.
enum Outcome {
    /// It committed: its files, as `FinishedUnit` tells.
    Committed(FinishedUnit),
    /// It never committed: this many staged files removed.
    NeverCommitted(usize),
}

impl Store {
    /// `finish_units` on PostgreSQL (see the module comment). With `act` false nothing is
    /// changed: the committed units waiting are only listed. Costs a query when this machine has
    /// never run a unit of the store, and a folder listing more when it has.
    pub(super) fn finish_local_units(&self, act: bool) -> anyhow::Result<UnitsReport> {
        let mut report = UnitsReport::default();
        // No state folder, or no id to name one: no unit can have left anything on this machine
        // (a unit that writes files needs both before it records a row).
        if unit_home::state_root().is_none() {
            return Ok(report);
        }
        let Some(id) = self.store_id()? else { return Ok(report) };
        let home = UnitHome::local(&id)?;
        let owner = home.owner.clone().unwrap_or_default();
        let (unit_files, partial) = journal::scan(&home.base)?;
        if unit_files.is_empty() && partial.is_empty() {
            let rows: bool =
                self.db()
                    .query_row("SELECT EXISTS(SELECT 1 FROM atomic_files WHERE owner = ?1)", [&owner], |r| r.get(0))?;
            if !rows {
                return Ok(report);
            }
        }
        let unit_file = |unit: &str| journal::unit_file(&home.base, unit);
        let pending = self.pending_units(Some(&owner))?;
        if !act {
            // Only the files still under their staged name are waiting.
            for mut p in pending {
                p.files.retain(|(_, staged, _)| std::fs::symlink_metadata(staged).is_ok());
                if !p.files.is_empty() && !journal::is_live(&unit_file(&p.unit)) {
                    report.waiting.push(p);
                }
            }
            return Ok(report);
        }
        // Every unit with rows or a unit file, rows first (oldest first), each once.
        let mut units: Vec<String> = pending.into_iter().map(|p| p.unit).collect();
        for (unit, _) in &unit_files {
            if !units.contains(unit) {
                units.push(unit.clone());
            }
        }
        for unit in &units {
            let left = match journal::claim(unit, &unit_file(unit))? {
                Claim::Live => continue,
                Claim::Missing => None,
                Claim::Left(l) => Some(l),
            };
            match self.finish_local_unit(unit, &owner, left.as_ref())? {
                Outcome::Committed(finished) => {
                    if finished.failed.is_empty()
                        && let Some(left) = left
                    {
                        left.remove()?;
                    }
                    report.finished.push(finished);
                }
                Outcome::NeverCommitted(removed) => {
                    report.removed += removed;
                    if let Some(left) = left {
                        left.remove()?;
                    }
                }
            }
        }
        // A unit file never completed: its unit never committed.
        for (unit, path) in &partial {
            report.removed += journal::remove_partial(unit, path)?.unwrap_or(0);
        }
        Ok(report)
    }

    /// Finish one unit of `owner` whose process is gone (`left`: its unit file, claimed) in a
    /// transaction of its own: its rows, read after the claim, say whether it committed.
    fn finish_local_unit(&self, unit: &str, owner: &str, left: Option<&LeftUnit>) -> anyhow::Result<Outcome> {
        self.begin(true)?;
        let result = (|| -> anyhow::Result<Outcome> {
            let files: Vec<(i64, Vec<u8>, Vec<u8>, String)> = self
                .db()
                .prepare_cached(
                    "SELECT ord, staged, target, committed_at FROM atomic_files WHERE unit = ?1 AND owner = ?2 ORDER BY ord",
                )?
                .query_map(params![unit, owner], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                .collect::<db::Result<_>>()?;
            let Some(committed_at) = files.first().map(|f| f.3.clone()) else {
                let mut removed = 0;
                for staged in left.map(|l| l.staged.as_slice()).unwrap_or_default() {
                    if journal::remove_staged(staged)? {
                        removed += 1;
                    }
                }
                return Ok(Outcome::NeverCommitted(removed));
            };
            let mut finished = FinishedUnit { unit: unit.to_string(), committed_at, ..FinishedUnit::default() };
            let mut forget =
                self.db().prepare_cached("DELETE FROM atomic_files WHERE unit = ?1 AND ord = ?2 AND owner = ?3")?;
            for (ord, staged, target, _) in files {
                let (staged, target) = (path_of(staged), path_of(target));
                match journal::finish(&staged, &target) {
                    Ok(Finished::Placed) => finished.placed += 1,
                    Ok(Finished::AlreadyPlaced) => finished.already += 1,
                    Ok(Finished::Lost) => finished.lost.push(target),
                    Err(e) => {
                        finished.failed.push((target, e.to_string()));
                        continue;
                    }
                }
                forget.execute(params![unit, ord, owner])?;
            }
            Ok(Outcome::Committed(finished))
        })();
        match result {
            Ok(outcome) => {
                self.commit()?;
                Ok(outcome)
            }
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }
}

fn path_of(bytes: Vec<u8>) -> PathBuf {
    use std::os::unix::ffi::OsStringExt;
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}
