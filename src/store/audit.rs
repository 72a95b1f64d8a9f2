//! The audit trail: one record per changed object per cmdlet call, written in the call's
//! transaction, chained by SHA-256 so that an edited, removed, reordered or truncated record is
//! found by `verify_audit`.
//!
//! Record N's hash is SHA-256 of record N-1's hash followed by N's canonical content (below).
//! The head of the chain (how many records, the last hash) is a row of its own, written in the
//! same transaction (once, when it commits: a pipeline of 100,000 grants writes it once): records
//! removed from the end of the trail leave the head pointing past them. Someone who can rewrite the whole database can rewrite both consistently; the head
//! reported by Test-CsPersistentChatAuditRecord, kept somewhere else, catches that (docs/security.md).

use crate::store::db::{self, OptionalExtension, Row, ValueRef, params};
use sha2::{Digest, Sha256};

use super::Store;
use super::audit_packing::{self as packing, At, Packed};
use super::dialect::Dialect;

/// How records spell their time (UTC, milliseconds): text order is time order.
pub const TIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.3fZ";

/// The hash before the first record.
const GENESIS: [u8; 32] = [0; 32];

/// What one record says, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// ISO-8601 UTC with milliseconds.
    pub time: String,
    pub actor: String,
    pub cmdlet: String,
    pub target: String,
    /// JSON object of the parameters given.
    pub parameters: String,
    /// JSON object of the changed properties' values before and after (None: New and Remove,
    /// or a cmdlet that reports none).
    pub before: Option<String>,
    pub after: Option<String>,
    /// `path:line`, `-c`, `stdin` or `repl:<id>`.
    pub source: String,
}

/// A stored record with its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    pub sequence: i64,
    pub entry: AuditEntry,
    /// As stored: 32 bytes, unless someone wrote something else there.
    pub hash: Vec<u8>,
}

/// Which records to read (all given conditions hold).
#[derive(Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<String>,
    pub cmdlet: Option<String>,
    pub target: Option<String>,
    /// ISO-8601 UTC bounds, inclusive.
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<usize>,
}

/// The result of walking the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verification {
    pub checked: i64,
    /// The first record that is not what the chain says, and why.
    pub broken: Option<(i64, String)>,
    /// The head as stored: (records, last hash).
    pub head: (i64, String),
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 15) as usize] as char);
    }
    out
}

/// The chain's head within the open transaction: records so far and the last hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    count: i64,
    hash: [u8; 32],
    /// Appended to since the transaction began (the row needs writing at commit).
    dirty: bool,
}

/// A stored hash as text: its hexadecimal digits, or what was written there instead.
fn shown(stored: &[u8]) -> String {
    if stored.len() == 32 { hex(stored) } else { String::from_utf8_lossy(stored).into_owned() }
}

/// A record to append, borrowed from whoever built it (the engine writes one per changed object
/// and need not copy the fields it shares between them).
#[derive(Debug, Clone, Copy)]
pub struct NewRecord<'a> {
    pub time: &'a str,
    pub actor: &'a str,
    pub cmdlet: &'a str,
    pub target: &'a str,
    pub parameters: &'a str,
    pub before: Option<&'a str>,
    pub after: Option<&'a str>,
    pub source: &'a str,
}

/// A record appended in the open transaction, in its stored form.
#[derive(Debug)]
pub struct Pending {
    sequence: i64,
    row: Packed,
    hash: [u8; 32],
}

/// The records the open transaction appended that are still in memory. Positions count the
/// transaction's records from 0: `records[0]` is record `first`, and records before `inserted`
/// are in the table. A record stays in memory after its insertion while the rollback of an open
/// savepoint could take it out of the table again without dropping it (see `Saved`).
#[derive(Debug, Default)]
pub struct Waiting {
    records: Vec<Pending>,
    first: usize,
    inserted: usize,
    memo: packing::Memo,
}

/// What a rollback to a savepoint restores: the head, and the records appended and inserted
/// when it opened.
#[derive(Debug)]
pub struct Saved {
    head: Option<Head>,
    appended: usize,
    inserted: usize,
}

/// How many records may wait before a savepoint opening at their own level inserts them (see
/// `save_audit_state`).
const FLUSH_AT: usize = 1024;

/// Records per INSERT statement, largest first (the rest of a flush takes the smaller ones).
const CHUNKS: [usize; 3] = [64, 8, 1];

