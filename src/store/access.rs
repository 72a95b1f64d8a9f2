//! What role enforcement reads from the directory: the moment the directory and roles were last
//! changed, the groups a principal belongs to (nested), and whether a role's group has a user.

use crate::store::db::{self, OptionalExtension};
use std::collections::HashSet;

use super::Store;
use super::directory::PrincipalRow;

/// The meta row every write to principals, group memberships or roles sets to a value never used
/// before (in the writing transaction). A counter would not do: a rolled-back write would take its
/// value back, and the next write would reuse it for a different directory.
pub(super) const ACCESS_VERSION: &str = "access_version";

/// When a resolved role set can be reused: the central database's `data_version` (changed by
/// every other connection's commit) and the access version (changed by this connection's own
/// writes to what roles are made of). While both are equal, the directory and roles are the same.
/// On PostgreSQL the first is the `store_epoch` row, which every statement writing principals,
/// group members or roles moves (`schema::STORE_EPOCH`).
pub type AccessKey = (i64, Option<String>);

impl Store {
    pub fn access_key(&self) -> db::Result<AccessKey> {
        let version = if self.is_postgres() {
            self.store_epoch()?
        } else {
            self.db().prepare_cached("PRAGMA main.data_version")?.query_row((), |r| r.get(0))?
        };
        // PostgreSQL: read with the write transaction's BEGIN, while it holds.
        let own: Option<String> = match self.prefetched_access_version() {
            Some(own) => own,
            None => self
                .db()
                .prepare_cached("SELECT value FROM meta WHERE key = ?1")?
                .query_row([ACCESS_VERSION], |r| r.get(0))
                .optional()?,
        };
        Ok((version, own))
    }

    /// While this connection holds the write lock, no other connection can commit: the directory
    /// and roles change only by this connection's own writes. `Some((transaction, own writes))`
    /// then; a cached answer taken at the same moment is still the database's.
    pub fn locked_moment(&self) -> Option<(u64, u64)> {
        self.is_locked().then(|| (self.transactions.get(), self.access_writes.get()))
    }

    /// Called by every write to principals, group members and roles.
    pub(crate) fn advance_access_version(&self) -> db::Result<()> {
        self.access_writes.set(self.access_writes.get() + 1);
        self.db()
            .prepare_cached(
                "INSERT INTO meta(key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            )?
            .execute([ACCESS_VERSION, &uuid::Uuid::new_v4().to_string()])
            .map(|_| ())
    }

    /// SIP-less or not, the users whose logon name (SamAccountName) is `login`.
    pub fn users_by_logon(&self, login: &str) -> db::Result<Vec<PrincipalRow>> {
        self.principals_where("WHERE sam = ?1 COLLATE NOCASE AND kind = 'User'", [login])
    }

    /// The logon names (SamAccountName) of every group `dn` belongs to, directly or through
    /// nested groups. A membership cycle is walked once.
    pub fn group_names_of(&self, dn: &str) -> db::Result<Vec<String>> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut names = Vec::new();
        let mut next = vec![super::directory::normalize_dn(dn)];
        let mut query = self.db().prepare_cached(
            "SELECT g.dn, g.sam FROM group_members m JOIN principals g ON g.id = m.group_id
             WHERE m.member_dn = ?1 COLLATE NOCASE AND g.kind = 'Group'",
        )?;
        while let Some(member) = next.pop() {
            let groups: Vec<(String, Option<String>)> =
                query.query_map([&member], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<db::Result<_>>()?;
            for (group, sam) in groups {
                if seen.insert(group.to_ascii_lowercase()) {
                    names.extend(sam);
                    next.push(group);
                }
            }
        }
        Ok(names)
    }

    /// Does the group whose logon name is `sam` have a user among its members, nested groups
    /// included? A membership cycle is walked once.
    pub fn group_has_user(&self, sam: &str) -> db::Result<bool> {
        let mut next: Vec<i64> = self
            .db()
            .prepare_cached("SELECT id FROM principals WHERE sam = ?1 COLLATE NOCASE AND kind = 'Group'")?
            .query_map([sam], |r| r.get(0))?
            .collect::<db::Result<_>>()?;
        let mut seen: HashSet<i64> = next.iter().copied().collect();
        let mut members = self.db().prepare_cached(
            "SELECT p.id, p.kind FROM group_members m JOIN principals p ON p.dn = m.member_dn WHERE m.group_id = ?1",
        )?;
        while let Some(group) = next.pop() {
            let found: Vec<(i64, String)> =
                members.query_map([group], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<db::Result<_>>()?;
            for (id, kind) in found {
                if kind == "User" {
                    return Ok(true);
                }
                if kind == "Group" && seen.insert(id) {
                    next.push(id);
                }
            }
        }
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::enums::{Named, PrincipalKind};
    use crate::store::directory::PrincipalSpec;

    fn spec(dn: &str, kind: &str, sam: &str, members: Option<&[&str]>) -> PrincipalSpec {
        PrincipalSpec {
            dn: dn.into(),
            kind: PrincipalKind::ALL.iter().copied().find(|k| k.name() == kind).unwrap(),
            sam: Some(sam.into()),
            members: members.map(|m| m.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    #[test]
    fn nested_and_cyclic_groups_are_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let key = store.access_key().unwrap();
        store
            .upsert_principals(&[
                spec("CN=Ann,DC=c", "User", "ann", None),
                spec("CN=Inner,DC=c", "Group", "Inner", Some(&["CN=Ann,DC=c", "CN=Outer,DC=c"])),
                spec("CN=Outer,DC=c", "Group", "CsAdministrator", Some(&["CN=Inner,DC=c"])),
                spec("CN=Empty,DC=c", "Group", "CsHelpDesk", Some(&["CN=Loop,DC=c"])),
                spec("CN=Loop,DC=c", "Group", "Loop", Some(&["CN=Empty,DC=c"])),
            ])
            .unwrap();
        assert_ne!(store.access_key().unwrap(), key, "own writes advance the key");
        let mut names = store.group_names_of("CN=Ann, DC=c").unwrap();
        names.sort();
        assert_eq!(names, ["CsAdministrator", "Inner"]);
        assert!(store.group_has_user("CsAdministrator").unwrap());
        assert!(!store.group_has_user("CsHelpDesk").unwrap());
        assert!(!store.group_has_user("NoSuchGroup").unwrap());
        assert_eq!(store.users_by_logon("ANN").unwrap().len(), 1);
    }

    /// A write taken back by a rollback leaves a key that no later write can produce again.
    #[test]
    fn a_rolled_back_write_never_lends_its_key_to_a_later_one() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store.begin(true).unwrap();
        store.upsert_principals(&[spec("CN=Ann,DC=c", "User", "ann", None)]).unwrap();
        let inside = store.access_key().unwrap();
        store.rollback();
        store.begin(true).unwrap();
        store.upsert_principals(&[spec("CN=Bob,DC=c", "User", "bob", None)]).unwrap();
        assert_ne!(store.access_key().unwrap(), inside);
        store.commit().unwrap();
    }
}
