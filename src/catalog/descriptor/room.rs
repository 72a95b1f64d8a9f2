//! Chat rooms.

use super::{Database, Descriptor, Initial, Shape, column, identity, list, reference};
use crate::catalog::ObjType;
use crate::catalog::enums::{Invitations, Named, Privacy, RoomType};

pub const ROOM: Descriptor = Descriptor {
    obj: ObjType::ChatRoom,
    database: Database::Pool,
    table: "rooms",
    properties: &[
        identity(),
        column("Name", "name", Shape::Text).special(),
        column("Description", "description", Shape::OptText).plain(),
        reference("Category", "category_id", "categories"),
        column("PersistentChatPoolFqdn", "pool", Shape::Text),
        column("Disabled", "disabled", Shape::Bool).plain(),
        column("Invitations", "invitations", Shape::Enum(Invitations::NAMES)).plain(),
        column("Privacy", "privacy", Shape::Enum(Privacy::NAMES)).plain().initial(Initial::Enum(Privacy::Closed as u8)),
        column("Type", "type", Shape::Enum(RoomType::NAMES)).plain(),
        reference("Addin", "addin_id", "addins"),
        list("Members", "Members"),
        list("Managers", "Managers"),
        list("Presenters", "Presenters"),
        column("ChatContentSizeMB", "content_bytes", Shape::SizeMb),
        column("WhenCreated", "when_created", Shape::DateTime).archived().initial(Initial::Now),
    ],
};
