//! Chat rooms and their Members / Managers / Presenters lists, in pool databases.

use std::collections::HashMap;

use rusqlite::types::Value as SqlValue;
use rusqlite::{OptionalExtension, Row, ToSql, params, params_from_iter};

use super::Store;
use super::pools::PoolTarget;
use crate::catalog::enums::{Invitations, Named, Privacy, RoomType};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomRow {
    pub id: i64,
    pub pool: String,
    pub name: String,
    pub description: Option<String>,
    pub category_id: i64,
    pub category: String,
    pub disabled: bool,
    pub invitations: Invitations,
    pub privacy: Privacy,
    pub room_type: RoomType,
    pub addin_id: Option<i64>,
    pub addin: Option<String>,
    pub content_bytes: i64,
    pub members: Vec<String>,
    pub managers: Vec<String>,
    pub presenters: Vec<String>,
}

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

/// The NOCASE range `[low, high)` holding every name that starts with `prefix` as the filters
/// compare (Unicode simple case folding), for an index range scan in place of a full scan.
/// NOCASE folds ASCII only, so the prefix is cut at its first non-ASCII character, and before
/// `k` and `s`: the Kelvin sign and the long s fold to them, and SQLite would not see that.
fn nocase_prefix_range(prefix: &str) -> Option<(String, Option<String>)> {
    let low: String = prefix
        .chars()
        .map_while(|c| (c.is_ascii() && !matches!(c, 'k' | 'K' | 's' | 'S')).then(|| c.to_ascii_lowercase()))
        .collect();
    let last = low.chars().last()?;
    // The first string past every extension of `low`; none when the last character is the highest.
    let high = (last < '\u{7f}').then(|| format!("{}{}", &low[..low.len() - 1], (last as u8 + 1) as char));
    Some((low, high))
}

const SELECT: &str = "SELECT r.id, r.pool, r.name, r.description, r.category_id, c.name, r.disabled, r.invitations,
        r.privacy, r.type, r.addin_id, a.name, r.content_bytes";

fn room(r: &Row<'_>) -> rusqlite::Result<RoomRow> {
    Ok(RoomRow {
        id: r.get(0)?,
        pool: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        category_id: r.get(4)?,
        category: r.get(5)?,
        disabled: r.get(6)?,
        invitations: r.get(7)?,
        privacy: r.get(8)?,
        room_type: r.get(9)?,
        addin_id: r.get(10)?,
        addin: r.get(11)?,
        content_bytes: r.get(12)?,
        members: Vec::new(),
        managers: Vec::new(),
        presenters: Vec::new(),
    })
}

