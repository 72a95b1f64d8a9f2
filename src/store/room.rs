//! Chat rooms and their Members / Managers / Presenters lists, in pool databases.

use crate::store::db::{self, OptionalExtension, Row, Value as SqlValue, params, params_from_iter};
use std::collections::HashMap;

use std::sync::LazyLock;

use super::described::{Described, Statements, read_cells};
use super::pools::PoolTarget;
use super::route::Target;
use super::{Store, dialect};
use crate::catalog::descriptor::{Cell, Descriptor, ROOM};
use crate::catalog::enums::{Invitations, Named, Privacy, RoomType};

/// A room: its stored properties as cells of [`ROOM`] (read them through the accessors), and its
/// lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRow {
    pub id: i64,
    pub cells: Vec<Cell>,
    pub members: Vec<String>,
    pub managers: Vec<String>,
    pub presenters: Vec<String>,
}

const NAME: usize = ROOM.cell("Name");
const DESCRIPTION: usize = ROOM.cell("Description");
const CATEGORY: usize = ROOM.cell("Category");
const POOL: usize = ROOM.cell("PersistentChatPoolFqdn");
const DISABLED: usize = ROOM.cell("Disabled");
const INVITATIONS: usize = ROOM.cell("Invitations");
const PRIVACY: usize = ROOM.cell("Privacy");
const TYPE: usize = ROOM.cell("Type");
const ADDIN: usize = ROOM.cell("Addin");
const CONTENT: usize = ROOM.cell("ChatContentSizeMB");

/// The statements derived from [`ROOM`], built once.
static SQL: LazyLock<Statements> = LazyLock::new(|| Statements::derive(&ROOM, "r"));

/// The list names stored in `room_entries.list`.
pub const MEMBERS: &str = "Members";
pub const MANAGERS: &str = "Managers";
pub const PRESENTERS: &str = "Presenters";

/// Conditions of a room search; `None` means "any". Combined with AND.
#[derive(Debug, Clone, Default)]
pub struct RoomQuery {
    pub name: Option<String>,
    pub category_ids: Option<Vec<i64>>,
    pub ids: Option<Vec<i64>>,
    pub disabled: Option<bool>,
    pub privacy: Option<Privacy>,
    pub room_type: Option<RoomType>,
    pub invitations: Option<Invitations>,
    pub addin_id: Option<i64>,
    /// Strictly more content than this many bytes.
    pub content_over: Option<i64>,
    /// Names starting with this text, case-insensitively: a pre-filter the caller narrows further.
    pub name_prefix: Option<String>,
}

fn room(r: &Row<'_>) -> db::Result<RoomRow> {
    Ok(RoomRow {
        id: r.get(0)?,
        cells: read_cells(&ROOM, r)?,
        members: Vec::new(),
        managers: Vec::new(),
        presenters: Vec::new(),
    })
}

impl Described for RoomRow {
    const DESCRIPTOR: &'static Descriptor = &ROOM;
    fn cells(&self) -> &[Cell] {
        &self.cells
    }
    fn cells_mut(&mut self) -> &mut [Cell] {
        &mut self.cells
    }
    fn list(&self, stored_as: &str) -> &[String] {
        RoomRow::list(self, stored_as)
    }
}

impl RoomRow {
    /// A new room of a pool in a category, at the descriptor's initial values (created now).
    pub fn new(id: i64, pool: &str, name: String, category: (i64, String)) -> RoomRow {
        let mut cells = ROOM.initial_cells(chrono::Utc::now().timestamp_micros());
        cells[POOL] = Cell::Text(pool.to_string());
        cells[NAME] = Cell::Text(name);
        let mut r = RoomRow { id, cells, members: Vec::new(), managers: Vec::new(), presenters: Vec::new() };
        r.set_category(category.0, category.1);
        r
    }

    fn text(&self, cell: usize) -> &str {
        self.cells[cell].text().unwrap_or_default()
    }

    fn choice<E: Named>(&self, cell: usize) -> E {
        match self.cells[cell] {
            Cell::Enum(i) => E::ALL.get(i as usize).copied().unwrap_or(E::ALL[0]),
            _ => E::ALL[0],
        }
    }

