//! What a store holds besides its central connection, by backend (docs/design/postgres-port.md
//! §1, §5 step 3). SQLite: the pool files attached to the one connection (aliases, file keys).
//! PostgreSQL: one session per pool database, each joining the store's transaction when a
//! statement is first routed to it; a change of the topology's tables or the directory moves the
//! central database's `store_epoch` row (`schema::STORE_EPOCH`), which keys the store's caches.

use std::cell::{Cell, OnceCell, RefCell};
use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;

use super::db::{self, Begin, Db, OptionalExtension};
use super::pg::twophase::{self, Failure, InFlight};
use super::{Store, commit, dialect, pool_files, schema, seed};

/// What a write transaction's first message reads on the central session besides its BEGIN
/// and LOCK (`Store::take_prefetched`, which expects these four statements in this order): the
/// epoch, the access version (`access::ACCESS_VERSION`), the audit head, every pool's mark.
const PREFETCH: &str = "SELECT n FROM store_epoch WHERE id = 1; \
     SELECT value FROM meta WHERE key = 'access_version'; \
     SELECT count, encode(hash, 'hex') FROM audit_head WHERE id = 1; \
     SELECT fqdn, generation, seq FROM pools";

/// Bytes of a hex text (`encode(…, 'hex')`); `None` when it is not one.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// An attached pool database: its schema alias, its file and which file on disk it was.
pub(super) struct Attached {
    pub(super) alias: String,
    pub(super) path: PathBuf,
    pub(super) file: pool_files::FileKey,
}

pub(super) enum Backend {
    Sqlite(Files),
    Pg(Box<Sessions>),
}

/// A SQLite store's pool files, attached to its connection.
#[derive(Default)]
pub(super) struct Files {
    /// SQL instance identity (lower case) → its attached pool database. Checked against the
    /// central database and the file on disk before every invocation (`attach_pool_databases`).
    pub(super) attached: RefCell<HashMap<String, Attached>>,
    /// Aliases handed out so far (a detached alias is not reused within the connection).
    pub(super) aliases: Cell<u32>,
}

/// A PostgreSQL store's pool database sessions.
#[derive(Default)]
pub(super) struct Sessions {
    /// The central database's connection string, as given: what `Store::reopened` opens again.
    url: String,
    list: SessionList,
    /// SQL instance identity (lower case) → the alias of its session (`pgN`): what
    /// `Store::pool_schema` answers, and `Target::Copy` names, as the attached alias does on
    /// SQLite.
    by_instance: RefCell<HashMap<String, String>>,
    /// SQL instance identity (lower case) of each unavailable pool database → what the central
    /// database recorded for it when it was found so (`pool_database_identities`): a repair that
    /// rebuilt it meanwhile records another (`Store::unavailable_rebuilt`).
    unavailable_records: RefCell<HashMap<String, Option<super::pg::identity::Identity>>>,
    /// What the store's open transaction is: only one that `Store::begin` opened may a copy's
    /// session join.
    mode: Cell<Mode>,
    /// Sessions (aliases) whose part of the store's transaction is open.
    joined: RefCell<Vec<String>>,
    /// The store's open savepoints, outermost first: a session that joins later opens them too,
    /// so that a rollback to one or its release applies to every session alike.
    savepoints: RefCell<Vec<String>>,
    /// The `store_epoch` value read in the open transaction (read or write), with the central
    /// session's `Db::epoch_writes` at that moment. Its snapshot cannot change, so the value
    /// stays true until this session runs a statement that may move the row
    /// (`pg::epoch_watch`): then it is read again (design notes §5 step 8).
    epoch: Cell<Option<(i64, u64)>>,
    /// Pools' marks (lower-case FQDN → mark) read or set in the open transaction, kept as the
    /// epoch is: `set_marks` records what it wrote, any statement that may move the epoch (every
    /// other write to `pools` does) or a rollback to a savepoint drops them.
    marks: RefCell<HashMap<String, (super::failover::Mark, u64)>>,
    /// Row ids taken from the central sequence and not handed out yet: the next, and the end
    /// (excluded) of the block (`Store::id_from_sequence`).
    ids: Cell<(i64, i64)>,
    /// The next write transaction runs alone (`Store::run_alone_next`): the retry of a call
    /// that lost a race.
    alone: Cell<bool>,
    /// The open write transaction runs alone (took `audit_head` EXCLUSIVE, `Store::exclude_writers`).
    alone_now: Cell<bool>,
    /// What this process's open made of an empty database (`Store::unmake_if_unwritten`).
    pub(super) made: super::unmade::Made,
    /// The last change this process's two-phase commit completed (every branch committed):
    /// its decision row is needed no more (no prepared branch names it). Deleted with the next
    /// write transaction's first message (`begin_postgres`) instead of a round trip after every
    /// change (design notes §5 step 8), until a central commit carried the DELETE. A store closed
    /// with one pending deletes it then (`Drop for Store`). The change's advisory lock is not
    /// deferred so: a writer that found the change's branch prepared waits on that lock
    /// (`twophase::in_flight`), and one running alone holds off the next write that would carry
    /// it (the 4 x 1,000 acceptance run lost calls that way).
    forget: Cell<Option<uuid::Uuid>>,
    /// A transaction id whose advisory lock the central session holds and that no branch was
    /// ever prepared under: taken in a write transaction's first message (`begin_postgres`),
    /// used by its two-phase commit (`commit_prepared`), else kept for the next write. Such a
    /// lock guards nothing yet (only a prepared gid is ever looked up by its lock), so holding it
    /// longer changes nothing for recovery; it saves the lock's own round trip per change.
    held: Cell<Option<uuid::Uuid>>,
    /// What the write transaction's first message read besides (`begin_postgres`), for the
    /// first reader to take instead of a round trip of its own (see `Prefetched`).
    prefetched: RefCell<Prefetched>,
}

/// Central rows read in a write transaction's first message (`begin_postgres`): the same
/// snapshot as any later read of the transaction, so the same answer, as long as the
/// transaction did not write them itself (each is dropped when it may have).
#[derive(Default)]
struct Prefetched {
    /// The access version (`meta`), with `Store::access_writes` at the read: kept while this
    /// process writes none (`Store::advance_access_version` counts them).
    access: Option<(Option<String>, u64)>,
    /// The audit head row (count, hash), taken once by the first record appended: the
    /// transaction writes the row only at its commit (`audit_head_sql`).
    audit_head: Option<Option<(i64, Vec<u8>)>>,
}

/// The store's open transaction, as the copies' sessions join it.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum Mode {
    /// None, or one opened on the central session alone (seeding's): no copy may join it.
    #[default]
    Central,
    /// `Store::begin(false)`: REPEATABLE READ READ ONLY on every session.
    Read,
    /// `Store::begin(true)`: SERIALIZABLE on every session, committed by the two-phase commit.
    Write,
}

/// Sessions opened so far, in an append-only list: a routed statement borrows its session for as
/// long as the store lives (`Routed<'store, _>`, statements collected per copy by
/// `pool_statements`), so a session is never dropped or moved while the store is open. A session
/// is opened once per connection string: an instance whose `Connection` changes back, or two
/// instances naming one database, share it.
#[derive(Default)]
struct SessionList {
    head: OnceCell<Box<SessionNode>>,
}

struct SessionNode {
    alias: String,
    url: String,
    /// The session's place among those Ctrl-C interrupts, while it is open (before `db`: taken
    /// out before the session closes).
    _interrupt: crate::interrupt::Registered,
    db: Db,
    /// Never handed out again (`Store::prepare_empty_pool_database`'s session: what it made
    /// serves only once a later call's open has checked it).
    retired: Cell<bool>,
    /// Why a change may not reach this copy: its server allows no prepared transaction
    /// (`pg::prepared`). Reads may.
    no_prepared: Option<String>,
    next: OnceCell<Box<SessionNode>>,
}

impl SessionNode {
    fn usable(&self) -> bool {
        !self.db.is_closed() && !self.retired.get()
    }
}

impl SessionList {
    fn iter(&self) -> impl Iterator<Item = &SessionNode> {
        std::iter::successors(self.head.get().map(|n| &**n), |n| n.next.get().map(|n| &**n))
    }

    fn by_alias(&self, alias: &str) -> Option<&SessionNode> {
        self.iter().find(|n| n.alias == alias)
    }

    /// The open session on `url`: one whose connection was lost is never used again (a new one
    /// is opened beside it, `open_pool_sessions`).
    fn by_url(&self, url: &str) -> Option<&SessionNode> {
        self.iter().find(|n| n.url == url && n.usable())
    }

    fn push(&self, node: SessionNode) -> &SessionNode {
        let mut slot = &self.head;
        while let Some(n) = slot.get() {
            slot = &n.next;
        }
        slot.get_or_init(|| Box::new(node))
    }
}

/// A pool database reached inside a transaction that `Store::begin` did not open (a
/// central-only one, seeding's): its session would not take part in the commit.
fn central_only() -> db::DbError {
    db::DbError::refused(crate::errors::CmdletError::invalid_operation(
        "internal: a pool database was reached inside a transaction of the central database alone; nothing was changed",
    ))
}

/// A savepoint outside a transaction would open a READ COMMITTED one that no two-phase commit
/// covers (SQLite opens a transaction for it; no store path relies on that).
fn no_transaction() -> db::DbError {
    db::DbError::refused(crate::errors::CmdletError::invalid_operation(
        "internal: a savepoint outside a transaction is not supported on a PostgreSQL store; nothing was changed",
    ))
}

impl Store {
    /// Open the store whose central database is at `url` (PostgreSQL), migrating it and seeding
    /// a new one as `Store::open` does a new SQLite file. The database must have been created
    /// `LC_COLLATE 'C' LC_CTYPE 'C'` (the migration refuses others). Pool databases are opened
    /// by `attach_pool_databases`, never created. Not reachable from the command line yet.
    pub fn open_postgres(url: &str) -> anyhow::Result<Store> {
        let shown = super::pg::shown_url(url);
        let db = Db::open_postgres(url).with_context(|| super::pg::cannot_open("the store", url))?;
        // Registered before the migration: Ctrl-C can stop a long one.
        let handle = db.interrupt_handle();
        let interrupt = crate::interrupt::register(move || handle.interrupt());
        // What an interrupted copy-store left is no store: refused before the migration, the
        // seeding or the store id could write to it (a read never writes).
        if let Some(mark) = super::pg::copy_mark::read(&db).with_context(|| format!("cannot read {shown}"))? {
            anyhow::bail!("{}", mark.refusal(url));
        }
        let migrated =
            db.migrate_postgres(schema::Database::Central).with_context(|| format!("cannot migrate {shown}"))?;
        // A PostgreSQL store has no folder and no files of its own (units' local state folder:
        // step 7 of the port); nothing reads these paths for it.
        let sessions = Sessions { url: url.to_string(), ..Sessions::default() };
        let store = Store::with_backend(db, interrupt, Backend::Pg(Box::new(sessions)), PathBuf::new(), PathBuf::new());
        if migrated.from == 0 {
            // Central rows only, in one central transaction (seed.rs).
            seed::seed_new_store(&store).context("cannot seed the new store")?;
            store.forget_pools();
            store.record_made().with_context(|| format!("cannot read {shown}"))?;
        }
        store.seal_unchained_audit().context("cannot seal the audit records of an older store")?;
        // A role that may not write the central database (a reader's) opens the store still: a
        // Publish, which makes pool databases, gives the id then (`Store::pool_file_owner`).
        let _ = store.give_store_id();
        Ok(store)
    }

    /// The store id its pool databases name (`pg::identity`), given on open when the store has
    /// none, as SQLite's central step 11 gives it: a pool database made by a Publish that then
    /// failed still names an id this store keeps. Two processes opening at once: the first
    /// insert wins, the other's does nothing.
    fn give_store_id(&self) -> db::Result<()> {
        if self.store_id()?.is_none() {
            self.db.execute(
                "INSERT INTO meta(key, value) VALUES ('store_id', ?1) ON CONFLICT DO NOTHING",
                [uuid::Uuid::new_v4().simple().to_string()],
            )?;
        }
        Ok(())
    }

