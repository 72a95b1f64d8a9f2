//! The store's schema on a PostgreSQL database: the baseline (`schema::baseline`, the schema the
//! released SQLite history leaves, in one step) and every later step, numbered as on SQLite
//! (docs/design/postgres-port.md, "One schema, one migration history").
//!
//! One transaction under a transaction-level advisory lock: a failed step leaves the database as
//! it was (PostgreSQL's DDL is transactional), and of two processes opening a new database at
//! once one migrates while the other waits and then finds nothing to do.

use anyhow::Context;
use postgres::{Client, GenericClient, IsolationLevel};

use crate::store::dialect::{self, Dialect};
use crate::store::schema::{self, Database, Step};

/// The advisory lock key the migration holds ("pchatsch"). Advisory locks are per database, so
/// the migrations of different databases on one server do not wait for each other; the 2PC
/// coordinator's keys are 64 bits of random UUIDs.
pub(crate) const LOCK: i64 = 0x7063_6861_7473_6368;

/// Tables a database may hold before its schema: the 2PC decision table, which the coordinator
/// creates on the central database when it opens (twophase.rs).
const PRESENT_BEFORE: &[&str] = &["pchat_twophase_decisions", super::copy_mark::TABLE];

/// What a migration did: the database was at version `from` and is now at `to` (equal: nothing
/// to do).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    pub from: usize,
    pub to: usize,
}

/// One step as PostgreSQL runs it: after it the database is at `version`. No SQL: a step that
/// only SQLite runs.
struct PgStep {
    version: usize,
    sql: Option<String>,
}

/// The name the version row gives a schema.
fn schema_name(db: Database) -> &'static str {
    match db {
        Database::Central => "central",
        Database::Pool => "pool",
    }
}

/// Bring `client`'s database to this program's version of `db`'s schema: from empty through the
/// baseline, or from an older version through the later steps. Refuses a database at a newer
/// version, one holding the other schema or something else, and one whose locale would make
/// case-insensitive keys differ from SQLite's NOCASE.
pub fn migrate(client: &mut Client, db: Database) -> anyhow::Result<Migrated> {
    apply(client, db, &steps(db, schema::later(db))?, |_, _| Ok(())).map(|(m, ())| m)
}

/// The migration's transaction, as [`migrate_then`] hands it over.
pub type Tx<'a> = postgres::Transaction<'a>;