fn json_ids(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

impl RoomRow {
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
    pub fn rooms(&self, pool: &PoolTarget, q: &RoomQuery) -> rusqlite::Result<Vec<RoomRow>> {
        let s = &pool.schema;
        let mut sql = format!(
            "{SELECT} FROM {s}.rooms r JOIN {s}.categories c ON c.id = r.category_id
             LEFT JOIN {s}.addins a ON a.id = r.addin_id WHERE r.pool = ?1"
        );
        let mut args: Vec<SqlValue> = vec![SqlValue::Text(pool.fqdn.clone())];
        let mut cond = |sql_part: &str, v: SqlValue| {
            args.push(v);
            sql.push_str(&sql_part.replace('?', &format!("?{}", args.len())));
        };
        if let Some(n) = &q.name {
            cond(" AND r.name = ?", SqlValue::Text(n.clone()));
        }
        if let Some((low, high)) = q.name_prefix.as_deref().and_then(nocase_prefix_range) {
            // The column is NOCASE, so these compare folded and run on the (pool, name) index.
            cond(" AND r.name >= ?", SqlValue::Text(low));
            if let Some(high) = high {
                cond(" AND r.name < ?", SqlValue::Text(high));
            }
        }
        if let Some(ids) = &q.category_ids {
            cond(" AND r.category_id IN (SELECT value FROM json_each(?))", SqlValue::Text(json_ids(ids)));
        }
        if let Some(ids) = &q.ids {
            cond(" AND r.id IN (SELECT value FROM json_each(?))", SqlValue::Text(json_ids(ids)));
        }
        if let Some(d) = q.disabled {
            cond(" AND r.disabled = ?", SqlValue::Integer(d as i64));
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
        sql.push_str(" ORDER BY r.name COLLATE NOCASE");
        self.conn.prepare_cached(&sql)?.query_map(params_from_iter(args), room)?.collect()
    }

    /// Fill in the lists of `rooms` (all of one pool): per room for a few, in one pass for many.
    pub fn load_room_lists(&self, pool: &PoolTarget, rooms: &mut [RoomRow]) -> rusqlite::Result<()> {
        let s = &pool.schema;
        if rooms.len() <= 256 {
            let mut stmt = self
                .conn
                .prepare_cached(&format!("SELECT list, entry FROM {s}.room_entries WHERE room_id = ?1 ORDER BY ord"))?;
            for r in rooms.iter_mut() {
                let entries = stmt.query_map([r.id], |row| Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?)))?;
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
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT e.room_id, e.list, e.entry FROM {s}.room_entries e JOIN {s}.rooms r ON r.id = e.room_id
             WHERE r.pool = ?1 ORDER BY e.ord"
        ))?;
        let entries = stmt.query_map([&pool.fqdn], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?)))?;
        for e in entries {
            let (id, list, entry) = e?;
            if let Some(l) = index.get(&id).and_then(|&i| rooms[i].list_mut(&list)) {
                l.push(entry);
            }
        }
        Ok(())
    }

    /// One room by name, with its lists.
    pub fn room_by_name(&self, pool: &PoolTarget, name: &str) -> rusqlite::Result<Option<RoomRow>> {
        let q = RoomQuery { name: Some(name.to_string()), ..Default::default() };
        let mut found = self.rooms(pool, &q)?;
        self.load_room_lists(pool, &mut found)?;
        Ok(found.pop())
    }

    /// Ids of the rooms of a pool whose `list` names any of `keys`.
    pub fn rooms_listing(&self, pool: &PoolTarget, list: &str, keys: &[String]) -> rusqlite::Result<Vec<i64>> {
        let s = &pool.schema;
        let keys = serde_json::to_string(keys).unwrap_or_else(|_| "[]".into());
        self.conn
            .prepare_cached(&format!(
                "SELECT DISTINCT e.room_id FROM {s}.room_entries e JOIN {s}.rooms r ON r.id = e.room_id
                 WHERE e.entry IN (SELECT value FROM json_each(?1)) AND e.list = ?2 AND r.pool = ?3"
            ))?
            .query_map(params![keys, list, pool.fqdn], |r| r.get(0))?
            .collect()
    }

    /// Ids of the rooms in these categories whose Members list is empty (they inherit the scope).
    pub fn rooms_inheriting_members(&self, pool: &PoolTarget, category_ids: &[i64]) -> rusqlite::Result<Vec<i64>> {
        let s = &pool.schema;
        self.conn
            .prepare_cached(&format!(
                "SELECT r.id FROM {s}.rooms r WHERE r.category_id IN (SELECT value FROM json_each(?1))
                 AND NOT EXISTS (SELECT 1 FROM {s}.room_entries e WHERE e.room_id = r.id AND e.list = ?2)"
            ))?
            .query_map(params![json_ids(category_ids), MEMBERS], |r| r.get(0))?
            .collect()
    }

    /// Insert a room (its id must come from `new_id`) with its lists.
    pub fn insert_room(&self, pool: &PoolTarget, r: &RoomRow) -> rusqlite::Result<()> {
        self.pool_write(
            pool,
            "INSERT INTO {db}.rooms(id, pool, name, description, category_id, disabled, invitations, privacy,
             type, addin_id, content_bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0)",
            params![
                r.id,
                pool.fqdn,
                r.name,
                r.description,
                r.category_id,
                r.disabled,
                r.invitations,
                r.privacy,
                r.room_type,
                r.addin_id
            ],
        )?;
        for list in [MEMBERS, MANAGERS, PRESENTERS] {
            self.insert_room_list(pool, r.id, list, r.list(list))?;
        }
        Ok(())
    }

    /// Write a room's properties, and those of its lists that differ from `before`.
    pub fn update_room(&self, pool: &PoolTarget, before: &RoomRow, r: &RoomRow) -> rusqlite::Result<()> {
        // Only the columns that changed: SQLite rewrites the index entries of every column a SET
        // names, changed or not, and a pipeline disabling 100,000 rooms should touch no index.
        let columns: [(&str, bool, &dyn ToSql); 8] = [
            ("name", before.name != r.name, &r.name),
            ("description", before.description != r.description, &r.description),
            ("category_id", before.category_id != r.category_id, &r.category_id),
            ("disabled", before.disabled != r.disabled, &r.disabled),
            ("invitations", before.invitations != r.invitations, &r.invitations),
            ("privacy", before.privacy != r.privacy, &r.privacy),
            ("type", before.room_type != r.room_type, &r.room_type),
            ("addin_id", before.addin_id != r.addin_id, &r.addin_id),
        ];
        let mut sets = Vec::new();
        let mut values: Vec<&dyn ToSql> = vec![&r.id];
        for (column, changed, value) in columns {
            if changed {
                values.push(value);
                sets.push(format!("{column} = ?{}", values.len()));
            }
        }
        if !sets.is_empty() {
            self.pool_write(pool, &format!("UPDATE {{db}}.rooms SET {} WHERE id = ?1", sets.join(", ")), &values)?;
        }
        for list in [MEMBERS, MANAGERS, PRESENTERS] {
            if before.list(list) != r.list(list) {
                self.replace_room_list(pool, r.id, list, r.list(list))?;
            }
        }
        Ok(())
    }

    fn replace_room_list(&self, pool: &PoolTarget, id: i64, list: &str, entries: &[String]) -> rusqlite::Result<()> {
        self.pool_write(pool, "DELETE FROM {db}.room_entries WHERE room_id = ?1 AND list = ?2", params![id, list])?;
        self.insert_room_list(pool, id, list, entries)
    }

    fn insert_room_list(&self, pool: &PoolTarget, id: i64, list: &str, entries: &[String]) -> rusqlite::Result<()> {
        for (i, e) in entries.iter().enumerate() {
            self.pool_write(
                pool,
                "INSERT INTO {db}.room_entries(room_id, list, entry, ord) VALUES (?1, ?2, ?3, ?4)",
                params![id, list, e, i as i64],
            )?;
        }
        Ok(())
    }

    /// Disable a room (Export -DisableExportedNodes), every other property kept.
    pub fn disable_room(&self, pool: &PoolTarget, id: i64) -> rusqlite::Result<()> {
        self.pool_write(pool, "UPDATE {db}.rooms SET disabled = 1 WHERE id = ?1", params![id]).map(|_| ())
    }

    /// Delete a room; its lists and messages go with it (foreign-key cascade).
    pub fn delete_room(&self, pool: &PoolTarget, id: i64) -> rusqlite::Result<()> {
        self.pool_write(pool, "DELETE FROM {db}.rooms WHERE id = ?1", params![id]).map(|_| ())
    }

    /// Does a room of this name exist in the pool (other than `except`)?
    pub fn room_name_taken(&self, pool: &PoolTarget, name: &str, except: Option<i64>) -> rusqlite::Result<bool> {
        Ok(self
            .conn
            .prepare_cached(&format!("SELECT id FROM {}.rooms WHERE pool = ?1 AND name = ?2", pool.schema))?
            .query_row(params![pool.fqdn, name], |r| r.get::<_, i64>(0))
            .optional()?
            .is_some_and(|id| Some(id) != except))
    }
}

