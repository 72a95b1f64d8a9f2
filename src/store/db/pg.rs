//! The PostgreSQL side of the seam (docs/design/postgres-port.md §2, step 3 of §5): the only module
//! of `store/db` that names the `postgres` crate. The store's statements arrive in their neutral
//! spelling (SQLite-flavoured SQL, `?N` parameters) and mean the same here: parameters are rewritten
//! to `$N` once per prepared text, neutral values are bound as the type the server inferred for
//! each parameter, and columns are read back as the neutral storage classes.
//!
//! The spellings of the statements themselves that the text alone decides (NOCASE, INSERT OR
//! IGNORE/REPLACE) are `Dialect::query`'s, and those of its JSON (list parameters, JSON columns)
//! `Dialect::json`'s, applied when a text is prepared. A session is one database: the store holds
//! one per pool database and routes `{db}` statements to it (store/sessions.rs, store/route.rs).
//! A write transaction (`Begin::Immediate`) is SERIALIZABLE (step 4, see `PgDb::begin`); the
//! two-phase commit's PREPARE and COMMIT/ROLLBACK PREPARED are here too, so that the session's
//! tracking of its transaction stays true (store/pg/twophase.rs runs the protocol).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::error::Error as StdError;
use std::fmt;
use std::rc::Rc;
use std::time::Duration;

use postgres::error::{Severity, SqlState};
use postgres::types::{IsNull, Kind, ToSql, Type, private::BytesMut, to_sql_checked};
use postgres::{CancelToken, Client, Config, NoTls};

use super::value::{Element, FromValue, FromValueError, List, Params, ToValue, Value, ValueRef};
use super::{DbError, ErrorKind, Result};
use crate::store::dialect::Dialect;
use crate::store::pg::params::to_postgres;

/// Per-session settings, sent once right after connecting (not in `Db::configure`: every session
/// must have them from its first statement, whoever opened it, and `configure` is the store's
/// call to make).
///
/// * `lock_timeout = 5s`: a writer blocked on a row held by a dead coordinator's prepared branch
///   (twophase.rs) is only freed by recovery, which runs when the writer's statement fails with
///   55P03; the invocation loop retries after it (§4). So this is how often a blocked writer looks
///   for a dead holder, not how long it is willing to wait in all: short against SQLite's 30 s busy
///   timeout, long against the milliseconds a cmdlet's transaction holds a row.
/// * `idle_in_transaction_session_timeout = 10min`: a client stopped inside a transaction (a
///   suspended or hung process) holds its row locks until its session ends; live ones are not
///   freed by recovery, which only resolves prepared branches. A confirmation prompt runs inside
///   the item's transaction, so the value is generous: a prompt left longer fails its change
///   cleanly (the session is closed, the change rolled back) rather than blocking every writer of
///   those rows for as long as the terminal stays open.
/// * No `statement_timeout`: imports and bulk changes run long statements legitimately; Ctrl-C
///   cancels one (`PgInterrupt`).
const SESSION_SETTINGS: &str = "SET lock_timeout = '5s'; SET idle_in_transaction_session_timeout = '10min'";

/// Names the sessions in `pg_stat_activity` (unless the URL names them itself).
const APPLICATION_NAME: &str = "pchat";

/// How long connecting may take when the URL does not say: an unreachable server is reported
/// unavailable in seconds, not after the kernel's minutes of SYN retries.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Distinct statement texts kept prepared per session, as SQLite's statement cache (sqlite.rs
/// `STATEMENT_CACHE`): a cmdlet call runs a few dozen distinct texts, a runbook a few hundred.
/// Past it the least recently used one is evicted (its server-side statement is closed when the
/// last holder drops it).
const STATEMENT_CACHE: usize = 512;

// Type OIDs (pg_type.dat): matched as numbers, which is what the server reports.
const BOOL: u32 = 16;
const BYTEA: u32 = 17;
const NAME: u32 = 19;
const INT8: u32 = 20;
const INT2: u32 = 21;
const INT4: u32 = 23;
const TEXT: u32 = 25;
const OID: u32 = 26;
const JSON: u32 = 114;
const FLOAT4: u32 = 700;
const FLOAT8: u32 = 701;
const UNKNOWN: u32 = 705;
const BPCHAR: u32 = 1042;
const VARCHAR: u32 = 1043;
const NUMERIC: u32 = 1700;
const VOID: u32 = 2278;
const JSONB: u32 = 3802;

/// A PostgreSQL session. `postgres::Client` needs `&mut` and `Db`'s methods take `&self`, so the
/// client sits in a `RefCell`, borrowed for the length of one call to the server only: a query's
/// rows are fetched whole into its `PgRows`, after which the session is free for the next
/// statement (the store runs statements while it iterates another's rows). Streaming rows through
/// a portal can come later if a benchmark asks for it.
pub struct PgDb {
    client: RefCell<Client>,
    cache: RefCell<Cache>,
    tx: RefCell<Tx>,
    changes: Cell<u64>,
    /// A statement failed on a lock wait (55P03) since `take_lock_timeout` was last asked: the
    /// lock may be a dead coordinator's prepared branch, which only recovery frees.
    lock_timeout: Cell<bool>,
    /// Messages to the server that waited for its answer (simple queries, parses, executions):
    /// what a change costs on a network (design notes §5 step 8); tests count them.
    round_trips: Cell<u64>,
    /// Statements run that may have moved the `store_epoch` row (`pg::epoch_watch`): the
    /// store's caches of it are kept only while this stays still.
    epoch_writes: Cell<u64>,
    /// The database as errors name it (`host:port/dbname`, never a password): a lost connection
    /// says which server to check (see `lost`).
    named: String,
}

/// The rows each statement of a simple query answered (`PgDb::begin_query`), in order: rows of
/// text values, `None` for NULL.
pub type Answers = Vec<Vec<Vec<Option<String>>>>;

/// What SQLite's connection knows about its transaction and PostgreSQL's protocol does not tell
/// the `postgres` crate's user: whether one is open, whether a statement failed in it (which ends
/// it as far as PostgreSQL is concerned: COMMIT then silently rolls back), and its savepoints.
#[derive(Default)]
struct Tx {
    open: bool,
    failed: bool,
    /// Opened by a SAVEPOINT outside any transaction: releasing that savepoint commits, as in SQLite.
    by_savepoint: bool,
    savepoints: Vec<String>,
    /// The innermost savepoint, released as far as the store knows but not yet on the server:
    /// its RELEASE goes with the next SAVEPOINT, one message for both (a pipeline's items take
    /// one each: design notes §5 step 8). Until then statements run inside it, which changes
    /// nothing the store can see: a ROLLBACK TO an outer savepoint, COMMIT and PREPARE end it
    /// with the others, and an error aborts the transaction's work since the outer savepoint
    /// just as it would have after the RELEASE.
    released: Option<String>,
}

struct Cache {
    /// Keyed by the neutral text, which statements keep (an `Rc`, not a copy) to evict their own
    /// entry when its plan went stale (see `PgStmt::with_params`).
    statements: HashMap<Rc<str>, (postgres::Statement, Cell<u64>)>,
    /// Use counter for LRU eviction.
    tick: u64,
    capacity: usize,
    /// Statements prepared on the server by this session (what the cache saves; tests read it).
    prepares: u64,
}

impl Cache {
    fn get(&mut self, sql: &str) -> Option<(Rc<str>, postgres::Statement)> {
        self.tick += 1;
        let (key, (s, used)) = self.statements.get_key_value(sql)?;
        used.set(self.tick);
        Some((key.clone(), s.clone()))
    }

    fn insert(&mut self, sql: Rc<str>, statement: postgres::Statement) {
        if self.statements.len() >= self.capacity {
            // A linear scan, only on a miss with the cache full: that miss costs a round trip anyway.
            if let Some(oldest) = self.statements.iter().min_by_key(|(_, (_, used))| used.get()).map(|(k, _)| k.clone())
            {
                self.statements.remove(&oldest);
            }
        }
        self.tick += 1;
        self.statements.insert(sql, (statement, Cell::new(self.tick)));
    }
}

/// Connect to `url` (a `postgres://` URL or a key=value string) without TLS, with the session
/// settings above.
pub(super) fn open(url: &str) -> Result<PgDb> {
    let mut config: Config =
        url.parse().map_err(|e| DbError::other(format!("invalid PostgreSQL connection string: {e}")))?;
    if config.get_application_name().is_none() {
        config.application_name(APPLICATION_NAME);
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(CONNECT_TIMEOUT);
    }
    let mut client = crate::store::pg::passfile::connect(&config).map_err(error)?;
    client.batch_execute(SESSION_SETTINGS).map_err(error)?;
    let named = database_named(&config);
    Ok(PgDb {
        client: RefCell::new(client),
        cache: RefCell::new(Cache { statements: HashMap::new(), tick: 0, capacity: STATEMENT_CACHE, prepares: 0 }),
        tx: RefCell::new(Tx::default()),
        changes: Cell::new(0),
        lock_timeout: Cell::new(false),
        round_trips: Cell::new(0),
        epoch_writes: Cell::new(0),
        named,
    })
}

/// See `db::server_silent`.
pub(super) fn server_silent(e: &DbError) -> bool {
    let Some(pg) = e.backend_ref().and_then(|b| b.downcast_ref::<PgError>()) else { return false };
    match pg.inner.code() {
        // No SQLSTATE: no server spoke (refused, timed out, unresolved, closed).
        None => true,
        Some(state) => state.code().starts_with("08") || matches!(state.code(), "57P01" | "57P02" | "57P03"),
    }
}

/// See `db::database_missing`.
pub(super) fn database_missing(e: &DbError) -> bool {
    let Some(pg) = e.backend_ref().and_then(|b| b.downcast_ref::<PgError>()) else { return false };
    pg.inner.code() == Some(&postgres::error::SqlState::INVALID_CATALOG_NAME)
}

/// `host:port/dbname` of a connection's configuration (the first host: the one connected to
/// unless the URL lists several), what a user checks when the connection is lost. No user and
/// no password: only what locates the database.
fn database_named(config: &Config) -> String {
    use postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) if h.contains(':') => format!("[{h}]"),
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_string(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let user = config.get_user().unwrap_or_default();
    // The server's default database is the user's name.
    let db = config.get_dbname().unwrap_or(user);
    format!("{host}:{port}/{db}")
}

impl PgDb {
    /// A `DbError` for a failure of this session; a server-side failure inside a transaction
    /// leaves it aborted (only ROLLBACK or ROLLBACK TO a savepoint is accepted until then).
    fn fail(&self, e: postgres::Error) -> DbError {
        if e.code() == Some(&SqlState::LOCK_NOT_AVAILABLE) {
            self.lock_timeout.set(true);
        }
        let disk_full = e.code() == Some(&SqlState::DISK_FULL);
        if e.code().is_some() || e.is_closed() {
            let mut tx = self.tx.borrow_mut();
            if tx.open {
                tx.failed = true;
            }
        }
        // The connection is gone: the client's own failure (no SQLSTATE: closed, "Broken pipe"),
        // or the server ending the session (FATAL: a restart, a terminated backend). An ERROR
        // that merely carries such a code leaves the session usable.
        let gone = match e.as_db_error() {
            Some(db) => matches!(db.parsed_severity(), Some(Severity::Fatal | Severity::Panic)),
            None => e.code().is_none(),
        };
        let failed = error(e);
        if disk_full {
            return DbError::other(self.disk_full_message(&failed.to_string()));
        }
        if !gone || failed.kind() != ErrorKind::Unavailable {
            return failed;
        }
        // Say which database, and what to check, instead of the crate's "connection closed" or
        // the socket's "Broken pipe".
        match failed.into_backend() {
            Ok(inner) => match inner.downcast::<PgError>() {
                Ok(pg) => lost(&self.named, *pg),
                Err(other) => DbError::backend(ErrorKind::Unavailable, other),
            },
            Err(failed) => failed,
        }
    }

