//! Pool database identity on PostgreSQL (docs/failover.md, "On PostgreSQL"; design notes §5
//! step 5), through the built binary: copy-store stamps every pool database and the copy
//! recognises them; a pool database dropped and re-created is unavailable with the reason; an
//! older copy without identities keeps working; Publish-CsTopology makes a new pool's schema in
//! empty databases and refuses a database it cannot use, changing nothing.

use std::process::Stdio;

use crate::common::INSTANCES;
use crate::common::pg::{Server, connect, database_name};
use crate::common::pg_copy::{copy_args, copy_into_postgres, copy_store_command};
use crate::common::topology::{demo_topology, line_naming_pool, set_backup};
use crate::common::{self, Run};
use crate::postgres::{Pg, contents, count, on_postgres};

/// The central database's record for each pool database, in `INSTANCES` order: (id, oid).
fn records(pg: &Pg) -> Vec<(String, i64)> {
    let mut c = connect(&pg.central);
    pg.pools
        .iter()
        .map(|url| {
            let row = c
                .query_one("SELECT id, oid FROM pool_database_identities WHERE connection = $1", &[url])
                .unwrap_or_else(|e| panic!("no record for {url}: {e}"));
            (row.get(0), row.get(1))
        })
        .collect()
}

fn store_id(central: &str) -> String {
    connect(central).query_one("SELECT value FROM meta WHERE key = 'store_id'", &[]).unwrap().get(0)
}

/// `url`'s identity row (id, store) and its database's oid.
fn stamp(url: &str) -> (String, String, i64) {
    let mut c = connect(url);
    let rows = c.query("SELECT id, store FROM pool_file", &[]).unwrap();
    assert_eq!(rows.len(), 1, "{url}: one identity row");
    let oid: i64 =
        c.query_one("SELECT oid::bigint FROM pg_database WHERE datname = current_database()", &[]).unwrap().get(0);
    (rows[0].get(0), rows[0].get(1), oid)
}

/// Drop the database at `url` and create it again, empty, under the same name.
fn recreate(server: &Server, url: &str) {
    let name = database_name(url);
    let mut admin = connect(&server.url_of("postgres"));
    admin.batch_execute(&format!("DROP DATABASE \"{name}\" WITH (FORCE)")).unwrap();
    admin.batch_execute(&format!("CREATE DATABASE \"{name}\" TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")).unwrap();
}

/// The relations a database holds outside the system schemas.
fn relations(url: &str) -> i64 {
    count(
        url,
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'",
    )
}

/// The demo topology with every SQL instance named by `Connection` (`connections`, in
/// `INSTANCES` order), plus `extra` instances and a pool pc03 on the first two of them.
fn topology(connections: &[String], extra: &[(&str, &str)]) -> String {
    let mut doc = demo_topology();
    let instances = doc["SqlInstances"].as_array_mut().unwrap();
    for (i, url) in connections.iter().enumerate() {
        instances[i]["Connection"] = url.as_str().into();
    }
    for (identity, url) in extra {
        instances.push(serde_json::json!({"Identity": identity, "Connection": url}));
    }
    if let [(primary, _), (backup, _), ..] = extra {
        doc["Pools"].as_array_mut().unwrap().push(serde_json::json!({
            "Fqdn": "pc03.contoso.com", "Site": "Oslo",
            "Services": [{"Role": "PersistentChatServer", "Version": 7}],
            "Servers": ["pcsrv07.contoso.com"],
            "Database": primary, "BackupDatabase": backup
        }));
    }
    serde_json::to_string_pretty(&doc).unwrap()
}

/// Publish `json` (written beside the source store) on the copy.
fn publish(pg: &Pg, name: &str, json: &str) -> Run {
    publish_on(&pg.central, pg.source.dir.path(), name, json)
}

/// Publish `json`, written into `dir`, on the store whose central database is `central`.
fn publish_on(central: &str, dir: &std::path::Path, name: &str, json: &str) -> Run {
    let file = dir.join(name);
    std::fs::write(&file, json).unwrap();
    let mut cmd = common::pchat();
    cmd.arg("--db").arg(central).arg("-c").arg(format!("publish_cs_topology({:?})", file.to_string_lossy()));
    // As `Pg::command`: a PostgreSQL run reaches the port's own texts.
    cmd.env_remove("PCHAT_SQL_INVENTORY").env_remove("PCHAT_DB").stdin(Stdio::null());
    Run::from(cmd.output().unwrap())
}

