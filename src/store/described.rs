//! SQL derived from an object type's descriptor (`catalog::descriptor`): the SELECT list with the
//! joins of its references, the INSERT, and the UPDATE of the columns that changed; cells read
//! and bound by the property's shape. The statements are built once per descriptor.

use std::marker::PhantomData;

use super::db::{self, FromValueError, Row, ToValue, ValueRef};
use super::dialect;
use crate::catalog::descriptor::{Cell, Descriptor, Shape, Source};

/// A stored row of a described object type: its cells in descriptor order, and its lists.
pub trait Described {
    const DESCRIPTOR: &'static Descriptor;
    fn cells(&self) -> &[Cell];
    fn cells_mut(&mut self) -> &mut [Cell];
    /// A list by the name it is stored under.
    fn list(&self, stored_as: &str) -> &[String];
}

/// Names the descriptor of a [`ScalarRow`].
pub trait Kind {
    const DESCRIPTOR: &'static Descriptor;
}

/// The row of a described type without lists (add-ins, endpoints): its id and its cells in
/// descriptor order. Each type adds its accessors on `ScalarRow<ItsKind>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarRow<K> {
    pub id: i64,
    pub cells: Vec<Cell>,
    kind: PhantomData<K>,
}

impl<K: Kind> ScalarRow<K> {
    /// A new row at the descriptor's initial values (created now).
    pub fn initial(id: i64) -> Self {
        ScalarRow { id, cells: K::DESCRIPTOR.initial_cells(chrono::Utc::now().timestamp_micros()), kind: PhantomData }
    }

    /// A row read by [`Statements::select`].
    pub fn read(r: &Row<'_>) -> db::Result<Self> {
        Ok(ScalarRow { id: r.get(0)?, cells: read_cells(K::DESCRIPTOR, r)?, kind: PhantomData })
    }

    /// A text cell (`None` when null).
    pub fn text(&self, cell: usize) -> Option<&str> {
        self.cells[cell].text()
    }
}

impl<K: Kind> Described for ScalarRow<K> {
    const DESCRIPTOR: &'static Descriptor = K::DESCRIPTOR;
    fn cells(&self) -> &[Cell] {
        &self.cells
    }
    fn cells_mut(&mut self) -> &mut [Cell] {
        &mut self.cells
    }
    fn list(&self, _: &str) -> &[String] {
        &[]
    }
}

/// The statements of one descriptor. `{db}` stands for the pool database's schema.
#[derive(Debug)]
pub struct Statements {
    /// `SELECT <alias>.id, <cells> FROM {db}.<table> <alias> <joins>`: append conditions with
    /// `WHERE`.
    pub select: String,
    /// `INSERT INTO {db}.<table>(id, <columns>) VALUES (?1, ...)`, bound by [`insert_args`].
    pub insert: String,
    /// The cell of each written column (a reference's id cell), in INSERT order after the id.
    written: Vec<(&'static str, usize)>,
}

impl Statements {
    pub fn derive(d: &Descriptor, alias: &str) -> Statements {
        let mut select = format!("SELECT {alias}.id");
        let mut joins = String::new();
        let mut written = Vec::new();
        for (i, (p, cell)) in d.with_cells().enumerate() {
            match p.source {
                Source::Column(c) => {
                    select.push_str(&format!(", {alias}.{c}"));
                    written.push((c, cell));
                }
                Source::Reference { column, table } => {
                    let j = format!("j{i}");
                    select.push_str(&format!(", {alias}.{column}, {j}.name"));
                    joins.push_str(&format!(
                        " LEFT JOIN {} {j} ON {j}.id = {alias}.{column}",
                        dialect::table(d.database, table)
                    ));
                    written.push((column, cell));
                }
                Source::Attribute { column, key } => {
                    select.push_str(&format!(", {}", dialect::json_text(&format!("{alias}.{column}"), key)));
                }
                Source::Identity | Source::List(_) => {}
            }
        }
        let table = dialect::table(d.database, d.table);
        select.push_str(&format!(" FROM {table} {alias}{joins}"));
        let columns: Vec<&str> = written.iter().map(|(c, _)| *c).collect();
        let marks: Vec<String> = (1..=columns.len() + 1).map(dialect::param).collect();
        let insert = format!("INSERT INTO {table}(id, {}) VALUES ({})", columns.join(", "), marks.join(", "));
        Statements { select, insert, written }
    }

