//! Scoped settings: configuration collections, compliance collections and policies.
//! One descriptor per kind names its table and its properties, so the three kinds share one set of
//! SQL functions and one set of handlers; only assignments and effective resolution are policy-specific.

use crate::store::db::{self, OptionalExtension, Row, Value as SqlValue, params, params_from_iter};

use super::Store;
use super::topology::PoolRow;
use crate::catalog::ObjType;
use crate::errors::{CmdletError, CmdletResult};

/// How a property is stored and shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Int,
    Bool,
    Text,
    /// An absolute http(s) URL.
    Url,
    /// A time span, stored in seconds, shown as `d.hh:mm:ss`.
    Span,
    /// A GUID (TenantId), lower case.
    Guid,
}

/// A property of a settings object: its output name, the parameter that sets it, its column.
#[derive(Debug)]
pub struct Field {
    pub property: &'static str,
    pub param: &'static str,
    pub column: &'static str,
    pub kind: FieldKind,
    pub default: FieldValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldValue {
    Null,
    Int(i64),
    Bool(bool),
    Text(String),
}

/// Which scopes a kind admits besides Global.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScopeFamily {
    /// Global, Site:X, Service:PersistentChatServer:F.
    PoolSettings,
    /// Global, Site:X, Tag:Name.
    Policy,
}

#[derive(Debug)]
pub struct SettingsKind {
    pub table: &'static str,
    /// How messages name one object, e.g. "configuration collection".
    pub what: &'static str,
    pub obj: ObjType,
    pub family: ScopeFamily,
    pub fields: &'static [Field],
}

/// A field whose parameter has the property's name.
const fn field(property: &'static str, column: &'static str, kind: FieldKind, default: FieldValue) -> Field {
    Field { property, param: property, column, kind, default }
}

use FieldValue::{Bool as B, Int as I, Null as N};

/// Reference 1.9 defaults.
pub const CONFIGURATION: SettingsKind = SettingsKind {
    table: "configurations",
    what: "configuration collection",
    obj: ObjType::Configuration,
    family: ScopeFamily::PoolSettings,
    fields: &[
        field("DefaultChatHistory", "default_chat_history", FieldKind::Int, I(30)),
        field("MaxFileSizeKB", "max_file_size_kb", FieldKind::Int, I(20000)),
        field("ParticipantUpdateLimit", "participant_update_limit", FieldKind::Int, I(75)),
        field("RoomManagementUrl", "room_management_url", FieldKind::Url, N),
    ],
};

pub const COMPLIANCE: SettingsKind = SettingsKind {
    table: "compliance_configurations",
    what: "compliance collection",
    obj: ObjType::ComplianceConfiguration,
    family: ScopeFamily::PoolSettings,
    fields: &[
        field("AdapterName", "adapter_name", FieldKind::Text, N),
        field("AdapterOutputDirectory", "adapter_output_directory", FieldKind::Text, N),
        field("AdapterType", "adapter_type", FieldKind::Text, N),
        field("AddChatRoomDetails", "add_chat_room_details", FieldKind::Bool, B(false)),
        field("AddUserDetails", "add_user_details", FieldKind::Bool, B(false)),
        field("CreateFileAttachmentsManifest", "create_file_attachments_manifest", FieldKind::Bool, B(false)),
        field("CustomConfiguration", "custom_configuration", FieldKind::Text, N),
        field("OneChatRoomPerOutputFile", "one_chat_room_per_output_file", FieldKind::Bool, B(false)),
        field("RunInterval", "run_interval_seconds", FieldKind::Span, I(900)),
    ],
};

pub const POLICY: SettingsKind = SettingsKind {
    table: "policies",
    what: "Persistent Chat policy",
    obj: ObjType::Policy,
    family: ScopeFamily::Policy,
    fields: &[
        field("Description", "description", FieldKind::Text, N),
        field("EnablePersistentChat", "enable_persistent_chat", FieldKind::Bool, B(false)),
        Field {
            property: "TenantId",
            param: "Tenant",
            column: "tenant",
            kind: FieldKind::Guid,
            default: FieldValue::Null,
        },
    ],
};

/// One stored settings object: its canonical Identity and one value per field of its kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsRow {
    pub identity: String,
    pub values: Vec<FieldValue>,
}

