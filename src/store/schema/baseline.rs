//! The schema as the released history leaves it (central version 10, pool version 7), written
//! once in neutral DDL (tokens: `Dialect::render`). A PostgreSQL database starts here, in one
//! step; SQLite stores keep replaying the released history, and the tests below prove the two
//! give the same schema, so the baseline cannot drift from the history.
//!
//! Tables and columns are in the order the history leaves them (`ALTER TABLE … ADD COLUMN`
//! appends), so that a row copied column by column between the two lines up. Rows a released
//! step wrote (the pool file's identity) are not schema: on PostgreSQL the code that creates a
//! pool database writes its identity.

/// A schema's starting point on a new database: `ddl` brings it to `version`.
pub struct Baseline {
    pub version: usize,
    pub ddl: &'static str,
}

pub const CENTRAL: Baseline = Baseline {
    version: 10,
    ddl: r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sip_domains (name TEXT PRIMARY KEY {nocase}, ord {int} NOT NULL);
{nocase_key:sip_domains_name_nocase ON sip_domains({nocase:name})};
CREATE TABLE sites (name TEXT PRIMARY KEY {nocase}, ord {int} NOT NULL);
{nocase_key:sites_name_nocase ON sites({nocase:name})};
CREATE TABLE sql_instances (identity TEXT PRIMARY KEY {nocase}, file TEXT NOT NULL, file_id TEXT);
{nocase_key:sql_instances_identity_nocase ON sql_instances({nocase:identity})};
CREATE TABLE pools (
    fqdn TEXT PRIMARY KEY {nocase},
    site TEXT NOT NULL REFERENCES sites(name),
    database TEXT REFERENCES sql_instances(identity),
    backup_database TEXT REFERENCES sql_instances(identity),
    default_endpoint TEXT,
    state TEXT NOT NULL DEFAULT 'Normal',
    ord {int} NOT NULL,
    generation {int} NOT NULL DEFAULT 1,
    seq {int}
);
{nocase_key:pools_fqdn_nocase ON pools({nocase:fqdn})};
CREATE TABLE pool_servers (
    pool TEXT NOT NULL REFERENCES pools(fqdn) ON DELETE CASCADE,
    fqdn TEXT NOT NULL {nocase},
    active {int} NOT NULL,
    ord {int} NOT NULL,
    PRIMARY KEY (pool, fqdn)
);
{nocase_key:pool_servers_pool_fqdn_nocase ON pool_servers(pool, {nocase:fqdn})};
CREATE TABLE services (
    role TEXT NOT NULL,
    pool TEXT NOT NULL REFERENCES pools(fqdn) ON DELETE CASCADE,
    dependents {json} NOT NULL DEFAULT '[]',
    version {int},
    PRIMARY KEY (role, pool)
);
CREATE TABLE principals (
    id {id},
    dn TEXT NOT NULL UNIQUE {nocase},
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    display_name TEXT,
    sip TEXT UNIQUE {nocase},
    sam TEXT {nocase},
    upn TEXT {nocase},
    registrar_pool TEXT {nocase},
    policy TEXT {nocase},
    attrs {json} NOT NULL DEFAULT '{}',
    endpoint_pool TEXT {nocase},
    parent_dn TEXT {nocase}
);
{nocase_key:principals_dn_nocase ON principals({nocase:dn})};
{nocase_key:principals_sip_nocase ON principals({nocase:sip})};
CREATE INDEX principals_display ON principals({nocase:display_name});
CREATE INDEX principals_sam ON principals({nocase:sam});
CREATE INDEX principals_upn ON principals({nocase:upn});
CREATE INDEX principals_policy ON principals({nocase:policy});
CREATE INDEX principals_endpoint ON principals({nocase:endpoint_pool});
CREATE INDEX principals_order ON principals({nocase:coalesce(display_name, name)}, {nocase:dn});
CREATE TABLE group_members (
    group_id {int} NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    member_dn TEXT NOT NULL {nocase},
    PRIMARY KEY (group_id, member_dn)
);
{nocase_key:group_members_group_id_member_dn_nocase ON group_members(group_id, {nocase:member_dn})};
CREATE INDEX group_members_member ON group_members({nocase:member_dn});
CREATE TABLE roles (
    identity TEXT PRIMARY KEY {nocase},
    sid TEXT NOT NULL UNIQUE,
    cmdlets TEXT NOT NULL,
    user_scopes TEXT NOT NULL,
    is_standard {int} NOT NULL
);
{nocase_key:roles_identity_nocase ON roles({nocase:identity})};
CREATE TABLE policies (
    identity TEXT PRIMARY KEY {nocase},
    description TEXT,
    enable_persistent_chat {int} NOT NULL DEFAULT 0,
    tenant TEXT
);
{nocase_key:policies_identity_nocase ON policies({nocase:identity})};
CREATE TABLE configurations (
    identity TEXT PRIMARY KEY {nocase},
    default_chat_history {int} NOT NULL DEFAULT 30,
    max_file_size_kb {int} NOT NULL DEFAULT 20000,
    participant_update_limit {int} NOT NULL DEFAULT 75,
    room_management_url TEXT
);
{nocase_key:configurations_identity_nocase ON configurations({nocase:identity})};
CREATE TABLE compliance_configurations (
    identity TEXT PRIMARY KEY {nocase},
    adapter_name TEXT,
    adapter_output_directory TEXT,
    adapter_type TEXT,
    add_chat_room_details {int} NOT NULL DEFAULT 0,
    add_user_details {int} NOT NULL DEFAULT 0,
    create_file_attachments_manifest {int} NOT NULL DEFAULT 0,
    custom_configuration TEXT,
    one_chat_room_per_output_file {int} NOT NULL DEFAULT 0,
    run_interval_seconds {int} NOT NULL DEFAULT 900
);
{nocase_key:compliance_configurations_identity_nocase ON compliance_configurations({nocase:identity})};
CREATE TABLE health_test_users (
    pool TEXT PRIMARY KEY {nocase},
    user1 TEXT NOT NULL,
    user2 TEXT NOT NULL
);
{nocase_key:health_test_users_pool_nocase ON health_test_users({nocase:pool})};
CREATE TABLE runbook_allowed_folders (folder TEXT PRIMARY KEY);
CREATE TABLE audit (
    id {id},
    at {time} NOT NULL,
    cmdlet TEXT NOT NULL,
    target TEXT,
    actor TEXT,
    parameters TEXT,
    before TEXT,
    after TEXT,
    source TEXT,
    hash {bytes},
    packing {int} NOT NULL DEFAULT 0
);
CREATE INDEX audit_unsealed ON audit(id) WHERE hash IS NULL;
CREATE TABLE audit_head (id {id} CHECK (id = 1), count {int} NOT NULL, hash {bytes} NOT NULL);
CREATE TABLE atomic_files (
    unit TEXT NOT NULL,
    ord {int} NOT NULL,
    staged {bytes} NOT NULL,
    target {bytes} NOT NULL,
    committed_at TEXT NOT NULL,
    PRIMARY KEY (unit, ord)
);
"#,
};

