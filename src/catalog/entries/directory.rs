//! Directory and RBAC: Get-CsAdPrincipal and Get-CsAdminRole, and the extensions
//! Import-CsAdPrincipal, Remove-CsAdPrincipal, Get-CsUser and Get-Credential.

use crate::catalog::*;

pub const GET_CS_AD_PRINCIPAL: Cmdlet = Cmdlet {
    name: "Get-CsAdPrincipal",
    noun: Noun::Directory,
    synopsis: "List directory principals (users, groups, contacts, containers, OUs, domains).",
    sets: &[],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The principal: SIP address, UPN, `DOMAIN\\logon`, display name (may contain `*`, e.g. `* Beebe`) or DN. Piped strings bind here, one lookup each. Omitted: every principal.",
        )
        .pos(0)
        .by_value()
        .by_property(),
        param("Credential", Ty::Credential, "Alternate account for the directory query; accepted and validated, no effect."),
        param("DomainController", Ty::Fqdn, "Domain controller (FQDN or computer name) to query; accepted, no effect."),
        param(
            "Filter",
            Ty::Filter,
            "Expression filter over Skype-specific attributes, e.g. `SipAddress -eq \"sip:LobbyKiosk@contoso.com\"`; combines with the other criteria (AND).",
        ),
        param(
            "LDAPFilter",
            Ty::String,
            "LDAP filter over generic directory attributes, e.g. `l=Oslo` or `(&(Department=Sales)(l=Oslo))`; combines with the other criteria (AND).",
        ),
        param(
            "OU",
            Ty::String,
            "DN of an OU or container: only principals inside it and all its child OUs (the OU object itself excluded).",
        ),
        param(
            "ResultSize",
            Ty::Unlimited,
            "Maximum number of principals to return (0..2147483647 or `Unlimited`), applied last; 0 returns nothing.",
        )
        .range(0, 2147483647),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::AdPrincipal),
    examples: &[
        example(r#"get_cs_ad_principal()"#, "Every principal."),
        example(
            r#"get_cs_ad_principal(#{Filter: "SipAddress -eq \"sip:LobbyKiosk@contoso.com\""})"#,
            "The single principal with that SIP address (the LobbyKiosk contact).",
        ),
        example(r#"get_cs_ad_principal().filter(|p| p.ObjectClass.contains("group"))"#, "Only groups."),
        example(
            r#"get_cs_ad_principal(#{OU: "OU=Sales,DC=contoso,DC=com", ResultSize: 5})"#,
            "At most 5 principals from the Sales OU and its child OUs.",
        ),
        example(r#""OU=Oslo,DC=contoso,DC=com".get_cs_ad_principal()"#, "The Oslo OU object (a piped string binds to Identity)."),
        example(r#"get_cs_ad_principal(#{LDAPFilter: "l=Oslo"})"#, "Principals whose locality (l) is Oslo."),
        example(r#"get_cs_ad_principal("* Beebe")"#, "Principals whose display name ends in \" Beebe\"."),
    ],
    extension: false,
};

pub const GET_CS_ADMIN_ROLE: Cmdlet = Cmdlet {
    name: "Get-CsAdminRole",
    noun: Noun::Directory,
    synopsis: "List RBAC roles and the cmdlets each may run.",
    sets: &["Identity", "Filter", "SID"],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The role name (the SamAccountName of its group), e.g. `CsHelpDesk`. Omitted: every role. A bare positional value binds here.",
        )
        .sets(&["Identity"])
        .pos(0)
        .by_value(),
        param(
            "Filter",
            Ty::String,
            "Wildcard pattern matched case-insensitively against the role Identity, e.g. `*Voice*`.",
        )
        .sets(&["Filter"]),
        param("Sid", Ty::String, "The role's security identifier (`S-1-5-21-...`); give it by name (`Sid:`).")
            .sets(&["SID"])
            .pos(0),
        param("LocalStore", Ty::Switch, "Read from the local replica of the Central Management store; accepted, no effect."),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::Role),
    examples: &[
        example(r#"get_cs_admin_role()"#, "All roles."),
        example(r#"get_cs_admin_role(#{Identity: "CsViewOnlyAdministrator"})"#, "That role only."),
        example(r#"get_cs_admin_role(#{Filter: "*Archiving*"})"#, "Roles whose Identity contains \"Archiving\"."),
        example(
            r#"get_cs_admin_role().filter(|r| r.Cmdlets.contains("Remove-CsPersistentChatRoom"))"#,
            "Roles allowed to run Remove-CsPersistentChatRoom.",
        ),
        example(r#"get_cs_admin_role("CsHelpDesk")[0].Cmdlets"#, "The cmdlet names of CsHelpDesk."),
        failing(r#"get_cs_admin_role("CsNoSuchRole")"#, "Fails: no role has that Identity.", "NotFound"),
    ],
    extension: false,
};

pub const IMPORT_CS_AD_PRINCIPAL: Cmdlet = Cmdlet {
    name: "Import-CsAdPrincipal",
    noun: Noun::Directory,
    synopsis: "Add or update directory principals (users, groups, contacts, OUs, containers, domains) and custom roles from a JSON or CSV file.",
    sets: &[],
    params: &[
        param(
            "FileName",
            Ty::Path,
            "Path of a directory JSON document, or a CSV file of users. The import is all or nothing; a misspelt attribute name is rejected.",
        )
        .mandatory()
        .pos(0),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"import_cs_ad_principal("scripts/demo/directory.json")"#,
            "Loads the demo directory: the contoso.com domain, its OUs, groups, users and contacts.",
        ),
        example(
            r#"import_cs_ad_principal("scripts/demo/directory.json", #{WhatIf: true})"#,
            "Validates the file and shows what would change, without changing anything.",
        ),
    ],
    extension: true,
};

pub const REMOVE_CS_AD_PRINCIPAL: Cmdlet = Cmdlet {
    name: "Remove-CsAdPrincipal",
    noun: Noun::Directory,
    synopsis: "Remove a directory principal (a leaver); list entries that name it stay but grant nothing.",
    sets: &[],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The principal: SIP address, UPN, `DOMAIN\\logon`, display name or DN. Piped strings and principal objects (by Identity) bind here.",
        )
        .mandatory()
        .pos(0)
        .by_value()
        .by_property(),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(r#"remove_cs_ad_principal("sip:tempuser@contoso.com")"#, "The temporary user leaves the directory."),
        example(
            r#"get_cs_ad_principal(#{Filter: "SipAddress -eq \"sip:tempuser@contoso.com\""}).remove_cs_ad_principal()"#,
            "The same, with the principal piped in (bound by its Identity).",
        ),
    ],
    extension: true,
};

pub const GET_CS_USER: Cmdlet = Cmdlet {
    name: "Get-CsUser",
    noun: Noun::Directory,
    synopsis: "List SIP-enabled users with their PersistentChatPolicy, registrar pool and site.",
    sets: &[],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The user: SIP address, UPN, `DOMAIN\\logon`, display name (may contain `*`) or DN. Piped strings bind here. Omitted: every user.",
        )
        .pos(0)
        .by_value(),
        param(
            "Filter",
            Ty::Filter,
            "Expression filter over user properties, e.g. `PersistentChatPolicy -eq \"SalesChatPolicy\"`.",
        ),
        param("LdapFilter", Ty::String, "LDAP filter over generic directory attributes, e.g. `Department=Sales`."),
        param(
            "ResultSize",
            Ty::Unlimited,
            "Maximum number of users to return (0..2147483647 or `Unlimited`), applied last; 0 returns nothing.",
        )
        .range(0, 2147483647),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::User),
    examples: &[
        example(r#"get_cs_user()"#, "Every SIP-enabled user."),
        example(r#"get_cs_user("sip:annb@contoso.com")"#, "Ann Beebe, with her PersistentChatPolicy."),
        example(r#"get_cs_user(#{LdapFilter: "Department=Sales"})"#, "Users of the Sales department."),
        example(
            r#"get_cs_user(#{Filter: "PersistentChatPolicy -eq \"SalesChatPolicy\""})"#,
            "Users that have the per-user policy SalesChatPolicy.",
        ),
    ],
    extension: true,
};

pub const GET_CREDENTIAL: Cmdlet = Cmdlet {
    name: "Get-Credential",
    noun: Noun::Directory,
    synopsis: "Create a credential object (user name and password) for Test-CsPersistentChatMessage.",
    sets: &[],
    params: &[
        param("UserName", Ty::String, "The account, e.g. `contoso\\annb` or `annb@contoso.com`.").mandatory().pos(0),
        param(
            "Password",
            Ty::String,
            "The password. Omitted: asked for at the prompt (so unattended runbooks must give it).",
        ),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Object(ObjType::Credential),
    examples: &[
        example(
            r#"get_credential("contoso\\annb", #{Password: "Pa55w.rd"})"#,
            "A credential object for Ann, without a prompt.",
        ),
        example(r#"get_credential(#{UserName: "contoso\\bobk", Password: "Pa55w.rd"})"#, "A credential for Bob."),
    ],
    extension: true,
};
