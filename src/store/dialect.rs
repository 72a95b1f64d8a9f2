//! What is particular to SQLite in the store's SQL, kept in one place so that another database
//! can supply its own spelling: parameters, list parameters, case-insensitive ordering and name
//! ranges, where a described type's table lives, JSON attributes, and the DDL the store
//! generates at run time (schema version, index rebuilds, change counters). The released
//! migrations (`schema.rs`) are SQLite text and are never edited; the schema baseline and every
//! later step are neutral DDL, spelt for a [`Dialect`] by [`Dialect::render`].

use super::db::{List, Value as SqlValue};

use crate::catalog::descriptor::Database;

/// The `n`th (1-based) statement parameter.
pub fn param(n: usize) -> String {
    format!("?{n}")
}

/// A list of integers bound as one parameter, for [`in_json_list`].
pub fn json_list(values: &[i64]) -> SqlValue {
    SqlValue::List(List::integers(values))
}

/// A list of texts bound as one parameter, for [`in_json_list`].
pub fn json_text_list<S: AsRef<str> + serde::Serialize>(values: &[S]) -> SqlValue {
    SqlValue::List(List::texts(values))
}

/// A truth value as the columns store it (SQLite has no boolean type: 0 or 1).
pub fn boolean(b: bool) -> SqlValue {
    SqlValue::Integer(b as i64)
}

/// `expr` is one of the values of a list passed as one parameter ([`json_list`],
/// [`json_text_list`]): a bare `?`, which the caller numbers with [`param`]. See
/// [`in_json_list_sql!`] for a text known when the program is compiled, and [`Dialect::json`] for
/// PostgreSQL's spelling.
pub fn in_json_list(expr: &str) -> String {
    format!(in_json_list_sql!("{}", "?"), expr)
}

/// [`in_json_list`] as a literal: `in_json_list_sql!("room_id", "?1")`.
macro_rules! in_json_list_sql {
    ($expr:literal, $param:literal) => {
        concat!($expr, " IN (SELECT value FROM json_each(", $param, "))")
    };
}
pub(crate) use in_json_list_sql;

/// `(a, b)` is one of the pairs of integers of a list passed as one parameter, a JSON array of
/// two-element arrays (`[[1, 2], [3, 4]]`, bound as text): `in_json_pairs!("(a, b)", "?2")`.
/// SQLite reads the pairs with `json_each`/`json_extract`; see [`Dialect::json`] for PostgreSQL.
macro_rules! in_json_pairs {
    ($pair:literal, $param:literal) => {
        concat!(
            $pair,
            " IN\n     (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(",
            $param,
            "))"
        )
    };
}
pub(crate) use in_json_pairs;

/// The pairs of integers an [`in_json_pairs!`] parameter holds.
pub fn json_pairs(pairs: &[(i64, i64)]) -> SqlValue {
    SqlValue::Text(serde_json::to_string(pairs).unwrap_or_else(|_| "[]".into()))
}

/// Order by `expr` ignoring ASCII case (the columns holding names are declared NOCASE). The
/// PostgreSQL session spells it `lower(expr), expr` ([`Dialect::query`]).
pub fn order_nocase(expr: &str) -> String {
    format!("{expr} COLLATE NOCASE")
}

/// A table of the pool database a statement runs on, in the neutral spelling `{db}.table`
/// (`store::route` spells it for the copy the statement is routed to).
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

/// Reads the schema version a database records: how many migration steps it has applied.
pub const SCHEMA_VERSION: &str = "PRAGMA user_version";

/// Records the schema version, in the transaction that applied the steps.
pub fn set_schema_version(version: usize) -> String {
    format!("PRAGMA user_version = {version}")
}

/// The two databases the store speaks to. Most of this file is SQLite's spelling still (the
/// statements are written once, in it); what has a PostgreSQL spelling already takes a dialect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// The tokens of neutral DDL: `(token, SQLite, PostgreSQL)`. A token with an argument,
/// `{name:arg}`, is spelt by [`Dialect::render`] itself.
///
/// * `{int}`: a 64-bit integer. `bigint` on PostgreSQL, not `integer`: SQLite's INTEGER is 64
///   bits, and the store reads every integer as an i64 (which the `postgres` crate takes from
///   `int8` only).
/// * `{id}`: the row's integer key. SQLite's rowid alias assigns one when an insert gives none
///   (principals rely on it); an identity column `BY DEFAULT` does the same and still takes
///   the ids the store gives.
/// * `{json}`: JSON text. Text on both (a value may be invalid JSON: see `json_text`).
/// * `{time}`: the audit's record time, which the released history left without a type so that
///   it holds milliseconds (integers) and, in stores older than that step, text. A PostgreSQL
///   store only ever writes milliseconds; copying an older trail into one converts its text
///   times (they round-trip, see `audit_packing::time_millis`).
/// * `{nocase}`: after a column's type, compare it ignoring ASCII case. PostgreSQL databases are
///   created with the C locale, where `lower()` folds ASCII only as NOCASE does, so there the
///   column is plain and its keys and indexes are on `lower(column)`.
/// * `{binary}`: after an operand, compare it exactly even where it is a NOCASE column (SQLite
///   would take the column's collation); PostgreSQL's C-locale text compares exactly already.
/// * `{without_rowid}`: SQLite's clustered table; PostgreSQL has no such storage.
const TOKENS: &[(&str, &str, &str)] = &[
    ("int", "INTEGER", "bigint"),
    ("id", "INTEGER PRIMARY KEY", "bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"),
    ("bytes", "BLOB", "bytea"),
    ("json", "TEXT", "text"),
    ("time", "", "bigint"),
    ("nocase", "COLLATE NOCASE", ""),
    ("binary", "COLLATE BINARY", ""),
    ("without_rowid", "WITHOUT ROWID", ""),
];

