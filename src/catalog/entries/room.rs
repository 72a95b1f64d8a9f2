//! Chat rooms.

use crate::catalog::enums::{Invitations, Named, Privacy, RoomType};
use crate::catalog::*;

const INVITATIONS: Ty = Ty::Enum(Invitations::NAMES);
const PRIVACY: Ty = Ty::Enum(Privacy::NAMES);
const ROOM_TYPE: Ty = Ty::Enum(RoomType::NAMES);
const ROOM_IDENTITY: &str = "The room as `<poolFqdn>\\<Name>`, e.g. `pc01.contoso.com\\FinanceRoom`.";
const ROOM_INSTANCE: &str = "A room object from Get-CsPersistentChatRoom; piped rooms bind here.";
const FORCE: &str = "Suppress non-fatal messages and prompts; never bypasses validation.";

pub const GET_CS_PERSISTENT_CHAT_ROOM: Cmdlet = Cmdlet {
    name: "Get-CsPersistentChatRoom",
    noun: Noun::Room,
    synopsis: "Read/search chat rooms.",
    sets: &["All", "Identity"],
    params: &[
        param("Identity", Ty::String, ROOM_IDENTITY).sets(&["Identity"]).pos(0),
        param(
            "AsObject",
            Ty::Switch,
            "Show user entries of Members, Managers and Presenters as display names instead of SIP addresses.",
        ),
        param("Addin", Ty::String, "Only rooms that use this add-in (name); one add-in per call.").sets(&["All"]),
        param(
            "Category",
            Ty::String,
            "Only rooms of this category: a name (matches that category in every pool) or `<poolFqdn>\\<Name>`. Excludes Identity, PersistentChatPoolFqdn and Filter.",
        )
        .sets(&["All"]),
        param(
            "ChatContentExceedsMB",
            Ty::Int32,
            "Only rooms whose cumulative content is strictly greater than this many MB.",
        )
        .sets(&["All"])
        .range(0, 2147483647),
        param("Disabled", Ty::Bool, "True: only disabled rooms; False: only enabled rooms.").sets(&["All"]),
        param(
            "Filter",
            Ty::Filter,
            "An expression over Name/Description (e.g. `Name -like \"Fin*\"`), or plain text matched against Name (wildcards allowed; substring otherwise). Excludes Identity, Category and PersistentChatPoolFqdn.",
        )
        .sets(&["All"]),
        param("Invitations", INVITATIONS, "Only rooms with this Invitations setting.").sets(&["All"]),
        param(
            "Manager",
            Ty::Sip,
            "Only rooms this user manages (directly or through a listed group, OU, container or domain); one user per call.",
        )
        .sets(&["All"]),
        param(
            "Member",
            Ty::Sip,
            "Only rooms this user is a member of (directly, through a listed principal, or through the category scope when Members is empty); one user per call.",
        )
        .sets(&["All"]),
        param(
            "PersistentChatPoolFqdn",
            Ty::String,
            "Only rooms of this Persistent Chat pool. Excludes Identity, Category and Filter.",
        )
        .sets(&["All"]),
        param("Privacy", PRIVACY, "Only rooms with this privacy setting.").sets(&["All"]),
        param(
            "ResultSize",
            Ty::Int32,
            "Maximum number of rooms to return (0..2147483647), applied last; 0 returns nothing.",
        )
        .sets(&["All"])
        .range(0, 2147483647),
        param(
            "SearchDescription",
            Ty::Switch,
            "With a plain-text Filter, match the text against Name or Description.",
        )
        .sets(&["All"]),
        param("Type", ROOM_TYPE, "Only rooms of this type.").sets(&["All"]),
    ],
    exclusive: &[&["Identity", "Category", "PersistentChatPoolFqdn", "Filter"]],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::ChatRoom),
    examples: &[
        example(r#"get_cs_persistent_chat_room()"#, "All rooms of every pool."),
        example(r#"get_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")"#, "One room."),
        example(
            r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com", Type: "Auditorium"})"#,
            "The auditorium rooms of pc01.",
        ),
        example(
            r#"get_cs_persistent_chat_room(#{Category: "Finance", Disabled: false})"#,
            "The enabled rooms of the Finance category.",
        ),
        example(
            r#"get_cs_persistent_chat_room(#{Member: "sip:annb@contoso.com", Privacy: "Secret"})"#,
            "Secret rooms where Ann is a member.",
        ),
        example(
            r#"get_cs_persistent_chat_room(#{ChatContentExceedsMB: 100, ResultSize: 10})"#,
            "Up to 10 rooms with more than 100 MB of content.",
        ),
        example(
            r#"get_cs_persistent_chat_room(#{SearchDescription: true, Filter: "budget"})"#,
            "Rooms with \"budget\" in their name or description.",
        ),
        example(
            r#"get_cs_persistent_chat_room(#{Filter: "Name -like \"Fin*\""})"#,
            "Rooms whose name starts with Fin (expression filter).",
        ),
        example(
            r#"get_cs_persistent_chat_room(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).filter(|r| r.Privacy == "Secret").set_cs_persistent_chat_room(#{Disabled: true})"#,
            "Disables every secret room of pc01.",
        ),
        failing(
            r#"get_cs_persistent_chat_room(#{Category: "Finance", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
            "Fails: Category and PersistentChatPoolFqdn cannot be combined.",
            "AmbiguousParameterSet",
        ),
    ],
    extension: false,
};

pub const NEW_CS_PERSISTENT_CHAT_ROOM: Cmdlet = Cmdlet {
    name: "New-CsPersistentChatRoom",
    noun: Noun::Room,
    synopsis: "Create a chat room in a category.",
    sets: &[],
    params: &[
        param("Name", Ty::String, "Name of the room; unique per pool ignoring the case of A–Z (docs/limits.md).")
            .mandatory(),
        param(
            "Category",
            Ty::String,
            "The room's category: a name or `<poolFqdn>\\<Name>`; it must exist in the room's pool.",
        )
        .mandatory(),
        param(
            "PersistentChatPoolFqdn",
            Ty::String,
            "FQDN of the Persistent Chat pool. Omitted: the only Persistent Chat pool if exactly one exists, else InvalidArgument.",
        ),
        param("Addin", Ty::String, "Name of an add-in of the same pool to show in the room; default none."),
        param("Description", Ty::String, "Free-text description (the room's topic); default null."),
        param("Disabled", Ty::Bool, "True creates the room disabled; default False."),
        param(
            "Invitations",
            INVITATIONS,
            "Inherit (default) uses the category's Invites setting; False never sends invitations.",
        ),
        param(
            "Privacy",
            PRIVACY,
            "Open: anyone in scope finds and joins; Closed (default): anyone in scope finds it, only members join; Secret: only members find and join.",
        ),
        param("Type", ROOM_TYPE, "Normal (default): every member may post; Auditorium: only presenters post."),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Object(ObjType::ChatRoom),
    examples: &[
        example(
            r#"new_cs_persistent_chat_room(#{Name: "Treasury", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"})"#,
            "A Normal, enabled, Inherit, Closed room in Finance.",
        ),
        example(
            r#"new_cs_persistent_chat_room(#{Name: "Town Hall", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Announcements", Type: "Auditorium", Privacy: "Open"})"#,
            "An open auditorium room: only presenters post.",
        ),
        example(
            r#"new_cs_persistent_chat_room(#{Name: "Forecast", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance", Disabled: true, Addin: "BudgetTracker"})"#,
            "Created disabled and linked to the existing add-in BudgetTracker.",
        ),
        failing(
            r#"new_cs_persistent_chat_room(#{Name: "X", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "NoSuchCategory"})"#,
            "Fails: the category does not exist.",
            "NotFound",
        ),
        failing(
            r#"new_cs_persistent_chat_room(#{Name: "FinanceRoom", PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"})"#,
            "Fails: pc01 already has a room named FinanceRoom.",
            "AlreadyExists",
        ),
    ],
    extension: false,
};

pub const SET_CS_PERSISTENT_CHAT_ROOM: Cmdlet = Cmdlet {
    name: "Set-CsPersistentChatRoom",
    noun: Noun::Room,
    synopsis: "Modify a chat room (incl. members, managers, presenters).",
    sets: &["Identity", "Instance"],
    params: &[
        param("Identity", Ty::String, ROOM_IDENTITY).sets(&["Identity"]).mandatory().pos(0),
        param("Instance", Ty::Object(ObjType::ChatRoom), ROOM_INSTANCE)
            .sets(&["Instance"])
            .mandatory()
            .pos(0)
            .by_value(),
        param("Addin", Ty::String, "Name of an add-in of the same pool; `()` or \"\" clears it."),
        param(
            "AsObject",
            Ty::Switch,
            "List entries given in this call name users by display name instead of SIP address.",
        ),
        param("Category", Ty::String, "Move the room to another existing category of the same pool."),
        param("Description", Ty::String, "Free-text description (the room's topic)."),
        param("Disabled", Ty::Bool, "True disables the room, False enables it."),
        param(
            "Invitations",
            INVITATIONS,
            "Inherit uses the category's Invites setting; False never sends invitations.",
        ),
        param(
            "Managers",
            Ty::ListModifier,
            "List modifier for the room's managers (who may define membership and settings); added entries must be in the category's scope.",
        ),
        param(
            "Members",
            Ty::ListModifier,
            "List modifier for the room's members; added entries must be in the category's scope. `()` empties it: the room then inherits membership from the category scope. An empty Replace (`[]`, `#{Replace: []}`) changes nothing, as in PowerShell, and says so in a warning.",
        ),
        param(
            "Presenters",
            Ty::ListModifier,
            "List modifier for who may post in an Auditorium room (InvalidOperation on a Normal room); added entries must be in scope.",
        ),
        param("Name", Ty::String, "New name; unique per pool. The Identity becomes `<poolFqdn>\\<newName>`."),
        param(
            "Privacy",
            PRIVACY,
            "Open: anyone in scope finds and joins; Closed: anyone in scope finds it, only members join; Secret: only members find and join.",
        ),
        param(
            "Type",
            ROOM_TYPE,
            "Normal: every member may post; Auditorium: only presenters post. Applied before Presenters.",
        ),
        param("Force", Ty::Switch, FORCE),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Disabled: true})"#,
            "The room is disabled.",
        ),
        example(
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Managers: #{Add: "sip:annb@contoso.com"}})"#,
            "Ann manages the room.",
        ),
        example(
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Members: #{Add: "CN=FinanceLeads,OU=Finance,DC=contoso,DC=com"}})"#,
            "The group joins the explicit member list (the room stops inheriting category membership).",
        ),
        example(
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Members: ()})"#,
            "The room inherits its membership from the category again.",
        ),
        example(
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\CEO Updates", #{Presenters: #{Replace: "sip:ceo@contoso.com"}})"#,
            "Only the CEO may post in the auditorium room.",
        ),
        example(
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Category: "Projects", Privacy: "Secret"})"#,
            "Moved to Projects and hidden.",
        ),
        example(
            r#"get_cs_persistent_chat_room(#{Category: "Finance"}).set_cs_persistent_chat_room(#{Invitations: "False"})"#,
            "No invitations for the Finance rooms.",
        ),
        failing(
            r#"set_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{Presenters: #{Add: "sip:annb@contoso.com"}})"#,
            "Fails: FinanceRoom is a Normal room; presenters need Type Auditorium.",
            "InvalidOperation",
        ),
    ],
    extension: false,
};

