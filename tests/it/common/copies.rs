//! Reading and editing rows of a test's store as another program would, on either backend: the
//! central database or one copy of a pool (`"sql01"` the primary, `"sql02"` the backup, …), a
//! file of the store's folder on SQLite (rusqlite), a database of the server on PostgreSQL (the
//! `postgres` crate). Statements are written once, with the product's neutral placeholders
//! (`?1`, `?2`, …), spelt `$1`, `$2`, … for PostgreSQL here; anything else in them must mean the
//! same in both dialects (or be chosen with [`Store::is_postgres`]).

use super::Store;

/// A value bound to a placeholder: bound on PostgreSQL as `bigint` or `text` (the server converts
/// it to the column's type where one is needed).
#[derive(Debug, Clone)]
pub enum Param {
    Int(i64),
    Text(String),
}

impl From<i64> for Param {
    fn from(v: i64) -> Param {
        Param::Int(v)
    }
}

impl From<&str> for Param {
    fn from(v: &str) -> Param {
        Param::Text(v.to_string())
    }
}

/// One value of a row: integers (PostgreSQL's booleans as 0 and 1, as SQLite stores them), texts
/// and NULL. A column of another type is a test's mistake: cast it to text in the query.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Cell {
    Null,
    Int(i64),
    Text(String),
}

impl Cell {
    pub fn int(&self) -> i64 {
        match self {
            Cell::Int(v) => *v,
            other => panic!("expected an integer, got {other:?}"),
        }
    }

    pub fn text(&self) -> &str {
        match self {
            Cell::Text(v) => v,
            other => panic!("expected a text, got {other:?}"),
        }
    }
}

/// The central database or one pool copy of a store (see [`Store::central_db`], [`Store::copy_db`]).
pub struct Db {
    /// The central file's path or a pool file's on SQLite; a database's URL on PostgreSQL.
    location: String,
    postgres: bool,
}

impl Store {
    /// The store's central database.
    pub fn central_db(&self) -> Db {
        Db { location: self.location().to_string_lossy().into_owned(), postgres: self.is_postgres() }
    }

    /// The pool copy of the SQL instance `instance`: its identity (`sql01.contoso.com\rtc`) or
    /// the host name's first label (`sql01`), in any letter case, as the central database names
    /// it now (a test may have published another topology).
    pub fn copy_db(&self, instance: &str) -> Db {
        let central = self.central_db();
        let wanted = instance.to_ascii_lowercase();
        let named: Vec<Vec<Cell>> = central
            .query("SELECT identity, file FROM sql_instances", &[])
            .into_iter()
            .filter(|row| {
                let identity = row[0].text().to_ascii_lowercase();
                identity == wanted || identity.split(['.', '\\']).next() == Some(wanted.as_str())
            })
            .collect();
        let [row] = named.as_slice() else {
            panic!("{} SQL instances named {instance:?} in the central database", named.len())
        };
        let file = row[1].text();
        let location = if self.is_postgres() {
            file.to_string()
        } else {
            self.dir.path().join(file).to_string_lossy().into_owned()
        };
        Db { location, postgres: self.is_postgres() }
    }

    /// An expression of a table's rows that changes when the row is written again (deleted and
    /// inserted, or on PostgreSQL updated): SQLite's `rowid`, PostgreSQL's `xmin` (the inserting
    /// transaction), as text. `alias` is the table's name or alias in the query.
    pub fn row_version(&self, alias: &str) -> String {
        if self.is_postgres() { format!("CAST({alias}.xmin AS text)") } else { format!("CAST({alias}.rowid AS text)") }
    }
}

