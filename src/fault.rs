//! Named fault points for the fault-injection tests: `PCHAT_FAULT=<step>:kill` ends the process
//! abruptly (as `kill -9` would: no destructor, no rollback, no checkpoint) when it reaches
//! `<step>`; `PCHAT_FAULT=<step>:pause:<file>` prints `pchat-fault: reached <step>` on standard
//! error and waits until `<file>` exists, so a test can run other processes at exactly that point.
//! `PCHAT_FAULT=<step>:full` makes the step fail as a full disk would (only the `commit:<file>`
//! steps of SQLite, see `store::db`, and PostgreSQL's `prepare:<database>` and
//! `commit:<database>`, see `store::db::pg`, can fail that way).
//! `PCHAT_FAULT=<step>:conflict:<N>` makes the step fail its first `N` times in the process as a
//! transaction that lost a race with another session (PostgreSQL 40001), and
//! `PCHAT_FAULT=<step>:busy:<N>` as one that waited too long for a lock (55P03): the engine's
//! retry of a call (engine/retry.rs) is tested with them on SQLite, where neither happens by
//! itself. The engine's steps that can fail so: `after-handler` (every call on one object, its
//! handler done, before its audit record), `before-commit` (a call's or a piped call's own
//! transaction) and `atomic:before-commit` (an atomic run's).
//! Several faults are separated by `,`. Without the variable every point is one load and a branch.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

enum Action {
    Kill,
    Pause(String),
    Full,
    /// Fail the first `times` visits (`failed` counts them).
    Fail {
        failure: Failure,
        times: usize,
        failed: AtomicUsize,
    },
}

/// How a step injected with `conflict` or `busy` fails (the caller builds the store's error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Conflict,
    Busy,
}

/// `<step>:conflict:<N>` or `<step>:busy:<N>` (a step name may itself hold `:`).
fn parse_failure(f: &str) -> Option<(String, Action)> {
    let (rest, times) = f.rsplit_once(':')?;
    let times = times.parse().ok()?;
    let (step, failure) = if let Some(step) = rest.strip_suffix(":conflict") {
        (step, Failure::Conflict)
    } else {
        (rest.strip_suffix(":busy")?, Failure::Busy)
    };
    Some((step.to_string(), Action::Fail { failure, times, failed: AtomicUsize::new(0) }))
}

/// The faults asked for, read once: the environment of a process does not change under it.
fn faults() -> &'static [(String, Action)] {
    static FAULTS: OnceLock<Vec<(String, Action)>> = OnceLock::new();
    FAULTS.get_or_init(|| {
        let Ok(spec) = std::env::var("PCHAT_FAULT") else { return Vec::new() };
        spec.split(',')
            .filter_map(|f| {
                let f = f.trim();
                if let Some(step) = f.strip_suffix(":kill") {
                    return Some((step.to_string(), Action::Kill));
                }
                if let Some(step) = f.strip_suffix(":full") {
                    return Some((step.to_string(), Action::Full));
                }
                if let Some(fault) = parse_failure(f) {
                    return Some(fault);
                }
                let (step, file) = f.split_once(":pause:")?;
                Some((step.to_string(), Action::Pause(file.to_string())))
            })
            .collect()
    })
}

/// A named step of a change (see the module comment).
pub fn point(step: &str) {
    for (name, action) in faults() {
        if name != step {
            continue;
        }
        match action {
            Action::Kill => {
                eprintln!("pchat-fault: killed at {step}");
                std::process::abort();
            }
            Action::Full | Action::Fail { .. } => {}
            Action::Pause(file) => {
                eprintln!("pchat-fault: reached {step}");
                while !std::path::Path::new(file).exists() {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
            }
        }
    }
}

/// Whether the step is to fail as on a full disk (`<step>:full`).
pub fn full(step: &str) -> bool {
    faults().iter().any(|(name, action)| name == step && matches!(action, Action::Full))
}

/// Whether the step is to fail this time as a lost race (`<step>:conflict:<N>`) or a lock wait
/// (`<step>:busy:<N>`): the first `N` visits of the process fail.
pub fn failure(step: &str) -> Option<Failure> {
    faults().iter().find_map(|(name, action)| match action {
        Action::Fail { failure, times, failed } if name == step => {
            let visits = failed.fetch_add(1, Ordering::Relaxed);
            (visits < *times).then_some(*failure)
        }
        _ => None,
    })
}

/// Whether any fault is asked for at a step whose name starts with `prefix`.
pub fn any_step_starting(prefix: &str) -> bool {
    faults().iter().any(|(name, _)| name.starts_with(prefix))
}
