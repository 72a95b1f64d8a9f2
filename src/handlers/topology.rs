//! Publish-CsTopology (pchat extension), Get-CsService, and the topology reads Get-CsPool and
//! Get-CsComputer.

use std::collections::HashSet;
use std::path::Path;

use rhai::Dynamic;
use serde::Deserialize;

use super::wildcard_filter;
use crate::binder::Bound;
use crate::catalog::{self, ObjType, Ty};
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::objects::{list, object, text};
use crate::store::topology::{PCHAT_ROLE, PoolRow, PoolSpec, ServiceSpec, SqlInstanceSpec, TopologySpec};
use crate::values::dns::is_fqdn;

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct TopologyDoc {
    sip_domains: Vec<String>,
    #[serde(default)]
    sites: Vec<SiteDoc>,
    #[serde(default)]
    sql_instances: Vec<SqlDoc>,
    #[serde(default)]
    pools: Vec<PoolDoc>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct SiteDoc {
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct SqlDoc {
    identity: String,
    /// A SQLite store's pool database file, relative to the store's folder.
    file: Option<String>,
    /// A PostgreSQL store's pool database (`postgres://…`).
    connection: Option<String>,
}

/// Which kind of store a topology is published to: it decides how an SQL instance names its
/// pool database (`File` on SQLite, `Connection` on PostgreSQL; the other key is an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct PoolDoc {
    fqdn: String,
    site: String,
    services: Vec<ServiceDoc>,
    servers: Option<Vec<String>>,
    active_servers: Option<Vec<String>>,
    database: Option<String>,
    backup_database: Option<String>,
    default_endpoint: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ServiceDoc {
    Role(String),
    Full(ServiceObjectDoc),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "PascalCase")]
struct ServiceObjectDoc {
    role: String,
    #[serde(default)]
    dependent_service_list: Vec<String>,
    /// Any JSON value, checked by `service_version`: a wrong type here must be reported as a bad
    /// Version, not as the untagged enum's "did not match any variant".
    version: Option<serde_json::Value>,
}

/// The highest service version accepted: the product's versions are single digits (5 Lync Server
/// 2010 … 8 Skype for Business Server 2019); the bound leaves room for later ones while refusing a
/// release year (2015) written for its version.
const MAX_SERVICE_VERSION: i64 = 99;

/// A service's `Version`: a whole JSON number from 1 to `MAX_SERVICE_VERSION`. Strings ("7"),
/// fractions and out-of-range numbers are refused rather than guessed at.
fn service_version(v: &serde_json::Value) -> Result<i64, String> {
    let valid = format!(
        "a whole number from 1 to {MAX_SERVICE_VERSION}, the product's service version (6 Lync Server 2013, 7 Skype for Business Server 2015, 8 Skype for Business Server 2019)"
    );
    // The value as written, cut short: a refused value is echoed, not a whole nested document.
    let mut shown: String = v.to_string().chars().take(40).collect();
    if shown.len() < v.to_string().len() {
        shown.push('…');
    }
    match v.as_i64() {
        Some(n) if (1..=MAX_SERVICE_VERSION).contains(&n) => Ok(n),
        Some(n) if (2010..=2100).contains(&n) => {
            Err(format!("Version {n} looks like a release year; Version must be {valid}"))
        }
        _ if v.is_string() => {
            Err(format!("Version {shown} is a string; Version must be {valid}, written without quotes"))
        }
        _ => Err(format!("Version {shown} is not valid; Version must be {valid}")),
    }
}

/// Role names are the role switches of Get-CsService: the catalog is the one list.
pub fn known_roles() -> Vec<&'static str> {
    catalog::find("Get-CsService")
        .map(|c| c.params.iter().filter(|p| p.ty == Ty::Switch).map(|p| p.name).collect())
        .unwrap_or_default()
}

/// The default pool database file of a SQL instance (`pool_files::default_name`).
fn default_file(identity: &str) -> String {
    crate::store::pool_files::default_name(identity)
}

fn find_ci<'a>(list: &'a [String], s: &str) -> Option<&'a String> {
    list.iter().find(|x| x.eq_ignore_ascii_case(s))
}