impl SettingsRow {
    /// A new object at the kind's defaults.
    pub fn defaults(kind: &SettingsKind, identity: &str) -> SettingsRow {
        SettingsRow { identity: identity.to_string(), values: kind.fields.iter().map(|f| f.default.clone()).collect() }
    }

    pub fn get(&self, kind: &SettingsKind, property: &str) -> Option<&FieldValue> {
        kind.fields.iter().position(|f| f.property.eq_ignore_ascii_case(property)).map(|i| &self.values[i])
    }
}

/// A policy as the message path needs it (see [`Store::effective_policy`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyRow {
    /// Canonical identity: `Global`, `Site:X` or `Tag:Name`.
    pub identity: String,
    pub description: Option<String>,
    pub enable_persistent_chat: bool,
    pub tenant_id: Option<String>,
}

impl PolicyRow {
    /// The scope the policy belongs to: `Tag`, `Site` or `Global`.
    pub fn scope(&self) -> &'static str {
        scope_level(&self.identity)
    }
}

/// `Global`, `Site`, `Service` or `Tag`, from a canonical identity.
pub fn scope_level(identity: &str) -> &'static str {
    match identity.split_once(':').map(|(p, _)| p.to_ascii_lowercase()) {
        Some(p) if p == "site" => "Site",
        Some(p) if p == "service" => "Service",
        Some(p) if p == "tag" => "Tag",
        _ => "Global",
    }
}

/// Standard output order: Global, Site:* by name, Service:* by FQDN, Tag:* by name.
pub fn standard_order(identity: &str) -> (u8, String) {
    let rank = match scope_level(identity) {
        "Global" => 0,
        "Site" => 1,
        "Service" => 2,
        _ => 3,
    };
    (rank, identity.to_ascii_lowercase())
}

fn to_sql(v: &FieldValue) -> SqlValue {
    match v {
        FieldValue::Null => SqlValue::Null,
        FieldValue::Int(i) => SqlValue::Integer(*i),
        FieldValue::Bool(b) => SqlValue::Integer(*b as i64),
        FieldValue::Text(s) => SqlValue::Text(s.clone()),
    }
}

fn read_row(kind: &SettingsKind, r: &Row<'_>) -> db::Result<SettingsRow> {
    let mut values = Vec::with_capacity(kind.fields.len());
    for (i, f) in kind.fields.iter().enumerate() {
        let v: SqlValue = r.get(i + 1)?;
        values.push(match (v, f.kind) {
            (SqlValue::Null, _) => FieldValue::Null,
            (SqlValue::Integer(n), FieldKind::Bool) => FieldValue::Bool(n != 0),
            (SqlValue::Integer(n), _) => FieldValue::Int(n),
            (SqlValue::Text(s), _) => FieldValue::Text(s),
            (SqlValue::Real(x), _) => FieldValue::Int(x as i64),
            (SqlValue::Blob(_), _) => FieldValue::Null,
            // No backend reads a column as a list (a parameter's type only).
            (SqlValue::List(_), _) => return Err(db::DbError::other("a column read as a list")),
        });
    }
    Ok(SettingsRow { identity: r.get(0)?, values })
}

fn columns(kind: &SettingsKind) -> String {
    kind.fields.iter().map(|f| f.column).collect::<Vec<_>>().join(", ")
}

impl Store {
    /// Every object of a kind, in the standard order.
    pub fn settings_all(&self, kind: &SettingsKind) -> db::Result<Vec<SettingsRow>> {
        let sql = format!("SELECT identity, {} FROM {}", columns(kind), kind.table);
        let mut rows: Vec<SettingsRow> =
            self.db().prepare_cached(&sql)?.query_map((), |r| read_row(kind, r))?.collect::<db::Result<_>>()?;
        rows.sort_by_key(|r| standard_order(&r.identity));
        Ok(rows)
    }

    /// One object by identity (case-insensitive).
    pub fn settings_get(&self, kind: &SettingsKind, identity: &str) -> db::Result<Option<SettingsRow>> {
        let sql = format!("SELECT identity, {} FROM {} WHERE identity = ?1 COLLATE NOCASE", columns(kind), kind.table);
        self.db().prepare_cached(&sql)?.query_row([identity], |r| read_row(kind, r)).optional()
    }

