//! Identities of scoped settings: `Global`, `Site:X`,
//! `Service:PersistentChatServer:F` and, for policies, `Tag:N` or a bare N. Parsing is
//! case-insensitive; output uses the canonical spelling, with site and pool names as the topology
//! spells them.

use crate::errors::{CmdletError, CmdletResult};
use crate::store::Store;
use crate::store::settings::ScopeFamily;
use crate::store::topology::PCHAT_ROLE;
use crate::values::wildcard::has_wildcards;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Global,
    Site(String),
    /// A Persistent Chat pool FQDN.
    Service(String),
    /// A per-user policy name.
    Tag(String),
}

fn valid_forms(family: ScopeFamily) -> &'static str {
    match family {
        ScopeFamily::PoolSettings => "`global`, `site:<Site>` or `service:PersistentChatServer:<poolFqdn>`",
        ScopeFamily::Policy => "`global`, `site:<Site>`, `tag:<Name>` or a bare per-user policy name",
    }
}

fn name_part(text: &str, part: &str, what: &str) -> CmdletResult<String> {
    let part = part.trim();
    if part.is_empty() {
        return Err(CmdletError::invalid(format!("identity '{text}' has no {what} after the colon")));
    }
    if has_wildcards(part) || part.contains(':') || part.contains('\\') {
        return Err(CmdletError::invalid(format!(
            "identity '{text}': the {what} '{part}' may not contain wildcards, ':' or '\\'"
        )));
    }
    Ok(part.to_string())
}

impl Scope {
    /// Syntax only: which scope the identity text names.
    pub fn parse(text: &str, family: ScopeFamily) -> CmdletResult<Scope> {
        let t = text.trim();
        let invalid = |why: &str| {
            CmdletError::invalid(format!("identity '{t}' {why}; valid forms are {}", valid_forms(family)))
                .with_target(t)
        };
        if t.eq_ignore_ascii_case("global") {
            return Ok(Scope::Global);
        }
        let Some((prefix, rest)) = t.split_once(':') else {
            return match family {
                ScopeFamily::Policy if !t.is_empty() => Ok(Scope::Tag(name_part(t, t, "policy name")?)),
                _ => Err(invalid("is not a scope")),
            };
        };
        match (prefix.trim().to_ascii_lowercase().as_str(), family) {
            ("site", _) => Ok(Scope::Site(name_part(t, rest, "site name")?)),
            ("tag", ScopeFamily::Policy) => Ok(Scope::Tag(name_part(t, rest, "policy name")?)),
            ("service", ScopeFamily::PoolSettings) => {
                let (role, fqdn) = rest.split_once(':').ok_or_else(|| invalid("lacks the service role"))?;
                if !role.trim().eq_ignore_ascii_case(PCHAT_ROLE) {
                    return Err(invalid(&format!(
                        "names the service role '{}': the service scope is limited to {PCHAT_ROLE}",
                        role.trim()
                    )));
                }
                Ok(Scope::Service(name_part(t, fqdn, "pool FQDN")?))
            }
            ("service", ScopeFamily::Policy) => Err(invalid("has service scope, which policies do not have")),
            ("tag", ScopeFamily::PoolSettings) => Err(invalid("has per-user (tag) scope, which only policies have")),
            _ => Err(invalid(&format!("has the unknown scope prefix '{}'", prefix.trim()))),
        }
    }

    /// Canonical identity spelling (3.36).
    pub fn canonical(&self) -> String {
        match self {
            Scope::Global => "Global".into(),
            Scope::Site(s) => format!("Site:{s}"),
            Scope::Service(f) => format!("Service:{PCHAT_ROLE}:{f}"),
            Scope::Tag(n) => format!("Tag:{n}"),
        }
    }

    /// Check a scope against the topology, taking the site's or pool's own spelling: an unknown
    /// site or a pool that is not a Persistent Chat pool is `NotFound` (rules 22, 25).
    pub fn resolve(self, store: &Store) -> CmdletResult<Scope> {
        match self {
            Scope::Site(name) => {
                let sites = store.sites()?;
                match sites.iter().find(|s| s.eq_ignore_ascii_case(&name)) {
                    Some(s) => Ok(Scope::Site(s.clone())),
                    None => Err(CmdletError::not_found(format!(
                        "no site '{name}' in the topology (sites: {})",
                        if sites.is_empty() { "none".to_string() } else { sites.join(", ") }
                    ))
                    .with_target(format!("Site:{name}"))),
                }
            }
            Scope::Service(fqdn) => Ok(Scope::Service(store.pchat_pool(Some(&fqdn))?.fqdn)),
            other => Ok(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorKind;

    fn parse(t: &str, f: ScopeFamily) -> Result<String, ErrorKind> {
        Scope::parse(t, f).map(|s| s.canonical()).map_err(|e| e.kind)
    }

    #[test]
    fn canonical_spellings_from_any_case() {
        use ScopeFamily::*;
        assert_eq!(parse("GLOBAL", PoolSettings), Ok("Global".into()));
        assert_eq!(parse("site:Dublin", PoolSettings), Ok("Site:Dublin".into()));
        assert_eq!(
            parse("service:persistentchatserver:pc01.contoso.com", PoolSettings),
            Ok("Service:PersistentChatServer:pc01.contoso.com".into())
        );
        assert_eq!(parse("SalesChatPolicy", Policy), Ok("Tag:SalesChatPolicy".into()));
        assert_eq!(parse("TAG:Sales", Policy), Ok("Tag:Sales".into()));
        assert_eq!(parse("Site:Oslo", Policy), Ok("Site:Oslo".into()));
    }

    #[test]
    fn scopes_outside_the_family_are_invalid() {
        use ScopeFamily::*;
        assert_eq!(parse("service:Registrar:fe01.contoso.com", PoolSettings), Err(ErrorKind::InvalidArgument));
        assert_eq!(parse("service:PersistentChatServer:pc01.contoso.com", Policy), Err(ErrorKind::InvalidArgument));
        assert_eq!(parse("tag:X", PoolSettings), Err(ErrorKind::InvalidArgument));
        assert_eq!(parse("Dublin", PoolSettings), Err(ErrorKind::InvalidArgument));
        assert_eq!(parse("user:x", Policy), Err(ErrorKind::InvalidArgument));
        assert_eq!(parse("site:", Policy), Err(ErrorKind::InvalidArgument));
        assert_eq!(parse("tag:Sales*", Policy), Err(ErrorKind::InvalidArgument));
        assert_eq!(parse("", Policy), Err(ErrorKind::InvalidArgument));
    }
}
