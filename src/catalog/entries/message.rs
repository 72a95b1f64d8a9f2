//! Room messages: Remove-CsPersistentChatMessage and Test-CsPersistentChatMessage,
//! and the extensions Send-CsPersistentChatMessage and Get-CsPersistentChatMessage.

use crate::catalog::*;

pub const REMOVE_CS_PERSISTENT_CHAT_MESSAGE: Cmdlet = Cmdlet {
    name: "Remove-CsPersistentChatMessage",
    noun: Noun::Message,
    synopsis: "Replace (default) or delete selected messages in a room.",
    sets: &["Remove", "Replace"],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The room as `<poolFqdn>\\<Name>`. Not positional: give it by name.",
        )
        .mandatory(),
        param(
            "Remove",
            Ty::Switch,
            "Delete the matching messages outright. Without Remove or ReplaceMessage they are replaced by \"This message was replaced by the Persistent Chat administrator.\"",
        )
        .sets(&["Remove"]),
        param("ReplaceMessage", Ty::String, "Replace the text of each matching message with this text.")
            .sets(&["Replace"])
            .mandatory(),
        param("UserUri", Ty::Sip, "Only messages posted by this user (SIP address)."),
        param("StartDate", Ty::DateTime, "Only messages posted on or after this date (a date alone starts at 00:00:00)."),
        param(
            "EndDate",
            Ty::DateTime,
            "Only messages posted on or before this date (a date without a time covers the whole day).",
        ),
        param("Filter", Ty::String, "Keywords separated by spaces, matched against the message text as MatchClause says."),
        param(
            "MatchClause",
            Ty::Enum(&["All", "Or", "Exact", "And"]),
            "All (default; `And` is a synonym): the text contains every keyword; Or: at least one; Exact: the whole Filter as one phrase.",
        ),
        param("CaseSensitive", Ty::Bool, "True matches the Filter keywords case-sensitively; default False."),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"remove_cs_persistent_chat_message(#{Identity: "pc01.contoso.com\\FinanceRoom", EndDate: "1/31/2020"})"#,
            "Every message up to 31 Jan 2020 is replaced with the default text.",
        ),
        example(
            r#"remove_cs_persistent_chat_message(#{Identity: "pc01.contoso.com\\FinanceRoom", UserUri: "sip:tempuser@contoso.com", Remove: true})"#,
            "That user's messages are deleted.",
        ),
        example(
            r#"remove_cs_persistent_chat_message(#{Identity: "pc01.contoso.com\\FinanceRoom", Filter: "merger Fabrikam", MatchClause: "Or", ReplaceMessage: "[redacted]"})"#,
            "Messages mentioning either word become \"[redacted]\".",
        ),
        example(
            r#"remove_cs_persistent_chat_message(#{Identity: "pc01.contoso.com\\FinanceRoom", Filter: "Internal Only", MatchClause: "Exact", CaseSensitive: true})"#,
            "Only messages containing exactly \"Internal Only\" are replaced.",
        ),
        failing(
            r#"remove_cs_persistent_chat_message(#{Identity: "pc01.contoso.com\\FinanceRoom", Remove: true, ReplaceMessage: "[redacted]"})"#,
            "Fails: Remove and ReplaceMessage belong to different parameter sets.",
            "AmbiguousParameterSet",
        ),
    ],
    extension: false,
};

