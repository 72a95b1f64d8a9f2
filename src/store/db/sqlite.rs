//! The SQLite side of the seam: the only module that names rusqlite once step 1 of the port is
//! done (docs/design/postgres-port.md §5). Everything here is a thin, inlined translation: the
//! store's hot paths must cost what they cost when they called rusqlite directly.

use rusqlite::types::{ToSqlOutput, ValueRef as SqlRef};
use std::path::Path;
use std::time::Duration;

use rusqlite::{ErrorCode, OpenFlags, ToSql};

use super::value::{FromValue, FromValueError, Params, ToValue, ValueRef};
use super::{DbError, ErrorKind};

/// The SQLite types `Db`'s variants hold, named here so that only this module names rusqlite.
pub use rusqlite::Connection;
pub(super) type Stmt<'c> = rusqlite::Statement<'c>;
pub(super) type CachedStmt<'c> = rusqlite::CachedStatement<'c>;
pub(super) type SqlRows<'s> = rusqlite::Rows<'s>;
pub(super) type SqlRow<'r> = rusqlite::Row<'r>;

/// Neutral parameters as rusqlite binds them (borrowed, one `ToSql` call each, as before).
#[inline]
pub(super) fn bind_all<P: Params>(params: P) -> impl rusqlite::Params {
    rusqlite::params_from_iter(params.into_values().map(Bind))
}

/// How long a writer waits for another process (a scheduled runbook, an open REPL) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// Page cache per database, in KiB (negative: SQLite's unit for a size rather than a page count).
/// Large imports and bulk changes touch tens of MB of pages; with SQLite's 2 MB default they
/// spill to the WAL and are written again. The cache only grows as far as it is used.
pub const CACHE_SIZE: i64 = -65536;

/// What a WAL file is cut back to after a checkpoint (it otherwise keeps its largest size): a
/// few times what autocheckpoint lets it reach, so only an outsized transaction (an import) is
/// cut back.
pub const JOURNAL_SIZE_LIMIT: i64 = 16 << 20;

/// Distinct SQL texts kept prepared (see `configure`).
const STATEMENT_CACHE: usize = 512;

/// Address space, not memory: only the pages read are mapped in (SQLite's compile-time ceiling).
pub const MMAP_SIZE: i64 = 0x7fff_0000;

mod fault_vfs;
pub(super) use fault_vfs::committing;

/// A database file, created if missing (rusqlite's default flags).
pub(super) fn open(path: &Path) -> rusqlite::Result<Connection> {
    fault_vfs::install();
    Connection::open(path)
}

/// A database file, read-write, never created; no URI, no mutex (one thread uses it).
pub(super) fn open_existing(path: &Path) -> rusqlite::Result<Connection> {
    fault_vfs::install();
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
}

/// A database file, read-write, `file:` URIs allowed in ATTACH; never created.
pub(super) fn open_rw(path: &Path) -> rusqlite::Result<Connection> {
    fault_vfs::install();
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI)
}

pub(super) fn open_in_memory() -> rusqlite::Result<Connection> {
    Connection::open_in_memory()
}

/// The settings every store connection runs with (the central database's; attached pool
/// databases get the per-schema ones where they are attached).
pub(super) fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // A cmdlet call runs a few dozen distinct statements, one text per attached schema; with
    // rusqlite's default of 16 the cache thrashes and every call re-parses its SQL.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
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
    // SQLite's default autocheckpoint (1,000 pages) stays: every commit rewrites the pool's
    // mark, and a lookup of such a page walks every WAL frame that holds it, so a longer WAL
    // (32,768 pages was tried) made each statement slower the longer a runbook ran.
    conn.pragma_update(None, "journal_size_limit", JOURNAL_SIZE_LIMIT)?;
    Ok(())
}

impl<'a> From<SqlRef<'a>> for ValueRef<'a> {
    #[inline]
    fn from(v: SqlRef<'a>) -> Self {
        match v {
            SqlRef::Null => ValueRef::Null,
            SqlRef::Integer(i) => ValueRef::Integer(i),
            SqlRef::Real(r) => ValueRef::Real(r),
            SqlRef::Text(t) => ValueRef::Text(t),
            SqlRef::Blob(b) => ValueRef::Blob(b),
        }
    }
}

impl<'a> From<ValueRef<'a>> for SqlRef<'a> {
    #[inline]
    fn from(v: ValueRef<'a>) -> Self {
        match v {
            ValueRef::Null => SqlRef::Null,
            ValueRef::Integer(i) => SqlRef::Integer(i),
            ValueRef::Real(r) => SqlRef::Real(r),
            ValueRef::Text(t) => SqlRef::Text(t),
            ValueRef::Blob(b) => SqlRef::Blob(b),
            ValueRef::List(l) => SqlRef::Text(l.json().as_bytes()),
        }
    }
}

