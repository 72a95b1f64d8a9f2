//! Add-ins: a named URL per pool that rooms reference.

use super::{Database, Descriptor, Shape, column, identity};
use crate::catalog::ObjType;

pub const ADDIN: Descriptor = Descriptor {
    obj: ObjType::Addin,
    database: Database::Pool,
    table: "addins",
    properties: &[
        identity(),
        column("Name", "name", Shape::Text).special(),
        // Checked as an absolute http(s) URL by the handler, so not set as is.
        column("Url", "url", Shape::Text).special(),
        column("PersistentChatPoolFqdn", "pool", Shape::Text),
    ],
};
