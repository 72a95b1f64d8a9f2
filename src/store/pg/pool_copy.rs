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
