//! The fault steps `commit:<file>` (`PCHAT_FAULT=commit:sql02-rtc.db:kill` or `:full`): reached
//! when a COMMIT writes to the write-ahead log of the database file named `<file>`, which is
//! where SQLite commits a WAL database. A commit over several databases writes them one after
//! another, the central database first (see `Store::commit`), so these steps stop a commit
//! between two files, as `kill -9` or a full disk does, exactly where it matters.
//!
//! Only installed when `PCHAT_FAULT` names such a step: SQLite's default VFS is wrapped, and the
//! WAL files of the named databases get a copy of their I/O methods whose `xWrite` checks the
//! fault first. Every other file keeps SQLite's own methods untouched.

use std::collections::HashMap;
use std::ffi::{CStr, c_char, c_int, c_void};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock};

use rusqlite::ffi;

const PREFIX: &str = "commit:";

/// Set while `Db::commit` runs: the steps are about the commit, not about other writes.
static COMMITTING: AtomicBool = AtomicBool::new(false);

/// The wrapped VFS and SQLite's own, as addresses (raw pointers are neither `Send` nor `Sync`;
/// both live for the whole process).
struct Vfs {
    real: usize,
}

/// A targeted WAL file (its `sqlite3_file` address) → its step and SQLite's own methods.
static FILES: OnceLock<Mutex<HashMap<usize, (String, usize)>>> = OnceLock::new();
/// SQLite's own methods → the copy with `xWrite`/`xClose` wrapped (leaked: lives as long as the
/// files that use it).
static WRAPPED: OnceLock<Mutex<HashMap<usize, usize>>> = OnceLock::new();
static INSTALLED: OnceLock<Vfs> = OnceLock::new();

fn files() -> &'static Mutex<HashMap<usize, (String, usize)>> {
    FILES.get_or_init(Default::default)
}

/// Install the wrapper as SQLite's default VFS if a `commit:` fault is asked for; once, before
/// the first connection opens.
pub(in crate::store::db) fn install() {
    INSTALLED.get_or_init(|| {
        if !crate::fault::any_step_starting(PREFIX) {
            return Vfs { real: 0 };
        }
        // SAFETY: the default VFS lives for the whole process; the copy is leaked so that its
        // address stays valid for SQLite, which keeps it once registered.
        unsafe {
            let real = ffi::sqlite3_vfs_find(std::ptr::null());
            assert!(!real.is_null(), "SQLite has no default VFS");
            let mut vfs = *real;
            vfs.zName = c"pchat-fault".as_ptr();
            vfs.pNext = std::ptr::null_mut();
            vfs.xOpen = Some(x_open);
            let vfs = Box::leak(Box::new(vfs));
            let rc = ffi::sqlite3_vfs_register(vfs, 1);
            assert_eq!(rc, ffi::SQLITE_OK, "cannot register the fault VFS");
            Vfs { real: real as usize }
        }
    });
}

/// Run a COMMIT with the `commit:` steps live.
pub(in crate::store::db) fn committing<T>(commit: impl FnOnce() -> T) -> T {
    if INSTALLED.get().is_none_or(|v| v.real == 0) {
        return commit();
    }
    COMMITTING.store(true, Ordering::SeqCst);
    let out = commit();
    COMMITTING.store(false, Ordering::SeqCst);
    out
}

unsafe extern "C" fn x_open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: ffi::sqlite3_filename,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let real = INSTALLED.get().map_or(0, |v| v.real) as *mut ffi::sqlite3_vfs;
    // SAFETY: SQLite calls this with the arguments of its own xOpen; they go to the real VFS
    // unchanged (it sized `file` from the same szOsFile).
    unsafe {
        let Some(open) = (*real).xOpen else { return ffi::SQLITE_ERROR };
        let rc = open(real, name, file, flags, out_flags);
        if rc != ffi::SQLITE_OK || name.is_null() || flags & ffi::SQLITE_OPEN_WAL == 0 || (*file).pMethods.is_null() {
            return rc;
        }
        let path = CStr::from_ptr(name as *const c_char).to_string_lossy();
        let Some(db) = path.strip_suffix("-wal") else { return rc };
        let base = db.rsplit('/').next().unwrap_or(db);
        let step = format!("{PREFIX}{base}");
        if !crate::fault::any_step_starting(&step) {
            return rc;
        }
        let own = (*file).pMethods as usize;
        let wrapped =
            *WRAPPED.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner()).entry(own).or_insert_with(
                || {
                    let mut methods = *(own as *const ffi::sqlite3_io_methods);
                    methods.xWrite = Some(x_write);
                    methods.xClose = Some(x_close);
                    Box::leak(Box::new(methods)) as *const ffi::sqlite3_io_methods as usize
                },
            );
        files().lock().unwrap_or_else(|e| e.into_inner()).insert(file as usize, (step, own));
        (*file).pMethods = wrapped as *const ffi::sqlite3_io_methods;
        rc
    }
}

/// The step and SQLite's own methods of a wrapped file.
fn target(file: *mut ffi::sqlite3_file) -> Option<(String, *const ffi::sqlite3_io_methods)> {
    let files = files().lock().unwrap_or_else(|e| e.into_inner());
    files.get(&(file as usize)).map(|(step, own)| (step.clone(), *own as *const ffi::sqlite3_io_methods))
}

unsafe extern "C" fn x_write(file: *mut ffi::sqlite3_file, buf: *const c_void, amount: c_int, offset: i64) -> c_int {
    let Some((step, own)) = target(file) else { return ffi::SQLITE_IOERR_WRITE };
    if COMMITTING.load(Ordering::SeqCst) {
        crate::fault::point(&step);
        if crate::fault::full(&step) {
            eprintln!("pchat-fault: {step} failed as on a full disk");
            return ffi::SQLITE_FULL;
        }
    }
    // SAFETY: SQLite's own method, on the file it opened.
    unsafe {
        match (*own).xWrite {
            Some(write) => write(file, buf, amount, offset),
            None => ffi::SQLITE_IOERR_WRITE,
        }
    }
}

unsafe extern "C" fn x_close(file: *mut ffi::sqlite3_file) -> c_int {
    let own = files().lock().unwrap_or_else(|e| e.into_inner()).remove(&(file as usize)).map(|(_, own)| own);
    let Some(own) = own else { return ffi::SQLITE_IOERR_CLOSE };
    // SAFETY: SQLite's own method, on the file it opened; it clears the file itself.
    unsafe {
        (*file).pMethods = own as *const ffi::sqlite3_io_methods;
        match (*(own as *const ffi::sqlite3_io_methods)).xClose {
            Some(close) => close(file),
            None => ffi::SQLITE_OK,
        }
    }
}
