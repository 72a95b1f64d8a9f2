//! The seam between the store and its database (docs/design/postgres-port.md §2): one `Store`
//! over an enum-dispatched connection. Statements are written once, in the store's neutral
//! spelling (`?N` parameters, `{db}` schemas); values, rows and errors are the backend-neutral
//! types of this module. Only `sqlite.rs` names rusqlite, only `pg.rs` the `postgres` crate.
//!
//! An enum, not a `dyn` trait: the set of backends is closed, and the hottest loops (a row
//! per item of a 100,000-item pipeline) must pay no vtable call or box per row.

mod error;
#[cfg(any(test, debug_assertions))]
pub mod inventory;
mod pg;
mod sqlite;
mod value;

use std::borrow::Cow;

pub use error::{DbError, ErrorKind, OptionalExtension, Result};
pub use pg::Answers;
pub(crate) use value::params;
pub use value::{
    Element, FromValue, FromValueError, List, Params, ParamsFromIter, ToValue, Type, Value, ValueRef, params_from_iter,
};

use sqlite::Bind;
pub use sqlite::{CACHE_SIZE, JOURNAL_SIZE_LIMIT, MMAP_SIZE};

/// Whether a failure to open a PostgreSQL session is its server not answering (nothing listens,
/// a timeout, a name that does not resolve, the server starting up or shutting down), not the
/// server refusing the database (it does not exist, the role may not log in): a database that
/// may well be intact, which waiting for the server recovers and no repair does.
pub fn server_silent(e: &DbError) -> bool {
    pg::server_silent(e)
}

/// Whether a failure to open a PostgreSQL session is its server answering that the database
/// does not exist (dropped, or never created): nothing of it is left to wait for, and pchat does
/// not create databases, so the advice is the CREATE DATABASE line (`store::pg::create_database_advice`).
pub fn database_missing(e: &DbError) -> bool {
    pg::database_missing(e)
}

/// A connection to the store's database.
pub enum Db {
    Sqlite(sqlite::Connection),
    /// Boxed: the session (client, statement cache, transaction state) is several times the
    /// size of a SQLite connection, and `Db` must not grow for SQLite's sake.
    Pg(Box<pg::PgDb>),
}

/// How a transaction takes its locks (SQLite's BEGIN variants). On PostgreSQL Deferred is READ
/// COMMITTED and Immediate, a writer's, SERIALIZABLE (see `pg.rs`, `PgDb::begin`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Begin {
    /// Locks as statements need them.
    Deferred,
    /// The write lock before anything is read.
    Immediate,
    /// A transaction that only reads. SQLite: DEFERRED (a read transaction is one snapshot of
    /// every attached file). PostgreSQL: REPEATABLE READ READ ONLY, so that a cmdlet's reads
    /// see one snapshot of the database, as on SQLite (READ COMMITTED would let the rooms listed
    /// and their members come from different commits), and so that nothing a read path writes
    /// can commit outside the two-phase commit that writes need (step 4).
    Read,
}

/// Lets a signal stop the running statement of a connection (see `crate::interrupt`).
pub enum InterruptHandle {
    Sqlite(sqlite::SqliteInterrupt),
    Pg(pg::PgInterrupt),
}

impl InterruptHandle {
    /// Called from the interrupt watcher thread (not a signal handler): it may block, as the
    /// PostgreSQL cancel request does for a round trip.
    pub fn interrupt(&self) {
        match self {
            InterruptHandle::Sqlite(h) => h.interrupt(),
            InterruptHandle::Pg(h) => h.interrupt(),
        }
    }
}

impl Db {
    /// A SQLite database file of its own, read-write, `file:` URIs allowed in ATTACH (a repair
    /// fills a new pool file through it); never created here.
    pub fn open_sqlite_rw(path: &std::path::Path) -> Result<Db> {
        Ok(Db::Sqlite(sqlite::open_rw(path)?))
    }

    /// A SQLite database file, created (empty) if missing: the central store, or a new pool file.
    pub fn open_sqlite(path: &std::path::Path) -> Result<Db> {
        Ok(Db::Sqlite(sqlite::open(path)?))
    }

    /// An existing SQLite database file, read-write; never created (a pool file's identity check).
    pub fn open_sqlite_existing(path: &std::path::Path) -> Result<Db> {
        Ok(Db::Sqlite(sqlite::open_existing(path)?))
    }

    /// A private in-memory SQLite database (tests, scratch work).
    pub fn open_sqlite_memory() -> Result<Db> {
        Ok(Db::Sqlite(sqlite::open_in_memory()?))
    }

