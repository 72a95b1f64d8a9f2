//! A long-lived pchat on a PostgreSQL store goes on after the central database's server restarts
//! between its calls (issue #18's adversary, F1; docs/failover.md, "On a PostgreSQL store"): the
//! next call opens the store again. With the server still down the call fails with an error that
//! names the database and says nothing was changed, and the runbook stops (exit 1). A runbook is
//! held between two changes at a fault point (`PCHAT_FAULT=committed:pause:<file>`, as in
//! pg_turns.rs) while the test restarts the server of its own (`halt`/`resume`, as in
//! pg_failover.rs) or terminates the runbook's sessions. Skipped without PostgreSQL unless
//! `PCHAT_PG_REQUIRED` is set.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Stdio};

use crate::common::INSTANCES;
use crate::common::Run;
use crate::common::pg::{Server, connect, database_name};
use crate::postgres::{Pg, count, on_postgres, on_postgres_at};

const POOL: &str = "pc01.contoso.com";

fn new_room(name: &str) -> String {
    format!(
        r#"new_cs_persistent_chat_room(#{{Name: "{name}", PersistentChatPoolFqdn: "{POOL}", Category: "Finance"}});"#
    )
}

/// What the runbooks print last.
const RUNBOOK_END: &str = "ran to the end";

/// A `pchat run` held at a fault point until `release`.
struct Held {
    child: Child,
    go: PathBuf,
    _dir: tempfile::TempDir,
    stderr: std::thread::JoinHandle<String>,
}

impl Held {
    /// The runbook that adds room `First`, then room `Second`, held after `First` commits.
    fn after_first_change(pg: &Pg) -> Held {
        let runbook = format!("{}\n{}\nprint(\"{RUNBOOK_END}\");\n", new_room("First"), new_room("Second"));
        Held::at(pg, "committed", &runbook)
    }

    /// `runbook` run, held the first time it reaches `step`.
    fn at(pg: &Pg, step: &str, runbook: &str) -> Held {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("runbook.rhai");
        std::fs::write(&path, runbook).unwrap();
        let go = dir.path().join("go");
        let mut child = pg
            .command(&["run", path.to_str().unwrap()])
            .env("PCHAT_FAULT", format!("{step}:pause:{}", go.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut seen = String::new();
        while !seen.contains(&format!("pchat-fault: reached {step}")) {
            let mut line = String::new();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "ended before {step}: {seen}");
            seen.push_str(&line);
        }
        let stderr = std::thread::spawn(move || {
            let _ = stderr.read_to_string(&mut seen);
            seen
        });
        Held { child, go, _dir: dir, stderr }
    }

    /// Let it go on, to its end.
    fn release(mut self) -> Run {
        std::fs::write(&self.go, "").unwrap();
        let mut stdout = String::new();
        self.child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
        let status = self.child.wait().unwrap();
        Run { code: status.code().unwrap_or(-1), stdout, stderr: self.stderr.join().unwrap() }
    }
}

fn has_room(url: &str, name: &str) -> bool {
    connect(url).query_opt("SELECT 1 FROM rooms WHERE pool = $1 AND name = $2", &[&POOL, &name]).unwrap().is_some()
}

/// The store on a server of the test's own: central and pool databases, all restarted together.
fn own_store(server: &Server, tag: &str) -> Pg {
    let pools = (0..INSTANCES.len()).map(|i| server.missing_database(&format!("{tag}_p{i}"))).collect();
    on_postgres_at(server, tag, pools)
}

/// Neither the crate's nor the socket's words: the error says what was lost and what to check.
fn assert_no_raw_words(stderr: &str) {
    for raw in ["Broken pipe", "connection closed", "store error: db error"] {
        assert!(!stderr.contains(raw), "{raw}: {stderr}");
    }
}

#[test]
fn a_runbook_goes_on_after_the_central_server_restarts_between_its_calls() {
    let Some(server) = Server::start_own() else { return };
    let pg = own_store(&server, "rc_restart");
    let held = Held::after_first_change(&pg);
    // Every session the runbook holds (central and pools) dies with the server.
    server.halt();
    server.resume();
    let run = held.release();
    assert_eq!(run.code, 0, "the runbook goes on after the restart: {}", run.stderr);
    assert!(run.stdout.contains(RUNBOOK_END), "{}", run.stdout);
    assert_no_raw_words(&run.stderr);
    for copy in pg.copies() {
        for room in ["First", "Second"] {
            assert!(has_room(copy, room), "{room} in {copy}");
        }
        assert_eq!(count(copy, "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"), 0);
    }
}

#[test]
fn a_runbook_whose_central_server_stays_down_stops_with_the_database_named_and_nothing_changed() {
    let Some(server) = Server::start_own() else { return };
    let pg = own_store(&server, "rc_down");
    let held = Held::after_first_change(&pg);
    server.halt();
    let run = held.release();
    server.resume();
    eprintln!("with the central server down the runbook says: {}", run.stderr.trim());
    // A terminating error, as when the store cannot be opened at the start.
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stdout.contains(RUNBOOK_END), "the runbook stopped at the failed call: {}", run.stdout);
    let central = database_name(&pg.central);
    for expected in [
        "New-CsPersistentChatRoom",
        central.as_str(),
        "cannot be opened again",
        "check that its PostgreSQL server is running",
        "nothing was changed",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
    assert_no_raw_words(&run.stderr);
    for copy in pg.copies() {
        assert!(has_room(copy, "First"), "the change before the loss stands in {copy}");
        assert!(!has_room(copy, "Second"), "the failed change is nowhere: {copy}");
        assert_eq!(count(copy, "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()"), 0);
    }
    // The store is usable as it was: the next command adds the room.
    pg.c(&new_room("Second")).ok();
    assert!(pg.copies().iter().all(|copy| has_room(copy, "Second")));
}

/// The same with the sessions terminated by an administrator (`pg_terminate_backend`), the
/// server up: nothing to wait for, the next call opens the store again at once.
#[test]
fn a_runbook_goes_on_after_its_sessions_are_terminated() {
    let Some(server) = Server::shared("a_runbook_goes_on_after_its_sessions_are_terminated") else { return };
    let pg = on_postgres(server, "rc_term");
    let held = Held::after_first_change(&pg);
    let databases: Vec<String> = std::iter::once(&pg.central).chain(&pg.pools).map(|url| database_name(url)).collect();
    let terminated: i64 = connect(&server.url_of("postgres"))
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
             WHERE datname = ANY($1) AND application_name = 'pchat') t",
            &[&databases],
        )
        .unwrap()
        .get(0);
    assert!(terminated > 0, "the runbook's sessions were found");
    let run = held.release();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_no_raw_words(&run.stderr);
    for copy in pg.copies() {
        assert!(has_room(copy, "Second"), "Second in {copy}");
    }
}