impl Dialect {
    /// Neutral DDL in this dialect. Besides [`TOKENS`]:
    ///
    /// * `{nocase:expr}`, an index key compared ignoring ASCII case: `expr COLLATE NOCASE` on
    ///   SQLite, `lower(expr)` on PostgreSQL.
    /// * `{nocase_key:name ON table(key)}`, after a table whose primary or unique key holds a
    ///   NOCASE column (the key as the table declares it, its NOCASE columns as
    ///   `{nocase:column}`): nothing on SQLite, whose key already compares so; on PostgreSQL
    ///   the unique index `name` on the key with `lower()`. The table keeps its exact key there
    ///   too, because a foreign key must reference a plain key, and the lower() one implies it.
    ///
    /// The text is the program's own, never input: an unknown or unclosed token is an error
    /// in it.
    pub fn render(self, ddl: &str) -> anyhow::Result<String> {
        let mut out = String::with_capacity(ddl.len());
        let mut rest = ddl;
        while let Some(at) = rest.find(['{', '}', '\'', '-']) {
            out.push_str(&rest[..at]);
            let tail = &rest[at + 1..];
            match rest.as_bytes()[at] {
                // A comment is copied as it is (its apostrophes open no string).
                b'-' if tail.starts_with('-') => {
                    let end = tail.find('\n').map_or(tail.len(), |n| n + 1);
                    out.push_str(&rest[at..at + 1 + end]);
                    rest = &tail[end..];
                }
                b'-' => {
                    out.push('-');
                    rest = tail;
                }
                // A string literal is copied as it is: `DEFAULT '{}'` is JSON, not a token. (An
                // escaped quote, '', is two literals in a row.)
                b'\'' => {
                    let end = tail.find('\'').ok_or_else(|| anyhow::anyhow!("unclosed ' in DDL: {}", &rest[at..]))?;
                    out.push_str(&rest[at..at + end + 2]);
                    rest = &tail[end + 1..];
                }
                b'{' => {
                    // Tokens nest (`{nocase_key:… ({nocase:c})}`): a token ends at its matching brace.
                    let mut depth = 1;
                    let end = tail
                        .char_indices()
                        .find(|&(_, c)| {
                            depth += match c {
                                '{' => 1,
                                '}' => -1,
                                _ => 0,
                            };
                            depth == 0
                        })
                        .map(|(i, _)| i)
                        .ok_or_else(|| anyhow::anyhow!("unclosed {{ in DDL: {}", &rest[at..]))?;
                    out.push_str(&self.token(&tail[..end])?);
                    rest = &tail[end + 1..];
                }
                _ => anyhow::bail!("unopened }} in DDL: {}", &rest[at..]),
            }
        }
        out.push_str(rest);
        Ok(out)
    }

    fn token(self, token: &str) -> anyhow::Result<String> {
        match token.split_once(':') {
            None => TOKENS
                .iter()
                .find(|(name, ..)| *name == token)
                .map(|&(_, sqlite, postgres)| {
                    match self {
                        Dialect::Sqlite => sqlite,
                        Dialect::Postgres => postgres,
                    }
                    .to_string()
                })
                .ok_or_else(|| anyhow::anyhow!("unknown DDL token {{{token}}}")),
            Some(("nocase", expr)) => {
                let expr = self.render(expr)?;
                Ok(match self {
                    Dialect::Sqlite => format!("{expr} COLLATE NOCASE"),
                    Dialect::Postgres => format!("lower({expr})"),
                })
            }
            Some(("nocase_key", index)) => Ok(match self {
                Dialect::Sqlite => String::new(),
                Dialect::Postgres => format!("CREATE UNIQUE INDEX {}", self.render(index)?),
            }),
            Some(_) => anyhow::bail!("unknown DDL token {{{token}}}"),
        }
    }

    /// A column type of the released SQLite history as this dialect declares it (what
    /// [`TOKENS`] render it to; TEXT is written as it is).
    #[cfg(test)]
    pub fn column_type(self, sqlite: &str) -> Option<&'static str> {
        if sqlite.eq_ignore_ascii_case("TEXT") {
            return Some(match self {
                Dialect::Sqlite => "TEXT",
                Dialect::Postgres => "text",
            });
        }
        TOKENS.iter().filter(|(name, ..)| !matches!(*name, "id" | "nocase" | "binary" | "without_rowid")).find_map(
            |&(_, s, p)| {
                (s == sqlite).then_some(match self {
                    Dialect::Sqlite => s,
                    Dialect::Postgres => p,
                })
            },
        )
    }
}

