//! How an audit record is stored. A grant to 100,000 users writes 100,000 records, so each is kept
//! compact, while its canonical text (what its hash covers, see `audit::canonical_parts`) is
//! rebuilt from the row byte for byte:
//!
//! * the time as milliseconds since the Unix epoch (INTEGER) when it has the records' form, else
//!   its text;
//! * the parameters without their `Identity` member when it names the record's target (an object
//!   piped in, or the target given as it is canonically spelt): `packing >> 1` is its place + 1;
//! * `after` as the array of its values when its names are `before`'s, in the same order (every
//!   Set and Grant; `packing & 1`): the changed properties' names are stored once;
//! * the hash as its 32 bytes (the chain's head too).
//!
//! A form is used only when it rebuilds the text exactly (checked as the record is packed);
//! anything else is stored as written, with its bit clear.

/// What is stored for a record's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At<'a> {
    Millis(i64),
    Text(&'a str),
}

/// A record's columns as stored, their text in one buffer (one allocation per record: a
/// pipeline keeps a few hundred of them waiting, see `audit::Waiting`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packed {
    /// The time in milliseconds; None: its text is the first column of `text`.
    millis: Option<i64>,
    /// Time (when text), actor, cmdlet, target, parameters, before, after, source, one after the
    /// other; `ends[i]` is where column i ends.
    text: String,
    ends: [usize; 8],
    /// Whether `before` and `after` are given (an empty text differs from none).
    before: bool,
    after: bool,
    pub packing: i64,
}

impl Packed {
    fn column(&self, i: usize) -> &str {
        &self.text[if i == 0 { 0 } else { self.ends[i - 1] }..self.ends[i]]
    }

    pub fn at(&self) -> At<'_> {
        match self.millis {
            Some(ms) => At::Millis(ms),
            None => At::Text(self.column(0)),
        }
    }

    pub fn actor(&self) -> &str {
        self.column(1)
    }

    pub fn cmdlet(&self) -> &str {
        self.column(2)
    }

    pub fn target(&self) -> &str {
        self.column(3)
    }

    pub fn parameters(&self) -> &str {
        self.column(4)
    }

    pub fn before(&self) -> Option<&str> {
        self.before.then(|| self.column(5))
    }

    pub fn after(&self) -> Option<&str> {
        self.after.then(|| self.column(6))
    }

    pub fn source(&self) -> &str {
        self.column(7)
    }

    /// Whether the two have their time in milliseconds and differ in their time, target and
    /// parameters at most (the records of one pipeline usually do: each item's parameters name
    /// the object piped).
    pub fn same_but_time_target_and_parameters(&self, other: &Packed) -> bool {
        self.millis.is_some()
            && other.millis.is_some()
            && (self.before, self.after, self.packing) == (other.before, other.after, other.packing)
            && [1, 2, 5, 6, 7].into_iter().all(|i| self.column(i) == other.column(i))
    }
}

/// `packing` bit: `after` holds its values only.
pub const AFTER_VALUES: i64 = 1;

/// The record's fields as written (and hashed).
pub use super::audit::NewRecord as Fields;

/// The stored form of a record. Written once per changed object (100,000 times by one
/// pipeline), so the common cases take the short way: a time `time_millis` accepts spells back
/// exactly, an `after` split as `after_values` splits it rebuilds exactly (see there), and only
/// an `Identity` that names the target is checked by rebuilding.
#[cfg(test)]
pub fn pack(f: &Fields<'_>) -> Packed {
    pack_with(f, &mut Memo::default())
}

/// The last `before` and `after` split by `pack_with`, and `after`'s values (None: not of
/// `before`'s names): a pipeline's records mostly repeat them (every grant of one policy).
#[derive(Debug, Default)]
pub struct Memo {
    before: String,
    after: String,
    values: Option<String>,
}

