//! Which database a pool `Connection` is (#18 step 5; docs/design/postgres-port.md §1, "Pool
//! file identity"): the PostgreSQL counterpart of the identity a SQLite pool file carries
//! (`pool_files`).
//!
//! * **In the pool database**: its `pool_file` row (the table SQLite files have), written in the
//!   transaction that creates its pool schema ([`create_pool_schema`]: Publish-CsTopology, Repair,
//!   and copy-store, which stamps the databases it fills): a random id, the owning store's id
//!   (`meta` key `store_id`, as on SQLite) and the name of that store's central database.
//! * **In the central database**: `pool_database_identities` (central step 19), per connection
//!   string, the id found there, the database's oid and, where the role may read it, the
//!   cluster's `pg_control_system().system_identifier`.
//!
//! A session on a pool database serves only when all of these agree ([`check`]): a database
//! dropped and re-created under the same name (new oid, no row or another id), another store's
//! pool database (another store id), one filled by another copy-store (another id) or a server
//! restored from another cluster (another system identifier) is unavailable, with the reason.

use anyhow::{Context, bail};

use crate::store::db::{self, Db, params};
use crate::store::pool_files::{Owner, PoolFile};
use crate::store::schema::Database;

use super::shown_url;

/// Central step 19 (`schema::CENTRAL_LATER`), PostgreSQL only.
pub const RECORDS_DDL: &str = "CREATE TABLE pool_database_identities (
    connection text PRIMARY KEY,
    id text NOT NULL,
    oid bigint NOT NULL,
    system_identifier text
);";

/// A pool database as the central database records it, or as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The `pool_file` row's id.
    pub id: String,
    /// `pg_database.oid`: a database dropped and re-created under its name gets another.
    pub oid: i64,
    /// The cluster's system identifier; None where the role may not read `pg_control_system()`.
    pub system: Option<String>,
}

/// What a pool database says of itself, and where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its `pool_file` row; None when it has none (a database pchat did not make, or one
    /// copied before copy-store stamped them).
    pub file: Option<PoolFile>,
    pub oid: i64,
    pub system: Option<String>,
}

impl Found {
    /// The identity to record for it (with its row's id).
    pub fn identity(&self) -> Option<Identity> {
        let file = self.file.as_ref()?;
        Some(Identity { id: file.id.clone(), oid: self.oid, system: self.system.clone() })
    }
}

/// The database's oid and the cluster's system identifier (None when the role may not read it:
/// `pg_control_system()` needs EXECUTE, which a site may revoke).
pub fn place(db: &Db) -> db::Result<(i64, Option<String>)> {
    let oid =
        db.query_row("SELECT CAST(oid AS bigint) FROM pg_database WHERE datname = current_database()", (), |r| {
            r.get(0)
        })?;
    // Asked first: a refused call would end the caller's transaction.
    let may: bool =
        db.query_row("SELECT has_function_privilege('pg_control_system()', 'EXECUTE')", (), |r| r.get(0))?;
    let system = if may {
        db.query_row("SELECT CAST(system_identifier AS text) FROM pg_control_system()", (), |r| r.get(0))?
    } else {
        None
    };
    Ok((oid, system))
}

/// What the pool database on `db` (a pool schema, migrated) says of itself.
pub fn read(db: &Db) -> db::Result<Found> {
    let rows: Vec<(String, Option<String>, Option<String>)> =
        db.query_map("SELECT id, store, store_db FROM pool_file", (), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    let (oid, system) = place(db)?;
    // Two rows: not a database pchat made (it writes one); no identity to trust.
    let file = match rows.as_slice() {
        [(id, store, store_db)] => Some(PoolFile {
            id: id.clone(),
            owner: store.clone().map(|id| Owner { id, db: store_db.clone().unwrap_or_default() }),
        }),
        _ => None,
    };
    Ok(Found { file, oid, system })
}

/// Create the pool schema in the empty database of `db` and stamp it as `owner`'s: one
/// transaction (the migration's), so a failure leaves the database empty. A database that is
/// not empty (another schema, a pool schema already) is refused and left as it was. The one
/// function that makes a pool database on PostgreSQL: Publish-CsTopology, copy-store's stamp
/// (`stamp`, the same row) and Repair's empty target.
pub fn create_pool_schema(db: &Db, owner: &Owner) -> anyhow::Result<Identity> {
    let (_, id) = db.migrate_postgres_then(Database::Pool, |tx, migrated| {
        if migrated.from != 0 {
            bail!("it already holds a pool schema; pchat creates one in an empty database only");
        }
        stamp(tx, owner)
    })?;
    let (oid, system) = place(db).context("cannot read the new pool database's oid")?;
    Ok(Identity { id, oid, system })
}

/// Write a new identity row naming `owner` into a pool schema that has none (in the caller's
/// transaction); its id.
pub fn stamp(tx: &mut impl postgres::GenericClient, owner: &Owner) -> anyhow::Result<String> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let present: i64 = tx.query_one("SELECT count(*) FROM pool_file", &[])?.try_get(0)?;
    if present != 0 {
        bail!("it already holds a pool identity row");
    }
    tx.execute(STAMP, &[&id, &owner.id, &owner.db])?;
    Ok(id)
}