impl Db {
    /// The rows `sql` answers, in the order it gives.
    pub fn query(&self, sql: &str, params: &[Param]) -> Vec<Vec<Cell>> {
        if self.postgres {
            let mut c = super::pg::connect(&self.location);
            let stmt = c.prepare_typed(&dollar_placeholders(sql), &pg_types(params)).unwrap_or_else(pg_failed(sql));
            let rows = c.query(&stmt, &pg_params(params)).unwrap_or_else(pg_failed(sql));
            return rows.iter().map(|r| (0..r.len()).map(|i| pg_cell(r, i, sql)).collect()).collect();
        }
        let c = self.sqlite();
        let mut stmt = c.prepare(sql).unwrap_or_else(|e| panic!("{sql}: {e}"));
        let n = stmt.column_count();
        stmt.query_map(rusqlite::params_from_iter(params.iter().map(sqlite_param)), |r| {
            (0..n).map(|i| r.get_ref(i).map(|v| sqlite_cell(v, sql))).collect()
        })
        .and_then(|rows| rows.collect())
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// The single integer `sql` answers.
    pub fn int(&self, sql: &str, params: &[Param]) -> i64 {
        let rows = self.query(sql, params);
        match rows.as_slice() {
            [row] if row.len() == 1 => row[0].int(),
            _ => panic!("{sql}: expected one value, got {rows:?}"),
        }
    }

    /// The first column of every row `sql` answers, as texts.
    pub fn texts(&self, sql: &str, params: &[Param]) -> Vec<String> {
        self.query(sql, params).into_iter().map(|row| row[0].text().to_string()).collect()
    }

    /// Runs one statement: the number of rows it changed.
    pub fn execute(&self, sql: &str, params: &[Param]) -> u64 {
        if self.postgres {
            let mut c = super::pg::connect(&self.location);
            let stmt = c.prepare_typed(&dollar_placeholders(sql), &pg_types(params)).unwrap_or_else(pg_failed(sql));
            return c.execute(&stmt, &pg_params(params)).unwrap_or_else(pg_failed(sql));
        }
        let n = self.sqlite().execute(sql, rusqlite::params_from_iter(params.iter().map(sqlite_param)));
        n.unwrap_or_else(|e| panic!("{sql}: {e}")) as u64
    }

    /// Runs statements without parameters, separated by `;`, in one transaction.
    pub fn batch(&self, sql: &str) {
        let wrapped = format!("BEGIN; {sql}; COMMIT;");
        if self.postgres {
            super::pg::connect(&self.location).batch_execute(&wrapped).unwrap_or_else(pg_failed(sql));
        } else {
            self.sqlite().execute_batch(&wrapped).unwrap_or_else(|e| panic!("{sql}: {e}"));
        }
    }

    /// Every row of every table, as text, table by table (names and rows sorted): for checking
    /// that a database was left as it was.
    pub fn every_row(&self) -> Vec<String> {
        let tables =
            if self.postgres { PG_TABLES } else { "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY 1" };
        let mut out = Vec::new();
        for table in self.texts(tables, &[]) {
            let rows = if self.postgres {
                format!("SELECT CAST(x AS text) FROM \"{table}\" AS x ORDER BY 1")
            } else {
                // Each row as one text: its columns' values quoted and joined.
                let columns = self.texts(&format!("SELECT name FROM pragma_table_info('{table}')"), &[]);
                let quoted: Vec<String> = columns.iter().map(|c| format!("quote(\"{c}\")")).collect();
                format!("SELECT {} FROM \"{table}\" ORDER BY 1", quoted.join(" || ',' || "))
            };
            out.extend(self.texts(&rows, &[]).into_iter().map(|row| format!("{table}: {row}")));
        }
        out
    }

    /// Every table's rows as a logical backup takes them (COPY … TO STDOUT), for [`Db::restore`]:
    /// PostgreSQL only (on SQLite a test saves the file's bytes).
    pub fn save(&self) -> Saved {
        assert!(self.postgres, "Db::save is PostgreSQL's: on SQLite save the file");
        let mut c = super::pg::connect(&self.location);
        let tables = self.texts(PG_TABLES, &[]);
        Saved(
            tables
                .into_iter()
                .map(|table| {
                    let mut rows = Vec::new();
                    let mut out = c.copy_out(&format!("COPY \"{table}\" TO STDOUT")).unwrap_or_else(pg_failed(&table));
                    std::io::Read::read_to_end(&mut out, &mut rows).expect("read a COPY");
                    (table, rows)
                })
                .collect(),
        )
    }

    /// Puts back what [`Db::save`] took, as restoring an older dump into the database would: every
    /// table emptied and refilled, in one transaction. The database stays the same one (its oid).
    pub fn restore(&self, saved: &Saved) {
        assert!(self.postgres, "Db::restore is PostgreSQL's: on SQLite put the file back");
        let mut c = super::pg::connect(&self.location);
        let mut tx = c.transaction().expect("begin");
        let tables: Vec<String> = saved.0.iter().map(|(t, _)| format!("\"{t}\"")).collect();
        // Foreign keys are triggers: off while the tables are refilled in name order.
        let empty = format!("SET LOCAL session_replication_role = replica; TRUNCATE {}", tables.join(", "));
        tx.batch_execute(&empty).unwrap_or_else(pg_failed(&empty));
        for (table, rows) in &saved.0 {
            let mut into = tx.copy_in(&format!("COPY \"{table}\" FROM STDIN")).unwrap_or_else(pg_failed(table));
            std::io::Write::write_all(&mut into, rows).expect("write a COPY");
            into.finish().unwrap_or_else(pg_failed(table));
        }
        tx.commit().expect("commit the restore");
    }

    fn sqlite(&self) -> rusqlite::Connection {
        rusqlite::Connection::open_with_flags(&self.location, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE)
            .unwrap_or_else(|e| panic!("open {}: {e}", self.location))
    }
}

/// A PostgreSQL database's rows, table by table, as [`Db::save`] took them.
pub struct Saved(Vec<(String, Vec<u8>)>);

const PG_TABLES: &str = "SELECT CAST(tablename AS text) FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1";

/// `?N` placeholders spelt `$N`, outside quoted texts and names.
fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    let mut chars = sql.chars().peekable();
    while let Some(ch) = chars.next() {
        match (quote, ch) {
            (Some(q), _) if ch == q => quote = None,
            (None, '\'' | '"') => quote = Some(ch),
            (None, '?') if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(ch);
    }
    out
}

/// A panic with the server's words (a `postgres::Error` displays as "db error" alone).
fn pg_failed<T>(sql: &str) -> impl FnOnce(postgres::Error) -> T + '_ {
    move |e| match e.as_db_error() {
        Some(db) => panic!("{sql}: {} ({})", db.message(), db.code().code()),
        None => panic!("{sql}: {e}"),
    }
}