/// Parse and validate a topology document; every problem names where it is.
pub fn parse_topology(json: &str, kind: StoreKind) -> Result<TopologySpec, String> {
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(json) {
        crate::values::limits::check_json(&v, "")?;
    }
    let doc: TopologyDoc = serde_json::from_str(json).map_err(|e| {
        let msg = e.to_string();
        if msg.contains("did not match any variant") {
            format!(
                "a Services entry at line {}, column {} must be a role name or {{\"Role\": ..., \"DependentServiceList\": [...], \"Version\": ...}} with no other keys",
                e.line(),
                e.column()
            )
        } else {
            msg
        }
    })?;
    let roles = known_roles();
    let mut spec = TopologySpec::default();
    if doc.sip_domains.is_empty() {
        return Err("SipDomains must list at least one SIP domain".into());
    }
    for d in doc.sip_domains {
        if !is_fqdn(&d) || !d.contains('.') {
            return Err(format!("SipDomains: '{d}' is not a domain name"));
        }
        if find_ci(&spec.sip_domains, &d).is_some() {
            return Err(format!("SipDomains: '{d}' is listed twice"));
        }
        spec.sip_domains.push(d);
    }
    for (i, s) in doc.sites.into_iter().enumerate() {
        let name = s.name.trim().to_string();
        if name.is_empty() || name.contains(':') {
            return Err(format!("Sites[{i}]: '{}' is not a valid site name", s.name));
        }
        if find_ci(&spec.sites, &name).is_some() {
            return Err(format!("Sites[{i}]: site '{name}' is listed twice"));
        }
        spec.sites.push(name);
    }
    let mut files = HashSet::new();
    for (i, s) in doc.sql_instances.into_iter().enumerate() {
        let valid = s.identity.split_once('\\').is_some_and(|(host, inst)| is_fqdn(host) && !inst.trim().is_empty());
        if !valid {
            return Err(format!(
                "SqlInstances[{i}]: Identity '{}' is not of the form sqlserver.fqdn\\instance",
                s.identity
            ));
        }
        if spec.sql_instances.iter().any(|x| x.identity.eq_ignore_ascii_case(&s.identity)) {
            return Err(format!("SqlInstances[{i}]: '{}' is listed twice", s.identity));
        }
        let file = match (kind, s.file, s.connection) {
            (StoreKind::Sqlite, _, Some(_)) => {
                return Err(format!(
                    "SqlInstances[{i}] ({}): Connection names a PostgreSQL database, and this store is SQLite: give File (a path inside the store's folder) or leave it out",
                    s.identity
                ));
            }
            (StoreKind::Postgres, Some(_), _) => {
                return Err(format!(
                    "SqlInstances[{i}] ({}): File names a SQLite file, and this store is PostgreSQL: give Connection (postgres://host/database) instead",
                    s.identity
                ));
            }
            (StoreKind::Postgres, None, None) => {
                return Err(format!(
                    "SqlInstances[{i}] ({}): Connection is required on a PostgreSQL store (postgres://host/database of the instance's pool database)",
                    s.identity
                ));
            }
            (StoreKind::Postgres, None, Some(url)) => {
                crate::store::pg::check_connection(&url).map_err(|e| {
                    format!("SqlInstances[{i}] ({}): Connection is not a PostgreSQL connection string: {e}", s.identity)
                })?;
                if !files.insert(url.clone()) {
                    return Err(format!(
                        "SqlInstances[{i}] ({}): Connection '{}' is used by another instance",
                        s.identity,
                        crate::store::pg::shown_url(&url)
                    ));
                }
                // Kept where a SQLite store keeps the file: the instance's pool database.
                spec.sql_instances.push(SqlInstanceSpec { identity: s.identity, file: url });
                continue;
            }
            (StoreKind::Sqlite, file, None) => file.unwrap_or_else(|| default_file(&s.identity)),
        };
        let p = Path::new(&file);
        if file.trim().is_empty()
            || p.is_absolute()
            || p.components().any(|c| matches!(c, std::path::Component::ParentDir))
        {
            return Err(format!(
                "SqlInstances[{i}] ({}): File '{file}' must be a path inside the store's folder",
                s.identity
            ));
        }
        if !files.insert(file.to_ascii_lowercase()) {
            return Err(format!("SqlInstances[{i}] ({}): File '{file}' is used by another instance", s.identity));
        }
        spec.sql_instances.push(SqlInstanceSpec { identity: s.identity, file });
    }
    let instance = |name: &str| {
        spec.sql_instances.iter().find(|x| x.identity.eq_ignore_ascii_case(name)).map(|x| x.identity.clone())
    };
    let mut all_servers: Vec<String> = Vec::new();
    let mut pools: Vec<PoolSpec> = Vec::new();
    for (i, p) in doc.pools.into_iter().enumerate() {
        let at = format!("Pools[{i}] ({})", p.fqdn);
        if !is_fqdn(&p.fqdn) {
            return Err(format!("{at}: Fqdn '{}' is not a valid FQDN", p.fqdn));
        }
        if pools.iter().any(|x| x.fqdn.eq_ignore_ascii_case(&p.fqdn)) {
            return Err(format!("{at}: pool '{}' is listed twice", p.fqdn));
        }
        let Some(site) = find_ci(&spec.sites, &p.site).cloned() else {
            return Err(format!("{at}: Site '{}' is not one of the Sites ({})", p.site, spec.sites.join(", ")));
        };
        let mut services: Vec<ServiceSpec> = Vec::new();
        for s in p.services {
            let (role, dependents, version) = match s {
                ServiceDoc::Role(r) => (r, Vec::new(), None),
                ServiceDoc::Full(o) => (o.role, o.dependent_service_list, o.version),
            };
            let Some(canonical) = roles.iter().find(|r| r.eq_ignore_ascii_case(&role)) else {
                let hint = crate::binder::suggest(&role, roles.iter().copied())
                    .map(|n| format!("; did you mean '{n}'?"))
                    .unwrap_or_default();
                return Err(format!("{at}: unknown service role '{role}'{hint}"));
            };
            if services.iter().any(|x| x.role == *canonical) {
                return Err(format!("{at}: service role '{canonical}' is listed twice"));
            }
            // Left out (or null, which serde reads as left out): no version, not a default one.
            let version = version
                .as_ref()
                .map(service_version)
                .transpose()
                .map_err(|e| format!("{at}: service {canonical}: {e}"))?;
            services.push(ServiceSpec { role: canonical.to_string(), dependents, version });
        }
        if services.is_empty() {
            return Err(format!("{at}: Services must list at least one service role"));
        }
        let is_pchat = services.iter().any(|s| s.role == PCHAT_ROLE);
        let servers = p.servers.unwrap_or_else(|| vec![p.fqdn.clone()]);
        let mut seen: Vec<String> = Vec::new();
        for s in &servers {
            if !is_fqdn(s) {
                return Err(format!("{at}: server '{s}' is not a valid FQDN"));
            }
            if find_ci(&seen, s).is_some() || find_ci(&all_servers, s).is_some() {
                return Err(format!("{at}: server '{s}' is listed twice (a server belongs to one pool)"));
            }
            seen.push(s.clone());
        }
        all_servers.extend(seen);
        let active = p.active_servers.unwrap_or_else(|| servers.clone());
        for s in &active {
            if find_ci(&servers, s).is_none() {
                return Err(format!(
                    "{at}: active server '{s}' is not one of the pool's Servers ({})",
                    servers.join(", ")
                ));
            }
        }
        let mut database = None;
        let mut backup = None;
        if let Some(db) = &p.database {
            database =
                Some(instance(db).ok_or_else(|| format!("{at}: Database '{db}' is not one of the SqlInstances"))?);
        }
        if let Some(db) = &p.backup_database {
            backup = Some(
                instance(db).ok_or_else(|| format!("{at}: BackupDatabase '{db}' is not one of the SqlInstances"))?,
            );
        }
        if !is_pchat && (database.is_some() || backup.is_some() || p.default_endpoint.is_some()) {
            return Err(format!(
                "{at}: Database, BackupDatabase and DefaultEndpoint apply only to Persistent Chat pools (service PersistentChatServer)"
            ));
        }
        if is_pchat && database.is_none() {
            return Err(format!("{at}: a Persistent Chat pool needs a Database (one of the SqlInstances)"));
        }
        if database.is_some() && database == backup {
            return Err(format!("{at}: BackupDatabase must differ from Database"));
        }
        let default_endpoint = if is_pchat {
            let sip = match &p.default_endpoint {
                // The prefix in any letter case, kept as `sip:` (as New-CsPersistentChatEndpoint does).
                Some(given) => match crate::values::text::strip_prefix_ci(given, "sip:") {
                    Some(rest) => format!("sip:{rest}"),
                    None => given.clone(),
                },
                None => {
                    let label = p.fqdn.split('.').next().unwrap_or(&p.fqdn).to_ascii_lowercase();
                    format!("sip:pchat-{label}@{}", spec.sip_domains[0])
                }
            };
            // The endpoint's and the directory's rule (`values::sip`), in one of the SipDomains.
            let domain_ok =
                crate::values::sip::parts(&sip).is_some_and(|(_, domain)| find_ci(&spec.sip_domains, domain).is_some());
            if !domain_ok {
                return Err(format!(
                    "{at}: DefaultEndpoint '{sip}' must be {} in one of the SipDomains ({})",
                    crate::values::sip::FORM,
                    spec.sip_domains.join(", ")
                ));
            }
            if pools.iter().any(|x| x.default_endpoint.as_deref().is_some_and(|d| d.eq_ignore_ascii_case(&sip))) {
                return Err(format!("{at}: DefaultEndpoint '{sip}' is used by another pool"));
            }
            Some(sip)
        } else {
            None
        };
        pools.push(PoolSpec {
            fqdn: p.fqdn,
            site,
            services,
            servers,
            active_servers: active,
            database,
            backup_database: backup,
            default_endpoint,
        });
    }
    for p in &pools {
        for s in &p.services {
            for dep in &s.dependents {
                let resolves = dep.split_once(':').is_some_and(|(role, fqdn)| {
                    pools.iter().any(|q| {
                        q.fqdn.eq_ignore_ascii_case(fqdn)
                            && q.services.iter().any(|t| t.role.eq_ignore_ascii_case(role))
                    })
                });
                if !resolves {
                    return Err(format!(
                        "pool {}: service {}: DependentServiceList entry '{dep}' names no service of the topology (form Role:pool.fqdn)",
                        p.fqdn, s.role
                    ));
                }
            }
        }
    }
    spec.pools = pools;
    Ok(spec)
}

