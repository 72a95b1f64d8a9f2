//! Categories.

use super::{Database, Descriptor, Initial, Shape, column, identity, list};
use crate::catalog::ObjType;

pub const CATEGORY: Descriptor = Descriptor {
    obj: ObjType::Category,
    database: Database::Pool,
    table: "categories",
    properties: &[
        identity(),
        column("Name", "name", Shape::Text).special(),
        column("Description", "description", Shape::OptText).plain(),
        column("PersistentChatPoolFqdn", "pool", Shape::Text),
        list("AllowedMembers", "Allowed"),
        list("DeniedMembers", "Denied"),
        list("Creators", "Creators"),
        // New sets these with switches of other names (EnableInvitations, RemoveChatHistory).
        column("Invites", "invites", Shape::Bool).special().archived(),
        column("FileUpload", "file_upload", Shape::Bool).special().archived(),
        column("ChatHistory", "chat_history", Shape::Bool).special().archived().initial(Initial::Bool(true)),
    ],
};
