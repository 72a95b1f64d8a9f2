//! The few queries export and import need beyond the chat-object modules.

use crate::store::db::{self, OptionalExtension, params};

use super::Store;
use super::directory::PrincipalRow;
use super::route::Target;

impl Store {
    /// Users holding a per-user Persistent Chat policy (their assignment travels in users.json).
    pub fn users_with_policy(&self) -> db::Result<Vec<PrincipalRow>> {
        Ok(self.users()?.into_iter().filter(|u| u.policy.is_some()).collect())
    }

    /// Does a per-user (tag) policy of this name exist?
    pub fn tag_policy_exists(&self, tag: &str) -> db::Result<bool> {
        self.db()
            .prepare_cached("SELECT 1 FROM policies WHERE identity = ('Tag:' || ?1) COLLATE NOCASE")?
            .query_row([tag], |_| Ok(()))
            .optional()
            .map(|r| r.is_some())
    }

    /// Number of messages of some rooms posted at or after `from` (for progress and the manifest).
    pub fn message_count(&self, schema: &str, room_ids: &[i64], from: Option<i64>) -> db::Result<u64> {
        let ids = serde_json::to_string(room_ids).unwrap_or_else(|_| "[]".into());
        self.route(
            Target::Copy(schema),
            "SELECT count(*) FROM {db}.messages WHERE room_id IN (SELECT value FROM json_each(?1)) AND posted_at >= ?2",
        )
        .prepare_cached()?
        .query_row(params![ids, from.unwrap_or(i64::MIN)], |r| r.get::<i64>(0))
        .map(|n| n as u64)
    }
}
