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
    /// The acting identity holds no role that allows the cmdlet, or the object is outside its
    /// roles' scopes.
    AccessDenied,
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
            ErrorKind::AccessDenied => "AccessDenied",
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
    /// The operator answered No at a confirmation prompt: the object is skipped, as in
    /// PowerShell, with no error record and no effect on the exit code.
    pub declined: bool,
    /// The store failed because another session changed the same rows at the same time: the
    /// call may be run again from its start (see engine/retry.rs). Set from the store's error
    /// kind (`From<DbError>`), never shown.
    pub transient: Option<Transient>,
}

/// Why a store failure may go away when the call is run again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transient {
    /// A serialization failure or a deadlock (PostgreSQL 40001, 40P01).
    Conflict,
    /// Another writer held a lock past the wait allowed (PostgreSQL 55P03, SQLite's busy timeout).
    LockTimeout,
    /// A copy of a pool read out of step with the pool's mark on PostgreSQL, with no change seen
    /// in flight there: most often another writer's commit seen half, so the call is run again;
    /// should the attempts run out (the later ones run alone), the copy is out of step indeed and
    /// the call ends with this error's own message, which names the repair.
    CopyOutOfStep,
    /// A database's connection was lost, or could not be made (`store::db::ErrorKind::
    /// Unavailable`): on PostgreSQL, before anything committed, the call runs once more on a
    /// fresh connection (engine/reconnect.rs); never retried with the races (`retry::retryable`).
    ConnectionLost,
}

impl CmdletError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let terminating = matches!(kind, ErrorKind::ParameterBinding | ErrorKind::AmbiguousParameterSet);
        CmdletError {
            kind,
            message: message.into(),
            terminating,
            cmdlet: "",
            target: None,
            declined: false,
            transient: None,
        }
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
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::AccessDenied, message)
    }
}

/// Messages quote what was given, which may hold control characters: they are written out, so an
/// error about a name like `\e[2J` cannot clear the screen it is shown on.
impl fmt::Display for CmdletError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = crate::values::text::escape_block(&self.message);
        if self.cmdlet.is_empty() {
            write!(f, "{}: {message}", self.kind.id())
        } else {
            write!(f, "{}: {}: {message}", self.cmdlet, self.kind.id())
        }
    }
}

impl std::error::Error for CmdletError {}

pub type CmdletResult<T> = Result<T, CmdletError>;

/// The terminating error a cmdlet stops with when a signal asked it to; `done` says what was
/// completed.
pub fn stopped(done: &str) -> CmdletError {
    CmdletError::canceled(crate::interrupt::describe(done)).terminating()
}

/// `Err(stopped(done()))` once a signal asked the running statement to stop.
pub fn check_stop(done: impl FnOnce() -> String) -> Result<(), CmdletError> {
    if crate::interrupt::requested() { Err(stopped(&done())) } else { Ok(()) }
}

thread_local! {
    static POWERSHELL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks the code being evaluated as a translated PowerShell script while it lives, so that a
/// message telling the user what to write says it in PowerShell (`-Confirm:$false`, `$true`)
/// rather than in Rhai (`Confirm: false`, `true`).
pub struct PowerShellRun(bool);

impl PowerShellRun {
    pub fn start() -> PowerShellRun {
        PowerShellRun(POWERSHELL.with(|r| r.replace(true)))
    }
}

impl Drop for PowerShellRun {
    fn drop(&mut self) {
        POWERSHELL.with(|r| r.set(self.0));
    }
}

/// Is a translated PowerShell script running (see [`PowerShellRun`])?
pub fn in_powershell() -> bool {
    POWERSHELL.with(std::cell::Cell::get)
}
