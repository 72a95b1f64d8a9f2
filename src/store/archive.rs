//! The few queries export and import need beyond the chat-object modules.

use crate::store::db::{self, OptionalExtension, params};

use super::directory::PrincipalRow;
use super::route::Target;
use super::{Store, dialect};

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
        let sql = format!(
            "SELECT count(*) FROM {{db}}.messages WHERE {} AND posted_at >= ?2",
            dialect::in_json_list("room_id").replace('?', &dialect::param(1))
        );
        self.route(Target::Copy(schema), &sql)
            .prepare_cached()?
            .query_row(params![dialect::json_list(room_ids), from.unwrap_or(i64::MIN)], |r| r.get::<i64>(0))
            .map(|n| n as u64)
    }
}
