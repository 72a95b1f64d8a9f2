use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::rc::Rc;

use super::*;

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

struct Fixture {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = resolve(dir.path()).unwrap();
    std::fs::create_dir(root.join("in")).unwrap();
    std::fs::create_dir(root.join("out")).unwrap();
    std::fs::write(root.join("out/secret"), "s").unwrap();
    Fixture { _dir: dir, root }
}

fn confined(root: &Path) -> Guard {
    let c = Confinement::new(vec![(root.join("in"), "the runbook's folder".into())]);
    Guard::new(Some(Rc::new(c)), &[root.join("in/pchat.db"), root.join("in/pool.db")])
}

#[test]
fn confinement_refuses_paths_leading_outside_by_any_route() {
    let f = fixture();
    let g = confined(&f.root);
    symlink(f.root.join("out"), f.root.join("in/link")).unwrap();
    for path in [
        f.root.join("out/secret"),
        f.root.join("in/../out/secret"),
        f.root.join("in/link/secret"),
        f.root.join("in/link/new.txt"),
        PathBuf::from("/etc/passwd"),
    ] {
        let e = g.read_text(&path, MAX_INPUT_BYTES).unwrap_err();
        assert_eq!(e.kind, ErrorKind::Outside, "{}", path.display());
        assert!(e.message.contains(&path.display().to_string()), "{e}");
        assert!(e.message.contains("AllowedFolders: #{Add:"), "{e}");
        assert!(g.write_bytes(&path, false, b"x").is_err());
        assert!(g.append(&path, false, b"x").is_err());
    }
    assert_eq!(std::fs::read_to_string(f.root.join("out/secret")).unwrap(), "s");
    assert!(!f.root.join("out/new.txt").exists());
    // Inside: written, read back, owner-only.
    let inside = f.root.join("in/sub/../report.html");
    std::fs::create_dir(f.root.join("in/sub")).unwrap();
    assert!(g.write_bytes(&inside, false, b"hello").unwrap());
    assert_eq!(g.read_text(&inside, MAX_INPUT_BYTES).unwrap(), "hello");
    assert_eq!(mode(&f.root.join("in/report.html")), 0o600);
    // Unconfined: anywhere.
    assert_eq!(Guard::unconfined().read_text(&f.root.join("out/secret"), 10).unwrap(), "s");
}

#[test]
fn store_files_are_never_written_under_any_name() {
    let f = fixture();
    let g = confined(&f.root);
    std::fs::write(f.root.join("in/pchat.db"), "db").unwrap();
    symlink(f.root.join("in/pchat.db"), f.root.join("in/alias")).unwrap();
    for name in [
        "pchat.db",
        "pchat.db-wal",
        "pchat.db-shm",
        "pchat.db-journal",
        "pool.db-wal",
        "alias",
        "x/../pchat.db",
        "pchat.db.unit-0a1b",
    ] {
        let path = f.root.join("in").join(name);
        for what_if in [false, true] {
            let e = g.write_bytes(&path, what_if, b"x").unwrap_err();
            assert_eq!(e.kind, ErrorKind::StoreFile, "{name}");
            assert!(e.message.contains(name), "{e}");
            assert!(g.append(&path, what_if, b"x").is_err());
        }
    }
    assert_eq!(std::fs::read_to_string(f.root.join("in/pchat.db")).unwrap(), "db");
    assert!(!f.root.join("in/pchat.db-wal").exists());
    // Similar names are ordinary files.
    assert!(g.write_bytes(&f.root.join("in/pchat.db.bak"), false, b"x").unwrap());
}

#[test]
fn what_if_checks_everything_and_writes_nothing() {
    let f = fixture();
    let g = confined(&f.root);
    let path = f.root.join("in/x.csv");
    assert!(!g.write_bytes(&path, true, b"x").unwrap());
    assert!(!g.append(&path, true, b"x").unwrap());
    assert!(!path.exists());
    assert_eq!(g.write_bytes(&f.root.join("out/x"), true, b"x").unwrap_err().kind, ErrorKind::Outside);
}

