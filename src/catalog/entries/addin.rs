//! Add-ins.

use crate::catalog::*;

const ADDIN_IDENTITY: &str = "The add-in as `<poolFqdn>\\<Name>`, e.g. `pc01.contoso.com\\BudgetTracker`.";
const ADDIN_INSTANCE: &str = "An add-in object from Get-CsPersistentChatAddin; piped add-ins bind here.";

pub const GET_CS_PERSISTENT_CHAT_ADDIN: Cmdlet = Cmdlet {
    name: "Get-CsPersistentChatAddin",
    noun: Noun::Addin,
    synopsis: "Read add-ins.",
    sets: &["Pool", "Identity"],
    params: &[
        param("Identity", Ty::String, ADDIN_IDENTITY).sets(&["Identity"]).mandatory().pos(0),
        param(
            "PersistentChatPoolFqdn",
            Ty::String,
            "Return only the add-ins of this Persistent Chat pool. Omitted: add-ins of all pools.",
        )
        .sets(&["Pool"]),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::Addin),
    examples: &[
        example(r#"get_cs_persistent_chat_addin()"#, "All add-ins."),
        example(r#"get_cs_persistent_chat_addin("pc01.contoso.com\\BudgetTracker")"#, "One add-in."),
        example(
            r#"get_cs_persistent_chat_addin(#{PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
            "The add-ins of pc01.",
        ),
    ],
    extension: false,
};

pub const NEW_CS_PERSISTENT_CHAT_ADDIN: Cmdlet = Cmdlet {
    name: "New-CsPersistentChatAddin",
    noun: Noun::Addin,
    synopsis: "Register an add-in (name + URL) on a pool.",
    sets: &[],
    params: &[
        param("Name", Ty::String, "Name of the add-in; unique per pool ignoring the case of A–Z (docs/limits.md).")
            .mandatory(),
        param("Url", Ty::String, "Absolute http or https URL of the web page shown in the client.").mandatory(),
        param(
            "PersistentChatPoolFqdn",
            Ty::String,
            "FQDN of the Persistent Chat pool. Omitted: the only Persistent Chat pool if exactly one exists, else InvalidArgument.",
        ),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Object(ObjType::Addin),
    examples: &[
        example(
            r#"new_cs_persistent_chat_addin(#{Name: "ExpenseTracker", PersistentChatPoolFqdn: "pc01.contoso.com", Url: "https://apps.contoso.com/expenses"})"#,
            "New add-in pc01.contoso.com\\ExpenseTracker.",
        ),
        failing(
            r#"new_cs_persistent_chat_addin(#{Name: "ExpenseTracker", PersistentChatPoolFqdn: "pc01.contoso.com", Url: "apps.contoso.com/expenses"})"#,
            "Fails: the URL must be an absolute http or https URL.",
            "InvalidArgument",
        ),
    ],
    extension: false,
};

pub const SET_CS_PERSISTENT_CHAT_ADDIN: Cmdlet = Cmdlet {
    name: "Set-CsPersistentChatAddin",
    noun: Noun::Addin,
    synopsis: "Modify an add-in.",
    sets: &["Identity", "Instance"],
    params: &[
        param("Identity", Ty::String, "The add-in as `<poolFqdn>\\<Name>`; piped strings bind here.")
            .sets(&["Identity"])
            .mandatory()
            .pos(0)
            .by_value(),
        param("Instance", Ty::Object(ObjType::Addin), ADDIN_INSTANCE).sets(&["Instance"]).mandatory().pos(0).by_value(),
        param(
            "Name",
            Ty::String,
            "New name; unique per pool. The Identity becomes `<poolFqdn>\\<newName>` and rooms that used the add-in follow.",
        ),
        param("Url", Ty::String, "New absolute http or https URL."),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"set_cs_persistent_chat_addin("pc01.contoso.com\\BudgetTracker", #{Url: "https://apps.contoso.com/budget2"})"#,
            "The URL changes.",
        ),
        example(
            r#"set_cs_persistent_chat_addin("pc01.contoso.com\\BudgetTracker", #{Name: "BudgetBoard"})"#,
            "Renamed; rooms that used BudgetTracker now reference BudgetBoard.",
        ),
    ],
    extension: false,
};

pub const REMOVE_CS_PERSISTENT_CHAT_ADDIN: Cmdlet = Cmdlet {
    name: "Remove-CsPersistentChatAddin",
    noun: Noun::Addin,
    synopsis: "Delete an add-in.",
    sets: &["Identity", "Instance"],
    params: &[
        param("Identity", Ty::String, "The add-in as `<poolFqdn>\\<Name>`; piped strings bind here.")
            .sets(&["Identity"])
            .mandatory()
            .pos(0)
            .by_value(),
        param("Instance", Ty::Object(ObjType::Addin), ADDIN_INSTANCE).sets(&["Instance"]).mandatory().pos(0).by_value(),
        param(
            "Force",
            Ty::Switch,
            "Remove an add-in that rooms still use without asking for confirmation (those rooms' Addin is cleared).",
        ),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"new_cs_persistent_chat_addin(#{Name: "BudgetBoard", PersistentChatPoolFqdn: "pc01.contoso.com", Url: "https://apps.contoso.com/board"}); remove_cs_persistent_chat_addin("pc01.contoso.com\\BudgetBoard")"#,
            "An unused add-in is removed without a prompt (one still used by rooms asks first).",
        ),
        example(
            r#"get_cs_persistent_chat_addin(#{PersistentChatPoolFqdn: "pc01.contoso.com"}).remove_cs_persistent_chat_addin(#{Force: true})"#,
            "All pc01 add-ins are removed without prompts; rooms that used them lose their add-in.",
        ),
    ],
    extension: false,
};
