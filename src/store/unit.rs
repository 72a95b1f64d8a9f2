//! A unit of work that spans many cmdlet calls (`pchat run --atomic`, `atomic(|| ...)`, `pchat
//! run --plan`): one write transaction over the central database and every attached pool
//! database, held from the first call to the last. Each call inside it runs in a savepoint (see
//! engine/invoke.rs) and moves its pools' marks in every copy as usual, so the copies are in step
//! at the one commit; a nested block is a named savepoint of its own.

use crate::store::db::{self, params};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use super::Store;
use super::commit::{decode_marks, encode_marks};
use crate::files::journal::{self, Claim, Finished, LeftUnit};
use crate::files::unit_home::UnitHome;

/// The `meta` key under which a unit keeps the pool marks it commits (see `record_unit_files`).
fn marks_key(unit: &str) -> String {
    format!("atomic_marks:{unit}")
}

/// The files of a committed unit not yet in place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUnit {
    pub unit: String,
    /// When it committed (UTC, RFC 3339).
    pub committed_at: String,
    /// (row, staged name, target), in the order they are placed.
    pub files: Vec<(i64, PathBuf, PathBuf)>,
}

/// What finishing the files of one committed unit did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FinishedUnit {
    pub unit: String,
    pub committed_at: String,
    /// Renamed into place now.
    pub placed: usize,
    /// Found in place already (renamed before the process died).
    pub already: usize,
    /// Neither staged nor in place (removed by someone since).
    pub lost: Vec<PathBuf>,
    /// Could not be placed, with why: tried again at the next open.
    pub failed: Vec<(PathBuf, String)>,
}

/// A unit whose commit reached the central database but none of the copies of a pool it changed
/// (killed, or a full disk, between the files' commits: see `store::commit`): its rows are in
/// no copy, so its files are not put in place either; the staged ones were removed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WithheldUnit {
    pub unit: String,
    pub committed_at: String,
    /// Which change reached no copy.
    pub why: String,
    /// Staged files removed.
    pub removed: usize,
}

/// What the store found of atomic units whose process died (see `finish_units`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitsReport {
    /// Committed units whose files were finished now.
    pub finished: Vec<FinishedUnit>,
    /// Units committed in the central database only, whose files were withheld.
    pub withheld: Vec<WithheldUnit>,
    /// Committed units whose files are waiting (the session writes nothing).
    pub waiting: Vec<PendingUnit>,
    /// Staged files of units that never committed, removed.
    pub removed: usize,
}

/// An `atomic_files` row as `pending_units` reads it: unit, committed_at, ord, staged, target.
type FileRow = (String, String, i64, Vec<u8>, Vec<u8>);

fn path_of(bytes: Vec<u8>) -> PathBuf {
    PathBuf::from(std::ffi::OsString::from_vec(bytes))
}

impl Store {
    /// Attach every pool database (ATTACH cannot run inside a transaction), then take the write
    /// lock of all of them for the whole unit.
    pub fn begin_unit(&self) -> anyhow::Result<()> {
        // It cannot be run again after a lost race, so on PostgreSQL it runs alone, waiting for
        // the writers at work (as SQLite's BEGIN IMMEDIATE holds the write lock for the run).
        self.run_alone_next();
        self.begin_attached(true).map_err(|e| match e {
            super::BeginError::Attach(e) => e,
            super::BeginError::Begin(e) => e.into(),
        })
    }

    /// Open the savepoint of a nested block (`depth` ≥ 1 distinguishes it from outer blocks).
    pub fn block_savepoint(&self, depth: usize) -> db::Result<()> {
        self.save_audit_state()?;
        self.savepoint_named(&format!("block{depth}")).inspect_err(|_| self.drop_audit_state())
    }

    pub fn release_block(&self, depth: usize) -> db::Result<()> {
        self.release_named(&format!("block{depth}"))?;
        self.drop_audit_state();
        Ok(())
    }

    /// Undo a nested block; the enclosing unit stays open. The audit's head goes back with the
    /// records the block appended.
    pub fn rollback_block(&self, depth: usize) {
        self.forget_pools();
        // The block's move of a pool mark may be among what is undone: the next change moves it.
        self.marked.borrow_mut().clear();
        self.forget_marks_set();
        self.restore_audit_state();
        let _ = self
            .rollback_to_named(&format!("block{depth}"))
            .and_then(|()| self.release_named(&format!("block{depth}")));
    }

    /// Where the audit ends now: the changes a unit records come after it.
    pub fn audit_position(&self) -> db::Result<i64> {
        self.flush_audit()?;
        // `id`, the audit's integer key (SQLite's rowid alias; PostgreSQL has no rowid).
        self.db().query_row("SELECT coalesce(max(id), 0) FROM audit", (), |r| r.get(0))
    }

