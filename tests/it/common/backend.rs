//! Which backend the suite's stores are on: SQLite (the default) or, with
//! `PCHAT_TEST_BACKEND=postgres`, databases of a throwaway PostgreSQL server (tests/it/common/pg_store.rs).
//! Every test runs on both: one that damages a pool copy does it the backend's way
//! (tests/it/common/damage.rs).

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
