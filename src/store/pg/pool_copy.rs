//! A pool's rows copied from one of its databases into the other on a PostgreSQL store
//! (`Store::copy_pool`: fail-back, repair). SQLite copies across two attached files with one
//! `INSERT … SELECT` per table; PostgreSQL has no statement spanning two databases, so each table
//! is streamed: `COPY (SELECT … of the pool) TO STDOUT` on the source's session straight into
//! `COPY t (…) FROM STDIN` on the target's, in `COPY_ORDER` (parents first), in COPY's text
//! format, which both ends read and write alike (one schema version: checked when each session
//! opened). Both sessions take part in the caller's write transaction, so the copy commits with
//! the marks by the two-phase commit, or not at all.

use std::io;

use crate::errors::CmdletError;
use crate::store::Store;
use crate::store::db::{self, Db};
use crate::store::pool_data::COPY_ORDER;
use crate::store::route::Target;

/// The transaction-local setting that names the pool whose rows are read: COPY takes no
/// parameters, and a pool's name is never spelt into SQL.
const POOL_SETTING: &str = "pchat.copy_pool";

impl Store {
    /// Make the copy `to` (a session alias) hold exactly the rows of `pool` that `from` holds.
    pub(crate) fn stream_pool(&self, pool: &str, from: &str, to: &str) -> db::Result<()> {
        if from == to {
            // Two SQL instances naming one database share a session: the delete below would
            // remove the very rows to be copied.
            return Err(db::DbError::refused(CmdletError::invalid_operation(format!(
                "the primary and backup databases of pool '{pool}' are one database (their SQL instances have the same Connection), so neither can be copied over the other; give one of them another Connection in the topology; nothing was changed"
            ))));
        }
        let source = self.copy_session(from)?;
        let target = self.copy_session(to)?;
        // Children go with their parents (ON DELETE CASCADE); rooms before the categories they use.
        for table in ["rooms", "categories", "addins", "pool_sync"] {
            self.route(Target::Copy(to), &format!("DELETE FROM {{db}}.{table} WHERE pool = ?1 COLLATE NOCASE"))
                .execute([pool])?;
        }
        source.query_row("SELECT set_config(?1, ?2, true)", [POOL_SETTING, pool], |r| r.get::<String>(0))?;
        let tables = COPY_ORDER.iter().copied().chain(std::iter::once(("pool_sync", None)));
        for (table, parent) in tables {
            stream_table(source, target, table, parent)?;
        }
        Ok(())
    }
}

/// One table's rows of the pool (set in `POOL_SETTING`), from `source` into `target`; a child
/// table's rows are those of its parent's rows of the pool.
fn stream_table(source: &Db, target: &Db, table: &str, parent: Option<(&str, &str)>) -> db::Result<u64> {
    let columns: Vec<String> = super::copy::columns(target, table)?.into_iter().map(|(c, _)| c).collect();
    if columns.is_empty() {
        return Err(db::DbError::other(format!("internal: the pool database has no table {table}")));
    }
    // One schema version does not prove one set of columns: a column dropped behind pchat's back
    // in either copy would leave that column's values out of the copy, silently.
    let in_source: Vec<String> = super::copy::columns(source, table)?.into_iter().map(|(c, _)| c).collect();
    if let Some(why) = columns_differ(table, &in_source, &columns) {
        return Err(db::DbError::refused(CmdletError::invalid_operation(why)));
    }
    let list = columns.join(", ");
    let read = columns.iter().map(|c| format!("t.{c}")).collect::<Vec<_>>().join(", ");
    let select = match parent {
        None => format!("SELECT {read} FROM {table} t WHERE t.pool = current_setting('{POOL_SETTING}')"),
        Some((parent, key)) => format!(
            "SELECT {read} FROM {table} t JOIN {parent} p ON p.id = t.{key} WHERE p.pool = current_setting('{POOL_SETTING}')"
        ),
    };
    target.copy_in(&format!("COPY {table} ({list}) FROM STDIN"), |into| {
        source.copy_out(&format!("COPY ({select}) TO STDOUT"), |rows| {
            io::copy(rows, into).map(drop).map_err(|e| {
                db::DbError::other(format!("cannot copy the table {table} between the pool databases: {e}"))
            })
        })
    })
}

/// Why the copies' `table` cannot be copied one into the other: the columns one lacks.
fn columns_differ(table: &str, source: &[String], target: &[String]) -> Option<String> {
    let lacking = |of: &[String], other: &[String]| -> Vec<String> {
        other.iter().filter(|c| !of.contains(c)).cloned().collect()
    };
    let (not_in_source, not_in_target) = (lacking(source, target), lacking(target, source));
    if not_in_source.is_empty() && not_in_target.is_empty() {
        return None;
    }
    let mut missing = Vec::new();
    if !not_in_source.is_empty() {
        missing.push(format!("the source copy lacks {}", not_in_source.join(", ")));
    }
    if !not_in_target.is_empty() {
        missing.push(format!("the copy written lacks {}", not_in_target.join(", ")));
    }
    Some(format!(
        "pchat's pool table {table} has other columns in the two copies ({}): a copy's schema was changed outside pchat, and copying would lose those values; restore the damaged database, or drop it, create it again empty and repair the pool from the intact copy; nothing was changed",
        missing.join("; ")
    ))
}

#[cfg(test)]
mod column_tests {
    use super::columns_differ;

    #[test]
    fn a_column_either_copy_lacks_is_named_and_refused() {
        let s = |v: &[&str]| v.iter().map(|c| c.to_string()).collect::<Vec<_>>();
        assert_eq!(columns_differ("rooms", &s(&["id", "name"]), &s(&["name", "id"])), None);
        let why = columns_differ("rooms", &s(&["id", "name"]), &s(&["id", "name", "privacy"])).unwrap();
        assert!(why.contains("the source copy lacks privacy") && why.contains("nothing was changed"), "{why}");
        let why = columns_differ("rooms", &s(&["id", "privacy"]), &s(&["id"])).unwrap();
        assert!(why.contains("the copy written lacks privacy"), "{why}");
    }
}
