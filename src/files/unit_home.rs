//! Where an atomic unit keeps its unit file (see journal.rs) and who may finish its files.
//!
//! A SQLite store keeps unit files beside its file, `<store>.unit-<id>`, and every process that
//! opens the store sees them. A PostgreSQL store has no folder, and the processes that open it may
//! run on several machines, each writing files on its own disks: a unit's files can only be
//! finished where they were staged. So on PostgreSQL the unit files live in a local state folder
//! for that store, `<state dir>/pchat/<store id>/units/` (`$XDG_STATE_HOME`, or
//! `~/.local/state`; the local data folder where the system has no state folder, as on macOS),
//! named `<host>.unit-<id>`, and the unit's rows in `atomic_files` name their owner, the host and
//! that folder: only the owner places or removes them (design notes §1, "Atomic units").
//!
//! The folder is keyed by the store's id (`meta` key `store_id`), not by its URL: every spelling
//! of the URL (host name or address, a password or not, options) reaches the same folder, no
//! password can end up in a path, and `pchat copy-store` gives each copy an id of its own.

use std::io;
use std::path::{Path, PathBuf};

/// Where the unit files of one store are on this machine, and who owns its units' rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitHome {
    /// What unit files are named after (`journal::unit_file(base, id)`): the store's file on
    /// SQLite, `<units folder>/<host>` on PostgreSQL.
    pub base: PathBuf,
    /// The owner recorded with the unit's rows (`<host>:<units folder>`); None on SQLite, where
    /// the unit file is beside the store and every process that opens it may finish it.
    pub owner: Option<String>,
}

impl UnitHome {
    /// A SQLite store's: unit files beside `db`.
    pub fn beside(db: &Path) -> UnitHome {
        UnitHome { base: db.to_path_buf(), owner: None }
    }

    /// A PostgreSQL store's, from its id: the folder is not created here (`prepare` does, for a
    /// unit that writes files), so that a command that finds nothing to finish leaves no trace.
    pub fn local(store_id: &str) -> io::Result<UnitHome> {
        let root = state_root().ok_or_else(|| {
            io::Error::other("this system has no state or local data folder for pchat (set XDG_STATE_HOME)")
        })?;
        let valid = !store_id.is_empty()
            && store_id.len() <= 64
            && store_id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !valid {
            // Only pchat writes the id; one edited by hand must not name a path elsewhere.
            return Err(io::Error::other(format!("the store's id {store_id:?} cannot name a folder")));
        }
        let folder = root.join(store_id).join("units");
        let host = host_name();
        let owner = format!("{host}:{}", folder.display());
        Ok(UnitHome { base: folder.join(file_safe(&host)), owner: Some(owner) })
    }

    /// The folder unit files are in.
    pub fn folder(&self) -> &Path {
        self.base.parent().unwrap_or(Path::new("."))
    }

    /// Create the folder (owner-only, as every folder pchat makes) if it is a state folder.
    pub fn prepare(&self) -> io::Result<()> {
        if self.owner.is_some() { super::create_private_dir_all(self.folder()) } else { Ok(()) }
    }
}

/// `<state dir>/pchat`, or `<local data dir>/pchat` where there is no state dir (macOS).
pub fn state_root() -> Option<PathBuf> {
    dirs::state_dir().or_else(dirs::data_local_dir).map(|d| d.join("pchat"))
}

/// This machine's name, as the owner of the units it runs.
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most `len` bytes into the buffer this function owns.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let len = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    match String::from_utf8_lossy(&buf[..len]).trim() {
        name if ok && !name.is_empty() => name.to_string(),
        _ => "localhost".to_string(),
    }
}

/// The host name as a file name: what `journal::scan` can tell apart from the unit id.
fn file_safe(host: &str) -> String {
    host.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_id_names_a_folder_under_the_state_dir_and_nothing_else() {
        let home = UnitHome::local("0123abcd").unwrap();
        assert!(home.folder().ends_with("pchat/0123abcd/units"), "{}", home.folder().display());
        let owner = home.owner.as_deref().unwrap();
        assert!(owner.ends_with(&format!(":{}", home.folder().display())), "{owner}");
        for bad in ["", "../x", "a/b", "x y", &"a".repeat(65)] {
            assert!(UnitHome::local(bad).is_err(), "{bad:?}");
        }
        assert_eq!(file_safe("a.b:c"), "a_b_c");
    }
}
