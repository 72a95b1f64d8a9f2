//! `pchat copy-store` (docs/command-line.md): a SQLite store copied into PostgreSQL through the
//! built binary. Tests that copy need the throwaway server (common::pg); those that are refused
//! before any server is reached run without one.

use std::path::Path;
use std::process::Stdio;
use std::sync::OnceLock;

use crate::common::pg::{Server, connect, database_name};
use crate::common::pg_copy::{copy_into_postgres, copy_store_command};
use crate::common::{self, INSTANCES, Run, Store};

/// A room with a non-ASCII name and description, made in the source before it is copied.
const ROOM: &str = "Zürich 会議 ✓";
const DESCRIPTION: &str = "Ünïcödé — ελληνικά";

/// The demo store as `pchat --demo --db <tmp>` makes it, plus [`ROOM`] (made once, then copied:
/// every test gets its own store, at `pchat.db` of its folder).
pub(crate) fn demo() -> Store {
    static TEMPLATE: OnceLock<Store> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let s = Store::sqlite();
            let code = format!(
                "new_cs_persistent_chat_room(#{{Name: {ROOM:?}, Description: {DESCRIPTION:?}, PersistentChatPoolFqdn: \"pc01.contoso.com\", Category: \"Projects\"}}); 1"
            );
            s.run(&["--demo", "-c", &code]).ok();
            s
        })
        .copy_sqlite()
}

/// `pchat copy-store ARGS` (no `--db`; see [`copy_store_command`]).
pub(crate) fn copy_store(args: &[&str]) -> Run {
    Run::from(copy_store_command(&[&["copy-store"], args].concat()).output().expect("pchat runs"))
}

/// `--pool` flags for every instance of the demo, new databases named after `tag`.
pub(crate) fn pool_flags(server: &Server, tag: &str) -> Vec<String> {
    INSTANCES
        .iter()
        .enumerate()
        .map(|(i, n)| format!("--pool={n}={}", server.missing_database(&format!("{tag}_p{i}"))))
        .collect()
}

pub(crate) fn args<'a>(from: &'a str, to: &'a str, pools: &'a [String]) -> Vec<&'a str> {
    let mut out = vec!["--from", from, "--to", to];
    out.extend(pools.iter().map(String::as_str));
    out
}

/// The rows of `table` in the SQLite file at `path`, counted independently of pchat. (Opened
/// read-write, only read: closing the last connection removes the WAL file, as pchat's does.)
fn sqlite_count(path: &Path, table: &str) -> u64 {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get::<_, i64>(0)).unwrap() as u64
}

/// The pool file of each SQL instance of the store at `central`, as its topology names it.
pub(crate) fn pool_files(central: &Path) -> Vec<(String, std::path::PathBuf)> {
    let conn = rusqlite::Connection::open(central).unwrap();
    let mut stmt = conn.prepare("SELECT identity, file FROM sql_instances ORDER BY identity").unwrap();
    stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, central.parent().unwrap().join(r.get::<_, String>(1)?))))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The `Rows` of `table` in the JSON report's database `role`/`instance`.
fn reported(json: &serde_json::Value, instance: Option<&str>, table: &str) -> u64 {
    let db = json
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["SqlInstance"].as_str() == instance)
        .unwrap_or_else(|| panic!("no database of {instance:?} in {json}"));
    db["Tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["Table"] == table)
        .unwrap_or_else(|| panic!("no table {table} in {db}"))["Rows"]
        .as_u64()
        .unwrap()
}

/// The demo store copied: exit 0, every database's tables reported with the counts the source
/// files hold (counted here with rusqlite), the non-ASCII room arrived as it was, the source is
/// unchanged, and `--verify-only` agrees afterwards (as a table without `--json`).
#[test]
fn the_demo_store_is_copied_with_counts_matching_the_source() {
    let Some(server) = Server::shared("the_demo_store_is_copied_with_counts_matching_the_source") else { return };
    let s = demo();
    let from = s.db().to_string_lossy().into_owned();
    let central = server.missing_database("copied_central");
    let pools = pool_flags(server, "copied");
    let before = common::file_states(&s);
    // `--json` is global: it may come before the command or, as here, among its options.
    let run = common::Run::from(
        copy_store_command(&[&["--json", "copy-store"], &args(&from, &central, &pools)[..]].concat()).output().unwrap(),
    )
    .ok();
    assert_unchanged(&before, &common::file_states(&s), "copy-store");
    let json: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    assert_eq!(json.as_array().unwrap().len(), 1 + INSTANCES.len(), "{json}");
    for table in ["principals", "audit", "sql_instances", "policies"] {
        assert_eq!(reported(&json, None, table), sqlite_count(&s.db(), table), "central {table}");
    }
    let files = pool_files(&s.db());
    assert_eq!(files.len(), INSTANCES.len());
    for (instance, file) in &files {
        for table in ["rooms", "messages", "categories"] {
            assert_eq!(reported(&json, Some(instance), table), sqlite_count(file, table), "{instance} {table}");
        }
    }
    assert!(reported(&json, Some(INSTANCES[0]), "messages") > 0);
    // The passwordless URLs are reported as given; every table has a checksum.
    for db in json.as_array().unwrap() {
        for t in db["Tables"].as_array().unwrap() {
            assert_eq!(t["Checksum"].as_str().unwrap().len(), 32, "{t}");
        }
    }
    // The non-ASCII room, in the pool database of pc01's SQL instance.
    let pool = pools[0].split_once(&format!("{}=", INSTANCES[0])).unwrap().1;
    let row = connect(pool).query_one("SELECT name, description FROM rooms WHERE name = $1", &[&ROOM]).unwrap();
    assert_eq!((row.get::<_, String>(0), row.get::<_, String>(1)), (ROOM.to_string(), DESCRIPTION.to_string()));
    let principals: i64 = connect(&central).query_one("SELECT count(*) FROM principals", &[]).unwrap().get(0);
    assert_eq!(principals as u64, sqlite_count(&s.db(), "principals"));

    // Verified again, as tables (one per database, the central one first).
    let verified = copy_store(&[&["--verify-only"], &args(&from, &central, &pools)[..]].concat()).ok();
    let out = &verified.stdout;
    let heading = |h: &str| out.find(h).unwrap_or_else(|| panic!("no {h:?} in\n{out}"));
    assert!(heading("Central database: ") < heading("Pool database of sql01.contoso.com\\rtc: "), "{out}");
    heading("Pool database of sql03.contoso.com\\rtc: ");
    assert!(out.contains("Table") && out.contains("Rows") && out.contains("Checksum"), "{out}");
    let principals_line = out.lines().find(|l| l.split_whitespace().next() == Some("principals")).unwrap();
    assert_eq!(principals_line.split_whitespace().nth(1), Some(principals.to_string().as_str()), "{out}");
    assert_unchanged(&before, &common::file_states(&s), "verify-only");
}