    /// One simple-protocol round trip (transaction control, batches).
    fn simple(&self, sql: &str) -> Result<()> {
        self.trip();
        let result = self.client.borrow_mut().batch_execute(sql);
        result.map_err(|e| self.fail(e))
    }

    fn trip(&self) {
        self.round_trips.set(self.round_trips.get() + 1);
    }

    /// Before running `sql`: count it if it may move `store_epoch`.
    fn watch(&self, sql: &str) {
        if crate::store::pg::epoch_watch::may_move_epoch(sql) {
            self.epoch_writes.set(self.epoch_writes.get() + 1);
        }
    }

    /// See `round_trips`.
    pub(super) fn round_trips(&self) -> u64 {
        self.round_trips.get()
    }

    /// See `epoch_writes`.
    pub(super) fn epoch_writes(&self) -> u64 {
        self.epoch_writes.get()
    }

    /// `COPY … FROM STDIN` (`sql`), its data written by `fill`; the rows the server took. A
    /// `fill` that fails abandons the COPY, which aborts the open transaction.
    pub(super) fn copy_in<E: From<DbError>>(
        &self,
        sql: &str,
        fill: impl FnOnce(&mut dyn std::io::Write) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, E> {
        self.trip();
        self.watch(sql);
        let mut client = self.client.borrow_mut();
        let mut writer = client.copy_in(sql).map_err(|e| self.fail(e))?;
        if let Err(e) = fill(&mut writer) {
            drop(writer);
            let mut tx = self.tx.borrow_mut();
            if tx.open {
                tx.failed = true;
            }
            return Err(e);
        }
        Ok(writer.finish().map_err(|e| self.fail(e))?)
    }

    /// `COPY … TO STDOUT` (`sql`), its data read by `drain`. A `drain` that fails abandons the
    /// COPY (the rest of its data is read and dropped), which leaves the open transaction usable
    /// on the server; it is marked failed here all the same, as the caller's work is incomplete.
    pub(super) fn copy_out<E: From<DbError>>(
        &self,
        sql: &str,
        drain: impl FnOnce(&mut dyn std::io::Read) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        self.trip();
        let mut client = self.client.borrow_mut();
        let mut reader = client.copy_out(sql).map_err(|e| self.fail(e))?;
        if let Err(e) = drain(&mut reader) {
            drop(reader);
            let mut tx = self.tx.borrow_mut();
            if tx.open {
                tx.failed = true;
            }
            return Err(e);
        }
        Ok(())
    }

    /// See `Db::migrate_postgres_in_transaction`: inside this session's open transaction only.
    pub(super) fn migrate_in_transaction<T>(
        &self,
        db: crate::store::schema::Database,
        then: impl FnOnce(&mut postgres::Client, crate::store::pg::migrate::Migrated) -> anyhow::Result<T>,
    ) -> anyhow::Result<(crate::store::pg::migrate::Migrated, T)> {
        if !self.tx.borrow().open {
            anyhow::bail!("internal: a migration within a transaction needs one open");
        }
        self.watch("");
        let result = crate::store::pg::migrate::migrate_within(&mut self.client.borrow_mut(), db, then);
        if result.is_err() {
            self.tx.borrow_mut().failed = true;
        }
        result
    }

    pub(super) fn execute_batch(&self, sql: &str) -> Result<()> {
        // A batch that opens or ends a transaction itself is not tracked: transactions go
        // through `Db::begin`/`commit`/`rollback`.
        self.watch(sql);
        self.simple(sql)
    }

    fn server_prepare(&self, sql: &str) -> Result<postgres::Statement> {
        // The neutral text spelt for PostgreSQL (dialect.rs), then its parameters numbered `$N`;
        // once per text: the statement is cached under the neutral text.
        let spelt = Dialect::Postgres.query(sql);
        let spelt = Dialect::Postgres.json(&spelt);
        let text = to_postgres(&spelt);
        self.trip();
        let result = self.client.borrow_mut().prepare(&text);
        let statement = result.map_err(|e| self.fail(e))?;
        self.cache.borrow_mut().prepares += 1;
        Ok(statement)
    }

    /// A statement for one use: from the cache when it is there, else prepared and not kept.
    pub(super) fn prepare(&self, sql: &str) -> Result<PgStmt<'_>> {
        let cached = self.cache.borrow_mut().get(sql);
        let (cached, statement) = match cached {
            Some((key, s)) => (Some(key), s),
            None => (None, self.server_prepare(sql)?),
        };
        let moves_epoch = crate::store::pg::epoch_watch::may_move_epoch(sql);
        Ok(PgStmt { db: self, cached, statement, bound: Vec::new(), moves_epoch })
    }

