//! Pool-owned data (categories, rooms, add-ins, messages) lives in the database serving the pool:
//! its primary in Normal state, its backup when FailedOver. Writes go through
//! `PoolData::write`, which applies each statement to the serving database and, in Normal state,
//! to the backup as well, inside the caller's transaction: a committed change is never missing
//! from the backup.

use rusqlite::{CachedStatement, OptionalExtension, ToSql};

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
    /// backup. `{db}` in `sql` stands for the schema. The first change of an invocation also bumps
    /// the pool's change counter in each copy.
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
        let copies = || std::iter::once(pool.schema.as_str()).chain(pool.mirror.as_deref());
        if !pool.counted.replace(true) {
            for schema in copies() {
                self.conn
                    .prepare_cached(&format!(
                        "INSERT INTO {schema}.pool_sync(pool, seq) VALUES (?1, 1)
                         ON CONFLICT(pool) DO UPDATE SET seq = seq + 1"
                    ))?
                    .execute([&pool.fqdn])?;
            }
        }
        copies().map(|schema| self.conn.prepare_cached(&sql.replace("{db}", schema))).collect()
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
