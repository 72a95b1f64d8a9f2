//! Category scope: list entries are principal keys (SIP address for users
//! and contacts, DN otherwise); a principal is covered by a list through its "ancestry": its own
//! keys, every group that contains it (transitively) and every OU/container/domain above its DN.
//! Expanding one principal's ancestry is cheap; expanding groups into user lists is not.

use crate::store::db::{self};
use std::collections::{HashSet, VecDeque};

use super::Store;
use super::directory::{PrincipalRow, normalize_dn, parent_dn};
use crate::catalog::enums::PrincipalKind;

/// The key a list entry stores for a principal.
pub fn principal_key(p: &PrincipalRow) -> String {
    match (&p.sip, p.kind) {
        (Some(sip), PrincipalKind::User | PrincipalKind::Contact) => sip.clone(),
        _ => p.dn.clone(),
    }
}

/// Every key that, listed, covers one principal (lower case).
#[derive(Debug, Clone, Default)]
pub struct Ancestry {
    keys: HashSet<String>,
}

impl Ancestry {
    pub fn covered_by(&self, entries: &[String]) -> bool {
        entries.iter().any(|e| self.keys.contains(&e.to_lowercase()))
    }

    /// The keys, for an index lookup of the lists that name them.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.keys.iter()
    }
}

/// In scope: covered by AllowedMembers and not by DeniedMembers (Denied wins; empty Allowed admits nobody).
pub fn in_scope(a: &Ancestry, allowed: &[String], denied: &[String]) -> bool {
    a.covered_by(allowed) && !a.covered_by(denied)
}

impl Store {
    /// The ancestry of a directory principal: groups are followed upwards with a visited set, so
    /// cyclic nesting terminates.
    pub fn ancestry(&self, p: &PrincipalRow) -> db::Result<Ancestry> {
        let mut keys = HashSet::new();
        if let Some(sip) = &p.sip {
            keys.insert(sip.to_lowercase());
        }
        let dn = normalize_dn(&p.dn);
        let mut up = parent_dn(&dn);
        while let Some(d) = up {
            up = parent_dn(&d);
            keys.insert(d.to_lowercase());
        }
        let mut stmt = self.db().prepare_cached(
            "SELECT p.dn FROM group_members gm JOIN principals p ON p.id = gm.group_id WHERE gm.member_dn = ?1 COLLATE NOCASE",
        )?;
        let mut queue = VecDeque::from([dn.clone()]);
        keys.insert(dn.to_lowercase());
        while let Some(member) = queue.pop_front() {
            let groups: Vec<String> = stmt.query_map([&member], |r| r.get(0))?.collect::<db::Result<_>>()?;
            for g in groups {
                if keys.insert(g.to_lowercase()) {
                    queue.push_back(g);
                }
            }
        }
        Ok(Ancestry { keys })
    }

    /// The ancestry of a stored key; a key naming no principal (a leaver) covers only itself.
    pub fn ancestry_of_key(&self, key: &str) -> db::Result<Ancestry> {
        let found = if key.contains('=') { self.principal_by_dn(key)? } else { self.principal_by_sip(key)? };
        match found {
            Some(p) => self.ancestry(&p),
            None => Ok(Ancestry { keys: HashSet::from([key.to_lowercase()]) }),
        }
    }

    /// Users covered by list entries: listed users, transitive members of listed groups and users
    /// inside listed OUs/containers/domains (each once, in no particular order).
    pub fn users_covered(&self, entries: &[String]) -> db::Result<Vec<PrincipalRow>> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        let mut roots = Vec::new();
        let mut groups = VecDeque::new();
        let mut visited_groups = HashSet::new();
        let mut take = |p: PrincipalRow, out: &mut Vec<PrincipalRow>| {
            if p.kind == PrincipalKind::User && seen.insert(p.id) {
                out.push(p);
            }
        };
        for e in entries {
            let p = if e.contains('=') { self.principal_by_dn(e)? } else { self.principal_by_sip(e)? };
            let Some(p) = p else { continue };
            match p.kind {
                PrincipalKind::Group => {
                    if visited_groups.insert(p.id) {
                        groups.push_back(p.id);
                    }
                }
                k if k.is_container() => roots.push(normalize_dn(&p.dn)),
                _ => take(p, &mut out),
            }
        }
        while let Some(g) = groups.pop_front() {
            for member in self.group_members(g)? {
                let Some(p) = self.principal_by_dn(&member)? else { continue };
                if p.kind == PrincipalKind::Group {
                    if visited_groups.insert(p.id) {
                        groups.push_back(p.id);
                    }
                } else {
                    take(p, &mut out);
                }
            }
        }
        if !roots.is_empty() {
            for p in self.users()? {
                if roots.iter().any(|r| super::directory::dn_within(&p.dn, r)) {
                    take(p, &mut out);
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::directory::PrincipalSpec;

    fn spec(kind: &str, dn: &str, sip: Option<&str>, members: Option<&[&str]>) -> PrincipalSpec {
        PrincipalSpec {
            dn: dn.into(),
            kind: <PrincipalKind as crate::catalog::enums::Named>::parse(kind).expect("a kind"),
            sip: sip.map(str::to_string),
            members: members.map(|m| m.iter().map(|s| s.to_string()).collect()),
            ..Default::default()
        }
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store
            .upsert_principals(&[
                spec("Domain", "DC=c", None, None),
                spec("OrganizationalUnit", "OU=Fin,DC=c", None, None),
                spec("User", "CN=Ann,OU=Fin,DC=c", Some("sip:ann@c"), None),
                spec("User", "CN=Bob,OU=IT,DC=c", Some("sip:bob@c"), None),
                // Inner and Outer nest each other: a cycle must terminate.
                spec("Group", "CN=Inner,OU=IT,DC=c", None, Some(&["CN=Bob,OU=IT,DC=c", "CN=Outer,OU=IT,DC=c"])),
                spec("Group", "CN=Outer,OU=IT,DC=c", None, Some(&["CN=Inner,OU=IT,DC=c"])),
            ])
            .unwrap();
        (dir, store)
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn coverage_through_listing_nesting_and_subtrees_with_denied_winning() {
        let (_d, s) = store();
        let ann = s.ancestry_of_key("sip:ANN@c").unwrap();
        let bob = s.ancestry_of_key("sip:bob@c").unwrap();
        assert!(in_scope(&ann, &v(&["ou=fin,dc=c"]), &[]));
        assert!(in_scope(&ann, &v(&["DC=c"]), &[]));
        assert!(!in_scope(&ann, &v(&["DC=c"]), &v(&["sip:ann@c"])));
        assert!(!in_scope(&ann, &[], &[]));
        assert!(in_scope(&bob, &v(&["CN=Outer,OU=IT,DC=c"]), &[]));
        assert!(!in_scope(&bob, &v(&["CN=Outer,OU=IT,DC=c"]), &v(&["CN=Inner,OU=IT,DC=c"])));
        let gone = s.ancestry_of_key("sip:gone@c").unwrap();
        assert!(gone.covered_by(&v(&["sip:gone@c"])) && !gone.covered_by(&v(&["DC=c"])));
    }

    #[test]
    fn users_covered_expands_groups_and_subtrees_once() {
        let (_d, s) = store();
        let mut names: Vec<String> = s
            .users_covered(&v(&["CN=Outer,OU=IT,DC=c", "DC=c", "sip:bob@c"]))
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        names.sort();
        assert_eq!(names, ["Ann", "Bob"]);
        assert_eq!(s.users_covered(&v(&["CN=Inner,OU=IT,DC=c"])).unwrap().len(), 1);
    }
}
