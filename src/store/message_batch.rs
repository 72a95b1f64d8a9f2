//! Import's messages on PostgreSQL, appended in batches (docs/design/postgres-port.md §5 step 8).
//! Row by row, as SQLite appends (in-process, cheap), a message costs a server three round
//! trips: the duplicate check on the serving copy and an INSERT into each copy. A batch costs
//! three for up to [`LIMITS`] messages: one check for the whole batch (`dialect::PG_MESSAGES_HELD`)
//! and one COPY into each copy. The outcome is the per-row path's: a message is skipped when its
//! room holds its MessageId at its time already, whether stored before the import or earlier in
//! the archive (earlier in this batch: found here, in memory; in an earlier batch: stored by
//! then, so the check finds it), and each stored message takes its id from `Store::new_id` in
//! archive order, when it is stored.

use std::collections::HashSet;
use std::io::Write;

use crate::store::db::{self, params};
use crate::store::message::{Appended, NewMessage, size_of};
use crate::store::pg::copy::copy_escaped;
use crate::store::route::Target;
use crate::store::{Store, dialect};

/// When a batch is written: this many messages, or this many bytes of their texts, whichever
/// comes first (a message may hold 65,536 characters: the bytes bound the memory a batch takes).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub messages: usize,
    pub bytes: usize,
}

/// Past about a thousand messages a batch saves little more (the round trips are then a few
/// per thousand messages); the servers' own insert time is what is left.
pub const LIMITS: Limits = Limits { messages: 2_000, bytes: 8 << 20 };

/// The messages not written yet, for every copy of one pool.
pub(crate) struct Batch<'a> {
    store: &'a Store,
    /// The copies' aliases (`Target::Copy`), the serving copy first: it answers the check.
    copies: Vec<String>,
    limits: Limits,
    pending: Vec<NewMessage>,
    /// The keys (room, time, MessageId) of `pending`.
    keys: HashSet<(i64, i64, String)>,
    bytes: usize,
}

impl<'a> Batch<'a> {
    pub(crate) fn new(store: &'a Store, copies: Vec<String>, limits: Limits) -> Batch<'a> {
        Batch { store, copies, limits, pending: Vec::new(), keys: HashSet::new(), bytes: 0 }
    }

    /// Take one message; a message whose key is in the batch already is skipped here, as the
    /// per-row check would skip it once the first was stored.
    pub(crate) fn push(&mut self, m: NewMessage, done: &mut Appended) -> db::Result<()> {
        if !self.keys.insert((m.room_id, m.posted_at, m.message_id.clone())) {
            done.skipped += 1;
            return Ok(());
        }
        self.bytes += m.text.len() + m.sender.len() + m.message_id.len();
        self.pending.push(m);
        if self.pending.len() >= self.limits.messages || self.bytes >= self.limits.bytes {
            self.flush(done)?;
        }
        Ok(())
    }

    /// Check the batch against the serving copy, then write the messages it does not hold into
    /// every copy.
    pub(crate) fn flush(&mut self, done: &mut Appended) -> db::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let held = self.held()?;
        let mut rows: Vec<u8> = Vec::with_capacity(self.bytes + 64 * self.pending.len());
        for (m, held) in self.pending.drain(..).zip(held) {
            if held {
                done.skipped += 1;
                continue;
            }
            let (id, size) = (self.store.new_id(), size_of(&m.text));
            // Writing into a Vec cannot fail.
            drop(write!(rows, "{}\t{}\t{id}\t", m.room_id, m.posted_at));
            for text in [&m.message_id, &m.sender, &m.text] {
                copy_escaped(text, &mut rows);
                rows.push(b'\t');
            }
            drop(writeln!(rows, "{}\t{size}", i64::from(m.replaced)));
            done.added += 1;
            *done.bytes.entry(m.room_id).or_default() += size;
        }
        self.keys.clear();
        self.bytes = 0;
        if !rows.is_empty() {
            for copy in &self.copies {
                self.store.copy_session(copy)?.copy_in(dialect::PG_COPY_MESSAGES, |into| {
                    into.write_all(&rows)
                        .map_err(|e| db::DbError::other(format!("cannot write a batch of imported messages: {e}")))
                })?;
            }
        }
        crate::fault::point("import-batch-written");
        Ok(())
    }