/// A SQL instance without `--pool`: exit 2 before anything is created, every instance listed
/// with a ready-to-edit example of the flags; an instance the topology lacks: exit 2 with the
/// closest name. Passwords are never shown.
#[test]
fn missing_or_unknown_pool_targets_are_refused_before_anything_is_created() {
    let Some(server) = Server::shared("missing_or_unknown_pool_targets_are_refused_before_anything_is_created") else {
        return;
    };
    let s = demo();
    let from = s.db().to_string_lossy().into_owned();
    let tag = format!("unnamed_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let central = server.url_of(&format!("pchat_{tag}_central")).replacen("://pchat@", "://pchat:s3cret@", 1);
    let one = [format!("--pool={}={}", INSTANCES[1], server.url_of(&format!("pchat_{tag}_given")))];
    let run = copy_store(&args(&from, &central, &one));
    assert_eq!(run.code, 2, "{}", run.stderr);
    let err = &run.stderr;
    assert!(err.contains("2 of 3 have none"), "{err}");
    assert!(
        err.contains(&format!("{}: missing", INSTANCES[0])) && err.contains(&format!("{}: missing", INSTANCES[2])),
        "{err}"
    );
    assert!(err.contains(&format!("{}: --pool postgres://", INSTANCES[1])), "{err}");
    // The example: the given target kept, the others suggested from --to's database name.
    assert!(err.contains(&format!("--pool '{}=postgres://pchat:***@", INSTANCES[0])), "{err}");
    assert!(err.contains(&format!("/pchat_{tag}_central_sql01_contoso_com_rtc'")), "{err}");
    assert!(err.contains(&format!("/pchat_{tag}_given'")), "{err}");
    // The example puts every database on --to's server: it says to put each pool's copies on two.
    assert!(err.contains("put each pool's primary and backup databases on two servers"), "{err}");
    assert!(
        err.contains("pc01.contoso.com: sql01.contoso.com\\rtc (primary) and sql02.contoso.com\\rtc (backup)"),
        "{err}"
    );
    assert!(!err.contains("s3cret"), "a password was shown: {err}");
    assert!(server.databases_named(&format!("pchat_{tag}")).is_empty(), "a refused copy created a database");

    let unknown = [format!("--pool=sql04.contoso.com\\rtc={}", server.url_of(&format!("pchat_{tag}_x")))];
    let run = copy_store(&args(&from, &central, &unknown));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("has no SQL instance sql04.contoso.com\\rtc; did you mean sql0"), "{}", run.stderr);
    assert!(server.databases_named(&format!("pchat_{tag}")).is_empty());

    // Without --from, the store of --db.
    let run = Run::from(copy_store_command(&["--db", &from, "copy-store", "--to", &central]).output().unwrap());
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("3 of 3 have none"), "{}", run.stderr);
}

/// A target that holds rows is refused (exit 1) and left as it was; the other targets of the
/// call are not created.
#[test]
fn a_non_empty_target_is_refused_and_left_unchanged() {
    let Some(server) = Server::shared("copy_store: a_non_empty_target_is_refused_and_left_unchanged") else { return };
    let s = demo();
    let from = s.db().to_string_lossy().into_owned();
    let central = server.missing_database("full_central");
    let pools = pool_flags(server, "full");
    copy_store(&args(&from, &central, &pools)).ok();
    let count = || connect(&central).query_one("SELECT count(*) FROM principals", &[]).unwrap().get::<_, i64>(0);
    let before = count();
    // A new room in the source, then the same central target with new pool targets.
    s.c("new_cs_persistent_chat_room(#{Name: \"After\", PersistentChatPoolFqdn: \"pc01.contoso.com\", Category: \"Projects\"})").ok();
    let fresh = pool_flags(server, "full_again");
    let run = copy_store(&args(&from, &central, &fresh));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("is not empty (the table") && run.stderr.contains("nothing was copied"),
        "{}",
        run.stderr
    );
    assert_eq!(count(), before);
    for flag in &fresh {
        let name = database_name(flag);
        assert!(server.databases_named(&name).is_empty(), "a refused copy created {name}");
    }
    // The copy still verifies against what it was copied from... which has changed since:
    // verification names the table that differs and exits 1.
    let run = copy_store(&[&["--verify-only"], &args(&from, &central, &pools)[..]].concat());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("verification failed for the table"), "{}", run.stderr);
}

