//! Room messages (pool databases). Reads take the serving schema; every change goes through
//! `PoolData::write` so the backup copy follows, and keeps `rooms.content_bytes` equal to the sum
//! of the room's `size_bytes` (ChatContentSizeMB, `-ChatContentExceedsMB`).

use std::collections::HashMap;

use crate::store::db::{self, Row, Statement, Value as SqlValue, params, params_from_iter};

use super::message_batch::{self, Batch};
use super::pool_data::PoolData;
use super::route::Target;
use super::{Store, dialect};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRow {
    /// With `room_id` and `posted_at` the primary key (see `key`).
    pub id: i64,
    pub room_id: i64,
    pub message_id: String,
    pub sender: String,
    /// Microseconds since the Unix epoch, UTC.
    pub posted_at: i64,
    pub text: String,
    pub replaced: bool,
    pub size_bytes: i64,
}

impl MessageRow {
    /// What identifies the message within its room (the table is keyed by room, time, id).
    pub fn key(&self) -> (i64, i64) {
        (self.posted_at, self.id)
    }
}

/// Which messages of one room; `None` means "any". Bounds are inclusive.
#[derive(Debug, Clone, Default)]
pub struct MessageQuery {
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub sender: Option<String>,
    pub limit: Option<i64>,
}

/// Stored size of a message: the UTF-8 bytes of its text.
pub fn size_of(text: &str) -> i64 {
    text.len() as i64
}

const COLUMNS: &str = "id, room_id, message_id, sender, posted_at, text, replaced, size_bytes";

fn message(r: &Row<'_>) -> db::Result<MessageRow> {
    Ok(MessageRow {
        id: r.get(0)?,
        room_id: r.get(1)?,
        message_id: r.get(2)?,
        sender: r.get(3)?,
        posted_at: r.get(4)?,
        text: r.get(5)?,
        replaced: r.get(6)?,
        size_bytes: r.get(7)?,
    })
}

/// WHERE clause and arguments of a query (numbered from ?1 = room id).
fn condition(room_id: i64, q: &MessageQuery) -> (String, Vec<SqlValue>) {
    let mut sql = String::from("room_id = ?1");
    let mut args = vec![SqlValue::Integer(room_id)];
    let mut add = |part: &str, v: SqlValue| {
        args.push(v);
        sql.push_str(&part.replace('?', &format!("?{}", args.len())));
    };
    if let Some(f) = q.from {
        add(" AND posted_at >= ?", SqlValue::Integer(f));
    }
    if let Some(t) = q.to {
        add(" AND posted_at <= ?", SqlValue::Integer(t));
    }
    if let Some(s) = &q.sender {
        add(" AND sender = ? COLLATE NOCASE", SqlValue::Text(s.clone()));
    }
    (sql, args)
}

impl Store {
    /// Messages of a room, oldest first (ties by id, so the order is stable).
    pub fn messages(&self, schema: &str, room_id: i64, q: &MessageQuery) -> db::Result<Vec<MessageRow>> {
        let (cond, args) = condition(room_id, q);
        let limit = q.limit.map(|l| format!(" LIMIT {l}")).unwrap_or_default();
        self.route(
            Target::Copy(schema),
            &format!("SELECT {COLUMNS} FROM {{db}}.messages WHERE {cond} ORDER BY posted_at, id{limit}"),
        )
        .prepare_cached()?
        .query_map(params_from_iter(args), message)?
        .collect()
    }

    /// Count and total size of the messages a query selects.
    pub fn message_totals(&self, schema: &str, room_id: i64, q: &MessageQuery) -> db::Result<(i64, i64)> {
        let (cond, args) = condition(room_id, q);
        self.route(
            Target::Copy(schema),
            &format!("SELECT count(*), coalesce(sum(size_bytes), 0) FROM {{db}}.messages WHERE {cond}"),
        )
        .prepare_cached()?
        .query_row(params_from_iter(args), |r| Ok((r.get(0)?, r.get(1)?)))
    }

    /// Visit the messages of some rooms posted at or after `from`, room by room, without holding
    /// them in memory (export streams them).
    pub fn for_each_message(
        &self,
        schema: &str,
        room_ids: &[i64],
        from: Option<i64>,
        mut f: impl FnMut(&MessageRow) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut stmt = self
            .route(
                Target::Copy(schema),
                &format!("SELECT {COLUMNS} FROM {{db}}.messages WHERE room_id = ?1 AND posted_at >= ?2 ORDER BY posted_at, id"),
            )
            .prepare_cached()?;
        for &room in room_ids {
            let mut rows = stmt.query(params![room, from.unwrap_or(i64::MIN)])?;
            while let Some(r) = rows.next()? {
                f(&message(&r)?)?;
            }
        }
        Ok(())
    }
}

/// Matches the messages whose keys (`[[posted_at, id], ...]`, `dialect::json_pairs`) are listed
/// in ?2 (room in ?1), by the primary key.
const BY_KEYS: &str = concat!("room_id = ?1 AND ", dialect::in_json_pairs!("(posted_at, id)", "?2"));

/// Does the room hold this MessageId at this time already (a message imported twice)?
/// Parameters: room_id, posted_at, message_id.
const HELD: &str = "SELECT 1 FROM {db}.messages WHERE room_id = ?1 AND posted_at = ?2 AND message_id = ?3";

/// Insert one message. Parameters in column order: room_id, posted_at, id, message_id, sender,
/// text, replaced, size_bytes. A single-row INSERT needs no statement journal, which an
/// INSERT ... SELECT (or a savepoint) would write for every page it touches.
const INSERT: &str = "INSERT INTO {db}.messages(room_id, posted_at, id, message_id, sender, text, replaced, size_bytes)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";