    /// Whether the central session's connection is lost (PostgreSQL; a SQLite store's never
    /// is): the server restarted or stopped, the backend was terminated, the network failed. The
    /// session learns it when a statement fails; nothing runs on this store again, the engine
    /// opens it anew (`reopened`).
    pub fn central_lost(&self) -> bool {
        self.is_postgres() && self.db.is_closed()
    }

    /// `central_lost`, asking the server when the session does not know yet (one round trip):
    /// after a call failed on a lost connection, which may have been a pool database's, or
    /// the central one's seen by another session first.
    pub fn central_lost_now(&self) -> bool {
        self.is_postgres() && !self.db.answers()
    }

    /// This store opened again, as `open_postgres` opens it (same central connection string;
    /// the store has no other options), for one whose central connection was lost
    /// (engine/reconnect.rs). Only outside a transaction: the lost one's work is gone with its
    /// session, or was settled by the commit's own failure handling (an in-doubt commit is left
    /// to recovery, which this open's pool sessions run on first use).
    ///
    /// A new `Store`, not the old one with its session swapped, because every cache it holds
    /// belonged to the lost session and would be a correctness risk patched one by one: the
    /// prepared statements (server objects of that session), the `store_epoch` and marks kept
    /// per transaction, the pools and instance rows memoised under the epoch, the pool
    /// sessions and their aliases, the id block, the access moments (`transactions` counts).
    /// The new one starts empty by construction, and the open checks what any open checks
    /// (schema version, migration, audit seal). The one thing carried over is the last
    /// completed change's decision row (`Sessions::forget`): its DELETE goes with the new
    /// session's next write, as it would have with the old's (the row is harmless either way,
    /// docs/failover.md). Its advisory lock (`unlock`) died with the old session.
    pub fn reopened(&self) -> anyhow::Result<Store> {
        let Backend::Pg(old) = &self.backend else { anyhow::bail!("internal: a SQLite store is not opened again") };
        let store = Store::open_postgres(&old.url)?;
        if let Backend::Pg(new) = &store.backend {
            new.forget.set(old.forget.take());
        }
        Ok(store)
    }

    #[inline]
    pub(crate) fn is_postgres(&self) -> bool {
        matches!(self.backend, Backend::Pg(_))
    }

    /// The session of a copy (`Target::Copy(alias)`) on a PostgreSQL store. Inside the store's
    /// transaction the session joins it on first use (with the transaction's isolation and the
    /// store's open savepoints), so a call on one pool opens no other server's transaction, and
    /// only the copies a change used take part in its two-phase commit. Inside a transaction
    /// `Store::begin` did not open (seeding writes the central database only) a copy is refused.
    pub(crate) fn copy_session(&self, alias: &str) -> db::Result<&Db> {
        let Backend::Pg(s) = &self.backend else {
            return Err(db::DbError::other("internal: a SQLite store's copies are attached, not sessions"));
        };
        let node = s
            .list
            .by_alias(alias)
            .ok_or_else(|| db::DbError::other(format!("internal: no pool database session '{alias}'")))?;
        if !self.in_transaction() || s.joined.borrow().iter().any(|a| a == alias) {
            return Ok(&node.db);
        }
        let begin = self.copy_begin(s, node)?.ok_or_else(central_only)?;
        node.db.begin(begin)?;
        for name in s.savepoints.borrow().iter() {
            if let Err(e) = node.db.savepoint(name) {
                let _ = node.db.rollback();
                return Err(e);
            }
        }
        s.joined.borrow_mut().push(alias.to_string());
        Ok(&node.db)
    }

    /// `copy_session`'s join of copy `alias` with the read of the pool `fqdn`'s mark there
    /// (`Store::copy_mark`) in the same message: the join's BEGIN costs no round trip of its
    /// own (design notes §5 step 8, branch wt-trips). `None`: no join happened here (joined
    /// already, outside a store transaction, savepoints to open first, a name not plain enough
    /// to spell into the text), or the answer was not a mark: the caller reads it as before.
    pub(super) fn join_copy_reading_mark(&self, alias: &str, fqdn: &str) -> db::Result<Option<super::failover::Mark>> {
        let Backend::Pg(s) = &self.backend else { return Ok(None) };
        let plain = !fqdn.is_empty() && fqdn.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        let Some(node) = s.list.by_alias(alias) else { return Ok(None) };
        if !plain
            || !self.in_transaction()
            || s.joined.borrow().iter().any(|a| a == alias)
            || !s.savepoints.borrow().is_empty()
        {
            return Ok(None);
        }
        let Some(begin) = self.copy_begin(s, node)? else { return Ok(None) };
        // `pool = ?1 COLLATE NOCASE` as the dialect spells it, the name spelt in (plain: no quote).
        let read = format!("SELECT generation, seq FROM pool_sync WHERE lower(pool) = lower('{fqdn}')");
        let answers = match node.db.begin_query(begin, &read) {
            Ok(answers) => answers,
            Err(e) => {
                if !node.db.is_autocommit() {
                    let _ = node.db.rollback();
                }
                return Err(e);
            }
        };
        s.joined.borrow_mut().push(alias.to_string());
        let Some(rows) = answers.first() else { return Ok(None) };
        let Some(row) = rows.first() else { return Ok(Some((1, 0))) };
        let number = |i: usize| row.get(i).cloned().flatten().and_then(|v| v.parse::<i64>().ok());
        Ok(number(0).zip(number(1)))
    }

    /// How copy `node` joins the transaction open now (`None`: it may not, the transaction is the
    /// central database's alone), after refusing a write to a copy that cannot prepare and, for
    /// a write running alone, waiting out writers still completing there (`drain_copy`).
    fn copy_begin(&self, s: &Sessions, node: &SessionNode) -> db::Result<Option<Begin>> {
        let begin = match s.mode.get() {
            Mode::Read => Begin::Read,
            Mode::Write => {
                if let Some(why) = &node.no_prepared {
                    return Err(db::DbError::refused(crate::errors::CmdletError::invalid_operation(why.clone())));
                }
                Begin::Immediate
            }
            Mode::Central => return Ok(None),
        };
        if s.alone_now.get() && begin == Begin::Immediate {
            self.drain_copy(node)?;
        }
        Ok(Some(begin))
    }

    /// Before a write that runs alone takes its snapshot of a copy: wait for any writer still
    /// completing a change there (its central commit done, its `COMMIT PREPARED` not yet), as
    /// `copy_gate` does for copy-store. No new branch can be prepared while this transaction
    /// holds `audit_head` EXCLUSIVE, so after the wait the copy holds every change the central
    /// database does: without it the retry of a call that lost a race could start, time after
    /// time, inside another writer's window and see the copy behind (two of the four writers of
    /// `scripts/pg-concurrency` gave up after 8 attempts). A coordinator that died is left to
    /// `why_behind`, which recovers or refuses as before.
    fn drain_copy(&self, node: &SessionNode) -> db::Result<()> {
        let (mut central, mut copy) = (&self.db, &node.db);
        twophase::drain(&mut central, &mut copy)
    }

    /// The joined copies' sessions.
    fn joined_sessions(&self) -> Vec<&Db> {
        self.joined_nodes().into_iter().map(|n| &n.db).collect()
    }

    /// The joined copies' sessions in the order they joined: the order of the two-phase
    /// commit's PREPAREs (a change reads, so joins, the serving copy first as a rule).
    fn joined_nodes(&self) -> Vec<&SessionNode> {
        let Backend::Pg(s) = &self.backend else { return Vec::new() };
        let joined = s.joined.borrow();
        joined.iter().filter_map(|alias| s.list.by_alias(alias)).collect()
    }

    /// `Store::begin` on PostgreSQL: the central session's transaction, which copies join on
    /// first use (`copy_session`). A write is SERIALIZABLE everywhere (see `db::Begin`).
    pub(super) fn begin_postgres(&self, write: bool) -> db::Result<()> {
        let Backend::Pg(s) = &self.backend else { return Err(db::DbError::other("internal: not PostgreSQL")) };
        // No copy's part of an earlier transaction may outlive it (each ends with it already).
        self.rollback_sessions();
        if !write {
            self.db.begin(Begin::Read)?;
        } else {
            // Writers' turns: every write transaction first locks the audit head's table, before
            // its snapshot is taken (LOCK TABLE takes none, so what it reads after the wait is
            // what the writers it waited for committed). An ordinary writer in ROW SHARE mode,
            // which writers share: they run at once, and SERIALIZABLE fails the one that loses a
            // race. The retry of a call that lost one in EXCLUSIVE mode: it waits for the
            // writers at work, and new ones wait for it, so it runs alone and a call cannot lose
            // every attempt to writers that keep coming (four processes writing without pause
            // starved one: design notes §5 step 7). Plain reads (ACCESS SHARE) never wait.
            // Running alone waits for the writers at work however long they take (turns.rs).
            let alone = s.alone.replace(false);
            let mode = if alone { "EXCLUSIVE" } else { "ROW SHARE" };
            // One message: BEGIN, the lock, and the last change's decision to delete (`Sessions::
            // forget`), after the lock so that the snapshot is still taken after it.
            let release: Vec<String> = s.forget.get().map(|t| twophase::forget_sql(&t)).into_iter().collect();
            let mut then = format!("LOCK TABLE audit_head IN {mode} MODE");
            for sql in &release {
                then.push_str("; ");
                then.push_str(sql);
            }
            // The same message reads what every change reads first (design notes §5 step 8,
            // branch wt-trips), after the LOCK and so in the snapshot taken after it, and takes
            // the advisory lock of the transaction id its two-phase commit will use.
            let lock = if s.held.get().is_none() { Some(uuid::Uuid::new_v4()) } else { None };
            then.push_str("; ");
            then.push_str(PREFETCH);
            if let Some(txid) = &lock {
                then.push_str(&format!("; SELECT pg_try_advisory_lock({})", twophase::lock_key(txid)));
            }
            let first = self.db.begin_query(Begin::Immediate, &then);
            let released = first.is_ok();
            let (first, answers) = match first {
                Ok(answers) => (Ok(()), Some(answers)),
                Err(e) => (Err(e), None),
            };
            let locked = if alone {
                self.wait_for_writers(first)
            } else {
                first.inspect_err(|_| {
                    let _ = self.db.rollback();
                })
            };
            locked?;
            if !released && !release.is_empty() {
                // The turn was waited for: what the message would have let go goes now (a commit
                // of this transaction takes `forget` as carried).
                if let Err(e) = self.db.execute_batch(&release.join("; ")) {
                    let _ = self.db.rollback();
                    return Err(e);
                }
            }
            s.alone_now.set(alone);
            s.mode.set(Mode::Write);
            if let Some(answers) = answers {
                self.take_prefetched(answers, lock);
            }
        }
        s.mode.set(if write { Mode::Write } else { Mode::Read });
        Ok(())
    }

    /// Keep what `begin_postgres`'s first message read (`PREFETCH`, then the lock when one was
    /// asked for): the epoch and pools' marks as their own reads keep them, the access version
    /// and audit head for their first reader (`Prefetched`), the lock as `Sessions::held`.
    /// Anything not in the expected form is left to its own read.
    fn take_prefetched(&self, answers: db::Answers, lock: Option<uuid::Uuid>) {
        let Backend::Pg(s) = &self.backend else { return };
        let reads = 4 + usize::from(lock.is_some());
        let Some(at) = answers.len().checked_sub(reads) else { return };
        let [epoch, access, head, pools] = [&answers[at], &answers[at + 1], &answers[at + 2], &answers[at + 3]];
        let cell = |rows: &Vec<Vec<Option<String>>>, row: usize, col: usize| -> Option<String> {
            rows.get(row).and_then(|r| r.get(col)).cloned().flatten()
        };
        if let Some(txid) = lock
            && cell(&answers[at + 4], 0, 0).as_deref() == Some("t")
        {
            s.held.set(Some(txid));
        }
        if let Some(n) = cell(epoch, 0, 0).and_then(|n| n.parse::<i64>().ok()) {
            s.epoch.set(Some((n, self.db.epoch_writes())));
        }
        for row in pools {
            let field = |i: usize| row.get(i).cloned().flatten();
            let (Some(fqdn), Some(generation)) = (field(0), field(1).and_then(|g| g.parse::<i64>().ok())) else {
                continue;
            };
            let seq = match field(2) {
                None => 0,
                Some(seq) => match seq.parse::<i64>() {
                    Ok(seq) => seq,
                    Err(_) => continue,
                },
            };
            self.keep_pool_mark(&fqdn, Some((generation, seq)));
        }
        let mut kept = s.prefetched.borrow_mut();
        if access.len() <= 1 {
            kept.access = Some((cell(access, 0, 0), self.access_writes.get()));
        }
        kept.audit_head = match head.first() {
            None => Some(None),
            Some(row) => {
                let count = row.first().cloned().flatten().and_then(|c| c.parse::<i64>().ok());
                let hash = row.get(1).cloned().flatten().and_then(|h| unhex(&h));
                count.zip(hash).map(Some)
            }
        };
    }

