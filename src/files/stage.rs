//! Files held back until a unit of work commits (`pchat run --atomic`, `atomic(|| ...)`) or
//! never written at all (`pchat run --plan`). A staged write goes to a temporary file in the
//! target's folder exactly as an ordinary write does (on Linux a file without a name, which
//! vanishes by itself if the process dies), and is renamed into place only by `Staging::place`.
//! Until then reads of the target see the staged content, so a later statement of the run sees
//! what an earlier one wrote.

use std::cell::RefCell;
use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::Error;
use super::write::{self, Temp};

struct Staged {
    /// The path as the script gave it (messages).
    shown: PathBuf,
    /// The resolved target.
    target: PathBuf,
    temp: Temp,
    size: u64,
}

/// A file of a committed unit that could not be put in place.
#[derive(Debug)]
pub struct Unplaced {
    pub error: Error,
    /// Where its content stays until the next command places it (None: it could not be kept).
    pub kept: Option<PathBuf>,
}

/// A file a plan would write: its path, its size now (None: it does not exist) and afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedFile {
    pub path: PathBuf,
    pub before: Option<u64>,
    pub after: u64,
}

/// The staged writes of one unit of work, in the order they were made.
///
/// A target written again in the same block reuses its staged file (an append loop keeps one
/// file open, not one per line); a target staged before the innermost open block began gets a
/// new one, so that undoing the block brings the earlier content back.
#[derive(Default)]
pub struct Staging {
    staged: RefCell<Vec<Staged>>,
    /// Where each open nested block began (an index into `staged`).
    blocks: RefCell<Vec<usize>>,
}

impl Staging {
    pub fn new() -> Staging {
        Staging::default()
    }

    /// A nested block begins: what it stages can be undone alone (`discard_block`).
    pub fn open_block(&self) {
        let len = self.staged.borrow().len();
        self.blocks.borrow_mut().push(len);
    }

    /// The innermost block succeeded: its writes join the enclosing unit's.
    pub fn close_block(&self) {
        self.blocks.borrow_mut().pop();
    }

    /// The innermost block failed: forget what it staged.
    pub fn discard_block(&self) {
        if let Some(from) = self.blocks.borrow_mut().pop() {
            self.staged.borrow_mut().truncate(from);
        }
    }

    /// The staged entry of `target` that the innermost block may change in place.
    fn reusable(&self, target: &Path) -> Option<usize> {
        let floor = self.blocks.borrow().last().copied().unwrap_or(0);
        let staged = self.staged.borrow();
        staged.iter().rposition(|s| s.target == target).filter(|&i| i >= floor)
    }

    /// Stage the whole content of `target` (resolved and checked by the caller).
    pub(super) fn write<E: From<Error>>(
        &self,
        shown: &Path,
        target: &Path,
        fill: impl FnOnce(&mut File) -> Result<(), E>,
    ) -> Result<(), E> {
        let temp = write::stage(shown, target, fill)?;
        let size = temp.file.metadata().map(|m| m.len()).map_err(|e| Error::io(shown, "written", e))?;
        let entry = Staged { shown: shown.to_path_buf(), target: target.to_path_buf(), temp, size };
        match self.reusable(target) {
            // The earlier staged file is dropped (and vanishes).
            Some(i) => self.staged.borrow_mut()[i] = entry,
            None => self.staged.borrow_mut().push(entry),
        }
        Ok(())
    }

