//! `pchat copy-store` (docs/command-line.md, docs/design/postgres-port.md §5 step 6): a whole
//! SQLite store copied into PostgreSQL databases the administrator names, or a PostgreSQL store
//! copied into a new SQLite store, verified per table. The work is `store::pg::copy` and
//! `store::pg::copy_back`; this module reads the command line, refuses what it cannot do before
//! anything is created, and prints the verified tables.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rhai::{Dynamic, Map};

use super::{EXIT_OK, EXIT_TERMINATED, EXIT_USAGE};
use crate::store::pg::copy::{self, TableSum, Targets};
use crate::store::pg::{check_connection, shown_url};

#[derive(clap::Args)]
pub(super) struct Args {
    /// The store to copy: a SQLite store's central database file, or a PostgreSQL store's central
    /// database (postgres://… or key=value); its pool databases are found through its topology.
    /// Default: the store of --db / PCHAT_DB. Never written to.
    #[arg(long, value_name = "PATH")]
    from: Option<String>,
    /// The central PostgreSQL database (postgres://… or key=value); created if missing, else it
    /// must be empty. From PostgreSQL: the new SQLite store's file (must not exist; its pool files
    /// are made beside it).
    #[arg(long, value_name = "URL", required = true)]
    to: String,
    /// The pool database of one SQL instance of the source's topology (repeat for every one);
    /// created if missing, else it must be empty. Into PostgreSQL only.
    #[arg(long = "pool", value_name = "INSTANCE=URL")]
    pools: Vec<String>,
    /// Copy nothing: compare the existing copies with the source again (counts and checksums).
    #[arg(long)]
    verify_only: bool,
}

/// What of the global command line copy-store uses.
pub(super) struct Global<'a> {
    pub db: Option<&'a Path>,
    pub json: bool,
}

/// An error and its exit code.
struct Refusal(i32, String);

fn usage(text: impl Into<String>) -> Refusal {
    Refusal(EXIT_USAGE, text.into())
}

pub(super) fn run(args: &Args, global: Global<'_>) -> i32 {
    crate::fault::point("copy-store:start");
    match copy(args, &global) {
        // A signal that came while the copy committed: it is complete (the tables above), and
        // the run still ends as stopped, so a supervisor that asked sees its signal's code.
        Ok(()) if crate::interrupt::requested() => {
            crate::streams::error(&format!(
                "pchat: copy-store: {} as the copy committed: the copy is complete and verified (above)",
                crate::interrupt::describe("")
            ));
            crate::interrupt::exit_code().unwrap_or(EXIT_TERMINATED)
        }
        Ok(()) => EXIT_OK,
        Err(Refusal(code, text)) => {
            for line in text.lines() {
                crate::streams::error(&crate::values::text::escape_line(line));
            }
            if code == EXIT_TERMINATED { crate::interrupt::exit_code().unwrap_or(code) } else { code }
        }
    }
}

/// A signal's stop before any target was touched.
fn stopped_before_anything() -> Result<(), Refusal> {
    crate::store::pg::copy::stop_if_asked().map_err(|e| {
        Refusal(
            EXIT_TERMINATED,
            format!("pchat: copy-store: {e}; nothing was created or written, and the source is untouched"),
        )
    })
}

