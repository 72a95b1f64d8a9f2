//! Persistent Chat policies.

use crate::catalog::*;

const ENABLE_PERSISTENT_CHAT: &str = "True lets the users governed by the policy use Persistent Chat; default False.";
const TENANT: &str =
    "GUID of an online tenant (Skype for Business Server 2015); stored as the policy's TenantId. Omitted: on-premises.";
const FORCE: &str = "Suppress non-fatal messages and prompts; never bypasses validation.";

pub const GET_CS_PERSISTENT_CHAT_POLICY: Cmdlet = Cmdlet {
    name: "Get-CsPersistentChatPolicy",
    noun: Noun::Policy,
    synopsis: "Read Persistent Chat policies.",
    sets: &["Identity", "Filter"],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The policy: `global`, `site:<Site>`, `tag:<Name>` or a bare per-user name (= `tag:<Name>`); no wildcards. Omitted: every policy.",
        )
        .sets(&["Identity"])
        .pos(0),
        param(
            "Filter",
            Ty::String,
            "Wildcard pattern matched case-insensitively against the policy Identity, e.g. `site:*` or `tag:*`.",
        )
        .sets(&["Filter"]),
        param("LocalStore", Ty::Switch, "Read from the local replica of the Central Management store; accepted, no effect."),
        param("Tenant", Ty::Guid, "Return only the policies of this tenant (GUID)."),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::Policy),
    examples: &[
        example(r#"get_cs_persistent_chat_policy()"#, "All policies."),
        example(r#"get_cs_persistent_chat_policy("SalesChatPolicy")"#, "The per-user policy Tag:SalesChatPolicy."),
        example(r#"get_cs_persistent_chat_policy(#{Filter: "tag:*"})"#, "All per-user policies."),
        example(
            r#"get_cs_persistent_chat_policy().filter(|p| p.EnablePersistentChat == false)"#,
            "Policies that deny Persistent Chat.",
        ),
    ],
    extension: false,
};

pub const NEW_CS_PERSISTENT_CHAT_POLICY: Cmdlet = Cmdlet {
    name: "New-CsPersistentChatPolicy",
    noun: Noun::Policy,
    synopsis: "Create a site or per-user policy.",
    sets: &[],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The new policy: `site:<Site>`, `tag:<Name>` or a bare per-user name. Global always exists and cannot be created.",
        )
        .mandatory()
        .pos(0),
        param("Description", Ty::String, "Free-text description; default null."),
        param("EnablePersistentChat", Ty::Bool, ENABLE_PERSISTENT_CHAT),
        param(
            "InMemory",
            Ty::Switch,
            "Return the new object without saving it; commit it later with Set-CsPersistentChatPolicy -Instance.",
        ),
        param("Tenant", Ty::Guid, TENANT),
        param("Force", Ty::Switch, FORCE),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Object(ObjType::Policy),
    examples: &[
        example(
            r#"new_cs_persistent_chat_policy("MarketingChatPolicy", #{EnablePersistentChat: true})"#,
            "Per-user policy Tag:MarketingChatPolicy that enables Persistent Chat.",
        ),
        example(
            r#"new_cs_persistent_chat_policy("site:Oslo", #{EnablePersistentChat: true, Description: "Oslo users"})"#,
            "Site policy for Oslo.",
        ),
        failing(
            r#"new_cs_persistent_chat_policy("global")"#,
            "Fails: Global always exists; change it with Set-CsPersistentChatPolicy.",
            "InvalidArgument",
        ),
        failing(
            r#"new_cs_persistent_chat_policy("SalesChatPolicy")"#,
            "Fails: Tag:SalesChatPolicy already exists.",
            "AlreadyExists",
        ),
    ],
    extension: false,
};

pub const SET_CS_PERSISTENT_CHAT_POLICY: Cmdlet = Cmdlet {
    name: "Set-CsPersistentChatPolicy",
    noun: Noun::Policy,
    synopsis: "Modify a policy.",
    sets: &["Identity", "Instance"],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The policy to change: `global`, `site:<Site>`, `tag:<Name>` or a bare per-user name. Omitted: Global.",
        )
        .sets(&["Identity"])
        .pos(0),
        param(
            "Instance",
            Ty::Object(ObjType::Policy),
            "A policy object (from Get- or New- -InMemory) whose property values are written; piped policies bind here. An unsaved object is created.",
        )
        .sets(&["Instance"])
        .by_value(),
        param("Description", Ty::String, "Free-text description; `()` clears it."),
        param("EnablePersistentChat", Ty::Bool, ENABLE_PERSISTENT_CHAT),
        param("Tenant", Ty::Guid, TENANT),
        param("Force", Ty::Switch, FORCE),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"set_cs_persistent_chat_policy("global", #{EnablePersistentChat: true})"#,
            "Everyone not governed by a site or per-user policy may use Persistent Chat.",
        ),
        example(
            r#"set_cs_persistent_chat_policy("site:Dublin", #{Description: "Dublin pilot"})"#,
            "The Dublin policy's description changes.",
        ),
        example(
            r#"get_cs_persistent_chat_policy(#{Filter: "tag:*"}).set_cs_persistent_chat_policy(#{EnablePersistentChat: false})"#,
            "Persistent Chat is disabled in every per-user policy.",
        ),
    ],
    extension: false,
};

