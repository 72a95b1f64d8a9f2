//! The command line (docs/command-line.md) and its exit codes: 0 success, 1 stopped by a terminating
//! error, 2 usage or syntax error, 3 ran to the end with non-terminating errors.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use rhai::{Dynamic, Map};

use crate::catalog::Cmdlet;
use crate::engine::params::Params;
use crate::engine::{self, Budget, Options, PromptMode, Shell};
use crate::store::pg::postgres_url;
use crate::{handlers, output, powershell, repl};

mod copy_store;

pub const EXIT_OK: i32 = 0;
pub const EXIT_TERMINATED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_NON_TERMINATING: i32 = 3;

/// The largest script pchat reads (a runbook file or standard input): 16 MiB.
const MAX_SCRIPT_BYTES: u64 = 16 << 20;

#[derive(Parser)]
#[command(name = "pchat", version, about = "Administer Persistent Chat from Rhai: a REPL, runbooks and one-liners")]
struct Cli {
    /// The store: its central database file (pool databases live beside it), or a PostgreSQL
    /// store's central database as a `postgres://` URL (copied there with copy-store).
    #[arg(long, env = "PCHAT_DB", global = true, value_name = "PATH|URL")]
    db: Option<PathBuf>,
    /// Print results as JSON.
    #[arg(long, global = true)]
    json: bool,
    /// Every changing cmdlet behaves as if given `WhatIf: true`: nothing is written.
    #[arg(long = "what-if", global = true)]
    what_if: bool,
    /// Answer Yes to confirmation prompts (for unattended runs).
    #[arg(long, global = true)]
    yes: bool,
    /// Use the demo store (`<data dir>/pchat/demo.db` unless --db), loading the demo environment into it when it is new.
    #[arg(long, global = true)]
    demo: bool,
    /// Operations budget of a runbook, stdin script or -c (default 1,000,000,000).
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_operations: Option<u64>,
    /// Wall-time budget in seconds of a runbook, stdin script or -c (default 3600).
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    max_seconds: Option<u64>,
    /// Memory budget in MB (default 2048); in the REPL too.
    #[arg(long, global = true, value_name = "N", value_parser = clap::value_parser!(u64).range(16..=1_048_576))]
    max_memory_mb: Option<u64>,
    /// The directory user the session acts as (any identity form); its roles are enforced and it
    /// is recorded in the audit. Default: the operating-system account, matched by logon name.
    #[arg(long = "as", env = "PCHAT_USER", global = true, value_name = "NAME")]
    acting_as: Option<String>,
    /// Evaluate CODE and print the result.
    #[arg(short = 'c', value_name = "CODE")]
    code: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a runbook (.rhai, or .ps1 for PowerShell syntax). `pchat run FILE --help` lists its parameters.
    #[command(disable_help_flag = true)]
    Run {
        file: Option<PathBuf>,
        /// A value for one of the runbook's declared parameters (repeatable).
        #[arg(long = "arg", value_name = "NAME=VALUE")]
        args: Vec<String>,
        /// List the runbook's parameters (with FILE), else this help.
        #[arg(long, short = 'h')]
        help: bool,
        /// Commit every change of the run together, or none (files are moved into place at the commit).
        #[arg(long)]
        atomic: bool,
        /// Run without keeping anything and print what the run would change (`--json` for data).
        #[arg(long)]
        plan: bool,
    },
    /// Copy a whole SQLite store (central and pool databases) into PostgreSQL, verified per table.
    ///
    /// Every table is compared by its row count and a checksum before anything commits; the
    /// source is only read. Every SQL instance of the source's topology needs a --pool.
    CopyStore(copy_store::Args),
}

fn data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("pchat"))
}

fn default_db(demo: bool) -> Option<PathBuf> {
    data_dir().map(|d| d.join(if demo { "demo.db" } else { "pchat.db" }))
}

/// The store as messages show it: a file's path, a URL without its password.
fn shown_db(db: &Path) -> String {
    match postgres_url(db) {
        Some(url) => crate::store::pg::shown_url(url),
        None => db.display().to_string(),
    }
}

