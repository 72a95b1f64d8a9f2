//! Which database a connection string reaches, as its server says (issue #18): two spellings of
//! one database (`localhost` and `127.0.0.1`, a host name and its address, a URL and a key=value
//! string) compare equal, which their texts do not. copy-store refuses two targets reaching one
//! database with it, before anything is written.

use postgres::error::SqlState;
use postgres::{Client, Config};

/// The server's identity and the database's: `pg_control_system()`'s system identifier (one per
/// cluster) where the role may read it, else the address and port the server answered on; then
/// the database's oid, or `new NAME` for a database that does not exist yet (reached through the
/// server's `postgres` database). `None` when the server cannot be reached: the caller's own
/// connection reports that.
pub fn server_key(url: &str) -> Option<String> {
    let config: Config = url.parse().ok()?;
    let (mut client, database) = match super::passfile::connect(&config) {
        Ok(client) => (client, None),
        Err(e) if e.code() == Some(&SqlState::INVALID_CATALOG_NAME) => {
            let name = config.get_dbname()?.to_string();
            let mut server = config.clone();
            server.dbname("postgres");
            (super::passfile::connect(&server).ok()?, Some(format!("new {name}")))
        }
        Err(_) => return None,
    };
    let cluster = cluster_id(&mut client)?;
    let database = match database {
        Some(new) => new,
        None => {
            client.query_one("SELECT oid::text FROM pg_database WHERE datname = current_database()", &[]).ok()?.get(0)
        }
    };
    Some(format!("{cluster} {database}"))
}

fn cluster_id(client: &mut Client) -> Option<String> {
    if let Ok(row) = client.query_one("SELECT system_identifier::text FROM pg_control_system()", &[]) {
        return row.get(0);
    }
    let row = client
        .query_one("SELECT coalesce(host(inet_server_addr()), 'local') || ':' || current_setting('port')", &[])
        .ok()?;
    row.get(0)
}
