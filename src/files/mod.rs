//! Every file pchat reads or writes for a user goes through here, so that the same rules hold on
//! every path (docs/files-and-confinement.md):
//!
//! * a confined run (a runbook, a script on standard input) opens files only under its allowed
//!   folders, judged after `..` and symbolic links are resolved;
//! * input files are regular files read up to a stated size, so a FIFO cannot hang a run and
//!   `/dev/zero` cannot eat its memory;
//! * a write never touches a database of the store or its -wal, -shm, -journal file (or the unit
//!   file of an atomic run, `<store>.unit-<id>`), is refused
//!   before anything is opened, and goes through a temporary file renamed into place, so a failed
//!   write leaves the old file (or none) and no partial one; appends write in place;
//! * files pchat creates are owner-only (0600, folders 0700) whatever the umask.
//!
//! The module knows nothing of the engine or the store: callers hand it the confinement and the
//! store's database files.

pub mod journal;
mod resolve;
mod stage;
pub mod unit_home;
mod write;

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub use resolve::resolve;
pub use stage::{PlannedFile, Staging, Unplaced};
pub use write::{create_private_dir_all, create_private_file};

/// The largest input file read whole into memory (topology, directory, CSV, text): 256 MiB.
pub const MAX_INPUT_BYTES: u64 = 256 << 20;

/// The suffixes SQLite gives a database's companion files.
const COMPANIONS: [&str; 4] = ["", "-wal", "-shm", "-journal"];

/// The setting that allows a folder, shown with every refusal.
pub const ALLOW_HINT: &str = "set_cs_persistent_chat_runbook_configuration(#{AllowedFolders: #{Add: \"<folder>\"}})";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Outside the folders a confined run may open.
    Outside,
    /// A database of the store or one of its companion files.
    StoreFile,
    /// A directory, FIFO, device or socket where a file was expected.
    NotRegular,
    /// Larger than the stated limit.
    TooLarge,
    /// What the operating system said.
    Io,
}

/// A refused or failed file operation; the message names the path.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub path: String,
    pub message: String,
}

impl Error {
    fn new(kind: ErrorKind, path: &Path, message: String) -> Error {
        Error { kind, path: path.display().to_string(), message }
    }

