//! Writing files owner-only and all at once: content goes to a temporary file in the target's
//! folder that is renamed over the target only when complete. On Linux the temporary file has no
//! name until that moment (`O_TMPFILE`), so even a killed process leaves nothing behind.

use std::ffi::CString;
use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::Error;

const FILE_MODE: u32 = 0o600;
const DIR_MODE: u32 = 0o700;

/// A temporary file in the target's folder: removed when dropped unless persisted.
pub(super) struct Temp {
    pub(super) file: File,
    /// None: an unnamed `O_TMPFILE` file, which vanishes by itself.
    name: Option<PathBuf>,
}

impl Drop for Temp {
    fn drop(&mut self) {
        if let Some(name) = self.name.take() {
            let _ = std::fs::remove_file(name);
        }
    }
}

fn temp_name(dir: &Path, target: &Path) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let base = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    dir.join(format!(".{base}.pchat-{}-{n}.tmp", std::process::id()))
}

fn create_temp(dir: &Path, target: &Path) -> io::Result<Temp> {
    #[cfg(target_os = "linux")]
    {
        let unnamed = OpenOptions::new().read(true).write(true).custom_flags(libc::O_TMPFILE).mode(FILE_MODE).open(dir);
        match unnamed {
            Ok(file) => return Ok(Temp { file, name: None }),
            // Not every file system offers unnamed files; a named one does the same job.
            Err(e) if matches!(e.raw_os_error(), Some(libc::EOPNOTSUPP | libc::EISDIR | libc::EINVAL)) => {}
            Err(e) => return Err(e),
        }
    }
    let name = temp_name(dir, target);
    let file = OpenOptions::new().read(true).write(true).create_new(true).mode(FILE_MODE).open(&name)?;
    Ok(Temp { file, name: Some(name) })
}

fn c_path(path: &Path) -> io::Result<CString> {
    CString::new(path.as_os_str().as_bytes()).map_err(|_| io::Error::other("a path with a NUL byte"))
}

