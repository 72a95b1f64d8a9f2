//! The store owns all SQL. A central database plus one pool database per SQL instance of the
//! topology, attached to the same connection so one cmdlet invocation is one transaction (SQLite),
//! or each reached through a session of its own (PostgreSQL, `sessions.rs`; reads only so far).

pub mod access;
pub mod addin;
pub mod ancestry;
pub mod archive;
pub mod audit;
mod audit_packing;
pub mod category;
mod columns;
pub mod commit;
pub mod db;
pub mod described;
mod dialect;
pub mod directory;
pub mod endpoint;
pub mod failover;
pub mod health;
mod leftovers;
mod local_units;
pub mod message;
pub(crate) mod message_batch;
pub mod pg;
pub mod pool_data;
pub mod pool_files;
pub mod pools;
mod repoint;
pub mod room;
pub mod route;
pub mod runbook;
mod schema;
pub mod seed;
mod sessions;
pub mod settings;
pub mod topology;
mod turns;
mod unit;
mod unmade;

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use anyhow::Context;
use db::{CACHE_SIZE, JOURNAL_SIZE_LIMIT, MMAP_SIZE, OptionalExtension, params};
use route::Target;
use sessions::{Attached, Backend};

use topology::PoolRow;

/// See `Store::cache_key`.
pub(crate) type CacheKey = (i64, i64);
/// A `sql_instances` row: identity, file, recorded file identity.
type InstanceRow = (String, String, Option<String>);

pub struct Store {
    /// The central connection's place among those Ctrl-C interrupts, while the store is open
    /// (declared before `db`: taken out before the connection closes).
    _interrupt: crate::interrupt::Registered,
    /// The central database's connection (SQLite: with every pool file attached to it).
    db: db::Db,
    /// How the pool databases are reached: SQLite's attached files, or PostgreSQL's sessions.
    backend: Backend,
    /// The central database file (SQLite; empty on PostgreSQL, see `open_postgres`).
    path: PathBuf,
    dir: PathBuf,
    /// SQL instance identity (lower case) → why its database could not be opened.
    unavailable: RefCell<HashMap<String, String>>,
    /// `pools()` with the moment it was read: nearly every call resolves a pool, a pipeline once
    /// per item. The moment is the central database's `data_version` (changed by every other
    /// connection's commit) and this connection's topology epoch (moved by temporary triggers on
    /// every row this connection writes to the tables `pools()` reads, see
    /// `topology::watch_topology`): the rows cannot differ from the database's while both are
    /// equal. A rollback takes the epoch back with the rows, so rollbacks drop the memo too.
    /// On PostgreSQL the moment is the `store_epoch` row (see `cache_key`).
    pools: RefCell<Option<(CacheKey, Rc<[PoolRow]>)>>,
    /// The `sql_instances` rows `attach_pool_databases` reads before every invocation, memoised
    /// like `pools` (the epoch's triggers watch that table too).
    instances: RefCell<Option<(CacheKey, Rc<[InstanceRow]>)>>,
    /// Whether the open transaction is a writer's (`begin(true)`): it holds the central
    /// database's write lock, and that of each pool database as soon as it is used (`lock_copy`).
    locked: Cell<bool>,
    /// Attached schemas whose write lock the open write transaction holds (see `lock_copy`).
    copies_locked: RefCell<HashSet<String>>,
    /// Set when a check made without the lock found the copies of a pool out of step: the
    /// engine runs the call again under the lock to tell a race from a real fault.
    recheck: Cell<bool>,
    /// The last id `new_id` handed out.
    last_id: Cell<i64>,
    /// The audit trail's head as of the open transaction's appends, written once at commit (see
    /// store/audit.rs), and its values at each open savepoint.
    audit_head: RefCell<Option<audit::Head>>,
    audit_saved: RefCell<Vec<audit::Saved>>,
    /// Records appended in the open transaction and not yet inserted (see `flush_audit`).
    audit_pending: RefCell<audit::Waiting>,
    /// Transactions begun on this connection, and this connection's writes to what roles are made
    /// of (see `access::AccessKey` and `locked_moment`).
    transactions: Cell<u64>,
    access_writes: Cell<u64>,
    /// Pools (lower-case FQDN) whose mark the open transaction has moved on (see
    /// `pool_statements`): one move per transaction, not one per item of a 100,000-item
    /// pipeline. Emptied whenever the move could have been undone (savepoint rollback) or the
    /// transaction ends.
    marked: RefCell<HashSet<String>>,
    /// Pools (lower-case FQDN) whose marks the open transaction set (`set_marks`), kept until it
    /// ends: the pools a failed COMMIT may have left in part (`commit_intent`). With the mark and
    /// the copies set to it, or None once a savepoint rollback may have undone that (the marks are
    /// then read back).
    marks_set: RefCell<HashMap<String, Option<commit::MarksSet>>>,
    /// SQL instances (lower case) whose file the open transaction found to be the one attached
    /// (see `copy_state`); checked again just before COMMIT, where a replaced file matters.
    verified: RefCell<HashSet<String>>,
    /// SQL instances (lower case) whose file `begin_attached` found to be the one attached, after
    /// BEGIN: `copy_state` needs no second look at them in this transaction.
    checked_at_begin: RefCell<HashSet<String>>,
    /// Pool files a repair rebuilt and moved into place in the open transaction: put back as they
    /// were if it does not commit (see `pool_files::undo_swap`).
    rebuilt: RefCell<Vec<pool_files::Swap>>,
}

/// Why `Store::begin_attached` could not open the transaction.
pub enum BeginError {
    /// Bringing the pool databases' attachments up to date failed.
    Attach(anyhow::Error),
    /// BEGIN itself failed (busy, interrupted).
    Begin(db::DbError),
}

/// The page cache of a database being streamed (see `Store::streaming`; the usual size is
/// `db::CACHE_SIZE`).
const STREAM_CACHE_SIZE: i64 = -8192;

