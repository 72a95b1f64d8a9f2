//! A test's store on PostgreSQL (`PCHAT_TEST_BACKEND=postgres`): a central database and one
//! database per SQL instance of its topology, on the shared throwaway server (pg.rs). A SQLite
//! template is copied once with `pchat copy-store`; each test's store is then made with
//! `CREATE DATABASE … TEMPLATE` per database (no process, no row copied by pchat), and its central
//! `sql_instances` rows pointed at its own pool databases. No two stores share a database; a
//! store's databases are dropped with it.

use super::pg::{Server, connect};

pub struct PgStore {
    /// The central database's URL (what `--db` names).
    pub central: String,
    /// SQL instance identity and pool database URL, as the central `sql_instances` rows hold them.
    pools: Vec<(String, String)>,
    /// Pool databases made for topologies the test publishes ([`PgStore::connection_for`]), by
    /// SQL instance identity in lower case: publishing the same topology again names the same ones.
    published: std::sync::Mutex<Vec<(String, String)>>,
}

fn server() -> &'static Server {
    Server::shared("PCHAT_TEST_BACKEND=postgres")
        .expect("PCHAT_TEST_BACKEND=postgres needs PostgreSQL (scripts/pg-test-cluster install)")
}

/// A new unique database name with `tag` (`pt_<12 hex>_<tag>`).
fn new_name(base: &str, tag: &str) -> String {
    format!("pt_{base}_{tag}")
}

fn new_base() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..12].to_string()
}

fn name_of(url: &str) -> String {
    super::pg::database_name(url)
}