/// Why `--demo` with a PostgreSQL store is refused, and the three commands that give the demo
/// there, written out for the URL given (`shown`: its password masked) so they can be pasted.
fn demo_on_postgres(shown: &str) -> String {
    // A pool database's URL: the central one's database name with the instance's short name
    // appended (before any `?parameters`); a key=value connection string gets a placeholder.
    let pool = |instance: &str| -> String {
        if !shown.contains("://") {
            return format!("<connection of the {instance} database>");
        }
        let (base, query) = shown.split_once('?').map_or((shown, ""), |(b, q)| (b, q));
        let query = if query.is_empty() { String::new() } else { format!("?{query}") };
        format!("{base}_{instance}{query}")
    };
    let pools: Vec<String> =
        ["sql01", "sql02", "sql03"].iter().map(|i| format!("--pool '{i}.contoso.com\\rtc={}'", pool(i))).collect();
    format!(
        "pchat: --demo makes a new SQLite store only (the demo's topology names pool files). To try the demo on PostgreSQL, make it in SQLite, copy it into new databases (copy-store creates them, or fills empty ones), then open the copy without --demo:\n  pchat --demo --db demo.db -c 1\n  pchat copy-store --from demo.db --to {shown} {}\n  pchat --db {shown}{}",
        pools.join(" "),
        if shown.contains(":***@") {
            "\n(the password is shown as ***: give it in the URL or in ~/.pgpass)"
        } else {
            ""
        }
    )
}

fn is_ps1(file: &Path) -> bool {
    file.extension().is_some_and(|x| x.eq_ignore_ascii_case("ps1"))
}

enum Runbook {
    /// Run this file, with this code and these `ARGS`.
    Run(PathBuf, String, Map),
    /// Nothing to run (its help was shown): exit with this code.
    Done(i32),
}

/// Read a runbook and bind its `--arg`s to its declared parameters (see `engine::params`).
fn prepare_runbook(file: Option<&Path>, pairs: &[String], help: bool, json: bool) -> Result<Runbook, String> {
    let Some(file) = file else {
        if help {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            if let Some(run) = cmd.find_subcommand_mut("run") {
                let _ = run.print_help();
            }
            return Ok(Runbook::Done(EXIT_OK));
        }
        return Err("run: give the runbook to run (pchat run FILE [--arg NAME=VALUE]...)".into());
    };
    let code = crate::files::Guard::unconfined()
        .read_text(file, MAX_SCRIPT_BYTES)
        .map_err(|e| format!("cannot read the runbook: {e}"))?;
    let given = parse_args(pairs)?;
    if is_ps1(file) {
        // A PowerShell runbook's param() block maps onto the same parameter model.
        if let Some(declared) = powershell::script_params(&code).map_err(|e| format!("{}: {e}", file.display()))? {
            let params = ps1_params(declared).map_err(|e| format!("{}: {e}", file.display()))?;
            if help {
                // Help lists only what can run: a script pchat cannot translate fails here as it
                // would when run.
                powershell::for_engine(&code, &[], |_| true)
                    .map_err(|(message, _)| crate::values::text::escape_block(&message).into_owned())?;
                if json {
                    println!("{}", serde_json::to_string_pretty(&params.to_json()).unwrap_or_default());
                } else {
                    print!("{}", params.usage(&file.display().to_string()));
                }
                return Ok(Runbook::Done(EXIT_OK));
            }
            let hint =
                |e: String| format!("{e}\n(`pchat run {} --help` lists the runbook's parameters)", file.display());
            powershell::check_valid_sets(&code, &given).map_err(hint)?;
            let args = params.bind(&given).map_err(hint)?;
            return Ok(Runbook::Run(file.to_path_buf(), code, args));
        }
        if help {
            println!("Usage: pchat run {} [--arg NAME=VALUE]...", file.display());
            return Ok(Runbook::Done(EXIT_OK));
        }
        let args = given.into_iter().map(|(k, v)| (k.into(), Dynamic::from(v))).collect();
        return Ok(Runbook::Run(file.to_path_buf(), code, args));
    }
    let params = Params::from_rhai(&code).map_err(|e| format!("{}: {e}", file.display()))?.unwrap_or_default();
    if help {
        if json {
            println!("{}", serde_json::to_string_pretty(&params.to_json()).unwrap_or_default());
        } else {
            print!("{}", params.usage(&file.display().to_string()));
        }
        return Ok(Runbook::Done(EXIT_OK));
    }
    let args = params
        .bind(&given)
        .map_err(|e| format!("{e}\n(`pchat run {} --help` lists the runbook's parameters)", file.display()))?;
    Ok(Runbook::Run(file.to_path_buf(), code, args))
}