/// A schema version above the steps this pchat knows: the file was written by a newer pchat,
/// whose rules (audit chain, fail-over marks, new columns) this one would not keep. Checked
/// before anything is read or written, so an old binary left on a cron host stops instead.
fn newer_schema(conn: &db::Db, steps: &[&str]) -> db::Result<Option<i64>> {
    let version: i64 = conn.query_row(dialect::SCHEMA_VERSION, (), |r| r.get(0))?;
    Ok((version as usize > steps.len()).then_some(version))
}

/// The words of `newer_schema_error` that the fail-over advice looks for: failing over from, or
/// repairing over, a copy that a newer pchat wrote would set its newer changes aside.
/// What a PostgreSQL pool database's reason for being unavailable says when its server did not
/// answer (`db::server_silent`): its data may be intact, so the advice is to bring the server
/// back, not to repair (fail-back, repair, and stdlib/failover.rhai look for it).
pub(crate) const SERVER_SILENT: &str = "its server does not answer";

/// What a PostgreSQL pool database's reason for being unavailable says when its server answers
/// that the database does not exist (`db::database_missing`): a repair can rebuild it only once
/// it is created empty, so the advice gives the CREATE DATABASE line first (fail-back, repair).
pub(crate) const DATABASE_MISSING: &str = "its server answers, but the database does not exist";

pub(crate) const WRITTEN_BY_NEWER: &str = "was written by a newer pchat";

/// What a newer schema version is told as: `what` names the file.
fn newer_schema_error(what: &str, version: i64, steps: &[&str]) -> String {
    format!(
        "{what} {WRITTEN_BY_NEWER} (schema version {version}; this pchat {} knows versions up to {}): run that pchat or a newer one; this one changes nothing in it",
        env!("CARGO_PKG_VERSION"),
        steps.len()
    )
}

/// Apply the migrations this file has not seen yet, in one transaction. True when the file was
/// new (nothing applied before), so that only a new store is seeded, never an upgraded one.
fn migrate(conn: &db::Db, steps: &[&str]) -> db::Result<bool> {
    let version: i64 = conn.query_row(dialect::SCHEMA_VERSION, (), |r| r.get(0))?;
    if version as usize >= steps.len() {
        return Ok(false);
    }
    conn.begin(db::Begin::Immediate)?;
    let result = (|| {
        // A PostgreSQL-only step is empty here: it only moves the version.
        for step in steps[version as usize..].iter().filter(|s| !s.is_empty()) {
            conn.execute_batch(step)?;
        }
        conn.execute_batch(&dialect::set_schema_version(steps.len()))
    })();
    match result {
        Ok(()) => conn.commit()?,
        Err(e) => {
            let _ = conn.rollback();
            return Err(e);
        }
    }
    Ok(version == 0)
}

impl Store {
    /// Open (creating if needed) the store at `path`, migrating it and seeding a new one.
    pub fn open(path: &Path) -> anyhow::Result<Store> {
        // The target of a copy-store that was interrupted, or is running: not made a new store.
        if let Some(why) = pg::copy_back::leftover(path) {
            anyhow::bail!(why);
        }
        let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
        crate::files::create_private_dir_all(&dir)
            .with_context(|| format!("cannot create the store folder {}", dir.display()))?;
        // Owner-only before SQLite opens it: SQLite gives the -wal and -shm files the same mode.
        crate::files::create_private_file(path)
            .with_context(|| format!("cannot create the store {}", path.display()))?;
        let db = db::Db::open_sqlite(path).with_context(|| format!("cannot open the store {}", path.display()))?;
        // Registered before configure and migrate: Ctrl-C can stop a long migration.
        let handle = db.interrupt_handle();
        let interrupt = crate::interrupt::register(move || handle.interrupt());
        db.configure().with_context(|| format!("cannot configure the store {}", path.display()))?;
        let steps = schema::sqlite_steps(schema::Database::Central);
        if let Some(v) = newer_schema(&db, steps).with_context(|| format!("cannot read {}", path.display()))? {
            anyhow::bail!(newer_schema_error(&format!("the store {}", path.display()), v, steps));
        }
        let created = migrate(&db, steps).with_context(|| format!("cannot migrate {}", path.display()))?;
        topology::watch_topology(&db).with_context(|| format!("cannot prepare {}", path.display()))?;
        let store = Store::with_backend(db, interrupt, Backend::Sqlite(Default::default()), path.to_path_buf(), dir);
        if created {
            seed::seed_new_store(&store).context("cannot seed the new store")?;
            store.forget_pools();
        }
        store.seal_unchained_audit().context("cannot seal the audit records of an older store")?;
        Ok(store)
    }

    fn with_backend(
        db: db::Db,
        interrupt: crate::interrupt::Registered,
        backend: Backend,
        path: PathBuf,
        dir: PathBuf,
    ) -> Store {
        Store {
            _interrupt: interrupt,
            db,
            backend,
            path,
            dir,
            unavailable: RefCell::new(HashMap::new()),
            pools: RefCell::new(None),
            instances: RefCell::new(None),
            locked: Cell::new(false),
            recheck: Cell::new(false),
            last_id: Cell::new(0),
            audit_head: RefCell::new(None),
            audit_saved: RefCell::new(Vec::new()),
            audit_pending: RefCell::new(audit::Waiting::default()),
            transactions: Cell::new(0),
            access_writes: Cell::new(0),
            marked: RefCell::new(HashSet::new()),
            marks_set: RefCell::new(HashMap::new()),
            verified: RefCell::new(HashSet::new()),
            checked_at_begin: RefCell::new(HashSet::new()),
            copies_locked: RefCell::new(HashSet::new()),
            rebuilt: RefCell::new(Vec::new()),
        }
    }

    /// The store's database connection.
    pub fn db(&self) -> &db::Db {
        &self.db
    }

    /// Every database file of the store: the central one and each SQL instance's pool database,
    /// which no file pchat writes may replace.
    pub fn database_files(&self) -> anyhow::Result<Vec<PathBuf>> {
        if self.is_postgres() {
            // No database is a file here.
            return Ok(Vec::new());
        }
        let mut files = vec![self.path.clone()];
        files.extend(self.sql_instances()?.into_iter().map(|s| self.dir.join(s.file)));
        Ok(files)
    }

