//! Runbooks as an administrator meets them: declared parameters checked before anything runs,
//! shipped runbooks that do what their headers say and fail honestly.

use crate::common;

use common::{ROOT, Store};

fn script(name: &str) -> String {
    format!("{ROOT}/scripts/{name}")
}

/// No store file was created: the command line was refused before the store was opened.
fn no_store(s: &Store) {
    assert!(!s.db().exists(), "the store was opened");
}

#[test]
fn argument_names_match_declared_parameters_case_insensitively() {
    let s = Store::demo();
    // The README's cron line used `days=90`: it must mean Days, not the default 365.
    let run = s.run(&["--what-if", "run", &script("retention.rhai"), "--arg", "days=730"]).ok();
    assert!(run.stdout.contains("(older than 730 days)"), "{}", run.stdout);
}

#[test]
fn unknown_missing_and_mistyped_arguments_exit_2_before_the_store_is_opened() {
    let s = Store::empty();
    for (args, want) in [
        (vec!["run", &script("retention.rhai") as &str, "--arg", "Dys=30"], "did you mean 'Days'?"),
        (vec!["run", &script("retention.rhai"), "--arg", "Days=ten"], "'ten' is not a whole number"),
        (vec!["run", &script("retention.rhai"), "--arg", "Da=1"], "no parameter 'Da'"),
        (vec!["run", &script("nightly_export.rhai")], "missing --arg Folder=<string>"),
        (vec!["run", &script("retention.rhai"), "--arg", "Days=1", "--arg", "DAYS=2"], "given twice"),
    ] {
        let run = s.run(&args);
        assert_eq!(run.code, 2, "{args:?}\n{}", run.stderr);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains("--help` lists"), "{}", run.stderr);
        assert!(run.stdout.is_empty());
        no_store(&s);
    }
}

#[test]
fn a_runbook_without_params_accepts_no_argument() {
    let s = Store::empty();
    let run = s.runbook("plain.rhai", "print(ARGS.len());", &["--arg", "x=1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("declares no parameters"), "{}", run.stderr);
    let run = s.runbook("plain.rhai", "print(ARGS.len());", &[]).ok();
    assert_eq!(run.stdout.trim(), "0");
}

#[test]
fn help_lists_the_parameters_and_opens_no_store() {
    let s = Store::empty();
    let run = s.run(&["run", &script("retention.rhai"), "--help"]).ok();
    for want in ["--arg Days=<int>", "default 365", "Category", "Pool", "is deleted"] {
        assert!(run.stdout.contains(want), "{want}: {}", run.stdout);
    }
    let run = s.run(&["run", &script("rooms/bulk-create.rhai"), "--help"]).ok();
    assert!(run.stdout.contains("File") && run.stdout.contains("mandatory"), "{}", run.stdout);
    let run = s.run(&["--json", "run", &script("nightly_export.rhai"), "--help"]).ok();
    let doc: serde_json::Value = serde_json::from_str(&run.stdout).expect("one JSON document");
    assert_eq!(doc[0]["Name"], "Folder");
    assert_eq!(doc[0]["Mandatory"], true);
    no_store(&s);
}

#[test]
fn args_hold_declared_spellings_converted_to_their_type() {
    let s = Store::empty();
    let code = r#"
        const PARAMS = #{
            Days: #{ type: "int", default: 365, help: "days" },
            Ratio: #{ type: "float", help: "ratio" },
            Quiet: #{ type: "bool", default: false, help: "quiet" },
            Since: #{ type: "date", help: "since" },
            Pools: #{ type: "string[]", help: "pools" },
            Note: #{ type: "string", help: "note" },
        };
        print(`${type_of(ARGS.Days)} ${ARGS.Days + 1} ${ARGS.Ratio * 2.0} ${ARGS.Quiet} ${ARGS.Since} ${ARGS.Pools.len()} ${"Note" in ARGS}`);
    "#;
    let run = s
        .runbook(
            "typed.rhai",
            code,
            &["--arg", "ratio=1.5", "--arg", "QUIET=yes", "--arg", "since=3/1/2018", "--arg", "pools=pc01, pc02"],
        )
        .ok();
    assert_eq!(run.stdout.trim(), "i64 366 3.0 true 2018-03-01 2 false");
    let run = s.runbook("typed.rhai", code, &["--arg", "Since=31/1/2018"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("not a valid date"), "{}", run.stderr);
}

#[test]
fn shipped_runbooks_all_declare_their_parameters() {
    let mut files = vec![];
    for dir in ["scripts", "scripts/rooms"] {
        for e in std::fs::read_dir(format!("{ROOT}/{dir}")).expect("scripts").flatten() {
            if e.path().extension().is_some_and(|x| x == "rhai") {
                files.push(e.path());
            }
        }
    }
    assert!(files.len() >= 9);
    for f in files {
        let code = std::fs::read_to_string(&f).expect("runbook");
        if code.contains("ARGS") {
            let params = pchat::engine::params::Params::from_rhai(&code).expect("valid PARAMS");
            assert!(params.is_some(), "{} reads ARGS without declaring PARAMS", f.display());
            for p in params.iter().flat_map(|p| p.iter()) {
                assert!(!p.help.is_empty(), "{}: {} has no help", f.display(), p.name);
                assert!(
                    code.contains(&format!("ARGS.{}", p.name)) || code.contains(&format!("\"{}\" in ARGS", p.name))
                );
            }
        }
    }
    // The README and the runbooks' own headers use the declared spellings.
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).expect("readme");
    for line in readme.lines().filter(|l| l.contains("--arg ")) {
        let Some(file) = line
            .split_whitespace()
            .map(|w| w.trim_matches('`'))
            .find(|w| w.ends_with(".rhai") && w.starts_with("scripts/"))
        else {
            continue;
        };
        let params =
            pchat::engine::params::Params::from_rhai(&std::fs::read_to_string(format!("{ROOT}/{file}")).unwrap())
                .unwrap()
                .unwrap_or_default();
        for arg in line.split("--arg ").skip(1) {
            let name = arg.split('=').next().unwrap_or("").trim_start_matches('[');
            assert!(params.iter().any(|p| p.name == name), "README: {file} has no parameter {name}: {line}");
        }
    }
}
