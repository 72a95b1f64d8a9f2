//! The files side of an atomic unit's roll-forward journal (docs/atomic-and-plan.md, "A kill").
//!
//! Before a unit that wrote files commits, each file it will place gets a name beside its target
//! (see `Staging::name`), and the unit writes a *unit file* beside the store,
//! `<store>.unit-<unit id>`, listing those names. The unit's process holds an exclusive `flock`
//! on it until every file is in place, so another process can tell a unit still at work from one
//! whose process died (the kernel drops the lock of a dead process). The store records which
//! units committed; what is here only finds, moves and removes files.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Read, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::write::sync_dir;

/// What comes between the store's file name and the unit id in a unit file's name.
pub const UNIT_FILE_INFIX: &str = ".unit-";

fn folder(path: &Path) -> &Path {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// The unit file of `unit` for the store `db`.
pub fn unit_file(db: &Path, unit: &str) -> PathBuf {
    let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(UNIT_FILE_INFIX);
    name.push(unit);
    folder(db).join(name)
}

/// Try to take the exclusive lock without waiting: false when another process holds it.
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    // SAFETY: flock on a descriptor this process owns.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) { Ok(false) } else { Err(e) }
}

/// The staged names, each followed by a NUL byte (a path holds any other byte).
fn encode(staged: &[PathBuf]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in staged {
        out.extend_from_slice(p.as_os_str().as_bytes());
        out.push(0);
    }
    out
}

fn decode(bytes: Vec<u8>) -> Vec<PathBuf> {
    bytes
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| PathBuf::from(std::ffi::OsString::from_vec(p.to_vec())))
        .collect()
}

/// A unit file this process holds (its unit is at work): removed by `remove`, or left behind
/// with its lock dropped when the process dies.
pub struct UnitFile {
    path: PathBuf,
    _file: File,
}

impl UnitFile {
    /// Write the unit file listing `staged`, locked, synced with its folder. It appears under its
    /// name already locked and complete: it is written under another name first.
    pub fn create(path: &Path, staged: &[PathBuf]) -> io::Result<UnitFile> {
        let mut partial = path.as_os_str().to_os_string();
        partial.push(".new");
        let partial = PathBuf::from(partial);
        let mut file = OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&partial)?;
        let written = (|| {
            file.set_permissions(Permissions::from_mode(0o600))?;
            if !try_lock(&file)? {
                return Err(io::Error::other("the unit file is locked by another process"));
            }
            file.write_all(&encode(staged))?;
            file.sync_all()?;
            crate::fault::point("atomic:unit-file-written");
            std::fs::rename(&partial, path)?;
            sync_dir(folder(path))
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
        Ok(UnitFile { path: path.to_path_buf(), _file: file })
    }

    /// The unit is done (every file placed, or nothing committed): remove the file, then let go
    /// of its lock.
    pub fn remove(self) -> io::Result<()> {
        std::fs::remove_file(&self.path)?;
        let _ = sync_dir(folder(&self.path));
        Ok(())
    }
}

/// A unit file left by a process that died: the lock is this process's now.
pub struct LeftUnit {
    pub unit: String,
    pub path: PathBuf,
    /// The staged names it lists.
    pub staged: Vec<PathBuf>,
    _file: File,
}

impl LeftUnit {
    /// Remove the unit file (what it lists has been dealt with).
    pub fn remove(self) -> io::Result<()> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let _ = sync_dir(folder(&self.path));
        Ok(())
    }
}

/// Unit files, each as (unit id, path).
pub type Units = Vec<(String, PathBuf)>;

/// Unit files beside the store `db`, whatever their units' state: the complete ones, and the
/// ones still being written (`<name>.new`, see `UnitFile::create`).
pub fn scan(db: &Path) -> io::Result<(Units, Units)> {
    let mut prefix = db.file_name().map(|n| n.as_bytes().to_vec()).unwrap_or_default();
    prefix.extend_from_slice(UNIT_FILE_INFIX.as_bytes());
    let entries = match std::fs::read_dir(folder(db)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(e),
    };
    let (mut complete, mut partial) = (Vec::new(), Vec::new());
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(unit) = name.as_bytes().strip_prefix(prefix.as_slice()) else { continue };
        let (unit, list) = match unit.strip_suffix(b".new") {
            Some(unit) => (unit, &mut partial),
            None => (unit, &mut complete),
        };
        // Only ids pchat makes.
        if unit.is_empty() || !unit.iter().all(u8::is_ascii_alphanumeric) {
            continue;
        }
        list.push((String::from_utf8_lossy(unit).into_owned(), entry.path()));
    }
    complete.sort();
    partial.sort();
    Ok((complete, partial))
}

