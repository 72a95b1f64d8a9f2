use super::*;
use crate::catalog::{Mandatory, Output, param};
use crate::errors::ErrorKind;

static ROOM_LIKE: Cmdlet = Cmdlet {
    name: "Set-CsTestRoom",
    noun: crate::catalog::Noun::Room,
    synopsis: "test",
    sets: &["Identity", "Instance"],
    params: &[
        param("Identity", Ty::String, "id").sets(&["Identity"]).mandatory().pos(0).by_property(),
        param("Instance", Ty::Object(ObjType::ChatRoom), "obj").sets(&["Instance"]).mandatory().pos(0).by_value(),
        param("Disabled", Ty::Bool, "d"),
        param("Privacy", Ty::Enum(&["Open", "Closed", "Secret"]), "p"),
        param("PersistentChatPoolFqdn", Ty::Fqdn, "pool"),
        param("PersistentChatServer", Ty::Switch, "role"),
        param("Category", Ty::String, "c"),
        param("Members", Ty::ListModifier, "m"),
    ],
    exclusive: &[&["Category", "PersistentChatPoolFqdn"]],
    should_process: true,
    confirm_by_default: false,
    output: Output::Nothing,
    examples: &[],
    extension: false,
};

fn map(pairs: &[(&str, Dynamic)]) -> Map {
    pairs.iter().map(|(k, v)| ((*k).into(), v.clone())).collect()
}

fn bind_named(pairs: &[(&str, Dynamic)]) -> Result<Bound, CmdletError> {
    let call = Call { positional: vec![], named: map(pairs) };
    bind(&prepare(&ROOM_LIKE, &call)?, None)
}

#[test]
fn names_are_case_insensitive_ignore_underscores_and_accept_prefixes_and_aliases() {
    let b = bind_named(&[("identity", "pc\\r".into()), ("DISABLED", true.into())]).unwrap();
    assert_eq!(b.str("Identity"), Some("pc\\r"));
    assert_eq!(b.bool("Disabled"), Some(true));
    let b = bind_named(&[("Identity", "x".into()), ("persistent_chat_pool_fqdn", "pc01.contoso.com".into())]).unwrap();
    assert_eq!(b.str("PersistentChatPoolFqdn"), Some("pc01.contoso.com"));
    let b = bind_named(&[("Iden", "x".into()), ("Priv", "secret".into()), ("wi", true.into())]).unwrap();
    assert_eq!(b.enum_value("Privacy"), Some("Secret"));
    assert!(b.common.what_if);
}

#[test]
fn ambiguous_prefix_lists_candidates() {
    let e = bind_named(&[("Identity", "x".into()), ("PersistentChat", "y".into())]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ParameterBinding);
    assert!(
        e.message.contains("PersistentChatPoolFqdn") && e.message.contains("PersistentChatServer"),
        "{}",
        e.message
    );
}

#[test]
fn typo_suggests_nearest_name() {
    let e = bind_named(&[("Identity", "x".into()), ("Disabeld", true.into())]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::ParameterBinding);
    assert!(e.message.contains("did you mean 'Disabled'"), "{}", e.message);
    assert!(e.terminating);
}

#[test]
fn missing_mandatory_parameter_is_named() {
    let e = bind_named(&[("Disabled", true.into())]).unwrap_err();
    assert!(e.message.contains("missing mandatory parameter 'Identity'"), "{}", e.message);
}

#[test]
fn parameters_from_two_sets_are_ambiguous() {
    let mut obj = Dynamic::from(Map::new());
    obj.set_tag(ObjType::ChatRoom.tag());
    let e = bind_named(&[("Identity", "x".into()), ("Instance", obj)]).unwrap_err();
    assert_eq!(e.kind, ErrorKind::AmbiguousParameterSet);
    assert!(e.message.contains("Identity") && e.message.contains("Instance"), "{}", e.message);
}

#[test]
fn exclusive_group_is_enforced() {
    let e = bind_named(&[("Identity", "x".into()), ("Category", "c".into()), ("PersistentChatPoolFqdn", "p.c".into())])
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::AmbiguousParameterSet);
}

#[test]
fn positional_binds_first_positional_and_conflicts_with_named() {
    let call = Call { positional: vec!["pc01\\r".into()], named: map(&[("Disabled", false.into())]) };
    let b = bind(&prepare(&ROOM_LIKE, &call).unwrap(), None).unwrap();
    assert_eq!(b.str("Identity"), Some("pc01\\r"));
    assert_eq!(b.set, "Identity");
    let call = Call { positional: vec!["a".into()], named: map(&[("Identity", "b".into())]) };
    assert!(prepare(&ROOM_LIKE, &call).is_err());
}

#[test]
fn tagged_object_binds_by_value_untagged_by_property_name() {
    let prepared = prepare(&ROOM_LIKE, &Call::default()).unwrap();
    let mut room = Map::new();
    room.insert("Identity".into(), "pc01\\r".into());
    room.insert("Name".into(), "r".into());
    let mut tagged = Dynamic::from(room.clone());
    tagged.set_tag(ObjType::ChatRoom.tag());
    let b = bind(&prepared, Some(&tagged)).unwrap();
    assert_eq!(b.set, "Instance");
    let b = bind(&prepared, Some(&Dynamic::from(room))).unwrap();
    assert_eq!(b.set, "Identity");
    assert_eq!(b.str("Identity"), Some("pc01\\r"));
    let b = bind(&prepared, Some(&Dynamic::from("pc01\\x"))).unwrap();
    assert_eq!(b.str("Identity"), Some("pc01\\x"));
}

#[test]
fn switch_false_is_absent_and_confirm_false_is_recorded() {
    let b = bind_named(&[("Identity", "x".into()), ("PersistentChatServer", false.into()), ("Confirm", false.into())])
        .unwrap();
    assert!(!b.has("PersistentChatServer"));
    assert_eq!(b.common.confirm, Some(false));
}

#[test]
fn mandatory_helpers() {
    assert!(matches!(ROOM_LIKE.params[0].mandatory, Mandatory::Always));
    assert!(ROOM_LIKE.params[0].is_mandatory_in("Identity"));
    assert!(!ROOM_LIKE.params[0].is_mandatory_in("Instance"));
}