    /// The arguments of [`Self::insert`] for a row.
    pub fn insert_args<'a>(&self, d: &'static Descriptor, id: &'a i64, cells: &'a [Cell]) -> Vec<Bound<'a>> {
        let mut args = vec![Bound::Id(id)];
        args.extend(self.written.iter().map(|&(_, c)| Bound::cell(d, cells, c)));
        args
    }

    /// `UPDATE` of the columns whose cells differ between `before` and `after`, with its
    /// arguments (the id first), or `None` when nothing changed. Only changed columns: SQLite
    /// rewrites the index entries of every column a SET names, changed or not.
    pub fn update<'a>(
        &self,
        d: &'static Descriptor,
        id: &'a i64,
        before: &[Cell],
        after: &'a [Cell],
    ) -> Option<(String, Vec<Bound<'a>>)> {
        let mut sets = Vec::new();
        let mut args = vec![Bound::Id(id)];
        for &(column, cell) in &self.written {
            if before[cell] != after[cell] {
                args.push(Bound::cell(d, after, cell));
                sets.push(format!("{column} = {}", dialect::param(args.len())));
            }
        }
        (!sets.is_empty()).then(|| {
            let sql = format!(
                "UPDATE {} SET {} WHERE id = {}",
                dialect::table(d.database, d.table),
                sets.join(", "),
                dialect::param(1)
            );
            (sql, args)
        })
    }
}

/// A statement argument: a row's id, or one of its cells with the shape that stores it.
pub enum Bound<'a> {
    Id(&'a i64),
    Cell(&'a Cell, Shape),
}

impl<'a> Bound<'a> {
    fn cell(d: &Descriptor, cells: &'a [Cell], cell: usize) -> Bound<'a> {
        Bound::Cell(&cells[cell], shape_of_cell(d, cell))
    }
}

/// The shape of a cell (a reference's id cell is an integer).
fn shape_of_cell(d: &Descriptor, cell: usize) -> Shape {
    d.with_cells()
        .find(|(p, first)| (*first..first + p.cells()).contains(&cell))
        .map(|(p, _)| match p.source {
            Source::Reference { .. } => Shape::SizeMb,
            _ => p.shape,
        })
        .unwrap_or(Shape::Text)
}

impl ToValue for Bound<'_> {
    fn to_value(&self) -> db::Result<ValueRef<'_>> {
        Ok(match self {
            Bound::Id(id) => ValueRef::Integer(**id),
            Bound::Cell(Cell::Null, _) => ValueRef::Null,
            Bound::Cell(Cell::Int(i), _) => ValueRef::Integer(*i),
            Bound::Cell(Cell::Bool(b), _) => ValueRef::Integer(i64::from(*b)),
            Bound::Cell(Cell::Text(s), _) => ValueRef::Text(s.as_bytes()),
            Bound::Cell(Cell::Enum(i), shape) => match shape.names().map(|names| names.get(*i as usize)) {
                Some(Some(n)) => ValueRef::Text(n.as_bytes()),
                Some(None) => return Err(db::DbError::other("enum value out of range")),
                None => return Err(db::DbError::other("an enum value in a column of another shape")),
            },
        })
    }
}

/// The cells of a row read by [`Statements::select`], after the id at column 0.
pub fn read_cells(d: &Descriptor, r: &Row<'_>) -> db::Result<Vec<Cell>> {
    let mut cells = Vec::with_capacity(d.width());
    let mut col = 1;
    for p in d.properties {
        match p.source {
            Source::Column(_) => {
                cells.push(read(r, col, p.shape)?);
                col += 1;
            }
            Source::Attribute { .. } => {
                cells.push(read(r, col, Shape::OptText)?);
                col += 1;
            }
            Source::Reference { .. } => {
                cells.push(read(r, col, Shape::SizeMb)?);
                cells.push(read(r, col + 1, Shape::OptText)?);
                col += 2;
            }
            Source::Identity | Source::List(_) => {}
        }
    }
    Ok(cells)
}

