//! Faults done to one copy of a pool (`"sql01"` the primary, `"sql02"` the backup, …) as an
//! operator or a failing disk would do them, on either backend: the SQLite pool file in the
//! store's folder, or the pool database on the test's PostgreSQL server. The PostgreSQL analogue
//! of each (issue #18): a deleted file is a dropped database, an emptied file a database dropped
//! and created again empty, a corrupt file a database whose pchat identity is not the one the
//! central database recorded. The shared throwaway server is never stopped here (the tests that
//! stop servers are tests/it/pg_failover.rs).

use super::Store;

/// Where a copy is: its file's path on SQLite, its database's URL on PostgreSQL.
pub fn pool_location(s: &Store, instance: &str) -> String {
    let wanted = instance.to_ascii_lowercase();
    let rows = s.central_db().query("SELECT identity, file FROM sql_instances", &[]);
    let named: Vec<String> = rows
        .iter()
        .filter(|row| {
            let identity = row[0].text().to_ascii_lowercase();
            identity == wanted || identity.split(['.', '\\']).next() == Some(wanted.as_str())
        })
        .map(|row| row[1].text().to_string())
        .collect();
    let [file] = named.as_slice() else { panic!("{} SQL instances named {instance:?}", named.len()) };
    if s.is_postgres() { file.clone() } else { s.dir.path().join(file).to_string_lossy().into_owned() }
}

/// The copy's name as pchat shows it in messages: the file's name on SQLite
/// (`sql01.contoso.com-rtc.db`), the database's name on PostgreSQL.
pub fn pool_name(s: &Store, instance: &str) -> String {
    let location = pool_location(s, instance);
    if s.is_postgres() {
        database_of(&location)
    } else {
        std::path::Path::new(&location).file_name().expect("a file name").to_string_lossy().into_owned()
    }
}

/// Whether the copy exists: its file, or its database on the server.
pub fn pool_db_exists(s: &Store, instance: &str) -> bool {
    let location = pool_location(s, instance);
    if !s.is_postgres() {
        return std::path::Path::new(&location).exists();
    }
    let name = database_of(&location);
    super::pg::connect(&admin_url(&location))
        .query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&name])
        .map(|r| r.get::<_, i64>(0) == 1)
        .expect("list the server's databases")
}

/// The copy is gone: its file and WAL deleted; on PostgreSQL its database dropped (a DBA dropped
/// it: pchat's sessions on it are ended, the server answers "database … does not exist").
pub fn lose_pool_db(s: &Store, instance: &str) {
    let location = pool_location(s, instance);
    if s.is_postgres() {
        admin(&location, &format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", database_of(&location)));
        return;
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{location}{suffix}"));
    }
}

/// The copy replaced by an empty one: an empty file; on PostgreSQL its database dropped and
/// created again empty, as the docs tell a DBA to create one (restored empty).
pub fn empty_pool_db(s: &Store, instance: &str) {
    lose_pool_db(s, instance);
    create_empty_pool_db(s, instance);
}

/// An empty copy where none is (after [`lose_pool_db`]): an empty file, or on PostgreSQL the
/// database created as pchat's advice says (`CREATE DATABASE … TEMPLATE template0 …`).
pub fn create_empty_pool_db(s: &Store, instance: &str) {
    let location = pool_location(s, instance);
    if s.is_postgres() {
        admin(
            &location,
            &format!(
                "CREATE DATABASE \"{}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
                database_of(&location)
            ),
        );
        return;
    }
    std::fs::write(&location, b"").expect("an empty pool file");
}

/// A copy where none is (after [`lose_pool_db`]) holding what the copy at `from` (a
/// [`pool_location`], possibly another store's) holds: its file copied; on PostgreSQL its
/// database created with `from`'s as template (as restoring the wrong backup would). Nothing may
/// be connected to `from`.
pub fn create_pool_db_from(s: &Store, instance: &str, from: &str) {
    let location = pool_location(s, instance);
    if s.is_postgres() {
        let sql = format!("CREATE DATABASE \"{}\" TEMPLATE \"{}\"", database_of(&location), database_of(from));
        admin(&location, &sql);
        return;
    }
    std::fs::copy(from, &location).expect("copy the pool file");
}

/// The copy damaged: its file overwritten with bytes that are no database; on PostgreSQL its
/// pchat identity row changed (what pchat classes as "not the pool database pchat made": it is
/// never served nor written over, and a repair asks for an empty database in its place).
pub fn damage_pool_db(s: &Store, instance: &str) {
    let location = pool_location(s, instance);
    if s.is_postgres() {
        let changed = s.copy_db(instance).execute("UPDATE pool_file SET id = 'damaged' || id", &[]);
        assert_eq!(changed, 1, "the pool database's identity row");
        return;
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{location}{suffix}"));
    }
    std::fs::write(&location, b"this is not a database file, it is garbage.....").expect("damage the pool file");
}

/// On PostgreSQL, the URL of a new empty database of the test's own (made as the docs tell a DBA
/// to make one for pchat, dropped with the store), for a topology to name: `key` names it (the
/// same key gives the same database).
pub fn new_empty_database(s: &Store, key: &str) -> String {
    s.pg.as_ref().expect("a PostgreSQL store").connection_for(&format!("new-{key}"))
}

/// The database name in a PostgreSQL URL.
fn database_of(url: &str) -> String {
    let base = url.split('?').next().unwrap_or(url);
    base.rsplit('/').next().unwrap_or_default().to_string()
}

/// The URL of the `postgres` database of the server `url` is on.
fn admin_url(url: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        Some(q) => format!("{server}/postgres?{q}"),
        None => format!("{server}/postgres"),
    }
}

/// Runs `sql` on the `postgres` database of the server of `url` (as its DBA would).
fn admin(url: &str, sql: &str) {
    super::pg::connect(&admin_url(url)).batch_execute(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

// A2

/// The copy's data damaged: on PostgreSQL one of pchat's tables in it dropped (the counterpart of
/// SQLite pages overwritten past the schema: the database and its identity are intact, its rows
/// are not); on SQLite every page after the first three overwritten.
pub fn break_pool_db_table(s: &Store, instance: &str) {
    let location = pool_location(s, instance);
    if s.is_postgres() {
        s.copy_db(instance).batch("DROP TABLE rooms CASCADE");
        return;
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{location}{suffix}"));
    }
    let mut bytes = std::fs::read(&location).expect("read the pool file");
    for b in bytes.iter_mut().skip(3 * 4096) {
        *b ^= 0xa5;
    }
    std::fs::write(&location, bytes).expect("damage the pool file");
}
