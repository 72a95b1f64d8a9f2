//! Runbooks as an administrator meets them: declared parameters checked before anything runs,
//! shipped runbooks that do what their headers say and fail honestly.

use crate::common;

use common::{ROOT, Store, damage};

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

fn write(s: &Store, name: &str, text: &str) -> String {
    let path = s.dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path.to_string_lossy().into_owned()
}

#[test]
fn bulk_create_fails_row_by_row_and_counts_only_what_it_created() {
    let s = Store::examples();
    s.allow_own_folder();
    let csv = write(
        &s,
        "rooms.csv",
        "Pool,Category,Room,Description,Privacy,Type\n\
         pc01.contoso.com,Legal,Contracts,Contract reviews,Secret,Normal\n\
         pc01.contoso.com,Legal,Bad Privacy,,Hidden,\n\
         ,,,,,\n\
         pc01.contoso.com,Legal,,,,\n\
         pc09.contoso.com,Ops,Ops Desk,,,\n\
         pc01.contoso.com,Finance,FinanceRoom,,,\n\
         pc01.contoso.com,Legal,Litigation,,,\n",
    );
    let file = format!("File={csv}");
    let run = s.run(&["run", &script("rooms/bulk-create.rhai"), "--arg", &file]);
    assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("1 categories and 2 rooms created, 3 rows skipped, 2 rows failed"), "{}", run.stdout);
    assert!(
        run.stderr.contains("line 3: pc01.contoso.com\\Bad Privacy failed:") && run.stderr.contains("Hidden"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("line 5: skipped, no [\"Room\"]"), "{}", run.stderr);
    assert!(run.stderr.contains("line 6: pc09.contoso.com\\Ops Desk failed:"), "{}", run.stderr);
    assert!(run.stderr.contains("2 of 7 rows failed"), "{}", run.stderr);
    assert!(!run.stdout.contains("#{"), "no raw maps: {}", run.stdout);
    let made = s.c(r#"get_cs_persistent_chat_room(#{Category: "Legal"}).map(|r| r.Name)"#).ok();
    assert_eq!(made.stdout.trim(), "Contracts\nLitigation");
}

#[test]
fn bulk_create_what_if_plans_rooms_in_categories_the_same_run_creates() {
    let s = Store::examples();
    s.allow_own_folder();
    let csv = write(
        &s,
        "rooms.csv",
        "Pool,Category,Room\npc01.contoso.com,Legal,Contracts\npc01.contoso.com,Legal,Litigation\n",
    );
    let before = s.dump();
    let file = format!("File={csv}");
    let run = s.run(&["--what-if", "run", &script("rooms/bulk-create.rhai"), "--arg", &file]).ok();
    assert_eq!(run.stdout.matches("What if:").count(), 3, "{}", run.stdout);
    assert!(run.stdout.contains("on target \"pc01.contoso.com\\Litigation\" (in category Legal, created by this run)"));
    assert!(
        run.stdout.contains("1 categories and 2 rooms would be created, 0 rows skipped, 0 rows failed"),
        "{}",
        run.stdout
    );
    assert_eq!(s.dump(), before);
}

#[test]
fn nightly_export_never_claims_an_export_that_failed() {
    let s = Store::examples();
    s.allow_own_folder();
    let folder = s.dir.path().join("exports");
    std::fs::create_dir_all(&folder).expect("folder");
    let folder = format!("Folder={}", folder.display());
    let run =
        s.run(&["run", &script("nightly_export.rhai"), "--arg", &folder, "--arg", "DBInstance=sql09.contoso.com\\rtc"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("Export-CsPersistentChatData: NotFound"), "{}", run.stderr);
    assert!(!run.stdout.contains("Exported"), "{}", run.stdout);
    let run = s.run(&["run", &script("nightly_export.rhai"), "--arg", "Folder=/nonexistent/dir"]);
    assert_eq!(run.code, 1);
    assert!(!run.stdout.contains("Exported"), "{}", run.stdout);
    let run = s.run(&["run", &script("nightly_export.rhai"), "--arg", &folder, "--arg", "Keep=0"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("Keep must be"), "{}", run.stderr);
}

/// After a fail-over the primary instance serves no pool: the export wrote an empty archive over
/// the night's good one and the runbook reported it exported. Now it fails, naming the instance
/// that serves each pool, and the archive already there is left as it was.
#[test]
fn nightly_export_from_an_instance_that_serves_no_pool_fails_and_keeps_the_archive() {
    let s = Store::demo_full();
    s.allow_own_folder();
    let dir = s.dir.path().join("exports");
    std::fs::create_dir_all(&dir).expect("folder");
    let folder = format!("Folder={}", dir.display());
    let nightly = |s: &Store| s.run(&["run", &script("nightly_export.rhai"), "--arg", &folder, "--arg", "Keep=1"]);
    assert!(nightly(&s).ok().stdout.contains("Exported"));
    let archive = std::fs::read(dir.join("pchat-0.zip")).expect("the night's archive");
    let report = std::fs::read(dir.join("pchat-0.html")).expect("its report");
    s.run(&["run", &script("fail_over.rhai"), "--arg", "Pool=pc01.contoso.com"]).ok();

    let run = nightly(&s);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(!run.stdout.contains("Exported"), "{}", run.stdout);
    assert!(
        run.stderr.contains(
            "Export-CsPersistentChatData: InvalidArgument: -DBInstance sql01.contoso.com\\rtc serves no Persistent Chat pool now, so there is nothing to export; pc01.contoso.com is served by sql02.contoso.com\\rtc"
        ),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read(dir.join("pchat-0.zip")).unwrap(), archive, "the good archive is kept");
    assert_eq!(std::fs::read(dir.join("pchat-0.html")).unwrap(), report, "and its report");
    // The instance serving the pool now exports it; given the pool, the runbook finds it itself.
    let export = |extra: &[&str]| {
        let nightly = script("nightly_export.rhai");
        let mut args = vec!["run", nightly.as_str(), "--arg", folder.as_str(), "--arg", "Keep=1"];
        args.extend_from_slice(extra);
        s.run(&args)
    };
    for extra in [["--arg", "DBInstance=sql02.contoso.com\\rtc"], ["--arg", "Pool=pc01.contoso.com"]] {
        assert!(export(&extra).ok().stdout.contains("Exported sql02.contoso.com\\rtc"), "{extra:?}");
        let report = std::fs::read(dir.join("pchat-0.html")).unwrap();
        assert!(String::from_utf8_lossy(&report).contains("Pools: pc01.contoso.com"), "{extra:?}");
    }
    let archive = std::fs::read(dir.join("pchat-0.zip")).unwrap();
    for (extra, want) in [
        (&["--arg", "Pool=pc09.contoso.com"][..], "Get-CsPersistentChatState: NotFound"),
        (
            &["--arg", "Pool=pc01.contoso.com", "--arg", "DBInstance=sql02.contoso.com\\rtc"][..],
            "give Pool or DBInstance, not both",
        ),
    ] {
        let run = export(extra);
        assert_eq!(run.code, 1, "{extra:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(want) && !run.stdout.contains("Exported"), "{extra:?}: {}", run.stderr);
    }
    assert_eq!(std::fs::read(dir.join("pchat-0.zip")).unwrap(), archive, "a failed run writes nothing");
}

#[test]
fn shipped_runbooks_stop_with_the_error_instead_of_an_empty_report() {
    let s = Store::examples();
    let before = s.dump();
    for (file, args, want) in [
        ("retention.rhai", vec!["--arg", "Category=Nope"], "Get-CsPersistentChatRoom: NotFound"),
        ("retention.rhai", vec!["--arg", "Days=0"], "Days must be"),
        ("directory_report.rhai", vec!["--arg", "OU=OU=Nowhere,DC=contoso,DC=com"], "Get-CsAdPrincipal: NotFound"),
        (
            "rooms/rehome-manager.rhai",
            vec!["--arg", "Leaver=contoso\\nobody", "--arg", "NewManager=sip:bobk@contoso.com"],
            "Get-CsUser: NotFound",
        ),
        (
            "rooms/rehome-manager.rhai",
            vec!["--arg", "Leaver=sip:nobody@contoso.com", "--arg", "NewManager=sip:bobk@contoso.com"],
            "Get-CsPersistentChatRoom: NotFound",
        ),
        ("rooms/out-of-scope-report.rhai", vec!["--arg", "Pool=pc09.contoso.com"], "NotFound"),
        ("rooms/disable-unmanaged.rhai", vec!["--arg", "Pool=pc09.contoso.com"], "NotFound"),
        ("fail_over.rhai", vec!["--arg", "Pool=pc09.contoso.com"], "pc09.contoso.com"),
    ] {
        let path = script(file);
        let mut argv = vec!["run", path.as_str()];
        argv.extend(args.iter());
        let run = s.run(&argv);
        assert_eq!(run.code, 1, "{file} {args:?}\n{}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(want), "{file} {args:?}: {}", run.stderr);
        assert!(!run.stdout.contains("Total:") && !run.stdout.contains("re-homed"), "{file}: {}", run.stdout);
    }
    assert_eq!(s.dump(), before);
}

#[test]
fn errors_inside_modules_name_the_runbook_line_and_csv_errors_their_own_line() {
    let s = Store::demo();
    let run = s.runbook("main.rhai", "import \"common\" as c;\nlet x = 1;\nc::ensure(x == 2, \"x must be 2\");\n", &[]);
    assert_eq!(run.code, 1);
    let line = run.stderr.trim();
    assert!(line.starts_with("x must be 2 (in ensure() of module 'stdlib/common.rhai', line "), "{line}");
    assert!(line.ends_with(&format!("({}, line 3, column 4)", s.dir.path().join("main.rhai").display())), "{line}");
    std::fs::write(s.dir.path().join("rows.csv"), "Pool,Room\npc01,A\npc01\n").expect("csv");
    let run = s.runbook("csv.rhai", "\n\nlet rows = read_csv(`${SCRIPT_DIR}/rows.csv`);\n", &[]);
    assert_eq!(run.code, 1);
    let line = run.stderr.trim();
    assert!(line.contains("rows.csv': line 3: 1 fields where the header has 2"), "{line}");
    assert!(line.ends_with("csv.rhai, line 3, column 12)"), "{line}");
}

/// A retention cut-off out of range is refused: it must never fall back to today's date and
/// delete everything (nor panic).
#[test]
fn retention_refuses_days_out_of_range_and_deletes_nothing() {
    let s = Store::demo_full();
    let before = s.dump();
    for days in ["99999999999", "9223372036854775807", "36501"] {
        let run = s.run(&["--yes", "run", &script("retention.rhai"), "--arg", &format!("Days={days}")]);
        assert_eq!(run.code, 1, "Days={days}\n{}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("Days must be a whole number of days from 1 to 36500"), "{}", run.stderr);
        assert!(!run.stdout.contains("Total:"), "{}", run.stdout);
    }
    assert_eq!(s.dump(), before);
    for offset in ["-100000000000", "9223372036854775807"] {
        let run = s.c(&format!("utc_date({offset})"));
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains("outside the calendar"), "{}", run.stderr);
    }
}

/// The header's usage line, with both Category and Pool, selects that pool's category.
#[test]
fn retention_with_category_and_pool_selects_the_category_of_that_pool() {
    let s = Store::demo_full();
    let run = s
        .run(&[
            "--what-if",
            "run",
            &script("retention.rhai"),
            "--arg",
            "Days=1",
            "--arg",
            "Category=Finance",
            "--arg",
            "Pool=pc01.contoso.com",
        ])
        .ok();
    assert!(run.stdout.contains("pc01.contoso.com\\Finance:"), "{}", run.stdout);
    assert!(!run.stdout.contains("pc02.contoso.com"), "{}", run.stdout);
}

/// Servers that are not the pool's are found in the check step, before any server is
/// deactivated or the pool switched.
#[test]
fn fail_over_checks_the_servers_before_changing_anything() {
    let s = Store::demo_full();
    let before = s.dump();
    let run = s.run(&[
        "run",
        &script("fail_over.rhai"),
        "--arg",
        "Pool=pc02.contoso.com",
        "--arg",
        "Servers=pcsrv99.contoso.com",
    ]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("'pcsrv99.contoso.com' is not a server of"), "{}", run.stderr);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
    assert!(!run.stdout.contains("[2]"), "{}", run.stdout);
    assert_eq!(s.dump(), before);
}

/// Under --what-if the export runbook says what it would do, and fails where the real run would.
#[test]
fn nightly_export_under_what_if_claims_nothing_and_checks_the_folder() {
    let s = Store::demo_full();
    s.allow_own_folder();
    let folder = s.dir.path().join("exports");
    std::fs::create_dir_all(&folder).expect("folder");
    let arg = format!("Folder={}", folder.display());
    let run = s.run(&["--what-if", "run", &script("nightly_export.rhai"), "--arg", &arg]).ok();
    assert!(run.stdout.contains("What if: would export"), "{}", run.stdout);
    assert!(!run.stdout.contains("Exported"), "{}", run.stdout);
    assert_eq!(std::fs::read_dir(&folder).expect("folder").count(), 0);
    let missing = format!("Folder={}", s.dir.path().join("missing").display());
    let run = s.run(&["--what-if", "run", &script("nightly_export.rhai"), "--arg", &missing]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stderr.contains("its folder"), "{}", run.stderr);
}

/// A room whose only manager has left the directory is unmanaged too.
#[test]
fn disable_unmanaged_counts_managers_who_left_as_none() {
    let s = Store::demo_full();
    let script_path = script("rooms/disable-unmanaged.rhai");
    let before = s.run(&["--what-if", "run", &script_path]).ok().stdout;
    assert!(!before.contains("\\Helpdesk\n"), "{before}");
    s.c(r#"remove_cs_ad_principal("sip:tempuser@contoso.com", #{Confirm: false})"#).ok();
    let after = s.run(&["run", &script_path]).ok().stdout;
    assert!(after.contains("pc01.contoso.com\\Helpdesk\n"), "{after}");
    let run = s.c(r#"get_cs_persistent_chat_room("pc01.contoso.com\\Helpdesk")[0].Disabled"#).ok();
    assert_eq!(run.stdout.trim(), "True");
}

/// A header that is not the runbook's (a misspelt, unknown or missing column, semicolons) and a
/// quoted field never closed stop the run before any row is created; column names ignore case.
#[test]
fn bulk_create_checks_the_header_and_the_quoting_before_any_row() {
    let s = Store::examples();
    s.allow_own_folder();
    let before = s.dump();
    for (name, text, want) in [
        ("typo.csv", "Pool,Category,Room,Privcy\npc01.contoso.com,Legal,R1,Open\n", "column 'Privcy' is not one of"),
        ("semi.csv", "Pool;Category;Room\npc01.contoso.com;Legal;R1\n", "separated by commas"),
        ("short.csv", "Pool,Room\npc01.contoso.com,R1\n", "the header has no column 'Category'"),
        (
            "quote.csv",
            "Pool,Category,Room,Description\npc01.contoso.com,Legal,R1,\"oops\npc01.contoso.com,Legal,R2,ok\n",
            "line 2: a quoted field is never closed",
        ),
    ] {
        let file = format!("File={}", write(&s, name, text));
        let run = s.run(&["run", &script("rooms/bulk-create.rhai"), "--arg", &file]);
        assert_eq!(run.code, 1, "{name}: {}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains(want), "{name}: {}", run.stderr);
    }
    assert_eq!(s.dump(), before);
    let file =
        format!("File={}", write(&s, "case.csv", "pool,CATEGORY,room,PRIVACY\npc01.contoso.com,Legal,R1,Open\n"));
    s.run(&["run", &script("rooms/bulk-create.rhai"), "--arg", &file]).ok();
    let run = s.c(r#"get_cs_persistent_chat_room("pc01.contoso.com\\R1")[0].Privacy"#).ok();
    assert_eq!(run.stdout.trim(), "Open");
}

/// --what-if fails where the real run would: with a pool's backup lost, its changes are refused,
/// so the retention plan must not promise deletions.
#[test]
fn what_if_refuses_changes_to_a_pool_whose_backup_is_lost_as_the_real_run_does() {
    let s = Store::demo_full();
    // pc01's backup file deleted; on PostgreSQL its database dropped.
    assert!(damage::pool_db_exists(&s, "sql02"));
    damage::lose_pool_db(&s, "sql02");
    let real = s.run(&["--yes", "run", &script("retention.rhai"), "--arg", "Days=7", "--arg", "Pool=pc01.contoso.com"]);
    let plan =
        s.run(&["--what-if", "run", &script("retention.rhai"), "--arg", "Days=7", "--arg", "Pool=pc01.contoso.com"]);
    for run in [&real, &plan] {
        assert_eq!(run.code, 1, "{}\n{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("unavailable"), "{}", run.stderr);
        assert!(!run.stdout.contains("Total:"), "{}", run.stdout);
    }
    let run = s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\Helpdesk", #{Description: "x", WhatIf: true})"#);
    assert_eq!(run.code, 3, "{}", run.stdout);
    assert!(run.stderr.contains("unavailable") && !run.stdout.contains("What if"), "{}{}", run.stdout, run.stderr);
    if s.is_postgres() {
        // The advice, followed, works: the database created as it says, then the repair.
        let create = format!("CREATE DATABASE \"{}\" TEMPLATE template0", damage::pool_name(&s, "sql02"));
        let repair = r#"repair_cs_persistent_chat_database(#{Identity: "PersistentChatServer:pc01.contoso.com", Source: "Primary"})"#;
        assert!(run.stderr.contains(&create) && run.stderr.contains(repair), "{}", run.stderr);
        damage::create_empty_pool_db(&s, "sql02");
        s.c(repair).ok();
        s.run(&["--yes", "run", &script("retention.rhai"), "--arg", "Days=7", "--arg", "Pool=pc01.contoso.com"]).ok();
    }
}

#[test]
fn help_writes_out_control_characters_of_defaults_and_help_texts() {
    let s = Store::empty();
    let rhai = s.dir.path().join("hostile.rhai");
    std::fs::write(
        &rhai,
        "const PARAMS = #{ A: #{ type: \"string\", default: \"x\\x1b[31mred\", help: \"h \\x1b[2J clear\\nnext\" },\n\
         B: #{ type: \"string\", mandatory: true, help: \"b\\x1b[2Jb\" } };\nprint(ARGS.A);\n",
    )
    .expect("write runbook");
    let ps1 = s.dir.path().join("hostile.ps1");
    std::fs::write(
        &ps1,
        "param(\n  [string]$A = \"x`e[31mred\", # h \u{1b}[2J clear\n  [string]$B = \"l1`nl2\"\n)\n$A\n",
    )
    .expect("write script");
    for file in [&rhai, &ps1] {
        let run = s.run(&["run", &file.to_string_lossy(), "--help"]).ok();
        assert!(!run.stdout.contains('\u{1b}'), "{}", run.stdout);
        assert!(run.stdout.contains("x\\e[31mred"), "{}", run.stdout);
        assert!(run.stdout.contains("h \\e[2J clear"), "{}", run.stdout);
        // One line per parameter: a line break in a default or a help text cannot split the table.
        let lines: Vec<&str> = run.stdout.lines().skip_while(|l| *l != "Parameters:").skip(1).collect();
        assert_eq!(lines.len(), 2, "{}", run.stdout);
    }
    let run = s.run(&["run", &rhai.to_string_lossy()]);
    assert_eq!(run.code, 2);
    assert!(!run.stderr.contains('\u{1b}') && run.stderr.contains("b\\e[2Jb"), "{}", run.stderr);
    no_store(&s);
}

#[test]
fn usage_errors_show_arguments_with_control_characters_written_out() {
    // A crontab line or a wrapper script can pass anything: echoing it back must not drive the
    // terminal of whoever reads the log.
    let s = Store::empty();
    let ps1 = s.dir.path().join("report.ps1");
    std::fs::write(
        &ps1,
        "param([Parameter(Mandatory)][string]$Pool, [ValidateSet('Open','Closed')][string]$Privacy = 'Open')\n$Pool\n",
    )
    .unwrap();
    let ps1 = ps1.to_string_lossy().into_owned();
    for (args, want) in [
        (
            vec!["run", &script("retention.rhai") as &str, "--arg", "Days=a\u{1b}[2Jb"],
            "'a\\e[2Jb' is not a whole number",
        ),
        (vec!["run", &script("retention.rhai"), "--arg", "D\u{1b}[2J=1"], "no parameter 'D\\e[2J'"),
        (
            vec!["run", &ps1, "--arg", "Pool=x", "--arg", "Privacy=a\u{1b}[2Jb"],
            "--arg Privacy: 'a\\e[2Jb' is not one of Open, Closed",
        ),
    ] {
        let run = s.run(&args);
        assert_eq!(run.code, 2, "{args:?}\n{}", run.stderr);
        assert!(!run.stderr.contains('\u{1b}'), "raw control characters printed: {:?}", run.stderr);
        assert!(run.stderr.contains(want), "{args:?}: {}", run.stderr);
    }
    let run = Store::demo().run(&["--as", "a\u{1b}[2Jb", "-c", "1"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("'a\\e[2Jb' (from --as or PCHAT_USER)"), "{:?}", run.stderr);
    // Every refusal of an argument points at --help, a ValidateSet one included; a mandatory
    // parameter declared without help text is named without a dangling colon.
    let run = s.run(&["run", &ps1, "--arg", "Pool=x", "--arg", "Privacy=Secret"]);
    assert!(run.stderr.contains("--help` lists"), "{}", run.stderr);
    let run = s.run(&["run", &ps1]);
    assert!(run.stderr.lines().any(|l| l == "pchat: missing --arg Pool=<string>"), "{}", run.stderr);
}

#[test]
fn rehome_manager_refuses_a_successor_who_is_the_leaver() {
    // "1 of 1 rooms re-homed from sip:kenmyer@... to sip:kenmyer@..." would report a hand-over
    // that did not happen: the leaver keeps the rooms.
    let s = Store::demo_full();
    let before = s.dump();
    let run = s.run(&[
        "run",
        &script("rooms/rehome-manager.rhai"),
        "--arg",
        "Leaver=sip:kenmyer@contoso.com",
        "--arg",
        "NewManager=Ken Myer",
    ]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("NewManager") && run.stderr.contains("is the leaver"), "{}", run.stderr);
    assert!(!run.stdout.contains("re-homed"), "{}", run.stdout);
    assert_eq!(s.dump(), before);
}

/// A wildcard or a display name several users share names more than one user: re-homing every
/// room to whichever came first would hand a leaver's rooms to a stranger, without a word.
#[test]
fn rehome_manager_refuses_an_identity_naming_several_users() {
    let s = Store::demo_full();
    let before = s.dump();
    let many = s.c(r#"get_cs_user("* B*").len()"#).ok();
    assert!(many.stdout.trim().parse::<usize>().expect("count") > 1, "{}", many.stdout);
    for args in [["Leaver=sip:annb@contoso.com", "NewManager=* B*"], ["Leaver=* B*", "NewManager=sip:bobk@contoso.com"]]
    {
        let run = s.run(&["run", &script("rooms/rehome-manager.rhai"), "--arg", args[0], "--arg", args[1]]);
        assert_eq!(run.code, 1, "{args:?}: {}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("'* B*' names") && run.stderr.contains("users"), "{}", run.stderr);
        assert!(!run.stdout.contains("re-homed"), "{}", run.stdout);
    }
    assert_eq!(s.dump(), before);
}

/// Windows editors (Excel's "CSV UTF-8", Notepad, the PowerShell ISE) start UTF-8 with a
/// byte-order mark: every text input reads as if it had none, instead of an invisible character
/// glued to the first line, header or token.
#[test]
fn text_inputs_saved_with_a_byte_order_mark_read_without_it() {
    let s = Store::examples();
    s.allow_own_folder();
    let csv = write(&s, "excel.csv", "\u{feff}Pool,Category,Room\r\npc01.contoso.com,Legal,Contracts\r\n");
    let file = format!("File={csv}");
    s.run(&["run", &script("rooms/bulk-create.rhai"), "--arg", &file]).ok();
    let run = s.c(r#"get_cs_persistent_chat_room("pc01.contoso.com\\Contracts")[0].Category"#).ok();
    assert!(run.stdout.contains("Legal"), "{}", run.stdout);
    let lines = s.c(&format!("read_lines({csv:?})[0] + \"|\" + read_text({csv:?}).starts_with(\"Pool\")")).ok();
    assert_eq!(lines.stdout.trim(), "Pool,Category,Room|true");
    // Runbooks, .ps1 scripts and a cmdlet's input file.
    let rhai = write(&s, "bom.rhai", "\u{feff}print(\"rhai ran\");\r\n");
    assert!(s.run(&["run", &rhai]).ok().stdout.contains("rhai ran"));
    let ps1 = write(&s, "bom.ps1", "\u{feff}Write-Output \"ps1 ran\"\r\n");
    assert!(s.run(&["run", &ps1]).ok().stdout.contains("ps1 ran"));
    let topology = std::fs::read_to_string(format!("{}/scripts/demo/topology.json", common::ROOT)).expect("topology");
    let fresh = Store::empty();
    let json = write(&s, "topology.json", &format!("\u{feff}{}", fresh.topology_text(&topology)));
    fresh.c(&format!("publish_cs_topology({json:?})")).ok();
    assert!(fresh.c("get_cs_pool().len()").ok().stdout.trim() != "0");
}

/// A fail-over that named only part of the standby set, then a fail-back without servers named:
/// the servers active before the fail-over take new connections again, and only they (the
/// standby server the fail-over left inactive stays so). Without a recorded deactivation (a
/// fail-over made by hand) the fail-back says it falls back to the servers inactive now.
#[test]
fn a_fail_back_restores_the_servers_active_before_the_fail_over() {
    let pc01 = "PersistentChatServer:pc01.contoso.com";
    let active = |s: &Store| {
        s.c(&format!(r#"get_cs_persistent_chat_state("{pc01}")[0].ActiveServers"#))
            .ok()
            .stdout
            .trim()
            .replace('\n', ",")
    };
    let run = |s: &Store, name: &str, extra: &[&str]| {
        let path = script(name);
        let mut args = vec!["run", path.as_str(), "--arg", "Pool=pc01.contoso.com"];
        args.extend_from_slice(extra);
        s.run(&args)
    };
    let s = Store::demo();
    let first = active(&s);
    assert_eq!(first, "pcsrv01.contoso.com,pcsrv02.contoso.com");
    run(&s, "fail_over.rhai", &["--arg", "Servers=pcsrv03.contoso.com"]).ok();
    assert_eq!(active(&s), "pcsrv03.contoso.com");
    let back = run(&s, "fail_back.rhai", &[]).ok();
    assert!(back.stdout.contains(r#"[5] Activate ["pcsrv01.contoso.com", "pcsrv02.contoso.com"]"#), "{}", back.stdout);
    assert_eq!(active(&s), first, "not pcsrv04, which the fail-over left inactive");

    // Failed over by hand, servers switched without a deactivation on record.
    let s = Store::demo();
    s.c(&format!(r#"set_cs_persistent_chat_state("{pc01}", #{{PoolState: "FailedOver"}})"#)).ok();
    s.c(&format!(
        r#"set_cs_persistent_chat_active_server("{pc01}", #{{ActiveServers: #{{Replace: ["pcsrv03.contoso.com"]}}}})"#
    ))
    .ok();
    let back = run(&s, "fail_back.rhai", &[]).ok();
    assert!(
        back.stdout
            .contains("The servers active before the fail-over are not known (the audit trail records no deactivation"),
        "{}",
        back.stdout
    );
    assert_eq!(active(&s), "pcsrv01.contoso.com,pcsrv02.contoso.com,pcsrv04.contoso.com");

    // A fail-back killed after deactivating the servers: a fail-over run then says what it is
    // finishing, and a fail-back run again restores the servers active before the fail-over.
    let s = Store::demo();
    run(&s, "fail_over.rhai", &[]).ok();
    let path = script("fail_back.rhai");
    let killed = s
        .command(&["run", &path, "--arg", "Pool=pc01.contoso.com"])
        .env("PCHAT_FAULT", "failback:copied:kill")
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&killed.stderr).contains("killed at failback:copied"));
    assert_eq!(active(&s), "");
    let what_if = s
        .run(&[
            "--what-if",
            "run",
            &script("fail_over.rhai"),
            "--arg",
            "Pool=pc01.contoso.com",
            "--arg",
            "Servers=pcsrv01.contoso.com",
        ])
        .ok();
    assert!(
        what_if.stdout.contains("because an earlier fail-back stopped after deactivating them"),
        "{}",
        what_if.stdout
    );
    assert!(what_if.stdout.contains("run scripts/fail_back.rhai --arg Pool=pc01.contoso.com"), "{}", what_if.stdout);
    let back = run(&s, "fail_back.rhai", &[]).ok();
    assert!(back.stdout.contains("Verify: state Normal"), "{}", back.stdout);
    assert_eq!(active(&s), first);
}

/// The fail-over runbook stopped after deactivating every server (a kill between its steps)
/// and run again: it no longer takes "none active" for "all of them are the standby set" and
/// activates all four; it refuses, changing nothing, until the servers are named, and then ends
/// where the first run meant to. Stopped after the switch, a rerun finishes the last step.
#[test]
fn an_interrupted_fail_over_run_again_never_activates_both_server_sets() {
    let pc01 = "PersistentChatServer:pc01.contoso.com";
    let active = |s: &Store| {
        s.c(&format!(
            r#"let x = get_cs_persistent_chat_state("{pc01}")[0]; print(`${{x.PoolState}} ${{x.ActiveServers}}`)"#
        ))
        .ok()
        .stdout
        .trim()
        .to_string()
    };
    let over = |s: &Store, extra: &[&str]| {
        let path = script("fail_over.rhai");
        let mut args = vec!["run", path.as_str(), "--arg", "Pool=pc01.contoso.com"];
        args.extend_from_slice(extra);
        s.run(&args)
    };
    // The state a kill after step 2 leaves.
    let stopped = |s: &Store| {
        s.c(&format!(r#"set_cs_persistent_chat_active_server("{pc01}", #{{ActiveServers: ()}})"#)).ok();
    };
    let s = Store::demo();
    stopped(&s);
    let before = s.dump();
    let run = over(&s, &[]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("name them with --arg Servers=") && run.stderr.contains("nothing was changed"),
        "{}",
        run.stderr
    );
    assert_eq!(s.dump(), before);
    over(&s, &["--arg", "Servers=pcsrv03.contoso.com,pcsrv04.contoso.com"]).ok();
    assert_eq!(active(&s), r#"FailedOver ["pcsrv03.contoso.com", "pcsrv04.contoso.com"]"#);

    // Stopped after the switch, before step 4: the rerun finishes, with the servers named.
    let s = Store::demo();
    stopped(&s);
    s.c(&format!(r#"set_cs_persistent_chat_state("{pc01}", #{{PoolState: "FailedOver"}})"#)).ok();
    let run = over(&s, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("name them with --arg Servers="), "{}", run.stderr);
    let run = over(&s, &["--arg", "Servers=pcsrv03.contoso.com,pcsrv04.contoso.com"]).ok();
    assert!(run.stdout.contains("finishing the fail-over"), "{}", run.stdout);
    assert_eq!(active(&s), r#"FailedOver ["pcsrv03.contoso.com", "pcsrv04.contoso.com"]"#);
    // Done: a further run says so and changes nothing.
    assert!(over(&s, &[]).stderr.contains("is already FailedOver"));
    assert_eq!(active(&s), r#"FailedOver ["pcsrv03.contoso.com", "pcsrv04.contoso.com"]"#);
}

/// cron ends a command at an unescaped `%` (the rest becomes its standard input): every `%` in
/// the crontab lines of the README and docs/ is written `\%`.
#[test]
fn crontab_lines_in_the_docs_escape_percent_signs() {
    let mut files = vec![format!("{ROOT}/README.md")];
    for e in std::fs::read_dir(format!("{ROOT}/docs")).expect("docs").flatten() {
        if e.path().extension().is_some_and(|x| x == "md") {
            files.push(e.path().to_string_lossy().into_owned());
        }
    }
    let mut crontab_lines = 0;
    for file in files {
        let text = std::fs::read_to_string(&file).expect("a doc");
        let mut in_cron = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                in_cron = line.trim_start() == "```cron";
                continue;
            }
            if !in_cron || line.trim_start().starts_with('#') {
                continue;
            }
            crontab_lines += 1;
            let unescaped = line.char_indices().any(|(i, c)| c == '%' && !line[..i].ends_with('\\'));
            assert!(!unescaped, "{file}: a crontab line with an unescaped %: {line}");
        }
    }
    assert!(crontab_lines >= 2, "no crontab example found");
}

/// A runbook's `exit(N)` is its exit code, as the shell's and PowerShell's `exit N` are: a check
/// runbook run from cron must be able to fail. Before, Rhai ended the script with the value N,
/// pchat printed it and exited 0.
#[test]
fn exit_with_a_number_is_the_runbooks_exit_code() {
    let s = Store::demo_full();
    let check = r#"
        fn check(limit) {
            let rooms = get_cs_persistent_chat_room().len();
            if rooms > limit { print(`${rooms} rooms, more than ${limit}`); exit(4); }
        }
        check(0);
        print("not reached");
    "#;
    let run = s.runbook("check.rhai", check, &[]);
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("rooms, more than 0") && !run.stdout.contains("not reached"), "{}", run.stdout);
    assert!(!run.stdout.lines().any(|l| l.trim() == "4"), "the code was printed as a value: {}", run.stdout);

    let run = s.c("exit(0)");
    assert_eq!((run.code, run.stdout.trim()), (0, ""), "{}", run.stderr);
    // A code no process status can be is refused, never wrapped into another one.
    for code in ["exit(256)", "exit(300)", "exit(-1)", "exit(1.5)"] {
        let run = s.c(code);
        assert_eq!(run.code, 1, "{code}: {}", run.stderr);
        assert!(run.stderr.contains("an exit code is a whole number from 0 to 255"), "{code}: {}", run.stderr);
    }
    // PowerShell's and the shell's spelling, as the whole -c.
    for code in ["exit 3", "Exit 3;"] {
        let run = s.c(code);
        assert_eq!((run.code, run.stdout.as_str()), (3, ""), "{code}: {}", run.stderr);
    }
    // Any other value keeps Rhai's meaning: the script's value.
    let run = s.c(r#"exit("done")"#).ok();
    assert_eq!(run.stdout.trim(), "done");
}
