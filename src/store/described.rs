//! SQL derived from an object type's descriptor (`catalog::descriptor`): the SELECT list with the
//! joins of its references, the INSERT, and the UPDATE of the columns that changed; cells read
//! and bound by the property's shape. The statements are built once per descriptor.

use rusqlite::Row;
use rusqlite::types::{FromSqlError, ToSql, ToSqlOutput, ValueRef};

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
                        dialect::pool_table(table)
                    ));
                    written.push((column, cell));
                }
                Source::Identity | Source::List(_) => {}
            }
        }
        select.push_str(&format!(" FROM {} {alias}{joins}", dialect::pool_table(d.table)));
        let columns: Vec<&str> = written.iter().map(|(c, _)| *c).collect();
        let marks: Vec<String> = (1..=columns.len() + 1).map(dialect::param).collect();
        let insert = format!(
            "INSERT INTO {}(id, {}) VALUES ({})",
            dialect::pool_table(d.table),
            columns.join(", "),
            marks.join(", ")
        );
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
            let sql = format!("UPDATE {} SET {} WHERE id = ?1", dialect::pool_table(d.table), sets.join(", "));
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

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Bound::Id(id) => ToSqlOutput::from(**id),
            Bound::Cell(Cell::Null, _) => ToSqlOutput::from(rusqlite::types::Null),
            Bound::Cell(Cell::Int(i), _) => ToSqlOutput::from(*i),
            Bound::Cell(Cell::Bool(b), _) => ToSqlOutput::from(*b),
            Bound::Cell(Cell::Text(s), _) => ToSqlOutput::from(s.as_str()),
            Bound::Cell(Cell::Enum(i), Shape::Enum(names)) => match names.get(*i as usize) {
                Some(n) => ToSqlOutput::from(*n),
                None => return Err(rusqlite::Error::ToSqlConversionFailure("enum value out of range".into())),
            },
            Bound::Cell(Cell::Enum(_), _) => {
                return Err(rusqlite::Error::ToSqlConversionFailure(
                    "an enum value in a column of another shape".into(),
                ));
            }
        })
    }
}

/// The cells of a row read by [`Statements::select`], after the id at column 0.
pub fn read_cells(d: &Descriptor, r: &Row<'_>) -> rusqlite::Result<Vec<Cell>> {
    let mut cells = Vec::with_capacity(d.width());
    let mut col = 1;
    for p in d.properties {
        match p.source {
            Source::Column(_) => {
                cells.push(read(r, col, p.shape)?);
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

fn read(r: &Row<'_>, col: usize, shape: Shape) -> rusqlite::Result<Cell> {
    let v = r.get_ref(col)?;
    let bad = |e: FromSqlError| rusqlite::Error::FromSqlConversionFailure(col, v.data_type(), Box::new(e));
    Ok(match (v, shape) {
        (ValueRef::Null, _) => Cell::Null,
        (ValueRef::Integer(i), Shape::Bool) => Cell::Bool(i != 0),
        (ValueRef::Integer(i), Shape::SizeMb | Shape::DateTime) => Cell::Int(i),
        (ValueRef::Text(t), Shape::Enum(names)) => match names.iter().position(|n| n.as_bytes() == t) {
            Some(i) => Cell::Enum(i as u8),
            None => {
                let text = String::from_utf8_lossy(t);
                return Err(bad(FromSqlError::Other(
                    format!("stored value '{text}' is not one of {}", names.join(", ")).into(),
                )));
            }
        },
        (ValueRef::Text(_), Shape::Text | Shape::OptText) => Cell::Text(v.as_str().map_err(bad)?.to_string()),
        _ => return Err(bad(FromSqlError::InvalidType)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::descriptor::{CATEGORY, ROOM};

    use crate::catalog::ObjType;
    use crate::catalog::descriptor::{Descriptor, Initial, column, identity, list, reference};

    /// A descriptor of each kind of property (rooms and categories grow; this one stays).
    const SAMPLE: Descriptor = Descriptor {
        obj: ObjType::ChatRoom,
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
        assert_eq!(args[2].to_sql().unwrap(), ToSqlOutput::from("Secret"));
        assert_eq!(args[1].to_sql().unwrap(), ToSqlOutput::from(5i64));
    }

    /// The derived statements of the real descriptors run against the migrated schema and read
    /// back what they wrote.
    #[test]
    fn cells_round_trip_through_the_schema() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        for step in crate::store::schema::POOL {
            conn.execute_batch(step).unwrap();
        }
        conn.execute_batch("INSERT INTO categories(id, pool, name) VALUES (5, 'p', 'Cat')").unwrap();
        let s = Statements::derive(&ROOM, "r");
        let mut cells = ROOM.initial_cells(0);
        cells[ROOM.cell("Name")] = Cell::Text("Ünïcode room".into());
        cells[ROOM.cell("PersistentChatPoolFqdn")] = Cell::Text("p".into());
        cells[ROOM.cell("Category")] = Cell::Int(5);
        cells[ROOM.cell("Privacy")] = Cell::Enum(2);
        conn.execute(
            &dialect::on_schema(&s.insert, "main"),
            rusqlite::params_from_iter(s.insert_args(&ROOM, &9, &cells)),
        )
        .unwrap();
        let back = conn.query_row(&dialect::on_schema(&s.select, "main"), [], |r| read_cells(&ROOM, r)).unwrap();
        cells[ROOM.cell("Category") + 1] = Cell::Text("Cat".into());
        assert_eq!(back, cells);
        // Categories' statements are valid against their table too.
        let c = Statements::derive(&CATEGORY, "c");
        conn.prepare(&dialect::on_schema(&c.select, "main")).unwrap();
        conn.prepare(&dialect::on_schema(&c.insert, "main")).unwrap();
    }
}