pub const TEST_CS_PERSISTENT_CHAT_MESSAGE: Cmdlet = Cmdlet {
    name: "Test-CsPersistentChatMessage",
    noun: Noun::Message,
    synopsis: "Synthetic test: two users exchange messages via a room.",
    sets: &["ServerPlatform", "ClientPlatform"],
    params: &[
        param("TargetFqdn", Ty::String, "FQDN of the pool to test; required unless credentials are given.")
            .mandatory_in(&["ServerPlatform"])
            .pos(0)
            .aliases(&["t"]),
        param(
            "SenderSipAddress",
            Ty::Sip,
            "SIP address of the sending user; must match SenderCredential. Server platform default: the pool's first stored test user.",
        )
        .mandatory_in(&["ClientPlatform"])
        .aliases(&["sa"]),
        param("SenderCredential", Ty::Credential, "Credential of the sending user (from Get-Credential).")
            .sets(&["ClientPlatform"])
            .mandatory()
            .aliases(&["sc"]),
        param(
            "ReceiverSipAddress",
            Ty::Sip,
            "SIP address of the receiving user; must match ReceiverCredential. Server platform default: the pool's second stored test user.",
        )
        .mandatory_in(&["ClientPlatform"])
        .aliases(&["ra"]),
        param("ReceiverCredential", Ty::Credential, "Credential of the receiving user (from Get-Credential).")
            .sets(&["ClientPlatform"])
            .mandatory()
            .aliases(&["rc"]),
        param(
            "ChatRoomUri",
            Ty::String,
            "The room to use, as `<poolFqdn>\\<roomName>`. Default: the first enabled room of the target pool both users can join.",
        ),
        param(
            "Authentication",
            Ty::Enum(&["TrustedServer", "Negotiate", "ClientCertificate", "LiveID"]),
            "Authentication mechanism; default Negotiate with credentials, TrustedServer otherwise.",
        )
        .aliases(&["Ath"]),
        param("RegistrarPort", Ty::Int32, "SIP port of the Registrar service; default 5061.").aliases(&["rp"]),
        param(
            "Setup",
            Ty::Bool,
            "True stores TestUser1SipAddress (sender) and TestUser2SipAddress (receiver) as the pool's health-monitoring test users, replacing earlier ones, and returns a TaskOutput saying so; no test is run.",
        ),
        param("TestUser1SipAddress", Ty::Sip, "First health-monitoring test user; required with Setup."),
        param("TestUser2SipAddress", Ty::Sip, "Second health-monitoring test user; required with Setup."),
        param(
            "OutLoggerVariable",
            Ty::String,
            "Name of a variable (no `$`) that receives the log of the test: a map with the TaskOutput's properties and `Entries` (Time, Step, Outcome, Message), rendered by `log.ToHTML()` and `log.ToXML()`. A script declares the variable first (`let log;`); in the REPL it is created for the next input.",
        )
        .aliases(&["olv"]),
        param(
            "OutVerboseVariable",
            Ty::String,
            "Name of a variable (no `$`) that receives the steps of the test as text (what `Verbose: true` prints).",
        )
            .aliases(&["ovv"]),
        param("Force", Ty::Switch, "Suppress non-fatal messages and prompts; never bypasses validation."),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Object(ObjType::TaskOutput),
    examples: &[
        example(
            r#"let c1 = get_credential("contoso\\annb", #{Password: "Pa55w.rd"}); let c2 = get_credential("contoso\\bobk", #{Password: "Pa55w.rd"}); test_cs_persistent_chat_message(#{TargetFqdn: "pc01.contoso.com", SenderSipAddress: "sip:annb@contoso.com", SenderCredential: c1, ReceiverSipAddress: "sip:bobk@contoso.com", ReceiverCredential: c2})"#,
            "Result Success if both users are enabled by policy and a room both can join exists; otherwise Failure with a Diagnosis.",
        ),
        example(
            r#"test_cs_persistent_chat_message("pc01.contoso.com", #{Setup: true, TestUser1SipAddress: "sip:watch1@contoso.com", TestUser2SipAddress: "sip:watch2@contoso.com"})"#,
            "Stores the pool's health-monitoring test users.",
        ),
        example(
            r#"test_cs_persistent_chat_message("pc01.contoso.com", #{ChatRoomUri: "pc01.contoso.com\\FinanceRoom", OutLoggerVariable: "TestLog"})"#,
            "Server-platform test in that room with the stored test users; the log goes to TestLog.",
        ),
        example(
            r#"let log; test_cs_persistent_chat_message("pc01.contoso.com", #{OutLoggerVariable: "log"}); print(log.ToHTML())"#,
            "Runs the test and prints its log as an HTML page (a script declares the variable first; `log.ToXML()` gives XML).",
        ),
        failing(
            r#"test_cs_persistent_chat_message("pc01.contoso.com", #{Setup: true, TestUser1SipAddress: "sip:watch1@contoso.com"})"#,
            "Fails: Setup needs both test users.",
            "InvalidArgument",
        ),
    ],
    extension: false,
};

pub const SEND_CS_PERSISTENT_CHAT_MESSAGE: Cmdlet = Cmdlet {
    name: "Send-CsPersistentChatMessage",
    noun: Noun::Message,
    synopsis: "Post a message to a room as a user, enforcing everything the service enforces on posting.",
    sets: &[],
    params: &[
        param("Identity", Ty::String, "The room as `<poolFqdn>\\<Name>`.").mandatory().pos(0),
        param(
            "SenderSipAddress",
            Ty::Sip,
            "The posting user: SIP-enabled, enabled by policy, allowed to take part in the room (and a presenter in an Auditorium room).",
        )
        .mandatory(),
        param("Message", Ty::String, "The message text.").mandatory(),
        param("PostedAt", Ty::DateTime, "When the message was posted; default now."),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Object(ObjType::Message),
    examples: &[
        example(
            r#"send_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{SenderSipAddress: "sip:annb@contoso.com", Message: "The Q3 budget draft is ready."})"#,
            "Ann posts to FinanceRoom; the stored message is returned.",
        ),
        example(
            r#"send_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{SenderSipAddress: "sip:annb@contoso.com", Message: "Month-end close starts today.", PostedAt: "2019-12-02T09:00:00Z"})"#,
            "A message with an explicit posting time (useful to stage retention tests).",
        ),
    ],
    extension: true,
};

pub const GET_CS_PERSISTENT_CHAT_MESSAGE: Cmdlet = Cmdlet {
    name: "Get-CsPersistentChatMessage",
    noun: Noun::Message,
    synopsis: "Read a room's messages, oldest first.",
    sets: &[],
    params: &[
        param("Identity", Ty::String, "The room as `<poolFqdn>\\<Name>`; piped rooms bind by their Identity.")
            .mandatory()
            .pos(0)
            .by_property(),
        param(
            "StartDate",
            Ty::DateTime,
            "Only messages posted on or after this date (a date alone starts at 00:00:00).",
        ),
        param(
            "EndDate",
            Ty::DateTime,
            "Only messages posted on or before this date (a date without a time covers the whole day).",
        ),
        param("UserUri", Ty::Sip, "Only messages posted by this user (SIP address)."),
        param(
            "ResultSize",
            Ty::Unlimited,
            "Maximum number of messages to return (0..2147483647 or `Unlimited`), oldest first; 0 returns nothing.",
        )
        .range(0, 2147483647),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::Message),
    examples: &[
        example(r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom")"#, "Every message of FinanceRoom."),
        example(
            r#"get_cs_persistent_chat_message("pc01.contoso.com\\FinanceRoom", #{UserUri: "sip:annb@contoso.com", StartDate: "1/1/2020"})"#,
            "Ann's messages since 1 January 2020.",
        ),
        example(
            r#"get_cs_persistent_chat_room(#{Category: "Finance"}).get_cs_persistent_chat_message(#{ResultSize: 5})"#,
            "At most 5 messages of each Finance room.",
        ),
    ],
    extension: true,
};