impl Dialect {
    /// A statement of the store (neutral: SQLite's spelling, `?N` parameters) as this dialect
    /// runs it. SQLite runs the text as it is (borrowed: no work on its statement paths). The
    /// PostgreSQL session spells it once per text, when it prepares it (the result is cached
    /// with the statement, as `?N`→`$N` is), so a construct that can be spelt from the text
    /// alone is spelt here rather than at each site that builds a text:
    ///
    /// * `INSERT OR IGNORE INTO …` → `INSERT INTO … ON CONFLICT DO NOTHING` (§1; a single INSERT
    ///   without ON CONFLICT or RETURNING of its own).
    /// * `INSERT OR REPLACE INTO t(k, a, b) VALUES …` → `INSERT INTO t(k, a, b) VALUES … ON
    ///   CONFLICT (k) DO UPDATE SET a = excluded.a, b = excluded.b`: the first column named must
    ///   be the table's key (the server refuses the text otherwise). SQLite's OR REPLACE deletes
    ///   the row and inserts another; the same for a row without children or triggers, the only
    ///   kind it is used on (the audit head).
    /// * `X COLLATE NOCASE` as an ORDER BY term → `lower(X), X` (§2: ASCII case folded by the
    ///   C locale's `lower()`, then exact, so the order is total as NOCASE's ties are not).
    /// * `L op R COLLATE NOCASE` → `lower(L) op lower(R)`, which the `lower()` key indexes serve,
    ///   for `op` one of `=`, `<>`, `!=`, `<`, `<=`, `>`, `>=`: ranges too, since NOCASE compares
    ///   ASCII-lowered text as the C collation compares `lower()`'s. Also for `LIKE` and `NOT
    ///   LIKE` (an `ESCAPE` after it stays): SQLite's LIKE ignores ASCII case whatever the
    ///   collation, PostgreSQL's does not; the explicit `COLLATE NOCASE` marks the pattern as
    ///   one compared so.
    /// * `X COLLATE NOCASE [NOT] IN (a, b)` → `lower(X) [NOT] IN (lower(a), lower(b))`, and
    ///   `X COLLATE NOCASE IN (SELECT v FROM …)` → `lower(X) IN (SELECT lower(v) FROM …)`.
    /// * `X COLLATE BINARY` → `X`: an exact comparison of a NOCASE column (SQLite would take the
    ///   column's collation), which PostgreSQL's C-locale text is already.
    /// * `INSERT INTO t(…) … ON CONFLICT (k, …)` where `(k, …)` is a unique key of `t` holding a
    ///   NOCASE column → `ON CONFLICT (k, lower(c), …)`: the key as PostgreSQL's `lower()`
    ///   unique index declares it ([`nocase_keys`], from the schema's `{nocase_key:…}`), so
    ///   that a row whose key differs in case only conflicts as in SQLite (the plain key, which
    ///   PostgreSQL keeps too, would not match it, and the `lower()` index would then refuse the
    ///   row instead of updating it). Also the key `INSERT OR REPLACE` conflicts on.
    ///
    /// `X`, `L` and `R` are a column (`t.c`), a parameter (`?1`), a string literal or a
    /// parenthesised expression, possibly a call (`coalesce(a, b)`); write `('Tag:' || ?1) COLLATE NOCASE`,
    /// not `'Tag:' || ?1 COLLATE NOCASE` (the same in SQLite, whose explicit collation
    /// spreads through `||`). A `COLLATE NOCASE` in any other place is left as it is, and the
    /// server refuses it: `store::pg::statements` prepares every text of the store.
    pub fn query(self, sql: &str) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        if self == Dialect::Sqlite
            || !(sql.contains(NOCASE)
                || sql.contains(BINARY)
                || sql.starts_with("INSERT OR ")
                || sql.contains(CONFLICT))
        {
            return Cow::Borrowed(sql);
        }
        let mut out = if let Some(rest) = sql.strip_prefix(OR_IGNORE) {
            format!("INSERT INTO {} ON CONFLICT DO NOTHING", rest.trim_end())
        } else if let Some(rest) = sql.strip_prefix(OR_REPLACE) {
            match or_replace(rest) {
                Some(spelt) => spelt,
                None => return Cow::Borrowed(sql),
            }
        } else {
            sql.to_string()
        };
        if let Some((range, target)) = nocase_conflict_target(&out) {
            out.replace_range(range, &target);
        }
        let mut from = 0;
        while let Some(at) = find_outside_literals(&out, BINARY, from) {
            out.replace_range(at..at + BINARY.len(), "");
            from = at;
        }
        let mut from = 0;
        while let Some(at) = find_outside_literals(&out, NOCASE, from) {
            match spell_nocase(&out, at) {
                Some((range, spelt)) => {
                    let start = range.start;
                    out.replace_range(range, &spelt);
                    from = start + spelt.len();
                }
                None => from = at + NOCASE.len(),
            }
        }
        Cow::Owned(out)
    }
}

impl Dialect {
    /// Text parameter `n` where it is first met in a statement: PostgreSQL types a parameter from
    /// its first use, and `?n IS NULL` says nothing of its type ("could not determine data type").
    pub fn text_param(self, n: usize) -> String {
        match self {
            Dialect::Sqlite => param(n),
            Dialect::Postgres => format!("CAST(?{n} AS text)"),
        }
    }

    /// `column op bound` for a time column holding milliseconds (`?millis`) or, in a SQLite store
    /// older than central step 10, text (`?text`, compared as text); true when the bound is
    /// NULL. A PostgreSQL column holds milliseconds only (`{time}` is `bigint`): the text
    /// bound is only tested for NULL there, cast so that the server can type it.
    pub fn time_bound(self, column: &str, op: &str, text: usize, millis: usize) -> String {
        match self {
            Dialect::Sqlite => format!(
                "({} IS NULL OR CASE typeof({column}) WHEN 'integer' THEN {column} {op} ?{millis} \
                 ELSE {column} {op} ?{text} END)",
                self.text_param(text)
            ),
            Dialect::Postgres => format!("({} IS NULL OR {column} {op} ?{millis})", self.text_param(text)),
        }
    }
}