    /// A PostgreSQL session (`postgres://` URL or key=value string; no TLS yet), with the
    /// session settings the store runs under (see `pg.rs`). A server that cannot be reached, or
    /// a database that does not exist, is `ErrorKind::Unavailable`.
    pub fn open_postgres(url: &str) -> Result<Db> {
        Ok(Db::Pg(Box::new(pg::open(url)?)))
    }

    /// The SQL dialect of the connection, for the few texts whose spelling the store picks when
    /// it builds them (most are spelt from the text alone: `Dialect::query`).
    pub fn dialect(&self) -> crate::store::dialect::Dialect {
        match self {
            Db::Sqlite(_) => crate::store::dialect::Dialect::Sqlite,
            Db::Pg(_) => crate::store::dialect::Dialect::Postgres,
        }
    }

    /// The connection's settings for the store (journal, sync, foreign keys, caches, statement
    /// cache size, plan stability), set right after opening, before a migration runs under them.
    /// On PostgreSQL the session's settings are made when it connects (`Db::open_postgres`), so
    /// that no session runs a statement without them.
    pub fn configure(&self) -> Result<()> {
        match self {
            Db::Sqlite(c) => Ok(sqlite::configure(c)?),
            Db::Pg(_) => Ok(()),
        }
    }

    /// Migrate a PostgreSQL database to this program's `db` schema on this session (see
    /// `pg::migrate::migrate`); a SQLite connection migrates through `schema::sqlite_steps`.
    pub fn migrate_postgres(
        &self,
        db: crate::store::schema::Database,
    ) -> anyhow::Result<crate::store::pg::migrate::Migrated> {
        match self {
            Db::Sqlite(_) => anyhow::bail!("internal: a SQLite database is migrated by its own steps"),
            Db::Pg(c) => c.migrate(db),
        }
    }

    /// `migrate_postgres`, then `then` in the migration's own transaction before it commits
    /// (see `pg::migrate::migrate_then`): a pool database's schema and its identity row commit
    /// together.
    pub fn migrate_postgres_then<T>(
        &self,
        db: crate::store::schema::Database,
        then: impl FnOnce(&mut crate::store::pg::migrate::Tx<'_>, crate::store::pg::migrate::Migrated) -> anyhow::Result<T>,
    ) -> anyhow::Result<(crate::store::pg::migrate::Migrated, T)> {
        match self {
            Db::Sqlite(_) => anyhow::bail!("internal: a SQLite database is migrated by its own steps"),
            Db::Pg(c) => c.migrate_then(db, then),
        }
    }

    pub fn interrupt_handle(&self) -> InterruptHandle {
        match self {
            Db::Sqlite(c) => InterruptHandle::Sqlite(sqlite::SqliteInterrupt(c.get_interrupt_handle())),
            Db::Pg(c) => InterruptHandle::Pg(c.interrupt_handle()),
        }
    }

    /// Run one statement, prepared afresh (`prepare_cached` for statements run often).
    pub fn execute<P: Params>(&self, sql: &str, params: P) -> Result<usize> {
        self.prepare(sql)?.execute(params)
    }

    /// Run several statements without parameters (DDL, pragmas, migrations).
    /// PostgreSQL's `COPY … FROM STDIN` (`sql`, sent as it is), its data in COPY's text format
    /// written by `fill`; the rows copied. Not on SQLite.
    pub fn copy_in<E: From<DbError>>(
        &self,
        sql: &str,
        fill: impl FnOnce(&mut dyn std::io::Write) -> std::result::Result<(), E>,
    ) -> std::result::Result<u64, E> {
        match self {
            Db::Sqlite(_) => Err(DbError::other("COPY FROM STDIN is PostgreSQL's; this is a SQLite database").into()),
            Db::Pg(c) => c.copy_in(sql, fill),
        }
    }

    /// PostgreSQL's `COPY … TO STDOUT` (`sql`, sent as it is), its data in COPY's text format
    /// read by `drain`. Not on SQLite.
    pub fn copy_out<E: From<DbError>>(
        &self,
        sql: &str,
        drain: impl FnOnce(&mut dyn std::io::Read) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        match self {
            Db::Sqlite(_) => Err(DbError::other("COPY TO STDOUT is PostgreSQL's; this is a SQLite database").into()),
            Db::Pg(c) => c.copy_out(sql, drain),
        }
    }

    /// Bring this session's database to this program's `db` schema inside its open transaction
    /// (`pg::migrate::migrate_within`): the schema commits, or not, with the transaction's other
    /// work. PostgreSQL only.
    pub fn migrate_postgres_in_transaction<T>(
        &self,
        db: crate::store::schema::Database,
        then: impl FnOnce(&mut postgres::Client, crate::store::pg::migrate::Migrated) -> anyhow::Result<T>,
    ) -> anyhow::Result<(crate::store::pg::migrate::Migrated, T)> {
        match self {
            Db::Sqlite(_) => anyhow::bail!("internal: a PostgreSQL migration on a SQLite database"),
            Db::Pg(c) => c.migrate_in_transaction(db, then),
        }
    }

    pub fn execute_batch(&self, sql: &str) -> Result<()> {
        #[cfg(debug_assertions)]
        inventory::direct(sql);
        match self {
            Db::Sqlite(c) => c.execute_batch(sql).map_err(DbError::from),
            Db::Pg(c) => c.execute_batch(sql),
        }
    }

    /// The first row of a query, `ErrorKind::NoRows` when there is none.
    pub fn query_row<T, P, F>(&self, sql: &str, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        self.prepare(sql)?.query_row(params, f)
    }

    /// Every row of a query, mapped.
    pub fn query_map<T, P, F>(&self, sql: &str, params: P, f: F) -> Result<Vec<T>>
    where
        P: Params,
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        self.prepare(sql)?.query_map(params, f)?.collect()
    }