/// Refusals before any server is reached: a `--from` that does not exist (no file made), a
/// PostgreSQL `--from` (copying out is not built), a `--to` that is not a PostgreSQL connection
/// string, a source of an older schema (never upgraded by a copy), and an unreachable server
/// (exit 1, its password not shown).
#[test]
fn sources_and_targets_copy_store_cannot_use_are_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere").join("store.db");
    let missing = missing.to_string_lossy();
    let run = copy_store(&["--from", &missing, "--to", "postgres://pchat@127.0.0.1:1/x"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("there is no store at") && run.stderr.contains("creates none"), "{}", run.stderr);
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "a missing --from made a file or folder");

    // Out of PostgreSQL: into a SQLite file only, without --pool.
    let run = copy_store(&["--from", "postgres://pchat:s3cret@db1/chat", "--to", "postgres://pchat@127.0.0.1:1/x"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("are both PostgreSQL") && run.stderr.contains("new SQLite store file"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    let new = dir.path().join("new.db");
    let new = new.to_string_lossy();
    let run = copy_store(&["--from", "postgres://pchat:s3cret@db1/chat", "--to", &new, "--pool", "a=postgres://db1/p"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("pool files are made beside --to"), "{}", run.stderr);
    // The source unreachable: a terminating error, no password shown, nothing made.
    let run = copy_store(&["--from", "postgres://pchat:s3cret@127.0.0.1:1/c", "--to", &new]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot open the source postgres://pchat:***@127.0.0.1:1/c"), "{}", run.stderr);
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none(), "a refused copy made a file or folder");

    let s = demo();
    let from = s.db().to_string_lossy().into_owned();
    for (to, words) in [
        ("backup.db", "or a PostgreSQL store into a new SQLite file"),
        ("postgres://pchat@db1:notaport/x", "is not a PostgreSQL connection string"),
        ("postgres://pchat@db1", "names no database"),
    ] {
        let run = copy_store(&["--from", &from, "--to", to]);
        assert_eq!(run.code, 2, "{to}: {}", run.stderr);
        assert!(run.stderr.contains(words), "{to}: {}", run.stderr);
    }
    let run = copy_store(&["--from", &from, "--to", "postgres://pchat@127.0.0.1:1/x", "--pool", "no-equals-sign"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("expected INSTANCE=URL"), "{}", run.stderr);
    let run = copy_store(&["--from", &from]);
    assert_eq!(run.code, 2, "{}", run.stderr);

    // Every target given, the server unreachable: a terminating error, no password shown.
    let pools: Vec<String> = INSTANCES
        .iter()
        .enumerate()
        .map(|(i, n)| format!("--pool={n}=postgres://pchat:s3cret@127.0.0.1:1/p{i}"))
        .collect();
    let before = common::file_states(&s);
    let run = copy_store(&args(&from, "postgres://pchat:s3cret@127.0.0.1:1/c", &pools));
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot open the target postgres://pchat:***@127.0.0.1:1/"), "{}", run.stderr);
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);
    assert_unchanged(&before, &common::file_states(&s), "unreachable server");

    // A source an older pchat wrote would be upgraded by opening it: refused, left as it was.
    // What opening writes: the central schema steps, the audit chain's seal of older records, a
    // pool file's recorded identity, a pool file's schema steps.
    let cases: [(bool, &str, &str); 4] = [
        (false, "PRAGMA user_version = 3", "was written by an older pchat (schema version 3"),
        (
            false,
            "UPDATE audit SET hash = NULL WHERE id = (SELECT max(id) FROM audit)",
            "audit records from before the audit chain",
        ),
        (false, "UPDATE sql_instances SET file_id = NULL", "has not recorded the identity of the pool file of"),
        (true, "PRAGMA user_version = 2", "was written by an older pchat (schema version 2"),
    ];
    for (pool, sql, words) in cases {
        let old = demo();
        let file = if pool { pool_files(&old.db()).remove(0).1 } else { old.db() };
        rusqlite::Connection::open(&file).unwrap().execute_batch(sql).unwrap();
        let before = common::file_states(&old);
        let from = old.db().to_string_lossy().into_owned();
        let run = copy_store(&args(&from, "postgres://pchat@127.0.0.1:1/c", &pools));
        assert_eq!(run.code, 1, "{sql}: {}", run.stderr);
        assert!(
            run.stderr.contains(words) && run.stderr.contains("copy-store never writes to the store it copies"),
            "{sql}: {}",
            run.stderr
        );
        assert_unchanged(&before, &common::file_states(&old), sql);
    }
}

/// The files `after` differs from `before` in, named (their bytes are too long to show).
fn assert_unchanged(
    before: &[(String, Vec<u8>, std::time::SystemTime)],
    after: &[(String, Vec<u8>, std::time::SystemTime)],
    what: &str,
) {
    let names = |v: &[(String, Vec<u8>, std::time::SystemTime)]| v.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(before), names(after), "{what}: files made or removed");
    for (b, a) in before.iter().zip(after) {
        assert!(b.1 == a.1, "{what}: {} changed ({} bytes, {} before)", b.0, a.1.len(), b.1.len());
        assert_eq!(b.2, a.2, "{what}: {} was written", b.0);
    }
}

/// Options of scripts that copy-store does not take are usage errors.
#[test]
fn copy_store_takes_no_script_options() {
    for extra in [&["-c", "1"][..], &["--what-if"], &["--demo"]] {
        let run = Run::from(
            common::pchat()
                .args(extra)
                .args(["copy-store", "--from", "x.db", "--to", "postgres://h/x"])
                .env_remove("PCHAT_DB")
                .stdin(Stdio::null())
                .output()
                .unwrap(),
        );
        assert_eq!(run.code, 2, "{extra:?}: {}", run.stderr);
        assert!(run.stderr.contains("copy-store does not take"), "{extra:?}: {}", run.stderr);
    }
}

/// Control characters and non-ASCII text in a message body (COPY's text format escapes tab,
/// newline, carriage return, backslash and its NULL marker `\N`).
const BODY: &str = "tab\tline\nback\\slash\r\\N Grüße 🙂";

/// The demo store (with [`ROOM`] and a message whose body is [`BODY`]) copied into PostgreSQL
/// databases named after `tag`: the SQLite store, the central URL, and the forward copy's JSON.
pub(crate) fn on_postgres(server: &Server, tag: &str) -> (Store, String, serde_json::Value) {
    let s = demo();
    let first = pool_files(&s.db()).remove(0).1;
    let changed = rusqlite::Connection::open(&first)
        .unwrap()
        .execute("UPDATE messages SET text = ?1 WHERE id = (SELECT max(id) FROM messages)", [BODY])
        .unwrap();
    assert_eq!(changed, 1);
    let central = server.missing_database(&format!("{tag}_central"));
    let pools: Vec<String> = (0..INSTANCES.len()).map(|i| server.missing_database(&format!("{tag}_p{i}"))).collect();
    let run =
        copy_into_postgres(&["--json"], &s.db(), &central, INSTANCES.into_iter().zip(pools.iter().map(String::as_str)));
    (s, central, serde_json::from_str(&run.stdout).unwrap())
}

/// Every row of every table of every database of the PostgreSQL store at `central`, as text
/// (the central database first, then each pool database by SQL instance).
pub(crate) fn pg_dump(central: &str) -> Vec<String> {
    let mut urls = vec![central.to_string()];
    let mut c = connect(central);
    urls.extend(c.query("SELECT file FROM sql_instances ORDER BY identity", &[]).unwrap().iter().map(|r| r.get(0)));
    let mut out = Vec::new();
    for url in urls {
        let mut db = connect(&url);
        let tables: Vec<String> = db
            .query("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        for t in tables {
            let rows = db.query(&format!("SELECT t::text FROM {t} t ORDER BY 1"), &[]).unwrap();
            out.push(format!("{url} {t}: {:?}", rows.iter().map(|r| r.get::<_, String>(0)).collect::<Vec<_>>()));
        }
    }
    out
}

/// The `(database role or instance, table) → (rows, checksum)` of a copy-store JSON report.
fn sums(json: &serde_json::Value) -> std::collections::BTreeMap<(String, String), (u64, String)> {
    let mut out = std::collections::BTreeMap::new();
    for db in json.as_array().unwrap() {
        let who = db["SqlInstance"].as_str().unwrap_or("central").to_string();
        for t in db["Tables"].as_array().unwrap() {
            out.insert(
                (who.clone(), t["Table"].as_str().unwrap().to_string()),
                (t["Rows"].as_u64().unwrap(), t["Checksum"].as_str().unwrap().to_string()),
            );
        }
    }
    out
}

/// SQLite → PostgreSQL → SQLite: every table's count and checksum in the new SQLite store equals
/// the original's (as the forward copy reported them), but for the two tables that name the
/// store's own files and id (`meta`: the copy's store id; `sql_instances`: `file` names files
/// again, not connections, and `file_id` the new files' identities), whose counts are equal;
/// the body with control characters came through byte for byte; the copy answers reads as the
/// original and the PostgreSQL store do; the PostgreSQL store is unchanged; `--verify-only`
/// agrees afterwards.
#[test]
fn a_postgres_store_copies_back_into_a_new_sqlite_store_unchanged() {
    let Some(server) = Server::shared("a_postgres_store_copies_back_into_a_new_sqlite_store_unchanged") else {
        return;
    };
    let (s, central, forward) = on_postgres(server, "back");
    let before = pg_dump(&central);
    let dir = tempfile::tempdir().unwrap();
    let to = dir.path().join("laptop").join("pchat.db");
    std::fs::create_dir(to.parent().unwrap()).unwrap();
    let to_text = to.to_string_lossy().into_owned();
    let run = common::Run::from(
        copy_store_command(&["--json", "copy-store", "--from", &central, "--to", &to_text]).output().unwrap(),
    )
    .ok();
    assert_eq!(pg_dump(&central), before, "copy-store wrote to the PostgreSQL store it copied");
    let back: serde_json::Value = serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {}", run.stdout));
    let (forward, back) = (sums(&forward), sums(&back));
    assert_eq!(forward.keys().collect::<Vec<_>>(), back.keys().collect::<Vec<_>>());
    let mut differing = Vec::new();
    for (key, (rows, checksum)) in &forward {
        let (back_rows, back_checksum) = &back[key];
        assert_eq!(rows, back_rows, "{key:?}");
        if checksum != back_checksum {
            differing.push(key.1.as_str());
        }
    }
    assert_eq!(differing, ["meta", "sql_instances"], "tables whose checksum changed");
    assert!(forward[&(INSTANCES[0].to_string(), "messages".to_string())].0 > 0);

    // The files as a Publish lays them out, each naming its store; the body byte for byte.
    let files = pool_files(&to);
    assert_eq!(files.len(), INSTANCES.len());
    for (instance, file) in &files {
        assert!(file.is_file(), "{instance}: {}", file.display());
    }
    let body: String = rusqlite::Connection::open(&files[0].1)
        .unwrap()
        .query_row("SELECT text FROM messages WHERE text = ?1", [BODY], |r| r.get(0))
        .unwrap();
    assert_eq!(body, BODY);
    let names: Vec<String> = std::fs::read_dir(to.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| !n.ends_with("-wal") && !n.ends_with("-shm"))
        .collect();
    assert_eq!(names.len(), 1 + INSTANCES.len(), "no staging folder left behind: {names:?}");

    // Reads answer as the original store and the PostgreSQL one do.
    for code in [
        "get_cs_persistent_chat_room()",
        "get_cs_persistent_chat_category()",
        "get_cs_persistent_chat_addin()",
        "get_cs_persistent_chat_policy()",
    ] {
        let read = |db: &str| {
            let mut cmd = common::pchat();
            cmd.args(["--db", db, "--json", "-c", code]).env_remove("PCHAT_DB");
            if db.starts_with("postgres://") {
                // A PostgreSQL run's own texts are not the inventory's (tests/it/postgres.rs).
                cmd.env_remove("PCHAT_SQL_INVENTORY");
            }
            common::Run::from(cmd.output().unwrap()).ok().stdout
        };
        let original = read(&s.db().to_string_lossy());
        assert!(original.contains(ROOM) || !code.contains("room"), "{code}: {original}");
        assert_eq!(read(&central), original, "{code} on PostgreSQL");
        assert_eq!(read(&to_text), original, "{code} on the copy");
    }

    let verified = copy_store(&["--verify-only", "--from", &central, "--to", &to_text]).ok();
    assert!(
        verified.stdout.contains("Central database: ") && verified.stdout.contains("Checksum"),
        "{}",
        verified.stdout
    );
}

/// Copying back is refused, with what to do, and nothing made or changed: onto an existing
/// file, beside an existing pool file, and from a store with a prepared pchat transaction in
/// doubt.
#[test]
fn copying_back_refuses_existing_files_and_transactions_in_doubt() {
    let Some(server) = Server::shared("copying_back_refuses_existing_files_and_transactions_in_doubt") else {
        return;
    };
    let (_s, central, _) = on_postgres(server, "refused_back");
    let before = pg_dump(&central);
    let dir = tempfile::tempdir().unwrap();
    let listing = || {
        let mut v: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap_or_default())
            })
            .collect();
        v.sort();
        v
    };
    let to = dir.path().join("pchat.db");
    let to_text = to.to_string_lossy().into_owned();

    std::fs::write(&to, b"mine").unwrap();
    let was = listing();
    let run = copy_store(&["--from", &central, "--to", &to_text]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("already exists") && run.stderr.contains("give a path that does not exist"),
        "{}",
        run.stderr
    );
    assert_eq!(listing(), was);

    std::fs::remove_file(&to).unwrap();
    std::fs::write(dir.path().join("sql02.contoso.com-rtc.db"), b"other store").unwrap();
    let was = listing();
    let run = copy_store(&["--from", &central, "--to", &to_text]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("sql02.contoso.com-rtc.db already exists (it would be the pool file of sql02.contoso.com\\rtc)")
            && run.stderr.contains("in another folder"),
        "{}",
        run.stderr
    );
    assert_eq!(listing(), was);
    std::fs::remove_file(dir.path().join("sql02.contoso.com-rtc.db")).unwrap();

    // A branch of a two-phase commit left prepared in a pool database.
    let pool: String = connect(&central)
        .query_one("SELECT file FROM sql_instances ORDER BY identity OFFSET 1 LIMIT 1", &[])
        .unwrap()
        .get(0);
    let gid = format!("pchat:{}:1", uuid::Uuid::new_v4());
    let mut branch = connect(&pool);
    branch.batch_execute(&format!("BEGIN; PREPARE TRANSACTION '{gid}'")).unwrap();
    let run = copy_store(&["--from", &central, "--to", &to_text]);
    connect(&pool).batch_execute(&format!("ROLLBACK PREPARED '{gid}'")).unwrap();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("1 prepared pchat transaction in doubt")
            && run.stderr.contains("resolves them, then copy it"),
        "{}",
        run.stderr
    );
    assert!(listing().is_empty(), "a refused copy made {:?}", listing());

    // A failure part-way (a pool table with a column this pchat's SQLite schema lacks, met
    // after the pool files were made): nothing left behind, not even the staging folder.
    connect(&pool).batch_execute("ALTER TABLE rooms ADD COLUMN extra integer").unwrap();
    let run = copy_store(&["--from", &central, "--to", &to_text]);
    connect(&pool).batch_execute("ALTER TABLE rooms DROP COLUMN extra").unwrap();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot copy the table rooms into"), "{}", run.stderr);
    assert!(listing().is_empty(), "a failed copy left {:?}", listing());

    // A source an older pchat wrote would need the upgrade opening it makes: refused.
    connect(&central).batch_execute("UPDATE schema_version SET version = version - 1").unwrap();
    let run = copy_store(&["--from", &central, "--to", &to_text]);
    connect(&central).batch_execute("UPDATE schema_version SET version = version + 1").unwrap();
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("was written by an older pchat") && run.stderr.contains("upgrade it first"),
        "{}",
        run.stderr
    );
    assert!(listing().is_empty(), "a refused copy made {:?}", listing());
    assert_eq!(pg_dump(&central), before);
}