impl Dialect {
    /// The JSON SQLite reads for the store, as PostgreSQL reads it; SQLite's text as it is
    /// (borrowed). Kept apart from [`Dialect::query`] (whose spellings are of the text's SQL, not
    /// of its JSON), and applied after it when the PostgreSQL session prepares a text:
    ///
    /// * `x IN (SELECT value FROM json_each(?n))` ([`in_json_list`]) → `x = ANY(?n)`: the list
    ///   parameter ([`List`]) binds as the array the server infers (`int8[]`, `text[]`). Same
    ///   answers: no row twice for a duplicate, none for an empty list, NULL for a NULL `x`.
    /// * The pairs of [`in_json_pairs!`] → the rows of a jsonb array, `(a, b) IN (SELECT
    ///   CAST(pair ->> 0 AS bigint), CAST(pair ->> 1 AS bigint) FROM
    ///   jsonb_array_elements(CAST(?n AS jsonb)) AS pair)`: the parameter stays the JSON text
    ///   SQLite binds, and each pair is a probe of the key it belongs to (a nested loop over the
    ///   messages' primary key, as in SQLite).
    /// * [`json_text`] → the same test on `json`: `pchat_json_valid(c)` (central step 13; the
    ///   cast would fail on invalid JSON where SQLite's CASE short-circuits), then, in an object,
    ///   the value of the first member named `key` when it is a JSON string (`json_typeof` calls
    ///   it `string`, SQLite's `json_type` `text`). `json`, not `jsonb`, and the first member by
    ///   position: with a key given twice SQLite answers the first, jsonb keeps only the last.
    ///   (CASE, not AND: PostgreSQL does not promise to test the operands of AND in order.)
    /// * `json_each(c)` over a column, the entries of a JSON object → `jsonb_each(CAST(c AS
    ///   jsonb))` (`key` and `value`). Unguarded on purpose: SQLite's `json_each` fails on
    ///   invalid JSON, and so does the cast.
    pub fn json(self, sql: &str) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow;
        if self == Dialect::Sqlite || !sql.contains("json_") {
            return Cow::Borrowed(sql);
        }
        let mut out = sql.to_string();
        let pairs = in_json_pairs!("", "");
        let (pairs_open, pairs_close) = pairs.split_at(pairs.len() - 2);
        let list = in_json_list_sql!("", "");
        let (list_open, list_close) = list.split_at(list.len() - 2);
        replace_each(&mut out, pairs_open, |rest| {
            let (param, len) = parameter(rest, pairs_close)?;
            Some((
                len,
                format!(
                    " IN (SELECT CAST(pair ->> 0 AS bigint), CAST(pair ->> 1 AS bigint) \
                     FROM jsonb_array_elements(CAST({param} AS jsonb)) AS pair)"
                ),
            ))
        });
        replace_each(&mut out, list_open, |rest| {
            let (param, len) = parameter(rest, list_close)?;
            Some((len, format!(" = ANY({param})")))
        });
        // `X COLLATE NOCASE IN (list)`, which `Dialect::query` spelt first: the list's texts are
        // lowered as the column is.
        replace_each(&mut out, " IN (SELECT lower(value) FROM json_each(", |rest| {
            let (param, len) = parameter(rest, list_close)?;
            Some((len, format!(" IN (SELECT lower(v) FROM unnest(CAST({param} AS text[])) AS v)")))
        });
        replace_each(&mut out, "CASE WHEN json_valid(", |rest| {
            let column = &rest[..rest.find(')')?];
            let key_at = rest.find("'$.")? + 3;
            let key = &rest[key_at..key_at + rest[key_at..].find('\'')?];
            let sqlite = json_text(column, key);
            rest.starts_with(&sqlite[sqlite.find('(')? + 1..]).then(|| {
                let json = format!("CAST({column} AS json)");
                (
                    sqlite.len() - "CASE WHEN json_valid(".len(),
                    format!(
                        "CASE WHEN pchat_json_valid({column}) THEN CASE json_typeof({json}) WHEN 'object' THEN \
                         (SELECT CASE json_typeof(e.value) WHEN 'string' THEN e.value #>> '{{}}' END \
                         FROM json_each({json}) WITH ORDINALITY AS e(key, value, n) WHERE e.key = '{key}' \
                         ORDER BY e.n LIMIT 1) END END"
                    ),
                )
            })
        });
        replace_each(&mut out, "json_each(", |rest| {
            let column = &rest[..rest.find(')')?];
            let plain =
                !column.is_empty() && column.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
            plain.then(|| (column.len() + 1, format!("jsonb_each(CAST({column} AS jsonb))")))
        });
        if out == sql { Cow::Borrowed(sql) } else { Cow::Owned(out) }
    }
}

/// Replaces each `open` outside string literals, and the text after it that `spell` consumes
/// (how many bytes of what follows `open`, and the replacement of the whole); an `open` that
/// `spell` declines stays.
fn replace_each(sql: &mut String, open: &str, spell: impl Fn(&str) -> Option<(usize, String)>) {
    let mut from = 0;
    while let Some(at) = find_outside_literals(sql, open, from) {
        let rest = &sql[at + open.len()..];
        match spell(rest) {
            Some((len, spelt)) => {
                sql.replace_range(at..at + open.len() + len, &spelt);
                from = at + spelt.len();
            }
            None => from = at + open.len(),
        }
    }
}

/// The parameter `?n` at the start of `rest` when `close` follows it: the parameter, and the
/// length of both.
fn parameter<'a>(rest: &'a str, close: &str) -> Option<(&'a str, usize)> {
    let digits = rest.strip_prefix('?')?.bytes().take_while(u8::is_ascii_digit).count();
    let param = &rest[..1 + digits];
    (digits > 0 && rest[param.len()..].starts_with(close)).then_some((param, param.len() + close.len()))
}

const NOCASE: &str = " COLLATE NOCASE";
const BINARY: &str = " COLLATE BINARY";
const CONFLICT: &str = "ON CONFLICT";
const OR_IGNORE: &str = "INSERT OR IGNORE INTO ";
const OR_REPLACE: &str = "INSERT OR REPLACE INTO ";

/// `t(k, a, b) VALUES …` (what follows `INSERT OR REPLACE INTO `) as an upsert on `k`.
fn or_replace(rest: &str) -> Option<String> {
    let open = rest.find('(')?;
    let close = open + rest[open..].find(')')?;
    let mut columns = rest[open + 1..close].split(',').map(str::trim);
    let key = columns.next()?;
    let sets: Vec<String> = columns.map(|c| format!("{c} = excluded.{c}")).collect();
    let action = if sets.is_empty() { "NOTHING".to_string() } else { format!("UPDATE SET {}", sets.join(", ")) };
    Some(format!("INSERT INTO {} ON CONFLICT ({key}) DO {action}", rest.trim_end()))
}

/// A unique key holding a NOCASE column: PostgreSQL enforces it with a `lower()` unique index
/// besides the plain key (design notes §2), which is what an upsert on it must name.
#[derive(Debug, PartialEq)]
pub struct NocaseKey {
    pub table: String,
    /// The key's columns as the table names them.
    pub columns: Vec<String>,
    /// The key as PostgreSQL's unique index declares it (`group_id, lower(member_dn)`).
    pub postgres: String,
}

/// Every NOCASE key of the schema (both databases), read from the `{nocase_key:name ON
/// t(key)}` tokens of the baseline and the later steps: the keys PostgreSQL has a `lower()`
/// unique index for, written once there.
pub fn nocase_keys() -> &'static [NocaseKey] {
    use super::schema;
    static KEYS: std::sync::LazyLock<Vec<NocaseKey>> = std::sync::LazyLock::new(|| {
        let mut keys = Vec::new();
        for db in [Database::Central, Database::Pool] {
            let ddl = std::iter::once(schema::baseline(db).ddl).chain(schema::later(db).iter().map(|s| s.neutral()));
            for text in ddl {
                let mut rest = text;
                while let Some(at) = rest.find("{nocase_key:") {
                    rest = &rest[at + "{nocase_key:".len()..];
                    // The schema is this program's text; a unit test reads every key.
                    let key = nocase_key(rest).unwrap_or_else(|| panic!("a {{nocase_key:…}} token: {rest}"));
                    keys.push(key);
                }
            }
        }
        keys
    });
    &KEYS
}

