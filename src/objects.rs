//! Output objects: Rhai object maps tagged with their type (see `ObjType::tag`), so a piped object
//! binds ByValue to the `-Instance` of the matching cmdlet.

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

/// What a Get left in an object's tag: that it shows a stored object as it was read, and a digest
/// of what it showed. A Set given the object (`-Instance`, or piped) compares it with the object
/// as it is now (`engine::instance`): a change another session made in between must not be
/// written back over with the values read before it.
///
/// The tag is the only place a Rhai map carries anything its properties do not show, and it
/// survives property assignment and copies. Of its bits (`ObjType::read_tag`), bit 25 says whether
/// principals were shown by display name (`-AsObject`) and bits 0..=24 hold the digest. Nothing is
/// kept beside the object, so there is no cache to keep coherent; the price is a 1 in 2^25 chance
/// that a digest matches by accident, which matters only when the object was changed in the
/// meantime (see `engine::instance`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AsRead {
    pub as_object: bool,
    digest: u32,
}

const AS_OBJECT_BIT: u32 = 1 << 25;
const DIGEST_BITS: u32 = AS_OBJECT_BIT - 1;
const _: () = assert!(AS_OBJECT_BIT | DIGEST_BITS == ObjType::READ_LOW && ObjType::ALL.len() < 32);

impl AsRead {
    /// The stamp of `map` as read now. Only the properties a Set can write count (`writable`, its
    /// parameters' names): one it cannot (a room's ChatContentSizeMB, which grows with every
    /// message) would make every read object look stale.
    pub fn of(map: &Map, as_object: bool, writable: &[&str]) -> AsRead {
        AsRead { as_object, digest: digest(map, writable) & DIGEST_BITS }
    }

    /// Whether `map` still shows what was read (unedited, or read again unchanged).
    pub fn shows(&self, map: &Map, writable: &[&str]) -> bool {
        digest(map, writable) & DIGEST_BITS == self.digest
    }
}

/// Mark `object` (a map tagged with its type) as read, showing what it shows now.
pub fn stamp(object: &mut Dynamic, as_object: bool, writable: &[&str]) {
    let Some(t) = ObjType::from_tag(object.tag()) else { return };
    let Some(read) = object.read_lock::<Map>().map(|m| AsRead::of(&m, as_object, writable)) else { return };
    object.set_tag(t.read_tag(if read.as_object { AS_OBJECT_BIT } else { 0 } | read.digest));
}

/// The stamp a read object's tag carries; None for an object nothing read (built by a runbook, or
/// by New with -InMemory).
pub fn as_read(tag: i32) -> Option<AsRead> {
    let bits = tag as u32;
    (bits & ObjType::READ_MARK != 0 && ObjType::from_tag(tag).is_some())
        .then_some(AsRead { as_object: bits & AS_OBJECT_BIT != 0, digest: bits & DIGEST_BITS })
}

/// A digest of what an object shows of `writable`: those properties (in the map's own order, which
/// is sorted) and their values, case included, with arrays and nested maps followed.
fn digest(map: &Map, writable: &[&str]) -> u32 {
    use std::hash::{Hash, Hasher};
    fn feed(v: &Dynamic, h: &mut std::collections::hash_map::DefaultHasher) {
        if v.is_unit() {
            0u8.hash(h);
        } else if let Ok(b) = v.as_bool() {
            (1u8, b).hash(h);
        } else if let Ok(i) = v.as_int() {
            (2u8, i).hash(h);
        } else if let Ok(f) = v.as_float() {
            (3u8, f.to_bits()).hash(h);
        } else if let Some(a) = v.read_lock::<Array>() {
            (4u8, a.len()).hash(h);
            a.iter().for_each(|x| feed(x, h));
        } else if let Some(m) = v.read_lock::<Map>() {
            feed_map(&m, h);
        } else {
            (6u8, v.type_name(), v.to_string()).hash(h);
        }
    }
    fn feed_map(m: &Map, h: &mut std::collections::hash_map::DefaultHasher) {
        (5u8, m.len()).hash(h);
        for (k, x) in m.iter() {
            k.as_str().hash(h);
            feed(x, h);
        }
    }
    // Fixed keys: the same object gives the same digest for the life of the process, which is as
    // long as a tag lives (tags are not written anywhere).
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for (k, x) in map.iter().filter(|(k, _)| counts(k, writable)) {
        k.as_str().hash(&mut h);
        feed(x, &mut h);
    }
    let full = h.finish();
    (full ^ (full >> 32)) as u32
}

