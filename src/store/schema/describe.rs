//! What a SQLite database's schema is, as its catalog says (`pragma table_list`, `table_info`,
//! `index_list`, `index_xinfo`, `foreign_key_list`): two databases with equal descriptions have
//! the same tables, columns, keys, indexes and constraints, however their DDL was spelt. Tests
//! only: the baseline is proven equal to the released history with it, and the PostgreSQL
//! migration is checked against it.

use crate::store::db::{Db, OptionalExtension};

use super::baseline::Baseline;
use crate::store::dialect::Dialect;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Table {
    pub name: String,
    pub without_rowid: bool,
    pub strict: bool,
    pub columns: Vec<Column>,
    /// Sorted.
    pub indexes: Vec<Index>,
    /// Sorted.
    pub foreign_keys: Vec<ForeignKey>,
    /// The CHECK constraints' expressions, normalised ([`normalise`]) and sorted.
    pub checks: Vec<String>,
}

impl Table {
    /// The primary key's columns, in key order.
    pub fn primary_key(&self) -> Vec<&str> {
        let mut pk: Vec<&Column> = self.columns.iter().filter(|c| c.pk > 0).collect();
        pk.sort_by_key(|c| c.pk);
        pk.iter().map(|c| c.name.as_str()).collect()
    }

    /// SQLite's rowid alias: the one INTEGER primary key column of a rowid table.
    pub fn rowid_alias(&self) -> Option<&str> {
        match self.primary_key()[..] {
            [c] if !self.without_rowid => {
                self.columns.iter().find(|x| x.name == c).filter(|x| x.declared == "INTEGER").map(|x| x.name.as_str())
            }
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Column {
    pub name: String,
    /// The declared type as written ("" for none).
    pub declared: String,
    pub notnull: bool,
    /// The default's expression text.
    pub default: Option<String>,
    /// Position in the primary key, 1-based; 0 when not in it.
    pub pk: usize,
    /// Declared COLLATE NOCASE.
    pub nocase: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Index {
    /// `pk` (a primary key's), `u` (a UNIQUE constraint's) or `c` (CREATE INDEX).
    pub origin: String,
    /// The name of a created index; None for a constraint's (SQLite names those itself).
    pub name: Option<String>,
    pub unique: bool,
    pub keys: Vec<Key>,
    /// A partial index's WHERE, normalised.
    pub predicate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    /// The column's name, or the expression normalised without its COLLATE clause.
    pub text: String,
    pub expression: bool,
    pub nocase: bool,
    pub desc: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub table: String,
    /// The parent's columns; empty when the DDL names none (the parent's primary key).
    pub to: Vec<String>,
    pub on_update: String,
    pub on_delete: String,
    pub match_: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Description {
    /// Sorted by name.
    pub tables: Vec<Table>,
    /// Views and triggers: (type, name, table), sorted.
    pub others: Vec<(String, String, String)>,
}

/// Lower case, no white space, no double quotes, without parentheses around the whole: the
/// same expression however it was spelt or printed back.
pub fn normalise(sql: &str) -> String {
    let mut s: String = sql.chars().filter(|c| !c.is_whitespace() && *c != '"').collect::<String>().to_lowercase();
    while s.starts_with('(') && matching(&s, 0) == Some(s.len() - 1) {
        s = s[1..s.len() - 1].to_string();
    }
    s
}

/// The index of the parenthesis closing the one at `open`.
fn matching(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, c) in s[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

/// The parts of a CREATE INDEX: its key terms and its WHERE (the text after the key list).
/// Enough for the store's own DDL: no parenthesis or comma inside a string literal.
fn index_parts(sql: &str) -> (Vec<String>, Option<String>) {
    let open = sql.find('(').expect("CREATE INDEX has a key list");
    let close = matching(sql, open).expect("the key list closes");
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0, open + 1);
    for (i, c) in sql[open + 1..close].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(sql[start..open + 1 + i].to_string());
                start = open + 2 + i;
            }
            _ => {}
        }
    }
    terms.push(sql[start..close].to_string());
    let rest = sql[close + 1..].trim();
    let predicate = (!rest.is_empty()).then(|| {
        let condition = rest.get(..5).filter(|w| w.eq_ignore_ascii_case("WHERE")).map(|_| &rest[5..]);
        normalise(condition.unwrap_or_else(|| panic!("what follows the keys of {sql}?")))
    });
    (terms, predicate)
}

/// The CHECK constraints of a CREATE TABLE, normalised.
fn checks(sql: &str) -> Vec<String> {
    let lower = sql.to_lowercase();
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("check").map(|i| from + i) {
        from = at + 5;
        let word_start =
            at == 0 || !lower.as_bytes()[at - 1].is_ascii_alphanumeric() && lower.as_bytes()[at - 1] != b'_';
        let open = from + lower[from..].len() - lower[from..].trim_start().len();
        if word_start && lower[open..].starts_with('(') {
            let close = matching(&lower, open).expect("CHECK closes");
            found.push(normalise(&sql[open..=close]));
        }
    }
    found.sort();
    found
}

fn strings(conn: &Db, sql: &str, arg: &str) -> Vec<String> {
    conn.query_map(sql, [arg], |r| r.get(0)).unwrap()
}

/// The schema of `conn`'s main database. Probes each column's collation with an index made
/// and dropped again: give it a throwaway database.
pub fn describe(conn: &Db) -> Description {
    let names = strings(
        conn,
        "SELECT name FROM pragma_table_list WHERE schema = ?1 AND type = 'table' AND name NOT LIKE 'sqlite!_%' ESCAPE '!' ORDER BY name",
        "main",
    );
    let tables = names.iter().map(|t| table(conn, t)).collect();
    let mut others: Vec<(String, String, String)> = conn
        .query_map("SELECT type, name, tbl_name FROM sqlite_master WHERE type IN ('view', 'trigger')", (), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })
        .unwrap();
    others.sort();
    Description { tables, others }
}

fn table(conn: &Db, name: &str) -> Table {
    let (without_rowid, strict) = conn
        .query_row("SELECT wr, strict FROM pragma_table_list WHERE schema = 'main' AND name = ?1", [name], |r| {
            Ok((r.get::<bool>(0)?, r.get::<bool>(1)?))
        })
        .unwrap();
    let mut columns: Vec<Column> = conn
        .query_map(
            "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1) ORDER BY cid",
            [name],
            |r| {
                Ok(Column {
                    name: r.get(0)?,
                    declared: r.get(1)?,
                    notnull: r.get(2)?,
                    default: r.get(3)?,
                    pk: r.get::<i64>(4)? as usize,
                    nocase: false,
                })
            },
        )
        .unwrap();
    // table_info does not say a column's collation; an index on the column takes it.
    for c in &mut columns {
        conn.execute_batch(&format!("CREATE INDEX pchat_probe ON \"{name}\"(\"{}\")", c.name)).unwrap();
        let coll: String = conn
            .query_row("SELECT coll FROM pragma_index_xinfo('pchat_probe') WHERE seqno = 0", (), |r| r.get(0))
            .unwrap();
        conn.execute_batch("DROP INDEX pchat_probe").unwrap();
        c.nocase = coll.eq_ignore_ascii_case("NOCASE");
    }
    let index_rows: Vec<(String, bool, String, bool)> = conn
        .query_map("SELECT name, \"unique\", origin, partial FROM pragma_index_list(?1)", [name], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .unwrap();
    let mut indexes: Vec<Index> = index_rows
        .into_iter()
        .map(|(index, unique, origin, partial)| {
            // No row for a WITHOUT ROWID table's key (the table is that index), no SQL for
            // a constraint's index.
            let sql: Option<String> = conn
                .query_row("SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1", [&index], |r| r.get(0))
                .optional()
                .unwrap()
                .flatten();
            let (terms, predicate) = sql.as_deref().map_or((Vec::new(), None), index_parts);
            assert_eq!(partial, predicate.is_some(), "{index}");
            let keys = conn
                .query_map(
                    "SELECT cid, name, desc, coll FROM pragma_index_xinfo(?1) WHERE key ORDER BY seqno",
                    [&index],
                    |r| Ok((r.get::<i64>(0)?, r.get::<Option<String>>(1)?, r.get(2)?, r.get::<String>(3)?)),
                )
                .unwrap()
                .into_iter()
                .enumerate()
                .map(|(i, (cid, column, desc, coll))| {
                    let text = match column {
                        Some(column) if cid >= 0 => column,
                        _ => {
                            let term = normalise(&terms[i]);
                            let term = term.strip_suffix("collatenocase").or(term.strip_suffix("collatebinary"));
                            term.map_or_else(|| normalise(&terms[i]), str::to_string)
                        }
                    };
                    Key { text, expression: cid < 0, nocase: coll.eq_ignore_ascii_case("NOCASE"), desc }
                })
                .collect();
            Index { name: (origin == "c").then_some(index), origin, unique, keys, predicate }
        })
        .collect();
    indexes.sort();
    type FkRow = (i64, String, String, Option<String>, String, String, String);
    let fk_rows: Vec<FkRow> = conn
        .query_map("SELECT id, \"table\", \"from\", \"to\", on_update, on_delete, \"match\" FROM pragma_foreign_key_list(?1) ORDER BY id, seq", [name], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .unwrap();
    let mut foreign_keys: Vec<ForeignKey> = Vec::new();
    let mut last = None;
    for (id, parent, from, to, on_update, on_delete, match_) in fk_rows {
        if last != Some(id) {
            foreign_keys.push(ForeignKey {
                columns: Vec::new(),
                table: parent,
                to: Vec::new(),
                on_update,
                on_delete,
                match_,
            });
            last = Some(id);
        }
        let fk = foreign_keys.last_mut().expect("pushed above");
        fk.columns.push(from);
        fk.to.extend(to);
    }
    foreign_keys.sort();
    let sql: String = conn
        .query_row("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| r.get(0))
        .unwrap();
    Table { name: name.to_string(), without_rowid, strict, columns, indexes, foreign_keys, checks: checks(&sql) }
}

/// A fresh in-memory database with `steps` applied as a migration would.
pub fn replayed(steps: &[&str]) -> Db {
    let conn = Db::open_sqlite_memory().unwrap();
    for (n, step) in steps.iter().enumerate() {
        conn.execute_batch(step).unwrap_or_else(|e| panic!("step {}: {e}", n + 1));
    }
    conn
}

/// A fresh in-memory database with `baseline` rendered for SQLite.
pub fn rendered(baseline: &Baseline) -> Db {
    let sql = Dialect::Sqlite.render(baseline.ddl).unwrap();
    replayed(&[&sql])
}