pub fn publish(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let path = b.str("FileName").unwrap_or_default();
    let kind = if ctx.store.is_postgres() { StoreKind::Postgres } else { StoreKind::Sqlite };
    let spec = parse_topology(&ctx.read_file("FileName", path)?, kind)
        .map_err(|e| CmdletError::invalid(format!("{path}: {e}")))?;
    if ctx.should_process(&format!("topology from {path}"))? {
        for line in ctx.store.replace_topology(&spec)? {
            ctx.warn(line);
        }
    }
    Ok(Vec::new())
}

pub fn get_service(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let role = b.given().find(|name| b.cmdlet.param(name).is_some_and(|p| p.ty == Ty::Switch) && b.switch(name));
    let filter = wildcard_filter(b)?;
    let identity = b.str("Identity");
    let pool = b.str("PoolFqdn");
    let pools = store.pools()?;
    let services = store.services()?;
    let instances = store.sql_instances()?;
    let mut out = Vec::new();
    for s in &services {
        let id = format!("{}:{}", s.role, s.pool);
        let keep = role.is_none_or(|r| r.eq_ignore_ascii_case(&s.role))
            && pool.is_none_or(|p| p.eq_ignore_ascii_case(&s.pool))
            && identity.is_none_or(|i| i.eq_ignore_ascii_case(&id))
            && filter.as_ref().is_none_or(|f| f.is_match(&id));
        if !keep {
            continue;
        }
        let mut props = vec![
            ("Identity", text(id)),
            ("Role", text(s.role.clone())),
            ("SiteId", text(format!("Site:{}", s.site))),
            ("PoolFqdn", text(s.pool.clone())),
            // $Null where the topology gave no Version: pchat does not know which product runs it.
            ("Version", s.version.map_or(Dynamic::UNIT, Dynamic::from)),
            ("DependentServiceList", list(s.dependents.clone())),
        ];
        if s.role == PCHAT_ROLE
            && let Some(p) = pools.iter().find(|p| p.fqdn.eq_ignore_ascii_case(&s.pool))
        {
            props.push(("Servers", list(p.servers.clone())));
            props.push(("ActiveServers", list(p.active_servers.clone())));
            // The service its chat data lives on: the database service of the pool's SQL server.
            if let Some(host) = p.database.as_deref().and_then(|d| d.split_once('\\')).map(|(h, _)| h) {
                let id = format!("PersistentChatDatabase:{host}");
                if services.iter().any(|x| format!("{}:{}", x.role, x.pool).eq_ignore_ascii_case(&id)) {
                    props.push(("PersistentChatDatabase", text(id)));
                }
            }
        }
        // A database service: the SQL instance that holds it on its server.
        if s.role.ends_with("Database")
            && let Some(name) = instances.iter().find_map(|i| {
                i.identity.split_once('\\').filter(|(host, _)| host.eq_ignore_ascii_case(&s.pool)).map(|(_, n)| n)
            })
        {
            props.push(("SqlInstanceName", text(name.to_string())));
        }
        // Each service it depends on, also as a property named by that service's role.
        for dep in &s.dependents {
            if let Some((role, _)) = dep.split_once(':')
                && let Some(name) = ObjType::Service.extra_properties().iter().find(|n| n.eq_ignore_ascii_case(role))
                && !props.iter().any(|(k, _)| k == name)
            {
                props.push((name, text(dep.clone())));
            }
        }
        out.push(object(ObjType::Service, props));
    }
    if let Some(id) = identity
        && out.is_empty()
    {
        return Err(CmdletError::not_found(format!(
            "no service '{id}' (identity form Role:pool.fqdn, e.g. PersistentChatServer:pc01.contoso.com)"
        ))
        .with_target(id));
    }
    Ok(out)
}

