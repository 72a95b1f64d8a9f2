//! Test-CsPersistentChatMessage: the synthetic round trip through a pool.

use crate::catalog::*;

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
