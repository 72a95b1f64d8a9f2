//! Room content: Send-/Get-/Remove-CsPersistentChatMessage, and the message path that
//! Clear-CsPersistentChatRoom (with the room handlers) and Test-CsPersistentChatMessage share.

use chrono::{DateTime, NaiveDateTime, Utc};
use rhai::Dynamic;

use super::access::{check_post, sip_user, user_filter};
use super::chat::{identity_pool, not_found};
use super::room::identity;
use crate::binder::Bound;
use crate::catalog::ObjType;
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::objects::{object, text};
use crate::store::Store;
use crate::store::message::{MessageQuery, MessageRow, size_of};
use crate::store::pool_data::PoolData;
use crate::store::pools::PoolTarget;
use crate::store::room::RoomRow;
use crate::values::time::format_datetime;

const WHAT: &str = "chat room";

/// The text that replaces a message by default.
pub const REPLACEMENT: &str = "This message was replaced by the Persistent Chat administrator.";

pub fn micros(t: NaiveDateTime) -> i64 {
    t.and_utc().timestamp_micros()
}

pub fn posted_at_text(us: i64) -> String {
    DateTime::<Utc>::from_timestamp_micros(us).map(|d| format_datetime(d.naive_utc())).unwrap_or_default()
}

pub fn message_object(room: &str, m: &MessageRow) -> Dynamic {
    object(
        ObjType::Message,
        [
            ("MessageId", text(m.message_id.clone())),
            ("Room", text(room)),
            ("Sender", text(m.sender.clone())),
            ("PostedAt", text(posted_at_text(m.posted_at))),
            ("Text", text(m.text.clone())),
            ("Replaced", Dynamic::from(m.replaced)),
        ],
    )
}

/// A room by its `pool\name` identity, with its lists.
pub fn room_by_identity(store: &Store, id: &str) -> CmdletResult<(PoolTarget, RoomRow)> {
    let (pool, name) = identity_pool(store, id, WHAT)?;
    let room = store.room_by_name(&pool, name)?.ok_or_else(|| not_found(WHAT, id))?;
    Ok((pool, room))
}

/// Write access to the pool holding a room (mirrored to its backup).
pub fn pool_data<'s>(store: &'s Store, pool: &PoolTarget) -> CmdletResult<PoolData<'s>> {
    let row = store.pchat_pool(Some(&pool.fqdn))?;
    store.pool_data(row)
}

/// Store a message through the message path; the caller has checked the sender may post.
pub fn post(pd: &PoolData, room: &RoomRow, sender: &str, body: &str, at: i64) -> CmdletResult<MessageRow> {
    let m = MessageRow {
        id: pd.store().new_id(),
        room_id: room.id,
        message_id: uuid::Uuid::new_v4().to_string(),
        sender: sender.to_string(),
        posted_at: at,
        text: body.to_string(),
        replaced: false,
        size_bytes: size_of(body),
    };
    pd.insert_message(&m)?;
    Ok(m)
}

pub fn send(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let body = b.str("Message").unwrap_or_default();
    if body.trim().is_empty() {
        return Err(CmdletError::invalid("-Message must not be empty"));
    }
    let (pool, room) = room_by_identity(store, b.str("Identity").unwrap_or_default())?;
    let user = sip_user(store, "SenderSipAddress", b.str("SenderSipAddress").unwrap_or_default())?;
    super::access::check_policy(store, &user)?;
    check_post(store, &pool, &room, &user)?;
    let at = b.date("PostedAt").map(|d| micros(d.at)).unwrap_or_else(|| Utc::now().timestamp_micros());
    crate::values::limits::check_posted_at(at).map_err(|e| CmdletError::out_of_range(format!("-PostedAt: {e}")))?;
    let pd = pool_data(store, &pool)?;
    let sender = user.sip.clone().unwrap_or_default();
    let m = post(&pd, &room, &sender, body, at)?;
    Ok(vec![message_object(&identity(&room), &m)])
}

/// The query of -StartDate, -EndDate and -UserUri (any identity form of the user), and the
/// NotFound to answer if the user is not in the directory and nothing matches.
fn date_query(store: &Store, b: &Bound) -> CmdletResult<(MessageQuery, Option<CmdletError>)> {
    let user = b.str("UserUri").map(|u| user_filter(store, "UserUri", u)).transpose()?;
    let (sender, gone) = match user {
        Some(u) => (Some(u.key), u.gone),
        None => (None, None),
    };
    let q = MessageQuery {
        from: b.instant("StartDate").map(micros),
        to: b.instant("EndDate").map(micros),
        sender,
        limit: None,
    };
    Ok((q, gone))
}

