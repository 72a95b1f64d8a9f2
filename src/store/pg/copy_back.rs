//! `pchat copy-store` out of PostgreSQL (#18 step 6, "and back"; docs/design/postgres-port.md
//! §5): a PostgreSQL store (the central database and every SQL instance's pool database) copied
//! into a new SQLite store, then verified per table with the checksum of the other direction
//! (`copy::Sum`).
//!
//! * **The source is only read.** Raw sessions (`Db::open_postgres`), never `Store::open_postgres`
//!   (which migrates, seeds and stamps a store id), each in one REPEATABLE READ READ ONLY
//!   transaction held from the first read to the end of the verification. A database with a
//!   prepared pchat transaction in doubt is refused: its rows are not settled yet. The snapshots
//!   are all of one moment, writers held off while they begin (`copy_gate`), and the copy's pool
//!   marks are checked against the source's at the end (`copy_consistency`).
//! * **The target is new.** The central file must not exist, nor any pool file the copy would
//!   place beside it (named as Publish names them, `pool_files::default_name`). Everything is built
//!   in a staging folder beside the target: pool files made as Publish makes them
//!   (`pool_files::create`: identity and owning store), the central one migrated to this pchat's
//!   SQLite schema; rows loaded and verified; then the pool files renamed into place and the
//!   central file last (`files::journal::finish`). A failure before that leaves no central file,
//!   so nothing a later `pchat --db` opens as a store; pool files already placed are removed.
//! * **What differs on purpose.** The copy is another store: its own store id (`meta`), its
//!   own pool file identities (`sql_instances.file_id`), and files instead of connections
//!   (`sql_instances.file`). The checksum of the source side is taken with those rewritten.
//!   PostgreSQL's own tables (`copy::NOT_DATA`: the schema version, the store epoch, the
//!   two-phase decisions, the pool database identities) are not copied.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, anyhow, bail};

use super::copy::{Sum, Table, TableSum, Targets, tables, target_sum};
use super::copy_consistency as consistency;
use super::copy_gate::Gate;
use super::shown_url;
use crate::store::db::{Begin, Db, Value, params_from_iter};
use crate::store::dialect;
use crate::store::pool_files::{self, Owner};
use crate::store::schema::{self, Database};

/// One database of the source and the SQLite file it becomes.
struct Pair {
    /// The SQL instance (None: the central database).
    instance: Option<String>,
    source: Db,
    source_shown: String,
    source_url: String,
    /// Where the file is built, and where it is placed.
    staged: PathBuf,
    placed: PathBuf,
    tables: Vec<Table>,
}

/// What the copy changes in the rows it copies (see the module notes).
struct Rewrite {
    store_id: String,
    /// Lower-case identity → (file name, file id).
    files: HashMap<String, (String, String)>,
}

/// Copy the PostgreSQL store whose central database is `url` into a new SQLite store at `path`;
/// the verified tables of the new files, and the files (central; pool file by SQL instance).
pub fn copy_to_sqlite(url: &str, path: &Path) -> anyhow::Result<(Vec<TableSum>, Targets)> {
    // Stopped by a signal anywhere (a statement it cancelled included): said as a stop.
    copy_into(url, path).map_err(|e| match crate::interrupt::requested() {
        true => anyhow!(
            "{}; nothing was copied: no file was left at {} or beside it, and the source is untouched{}",
            crate::interrupt::describe(""),
            path.display(),
            super::copy::stop_cause(&format!("{e:#}"))
        ),
        false => e,
    })
}