    /// The access version read by this write transaction's first message, while it holds
    /// (`Prefetched::access`); `None`: read it.
    pub(super) fn prefetched_access_version(&self) -> Option<Option<String>> {
        let Backend::Pg(s) = &self.backend else { return None };
        let kept = s.prefetched.borrow();
        let (value, at) = kept.access.as_ref()?;
        (*at == self.access_writes.get() && self.keeps_reads()).then(|| value.clone())
    }

    /// The audit head row read by this write transaction's first message, once
    /// (`Prefetched::audit_head`); `None`: read it.
    pub(super) fn prefetched_audit_head(&self) -> Option<Option<(i64, Vec<u8>)>> {
        let Backend::Pg(s) = &self.backend else { return None };
        let head = s.prefetched.borrow_mut().audit_head.take()?;
        self.keeps_reads().then_some(head)
    }

    /// Run the next write transaction alone (see `begin_postgres`): the call is being retried
    /// after a lost race. Nothing on SQLite, whose writers always take turns.
    pub fn run_alone_next(&self) {
        if let Backend::Pg(s) = &self.backend {
            s.alone.set(true);
        }
    }

    /// Whether the open write transaction runs alone (PostgreSQL; SQLite: false).
    pub(super) fn runs_alone(&self) -> bool {
        matches!(&self.backend, Backend::Pg(s) if s.alone_now.get())
    }

    /// Fail-over, fail-back and repair run alone on PostgreSQL: no other writer of the store
    /// commits between what they read and what they write (a change racing a fail-back could
    /// otherwise commit to the backup after the copy and before the marks, and the primary
    /// would silently lack it). The engine begins their transaction alone (`run_alone_next`,
    /// before its snapshot: engine/invoke.rs); inside a transaction begun otherwise (an atomic
    /// run's) the lock is taken here, and a writer that committed since the snapshot conflicts
    /// on the pool's row, which SERIALIZABLE refuses (40001). Exclusion is the whole store's,
    /// not the pool's: these calls are rare and short, and `audit_head` is what every writer
    /// already locks first (design notes §4). SQLite: every writer holds the one write lock.
    pub(crate) fn exclude_writers(&self) -> db::Result<()> {
        let Backend::Pg(s) = &self.backend else { return Ok(()) };
        if s.alone_now.get() {
            return Ok(());
        }
        self.db.execute_batch("LOCK TABLE audit_head IN EXCLUSIVE MODE")?;
        s.alone_now.set(true);
        Ok(())
    }

    /// Forget what the sessions knew of the transaction that ended.
    fn end_of_sessions_transaction(&self) {
        if let Backend::Pg(s) = &self.backend {
            s.alone_now.set(false);
            s.mode.set(Mode::Central);
            s.joined.borrow_mut().clear();
            s.savepoints.borrow_mut().clear();
            s.epoch.set(None);
            s.marks.borrow_mut().clear();
            *s.prefetched.borrow_mut() = Prefetched::default();
        }
    }

    /// `Store::commit` on PostgreSQL. A write that reached pool databases commits in the
    /// central database and each of them, or in none, by the two-phase commit (`commit_prepared`);
    /// anything else commits its sessions one by one: reads (nothing to half commit), or a write of
    /// the central database alone.
    pub(super) fn commit_postgres(&self) -> Result<(), commit::CommitFailure> {
        let Backend::Pg(s) = &self.backend else {
            return Err(commit::CommitFailure::nothing(db::DbError::other("internal: not PostgreSQL")));
        };
        // The records now; the head's write goes with the COMMIT (one message: a failure of
        // either leaves neither, so no change commits without its record).
        let head = match self.audit_head_sql() {
            Ok(head) => head,
            Err(e) => {
                self.rollback();
                return Err(commit::CommitFailure::nothing(e));
            }
        };
        let writing = s.mode.get() != Mode::Read;
        if writing && !s.joined.borrow().is_empty() {
            return self.commit_prepared(head.as_deref());
        }
        let mut result = Ok(());
        for copy in self.joined_sessions() {
            if let Err(e) = copy.commit() {
                result = Err(e);
                break;
            }
        }
        if let Err(e) = result {
            self.rollback();
            return Err(commit::CommitFailure::nothing(e));
        }
        let committed = match &head {
            Some(sql) => self.db.commit_with(sql),
            None => self.db.commit(),
        };
        if s.mode.get() == Mode::Write && committed.is_ok() {
            // The DELETE of `Sessions::forget`, sent with this transaction's BEGIN
            // (`begin_postgres`; not by seeding's central one), is committed.
            s.forget.set(None);
        }
        self.rollback_sessions();
        self.locked.set(false);
        self.end_of_transaction();
        committed.map_err(|e| self.central_commit_failed(e, writing))
    }

    /// The COMMIT of the central database alone failed: nothing committed, unless a write's
    /// session was lost during it, when the server may have committed before the answer was lost.
    fn central_commit_failed(&self, e: db::DbError, writing: bool) -> commit::CommitFailure {
        self.rollback();
        if !writing {
            return commit::CommitFailure::nothing(e);
        }
        if e.kind() != db::ErrorKind::Unavailable {
            return nothing_committed(e);
        }
        in_doubt(e)
    }

    /// The two-phase commit of a write over the central database and the copies it joined
    /// (design notes §3; the protocol's steps are `twophase`'s, shared with its `Coordinator`).
    /// Before the decision any failure undoes everything and keeps its kind (a 40001 at a
    /// PREPARE or at the central COMMIT is retried upstream); after it the change is committed.
    fn commit_prepared(&self, head: Option<&str>) -> Result<(), commit::CommitFailure> {
        let Backend::Pg(s) = &self.backend else {
            return Err(commit::CommitFailure::nothing(db::DbError::other("internal: not PostgreSQL")));
        };
        let mut central = &self.db;
        if central.transaction_failed() {
            // Its COMMIT refuses, saying the work was rolled back; the copies follow.
            let e = central.commit().err().unwrap_or_else(|| db::DbError::other("internal: the transaction failed"));
            self.rollback();
            return Err(commit::CommitFailure::nothing(e));
        }
        // The id locked by this transaction's first message, else one locked now.
        let txid = match s.held.take().map_or_else(|| twophase::new_locked_txid(&mut central), Ok) {
            Ok(txid) => txid,
            Err(e) => {
                self.rollback();
                return Err(commit::CommitFailure::nothing(e));
            }
        };
        let nodes = self.joined_nodes();
        let mut copies: Vec<&Db> = nodes.iter().map(|n| &n.db).collect();
        let outcome = twophase::complete(&mut central, &mut copies, &txid, head, &|_| false);
        let failure = match outcome {
            Ok(()) => None,
            Err(Failure::Undecided { source, prepared }) => {
                twophase::undo(&mut central, &mut copies, &txid, prepared);
                Some(nothing_committed(source))
            }
            Err(Failure::InDoubt(e)) => Some(in_doubt(e)),
            Err(Failure::Incomplete { copy, source }) => {
                // Decided: the central commit carried the earlier decision's DELETE too.
                s.forget.set(None);
                let url = nodes.get(copy).map(|n| super::pg::shown_url(&n.url)).unwrap_or_default();
                Some(incomplete(&url, source))
            }
            // No fault is asked for here; a fault point that kills ends the process instead.
            Err(Failure::Died(step)) => Some(in_doubt(db::DbError::other(format!("stopped at {}", step.name())))),
        };
        // Every branch committed: the decision goes with the next write (`Sessions::forget`; the
        // earlier decision's DELETE committed with this one). Else a branch may be left prepared
        // (recovery must be able to take the lock) or the decision in doubt. Either way the lock
        // goes now: a writer waiting in `twophase::in_flight` is waiting for it.
        if failure.is_none() {
            s.forget.set(Some(txid));
        }
        twophase::unlock(&mut central, &txid);
        // Every session is outside its transaction now: forget it.
        match failure {
            None => {
                self.rollback_sessions();
                self.locked.set(false);
                self.end_of_transaction();
                Ok(())
            }
            Some(f) => {
                self.rollback();
                Err(f)
            }
        }
    }

    /// End every joined copy's transaction (after the central one ended or failed). Then, with
    /// every session outside a transaction, recover the copies where a statement met a lock wait
    /// (55P03): the lock may be a dead coordinator's prepared branch, which nothing else frees,
    /// so this runs before the invocation boundary retries the change (design notes §3, §4).
    pub(super) fn rollback_sessions(&self) {
        for copy in self.joined_sessions() {
            if !copy.is_autocommit() {
                let _ = copy.rollback();
            }
        }
        self.end_of_sessions_transaction();
        if let Backend::Pg(s) = &self.backend
            && self.db.is_autocommit()
        {
            for node in s.list.iter().filter(|n| n.db.take_lock_timeout()) {
                self.recover_copy(node);
            }
        }
    }

    /// Resolve the prepared pchat branches a dead coordinator left in a copy's database (design
    /// notes §3), against the central database's decisions. Only with the central session outside
    /// a transaction: an older snapshot would read a decision as missing and roll it back. A
    /// failure is told and left for the next open; it leaves the branches as they were.
    fn recover_copy(&self, node: &SessionNode) {
        if !self.db.is_autocommit() || !node.db.is_autocommit() {
            return;
        }
        let (mut central, mut copy) = (&self.db, &node.db);
        if let Err(e) = twophase::recover(&mut central, &mut copy) {
            eprintln!(
                "WARNING: cannot resolve the prepared changes left in {} ({e}); the next pchat command tries again",
                super::pg::shown_url(&node.url)
            );
        }
    }

    /// Why a copy's mark is behind the pool's on a PostgreSQL store (`Store::pool_target`):
    /// between a writer's decision (the central COMMIT, which moves the pool's mark) and its
    /// `COMMIT PREPARED` there, the copy only looks behind. A prepared pchat branch whose
    /// coordinator is alive completes in a few round trips: a retryable error. One whose
    /// coordinator is dead is recovered now when no transaction is open (then the marks are read
    /// again), else once this transaction is rolled back (the central snapshot may predate the
    /// decision), and the error is retryable too. Else behind (see below). SQLite: always behind.
    pub(super) fn why_behind(&self, alias: &str) -> db::Result<Behind> {
        let Backend::Pg(s) = &self.backend else { return Ok(Behind::Truly) };
        let Some(node) = s.list.by_alias(alias) else { return Ok(Behind::Truly) };
        let (mut central, mut copy) = (&self.db, &node.db);
        let transient = || Behind::Transient(in_flight_error(&super::pg::shown_url(&node.url)));
        match twophase::in_flight(&mut central, &mut copy)? {
            InFlight::Live => return Ok(transient()),
            InFlight::Dead if self.db.is_autocommit() && node.db.is_autocommit() => {
                self.recover_copy(node);
                return Ok(Behind::Recovered);
            }
            InFlight::Dead => {
                node.db.want_recovery();
                return Ok(transient());
            }
            InFlight::None => {}
        }
        // No branch left: the copy is behind, or its snapshot predates a `COMMIT PREPARED` that
        // ended since. The two are not told apart here (a server-wide list of running
        // transactions cannot say which database they wrote, so on a busy server every copy
        // would look stale): `Store::in_flight` retries an out-of-step copy on PostgreSQL with
        // new snapshots, and when the attempts run out the error names the repair.
        Ok(Behind::Truly)
    }

