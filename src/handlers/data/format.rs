//! The archive of Export-/Import-CsPersistentChatData (docs/formats.md): a ZIP of JSON documents. `manifest.json` says what the archive
//! holds; `users.json`, `categories.json`, `rooms.json` and `content.json` are the parts.

use serde::{Deserialize, Serialize};

use crate::catalog::enums::{ExportLevel, Named};

pub const VERSION: u32 = 1;
pub const MANIFEST: &str = "manifest.json";
pub const USERS: &str = "users.json";
pub const CATEGORIES: &str = "categories.json";
pub const ROOMS: &str = "rooms.json";
pub const CONTENT: &str = "content.json";
pub const PARTS: &[&str] = &[MANIFEST, USERS, CATEGORIES, ROOMS, CONTENT];

/// The parts each Level writes.
pub fn parts_of(level: ExportLevel) -> &'static [&'static str] {
    match level {
        ExportLevel::User => &[USERS],
        ExportLevel::Category => &[CATEGORIES],
        ExportLevel::RoomDirectory => &[CATEGORIES, ROOMS],
        ExportLevel::Content => &[CONTENT],
        ExportLevel::All => &[USERS, CATEGORIES, ROOMS, CONTENT],
    }
}

/// The level a manifest names, spelled exactly as export writes it.
pub fn level_of(manifest: &Manifest) -> Option<ExportLevel> {
    ExportLevel::ALL.iter().copied().find(|l| l.name() == manifest.level)
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    pub version: u32,
    pub level: String,
    pub exported_at: String,
    pub source_db_instance: String,
    pub db_name: String,
    pub scope: Vec<String>,
    pub start_date: Option<String>,
    pub pools: Vec<String>,
    pub messages: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct UserDoc {
    pub distinguished_name: String,
    pub sip_address: Option<String>,
    pub display_name: Option<String>,
    pub persistent_chat_policy: Option<String>,
}

/// A category: the keys import resolves itself, and under `stored` its other archived
/// properties (as for [`RoomDoc`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct CategoryDoc {
    pub persistent_chat_pool_fqdn: String,
    pub name: String,
    pub allowed_members: Vec<String>,
    pub denied_members: Vec<String>,
    pub creators: Vec<String>,
    #[serde(flatten)]
    pub stored: serde_json::Map<String, serde_json::Value>,
}

/// A room: the keys import resolves itself, and under `stored` the room's other archived
/// properties (its descriptor's), each under its property name. Import refuses a key of
/// `stored` the descriptor does not archive, so unknown keys are still refused.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase")]
pub struct RoomDoc {
    pub persistent_chat_pool_fqdn: String,
    pub name: String,
    pub category: String,
    pub addin: Option<String>,
    pub addin_url: Option<String>,
    pub members: Vec<String>,
    pub managers: Vec<String>,
    pub presenters: Vec<String>,
    #[serde(flatten)]
    pub stored: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "PascalCase", deny_unknown_fields)]
pub struct MessageDoc {
    pub message_id: String,
    /// `pool\room` at export time.
    pub room: String,
    pub sender: String,
    /// Microseconds since the Unix epoch, UTC (exact; PostedAt in objects is its ISO-8601 form).
    pub posted_at_us: i64,
    pub text: String,
    pub replaced: bool,
}
