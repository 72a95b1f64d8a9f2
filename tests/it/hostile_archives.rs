//! Hostile archives are refused whole by Import-CsPersistentChatData, with the reason, changing
//! nothing: duplicate entries, impossible declared sizes, oversized or control-laden names,
//! impossible dates, oversized messages. And the same limits hold for the cmdlets.

use crate::common;
use common::{Store, fails_unchanged, single_error_line};
use serde_json::Value;

/// Demo store with the example rooms and one message, and an export of it (entry name → bytes).
fn store_and_export() -> (Store, Vec<(String, Vec<u8>)>) {
    let s = Store::examples();
    s.c(r#"send_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{SenderSipAddress: "sip:annb@contoso.com", Message: "Q4", PostedAt: "2019-12-31T23:30:00Z"})"#).ok();
    let good = s.dir.path().join("good.zip");
    s.c(&format!(
        r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{}`, Level: "All"}})"#,
        good.display()
    ))
    .ok();
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&good).unwrap()).unwrap();
    let parts = (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut f, &mut bytes).unwrap();
            (f.name().unwrap().to_string(), bytes)
        })
        .collect();
    (s, parts)
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A stored (uncompressed) zip written byte by byte, so that entry names may repeat and the
/// central directory may declare any size: (name, data, declared size override).
fn raw_zip(entries: &[(&str, &[u8], Option<u32>)]) -> Vec<u8> {
    let (mut out, mut central) = (Vec::new(), Vec::new());
    for (name, data, declared) in entries {
        let offset = out.len() as u32;
        let (crc, size) = (crc32(data), data.len() as u32);
        let declared = declared.unwrap_or(size);
        let header = |sig: u32, central_entry: bool| {
            let mut h = sig.to_le_bytes().to_vec();
            if central_entry {
                h.extend_from_slice(&20u16.to_le_bytes());
            }
            for v in [20u16, 0, 0, 0, 0] {
                h.extend_from_slice(&v.to_le_bytes());
            }
            h.extend_from_slice(&crc.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&declared.to_le_bytes());
            h.extend_from_slice(&(name.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            if central_entry {
                for v in [0u16, 0, 0] {
                    h.extend_from_slice(&v.to_le_bytes());
                }
                h.extend_from_slice(&0u32.to_le_bytes());
                h.extend_from_slice(&offset.to_le_bytes());
            }
            h.extend_from_slice(name.as_bytes());
            h
        };
        out.extend(header(0x0403_4b50, false));
        out.extend_from_slice(data);
        central.extend(header(0x0201_4b50, true));
    }
    let (cd_offset, cd_size, n) = (out.len() as u32, central.len() as u32, entries.len() as u16);
    out.extend(central);
    out.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    for v in [0u16, 0, n, n] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0u16.to_le_bytes());
    out
}

/// A deflated zip of the parts, as pchat writes them.
fn deflated_zip(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in parts {
        z.start_file(name.as_str(), opts).unwrap();
        std::io::Write::write_all(&mut z, data).unwrap();
    }
    z.finish().unwrap().into_inner()
}

/// The export with one part's JSON changed.
fn edited(parts: &[(String, Vec<u8>)], part: &str, edit: impl Fn(&mut Value)) -> Vec<u8> {
    let parts: Vec<(String, Vec<u8>)> = parts
        .iter()
        .map(|(n, d)| {
            if n != part {
                return (n.clone(), d.clone());
            }
            let mut v: Value = serde_json::from_slice(d).unwrap();
            edit(&mut v);
            (n.clone(), serde_json::to_vec(&v).unwrap())
        })
        .collect();
    deflated_zip(&parts)
}

fn import_fails(s: &Store, name: &str, bytes: &[u8], reason: &str) {
    let path = s.dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    let before = s.dump();
    let run = s.c(&format!(
        r#"import_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{}`}})"#,
        path.display()
    ));
    let line = single_error_line(&run);
    assert!(line.starts_with("Import-CsPersistentChatData: InvalidArgument: "), "{name}: {line}");
    assert!(line.contains(reason) && line.contains("nothing was imported"), "{name}: {line}");
    assert!(line.chars().count() < 1000, "{name}: the error repeats the hostile value");
    assert_eq!(s.dump(), before, "{name} changed the store");
}

