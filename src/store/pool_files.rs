//! Pool database files. pchat creates one only by an explicit act (Publish-CsTopology for a new
//! SQL instance, Repair-CsPersistentChatDatabase rebuilding a lost copy) and writes a random
//! identity into it; opening never creates, empties or replaces a file. A file that is missing,
//! empty, damaged or not the one the store recorded is left as it is and reported unavailable.
//!
//! A file also names the store it belongs to (the random `store_id` of the central database that
//! created it): two stores in one folder give the same SQL instance the same file name, and one
//! must never serve, adopt or replace the other's file.

use std::path::{Path, PathBuf};

use super::db::{Db, OptionalExtension};
use super::{migrate, newer_schema, newer_schema_error, schema};
use anyhow::Context;

/// Which file on disk an attached schema is (device and inode): a file replaced or deleted
/// behind the store's back is noticed before the next use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileKey(u64, u64);

#[cfg(unix)]
pub fn file_key(path: &Path) -> Option<FileKey> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).ok()?;
    m.is_file().then(|| FileKey(m.dev(), m.ino()))
}

#[cfg(not(unix))]
pub fn file_key(path: &Path) -> Option<FileKey> {
    let m = std::fs::metadata(path).ok()?;
    let modified = m.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?.as_nanos() as u64;
    m.is_file().then(|| FileKey(m.len(), modified))
}

/// The store a pool file belongs to: the `store_id` of its central database, and that database's
/// path when it created the file (shown in messages; a store may have moved since).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub id: String,
    pub db: String,
}

/// What a pool database file says of itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolFile {
    /// The file's own identity, written when it was created.
    pub id: String,
    /// The store that created it; None for a file made by a pchat from before files named their
    /// store. Such a file is served only by the store that recorded its identity, and adopted by
    /// none (it may be another store's: nothing in it says whose).
    pub owner: Option<Owner>,
}

impl PoolFile {
    /// The other store this file belongs to, if it is not the store whose id is `store_id`
    /// (None: a store that never created a pool file, so no file names it).
    pub fn other_store(&self, store_id: Option<&str>) -> Option<&Owner> {
        self.owner.as_ref().filter(|o| Some(o.id.as_str()) != store_id)
    }
}

/// Why a store must leave the file at `path` alone: it belongs to the store `owner`.
pub fn belongs_to(path: &Path, owner: &Owner) -> String {
    format!(
        "the file {} belongs to another store (the central database {}, store id {}); a pool database file serves one store only: give this store a folder of its own (--db <another folder>/pchat.db) or give the SQL instance another File in the topology",
        path.display(),
        owner.db,
        owner.id
    )
}

/// The identity of the pool database file at `path`, and its store, or why it cannot serve as
/// one. An older file format is upgraded here (schema migration on open); nothing else is written.
pub fn inspect(path: &Path) -> Result<PoolFile, String> {
    let shown = path.display();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(format!("the file {shown} is missing")),
        Err(e) => return Err(format!("the file {shown} cannot be read ({e})")),
    };
    if !meta.is_file() {
        return Err(format!("{shown} is not a regular file"));
    }
    if meta.len() == 0 {
        return Err(format!("the file {shown} is empty"));
    }
    let opened = (|| {
        let conn = Db::open_sqlite_existing(path)?;
        let version: i64 = conn.query_row(super::dialect::SCHEMA_VERSION, (), |r| r.get(0))?;
        if version == 0 {
            return Ok(Err(None));
        }
        let steps = schema::sqlite_steps(schema::Database::Pool);
        if newer_schema(&conn, steps)?.is_some() {
            return Ok(Err(Some(version)));
        }
        conn.configure()?;
        migrate(&conn, steps)?;
        conn.query_row("SELECT id, store, store_db FROM pool_file", (), |r| {
            let (store, db): (Option<String>, Option<String>) = (r.get(1)?, r.get(2)?);
            Ok(PoolFile { id: r.get(0)?, owner: store.map(|id| Owner { id, db: db.unwrap_or_default() }) })
        })
        .optional()
        .map(|file| file.ok_or(None))
    })();
    match opened {
        Ok(Ok(id)) => Ok(id),
        Ok(Err(Some(version))) => {
            Err(newer_schema_error(&format!("the file {shown}"), version, schema::sqlite_steps(schema::Database::Pool)))
        }
        Ok(Err(None)) => Err(format!("the file {shown} is not a pool database (no pchat schema or identity in it)")),
        Err(e) => Err(match disk_full(path, &e.to_string()) {
            Some(free) => format!(
                "the file {shown} cannot be opened: {DISK_FULL} ({free}; {e}), which says nothing of the file itself: free space on that disk, then run the command again"
            ),
            None => format!("the file {shown} is damaged ({e})"),
        }),
    }
}