pub const POOL: Baseline = Baseline {
    version: 7,
    ddl: r#"
CREATE TABLE categories (
    id {id},
    pool TEXT NOT NULL {nocase},
    name TEXT NOT NULL {nocase},
    description TEXT,
    invites {int} NOT NULL DEFAULT 0,
    file_upload {int} NOT NULL DEFAULT 0,
    chat_history {int} NOT NULL DEFAULT 1,
    UNIQUE (pool, name)
);
{nocase_key:categories_pool_name_nocase ON categories({nocase:pool}, {nocase:name})};
CREATE TABLE category_entries (
    category_id {int} NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
    list TEXT NOT NULL,
    entry TEXT NOT NULL {nocase},
    ord {int} NOT NULL,
    PRIMARY KEY (category_id, list, entry)
);
{nocase_key:category_entries_category_id_list_entry_nocase ON category_entries(category_id, list, {nocase:entry})};
CREATE TABLE addins (
    id {id},
    pool TEXT NOT NULL {nocase},
    name TEXT NOT NULL {nocase},
    url TEXT NOT NULL,
    UNIQUE (pool, name)
);
{nocase_key:addins_pool_name_nocase ON addins({nocase:pool}, {nocase:name})};
CREATE TABLE rooms (
    id {id},
    pool TEXT NOT NULL {nocase},
    name TEXT NOT NULL {nocase},
    description TEXT,
    category_id {int} NOT NULL REFERENCES categories(id),
    disabled {int} NOT NULL DEFAULT 0,
    invitations TEXT NOT NULL DEFAULT 'Inherit',
    privacy TEXT NOT NULL DEFAULT 'Closed',
    type TEXT NOT NULL DEFAULT 'Normal',
    addin_id {int} REFERENCES addins(id) ON DELETE SET NULL,
    content_bytes {int} NOT NULL DEFAULT 0,
    when_created {int},
    UNIQUE (pool, name)
);
{nocase_key:rooms_pool_name_nocase ON rooms({nocase:pool}, {nocase:name})};
CREATE INDEX rooms_category ON rooms(category_id);
CREATE INDEX rooms_addin ON rooms(addin_id) WHERE addin_id IS NOT NULL;
CREATE TABLE room_entries (
    room_id {int} NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    list TEXT NOT NULL,
    entry TEXT NOT NULL {nocase},
    ord {int} NOT NULL,
    PRIMARY KEY (room_id, list, entry)
);
{nocase_key:room_entries_room_id_list_entry_nocase ON room_entries(room_id, list, {nocase:entry})};
CREATE INDEX room_entries_entry ON room_entries({nocase:entry}, list);
CREATE TABLE messages (
    room_id {int} NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    posted_at {int} NOT NULL,
    id {int} NOT NULL,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL {nocase},
    text TEXT NOT NULL,
    replaced {int} NOT NULL DEFAULT 0,
    size_bytes {int} NOT NULL,
    PRIMARY KEY (room_id, posted_at, id)
) {without_rowid};
CREATE TABLE pool_sync (pool TEXT PRIMARY KEY {nocase}, seq {int} NOT NULL, generation {int} NOT NULL DEFAULT 1);
{nocase_key:pool_sync_pool_nocase ON pool_sync({nocase:pool})};
CREATE TABLE pool_file (id TEXT NOT NULL);
"#,
};

