//! The command line of DESIGN.md §1 and its exit codes: 0 success, 1 stopped by a terminating
//! error, 2 usage or syntax error, 3 ran to the end with non-terminating errors.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{Parser, Subcommand};

use crate::catalog::Cmdlet;
use crate::engine::{self, Budget, Options, PromptMode, Shell};
use crate::{output, powershell, repl};

pub const EXIT_OK: i32 = 0;
pub const EXIT_TERMINATED: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_NON_TERMINATING: i32 = 3;

/// The largest script pchat reads (a runbook file or standard input): 16 MiB.
const MAX_SCRIPT_BYTES: u64 = 16 << 20;

#[derive(Parser)]
#[command(name = "pchat", version, about = "Administer Persistent Chat from Rhai: a REPL, runbooks and one-liners")]
struct Cli {
    /// The store (central database file); pool databases live beside it.
    #[arg(long, env = "PCHAT_DB", global = true, value_name = "PATH")]
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
    /// Evaluate CODE and print the result.
    #[arg(short = 'c', value_name = "CODE")]
    code: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run a runbook (.rhai, or .ps1 for PowerShell syntax).
    Run {
        file: PathBuf,
        /// A value for the script's ARGS map (repeatable).
        #[arg(long = "arg", value_name = "NAME=VALUE")]
        args: Vec<String>,
    },
}

fn data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join("pchat"))
}

fn default_db(demo: bool) -> Option<PathBuf> {
    data_dir().map(|d| d.join(if demo { "demo.db" } else { "pchat.db" }))
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

/// Load the demo environment into a store that has no topology yet, through the cmdlets themselves.
fn load_demo(shell: &mut Shell, db: &Path) -> Result<(), String> {
    let loaded = shell.eval("get_cs_service().len() > 0").map_err(|e| engine::describe_error(&e))?;
    if loaded.as_bool().unwrap_or(false) {
        return Ok(());
    }
    let dir = db.parent().unwrap_or(Path::new("."));
    let topology = dir.join("demo-topology.json");
    let directory = dir.join("demo-directory.json");
    let files = crate::files::Guard::unconfined();
    files.write_bytes(&topology, false, DEMO_TOPOLOGY.as_bytes()).map_err(|e| e.to_string())?;
    files.write_bytes(&directory, false, DEMO_DIRECTORY.as_bytes()).map_err(|e| e.to_string())?;
    let code = format!(
        "publish_cs_topology(#{{FileName: {:?}, Confirm: false}}); import_cs_ad_principal(#{{FileName: {:?}, Confirm: false}});",
        topology.to_string_lossy(),
        directory.to_string_lossy()
    );
    let _ = shell.eval(&code).map_err(|e| engine::describe_error(&e))?;
    eprintln!("pchat: loaded the demo environment into {}", db.display());
    Ok(())
}

impl repl::ReplHost for Shell {
    fn eval(&mut self, code: &str) -> Result<rhai::Dynamic, String> {
        let rhai = if powershell::looks_like_powershell(code) {
            powershell::for_engine(code, engine::is_available).map_err(|(message, _)| message)?
        } else {
            code.to_string()
        };
        Shell::eval(self, &rhai).map_err(|e| self.describe_error(&e))
    }
    fn engine(&self) -> &rhai::Engine {
        Shell::engine(self)
    }
    fn json(&self) -> bool {
        self.json
    }
    fn is_available(&self, cmdlet: &Cmdlet) -> bool {
        engine::is_available(cmdlet)
    }
    fn variables(&self) -> Vec<String> {
        Shell::variables(self)
    }
}

/// Run one script and turn its outcome into an exit code. `powershell`: the script is PowerShell
/// (a `.ps1` runbook); otherwise PowerShell is recognised by its first statement.
fn run_script(shell: &mut Shell, code: &str, powershell: bool) -> i32 {
    let translated;
    let code = if powershell || powershell::looks_like_powershell(code) {
        match powershell::for_engine(code, engine::is_available) {
            Ok(rhai) => {
                translated = rhai;
                translated.as_str()
            }
            Err((message, syntax)) => {
                eprintln!("{message}");
                return if syntax { EXIT_USAGE } else { EXIT_TERMINATED };
            }
        }
    } else {
        code
    };
    match shell.eval(code) {
        Ok(value) => {
            let text = output::render(&value, shell.json);
            if !text.is_empty() {
                println!("{}", text.trim_end_matches('\n'));
            }
            if shell.errors_written() > 0 { EXIT_NON_TERMINATING } else { EXIT_OK }
        }
        Err(e) => {
            eprintln!("{}", shell.describe_error(&e));
            if engine::is_syntax_error(&e) { EXIT_USAGE } else { EXIT_TERMINATED }
        }
    }
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
        }
    };
    if cli.code.is_some() && cli.command.is_some() {
        eprintln!("pchat: -c and run cannot be used together");
        return EXIT_USAGE;
    }
    let Some(db) = cli.db.clone().or_else(|| default_db(cli.demo)) else {
        eprintln!("pchat: no data directory on this system; give the store with --db PATH or PCHAT_DB");
        return EXIT_USAGE;
    };
    let interrupt = Arc::new(AtomicBool::new(false));
    let flag = interrupt.clone();
    // First Ctrl-C stops the running script cleanly (its open transaction rolls back); a second one
    // while the first is still pending ends the process.
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    let (script, args) = match &cli.command {
        Some(Command::Run { file, args }) => match parse_args(args) {
            Ok(a) => (Some(file.clone()), a),
            Err(e) => {
                eprintln!("pchat: {e}");
                return EXIT_USAGE;
            }
        },
        None => (None, Vec::new()),
    };
    // Runbooks and scripts on standard input may run unattended and come from someone else: they
    // open files only in their allowed folders. `-c` and the REPL are the administrator's own hand.
    let stdin_script = cli.code.is_none() && script.is_none() && !std::io::stdin().is_terminal();
    let opts = Options {
        db: db.clone(),
        json: cli.json,
        what_if: cli.what_if,
        prompt_mode: PromptMode::detect(cli.yes),
        script: script.clone(),
        args,
        confined: script.is_some() || stdin_script,
        budget: budget(&cli, script.is_some() || stdin_script || cli.code.is_some()),
    };
    let mut shell = match Shell::new(opts, interrupt.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("pchat: {e:#}");
            return EXIT_TERMINATED;
        }
    };
    if cli.demo
        && let Err(e) = load_demo(&mut shell, &db)
    {
        eprintln!("pchat: cannot load the demo environment: {e}");
        return EXIT_TERMINATED;
    }
    if let Some(file) = script {
        return match crate::files::Guard::unconfined().read_text(&file, MAX_SCRIPT_BYTES) {
            Ok(code) => {
                let ps1 = file.extension().is_some_and(|x| x.eq_ignore_ascii_case("ps1"));
                run_script(&mut shell, &code, ps1)
            }
            Err(e) => {
                eprintln!("pchat: cannot read the runbook: {e}");
                EXIT_USAGE
            }
        };
    }
    if let Some(code) = &cli.code {
        return run_script(&mut shell, code, false);
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
        return run_script(&mut shell, &code, false);
    }
    let history = data_dir().map(|d| d.join("history.txt"));
    match repl::run(&mut shell, history) {
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
}
