//! A read never makes a store. On SQLite a store file that did not exist is removed again when
//! nothing was written (src/cli.rs); on PostgreSQL the open migrates an empty database into a
//! central one, and this undoes that when the run wrote nothing: the database is left empty, as
//! it was, and the caller says there is no store there and how to make one.

use std::cell::RefCell;

use super::Store;
use super::db::{self, Begin};
use super::sessions::Backend;

/// Tables, sequences and functions (the triggers', as `name(arguments)`) of the current schema:
/// those an open that migrated an empty database made, recorded right after it
/// (`Store::record_made`).
const RELATIONS: &str = "SELECT c.relname::text, c.relkind::text FROM pg_class c \
     WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'S') \
     UNION ALL SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')', 'f' FROM pg_proc p \
     WHERE p.pronamespace = current_schema()::regnamespace ORDER BY 1";

/// What this process's open made in an empty database: (relation, kind), or `None` when the
/// database was a store already.
#[derive(Default)]
pub(super) struct Made(RefCell<Option<Vec<(String, String)>>>);

impl Store {
    /// After an open that migrated an empty PostgreSQL database: remember what it made.
    pub(super) fn record_made(&self) -> db::Result<()> {
        let Backend::Pg(s) = &self.backend else { return Ok(()) };
        let relations = self.db.query_map(RELATIONS, (), |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)))?;
        *s.made.0.borrow_mut() = Some(relations);
        Ok(())
    }

    /// Drop what the open made in an empty PostgreSQL database when nothing was written since:
    /// true when the database is empty again. Kept (false) when anything changed, when another
    /// session is using the store (its tables are locked: `NOWAIT`, so this never waits), or
    /// when the database holds a relation the open did not make. Under the migration's advisory
    /// lock, so a process opening the database meanwhile waits and then finds it empty.
    pub fn unmake_if_unwritten(&self) -> bool {
        let Backend::Pg(s) = &self.backend else { return false };
        let Some(made) = s.made.0.borrow().clone() else { return false };
        if self.in_transaction() {
            return false;
        }
        let done = self.drop_made(&made);
        if done.is_err() {
            let _ = self.db.rollback();
            // A lock refused (55P03) is not a dead coordinator's: nothing to recover.
            let _ = self.db.take_lock_timeout();
        }
        done.unwrap_or(false)
    }

    fn drop_made(&self, made: &[(String, String)]) -> db::Result<bool> {
        self.db.begin(Begin::Immediate)?;
        self.db.execute_batch(&format!("SELECT pg_advisory_xact_lock({})", super::pg::migrate::LOCK))?;
        if self.db.query_map(RELATIONS, (), |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)))? != made {
            self.db.rollback()?;
            return Ok(false);
        }
        let tables: Vec<&str> = made.iter().filter(|(_, k)| k == "r" || k == "p").map(|(n, _)| n.as_str()).collect();
        let quoted = |names: &[&str]| names.iter().map(|n| format!("\"{n}\"")).collect::<Vec<_>>().join(", ");
        self.db.execute_batch(&format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE NOWAIT", quoted(&tables)))?;
        let unwritten: bool = self.db.query_row(
            "SELECT NOT EXISTS(SELECT 1 FROM audit) AND NOT EXISTS(SELECT 1 FROM pools) \
             AND NOT EXISTS(SELECT 1 FROM pchat_twophase_decisions)",
            (),
            |r| r.get(0),
        )?;
        if !unwritten {
            self.db.rollback()?;
            return Ok(false);
        }
        let sequences: Vec<&str> = made.iter().filter(|(_, k)| k == "S").map(|(n, _)| n.as_str()).collect();
        self.db.execute_batch(&format!("DROP TABLE {} CASCADE", quoted(&tables)))?;
        // Identity columns' sequences went with their tables, and the triggers with them.
        for sequence in sequences {
            self.db.execute_batch(&format!("DROP SEQUENCE IF EXISTS \"{sequence}\""))?;
        }
        for function in made.iter().filter(|(_, k)| k == "f") {
            self.db.execute_batch(&format!("DROP FUNCTION {}", function.0))?;
        }
        self.db.commit()?;
        *self.made_cell() = None;
        Ok(true)
    }

    fn made_cell(&self) -> std::cell::RefMut<'_, Option<Vec<(String, String)>>> {
        match &self.backend {
            Backend::Pg(s) => s.made.0.borrow_mut(),
            Backend::Sqlite(_) => unreachable!("only a PostgreSQL store records what its open made"),
        }
    }
}
