//! Named fault points for the fault-injection tests: `PCHAT_FAULT=<step>:kill` ends the process
//! abruptly (as `kill -9` would: no destructor, no rollback, no checkpoint) when it reaches
//! `<step>`; `PCHAT_FAULT=<step>:pause:<file>` prints `pchat-fault: reached <step>` on standard
//! error and waits until `<file>` exists, so a test can run other processes at exactly that point.
//! Several faults are separated by `,`. Without the variable every point is one load and a branch.

use std::sync::OnceLock;

enum Action {
    Kill,
    Pause(String),
}

/// The faults asked for, read once: the environment of a process does not change under it.
fn faults() -> &'static [(String, Action)] {
    static FAULTS: OnceLock<Vec<(String, Action)>> = OnceLock::new();
    FAULTS.get_or_init(|| {
        let Ok(spec) = std::env::var("PCHAT_FAULT") else { return Vec::new() };
        spec.split(',')
            .filter_map(|f| {
                let mut parts = f.trim().splitn(3, ':');
                let step = parts.next()?.to_string();
                match (parts.next()?, parts.next()) {
                    ("kill", None) => Some((step, Action::Kill)),
                    ("pause", Some(file)) => Some((step, Action::Pause(file.to_string()))),
                    _ => None,
                }
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
            Action::Pause(file) => {
                eprintln!("pchat-fault: reached {step}");
                while !std::path::Path::new(file).exists() {
                    std::thread::sleep(std::time::Duration::from_millis(2));
                }
            }
        }
    }
}
