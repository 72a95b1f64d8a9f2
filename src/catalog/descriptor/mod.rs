//! One description per stored object type (chat rooms, categories, add-ins, endpoints): each
//! property's name, shape,
//! where it is stored and who sets it. The output order, object building, `-Filter` projection,
//! the store's SQL and the archive documents derive from it, so adding a stored property is one
//! line here plus a migration (docs/CONTRIBUTING.md).

mod addin;
mod category;
mod endpoint;
mod room;

pub use addin::ADDIN;
pub use category::CATEGORY;
pub use endpoint::ENDPOINT;
pub use room::ROOM;

/// Every descriptor (tests walk them all).
pub const ALL: [&Descriptor; 4] = [&ROOM, &CATEGORY, &ADDIN, &ENDPOINT];

use super::ObjType;
use super::enums::{Named, PrincipalKind};

/// How a property's value is held and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Text, never null.
    Text,
    /// Text or `$Null`; the limit applies to what import accepts.
    OptText,
    Bool,
    /// One of these names (stored by name).
    Enum(&'static [&'static str]),
    /// Bytes, shown as megabytes.
    SizeMb,
    /// Microseconds since the Unix epoch (UTC), shown as ISO-8601; `$Null` when unknown.
    DateTime,
    /// SIP addresses and directory names (a list).
    Principals,
    /// A directory principal's kind (stored by its `PrincipalKind` name), shown as the list of
    /// its LDAP object classes.
    ObjectClass,
}

impl Shape {
    /// Whether the value may be null (an archive may then leave it out).
    pub fn nullable(self) -> bool {
        matches!(self, Shape::OptText | Shape::DateTime)
    }

    /// The names a cell of this shape holds by index (stored by name), if it holds one.
    pub fn names(self) -> Option<&'static [&'static str]> {
        match self {
            Shape::Enum(names) => Some(names),
            Shape::ObjectClass => Some(PrincipalKind::NAMES),
            _ => None,
        }
    }
}

/// Where a property's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// `<PersistentChatPoolFqdn>\<Name>`.
    Identity,
    /// A column of the object's table.
    Column(&'static str),
    /// The name of the object a column references: `column` holds its id in `table`.
    Reference { column: &'static str, table: &'static str },
    /// A list, stored as entries under this list name.
    List(&'static str),
    /// The text stored under `key` in the JSON object of `column` (`$Null` when absent or not
    /// text); read-only.
    Attribute { column: &'static str, key: &'static str },
}

/// Who sets a property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Shown, never set by a parameter.
    ReadOnly,
    /// A New and Set parameter of the property's name (and an `-Instance` property) sets it as is.
    Plain,
    /// Settable, with rules of its own that the handler applies (renames, references, lists).
    Special,
}

/// The value a new object starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Initial {
    Null,
    Int(i64),
    Bool(bool),
    /// The name at this index of the shape's names.
    Enum(u8),
    /// The moment the object is created.
    Now,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Property {
    pub name: &'static str,
    pub shape: Shape,
    pub source: Source,
    pub access: Access,
    pub initial: Initial,
    /// Kept by export/import under the property's name (besides the archive's own keys).
    pub archived: bool,
}

/// A stored property (read-only until `plain`/`special`).
pub const fn column(name: &'static str, column: &'static str, shape: Shape) -> Property {
    let initial = match shape {
        Shape::Bool => Initial::Bool(false),
        Shape::Enum(_) => Initial::Enum(0),
        Shape::SizeMb => Initial::Int(0),
        _ => Initial::Null,
    };
    Property { name, shape, source: Source::Column(column), access: Access::ReadOnly, initial, archived: false }
}

/// The name of a referenced object, set by the handler.
pub const fn reference(name: &'static str, column: &'static str, table: &'static str) -> Property {
    Property {
        name,
        shape: Shape::OptText,
        source: Source::Reference { column, table },
        access: Access::Special,
        initial: Initial::Null,
        archived: false,
    }
}

/// A text attribute kept in a JSON column (directory principals' generic attributes).
pub const fn attribute(name: &'static str, column: &'static str, key: &'static str) -> Property {
    Property {
        name,
        shape: Shape::OptText,
        source: Source::Attribute { column, key },
        access: Access::ReadOnly,
        initial: Initial::Null,
        archived: false,
    }
}

/// A list of principals, set by the handler through list modifiers.
pub const fn list(name: &'static str, stored_as: &'static str) -> Property {
    Property {
        name,
        shape: Shape::Principals,
        source: Source::List(stored_as),
        access: Access::Special,
        initial: Initial::Null,
        archived: false,
    }
}

