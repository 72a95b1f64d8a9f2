//! The mark of a copy into PostgreSQL that has not finished (`pchat copy-store`, `pg::copy`).
//! Every target database gets a table `pchat_copy_incomplete` holding one row (the copy's store
//! id, its source, when it started, the command that makes it, every target) in a transaction of
//! its own, committed before its schema is made (the central database's before any pool database
//! is created); the table is dropped inside the
//! target's copy transaction, so it goes exactly when the copied rows arrive. A copy-store
//! killed or stopped anywhere before its central database committed leaves the central database
//! marked (the pool databases commit first): opening it as a store, reading it with copy-store,
//! or copying into it again finds the mark before anything else and says what it is and what to
//! do, instead of migrating it, giving it a store id (a read that wrote) or calling it merely
//! "not empty". Only reads here, but for [`mark`] and [`unmark`], which copy-store runs.

use super::shown_url;
use crate::store::db::{self, Db};

/// The mark's table (never a store table: `copy::NOT_DATA`).
pub const TABLE: &str = "pchat_copy_incomplete";

/// What a mark records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// The store id of the copy (its pool databases' identities name it).
    pub store_id: String,
    /// The source, as messages show it.
    pub source: String,
    /// When the copy started (UTC, RFC 3339).
    pub started: String,
    /// The copy-store command line that makes this copy (passwords as ***).
    pub command: String,
    /// Every target of the copy (the central one first), as messages show them, one a line.
    pub targets: String,
}

/// Mark `db`, a target of the copy `mark` describes, inside the caller's transaction (a mark
/// left by an earlier, interrupted copy into the same database is replaced).
pub fn mark(db: &Db, mark: &Mark) -> db::Result<()> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS pchat_copy_incomplete(store_id text NOT NULL, source text NOT NULL, started_at text NOT NULL, command text NOT NULL, targets text NOT NULL); DELETE FROM pchat_copy_incomplete",
    )?;
    db.execute(
        "INSERT INTO pchat_copy_incomplete(store_id, source, started_at, command, targets) VALUES (?1, ?2, ?3, ?4, ?5)",
        db::params![mark.store_id, mark.source, mark.started, mark.command, mark.targets],
    )?;
    Ok(())
}

/// Drop the mark inside the target's open copy transaction: it goes when the rows commit.
pub fn unmark(db: &Db) -> db::Result<()> {
    db.execute_batch("DROP TABLE IF EXISTS pchat_copy_incomplete")
}

/// The mark of the database `db` is connected to, if it has one. Reads only.
pub fn read(db: &Db) -> db::Result<Option<Mark>> {
    let marked: bool = db.query_row("SELECT to_regclass('pchat_copy_incomplete') IS NOT NULL", (), |r| r.get(0))?;
    if !marked {
        return Ok(None);
    }
    // Runs only on a marked database, never a store's schema: not in the SQL inventory, whose
    // texts are prepared on a store's (store::pg::statements).
    let rows =
        db.query_map("SELECT store_id, source, started_at, command, targets FROM pchat_copy_incomplete", (), |r| {
            Ok(Mark {
                store_id: r.get(0)?,
                source: r.get(1)?,
                started: r.get(2)?,
                command: r.get(3)?,
                targets: r.get(4)?,
            })
        })?;
    // A mark whose row is missing (killed between CREATE and INSERT cannot happen: one
    // transaction) still marks the database.
    Ok(Some(rows.into_iter().next().unwrap_or_else(|| Mark {
        store_id: String::new(),
        source: "an unknown source".into(),
        started: "at an unknown time".into(),
        command: "pchat copy-store --from SOURCE --to URL --pool INSTANCE=URL …".into(),
        targets: String::new(),
    })))
}

impl Mark {
    /// What to run to remove the databases of this copy, one command a line (indented).
    pub fn drop_commands(&self) -> String {
        let targets: Vec<&str> = self.targets.lines().filter(|l| !l.trim().is_empty()).collect();
        targets.iter().map(|t| format!("\n  {}", drop_command(t))).collect()
    }

    /// Why the database at `url`, holding this mark, is not opened as a store
    /// (`Store::open_postgres`, copy-store's reads of it).
    pub fn refusal(&self, url: &str) -> String {
        format!(
            "{} is an incomplete copy: the copy-store from {} into it, started {}, was interrupted (killed or stopped) before it finished, so it holds no store to use; nothing was read or written. Run that copy-store again: it fills its targets when they hold no row, else it names the ones to drop first. The command:\n  {}\nTo remove the incomplete copy instead, drop its databases:{}",
            shown_url(url),
            self.source,
            self.started,
            self.command,
            self.drop_commands()
        )
    }
}

/// The shell command dropping the database `target` (a connection string as shown, password as
/// ***) through its server's `postgres` database.
pub fn drop_command(target: &str) -> String {
    let name = target.parse::<postgres::Config>().ok().and_then(|c| c.get_dbname().map(str::to_string));
    let name = name.unwrap_or_else(|| "DATABASE".into());
    let sql = format!("DROP DATABASE IF EXISTS \"{}\"", name.replace('"', "\"\""));
    format!("psql {} -c {}", shell_quoted(&super::with_database(target, "postgres")), shell_quoted(&sql))
}

/// `text` quoted for a POSIX shell when it needs to be.
pub fn shell_quoted(text: &str) -> String {
    if !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@,=".contains(c)) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_commands_name_the_server_and_quote() {
        assert_eq!(
            drop_command("postgres://pchat:***@db1:5432/chat_x?sslmode=disable"),
            "psql 'postgres://pchat:***@db1:5432/postgres?sslmode=disable' -c 'DROP DATABASE IF EXISTS \"chat_x\"'"
        );
        assert_eq!(
            drop_command("host=db1 dbname=p1"),
            "psql 'host=db1 dbname=postgres' -c 'DROP DATABASE IF EXISTS \"p1\"'"
        );
    }
}
