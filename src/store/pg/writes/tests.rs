//! Changes to a PostgreSQL store (design notes §5 step 4), proven against a real server on the
//! demo store copied to PostgreSQL (`demo_copied`): through the engine where a cmdlet can say
//! it, through the store where the test must hold a transaction open. Every check reads the
//! central, primary and backup databases through connections of its own.

use std::time::{Duration, Instant};

use crate::engine::{Options, Shell};
use crate::store::Store;
use crate::store::db::ErrorKind;
use crate::store::pg::copy;
use crate::store::pg::test_cluster::{Cluster, connect};
use crate::store::room::MEMBERS;
use crate::store::sessions::tests::demo_copied;

const POOL: &str = "pc01.contoso.com";

/// The demo store on PostgreSQL: its central database and pool pc01's primary and backup.
struct Demo {
    _dir: tempfile::TempDir,
    central: String,
    primary: String,
    backup: String,
}

fn demo(cluster: &Cluster) -> (Demo, Store) {
    let (dir, sqlite, pg, targets) = demo_copied(cluster);
    let pool = sqlite.pools().unwrap().iter().find(|p| p.fqdn.eq_ignore_ascii_case(POOL)).cloned().unwrap();
    let url = |instance: &Option<String>| url_of(&targets, instance.as_deref().unwrap());
    let demo = Demo {
        central: targets.central.clone(),
        primary: url(&pool.database),
        backup: url(&pool.backup_database),
        _dir: dir,
    };
    (demo, pg)
}

fn url_of(targets: &copy::Targets, instance: &str) -> String {
    targets.pools.iter().find(|(i, _)| i.eq_ignore_ascii_case(instance)).map(|(_, u)| u.clone()).unwrap()
}

/// A shell on `store`, unattended, acting as an OS user "tester".
fn shell(store: Store) -> Shell {
    let opts = Options {
        db: std::path::PathBuf::from("unused-on-postgres.db"),
        json: false,
        what_if: false,
        prompt_mode: crate::engine::PromptMode::Unattended,
        script: None,
        args: rhai::Map::new(),
        handlers: &crate::handlers::TABLE,
        confined: false,
        budget: crate::engine::Budget::default(),
        acting: crate::access::Declared::Os("tester".into()),
        origin: crate::engine::Origin::Code,
        read_only: false,
    };
    Shell::with_store(opts, store).unwrap()
}

/// Run `code`, which must not fail.
fn run(sh: &mut Shell, code: &str) {
    if let Err(e) = sh.eval(code) {
        panic!("{code}: {e}");
    }
}

impl Demo {
    fn copies(&self) -> [&str; 2] {
        [&self.primary, &self.backup]
    }

    /// A room's description in a copy (None: no such room).
    fn description(&self, url: &str, room: &str) -> Option<Option<String>> {
        connect(url)
            .query_opt("SELECT description FROM rooms WHERE lower(name) = lower($1)", &[&room])
            .unwrap()
            .map(|r| r.get(0))
    }