    pub fn name(&self) -> &str {
        self.text(NAME)
    }
    pub fn pool(&self) -> &str {
        self.text(POOL)
    }
    pub fn description(&self) -> Option<&str> {
        self.cells[DESCRIPTION].text()
    }
    pub fn category_id(&self) -> i64 {
        self.cells[CATEGORY].int().unwrap_or_default()
    }
    pub fn category(&self) -> &str {
        self.text(CATEGORY + 1)
    }
    pub fn disabled(&self) -> bool {
        self.cells[DISABLED].bool()
    }
    pub fn invitations(&self) -> Invitations {
        self.choice(INVITATIONS)
    }
    pub fn privacy(&self) -> Privacy {
        self.choice(PRIVACY)
    }
    pub fn room_type(&self) -> RoomType {
        self.choice(TYPE)
    }
    pub fn addin_id(&self) -> Option<i64> {
        self.cells[ADDIN].int()
    }
    pub fn addin(&self) -> Option<&str> {
        self.cells[ADDIN + 1].text()
    }
    pub fn content_bytes(&self) -> i64 {
        self.cells[CONTENT].int().unwrap_or_default()
    }

    pub fn set_name(&mut self, name: String) {
        self.cells[NAME] = Cell::Text(name);
    }
    pub fn set_category(&mut self, id: i64, name: String) {
        self.cells[CATEGORY] = Cell::Int(id);
        self.cells[CATEGORY + 1] = Cell::Text(name);
    }
    pub fn set_addin(&mut self, addin: Option<(i64, String)>) {
        let (id, name) = addin.map_or((Cell::Null, Cell::Null), |(i, n)| (Cell::Int(i), Cell::Text(n)));
        self.cells[ADDIN] = id;
        self.cells[ADDIN + 1] = name;
    }
    pub fn set_room_type(&mut self, t: RoomType) {
        self.cells[TYPE] = Cell::Enum(t as u8);
    }
    pub fn set_content_bytes(&mut self, bytes: i64) {
        self.cells[CONTENT] = Cell::Int(bytes);
    }

    fn list_mut(&mut self, list: &str) -> Option<&mut Vec<String>> {
        match list {
            MEMBERS => Some(&mut self.members),
            MANAGERS => Some(&mut self.managers),
            PRESENTERS => Some(&mut self.presenters),
            _ => None,
        }
    }

    pub fn list(&self, list: &str) -> &[String] {
        match list {
            MEMBERS => &self.members,
            MANAGERS => &self.managers,
            _ => &self.presenters,
        }
    }
}

impl Store {
    /// Rooms of a pool matching `q`, by name, without their lists (see `load_room_lists`).
    pub fn rooms(&self, pool: &PoolTarget, q: &RoomQuery) -> db::Result<Vec<RoomRow>> {
        let mut sql = SQL.select.clone();
        sql.push_str(&format!(" WHERE r.pool = {} COLLATE NOCASE", dialect::param(1)));
        let mut args: Vec<SqlValue> = vec![SqlValue::Text(pool.fqdn.clone())];
        let mut cond = |sql_part: &str, v: SqlValue| {
            args.push(v);
            sql.push_str(&sql_part.replace('?', &dialect::param(args.len())));
        };
        if let Some(n) = &q.name {
            cond(" AND r.name = ? COLLATE NOCASE", SqlValue::Text(n.clone()));
        }
        if let Some((low, high)) = q.name_prefix.as_deref().and_then(dialect::name_prefix_range) {
            // The column ignores case, so these compare folded and run on the (pool, name) index.
            cond(" AND r.name >= ? COLLATE NOCASE", SqlValue::Text(low));
            if let Some(high) = high {
                cond(" AND r.name < ? COLLATE NOCASE", SqlValue::Text(high));
            }
        }
        if let Some(ids) = &q.category_ids {
            cond(&format!(" AND {}", dialect::in_json_list("r.category_id")), dialect::json_list(ids));
        }
        if let Some(ids) = &q.ids {
            cond(&format!(" AND {}", dialect::in_json_list("r.id")), dialect::json_list(ids));
        }
        if let Some(d) = q.disabled {
            cond(" AND r.disabled = ?", dialect::boolean(d));
        }
        if let Some(p) = q.privacy {
            cond(" AND r.privacy = ?", SqlValue::Text(p.name().into()));
        }
        if let Some(t) = q.room_type {
            cond(" AND r.type = ?", SqlValue::Text(t.name().into()));
        }
        if let Some(i) = q.invitations {
            cond(" AND r.invitations = ?", SqlValue::Text(i.name().into()));
        }
        if let Some(a) = q.addin_id {
            cond(" AND r.addin_id = ?", SqlValue::Integer(a));
        }
        if let Some(b) = q.content_over {
            cond(" AND r.content_bytes > ?", SqlValue::Integer(b));
        }
        sql.push_str(&format!(" ORDER BY {}", dialect::order_nocase("r.name")));
        self.route(Target::Copy(&pool.schema), &sql)
            .prepare_cached()?
            .query_map(params_from_iter(args), room)?
            .collect()
    }