pub const fn identity() -> Property {
    Property {
        name: "Identity",
        shape: Shape::Text,
        source: Source::Identity,
        access: Access::ReadOnly,
        initial: Initial::Null,
        archived: false,
    }
}

impl Property {
    /// Set as is by the New and Set parameter of its name; kept by export/import.
    pub const fn plain(mut self) -> Self {
        self.access = Access::Plain;
        self.archived = true;
        self
    }
    /// Set by the handler's own rules.
    pub const fn special(mut self) -> Self {
        self.access = Access::Special;
        self
    }
    /// Kept by export/import (a read-only property is otherwise not).
    pub const fn archived(mut self) -> Self {
        self.archived = true;
        self
    }
    pub const fn initial(mut self, initial: Initial) -> Self {
        self.initial = initial;
        self
    }
    /// The stored columns of the property, in the order of its cells: its own column, or a
    /// reference's id column (the referenced name is a second cell, read but never written).
    pub fn column(&self) -> Option<&'static str> {
        match self.source {
            Source::Column(c) | Source::Reference { column: c, .. } => Some(c),
            _ => None,
        }
    }
    /// How many cells of a row the property takes.
    pub const fn cells(&self) -> usize {
        match self.source {
            Source::Column(_) | Source::Attribute { .. } => 1,
            Source::Reference { .. } => 2,
            _ => 0,
        }
    }
}

/// Which database holds an object type's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// Each pool's database (every copy of it: primary and backup).
    Pool,
    /// The central database (topology, directory).
    Central,
}

/// A stored object type.
#[derive(Debug)]
pub struct Descriptor {
    pub obj: ObjType,
    pub database: Database,
    /// Its table in that database.
    pub table: &'static str,
    /// Its properties, in output order.
    pub properties: &'static [Property],
}

/// The value of one cell of a stored row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
    /// Index into the property's enum names.
    Enum(u8),
}

impl Cell {
    pub fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(s) => Some(s),
            _ => None,
        }
    }
    pub fn int(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            _ => None,
        }
    }
    pub fn bool(&self) -> bool {
        matches!(self, Cell::Bool(true))
    }
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

impl Descriptor {
    /// The index of a property (compile-time: a misspelt name fails the build).
    pub const fn index(&self, name: &str) -> usize {
        let mut i = 0;
        while i < self.properties.len() {
            if same(self.properties[i].name, name) {
                return i;
            }
            i += 1;
        }
        panic!("no such property")
    }

    /// The first cell of a property in a stored row (its id cell for a reference).
    pub const fn cell(&self, name: &str) -> usize {
        let wanted = self.index(name);
        let mut i = 0;
        let mut cell = 0;
        while i < wanted {
            cell += self.properties[i].cells();
            i += 1;
        }
        cell
    }

    /// How many cells a stored row has.
    pub const fn width(&self) -> usize {
        let mut i = 0;
        let mut n = 0;
        while i < self.properties.len() {
            n += self.properties[i].cells();
            i += 1;
        }
        n
    }

    /// A property by name, in any case, with its first cell.
    pub fn find(&self, name: &str) -> Option<(&'static Property, usize)> {
        let mut cell = 0;
        for p in self.properties {
            if p.name.eq_ignore_ascii_case(name) {
                return Some((p, cell));
            }
            cell += p.cells();
        }
        None
    }

    /// Every property with its first cell.
    pub fn with_cells(&self) -> impl Iterator<Item = (&'static Property, usize)> {
        let properties: &'static [Property] = self.properties;
        properties.iter().scan(0, |cell, p| {
            let at = *cell;
            *cell += p.cells();
            Some((p, at))
        })
    }

    /// The cells of a new object: each property's initial value (`now` for `Initial::Now`).
    pub fn initial_cells(&self, now_us: i64) -> Vec<Cell> {
        let mut cells = Vec::with_capacity(self.width());
        for p in self.properties {
            let first = match p.initial {
                Initial::Null => Cell::Null,
                Initial::Int(i) => Cell::Int(i),
                Initial::Bool(b) => Cell::Bool(b),
                Initial::Enum(i) => Cell::Enum(i),
                Initial::Now => Cell::Int(now_us),
            };
            for k in 0..p.cells() {
                cells.push(if k == 0 { first.clone() } else { Cell::Null });
            }
        }
        cells
    }

    /// Property names in output order.
    pub fn names(&self) -> Vec<&'static str> {
        self.properties.iter().map(|p| p.name).collect()
    }
}

#[cfg(test)]
mod tests;
