//! Files and confinement: runbooks and stdin scripts open files only under their allowed folders;
//! no write replaces a store file, writes under --what-if, or leaves a partial or temporary file;
//! created files and folders are owner-only; only regular input files are read; budgets stop
//! runaway scripts with an error naming the flag.

use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::common;
use common::{Run, Store};

const INSTANCE: &str = r#"sql01.contoso.com\\rtc"#;

/// A runbook folder, an outside folder with a secret and an archive, and the demo store.
struct World {
    store: Store,
    root: tempfile::TempDir,
}

impl World {
    fn new() -> World {
        let store = Store::demo();
        let root = tempfile::tempdir().expect("tempdir");
        let w = World { store, root };
        std::fs::create_dir(w.rb()).unwrap();
        std::fs::create_dir(w.out()).unwrap();
        std::fs::write(w.out().join("secret.txt"), "secret\n").unwrap();
        std::fs::write(w.out().join("rooms.csv"), "a,b\n1,2\n").unwrap();
        let topology = std::fs::read_to_string(format!("{}/scripts/demo/topology.json", common::ROOT)).unwrap();
        std::fs::write(w.out().join("topology.json"), w.store.topology_text(&topology)).unwrap();
        std::fs::write(w.rb().join("topology.json"), w.store.topology_text(&topology)).unwrap();
        std::fs::write(w.out().join("m.rhai"), "fn f() { 1 }").unwrap();
        std::fs::write(w.rb().join("m.rhai"), "fn f() { 1 }").unwrap();
        std::fs::write(w.rb().join("in.txt"), "inside\n").unwrap();
        symlink(w.out(), w.rb().join("link")).unwrap();
        // An archive for the import cases, inside and outside.
        let zip = w.rb().join("a.zip");
        w.store
            .c(&format!(r#"export_cs_persistent_chat_data(#{{DBInstance: "{INSTANCE}", FileName: {:?}}})"#, zip))
            .ok();
        std::fs::copy(&zip, w.out().join("a.zip")).unwrap();
        w
    }
    fn rb(&self) -> PathBuf {
        self.root.path().join("rb")
    }
    fn out(&self) -> PathBuf {
        self.root.path().join("out")
    }
    fn runbook(&self, name: &str, code: &str, extra: &[&str]) -> Run {
        let path = self.rb().join(name);
        std::fs::write(&path, code).unwrap();
        let path = path.to_string_lossy().into_owned();
        let mut args = vec!["--yes", "run", path.as_str()];
        args.extend_from_slice(extra);
        self.store.run(&args)
    }
    fn listing(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(self.out())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }
}

/// Every function and cmdlet that takes a path, `{p}` standing for it; `{w}` true for a write.
const CALLS: &[(&str, &str)] = &[
    ("read_text", "read_text({p})"),
    ("read_lines", "read_lines({p})"),
    ("read_csv", "read_csv({p})"),
    ("file_exists", "file_exists({p})"),
    ("write_text", r#"write_text({p}, "x")"#),
    ("append_text", r#"append_text({p}, "x")"#),
    ("export FileName", r#"export_cs_persistent_chat_data(#{DBInstance: "{i}", FileName: {p}})"#),
    (
        "export Report",
        r#"export_cs_persistent_chat_data(#{DBInstance: "{i}", FileName: SCRIPT_DIR + "/ok.zip", Report: {p}})"#,
    ),
    ("import FileName", r#"import_cs_persistent_chat_data(#{DBInstance: "{i}", FileName: {p}, Confirm: false})"#),
    (
        "import Report",
        r#"import_cs_persistent_chat_data(#{DBInstance: "{i}", FileName: SCRIPT_DIR + "/a.zip", Report: {p}, Confirm: false})"#,
    ),
    ("publish FileName", r#"publish_cs_topology(#{FileName: {p}, Confirm: false})"#),
    ("directory FileName", r#"import_cs_ad_principal(#{FileName: {p}, Confirm: false})"#),
];

/// The file each call names in the outside folder (an existing one for reads).
fn target(name: &str) -> &'static str {
    match name {
        "read_csv" => "rooms.csv",
        "import FileName" => "a.zip",
        "publish FileName" | "directory FileName" => "topology.json",
        "read_text" | "read_lines" | "file_exists" => "secret.txt",
        _ => "new.out",
    }
}

fn call(template: &str, path: &str) -> String {
    template.replace("{p}", &format!("{path:?}")).replace("{i}", INSTANCE)
}

#[test]
fn runbooks_open_nothing_outside_their_folders_by_any_route() {
    let w = World::new();
    let before = w.listing();
    let dump = w.store.dump();
    let out = w.out().to_string_lossy().into_owned();
    let rb = w.rb().to_string_lossy().into_owned();
    let mut code = String::new();
    for (name, template) in CALLS {
        let file = target(name);
        for route in [format!("{out}/{file}"), format!("{rb}/../out/{file}"), format!("{rb}/link/{file}")] {
            code.push_str(&format!(
                "try {{ {}; print(\"OPENED {name} {route}\"); }} catch (e) {{ print(`${{e}}`); }}\n",
                call(template, &route)
            ));
        }
    }
    code.push_str(&format!(
        "try {{ import {:?} as m; print(\"OPENED import\"); }} catch (e) {{ print(`${{e}}`); }}\n",
        format!("{rb}/link/m")
    ));
    code.push_str(&format!(
        "try {{ import {:?} as m; print(\"OPENED import\"); }} catch (e) {{ print(`${{e}}`); }}\n",
        "../out/m"
    ));
    let run = w.runbook("probe.rhai", &code, &[]);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(!text.contains("OPENED"), "{text}");
    let refusals = text.lines().filter(|l| l.contains("is outside the folders this run may open")).count();
    assert_eq!(refusals, CALLS.len() * 3 + 2, "{text}");
    // Each refusal names the path and the setting that would allow it.
    for line in text.lines().filter(|l| l.contains("is outside")) {
        assert!(line.contains("/out/") || line.contains("/link/"), "{line}");
        assert!(line.contains("set_cs_persistent_chat_runbook_configuration(#{AllowedFolders: #{Add: "), "{line}");
    }
    assert_eq!(w.listing(), before, "nothing written outside");
    assert_eq!(w.store.dump(), dump, "the store is unchanged");

    // A refusal outside try/catch stops the runbook with exit code 1.
    let run = w.runbook("one.rhai", &format!("read_text({:?})", format!("{out}/secret.txt")), &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains(&format!("'{out}/secret.txt' is outside")), "{}", run.stderr);
    // So does a PowerShell runbook's Export-Csv, and a script on standard input.
    let ps = w.runbook("x.ps1", &format!("Get-CsPersistentChatPolicy | Export-Csv -Path '{out}/p.csv'"), &[]);
    assert_eq!(ps.code, 1, "{}", ps.stderr);
    assert!(ps.stderr.contains("Export-Csv") && ps.stderr.contains("is outside"), "{}", ps.stderr);
    let stdin = w.store.stdin(&[], &format!("read_text({:?})", format!("{out}/secret.txt")));
    assert_eq!(stdin.code, 1, "{}", stdin.stderr);
    assert!(stdin.stderr.contains("is outside"), "{}", stdin.stderr);
    assert_eq!(w.listing(), before);
}

#[test]
fn inside_the_allowed_folders_every_path_works_and_dash_c_is_not_confined() {
    let w = World::new();
    let rb = w.rb().to_string_lossy().into_owned();
    let code = format!(
        r#"
        print(read_lines("{rb}/in.txt")[0]);
        write_text(SCRIPT_DIR + "/sub/../w.txt", "w");
        append_text("{rb}/w.txt", "+");
        print(read_lines("{rb}/w.txt")[0]);
        export_cs_persistent_chat_data(#{{DBInstance: "{INSTANCE}", FileName: SCRIPT_DIR + "/e.zip", Report: SCRIPT_DIR + "/e.html"}});
        import_cs_persistent_chat_data(#{{DBInstance: "{INSTANCE}", FileName: SCRIPT_DIR + "/e.zip", Report: SCRIPT_DIR + "/i.html", Confirm: false}});
        publish_cs_topology(#{{FileName: SCRIPT_DIR + "/topology.json", Confirm: false}});
        import "m" as m;
        print(file_exists(SCRIPT_DIR + "/e.zip"));
        "#
    );
    std::fs::create_dir(w.rb().join("sub")).unwrap();
    let run = w.runbook("inside.rhai", &code, &[]).ok();
    assert_eq!(run.stdout.lines().collect::<Vec<_>>(), ["inside", "w+", "true"]);
    for f in ["e.zip", "e.html", "i.html"] {
        assert!(w.rb().join(f).is_file(), "{f}");
    }
    // The store's folder is allowed too (a PostgreSQL store has none).
    if !w.store.is_postgres() {
        let in_store = w.store.dir.path().join("report.txt");
        w.runbook("store.rhai", &format!("write_text({:?}, \"s\")", in_store), &[]).ok();
        assert!(in_store.is_file());
    }
    // -c is the administrator's own hand: not confined.
    let secret = w.out().join("secret.txt");
    let run = w.store.c(&format!("read_text({secret:?})")).ok();
    assert_eq!(run.stdout.trim(), "secret");
}

#[test]
fn allowed_folders_are_configured_resolved_and_take_effect_for_the_next_run() {
    let w = World::new();
    let out = w.out().to_string_lossy().into_owned();
    let read = format!("print(read_lines({:?})[0])", format!("{out}/secret.txt"));
    assert_eq!(w.runbook("r.rhai", &read, &[]).code, 1);
    // Given through a symbolic link and `..`, stored resolved.
    let via = format!("{}/link/../rb/link", w.rb().display());
    let set = format!(r#"set_cs_persistent_chat_runbook_configuration(#{{AllowedFolders: #{{Add: {via:?}}}}})"#);
    w.store.c(&set).ok();
    let got = w.store.c("get_cs_persistent_chat_runbook_configuration()[0].AllowedFolders").ok();
    let resolved = std::fs::canonicalize(w.out()).unwrap();
    assert!(got.stdout.contains(&*resolved.to_string_lossy()), "{}", got.stdout);
    assert_eq!(w.runbook("r.rhai", &read, &[]).ok().stdout.trim(), "secret");
    // Bad folders change nothing.
    for (bad, needle) in [("exports", "not an absolute path"), ("/nonexistent/x", "not an existing folder")] {
        let before = w.store.dump();
        let run = w
            .store
            .c(&format!(r#"set_cs_persistent_chat_runbook_configuration(#{{AllowedFolders: #{{Add: {bad:?}}}}})"#));
        assert_eq!(run.code, 3, "{}", run.stderr);
        assert!(
            run.stderr.contains("Set-CsPersistentChatRunbookConfiguration: InvalidArgument: -AllowedFolders")
                && run.stderr.contains(needle),
            "{}",
            run.stderr
        );
        assert_eq!(w.store.dump(), before);
    }
    // WhatIf changes nothing; Remove (by the path as given) takes it away.
    let remove = format!(r#"set_cs_persistent_chat_runbook_configuration(#{{AllowedFolders: #{{Remove: {out:?}}}}})"#);
    let before = w.store.dump();
    let run = w.store.run(&["--what-if", "-c", &remove]).ok();
    assert!(run.stdout.contains(
        "What if: Performing the operation \"Set-CsPersistentChatRunbookConfiguration\" on target \"Global\""
    ));
    assert_eq!(w.store.dump(), before);
    w.store.c(&remove).ok();
    assert_eq!(
        w.store.c("get_cs_persistent_chat_runbook_configuration()[0].AllowedFolders.len()").ok().stdout.trim(),
        "0"
    );
    assert_eq!(w.runbook("r.rhai", &read, &[]).code, 1);
    // A runbook cannot widen its own confinement for the rest of its run.
    let widen = format!("{set}; {read}");
    let run = w.runbook("w.rhai", &widen, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
}

#[test]
fn the_store_s_files_are_never_written_and_the_store_keeps_working() {
    let w = World::new();
    if w.store.is_postgres() {
        return password_file_is_never_written(&w);
    }
    let dir = w.store.dir.path().to_path_buf();
    let pool = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".db") && !p.ends_with("pchat.db"))
        .expect("a pool database");
    symlink(dir.join("pchat.db"), w.rb().join("alias.db")).unwrap();
    let targets: Vec<PathBuf> = vec![
        dir.join("pchat.db"),
        dir.join("pchat.db-wal"),
        dir.join("pchat.db-shm"),
        pool.clone(),
        PathBuf::from(format!("{}-wal", pool.display())),
        dir.join("x/../pchat.db"),
        w.rb().join("alias.db"),
    ];
    let sizes = |d: &Path| -> Vec<(String, u64)> {
        let mut v: Vec<(String, u64)> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap())
            .filter(|e| e.file_name().to_string_lossy().ends_with(".db"))
            .map(|e| (e.file_name().to_string_lossy().into_owned(), e.metadata().unwrap().len()))
            .collect();
        v.sort();
        v
    };
    let before = sizes(&dir);
    let dump = w.store.dump();
    for t in &targets {
        let p = t.to_string_lossy().into_owned();
        for code in [
            call(CALLS[6].1, &p),
            format!(
                r#"export_cs_persistent_chat_data(#{{DBInstance: "{INSTANCE}", FileName: "{}/ok.zip", Report: {p:?}}})"#,
                w.rb().display()
            ),
            format!(r#"write_text({p:?}, "x")"#),
            format!(r#"append_text({p:?}, "x")"#),
        ] {
            for what_if in [false, true] {
                let args: Vec<&str> = if what_if { vec!["--what-if", "-c", &code] } else { vec!["-c", &code] };
                let run = w.store.run(&args);
                assert_eq!(run.code, 1, "{code}: {}", run.stderr);
                assert!(run.stderr.contains("never writes over the store's own files"), "{}", run.stderr);
                assert!(run.stderr.contains(&p), "{}", run.stderr);
            }
        }
        let ps = w.store.stdin(&[], &format!("Get-CsPersistentChatPolicy | Export-Csv -Path '{p}'"));
        assert_eq!(ps.code, 1, "{}", ps.stderr);
    }
    assert_eq!(sizes(&dir), before);
    assert_eq!(w.store.dump(), dump);
    w.store.c("get_cs_persistent_chat_room().len()").ok();
    assert!(!w.rb().join("ok.zip").exists(), "the refusal came before the archive was written");
}

/// PostgreSQL: no database is a file, but the password file pchat reads for the store's
/// connections (`PGPASSFILE`, else `~/.pgpass`) is the store's as much: a script that wrote over
/// it would leave the next unattended command (cron's) unable to connect. (The store's other
/// local files, its atomic runs' journals, are `a_script_never_writes_where_atomic_runs_keep_their_journals`'s.)
fn password_file_is_never_written(w: &World) {
    use std::io::Write;
    let home = tempfile::tempdir().unwrap();
    let passfile = home.path().join("pgpass");
    let line = "*:*:*:pchat_password:not-the-store-s\n";
    std::fs::write(&passfile, line).unwrap();
    std::fs::set_permissions(&passfile, std::fs::Permissions::from_mode(0o600)).unwrap();
    symlink(&passfile, w.rb().join("alias")).unwrap();
    let run = |args: &[&str], input: Option<&str>| {
        let mut cmd = w.store.command(args);
        cmd.env("PGPASSFILE", &passfile).env("HOME", home.path());
        cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("pchat runs");
        if let Some(input) = input {
            child.stdin.take().unwrap().write_all(input.as_bytes()).expect("stdin");
        }
        Run::from(child.wait_with_output().expect("pchat exits"))
    };
    let dump = w.store.dump();
    let targets = [passfile.clone(), home.path().join("x/../pgpass"), w.rb().join("alias")];
    for t in &targets {
        let p = t.to_string_lossy().into_owned();
        for code in [
            call(CALLS[6].1, &p),
            format!(
                r#"export_cs_persistent_chat_data(#{{DBInstance: "{INSTANCE}", FileName: "{}/ok.zip", Report: {p:?}}})"#,
                w.rb().display()
            ),
            format!(r#"write_text({p:?}, "x")"#),
            format!(r#"append_text({p:?}, "x")"#),
        ] {
            for what_if in [false, true] {
                let args: Vec<&str> = if what_if { vec!["--what-if", "-c", &code] } else { vec!["-c", &code] };
                let run = run(&args, None);
                assert_eq!(run.code, 1, "{code}: {}", run.stderr);
                assert!(run.stderr.contains("is the PostgreSQL password file"), "{}", run.stderr);
                assert!(run.stderr.contains("never writes over the store's own files"), "{}", run.stderr);
                assert!(run.stderr.contains(&p), "{}", run.stderr);
            }
        }
        let ps = run(&[], Some(&format!("Get-CsPersistentChatPolicy | Export-Csv -Path '{p}'")));
        assert_eq!(ps.code, 1, "{}", ps.stderr);
    }
    assert_eq!(std::fs::read_to_string(&passfile).unwrap(), line);
    assert_eq!(w.store.dump(), dump);
    run(&["-c", "get_cs_persistent_chat_room().len()"], None).ok();
    assert!(!w.rb().join("ok.zip").exists(), "the refusal came before the archive was written");
    // ~/.pgpass when PGPASSFILE is not set: the same.
    let dot = home.path().join(".pgpass");
    let code = format!(r#"write_text({:?}, "x")"#, dot.to_string_lossy());
    let mut cmd = w.store.command(&["-c", &code]);
    cmd.env_remove("PGPASSFILE").env("HOME", home.path()).stdin(Stdio::null());
    let refused = Run::from(cmd.output().expect("pchat runs"));
    assert!(refused.stderr.contains("is the PostgreSQL password file"), "{}", refused.stderr);
    assert!(!dot.exists());
}

#[test]
fn nothing_is_written_under_what_if() {
    let w = World::new();
    let rb = w.rb().to_string_lossy().into_owned();
    let code = format!(
        r#"
        export_cs_persistent_chat_data(#{{DBInstance: "{INSTANCE}", FileName: "{rb}/e.zip", Report: "{rb}/e.html"}});
        import_cs_persistent_chat_data(#{{DBInstance: "{INSTANCE}", FileName: "{rb}/a.zip", Report: "{rb}/i.html", Confirm: false}});
        write_text("{rb}/w.txt", "x");
        append_text("{rb}/a.txt", "x");
        "#
    );
    let before: Vec<_> = std::fs::read_dir(w.rb()).unwrap().map(|e| e.unwrap().file_name()).collect();
    let run = w.store.run(&["--what-if", "-c", &code]).ok();
    for f in ["e.zip", "e.html", "w.txt", "a.txt"] {
        assert!(run.stdout.contains(&format!("/{f}\".")), "{f}: {}", run.stdout);
    }
    let ps =
        w.store.run(&["--what-if", "-c", &format!("Get-CsPersistentChatPolicy | Export-Csv -Path '{rb}/p.csv'")]).ok();
    assert!(ps.stdout.contains("What if: Performing the operation \"Export-Csv\""), "{}", ps.stdout);
    let after: Vec<_> = std::fs::read_dir(w.rb()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(before.len(), after.len(), "{after:?}");
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())).permissions().mode() & 0o777
}

#[test]
fn created_files_and_folders_are_owner_only_whatever_the_umask() {
    let root = tempfile::tempdir().unwrap();
    let shared = root.path().join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).unwrap();
    let db = root.path().join("new/store/pchat.db");
    let topology = format!("{}/scripts/demo/topology.json", common::ROOT);
    let code = format!(
        r#"publish_cs_topology(#{{FileName: {topology:?}, Confirm: false}});
        export_cs_persistent_chat_data(#{{DBInstance: "{INSTANCE}", FileName: "{0}/e.zip", Report: "{0}/e.html"}});
        write_text("{0}/w.txt", "w"); append_text("{0}/a.txt", "a");"#,
        shared.display()
    );
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" --db \"$1\" -c \"$2\"")
        .arg(env!("CARGO_BIN_EXE_pchat"))
        .arg(&db)
        .arg(&code)
        .env_remove("PCHAT_DB")
        .env("PCHAT_SQL_INVENTORY", common::sql_inventory())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let run = Run::from(out).ok();
    assert!(run.stderr.is_empty(), "{}", run.stderr);
    assert_eq!(mode(&root.path().join("new")), 0o700);
    assert_eq!(mode(&root.path().join("new/store")), 0o700);
    let mut files = 0;
    for e in std::fs::read_dir(root.path().join("new/store")).unwrap() {
        let p = e.unwrap().path();
        assert_eq!(mode(&p), 0o600, "{}", p.display());
        files += 1;
    }
    assert!(files >= 4, "the central and pool databases with their -wal and -shm files");
    for f in ["e.zip", "e.html", "w.txt", "a.txt"] {
        assert_eq!(mode(&shared.join(f)), 0o600, "{f}");
    }
    assert_eq!(mode(&shared), 0o755, "an existing folder keeps its mode");
}

#[test]
fn only_regular_files_are_read_as_input() {
    let w = World::new();
    let fifo = w.rb().join("fifo");
    let c = std::ffi::CString::new(fifo.to_string_lossy().as_bytes()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let rb = w.rb().to_string_lossy().into_owned();
    for (path, what) in
        [(fifo.to_string_lossy().into_owned(), "a FIFO"), ("/dev/zero".into(), "a device"), (rb, "a folder")]
    {
        for template in [CALLS[0].1, CALLS[8].1, CALLS[10].1, CALLS[11].1] {
            let run = w.store.c(&call(template, &path));
            assert_ne!(run.code, 0, "{template} {path}");
            assert!(run.stderr.contains(&format!("'{path}' is {what}; only regular files")), "{}", run.stderr);
        }
    }
}

#[test]
fn a_runbook_piped_through_dev_stdin_is_refused_as_a_fifo_not_as_missing() {
    let s = Store::empty();
    let run = s.stdin(&["run", "/dev/stdin"], "print(1)");
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("'/dev/stdin' is a FIFO; only regular files"), "{}", run.stderr);
    assert!(!run.stderr.contains("No such file"), "{}", run.stderr);
}

#[test]
fn runaway_scripts_end_with_the_budget_s_error() {
    let s = Store::empty();
    for (code, flags, needle) in [
        (
            "loop {}",
            &["--max-operations", "200000"][..],
            "operations budget of 200000 operations; raise it with --max-operations N",
        ),
        ("fn f(x) { f(x + 1) } f(0)", &[][..], "functions nested more than 64 calls deep"),
        (
            r#"let s = "x"; loop { s += s; }"#,
            &["--max-memory-mb", "64"][..],
            "memory budget of 64 MB; raise it with --max-memory-mb N",
        ),
        (
            "let b = blob(60000000); let a = []; a.pad(1000000, 0); a.len()",
            &["--max-memory-mb", "64"][..],
            "pad: 16000000 bytes would exceed the run's memory budget of 64 MB",
        ),
        // 10^8 items: refused under the default budget, by pad at once and by push as it grows
        // (the item limit is half the budget in slots: 524,288 items at 16 MB).
        (
            "let a = []; a.pad(100000000, 0); a.len()",
            &[][..],
            "an array of 100000000 items is more than the run's memory budget of 2048 MB allows",
        ),
        (
            "let a = []; for i in 0..100000000 { a.push(i) }",
            &["--max-memory-mb", "16"][..],
            "push: an array of 524289 items is more than the run's memory budget of 16 MB allows",
        ),
        (
            "let a = [0]; a.pad(300000, 0); a.append(a); a.len()",
            &["--max-memory-mb", "16"][..],
            "append: an array of 600000 items is more than",
        ),
        ("let b = blob(100000000000);", &[][..], "raise it with --max-memory-mb N"),
        (r#"let s = ""; s.pad(10000000000, "ab");"#, &[][..], "raise it with --max-memory-mb N"),
        ("loop {}", &["--max-seconds", "1"][..], "time budget of 1 seconds; raise it with --max-seconds N"),
    ] {
        let path = s.dir.path().join("runaway.rhai");
        std::fs::write(&path, code).unwrap();
        let path = path.to_string_lossy().into_owned();
        let mut args = vec!["run", path.as_str()];
        args.extend_from_slice(flags);
        let run = s.run(&args);
        assert_eq!(run.code, 1, "{code}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "{code}: {}", run.stderr);
        // The same budgets hold for a script on standard input.
        let mut args: Vec<&str> = flags.to_vec();
        if flags.is_empty() {
            args.push("--yes");
        }
        let run = s.stdin(&args, code);
        assert_eq!(run.code, 1, "stdin {code}: {}", run.stderr);
        assert!(run.stderr.contains(needle), "stdin {code}: {}", run.stderr);
    }
}

#[test]
fn the_nightly_export_runbook_writes_to_a_folder_once_it_is_allowed() {
    let w = World::new();
    let script = format!("{}/scripts/nightly_export.rhai", common::ROOT);
    let folder = format!("Folder={}", w.out().display());
    let run = w.store.run(&["run", &script, "--arg", &folder, "--arg", "Keep=1"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("is outside") && run.stderr.contains("AllowedFolders: #{Add: "), "{}", run.stderr);
    assert!(!w.out().join("pchat-0.zip").exists());
    let allow =
        format!(r#"set_cs_persistent_chat_runbook_configuration(#{{AllowedFolders: #{{Add: {:?}}}}})"#, w.out());
    w.store.c(&allow).ok();
    w.store.run(&["run", &script, "--arg", &folder, "--arg", "Keep=1"]).ok();
    assert!(w.out().join("pchat-0.zip").is_file() && w.out().join("pchat-0.html").is_file());
}

/// The PowerShell front end's file cmdlets go through the same rules: each is refused outside the
/// allowed folders (directly, through `..` and through a symlink) and works inside them.
#[test]
fn powershell_file_cmdlets_are_confined_too() {
    let w = World::new();
    let before = w.listing();
    let out = w.out().to_string_lossy().into_owned();
    let rb = w.rb().to_string_lossy().into_owned();
    let calls = [
        ("Get-Content", "Get-Content '{p}/secret.txt'"),
        ("Import-Csv", "Import-Csv '{p}/rooms.csv'"),
        ("Test-Path", "Test-Path '{p}/secret.txt'"),
        ("Out-File", "'x' | Out-File '{p}/new.out'"),
        ("Set-Content", "Set-Content -Path '{p}/new.out' -Value 'x'"),
        ("Add-Content", "Add-Content -Path '{p}/secret.txt' -Value 'x'"),
        ("Export-Csv", "Get-CsPersistentChatPolicy | Export-Csv '{p}/new.csv'"),
    ];
    for (name, template) in calls {
        for route in [out.clone(), format!("{rb}/../out"), format!("{rb}/link")] {
            let run = w.runbook("probe.ps1", &template.replace("{p}", &route), &[]);
            assert_eq!(run.code, 1, "{name} via {route}: {}{}", run.stdout, run.stderr);
            assert!(run.stderr.contains("is outside the folders this run may open"), "{name}: {}", run.stderr);
        }
    }
    assert_eq!(w.listing(), before, "nothing written outside");
    assert_eq!(std::fs::read_to_string(w.out().join("secret.txt")).unwrap(), "secret\n");
    let inside = w.runbook(
        "inside.ps1",
        &format!("'hello' | Out-File '{rb}/made.txt'\nGet-Content '{rb}/made.txt'\nTest-Path '{rb}/made.txt'"),
        &[],
    );
    assert_eq!(inside.code, 0, "{}", inside.stderr);
    assert!(inside.stdout.contains("hello") && inside.stdout.contains("True"), "{}", inside.stdout);
}

/// `FileName: "D:\\Export\\pchat.zip"` (a path copied from Windows documentation) wrote one file
/// literally named `D:\Export\pchat.zip` into the current folder and succeeded. A new file whose
/// name holds a backslash is refused before anything is written.
#[test]
fn a_windows_path_given_to_a_writer_is_refused_not_written_as_one_odd_file_name() {
    let s = Store::demo_full();
    let cwd = tempfile::tempdir().unwrap();
    for (code, param) in [
        (
            r#"export_cs_persistent_chat_data(#{DBInstance: "sql01.contoso.com\\rtc", FileName: "D:\\Export\\pchat.zip"})"#,
            "-FileName: ",
        ),
        (r#"write_text("logs\\run.txt", "x")"#, "write_text: "),
    ] {
        let run = s.run_in(cwd.path(), &["-c", code]);
        assert_ne!(run.code, 0, "{code}: {}", run.stdout);
        assert!(
            run.stderr.contains(param)
                && run.stderr.contains("holds a backslash, which is not a folder separator here"),
            "{code}: {}",
            run.stderr
        );
    }
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0, "nothing is written");
}

/// Where atomic runs keep their journals is the store's own, as its database files are: on SQLite
/// the unit files beside the store file, on PostgreSQL the store's local state folder
/// (`<state dir>/pchat/<store id>/`), which a script could otherwise fill with a forged unit file
/// that the next command would act on.
#[test]
fn a_script_never_writes_where_atomic_runs_keep_their_journals() {
    let w = World::new();
    // An atomic run that writes a file makes the journal's place (and leaves it empty).
    let made = w.rb().join("made.txt");
    let run = w.runbook("atomic.rhai", &format!("write_text({made:?}, \"x\")"), &["--atomic"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(made.exists());
    assert!(w.store.unit_files().is_empty(), "{:?}", w.store.unit_files());
    let (targets, said) = if w.store.is_postgres() {
        let stores: Vec<PathBuf> =
            std::fs::read_dir(w.store.state_home().join("pchat")).unwrap().flatten().map(|e| e.path()).collect();
        assert_eq!(stores.len(), 1, "one store, one state folder: {stores:?}");
        let folder = &stores[0];
        let host = std::fs::read_dir(folder.join("units")).map(|e| e.count()).unwrap_or(0);
        assert_eq!(host, 0, "no unit file left");
        (
            vec![folder.join("units/forged.unit-1"), folder.join("notes.txt"), folder.join("x/../units/y")],
            "state folder",
        )
    } else {
        (vec![w.store.dir.path().join("pchat.db.unit-1")], "never writes over the store's own files")
    };
    for t in &targets {
        let p = t.to_string_lossy().into_owned();
        for code in [format!(r#"write_text({p:?}, "x")"#), format!(r#"append_text({p:?}, "x")"#)] {
            let run = w.store.c(&code);
            assert_eq!(run.code, 1, "{code}: {}", run.stderr);
            assert!(run.stderr.contains(said), "{}", run.stderr);
            assert!(!t.exists(), "{p} was written");
        }
    }
    assert!(w.store.unit_files().is_empty(), "{:?}", w.store.unit_files());
}
