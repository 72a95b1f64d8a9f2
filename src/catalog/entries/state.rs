//! Pool state and active servers.

use crate::catalog::enums::{Named, PoolState};
use crate::catalog::*;

pub const GET_CS_PERSISTENT_CHAT_STATE: Cmdlet = Cmdlet {
    name: "Get-CsPersistentChatState",
    noun: Noun::State,
    synopsis: "Read Normal/FailedOver state of Persistent Chat pools.",
    sets: &["Identity", "Filter"],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The pool's service identity `PersistentChatServer:<poolFqdn>` (also `service:PersistentChatServer:<fqdn>` or the bare FQDN). Omitted: every Persistent Chat pool.",
        )
        .sets(&["Identity"])
        .pos(0),
        param(
            "Filter",
            Ty::String,
            "Wildcard pattern matched case-insensitively against the state Identity, e.g. `*.contoso.com`.",
        )
        .sets(&["Filter"]),
        param("LocalStore", Ty::Switch, "Read from the local replica of the Central Management store; accepted, no effect."),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::State),
    examples: &[
        example(r#"get_cs_persistent_chat_state()"#, "The state of every Persistent Chat pool."),
        example(
            r#"get_cs_persistent_chat_state(#{Identity: "PersistentChatServer:pc01.contoso.com"})"#,
            "The state of pc01.contoso.com.",
        ),
        example(
            r#"get_cs_persistent_chat_state(#{Filter: "*.emea.contoso.com"})"#,
            "Pools whose FQDN ends in .emea.contoso.com (none in the demo).",
        ),
        example(
            r#"get_cs_persistent_chat_state().filter(|s| s.PoolState == "Normal")"#,
            "Pools that are not failed over.",
        ),
    ],
    extension: false,
};

pub const SET_CS_PERSISTENT_CHAT_STATE: Cmdlet = Cmdlet {
    name: "Set-CsPersistentChatState",
    noun: Noun::State,
    synopsis: "Change the state of one Persistent Chat pool.",
    sets: &["Identity", "Instance"],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The pool's service identity `PersistentChatServer:<poolFqdn>`. Omitted: the only Persistent Chat pool if exactly one exists, else InvalidArgument.",
        )
        .sets(&["Identity"])
        .pos(0),
        param(
            "Instance",
            Ty::Object(ObjType::State),
            "A state object from Get-CsPersistentChatState; piped state objects bind here.",
        )
        .sets(&["Instance"])
        .by_value(),
        param(
            "PoolState",
            Ty::Enum(PoolState::NAMES),
            "Normal runs the pool on its primary databases; FailedOver on the backup databases of the topology. Every server of the pool takes the same state. Omitted: unchanged.",
        ),
        param("Force", Ty::Switch, "Suppress non-fatal messages and prompts; never bypasses validation."),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"set_cs_persistent_chat_state(#{Identity: "PersistentChatServer:pc01.contoso.com", PoolState: "FailedOver"})"#,
            "pc01.contoso.com now uses its backup databases.",
        ),
        example(
            r#"get_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com").set_cs_persistent_chat_state(#{PoolState: "Normal"})"#,
            "Fail back to the primary databases (the state object binds to Instance).",
        ),
        failing(
            r#"set_cs_persistent_chat_state("PersistentChatServer:pc01.contoso.com", #{PoolState: "Offline"})"#,
            "Fails: PoolState is Normal or FailedOver.",
            "ParameterBinding",
        ),
    ],
    extension: false,
};

