//! Directory tables: principals (users, groups, contacts, OUs, containers, domains), group
//! membership, RBAC roles.

use crate::store::db::{self, OptionalExtension, Row, params};

use super::{Store, dialect};
use crate::catalog::enums::PrincipalKind;
use crate::values::text::{starts_with_ci, strip_prefix_ci};
use crate::values::wildcard::{Wildcard, has_wildcards};

/// A principal's generic attributes, parsed from their stored JSON only when first read: most
/// queries over 100,000 principals never look at them.
#[derive(Debug, Clone, Default)]
pub struct Attrs {
    raw: String,
    parsed: std::cell::OnceCell<serde_json::Map<String, serde_json::Value>>,
}

impl Attrs {
    fn map(&self) -> &serde_json::Map<String, serde_json::Value> {
        self.parsed.get_or_init(|| serde_json::from_str(&self.raw).unwrap_or_default())
    }
    pub fn get(&self, key: &str) -> Option<&serde_json::Value> {
        self.map().get(key)
    }
    pub fn iter(&self) -> serde_json::map::Iter<'_> {
        self.map().iter()
    }
}

impl PartialEq for Attrs {
    fn eq(&self, other: &Self) -> bool {
        self.map() == other.map()
    }
}

impl<'a> IntoIterator for &'a Attrs {
    type Item = (&'a String, &'a serde_json::Value);
    type IntoIter = serde_json::map::Iter<'a>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct PrincipalRow {
    pub id: i64,
    pub dn: String,
    pub kind: PrincipalKind,
    pub name: String,
    pub display_name: Option<String>,
    pub sip: Option<String>,
    pub sam: Option<String>,
    pub upn: Option<String>,
    pub registrar_pool: Option<String>,
    pub policy: Option<String>,
    pub attrs: Attrs,
    pub endpoint_pool: Option<String>,
}

/// A principal to add or update (by DN).
#[derive(Debug, Clone, Default)]
pub struct PrincipalSpec {
    pub dn: String,
    pub kind: PrincipalKind,
    pub display_name: Option<String>,
    pub sip: Option<String>,
    pub sam: Option<String>,
    pub upn: Option<String>,
    pub registrar_pool: Option<String>,
    pub attrs: serde_json::Map<String, serde_json::Value>,
    /// Group members (DNs); `None` for non-groups.
    pub members: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct RoleRow {
    pub identity: String,
    pub sid: String,
    pub cmdlets: Vec<String>,
    pub user_scopes: Vec<String>,
    pub is_standard: bool,
}

/// Split a DN at its first unescaped comma: (`CN=Ann Beebe`, `OU=Finance,DC=contoso,DC=com`).
fn split_dn(dn: &str) -> (&str, Option<&str>) {
    let bytes = dn.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b',' => return (&dn[..i], Some(dn[i + 1..].trim_start())),
            _ => i += 1,
        }
    }
    (dn, None)
}

/// The value of a DN's first RDN: `CN=Ann Beebe,OU=...` → `Ann Beebe`.
pub fn first_rdn_value(dn: &str) -> String {
    let (rdn, _) = split_dn(dn);
    rdn.split_once('=').map(|(_, v)| v.trim().replace("\\,", ",")).unwrap_or_else(|| rdn.to_string())
}

pub fn parent_dn(dn: &str) -> Option<String> {
    split_dn(dn).1.map(str::to_string)
}

/// Canonical DN spelling for comparison: no whitespace after commas.
pub fn normalize_dn(dn: &str) -> String {
    let mut out = String::with_capacity(dn.len());
    let mut after_comma = false;
    for c in dn.trim().chars() {
        if after_comma && c.is_whitespace() {
            continue;
        }
        after_comma = c == ',';
        out.push(c);
    }
    out
}

/// Is `dn` strictly inside the subtree rooted at `root` (case-insensitive)?
pub fn dn_within(dn: &str, root: &str) -> bool {
    let within = |dn: &str, root: &str| {
        dn.len() > root.len() + 1
            && dn.as_bytes()[dn.len() - root.len() - 1] == b','
            && dn[dn.len() - root.len()..].eq_ignore_ascii_case(root)
    };
    // Letters beyond ASCII fold as in `dn_key` (allocating only for such DNs).
    within(dn, root) || (!(dn.is_ascii() && root.is_ascii()) && within(&dn_key(dn), &dn_key(root)))
}