#[test]
fn hostile_archives_are_refused_whole_with_the_reason() {
    let (s, parts) = store_and_export();
    let part = |n: &str| parts.iter().find(|(p, _)| p == n).map(|(_, d)| d.as_slice()).unwrap();
    // The untouched export imports (the cases below fail for their own reason only).
    let good = deflated_zip(&parts);
    let path = s.dir.path().join("good-again.zip");
    std::fs::write(&path, &good).unwrap();
    s.c(&format!(
        r#"import_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: `{}`}})"#,
        path.display()
    ))
    .ok();

    let entries = |extra: (&'static str, &'static [u8], Option<u32>)| {
        let mut e: Vec<(&str, &[u8], Option<u32>)> =
            parts.iter().map(|(n, d)| (n.as_str(), d.as_slice(), None)).collect();
        e.push(extra);
        e
    };
    let rooms = part("rooms.json");
    let rooms_static: &'static [u8] = Box::leak(rooms.to_vec().into_boxed_slice());
    import_fails(&s, "duplicate.zip", &raw_zip(&entries(("rooms.json", rooms_static, None))), "appears twice");

    let mut huge: Vec<(&str, &[u8], Option<u32>)> =
        parts.iter().map(|(n, d)| (n.as_str(), d.as_slice(), None)).collect();
    for e in huge.iter_mut().filter(|e| e.0 == "content.json") {
        e.2 = Some(0xFFFF_FFFF);
    }
    import_fails(&s, "ffffffff.zip", &raw_zip(&huge), "not a valid Persistent Chat export");
    // 300 kB that declare 200 MiB: below the compression-bomb ratio, above the part limit.
    let mut padded = rooms.to_vec();
    padded.resize(rooms.len() + 300_000, b' ');
    for e in huge.iter_mut() {
        e.2 = None;
        if e.0 == "rooms.json" {
            e.1 = &padded;
            e.2 = Some(200 << 20);
        }
    }
    import_fails(&s, "declared.zip", &raw_zip(&huge), "rooms.json declares 209715200 bytes (limit 67108864)");

    let set_room = |key: &'static str, value: Value| edited(&parts, "rooms.json", move |v| v[0][key] = value.clone());
    import_fails(&s, "longname.zip", &set_room("Name", Value::from("x".repeat(5_000_000))), "too long for a name");
    import_fails(&s, "nul.zip", &set_room("Name", Value::from("Fin\0ance")), "control character \\0 (U+0000)");
    import_fails(&s, "esc.zip", &set_room("Description", Value::from("\u{1b}[2J")), "control character \\e");
    // The room's described properties are checked against its descriptor.
    import_fails(
        &s,
        "unknown.zip",
        &set_room("Colour", Value::from("red")),
        "rooms.json: room 'CEO Updates': unknown key 'Colour'",
    );
    import_fails(
        &s,
        "privacy.zip",
        &set_room("Privacy", Value::from("Public")),
        "Privacy 'Public' is not one of Open, Closed, Secret",
    );
    import_fails(
        &s,
        "disabled.zip",
        &set_room("Disabled", Value::from("yes")),
        "Disabled is \"yes\", not true or false",
    );
    import_fails(&s, "nulltype.zip", &set_room("Type", Value::Null), "Type is null, not one of its names");
    import_fails(
        &s,
        "when.zip",
        &set_room("WhenCreated", Value::from("yesterday")),
        "WhenCreated: 'yesterday' is not a valid date",
    );
    let set_message =
        |key: &'static str, value: Value| edited(&parts, "content.json", move |v| v[0][key] = value.clone());
    import_fails(
        &s,
        "year.zip",
        &set_message("PostedAtUs", Value::from(-99_999_999_999_999_999_i64)),
        "outside 1970-01-01 to 9999-12-31",
    );
    import_fails(&s, "bigmessage.zip", &set_message("Text", Value::from("x".repeat(70_000))), "too long for a message");
}

