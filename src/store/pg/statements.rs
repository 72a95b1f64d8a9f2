//! Step 3 of the port (docs/design/postgres-port.md §5): every SQL text the store runs, prepared on
//! PostgreSQL. The texts are the inventory (`src/store/pg/sql_inventory.txt`, written by
//! `scripts/sql-inventory` from the integration suite and checked current by it: see
//! `store::db::inventory`). A text either prepares on a migrated database, or is listed in
//! [`tests::CLASSIFIED`]: replaced on PostgreSQL by another mechanism (its §1 row), or left, with
//! the reason. The list must only shrink: an entry that matches no text, or a "left" text that
//! now prepares, fails the test.

#[cfg(all(test, unix))]
mod tests {
    use crate::catalog::descriptor::Database;
    use crate::store::db::inventory::{self, Kind};
    use crate::store::db::{Db, ErrorKind};
    use crate::store::dialect::Dialect;
    use crate::store::pg::migrate::migrate;
    use crate::store::pg::test_cluster::{Cluster, connect};
    use crate::store::route::{Target, route};
    use crate::store::schema;

    /// How a listed text is matched.
    enum Match {
        Prefix(&'static str),
        Contains(&'static str),
        /// A step of the released SQLite migration history (`schema::CENTRAL`/`POOL`).
        ReleasedStep,
    }

    enum Why {
        /// PostgreSQL never runs the text: §1's `row` replaces the mechanism by `by`.
        Replaced { row: &'static str, by: &'static str },
        /// Not ported yet, and why.
        Left(&'static str),
    }

    use Match::*;
    use Why::*;

    const ATTACH: &str = "ATTACH/DETACH";
    const LOCK: &str = "BEGIN IMMEDIATE";
    const EPOCH: &str = "Temporary triggers as per-connection change counters";
    const PRAGMA: &str = "PRAGMA";

    /// Every text that does not prepare on PostgreSQL, classified; the first entry that matches
    /// a text is its class. "Replaced" names the row of §1 (docs/design/postgres-port.md).
    const CLASSIFIED: &[(Match, Why)] = &[
        (
            ReleasedStep,
            Replaced { row: "PRAGMA user_version", by: "the neutral baseline and later steps (§2, pg::migrate)" },
        ),
        (
            Prefix("PRAGMA user_version"),
            Replaced { row: "PRAGMA user_version", by: "the schema_version row (pg::migrate)" },
        ),
        (Prefix("PRAGMA main.data_version"), Replaced { row: "PRAGMA data_version", by: "the store_epoch row" }),
        (
            Prefix("PRAGMA {db}.quick_check"),
            Replaced {
                row: "PRAGMA quick_check, table_info",
                by: "identity row, marks, per-table counts and checksums",
            },
        ),
        (
            Prefix("PRAGMA "),
            Replaced { row: PRAGMA, by: "server configuration and the session settings of Db::open_postgres" },
        ),
        (Contains("{from}."), Replaced { row: ATTACH, by: "a streamed COPY TO STDOUT into COPY FROM STDIN (step 5)" }),
        (Prefix("ATTACH DATABASE"), Replaced { row: ATTACH, by: "one session per database (§3)" }),
        (Prefix("COMMIT; DETACH DATABASE"), Replaced { row: ATTACH, by: "one session per database (§3)" }),
        (
            Prefix("BEGIN "),
            Replaced { row: LOCK, by: "the session's BEGIN (pg.rs) and pool-wide advisory locks (step 4)" },
        ),
        (Prefix("DELETE FROM main.meta WHERE 0"), Replaced { row: LOCK, by: "pg_advisory_xact_lock (step 4)" }),
        (Prefix("DELETE FROM {db}.pool_sync WHERE 0"), Replaced { row: LOCK, by: "pg_advisory_xact_lock (step 4)" }),
        (Prefix("CREATE TEMP TABLE topology_epoch"), Replaced { row: EPOCH, by: "the store_epoch row" }),
        (Prefix("SELECT n FROM temp."), Replaced { row: EPOCH, by: "the store_epoch row" }),
        (
            Prefix("SELECT id FROM pool_file"),
            Replaced { row: "Pool file identity", by: "the identity row and system identifier (step 5)" },
        ),
        (
            Prefix("SELECT id, store, store_db FROM pool_file"),
            Replaced { row: "Pool file identity", by: "the identity row and system identifier (step 5)" },
        ),
        (
            Prefix("UPDATE pool_file SET store = "),
            Replaced { row: "Pool file identity", by: "the identity row and system identifier (step 5)" },
        ),
        (
            Prefix("INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id'"),
            Replaced { row: "Pool file identity", by: "Store::pool_file_owner, when a store first needs its id" },
        ),
        // Left: not ported yet.
        (
            Contains("ORDER BY rowid"),
            Left("group members in the order added: PostgreSQL has no rowid; needs an ordinal column (a later step)"),
        ),
        (
            Contains("json_each(?"),
            Left("a list parameter: `= ANY($n)` needs an array value, which Value cannot carry yet"),
        ),
        (
            Contains("json_each(p.attrs)"),
            Left("the keys of JSON text that may be invalid: jsonb_object_keys behind pchat_json_valid"),
        ),
        (
            Contains("json_valid("),
            Left("json_text: jsonb operators behind a pchat_json_valid(text) function (a later PostgresOnly step)"),
        ),
    ];

    /// Texts the store spells for its connection's dialect when it builds them (`Db::dialect`):
    /// the inventory holds the SQLite spelling, and PostgreSQL prepares its own.
    const BUILT: &[fn(Dialect) -> String] = &[crate::store::audit::audit_records_sql];

    fn matches(m: &Match, sql: &str) -> bool {
        match m {
            Prefix(p) => sql.starts_with(p),
            Contains(c) => sql.contains(c),
            ReleasedStep => schema::CENTRAL.iter().chain(schema::POOL).any(|step| *step == sql),
        }
    }

    fn inventory() -> Vec<(Kind, String)> {
        inventory::CHECKED_IN
            .lines()
            .map(|line| {
                let (kind, text) = line.split_once('\t').expect("kind<TAB>text");
                (Kind::parse(kind).expect("a kind"), inventory::unescape(text))
            })
            .collect()
    }

    /// Prepares `sql` (not run) where the store would run it: a routed text through the router
    /// (`{db}.` dropped, on the database of its kind), a direct one on the central database.
    fn prepare(central: &Db, pool: &Db, kind: Kind, sql: &str) -> Result<(), String> {
        let result = match kind {
            Kind::Central => route(central, Target::Central, sql).prepare().map(drop),
            Kind::Pool => route(pool, Target::Copy("copy"), sql).prepare().map(drop),
            Kind::Direct => central.prepare(sql).map(drop),
            Kind::Across => return Err("a statement across two databases".into()),
        };
        match result {
            Ok(()) => Ok(()),
            Err(e) => {
                assert_ne!(e.kind(), ErrorKind::Unavailable, "{e}");
                // A batch of several statements runs through `execute_batch`, which PostgreSQL
                // takes as a simple query: each statement must prepare on its own.
                let pieces = statements(sql);
                if pieces.len() < 2 || !e.to_string().contains("cannot insert multiple commands") {
                    return Err(e.to_string());
                }
                pieces
                    .iter()
                    .try_for_each(|piece| prepare(central, pool, kind, piece).map_err(|e| format!("{e} (in: {piece})")))
            }
        }
    }

    /// The statements of a batch: split at semicolons outside string literals (the batches the
    /// store runs hold no trigger bodies but the temporary counters, which are replaced).
    fn statements(batch: &str) -> Vec<&str> {
        let mut out = Vec::new();
        let (mut start, mut quoted) = (0, false);
        for (i, c) in batch.char_indices() {
            match c {
                '\'' => quoted = !quoted,
                ';' if !quoted => {
                    out.push(&batch[start..i]);
                    start = i + 1;
                }
                _ => {}
            }
        }
        out.push(&batch[start..]);
        out.retain(|s| !s.trim().is_empty());
        out
    }

    #[test]
    fn every_store_statement_prepares_on_postgres() {
        let Some(cluster) = Cluster::shared("every_store_statement_prepares_on_postgres") else { return };
        let open = |db: Database, tag: &str| {
            let url = cluster.database(tag);
            migrate(&mut connect(&url), db).unwrap();
            Db::open_postgres(&url).unwrap()
        };
        let (central, pool) = (open(Database::Central, "stmts_central"), open(Database::Pool, "stmts_pool"));
        let texts = inventory();
        assert!(!texts.is_empty(), "empty inventory: run scripts/sql-inventory");

        for build in BUILT {
            let sqlite = build(Dialect::Sqlite);
            assert!(texts.iter().any(|(_, t)| *t == sqlite), "not in the inventory: {sqlite}");
        }
        let postgres = |sql: &str| BUILT.iter().find(|b| b(Dialect::Sqlite) == sql).map(|b| b(Dialect::Postgres));

        let mut used = vec![0usize; CLASSIFIED.len()];
        let (mut prepared, mut replaced, mut left) = (0, 0, 0);
        let mut gaps = Vec::new();
        for (kind, neutral) in &texts {
            let built = postgres(neutral);
            let sql = built.as_ref().unwrap_or(neutral);
            let outcome = prepare(&central, &pool, *kind, sql);
            let listed = CLASSIFIED.iter().position(|(m, _)| matches(m, sql));
            if let Some(i) = listed {
                used[i] += 1;
            }
            match (listed.map(|i| &CLASSIFIED[i].1), outcome) {
                (Some(Replaced { .. }), _) => replaced += 1,
                (Some(Left(why)), Ok(())) => {
                    gaps.push(format!("[{}] listed as left ({why}) but prepares: remove it\n  {sql}", kind.name()))
                }
                (Some(Left(_)), Err(_)) => left += 1,
                (None, Ok(())) => prepared += 1,
                (None, Err(e)) => gaps.push(format!("[{}] {e}\n  {sql}", kind.name())),
            }
        }
        for (i, n) in used.iter().enumerate() {
            if *n == 0 {
                let m = match &CLASSIFIED[i].0 {
                    Prefix(p) | Contains(p) => p,
                    ReleasedStep => "a released step",
                };
                gaps.push(format!("classified entry {i} ({m}) matches no text: remove it"));
            }
        }
        eprintln!("{} texts: {prepared} prepare on PostgreSQL, {replaced} replaced there, {left} left", texts.len());
        for ((m, why), n) in CLASSIFIED.iter().zip(&used) {
            let m = match m {
                Prefix(p) | Contains(p) => p,
                ReleasedStep => "a released SQLite migration step",
            };
            match why {
                Replaced { row, by } => eprintln!("  {n:3} {m}: replaced on PostgreSQL by {by} (§1 {row})"),
                Left(why) => eprintln!("  {n:3} {m}: left, {why}"),
            }
        }
        assert!(gaps.is_empty(), "{} texts do not prepare on PostgreSQL:\n{}", gaps.len(), gaps.join("\n"));
    }

    /// The spellings `Dialect::query` gives PostgreSQL answer as SQLite's do: the same rows, in
    /// the same order (NOCASE ties broken exactly on PostgreSQL, so the rows are chosen with no
    /// ties between them).
    #[test]
    fn spelt_statements_answer_as_on_sqlite() {
        let Some(cluster) = Cluster::shared("spelt_statements_answer_as_on_sqlite") else { return };
        let pg = Db::open_postgres(&cluster.database("spelt")).unwrap();
        let lite = Db::open_sqlite_memory().unwrap();
        lite.execute_batch("CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE UNIQUE, n INTEGER)")
            .unwrap();
        pg.execute_batch("CREATE TABLE t(id bigint PRIMARY KEY, name text UNIQUE, n bigint)").unwrap();
        for db in [&lite, &pg] {
            for (id, name) in
                [(1, "beta"), (2, "Alpha"), (3, "gamma"), (4, "ALPHA2"), (5, "_x"), (6, "Zed"), (7, "caf\u{e9}")]
            {
                db.execute(
                    "INSERT OR IGNORE INTO t(id, name, n) VALUES (?1, ?2, 0)",
                    crate::store::db::params![id, name],
                )
                .unwrap();
            }
            // Ignored: the id is taken.
            db.execute(
                "INSERT OR IGNORE INTO t(id, name, n) VALUES (?1, ?2, 0)",
                crate::store::db::params![1, "other"],
            )
            .unwrap();
            db.execute(
                "INSERT OR REPLACE INTO t(id, name, n) VALUES (?1, ?2, ?3)",
                crate::store::db::params![3, "Gamma", 7],
            )
            .unwrap();
        }
        let queries = [
            ("SELECT id, name, n FROM t ORDER BY name COLLATE NOCASE", None),
            (
                "SELECT id, name, n FROM t ORDER BY coalesce(name, 'x') COLLATE NOCASE, name COLLATE NOCASE LIMIT ?1",
                Some("4"),
            ),
            ("SELECT id, name, n FROM t WHERE name = ?1 COLLATE NOCASE", Some("ALPHA")),
            ("SELECT id, name, n FROM t WHERE name = ?1 COLLATE NOCASE", Some("CAF\u{c9}")),
            ("SELECT id, name, n FROM t WHERE name = ('g' || ?1) COLLATE NOCASE", Some("AMMA")),
        ];
        for (sql, arg) in queries {
            let rows = |db: &Db| -> Vec<(i64, String, i64)> {
                let args: Vec<crate::store::db::Value> = match arg {
                    Some(a) if sql.contains("LIMIT") => vec![crate::store::db::Value::Integer(a.parse().unwrap())],
                    Some(a) => vec![crate::store::db::Value::Text(a.into())],
                    None => vec![],
                };
                db.query_map(sql, crate::store::db::params_from_iter(args), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                    .unwrap()
            };
            assert_eq!(rows(&pg), rows(&lite), "{sql}");
        }
    }

    /// Each NOCASE use the store makes explicit (`store::pg::nocase`) answers on PostgreSQL as
    /// on SQLite, on mixed-case rows: lookups by another case, ranges (the name prefix ranges
    /// of `dialect::name_prefix_range`), IN lists and subqueries, LIKE, and ordering.
    #[test]
    fn nocase_spellings_answer_as_on_sqlite() {
        use crate::store::db::Value::Text;
        let Some(cluster) = Cluster::shared("nocase_spellings_answer_as_on_sqlite") else { return };
        let pg = Db::open_postgres(&cluster.database("nocase_spelt")).unwrap();
        let lite = Db::open_sqlite_memory().unwrap();
        lite.execute_batch(
            "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE UNIQUE); CREATE TABLE u(v TEXT)",
        )
        .unwrap();
        pg.execute_batch("CREATE TABLE t(id bigint PRIMARY KEY, name text NOT NULL); CREATE UNIQUE INDEX t_name ON t(lower(name)); CREATE TABLE u(v text)")
            .unwrap();
        let names =
            ["alpha", "Beta", "ALPHA2", "beta3", "_x", "Zed", "ro@m", "Ro[x", "roAd", "caf\u{e9}", "b_1", "bx1"];
        for db in [&lite, &pg] {
            for (id, name) in names.iter().enumerate() {
                db.execute("INSERT INTO t(id, name) VALUES (?1, ?2)", crate::store::db::params![id as i64, *name])
                    .unwrap();
            }
            db.execute_batch("INSERT INTO u(v) VALUES ('BETA'), ('Alpha'), ('zED')").unwrap();
        }
        let text = |s: &str| Text(s.into());
        let mut queries: Vec<(&str, Vec<crate::store::db::Value>)> = vec![
            ("SELECT id, name FROM t WHERE name = ?1 COLLATE NOCASE", vec![text("ALPHA")]),
            ("SELECT id, name FROM t WHERE name = ?1 COLLATE NOCASE", vec![text("BETA3")]),
            ("SELECT id, name FROM t WHERE name = ?1 COLLATE NOCASE", vec![text("CAF\u{e9}")]),
            ("SELECT id, name FROM t WHERE name = ('b' || ?1) COLLATE NOCASE", vec![text("ETA")]),
            ("SELECT id, name FROM t WHERE name <> ?1 COLLATE NOCASE ORDER BY name COLLATE NOCASE", vec![text("zed")]),
            (
                "SELECT id, name FROM t WHERE name > 'b' COLLATE NOCASE AND name <= ?1 COLLATE NOCASE ORDER BY id",
                vec![text("BETA3")],
            ),
            (
                "SELECT id, name FROM t WHERE name COLLATE NOCASE IN (?1, ?2, 'zed') ORDER BY id",
                vec![text("ALPHA"), text("beta")],
            ),
            ("SELECT id, name FROM t WHERE name COLLATE NOCASE NOT IN (SELECT v FROM u) ORDER BY id", vec![]),
            ("SELECT id, name FROM t WHERE name COLLATE NOCASE IN (SELECT v FROM u) ORDER BY id", vec![]),
            ("SELECT id, name FROM t WHERE name LIKE ?1 COLLATE NOCASE ORDER BY id", vec![text("AL%")]),
            ("SELECT id, name FROM t WHERE name LIKE ?1 COLLATE NOCASE ESCAPE '\\' ORDER BY id", vec![text("B\\_%")]),
            ("SELECT id, name FROM t WHERE name NOT LIKE ?1 COLLATE NOCASE ORDER BY id", vec![text("%A%")]),
            (
                "SELECT id, name FROM t ORDER BY CASE WHEN name = 'BETA' COLLATE NOCASE THEN 0 ELSE 1 END, name COLLATE NOCASE",
                vec![],
            ),
        ];
        // The store's name prefix ranges, for prefixes of each case and where the bounds are odd.
        let ranges: Vec<_> = ["AL", "b", "Ro@", "RO", "_", "caf\u{c9}", "be"]
            .into_iter()
            .filter_map(|p| crate::store::dialect::name_prefix_range(p).map(|r| (p, r)))
            .collect();
        assert!(ranges.len() >= 5, "{ranges:?}");
        for (_, (low, high)) in &ranges {
            match high {
                Some(high) => queries.push((
                    "SELECT id, name FROM t WHERE name >= ?1 COLLATE NOCASE AND name < ?2 COLLATE NOCASE ORDER BY name COLLATE NOCASE",
                    vec![text(low), text(high)],
                )),
                None => queries.push((
                    "SELECT id, name FROM t WHERE name >= ?1 COLLATE NOCASE ORDER BY name COLLATE NOCASE",
                    vec![text(low)],
                )),
            }
        }
        for (sql, args) in &queries {
            let rows = |db: &Db| -> Vec<(i64, String)> {
                db.query_map(sql, crate::store::db::params_from_iter(args.clone()), |r| Ok((r.get(0)?, r.get(1)?)))
                    .unwrap()
            };
            let on_sqlite = rows(&lite);
            assert_eq!(rows(&pg), on_sqlite, "{sql} {args:?}");
            // The texts compare ignoring case on SQLite itself, or the test would prove nothing.
            assert!(!on_sqlite.is_empty(), "{sql} {args:?}: no rows");
        }
        // NOCASE folds ASCII only, and so does lower() under the C collation.
        for db in [&lite, &pg] {
            let sql = "SELECT count(*) FROM t WHERE name = ?1 COLLATE NOCASE";
            assert_eq!(db.query_row(sql, ["CAF\u{c9}"], |r| r.get::<i64>(0)).unwrap(), 0);
        }
    }
}