/// `name ON t(a, {nocase:b})}…` (what follows `{nocase_key:`) as a [`NocaseKey`].
fn nocase_key(token: &str) -> Option<NocaseKey> {
    let (_, on) = token.split_once(" ON ")?;
    let open = on.find('(')?;
    let table = on[..open].trim().to_string();
    let close = after_close(on, open)?;
    let key = &on[open + 1..close - 1];
    let columns = list_items(&key.replace(['{', '}'], " "))
        .iter()
        .map(|c| c.trim().trim_start_matches("nocase:").trim().to_string())
        .collect();
    let postgres = Dialect::Postgres.render(key).ok()?;
    Some(NocaseKey { table, columns, postgres })
}

/// The conflict target of an `INSERT INTO t(…) … ON CONFLICT (cols)` that names a NOCASE key of
/// `t` (the columns in any order): its range in `sql` (the parenthesised columns) and the key
/// as PostgreSQL's `lower()` index declares it.
fn nocase_conflict_target(sql: &str) -> Option<(std::ops::Range<usize>, String)> {
    let table = sql.trim_start().strip_prefix("INSERT INTO ")?.trim_start();
    let table = table.strip_prefix("{db}.").unwrap_or(table);
    let table = &table[..table.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?];
    let at = find_outside_literals(sql, CONFLICT, 0)?;
    let open = at + CONFLICT.len() + sql[at + CONFLICT.len()..].find(|c: char| !c.is_whitespace())?;
    if sql.as_bytes()[open] != b'(' {
        return None;
    }
    let close = after_close(sql, open)?;
    let mut columns: Vec<&str> = list_items(&sql[open + 1..close - 1]);
    columns.sort_unstable();
    let key = nocase_keys().iter().find(|k| {
        let mut named: Vec<&str> = k.columns.iter().map(String::as_str).collect();
        named.sort_unstable();
        k.table == table && named == columns
    })?;
    Some((open..close, format!("({})", key.postgres)))
}

/// The first `needle` at or after `from` that is not inside a string literal.
fn find_outside_literals(sql: &str, needle: &str, from: usize) -> Option<usize> {
    let mut quoted = false;
    for (i, c) in sql.char_indices() {
        if c == '\'' {
            quoted = !quoted;
        } else if i >= from && !quoted && sql[i..].starts_with(needle) {
            return Some(i);
        }
    }
    None
}

/// The operand that ends at byte `end` of `sql`: its start. A column or parameter
/// (`[A-Za-z0-9_.?]`), a string literal, or a parenthesised expression with the name of the
/// function it calls.
fn operand_start(sql: &str, end: usize) -> Option<usize> {
    let bytes = sql.as_bytes();
    let word = |i: usize| bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'_' | b'.' | b'?');
    let mut start = end;
    if start > 0 && bytes[start - 1] == b'\'' {
        // Back to the opening quote; an escaped quote ('') is two literals in a row.
        start -= 1;
        loop {
            start = start.checked_sub(1)?;
            if bytes[start] == b'\'' {
                if start > 0 && bytes[start - 1] == b'\'' {
                    start -= 1;
                    continue;
                }
                return Some(start);
            }
        }
    }
    if start > 0 && bytes[start - 1] == b')' {
        let (mut depth, mut quoted) = (0, false);
        loop {
            start = start.checked_sub(1)?;
            match bytes[start] {
                b'\'' => quoted = !quoted,
                b')' if !quoted => depth += 1,
                b'(' if !quoted => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                break;
            }
        }
    }
    while start > 0 && word(start - 1) {
        start -= 1;
    }
    (start < end).then_some(start)
}

