//! Every example of every available cmdlet's catalog entry runs as a test against the demo store
//! plus the fixtures under tests/fixtures/ (DESIGN.md §5: "the examples in each catalog entry run
//! as tests").

mod common;
use std::path::Path;

use common::{ROOT, Store, all_available};
use pchat::catalog::{self, Expect};
use pchat::engine::is_available;

/// Run an example in its own working directory (examples may write files such as pchat.zip),
/// with the repository's `scripts` folder reachable, so the repository is never written to.
fn run_isolated(s: &Store, code: &str) -> common::Run {
    let cwd = s.dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).expect("cwd");
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(Path::new(ROOT).join("scripts"), cwd.join("scripts"));
    s.run_in(&cwd, &["--yes", "-c", code])
}

#[test]
fn catalog_examples_behave_as_documented() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for cmdlet in catalog::all().iter().filter(|c| is_available(c)) {
        for ex in cmdlet.examples {
            // Examples that need chat objects wait until the fixture providing them is active.
            if !all_available(ex.code) {
                continue;
            }
            ran += 1;
            let s = Store::examples();
            let run = run_isolated(&s, ex.code);
            let ok = match ex.expect {
                Expect::Ok => run.code == 0,
                Expect::Error(id) => run.code != 0 && run.stderr.contains(&format!(": {id}:")),
            };
            if !ok {
                failures.push(format!(
                    "{} example `{}` (expected {:?}): exit {}\n{}{}",
                    cmdlet.name, ex.code, ex.expect, run.code, run.stdout, run.stderr
                ));
            }
        }
    }
    assert!(ran >= 20, "only {ran} examples ran");
    assert!(failures.is_empty(), "{} of {ran} examples failed:\n{}", failures.len(), failures.join("\n"));
}
