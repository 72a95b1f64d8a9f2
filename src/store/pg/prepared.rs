//! A change to a pool's copies commits by two-phase commit (design notes §3): each copy's server
//! runs `PREPARE TRANSACTION`, which a server started with `max_prepared_transactions = 0` (the
//! PostgreSQL default) refuses, and only at commit, after the change's work. The setting is read
//! when pchat opens a pool database, and a write that would reach that copy is refused before it
//! starts, saying what to set; reads need no prepared transaction and keep working.

use crate::store::db::Db;

/// Why the server of the pool database `shown` cannot take part in a change, when it cannot:
/// it allows no prepared transaction. `None` too when the setting cannot be read (the PREPARE
/// says so then).
pub(crate) fn refusal(db: &Db, shown: &str) -> Option<String> {
    let allowed: i64 =
        db.query_row("SELECT current_setting('max_prepared_transactions')::bigint", (), |r| r.get(0)).ok()?;
    (allowed == 0).then(|| {
        format!(
            "the server of the pool database {shown} allows no prepared transactions (max_prepared_transactions = 0), and pchat commits a change to a pool's copies by two-phase commit (PREPARE TRANSACTION); set max_prepared_transactions to at least the number of pchat processes that write at once (64, say) in that server's postgresql.conf or with ALTER SYSTEM SET max_prepared_transactions = 64, then restart the server. Reads work meanwhile; nothing was changed"
        )
    })
}