    pub(super) fn prepare_cached(&self, sql: &str) -> Result<PgStmt<'_>> {
        let cached = self.cache.borrow_mut().get(sql);
        let (key, statement) = match cached {
            Some(hit) => hit,
            None => {
                let s = self.server_prepare(sql)?;
                let key: Rc<str> = Rc::from(sql);
                self.cache.borrow_mut().insert(key.clone(), s.clone());
                (key, s)
            }
        };
        let moves_epoch = crate::store::pg::epoch_watch::may_move_epoch(sql);
        Ok(PgStmt { db: self, cached: Some(key), statement, bound: Vec::new(), moves_epoch })
    }

    /// A cached statement whose plan a later DDL made stale (its result type changed: another
    /// process migrated, say), prepared again in its place.
    fn reprepare(&self, sql: &Rc<str>) -> Result<postgres::Statement> {
        self.cache.borrow_mut().statements.remove(sql);
        let statement = self.server_prepare(sql)?;
        self.cache.borrow_mut().insert(sql.clone(), statement.clone());
        Ok(statement)
    }

    /// `Begin::Deferred`: READ COMMITTED, locks as statements take them. `Begin::Immediate`, a
    /// writer's: SERIALIZABLE, so that what it read cannot change before it commits without the
    /// commit failing with 40001 (which the invocation boundary retries), as SQLite's write lock
    /// taken at BEGIN secures; READ COMMITTED would lose the update of any read-modify-write that
    /// does not lock first (design notes §4, step 4). `Begin::Read`: REPEATABLE READ READ ONLY,
    /// see `Begin::Read`.
    pub(super) fn begin(&self, mode: super::Begin) -> Result<()> {
        if self.tx.borrow().open {
            // PostgreSQL only warns; SQLite refuses, and the store relies on that.
            return Err(DbError::other("cannot start a transaction within a transaction"));
        }
        self.simple(begin_sql(mode))?;
        *self.tx.borrow_mut() = Tx { open: true, ..Tx::default() };
        Ok(())
    }

    /// `begin`, then the statements `then` in the new transaction, in one round trip (one
    /// simple-query message; design notes §5 step 8). When it fails the transaction may be open
    /// and failed: it counts as open, so that the caller's rollback ends it.
    pub(super) fn begin_with(&self, mode: super::Begin, then: &str) -> Result<()> {
        if self.tx.borrow().open {
            return Err(DbError::other("cannot start a transaction within a transaction"));
        }
        self.watch(then);
        *self.tx.borrow_mut() = Tx { open: true, ..Tx::default() };
        self.simple(&format!("{}; {then}", begin_sql(mode)))
    }

    /// `begin`, then the statements `then` in the new transaction, in one round trip, answering
    /// the rows of each statement of `then` in order (values as text; NULL as `None`). As
    /// `begin_with` when it fails: the transaction counts as open, and the caller rolls it back.
    /// The texts are the port's own, with values spelt in: no parameters in a simple query.
    pub(super) fn begin_query(&self, mode: super::Begin, then: &str) -> Result<Answers> {
        if self.tx.borrow().open {
            return Err(DbError::other("cannot start a transaction within a transaction"));
        }
        self.watch(then);
        *self.tx.borrow_mut() = Tx { open: true, ..Tx::default() };
        let mut answers = self.simple_rows(&format!("{}; {then}", begin_sql(mode)))?;
        // The BEGIN's own (no rows).
        answers.remove(0);
        Ok(answers)
    }

    /// One simple-query round trip; the rows of each statement in order.
    fn simple_rows(&self, sql: &str) -> Result<Answers> {
        self.trip();
        let result = self.client.borrow_mut().simple_query(sql);
        let messages = result.map_err(|e| self.fail(e))?;
        let mut answers: Answers = vec![Vec::new()];
        for m in messages {
            match m {
                postgres::SimpleQueryMessage::Row(row) => {
                    let values = (0..row.len()).map(|i| row.get(i).map(str::to_string)).collect();
                    if let Some(rows) = answers.last_mut() {
                        rows.push(values);
                    }
                }
                postgres::SimpleQueryMessage::CommandComplete(_) => answers.push(Vec::new()),
                _ => {}
            }
        }
        // The group opened by the last statement's completion.
        answers.pop();
        Ok(answers)
    }

    /// The statements `last` and then COMMIT, in one round trip. A failure ends the transaction
    /// either way: a statement of `last` that failed leaves it aborted, and it is rolled back here
    /// (a ROLLBACK after a COMMIT that failed only draws a warning); the session's loss leaves
    /// unknown whether the COMMIT ran, which the error's kind (`Unavailable`) tells.
    pub(super) fn commit_with(&self, last: &str) -> Result<()> {
        self.ready_to_end("commit")?;
        if let Some(full) = self.disk_full_fault("commit:") {
            return Err(full);
        }
        self.watch(last);
        let result = self.simple(&format!("{last}; COMMIT"));
        if result.is_err() && !self.is_closed() {
            let _ = self.client.borrow_mut().batch_execute("ROLLBACK");
        }
        *self.tx.borrow_mut() = Tx::default();
        result
    }

    pub(super) fn commit(&self) -> Result<()> {
        self.ready_to_end("commit")?;
        if let Some(full) = self.disk_full_fault("commit:") {
            return Err(full);
        }
        let result = self.simple("COMMIT");
        // Committed or not, the transaction is over (a failed COMMIT rolls back).
        *self.tx.borrow_mut() = Tx::default();
        result
    }

    /// Before a COMMIT or PREPARE (`verb`): a transaction is open, and no statement failed in it
    /// (else it is rolled back here, see `end_failed`).
    fn ready_to_end(&self, verb: &str) -> Result<()> {
        let (open, failed) = {
            let tx = self.tx.borrow();
            (tx.open, tx.failed)
        };
        if !open {
            return Err(DbError::other(format!("cannot {verb} - no transaction is active")));
        }
        if failed {
            return Err(self.end_failed());
        }
        Ok(())
    }

    /// A COMMIT or PREPARE of a transaction a failed statement ended: PostgreSQL would answer
    /// it with a silent ROLLBACK; roll back and say so instead.
    fn end_failed(&self) -> DbError {
        let rolled_back = self.simple("ROLLBACK");
        *self.tx.borrow_mut() = Tx::default();
        if let Err(e) = rolled_back {
            return e;
        }
        DbError::other(
            "the transaction was rolled back, not committed: a statement in it failed \
             (PostgreSQL ends a transaction at its first error unless a savepoint is rolled back to)",
        )
    }

    /// `PREPARE TRANSACTION 'gid'` (two-phase commit): the open transaction becomes a prepared
    /// branch, and the session is outside any transaction, whether it succeeded or not (a failed
    /// PREPARE rolls back). Refused when a statement failed in it: PostgreSQL would roll back
    /// and answer as if it had prepared, and the commit would then find no branch.
    pub(super) fn prepare_transaction(&self, gid: &str) -> Result<()> {
        self.ready_to_end("prepare")?;
        if let Some(full) = self.disk_full_fault("prepare:") {
            return Err(full);
        }
        let result = self.simple(&format!("PREPARE TRANSACTION '{gid}'"));
        *self.tx.borrow_mut() = Tx::default();
        result
    }

    /// `COMMIT PREPARED` or `ROLLBACK PREPARED` (outside a transaction); false when no branch
    /// `gid` is prepared in this database.
    pub(super) fn finish_prepared(&self, gid: &str, commit: bool) -> Result<bool> {
        let verb = if commit { "COMMIT" } else { "ROLLBACK" };
        if commit && let Some(full) = self.disk_full_fault("commit:") {
            // The branch stays prepared, as after a COMMIT PREPARED the server could not write.
            return Err(full);
        }
        self.trip();
        match self.client.borrow_mut().batch_execute(&format!("{verb} PREPARED '{gid}'")) {
            Ok(()) => Ok(true),
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_OBJECT) => Ok(false),
            Err(e) => Err(self.fail(e)),
        }
    }

    /// The tests' `prepare:<database>` and `commit:<database>` steps (`PCHAT_FAULT=…:full`,
    /// src/fault.rs), the counterpart of SQLite's `commit:<file>` (sqlite/fault_vfs.rs): this
    /// database's PREPARE TRANSACTION, or its COMMIT (COMMIT PREPARED for a prepared branch),
    /// fails as on a server whose disk is full, unsent. An open transaction is rolled back, as the
    /// server does when its COMMIT or PREPARE fails; a prepared branch stays prepared.
    fn disk_full_fault(&self, step: &str) -> Option<DbError> {
        if !crate::fault::any_step_starting(step) {
            return None;
        }
        let database = self.named.rsplit_once('/').map_or(self.named.as_str(), |(_, db)| db);
        if !crate::fault::full(&format!("{step}{database}")) {
            return None;
        }
        if self.tx.borrow().open {
            let _ = self.simple("ROLLBACK");
            *self.tx.borrow_mut() = Tx::default();
        }
        Some(DbError::other(
            self.disk_full_message("could not write to file \"pg_wal/xlogtemp\": No space left on device"),
        ))
    }

    /// What a server out of disk space (SQLSTATE 53100) is told as: as SQLite's full disk is
    /// (`pool_files::DISK_FULL`), nothing of the database itself, so no fail-over or repair.
    fn disk_full_message(&self, server: &str) -> String {
        format!(
            "{server}: the database {} cannot be written, {} (its server's), which says nothing of the database itself: free space on that disk, then run the command again; no fail-over or repair is needed for this",
            self.named,
            crate::store::pool_files::DISK_FULL
        )
    }

    /// Whether a statement failed in the open transaction (see `Tx::failed`).
    pub(super) fn transaction_failed(&self) -> bool {
        self.tx.borrow().failed
    }

    /// Ask for the recovery that a lock wait asks for (see `lock_timeout`): a dead coordinator's
    /// branch was seen in this session's database.
    pub(super) fn want_recovery(&self) {
        self.lock_timeout.set(true);
    }

    /// Whether the connection to the server is gone (it never comes back).
    pub(super) fn is_closed(&self) -> bool {
        self.client.borrow().is_closed()
    }

    /// See `Db::answers`; waits at most the connect timeout for the answer.
    pub(super) fn answers(&self) -> bool {
        if self.is_closed() {
            return false;
        }
        self.trip();
        let answered = self.client.borrow_mut().is_valid(CONNECT_TIMEOUT);
        answered.is_ok()
    }

    /// Whether a statement failed on a lock wait since the last call (see `lock_timeout`).
    pub(super) fn take_lock_timeout(&self) -> bool {
        self.lock_timeout.replace(false)
    }

    pub(super) fn rollback(&self) -> Result<()> {
        if !self.tx.borrow().open {
            return Err(DbError::other("cannot rollback - no transaction is active"));
        }
        let result = self.simple("ROLLBACK");
        *self.tx.borrow_mut() = Tx::default();
        result
    }

    /// As in SQLite: outside a transaction, a savepoint opens one.
    pub(super) fn savepoint(&self, name: &str) -> Result<()> {
        if self.tx.borrow().open {
            let released = self.tx.borrow_mut().released.take();
            match released {
                Some(r) => self.simple(&format!("RELEASE {r}; SAVEPOINT {}", savepoint_name(name)))?,
                None => self.simple(&format!("SAVEPOINT {}", savepoint_name(name)))?,
            }
        } else {
            let opened =
                self.simple(&format!("BEGIN ISOLATION LEVEL READ COMMITTED; SAVEPOINT {}", savepoint_name(name)));
            if let Err(e) = opened {
                // The BEGIN may have run: end it, so that the session is outside a transaction
                // as `is_autocommit` says.
                let _ = self.client.borrow_mut().batch_execute("ROLLBACK");
                return Err(e);
            }
            *self.tx.borrow_mut() = Tx { open: true, by_savepoint: true, ..Tx::default() };
        }
        self.tx.borrow_mut().savepoints.push(name.to_string());
        Ok(())
    }

    /// The position of the innermost savepoint called `name`. Checked here: an unknown name
    /// would abort the whole transaction on PostgreSQL, where SQLite only refuses the statement.
    fn find_savepoint(&self, name: &str) -> Result<usize> {
        self.tx
            .borrow()
            .savepoints
            .iter()
            .rposition(|s| s.eq_ignore_ascii_case(name))
            .ok_or_else(|| DbError::other(format!("no such savepoint: {name}")))
    }

    pub(super) fn release(&self, name: &str) -> Result<()> {
        let at = self.find_savepoint(name)?;
        if at == 0 && self.tx.borrow().by_savepoint {
            // Releasing the savepoint that opened the transaction commits it, as in SQLite.
            return self.commit();
        }
        let mut tx = self.tx.borrow_mut();
        if at + 1 == tx.savepoints.len() && tx.released.is_none() && !tx.failed {
            // The innermost: its RELEASE waits for the next SAVEPOINT (`Tx::released`).
            tx.released = Some(savepoint_name(name));
            tx.savepoints.truncate(at);
            return Ok(());
        }
        drop(tx);
        self.simple(&format!("RELEASE {}", savepoint_name(name)))?;
        let mut tx = self.tx.borrow_mut();
        tx.savepoints.truncate(at);
        // An outer RELEASE releases the inner ones with it.
        tx.released = None;
        Ok(())
    }

    /// Undo everything since the savepoint, which stays; the transaction is usable again even
    /// if a statement failed in it.
    pub(super) fn rollback_to(&self, name: &str) -> Result<()> {
        let at = self.find_savepoint(name)?;
        self.simple(&format!("ROLLBACK TO {}", savepoint_name(name)))?;
        let mut tx = self.tx.borrow_mut();
        tx.savepoints.truncate(at + 1);
        tx.failed = false;
        // Established after `name`, so destroyed with the rest.
        tx.released = None;
        Ok(())
    }

    pub(super) fn is_autocommit(&self) -> bool {
        !self.tx.borrow().open
    }

    pub(super) fn changes(&self) -> u64 {
        self.changes.get()
    }

    /// Bring this session's database to this program's schema (`pg::migrate`), on the session
    /// itself, so that the store's interrupt handle can cancel a long migration. Outside a
    /// transaction only: the migration runs its own.
    pub(super) fn migrate(
        &self,
        db: crate::store::schema::Database,
    ) -> anyhow::Result<crate::store::pg::migrate::Migrated> {
        if self.tx.borrow().open {
            anyhow::bail!("a migration cannot run inside a transaction");
        }
        crate::store::pg::migrate::migrate(&mut self.client.borrow_mut(), db)
    }

    /// `migrate`, then `then` in the migration's transaction (`pg::migrate::migrate_then`).
    pub(super) fn migrate_then<T>(
        &self,
        db: crate::store::schema::Database,
        then: impl FnOnce(&mut crate::store::pg::migrate::Tx<'_>, crate::store::pg::migrate::Migrated) -> anyhow::Result<T>,
    ) -> anyhow::Result<(crate::store::pg::migrate::Migrated, T)> {
        if self.tx.borrow().open {
            anyhow::bail!("a migration cannot run inside a transaction");
        }
        crate::store::pg::migrate::migrate_then(&mut self.client.borrow_mut(), db, then)
    }

    pub(super) fn interrupt_handle(&self) -> PgInterrupt {
        PgInterrupt(self.client.borrow().cancel_token())
    }

    /// Statements this session has prepared on the server.
    #[cfg(test)]
    pub(super) fn prepares(&self) -> u64 {
        self.cache.borrow().prepares
    }

    #[cfg(test)]
    pub(super) fn set_cache_capacity(&self, capacity: usize) {
        self.cache.borrow_mut().capacity = capacity;
    }

    #[cfg(test)]
    pub(super) fn cached(&self) -> usize {
        self.cache.borrow().statements.len()
    }
}

fn begin_sql(mode: super::Begin) -> &'static str {
    match mode {
        super::Begin::Read => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        super::Begin::Immediate => "BEGIN ISOLATION LEVEL SERIALIZABLE",
        super::Begin::Deferred => "BEGIN ISOLATION LEVEL READ COMMITTED",
    }
}

/// A savepoint's name as an identifier: quoted, since a word SQLite takes (`outer`) may be
/// reserved in PostgreSQL, and folded to lower case first, since SQLite's savepoint names
/// ignore case (as `find_savepoint` does).
fn savepoint_name(name: &str) -> String {
    format!("\"{}\"", name.to_ascii_lowercase().replace('"', "\"\""))
}

/// A prepared statement (a handle on the server's, shared with the cache) and the parameters
/// `bind` gave it.
pub(super) struct PgStmt<'c> {
    db: &'c PgDb,
    /// The cache's key when the statement came from the cache (only those can go stale).
    cached: Option<Rc<str>>,
    statement: postgres::Statement,
    bound: Vec<Value>,
    /// `pg::epoch_watch::may_move_epoch` of its text.
    moves_epoch: bool,
}

/// "cached plan must not change result type": the server refuses to run a prepared statement
/// whose result columns a DDL changed since it was prepared.
fn stale_plan(e: &postgres::Error) -> bool {
    e.code() == Some(&SqlState::FEATURE_NOT_SUPPORTED)
        && e.as_db_error().is_some_and(|d| d.message() == "cached plan must not change result type")
}

