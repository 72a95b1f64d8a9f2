//! Categories and their AllowedMembers / DeniedMembers / Creators lists, in pool databases.

use crate::store::db::{self, OptionalExtension, Row, params};
use std::sync::LazyLock;

use super::described::{Described, Statements, read_cells};
use super::pools::PoolTarget;
use super::route::Target;
use super::{Store, dialect};
use crate::catalog::descriptor::{CATEGORY, Cell, Descriptor};

/// A category: its stored properties as cells of [`CATEGORY`] (read them through the
/// accessors), and its lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRow {
    pub id: i64,
    pub cells: Vec<Cell>,
    pub allowed: Vec<String>,
    pub denied: Vec<String>,
    pub creators: Vec<String>,
}

/// The list names stored in `category_entries.list`.
pub const ALLOWED: &str = "Allowed";
pub const DENIED: &str = "Denied";
pub const CREATORS: &str = "Creators";

const NAME: usize = CATEGORY.cell("Name");
const DESCRIPTION: usize = CATEGORY.cell("Description");
const POOL: usize = CATEGORY.cell("PersistentChatPoolFqdn");
const INVITES: usize = CATEGORY.cell("Invites");
const FILE_UPLOAD: usize = CATEGORY.cell("FileUpload");
const CHAT_HISTORY: usize = CATEGORY.cell("ChatHistory");

/// The statements derived from [`CATEGORY`], built once.
static SQL: LazyLock<Statements> = LazyLock::new(|| Statements::derive(&CATEGORY, "c"));

fn category(r: &Row<'_>) -> db::Result<CategoryRow> {
    Ok(CategoryRow {
        id: r.get(0)?,
        cells: read_cells(&CATEGORY, r)?,
        allowed: Vec::new(),
        denied: Vec::new(),
        creators: Vec::new(),
    })
}

impl Described for CategoryRow {
    const DESCRIPTOR: &'static Descriptor = &CATEGORY;
    fn cells(&self) -> &[Cell] {
        &self.cells
    }
    fn cells_mut(&mut self) -> &mut [Cell] {
        &mut self.cells
    }
    fn list(&self, stored_as: &str) -> &[String] {
        match stored_as {
            ALLOWED => &self.allowed,
            DENIED => &self.denied,
            _ => &self.creators,
        }
    }
}

impl CategoryRow {
    /// A new category of a pool at the descriptor's initial values.
    pub fn new(id: i64, pool: &str, name: String) -> CategoryRow {
        let mut cells = CATEGORY.initial_cells(chrono::Utc::now().timestamp_micros());
        cells[POOL] = Cell::Text(pool.to_string());
        cells[NAME] = Cell::Text(name);
        CategoryRow { id, cells, allowed: Vec::new(), denied: Vec::new(), creators: Vec::new() }
    }

    pub fn name(&self) -> &str {
        self.cells[NAME].text().unwrap_or_default()
    }
    pub fn pool(&self) -> &str {
        self.cells[POOL].text().unwrap_or_default()
    }
    pub fn description(&self) -> Option<&str> {
        self.cells[DESCRIPTION].text()
    }
    pub fn invites(&self) -> bool {
        self.cells[INVITES].bool()
    }
    pub fn file_upload(&self) -> bool {
        self.cells[FILE_UPLOAD].bool()
    }
    pub fn chat_history(&self) -> bool {
        self.cells[CHAT_HISTORY].bool()
    }

    pub fn set_name(&mut self, name: String) {
        self.cells[NAME] = Cell::Text(name);
    }
    pub fn set_invites(&mut self, v: bool) {
        self.cells[INVITES] = Cell::Bool(v);
    }
    pub fn set_file_upload(&mut self, v: bool) {
        self.cells[FILE_UPLOAD] = Cell::Bool(v);
    }
    pub fn set_chat_history(&mut self, v: bool) {
        self.cells[CHAT_HISTORY] = Cell::Bool(v);
    }

    fn list_mut(&mut self, list: &str) -> Option<&mut Vec<String>> {
        match list {
            ALLOWED => Some(&mut self.allowed),
            DENIED => Some(&mut self.denied),
            CREATORS => Some(&mut self.creators),
            _ => None,
        }
    }

