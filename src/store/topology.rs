//! Topology tables: SIP domains, sites, SQL instances, pools, servers, services.

use crate::store::db::{self, params};
use std::rc::Rc;

use super::failover::Side;
use super::route::Target;
use super::{Store, dialect};
use crate::catalog::enums::PoolState;
use crate::errors::{CmdletError, CmdletResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceSpec {
    pub role: String,
    pub dependents: Vec<String>,
    /// The topology's `Version` of the service; `None` when it gives none (never defaulted).
    pub version: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolSpec {
    pub fqdn: String,
    pub site: String,
    pub services: Vec<ServiceSpec>,
    pub servers: Vec<String>,
    pub active_servers: Vec<String>,
    pub database: Option<String>,
    pub backup_database: Option<String>,
    /// SIP address of the pool's default endpoint (Persistent Chat pools only).
    pub default_endpoint: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlInstanceSpec {
    pub identity: String,
    pub file: String,
}

/// A validated topology document, ready to be written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TopologySpec {
    pub sip_domains: Vec<String>,
    pub sites: Vec<String>,
    pub sql_instances: Vec<SqlInstanceSpec>,
    pub pools: Vec<PoolSpec>,
}

pub const PCHAT_ROLE: &str = "PersistentChatServer";

#[derive(Debug, Clone)]
pub struct PoolRow {
    pub fqdn: String,
    pub site: String,
    pub database: Option<String>,
    pub backup_database: Option<String>,
    pub state: PoolState,
    pub servers: Vec<String>,
    pub active_servers: Vec<String>,
    pub is_pchat: bool,
}

impl PoolRow {
    /// The SQL instance serving the pool now: the backup's while it is failed over.
    pub fn serving_database(&self) -> Option<&str> {
        match self.state {
            PoolState::FailedOver => self.backup_database.as_deref(),
            _ => self.database.as_deref(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct ServiceRow {
    pub role: String,
    pub pool: String,
    pub site: String,
    pub dependents: Vec<String>,
    pub version: Option<i64>,
}

/// Where an endpoint contact lives.
pub fn endpoint_container(domain_dn: &str) -> String {
    format!("CN=Application Contacts,CN=RTC Service,CN=Services,CN=Configuration,{domain_dn}")
}

/// Columns of `pools` that `pools()` reads. The others (`generation`, `seq`: the pool's mark)
/// move with every change to the pool's data and are read afresh by `Store::pool_mark`; a test
/// checks that every column is one or the other.
const WATCHED_POOL_COLUMNS: &str = "fqdn, site, database, backup_database, default_endpoint, state, ord";

/// Temporary (per-connection) triggers that move an epoch on every row this connection inserts,
/// deletes or changes in the tables `pools()` and `attach_pool_databases` read. Triggers rather than `total_changes` so that
/// the millions of room and message rows a runbook writes leave the memo valid; triggers rather
/// than an update hook because SQLite skips the hook for a `DELETE` without `WHERE`.
pub(super) fn watch_topology(conn: &db::Db) -> db::Result<()> {
    let pool_update = format!("UPDATE OF {WATCHED_POOL_COLUMNS}");
    let mut events = Vec::new();
    for (table, update) in [
        ("pools", pool_update.as_str()),
        ("pool_servers", "UPDATE"),
        ("services", "UPDATE"),
        ("sql_instances", "UPDATE"),
    ] {
        events.extend(["INSERT", "DELETE", update].map(|event| (table, event)));
    }
    conn.execute_batch(&dialect::change_counter(EPOCH, &events))
}

const EPOCH: &str = "topology_epoch";

/// See `watch_topology`.
pub(super) fn topology_epoch(conn: &db::Db) -> db::Result<i64> {
    conn.prepare_cached(&dialect::read_change_counter(EPOCH))?.query_row((), |r| r.get(0))
}

impl Store {
    pub fn sip_domains(&self) -> db::Result<Vec<String>> {
        self.db().prepare_cached("SELECT name FROM sip_domains ORDER BY ord")?.query_map((), |r| r.get(0))?.collect()
    }

    pub fn sites(&self) -> db::Result<Vec<String>> {
        self.db().prepare_cached("SELECT name FROM sites ORDER BY ord")?.query_map((), |r| r.get(0))?.collect()
    }

    pub fn sql_instances(&self) -> db::Result<Vec<SqlInstanceSpec>> {
        self.db()
            .prepare_cached("SELECT identity, file FROM sql_instances ORDER BY identity COLLATE NOCASE")?
            .query_map((), |r| Ok(SqlInstanceSpec { identity: r.get(0)?, file: r.get(1)? }))?
            .collect()
    }

    /// Every pool with its servers, in FQDN order.
    pub fn pools(&self) -> db::Result<Vec<PoolRow>> {
        Ok(self.shared_pools()?.to_vec())
    }

    /// `pools` without copying them: every chat-object call looks its pool up.
    pub(crate) fn shared_pools(&self) -> db::Result<Rc<[PoolRow]>> {
        let key = self.cache_key()?;
        if let Some(pools) = self.cached_pools(key) {
            return Ok(pools);
        }
        let pools: Rc<[PoolRow]> = self.read_pools()?.into();
        self.cache_pools(key, Rc::clone(&pools));
        Ok(pools)
    }

    fn read_pools(&self) -> db::Result<Vec<PoolRow>> {
        let mut pools: Vec<PoolRow> = self
            .db()
            .prepare_cached(
                "SELECT fqdn, site, database, backup_database, state,
                        EXISTS(SELECT 1 FROM services s WHERE s.pool = p.fqdn AND s.role = ?1)
                 FROM pools p ORDER BY fqdn COLLATE NOCASE",
            )?
            .query_map([PCHAT_ROLE], |r| {
                Ok(PoolRow {
                    fqdn: r.get(0)?,
                    site: r.get(1)?,
                    database: r.get(2)?,
                    backup_database: r.get(3)?,
                    state: r.get(4)?,
                    servers: Vec::new(),
                    active_servers: Vec::new(),
                    is_pchat: r.get(5)?,
                })
            })?
            .collect::<db::Result<_>>()?;
        let mut stmt = self.db().prepare_cached("SELECT pool, fqdn, active FROM pool_servers ORDER BY pool, ord")?;
        let rows = stmt.query_map((), |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?, r.get::<bool>(2)?)))?;
        for row in rows {
            let (pool, server, active) = row?;
            if let Some(p) = pools.iter_mut().find(|p| p.fqdn.eq_ignore_ascii_case(&pool)) {
                if active {
                    p.active_servers.push(server.clone());
                }
                p.servers.push(server);
            }
        }
        Ok(pools)
    }

    pub fn pool(&self, fqdn: &str) -> db::Result<Option<PoolRow>> {
        Ok(self.shared_pools()?.iter().find(|p| p.fqdn.eq_ignore_ascii_case(fqdn)).cloned())
    }

    /// Whether the topology has any pool: checked before every chat-object call, so the memo is
    /// not copied for it.
    pub fn has_pools(&self) -> db::Result<bool> {
        Ok(!self.shared_pools()?.is_empty())
    }

    /// Every service, ordered by pool then role.
    pub fn services(&self) -> db::Result<Vec<ServiceRow>> {
        self.db()
            .prepare_cached(
                "SELECT s.role, p.fqdn, p.site, s.dependents, s.version FROM services s JOIN pools p ON p.fqdn = s.pool
                 ORDER BY p.fqdn COLLATE NOCASE, s.role COLLATE NOCASE",
            )?
            .query_map((), |r| {
                let deps: String = r.get(3)?;
                Ok(ServiceRow {
                    role: r.get(0)?,
                    pool: r.get(1)?,
                    site: r.get(2)?,
                    dependents: serde_json::from_str(&deps).unwrap_or_default(),
                    version: r.get(4)?,
                })
            })?
            .collect()
    }

    /// The DN of the directory's domain, else one derived from the first SIP domain.
    pub fn domain_dn(&self) -> db::Result<Option<String>> {
        if let Some(dn) = self.meta("domain_dn")? {
            return Ok(Some(dn));
        }
        Ok(self.sip_domains()?.first().map(|d| d.split('.').map(|l| format!("DC={l}")).collect::<Vec<_>>().join(",")))
    }

    /// Chat data a pool owns in its database: (categories, rooms, add-ins).
    pub fn pool_data_counts(&self, pool: &str, database: &str) -> db::Result<(i64, i64, i64)> {
        let Some(s) = self.pool_schema(database) else { return Ok((0, 0, 0)) };
        self.lock_copy(&s)?;
        self.route(
            Target::Copy(&s),
            "SELECT (SELECT count(*) FROM {db}.categories WHERE pool = ?1 COLLATE NOCASE),
                    (SELECT count(*) FROM {db}.rooms WHERE pool = ?1 COLLATE NOCASE),
                    (SELECT count(*) FROM {db}.addins WHERE pool = ?1 COLLATE NOCASE)",
        )
        .query_row([pool], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
    }

    /// Replace the topology. Runtime state (pool state, active servers) of pools that stay is kept;
    /// a pool that still owns chat data may neither disappear nor move to another database.
    /// The warnings to show: SQL instances re-pointed away from a pool's copy (`repoint.rs`).
    pub fn replace_topology(&self, spec: &TopologySpec) -> CmdletResult<Vec<String>> {
        let old = self.pools()?;
        for pool in old.iter().filter(|p| p.is_pchat) {
            let Some(db) = &pool.database else { continue };
            let new = spec.pools.iter().find(|n| n.fqdn.eq_ignore_ascii_case(&pool.fqdn));
            let keeps_db = new.is_some_and(|n| {
                n.services.iter().any(|s| s.role == PCHAT_ROLE)
                    && n.database.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(db))
            });
            if keeps_db {
                continue;
            }
            let (categories, rooms, addins) = self.pool_data_counts(&pool.fqdn, db)?;
            if categories + rooms + addins > 0 {
                let what = if new.is_some() { "move it to another database" } else { "remove it" };
                return Err(CmdletError::invalid_operation(format!(
                    "pool '{}' still owns {categories} categories, {rooms} rooms and {addins} add-ins in {db}; the topology would {what} and orphan them (remove or export them first)",
                    pool.fqdn
                )));
            }
        }
        // The copy holding changes no other copy holds (the backup serving a failed-over pool, a
        // copy ahead of the other) stays where it is: dropping it would lose those changes.
        for pool in old.iter().filter(|p| p.is_pchat) {
            let new = spec
                .pools
                .iter()
                .find(|n| n.fqdn.eq_ignore_ascii_case(&pool.fqdn) && n.services.iter().any(|s| s.role == PCHAT_ROLE));
            for (side, instance, why) in self.copies_that_must_stay(pool)? {
                let now = new.and_then(|n| match side {
                    Side::Primary => n.database.as_deref(),
                    Side::Backup => n.backup_database.as_deref(),
                });
                if now.is_some_and(|d| d.eq_ignore_ascii_case(&instance)) {
                    continue;
                }
                let what = match (new, now) {
                    (None, _) => "remove the pool".to_string(),
                    (Some(_), None) => {
                        format!("remove its {}Database", if side == Side::Primary { "" } else { "Backup" })
                    }
                    (Some(_), Some(d)) => {
                        format!("move its {}Database to {d}", if side == Side::Primary { "" } else { "Backup" })
                    }
                };
                return Err(CmdletError::invalid_operation(format!(
                    "the {} database {instance} of pool '{}' must stay: {why}; the topology would {what} and orphan those changes (fail back, or repair the pool, first)",
                    side.name().to_lowercase(),
                    pool.fqdn
                )));
            }
        }
        let warnings = self.repointed_copies(&old, spec)?;
        let (files, identities) = match self.is_postgres() {
            true => (vec![None; spec.sql_instances.len()], self.instance_databases(spec)?),
            false => (self.instance_files(spec)?, Vec::new()),
        };
        // Should the rest fail, the pool databases made above stay, holding an empty pool schema
        // naming this store: harmless, and the next publish naming them uses them. Said so.
        let made: Vec<String> = identities.iter().map(|(url, _)| super::pg::shown_url(url)).collect();
        let said = |mut e: CmdletError| {
            if !made.is_empty() {
                e.message.push_str(&format!(
                    " (the pool databases {} were made ready for this store and stay so: publishing again uses them)",
                    made.join(", ")
                ));
            }
            e
        };
        self.write_topology(spec, &old, files, &identities).map_err(said)?;
        Ok(warnings)
    }

    /// The central rows of the topology `spec` (the checks and the pool databases done), `old`
    /// its pools before; `files` each SQL instance's file identity (SQLite), `identities` the
    /// pool databases to record (PostgreSQL).
    fn write_topology(
        &self,
        spec: &TopologySpec,
        old: &[PoolRow],
        files: Vec<Option<String>>,
        identities: &[(String, super::pg::identity::Identity)],
    ) -> CmdletResult<()> {
        let marks: Vec<(String, i64, Option<i64>)> = self
            .db()
            .prepare("SELECT fqdn, generation, seq FROM pools")?
            .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<db::Result<_>>()?;
        let c = &self.db();
        self.forget_pools();
        c.execute_batch(
            "DELETE FROM services; DELETE FROM pool_servers; DELETE FROM pools; DELETE FROM sql_instances;
             DELETE FROM sites; DELETE FROM sip_domains;",
        )?;
        for (i, d) in spec.sip_domains.iter().enumerate() {
            c.execute("INSERT INTO sip_domains(name, ord) VALUES (?1, ?2)", params![d, i as i64])?;
        }
        for (i, s) in spec.sites.iter().enumerate() {
            c.execute("INSERT INTO sites(name, ord) VALUES (?1, ?2)", params![s, i as i64])?;
        }
        for (s, id) in spec.sql_instances.iter().zip(files) {
            c.execute(
                "INSERT INTO sql_instances(identity, file, file_id) VALUES (?1, ?2, ?3)",
                params![s.identity, s.file, id],
            )?;
        }
        if self.is_postgres() {
            for (connection, identity) in identities {
                super::pg::identity::record(c, connection, identity)?;
            }
            super::pg::identity::forget_unnamed(c)?;
        }
        for (i, p) in spec.pools.iter().enumerate() {
            let before = old.iter().find(|o| o.fqdn.eq_ignore_ascii_case(&p.fqdn));
            let state = before.map_or(PoolState::Normal, |b| b.state);
            // A pool that stays keeps its mark: its copies are the same files holding the same data.
            let (generation, seq) = marks
                .iter()
                .find(|(f, _, _)| f.eq_ignore_ascii_case(&p.fqdn))
                .map(|(_, g, s)| (*g, *s))
                .unwrap_or((1, Some(0)));
            c.execute(
                "INSERT INTO pools(fqdn, site, database, backup_database, default_endpoint, state, ord, generation, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![p.fqdn, p.site, p.database, p.backup_database, p.default_endpoint, state, i as i64, generation, seq],
            )?;
            for (j, server) in p.servers.iter().enumerate() {
                // A pool that stays keeps its active list (Set-CsPersistentChatActiveServer's work).
                let active = match before {
                    Some(b) if b.servers.iter().any(|s| s.eq_ignore_ascii_case(server)) => {
                        b.active_servers.iter().any(|s| s.eq_ignore_ascii_case(server))
                    }
                    _ => p.active_servers.iter().any(|s| s.eq_ignore_ascii_case(server)),
                };
                c.execute(
                    "INSERT INTO pool_servers(pool, fqdn, active, ord) VALUES (?1, ?2, ?3, ?4)",
                    params![p.fqdn, server, active, j as i64],
                )?;
            }
            // Each service names its pool as the pool row spells it (`schema::CANONICAL_REFERENCES`).
            for s in &p.services {
                c.execute(
                    "INSERT INTO services(role, pool, dependents, version) VALUES (?1, ?2, ?3, ?4)",
                    params![s.role, p.fqdn, serde_json::to_string(&s.dependents).unwrap_or_default(), s.version],
                )?;
            }
        }
        // Users name their registrar pool as `pools` spells it (`schema::CANONICAL_REFERENCES`):
        // a pool published in another spelling takes its users' references along.
        c.execute(
            "UPDATE principals SET registrar_pool = (SELECT p.fqdn FROM pools p WHERE p.fqdn = principals.registrar_pool COLLATE NOCASE)
             WHERE registrar_pool IS NOT NULL AND EXISTS (SELECT 1 FROM pools p
                WHERE p.fqdn = principals.registrar_pool COLLATE NOCASE AND p.fqdn <> principals.registrar_pool COLLATE BINARY)",
            (),
        )?;
        // Endpoints belong to a Persistent Chat pool (1.10 #1): those of vanished pools go with them.
        c.execute(
            "DELETE FROM principals WHERE endpoint_pool IS NOT NULL
             AND endpoint_pool COLLATE NOCASE NOT IN (SELECT pool FROM services WHERE role = ?1)",
            [PCHAT_ROLE],
        )?;
        self.forget_pools();
        self.create_default_endpoints(spec)?;
        self.set_meta("topology_published_at", &chrono::Utc::now().to_rfc3339())?;
        Ok(())
    }

    /// The identity of each SQL instance's file: the recorded one for an instance that keeps its
    /// file (even when the file is lost: only a repair makes it anew), else the file already
    /// there when it is an intact pool database this store created, else a new file created now,
    /// naming this store. A file of another store, or one that names no store, is refused: two
    /// stores in one folder give an instance the same file name. Publishing is the only act
    /// besides a repair that creates a pool database file.
    fn instance_files(&self, spec: &TopologySpec) -> CmdletResult<Vec<Option<String>>> {
        let old: Vec<(String, String, Option<String>)> = self
            .db()
            .prepare("SELECT identity, file, file_id FROM sql_instances")?
            .query_map((), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<db::Result<_>>()?;
        // Every file already there is checked before any is created: a refused publish leaves
        // no new file behind.
        let mut ids = Vec::new();
        let mut to_create = Vec::new();
        let owner = self.pool_file_owner()?;
        for s in &spec.sql_instances {
            let kept = old
                .iter()
                .find(|(i, f, _)| i.eq_ignore_ascii_case(&s.identity) && *f == s.file)
                .and_then(|(_, _, id)| id.clone());
            if kept.is_some() {
                ids.push(kept);
                continue;
            }
            let path = self.dir.join(&s.file);
            let id = if std::fs::symlink_metadata(&path).is_ok() {
                let found = super::pool_files::inspect(&path).map_err(|why| {
                    CmdletError::invalid_operation(format!(
                        "SQL instance {}: {why}; pchat does not create a pool database over a file: move it away or name another file",
                        s.identity
                    ))
                })?;
                match &found.owner {
                    // This store's own file, say of an instance it had left out of the topology.
                    Some(o) if o.id == owner.id => found.id,
                    Some(o) => {
                        return Err(CmdletError::invalid_operation(format!(
                            "SQL instance {}: {}",
                            s.identity,
                            super::pool_files::belongs_to(&path, o)
                        ))
                        .with_target(&s.identity));
                    }
                    None => {
                        return Err(CmdletError::invalid_operation(format!(
                            "SQL instance {}: the file {} is a pool database that names no store (made by an earlier pchat), so it may be another store's: two stores in one folder name their files alike; pchat adopts only a file this store created: give this store a folder of its own (--db <another folder>/pchat.db), give the SQL instance another File in the topology, or move the file away if no store uses it",
                            s.identity,
                            path.display()
                        ))
                        .with_target(&s.identity));
                    }
                }
            } else {
                to_create.push((ids.len(), s, path));
                ids.push(None);
                continue;
            };
            ids.push(Some(id));
        }
        for (at, s, path) in to_create {
            let id = super::pool_files::create(&path, &owner)
                .map_err(|e| CmdletError::invalid_operation(format!("SQL instance {}: {e:#}", s.identity)))?;
            ids[at] = Some(id);
        }
        Ok(ids)
    }

    /// On PostgreSQL, each SQL instance's database (`Connection`) that the central database has
    /// no identity recorded for: an empty one gets the pool schema and this store's identity
    /// (`pg::identity::create_pool_schema`), a pool database this store made is used as it is,
    /// anything else is refused. Every database is looked at before any is changed, so a refused
    /// publish changes nothing. pchat does not create databases (the role may lack CREATEDB, and
    /// where a server keeps them is the DBA's choice): a missing one is refused with the CREATE
    /// DATABASE statement to run. A recorded `Connection` is kept as it is (checked when opened).
    /// The identities to record, by connection string. Should the publish fail after this, a
    /// database made here holds an empty pool schema naming this store: the next publish that
    /// names it uses it (`Unrecorded::Ours`).
    fn instance_databases(&self, spec: &TopologySpec) -> CmdletResult<Vec<(String, super::pg::identity::Identity)>> {
        use super::pg::identity::{self, Unrecorded};
        distinct_instance_databases(spec)?;
        let owner = self.pool_file_owner()?;
        let mut out = Vec::new();
        let mut to_create = Vec::new();
        for s in &spec.sql_instances {
            if identity::recorded(self.db(), &s.file)?.is_some() {
                continue;
            }
            let refused = |why: String| {
                CmdletError::invalid_operation(format!("SQL instance {}: {why}; nothing was changed", s.identity))
                    .with_target(&s.identity)
            };
            match identity::inspect_unrecorded(&s.file, &owner.id).map_err(refused)? {
                Unrecorded::Ours(found) => out.push((s.file.clone(), found)),
                Unrecorded::Empty(db) => to_create.push((s, db)),
            }
        }
        let mut made: Vec<String> = Vec::new();
        for (s, db) in to_create {
            let identity = identity::create_pool_schema(&db, &owner).map_err(|e| {
                let left = match made.is_empty() {
                    true => String::new(),
                    false => format!(
                        " (the pool schema was made in {}, naming this store: publishing again uses it)",
                        made.join(", ")
                    ),
                };
                CmdletError::invalid_operation(format!(
                    "SQL instance {}: cannot make the pool schema in {}: {e:#}; the topology was not changed{left}",
                    s.identity,
                    super::pg::shown_url(&s.file)
                ))
                .with_target(&s.identity)
            })?;
            made.push(super::pg::shown_url(&s.file));
            out.push((s.file.clone(), identity));
        }
        Ok(out)
    }

    fn create_default_endpoints(&self, spec: &TopologySpec) -> CmdletResult<()> {
        for p in spec.pools.iter().filter(|p| p.services.iter().any(|s| s.role == PCHAT_ROLE)) {
            let Some(sip) = &p.default_endpoint else { continue };
            // Any case of every letter (`principal_by_sip`): addresses are unique by that fold.
            let holder: Option<Option<String>> = self.principal_by_sip(sip)?.map(|p| p.endpoint_pool);
            match holder {
                Some(Some(pool)) if pool.eq_ignore_ascii_case(&p.fqdn) => continue,
                Some(_) => {
                    return Err(CmdletError::exists(format!(
                        "the default endpoint SIP address '{sip}' of pool '{}' is already used by another principal",
                        p.fqdn
                    )));
                }
                None => {}
            }
            self.insert_endpoint(sip, Some(&format!("Persistent Chat {}", p.fqdn)), &p.fqdn)?;
        }
        Ok(())
    }
}

/// Two SQL instances whose `Connection`s reach one database (spelt differently: `localhost` and
/// `127.0.0.1`, a password added) would make a pool backed up onto itself. Compared as the
/// servers name them (`pg::same_database`); an unreachable one is left to the opening that
/// reports it.
fn distinct_instance_databases(spec: &TopologySpec) -> CmdletResult<()> {
    let mut seen: Vec<(&str, String)> = Vec::new();
    for s in &spec.sql_instances {
        let Some(key) = super::pg::same_database::server_key(&s.file) else { continue };
        if let Some((other, _)) = seen.iter().find(|(_, k)| *k == key) {
            return Err(CmdletError::invalid_operation(format!(
                "SQL instances {other} and {} name one database ({}): each SQL instance needs a database of its own; nothing was changed",
                s.identity,
                super::pg::shown_url(&s.file)
            ))
            .with_target(&s.identity));
        }
        seen.push((&s.identity, key));
    }
    Ok(())
}

impl Store {
    /// A Persistent Chat pool by FQDN, or the only one when `fqdn` is
    /// `None` (rule 2). Errors name the cmdlet-facing problem.
    pub fn pchat_pool(&self, fqdn: Option<&str>) -> CmdletResult<PoolRow> {
        let all = self.shared_pools()?;
        let pools: Vec<&PoolRow> = all.iter().filter(|p| p.is_pchat).collect();
        match fqdn {
            Some(f) => {
                let f = f.trim();
                pools.iter().find(|p| p.fqdn.eq_ignore_ascii_case(f)).map(|p| (*p).clone()).ok_or_else(|| {
                    let known: Vec<&str> = pools.iter().map(|p| p.fqdn.as_str()).collect();
                    let hint = crate::values::text::did_you_mean(f, &known, "pools");
                    CmdletError::not_found(format!("'{f}' is not a Persistent Chat pool of the topology{hint}"))
                        .with_target(f)
                })
            }
            None => {
                let n = pools.len();
                match (pools.first(), n) {
                    (Some(p), 1) => Ok((*p).clone()),
                    (_, 0) => Err(CmdletError::invalid("the topology has no Persistent Chat pool; publish one first")),
                    _ => Err(CmdletError::invalid(format!(
                        "the pool must be specified with -PersistentChatPoolFqdn: the topology has {n} Persistent Chat pools"
                    ))),
                }
            }
        }
    }

    /// A fresh row id for pool-owned tables. Ids are random so that rows of pools sharing one
    /// database file (as primary of one pool and backup of another) can never collide.
    /// A row id for pool data: the clock in microseconds shifted left by 10 bits, then counting
    /// up. Rising ids put new rows at the end of their tables instead of on random pages (a
    /// million imported messages touch a few thousand pages, not a million). Pools that share a
    /// database file still never collide: writers take turns (each holds the central database's
    /// write lock) and the clock has moved on by the next one; a process starts at a random point of its
    /// first microsecond in case it has not. Room for 1,024 ids per microsecond until 2255.
    ///
    /// On PostgreSQL several processes write at once: ids come from a central sequence in
    /// blocks (`Store::id_from_sequence`), the clock only when it cannot answer.
    pub fn new_id(&self) -> i64 {
        if let Some(id) = self.id_from_sequence() {
            return id;
        }
        let now = chrono::Utc::now().timestamp_micros().max(0) << 10;
        let last = self.last_id.get();
        let next = if last == 0 { now | (uuid::Uuid::new_v4().as_u128() as i64 & 0x3ff) } else { (last + 1).max(now) };
        self.last_id.set(next);
        next
    }
}

impl Store {
    pub fn set_pool_state(&self, pool: &str, state: PoolState) -> db::Result<()> {
        self.forget_pools();
        self.db()
            .execute("UPDATE pools SET state = ?2 WHERE fqdn = ?1 COLLATE NOCASE", params![pool, state])
            .map(|_| ())
    }

    /// Mark exactly `active` (a subset of the pool's servers) as accepting new connections.
    pub fn set_active_servers(&self, pool: &str, active: &[String]) -> db::Result<()> {
        self.forget_pools();
        let mut stmt = self
            .db()
            .prepare_cached("UPDATE pool_servers SET active = ?3 WHERE pool = ?1 AND fqdn = ?2 COLLATE NOCASE")?;
        for server in self.pool(pool)?.map(|p| p.servers).unwrap_or_default() {
            let on = active.iter().any(|a| a.eq_ignore_ascii_case(&server));
            stmt.execute(params![pool, server, on])?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARK_COLUMNS: &[&str] = &["generation", "seq"];

    fn store_with_a_pool() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("pchat.db")).unwrap();
        store
            .db()
            .execute_batch(
                "INSERT INTO sites(name, ord) VALUES ('Dublin', 0);
                 INSERT INTO pools(fqdn, site, ord) VALUES ('pc01.contoso.com', 'Dublin', 0);",
            )
            .unwrap();
        (dir, store)
    }

    /// Two stores in one folder: a store creates its files naming itself and adopts only its own;
    /// another store's file, or one naming no store, is refused before any file is created.
    #[test]
    fn publishing_adopts_only_this_stores_own_pool_files() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) =
            (Store::open(&dir.path().join("demo.db")).unwrap(), Store::open(&dir.path().join("pchat.db")).unwrap());
        let spec = |files: &[(&str, &str)]| TopologySpec {
            sip_domains: Vec::new(),
            sites: Vec::new(),
            sql_instances: files
                .iter()
                .map(|(i, f)| SqlInstanceSpec { identity: i.to_string(), file: f.to_string() })
                .collect(),
            pools: Vec::new(),
        };
        let both = spec(&[("sql01\\rtc", "sql01.db"), ("sql02\\rtc", "sql02.db")]);
        let ids = a.instance_files(&both).unwrap();
        assert!(ids.iter().all(|id| id.as_ref().is_some_and(|id| id.len() == 32)), "{ids:?}");
        for f in ["sql01.db", "sql02.db"] {
            let owner = super::super::pool_files::inspect(&dir.path().join(f)).unwrap().owner.unwrap();
            assert_eq!(Some(owner.id), a.store_id().unwrap());
        }
        assert_eq!(a.instance_files(&both).unwrap(), ids, "its own files are adopted again");

        let e =
            b.instance_files(&spec(&[("sql00\\rtc", "new.db"), ("sql01\\rtc", "sql01.db")])).unwrap_err().to_string();
        assert!(e.contains("sql01.db belongs to another store") && e.contains("demo.db"), "{e}");
        assert!(!dir.path().join("new.db").exists(), "a refused publish creates no file");

        let old = dir.path().join("old.db");
        let conn = db::Db::open_sqlite(&old).unwrap();
        crate::store::migrate(&conn, crate::store::schema::released(crate::store::schema::Database::Pool)).unwrap();
        drop(conn);
        let e = a.instance_files(&spec(&[("sql03\\rtc", "old.db")])).unwrap_err().to_string();
        assert!(e.contains("old.db is a pool database that names no store"), "{e}");
    }

    #[test]
    fn every_pool_column_is_watched_or_a_mark() {
        let (_d, store) = store_with_a_pool();
        let columns: Vec<String> =
            store.db().query_map("SELECT name FROM pragma_table_info('pools')", (), |r| r.get(0)).unwrap();
        let watched: Vec<&str> = WATCHED_POOL_COLUMNS.split(", ").collect();
        for column in &columns {
            assert!(
                watched.contains(&column.as_str()) != MARK_COLUMNS.contains(&column.as_str()),
                "pools.{column} must be in exactly one of WATCHED_POOL_COLUMNS and MARK_COLUMNS"
            );
        }
        assert_eq!(columns.len(), watched.len() + MARK_COLUMNS.len());
        // PostgreSQL's `store_epoch` triggers watch the same columns and tables.
        let epoch = crate::store::schema::STORE_EPOCH;
        assert!(epoch.contains(&format!("OR UPDATE OF {WATCHED_POOL_COLUMNS}\n    ON pools FOR EACH STATEMENT")));
        for table in ["pool_servers", "services", "sql_instances"] {
            assert!(
                epoch.contains(&format!("UPDATE OR DELETE OR TRUNCATE\n    ON {table} FOR EACH STATEMENT")),
                "{table}"
            );
        }
    }

    #[test]
    fn the_pools_memo_follows_every_topology_row_this_connection_writes() {
        let (_d, store) = store_with_a_pool();
        assert_eq!(store.pools().unwrap()[0].state, PoolState::Normal);
        let key = store.cache_key().unwrap();
        // A pool's mark and chat data move without touching what `pools()` returns.
        store.set_marks("pc01.contoso.com", (1, 7), &[]).unwrap();
        assert_eq!(store.cache_key().unwrap(), key);
        store.db().execute("UPDATE pools SET state = 'FailedOver'", ()).unwrap();
        assert_eq!(store.pools().unwrap()[0].state, PoolState::FailedOver);
        store
            .db()
            .execute("INSERT INTO pool_servers(pool, fqdn, active, ord) VALUES ('pc01.contoso.com', 's1', 1, 0)", ())
            .unwrap();
        assert_eq!(store.pools().unwrap()[0].servers, ["s1"]);
        store.db().execute("UPDATE pool_servers SET active = 0", ()).unwrap();
        assert!(store.pools().unwrap()[0].active_servers.is_empty());
        // A DELETE without WHERE (which SQLite's update hook would not report).
        store.db().execute_batch("DELETE FROM pool_servers; DELETE FROM pools;").unwrap();
        assert!(store.pools().unwrap().is_empty());
    }

    #[test]
    fn the_sql_instances_memo_follows_this_connection_and_other_connections() {
        let (d, store) = store_with_a_pool();
        let files = |s: &Store| -> Vec<String> { s.instance_rows().unwrap().0.iter().map(|r| r.1.clone()).collect() };
        assert!(files(&store).is_empty());
        store.db().execute("INSERT INTO sql_instances(identity, file) VALUES ('sql01\\rtc', 'a.db')", ()).unwrap();
        assert_eq!(files(&store), ["a.db"]);
        assert!(!store.instance_rows().unwrap().1, "unchanged rows are not read again");
        store.db().execute("UPDATE sql_instances SET file = 'b.db'", ()).unwrap();
        assert_eq!(files(&store), ["b.db"]);
        let other = Store::open(&d.path().join("pchat.db")).unwrap();
        other.db().execute("UPDATE sql_instances SET file = 'c.db'", ()).unwrap();
        assert_eq!(files(&store), ["c.db"]);
        other.db().execute("DELETE FROM sql_instances", ()).unwrap();
        assert!(files(&store).is_empty());
    }

    #[test]
    fn a_rolled_back_topology_change_is_not_remembered() {
        let (_d, store) = store_with_a_pool();
        store.begin(true).unwrap();
        store.db().execute("UPDATE pools SET state = 'FailedOver'", ()).unwrap();
        assert_eq!(store.pools().unwrap()[0].state, PoolState::FailedOver);
        store.rollback();
        assert_eq!(store.pools().unwrap()[0].state, PoolState::Normal);
        store.begin(true).unwrap();
        store.db().execute("UPDATE pools SET site = 'Dublin'", ()).unwrap();
        store.commit().unwrap();
        assert_eq!(store.pools().unwrap()[0].state, PoolState::Normal);
    }

    #[test]
    fn a_service_version_is_stored_and_read_back_and_none_stays_none() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("pchat.db")).unwrap();
        let service = |role: &str, version| ServiceSpec { role: role.into(), dependents: Vec::new(), version };
        let spec = TopologySpec {
            sip_domains: vec!["contoso.com".into()],
            sites: vec!["Dublin".into()],
            sql_instances: Vec::new(),
            pools: vec![PoolSpec {
                fqdn: "fe01.contoso.com".into(),
                site: "Dublin".into(),
                services: vec![service("Registrar", Some(7)), service("WebServer", None)],
                servers: vec!["fe01.contoso.com".into()],
                active_servers: vec!["fe01.contoso.com".into()],
                database: None,
                backup_database: None,
                default_endpoint: None,
            }],
        };
        store.replace_topology(&spec).unwrap();
        let got: Vec<(String, Option<i64>)> =
            store.services().unwrap().into_iter().map(|s| (s.role, s.version)).collect();
        assert_eq!(got, [("Registrar".to_string(), Some(7)), ("WebServer".to_string(), None)]);
    }

    /// Services published before the column existed have no version after the upgrade: NULL,
    /// not a default.
    #[test]
    fn services_from_before_the_version_column_have_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pchat.db");
        let steps = crate::store::schema::CENTRAL;
        let step = steps.iter().position(|s| s.contains("ADD COLUMN version")).unwrap();
        let conn = crate::store::db::Db::open_sqlite(&path).unwrap();
        crate::store::migrate(&conn, &steps[..step]).unwrap();
        conn.execute_batch(
            "INSERT INTO sites(name, ord) VALUES ('Dublin', 0);
             INSERT INTO pools(fqdn, site, ord) VALUES ('fe01.contoso.com', 'Dublin', 0);
             INSERT INTO services(role, pool) VALUES ('Registrar', 'fe01.contoso.com');",
        )
        .unwrap();
        drop(conn);
        let store = Store::open(&path).unwrap();
        let services = store.services().unwrap();
        assert_eq!(services.len(), 1);
        assert_eq!((services[0].role.as_str(), services[0].version), ("Registrar", None));
    }
}