fn copy(args: &Args, global: &Global<'_>) -> Result<(), Refusal> {
    stopped_before_anything()?;
    if let Some(url) = postgres_source(args, global) {
        return copy_back(args, global, &url);
    }
    let source = source_path(args, global)?;
    let central = target("--to", &args.to)?;
    let given = pool_targets(&args.pools)?;
    distinct_targets(&central, &given)?;

    let store =
        copy::open_source(&source).map_err(|e| Refusal(EXIT_TERMINATED, format!("pchat: copy-store: {e:#}")))?;
    store.attach_pool_databases().map_err(|e| {
        Refusal(EXIT_TERMINATED, format!("pchat: copy-store: cannot attach the source store's pool files: {e:#}"))
    })?;
    let instances: Vec<String> = store
        .sql_instances()
        .map_err(|e| {
            Refusal(EXIT_TERMINATED, format!("pchat: copy-store: cannot read the source's SQL instances: {e}"))
        })?
        .into_iter()
        .map(|i| i.identity)
        .collect();
    // Each pool's primary and backup SQL instances, for the example a missing --pool prints.
    let pairs: Vec<(String, String, String)> = store
        .pools()
        .map_err(|e| Refusal(EXIT_TERMINATED, format!("pchat: copy-store: cannot read the source's pools: {e}")))?
        .into_iter()
        .filter_map(|p| Some((p.fqdn, p.database?, p.backup_database?)))
        .collect();
    let pools = match_instances(&instances, &given, &central, &source, &pairs)?;
    let targets = Targets { central: central.clone(), pools };
    stopped_before_anything()?;

    let verb = if args.verify_only { "verifying the copy of" } else { "copying" };
    eprintln!(
        "{}",
        crate::values::text::escape_line(&format!(
            "pchat: copy-store: {verb} {} ({} SQL instance{}) into {} database{} on PostgreSQL",
            source.display(),
            instances.len(),
            if instances.len() == 1 { "" } else { "s" },
            instances.len() + 1,
            if instances.is_empty() { "" } else { "s" },
        ))
    );
    let result = if args.verify_only { copy::verify(&store, &targets) } else { copy::copy_store(&store, &targets) };
    // The core's errors say what became of the targets (a refusal: nothing was created or
    // written; a failure in the copy: nothing committed, new target databases left empty).
    let sums = result.map_err(|e| Refusal(EXIT_TERMINATED, format!("pchat: copy-store: {e:#}")))?;
    print_sums(&sums, &targets, global.json);
    Ok(())
}

/// `--from` (else `--db`) when it names a PostgreSQL database.
fn postgres_source(args: &Args, global: &Global<'_>) -> Option<String> {
    let from = args.from.clone().or_else(|| global.db.map(|d| d.to_string_lossy().into_owned()))?;
    is_postgres(&from).then_some(from)
}

fn is_postgres(text: &str) -> bool {
    crate::store::pg::is_connection_string(text)
}

/// Out of PostgreSQL into a new SQLite store at `--to` (`store::pg::copy_back`).
fn copy_back(args: &Args, global: &Global<'_>, url: &str) -> Result<(), Refusal> {
    let shown = shown_url(url);
    if let Err(why) = check_connection(url) {
        return Err(usage(format!("pchat: copy-store: --from {shown} is not a PostgreSQL connection string ({why})")));
    }
    if is_postgres(&args.to) {
        return Err(usage(format!(
            "pchat: copy-store: --from {shown} and --to {} are both PostgreSQL: copy-store copies between SQLite and PostgreSQL; give --to the path of a new SQLite store file",
            shown_url(&args.to)
        )));
    }
    if let Some(pool) = args.pools.first() {
        return Err(usage(format!(
            "pchat: copy-store: --pool {} is for copying into PostgreSQL; copying out of it, the pool files are made beside --to, named as Publish names them",
            shown_url(pool)
        )));
    }
    let to = PathBuf::from(&args.to);
    let verb = if args.verify_only { "verifying the copy of" } else { "copying" };
    eprintln!(
        "{}",
        crate::values::text::escape_line(&format!(
            "pchat: copy-store: {verb} the PostgreSQL store {shown} into the SQLite store {}",
            to.display()
        ))
    );
    let result = if args.verify_only {
        crate::store::pg::copy_back::verify_sqlite(url, &to)
    } else {
        crate::store::pg::copy_back::copy_to_sqlite(url, &to)
    };
    let (sums, files) = result.map_err(|e| Refusal(EXIT_TERMINATED, format!("pchat: copy-store: {e:#}")))?;
    print_sums(&sums, &files, global.json);
    Ok(())
}

