//! Numbered migrations, applied on open and tracked with `PRAGMA user_version` (as cargo does).
//! Never edit a released step.
//!
//! The released history below is SQLite's own text, frozen at the [`baseline`]: PostgreSQL
//! databases start from the baseline (the same schema in neutral DDL) instead of replaying it.
//! A new step is written once, as a [`Step`] in [`CENTRAL_LATER`] or [`POOL_LATER`], and takes
//! the same number in both dialects (docs/design/postgres-port.md, "One schema, one migration
//! history").

pub mod baseline;
#[cfg(test)]
pub(crate) mod describe;

use std::sync::LazyLock;

use super::dialect::Dialect;
pub use crate::catalog::descriptor::Database;

/// The central database: topology, directory, roles, scoped settings, endpoints, pool state, audit.
pub const CENTRAL: &[&str] = &[
    r#"
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE sip_domains (name TEXT PRIMARY KEY COLLATE NOCASE, ord INTEGER NOT NULL);
CREATE TABLE sites (name TEXT PRIMARY KEY COLLATE NOCASE, ord INTEGER NOT NULL);
CREATE TABLE sql_instances (identity TEXT PRIMARY KEY COLLATE NOCASE, file TEXT NOT NULL);
CREATE TABLE pools (
    fqdn TEXT PRIMARY KEY COLLATE NOCASE,
    site TEXT NOT NULL REFERENCES sites(name),
    database TEXT REFERENCES sql_instances(identity),
    backup_database TEXT REFERENCES sql_instances(identity),
    default_endpoint TEXT,
    state TEXT NOT NULL DEFAULT 'Normal',
    ord INTEGER NOT NULL
);
CREATE TABLE pool_servers (
    pool TEXT NOT NULL REFERENCES pools(fqdn) ON DELETE CASCADE,
    fqdn TEXT NOT NULL COLLATE NOCASE,
    active INTEGER NOT NULL,
    ord INTEGER NOT NULL,
    PRIMARY KEY (pool, fqdn)
);
CREATE TABLE services (
    role TEXT NOT NULL,
    pool TEXT NOT NULL REFERENCES pools(fqdn) ON DELETE CASCADE,
    dependents TEXT NOT NULL DEFAULT '[]',
    PRIMARY KEY (role, pool)
);
CREATE TABLE principals (
    id INTEGER PRIMARY KEY,
    dn TEXT NOT NULL UNIQUE COLLATE NOCASE,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    display_name TEXT,
    sip TEXT UNIQUE COLLATE NOCASE,
    sam TEXT COLLATE NOCASE,
    upn TEXT COLLATE NOCASE,
    registrar_pool TEXT COLLATE NOCASE,
    policy TEXT COLLATE NOCASE,
    attrs TEXT NOT NULL DEFAULT '{}',
    endpoint_pool TEXT COLLATE NOCASE,
    parent_dn TEXT COLLATE NOCASE
);
CREATE INDEX principals_display ON principals(display_name COLLATE NOCASE);
CREATE INDEX principals_sam ON principals(sam);
CREATE INDEX principals_upn ON principals(upn);
CREATE INDEX principals_parent ON principals(parent_dn);
CREATE INDEX principals_policy ON principals(policy);
CREATE INDEX principals_endpoint ON principals(endpoint_pool);
CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
    member_dn TEXT NOT NULL COLLATE NOCASE,
    PRIMARY KEY (group_id, member_dn)
);
CREATE INDEX group_members_member ON group_members(member_dn);
CREATE TABLE roles (
    identity TEXT PRIMARY KEY COLLATE NOCASE,
    sid TEXT NOT NULL UNIQUE,
    cmdlets TEXT NOT NULL,
    user_scopes TEXT NOT NULL,
    is_standard INTEGER NOT NULL
);
CREATE TABLE policies (
    identity TEXT PRIMARY KEY COLLATE NOCASE,
    description TEXT,
    enable_persistent_chat INTEGER NOT NULL DEFAULT 0,
    tenant TEXT
);
CREATE TABLE configurations (
    identity TEXT PRIMARY KEY COLLATE NOCASE,
    default_chat_history INTEGER NOT NULL DEFAULT 30,
    max_file_size_kb INTEGER NOT NULL DEFAULT 20000,
    participant_update_limit INTEGER NOT NULL DEFAULT 75,
    room_management_url TEXT
);
CREATE TABLE compliance_configurations (
    identity TEXT PRIMARY KEY COLLATE NOCASE,
    adapter_name TEXT,
    adapter_output_directory TEXT,
    adapter_type TEXT,
    add_chat_room_details INTEGER NOT NULL DEFAULT 0,
    add_user_details INTEGER NOT NULL DEFAULT 0,
    create_file_attachments_manifest INTEGER NOT NULL DEFAULT 0,
    custom_configuration TEXT,
    one_chat_room_per_output_file INTEGER NOT NULL DEFAULT 0,
    run_interval_seconds INTEGER NOT NULL DEFAULT 900
);
CREATE TABLE audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    cmdlet TEXT NOT NULL,
    target TEXT
);
"#,
    r#"