/// [`migrate`], then `then` in the migration's transaction before it commits (with what the
/// migration did): its writes commit with the schema or not at all, and an error from it undoes
/// the migration too. What creates a pool database's schema stamps its identity this way
/// (`pg::identity::create_pool_schema`).
pub fn migrate_then<T>(
    client: &mut Client,
    db: Database,
    then: impl FnOnce(&mut Tx<'_>, Migrated) -> anyhow::Result<T>,
) -> anyhow::Result<(Migrated, T)> {
    apply(client, db, &steps(db, schema::later(db))?, then)
}

/// The version of `db`'s schema this program migrates a PostgreSQL database to.
pub fn current_version(db: Database) -> usize {
    schema::baseline(db).version + schema::later(db).len()
}

/// The baseline, then `later` from the version after it.
fn steps(db: Database, later: &[Step]) -> anyhow::Result<Vec<PgStep>> {
    let baseline = schema::baseline(db);
    let mut steps = vec![PgStep { version: baseline.version, sql: Some(Dialect::Postgres.render(baseline.ddl)?) }];
    for (i, step) in later.iter().enumerate() {
        steps.push(PgStep { version: baseline.version + 1 + i, sql: step.render(Dialect::Postgres)? });
    }
    Ok(steps)
}

/// `migrate` inside the transaction `client` has open (a repair making the pool schema in an
/// empty database as part of its two-phase commit, `Store::prepare_empty_pool_database`):
/// nothing is committed here. The advisory lock is the transaction's, so it holds until the
/// transaction ends (PREPARE TRANSACTION keeps transaction-level advisory locks).
pub fn migrate_within<T>(
    client: &mut Client,
    db: Database,
    then: impl FnOnce(&mut Client, Migrated) -> anyhow::Result<T>,
) -> anyhow::Result<(Migrated, T)> {
    let steps = steps(db, schema::later(db))?;
    let (from, to) = apply_in(client, db, &steps)?;
    let done = Migrated { from, to };
    Ok((done, then(client, done)?))
}

fn apply<T>(
    client: &mut Client,
    db: Database,
    steps: &[PgStep],
    then: impl FnOnce(&mut Tx<'_>, Migrated) -> anyhow::Result<T>,
) -> anyhow::Result<(Migrated, T)> {
    // READ COMMITTED whatever the server's default: each statement after the lock must see what
    // the migration that held it committed (a REPEATABLE READ snapshot would predate it).
    let mut tx = client.build_transaction().isolation_level(IsolationLevel::ReadCommitted).start()?;
    let (from, to) = apply_in(&mut tx, db, steps)?;
    let done = Migrated { from, to };
    let out = then(&mut tx, done)?;
    // Nothing to commit when the schema was current and `then` wrote nothing; committing ends
    // the transaction (and its advisory lock) either way.
    tx.commit()?;
    Ok((done, out))
}

/// The steps from the database's version on, in the transaction `tx` has open; (from, to).
fn apply_in(tx: &mut impl GenericClient, db: Database, steps: &[PgStep]) -> anyhow::Result<(usize, usize)> {
    let name = schema_name(db);
    let (first, target) = match steps {
        [first, .., last] => (first.version, last.version),
        [only] => (only.version, only.version),
        [] => anyhow::bail!("no schema steps for the {name} database"),
    };
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK])?;
    check_locale(tx)?;
    tx.batch_execute(dialect::PG_SCHEMA_VERSION_TABLE)?;
    let recorded = match tx.query_opt(dialect::PG_SCHEMA_VERSION, &[])? {
        Some(row) => Some((row.try_get::<_, String>(0)?, row.try_get::<_, i64>(1)?)),
        None => None,
    };
    let from = match recorded {
        None => {
            let present: Vec<String> = tx
                .query(
                    "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()
                     AND tablename <> 'schema_version' AND tablename <> ALL($1) ORDER BY 1",
                    &[&PRESENT_BEFORE],
                )?
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, _>>()?;
            if !present.is_empty() {
                anyhow::bail!(
                    "the database is not empty and holds no pchat schema (tables {}); pchat makes its schema in an empty database only",
                    present.join(", ")
                );
            }
            0
        }
        Some((schema, _)) if schema != name => {
            anyhow::bail!("the database holds pchat's {schema} schema, not the {name} one")
        }
        Some((_, version)) => usize::try_from(version).context("the database records a negative schema version")?,
    };
    if from > target {
        anyhow::bail!(
            "the database's {name} schema is at version {from}, newer than this pchat knows ({target}): use a newer pchat"
        );
    }
    if from == target {
        return Ok((from, target));
    }
    if from != 0 && from < first {
        // Only SQLite stores were ever at a version before the baseline.
        anyhow::bail!("the database's {name} schema is at version {from}, before PostgreSQL's first ({first})");
    }
    for step in steps.iter().filter(|s| s.version > from) {
        if let Some(sql) = &step.sql {
            tx.batch_execute(sql).with_context(|| format!("{name} schema step {}", step.version))?;
        }
    }
    tx.execute(dialect::PG_SET_SCHEMA_VERSION, &[&name, &i64::try_from(target)?])?;
    Ok((from, target))
}