/// The source store's file: `--from`, else `--db` / `PCHAT_DB` (a PostgreSQL source went to
/// `copy_back` before), existing.
fn source_path(args: &Args, global: &Global<'_>) -> Result<PathBuf, Refusal> {
    let from = match (&args.from, global.db) {
        (Some(from), _) => from.clone(),
        (None, Some(db)) => db.to_string_lossy().into_owned(),
        (None, None) => {
            return Err(usage("pchat: copy-store: give the store to copy with --from PATH (or --db PATH / PCHAT_DB)"));
        }
    };
    let path = PathBuf::from(&from);
    if !path.exists() {
        return Err(usage(format!(
            "pchat: copy-store: there is no store at {}; copy-store copies an existing store and creates none",
            path.display()
        )));
    }
    if !path.is_file() {
        return Err(usage(format!("pchat: copy-store: {} is not a store file", path.display())));
    }
    Ok(path)
}

/// A target connection string, checked without connecting: PostgreSQL only, naming a database.
fn target(flag: &str, url: &str) -> Result<String, Refusal> {
    let shown = shown_url(url);
    if let Err(why) = check_connection(url) {
        let file = !url.contains("://") && !url.contains('=');
        let hint = if file {
            "; copy-store copies a SQLite store into PostgreSQL (or a PostgreSQL store into a new SQLite file, with --from postgres://…): give a postgres://USER@HOST/DATABASE URL"
        } else {
            ""
        };
        return Err(usage(format!(
            "pchat: copy-store: {flag} {shown} is not a PostgreSQL connection string ({why}){hint}"
        )));
    }
    let config: postgres::Config = url.parse().map_err(|e| usage(format!("pchat: copy-store: {flag} {shown}: {e}")))?;
    if config.get_dbname().is_none_or(str::is_empty) {
        return Err(usage(format!(
            "pchat: copy-store: {flag} {shown} names no database (postgres://USER@HOST/DATABASE, or dbname=…)"
        )));
    }
    Ok(url.to_string())
}

/// `--pool INSTANCE=URL` pairs, each URL checked; an instance given twice is refused.
fn pool_targets(pairs: &[String]) -> Result<Vec<(String, String)>, Refusal> {
    let mut out: Vec<(String, String)> = Vec::new();
    for pair in pairs {
        let Some((instance, url)) = pair.split_once('=').filter(|(i, u)| !i.trim().is_empty() && !u.trim().is_empty())
        else {
            return Err(usage(format!(
                "pchat: copy-store: --pool {}: expected INSTANCE=URL (a SQL instance of the source's topology and its pool database)",
                shown_url(pair)
            )));
        };
        let instance = instance.trim().to_string();
        if out.iter().any(|(i, _)| i.eq_ignore_ascii_case(&instance)) {
            return Err(usage(format!("pchat: copy-store: --pool names the SQL instance {instance} twice")));
        }
        let url = target(&format!("--pool {instance}="), url.trim())?;
        out.push((instance, url));
    }
    Ok(out)
}

/// Where a connection string points: host(s), port(s) and database.
fn database_key(url: &str) -> Option<String> {
    let config: postgres::Config = url.parse().ok()?;
    let ports = if config.get_ports().is_empty() { &[5432][..] } else { config.get_ports() };
    Some(format!("{:?} {ports:?} {:?}", config.get_hosts(), config.get_dbname()))
}

/// Two targets naming the same database would fill it twice. Compared as their servers name
/// them where reachable (two spellings of one database), else as written.
fn distinct_targets(central: &str, pools: &[(String, String)]) -> Result<(), Refusal> {
    let key =
        |url: &str| crate::store::pg::same_database::server_key(url).or_else(|| database_key(url)).unwrap_or_default();
    let mut seen: Vec<(String, String)> = vec![("--to".into(), key(central))];
    for (instance, url) in pools {
        let key = key(url);
        if let Some((other, _)) = seen.iter().find(|(_, k)| *k == key) {
            return Err(usage(format!(
                "pchat: copy-store: --pool {instance}= names the same database as {other} ({}): every database of the store needs a database of its own",
                shown_url(url)
            )));
        }
        seen.push((format!("--pool {instance}="), key));
    }
    Ok(())
}