    /// The PostgreSQL password file this process reads for the store's connections (whether it
    /// exists or not: one made there would be read); None on SQLite. Never written by a script
    /// (`files::Guard`).
    pub fn password_file(&self) -> Option<PathBuf> {
        if self.is_postgres() { pg::passfile::location() } else { None }
    }

    /// The central database's file (SQLite; empty on PostgreSQL).
    pub fn file(&self) -> &Path {
        &self.path
    }

    /// The folder pool database files are relative to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Transaction control runs once per call, or per item of a pipeline: cached statements
    /// spare SQLite parsing them each time (`Db::begin` and the savepoints are cached too).
    fn control(&self, sql: &str) -> db::Result<()> {
        self.db.prepare_cached(sql)?.execute(()).map(|_| ())
    }

    /// A write transaction takes the write lock of the central database before anything is read,
    /// and that of a pool database before anything is read from it (`lock_copy`). Every writer
    /// takes the central lock first, so writers still run one at a time, but a call that changes
    /// one pool no longer locks (and unlocks at commit) the files of every other pool, as BEGIN
    /// IMMEDIATE did: about five system calls per other file per transaction.
    pub fn begin(&self, write: bool) -> db::Result<()> {
        self.recheck.set(false);
        self.forget_audit_head();
        self.end_of_transaction();
        if self.is_postgres() {
            self.begin_postgres(write)?;
            self.transactions.set(self.transactions.get() + 1);
            self.locked.set(write);
            return Ok(());
        }
        self.db.begin(db::Begin::Deferred)?;
        if write {
            // A write statement, even one that changes nothing, takes the schema's write lock
            // (waiting for it as BEGIN IMMEDIATE would: nothing was read before it).
            if let Err(e) = self.control("DELETE FROM main.meta WHERE 0") {
                let _ = self.db.rollback();
                return Err(e);
            }
        }
        self.transactions.set(self.transactions.get() + 1);
        self.locked.set(write);
        Ok(())
    }

    /// In a write transaction, take the write lock of an attached pool database before the first
    /// read from it, so that what is read there (a copy's mark, its data) cannot change before
    /// the transaction ends.
    ///
    /// Not on PostgreSQL, where the statement is no lock (and `WHERE 0` no boolean): a write
    /// transaction is SERIALIZABLE on every session, so what it reads from a copy cannot change
    /// under it without its commit failing with 40001, which the invocation boundary retries.
    pub(crate) fn lock_copy(&self, schema: &str) -> db::Result<()> {
        if self.is_postgres() {
            return Ok(());
        }
        if self.is_locked() && !self.copies_locked.borrow().contains(schema) {
            self.route(Target::Copy(schema), "DELETE FROM {db}.pool_sync WHERE 0").prepare_cached()?.execute(())?;
            self.copies_locked.borrow_mut().insert(schema.to_string());
        }
        Ok(())
    }

    /// Commit, unless a pool database file the transaction used was replaced or deleted since
    /// it was checked: its changes would go to a file nobody opens again, so everything is rolled
    /// back instead and the error names the file.
    pub fn commit(&self) -> db::Result<()> {
        self.commit_telling().map_err(|f| f.error)
    }

    /// `commit`, telling how far a failed one got (see `store::commit`): an atomic run places its
    /// files only when its changes were kept.
    pub fn commit_telling(&self) -> Result<(), commit::CommitFailure> {
        if self.is_postgres() {
            // The two-phase commit across the central and pool databases (sessions.rs).
            return self.commit_postgres();
        }
        let replaced = self.verified.borrow().iter().find(|i| self.attached_file_changed(i)).cloned();
        if let Some(instance) = replaced {
            self.rollback();
            let path = self.pool_file_path(&instance).ok().flatten().unwrap_or_else(|| PathBuf::from(&instance));
            return Err(commit::CommitFailure::nothing(db::DbError::refused(
                crate::errors::CmdletError::invalid_operation(format!(
                    "the file {} was replaced or deleted while in use; nothing was committed",
                    path.display()
                )),
            )));
        }
        if let Err(e) = self.write_audit_head() {
            // No change commits without its record.
            self.rollback();
            return Err(commit::CommitFailure::nothing(e));
        }
        let intent = self.commit_intent();
        if let Err(e) = self.db.commit() {
            return Err(self.commit_failed(&intent, e));
        }
        self.locked.set(false);
        self.end_of_transaction();
        Ok(())
    }

    fn end_of_transaction(&self) {
        self.rebuilt.borrow_mut().clear();
        self.marked.borrow_mut().clear();
        self.marks_set.borrow_mut().clear();
        self.verified.borrow_mut().clear();
        self.checked_at_begin.borrow_mut().clear();
        self.copies_locked.borrow_mut().clear();
    }

    /// `attach_pool_databases` then `begin`, with the attachments checked after BEGIN instead of
    /// before it whenever they were complete: a read before BEGIN is a transaction of its own
    /// (read locks taken and dropped on the central database, once per cmdlet call), whereas
    /// inside the transaction the `sql_instances` rows cost no lock. The checks are the same: the
    /// rows the attachments were made from (memo key, or the rows themselves when another
    /// connection committed), no pool without a mark, and every attached file still the one on
    /// disk. When any fails, or some instance is unavailable (each call tries it again), the
    /// transaction is dropped and the attachments brought up to date first, as before.
    pub fn begin_attached(&self, write: bool) -> Result<(), BeginError> {
        if self.instances.borrow().is_some() && self.unavailable.borrow().is_empty() {
            self.begin(write).map_err(BeginError::Begin)?;
            match self.attachments_current() {
                Ok(true) => return Ok(()),
                Ok(false) => self.rollback_keeping_turn(),
                Err(e) => {
                    self.rollback();
                    return Err(BeginError::Begin(e));
                }
            }
        }
        // A file found unusable may be rebuilt (Repair-CsPersistentChatDatabase) by the command
        // that holds the lock while this one waits for it: once the lock is ours, rows that moved
        // on since the attachments were made mean attaching again, so that the rebuilt file is
        // used rather than rebuilt a second time over the first's work.
        for _ in 0..8 {
            self.attach_pool_databases().map_err(BeginError::Attach)?;
            crate::fault::point("begin:attached");
            self.begin(write).map_err(BeginError::Begin)?;
            if !write || self.unavailable.borrow().is_empty() {
                return Ok(());
            }
            let memo = self.instances.borrow().as_ref().map(|(_, rows)| Rc::clone(rows));
            // On PostgreSQL the rows stay the same: the rebuilt database's new identity record
            // tells.
            let moved = self
                .read_instance_rows()
                .and_then(|now| Ok(memo.is_none_or(|m| *m != *now) || self.unavailable_rebuilt()?));
            match moved {
                Ok(false) => return Ok(()),
                Ok(true) => self.rollback_keeping_turn(),
                Err(e) => {
                    self.rollback();
                    return Err(BeginError::Begin(e));
                }
            }
        }
        self.attach_pool_databases().map_err(BeginError::Attach)?;
        self.begin(write).map_err(BeginError::Begin)
    }

