//! Output objects: Rhai object maps tagged with their type (see `ObjType::tag`), so a piped object
//! binds ByValue to the `-Instance` of the matching cmdlet.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use rhai::{Array, Dynamic, Map};

use crate::catalog::ObjType;

/// Build an object from (property, value) pairs.
pub fn object(t: ObjType, props: impl IntoIterator<Item = (&'static str, Dynamic)>) -> Dynamic {
    let map: Map = props.into_iter().map(|(k, v)| (k.into(), v)).collect();
    let mut d = Dynamic::from_map(map);
    d.set_tag(t.tag());
    d
}

/// An optional string: `()` when absent (PowerShell's `$Null`).
pub fn opt(s: Option<impl Into<String>>) -> Dynamic {
    s.map(|s| Dynamic::from(s.into())).unwrap_or(Dynamic::UNIT)
}

pub fn text(s: impl Into<String>) -> Dynamic {
    Dynamic::from(s.into())
}

pub fn list<S: Into<String>>(items: impl IntoIterator<Item = S>) -> Dynamic {
    Dynamic::from_array(items.into_iter().map(|s| Dynamic::from(s.into())).collect::<Array>())
}

/// Read a string property of an object map (`None` when missing or `()`).
pub fn prop_str(map: &Map, name: &str) -> Option<String> {
    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).filter(|(_, v)| !v.is_unit()).map(|(_, v)| v.to_string())
}

/// An object a cmdlet read from the store carries, in its tag, the number of that read; what it
/// showed is kept here, as a hash of each property's value. A Set given the object (`-Instance`,
/// or piped) compares, property by property, what was read, what the object holds now (edited or
/// not) and the object as stored now (`engine::instance`): a change made in between must not be
/// written back over with the value read before it.
///
/// The tag is the only place a Rhai map carries anything its properties do not show; it survives
/// property assignment and copies (a copy was read at the same moment). Its bits:
/// `ObjType::read_tag`, the low 26 the read's number. The reads are kept per thread (the engine's)
/// for the last `KEPT` objects read: one read older than that is refused by its Set, never taken
/// for unchanged. The names of the properties are shared by the objects of one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsRead {
    number: u32,
}

/// How many reads are kept (a room's about 250 bytes: 250 MB at most).
pub const KEPT: usize = 1_000_000;

struct Read {
    as_object: bool,
    names: Rc<[String]>,
    values: Box<[u64]>,
}

#[derive(Default)]
struct Reads {
    next: u32,
    kept: HashMap<u32, Read>,
    order: VecDeque<u32>,
}

thread_local! {
    static READS: RefCell<Reads> = RefCell::new(Reads::default());
}

/// What a Set may write of an object it was given, property by property (`AsRead::merge`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Merge {
    /// Edited on the object, and either unchanged in the store since the read or changed to the
    /// same value: the Set applies these.
    pub edited: Vec<String>,
    /// Edited on the object and changed differently in the store since the read: the Set is refused.
    pub conflicts: Vec<String>,
    /// Not edited, and changed in the store since the read: the object's values are stale.
    pub stale: Vec<String>,
}

impl AsRead {
    /// Whether principals were shown by display name (`-AsObject`); None when the read is no
    /// longer kept.
    pub fn as_object(&self) -> Option<bool> {
        READS.with(|r| r.borrow().kept.get(&self.number).map(|read| read.as_object))
    }

    /// The properties of `given` that no longer hold the value read (None: the read is not kept).
    pub fn edited(&self, given: &Map) -> Option<Vec<String>> {
        READS.with(|r| {
            let reads = r.borrow();
            let read = reads.kept.get(&self.number)?;
            let holds = |name: &str, was: u64| find(given, name).is_none_or(|v| value_hash(v) == was);
            Some(
                read.names
                    .iter()
                    .zip(read.values.iter())
                    .filter(|(n, w)| !holds(n, **w))
                    .map(|(n, _)| n.clone())
                    .collect(),
            )
        })
    }