/// `pack`, remembering the last split of `after` in `memo`.
pub fn pack_with(f: &Fields<'_>, memo: &mut Memo) -> Packed {
    let millis = time_millis(f.time);
    debug_assert!(!matches!(millis, Some(ms) if time_text(ms) != f.time));
    let size = [Some(f.actor), Some(f.cmdlet), Some(f.target), Some(f.parameters), f.before, f.after, Some(f.source)]
        .iter()
        .map(|t| t.map_or(0, str::len))
        .sum::<usize>()
        + if millis.is_none() { f.time.len() } else { 0 };
    let mut text = String::with_capacity(size);
    let mut ends = [0; 8];
    if millis.is_none() {
        text.push_str(f.time);
    }
    ends[0] = text.len();
    for (i, column) in [f.actor, f.cmdlet, f.target].into_iter().enumerate() {
        text.push_str(column);
        ends[i + 1] = text.len();
    }
    let mut packing = 0;
    match names_target(f.parameters, f.target).then(|| without_identity(f.parameters, f.target)) {
        Some(Some((rest, place))) if with_identity(&rest, f.target, place).as_deref() == Some(f.parameters) => {
            packing |= (place as i64 + 1) << 1;
            text.push_str(&rest);
        }
        _ => text.push_str(f.parameters),
    }
    ends[4] = text.len();
    text.push_str(f.before.unwrap_or_default());
    ends[5] = text.len();
    match (f.before, f.after) {
        (Some(before), Some(after)) => {
            if memo.before != before || memo.after != after {
                let mut values = String::with_capacity(after.len());
                let split = after_values(before, after, &mut values);
                *memo = Memo { before: before.to_string(), after: after.to_string(), values: split.then_some(values) };
            }
            match &memo.values {
                Some(values) => {
                    debug_assert_eq!(after_object(before, values).as_deref(), Some(after));
                    packing |= AFTER_VALUES;
                    text.push_str(values);
                }
                None => text.push_str(after),
            }
        }
        (_, after) => text.push_str(after.unwrap_or_default()),
    }
    ends[6] = text.len();
    text.push_str(f.source);
    ends[7] = text.len();
    Packed { millis, text, ends, before: f.before.is_some(), after: f.after.is_some(), packing }
}

/// The parameters as given, from their stored form; `Err(stored)` when the stored form does not
/// fit `packing` (someone edited the row).
pub fn parameters(stored: String, target: &str, packing: i64) -> Result<String, String> {
    let rebuilt = match packing >> 1 {
        0 => return Ok(stored),
        n if n > 0 => with_identity(&stored, target, (n - 1) as usize),
        _ => None,
    };
    rebuilt.ok_or(stored)
}

/// `after` as written, from its stored form; `Err(stored)` when the stored form does not fit
/// `packing`.
pub fn after(before: Option<&str>, stored: Option<String>, packing: i64) -> Result<Option<String>, Option<String>> {
    if packing & AFTER_VALUES == 0 {
        return Ok(stored);
    }
    match (before, &stored) {
        (Some(before), Some(values)) => after_object(before, values).map(Some).ok_or(stored),
        _ => Err(stored),
    }
}

/// The top-level items of a compact JSON object or array as written (`{a,b}` gives `a` and `b`);
/// None when `text` is not one.
fn items(text: &str, open: u8, close: u8) -> Option<Vec<&str>> {
    let mut items = Items::of(text, open, close)?;
    let out: Vec<&str> = items.by_ref().collect();
    items.whole().then_some(out)
}

/// `items` one at a time, without collecting them; `whole` tells, once they are all taken,
/// whether the text was one object or array.
struct Items<'a> {
    inner: &'a str,
    at: usize,
    done: bool,
    bad: bool,
}

impl<'a> Items<'a> {
    fn of(text: &'a str, open: u8, close: u8) -> Option<Items<'a>> {
        let bytes = text.as_bytes();
        if bytes.len() < 2 || bytes[0] != open || bytes[bytes.len() - 1] != close {
            return None;
        }
        let inner = &text[1..text.len() - 1];
        Some(Items { inner, at: 0, done: inner.is_empty(), bad: false })
    }

    fn whole(&self) -> bool {
        self.done && !self.bad
    }
}

impl<'a> Iterator for Items<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        if self.done {
            return None;
        }
        let bytes = self.inner.as_bytes();
        let (mut depth, mut in_string, mut escaped) = (0_i32, false, false);
        // Splitting at ASCII delimiters keeps every piece on character boundaries.
        for (i, &c) in bytes.iter().enumerate().skip(self.at) {
            if in_string {
                if escaped {
                    escaped = false;
                } else if c == b'\\' {
                    escaped = true;
                } else if c == b'"' {
                    in_string = false;
                }
                continue;
            }
            match c {
                b'"' => in_string = true,
                b'{' | b'[' => depth += 1,
                b'}' | b']' => {
                    depth -= 1;
                    if depth < 0 {
                        (self.done, self.bad) = (true, true);
                        return None;
                    }
                }
                b',' if depth == 0 => {
                    let item = &self.inner[self.at..i];
                    self.at = i + 1;
                    return Some(item);
                }
                _ => {}
            }
        }
        self.done = true;
        if in_string || depth != 0 {
            self.bad = true;
            return None;
        }
        Some(&self.inner[self.at..])
    }
}

