//! Endpoints.

use crate::catalog::*;

pub const GET_CS_PERSISTENT_CHAT_ENDPOINT: Cmdlet = Cmdlet {
    name: "Get-CsPersistentChatEndpoint",
    noun: Noun::Endpoint,
    synopsis: "Read Persistent Chat endpoint contact objects.",
    sets: &[],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The endpoint: SIP address (usual form), display name or full DN. Omitted: every endpoint.",
        )
        .pos(0)
        .by_value()
        .by_property(),
        param(
            "Credential",
            Ty::Credential,
            "Alternate account for the directory query; accepted and validated, no effect.",
        ),
        param("DomainController", Ty::Fqdn, "Domain controller to query; accepted, no effect."),
        param(
            "Filter",
            Ty::Filter,
            "Expression filter over endpoint properties, e.g. `ConferencingPolicy -ne $Null`; combines with the other criteria (AND).",
        ),
        param("LdapFilter", Ty::String, "LDAP filter over generic directory attributes (of little use for endpoints)."),
        param(
            "OU",
            Ty::String,
            "DN of an OU or container to search (of little use: all endpoints share the Application Contacts container).",
        ),
        param("PersistentChatPoolFqdn", Ty::Fqdn, "Return only the endpoints of this Persistent Chat pool."),
        param(
            "ResultSize",
            Ty::Unlimited,
            "Maximum number of endpoints to return (0..2147483647 or `Unlimited`), applied last; 0 returns nothing.",
        )
        .range(0, 2147483647),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::Endpoint),
    examples: &[
        example(r#"get_cs_persistent_chat_endpoint()"#, "All endpoints, including the ones created with each pool."),
        example(
            r#"get_cs_persistent_chat_endpoint("sip:pchat-pc01@contoso.com")"#,
            "One endpoint by SIP address (pc01's default endpoint).",
        ),
        example(
            r#"get_cs_persistent_chat_endpoint(#{PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
            "The endpoints of pc01.",
        ),
        example(
            r#"get_cs_persistent_chat_endpoint(#{Filter: "ConferencingPolicy -ne $Null"})"#,
            "Endpoints that have a conferencing policy assigned.",
        ),
    ],
    extension: false,
};

pub const NEW_CS_PERSISTENT_CHAT_ENDPOINT: Cmdlet = Cmdlet {
    name: "New-CsPersistentChatEndpoint",
    noun: Noun::Endpoint,
    synopsis: "Create an extra, friendly-URI endpoint for a pool.",
    sets: &[],
    params: &[
        param("PersistentChatPoolFqdn", Ty::Fqdn, "FQDN of the Persistent Chat pool the endpoint serves.").mandatory(),
        param(
            "SipAddress",
            Ty::Sip,
            "The endpoint's SIP address: `sip:user@domain` by the directory file's rule (the user part letters and digits of any script and `-_.!~*'()&=+$,;?/%`), in a SIP domain of the organisation, not used by any other user, contact or endpoint.",
        )
        .mandatory(),
        param("DisplayName", Ty::String, "Display name of the endpoint's contact object; default null."),
        param("PassThru", Ty::Switch, "Return the new endpoint; otherwise nothing is returned."),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::PassThru(ObjType::Endpoint),
    examples: &[
        example(
            r#"new_cs_persistent_chat_endpoint(#{SipAddress: "sip:chat@contoso.com", PersistentChatPoolFqdn: "pc01.contoso.com", DisplayName: "Contoso Chat"})"#,
            "Endpoint created; nothing is returned.",
        ),
        example(
            r#"new_cs_persistent_chat_endpoint(#{SipAddress: "sip:chat-emea@contoso.com", PersistentChatPoolFqdn: "pc02.contoso.com", PassThru: true})"#,
            "Endpoint created and returned.",
        ),
        failing(
            r#"new_cs_persistent_chat_endpoint(#{SipAddress: "chat@contoso.com", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
            "Fails: the SIP address needs the sip: prefix.",
            "InvalidArgument",
        ),
        failing(
            r#"new_cs_persistent_chat_endpoint(#{SipAddress: "sip:annb@contoso.com", PersistentChatPoolFqdn: "pc01.contoso.com"})"#,
            "Fails: Ann Beebe already uses that SIP address.",
            "AlreadyExists",
        ),
    ],
    extension: false,
};

pub const REMOVE_CS_PERSISTENT_CHAT_ENDPOINT: Cmdlet = Cmdlet {
    name: "Remove-CsPersistentChatEndpoint",
    noun: Noun::Endpoint,
    synopsis: "Delete endpoints.",
    sets: &[],
    params: &[
        param(
            "Identity",
            Ty::String,
            "The endpoint: SIP address, display name or full DN. Piped strings and endpoint objects (by Identity) bind here.",
        )
        .mandatory()
        .pos(0)
        .by_value()
        .by_property(),
        param("Force", Ty::Switch, "Suppress non-fatal messages and prompts; never bypasses validation."),
    ],
    exclusive: &[],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[
        example(
            r#"new_cs_persistent_chat_endpoint(#{SipAddress: "sip:chat-emea@contoso.com", PersistentChatPoolFqdn: "pc02.contoso.com"}); remove_cs_persistent_chat_endpoint("sip:chat-emea@contoso.com")"#,
            "The endpoint is deleted.",
        ),
        example(
            r#"get_cs_persistent_chat_endpoint(#{PersistentChatPoolFqdn: "pc02.contoso.com"}).remove_cs_persistent_chat_endpoint()"#,
            "All pc02 endpoints are deleted, the automatically created one included.",
        ),
    ],
    extension: false,
};