/// A `.ps1` runbook's `param()` as runbook parameters: types without a runbook form are read as
/// text and converted by the script itself.
fn ps1_params(declared: Vec<powershell::ScriptParam>) -> Result<Params, String> {
    use crate::engine::params::{Param, ParamType};
    let params = declared
        .into_iter()
        .map(|d| {
            let ty = match d.ty.as_deref() {
                Some("int" | "int32" | "int64" | "long") => ParamType::Int,
                Some("double") => ParamType::Float,
                Some("bool" | "boolean" | "switch") => ParamType::Bool,
                Some("datetime") => ParamType::Date,
                Some("string[]" | "array") => ParamType::StringList,
                _ => ParamType::String,
            };
            let help = match (d.help.is_empty(), d.valid.is_empty()) {
                (_, true) => d.help,
                (true, false) => format!("one of {}", d.valid.join(", ")),
                (false, false) => format!("{} (one of {})", d.help, d.valid.join(", ")),
            };
            // The script computes its defaults when it starts; the command line only shows them.
            Param { name: d.name, ty, default: None, mandatory: d.mandatory, help, shown_default: d.default }
        })
        .collect();
    Params::new(params)
}

fn parse_args(pairs: &[String]) -> Result<Vec<(String, String)>, String> {
    pairs
        .iter()
        .map(|p| match p.split_once('=') {
            Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.to_string())),
            _ => Err(format!("--arg '{p}': expected NAME=VALUE")),
        })
        .collect()
}

/// Scripts that run to their end get every budget; the REPL only the memory budget (Ctrl-C ends
/// an input there, and its size limits keep a huge allocation from ending the session).
fn budget(cli: &Cli, script: bool) -> Budget {
    let defaults = Budget::default();
    Budget {
        max_operations: script.then(|| cli.max_operations.unwrap_or(engine::budget::DEFAULT_MAX_OPERATIONS)),
        max_seconds: script.then(|| cli.max_seconds.unwrap_or(engine::budget::DEFAULT_MAX_SECONDS)),
        max_memory_mb: cli.max_memory_mb.unwrap_or(defaults.max_memory_mb),
    }
}

const DEMO_TOPOLOGY: &str = include_str!("../scripts/demo/topology.json");
const DEMO_DIRECTORY: &str = include_str!("../scripts/demo/directory.json");
const DEMO_WORKING_SET: &str = include_str!("../scripts/demo/working_set.rhai");

/// Load the demo environment into a store that has no topology yet, through the cmdlets themselves.
fn load_demo(shell: &mut Shell, db: &Path) -> Result<(), String> {
    if shell.has_topology() {
        return Ok(());
    }
    let dir = db.parent().unwrap_or(Path::new("."));
    let topology = dir.join("demo-topology.json");
    let directory = dir.join("demo-directory.json");
    let files = crate::files::Guard::unconfined();
    files.write_bytes(&topology, false, DEMO_TOPOLOGY.as_bytes()).map_err(|e| e.to_string())?;
    files.write_bytes(&directory, false, DEMO_DIRECTORY.as_bytes()).map_err(|e| e.to_string())?;
    // The working set runs in a block of its own, so its variables stay out of the session.
    let code = format!(
        "publish_cs_topology(#{{FileName: {:?}, Confirm: false, ErrorAction: \"Stop\"}}); import_cs_ad_principal(#{{FileName: {:?}, Confirm: false, ErrorAction: \"Stop\"}});\n{{\n{DEMO_WORKING_SET}\n}}",
        topology.to_string_lossy(),
        directory.to_string_lossy()
    );
    let _ = shell.eval(&code).map_err(|e| engine::describe_error(&e))?;
    eprintln!("pchat: loaded the demo environment into {}", db.display());
    Ok(())
}

