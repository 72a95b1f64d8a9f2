//! Room messages: Remove-CsPersistentChatMessage, and the extensions Send-CsPersistentChatMessage
//! and Get-CsPersistentChatMessage.

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
        )
        .ends_range(),
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
        )
        .ends_range(),
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