#[cfg(test)]
mod tests {
    use super::super::describe::{Description, describe, rendered, replayed};
    use super::super::{Database, baseline, later, released, sqlite_steps};
    use crate::store::dialect::Dialect;

    fn assert_same(db: Database, baseline: &Description, history: &Description) {
        let names = |d: &Description| d.tables.iter().map(|t| t.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(baseline), names(history), "{db:?}: tables of the baseline, then of the history");
        for (b, h) in baseline.tables.iter().zip(&history.tables) {
            let t = &b.name;
            assert_eq!((b.without_rowid, b.strict), (h.without_rowid, h.strict), "{db:?} {t}: WITHOUT ROWID, STRICT");
            assert_eq!(b.columns, h.columns, "{db:?} {t}: columns of the baseline, then of the history");
            assert_eq!(b.indexes, h.indexes, "{db:?} {t}: indexes of the baseline, then of the history");
            assert_eq!(b.foreign_keys, h.foreign_keys, "{db:?} {t}: foreign keys of the baseline, then of the history");
            assert_eq!(b.checks, h.checks, "{db:?} {t}: CHECKs of the baseline, then of the history");
            assert_eq!(b, h, "{db:?} {t}");
        }
        assert_eq!(baseline.others, history.others, "{db:?}: views and triggers");
    }

    /// The baseline is the schema the released history leaves: same tables (and their storage),
    /// columns (name, declared type, collation, not null, default, primary key), indexes (name,
    /// keys and their collations, uniqueness, partial WHERE), foreign keys and CHECKs. A step
    /// added to the history fails this: steps after the baseline are `schema::Step`s.
    #[test]
    fn the_baseline_is_the_released_history() {
        for db in [Database::Central, Database::Pool] {
            assert_eq!(
                released(db).len(),
                baseline(db).version,
                "{db:?}: the released SQLite history and the baseline must end at the same version; a new step \
                 is written once, as a schema::Step after the baseline"
            );
            assert_same(db, &describe(&rendered(baseline(db))), &describe(&replayed(released(db))));
        }
    }