#[cfg(test)]
mod tests {
    use super::nocase_prefix_range;
    use crate::values::wildcard::Wildcard;

    #[test]
    fn prefix_range_is_cut_where_nocase_and_case_folding_disagree() {
        assert_eq!(nocase_prefix_range("Room42-"), Some(("room42-".into(), Some("room42.".into()))));
        assert_eq!(nocase_prefix_range("Café"), Some(("caf".into(), Some("cag".into()))));
        assert_eq!(nocase_prefix_range("Desk"), Some(("de".into(), Some("df".into()))));
        assert_eq!(nocase_prefix_range("a\u{7f}"), Some(("a\u{7f}".into(), None)));
        assert_eq!(nocase_prefix_range("Sales"), None);
        assert_eq!(nocase_prefix_range(""), None);
    }

    /// The range must hold every name the wildcard matches (it may hold more).
    #[test]
    fn prefix_range_holds_every_wildcard_match() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t(name TEXT COLLATE NOCASE PRIMARY KEY)").unwrap();
        let names = [
            "Room42-1",
            "ROOM42-x",
            "room42-",
            "Room42",
            "Room420",
            "Room43-",
            "Room42.",
            "Room42[",
            "Ro@m",
            "RoAm",
            "ro`m",
            "Kappa",
            "\u{212a}appa",
            "Zed",
            "room42-\u{e9}",
        ];
        for n in names {
            conn.execute("INSERT INTO t VALUES (?1)", [n]).unwrap();
        }
        for pattern in ["Room42-*", "ro@*", "Ro?m", "ROOM4*", "r*", "kap*", "[rz]*", "Room42-\u{c9}"] {
            let w = Wildcard::new(pattern).unwrap();
            let expected: Vec<&str> = names.iter().copied().filter(|n| w.is_match(n)).collect();
            let Some((low, high)) = nocase_prefix_range(&w.literal_prefix()) else {
                continue;
            };
            let in_range: Vec<String> = conn
                .prepare("SELECT name FROM t WHERE name >= ?1 AND (?2 IS NULL OR name < ?2)")
                .unwrap()
                .query_map(rusqlite::params![low, high], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for e in expected {
                assert!(in_range.iter().any(|n| n == e), "{pattern}: {e} outside [{low}, {high:?})");
            }
        }
    }
}