/// A DN as compared: AD compares DNs ignoring the case of every letter, as pchat compares display
/// names (`str::to_lowercase`). The store's `dn` column folds A–Z only (SQLite NOCASE, `lower()` in
/// PostgreSQL's C locale), so a DN with other letters is also looked for by this key, in Rust:
/// the same answer on both backends.
pub fn dn_key(dn: &str) -> String {
    dn.to_lowercase()
}

const PRINCIPAL_COLUMNS: &str =
    "id, dn, kind, name, display_name, sip, sam, upn, registrar_pool, policy, attrs, endpoint_pool";

fn principal(r: &Row<'_>) -> db::Result<PrincipalRow> {
    Ok(PrincipalRow {
        id: r.get(0)?,
        dn: r.get(1)?,
        kind: r.get(2)?,
        name: r.get(3)?,
        display_name: r.get(4)?,
        sip: r.get(5)?,
        sam: r.get(6)?,
        upn: r.get(7)?,
        registrar_pool: r.get(8)?,
        policy: r.get(9)?,
        attrs: Attrs { raw: r.get(10)?, parsed: Default::default() },
        endpoint_pool: r.get(11)?,
    })
}

/// Standard order for principals: display name (or name), then DN, case-insensitive.
pub(super) const ORDER: &str = "ORDER BY coalesce(display_name, name) COLLATE NOCASE, dn COLLATE NOCASE";

impl Store {
    pub(super) fn principals_where(&self, clause: &str, args: impl db::Params) -> db::Result<Vec<PrincipalRow>> {
        self.db()
            .prepare_cached(&format!("SELECT {PRINCIPAL_COLUMNS} FROM principals {clause} {ORDER}"))?
            .query_map(args, principal)?
            .collect()
    }

    /// Every principal in the standard order.
    pub fn principals(&self) -> db::Result<Vec<PrincipalRow>> {
        self.principals_where("", ())
    }

    /// The attribute names some principal of the directory carries (beyond the fixed columns),
    /// for telling a filter's typo from an attribute only some principals have.
    pub fn attribute_names(&self) -> db::Result<Vec<String>> {
        self.db()
            .prepare_cached("SELECT DISTINCT j.key FROM principals p, json_each(p.attrs) j ORDER BY j.key")?
            .query_map((), |r| r.get(0))?
            .collect()
    }

    /// SIP-enabled users in the standard order.
    pub fn users(&self) -> db::Result<Vec<PrincipalRow>> {
        self.principals_where("WHERE kind = 'User' AND sip IS NOT NULL", ())
    }

    /// The first `limit` SIP-enabled users in the standard order (an index serves it).
    pub fn first_users(&self, limit: usize) -> db::Result<Vec<PrincipalRow>> {
        self.db()
            .prepare_cached(&format!(
                "SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE kind = 'User' AND sip IS NOT NULL {ORDER} LIMIT ?1"
            ))?
            .query_map([limit.min(i64::MAX as usize) as i64], principal)?
            .collect()
    }

