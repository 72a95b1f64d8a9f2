//! Pool-owned data (categories, rooms, add-ins, messages) lives in the database serving the pool:
//! its primary in Normal state, its backup when FailedOver. Writes go through
//! `PoolData::write`, which applies each statement to the serving database and, in Normal state,
//! to the backup as well, inside the caller's transaction: a committed change is never missing
//! from the backup.

use crate::store::db::{self, Params, Statement};

use super::Store;
use super::pools::PoolTarget;
use super::route::{Target, route, route_across};
use super::topology::PoolRow;
use crate::errors::{CmdletError, CmdletResult};

/// The pool tables, parents before children; each child names its parent table and key.
pub(crate) const COPY_ORDER: &[(&str, Option<(&str, &str)>)] = &[
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
    /// backup. `sql` is neutral (`{db}.table`, see `store::route`). The first change of a transaction also
    /// moves the pool's mark on, in the central database and in each copy.
    pub fn pool_write<P: Params + Copy>(&self, pool: &PoolTarget, sql: &str, params: P) -> db::Result<usize> {
        if let Some(why) = &pool.mirror_missing {
            return Err(db::DbError::refused(CmdletError::invalid_operation(why.clone())));
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
    /// Like `pool_write`, the first change of a transaction bumps the pool's change counter.
    pub fn pool_statements(&self, pool: &PoolTarget, sql: &str) -> db::Result<Vec<Statement<'_>>> {
        self.pool_copies(pool)?.into_iter().map(|copy| self.route(Target::Copy(copy), sql).prepare_cached()).collect()
    }

    /// The copies of the pool's data a bulk change writes, serving copy first (their aliases,
    /// for `Target::Copy`), refused as `pool_statements` refuses; like it, the first change of a
    /// transaction bumps the pool's change counter. For a change that is not one statement per
    /// copy (a batch streamed into each copy by COPY on PostgreSQL).
    pub fn pool_copies<'p>(&self, pool: &'p PoolTarget) -> db::Result<Vec<&'p str>> {
        if let Some(why) = &pool.mirror_missing {
            return Err(db::DbError::refused(CmdletError::invalid_operation(why.clone())));
        }
        if !self.is_locked() {
            return Err(db::DbError::refused(CmdletError::invalid_operation(
                "internal: pool data can only be changed under the write lock",
            )));
        }
        let copies = || std::iter::once(pool.schema.as_str()).chain(pool.mirror.as_deref());
        if self.first_mark_in_transaction(&pool.fqdn) {
            // Every copy held the pool's mark when `pool_target` checked it under the lock.
            let (generation, seq) = self.pool_mark(&pool.fqdn)?;
            self.set_marks(&pool.fqdn, (generation, seq + 1), &copies().collect::<Vec<_>>())?;
        }
        Ok(copies().collect())
    }

    /// Make `to` hold exactly `from`'s data for one pool (fail-back, repair). Runs in the
    /// caller's transaction, which must hold the write lock (see `store::failover`).
    /// On PostgreSQL the rows are streamed between the two databases' sessions
    /// (`pg::pool_copy`).
    pub fn copy_pool(&self, pool: &str, from: &str, to: &str) -> db::Result<()> {
        if self.is_postgres() {
            return self.stream_pool(pool, from, to);
        }
        copy_pool_with(self.db(), pool, Target::Copy(from), Target::Copy(to))
    }
}

