//! Pool-owned data (categories, rooms, add-ins, messages) lives in the database serving the pool:
//! its primary in Normal state, its backup when FailedOver (DESIGN.md §4). Writes go through
//! `PoolData::write`, which applies each statement to the serving database and, in Normal state,
//! to the backup as well, inside the caller's transaction: a committed change is never missing
//! from the backup.

use std::cell::Cell;

use rusqlite::{OptionalExtension, ToSql};

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

pub struct PoolData<'a> {
    store: &'a Store,
    pub pool: PoolRow,
    serving: String,
    mirror: Option<String>,
    bumped: Cell<bool>,
}

impl Store {
    /// Access to one Persistent Chat pool's data, refusing when a database it needs is unavailable.
    pub fn pool_data(&self, pool: PoolRow) -> CmdletResult<PoolData<'_>> {
        let serving = self.serving_schema(&pool)?;
        let mirror = match (&pool.state[..], &pool.backup_database) {
            ("Normal", Some(backup)) => Some(self.pool_schema(backup).ok_or_else(|| {
                CmdletError::invalid_operation(format!(
                    "the backup database {backup} of pool '{}' is unavailable{}; changes would not reach it (repair the file, or fail the pool over)",
                    pool.fqdn,
                    self.unavailable_reason(backup).map(|r| format!(" ({r})")).unwrap_or_default()
                ))
            })?),
            _ => None,
        };
        Ok(PoolData { store: self, pool, serving, mirror, bumped: Cell::new(false) })
    }

    /// `PoolData::write` for callers holding a `PoolTarget` (the chat-object store modules).
    pub fn pool_write(&self, pool: &PoolTarget, sql: &str, params: &[&dyn ToSql]) -> rusqlite::Result<usize> {
        let row = self.pool(&pool.fqdn)?.ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        let pd = self.pool_data(row).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        pd.write(sql, params)
    }

    /// The change counter of a pool in one database (0 when it never changed there).
    pub fn pool_seq(&self, schema: &str, pool: &str) -> rusqlite::Result<i64> {
        self.conn
            .query_row(&format!("SELECT seq FROM {schema}.pool_sync WHERE pool = ?1"), [pool], |r| r.get(0))
            .optional()
            .map(|s| s.unwrap_or(0))
    }

    /// Make `to` hold exactly `from`'s data for one pool (fail-back, repair). Runs in the
    /// caller's transaction.
    pub fn copy_pool(&self, pool: &str, from: &str, to: &str) -> rusqlite::Result<()> {
        let c = &self.conn;
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

    /// After a crash between the commits of primary and backup, or with a database file lost and
    /// recreated, the copy with the higher change counter is the complete one: bring the other up
    /// to date. Only pools in Normal state (a failed-over pool's primary is expected to lag).
    pub fn repair_pools(&self) -> anyhow::Result<()> {
        for pool in self.pools()?.into_iter().filter(|p| p.is_pchat && p.state == "Normal") {
            let (Some(primary), Some(backup)) = (&pool.database, &pool.backup_database) else { continue };
            let (Some(p), Some(b)) = (self.pool_schema(primary), self.pool_schema(backup)) else { continue };
            let (ps, bs) = (self.pool_seq(&p, &pool.fqdn)?, self.pool_seq(&b, &pool.fqdn)?);
            if ps == bs {
                continue;
            }
            let (from, to, from_name, to_name) =
                if ps > bs { (&p, &b, primary, backup) } else { (&b, &p, backup, primary) };
            self.conn.execute_batch("BEGIN IMMEDIATE")?;
            match self.copy_pool(&pool.fqdn, from, to) {
                Ok(()) => self.conn.execute_batch("COMMIT")?,
                Err(e) => {
                    self.rollback();
                    return Err(e.into());
                }
            }
            eprintln!(
                "pchat: pool {}: {to_name} was behind {from_name} (change {} of {}); brought it up to date",
                pool.fqdn,
                ps.min(bs),
                ps.max(bs)
            );
        }
        Ok(())
    }
}

impl PoolData<'_> {
    /// The schema to read the pool's data from.
    pub fn db(&self) -> &str {
        &self.serving
    }

    pub fn conn(&self) -> &rusqlite::Connection {
        &self.store.conn
    }

    /// The store, for reads that need more than the connection.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// Run a change on every copy of the pool's data. `{db}` in `sql` stands for the schema.
    pub fn write(&self, sql: &str, params: &[&dyn ToSql]) -> rusqlite::Result<usize> {
        if !self.bumped.replace(true) {
            for schema in self.schemas() {
                self.store.conn.execute(
                    &format!(
                        "INSERT INTO {schema}.pool_sync(pool, seq) VALUES (?1, 1)
                         ON CONFLICT(pool) DO UPDATE SET seq = seq + 1"
                    ),
                    [&self.pool.fqdn],
                )?;
            }
        }
        let mut changed = 0;
        for (i, schema) in self.schemas().enumerate() {
            let n = self.store.conn.prepare_cached(&sql.replace("{db}", schema))?.execute(params)?;
            if i == 0 {
                changed = n;
            }
        }
        Ok(changed)
    }

    fn schemas(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.serving.as_str()).chain(self.mirror.as_deref())
    }
}