fn counts(key: &str, writable: &[&str]) -> bool {
    writable.iter().any(|w| w.eq_ignore_ascii_case(key))
}

/// The `writable` properties whose values differ between two objects of a type (either side's,
/// once each).
pub fn differing(a: &Map, b: &Map, writable: &[&str]) -> Vec<String> {
    let same = |x: &Dynamic, y: &Dynamic| {
        let one = |v: &Dynamic| std::iter::once((rhai::Identifier::from("v"), v.clone())).collect::<Map>();
        digest(&one(x), &["v"]) == digest(&one(y), &["v"])
    };
    let mut out: Vec<String> = a
        .iter()
        .filter(|(k, v)| counts(k, writable) && b.get(k.as_str()).is_none_or(|w| !same(v, w)))
        .map(|(k, _)| k.to_string())
        .collect();
    out.extend(b.keys().filter(|k| counts(k, writable) && !a.contains_key(k.as_str())).map(|k| k.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(description: &str) -> Dynamic {
        object(ObjType::ChatRoom, [("Identity", text("pc01\\R")), ("Description", text(description))])
    }

    #[test]
    fn a_stamped_object_keeps_its_type_and_tells_an_edit_from_a_copy() {
        for t in ObjType::ALL {
            let mut o = Dynamic::from_map(Map::new());
            o.set_tag(t.tag());
            stamp(&mut o, true, &[]);
            assert_eq!(ObjType::from_tag(o.tag()), Some(t), "{t:?}");
            assert!(as_read(o.tag()).is_some_and(|r| r.as_object));
        }
        let mut o = room("first");
        assert_eq!(as_read(o.tag()), None, "an object nothing read carries no stamp");
        let writable = ["Identity", "Description"];
        stamp(&mut o, false, &writable);
        let read = as_read(o.tag()).expect("stamped");
        let copy = o.clone();
        assert!(read.shows(&copy.read_lock::<Map>().expect("map"), &writable));
        o.write_lock::<Map>().expect("map").insert("ChatContentSizeMB".into(), Dynamic::from(2.5_f64));
        assert!(read.shows(&o.read_lock::<Map>().expect("map"), &writable), "what a Set cannot write does not count");
        o.write_lock::<Map>().expect("map").insert("Description".into(), text("second"));
        assert_eq!(as_read(o.tag()), Some(read), "an edit keeps the tag");
        assert!(!read.shows(&o.read_lock::<Map>().expect("map"), &writable), "and shows as an edit");
    }

    #[test]
    fn the_digest_sees_case_list_order_and_nesting() {
        let d = |v: Dynamic| digest(&std::iter::once(("P".into(), v)).collect(), &["P"]);
        assert_ne!(d(text("a")), d(text("A")));
        assert_ne!(d(list(["a", "b"])), d(list(["b", "a"])));
        assert_ne!(d(list(["ab"])), d(list(["a", "b"])));
        assert_ne!(d(Dynamic::UNIT), d(text("")));
        assert_ne!(d(Dynamic::from(1_i64)), d(text("1")));
        assert_eq!(d(list(["a"])), d(list(["a"])));
        let a: Map = [("Identity".into(), text("x")), ("Topic".into(), text("t"))].into_iter().collect();
        let mut b = a.clone();
        b.insert("Topic".into(), text("u"));
        b.insert("Extra".into(), text("e"));
        assert_eq!(differing(&a, &b, &["Identity", "Topic", "Extra"]), ["Topic", "Extra"]);
        assert_eq!(differing(&a, &b, &["Identity", "Topic"]), ["Topic"]);
    }
}
