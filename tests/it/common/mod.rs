//! Test harness: run the built `pchat` against a temporary store and inspect output and state.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

mod backend;
#[cfg(unix)]
mod copies;
#[cfg(unix)]
pub mod damage;
#[cfg(unix)]
pub mod held;
mod instances;
#[cfg(unix)]
pub mod pg;
#[cfg(unix)]
pub mod pg_copy;
#[cfg(unix)]
mod pg_store;
pub mod topology;

pub use backend::{Backend, backend};
pub use instances::INSTANCES;

pub const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `pchat` with the SQL inventory check on: a debug build aborts on a SQL text that
/// src/store/pg/sql_inventory.txt lacks (src/store/db/inventory.rs), so the checked-in inventory
/// is current. `scripts/sql-inventory` records it instead, setting `PCHAT_SQL_INVENTORY` to a file.
pub fn pchat() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pchat"));
    cmd.env("PCHAT_SQL_INVENTORY", sql_inventory());
    static HOMES: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
    private_homes(&mut cmd, HOMES.get_or_init(|| tempfile::tempdir().expect("temp dir")).path());
    cmd
}

/// pchat's local folders (`XDG_STATE_HOME`: the unit files of atomic runs on a PostgreSQL store;
/// `XDG_DATA_HOME`: the REPL's history, the default store) under `root`: never the real home's.
fn private_homes(cmd: &mut Command, root: &Path) {
    cmd.env("XDG_STATE_HOME", root.join("state")).env("XDG_DATA_HOME", root.join("data"));
}

/// What `PCHAT_SQL_INVENTORY` is set to for the `pchat` processes of the suite.
pub fn sql_inventory() -> String {
    std::env::var("PCHAT_SQL_INVENTORY").unwrap_or_else(|_| "check".into())
}

/// A test's store: SQLite files in `dir`, or (`PCHAT_TEST_BACKEND=postgres`) databases of the
/// shared throwaway server, copied from the same SQLite state (`dir` then holds no database and
/// serves as the folder for the test's runbooks and other files).
pub struct Store {
    pub dir: tempfile::TempDir,
    /// The local state and data folders of the store's pchat processes (see `private_homes`):
    /// apart from `dir`, whose listing tests compare.
    homes: tempfile::TempDir,
    #[cfg(unix)]
    pg: Option<pg_store::PgStore>,
    /// A SQLite template's copy on PostgreSQL, made at its first copy: the template of its copies.
    #[cfg(unix)]
    mirror: std::sync::OnceLock<pg_store::PgStore>,
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
    /// A new store without a topology, on the suite's backend (on PostgreSQL a new empty central
    /// database, which pchat migrates when it first opens it).
    pub fn empty() -> Store {
        let s = Store::sqlite();
        #[cfg(unix)]
        if backend() == Backend::Postgres {
            return Store { pg: Some(pg_store::PgStore::empty()), ..s };
        }
        s
    }

    /// A new SQLite store whatever the backend: the templates are built on SQLite, once, and the
    /// tests of `pchat copy-store` copy SQLite stores.
    pub fn sqlite() -> Store {
        Store {
            dir: tempfile::tempdir().expect("temp dir"),
            homes: tempfile::tempdir().expect("temp dir"),
            #[cfg(unix)]
            pg: None,
            #[cfg(unix)]
            mirror: std::sync::OnceLock::new(),
        }
    }

    /// Whether this store is on PostgreSQL.
    pub fn is_postgres(&self) -> bool {
        #[cfg(unix)]
        return self.pg.is_some();
        #[cfg(not(unix))]
        false
    }

    /// A store with the demo topology and directory, without the demo's working set (built once per test binary, then copied: every test gets its own store).
    pub fn demo() -> Store {
        Store::demo_template().copy()
    }