pub const REMOVE_CS_PERSISTENT_CHAT_POLICY: Cmdlet = Cmdlet {
    name: "Remove-CsPersistentChatPolicy",
    noun: Noun::Policy,
    synopsis: "Delete (or, for global, reset) a policy.",
    sets: &[],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The policy: a site or per-user policy is deleted (its users fall back to site/global); `global` is reset to defaults. Piped policies bind by their Identity.",
        )
        .mandatory()
        .pos(0)
        .by_property(),
        param("Tenant", Ty::Guid, "GUID of the tenant the policy belongs to."),
        param(
            "Force",
            Ty::Switch,
            "Delete a per-user policy that is still assigned to users without asking for confirmation.",
        ),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"remove_cs_persistent_chat_policy("SalesChatPolicy")"#,
            "Tag:SalesChatPolicy is deleted (after a confirmation prompt if it is assigned to users).",
        ),
        example(
            r#"remove_cs_persistent_chat_policy("SalesChatPolicy", #{Force: true})"#,
            "Deleted even if assigned, without a prompt; its users fall back to their site or Global policy.",
        ),
        example(
            r#"get_cs_persistent_chat_policy(#{Filter: "tag:*"}).remove_cs_persistent_chat_policy(#{Force: true})"#,
            "Every per-user policy is deleted.",
        ),
    ],
    extension: false,
};

pub const GRANT_CS_PERSISTENT_CHAT_POLICY: Cmdlet = Cmdlet {
    name: "Grant-CsPersistentChatPolicy",
    noun: Noun::Policy,
    synopsis: "Assign/unassign a per-user policy to users.",
    sets: &[],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The user(s): SIP address, UPN, `DOMAIN\\logon`, display name (`*` may match several) or DN. Piped strings and user objects (by Identity) bind here.",
        )
        .mandatory()
        .pos(0)
        .by_value()
        .by_property(),
        param(
            "PolicyName",
            Ty::String,
            "Name of an existing per-user policy, without the `tag:` prefix. `()` or omitted unassigns: the users follow their site policy, else Global.",
        )
        .pos(1),
        param("DomainController", Ty::Fqdn, "Domain controller to use; accepted, no effect."),
        param("PassThru", Ty::Switch, "Return the updated user object(s)."),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::PassThru(ObjType::User),
    examples: &[
        example(
            r#"grant_cs_persistent_chat_policy(#{Identity: "Ann Beebe", PolicyName: "SalesChatPolicy"})"#,
            "Ann Beebe's PersistentChatPolicy becomes SalesChatPolicy.",
        ),
        example(
            r#"grant_cs_persistent_chat_policy("sip:annb@contoso.com", #{PolicyName: "SalesChatPolicy", PassThru: true})"#,
            "Positional Identity; returns Ann's user object showing the new policy.",
        ),
        example(
            r#"get_cs_user(#{LdapFilter: "Department=Sales"}).grant_cs_persistent_chat_policy(#{PolicyName: "SalesChatPolicy"})"#,
            "Every user of the Sales department gets the policy.",
        ),
        example(
            r#"get_cs_user(#{Filter: "PersistentChatPolicy -eq \"SalesChatPolicy\""}).grant_cs_persistent_chat_policy(#{PolicyName: ()})"#,
            "Unassigns SalesChatPolicy from everyone who had it.",
        ),
        failing(
            r#"grant_cs_persistent_chat_policy("sip:annb@contoso.com", #{PolicyName: "NoSuchPolicy"})"#,
            "Fails: PolicyName must name an existing per-user policy.",
            "NotFound",
        ),
    ],
    extension: false,
};

pub const GET_CS_EFFECTIVE_PERSISTENT_CHAT_POLICY: Cmdlet = Cmdlet {
    name: "Get-CsEffectivePersistentChatPolicy",
    noun: Noun::Policy,
    synopsis: "Show which policy governs a user: the per-user policy, else the site policy of the user's Registrar pool, else Global.",
    sets: &[],
    params: &[param(
        "Identity",
        Ty::String,
        "The user(s): SIP address, UPN, `DOMAIN\\logon`, display name (`*` may match several) or DN. Piped strings and user objects (by Identity) bind here.",
    )
    .mandatory()
    .pos(0)
    .by_value()
    .by_property()],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::Policy),
    examples: &[
        example(
            r#"get_cs_effective_persistent_chat_policy("sip:annb@contoso.com")"#,
            "The policy governing Ann Beebe, with AppliesTo (her SIP address) and Scope (Tag, Site or Global).",
        ),
        example(
            r#"get_cs_user(#{LdapFilter: "Department=Sales"}).get_cs_effective_persistent_chat_policy().filter(|p| !p.EnablePersistentChat)"#,
            "The Sales users who may not use Persistent Chat, with the policy that says so.",
        ),
        failing(
            r#"get_cs_effective_persistent_chat_policy("sip:ghost@contoso.com")"#,
            "Fails: no SIP-enabled user has that address.",
            "NotFound",
        ),
    ],
    extension: true,
};
