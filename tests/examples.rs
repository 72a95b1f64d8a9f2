//! Every example of every available cmdlet's catalog entry runs as a test against the demo store
//! plus the fixtures under tests/fixtures/ (DESIGN.md §5: "the examples in each catalog entry run
//! as tests").

mod common;
use std::path::Path;
use std::sync::OnceLock;

use common::{ROOT, Store};
use pchat::catalog::{self, Expect};
use pchat::engine::is_available;

/// Cmdlet function names a fixture calls (`xxx_cs_yyy(`).
fn called_cmdlets(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("_cs_") {
        let start = code[..i].rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).map_or(0, |p| p + 1);
        let end = i + code[i..].find('(').unwrap_or(0);
        if end > i {
            out.push(code[start..end].to_string());
        }
    }
    out
}

fn available(rhai_name: &str) -> bool {
    catalog::all().iter().any(|c| c.rhai_name() == rhai_name && is_available(c))
}

/// Demo store plus every fixture whose cmdlets all exist in this build, built once.
fn template() -> &'static Store {
    static T: OnceLock<Store> = OnceLock::new();
    T.get_or_init(|| {
        let s = Store::demo();
        let mut fixtures: Vec<_> = std::fs::read_dir(Path::new(ROOT).join("tests/fixtures"))
            .expect("fixtures")
            .flatten()
            .map(|e| e.path())
            .collect();
        fixtures.sort();
        for f in fixtures {
            let code = std::fs::read_to_string(&f).expect("fixture");
            if called_cmdlets(&code).iter().all(|c| available(c)) {
                s.run(&["--yes", "run", &f.to_string_lossy()]).ok();
            }
        }
        s
    })
}

fn copy_of(template: &Store) -> Store {
    let s = Store::empty();
    for entry in std::fs::read_dir(template.dir.path()).expect("template").flatten() {
        if entry.file_name().to_string_lossy().ends_with(".db") {
            std::fs::copy(entry.path(), s.dir.path().join(entry.file_name())).expect("copy");
        }
    }
    s
}

/// Run an example in its own working directory (examples may write files such as pchat.zip),
/// with the repository's `scripts` folder reachable, so the repository is never written to.
fn run_isolated(s: &Store, code: &str) -> common::Run {
    let cwd = s.dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).expect("cwd");
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(Path::new(ROOT).join("scripts"), cwd.join("scripts"));
    let out = s
        .command(&["--yes", "-c", code])
        .current_dir(&cwd)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("pchat runs");
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[test]
fn catalog_examples_behave_as_documented() {
    let mut failures = Vec::new();
    let mut ran = 0;
    for cmdlet in catalog::all().iter().filter(|c| is_available(c)) {
        for ex in cmdlet.examples {
            // Examples that need chat objects wait until the fixture providing them is active.
            if called_cmdlets(ex.code).iter().any(|c| !available(c)) {
                continue;
            }
            ran += 1;
            let s = copy_of(template());
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