    /// Property by property: what the object `given` holds, what was read, and `now`, the object
    /// as the store holds it now. A property missing from `given` is not edited. None when the
    /// read is no longer kept.
    pub fn merge(&self, given: &Map, now: &Map) -> Option<Merge> {
        READS.with(|r| {
            let reads = r.borrow();
            let read = reads.kept.get(&self.number)?;
            let mut out = Merge::default();
            for (name, was) in read.names.iter().zip(read.values.iter()) {
                let now = find(now, name).map(value_hash);
                match find(given, name).map(value_hash) {
                    Some(g) if g != *was => {
                        if now == Some(*was) || now == Some(g) {
                            out.edited.push(name.clone())
                        } else {
                            out.conflicts.push(name.clone())
                        }
                    }
                    _ if now != Some(*was) => out.stale.push(name.clone()),
                    _ => {}
                }
            }
            Some(out)
        })
    }
}

fn find<'m>(map: &'m Map, name: &str) -> Option<&'m Dynamic> {
    map.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v)
}

/// Mark each of `objects` (maps tagged with their type) as read now, showing what it shows now.
pub fn stamp(objects: &mut [Dynamic], as_object: bool) {
    READS.with(|r| {
        let mut reads = r.borrow_mut();
        let mut names: Option<Rc<[String]>> = None;
        for object in objects.iter_mut() {
            let Some(t) = ObjType::from_tag(object.tag()) else { continue };
            let Some(values) = object.read_lock::<Map>().map(|m| {
                // The objects of one read have the same properties: their names are kept once.
                let same = names.as_ref().is_some_and(|n| {
                    n.len() == m.len() && n.iter().zip(m.keys()).all(|(a, b)| a.as_str() == b.as_str())
                });
                if !same {
                    names = Some(m.keys().map(|k| k.to_string()).collect());
                }
                m.values().map(value_hash).collect::<Box<[u64]>>()
            }) else {
                continue;
            };
            let Some(shared) = names.clone() else { continue };
            let number = reads.next;
            reads.next = (reads.next + 1) & ObjType::READ_LOW;
            reads.kept.insert(number, Read { as_object, names: shared, values });
            reads.order.push_back(number);
            while reads.order.len() > KEPT {
                if let Some(old) = reads.order.pop_front() {
                    reads.kept.remove(&old);
                }
            }
            object.set_tag(t.read_tag(number));
        }
    })
}

/// The read a tag names; None for an object nothing read (built by a runbook, or by New with
/// -InMemory).
pub fn as_read(tag: i32) -> Option<AsRead> {
    let bits = tag as u32;
    (bits & ObjType::READ_MARK != 0 && ObjType::from_tag(tag).is_some())
        .then_some(AsRead { number: bits & ObjType::READ_LOW })
}

// `KEPT` reads must all have numbers of their own.
const _: () = assert!(KEPT < ObjType::READ_LOW as usize && ObjType::ALL.len() < 32);

