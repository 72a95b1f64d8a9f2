//! A unit of work that spans many cmdlet calls (`pchat run --atomic`, `atomic(|| ...)`, `pchat
//! run --plan`): one write transaction over the central database and every attached pool
//! database, held from the first call to the last. Each call inside it runs in a savepoint (see
//! engine/invoke.rs) and moves its pools' marks in every copy as usual, so the copies are in step
//! at the one commit; a nested block is a named savepoint of its own.

use super::Store;

impl Store {
    /// Attach every pool database (ATTACH cannot run inside a transaction), then take the write
    /// lock of all of them for the whole unit.
    pub fn begin_unit(&self) -> anyhow::Result<()> {
        self.attach_pool_databases()?;
        self.begin(true)?;
        Ok(())
    }

    /// Open the savepoint of a nested block (`depth` ≥ 1 distinguishes it from outer blocks).
    pub fn block_savepoint(&self, depth: usize) -> rusqlite::Result<()> {
        self.save_audit_state()?;
        self.control(&format!("SAVEPOINT block{depth}")).inspect_err(|_| self.drop_audit_state())
    }

    pub fn release_block(&self, depth: usize) -> rusqlite::Result<()> {
        self.control(&format!("RELEASE block{depth}"))?;
        self.drop_audit_state();
        Ok(())
    }

    /// Undo a nested block; the enclosing unit stays open. The audit's head goes back with the
    /// records the block appended.
    pub fn rollback_block(&self, depth: usize) {
        self.forget_pools();
        // The block's move of a pool mark may be among what is undone: the next change moves it.
        self.marked.borrow_mut().clear();
        self.restore_audit_state();
        let _ = self
            .control(&format!("ROLLBACK TO block{depth}"))
            .and_then(|()| self.control(&format!("RELEASE block{depth}")));
    }

    /// Where the audit ends now: the changes a unit records come after it.
    pub fn audit_position(&self) -> rusqlite::Result<i64> {
        self.flush_audit()?;
        self.conn.query_row("SELECT coalesce(max(rowid), 0) FROM audit", [], |r| r.get(0))
    }

    /// The targets changed since `position`, in the order they were changed, each once.
    pub fn audit_targets_since(&self, position: i64) -> rusqlite::Result<Vec<String>> {
        self.flush_audit()?;
        let mut stmt = self.conn.prepare("SELECT target FROM audit WHERE rowid > ?1 ORDER BY rowid")?;
        let rows = stmt.query_map([position], |r| r.get::<_, Option<String>>(0))?;
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
}