    fn demo_template() -> &'static Store {
        static TEMPLATE: std::sync::OnceLock<Store> = std::sync::OnceLock::new();
        TEMPLATE.get_or_init(|| {
            let s = Store::sqlite();
            let (topology, directory) =
                (format!("{ROOT}/scripts/demo/topology.json"), format!("{ROOT}/scripts/demo/directory.json"));
            s.c(&format!("publish_cs_topology({topology:?}); import_cs_ad_principal({directory:?})")).ok();
            s
        })
    }

    /// The whole demo, as `pchat --demo` loads it: topology, directory and working set (rooms,
    /// policies, messages), through the demo runbook (built once, then copied).
    pub fn demo_full() -> Store {
        static TEMPLATE: std::sync::OnceLock<Store> = std::sync::OnceLock::new();
        TEMPLATE
            .get_or_init(|| {
                let s = Store::sqlite();
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
                let s = Store::demo_template().copy_sqlite();
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

    /// A new store holding this one's data, on the suite's backend: on PostgreSQL, new databases
    /// made with this store's (or, for a SQLite template, its copy's) databases as templates.
    pub fn copy(&self) -> Store {
        #[cfg(unix)]
        if let Some(pg) = &self.pg {
            return Store { pg: Some(pg.clone_databases()), ..Store::sqlite() };
        }
        #[cfg(unix)]
        if backend() == Backend::Postgres {
            let mirror = self.mirror.get_or_init(|| pg_store::PgStore::copied_from(&self.db()));
            return Store { pg: Some(mirror.clone_databases()), ..Store::sqlite() };
        }
        self.copy_sqlite()
    }

    /// A new SQLite store holding this one's database files, whatever the backend.
    pub fn copy_sqlite(&self) -> Store {
        let s = Store::sqlite();
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

    /// A topology JSON as this store's backend takes it: on SQLite `json` itself; on PostgreSQL
    /// each SQL instance's `File` (or the file pchat would derive) replaced by a `Connection` to a
    /// database of the test's own (the same one each time for an instance).
    pub fn topology_text(&self, json: &str) -> String {
        #[cfg(unix)]
        if let Some(pg) = &self.pg {
            let mut v: serde_json::Value =
                serde_json::from_str(json.trim_start_matches('\u{feff}')).expect("topology JSON");
            if let Some(instances) = v.get_mut("SqlInstances").and_then(|i| i.as_array_mut()) {
                for i in instances.iter_mut().filter_map(|i| i.as_object_mut()) {
                    let identity = i.get("Identity").and_then(|x| x.as_str()).unwrap_or_default().to_string();
                    if !i.contains_key("Connection") {
                        i.remove("File");
                        i.insert("Connection".into(), pg.connection_for(&identity).into());
                    }
                }
            }
            return serde_json::to_string_pretty(&v).expect("JSON");
        }
        json.to_string()
    }

    /// The path of a topology file for this store's backend, from the topology file `path`
    /// (see [`Store::topology_text`]; on PostgreSQL a rewritten copy in the store's folder).
    pub fn topology_file(&self, path: &str) -> String {
        if !self.is_postgres() {
            return path.to_string();
        }
        let text = std::fs::read_to_string(path).expect("topology file");
        let name = Path::new(path).file_name().expect("a file name").to_string_lossy().into_owned();
        let copy = self.dir.path().join(format!("pg-{name}"));
        std::fs::write(&copy, self.topology_text(&text)).expect("write the topology");
        copy.to_string_lossy().into_owned()
    }

    /// Runbooks may open files in a SQLite store's folder (it is one of their allowed folders); a
    /// PostgreSQL store has no folder, so on PostgreSQL this allows the test's folder explicitly
    /// (`AllowedFolders`), for tests whose runbooks read and write files there.
    pub fn allow_own_folder(&self) {
        if self.is_postgres() {
            let dir = self.dir.path().to_string_lossy().into_owned();
            self.c(&format!("set_cs_persistent_chat_runbook_configuration(#{{AllowedFolders: #{{Add: {dir:?}}}}})"))
                .ok();
        }
    }

    /// The demo topology (scripts/demo/topology.json) for this store's backend.
    pub fn demo_topology(&self) -> String {
        self.topology_file(&format!("{ROOT}/scripts/demo/topology.json"))
    }

    /// The central SQLite file (on PostgreSQL there is none: see [`Store::location`]).
    pub fn db(&self) -> PathBuf {
        self.dir.path().join("pchat.db")
    }

    /// What `--db` names: the central file, or the central database's URL on PostgreSQL.
    pub fn location(&self) -> std::ffi::OsString {
        #[cfg(unix)]
        if let Some(pg) = &self.pg {
            return pg.central.clone().into();
        }
        self.db().into_os_string()
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = pchat();
        cmd.arg("--db").arg(self.location()).args(args).env_remove("PCHAT_DB").current_dir(ROOT);
        private_homes(&mut cmd, self.homes.path());
        if self.is_postgres() && sql_inventory() == "check" {
            // The inventory lists the store's texts as the SQLite pass runs them, for
            // `store::pg::statements` to prepare on PostgreSQL; a PostgreSQL run adds the port's
            // own (two-phase commit with transaction ids and lock keys spelt in, LOCK TABLE, …),
            // which are not for it. Recording (`scripts/sql-inventory`) stays on.
            cmd.env_remove("PCHAT_SQL_INVENTORY");
        }
        cmd
    }

    /// The `XDG_STATE_HOME` of the store's pchat processes.
    pub fn state_home(&self) -> PathBuf {
        self.homes.path().join("state")
    }

    /// The unit files of atomic runs this store's processes left (docs/atomic-and-plan.md),
    /// complete or half-written, by name: beside the central file on SQLite, in the store's local
    /// state folder on PostgreSQL (`<XDG_STATE_HOME>/pchat/<store id>/units/`).
    pub fn unit_files(&self) -> Vec<String> {
        let named = |dir: &Path, unit: &dyn Fn(&str) -> bool| -> Vec<String> {
            let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
            entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).filter(|n| unit(n)).collect()
        };
        let mut out = if self.is_postgres() {
            let stores = self.state_home().join("pchat");
            let folders = std::fs::read_dir(&stores)
                .map(|e| e.flatten().map(|e| e.path()).collect())
                .unwrap_or_else(|_| Vec::new());
            folders.iter().flat_map(|f: &PathBuf| named(&f.join("units"), &|n: &str| n.contains(".unit-"))).collect()
        } else {
            named(self.dir.path(), &|n: &str| n.starts_with("pchat.db.unit-"))
        };
        out.sort();
        out
    }

    /// Run with standard input closed (never a terminal), as cron does.
    pub fn run(&self, args: &[&str]) -> Run {
        let out = self.command(args).stdin(Stdio::null()).output().expect("pchat runs");
        Run::from(out)
    }

    pub fn c(&self, code: &str) -> Run {
        self.run(&["-c", code])
    }

    /// Run each of `codes` with `-c` in a process of its own, all at once (concurrent sessions).
    pub fn c_at_once(&self, codes: &[String]) -> Vec<Run> {
        let children: Vec<_> = codes
            .iter()
            .map(|code| {
                self.command(&["-c", code])
                    .stdin(Stdio::null())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .expect("spawn")
            })
            .collect();
        children.into_iter().map(|child| Run::from(child.wait_with_output().expect("exit"))).collect()
    }

    pub fn stdin(&self, args: &[&str], input: &str) -> Run {
        let mut child = self
            .command(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("pchat runs");
        // pchat may end before reading it all (a runbook it refuses): a closed pipe is its answer.
        match child.stdin.take().expect("stdin").write_all(input.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => panic!("write stdin: {e}"),
            _ => {}
        }
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

    /// The one integer `sql` answers in the central database (`instance` None) or in the pool
    /// database of the SQL instance `instance`: a file of the store's folder on SQLite, a
    /// database of the server on PostgreSQL. `sql` must mean the same in both dialects.
    pub fn count(&self, instance: Option<&str>, sql: &str) -> i64 {
        #[cfg(unix)]
        if let Some(pg) = &self.pg {
            return pg.count(instance, sql);
        }
        self.sqlite_connection(instance).query_row(sql, [], |r| r.get(0)).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The rows `sql` answers, as [`Store::count`] reads: each row's values as text joined with
    /// `|` (NULL as the empty text), in the order the query gives. For comparing copies with each
    /// other on one backend: a value's spelling may differ between backends (a boolean column).
    pub fn rows(&self, instance: Option<&str>, sql: &str) -> Vec<String> {
        #[cfg(unix)]
        if let Some(pg) = &self.pg {
            return pg.rows(instance, sql);
        }
        let conn = self.sqlite_connection(instance);
        let mut stmt = conn.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            Ok((0..n)
                .map(|i| match r.get_ref(i) {
                    Ok(rusqlite::types::ValueRef::Null) => String::new(),
                    Ok(rusqlite::types::ValueRef::Text(t)) => String::from_utf8_lossy(t).into_owned(),
                    Ok(rusqlite::types::ValueRef::Integer(n)) => n.to_string(),
                    Ok(rusqlite::types::ValueRef::Real(x)) => x.to_string(),
                    Ok(other) => format!("{other:?}"),
                    Err(e) => format!("{e}"),
                })
                .collect::<Vec<_>>()
                .join("|"))
        })
        .and_then(|rows| rows.collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// Runs `sql` as another program would, on the database [`Store::count`] names: the number of
    /// rows it changed.
    pub fn execute(&self, instance: Option<&str>, sql: &str) -> u64 {
        #[cfg(unix)]
        if let Some(pg) = &self.pg {
            return pg.execute(instance, sql);
        }
        self.sqlite_connection(instance).execute(sql, []).unwrap_or_else(|e| panic!("{sql}: {e}")) as u64
    }

    /// The central file (`instance` None) or the pool file of the SQL instance `instance`.
    fn sqlite_connection(&self, instance: Option<&str>) -> rusqlite::Connection {
        let central = rusqlite::Connection::open(self.db()).expect("open the central file");
        match instance {
            None => central,
            Some(identity) => {
                let file: String = central
                    .query_row("SELECT file FROM sql_instances WHERE identity = ?1 COLLATE NOCASE", [identity], |r| {
                        r.get(0)
                    })
                    .expect("the instance's file");
                rusqlite::Connection::open(self.dir.path().join(file)).expect("open the pool file")
            }
        }
    }

    /// A logical dump of every database of the store (central and pool databases): the files'
    /// tables on SQLite, the databases' tables through a connection on PostgreSQL.
    pub fn dump(&self) -> String {
        #[cfg(unix)]
        if let Some(pg) = &self.pg {
            return pg.dump();
        }
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
/// On PostgreSQL the folder holds no database: the databases' dump stands for them.
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
    if s.is_postgres() {
        out.push(("(PostgreSQL databases)".into(), s.dump().into_bytes(), std::time::SystemTime::UNIX_EPOCH));
    }
    out.sort();
    out
}

/// `run` of `code` failed saying pool pc01's serving database is unavailable and how to fail it
/// over, never that the object it names is missing ("no chat room", "no category", "no add-in",
/// NotFound): an identity in an unavailable pool is not an unknown one.
pub fn says_pc01_unavailable_not_missing(code: &str, run: &Run) {
    assert!(run.code > 0, "{code}: {}", run.stderr);
    let said = run.stderr.replace('\\', "");
    assert!(said.contains("serving pool 'pc01.contoso.com' is unavailable"), "{code}: {}", run.stderr);
    assert!(said.contains("PoolState: \"FailedOver\""), "{code}: {}", run.stderr);
    for missing in ["no chat room", "no category", "no add-in", "NotFound"] {
        assert!(!said.contains(missing), "{code}: {}", run.stderr);
    }
}