    pub fn prepare(&self, sql: &str) -> Result<Statement<'_>> {
        #[cfg(debug_assertions)]
        inventory::direct(sql);
        match self {
            Db::Sqlite(c) => Ok(Statement(StatementInner::Sqlite(c.prepare(sql)?))),
            Db::Pg(c) => Ok(Statement(StatementInner::Pg(c.prepare(sql)?))),
        }
    }

    /// A statement from the connection's cache, keyed by its SQL text: prepared once, then
    /// reused (SQLite's parsing and planning dominates the cost of a short statement; on
    /// PostgreSQL a prepare is a round trip, and the `?N`→`$N` rewriting is done once).
    pub fn prepare_cached(&self, sql: &str) -> Result<Statement<'_>> {
        #[cfg(debug_assertions)]
        inventory::direct(sql);
        match self {
            Db::Sqlite(c) => Ok(Statement(StatementInner::SqliteCached(c.prepare_cached(sql)?))),
            Db::Pg(c) => Ok(Statement(StatementInner::Pg(c.prepare_cached(sql)?))),
        }
    }

    /// A transaction-control statement, run from the cache (they run once per call or item).
    fn control(&self, sql: &str) -> Result<()> {
        self.prepare_cached(sql)?.execute(()).map(|_| ())
    }

    /// PostgreSQL's session tracks its transaction itself (see `pg.rs`): it refuses what
    /// SQLite refuses (BEGIN inside a transaction, COMMIT outside one) and reports a COMMIT of a
    /// transaction a failed statement ended, which PostgreSQL would silently roll back.
    pub fn begin(&self, mode: Begin) -> Result<()> {
        match self {
            Db::Sqlite(_) => self.control(match mode {
                Begin::Deferred | Begin::Read => "BEGIN DEFERRED",
                Begin::Immediate => "BEGIN IMMEDIATE",
            }),
            Db::Pg(c) => c.begin(mode),
        }
    }

    /// `begin`, then `then` (statements without rows) in the new transaction: on PostgreSQL one
    /// round trip. On failure the transaction may be open: roll it back.
    pub fn begin_with(&self, mode: Begin, then: &str) -> Result<()> {
        match self {
            Db::Sqlite(_) => {
                self.begin(mode)?;
                self.execute_batch(then)
            }
            Db::Pg(c) => c.begin_with(mode, then),
        }
    }

    /// PostgreSQL: `begin`, then `then` (the port's own texts, values spelt in), one round trip,
    /// answering each statement's rows as text (`Answers`). On failure the transaction may
    /// be open: roll it back. SQLite: refused (nothing calls it there).
    pub fn begin_query(&self, mode: Begin, then: &str) -> Result<Answers> {
        match self {
            Db::Sqlite(_) => Err(DbError::other("internal: begin_query is PostgreSQL's")),
            Db::Pg(c) => c.begin_query(mode, then),
        }
    }

    /// `last` (statements without rows), then COMMIT: on PostgreSQL one round trip. A failure
    /// ends the transaction, committed or not (see `pg::PgDb::commit_with`).
    pub fn commit_with(&self, last: &str) -> Result<()> {
        match self {
            Db::Sqlite(_) => match self.execute_batch(last) {
                Ok(()) => self.commit(),
                Err(e) => {
                    let _ = self.rollback();
                    Err(e)
                }
            },
            Db::Pg(c) => c.commit_with(last),
        }
    }

    pub fn commit(&self) -> Result<()> {
        match self {
            Db::Sqlite(_) => sqlite::committing(|| self.control("COMMIT")),
            Db::Pg(c) => c.commit(),
        }
    }

    pub fn rollback(&self) -> Result<()> {
        match self {
            Db::Sqlite(_) => self.control("ROLLBACK"),
            Db::Pg(c) => c.rollback(),
        }
    }

    /// Outside a transaction, a savepoint opens one that its release commits (SQLite's rule,
    /// kept on PostgreSQL).
    pub fn savepoint(&self, name: &str) -> Result<()> {
        match self {
            Db::Sqlite(_) => self.control(&savepoint_sql("SAVEPOINT ", name)),
            Db::Pg(c) => c.savepoint(name),
        }
    }

    pub fn release(&self, name: &str) -> Result<()> {
        match self {
            Db::Sqlite(_) => self.control(&savepoint_sql("RELEASE ", name)),
            Db::Pg(c) => c.release(name),
        }
    }

    /// Undo everything since the savepoint; the savepoint stays (release it to end it). On
    /// PostgreSQL this is also what makes a transaction usable again after a statement failed.
    pub fn rollback_to(&self, name: &str) -> Result<()> {
        match self {
            Db::Sqlite(_) => self.control(&savepoint_sql("ROLLBACK TO ", name)),
            Db::Pg(c) => c.rollback_to(name),
        }
    }

    /// PostgreSQL's `PREPARE TRANSACTION` (two-phase commit, store/pg/twophase.rs): the open
    /// transaction becomes the prepared branch `gid`; the session is outside a transaction after.
    pub fn prepare_transaction(&self, gid: &str) -> Result<()> {
        match self {
            Db::Sqlite(_) => Err(DbError::other("internal: SQLite has no prepared transactions")),
            Db::Pg(c) => c.prepare_transaction(gid),
        }
    }

    /// PostgreSQL's `COMMIT PREPARED` / `ROLLBACK PREPARED`; false when `gid` is not prepared.
    pub fn finish_prepared(&self, gid: &str, commit: bool) -> Result<bool> {
        match self {
            Db::Sqlite(_) => Err(DbError::other("internal: SQLite has no prepared transactions")),
            Db::Pg(c) => c.finish_prepared(gid, commit),
        }
    }

    /// Whether a statement failed in the open transaction, so that it can only be rolled back
    /// (PostgreSQL; a failed SQLite statement leaves its transaction usable).
    pub fn transaction_failed(&self) -> bool {
        match self {
            Db::Sqlite(_) => false,
            Db::Pg(c) => c.transaction_failed(),
        }
    }

    /// Whether a statement of this session failed on a lock wait (PostgreSQL 55P03) since the
    /// last call: the lock may be held by a dead coordinator's prepared branch (twophase.rs).
    pub fn take_lock_timeout(&self) -> bool {
        match self {
            Db::Sqlite(_) => false,
            Db::Pg(c) => c.take_lock_timeout(),
        }
    }

    /// Have the next `take_lock_timeout` answer true: the store recovers this session's database
    /// once its transaction is over (a dead coordinator's prepared branch was seen there).
    pub fn want_recovery(&self) {
        if let Db::Pg(c) = self {
            c.want_recovery();
        }
    }

    /// Whether a PostgreSQL session's connection is gone for good (SQLite: never).
    pub fn is_closed(&self) -> bool {
        match self {
            Db::Sqlite(_) => false,
            Db::Pg(c) => c.is_closed(),
        }
    }

    /// Whether a PostgreSQL session's server answers now (one empty round trip): a session
    /// learns its connection was lost only when it next talks to the server (SQLite: always).
    pub fn answers(&self) -> bool {
        match self {
            Db::Sqlite(_) => true,
            Db::Pg(c) => c.answers(),
        }
    }

    /// Outside any transaction (each statement commits on its own)?
    pub fn is_autocommit(&self) -> bool {
        match self {
            Db::Sqlite(c) => c.is_autocommit(),
            Db::Pg(c) => c.is_autocommit(),
        }
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE (on PostgreSQL: by the last statement
    /// run through `execute`/`execute_bound`).
    pub fn changes(&self) -> u64 {
        match self {
            Db::Sqlite(c) => c.changes(),
            Db::Pg(c) => c.changes(),
        }
    }

    /// PostgreSQL: messages that waited for the server's answer so far (simple queries, parses,
    /// executions); what a change costs on a network (design notes §5 step 8). SQLite: 0.
    pub fn round_trips(&self) -> u64 {
        match self {
            Db::Sqlite(_) => 0,
            Db::Pg(c) => c.round_trips(),
        }
    }

    /// PostgreSQL: statements run so far that may have moved the central database's
    /// `store_epoch` row (`pg::epoch_watch`); a value read in a transaction stays true while
    /// this does not change. SQLite: 0.
    pub fn epoch_writes(&self) -> u64 {
        match self {
            Db::Sqlite(_) => 0,
            Db::Pg(c) => c.epoch_writes(),
        }
    }
}

/// `SAVEPOINT item` and the like: the per-item savepoint is taken for every item of a pipeline,
/// so its statements are static texts rather than a string formatted each time.
fn savepoint_sql(verb: &'static str, name: &str) -> Cow<'static, str> {
    match (verb, name) {
        ("SAVEPOINT ", "item") => Cow::Borrowed("SAVEPOINT item"),
        ("RELEASE ", "item") => Cow::Borrowed("RELEASE item"),
        ("ROLLBACK TO ", "item") => Cow::Borrowed("ROLLBACK TO item"),
        _ => Cow::Owned(format!("{verb}{name}")),
    }
}

/// A prepared statement (from the cache or not).
pub struct Statement<'c>(StatementInner<'c>);

enum StatementInner<'c> {
    Sqlite(sqlite::Stmt<'c>),
    SqliteCached(sqlite::CachedStmt<'c>),
    Pg(pg::PgStmt<'c>),
}

/// The statement of either backend, cached or not.
enum Backend<'s, 'c> {
    Sqlite(&'s mut sqlite::Stmt<'c>),
    Pg(&'s mut pg::PgStmt<'c>),
}

impl<'c> Statement<'c> {
    #[inline]
    fn backend(&mut self) -> Backend<'_, 'c> {
        match &mut self.0 {
            StatementInner::Sqlite(s) => Backend::Sqlite(s),
            StatementInner::SqliteCached(s) => Backend::Sqlite(s),
            StatementInner::Pg(s) => Backend::Pg(s),
        }
    }

    /// Run it; the number of rows changed.
    pub fn execute<P: Params>(&mut self, params: P) -> Result<usize> {
        match self.backend() {
            Backend::Sqlite(s) => Ok(s.execute(sqlite::bind_all(params))?),
            Backend::Pg(s) => s.execute(params),
        }
    }

    pub fn query<P: Params>(&mut self, params: P) -> Result<Rows<'_>> {
        match self.backend() {
            Backend::Sqlite(s) => Ok(Rows(RowsInner::Sqlite(s.query(sqlite::bind_all(params))?))),
            Backend::Pg(s) => Ok(Rows(RowsInner::Pg(s.query(params)?))),
        }
    }

    pub fn query_row<T, P, F>(&mut self, params: P, f: F) -> Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> Result<T>,
    {
        let mut rows = self.query(params)?;
        match rows.next()? {
            Some(row) => f(&row),
            None => Err(DbError::no_rows()),
        }
    }

    /// Bind one parameter (1-based) for `execute_bound`: for statements with hundreds of
    /// parameters bound in a loop (the audit's many-row INSERT), with no slice built per call.
    /// On PostgreSQL the values are collected in the statement and sent by `execute_bound`.
    #[inline]
    pub fn bind<T: ToValue>(&mut self, idx: usize, value: T) -> Result<()> {
        match self.backend() {
            Backend::Sqlite(s) => Ok(s.raw_bind_parameter(idx, Bind(value))?),
            Backend::Pg(s) => s.bind(idx, value),
        }
    }

    /// Run the statement with the parameters `bind` gave it; the number of rows changed.
    pub fn execute_bound(&mut self) -> Result<usize> {
        match self.backend() {
            Backend::Sqlite(s) => Ok(s.raw_execute()?),
            Backend::Pg(s) => s.execute_bound(),
        }
    }

    /// Does the query return any row?
    pub fn exists<P: Params>(&mut self, params: P) -> Result<bool> {
        Ok(self.query(params)?.next()?.is_some())
    }

    /// The rows, mapped one at a time as the iterator is advanced (nothing is collected).
    pub fn query_map<T, P, F>(&mut self, params: P, f: F) -> Result<MappedRows<'_, F>>
    where
        P: Params,
        F: FnMut(&Row<'_>) -> Result<T>,
    {
        Ok(MappedRows { rows: self.query(params)?, f })
    }

    pub fn column_count(&mut self) -> usize {
        match self.backend() {
            Backend::Sqlite(s) => s.column_count(),
            Backend::Pg(s) => s.column_count(),
        }
    }

    pub fn column_name(&mut self, idx: usize) -> Result<&str> {
        match self.backend() {
            Backend::Sqlite(s) => Ok(s.column_name(idx)?),
            Backend::Pg(s) => s.column_name(idx),
        }
    }
}

/// The rows of a running query.
pub struct Rows<'s>(RowsInner<'s>);

enum RowsInner<'s> {
    Sqlite(sqlite::SqlRows<'s>),
    Pg(pg::PgRows),
}

impl Rows<'_> {
    /// The next row; `None` at the end. A row lends from the cursor: it is valid until the next
    /// call, as the backend's own row is.
    #[inline]
    #[allow(clippy::should_implement_trait)] // A lending iterator, which `Iterator` cannot express.
    pub fn next(&mut self) -> Result<Option<Row<'_>>> {
        match &mut self.0 {
            RowsInner::Sqlite(rows) => Ok(rows.next()?.map(|r| Row(RowInner::Sqlite(r)))),
            RowsInner::Pg(rows) => Ok(rows.next().map(|r| Row(RowInner::Pg(r)))),
        }
    }
}

