//! Where a statement on pool data runs (docs/design/postgres-port.md §1, "`{db}` placeholders").
//!
//! Statements are written once in the neutral spelling: a table of a pool database is `{db}.t`.
//! [`route`] is the one place that decides, for a neutral text and a [`Target`], what runs and
//! on which connection. On SQLite every pool file is attached to the one store connection, so
//! the answer is that connection with `{db}` spelt as the copy's attached schema alias (`main`
//! for the central database). On PostgreSQL each copy is a database of its own: the answer is
//! the copy's session (`Store::copy_session`) with `{db}.` dropped. No other module puts a schema name into SQL
//! (`tests::no_statement_outside_the_router_names_a_schema` checks the sources).

use std::borrow::Cow;

use super::Store;
use super::db::{self, Db, Params, Row, Statement};

/// A database a statement runs on: the central one, or one copy of a pool's data, named as the
/// store names copies (`PoolTarget::schema`/`mirror`, `Store::pool_schema`: the alias the copy's
/// file is attached under on SQLite).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Central,
    Copy(&'a str),
}

impl Target<'_> {
    /// The schema `{db}` stands for on a SQLite connection.
    fn sqlite_schema(&self) -> &str {
        match self {
            Target::Central => "main",
            Target::Copy(alias) => alias,
        }
    }
}

/// A routed statement: the connection it runs on and its text there.
pub struct Routed<'c, 's> {
    db: &'c Db,
    sql: Cow<'s, str>,
    /// Why the copy's session cannot run it (PostgreSQL: no session for the copy, or its part
    /// of the store's transaction could not be opened): every use returns this, and `db` is
    /// never used. Always `None` on SQLite.
    failed: Option<Box<db::DbError>>,
}

/// `sql` (neutral: `{db}.table`) for `target`, on `db`, the connection every copy is attached to
/// (the store's; a repair's own for the file it builds).
#[inline]
pub fn route<'c, 's>(db: &'c Db, target: Target<'_>, sql: &'s str) -> Routed<'c, 's> {
    #[cfg(debug_assertions)]
    let record = |routed: Routed<'c, 's>| {
        let kind = match target {
            Target::Central => db::inventory::Kind::Central,
            Target::Copy(_) => db::inventory::Kind::Pool,
        };
        db::inventory::routed(kind, sql, &routed.sql);
        routed
    };
    #[cfg(not(debug_assertions))]
    let record = |routed| routed;
    record(match db {
        // The attached alias is a plain identifier the store made up (`pdbN`, `main`, `src`),
        // never input, so it is spelt into the text rather than bound. A text without `{db}`
        // (a central statement) is not copied.
        Db::Sqlite(_) => Routed { db, sql: spell(sql, target.sqlite_schema()), failed: None },
        // A PostgreSQL session is one database: the statement runs there with `{db}.` dropped.
        // `db` is the target's session: `Store::route` picks the copy's.
        Db::Pg(_) => Routed { db, sql: spell_dropped(sql), failed: None },
    })
}

/// `sql` with every `{db}.` removed (a PostgreSQL session is the database itself).
fn spell_dropped(sql: &str) -> Cow<'_, str> {
    if sql.contains("{db}.") { Cow::Owned(sql.replace("{db}.", "")) } else { Cow::Borrowed(sql) }
}

/// `sql` with every `{db}` replaced by `schema`, in one pass, and not copied when it has none.
/// Every pool write runs this once per copy: `contains` then `str::replace` (two substring
/// searches) cost room creation 1.4 % more instructions than `str::replace` alone did.
fn spell<'s>(sql: &'s str, schema: &str) -> Cow<'s, str> {
    const PLACEHOLDER: &[u8] = b"{db}";
    let bytes = sql.as_bytes();
    let mut spelt: Option<String> = None;
    let (mut copied, mut from) = (0, 0);
    // `find(char)` runs core's word-at-a-time memchr; a byte-by-byte loop here still cost more
    // than `str::replace` (+0.13 % on room creation), this costs less (-0.13 %).
    while let Some(offset) = sql[from..].find('{') {
        let at = from + offset;
        if bytes[at..].starts_with(PLACEHOLDER) {
            let out = spelt.get_or_insert_with(|| String::with_capacity(sql.len() + 4 * schema.len()));
            // `at` and `at + 4` are at ASCII bytes, so both slices are on character boundaries.
            out.push_str(&sql[copied..at]);
            out.push_str(schema);
            copied = at + PLACEHOLDER.len();
            from = copied;
        } else {
            from = at + 1;
        }
    }
    match spelt {
        None => Cow::Borrowed(sql),
        Some(mut out) => {
            out.push_str(&sql[copied..]);
            Cow::Owned(out)
        }
    }
}