/// A pool named by FQDN, or NotFound naming the pools there are (`what`: the parameter).
fn known_pool<'a>(pools: &'a [PoolRow], fqdn: &str, what: &str) -> CmdletResult<&'a PoolRow> {
    pools.iter().find(|p| p.fqdn.eq_ignore_ascii_case(fqdn)).ok_or_else(|| {
        let names: Vec<&str> = pools.iter().map(|p| p.fqdn.as_str()).collect();
        let hint = crate::values::text::did_you_mean(fqdn, &names, "pools");
        CmdletError::not_found(format!("{what}: no pool '{fqdn}' in the topology{hint}")).with_target(fqdn)
    })
}

/// Get-CsPool: each pool with its site, the identities of its services and its computers (a pool
/// whose topology lists no Servers has one computer of the pool's own name).
pub fn get_pool(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let pools = ctx.store.pools()?;
    let services = ctx.store.services()?;
    let filter = wildcard_filter(b)?;
    let selected: Vec<&PoolRow> = match b.str("Identity") {
        Some(id) => vec![known_pool(&pools, id.trim(), "-Identity")?],
        None => pools.iter().filter(|p| filter.as_ref().is_none_or(|f| f.is_match(&p.fqdn))).collect(),
    };
    Ok(selected
        .into_iter()
        .map(|p| {
            let ids: Vec<String> = services
                .iter()
                .filter(|s| s.pool.eq_ignore_ascii_case(&p.fqdn))
                .map(|s| format!("{}:{}", s.role, s.pool))
                .collect();
            object(
                ObjType::Pool,
                vec![
                    ("Identity", text(p.fqdn.clone())),
                    ("Fqdn", text(p.fqdn.clone())),
                    ("Site", text(format!("Site:{}", p.site))),
                    ("Services", list(ids)),
                    ("Computers", list(p.servers.clone())),
                ],
            )
        })
        .collect())
}

