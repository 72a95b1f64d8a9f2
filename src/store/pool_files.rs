//! Pool database files. pchat creates one only by an explicit act (Publish-CsTopology for a new
//! SQL instance, Repair-CsPersistentChatDatabase rebuilding a lost copy) and writes a random
//! identity into it; opening never creates, empties or replaces a file. A file that is missing,
//! empty, damaged or not the one the store recorded is left as it is and reported unavailable.

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

/// The identity of the pool database file at `path`, or why it cannot serve as one. An older
/// file format is upgraded here (schema migration on open); nothing else is written.
pub fn inspect(path: &Path) -> Result<String, String> {
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
        conn.query_row("SELECT id FROM pool_file", (), |r| r.get::<String>(0)).optional().map(|id| id.ok_or(None))
    })();
    match opened {
        Ok(Ok(id)) => Ok(id),
        Ok(Err(Some(version))) => {
            Err(newer_schema_error(&format!("the file {shown}"), version, schema::sqlite_steps(schema::Database::Pool)))
        }
        Ok(Err(None)) => Err(format!("the file {shown} is not a pool database (no pchat schema or identity in it)")),
        Err(e) => Err(format!("the file {shown} is damaged ({e})")),
    }
}

/// Create a new, empty pool database file at `path` and return its identity. Never replaces a
/// file: whatever is at `path` must have been moved aside first.
pub fn create(path: &Path) -> anyhow::Result<String> {
    if std::fs::symlink_metadata(path).is_ok() {
        anyhow::bail!("{} already exists; pchat never creates a pool database over a file", path.display());
    }
    let conn = Db::open_sqlite(path).with_context(|| format!("cannot create {}", path.display()))?;
    restrict(path);
    conn.configure()?;
    migrate(&conn, schema::sqlite_steps(schema::Database::Pool))
        .with_context(|| format!("cannot create the pool schema in {}", path.display()))?;
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
mod tests {
    use super::*;

    #[test]
    fn files_are_created_once_with_an_identity_and_never_over_another() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sql01 é%?.db");
        let id = create(&path).unwrap();
        assert_eq!(id.len(), 32);
        assert_eq!(inspect(&path), Ok(id.clone()));
        assert!(create(&path).is_err());
        assert_eq!(inspect(&path), Ok(id), "a refused create leaves the file alone");
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
}