    /// Inside the transaction `begin_attached` opened: are the attachments what
    /// `attach_pool_databases` would make them now? Notes each attached file as checked.
    fn attachments_current(&self) -> db::Result<bool> {
        let key = self.cache_key()?;
        let memo = self.instances.borrow().clone();
        let Some((memo_key, rows)) = memo else { return Ok(false) };
        if memo_key != key {
            // Another connection committed to the central database: most often rooms, not
            // topology. Same rows, and no pool without a mark, keep the attachments.
            let now = self.read_instance_rows()?;
            if *now != *rows || self.has_unrecorded_pools()? {
                return Ok(false);
            }
            *self.instances.borrow_mut() = Some((key, rows.clone()));
        }
        // The memo is only kept by an `attach_pool_databases` that completed, and nothing is
        // unavailable: one attachment per row, made from these rows.
        let Backend::Sqlite(files) = &self.backend else { return Ok(self.sessions_current(rows.len())) };
        let attached = files.attached.borrow();
        if attached.len() != rows.len() {
            return Ok(false);
        }
        let mut checked = self.checked_at_begin.borrow_mut();
        for (key, a) in attached.iter() {
            if pool_files::file_key(&a.path) != Some(a.file) {
                return Ok(false);
            }
            checked.insert(key.clone());
        }
        Ok(true)
    }

    /// Whether `begin_attached` found this SQL instance's file to be the attached one in this
    /// transaction.
    pub(crate) fn checked_at_begin(&self, instance: &str) -> bool {
        self.in_transaction() && self.checked_at_begin.borrow().contains(&instance.to_ascii_lowercase())
    }

    /// Note that this transaction sets the pool's marks to `mark`, the central one and those of
    /// `copies` (see `marks_set`).
    pub(crate) fn note_marks_set(&self, fqdn: &str, mark: failover::Mark, copies: &[&str]) {
        let set =
            commit::MarksSet { fqdn: fqdn.to_string(), mark, copies: copies.iter().map(|c| c.to_string()).collect() };
        self.marks_set.borrow_mut().insert(fqdn.to_ascii_lowercase(), Some(set));
    }

    /// A savepoint rollback may have undone marks set since it began: read them back at commit.
    fn forget_marks_set(&self) {
        self.marks_set.borrow_mut().values_mut().for_each(|m| *m = None);
    }

    /// Note that this transaction moved the pool's mark on; false when it already had.
    pub(crate) fn first_mark_in_transaction(&self, fqdn: &str) -> bool {
        self.marked.borrow_mut().insert(fqdn.to_ascii_lowercase())
    }

    /// Whether this transaction already found the SQL instance's file to be the attached one.
    pub(crate) fn verified_in_transaction(&self, instance: &str) -> bool {
        self.in_transaction() && self.verified.borrow().contains(&instance.to_ascii_lowercase())
    }

    pub(crate) fn note_verified(&self, instance: &str) {
        if self.in_transaction() {
            self.verified.borrow_mut().insert(instance.to_ascii_lowercase());
        }
    }

    /// Does the open transaction hold every write lock (so what it reads cannot change under it)?
    pub fn is_locked(&self) -> bool {
        self.locked.get() && self.in_transaction()
    }

    /// Ask the engine to run this read again under the lock (see `recheck`).
    pub(crate) fn want_recheck(&self) {
        self.recheck.set(true);
    }

    /// Whether the call that just failed should run again under the lock.
    pub fn take_recheck(&self) -> bool {
        self.recheck.replace(false)
    }

    /// Per-item atomicity inside a transaction that spans a whole pipeline (see engine/invoke.rs).
    pub fn savepoint(&self) -> db::Result<()> {
        self.save_audit_state()?;
        self.savepoint_named("item").inspect_err(|_| self.drop_audit_state())
    }

    pub fn release_savepoint(&self) -> db::Result<()> {
        self.release_named("item")?;
        self.drop_audit_state();
        Ok(())
    }

    /// Undo everything since `savepoint` and end it; the enclosing transaction stays open.
    pub fn rollback_to_savepoint(&self) {
        self.forget_pools();
        self.restore_audit_state();
        // The item's move of a pool mark may be among what is undone.
        self.marked.borrow_mut().clear();
        self.forget_marks_set();
        let _ = self.rollback_to_named("item").and_then(|()| self.release_named("item"));
    }

    pub fn in_transaction(&self) -> bool {
        !self.db().is_autocommit()
    }

    pub fn rollback(&self) {
        // Before the locks go: no other repair may meanwhile take the rebuilt file for its own.
        for line in self.undo_rebuilt() {
            eprintln!("WARNING: {line}");
        }
        self.forget_pools();
        self.forget_audit_head();
        self.end_of_transaction();
        self.locked.set(false);
        if !self.db().is_autocommit() {
            let _ = self.db.rollback();
        }
        if self.is_postgres() {
            self.rollback_sessions();
        }
    }

