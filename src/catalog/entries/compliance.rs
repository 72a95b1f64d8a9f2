//! Persistent Chat compliance settings.

use crate::catalog::*;

const ADAPTER_NAME: &str =
    "Name of the (third-party) adapter that converts compliance data to another format; default null.";
const ADAPTER_OUTPUT_DIRECTORY: &str =
    "Folder the adapter writes its output to; each adapter needs its own folder. Default null.";
const ADAPTER_TYPE: &str = "The adapter's .NET type name, e.g. `Microsoft.Rtc.Internal.Chat.Server.Compliance.XmlAdapter,compliance`; null (default) saves no compliance data.";
const ADD_CHAT_ROOM_DETAILS: &str = "True adds room details to the compliance output; default False.";
const ADD_USER_DETAILS: &str = "True adds user details to the compliance output; default False.";
const CREATE_FILE_ATTACHMENTS_MANIFEST: &str =
    "True writes an extra `.ATTACH` manifest for file attachments to the output folder; default False.";
const CUSTOM_CONFIGURATION: &str = "Custom adapter configuration (XSLT text); default null.";
const ONE_CHAT_ROOM_PER_OUTPUT_FILE: &str =
    "True writes a separate output file per chat room; default False (one file for all rooms).";
const RUN_INTERVAL: &str = "How often the adapter writes an output file; 00:01:00..30.00:00:00, default 00:15:00.";
const FORCE: &str = "Suppress non-fatal messages and prompts; never bypasses validation.";

pub const GET_CS_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION: Cmdlet = Cmdlet {
    name: "Get-CsPersistentChatComplianceConfiguration",
    noun: Noun::Compliance,
    synopsis: "Read compliance settings collections.",
    sets: &["Identity", "Filter"],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The collection: `global`, `site:<Site>` or `service:PersistentChatServer:<poolFqdn>`; no wildcards. Omitted: every collection.",
        )
        .sets(&["Identity"])
        .pos(0),
        param(
            "Filter",
            Ty::String,
            "Wildcard pattern matched case-insensitively against the collection Identity, e.g. `site:*`.",
        )
        .sets(&["Filter"]),
        param("LocalStore", Ty::Switch, "Read from the local replica of the Central Management store; accepted, no effect."),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::ComplianceConfiguration),
    examples: &[
        example(r#"get_cs_persistent_chat_compliance_configuration()"#, "All collections."),
        example(r#"get_cs_persistent_chat_compliance_configuration("site:Dublin")"#, "The Dublin collection only."),
        example(r#"get_cs_persistent_chat_compliance_configuration(#{Filter: "site:*"})"#, "Site-scoped collections only."),
        example(
            r#"get_cs_persistent_chat_compliance_configuration().filter(|c| c.AddUserDetails == true)"#,
            "Collections that send user details.",
        ),
        example(
            r#"get_cs_persistent_chat_compliance_configuration().filter(|c| c.AdapterType == ())"#,
            "Collections that save no compliance data (no adapter type).",
        ),
    ],
    extension: false,
};

pub const NEW_CS_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION: Cmdlet = Cmdlet {
    name: "New-CsPersistentChatComplianceConfiguration",
    noun: Noun::Compliance,
    synopsis: "Create a site- or service-scoped compliance collection.",
    sets: &[],
    params: &[
        param(
            "Identity",
            Ty::String,
            "Scope of the new collection: `site:<Site>` or `service:PersistentChatServer:<poolFqdn>`. Global always exists and cannot be created.",
        )
        .mandatory()
        .pos(0),
        param("AdapterName", Ty::String, ADAPTER_NAME),
        param("AdapterOutputDirectory", Ty::String, ADAPTER_OUTPUT_DIRECTORY),
        param("AdapterType", Ty::String, ADAPTER_TYPE),
        param("AddChatRoomDetails", Ty::Bool, ADD_CHAT_ROOM_DETAILS),
        param("AddUserDetails", Ty::Bool, ADD_USER_DETAILS),
        param("CreateFileAttachmentsManifest", Ty::Bool, CREATE_FILE_ATTACHMENTS_MANIFEST),
        param("CustomConfiguration", Ty::String, CUSTOM_CONFIGURATION),
        param("OneChatRoomPerOutputFile", Ty::Bool, ONE_CHAT_ROOM_PER_OUTPUT_FILE),
        param("RunInterval", Ty::TimeSpan, RUN_INTERVAL).span_range(60, 30 * 86400),
        param(
            "InMemory",
            Ty::Switch,
            "Return the new object without saving it; commit it later with Set-CsPersistentChatComplianceConfiguration -Instance.",
        ),
        param("Force", Ty::Switch, FORCE),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Object(ObjType::ComplianceConfiguration),
    examples: &[
        example(
            r#"new_cs_persistent_chat_compliance_configuration("site:Oslo", #{AdapterType: "Microsoft.Rtc.Internal.Chat.Server.Compliance.XmlAdapter,compliance", AdapterOutputDirectory: "D:\\Compliance\\Xml"})"#,
            "Oslo archives with the built-in XML adapter.",
        ),
        example(
            r#"new_cs_persistent_chat_compliance_configuration("service:PersistentChatServer:pc02.contoso.com", #{RunInterval: "01:00:00"})"#,
            "pc02 writes a compliance output file every hour.",
        ),
        failing(
            r#"new_cs_persistent_chat_compliance_configuration("site:Oslo", #{RunInterval: "00:00:30"})"#,
            "Fails: RunInterval is at least one minute.",
            "OutOfRange",
        ),
    ],
    extension: false,
};

pub const SET_CS_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION: Cmdlet = Cmdlet {
    name: "Set-CsPersistentChatComplianceConfiguration",
    noun: Noun::Compliance,
    synopsis: "Modify a compliance collection.",
    sets: &["Identity", "Instance"],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The collection to change: `global`, `site:<Site>` or `service:PersistentChatServer:<poolFqdn>`. Omitted: Global.",
        )
        .sets(&["Identity"])
        .pos(0),
        param(
            "Instance",
            Ty::Object(ObjType::ComplianceConfiguration),
            "A compliance object (from Get- or New- -InMemory) whose property values are written; piped collections bind here. An unsaved object is created.",
        )
        .sets(&["Instance"])
        .by_value(),
        param("AdapterName", Ty::String, ADAPTER_NAME),
        param("AdapterOutputDirectory", Ty::String, ADAPTER_OUTPUT_DIRECTORY),
        param("AdapterType", Ty::String, ADAPTER_TYPE),
        param("AddChatRoomDetails", Ty::Bool, ADD_CHAT_ROOM_DETAILS),
        param("AddUserDetails", Ty::Bool, ADD_USER_DETAILS),
        param("CreateFileAttachmentsManifest", Ty::Bool, CREATE_FILE_ATTACHMENTS_MANIFEST),
        param("CustomConfiguration", Ty::String, CUSTOM_CONFIGURATION),
        param("OneChatRoomPerOutputFile", Ty::Bool, ONE_CHAT_ROOM_PER_OUTPUT_FILE),
        param("RunInterval", Ty::TimeSpan, RUN_INTERVAL).span_range(60, 30 * 86400),
        param("Force", Ty::Switch, FORCE),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"set_cs_persistent_chat_compliance_configuration("site:Dublin", #{OneChatRoomPerOutputFile: true})"#,
            "Dublin writes one compliance report per room.",
        ),
        example(
            r#"set_cs_persistent_chat_compliance_configuration(#{RunInterval: "02:00:00"})"#,
            "No Identity: the Global interval becomes 2 hours.",
        ),
        example(
            r#"get_cs_persistent_chat_compliance_configuration().set_cs_persistent_chat_compliance_configuration(#{AddChatRoomDetails: false})"#,
            "Every collection stops adding room details.",
        ),
        failing(
            r#"set_cs_persistent_chat_compliance_configuration(#{RunInterval: "31.00:00:00"})"#,
            "Fails: RunInterval is at most 30 days.",
            "OutOfRange",
        ),
    ],
    extension: false,
};

