//! Admin scripts written the way published Lync/Skype for Business scripts are (inventory and
//! health reports, backup jobs, migration preparation, bulk changes from CSV, policy audits),
//! each run end to end through the built binary against its own copy of the fixture store.
//!
//! Each script in tests/ps_scripts/ states what it must do in `##` comment lines (PowerShell
//! ignores them): `## exit: N` (default 0), `## out: TEXT` / `## notout: TEXT` (stdout has or
//! lacks TEXT), `## err: TEXT` (stderr has it), `## file: NAME: TEXT` (a file it wrote has it),
//! `## state: RHAI` (a Rhai expression over the resulting store is true), `## arg: K=V`
//! (passed as --arg), and `## input: NAME` followed by `##| line`s (a file given to the script).

use std::path::Path;

use crate::common::{ROOT, Store};

#[derive(Default)]
struct Expect {
    exit: i32,
    out: Vec<String>,
    notout: Vec<String>,
    err: Vec<String>,
    files: Vec<(String, String)>,
    state: Vec<String>,
    args: Vec<String>,
    inputs: Vec<(String, String)>,
}

fn expectations(script: &str) -> Expect {
    let mut e = Expect::default();
    for line in script.lines() {
        if let Some(content) = line.strip_prefix("##|") {
            let last = e.inputs.last_mut().expect("##| line before ## input:");
            last.1.push_str(content.strip_prefix(' ').unwrap_or(content));
            last.1.push('\n');
            continue;
        }
        let Some(d) = line.strip_prefix("## ") else { continue };
        let (key, value) = d.split_once(": ").unwrap_or((d.trim_end_matches(':'), ""));
        let value = value.to_string();
        match key {
            "exit" => e.exit = value.parse().expect("exit code"),
            "out" => e.out.push(value),
            "notout" => e.notout.push(value),
            "err" => e.err.push(value),
            "file" => {
                let (name, text) = value.split_once(": ").expect("file: NAME: TEXT");
                e.files.push((name.to_string(), text.to_string()));
            }
            "state" => e.state.push(value),
            "arg" => e.args.push(value),
            "input" => e.inputs.push((value, String::new())),
            other => panic!("unknown directive '## {other}'"),
        }
    }
    e
}

fn check(path: &Path) -> Vec<String> {
    let name = path.file_name().unwrap_or_default().to_string_lossy().into_owned();
    let script = std::fs::read_to_string(path).expect("script");
    let lines = script.lines().filter(|l| !l.starts_with("##")).count();
    let mut problems = Vec::new();
    if !(5..=80).contains(&lines) {
        problems.push(format!("{name}: {lines} lines (a corpus script has 5 to 80)"));
    }
    let e = expectations(&script);
    assert!(
        !e.out.is_empty() || !e.state.is_empty() || !e.files.is_empty(),
        "{name} checks nothing beyond its exit code"
    );
    let s = Store::examples();
    for (file, content) in &e.inputs {
        std::fs::write(s.dir.path().join(file), content).expect("input file");
    }
    let target = s.dir.path().join(&name);
    std::fs::write(&target, &script).expect("copy script");
    let target = target.to_string_lossy().into_owned();
    let mut args = vec!["run", target.as_str()];
    for a in &e.args {
        args.push("--arg");
        args.push(a);
    }
    let run = s.run_in(s.dir.path(), &args);
    let context = || format!("{name}\n--- stdout\n{}--- stderr\n{}", run.stdout, run.stderr);
    if run.code != e.exit {
        problems.push(format!("exit {} instead of {}: {}", run.code, e.exit, context()));
    }
    for o in &e.out {
        if !run.stdout.contains(o.as_str()) {
            problems.push(format!("stdout lacks '{o}': {}", context()));
        }
    }
    for o in &e.notout {
        if run.stdout.contains(o.as_str()) {
            problems.push(format!("stdout has '{o}': {}", context()));
        }
    }
    for o in &e.err {
        if !run.stderr.contains(o.as_str()) {
            problems.push(format!("stderr lacks '{o}': {}", context()));
        }
    }
    for (file, text) in &e.files {
        let found = std::fs::read_dir(s.dir.path())
            .expect("store dir")
            .flatten()
            .filter(|f| f.file_name().to_string_lossy().starts_with(file.as_str()))
            .any(|f| std::fs::read_to_string(f.path()).is_ok_and(|c| c.contains(text.as_str())));
        if !found {
            problems.push(format!("no file {file} holding '{text}': {}", context()));
        }
    }
    for st in &e.state {
        let check = s.c(st);
        if !check.stdout.trim().eq_ignore_ascii_case("true") {
            problems.push(format!("{name}: state check failed: {st} -> {}{}", check.stdout, check.stderr));
        }
    }
    problems
}

#[test]
fn admin_scripts_run_end_to_end_with_their_intended_effect() {
    let mut scripts: Vec<_> = std::fs::read_dir(Path::new(ROOT).join("tests/ps_scripts"))
        .expect("corpus folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "ps1"))
        .collect();
    scripts.sort();
    assert!(scripts.len() >= 40, "the corpus has {} scripts", scripts.len());
    let problems: Vec<String> = scripts.iter().flat_map(|p| check(p)).collect();
    assert!(problems.is_empty(), "{} problem(s):\n{}", problems.len(), problems.join("\n\n"));
}