/// A hash of a value, case included, with arrays and nested maps followed. Fixed keys: the same
/// value hashes the same for the life of the process, as long as a read is kept.
fn value_hash(v: &Dynamic) -> u64 {
    use std::hash::{Hash, Hasher};
    type H = std::collections::hash_map::DefaultHasher;
    fn feed(v: &Dynamic, h: &mut H) {
        if v.is_unit() {
            0u8.hash(h);
        } else if let Ok(b) = v.as_bool() {
            (1u8, b).hash(h);
        } else if let Ok(i) = v.as_int() {
            (2u8, i).hash(h);
        } else if let Ok(f) = v.as_float() {
            (3u8, f.to_bits()).hash(h);
        } else if let Some(text) = v.read_lock::<rhai::ImmutableString>() {
            (7u8, text.as_str()).hash(h);
        } else if let Some(a) = v.read_lock::<Array>() {
            (4u8, a.len()).hash(h);
            a.iter().for_each(|x| feed(x, h));
        } else if let Some(m) = v.read_lock::<Map>() {
            (5u8, m.len()).hash(h);
            for (k, x) in m.iter() {
                k.as_str().hash(h);
                feed(x, h);
            }
        } else {
            (6u8, v.type_name(), v.to_string()).hash(h);
        }
    }
    let mut h = H::new();
    feed(v, &mut h);
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(description: &str) -> Dynamic {
        object(
            ObjType::ChatRoom,
            [("Identity", text("pc01\\R")), ("Description", text(description)), ("Members", list(["a", "b"]))],
        )
    }

    fn map(o: &Dynamic) -> Map {
        o.read_lock::<Map>().expect("map").clone()
    }

    fn set(o: &mut Dynamic, k: &str, v: Dynamic) {
        o.write_lock::<Map>().expect("map").insert(k.into(), v);
    }

    #[test]
    fn a_stamped_object_keeps_its_type_and_its_read_through_edits_and_copies() {
        for t in ObjType::ALL {
            let mut o = [Dynamic::from_map(Map::new())];
            o[0].set_tag(t.tag());
            stamp(&mut o, true);
            assert_eq!(ObjType::from_tag(o[0].tag()), Some(t), "{t:?}");
            assert_eq!(as_read(o[0].tag()).and_then(|r| r.as_object()), Some(true));
        }
        let o = room("first");
        assert_eq!(as_read(o.tag()), None, "an object nothing read carries no read");
        let mut read = [o];
        stamp(&mut read, false);
        let [mut o] = read;
        let r = as_read(o.tag()).expect("stamped");
        set(&mut o, "Description", text("second"));
        assert_eq!(as_read(o.tag()), Some(r), "an edit keeps the tag");
        assert_eq!(r.edited(&map(&o)), Some(vec!["Description".to_string()]), "Identity and Members still hold");
    }

    #[test]
    fn a_merge_tells_edits_from_changes_made_since_and_both_from_conflicts() {
        let mut read = [room("first")];
        stamp(&mut read, false);
        let r = as_read(read[0].tag()).expect("stamped");
        let mut given = read[0].clone();
        // Unedited, unchanged: nothing.
        assert_eq!(r.merge(&map(&given), &map(&read[0])), Some(Merge::default()));
        // Unedited, changed since: stale.
        let mut now = read[0].clone();
        set(&mut now, "Members", list(["a", "b", "c"]));
        let m = r.merge(&map(&given), &map(&now)).expect("kept");
        assert_eq!((m.edited, m.conflicts, m.stale), (vec![], vec![], vec!["Members".to_string()]));
        // Edited where nothing changed: applied; the change to another property stays stale.
        set(&mut given, "Description", text("mine"));
        let m = r.merge(&map(&given), &map(&now)).expect("kept");
        assert_eq!((m.edited, m.stale), (vec!["Description".to_string()], vec!["Members".to_string()]));
        // Edited to what the store now holds: applied (a no-op), not a conflict.
        set(&mut now, "Description", text("mine"));
        assert_eq!(r.merge(&map(&given), &map(&now)).expect("kept").conflicts, Vec::<String>::new());
        // Edited and changed differently: a conflict.
        set(&mut now, "Description", text("theirs"));
        assert_eq!(r.merge(&map(&given), &map(&now)).expect("kept").conflicts, ["Description"]);
    }

    #[test]
    fn hashes_see_case_list_order_nesting_and_type() {
        assert_ne!(value_hash(&text("a")), value_hash(&text("A")));
        assert_ne!(value_hash(&list(["a", "b"])), value_hash(&list(["b", "a"])));
        assert_ne!(value_hash(&list(["ab"])), value_hash(&list(["a", "b"])));
        assert_ne!(value_hash(&Dynamic::UNIT), value_hash(&text("")));
        assert_ne!(value_hash(&Dynamic::from(1_i64)), value_hash(&text("1")));
        assert_eq!(value_hash(&list(["a"])), value_hash(&list(["a"])));
    }
}
