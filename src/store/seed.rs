//! What every new store starts with: the built-in RBAC roles and the Global scoped settings at
//! their defaults.

use super::Store;
use crate::catalog::{self, Cmdlet};
use crate::store::db::{self, Begin, params};

/// Standard roles and the cmdlets each may run, derived from the catalog.
pub fn standard_roles() -> Vec<(&'static str, Vec<&'static str>)> {
    let all = catalog::all();
    let names = |f: &dyn Fn(&Cmdlet) -> bool| all.iter().filter(|c| f(c)).map(|c| c.name).collect::<Vec<_>>();
    let is_get = |c: &Cmdlet| c.verb() == "Get";
    let directory_reads =
        ["Get-CsService", "Get-CsPool", "Get-CsComputer", "Get-CsAdPrincipal", "Get-CsAdminRole", "Get-CsUser"];
    vec![
        ("CsAdministrator", names(&|_| true)),
        (
            "CsPersistentChatAdministrator",
            // What runbooks may open is for CsAdministrator alone to widen.
            names(&|c| {
                (c.name.contains("PersistentChat") || directory_reads.contains(&c.name))
                    && c.name != "Set-CsPersistentChatRunbookConfiguration"
            }),
        ),
        (
            "CsUserAdministrator",
            names(&|c| {
                ["Get-CsUser", "Get-CsAdPrincipal", "Get-CsPersistentChatPolicy", "Grant-CsPersistentChatPolicy"]
                    .contains(&c.name)
            }),
        ),
        (
            "CsArchivingAdministrator",
            names(&|c| c.name.contains("ComplianceConfiguration") || c.name.contains("AuditRecord") || is_get(c)),
        ),
        ("CsHelpDesk", names(&|c| is_get(c) || c.name == "Test-CsPersistentChatMessage")),
        ("CsViewOnlyAdministrator", names(&|c| is_get(c))),
        ("CsVoiceAdministrator", names(&|c| ["Get-CsService", "Get-CsUser"].contains(&c.name))),
    ]
}

/// The cmdlets of a built-in role, by its name (any case).
pub fn standard_role_cmdlets(role: &str) -> Option<&'static [&'static str]> {
    static ROLES: std::sync::OnceLock<Vec<(&'static str, Vec<&'static str>)>> = std::sync::OnceLock::new();
    ROLES
        .get_or_init(standard_roles)
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(role))
        .map(|(_, c)| c.as_slice())
}

/// A stable, well-formed SID for a role (roles have no real domain SID here).
pub fn role_sid(name: &str) -> String {
    // FNV-1a keeps SIDs stable across stores so runbooks may name them.
    let hash = name
        .to_ascii_lowercase()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01b3));
    format!(
        "S-1-5-21-{}-{}-{}-{}",
        1_000_000 + (hash >> 44),
        (hash >> 22) & 0x3f_ffff,
        hash & 0x3f_ffff,
        1100 + (hash % 900)
    )
}

pub fn seed_new_store(store: &Store) -> db::Result<()> {
    let db = store.db();
    db.begin(Begin::Immediate)?;
    let result = (|| {
        for (name, cmdlets) in standard_roles() {
            db.execute(
                "INSERT INTO roles(identity, sid, cmdlets, user_scopes, is_standard) VALUES (?1, ?2, ?3, '[]', 1)",
                params![name, role_sid(name), serde_json::to_string(&cmdlets).unwrap_or_default()],
            )?;
        }
        db.execute("INSERT INTO policies(identity) VALUES ('Global')", ())?;
        db.execute("INSERT INTO configurations(identity) VALUES ('Global')", ())?;
        db.execute("INSERT INTO compliance_configurations(identity) VALUES ('Global')", ())?;
        Ok(())
    })();
    match result {
        Ok(()) => db.commit(),
        Err(e) => {
            let _ = db.rollback();
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_cmdlet_lists_follow_the_design() {
        let roles = standard_roles();
        let get = |n: &str| roles.iter().find(|(r, _)| *r == n).map(|(_, c)| c.clone()).unwrap_or_default();
        assert_eq!(get("CsAdministrator").len(), catalog::all().len());
        assert!(get("CsHelpDesk").contains(&"Test-CsPersistentChatMessage"));
        assert!(get("CsViewOnlyAdministrator").iter().all(|c| c.starts_with("Get-")));
        assert_eq!(get("CsVoiceAdministrator"), vec!["Get-CsService", "Get-CsUser"]);
        assert!(get("CsPersistentChatAdministrator").contains(&"Get-CsAdminRole"));
        assert!(!get("CsPersistentChatAdministrator").contains(&"Publish-CsTopology"));
    }

    #[test]
    fn sids_are_stable_and_distinct() {
        assert_eq!(role_sid("CsHelpDesk"), role_sid("cshelpdesk"));
        assert_ne!(role_sid("CsHelpDesk"), role_sid("CsAdministrator"));
        assert!(role_sid("X").starts_with("S-1-5-21-"));
    }
}
