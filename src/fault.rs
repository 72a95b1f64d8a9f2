//! Named fault points for the fault-injection tests: `PCHAT_FAULT=<step>:kill` ends the process
//! abruptly (as `kill -9` would: no destructor, no rollback, no checkpoint) when it reaches
//! `<step>`; `PCHAT_FAULT=<step>:pause:<file>` prints `pchat-fault: reached <step>` on standard
//! error and waits until `<file>` exists, so a test can run other processes at exactly that point.
//! `PCHAT_FAULT=<step>:full` makes the step fail as a full disk would (only the `commit:<file>`
//! steps, see `store::db`, can fail that way).
//! Several faults are separated by `,`. Without the variable every point is one load and a branch.

use std::sync::OnceLock;

enum Action {
    Kill,
    Pause(String),
    Full,
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
            Action::Full => {}
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

/// Whether any fault is asked for at a step whose name starts with `prefix`.
pub fn any_step_starting(prefix: &str) -> bool {
    faults().iter().any(|(name, _)| name.starts_with(prefix))
}