-- The standard output order of principals, so a first page needs no sort.
-- Subtrees are matched on the DN itself; the parent index only slowed imports down.
DROP INDEX principals_parent;
CREATE INDEX principals_order ON principals(coalesce(display_name, name) COLLATE NOCASE, dn COLLATE NOCASE);
"#,
    r#"
-- The health-monitoring test users of a pool (Test-CsPersistentChatMessage -Setup). No foreign key
-- to pools: publishing a topology rewrites that table, and the stored users must survive it.
CREATE TABLE health_test_users (
    pool TEXT PRIMARY KEY COLLATE NOCASE,
    user1 TEXT NOT NULL,
    user2 TEXT NOT NULL
);
"#,
    // Fail-over bookkeeping: the identity of the file pchat created for each SQL instance, and per
    // pool its generation (advanced by fail-over, fail-back and repair) and the number of changes
    // committed to its data. A copy is used only when it is that file and holds exactly that
    // generation and change. NULL: recorded from the files on first open (an older store).
    r#"
ALTER TABLE sql_instances ADD COLUMN file_id TEXT;
ALTER TABLE pools ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
ALTER TABLE pools ADD COLUMN seq INTEGER;
"#,
    r#"
-- Folders runbooks may open files in, besides their own and the store's (resolved when stored).
CREATE TABLE IF NOT EXISTS runbook_allowed_folders (folder TEXT PRIMARY KEY);
"#,
    // The audit record worth reading: who, with what parameters, from where, what changed; each
    // record chained to the one before by its hash, and the chain's head kept in a row of its
    // own (see store/audit.rs). Older records are sealed into the chain on open.
    r#"
ALTER TABLE audit ADD COLUMN actor TEXT;
ALTER TABLE audit ADD COLUMN parameters TEXT;
ALTER TABLE audit ADD COLUMN before TEXT;
ALTER TABLE audit ADD COLUMN after TEXT;
ALTER TABLE audit ADD COLUMN source TEXT;
ALTER TABLE audit ADD COLUMN hash TEXT;
CREATE TABLE audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL, hash TEXT NOT NULL);
"#,
    // The roll-forward journal of atomic runs (see store/unit.rs): the files a unit will rename
    // into place, written in the unit's own transaction so they commit with its changes, and
    // deleted once each is in place. Paths are the bytes of the file names.
    r#"
CREATE TABLE atomic_files (
    unit TEXT NOT NULL,
    ord INTEGER NOT NULL,
    staged BLOB NOT NULL,
    target BLOB NOT NULL,
    committed_at TEXT NOT NULL,
    PRIMARY KEY (unit, ord)
);
"#,
    // Every open asks whether records from before the chain wait to be sealed; without this
    // (empty) partial index that question scans the whole trail.
    r#"
CREATE INDEX audit_unsealed ON audit(id) WHERE hash IS NULL;
"#,
    // The service version the topology gives (Get-CsService's Version: 6 Lync Server 2013, 7 Skype
    // for Business Server 2015). NULL: the topology gave none (and every service published before),
    // shown as $Null rather than a guessed version.
    r#"