/// The words an unavailable file's reason starts its disk-full explanation with: the advice
/// then is to free space, never to fail over or repair (the file is not known to be damaged).
pub(crate) const DISK_FULL: &str = "the disk holding it is full";

/// Whether opening `path` failed for want of space: SQLite's own SQLITE_FULL, or a folder whose
/// file system has (nearly) no space left for this user, where a full disk shows as an I/O error
/// (creating the `-shm` file, say). The free space, as said; None when there is room.
fn disk_full(path: &Path, error: &str) -> Option<String> {
    // The folder the file really is in (a symbolic link may point to another disk).
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let free = free_bytes(real.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")));
    // A few pages: what opening a WAL database may need to write (its -shm index is 32 KiB).
    const ROOM: u64 = 64 << 10;
    match free {
        Some(free) if free < ROOM => Some(format!("{free} bytes free")),
        _ if error.contains("database or disk is full") => Some("SQLite found no room".to_string()),
        _ => None,
    }
}

#[cfg(unix)]
fn free_bytes(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: a valid C string and a zeroed statvfs for the call to fill.
    (unsafe { libc::statvfs(c.as_ptr(), &mut st) } == 0).then(|| st.f_bavail as u64 * st.f_frsize as u64)
}

#[cfg(not(unix))]
fn free_bytes(_dir: &Path) -> Option<u64> {
    None
}

/// The file Publish gives a SQL instance without a `File` (copy-store out of PostgreSQL names
/// the pool files so too): `sql01.contoso.com\rtc` → `sql01.contoso.com-rtc.db`.
pub fn default_name(identity: &str) -> String {
    let stem: String = identity
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c.to_ascii_lowercase() } else { '-' })
        .collect();
    format!("{stem}.db")
}

/// Create a new, empty pool database file at `path`, belonging to the store `owner`, and return
/// its identity. Never replaces a file: whatever is at `path` must have been moved aside first.
pub fn create(path: &Path, owner: &Owner) -> anyhow::Result<String> {
    if std::fs::symlink_metadata(path).is_ok() {
        anyhow::bail!("{} already exists; pchat never creates a pool database over a file", path.display());
    }
    let conn = Db::open_sqlite(path).with_context(|| format!("cannot create {}", path.display()))?;
    restrict(path);
    conn.configure()?;
    migrate(&conn, schema::sqlite_steps(schema::Database::Pool))
        .with_context(|| format!("cannot create the pool schema in {}", path.display()))?;
    conn.execute("UPDATE pool_file SET store = ?1, store_db = ?2", [&owner.id, &owner.db])?;
    let id = conn.query_row("SELECT id FROM pool_file", (), |r| r.get(0))?;
    Ok(id)
}

/// Owner-only access to a file pchat created (the chat archive is not for other users of the host).
#[cfg(unix)]
fn restrict(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
}

#[cfg(not(unix))]
fn restrict(_path: &Path) {}

/// Move a damaged or stray pool file (and its WAL) aside, keeping it for inspection.
pub fn set_aside(path: &Path) -> anyhow::Result<Option<PathBuf>> {
    if std::fs::symlink_metadata(path).is_err() {
        return Ok(None);
    }
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.6fZ");
    let aside = PathBuf::from(format!("{}.damaged-{stamp}", path.display()));
    std::fs::rename(path, &aside).with_context(|| format!("cannot move {} aside", path.display()))?;
    for suffix in ["-wal", "-shm"] {
        let from = format!("{}{suffix}", path.display());
        if std::fs::symlink_metadata(&from).is_ok() {
            let _ = std::fs::rename(&from, format!("{}{suffix}", aside.display()));
        }
    }
    Ok(Some(aside))
}

/// A pool file a repair rebuilt and moved into place, in a transaction not committed yet: what
/// `undo_swap` needs to put the files back as they were should it not commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swap {
    pub path: PathBuf,
    /// Where the previous file was moved (None: there was none).
    pub aside: Option<PathBuf>,
    /// The rebuilt file's identity: only that file is ever removed.
    pub id: String,
}