/// A pool database's identity row: its id, its store's id and central database.
pub const STAMP: &str = "INSERT INTO pool_file(id, store, store_db) VALUES ($1, $2, $3)";

/// The identity the central database `central` recorded for the pool database at `connection`.
pub fn recorded(central: &Db, connection: &str) -> db::Result<Option<Identity>> {
    use crate::store::db::OptionalExtension;
    central
        .prepare_cached("SELECT id, oid, system_identifier FROM pool_database_identities WHERE connection = ?1")?
        .query_row([connection], |r| Ok(Identity { id: r.get(0)?, oid: r.get(1)?, system: r.get(2)? }))
        .optional()
}

/// Record `identity` for `connection` (replacing what was recorded: Publish and Repair, which
/// made or checked it).
pub fn record(central: &Db, connection: &str, identity: &Identity) -> db::Result<()> {
    central.execute(
        "INSERT INTO pool_database_identities(connection, id, oid, system_identifier) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (connection) DO UPDATE SET id = excluded.id, oid = excluded.oid, system_identifier = excluded.system_identifier",
        params![connection, identity.id, identity.oid, identity.system],
    )?;
    Ok(())
}

/// Record `identity` for `connection` unless something is recorded already (the first open of
/// an older copy: see `Store::recognise_pool_database`); what is recorded then.
pub fn record_first(central: &Db, connection: &str, identity: &Identity) -> db::Result<Option<Identity>> {
    central.execute(
        "INSERT INTO pool_database_identities(connection, id, oid, system_identifier) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (connection) DO NOTHING",
        params![connection, identity.id, identity.oid, identity.system],
    )?;
    recorded(central, connection)
}

/// Forget the records of connections no SQL instance names any more (after a Publish).
pub fn forget_unnamed(central: &Db) -> db::Result<()> {
    central
        .execute("DELETE FROM pool_database_identities WHERE connection NOT IN (SELECT file FROM sql_instances)", ())?;
    Ok(())
}

/// Why the database at `url` (`found`) cannot serve as the pool database the central database
/// recorded for `instance`, if it cannot. `store_id`: this store's.
pub fn check(
    found: &Found,
    recorded: &Identity,
    store_id: Option<&str>,
    url: &str,
    instance: &str,
) -> Result<(), String> {
    let shown = shown_url(url);
    let Some(file) = &found.file else {
        return Err(format!(
            "the database {shown} has no pool identity row, so it is not the pool database pchat made for {instance} (it was dropped and re-created, or restored from something else); put back the database pchat made, or drop this one, create it again empty and repair the pool from its other copy (Repair fills an empty database only)"
        ));
    };
    if let Some(owner) = file.other_store(store_id) {
        return Err(belongs_to(&shown, owner));
    }
    if file.id != recorded.id {
        return Err(format!(
            "the database {shown} is not the pool database pchat made for {instance}: its identity {} differs from the recorded {} (it was replaced, or filled by another copy-store); put back the database pchat made, or drop this one, create it again empty and repair the pool from its other copy (Repair fills an empty database only)",
            file.id, recorded.id
        ));
    }
    if found.oid != recorded.oid {
        return Err(format!(
            "the database {shown} was dropped and re-created since pchat recorded it for {instance} (oid {}, recorded {}), so what it holds may be older or another's (a database restored from a dump is a new database too); drop it, create it again empty and repair the pool from its other copy (Repair fills an empty database only)",
            found.oid, recorded.oid
        ));
    }
    if let (Some(now), Some(then)) = (&found.system, &recorded.system)
        && now != then
    {
        return Err(format!(
            "the database {shown} is on another PostgreSQL cluster than the one pchat recorded for {instance} (system identifier {now}, recorded {then}: the server was restored from another cluster, or the Connection reaches another server); name the right server in the topology, or repair the pool from its other copy"
        ));
    }
    Ok(())
}