pub const REMOVE_CS_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION: Cmdlet = Cmdlet {
    name: "Remove-CsPersistentChatComplianceConfiguration",
    noun: Noun::Compliance,
    synopsis: "Delete (or, for global, reset) a compliance collection.",
    sets: &[],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The collection: `site:<Site>` or `service:PersistentChatServer:<poolFqdn>` is deleted; `global` is reset to defaults. No wildcards; piped objects bind by their Identity.",
        )
        .mandatory()
        .pos(0)
        .by_property(),
        param("Force", Ty::Switch, FORCE),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"remove_cs_persistent_chat_compliance_configuration("service:PersistentChatServer:pc01.contoso.com")"#,
            "The pc01 collection is deleted; pc01 falls back to its site or Global.",
        ),
        example(
            r#"get_cs_persistent_chat_compliance_configuration(#{Filter: "service:*"}).remove_cs_persistent_chat_compliance_configuration()"#,
            "All service-scoped collections are deleted.",
        ),
        example(
            r#"get_cs_persistent_chat_compliance_configuration().filter(|c| c.OneChatRoomPerOutputFile == true).remove_cs_persistent_chat_compliance_configuration()"#,
            "Removes the collections that write one file per room (Global among them would only be reset).",
        ),
    ],
    extension: false,
};

pub const GET_CS_EFFECTIVE_PERSISTENT_CHAT_COMPLIANCE_CONFIGURATION: Cmdlet = Cmdlet {
    name: "Get-CsEffectivePersistentChatComplianceConfiguration",
    noun: Noun::Compliance,
    synopsis: "Show which compliance collection governs a Persistent Chat pool: its service collection, else its site's, else Global.",
    sets: &[],
    params: &[param(
        "PersistentChatPoolFqdn",
        Ty::Fqdn,
        "The Persistent Chat pool; omitted: every Persistent Chat pool. Piped objects bind by their PersistentChatPoolFqdn.",
    )
    .pos(0)
    .by_property()],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::ComplianceConfiguration),
    examples: &[
        example(
            r#"get_cs_effective_persistent_chat_compliance_configuration("pc02.contoso.com")"#,
            "The compliance collection governing pc02, with AppliesTo (the pool) and Scope (Service, Site or Global).",
        ),
        example(
            r#"get_cs_effective_persistent_chat_compliance_configuration().filter(|c| c.AdapterType == ())"#,
            "The Persistent Chat pools whose governing collection saves no compliance data.",
        ),
    ],
    extension: true,
};