/// The INSERT of `CHUNKS[size_index]` records; `shared`: the columns but id, time, target,
/// parameters and hash are parameters 1 to 6, bound once for all of them (see `insert_audit`).
fn insert_sql(size_index: usize, shared: bool) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        let mut all = Vec::new();
        for shared in [false, true] {
            for rows in CHUNKS {
                let mut sql = String::from(
                    "INSERT INTO audit(id, at, actor, cmdlet, target, parameters, before, after, source, hash, packing) VALUES ",
                );
                for i in 0..rows {
                    if i > 0 {
                        sql.push(',');
                    }
                    if shared {
                        let n = 7 + 5 * i;
                        let (at, target, parameters, hash) = (n + 1, n + 2, n + 3, n + 4);
                        sql.push_str(&format!("(?{n},?{at},?1,?2,?{target},?{parameters},?3,?4,?5,?{hash},?6)"));
                    } else {
                        sql.push_str("(?,?,?,?,?,?,?,?,?,?,?)");
                    }
                }
                all.push(sql);
            }
        }
        all
    });
    &all[usize::from(shared) * CHUNKS.len() + size_index]
}

fn bind_time(insert: &mut db::Statement<'_>, at: usize, row: &Packed) -> db::Result<()> {
    match row.at() {
        At::Millis(ms) => insert.bind(at, ms),
        At::Text(text) => insert.bind(at, text),
    }
}

impl AuditEntry {
    pub fn borrowed(&self) -> NewRecord<'_> {
        NewRecord {
            time: &self.time,
            actor: &self.actor,
            cmdlet: &self.cmdlet,
            target: &self.target,
            parameters: &self.parameters,
            before: self.before.as_deref(),
            after: self.after.as_deref(),
            source: &self.source,
        }
    }
}

/// The bytes a record's hash covers, in pieces: its sequence, then each field length-prefixed (a
/// missing field differs from an empty one), so no two different records share them.
fn canonical_parts(sequence: i64, e: &NewRecord<'_>, mut put: impl FnMut(&[u8])) {
    let fields: [Option<&str>; 8] = [
        Some(e.time),
        Some(e.actor),
        Some(e.cmdlet),
        Some(e.target),
        Some(e.parameters),
        e.before,
        e.after,
        Some(e.source),
    ];
    put(&sequence.to_le_bytes());
    for field in fields {
        match field {
            None => put(&[0]),
            Some(text) => {
                let mut prefix = [1u8; 5];
                prefix[1..].copy_from_slice(&(text.len() as u32).to_le_bytes());
                put(&prefix);
                put(text.as_bytes());
            }
        }
    }
}

/// `canonical_parts` in one buffer.
#[cfg(test)]
fn canonical(sequence: i64, e: &AuditEntry) -> Vec<u8> {
    let mut out = Vec::new();
    canonical_parts(sequence, &e.borrowed(), |part| out.extend_from_slice(part));
    out
}

/// SHA-256 of the previous hash followed by the canonical bytes, fed to the hash piece by piece.
fn chain(previous: &[u8; 32], sequence: i64, e: &NewRecord<'_>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(previous);
    canonical_parts(sequence, e, |part| h.update(part));
    h.finalize().into()
}

const COLUMNS: &str = "id, at, actor, cmdlet, target, parameters, before, after, source, hash, packing";

/// A record read back: its fields as written (rebuilt from the stored form, see
/// `audit_packing`), and whether the stored form was one pchat writes (false: someone edited the
/// row in a way that leaves no record to rebuild; it is shown as stored).
fn record(r: &Row<'_>) -> db::Result<(AuditRecord, bool)> {
    let mut well_formed = true;
    let time = match r.get_ref(1)? {
        ValueRef::Integer(ms) => packing::time_text(ms),
        ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
        _ => {
            well_formed = false;
            String::new()
        }
    };
    let packing = match r.get_ref(10)? {
        ValueRef::Integer(n) => n,
        ValueRef::Null => 0,
        _ => {
            well_formed = false;
            0
        }
    };
    let target = r.get::<Option<String>>(4)?.unwrap_or_default();
    let stored = r.get::<Option<String>>(5)?.unwrap_or_default();
    let parameters = packing::parameters(stored, &target, packing).unwrap_or_else(|stored| {
        well_formed = false;
        stored
    });
    let before: Option<String> = r.get(6)?;
    let after = packing::after(before.as_deref(), r.get(7)?, packing).unwrap_or_else(|stored| {
        well_formed = false;
        stored
    });
    let hash = match r.get_ref(9)? {
        ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
        _ => Vec::new(),
    };
    let entry = AuditEntry {
        time,
        actor: r.get::<Option<String>>(2)?.unwrap_or_default(),
        cmdlet: r.get(3)?,
        target,
        parameters,
        before,
        after,
        source: r.get::<Option<String>>(8)?.unwrap_or_default(),
    };
    Ok((AuditRecord { sequence: r.get(0)?, entry, hash }, well_formed))
}

/// Why an append could not continue the chain.
fn damaged(why: &str) -> db::DbError {
    db::DbError::refused(crate::errors::CmdletError::invalid_operation(format!(
        "the audit trail is damaged ({why}); no change is made without its record: Test-CsPersistentChatAuditRecord names the first bad record"
    )).terminating())
}