/// The NOCASE keys are `lower()` indexes and names sort as `lower(name)`: that matches SQLite only
/// where `lower()` folds ASCII alone and text compares by bytes, the C locale. Elsewhere two
/// names SQLite tells apart ("É", "é") would collide, and orders would differ.
fn check_locale(tx: &mut impl GenericClient) -> anyhow::Result<()> {
    let row = tx.query_one(
        "SELECT lower($1::text) = $1::text AND $2::text < $3::text, datcollate::text, datctype::text,
                pg_encoding_to_char(encoding)::text
         FROM pg_database WHERE datname = current_database()",
        &[&"\u{c9}", &"B", &"a"],
    )?;
    if !row.try_get::<_, bool>(0)? {
        anyhow::bail!(
            "the database's locale (collation {}, character type {}) folds or orders text unlike SQLite's NOCASE; \
             create it with LC_COLLATE 'C' LC_CTYPE 'C' (TEMPLATE template0)",
            row.try_get::<_, String>(1)?,
            row.try_get::<_, String>(2)?
        );
    }
    // Names and messages are Unicode: another encoding refuses what it cannot hold only when
    // such a text is first written (a repair half-way, a room named in Japanese), SQL_ASCII
    // checks nothing at all.
    let encoding: String = row.try_get(3)?;
    if encoding != "UTF8" {
        anyhow::bail!(
            "the database's encoding is {encoding}, which cannot hold every name and message pchat keeps; \
             create it with ENCODING 'UTF8' (TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C')"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::sync::Barrier;
    use std::time::{Duration, Instant};

    use super::*;

    fn apply_only(client: &mut Client, db: Database, steps: &[PgStep]) -> anyhow::Result<Migrated> {
        apply(client, db, steps, |_, _| Ok(())).map(|(m, ())| m)
    }
    use crate::store::pg::test_cluster::{Cluster, connect};
    use crate::store::schema::describe::{self, Key, normalise};

    const BOTH: [Database; 2] = [Database::Central, Database::Pool];

    /// (name, type, not null, default, identity, explicit collation)
    type PgColumn = (String, String, bool, Option<String>, bool, Option<String>);
    /// (columns, parent, parent columns, on update, on delete, match)
    type PgForeignKey = (Vec<String>, String, Vec<String>, String, String, String);

    /// A table as PostgreSQL's catalog describes it, or as the neutral description says it
    /// should be there.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct PgTable {
        columns: Vec<PgColumn>,
        /// (unique, primary, keys, predicate), sorted; constraints' indexes are named by
        /// PostgreSQL, so names are compared for created indexes only (`named`).
        indexes: Vec<(bool, bool, Vec<String>, Option<String>)>,
        named: Vec<String>,
        /// Sorted.
        foreign_keys: Vec<PgForeignKey>,
        checks: Vec<String>,
    }

    fn default(sql: Option<String>) -> Option<String> {
        sql.map(|d| d.trim_end_matches("::text").trim_end_matches("::bigint").to_string())
    }

    /// Tables only a PostgreSQL database has: the version row, and `store_epoch` (a
    /// `PostgresOnly` later step; `store::tests` prove what it does).
    const POSTGRES_ONLY: &[&str] =
        &["schema_version", "store_epoch", "pchat_twophase_decisions", "pool_database_identities"];

    /// What the catalog of `url`'s database says of its tables (but `POSTGRES_ONLY`).
    fn catalog(url: &str) -> BTreeMap<String, PgTable> {
        let mut c = connect(url);
        let tables: Vec<String> = c
            .query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() AND tablename <> ALL($1)",
                &[&POSTGRES_ONLY],
            )
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        let mut out = BTreeMap::new();
        for t in tables {
            let columns = c
                .query(
                    "SELECT column_name::text, data_type::text, is_nullable = 'NO', column_default::text,
                            is_identity = 'YES', collation_name::text
                     FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1
                     ORDER BY ordinal_position",
                    &[&t],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), default(r.get(3)), r.get(4), r.get(5)))
                .collect();
            let rows = c
                .query(
                    "SELECT i.relname::text, x.indisunique, x.indisprimary,
                            array(SELECT pg_get_indexdef(x.indexrelid, k, true) FROM generate_series(1, x.indnkeyatts::int) k ORDER BY k),
                            pg_get_expr(x.indpred, x.indrelid, true),
                            EXISTS (SELECT 1 FROM pg_constraint WHERE conindid = x.indexrelid AND conrelid = x.indrelid)
                     FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = $1::text::regclass",
                    &[&t],
                )
                .unwrap();
            let mut indexes: Vec<_> = rows
                .iter()
                .map(|r| {
                    let keys: Vec<String> = r.get(3);
                    (
                        r.get(1),
                        r.get(2),
                        keys.iter().map(|k| normalise(k)).collect(),
                        r.get::<_, Option<String>>(4).map(|p| normalise(&p)),
                    )
                })
                .collect();
            indexes.sort();
            let mut named: Vec<String> = rows.iter().filter(|r| !r.get::<_, bool>(5)).map(|r| r.get(0)).collect();
            named.sort();
            let attnames = "array(SELECT a.attname::text FROM unnest(%k) WITH ORDINALITY k(n, o)
                 JOIN pg_attribute a ON a.attrelid = %r AND a.attnum = k.n ORDER BY k.o)";
            let mut foreign_keys: Vec<_> = c
                .query(
                    &format!(
                        "SELECT {}, confrelid::regclass::text, {}, confupdtype::text, confdeltype::text, confmatchtype::text
                         FROM pg_constraint WHERE conrelid = $1::text::regclass AND contype = 'f'",
                        attnames.replace("%k", "conkey").replace("%r", "conrelid"),
                        attnames.replace("%k", "confkey").replace("%r", "confrelid"),
                    ),
                    &[&t],
                )
                .unwrap()
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
                .collect();
            foreign_keys.sort();
            let mut checks: Vec<String> = c
                .query("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::text::regclass AND contype = 'c'", &[&t])
                .unwrap()
                .iter()
                .map(|r| normalise(r.get::<_, &str>(0).trim_start_matches("CHECK ")))
                .collect();
            checks.sort();
            out.insert(t, PgTable { columns, indexes, named, foreign_keys, checks });
        }
        out
    }

    fn pg_key(k: &Key) -> String {
        assert!(!k.desc, "descending keys: spell them here");
        if k.nocase { format!("lower({})", k.text) } else { k.text.clone() }
    }

    fn action(sqlite: &str) -> String {
        match sqlite {
            "NO ACTION" => "a",
            "RESTRICT" => "r",
            "CASCADE" => "c",
            "SET NULL" => "n",
            "SET DEFAULT" => "d",
            other => panic!("foreign key action {other}"),
        }
        .into()
    }

    /// What PostgreSQL's catalog should say of `db`'s baseline, from the neutral DDL rendered for
    /// SQLite (which `baseline::tests` proves equal to the released history). The mapping is the
    /// porting map's: types by `Dialect::column_type`, a primary key's columns not null, the
    /// rowid alias an identity column, keys holding a NOCASE column both as declared (a foreign
    /// key's target must be a plain key) and on `lower()`, NOCASE index keys on `lower()`.
    fn expected(db: Database) -> BTreeMap<String, PgTable> {
        // The baseline, then the later steps (each in SQLite's spelling, as a SQLite store has it).
        let conn = describe::rendered(schema::baseline(db));
        for step in schema::later(db) {
            if let Some(sql) = step.render(Dialect::Sqlite).unwrap() {
                conn.execute_batch(&sql).unwrap();
            }
        }
        let description = describe::describe(&conn);
        assert!(description.others.is_empty(), "views or triggers: map them here");
        let mut out = BTreeMap::new();
        for t in description.tables {
            let identity = t.rowid_alias().map(str::to_string);
            let columns = t
                .columns
                .iter()
                .map(|c| {
                    let ty = Dialect::Postgres
                        .column_type(&c.declared)
                        .unwrap_or_else(|| panic!("{}: {}", t.name, c.declared));
                    let is_identity = identity.as_deref() == Some(&c.name);
                    (c.name.clone(), ty.to_string(), c.notnull || c.pk > 0, c.default.clone(), is_identity, None)
                })
                .collect();
            let mut indexes = Vec::new();
            let pk = t.primary_key();
            if !pk.is_empty() {
                indexes.push((true, true, pk.iter().map(|c| c.to_string()).collect(), None));
            }
            let mut named = Vec::new();
            for i in &t.indexes {
                let plain = i.keys.iter().map(|k| k.text.clone()).collect::<Vec<_>>();
                let lowered = i.keys.iter().map(pg_key).collect::<Vec<_>>();
                match i.origin.as_str() {
                    "c" => {
                        indexes.push((i.unique, false, lowered, i.predicate.clone()));
                        named.extend(i.name.clone());
                    }
                    origin => {
                        if origin == "u" {
                            indexes.push((true, false, plain.clone(), None));
                        }
                        if lowered != plain {
                            indexes.push((true, false, lowered, None));
                        }
                    }
                }
            }
            indexes.sort();
            named.sort();
            let mut foreign_keys: Vec<_> = t
                .foreign_keys
                .iter()
                .map(|f| {
                    assert!(!f.to.is_empty(), "{}: name the parent's columns", t.name);
                    assert_eq!(f.match_, "NONE");
                    (
                        f.columns.clone(),
                        f.table.clone(),
                        f.to.clone(),
                        action(&f.on_update),
                        action(&f.on_delete),
                        "s".into(),
                    )
                })
                .collect();
            foreign_keys.sort();
            out.insert(t.name, PgTable { columns, indexes, named, foreign_keys, checks: t.checks });
        }
        out
    }

    /// The version row; None when there is none, or no table for it.
    fn version(url: &str) -> Option<(String, i64)> {
        let mut c = connect(url);
        let table: Option<String> = c.query_one("SELECT to_regclass('schema_version')::text", &[]).unwrap().get(0);
        table?;
        c.query_opt(dialect::PG_SCHEMA_VERSION, &[]).unwrap().map(|r| (r.get(0), r.get(1)))
    }

    /// Applying the baseline to an empty database gives the neutral description's tables,
    /// columns, keys, indexes and constraints, and records the version.
    #[test]
    fn the_baseline_gives_the_described_schema() {
        let Some(cluster) = Cluster::shared("the_baseline_gives_the_described_schema") else { return };
        for db in BOTH {
            let url = cluster.database("base");
            let target = schema::baseline(db).version + schema::later(db).len();
            assert_eq!(migrate(&mut connect(&url), db).unwrap(), Migrated { from: 0, to: target });
            let (got, want) = (catalog(&url), expected(db));
            assert_eq!(got.keys().collect::<Vec<_>>(), want.keys().collect::<Vec<_>>(), "{db:?} tables");
            for (name, want) in &want {
                let got = &got[name];
                assert_eq!(got.columns, want.columns, "{db:?} {name} columns");
                assert_eq!(got.indexes, want.indexes, "{db:?} {name} indexes");
                for n in &want.named {
                    assert!(got.named.contains(n), "{db:?} {name}: no index {n} in {:?}", got.named);
                }
                assert_eq!(got.foreign_keys, want.foreign_keys, "{db:?} {name} foreign keys");
                assert_eq!(got.checks, want.checks, "{db:?} {name} checks");
            }
            assert_eq!(version(&url), Some((schema_name(db).to_string(), target as i64)));
        }
    }

    /// The keys on lower() are what make names unique ignoring case, as SQLite's NOCASE keys do.
    #[test]
    fn names_are_unique_ignoring_ascii_case_only() {
        let Some(cluster) = Cluster::shared("names_are_unique_ignoring_ascii_case_only") else { return };
        let url = cluster.database("nocase");
        let mut c = connect(&url);
        migrate(&mut c, Database::Pool).unwrap();
        c.batch_execute("INSERT INTO categories(id, pool, name) VALUES (1, 'pc01', 'Sales')").unwrap();
        let err = c.batch_execute("INSERT INTO categories(id, pool, name) VALUES (2, 'PC01', 'SALES')").unwrap_err();
        assert_eq!(err.code(), Some(&postgres::error::SqlState::UNIQUE_VIOLATION), "{err}");
        // NOCASE folds ASCII only: these are different names in SQLite, so here too.
        c.batch_execute(
            "INSERT INTO categories(id, pool, name) VALUES (3, 'pc01', 'Caf\u{e9}'), (4, 'pc01', 'CAF\u{c9}')",
        )
        .unwrap();
    }

    /// Running it again changes nothing, not even the version row.
    #[test]
    fn migrating_again_is_a_no_op() {
        let Some(cluster) = Cluster::shared("migrating_again_is_a_no_op") else { return };
        let url = cluster.database("again");
        let mut c = connect(&url);
        let first = migrate(&mut c, Database::Central).unwrap();
        let before = catalog(&url);
        let xmin =
            |c: &mut Client| c.query_one("SELECT xmin::text FROM schema_version", &[]).unwrap().get::<_, String>(0);
        let written = xmin(&mut c);
        assert_eq!(migrate(&mut c, Database::Central).unwrap(), Migrated { from: first.to, to: first.to });
        assert_eq!(xmin(&mut c), written, "the version row was rewritten");
        assert_eq!(catalog(&url), before);
    }

    /// Two processes opening a new database at once: the second waits for the first's lock, then
    /// finds the schema made and does nothing (it would fail on an existing table if it did not
    /// wait, or did not read the version after the wait).
    #[test]
    fn concurrent_migrations_queue_on_the_lock() {
        let Some(cluster) = Cluster::shared("concurrent_migrations_queue_on_the_lock") else { return };
        let url = cluster.database("race");
        // Hold the migration's lock so that both appliers are surely waiting together.
        let mut holder = connect(&url);
        holder.execute("SELECT pg_advisory_lock($1)", &[&LOCK]).unwrap();
        let barrier = Barrier::new(2);
        let results = std::thread::scope(|s| {
            let appliers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let mut c = connect(&url);
                        barrier.wait();
                        migrate(&mut c, Database::Pool)
                    })
                })
                .collect();
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                let waiting: i64 = holder
                    .query_one(
                        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND database =
                         (SELECT oid FROM pg_database WHERE datname = current_database())",
                        &[],
                    )
                    .unwrap()
                    .get(0);
                if waiting == 2 {
                    break;
                }
                assert!(Instant::now() < deadline, "the appliers did not wait for the lock ({waiting} waiting)");
            }
            holder.execute("SELECT pg_advisory_unlock($1)", &[&LOCK]).unwrap();
            appliers.into_iter().map(|a| a.join().unwrap()).collect::<Vec<_>>()
        });
        let mut results: Vec<Migrated> = results.into_iter().map(Result::unwrap).collect();
        results.sort_by_key(|m| m.from);
        let v = schema::baseline(Database::Pool).version + schema::later(Database::Pool).len();
        assert_eq!(results, [Migrated { from: 0, to: v }, Migrated { from: v, to: v }]);
        assert_eq!(catalog(&url), expected_catalog_of(&cluster.database("race_ref"), Database::Pool));
    }

    /// The catalog of a database that one migration alone made.
    fn expected_catalog_of(url: &str, db: Database) -> BTreeMap<String, PgTable> {
        migrate(&mut connect(url), db).unwrap();
        catalog(url)
    }

    /// A database a newer pchat migrated is left alone: this one would not know its schema.
    #[test]
    fn a_newer_version_is_refused() {
        let Some(cluster) = Cluster::shared("a_newer_version_is_refused") else { return };
        let url = cluster.database("newer");
        let mut c = connect(&url);
        let m = migrate(&mut c, Database::Central).unwrap();
        c.execute("UPDATE schema_version SET version = version + 1", &[]).unwrap();
        let before = catalog(&url);
        let err = migrate(&mut c, Database::Central).unwrap_err().to_string();
        assert!(err.contains(&format!("at version {}, newer than this pchat knows ({})", m.to + 1, m.to)), "{err}");
        assert_eq!(version(&url), Some(("central".into(), m.to as i64 + 1)));
        assert_eq!(catalog(&url), before);
    }

    /// The central schema in a pool database, a database holding something else, or one whose
    /// locale folds case unlike NOCASE: refused, untouched.
    #[test]
    fn foreign_databases_are_refused() {
        let Some(cluster) = Cluster::shared("foreign_databases_are_refused") else { return };
        let url = cluster.database("other");
        migrate(&mut connect(&url), Database::Central).unwrap();
        let err = migrate(&mut connect(&url), Database::Pool).unwrap_err().to_string();
        assert!(err.contains("holds pchat's central schema, not the pool one"), "{err}");

        let url = cluster.database("foreign");
        connect(&url).batch_execute("CREATE TABLE invoices (id int)").unwrap();
        let err = migrate(&mut connect(&url), Database::Pool).unwrap_err().to_string();
        assert!(err.contains("not empty and holds no pchat schema (tables invoices)"), "{err}");
        assert_eq!(catalog(&url).keys().collect::<Vec<_>>(), ["invoices"]);
        assert_eq!(version(&url), None);

        let url = cluster.database_with("utf8", "TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'");
        let err = migrate(&mut connect(&url), Database::Pool).unwrap_err().to_string();
        assert!(err.contains("folds or orders text unlike SQLite's NOCASE"), "{err}");
        assert!(catalog(&url).is_empty());

        for encoding in ["LATIN1", "SQL_ASCII"] {
            let tag = encoding.to_ascii_lowercase();
            let url = cluster
                .database_with(&tag, &format!("TEMPLATE template0 ENCODING '{encoding}' LC_COLLATE 'C' LC_CTYPE 'C'"));
            let err = migrate(&mut connect(&url), Database::Pool).unwrap_err().to_string();
            assert!(err.contains(&format!("encoding is {encoding}")) && err.contains("ENCODING 'UTF8'"), "{err}");
            assert!(catalog(&url).is_empty());
        }
    }

    /// The 2PC coordinator makes its decision table when it opens a central database: a
    /// database holding only that is still new to the migration.
    #[test]
    fn a_central_database_the_coordinator_opened_first_migrates() {
        let Some(cluster) = Cluster::shared("a_central_database_the_coordinator_opened_first_migrates") else {
            return;
        };
        let (url, copy) = (cluster.database("coord"), cluster.database("coord_copy"));
        drop(crate::store::pg::twophase::Coordinator::open(connect(&url), vec![connect(&copy)]).unwrap());
        assert_eq!(migrate(&mut connect(&url), Database::Central).unwrap().from, 0);
        let table: Option<String> =
            connect(&url).query_one("SELECT to_regclass($1)::text", &[&PRESENT_BEFORE[0]]).unwrap().get(0);
        assert_eq!(table.as_deref(), Some(PRESENT_BEFORE[0]));
    }

    /// A step that fails leaves the database as it was: nothing of the baseline in a new
    /// database, nothing of the earlier later steps in an existing one.
    #[test]
    fn a_failed_step_changes_nothing() {
        let Some(cluster) = Cluster::shared("a_failed_step_changes_nothing") else { return };
        let later = [Step::Both("CREATE TABLE half_done (x {int})"), Step::Both("SELECT 1 / 0")];
        let steps = steps(Database::Pool, &later).unwrap();
        let url = cluster.database("fail_new");
        let err = apply_only(&mut connect(&url), Database::Pool, &steps).unwrap_err();
        assert!(format!("{err:#}").contains("pool schema step 9: db error: ERROR: division by zero"), "{err:#}");
        assert!(catalog(&url).is_empty(), "{:?}", catalog(&url).keys());
        assert_eq!(version(&url), None);
        let table: Option<String> =
            connect(&url).query_one("SELECT to_regclass('schema_version')::text", &[]).unwrap().get(0);
        assert_eq!(table, None, "the version table outlived the failed migration");

        let url = cluster.database("fail_old");
        let m = migrate(&mut connect(&url), Database::Pool).unwrap();
        let before = catalog(&url);
        apply_only(&mut connect(&url), Database::Pool, &steps).unwrap_err();
        assert_eq!(catalog(&url), before);
        assert_eq!(version(&url), Some(("pool".into(), m.to as i64)));
    }

    /// Later steps run once each, in order, numbered after the baseline; a step for the other
    /// dialect moves the version and runs nothing.
    #[test]
    fn later_steps_run_once_and_other_dialects_steps_are_skipped() {
        let Some(cluster) = Cluster::shared("later_steps_run_once_and_other_dialects_steps_are_skipped") else {
            return;
        };
        let url = cluster.database("later");
        let base = schema::baseline(Database::Central).version;
        let mut c = connect(&url);
        assert_eq!(apply_only(&mut c, Database::Central, &steps(Database::Central, &[]).unwrap()).unwrap().to, base);
        let later = [
            Step::Both("CREATE TABLE later_one (x {int} NOT NULL, name TEXT {nocase})"),
            Step::SqliteOnly("CREATE TABLE sqlite_only (x)"),
            Step::PostgresOnly("CREATE TABLE postgres_only (x int)"),
        ];
        let steps = steps(Database::Central, &later).unwrap();
        assert_eq!(apply_only(&mut c, Database::Central, &steps).unwrap(), Migrated { from: base, to: base + 3 });
        assert_eq!(apply_only(&mut c, Database::Central, &steps).unwrap(), Migrated { from: base + 3, to: base + 3 });
        let tables = catalog(&url);
        assert!(tables.contains_key("later_one") && tables.contains_key("postgres_only"));
        assert!(!tables.contains_key("sqlite_only"));
        assert_eq!(tables["later_one"].columns[0].1, "bigint");
        assert_eq!(version(&url), Some(("central".into(), base as i64 + 3)));
    }
}