    /// Fill in the lists of `rooms` (all of one pool): per room for a few, in one pass for many.
    pub fn load_room_lists(&self, pool: &PoolTarget, rooms: &mut [RoomRow]) -> db::Result<()> {
        let copy = Target::Copy(&pool.schema);
        if rooms.len() <= 256 {
            let mut stmt = self
                .route(copy, "SELECT list, entry FROM {db}.room_entries WHERE room_id = ?1 ORDER BY ord")
                .prepare_cached()?;
            for r in rooms.iter_mut() {
                let entries = stmt.query_map([r.id], |row| Ok((row.get::<String>(0)?, row.get::<String>(1)?)))?;
                for e in entries {
                    let (list, entry) = e?;
                    if let Some(l) = r.list_mut(&list) {
                        l.push(entry);
                    }
                }
            }
            return Ok(());
        }
        let index: HashMap<i64, usize> = rooms.iter().enumerate().map(|(i, r)| (r.id, i)).collect();
        let mut stmt = self
            .route(
                copy,
                "SELECT e.room_id, e.list, e.entry FROM {db}.room_entries e JOIN {db}.rooms r ON r.id = e.room_id
                 WHERE r.pool = ?1 COLLATE NOCASE ORDER BY e.ord",
            )
            .prepare_cached()?;
        let entries = stmt.query_map([&pool.fqdn], |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?, r.get(2)?)))?;
        for e in entries {
            let (id, list, entry) = e?;
            if let Some(l) = index.get(&id).and_then(|&i| rooms[i].list_mut(&list)) {
                l.push(entry);
            }
        }
        Ok(())
    }

    /// One room by name, with its lists.
    pub fn room_by_name(&self, pool: &PoolTarget, name: &str) -> db::Result<Option<RoomRow>> {
        let q = RoomQuery { name: Some(name.to_string()), ..Default::default() };
        let mut found = self.rooms(pool, &q)?;
        self.load_room_lists(pool, &mut found)?;
        Ok(found.pop())
    }

    /// Ids of the rooms of a pool whose `list` names any of `keys`.
    pub fn rooms_listing(&self, pool: &PoolTarget, list: &str, keys: &[String]) -> db::Result<Vec<i64>> {
        let sql = format!(
            "SELECT DISTINCT e.room_id FROM {{db}}.room_entries e JOIN {{db}}.rooms r ON r.id = e.room_id
             WHERE {} AND e.list = ?2 AND r.pool = ?3 COLLATE NOCASE",
            dialect::in_json_list("e.entry COLLATE NOCASE").replace('?', &dialect::param(1))
        );
        self.route(Target::Copy(&pool.schema), &sql)
            .prepare_cached()?
            .query_map(params![dialect::json_text_list(keys), list, pool.fqdn], |r| r.get(0))?
            .collect()
    }

    /// Ids of the rooms in these categories whose Members list is empty (they inherit the scope).
    pub fn rooms_inheriting_members(&self, pool: &PoolTarget, category_ids: &[i64]) -> db::Result<Vec<i64>> {
        let sql = format!(
            "SELECT r.id FROM {{db}}.rooms r WHERE {}
             AND NOT EXISTS (SELECT 1 FROM {{db}}.room_entries e WHERE e.room_id = r.id AND e.list = ?2)",
            dialect::in_json_list("r.category_id").replace('?', &dialect::param(1))
        );
        self.route(Target::Copy(&pool.schema), &sql)
            .prepare_cached()?
            .query_map(params![dialect::json_list(category_ids), MEMBERS], |r| r.get(0))?
            .collect()
    }

    /// Insert a room (its id must come from `new_id`) with its lists.
    pub fn insert_room(&self, pool: &PoolTarget, r: &RoomRow) -> db::Result<()> {
        let args = SQL.insert_args(&ROOM, &r.id, &r.cells);
        self.pool_write(pool, &SQL.insert, &args)?;
        for list in [MEMBERS, MANAGERS, PRESENTERS] {
            self.insert_room_list(pool, r.id, list, r.list(list), 0)?;
        }
        Ok(())
    }

    /// Write a room's properties, and those of its lists that differ from `before`.
    pub fn update_room(&self, pool: &PoolTarget, before: &RoomRow, r: &RoomRow) -> db::Result<()> {
        if let Some((sql, args)) = SQL.update(&ROOM, &r.id, &before.cells, &r.cells) {
            self.pool_write(pool, &sql, &args)?;
        }
        for list in [MEMBERS, MANAGERS, PRESENTERS] {
            let (old, new) = (before.list(list), r.list(list));
            if old == new {
                continue;
            }
            // Most changes add at the end (`Members: #{Add: …}`): write only what was added, so
            // a change to a room of thousands of members costs what it adds, not a statement per
            // entry (on PostgreSQL a round trip per entry and copy). A list is only ever written
            // whole with `ord` 0..n (`insert_room_list`), so the added entries' `ord` continues it.
            match new.strip_prefix(old) {
                Some(added) => self.insert_room_list(pool, r.id, list, added, old.len())?,
                None => self.replace_room_list(pool, r.id, list, new)?,
            }
        }
        Ok(())
    }

    fn replace_room_list(&self, pool: &PoolTarget, id: i64, list: &str, entries: &[String]) -> db::Result<()> {
        self.pool_write(pool, "DELETE FROM {db}.room_entries WHERE room_id = ?1 AND list = ?2", params![id, list])?;
        self.insert_room_list(pool, id, list, entries, 0)
    }

    /// Write `entries` at positions `first..` of the list.
    fn insert_room_list(
        &self,
        pool: &PoolTarget,
        id: i64,
        list: &str,
        entries: &[String],
        first: usize,
    ) -> db::Result<()> {
        for (i, e) in entries.iter().enumerate() {
            self.pool_write(
                pool,
                "INSERT INTO {db}.room_entries(room_id, list, entry, ord) VALUES (?1, ?2, ?3, ?4)",
                params![id, list, e, (first + i) as i64],
            )?;
        }
        Ok(())
    }

    /// Disable a room (Export -DisableExportedNodes), every other property kept.
    pub fn disable_room(&self, pool: &PoolTarget, id: i64) -> db::Result<()> {
        self.pool_write(pool, "UPDATE {db}.rooms SET disabled = 1 WHERE id = ?1", params![id]).map(|_| ())
    }

    /// Delete a room; its lists and messages go with it (foreign-key cascade).
    pub fn delete_room(&self, pool: &PoolTarget, id: i64) -> db::Result<()> {
        self.pool_write(pool, "DELETE FROM {db}.rooms WHERE id = ?1", params![id]).map(|_| ())
    }

    /// The name of the room this name would clash with in the pool (other than `except`), as it
    /// is spelt there: names compare without letter case.
    pub fn room_name_taken(&self, pool: &PoolTarget, name: &str, except: Option<i64>) -> db::Result<Option<String>> {
        Ok(self
            .route(
                Target::Copy(&pool.schema),
                "SELECT id, name FROM {db}.rooms WHERE pool = ?1 COLLATE NOCASE AND name = ?2 COLLATE NOCASE",
            )
            .prepare_cached()?
            .query_row(params![pool.fqdn, name], |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)))
            .optional()?
            .filter(|(id, _)| Some(*id) != except)
            .map(|(_, existing)| existing))
    }
}