ALTER TABLE services ADD COLUMN version INTEGER;
"#,
    // Compact audit records (see store/audit_packing.rs): hashes as their 32 bytes, and a
    // `packing` column saying which fields are stored in a shorter form that rebuilds the text
    // written. `at` has no declared type, so that it keeps milliseconds as integers and older
    // times as text. Records already written keep their fields as written (packing 0); a hash
    // that is not 64 lowercase hexadecimal digits (an edited row) is kept as it is and still
    // fails the chain.
    r#"
CREATE TABLE audit_compact (
    id INTEGER PRIMARY KEY,
    at NOT NULL,
    cmdlet TEXT NOT NULL,
    target TEXT,
    actor TEXT,
    parameters TEXT,
    before TEXT,
    after TEXT,
    source TEXT,
    hash BLOB,
    packing INTEGER NOT NULL DEFAULT 0
);
INSERT INTO audit_compact(id, at, cmdlet, target, actor, parameters, before, after, source, hash)
    SELECT id, at, cmdlet, target, actor, parameters, before, after, source,
           CASE WHEN length(hash) = 64 AND hash = lower(hash) THEN coalesce(unhex(hash), hash) ELSE hash END
    FROM audit;
DROP TABLE audit;
ALTER TABLE audit_compact RENAME TO audit;
CREATE INDEX audit_unsealed ON audit(id) WHERE hash IS NULL;
CREATE TABLE audit_head_compact (id INTEGER PRIMARY KEY CHECK (id = 1), count INTEGER NOT NULL, hash BLOB NOT NULL);
INSERT INTO audit_head_compact(id, count, hash)
    SELECT id, count, CASE WHEN length(hash) = 64 AND hash = lower(hash) THEN coalesce(unhex(hash), hash) ELSE hash END
    FROM audit_head;
DROP TABLE audit_head;
ALTER TABLE audit_head_compact RENAME TO audit_head;
"#,
];

/// A pool database (one per SQL instance of the topology): the chat data of the pools it serves.
pub const POOL: &[&str] = &[
    r#"
CREATE TABLE categories (
    id INTEGER PRIMARY KEY,
    pool TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    description TEXT,
    invites INTEGER NOT NULL DEFAULT 0,
    file_upload INTEGER NOT NULL DEFAULT 0,
    chat_history INTEGER NOT NULL DEFAULT 1,
    UNIQUE (pool, name)
);
CREATE TABLE category_entries (
    category_id INTEGER NOT NULL REFERENCES categories(id) ON DELETE CASCADE,
    list TEXT NOT NULL,
    entry TEXT NOT NULL COLLATE NOCASE,
    ord INTEGER NOT NULL,
    PRIMARY KEY (category_id, list, entry)
);
CREATE TABLE addins (
    id INTEGER PRIMARY KEY,
    pool TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    url TEXT NOT NULL,
    UNIQUE (pool, name)
);
CREATE TABLE rooms (
    id INTEGER PRIMARY KEY,
    pool TEXT NOT NULL COLLATE NOCASE,
    name TEXT NOT NULL COLLATE NOCASE,
    description TEXT,
    category_id INTEGER NOT NULL REFERENCES categories(id),
    disabled INTEGER NOT NULL DEFAULT 0,
    invitations TEXT NOT NULL DEFAULT 'Inherit',
    privacy TEXT NOT NULL DEFAULT 'Closed',
    type TEXT NOT NULL DEFAULT 'Normal',
    addin_id INTEGER REFERENCES addins(id) ON DELETE SET NULL,
    content_bytes INTEGER NOT NULL DEFAULT 0,
    UNIQUE (pool, name)
);
CREATE INDEX rooms_category ON rooms(category_id);
CREATE TABLE room_entries (
    room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    list TEXT NOT NULL,
    entry TEXT NOT NULL COLLATE NOCASE,
    ord INTEGER NOT NULL,
    PRIMARY KEY (room_id, list, entry)
);
CREATE INDEX room_entries_entry ON room_entries(entry, list);
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    message_id TEXT NOT NULL UNIQUE,
    sender TEXT NOT NULL COLLATE NOCASE,
    posted_at INTEGER NOT NULL,
    text TEXT NOT NULL,
    replaced INTEGER NOT NULL DEFAULT 0,
    size_bytes INTEGER NOT NULL
);
CREATE INDEX messages_room_time ON messages(room_id, posted_at);
"#,
    r#"
