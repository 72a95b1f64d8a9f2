//! Every file the PowerShell front end reads or writes goes through here (Out-File, Set-Content,
//! Add-Content, Export-Csv, Get-Content, Import-Csv, Test-Path), so the rules for runbook files
//! live in one place. Writes replace a file atomically (a temporary beside it, then a rename)
//! and never touch the store's own files; appends add to the end of the file.

use std::io::Write;
use std::path::Path;

/// Files the front end must never write: the store and its journals.
fn is_store_file(path: &Path) -> bool {
    let name = path.file_name().map(|n| n.to_string_lossy().to_ascii_lowercase()).unwrap_or_default();
    [".db", ".db-wal", ".db-shm", ".db-journal", ".sqlite"].iter().any(|x| name.ends_with(x))
}

fn next_temp() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// Reads above this size are refused (a runbook's CSV or list is far smaller).
const MAX_READ: u64 = 256 << 20;

/// `.\\report.csv` as scripts written on Windows name a file beside them.
pub fn local(path: &str) -> String {
    if path.starts_with(".\\") || path.starts_with("..\\") { path.replace('\\', "/") } else { path.to_string() }
}

pub fn read_text(path: &str, command: &str) -> Result<String, String> {
    let path = &local(path);
    let meta = std::fs::metadata(path).map_err(|e| format!("{command}: cannot read '{path}': {e}"))?;
    if !meta.is_file() {
        return Err(format!("{command}: '{path}' is not a file"));
    }
    if meta.len() > MAX_READ {
        return Err(format!("{command}: '{path}' is larger than {} MB", MAX_READ >> 20));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{command}: cannot read '{path}': {e}"))?;
    // PowerShell writes UTF-8 with a byte-order mark, or UTF-16 (Windows PowerShell's default).
    if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
        return String::from_utf8(rest.to_vec()).map_err(|_| format!("{command}: '{path}' is not valid UTF-8"));
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        let units: Vec<u16> = rest.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        return String::from_utf16(&units).map_err(|_| format!("{command}: '{path}' is not valid UTF-16"));
    }
    String::from_utf8(bytes).map_err(|_| format!("{command}: '{path}' is not valid UTF-8"))
}

pub fn exists(path: &str, kind: Option<&str>) -> bool {
    let path = local(path);
    let p = Path::new(&path);
    match kind.map(str::to_ascii_lowercase).as_deref() {
        Some("leaf") => p.is_file(),
        Some("container") => p.is_dir(),
        _ => p.exists(),
    }
}

/// Write `text` to `path`, replacing it, or appending to it when `append`.
pub fn write_text(path: &str, text: &str, append: bool, command: &str) -> Result<(), String> {
    let path = &local(path);
    let p = Path::new(path);
    if is_store_file(p) {
        return Err(format!("{command}: '{path}' looks like a store file; pchat does not overwrite those"));
    }
    if p.is_dir() {
        return Err(format!("{command}: '{path}' is a folder"));
    }
    let fail = |e: std::io::Error| format!("{command}: cannot write '{path}': {e}");
    if append {
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(p).map_err(fail)?;
        return f.write_all(text.as_bytes()).map_err(fail);
    }
    let dir = p.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.{}.tmp", std::process::id(), next_temp()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    let renamed = written.and_then(|_| std::fs::rename(&tmp, p));
    if let Err(e) = renamed {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_appends_add_and_store_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("r.txt");
        let f = f.to_string_lossy();
        write_text(&f, "a\n", false, "Out-File").unwrap();
        write_text(&f, "b\n", true, "Out-File").unwrap();
        assert_eq!(read_text(&f, "Get-Content").unwrap(), "a\nb\n");
        write_text(&f, "c\n", false, "Out-File").unwrap();
        assert_eq!(read_text(&f, "Get-Content").unwrap(), "c\n");
        let db = dir.path().join("pchat.db");
        assert!(write_text(&db.to_string_lossy(), "x", false, "Set-Content").unwrap_err().contains("store file"));
        assert!(read_text(&dir.path().to_string_lossy(), "Get-Content").unwrap_err().contains("not a file"));
    }
}
