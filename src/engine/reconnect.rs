//! A PostgreSQL store whose central connection was lost (its server restarted or stopped, the
//! backend was terminated, the network failed) is opened again by the next call, so that a
//! long-lived pchat (the REPL, a long runbook) goes on after a restart (docs/failover.md, "On a
//! PostgreSQL store"). Only between transactions: inside an atomic run or a plan the unit's work
//! was lost with its session, and the unit fails as it would on any error.
//!
//! A call whose attempt fails on a lost connection before anything committed (the error is the
//! session's `Unavailable`, `Transient::ConnectionLost`) runs once more, on a store opened again
//! when its central session was the one lost (a pool session lost is replaced by the next
//! attempt's attach, `open_pool_sessions`). A commit whose outcome the loss left unknown is no
//! such error: it says so and is never run again (store/sessions.rs, `in_doubt`).

use super::Session;
use crate::errors::{CmdletError, Transient};

/// Whether `e` ends an attempt on a lost connection that nothing of the call committed. Only on
/// PostgreSQL: SQLite's `Unavailable` is a damaged or missing file, which no second attempt
/// mends (its errors stay what they were).
pub(super) fn lost(e: &CmdletError, on_postgres: bool) -> bool {
    on_postgres && e.transient == Some(Transient::ConnectionLost)
}

/// Before a call outside any transaction: a store whose central session an earlier call found
/// lost is opened again (Err: it cannot be yet, the error says why and changes nothing).
pub(super) fn before_call(s: &mut Session) -> Result<(), CmdletError> {
    if s.unit.is_some() || s.store.in_transaction() || !s.store.central_lost() {
        return Ok(());
    }
    reopen(s)
}

/// After an attempt of the call failed with `e`, a lost connection (`lost`): Ok when the call
/// may run once more (a PostgreSQL store, opened again if its central session was the one
/// lost); else the error that ends the call, terminating: a runbook stops there rather than
/// failing each later call the same way.
pub(super) fn after_lost(s: &mut Session, e: CmdletError, first: bool) -> Result<(), CmdletError> {
    if !first || s.unit.is_some() {
        return Err(CmdletError { transient: None, ..e }.terminating());
    }
    if s.store.central_lost_now() {
        reopen(s)?;
    }
    Ok(())
}

fn reopen(s: &mut Session) -> Result<(), CmdletError> {
    match s.store.reopened() {
        Ok(store) => {
            s.store = store;
            s.access.forget();
            Ok(())
        }
        Err(e) => Err(CmdletError::invalid_operation(reopen_failed(&causes(&e))).terminating()),
    }
}

/// The error's chain of causes, each said once: the PostgreSQL session's error already ends
/// with its cause ("error connecting to server: Connection refused"), which the chain repeats.
fn causes(e: &anyhow::Error) -> String {
    let mut said = String::new();
    for cause in e.chain().map(ToString::to_string) {
        if said.contains(&cause) {
            continue;
        }
        if !said.is_empty() {
            said.push_str(": ");
        }
        said.push_str(&cause);
    }
    said
}

/// What a call says when the store cannot be opened again: `why` names the database (the
/// open's own error, its password hidden).
fn reopen_failed(why: &str) -> String {
    format!(
        "the connection to the store's central database was lost and it cannot be opened again ({why}): check that its PostgreSQL server is running and reachable; nothing was changed"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_store_that_cannot_be_opened_again_says_nothing_was_changed_and_what_to_check() {
        let text = reopen_failed(
            "cannot open the store postgres://pchat:***@db1:5432/pchat: error connecting to server: Connection refused",
        );
        for expected in [
            "lost",
            "db1:5432/pchat",
            "Connection refused",
            "check that its PostgreSQL server is running",
            "nothing was changed",
        ] {
            assert!(text.contains(expected), "{expected}: {text}");
        }
        assert!(!text.contains("Broken pipe"));
    }

    #[test]
    fn each_cause_is_said_once() {
        let e = anyhow::Error::new(std::io::Error::other("Connection refused"))
            .context("error connecting to server: Connection refused")
            .context("cannot open the store postgres://db1/pchat");
        assert_eq!(
            causes(&e),
            "cannot open the store postgres://db1/pchat: error connecting to server: Connection refused"
        );
    }

    #[test]
    fn only_an_unavailable_store_error_counts_as_a_lost_connection() {
        use crate::store::db::{DbError, ErrorKind};
        let gone = CmdletError::from(DbError::new(ErrorKind::Unavailable, "gone"));
        assert!(lost(&gone, true));
        assert!(!lost(&gone, false), "a damaged SQLite file is no lost connection");
        for kind in [ErrorKind::Serialization, ErrorKind::Busy, ErrorKind::Other, ErrorKind::Constraint] {
            assert!(!lost(&CmdletError::from(DbError::new(kind, "x")), true), "{kind:?}");
        }
        // An in-doubt commit is a refusal: never run again.
        let refused = DbError::refused(CmdletError::invalid_operation("may or may not have been committed"));
        assert!(!lost(&CmdletError::from(refused), true));
    }
}