/// A store at `db` with the demo environment loaded, as `pchat --demo --db <db>` makes it (tests
/// of the store that need realistic data: `store::sessions` compares a PostgreSQL copy of it).
#[cfg(test)]
pub(crate) fn demo_store_for_tests(db: &Path) {
    let mut shell = Shell::new(test_options(db)).expect("open the demo store");
    load_demo(&mut shell, db).expect("load the demo");
}

/// A shell's options for tests: the store at `db`, unattended, acting as an OS user "tester".
#[cfg(test)]
fn test_options(db: &Path) -> Options {
    Options {
        db: db.to_path_buf(),
        json: false,
        what_if: false,
        prompt_mode: PromptMode::Unattended,
        script: None,
        args: Map::new(),
        handlers: &handlers::TABLE,
        confined: false,
        budget: Budget::default(),
        acting: crate::access::Declared::Os("tester".into()),
        origin: engine::Origin::Code,
        read_only: false,
    }
}

impl repl::ReplHost for Shell {
    fn eval(&mut self, code: &str) -> Result<rhai::Dynamic, String> {
        // A Ctrl-C that stopped the last statement does not stop this one. (A run's single
        // statement keeps a signal that came before it started: it stops at once.)
        crate::interrupt::reset();
        let is_ps = powershell::looks_like_powershell(code);
        let rhai = if is_ps {
            powershell::for_engine(code, &self.variables(), |c| self.is_available(c)).map_err(|(message, _)| message)?
        } else {
            code.to_string()
        };
        let _front_end = is_ps.then(crate::errors::PowerShellRun::start);
        let result = Shell::eval(self, &rhai).map_err(|e| {
            let text = self.describe_error(&e);
            match self.interrupted_note() {
                Some(note) => format!("{text}\n{note}"),
                None => text,
            }
        });
        // The stop was handled: the REPL waits for its next statement (and the signal's grace,
        // interrupt.rs, does not end it).
        crate::interrupt::reset();
        result
    }
    fn engine(&self) -> &rhai::Engine {
        Shell::engine(self)
    }
    fn json(&self) -> bool {
        self.json
    }
    fn is_available(&self, cmdlet: &Cmdlet) -> bool {
        Shell::is_available(self, cmdlet)
    }
    fn variables(&self) -> Vec<String> {
        Shell::variables(self)
    }
}

/// `pchat run --atomic` and `pchat run --plan` (docs/atomic-and-plan.md): the whole runbook in
/// one unit of work, committed only if it would exit 0, or planned and undone.
fn run_unit(shell: &mut Shell, code: &str, file: &Path, atomic: bool, plan: bool) -> i32 {
    let kind = if plan { engine::unit::Kind::Plan } else { engine::unit::Kind::Atomic };
    if let Err(e) = shell.begin_unit(kind) {
        crate::streams::error(&format!("pchat: cannot begin the run's transaction: {e:#}"));
        return EXIT_TERMINATED;
    }
    if !plan {
        let exit = run_script(shell, code, is_ps1(file), Some(file));
        return shell.finish_atomic(exit);
    }
    let before = shell.snapshot();
    // Standard output carries the plan alone: the runbook's own output goes to stderr.
    crate::streams::reserve_stdout();
    let mut exit = run_script(shell, code, is_ps1(file), Some(file));
    if atomic {
        exit = engine::atomic_exit_code(exit);
    }
    let (entries, unreadable) = shell.finish_plan(&before);
    for why in unreadable {
        crate::streams::warning(&format!("pchat: plan: cannot read {why}; those objects are not compared"));
    }
    if shell.json {
        println!("{}", serde_json::to_string_pretty(&engine::plan::to_json(&entries)).unwrap_or_default());
    } else {
        print!("{}", engine::plan::to_text(&entries, exit));
    }
    exit
}

