//! The audit trail (pchat extension): read it, and verify that it is the one written.

use crate::catalog::*;

pub const GET_CS_PERSISTENT_CHAT_AUDIT_RECORD: Cmdlet = Cmdlet {
    name: "Get-CsPersistentChatAuditRecord",
    noun: Noun::Audit,
    synopsis: "Read the audit trail, oldest first: who changed what, when, with which parameters, from where, and the values before and after.",
    sets: &[],
    params: &[
        param(
            "Actor",
            Ty::String,
            "Only records of this acting identity, as recorded (`DOMAIN\\logon`, or `local:<login>` for an operating-system account that is no directory user); `*` wildcards allowed.",
        ),
        param("Cmdlet", Ty::String, "Only records of this cmdlet (its PowerShell name or its Rhai name)."),
        param(
            "Target",
            Ty::String,
            "Only records about this object, as recorded (e.g. `pc01.contoso.com\\FinanceRoom`); `*` wildcards allowed.",
        ),
        param(
            "StartDate",
            Ty::DateTime,
            "Only records written on or after this time (UTC; a date alone starts at 00:00:00).",
        ),
        param(
            "EndDate",
            Ty::DateTime,
            "Only records written on or before this time (UTC; a date without a time covers the whole day).",
        )
        .ends_range(),
        param(
            "ResultSize",
            Ty::Unlimited,
            "Maximum number of records to return (0..2147483647 or `Unlimited`), oldest first; 0 returns nothing.",
        )
        .range(0, 2147483647),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::AuditRecord),
    examples: &[
        example(r#"get_cs_persistent_chat_audit_record(#{ResultSize: 10})"#, "The ten oldest records."),
        example(
            r#"get_cs_persistent_chat_audit_record(#{Cmdlet: "New-CsPersistentChatRoom", Target: "*FinanceRoom"})"#,
            "Who created FinanceRoom, when, from where and with which parameters.",
        ),
        example(
            r#"get_cs_persistent_chat_audit_record(#{StartDate: "2020-01-01", Cmdlet: "Publish-CsTopology"}).map(|r| [r.Time, r.Actor, r.Source])"#,
            "When the topology was published since 2020, by whom and from which runbook line.",
        ),
        failing(
            r#"get_cs_persistent_chat_audit_record(#{Cmdlet: "Set-CsPersistentChatRom"})"#,
            "Fails: a cmdlet name that does not exist is an error with the nearest name, not an empty answer.",
            "InvalidArgument",
        ),
    ],
    extension: true,
};

pub const TEST_CS_PERSISTENT_CHAT_AUDIT_RECORD: Cmdlet = Cmdlet {
    name: "Test-CsPersistentChatAuditRecord",
    noun: Noun::Audit,
    synopsis: "Verify the audit trail's hash chain and its head: Success, or Failure naming the first record that is not the one written (edited, removed, reordered, or removed from the end).",
    sets: &[],
    params: &[param(
        "Anchor",
        Ty::String,
        "A head noted earlier, as `<LastSequence>:<LastHash>` from an earlier result: the record with that sequence must still have that hash. Keep each night's head outside the store (a log on another machine) to catch a trail rewritten whole, head included.",
    )],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Object(ObjType::AuditVerification),
    examples: &[
        example(r#"test_cs_persistent_chat_audit_record()"#, "Result Success and the number of records checked."),
        example(
            r#"let head = test_cs_persistent_chat_audit_record(); test_cs_persistent_chat_audit_record(#{Anchor: "" + head.LastSequence + ":" + head.LastHash})"#,
            "Checks the trail against a head noted earlier.",
        ),
        failing(
            r#"test_cs_persistent_chat_audit_record(#{Anchor: "1:abc"})"#,
            "Fails: an anchor must be `<sequence>:<64 hexadecimal digits>`.",
            "InvalidArgument",
        ),
    ],
    extension: true,
};