    /// A row id on a PostgreSQL store (`Store::new_id`): from the block this process took from
    /// the central sequence `pchat_row_ids`, a new block (one `nextval`) when it is used up. Not
    /// transactional: ids of a rolled-back change are skipped, never handed out again. `None` on
    /// SQLite, in a read-only transaction (which may not call `nextval`, and writes no row), and
    /// when the central session cannot answer (its transaction fails anyway).
    pub(super) fn id_from_sequence(&self) -> Option<i64> {
        let Backend::Pg(s) = &self.backend else { return None };
        let (next, end) = s.ids.get();
        if next < end {
            s.ids.set((next + 1, end));
            return Some(next);
        }
        if (s.mode.get() == Mode::Read && self.in_transaction()) || self.db.transaction_failed() {
            return None;
        }
        let start: i64 = self.db.prepare_cached(NEXT_ID_BLOCK).and_then(|mut q| q.query_row((), |r| r.get(0))).ok()?;
        s.ids.set((start + 1, start + schema::ID_BLOCK));
        Some(start)
    }

    /// A savepoint on every session in the transaction (PostgreSQL), or on the connection.
    pub(super) fn savepoint_named(&self, name: &str) -> db::Result<()> {
        let Backend::Pg(s) = &self.backend else { return self.db.savepoint(name) };
        if !self.in_transaction() {
            return Err(no_transaction());
        }
        self.db.savepoint(name)?;
        for copy in self.joined_sessions() {
            copy.savepoint(name)?;
        }
        s.savepoints.borrow_mut().push(name.to_string());
        Ok(())
    }

    pub(super) fn release_named(&self, name: &str) -> db::Result<()> {
        let Backend::Pg(s) = &self.backend else { return self.db.release(name) };
        for copy in self.joined_sessions() {
            copy.release(name)?;
        }
        self.db.release(name)?;
        let mut open = s.savepoints.borrow_mut();
        if let Some(at) = open.iter().rposition(|n| n.eq_ignore_ascii_case(name)) {
            open.truncate(at);
        }
        Ok(())
    }

    /// Undo everything since the savepoint on every session; the savepoint stays.
    pub(super) fn rollback_to_named(&self, name: &str) -> db::Result<()> {
        let Backend::Pg(s) = &self.backend else { return self.db.rollback_to(name) };
        let mut result = self.db.rollback_to(name);
        for copy in self.joined_sessions() {
            result = result.and(copy.rollback_to(name));
        }
        // What was read since may have been read under a key that a write undone here moved.
        s.epoch.set(None);
        s.marks.borrow_mut().clear();
        *s.prefetched.borrow_mut() = Prefetched::default();
        result
    }

    /// The central database's `store_epoch` (PostgreSQL; see `Store::cache_key`).
    pub(super) fn store_epoch(&self) -> db::Result<i64> {
        let Backend::Pg(s) = &self.backend else { return Err(db::DbError::other("internal: not PostgreSQL")) };
        if let Some((epoch, at)) = s.epoch.get()
            && at == self.db.epoch_writes()
        {
            return Ok(epoch);
        }
        let epoch = self.db.prepare_cached("SELECT n FROM store_epoch WHERE id = 1")?.query_row((), |r| r.get(0))?;
        if self.keeps_reads() {
            s.epoch.set(Some((epoch, self.db.epoch_writes())));
        }
        Ok(epoch)
    }

    /// Whether what the central session reads now may be kept until the transaction ends (or
    /// the session writes what it read): inside a transaction `Store::begin` opened, whose
    /// snapshot is fixed (REPEATABLE READ or SERIALIZABLE). Not in seeding's central one.
    fn keeps_reads(&self) -> bool {
        let Backend::Pg(s) = &self.backend else { return false };
        s.mode.get() != Mode::Central && self.in_transaction()
    }

    /// The pool's mark as read or set in the open transaction, if it still holds (see
    /// `Sessions::marks`); `None` on SQLite.
    pub(super) fn kept_pool_mark(&self, fqdn: &str) -> Option<super::failover::Mark> {
        let Backend::Pg(s) = &self.backend else { return None };
        let marks = s.marks.borrow();
        let (mark, at) = marks.get(&fqdn.to_ascii_lowercase())?;
        (*at == self.db.epoch_writes()).then_some(*mark)
    }

    /// Keep the pool's mark just read or written (`None`: forget it) for the open transaction.
    pub(super) fn keep_pool_mark(&self, fqdn: &str, mark: Option<super::failover::Mark>) {
        let Backend::Pg(s) = &self.backend else { return };
        let key = fqdn.to_ascii_lowercase();
        match mark {
            Some(mark) if self.keeps_reads() => {
                s.marks.borrow_mut().insert(key, (mark, self.db.epoch_writes()));
            }
            _ => {
                s.marks.borrow_mut().remove(&key);
            }
        }
    }

    /// `attach_pool_databases` on PostgreSQL: a session for the pool database of every SQL
    /// instance (its `Connection`, kept in `sql_instances.file`), opened but never created: a
    /// database that cannot be reached, holds no pool schema or a newer one is unavailable, with
    /// the reason, as a missing or newer SQLite file is. An older pool schema is brought up to
    /// date (as `pool_files::inspect` does a file). A database that is not the one the central
    /// database recorded for the instance, or names another store, is unavailable too
    /// (`recognise_pool_database`).
    pub(super) fn open_pool_sessions(&self) -> anyhow::Result<()> {
        let Backend::Pg(s) = &self.backend else { anyhow::bail!("internal: not PostgreSQL") };
        let (instances, _) = self.instance_rows()?;
        // A session whose connection was lost (a server restarted, a network failure, a
        // terminated backend) is replaced by a new one on the same connection string.
        s.by_instance.borrow_mut().retain(|key, alias| {
            let url = s.list.by_alias(alias).filter(|n| n.usable()).map(|n| n.url.as_str());
            instances.iter().any(|(i, u, _)| i.eq_ignore_ascii_case(key) && Some(u.as_str()) == url)
        });
        self.unavailable.borrow_mut().clear();
        s.unavailable_records.borrow_mut().clear();
        for (identity, url, _) in instances.iter() {
            let key = identity.to_ascii_lowercase();
            if s.by_instance.borrow().contains_key(&key) {
                continue;
            }
            let node = match s.list.by_url(url) {
                Some(node) => node,
                None => match open_pool_session(url).and_then(|db| self.recognise_pool_database(identity, url, db)) {
                    Ok(db) => {
                        let no_prepared = super::pg::prepared::refusal(&db, &super::pg::shown_url(url));
                        let node = s.list.push(SessionNode {
                            alias: format!("pg{}", s.list.iter().count() + 1),
                            url: url.clone(),
                            _interrupt: interrupted_by_signals(&db),
                            db,
                            retired: Cell::new(false),
                            no_prepared,
                            next: OnceCell::new(),
                        });
                        // What a coordinator that died left prepared here (design notes §3).
                        self.recover_copy(node);
                        node
                    }
                    Err(why) => {
                        let recorded = super::pg::identity::recorded(&self.db, url).ok().flatten();
                        let why = self.recorded_hint(identity, why, recorded.is_some());
                        s.unavailable_records.borrow_mut().insert(key.clone(), recorded);
                        self.unavailable.borrow_mut().insert(key, why);
                        continue;
                    }
                },
            };
            s.by_instance.borrow_mut().insert(key, node.alias.clone());
        }
        self.recover_unavailable(&instances);
        Ok(())
    }

    /// A repair rebuilds an unusable copy in its empty database, in the copy's branch of the
    /// two-phase commit: killed with that branch prepared and no decision, it leaves the pool
    /// schema and rows there prepared, unseen, so the database still reads as empty ("no pchat
    /// pool schema in it"), and no session of the pool ever resolves it; its locks would block
    /// the next repair's. So such a database is opened once more to resolve pchat's branches
    /// there, as a usable one is (`recover_copy`): a branch without a decision in this store's
    /// central database is rolled back (its coordinator's lock, held while it lives, is free),
    /// one with it committed. Only a database that shows no pool schema: an empty database at
    /// this store's Connection is this store's to fill (as Repair takes it), while one holding
    /// another store's pool schema holds that store's writers' branches, decided in its own
    /// central database, never this one's. Only outside a transaction, as `recover_copy`; one
    /// connection per such database at an open, none when every database serves.
    fn recover_unavailable(&self, instances: &[(String, String, Option<String>)]) {
        if !self.db.is_autocommit() {
            return;
        }
        let unavailable = self.unavailable.borrow().clone();
        for (identity, url, _) in instances {
            // `open_pool_session`'s reason for a database that answered and shows no pool schema.
            let Some(why) = unavailable.get(&identity.to_ascii_lowercase()) else { continue };
            if !why.contains("(no pchat pool schema in it)") {
                continue;
            }
            let Ok(db) = Db::open_postgres(url) else { continue };
            let (mut central, mut copy) = (&self.db, &db);
            if let Err(e) = twophase::recover(&mut central, &mut copy) {
                eprintln!(
                    "WARNING: cannot resolve the prepared changes left in {} ({e}); the next pchat command tries again",
                    super::pg::shown_url(url)
                );
            }
        }
    }

    /// The session `db` on the pool database at `url` (SQL instance `instance`), if it is the
    /// database the central database recorded for that connection (`pg::identity::check`), else
    /// why not.
    ///
    /// A store copied by a copy-store from before identities (no record in the central database,
    /// the `pool_file` row copied from the SQLite source) is recognised at the first open that
    /// finds the database naming this store: its identity is recorded then, once. Why that is
    /// safe: nothing is written into the pool database; the central row is inserted with ON
    /// CONFLICT DO NOTHING and read back, so of processes opening at once the first record wins
    /// and every other compares with it, as with a record Publish made; and what is recorded is
    /// a database at the `Connection` this store names that carries this store's id, written
    /// there only by this store's Publish, Repair or copy-store (an unrelated or re-created empty
    /// database carries none, another store's another id). Inside a transaction (a read-only
    /// one refuses writes) nothing is recorded and the database serves on its store id; the
    /// next open records it.
    fn recognise_pool_database(&self, instance: &str, url: &str, db: Db) -> Result<Db, String> {
        use super::pg::identity;
        let shown = super::pg::shown_url(url);
        let central_error = |e: db::DbError| format!("the central database cannot be read ({e})");
        let found = identity::read(&db).map_err(|e| format!("the database {shown} cannot be read ({e})"))?;
        let store_id = self.store_id().map_err(central_error)?;
        let recorded = match identity::recorded(&self.db, url).map_err(central_error)? {
            Some(recorded) => recorded,
            None => {
                let owner = found.file.as_ref().and_then(|f| f.owner.as_ref());
                match owner {
                    Some(o) if Some(o.id.as_str()) != store_id.as_deref() => {
                        return Err(identity::belongs_to(&shown, o));
                    }
                    Some(_) => {}
                    None => {
                        return Err(format!(
                            "the database {shown} holds a pool schema but no identity naming this store, and the central database recorded none for {instance}: pchat cannot tell it is this store's pool database; name the database pchat made (or copy-store filled) in the topology, or an empty one and publish again"
                        ));
                    }
                }
                let now = found.identity().ok_or_else(|| format!("the database {shown} has no identity row"))?;
                if !self.db.is_autocommit() {
                    return Ok(db);
                }
                identity::record_first(&self.db, url, &now).map_err(central_error)?.unwrap_or(now)
            }
        };
        identity::check(&found, &recorded, store_id.as_deref(), url, instance)?;
        Ok(db)
    }

    /// `why` a pool database cannot serve, with what the central database recorded of it: a
    /// database that pchat made is gone or emptied (dropped and re-created, say).
    fn recorded_hint(&self, instance: &str, why: String, recorded: bool) -> String {
        match recorded {
            true if why.contains("is not a pool database") => format!(
                "{why}, though pchat recorded the pool database it made there for {instance} (was it dropped and re-created?); restore that database, or repair the pool from its other copy"
            ),
            _ => why,
        }
    }