/// Get-CsComputer: every server of every pool, or those of one pool, one service or one name.
pub fn get_computer(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let pools = ctx.store.pools()?;
    let filter = wildcard_filter(b)?;
    let mut scope: Vec<&PoolRow> = pools.iter().collect();
    if let Some(pool) = b.str("Pool") {
        scope = vec![known_pool(&pools, pool.trim(), "-Pool")?];
    }
    if let Some(service) = b.str("Service") {
        let services = ctx.store.services()?;
        let found = services.iter().find(|s| format!("{}:{}", s.role, s.pool).eq_ignore_ascii_case(service.trim()));
        let Some(found) = found else {
            return Err(CmdletError::not_found(format!(
                "-Service: no service '{service}' (identity form Role:pool.fqdn, e.g. PersistentChatServer:pc01.contoso.com; get_cs_service() lists them)"
            ))
            .with_target(service));
        };
        scope = vec![known_pool(&pools, &found.pool, "-Service")?];
    }
    let identity = b.str("Identity").map(str::trim);
    let mut out = Vec::new();
    for p in scope {
        for server in &p.servers {
            let keep = identity.is_none_or(|i| i.eq_ignore_ascii_case(server))
                && filter.as_ref().is_none_or(|f| f.is_match(server));
            if keep {
                out.push(object(
                    ObjType::Computer,
                    vec![
                        ("Identity", text(server.clone())),
                        ("Pool", text(p.fqdn.clone())),
                        ("Fqdn", text(server.clone())),
                    ],
                ));
            }
        }
    }
    if let Some(id) = identity
        && out.is_empty()
    {
        let names: Vec<&str> = pools.iter().flat_map(|p| p.servers.iter().map(String::as_str)).collect();
        let hint = crate::values::text::did_you_mean(id, &names, "computers");
        return Err(CmdletError::not_found(format!("no computer '{id}' in the topology{hint}")).with_target(id));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{
      "SipDomains": ["contoso.com"],
      "Sites": [{ "Name": "Dublin" }],
      "SqlInstances": [{ "Identity": "sql01.contoso.com\\rtc", "File": "sql01-rtc.db" }, { "Identity": "sql02.contoso.com\\rtc" }],
      "Pools": [
        { "Fqdn": "fe01.contoso.com", "Site": "Dublin", "Services": ["Registrar", { "Role": "UserServer", "DependentServiceList": ["Registrar:fe01.contoso.com"] }] },
        { "Fqdn": "pc01.contoso.com", "Site": "dublin", "Services": ["PersistentChatServer"],
          "Servers": ["pcsrv01.contoso.com", "pcsrv02.contoso.com"], "ActiveServers": ["pcsrv01.contoso.com"],
          "Database": "sql01.contoso.com\\rtc", "BackupDatabase": "SQL02.contoso.com\\rtc" }
      ]
    }"#;

    #[test]
    fn a_good_document_parses_with_defaults() {
        let spec = parse_topology(GOOD, StoreKind::Sqlite).unwrap();
        assert_eq!(spec.sql_instances[1].file, "sql02.contoso.com-rtc.db");
        let pc = &spec.pools[1];
        assert_eq!(pc.site, "Dublin");
        assert_eq!(pc.backup_database.as_deref(), Some("sql02.contoso.com\\rtc"));
        assert_eq!(pc.default_endpoint.as_deref(), Some("sip:pchat-pc01@contoso.com"));
        assert_eq!(spec.pools[0].servers, vec!["fe01.contoso.com"]);
    }

    /// An SQL instance names its pool database by `File` on a SQLite store and by `Connection`
    /// on a PostgreSQL one; the other key is an error naming the instance, never ignored.
    #[test]
    fn an_instance_names_its_database_as_the_store_kind_does() {
        let pg = GOOD.replace(r#""File": "sql01-rtc.db""#, r#""Connection": "postgres://db1/pool1""#).replace(
            r#"{ "Identity": "sql02.contoso.com\\rtc" }"#,
            r#"{ "Identity": "sql02.contoso.com\\rtc", "Connection": "host=db2 dbname=pool2" }"#,
        );
        let spec = parse_topology(&pg, StoreKind::Postgres).unwrap();
        let connections: Vec<&str> = spec.sql_instances.iter().map(|s| s.file.as_str()).collect();
        assert_eq!(connections, ["postgres://db1/pool1", "host=db2 dbname=pool2"]);

        let e = parse_topology(&pg, StoreKind::Sqlite).unwrap_err();
        assert!(
            e.starts_with("SqlInstances[0] (sql01.contoso.com\\rtc): Connection names a PostgreSQL database"),
            "{e}"
        );
        let e = parse_topology(GOOD, StoreKind::Postgres).unwrap_err();
        assert!(e.starts_with("SqlInstances[0] (sql01.contoso.com\\rtc): File names a SQLite file"), "{e}");
        let missing = pg.replace(r#", "Connection": "host=db2 dbname=pool2""#, "");
        let e = parse_topology(&missing, StoreKind::Postgres).unwrap_err();
        assert!(e.starts_with("SqlInstances[1] (sql02.contoso.com\\rtc): Connection is required"), "{e}");
        let twice = pg.replace("host=db2 dbname=pool2", "postgres://db1/pool1");
        let e = parse_topology(&twice, StoreKind::Postgres).unwrap_err();
        assert!(e.contains("Connection 'postgres://db1/pool1' is used by another instance"), "{e}");
        for bad in ["", "not a url", "postgres://db1:notaport/x"] {
            let e = parse_topology(&pg.replace("postgres://db1/pool1", bad), StoreKind::Postgres).unwrap_err();
            assert!(
                e.starts_with("SqlInstances[0] (sql01.contoso.com\\rtc): Connection is not a PostgreSQL"),
                "{bad}: {e}"
            );
        }
        let e = parse_topology(&pg.replace("\"Connection\"", "\"Conection\""), StoreKind::Postgres).unwrap_err();
        assert!(e.contains("unknown field `Conection`"), "{e}");
    }

    fn fails(doc: &str, needle: &str) {
        let e = parse_topology(doc, StoreKind::Sqlite).unwrap_err();
        assert!(e.contains(needle), "{e}");
    }

    #[test]
    fn problems_are_named() {
        fails(&GOOD.replace("\"Fqdn\": \"fe01", "\"Fdqn\": \"fe01"), "unknown field `Fdqn`");
        fails(&GOOD.replace("\"Site\": \"dublin\"", "\"Site\": \"Cork\""), "Site 'Cork' is not one of the Sites");
        fails(&GOOD.replace("\"Registrar\",", "\"Registar\","), "did you mean 'Registrar'");
        fails(
            &GOOD.replace("\"ActiveServers\": [\"pcsrv01", "\"ActiveServers\": [\"pcsrv09"),
            "not one of the pool's Servers",
        );
        fails(
            &GOOD.replace("\"Database\": \"sql01", "\"Database\": \"sql09"),
            "Database 'sql09.contoso.com\\rtc' is not one of the SqlInstances",
        );
        fails(&GOOD.replace("Registrar:fe01", "Registrar:fe09"), "DependentServiceList entry");
        fails(GOOD.trim_end().trim_end_matches('}'), "EOF while parsing an object at line");
        fails(&GOOD.replace("\"DependentServiceList\"", "\"Dependents\""), "must be a role name or");
    }

    /// `Version` is optional per service: kept as given, absent (never defaulted) when left out.
    #[test]
    fn a_service_version_is_kept_and_never_defaulted() {
        let doc = GOOD.replace(
            "\"Services\": [\"PersistentChatServer\"]",
            "\"Services\": [{ \"Role\": \"PersistentChatServer\", \"Version\": 7 }]",
        );
        let spec = parse_topology(&doc, StoreKind::Sqlite).unwrap();
        assert_eq!(spec.pools[1].services[0].version, Some(7));
        // The short form and an object without Version have none.
        assert!(spec.pools[0].services.iter().all(|s| s.version.is_none()));
        let null = doc.replace("\"Version\": 7", "\"Version\": null");
        assert_eq!(parse_topology(&null, StoreKind::Sqlite).unwrap().pools[1].services[0].version, None);
        let with_deps = GOOD.replace("\"Role\": \"UserServer\",", "\"Role\": \"UserServer\", \"Version\": 6,");
        let spec = parse_topology(&with_deps, StoreKind::Sqlite).unwrap();
        assert_eq!(spec.pools[0].services[1].version, Some(6));
        assert_eq!(spec.pools[0].services[1].dependents, vec!["Registrar:fe01.contoso.com"]);
    }

    #[test]
    fn a_bad_service_version_is_refused_naming_the_field() {
        let with = |v: &str| {
            GOOD.replace(
                "\"Services\": [\"PersistentChatServer\"]",
                &format!("\"Services\": [{{ \"Role\": \"PersistentChatServer\", \"Version\": {v} }}]"),
            )
        };
        let at = "Pools[1] (pc01.contoso.com): service PersistentChatServer: Version";
        for (v, why) in [
            ("\"7\"", "is a string"),
            ("2015", "looks like a release year"),
            ("0", "is not valid"),
            ("-6", "is not valid"),
            ("100", "is not valid"),
            ("7.5", "is not valid"),
            ("true", "is not valid"),
            ("[7]", "is not valid"),
        ] {
            let e = parse_topology(&with(v), StoreKind::Sqlite).unwrap_err();
            assert!(e.starts_with(&format!("{at} {v} {why}")), "{v}: {e}");
            assert!(e.contains("Version must be a whole number from 1 to 99"), "{v}: {e}");
        }
        assert_eq!(service_version(&serde_json::json!(1)), Ok(1));
        assert_eq!(service_version(&serde_json::json!(99)), Ok(99));
    }
}