/// Why a pool database whose identity row names another store is never used.
pub fn belongs_to(shown: &str, owner: &Owner) -> String {
    format!(
        "the database {shown} belongs to another store (the central database {}, store id {}); a pool database serves one store only: give the SQL instance another Connection in the topology",
        owner.db, owner.id
    )
}

/// What Publish-CsTopology found at a `Connection` it has no record of.
pub enum Unrecorded {
    /// An empty database: the pool schema is made there ([`create_pool_schema`] on this session).
    Empty(Db),
    /// A pool database this store made (a Publish that failed after making it, or an instance
    /// left out of the topology and named again): used as it is.
    Ours(Identity),
}

/// Look at the database at `url` for a Publish that names it for the first time, changing
/// nothing: empty and fit for a pool schema, this store's own pool database, or why not.
pub fn inspect_unrecorded(url: &str, store_id: &str) -> Result<Unrecorded, String> {
    let shown = shown_url(url);
    let config: postgres::Config = url.parse().map_err(|e| format!("{shown} is not a connection string ({e})"))?;
    if let Err(e) = super::passfile::connect(&config)
        && e.code() == Some(&postgres::error::SqlState::INVALID_CATALOG_NAME)
    {
        return Err(format!(
            "the database {shown} does not exist; pchat does not create databases: {}, then publish again",
            super::create_database_advice(url)
        ));
    }
    let db = Db::open_postgres(url).map_err(|e| format!("the database {shown} cannot be opened ({e})"))?;
    let unreadable = |e: db::DbError| format!("the database {shown} cannot be read ({e})");
    let relations: Vec<String> = db
        .query_map(
            // Tables, views, sequences; types and functions of their own (a database holding
            // only those is someone's too): anything outside the system schemas.
            "SELECT name FROM (
               SELECT n.nspname || '.' || c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f')
                  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
               UNION ALL
               SELECT 'type ' || n.nspname || '.' || t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE t.typtype IN ('c', 'd', 'e', 'r', 'm') AND t.typrelid = 0
                  AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
               UNION ALL
               SELECT 'function ' || n.nspname || '.' || p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
             ) AS owned ORDER BY 1 LIMIT 6",
            (),
            |r| r.get(0),
        )
        .map_err(unreadable)?;
    if relations.is_empty() {
        fit_for_schema(&db, &shown)?;
        return Ok(Unrecorded::Empty(db));
    }
    let versioned: bool =
        db.query_row("SELECT to_regclass('schema_version') IS NOT NULL", (), |r| r.get(0)).map_err(unreadable)?;
    let version: Option<String> = if versioned {
        db.query_map(crate::store::dialect::PG_SCHEMA_VERSION, (), |r| r.get(0)).map_err(unreadable)?.into_iter().next()
    } else {
        None
    };
    match version.as_deref() {
        Some("pool") => {}
        Some(other) => {
            return Err(format!(
                "the database {shown} holds pchat's {other} schema, not a pool database's; name an empty database"
            ));
        }
        None => {
            let more = if relations.len() > 5 { ", …" } else { "" };
            let listed: Vec<&str> = relations.iter().take(5).map(String::as_str).collect();
            return Err(format!(
                "the database {shown} is not empty (it holds {}{more}) and is not a pool database; pchat makes a pool schema in an empty database only: name an empty one",
                listed.join(", ")
            ));
        }
    }
    let found = read(&db).map_err(unreadable)?;
    match &found.file {
        Some(file) if file.owner.as_ref().is_some_and(|o| o.id == store_id) => {
            Ok(Unrecorded::Ours(found.identity().ok_or_else(|| format!("the database {shown} has no identity"))?))
        }
        Some(PoolFile { owner: Some(owner), .. }) => Err(belongs_to(&shown, owner)),
        _ => Err(format!(
            "the database {shown} holds a pool schema that names no store (no identity row), so it may be another store's; pchat uses only a pool database this store made: name an empty database"
        )),
    }
}