    /// Whether a pool database found unavailable at the last `open_pool_sessions` has been
    /// rebuilt since (a repair recorded another identity for its connection; read in the open
    /// transaction, so after the lock that repair held): then the sessions are opened again
    /// (`begin_attached`), and the rebuilt database is used rather than found "not empty".
    /// Always false on SQLite, whose rebuilt file changes `sql_instances.file_id`.
    pub(super) fn unavailable_rebuilt(&self) -> db::Result<bool> {
        let Backend::Pg(s) = &self.backend else { return Ok(false) };
        let then = s.unavailable_records.borrow().clone();
        if then.is_empty() {
            return Ok(false);
        }
        let rows = self.read_instance_rows()?;
        for (identity, url, _) in rows.iter() {
            if let Some(was) = then.get(&identity.to_ascii_lowercase())
                && super::pg::identity::recorded(&self.db, url)? != *was
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The alias of an open pool database session (see `Sessions::by_instance`).
    pub(super) fn session_alias(&self, sql_instance: &str) -> Option<String> {
        let Backend::Pg(s) = &self.backend else { return None };
        s.by_instance.borrow().get(&sql_instance.to_ascii_lowercase()).cloned()
    }

    /// Whether the sessions are those `open_pool_sessions` makes of `rows` (one per row).
    pub(super) fn sessions_current(&self, rows: usize) -> bool {
        let Backend::Pg(s) = &self.backend else { return false };
        let by_instance = s.by_instance.borrow();
        by_instance.len() == rows
            && by_instance.values().all(|alias| s.list.by_alias(alias).is_some_and(|n| n.usable()))
    }
}

impl Drop for Store {
    /// The last change's decision row, when its DELETE has not gone with a later write
    /// (`Sessions::forget`): deleted as the store closes (its lock goes with the session).
    fn drop(&mut self) {
        if let Backend::Pg(s) = &self.backend
            && let Some(txid) = s.forget.take()
            && self.db.is_autocommit()
            && !self.db.is_closed()
        {
            let _ = self.db.execute_batch(&twophase::forget_sql(&txid));
        }
    }
}

impl Store {
    /// The connection string of an SQL instance's pool database (PostgreSQL: its `Connection`).
    fn instance_url(&self, instance: &str) -> Result<String, String> {
        let rows = self.read_instance_rows().map_err(|e| e.to_string())?;
        rows.iter()
            .find(|(i, _, _)| i.eq_ignore_ascii_case(instance))
            .map(|(_, url, _)| url.clone())
            .ok_or_else(|| format!("the SQL instance {instance} is not in the topology"))
    }

    /// How to create the pool database of `instance`, which does not exist (`DATABASE_MISSING`).
    pub(crate) fn create_database_advice(&self, instance: &str) -> Result<String, String> {
        self.instance_url(instance).map(|url| super::pg::create_database_advice(&url))
    }

    /// Whether a repair may make the pool schema in the unusable pool database of `instance`
    /// (`prepare_empty_pool_database`): it must answer and hold no table at all. Else why not,
    /// with what to do. Nothing is written.
    pub(crate) fn check_empty_pool_database(&self, instance: &str) -> Result<(), String> {
        let url = self.instance_url(instance)?;
        empty_database(&url).map(drop)
    }

    /// Make the pool schema in the empty pool database of `instance`, inside the open write
    /// transaction (the schema commits with the repair's copy and marks by the two-phase commit,
    /// or not at all); the alias of its session, joined to the transaction. The database must
    /// still be empty (checked again here, and by the migration): pchat never writes over a
    /// database it did not record as the pool's copy. The session serves this transaction only:
    /// the next call opens and checks the database as any other.
    pub(crate) fn prepare_empty_pool_database(&self, instance: &str) -> Result<String, String> {
        let Backend::Pg(s) = &self.backend else { return Err("internal: not PostgreSQL".into()) };
        if s.mode.get() != Mode::Write || !self.in_transaction() {
            return Err("internal: a pool database is prepared inside a write transaction only".into());
        }
        let url = self.instance_url(instance)?;
        let owner = self.pool_file_owner().map_err(|e| format!("cannot read the store's id ({e})"))?;
        let db = empty_database(&url)?;
        let shown = super::pg::shown_url(&url);
        let no_prepared = super::pg::prepared::refusal(&db, &shown);
        let node = s.list.push(SessionNode {
            alias: format!("pg{}", s.list.iter().count() + 1),
            url: url.clone(),
            _interrupt: interrupted_by_signals(&db),
            db,
            retired: Cell::new(true),
            no_prepared,
            next: OnceCell::new(),
        });
        s.by_instance.borrow_mut().insert(instance.to_ascii_lowercase(), node.alias.clone());
        self.unavailable.borrow_mut().remove(&instance.to_ascii_lowercase());
        let session =
            self.copy_session(&node.alias).map_err(|e| format!("the database {shown} cannot be used ({e})"))?;
        // The schema and its identity row commit with the repair, or not at all; the central
        // record of the identity is written in the central transaction (the same two-phase commit).
        let (_, id) = session
            .migrate_postgres_in_transaction(schema::Database::Pool, |client, migrated| {
                if migrated.from != 0 {
                    anyhow::bail!("it already holds a pool schema; pchat creates one in an empty database only");
                }
                super::pg::identity::stamp(client, &owner)
            })
            .map_err(|e| format!("cannot make the pool schema in the database {shown} ({e:#})"))?;
        let (oid, system) = super::pg::identity::place(session)
            .map_err(|e| format!("cannot read the new pool database's oid ({e})"))?;
        super::pg::identity::record(self.db(), &url, &super::pg::identity::Identity { id, oid, system })
            .map_err(|e| format!("cannot record the identity of the database {shown} ({e})"))?;
        Ok(node.alias.clone())
    }
}

/// A session on the database at `url` when it answers and holds no table (a database created
/// empty, e.g. after its server or the database was lost), else why it cannot be made a pool
/// database, and what to do.
fn empty_database(url: &str) -> Result<Db, String> {
    let shown = super::pg::shown_url(url);
    let db = Db::open_postgres(url).map_err(|e| {
        // Its server answers that it does not exist: no server to bring back, the database to create.
        if db::database_missing(&e) {
            return format!(
                "the database {shown} does not exist; pchat does not create databases: {}, then repair again",
                super::pg::create_database_advice(url)
            );
        }
        format!(
            "the database {shown} cannot be reached ({e}); bring its server back, or give the SQL instance another Connection in the topology (an empty database on a server that answers), then repair again"
        )
    })?;
    let tables: Vec<String> = db
        .query_map("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1", (), |r| {
            r.get(0)
        })
        .map_err(|e| format!("the database {shown} cannot be read ({e})"))?;
    if !tables.is_empty() {
        let shown_tables = tables.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
        return Err(format!(
            "the database {shown} holds tables that are not this pool's copy ({shown_tables}{}); pchat writes only into the pool database it recorded or into an empty database, so nothing was written there: give the SQL instance another Connection in the topology (an empty database), then repair again",
            if tables.len() > 5 { ", …" } else { "" }
        ));
    }
    Ok(db)
}

/// A block of row ids: this value and the `schema::ID_BLOCK - 1` after it.
const NEXT_ID_BLOCK: &str = "SELECT nextval('pchat_row_ids')";

/// What `Store::why_behind` found of a copy whose mark is behind the pool's.
pub(crate) enum Behind {
    /// Behind indeed: no change is being completed there.
    Truly,
    /// A change is being completed there: the call is run again (`Transient::Conflict`).
    Transient(crate::errors::CmdletError),
    /// A dead writer's branches there were resolved just now: read the marks again.
    Recovered,
}

/// A copy that only looks behind: a change is being completed in it. Retried at the invocation
/// boundary as a lost race; the words are shown only if the attempts run out.
fn in_flight_error(url: &str) -> crate::errors::CmdletError {
    let mut e = crate::errors::CmdletError::invalid_operation(format!(
        "a change is being completed in the pool database {url}; try again"
    ));
    e.transient = Some(crate::errors::Transient::Conflict);
    e
}

/// A write whose COMMIT, or a copy's PREPARE, failed before the decision (a full disk, say):
/// nothing is committed anywhere, and the error says so, as SQLite's does (`Store::commit_failed`)
/// rather than a bare "store error" that leaves the user wondering. Any other kind (a lost race,
/// a lock wait, a lost session, a constraint, a refusal) keeps its error: callers act on it.
fn nothing_committed(e: db::DbError) -> commit::CommitFailure {
    if e.kind() != db::ErrorKind::Other {
        return commit::CommitFailure::nothing(e);
    }
    commit::CommitFailure::nothing(db::DbError::refused(crate::errors::CmdletError::invalid_operation(format!(
        "the commit failed ({e}); nothing was committed"
    ))))
}

/// A commit whose outcome this process cannot know: the central session was lost during the
/// commit point. Nothing is undone; the next open decides from what the central database holds.
fn in_doubt(e: db::DbError) -> commit::CommitFailure {
    commit::CommitFailure {
        error: db::DbError::refused(
            crate::errors::CmdletError::invalid_operation(format!(
                "the connection to the central database was lost while committing ({e}); the change may or may not have been committed: the next command completes or undoes it (see get_cs_persistent_chat_state() before changing anything)"
            ))
            .terminating(),
        ),
        committed: commit::Committed::Unknown,
    }
}

/// A change committed (its decision is in the central database) whose branch in the pool
/// database at `url` could not be committed now: recovery commits it when pchat next opens the
/// store, or when a writer meets its locks; until then that copy's rows of the change are not
/// visible there, and are locked.
fn incomplete(url: &str, e: db::DbError) -> commit::CommitFailure {
    commit::CommitFailure {
        error: db::DbError::refused(
            crate::errors::CmdletError::invalid_operation(format!(
                "the change is committed, but completing it in the pool database {url} failed ({e}); it completes when pchat next opens the store"
            ))
            .terminating(),
        ),
        committed: commit::Committed::Pending,
    }
}

/// Whether the pool schema is there (`schema_version`), and which of the pool tables every
/// version of it has (`pool_data::COPY_ORDER`, `pool_sync`) are missing, comma-separated: in
/// the one round trip that looked for `schema_version` alone.
fn pool_tables_check() -> &'static str {
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let tables: Vec<String> = super::pool_data::COPY_ORDER
            .iter()
            .map(|(t, _)| *t)
            .chain(["pool_sync"])
            .map(|t| format!("'{t}'"))
            .collect();
        format!(
            "SELECT to_regclass('schema_version') IS NOT NULL, array_to_string(ARRAY(SELECT t FROM unnest(ARRAY[{}]) AS t WHERE to_regclass(t) IS NULL), ', ')",
            tables.join(", ")
        )
    })
}