/// A pool database given as `--from` (copying back) is named for what it is, with its store's
/// central database, not taken for an older pchat's store.
#[test]
fn copying_back_from_a_pool_database_names_the_central_one() {
    let Some(server) = Server::shared("copying_back_from_a_pool_database_names_the_central_one") else { return };
    let (s, central, _) = on_postgres(server, "frompool");
    let pool: String =
        connect(&central).query_one("SELECT file FROM sql_instances ORDER BY identity LIMIT 1", &[]).unwrap().get(0);
    let to = s.dir.path().join("back.db").to_string_lossy().into_owned();
    let run = copy_store(&["--from", &pool, "--to", &to]);
    assert!(run.code > 0, "{}", run.stderr);
    assert!(run.stderr.contains("is a pool database") && !run.stderr.contains("older pchat"), "{}", run.stderr);
    assert!(run.stderr.contains(&format!("central database (named {})", database_name(&central))), "{}", run.stderr);
    assert!(!Path::new(&to).exists());
}

/// The advisory lock key a copy-store holds on each target while filling it ("pchatcpy",
/// src/store/pg/copy.rs `FILLING`).
const FILLING: i64 = 0x7063_6861_7463_7079;

/// A copy-store into databases another one is filling stops before writing a row, saying so (not
/// a duplicate key), and leaves them empty: a later copy-store fills them. Two started at once:
/// one copies, the other stops with that message (or finds the copy done: not empty), and the
/// copy verifies.
#[test]
fn a_second_copy_store_into_the_same_databases_says_so_and_changes_nothing() {
    let test = "a_second_copy_store_into_the_same_databases_says_so_and_changes_nothing";
    let Some(server) = Server::shared(test) else { return };
    let s = demo();
    let from = s.db().to_string_lossy().into_owned();
    let central = server.missing_database("twice_central");
    let pools = pool_flags(server, "twice");
    let first_pool = pools[0].rsplit_once('=').unwrap().1.to_string();
    let mut admin = connect(&server.url_of("postgres"));
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
            database_name(&first_pool)
        ))
        .unwrap();
    // Another copy-store at work in the first target: its transaction holds the lock.
    let mut other = connect(&first_pool);
    let mut filling = other.transaction().unwrap();
    filling.execute("SELECT pg_advisory_xact_lock($1)", &[&FILLING]).unwrap();
    let run = copy_store(&args(&from, &central, &pools));
    assert!(run.code > 0, "{}", run.stderr);
    assert!(run.stderr.contains("another copy-store is filling") && run.stderr.contains(&first_pool), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was copied") && !run.stderr.contains("duplicate key"), "{}", run.stderr);
    filling.rollback().unwrap();
    // What copy-store copies (the migration's own rows, schema_version and store_epoch, aside).
    // A target it stopped before creating, or before making its schema, holds none.
    let copied = |url: &str, tables: &[&str]| -> i64 {
        if server.databases_named(&database_name(url)).is_empty() {
            return 0;
        }
        let mut db = connect(url);
        let made: bool = db
            .query_one("SELECT to_regclass('rooms') IS NOT NULL OR to_regclass('audit') IS NOT NULL", &[])
            .unwrap()
            .get(0);
        if !made {
            return 0;
        }
        let sql = tables.iter().map(|t| format!("(SELECT count(*) FROM {t})")).collect::<Vec<_>>().join(" + ");
        db.query_one(&format!("SELECT {sql}"), &[]).unwrap().get(0)
    };
    assert_eq!(copied(&central, &["audit", "principals", "pools", "sql_instances", "policies"]), 0);
    for pool in &pools {
        let url = pool.rsplit_once('=').unwrap().1;
        assert_eq!(copied(url, &["rooms", "categories", "messages", "pool_sync"]), 0, "{url}");
    }
    copy_store(&args(&from, &central, &pools)).ok();

    // Two at once, into new databases.
    let central = server.missing_database("race_central");
    let pools = pool_flags(server, "race");
    let spawn = || {
        copy_store_command(&[&["copy-store"], &args(&from, &central, &pools)[..]].concat())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (spawn(), spawn());
    let runs = [Run::from(a.wait_with_output().unwrap()), Run::from(b.wait_with_output().unwrap())];
    assert_eq!(
        runs.iter().filter(|r| r.code == 0).count(),
        1,
        "{:?}",
        runs.iter().map(|r| &r.stderr).collect::<Vec<_>>()
    );
    let loser = runs.iter().find(|r| r.code != 0).unwrap();
    assert!(
        loser.stderr.contains("another copy-store is filling") || loser.stderr.contains("is not empty"),
        "{}",
        loser.stderr
    );
    assert!(!loser.stderr.contains("duplicate key"), "{}", loser.stderr);
    let mut verify = args(&from, &central, &pools);
    verify.push("--verify-only");
    copy_store(&verify).ok();
}

/// Copying back while another process writes: every copy is of one moment of the store. Each
/// copy opens with its pool's databases Current (in step with the central marks) and holds every
/// room the writer was told was committed before the copy began (`copy_back::open_sources`, the
/// gate; `copy_consistency`, the last check).
#[test]
fn copying_back_under_concurrent_writes_yields_copies_in_step() {
    let Some(server) = Server::shared("copying_back_under_concurrent_writes_yields_copies_in_step") else { return };
    let (_s, central, _) = on_postgres(server, "busy");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let committed = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let writer = {
        let (stop, committed, central) = (stop.clone(), committed.clone(), central.clone());
        std::thread::spawn(move || {
            let mut i = 0;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                i += 1;
                let name = format!("Busy-{i}");
                let code = format!(
                    "new_cs_persistent_chat_room(#{{Name: {name:?}, PersistentChatPoolFqdn: \"pc01.contoso.com\", Category: \"Projects\"}}); 1"
                );
                let out = common::pchat()
                    .args(["--db", &central, "-c", &code])
                    .env_remove("PCHAT_SQL_INVENTORY")
                    .env_remove("PCHAT_DB")
                    .stdin(Stdio::null())
                    .output()
                    .unwrap();
                if out.status.success() {
                    committed.lock().unwrap().push(name);
                }
            }
        })
    };
    // The writer has committed before the first copy begins (so every copy runs among writes).
    while committed.lock().unwrap().is_empty() {
        std::thread::yield_now();
    }
    let dir = tempfile::tempdir().unwrap();
    let first = committed.lock().unwrap().len();
    for k in 0..4 {
        let before: Vec<String> = committed.lock().unwrap().clone();
        let to = dir.path().join(format!("c{k}")).join("pchat.db");
        std::fs::create_dir(to.parent().unwrap()).unwrap();
        let to_text = to.to_string_lossy().into_owned();
        copy_store(&["--from", &central, "--to", &to_text]).ok();
        let read = |code: &str| {
            common::Run::from(
                common::pchat()
                    .args(["--db", &to_text, "--json", "-c", code])
                    .env_remove("PCHAT_DB")
                    .stdin(Stdio::null())
                    .output()
                    .unwrap(),
            )
            .ok()
            .stdout
        };
        let state = read("get_cs_persistent_chat_state(\"PersistentChatServer:pc01.contoso.com\")");
        let state: serde_json::Value = serde_json::from_str(&state).unwrap_or_else(|e| panic!("{e}: {state}"));
        let state = if state.is_array() { state[0].clone() } else { state };
        assert_eq!(
            (state["PrimaryStatus"].as_str(), state["BackupStatus"].as_str()),
            (Some("Current"), Some("Current")),
            "copy {k}: {state}"
        );
        let rooms = read("get_cs_persistent_chat_room().map(|r| r.Name)");
        let rooms: Vec<String> = serde_json::from_str(&rooms).unwrap_or_else(|e| panic!("{e}: {rooms}"));
        let missing: Vec<&String> = before.iter().filter(|n| !rooms.contains(n)).collect();
        assert!(missing.is_empty(), "copy {k} lacks rooms committed before it began: {missing:?}");
    }
    let last = committed.lock().unwrap().len();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    writer.join().unwrap();
    assert!(last > first, "the writer committed while the copies were made ({first} → {last})");
}