/// Run one script and turn its outcome into an exit code. `powershell`: the script is PowerShell
/// (a `.ps1` runbook); otherwise PowerShell is recognised by its first statement.
fn run_script(shell: &mut Shell, code: &str, powershell: bool, file: Option<&Path>) -> i32 {
    let translated;
    let is_ps = powershell || powershell::looks_like_powershell(code);
    let _front_end = is_ps.then(crate::errors::PowerShellRun::start);
    let code = if is_ps {
        match powershell::for_engine(code, &[], |c| shell.is_available(c)) {
            Ok(rhai) => {
                translated = rhai;
                translated.as_str()
            }
            Err((message, syntax)) => {
                // The message quotes the line, which may hold control characters.
                eprintln!("{}", crate::values::text::escape_block(&message));
                return if syntax { EXIT_USAGE } else { EXIT_TERMINATED };
            }
        }
    } else {
        // The REPL's `help` and `exit` alone: under -c and in a runbook too (Rhai would call
        // `help` an undefined variable).
        match repl::word_as_call(code) {
            Some(call) => {
                translated = call;
                translated.as_str()
            }
            None => code,
        }
    };
    if shell.json {
        powershell::runtime::collect_json_output();
    }
    let result = shell.eval(code);
    let gathered = powershell::runtime::take_json_output().filter(|items| !items.is_empty());
    // A PowerShell `exit N` ends the script with that code.
    if let Some(code) = powershell::runtime::take_exit_code() {
        if let Some(items) = gathered {
            println!("{}", output::render(&rhai::Dynamic::from_array(items), true));
        }
        if let Err(e) = &result {
            eprintln!("{}", engine::describe_error(e));
        }
        return code;
    }
    match result {
        Ok(value) => {
            // A script's statements' output and its final value make one JSON array.
            let value = match gathered {
                Some(mut items) => {
                    items.extend(powershell::runtime::pipe(value));
                    rhai::Dynamic::from_array(items)
                }
                None => value,
            };
            let value = if shell.errors_written() > 0 && is_empty_answer(&value) { rhai::Dynamic::UNIT } else { value };
            let mut text = output::render(&value, shell.json);
            if shell.json && text.is_empty() {
                // Exactly one document: a run with no result says so.
                text = "null".into();
            }
            if !text.is_empty() {
                crate::streams::result(text.trim_end_matches('\n'));
            }
            if shell.errors_written() > 0 { EXIT_NON_TERMINATING } else { EXIT_OK }
        }
        Err(e) => {
            // What the script output before it stopped is still its output.
            if let Some(items) = gathered {
                println!("{}", output::render(&rhai::Dynamic::from_array(items), true));
            }
            let mut text = shell.describe_error(&e);
            // A runbook's errors name its file beside the line.
            if let Some(file) = file
                && let Some(i) = text.rfind(" (line ")
            {
                // A .ps1's statements keep their lines through translation, not their columns.
                if powershell && let Some(c) = text[i..].find(", column ") {
                    let end = text[i + c..].find(')').map_or(text.len(), |e| i + c + e);
                    text.replace_range(i + c..end, "");
                }
                text.insert_str(i + 2, &format!("{}, ", file.display()));
            }
            crate::streams::error(&text);
            if let Some(note) = shell.interrupted_note() {
                crate::streams::error(&note);
            }
            if engine::is_syntax_error(&e) {
                EXIT_USAGE
            } else {
                crate::interrupt::exit_code().unwrap_or(EXIT_TERMINATED)
            }
        }
    }
}