fn prepared(url: &str) -> i64 {
    count(url, "SELECT count(*) FROM pg_prepared_xacts WHERE database = current_database()")
}

/// Lost in the middle of a change, before its commit point (one copy prepared, the decision not
/// sent): nothing committed, so the call runs once more on a fresh connection, after the branch
/// left prepared is rolled back by the new sessions' recovery; the change lands once, in both.
#[test]
fn a_change_lost_before_its_commit_point_runs_again_on_a_fresh_connection() {
    let Some(server) = Server::start_own() else { return };
    let pg = own_store(&server, "rc_mid");
    let held = Held::at(&pg, "pg-2pc-prepared-first", &format!("{}\nprint(\"{RUNBOOK_END}\");\n", new_room("Mid")));
    server.halt();
    server.resume();
    let run = held.release();
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(run.stdout.contains(RUNBOOK_END), "{}", run.stdout);
    assert_no_raw_words(&run.stderr);
    for copy in pg.copies() {
        assert_eq!(count(copy, "SELECT count(*) FROM rooms WHERE name = 'Mid'"), 1, "{copy}");
        assert_eq!(prepared(copy), 0, "{copy}");
    }
}

/// Lost at the commit point (every copy prepared, the decision's COMMIT sent on a dead
/// connection): the outcome is unknown to the process, which says so and does not run the call
/// again; the next command settles it from the decision rows (here: none, so rolled back in
/// every copy), leaving both copies alike.
#[test]
fn a_change_lost_at_its_commit_point_says_it_may_or_may_not_have_been_committed() {
    let Some(server) = Server::start_own() else { return };
    let pg = own_store(&server, "rc_doubt");
    let held = Held::at(&pg, "pg-2pc-prepared-all", &format!("{}\nprint(\"{RUNBOOK_END}\");\n", new_room("Doubt")));
    server.halt();
    server.resume();
    let run = held.release();
    eprintln!("lost at the commit point the runbook says: {}", run.stderr.trim());
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(!run.stdout.contains(RUNBOOK_END), "{}", run.stdout);
    for expected in ["may or may not have been committed", "the next command completes or undoes it"] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
    assert_no_raw_words(&run.stderr);
    assert!(pg.copies().iter().all(|copy| prepared(copy) == 1), "a branch left prepared in each copy");
    pg.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).len()"#).ok();
    for copy in pg.copies() {
        assert_eq!(prepared(copy), 0, "settled by the next command: {copy}");
        assert!(!has_room(copy, "Doubt"), "no decision: rolled back in {copy}");
    }
}
