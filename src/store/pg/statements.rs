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
    use crate::store::db::{Begin, Db, ErrorKind, Value, params_from_iter};
    use crate::store::dialect;
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
        /// A later step PostgreSQL does not run, as SQLite runs it: a `SqliteOnly` one, or the
        /// empty batch that stands for a `PostgresOnly` one.
        SqliteLaterStep,
    }

    enum Why {
        /// PostgreSQL never runs the text: §1's `row` replaces the mechanism by `by`.
        Replaced { row: &'static str, by: &'static str },
        /// Not ported yet, and why.
        #[expect(dead_code, reason = "no text is left now; one that cannot be ported yet is listed so")]
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
        (Prefix("DETACH DATABASE"), Replaced { row: ATTACH, by: "one session per database (§3)" }),
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
        (
            SqliteLaterStep,
            Replaced {
                row: "PRAGMA user_version",
                by: "pg::migrate, which skips SQLite's later steps and runs its own",
            },
        ),
        // Left: not ported yet.
    ];

    /// Texts the store spells for its connection's dialect when it builds them (`Db::dialect`):
    /// the inventory holds the SQLite spelling, and PostgreSQL prepares its own.
    const BUILT: &[fn(Dialect) -> String] = &[crate::store::audit::audit_records_sql];

    fn matches(m: &Match, sql: &str) -> bool {
        match m {
            Prefix(p) => sql.starts_with(p),
            Contains(c) => sql.contains(c),
            ReleasedStep => schema::CENTRAL.iter().chain(schema::POOL).any(|step| *step == sql),
            SqliteLaterStep => schema::CENTRAL_LATER.iter().chain(schema::POOL_LATER).any(|step| {
                matches!(step, schema::Step::SqliteOnly(_) | schema::Step::PostgresOnly(_))
                    && step.render(Dialect::Sqlite).unwrap().unwrap_or_default() == sql
            }),
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
        // A later step run on both is spelt for each (`Step::render`): PostgreSQL prepares its own.
        let both_steps =
            || schema::CENTRAL_LATER.iter().chain(schema::POOL_LATER).filter(|s| matches!(s, schema::Step::Both(_)));
        let postgres = |sql: &str| {
            BUILT.iter().find(|b| b(Dialect::Sqlite) == sql).map(|b| b(Dialect::Postgres)).or_else(|| {
                both_steps()
                    .find(|s| s.render(Dialect::Sqlite).unwrap().as_deref() == Some(sql))
                    .map(|s| s.render(Dialect::Postgres).unwrap().unwrap())
            })
        };

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
                    SqliteLaterStep => "a later step of SQLite's",
                };
                gaps.push(format!("classified entry {i} ({m}) matches no text: remove it"));
            }
        }
        eprintln!("{} texts: {prepared} prepare on PostgreSQL, {replaced} replaced there, {left} left", texts.len());
        for ((m, why), n) in CLASSIFIED.iter().zip(&used) {
            let m = match m {
                Prefix(p) | Contains(p) => p,
                ReleasedStep => "a released SQLite migration step",
                SqliteLaterStep => "a later step PostgreSQL does not run",
            };
            match why {
                Replaced { row, by } => eprintln!("  {n:3} {m}: replaced on PostgreSQL by {by} (§1 {row})"),
                Left(why) => eprintln!("  {n:3} {m}: left, {why}"),
            }
        }
        assert!(gaps.is_empty(), "{} texts do not prepare on PostgreSQL:\n{}", gaps.len(), gaps.join("\n"));
    }

    /// Candidate values of parameter `?k` of a list or JSON text, told by what precedes its first
    /// use: lists empty, with duplicates, with non-ASCII texts, with values nothing matches.
    /// `None`: a parameter this test does not know (a new text: give it values here).
    fn candidates(sql: &str, k: usize) -> Option<Vec<Value>> {
        use Value::{Integer as I, Text as T};
        let at = find_param(sql, k)?;
        let before = sql[..at].trim_end();
        let ints = |lists: &[&[i64]]| lists.iter().map(|l| dialect::json_list(l)).collect();
        if before.ends_with("json_each(") {
            if before.contains("json_extract(value, '$[0]')") {
                let pairs: &[&[(i64, i64)]] =
                    &[&[], &[(100, 1), (100, 1)], &[(100, 2), (200, 3), (999, 9)], &[(150, 4)]];
                return Some(pairs.iter().map(|p| dialect::json_pairs(p)).collect());
            }
            let operand = before.strip_suffix("IN (SELECT value FROM json_each(")?.trim_end();
            let operand = operand.strip_suffix(" COLLATE NOCASE").unwrap_or(operand);
            return Some(match operand.rsplit([' ', '(']).next()? {
                "r.category_id" => ints(&[&[], &[1], &[1, 1, 3], &[2, 99]]),
                "r.id" | "room_id" => ints(&[&[], &[10, 10, 12], &[11, 15, 999], &[13]]),
                // Principals' DNs as stored, or not: the members naming them in another
                // spelling take the principal's (`Store::canonical_member_references`).
                "member_dn" => [&[][..], &["cn=e2"][..], &["cn=e2", "cn=e3", "cn=e3", "nobody"][..], &["CN=E2"][..]]
                    .iter()
                    .map(|l| dialect::json_text_list(l))
                    .collect(),
                // Entries compare ignoring ASCII case (`e.entry COLLATE NOCASE IN …`); other
                // letters exactly, as NOCASE does.
                "e.entry" => [
                    &[][..],
                    &["sip:anna@x.com", "SIP:Anna@X.com"][..],
                    &["sip:zo\u{eb}@x.com", "sip:\u{fc}n\u{ef}@x.com", "nobody"][..],
                ]
                .iter()
                .map(|l| dialect::json_text_list(l))
                .collect(),
                _ => return None,
            });
        }
        let word = before.rsplit([' ', '(']).nth(1)?;
        Some(match word {
            "r.pool" => vec![T("pc01".into())],
            "r.disabled" => vec![I(0), I(1)],
            "r.privacy" => vec![T("Open".into()), T("Closed".into())],
            "e.list" => vec![T("Members".into()), T("Managers".into())],
            "posted_at" => vec![I(i64::MIN), I(150)],
            "room_id" => vec![I(10), I(11)],
            "text" => vec![T("new \u{fc}n\u{ef} text".into())],
            "size_bytes" => vec![I(12)],
            "e.dn" => vec![T("cn=e1".into()), T("cn=e3".into()), T("cn=none".into())],
            _ => return None,
        })
    }

    /// Where `?k` is first used in `sql`.
    fn find_param(sql: &str, k: usize) -> Option<usize> {
        let p = format!("?{k}");
        sql.match_indices(&p).map(|(i, _)| i).find(|&i| !sql[i + p.len()..].starts_with(|c: char| c.is_ascii_digit()))
    }

    /// Every combination of the parameters' candidates.
    fn combinations(candidates: &[Vec<Value>]) -> Vec<Vec<Value>> {
        candidates.iter().fold(vec![vec![]], |acc, c| {
            acc.iter().flat_map(|prefix| c.iter().map(move |v| [prefix.clone(), vec![v.clone()]].concat())).collect()
        })
    }

    /// The rows of a query, or (a write) the rows changed and the messages after it, rolled back;
    /// an error as `Err` (both backends must fail alike, not with the same words).
    fn outcome(db: &Db, routed: bool, sql: &str, args: &[Value]) -> Result<Vec<Vec<Value>>, String> {
        let target = if matches!(db, Db::Pg(_)) { Target::Copy("copy") } else { Target::Central };
        let run = || -> crate::store::db::Result<Vec<Vec<Value>>> {
            let mut stmt = if routed { route(db, target, sql).prepare()? } else { db.prepare(sql)? };
            if !sql.starts_with("SELECT") {
                let n = stmt.execute(params_from_iter(args))? as i64;
                // The table the writes of these texts change: messages in a pool, members centrally.
                let after = if routed {
                    "SELECT * FROM {db}.messages ORDER BY room_id, posted_at, id"
                } else {
                    "SELECT group_id, member_dn, ord FROM {db}.group_members ORDER BY group_id, ord"
                };
                let mut read = route(db, target, after).prepare()?;
                let columns = read.column_count();
                let rows = read
                    .query_map((), |r| (0..columns).map(|i| r.get::<Value>(i)).collect())?
                    .collect::<crate::store::db::Result<Vec<Vec<Value>>>>()?;
                return Ok([vec![vec![Value::Integer(n)]], rows].concat());
            }
            let n = stmt.column_count();
            stmt.query_map(params_from_iter(args), |r| (0..n).map(|i| r.get::<Value>(i)).collect())?.collect()
        };
        db.begin(Begin::Deferred).unwrap();
        let result = run().map_err(|e| e.to_string());
        db.rollback().unwrap();
        result
    }

    /// Every list and JSON text of the inventory answers on PostgreSQL (as `Dialect::json` spells
    /// it) as on SQLite: the same rows in the same order, the same rows changed, or an error on
    /// both; over the real schemas, for every combination of its parameters' candidates.
    #[test]
    fn list_and_json_texts_answer_as_on_sqlite() {
        let Some(cluster) = Cluster::shared("list_and_json_texts_answer_as_on_sqlite") else { return };
        let pg = |db: Database, tag: &str| {
            let url = cluster.database(tag);
            migrate(&mut connect(&url), db).unwrap();
            Db::open_postgres(&url).unwrap()
        };
        let lite = |db: Database| {
            let conn = Db::open_sqlite_memory().unwrap();
            for step in schema::sqlite_steps(db) {
                conn.execute_batch(step).unwrap();
            }
            conn
        };
        let central = [lite(Database::Central), pg(Database::Central, "json_central")];
        let pool = [lite(Database::Pool), pg(Database::Pool, "json_pool")];
        for db in &pool {
            db.execute_batch(
                "INSERT INTO categories(id, pool, name) VALUES (1, 'pc01', 'Projects'), (2, 'pc01', 'Caf\u{e9}'), (3, 'pc01', 'Other');
                 INSERT INTO rooms(id, pool, name, category_id, disabled, privacy) VALUES
                    (10, 'pc01', 'alpha', 1, 0, 'Open'), (11, 'pc01', 'Beta', 2, 1, 'Closed'),
                    (12, 'pc01', '\u{e7}ava', 1, 0, 'Closed'), (13, 'pc01', 'delta', 3, 0, 'Open'),
                    (14, 'pc01', '\u{c9}p\u{e9}e', 2, 0, 'Open'), (15, 'pc01', 'zulu', 1, 1, 'Open');
                 INSERT INTO room_entries(room_id, list, entry, ord) VALUES
                    (10, 'Members', 'sip:anna@x.com', 0), (10, 'Members', 'sip:zo\u{eb}@x.com', 1),
                    (11, 'Managers', 'sip:anna@x.com', 0), (12, 'Members', 'sip:\u{dc}n\u{ef}@x.com', 0),
                    (14, 'Managers', 'sip:zo\u{eb}@x.com', 0);
                 INSERT INTO messages(room_id, posted_at, id, message_id, sender, text, size_bytes) VALUES
                    (10, 100, 1, 'm1', 'a', 'one', 3), (10, 100, 2, 'm2', 'a', 'two', 3),
                    (10, 200, 3, 'm3', 'b', 'three', 5), (11, 150, 4, 'm4', 'b', 'four', 4),
                    (12, 100, 1, 'm5', 'c', 'five', 4)",
            )
            .unwrap();
        }
        // JSON objects first (OBJECTS of them), then text that is not one.
        const OBJECTS: i64 = 8;
        let attrs = [
            r#"{"ConferencingPolicy":"Conf A","VoicePolicy":"Voice \u00e9"}"#,
            r#"{"ConferencingPolicy":7,"VoicePolicy":null,"Other":"x"}"#,
            r#"{"VoicePolicy":{"nested":"no"},"ConferencingPolicy":["no"],"Z\u00fc":"\"quoted\""}"#,
            r#" { "VoicePolicy" : "spaced" } "#,
            "{}",
            // A key given twice: SQLite answers the first.
            r#"{"VoicePolicy":"first","VoicePolicy":"second"}"#,
            r#"{"VoicePolicy":"a\"b\\c\n\u00e9\ud83d\ude00","ConferencingPolicy":""}"#,
            r#"{"ConferencingPolicy":"caf\u00e9 \u65e5\u672c","Conferencing":"no"}"#,
            "not json",
            r#"["ConferencingPolicy"]"#,
            r#""VoicePolicy""#,
            r#"{"VoicePolicy":"open"#,
        ];
        for db in &central {
            for (i, a) in attrs.iter().enumerate() {
                let n = i as i64 + 1;
                db.execute(
                    "INSERT INTO principals(id, dn, kind, name, display_name, attrs, endpoint_pool)
                     VALUES (?1, ?2, 'Endpoint', ?3, ?4, ?5, 'pc01')",
                    crate::store::db::params![n, format!("cn=e{n}"), format!("e{n}"), format!("Endpoint {n}"), *a],
                )
                .unwrap();
            }
            // Members naming principals (`cn=eN`) in other spellings, one naming nobody.
            db.execute_batch(
                "INSERT INTO group_members(group_id, member_dn, ord) VALUES
                    (1, 'CN=E2', 0), (1, 'cn=e3', 1), (1, 'Nobody', 2), (2, 'Cn=E2', 0), (2, 'CN=E3', 1)",
            )
            .unwrap();
        }
        let texts: Vec<(Kind, String)> =
            inventory().into_iter().filter(|(_, t)| t.contains("json_each(") || t.contains("json_valid(")).collect();
        assert_eq!(texts.len(), 15, "the list and JSON texts of the inventory");
        let mut compared = 0;
        // Then again with only the JSON objects: SQLite's json_each fails on the others, and so
        // does PostgreSQL's spelling.
        for objects_only in [false, true] {
            if objects_only {
                for db in &central {
                    db.execute("DELETE FROM principals WHERE id > ?1", [OBJECTS]).unwrap();
                }
            }
            for (kind, sql) in &texts {
                let [sqlite, postgres] = if *kind == Kind::Pool { &pool } else { &central };
                let max = (1..).take_while(|&k| find_param(sql, k).is_some()).last().unwrap_or(0);
                let candidates: Vec<Vec<Value>> = (1..=max)
                    .map(|k| candidates(sql, k).unwrap_or_else(|| panic!("no candidates for ?{k} of {sql}")))
                    .collect();
                for args in combinations(&candidates) {
                    let routed = *kind == Kind::Pool;
                    let (mut a, mut b) = (outcome(sqlite, routed, sql, &args), outcome(postgres, routed, sql, &args));
                    if !sql.contains("ORDER BY") {
                        // No order asked for: compared as sets (the callers use them so).
                        for rows in [&mut a, &mut b].into_iter().flatten() {
                            rows.sort_by(|x, y| format!("{x:?}").cmp(&format!("{y:?}")));
                        }
                    }
                    match (&a, &b) {
                        (Ok(x), Ok(y)) => assert_eq!(y, x, "{sql}\nwith {args:?}"),
                        (Err(_), Err(_)) => {}
                        _ => panic!("SQLite {a:?}, PostgreSQL {b:?}\n{sql}\nwith {args:?}"),
                    }
                    compared += 1;
                }
            }
        }
        eprintln!("{compared} executions compared");
    }

    /// A group's members come back in the order written, on both: the store's own texts over
    /// the migrated central schemas, a member given twice (in another case) keeping its place.
    #[test]
    fn group_members_answer_as_on_sqlite() {
        let Some(cluster) = Cluster::shared("group_members_answer_as_on_sqlite") else { return };
        let url = cluster.database("members");
        migrate(&mut connect(&url), Database::Central).unwrap();
        let lite = Db::open_sqlite_memory().unwrap();
        for step in schema::sqlite_steps(Database::Central) {
            lite.execute_batch(step).unwrap();
        }
        let (add, read) = (
            "INSERT OR IGNORE INTO group_members(group_id, member_dn, ord)
             VALUES (?1, coalesce((SELECT dn FROM principals WHERE dn = ?2 COLLATE NOCASE), ?2), ?3)",
            "SELECT member_dn FROM group_members WHERE group_id = ?1 ORDER BY ord",
        );
        let texts = inventory();
        for sql in [add, read] {
            assert!(texts.iter().any(|(_, t)| t == sql), "not in the inventory: {sql}");
        }
        let members = ["CN=zed,DC=c", "CN=Ann,DC=c", "CN=ZED,DC=c", "CN=\u{e9}mile,DC=c", "CN=bob,DC=c", "CN=Bob,DC=c"];
        let answers = [lite, Db::open_postgres(&url).unwrap()].map(|db| {
            db.execute_batch("INSERT INTO principals(id, dn, kind, name) VALUES (7, 'CN=G,DC=c', 'Group', 'G')")
                .unwrap();
            for (ord, m) in members.iter().enumerate() {
                db.execute(add, crate::store::db::params![7, *m, ord]).unwrap();
            }
            db.query_map(read, [7], |r| r.get::<String>(0)).unwrap()
        });
        assert_eq!(answers[0], ["CN=zed,DC=c", "CN=Ann,DC=c", "CN=\u{e9}mile,DC=c", "CN=bob,DC=c"]);
        assert_eq!(answers[1], answers[0]);
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

    /// Every upsert of the inventory on a NOCASE key (`ON CONFLICT (k)`, or `INSERT OR IGNORE`
    /// into a table with one) conflicts as on SQLite: written again with the key in another
    /// case, it updates (or keeps) the existing row instead of adding one or failing on the
    /// `lower()` unique index. The tables after both writes are equal on both backends.
    #[test]
    fn nocase_upserts_update_the_existing_row_on_both_backends() {
        use Value::{Integer as I, Null, Text as T};
        let Some(cluster) = Cluster::shared("nocase_upserts_update_the_existing_row_on_both_backends") else { return };
        let pg = |db: Database, tag: &str| {
            let url = cluster.database(tag);
            migrate(&mut connect(&url), db).unwrap();
            Db::open_postgres(&url).unwrap()
        };
        let lite = |db: Database| {
            let conn = Db::open_sqlite_memory().unwrap();
            for step in schema::sqlite_steps(db) {
                conn.execute_batch(step).unwrap();
            }
            conn
        };
        let central = [lite(Database::Central), pg(Database::Central, "upsert_central")];
        let pool = [lite(Database::Pool), pg(Database::Pool, "upsert_pool")];
        let t = |s: &str| T(s.into());
        // Per table: rows it needs first, the two writes (the key in two cases), what is read
        // back, and the rows expected.
        type Case = (&'static str, Vec<Value>, Vec<Value>, &'static str, Vec<Vec<Value>>);
        let cases: Vec<(&str, Case)> = vec![
            (
                "health_test_users",
                (
                    "",
                    vec![t("pc01.contoso.com"), t("sip:a@x.com"), t("sip:b@x.com")],
                    vec![t("PC01.Contoso.COM"), t("sip:c@x.com"), t("sip:d@x.com")],
                    "SELECT pool, user1, user2 FROM health_test_users",
                    vec![vec![t("PC01.Contoso.COM"), t("sip:c@x.com"), t("sip:d@x.com")]],
                ),
            ),
            (
                "principals",
                (
                    "",
                    vec![
                        t("CN=Ann,DC=c"),
                        t("User"),
                        t("Ann"),
                        t("Ann B"),
                        t("sip:ann@x.com"),
                        t("ann"),
                        t("ann@x.com"),
                        Null,
                        t("{}"),
                        t("DC=c"),
                    ],
                    vec![
                        t("cn=ann,dc=C"),
                        t("User"),
                        t("ann"),
                        t("Ann C"),
                        t("SIP:Ann@X.com"),
                        t("ANN"),
                        t("ann@x.com"),
                        Null,
                        t("{}"),
                        t("dc=C"),
                    ],
                    "SELECT dn, name, display_name, sip, sam FROM principals",
                    vec![vec![t("CN=Ann,DC=c"), t("ann"), t("Ann C"), t("SIP:Ann@X.com"), t("ANN")]],
                ),
            ),
            (
                "roles",
                (
                    "",
                    vec![t("Custom Role"), t("S-1"), t("[]"), t("[]")],
                    vec![t("CUSTOM role"), t("S-2"), t("[\"Get-CsUser\"]"), t("[]")],
                    "SELECT identity, sid, cmdlets FROM roles",
                    vec![vec![t("Custom Role"), t("S-1"), t("[\"Get-CsUser\"]")]],
                ),
            ),
            (
                "pool_sync",
                (
                    "",
                    vec![t("pc01.contoso.com"), I(1), I(1)],
                    vec![t("PC01.contoso.com"), I(5), I(2)],
                    "SELECT pool, seq, generation FROM {db}.pool_sync",
                    vec![vec![t("pc01.contoso.com"), I(5), I(2)]],
                ),
            ),
            (
                "group_members",
                (
                    "INSERT INTO principals(id, dn, kind, name) VALUES (7, 'CN=G,DC=c', 'Group', 'G')",
                    vec![I(7), t("CN=Bob,DC=c"), I(0)],
                    vec![I(7), t("cn=BOB,dc=c"), I(1)],
                    "SELECT group_id, member_dn, ord FROM group_members",
                    vec![vec![I(7), t("CN=Bob,DC=c"), I(0)]],
                ),
            ),
        ];
        let table_of = |sql: &str| {
            let rest = sql.strip_prefix("INSERT OR IGNORE INTO ").or(sql.strip_prefix("INSERT OR REPLACE INTO "));
            let rest = rest.or(sql.strip_prefix("INSERT INTO "))?;
            let rest = rest.strip_prefix("{db}.").unwrap_or(rest);
            Some(rest[..rest.find('(')?].to_string())
        };
        let nocase_columns = crate::store::pg::nocase::schema();
        let mut seen = Vec::new();
        for (kind, sql) in inventory() {
            if !(sql.contains("ON CONFLICT") || sql.starts_with("INSERT OR ")) {
                continue;
            }
            let table = table_of(&sql).unwrap_or_else(|| panic!("an upsert into which table? {sql}"));
            // No target (OR IGNORE) conflicts on any key; a target, on the key it names (told
            // by the schema's NOCASE columns, not by the spelling under test).
            let on_nocase_key = match sql.split_once("ON CONFLICT") {
                Some((_, rest)) => rest
                    .trim_start()
                    .strip_prefix('(')
                    .and_then(|r| r.split_once(')'))
                    .is_some_and(|(cols, _)| cols.split(',').any(|c| nocase_columns[&table][c.trim()])),
                None => dialect::nocase_keys().iter().any(|k| k.table == table),
            };
            if !on_nocase_key {
                continue;
            }
            let Some((_, (setup, first, second, read, expected))) = cases.iter().find(|(t, _)| *t == table) else {
                panic!("an upsert on a NOCASE key this test has no case for (add one): {sql}")
            };
            let dbs = if kind == Kind::Pool { &pool } else { &central };
            let answers: Vec<Vec<Vec<Value>>> = dbs
                .iter()
                .map(|db| {
                    let target = if matches!(db, Db::Pg(_)) { Target::Copy("copy") } else { Target::Central };
                    let routed = kind == Kind::Pool;
                    db.begin(Begin::Deferred).unwrap();
                    if !setup.is_empty() {
                        db.execute_batch(setup).unwrap();
                    }
                    for args in [first, second] {
                        let mut stmt = if routed { route(db, target, &sql).prepare() } else { db.prepare(&sql) }
                            .unwrap_or_else(|e| panic!("{e}\n{sql}"));
                        if sql.contains("RETURNING") {
                            let rows = stmt.query_map(params_from_iter(args), |r| r.get::<Value>(0)).unwrap();
                            assert_eq!(rows.count(), 1, "{sql}");
                        } else {
                            stmt.execute(params_from_iter(args)).unwrap_or_else(|e| panic!("{e}\n{sql}"));
                        }
                    }
                    let mut stmt = route(db, target, read).prepare().unwrap();
                    let n = stmt.column_count();
                    let rows = stmt
                        .query_map((), |r| (0..n).map(|i| r.get::<Value>(i)).collect())
                        .unwrap()
                        .collect::<crate::store::db::Result<Vec<Vec<Value>>>>()
                        .unwrap();
                    db.rollback().unwrap();
                    rows
                })
                .collect();
            assert_eq!(&answers[0], expected, "SQLite: {sql}");
            assert_eq!(answers[1], answers[0], "PostgreSQL, then SQLite: {sql}");
            seen.push(table);
        }
        // A table may have several upserts (group_members: a member probed, one known).
        seen.sort();
        seen.dedup();
        let mut tables: Vec<&str> = cases.iter().map(|(t, _)| *t).collect();
        tables.sort();
        assert_eq!(seen, tables, "the upserts on NOCASE keys of the inventory, then the cases of this test");
    }
}