impl PgStmt<'_> {
    /// Runs `f` with `values` bound as the statement's parameters. A cached statement whose plan
    /// went stale is evicted and prepared again; outside a transaction it is then run once more
    /// (the failed attempt changed nothing). Inside one the error stands: PostgreSQL has aborted
    /// the transaction, and the retried one prepares the statement again.
    fn with_params<T>(
        &mut self,
        values: &[ValueRef<'_>],
        f: impl Fn(&mut Client, &postgres::Statement, &[&(dyn ToSql + Sync)]) -> Result<T, postgres::Error>,
    ) -> Result<T> {
        let expected = self.statement.params().len();
        if values.len() != expected {
            return Err(DbError::other(format!(
                "the statement takes {expected} parameter(s), {} were given",
                values.len()
            )));
        }
        let params: Vec<Param<'_>> = values.iter().enumerate().map(|(i, &v)| Param { n: i + 1, v }).collect();
        let refs: Vec<&(dyn ToSql + Sync)> = params.iter().map(|p| p as &(dyn ToSql + Sync)).collect();
        if self.moves_epoch {
            self.db.epoch_writes.set(self.db.epoch_writes.get() + 1);
        }
        self.db.trip();
        let result = f(&mut self.db.client.borrow_mut(), &self.statement, &refs);
        match (result, &self.cached) {
            (Err(e), Some(sql)) if stale_plan(&e) => {
                let in_transaction = self.db.tx.borrow().open;
                let failed = self.db.fail(e);
                if in_transaction {
                    // Nothing is prepared in an aborted transaction: the next use prepares it.
                    self.db.cache.borrow_mut().statements.remove(sql);
                    return Err(failed);
                }
                self.statement = self.db.reprepare(sql)?;
                if self.statement.params().len() != expected {
                    return Err(DbError::other(format!(
                        "the statement takes {} parameter(s) since it was prepared again, {expected} were given",
                        self.statement.params().len()
                    )));
                }
                self.db.trip();
                let result = f(&mut self.db.client.borrow_mut(), &self.statement, &refs);
                result.map_err(|e| self.db.fail(e))
            }
            (result, _) => result.map_err(|e| self.db.fail(e)),
        }
    }

    fn run(&mut self, values: &[ValueRef<'_>]) -> Result<usize> {
        let n = self.with_params(values, |c, s, p| c.execute(s, p))?;
        self.db.changes.set(n);
        Ok(usize::try_from(n).unwrap_or(usize::MAX))
    }

    pub(super) fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        let items: Vec<P::Item> = params.into_values().collect();
        let values = items.iter().map(ToValue::to_value).collect::<Result<Vec<_>>>()?;
        self.run(&values)
    }

    pub(super) fn query<P: Params>(&mut self, params: P) -> Result<PgRows> {
        let items: Vec<P::Item> = params.into_values().collect();
        let values = items.iter().map(ToValue::to_value).collect::<Result<Vec<_>>>()?;
        let rows = self.with_params(&values, |c, s, p| c.query(s, p))?;
        Ok(PgRows { rows, at: 0 })
    }

    /// Kept until the statement is dropped, as SQLite keeps bindings across executions.
    pub(super) fn bind<T: ToValue>(&mut self, idx: usize, value: T) -> Result<()> {
        let expected = self.statement.params().len();
        if idx == 0 || idx > expected {
            return Err(DbError::other(format!("parameter index {idx} out of range (1 to {expected})")));
        }
        if self.bound.len() < expected {
            self.bound.resize(expected, Value::Null);
        }
        self.bound[idx - 1] = value.to_value()?.to_owned();
        Ok(())
    }

    pub(super) fn execute_bound(&mut self) -> Result<usize> {
        let expected = self.statement.params().len();
        let bound = std::mem::take(&mut self.bound);
        let values: Vec<ValueRef<'_>> =
            (0..expected).map(|i| bound.get(i).map_or(ValueRef::Null, ValueRef::from)).collect();
        let result = self.run(&values);
        drop(values);
        self.bound = bound;
        result
    }

    pub(super) fn column_count(&self) -> usize {
        self.statement.columns().len()
    }

    pub(super) fn column_name(&self, idx: usize) -> Result<&str> {
        self.statement
            .columns()
            .get(idx)
            .map(|c| c.name())
            .ok_or_else(|| DbError::other(format!("column index {idx} out of range")))
    }
}

/// A row of a result (named here so that only this module names the crate).
pub(super) type PgRow = postgres::Row;

/// A query's rows, fetched whole (see `PgDb`).
pub(super) struct PgRows {
    rows: Vec<postgres::Row>,
    at: usize,
}

impl PgRows {
    #[inline]
    pub(super) fn next(&mut self) -> Option<&postgres::Row> {
        let row = self.rows.get(self.at)?;
        self.at += 1;
        Some(row)
    }
}

/// Lets a signal stop the session's running statement (see `crate::interrupt`): a cancel request
/// on a connection of its own, so it blocks for a round trip, which the interrupt watcher thread
/// may. With nothing running the server ignores it.
pub struct PgInterrupt(CancelToken);

impl PgInterrupt {
    pub(super) fn interrupt(&self) {
        // Nothing to report to: the signal's effect is the interrupted statement's error.
        let _ = self.0.cancel_query(NoTls);
    }
}

// ---- Binding ----------------------------------------------------------------------------------

/// A neutral value bound as the type the server inferred for parameter `?n`. The `postgres`
/// crate's own `ToSql` impls want the exact Rust type of each SQL type (an `i64` for `int4` is an
/// error); neutral values have five classes, so the conversion is made here, checked:
///
/// * Integer → int8, int4, int2 (range-checked), bool (0 and 1 only: the store's booleans),
///   float8/float4 (as SQLite stores an integer in a REAL column), numeric (exact).
/// * Real → float8, float4, numeric (its shortest decimal form, which reads back as the same f64).
/// * Text → text, varchar, bpchar, name, json, jsonb, unknown; it must be UTF-8.
/// * Blob → bytea. Null → any type.
///
/// Anything else is refused, naming the parameter and both types. In particular a number is not
/// turned into text nor text into a number: SQLite's column affinity would, but a silent
/// conversion here changes what comparisons mean (`'10' < '9'`), and the fix (a cast in the
/// statement, or the right value type) is better made where the statement is written.
#[derive(Debug)]
struct Param<'a> {
    n: usize,
    v: ValueRef<'a>,
}

/// Why a value cannot be bound; the `postgres` crate hands it back inside its error.
#[derive(Debug)]
struct BindError(String);

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for BindError {}

impl ToSql for Param<'_> {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, Box<dyn StdError + Sync + Send>> {
        encode(self.n, self.v, ty, out).map_err(|m| Box::new(BindError(m)) as Box<dyn StdError + Sync + Send>)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    to_sql_checked!();
}

fn encode(n: usize, v: ValueRef<'_>, ty: &Type, out: &mut BytesMut) -> std::result::Result<IsNull, String> {
    let range = |i: i64| format!("parameter ?{n}: integer {i} is out of range for {}", ty.name());
    match (v, ty.oid()) {
        (ValueRef::Null, _) => return Ok(IsNull::Yes),
        (ValueRef::Integer(i), INT8) => out.extend_from_slice(&i.to_be_bytes()),
        (ValueRef::Integer(i), INT4) => out.extend_from_slice(&i32::try_from(i).map_err(|_| range(i))?.to_be_bytes()),
        (ValueRef::Integer(i), INT2) => out.extend_from_slice(&i16::try_from(i).map_err(|_| range(i))?.to_be_bytes()),
        (ValueRef::Integer(i @ (0 | 1)), BOOL) => out.extend_from_slice(&[i as u8]),
        (ValueRef::Integer(i), BOOL) => {
            return Err(format!("parameter ?{n}: integer {i} is not a boolean (0 or 1) for bool"));
        }
        (ValueRef::Integer(i), FLOAT8) => out.extend_from_slice(&(i as f64).to_be_bytes()),
        (ValueRef::Integer(i), FLOAT4) => out.extend_from_slice(&(i as f32).to_be_bytes()),
        (ValueRef::Integer(i), NUMERIC) => encode_numeric(&i.to_string(), out),
        (ValueRef::Real(r), FLOAT8) => out.extend_from_slice(&r.to_be_bytes()),
        (ValueRef::Real(r), FLOAT4) => out.extend_from_slice(&(r as f32).to_be_bytes()),
        (ValueRef::Real(r), NUMERIC) if r.is_nan() => numeric_header(out, 0, 0, NUMERIC_NAN, 0),
        (ValueRef::Real(r), NUMERIC) if r.is_finite() => {
            // A scale of at least one, so that it reads back as a Real (see `decode_numeric`).
            let mut decimal = r.to_string();
            if !decimal.contains('.') {
                decimal.push_str(".0");
            }
            encode_numeric(&decimal, out);
        }
        (ValueRef::Text(t), TEXT | VARCHAR | BPCHAR | NAME | JSON | UNKNOWN | JSONB) => {
            std::str::from_utf8(t).map_err(|e| format!("parameter ?{n}: text that is not UTF-8 ({e})"))?;
            if ty.oid() == JSONB {
                // jsonb's binary form: a version byte, then the JSON text.
                out.extend_from_slice(&[1]);
            }
            out.extend_from_slice(t);
        }
        (ValueRef::Blob(b), BYTEA) => out.extend_from_slice(b),
        (ValueRef::List(list), _) if matches!(ty.kind(), Kind::Array(_)) => encode_array(n, list, ty, out)?,
        _ => return Err(format!("parameter ?{n}: a value of type {} cannot be bound to {}", v.data_type(), ty.name())),
    }
    Ok(IsNull::No)
}

/// A list as the one-dimensional array type `ty` the server inferred (`= ANY($n)`), each element
/// bound as a scalar of the array's element type is (`encode`: an integer list binds to `int8[]`
/// or range-checked to `int4[]`, a text list to `text[]`; never one into the other). The array's
/// binary form: dimensions (0 for an empty array), a has-NULLs flag, the element type, per
/// dimension its length and lower bound (1), then each element's length and bytes.
fn encode_array(n: usize, list: &List, ty: &Type, out: &mut BytesMut) -> std::result::Result<(), String> {
    let Kind::Array(element) = ty.kind() else {
        return Err(format!("parameter ?{n}: {} is not an array type", ty.name()));
    };
    // The list's JSON is this program's own serialization of integers or strings.
    let undecodable = |e: serde_json::Error| format!("parameter ?{n}: a list that is not a JSON array ({e})");
    let values: Vec<Value> = match list.element() {
        Element::Integer => serde_json::from_str::<Vec<i64>>(list.json())
            .map_err(undecodable)?
            .into_iter()
            .map(Value::Integer)
            .collect(),
        Element::Text => serde_json::from_str::<Vec<String>>(list.json())
            .map_err(undecodable)?
            .into_iter()
            .map(Value::Text)
            .collect(),
    };
    let len =
        i32::try_from(values.len()).map_err(|_| format!("parameter ?{n}: a list of {} elements", values.len()))?;
    out.extend_from_slice(&i32::from(len > 0).to_be_bytes());
    out.extend_from_slice(&0i32.to_be_bytes());
    out.extend_from_slice(&element.oid().to_be_bytes());
    if len > 0 {
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(&1i32.to_be_bytes());
    }
    let mut bytes = BytesMut::new();
    for v in &values {
        bytes.clear();
        encode(n, ValueRef::from(v), element, &mut bytes).map_err(|e| format!("{e} (an element of the list)"))?;
        let size =
            i32::try_from(bytes.len()).map_err(|_| format!("parameter ?{n}: an element of {} bytes", bytes.len()))?;
        out.extend_from_slice(&size.to_be_bytes());
        out.extend_from_slice(&bytes);
    }
    Ok(())
}

const NUMERIC_NEG: u16 = 0x4000;
const NUMERIC_NAN: u16 = 0xC000;

fn numeric_header(out: &mut BytesMut, ndigits: u16, weight: i16, sign: u16, dscale: u16) {
    out.extend_from_slice(&ndigits.to_be_bytes());
    out.extend_from_slice(&weight.to_be_bytes());
    out.extend_from_slice(&sign.to_be_bytes());
    out.extend_from_slice(&dscale.to_be_bytes());
}

/// numeric's binary form (base-10000 digits, weight of the first, sign, display scale) of a
/// plain decimal text: what `i64` and `f64` print (Rust prints floats without an exponent).
fn encode_numeric(decimal: &str, out: &mut BytesMut) {
    let (negative, digits) = match decimal.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, decimal),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    // Align both parts on groups of four digits around the decimal point.
    let int_pad = (4 - int.len() % 4) % 4;
    let frac_pad = (4 - frac.len() % 4) % 4;
    let aligned: Vec<u8> = std::iter::repeat_n(b'0', int_pad)
        .chain(int.bytes())
        .chain(frac.bytes())
        .chain(std::iter::repeat_n(b'0', frac_pad))
        .collect();
    let mut groups: Vec<i16> =
        aligned.chunks(4).map(|c| c.iter().fold(0i16, |acc, d| acc * 10 + i16::from(d.wrapping_sub(b'0')))).collect();
    let mut weight = ((int_pad + int.len()) / 4) as i16 - 1;
    // Leading and trailing zero groups are implied by the weight and the scale.
    let leading = groups.iter().take_while(|g| **g == 0).count();
    groups.drain(..leading);
    weight -= leading as i16;
    while groups.last() == Some(&0) {
        groups.pop();
    }
    if groups.is_empty() {
        weight = 0;
    }
    let sign = if negative && !groups.is_empty() { NUMERIC_NEG } else { 0 };
    numeric_header(out, groups.len() as u16, weight, sign, frac.len() as u16);
    for g in groups {
        out.extend_from_slice(&g.to_be_bytes());
    }
}

