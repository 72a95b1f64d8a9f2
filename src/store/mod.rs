//! The store owns all SQL. A central database plus one pool database per SQL instance of the
//! topology, attached to the same connection so one cmdlet invocation is one transaction.

pub mod addin;
pub mod ancestry;
pub mod archive;
pub mod category;
mod columns;
pub mod directory;
pub mod endpoint;
pub mod health;
pub mod message;
pub mod pool_data;
pub mod pools;
pub mod room;
pub mod runbook;
mod schema;
pub mod seed;
pub mod settings;
pub mod topology;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

use topology::PoolRow;

/// How long a writer waits for another process (a scheduled runbook, an open REPL) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Store {
    conn: Connection,
    /// The central database file.
    path: PathBuf,
    dir: PathBuf,
    /// SQL instance identity (lower case) → schema alias of its attached pool database.
    attached: RefCell<HashMap<String, String>>,
    /// SQL instance identity (lower case) → why its database could not be opened.
    unavailable: RefCell<HashMap<String, String>>,
    /// `pools()` with the central database's `data_version` it was read at: nearly every call
    /// resolves a pool, a pipeline once per item. Another process's commit changes the version;
    /// our own topology writes and rollbacks drop the cache (`forget_pools`).
    pools: RefCell<Option<(i64, Vec<PoolRow>)>>,
    /// The `data_version` at which every SQL instance of the topology was last found attached.
    attached_at: Cell<Option<i64>>,
    /// The last id `new_id` handed out.
    last_id: Cell<i64>,
}

/// Page cache per database, in KiB (negative: SQLite's unit for a size rather than a page count).
/// Large imports and bulk changes touch tens of MB of pages; with SQLite's 2 MB default they
/// spill to the WAL and are written again. The cache only grows as far as it is used.
const CACHE_SIZE: i64 = -65536;
/// The page cache of a database being streamed (see `Store::streaming`).
const STREAM_CACHE_SIZE: i64 = -8192;

/// What a WAL file is cut back to after a checkpoint (it otherwise keeps its largest size): the
/// size autocheckpoint lets it reach, so only an outsized transaction (an import) is cut back.
const JOURNAL_SIZE_LIMIT: i64 = 128 << 20;

/// Address space, not memory: only the pages read are mapped in (SQLite's compile-time ceiling).
const MMAP_SIZE: i64 = 0x7fff_0000;

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // WAL lets readers and one writer share the store; NORMAL sync is crash-safe in WAL mode.
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", true)?;
    // Plans that do not depend on bound values: otherwise SQLite re-prepares some cached
    // statements each time a parameter changes, which a 100,000-item pipeline pays per item.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true)?;
    conn.pragma_update(None, "cache_size", CACHE_SIZE)?;
    // Every invocation is a new process with a cold page cache: reading pages through a memory
    // map costs page faults over the OS cache instead of one read system call per 4 KB page.
    conn.pragma_update(None, "mmap_size", MMAP_SIZE)?;
    // Checkpoints copy the WAL into the database and sync both: fewer, larger ones write a page
    // changed by many commits (a 100,000-room runbook) once instead of many times.
    conn.pragma_update(None, "wal_autocheckpoint", 32768)?;
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
    Ok(())
}

/// Apply the migrations this file has not seen yet, in one transaction. True when the file was
/// new (nothing applied before), so that only a new store is seeded, never an upgraded one.
fn migrate(conn: &Connection, steps: &[&str]) -> rusqlite::Result<bool> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version as usize >= steps.len() {
        return Ok(false);
    }
    conn.execute_batch("BEGIN IMMEDIATE")?;
    let result = (|| {
        for step in &steps[version as usize..] {
            conn.execute_batch(step)?;
        }
        conn.pragma_update(None, "user_version", steps.len() as i64)
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT")?,
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e);
        }
    }
    Ok(version == 0)
}

/// Open, configure and migrate one pool database file (creating it when missing).
fn open_pool_file(path: &Path) -> anyhow::Result<()> {
    crate::files::create_private_file(path).with_context(|| format!("cannot create {}", path.display()))?;
    let conn = Connection::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    configure(&conn)?;
    migrate(&conn, schema::POOL).with_context(|| format!("cannot migrate {}", path.display()))?;
    Ok(())
}

/// Move a damaged database file (and its WAL) aside, keeping it for inspection.
fn quarantine(path: &Path) -> anyhow::Result<PathBuf> {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
    let aside = PathBuf::from(format!("{}.damaged-{stamp}", path.display()));
    std::fs::rename(path, &aside).with_context(|| format!("cannot move {} aside", path.display()))?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    Ok(aside)
}