-- One counter per pool, bumped by every transaction that changes the pool's data. Primary and
-- backup hold equal counters while they hold the same data (fail-over, crash repair).
CREATE TABLE pool_sync (pool TEXT PRIMARY KEY COLLATE NOCASE, seq INTEGER NOT NULL);
"#,
    // Removing an add-in clears the rooms that use it; finding them must not scan every room.
    r#"
CREATE INDEX rooms_addin ON rooms(addin_id);
"#,
    // Most rooms have no add-in: leaving them out of the index spares every room insert a page
    // write in each copy. `addin_id = ?` lookups (and the foreign key's) still use it.
    r#"
DROP INDEX rooms_addin;
CREATE INDEX rooms_addin ON rooms(addin_id) WHERE addin_id IS NOT NULL;
"#,
    // Messages clustered by room and time: a room's history is one contiguous key range, so
    // reading the last day, exporting, and clearing a million messages walk neighbouring pages
    // of a single B-tree. The global MessageId index went with it: nothing looks a message up by
    // MessageId alone, and import recognises a message it already holds by room, time and
    // MessageId through this key.
    r#"
CREATE TABLE messages_by_room (
    room_id INTEGER NOT NULL REFERENCES rooms(id) ON DELETE CASCADE,
    posted_at INTEGER NOT NULL,
    id INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL COLLATE NOCASE,
    text TEXT NOT NULL,
    replaced INTEGER NOT NULL DEFAULT 0,
    size_bytes INTEGER NOT NULL,
    PRIMARY KEY (room_id, posted_at, id)
) WITHOUT ROWID;
INSERT INTO messages_by_room(room_id, posted_at, id, message_id, sender, text, replaced, size_bytes)
    SELECT room_id, posted_at, id, message_id, sender, text, replaced, size_bytes FROM messages;
DROP TABLE messages;
ALTER TABLE messages_by_room RENAME TO messages;
"#,
    // The identity of this file, written once when pchat creates it: a file made anew by anyone
    // else, or a copy of another instance's file, is not the file the store recorded. Each pool's
    // counter now also carries the pool's generation it was written in.
    r#"
CREATE TABLE pool_file (id TEXT NOT NULL);
INSERT INTO pool_file(id) VALUES (lower(hex(randomblob(16))));
ALTER TABLE pool_sync ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
"#,
    // When each room was created (microseconds since the Unix epoch, UTC). Rooms created before
    // pchat kept it have none: their WhenCreated is $Null rather than a made-up time.
    r#"
ALTER TABLE rooms ADD COLUMN when_created INTEGER;
"#,
];