/// Remove a unit file that a process killed while writing it left (`<name>.new`; never renamed,
/// so its unit never committed), and the staged files it lists. Those are only the complete
/// entries naming this unit's staged files (`.<target>.pchat-<unit>.staged`): a kill in the
/// middle of the write leaves a cut last name, which is not touched. Left alone while a live process
/// still holds it (None), else the number of staged files removed.
pub fn remove_partial(unit: &str, path: &Path) -> io::Result<Option<usize>> {
    let (_held, mut bytes) = match take_over(path)? {
        TakeOver::Missing => return Ok(Some(0)),
        TakeOver::Live => return Ok(None),
        TakeOver::Taken(file, bytes) => (file, bytes),
    };
    // Only NUL-terminated entries are complete: drop what follows the last NUL.
    let complete = bytes.iter().rposition(|b| *b == 0).map_or(0, |at| at + 1);
    bytes.truncate(complete);
    let suffix = format!(".pchat-{unit}.staged");
    let mut removed = 0;
    for staged in decode(bytes) {
        let ours = staged.file_name().is_some_and(|n| n.as_bytes().ends_with(suffix.as_bytes()));
        if ours && remove_staged(&staged)? {
            removed += 1;
        }
    }
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    let _ = sync_dir(folder(path));
    Ok(Some(removed))
}

/// What `claim` found.
pub enum Claim {
    /// A live process holds the unit file: its unit is at work.
    Live,
    /// There is no unit file.
    Missing,
    /// Its process is gone: the file is this process's now.
    Left(LeftUnit),
}

/// Take over the unit file at `path` if its process is gone.
pub fn claim(unit: &str, path: &Path) -> io::Result<Claim> {
    Ok(match take_over(path)? {
        TakeOver::Missing => Claim::Missing,
        TakeOver::Live => Claim::Live,
        TakeOver::Taken(file, bytes) => Claim::Left(LeftUnit {
            unit: unit.to_string(),
            path: path.to_path_buf(),
            staged: decode(bytes),
            _file: file,
        }),
    })
}

/// What `take_over` found at a unit file's path.
enum TakeOver {
    /// No regular file there.
    Missing,
    /// A live process holds its lock.
    Live,
    /// Locked by this process now, with its content.
    Taken(File, Vec<u8>),
}

/// Open a unit file (complete or half-written) and take its lock if its process is gone.
fn take_over(path: &Path) -> io::Result<TakeOver> {
    let mut file = match OpenOptions::new().read(true).custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(TakeOver::Missing),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.is_file() {
        return Ok(TakeOver::Missing);
    }
    if !try_lock(&file)? {
        return Ok(TakeOver::Live);
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(TakeOver::Taken(file, bytes))
}

/// Is the unit file at `path` held by a live process?
pub fn is_live(path: &Path) -> bool {
    match File::open(path) {
        Ok(f) => !try_lock(&f).unwrap_or(false),
        Err(_) => false,
    }
}

/// What finishing one file of a committed unit found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finished {
    /// The staged file was renamed into place now.
    Placed,
    /// No staged file: it had been renamed into place before the process died.
    AlreadyPlaced,
    /// Neither the staged file nor the target exists.
    Lost,
}

/// Put one staged file of a committed unit into place (its folder synced), or find it was.
pub fn finish(staged: &Path, target: &Path) -> io::Result<Finished> {
    match std::fs::rename(staged, target) {
        Ok(()) => {
            let _ = sync_dir(folder(target));
            Ok(Finished::Placed)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            // Whether the staged file is missing (placed before) or the target's folder is.
            if std::fs::symlink_metadata(staged).is_ok() {
                return Err(e);
            }
            Ok(if std::fs::symlink_metadata(target).is_ok() { Finished::AlreadyPlaced } else { Finished::Lost })
        }
        Err(e) => Err(e),
    }
}