fn copy_into(url: &str, path: &Path) -> anyhow::Result<(Vec<TableSum>, Targets)> {
    let shown = path.display().to_string();
    if std::fs::symlink_metadata(path).is_ok() {
        // A copy killed after placing its central file left only its staging folder.
        Staging::clear_leftovers(path)?;
        bail!(
            "{shown} already exists: copy-store makes a new SQLite store and never writes over a file; give a path that does not exist (nothing was copied)"
        );
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf();
    let name = path.file_name().ok_or_else(|| anyhow!("{shown} names no file"))?.to_string_lossy().into_owned();
    let mut pairs = open_sources(url)?;
    // What an interrupted copy into `path` left goes first: its pool files are not "existing".
    let staging = Staging::take(path)?;
    let command = format!(
        "pchat copy-store --from {} --to {}",
        super::copy_mark::shell_quoted(&shown_url(url)),
        super::copy_mark::shell_quoted(
            &std::fs::canonicalize(&dir).unwrap_or(dir.clone()).join(&name).display().to_string()
        )
    );
    if let Err(e) = staging.record("command", &command).and_then(|()| name_pool_files(&mut pairs, &dir, &name, path)) {
        staging.remove();
        return Err(e);
    }
    crate::fault::point("copy-back:staged");
    let result = build(&mut pairs, &staging, path, &name)
        .and_then(|sums| consistency::check(url, &sources(&pairs), &pairs_staged(&pairs)).map(|()| sums))
        .and_then(|sums| {
            // The last point a signal stops the copy: placing takes moments.
            super::copy::stop_if_asked()?;
            Ok(sums)
        });
    let result = result.and_then(|sums| place(&pairs, &staging).map(|()| sums));
    crate::fault::point("copy-back:placed");
    staging.remove();
    Ok((result?, files(&pairs)))
}

/// The one folder a copy back builds its files in, `.<name>.copy` beside the target, locked
/// (`flock` on its `lock` file) while the copy runs. A copy that was killed leaves it, with the
/// copy's store id (`store-id`) and, once it started placing files, their list (`placing`): the
/// next copy-store into the same target removes it and the pool files that copy placed (only
/// those naming its store id, and only while no central file is there), saying so; until then
/// opening the target as a store refuses, naming them (`leftover`). A kill never leaves a
/// half-written file under a target's name: files are renamed into place whole.
struct Staging {
    dir: PathBuf,
    /// Held open: the lock lasts as long as the copy.
    _lock: std::fs::File,
}

/// The staging folder of a copy back into `path`.
fn staging_dir(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    folder_of(path).join(format!(".{name}.copy"))
}

fn folder_of(path: &Path) -> PathBuf {
    path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).to_path_buf()
}

/// Folders an older pchat's copy back staged in (`.<name>.copy-<12 hex digits>`), found beside
/// `path`.
fn older_staging(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let prefix = format!(".{name}.copy-");
    let Ok(entries) = std::fs::read_dir(folder_of(path)) else { return Vec::new() };
    let mut found: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            let n = e.file_name().to_string_lossy().into_owned();
            n.strip_prefix(&prefix).is_some_and(|id| id.len() == 12 && id.chars().all(|c| c.is_ascii_hexdigit()))
        })
        .map(|e| e.path())
        .collect();
    found.sort();
    found
}

/// What an interrupted copy back into `path` left, when `path` does not exist: why opening it as
/// a store is refused (`Store::open`), with what to do. None when nothing was left.
pub fn leftover(path: &Path) -> Option<String> {
    if std::fs::symlink_metadata(path).is_ok() {
        return None;
    }
    let staging = staging_dir(path);
    let mut found: Vec<PathBuf> = older_staging(path);
    if std::fs::symlink_metadata(&staging).is_ok() {
        found.insert(0, staging.clone());
        found.extend(placed_pool_files(&staging, path));
    }
    if found.is_empty() {
        return None;
    }
    let shown: Vec<String> = found.iter().map(|p| p.display().to_string()).collect();
    let command = std::fs::read_to_string(staging.join("command")).unwrap_or_else(|_| {
        format!(
            "pchat copy-store --from <central URL> --to {}",
            super::copy_mark::shell_quoted(&path.display().to_string())
        )
    });
    Some(format!(
        "there is no store at {} yet: a copy-store into it was interrupted (killed) before it finished, or is running now, and left {}; nothing was read or written. Run that copy-store again, which removes them first:\n  {command}\nor remove them yourself: rm -r {}",
        path.display(),
        shown.join(", "),
        shown.iter().map(|s| super::copy_mark::shell_quoted(s)).collect::<Vec<_>>().join(" ")
    ))
}