pub const REMOVE_CS_PERSISTENT_CHAT_ROOM: Cmdlet = Cmdlet {
    name: "Remove-CsPersistentChatRoom",
    noun: Noun::Room,
    synopsis: "Delete chat rooms.",
    sets: &["Identity", "Instance"],
    params: &[
        param("Identity", Ty::String, ROOM_IDENTITY).sets(&["Identity"]).mandatory().pos(0),
        param("Instance", Ty::Object(ObjType::ChatRoom), ROOM_INSTANCE)
            .sets(&["Instance"])
            .mandatory()
            .pos(0)
            .by_value(),
        param("Force", Ty::Switch, FORCE),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(r#"remove_cs_persistent_chat_room("pc01.contoso.com\\Draft")"#, "Draft and its messages are deleted."),
        example(
            r#"get_cs_persistent_chat_room(#{Disabled: true}).remove_cs_persistent_chat_room()"#,
            "Every disabled room is deleted.",
        ),
        example(
            r#"get_cs_persistent_chat_room(#{Privacy: "Secret"}).remove_cs_persistent_chat_room(#{WhatIf: true})"#,
            "Lists what would be deleted; nothing changes.",
        ),
    ],
    extension: false,
};

pub const CLEAR_CS_PERSISTENT_CHAT_ROOM: Cmdlet = Cmdlet {
    name: "Clear-CsPersistentChatRoom",
    noun: Noun::Room,
    synopsis: "Delete all room content up to an end date.",
    sets: &["Identity", "Instance"],
    params: &[
        param("Identity", Ty::String, ROOM_IDENTITY).sets(&["Identity"]).mandatory().pos(0),
        param("Instance", Ty::Object(ObjType::ChatRoom), ROOM_INSTANCE).sets(&["Instance"]).mandatory().pos(0).by_value(),
        param(
            "EndDate",
            Ty::DateTime,
            "Content posted on or before this date is deleted (a date without a time covers the whole day); later content stays.",
        )
        .mandatory()
        .ends_range(),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: true,
    output: Output::Nothing,
    examples: &[
        example(
            r#"clear_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom", #{EndDate: "12/31/2019"})"#,
            "After confirmation, all content up to and including 31 Dec 2019 is deleted.",
        ),
        example(
            r#"get_cs_persistent_chat_room(#{Category: "Finance"}).clear_cs_persistent_chat_room(#{EndDate: "6/30/2020", Confirm: false})"#,
            "Every Finance room is cleared through 30 Jun 2020, without prompts.",
        ),
        failing(
            r#"clear_cs_persistent_chat_room("pc01.contoso.com\\FinanceRoom")"#,
            "Fails: EndDate is required.",
            "ParameterBinding",
        ),
    ],
    extension: false,
};