/// Remove a staged file of a unit that did not commit; true when there was one.
pub fn remove_staged(staged: &Path) -> io::Result<bool> {
    match std::fs::remove_file(staged) {
        Ok(()) => {
            let _ = sync_dir(folder(staged));
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unit_file_lists_its_staged_names_and_is_locked_while_held() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pchat.db");
        let odd = PathBuf::from(std::ffi::OsString::from_vec(b"/x/a\nb\xff".to_vec()));
        let staged = vec![dir.path().join(".r.txt.pchat-u1.staged"), odd.clone()];
        let held = UnitFile::create(&unit_file(&db, "u1"), &staged).unwrap();
        assert_eq!(scan(&db).unwrap().0, vec![("u1".to_string(), unit_file(&db, "u1"))]);
        assert!(is_live(&unit_file(&db, "u1")));
        assert!(matches!(claim("u1", &unit_file(&db, "u1")).unwrap(), Claim::Live), "held by a live unit");
        // Its process gone (here: the handle dropped), the file can be claimed and read.
        drop(held);
        assert!(!is_live(&unit_file(&db, "u1")));
        let Claim::Left(left) = claim("u1", &unit_file(&db, "u1")).unwrap() else { panic!("not claimed") };
        assert_eq!(left.staged, staged);
        left.remove().unwrap();
        assert!(scan(&db).unwrap().0.is_empty());
        assert!(matches!(claim("u1", &unit_file(&db, "u1")).unwrap(), Claim::Missing));
    }

    #[test]
    fn a_unit_file_left_half_written_is_removed_with_the_staged_files_it_names_in_full() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pchat.db");
        let ours = dir.path().join(".r.txt.pchat-u2.staged");
        let other_unit = dir.path().join(".r.txt.pchat-u3.staged");
        let cut = dir.path().join(".s.txt.pchat-u2.staged");
        for f in [&ours, &other_unit, &cut] {
            std::fs::write(f, "x").unwrap();
        }
        let mut partial = unit_file(&db, "u2").into_os_string();
        partial.push(".new");
        // Two complete names (one of another unit: not this file's to remove) and one cut short
        // by the kill (no NUL after it): a name that may be a prefix of anything.
        let mut bytes = encode(&[ours.clone(), other_unit.clone()]);
        bytes.extend_from_slice(&cut.as_os_str().as_bytes()[..cut.as_os_str().len()]);
        std::fs::write(&partial, &bytes).unwrap();
        let (complete, partials) = scan(&db).unwrap();
        assert!(complete.is_empty());
        assert_eq!(partials, vec![("u2".to_string(), PathBuf::from(&partial))]);

        // Held by a live process: left alone.
        let held = File::open(&partial).unwrap();
        assert!(try_lock(&held).unwrap());
        assert_eq!(remove_partial("u2", Path::new(&partial)).unwrap(), None);
        assert!(ours.exists());
        drop(held);

        assert_eq!(remove_partial("u2", Path::new(&partial)).unwrap(), Some(1));
        assert!(!ours.exists() && other_unit.exists() && cut.exists());
        assert!(!Path::new(&partial).exists());
        assert_eq!(scan(&db).unwrap(), (Vec::new(), Vec::new()));
    }

    #[test]
    fn finishing_a_file_is_idempotent() {
        let dir = tempfile::tempdir().unwrap();
        let (staged, target) = (dir.path().join(".t.pchat-u.staged"), dir.path().join("t"));
        std::fs::write(&staged, "new").unwrap();
        std::fs::write(&target, "old").unwrap();
        assert_eq!(finish(&staged, &target).unwrap(), Finished::Placed);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(finish(&staged, &target).unwrap(), Finished::AlreadyPlaced);
        std::fs::remove_file(&target).unwrap();
        assert_eq!(finish(&staged, &target).unwrap(), Finished::Lost);
        assert!(!remove_staged(&staged).unwrap());
    }
}