/// An object member split at its colon: (name as written, quotes included; value).
fn member(item: &str) -> Option<(&str, &str)> {
    let bytes = item.as_bytes();
    if bytes.first() != Some(&b'"') {
        return None;
    }
    let mut escaped = false;
    for (i, &c) in bytes.iter().enumerate().skip(1) {
        if escaped {
            escaped = false;
        } else if c == b'\\' {
            escaped = true;
        } else if c == b'"' {
            return (bytes.get(i + 1) == Some(&b':')).then(|| (&item[..=i], &item[i + 2..]));
        }
    }
    None
}

fn join(open: char, parts: &[&str], close: char) -> String {
    let mut out = String::with_capacity(2 + parts.iter().map(|p| p.len() + 1).sum::<usize>());
    out.push(open);
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(p);
    }
    out.push(close);
    out
}

/// Whether the parameters may hold `"Identity":"<target>"` (a quick test: a piped user is
/// named by its DN, its record by its SIP address, and most calls give no Identity at all).
fn names_target(parameters: &str, target: &str) -> bool {
    const NAME: &[u8] = b"\"Identity\":";
    // Names start at a quote: fewer steps than a substring search set up for every record.
    let bytes = parameters.as_bytes();
    let Some(at) = (0..bytes.len()).find(|&i| bytes[i] == b'"' && bytes[i..].starts_with(NAME)) else {
        return false;
    };
    let value = &parameters[at + NAME.len()..];
    let plain = !target.bytes().any(|c| c == b'"' || c == b'\\' || c < 0x20);
    // A target that JSON spells with escapes is checked in full.
    !plain || (value.strip_prefix('"').is_some_and(|v| v.starts_with(target) && v[target.len()..].starts_with('"')))
}

/// `"Identity":"<target>"`, as the parameters spell it.
fn identity_member(target: &str) -> Option<String> {
    if target.bytes().any(|c| c == b'"' || c == b'\\' || c < 0x20) {
        return Some(format!("\"Identity\":{}", serde_json::to_string(target).ok()?));
    }
    // Nothing to escape (every user's SIP address): spelt without the serializer, as a
    // verification spells a million of them.
    let mut out = String::with_capacity(target.len() + 13);
    out.push_str("\"Identity\":\"");
    out.push_str(target);
    out.push('"');
    Some(out)
}

fn without_identity(parameters: &str, target: &str) -> Option<(String, usize)> {
    let mut members = items(parameters, b'{', b'}')?;
    let wanted = identity_member(target)?;
    let place = members.iter().position(|m| *m == wanted)?;
    members.remove(place);
    Some((join('{', &members, '}'), place))
}

fn with_identity(rest: &str, target: &str, place: usize) -> Option<String> {
    if place == 0 && rest.len() >= 2 && rest.starts_with('{') && rest.ends_with('}') {
        // First (a piped object's identity usually is): the same text as inserting it among the
        // split members, without splitting them.
        let wanted = identity_member(target)?;
        let mut out = String::with_capacity(rest.len() + wanted.len() + 1);
        out.push('{');
        out.push_str(&wanted);
        if rest.len() > 2 {
            out.push(',');
        }
        out.push_str(&rest[1..]);
        return Some(out);
    }
    let mut members = items(rest, b'{', b'}')?;
    if place > members.len() {
        return None;
    }
    let wanted = identity_member(target)?;
    members.insert(place, &wanted);
    Some(join('{', &members, '}'))
}

/// `after`'s values, when its names are `before`'s in the same order, appended to `out` (false,
/// and `out` partly written, when they are not). `after_object` rebuilds `after` from them
/// exactly: `items` splits at every top-level comma, `member` at the colon right after the name,
/// and no value is empty, so the values split back as they were.
fn after_values(before: &str, after: &str, out: &mut String) -> bool {
    let (Some(mut names), Some(mut members)) = (Items::of(before, b'{', b'}'), Items::of(after, b'{', b'}')) else {
        return false;
    };
    out.push('[');
    let mut first = true;
    loop {
        match (names.next(), members.next()) {
            (None, None) => break,
            (Some(b), Some(a)) => {
                let (Some((name, _)), Some((same, value))) = (member(b), member(a)) else { return false };
                if name != same || value.is_empty() {
                    return false;
                }
                if !first {
                    out.push(',');
                }
                first = false;
                out.push_str(value);
            }
            _ => return false,
        }
    }
    out.push(']');
    names.whole() && members.whole()
}