/// A session on the pool database at `url`, checked as `pool_files::inspect` checks a file, or
/// why it cannot serve.
fn open_pool_session(url: &str) -> Result<Db, String> {
    let shown = super::pg::shown_url(url);
    let db = Db::open_postgres(url).map_err(|e| {
        if db::server_silent(&e) {
            format!("the database {shown} cannot be opened: {} ({e})", super::SERVER_SILENT)
        } else if db::database_missing(&e) {
            format!("the database {shown} cannot be opened: {} ({e})", super::DATABASE_MISSING)
        } else {
            format!("the database {shown} cannot be opened ({e})")
        }
    })?;
    let not_pool = || format!("the database {shown} is not a pool database (no pchat pool schema in it)");
    let (has_table, missing): (bool, String) = db
        .query_row(pool_tables_check(), (), |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(|e| format!("the database {shown} cannot be read ({e})"))?;
    if !has_table {
        return Err(not_pool());
    }
    let recorded: Option<(String, i64)> = db
        .query_row(dialect::PG_SCHEMA_VERSION, (), |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
        .map_err(|e| format!("the database {shown} cannot be read ({e})"))?;
    let steps = schema::sqlite_steps(schema::Database::Pool);
    let version = match recorded {
        None => return Err(not_pool()),
        Some((schema, _)) if schema != "pool" => {
            return Err(format!("the database {shown} holds pchat's {schema} schema, not a pool database's"));
        }
        Some((_, version)) if version as usize > steps.len() => {
            return Err(super::newer_schema_error(&format!("the database {shown}"), version, steps));
        }
        Some((_, version)) => version as usize,
    };
    // After the version check (a newer pchat's schema is told as such, never as damage) and
    // before any migration writes to it: its identity may be intact, but its rows are not all
    // there, so it is never served (a read would fail on the missing table) nor a repair's source.
    if !missing.is_empty() {
        return Err(format!(
            "the database {shown} is damaged: pchat's pool table{} {missing} {} missing (dropped?); restore the database pchat made, or drop this one, create it again empty and repair the pool from its other copy (Repair fills an empty database only)",
            if missing.contains(',') { "s" } else { "" },
            if missing.contains(',') { "are" } else { "is" },
        ));
    }
    if version < steps.len() {
        db.migrate_postgres(schema::Database::Pool)
            .map_err(|e| format!("the database {shown} cannot be brought up to date ({e:#})"))?;
    }
    Ok(db)
}

/// Ctrl-C stops a long read of a pool database as it does one of the central database, for as
/// long as the session is kept (`SessionNode`): a refused one is dropped and tried again at the
/// next call, and a store opened again drops its old sessions.
fn interrupted_by_signals(db: &Db) -> crate::interrupt::Registered {
    let handle = db.interrupt_handle();
    crate::interrupt::register(move || handle.interrupt())
}

#[cfg(test)]
#[cfg(unix)] // The throwaway PostgreSQL server is started by a shell script.
pub(crate) mod tests {
    use super::*;
    use crate::store::db::ErrorKind;
    use crate::store::pg::test_cluster::{Cluster, connect};
    use crate::store::pg::{copy, identity};
    use crate::store::room::RoomQuery;
    use crate::store::route::{Target, route_across};
    use crate::store::schema::Database;

    /// The first message's read of the access version names the row the access module writes
    /// (the text is a constant, so it spells the key out).
    #[test]
    fn the_prefetch_reads_the_access_version_row_access_writes() {
        let key = format!("WHERE key = '{}'", crate::store::access::ACCESS_VERSION);
        assert!(PREFETCH.contains(&key), "{PREFETCH}");
    }

    /// A new PostgreSQL database migrated to `db`'s schema; its URL.
    fn migrated(cluster: &Cluster, tag: &str, db: Database) -> String {
        let url = cluster.database(tag);
        Db::open_postgres(&url).unwrap().migrate_postgres(db).unwrap();
        url
    }

    /// The demo store (`pchat --demo`) on SQLite, with a room name, a room description and a
    /// message made non-ASCII in every pool file, and the same store copied by `copy_store` into
    /// a central and one pool database per SQL instance; the PostgreSQL store's instances name
    /// their databases by `Connection` (kept in `sql_instances.file`). Also the targets.
    pub(crate) fn demo_copied(cluster: &Cluster) -> (tempfile::TempDir, Store, Store, copy::Targets) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("demo.db");
        crate::cli::demo_store_for_tests(&path);
        let sqlite = Store::open(&path).unwrap();
        let mut pools = std::collections::BTreeMap::new();
        for instance in sqlite.sql_instances().unwrap() {
            let file = Db::open_sqlite_existing(&dir.path().join(&instance.file)).unwrap();
            file.execute_batch(
                "UPDATE rooms SET name = name || ' Zürich 会議 ✓', description = 'Ünïcödé — ελληνικά'
                   WHERE id = (SELECT min(id) FROM rooms WHERE name <> 'FinanceRoom');
                 UPDATE messages SET text = 'Grüße, 你好, 🙂' WHERE id = (SELECT min(id) FROM messages);
                 UPDATE messages SET text = 'tab' || char(9) || 'line' || char(10) || 'back\\slash' || char(13) || '\\N'
                   WHERE id = (SELECT max(id) FROM messages);",
            )
            .unwrap();
            // Not created in advance: copy_store creates a missing database.
            let url = cluster.missing_database("demo_pool");
            pools.insert(instance.identity, url);
        }
        let targets = copy::Targets { central: cluster.database("demo_central"), pools };
        copy::copy_store(&sqlite, &targets).unwrap();
        let pg = Store::open_postgres(&targets.central).unwrap();
        (dir, sqlite, pg, targets)
    }

    /// The demo store on SQLite and on PostgreSQL (see `demo_copied`).
    fn demo_on_both(cluster: &Cluster) -> (tempfile::TempDir, Store, Store) {
        let (dir, sqlite, pg, _) = demo_copied(cluster);
        (dir, sqlite, pg)
    }

    /// A store opened again after its central session was lost (engine/reconnect.rs) leaves the
    /// old store's interrupters behind once it is dropped, its pool sessions' too: each Ctrl-C
    /// would otherwise send a cancel request to every session ever opened.
    #[test]
    fn a_store_opened_again_keeps_one_interrupter_per_open_session() {
        let Some(cluster) = Cluster::shared("a_store_opened_again_keeps_one_interrupter_per_open_session") else {
            return;
        };
        let (_dir, _sqlite, pg, _) = demo_copied(cluster);
        pg.attach_pool_databases().unwrap();
        let ids = |store: &Store| -> Vec<u64> {
            let Backend::Pg(s) = &store.backend else { panic!("a PostgreSQL store") };
            std::iter::once(store._interrupt.id()).chain(s.list.iter().map(|n| n._interrupt.id())).collect()
        };
        let old = ids(&pg);
        assert!(old.len() > 1, "no pool session was opened: {old:?}");
        assert!(old.iter().all(|id| crate::interrupt::is_registered(*id)));
        let again = pg.reopened().unwrap();
        again.attach_pool_databases().unwrap();
        drop(pg);
        assert!(old.iter().all(|id| !crate::interrupt::is_registered(*id)), "a closed session's interrupter stayed");
        assert!(ids(&again).iter().all(|id| crate::interrupt::is_registered(*id)));
    }

    /// What the store's reads answer, as text: pools and services, SQL instances (names; their
    /// files and connections differ), and for every chat pool its categories, add-ins, rooms with
    /// their member, manager and presenter lists, rooms by name and by filters, and each room's
    /// message count, size and first messages; the directory's principals and roles.
    fn reads(store: &Store) -> Vec<String> {
        store.attach_pool_databases().unwrap();
        store.begin(false).unwrap();
        let mut out = vec![
            format!("{:?}", store.pools().unwrap()),
            format!("{:?}", store.services().unwrap()),
            format!("{:?}", store.sql_instances().unwrap().iter().map(|s| &s.identity).collect::<Vec<_>>()),
            format!("{:?} {:?}", store.sites().unwrap(), store.sip_domains().unwrap()),
            format!("{:?}", store.principals().unwrap()),
            format!("{:?}", store.roles().unwrap()),
        ];
        for target in store.chat_pools(None).unwrap() {
            out.push(format!("pool {}", target.fqdn));
            out.push(format!("{:?}", store.categories(&target).unwrap()));
            out.push(format!("{:?}", store.addins(&target).unwrap()));
            let mut rooms = store.rooms(&target, &RoomQuery::default()).unwrap();
            store.load_room_lists(&target, &mut rooms).unwrap();
            out.push(format!("{rooms:?}"));
            for room in &rooms {
                out.push(format!("{:?}", store.room_by_name(&target, room.name()).unwrap()));
                let all = crate::store::message::MessageQuery::default();
                out.push(format!("{:?}", store.message_totals(&target.schema, room.id, &all).unwrap()));
                let first = crate::store::message::MessageQuery { limit: Some(3), ..Default::default() };
                out.push(format!("{:?}", store.messages(&target.schema, room.id, &first).unwrap()));
            }
            for q in [
                RoomQuery { disabled: Some(false), ..Default::default() },
                RoomQuery { content_over: Some(1000), ..Default::default() },
                RoomQuery { privacy: Some(crate::catalog::enums::Privacy::Open), ..Default::default() },
            ] {
                out.push(format!("{:?}", store.rooms(&target, &q).unwrap()));
            }
        }
        store.commit().unwrap();
        out
    }

    /// The store's reads answer the same on the demo store and on its rows in PostgreSQL
    /// databases: routing to each pool database's session, the read transaction, and the
    /// spellings of the statements they run.
    #[test]
    fn reads_answer_on_postgres_as_on_sqlite() {
        let Some(cluster) = Cluster::shared("reads_answer_on_postgres_as_on_sqlite") else { return };
        let (_dir, sqlite, pg) = demo_on_both(cluster);
        let (on_sqlite, on_pg) = (reads(&sqlite), reads(&pg));
        assert!(on_sqlite.len() > 20 && on_sqlite.iter().any(|r| r.contains("FinanceRoom")), "{on_sqlite:?}");
        assert_eq!(on_sqlite.len(), on_pg.len());
        for (s, p) in on_sqlite.iter().zip(&on_pg) {
            assert_eq!(s, p);
        }
        // Every pool database's session was opened, none attached (nothing is a file here).
        assert!(pg.database_files().unwrap().is_empty());
        for instance in pg.sql_instances().unwrap() {
            assert!(pg.pool_schema(&instance.identity).is_some_and(|s| s.starts_with("pg")), "{}", instance.identity);
        }
    }

    /// The session of a copy, for looking at its transaction (not joining it).
    fn session<'s>(store: &'s Store, alias: &str) -> &'s Db {
        let Backend::Pg(s) = &store.backend else { panic!("not PostgreSQL") };
        &s.list.by_alias(alias).unwrap().db
    }

    /// A new pool database made for `store` as Publish makes one: the schema and this store's
    /// identity, recorded in its central database.
    fn made_for(store: &Store, cluster: &Cluster, tag: &str) -> String {
        let url = cluster.database(tag);
        let owner = store.pool_file_owner().unwrap();
        let made = identity::create_pool_schema(&Db::open_postgres(&url).unwrap(), &owner).unwrap();
        identity::record(store.db(), &url, &made).unwrap();
        url
    }

    /// A pool database serves only while it is the one recorded for its connection: dropped and
    /// re-created (empty, made by another store, made again by this one), it is unavailable
    /// with the reason, and serves again once the recorded one is back. A pool database of an
    /// older copy (this store's id in its row, nothing recorded) is recognised and recorded at
    /// its first open.
    #[test]
    fn pool_databases_are_recognised_by_their_identity() {
        let Some(cluster) = Cluster::shared("pool_databases_are_recognised_by_their_identity") else { return };
        let (central_url, store) = new_store(cluster, "ident_central");
        let (_, other) = new_store(cluster, "ident_other");
        let url = made_for(&store, cluster, "ident_pool");
        let instance = "sqlü.contoso.com\\rëd";
        store.db().execute("INSERT INTO sql_instances(identity, file) VALUES (?1, ?2)", [instance, &url]).unwrap();
        store.attach_pool_databases().unwrap();
        assert!(store.pool_schema(instance).is_some(), "{:?}", store.unavailable_reason(instance));
        let recorded = identity::recorded(store.db(), &url).unwrap().unwrap();

        let name = url.rsplit('/').next().unwrap().to_string();
        let server = url.rsplit_once('/').unwrap().0.to_string() + "/postgres";
        let recreate = || {
            let mut c = connect(&server);
            c.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).unwrap();
            c.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")).unwrap();
        };
        let reopened = |says: &str| {
            let store = Store::open_postgres(&central_url).unwrap();
            store.attach_pool_databases().unwrap();
            assert_eq!(store.pool_schema(instance), None, "{says}");
            let why = store.unavailable_reason(instance).unwrap();
            assert!(why.contains(says), "{why}");
            why
        };
        recreate();
        let why = reopened("is not a pool database");
        assert!(why.contains("recorded") && why.contains(instance), "{why}");
        // Filled by another store: its id named.
        let theirs =
            identity::create_pool_schema(&Db::open_postgres(&url).unwrap(), &other.pool_file_owner().unwrap()).unwrap();
        let why = reopened("belongs to another store");
        assert!(why.contains(&other.store_id().unwrap().unwrap()), "{why}");
        assert_ne!(theirs.id, recorded.id);
        // Made again by this store (a new id, a new oid): still not the recorded one.
        recreate();
        identity::create_pool_schema(&Db::open_postgres(&url).unwrap(), &store.pool_file_owner().unwrap()).unwrap();
        reopened("differs from the recorded");
        // The same id in a re-created database (restored from a dump): the oid tells.
        connect(&url).execute("UPDATE pool_file SET id = $1", &[&recorded.id]).unwrap();
        reopened("dropped and re-created");
        assert_eq!(identity::recorded(store.db(), &url).unwrap(), Some(recorded.clone()), "no open re-records");

        // An older copy: the row names this store, nothing is recorded: recorded at first open.
        store.db().execute("DELETE FROM pool_database_identities", ()).unwrap();
        let fresh = Store::open_postgres(&central_url).unwrap();
        fresh.attach_pool_databases().unwrap();
        assert!(fresh.pool_schema(instance).is_some(), "{:?}", fresh.unavailable_reason(instance));
        let now = identity::recorded(store.db(), &url).unwrap().unwrap();
        assert_eq!(now.id, recorded.id);
        assert_ne!(now.oid, recorded.oid);
        // … but not one whose row names another store, nor one with no row.
        connect(&url).execute("UPDATE pool_file SET store = 'elsewhere'", &[]).unwrap();
        store.db().execute("DELETE FROM pool_database_identities", ()).unwrap();
        reopened("belongs to another store");
        connect(&url).execute("DELETE FROM pool_file", &[]).unwrap();
        reopened("no identity naming this store");
        assert_eq!(identity::recorded(store.db(), &url).unwrap(), None);
    }

    /// A new PostgreSQL store (central database only).
    fn new_store(cluster: &Cluster, tag: &str) -> (String, Store) {
        let url = cluster.database(tag);
        let store = Store::open_postgres(&url).unwrap();
        (url, store)
    }

    /// Sessions opening one new store at once all open it, and it is seeded once: what opening
    /// creates is created under the migration's lock. (Opening used to create the two-phase
    /// commit's decision table after the migration, and concurrent `CREATE TABLE IF NOT EXISTS`
    /// can fail on the catalog's unique index: `scripts/pg-concurrency` hit it with four
    /// processes started together. Threads here open more staggered than processes, so this
    /// test shows that race only sometimes; the fix is structural, central step 18.)
    #[test]
    fn a_new_store_opened_by_several_processes_at_once_opens_in_each() {
        let Some(cluster) = Cluster::shared("a_new_store_opened_by_several_processes_at_once_opens_in_each") else {
            return;
        };
        for round in 0..3 {
            let url = cluster.database(&format!("together{round}"));
            let barrier = std::sync::Barrier::new(4);
            let opened: Vec<Result<(), String>> = std::thread::scope(|s| {
                let opens: Vec<_> = (0..4)
                    .map(|_| {
                        s.spawn(|| {
                            barrier.wait();
                            Store::open_postgres(&url).map(drop).map_err(|e| format!("{e:#}"))
                        })
                    })
                    .collect();
                opens.into_iter().map(|t| t.join().unwrap()).collect()
            });
            assert!(opened.iter().all(Result::is_ok), "round {round}: {opened:?}");
            let store = Store::open_postgres(&url).unwrap();
            let roles: i64 = store.db().query_row("SELECT count(*) FROM roles", (), |r| r.get(0)).unwrap();
            let decisions: i64 =
                store.db().query_row("SELECT count(*) FROM pchat_twophase_decisions", (), |r| r.get(0)).unwrap();
            let alone = Store::open_postgres(&cluster.database(&format!("alone{round}"))).unwrap();
            let seeded: i64 = alone.db().query_row("SELECT count(*) FROM roles", (), |r| r.get(0)).unwrap();
            assert_eq!(roles, seeded, "seeded once, as a store opened alone");
            assert_eq!(decisions, 0);
        }
    }

    /// Opening a new PostgreSQL store migrates it and seeds it as a new SQLite store is seeded,
    /// once; a database of another collation is refused.
    #[test]
    fn a_new_postgres_store_is_migrated_and_seeded_once() {
        let Some(cluster) = Cluster::shared("a_new_postgres_store_is_migrated_and_seeded_once") else { return };
        let (url, store) = new_store(cluster, "new");
        let version: i64 =
            store.db().query_row("SELECT version FROM schema_version WHERE id = 1", (), |r| r.get(0)).unwrap();
        assert_eq!(version as usize, schema::sqlite_steps(Database::Central).len());
        let dir = tempfile::tempdir().unwrap();
        let sqlite = Store::open(&dir.path().join("s.db")).unwrap();
        let seeded = |s: &Store| {
            let mut rows: Vec<String> = s
                .db()
                .query_map(
                    "SELECT identity, sid, cmdlets, user_scopes, is_standard FROM roles ORDER BY identity",
                    (),
                    |r| {
                        Ok(format!(
                            "{:?}",
                            (
                                r.get::<String>(0)?,
                                r.get::<String>(1)?,
                                r.get::<String>(2)?,
                                r.get::<String>(3)?,
                                r.get::<i64>(4)?
                            )
                        ))
                    },
                )
                .unwrap();
            for table in ["policies", "configurations", "compliance_configurations"] {
                rows.extend(
                    s.db().query_map(&format!("SELECT identity FROM {table}"), (), |r| r.get::<String>(0)).unwrap(),
                );
            }
            rows
        };
        assert_eq!(seeded(&store), seeded(&sqlite));
        assert_eq!(seeded(&store).len(), 7 + 3);
        drop(store);
        let store = Store::open_postgres(&url).unwrap();
        assert_eq!(seeded(&store).len(), 7 + 3, "seeded again");

        // A write transaction opens (step 4); a savepoint outside one would open a transaction
        // no two-phase commit covers, and is refused.
        store.begin(true).unwrap();
        assert!(store.in_transaction() && store.is_locked());
        store.rollback();
        let refused = CmdletErrorText::of(store.savepoint().unwrap_err());
        assert!(refused.contains("a savepoint outside a transaction is not supported"), "{refused}");
        assert!(!store.in_transaction());

        let other = cluster.database_with("utf8", "TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'");
        let e = format!("{:#}", Store::open_postgres(&other).err().expect("refused"));
        assert!(e.contains("cannot migrate"), "{e}");
        assert!(connect(&other).query("SELECT 1 FROM pg_tables WHERE tablename = 'roles'", &[]).unwrap().is_empty());
    }

    /// The words of a store error as the user reads them.
    struct CmdletErrorText;
    impl CmdletErrorText {
        fn of(e: db::DbError) -> String {
            crate::errors::CmdletError::from(e).message
        }
    }

    /// A pool database that is missing, unreachable, empty, of the other schema or newer is
    /// unavailable with the reason, as a pool file is; nothing is created or written on the
    /// server (no database, no table); a password in a connection string is not shown.
    #[test]
    fn pool_databases_are_opened_never_created() {
        let Some(cluster) = Cluster::shared("pool_databases_are_opened_never_created") else { return };
        let (central_url, store) = new_store(cluster, "open_central");
        let good = made_for(&store, cluster, "open_good");
        let empty = cluster.database("open_empty");
        let newer = migrated(cluster, "open_newer", Database::Pool);
        connect(&newer).execute("UPDATE schema_version SET version = version + 1", &[]).unwrap();
        let missing_name = format!("pchat_missing_{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
        let missing = good.rsplit_once('/').map(|(server, _)| format!("{server}/{missing_name}")).unwrap();
        let secret = missing.replacen("://", "://pchat:hunter2@", 1);
        let rows = [
            ("sqlgood", good.as_str()),
            ("sqlempty", empty.as_str()),
            ("sqlcentral", central_url.as_str()),
            ("sqlnewer", newer.as_str()),
            ("sqlmissing", missing.as_str()),
            ("sqlsecret", secret.as_str()),
        ];
        for (identity, url) in rows {
            store.db().execute("INSERT INTO sql_instances(identity, file) VALUES (?1, ?2)", [identity, url]).unwrap();
        }
        store.attach_pool_databases().unwrap();
        assert!(store.pool_schema("sqlgood").is_some() && store.unavailable_reason("sqlgood").is_none());
        let why = |i: &str| {
            assert_eq!(store.pool_schema(i), None, "{i}");
            store.unavailable_reason(i).unwrap_or_else(|| panic!("{i} is not unavailable"))
        };
        assert!(why("sqlempty").contains("is not a pool database (no pchat pool schema in it)"), "{}", why("sqlempty"));
        assert!(why("sqlcentral").contains("holds pchat's central schema"), "{}", why("sqlcentral"));
        assert!(why("sqlnewer").contains("was written by a newer pchat"), "{}", why("sqlnewer"));
        assert!(why("sqlmissing").contains(&format!("{missing} cannot be opened")), "{}", why("sqlmissing"));
        assert!(why("sqlmissing").contains("does not exist"), "{}", why("sqlmissing"));
        assert!(
            why("sqlsecret").contains("pchat:***@") && !why("sqlsecret").contains("hunter2"),
            "{}",
            why("sqlsecret")
        );

        let mut server = connect(&central_url);
        let exists = server.query("SELECT 1 FROM pg_database WHERE datname = $1", &[&missing_name]).unwrap();
        assert!(exists.is_empty(), "a missing pool database was created");
        let made =
            connect(&empty).query("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'", &[]).unwrap();
        assert!(made.is_empty(), "tables were made in an empty database");
        let version: i64 = connect(&newer).query_one("SELECT version FROM schema_version", &[]).unwrap().get(0);
        assert_eq!(version as usize, schema::sqlite_steps(Database::Pool).len() + 1);

        // Each call tries an unavailable database again: made a pool database, it serves.
        let owner = store.pool_file_owner().unwrap();
        let made = identity::create_pool_schema(&Db::open_postgres(&empty).unwrap(), &owner).unwrap();
        identity::record(store.db(), &empty, &made).unwrap();
        store.attach_pool_databases().unwrap();
        assert!(store.pool_schema("sqlempty").is_some());
        // An instance whose connection changes gets the new database's session.
        let before = store.pool_schema("sqlgood").unwrap();
        store.db().execute("UPDATE sql_instances SET file = ?1 WHERE identity = 'sqlgood'", [&newer]).unwrap();
        store.attach_pool_databases().unwrap();
        assert_eq!(store.pool_schema("sqlgood"), None);
        store.db().execute("UPDATE sql_instances SET file = ?1 WHERE identity = 'sqlgood'", [&good]).unwrap();
        store.attach_pool_databases().unwrap();
        assert_eq!(store.pool_schema("sqlgood"), Some(before), "the session of that connection is reused");
    }

    /// A statement routed to a copy runs on that copy's session; central ones on the central
    /// session. A read transaction opens a copy's transaction on first use only, one snapshot
    /// per database, with the store's savepoints; it ends on every session it touched.
    #[test]
    fn copies_are_sessions_joining_the_read_transaction_on_first_use() {
        let Some(cluster) = Cluster::shared("copies_are_sessions_joining_the_read_transaction_on_first_use") else {
            return;
        };
        let (_, store) = new_store(cluster, "route_central");
        let (one, two) = (made_for(&store, cluster, "route_one"), made_for(&store, cluster, "route_two"));
        for (identity, url) in [("sql01", &one), ("sql02", &two)] {
            store.db().execute("INSERT INTO sql_instances(identity, file) VALUES (?1, ?2)", [identity, url]).unwrap();
            connect(url)
                .execute("INSERT INTO pool_sync(pool, seq) VALUES ($1, 0)", &[&format!("marker-{identity}")])
                .unwrap();
        }
        store.attach_pool_databases().unwrap();
        let (a, b) = (store.pool_schema("sql01").unwrap(), store.pool_schema("sql02").unwrap());
        let markers = |alias: &str| -> Vec<String> {
            store
                .route(Target::Copy(alias), "SELECT pool FROM {db}.pool_sync ORDER BY pool")
                .prepare_cached()
                .unwrap()
                .query_map((), |r| r.get(0))
                .unwrap()
                .collect::<db::Result<_>>()
                .unwrap()
        };
        assert_eq!(markers(&a), ["marker-sql01"]);
        assert_eq!(markers(&b), ["marker-sql02"]);
        let central: i64 = store
            .route(Target::Central, "SELECT count(*) FROM {db}.sql_instances")
            .query_row((), |r| r.get(0))
            .unwrap();
        assert_eq!(central, 2);
        let across =
            route_across(store.db(), Target::Copy(&a), Target::Copy(&b), "INSERT INTO {to}.t SELECT * FROM {from}.t");
        assert!(across.is_err());

        store.begin_attached(false).map_err(|_| ()).unwrap();
        assert!(session(&store, &a).is_autocommit() && session(&store, &b).is_autocommit());
        assert_eq!(markers(&a), ["marker-sql01"]);
        assert!(!session(&store, &a).is_autocommit(), "the copy read joined the transaction");
        assert!(session(&store, &b).is_autocommit(), "a copy not read stays out of it");
        // One snapshot per database for the whole transaction.
        connect(&one).execute("INSERT INTO pool_sync(pool, seq) VALUES ('marker-later', 0)", &[]).unwrap();
        assert_eq!(markers(&a), ["marker-sql01"]);
        store.commit().unwrap();
        assert!(session(&store, &a).is_autocommit());
        assert_eq!(markers(&a), ["marker-later", "marker-sql01"]);

        // A copy joining inside a savepoint takes it too: rolling back to it undoes a failed
        // statement there, and the transaction goes on.
        store.begin(false).unwrap();
        store.savepoint().unwrap();
        let failed = store
            .route(Target::Copy(&b), "SELECT 1 / (count(*) - 1) FROM {db}.pool_sync")
            .query_row((), |r| r.get::<i64>(0));
        assert!(failed.is_err());
        store.rollback_to_savepoint();
        assert_eq!(markers(&b), ["marker-sql02"]);
        store.commit().unwrap();
        assert!(session(&store, &b).is_autocommit());

        // Reads only: a copy cannot be written through a read transaction, nor reached from a
        // central write transaction (seeding's), and a rollback ends every session's part.
        store.begin(false).unwrap();
        let write = store.route(Target::Copy(&a), "DELETE FROM {db}.pool_sync").execute(()).unwrap_err();
        assert!(write.to_string().contains("read-only transaction"), "{write}");
        store.rollback();
        assert!(session(&store, &a).is_autocommit() && !store.in_transaction());
        store.db().begin(Begin::Immediate).unwrap();
        let refused = store.route(Target::Copy(&a), "SELECT 1").query_row((), |r| r.get::<i64>(0)).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::Refused);
        assert!(session(&store, &a).is_autocommit());
        store.rollback();
        assert_eq!(markers(&a), ["marker-later", "marker-sql01"]);
    }

    /// `store_epoch` keys the caches: a change another session commits is seen at the next
    /// transaction (not inside a read's snapshot), this session's uncommitted write moves the key
    /// in its transaction, a rollback leaves no memo that a later state could match, and the
    /// pool's mark moving leaves the key alone.
    #[test]
    fn the_store_epoch_keeps_the_caches_coherent() {
        let Some(cluster) = Cluster::shared("the_store_epoch_keeps_the_caches_coherent") else { return };
        let (url, store) = new_store(cluster, "epoch");
        let mut other = connect(&url);
        let state = |store: &Store| store.pools().unwrap().iter().map(|p| format!("{:?}", p.state)).collect::<Vec<_>>();
        other
            .batch_execute(
                "INSERT INTO sites(name, ord) VALUES ('Dublin', 0);
                 INSERT INTO pools(fqdn, site, ord) VALUES ('pc01.contoso.com', 'Dublin', 0);",
            )
            .unwrap();
        assert_eq!(state(&store), ["Normal"]);
        let key = store.cache_key().unwrap();
        let access = store.access_key().unwrap();

        // Another session's commit: seen by the next read transaction, not inside one.
        store.begin(false).unwrap();
        assert_eq!(store.cache_key().unwrap(), key);
        other.execute("UPDATE pools SET state = 'FailedOver'", &[]).unwrap();
        assert_eq!(store.cache_key().unwrap(), key);
        assert_eq!(state(&store), ["Normal"]);
        store.commit().unwrap();
        store.begin(false).unwrap();
        assert_ne!(store.cache_key().unwrap(), key);
        assert_eq!(state(&store), ["FailedOver"]);
        store.commit().unwrap();

        // The mark moves with every change to the pool's data: not a topology change.
        let key = store.cache_key().unwrap();
        other.execute("UPDATE pools SET seq = coalesce(seq, 0) + 1, generation = generation + 1", &[]).unwrap();
        assert_eq!(store.cache_key().unwrap(), key);
        // What roles are made of moves the access key.
        assert_eq!(store.access_key().unwrap().0, key.0, "{access:?}");
        other.execute("UPDATE roles SET user_scopes = '[]'", &[]).unwrap();
        assert_ne!(store.access_key().unwrap().0, key.0);

        // This session's own uncommitted write (a central write transaction: seeding's kind).
        let key = store.cache_key().unwrap();
        store.db().begin(Begin::Immediate).unwrap();
        store.db().execute("UPDATE pools SET state = 'Normal'", ()).unwrap();
        let inside = store.cache_key().unwrap();
        assert_ne!(inside, key);
        assert_eq!(state(&store), ["Normal"]);
        store.rollback();
        assert_eq!(store.cache_key().unwrap(), key);
        assert_eq!(state(&store), ["FailedOver"]);
        // Another session now makes that same change: its key is not the rolled-back one, so no
        // memo taken inside the rolled-back transaction could pass for it.
        other.execute("UPDATE pools SET state = 'Normal'", &[]).unwrap();
        assert_ne!(store.cache_key().unwrap(), inside);
        assert_eq!(state(&store), ["Normal"]);
    }

    /// The epoch as the server has it now, in the store's own transaction.
    fn epoch_now(store: &Store) -> i64 {
        store.db().query_row("SELECT n FROM store_epoch WHERE id = 1", (), |r| r.get(0)).unwrap()
    }

    /// A write transaction reads the epoch and a pool's mark once (design notes §5 step 8: they
    /// were read four and two times per change), and the kept values stay coherent: the mark
    /// `set_marks` writes is what is kept, a write of a watched table in the same transaction is
    /// seen at once (the epoch and the marks are read again), as is a rollback to a savepoint.
    #[test]
    fn a_write_transaction_reads_the_epoch_and_marks_once_and_sees_its_own_writes() {
        let Some(cluster) =
            Cluster::shared("a_write_transaction_reads_the_epoch_and_marks_once_and_sees_its_own_writes")
        else {
            return;
        };
        let (url, store) = new_store(cluster, "epochonce");
        connect(&url)
            .batch_execute(
                "INSERT INTO sites(name, ord) VALUES ('Dublin', 0);
                 INSERT INTO pools(fqdn, site, ord, generation, seq) VALUES ('pc01.contoso.com', 'Dublin', 0, 1, 3);",
            )
            .unwrap();
        let trips = |store: &Store| store.db().round_trips();
        let start = trips(&store);
        store.begin(true).unwrap();
        let key = store.cache_key().unwrap();
        assert_eq!(store.pool_mark("PC01.contoso.com").unwrap(), (1, 3));
        let access = store.access_key().unwrap();
        assert_eq!(access.0, key.0);
        // Branch wt-trips: the BEGIN's message read them (and the access version's meta row).
        assert_eq!(trips(&store) - start, 1, "epoch, mark and access version read with the BEGIN");
        let before = trips(&store);
        assert_eq!(store.cache_key().unwrap(), key);
        assert_eq!(store.access_key().unwrap(), access);
        assert_eq!(store.pool_mark("pc01.contoso.com").unwrap(), (1, 3));
        assert_eq!(trips(&store) - before, 0, "epoch and mark came from what the transaction read");
        // The access version this transaction writes is read back, not the one kept.
        store.advance_access_version().unwrap();
        let own = store.access_key().unwrap();
        assert_eq!(own.0, key.0);
        assert!(own.1.is_some() && own.1 != access.1, "{own:?} after {access:?}");

        // The mark this transaction writes is what it reads back, and it leaves the epoch alone.
        store.set_marks("pc01.contoso.com", (1, 4), &[]).unwrap();
        let before = trips(&store);
        assert_eq!(store.pool_mark("pc01.contoso.com").unwrap(), (1, 4));
        assert_eq!(store.cache_key().unwrap(), key);
        assert_eq!(trips(&store), before);
        assert_eq!(epoch_now(&store), key.0, "the mark's update moved no epoch");

        // A write of a watched table in this transaction: seen by the next read of either.
        store.db().execute("UPDATE pools SET state = 'FailedOver', seq = 9", ()).unwrap();
        let moved = store.cache_key().unwrap();
        assert_ne!(moved, key);
        assert_eq!(moved.0, epoch_now(&store));
        assert_eq!(store.pool_mark("pc01.contoso.com").unwrap(), (1, 9));
        assert_eq!(store.pools().unwrap()[0].state, crate::catalog::enums::PoolState::FailedOver);

        // A rollback to a savepoint undoes a write whose epoch and mark were kept.
        store.savepoint_named("item").unwrap();
        store.db().execute("UPDATE pools SET state = 'Normal', seq = 10", ()).unwrap();
        let inner = store.cache_key().unwrap();
        assert_eq!(store.pool_mark("pc01.contoso.com").unwrap(), (1, 10));
        store.rollback_to_named("item").unwrap();
        assert_eq!(store.cache_key().unwrap(), moved);
        assert_ne!(moved, inner);
        assert_eq!(store.pool_mark("pc01.contoso.com").unwrap(), (1, 9));
        store.rollback();
    }

    /// What another session commits between two write transactions is seen by the next one:
    /// nothing kept outlives the transaction that read it.
    #[test]
    fn another_sessions_commit_between_write_transactions_is_seen_by_the_next() {
        let Some(cluster) = Cluster::shared("another_sessions_commit_between_write_transactions_is_seen_by_the_next")
        else {
            return;
        };
        let (url, store) = new_store(cluster, "epochnext");
        let mut other = connect(&url);
        other
            .batch_execute(
                "INSERT INTO sites(name, ord) VALUES ('Dublin', 0);
                 INSERT INTO pools(fqdn, site, ord, generation, seq) VALUES ('pc01.contoso.com', 'Dublin', 0, 1, 3);",
            )
            .unwrap();
        store.begin(true).unwrap();
        let key = store.cache_key().unwrap();
        assert_eq!(store.pool_mark("pc01.contoso.com").unwrap(), (1, 3));
        store.commit().unwrap();
        other.batch_execute("UPDATE pools SET state = 'FailedOver', generation = 2, seq = 0").unwrap();
        store.begin(true).unwrap();
        let next = store.cache_key().unwrap();
        assert_ne!(next, key);
        assert_eq!(next.0, epoch_now(&store));
        assert_eq!(store.pool_mark("pc01.contoso.com").unwrap(), (2, 0));
        store.commit().unwrap();
        // A mark moved alone (a change through another process) moves no epoch, and is seen too.
        other.batch_execute("UPDATE pools SET seq = 1").unwrap();
        store.begin(true).unwrap();
        assert_eq!(store.cache_key().unwrap(), next);
        assert_eq!(store.pool_mark("pc01.contoso.com").unwrap(), (2, 1));
        store.rollback();
    }

    /// `pg::epoch_watch` passes every `SELECT` as unable to move the epoch: true while the
    /// central schema defines no function that could write a table (a trigger function aside).
    /// A new function fails this test until epoch_watch is checked against it.
    #[test]
    fn only_these_functions_exist_in_the_central_database() {
        let Some(cluster) = Cluster::shared("only_these_functions_exist_in_the_central_database") else { return };
        let (url, _store) = new_store(cluster, "functions");
        let mut names: Vec<String> = connect(&url)
            .query(
                "SELECT p.proname::text FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                 WHERE n.nspname = 'public' ORDER BY 1",
                &[],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        names.dedup();
        assert_eq!(names, ["pchat_json_valid", "store_epoch_bump"]);
    }
}