#[test]
fn a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file() {
    let f = fixture();
    let g = Guard::unconfined();
    let path = f.root.join("in/report.html");
    std::fs::write(&path, "old").unwrap();
    let r: Result<bool, Error> = g.write(&path, false, |file| {
        std::io::Write::write_all(file, b"partial").unwrap();
        Err(Error::new(ErrorKind::Io, &path, "disk full".into()))
    });
    assert!(r.is_err());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "old");
    assert_eq!(names(&f.root.join("in")), ["report.html"]);
    // Replacing succeeds whole; the result is 0600 even if the old file was not.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(g.write_bytes(&path, false, b"new").unwrap());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new");
    assert_eq!(mode(&path), 0o600);
    assert_eq!(names(&f.root.join("in")), ["report.html"]);
    // Appending keeps what is there.
    assert!(g.append(&path, false, b"+more").unwrap());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "new+more");
    let fresh = f.root.join("in/log.txt");
    assert!(g.append(&fresh, false, b"1").unwrap());
    assert_eq!(mode(&fresh), 0o600);
}

#[test]
fn only_regular_files_of_bounded_size_are_read() {
    let f = fixture();
    let g = Guard::unconfined();
    let fifo = f.root.join("in/fifo");
    let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    for (path, what) in
        [(fifo.clone(), "a FIFO"), (PathBuf::from("/dev/zero"), "a device"), (f.root.join("in"), "a folder")]
    {
        let e = g.read_text(&path, MAX_INPUT_BYTES).unwrap_err();
        assert_eq!(e.kind, ErrorKind::NotRegular, "{e}");
        assert!(e.message.contains(what) && e.message.contains(&path.display().to_string()), "{e}");
        assert!(g.open_input(&path).is_err());
        assert!(g.write_bytes(&path, false, b"x").is_err(), "{} is not replaced", path.display());
    }
    let big = f.root.join("in/big");
    std::fs::write(&big, vec![b'a'; 2 << 20]).unwrap();
    let e = g.read_bytes(&big, 1 << 20).unwrap_err();
    assert_eq!(e.kind, ErrorKind::TooLarge);
    assert!(e.message.contains("1 MiB"), "{e}");
    std::fs::write(&big, [0xff, 0xfe]).unwrap();
    assert!(g.read_text(&big, 10).unwrap_err().message.contains("not UTF-8"));
}

#[test]
fn private_files_and_folders_whatever_the_umask() {
    let f = fixture();
    // SAFETY: umask is process-wide; these tests only create files with explicit modes.
    let old = unsafe { libc::umask(0) };
    let dir = f.root.join("in/a/b");
    create_private_dir_all(&dir).unwrap();
    let db = dir.join("pchat.db");
    create_private_file(&db).unwrap();
    unsafe { libc::umask(old) };
    assert_eq!(mode(&f.root.join("in/a")), 0o700);
    assert_eq!(mode(&dir), 0o700);
    assert_eq!(mode(&db), 0o600);
    // An existing folder keeps its mode.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    create_private_dir_all(&dir).unwrap();
    assert_eq!(mode(&dir), 0o755);
}