    /// Read some schemas as a stream until the guard drops: no memory map (reading a whole
    /// database through it leaves every page resident in this process) and a small page cache (a
    /// single pass over gigabytes gains nothing from a large one). Export's memory stays flat.
    pub fn streaming(&self, databases: &[Target<'_>]) -> db::Result<Unmapped<'_>> {
        self.unmap(databases, STREAM_CACHE_SIZE)
    }

    /// Switch the memory map of some schemas off until the guard drops, for a transaction that
    /// writes millions of rows (import): with a map, every page a read cursor touches in a write
    /// transaction is first looked up in the WAL index, which such a transaction grows to
    /// hundreds of thousands of frames.
    pub fn unmapped(&self, databases: &[Target<'_>]) -> db::Result<Unmapped<'_>> {
        self.unmap(databases, CACHE_SIZE)
    }

    fn unmap(&self, databases: &[Target<'_>], cache_size: i64) -> db::Result<Unmapped<'_>> {
        let mut guard = Unmapped { store: self, databases: Vec::new() };
        if self.is_postgres() {
            // SQLite's page cache and memory map: nothing to set on a server.
            return Ok(guard);
        }
        let pragmas = format!("PRAGMA {{db}}.mmap_size = 0; PRAGMA {{db}}.cache_size = {cache_size};");
        for &target in databases {
            self.route(target, &pragmas).execute_batch()?;
            guard.databases.push(match target {
                Target::Central => None,
                Target::Copy(copy) => Some(copy.to_string()),
            });
        }
        Ok(guard)
    }

    /// Drop the cached `pools()` (after a rollback; see `pools`).
    pub(crate) fn forget_pools(&self) {
        self.pools.borrow_mut().take();
    }

    /// Changes whenever another connection commits to the central database (SQLite's
    /// `PRAGMA data_version`) or this one writes a row `pools()` reads (see `pools`). On
    /// PostgreSQL: the `store_epoch` row (`schema::STORE_EPOCH`), which every statement writing
    /// those tables moves, in its transaction; read once per read transaction.
    pub(crate) fn cache_key(&self) -> db::Result<CacheKey> {
        if self.is_postgres() {
            return Ok((self.store_epoch()?, 0));
        }
        let version = self.db().prepare_cached("PRAGMA main.data_version")?.query_row((), |r| r.get(0))?;
        Ok((version, topology::topology_epoch(&self.db)?))
    }

    pub(crate) fn cached_pools(&self, key: CacheKey) -> Option<Rc<[PoolRow]>> {
        self.pools.borrow().as_ref().filter(|(k, _)| *k == key).map(|(_, p)| Rc::clone(p))
    }

    pub(crate) fn cache_pools(&self, key: CacheKey, pools: Rc<[PoolRow]>) {
        *self.pools.borrow_mut() = Some((key, pools));
    }

    /// Every SQL instance: identity, file (relative to the store's folder) and the identity
    /// recorded for that file, memoised as `pools` is.
    /// `true` with rows read afresh.
    fn instance_rows(&self) -> db::Result<(Rc<[InstanceRow]>, bool)> {
        let key = self.cache_key()?;
        if let Some((k, rows)) = self.instances.borrow().as_ref()
            && *k == key
        {
            return Ok((Rc::clone(rows), false));
        }
        let rows = self.read_instance_rows()?;
        *self.instances.borrow_mut() = Some((key, Rc::clone(&rows)));
        Ok((rows, true))
    }

    fn read_instance_rows(&self) -> db::Result<Rc<[InstanceRow]>> {
        Ok(self
            .db()
            .prepare_cached("SELECT identity, file, file_id FROM sql_instances ORDER BY identity")?
            .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<db::Result<Vec<_>>>()?
            .into())
    }

    /// Attach the pool database of every SQL instance in the topology that is the file the store
    /// recorded for it, and detach those that vanished or changed on disk. ATTACH cannot run
    /// inside a transaction, so the engine calls this before each one. Nothing is created,
    /// repaired or copied here: a file that cannot be used is recorded as unavailable, with the
    /// reason, and pools it does not serve keep working (that is what fail-over is for).
    pub fn attach_pool_databases(&self) -> anyhow::Result<()> {
        // Half-made attachments must not pass for the memo's (see `attachments_current`).
        match &self.backend {
            Backend::Sqlite(files) => self.attach_from_rows(files),
            Backend::Pg(_) => self.open_pool_sessions(),
        }
        .inspect_err(|_| drop(self.instances.take()))
    }

    fn attach_from_rows(&self, files: &sessions::Files) -> anyhow::Result<()> {
        let (instances, fresh) = self.instance_rows()?;
        let stale: Vec<String> = files
            .attached
            .borrow()
            .iter()
            .filter(|(key, a)| {
                let now = instances.iter().find(|(i, _, _)| i.eq_ignore_ascii_case(key));
                now.is_none_or(|(_, file, _)| {
                    a.path != self.dir.join(file) || pool_files::file_key(&a.path) != Some(a.file)
                })
            })
            .map(|(key, _)| key.clone())
            .collect();
        for key in stale {
            if let Some(a) = files.attached.borrow_mut().remove(&key) {
                self.db()
                    .execute("DETACH DATABASE ?1", [&a.alias])
                    .with_context(|| format!("cannot detach {}", a.path.display()))?;
            }
        }
        self.unavailable.borrow_mut().clear();
        let mut adopted = false;
        let mut store_id = None;
        for (identity, file, recorded) in instances.iter() {
            let key = identity.to_ascii_lowercase();
            if files.attached.borrow().contains_key(&key) {
                continue;
            }
            let path = self.dir.join(file);
            let found = match pool_files::inspect(&path) {
                Ok(found) => found,
                Err(why) => {
                    self.unavailable.borrow_mut().insert(key, why);
                    continue;
                }
            };
            if store_id.is_none() {
                store_id = Some(self.store_id()?);
            }
            if let Some(owner) = found.other_store(store_id.as_ref().and_then(|s| s.as_deref())) {
                // Never served, whatever this store recorded: another store writes to it.
                self.unavailable.borrow_mut().insert(key, pool_files::belongs_to(&path, owner));
                continue;
            }
            let id = found.id;
            match recorded {
                Some(r) if *r != id => {
                    self.unavailable.borrow_mut().insert(
                        key,
                        format!("the file {} is not the one pchat created for {identity} (it was replaced or copied from elsewhere)", path.display()),
                    );
                    continue;
                }
                Some(_) => {}
                None => {
                    // A store from before files had identities: record the file it has.
                    self.db()
                        .execute("UPDATE sql_instances SET file_id = ?2 WHERE identity = ?1", params![identity, id])?;
                    adopted = true;
                }
            }
            let before = pool_files::file_key(&path);
            files.aliases.set(files.aliases.get() + 1);
            let alias = format!("pdb{}", files.aliases.get());
            self.db()
                .execute("ATTACH DATABASE ?1 AS ?2", params![pool_files::uri_rw(&path), alias])
                .with_context(|| format!("cannot attach {}", path.display()))?;
            let after = pool_files::file_key(&path);
            let same: Option<String> = self
                .route(Target::Copy(&alias), "SELECT id FROM {db}.pool_file")
                .query_row((), |r| r.get(0))
                .optional()
                .ok()
                .flatten();
            if before != after || after.is_none() || same.as_deref() != Some(id.as_str()) {
                self.db().execute("DETACH DATABASE ?1", [&alias])?;
                self.unavailable
                    .borrow_mut()
                    .insert(key, format!("the file {} changed while it was being opened", path.display()));
                continue;
            }
            // Pragmas other than journal_mode are per schema and per connection: without these the
            // attached pool databases would sync every commit (FULL) and keep a 2 MB cache.
            self.route(
                Target::Copy(&alias),
                &format!(
                    "PRAGMA {{db}}.synchronous = NORMAL; PRAGMA {{db}}.cache_size = {CACHE_SIZE};
                     PRAGMA {{db}}.mmap_size = {MMAP_SIZE}; PRAGMA {{db}}.journal_size_limit = {JOURNAL_SIZE_LIMIT};"
                ),
            )
            .execute_batch()
            .with_context(|| format!("cannot configure {}", path.display()))?;
            files.attached.borrow_mut().insert(key, Attached { alias, path, file: after.unwrap_or_default() });
        }
        // Pools without a mark come only from rows written since the memo was read (inserts move
        // the epoch), so unchanged rows need no second look.
        let legacy = || -> anyhow::Result<()> {
            if adopted || (fresh && self.has_unrecorded_pools()?) {
                self.record_legacy_pools()?;
            }
            Ok(())
        };
        legacy()
    }

    /// The path of an SQL instance's pool database file (whether or not it exists).
    pub fn pool_file_path(&self, sql_instance: &str) -> db::Result<Option<PathBuf>> {
        let file: Option<String> = self
            .db()
            .prepare_cached("SELECT file FROM sql_instances WHERE identity = ?1")?
            .query_row([sql_instance], |r| r.get(0))
            .optional()?;
        Ok(file.map(|f| self.dir.join(f)))
    }

    /// Has the file serving this attached schema been replaced or deleted since it was attached?
    pub fn attached_file_changed(&self, sql_instance: &str) -> bool {
        let Backend::Sqlite(files) = &self.backend else { return false };
        files
            .attached
            .borrow()
            .get(&sql_instance.to_ascii_lowercase())
            .is_some_and(|a| pool_files::file_key(&a.path) != Some(a.file))
    }

    fn has_unrecorded_pools(&self) -> db::Result<bool> {
        self.db().prepare_cached("SELECT EXISTS(SELECT 1 FROM pools WHERE seq IS NULL)")?.query_row((), |r| r.get(0))
    }

    /// A store from before pools had generations: record, once, the change counter of the copy
    /// serving each pool (or 0 when it cannot be read: the copies' checks then say what to do).
    fn record_legacy_pools(&self) -> anyhow::Result<()> {
        let pools: Vec<PoolRow> = self.pools()?.into_iter().filter(|p| p.is_pchat).collect();
        self.db().execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| -> db::Result<()> {
            for p in &pools {
                let seq = match p.serving_database().and_then(|s| self.pool_schema(s)) {
                    Some(schema) => self.copy_mark(&schema, &p.fqdn)?.1,
                    None => 0,
                };
                self.db().execute(
                    "UPDATE pools SET seq = ?2, generation = 1 WHERE fqdn = ?1 AND seq IS NULL",
                    params![p.fqdn, seq],
                )?;
            }
            self.db().execute("UPDATE pools SET seq = 0 WHERE seq IS NULL", ()).map(|_| ())
        })();
        match result {
            Ok(()) => self.db().execute_batch("COMMIT")?,
            Err(e) => {
                self.rollback();
                return Err(e.into());
            }
        }
        Ok(())
    }

    /// Why a SQL instance's pool database is unavailable, if it is.
    pub fn unavailable_reason(&self, sql_instance: &str) -> Option<String> {
        self.unavailable.borrow().get(&sql_instance.to_ascii_lowercase()).cloned()
    }

    /// The schema alias of an attached pool database (see `attach_pool_databases`); on
    /// PostgreSQL, the name of its session (`Target::Copy` routes to it either way).
    pub fn pool_schema(&self, sql_instance: &str) -> Option<String> {
        match &self.backend {
            Backend::Sqlite(files) => {
                files.attached.borrow().get(&sql_instance.to_ascii_lowercase()).map(|a| a.alias.clone())
            }
            Backend::Pg(_) => self.session_alias(sql_instance),
        }
    }

    /// This store's id (`meta` key `store_id`), written into every pool database file it
    /// creates; None until it first creates one.
    pub fn store_id(&self) -> db::Result<Option<String>> {
        self.meta("store_id")
    }

    /// This store as the owner of the pool files it creates; gives the store its id when it has
    /// none yet. Only for a writer's transaction (Publish-CsTopology, a repair).
    pub(crate) fn pool_file_owner(&self) -> db::Result<pool_files::Owner> {
        let id = match self.store_id()? {
            Some(id) => id,
            None => {
                let id = uuid::Uuid::new_v4().simple().to_string();
                self.set_meta("store_id", &id)?;
                id
            }
        };
        // A PostgreSQL store has no path: its central database's name.
        let db = match self.is_postgres() {
            true => self.db().query_row("SELECT CAST(current_database() AS text)", (), |r| r.get(0))?,
            false => self.path.display().to_string(),
        };
        Ok(pool_files::Owner { id, db })
    }

    pub fn meta(&self, key: &str) -> db::Result<Option<String>> {
        self.db().query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0)).optional()
    }

    pub fn set_meta(&self, key: &str, value: &str) -> db::Result<()> {
        self.db()
            .execute(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [key, value],
            )
            .map(|_| ())
    }

    pub fn remove_meta(&self, key: &str) -> db::Result<()> {
        self.db().execute("DELETE FROM meta WHERE key = ?1", [key]).map(|_| ())
    }

    /// Has any cmdlet ever changed this store (is anything in its audit)?
    pub fn has_changes(&self) -> db::Result<bool> {
        self.flush_audit()?;
        self.db().query_row("SELECT EXISTS(SELECT 1 FROM audit)", (), |r| r.get(0))
    }

    /// Has a directory been loaded (users, groups, OUs)? The application contacts of the
    /// topology's endpoints do not count.
    pub fn has_principals(&self) -> db::Result<bool> {
        self.db().query_row("SELECT EXISTS(SELECT 1 FROM principals WHERE kind <> 'Contact')", (), |r| r.get(0))
    }
}

/// See `Store::streaming` and `Store::unmapped`.
pub struct Unmapped<'a> {
    store: &'a Store,
    /// `None` for the central database, else the copy (see `route::Target`).
    databases: Vec<Option<String>>,
}

impl Drop for Unmapped<'_> {
    fn drop(&mut self) {
        let pragmas = format!("PRAGMA {{db}}.mmap_size = {MMAP_SIZE}; PRAGMA {{db}}.cache_size = {CACHE_SIZE};");
        for copy in &self.databases {
            let target = copy.as_deref().map_or(Target::Central, Target::Copy);
            // Only speed is at stake if this fails; the connection stays correct.
            let _ = self.store.route(target, &pragmas).execute_batch();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ctrl-C interrupts the connection of a store while it is open, and no longer once it is
    /// closed: opening a store again does not pile up the interrupters of closed connections.
    #[test]
    fn a_closed_store_is_no_longer_interrupted_by_signals() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pchat.db");
        let store = Store::open(&path).unwrap();
        let first = store._interrupt.id();
        assert!(crate::interrupt::is_registered(first));
        drop(store);
        assert!(!crate::interrupt::is_registered(first), "a closed store's interrupter stayed");
        let again = Store::open(&path).unwrap();
        assert!(crate::interrupt::is_registered(again._interrupt.id()));
    }

    #[test]
    fn new_store_is_migrated_seeded_and_reopens_without_reseeding() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/pchat.db");
        let store = Store::open(&path).unwrap();
        let version: i64 = store.db().query_row("PRAGMA user_version", (), |r| r.get(0)).unwrap();
        assert_eq!(version as usize, schema::sqlite_steps(schema::Database::Central).len());
        let mode: String = store.db().query_row("PRAGMA journal_mode", (), |r| r.get(0)).unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = store.db().query_row("PRAGMA foreign_keys", (), |r| r.get(0)).unwrap();
        assert_eq!(fk, 1);
        let roles: i64 = store.db().query_row("SELECT count(*) FROM roles", (), |r| r.get(0)).unwrap();
        assert_eq!(roles, 7);
        drop(store);
        let store = Store::open(&path).unwrap();
        let roles: i64 = store.db().query_row("SELECT count(*) FROM roles", (), |r| r.get(0)).unwrap();
        assert_eq!(roles, 7);
        for table in ["policies", "configurations", "compliance_configurations"] {
            let global: String =
                store.db().query_row(&format!("SELECT identity FROM {table}"), (), |r| r.get(0)).unwrap();
            assert_eq!(global, "Global");
        }
    }

    #[test]
    fn a_store_has_its_own_id_from_creation_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pchat.db");
        let id = Store::open(&path).unwrap().store_id().unwrap().expect("an id at creation");
        assert_eq!(id.len(), 32);
        let store = Store::open(&path).unwrap();
        assert_eq!(store.store_id().unwrap().as_deref(), Some(id.as_str()));
        assert_eq!(store.pool_file_owner().unwrap().id, id);
        let other = Store::open(&dir.path().join("demo.db")).unwrap().store_id().unwrap();
        assert_ne!(other.as_deref(), Some(id.as_str()), "two stores in one folder are two stores");
    }