/// A neutral value as rusqlite binds it: numbers and NULL by value, text and blobs borrowed
/// (the forms rusqlite's own `ToSql` impls give, so both bind the same way).
#[inline]
fn to_output(v: ValueRef<'_>) -> ToSqlOutput<'_> {
    use rusqlite::types::Value as SqlValue;
    match v {
        ValueRef::Null => ToSqlOutput::Owned(SqlValue::Null),
        ValueRef::Integer(i) => ToSqlOutput::Owned(SqlValue::Integer(i)),
        ValueRef::Real(r) => ToSqlOutput::Owned(SqlValue::Real(r)),
        ValueRef::Text(t) => ToSqlOutput::Borrowed(SqlRef::Text(t)),
        ValueRef::Blob(b) => ToSqlOutput::Borrowed(SqlRef::Blob(b)),
        // The JSON array `json_each` reads, borrowed as a text is.
        ValueRef::List(l) => ToSqlOutput::Borrowed(SqlRef::Text(l.json().as_bytes())),
    }
}

/// Binds a neutral parameter through rusqlite without copying it.
pub(super) struct Bind<T>(pub(super) T);

impl<T: ToValue> ToSql for Bind<T> {
    #[inline]
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        self.0.to_value().map(to_output).map_err(rusqlite::Error::from)
    }
}

fn kind_of(e: &rusqlite::Error) -> ErrorKind {
    match e.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => ErrorKind::Constraint,
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => ErrorKind::Busy,
        Some(ErrorCode::OperationInterrupted) => ErrorKind::Interrupted,
        Some(ErrorCode::CannotOpen | ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => ErrorKind::Unavailable,
        _ => ErrorKind::Other,
    }
}

impl From<rusqlite::Error> for DbError {
    fn from(e: rusqlite::Error) -> Self {
        match e {
            rusqlite::Error::QueryReturnedNoRows => DbError::no_rows(),
            // A neutral error that crossed code still on rusqlite comes back as it was; a cmdlet
            // error carried the way the store used to carry refusals is a refusal.
            rusqlite::Error::ToSqlConversionFailure(inner) => match inner.downcast::<DbError>() {
                Ok(db) => *db,
                Err(inner) => match inner.downcast::<crate::errors::CmdletError>() {
                    Ok(refusal) => DbError::refused(*refusal),
                    Err(inner) => {
                        DbError::backend(ErrorKind::Other, Box::new(rusqlite::Error::ToSqlConversionFailure(inner)))
                    }
                },
            },
            e => DbError::backend(kind_of(&e), Box::new(e)),
        }
    }
}

/// The way back for code still on rusqlite: SQLite's own errors unchanged, the others carried.
impl From<DbError> for rusqlite::Error {
    fn from(e: DbError) -> Self {
        if e.kind() == ErrorKind::NoRows {
            return rusqlite::Error::QueryReturnedNoRows;
        }
        match e.into_backend() {
            Ok(inner) => match inner.downcast::<rusqlite::Error>() {
                Ok(sqlite) => *sqlite,
                Err(other) => rusqlite::Error::ToSqlConversionFailure(other),
            },
            Err(e) => rusqlite::Error::ToSqlConversionFailure(Box::new(e)),
        }
    }
}

/// Column `idx` of a SQLite row as `T`, failing with the error rusqlite's `Row::get` gives.
#[inline]
pub(super) fn get<T: FromValue>(row: &rusqlite::Row<'_>, idx: usize) -> super::Result<T> {
    let value = row.get_ref(idx)?;
    T::from_value(value.into()).map_err(|err| column_error(row, idx, value, err))
}

#[cold]
fn column_error(row: &rusqlite::Row<'_>, idx: usize, value: SqlRef<'_>, err: FromValueError) -> DbError {
    let data_type = value.data_type();
    DbError::from(match err {
        FromValueError::InvalidType => rusqlite::Error::InvalidColumnType(
            idx,
            row.as_ref().column_name(idx).map(str::to_string).unwrap_or_default(),
            data_type,
        ),
        FromValueError::OutOfRange(i) => rusqlite::Error::IntegralValueOutOfRange(idx, i),
        FromValueError::Utf8(e) => rusqlite::Error::Utf8Error(idx, e),
        FromValueError::Other(e) => rusqlite::Error::FromSqlConversionFailure(idx, data_type, e),
    })
}

#[cold]
pub(super) fn conversion_error(row: &rusqlite::Row<'_>, idx: usize, err: FromValueError) -> DbError {
    let data_type = row.get_ref(idx).map(|v| v.data_type()).unwrap_or(rusqlite::types::Type::Null);
    DbError::from(rusqlite::Error::FromSqlConversionFailure(idx, data_type, Box::new(err)))
}

/// Kept for `crate::interrupt`: lets a signal stop the running statement.
pub struct SqliteInterrupt(pub(super) rusqlite::InterruptHandle);

impl SqliteInterrupt {
    pub(super) fn interrupt(&self) {
        self.0.interrupt();
    }
}