    /// The targets changed since `position`, in the order they were changed, each once.
    pub fn audit_targets_since(&self, position: i64) -> db::Result<Vec<String>> {
        self.flush_audit()?;
        let mut stmt = self.db().prepare("SELECT target FROM audit WHERE id > ?1 ORDER BY id")?;
        let rows = stmt.query_map([position], |r| r.get::<Option<String>>(0))?;
        let mut out: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for target in rows {
            let Some(target) = target? else { continue };
            if seen.insert(target.clone()) {
                out.push(target);
            }
        }
        Ok(out)
    }

    /// The unit file of an atomic unit (see files/journal.rs), beside the central database
    /// (SQLite).
    pub fn unit_file(&self, unit: &str) -> PathBuf {
        journal::unit_file(&self.path, unit)
    }

    /// A PostgreSQL store's local state folder on this machine (`<state dir>/pchat/<store id>`),
    /// which scripts may not write into; None on SQLite (its unit files are named after the
    /// store file and guarded with it), for a store without an id yet and on a system with no
    /// state folder (no unit file can be there to guard).
    pub fn state_folder(&self) -> db::Result<Option<PathBuf>> {
        if !self.is_postgres() || self.store_id()?.is_none() {
            return Ok(None);
        }
        Ok(self.unit_home().ok().and_then(|home| home.folder().parent().map(Path::to_path_buf)))
    }

    /// Where this store's atomic units keep their unit files on this machine, and the owner
    /// their rows name (files/unit_home.rs): beside the store file on SQLite, in the local state
    /// folder of the store's id on PostgreSQL.
    pub fn unit_home(&self) -> anyhow::Result<UnitHome> {
        if !self.is_postgres() {
            return Ok(UnitHome::beside(&self.path));
        }
        let Some(id) = self.store_id()? else {
            // Given on open by any role that may write the central database.
            anyhow::bail!(
                "the store has no id yet, which names its local state folder (open it once as a role that may write it)"
            );
        };
        Ok(UnitHome::local(&id)?)
    }

    /// Record, in the open unit's transaction, the files it renames into place once it has
    /// committed: (staged name, target) each. They commit, or vanish, with its changes. On
    /// PostgreSQL each row names its owner (`home`): only that host and state folder finishes it.
    pub fn record_unit_files(&self, unit: &str, files: &[(PathBuf, PathBuf)], home: &UnitHome) -> db::Result<()> {
        let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        if let Some(owner) = home.owner.as_deref() {
            let mut stmt = self.db().prepare_cached(
                "INSERT INTO atomic_files(unit, ord, staged, target, committed_at, owner) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for (ord, (staged, target)) in files.iter().enumerate() {
                stmt.execute(params![
                    unit,
                    ord as i64,
                    staged.as_os_str().as_bytes(),
                    target.as_os_str().as_bytes(),
                    at,
                    owner
                ])?;
            }
            // No marks: the central COMMIT is the two-phase commit's decision, so rows there
            // mean every copy the unit changed commits (recovery completes a prepared branch);
            // a unit cannot reach the central database and no copy as on SQLite.
            return Ok(());
        }
        let mut stmt = self.db().prepare_cached(
            "INSERT INTO atomic_files(unit, ord, staged, target, committed_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for (ord, (staged, target)) in files.iter().enumerate() {
            stmt.execute(params![unit, ord as i64, staged.as_os_str().as_bytes(), target.as_os_str().as_bytes(), at])?;
        }
        drop(stmt);
        // The marks the unit's pools reach, with the rows: should its commit reach the central
        // database and no copy of a pool, the next open tells so from them (`withheld_because`).
        let intent = self.commit_intent();
        if !intent.pools.is_empty() {
            self.set_meta(&marks_key(unit), &encode_marks(&intent))?;
        }
        Ok(())
    }

    /// Every file of the committed unit is in place (or was reported as not): forget them, in
    /// a transaction of its own.
    pub fn forget_unit_files(&self, unit: &str) -> db::Result<()> {
        self.db().execute("DELETE FROM atomic_files WHERE unit = ?1", [unit])?;
        self.remove_meta(&marks_key(unit))
    }