/// `Store::copy_pool` on any connection both copies are attached to (a repair fills a new file
/// through its own). The statements read `from` and write `to` at once; PostgreSQL streams
/// instead (`pg::pool_copy`).
pub(crate) fn copy_pool_with(c: &db::Db, pool: &str, from: Target<'_>, to: Target<'_>) -> db::Result<()> {
    // Children go with their parents (ON DELETE CASCADE); rooms before the categories they use.
    for table in ["rooms", "categories", "addins"] {
        route(c, to, &format!("DELETE FROM {{db}}.{table} WHERE pool = ?1 COLLATE NOCASE")).execute([pool])?;
    }
    let rows_of_pool =
        |table: &str| format!("INSERT INTO {{to}}.{table} SELECT * FROM {{from}}.{table} WHERE pool = ?1");
    for (table, parent) in COPY_ORDER {
        let sql = match parent {
            None => rows_of_pool(table),
            Some((parent, key)) => format!(
                "INSERT INTO {{to}}.{table} SELECT t.* FROM {{from}}.{table} t JOIN {{from}}.{parent} p ON p.id = t.{key} WHERE p.pool = ?1"
            ),
        };
        route_across(c, from, to, &sql)?.execute([pool])?;
    }
    route(c, to, "DELETE FROM {db}.pool_sync WHERE pool = ?1 COLLATE NOCASE").execute([pool])?;
    route_across(c, from, to, &rows_of_pool("pool_sync"))?.execute([pool])?;
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

    pub fn conn(&self) -> &db::Db {
        self.store.db()
    }

    /// The store, for reads that need more than the connection.
    pub fn store(&self) -> &Store {
        self.store
    }

    /// See `Store::pool_write`.
    pub fn write<P: Params + Copy>(&self, sql: &str, params: P) -> db::Result<usize> {
        self.store.pool_write(&self.target, sql, params)
    }

    /// See `Store::pool_statements`.
    pub fn statements(&self, sql: &str) -> db::Result<Vec<Statement<'_>>> {
        self.store.pool_statements(&self.target, sql)
    }

    /// See `Store::pool_copies`.
    pub fn copies(&self) -> db::Result<Vec<&str>> {
        self.store.pool_copies(&self.target)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::store::failover::Mark;
    use crate::store::topology::{PCHAT_ROLE, PoolSpec, ServiceSpec, SqlInstanceSpec, TopologySpec};

    pub(in crate::store) const POOL: &str = "pc01.contoso.com";

    /// A store whose one Persistent Chat pool has a primary and a backup database, attached.
    pub(in crate::store) fn mirrored_pool() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("pchat.db")).unwrap();
        let instance = |id: &str| SqlInstanceSpec { identity: id.into(), file: format!("{id}-rtc.db") };
        let spec = TopologySpec {
            sip_domains: vec!["contoso.com".into()],
            sites: vec!["Dublin".into()],
            sql_instances: vec![instance("sql01"), instance("sql02")],
            pools: vec![PoolSpec {
                fqdn: POOL.into(),
                site: "Dublin".into(),
                services: vec![ServiceSpec { role: PCHAT_ROLE.into(), dependents: Vec::new(), version: None }],
                servers: vec!["pchat01.contoso.com".into()],
                active_servers: vec!["pchat01.contoso.com".into()],
                database: Some("sql01".into()),
                backup_database: Some("sql02".into()),
                default_endpoint: None,
            }],
        };
        store.begin(true).unwrap();
        store.replace_topology(&spec).unwrap();
        store.commit().unwrap();
        store.attach_pool_databases().unwrap();
        (dir, store)
    }

    fn marks(store: &Store, target: &PoolTarget) -> Vec<Mark> {
        let mirror = target.mirror.as_deref().unwrap();
        vec![
            store.pool_mark(POOL).unwrap(),
            store.copy_mark(&target.schema, POOL).unwrap(),
            store.copy_mark(mirror, POOL).unwrap(),
        ]
    }

    fn touch(store: &Store, target: &PoolTarget) {
        store.pool_write(target, "DELETE FROM {db}.rooms WHERE pool = ?1 AND 0", [&POOL]).unwrap();
    }

    #[test]
    fn a_transaction_moves_each_pool_mark_once_and_again_after_undoing_its_move() {
        let (_dir, store) = mirrored_pool();
        let pool = store.pool(POOL).unwrap().unwrap();
        store.begin(true).unwrap();
        let target = store.pool_target(&pool).unwrap();
        let (generation, seq) = store.pool_mark(POOL).unwrap();
        // The first item moves the mark, and is undone with its savepoint.
        store.savepoint().unwrap();
        touch(&store, &target);
        store.rollback_to_savepoint();
        assert_eq!(marks(&store, &target), vec![(generation, seq); 3]);
        // So the next item must move it again; later ones leave it.
        for _ in 0..3 {
            store.savepoint().unwrap();
            touch(&store, &target);
            store.release_savepoint().unwrap();
        }
        store.commit().unwrap();
        assert_eq!(marks(&store, &target), vec![(generation, seq + 1); 3]);
        // A new transaction moves it again.
        store.begin(true).unwrap();
        let target = store.pool_target(&pool).unwrap();
        touch(&store, &target);
        store.commit().unwrap();
        assert_eq!(marks(&store, &target), vec![(generation, seq + 2); 3]);
    }

    #[test]
    fn a_pool_file_replaced_during_a_transaction_is_never_committed_to() {
        let (dir, store) = mirrored_pool();
        let pool = store.pool(POOL).unwrap().unwrap();
        store.begin(true).unwrap();
        let target = store.pool_target(&pool).unwrap();
        let before = store.pool_mark(POOL).unwrap();
        touch(&store, &target);
        let backup = dir.path().join("sql02-rtc.db");
        std::fs::rename(&backup, dir.path().join("moved-away.db")).unwrap();
        std::fs::copy(dir.path().join("moved-away.db"), &backup).unwrap();
        let err = CmdletError::from(store.commit().unwrap_err());
        assert!(err.message.contains("sql02-rtc.db was replaced or deleted while in use"), "{}", err.message);
        assert!(!store.in_transaction());
        assert_eq!(store.pool_mark(POOL).unwrap(), before);
    }
}
