//! The SQLite side of the seam: the only module that names rusqlite once step 1 of the port is
//! done (docs/design/postgres-port.md §5). Everything here is a thin, inlined translation: the
//! store's hot paths must cost what they cost when they called rusqlite directly.

use rusqlite::types::{ToSqlOutput, ValueRef as SqlRef};
use rusqlite::{ErrorCode, ToSql};

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

/// A database file, read-write, `file:` URIs allowed in ATTACH; never created.
pub(super) fn open_rw(path: &std::path::Path) -> rusqlite::Result<Connection> {
    use rusqlite::OpenFlags;
    Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI)
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

/// Lets the store's neutral values go where rusqlite wants `ToSql` (tests, and code not yet on
/// the seam).
macro_rules! to_sql_through_to_value {
    ($($t:ty),+) => {$(
        impl ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                self.to_value().map(to_output).map_err(rusqlite::Error::from)
            }
        }
    )+};
}

to_sql_through_to_value!(super::Value, crate::store::described::Bound<'_>);

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