/// copy-store gives the copy a store id of its own and each pool database an identity naming
/// it, recorded in the central database with the database's oid; the copy opens with every pool
/// database recognised (reads of both pools answer, a write lands in both copies).
#[test]
fn copy_store_stamps_every_pool_database_and_the_copy_recognises_them() {
    let Some(server) = Server::shared("copy_store_stamps_every_pool_database_and_the_copy_recognises_them") else {
        return;
    };
    let pg = on_postgres(server, "idcopy");
    let store = store_id(&pg.central);
    let recorded = records(&pg);
    let mut ids = Vec::new();
    for (url, (id, oid)) in pg.pools.iter().zip(&recorded) {
        let (found, owner, now) = stamp(url);
        assert_eq!((&found, &owner, now), (id, &store, *oid), "{url}");
        ids.push(found);
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), INSTANCES.len(), "every pool database has an identity of its own");
    assert!(
        recorded.iter().all(|(_, oid)| *oid > 0)
            && count(&pg.central, "SELECT count(*) FROM pool_database_identities WHERE system_identifier IS NOT NULL")
                == INSTANCES.len() as i64
    );
    for pool in ["pc01.contoso.com", "pc02.contoso.com"] {
        let run = pg.c(&format!("get_cs_persistent_chat_room(#{{PersistentChatPoolFqdn: {pool:?}}}).len()")).ok();
        assert!(run.stdout.trim().parse::<i64>().unwrap() > 0, "{pool}: {}", run.stdout);
        assert_eq!(run.stderr, "", "{pool}");
    }
    pg.c(r#"new_cs_persistent_chat_room(#{Name: "Stamped ✓", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"})"#)
        .ok();
    for url in pg.copies() {
        assert_eq!(count(url, "SELECT count(*) FROM rooms WHERE name = 'Stamped ✓'"), 1, "{url}");
    }
}

