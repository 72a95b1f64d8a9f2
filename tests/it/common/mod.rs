//! Test harness: run the built `pchat` against a temporary store and inspect output and state.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

#[cfg(unix)]
pub mod pg;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `pchat` with the SQL inventory check on: a debug build aborts on a SQL text that
/// src/store/pg/sql_inventory.txt lacks (src/store/db/inventory.rs), so the checked-in inventory
/// is current. `scripts/sql-inventory` records it instead, setting `PCHAT_SQL_INVENTORY` to a file.
pub fn pchat() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pchat"));
    cmd.env("PCHAT_SQL_INVENTORY", sql_inventory());
    cmd
}

/// What `PCHAT_SQL_INVENTORY` is set to for the `pchat` processes of the suite.
pub fn sql_inventory() -> String {
    std::env::var("PCHAT_SQL_INVENTORY").unwrap_or_else(|_| "check".into())
}

pub struct Store {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "expected success\nstdout:\n{}\nstderr:\n{}", self.stdout, self.stderr);
        self
    }
}

impl Store {
    pub fn empty() -> Store {
        Store { dir: tempfile::tempdir().expect("temp dir") }
    }

    /// A store with the demo topology and directory, without the demo's working set (built once per test binary, then copied: every test gets its own store).
    pub fn demo() -> Store {
        static TEMPLATE: std::sync::OnceLock<Store> = std::sync::OnceLock::new();
        TEMPLATE
            .get_or_init(|| {
                let s = Store::empty();
                let (topology, directory) =
                    (format!("{ROOT}/scripts/demo/topology.json"), format!("{ROOT}/scripts/demo/directory.json"));
                s.c(&format!("publish_cs_topology({topology:?}); import_cs_ad_principal({directory:?})")).ok();
                s
            })
            .copy()
    }

    /// The whole demo, as `pchat --demo` loads it: topology, directory and working set (rooms,
    /// policies, messages), through the demo runbook (built once, then copied).
    pub fn demo_full() -> Store {
        static TEMPLATE: std::sync::OnceLock<Store> = std::sync::OnceLock::new();
        TEMPLATE
            .get_or_init(|| {
                let s = Store::empty();
                s.run(&["run", &format!("{ROOT}/scripts/demo/setup.rhai")]).ok();
                s
            })
            .copy()
    }

    /// The demo store plus every fixture of tests/fixtures/: the state the catalog's and the
    /// reference's examples expect (built once, then copied).
    pub fn examples() -> Store {
        static TEMPLATE: std::sync::OnceLock<Store> = std::sync::OnceLock::new();
        TEMPLATE
            .get_or_init(|| {
                let s = Store::demo();
                let mut fixtures: Vec<PathBuf> = std::fs::read_dir(Path::new(ROOT).join("tests/fixtures"))
                    .expect("fixtures")
                    .flatten()
                    .map(|e| e.path())
                    .collect();
                fixtures.sort();
                for f in fixtures {
                    s.run(&["--yes", "run", &f.to_string_lossy()]).ok();
                }
                s
            })
            .copy()
    }

    /// A new store holding this one's database files.
    pub fn copy(&self) -> Store {
        let s = Store::empty();
        for entry in std::fs::read_dir(self.dir.path()).expect("store dir").flatten() {
            if entry.file_name().to_string_lossy().ends_with(".db") {
                std::fs::copy(entry.path(), s.dir.path().join(entry.file_name())).expect("copy store");
            }
        }
        s
    }

    /// Run with `cwd` as the working directory (examples may write files such as pchat.zip).
    pub fn run_in(&self, cwd: &Path, args: &[&str]) -> Run {
        Run::from(self.command(args).current_dir(cwd).stdin(Stdio::null()).output().expect("pchat runs"))
    }

    pub fn db(&self) -> PathBuf {
        self.dir.path().join("pchat.db")
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = pchat();
        cmd.arg("--db").arg(self.db()).args(args).env_remove("PCHAT_DB").current_dir(ROOT);
        cmd
    }

    /// Run with standard input closed (never a terminal), as cron does.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).stdin(Stdio::null()).output().expect("pchat runs");
        Run::from(out)
    }

    pub fn c(&self, code: &str) -> Run {
        self.run(&["-c", code])
    }

    pub fn stdin(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pchat runs");
        child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write stdin");
        Run::from(child.wait_with_output().expect("pchat exits"))
    }

    /// Write a runbook into the store's folder and run it.
    pub fn runbook(&self, name: &str, code: &str, extra: &[&str]) -> Run {
        let path = self.dir.path().join(name);
        std::fs::write(&path, code).expect("write runbook");
        let path = path.to_string_lossy().into_owned();
        let mut args = vec!["run", path.as_str()];
        args.extend_from_slice(extra);
        self.run(&args)
    }

    /// A logical dump of every database file of the store (central and pool databases).
    pub fn dump(&self) -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(self.dir.path())
            .expect("store dir")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "db"))
            .collect();
        files.sort();
        files.iter().map(|f| dump_file(f)).collect::<Vec<_>>().join("\n")
    }
}

fn dump_file(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).expect("open db");
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .expect("tables");
    let mut out = format!("== {}\n", path.file_name().unwrap_or_default().to_string_lossy());
    for t in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{t}\" ORDER BY 1")).expect("select");
        let n = stmt.column_count();
        let rows = stmt
            .query_map([], |r| {
                Ok((0..n)
                    .map(|i| format!("{:?}", r.get_ref(i).map(|v| format!("{v:?}")).unwrap_or_default()))
                    .collect::<Vec<_>>()
                    .join("|"))
            })
            .expect("rows");
        for row in rows {
            out.push_str(&format!("{t}: {}\n", row.expect("row")));
        }
    }
    out
}

/// The error line of a failed run: exactly one line on stderr that names the cmdlet and id.
pub fn single_error_line(run: &Run) -> String {
    let lines: Vec<&str> = run.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "expected one error line, got:\n{}", run.stderr);
    lines[0].to_string()
}

/// A failing call: the one error line names the cmdlet and the identifier, and the store is unchanged.
pub fn fails_unchanged(s: &Store, code: &str, cmdlet: &str, id: &str) -> String {
    let before = s.dump();
    let run = s.c(code);
    assert_ne!(run.code, 0, "{code} should fail\n{}", run.stdout);
    let line = single_error_line(&run);
    assert!(line.starts_with(&format!("{cmdlet}: {id}: ")), "{code}\n got: {line}\nwant: {cmdlet}: {id}");
    assert_eq!(s.dump(), before, "{code} changed the store");
    line
}

/// Bytes and modification time of every file in the store's folder except SQLite's shared-memory
/// index (`-shm`), which readers update as a matter of course: a read must leave the rest as it was.
pub fn file_states(s: &Store) -> Vec<(String, Vec<u8>, std::time::SystemTime)> {
    let mut out: Vec<_> = std::fs::read_dir(s.dir.path())
        .expect("store dir")
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().ends_with("-shm"))
        .map(|e| {
            let modified = e.metadata().and_then(|m| m.modified()).expect("mtime");
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap_or_default(), modified)
        })
        .collect();
    out.sort();
    out
}