/// A statement that reads one copy and writes another (`{from}.t`, `{to}.t`: fail-back and
/// repair refill a copy from the other). SQLite runs it as one statement on the connection both
/// are attached to. PostgreSQL has no statement spanning two databases: there `Store::copy_pool`
/// streams instead, `COPY (SELECT …) TO STDOUT` on the source's session into `COPY t FROM STDIN`
/// on the target's, table by table in `COPY_ORDER` (`pg::pool_copy`).
pub fn route_across<'c>(db: &'c Db, from: Target<'_>, to: Target<'_>, sql: &str) -> db::Result<Routed<'c, 'static>> {
    match db {
        Db::Sqlite(_) => {
            let spelt = sql.replace("{from}", from.sqlite_schema()).replace("{to}", to.sqlite_schema());
            #[cfg(debug_assertions)]
            db::inventory::routed(db::inventory::Kind::Across, sql, &spelt);
            Ok(Routed { db, sql: Cow::Owned(spelt), failed: None })
        }
        Db::Pg(_) => Err(db::DbError::other(
            "a statement spanning two databases cannot run on PostgreSQL (a copy there is streamed with COPY)",
        )),
    }
}

impl<'c> Routed<'c, '_> {
    /// The text that runs.
    pub fn sql(&self) -> &str {
        &self.sql
    }

    /// The connection to run on, or why there is none.
    #[inline]
    fn db(&self) -> db::Result<&'c Db> {
        match &self.failed {
            None => Ok(self.db),
            Some(e) => Err(e.again()),
        }
    }

    /// From the connection's statement cache, keyed by the routed text: a (statement, copy)
    /// pair always routes to the same text, so it is prepared once per connection.
    #[inline]
    pub fn prepare_cached(&self) -> db::Result<Statement<'c>> {
        self.db()?.prepare_cached(&self.sql)
    }

    pub fn prepare(&self) -> db::Result<Statement<'c>> {
        self.db()?.prepare(&self.sql)
    }

    /// Run once, prepared afresh.
    pub fn execute<P: Params>(&self, params: P) -> db::Result<usize> {
        self.db()?.execute(&self.sql, params)
    }

    /// Several statements without parameters (pragmas).
    pub fn execute_batch(&self) -> db::Result<()> {
        self.db()?.execute_batch(&self.sql)
    }

    pub fn query_row<T, P, F>(&self, params: P, f: F) -> db::Result<T>
    where
        P: Params,
        F: FnOnce(&Row<'_>) -> db::Result<T>,
    {
        self.db()?.query_row(&self.sql, params, f)
    }
}