/// Staged writes (atomic runs, plans): nothing appears until placed, the run reads its own
/// version, a failed nested block forgets its writes, appends build on the staged content, and
/// the last write of a target wins.
#[test]
fn staged_writes_wait_for_placing_and_are_read_back_by_the_run() {
    let f = fixture();
    let staging = Rc::new(Staging::new());
    let guard = Guard::new(None, &[]).staged(Some(staging.clone()));
    let report = f.root.join("out/report.txt");
    let log = f.root.join("out/log.txt");
    std::fs::write(&log, "old\n").unwrap();
    let before = names(&f.root.join("out"));

    assert!(guard.write_bytes(&report, false, "first".as_bytes()).unwrap());
    assert!(guard.append(&log, false, b"one\n").unwrap());
    assert_eq!(names(&f.root.join("out")), before, "nothing is visible before placing");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "old\n");
    assert_eq!(guard.read_text(&report, 1024).unwrap(), "first");
    assert!(guard.exists(&report) && !report.exists());

    staging.open_block();
    guard.write_bytes(&report, false, "undone".as_bytes()).unwrap();
    guard.append(&log, false, b"undone\n").unwrap();
    guard.append(&log, false, b"undone too\n").unwrap();
    staging.discard_block();
    assert_eq!(guard.read_text(&report, 1024).unwrap(), "first");
    assert_eq!(guard.read_text(&log, 1024).unwrap(), "old\none\n");

    // Appends in one block reuse one staged file, however many there are.
    staging.open_block();
    for i in 0..2000 {
        guard.append(&log, false, format!("{i}\n").as_bytes()).unwrap();
    }
    staging.discard_block();

    guard.append(&log, false, "twö\n".as_bytes()).unwrap();
    guard.write_bytes(&report, false, "second".as_bytes()).unwrap();
    let planned = staging.planned();
    assert_eq!(planned.len(), 2);
    assert_eq!((planned[0].before, planned[0].after), (None, 6));
    assert_eq!((planned[1].before, planned[1].after), (Some(4), 13));

    assert!(staging.place().is_empty());
    assert_eq!(std::fs::read_to_string(&report).unwrap(), "second");
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "old\none\ntwö\n");
    assert_eq!(mode(&report), 0o600);
    assert_eq!(names(&f.root.join("out")), ["log.txt", "report.txt", "secret"], "no temporary file is left");

    // Dropped without placing (a rollback, a plan): nothing is written.
    let staging = Rc::new(Staging::new());
    let guard = Guard::new(None, &[]).staged(Some(staging.clone()));
    guard.write_bytes(&f.root.join("out/never.txt"), false, b"x").unwrap();
    drop(guard);
    drop(staging);
    assert_eq!(names(&f.root.join("out")), ["log.txt", "report.txt", "secret"]);
}

/// Before a unit commits, each file it will place (the last content of each target) gets a name
/// beside its target; placing renames those names; discarding removes them.
#[test]
fn files_named_before_the_commit_are_placed_or_removed() {
    let f = fixture();
    let out = f.root.join("out");
    let staging = Rc::new(Staging::new());
    let guard = Guard::new(None, &[]).staged(Some(staging.clone()));
    let (a, b) = (out.join("a.txt"), out.join("b.txt"));
    guard.write_bytes(&a, false, b"first").unwrap();
    guard.write_bytes(&b, false, b"b").unwrap();
    guard.write_bytes(&a, false, b"last").unwrap();
    let named = staging.name("u1").unwrap();
    assert_eq!(
        named,
        [(out.join(".a.txt.pchat-u1.staged"), a.clone()), (out.join(".b.txt.pchat-u1.staged"), b.clone())]
    );
    assert_eq!(std::fs::read_to_string(&named[0].0).unwrap(), "last");
    assert_eq!(mode(&named[0].0), 0o600);
    assert_eq!(guard.read_text(&a, 1024).unwrap(), "last", "the run still reads its own version");
    assert!(staging.place().is_empty());
    assert_eq!(std::fs::read_to_string(&a).unwrap(), "last");
    assert_eq!(names(&out), ["a.txt", "b.txt", "secret"]);

    let staging = Rc::new(Staging::new());
    let guard = Guard::new(None, &[]).staged(Some(staging.clone()));
    guard.write_bytes(&out.join("c.txt"), false, b"c").unwrap();
    assert_eq!(staging.name("u2").unwrap().len(), 1);
    assert_eq!(names(&out), [".c.txt.pchat-u2.staged", "a.txt", "b.txt", "secret"]);
    staging.discard();
    assert_eq!(names(&out), ["a.txt", "b.txt", "secret"]);

    // A long target name still makes a staged name a file system takes.
    let long = out.join("x".repeat(250));
    let staging = Rc::new(Staging::new());
    Guard::new(None, &[]).staged(Some(staging.clone())).write_bytes(&long, false, b"l").unwrap();
    staging.name("0123456789abcdef0123456789abcdef").unwrap();
    assert!(staging.place().is_empty());
    assert_eq!(std::fs::read_to_string(&long).unwrap(), "l");
}