    /// Which pending messages the serving copy holds already, in their order.
    fn held(&self) -> db::Result<Vec<bool>> {
        let rooms: Vec<i64> = self.pending.iter().map(|m| m.room_id).collect();
        let times: Vec<i64> = self.pending.iter().map(|m| m.posted_at).collect();
        let ids: Vec<&str> = self.pending.iter().map(|m| m.message_id.as_str()).collect();
        let mut held = vec![false; self.pending.len()];
        let mut check = self.store.route(Target::Copy(&self.copies[0]), dialect::PG_MESSAGES_HELD).prepare_cached()?;
        let positions = check.query_map(
            params![dialect::json_list(&rooms), dialect::json_list(&times), dialect::json_text_list(&ids)],
            |r| r.get::<i64>(0),
        )?;
        for n in positions {
            let n = n?;
            let slot = usize::try_from(n - 1).ok().and_then(|i| held.get_mut(i));
            *slot
                .ok_or_else(|| db::DbError::other(format!("internal: the duplicate check answered position {n}")))? =
                true;
        }
        Ok(held)
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::store::message::{MessageQuery, MessageRow};
    use crate::store::pg::test_cluster::Cluster;
    use crate::store::room::RoomQuery;
    use crate::store::sessions::tests::demo_copied;

    const POOL: &str = "pc01.contoso.com";

    /// Bodies COPY's text format must escape, or could mistake for its own markers.
    const BODIES: [&str; 8] =
        ["tab\there", "line\nbreak", "carriage\r\nreturn", "back\\slash", "\\N", "\\.", "Grüße, 你好, 🙂", "plain"];

    /// An archive's messages for two rooms: duplicates inside a batch, across batches (of four),
    /// and of a message the room holds already; a MessageId again at another time, or in the
    /// other room, is another message.
    fn archive(rooms: [i64; 2], held: &MessageRow) -> Vec<NewMessage> {
        let message = |room: i64, at: i64, id: &str, body: &str| NewMessage {
            room_id: room,
            posted_at: at,
            message_id: id.to_string(),
            sender: "sip:annb@contoso.com".into(),
            text: body.to_string(),
            replaced: at % 2 == 0,
        };
        let mut out = Vec::new();
        for i in 0..24i64 {
            let body = BODIES[i as usize % BODIES.len()];
            out.push(message(rooms[(i % 2) as usize], 1_600_000_000_000_000 + i / 3, &format!("m{i}"), body));
        }
        // Within the first batch, then across the boundary into later ones.
        out.insert(1, out[0].clone());
        out.insert(6, out[2].clone());
        out.insert(15, out[3].clone());
        // Held by the room before the import.
        out.insert(
            9,
            NewMessage { text: "again".into(), ..message(held.room_id, held.posted_at, &held.message_id, "") },
        );
        // Not duplicates: the same MessageId at another time, and in the other room.
        out.push(NewMessage { posted_at: out[0].posted_at + 1, ..out[0].clone() });
        let other = if out[0].room_id == rooms[0] { rooms[1] } else { rooms[0] };
        out.push(NewMessage { room_id: other, ..out[0].clone() });
        // Several the same time in one room: their order is their ids'.
        for (i, body) in BODIES.iter().enumerate().take(5) {
            out.push(message(rooms[0], 1_700_000_000_000_000, &format!("tie{i}"), body));
        }
        out
    }

    /// Append `messages` to pc01 in one committed transaction, as Import does.
    fn import(store: &Store, messages: &[NewMessage], limits: Limits) -> Appended {
        store.begin(true).unwrap();
        let pd = store.pool_data(store.pchat_pool(Some(POOL)).unwrap()).unwrap();
        let mut appender = pd.appender_with(limits).unwrap();
        for m in messages {
            appender.append(m.clone()).unwrap();
        }
        let done = appender.finish().unwrap();
        for (room, bytes) in &done.bytes {
            pd.add_content(*room, *bytes).unwrap();
        }
        drop(pd);
        store.commit().unwrap();
        done
    }

    /// Every copy's messages of the rooms, oldest first, ids left out (each store has its own),
    /// and the rooms' content sizes.
    fn stored(store: &Store, rooms: [i64; 2]) -> Vec<String> {
        let target = store.chat_pools(Some(POOL)).unwrap().remove(0);
        let mut out = Vec::new();
        for copy in std::iter::once(&target.schema).chain(target.mirror.as_ref()) {
            for room in rooms {
                for m in store.messages(copy, room, &MessageQuery::default()).unwrap() {
                    out.push(format!(
                        "{room} {} {:?} {} {:?} {} {}",
                        m.posted_at, m.message_id, m.sender, m.text, m.replaced, m.size_bytes
                    ));
                }
            }
        }
        for row in store.rooms(&target, &RoomQuery::default()).unwrap().iter().filter(|r| rooms.contains(&r.id)) {
            out.push(format!("room {}: {} bytes", row.id, row.content_bytes()));
        }
        out
    }

    /// The batched PostgreSQL path stores, skips and counts what SQLite's per-row path does,
    /// with batches cut by count and by bytes; the backup copy holds what the primary holds.
    #[test]
    fn batches_on_postgres_store_what_rows_store_on_sqlite() {
        let Some(cluster) = Cluster::shared("batches_on_postgres_store_what_rows_store_on_sqlite") else { return };
        let (_dir, sqlite, pg, _) = demo_copied(cluster);
        for store in [&sqlite, &pg] {
            store.attach_pool_databases().unwrap();
        }
        let target = sqlite.chat_pools(Some(POOL)).unwrap().remove(0);
        let finance = sqlite.room_by_name(&target, "FinanceRoom").unwrap().unwrap().id;
        let held = sqlite.messages(&target.schema, finance, &MessageQuery::default()).unwrap().remove(0);
        let other =
            sqlite.rooms(&target, &RoomQuery::default()).unwrap().into_iter().find(|r| r.id != finance).unwrap().id;
        let rooms = [finance, other];
        let messages = archive(rooms, &held);
        assert_eq!(stored(&sqlite, rooms), stored(&pg, rooms), "the copies start equal");
        let on_sqlite = import(&sqlite, &messages, LIMITS);
        let on_pg = import(&pg, &messages, Limits { messages: 4, bytes: 120 });
        assert_eq!(on_pg, on_sqlite);
        assert_eq!((on_pg.added, on_pg.skipped), (messages.len() as u64 - 4, 4));
        assert_eq!(stored(&pg, rooms), stored(&sqlite, rooms));
        // The same archive again: everything is held now, in every batch.
        let again = import(&pg, &messages, Limits { messages: 4, bytes: 120 });
        assert_eq!((again.added, again.skipped), (0, messages.len() as u64));
        assert_eq!(stored(&pg, rooms), stored(&sqlite, rooms));
    }
}