    /// Why a committed unit's files must not be put in place, if they must not: a pool it changed
    /// is still at the mark the unit left in the central database, and each of the pool's copies
    /// holds an earlier change of that generation, so the unit's rows are in neither copy. Any
    /// doubt (a copy unavailable, the pool moved on since) places them, as before.
    fn withheld_because(&self, unit: &str) -> db::Result<Option<String>> {
        let Some(text) = self.meta(&marks_key(unit))? else { return Ok(None) };
        let pools = self.shared_pools()?;
        for (fqdn, mark) in decode_marks(&text) {
            let Some(pool) = pools.iter().find(|p| p.fqdn.eq_ignore_ascii_case(&fqdn)) else { continue };
            if self.pool_mark(&pool.fqdn)? != mark {
                continue;
            }
            let mut behind = Vec::new();
            for instance in [&pool.database, &pool.backup_database].into_iter().flatten() {
                let Some(schema) = self.pool_schema(instance) else { return Ok(None) };
                let held = self.copy_mark(&schema, &pool.fqdn)?;
                if held.0 != mark.0 || held.1 >= mark.1 {
                    behind.clear();
                    break;
                }
                behind.push(instance.clone());
            }
            if !behind.is_empty() {
                return Ok(Some(format!(
                    "its change {} of generation {} of pool '{}' is recorded in the store but reached neither copy ({})",
                    mark.1,
                    mark.0,
                    pool.fqdn,
                    behind.join(", ")
                )));
            }
        }
        Ok(None)
    }

    /// The committed units with files not yet in place, oldest first: every unit's (SQLite), or
    /// those of the units `owner` ran (PostgreSQL, see `finish_local_units`).
    pub(super) fn pending_units(&self, owner: Option<&str>) -> db::Result<Vec<PendingUnit>> {
        let get =
            |r: &db::Row<'_>| -> db::Result<FileRow> { Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)) };
        let rows = match owner {
            None => self
                .db()
                .prepare_cached(
                    "SELECT unit, committed_at, ord, staged, target FROM atomic_files ORDER BY committed_at, unit, ord",
                )?
                .query_map((), get)?
                .collect::<db::Result<Vec<_>>>()?,
            Some(owner) => self
                .db()
                .prepare_cached(
                    "SELECT unit, committed_at, ord, staged, target FROM atomic_files WHERE owner = ?1 ORDER BY committed_at, unit, ord",
                )?
                .query_map([owner], get)?
                .collect::<db::Result<Vec<_>>>()?,
        };
        let mut out: Vec<PendingUnit> = Vec::new();
        for (unit, committed_at, ord, staged, target) in rows {
            let file = (ord, path_of(staged), path_of(target));
            match out.last_mut() {
                Some(p) if p.unit == unit => p.files.push(file),
                _ => out.push(PendingUnit { unit, committed_at, files: vec![file] }),
            }
        }
        Ok(out)
    }