/// The targets of every SQL instance, by the topology's spelling. An instance the topology
/// lacks, or one without a target, is refused before anything is created, with the flags to
/// give (a suggestion, derived from `--to`; never used unless given).
fn match_instances(
    instances: &[String],
    given: &[(String, String)],
    central: &str,
    source: &Path,
    pairs: &[(String, String, String)],
) -> Result<BTreeMap<String, String>, Refusal> {
    for (instance, _) in given {
        if !instances.iter().any(|i| i.eq_ignore_ascii_case(instance)) {
            let hint = crate::values::text::suggest(instance, instances.iter().map(String::as_str))
                .map(|n| format!("; did you mean {n}?"))
                .unwrap_or_default();
            return Err(usage(format!(
                "pchat: copy-store: --pool {instance}=…: the source's topology has no SQL instance {instance}{hint} (its SQL instances: {})",
                if instances.is_empty() { "none".to_string() } else { instances.join(", ") }
            )));
        }
    }
    let found = |instance: &str| given.iter().find(|(i, _)| i.eq_ignore_ascii_case(instance)).map(|(_, u)| u.clone());
    let missing: Vec<&String> = instances.iter().filter(|i| found(i).is_none()).collect();
    if missing.is_empty() {
        return Ok(instances.iter().filter_map(|i| found(i).map(|u| (i.clone(), u))).collect());
    }
    let mut text = format!(
        "pchat: copy-store: every SQL instance of the source's topology needs a pool database (--pool INSTANCE=URL); {} of {} {} none:",
        missing.len(),
        instances.len(),
        if missing.len() == 1 { "has" } else { "have" }
    );
    for instance in instances {
        let state = match found(instance) {
            Some(url) => format!("--pool {}", shown_url(&url)),
            None => "missing".into(),
        };
        text.push_str(&format!("\n  {instance}: {state}"));
    }
    text.push_str(
        "\npchat: nothing was created. For example (database names derived from --to: a suggestion to edit, never used unless given; passwords shown as ***):",
    );
    text.push_str(&format!(
        "\n  pchat copy-store --from {} --to '{}'",
        shell_quoted(&source.display().to_string()),
        shown_url(central)
    ));
    for instance in instances {
        let url = found(instance).unwrap_or_else(|| suggested_pool_url(central, instance));
        text.push_str(&format!(" \\\n      --pool '{instance}={}'", shown_url(&url)));
    }
    if !pairs.is_empty() {
        // The example puts every database on --to's server; a fail-over needs two.
        text.push_str(
            "\npchat: put each pool's primary and backup databases on two servers (edit the host of one of them): on one server, a fail-over has nowhere to go when that server stops. Pools with a backup:",
        );
        for (pool, primary, backup) in pairs {
            text.push_str(&format!("\n  {pool}: {primary} (primary) and {backup} (backup)"));
        }
    }
    Err(usage(text))
}

