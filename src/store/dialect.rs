//! What is particular to SQLite in the SQL the store derives from the object descriptors, kept in
//! one place so that another database can supply its own spelling.

use crate::catalog::descriptor::Database;

/// The `n`th (1-based) statement parameter.
pub fn param(n: usize) -> String {
    format!("?{n}")
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