    /// `done`: what could not be done to it ("read", "written", ...).
    fn io(path: &Path, done: &str, e: io::Error) -> Error {
        Error::new(ErrorKind::Io, path, format!("'{}' cannot be {done}: {e}", path.display()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Refusals stop the run; a file that cannot be read or written fails the object in hand.
impl From<Error> for crate::errors::CmdletError {
    fn from(e: Error) -> Self {
        let target = e.path.clone();
        match e.kind {
            ErrorKind::Outside | ErrorKind::StoreFile => {
                crate::errors::CmdletError::invalid_operation(e.message).terminating().with_target(target)
            }
            _ => crate::errors::CmdletError::invalid(e.message).with_target(target),
        }
    }
}

/// The folders a confined run may open, each resolved, with why it is allowed.
#[derive(Debug, Clone, Default)]
pub struct Confinement {
    roots: Vec<(PathBuf, String)>,
}

impl Confinement {
    /// `roots`: (folder, why it is allowed, e.g. "the runbook's folder"). A folder that cannot be
    /// resolved is left out: it cannot be opened either.
    pub fn new(roots: Vec<(PathBuf, String)>) -> Confinement {
        let mut out: Vec<(PathBuf, String)> = Vec::new();
        for (folder, why) in roots {
            if let Ok(r) = resolve(&folder)
                && !out.iter().any(|(p, _)| *p == r)
            {
                out.push((r, why));
            }
        }
        Confinement { roots: out }
    }

    pub fn roots(&self) -> &[(PathBuf, String)] {
        &self.roots
    }

    fn allows(&self, resolved: &Path) -> bool {
        self.roots.iter().any(|(root, _)| resolved.starts_with(root))
    }

    fn refusal(&self, given: &Path, resolved: &Path) -> Error {
        let allowed: Vec<String> = self.roots.iter().map(|(p, why)| format!("{} ({why})", p.display())).collect();
        let via = if given != resolved { format!(", which leads to '{}',", resolved.display()) } else { String::new() };
        let folder = resolved.parent().unwrap_or(resolved).display().to_string();
        Error::new(
            ErrorKind::Outside,
            given,
            format!(
                "'{}'{via} is outside the folders this run may open: {}; an administrator allows a folder with {}",
                given.display(),
                if allowed.is_empty() { "none".to_string() } else { allowed.join(", ") },
                ALLOW_HINT.replace("<folder>", &folder.replace('\\', "\\\\").replace('"', "\\\""))
            ),
        )
    }
}

/// The rules for one file operation: the run's confinement (none for `-c` and the REPL) and the
/// store's database files, which are never written.
#[derive(Clone, Default)]
pub struct Guard {
    confinement: Option<Rc<Confinement>>,
    store_files: Vec<PathBuf>,
    /// A PostgreSQL store's local state folder (its atomic runs' unit files, unit_home.rs),
    /// resolved: as much the store's own as its database files, and never written by a script.
    state_folder: Option<PathBuf>,
    /// The PostgreSQL password file pchat reads for a PostgreSQL store's connections
    /// (`~/.pgpass` or `PGPASSFILE`), resolved: written over, the store's next command (cron's)
    /// could not connect, so it is the store's own as its database files are.
    password_file: Option<PathBuf>,
    /// Writes held back until the run's unit of work commits (`--atomic`, `--plan`).
    staging: Option<Rc<Staging>>,
}

impl Guard {
    /// `store_files`: every database file of the store (central and pool databases).
    pub fn new(confinement: Option<Rc<Confinement>>, store_files: &[PathBuf]) -> Guard {
        let store_files = store_files.iter().filter_map(|p| resolve(p).ok()).collect();
        Guard { confinement, store_files, state_folder: None, password_file: None, staging: None }
    }

    /// Also refuse writes anywhere under `folder` (a PostgreSQL store's state folder).
    pub fn protecting(mut self, folder: Option<PathBuf>) -> Guard {
        self.state_folder = folder.and_then(|f| resolve(&f).ok());
        self
    }

    /// Also refuse writes to `file` (the password file a PostgreSQL store's connections read).
    pub fn protecting_password_file(mut self, file: Option<PathBuf>) -> Guard {
        self.password_file = file.and_then(|f| resolve(&f).ok());
        self
    }

    /// Hold writes back in `staging` (an atomic run or a plan) instead of making them now.
    pub fn staged(mut self, staging: Option<Rc<Staging>>) -> Guard {
        self.staging = staging;
        self
    }

    /// An unconfined guard that protects no store (tests, tools without a store).
    pub fn unconfined() -> Guard {
        Guard::default()
    }

    pub fn is_confined(&self) -> bool {
        self.confinement.is_some()
    }

    /// Resolve `path` and check the confinement: the path to open.
    pub fn check(&self, path: &Path) -> Result<PathBuf, Error> {
        let resolved = resolve(path).map_err(|e| Error::io(path, "resolved", e))?;
        if let Some(c) = &self.confinement
            && !c.allows(&resolved)
        {
            return Err(c.refusal(path, &resolved));
        }
        Ok(resolved)
    }

    /// Everything a write checks, without writing: the confinement, the store's files, and that
    /// an existing target is a regular file. The resolved target.
    pub fn check_write(&self, path: &Path) -> Result<PathBuf, Error> {
        if path.as_os_str().is_empty() {
            return Err(Error::new(ErrorKind::Io, path, "an empty path names no file".into()));
        }
        // `D:\Export\pchat.zip` written as given would be one file of that name in the current
        // folder, which no one would look for; a backslash in a new file's name is that mistake.
        if path.as_os_str().as_encoded_bytes().contains(&b'\\') {
            let name = path.to_string_lossy();
            let last = name.rsplit(['\\', '/']).find(|n| !n.is_empty()).unwrap_or("file");
            return Err(Error::new(
                ErrorKind::Io,
                path,
                format!(
                    "'{name}' holds a backslash, which is not a folder separator here: pchat writes no file \
                     with '\\' in its name; write the path with '/', such as ./{last} or /var/tmp/{last}"
                ),
            ));
        }
        let resolved = self.check(path)?;
        if let Some(db) = self.store_file(&resolved) {
            return Err(Error::new(
                ErrorKind::StoreFile,
                path,
                format!(
                    "'{}' is {} of this store; pchat never writes over the store's own files: choose another file name",
                    path.display(),
                    if db == resolved {
                        "a database".to_string()
                    } else {
                        format!("a file of the database {}", db.display())
                    }
                ),
            ));
        }
        if let Some(file) = self.password_file.as_ref().filter(|f| **f == resolved) {
            return Err(Error::new(
                ErrorKind::StoreFile,
                path,
                format!(
                    "'{}' is the PostgreSQL password file ({}) that pchat reads to connect to this store; \
                     pchat never writes over the store's own files: choose another file name",
                    path.display(),
                    file.display()
                ),
            ));
        }
        if let Some(folder) = self.state_folder.as_ref().filter(|f| resolved.starts_with(f)) {
            return Err(Error::new(
                ErrorKind::StoreFile,
                path,
                format!(
                    "'{}' is in this store's state folder {}, where its atomic runs keep their journals; \
                     pchat never writes there: choose another file name",
                    path.display(),
                    folder.display()
                ),
            ));
        }
        match std::fs::metadata(&resolved) {
            Ok(m) if !m.is_file() => return Err(not_regular(path, &m)),
            _ => {}
        }
        // The folder must be there now, so that `--what-if` fails where the real write would.
        if let Some(folder) = resolved.parent().filter(|f| !f.as_os_str().is_empty()) {
            match std::fs::metadata(folder) {
                Ok(m) if m.is_dir() => {}
                Ok(_) => {
                    let why = format!("cannot write '{}': '{}' is not a folder", path.display(), folder.display());
                    return Err(Error::new(ErrorKind::Io, path, why));
                }
                Err(e) => {
                    let why = format!("cannot write '{}': its folder '{}': {e}", path.display(), folder.display());
                    return Err(Error::new(ErrorKind::Io, path, why));
                }
            }
        }
        Ok(resolved)
    }

    /// The store database `resolved` is, or is a companion file of.
    fn store_file(&self, resolved: &Path) -> Option<PathBuf> {
        let text = resolved.as_os_str().as_encoded_bytes();
        self.store_files
            .iter()
            .find(|db| {
                let db = db.as_os_str().as_encoded_bytes();
                COMPANIONS
                    .iter()
                    .any(|s| text.len() == db.len() + s.len() && text.starts_with(db) && text.ends_with(s.as_bytes()))
                    // The unit files of atomic runs (see journal.rs).
                    || text.strip_prefix(db).is_some_and(|rest| rest.starts_with(journal::UNIT_FILE_INFIX.as_bytes()))
            })
            .cloned()
    }

    /// Does the resolved path exist, counting files this run staged?
    pub fn exists(&self, resolved: &Path) -> bool {
        resolved.exists() || self.staging.as_ref().is_some_and(|s| s.open(resolved).is_some())
    }

    /// Open an input file for streaming (an archive): a regular file inside the confinement.
    pub fn open_input(&self, path: &Path) -> Result<File, Error> {
        let resolved = self.check(path)?;
        // What this run wrote, not yet in place.
        if let Some(staged) = self.staging.as_ref().and_then(|s| s.open(&resolved)) {
            return staged.map_err(|e| Error::io(path, "read", e));
        }
        // Non-blocking: opening a FIFO must not wait for a writer.
        let file =
            std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(&resolved).map_err(|e| {
                match std::fs::metadata(path) {
                    // A /proc/self/fd link to a pipe (`/dev/stdin` fed by `|`) resolves to a name
                    // like `pipe:[123]` that does not open: say what it is rather than "no such file".
                    Ok(m) if !m.is_file() => not_regular(path, &m),
                    _ => Error::io(path, "read", e),
                }
            })?;
        let meta = file.metadata().map_err(|e| Error::io(path, "read", e))?;
        if !meta.is_file() {
            return Err(not_regular(path, &meta));
        }
        Ok(file)
    }

    /// Read a whole input file of at most `limit` bytes.
    pub fn read_bytes(&self, path: &Path, limit: u64) -> Result<Vec<u8>, Error> {
        let file = self.open_input(path)?;
        let size = file.metadata().map(|m| m.len()).unwrap_or(0);
        let too_large = || {
            Error::new(
                ErrorKind::TooLarge,
                path,
                format!("'{}' is larger than {} MiB, the limit for input files", path.display(), limit >> 20),
            )
        };
        if size > limit {
            return Err(too_large());
        }
        let mut bytes = Vec::with_capacity(size as usize);
        // The file may grow while it is read: never past the limit.
        file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| Error::io(path, "read", e))?;
        if bytes.len() as u64 > limit {
            return Err(too_large());
        }
        Ok(bytes)
    }

    /// Read a whole UTF-8 text input file of at most `limit` bytes, without its byte-order mark.
    pub fn read_text(&self, path: &Path, limit: u64) -> Result<String, Error> {
        let mut bytes = self.read_bytes(path, limit)?;
        // Windows editors (Excel's "CSV UTF-8", Notepad, the PowerShell ISE) start UTF-8 with a
        // byte-order mark: kept, it is an invisible character glued to the first header, line or
        // token (a syntax error at column 1, a column 'Pool' that is not `Pool`).
        let bom = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        bytes.drain(..bom);
        String::from_utf8(bytes).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                path,
                format!("'{}' is not UTF-8 text (byte {})", path.display(), bom + e.utf8_error().valid_up_to()),
            )
        })
    }