impl PgStore {
    /// A new empty central database and no pool: pchat migrates it when it first opens it.
    pub fn empty() -> PgStore {
        let name = new_name(&new_base(), "c");
        connect(&server().url_of("postgres"))
            .batch_execute(&format!(
                "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            ))
            .expect("create an empty central database");
        PgStore { central: server().url_of(&name), pools: Vec::new(), published: Default::default() }
    }

    /// The SQLite store whose central file is `db`, copied with `pchat copy-store` into new
    /// databases (the template of [`PgStore::clone_databases`]).
    pub fn copied_from(db: &std::path::Path) -> PgStore {
        let identities: Vec<String> = rusqlite::Connection::open(db)
            .and_then(|c| {
                c.prepare("SELECT identity FROM sql_instances ORDER BY identity")?
                    .query_map([], |r| r.get(0))?
                    .collect()
            })
            .expect("the template's SQL instances");
        let base = new_base();
        let central = server().url_of(&new_name(&base, "c"));
        let pools: Vec<(String, String)> = identities
            .into_iter()
            .enumerate()
            .map(|(i, identity)| (identity, server().url_of(&new_name(&base, &format!("p{i}")))))
            .collect();
        super::pg_copy::copy_into_postgres(&[], db, &central, pools.iter().map(|(i, u)| (i.as_str(), u.as_str())));
        PgStore { central, pools, published: Default::default() }
    }

    /// New databases made from this store's, the central one's `sql_instances` naming the new
    /// pool databases. The source must have no session open (pchat processes have exited;
    /// CREATE DATABASE waits a few seconds for their server processes to end).
    pub fn clone_databases(&self) -> PgStore {
        let base = new_base();
        // One session each, at once: a store's databases are made in parallel (the server's work
        // for one is mostly waiting on its own I/O).
        let create = |from: String, tag: String| {
            let name = new_name(&base, &tag);
            std::thread::spawn(move || {
                connect(&server().url_of("postgres"))
                    .batch_execute(&format!("CREATE DATABASE \"{name}\" TEMPLATE \"{from}\""))
                    .unwrap_or_else(|e| panic!("create {name} from {from}: {e}"));
                server().url_of(&name)
            })
        };
        let central = create(name_of(&self.central), "c".into());
        let pools: Vec<_> = self
            .pools
            .iter()
            .enumerate()
            .map(|(i, (identity, url))| (identity.clone(), create(name_of(url), format!("p{i}"))))
            .collect();
        let central = central.join().expect("create the central database");
        let pools: Vec<(String, String)> = pools
            .into_iter()
            .map(|(identity, made)| (identity, made.join().expect("create a pool database")))
            .collect();
        let mut c = connect(&central);
        for ((identity, url), (_, from)) in pools.iter().zip(&self.pools) {
            let n = c
                .execute("UPDATE sql_instances SET file = $1 WHERE identity = $2", &[url, identity])
                .expect("point central at the new pool databases");
            assert_eq!(n, 1, "the SQL instance {identity}");
            // The clone's identity record as Publish or copy-store would have written it for
            // the new database (its connection and oid): else the store's first open records it,
            // a write that tests of "a failing call changes nothing" would see.
            c.execute(
                "UPDATE pool_database_identities SET connection = $1,
                     oid = (SELECT CAST(oid AS bigint) FROM pg_database WHERE datname = $2)
                 WHERE connection = $3",
                &[url, &name_of(url), from],
            )
            .expect("record the new pool databases' identities");
        }
        PgStore { central, pools, published: Default::default() }
    }

    /// The pool database (a new empty one, made at the first call) that a topology this test
    /// publishes names for the SQL instance `identity`.
    pub fn connection_for(&self, identity: &str) -> String {
        if let Some((_, url)) = self.pools.iter().find(|(i, _)| i.eq_ignore_ascii_case(identity)) {
            return url.clone(); // republishing the store's own topology keeps its databases
        }
        let key = identity.to_ascii_lowercase();
        let mut published = self.published.lock().unwrap();
        if let Some((_, url)) = published.iter().find(|(k, _)| *k == key) {
            return url.clone();
        }
        let name = new_name(&new_base(), "pub");
        connect(&server().url_of("postgres"))
            .batch_execute(&format!(
                "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
            ))
            .expect("create a pool database");
        let url = server().url_of(&name);
        published.push((key, url.clone()));
        url
    }

    /// Every table of every database (central, then the pools by identity), rows as text, sorted:
    /// what `Store::dump` gives on SQLite, for comparing a store before and after.
    pub fn dump(&self) -> String {
        let mut out = String::new();
        let databases = std::iter::once(("central".to_string(), self.central.clone()))
            .chain(self.current_pools().into_iter().map(|(i, url)| (format!("pool {i}"), url)));
        for (label, url) in databases {
            out.push_str(&format!("== {label}\n"));
            // A pool database a test dropped (common::damage) is told as such: a call that
            // created it again would change the dump.
            let mut c = match url.parse::<postgres::Config>().expect("a database URL").connect(postgres::NoTls) {
                Ok(c) => c,
                Err(e) if e.code() == Some(&postgres::error::SqlState::INVALID_CATALOG_NAME) => {
                    out.push_str("(the database does not exist)\n");
                    continue;
                }
                Err(e) => panic!("connect to {url}: {e}"),
            };
            let tables: Vec<String> = c
                .query("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema() ORDER BY 1", &[])
                .expect("tables")
                .iter()
                .map(|r| r.get(0))
                .collect();
            for t in tables {
                let rows = c
                    .query(
                        &format!("SELECT CAST(x AS text) FROM \"{t}\" AS x ORDER BY CAST(x AS text) COLLATE \"C\""),
                        &[],
                    )
                    .expect("rows");
                for r in rows {
                    out.push_str(&format!("{t}: {}\n", r.get::<_, String>(0)));
                }
            }
        }
        out
    }

    /// See `Store::count`.
    pub fn count(&self, instance: Option<&str>, sql: &str) -> i64 {
        connect(&self.url_of(instance)).query_one(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
    }

    /// See `Store::execute`.
    pub fn execute(&self, instance: Option<&str>, sql: &str) -> u64 {
        connect(&self.url_of(instance)).execute(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"))
    }

    /// See `Store::rows`.
    pub fn rows(&self, instance: Option<&str>, sql: &str) -> Vec<String> {
        use postgres::types::Type;
        let rows = connect(&self.url_of(instance)).query(sql, &[]).unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| {
                        let text = match *r.columns()[i].type_() {
                            Type::INT8 => r.get::<_, Option<i64>>(i).map(|v| v.to_string()),
                            Type::INT4 => r.get::<_, Option<i32>>(i).map(|v| v.to_string()),
                            Type::INT2 => r.get::<_, Option<i16>>(i).map(|v| v.to_string()),
                            Type::BOOL => r.get::<_, Option<bool>>(i).map(|v| v.to_string()),
                            Type::FLOAT8 => r.get::<_, Option<f64>>(i).map(|v| v.to_string()),
                            _ => r.get::<_, Option<String>>(i),
                        };
                        text.unwrap_or_default()
                    })
                    .collect::<Vec<_>>()
                    .join("|")
            })
            .collect()
    }

    /// The central database (`instance` None) or the pool database of the SQL instance `instance`.
    fn url_of(&self, instance: Option<&str>) -> String {
        match instance {
            None => self.central.clone(),
            Some(identity) => {
                self.current_pools()
                    .into_iter()
                    .find(|(i, _)| i.eq_ignore_ascii_case(identity))
                    .unwrap_or_else(|| panic!("no SQL instance {identity}"))
                    .1
            }
        }
    }

    /// The pool databases the central one names now (a test may have published a topology).
    fn current_pools(&self) -> Vec<(String, String)> {
        let mut c = connect(&self.central);
        let exists: bool =
            c.query_one("SELECT to_regclass('sql_instances') IS NOT NULL", &[]).map(|r| r.get(0)).unwrap_or(false);
        if !exists {
            return Vec::new();
        }
        c.query("SELECT identity::text, file::text FROM sql_instances ORDER BY 1", &[])
            .expect("sql_instances")
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect()
    }
}

impl Drop for PgStore {
    /// Drops the store's databases, in parallel (a panicking test's too: the server may outlive
    /// the process when `PCHAT_PG_URL` names it).
    fn drop(&mut self) {
        let published = std::mem::take(&mut *self.published.lock().unwrap_or_else(|e| e.into_inner()));
        let drops: Vec<_> = std::iter::once(&self.central)
            .chain(self.pools.iter().map(|(_, u)| u))
            .chain(published.iter().map(|(_, u)| u))
            .map(|url| {
                let sql = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", name_of(url));
                std::thread::spawn(move || {
                    let admin = server().url_of("postgres").parse::<postgres::Config>();
                    if let Ok(mut c) = admin.and_then(|c| c.connect(postgres::NoTls)) {
                        let _ = c.batch_execute(&sql);
                    }
                })
            })
            .collect();
        for d in drops {
            let _ = d.join();
        }
    }
}
