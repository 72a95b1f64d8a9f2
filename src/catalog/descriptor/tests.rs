use super::*;

#[test]
fn cells_follow_the_properties() {
    // Identity and lists take no cell, a reference two (its id and the referenced name).
    assert_eq!(ROOM.cell("Name"), 0);
    assert_eq!(ROOM.cell("Description"), 1);
    assert_eq!(ROOM.cell("Category"), 2);
    assert_eq!(ROOM.cell("PersistentChatPoolFqdn"), 4);
    assert_eq!(ROOM.cell("ChatContentSizeMB"), ROOM.width() - 1);
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
