//! Pool-owned data (categories, rooms, add-ins, messages) lives in the database serving the pool:
//! its primary in Normal state, its backup when FailedOver. Writes go through
//! `PoolData::write`, which applies each statement to the serving database and, in Normal state,
//! to the backup as well, inside the caller's transaction: a committed change is never missing
//! from the backup.

use rusqlite::{CachedStatement, ToSql};

use super::Store;
use super::pools::PoolTarget;
use super::topology::PoolRow;
use crate::errors::{CmdletError, CmdletResult};

/// The pool tables, parents before children; each child names its parent table and key.
const COPY_ORDER: &[(&str, Option<(&str, &str)>)] = &[
    ("addins", None),
    ("categories", None),
    ("category_entries", Some(("categories", "category_id"))),
    ("rooms", None),
    ("room_entries", Some(("rooms", "room_id"))),
    ("messages", Some(("rooms", "room_id"))),
];

/// One pool's data, borrowed with the store: `db()` to read, `write()` to change every copy.
pub struct PoolData<'a> {
    store: &'a Store,
    pub pool: PoolRow,
    target: PoolTarget,
}

impl Store {
    /// Access to one Persistent Chat pool's data, refusing when a database it needs is unavailable.
    pub fn pool_data(&self, pool: PoolRow) -> CmdletResult<PoolData<'_>> {
        let target = self.pool_target(&pool)?;
        Ok(PoolData { store: self, pool, target })
    }

    /// Run a change on every copy of a pool's data: the serving database and, in Normal state, the
    /// backup. `{db}` in `sql` stands for the schema. The first change of an invocation also moves
    /// the pool's mark on, in the central database and in each copy.
    pub fn pool_write(&self, pool: &PoolTarget, sql: &str, params: &[&dyn ToSql]) -> rusqlite::Result<usize> {
        if let Some(why) = &pool.mirror_missing {
            return Err(rusqlite::Error::ToSqlConversionFailure(Box::new(CmdletError::invalid_operation(why.clone()))));
        }
        let mut changed = 0;
        for (i, mut stmt) in self.pool_statements(pool, sql)?.into_iter().enumerate() {
            let n = stmt.execute(params)?;
            if i == 0 {
                changed = n;
            }
        }
        Ok(changed)
    }

    /// `sql` prepared for every copy of the pool's data, serving copy first, for a bulk change
    /// that runs it many times; the caller must run each statement with the same parameters.
    /// Like `pool_write`, the first change of an invocation bumps the pool's change counter.
    pub fn pool_statements(&self, pool: &PoolTarget, sql: &str) -> rusqlite::Result<Vec<CachedStatement<'_>>> {
        if let Some(why) = &pool.mirror_missing {
            return Err(rusqlite::Error::ToSqlConversionFailure(Box::new(CmdletError::invalid_operation(why.clone()))));
        }
        if !self.is_locked() {
            return Err(rusqlite::Error::ToSqlConversionFailure(Box::new(CmdletError::invalid_operation(
                "internal: pool data can only be changed under the write lock",
            ))));
        }
        let copies = || std::iter::once(pool.schema.as_str()).chain(pool.mirror.as_deref());
        if !pool.counted.replace(true) {
            // Every copy held the pool's mark when `pool_target` checked it under the lock.
            let (generation, seq) = self.pool_mark(&pool.fqdn)?;
            self.set_marks(&pool.fqdn, (generation, seq + 1), &copies().collect::<Vec<_>>())?;
        }
        copies().map(|schema| self.conn.prepare_cached(&sql.replace("{db}", schema))).collect()
    }

    /// Make `to` hold exactly `from`'s data for one pool (fail-back, repair). Runs in the
    /// caller's transaction, which must hold the write lock (see `store::failover`).
    pub fn copy_pool(&self, pool: &str, from: &str, to: &str) -> rusqlite::Result<()> {
        copy_pool_with(&self.conn, pool, from, to)
    }
}

/// `Store::copy_pool` on any connection (a repair fills a new file through its own).
pub(crate) fn copy_pool_with(c: &rusqlite::Connection, pool: &str, from: &str, to: &str) -> rusqlite::Result<()> {
    // Children go with their parents (ON DELETE CASCADE); rooms before the categories they use.
    for table in ["rooms", "categories", "addins"] {
        c.execute(&format!("DELETE FROM {to}.{table} WHERE pool = ?1"), [pool])?;
    }
    for (table, parent) in COPY_ORDER {
        let sql = match parent {
            None => format!("INSERT INTO {to}.{table} SELECT * FROM {from}.{table} WHERE pool = ?1"),
            Some((parent, key)) => format!(
                "INSERT INTO {to}.{table} SELECT t.* FROM {from}.{table} t JOIN {from}.{parent} p ON p.id = t.{key} WHERE p.pool = ?1"
            ),
        };
        c.execute(&sql, [pool])?;
    }
    c.execute(&format!("DELETE FROM {to}.pool_sync WHERE pool = ?1"), [pool])?;
    c.execute(&format!("INSERT INTO {to}.pool_sync SELECT * FROM {from}.pool_sync WHERE pool = ?1"), [pool])?;
    Ok(())
}

impl PoolData<'_> {
    /// The schema to read the pool's data from.
    pub fn db(&self) -> &str {
        &self.target.schema
    }

    pub fn target(&self) -> &PoolTarget {
        &self.target
    }

    pub fn conn(&self) -> &rusqlite::Connection {
        &self.store.conn
    }

    /// The store, for reads that need more than the connection.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// See `Store::pool_write`.
    pub fn write(&self, sql: &str, params: &[&dyn ToSql]) -> rusqlite::Result<usize> {
        self.store.pool_write(&self.target, sql, params)
    }

    /// See `Store::pool_statements`.
    pub fn statements(&self, sql: &str) -> rusqlite::Result<Vec<CachedStatement<'_>>> {
        self.store.pool_statements(&self.target, sql)
    }
}
