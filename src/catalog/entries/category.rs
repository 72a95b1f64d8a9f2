//! Categories.

use crate::catalog::*;

const POOL_OPTIONAL: &str = "FQDN of the Persistent Chat pool. Omitted: the only Persistent Chat pool if exactly one exists, else InvalidArgument.";

pub const GET_CS_PERSISTENT_CHAT_CATEGORY: Cmdlet = Cmdlet {
    name: "Get-CsPersistentChatCategory",
    noun: Noun::Category,
    synopsis: "Read categories.",
    sets: &["Pool", "Identity"],
    params: &[
        param("Identity", Ty::String, "The category as `<poolFqdn>\\<Name>`, e.g. `pc01.contoso.com\\Finance`.")
            .sets(&["Identity"])
            .mandatory()
            .pos(0),
        param(
            "PersistentChatPoolFqdn",
            Ty::String,
            "Return only the categories of this Persistent Chat pool. Omitted: categories of all pools.",
        )
        .sets(&["Pool"]),
        param(
            "AsObject",
            Ty::Switch,
            "Show user entries of AllowedMembers, DeniedMembers and Creators as display names instead of SIP addresses.",
        ),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::Category),
    examples: &[
        example(r#"get_cs_persistent_chat_category()"#, "Every category of every pool."),
        example(
            r#"get_cs_persistent_chat_category(#{PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
            "The categories of pc01.",
        ),
        example(
            r#"get_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{AsObject: true})"#,
            "Finance, with display names in its member and creator lists.",
        ),
        example(
            r#"get_cs_persistent_chat_category().filter(|c| c.FileUpload == true)"#,
            "Categories that allow file uploads.",
        ),
        example(
            r#"get_cs_persistent_chat_category().filter(|c| c.Creators.contains("sip:annb@contoso.com"))"#,
            "Categories where Ann may create rooms.",
        ),
    ],
    extension: false,
};

pub const NEW_CS_PERSISTENT_CHAT_CATEGORY: Cmdlet = Cmdlet {
    name: "New-CsPersistentChatCategory",
    noun: Noun::Category,
    synopsis: "Create a category.",
    sets: &[],
    params: &[
        param("Name", Ty::String, "Name of the category; unique per pool ignoring the case of A–Z (docs/limits.md).")
            .mandatory(),
        param("PersistentChatPoolFqdn", Ty::String, POOL_OPTIONAL),
        param("Description", Ty::String, "Free-text description; default null."),
        param(
            "EnableFileUpload",
            Ty::Switch,
            "Allow file uploads in the category's rooms (FileUpload True); absent: False.",
        ),
        param(
            "EnableInvitations",
            Ty::Switch,
            "In-scope users are invited when a room is created in the category (Invites True); absent: False.",
        ),
        param(
            "RemoveChatHistory",
            Ty::Switch,
            "Disable chat history in the category's rooms (ChatHistory False), e.g. for announcements; absent: True.",
        ),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Object(ObjType::Category),
    examples: &[
        example(
            r#"new_cs_persistent_chat_category(#{Name: "Legal", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
            "Category pc01.contoso.com\\Legal: empty member lists, FileUpload False, Invites False, ChatHistory True.",
        ),
        example(
            r#"new_cs_persistent_chat_category(#{Name: "Notices", PersistentChatPoolFqdn: "pc01.contoso.com", RemoveChatHistory: true, Description: "One-way notices"})"#,
            "A category whose rooms keep no chat history (ChatHistory False).",
        ),
        example(
            r#"new_cs_persistent_chat_category(#{Name: "Research", PersistentChatPoolFqdn: "pc01.contoso.com", EnableFileUpload: true, EnableInvitations: true})"#,
            "FileUpload True, Invites True.",
        ),
        failing(
            r#"new_cs_persistent_chat_category(#{Name: "Finance", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
            "Fails: pc01 already has a category named Finance.",
            "AlreadyExists",
        ),
        failing(
            r#"new_cs_persistent_chat_category(#{Name: "Legal", PersistentChatPoolFqdn: "pc01.contoso.com", WhatIf: true})"#,
            "Fails: this cmdlet has no WhatIf or Confirm parameter.",
            "ParameterBinding",
        ),
    ],
    extension: false,
};

pub const SET_CS_PERSISTENT_CHAT_CATEGORY: Cmdlet = Cmdlet {
    name: "Set-CsPersistentChatCategory",
    noun: Noun::Category,
    synopsis: "Modify a category (incl. allowed/denied members, creators).",
    sets: &["Identity", "Instance"],
    params: &[
        param("Identity", Ty::String, "The category as `<poolFqdn>\\<Name>`, e.g. `pc01.contoso.com\\Finance`.")
            .sets(&["Identity"])
            .mandatory()
            .pos(0),
        param(
            "Instance",
            Ty::Object(ObjType::Category),
            "A category object from Get-CsPersistentChatCategory; piped categories bind here. Not positional.",
        )
        .sets(&["Instance"])
        .mandatory()
        .by_value(),
        param(
            "AllowedMembers",
            Ty::ListModifier,
            "List modifier for the principals in the category's scope: user SIP addresses or DNs of OUs, containers, groups or the domain (`#{Add: ..}`, `#{Remove: ..}`, `#{Replace: [..]}`, `()` clears). Added entries must exist.",
        ),
        param(
            "DeniedMembers",
            Ty::ListModifier,
            "List modifier for principals excluded from the category's scope even when AllowedMembers covers them (Denied wins).",
        ),
        param(
            "Creators",
            Ty::ListModifier,
            "List modifier for the principals who may create rooms in the category; added entries must be in its scope (else NotEligible).",
        ),
        param(
            "AsObject",
            Ty::Switch,
            "List entries given in this call name users by display name instead of SIP address.",
        ),
        param("ChatHistory", Ty::Bool, "False disables chat history in the category's rooms; True enables it."),
        param("FileUpload", Ty::Bool, "True allows file uploads in the category's rooms; False forbids them."),
        param(
            "Invitations",
            Ty::Bool,
            "True: in-scope users are invited when a room is created in the category (property Invites); False: no invitations.",
        ),
        param("Description", Ty::String, "Free-text description; `()` clears it."),
        param(
            "Name",
            Ty::String,
            "New name; unique per pool. The Identity becomes `<poolFqdn>\\<newName>`; rooms stay attached.",
        ),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{AllowedMembers: #{Add: ["sip:annb@contoso.com", "OU=Finance,DC=contoso,DC=com"]}})"#,
            "Ann and the Finance OU gain access to the Finance category.",
        ),
        example(
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{DeniedMembers: #{Add: "sip:tempuser@contoso.com"}})"#,
            "That user is excluded even though the OU is allowed.",
        ),
        example(
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{Creators: #{Add: "sip:annb@contoso.com"}})"#,
            "Ann may create rooms in Finance (she is in its scope).",
        ),
        example(
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{AllowedMembers: ()})"#,
            "The allowed list is emptied: nobody is in the category's scope.",
        ),
        example(
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{AsObject: true, Creators: #{Remove: "Ann Beebe"}})"#,
            "Removes Ann from the creators, naming her by display name.",
        ),
        example(
            r#"get_cs_persistent_chat_category(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).set_cs_persistent_chat_category(#{Invitations: true})"#,
            "Invitations on for every pc01 category.",
        ),
        failing(
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{Members: #{Add: "sip:annb@contoso.com"}})"#,
            "Fails: categories have AllowedMembers, not Members.",
            "ParameterBinding",
        ),
        failing(
            r#"set_cs_persistent_chat_category("pc01.contoso.com\\Finance", #{DeniedMembers: #{Add: "CN=ChatSupportGroup.OU=IT,DC=contoso,DC=com"}})"#,
            "Fails: no principal has that DN (the group's DN is CN=ChatSupportGroup,OU=IT,...).",
            "NotFound",
        ),
    ],
    extension: false,
};

pub const REMOVE_CS_PERSISTENT_CHAT_CATEGORY: Cmdlet = Cmdlet {
    name: "Remove-CsPersistentChatCategory",
    noun: Noun::Category,
    synopsis: "Delete an empty category.",
    sets: &["Identity", "Instance"],
    params: &[
        param("Identity", Ty::String, "The category as `<poolFqdn>\\<Name>`; piped strings bind here.")
            .sets(&["Identity"])
            .mandatory()
            .pos(0)
            .by_value(),
        param(
            "Instance",
            Ty::Object(ObjType::Category),
            "A category object from Get-CsPersistentChatCategory; piped categories bind here.",
        )
        .sets(&["Instance"])
        .mandatory()
        .pos(0)
        .by_value(),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"new_cs_persistent_chat_category(#{Name: "Archive", PersistentChatPoolFqdn: "pc01.contoso.com"}); remove_cs_persistent_chat_category("pc01.contoso.com\\Archive")"#,
            "An empty category is deleted.",
        ),
        failing(
            r#"remove_cs_persistent_chat_category("pc01.contoso.com\\Announcements")"#,
            "Fails: Announcements still holds the room CEO Updates; remove or move its rooms first.",
            "NotEmpty",
        ),
        failing(
            r#"get_cs_persistent_chat_category(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).remove_cs_persistent_chat_category()"#,
            "Deletes the empty pc01 categories; each category that still has rooms writes a NotEmpty error and the pipeline goes on.",
            "NotEmpty",
        ),
    ],
    extension: false,
};
