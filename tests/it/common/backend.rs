//! Which backend the suite's stores are on: SQLite (the default) or, with
//! `PCHAT_TEST_BACKEND=postgres`, databases of a throwaway PostgreSQL server (tests/it/common/pg_store.rs).
//! A test that cannot mean the same on PostgreSQL starts with [`sqlite_only!`](crate::sqlite_only),
//! which on PostgreSQL prints its reason and returns.

use std::io::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn backend() -> Backend {
    static BACKEND: std::sync::OnceLock<Backend> = std::sync::OnceLock::new();
    *BACKEND.get_or_init(|| match std::env::var("PCHAT_TEST_BACKEND").as_deref() {
        Err(_) | Ok("" | "sqlite") => Backend::Sqlite,
        Ok("postgres") => Backend::Postgres,
        Ok(other) => panic!("PCHAT_TEST_BACKEND={other:?}: expected sqlite or postgres"),
    })
}

/// Reports a test [`sqlite_only!`](crate::sqlite_only) returned from. Written to the process's
/// standard error directly, past the test harness's capture, so every run lists them: count with
/// `grep -c '^sqlite-only: '`.
pub fn skipped(test: &str, reason: &str) {
    let test = test.trim_start_matches("it::").trim_end_matches("::here");
    let _ = writeln!(std::io::stderr(), "sqlite-only: {test}: {reason}");
}

/// At the top of a test: on PostgreSQL, print `reason` (why the test means nothing there, or
/// which refusal or bug keeps it from running) and return.
#[macro_export]
macro_rules! sqlite_only {
    ($reason:expr) => {
        if $crate::common::backend() == $crate::common::Backend::Postgres {
            fn here() {}
            $crate::common::skipped(std::any::type_name_of_val(&here), $reason);
            return;
        }
    };
}