/// Whether pchat can make its schema in the empty database on `db`: a locale that folds and
/// orders like SQLite's NOCASE (the migration refuses others), and tables may be created.
fn fit_for_schema(db: &Db, shown: &str) -> Result<(), String> {
    let (nocase, may_create, role, schema, encoding): (bool, bool, String, Option<String>, String) = db
        .query_row(
            "SELECT lower(CAST(?1 AS text)) = CAST(?1 AS text) AND CAST(?2 AS text) < CAST(?3 AS text),
                    coalesce(has_schema_privilege(current_schema(), 'CREATE'), false), CAST(current_user AS text),
                    CAST(current_schema() AS text),
                    CAST(pg_encoding_to_char((SELECT encoding FROM pg_database WHERE datname = current_database())) AS text)",
            ["\u{c9}", "B", "a"],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .map_err(|e| format!("the database {shown} cannot be read ({e})"))?;
    if !nocase {
        return Err(format!(
            "the database {shown} has a locale that folds or orders text unlike pchat's case-insensitive names; create it with TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        ));
    }
    if encoding != "UTF8" {
        return Err(format!(
            "the database {shown} has the encoding {encoding}, which cannot hold every name and message pchat keeps; create it with TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        ));
    }
    if !may_create {
        let schema = schema.unwrap_or_else(|| "public".into());
        return Err(format!(
            "the role {role} may not create tables in the schema {schema} of the database {shown}: create the database with OWNER {role}, or GRANT CREATE ON SCHEMA {schema} TO {role}"
        ));
    }
    Ok(())
}

#[cfg(test)]
#[cfg(unix)] // The throwaway PostgreSQL server is started by a shell script.
mod tests {
    use super::*;
    use crate::store::pg::test_cluster::{Cluster, connect};

    fn owner(id: &str) -> Owner {
        Owner { id: id.into(), db: "central_ü".into() }
    }

    #[test]
    fn a_pool_schema_is_made_and_stamped_in_an_empty_database_only() {
        let Some(cluster) = Cluster::shared("a_pool_schema_is_made_and_stamped_in_an_empty_database_only") else {
            return;
        };
        let url = cluster.database("identity_new");
        let db = Db::open_postgres(&url).unwrap();
        let Unrecorded::Empty(db2) = inspect_unrecorded(&url, "s1").unwrap() else { panic!("empty") };
        drop(db2);
        let made = create_pool_schema(&db, &owner("s1")).unwrap();
        assert_eq!(made.id.len(), 32);
        let found = read(&db).unwrap();
        assert_eq!(found.identity().as_ref(), Some(&made));
        assert_eq!(found.file.as_ref().unwrap().owner, Some(owner("s1")));
        assert!(made.system.is_some(), "the test server's role may read the system identifier");
        // Made again: refused, and the identity row is the first one still.
        let again = create_pool_schema(&db, &owner("s1")).unwrap_err().to_string();
        assert!(again.contains("already holds a pool schema"), "{again}");
        assert_eq!(read(&db).unwrap().identity(), Some(made.clone()));
        // This store's own, found again by a Publish; another store's refused with its id.
        assert!(matches!(inspect_unrecorded(&url, "s1").unwrap(), Unrecorded::Ours(i) if i == made));
        let other = inspect_unrecorded(&url, "s2").err().unwrap();
        assert!(other.contains("belongs to another store") && other.contains("store id s1"), "{other}");
        assert!(other.contains("central_ü"), "{other}");
    }

    #[test]
    fn what_a_publish_cannot_use_is_refused_unchanged() {
        let Some(cluster) = Cluster::shared("what_a_publish_cannot_use_is_refused_unchanged") else { return };
        let missing = cluster.missing_database("identity_missing");
        let why = inspect_unrecorded(&missing, "s1").err().unwrap();
        assert!(
            why.contains("does not exist") && why.contains("CREATE DATABASE") && why.contains("LC_COLLATE 'C'"),
            "{why}"
        );
        let full = cluster.database("identity_full");
        connect(&full).batch_execute("CREATE TABLE payroll (n int); INSERT INTO payroll VALUES (1)").unwrap();
        let why = inspect_unrecorded(&full, "s1").err().unwrap();
        assert!(why.contains("is not empty") && why.contains("public.payroll"), "{why}");
        assert_eq!(connect(&full).query_one("SELECT count(*) FROM payroll", &[]).unwrap().get::<_, i64>(0), 1);
        // Only a type or a function of its own: not empty either (the pool schema's CREATE TABLE
        // rooms would fail on the type after a Publish made the other copy).
        let typed = cluster.database("identity_typed");
        connect(&typed).batch_execute("CREATE TYPE rooms AS ENUM ('x')").unwrap();
        let why = inspect_unrecorded(&typed, "s1").err().unwrap();
        assert!(why.contains("type public.rooms"), "{why}");
        let function = cluster.database("identity_function");
        connect(&function).batch_execute("CREATE FUNCTION audit() RETURNS int LANGUAGE sql AS 'SELECT 1'").unwrap();
        let why = inspect_unrecorded(&function, "s1").err().unwrap();
        assert!(why.contains("function public.audit"), "{why}");
        let utf8 = cluster.database_with("identity_utf8", "TEMPLATE template0 LC_COLLATE 'C.UTF-8' LC_CTYPE 'C.UTF-8'");
        let why = inspect_unrecorded(&utf8, "s1").err().unwrap();
        assert!(why.contains("LC_COLLATE 'C'"), "{why}");
        // Found by a newcomer: a LATIN1 database was taken, and its repair failed on a Japanese name.
        let latin1 = cluster
            .database_with("identity_latin1", "TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'");
        let why = inspect_unrecorded(&latin1, "s1").err().unwrap();
        assert!(why.contains("encoding LATIN1") && why.contains("ENCODING 'UTF8'"), "{why}");
        let central = cluster.database("identity_central");
        Db::open_postgres(&central).unwrap().migrate_postgres(Database::Central).unwrap();
        let why = inspect_unrecorded(&central, "s1").err().unwrap();
        assert!(why.contains("central schema"), "{why}");
        // A pool schema with no identity row (made by hand, or an old copy): not adopted.
        let bare = cluster.database("identity_bare");
        Db::open_postgres(&bare).unwrap().migrate_postgres(Database::Pool).unwrap();
        let why = inspect_unrecorded(&bare, "s1").err().unwrap();
        assert!(why.contains("names no store"), "{why}");
    }

    #[test]
    fn a_recorded_identity_must_match_in_every_part() {
        let recorded = Identity { id: "a".repeat(32), oid: 7, system: Some("42".into()) };
        let found = |id: &str, store: Option<&str>, oid: i64, system: Option<&str>| Found {
            file: Some(PoolFile { id: id.into(), owner: store.map(owner) }),
            oid,
            system: system.map(str::to_string),
        };
        let a = "a".repeat(32);
        let url = "postgres://pchat:secret@h/pool_ö";
        assert_eq!(check(&found(&a, Some("s1"), 7, Some("42")), &recorded, Some("s1"), url, "sql\\i"), Ok(()));
        // A role that cannot read the system identifier now: the other parts decide.
        assert_eq!(check(&found(&a, Some("s1"), 7, None), &recorded, Some("s1"), url, "sql\\i"), Ok(()));
        let cases = [
            (Found { file: None, oid: 7, system: None }, "has no pool identity row"),
            (found(&a, Some("s2"), 7, Some("42")), "belongs to another store"),
            (found("b", Some("s1"), 7, Some("42")), "differs from the recorded"),
            (found(&a, Some("s1"), 8, Some("42")), "dropped and re-created"),
            (found(&a, Some("s1"), 7, Some("43")), "another PostgreSQL cluster"),
        ];
        for (f, says) in cases {
            let why = check(&f, &recorded, Some("s1"), url, "sql\\i").unwrap_err();
            assert!(why.contains(says) && why.contains("pool_ö") && !why.contains("secret"), "{why}");
        }
    }
}