impl Store {
    /// Open (creating if needed) the store at `path`, migrating it and seeding a new one.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        crate::files::create_private_dir_all(&dir)
            .with_context(|| format!("cannot create the store folder {}", dir.display()))?;
        // Owner-only before SQLite opens it: SQLite gives the -wal and -shm files the same mode.
        crate::files::create_private_file(path)
            .with_context(|| format!("cannot create the store {}", path.display()))?;
        let conn = Connection::open(path).with_context(|| format!("cannot open the store {}", path.display()))?;
        crate::interrupt::register(conn.get_interrupt_handle());
        configure(&conn).with_context(|| format!("cannot configure the store {}", path.display()))?;
        let created = migrate(&conn, schema::CENTRAL).with_context(|| format!("cannot migrate {}", path.display()))?;
        let store = Store {
            conn,
            path: path.to_path_buf(),
            dir,
            attached: RefCell::new(HashMap::new()),
            unavailable: RefCell::new(HashMap::new()),
            pools: RefCell::new(None),
            attached_at: Cell::new(None),
            last_id: Cell::new(0),
        };
        if created {
            seed::seed_new_store(&store).context("cannot seed the new store")?;
            store.forget_pools();
        }
        Ok(store)
    }

    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Every database file of the store: the central one and each SQL instance's pool database,
    /// which no file pchat writes may replace.
    pub fn database_files(&self) -> anyhow::Result<Vec<PathBuf>> {
        let mut files = vec![self.path.clone()];
        files.extend(self.sql_instances()?.into_iter().map(|s| self.dir.join(s.file)));
        Ok(files)
    }

    /// The folder pool database files are relative to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Transaction control runs once per call, or per item of a pipeline: cached statements
    /// spare SQLite parsing them each time.
    fn control(&self, sql: &str) -> rusqlite::Result<()> {
        self.conn.prepare_cached(sql)?.execute([]).map(|_| ())
    }

    pub fn begin(&self, write: bool) -> rusqlite::Result<()> {
        self.control(if write { "BEGIN IMMEDIATE" } else { "BEGIN DEFERRED" })
    }

    pub fn commit(&self) -> rusqlite::Result<()> {
        self.control("COMMIT")
    }

    /// Per-item atomicity inside a transaction that spans a whole pipeline (see engine/invoke.rs).
    pub fn savepoint(&self) -> rusqlite::Result<()> {
        self.control("SAVEPOINT item")
    }

    pub fn release_savepoint(&self) -> rusqlite::Result<()> {
        self.control("RELEASE item")
    }

    /// Undo everything since `savepoint` and end it; the enclosing transaction stays open.
    pub fn rollback_to_savepoint(&self) {
        self.forget_pools();
        let _ = self.control("ROLLBACK TO item").and_then(|()| self.control("RELEASE item"));
    }

    pub fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    pub fn rollback(&self) {
        self.forget_pools();
        if !self.conn.is_autocommit() {
            let _ = self.control("ROLLBACK");
        }
    }

    /// Read some schemas as a stream until the guard drops: no memory map (reading a whole
    /// database through it leaves every page resident in this process) and a small page cache (a
    /// single pass over gigabytes gains nothing from a large one). Export's memory stays flat.
    pub fn streaming(&self, schemas: &[&str]) -> rusqlite::Result<Unmapped<'_>> {
        self.unmap(schemas, STREAM_CACHE_SIZE)
    }

    /// Switch the memory map of some schemas off until the guard drops, for a transaction that
    /// writes millions of rows (import): with a map, every page a read cursor touches in a write
    /// transaction is first looked up in the WAL index, which such a transaction grows to
    /// hundreds of thousands of frames.
    pub fn unmapped(&self, schemas: &[&str]) -> rusqlite::Result<Unmapped<'_>> {
        self.unmap(schemas, CACHE_SIZE)
    }

    fn unmap(&self, schemas: &[&str], cache_size: i64) -> rusqlite::Result<Unmapped<'_>> {
        let mut guard = Unmapped { store: self, schemas: Vec::new() };
        for schema in schemas {
            self.conn
                .execute_batch(&format!("PRAGMA {schema}.mmap_size = 0; PRAGMA {schema}.cache_size = {cache_size};"))?;
            guard.schemas.push(schema.to_string());
        }
        Ok(guard)
    }

    /// Drop the cached `pools()`; every write to the topology tables calls this.
    pub(crate) fn forget_pools(&self) {
        self.pools.borrow_mut().take();
        self.attached_at.set(None);
    }

    /// Changes whenever another connection commits to the central database (SQLite's
    /// `PRAGMA data_version`); our own commits leave it alone.
    pub(crate) fn central_version(&self) -> rusqlite::Result<i64> {
        self.conn.prepare_cached("PRAGMA main.data_version")?.query_row([], |r| r.get(0))
    }

    pub(crate) fn cached_pools(&self, version: i64) -> Option<Vec<PoolRow>> {
        self.pools.borrow().as_ref().filter(|(v, _)| *v == version).map(|(_, p)| p.clone())
    }

    pub(crate) fn cache_pools(&self, version: i64, pools: &[PoolRow]) {
        *self.pools.borrow_mut() = Some((version, pools.to_vec()));
    }

    /// Attach the pool database of every SQL instance in the topology, creating and migrating
    /// missing files. ATTACH cannot run inside a transaction, so the engine calls this first.
    /// A file that cannot be opened is recorded as unavailable rather than failing every call:
    /// pools it does not serve keep working (that is what fail-over is for).
    pub fn attach_pool_databases(&self) -> anyhow::Result<()> {
        let version = self.central_version()?;
        if self.attached_at.get() == Some(version) {
            return Ok(());
        }
        let instances: Vec<(String, String)> = self
            .conn
            .prepare_cached("SELECT identity, file FROM sql_instances ORDER BY identity")?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        let mut attached_any = false;
        for (identity, file) in instances {
            let key = identity.to_ascii_lowercase();
            if self.attached.borrow().contains_key(&key) {
                continue;
            }
            let path = self.dir.join(&file);
            let opened = open_pool_file(&path).or_else(|e| {
                // A damaged file that serves no pool holds nothing that is not also in the copy
                // serving that pool: set it aside and start it afresh (repair refills it).
                if self.serves_any_pool(&identity)? {
                    return Err(e);
                }
                let aside = quarantine(&path)?;
                eprintln!("pchat: the pool database {} of {identity} could not be opened ({e:#}); moved it to {} and recreated it", path.display(), aside.display());
                open_pool_file(&path)
            });
            if let Err(e) = opened {
                self.unavailable.borrow_mut().insert(key, format!("{e:#}"));
                continue;
            }
            let alias = format!("pdb{}", self.attached.borrow().len() + 1);
            self.conn
                .execute("ATTACH DATABASE ?1 AS ?2", params![path.to_string_lossy(), alias])
                .with_context(|| format!("cannot attach {}", path.display()))?;
            // Pragmas other than journal_mode are per schema and per connection: without these the
            // attached pool databases would sync every commit (FULL) and keep a 2 MB cache.
            self.conn
                .execute_batch(&format!(
                    "PRAGMA {alias}.synchronous = NORMAL; PRAGMA {alias}.cache_size = {CACHE_SIZE};
                     PRAGMA {alias}.mmap_size = {MMAP_SIZE}; PRAGMA {alias}.journal_size_limit = {JOURNAL_SIZE_LIMIT};"
                ))
                .with_context(|| format!("cannot configure {}", path.display()))?;
            self.unavailable.borrow_mut().remove(&key);
            self.attached.borrow_mut().insert(key, alias);
            attached_any = true;
        }
        if attached_any {
            self.repair_pools()?;
        }
        // Only when every instance is attached: an unavailable file is retried on the next call.
        if self.unavailable.borrow().is_empty() {
            self.attached_at.set(Some(version));
        }
        Ok(())
    }

    /// Does this SQL instance serve a pool now (primary of a Normal pool, backup of a failed-over one)?
    fn serves_any_pool(&self, instance: &str) -> anyhow::Result<bool> {
        Ok(self.pools()?.iter().any(|p| {
            let serving = if p.state == "FailedOver" { &p.backup_database } else { &p.database };
            serving.as_deref().is_some_and(|s| s.eq_ignore_ascii_case(instance))
        }))
    }

    /// Why a SQL instance's pool database is unavailable, if it is.
    pub fn unavailable_reason(&self, sql_instance: &str) -> Option<String> {
        self.unavailable.borrow().get(&sql_instance.to_ascii_lowercase()).cloned()
    }

    /// The schema alias of an attached pool database (see `attach_pool_databases`).
    pub fn pool_schema(&self, sql_instance: &str) -> Option<String> {
        self.attached.borrow().get(&sql_instance.to_ascii_lowercase()).cloned()
    }

    pub fn meta(&self, key: &str) -> rusqlite::Result<Option<String>> {
        self.conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
    }

    pub fn set_meta(&self, key: &str, value: &str) -> rusqlite::Result<()> {
        self.conn
            .execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(|_| ())
    }

    pub fn remove_meta(&self, key: &str) -> rusqlite::Result<()> {
        self.conn.execute("DELETE FROM meta WHERE key = ?1", [key]).map(|_| ())
    }

    /// Record a committed change (who did what to which object), inside the current transaction.
    pub fn audit(&self, cmdlet: &str, target: &str) -> rusqlite::Result<()> {
        let at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        self.conn
            .prepare_cached("INSERT INTO audit(at, cmdlet, target) VALUES (?1, ?2, ?3)")?
            .execute(params![at, cmdlet, target])
            .map(|_| ())
    }
}