#[test]
fn cmdlets_refuse_oversized_names_and_messages_and_control_characters() {
    let s = Store::examples();
    // Long values are built by the script itself: a literal of megabytes only slows the parser.
    for (code, param) in [
        (r#"let n = "x"; for i in 0..23 { n += n; } new_cs_persistent_chat_room(#{Name: n, PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"})"#.to_string(), "Name"),
        (format!(r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{{Description: "{}"}})"#, "d".repeat(1025)), "Description"),
        (r#"new_cs_persistent_chat_addin(#{Name: "a\x1b[2J", PersistentChatPoolFqdn: "pc01.contoso.com", Url: "https://x.contoso.com"})"#.to_string(), "Name"),
        (r#"new_cs_persistent_chat_room(#{Name: "tab\there", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"})"#.to_string(), "Name"),
    ] {
        let cmdlet = if code.contains("new_cs_persistent_chat_room") {
            "New-CsPersistentChatRoom"
        } else if code.starts_with("set_") {
            "Set-CsPersistentChatCategory"
        } else {
            "New-CsPersistentChatAddin"
        };
        let path = s.dir.path().join("limit.rhai");
        std::fs::write(&path, &code).unwrap();
        let before = s.dump();
        let run = s.run(&["run", &path.to_string_lossy()]);
        let line = single_error_line(&run);
        assert!(line.starts_with(&format!("{cmdlet}: ParameterBinding: cannot bind parameter '{param}'")), "{line}");
        assert!(line.chars().count() < 400, "{line}");
        assert_eq!(s.dump(), before);
    }
    // A 64 MB message (2^26 characters) is refused before it is read into the store.
    let path = s.dir.path().join("big.rhai");
    let send = r#"let m = "m"; for i in 0..26 { m += m; }
        send_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{SenderSipAddress: "sip:annb@contoso.com", Message: m})"#;
    std::fs::write(&path, send).unwrap();
    let run = s.run(&["run", &path.to_string_lossy()]);
    assert!(single_error_line(&run).contains("too long for a message (at most 65536)"), "{}", run.stderr);
    // A message pchat accepts must survive its own export and import: no posting times out of range.
    fails_unchanged(
        &s,
        r#"send_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{SenderSipAddress: "sip:annb@contoso.com", Message: "old", PostedAt: "0001-01-01"})"#,
        "Send-CsPersistentChatMessage",
        "OutOfRange",
    );
    // Multi-line descriptions stay allowed.
    s.c(r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{Description: "line one\nline\ttwo"})"#).ok();
    fails_unchanged(
        &s,
        r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{Description: "bell\x07"})"#,
        "Set-CsPersistentChatCategory",
        "ParameterBinding",
    );
}

/// A store that cannot take the archive's messages (a full disk, here a pool file whose messages
/// table refuses inserts as a full disk would) was reported as "the archive is not a valid
/// Persistent Chat export", which invites an administrator to throw a good archive away. The
/// store's error is reported as the store's, and nothing is imported. Runs on both backends
/// (PCHAT_TEST_BACKEND).
#[test]
fn a_store_that_cannot_take_the_messages_is_not_reported_as_a_damaged_archive() {
    let s = Store::demo_full();
    let zip = s.dir.path().join("a.zip").to_string_lossy().into_owned();
    s.c(&format!(
        r#"export_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: "{zip}"}});
           clear_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{{EndDate: "2030-01-01", Confirm: false}})"#
    ))
    .ok();
    // What each backend says when its disk is full.
    let (full, trigger) = if s.is_postgres() {
        (
            "could not extend file: No space left on device",
            "CREATE FUNCTION refuse_inserts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
               RAISE EXCEPTION 'could not extend file: No space left on device' USING ERRCODE = 'disk_full'; END $$; \
             CREATE TRIGGER refuse_inserts BEFORE INSERT ON messages FOR EACH ROW EXECUTE FUNCTION refuse_inserts()",
        )
    } else {
        (
            "database or disk is full",
            "CREATE TRIGGER full BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END",
        )
    };
    for copy in ["sql01", "sql02"] {
        s.copy_db(copy).batch(trigger);
    }
    let before = s.dump();
    let run = s.c(&format!(
        r#"import_cs_persistent_chat_data(#{{DBInstance: "sql01.contoso.com\\rtc", FileName: "{zip}", Confirm: false}})"#
    ));
    assert_ne!(run.code, 0, "{}", run.stdout);
    let line = single_error_line(&run);
    assert!(line.contains(&format!("store error: {full}")), "{line}");
    assert!(!line.contains("not a valid Persistent Chat export"), "{line}");
    assert_eq!(s.dump(), before, "nothing is imported");
}