/// The pool files the interrupted copy staged in `staging` placed beside `path` (its list names
/// them, and each names that copy's store).
fn placed_pool_files(staging: &Path, path: &Path) -> Vec<PathBuf> {
    let Ok(store_id) = std::fs::read_to_string(staging.join("store-id")) else { return Vec::new() };
    let Ok(list) = std::fs::read_to_string(staging.join("placing")) else { return Vec::new() };
    list.lines()
        .map(PathBuf::from)
        .filter(|p| p != path)
        .filter(|p| pool_files::inspect(p).ok().and_then(|f| f.owner).is_some_and(|o| o.id == store_id.trim()))
        .collect()
}

impl Staging {
    /// Take the staging folder of a copy into `path`: refused while another copy-store holds
    /// it; what an interrupted one left there is removed first, saying so.
    fn take(path: &Path) -> anyhow::Result<Staging> {
        let dir = staging_dir(path);
        Staging::clear_leftovers(path)?;
        crate::files::create_private_dir_all(&dir)
            .with_context(|| format!("cannot create the staging folder {}", dir.display()))?;
        let held = lock(&dir, path)?;
        Ok(Staging { dir, _lock: held })
    }

    /// Remove what an interrupted copy into `path` left (see [`Staging`]), saying so; refused
    /// while another copy-store holds the staging folder.
    fn clear_leftovers(path: &Path) -> anyhow::Result<()> {
        let dir = staging_dir(path);
        if std::fs::symlink_metadata(&dir).is_ok() {
            let held = lock(&dir, path)?;
            let mut removed = Vec::new();
            if std::fs::symlink_metadata(path).is_err() {
                for file in placed_pool_files(&dir, path) {
                    for suffix in ["", "-wal", "-shm", "-journal"] {
                        let part = PathBuf::from(format!("{}{suffix}", file.display()));
                        match std::fs::remove_file(&part) {
                            Ok(()) => removed.push(part.display().to_string()),
                            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                            Err(e) => bail!(
                                "cannot remove {}, placed by an interrupted copy-store into {}: {e}; nothing was copied",
                                part.display(),
                                path.display()
                            ),
                        }
                    }
                }
            }
            std::fs::remove_dir_all(&dir).with_context(|| {
                format!("cannot remove {}, left by an interrupted copy-store; nothing was copied", dir.display())
            })?;
            drop(held);
            removed.insert(0, format!("{}/", dir.display()));
            say(&format!(
                "removed what an interrupted copy-store into {} left: {}",
                path.display(),
                removed.join(", ")
            ));
        }
        for older in older_staging(path) {
            std::fs::remove_dir_all(&older).with_context(|| {
                format!("cannot remove {}, left by an interrupted copy-store; nothing was copied", older.display())
            })?;
            say(&format!(
                "removed {}/, the staging folder of an interrupted copy-store into {} (an earlier pchat's)",
                older.display(),
                path.display()
            ));
        }
        Ok(())
    }

    /// Record `text` as `name` in the folder: the copy's store id before any file naming it is
    /// made (`store-id`), the command that makes the copy (`command`).
    fn record(&self, name: &str, text: &str) -> anyhow::Result<()> {
        std::fs::write(self.dir.join(name), text)
            .with_context(|| format!("cannot write into the staging folder {}", self.dir.display()))
    }

    /// Record the files about to be placed (before the first is).
    fn record_placing(&self, placed: &[&Path]) -> anyhow::Result<()> {
        let list: String = placed.iter().map(|p| format!("{}\n", p.display())).collect();
        let file = self.dir.join("placing");
        std::fs::write(&file, list)
            .and_then(|()| std::fs::File::open(&file)?.sync_all())
            .with_context(|| format!("cannot write into the staging folder {}", self.dir.display()))
    }

