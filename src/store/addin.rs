//! Add-ins (a named URL per pool) in pool databases. Rooms reference add-ins by id, so a rename
//! carries them along and a deletion clears their Addin (ON DELETE SET NULL).

use rusqlite::{OptionalExtension, Row, params};

use super::Store;
use super::pools::PoolTarget;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddinRow {
    pub id: i64,
    pub pool: String,
    pub name: String,
    pub url: String,
}

fn addin(r: &Row<'_>) -> rusqlite::Result<AddinRow> {
    Ok(AddinRow { id: r.get(0)?, pool: r.get(1)?, name: r.get(2)?, url: r.get(3)? })
}

impl Store {
    pub fn addins(&self, pool: &PoolTarget) -> rusqlite::Result<Vec<AddinRow>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT id, pool, name, url FROM {}.addins WHERE pool = ?1 ORDER BY name COLLATE NOCASE",
                pool.schema
            ))?
            .query_map([&pool.fqdn], addin)?
            .collect()
    }

    pub fn addin_by_name(&self, pool: &PoolTarget, name: &str) -> rusqlite::Result<Option<AddinRow>> {
        self.conn
            .prepare_cached(&format!(
                "SELECT id, pool, name, url FROM {}.addins WHERE pool = ?1 AND name = ?2",
                pool.schema
            ))?
            .query_row(params![pool.fqdn, name], addin)
            .optional()
    }

    /// Insert an add-in (its id must come from `new_id`).
    pub fn insert_addin(&self, pool: &PoolTarget, a: &AddinRow) -> rusqlite::Result<()> {
        self.pool_write(
            pool,
            "INSERT INTO {db}.addins(id, pool, name, url) VALUES (?1, ?2, ?3, ?4)",
            params![a.id, pool.fqdn, a.name, a.url],
        )
        .map(|_| ())
    }

    pub fn update_addin(&self, pool: &PoolTarget, a: &AddinRow) -> rusqlite::Result<()> {
        self.pool_write(pool, "UPDATE {db}.addins SET name = ?2, url = ?3 WHERE id = ?1", params![a.id, a.name, a.url])
            .map(|_| ())
    }

    pub fn addin_room_count(&self, pool: &PoolTarget, id: i64) -> rusqlite::Result<i64> {
        self.conn
            .prepare_cached(&format!("SELECT count(*) FROM {}.rooms WHERE addin_id = ?1", pool.schema))?
            .query_row([id], |r| r.get(0))
    }

    pub fn delete_addin(&self, pool: &PoolTarget, id: i64) -> rusqlite::Result<()> {
        self.pool_write(pool, "DELETE FROM {db}.addins WHERE id = ?1", params![id]).map(|_| ())
    }
}