    /// The comparison sees each kind of difference the baseline could have from the history
    /// (a description blind to one would let the baseline drift there).
    #[test]
    fn the_comparison_sees_every_kind_of_difference() {
        let rebuilt = |create: &str, table: &str| {
            format!("ALTER TABLE {table} RENAME TO old_{table}; {create}; DROP TABLE old_{table};")
        };
        let central = [
            "ALTER TABLE meta ADD COLUMN extra TEXT".to_string(),
            "CREATE INDEX meta_value ON meta(value)".into(),
            "DROP INDEX audit_unsealed; CREATE INDEX audit_unsealed ON audit(id) WHERE hash IS NOT NULL".into(),
            "DROP INDEX principals_display; CREATE INDEX principals_display ON principals(display_name)".into(),
            "DROP INDEX principals_order; CREATE INDEX principals_order ON principals(coalesce(name, display_name) COLLATE NOCASE, dn COLLATE NOCASE)".into(),
            "DROP INDEX principals_sam; CREATE UNIQUE INDEX principals_sam ON principals(sam)".into(),
            "DROP INDEX group_members_member; CREATE INDEX group_members_member ON group_members(member_dn DESC)".into(),
            "CREATE VIEW v AS SELECT 1".into(),
            rebuilt("CREATE TABLE sites (name TEXT PRIMARY KEY, ord INTEGER NOT NULL)", "sites"),
            rebuilt("CREATE TABLE sites (name TEXT PRIMARY KEY COLLATE NOCASE, ord INTEGER)", "sites"),
            rebuilt("CREATE TABLE sites (name TEXT PRIMARY KEY COLLATE NOCASE, ord INT NOT NULL)", "sites"),
            rebuilt("CREATE TABLE sites (ord INTEGER NOT NULL, name TEXT PRIMARY KEY COLLATE NOCASE)", "sites"),
            rebuilt("CREATE TABLE sites (name TEXT PRIMARY KEY COLLATE NOCASE, ord INTEGER NOT NULL DEFAULT 0)", "sites"),
            rebuilt("CREATE TABLE sites (name TEXT UNIQUE COLLATE NOCASE, ord INTEGER NOT NULL)", "sites"),
            rebuilt("CREATE TABLE sites (name TEXT PRIMARY KEY COLLATE NOCASE, ord INTEGER NOT NULL) STRICT", "sites"),
            rebuilt(
                "CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 2), count INTEGER NOT NULL, hash BLOB NOT NULL)",
                "audit_head",
            ),
            rebuilt(
                "CREATE TABLE pool_servers (pool TEXT NOT NULL REFERENCES pools(fqdn), fqdn TEXT NOT NULL COLLATE NOCASE, \
                 active INTEGER NOT NULL, ord INTEGER NOT NULL, PRIMARY KEY (pool, fqdn))",
                "pool_servers",
            ),
            rebuilt(
                "CREATE TABLE pool_servers (pool TEXT NOT NULL REFERENCES pools(fqdn) ON DELETE CASCADE, fqdn TEXT NOT NULL COLLATE NOCASE, \
                 active INTEGER NOT NULL, ord INTEGER NOT NULL, PRIMARY KEY (fqdn, pool))",
                "pool_servers",
            ),
        ];
        let pool = [rebuilt(
            "CREATE TABLE messages (room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE, posted_at INTEGER NOT NULL, \
             id INTEGER NOT NULL, message_id TEXT NOT NULL, sender TEXT NOT NULL COLLATE NOCASE, text TEXT NOT NULL, \
             replaced INTEGER NOT NULL DEFAULT 0, size_bytes INTEGER NOT NULL, PRIMARY KEY (room_id, posted_at, id))",
            "messages",
        )];
        for (db, changes) in [(Database::Central, &central[..]), (Database::Pool, &pool[..])] {
            let history = describe(&replayed(released(db)));
            for change in changes {
                let mut steps = released(db).to_vec();
                steps.push(change);
                assert_ne!(describe(&replayed(&steps)), history, "{db:?}: unseen: {change}");
            }
        }
    }

    #[test]
    fn a_step_for_one_dialect_is_nothing_in_the_other() {
        use super::super::Step;
        let render = |s: Step, d| s.render(d).unwrap();
        assert_eq!(render(Step::Both("x {int}"), Dialect::Sqlite).as_deref(), Some("x INTEGER"));
        assert_eq!(render(Step::Both("x {int}"), Dialect::Postgres).as_deref(), Some("x bigint"));
        assert_eq!(render(Step::SqliteOnly("x {int}"), Dialect::Sqlite).as_deref(), Some("x INTEGER"));
        assert_eq!(render(Step::SqliteOnly("x {int}"), Dialect::Postgres), None);
        assert_eq!(render(Step::PostgresOnly("x {int}"), Dialect::Postgres).as_deref(), Some("x bigint"));
        assert_eq!(render(Step::PostgresOnly("x {int}"), Dialect::Sqlite), None);
    }

    /// Every step renders in both dialects, leaving no token; SQLite applies the released
    /// history and then the later steps, numbered on from the baseline.
    #[test]
    fn every_step_renders_and_sqlite_applies_them_all() {
        for db in [Database::Central, Database::Pool] {
            for dialect in [Dialect::Sqlite, Dialect::Postgres] {
                let base = dialect.render(baseline(db).ddl).unwrap();
                let later: Vec<_> = later(db).iter().map(|s| s.render(dialect).unwrap()).collect();
                for sql in std::iter::once(&base).chain(later.iter().flatten()) {
                    assert!(!sql.contains("{int}") && !sql.contains("{nocase"), "{sql}");
                }
            }
            let steps = sqlite_steps(db);
            assert_eq!(steps.len(), baseline(db).version + later(db).len());
            assert_eq!(&steps[..released(db).len()], released(db));
        }
    }
}
