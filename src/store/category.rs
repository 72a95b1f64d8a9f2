//! Categories and their AllowedMembers / DeniedMembers / Creators lists, in pool databases.

use rusqlite::{OptionalExtension, Row, params};

use super::Store;
use super::pools::PoolTarget;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CategoryRow {
    pub id: i64,
    pub pool: String,
    pub name: String,
    pub description: Option<String>,
    pub invites: bool,
    pub file_upload: bool,
    pub chat_history: bool,
    pub allowed: Vec<String>,
    pub denied: Vec<String>,
    pub creators: Vec<String>,
}

/// The list names stored in `category_entries.list`.
pub const ALLOWED: &str = "Allowed";
pub const DENIED: &str = "Denied";
pub const CREATORS: &str = "Creators";

const COLUMNS: &str = "id, pool, name, description, invites, file_upload, chat_history";

fn category(r: &Row<'_>) -> rusqlite::Result<CategoryRow> {
    Ok(CategoryRow {
        id: r.get(0)?,
        pool: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        invites: r.get(4)?,
        file_upload: r.get(5)?,
        chat_history: r.get(6)?,
        allowed: Vec::new(),
        denied: Vec::new(),
        creators: Vec::new(),
    })
}

impl CategoryRow {
    fn list_mut(&mut self, list: &str) -> Option<&mut Vec<String>> {
        match list {
            ALLOWED => Some(&mut self.allowed),
            DENIED => Some(&mut self.denied),
            CREATORS => Some(&mut self.creators),
            _ => None,
        }
    }
}

impl Store {
    /// Every category of a pool, by name, with its lists.
    pub fn categories(&self, pool: &PoolTarget) -> rusqlite::Result<Vec<CategoryRow>> {
        let s = &pool.schema;
        let mut rows: Vec<CategoryRow> = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM {s}.categories WHERE pool = ?1 ORDER BY name COLLATE NOCASE"
            ))?
            .query_map([&pool.fqdn], category)?
            .collect::<rusqlite::Result<_>>()?;
        let index: std::collections::HashMap<i64, usize> = rows.iter().enumerate().map(|(i, c)| (c.id, i)).collect();
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT e.category_id, e.list, e.entry FROM {s}.category_entries e
             JOIN {s}.categories c ON c.id = e.category_id WHERE c.pool = ?1 ORDER BY e.ord"
        ))?;
        let entries = stmt.query_map([&pool.fqdn], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get(2)?)))?;
        for e in entries {
            let (id, list, entry) = e?;
            if let Some(l) = index.get(&id).and_then(|&i| rows[i].list_mut(&list)) {
                l.push(entry);
            }
        }
        Ok(rows)
    }

    pub fn category_by_name(&self, pool: &PoolTarget, name: &str) -> rusqlite::Result<Option<CategoryRow>> {
        let s = &pool.schema;
        let Some(mut c) = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM {s}.categories WHERE pool = ?1 AND name = ?2"))?
            .query_row(params![pool.fqdn, name], category)
            .optional()?
        else {
            return Ok(None);
        };
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT list, entry FROM {s}.category_entries WHERE category_id = ?1 ORDER BY ord"
        ))?;
        for e in stmt.query_map([c.id], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
            let (list, entry) = e?;
            if let Some(l) = c.list_mut(&list) {
                l.push(entry);
            }
        }
        Ok(Some(c))
    }

    pub fn category_name(&self, pool: &PoolTarget, id: i64) -> rusqlite::Result<Option<String>> {
        self.conn
            .prepare_cached(&format!("SELECT name FROM {}.categories WHERE id = ?1", pool.schema))?
            .query_row([id], |r| r.get(0))
            .optional()
    }

    /// Insert a category (its id must come from `new_id`) with its lists.
    pub fn insert_category(&self, pool: &PoolTarget, c: &CategoryRow) -> rusqlite::Result<()> {
        self.pool_write(
            pool,
            "INSERT INTO {db}.categories(id, pool, name, description, invites, file_upload, chat_history)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![c.id, pool.fqdn, c.name, c.description, c.invites, c.file_upload, c.chat_history],
        )?;
        for (list, entries) in [(ALLOWED, &c.allowed), (DENIED, &c.denied), (CREATORS, &c.creators)] {
            self.replace_category_list(pool, c.id, list, entries)?;
        }
        Ok(())
    }

    /// Write a category's properties and lists.
    pub fn update_category(&self, pool: &PoolTarget, c: &CategoryRow) -> rusqlite::Result<()> {
        self.pool_write(
            pool,
            "UPDATE {db}.categories SET name = ?2, description = ?3, invites = ?4, file_upload = ?5,
             chat_history = ?6 WHERE id = ?1",
            params![c.id, c.name, c.description, c.invites, c.file_upload, c.chat_history],
        )?;
        for (list, entries) in [(ALLOWED, &c.allowed), (DENIED, &c.denied), (CREATORS, &c.creators)] {
            self.replace_category_list(pool, c.id, list, entries)?;
        }
        Ok(())
    }

    fn replace_category_list(
        &self,
        pool: &PoolTarget,
        id: i64,
        list: &str,
        entries: &[String],
    ) -> rusqlite::Result<()> {
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

    pub fn category_room_count(&self, pool: &PoolTarget, id: i64) -> rusqlite::Result<i64> {
        self.conn
            .prepare_cached(&format!("SELECT count(*) FROM {}.rooms WHERE category_id = ?1", pool.schema))?
            .query_row([id], |r| r.get(0))
    }

    pub fn delete_category(&self, pool: &PoolTarget, id: i64) -> rusqlite::Result<()> {
        self.pool_write(pool, "DELETE FROM {db}.categories WHERE id = ?1", params![id]).map(|_| ())
    }
}
