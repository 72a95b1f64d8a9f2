//! Add-ins (a named URL per pool) in pool databases. Rooms reference add-ins by id, so a rename
//! carries them along and a deletion clears their Addin (ON DELETE SET NULL).

use crate::store::db::{self, OptionalExtension, params};
use std::sync::LazyLock;

use super::described::{Kind, ScalarRow, Statements};
use super::pools::PoolTarget;
use super::route::Target;
use super::{Store, dialect};
use crate::catalog::descriptor::{ADDIN, Cell, Descriptor};

/// Marks [`ADDIN`]'s rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addin {}

impl Kind for Addin {
    const DESCRIPTOR: &'static Descriptor = &ADDIN;
}

/// An add-in: its stored properties as cells of [`ADDIN`], read through the accessors.
pub type AddinRow = ScalarRow<Addin>;

const NAME: usize = ADDIN.cell("Name");
const URL: usize = ADDIN.cell("Url");
const POOL: usize = ADDIN.cell("PersistentChatPoolFqdn");

/// The statements derived from [`ADDIN`], built once.
static SQL: LazyLock<Statements> = LazyLock::new(|| Statements::derive(&ADDIN, "a"));

impl AddinRow {
    pub fn new(id: i64, pool: &str, name: String, url: String) -> AddinRow {
        let mut a = AddinRow::initial(id);
        a.cells[POOL] = Cell::Text(pool.to_string());
        a.cells[NAME] = Cell::Text(name);
        a.cells[URL] = Cell::Text(url);
        a
    }

    pub fn name(&self) -> &str {
        self.text(NAME).unwrap_or_default()
    }
    pub fn url(&self) -> &str {
        self.text(URL).unwrap_or_default()
    }
    pub fn pool(&self) -> &str {
        self.text(POOL).unwrap_or_default()
    }

    pub fn set_name(&mut self, name: String) {
        self.cells[NAME] = Cell::Text(name);
    }
    pub fn set_url(&mut self, url: String) {
        self.cells[URL] = Cell::Text(url);
    }
}

impl Store {
    /// Every add-in of a pool, by name.
    pub fn addins(&self, pool: &PoolTarget) -> db::Result<Vec<AddinRow>> {
        let sql = format!(
            "{} WHERE a.pool = {} COLLATE NOCASE ORDER BY {}",
            SQL.select,
            dialect::param(1),
            dialect::order_nocase("a.name")
        );
        self.route(Target::Copy(&pool.schema), &sql)
            .prepare_cached()?
            .query_map([&pool.fqdn], AddinRow::read)?
            .collect()
    }

    pub fn addin_by_name(&self, pool: &PoolTarget, name: &str) -> db::Result<Option<AddinRow>> {
        let sql = format!(
            "{} WHERE a.pool = {} COLLATE NOCASE AND a.name = {} COLLATE NOCASE",
            SQL.select,
            dialect::param(1),
            dialect::param(2)
        );
        self.route(Target::Copy(&pool.schema), &sql)
            .prepare_cached()?
            .query_row(params![pool.fqdn, name], AddinRow::read)
            .optional()
    }

    /// Insert an add-in (its id must come from `new_id`).
    pub fn insert_addin(&self, pool: &PoolTarget, a: &AddinRow) -> db::Result<()> {
        let args = SQL.insert_args(&ADDIN, &a.id, &a.cells);
        self.pool_write(pool, &SQL.insert, &args).map(|_| ())
    }

    /// Write the properties of an add-in that differ from `before`.
    pub fn update_addin(&self, pool: &PoolTarget, before: &AddinRow, a: &AddinRow) -> db::Result<()> {
        if let Some((sql, args)) = SQL.update(&ADDIN, &a.id, &before.cells, &a.cells) {
            self.pool_write(pool, &sql, &args)?;
        }
        Ok(())
    }

    pub fn addin_room_count(&self, pool: &PoolTarget, id: i64) -> db::Result<i64> {
        self.route(Target::Copy(&pool.schema), "SELECT count(*) FROM {db}.rooms WHERE addin_id = ?1")
            .prepare_cached()?
            .query_row([id], |r| r.get(0))
    }

    pub fn delete_addin(&self, pool: &PoolTarget, id: i64) -> db::Result<()> {
        self.pool_write(pool, "DELETE FROM {db}.addins WHERE id = ?1", params![id]).map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pool_data::tests::{POOL as FQDN, mirrored_pool};

    /// What Get, New and Set of add-ins run, on both copies of the pool's data.
    #[test]
    fn an_addin_is_written_to_both_copies_and_read_back() {
        let (_dir, store) = mirrored_pool();
        let pool = store.pool(FQDN).unwrap().unwrap();
        store.begin(true).unwrap();
        let t = store.pool_target(&pool).unwrap();
        let a = AddinRow::new(store.new_id(), FQDN, "Budget".into(), "https://a.contoso.com".into());
        store.insert_addin(&t, &a).unwrap();
        let mut b = a.clone();
        b.set_url("https://b.contoso.com".into());
        store.update_addin(&t, &a, &b).unwrap();
        store.commit().unwrap();
        assert_eq!(store.addin_by_name(&t, "BUDGET").unwrap(), Some(b.clone()));
        assert_eq!(store.addins(&t).unwrap(), [b.clone()]);
        assert_eq!((b.name(), b.pool()), ("Budget", FQDN));
        for copy in [t.schema.as_str(), t.mirror.as_deref().unwrap()] {
            let url: String =
                store.route(Target::Copy(copy), "SELECT url FROM {db}.addins").query_row((), |r| r.get(0)).unwrap();
            assert_eq!(url, "https://b.contoso.com", "{copy}");
        }
    }
}