/// See `Statement::query_map`.
pub struct MappedRows<'s, F> {
    rows: Rows<'s>,
    f: F,
}

impl<T, F: FnMut(&Row<'_>) -> Result<T>> Iterator for MappedRows<'_, F> {
    type Item = Result<T>;

    #[inline]
    fn next(&mut self) -> Option<Result<T>> {
        match self.rows.next() {
            Ok(Some(row)) => Some((self.f)(&row)),
            Ok(None) => None,
            Err(e) => Some(Err(e)),
        }
    }
}

/// One row of a result, read by column index.
pub struct Row<'r>(RowInner<'r>);

enum RowInner<'r> {
    Sqlite(&'r sqlite::SqlRow<'r>),
    Pg(&'r pg::PgRow),
}

impl Row<'_> {
    /// Column `idx` as `T`; a NULL is an error unless `T` is an `Option`.
    #[inline]
    pub fn get<T: FromValue>(&self, idx: usize) -> Result<T> {
        match &self.0 {
            RowInner::Sqlite(r) => sqlite::get(r, idx),
            RowInner::Pg(r) => pg::get(r, idx),
        }
    }

    /// The error for column `idx` holding a value its reader cannot take, in the backend's
    /// words (for readers that look at `get_ref` themselves).
    #[cold]
    pub fn conversion_error(&self, idx: usize, err: FromValueError) -> DbError {
        match &self.0 {
            RowInner::Sqlite(r) => sqlite::conversion_error(r, idx, err),
            RowInner::Pg(r) => pg::conversion_error(r, idx, err),
        }
    }

    /// Column `idx` as it is held, without copying.
    #[inline]
    pub fn get_ref(&self, idx: usize) -> Result<ValueRef<'_>> {
        match &self.0 {
            RowInner::Sqlite(r) => Ok(r.get_ref(idx)?.into()),
            RowInner::Pg(r) => pg::get_ref(r, idx),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::dialect::Dialect;

    /// Which backend a test body runs on, for the expectations that are the backend's own
    /// (error texts).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub(super) enum Backend {
        Sqlite,
        Pg,
    }

    /// A database of each backend with `ddl` (neutral, see `Dialect::render`) applied: SQLite
    /// in memory, and PostgreSQL in a new database of the throwaway server when there is one
    /// (`test_cluster`: skipped without PostgreSQL unless `PCHAT_PG_REQUIRED` is set).
    pub(super) fn backends(test: &str, ddl: &str) -> Vec<(Backend, Db)> {
        let sqlite = Db::open_sqlite_memory().unwrap();
        sqlite.execute_batch(&Dialect::Sqlite.render(ddl).unwrap()).unwrap();
        #[allow(unused_mut)]
        let mut all = vec![(Backend::Sqlite, sqlite)];
        #[cfg(unix)]
        if let Some(cluster) = crate::store::pg::test_cluster::Cluster::shared(test) {
            let pg = Db::open_postgres(&cluster.database("db")).unwrap();
            pg.execute_batch(&Dialect::Postgres.render(ddl).unwrap()).unwrap();
            all.push((Backend::Pg, pg));
        }
        #[cfg(not(unix))]
        let _ = test;
        all
    }

    const T: &str = "CREATE TABLE t(id {int} PRIMARY KEY, name TEXT NOT NULL UNIQUE, n REAL, b {bytes})";

    /// A list parameter is the JSON array SQLite always bound (text), which json_each reads;
    /// PostgreSQL's arrays are pg.rs's `lists_bind_as_the_array_type_the_server_inferred`.
    #[test]
    fn a_list_binds_on_sqlite_as_its_json_text() {
        let db = Db::open_sqlite_memory().unwrap();
        let (json, ty): (String, String) = db
            .query_row("SELECT ?1, typeof(?1)", [Value::List(List::texts(&["a\"b", "\u{e9}"]))], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((json.as_str(), ty.as_str()), (r#"["a\"b","é"]"#, "text"));
        let list = List::integers(&[3, 1, 3]);
        let values: Vec<i64> =
            db.query_map("SELECT value FROM json_each(?1) ORDER BY key", [&list], |r| r.get(0)).unwrap();
        assert_eq!(values, [3, 1, 3]);
    }

    #[test]
    fn values_round_trip_through_parameters_and_rows() {
        for (backend, db) in backends("values_round_trip_through_parameters_and_rows", T) {
            let name = String::from("Ops");
            assert_eq!(
                db.execute(
                    "INSERT INTO t(id, name, n, b) VALUES (?1, ?2, ?3, ?4)",
                    params![7, name, 1.5, vec![1u8, 2]]
                )
                .unwrap(),
                1,
                "{backend:?}"
            );
            db.execute("INSERT INTO t(id, name) VALUES (?1, ?2)", [Value::Integer(8), Value::Text("Dev".into())])
                .unwrap();
            let row: (i64, String, Option<f64>, Option<Vec<u8>>) = db
                .query_row("SELECT id, name, n, b FROM t WHERE name = ?1", ["Ops"], |r| {
                    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                })
                .unwrap();
            assert_eq!(row, (7, "Ops".to_string(), Some(1.5), Some(vec![1, 2])), "{backend:?}");
            let dev: (Option<f64>, Value) =
                db.query_row("SELECT n, name FROM t WHERE id = 8", (), |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
            assert_eq!(dev, (None, Value::Text("Dev".into())), "{backend:?}");
            let names: Vec<String> = db
                .query_map("SELECT name FROM t WHERE id IN (?1, ?2) ORDER BY id", params_from_iter([7i64, 8]), |r| {
                    r.get(0)
                })
                .unwrap();
            assert_eq!(names, ["Ops", "Dev"], "{backend:?}");
            assert_eq!(
                db.query_row("SELECT b FROM t WHERE id = 7", (), |r| Ok(r.get_ref(0)?.to_owned())).unwrap(),
                Value::Blob(vec![1, 2]),
                "{backend:?}"
            );
            let mut stmt = db.prepare("SELECT id, name AS label FROM t").unwrap();
            assert_eq!(stmt.column_count(), 2, "{backend:?}");
            assert_eq!(stmt.column_name(1).unwrap(), "label", "{backend:?}");
            // The audit's many-row INSERT binds its parameters one by one.
            let mut insert = db.prepare_cached("INSERT INTO t(id, name) VALUES (?1, ?2), (?3, ?4)").unwrap();
            for (i, v) in [Value::Integer(20), Value::Text("x".into()), Value::Integer(21), Value::Text("y".into())]
                .into_iter()
                .enumerate()
            {
                insert.bind(i + 1, v).unwrap();
            }
            assert_eq!(insert.execute_bound().unwrap(), 2, "{backend:?}");
            assert_eq!(db.changes(), 2, "{backend:?}");
            assert_eq!(db.query_row("SELECT count(*) FROM t", (), |r| r.get::<i64>(0)).unwrap(), 4, "{backend:?}");
        }
    }

    #[test]
    fn errors_say_what_a_caller_decides_on_in_the_backends_words() {
        for (backend, db) in backends("errors_say_what_a_caller_decides_on_in_the_backends_words", T) {
            let none = db.query_row("SELECT id FROM t WHERE id = 1", (), |r| r.get::<i64>(0));
            assert_eq!(none.as_ref().map_err(DbError::kind).unwrap_err(), ErrorKind::NoRows);
            assert_eq!(none.optional().unwrap(), None);
            db.execute("INSERT INTO t(id, name) VALUES (1, 'a')", ()).unwrap();
            let dup = db.execute("INSERT INTO t(id, name) VALUES (2, 'a')", ()).unwrap_err();
            assert_eq!(dup.kind(), ErrorKind::Constraint, "{backend:?}");
            assert_eq!(
                dup.to_string(),
                match backend {
                    Backend::Sqlite => "UNIQUE constraint failed: t.name",
                    Backend::Pg =>
                        "duplicate key value violates unique constraint \"t_name_key\" (Key (name)=(a) already exists.)",
                }
            );
            let wrong = db.query_row("SELECT name FROM t", (), |r| r.get::<i64>(0)).unwrap_err();
            assert_eq!(wrong.to_string(), "Invalid column type Text at index: 0, name: name", "{backend:?}");
            let range = db.query_row("SELECT -1 AS minus", (), |r| r.get::<u32>(0)).unwrap_err();
            assert_eq!(
                range.to_string(),
                match backend {
                    Backend::Sqlite => "Integer -1 out of range at index 0",
                    Backend::Pg => "Integer -1 out of range at index 0, name: minus",
                }
            );
            let syntax = db.execute("INSERT INTO nowhere VALUES (1)", ()).unwrap_err();
            assert_eq!(syntax.kind(), ErrorKind::Other, "{backend:?}");
            assert_eq!(
                syntax.to_string(),
                match backend {
                    Backend::Sqlite => "no such table: nowhere",
                    Backend::Pg => "relation \"nowhere\" does not exist",
                }
            );
            if backend == Backend::Sqlite {
                // A refusal crosses code still on rusqlite and comes back as itself.
                let refusal = DbError::refused(crate::errors::CmdletError::invalid_operation("no"));
                let back = DbError::from(rusqlite::Error::from(refusal));
                assert_eq!(back.kind(), ErrorKind::Refused);
                assert_eq!(back.refusal().unwrap().message, "no");
                assert!(matches!(
                    rusqlite::Error::from(DbError::from(rusqlite::Error::QueryReturnedNoRows)),
                    rusqlite::Error::QueryReturnedNoRows
                ));
                let sqlite = rusqlite::Error::from(dup);
                assert_eq!(sqlite.sqlite_error_code(), Some(rusqlite::ErrorCode::ConstraintViolation));
            }
        }
    }

    #[test]
    fn cached_statements_transactions_and_savepoints() {
        for (backend, db) in backends("cached_statements_transactions_and_savepoints", T) {
            db.begin(Begin::Immediate).unwrap();
            assert!(!db.is_autocommit());
            let mut insert = db.prepare_cached("INSERT INTO t(id, name) VALUES (?1, ?2)").unwrap();
            insert.execute(params![1, "a"]).unwrap();
            drop(insert);
            db.savepoint("item").unwrap();
            db.prepare_cached("INSERT INTO t(id, name) VALUES (?1, ?2)").unwrap().execute(params![2, "b"]).unwrap();
            db.rollback_to("item").unwrap();
            db.release("item").unwrap();
            db.savepoint("block1").unwrap();
            db.execute("UPDATE t SET n = 1", ()).unwrap();
            assert_eq!(db.changes(), 1, "{backend:?}");
            db.release("block1").unwrap();
            let nested = db.begin(Begin::Deferred).unwrap_err();
            assert_eq!(nested.to_string(), "cannot start a transaction within a transaction", "{backend:?}");
            assert!(!db.is_autocommit(), "{backend:?}");
            db.commit().unwrap();
            assert!(db.is_autocommit());
            let outside = db.commit().unwrap_err();
            assert_eq!(outside.to_string(), "cannot commit - no transaction is active", "{backend:?}");
            let mut stmt = db.prepare_cached("SELECT id, n FROM t ORDER BY id").unwrap();
            let mut rows = stmt.query(()).unwrap();
            let mut seen = Vec::new();
            while let Some(row) = rows.next().unwrap() {
                seen.push((row.get::<i64>(0).unwrap(), row.get::<Option<f64>>(1).unwrap()));
            }
            assert_eq!(seen, [(1, Some(1.0))], "{backend:?}");
            db.begin(Begin::Deferred).unwrap();
            db.execute("DELETE FROM t", ()).unwrap();
            db.rollback().unwrap();
            assert_eq!(db.query_row("SELECT count(*) FROM t", (), |r| r.get::<i64>(0)).unwrap(), 1);
            // Outside a transaction a savepoint opens one, and releasing it commits.
            db.savepoint("outer").unwrap();
            assert!(!db.is_autocommit(), "{backend:?}");
            db.savepoint("inner").unwrap();
            db.execute("INSERT INTO t(id, name) VALUES (3, 'c')", ()).unwrap();
            db.release("inner").unwrap();
            assert!(!db.is_autocommit(), "{backend:?}");
            db.release("outer").unwrap();
            assert!(db.is_autocommit(), "{backend:?}");
            assert_eq!(db.query_row("SELECT count(*) FROM t", (), |r| r.get::<i64>(0)).unwrap(), 2);
            let unknown = db.begin(Begin::Deferred).and_then(|()| db.release("nowhere")).unwrap_err();
            assert_eq!(unknown.to_string(), "no such savepoint: nowhere", "{backend:?}");
            // The transaction goes on after that refusal, on both.
            db.execute("INSERT INTO t(id, name) VALUES (4, 'd')", ()).unwrap();
            db.commit().unwrap();
            assert_eq!(db.query_row("SELECT count(*) FROM t", (), |r| r.get::<i64>(0)).unwrap(), 3);
        }
    }
}
