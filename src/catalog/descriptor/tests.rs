use super::*;

#[test]
fn cells_follow_the_properties() {
    // Identity and lists take no cell, a reference two (its id and the referenced name).
    assert_eq!(ROOM.cell("Name"), 0);
    assert_eq!(ROOM.cell("Description"), 1);
    assert_eq!(ROOM.cell("Category"), 2);
    assert_eq!(ROOM.cell("PersistentChatPoolFqdn"), 4);
    assert_eq!(ROOM.cell("ChatContentSizeMB"), ROOM.cell("Addin") + 2);
    assert_eq!(ROOM.find("privacy").map(|(p, c)| (p.name, c)), Some(("Privacy", ROOM.cell("Privacy"))));
    assert_eq!(ROOM.find("Privacyy"), None);
    let cells: Vec<usize> = ROOM.with_cells().map(|(_, c)| c).collect();
    assert_eq!(cells[..5], [0, 0, 1, 2, 4]);
}

#[test]
fn new_objects_start_at_their_initial_values() {
    let cells = ROOM.initial_cells(7);
    assert_eq!(cells.len(), ROOM.width());
    assert_eq!(cells[ROOM.cell("Privacy")], Cell::Enum(1), "Closed");
    assert_eq!(cells[ROOM.cell("Type")], Cell::Enum(0), "Normal");
    assert_eq!(cells[ROOM.cell("Disabled")], Cell::Bool(false));
    assert_eq!(cells[ROOM.cell("Addin") + 1], Cell::Null);
    assert_eq!(CATEGORY.initial_cells(7)[CATEGORY.cell("ChatHistory")], Cell::Bool(true));
}

#[test]
fn the_output_order_is_the_descriptors() {
    for d in [&ROOM, &CATEGORY] {
        assert_eq!(d.obj.properties(), d.names().as_slice());
        assert_eq!(d.properties[0].source, Source::Identity);
        // Every name once, in any case.
        for (i, p) in d.properties.iter().enumerate() {
            assert_eq!(d.find(p.name).map(|(q, _)| q.name), Some(p.name));
            assert!(!d.properties[..i].iter().any(|q| q.name.eq_ignore_ascii_case(p.name)), "{}", p.name);
        }
    }
}

/// A plain property is set by the New and Set parameter of its name: both must declare it, with
/// the type of its shape.
#[test]
fn plain_properties_are_parameters_of_new_and_set() {
    use crate::catalog::Ty;
    use crate::catalog::entries::{addin as a, category as c, room as r};
    let cases = [
        (&ROOM, [&r::NEW_CS_PERSISTENT_CHAT_ROOM, &r::SET_CS_PERSISTENT_CHAT_ROOM]),
        (&CATEGORY, [&c::NEW_CS_PERSISTENT_CHAT_CATEGORY, &c::SET_CS_PERSISTENT_CHAT_CATEGORY]),
        (&ADDIN, [&a::NEW_CS_PERSISTENT_CHAT_ADDIN, &a::SET_CS_PERSISTENT_CHAT_ADDIN]),
    ];
    for (d, cmdlets) in cases {
        for p in d.properties.iter().filter(|p| p.access == Access::Plain) {
            for cmdlet in cmdlets {
                let param = cmdlet.param(p.name).unwrap_or_else(|| panic!("{} has no -{}", cmdlet.name, p.name));
                let fits = match p.shape {
                    Shape::Text | Shape::OptText => param.ty == Ty::String,
                    Shape::Bool => param.ty == Ty::Bool,
                    Shape::Enum(names) => param.ty == Ty::Enum(names),
                    _ => false,
                };
                assert!(fits, "{} -{} is {:?}, not a {:?}", cmdlet.name, p.name, param.ty, p.shape);
            }
        }
    }
}

#[test]
fn every_descriptor_gives_its_types_output_order() {
    for d in ALL {
        assert_eq!(d.obj.properties(), d.names().as_slice(), "{:?}", d.obj);
        for (i, p) in d.properties.iter().enumerate() {
            assert!(!d.properties[..i].iter().any(|q| q.name.eq_ignore_ascii_case(p.name)), "{}", p.name);
        }
    }
    // An endpoint's Identity is its DN, not `<pool>\<name>`; a new one is a contact.
    assert_eq!(ENDPOINT.properties[0].source, Source::Column("dn"));
    assert_eq!(ENDPOINT.initial_cells(0)[ENDPOINT.cell("ObjectClass")], Cell::Enum(PrincipalKind::Contact as u8));
    assert_eq!(Shape::ObjectClass.names(), Some(PrincipalKind::NAMES));
}