    pub fn settings_insert(&self, kind: &SettingsKind, row: &SettingsRow) -> db::Result<()> {
        let marks: Vec<String> = (0..=kind.fields.len()).map(|i| format!("?{}", i + 1)).collect();
        let sql = format!("INSERT INTO {}(identity, {}) VALUES ({})", kind.table, columns(kind), marks.join(", "));
        let args = std::iter::once(SqlValue::Text(row.identity.clone())).chain(row.values.iter().map(to_sql));
        self.db().prepare_cached(&sql)?.execute(params_from_iter(args)).map(|_| ())
    }

    /// Write every field of an existing object (identity matched case-insensitively).
    pub fn settings_update(&self, kind: &SettingsKind, row: &SettingsRow) -> db::Result<()> {
        let sets: Vec<String> =
            kind.fields.iter().enumerate().map(|(i, f)| format!("{} = ?{}", f.column, i + 2)).collect();
        let sql = format!("UPDATE {} SET {} WHERE identity = ?1 COLLATE NOCASE", kind.table, sets.join(", "));
        let args = std::iter::once(SqlValue::Text(row.identity.clone())).chain(row.values.iter().map(to_sql));
        self.db().prepare_cached(&sql)?.execute(params_from_iter(args)).map(|_| ())
    }

    pub fn settings_delete(&self, kind: &SettingsKind, identity: &str) -> db::Result<()> {
        let sql = format!("DELETE FROM {} WHERE identity = ?1 COLLATE NOCASE", kind.table);
        self.db().prepare_cached(&sql)?.execute([identity]).map(|_| ())
    }

    /// The collection governing a Persistent Chat pool: its service collection,
    /// else its site's, else Global. The most specific collection wins as a whole.
    pub fn effective_settings(&self, kind: &SettingsKind, pool: &PoolRow) -> CmdletResult<SettingsRow> {
        let sql = format!(
            "SELECT identity, {} FROM {} WHERE identity COLLATE NOCASE IN (?1, ?2, 'Global')
             ORDER BY CASE WHEN identity = ?1 COLLATE NOCASE THEN 0 WHEN identity = ?2 COLLATE NOCASE THEN 1 ELSE 2 END
             LIMIT 1",
            columns(kind),
            kind.table
        );
        let service = format!("Service:{}:{}", super::topology::PCHAT_ROLE, pool.fqdn);
        let site = format!("Site:{}", pool.site);
        self.db()
            .prepare_cached(&sql)?
            .query_row([service, site], |r| read_row(kind, r))
            .optional()?
            .ok_or_else(|| CmdletError::invalid_operation(format!("the store has no Global {}", kind.what)))
    }

    /// The policy governing a user: the per-user policy assigned to the user, else
    /// the policy of the site of the user's Registrar pool, else Global. One indexed query.
    /// `NotFound` when no SIP-enabled user has that SIP address (with or without `sip:`).
    pub fn effective_policy(&self, user_sip: &str) -> CmdletResult<PolicyRow> {
        let sip = user_sip.trim();
        let mut sip =
            if crate::values::text::starts_with_ci(sip, "sip:") { sip.to_string() } else { format!("sip:{sip}") };
        // The column folds A–Z only: an address with other letters is looked for by pchat's
        // fold (`principal_by_sip`) and queried as stored.
        if !sip.is_ascii()
            && let Some(stored) = self.principal_by_sip(&sip)?.and_then(|p| p.sip)
        {
            sip = stored;
        }
        self.db()
            .prepare_cached(
                "SELECT p.identity, p.description, p.enable_persistent_chat, p.tenant
                 FROM principals u
                 LEFT JOIN pools pl ON pl.fqdn = u.registrar_pool
                 JOIN policies p ON p.identity COLLATE NOCASE IN ('Tag:' || u.policy, 'Site:' || pl.site, 'Global')
                 WHERE u.sip = ?1 COLLATE NOCASE AND u.kind = 'User'
                 ORDER BY CASE WHEN p.identity = ('Tag:' || u.policy) COLLATE NOCASE THEN 0
                               WHEN p.identity = 'Global' COLLATE NOCASE THEN 2 ELSE 1 END
                 LIMIT 1",
            )?
            .query_row([&sip], |r| {
                Ok(PolicyRow {
                    identity: r.get(0)?,
                    description: r.get(1)?,
                    enable_persistent_chat: r.get(2)?,
                    tenant_id: r.get(3)?,
                })
            })
            .optional()?
            .ok_or_else(|| CmdletError::not_found(format!("no SIP-enabled user '{sip}'")).with_target(sip))
    }

