//! Eligible principals.

use crate::catalog::*;

pub const GET_CS_PERSISTENT_CHAT_ELIGIBLE_PRINCIPAL: Cmdlet = Cmdlet {
    name: "Get-CsPersistentChatEligiblePrincipal",
    noun: Noun::Eligibility,
    synopsis: "Expand who may be member/manager/creator/presenter.",
    sets: &["Category", "Room"],
    params: &[
        param(
            "Category",
            Ty::String,
            "The category (name or `<poolFqdn>\\<Name>`): list who may be its members and creators.",
        )
        .sets(&["Category"])
        .mandatory(),
        param(
            "Room",
            Ty::String,
            "The room (name or `<poolFqdn>\\<Name>`): list who may be its members and managers (or presenters).",
        )
        .sets(&["Room"])
        .mandatory(),
        param(
            "Presenters",
            Ty::Switch,
            "List the eligible presenters of the room instead (Auditorium rooms only, else InvalidOperation).",
        )
        .sets(&["Room"]),
        param(
            "Filter",
            Ty::String,
            "Wildcard pattern matched against SIP addresses only, e.g. `*smith*`; principals without one never match.",
        ),
        param(
            "PersistentChatPoolFqdn",
            Ty::String,
            "Pool of the category or room. Omitted: all pools are searched; an ambiguous name is an error.",
        ),
        param(
            "ResultSize",
            Ty::Int32,
            "Maximum number of principals to return (0..2147483647), applied last; 0 returns nothing.",
        )
        .range(0, 2147483647),
    ],
    exclusive: &[],
    should_process: false,
    confirm_by_default: false,
    output: Output::Collection(ObjType::EligiblePrincipal),
    examples: &[
        example(
            r#"get_cs_persistent_chat_eligible_principal(#{PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"})"#,
            "Everyone eligible in Finance: the listed groups and OUs, and every user they cover.",
        ),
        example(
            r#"get_cs_persistent_chat_eligible_principal(#{PersistentChatPoolFqdn: "pc01.contoso.com", Room: "CEO Updates", Presenters: true})"#,
            "The eligible presenters of the auditorium room.",
        ),
        example(
            r#"get_cs_persistent_chat_eligible_principal(#{PersistentChatPoolFqdn: "pc01.contoso.com", Room: "FinanceRoom", Filter: "*beebe*"})"#,
            "Eligible members and managers whose SIP address contains \"beebe\".",
        ),
        example(
            r#"get_cs_persistent_chat_eligible_principal(#{PersistentChatPoolFqdn: "pc01.contoso.com", Category: "Finance"}).filter(|p| p.PersistentChatPrincipalType == "User")"#,
            "Users only.",
        ),
        failing(
            r#"get_cs_persistent_chat_eligible_principal(#{Category: "Finance", Room: "FinanceRoom"})"#,
            "Fails: give either Category or Room.",
            "AmbiguousParameterSet",
        ),
        failing(
            r#"get_cs_persistent_chat_eligible_principal(#{PersistentChatPoolFqdn: "pc01.contoso.com", Room: "FinanceRoom", Presenters: true})"#,
            "Fails: FinanceRoom is not an Auditorium room.",
            "InvalidOperation",
        ),
    ],
    extension: false,
};
