//! Which stream a message goes to, and how it looks there. With `--json`, standard output carries
//! the one JSON document of the run, so every message for a person goes to standard error.

/// Set by `--json` (`print`, `What if:` lines and help then go to standard error).
static JSON_STDOUT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_json_stdout(json: bool) {
    JSON_STDOUT.store(json, std::sync::atomic::Ordering::SeqCst);
}

/// Set by `pchat run --plan`: standard output carries the plan alone, so everything the runbook
/// itself prints, its results included, goes to standard error.
static RESERVED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn reserve_stdout() {
    RESERVED.store(true, std::sync::atomic::Ordering::SeqCst);
    set_json_stdout(true);
}

pub fn stdout_reserved() -> bool {
    RESERVED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Print a result of the run (objects, a value): on stdout, unless it is reserved for a plan.
pub fn result(text: &str) {
    if stdout_reserved() {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

/// Print a message for a person: on stdout, or on stderr when stdout is reserved for JSON.
pub fn say(text: &str) {
    let text = text.strip_suffix('\n').unwrap_or(text);
    if JSON_STDOUT.load(std::sync::atomic::Ordering::SeqCst) {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

/// Errors and warnings stand out on a terminal: red and yellow, unless `NO_COLOR` is set (any
/// value, see no-color.org) or stderr is not a terminal (logs and pipes stay plain).
fn colour_stderr() -> bool {
    use std::io::IsTerminal;
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

/// Print an error message on stderr.
pub fn error(text: &str) {
    if colour_stderr() {
        eprintln!("\x1b[31m{text}\x1b[0m");
    } else {
        eprintln!("{text}");
    }
}

/// Print a warning on stderr.
pub fn warning(text: &str) {
    if colour_stderr() {
        eprintln!("\x1b[33m{text}\x1b[0m");
    } else {
        eprintln!("{text}");
    }
}