impl Store {
    /// The stored head: records so far and the last hash as stored (32 bytes unless edited).
    fn audit_head(&self) -> db::Result<Option<(i64, Vec<u8>)>> {
        // PostgreSQL: read with the write transaction's BEGIN.
        if let Some(head) = self.prefetched_audit_head() {
            return Ok(head);
        }
        self.db()
            .prepare_cached("SELECT count, hash FROM audit_head WHERE id = 1")?
            .query_row((), |r| {
                let hash = match r.get_ref(1)? {
                    ValueRef::Blob(b) | ValueRef::Text(b) => b.to_vec(),
                    _ => Vec::new(),
                };
                Ok((r.get(0)?, hash))
            })
            .optional()
    }

    /// Add a record at the end of the chain, inside the current transaction (`commit` writes the
    /// head).
    pub fn append_audit(&self, e: &AuditEntry) -> db::Result<()> {
        self.append_audit_record(&e.borrowed())
    }

    /// `append_audit` of a borrowed record.
    pub fn append_audit_record(&self, e: &NewRecord<'_>) -> db::Result<()> {
        let known = self.audit_head.borrow().clone();
        let head = match known {
            Some(head) => head,
            None => {
                let (count, last) = self.audit_head()?.unwrap_or((0, GENESIS.to_vec()));
                let hash = <[u8; 32]>::try_from(last).map_err(|_| damaged("its head is not a hash"))?;
                Head { count, hash, dirty: false }
            }
        };
        let sequence = head.count + 1;
        let next = chain(&head.hash, sequence, e);
        let mut waiting = self.audit_pending.borrow_mut();
        let row = packing::pack_with(e, &mut waiting.memo);
        waiting.records.push(Pending { sequence, row, hash: next });
        drop(waiting);
        *self.audit_head.borrow_mut() = Some(Head { count: sequence, hash: next, dirty: true });
        Ok(())
    }

    /// Insert the records appended but not yet inserted, several to a statement. Records wait
    /// in memory (see `Waiting`) until a read of the trail, the commit, or a savepoint opened
    /// with many of them waiting; they are still inserted in the transaction of the change they
    /// record (a failed insert fails the commit, see `commit`).
    pub(super) fn flush_audit(&self) -> db::Result<()> {
        let mut waiting = self.audit_pending.borrow_mut();
        let from = waiting.inserted - waiting.first;
        if from < waiting.records.len() {
            self.insert_audit(&waiting.records[from..]).map_err(|err| match err.kind() {
                db::ErrorKind::Constraint => damaged("its head is behind its records"),
                _ => err,
            })?;
            waiting.inserted = waiting.first + waiting.records.len();
        }
        // Records that no open savepoint's rollback can take out of the table again need not
        // stay in memory: those inserted before every savepoint whose rollback would undo the
        // insertion of records appended before it opened.
        let keep_from = self
            .audit_saved
            .borrow()
            .iter()
            .filter(|s| s.inserted < s.appended)
            .map(|s| s.inserted)
            .min()
            .unwrap_or(waiting.inserted);
        let drop = keep_from.saturating_sub(waiting.first).min(waiting.records.len());
        waiting.records.drain(..drop);
        waiting.first += drop;
        Ok(())
    }

    /// One INSERT per `CHUNKS[0]` records (and fewer for the rest): a grant to 100,000 users runs
    /// 1,600 statements rather than 100,000. When the records of a statement differ in their
    /// time, target and parameters only (a pipeline's), what they share is bound once: SQLite
    /// copies every text bound.
    fn insert_audit(&self, records: &[Pending]) -> db::Result<()> {
        let mut rest = records;
        // The statement of the last chunk, kept for the next one of the same form (the cache
        // hashes the whole SQL text of each it hands out).
        let mut current = None;
        for (size_index, size) in CHUNKS.into_iter().enumerate() {
            while rest.len() >= size {
                let (chunk, tail) = rest.split_at(size);
                rest = tail;
                let first = &chunk[0].row;
                let shared = size > 1 && chunk.iter().all(|p| p.row.same_but_time_target_and_parameters(first));
                let form = (size_index, shared);
                if !matches!(&current, Some((f, _)) if *f == form) {
                    current = Some((form, self.db().prepare_cached(insert_sql(size_index, shared))?));
                }
                let Some((_, insert)) = current.as_mut() else { continue };
                let mut at = 1;
                if shared {
                    insert.bind(1, first.actor())?;
                    insert.bind(2, first.cmdlet())?;
                    insert.bind(3, first.before())?;
                    insert.bind(4, first.after())?;
                    insert.bind(5, first.source())?;
                    insert.bind(6, first.packing)?;
                    at = 7;
                }
                for p in chunk {
                    let row = &p.row;
                    insert.bind(at, p.sequence)?;
                    if shared {
                        bind_time(insert, at + 1, row)?;
                        insert.bind(at + 2, row.target())?;
                        insert.bind(at + 3, row.parameters())?;
                        insert.bind(at + 4, &p.hash[..])?;
                        at += 5;
                        continue;
                    }
                    bind_time(insert, at + 1, row)?;
                    insert.bind(at + 2, row.actor())?;
                    insert.bind(at + 3, row.cmdlet())?;
                    insert.bind(at + 4, row.target())?;
                    insert.bind(at + 5, row.parameters())?;
                    insert.bind(at + 6, row.before())?;
                    insert.bind(at + 7, row.after())?;
                    insert.bind(at + 8, row.source())?;
                    insert.bind(at + 9, &p.hash[..])?;
                    insert.bind(at + 10, row.packing)?;
                    at += 11;
                }
                insert.execute_bound()?;
            }
        }
        Ok(())
    }

