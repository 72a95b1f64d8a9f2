//! Health-monitoring test users per pool (Test-CsPersistentChatMessage -Setup): the two SIP
//! addresses a ServerPlatform test uses when none are given. Central database.

use crate::store::db::{self, OptionalExtension, params};

use super::Store;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthTestUsers {
    pub pool: String,
    pub user1: String,
    pub user2: String,
}

impl Store {
    /// The test users stored for a pool (FQDN, case-insensitive).
    pub fn health_test_users(&self, pool: &str) -> db::Result<Option<HealthTestUsers>> {
        self.db()
            .prepare_cached("SELECT pool, user1, user2 FROM health_test_users WHERE pool = ?1 COLLATE NOCASE")?
            .query_row([pool.trim()], |r| Ok(HealthTestUsers { pool: r.get(0)?, user1: r.get(1)?, user2: r.get(2)? }))
            .optional()
    }

    /// Store (or replace) a pool's test users.
    pub fn set_health_test_users(&self, pool: &str, user1: &str, user2: &str) -> db::Result<()> {
        self.db()
            .prepare_cached(
                "INSERT INTO health_test_users(pool, user1, user2) VALUES (?1, ?2, ?3)
                 ON CONFLICT(pool) DO UPDATE SET pool = excluded.pool, user1 = excluded.user1, user2 = excluded.user2",
            )?
            .execute(params![pool.trim(), user1, user2])
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_users_are_stored_per_pool_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        assert_eq!(store.health_test_users("pc01.contoso.com").unwrap(), None);
        store.set_health_test_users("pc01.contoso.com", "sip:a@contoso.com", "sip:b@contoso.com").unwrap();
        store.set_health_test_users("pc02.contoso.com", "sip:c@contoso.com", "sip:d@contoso.com").unwrap();
        let got = store.health_test_users("PC01.Contoso.com").unwrap().unwrap();
        assert_eq!((got.user1.as_str(), got.user2.as_str()), ("sip:a@contoso.com", "sip:b@contoso.com"));
        store.set_health_test_users("PC01.contoso.com", "sip:e@contoso.com", "sip:f@contoso.com").unwrap();
        let got = store.health_test_users("pc01.contoso.com").unwrap().unwrap();
        assert_eq!(
            got,
            HealthTestUsers {
                pool: "PC01.contoso.com".into(),
                user1: "sip:e@contoso.com".into(),
                user2: "sip:f@contoso.com".into()
            }
        );
        let n: i64 = store.db().query_row("SELECT count(*) FROM health_test_users", (), |r| r.get(0)).unwrap();
        assert_eq!(n, 2);
    }

    #[test]
    fn the_table_survives_reopening_an_existing_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        Store::open(&path).unwrap().set_health_test_users("fe01.contoso.com", "sip:a@x", "sip:b@x").unwrap();
        let store = Store::open(&path).unwrap();
        assert!(store.health_test_users("fe01.contoso.com").unwrap().is_some());
    }

    #[test]
    fn a_store_from_before_the_table_gains_it_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        let older = &crate::store::schema::CENTRAL[..2];
        let conn = crate::store::db::Db::open_sqlite(&path).unwrap();
        crate::store::migrate(&conn, older).unwrap();
        conn.execute("INSERT INTO meta(key, value) VALUES ('kept', 'yes')", ()).unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.meta("kept").unwrap().as_deref(), Some("yes"));
        store.set_health_test_users("pc01.contoso.com", "sip:a@x", "sip:b@x").unwrap();
        let version: i64 = store.db().query_row("PRAGMA user_version", (), |r| r.get(0)).unwrap();
        assert_eq!(version as usize, crate::store::schema::sqlite_steps(crate::store::schema::Database::Central).len());
    }

    /// A seeded store from before the table (the released schema) upgrades without reseeding.
    #[test]
    fn a_seeded_store_upgrades_without_being_seeded_again() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(Store::open(&path).unwrap());
        let conn = crate::store::db::Db::open_sqlite(&path).unwrap();
        conn.execute_batch(
            "DROP TABLE health_test_users; ALTER TABLE sql_instances DROP COLUMN file_id;
             ALTER TABLE pools DROP COLUMN generation; ALTER TABLE pools DROP COLUMN seq;
             ALTER TABLE audit DROP COLUMN actor; ALTER TABLE audit DROP COLUMN parameters;
             ALTER TABLE audit DROP COLUMN before; ALTER TABLE audit DROP COLUMN after;
             ALTER TABLE audit DROP COLUMN source; DROP INDEX audit_unsealed; ALTER TABLE audit DROP COLUMN hash;
             ALTER TABLE audit DROP COLUMN packing; DROP TABLE audit_head;
             DROP TABLE atomic_files; ALTER TABLE services DROP COLUMN version;
             DROP INDEX group_members_order; ALTER TABLE group_members DROP COLUMN ord;
             INSERT INTO audit(at, cmdlet, target) VALUES ('2020-01-01T00:00:00.000Z', 'Publish-CsTopology', 't');
             PRAGMA user_version = 2;",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        let roles: i64 = store.db().query_row("SELECT count(*) FROM roles", (), |r| r.get(0)).unwrap();
        assert_eq!(roles, 7);
        assert_eq!(store.health_test_users("pc01.contoso.com").unwrap(), None);
        // Its audit records were sealed into the chain.
        let v = store.verify_audit(None).unwrap();
        assert_eq!((v.checked, v.broken), (1, None));
    }
}