pub const SET_CS_PERSISTENT_CHAT_ACTIVE_SERVER: Cmdlet = Cmdlet {
    name: "Set-CsPersistentChatActiveServer",
    noun: Noun::State,
    synopsis: "Edit or swap the list of servers that accept new connections.",
    sets: &["Explicit", "Swap"],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The pool's service identity `PersistentChatServer:<poolFqdn>` (see Get-CsService -PersistentChatServer). Omitted: the only Persistent Chat pool if exactly one exists, else InvalidArgument.",
        )
        .pos(0),
        param(
            "ActiveServers",
            Ty::ListModifier,
            "List modifier for the pool's active servers (FQDNs of servers of that pool): `#{Add: ..}`, `#{Remove: ..}`, `#{Replace: [..]}`; `()` leaves no server active.",
        )
        .sets(&["Explicit"])
        .mandatory(),
        param(
            "Swap",
            Ty::Switch,
            "Every server of the pool flips: active servers become inactive and inactive ones active.",
        )
        .sets(&["Swap"])
        .mandatory(),
        param("Force", Ty::Switch, "Suppress non-fatal messages and prompts; never bypasses validation."),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"set_cs_persistent_chat_active_server("PersistentChatServer:pc01.contoso.com", #{ActiveServers: #{Add: "pcsrv02.contoso.com"}})"#,
            "pcsrv02 starts accepting new connections.",
        ),
        example(
            r#"set_cs_persistent_chat_active_server("PersistentChatServer:pc01.contoso.com", #{ActiveServers: #{Remove: "pcsrv01.contoso.com"}})"#,
            "pcsrv01 stops accepting new connections (existing ones stay).",
        ),
        example(
            r#"set_cs_persistent_chat_active_server("PersistentChatServer:pc01.contoso.com", #{ActiveServers: #{Replace: ["pcsrv03.contoso.com", "pcsrv04.contoso.com"]}})"#,
            "Exactly pcsrv03 and pcsrv04 are active.",
        ),
        example(
            r#"set_cs_persistent_chat_active_server("PersistentChatServer:pc01.contoso.com", #{ActiveServers: ()})"#,
            "No server of pc01 is active.",
        ),
        example(
            r#"set_cs_persistent_chat_active_server("PersistentChatServer:pc01.contoso.com", #{Swap: true})"#,
            "Active and inactive servers trade places.",
        ),
        failing(
            r#"set_cs_persistent_chat_active_server("PersistentChatServer:pc01.contoso.com", #{ActiveServers: #{Add: "pcsrv05.contoso.com"}})"#,
            "Fails: pcsrv05 is a server of pc02, not of pc01.",
            "InvalidArgument",
        ),
        failing(
            r#"set_cs_persistent_chat_active_server("PersistentChatServer:pc01.contoso.com", #{ActiveServers: "pcsrv01.contoso.com", Swap: true})"#,
            "Fails: ActiveServers and Swap belong to different parameter sets.",
            "AmbiguousParameterSet",
        ),
    ],
    extension: false,
};

pub const REPAIR_CS_PERSISTENT_CHAT_DATABASE: Cmdlet = Cmdlet {
    name: "Repair-CsPersistentChatDatabase",
    noun: Noun::State,
    synopsis: "Rebuild one copy of a pool's chat data (primary or backup database) from the other, verified copy, and serve the pool from that copy.",
    sets: &[],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The pool's service identity `PersistentChatServer:<poolFqdn>`. Omitted: the only Persistent Chat pool if exactly one exists, else InvalidArgument.",
        )
        .pos(0),
        param(
            "Source",
            Ty::Enum(&["Primary", "Backup"]),
            "The copy to keep: it must pass SQLite's integrity check and be the file pchat created for its SQL instance. The other copy is brought up to date from it in place, or, when its file is missing, empty, damaged or replaced, made anew (the old file is moved aside as `<file>.damaged-<time>`). Afterwards the pool is served from the source: Primary leaves it Normal, Backup leaves it FailedOver.",
        )
        .mandatory(),
        param(
            "Force",
            Ty::Switch,
            "Accept losing changes: needed when the other copy (or, when it is lost, the pool's record) holds changes the source lacks, or when the pool's record is more than one change (or a generation) ahead of both copies, as after restoring them from older files; the changes given up are listed as warnings and kept in the Repair's audit record (After.Dropped). A single change missing from both copies was interrupted before it was reported done and is dropped without Force, with a warning.",
        ),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Object(ObjType::State),
    examples: &[
        example(
            r#"repair_cs_persistent_chat_database(#{Identity: "PersistentChatServer:pc01.contoso.com", Source: "Primary"})"#,
            "Rebuilds pc01's backup database from its primary and returns the state object: Normal, in sync.",
        ),
        example(
            r#"repair_cs_persistent_chat_database(#{Identity: "PersistentChatServer:pc01.contoso.com", Source: "Backup", WhatIf: true})"#,
            "Checks the backup and says what a repair from it would do, changing nothing.",
        ),
        failing(
            r#"repair_cs_persistent_chat_database(#{Identity: "PersistentChatServer:pc01.contoso.com", Source: "Elsewhere"})"#,
            "Fails: Source is Primary or Backup.",
            "ParameterBinding",
        ),
    ],
    extension: true,
};