    fn remove(&self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The staging folder `dir` of a copy into `path` locked for this process (the lock file is
/// held open for as long as the lock lasts); refused while another copy-store holds it.
fn lock(dir: &Path, path: &Path) -> anyhow::Result<std::fs::File> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join("lock"))
        .with_context(|| format!("cannot use the staging folder {}", dir.display()))?;
    if !crate::files::journal::try_lock(&file)? {
        bail!("another copy-store into {} is running (it holds {}); nothing was copied", path.display(), dir.display());
    }
    Ok(file)
}

/// One line on standard error.
fn say(text: &str) {
    eprintln!("pchat: copy-store: {}", crate::values::text::escape_line(text));
}

/// The pool files of the copy beside `path` (`dir`, the central file `name`), checked before
/// anything is made: none may exist, nor two share a name.
fn name_pool_files(pairs: &mut [Pair], dir: &Path, name: &str, path: &Path) -> anyhow::Result<()> {
    let mut seen: Vec<(String, String)> = vec![(name.to_ascii_lowercase(), "the central database".into())];
    for pair in pairs.iter_mut() {
        let Some(instance) = &pair.instance else { continue };
        let file = pool_files::default_name(instance);
        if let Some((_, other)) = seen.iter().find(|(f, _)| *f == file.to_ascii_lowercase()) {
            bail!("the pool file {file} of {instance} would have the same name as that of {other}; nothing was copied");
        }
        let placed = dir.join(&file);
        if std::fs::symlink_metadata(&placed).is_ok() {
            // One an earlier pchat's interrupted copy back placed names this target as its store.
            let left = pool_files::inspect(&placed)
                .ok()
                .and_then(|f| f.owner)
                .is_some_and(|o| o.db == path.display().to_string());
            if left {
                bail!(
                    "{} already exists: an interrupted copy-store into {} placed it (it names that store, which was never placed); remove it (rm {}) and run the copy-store again (nothing was copied)",
                    placed.display(),
                    path.display(),
                    super::copy_mark::shell_quoted(&placed.display().to_string())
                );
            }
            bail!(
                "{} already exists (it would be the pool file of {instance}); copy-store makes a new store: give --to a path in another folder (nothing was copied)",
                placed.display()
            );
        }
        seen.push((file.to_ascii_lowercase(), instance.clone()));
        pair.placed = placed;
    }
    Ok(())
}

/// The pool source databases' connection strings by SQL instance (the check reads the central
/// one through its own gate).
fn sources(pairs: &[Pair]) -> Vec<(String, String)> {
    pairs.iter().filter_map(|p| Some((p.instance.clone()?, p.source_url.clone()))).collect()
}

/// The staged files of the copy: the central one (None) and each pool's by SQL instance.
fn pairs_staged(pairs: &[Pair]) -> Vec<(Option<String>, PathBuf)> {
    pairs.iter().map(|p| (p.instance.clone(), p.staged.clone())).collect()
}

/// The files of the copy, as `copy::Targets` names a store's databases.
fn files(pairs: &[Pair]) -> Targets {
    let shown = |p: &Pair| p.placed.display().to_string();
    Targets {
        central: pairs.iter().find(|p| p.instance.is_none()).map(shown).unwrap_or_default(),
        pools: pairs.iter().filter_map(|p| Some((p.instance.clone()?, shown(p)))).collect(),
    }
}

/// Compare an existing copy at `path` with the PostgreSQL store at `url` again.
pub fn verify_sqlite(url: &str, path: &Path) -> anyhow::Result<(Vec<TableSum>, Targets)> {
    if !path.is_file() {
        bail!("there is no copy at {}", path.display());
    }
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut pairs = open_sources(url)?;
    for pair in pairs.iter_mut() {
        pair.placed = match &pair.instance {
            Some(instance) => dir.join(pool_files::default_name(instance)),
            None => path.to_path_buf(),
        };
    }
    let central = Db::open_sqlite_existing(path).with_context(|| format!("cannot open {}", path.display()))?;
    let rewrite = read_rewrite(&central)?;
    drop(central);
    let mut sums = Vec::new();
    for pair in &pairs {
        let db = Db::open_sqlite_existing(&pair.placed)
            .with_context(|| format!("cannot open the copy {}", pair.placed.display()))?;
        sums.extend(compare_pair(pair, &db, &rewrite, &pair.placed)?);
    }
    Ok((sums, files(&pairs)))
}

/// The central session and one per pool database, each in its read-only snapshot, with the
/// tables to copy (central first here; loaded pools first). Every snapshot is of one moment of
/// the store: each runs its first query while the writers are held off (`copy_gate`).
fn open_sources(url: &str) -> anyhow::Result<Vec<Pair>> {
    let gate = Gate::close(url);
    // What is not a store's central database gets `open_source`'s words rather than the gate's.
    let central = open_source(url, Database::Central, None)?;
    let gate = gate?;
    let instances: Vec<(String, String)> = central
        .query_map("SELECT identity, file FROM sql_instances ORDER BY identity", (), |r| Ok((r.get(0)?, r.get(1)?)))
        .with_context(|| format!("{} is not a pchat store (no topology to read)", shown_url(url)))?;
    let mut pairs = vec![pair(None, central, url)?];
    for (identity, connection) in instances {
        let db = open_source(&connection, Database::Pool, Some(&gate))
            .with_context(|| format!("the pool database of {identity}"))?;
        pairs.push(pair(Some(identity), db, &connection)?);
    }
    drop(gate);
    Ok(pairs)
}

fn pair(instance: Option<String>, source: Db, url: &str) -> anyhow::Result<Pair> {
    let tables = tables(&source)?;
    Ok(Pair {
        instance,
        source,
        source_shown: shown_url(url),
        source_url: url.to_string(),
        staged: PathBuf::new(),
        placed: PathBuf::new(),
        tables,
    })
}

/// A raw session on a source database, refused while a pchat transaction is in doubt there or
/// when its schema is not this pchat's (opening the store upgrades an older one; the copy is
/// made with this pchat's tables), then in its snapshot. A pool's source waits first for the live
/// coordinators of changes the gate let through (`copy_gate`).
fn open_source(url: &str, kind: Database, gate: Option<&Gate>) -> anyhow::Result<Db> {
    let shown = shown_url(url);
    let db = Db::open_postgres(url).with_context(|| {
        format!(
            "{} (check that its server runs and the URL, user and password are right; nothing was copied)",
            super::cannot_open("the source", url)
        )
    })?;
    let handle = db.interrupt_handle();
    // A copy's sessions last as long as its process: the registration is never taken out.
    std::mem::forget(crate::interrupt::register(move || handle.interrupt()));
    if let Some(mark) = super::copy_mark::read(&db).with_context(|| format!("cannot read {shown}"))? {
        bail!("{}", mark.refusal(url));
    }
    if let Some(gate) = gate {
        gate.drain(&db)?;
    }
    let doubt: Vec<String> = db.query_map(
        &format!(
            "SELECT gid FROM pg_prepared_xacts WHERE database = current_database() AND starts_with(gid, '{}') ORDER BY prepared",
            super::twophase::GID_PREFIX
        ),
        (),
        |r| r.get(0),
    )?;
    if let Some(gid) = doubt.first() {
        bail!(
            "the source {shown} holds {} prepared pchat transaction{} in doubt ({gid}): its rows are not settled; open the store once with pchat (`pchat --db <central URL> -c 'get_cs_persistent_chat_room().len()'`), which resolves them, then copy it (nothing was copied)",
            doubt.len(),
            if doubt.len() == 1 { "" } else { "s" }
        );
    }
    db.begin(Begin::Read).with_context(|| format!("cannot open a read-only snapshot of {shown}"))?;
    let version: Vec<(String, i64)> = db
        .query_map(dialect::PG_SCHEMA_VERSION, (), |r| Ok((r.get(0)?, r.get(1)?)))
        .with_context(|| format!("{shown} is not a database of a pchat store (no schema version)"))?;
    let expected = super::migrate::current_version(kind) as i64;
    if kind == Database::Central && version.first().is_some_and(|(schema, _)| schema == "pool") {
        // A pool database given as --from: its identity row names its store's central database.
        let central = super::identity::read(&db)
            .ok()
            .and_then(|found| found.file?.owner)
            .map(|owner| owner.db)
            .filter(|central| !central.is_empty())
            .map_or_else(
                || "the store's central database (the URL its pchat commands give --db)".to_string(),
                |central| format!("its store's central database (named {central})"),
            );
        bail!(
            "{shown} is a pool database, one copy of a pool's data, not a store: copy-store --from names the central database, and the pool databases come with it through its topology; give {central}; nothing was copied"
        );
    }
    match version.first() {
        None => bail!("{shown} is not a database of a pchat store (no schema version); nothing was copied"),
        Some((_, v)) if *v < expected => bail!(
            "{shown} was written by an older pchat (schema version {v}; this pchat's is {expected}); copy-store never writes to the store it copies: upgrade it first by using it once with this pchat (`pchat --db <central URL> -c 'get_cs_persistent_chat_room().len()'`), then copy it"
        ),
        Some((_, v)) if *v > expected => bail!(
            "{shown} was written by a newer pchat (schema version {v}; this pchat knows up to {expected}): copy it with that pchat; nothing was copied"
        ),
        Some(_) => {}
    }
    Ok(db)
}

/// Every file made in `staging` and loaded; the verified tables.
fn build(pairs: &mut [Pair], staging: &Staging, path: &Path, name: &str) -> anyhow::Result<Vec<TableSum>> {
    let store_id = uuid::Uuid::new_v4().simple().to_string();
    staging.record("store-id", &store_id)?;
    let staging = staging.dir.as_path();
    let owner = Owner { id: store_id.clone(), db: path.display().to_string() };
    let mut files = HashMap::new();
    for pair in pairs.iter_mut() {
        match &pair.instance {
            Some(instance) => {
                let file = pair.placed.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
                pair.staged = staging.join(&file);
                let id = pool_files::create(&pair.staged, &owner)?;
                files.insert(instance.to_ascii_lowercase(), (file, id));
            }
            None => {
                pair.staged = staging.join(name);
                pair.placed = path.to_path_buf();
                crate::files::create_private_file(&pair.staged)
                    .with_context(|| format!("cannot create {}", pair.staged.display()))?;
                let db = Db::open_sqlite(&pair.staged)?;
                db.configure()?;
                crate::store::migrate(&db, schema::sqlite_steps(Database::Central))
                    .with_context(|| format!("cannot create the central schema in {}", pair.staged.display()))?;
            }
        }
    }
    let rewrite = Rewrite { store_id, files };
    let mut sums = Vec::new();
    for pair in pairs.iter() {
        super::copy::stop_if_asked()?;
        let db = Db::open_sqlite_existing(&pair.staged)?;
        db.configure()?;
        load(pair, &db, &rewrite)?;
        crate::fault::point("copy-back:loaded");
        sums.extend(compare_pair(pair, &db, &rewrite, &pair.placed)?);
    }
    Ok(sums)
}

/// The rows of every table of `pair`'s source into its SQLite file, in one transaction; the
/// rows a new schema seeds are replaced by the source's.
fn load(pair: &Pair, db: &Db, rewrite: &Rewrite) -> anyhow::Result<()> {
    db.begin(Begin::Immediate)?;
    let result = (|| {
        // Children first when emptying, parents first when filling (`copy::tables`' order).
        for table in pair.tables.iter().rev() {
            db.execute(&format!("DELETE FROM {}", table.name), ()).with_context(|| {
                format!("the table {} has no counterpart in this pchat's SQLite schema", table.name)
            })?;
        }
        for table in &pair.tables {
            let marks = (1..=table.columns.len()).map(|i| format!("?{i}")).collect::<Vec<_>>().join(", ");
            let insert = format!("INSERT INTO {}({}) VALUES ({marks})", table.name, table.columns.join(", "));
            let why = || format!("cannot copy the table {} into {}", table.name, pair.placed.display());
            read_source(pair, table, rewrite, |row| {
                db.prepare_cached(&insert).with_context(why)?.execute(params_from_iter(row)).with_context(why)?;
                Ok(())
            })?;
        }
        db.commit()?;
        Ok(())
    })();
    if result.is_err() && !db.is_autocommit() {
        let _ = db.rollback();
    }
    result
}

/// Every row of `table` in the source, with the copy's rewrite applied (module notes).
fn read_source(
    pair: &Pair,
    table: &Table,
    rewrite: &Rewrite,
    mut each: impl FnMut(Vec<Value>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let col = |name: &str| table.columns.iter().position(|c| c == name);
    let central = pair.instance.is_none();
    let instances = central && table.name == "sql_instances";
    let meta = central && table.name == "meta";
    let mut stmt = pair.source.prepare(&format!("SELECT {} FROM {}", table.columns.join(", "), table.name))?;
    let mut rows = stmt.query(()).with_context(|| format!("cannot read {} of {}", table.name, pair.source_shown))?;
    while let Some(row) = rows.next()? {
        super::copy::stop_if_asked()?;
        let mut values = (0..table.columns.len()).map(|i| row.get::<Value>(i)).collect::<Result<Vec<_>, _>>()?;
        if instances && let (Some(i), Some(f)) = (col("identity"), col("file")) {
            let Value::Text(name) = &values[i] else { bail!("an SQL instance's identity is not text") };
            let (file, id) =
                rewrite.files.get(&name.to_ascii_lowercase()).ok_or_else(|| anyhow!("no pool file for {name}"))?;
            let (file, id) = (file.clone(), id.clone());
            values[f] = Value::Text(file);
            if let Some(fid) = col("file_id") {
                values[fid] = Value::Text(id);
            }
        }
        if meta
            && let (Some(k), Some(v)) = (col("key"), col("value"))
            && matches!(&values[k], Value::Text(key) if key == "store_id")
        {
            values[v] = Value::Text(rewrite.store_id.clone());
        }
        each(values)?;
    }
    Ok(())
}

/// Per table, the source (rewritten) and the SQLite file `db` hold the same count and checksum.
fn compare_pair(pair: &Pair, db: &Db, rewrite: &Rewrite, shown: &Path) -> anyhow::Result<Vec<TableSum>> {
    let shown = shown.display().to_string();
    let mut out = Vec::new();
    for table in &pair.tables {
        let mut expected = Sum::default();
        read_source(pair, table, rewrite, |row| {
            expected.add(&row);
            Ok(())
        })?;
        let read = target_sum(db, table)?;
        if expected != read {
            bail!(
                "verification failed for the table {} of {shown}: the source {} has {} rows (checksum {}), the copy {} rows (checksum {})",
                table.name,
                pair.source_shown,
                expected.rows,
                expected.hex(),
                read.rows,
                read.hex()
            );
        }
        out.push(TableSum {
            database: shown.clone(),
            table: table.name.clone(),
            rows: read.rows,
            checksum: read.hex(),
        });
    }
    Ok(out)
}

/// The copy's own store id and pool file identities, as its central file holds them.
fn read_rewrite(central: &Db) -> anyhow::Result<Rewrite> {
    let store_id: Option<String> =
        central.query_map("SELECT value FROM meta WHERE key = 'store_id'", (), |r| r.get(0))?.into_iter().next();
    let store_id = store_id.ok_or_else(|| anyhow!("the copy has no store id: it is not a copy-store copy"))?;
    let rows: Vec<(String, String, Option<String>)> =
        central.query_map("SELECT identity, file, file_id FROM sql_instances ORDER BY identity", (), |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
    let files = rows.into_iter().map(|(i, f, id)| (i.to_ascii_lowercase(), (f, id.unwrap_or_default()))).collect();
    Ok(Rewrite { store_id, files })
}

/// The built files renamed into place, pool files first and the central one last; if one
/// cannot be, those already placed are removed (they were made by this copy a moment ago).
fn place(pairs: &[Pair], staging: &Staging) -> anyhow::Result<()> {
    let mut order: Vec<&Pair> = pairs.iter().filter(|p| p.instance.is_some()).collect();
    order.extend(pairs.iter().filter(|p| p.instance.is_none()));
    staging.record_placing(&order.iter().map(|p| p.placed.as_path()).collect::<Vec<_>>())?;
    let mut placed: Vec<&Path> = Vec::new();
    for pair in order {
        if pair.instance.is_none() {
            crate::fault::point("copy-back:pools-placed");
        }
        let result = if std::fs::symlink_metadata(&pair.placed).is_ok() {
            Err(anyhow!("{} appeared while the copy was made", pair.placed.display()))
        } else {
            crate::files::journal::finish(&pair.staged, &pair.placed)
                .map(|_| ())
                .with_context(|| format!("cannot place {}", pair.placed.display()))
        };
        if let Err(e) = result {
            for path in placed {
                let _ = std::fs::remove_file(path);
            }
            return Err(e.context("nothing was copied"));
        }
        placed.push(&pair.placed);
    }
    Ok(())
}