    /// A room's list (`members`, …) in a copy.
    fn entries(&self, url: &str, room: &str, list: &str) -> Vec<String> {
        let mut out: Vec<String> = connect(url)
            .query(
                "SELECT e.entry FROM room_entries e JOIN rooms r ON r.id = e.room_id
                  WHERE lower(r.name) = lower($1) AND e.list = $2",
                &[&room, &list],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        out.sort();
        out
    }

    /// Audit records in the central database whose parameters or target mention `needle`.
    fn audited(&self, needle: &str) -> i64 {
        let like = format!("%{needle}%");
        connect(&self.central)
            .query_one(
                "SELECT count(*) FROM audit WHERE coalesce(parameters, '') LIKE $1 OR coalesce(target, '') LIKE $1
                    OR coalesce(after, '') LIKE $1",
                &[&like],
            )
            .unwrap()
            .get(0)
    }

    /// (central, primary, backup) marks of the pool: the generation and change counter.
    fn marks(&self) -> Vec<(i64, i64)> {
        let central = connect(&self.central)
            .query_one("SELECT generation, coalesce(seq, 0) FROM pools WHERE lower(fqdn) = $1", &[&POOL])
            .unwrap();
        let mut out = vec![(central.get(0), central.get(1))];
        for url in self.copies() {
            let row = connect(url)
                .query_one("SELECT generation, seq FROM pool_sync WHERE lower(pool) = $1", &[&POOL])
                .unwrap();
            out.push((row.get(0), row.get(1)));
        }
        out
    }

    fn prepared(&self) -> usize {
        self.copies()
            .iter()
            .map(|url| {
                connect(url)
                    .query("SELECT gid FROM pg_prepared_xacts WHERE database = current_database()", &[])
                    .unwrap()
                    .len()
            })
            .sum()
    }

    fn decisions(&self) -> i64 {
        connect(&self.central).query_one("SELECT count(*) FROM pchat_twophase_decisions", &[]).unwrap().get(0)
    }

    fn decision_ids(&self) -> Vec<String> {
        let rows = connect(&self.central).query("SELECT txid FROM pchat_twophase_decisions ORDER BY 1", &[]).unwrap();
        rows.iter().map(|r| r.get(0)).collect()
    }

    /// Nothing left prepared, and of the decisions at most the last change's, which the open
    /// store lets go with its next write or as it closes (store/sessions.rs, `Sessions::forget`).
    fn assert_settled(&self) {
        assert_eq!(self.prepared(), 0, "prepared branches left");
        assert!(self.decisions() <= 1, "decision rows left: {:?}", self.decision_ids());
    }
}

/// A room created and then changed through the engine lands in the central database (its audit
/// records, the pool's mark) and in both copies, with nothing left prepared or decided.
#[test]
fn a_room_made_through_the_engine_lands_in_central_and_both_copies() {
    let Some(cluster) = Cluster::shared("a_room_made_through_the_engine_lands_in_central_and_both_copies") else {
        return;
    };
    let (d, pg) = demo(cluster);
    let before = d.marks();
    let mut sh = shell(pg);
    run(
        &mut sh,
        &format!(
            r#"new_cs_persistent_chat_room(#{{Name: "Harbour", PersistentChatPoolFqdn: "{POOL}", Category: "Finance"}})"#
        ),
    );
    run(
        &mut sh,
        &format!(
            r#"set_cs_persistent_chat_room("{POOL}\\Harbour", #{{Members: #{{Add: "sip:annb@contoso.com"}}, Description: "Quay"}})"#
        ),
    );
    for url in d.copies() {
        assert_eq!(d.description(url, "Harbour"), Some(Some("Quay".into())), "{url}");
        assert_eq!(d.entries(url, "Harbour", MEMBERS), ["sip:annb@contoso.com"], "{url}");
    }
    assert_eq!(d.audited("Harbour"), 2, "one audit record per change");
    let after = d.marks();
    assert!(after.iter().all(|m| *m == after[0]), "every copy at the pool's mark: {after:?}");
    assert_eq!(after[0].1, before[0].1 + 2, "one move of the mark per change");
    d.assert_settled();
}

/// A change's round trips (design notes §5 step 8; branch wt-trips). Central: BEGIN with the
/// lock of `audit_head`, the last change's decision to delete, the epoch, the access key's meta
/// row, the audit head, the pools' marks and the next two-phase commit's advisory lock, one
/// message; the mark's update; the audit record; the audit head and the decision with the
/// COMMIT, one message; the advisory unlock once every branch is committed (a writer that saw
/// a branch prepared waits for it). Each copy: its BEGIN with the read of its mark, one message;
/// the mark's write, the room's; PREPARE and COMMIT PREPARED; the primary also reads the room and its entries. The decision row of a change goes with the next write (so at most one row is left
/// while the store is open), and the last one as the store closes.
#[test]
fn one_set_takes_the_counted_round_trips_and_its_decision_goes_with_the_next_write() {
    let Some(cluster) =
        Cluster::shared("one_set_takes_the_counted_round_trips_and_its_decision_goes_with_the_next_write")
    else {
        return;
    };
    let (d, pg) = demo(cluster);
    let mut sh = shell(pg);
    let set = |n: usize| format!(r#"set_cs_persistent_chat_room("{POOL}\\FinanceRoom", #{{Description: "d{n}"}})"#);
    // Every statement prepared once.
    run(&mut sh, &set(0));
    let first = d.decision_ids();
    assert_eq!(first.len(), 1, "the last change's decision, kept until the next write");
    let trips = |s: &Store| {
        let copy = |instance: &str| {
            let alias = s.session_alias(instance).unwrap();
            s.copy_session(&alias).unwrap().round_trips()
        };
        [s.db().round_trips(), copy("sql01.contoso.com\\rtc"), copy("sql02.contoso.com\\rtc")]
    };
    let before = sh.looking_at_store(trips);
    run(&mut sh, &set(1));
    let after = sh.looking_at_store(trips);
    let second = d.decision_ids();
    assert_eq!(second.len(), 1, "{second:?}");
    assert_ne!(second, first, "the earlier decision went with this change's BEGIN");
    let spent: Vec<u64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    assert_eq!(spent, [5, 7, 5], "round trips of one Set: central, primary, backup");
    // The lock of each change was let go as it completed: another session can take both.
    let mut other = connect(&d.central);
    for id in first.iter().chain(&second) {
        let key = crate::store::pg::twophase::lock_key(&uuid::Uuid::parse_str(id).unwrap());
        let taken: bool = other.query_one("SELECT pg_try_advisory_lock($1)", &[&key]).unwrap().get(0);
        assert!(taken, "the lock of change {id} is free");
    }
    for url in d.copies() {
        assert_eq!(d.description(url, "FinanceRoom"), Some(Some("d1".into())), "{url}");
    }
    // The head, now written with the COMMIT, still ends the chain.
    let chain = sh.looking_at_store(|s| s.verify_audit(None)).unwrap();
    assert_eq!((chain.broken, chain.head.0), (None, chain.checked), "the audit chain and its head");
    drop(sh);
    assert_eq!((d.prepared(), d.decisions()), (0, 0), "the store deleted the last decision as it closed");
}

/// An atomic run whose script fails rolls back everything it did, in every database.
#[test]
fn a_failed_atomic_run_leaves_nothing_in_any_database() {
    let Some(cluster) = Cluster::shared("a_failed_atomic_run_leaves_nothing_in_any_database") else { return };
    let (d, pg) = demo(cluster);
    let before = d.marks();
    let mut sh = shell(pg);
    sh.begin_unit(crate::engine::unit::Kind::Atomic).unwrap();
    run(
        &mut sh,
        &format!(
            r#"new_cs_persistent_chat_room(#{{Name: "Undone", PersistentChatPoolFqdn: "{POOL}", Category: "Finance"}});
           set_cs_persistent_chat_room("{POOL}\\FinanceRoom", #{{Description: "Undone too"}})"#
        ),
    );
    // Written, not committed: the copies' sessions hold it.
    assert_eq!(d.description(&d.primary, "Undone"), None);
    assert_eq!(sh.finish_atomic(1), 1);
    for url in d.copies() {
        assert_eq!(d.description(url, "Undone"), None, "{url}");
        assert_ne!(d.description(url, "FinanceRoom"), Some(Some("Undone too".into())), "{url}");
    }
    assert_eq!(d.audited("Undone"), 0);
    assert_eq!(d.marks(), before);
    d.assert_settled();
}

/// A pipeline whose middle item fails: its savepoint is rolled back on every session, and the
/// other items commit in every copy.
#[test]
fn a_failed_item_of_a_pipeline_keeps_the_others_in_every_copy() {
    let Some(cluster) = Cluster::shared("a_failed_item_of_a_pipeline_keeps_the_others_in_every_copy") else {
        return;
    };
    let (d, pg) = demo(cluster);
    let mut sh = shell(pg);
    run(
        &mut sh,
        &format!(
            r#"new_cs_persistent_chat_room(#{{Name: "Second", PersistentChatPoolFqdn: "{POOL}", Category: "Finance"}})"#
        ),
    );
    // The middle item fails inside its savepoint, which is rolled back on the central session
    // and on every copy's; the items around it stay.
    let _ = sh.eval(&format!(
        r#"["{POOL}\\FinanceRoom", "{POOL}\\NoSuchRoom", "{POOL}\\Second"].set_cs_persistent_chat_room(#{{Description: "Piped"}})"#
    ));
    for url in d.copies() {
        assert_eq!(d.description(url, "FinanceRoom"), Some(Some("Piped".into())), "{url}");
        assert_eq!(d.description(url, "Second"), Some(Some("Piped".into())), "{url}");
        assert_eq!(d.description(url, "NoSuchRoom"), None, "{url}");
    }
    assert_eq!(d.audited("Piped"), 2, "the two items that succeeded");
    let marks = d.marks();
    assert!(marks.iter().all(|m| *m == marks[0]), "{marks:?}");
    d.assert_settled();
}

/// Run by the tests below in a child process, which `PCHAT_FAULT` kills or pauses at a step of
/// the two-phase commit: sets FinanceRoom's description to `PCHAT_PG_CHILD_TEXT` and says how
/// that ended on standard error.
#[test]
#[ignore = "a child process of the tests below"]
fn store_writer_child() {
    let Ok(central) = std::env::var("PCHAT_PG_CHILD_CENTRAL") else { return };
    let text = std::env::var("PCHAT_PG_CHILD_TEXT").unwrap();
    let mut sh = shell(Store::open_postgres(&central).unwrap());
    let result = sh.eval(&format!(r#"set_cs_persistent_chat_room("{POOL}\\FinanceRoom", #{{Description: "{text}"}})"#));
    eprintln!("child-result: {result:?}");
}

/// The child above, with `fault`; its standard error is piped.
fn writer_child(d: &Demo, text: &str, fault: &str) -> std::process::Child {
    std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "store::pg::writes::store_writer_child", "--ignored", "--nocapture"])
        .env("PCHAT_PG_CHILD_CENTRAL", &d.central)
        .env("PCHAT_PG_CHILD_TEXT", text)
        .env("PCHAT_FAULT", fault)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// Open the store until its opening has resolved every branch left prepared in the copies (the
/// server ends a dead process's sessions asynchronously: until then its lock says it is alive).
fn open_until_recovered(d: &Demo, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let store = Store::open_postgres(&d.central).unwrap();
        store.attach_pool_databases().unwrap();
        if d.prepared() == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: still prepared");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A writer killed (abort: no cleanup, no goodbye to the servers) at each step of the two-phase
/// commit leaves the change in the central database and both copies, or in none of them, once
/// the next open of the store has recovered what it left prepared.
#[test]
fn a_killed_writer_leaves_all_or_nothing_after_recovery() {
    let Some(cluster) = Cluster::shared("a_killed_writer_leaves_all_or_nothing_after_recovery") else { return };
    let (d, pg) = demo(cluster);
    drop(pg);
    let cases = [
        ("pg-2pc-prepared-first", false),
        ("pg-2pc-prepared-all", false),
        ("pg-2pc-decided", true),
        ("pg-2pc-committed-first", true),
    ];
    for (step, committed) in cases {
        let text = format!("Killed at {step}");
        let out = writer_child(&d, &text, &format!("{step}:kill")).wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(&format!("pchat-fault: killed at {step}")), "{step}: {stderr}");
        // The next open resolves what the dead writer left.
        open_until_recovered(&d, step);
        let want = committed.then(|| Some(text.clone()));
        for url in d.copies() {
            assert_eq!(d.description(url, "FinanceRoom").filter(|t| *t == Some(text.clone())), want, "{step} {url}");
        }
        assert_eq!(d.audited(&text), i64::from(committed), "{step}: the central database");
        let marks = d.marks();
        assert!(marks.iter().all(|m| *m == marks[0]), "{step}: {marks:?}");
    }
}

/// Two processes' writers add different members to one room at once: under SERIALIZABLE one of
/// them fails with a serialization failure (kind `Serialization`, which the invocation boundary
/// retries) instead of losing the other's update; run again, both members land in both copies.
#[test]
fn concurrent_writers_to_one_room_both_land_one_after_a_serialization_failure() {
    let Some(cluster) = Cluster::shared("concurrent_writers_to_one_room_both_land_one_after_a_serialization_failure")
    else {
        return;
    };
    let (d, pg) = demo(cluster);
    drop(pg);
    let barrier = std::sync::Barrier::new(2);
    let members = ["sip:w0@contoso.com", "sip:w1@contoso.com"];
    let failures: Vec<Vec<ErrorKind>> = std::thread::scope(|scope| {
        let handles: Vec<_> = members
            .iter()
            .map(|member| {
                let (d, barrier) = (&d, &barrier);
                scope.spawn(move || {
                    let store = Store::open_postgres(&d.central).unwrap();
                    store.attach_pool_databases().unwrap();
                    let mut failed = Vec::new();
                    let mut first = true;
                    loop {
                        match add_member(&store, member, first.then_some(barrier)) {
                            Ok(()) => return failed,
                            Err(e) => {
                                store.rollback();
                                failed.push(e.kind());
                                assert!(failed.len() < 20, "{failed:?}: {e}");
                            }
                        }
                        first = false;
                    }
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let all: Vec<ErrorKind> = failures.concat();
    assert!(!all.is_empty(), "two writers read and wrote the same rows at once: one must fail");
    assert!(all.iter().all(|k| *k == ErrorKind::Serialization), "{all:?}");
    for url in d.copies() {
        assert_eq!(d.entries(url, "FinanceRoom", MEMBERS).iter().filter(|m| members.contains(&m.as_str())).count(), 2);
    }
    let marks = d.marks();
    assert!(marks.iter().all(|m| *m == marks[0]), "{marks:?}");
    d.assert_settled();
}

/// Read FinanceRoom's members, wait for the other writer to have read them too (first attempt),
/// then add `member` after the last one and commit: a read-modify-write, as a handler's.
fn add_member(store: &Store, member: &str, barrier: Option<&std::sync::Barrier>) -> crate::store::db::Result<()> {
    store.begin(true)?;
    let target = store.chat_pools(Some(POOL)).map_err(|e| crate::store::db::DbError::other(e.message))?.remove(0);
    let mut rooms = vec![store.room_by_name(&target, "FinanceRoom")?.expect("the demo's room")];
    store.load_room_lists(&target, &mut rooms)?;
    let count = rooms[0].list(MEMBERS).len() as i64;
    if let Some(b) = barrier {
        b.wait();
    }
    store.pool_write(
        &target,
        "INSERT INTO {db}.room_entries (room_id, list, entry, ord) VALUES (?1, ?2, ?3, ?4)",
        crate::store::db::params![rooms[0].id, MEMBERS, member, count],
    )?;
    store.commit()
}

/// A writer killed with the copies prepared (no decision) leaves their rows locked; a writer of
/// another process, whose sessions were open before (so no open recovers for it), waits for the
/// lock until `lock_timeout`: kind `Busy`, which the invocation boundary retries. Its rollback
/// recovers the copies it was blocked in, so the retry goes through.
#[test]
fn a_writer_blocked_by_a_dead_writers_branch_recovers_it_and_goes_through() {
    let Some(cluster) = Cluster::shared("a_writer_blocked_by_a_dead_writers_branch_recovers_it_and_goes_through")
    else {
        return;
    };
    let (d, store) = demo(cluster);
    store.attach_pool_databases().unwrap();
    let out = writer_child(&d, "Dead", "pg-2pc-prepared-all:kill").wait_with_output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("killed at pg-2pc-prepared-all"));
    assert_eq!(d.prepared(), 2);
    let mut failed = Vec::new();
    loop {
        match set_description(&store, "Alive") {
            Ok(()) => break,
            Err(e) => {
                store.rollback();
                failed.push(e.kind());
                assert!(failed.len() < 4, "{failed:?}: {e}");
            }
        }
    }
    assert!(!failed.is_empty() && failed.iter().all(|k| *k == ErrorKind::Busy), "{failed:?}");
    for url in d.copies() {
        assert_eq!(d.description(url, "FinanceRoom"), Some(Some("Alive".into())), "{url}");
    }
    assert_eq!(d.prepared(), 0);
    let marks = d.marks();
    assert!(marks.iter().all(|m| *m == marks[0]), "{marks:?}");
}

/// FinanceRoom's description through the store, in a write transaction of its own.
fn set_description(store: &Store, text: &str) -> crate::store::db::Result<()> {
    store.begin(true)?;
    let target = store.chat_pools(Some(POOL)).map_err(|e| crate::store::db::DbError::other(e.message))?.remove(0);
    let room = store.room_by_name(&target, "FinanceRoom")?.expect("the demo's room");
    store.pool_write(
        &target,
        "UPDATE {db}.rooms SET description = ?1 WHERE id = ?2",
        crate::store::db::params![text, room.id],
    )?;
    store.commit()
}

/// The backup's session is lost after the decision committed: the change is committed (central
/// and primary now), the error says so and names the backup's database, and the next open of the
/// store commits the backup's prepared branch.
#[test]
fn a_copy_lost_after_the_decision_completes_on_the_next_open() {
    let Some(cluster) = Cluster::shared("a_copy_lost_after_the_decision_completes_on_the_next_open") else { return };
    let (d, pg) = demo(cluster);
    drop(pg);
    let go = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let go_path = go.to_path_buf();
    go.close().unwrap();
    let mut child = writer_child(&d, "Decided", &format!("pg-2pc-decided:pause:{}", go_path.display()));
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("pchat-fault: reached pg-2pc-decided") {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0, "the child ended: {seen}");
        seen.push_str(&line);
    }
    // The child's session on the backup goes, as a server or network failure would take it.
    let backup_db = d.backup.rsplit('/').next().unwrap().to_string();
    let ended: i64 = connect(&d.central)
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1) t",
            &[&backup_db],
        )
        .unwrap()
        .get(0);
    assert_eq!(ended, 1);
    std::fs::write(&go_path, "").unwrap();
    std::io::Read::read_to_string(&mut stderr, &mut seen).unwrap();
    assert!(child.wait().unwrap().success(), "{seen}");
    assert!(seen.contains("the change is committed, but completing it in the pool database"), "{seen}");
    assert!(seen.contains(&backup_db), "names the backup: {seen}");
    assert!(seen.contains("it completes when pchat next opens the store"), "{seen}");
    assert_eq!(d.audited("Decided"), 1);
    assert_eq!(d.description(&d.primary, "FinanceRoom"), Some(Some("Decided".into())));
    assert_ne!(d.description(&d.backup, "FinanceRoom"), Some(Some("Decided".into())));
    assert_eq!(d.prepared(), 1);
    open_until_recovered(&d, "lost backup");
    assert_eq!(d.description(&d.backup, "FinanceRoom"), Some(Some("Decided".into())));
    let marks = d.marks();
    assert!(marks.iter().all(|m| *m == marks[0]), "{marks:?}");
    let _ = std::fs::remove_file(&go_path);
}

/// A child writer paused at `pg-2pc-decided` (its decision committed, its copies still
/// prepared), with the file that lets it go on.
fn writer_paused_at_decided(d: &Demo, text: &str) -> (std::process::Child, std::path::PathBuf) {
    let go = tempfile::NamedTempFile::new().unwrap().into_temp_path();
    let go_path = go.to_path_buf();
    go.close().unwrap();
    let mut child = writer_child(d, text, &format!("pg-2pc-decided:pause:{}", go_path.display()));
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut seen = String::new();
    while !seen.contains("pchat-fault: reached pg-2pc-decided") {
        let mut line = String::new();
        assert!(std::io::BufRead::read_line(&mut stderr, &mut line).unwrap() > 0, "the child ended: {seen}");
        seen.push_str(&line);
    }
    // Its standard error stays open: keep reading it so the child never blocks on it.
    std::thread::spawn(move || std::io::Read::read_to_string(&mut stderr, &mut String::new()));
    (child, go_path)
}

/// The pool as a call of its own transaction sees it (`write`: a change's), rolled back after.
fn target_in_transaction(store: &Store, write: bool) -> crate::errors::CmdletResult<crate::store::pools::PoolTarget> {
    store.begin(write).unwrap();
    let target = store.chat_pools(Some(POOL)).map(|mut t| t.remove(0));
    store.rollback();
    target
}

/// Between a writer's decision and its COMMIT PREPAREDs the pool's central mark is ahead of the
/// copies'. Another store reading the pool then waits for that writer and gets a retryable
/// error (here the lock timeout, as the writer is paused), not a copy out of step; once the
/// writer is gone (killed where
/// it stopped), the next attempt's rollback recovers its branches and the pool is served by both
/// copies, with the change in each.
#[test]
fn a_copy_in_flight_is_a_retryable_race_not_out_of_step() {
    let Some(cluster) = Cluster::shared("a_copy_in_flight_is_a_retryable_race_not_out_of_step") else { return };
    let (d, store) = demo(cluster);
    store.attach_pool_databases().unwrap();
    let (mut child, go_path) = writer_paused_at_decided(&d, "In flight");
    assert_eq!(d.prepared(), 2);
    let marks = d.marks();
    assert!(marks[1] < marks[0] && marks[2] < marks[0], "{marks:?}");
    for write in [false, true] {
        // The reader waits for the live writer (`twophase::in_flight`); paused, it never finishes,
        // so the wait ends at `lock_timeout`: retried like any lock timeout on PostgreSQL.
        let err = target_in_transaction(&store, write).unwrap_err();
        assert_eq!(err.transient, Some(crate::errors::Transient::LockTimeout), "write {write}: {}", err.message);
    }
    // The writer dies where it stopped: its decision stands, recovery completes its copies.
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let target = loop {
        match target_in_transaction(&store, true) {
            Ok(target) => break target,
            Err(e) => {
                assert!(
                    matches!(
                        e.transient,
                        Some(crate::errors::Transient::Conflict | crate::errors::Transient::CopyOutOfStep)
                    ),
                    "{}",
                    e.message
                );
                assert!(Instant::now() < deadline, "still in flight: {}", e.message);
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    assert!(target.mirror.is_some() && target.mirror_missing.is_none(), "{target:?}");
    assert_eq!(d.prepared(), 0);
    for url in d.copies() {
        assert_eq!(d.description(url, "FinanceRoom"), Some(Some("In flight".into())), "{url}");
    }
    let marks = d.marks();
    assert!(marks.iter().all(|m| *m == marks[0]), "{marks:?}");
    let _ = std::fs::remove_file(&go_path);
}

/// Outside a transaction, a dead writer's branches found behind the pool's mark are recovered
/// at once and the marks read again: the answer is the pool served by both copies.
#[test]
fn a_dead_writers_copy_outside_a_transaction_is_recovered_and_read_again() {
    let Some(cluster) = Cluster::shared("a_dead_writers_copy_outside_a_transaction_is_recovered_and_read_again") else {
        return;
    };
    let (d, store) = demo(cluster);
    store.attach_pool_databases().unwrap();
    let (mut child, go_path) = writer_paused_at_decided(&d, "Dead in flight");
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    let target = loop {
        match store.chat_pools(Some(POOL)) {
            Ok(mut t) => break t.remove(0),
            Err(e) => {
                // Until the server has ended the dead writer's sessions, its lock says it lives.
                assert!(
                    matches!(
                        e.transient,
                        Some(crate::errors::Transient::Conflict | crate::errors::Transient::CopyOutOfStep)
                    ),
                    "{}",
                    e.message
                );
                assert!(Instant::now() < deadline, "still in flight: {}", e.message);
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    assert!(target.mirror.is_some(), "{target:?}");
    assert_eq!(d.prepared(), 0);
    let marks = d.marks();
    assert!(marks.iter().all(|m| *m == marks[0]), "{marks:?}");
    let _ = std::fs::remove_file(&go_path);
}

/// A pool database session lost mid-process (its backend terminated, as a server restart or a
/// network failure would end it) fails the call that meets it; the next call's begin opens a
/// new session, and the change goes through to both copies.
#[test]
fn a_lost_pool_session_is_reopened_at_the_next_begin() {
    let Some(cluster) = Cluster::shared("a_lost_pool_session_is_reopened_at_the_next_begin") else { return };
    let (d, store) = demo(cluster);
    store.begin_attached(false).map_err(|_| ()).unwrap();
    store.rollback();
    let backup_db = d.backup.rsplit('/').next().unwrap().to_string();
    let ended: i64 = connect(&d.central)
        .query_one(
            "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1) t",
            &[&backup_db],
        )
        .unwrap()
        .get(0);
    assert_eq!(ended, 1);
    let mut failed = Vec::new();
    for _ in 0..3 {
        let attempt =
            store.begin_attached(true).map_err(|_| crate::store::db::DbError::other("begin")).and_then(|()| {
                let target =
                    store.chat_pools(Some(POOL)).map_err(|e| crate::store::db::DbError::other(e.message))?.remove(0);
                let room = store.room_by_name(&target, "FinanceRoom")?.expect("the demo's room");
                store.pool_write(
                    &target,
                    "UPDATE {db}.rooms SET description = ?1 WHERE id = ?2",
                    crate::store::db::params!["Reopened", room.id],
                )?;
                store.commit()
            });
        match attempt {
            Ok(()) => break,
            Err(e) => {
                store.rollback();
                failed.push(e.to_string());
            }
        }
    }
    assert!(failed.len() <= 1, "{failed:?}");
    for url in d.copies() {
        assert_eq!(d.description(url, "FinanceRoom"), Some(Some("Reopened".into())), "{url}");
    }
    let marks = d.marks();
    assert!(marks.iter().all(|m| *m == marks[0]), "{marks:?}");
}

/// The greatest `id` in a database's tables of bigint ids.
fn greatest_id(url: &str) -> i64 {
    let mut client = connect(url);
    let tables: Vec<String> = client
        .query(
            "SELECT table_name::text FROM information_schema.columns
              WHERE table_schema = current_schema() AND column_name = 'id' AND data_type = 'bigint'",
            &[],
        )
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(!tables.is_empty(), "{url}");
    tables
        .iter()
        .map(|t| client.query_one(&format!("SELECT coalesce(max(id), 0) FROM {t}"), &[]).unwrap().get::<_, i64>(0))
        .max()
        .unwrap()
}

/// Two processes' stores on one PostgreSQL store take 5,000 row ids each at once: no id is
/// taken twice, each store's ids rise, and every one is above the ids copy-store copied (the
/// sequence was moved past them).
#[test]
fn row_ids_of_two_processes_never_collide_and_rise_above_the_copied_ones() {
    let Some(cluster) = Cluster::shared("row_ids_of_two_processes_never_collide_and_rise_above_the_copied_ones") else {
        return;
    };
    let (d, store) = demo(cluster);
    let copied = [&d.central, &d.primary, &d.backup].into_iter().map(|u| greatest_id(u)).max().unwrap();
    assert!(copied > 0);
    assert!(store.new_id() > copied, "the first id after copy-store");
    drop(store);
    let barrier = std::sync::Barrier::new(2);
    let taken: Vec<Vec<i64>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (d, barrier) = (&d, &barrier);
                scope.spawn(move || {
                    let store = Store::open_postgres(&d.central).unwrap();
                    barrier.wait();
                    (0..5_000).map(|_| store.new_id()).collect::<Vec<i64>>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for ids in &taken {
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "each store's ids rise");
        assert!(ids[0] > copied);
    }
    let all: std::collections::HashSet<i64> = taken.iter().flatten().copied().collect();
    assert_eq!(all.len(), 10_000, "an id was taken twice");
}

/// Run `code`, which must fail; its error as the user reads it.
fn fails(sh: &mut Shell, code: &str) -> String {
    match sh.eval(code) {
        Ok(v) => panic!("{code}: succeeded ({v:?})"),
        Err(e) => e.to_string(),
    }
}

const FAIL_OVER: &str = r#"set_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com", #{PoolState: "FailedOver", ErrorAction: "Stop"})"#;
const FAIL_BACK: &str = r#"set_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com", #{PoolState: "Normal", ErrorAction: "Stop"})"#;

fn repair(source: &str) -> String {
    format!(
        r#"repair_cs_persistent_chat_database(#{{Identity: "PersistentChatServer:{POOL}", Source: "{source}", Confirm: false, ErrorAction: "Stop"}})"#
    )
}

fn new_room(name: &str) -> String {
    format!(
        r#"new_cs_persistent_chat_room(#{{Name: "{name}", PersistentChatPoolFqdn: "{POOL}", Category: "Finance"}})"#
    )
}

/// The pool's rows in the copy at `url` (see `test_server::pool_rows`).
fn pool_rows(url: &str) -> Vec<String> {
    crate::store::pg::test_server::pool_rows(url, POOL)
}

#[test]
fn the_tests_pool_tables_are_the_copied_ones() {
    let copied: Vec<_> = crate::store::pool_data::COPY_ORDER.iter().copied().chain([("pool_sync", None)]).collect();
    assert_eq!(crate::store::pg::test_server::POOL_TABLES, copied.as_slice());
}

impl Demo {
    fn state(&self) -> String {
        connect(&self.central).query_one("SELECT state FROM pools WHERE lower(fqdn) = $1", &[&POOL]).unwrap().get(0)
    }

    fn has_room(&self, url: &str, room: &str) -> bool {
        self.description(url, room).is_some()
    }

    /// The SQL instance of a copy (its `Connection` is `url`).
    fn instance_of(&self, url: &str) -> String {
        connect(&self.central).query_one("SELECT identity FROM sql_instances WHERE file = $1", &[&url]).unwrap().get(0)
    }

    /// The database of `url` dropped and made again, empty (as after it was lost).
    fn recreate_empty(&self, url: &str) {
        let name = url.rsplit('/').next().and_then(|n| n.split('?').next()).unwrap();
        let mut server = connect(&self.central);
        server.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
        server
            .batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"))
            .unwrap();
    }

    fn tables(&self, url: &str) -> Vec<String> {
        connect(url)
            .query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public' ORDER BY 1", &[])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
}

/// A fail-over to a backup behind the pool's mark is refused with the reason and the repair
/// that fixes it, and changes nothing in any database.
#[test]
fn fail_over_to_a_backup_behind_is_refused_unchanged() {
    let Some(cluster) = Cluster::shared("fail_over_to_a_backup_behind_is_refused_unchanged") else { return };
    let (d, pg) = demo(cluster);
    connect(&d.backup).execute("UPDATE pool_sync SET seq = seq - 1 WHERE lower(pool) = $1", &[&POOL]).unwrap();
    let (marks, rows) = (d.marks(), [pool_rows(&d.primary), pool_rows(&d.backup)]);
    let mut sh = shell(pg);
    let e = fails(&mut sh, FAIL_OVER);
    assert!(e.contains("failing over would lose changes"), "{e}");
    assert!(e.contains(r#"Source: "Primary""#), "{e}");
    assert_eq!(d.marks(), marks);
    assert_eq!([pool_rows(&d.primary), pool_rows(&d.backup)], rows);
    assert_eq!(d.state(), "Normal");
    d.assert_settled();
}

/// Failed over, the pool is served by the backup alone: a new room lands there and not in the
/// primary. Failing back streams every row of the pool into the primary (the same rows, table
/// by table, as the backup's) and moves the generation in central and both copies.
#[test]
fn fail_over_writes_to_the_backup_then_fail_back_copies_every_row() {
    let Some(cluster) = Cluster::shared("fail_over_writes_to_the_backup_then_fail_back_copies_every_row") else {
        return;
    };
    let (d, pg) = demo(cluster);
    let before = d.marks();
    let mut sh = shell(pg);
    run(&mut sh, FAIL_OVER);
    assert_eq!(d.state(), "FailedOver");
    let over = d.marks();
    assert_eq!(over[0], (before[0].0 + 1, before[0].1), "fail-over moves the generation");
    assert_eq!((over[1], over[2]), (before[1], over[0]), "the backup holds the new mark, the primary the old");
    run(&mut sh, &new_room("WhileOver"));
    run(&mut sh, &format!(r#"set_cs_persistent_chat_room("{POOL}\\FinanceRoom", #{{Description: "changed over"}})"#));
    assert!(d.has_room(&d.backup, "WhileOver") && !d.has_room(&d.primary, "WhileOver"));
    assert_ne!(pool_rows(&d.primary), pool_rows(&d.backup));

    run(&mut sh, FAIL_BACK);
    assert_eq!(d.state(), "Normal");
    assert_eq!(pool_rows(&d.primary), pool_rows(&d.backup), "the primary holds the backup's rows");
    assert!(pool_rows(&d.primary).iter().any(|l| l.starts_with("messages: ") && !l.starts_with("messages: 0 ")));
    assert!(d.has_room(&d.primary, "WhileOver"));
    assert_eq!(d.description(&d.primary, "FinanceRoom"), Some(Some("changed over".into())));
    let back = d.marks();
    assert_eq!(back, vec![(over[0].0 + 1, over[0].1 + 2); 3], "every copy at the pool's new mark");
    d.assert_settled();
    // Normal again: a change reaches both copies.
    run(&mut sh, &new_room("AfterBack"));
    assert!(d.has_room(&d.primary, "AfterBack") && d.has_room(&d.backup, "AfterBack"));
}

/// A repair copies one copy over the other in either direction (the pool then served from the
/// source), and into a database that was lost and made again empty: the pool schema is made in
/// it within the repair's two-phase commit.
#[test]
fn repair_in_both_directions_and_into_an_empty_database() {
    let Some(cluster) = Cluster::shared("repair_in_both_directions_and_into_an_empty_database") else { return };
    let (d, pg) = demo(cluster);
    // The backup lost a room: repairing from the primary puts it back.
    connect(&d.backup).execute("DELETE FROM rooms WHERE name = 'FinanceRoom'", &[]).unwrap();
    let mut sh = shell(pg);
    run(&mut sh, &repair("Primary"));
    assert_eq!(pool_rows(&d.primary), pool_rows(&d.backup));
    assert!(d.has_room(&d.backup, "FinanceRoom"));
    assert_eq!(d.state(), "Normal");
    // From the backup: the primary gets its rows, the pool is served from the backup.
    connect(&d.primary).execute("DELETE FROM rooms WHERE name = 'FinanceRoom'", &[]).unwrap();
    run(&mut sh, &repair("Backup"));
    assert_eq!(pool_rows(&d.primary), pool_rows(&d.backup));
    assert!(d.has_room(&d.primary, "FinanceRoom"));
    assert_eq!(d.state(), "FailedOver");
    let marks = d.marks();
    assert!(marks.iter().all(|m| *m == marks[0]), "{marks:?}");
    drop(sh);

    // The primary's database lost and made again empty: writes say it is unavailable; a repair
    // from the backup makes the pool schema in it and fills it; fail back works.
    let rows = pool_rows(&d.backup);
    d.recreate_empty(&d.primary);
    let mut sh = shell(Store::open_postgres(&d.central).unwrap());
    run(&mut sh, &repair("Backup"));
    assert_eq!(pool_rows(&d.primary), pool_rows(&d.backup));
    // The same rows as before the loss; only the marks (pool_sync, last) moved on.
    assert_eq!(pool_rows(&d.primary)[..6], rows[..6]);
    let marks = d.marks();
    assert!(marks.iter().all(|m| *m == marks[0]), "{marks:?}");
    d.assert_settled();
    // The rebuilt database carries an identity row the central database recorded in the same
    // commit: a store opened afresh recognises it (else its session open reports it unavailable).
    let stamped: String = connect(&d.primary).query_one("SELECT id FROM pool_file", &[]).unwrap().get(0);
    let recorded: String = connect(&d.central)
        .query_one("SELECT id FROM pool_database_identities WHERE connection = $1", &[&d.primary])
        .unwrap()
        .get(0);
    assert_eq!(stamped, recorded);
    let mut sh = shell(Store::open_postgres(&d.central).unwrap());
    run(&mut sh, FAIL_BACK);
    run(&mut sh, &new_room("AfterRebuild"));
    assert!(d.has_room(&d.primary, "AfterRebuild") && d.has_room(&d.backup, "AfterRebuild"));
}

/// A repair whose target database holds something else (another schema, tables not a pool's)
/// or cannot be reached is refused with what to do, and nothing is written to any database.
#[test]
fn repair_refuses_a_database_that_holds_something_else() {
    let Some(cluster) = Cluster::shared("repair_refuses_a_database_that_holds_something_else") else { return };
    let (d, _pg) = demo(cluster);
    let backup_instance = d.instance_of(&d.backup);
    let foreign = cluster.database("foreign");
    connect(&foreign).batch_execute("CREATE TABLE payroll (id int); INSERT INTO payroll VALUES (1);").unwrap();
    let missing = cluster.missing_database("gone");
    let cases = [
        (foreign.as_str(), "holds tables that are not this pool's copy (payroll)"),
        (d.central.as_str(), "holds pchat's central schema"),
        // Its server answers: the database is to be created, not a server brought back.
        (missing.as_str(), "does not exist; pchat does not create databases: have it created with CREATE DATABASE"),
    ];
    for (url, expected) in cases {
        connect(&d.central)
            .execute("UPDATE sql_instances SET file = $1 WHERE identity = $2", &[&url, &backup_instance])
            .unwrap();
        let (marks_before, central_before) = (d.marks_of_central(), d.tables(&d.central));
        let primary_before = pool_rows(&d.primary);
        let mut sh = shell(Store::open_postgres(&d.central).unwrap());
        let e = fails(&mut sh, &repair("Primary"));
        assert!(e.contains(expected), "{url}: {e}");
        assert!(e.contains("nothing was changed"), "{e}");
        assert_eq!(d.marks_of_central(), marks_before);
        assert_eq!(d.tables(&d.central), central_before);
        assert_eq!(pool_rows(&d.primary), primary_before);
        assert_eq!(d.prepared(), 0);
    }
    assert_eq!(d.tables(&foreign), ["payroll"]);
    let payroll: i64 = connect(&foreign).query_one("SELECT count(*) FROM payroll", &[]).unwrap().get(0);
    assert_eq!(payroll, 1);
}

impl Demo {
    fn marks_of_central(&self) -> (i64, i64, String) {
        let row = connect(&self.central)
            .query_one("SELECT generation, coalesce(seq, 0), state FROM pools WHERE lower(fqdn) = $1", &[&POOL])
            .unwrap();
        (row.get(0), row.get(1), row.get(2))
    }
}

/// How long a change takes through the engine with its two-phase commit (central + both
/// copies): 200 `set_cs_persistent_chat_room` calls in one runbook, each its own transaction.
/// `PCHAT_PG_REQUIRED=1 cargo test --release --lib store::pg::writes::change_cost -- --ignored --nocapture`
#[test]
#[ignore = "a measurement"]
fn change_cost() {
    let Some(cluster) = Cluster::shared("change_cost") else { return };
    let (d, pg) = demo(cluster);
    let script = format!(
        r#"for i in 0..200 {{ set_cs_persistent_chat_room("{POOL}\\FinanceRoom", #{{Description: "n" + i}}); }}"#
    );
    // The same on the SQLite demo store it was copied from, for scale.
    let sqlite = Store::open(&d._dir.path().join("demo.db")).unwrap();
    for (name, store) in [("SQLite", sqlite), ("PostgreSQL", pg)] {
        let mut sh = shell(store);
        let started = Instant::now();
        run(&mut sh, &script);
        let spent = started.elapsed();
        eprintln!("change_cost: {name}: 200 changes in {spent:?}, {:?} each", spent / 200);
    }
    for url in d.copies() {
        assert_eq!(d.description(url, "FinanceRoom"), Some(Some("n199".into())));
    }
}
