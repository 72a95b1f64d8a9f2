//! `pchat --db postgres://…` (docs/command-line.md): the demo store copied into fresh PostgreSQL
//! databases with `pchat copy-store`, then used through the built binary: reads answer as on the
//! SQLite source, changes commit in the central database and in both copies of the pool (checked
//! with connections of the test's own), a failing call changes nothing, and several processes
//! writing at once all land (issue #18's acceptance test, with smaller numbers:
//! scripts/pg-concurrency runs the full one). Skipped without PostgreSQL unless
//! `PCHAT_PG_REQUIRED` is set (tests/it/common/pg.rs).

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use crate::common::pg::{Server, connect};
use crate::common::pg_copy::copy_into_postgres;
use crate::common::{self, INSTANCES, Run, Store};

/// Writers of the concurrency test, and members and rooms each adds.
const WRITERS: usize = 4;
const PER_WRITER: usize = 25;

/// The directory JSON of `n` users `load-<i>` in `OU=Load,DC=contoso,DC=com` (what the
/// concurrency test adds to a room). scripts/pg-concurrency writes the same.
fn load_users(n: usize) -> String {
    let mut principals = vec![r#"{"Type": "OrganizationalUnit", "Dn": "OU=Load,DC=contoso,DC=com"}"#.to_string()];
    for i in 0..n {
        principals.push(format!(
            r#"{{"Type": "User", "Dn": "CN=Load {i},OU=Load,DC=contoso,DC=com", "DisplayName": "Load {i}", "SipAddress": "sip:load-{i}@contoso.com", "SamAccountName": "load-{i}", "UserPrincipalName": "load-{i}@contoso.com"}}"#
        ));
    }
    format!(
        r#"{{"Domain": {{"Name": "contoso.com", "NetBiosName": "contoso", "Dn": "DC=contoso,DC=com"}}, "Principals": [{}]}}"#,
        principals.join(",\n")
    )
}

/// The demo store (`pchat --demo`) plus the load users, a category `Load` allowing them and its
/// room `LoadRoom` in pc01 (made once, then copied).
pub(crate) fn source() -> Store {
    static TEMPLATE: OnceLock<Store> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let s = Store::sqlite();
            let users = s.dir.path().join("load-users.json");
            std::fs::write(&users, load_users(WRITERS * PER_WRITER)).unwrap();
            let code = format!(
                r#"import_cs_ad_principal({users:?});
new_cs_persistent_chat_category(#{{Name: "Load", PersistentChatPoolFqdn: "pc01.contoso.com"}});
set_cs_persistent_chat_category("pc01.contoso.com\\Load", #{{AllowedMembers: ["OU=Load,DC=contoso,DC=com"]}});
new_cs_persistent_chat_room(#{{Name: "LoadRoom", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"}}); 1"#
            );
            s.run(&["--demo", "-c", &code]).ok();
            s
        })
        .copy_sqlite()
}

/// The source copied into fresh databases on the server; commands run in an empty folder of
/// their own, which must stay empty (a PostgreSQL store writes nothing beside it).
pub(crate) struct Pg {
    pub(crate) source: Store,
    pub(crate) central: String,
    /// Per SQL instance of [`INSTANCES`].
    pub(crate) pools: Vec<String>,
    cwd: tempfile::TempDir,
}

pub(crate) fn on_postgres(server: &Server, tag: &str) -> Pg {
    let pools: Vec<String> = (0..INSTANCES.len()).map(|i| server.missing_database(&format!("{tag}_p{i}"))).collect();
    on_postgres_at(server, tag, pools)
}

/// The source copied into a new central database on `server` and into `pools` (per SQL instance
/// of [`INSTANCES`]: URLs on any server).
pub(crate) fn on_postgres_at(server: &Server, tag: &str, pools: Vec<String>) -> Pg {
    let source = source();
    let central = server.missing_database(&format!("{tag}_c"));
    copy_into_postgres(&[], &source.db(), &central, INSTANCES.into_iter().zip(pools.iter().map(String::as_str)));
    Pg { source, central, pools, cwd: tempfile::tempdir().unwrap() }
}

impl Pg {
    /// pc01's primary (sql01) and backup (sql02) databases.
    pub(crate) fn copies(&self) -> [&str; 2] {
        [&self.pools[0], &self.pools[1]]
    }

    pub(crate) fn command(&self, args: &[&str]) -> Command {
        let mut cmd = common::pchat();
        cmd.arg("--db").arg(&self.central).args(args).env_remove("PCHAT_DB").current_dir(self.cwd.path());
        // The SQL inventory lists the store's texts as the suite's SQLite runs reach them, for
        // `store::pg::statements` to prepare on PostgreSQL; a PostgreSQL run adds the port's own
        // texts (the two-phase commit's DDL, PREPARE TRANSACTION, …), which are not for it.
        cmd.env_remove("PCHAT_SQL_INVENTORY");
        cmd
    }

    pub(crate) fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).stdin(Stdio::null()).output().unwrap())
    }

    pub(crate) fn c(&self, code: &str) -> Run {
        self.run(&["-c", code])
    }

    /// Run `code` as a runbook file (written beside the source store); `extra`: options of `run`.
    fn runbook(&self, name: &str, code: &str, extra: &[&str]) -> Run {
        let file = self.source.dir.path().join(name);
        std::fs::write(&file, code).unwrap();
        let file = file.to_string_lossy().into_owned();
        self.run(&[&["run"], extra, &[&file]].concat())
    }

    pub(crate) fn assert_cwd_empty(&self) {
        let left: Vec<_> = std::fs::read_dir(self.cwd.path()).unwrap().flatten().map(|e| e.file_name()).collect();
        assert!(left.is_empty(), "a command on PostgreSQL wrote into its working folder: {left:?}");
    }
}