// ---- Reading ----------------------------------------------------------------------------------

/// A column's raw binary value, whatever its type: decoded by `decode`, not by the crate.
struct Raw<'a>(Option<&'a [u8]>);

impl<'a> postgres::types::FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> std::result::Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Raw(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> std::result::Result<Self, Box<dyn StdError + Sync + Send>> {
        Ok(Raw(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

fn column_name(row: &postgres::Row, idx: usize) -> &str {
    row.columns().get(idx).map_or("", |c| c.name())
}

/// Column `idx` as the neutral value it holds, borrowing text and bytes from the row:
/// int2/int4/int8/oid → Integer, bool → Integer 0/1 (the store's booleans), float4/float8 → Real,
/// text/varchar/bpchar/name/json/jsonb → Text, bytea → Blob, NULL and void → Null, numeric → see
/// `decode_numeric`. Any other type is an error naming the column and the type.
pub(super) fn get_ref(row: &postgres::Row, idx: usize) -> Result<ValueRef<'_>> {
    let Some(column) = row.columns().get(idx) else {
        return Err(DbError::other(format!("column index {idx} out of range ({} columns)", row.len())));
    };
    let ty = column.type_();
    let Raw(raw) = row.try_get::<_, Raw<'_>>(idx).map_err(error)?;
    let Some(raw) = raw else { return Ok(ValueRef::Null) };
    let malformed = || DbError::other(format!("malformed {} value at index {idx}, name: {}", ty.name(), column.name()));
    macro_rules! be {
        ($t:ty) => {
            <$t>::from_be_bytes(raw.try_into().map_err(|_| malformed())?)
        };
    }
    Ok(match ty.oid() {
        INT8 => ValueRef::Integer(be!(i64)),
        INT4 => ValueRef::Integer(i64::from(be!(i32))),
        INT2 => ValueRef::Integer(i64::from(be!(i16))),
        OID => ValueRef::Integer(i64::from(be!(u32))),
        BOOL => ValueRef::Integer(i64::from(be!(u8) != 0)),
        FLOAT8 => ValueRef::Real(be!(f64)),
        FLOAT4 => ValueRef::Real(f64::from(be!(f32))),
        TEXT | VARCHAR | BPCHAR | NAME | JSON | UNKNOWN => ValueRef::Text(raw),
        JSONB => match raw.split_first() {
            Some((1, json)) => ValueRef::Text(json),
            _ => return Err(malformed()),
        },
        BYTEA => ValueRef::Blob(raw),
        VOID => ValueRef::Null,
        NUMERIC => match decode_numeric(raw) {
            Some(Ok(v)) => v,
            Some(Err(text)) => {
                return Err(DbError::other(format!(
                    "numeric {text} out of range for an Integer at index {idx}, name: {}",
                    column.name()
                )));
            }
            None => return Err(malformed()),
        },
        _ => {
            return Err(DbError::other(format!(
                "unsupported column type {} at index {idx}, name: {} (cast it in the statement)",
                ty.name(),
                column.name()
            )));
        }
    })
}

/// numeric, as SQLite types the same results: a value of scale 0 (`sum(bigint)`, `count`-like
/// arithmetic) is an Integer, refused (`Err`, its decimal text) when beyond i64 as SQLite's `sum`
/// refuses an overflow; a value with a scale (`avg`, a `numeric(p, s)` column) is a Real, as
/// SQLite's `avg` is, rounded to the nearest f64. NaN and infinities are Reals. `None`: malformed.
fn decode_numeric(raw: &[u8]) -> Option<std::result::Result<ValueRef<'static>, String>> {
    let word = |i: usize| raw.get(i * 2..i * 2 + 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    let ndigits = usize::from(word(0)?);
    let weight = i64::from(word(1)? as i16);
    let sign = word(2)?;
    let dscale = word(3)?;
    let digits: Vec<u16> = (0..ndigits).map(|i| word(4 + i)).collect::<Option<_>>()?;
    match sign {
        0xC000 => return Some(Ok(ValueRef::Real(f64::NAN))),
        0xD000 => return Some(Ok(ValueRef::Real(f64::INFINITY))),
        0xF000 => return Some(Ok(ValueRef::Real(f64::NEG_INFINITY))),
        0 | NUMERIC_NEG => {}
        _ => return None,
    }
    let negative = sign == NUMERIC_NEG;
    let text: String = digits.iter().map(|d| format!("{d:04}")).collect();
    // The value is text × 10^exponent.
    let exponent = 4 * (weight + 1 - ndigits as i64);
    let sign_text = if negative { "-" } else { "" };
    if dscale == 0 && exponent >= 0 {
        let integer = (|| {
            let mut acc = 0i128;
            for &d in &digits {
                acc = acc.checked_mul(10_000)?.checked_add(i128::from(d))?;
                if acc > i128::from(u64::MAX) {
                    return None;
                }
            }
            for _ in 0..exponent {
                acc = acc.checked_mul(10)?;
                if acc > i128::from(u64::MAX) {
                    return None;
                }
            }
            i64::try_from(if negative { -acc } else { acc }).ok()
        })();
        return Some(match integer {
            Some(i) => Ok(ValueRef::Integer(i)),
            None => Err(format!("{sign_text}{}{}", text.trim_start_matches('0'), "0".repeat(exponent as usize))),
        });
    }
    let real: f64 = if digits.is_empty() { 0.0 } else { format!("{sign_text}{text}e{exponent}").parse().ok()? };
    Some(Ok(ValueRef::Real(real)))
}

/// Column `idx` as `T`; failures name the column (index and name), in rusqlite's wording where
/// it has one.
#[inline]
pub(super) fn get<T: FromValue>(row: &postgres::Row, idx: usize) -> Result<T> {
    let value = get_ref(row, idx)?;
    T::from_value(value).map_err(|err| column_error(row, idx, value, err))
}

#[cold]
fn column_error(row: &postgres::Row, idx: usize, value: ValueRef<'_>, err: FromValueError) -> DbError {
    let name = column_name(row, idx);
    DbError::other(match err {
        FromValueError::InvalidType => {
            format!("Invalid column type {} at index: {idx}, name: {name}", value.data_type())
        }
        FromValueError::OutOfRange(i) => format!("Integer {i} out of range at index {idx}, name: {name}"),
        FromValueError::Utf8(e) => format!("{e} at index {idx}, name: {name}"),
        FromValueError::Other(e) => {
            format!("Conversion error from type {} at index: {idx}, name: {name}, {e}", value.data_type())
        }
    })
}

#[cold]
pub(super) fn conversion_error(row: &postgres::Row, idx: usize, err: FromValueError) -> DbError {
    let value = get_ref(row, idx).unwrap_or(ValueRef::Null);
    column_error(row, idx, value, FromValueError::Other(Box::new(err)))
}

// ---- Errors -----------------------------------------------------------------------------------

/// The server's message (with its detail), keeping the crate's error as the source.
#[derive(Debug)]
struct PgError {
    message: String,
    inner: postgres::Error,
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// No source: `message` already says what the driver's error and its cause say, and a chain
/// printed whole (`{:#}`, "cannot open the store …: …") would say it twice.
impl StdError for PgError {}

/// A session's connection lost (`PgDb::fail`): the database and its server named, the cause in
/// words a user can act on (the server's own when it said why: "terminating connection due to
/// administrator command"), what to check. Still `Unavailable`: the engine opens the session
/// again for the next attempt (engine/reconnect.rs), and the words are what it shows when that
/// fails too.
fn lost(named: &str, pg: PgError) -> DbError {
    let why = match pg.inner.as_db_error() {
        Some(db) => db.message().to_string(),
        None => {
            let io = std::iter::successors(pg.inner.source(), |e| (*e).source())
                .find_map(|e| e.downcast_ref::<std::io::Error>())
                .map(std::io::Error::kind);
            match io {
                Some(std::io::ErrorKind::TimedOut) => "the server stopped answering".to_string(),
                _ => "the server closed it".to_string(),
            }
        }
    };
    let message = lost_message(named, &why);
    DbError::backend(ErrorKind::Unavailable, Box::new(PgError { message, inner: pg.inner }))
}

/// See `lost`.
fn lost_message(named: &str, why: &str) -> String {
    format!(
        "the connection to the PostgreSQL database {named} was lost ({why}): check that its server is running and reachable"
    )
}

/// What a caller decides on, by SQLSTATE (see `ErrorKind`).
fn kind_of(state: &SqlState) -> ErrorKind {
    let code = state.code();
    match code {
        _ if code.starts_with("23") => ErrorKind::Constraint,
        "40001" | "40P01" => ErrorKind::Serialization,
        "55P03" => ErrorKind::Busy,
        "57014" => ErrorKind::Interrupted,
        // Connection failures, the server shutting down, a database that does not exist, too
        // many connections: the database cannot be reached (now).
        _ if code.starts_with("08") => ErrorKind::Unavailable,
        "57P01" | "57P02" | "57P03" | "3D000" | "53300" => ErrorKind::Unavailable,
        _ => ErrorKind::Other,
    }
}

fn error(e: postgres::Error) -> DbError {
    if let Some(bind) = e.source().and_then(|s| s.downcast_ref::<BindError>()) {
        return DbError::other(bind.0.clone());
    }
    let (kind, message) = match (e.code(), e.as_db_error()) {
        (Some(state), Some(db)) => {
            let mut message = match db.detail() {
                Some(detail) => format!("{} ({detail})", db.message()),
                None => db.message().to_string(),
            };
            // The server's advice ("Increase max_prepared_transactions (currently 1).") is what
            // the administrator needs; the message alone names no setting.
            if let Some(hint) = db.hint() {
                message = format!("{message}: {}", hint.trim_end_matches('.'));
            }
            (kind_of(state), message)
        }
        (Some(state), None) => (kind_of(state), e.to_string()),
        // No SQLSTATE: the connection failed or closed (the crate's own client-side errors,
        // parameter counts and conversions, are caught before they reach it).
        // The crate's text may lack why ("error connecting to server"); its source says it
        // ("Connection refused", a name that does not resolve, a timeout). Once only: some
        // of the crate's texts already end with it.
        (None, _) => {
            let text = e.to_string();
            let mut text = match e.source().map(|c| c.to_string()) {
                Some(cause) if !text.contains(&cause) => format!("{text}: {cause}"),
                _ => text,
            };
            // The crate's words when the server asks for a password the URL does not give.
            if text.ends_with("password missing") {
                text.push_str(
                    " (the server asks for a password: put it in ~/.pgpass, or the file PGPASSFILE names, readable by its owner alone, as a line host:port:database:user:password)",
                );
            }
            (ErrorKind::Unavailable, text)
        }
    };
    DbError::backend(kind, Box::new(PgError { message, inner: e }))
}

#[cfg(all(test, unix))]
mod tests {
    /// Nothing listens on port 1: the open fails before any server is needed.
    #[test]
    fn a_refused_connection_says_its_cause_once() {
        let e = match super::open("postgres://pchat@127.0.0.1:1/x?connect_timeout=5") {
            Err(e) => anyhow::Error::new(e).context("cannot open the store"),
            Ok(_) => panic!("something listens on port 1"),
        };
        let text = format!("{e:#}");
        assert_eq!(text.matches("error connecting to server").count(), 1, "{text}");
        assert_eq!(text.matches("refused").count(), 1, "{text}");
    }

    /// A server that does not answer is told apart from one that refuses the database: only the
    /// first is `server_silent` (a fail-back then advises bringing the server back, not a repair).
    #[test]
    fn a_silent_server_is_told_apart_from_a_missing_database() {
        let Err(e) = super::open("postgres://pchat@127.0.0.1:1/x?connect_timeout=5") else {
            panic!("something listens on port 1")
        };
        assert!(super::server_silent(&e), "{e}");
        let Some(cluster) = Cluster::shared("a_silent_server_is_told_apart_from_a_missing_database") else { return };
        let Err(e) = super::open(&cluster.missing_database("silent")) else { panic!("the database exists") };
        assert!(!super::server_silent(&e), "{e}");
    }

    use super::super::{Begin, Db, ErrorKind, List, Value, ValueRef, params};
    use crate::store::pg::test_cluster::{Cluster, connect};
    use std::time::{Duration, Instant};

    /// A session on a new database of the throwaway server, and the database's URL.
    fn session(test: &str) -> Option<(Db, String)> {
        let url = Cluster::shared(test)?.database("pgdb");
        Some((Db::open_postgres(&url).unwrap(), url))
    }

    fn pg(db: &Db) -> &super::PgDb {
        match db {
            Db::Pg(p) => p,
            Db::Sqlite(_) => unreachable!("a PostgreSQL session"),
        }
    }

    const TYPED: &str = "CREATE TABLE typed(i2 int2, i4 int4, i8 int8, b bool, f4 real, f8 float8, num numeric,
        s text, v varchar(10), c char(3), j json, jb jsonb, by bytea)";
    const INSERT_TYPED: &str = "INSERT INTO typed VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)";

    fn message(r: super::Result<usize>) -> String {
        r.unwrap_err().to_string()
    }

    /// A session whose backend an administrator terminated: the error names the database
    /// (`host:port/dbname`, no user or password) and what to check, not the crate's "connection
    /// closed" or the socket's "Broken pipe", and stays `Unavailable` (what the engine reopens on).
    #[test]
    fn the_server_s_advice_is_part_of_the_error() {
        let Some((db, _)) = session("the_server_s_advice_is_part_of_the_error") else { return };
        // The server answers a call to a missing function with a hint.
        let text = db.execute_batch("SELECT pchat_no_such_function(1)").unwrap_err().to_string();
        assert!(text.contains("does not exist") && text.contains("explicit type casts"), "{text}");
    }

    #[test]
    fn a_lost_connection_names_the_database_and_what_to_check() {
        let Some((db, url)) = session("a_lost_connection_names_the_database_and_what_to_check") else { return };
        let pid: i64 = db.query_row("SELECT pg_backend_pid()", (), |r| r.get(0)).unwrap();
        // Waits (up to 10 s) until the backend is gone.
        let gone: bool =
            connect(&url).query_one("SELECT pg_terminate_backend($1::int8::int4, 10000)", &[&pid]).unwrap().get(0);
        assert!(gone);
        let named = super::database_named(&url.parse().unwrap());
        assert!(named.contains(&url.rsplit('/').next().unwrap().to_string()), "{named}: {url}");
        assert!(!named.contains('@'), "{named}");
        // The first statement meets the loss; the next one the closed session.
        for attempt in ["the first", "the next"] {
            let e = db.execute_batch("SELECT 1").unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Unavailable, "{attempt}: {e}");
            let text = e.to_string();
            for expected in [named.as_str(), "was lost", "check that its server is running and reachable"] {
                assert!(text.contains(expected), "{attempt}: {expected}: {text}");
            }
            for raw in ["Broken pipe", "connection closed"] {
                assert!(!text.contains(raw), "{attempt}: {raw}: {text}");
            }
        }
        assert!(db.is_closed());
    }

    #[test]
    fn parameters_bind_as_the_type_the_server_inferred() {
        let Some((db, _)) = session("parameters_bind_as_the_type_the_server_inferred") else { return };
        db.execute_batch(TYPED).unwrap();
        let n = db
            .execute(
                INSERT_TYPED,
                params![1, 2, 3, 1, 1.5, 2, 42, "t", "v", "c", r#"{"a":1}"#, r#"{"a":[1]}"#, vec![0u8, 255]],
            )
            .unwrap();
        assert_eq!(n, 1);
        let row: Vec<Value> =
            db.query_row("SELECT * FROM typed", (), |r| (0..13).map(|i| r.get::<Value>(i)).collect()).unwrap();
        use Value::{Blob, Integer, Real, Text};
        assert_eq!(
            row,
            [
                Integer(1),
                Integer(2),
                Integer(3),
                Integer(1),
                Real(1.5),
                Real(2.0),
                Integer(42),
                Text("t".into()),
                Text("v".into()),
                Text("c  ".into()),
                Text(r#"{"a":1}"#.into()),
                Text(r#"{"a": [1]}"#.into()),
                Blob(vec![0, 255]),
            ]
        );
        assert!(db.query_row("SELECT b FROM typed", (), |r| r.get::<bool>(0)).unwrap());
        assert_eq!(db.query_row("SELECT i4 FROM typed", (), |r| r.get::<i32>(0)).unwrap(), 2);

        // Refused before anything reaches the server, naming the parameter and both types.
        let one = "INSERT INTO typed(i2, i4, b, i8, s, by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
        let ok = [Value::Null, Value::Null, Value::Null, Value::Null, Value::Null, Value::Null];
        let with = |i: usize, v: Value| {
            let mut p = ok.clone();
            p[i] = v;
            p
        };
        db.begin(Begin::Deferred).unwrap();
        assert_eq!(
            message(db.execute(one, with(1, Value::Integer(1 << 31)))),
            "parameter ?2: integer 2147483648 is out of range for int4"
        );
        assert_eq!(
            message(db.execute(one, with(0, Value::Integer(-32769)))),
            "parameter ?1: integer -32769 is out of range for int2"
        );
        assert_eq!(
            message(db.execute(one, with(2, Value::Integer(2)))),
            "parameter ?3: integer 2 is not a boolean (0 or 1) for bool"
        );
        assert_eq!(
            message(db.execute(one, with(3, Value::Text("12".into())))),
            "parameter ?4: a value of type Text cannot be bound to int8"
        );
        assert_eq!(
            message(db.execute(one, with(3, Value::Real(1.0)))),
            "parameter ?4: a value of type Real cannot be bound to int8"
        );
        assert_eq!(
            message(db.execute(one, with(4, Value::Integer(12)))),
            "parameter ?5: a value of type Integer cannot be bound to text"
        );
        assert_eq!(
            message(db.execute(one, with(5, Value::Text("x".into())))),
            "parameter ?6: a value of type Text cannot be bound to bytea"
        );
        assert!(
            message(db.execute(
                one,
                [
                    ValueRef::Null,
                    ValueRef::Null,
                    ValueRef::Null,
                    ValueRef::Null,
                    ValueRef::Text(b"\xff"),
                    ValueRef::Null
                ]
            ))
            .starts_with("parameter ?5: text that is not UTF-8")
        );
        assert_eq!(message(db.execute(one, [Value::Null])), "the statement takes 6 parameter(s), 1 were given");
        // Those refusals happened before the server saw anything: the transaction goes on.
        assert_eq!(db.execute(one, with(0, Value::Integer(-32768))).unwrap(), 1);
        db.commit().unwrap();
        assert_eq!(db.query_row("SELECT count(*) FROM typed", (), |r| r.get::<i64>(0)).unwrap(), 2);
        assert_eq!(db.query_row("SELECT min(i2) FROM typed", (), |r| r.get::<i64>(0)).unwrap(), -32768);
    }

    #[test]
    fn lists_bind_as_the_array_type_the_server_inferred() {
        let Some((db, _)) = session("lists_bind_as_the_array_type_the_server_inferred") else { return };
        db.execute_batch(
            "CREATE TABLE l(i8 int8, i4 int4, s text);
             INSERT INTO l VALUES (1, 1, 'a'), (2, 2, 'caf\u{e9}'), (3, 3, 'Caf\u{e9}'), (NULL, NULL, NULL)",
        )
        .unwrap();
        let ints = |sql: &str, list: List| -> super::Result<Vec<i64>> {
            db.query_map(sql, [Value::List(list)], |r| r.get::<Option<i64>>(0))
                .map(|v| v.into_iter().flatten().collect())
        };
        let by_i8 = "SELECT i8 FROM l WHERE i8 = ANY(?1) ORDER BY i8";
        assert_eq!(ints(by_i8, List::integers(&[3, 1, 3, 99])).unwrap(), [1, 3]);
        assert_eq!(ints(by_i8, List::integers(&[])).unwrap(), Vec::<i64>::new());
        assert_eq!(ints("SELECT i4 FROM l WHERE i4 = ANY(?1) ORDER BY i4", List::integers(&[2])).unwrap(), [2]);
        assert_eq!(
            ints("SELECT i8 FROM l WHERE s = ANY(?1) ORDER BY i8", List::texts(&["caf\u{e9}", "a", "A"])).unwrap(),
            [1, 2]
        );
        assert_eq!(ints("SELECT i8 FROM l WHERE s = ANY(?1)", List::texts::<&str>(&[])).unwrap(), Vec::<i64>::new());
        // Element by element as scalars bind: range-checked, never a number into text or back.
        let e = ints("SELECT i4 FROM l WHERE i4 = ANY(?1)", List::integers(&[1, 1 << 40])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "parameter ?1: integer 1099511627776 is out of range for int4 (an element of the list)"
        );
        let e = ints("SELECT i8 FROM l WHERE s = ANY(?1)", List::integers(&[1])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "parameter ?1: a value of type Integer cannot be bound to text (an element of the list)"
        );
        let e = ints(by_i8, List::texts(&["1"])).unwrap_err();
        assert_eq!(
            e.to_string(),
            "parameter ?1: a value of type Text cannot be bound to int8 (an element of the list)"
        );
        let e = ints("SELECT i8 FROM l WHERE i8 = ?1", List::integers(&[1])).unwrap_err();
        assert_eq!(e.to_string(), "parameter ?1: a value of type List cannot be bound to int8");
    }

    #[test]
    fn null_binds_to_every_type_and_reads_back_as_null() {
        let Some((db, _)) = session("null_binds_to_every_type_and_reads_back_as_null") else { return };
        db.execute_batch(TYPED).unwrap();
        db.execute(INSERT_TYPED, [ValueRef::Null; 13]).unwrap();
        let row: Vec<Value> =
            db.query_row("SELECT * FROM typed", (), |r| (0..13).map(|i| r.get::<Value>(i)).collect()).unwrap();
        assert_eq!(row, vec![Value::Null; 13]);
        let absent: Option<String> = db.query_row("SELECT s FROM typed", (), |r| r.get(0)).unwrap();
        assert_eq!(absent, None);
        let err = db.query_row("SELECT s FROM typed", (), |r| r.get::<String>(0)).unwrap_err();
        assert_eq!(err.to_string(), "Invalid column type Null at index: 0, name: s");
    }

    #[test]
    fn numbered_parameters_repeat_and_come_in_any_order() {
        let Some((db, _)) = session("numbered_parameters_repeat_and_come_in_any_order") else { return };
        db.execute_batch("CREATE TABLE q(a bigint, b text, c bigint)").unwrap();
        db.execute("INSERT INTO q(a, b, c) VALUES (?2, ?1, ?2)", params!["one", 1]).unwrap();
        db.execute("INSERT INTO q(b, a, c) VALUES (?, ?, ?2)", params!["two", 2]).unwrap();
        db.execute("UPDATE q SET c = c + 1 WHERE a = ?1", [2]).unwrap();
        // A pitfall the step-3 test that prepares every store statement looks for: one number
        // in two contexts the server types differently is refused at prepare time (SQLite has
        // no such check).
        let twice = db.execute("INSERT INTO q(a, c) VALUES (?1, ?1 + 1)", [5]).unwrap_err();
        assert_eq!(twice.to_string(), "inconsistent types deduced for parameter $1 (integer versus bigint)");
        let rows = db
            .query_map("SELECT a, b, c FROM q WHERE b = ?2 OR a = ?1 ORDER BY a", params![1, "two"], |r| {
                Ok((r.get::<i64>(0)?, r.get::<String>(1)?, r.get::<i64>(2)?))
            })
            .unwrap();
        assert_eq!(rows, [(1, "one".to_string(), 1), (2, "two".to_string(), 3)]);
        // Quotes and comments keep their question marks.
        let text: String = db.query_row("SELECT 'why?' || ?1 -- or ?2\n", ["!"], |r| r.get(0)).unwrap();
        assert_eq!(text, "why?!");
    }

    #[test]
    fn odd_text_and_bytes_round_trip() {
        let Some((db, _)) = session("odd_text_and_bytes_round_trip") else { return };
        db.execute_batch("CREATE TABLE odd(id bigint PRIMARY KEY, s text, j jsonb, b bytea)").unwrap();
        let long = "é".repeat(50_000);
        let texts = [
            "",
            "Zoë Ünïcødé",
            "日本語のチャット",
            "🎉 emoji and ZWJ 👩‍💻",
            "it's \"quoted\" \\ ?1 $1 -- not a comment /* nor this */",
            "tab\tnew\nline\rcr",
            "\u{202e}bidi override",
            &long,
        ];
        let all_bytes: Vec<u8> = (0..=255).collect();
        for (i, t) in texts.iter().enumerate() {
            let json = serde_json::to_string(&serde_json::json!({ "s": t })).unwrap();
            db.execute("INSERT INTO odd(id, s, j, b) VALUES (?1, ?2, ?3, ?4)", params![i as i64, *t, json, all_bytes])
                .unwrap();
            let (s, j, b): (String, String, Vec<u8>) = db
                .query_row("SELECT s, j, b FROM odd WHERE id = ?1", [i as i64], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?))
                })
                .unwrap();
            assert_eq!(s, *t);
            let back: serde_json::Value = serde_json::from_str(&j).unwrap();
            assert_eq!(back["s"], *t);
            assert_eq!(b, all_bytes);
        }
        db.execute("INSERT INTO odd(id, b) VALUES (100, ?1)", [Vec::<u8>::new()]).unwrap();
        assert_eq!(db.query_row("SELECT b FROM odd WHERE id = 100", (), |r| r.get::<Vec<u8>>(0)).unwrap(), b"");
        // PostgreSQL text cannot hold NUL (SQLite's can): the server refuses it.
        let nul = db.execute("INSERT INTO odd(id, s) VALUES (101, ?1)", ["a\0b"]).unwrap_err();
        assert_eq!(nul.kind(), ErrorKind::Other);
        assert!(nul.to_string().contains("0x00"), "{nul}");
    }

    #[test]
    fn numeric_reads_as_sqlite_types_the_same_results() {
        let Some((db, _)) = session("numeric_reads_as_sqlite_types_the_same_results") else { return };
        let value = |sql: &str| db.query_row(sql, (), |r| r.get::<Value>(0));
        db.execute_batch("CREATE TABLE n(x bigint); INSERT INTO n VALUES (1), (2), (9223372036854775807)").unwrap();
        assert_eq!(value("SELECT sum(x) FROM n WHERE x < 3").unwrap(), Value::Integer(3));
        assert_eq!(value("SELECT avg(x) FROM n WHERE x < 3").unwrap(), Value::Real(1.5));
        assert_eq!(value("SELECT avg(x) FROM n WHERE x = 2").unwrap(), Value::Real(2.0));
        let overflow = value("SELECT sum(x) AS total FROM n").unwrap_err();
        assert_eq!(
            overflow.to_string(),
            "numeric 9223372036854775810 out of range for an Integer at index 0, name: total"
        );
        assert_eq!(value("SELECT -9223372036854775808::numeric").unwrap(), Value::Integer(i64::MIN));
        assert_eq!(value("SELECT 0::numeric").unwrap(), Value::Integer(0));
        assert_eq!(value("SELECT 10000000000::numeric").unwrap(), Value::Integer(10_000_000_000));
        assert_eq!(value("SELECT 1.50::numeric(10, 2)").unwrap(), Value::Real(1.5));
        assert_eq!(value("SELECT -0.0001::numeric").unwrap(), Value::Real(-0.0001));
        assert_eq!(value("SELECT 123456.789::numeric").unwrap(), Value::Real(123456.789));
        assert!(matches!(value("SELECT 'NaN'::numeric").unwrap(), Value::Real(r) if r.is_nan()));
        // Bound into numeric and read back: integers stay Integers, Reals stay Reals.
        for v in [Value::Integer(i64::MAX), Value::Integer(-7), Value::Integer(0)] {
            assert_eq!(db.query_row("SELECT ?1::numeric", [&v], |r| r.get::<Value>(0)).unwrap(), v);
        }
        for r in [0.1, -12.5, 3.0, 1e-7, 1e300, -0.0, 123456.789, f64::MIN_POSITIVE] {
            let back = db.query_row("SELECT ?1::numeric", [r], |row| row.get::<f64>(0)).unwrap();
            assert_eq!(back, r, "{r}");
        }
        // Types the store does not use are an error naming the column and the type.
        let now = db.query_row("SELECT now() AS at", (), |r| r.get::<Value>(0)).unwrap_err();
        assert_eq!(
            now.to_string(),
            "unsupported column type timestamptz at index 0, name: at (cast it in the statement)"
        );
    }

    #[test]
    fn a_query_runs_while_another_s_rows_are_iterated() {
        let Some((db, _)) = session("a_query_runs_while_another_s_rows_are_iterated") else { return };
        db.execute_batch(
            "CREATE TABLE src(id bigint); INSERT INTO src VALUES (1), (2), (3); CREATE TABLE dst(id bigint)",
        )
        .unwrap();
        let mut stmt = db.prepare_cached("SELECT id FROM src ORDER BY id").unwrap();
        let mut rows = stmt.query(()).unwrap();
        let mut seen = 0;
        while let Some(row) = rows.next().unwrap() {
            let id: i64 = row.get(0).unwrap();
            db.execute("INSERT INTO dst(id) VALUES (?1)", [id * 10]).unwrap();
            seen += db.query_row("SELECT count(*) FROM dst", (), |r| r.get::<i64>(0)).unwrap();
        }
        assert_eq!(seen, 1 + 2 + 3);
        let ids: Vec<i64> = db.query_map("SELECT id FROM dst ORDER BY id", (), |r| r.get(0)).unwrap();
        assert_eq!(ids, [10, 20, 30]);
    }

    #[test]
    fn a_failed_statement_aborts_the_transaction_until_a_savepoint_is_rolled_back_to() {
        let Some((db, _)) = session("a_failed_statement_aborts_the_transaction_until_a_savepoint_is_rolled_back_to")
        else {
            return;
        };
        db.execute_batch("CREATE TABLE k(id bigint PRIMARY KEY)").unwrap();
        db.begin(Begin::Immediate).unwrap();
        db.execute("INSERT INTO k VALUES (1)", ()).unwrap();
        db.savepoint("item").unwrap();
        let dup = db.execute("INSERT INTO k VALUES (1)", ()).unwrap_err();
        assert_eq!(dup.kind(), ErrorKind::Constraint);
        // PostgreSQL's rule, unlike SQLite's: nothing more runs in the transaction...
        let aborted = db.execute("INSERT INTO k VALUES (2)", ()).unwrap_err();
        assert!(aborted.to_string().starts_with("current transaction is aborted"), "{aborted}");
        // ...until the savepoint is rolled back to; then it goes on.
        db.rollback_to("item").unwrap();
        db.release("item").unwrap();
        db.execute("INSERT INTO k VALUES (2)", ()).unwrap();
        db.commit().unwrap();
        let ids: Vec<i64> = db.query_map("SELECT id FROM k ORDER BY id", (), |r| r.get(0)).unwrap();
        assert_eq!(ids, [1, 2]);

        // Without a savepoint rolled back to, COMMIT is refused and says the work was rolled back
        // (PostgreSQL itself would answer COMMIT with a silent ROLLBACK).
        db.begin(Begin::Deferred).unwrap();
        db.execute("INSERT INTO k VALUES (3)", ()).unwrap();
        db.execute("INSERT INTO k VALUES (1)", ()).unwrap_err();
        let commit = db.commit().unwrap_err();
        assert!(commit.to_string().starts_with("the transaction was rolled back, not committed"), "{commit}");
        assert!(db.is_autocommit());
        assert_eq!(db.query_row("SELECT count(*) FROM k", (), |r| r.get::<i64>(0)).unwrap(), 2);
        // A failure outside a transaction leaves nothing to recover.
        db.execute("INSERT INTO k VALUES (1)", ()).unwrap_err();
        db.execute("INSERT INTO k VALUES (4)", ()).unwrap();
    }

    #[test]
    fn changes_counts_the_last_statement() {
        let Some((db, _)) = session("changes_counts_the_last_statement") else { return };
        db.execute_batch("CREATE TABLE c(id bigint, n bigint)").unwrap();
        assert_eq!(db.changes(), 0);
        db.execute("INSERT INTO c SELECT g, 0 FROM generate_series(1, 5) g", ()).unwrap();
        assert_eq!(db.changes(), 5);
        assert_eq!(db.execute("UPDATE c SET n = 1 WHERE id <= ?1", [3]).unwrap(), 3);
        assert_eq!(db.changes(), 3);
        assert_eq!(db.execute("DELETE FROM c WHERE id > 100", ()).unwrap(), 0);
        assert_eq!(db.changes(), 0);
    }

    #[test]
    fn the_statement_cache_is_bounded_and_reused() {
        let Some((db, _)) = session("the_statement_cache_is_bounded_and_reused") else { return };
        let p = pg(&db);
        p.set_cache_capacity(2);
        let run = |sql: &str| db.prepare_cached(sql).unwrap().query_row([1], |r| r.get::<i64>(0)).unwrap();
        let (a, b, c) = ("SELECT ?1 + 0", "SELECT ?1 + 1", "SELECT ?1 + 2");
        let start = p.prepares();
        assert_eq!(run(a), 1);
        assert_eq!(run(a), 1);
        assert_eq!(p.prepares() - start, 1, "the second use comes from the cache");
        assert_eq!((run(b), run(c)), (2, 3));
        assert_eq!(p.prepares() - start, 3);
        assert_eq!(p.cached(), 2, "bounded");
        // `a` was the least recently used: evicted, prepared again (evicting `b`); `c` stays.
        assert_eq!(run(a), 1);
        assert_eq!(p.prepares() - start, 4);
        assert_eq!(run(c), 3);
        assert_eq!(p.prepares() - start, 4);
        assert_eq!(run(b), 2);
        assert_eq!(p.prepares() - start, 5);
        // An uncached prepare uses the cache when the text is there, and does not fill it.
        assert_eq!(db.query_row(b, [1], |r| r.get::<i64>(0)).unwrap(), 2);
        assert_eq!(p.prepares() - start, 5);
        assert_eq!(db.query_row("SELECT ?1 + 3", [1], |r| r.get::<i64>(0)).unwrap(), 4);
        assert_eq!(p.prepares() - start, 6);
        assert_eq!(p.cached(), 2);
    }

    /// Another session's DDL changes the columns a cached `SELECT *` returns: PostgreSQL refuses
    /// the stale plan (0A000); the session prepares it again instead of failing from then on.
    #[test]
    fn a_cached_statement_whose_result_type_changed_is_prepared_again() {
        let Some((db, url)) = session("a_cached_statement_whose_result_type_changed_is_prepared_again") else {
            return;
        };
        let p = pg(&db);
        db.execute_batch("CREATE TABLE r(a bigint); INSERT INTO r VALUES (1)").unwrap();
        let read = || -> super::Result<Vec<Value>> {
            // Every column the row has (the statement's column count may be the stale one's).
            db.prepare_cached("SELECT * FROM r WHERE a = ?1")?
                .query_row([1], |r| Ok((0..).map_while(|i| r.get::<Value>(i).ok()).collect()))
        };
        assert_eq!(read().unwrap(), [Value::Integer(1)]);
        let mut other = connect(&url);
        other.batch_execute("ALTER TABLE r ADD COLUMN b text DEFAULT 'x'").unwrap();
        let start = p.prepares();
        // Outside a transaction: evicted, prepared again and run once more.
        assert_eq!(read().unwrap(), [Value::Integer(1), Value::Text("x".into())]);
        assert_eq!(p.prepares() - start, 1);
        assert_eq!(read().unwrap(), [Value::Integer(1), Value::Text("x".into())]);
        assert_eq!(p.prepares() - start, 1, "the new statement is the cached one");

        // Inside a transaction the server has aborted it: the error stands, the transaction is
        // rolled back, and the next one prepares the statement again.
        other.batch_execute("ALTER TABLE r ADD COLUMN c bigint DEFAULT 7").unwrap();
        db.begin(Begin::Deferred).unwrap();
        let stale = read().unwrap_err();
        assert_eq!(stale.to_string(), "cached plan must not change result type");
        assert_eq!(p.prepares() - start, 1);
        let commit = db.commit().unwrap_err();
        assert!(commit.to_string().starts_with("the transaction was rolled back"), "{commit}");
        db.begin(Begin::Deferred).unwrap();
        assert_eq!(read().unwrap(), [Value::Integer(1), Value::Text("x".into()), Value::Integer(7)]);
        db.commit().unwrap();
        assert_eq!(p.prepares() - start, 2);
        // An uncached prepare that found the text in the cache: the cache's entry is replaced.
        other.batch_execute("ALTER TABLE r DROP COLUMN c").unwrap();
        let mut stmt = db.prepare("SELECT * FROM r WHERE a = ?1").unwrap();
        assert_eq!(stmt.query_row([1], |r| r.get::<Value>(1)).unwrap(), Value::Text("x".into()));
        drop(stmt);
        assert_eq!(p.prepares() - start, 3);
        assert_eq!(read().unwrap(), [Value::Integer(1), Value::Text("x".into())]);
        assert_eq!(p.prepares() - start, 3);
    }

    #[test]
    fn errors_take_their_kind_from_the_sqlstate() {
        let Some((db, url)) = session("errors_take_their_kind_from_the_sqlstate") else { return };
        let raise = |code: &str| {
            db.execute_batch(&format!(
                "DO $$ BEGIN RAISE EXCEPTION 'raised %', '{code}' USING ERRCODE = '{code}'; END $$"
            ))
            .unwrap_err()
        };
        for (code, kind) in [
            ("23505", ErrorKind::Constraint),
            ("23503", ErrorKind::Constraint),
            ("40001", ErrorKind::Serialization),
            ("40P01", ErrorKind::Serialization),
            ("55P03", ErrorKind::Busy),
            ("57014", ErrorKind::Interrupted),
            ("08006", ErrorKind::Unavailable),
            ("57P01", ErrorKind::Unavailable),
            ("42601", ErrorKind::Other),
            ("P0001", ErrorKind::Other),
        ] {
            let e = raise(code);
            assert_eq!((code, e.kind()), (code, kind));
            assert_eq!(e.to_string(), format!("raised {code}"));
        }
        // The settings every session runs with.
        let show = |name: &str| db.query_row(&format!("SHOW {name}"), (), |r| r.get::<String>(0)).unwrap();
        assert_eq!(show("lock_timeout"), "5s");
        assert_eq!(show("idle_in_transaction_session_timeout"), "10min");
        assert_eq!(show("application_name"), "pchat");
        // A real lock wait past lock_timeout is Busy.
        db.execute_batch("CREATE TABLE l(id bigint PRIMARY KEY); INSERT INTO l VALUES (1)").unwrap();
        let other = Db::open_postgres(&url).unwrap();
        other.begin(Begin::Immediate).unwrap();
        other.execute("UPDATE l SET id = 1", ()).unwrap();
        db.execute_batch("SET lock_timeout = '50ms'").unwrap();
        let busy = db.execute("UPDATE l SET id = 2", ()).unwrap_err();
        assert_eq!(busy.kind(), ErrorKind::Busy, "{busy}");
        other.rollback().unwrap();
        // A NOT NULL violation, with the server's detail.
        db.execute_batch("CREATE TABLE nn(id bigint NOT NULL)").unwrap();
        let e = db.execute("INSERT INTO nn VALUES (?1)", [Value::Null]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Constraint);
        assert!(e.to_string().starts_with("null value in column \"id\""), "{e}");
    }

    #[test]
    fn a_server_that_is_not_there_is_unavailable() {
        // A port nothing listens on (taken, then let go).
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let e = Db::open_postgres(&format!("postgres://pchat@127.0.0.1:{port}/pchat")).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        let e = Db::open_postgres("postgres://pchat@127.0.0.1:notaport/x").err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Other, "{e}");
        let Some((db, url)) = session("a_server_that_is_not_there_is_unavailable") else { return };
        let (base, query) = url.split_once('?').map_or((url.as_str(), ""), |(b, q)| (b, q));
        let name = base.rsplit('/').next().unwrap();
        let missing = format!(
            "{}pchat_no_such_database{}{query}",
            &base[..base.len() - name.len()],
            if query.is_empty() { "" } else { "?" }
        );
        let e = Db::open_postgres(&missing).err().unwrap();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
        // A session whose server ended it.
        let pid: i64 = db.query_row("SELECT pg_backend_pid()", (), |r| r.get(0)).unwrap();
        connect(&url).execute("SELECT pg_terminate_backend($1)", &[&(pid as i32)]).unwrap();
        let e = db.query_row("SELECT 1", (), |r| r.get::<i64>(0)).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unavailable, "{e}");
    }

    #[test]
    fn the_interrupt_handle_cancels_a_running_statement() {
        let Some((db, url)) = session("the_interrupt_handle_cancels_a_running_statement") else { return };
        let pid: i64 = db.query_row("SELECT pg_backend_pid()", (), |r| r.get(0)).unwrap();
        let handle = db.interrupt_handle();
        let watcher = std::thread::spawn(move || {
            // Cancel once the statement is seen running, as a signal would arrive mid-statement.
            let mut c = connect(&url);
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                let running: bool = c
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity
                         WHERE pid = $1 AND state = 'active' AND query LIKE '%pg_sleep%')",
                        &[&(pid as i32)],
                    )
                    .unwrap()
                    .get(0);
                if running {
                    break;
                }
                assert!(Instant::now() < deadline, "the statement never ran");
            }
            handle.interrupt();
        });
        db.begin(Begin::Deferred).unwrap();
        let started = Instant::now();
        let e = db.execute("SELECT pg_sleep(30)", ()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Interrupted, "{e}");
        assert!(started.elapsed() < Duration::from_secs(15), "{:?}", started.elapsed());
        watcher.join().unwrap();
        // The interrupted transaction is rolled back and the session goes on.
        db.rollback().unwrap();
        assert_eq!(db.query_row("SELECT 1", (), |r| r.get::<i64>(0)).unwrap(), 1);
    }

    /// A released savepoint's RELEASE goes with the next SAVEPOINT, one round trip for both
    /// (design notes §5 step 8: a pipeline's items cost a SAVEPOINT and a RELEASE on every
    /// session), and the savepoints mean what they meant: a rollback to one undoes what came
    /// after, inner released ones included; a failure inside a released one is recovered by a
    /// rollback to the outer; an outer release releases all; COMMIT keeps everything.
    #[test]
    fn a_release_goes_with_the_next_savepoint_and_savepoints_keep_their_meaning() {
        let Some((db, _)) = session("a_release_goes_with_the_next_savepoint_and_savepoints_keep_their_meaning") else {
            return;
        };
        let p = pg(&db);
        db.execute_batch("CREATE TABLE s(id bigint PRIMARY KEY)").unwrap();
        db.begin(Begin::Immediate).unwrap();
        db.savepoint("outer").unwrap();
        let start = p.round_trips();
        for id in 1..=3 {
            db.savepoint("item").unwrap();
            db.prepare_cached("INSERT INTO s VALUES (?1)").unwrap().execute([id]).unwrap();
            db.release("item").unwrap();
        }
        // Three SAVEPOINTs (two carrying the RELEASE before them), three INSERTs (one parse).
        assert_eq!(p.round_trips() - start, 3 + 3 + 1);
        let ids = |db: &Db| db.query_map("SELECT id FROM s ORDER BY id", (), |r| r.get::<i64>(0)).unwrap();
        // A released item's row is the outer savepoint's to undo.
        db.rollback_to("outer").unwrap();
        assert!(ids(&db).is_empty());
        db.savepoint("item").unwrap();
        db.execute("INSERT INTO s VALUES (4)", ()).unwrap();
        db.release("item").unwrap();
        // A failure after a release (still open on the server): the outer savepoint recovers.
        db.execute("INSERT INTO s VALUES (4)", ()).unwrap_err();
        db.rollback_to("outer").unwrap();
        db.execute("INSERT INTO s VALUES (5)", ()).unwrap();
        assert_eq!(ids(&db), [5]);
        // A released savepoint is gone by name, as in SQLite.
        db.savepoint("item").unwrap();
        db.release("item").unwrap();
        assert!(db.rollback_to("item").unwrap_err().to_string().contains("no such savepoint"));
        db.execute("INSERT INTO s VALUES (6)", ()).unwrap();
        db.release("outer").unwrap();
        db.commit().unwrap();
        assert_eq!(ids(&db), [5, 6]);
        // Committed with a release pending, and prepared with one: nothing is lost.
        db.begin(Begin::Immediate).unwrap();
        db.savepoint("item").unwrap();
        db.execute("INSERT INTO s VALUES (7)", ()).unwrap();
        db.release("item").unwrap();
        db.commit().unwrap();
        assert_eq!(ids(&db), [5, 6, 7]);
    }

    /// The coordinator's advisory lock, taken once per two-phase commit, reuses one prepared
    /// statement: a text with the key spelt in was parsed anew for every change, a round trip of
    /// its own (design notes §5 step 8: 34 round trips per room change on PostgreSQL).
    #[test]
    fn the_commit_lock_is_one_prepared_statement_for_every_change() {
        use crate::store::pg::twophase;
        let Some((db, url)) = session("the_commit_lock_is_one_prepared_statement_for_every_change") else { return };
        let p = pg(&db);
        let mut agent = &db;
        let first = twophase::new_locked_txid(&mut agent).unwrap();
        let start = p.prepares();
        let mut held = vec![first];
        for _ in 0..5 {
            held.push(twophase::new_locked_txid(&mut agent).unwrap());
        }
        assert_eq!(p.prepares(), start, "the lock's statement comes from the cache");
        // Each lock is taken and held by this session: another session cannot take it.
        let mut other = connect(&url);
        for txid in &held {
            let key = twophase::lock_key(txid);
            let taken: bool = other.query_one("SELECT pg_try_advisory_lock($1)", &[&key]).unwrap().get(0);
            assert!(!taken, "the lock of {txid} is held by the coordinator's session");
        }
        for txid in &held {
            twophase::unlock(&mut agent, txid);
        }
        for txid in &held {
            let key = twophase::lock_key(txid);
            let taken: bool = other.query_one("SELECT pg_try_advisory_lock($1)", &[&key]).unwrap().get(0);
            assert!(taken, "unlocked: the lock of {txid} is free");
        }
    }
}
