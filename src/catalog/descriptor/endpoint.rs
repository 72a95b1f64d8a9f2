//! Persistent Chat endpoints: directory contacts, rows of the central `principals` table that
//! name a pool in `endpoint_pool`. The contact's own name and parent DN are directory
//! structure, not properties of the endpoint: the directory writes them (store::endpoint).

use super::{Database, Descriptor, Initial, Shape, attribute, column};
use crate::catalog::ObjType;
use crate::catalog::enums::PrincipalKind;

pub const ENDPOINT: Descriptor = Descriptor {
    obj: ObjType::Endpoint,
    database: Database::Central,
    table: "principals",
    properties: &[
        column("Identity", "dn", Shape::Text),
        // New checks and normalises these (rule 27, trimmed display name).
        column("SipAddress", "sip", Shape::OptText).special(),
        column("DisplayName", "display_name", Shape::OptText).special(),
        column("PersistentChatPoolFqdn", "endpoint_pool", Shape::OptText).special(),
        attribute("ConferencingPolicy", "attrs", "ConferencingPolicy"),
        attribute("VoicePolicy", "attrs", "VoicePolicy"),
        column("ObjectClass", "kind", Shape::ObjectClass).initial(Initial::Enum(PrincipalKind::Contact as u8)),
    ],
};
