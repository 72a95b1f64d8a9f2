//! Cmdlet errors with PowerShell's error identifiers (NotFound, InvalidArgument, ...). Their text is the contract: it starts with
//! the cmdlet name and the identifier, e.g.
//! `Set-CsPersistentChatRoom: NotFound: no chat room 'pc01.contoso.com\Ops'`.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    ParameterBinding,
    AmbiguousParameterSet,
    InvalidArgument,
    OutOfRange,
    NotFound,
    AlreadyExists,
    NotEmpty,
    NotEligible,
    InvalidOperation,
    Canceled,
}

impl ErrorKind {
    pub fn id(self) -> &'static str {
        match self {
            ErrorKind::ParameterBinding => "ParameterBinding",
            ErrorKind::AmbiguousParameterSet => "AmbiguousParameterSet",
            ErrorKind::InvalidArgument => "InvalidArgument",
            ErrorKind::OutOfRange => "OutOfRange",
            ErrorKind::NotFound => "NotFound",
            ErrorKind::AlreadyExists => "AlreadyExists",
            ErrorKind::NotEmpty => "NotEmpty",
            ErrorKind::NotEligible => "NotEligible",
            ErrorKind::InvalidOperation => "InvalidOperation",
            ErrorKind::Canceled => "Canceled",
        }
    }
}

/// An error raised while binding or running one cmdlet invocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CmdletError {
    pub kind: ErrorKind,
    pub message: String,
    /// Binding-phase errors stop the whole call; the others are per object.
    pub terminating: bool,
    /// Filled in by the engine when the error leaves the handler.
    pub cmdlet: &'static str,
    /// The object the error is about, when known (shown in `last_errors()`).
    pub target: Option<String>,
}

impl CmdletError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let terminating = matches!(kind, ErrorKind::ParameterBinding | ErrorKind::AmbiguousParameterSet);
        CmdletError { kind, message: message.into(), terminating, cmdlet: "", target: None }
    }

    pub fn terminating(mut self) -> Self {
        self.terminating = true;
        self
    }

    pub fn with_target(mut self, target: impl Into<String>) -> Self {
        self.target = Some(target.into());
        self
    }

    pub fn binding(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::ParameterBinding, message)
    }
    pub fn ambiguous(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AmbiguousParameterSet, message)
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }
    pub fn out_of_range(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::OutOfRange, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }
    pub fn exists(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AlreadyExists, message)
    }
    pub fn invalid_operation(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidOperation, message)
    }
    pub fn canceled(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Canceled, message)
    }
}

impl fmt::Display for CmdletError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.cmdlet.is_empty() {
            write!(f, "{}: {}", self.kind.id(), self.message)
        } else {
            write!(f, "{}: {}: {}", self.cmdlet, self.kind.id(), self.message)
        }
    }
}

impl std::error::Error for CmdletError {}

/// Store failures surface as InvalidOperation on the object being changed, never as a panic.
impl From<rusqlite::Error> for CmdletError {
    fn from(e: rusqlite::Error) -> Self {
        // The store refuses some writes with a cmdlet error carried through rusqlite's error type.
        if let rusqlite::Error::ToSqlConversionFailure(inner) = &e
            && let Some(refusal) = inner.downcast_ref::<CmdletError>()
        {
            return refusal.clone();
        }
        CmdletError::invalid_operation(format!("store error: {e}"))
    }
}

pub type CmdletResult<T> = Result<T, CmdletError>;