    pub fn principal_by_dn(&self, dn: &str) -> db::Result<Option<PrincipalRow>> {
        let dn = normalize_dn(dn);
        let found = self
            .db()
            .prepare_cached(&format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE dn = ?1 COLLATE NOCASE"))?
            .query_row([&dn], principal)
            .optional()?;
        if found.is_some() || dn.is_ascii() {
            return Ok(found);
        }
        // The column folds A–Z only: `CN=ömer çelik` names `CN=Ömer Çelik` too (`dn_key`), by a
        // scan made only when the exact and ASCII-folded lookup found nothing. An import keeps
        // DNs unique by this key, so at most one matches.
        let key = dn_key(&dn);
        Ok(self.principals()?.into_iter().find(|p| dn_key(&p.dn) == key))
    }

    /// By SIP address, with or without the `sip:` prefix, ignoring the case of every letter.
    pub fn principal_by_sip(&self, sip: &str) -> db::Result<Option<PrincipalRow>> {
        let sip = sip.trim();
        let full = if starts_with_ci(sip, "sip:") { sip.to_string() } else { format!("sip:{sip}") };
        let found = self
            .db()
            .prepare_cached(&format!("SELECT {PRINCIPAL_COLUMNS} FROM principals WHERE sip = ?1 COLLATE NOCASE"))?
            .query_row([&full], principal)
            .optional()?;
        if found.is_some() || full.is_ascii() {
            return Ok(found);
        }
        // The column folds A–Z only: `sip:JÖRG@…` names `sip:jörg@…` too (pchat's fold, as for
        // DNs), by a scan made only when the indexed lookup found nothing. Addresses are unique
        // by this fold (an import and New-CsPersistentChatEndpoint refuse a second), so at most
        // one matches.
        let key = full.to_lowercase();
        Ok(self.principals()?.into_iter().find(|p| p.sip.as_ref().is_some_and(|s| s.to_lowercase() == key)))
    }

    /// Resolve a user-id: SIP address, `DOMAIN\logon`, DN, UPN, or display name
    /// (with `*` wildcards). Several principals can match a wildcard or a shared display name.
    pub fn find_principals(&self, identity: &str) -> db::Result<Vec<PrincipalRow>> {
        let id = identity.trim();
        if strip_prefix_ci(id, "sip:").is_some_and(|rest| !rest.is_empty()) {
            return Ok(self.principal_by_sip(id)?.into_iter().collect());
        }
        if id.contains('=') {
            return Ok(self.principal_by_dn(id)?.into_iter().collect());
        }
        if let Some((domain, logon)) = id.split_once('\\') {
            let netbios = self.meta("domain_netbios")?;
            if netbios.is_some_and(|n| !n.eq_ignore_ascii_case(domain)) {
                return Ok(Vec::new());
            }
            let by_sam = self.principals_where("WHERE sam = ?1 COLLATE NOCASE", [logon])?;
            if !by_sam.is_empty() {
                return Ok(by_sam);
            }
            // The column folds ASCII case only; the directory folds every letter (`JMÜLLER`).
            return self.principals_folded(logon, |p| p.sam.as_deref());
        }
        if id.contains('@') && !has_wildcards(id) {
            let by_upn = self.principals_where("WHERE upn = ?1 COLLATE NOCASE", [id])?;
            if !by_upn.is_empty() {
                return Ok(by_upn);
            }
            // The column folds A–Z only; a UPN with other letters folds them all, as the
            // directory does (`JÖRG@contoso.com`), by a scan.
            if !id.is_ascii() {
                let folded = self.principals_folded(id, |p| p.upn.as_deref())?;
                if !folded.is_empty() {
                    return Ok(folded);
                }
            }
            return Ok(self.principal_by_sip(id)?.into_iter().collect());
        }
        if has_wildcards(id) {
            let Ok(pattern) = Wildcard::new(id) else { return Ok(Vec::new()) };
            return Ok(self
                .principals()?
                .into_iter()
                .filter(|p| pattern.is_match(p.display_name.as_deref().unwrap_or(&p.name)))
                .collect());
        }
        // The exact spelling, found through the case-folded index `principals_display` (the
        // column itself compares exactly): without the NOCASE term the lookup scans every row.
        let by_display = self.principals_where("WHERE display_name = ?1 COLLATE NOCASE AND display_name = ?1", [id])?;
        if !by_display.is_empty() {
            return Ok(by_display);
        }
        let by_name = self.principals_where("WHERE display_name IS NULL AND name = ?1", [id])?;
        if !by_name.is_empty() {
            return Ok(by_name);
        }
        // Names match ignoring case, as the directory does ("ann beebe", "RENÉE DUBOIS"): only
        // looked for when the exact spelling names nobody.
        self.principals_folded(id, |p| Some(p.display_name.as_deref().unwrap_or(&p.name)))
    }

    /// Principals whose `field` equals `given` ignoring case (Unicode), by a scan.
    fn principals_folded(
        &self,
        given: &str,
        field: impl Fn(&PrincipalRow) -> Option<&str>,
    ) -> db::Result<Vec<PrincipalRow>> {
        let folded = given.to_lowercase();
        Ok(self.principals()?.into_iter().filter(|p| field(p).is_some_and(|v| v.to_lowercase() == folded)).collect())
    }

    /// Principals inside the subtree of an OU/container/domain DN (the root itself excluded).
    pub fn principals_within(&self, root: &str) -> db::Result<Vec<PrincipalRow>> {
        let root = normalize_dn(root);
        Ok(self.principals()?.into_iter().filter(|p| dn_within(&p.dn, &root)).collect())
    }

    pub fn group_members(&self, group_id: i64) -> db::Result<Vec<String>> {
        self.db()
            .prepare_cached("SELECT member_dn FROM group_members WHERE group_id = ?1 ORDER BY ord")?
            .query_map([group_id], |r| r.get(0))?
            .collect()
    }

    /// Add or update principals by DN, replacing the member lists of the groups given.
    pub fn upsert_principals(&self, specs: &[PrincipalSpec]) -> db::Result<()> {
        // A large import builds the secondary indexes once at the end (sorted, much faster than
        // row by row); their definitions are read back from the schema, not restated here.
        const BULK: usize = 5_000;
        let rebuild: Vec<(String, String)> = if specs.len() >= BULK {
            self.db()
                .prepare(dialect::INDEX_DEFINITIONS)?
                .query_map(["principals"], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<db::Result<_>>()?
        } else {
            Vec::new()
        };
        for (name, _) in &rebuild {
            self.db().execute_batch(&dialect::drop_index(name))?;
        }
        self.write_principals(specs)?;
        self.advance_access_version()?;
        for (_, sql) in &rebuild {
            self.db().execute_batch(sql)?;
        }
        Ok(())
    }

    /// Writes principals by DN (a DN already there keeps its spelling), and the member lists
    /// given. References to a NOCASE key are stored as the key's row spells them
    /// (`schema::CANONICAL_REFERENCES`): the registrar pool as `pools` does, a member as its
    /// principal's DN when there is one.
    ///
    /// The principals are written first, then the member lists, so that every member written
    /// here is canonical when written: one naming a principal of this call takes its DN from
    /// the DNs just written (ASCII case folded, as NOCASE compares; no probe), any other is
    /// probed. Registrar pools are resolved once per distinct pool (ASCII case folded) for this
    /// call only: it writes no pool, so the answers cannot change while they are used. Members
    /// not written here that name a principal written here in another spelling take its DN at
    /// the end (one statement for the lot: a round trip per principal would cost PostgreSQL an
    /// import's worth of them); only member rows there before this call can, so it is skipped
    /// when there were none.
    fn write_principals(&self, specs: &[PrincipalSpec]) -> db::Result<()> {
        use std::collections::HashMap;
        let mut upsert = self.db().prepare_cached(
            "INSERT INTO principals(dn, kind, name, display_name, sip, sam, upn, registrar_pool, attrs, parent_dn)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT(dn) DO UPDATE SET kind = excluded.kind, name = excluded.name,
                display_name = excluded.display_name, sip = excluded.sip, sam = excluded.sam, upn = excluded.upn,
                registrar_pool = excluded.registrar_pool, attrs = excluded.attrs, parent_dn = excluded.parent_dn
             RETURNING id, dn",
        )?;
        let mut pool_probe = self.db().prepare_cached("SELECT fqdn FROM pools WHERE fqdn = ?1 COLLATE NOCASE")?;
        // ASCII-folded pool name → `pools.fqdn`, or None when no pool has it.
        let mut pools: HashMap<String, Option<String>> = HashMap::new();
        // ASCII-folded DN → the DN as stored, for the principals written here.
        let mut written: HashMap<String, String> = HashMap::with_capacity(specs.len());
        let mut ids = Vec::with_capacity(specs.len());
        for s in specs {
            let dn = normalize_dn(&s.dn);
            let attrs = serde_json::Value::Object(s.attrs.clone()).to_string();
            let registrar_pool = match &s.registrar_pool {
                None => None,
                Some(given) => {
                    let key = given.to_ascii_lowercase();
                    let fqdn = match pools.get(&key) {
                        Some(known) => known.clone(),
                        None => {
                            let found: Option<String> = pool_probe.query_row([given], |r| r.get(0)).optional()?;
                            pools.insert(key, found.clone());
                            found
                        }
                    };
                    Some(fqdn.unwrap_or_else(|| given.clone()))
                }
            };
            let (id, stored): (i64, String) = upsert.query_row(
                params![
                    dn,
                    s.kind,
                    first_rdn_value(&dn),
                    s.display_name,
                    s.sip,
                    s.sam,
                    s.upn,
                    registrar_pool,
                    attrs,
                    parent_dn(&dn)
                ],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?;
            ids.push(id);
            written.insert(stored.to_ascii_lowercase(), stored);
        }
        drop(pools);

        // Member rows there before this call: only they may name a principal written here in
        // another spelling (every member written below is canonical).
        let members_before: bool = !written.is_empty()
            && self.db().prepare_cached("SELECT EXISTS (SELECT 1 FROM group_members)")?.query_row((), |r| r.get(0))?;
        let mut clear = self.db().prepare_cached("DELETE FROM group_members WHERE group_id = ?1")?;
        let mut add_known = self
            .db()
            .prepare_cached("INSERT OR IGNORE INTO group_members(group_id, member_dn, ord) VALUES (?1, ?2, ?3)")?;
        let mut add = self.db().prepare_cached(
            "INSERT OR IGNORE INTO group_members(group_id, member_dn, ord)
             VALUES (?1, coalesce((SELECT dn FROM principals WHERE dn = ?2 COLLATE NOCASE), ?2), ?3)",
        )?;
        for (s, id) in specs.iter().zip(&ids) {
            if let Some(members) = &s.members {
                clear.execute([id])?;
                // In the directory's order (a member given twice keeps its first place).
                for (ord, m) in members.iter().enumerate() {
                    let m = normalize_dn(m);
                    match written.get(&m.to_ascii_lowercase()) {
                        Some(dn) => add_known.execute(params![id, dn, ord])?,
                        None => add.execute(params![id, m, ord])?,
                    };
                }
            }
        }
        if !members_before {
            return Ok(());
        }
        let dns: Vec<String> = written.into_values().collect();
        self.canonical_member_references(&dns)
    }

    /// The group members naming one of the principals `dns` (as they are stored) in another
    /// spelling take the principal's: members written before their principal existed. A probe
    /// of the members' NOCASE index per DN; nothing is written where every reference is
    /// canonical already.
    fn canonical_member_references(&self, dns: &[String]) -> db::Result<()> {
        if dns.is_empty() {
            return Ok(());
        }
        self.db()
            .prepare_cached(concat!(
                "UPDATE group_members
                 SET member_dn = (SELECT p.dn FROM principals p WHERE p.dn = group_members.member_dn COLLATE NOCASE)
                 WHERE ",
                dialect::in_json_list_sql!("member_dn COLLATE NOCASE", "?1"),
                " AND NOT (",
                dialect::in_json_list_sql!("member_dn COLLATE BINARY", "?1"),
                ")"
            ))?
            .execute([dialect::json_text_list(dns)])
            .map(|_| ())
    }

    pub fn remove_principal(&self, id: i64) -> db::Result<()> {
        self.advance_access_version()?;
        self.db().execute("DELETE FROM principals WHERE id = ?1", [id]).map(|_| ())
    }

    pub fn roles(&self) -> db::Result<Vec<RoleRow>> {
        self.db()
            .prepare_cached(
                "SELECT identity, sid, cmdlets, user_scopes, is_standard FROM roles ORDER BY identity COLLATE NOCASE",
            )?
            .query_map((), |r| {
                let identity: String = r.get(0)?;
                let is_standard: bool = r.get(4)?;
                let cmdlets: String = r.get(2)?;
                let scopes: String = r.get(3)?;
                // A built-in role's cmdlets follow the catalog of this version, not the list
                // stored when the store was made (new cmdlets join the roles they belong to).
                let cmdlets = match super::seed::standard_role_cmdlets(&identity).filter(|_| is_standard) {
                    Some(names) => names.iter().map(|n| n.to_string()).collect(),
                    None => serde_json::from_str(&cmdlets).unwrap_or_default(),
                };
                Ok(RoleRow {
                    identity,
                    sid: r.get(1)?,
                    cmdlets,
                    user_scopes: serde_json::from_str(&scopes).unwrap_or_default(),
                    is_standard,
                })
            })?
            .collect()
    }

    pub fn upsert_custom_role(&self, role: &RoleRow) -> db::Result<()> {
        self.advance_access_version()?;
        self.db()
            .execute(
                "INSERT INTO roles(identity, sid, cmdlets, user_scopes, is_standard) VALUES (?1, ?2, ?3, ?4, 0)
                 ON CONFLICT(identity) DO UPDATE SET cmdlets = excluded.cmdlets, user_scopes = excluded.user_scopes",
                params![
                    role.identity,
                    role.sid,
                    serde_json::to_string(&role.cmdlets).unwrap_or_default(),
                    serde_json::to_string(&role.user_scopes).unwrap_or_default()
                ],
            )
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::schema;

    fn group(dn: &str, members: &[&str]) -> PrincipalSpec {
        PrincipalSpec {
            dn: dn.into(),
            kind: PrincipalKind::Group,
            display_name: None,
            sip: None,
            sam: None,
            upn: None,
            registrar_pool: None,
            attrs: serde_json::Map::new(),
            members: Some(members.iter().map(|m| m.to_string()).collect()),
        }
    }

    /// A store written before members had an ordinal (their order was SQLite's rowid) opens
    /// with every group's members in the order they had; groups written since keep theirs.
    #[test]
    fn group_members_keep_their_order_across_the_upgrade() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.db");
        drop(Store::open(&path).unwrap());
        // The previous release's schema and writes: no ord column; members added in the
        // directory's order, interleaved between groups, one group rewritten (rowid gaps).
        let conn = db::Db::open_sqlite(&path).unwrap();
        // The version before the step that adds the order (later steps may follow it: those that
        // change structure are undone too, so that they apply again).
        let before = schema::sqlite_steps(schema::Database::Central)
            .iter()
            .position(|step| step.contains("ADD COLUMN ord"))
            .expect("the step adding group_members.ord");
        conn.execute_batch(&format!(
            "DROP INDEX group_members_order; ALTER TABLE group_members DROP COLUMN ord;
             ALTER TABLE atomic_files DROP COLUMN owner;
             PRAGMA user_version = {before};
             INSERT INTO principals(id, dn, kind, name) VALUES (501, 'CN=G1,DC=c', 'Group', 'G1'), (502, 'CN=G2,DC=c', 'Group', 'G2');"
        ))
        .unwrap();
        let add = |g: i64, m: &str| {
            conn.execute("INSERT OR IGNORE INTO group_members(group_id, member_dn) VALUES (?1, ?2)", params![g, m])
                .unwrap()
        };
        for (g, m) in [(501, "CN=zed,DC=c"), (502, "CN=b,DC=c"), (501, "CN=Ann,DC=c"), (501, "CN=ZED,DC=c")] {
            add(g, m);
        }
        conn.execute("DELETE FROM group_members WHERE group_id = 502", ()).unwrap();
        for (g, m) in [(502, "CN=y,DC=c"), (501, "CN=\u{e9}mile,DC=c"), (502, "CN=a,DC=c"), (501, "CN=bob,DC=c")] {
            add(g, m);
        }
        let old = |g: i64| -> Vec<String> {
            conn.query_map("SELECT member_dn FROM group_members WHERE group_id = ?1 ORDER BY rowid", [g], |r| r.get(0))
                .unwrap()
        };
        let (g1, g2) = (old(501), old(502));
        assert_eq!(g1, ["CN=zed,DC=c", "CN=Ann,DC=c", "CN=\u{e9}mile,DC=c", "CN=bob,DC=c"]);
        assert_eq!(g2, ["CN=y,DC=c", "CN=a,DC=c"]);
        drop(conn);

        let store = Store::open(&path).unwrap();
        assert_eq!(store.group_members(501).unwrap(), g1);
        assert_eq!(store.group_members(502).unwrap(), g2);
        // Written now: the directory's order, not the names' (nor the old rows' places).
        store
            .upsert_principals(&[group("CN=G1,DC=c", &["CN=bob,DC=c", "CN=new,DC=c", "CN=BOB,DC=c", "CN=Ann,DC=c"])])
            .unwrap();
        assert_eq!(store.group_members(501).unwrap(), ["CN=bob,DC=c", "CN=new,DC=c", "CN=Ann,DC=c"]);
        assert_eq!(store.group_members(502).unwrap(), g2);
    }

    /// The references of `schema::CANONICAL_REFERENCES` that name their key's row in another
    /// spelling (`reference = value`): none, or an exact join (PostgreSQL's) would miss them.
    fn non_canonical(conn: &db::Db) -> Vec<String> {
        let mut out = Vec::new();
        for (reference, key) in schema::CANONICAL_REFERENCES {
            let (rt, rc) = reference.split_once('.').unwrap();
            let (kt, kc) = key.split_once('.').unwrap();
            let sql = format!(
                "SELECT r.{rc} FROM {rt} r JOIN {kt} k ON k.{kc} = r.{rc} COLLATE NOCASE WHERE k.{kc} <> r.{rc} COLLATE BINARY"
            );
            let values: Vec<String> = conn.query_map(&sql, (), |r| r.get(0)).unwrap();
            out.extend(values.into_iter().map(|v| format!("{reference} = {v}")));
        }
        out
    }

    fn registered(dn: &str, sam: &str, registrar_pool: Option<&str>) -> PrincipalSpec {
        PrincipalSpec {
            dn: dn.into(),
            kind: PrincipalKind::User,
            sip: Some(format!("sip:{sam}@contoso.com")),
            sam: Some(sam.into()),
            registrar_pool: registrar_pool.map(str::to_string),
            ..Default::default()
        }
    }

    fn topology(fqdn: &str) -> crate::store::topology::TopologySpec {
        use crate::store::topology::{PoolSpec, ServiceSpec, TopologySpec};
        TopologySpec {
            sip_domains: vec!["contoso.com".into()],
            sites: vec!["Dublin".into()],
            sql_instances: Vec::new(),
            pools: vec![PoolSpec {
                fqdn: fqdn.into(),
                site: "Dublin".into(),
                services: vec![ServiceSpec { role: "Registrar".into(), dependents: Vec::new(), version: None }],
                servers: vec![fqdn.into()],
                active_servers: vec![fqdn.into()],
                database: None,
                backup_database: None,
                default_endpoint: None,
            }],
        }
    }

    /// The joins of a stored reference with the NOCASE key it names answer through the
    /// reference's canonical spelling: a pool's services, a user's registrar pool (its site's
    /// policy), a group's members (a group with a user among them).
    fn assert_joins_answer(store: &Store, pool: &str, members: &[&str]) {
        use crate::store::settings::{POLICY, SettingsRow};
        assert_eq!(non_canonical(store.db()), Vec::<String>::new());
        let services: Vec<(String, String)> = store.services().unwrap().into_iter().map(|s| (s.role, s.pool)).collect();
        assert_eq!(services, [("Registrar".to_string(), pool.to_string())]);
        if store.settings_get(&POLICY, "Site:Dublin").unwrap().is_none() {
            store.settings_insert(&POLICY, &SettingsRow::defaults(&POLICY, "Site:Dublin")).unwrap();
        }
        assert_eq!(store.effective_policy("sip:ann@contoso.com").unwrap().identity, "Site:Dublin");
        let registrar: String = store
            .db()
            .query_row("SELECT registrar_pool FROM principals WHERE sam = 'ann' COLLATE NOCASE", (), |r| r.get(0))
            .unwrap();
        assert_eq!(registrar, pool);
        let group: i64 =
            store.db().query_row("SELECT id FROM principals WHERE sam = 'staff'", (), |r| r.get(0)).unwrap();
        assert_eq!(store.group_members(group).unwrap(), members);
        assert!(store.group_has_user("Staff").unwrap());
        assert_eq!(store.group_names_of("cn=ANN,dc=contoso,dc=com").unwrap(), ["staff"]);
    }

    /// References written by a topology and a directory in another case than the keys they
    /// name are stored in the keys' spelling: a member imported before its principal (in the
    /// same import, or an earlier one) takes the principal's DN when the principal is written;
    /// a member naming nobody keeps its own; a pool published again in another spelling takes
    /// its users' references along.
    #[test]
    fn references_to_nocase_keys_are_stored_in_their_keys_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("pchat.db")).unwrap();
        store.replace_topology(&topology("fe01.contoso.com")).unwrap();
        let mut staff = group(
            "CN=Staff,DC=contoso,DC=com",
            &["cn=ann,dc=CONTOSO,dc=com", "CN=BOB,DC=contoso,DC=com", "CN=Ghost,DC=contoso,DC=com"],
        );
        staff.sam = Some("staff".into());
        store
            .upsert_principals(&[
                registered("CN=Bob,DC=contoso,DC=com", "bob", None),
                staff,
                registered("CN=Ann,DC=contoso,DC=com", "ann", Some("FE01.Contoso.COM")),
            ])
            .unwrap();
        let members = ["CN=Ann,DC=contoso,DC=com", "CN=Bob,DC=contoso,DC=com", "CN=Ghost,DC=contoso,DC=com"];
        assert_joins_answer(&store, "fe01.contoso.com", &members);

        // Imported again in other spellings: the DNs written first stay, and so do the references.
        store.upsert_principals(&[registered("cn=ANN,dc=contoso,dc=com", "ann", Some("fe01.CONTOSO.com"))]).unwrap();
        assert_joins_answer(&store, "fe01.contoso.com", &members);
        // A principal for the member that named nobody: its reference takes the DN's spelling.
        store.upsert_principals(&[registered("cn=ghost,dc=contoso,dc=com", "ghost", None)]).unwrap();
        let members = ["CN=Ann,DC=contoso,DC=com", "CN=Bob,DC=contoso,DC=com", "cn=ghost,dc=contoso,dc=com"];
        assert_joins_answer(&store, "fe01.contoso.com", &members);

        store.replace_topology(&topology("FE01.Contoso.com")).unwrap();
        assert_joins_answer(&store, "FE01.Contoso.com", &members);
    }

    /// A store written before central step 16, with references in other spellings than their
    /// keys (as the released writes stored them), opens with every reference in its key's
    /// spelling; one naming no row keeps its own.
    #[test]
    fn an_upgraded_store_stores_references_in_their_keys_spelling() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pchat.db");
        let steps = schema::sqlite_steps(schema::Database::Central);
        let conn = db::Db::open_sqlite(&path).unwrap();
        crate::store::migrate(&conn, &steps[..15]).unwrap();
        conn.execute_batch(
            "INSERT INTO sites(name, ord) VALUES ('Dublin', 0);
             INSERT INTO pools(fqdn, site, ord) VALUES ('fe01.contoso.com', 'Dublin', 0);
             INSERT INTO services(role, pool) VALUES ('Registrar', 'FE01.Contoso.com');
             INSERT INTO principals(id, dn, kind, name, sip, sam, registrar_pool) VALUES
                (1, 'CN=Ann,DC=contoso,DC=com', 'User', 'Ann', 'sip:ann@contoso.com', 'ann', 'FE01.CONTOSO.COM'),
                (2, 'CN=Bob,DC=contoso,DC=com', 'User', 'Bob', 'sip:bob@contoso.com', 'bob', 'fe01.contoso.com'),
                (3, 'CN=Staff,DC=contoso,DC=com', 'Group', 'Staff', NULL, 'staff', NULL),
                (4, 'CN=Eve,DC=contoso,DC=com', 'User', 'Eve', 'sip:eve@contoso.com', 'eve', 'gone.contoso.com');
             INSERT INTO group_members(group_id, member_dn, ord) VALUES
                (3, 'cn=ann,dc=CONTOSO,dc=com', 0), (3, 'CN=Bob,DC=contoso,DC=com', 1), (3, 'CN=GHOST,DC=contoso,DC=com', 2);",
        )
        .unwrap();
        assert_eq!(non_canonical(&conn).len(), 3);
        drop(conn);

        let store = Store::open(&path).unwrap();
        let version: i64 = store.db().query_row("PRAGMA user_version", (), |r| r.get(0)).unwrap();
        // Every later step ran too (user_version counts the steps, PostgreSQL-only ones included).
        assert_eq!(version, steps.len() as i64);
        assert_joins_answer(
            &store,
            "fe01.contoso.com",
            &["CN=Ann,DC=contoso,DC=com", "CN=Bob,DC=contoso,DC=com", "CN=GHOST,DC=contoso,DC=com"],
        );
        let eve: String =
            store.db().query_row("SELECT registrar_pool FROM principals WHERE id = 4", (), |r| r.get(0)).unwrap();
        assert_eq!(eve, "gone.contoso.com", "a reference naming no row keeps its spelling");
    }

