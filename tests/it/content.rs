//! Chat content: posting rules, retention (Clear/Remove), export → delete → import round trip and
//! hostile archives.

use crate::common;
use common::{Store, single_error_line};

/// Demo store plus the rooms and policies the examples use (fixtures 1 and 2), no messages.
fn store() -> Store {
    let s = Store::demo();
    for f in ["1_settings.rhai", "2_rooms.rhai"] {
        s.run(&["--yes", "run", &format!("{}/tests/fixtures/{f}", common::ROOT)]).ok();
    }
    s
}

const SEED: &str = r#"
let r = "pc01.contoso.com\\FinanceRoom";
send_cs_persistent_chat_message(r, #{SenderSipAddress: "sip:annb@contoso.com", Message: "Q4 forecast due", PostedAt: "2019-12-31T23:30:00Z"});
send_cs_persistent_chat_message(r, #{SenderSipAddress: "sip:bobk@contoso.com", Message: "Internal Only: merger with Fabrikam", PostedAt: "2020-01-15T10:30:00Z"});
send_cs_persistent_chat_message(r, #{SenderSipAddress: "sip:tempuser@contoso.com", Message: "internal only budget", PostedAt: "2020-03-01T08:00:00Z"});
"#;

fn texts(s: &Store) -> String {
    s.c(r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom").map(|m| m.Text).reduce(|a, b| a + "|" + b, "")"#)
        .ok()
        .stdout
        .trim()
        .trim_start_matches('|')
        .to_string()
}

#[test]
fn posting_enforces_policy_scope_membership_and_presenters() {
    let s = store();
    s.c(SEED).ok();
    let out =
        s.c(r#"get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")[0].ChatContentSizeMB * 1048576.0"#).ok();
    assert_eq!(out.stdout.trim(), "70");
    let before = s.dump();
    for (code, id) in [
        // Oslo users fall back to the Global policy, which disables Persistent Chat.
        (
            r#"send_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{SenderSipAddress: "sip:ohansen@contoso.com", Message: "x"})"#,
            "NotEligible",
        ),
        // Outside the Finance category's scope.
        (
            r#"send_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{SenderSipAddress: "sip:ceo@contoso.com", Message: "x"})"#,
            "NotEligible",
        ),
        // Auditorium: only presenters post.
        (
            r#"send_cs_persistent_chat_message("pc01.contoso.com\\CEO Updates", #{SenderSipAddress: "sip:annb@contoso.com", Message: "x"})"#,
            "NotEligible",
        ),
        // Disabled room.
        (
            r#"send_cs_persistent_chat_message("pc01.contoso.com\\Draft", #{SenderSipAddress: "sip:annb@contoso.com", Message: "x"})"#,
            "InvalidOperation",
        ),
        (
            r#"send_cs_persistent_chat_message("pc01.contoso.com\\Nope", #{SenderSipAddress: "sip:annb@contoso.com", Message: "x"})"#,
            "NotFound",
        ),
    ] {
        let run = s.c(code);
        assert_ne!(run.code, 0, "{code}");
        let line = single_error_line(&run);
        assert!(id.split('|').any(|i| line.contains(&format!("Send-CsPersistentChatMessage: {i}:"))), "{line}");
    }
    assert_eq!(s.dump(), before, "a refused post changes nothing");
    s.c(r#"send_cs_persistent_chat_message("pc01.contoso.com\\CEO Updates", #{SenderSipAddress: "sip:ceo@contoso.com", Message: "Welcome"})"#).ok();
    // Members restrict a Closed room.
    s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Members: "sip:annb@contoso.com"})"#).ok();
    let run = s.c(r#"send_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{SenderSipAddress: "sip:bobk@contoso.com", Message: "x"})"#);
    assert!(single_error_line(&run).contains("NotEligible"));
}

#[test]
fn get_filters_by_date_user_and_size() {
    let s = store();
    s.c(SEED).ok();
    let n = |q: &str| {
        s.c(&format!(r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{{{q}}}).len()"#))
            .ok()
            .stdout
            .trim()
            .to_string()
    };
    assert_eq!(n(r#"StartDate: "1/1/2020""#), "2");
    assert_eq!(n(r#"EndDate: "12/31/2019""#), "1");
    assert_eq!(n(r#"UserUri: "sip:bobk@contoso.com""#), "1");
    assert_eq!(n("ResultSize: 2"), "2");
}

#[test]
fn clear_deletes_through_the_whole_end_day_and_whatif_counts() {
    let s = store();
    s.c(SEED).ok();
    let before = s.dump();
    let run = s
        .c(r#"clear_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{EndDate: "12/31/2019", WhatIf: true})"#)
        .ok();
    assert!(run.stdout.contains("What if: Performing the operation \"Clear-CsPersistentChatRoom\" on target \"pc01.contoso.com\\FinanceRoom (1 message"), "{}", run.stdout);
    assert_eq!(s.dump(), before);
    // Prompts by default: unattended without --yes it refuses.
    let run = s.c(r#"clear_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{EndDate: "12/31/2019"})"#);
    assert_eq!(run.code, 1);
    assert_eq!(s.dump(), before);
    s.c(r#"clear_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{EndDate: "12/31/2019", Confirm: false})"#)
        .ok();
    assert_eq!(texts(&s), "Internal Only: merger with Fabrikam|internal only budget");
    let out = s.c(r#"get_cs_persistent_chat_room(#{ChatContentExceedsMB: 0}).map(|r| r.Name)"#).ok();
    assert!(out.stdout.contains("FinanceRoom"));
    // The backup copy (sql02) was cleared too.
    assert_eq!(s.count(Some("sql02.contoso.com\\rtc"), "SELECT count(*) FROM messages"), 2);
}

#[test]
fn remove_message_replaces_by_default_and_honours_match_rules() {
    let s = store();
    s.c(SEED).ok();
    s.c(r#"remove_cs_persistent_chat_message(#{Identity: "pc01.contoso.com\\FinanceRoom", Filter: "Internal Only", MatchClause: "Exact", CaseSensitive: true})"#).ok();
    assert_eq!(
        texts(&s),
        "Q4 forecast due|This message was replaced by the Persistent Chat administrator.|internal only budget"
    );
    s.c(r#"remove_cs_persistent_chat_message(#{Identity: "pc01.contoso.com\\FinanceRoom", Filter: "budget forecast", MatchClause: "Or", ReplaceMessage: "[redacted]"})"#).ok();
    assert_eq!(texts(&s), "[redacted]|This message was replaced by the Persistent Chat administrator.|[redacted]");
    s.c(r#"remove_cs_persistent_chat_message(#{Identity: "pc01.contoso.com\\FinanceRoom", UserUri: "sip:tempuser@contoso.com", Remove: true})"#).ok();
    assert_eq!(texts(&s), "[redacted]|This message was replaced by the Persistent Chat administrator.");
    let replaced = s.c(r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom").map(|m| m.Replaced)"#).ok();
    assert!(!replaced.stdout.contains("False"));
    let run = s.c(r#"remove_cs_persistent_chat_message(#{Identity: "pc01.contoso.com\\FinanceRoom", Remove: true, ReplaceMessage: "x"})"#);
    assert!(single_error_line(&run).contains("AmbiguousParameterSet"));
}

/// Categories, rooms (with lists) and messages of pc01, field by field, as JSON.
fn snapshot(s: &Store) -> String {
    s.run(&[
        "--json",
        "-c",
        r#"let out = [];
           out += get_cs_persistent_chat_category(#{PersistentChatPoolFqdn: "pc01.contoso.com"});
           let rooms = get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"});
           out += rooms;
           for r in rooms { out += get_cs_persistent_chat_message(r.Identity); }
           out += get_cs_persistent_chat_addin(#{PersistentChatPoolFqdn: "pc01.contoso.com"});
           out"#,
    ])
    .ok()
    .stdout
}

#[test]
fn export_delete_import_gives_back_identical_data() {
    let s = store();
    s.c(SEED).ok();
    s.c(r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Members: "sip:annb@contoso.com", Managers: "sip:bobk@contoso.com"})"#).ok();
    let before = snapshot(&s);
    assert!(before.contains("Fabrikam") && before.contains("BudgetTracker"));
    let zip = s.dir.path().join("all.zip");
    let zip = zip.to_string_lossy();
    s.c(&format!(r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{zip}`}})"#))
        .ok();
    s.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).remove_cs_persistent_chat_room();
           get_cs_persistent_chat_category(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).remove_cs_persistent_chat_category();
           get_cs_persistent_chat_addin(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).remove_cs_persistent_chat_addin(#{Force: true});"#)
        .ok();
    assert!(!snapshot(&s).contains("FinanceRoom"));
    s.c(&format!(r#"import_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{zip}`}})"#))
        .ok();
    assert_eq!(snapshot(&s), before);
    // Importing again skips known messages.
    s.c(&format!(r#"import_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{zip}`}})"#))
        .ok();
    assert_eq!(snapshot(&s), before);
}

/// A -Report naming the archive's own file (spelt the same, or another way to the same file)
/// replaced the archive just written, or the one just imported, with the HTML report, and the call
/// succeeded: a nightly backup silently gone. Refused before anything is written or imported.
#[test]
fn a_report_naming_the_archive_itself_is_refused_before_anything_is_written() {
    let s = store();
    s.c(SEED).ok();
    let zip = s.dir.path().join("all.zip");
    let zip = zip.to_string_lossy();
    let same = format!("{}/./all.zip", s.dir.path().to_string_lossy());
    let export = |report: &str| {
        format!(
            r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{zip}`, Report: `{report}`}})"#
        )
    };
    for report in [zip.to_string(), same.clone()] {
        let run = s.c(&export(&report));
        assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
        assert!(run.stderr.contains("-Report") && run.stderr.contains("-FileName"), "{}", run.stderr);
        assert!(!s.dir.path().join("all.zip").exists(), "nothing written");
    }
    s.c(&format!(r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{zip}`}})"#))
        .ok();
    let archive = std::fs::read(s.dir.path().join("all.zip")).expect("archive");
    let before = s.dump();
    let run = s.c(&format!(
        r#"import_cs_persistent_chat_data(#{{DBInstance: "sql03.contoso.com\\rtc", FileName: `{zip}`, Report: `{same}`}})"#
    ));
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("-Report") && run.stderr.contains("-FileName"), "{}", run.stderr);
    assert_eq!(std::fs::read(s.dir.path().join("all.zip")).expect("archive"), archive, "the archive is kept");
    assert_eq!(s.dump(), before, "nothing imported");
}

#[test]
fn as_bytes_round_trips_into_another_pool() {
    let s = store();
    s.c(SEED).ok();
    let out = s
        .c(r#"let data = export_cs_persistent_chat_data(#{DBInstance: "sql01.contoso.com\\rtc", AsBytes: true, Level: "All"});
              import_cs_persistent_chat_data(#{DBInstance: "sql03.contoso.com\\rtc", ByteInput: data});
              get_cs_persistent_chat_message("pc02.contoso.com\\FinanceRoom").len()"#)
        .ok();
    assert_eq!(out.stdout.trim(), "3");
}

/// Write a ZIP with the given entries (name, bytes).
fn zip_of(path: &std::path::Path, entries: &[(&str, &[u8])]) {
    use std::io::Write;
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    for (name, data) in entries {
        z.start_file(*name, zip::write::SimpleFileOptions::default()).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
}

/// Writes one test archive at the given path.
type MakeArchive<'a> = Box<dyn Fn(&std::path::Path) + 'a>;

#[test]
fn hostile_or_corrupt_archives_are_rejected_with_nothing_imported() {
    let s = store();
    s.c(SEED).ok();
    let good = s.dir.path().join("good.zip");
    s.c(&format!(
        r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{}`}})"#,
        good.display()
    ))
    .ok();
    let bytes = std::fs::read(&good).unwrap();
    let manifest = r#"{"version":1,"level":"Category","exportedAt":"x","sourceDbInstance":"sql01.contoso.com\\rtc","dbName":"mgc","scope":[],"startDate":null,"pools":[],"messages":0}"#;
    let dir = s.dir.path();
    let cases: Vec<(&str, MakeArchive, &str)> = vec![
        ("truncated.zip", Box::new(|p| std::fs::write(p, &bytes[..bytes.len() / 2]).unwrap()), "not a valid"),
        (
            "badjson.zip",
            Box::new(|p| zip_of(p, &[("manifest.json", manifest.as_bytes()), ("categories.json", b"[{")])),
            "categories.json",
        ),
        (
            "version.zip",
            Box::new(|p| {
                zip_of(
                    p,
                    &[
                        ("manifest.json", manifest.replace("\"version\":1", "\"version\":7").as_bytes()),
                        ("categories.json", b"[]"),
                    ],
                )
            }),
            "version 7",
        ),
        (
            "path.zip",
            Box::new(|p| zip_of(p, &[("manifest.json", manifest.as_bytes()), ("../evil.json", b"[]")])),
            "unexpected entry",
        ),
        ("missing.zip", Box::new(|p| zip_of(p, &[("manifest.json", manifest.as_bytes())])), "needs categories.json"),
        (
            "bomb.zip",
            Box::new(|p| {
                let zeros = vec![b' '; 32 << 20];
                let mut v = b"[".to_vec();
                v.extend_from_slice(&zeros);
                v.push(b']');
                let opts =
                    zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
                let mut z = zip::ZipWriter::new(std::fs::File::create(p).unwrap());
                z.start_file("manifest.json", opts).unwrap();
                std::io::Write::write_all(&mut z, manifest.as_bytes()).unwrap();
                z.start_file("categories.json", opts).unwrap();
                std::io::Write::write_all(&mut z, &v).unwrap();
                z.finish().unwrap();
            }),
            "compression bomb",
        ),
    ];
    let before = s.dump();
    for (name, make, reason) in cases {
        let p = dir.join(name);
        make(&p);
        let run = s.c(&format!(
            r#"import_cs_persistent_chat_data(#{{DBInstance: "sql03.contoso.com\\rtc", FileName: `{}`}})"#,
            p.display()
        ));
        let line = single_error_line(&run);
        assert!(
            line.contains("Import-CsPersistentChatData: InvalidArgument:") && line.contains(reason),
            "{name}: {line}"
        );
        assert_eq!(s.dump(), before, "{name} changed the store");
    }
}

#[test]
fn retention_runbook_clears_old_content_per_category_with_a_summary() {
    let s = store();
    s.c(SEED).ok();
    s.c(r#"send_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{SenderSipAddress: "sip:annb@contoso.com", Message: "fresh news"})"#).ok();
    let script = format!("{}/scripts/retention.rhai", common::ROOT);
    let before = s.dump();
    let run = s.run(&["--what-if", "run", &script, "--arg", "Days=30", "--arg", "Category=Finance"]).ok();
    assert!(run.stdout.contains("pc01.contoso.com\\Finance: 3 messages would be deleted in 2 rooms"), "{}", run.stdout);
    assert_eq!(s.dump(), before);
    let run = s.run(&["run", &script, "--arg", "Days=30"]).ok();
    assert!(run.stdout.contains("pc01.contoso.com\\Finance: 3 messages deleted in 2 rooms"), "{}", run.stdout);
    assert!(run.stdout.contains("Total: 3 messages deleted"), "{}", run.stdout);
    assert_eq!(texts(&s), "fresh news");
}

#[test]
fn nightly_export_runbook_rotates_its_archives() {
    let s = store();
    s.allow_own_folder();
    s.c(SEED).ok();
    let folder = s.dir.path().join("exports");
    std::fs::create_dir_all(&folder).unwrap();
    let script = format!("{}/scripts/nightly_export.rhai", common::ROOT);
    let folder_arg = format!("Folder={}", folder.display());
    for _ in 0..3 {
        let run = s.run(&["run", &script, "--arg", &folder_arg, "--arg", "Keep=2"]).ok();
        assert!(run.stdout.contains("of 2)"), "{}", run.stdout);
    }
    let zips: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "zip"))
        .collect();
    assert_eq!(zips.len(), 1, "the same night always writes the same slot");
    let zip = zips[0].path();
    let out = s
        .c(&format!(
            r#"import_cs_persistent_chat_data(#{{DBInstance: "sql03.contoso.com\\rtc", FileName: `{}`}}); get_cs_persistent_chat_message("pc02.contoso.com\\FinanceRoom").len()"#,
            zip.display()
        ))
        .ok();
    assert_eq!(out.stdout.trim(), "3");
}

/// Names the store keeps apart (it folds ASCII case only) must come back from the pool's own
/// export: `Ärende` and `ärende` are two rooms, and the archive holding both is importable.
#[test]
fn names_that_differ_in_non_ascii_case_survive_export_and_import() {
    let s = store();
    s.c(r#"new_cs_persistent_chat_room(#{Name: "Ärende", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"});
           new_cs_persistent_chat_room(#{Name: "ärende", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"});
           send_cs_persistent_chat_message("pc01.contoso.com\\ärende", #{SenderSipAddress: "sip:annb@contoso.com", Message: "små bokstäver"});"#)
        .ok();
    let before = snapshot(&s);
    let zip = s.dir.path().join("accents.zip");
    let zip = zip.to_string_lossy();
    s.c(&format!(r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{zip}`}})"#))
        .ok();
    s.c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).remove_cs_persistent_chat_room();"#)
        .ok();
    s.c(&format!(r#"import_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{zip}`}})"#))
        .ok();
    assert_eq!(snapshot(&s), before);
}

/// Import upserts by name (spec 2.11): a pc01 archive imported on the instance serving pc02
/// replaces pc02's own room of the same name. What it says beforehand (WhatIf), what it records
/// and what it reports are what the merge does: created, replaced (naming the room whose
/// membership changes), unchanged, messages added and skipped.
#[test]
fn import_says_what_it_creates_replaces_and_skips_and_names_membership_changes() {
    let s = Store::demo_full();
    let dir = s.dir.path().to_string_lossy().into_owned();
    let audit = |s: &Store| -> Vec<serde_json::Value> {
        let run = s
            .run(&["--json", "-c", r#"get_cs_persistent_chat_audit_record(#{Cmdlet: "Import-CsPersistentChatData"})"#])
            .ok();
        serde_json::from_str(&run.stdout).expect("JSON")
    };
    let import = |instance: &str, zip: &str, extra: &str| {
        format!(r#"import_cs_persistent_chat_data(#{{DBInstance: "{instance}", FileName: "{dir}/{zip}"{extra}}})"#)
    };
    s.c(&format!(
        r#"new_cs_persistent_chat_room(#{{Name: "Build Status", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Projects"}});
           export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: "{dir}/rooms.zip", Level: "RoomDirectory"}})"#
    ))
    .ok();
    let before = s.dump();
    let run = s.c(&import("sql03.contoso.com\\\\rtc", "rooms.zip", ", WhatIf: true")).ok();
    let line = run.stdout.lines().find(|l| l.starts_with("What if:")).unwrap_or_default().to_string();
    for part in [
        r#"on target "sql03.contoso.com\rtc: categories 3 created, 0 replaced, 0 unchanged; rooms 6 created, 1 replaced, 0 unchanged;"#,
        "; rooms replaced: pc02.contoso.com\\Build Status;",
        "; membership changes: pc02.contoso.com\\Build Status (Category Engineering → Projects, Members 2 entries → none (open to the whole category scope))",
    ] {
        assert!(line.contains(part), "{part}\nin: {line}");
    }
    assert_eq!(s.dump(), before, "WhatIf changes nothing");
    assert!(audit(&s).is_empty());

    s.c(&import("sql03.contoso.com\\\\rtc", "rooms.zip", &format!(r#", Report: "{dir}/import.html""#))).ok();
    let room = s
        .c(r#"let r = get_cs_persistent_chat_room("pc02.contoso.com\\Build Status")[0]; `${r.Category}|${r.Members.len()}`"#)
        .ok();
    assert_eq!(room.stdout.trim(), "Projects|0", "replaced as the WhatIf said");
    let records = audit(&s);
    assert_eq!(records.len(), 1 + 3 + 6 + 1, "the instance, then each object created or replaced");
    assert_eq!(records[0]["Target"], "sql03.contoso.com\\rtc");
    assert_eq!(
        records[0]["After"],
        serde_json::json!({"CategoriesCreated": 3, "CategoriesReplaced": 0, "RoomsCreated": 6, "RoomsReplaced": 1})
    );
    let replaced = records.iter().find(|r| r["Target"] == "pc02.contoso.com\\Build Status").expect("its record");
    assert_eq!(
        replaced["Before"]["Members"],
        serde_json::json!(["OU=Engineering,DC=contoso,DC=com", "OU=Oslo,DC=contoso,DC=com"])
    );
    assert_eq!(
        (&replaced["Before"]["Category"], &replaced["After"]["Category"]),
        (&"Engineering".into(), &"Projects".into())
    );
    assert_eq!(replaced["After"]["Members"], serde_json::json!([]));
    let report = std::fs::read_to_string(format!("{dir}/import.html")).expect("report");
    assert!(report.contains("Rooms created: 6; replaced: 1; unchanged: 0"), "{report}");
    assert!(report.contains("Membership of pc02.contoso.com\\Build Status changed"), "{report}");

    // Again: everything is as archived; nothing is rewritten or recorded.
    let run = s.c(&import("sql03.contoso.com\\\\rtc", "rooms.zip", ", WhatIf: true")).ok();
    assert!(
        run.stdout
            .contains("categories 0 created, 0 replaced, 3 unchanged; rooms 0 created, 0 replaced, 7 unchanged\""),
        "{}",
        run.stdout
    );
    let before = s.dump();
    s.c(&import("sql03.contoso.com\\\\rtc", "rooms.zip", "")).ok();
    assert_eq!(audit(&s).len(), records.len(), "an import that changes nothing writes no record");
    assert_eq!(s.dump(), before);

    // Content: a round trip on pc01's own instance skips what is there and adds what was cleared.
    let count = |s: &Store| -> i64 {
        s.c(r#"get_cs_persistent_chat_message("pc01.contoso.com\\Helpdesk").len()"#).ok().stdout.trim().parse().unwrap()
    };
    s.c(&format!(
        r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: "{dir}/all.zip"}})"#
    ))
    .ok();
    let total: i64 = s
        .c(r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).reduce(|n, r| n + get_cs_persistent_chat_message(r.Identity).len(), 0)"#)
        .ok()
        .stdout
        .trim()
        .parse()
        .unwrap();
    let held = count(&s);
    assert!(held > 0 && total > held);
    s.c(r#"clear_cs_persistent_chat_room("pc01.contoso.com\\Helpdesk", #{EndDate: "2100-01-01", Confirm: false})"#)
        .ok();
    let run = s.c(&import("sql01.contoso.com\\\\rtc", "all.zip", ", WhatIf: true")).ok();
    let expected = format!("; messages {held} added, {} already present (skipped)", total - held);
    assert!(run.stdout.contains(&expected), "{expected}\nin: {}", run.stdout);
    assert_eq!(count(&s), 0, "WhatIf added nothing");
    s.c(&import("sql01.contoso.com\\\\rtc", "all.zip", "")).ok();
    assert_eq!(count(&s), held);
    let last = audit(&s).pop().expect("a record");
    assert_eq!(
        (last["Target"].as_str(), &last["After"]["MessagesAdded"]),
        (Some("sql01.contoso.com\\rtc"), &held.into())
    );
    assert_eq!(last["After"]["MessagesSkipped"], total - held);
}

/// The parts of an archive (entry name → bytes).
fn archive_parts(path: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut bytes).unwrap();
            (f.name().unwrap().to_string(), bytes)
        })
        .collect()
}

/// An archive of these parts, deflated as pchat writes them.
fn write_archive(path: &std::path::Path, parts: &[(String, Vec<u8>)]) {
    let mut z = zip::ZipWriter::new(std::fs::File::create(path).unwrap());
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in parts {
        z.start_file(name.as_str(), opts).unwrap();
        std::io::Write::write_all(&mut z, data).unwrap();
    }
    z.finish().unwrap();
}

/// An archive larger than one batch of the import on PostgreSQL (2,000 messages,
/// `store::message_batch`), with MessageIds repeated inside a batch, across a batch boundary and
/// of messages the room holds already, and bodies COPY must escape: the report counts what
/// SQLite's per-row import counts, each message is stored once in both copies with its body as
/// archived, and importing again skips them all. A kill once the first batch is written
/// (PostgreSQL; at the first message on SQLite, which writes row by row) leaves nothing.
#[test]
fn an_import_larger_than_a_batch_stores_each_message_once() {
    let s = store();
    s.c(SEED).ok();
    let seed = s.dir.path().join("seed.zip");
    s.c(&format!(
        r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{}`}})"#,
        seed.display()
    ))
    .ok();
    let mut parts = archive_parts(&seed);
    let content = parts.iter_mut().find(|(name, _)| name == "content.json").expect("content.json");
    let mut messages: Vec<serde_json::Value> = serde_json::from_slice(&content.1).unwrap();
    let held = messages.len();
    let room = messages[0]["Room"].clone();
    let bodies = ["tab\there", "line\nbreak\r\n", "back\\slash \\N \\.", "Grüße, 你好, 🙂"];
    for i in 0..2_500usize {
        messages.push(serde_json::json!({
            "MessageId": format!("bulk-{i}"), "Room": room, "Sender": "sip:annb@contoso.com",
            "PostedAtUs": 1_600_000_000_000_000i64 + (i / 2) as i64, "Text": format!("{} {i}", bodies[i % 4]),
            "Replaced": i % 3 == 0,
        }));
    }
    // Each repeated a little later: inside the first batch, across its end, inside the second.
    for at in [10, 1_990, 2_300] {
        let again = messages[at].clone();
        messages.insert(at + 20, again);
    }
    content.1 = serde_json::to_vec(&messages).unwrap();
    let zip = s.dir.path().join("bulk.zip");
    write_archive(&zip, &parts);
    let report = s.dir.path().join("report.txt");
    let import = format!(
        r#"import_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{}`, Report: `{}`}})"#,
        zip.display(),
        report.display()
    );

    let before = s.dump();
    let step = if s.is_postgres() { "import-batch-written" } else { "import-message" };
    let killed = s.command(&["--yes", "-c", &import]).env("PCHAT_FAULT", format!("{step}:kill")).output().unwrap();
    assert!(!killed.status.success());
    assert!(String::from_utf8_lossy(&killed.stderr).contains(&format!("pchat-fault: killed at {step}")), "{killed:?}");
    assert_eq!(s.dump(), before, "a killed import leaves nothing");

    s.c(&import).ok();
    let said = std::fs::read_to_string(&report).unwrap();
    assert!(
        said.contains(&format!("Messages added: 2500; skipped (MessageId already present): {}", held + 3)),
        "{said}"
    );
    let stored = "SELECT message_id || '|' || sender || '|' || text || '|' || replaced || '|' || size_bytes FROM messages ORDER BY posted_at, id";
    let primary = s.rows(Some("sql01.contoso.com\\rtc"), stored);
    assert_eq!(primary.len(), held + 2_500);
    assert_eq!(s.rows(Some("sql02.contoso.com\\rtc"), stored), primary, "the backup holds what the primary holds");
    for i in [0usize, 1, 2, 3, 1_999, 2_000] {
        let body = format!("{} {i}", bodies[i % 4]);
        let want = format!("bulk-{i}|sip:annb@contoso.com|{body}|{}|{}", i64::from(i % 3 == 0), body.len());
        assert!(primary.contains(&want), "{want:?} missing");
    }

    s.c(&import).ok();
    let said = std::fs::read_to_string(&report).unwrap();
    assert!(
        said.contains(&format!("Messages added: 0; skipped (MessageId already present): {}", held + 2_503)),
        "{said}"
    );
    assert_eq!(s.rows(Some("sql01.contoso.com\\rtc"), stored), primary);
}