/// The byte after the parenthesis that closes the one at `open` (outside literals).
fn after_close(sql: &str, open: usize) -> Option<usize> {
    let (mut depth, mut quoted) = (0, false);
    for (i, c) in sql[open..].char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// The items of a list's inside, split at commas outside parentheses and literals.
fn list_items(inside: &str) -> Vec<&str> {
    let (mut items, mut start, mut depth, mut quoted) = (Vec::new(), 0, 0i32, false);
    for (i, c) in inside.char_indices() {
        match c {
            '\'' => quoted = !quoted,
            '(' if !quoted => depth += 1,
            ')' if !quoted => depth -= 1,
            ',' if !quoted && depth == 0 => {
                items.push(inside[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(inside[start..].trim());
    items
}

/// `e` folded by `lower()`; a bare parameter is cast, for `lower`'s range overloads leave the
/// server unable to type it.
fn lower(e: &str) -> String {
    if e.starts_with('?') { format!("lower(CAST({e} AS text))") } else { format!("lower({e})") }
}

/// The comparisons spelt `lower(L) op lower(R)`; longer first, so that `<=` is not read as `=`.
const NOCASE_OPERATORS: &[&str] = &["NOT LIKE", "LIKE", "<=", ">=", "<>", "!=", "=", "<", ">"];

/// The spelling of the NOCASE operand that ends at `at` (where ` COLLATE NOCASE` starts): the
/// range of the text it replaces and the replacement, or `None` when it is not in one of the
/// places [`Dialect::query`] spells.
fn spell_nocase(sql: &str, at: usize) -> Option<(std::ops::Range<usize>, String)> {
    let start = operand_start(sql, at)?;
    let operand = &sql[start..at];
    let end = at + NOCASE.len();
    let before = sql[..start].trim_end();
    if before.ends_with("ORDER BY") || before.ends_with(',') && sql[..start].contains("ORDER BY") {
        return Some((start..end, format!("lower({operand}), {operand}")));
    }
    // `X COLLATE NOCASE [NOT] IN (list)`: each item folded, or the one column a subquery selects.
    let after = &sql[end..];
    if let Some(rest) = after.strip_prefix(" IN (").or_else(|| after.strip_prefix(" NOT IN (")) {
        let open = sql.len() - rest.len() - 1;
        let close = after_close(sql, open)?;
        let inside = &sql[open + 1..close - 1];
        let list = match inside.trim_start().strip_prefix("SELECT ") {
            Some(select) => {
                let (column, from) = select.split_once(" FROM ")?;
                if list_items(column).len() != 1 {
                    return None;
                }
                format!("SELECT {} FROM {from}", lower(column.trim()))
            }
            None => list_items(inside).iter().map(|i| lower(i)).collect::<Vec<_>>().join(", "),
        };
        let not = if after.starts_with(" NOT") { " NOT" } else { "" };
        return Some((start..close, format!("{}{not} IN ({list})", lower(operand))));
    }
    let op = NOCASE_OPERATORS.iter().find(|op| before.ends_with(*op))?;
    let left_end = before[..before.len() - op.len()].trim_end().len();
    // A word operator must stand alone (`xLIKE` is not `x LIKE`).
    if op.ends_with("LIKE") && left_end == before.len() - op.len() {
        return None;
    }
    let left_start = operand_start(sql, left_end)?;
    let left = &sql[left_start..left_end];
    Some((left_start..end, format!("{} {op} {}", lower(left), lower(operand))))
}

/// PostgreSQL has no `user_version`: its version is this table's one row, written in the
/// migrating transaction. The row names the schema too (`central` or `pool`), so that one
/// kind of database is never migrated as the other. Created by the migration, under its lock.
pub const PG_SCHEMA_VERSION_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_version (
    id integer PRIMARY KEY CHECK (id = 1),
    schema text NOT NULL,
    version bigint NOT NULL
)";

/// The schema and version a PostgreSQL database records; no row: a new database.
pub const PG_SCHEMA_VERSION: &str = "SELECT schema, version FROM schema_version WHERE id = 1";

/// Records the schema and version (`$1`, `$2`) of a PostgreSQL database.
pub const PG_SET_SCHEMA_VERSION: &str = "INSERT INTO schema_version(id, schema, version) VALUES (1, $1, $2)
    ON CONFLICT (id) DO UPDATE SET schema = excluded.schema, version = excluded.version";

/// PostgreSQL: which of a batch of archived messages a pool copy holds already (Import skips a
/// MessageId its room holds at that time, as `store::message`'s per-message check on SQLite):
/// the batch as three arrays (`?1` room ids, `?2` times, `?3` MessageIds; [`json_list`],
/// [`json_text_list`]) and the answer as the 1-based positions of the held ones. One round trip
/// per batch instead of one per message; each position probes the primary key
/// (room_id, posted_at, …) as SQLite's check does.
pub const PG_MESSAGES_HELD: &str =
    "SELECT k.n FROM unnest(CAST(?1 AS bigint[]), CAST(?2 AS bigint[]), CAST(?3 AS text[]))
     WITH ORDINALITY AS k(room_id, posted_at, message_id, n)
     WHERE EXISTS (SELECT 1 FROM {db}.messages m
                    WHERE m.room_id = k.room_id AND m.posted_at = k.posted_at AND m.message_id = k.message_id)";

/// PostgreSQL: a batch of messages into a pool copy's session, in COPY's text format, the
/// columns in this order (`store::message_batch`).
pub const PG_COPY_MESSAGES: &str =
    "COPY messages (room_id, posted_at, id, message_id, sender, text, replaced, size_bytes) FROM STDIN";

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
    // Both bounds are compared ASCII-lowered (NOCASE; `lower()` on PostgreSQL, C collation), so
    // the successor of `@` is `[`: `A` would be read as `a`, past `[`..`` ` `` (more rows, not fewer).
    let next = match last as u8 + 1 {
        b'A' => b'[',
        c => c,
    };
    let high = (last < '\u{7f}').then(|| format!("{}{}", &low[..low.len() - 1], next as char));
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
        assert_eq!(name_prefix_range("Ro@"), Some(("ro@".into(), Some("ro[".into()))));
        assert_eq!(name_prefix_range("Sales"), None);
        assert_eq!(name_prefix_range(""), None);
    }

    /// The range must hold every name the wildcard matches (it may hold more).
    #[test]
    fn prefix_range_holds_every_wildcard_match() {
        let conn = crate::store::db::Db::open_sqlite_memory().unwrap();
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
                .query_map(
                    "SELECT name FROM t WHERE name >= ?1 AND (?2 IS NULL OR name < ?2)",
                    crate::store::db::params![low, high],
                    |r| r.get(0),
                )
                .unwrap();
            for e in expected {
                assert!(in_range.iter().any(|n| n == e), "{pattern}: {e} outside [{low}, {high:?})");
            }
        }
    }

    #[test]
    fn a_change_counter_moves_with_each_watched_event() {
        let conn = crate::store::db::Db::open_sqlite_memory().unwrap();
        conn.execute_batch("CREATE TABLE t(a, b)").unwrap();
        conn.execute_batch(&change_counter("c", &[("t", "INSERT"), ("t", "UPDATE OF a")])).unwrap();
        let n = || conn.query_row(&read_change_counter("c"), (), |r| r.get::<i64>(0)).unwrap();
        assert_eq!(n(), 0);
        conn.execute_batch("INSERT INTO t VALUES (1, 1); UPDATE t SET b = 2").unwrap();
        assert_eq!(n(), 1, "b is not watched");
        conn.execute_batch("UPDATE t SET a = 2").unwrap();
        assert_eq!(n(), 2);
    }

    #[test]
    fn neutral_ddl_renders_for_each_dialect() {
        let ddl = "CREATE TABLE t (id {id}, name TEXT NOT NULL {nocase}, attrs {json} DEFAULT '{}', at {time}) {without_rowid};
-- a comment's {braces} and apostrophe's stay
{nocase_key:t_name_nocase ON t(id, {nocase:name})};
CREATE INDEX t_order ON t({nocase:coalesce(name, 'x-{y}')}) WHERE at > -1;";
        assert_eq!(
            Dialect::Sqlite.render(ddl).unwrap(),
            "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL COLLATE NOCASE, attrs TEXT DEFAULT '{}', at ) WITHOUT ROWID;
-- a comment's {braces} and apostrophe's stay
;
CREATE INDEX t_order ON t(coalesce(name, 'x-{y}') COLLATE NOCASE) WHERE at > -1;"
        );
        assert_eq!(
            Dialect::Postgres.render(ddl).unwrap(),
            "CREATE TABLE t (id bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name TEXT NOT NULL , attrs text DEFAULT '{}', at bigint) ;
-- a comment's {braces} and apostrophe's stay
CREATE UNIQUE INDEX t_name_nocase ON t(id, lower(name));
CREATE INDEX t_order ON t(lower(coalesce(name, 'x-{y}'))) WHERE at > -1;"
        );
        for bad in ["{integer}", "{int", "int}", "'open", "{nocase_index:x}"] {
            assert!(Dialect::Sqlite.render(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn queries_are_spelt_for_postgres() {
        let cases = [
            ("SELECT 1 FROM t WHERE a = ?1", "SELECT 1 FROM t WHERE a = ?1"),
            (
                "INSERT OR IGNORE INTO g(a, b) VALUES (?1, ?2)",
                "INSERT INTO g(a, b) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
            ),
            (
                "SELECT a FROM t ORDER BY coalesce(d, n) COLLATE NOCASE, t.dn COLLATE NOCASE LIMIT ?1",
                "SELECT a FROM t ORDER BY lower(coalesce(d, n)), coalesce(d, n), lower(t.dn), t.dn LIMIT ?1",
            ),
            (
                "SELECT 1 FROM p WHERE identity = ('Tag:' || ?1) COLLATE NOCASE",
                "SELECT 1 FROM p WHERE lower(identity) = lower(('Tag:' || ?1))",
            ),
            (
                "SELECT 1 FROM a WHERE (?1 IS NULL OR actor = ?1 COLLATE NOCASE) AND x = 'y COLLATE NOCASE'",
                "SELECT 1 FROM a WHERE (?1 IS NULL OR lower(actor) = lower(CAST(?1 AS text))) AND x = 'y COLLATE NOCASE'",
            ),
            (
                "INSERT OR REPLACE INTO h(id, count, hash) VALUES (1, ?1, ?2)",
                "INSERT INTO h(id, count, hash) VALUES (1, ?1, ?2) ON CONFLICT (id) DO UPDATE SET count = excluded.count, hash = excluded.hash",
            ),
            (
                "SELECT 1 FROM r WHERE r.pool = ?1 COLLATE NOCASE AND r.name >= ?2 COLLATE NOCASE AND r.name < ?3 COLLATE NOCASE",
                "SELECT 1 FROM r WHERE lower(r.pool) = lower(CAST(?1 AS text)) AND lower(r.name) >= lower(CAST(?2 AS text)) AND lower(r.name) < lower(CAST(?3 AS text))",
            ),
            (
                "SELECT 1 FROM t WHERE a <> 'Global' COLLATE NOCASE OR b != ?2 COLLATE NOCASE OR c <= ?3 COLLATE NOCASE OR d > ?4 COLLATE NOCASE",
                "SELECT 1 FROM t WHERE lower(a) <> lower('Global') OR lower(b) != lower(CAST(?2 AS text)) OR lower(c) <= lower(CAST(?3 AS text)) OR lower(d) > lower(CAST(?4 AS text))",
            ),
            (
                "SELECT 1 FROM t WHERE name LIKE ?1 COLLATE NOCASE ESCAPE '\\' AND name NOT LIKE 'it''s%' COLLATE NOCASE",
                "SELECT 1 FROM t WHERE lower(name) LIKE lower(CAST(?1 AS text)) ESCAPE '\\' AND lower(name) NOT LIKE lower('it''s%')",
            ),
            (
                "SELECT 1 FROM c WHERE identity COLLATE NOCASE IN (?1, ('Tag:' || u.policy), 'Global') ORDER BY CASE WHEN identity = ?1 COLLATE NOCASE THEN 0 ELSE 1 END",
                "SELECT 1 FROM c WHERE lower(identity) IN (lower(CAST(?1 AS text)), lower(('Tag:' || u.policy)), lower('Global')) ORDER BY CASE WHEN lower(identity) = lower(CAST(?1 AS text)) THEN 0 ELSE 1 END",
            ),
            (
                "DELETE FROM p WHERE ep COLLATE NOCASE NOT IN (SELECT pool FROM s WHERE role = ?1) AND e.x COLLATE NOCASE IN (SELECT value FROM json_each(?2))",
                "DELETE FROM p WHERE lower(ep) NOT IN (SELECT lower(pool) FROM s WHERE role = ?1) AND lower(e.x) IN (SELECT lower(value) FROM json_each(?2))",
            ),
            // Upserts on a NOCASE key name its lower() index; others are left as they are.
            (
                "INSERT INTO {db}.pool_sync(pool, seq, generation) VALUES (?1, ?2, ?3)\n     ON CONFLICT(pool) DO UPDATE SET seq = excluded.seq",
                "INSERT INTO {db}.pool_sync(pool, seq, generation) VALUES (?1, ?2, ?3)\n     ON CONFLICT(lower(pool)) DO UPDATE SET seq = excluded.seq",
            ),
            (
                "INSERT INTO group_members(group_id, member_dn, ord) VALUES (?1, ?2, 0) ON CONFLICT (member_dn, group_id) DO NOTHING",
                "INSERT INTO group_members(group_id, member_dn, ord) VALUES (?1, ?2, 0) ON CONFLICT (group_id, lower(member_dn)) DO NOTHING",
            ),
            (
                "INSERT OR REPLACE INTO roles(identity, sid) VALUES (?1, ?2)",
                "INSERT INTO roles(identity, sid) VALUES (?1, ?2) ON CONFLICT (lower(identity)) DO UPDATE SET sid = excluded.sid",
            ),
            (
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            ),
            (
                "INSERT INTO principals(dn, sip) VALUES (?1, ?2) ON CONFLICT(sip, dn) DO NOTHING",
                "INSERT INTO principals(dn, sip) VALUES (?1, ?2) ON CONFLICT(sip, dn) DO NOTHING",
            ),
            (
                "UPDATE g SET m = ?1 WHERE m = ?1 COLLATE NOCASE AND m <> ?1 COLLATE BINARY AND x = 'a COLLATE BINARY'",
                "UPDATE g SET m = ?1 WHERE lower(m) = lower(CAST(?1 AS text)) AND m <> ?1 AND x = 'a COLLATE BINARY'",
            ),
            // Not a place it spells: left for the server to refuse.
            ("SELECT a COLLATE NOCASE FROM t", "SELECT a COLLATE NOCASE FROM t"),
            (
                "SELECT 1 FROM t WHERE a COLLATE NOCASE IN (SELECT b, c FROM u)",
                "SELECT 1 FROM t WHERE a COLLATE NOCASE IN (SELECT b, c FROM u)",
            ),
        ];
        for (neutral, postgres) in cases {
            assert_eq!(Dialect::Postgres.query(neutral), postgres);
            assert!(matches!(Dialect::Sqlite.query(neutral), std::borrow::Cow::Borrowed(s) if s == neutral));
        }
    }

    /// The NOCASE keys read from the schema's `{nocase_key:…}` tokens are the unique keys the
    /// SQLite schema (every step) holds with a NOCASE column: none missed, none made up.
    #[test]
    fn nocase_keys_are_the_schemas_unique_keys_with_a_nocase_column() {
        use crate::store::schema::{describe, sqlite_steps};
        let mut expected = Vec::new();
        for db in [Database::Central, Database::Pool] {
            for t in describe::describe(&describe::replayed(sqlite_steps(db))).tables {
                for i in t.indexes.iter().filter(|i| i.unique && i.keys.iter().any(|k| k.nocase)) {
                    expected.push((t.name.clone(), i.keys.iter().map(|k| k.text.clone()).collect::<Vec<_>>()));
                }
            }
        }
        let mut found: Vec<(String, Vec<String>)> =
            nocase_keys().iter().map(|k| (k.table.clone(), k.columns.clone())).collect();
        expected.sort();
        found.sort();
        assert_eq!(found, expected);
        assert_eq!(found.len(), 19);
        let members = nocase_keys().iter().find(|k| k.table == "group_members").unwrap();
        assert_eq!(members.postgres, "group_id, lower(member_dn)");
    }

    #[test]
    fn json_is_spelt_for_postgres() {
        let list = format!("SELECT 1 FROM t WHERE {} AND b = ?2", in_json_list("t.a").replace('?', "?1"));
        assert_eq!(list, "SELECT 1 FROM t WHERE t.a IN (SELECT value FROM json_each(?1)) AND b = ?2");
        let pairs = concat!("DELETE FROM m WHERE r = ?1 AND ", in_json_pairs!("(p, i)", "?12"));
        let text = format!("SELECT {} FROM e", json_text("e.attrs", "Voice"));
        let cases = [
            (list.as_str(), "SELECT 1 FROM t WHERE t.a = ANY(?1) AND b = ?2"),
            (in_json_list_sql!("room_id", "?1"), "room_id = ANY(?1)"),
            // A NOCASE column against a list: `Dialect::query` lowered both sides first.
            (
                "SELECT 1 FROM e WHERE lower(e.x) IN (SELECT lower(value) FROM json_each(?2)) AND b = ?1",
                "SELECT 1 FROM e WHERE lower(e.x) IN (SELECT lower(v) FROM unnest(CAST(?2 AS text[])) AS v) AND b = ?1",
            ),
            (
                pairs,
                "DELETE FROM m WHERE r = ?1 AND (p, i) IN (SELECT CAST(pair ->> 0 AS bigint), CAST(pair ->> 1 AS bigint) \
                 FROM jsonb_array_elements(CAST(?12 AS jsonb)) AS pair)",
            ),
            (
                text.as_str(),
                "SELECT CASE WHEN pchat_json_valid(e.attrs) THEN CASE json_typeof(CAST(e.attrs AS json)) WHEN 'object' THEN \
                 (SELECT CASE json_typeof(e.value) WHEN 'string' THEN e.value #>> '{}' END \
                 FROM json_each(CAST(e.attrs AS json)) WITH ORDINALITY AS e(key, value, n) WHERE e.key = 'Voice' \
                 ORDER BY e.n LIMIT 1) END END FROM e",
            ),
            (
                "SELECT DISTINCT j.key FROM principals p, json_each(p.attrs) j ORDER BY j.key",
                "SELECT DISTINCT j.key FROM principals p, jsonb_each(CAST(p.attrs AS jsonb)) j ORDER BY j.key",
            ),
            // Not the store's forms: left for the server to refuse.
            (
                "SELECT 'json_each(?1)', json_each(?1), json_valid(a) FROM t",
                "SELECT 'json_each(?1)', json_each(?1), json_valid(a) FROM t",
            ),
            ("SELECT x IN (SELECT value FROM json_each(?a))", "SELECT x IN (SELECT value FROM json_each(?a))"),
        ];
        for (neutral, postgres) in cases {
            assert_eq!(Dialect::Postgres.json(neutral), postgres);
            assert!(matches!(Dialect::Sqlite.json(neutral), std::borrow::Cow::Borrowed(s) if s == neutral));
        }
        // The SQLite texts the store ran before these helpers existed, byte for byte.
        assert_eq!(
            concat!("room_id = ?1 AND ", in_json_pairs!("(posted_at, id)", "?2")),
            "room_id = ?1 AND (posted_at, id) IN
     (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?2))"
        );
        assert_eq!(in_json_list("r.id"), "r.id IN (SELECT value FROM json_each(?))");
        assert_eq!(json_list(&[1, -2]), SqlValue::List(List::integers(&[1, -2])));
        assert!(matches!(json_text_list(&["a\"", "\u{e9}"]), SqlValue::List(l) if l.json() == r#"["a\"","é"]"#));
        assert_eq!(json_pairs(&[(1, 2), (3, 4)]), SqlValue::Text("[[1,2],[3,4]]".into()));
    }

    #[test]
    fn the_schema_version_and_index_definitions_round_trip() {
        let conn = crate::store::db::Db::open_sqlite_memory().unwrap();
        conn.execute_batch(&set_schema_version(7)).unwrap();
        assert_eq!(conn.query_row(SCHEMA_VERSION, (), |r| r.get::<i64>(0)).unwrap(), 7);
        conn.execute_batch("CREATE TABLE t(a UNIQUE, b); CREATE INDEX t_b ON t(b)").unwrap();
        let defs: Vec<(String, String)> =
            conn.query_map(INDEX_DEFINITIONS, ["t"], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(defs, [("t_b".to_string(), "CREATE INDEX t_b ON t(b)".to_string())]);
        conn.execute_batch(&drop_index("t_b")).unwrap();
        conn.execute_batch(&defs[0].1).unwrap();
    }
}