pub(crate) fn count(url: &str, sql: &str) -> i64 {
    connect(url).query_one(sql, &[]).unwrap().get(0)
}

/// What a database holds, table by table, as one text (rows in a fixed order).
pub(crate) fn contents(url: &str, tables: &[&str]) -> String {
    let mut client = connect(url);
    tables
        .iter()
        .map(|t| {
            let row = client
                .query_one(
                    &format!(
                        "SELECT count(*), coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM {t} x"
                    ),
                    &[],
                )
                .unwrap();
            format!("{t}: {} {}", row.get::<_, i64>(0), row.get::<_, String>(1))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every database of the copy that a room change touches.
fn snapshot(pg: &Pg) -> String {
    let pool_tables = ["rooms", "room_entries"];
    format!(
        "{}\n{}\n{}",
        contents(&pg.central, &["audit", "principals"]),
        contents(&pg.pools[0], &pool_tables),
        contents(&pg.pools[1], &pool_tables)
    )
}

fn sqlite(source: &Store, code: &str) -> String {
    source.run(&["--json", "-c", code]).ok().stdout
}

/// Reads answer on PostgreSQL as on the SQLite store the copy was made from: the room count,
/// a -Filter, a -Member query (as JSON, every property).
#[test]
fn reads_answer_as_on_the_sqlite_source() {
    let Some(server) = Server::shared("reads_answer_as_on_the_sqlite_source") else { return };
    let pg = on_postgres(server, "reads");
    for code in [
        "get_cs_persistent_chat_room().len()",
        r#"get_cs_persistent_chat_room(#{Filter: "Fin*"})"#,
        r#"get_cs_persistent_chat_room(#{Member: "sip:annb@contoso.com"})"#,
        r#"get_cs_persistent_chat_category().len()"#,
    ] {
        let on_pg = pg.run(&["--json", "-c", code]).ok().stdout;
        assert_eq!(on_pg, sqlite(&pg.source, code), "{code}");
        assert!(on_pg.trim() != "[]" && on_pg.trim() != "0", "{code}: {on_pg}");
    }
    // A PowerShell line too.
    let ps = "Get-CsPersistentChatRoom -PersistentChatPoolFqdn pc02.contoso.com | Select-Object Name";
    assert_eq!(pg.run(&["--json", "-c", ps]).ok().stdout, sqlite(&pg.source, ps));
    pg.assert_cwd_empty();
}

/// A runbook's New- and Set-CsPersistentChatRoom (`Members: #{Add: …}`) and a PowerShell
/// pipeline commit: a second process reads them back, both copies of the pool hold them, the
/// audit trail records them, and nothing is written beside the command.
#[test]
fn changes_commit_in_central_and_both_copies() {
    let Some(server) = Server::shared("changes_commit_in_central_and_both_copies") else { return };
    let pg = on_postgres(server, "changes");
    let before_audit = count(&pg.central, "SELECT count(*) FROM audit");
    pg.runbook(
        "make.rhai",
        r#"new_cs_persistent_chat_room(#{Name: "PgRoom", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"});
set_cs_persistent_chat_room("pc01.contoso.com\\PgRoom", #{Members: #{Add: ["sip:load-1@contoso.com", "sip:load-2@contoso.com"]}});
"#,
        &[],
    )
    .ok();
    pg.c("Get-CsPersistentChatRoom -PersistentChatPoolFqdn pc01.contoso.com | Set-CsPersistentChatRoom -Description 'set on PostgreSQL'").ok();
    let rooms_pc01 = count(&pg.pools[0], "SELECT count(*) FROM rooms WHERE pool = 'pc01.contoso.com'");
    assert!(rooms_pc01 > 2, "{rooms_pc01}");

    // Read back by another process.
    let read = pg
        .run(&[
            "--json",
            "-c",
            r#"let r = get_cs_persistent_chat_room("pc01.contoso.com\\PgRoom")[0]; [r.Members, r.Description]"#,
        ])
        .ok();
    let json: serde_json::Value = serde_json::from_str(&read.stdout).unwrap();
    assert_eq!(json[1], "set on PostgreSQL", "{json}");
    let members = json[0].to_string();
    assert!(members.contains("load-1@contoso.com") && members.contains("load-2@contoso.com"), "{members}");

    // Both copies of pc01's pool hold the room, its members and every description.
    for copy in pg.copies() {
        assert_eq!(count(copy, "SELECT count(*) FROM rooms WHERE name = 'PgRoom'"), 1, "{copy}");
        assert_eq!(
            count(
                copy,
                "SELECT count(*) FROM room_entries e JOIN rooms r ON r.id = e.room_id WHERE r.name = 'PgRoom' AND e.list = 'Members'"
            ),
            2,
            "{copy}"
        );
        assert_eq!(
            count(
                copy,
                "SELECT count(*) FROM rooms WHERE pool = 'pc01.contoso.com' AND description = 'set on PostgreSQL'"
            ),
            rooms_pc01,
            "{copy}"
        );
    }
    // Nothing prepared or undecided left behind.
    for url in pg.copies() {
        assert_eq!(count(url, "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"), 0);
    }

    // The audit trail: New and Set of PgRoom, then one Set per room of pc01; the chain holds.
    let audit = pg
        .run(&[
            "--json",
            "-c",
            r#"get_cs_persistent_chat_audit_record(#{Target: "pc01.contoso.com\\PgRoom"}).map(|a| a.Cmdlet)"#,
        ])
        .ok();
    let cmdlets: Vec<String> = serde_json::from_str(&audit.stdout).unwrap();
    assert_eq!(
        cmdlets,
        ["New-CsPersistentChatRoom", "Set-CsPersistentChatRoom", "Set-CsPersistentChatRoom"],
        "{}",
        audit.stdout
    );
    assert_eq!(count(&pg.central, "SELECT count(*) FROM audit"), before_audit + 2 + rooms_pc01);
    let test = pg.run(&["--json", "-c", "test_cs_persistent_chat_audit_record().Result"]).ok();
    assert!(test.stdout.contains("Success"), "{}", test.stdout);
    pg.assert_cwd_empty();
}

/// A call that fails (an unknown member beside a valid change) changes nothing in any database,
/// nor does a runbook stopped by a terminating error after that call's own failure.
#[test]
fn a_failing_call_changes_nothing_in_any_database() {
    let Some(server) = Server::shared("a_failing_call_changes_nothing_in_any_database") else { return };
    let pg = on_postgres(server, "failing");
    let before = snapshot(&pg);
    let run = pg.c(
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{Description: "never", Members: #{Add: ["sip:load-1@contoso.com", "sip:nobody@contoso.com"]}})"#,
    );
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(run.stderr.contains("nobody@contoso.com"), "{}", run.stderr);
    assert_eq!(snapshot(&pg), before);
    // --atomic: the first change is undone with the failing second one.
    let run = pg.runbook(
        "atomic.rhai",
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{Description: "undone"});
set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{Members: #{Add: "sip:nobody@contoso.com"}, ErrorAction: "Stop"});
"#,
        &["--atomic"],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("nothing was committed"), "{}", run.stderr);
    assert_eq!(snapshot(&pg), before);
    pg.assert_cwd_empty();
}

/// A copy behind the pool with no change in flight there (it missed a change: restored, or a
/// topology pointed the instance at another database) is out of step, not a lost race: the call
/// ends with the refusal that names the repair, never "other sessions kept changing …" (found by
/// a newcomer who re-published a topology); nothing is changed, reads go on, and the repair
/// brings the copy back.
#[test]
fn a_copy_behind_with_nothing_in_flight_is_refused_with_the_repair() {
    let Some(server) = Server::shared("a_copy_behind_with_nothing_in_flight_is_refused_with_the_repair") else {
        return;
    };
    let pg = on_postgres(server, "behind");
    let backup = pg.copies()[1];
    connect(backup).execute("UPDATE pool_sync SET seq = seq - 1 WHERE lower(pool) = 'pc01.contoso.com'", &[]).unwrap();
    let before = snapshot(&pg);
    let run = pg.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{Description: "never"})"#);
    assert_ne!(run.code, 0, "{}", run.stderr);
    assert!(!run.stderr.contains("other sessions"), "{}", run.stderr);
    assert!(
        run.stderr.contains("the backup database sql02.contoso.com")
            && run.stderr.contains("repair_cs_persistent_chat_database"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&pg), before);
    assert_eq!(pg.c("get_cs_persistent_chat_room().len() > 0").ok().stdout.trim(), "True");
    pg.c(r#"repair_cs_persistent_chat_database(#{Identity: "PersistentChatServer:pc01.contoso.com", Source: "Primary", Confirm: false})"#)
        .ok();
    pg.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{Description: "after repair"})"#).ok();
    for url in pg.copies() {
        assert_eq!(count(url, "SELECT count(*) FROM rooms WHERE description = 'after repair'"), 1, "{url}");
    }
}

/// What a PostgreSQL store does not support yet is refused clearly, with no password shown and
/// nothing written: --demo. (An atomic run that writes files, refused here before, now works:
/// its journal is in the store's local state folder, never in the working folder.)
#[test]
fn what_postgres_does_not_support_yet_is_refused_clearly() {
    let Some(server) = Server::shared("what_postgres_does_not_support_yet_is_refused_clearly") else { return };
    let pg = on_postgres(server, "refused");
    let secret = pg.central.replacen("://", "://someone:s3cret@", 1);
    let run = Run::from(
        common::pchat()
            .args(["--demo", "--db", &secret, "-c", "1"])
            .current_dir(pg.cwd.path())
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("copy-store") && run.stderr.contains("--demo"), "{}", run.stderr);
    assert!(!run.stderr.contains("s3cret"), "{}", run.stderr);

    let before = snapshot(&pg);
    let out = pg.source.dir.path().join("rooms.txt").to_string_lossy().into_owned();
    let run = pg.runbook(
        "writes.rhai",
        &format!(
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{{Description: "with a file"}});
write_text({out:?}, "rooms");
"#
        ),
        &["--atomic"],
    );
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_ne!(snapshot(&pg), before);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "rooms");
    pg.assert_cwd_empty();

    // A wrong password is reported without it.
    let bad = server.url_of("pchat_no_such_database_here");
    let run = Run::from(
        common::pchat()
            .args(["--db", &bad.replacen("://", "://someone:s3cret@", 1), "-c", "1"])
            .current_dir(pg.cwd.path())
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("cannot open the store postgres") && !run.stderr.contains("s3cret"), "{}", run.stderr);
    pg.assert_cwd_empty();
}

/// An atomic run killed after its commit on a PostgreSQL store: its files belong to the local
/// state folder (the machine) that ran it. A pchat with another state folder (another host)
/// opening the store neither places nor removes them, says nothing and is not held up; the next
/// command from the run's own state folder places them and clears its rows and unit file.
#[test]
fn a_killed_runs_files_are_finished_by_its_own_state_folder_only() {
    let Some(server) = Server::shared("a_killed_runs_files_are_finished_by_its_own_state_folder_only") else {
        return;
    };
    let pg = on_postgres(server, "units");
    let homes = tempfile::tempdir().unwrap();
    let (here, there) = (homes.path().join("here"), homes.path().join("there"));
    let out = pg.source.dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let (one, two) = (out.join("one.txt"), out.join("two.txt"));
    let runbook = pg.source.dir.path().join("two.rhai");
    std::fs::write(
        &runbook,
        format!(
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{{Description: "with files"}});
write_text({one:?}, "one");
write_text({two:?}, "two");
"#
        ),
    )
    .unwrap();
    let runbook = runbook.to_string_lossy().into_owned();
    let as_host = |state: &Path, args: &[&str], fault: Option<&str>| -> Run {
        let mut cmd = pg.command(args);
        cmd.env("XDG_STATE_HOME", state);
        if let Some(fault) = fault {
            cmd.env("PCHAT_FAULT", fault);
        }
        Run::from(cmd.stdin(Stdio::null()).output().unwrap())
    };
    let staged = || -> Vec<String> {
        let names = std::fs::read_dir(&out).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned());
        names.filter(|n| n.ends_with(".staged")).collect()
    };
    // `<state>/pchat/<store id>/units/`, and the unit files in it.
    let units_folder = |state: &Path| -> Option<std::path::PathBuf> {
        let stores = std::fs::read_dir(state.join("pchat")).ok()?;
        let folders: Vec<_> = stores.flatten().map(|e| e.path().join("units")).collect();
        assert!(folders.len() <= 1, "one store, one folder: {folders:?}");
        folders.into_iter().next()
    };
    let unit_files = |state: &Path| -> Vec<String> {
        let Some(folder) = units_folder(state) else { return Vec::new() };
        std::fs::read_dir(folder).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()
    };
    let rows = || count(&pg.central, "SELECT count(*) FROM atomic_files");

    let run = as_host(&here, &["run", "--atomic", &runbook], Some("atomic:committed:kill"));
    assert!(run.stderr.contains("pchat-fault: killed at atomic:committed"), "{}", run.stderr);
    for url in pg.copies() {
        assert_eq!(count(url, "SELECT count(*) FROM rooms WHERE description = 'with files'"), 1, "committed: {url}");
    }
    assert_eq!(staged().len(), 2, "both files wait under their staged names");
    assert!(!one.exists() && !two.exists());
    assert_eq!(unit_files(&here).len(), 1, "{:?}", unit_files(&here));
    let folder = units_folder(&here).unwrap();
    let store_id: String =
        connect(&pg.central).query_one("SELECT value FROM meta WHERE key = 'store_id'", &[]).unwrap().get(0);
    assert_eq!(folder, here.join("pchat").join(&store_id).join("units"), "keyed by the store's id");
    for f in [&folder, folder.parent().unwrap()] {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(f).unwrap().permissions().mode() & 0o777, 0o700, "{}", f.display());
    }
    let owners: Vec<String> = connect(&pg.central)
        .query("SELECT DISTINCT owner FROM atomic_files", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert!(owners[0].ends_with(&format!(":{}", folder.display())), "the rows name their owner: {owners:?}");
    assert_eq!(rows(), 2);

    // Another host: reads and writes as usual, and leaves the run's files, rows and unit file alone.
    let read = as_host(&there, &["-c", "get_cs_persistent_chat_room(#{Filter: \"Load*\"}).len()"], None).ok();
    assert_eq!((read.stdout.trim(), read.stderr.as_str()), ("1", ""));
    let wrote = as_host(
        &there,
        &["-c", r#"set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{Description: "other host"})"#],
        None,
    )
    .ok();
    assert_eq!(wrote.stderr, "");
    assert_eq!(staged().len(), 2);
    assert!(!one.exists() && !two.exists());
    assert_eq!(rows(), 2);
    assert_eq!(unit_files(&here).len(), 1);
    assert!(!there.exists(), "the other host made no state folder for a store it ran no unit of");

    // The run's own state folder finishes them, once.
    let next = as_host(&here, &["-c", "1"], None).ok();
    assert!(next.stderr.contains("atomic: finished placing 2 files of a run committed at "), "{}", next.stderr);
    assert_eq!(std::fs::read_to_string(&one).unwrap(), "one");
    assert_eq!(std::fs::read_to_string(&two).unwrap(), "two");
    assert!(staged().is_empty(), "{:?}", staged());
    assert_eq!(rows(), 0);
    assert!(unit_files(&here).is_empty(), "{:?}", unit_files(&here));
    assert_eq!(as_host(&here, &["-c", "1"], None).ok().stderr, "");
    pg.assert_cwd_empty();
}

/// The code a writer of the concurrency test runs: `n` members `load-<first..>` added to
/// LoadRoom one call each, and `n` rooms made, interleaved.
fn writer_code(tag: usize, first: usize, n: usize) -> String {
    format!(
        r#"for i in {first}..{end} {{
    set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{{Members: #{{Add: "sip:load-" + i + "@contoso.com"}}}});
    new_cs_persistent_chat_room(#{{Name: "Load {tag} " + i, PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"}});
}}"#,
        end = first + n
    )
}

/// Issue #18's acceptance test, smaller: four processes each add their members to one room and
/// make as many rooms, at once; every member and room is present in both copies, no process
/// reports an error.
#[test]
fn four_writers_at_once_all_land() {
    let Some(server) = Server::shared("four_writers_at_once_all_land") else { return };
    let pg = on_postgres(server, "writers");
    let children: Vec<_> = (0..WRITERS)
        .map(|w| {
            pg.command(&["-c", &writer_code(w, w * PER_WRITER, PER_WRITER)])
                .env("PCHAT_REPORT_RETRIES", "1")
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut retried = 0;
    for child in children {
        let run = Run::from(child.wait_with_output().unwrap());
        assert_eq!(run.code, 0, "{}", run.stderr);
        let lines: Vec<&str> = run.stderr.lines().collect();
        let count = lines.iter().find_map(|l| l.strip_prefix("pchat: attempts retried: ")).expect("the retry count");
        retried += count.parse::<u64>().unwrap();
        assert_eq!(lines.len(), 1, "{}", run.stderr);
    }
    eprintln!("four_writers_at_once_all_land: {retried} attempts retried");
    let total = (WRITERS * PER_WRITER) as i64;
    for copy in pg.copies() {
        assert_eq!(
            count(
                copy,
                "SELECT count(*) FROM room_entries e JOIN rooms r ON r.id = e.room_id WHERE r.name = 'LoadRoom' AND e.list = 'Members'"
            ),
            total,
            "{copy}"
        );
        assert_eq!(count(copy, "SELECT count(*) FROM rooms WHERE name LIKE 'Load % %'"), total, "{copy}");
        assert_eq!(count(copy, "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"), 0);
    }
    let members = pg.c(r#"get_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom")[0].Members.len()"#).ok();
    assert_eq!(members.stdout.trim(), total.to_string());
    let test = pg.run(&["--json", "-c", "test_cs_persistent_chat_audit_record().Result"]).ok();
    assert!(test.stdout.contains("Success"), "{}", test.stdout);
    pg.assert_cwd_empty();
}

/// An empty database (as a newcomer makes one for pchat) is not made a central store by a read,
/// nor by a call that fails: it stays empty and the error says how to make a store there. A
/// database another program's tables are in is refused and left alone.
#[test]
fn a_read_or_a_failed_change_leaves_an_empty_database_empty() {
    let Some(server) = Server::shared("a_read_or_a_failed_change_leaves_an_empty_database_empty") else { return };
    let url = server.empty_database("emptydb");
    let objects = "SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = current_schema()::regnamespace)
                        + (SELECT count(*) FROM pg_proc WHERE pronamespace = current_schema()::regnamespace)";
    let cwd = tempfile::tempdir().unwrap();
    let pchat = |code: &str| pchat_in(cwd.path(), &url, code);
    for code in [
        "get_cs_persistent_chat_room()",
        "get_cs_persistent_chat_policy().len()",
        r#"new_cs_persistent_chat_room(#{Name: "R", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
    ] {
        // As on SQLite: a read of the seeded policies answers, then the warning.
        let run = pchat(code);
        assert!(run.stderr.contains(&format!("there is no store at {url}")), "{code}: {}", run.stderr);
        assert!(run.stderr.contains("pchat copy-store --from STORE.db --to"), "{code}: {}", run.stderr);
        assert_eq!(count(&url, objects), 0, "{code} made a store of the empty database");
    }
    // copy-store into it still works: the database is as empty as it was.
    let pools: Vec<String> = (0..INSTANCES.len()).map(|i| server.missing_database(&format!("emptydb_p{i}"))).collect();
    let from = source();
    copy_into_postgres(&[], &from.db(), &url, INSTANCES.into_iter().zip(pools.iter().map(String::as_str)));
    let run = pchat("get_cs_persistent_chat_room().len()").ok();
    assert!(run.stdout.trim().parse::<i64>().unwrap() > 0, "{}", run.stdout);
    assert!(std::fs::read_dir(cwd.path()).unwrap().next().is_none());

    // Another program's database: refused, untouched.
    let other = server.empty_database("emptydb_other");
    connect(&other).batch_execute("CREATE TABLE invoices (id int)").unwrap();
    let run = pchat_in(cwd.path(), &other, "get_cs_persistent_chat_room()");
    assert!(run.stderr.contains("holds no pchat schema (tables invoices)"), "{}", run.stderr);
    assert_eq!(count(&other, objects), 1);
}

/// A server started with `max_prepared_transactions = 0` (PostgreSQL's default) holding pc01's
/// copies: reads answer; a change is refused before it starts, saying what to set and that a
/// restart is needed, and nothing changes anywhere (it used to fail at the commit's PREPARE).
#[test]
fn a_pool_server_without_prepared_transactions_refuses_changes_and_keeps_reads() {
    let test = "a_pool_server_without_prepared_transactions_refuses_changes_and_keeps_reads";
    let Some(server) = Server::shared(test) else { return };
    let Some(no_2pc) = Server::start_own() else { return };
    connect(&no_2pc.url_of("postgres")).batch_execute("ALTER SYSTEM SET max_prepared_transactions = 0").unwrap();
    no_2pc.halt();
    no_2pc.resume();
    let pools: Vec<String> = (0..INSTANCES.len())
        .map(|i| if i < 2 { no_2pc.missing_database(&format!("n2_p{i}")) } else { server.missing_database("n2_p2") })
        .collect();
    let pg = on_postgres_at(server, "n2", pools);
    let rooms = pg.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).len()"#).ok();
    assert!(rooms.stdout.trim().parse::<i64>().unwrap() > 0, "{}", rooms.stdout);
    let before = snapshot(&pg);
    for code in [
        r#"set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{Description: "x"})"#,
        r#"new_cs_persistent_chat_room(#{Name: "N2", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"})"#,
    ] {
        let run = pg.c(code);
        assert!(run.code > 0, "{code}: {}", run.stderr);
        for expected in [
            "max_prepared_transactions = 0",
            "ALTER SYSTEM SET max_prepared_transactions",
            "restart the server",
            "Reads work meanwhile",
        ] {
            assert!(run.stderr.contains(expected), "{code}: {expected}: {}", run.stderr);
        }
        assert!(
            !run.stderr.contains("PREPARE TRANSACTION\" failed")
                && !run.stderr.contains("prepared transactions are disabled"),
            "{}",
            run.stderr
        );
    }
    assert_eq!(snapshot(&pg), before);
    pg.assert_cwd_empty();
}

/// `postgres://user@host:port/db` as a key=value string with a password (the test server trusts
/// every connection, so the password is only there to be kept out of messages).
fn key_value(url: &str) -> String {
    let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
    let (user, rest) = rest.split_once('@').expect("a user");
    let (host_port, db) = rest.split_once('/').expect("a database");
    let (host, port) = host_port.split_once(':').expect("a port");
    format!("host={host} port={port} user={user} password='s3cr@t pw' dbname={db}")
}

/// `--db` with a key=value connection string is a PostgreSQL store, as a URL is: it answers as
/// the URL does, and a missing database is reported without the password and without making a
/// file named after the string (it was taken as a SQLite path).
#[test]
fn db_accepts_a_key_value_connection_string_and_never_shows_its_password() {
    let Some(server) = Server::shared("db_accepts_a_key_value_connection_string_and_never_shows_its_password") else {
        return;
    };
    let pg = on_postgres(server, "kv");
    let code = "get_cs_persistent_chat_room().map(|r| r.Name)";
    let by_url = pg.c(code).ok().stdout;
    let kv = key_value(&pg.central);
    let cwd = tempfile::tempdir().unwrap();
    let run = |db: &str, code: &str| pchat_in(cwd.path(), db, code);
    assert_eq!(run(&kv, code).ok().stdout, by_url);
    let missing = key_value(&server.missing_database("kvmissing"));
    for code in [code, r#"publish_cs_topology("topology.json")"#] {
        let out = run(&missing, code);
        assert!(!out.stderr.contains("s3cr@t") && !out.stdout.contains("s3cr@t"), "{code}: {}", out.stderr);
        assert!(out.stderr.contains("password=***"), "{code}: {}", out.stderr);
    }
    let left: Vec<_> = std::fs::read_dir(cwd.path()).unwrap().flatten().map(|e| e.file_name()).collect();
    assert!(left.is_empty(), "files named after the connection string: {left:?}");
}

/// `pchat --db DB -c CODE` run in `cwd`, standard input closed, with neither `PCHAT_DB` nor the
/// SQL inventory check (a PostgreSQL run's own texts are not for it).
fn pchat_in(cwd: &Path, db: &str, code: &str) -> Run {
    Run::from(
        common::pchat()
            .args(["--db", db, "-c", code])
            .env_remove("PCHAT_DB")
            .env_remove("PCHAT_SQL_INVENTORY")
            .current_dir(cwd)
            .stdin(Stdio::null())
            .output()
            .unwrap(),
    )
}

/// pchat reads the password file as libpq does (`~/.pgpass`, or the file `PGPASSFILE` names),
/// which the `postgres` crate does not: a cron job's URL needs no password, which `ps` and the
/// shell's history would show. A password in the URL wins over the file; a file its group or
/// others may read is not read, with a warning. The test server makes the role pchat_password
/// give a password (scripts/pg-test-cluster); a server started before it did trusts it.
#[test]
fn a_password_file_gives_the_password_the_url_leaves_out() {
    let Some(server) = Server::shared("a_password_file_gives_the_password_the_url_leaves_out") else { return };
    let mut admin = connect(&server.url_of("postgres"));
    let rules: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_hba_file_rules WHERE 'pchat_password' = ANY(user_name) AND auth_method = 'scram-sha-256'",
            &[],
        )
        .unwrap()
        .get(0);
    if rules == 0 {
        // Past the harness's capture, so that every run shows it.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: postgres::a_password_file_gives_the_password_the_url_leaves_out: the test server trusts every role (started before scripts/pg-test-cluster made pchat_password give a password)"
        );
        return;
    }
    // A password with the characters the file escapes.
    let password = format!("p:w\\{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    admin
        .batch_execute(&format!(
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'pchat_password') THEN CREATE ROLE pchat_password LOGIN; END IF; END $$;
             ALTER ROLE pchat_password PASSWORD '{password}'"
        ))
        .unwrap();
    let url = server.missing_database("pgpass").replacen("://pchat@", "://pchat_password@", 1);
    let name = common::pg::database_name(&url);
    admin
        .batch_execute(&format!(
            "CREATE DATABASE {name} OWNER pchat_password TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        ))
        .unwrap();
    let port = url.split("127.0.0.1:").nth(1).and_then(|r| r.split('/').next()).expect("a port").to_string();
    let home = tempfile::tempdir().unwrap();
    let file = home.path().join("pgpass");
    let escaped = password.replace('\\', "\\\\").replace(':', "\\:");
    std::fs::write(
        &file,
        format!("# pchat's\n*:*:*:someone_else:wrong\n127.0.0.1:{port}:{name}:pchat_password:{escaped}\n"),
    )
    .unwrap();
    set_mode(&file, 0o600);
    let pchat = |db: &str, passfile: Option<&Path>| {
        let mut cmd = common::pchat();
        cmd.args(["--db", db, "-c", "get_cs_persistent_chat_policy().len()"])
            .env_remove("PCHAT_DB")
            // As `pchat_in`: an empty database's read runs a text the inventory keeps out.
            .env_remove("PCHAT_SQL_INVENTORY")
            .env_remove("PGPASSFILE")
            .env("HOME", home.path())
            .current_dir(home.path())
            .stdin(Stdio::null());
        if let Some(f) = passfile {
            cmd.env("PGPASSFILE", f);
        }
        Run::from(cmd.output().unwrap())
    };
    let refused = |run: &Run| run.code == 1 && run.stderr.contains("password");

    let run = pchat(&url, Some(&file));
    assert!(run.stdout.trim().parse::<u32>().is_ok(), "the password file was not used: {}", run.stderr);
    // ~/.pgpass when PGPASSFILE is not set.
    std::fs::copy(&file, home.path().join(".pgpass")).unwrap();
    set_mode(&home.path().join(".pgpass"), 0o600);
    let run = pchat(&url, None);
    assert!(run.stdout.trim().parse::<u32>().is_ok(), "~/.pgpass was not used: {}", run.stderr);
    std::fs::remove_file(home.path().join(".pgpass")).unwrap();
    // No file: refused, saying where a password goes.
    let run = pchat(&url, None);
    assert!(
        refused(&run) && run.stderr.contains("put it in ~/.pgpass, or the file PGPASSFILE names"),
        "{}: {}",
        run.code,
        run.stderr
    );
    // A password in the URL wins over the file's.
    let run = pchat(&url.replacen("://pchat_password@", "://pchat_password:not-it@", 1), Some(&file));
    assert!(refused(&run) && !run.stderr.contains("not-it"), "{}: {}", run.code, run.stderr);
    // A file others may read is not read, and the run says why.
    set_mode(&file, 0o644);
    let run = pchat(&url, Some(&file));
    assert!(refused(&run), "{}: {}", run.code, run.stderr);
    assert!(
        run.stderr.contains("has group or world access; permissions should be u=rw (0600) or less"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains(&password), "the password was shown: {}", run.stderr);
}

fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