    /// Before a savepoint opens: its place in the records and the head are noted for a rollback
    /// to it. Many waiting records are inserted first when none of them belongs to an enclosing
    /// savepoint (a pipeline's items): memory stays bounded and the insertion happens at the
    /// level they belong to, not inside the new savepoint (whose journal would copy the audit's
    /// last page for every item).
    pub(super) fn save_audit_state(&self) -> db::Result<()> {
        let (appended, uninserted) = {
            let w = self.audit_pending.borrow();
            (w.first + w.records.len(), w.first + w.records.len() - w.inserted)
        };
        let own = self.audit_saved.borrow().last().is_none_or(|s| s.inserted >= s.appended);
        if uninserted >= FLUSH_AT && own {
            self.flush_audit()?;
        }
        let head = self.audit_head.borrow().clone();
        let inserted = self.audit_pending.borrow().inserted;
        self.audit_saved.borrow_mut().push(Saved { head, appended, inserted });
        Ok(())
    }

    /// A savepoint released: its records belong to the enclosing level now.
    pub(super) fn drop_audit_state(&self) {
        self.audit_saved.borrow_mut().pop();
    }

    /// A savepoint rolled back: the head as it was, none of the records appended inside it, and
    /// those appended before it but inserted inside it waiting again (the rollback takes them
    /// out of the table).
    pub(super) fn restore_audit_state(&self) {
        let Some(saved) = self.audit_saved.borrow_mut().pop() else { return };
        *self.audit_head.borrow_mut() = saved.head;
        let mut waiting = self.audit_pending.borrow_mut();
        // Records appended inside it may have left memory already (inserted, and then out of
        // every other savepoint's reach): the next record takes the first of their places.
        waiting.first = waiting.first.min(saved.appended);
        let keep = saved.appended - waiting.first;
        waiting.records.truncate(keep);
        waiting.inserted = waiting.inserted.min(saved.inserted);
    }

    /// Insert the waiting records and write the head of the records appended in the open
    /// transaction (called by `commit`).
    pub(super) fn write_audit_head(&self) -> db::Result<()> {
        self.flush_audit()?;
        let head = self.audit_head.borrow_mut().take();
        match head {
            Some(h) if h.dirty => Ok(self
                .db()
                .prepare_cached("INSERT OR REPLACE INTO audit_head(id, count, hash) VALUES (1, ?1, ?2)")?
                .execute(params![h.count, h.hash])
                .map(|_| ())?),
            _ => Ok(()),
        }
    }

    /// PostgreSQL's `write_audit_head`: the records are inserted now, and the head's write is
    /// answered as a text with its values spelt in, for the commit to send with its COMMIT
    /// (one round trip less per change: `Store::commit_postgres`). `None`: no record appended.
    pub(super) fn audit_head_sql(&self) -> db::Result<Option<String>> {
        self.flush_audit()?;
        let head = self.audit_head.borrow_mut().take();
        Ok(match head {
            Some(h) if h.dirty => Some(format!(
                "INSERT INTO audit_head(id, count, hash) VALUES (1, {}, decode('{}', 'hex')) \
                 ON CONFLICT (id) DO UPDATE SET count = excluded.count, hash = excluded.hash",
                h.count,
                hex(&h.hash)
            )),
            _ => None,
        })
    }

    pub(super) fn forget_audit_head(&self) {
        self.audit_head.borrow_mut().take();
        self.audit_saved.borrow_mut().clear();
        *self.audit_pending.borrow_mut() = Waiting::default();
    }

