//! Data export and import.

use crate::catalog::enums::{ExportLevel, Named};
use crate::catalog::*;

pub const EXPORT_CS_PERSISTENT_CHAT_DATA: Cmdlet = Cmdlet {
    name: "Export-CsPersistentChatData",
    noun: Noun::Data,
    synopsis: "Export categories/rooms/content/users to a .zip or byte array.",
    sets: &["FileName", "AsBytes"],
    params: &[
        param(
            "DBInstance",
            Ty::String,
            "SQL instance holding the Persistent Chat database, as `<sqlServerFqdn>\\<instance>`, e.g. `sql01.contoso.com\\rtc`; it must serve a pool now (after a fail-over, the backup's instance does): an instance that serves none is an error naming the instance serving each pool, and nothing is written.",
        )
        .mandatory(),
        param("DBName", Ty::String, "Name of the Persistent Chat database on that instance; default `mgc`."),
        param("FileName", Ty::Path, "Path of the .zip archive to write (overwritten if present); nothing is returned.")
            .sets(&["FileName"])
            .mandatory(),
        param(
            "AsBytes",
            Ty::Switch,
            "Return the archive as a byte array (keep it in a variable for Import -ByteInput) instead of writing a file.",
        )
        .sets(&["AsBytes"])
        .mandatory(),
        param(
            "Level",
            Ty::Enum(ExportLevel::NAMES),
            "What to export: All (default: users, categories, rooms, content), User, Category, RoomDirectory (categories and rooms without content) or Content.",
        ),
        param("Scope", Ty::StringList, "Names of the categories to export, with their rooms; default all categories."),
        param(
            "StartDate",
            Ty::DateTime,
            "Export only content posted on or after this date; valid with Level All, RoomDirectory or Content.",
        ),
        param("DisableExportedNodes", Ty::Switch, "After the export, disable every exported room."),
        param("Report", Ty::Path, "Path of an HTML log file describing the export (overwritten if present)."),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Bytes,
    examples: &[
        example(
            r#"export_cs_persistent_chat_data(#{DBInstance: "sql01.contoso.com\\rtc", FileName: "pchat.zip"})"#,
            "Full export (Level All) to pchat.zip.",
        ),
        example(
            r#"export_cs_persistent_chat_data(#{DBInstance: "sql01.contoso.com\\rtc", Level: "Category", Scope: ["Finance", "Projects"], FileName: "cats.zip"})"#,
            "Only the Finance and Projects categories.",
        ),
        example(
            r#"let data = export_cs_persistent_chat_data(#{DBInstance: "sql01.contoso.com\\rtc", AsBytes: true}); data.len() > 0"#,
            "Full export kept in memory as a byte array.",
        ),
        example(
            r#"export_cs_persistent_chat_data(#{DBInstance: "sql01.contoso.com\\rtc", FileName: "all.zip", DisableExportedNodes: true, Report: "export.html"})"#,
            "Export, then disable the exported rooms; a log is written to export.html.",
        ),
        failing(
            r#"export_cs_persistent_chat_data(#{DBInstance: "sql01.contoso.com\\rtc"})"#,
            "Fails: give FileName or AsBytes.",
            "ParameterBinding",
        ),
        failing(
            r#"export_cs_persistent_chat_data(#{DBInstance: "sql01.contoso.com\\rtc", FileName: "pchat.zip", AsBytes: true})"#,
            "Fails: FileName and AsBytes cannot be combined.",
            "AmbiguousParameterSet",
        ),
    ],
    extension: false,
};

pub const IMPORT_CS_PERSISTENT_CHAT_DATA: Cmdlet = Cmdlet {
    name: "Import-CsPersistentChatData",
    noun: Noun::Data,
    synopsis: "Import data produced by the export cmdlet: categories and rooms are upserted by name (one the target pool already has of that name is replaced, settings and lists included); messages are appended, skipping those the room already holds (same MessageId posted at the same time). WhatIf, the prompt and the audit say what is created, replaced (by name, with membership changes) and skipped.",
    sets: &["FileName", "ByteInput"],
    params: &[
        param(
            "DBInstance",
            Ty::String,
            "SQL instance of the target Persistent Chat database, as `<sqlServerFqdn>\\<instance>`.",
        )
        .mandatory(),
        param("FileName", Ty::Path, "Path of an archive written by Export-CsPersistentChatData.")
            .sets(&["FileName"])
            .mandatory(),
        param(
            "ByteInput",
            Ty::Bytes,
            "An archive returned by Export-CsPersistentChatData -AsBytes; piped byte arrays bind here.",
        )
        .sets(&["ByteInput"])
        .mandatory()
        .by_value(),
        param("Report", Ty::Path, "Path of an HTML log file describing the import (overwritten if present)."),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"export_cs_persistent_chat_data(#{DBInstance: "sql01.contoso.com\\rtc", FileName: "pchat.zip"}); import_cs_persistent_chat_data(#{DBInstance: "sql03.contoso.com\\rtc", FileName: "pchat.zip"})"#,
            "pc01's data (exported from sql01) is merged into pc02, whose database is on sql03.",
        ),
        example(
            r#"let data = export_cs_persistent_chat_data(#{DBInstance: "sql01.contoso.com\\rtc", AsBytes: true}); import_cs_persistent_chat_data(#{DBInstance: "sql03.contoso.com\\rtc", ByteInput: data, Report: "import.html"})"#,
            "Import from memory, with a log written to import.html.",
        ),
        failing(
            r#"import_cs_persistent_chat_data(#{DBInstance: "sql01.contoso.com\\rtc", FileName: "no-such-file.zip"})"#,
            "Fails: the file does not exist.",
            "InvalidArgument",
        ),
    ],
    extension: false,
};