impl Store {
    /// `sql` routed to `target` (see [`route`]): on SQLite the store's connection, every copy
    /// attached to it; on PostgreSQL the central session, or the copy's own session (joining
    /// the store's open transaction on first use, see `Store::copy_session`).
    #[inline]
    pub fn route<'s>(&self, target: Target<'_>, sql: &'s str) -> Routed<'_, 's> {
        match target {
            Target::Copy(copy) if self.is_postgres() => match self.copy_session(copy) {
                Ok(db) => route(db, target, sql),
                Err(e) => Routed { db: self.db(), sql: Cow::Borrowed(sql), failed: Some(Box::new(e)) },
            },
            _ => route(self.db(), target, sql),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::pool_data::tests::{POOL, mirrored_pool};

    /// What each file holds of the markers the test wrote, read through a connection of its own
    /// (not the store's, whose attachments are what is under test).
    fn markers(path: &std::path::Path) -> Vec<String> {
        let file = Db::open_sqlite_existing(path).unwrap();
        file.query_map("SELECT pool FROM pool_sync WHERE pool LIKE 'marker-%' ORDER BY pool", (), |r| r.get(0)).unwrap()
    }

    /// A write routed to one copy lands in that copy's file and in no other, and one routed to
    /// the central database in the central file; a statement across copies reads the one and
    /// writes the other.
    #[test]
    fn a_statement_reaches_the_copy_it_is_routed_to_and_no_other() {
        let (dir, store) = mirrored_pool();
        let primary = store.pool_schema("sql01").unwrap();
        let backup = store.pool_schema("sql02").unwrap();
        let insert = "INSERT INTO {db}.pool_sync(pool, seq, generation) VALUES (?1, 0, 1)";
        store.begin(true).unwrap();
        store.route(Target::Copy(&backup), insert).execute(["marker-backup"]).unwrap();
        store.route(Target::Copy(&primary), insert).prepare_cached().unwrap().execute(["marker-primary"]).unwrap();
        store
            .route(Target::Central, "INSERT INTO {db}.meta(key, value) VALUES ('marker', 'central')")
            .execute(())
            .unwrap();
        store.commit().unwrap();
        assert_eq!(markers(&dir.path().join("sql01-rtc.db")), ["marker-primary"]);
        assert_eq!(markers(&dir.path().join("sql02-rtc.db")), ["marker-backup"]);
        let central = Db::open_sqlite_existing(&dir.path().join("pchat.db")).unwrap();
        let meta: String = central.query_row("SELECT value FROM meta WHERE key = 'marker'", (), |r| r.get(0)).unwrap();
        assert_eq!(meta, "central");

        store.begin(true).unwrap();
        route_across(
            store.db(),
            Target::Copy(&backup),
            Target::Copy(&primary),
            "INSERT INTO {to}.pool_sync SELECT * FROM {from}.pool_sync WHERE pool = 'marker-backup'",
        )
        .unwrap()
        .execute(())
        .unwrap();
        store.commit().unwrap();
        assert_eq!(markers(&dir.path().join("sql01-rtc.db")), ["marker-backup", "marker-primary"]);
        assert_eq!(markers(&dir.path().join("sql02-rtc.db")), ["marker-backup"]);
        // The pool's own mark row is untouched by any of it.
        assert_eq!(store.copy_mark(&backup, POOL).unwrap(), store.pool_mark(POOL).unwrap());
    }

    /// A central statement (no `{db}`) is run as written, without a copy of its text.
    #[test]
    fn a_statement_without_a_pool_table_is_not_copied() {
        let db = Db::open_sqlite_memory().unwrap();
        assert!(matches!(route(&db, Target::Central, "SELECT 1").sql, Cow::Borrowed("SELECT 1")));
        assert_eq!(route(&db, Target::Central, "SELECT x FROM {db}.t").sql(), "SELECT x FROM main.t");
        assert_eq!(route(&db, Target::Copy("pdb2"), "SELECT x FROM {db}.t").sql(), "SELECT x FROM pdb2.t");
        // Every placeholder, at either end, and nothing that only resembles one.
        assert_eq!(
            spell("{db}.a JOIN {db}.b ON '{' = '{d' AND '{db' = 'é{db}'", "pdb10"),
            "pdb10.a JOIN pdb10.b ON '{' = '{d' AND '{db' = 'épdb10'"
        );
        assert_eq!(spell("{{db}", "s"), "{s");
        assert_eq!(spell("x{db}", "s"), "xs");
    }

    /// The names a schema prefix can qualify: every table of the central and pool schemas, and
    /// the per-schema pragmas the store sets or reads.
    fn qualified_names() -> std::collections::HashSet<String> {
        let mut names: std::collections::HashSet<String> = [
            "synchronous",
            "cache_size",
            "mmap_size",
            "journal_size_limit",
            "journal_mode",
            "quick_check",
            "integrity_check",
            "data_version",
            "user_version",
            "table_info",
        ]
        .map(String::from)
        .into();
        for steps in [crate::store::schema::CENTRAL, crate::store::schema::POOL] {
            let db = Db::open_sqlite_memory().unwrap();
            for step in steps {
                db.execute_batch(step).unwrap();
            }
            names
                .extend(db.query_map("SELECT name FROM sqlite_master WHERE type = 'table'", (), |r| r.get(0)).unwrap());
        }
        names
    }

    /// Where `source` puts a schema name into SQL itself: `{x}.table` (or `{}.table`) in a
    /// string, where only `{db}` outside a format string is the neutral spelling (in a format
    /// string `{db}` interpolates, and the neutral spelling is `{{db}}`), or a `"{db}"`
    /// replacement of its own.
    fn schema_spelt(source: &str, names: &std::collections::HashSet<String>) -> Vec<String> {
        let qualified = regex::Regex::new(r"\{([A-Za-z_][A-Za-z0-9_]*)?(?::[^{}]*)?\}\.([A-Za-z_]+)").unwrap();
        let mut found = Vec::new();
        for m in qualified.captures_iter(source) {
            let whole = m.get(0).unwrap();
            if source[..whole.start()].ends_with('{') || !names.contains(&m[2]) {
                continue;
            }
            let placeholder = m.get(1).is_some_and(|p| p.as_str() == "db");
            // The literal's opening quote, and what comes before it: `format!(` and the like.
            let in_format =
                source[..whole.start()].rfind('"').is_some_and(|quote| source[..quote].trim_end().ends_with("!("));
            if !placeholder || in_format {
                found.push(whole.as_str().to_string());
            }
        }
        if source.contains("(\"{db}\"") {
            found.push("a replacement of \"{db}\"".into());
        }
        found
    }

    #[test]
    fn the_source_check_tells_spelt_schemas_from_neutral_text() {
        let names = qualified_names();
        let bad = [
            r#"db.prepare_cached(&format!("SELECT 1 FROM {schema}.rooms WHERE id = ?1"))"#,
            r#"format!("SELECT count(*) FROM {}.messages", pool.schema)"#,
            r#"format!(
                "DELETE FROM {db}.pool_sync WHERE 0")"#,
            r#"execute_batch(&format!("PRAGMA {alias}.mmap_size = 0"))"#,
            r#"c.prepare(&sql.replace("{db}", schema))"#,
        ];
        for text in bad {
            assert!(!schema_spelt(text, &names).is_empty(), "not caught: {text}");
        }
        let good = [
            r#"self.route(copy, "SELECT 1 FROM {db}.rooms WHERE id = ?1")"#,
            r#"format!("DELETE FROM {{db}}.{table} WHERE pool = ?1")"#,
            r#"format!("INSERT INTO {{to}}.rooms SELECT * FROM {{from}}.rooms")"#,
            r#"format!("SELECT {alias}.id, {j}.name FROM {{db}}.rooms {alias}")"#,
            r#"format!("{}.rebuilding", path.display())"#,
        ];
        for text in good {
            assert_eq!(schema_spelt(text, &names), Vec::<String>::new(), "{text}");
        }
    }

    /// No statement outside this module spells a schema: every pool table is reached through
    /// `route` (PostgreSQL's code in `store/pg/` has no attached schemas and is not scanned).
    #[test]
    fn no_statement_outside_the_router_names_a_schema() {
        let names = qualified_names();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut pending = vec![root.clone()];
        let mut offences = Vec::new();
        let mut scanned = 0;
        while let Some(dir) = pending.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                let relative = path.strip_prefix(&root).unwrap().to_string_lossy().replace('\\', "/");
                if path.is_dir() {
                    if relative != "store/pg" {
                        pending.push(path);
                    }
                } else if path.extension().is_some_and(|e| e == "rs") && relative != "store/route.rs" {
                    scanned += 1;
                    let source = std::fs::read_to_string(&path).unwrap();
                    offences.extend(schema_spelt(&source, &names).into_iter().map(|o| format!("{relative}: {o}")));
                }
            }
        }
        assert!(scanned > 50, "only {scanned} files under {}", root.display());
        assert!(offences.is_empty(), "schema names spelt outside store::route:\n{}", offences.join("\n"));
    }
}
