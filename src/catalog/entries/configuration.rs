//! Persistent Chat configuration settings.

use crate::catalog::*;

const DEFAULT_CHAT_HISTORY: &str = "Number of messages immediately available on entering a room (not a cap on retrievable history); 1..500, default 30.";
const MAX_FILE_SIZE_KB: &str = "Largest file (KB) the web service uploads or downloads; default 20000.";
const PARTICIPANT_UPDATE_LIMIT: &str =
    "Number of participants above which live participant-list updates stop; default 75.";
const FORCE: &str = "Suppress non-fatal messages and prompts; never bypasses validation.";

pub const GET_CS_PERSISTENT_CHAT_CONFIGURATION: Cmdlet = Cmdlet {
    name: "Get-CsPersistentChatConfiguration",
    noun: Noun::Configuration,
    synopsis: "Read configuration settings collections.",
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
            "Wildcard pattern matched case-insensitively against the collection Identity, e.g. `site:*` or `service:*`.",
        )
        .sets(&["Filter"]),
        param("LocalStore", Ty::Switch, "Read from the local replica of the Central Management store; accepted, no effect."),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::Configuration),
    examples: &[
        example(r#"get_cs_persistent_chat_configuration()"#, "All collections (at least Global)."),
        example(r#"get_cs_persistent_chat_configuration(#{Identity: "site:Dublin"})"#, "The Dublin collection."),
        example(r#"get_cs_persistent_chat_configuration(#{Filter: "site:*"})"#, "Every site-scoped collection."),
        example(
            r#"get_cs_persistent_chat_configuration().filter(|c| c.ParticipantUpdateLimit < 75)"#,
            "Collections below the default participant update limit.",
        ),
        example(
            r#"get_cs_persistent_chat_configuration().filter(|c| c.RoomManagementUrl != ())"#,
            "Collections that have a room-management URL.",
        ),
    ],
    extension: false,
};

pub const NEW_CS_PERSISTENT_CHAT_CONFIGURATION: Cmdlet = Cmdlet {
    name: "New-CsPersistentChatConfiguration",
    noun: Noun::Configuration,
    synopsis: "Create a site- or service-scoped configuration collection.",
    sets: &[],
    params: &[
        param(
            "Identity",
            Ty::String,
            "Scope of the new collection: `site:<Site>` or `service:PersistentChatServer:<poolFqdn>`. Global always exists and cannot be created.",
        )
        .mandatory()
        .pos(0),
        param("DefaultChatHistory", Ty::Int16, DEFAULT_CHAT_HISTORY).range(1, 500),
        param("MaxFileSizeKB", Ty::UInt32, MAX_FILE_SIZE_KB),
        param("ParticipantUpdateLimit", Ty::UInt32, PARTICIPANT_UPDATE_LIMIT),
        param("RoomManagementUrl", Ty::String, "URL of the room-management web page; default null."),
        param(
            "InMemory",
            Ty::Switch,
            "Return the new object without saving it; commit it later with Set-CsPersistentChatConfiguration -Instance.",
        ),
        param("Force", Ty::Switch, FORCE),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Object(ObjType::Configuration),
    examples: &[
        example(
            r#"new_cs_persistent_chat_configuration("site:Oslo", #{ParticipantUpdateLimit: 150})"#,
            "New Oslo collection with limit 150; the other properties take their defaults (30, 20000, null).",
        ),
        example(
            r#"new_cs_persistent_chat_configuration(#{Identity: "service:PersistentChatServer:pc02.contoso.com", DefaultChatHistory: 50, MaxFileSizeKB: 10000})"#,
            "Pool-level collection for pc02.",
        ),
        example(
            r#"let c = new_cs_persistent_chat_configuration("site:Oslo", #{InMemory: true}); c.DefaultChatHistory = 60; set_cs_persistent_chat_configuration(#{Instance: c})"#,
            "Build in memory, edit, then commit: Site:Oslo now exists with DefaultChatHistory 60.",
        ),
        failing(
            r#"new_cs_persistent_chat_configuration("global")"#,
            "Fails: Global always exists; change it with Set-CsPersistentChatConfiguration.",
            "InvalidArgument",
        ),
        failing(
            r#"new_cs_persistent_chat_configuration("site:Oslo", #{MaxChatContentSizeMB: 100})"#,
            "Fails: the pre-release parameter MaxChatContentSizeMB is not accepted.",
            "ParameterBinding",
        ),
    ],
    extension: false,
};

pub const SET_CS_PERSISTENT_CHAT_CONFIGURATION: Cmdlet = Cmdlet {
    name: "Set-CsPersistentChatConfiguration",
    noun: Noun::Configuration,
    synopsis: "Modify a configuration collection.",
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
            Ty::Object(ObjType::Configuration),
            "A configuration object (from Get- or New- -InMemory) whose property values are written; piped collections bind here. An unsaved object is created.",
        )
        .sets(&["Instance"])
        .by_value(),
        param("DefaultChatHistory", Ty::Int16, DEFAULT_CHAT_HISTORY).range(1, 500),
        param("MaxFileSizeKB", Ty::UInt32, MAX_FILE_SIZE_KB),
        param("ParticipantUpdateLimit", Ty::UInt32, PARTICIPANT_UPDATE_LIMIT),
        param("RoomManagementUrl", Ty::String, "URL of the room-management web page; `()` clears it."),
        param("Force", Ty::Switch, FORCE),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"set_cs_persistent_chat_configuration("global", #{MaxFileSizeKB: 40000})"#,
            "The global file size limit becomes 40000 KB.",
        ),
        example(r#"set_cs_persistent_chat_configuration(#{DefaultChatHistory: 25})"#, "No Identity: Global gets 25."),
        example(
            r#"get_cs_persistent_chat_configuration(#{Filter: "service:*"}).set_cs_persistent_chat_configuration(#{ParticipantUpdateLimit: 60})"#,
            "Every service-scoped collection gets a participant update limit of 60.",
        ),
        failing(
            r#"set_cs_persistent_chat_configuration("site:Dublin", #{DefaultChatHistory: 600})"#,
            "Fails: DefaultChatHistory is 1..500; nothing changes.",
            "OutOfRange",
        ),
    ],
    extension: false,
};

pub const REMOVE_CS_PERSISTENT_CHAT_CONFIGURATION: Cmdlet = Cmdlet {
    name: "Remove-CsPersistentChatConfiguration",
    noun: Noun::Configuration,
    synopsis: "Delete (or, for global, reset) a configuration collection.",
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
            r#"remove_cs_persistent_chat_configuration("site:Dublin")"#,
            "The Dublin collection is deleted; its pools fall back to Global.",
        ),
        example(
            r#"get_cs_persistent_chat_configuration(#{Filter: "service:*"}).remove_cs_persistent_chat_configuration()"#,
            "All pool-level collections are deleted.",
        ),
        example(
            r#"remove_cs_persistent_chat_configuration("global")"#,
            "Global is reset to its defaults (30, 20000, 75, null) and still present.",
        ),
    ],
    extension: false,
};

pub const GET_CS_EFFECTIVE_PERSISTENT_CHAT_CONFIGURATION: Cmdlet = Cmdlet {
    name: "Get-CsEffectivePersistentChatConfiguration",
    noun: Noun::Configuration,
    synopsis: "Show which configuration collection governs a Persistent Chat pool: its service collection, else its site's, else Global.",
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
    output: Output::Collection(ObjType::Configuration),
    examples: &[
        example(
            r#"get_cs_effective_persistent_chat_configuration("pc01.contoso.com")"#,
            "The collection governing pc01, with AppliesTo (the pool) and Scope (Service, Site or Global).",
        ),
        example(
            r#"get_cs_effective_persistent_chat_configuration().map(|c| c.AppliesTo + " " + c.Identity)"#,
            "For every Persistent Chat pool, the collection that governs it.",
        ),
        failing(
            r#"get_cs_effective_persistent_chat_configuration("fe01.contoso.com")"#,
            "Fails: fe01 is not a Persistent Chat pool.",
            "NotFound",
        ),
    ],
    extension: true,
};
