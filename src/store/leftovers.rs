//! What a killed repair leaves beside a pool database file: `<file>.rebuilding` (with its `-wal`
//! and `-shm`), the new copy it was building from its source. Only a repair writes such a file,
//! from a source it leaves untouched, and nothing ever serves it: it is never the only copy of
//! anything. The next command that may write removes it, under the store's write lock (a repair
//! of this store builds only while holding that lock, so none is at work meanwhile), and only
//! when the file names this store: two stores in one folder give their files the same names, and
//! the other store's repair may be building it right now.

use std::path::PathBuf;

use super::Store;
use super::pool_files;

impl Store {
    /// Remove the `.rebuilding` files killed repairs of this store left; what was done, or why a
    /// file was left alone, one line each. Costs a query and one `stat` per SQL instance.
    pub fn clean_rebuilding(&self) -> anyhow::Result<Vec<String>> {
        if self.is_postgres() {
            // No pool database is a file. A PostgreSQL repair builds inside its target's branch of
            // the two-phase commit; a killed one leaves that branch prepared, resolved when the
            // pool's sessions open (`open_pool_sessions`), not here.
            return Ok(Vec::new());
        }
        let found: Vec<PathBuf> = self
            .sql_instances()?
            .into_iter()
            .map(|s| PathBuf::from(format!("{}.rebuilding", self.dir.join(&s.file).display())))
            .filter(|p| std::fs::symlink_metadata(p).is_ok())
            .collect();
        if found.is_empty() {
            return Ok(Vec::new());
        }
        self.db().execute_batch("BEGIN IMMEDIATE")?;
        let cleaned = (|| -> anyhow::Result<Vec<String>> {
            let store_id = self.store_id()?;
            let mut told = Vec::new();
            for path in found {
                let shown = path.display();
                match pool_files::inspect(&path) {
                    Ok(file) if file.owner.is_some() && file.other_store(store_id.as_deref()).is_none() => {
                        for suffix in ["-wal", "-shm", ""] {
                            let part = format!("{shown}{suffix}");
                            match std::fs::remove_file(&part) {
                                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                                    anyhow::bail!("cannot remove {part}, left by a repair that was stopped: {e}")
                                }
                                _ => {}
                            }
                        }
                        told.push(format!(
                            "removed {shown}: a partial copy a stopped repair was building (never served; its source is untouched)"
                        ));
                    }
                    Ok(_) => told.push(format!(
                        "{shown} was not made by this store's repair (another store's, or an earlier pchat's): left alone"
                    )),
                    Err(why) => told.push(format!(
                        "{shown} is left alone ({why}); remove it if no repair is running: only a repair writes such a file"
                    )),
                }
            }
            Ok(told)
        })();
        let ended = self.db().execute_batch(if cleaned.is_ok() { "COMMIT" } else { "ROLLBACK" });
        let told = cleaned?;
        ended?;
        Ok(told)
    }
}
