//! PostgreSQL stores made from SQLite ones with `pchat copy-store` (docs/command-line.md), as a
//! DBA makes them: the tests' way to a store on a server.

use std::path::Path;
use std::process::{Command, Stdio};

use super::{Run, pchat};

/// `pchat ARGS` for a copy-store run (`ARGS` name the subcommand, after any global option). The
/// SQL inventory check is off: copy-store's own statements (reads of every source table, DDL and
/// COPY on the targets) are the port's, run on the backend they are written for and proven by
/// tests/it/copy_store.rs, not store statements to prepare on PostgreSQL
/// (src/store/db/inventory.rs).
pub fn copy_store_command(args: &[&str]) -> Command {
    let mut cmd = pchat();
    cmd.args(args).env_remove("PCHAT_SQL_INVENTORY").env_remove("PCHAT_DB").current_dir(super::ROOT);
    cmd.stdin(Stdio::null());
    cmd
}

/// The `--from`, `--to` and `--pool` arguments copying the SQLite store whose central file is
/// `from` into the central database `central` and, per SQL instance identity, the pool database
/// `pools` names.
pub fn copy_args<'a>(from: &Path, central: &str, pools: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let mut args = vec!["--from".to_string(), from.to_string_lossy().into_owned(), "--to".into(), central.into()];
    args.extend(pools.into_iter().map(|(identity, url)| format!("--pool={identity}={url}")));
    args
}

/// The SQLite store whose central file is `from` copied into `central` and `pools` (see
/// [`copy_args`]; `global`: pchat's options before the subcommand, such as `--json`); the copy
/// must succeed.
pub fn copy_into_postgres<'a>(
    global: &[&str],
    from: &Path,
    central: &str,
    pools: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Run {
    let args = copy_args(from, central, pools);
    let args: Vec<&str> = global.iter().copied().chain(["copy-store"]).chain(args.iter().map(String::as_str)).collect();
    Run::from(copy_store_command(&args).output().expect("pchat runs")).ok()
}