/// Two `--pool` targets spelt differently (`127.0.0.1` and `localhost`) but reaching one
/// database are refused (exit 2) as their server names them, before any database is created.
#[test]
fn two_targets_reaching_one_database_are_refused_before_anything_is_written() {
    let Some(server) = Server::shared("two_targets_reaching_one_database_are_refused_before_anything_is_written")
    else {
        return;
    };
    let s = demo();
    let from = s.db().to_string_lossy().into_owned();
    let central = server.missing_database("alias_central");
    let mut pools = pool_flags(server, "alias");
    let second = pools[1].split_once("=postgres").map(|(_, url)| format!("postgres{url}")).unwrap();
    assert!(second.contains("127.0.0.1"), "{second}");
    pools[2] = format!("--pool={}={}", INSTANCES[2], second.replace("127.0.0.1", "localhost"));
    let run = copy_store(&args(&from, &central, &pools));
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("names the same database as --pool sql02.contoso.com\\rtc="), "{}", run.stderr);
    let mut admin = connect(&server.url_of("postgres"));
    for url in [&central, &second] {
        let name = database_name(url);
        let n: i64 = admin.query_one("SELECT count(*) FROM pg_database WHERE datname = $1", &[&name]).unwrap().get(0);
        assert_eq!(n, 0, "{name} was created");
    }
}