    /// Write a file through a temporary file renamed into place; `fill` writes its content.
    /// Under `what_if` everything is checked and nothing is written: Ok(false).
    pub fn write<E: From<Error>>(
        &self,
        path: &Path,
        what_if: bool,
        fill: impl FnOnce(&mut File) -> Result<(), E>,
    ) -> Result<bool, E> {
        let target = self.check_write(path)?;
        if what_if {
            return Ok(false);
        }
        match &self.staging {
            Some(staging) => staging.write(path, &target, fill)?,
            None => write::replace(path, &target, fill)?,
        }
        Ok(true)
    }

    /// Write `bytes` as the whole file (see `write`).
    pub fn write_bytes(&self, path: &Path, what_if: bool, bytes: &[u8]) -> Result<bool, Error> {
        self.write(path, what_if, |f| io::Write::write_all(f, bytes).map_err(|e| Error::io(path, "written", e)))
    }

    /// Append `bytes` to a file in place, creating it (0600) when missing. (Staged, the file is
    /// rewritten whole at commit: an append cannot be taken back.)
    pub fn append(&self, path: &Path, what_if: bool, bytes: &[u8]) -> Result<bool, Error> {
        let target = self.check_write(path)?;
        if what_if {
            return Ok(false);
        }
        match &self.staging {
            Some(staging) => staging.append(path, &target, bytes)?,
            None => write::append(path, &target, bytes)?,
        }
        Ok(true)
    }
}

fn not_regular(path: &Path, meta: &std::fs::Metadata) -> Error {
    let t = meta.file_type();
    let what = if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "not a regular file"
    };
    Error::new(
        ErrorKind::NotRegular,
        path,
        format!("'{}' is {what}; only regular files are read or written", path.display()),
    )
}

#[cfg(test)]
mod tests;
