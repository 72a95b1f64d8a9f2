//! What runbooks may open (pchat extension): the folders besides their own and the store's.

use crate::catalog::*;

pub const GET_CS_PERSISTENT_CHAT_RUNBOOK_CONFIGURATION: Cmdlet = Cmdlet {
    name: "Get-CsPersistentChatRunbookConfiguration",
    noun: Noun::Runbook,
    synopsis: "Read the folders runbooks may open files in, besides the runbook's own folder and the store's folder.",
    sets: &[],
    params: &[param(
        "Identity",
        Ty::String,
        "The configuration's identity; there is one, `Global`. Omitted: that one.",
    )
    .pos(0)],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::RunbookConfiguration),
    examples: &[
        example(r#"get_cs_persistent_chat_runbook_configuration()"#, "The folders runbooks may open."),
        example(r#"get_cs_persistent_chat_runbook_configuration("Global")"#, "The one configuration, by its identity."),
    ],
    extension: true,
};

pub const SET_CS_PERSISTENT_CHAT_RUNBOOK_CONFIGURATION: Cmdlet = Cmdlet {
    name: "Set-CsPersistentChatRunbookConfiguration",
    noun: Noun::Runbook,
    synopsis: "Change the folders runbooks (`pchat run`, scripts on standard input) may open files in; takes effect for runs that start afterwards.",
    sets: &[],
    params: &[
        param("Identity", Ty::String, "The configuration's identity; there is one, `Global`. Omitted: that one.")
            .pos(0),
        param(
            "AllowedFolders",
            Ty::ListModifier,
            "Folders runbooks may open files in (and below), besides the runbook's own folder and the store's folder. Each must be an absolute path to an existing folder; it is stored with `..` and symbolic links resolved. `#{Add: ..}`, `#{Remove: ..}`, `#{Replace: [..]}`, a plain value (Replace) or `()` (clear).",
        ),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"set_cs_persistent_chat_runbook_configuration(#{AllowedFolders: #{Add: "/tmp"}})"#,
            "Lets runbooks read and write files under /tmp.",
        ),
        example(
            r#"set_cs_persistent_chat_runbook_configuration(#{AllowedFolders: #{Remove: "/tmp"}})"#,
            "Takes /tmp off the list again.",
        ),
        example(
            r#"set_cs_persistent_chat_runbook_configuration(#{AllowedFolders: ()})"#,
            "Runbooks open files only in their own folder and the store's folder.",
        ),
        failing(
            r#"set_cs_persistent_chat_runbook_configuration(#{AllowedFolders: #{Add: "exports"}})"#,
            "A relative folder is refused: allowed folders are absolute paths.",
            "InvalidArgument",
        ),
    ],
    extension: true,
};
