//! The runbook configuration: folders runbooks may open files in.

use super::Store;
use crate::store::db;

impl Store {
    /// The allowed folders, as stored (resolved), in order.
    pub fn runbook_allowed_folders(&self) -> db::Result<Vec<String>> {
        self.db()
            .prepare_cached("SELECT folder FROM runbook_allowed_folders ORDER BY folder")?
            .query_map((), |r| r.get(0))?
            .collect()
    }

    pub fn set_runbook_allowed_folders(&self, folders: &[String]) -> db::Result<()> {
        self.db().execute("DELETE FROM runbook_allowed_folders", ())?;
        let mut insert =
            self.db().prepare_cached("INSERT OR IGNORE INTO runbook_allowed_folders(folder) VALUES (?1)")?;
        for f in folders {
            insert.execute([f])?;
        }
        Ok(())
    }
}