    /// How many users hold a per-user policy (by tag name).
    pub fn policy_assignment_count(&self, tag: &str) -> db::Result<i64> {
        self.db()
            .prepare_cached("SELECT count(*) FROM principals WHERE policy = ?1 COLLATE NOCASE")?
            .query_row([tag], |r| r.get(0))
    }

    /// Clear a per-user policy from every user holding it (they fall back to site/global).
    pub fn clear_policy_assignments(&self, tag: &str) -> db::Result<()> {
        self.db()
            .prepare_cached("UPDATE principals SET policy = NULL WHERE policy = ?1 COLLATE NOCASE")?
            .execute([tag])
            .map(|_| ())
    }

    /// Assign (or with `None` unassign) a per-user policy tag to one principal.
    pub fn set_user_policy(&self, principal_id: i64, tag: Option<&str>) -> db::Result<()> {
        self.db()
            .prepare_cached("UPDATE principals SET policy = ?2 WHERE id = ?1")?
            .execute(params![principal_id, tag])
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::directory::PrincipalSpec;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        (dir, store)
    }

    #[test]
    fn global_rows_are_seeded_at_the_descriptor_defaults() {
        let (_d, s) = store();
        for kind in [&CONFIGURATION, &COMPLIANCE, &POLICY] {
            let global = s.settings_get(kind, "global").unwrap().expect("Global exists");
            assert_eq!(global, SettingsRow::defaults(kind, "Global"), "{}", kind.table);
        }
    }

    #[test]
    fn crud_and_standard_order() {
        let (_d, s) = store();
        for id in ["Tag:b", "Site:Oslo", "Tag:A", "Site:dublin"] {
            s.settings_insert(&POLICY, &SettingsRow::defaults(&POLICY, id)).unwrap();
        }
        let ids: Vec<String> = s.settings_all(&POLICY).unwrap().into_iter().map(|r| r.identity).collect();
        assert_eq!(ids, ["Global", "Site:dublin", "Site:Oslo", "Tag:A", "Tag:b"]);
        let mut row = s.settings_get(&POLICY, "TAG:a").unwrap().unwrap();
        row.values[1] = FieldValue::Bool(true);
        s.settings_update(&POLICY, &row).unwrap();
        assert_eq!(s.settings_get(&POLICY, "tag:A").unwrap().unwrap().values[1], FieldValue::Bool(true));
        s.settings_delete(&POLICY, "tag:a").unwrap();
        assert!(s.settings_get(&POLICY, "Tag:A").unwrap().is_none());
    }

    #[test]
    fn effective_policy_prefers_tag_then_site_then_global() {
        let (_d, s) = store();
        s.db()
            .execute_batch(
                "INSERT INTO sites(name, ord) VALUES ('Dublin', 0);
                 INSERT INTO pools(fqdn, site, ord) VALUES ('fe01.contoso.com', 'Dublin', 0);",
            )
            .unwrap();
        s.upsert_principals(&[PrincipalSpec {
            dn: "CN=Ann,DC=c".into(),
            kind: crate::catalog::enums::PrincipalKind::User,
            sip: Some("sip:ann@c.com".into()),
            registrar_pool: Some("FE01.contoso.com".into()),
            ..Default::default()
        }])
        .unwrap();
        assert_eq!(s.effective_policy("ann@c.com").unwrap().identity, "Global");
        s.settings_insert(&POLICY, &SettingsRow::defaults(&POLICY, "Site:Dublin")).unwrap();
        assert_eq!(s.effective_policy("sip:ann@c.com").unwrap().scope(), "Site");
        s.settings_insert(&POLICY, &SettingsRow::defaults(&POLICY, "Tag:Sales")).unwrap();
        let id: i64 = s.db().query_row("SELECT id FROM principals", (), |r| r.get(0)).unwrap();
        s.set_user_policy(id, Some("sales")).unwrap();
        assert_eq!(s.effective_policy("SIP:ANN@c.com").unwrap().identity, "Tag:Sales");
        assert_eq!(s.policy_assignment_count("Sales").unwrap(), 1);
        s.clear_policy_assignments("SALES").unwrap();
        assert_eq!(s.effective_policy("ann@c.com").unwrap().identity, "Site:Dublin");
        assert_eq!(s.effective_policy("nobody@c.com").unwrap_err().kind, crate::errors::ErrorKind::NotFound);
    }
}
