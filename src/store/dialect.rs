//! What is particular to SQLite in the store's SQL, kept in one place so that another database
//! can supply its own spelling: parameters, list parameters, case-insensitive ordering and name
//! ranges, where a described type's table lives, JSON attributes, and the DDL the store
//! generates at run time (schema version, index rebuilds, change counters). The migrations
//! themselves (`schema.rs`) are SQLite text: released steps are never edited.

use super::db::Value as SqlValue;

use crate::catalog::descriptor::Database;

/// The `n`th (1-based) statement parameter.
pub fn param(n: usize) -> String {
    format!("?{n}")
}

/// A list bound as one parameter, for [`in_json_list`].
pub fn json_list<T: serde::Serialize>(values: &[T]) -> SqlValue {
    SqlValue::Text(serde_json::to_string(values).unwrap_or_else(|_| "[]".into()))
}

/// A truth value as the columns store it (SQLite has no boolean type: 0 or 1).
pub fn boolean(b: bool) -> SqlValue {
    SqlValue::Integer(b as i64)
}

/// `expr` is one of the values of a list passed as one JSON-array parameter (a bare `?`, which
/// the caller numbers with [`param`]).
pub fn in_json_list(expr: &str) -> String {
    format!("{expr} IN (SELECT value FROM json_each(?))")
}

/// Order by `expr` ignoring ASCII case (the columns holding names are declared NOCASE).
pub fn order_nocase(expr: &str) -> String {
    format!("{expr} COLLATE NOCASE")
}

/// A table of the pool database a statement runs on: `{db}` is replaced by the attached
/// schema's name (`Store::pool_write` does it for every copy of the pool's data).
pub fn pool_table(table: &str) -> String {
    format!("{{db}}.{table}")
}

/// A described object type's table in its database (the central database's tables are the
/// connection's own, named bare).
pub fn table(database: Database, table: &str) -> String {
    match database {
        Database::Pool => pool_table(table),
        Database::Central => table.to_string(),
    }
}

/// The text under `key` of the JSON object in `column`; NULL when absent, of another JSON type
/// (a number or a list is not shown as text) or when the column is not JSON at all (CASE
/// short-circuits: json_type would fail on it). `key` is a
/// descriptor's constant, never input.
pub fn json_text(column: &str, key: &str) -> String {
    format!(
        "CASE WHEN json_valid({column}) THEN CASE json_type({column}, '$.{key}') \
         WHEN 'text' THEN json_extract({column}, '$.{key}') END END"
    )
}

/// The statement for one schema: reads run on the serving copy only.
pub fn on_schema(sql: &str, schema: &str) -> String {
    sql.replace("{db}", schema)
}

/// Reads the schema version a database records: how many migration steps it has applied.
pub const SCHEMA_VERSION: &str = "PRAGMA user_version";

/// Records the schema version, in the transaction that applied the steps.
pub fn set_schema_version(version: usize) -> String {
    format!("PRAGMA user_version = {version}")
}

/// The definitions (name, DDL) of a table's secondary indexes, for dropping them before a bulk
/// load and creating them again after it; `?1` is the table. Implicit ones (a UNIQUE or
/// primary key constraint's) have no DDL and stay.
pub const INDEX_DEFINITIONS: &str =
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL";

pub fn drop_index(name: &str) -> String {
    format!("DROP INDEX \"{name}\"")
}

/// DDL of a per-connection counter `temp.<counter>(n)`, starting at 0, that triggers move after
/// each of `events` on the main database: `(table, event)`, the event as a trigger names it
/// (`INSERT`, `DELETE`, `UPDATE OF a, b`).
pub fn change_counter(counter: &str, events: &[(&str, &str)]) -> String {
    let bump = format!("BEGIN UPDATE temp.{counter} SET n = n + 1; END;");
    let mut sql = format!("CREATE TEMP TABLE {counter}(n INTEGER NOT NULL); INSERT INTO temp.{counter} VALUES (0);");
    for (table, event) in events {
        let name = format!("{counter}_{table}_{}", event.split(' ').next().unwrap_or(event).to_lowercase());
        sql.push_str(&format!("CREATE TEMP TRIGGER {name} AFTER {event} ON main.{table} {bump}"));
    }
    sql
}

/// The value of a [`change_counter`].
pub fn read_change_counter(counter: &str) -> String {
    format!("SELECT n FROM temp.{counter}")
}

/// The range `[low, high)` of a NOCASE column holding every name that starts with `prefix` as
/// the filters compare (Unicode simple case folding), for an index range scan in place of a full
/// scan.
/// NOCASE folds ASCII only, so the prefix is cut at its first non-ASCII character, and before
/// `k` and `s`: the Kelvin sign and the long s fold to them, and SQLite would not see that.
pub fn name_prefix_range(prefix: &str) -> Option<(String, Option<String>)> {
    let low: String = prefix
        .chars()
        .map_while(|c| (c.is_ascii() && !matches!(c, 'k' | 'K' | 's' | 'S')).then(|| c.to_ascii_lowercase()))
        .collect();
    let last = low.chars().last()?;
    // The first string past every extension of `low`; none when the last character is the highest.
    let high = (last < '\u{7f}').then(|| format!("{}{}", &low[..low.len() - 1], (last as u8 + 1) as char));
    Some((low, high))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::wildcard::Wildcard;

    #[test]
    fn prefix_range_is_cut_where_nocase_and_case_folding_disagree() {
        assert_eq!(name_prefix_range("Room42-"), Some(("room42-".into(), Some("room42.".into()))));
        assert_eq!(name_prefix_range("Café"), Some(("caf".into(), Some("cag".into()))));
        assert_eq!(name_prefix_range("Desk"), Some(("de".into(), Some("df".into()))));
        assert_eq!(name_prefix_range("a\u{7f}"), Some(("a\u{7f}".into(), None)));
        assert_eq!(name_prefix_range("Sales"), None);
        assert_eq!(name_prefix_range(""), None);
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
            let Some((low, high)) = name_prefix_range(&w.literal_prefix()) else {
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

    #[test]
    fn a_change_counter_moves_with_each_watched_event() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t(a, b)").unwrap();
        conn.execute_batch(&change_counter("c", &[("t", "INSERT"), ("t", "UPDATE OF a")])).unwrap();
        let n = || conn.query_row(&read_change_counter("c"), [], |r| r.get::<_, i64>(0)).unwrap();
        assert_eq!(n(), 0);
        conn.execute_batch("INSERT INTO t VALUES (1, 1); UPDATE t SET b = 2").unwrap();
        assert_eq!(n(), 1, "b is not watched");
        conn.execute_batch("UPDATE t SET a = 2").unwrap();
        assert_eq!(n(), 2);
    }

    #[test]
    fn the_schema_version_and_index_definitions_round_trip() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(&set_schema_version(7)).unwrap();
        assert_eq!(conn.query_row(SCHEMA_VERSION, [], |r| r.get::<_, i64>(0)).unwrap(), 7);
        conn.execute_batch("CREATE TABLE t(a UNIQUE, b); CREATE INDEX t_b ON t(b)").unwrap();
        let defs: Vec<(String, String)> = conn
            .prepare(INDEX_DEFINITIONS)
            .unwrap()
            .query_map(["t"], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(defs, [("t_b".to_string(), "CREATE INDEX t_b ON t(b)".to_string())]);
        conn.execute_batch(&drop_index("t_b")).unwrap();
        conn.execute_batch(&defs[0].1).unwrap();
    }
}