    /// Records of a store from before the trail was chained: sealed into the chain once, in
    /// order, on the first open by this version (a migration step that needs SHA-256).
    pub(super) fn seal_unchained_audit(&self) -> db::Result<()> {
        let pending: bool =
            self.db().query_row("SELECT EXISTS(SELECT 1 FROM audit WHERE hash IS NULL)", (), |r| r.get(0))?;
        if !pending {
            return Ok(());
        }
        self.db().execute_batch("BEGIN IMMEDIATE")?;
        let result = (|| -> db::Result<()> {
            let old: Vec<(AuditRecord, bool)> = self
                .db()
                .prepare(&format!("SELECT {COLUMNS} FROM audit WHERE hash IS NULL ORDER BY id"))?
                .query_map((), record)?
                .collect::<db::Result<_>>()?;
            self.db().execute("DELETE FROM audit WHERE hash IS NULL", ())?;
            for (mut r, _) in old {
                r.entry.actor = "(not recorded)".into();
                r.entry.parameters = "{}".into();
                r.entry.source = "(not recorded)".into();
                self.append_audit(&r.entry)?;
            }
            self.write_audit_head()
        })();
        match result {
            Ok(()) => Ok(self.db().execute_batch("COMMIT")?),
            Err(e) => {
                self.forget_audit_head();
                let _ = self.db().execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }

    /// Records oldest first, filtered in SQL (actor, cmdlet and target case-insensitively).
    pub fn audit_records(&self, q: &AuditQuery) -> db::Result<Vec<AuditRecord>> {
        self.flush_audit()?;
        // No limit: the largest, not SQLite's -1, which PostgreSQL refuses ("LIMIT must not be negative").
        let limit = q.limit.map_or(i64::MAX, |n| n.min(i64::MAX as usize) as i64);
        // Times are stored as milliseconds, or as text when not in the records' form: each
        // bound is given in both (a bound outside the years 0000-9999 as the far end).
        let millis = |bound: &Option<String>, far: i64| {
            bound.as_deref().map(|b| packing::time_millis(b).unwrap_or(if b.starts_with('-') { -far } else { far }))
        };
        let (from_ms, to_ms) = (millis(&q.from, i64::MAX), millis(&q.to, i64::MAX));
        self.db()
            .prepare_cached(&audit_records_sql(self.db().dialect()))?
            .query_map(params![q.actor, q.cmdlet, q.target, q.from, q.to, limit, from_ms, to_ms], |r| {
                record(r).map(|(r, _)| r)
            })?
            .collect()
    }

    /// Walk the whole chain in bounded memory: one record at a time, read without the memory map
    /// and with a small page cache (a million records are 300 MB of pages that a mapped read
    /// leaves resident). `anchor`: a (sequence, hash) noted earlier that the chain must still
    /// pass through.
    pub fn verify_audit(&self, anchor: Option<&(i64, String)>) -> db::Result<Verification> {
        self.flush_audit()?;
        let head = self.audit_head()?;
        let _streaming = self.streaming(&[super::route::Target::Central])?;
        let mut stmt = self.db().prepare(&format!("SELECT {COLUMNS} FROM audit ORDER BY id"))?;
        let mut rows = stmt.query(())?;
        let mut previous = GENESIS;
        let mut expected = 1;
        let mut broken = None;
        while let Some(row) = rows.next()? {
            let (r, well_formed) = record(&row)?;
            if r.sequence != expected {
                broken = Some((
                    expected,
                    if r.sequence > expected {
                        format!("record {expected} is missing (the next one is {})", r.sequence)
                    } else {
                        format!("record {} is out of place", r.sequence)
                    },
                ));
                break;
            }
            let hash = chain(&previous, r.sequence, &r.entry.borrowed());
            if !well_formed || hash[..] != r.hash[..] {
                broken = Some((
                    r.sequence,
                    format!("record {} is not the one written (its content or place changed)", r.sequence),
                ));
                break;
            }
            if let Some((at, noted)) = anchor
                && *at == r.sequence
                && *noted != hex(&hash)
            {
                broken = Some((
                    r.sequence,
                    format!("record {at} is not the one noted in the anchor (the trail was rewritten)"),
                ));
                break;
            }
            previous = hash;
            expected += 1;
        }
        let checked = expected - 1;
        let (count, last) = head.unwrap_or((0, GENESIS.to_vec()));
        if broken.is_none() && (count != checked || last[..] != previous[..]) {
            broken = Some(if count > checked {
                (
                    checked + 1,
                    format!(
                        "the trail ends at record {checked} but {count} were written (records were removed from its end)"
                    ),
                )
            } else if count < checked {
                (
                    count + 1,
                    format!("the trail's head ends at record {count} but it holds {checked} (the head was edited)"),
                )
            } else {
                (checked, format!("the trail's head does not hold the hash of record {checked} (the head was edited)"))
            });
        }
        if broken.is_none()
            && let Some((at, _)) = anchor
            && *at > checked
        {
            broken = Some((checked + 1, format!("the anchor names record {at} but the trail holds {checked} records")));
        }
        Ok(Verification { checked, broken, head: (count, shown(&last)) })
    }
}

/// The query of `audit_records`: `?1`-`?3` actor, cmdlet and target (NULL: any), `?4`/`?5` the
/// time bounds as text and `?7`/`?8` as milliseconds, `?6` the limit.
pub(crate) fn audit_records_sql(dialect: Dialect) -> String {
    format!(
        "SELECT {COLUMNS} FROM audit
                 WHERE ({} IS NULL OR actor = ?1 COLLATE NOCASE) AND ({} IS NULL OR cmdlet = ?2 COLLATE NOCASE)
                   AND ({} IS NULL OR target = ?3 COLLATE NOCASE)
                   AND {}
                   AND {}
                 ORDER BY id LIMIT ?6",
        dialect.text_param(1),
        dialect.text_param(2),
        dialect.text_param(3),
        dialect.time_bound("at", ">=", 4, 7),
        dialect.time_bound("at", "<=", 5, 8)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> AuditEntry {
        AuditEntry {
            time: format!("2026-01-01T00:00:{:02}.000Z", n % 60),
            actor: "contoso\\annb".into(),
            cmdlet: "Set-CsPersistentChatRoom".into(),
            target: format!("pc01.contoso.com\\Room{n}"),
            parameters: "{}".into(),
            before: None,
            after: None,
            source: "-c".into(),
        }
    }

    fn store_with(n: usize) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store.begin(true).unwrap();
        for i in 1..=n {
            store.append_audit(&entry(i)).unwrap();
        }
        store.commit().unwrap();
        (dir, store)
    }

    fn first_bad(store: &Store) -> Option<i64> {
        store.verify_audit(None).unwrap().broken.map(|(n, _)| n)
    }

    #[test]
    fn an_intact_chain_verifies() {
        let (_d, store) = store_with(5);
        let v = store.verify_audit(None).unwrap();
        assert_eq!((v.checked, v.broken, v.head.0), (5, None, 5));
    }

    /// SHA-256 of 32 zero bytes and record 1 of `entry(1)`, computed apart from this code.
    const FIRST_OF_ENTRY_1: &str = "e888d6fa86a14b8b8afc22f2074878c288131273fd035cde5dfd190ae390be9f";

    /// The bytes hashed piece by piece are the bytes the chain was first defined over (one
    /// buffer, built as below): records written before stay verifiable.
    #[test]
    fn the_hashed_bytes_are_the_ones_first_defined() {
        fn as_first_defined(sequence: i64, e: &AuditEntry) -> Vec<u8> {
            let fields: [Option<&str>; 8] = [
                Some(&e.time),
                Some(&e.actor),
                Some(&e.cmdlet),
                Some(&e.target),
                Some(&e.parameters),
                e.before.as_deref(),
                e.after.as_deref(),
                Some(&e.source),
            ];
            let mut out = Vec::new();
            out.extend_from_slice(&sequence.to_le_bytes());
            for field in fields {
                match field {
                    None => out.push(0),
                    Some(text) => {
                        out.push(1);
                        out.extend_from_slice(&(text.len() as u32).to_le_bytes());
                        out.extend_from_slice(text.as_bytes());
                    }
                }
            }
            out
        }
        let mut full = entry(7);
        full.before = Some("{\"PersistentChatPolicy\":null}".into());
        full.after = Some(String::new());
        full.target = "sip:\u{e9}@contoso.com".into();
        let previous = [7u8; 32];
        for (sequence, e) in [(1, entry(1)), (123_456_789_012, full)] {
            assert_eq!(canonical(sequence, &e), as_first_defined(sequence, &e));
            let mut h = Sha256::new();
            h.update(previous);
            h.update(as_first_defined(sequence, &e));
            let expected: [u8; 32] = h.finalize().into();
            assert_eq!(chain(&previous, sequence, &e.borrowed()), expected);
        }
        // A fixed point: the first record of `entry(1)` after the genesis hash.
        assert_eq!(hex(&chain(&GENESIS, 1, &entry(1).borrowed())), FIRST_OF_ENTRY_1);
    }

    #[test]
    fn missing_and_empty_fields_hash_differently() {
        let mut a = entry(1);
        a.before = Some(String::new());
        assert_ne!(canonical(1, &a), canonical(1, &entry(1)));
    }

    #[test]
    fn edits_deletions_reorders_and_truncation_are_found() {
        let (_d, store) = store_with(5);
        store.db().execute("UPDATE audit SET target = 'x' WHERE id = 3", ()).unwrap();
        assert_eq!(first_bad(&store), Some(3));

        let (_d, store) = store_with(5);
        store.db().execute("DELETE FROM audit WHERE id = 2", ()).unwrap();
        assert_eq!(first_bad(&store), Some(2));

        let (_d, store) = store_with(5);
        store
            .db()
            .execute_batch("UPDATE audit SET id = 100 WHERE id = 2; UPDATE audit SET id = 2 WHERE id = 4; UPDATE audit SET id = 4 WHERE id = 100;")
            .unwrap();
        assert_eq!(first_bad(&store), Some(2));

        let (_d, store) = store_with(5);
        store.db().execute("DELETE FROM audit WHERE id >= 4", ()).unwrap();
        assert_eq!(first_bad(&store), Some(4));
    }

    /// Records wait in memory until a savepoint, a read of the trail or the commit: a read inside
    /// the transaction sees them, a rolled-back block drops them with its head, and a head found
    /// behind its records fails the commit (nothing commits without its record).
    #[test]
    fn waiting_records_are_read_rolled_back_and_committed_with_their_changes() {
        let (_d, store) = store_with(2);
        store.begin(true).unwrap();
        store.append_audit(&entry(3)).unwrap();
        assert_eq!(store.audit_records(&AuditQuery::default()).unwrap().len(), 3);
        store.append_audit(&entry(4)).unwrap();
        assert_eq!(store.audit_position().unwrap(), 4);
        store.block_savepoint(1).unwrap();
        store.append_audit(&entry(5)).unwrap();
        store.savepoint().unwrap();
        store.append_audit(&entry(6)).unwrap();
        store.release_savepoint().unwrap();
        store.rollback_block(1);
        store.block_savepoint(1).unwrap();
        store.append_audit(&entry(7)).unwrap();
        store.release_block(1).unwrap();
        store.commit().unwrap();
        let all = store.audit_records(&AuditQuery::default()).unwrap();
        let targets: Vec<&str> = all.iter().map(|r| r.entry.target.as_str()).collect();
        assert_eq!(
            targets,
            [
                "pc01.contoso.com\\Room1",
                "pc01.contoso.com\\Room2",
                "pc01.contoso.com\\Room3",
                "pc01.contoso.com\\Room4",
                "pc01.contoso.com\\Room7"
            ]
        );
        let v = store.verify_audit(None).unwrap();
        assert_eq!((v.checked, v.broken), (5, None));

        // A head behind its records: the change and its record both stay out.
        store.db().execute("UPDATE audit_head SET count = 4", ()).unwrap();
        store.begin(true).unwrap();
        store.db().execute("INSERT INTO meta(key, value) VALUES ('probe', 'x')", ()).unwrap();
        store.append_audit(&entry(8)).unwrap();
        assert!(store.commit().is_err());
        assert!(!store.in_transaction());
        assert_eq!(store.meta("probe").unwrap(), None);
        assert_eq!(store.audit_records(&AuditQuery::default()).unwrap().len(), 5);
    }

    fn targets(store: &Store) -> Vec<usize> {
        let all = store.audit_records(&AuditQuery::default()).unwrap();
        all.iter().map(|r| r.entry.target.trim_start_matches("pc01.contoso.com\\Room").parse().unwrap()).collect()
    }

    fn waiting(store: &Store) -> usize {
        store.audit_pending.borrow().records.len()
    }

    /// A read inside a savepoint inserts the records of the levels around it there: when that
    /// savepoint rolls back, theirs wait again and only its own are gone, at every depth.
    #[test]
    fn records_of_enclosing_levels_survive_a_rolled_back_savepoint_that_inserted_them() {
        let (_d, store) = store_with(2);
        store.begin(true).unwrap();
        store.append_audit(&entry(3)).unwrap();
        store.block_savepoint(1).unwrap();
        store.append_audit(&entry(4)).unwrap();
        store.block_savepoint(2).unwrap();
        store.append_audit(&entry(5)).unwrap();
        store.savepoint().unwrap();
        store.append_audit(&entry(6)).unwrap();
        assert_eq!(targets(&store), [1, 2, 3, 4, 5, 6]);
        store.rollback_to_savepoint();
        assert_eq!(targets(&store), [1, 2, 3, 4, 5]);
        store.savepoint().unwrap();
        store.append_audit(&entry(7)).unwrap();
        store.release_savepoint().unwrap();
        store.rollback_block(2);
        store.append_audit(&entry(8)).unwrap();
        store.block_savepoint(2).unwrap();
        store.append_audit(&entry(9)).unwrap();
        assert_eq!(targets(&store), [1, 2, 3, 4, 8, 9]);
        store.release_block(2).unwrap();
        store.release_block(1).unwrap();
        store.append_audit(&entry(10)).unwrap();
        store.commit().unwrap();
        assert_eq!(targets(&store), [1, 2, 3, 4, 8, 9, 10]);
        let v = store.verify_audit(None).unwrap();
        assert_eq!((v.checked, v.broken, v.head.0), (7, None, 7));

        // An outer block rolled back after its records were inserted inside an inner one.
        store.begin(true).unwrap();
        store.append_audit(&entry(11)).unwrap();
        store.block_savepoint(1).unwrap();
        store.append_audit(&entry(12)).unwrap();
        store.block_savepoint(2).unwrap();
        store.append_audit(&entry(13)).unwrap();
        assert_eq!(targets(&store).len(), 10);
        store.release_block(2).unwrap();
        store.rollback_block(1);
        store.append_audit(&entry(14)).unwrap();
        store.commit().unwrap();
        assert_eq!(targets(&store)[7..], [11, 14]);
        assert_eq!(store.verify_audit(None).unwrap().broken, None);
    }

    /// A pipeline's records wait across its items' savepoints and are inserted many to a
    /// statement, a few hundred at a time; a rolled-back item drops only its own, also inside
    /// an atomic block that rolls back after some were inserted.
    #[test]
    fn a_long_pipeline_inserts_its_records_in_batches_and_rolls_back_items_alone() {
        let (_d, store) = store_with(0);
        let items = FLUSH_AT * 2 + 75;
        let mut expected = Vec::new();
        store.begin(true).unwrap();
        for i in 1..=items {
            store.savepoint().unwrap();
            store.append_audit(&entry(i)).unwrap();
            if i % 7 == 0 {
                store.rollback_to_savepoint();
            } else {
                store.release_savepoint().unwrap();
                expected.push(i);
            }
            assert!(waiting(&store) <= FLUSH_AT, "item {i}: {} waiting", waiting(&store));
        }
        // Inside a block: nothing of the levels around it is inserted when its items open, and
        // what its rollback takes back out of the table waits again.
        store.block_savepoint(1).unwrap();
        for i in items + 1..=items + FLUSH_AT + 10 {
            store.savepoint().unwrap();
            store.append_audit(&entry(i)).unwrap();
            store.release_savepoint().unwrap();
        }
        store.savepoint().unwrap();
        assert_eq!(targets(&store).len(), expected.len() + FLUSH_AT + 10);
        store.release_savepoint().unwrap();
        store.rollback_block(1);
        store.savepoint().unwrap();
        store.append_audit(&entry(9999)).unwrap();
        store.release_savepoint().unwrap();
        expected.push(9999);
        store.commit().unwrap();
        assert_eq!(waiting(&store), 0);
        assert_eq!(targets(&store), expected);
        let v = store.verify_audit(None).unwrap();
        assert_eq!((v.checked, v.broken), (expected.len() as i64, None));
    }

    /// Records that differ in their time, target and parameters only (a pipeline's) share one
    /// binding of the rest; the others, and a time stored as text, bind everything: both read
    /// back and verify.
    #[test]
    fn records_inserted_many_to_a_statement_read_back_as_written() {
        let (_d, store) = store_with(0);
        let mut written = Vec::new();
        store.begin(true).unwrap();
        for i in 1..=(CHUNKS[0] * 2 + CHUNKS[1] + 3) {
            let mut e = entry(i);
            e.time = format!("2026-01-01T00:{:02}:00.{:03}Z", i % 60, i % 1000);
            e.before = Some("{\"PersistentChatPolicy\":null}".into());
            e.parameters = format!("{{\"Identity\":\"CN=U{i}\"}}");
            e.after = Some("{\"PersistentChatPolicy\":\"x\"}".into());
            if i == 70 {
                e.time = "not a time".into();
            }
            if i % 50 == 0 {
                e.after = None;
            }
            store.append_audit(&e).unwrap();
            written.push(e);
        }
        store.commit().unwrap();
        let read: Vec<AuditEntry> =
            store.audit_records(&AuditQuery::default()).unwrap().into_iter().map(|r| r.entry).collect();
        assert_eq!(read, written);
        let v = store.verify_audit(None).unwrap();
        assert_eq!((v.checked, v.broken), (written.len() as i64, None));
    }

    /// A pipeline item rolled back to its savepoint takes its record out of the head too.
    #[test]
    fn a_rolled_back_item_leaves_the_chain_whole() {
        let (_d, store) = store_with(2);
        store.begin(true).unwrap();
        store.append_audit(&entry(3)).unwrap();
        store.savepoint().unwrap();
        store.append_audit(&entry(4)).unwrap();
        store.rollback_to_savepoint();
        store.savepoint().unwrap();
        store.append_audit(&entry(5)).unwrap();
        store.release_savepoint().unwrap();
        store.commit().unwrap();
        let v = store.verify_audit(None).unwrap();
        assert_eq!((v.checked, v.broken), (4, None));
        // A rolled-back transaction leaves nothing behind, head included.
        store.begin(true).unwrap();
        store.append_audit(&entry(6)).unwrap();
        store.rollback();
        store.begin(true).unwrap();
        store.append_audit(&entry(7)).unwrap();
        store.commit().unwrap();
        assert_eq!(store.verify_audit(None).unwrap().checked, 5);
        assert_eq!(store.verify_audit(None).unwrap().broken, None);
    }
}