/// No value, no objects, 0 or "": after an error, such a final value was most likely computed over
/// a read that failed (`get_cs_persistent_chat_room(#{Category: "Nope"}).len()`), and printed
/// it would pass for a real answer. The error line and exit code 3 are the answer instead.
fn is_empty_answer(value: &rhai::Dynamic) -> bool {
    value.is_unit()
        || value.as_int() == Ok(0)
        || value.read_lock::<rhai::Array>().is_some_and(|a| a.is_empty())
        || value.read_lock::<rhai::Map>().is_some_and(|m| m.is_empty())
        || value.read_lock::<rhai::ImmutableString>().is_some_and(|s| s.is_empty())
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    if let Some(Command::CopyStore(args)) = &cli.command {
        // The copy reads the source store and writes the targets only: the options of scripts and
        // cmdlets have no meaning for it.
        let unused = [(cli.code.is_some(), "-c"), (cli.what_if, "--what-if"), (cli.demo, "--demo")];
        if let Some((_, flag)) = unused.iter().find(|(given, _)| *given) {
            eprintln!(
                "pchat: copy-store does not take {flag} (give the store to copy with --from PATH; --verify-only compares an existing copy)"
            );
            return EXIT_USAGE;
        }
        crate::interrupt::install();
        return copy_store::run(args, copy_store::Global { db: cli.db.as_deref(), json: cli.json });
    }
    if cli.code.is_some() && cli.command.is_some() {
        eprintln!("pchat: -c and run cannot be used together");
        return EXIT_USAGE;
    }
    // An empty name (`--as "$UNSET"` in a crontab) must not quietly act as the OS account.
    if cli.acting_as.as_deref().is_some_and(|name| name.trim().is_empty()) {
        eprintln!(
            "pchat: --as (or PCHAT_USER) is empty; give a directory user (SIP address, UPN, DOMAIN\\logon, display name or DN), or leave it out to act as the operating-system account"
        );
        return EXIT_USAGE;
    }
    let Some(db) = cli.db.clone().or_else(|| default_db(cli.demo)) else {
        eprintln!("pchat: no data directory on this system; give the store with --db PATH or PCHAT_DB");
        return EXIT_USAGE;
    };
    let on_postgres = postgres_url(&db).is_some();
    if on_postgres && cli.demo {
        eprintln!("{}", demo_on_postgres(&shown_db(&db)));
        return EXIT_USAGE;
    }
    crate::interrupt::install();
    crate::streams::set_json_stdout(cli.json);
    // A runbook's command line is checked, and its --help answered, before the store is opened.
    let (script, args) = match &cli.command {
        Some(Command::Run { file, args, help, .. }) => match prepare_runbook(file.as_deref(), args, *help, cli.json) {
            Ok(Runbook::Run(file, code, args)) => (Some((file, code)), args),
            Ok(Runbook::Done(code)) => return code,
            Err(e) => {
                // The arguments echoed back come from the command line (or a crontab): shown
                // with their control characters written out, as everything pchat prints.
                for line in e.lines() {
                    eprintln!("pchat: {}", crate::values::text::escape_line(line));
                }
                return EXIT_USAGE;
            }
        },
        Some(Command::CopyStore(_)) | None => (None, Map::new()),
    };
    // Runbooks and scripts on standard input may run unattended and come from someone else: they
    // open files only in their allowed folders. `-c` and the REPL are the administrator's own hand.
    let stdin_script = cli.code.is_none() && script.is_none() && !std::io::stdin().is_terminal();
    let budget = budget(&cli, script.is_some() || stdin_script || cli.code.is_some());
    // The time budget also bounds what no check between statements can stop: opening the store
    // and a call blocked on a database server that never answers.
    if let Some(seconds) = budget.max_seconds {
        crate::interrupt::end_after(std::time::Instant::now() + std::time::Duration::from_secs(seconds), seconds);
    }
    let opts = Options {
        db: db.clone(),
        json: cli.json,
        what_if: cli.what_if,
        prompt_mode: PromptMode::detect(cli.yes),
        script: script.as_ref().map(|(f, _)| f.clone()),
        args,
        handlers: &handlers::TABLE,
        confined: script.is_some() || stdin_script,
        budget,
        acting: crate::access::Declared::from(cli.acting_as.as_deref()),
        origin: match (&script, &cli.code) {
            (Some((file, _)), _) => engine::Origin::Runbook(
                std::fs::canonicalize(file).unwrap_or(file.clone()).display().to_string(),
                !is_ps1(file),
            ),
            (None, Some(_)) => engine::Origin::Code,
            (None, None) if stdin_script => engine::Origin::Stdin,
            (None, None) => engine::Origin::Repl(uuid::Uuid::new_v4().simple().to_string()[..8].to_string()),
        },
        read_only: writes_nothing(&cli),
    };
    if cli.demo && opts.read_only && !db.exists() {
        return demo_not_loaded(&db);
    }
    // A store path that does not exist is not silently made into an empty store by a read.
    let folder = db.parent().filter(|p| !p.as_os_str().is_empty()).map(Path::to_path_buf);
    let new_store = (!cli.demo && !on_postgres && !db.exists()).then(|| (db.clone(), folder.filter(|f| !f.exists())));
    let mut shell = match Shell::new(opts) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pchat: {e:#}");
            return EXIT_TERMINATED;
        }
    };
    let code = match shell.check_acting_identity() {
        Ok(()) => run(&mut shell, &cli, &db, script),
        Err(e) => {
            eprintln!("pchat: {}", crate::values::text::escape_line(&e));
            EXIT_USAGE
        }
    };
    if std::env::var_os("PCHAT_REPORT_RETRIES").is_some_and(|v| v == "1") {
        eprintln!("pchat: attempts retried: {}", engine::retry::retried());
    }
    // Only a run that called a cmdlet looked for a store: `help()` alone is not told there is none.
    let looked = shell.cmdlet_called();
    if on_postgres && shell.unmake_unwritten_store() && looked {
        crate::streams::warning(&format!(
            "pchat: there is no store at {}; nothing was written, so none was created (load one with publish_cs_topology(\"topology.json\"), or copy a store into it with `pchat copy-store --from STORE.db --to {} --pool INSTANCE=postgres://…`)",
            shown_db(&db),
            shown_db(&db)
        ));
    }
    if let Some((db, folder)) = new_store
        && !shell.store_changed()
    {
        drop(shell);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
        if let Some(folder) = folder {
            let _ = std::fs::remove_dir(folder);
        }
        if !looked {
            return code;
        }
        crate::streams::warning(&format!(
            "pchat: there is no store at {}; nothing was written, so none was created (load one with publish_cs_topology(\"topology.json\"), or try pchat --demo)",
            db.display()
        ));
    }
    code
}