fn pg_types(params: &[Param]) -> Vec<postgres::types::Type> {
    use postgres::types::Type;
    params.iter().map(|p| if let Param::Int(_) = p { Type::INT8 } else { Type::TEXT }).collect()
}

fn pg_params(params: &[Param]) -> Vec<&(dyn postgres::types::ToSql + Sync)> {
    params
        .iter()
        .map(|p| match p {
            Param::Int(v) => v as &(dyn postgres::types::ToSql + Sync),
            Param::Text(v) => v as &(dyn postgres::types::ToSql + Sync),
        })
        .collect()
}

fn pg_cell(row: &postgres::Row, i: usize, sql: &str) -> Cell {
    use postgres::types::Type;
    let int = |v: Option<i64>| v.map_or(Cell::Null, Cell::Int);
    match *row.columns()[i].type_() {
        Type::INT8 => int(row.get(i)),
        Type::INT4 => int(row.get::<_, Option<i32>>(i).map(i64::from)),
        Type::INT2 => int(row.get::<_, Option<i16>>(i).map(i64::from)),
        Type::BOOL => int(row.get::<_, Option<bool>>(i).map(i64::from)),
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => {
            row.get::<_, Option<String>>(i).map_or(Cell::Null, Cell::Text)
        }
        ref other => panic!("{sql}: column {i} is of type {other}: cast it to text or bigint"),
    }
}

fn sqlite_param(p: &Param) -> rusqlite::types::Value {
    match p {
        Param::Int(v) => rusqlite::types::Value::Integer(*v),
        Param::Text(v) => rusqlite::types::Value::Text(v.clone()),
    }
}

fn sqlite_cell(v: rusqlite::types::ValueRef<'_>, sql: &str) -> Cell {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(n) => Cell::Int(n),
        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        other => panic!("{sql}: a value of type {:?}: cast it to text or integer", other.data_type()),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn placeholders_outside_quotes_are_spelt_for_postgresql() {
        assert_eq!(
            super::dollar_placeholders("SELECT '?1', \"a?2\" FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', \"a?2\" FROM t WHERE a = $1 AND b = $12"
        );
    }
}