/// The hint `--db` gives for a URL whose password holds an unencoded `@` or space (the client
/// then reads part of the password as the host, and says only "failed to lookup address
/// information"): copy-store's own open errors give it too, for `--to`, a `--pool` target and a
/// PostgreSQL `--from`, without showing the password; nothing is created.
#[test]
fn an_unencoded_at_or_space_in_a_password_gets_the_hint_db_gives() {
    let Some(server) = Server::shared("an_unencoded_at_or_space_in_a_password_gets_the_hint_db_gives") else {
        return;
    };
    const HINT: &str = "(the password seems to hold an @ or a space: write it percent-encoded in the URL, %40 for @ and %20 for a space, or give a key=value connection string)";
    let s = demo();
    let from = s.db().to_string_lossy().into_owned();
    let tag = format!("unencoded_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    let unencoded =
        |name: &str| server.url_of(&format!("pchat_{tag}_{name}")).replacen("://pchat@", "://pchat:p@ss w0rd@", 1);
    let plain = |name: &str| server.url_of(&format!("pchat_{tag}_{name}"));
    let pools = |bad: Option<usize>| -> Vec<String> {
        (0..INSTANCES.len())
            .map(|i| {
                let url = if bad == Some(i) { unencoded(&format!("p{i}")) } else { plain(&format!("p{i}")) };
                format!("--pool={}={url}", INSTANCES[i])
            })
            .collect()
    };
    let said = |run: &Run, what: &str| {
        assert_eq!(run.code, 1, "{what}: {}", run.stderr);
        assert!(run.stderr.contains(&format!("cannot open {what} postgres://pchat:***@")), "{what}: {}", run.stderr);
        assert!(run.stderr.contains(HINT), "{what}: {}", run.stderr);
        assert!(!run.stderr.contains("w0rd"), "a password was shown: {}", run.stderr);
    };
    said(&copy_store(&args(&from, &unencoded("central"), &pools(None))), "the target");
    said(&copy_store(&args(&from, &plain("central"), &pools(Some(1)))), "the target");
    said(&copy_store(&["--from", &unencoded("central"), "--to", &format!("{from}.back")]), "the source");
    assert!(server.databases_named(&format!("pchat_{tag}")).is_empty(), "a refused copy created a database");
    // The same words as --db's.
    let run = Run::from(
        common::pchat()
            .args(["--db", &unencoded("central"), "-c", "1"])
            .env_remove("PCHAT_SQL_INVENTORY")
            .env_remove("PCHAT_DB")
            .stdin(Stdio::null())
            .output()
            .expect("pchat runs"),
    );
    said(&run, "the store");
}

/// Copying a store that is being written: the source's files are read at one moment. While
/// copy-store takes its snapshots (held here after reading the central database, before the pool
/// files), the store's write lock is its own, so no writer can commit between the two and leave
/// the copy's pool ahead of its central database (every call on that pool was then refused, and
/// the copy reported verified). A writer started meanwhile waits, then lands in the source only.
#[test]
fn a_store_being_written_is_copied_at_one_moment() {
    let Some(server) = Server::shared("a_store_being_written_is_copied_at_one_moment") else { return };
    let s = demo();
    let central = server.missing_database("moment_central");
    let pools: Vec<(&str, String)> =
        INSTANCES.iter().enumerate().map(|(i, n)| (*n, server.missing_database(&format!("moment_p{i}")))).collect();
    let args = crate::common::pg_copy::copy_args(&s.db(), &central, pools.iter().map(|(n, u)| (*n, u.as_str())));
    let args: Vec<&str> = ["copy-store"].into_iter().chain(args.iter().map(String::as_str)).collect();
    let copy = crate::common::held::Held::at(copy_store_command(&args), "copy-store:central-read");
    // A writer's first step, BEGIN IMMEDIATE on the central file, finds the lock taken.
    let probe = rusqlite::Connection::open(s.db()).unwrap();
    probe.execute_batch("PRAGMA busy_timeout = 0").unwrap();
    let err = probe.execute_batch("BEGIN IMMEDIATE").expect_err("the writers' lock is held during the snapshots");
    assert!(err.to_string().contains("locked"), "{err}");
    drop(probe);
    let late = r#"new_cs_persistent_chat_room(#{Name: "Late", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Projects"})"#;
    let writer =
        s.command(&["-c", late]).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    copy.release();
    let written = writer.wait_with_output().unwrap();
    assert!(written.status.success(), "{}", String::from_utf8_lossy(&written.stderr));
    // The copy serves its pools: its marks agree (a pool ahead of its central database is refused).
    let rooms = "print(get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: \"pc01.contoso.com\"}).len())";
    let out = copy_store_command(&["--db", central.as_str(), "-c", rooms]).output().unwrap();
    let run = Run::from(out).ok();
    let source = s.c(rooms).ok();
    let (copied, now): (u64, u64) = (run.stdout.trim().parse().unwrap(), source.stdout.trim().parse().unwrap());
    assert_eq!(copied + 1, now, "the copy has the rooms from before the writer, the source one more");
}
