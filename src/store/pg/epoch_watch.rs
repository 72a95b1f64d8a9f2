//! Which central statements can move the `store_epoch` row (`schema::STORE_EPOCH`), so that a
//! write transaction may read it once and keep it until one of them runs (design notes §5 step 8,
//! "epoch and marks read once per write transaction"). The answer errs on the side of "may":
//! a statement wrongly counted only costs one more read of the row; one wrongly passed would
//! leave a cache keyed on a stale epoch.
//!
//! Passed (cannot move it): a single `SELECT` (the central schema has no function that writes a
//! table, `only_these_functions_exist` below keeps it so), `LOCK TABLE`, savepoints, writes to
//! tables no trigger watches and no watched table references (`UNWATCHED`), and the pool-mark
//! update `SET_POOL_MARK`, whose columns the `pools` trigger's `UPDATE OF` list leaves out.
//! Everything else may move it: any other write, any batch of several statements, anything not
//! recognised.

/// Record a pool's mark in the central database (?1 pool, ?2 generation, ?3 seq): the only
/// write to `pools` that does not move the epoch (`generation` and `seq` are not in the
/// trigger's `UPDATE OF` list).
pub(crate) const SET_POOL_MARK: &str = "UPDATE pools SET generation = ?2, seq = ?3 WHERE fqdn = ?1 COLLATE NOCASE";

/// Central tables that no `store_epoch` trigger watches and no watched table references (so no
/// cascade reaches one): the audit trail, `meta`, and the two-phase commit's decisions.
const UNWATCHED: &[&str] = &["audit", "audit_head", "meta", "pchat_twophase_decisions"];

/// Whether running `sql` (a neutral text) on the central session may move `store_epoch`.
pub(crate) fn may_move_epoch(sql: &str) -> bool {
    let text = sql.trim().trim_end_matches(';');
    if text.contains(';') {
        return true;
    }
    let mut words =
        text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '.')).filter(|w| !w.is_empty());
    let first = words.next().unwrap_or("").to_ascii_uppercase();
    let target = match first.as_str() {
        "SELECT" | "LOCK" | "SAVEPOINT" | "RELEASE" => return false,
        "INSERT" | "DELETE" => words.nth(1),
        "UPDATE" => {
            if text.split_whitespace().eq(SET_POOL_MARK.split_whitespace()) {
                return false;
            }
            words.next()
        }
        _ => return true,
    };
    let table = target.map(|t| t.strip_prefix("main.").unwrap_or(t).to_ascii_lowercase());
    !table.is_some_and(|t| UNWATCHED.contains(&t.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_unwatched_writes_pass_everything_else_may_move_the_epoch() {
        for passed in [
            "SELECT n FROM store_epoch WHERE id = 1",
            "  select generation, seq FROM pools WHERE fqdn = ?1 COLLATE NOCASE",
            "LOCK TABLE audit_head IN ROW SHARE MODE",
            "INSERT INTO audit(id, at) VALUES (?1, ?2)",
            "INSERT INTO main.meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            "DELETE FROM pchat_twophase_decisions WHERE txid = 'x'",
            "UPDATE audit_head SET count = 1",
            SET_POOL_MARK,
            "UPDATE pools SET generation = ?2,\n   seq = ?3 WHERE fqdn = ?1 COLLATE NOCASE;",
        ] {
            assert!(!may_move_epoch(passed), "{passed}");
        }
        for moving in [
            "UPDATE pools SET state = ?2 WHERE fqdn = ?1 COLLATE NOCASE",
            "UPDATE pools SET seq = ?2, generation = 1 WHERE fqdn = ?1 AND seq IS NULL",
            "UPDATE pools SET generation = ?2, seq = ?3, site = ?4 WHERE fqdn = ?1 COLLATE NOCASE",
            "INSERT INTO principals(dn) VALUES (?1)",
            "DELETE FROM sites",
            "DELETE FROM group_members WHERE group_id = ?1",
            "INSERT INTO audit(id) VALUES (1); DELETE FROM roles",
            "WITH x AS (DELETE FROM roles RETURNING 1) SELECT * FROM x",
            "TRUNCATE roles",
            "COPY principals FROM STDIN",
            "CREATE TABLE t (x int)",
            "",
        ] {
            assert!(may_move_epoch(moving), "{moving}");
        }
    }

    /// `UNWATCHED` against the schema itself: no trigger watches those tables.
    #[test]
    fn the_unwatched_tables_have_no_epoch_trigger() {
        let ddl = crate::store::schema::STORE_EPOCH.to_ascii_lowercase();
        for table in UNWATCHED {
            assert!(!ddl.contains(&format!("on {table} ")), "{table} is watched");
        }
        assert!(ddl.contains("update of fqdn, site, database, backup_database, default_endpoint, state, ord"));
    }
}
