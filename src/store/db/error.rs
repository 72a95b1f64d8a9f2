//! The store's database error, backend-neutral: what callers decide on (`kind`) and what the
//! user reads (the message, the backend's own wording).

use std::borrow::Cow;
use std::fmt;

use crate::errors::CmdletError;

/// What a caller may decide on. The rest of a failure is only ever shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A key, foreign key, NOT NULL or CHECK constraint refused a write.
    Constraint,
    /// Another writer holds a lock past the wait allowed.
    Busy,
    /// The transaction lost a race and may be run again (PostgreSQL 40001/40P01).
    Serialization,
    /// The database cannot be reached or is not a database.
    Unavailable,
    /// A signal interrupted the running statement (see `crate::interrupt`).
    Interrupted,
    /// `query_row` found no row (see `OptionalExtension`).
    NoRows,
    /// The store refused the operation with a cmdlet error (see `DbError::refused`).
    Refused,
    Other,
}

pub struct DbError {
    kind: ErrorKind,
    repr: Repr,
}

enum Repr {
    Message(Cow<'static, str>),
    Refused(Box<CmdletError>),
    /// The backend's own error, kept whole: its wording is what users have always seen, and the
    /// SQLite side gives it back unchanged to code not yet moved onto the seam.
    Backend(Box<dyn std::error::Error + Send + Sync + 'static>),
}

pub type Result<T, E = DbError> = std::result::Result<T, E>;

impl DbError {
    pub fn new(kind: ErrorKind, message: impl Into<Cow<'static, str>>) -> Self {
        DbError { kind, repr: Repr::Message(message.into()) }
    }

    pub fn other(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(ErrorKind::Other, message)
    }

    pub(crate) fn no_rows() -> Self {
        // No allocation: "not found" is an ordinary answer on hot paths.
        Self::new(ErrorKind::NoRows, "Query returned no rows")
    }

    /// The store refuses some writes with a cmdlet error (a pool copy out of step, a damaged
    /// audit trail): it reaches the cmdlet as that error, not as "store error".
    pub fn refused(error: CmdletError) -> Self {
        DbError { kind: ErrorKind::Refused, repr: Repr::Refused(Box::new(error)) }
    }

    pub(crate) fn backend(kind: ErrorKind, error: Box<dyn std::error::Error + Send + Sync + 'static>) -> Self {
        DbError { kind, repr: Repr::Backend(error) }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn refusal(&self) -> Option<&CmdletError> {
        match &self.repr {
            Repr::Refused(e) => Some(e),
            _ => None,
        }
    }

    /// The same failure once more (kind, refusal, words), for a failure that every use of a
    /// routed statement reports (`route::Routed`); a backend error becomes its words.
    pub(crate) fn again(&self) -> Self {
        match &self.repr {
            Repr::Message(m) => Self::new(self.kind, m.clone()),
            Repr::Refused(e) => Self::refused((**e).clone()),
            Repr::Backend(e) => Self::new(self.kind, e.to_string()),
        }
    }

    /// The backend's error, for the backend module to read (see `pg::server_silent`).
    pub(crate) fn backend_ref(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match &self.repr {
            Repr::Backend(e) => Some(e.as_ref()),
            _ => None,
        }
    }

    /// The backend's error, for the backend module to give back unchanged.
    pub(crate) fn into_backend(self) -> std::result::Result<Box<dyn std::error::Error + Send + Sync + 'static>, Self> {
        match self.repr {
            Repr::Backend(e) => Ok(e),
            repr => Err(DbError { kind: self.kind, repr }),
        }
    }
}

impl fmt::Display for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.repr {
            Repr::Message(m) => f.write_str(m),
            Repr::Refused(e) => e.fmt(f),
            Repr::Backend(e) => e.fmt(f),
        }
    }
}

impl fmt::Debug for DbError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DbError({:?}: {self})", self.kind)
    }
}

impl std::error::Error for DbError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.repr {
            Repr::Backend(e) => e.source(),
            Repr::Refused(e) => Some(e.as_ref()),
            Repr::Message(_) => None,
        }
    }
}

/// Store failures surface as InvalidOperation on the object being changed, never as a panic.
impl From<DbError> for CmdletError {
    fn from(e: DbError) -> Self {
        // A signal interrupted the running statement (see `crate::interrupt`).
        if crate::interrupt::requested() && e.kind == ErrorKind::Interrupted {
            return crate::errors::stopped("");
        }
        // The store refuses some writes with a cmdlet error carried through its error type.
        if let Repr::Refused(refusal) = e.repr {
            return *refusal;
        }
        let mut error = CmdletError::invalid_operation(format!("store error: {e}"));
        // Kept so that the engine can run the call again (engine/retry.rs); the words stay the
        // backend's, for the rare case they are shown (an atomic run, attempts exhausted).
        error.transient = match e.kind {
            ErrorKind::Serialization => Some(crate::errors::Transient::Conflict),
            ErrorKind::Busy => Some(crate::errors::Transient::LockTimeout),
            ErrorKind::Unavailable => Some(crate::errors::Transient::ConnectionLost),
            _ => None,
        };
        error
    }
}

/// `query_row(..).optional()`: no row is `None`, as rusqlite's extension of the same name.
pub trait OptionalExtension<T> {
    fn optional(self) -> Result<Option<T>>;
}

impl<T> OptionalExtension<T> for Result<T> {
    fn optional(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.kind == ErrorKind::NoRows => Ok(None),
            Err(e) => Err(e),
        }
    }
}