/// Link an unnamed file under `name` (link cannot replace a file: `name` must be free).
fn link_unnamed(file: &File, name: &Path) -> io::Result<()> {
    let fd = c_path(Path::new(&format!("/proc/self/fd/{}", file.as_raw_fd())))?;
    let to = c_path(name)?;
    // SAFETY: both arguments are NUL-terminated paths that outlive the call.
    let linked =
        unsafe { libc::linkat(libc::AT_FDCWD, fd.as_ptr(), libc::AT_FDCWD, to.as_ptr(), libc::AT_SYMLINK_FOLLOW) };
    if linked != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Make the entries of `dir` (a new name, a rename, a removal) survive a crash.
pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Give a staged file the name `name` in its folder `dir` (see stage.rs, `Staging::name`): synced,
/// with its folder, so that the name survives a crash. Dropped unplaced, the file is removed.
pub(super) fn name_staged(temp: &mut Temp, dir: &Path, name: &Path) -> io::Result<()> {
    temp.file.flush()?;
    temp.file.sync_all()?;
    match temp.name.clone() {
        None => link_unnamed(&temp.file, name)?,
        Some(old) => std::fs::rename(old, name)?,
    }
    temp.name = Some(name.to_path_buf());
    sync_dir(dir)
}

/// Give the temporary file its final name, atomically replacing any file there. On failure the
/// temporary file is handed back, so the caller decides whether it goes or stays.
fn persist(mut temp: Temp, dir: &Path, target: &Path) -> Result<(), (io::Error, Temp)> {
    if temp.name.is_none() {
        // Link the unnamed file under a temporary name first: link cannot replace a file, rename can.
        let name = temp_name(dir, target);
        if let Err(e) = link_unnamed(&temp.file, &name) {
            return Err((e, temp));
        }
        temp.name = Some(name);
    }
    let name = temp.name.clone().unwrap_or_default();
    if let Err(e) = std::fs::rename(&name, target) {
        return Err((e, temp));
    }
    temp.name = None;
    // The rename itself survives a crash once the folder is synced.
    let _ = sync_dir(dir);
    Ok(())
}

/// Write `target` (resolved, checked) through a temporary file. `shown`: the path as the user gave it.
pub(super) fn replace<E: From<Error>>(
    shown: &Path,
    target: &Path,
    fill: impl FnOnce(&mut File) -> Result<(), E>,
) -> Result<(), E> {
    let temp = stage(shown, target, fill)?;
    place(shown, temp, target)?;
    Ok(())
}

/// Write the content of `target` into a temporary file in its folder, synced, not yet in place
/// (see `place`). Dropping it unplaced leaves nothing behind.
pub(super) fn stage<E: From<Error>>(
    shown: &Path,
    target: &Path,
    fill: impl FnOnce(&mut File) -> Result<(), E>,
) -> Result<Temp, E> {
    let io_err = |e: io::Error| Error::io(shown, "written", e);
    let dir = target.parent().unwrap_or(Path::new("/"));
    let mut temp = create_temp(dir, target).map_err(io_err)?;
    // Exactly 0600 whatever the umask.
    temp.file.set_permissions(Permissions::from_mode(FILE_MODE)).map_err(io_err)?;
    fill(&mut temp.file)?;
    temp.file.flush().and_then(|()| temp.file.sync_all()).map_err(io_err)?;
    Ok(temp)
}

/// Rename a staged file over `target`, atomically. On failure the staged file is removed.
pub(super) fn place(shown: &Path, temp: Temp, target: &Path) -> Result<(), Error> {
    let dir = target.parent().unwrap_or(Path::new("/"));
    persist(temp, dir, target).map_err(|(e, _removed)| Error::io(shown, "written", e))
}

/// Rename a file of a committed unit over `target`. Its content is committed: on failure it stays
/// on disk under the name it has (its staged name, `Staging::name`), which is returned, for the
/// next command to place (store/unit.rs `finish_units`).
pub(super) fn place_committed(shown: &Path, temp: Temp, target: &Path) -> Result<(), (Error, Option<PathBuf>)> {
    // On failure the name is taken out of the guard (`Temp`'s drop), so the file stays.
    let mut temp = temp;
    if let Err(e) = temp.file.sync_all() {
        return Err((Error::io(shown, "written", e), temp.name.take()));
    }
    let dir = target.parent().unwrap_or(Path::new("/"));
    persist(temp, dir, target).map_err(|(e, mut back)| (Error::io(shown, "written", e), back.name.take()))
}

/// Append to `target` in place, creating it owner-only when missing.
pub(super) fn append(shown: &Path, target: &Path, bytes: &[u8]) -> Result<(), Error> {
    let io_err = |e: io::Error| Error::io(shown, "appended to", e);
    let existed = target.exists();
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(target)
        .map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if !meta.is_file() {
        return Err(super::not_regular(shown, &meta));
    }
    if !existed {
        file.set_permissions(Permissions::from_mode(FILE_MODE)).map_err(io_err)?;
    }
    file.write_all(bytes).and_then(|()| file.flush()).map_err(io_err)
}

/// Create a file owner-only (0600, whatever the umask) if it does not exist; an existing file is
/// left as it is. For database files, created before SQLite opens them so that SQLite gives its
/// -wal and -shm files the same mode.
pub fn create_private_file(path: &Path) -> io::Result<()> {
    match OpenOptions::new().write(true).create_new(true).mode(FILE_MODE).open(path) {
        Ok(f) => f.set_permissions(Permissions::from_mode(FILE_MODE)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// Create a folder and its missing parents owner-only (0700, whatever the umask); existing
/// folders keep their mode.
pub fn create_private_dir_all(path: &Path) -> io::Result<()> {
    if path.as_os_str().is_empty() || path.is_dir() {
        return Ok(());
    }
    if let Some(parent) = path.parent() {
        create_private_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(DIR_MODE).create(path) {
        Ok(()) => std::fs::set_permissions(path, Permissions::from_mode(DIR_MODE)),
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists && path.is_dir() => Ok(()),
        Err(e) => Err(e),
    }
}
