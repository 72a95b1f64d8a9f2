//! The runbook configuration: folders runbooks may open files in.

use super::Store;

impl Store {
    /// The allowed folders, as stored (resolved), in order.
    pub fn runbook_allowed_folders(&self) -> rusqlite::Result<Vec<String>> {
        self.conn()
            .prepare_cached("SELECT folder FROM runbook_allowed_folders ORDER BY folder")?
            .query_map([], |r| r.get(0))?
            .collect()
    }

    pub fn set_runbook_allowed_folders(&self, folders: &[String]) -> rusqlite::Result<()> {
        self.conn().execute("DELETE FROM runbook_allowed_folders", [])?;
        let mut insert =
            self.conn().prepare_cached("INSERT OR IGNORE INTO runbook_allowed_folders(folder) VALUES (?1)")?;
        for f in folders {
            insert.execute([f])?;
        }
        Ok(())
    }
}