/// A step after the baseline.
pub enum Step {
    /// Neutral DDL (see `Dialect::render`), run in both dialects.
    Both(&'static str),
    /// Run on SQLite only (say, a table rebuild for SQLite's storage); on PostgreSQL the version
    /// moves past it and nothing runs.
    SqliteOnly(&'static str),
    /// Run on PostgreSQL only; on SQLite the version moves past it and nothing runs.
    PostgresOnly(&'static str),
}

impl Step {
    /// The step's neutral text, whichever dialect runs it.
    pub fn neutral(&self) -> &'static str {
        match *self {
            Step::Both(sql) | Step::SqliteOnly(sql) | Step::PostgresOnly(sql) => sql,
        }
    }

    /// The step's SQL in `dialect`; None when it has nothing to do there.
    pub fn render(&self, dialect: Dialect) -> anyhow::Result<Option<String>> {
        let (sql, only) = match *self {
            Step::Both(sql) => (sql, None),
            Step::SqliteOnly(sql) => (sql, Some(Dialect::Sqlite)),
            Step::PostgresOnly(sql) => (sql, Some(Dialect::Postgres)),
        };
        match only {
            Some(d) if d != dialect => Ok(None),
            _ => dialect.render(sql).map(Some),
        }
    }
}

/// Central steps after the baseline: the first is version `baseline::CENTRAL.version + 1`.
pub const CENTRAL_LATER: &[Step] = &[
    // The store's own id, written into every pool file it creates (`pool_files::Owner`). Given
    // on open, not by a cmdlet's transaction: a file created by a publish that then failed still
    // names a store id this store keeps. PostgreSQL stores keep their pools in the database and
    // get an id when they first need one (`Store::pool_file_owner`).
    Step::SqliteOnly("INSERT OR IGNORE INTO meta(key, value) VALUES ('store_id', lower(hex(randomblob(16))));"),
    // PostgreSQL's counterpart of SQLite's `PRAGMA data_version` and of the per-connection
    // temporary-trigger counters (`Store::cache_key`, `Store::access_key`; design notes §1): one
    // row whose value moves with every statement that writes a table the store's caches read
    // (`pools()` and the SQL instances: `topology::watch_topology`; roles: access.rs), in the
    // writing transaction, so that this session sees its own uncommitted writes and others see
    // theirs once committed. The value comes from a sequence, which a rollback does not take
    // back: a key is never used for two different states of those tables. Statement-level
    // triggers: one bump per statement, not per row of a directory import. `pools` is watched
    // on the columns `pools()` reads only (`topology::WATCHED_POOL_COLUMNS`): the pool's mark
    // moves with every change to its data and must not serialize writers on this row.
    Step::PostgresOnly(STORE_EPOCH),
    // SQLite's json_valid for PostgreSQL (`Dialect::json`): JSON columns are text that may be
    // invalid (written by older releases or by hand), and a cast to jsonb fails on such text
    // where SQLite's test answers false. STRICT: NULL for NULL, as json_valid.
    Step::PostgresOnly(
        "CREATE FUNCTION pchat_json_valid(t text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    PERFORM CAST(t AS jsonb);
    RETURN true;
EXCEPTION WHEN data_exception THEN
    RETURN false;
END
$$;",
    ),
    // A group's members in the order the directory gave them, which SQLite kept as the rowid
    // order and PostgreSQL has no counterpart for (`Store::group_members`). The index serves
    // that read from the index alone, in order.
    Step::Both(
        "ALTER TABLE group_members ADD COLUMN ord {int} NOT NULL DEFAULT 0;
CREATE INDEX group_members_order ON group_members(group_id, ord, {nocase:member_dn});",
    ),
    // Rows written before keep their order: SQLite gave them rising rowids, in the order
    // added. (A PostgreSQL store starts after the column existed.)
    Step::SqliteOnly("UPDATE group_members SET ord = rowid;"),
    // Stored references to a NOCASE key in their key's spelling (`CANONICAL_REFERENCES`): the
    // joins on them compare exactly on PostgreSQL, and written so since this step; rows written
    // before take the spelling of the row they name (a reference naming no row keeps its own).
    Step::Both(CANONICAL_SPELLING),
    // Step 17: row ids on PostgreSQL (`Store::new_id`), handed out by one sequence to every
    // process writing to the store, a block of 1,024 (`ID_BLOCK`) per `nextval`: processes
    // writing at once never pick one id. It starts above every id a clock gave before (now, one
    // second ahead, in the clock ids' unit: microseconds << 10) and above the greatest `id`
    // already stored, so ids keep rising (new rows at the end of their tables). copy-store moves
    // it past the ids it copies.
    Step::PostgresOnly(ROW_IDS),
    // Step 18: where the two-phase commit records its decisions (design notes §3). Created on
    // open before, outside the migration's lock, so processes opening a new store at once raced
    // on the catalog ("duplicate key … pg_type_typname_nsp_index"); `IF NOT EXISTS` keeps the
    // tables those opens made.
    Step::PostgresOnly(crate::store::pg::twophase::DECISIONS_DDL),
    // Step 19: which database each pool `Connection` was when pchat made or first recognised
    // it (`pg::identity`): the random id of its `pool_file` row, its oid and, where the role may
    // read it, the cluster's system identifier. A database dropped and re-created under the
    // name, or a server restored from another cluster, does not match. SQLite records a file's
    // id in `sql_instances.file_id`; kept apart here so that a Publish that keeps a
    // `Connection` keeps its record, and copy-store's source (SQLite) has no such table.
    Step::PostgresOnly(crate::store::pg::identity::RECORDS_DDL),
    // Step 20: who may finish an atomic unit's files (`Store::finish_units`): on PostgreSQL the
    // host and local state folder that holds its unit file (`files::unit_home`), since the
    // processes opening one store may run on several machines; NULL on SQLite, where the unit
    // file is beside the store.
    Step::Both("ALTER TABLE atomic_files ADD COLUMN owner TEXT;"),
];

/// References to a NOCASE key that the store keeps in the key's canonical spelling, as the
/// referenced row spells it: `(table.column, table.key)`. SQLite compares them with the key's
/// NOCASE collation, PostgreSQL exactly (a foreign key too); stored canonical, the exact join
/// answers the same on both and keeps its plain key index. Written so on every path that
/// stores them or the row they name (design notes §5 step 4):
///
/// * `services.pool`: a published topology writes each service with its pool's `fqdn`, in the
///   same statement list that writes the pool (`Store::replace_topology`).
/// * `principals.registrar_pool`: a directory import writes the pool as `pools` spells it (the
///   import accepts only a Registrar pool of the topology); a topology published with a pool
///   spelt otherwise rewrites the users' references to it.
/// * `group_members.member_dn`: written as the principal's `dn` when that principal exists;
///   a member whose principal comes later (a group imported before its members, or a member
///   outside the directory) keeps the spelling given until a principal with that DN is
///   written, which rewrites the references to it (`Store::write_principals`). A
///   principal's `dn` never changes spelling once written (the import's upsert keeps it); an
///   endpoint's is new (a fresh GUID), so nothing names it before.
///
/// A reference naming no row keeps its spelling; the exact join finds nothing for it, as the
/// NOCASE one does.
#[cfg_attr(not(test), expect(dead_code, reason = "the invariant the writes keep: the NOCASE check and tests read it"))]
pub const CANONICAL_REFERENCES: &[(&str, &str)] = &[
    ("services.pool", "pools.fqdn"),
    ("principals.registrar_pool", "pools.fqdn"),
    ("group_members.member_dn", "principals.dn"),
];

/// See the `CENTRAL_LATER` step that runs it: each of [`CANONICAL_REFERENCES`] rewritten where
/// it names a row in another spelling.
pub const CANONICAL_SPELLING: &str = "UPDATE services SET pool = (SELECT p.fqdn FROM pools p WHERE {nocase:p.fqdn} = {nocase:services.pool})
    WHERE EXISTS (SELECT 1 FROM pools p WHERE {nocase:p.fqdn} = {nocase:services.pool} AND p.fqdn <> services.pool {binary});
UPDATE principals SET registrar_pool = (SELECT p.fqdn FROM pools p WHERE {nocase:p.fqdn} = {nocase:principals.registrar_pool})
    WHERE EXISTS (SELECT 1 FROM pools p
        WHERE {nocase:p.fqdn} = {nocase:principals.registrar_pool} AND p.fqdn <> principals.registrar_pool {binary});
UPDATE group_members SET member_dn = (SELECT p.dn FROM principals p WHERE {nocase:p.dn} = {nocase:group_members.member_dn})
    WHERE EXISTS (SELECT 1 FROM principals p
        WHERE {nocase:p.dn} = {nocase:group_members.member_dn} AND p.dn <> group_members.member_dn {binary});";

/// See the `CENTRAL_LATER` step that runs it.
pub const ROW_IDS: &str = "CREATE SEQUENCE pchat_row_ids INCREMENT BY 1024 MINVALUE 1;
DO $$
DECLARE
    top bigint := (floor(extract(epoch FROM clock_timestamp()) * 1000000)::bigint + 1000000) * 1024;
    t record;
    m bigint;
BEGIN
    FOR t IN SELECT table_name FROM information_schema.columns
              WHERE table_schema = current_schema() AND column_name = 'id' AND data_type = 'bigint'
    LOOP
        EXECUTE format('SELECT max(id) FROM %I', t.table_name) INTO m;
        top := greatest(top, coalesce(m, 0));
    END LOOP;
    PERFORM setval('pchat_row_ids', top);
END
$$;";

/// How many ids one `nextval('pchat_row_ids')` hands to a process (the sequence's increment).
pub const ID_BLOCK: i64 = 1024;

/// See the `CENTRAL_LATER` step that runs it.
pub const STORE_EPOCH: &str = "CREATE SEQUENCE store_epoch_seq;
CREATE TABLE store_epoch (id integer PRIMARY KEY CHECK (id = 1), n bigint NOT NULL);
INSERT INTO store_epoch(id, n) VALUES (1, nextval('store_epoch_seq'));
CREATE FUNCTION store_epoch_bump() RETURNS trigger LANGUAGE plpgsql AS
    'BEGIN UPDATE store_epoch SET n = nextval(''store_epoch_seq'') WHERE id = 1; RETURN NULL; END';
CREATE TRIGGER store_epoch_pools AFTER INSERT OR DELETE OR TRUNCATE
    OR UPDATE OF fqdn, site, database, backup_database, default_endpoint, state, ord
    ON pools FOR EACH STATEMENT EXECUTE FUNCTION store_epoch_bump();
CREATE TRIGGER store_epoch_pool_servers AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON pool_servers FOR EACH STATEMENT EXECUTE FUNCTION store_epoch_bump();
CREATE TRIGGER store_epoch_services AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON services FOR EACH STATEMENT EXECUTE FUNCTION store_epoch_bump();
CREATE TRIGGER store_epoch_sql_instances AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON sql_instances FOR EACH STATEMENT EXECUTE FUNCTION store_epoch_bump();
CREATE TRIGGER store_epoch_principals AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON principals FOR EACH STATEMENT EXECUTE FUNCTION store_epoch_bump();
CREATE TRIGGER store_epoch_group_members AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON group_members FOR EACH STATEMENT EXECUTE FUNCTION store_epoch_bump();
CREATE TRIGGER store_epoch_roles AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON roles FOR EACH STATEMENT EXECUTE FUNCTION store_epoch_bump();";

/// Pool steps after the baseline: the first is version `baseline::POOL.version + 1`.
pub const POOL_LATER: &[Step] = &[
    // Which store a pool file belongs to: the random id of the central database that created it
    // (`meta` key `store_id`) and where that database was then (for messages only). Two stores in
    // one folder name their files alike; a file of another store is never served or adopted.
    // Files from before have none: no store adopts them (see `pool_files::PoolFile`).
    Step::Both("ALTER TABLE pool_file ADD COLUMN store TEXT;\nALTER TABLE pool_file ADD COLUMN store_db TEXT;"),
];

/// The released SQLite history of a schema.
pub fn released(db: Database) -> &'static [&'static str] {
    match db {
        Database::Central => CENTRAL,
        Database::Pool => POOL,
    }
}

pub fn baseline(db: Database) -> &'static baseline::Baseline {
    match db {
        Database::Central => &baseline::CENTRAL,
        Database::Pool => &baseline::POOL,
    }
}

pub fn later(db: Database) -> &'static [Step] {
    match db {
        Database::Central => CENTRAL_LATER,
        Database::Pool => POOL_LATER,
    }
}

/// Every step a SQLite database of `db` applies, step `n` at index `n - 1`: the released
/// history, then the later steps in SQLite's spelling (a PostgreSQL-only step as an empty
/// statement, so that the numbers stay the same).
pub fn sqlite_steps(db: Database) -> &'static [&'static str] {
    const DATABASES: [Database; 2] = [Database::Central, Database::Pool];
    static LATER: LazyLock<[Vec<String>; 2]> = LazyLock::new(|| {
        DATABASES.map(|db| {
            later(db)
                .iter()
                // The steps are this program's text; a unit test renders every one.
                .map(|s| s.render(Dialect::Sqlite).unwrap_or_else(|e| panic!("{e}")).unwrap_or_default())
                .collect()
        })
    });
    static STEPS: LazyLock<[Vec<&'static str>; 2]> = LazyLock::new(|| {
        [0, 1].map(|i| released(DATABASES[i]).iter().copied().chain(LATER[i].iter().map(String::as_str)).collect())
    });
    &STEPS[match db {
        Database::Central => 0,
        Database::Pool => 1,
    }]
}