    #[test]
    fn dn_helpers() {
        assert_eq!(first_rdn_value("CN=Ann Beebe,OU=Finance,DC=contoso,DC=com"), "Ann Beebe");
        assert_eq!(first_rdn_value("CN=Smith\\, Jo,OU=X,DC=c"), "Smith, Jo");
        assert_eq!(parent_dn("CN=Ann,OU=Finance,DC=c").as_deref(), Some("OU=Finance,DC=c"));
        assert_eq!(parent_dn("DC=com"), None);
        assert_eq!(normalize_dn(" CN=A, OU=B,  DC=c "), "CN=A,OU=B,DC=c");
        assert!(dn_within("CN=A,OU=Fin,DC=c", "ou=fin,dc=c"));
        assert!(!dn_within("OU=Fin,DC=c", "OU=Fin,DC=c"));
        assert!(!dn_within("CN=A,OU=XFin,DC=c", "OU=Fin,DC=c"));
    }

    fn user(dn: &str, sip: &str, sam: &str) -> PrincipalSpec {
        PrincipalSpec {
            dn: dn.into(),
            kind: PrincipalKind::User,
            display_name: Some(first_rdn_value(dn)),
            sip: Some(sip.into()),
            sam: Some(sam.into()),
            upn: Some(format!("{sam}@contoso.com")),
            ..Default::default()
        }
    }

    #[test]
    fn identity_resolution_covers_every_form() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        store.set_meta("domain_netbios", "contoso").unwrap();
        store
            .upsert_principals(&[
                user("CN=Ann Beebe,OU=Finance,DC=contoso,DC=com", "sip:annb@contoso.com", "annb"),
                user("CN=Bob Beebe,OU=Sales,DC=contoso,DC=com", "sip:bobb@contoso.com", "bobb"),
            ])
            .unwrap();
        let names = |id: &str| store.find_principals(id).unwrap().into_iter().map(|p| p.name).collect::<Vec<_>>();
        assert_eq!(names("sip:ANNB@contoso.com"), ["Ann Beebe"]);
        assert_eq!(names("contoso\\annb"), ["Ann Beebe"]);
        assert!(names("fabrikam\\annb").is_empty());
        assert_eq!(names("annb@contoso.com"), ["Ann Beebe"]);
        assert_eq!(names("CN=Ann Beebe, OU=Finance,DC=contoso,DC=com"), ["Ann Beebe"]);
        assert_eq!(names("Ann Beebe"), ["Ann Beebe"]);
        assert_eq!(names("* Beebe"), ["Ann Beebe", "Bob Beebe"]);
        assert!(names("Nobody").is_empty());
    }
}