/// A pool database dropped and re-created under its name is unavailable with the reason, empty
/// or filled by another copy-store (another store's identity), and reads and writes of its pool
/// say so; the other pool keeps working.
#[test]
fn a_recreated_pool_database_is_unavailable_with_the_reason() {
    let Some(server) = Server::shared("a_recreated_pool_database_is_unavailable_with_the_reason") else { return };
    let pg = on_postgres(server, "idre");
    // sql03 is pc02's primary.
    let pc02_primary = &pg.pools[2];
    recreate(server, pc02_primary);
    let read = pg.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc02.contoso.com"})"#);
    assert_ne!(read.code, 0, "{}", read.stdout);
    assert!(
        read.stderr.contains("is not a pool database") && read.stderr.contains("dropped and re-created"),
        "{}",
        read.stderr
    );
    assert!(read.stderr.contains(&database_name(pc02_primary)), "{}", read.stderr);
    let write =
        pg.c(r#"new_cs_persistent_chat_room(#{Name: "Nope", PersistentChatPoolFqdn: "pc02.contoso.com", Category: "Projects"})"#);
    assert_ne!(write.code, 0);
    assert!(write.stderr.contains("dropped and re-created"), "{}", write.stderr);
    assert_eq!(relations(pc02_primary), 0, "opening made nothing in the re-created database");
    // pc01 lives on sql01 and sql02: untouched.
    pg.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).len()"#).ok();

    // Filled by another copy-store of the same source: another store's database.
    let other_central = server.missing_database("idre_other_c");
    let other_pools: Vec<String> = (0..INSTANCES.len())
        .map(|i| if i == 2 { pc02_primary.clone() } else { server.missing_database(&format!("idre_other_p{i}")) })
        .collect();
    copy_into_postgres(
        &[],
        &pg.source.db(),
        &other_central,
        INSTANCES.into_iter().zip(other_pools.iter().map(String::as_str)),
    );
    let read = pg.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc02.contoso.com"})"#);
    assert_ne!(read.code, 0, "{}", read.stdout);
    assert!(read.stderr.contains("belongs to another store"), "{}", read.stderr);
    assert!(read.stderr.contains(&store_id(&other_central)), "{}", read.stderr);
    assert_ne!(store_id(&other_central), store_id(&pg.central), "each copy is a store of its own");
    let write =
        pg.c(r#"new_cs_persistent_chat_room(#{Name: "Nope", PersistentChatPoolFqdn: "pc02.contoso.com", Category: "Projects"})"#);
    assert!(write.code != 0 && write.stderr.contains("belongs to another store"), "{}", write.stderr);
    assert_eq!(count(pc02_primary, "SELECT count(*) FROM rooms WHERE name = 'Nope'"), 0);
    // The same rows as the source (the same source was copied), so only the identity tells:
    // copy-store --verify-only of the first copy fails on it.
    let copy = copy_args(&pg.source.db(), &pg.central, INSTANCES.into_iter().zip(pg.pools.iter().map(String::as_str)));
    let verify: Vec<&str> =
        ["copy-store", "--verify-only"].into_iter().chain(copy.iter().map(String::as_str)).collect();
    let verified = Run::from(copy_store_command(&verify).output().unwrap());
    assert_eq!(verified.code, 1, "{}", verified.stdout);
    assert!(
        verified.stderr.contains("pool database of sql03.contoso.com\\rtc")
            && verified.stderr.contains("belongs to another store"),
        "{}",
        verified.stderr
    );
}

/// A copy made before copy-store stamped identities (no record in the central database; the
/// identity rows copied from the SQLite source name the store) keeps working: its first use
/// recognises and records each pool database, and changes land in both copies.
#[test]
fn an_older_copy_without_identities_keeps_working() {
    let Some(server) = Server::shared("an_older_copy_without_identities_keeps_working") else { return };
    let pg = on_postgres(server, "idold");
    // What an older copy-store left: the source's store id everywhere, the source's file ids,
    // nothing recorded.
    let old_store = "0123456789abcdef0123456789abcdef";
    connect(&pg.central)
        .batch_execute(&format!(
            "UPDATE meta SET value = '{old_store}' WHERE key = 'store_id'; DELETE FROM pool_database_identities"
        ))
        .unwrap();
    for (i, url) in pg.pools.iter().enumerate() {
        connect(url)
            .batch_execute(&format!(
                "UPDATE pool_file SET id = 'sqlite-file-{i}', store = '{old_store}', store_db = '/srv/pchat/pchat.db'"
            ))
            .unwrap();
    }
    pg.c(r#"new_cs_persistent_chat_room(#{Name: "Older copy", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Load"})"#)
        .ok();
    for url in pg.copies() {
        assert_eq!(count(url, "SELECT count(*) FROM rooms WHERE name = 'Older copy'"), 1, "{url}");
    }
    let recorded = records(&pg);
    for (i, (id, _)) in recorded.iter().enumerate().take(2) {
        assert_eq!(id, &format!("sqlite-file-{i}"));
    }
    // Recorded once: the next use compares with it.
    pg.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc02.contoso.com"}).len()"#).ok();
    assert_eq!(records(&pg), recorded);
}

/// Publish-CsTopology on a PostgreSQL store: a new pool whose SQL instances name empty
/// databases gets its pool schema there, stamped for this store and recorded, and a room made
/// in it lands in both copies; a database that is missing, not empty and not a pool database,
/// or another store's pool database, is refused with the reason and the publish changes nothing
/// (central tables and every database named).
#[test]
fn publish_makes_a_new_pools_databases_and_refuses_what_it_cannot_use() {
    let Some(server) = Server::shared("publish_makes_a_new_pools_databases_and_refuses_what_it_cannot_use") else {
        return;
    };
    let pg = on_postgres(server, "idpub");
    let primary = server.empty_database("idpub_pc03a");
    let backup = server.empty_database("idpub_pc03b");
    let payroll = server.empty_database("idpub_payroll");
    connect(&payroll).batch_execute("CREATE TABLE payroll (n int); INSERT INTO payroll VALUES (1)").unwrap();
    let missing = server.missing_database("idpub_missing");
    // Another store: a new one on the server, which publishes a pool of its own.
    let theirs_central = server.missing_database("idpub_theirs");
    connect(&server.url_of("postgres"))
        .batch_execute(&format!(
            "CREATE DATABASE \"{}\" TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'",
            database_name(&theirs_central)
        ))
        .unwrap();
    let (theirs_a, theirs_b) = (server.empty_database("idpub_theirs_a"), server.empty_database("idpub_theirs_b"));
    let their_topology = serde_json::json!({
        "SipDomains": ["fabrikam.com"], "Sites": [{"Name": "Bergen"}],
        "SqlInstances": [
            {"Identity": "sqla.fabrikam.com\\rtc", "Connection": theirs_a},
            {"Identity": "sqlb.fabrikam.com\\rtc", "Connection": theirs_b}],
        "Pools": [{"Fqdn": "pc.fabrikam.com", "Site": "Bergen", "Services": ["PersistentChatServer"],
                   "Database": "sqla.fabrikam.com\\rtc", "BackupDatabase": "sqlb.fabrikam.com\\rtc"}]
    });
    publish_on(&theirs_central, pg.source.dir.path(), "theirs.json", &their_topology.to_string()).ok();
    assert_eq!(count(&theirs_a, "SELECT count(*) FROM pool_file"), 1);

    let ours = "sql04.contoso.com\\rtc_zürich";
    let central_tables = ["sql_instances", "pools", "services", "pool_database_identities", "audit"];
    let before = contents(&pg.central, &central_tables);
    let payroll_before = contents(&payroll, &["payroll"]);
    for (backup_url, says) in [
        (&payroll, "is not empty (it holds public.payroll) and is not a pool database"),
        (&theirs_a, "belongs to another store"),
        (&missing, "does not exist"),
    ] {
        let json = topology(&pg.pools, &[(ours, &primary), ("sql05.contoso.com\\rtc", backup_url)]);
        let run = publish(&pg, "refused.json", &json);
        assert_ne!(run.code, 0, "{says}: {}", run.stdout);
        assert!(run.stderr.contains(says) && run.stderr.contains("nothing was changed"), "{says}: {}", run.stderr);
        assert!(run.stderr.contains("sql05.contoso.com\\rtc"), "{}", run.stderr);
        assert_eq!(contents(&pg.central, &central_tables), before, "{says}: the central database changed");
        assert_eq!(relations(&primary), 0, "{says}: the empty primary was changed");
    }
    let why =
        publish(&pg, "missing.json", &topology(&pg.pools, &[(ours, &primary), ("sql05.contoso.com\\rtc", &missing)]));
    assert!(
        why.stderr.contains(&format!("CREATE DATABASE \"{}\" TEMPLATE template0", database_name(&missing))),
        "{}",
        why.stderr
    );
    assert_eq!(contents(&payroll, &["payroll"]), payroll_before);
    assert_eq!(count(&theirs_a, "SELECT count(*) FROM pool_file"), 1);
    assert!(server.databases_named(&database_name(&missing)).is_empty(), "publish made a database");

    // A publish that fails after making the databases (pc03's default endpoint is a user's SIP
    // address): the topology is unchanged, the databases hold an empty pool schema naming this
    // store, and the error says so.
    let mut doc: serde_json::Value =
        serde_json::from_str(&topology(&pg.pools, &[(ours, &primary), ("sql05.contoso.com\\rtc", &backup)])).unwrap();
    doc["Pools"].as_array_mut().unwrap().last_mut().unwrap()["DefaultEndpoint"] = "sip:annb@contoso.com".into();
    let failed = publish(&pg, "taken.json", &doc.to_string());
    assert_ne!(failed.code, 0);
    assert!(
        failed.stderr.contains("already used") && failed.stderr.contains("publishing again uses them"),
        "{}",
        failed.stderr
    );
    assert!(failed.stderr.contains(&database_name(&primary)), "{}", failed.stderr);
    assert_eq!(contents(&pg.central, &central_tables), before, "the failed publish changed the central database");
    assert_eq!(stamp(&primary).1, store_id(&pg.central));
    assert_eq!(count(&primary, "SELECT count(*) FROM rooms"), 0);

    publish(&pg, "pc03.json", &topology(&pg.pools, &[(ours, &primary), ("sql05.contoso.com\\rtc", &backup)])).ok();
    let store = store_id(&pg.central);
    for url in [&primary, &backup] {
        let (id, owner, oid) = stamp(url);
        assert_eq!(owner, store, "{url}");
        let recorded: (String, i64) = {
            let row = connect(&pg.central)
                .query_one("SELECT id, oid FROM pool_database_identities WHERE connection = $1", &[url])
                .unwrap();
            (row.get(0), row.get(1))
        };
        assert_eq!(recorded, (id, oid), "{url}");
    }
    pg.c(r#"new_cs_persistent_chat_category(#{Name: "Zürich", PersistentChatPoolFqdn: "pc03.contoso.com"});
new_cs_persistent_chat_room(#{Name: "Nouvelle salle ✓", PersistentChatPoolFqdn: "pc03.contoso.com", Category: "Zürich"})"#)
        .ok();
    for url in [&primary, &backup] {
        assert_eq!(count(url, "SELECT count(*) FROM rooms WHERE name = 'Nouvelle salle ✓'"), 1, "{url}");
    }
    let listed = pg.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc03.contoso.com"}).len()"#).ok();
    assert_eq!(listed.stdout.trim(), "1");
    // Published again, the recorded databases are kept as they are.
    publish(&pg, "pc03.json", &topology(&pg.pools, &[(ours, &primary), ("sql05.contoso.com\\rtc", &backup)])).ok();
    assert_eq!(count(&primary, "SELECT count(*) FROM rooms"), 1);
}

/// Publish-CsTopology giving sql01 (pc01's primary, pc02's backup) another, empty, database:
/// it goes ahead (each pool's other copy holds its whole history) and warns, per pool, naming the
/// old and new databases and the repair that rebuilds the copy; the old database keeps its data;
/// the repairs bring both pools back. Re-pointing the only copy of a pool (pc02 without a backup)
/// is refused, changing nothing.
#[test]
fn publish_re_pointing_a_copy_warns_with_the_repair_or_refuses_the_only_copy() {
    let Some(server) = Server::shared("publish_re_pointing_a_copy_warns_with_the_repair_or_refuses_the_only_copy")
    else {
        return;
    };
    let pg = on_postgres(server, "repoint");
    let fresh = server.empty_database("repoint_new");
    let mut moved = pg.pools.clone();
    moved[0] = fresh.clone();
    let run = publish(&pg, "moved.json", &topology(&moved, &[]));
    assert_eq!(run.code, 0, "{}", run.stderr);
    for (pool, source) in [("pc01.contoso.com", "Backup"), ("pc02.contoso.com", "Primary")] {
        let line = line_naming_pool(&run.stderr, pool);
        assert!(
            line.starts_with("WARNING: Publish-CsTopology: SQL instance sql01.contoso.com\\rtc now names"),
            "{line}"
        );
        assert!(line.contains(&fresh) && line.contains(&pg.pools[0]), "{line}");
        assert!(line.contains(&format!(r#"Source: "{source}""#)), "{line}");
    }
    // The old database is left as it was.
    assert!(count(&pg.pools[0], "SELECT count(*) FROM rooms") > 0);
    let change = r#"set_cs_persistent_chat_room("pc01.contoso.com\\LoadRoom", #{Description: "after"})"#;
    let refused = pg.c(change);
    assert!(refused.code > 0 && refused.stderr.contains("repair_cs_persistent_chat_database"), "{}", refused.stderr);
    pg.c(
        r#"repair_cs_persistent_chat_database(#{Identity: "PersistentChatServer:pc01.contoso.com", Source: "Backup"})"#,
    )
    .ok();
    pg.c(r#"repair_cs_persistent_chat_database(#{Identity: "PersistentChatServer:pc02.contoso.com", Source: "Primary"})"#).ok();
    pg.c(change).ok();

    // pc02 without a backup: its primary, sql03, is its only copy.
    let mut doc: serde_json::Value = serde_json::from_str(&topology(&moved, &[])).unwrap();
    set_backup(&mut doc, "pc02.contoso.com", None);
    let alone = serde_json::to_string_pretty(&doc).unwrap();
    publish(&pg, "alone.json", &alone).ok();
    let other = server.empty_database("repoint_other");
    let before = contents(&pg.central, &["pools", "sql_instances", "pool_database_identities"]);
    let run = publish(&pg, "alone-moved.json", &alone.replace(&pg.pools[2], &other));
    assert!(run.code > 0, "{}", run.stderr);
    for expected in [
        "primary database sql03.contoso.com\\rtc of pool 'pc02.contoso.com' holds the pool's whole history",
        "the pool has no backup",
        &other,
        "keep its Connection",
    ] {
        assert!(run.stderr.contains(expected), "{expected}: {}", run.stderr);
    }
    assert_eq!(contents(&pg.central, &["pools", "sql_instances", "pool_database_identities"]), before);
    assert_eq!(relations(&other), 0, "a refused publish made the pool schema in {other}");
}

/// Publish refuses two SQL instances whose `Connection`s reach one database spelt differently
/// (`localhost` for `127.0.0.1`, as the server names it): the pool would be backed up onto
/// itself. Both instances are named; the central database is unchanged.
#[test]
fn publish_refuses_two_instances_reaching_one_database() {
    let Some(server) = Server::shared("publish_refuses_two_instances_reaching_one_database") else { return };
    let pg = on_postgres(server, "idalias");
    let alias = pg.pools[0].replace("127.0.0.1", "localhost");
    assert_ne!(alias, pg.pools[0]);
    let other = server.empty_database("idalias_pc03b");
    let central_tables = ["sql_instances", "pools", "services", "pool_database_identities", "audit"];
    let before = contents(&pg.central, &central_tables);
    let json = topology(&pg.pools, &[("sql04.contoso.com\\rtc", &alias), ("sql05.contoso.com\\rtc", &other)]);
    let run = publish(&pg, "alias.json", &json);
    assert_ne!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stderr.contains("SQL instances sql01.contoso.com\\rtc and sql04.contoso.com\\rtc name one database")
            && run.stderr.contains("nothing was changed"),
        "{}",
        run.stderr
    );
    assert_eq!(contents(&pg.central, &central_tables), before);
    assert_eq!(relations(&other), 0, "the other new database was changed");
}