    /// Finish what atomic units left when their process died (docs/atomic-and-plan.md, "A kill"):
    /// the files of a unit that committed are renamed into place, and the staged files of one
    /// that did not are removed. Units whose process is still at work are left alone. With
    /// `act` false nothing is changed: the committed units waiting are only listed.
    ///
    /// Runs under the store's write lock (so two processes never finish the same unit), and
    /// costs a folder listing and one query when there is nothing to do.
    pub fn finish_units(&self, act: bool) -> anyhow::Result<UnitsReport> {
        let mut report = UnitsReport::default();
        if self.is_postgres() {
            return self.finish_local_units(act);
        }
        let (unit_files, partial) = journal::scan(&self.path)?;
        let rows: bool = self.db().query_row("SELECT EXISTS(SELECT 1 FROM atomic_files)", (), |r| r.get(0))?;
        if unit_files.is_empty() && partial.is_empty() && !rows {
            return Ok(report);
        }
        if !act {
            // Only the files still under their staged name are waiting.
            for mut p in self.pending_units(None)? {
                p.files.retain(|(_, staged, _)| std::fs::symlink_metadata(staged).is_ok());
                if !p.files.is_empty() && !journal::is_live(&self.unit_file(&p.unit)) {
                    report.waiting.push(p);
                }
            }
            return Ok(report);
        }
        if rows {
            // `withheld_because` reads the pools' copies.
            self.attach_pool_databases()?;
        }
        self.db().execute_batch("BEGIN IMMEDIATE")?;
        let mut done: Vec<LeftUnit> = Vec::new();
        let result = (|| -> anyhow::Result<()> {
            let pending = self.pending_units(None)?;
            for p in &pending {
                let left = match journal::claim(&p.unit, &self.unit_file(&p.unit))? {
                    Claim::Live => continue,
                    Claim::Missing => None,
                    Claim::Left(l) => Some(l),
                };
                if let Some(why) = self.withheld_because(&p.unit)? {
                    let mut removed = 0;
                    for (_, staged, _) in &p.files {
                        if journal::remove_staged(staged)? {
                            removed += 1;
                        }
                    }
                    self.db().execute("DELETE FROM atomic_files WHERE unit = ?1", [&p.unit])?;
                    self.remove_meta(&marks_key(&p.unit))?;
                    done.extend(left);
                    report.withheld.push(WithheldUnit {
                        unit: p.unit.clone(),
                        committed_at: p.committed_at.clone(),
                        why,
                        removed,
                    });
                    continue;
                }
                let mut finished = FinishedUnit {
                    unit: p.unit.clone(),
                    committed_at: p.committed_at.clone(),
                    ..FinishedUnit::default()
                };
                let mut forget = self.db().prepare_cached("DELETE FROM atomic_files WHERE unit = ?1 AND ord = ?2")?;
                for (ord, staged, target) in &p.files {
                    match journal::finish(staged, target) {
                        Ok(Finished::Placed) => finished.placed += 1,
                        Ok(Finished::AlreadyPlaced) => finished.already += 1,
                        Ok(Finished::Lost) => finished.lost.push(target.clone()),
                        Err(e) => {
                            finished.failed.push((target.clone(), e.to_string()));
                            continue;
                        }
                    }
                    forget.execute(params![p.unit, ord])?;
                }
                if finished.failed.is_empty() {
                    self.remove_meta(&marks_key(&p.unit))?;
                    done.extend(left);
                }
                report.finished.push(finished);
            }
            // A unit file never completed: its unit never committed.
            for (unit, path) in &partial {
                report.removed += journal::remove_partial(unit, path)?.unwrap_or(0);
            }
            // Units with a unit file and no committed row never committed: their staged files go.
            for (unit, path) in &unit_files {
                if pending.iter().any(|p| p.unit == *unit) {
                    continue;
                }
                if let Claim::Left(left) = journal::claim(unit, path)? {
                    for staged in &left.staged {
                        if journal::remove_staged(staged)? {
                            report.removed += 1;
                        }
                    }
                    done.push(left);
                }
            }
            Ok(())
        })();
        match result {
            Ok(()) => self.db().execute_batch("COMMIT")?,
            Err(e) => {
                let _ = self.db().execute_batch("ROLLBACK");
                return Err(e);
            }
        }
        // Only now that the rows are gone: a unit file outlives its rows.
        for left in done {
            left.remove()?;
        }
        Ok(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::files::journal::UnitFile;

    fn rows(store: &Store) -> i64 {
        store.db().query_row("SELECT count(*) FROM atomic_files", (), |r| r.get(0)).unwrap()
    }

    /// A unit killed after its commit: one file renamed before the kill, one not. The next open
    /// that may write places the second, forgets both, removes the unit file.
    #[test]
    fn a_committed_unit_is_rolled_forward_once_its_process_is_gone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let (a, b) = (dir.path().join("a.txt"), dir.path().join("b.txt"));
        let (sa, sb) = (dir.path().join(".a.txt.pchat-u1.staged"), dir.path().join(".b.txt.pchat-u1.staged"));
        std::fs::write(&sb, "b").unwrap();
        std::fs::write(&a, "a").unwrap();
        let held = UnitFile::create(&store.unit_file("u1"), &[sa.clone(), sb.clone()]).unwrap();
        store.begin(true).unwrap();
        store
            .record_unit_files("u1", &[(sa, a.clone()), (sb.clone(), b.clone())], &store.unit_home().unwrap())
            .unwrap();
        store.commit().unwrap();

        // Still at work: left alone, also by a session that writes nothing.
        assert_eq!(store.finish_units(true).unwrap(), UnitsReport::default());
        assert_eq!(store.finish_units(false).unwrap(), UnitsReport::default());
        drop(held);
        let waiting = store.finish_units(false).unwrap().waiting;
        assert_eq!(waiting.len(), 1);
        assert_eq!(waiting[0].files.len(), 1, "a.txt was placed before the kill");
        assert!(!b.exists() && sb.exists(), "a session that writes nothing changes nothing");

        let report = store.finish_units(true).unwrap();
        assert_eq!(report.finished.len(), 1);
        assert_eq!((report.finished[0].placed, report.finished[0].already), (1, 1));
        assert_eq!(std::fs::read_to_string(&b).unwrap(), "b");
        assert!(!sb.exists());
        assert_eq!(rows(&store), 0);
        assert!(!store.unit_file("u1").exists());
        assert_eq!(store.finish_units(true).unwrap(), UnitsReport::default());
    }

    /// A unit killed before its commit has a unit file and no row: its staged files are removed.
    #[test]
    fn the_staged_files_of_a_unit_that_never_committed_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let staged = dir.path().join(".a.txt.pchat-u2.staged");
        std::fs::write(&staged, "a").unwrap();
        drop(UnitFile::create(&store.unit_file("u2"), std::slice::from_ref(&staged)).unwrap());
        let report = store.finish_units(true).unwrap();
        assert_eq!(report.removed, 1);
        assert!(report.finished.is_empty());
        assert!(!staged.exists() && !dir.path().join("a.txt").exists());
        assert!(!store.unit_file("u2").exists());
    }
}