    #[test]
    fn a_store_or_pool_file_of_a_newer_schema_is_refused_and_left_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newer.db");
        drop(Store::open(&path).unwrap());
        let newer = schema::sqlite_steps(schema::Database::Central).len() + 1;
        db::Db::open_sqlite(&path).unwrap().execute_batch(&format!("PRAGMA user_version = {newer}")).unwrap();
        let e = Store::open(&path).err().expect("refused").to_string();
        assert!(e.contains("newer pchat") && e.contains(&format!("schema version {newer}")), "{e}");
        let version: i64 =
            db::Db::open_sqlite(&path).unwrap().query_row("PRAGMA user_version", (), |r| r.get(0)).unwrap();
        assert_eq!(version as usize, newer);

        let pool = dir.path().join("pool.db");
        pool_files::create(&pool, &pool_files::tests::owner()).unwrap();
        let newer = schema::sqlite_steps(schema::Database::Pool).len() + 1;
        db::Db::open_sqlite(&pool).unwrap().execute_batch(&format!("PRAGMA user_version = {newer}")).unwrap();
        let e = pool_files::inspect(&pool).unwrap_err();
        assert!(e.contains("newer pchat") && e.contains(&pool.display().to_string()), "{e}");
    }

    #[test]
    fn a_failed_migration_changes_nothing() {
        let conn = db::Db::open_sqlite_memory().unwrap();
        let steps = ["CREATE TABLE a(x);", "CREATE TABLE b(y); CREATE TABLE a(z);"];
        assert!(migrate(&conn, &steps).is_err());
        let version: i64 = conn.query_row("PRAGMA user_version", (), |r| r.get(0)).unwrap();
        assert_eq!(version, 0);
        let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", (), |r| r.get(0)).unwrap();
        assert_eq!(tables, 0);
    }

    /// The step that re-keys messages by room and time keeps every message of an older file.
    #[test]
    fn pool_files_upgrade_with_their_messages() {
        let conn = db::Db::open_sqlite_memory().unwrap();
        conn.execute_batch("PRAGMA foreign_keys = ON").unwrap();
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
            .query_map(
                "SELECT room_id, posted_at, id, message_id, text FROM messages ORDER BY room_id, posted_at, id",
                (),
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(
            rows,
            [
                (7, 1000, 99, "m-1".to_string(), "hello".to_string()),
                (7, 2000, 98, "m-2".to_string(), "bye".to_string())
            ]
        );
        // Messages still go with their room.
        conn.execute("DELETE FROM rooms WHERE id = 7", ()).unwrap();
        let left: i64 = conn.query_row("SELECT count(*) FROM messages", (), |r| r.get(0)).unwrap();
        assert_eq!(left, 0);
    }

    /// The file an attached schema reads, as SQLite reports it.
    fn attached_file(store: &Store, instance: &str) -> String {
        let schema = store.pool_schema(instance).unwrap();
        store.db().query_row("SELECT file FROM pragma_database_list WHERE name = ?1", [schema], |r| r.get(0)).unwrap()
    }

    /// `begin_attached` checks the attachments inside the transaction it opens: what another
    /// connection commits, or a file replaced on disk, between two calls is seen by the second.
    #[test]
    fn begin_attached_follows_other_connections_and_the_files_on_disk() {
        use crate::store::pool_data::tests::{POOL, mirrored_pool};
        let (dir, store) = mirrored_pool();
        let begin_and_end = |store: &Store| {
            store.begin_attached(true).map_err(|_| ()).unwrap();
            store.commit().unwrap();
        };
        begin_and_end(&store);
        let alias = store.pool_schema("sql02").unwrap();

        // Another connection's commit that leaves `sql_instances` alone keeps the attachments.
        let other = Store::open(&dir.path().join("pchat.db")).unwrap();
        other.set_meta("unrelated", "1").unwrap();
        begin_and_end(&store);
        assert_eq!(store.pool_schema("sql02").unwrap(), alias);

        // Another connection points the instance at another file: attached at the next call.
        let moved = dir.path().join("sql02-moved.db");
        std::fs::copy(dir.path().join("sql02-rtc.db"), &moved).unwrap();
        other.db().execute("UPDATE sql_instances SET file = 'sql02-moved.db' WHERE identity = 'sql02'", ()).unwrap();
        begin_and_end(&store);
        assert!(attached_file(&store, "sql02").ends_with("sql02-moved.db"), "{}", attached_file(&store, "sql02"));

        // The file replaced on disk, nothing changed in the database: attached afresh.
        let alias = store.pool_schema("sql02").unwrap();
        std::fs::rename(&moved, dir.path().join("aside.db")).unwrap();
        std::fs::copy(dir.path().join("aside.db"), &moved).unwrap();
        begin_and_end(&store);
        assert_ne!(store.pool_schema("sql02").unwrap(), alias);
        assert!(!store.attached_file_changed("sql02"));

        // A file that is not the one recorded is unavailable, and the pool's writes are refused.
        std::fs::remove_file(&moved).unwrap();
        crate::store::pool_files::create(&moved, &store.pool_file_owner().unwrap()).unwrap();
        store.begin_attached(true).map_err(|_| ()).unwrap();
        let pool = store.pool(POOL).unwrap().unwrap();
        let target = store.pool_target(&pool).unwrap();
        assert!(target.mirror_missing.unwrap().contains("not the one pchat created"));
        store.rollback();

        // A pool without a mark written by another connection gets one before it is used.
        std::fs::remove_file(&moved).unwrap();
        std::fs::copy(dir.path().join("aside.db"), &moved).unwrap();
        begin_and_end(&store);
        other.db().execute("UPDATE pools SET seq = NULL", ()).unwrap();
        begin_and_end(&store);
        let seq: Option<i64> =
            store.db().query_row("SELECT seq FROM pools WHERE fqdn = ?1", [POOL], |r| r.get(0)).unwrap();
        assert!(seq.is_some());
    }

    /// A writer holds the central database's lock from BEGIN, and a pool database's from the
    /// moment its copy is checked, before anything is read from it; files it does not use stay
    /// free for other processes (readers, or writers of other stores sharing nothing).
    #[test]
    fn a_writer_locks_the_central_database_at_once_and_each_copy_before_reading_it() {
        use crate::store::pool_data::tests::{POOL, mirrored_pool};
        let (dir, store) = mirrored_pool();
        let can_lock = |file: &str| {
            let c = db::Db::open_sqlite(&dir.path().join(file)).unwrap();
            c.execute_batch("PRAGMA busy_timeout = 0").unwrap();
            let ok = c.execute_batch("BEGIN IMMEDIATE").is_ok();
            let _ = c.execute_batch("ROLLBACK");
            ok
        };
        store.begin_attached(true).map_err(|_| ()).unwrap();
        assert!(!can_lock("pchat.db"));
        assert!(can_lock("sql01-rtc.db") && can_lock("sql02-rtc.db"));
        let pool = store.pool(POOL).unwrap().unwrap();
        store.pool_target(&pool).unwrap();
        assert!(!can_lock("sql01-rtc.db") && !can_lock("sql02-rtc.db"));
        store.commit().unwrap();
        assert!(can_lock("pchat.db") && can_lock("sql01-rtc.db"));
        // A reader locks nothing.
        store.begin_attached(false).map_err(|_| ()).unwrap();
        store.pool_target(&pool).unwrap();
        assert!(can_lock("pchat.db") && can_lock("sql01-rtc.db"));
        store.commit().unwrap();
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