/// See `Store::streaming` and `Store::unmapped`.
pub struct Unmapped<'a> {
    store: &'a Store,
    schemas: Vec<String>,
}

impl Drop for Unmapped<'_> {
    fn drop(&mut self) {
        for schema in &self.schemas {
            // Only speed is at stake if this fails; the connection stays correct.
            let _ = self.store.conn.execute_batch(&format!(
                "PRAGMA {schema}.mmap_size = {MMAP_SIZE}; PRAGMA {schema}.cache_size = {CACHE_SIZE};"
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_store_is_migrated_seeded_and_reopens_without_reseeding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/pchat.db");
        let store = Store::open(&path).unwrap();
        let version: i64 = store.conn().query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version as usize, schema::CENTRAL.len());
        let mode: String = store.conn().query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store.conn().query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
        let roles: i64 = store.conn().query_row("SELECT count(*) FROM roles", [], |r| r.get(0)).unwrap();
        assert_eq!(roles, 7);
        drop(store);
        let store = Store::open(&path).unwrap();
        let roles: i64 = store.conn().query_row("SELECT count(*) FROM roles", [], |r| r.get(0)).unwrap();
        assert_eq!(roles, 7);
        for table in ["policies", "configurations", "compliance_configurations"] {
            let global: String =
                store.conn().query_row(&format!("SELECT identity FROM {table}"), [], |r| r.get(0)).unwrap();
            assert_eq!(global, "Global");
        }
    }

    #[test]
    fn a_failed_migration_changes_nothing() {
        let conn = Connection::open_in_memory().unwrap();
        let steps = ["CREATE TABLE a(x);", "CREATE TABLE b(y); CREATE TABLE a(z);"];
        assert!(migrate(&conn, &steps).is_err());
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, 0);
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0)).unwrap();
        assert_eq!(tables, 0);
    }

    /// The step that re-keys messages by room and time keeps every message of an older file.
    #[test]
    fn pool_files_upgrade_with_their_messages() {
        let conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "foreign_keys", true).unwrap();
        let before = schema::POOL.len() - 1;
        migrate(&conn, &schema::POOL[..before]).unwrap();
        conn.execute_batch(
            "INSERT INTO categories(id, pool, name) VALUES (1, 'pc01', 'C');
             INSERT INTO rooms(id, pool, name, category_id) VALUES (7, 'pc01', 'R', 1);
             INSERT INTO messages(id, room_id, message_id, sender, posted_at, text, size_bytes)
                 VALUES (99, 7, 'm-1', 'sip:a@x', 1000, 'hello', 5), (98, 7, 'm-2', 'sip:b@x', 2000, 'bye', 3);",
        )
        .unwrap();
        migrate(&conn, schema::POOL).unwrap();
        let rows: Vec<(i64, i64, i64, String, String)> = conn
            .prepare("SELECT room_id, posted_at, id, message_id, text FROM messages ORDER BY room_id, posted_at, id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            [
                (7, 1000, 99, "m-1".to_string(), "hello".to_string()),
                (7, 2000, 98, "m-2".to_string(), "bye".to_string())
            ]
        );
        // Messages still go with their room.
        conn.execute("DELETE FROM rooms WHERE id = 7", []).unwrap();
        let left: i64 = conn.query_row("SELECT count(*) FROM messages", [], |r| r.get(0)).unwrap();
        assert_eq!(left, 0);
    }

    #[test]
    fn ids_rise_and_never_repeat() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let ids: Vec<i64> = (0..10_000).map(|_| store.new_id()).collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids[0] > 0);
    }
}