fn check_range(q: &MessageQuery) -> CmdletResult<()> {
    if let (Some(f), Some(t)) = (q.from, q.to)
        && f > t
    {
        return Err(CmdletError::invalid(format!(
            "-StartDate ({}) is after -EndDate ({}): no message could match",
            posted_at_text(f),
            posted_at_text(t)
        )));
    }
    Ok(())
}

pub fn get(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let (pool, room) = room_by_identity(ctx.store, b.str("Identity").unwrap_or_default())?;
    let (mut q, gone) = date_query(ctx.store, b)?;
    check_range(&q)?;
    q.limit = b.int("ResultSize");
    let id = identity(&room);
    let found: Vec<Dynamic> =
        ctx.store.messages(&pool.schema, room.id, &q)?.iter().map(|m| message_object(&id, m)).collect();
    match gone {
        Some(e) if found.is_empty() => Err(e),
        _ => Ok(found),
    }
}

pub fn plural(n: i64) -> String {
    format!("{n} message{}", if n == 1 { "" } else { "s" })
}

/// The keyword rule of Remove-CsPersistentChatMessage.
pub struct KeywordRule {
    words: Vec<String>,
    phrase: String,
    clause: &'static str,
    case_sensitive: bool,
}

impl KeywordRule {
    pub fn new(filter: &str, clause: &'static str, case_sensitive: bool) -> KeywordRule {
        let fold = |s: &str| if case_sensitive { s.to_string() } else { s.to_lowercase() };
        KeywordRule {
            words: filter.split_whitespace().map(fold).collect(),
            phrase: fold(filter.trim()),
            clause,
            case_sensitive,
        }
    }

    pub fn matches(&self, text: &str) -> bool {
        let text = if self.case_sensitive { text.to_string() } else { text.to_lowercase() };
        match self.clause {
            "Or" => self.words.iter().any(|w| text.contains(w.as_str())),
            "Exact" => text.contains(self.phrase.as_str()),
            _ => self.words.iter().all(|w| text.contains(w.as_str())),
        }
    }
}

pub fn remove(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let (pool, room) = room_by_identity(store, b.str("Identity").unwrap_or_default())?;
    let (q, gone) = date_query(store, b)?;
    check_range(&q)?;
    let rule = b.str("Filter").filter(|f| !f.trim().is_empty()).map(|f| {
        KeywordRule::new(f, b.enum_value("MatchClause").unwrap_or("All"), b.bool("CaseSensitive") == Some(true))
    });
    let matched: Vec<MessageRow> = store
        .messages(&pool.schema, room.id, &q)?
        .into_iter()
        .filter(|m| rule.as_ref().is_none_or(|r| r.matches(&m.text)))
        .collect();
    if let Some(e) = gone.filter(|_| matched.is_empty()) {
        return Err(e);
    }
    let deleting = b.switch("Remove");
    let replacement = b.str("ReplaceMessage").unwrap_or(REPLACEMENT);
    let action = if deleting { "deleted" } else { "replaced" };
    let pd = pool_data(store, &pool)?;
    let target = format!("{} ({} {action})", identity(&room), plural(matched.len() as i64));
    if !ctx.should_process_in(&pool, &target)? {
        return Ok(Vec::new());
    }
    ctx.record_target(&identity(&room));
    if matched.is_empty() {
        ctx.unchanged();
        return Ok(Vec::new());
    }
    // The room's own total, for the record: what it held before and holds after.
    let held = store.message_totals(&pool.schema, room.id, &MessageQuery::default())?.0;
    let keys: Vec<(i64, i64)> = matched.iter().map(MessageRow::key).collect();
    let bytes: i64 = matched.iter().map(|m| m.size_bytes).sum();
    if deleting {
        pd.delete_messages(room.id, &keys, bytes)?;
    } else {
        pd.replace_messages(room.id, &keys, bytes, replacement)?;
    }
    let n = matched.len() as i64;
    if deleting {
        ctx.record_counts(&[("Messages", held)], &[("Messages", held - n), ("MessagesRemoved", n)]);
    } else {
        ctx.record_counts(&[("Messages", held)], &[("Messages", held), ("MessagesReplaced", n)]);
    }
    Ok(Vec::new())
}