/// The `after` object of `before`'s names and these values.
fn after_object(before: &str, values: &str) -> Option<String> {
    let names = items(before, b'{', b'}')?;
    let values = items(values, b'[', b']')?;
    if names.len() != values.len() {
        return None;
    }
    let mut out = String::with_capacity(before.len() + values.iter().map(|v| v.len()).sum::<usize>());
    out.push('{');
    for (i, (b, v)) in names.iter().zip(&values).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(member(b)?.0);
        out.push(':');
        out.push_str(v);
    }
    out.push('}');
    Some(out)
}

/// Milliseconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SS.mmmZ` (the records' form, a date
/// that exists); None for other text.
pub fn time_millis(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 24 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'.'
    {
        return None;
    }
    if b[23] != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| {
        b[from..to].iter().try_fold(0_i64, |n, c| c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0')))
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, s, ms) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
    // Every field in range, so that `time_text` spells the result back as this very text.
    let leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let month_days = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if !(1..=12).contains(&mo) || d < 1 || d > month_days[(mo - 1) as usize] || h > 23 || mi > 59 || s > 59 {
        return None;
    }
    Some((((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * 60 + s) * 1000 + ms)
}

/// The records' spelling of a time in milliseconds since the Unix epoch (what chrono's RFC 3339
/// with milliseconds and `Z` gives, without its formatting machinery: a verification spells a
/// million of them).
pub fn time_text(ms: i64) -> String {
    let (days, rest) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000));
    let (y, mo, d) = civil_from_days(days);
    if !(0..=9999).contains(&y) {
        return format!("{y}-{mo:02}-{d:02}+{rest}ms");
    }
    let fields = [
        (y, 4, b'-'),
        (mo, 2, b'-'),
        (d, 2, b'T'),
        (rest / 3_600_000, 2, b':'),
        (rest / 60_000 % 60, 2, b':'),
        (rest / 1000 % 60, 2, b'.'),
        (rest % 1000, 3, b'Z'),
    ];
    let mut out = Vec::with_capacity(24);
    for (value, width, then) in fields {
        for i in (0..width).rev() {
            out.push(b'0' + (value / 10_i64.pow(i) % 10) as u8);
        }
        out.push(then);
    }
    // Only ASCII digits and separators were written.
    String::from_utf8(out).unwrap_or_default()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date `days` after 1970-01-01 (H. Hinnant's `civil_from_days`).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields<'a>(parameters: &'a str, before: Option<&'a str>, after: Option<&'a str>) -> Fields<'a> {
        Fields {
            time: "2026-12-03T23:08:42.293Z",
            actor: "contoso\\annb",
            cmdlet: "Set-CsPersistentChatRoom",
            target: "pc01.contoso.com\\Room \"1\"",
            parameters,
            before,
            after,
            source: "-c",
        }
    }

    fn unpacked(p: &Packed) -> (String, Option<String>) {
        let params = parameters(p.parameters().to_string(), p.target(), p.packing).unwrap();
        let after = after(p.before(), p.after().map(str::to_string), p.packing).unwrap();
        (params, after)
    }

    /// Times spell as chrono spells them, across leap years, centuries and the epoch.
    #[test]
    fn times_round_trip_as_chrono_spells_them() {
        let mut ms = -62_135_596_800_000_i64; // 0001-01-01
        while ms < 253_402_300_799_000 {
            let at = chrono::DateTime::from_timestamp_millis(ms).unwrap();
            let text = at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            assert_eq!(time_text(ms), text);
            assert_eq!(time_millis(&text), Some(ms), "{text}");
            ms += 86_399_917 * 7 + 13;
        }
        let odd = [
            "2026-12-03T23:08:42Z",
            "2026-13-03T23:08:42.293Z",
            "2026-12-03 23:08:42.293Z",
            "",
            "2100-02-29T00:00:00.000Z",
        ];
        for odd in odd {
            assert_eq!(time_millis(odd), None, "{odd}");
        }
        // A day that does not exist is not spelt back the same, so it is stored as text.
        let p = pack(&Fields { time: "2026-02-30T00:00:00.000Z", ..fields("{}", None, None) });
        assert_eq!(p.at(), At::Text("2026-02-30T00:00:00.000Z"));
    }

    #[test]
    fn packed_fields_rebuild_the_text_written() {
        let target = serde_json::to_string("pc01.contoso.com\\Room \"1\"").unwrap();
        let cases: Vec<(String, Option<&str>, Option<&str>, i64)> = vec![
            (
                format!(r#"{{"Identity":{target},"Description":"a,b}}{{[\"x"}}"#),
                Some(r#"{"Description":"o:ld","Members":["a","b"]}"#),
                Some(r#"{"Description":"n,ew","Members":[]}"#),
                0b11,
            ),
            (format!(r#"{{"PolicyName":"x","Identity":{target}}}"#), Some("{}"), Some("{}"), 0b101),
            (format!(r#"{{"Identity":{target}}}"#), None, None, 0b10),
            (r#"{"Identity":"CN=Other","Name":"x"}"#.into(), Some(r#"{"A":1}"#), Some(r#"{"B":1}"#), 0),
            (r#"{"Identity":"x"}"#.into(), Some(r#"{"A":1}"#), Some(r#"{"A":1,"B":2}"#), 0),
            ("not json".into(), Some("not json"), Some("[1]"), 0),
            ("{}".into(), Some(r#"{"A":null}"#), None, 0),
        ];
        for (params, before, after, packing) in cases {
            let p = pack(&fields(&params, before, after));
            assert_eq!(p.packing, packing, "{params} {before:?} {after:?}");
            assert_eq!(p.at(), At::Millis(1_796_339_322_293));
            assert_eq!(unpacked(&p), (params.clone(), after.map(str::to_string)));
            if packing & 0b10 != 0 {
                assert!(!p.parameters().contains("Identity"), "{}", p.parameters());
            }
        }
        let p = pack(&fields("{}", Some(r#"{"PersistentChatPolicy":null}"#), Some(r#"{"PersistentChatPolicy":"x"}"#)));
        assert_eq!(p.after(), Some(r#"["x"]"#));
        // A target spelt without escapes takes the quick test; only a top-level Identity of exactly
        // the target is left out.
        for (params, packing) in [
            (r#"{"Identity":"sip:a@x","PolicyName":"p"}"#, 0b10),
            (r#"{"Identity":"sip:a@x.org","PolicyName":"p"}"#, 0),
            (r#"{"Other":{"Identity":"sip:a@x"},"Identity":"sip:a@x"}"#, 0b100),
            (r#"{"Identity":"CN=A","Other":"sip:a@x"}"#, 0),
        ] {
            let p = pack(&Fields { target: "sip:a@x", ..fields(params, None, None) });
            assert_eq!(p.packing, packing, "{params}");
            assert_eq!(parameters(p.parameters().to_string(), "sip:a@x", p.packing).as_deref(), Ok(params));
        }
    }

    /// Packing with a memo of the last split gives what packing afresh gives, repeated or not.
    #[test]
    fn a_remembered_split_packs_as_a_fresh_one() {
        let mut memo = Memo::default();
        let cases = [
            (Some(r#"{"A":null}"#), Some(r#"{"A":"x"}"#)),
            (Some(r#"{"A":null}"#), Some(r#"{"A":"x"}"#)),
            (Some(r#"{"A":null}"#), Some(r#"{"B":"x"}"#)),
            (Some(r#"{"A":null}"#), Some(r#"{"B":"x"}"#)),
            (Some(r#"{"A":1,"B":2}"#), Some(r#"{"A":3,"B":[4,5]}"#)),
            (None, Some(r#"{"A":"x"}"#)),
            (Some(r#"{"A":null}"#), None),
            (Some(r#"{"A":null}"#), Some(r#"{"A":"x"}"#)),
        ];
        for (before, after) in cases {
            let f = fields(r#"{"PolicyName":"p"}"#, before, after);
            assert_eq!(pack_with(&f, &mut memo), pack(&f), "{before:?} {after:?}");
        }
    }

    /// A stored form that does not fit its packing is not silently taken for the record.
    #[test]
    fn stored_forms_that_do_not_fit_are_refused() {
        assert_eq!(parameters("{}".into(), "t", 0b100), Err("{}".into()));
        assert_eq!(parameters("x".into(), "t", 0b10), Err("x".into()));
        assert_eq!(parameters("{}".into(), "t", -2), Err("{}".into()));
        assert_eq!(after(Some(r#"{"A":1}"#), Some("[1,2]".into()), 1), Err(Some("[1,2]".into())));
        assert_eq!(after(None, Some("[1]".into()), 1), Err(Some("[1]".into())));
        assert_eq!(after(Some(r#"{"A":1}"#), Some(r#"{"A":2}"#.into()), 1), Err(Some(r#"{"A":2}"#.into())));
    }
}