fn read(r: &Row<'_>, col: usize, shape: Shape) -> db::Result<Cell> {
    let v = r.get_ref(col)?;
    let bad = |e: FromValueError| r.conversion_error(col, e);
    Ok(match (v, shape) {
        (ValueRef::Null, _) => Cell::Null,
        (ValueRef::Integer(i), Shape::Bool) => Cell::Bool(i != 0),
        (ValueRef::Integer(i), Shape::SizeMb | Shape::DateTime) => Cell::Int(i),
        (ValueRef::Text(t), Shape::Enum(_) | Shape::ObjectClass) => {
            let names = shape.names().unwrap_or_default();
            match names.iter().position(|n| n.as_bytes() == t) {
                Some(i) => Cell::Enum(i as u8),
                None => {
                    let text = String::from_utf8_lossy(t);
                    return Err(bad(FromValueError::Other(
                        format!("stored value '{text}' is not one of {}", names.join(", ")).into(),
                    )));
                }
            }
        }
        (ValueRef::Text(_), Shape::Text | Shape::OptText) => Cell::Text(v.as_str().map_err(bad)?.to_string()),
        _ => return Err(bad(FromValueError::InvalidType)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::descriptor::{ADDIN, CATEGORY, ENDPOINT, ROOM};
    use crate::store::route::{Target, route};

    use crate::catalog::ObjType;
    use crate::catalog::descriptor::{Database, Descriptor, Initial, column, identity, list, reference};

    /// A descriptor of each kind of property (rooms and categories grow; this one stays).
    const SAMPLE: Descriptor = Descriptor {
        obj: ObjType::ChatRoom,
        database: Database::Pool,
        table: "rooms",
        properties: &[
            identity(),
            column("Name", "name", Shape::Text).special(),
            reference("Category", "category_id", "categories"),
            column("Privacy", "privacy", Shape::Enum(&["Open", "Closed"])).plain(),
            list("Members", "Members"),
            column("WhenCreated", "when_created", Shape::DateTime).archived().initial(Initial::Now),
        ],
    };

    #[test]
    fn statements_derive_from_the_descriptor() {
        let s = Statements::derive(&SAMPLE, "r");
        assert_eq!(
            s.select,
            "SELECT r.id, r.name, r.category_id, j2.name, r.privacy, r.when_created FROM {db}.rooms r \
             LEFT JOIN {db}.categories j2 ON j2.id = r.category_id"
        );
        assert_eq!(
            s.insert,
            "INSERT INTO {db}.rooms(id, name, category_id, privacy, when_created) VALUES (?1, ?2, ?3, ?4, ?5)"
        );
    }

    #[test]
    fn an_update_names_only_the_changed_columns() {
        let s = Statements::derive(&ROOM, "r");
        let before = ROOM.initial_cells(0);
        assert!(s.update(&ROOM, &1, &before, &before).is_none());
        let mut after = before.clone();
        after[ROOM.cell("Privacy")] = Cell::Enum(2);
        after[ROOM.cell("Category")] = Cell::Int(5);
        after[ROOM.cell("Category") + 1] = Cell::Text("Other".into());
        let (sql, args) = s.update(&ROOM, &1, &before, &after).unwrap();
        assert_eq!(sql, "UPDATE {db}.rooms SET category_id = ?2, privacy = ?3 WHERE id = ?1");
        // As bound: an enum by its name, a reference by its id.
        assert_eq!(args[2].to_value().unwrap(), ValueRef::Text(b"Secret"));
        assert_eq!(args[1].to_value().unwrap(), ValueRef::Integer(5));
        assert_eq!(args[0].to_value().unwrap(), ValueRef::Integer(1));
    }

    /// The derived statements of the real descriptors run against the migrated schema and read
    /// back what they wrote.
    #[test]
    fn cells_round_trip_through_the_schema() {
        let conn = migrated(crate::store::schema::POOL);
        conn.execute_batch("INSERT INTO categories(id, pool, name) VALUES (5, 'p', 'Cat')").unwrap();
        let s = Statements::derive(&ROOM, "r");
        let mut cells = ROOM.initial_cells(0);
        cells[ROOM.cell("Name")] = Cell::Text("Ünïcode room".into());
        cells[ROOM.cell("PersistentChatPoolFqdn")] = Cell::Text("p".into());
        cells[ROOM.cell("Category")] = Cell::Int(5);
        cells[ROOM.cell("Privacy")] = Cell::Enum(2);
        // The connection's own database is the pool copy here.
        let copy = Target::Copy("main");
        route(&conn, copy, &s.insert).execute(&s.insert_args(&ROOM, &9, &cells)).unwrap();
        let back = route(&conn, copy, &s.select).query_row((), |r| read_cells(&ROOM, r)).unwrap();
        cells[ROOM.cell("Category") + 1] = Cell::Text("Cat".into());
        assert_eq!(back, cells);
        // Categories' statements are valid against their table too.
        let c = Statements::derive(&CATEGORY, "c");
        route(&conn, copy, &c.select).prepare().unwrap();
        route(&conn, copy, &c.insert).prepare().unwrap();
    }

    /// The statements of add-ins (pool database) and endpoints (the central directory's
    /// principals, attributes read from JSON). Prefixes only: the descriptors may grow.
    #[test]
    fn addin_and_endpoint_statements() {
        let a = Statements::derive(&ADDIN, "a");
        assert!(
            a.select.starts_with("SELECT a.id, a.name, a.url, a.pool") && a.select.ends_with(" FROM {db}.addins a")
        );
        assert!(a.insert.starts_with("INSERT INTO {db}.addins(id, name, url, pool"), "{}", a.insert);
        let before = ADDIN.initial_cells(0);
        let mut after = before.clone();
        after[ADDIN.cell("Url")] = Cell::Text("https://x".into());
        assert_eq!(a.update(&ADDIN, &1, &before, &after).unwrap().0, "UPDATE {db}.addins SET url = ?2 WHERE id = ?1");
        let e = Statements::derive(&ENDPOINT, "e");
        assert!(e.select.starts_with("SELECT e.id, e.dn, e.sip, e.display_name, e.endpoint_pool, "), "{}", e.select);
        assert!(e.select.contains(&dialect::json_text("e.attrs", "VoicePolicy")));
        assert!(e.select.ends_with(" FROM principals e"), "{}", e.select);
    }

    fn migrated(steps: &[&str]) -> db::Db {
        let conn = db::Db::open_sqlite_memory().unwrap();
        for step in steps {
            conn.execute_batch(step).unwrap();
        }
        conn
    }

    /// Every column a descriptor names is in its table (a reference's table has the id and name
    /// it joins on), and every derived statement prepares against the migrated schema.
    #[test]
    fn every_descriptor_column_exists_in_its_schema() {
        use crate::catalog::descriptor::ALL;
        let pool = migrated(crate::store::schema::POOL);
        let central = migrated(crate::store::schema::CENTRAL);
        for d in ALL {
            let (conn, target) = match d.database {
                Database::Pool => (&pool, Target::Copy("main")),
                Database::Central => (&central, Target::Central),
            };
            let columns = |table: &str| -> Vec<String> {
                conn.query_map(&format!("PRAGMA table_info({table})"), (), |r| r.get::<String>(1)).unwrap()
            };
            let own = columns(d.table);
            for p in d.properties {
                let wanted: Vec<(&str, &str)> = match p.source {
                    Source::Column(c) | Source::Attribute { column: c, .. } => vec![(d.table, c)],
                    Source::Reference { column, table } => vec![(d.table, column), (table, "id"), (table, "name")],
                    Source::Identity | Source::List(_) => vec![],
                };
                for (table, c) in wanted {
                    let present = if table == d.table { own.clone() } else { columns(table) };
                    assert!(present.iter().any(|x| x == c), "{:?} {}: no column {table}.{c}", d.obj, p.name);
                }
            }
            let s = Statements::derive(d, "t");
            for sql in [&s.select, &s.insert] {
                route(conn, target, sql).prepare().unwrap_or_else(|e| panic!("{sql}: {e}"));
            }
        }
    }

    /// An endpoint's policies are its text attributes: a number, a missing key or attributes
    /// that are not JSON read as null rather than failing the read.
    #[test]
    fn endpoint_attributes_read_as_text_or_null() {
        let conn = migrated(crate::store::schema::CENTRAL);
        conn.execute_batch(
            r#"INSERT INTO principals(id, dn, kind, name, endpoint_pool, attrs) VALUES
               (1, 'CN=a', 'Contact', 'a', 'p', '{"ConferencingPolicy":"Tag:C","VoicePolicy":7}'),
               (2, 'CN=b', 'User', 'b', 'p', 'not json')"#,
        )
        .unwrap();
        let s = Statements::derive(&ENDPOINT, "e");
        let rows: Vec<Vec<Cell>> =
            conn.query_map(&format!("{} ORDER BY e.id", s.select), (), |r| read_cells(&ENDPOINT, r)).unwrap();
        assert_eq!(rows[0][ENDPOINT.cell("ConferencingPolicy")], Cell::Text("Tag:C".into()));
        assert_eq!(rows[0][ENDPOINT.cell("VoicePolicy")], Cell::Null);
        assert_eq!(rows[0][ENDPOINT.cell("ObjectClass")], Cell::Enum(2), "Contact");
        assert_eq!(rows[1][ENDPOINT.cell("ConferencingPolicy")], Cell::Null);
        assert_eq!(rows[1][ENDPOINT.cell("ObjectClass")], Cell::Enum(0), "User");
    }
}