/// Put the files of `swap` back as they were: the rebuilt file (a copy of the repair's source,
/// which is untouched) removed, the previous file moved back. Ok: what was done; Err: what is
/// where, for the administrator to finish by hand.
pub fn undo_swap(swap: &Swap) -> Result<String, String> {
    let path = swap.path.display();
    match inspect(&swap.path) {
        Ok(found) if found.id == swap.id => {}
        _ => {
            return Err(format!(
                "{path} is no longer the file the repair built, so it was left alone{}",
                swap.aside
                    .as_ref()
                    .map(|a| format!("; the previous file is kept as {}", a.display()))
                    .unwrap_or_default()
            ));
        }
    }
    for suffix in ["-wal", "-shm", ""] {
        let file = format!("{path}{suffix}");
        if let Err(e) = std::fs::remove_file(&file)
            && e.kind() != std::io::ErrorKind::NotFound
        {
            return Err(format!(
                "the rebuilt {file} cannot be removed ({e}){}",
                swap.aside
                    .as_ref()
                    .map(|a| format!("; the previous file is kept as {}", a.display()))
                    .unwrap_or_default()
            ));
        }
    }
    let Some(aside) = &swap.aside else {
        return Ok(format!("the rebuilt {path} was removed (there was no file before)"));
    };
    for suffix in ["", "-wal", "-shm"] {
        let from = format!("{}{suffix}", aside.display());
        if std::fs::symlink_metadata(&from).is_err() {
            continue;
        }
        if let Err(e) = std::fs::rename(&from, format!("{path}{suffix}")) {
            return Err(format!(
                "the rebuilt {path} was removed, but the previous file {from} cannot be moved back ({e}): move it back by hand (mv {from} {path}{suffix})"
            ));
        }
    }
    Ok(format!(
        "{path} is back as it was (the rebuilt file was removed, the previous one moved back from {})",
        aside.display()
    ))
}

/// `path` as an SQLite URI that opens an existing file read-write and never creates one.
pub fn uri_rw(path: &Path) -> String {
    let mut out = String::from("file:");
    for b in path.to_string_lossy().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out.push_str("?mode=rw");
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn owner() -> Owner {
        Owner { id: "0123456789abcdef0123456789abcdef".into(), db: "/data/pchat.db".into() }
    }

    #[test]
    fn files_are_created_once_with_an_identity_and_never_over_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sql01 é%?.db");
        let id = create(&path, &owner()).unwrap();
        assert_eq!(id.len(), 32);
        let file = PoolFile { id: id.clone(), owner: Some(owner()) };
        assert_eq!(inspect(&path), Ok(file.clone()));
        let other = Owner { id: "f".repeat(32), db: "/data/demo.db".into() };
        assert!(create(&path, &other).is_err());
        assert_eq!(inspect(&path), Ok(file), "a refused create leaves the file alone");
        let conn = Db::open_sqlite_memory().unwrap();
        conn.execute("ATTACH DATABASE ?1 AS p", [uri_rw(&path)]).unwrap();
        let missing = dir.path().join("gone.db");
        assert!(conn.execute("ATTACH DATABASE ?1 AS q", [uri_rw(&missing)]).is_err());
        assert!(!missing.exists(), "attaching never creates a file");
    }

    #[test]
    fn unusable_files_are_reported_and_left_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.db");
        assert!(inspect(&path).unwrap_err().contains("is missing"));
        assert!(!path.exists());
        std::fs::write(&path, b"").unwrap();
        assert!(inspect(&path).unwrap_err().contains("is empty"));
        std::fs::write(&path, b"garbage garbage garbage garbage garbage garbage garbage").unwrap();
        assert!(inspect(&path).unwrap_err().contains("is damaged"), "{:?}", inspect(&path));
        assert_eq!(std::fs::read(&path).unwrap(), b"garbage garbage garbage garbage garbage garbage garbage");
        std::fs::remove_file(&path).unwrap();
        Db::open_sqlite(&path).unwrap().execute_batch("CREATE TABLE x(y)").unwrap();
        assert!(inspect(&path).unwrap_err().contains("not a pool database"));
    }

    #[test]
    fn a_file_names_the_store_that_created_it_and_is_another_stores_to_every_other() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sql01.contoso.com-rtc.db");
        create(&path, &owner()).unwrap();
        let file = inspect(&path).unwrap();
        assert_eq!(file.other_store(Some(&owner().id)), None);
        assert_eq!(file.other_store(Some(&"f".repeat(32))), Some(&owner()));
        assert_eq!(file.other_store(None), Some(&owner()), "a store without an id created no file");
        let why = belongs_to(&path, &owner());
        assert!(
            why.contains("sql01.contoso.com-rtc.db") && why.contains("/data/pchat.db") && why.contains("--db"),
            "{why}"
        );
    }

    /// A file made before files named their store is upgraded on open and names none: no store
    /// may take it for its own.
    #[test]
    fn a_file_from_before_store_ids_names_no_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.db");
        let conn = Db::open_sqlite(&path).unwrap();
        migrate(&conn, schema::released(schema::Database::Pool)).unwrap();
        let id: String = conn.query_row("SELECT id FROM pool_file", (), |r| r.get(0)).unwrap();
        drop(conn);
        let file = inspect(&path).unwrap();
        assert_eq!(file, PoolFile { id, owner: None });
        assert_eq!(file.other_store(None), None);
        assert_eq!(file.other_store(Some(&owner().id)), None);
    }
}
