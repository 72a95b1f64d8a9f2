//! Persistent Chat endpoints: directory contacts (principals of kind Contact) linked to a pool by
//! `endpoint_pool`, living in the Application Contacts container. Read through [`ENDPOINT`];
//! created as directory principals (their name and parent DN are the directory's, not
//! properties of the endpoint).

use crate::store::db::{self, OptionalExtension, params};
use std::sync::LazyLock;

use super::Store;
use super::described::{Kind, ScalarRow, Statements};
use super::directory::{ORDER, PrincipalRow, first_rdn_value, normalize_dn};
use super::topology::endpoint_container;
use crate::catalog::descriptor::{Descriptor, ENDPOINT};
use crate::values::wildcard::{Wildcard, has_wildcards};

/// Marks [`ENDPOINT`]'s rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {}

impl Kind for Endpoint {
    const DESCRIPTOR: &'static Descriptor = &ENDPOINT;
}

/// An endpoint (its id is the principal's): its properties as cells of [`ENDPOINT`], read
/// through the accessors.
pub type EndpointRow = ScalarRow<Endpoint>;

const DN: usize = ENDPOINT.cell("Identity");
const SIP: usize = ENDPOINT.cell("SipAddress");
const DISPLAY_NAME: usize = ENDPOINT.cell("DisplayName");
const POOL: usize = ENDPOINT.cell("PersistentChatPoolFqdn");

/// The statements derived from [`ENDPOINT`], built once.
static SQL: LazyLock<Statements> = LazyLock::new(|| Statements::derive(&ENDPOINT, "e"));

impl EndpointRow {
    pub fn dn(&self) -> &str {
        self.text(DN).unwrap_or_default()
    }
    pub fn sip(&self) -> Option<&str> {
        self.text(SIP)
    }
    pub fn display_name(&self) -> Option<&str> {
        self.text(DISPLAY_NAME)
    }
    pub fn pool(&self) -> Option<&str> {
        self.text(POOL)
    }
}

/// `sip:` plus the rest, whatever the case of the prefix given (`chat@x` → `sip:chat@x`).
pub fn with_sip_prefix(sip: &str) -> String {
    let sip = sip.trim();
    match crate::values::text::strip_prefix_ci(sip, "sip:") {
        Some(rest) => format!("sip:{rest}"),
        None => format!("sip:{sip}"),
    }
}

impl Store {
    /// Every endpoint, in the directory's standard order (display name, then DN).
    pub fn endpoints(&self) -> db::Result<Vec<EndpointRow>> {
        self.db()
            .prepare_cached(&format!("{} WHERE e.endpoint_pool IS NOT NULL {ORDER}", SQL.select))?
            .query_map((), EndpointRow::read)?
            .collect()
    }

    pub fn endpoint_by_dn(&self, dn: &str) -> db::Result<Option<EndpointRow>> {
        self.db()
            .prepare_cached(&format!("{} WHERE e.dn = ?1 COLLATE NOCASE AND e.endpoint_pool IS NOT NULL", SQL.select))?
            .query_row([normalize_dn(dn)], EndpointRow::read)
            .optional()
    }

    /// Every endpoint as the directory principal it is (for `-LdapFilter`, which reads any
    /// attribute), in the same order.
    pub fn endpoint_principals(&self) -> db::Result<Vec<PrincipalRow>> {
        self.principals_where("WHERE endpoint_pool IS NOT NULL", ())
    }

    /// Endpoints named by SIP address (with or without `sip:`), full DN (whitespace after commas
    /// ignored) or display name (`*` wildcards allowed).
    pub fn find_endpoints(&self, identity: &str) -> db::Result<Vec<EndpointRow>> {
        let id = identity.trim();
        let all = self.endpoints()?;
        if id.contains('=') {
            let dn = normalize_dn(id);
            return Ok(all.into_iter().filter(|e| e.dn().eq_ignore_ascii_case(&dn)).collect());
        }
        // Addresses and names ignoring the case of every letter, as the directory's are found.
        let sip = with_sip_prefix(id).to_lowercase();
        let by_sip: Vec<EndpointRow> =
            all.iter().filter(|e| e.sip().is_some_and(|s| s.to_lowercase() == sip)).cloned().collect();
        if !by_sip.is_empty() {
            return Ok(by_sip);
        }
        let pattern = if has_wildcards(id) { Wildcard::new(id).ok() } else { None };
        Ok(all
            .into_iter()
            .filter(|e| {
                // A principal's name is its DN's first RDN value (the directory writes it so).
                let name = e.display_name().map_or_else(|| first_rdn_value(e.dn()), str::to_string);
                match &pattern {
                    Some(p) => p.is_match(&name),
                    None => name.to_lowercase() == id.to_lowercase(),
                }
            })
            .collect())
    }

    /// Create an endpoint contact `CN={GUID}` in the Application Contacts container; returns its
    /// DN. A directory write: the principal's name, kind and parent are the directory's columns.
    pub fn insert_endpoint(&self, sip: &str, display_name: Option<&str>, pool: &str) -> db::Result<String> {
        let container = endpoint_container(&self.domain_dn()?.unwrap_or_default());
        let dn = format!("CN={{{}}},{container}", uuid::Uuid::new_v4());
        self.db()
            .prepare_cached(
                "INSERT INTO principals(dn, kind, name, display_name, sip, endpoint_pool, parent_dn)
                 VALUES (?1, 'Contact', ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![dn, first_rdn_value(&dn), display_name, sip, pool, container])?;
        Ok(dn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_found_by_sip_dn_and_display_name() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(&dir.path().join("s.db")).unwrap();
        s.set_meta("domain_dn", "DC=contoso,DC=com").unwrap();
        let dn = s.insert_endpoint("sip:chat@contoso.com", Some("Contoso Chat"), "pc01.contoso.com").unwrap();
        assert!(
            dn.starts_with("CN={")
                && dn.ends_with(
                    "},CN=Application Contacts,CN=RTC Service,CN=Services,CN=Configuration,DC=contoso,DC=com"
                )
        );
        let found = |id: &str| s.find_endpoints(id).unwrap().len();
        assert_eq!(found("sip:CHAT@contoso.com"), 1);
        assert_eq!(found("chat@contoso.com"), 1);
        assert_eq!(found("contoso chat"), 1);
        assert_eq!(found("Contoso*"), 1);
        assert_eq!(found(&dn.replace("},CN=", "}, CN=")), 1);
        assert_eq!(found("sip:other@contoso.com"), 0);
        assert_eq!(with_sip_prefix("SIP:a@b"), "sip:a@b");
    }
}