    /// Stage an append: the target's content as the run sees it (staged, or on disk) followed by
    /// `bytes`, placed as a whole at commit.
    pub(super) fn append(&self, shown: &Path, target: &Path, bytes: &[u8]) -> Result<(), Error> {
        if let Some(i) = self.reusable(target) {
            let mut staged = self.staged.borrow_mut();
            let entry = &mut staged[i];
            let appended = entry.temp.file.seek(SeekFrom::End(0)).and_then(|_| entry.temp.file.write_all(bytes));
            appended.map_err(|e| Error::io(shown, "appended to", e))?;
            entry.size += bytes.len() as u64;
            return Ok(());
        }
        // Non-blocking: a FIFO must not hang the run.
        let mut current = match self.open(target) {
            Some(file) => Some(file.map_err(|e| Error::io(shown, "read", e))?),
            None => match std::fs::OpenOptions::new().read(true).custom_flags(libc::O_NONBLOCK).open(target) {
                Ok(file) => {
                    let meta = file.metadata().map_err(|e| Error::io(shown, "read", e))?;
                    if !meta.is_file() {
                        return Err(super::not_regular(shown, &meta));
                    }
                    Some(file)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
                Err(e) => return Err(Error::io(shown, "read", e)),
            },
        };
        self.write(shown, target, |out: &mut File| -> Result<(), Error> {
            if let Some(file) = current.as_mut() {
                let copied = std::io::copy(file, out);
                copied.map_err(|e| Error::io(shown, "appended to", e))?;
            }
            out.write_all(bytes).map_err(|e| Error::io(shown, "appended to", e))
        })
    }

    /// The staged content of `target`, read from its start, if the run wrote it.
    pub(super) fn open(&self, target: &Path) -> Option<std::io::Result<File>> {
        let staged = self.staged.borrow();
        let last = staged.iter().rev().find(|s| s.target == target)?;
        Some(last.temp.file.try_clone().and_then(|mut f| f.seek(SeekFrom::Start(0)).map(|_| f)))
    }

    /// Each file the unit wrote, once (its last content), in the order first written.
    pub fn planned(&self) -> Vec<PlannedFile> {
        let staged = self.staged.borrow();
        let mut out: Vec<PlannedFile> = Vec::new();
        for s in staged.iter() {
            match out.iter_mut().find(|p| p.path == s.target) {
                Some(p) => p.after = s.size,
                None => out.push(PlannedFile {
                    path: s.target.clone(),
                    before: std::fs::metadata(&s.target).ok().map(|m| m.len()),
                    after: s.size,
                }),
            }
        }
        out
    }

    /// Keep only what `place` would place: the last staged content of each target, in the order
    /// of those last writes. Earlier versions are dropped (and vanish).
    fn keep_last(&self) {
        let staged = std::mem::take(&mut *self.staged.borrow_mut());
        let mut later: Vec<PathBuf> = Vec::new();
        let mut keep = Vec::new();
        for s in staged.into_iter().rev() {
            if !later.contains(&s.target) {
                later.push(s.target.clone());
                keep.push(s);
            }
        }
        keep.reverse();
        *self.staged.borrow_mut() = keep;
    }

    /// Before the unit commits: give every file `place` will place a name in its target's folder,
    /// `.<target name>.pchat-<unit>.staged` (owner-only, synced with its folder), so that a
    /// process killed after the commit leaves them for the next one to put in place. The
    /// (staged name, target) of each, in the order they will be placed. A failure leaves the
    /// files named so far to be removed by `discard` (or when the staging is dropped).
    pub fn name(&self, unit: &str) -> Result<Vec<(PathBuf, PathBuf)>, Error> {
        self.keep_last();
        let mut staged = self.staged.borrow_mut();
        let mut out = Vec::with_capacity(staged.len());
        for s in staged.iter_mut() {
            let (dir, name) = staged_path(&s.target, unit);
            write::name_staged(&mut s.temp, &dir, &name).map_err(|e| Error::io(&s.shown, "written", e))?;
            out.push((name, s.target.clone()));
        }
        Ok(out)
    }

    /// Forget every staged file (the unit did not commit): named ones are removed.
    pub fn discard(&self) {
        self.blocks.borrow_mut().clear();
        drop(std::mem::take(&mut *self.staged.borrow_mut()));
    }

    /// Move every staged file into place (the unit committed): the last content of each target.
    /// Every file is attempted; the ones that could not be placed are returned with the reason
    /// and where their content stays (its staged name: it is committed, and the next command
    /// places it). The fault point `atomic:file-placed` follows each rename.
    pub fn place(&self) -> Vec<Unplaced> {
        self.place_marking("atomic:file-placed")
    }

    /// `place` for the files of one cmdlet call, placed just before its own transaction commits
    /// (engine/invoke.rs); the fault point `file-placed` follows each rename.
    pub fn place_call(&self) -> Vec<Unplaced> {
        self.place_marking("file-placed")
    }

    fn place_marking(&self, step: &str) -> Vec<Unplaced> {
        self.keep_last();
        let keep = std::mem::take(&mut *self.staged.borrow_mut());
        let mut failed = Vec::new();
        for s in keep {
            // Appends made in place since the file was staged reach the disk first (in `place_committed`).
            if let Err((error, kept)) = write::place_committed(&s.shown, s.temp, &s.target) {
                failed.push(Unplaced { error, kept });
            }
            crate::fault::point(step);
        }
        failed
    }

    /// The names `name` will give the staged files, without giving them: the unit file lists them
    /// before any exists, so that no staged file is ever on disk without a unit file naming it.
    pub fn names(&self, unit: &str) -> Vec<PathBuf> {
        self.keep_last();
        let staged = self.staged.borrow();
        staged.iter().map(|s| staged_path(&s.target, unit).1).collect()
    }
}

/// The folder of `target` and the staged name of its file there for `unit` (see `staged_name`).
fn staged_path(target: &Path, unit: &str) -> (PathBuf, PathBuf) {
    let dir = target.parent().unwrap_or(Path::new("/")).to_path_buf();
    let name = dir.join(staged_name(target, unit));
    (dir, name)
}

/// The longest part of a target's name kept in its staged name (a file name has at most 255 bytes).
const STAGED_BASE_MAX: usize = 160;

/// `.<target name>.pchat-<unit>.staged`: hidden, beside the target, and naming its unit.
pub(super) fn staged_name(target: &Path, unit: &str) -> std::ffi::OsString {
    use std::os::unix::ffi::{OsStrExt, OsStringExt};
    let base = target.file_name().map(|n| n.as_bytes()).unwrap_or_default();
    let mut name = b".".to_vec();
    name.extend_from_slice(&base[..base.len().min(STAGED_BASE_MAX)]);
    name.extend_from_slice(format!(".pchat-{unit}.staged").as_bytes());
    std::ffi::OsString::from_vec(name)
}