fn shell_quoted(text: &str) -> String {
    if text.chars().all(|c| c.is_ascii_alphanumeric() || "/._-+:@".contains(c)) {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// `--to` with its database renamed `<central>_<instance>` (lower case, other than letters and
/// digits as `_`): a suggestion printed for the administrator to edit.
fn suggested_pool_url(central: &str, instance: &str) -> String {
    let mut suffix = String::new();
    for c in instance.chars() {
        if c.is_ascii_alphanumeric() {
            suffix.push(c.to_ascii_lowercase());
        } else if !suffix.is_empty() && !suffix.ends_with('_') {
            suffix.push('_');
        }
    }
    let suffix = suffix.trim_end_matches('_');
    let dbname = central.parse::<postgres::Config>().ok().and_then(|c| c.get_dbname().map(str::to_string));
    let name = format!("{}_{suffix}", dbname.as_deref().unwrap_or("pchat"));
    crate::store::pg::with_database(central, &name)
}

/// One table per database (the central one first, then the pools by SQL instance), or the same
/// as JSON.
fn print_sums(sums: &[TableSum], targets: &Targets, json: bool) {
    let mut databases: Vec<(String, Option<&str>)> = vec![(shown_url(&targets.central), None)];
    databases.extend(targets.pools.iter().map(|(instance, url)| (shown_url(url), Some(instance.as_str()))));
    let mut documents = Vec::new();
    let mut text = String::new();
    for (shown, instance) in &databases {
        let tables: Vec<&TableSum> = sums.iter().filter(|s| s.database == *shown).collect();
        let rows: u64 = tables.iter().map(|s| s.rows).sum();
        if json {
            documents.push(serde_json::json!({
                "Database": shown,
                "Role": if instance.is_some() { "Pool" } else { "Central" },
                "SqlInstance": instance,
                "Rows": rows,
                "Tables": tables.iter().map(|s| serde_json::json!({
                    "Table": s.table,
                    "Rows": s.rows,
                    "Checksum": s.checksum,
                })).collect::<Vec<_>>(),
            }));
            continue;
        }
        let items: Vec<Dynamic> = tables
            .iter()
            .map(|s| {
                let mut m = Map::new();
                m.insert("Table".into(), s.table.clone().into());
                m.insert("Rows".into(), Dynamic::from_int(s.rows as i64));
                m.insert("Checksum".into(), s.checksum.clone().into());
                Dynamic::from_map(m)
            })
            .collect();
        let columns = ["Table".to_string(), "Rows".to_string(), "Checksum".to_string()];
        let heading = match instance {
            Some(instance) => format!("Pool database of {instance}: {shown}"),
            None => format!("Central database: {shown}"),
        };
        text.push_str(&format!(
            "{heading}\n{}\n{} table{}, {rows} row{}\n\n",
            crate::output::format_table(&items, &columns).trim_end(),
            tables.len(),
            if tables.len() == 1 { "" } else { "s" },
            if rows == 1 { "" } else { "s" }
        ));
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&serde_json::Value::Array(documents)).unwrap_or_default());
    } else {
        print!("{}", crate::values::text::escape_block(text.trim_end()));
        println!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggested_pool_urls_rename_the_database_only() {
        assert_eq!(
            suggested_pool_url("postgres://pchat:pw@db1:5432/chat?sslmode=disable", "sql01.contoso.com\\rtc"),
            "postgres://pchat:pw@db1:5432/chat_sql01_contoso_com_rtc?sslmode=disable"
        );
        assert_eq!(suggested_pool_url("postgres://db1", "SQL02\\RTC"), "postgres://db1/pchat_sql02_rtc");
        assert_eq!(
            suggested_pool_url("host=db1 dbname=chat user=u", "sql03\\rtc"),
            "host=db1 dbname=chat_sql03_rtc user=u"
        );
    }

    #[test]
    fn pool_pairs_are_checked() {
        assert!(pool_targets(&["a=postgres://h/x".into(), "A=postgres://h/y".into()]).is_err());
        assert!(pool_targets(&["novalue".into()]).is_err());
        assert!(pool_targets(&["a=postgres://h".into()]).is_err(), "no database named");
        let ok = pool_targets(&["sql01\\rtc=host=h dbname=p".into()]).map_err(|r| r.1).unwrap();
        assert_eq!(ok, vec![("sql01\\rtc".to_string(), "host=h dbname=p".to_string())]);
        assert!(distinct_targets("postgres://h/x", &[("a".into(), "postgres://u@h:5432/x".into())]).is_err());
        assert!(distinct_targets("postgres://h/x", &[("a".into(), "postgres://h/y".into())]).is_ok());
    }
}