/// An archived message to append: its id is taken when it is stored (not when skipped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub room_id: i64,
    pub posted_at: i64,
    pub message_id: String,
    pub sender: String,
    pub text: String,
    pub replaced: bool,
}

/// What a [`MessageAppender`] did: messages stored and skipped (their room held the MessageId
/// at that time already), and the bytes stored per room, for the caller to count once per room
/// (`PoolData::add_content`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Appended {
    pub added: u64,
    pub skipped: u64,
    pub bytes: HashMap<i64, i64>,
}

/// Appends archived messages to one pool (Import, millions of them). On SQLite row by row, the
/// statements prepared once: the serving copy's duplicate check and every copy's insert. On
/// PostgreSQL, where each of those is a round trip, in batches (`store::message_batch`), with
/// the same outcome.
pub struct MessageAppender<'a> {
    store: &'a Store,
    way: Way<'a>,
    done: Appended,
}

enum Way<'a> {
    Rows { held: Statement<'a>, copies: Vec<Statement<'a>> },
    Batches(Batch<'a>),
}

impl MessageAppender<'_> {
    /// Store the message in every copy unless its room holds its MessageId at its time already
    /// (a message imported twice, or twice in the archive). On PostgreSQL it may be stored (or
    /// found held) later, when its batch is written: by [`MessageAppender::finish`] at the latest.
    pub fn append(&mut self, m: NewMessage) -> db::Result<()> {
        let (held, copies) = match &mut self.way {
            Way::Batches(batch) => return batch.push(m, &mut self.done),
            Way::Rows { held, copies } => (held, copies),
        };
        // The copies hold the same messages, so the serving one answers for all.
        if held.exists(params![m.room_id, m.posted_at, m.message_id])? {
            self.done.skipped += 1;
            return Ok(());
        }
        let (id, size) = (self.store.new_id(), size_of(&m.text));
        let params = params![m.room_id, m.posted_at, id, m.message_id, m.sender, m.text, m.replaced, size];
        for stmt in copies.iter_mut() {
            stmt.execute(params)?;
        }
        self.done.added += 1;
        *self.done.bytes.entry(m.room_id).or_default() += size;
        Ok(())
    }

    /// Write what is still pending; what was appended in all.
    pub fn finish(mut self) -> db::Result<Appended> {
        if let Way::Batches(batch) = &mut self.way {
            batch.flush(&mut self.done)?;
        }
        Ok(self.done)
    }
}

impl PoolData<'_> {
    /// A [`MessageAppender`] for this pool.
    pub fn appender(&self) -> db::Result<MessageAppender<'_>> {
        self.appender_with(message_batch::LIMITS)
    }

    /// A [`MessageAppender`] writing batches of at most `limits` on PostgreSQL (tests cross
    /// batch boundaries with small ones).
    pub(crate) fn appender_with(&self, limits: message_batch::Limits) -> db::Result<MessageAppender<'_>> {
        let store = self.store();
        let way = if store.is_postgres() {
            Way::Batches(Batch::new(store, self.copies()?.into_iter().map(String::from).collect(), limits))
        } else {
            let held = store.route(Target::Copy(self.db()), HELD).prepare_cached()?;
            Way::Rows { held, copies: self.statements(INSERT)? }
        };
        Ok(MessageAppender { store, way, done: Appended::default() })
    }

    /// Store one message (its `id` from `Store::new_id`) and count its size in the room.
    pub fn insert_message(&self, m: &MessageRow) -> db::Result<()> {
        self.write(
            &format!("INSERT INTO {{db}}.messages({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
            params![m.id, m.room_id, m.message_id, m.sender, m.posted_at, m.text, m.replaced, m.size_bytes],
        )?;
        self.add_content(m.room_id, m.size_bytes)
    }

    /// Delete the messages of a room posted at or before `to`, which `message_totals` counted as
    /// `(count, bytes)` in this transaction (the caller needs the count first, for WhatIf).
    pub fn clear_messages(&self, room_id: i64, to: i64, (count, bytes): (i64, i64)) -> db::Result<()> {
        if count > 0 {
            self.write("DELETE FROM {db}.messages WHERE room_id = ?1 AND posted_at <= ?2", params![room_id, to])?;
            self.add_content(room_id, -bytes)?;
        }
        Ok(())
    }

    /// Delete the given messages (by `MessageRow::key`) of one room.
    pub fn delete_messages(&self, room_id: i64, keys: &[(i64, i64)], bytes: i64) -> db::Result<()> {
        self.write(
            &format!("DELETE FROM {{db}}.messages WHERE {BY_KEYS}"),
            params![room_id, dialect::json_pairs(keys)],
        )?;
        self.add_content(room_id, -bytes)
    }

    /// Replace the text of the given messages (by `MessageRow::key`), flagging them Replaced.
    pub fn replace_messages(&self, room_id: i64, keys: &[(i64, i64)], bytes_before: i64, text: &str) -> db::Result<()> {
        self.write(
            &format!("UPDATE {{db}}.messages SET text = ?3, replaced = 1, size_bytes = ?4 WHERE {BY_KEYS}"),
            params![room_id, dialect::json_pairs(keys), text, size_of(text)],
        )?;
        self.add_content(room_id, size_of(text) * keys.len() as i64 - bytes_before)
    }

    /// Count `delta` more (or fewer) bytes of content in a room.
    pub fn add_content(&self, room_id: i64, delta: i64) -> db::Result<()> {
        if delta != 0 {
            self.write(
                "UPDATE {db}.rooms SET content_bytes = content_bytes + ?2 WHERE id = ?1",
                params![room_id, delta],
            )?;
        }
        Ok(())
    }
}
