//! A throwaway PostgreSQL server for the integration tests, got as the library's tests get theirs
//! (src/store/pg/test_cluster.rs): the one `PCHAT_PG_URL` names (`scripts/pg-test-cluster run
//! cargo test`), else one started by scripts/pg-test-cluster for this test process and stopped
//! when it exits (a watchdog stops it should the process die without exiting). Without PostgreSQL
//! installed a test skips, saying so, unless `PCHAT_PG_REQUIRED` is set (as .ci/run sets it):
//! then that is a failure.

#[allow(dead_code, reason = "the library's tests use the rest")]
#[path = "../../../src/store/pg/test_server.rs"]
mod test_server;

pub(crate) use test_server::{Server, connect, pool_rows};

impl Server {
    /// A new empty database (`pchat_<tag>_<8 hex>`), made as the docs tell a DBA to make one for
    /// pchat: its URL.
    pub(crate) fn empty_database(&self, tag: &str) -> String {
        let url = self.missing_database(tag);
        connect(&self.url_of("postgres"))
            .batch_execute(&format!(
                "CREATE DATABASE \"{}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'",
                database_name(&url)
            ))
            .expect("create an empty database");
        url
    }

    /// The databases of the server whose names start with `prefix`.
    pub(crate) fn databases_named(&self, prefix: &str) -> Vec<String> {
        connect(&self.url_of("postgres"))
            .query("SELECT datname::text FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1", &[&prefix])
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
}

/// The name of the database a URL of [`Server::missing_database`] names.
pub(crate) fn database_name(url: &str) -> String {
    url.rsplit('/').next().and_then(|n| n.split('?').next()).unwrap().to_string()
}