/// `--what-if` and `--plan` promise to keep no change.
fn writes_nothing(cli: &Cli) -> bool {
    cli.what_if || matches!(cli.command, Some(Command::Run { plan: true, .. }))
}

/// `--demo` with `--what-if` or `--plan` on a store the demo is not loaded into: loading it
/// would write, so nothing runs.
fn demo_not_loaded(db: &Path) -> i32 {
    eprintln!(
        "pchat: --demo: the demo is not loaded into {} yet, and loading it writes; load it first with `pchat --demo --db {} -c 1`, then add --what-if or --plan",
        db.display(),
        db.display()
    );
    EXIT_USAGE
}

/// Run what the command line asks for in the opened store; the exit code.
fn run(shell: &mut Shell, cli: &Cli, db: &Path, script: Option<(PathBuf, String)>) -> i32 {
    let shell = &mut *shell;
    if cli.demo && writes_nothing(cli) && !shell.has_topology() {
        return demo_not_loaded(db);
    }
    if cli.demo
        && let Err(e) = load_demo(shell, db)
    {
        eprintln!("pchat: cannot load the demo environment: {e}");
        return EXIT_TERMINATED;
    }
    if let Some((file, code)) = script {
        if let Some(Command::Run { atomic, plan, .. }) = &cli.command
            && (*atomic || *plan)
        {
            return run_unit(shell, &code, &file, *atomic, *plan);
        }
        return run_script(shell, &code, is_ps1(&file), Some(&file));
    }
    if let Some(code) = &cli.code {
        return run_script(shell, code, false, None);
    }
    if !std::io::stdin().is_terminal() {
        let mut code = String::new();
        if let Err(e) = std::io::stdin().take(MAX_SCRIPT_BYTES + 1).read_to_string(&mut code) {
            eprintln!("pchat: cannot read the script from standard input: {e}");
            return EXIT_USAGE;
        }
        if code.len() as u64 > MAX_SCRIPT_BYTES {
            eprintln!("pchat: the script on standard input is larger than {} MiB", MAX_SCRIPT_BYTES >> 20);
            return EXIT_USAGE;
        }
        return run_script(shell, &code, false, None);
    }
    let history = data_dir().map(|d| d.join("history.txt"));
    match repl::run(shell, history) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("pchat: {e:#}");
            EXIT_TERMINATED
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_arguments_parse() {
        assert_eq!(
            parse_args(&["days=30".into(), "x=a=b".into()]).unwrap(),
            vec![("days".to_string(), "30".to_string()), ("x".to_string(), "a=b".to_string())]
        );
        assert!(parse_args(&["novalue".into()]).is_err());
        assert!(parse_args(&["=v".into()]).is_err());
    }

    /// A property read on the `()` of a New that failed says the New's error; in the REPL's next
    /// input, that New no longer explains a `()`.
    #[test]
    fn a_failed_new_explains_the_nothing_of_its_own_input_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("pchat.db");
        demo_store_for_tests(&db);
        let mut shell = Shell::new(super::test_options(&db)).unwrap();
        let new = r#"new_cs_persistent_chat_room(#{Name: "N", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "nope"})"#;
        let e = repl::ReplHost::eval(&mut shell, &format!("{new}.Identity")).unwrap_err();
        assert!(
            e.starts_with("no object to read 'Identity' from: New-CsPersistentChatRoom: NotFound: -Category"),
            "{e}"
        );
        assert!(repl::ReplHost::eval(&mut shell, new).unwrap().is_unit());
        let e = repl::ReplHost::eval(&mut shell, "let x = (); x.Identity").unwrap_err();
        assert!(e.starts_with("no property 'Identity': the value is () (nothing)"), "{e}");
        // A later call that stopped (caught) is the last call: the New no longer explains.
        let caught = "let r = (); try { r = get_cs_persistent_chat_room(#{Nope: 1}); } catch {}";
        let e = repl::ReplHost::eval(&mut shell, &format!("{new}; {caught}; r.Identity")).unwrap_err();
        assert!(e.starts_with("no property 'Identity': the value is () (nothing)"), "{e}");
    }

    /// Every catalog entry reaches the user: registered in Rhai (a call reaches its binder), listed
    /// by `help`, completed by the REPL. (tests/it/examples.rs runs one of its examples to success.)
    #[test]
    fn every_catalog_entry_is_registered_listed_and_completed() {
        let dir = tempfile::tempdir().unwrap();
        let mut shell = Shell::new(super::test_options(&dir.path().join("pchat.db"))).unwrap();
        let overview = crate::help::overview(&|c| shell.is_available(c));
        let available: Vec<&'static Cmdlet> = crate::catalog::all().iter().filter(|c| shell.is_available(c)).collect();
        let completions = repl::complete::Completions::new(available);
        for cmdlet in crate::catalog::all() {
            let name = cmdlet.rhai_name();
            let err = shell.eval(&format!("{name}(#{{NoSuchParameter: 1}})")).unwrap_err();
            let message = engine::describe_error(&err);
            assert!(
                message.starts_with(&format!("{}: ParameterBinding: no parameter 'NoSuchParameter'", cmdlet.name)),
                "{name}: {message}"
            );
            let listed = overview.lines().filter(|l| l.split_whitespace().next() == Some(name.as_str())).count();
            assert_eq!(listed, 1, "{name}: lines of help naming it");
            let (_, candidates) = completions.complete(&name, name.len());
            assert!(candidates.iter().any(|c| c.replacement == name), "{name} not completed");
        }
    }
}