    fn lists(&self) -> [(&'static str, &[String]); 3] {
        [(ALLOWED, &self.allowed), (DENIED, &self.denied), (CREATORS, &self.creators)]
    }
}

impl Store {
    /// Every category of a pool, by name, with its lists.
    pub fn categories(&self, pool: &PoolTarget) -> db::Result<Vec<CategoryRow>> {
        let copy = Target::Copy(&pool.schema);
        let mut rows: Vec<CategoryRow> = self
            .route(
                copy,
                &format!(
                    "{} WHERE c.pool = ?1 COLLATE NOCASE ORDER BY {}",
                    SQL.select,
                    dialect::order_nocase("c.name")
                ),
            )
            .prepare_cached()?
            .query_map([&pool.fqdn], category)?
            .collect::<db::Result<_>>()?;
        let index: std::collections::HashMap<i64, usize> = rows.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        let mut stmt = self
            .route(
                copy,
                "SELECT e.category_id, e.list, e.entry FROM {db}.category_entries e
                 JOIN {db}.categories c ON c.id = e.category_id WHERE c.pool = ?1 COLLATE NOCASE ORDER BY e.ord",
            )
            .prepare_cached()?;
        let entries = stmt.query_map([&pool.fqdn], |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?, r.get(2)?)))?;
        for e in entries {
            let (id, list, entry) = e?;
            if let Some(l) = index.get(&id).and_then(|&i| rows[i].list_mut(&list)) {
                l.push(entry);
            }
        }
        Ok(rows)
    }

    pub fn category_by_name(&self, pool: &PoolTarget, name: &str) -> db::Result<Option<CategoryRow>> {
        let copy = Target::Copy(&pool.schema);
        let Some(mut c) = self
            .route(copy, &format!("{} WHERE c.pool = ?1 COLLATE NOCASE AND c.name = ?2 COLLATE NOCASE", SQL.select))
            .prepare_cached()?
            .query_row(params![pool.fqdn, name], category)
            .optional()?
        else {
            return Ok(None);
        };
        let mut stmt = self
            .route(copy, "SELECT list, entry FROM {db}.category_entries WHERE category_id = ?1 ORDER BY ord")
            .prepare_cached()?;
        for e in stmt.query_map([c.id], |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)))? {
            let (list, entry) = e?;
            if let Some(l) = c.list_mut(&list) {
                l.push(entry);
            }
        }
        Ok(Some(c))
    }

    /// The id and stored name of a category, without its lists: what a room's reference needs.
    pub fn category_key(&self, pool: &PoolTarget, name: &str) -> db::Result<Option<(i64, String)>> {
        self.route(
            Target::Copy(&pool.schema),
            "SELECT id, name FROM {db}.categories WHERE pool = ?1 COLLATE NOCASE AND name = ?2 COLLATE NOCASE",
        )
        .prepare_cached()?
        .query_row(params![pool.fqdn, name], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()
    }

    pub fn category_name(&self, pool: &PoolTarget, id: i64) -> db::Result<Option<String>> {
        self.route(Target::Copy(&pool.schema), "SELECT name FROM {db}.categories WHERE id = ?1")
            .prepare_cached()?
            .query_row([id], |r| r.get(0))
            .optional()
    }

    /// Insert a category (its id must come from `new_id`) with its lists.
    pub fn insert_category(&self, pool: &PoolTarget, c: &CategoryRow) -> db::Result<()> {
        let args = SQL.insert_args(&CATEGORY, &c.id, &c.cells);
        self.pool_write(pool, &SQL.insert, &args)?;
        for (list, entries) in c.lists() {
            self.replace_category_list(pool, c.id, list, entries)?;
        }
        Ok(())
    }

    /// Write a category's properties and lists that differ from `before`.
    pub fn update_category(&self, pool: &PoolTarget, before: &CategoryRow, c: &CategoryRow) -> db::Result<()> {
        if let Some((sql, args)) = SQL.update(&CATEGORY, &c.id, &before.cells, &c.cells) {
            self.pool_write(pool, &sql, &args)?;
        }
        for ((list, entries), (_, was)) in c.lists().into_iter().zip(before.lists()) {
            if entries != was {
                self.replace_category_list(pool, c.id, list, entries)?;
            }
        }
        Ok(())
    }

    fn replace_category_list(&self, pool: &PoolTarget, id: i64, list: &str, entries: &[String]) -> db::Result<()> {
        self.pool_write(
            pool,
            "DELETE FROM {db}.category_entries WHERE category_id = ?1 AND list = ?2",
            params![id, list],
        )?;
        for (i, e) in entries.iter().enumerate() {
            self.pool_write(
                pool,
                "INSERT INTO {db}.category_entries(category_id, list, entry, ord) VALUES (?1, ?2, ?3, ?4)",
                params![id, list, e, i as i64],
            )?;
        }
        Ok(())
    }

    pub fn category_room_count(&self, pool: &PoolTarget, id: i64) -> db::Result<i64> {
        self.route(Target::Copy(&pool.schema), "SELECT count(*) FROM {db}.rooms WHERE category_id = ?1")
            .prepare_cached()?
            .query_row([id], |r| r.get(0))
    }

    pub fn delete_category(&self, pool: &PoolTarget, id: i64) -> db::Result<()> {
        self.pool_write(pool, "DELETE FROM {db}.categories WHERE id = ?1", params![id]).map(|_| ())
    }
}
