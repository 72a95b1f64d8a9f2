//! Text helpers every floor uses: Unicode-safe prefix tests, "did you mean" suggestions, control
//! characters (found on input, escaped on output).
//!
//! Strings reach pchat from administrators, directory files and archives, so no helper here may
//! assume ASCII: prefixes are compared with `str::get`, never by slicing at a byte offset that may
//! fall inside a character.

use std::borrow::Cow;

/// `s` without an ASCII `prefix` compared case-insensitively (`SIP:x` → `x`), or `None`.
pub fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    match s.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => s.get(prefix.len()..),
        _ => None,
    }
}

/// Does `s` start with `prefix`, ignoring ASCII case?
pub fn starts_with_ci(s: &str, prefix: &str) -> bool {
    strip_prefix_ci(s, prefix).is_some()
}

/// Lower-case and drop `_` and `-` so `pool_state`, `PoolState` and `poolstate` compare equal.
pub fn normalize_name(name: &str) -> String {
    normalized_chars(name).collect()
}

fn normalized_chars(name: &str) -> impl Iterator<Item = char> + '_ {
    name.chars().filter(|c| *c != '_' && *c != '-').flat_map(|c| c.to_lowercase())
}

/// `normalize_name(name) == normalized`, without building the string: every named argument of
/// every call is matched against the cmdlet's parameter names this way.
pub fn name_matches(name: &str, normalized: &str) -> bool {
    normalized_chars(name).eq(normalized.chars())
}

/// The closest candidate within a small edit distance, for "did you mean".
pub fn suggest<'a>(given: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let g = normalize_name(given);
    candidates
        .map(|c| (strsim::damerau_levenshtein(&g, &normalize_name(c)), c))
        // One edit in a short name, up to three in a long one: "zzz" is nobody's typo of "Url".
        .filter(|(d, c)| *d <= (c.chars().count() / 3).clamp(1, 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// "; did you mean 'X'?" when a candidate is close, else "; valid names: A, B, C" (`what` names
/// the kind of thing listed: "properties", "names").
pub fn did_you_mean(given: &str, candidates: &[&str], what: &str) -> String {
    match suggest(given, candidates.iter().copied()) {
        Some(c) => format!("; did you mean '{c}'?"),
        None if candidates.is_empty() => String::new(),
        None => format!("; valid {what}: {}", candidates.join(", ")),
    }
}

/// A control character: C0 (NUL..US), DEL and C1 (U+0080..U+009F). These move the cursor, clear
/// the screen or end a string early on whatever displays or stores them.
pub fn is_control(c: char) -> bool {
    c.is_control()
}

/// The first control character of `s` not in `allowed`, with its 1-based character position.
pub fn find_control(s: &str, allowed: &[char]) -> Option<(usize, char)> {
    s.chars().enumerate().find(|(_, c)| is_control(*c) && !allowed.contains(c)).map(|(i, c)| (i + 1, c))
}

/// How a control character is written when shown: `\e`, `\0`, `\t`, `\n`, `\r`, else `\u{..}`.
pub fn escape_char(c: char) -> String {
    match c {
        '\u{1b}' => "\\e".into(),
        '\0' => "\\0".into(),
        '\t' => "\\t".into(),
        '\n' => "\\n".into(),
        '\r' => "\\r".into(),
        c => format!("\\u{{{:x}}}", c as u32),
    }
}

/// A bidirectional embedding, override or isolate (U+202A..U+202E, U+2066..U+2069): it reorders
/// whatever follows it on the screen, so `Evil<U+202E>gnp.exe` reads `Evilexe.png`. Right-to-left
/// text needs none of them to show correctly (the marks U+200E, U+200F are not among them).
pub fn is_bidi_override(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `s` with every control character except those in `keep`, and every bidirectional override,
/// written out (`\e[2J`, `\u{202e}`), so printing it can never drive the terminal nor disguise
/// what it shows. Borrowed when there is nothing to escape (the common case).
pub fn escape_controls<'a>(s: &'a str, keep: &[char]) -> Cow<'a, str> {
    let shown_as_is = |c: char| !(is_control(c) && !keep.contains(&c) || is_bidi_override(c));
    if s.chars().all(shown_as_is) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if !shown_as_is(c) {
            out.push_str(&escape_char(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Escape for one line of terminal output: every control character, newlines included.
pub fn escape_line(s: &str) -> Cow<'_, str> {
    escape_controls(s, &[])
}

/// Escape for a block of terminal output: line breaks and tabs stay, the rest is written out.
pub fn escape_block(s: &str) -> Cow<'_, str> {
    escape_controls(s, &['\n', '\t'])
}

/// At most `max` characters of `s` (never cutting a character), with `…` when shortened: for
/// quoting hostile input in an error message without repeating megabytes of it.
pub fn clip(s: &str, max: usize) -> Cow<'_, str> {
    match s.char_indices().nth(max) {
        None => Cow::Borrowed(s),
        Some((at, _)) => Cow::Owned(format!("{}…", &s[..at])),
    }
}

/// The digits of an integer with a comma every three: "1234567" → "1,234,567".
pub fn group_thousands(digits: &str) -> String {
    let n = digits.chars().count();
    let mut out = String::new();
    for (k, c) in digits.chars().enumerate() {
        if k > 0 && (n - k).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_matches_exactly_what_it_normalizes_to() {
        for (name, given) in [
            ("PersistentChatPoolFqdn", "persistent_chat_pool_fqdn"),
            ("PoolState", "pool-STATE"),
            ("Ä_b", "äB"),
            ("X", "x_"),
            ("Members", "Member"),
            ("İ", "i"),
        ] {
            assert_eq!(
                name_matches(name, &normalize_name(given)),
                normalize_name(name) == normalize_name(given),
                "{name} {given}"
            );
        }
        assert!(name_matches("PoolState", "poolstate") && !name_matches("PoolState", "poolstat"));
    }

    #[test]
    fn prefixes_never_cut_a_character() {
        assert_eq!(strip_prefix_ci("SIP:ann@x", "sip:"), Some("ann@x"));
        assert_eq!(strip_prefix_ci("Renée Dubois", "sip:"), None);
        assert_eq!(strip_prefix_ci("sié", "sip:"), None);
        assert_eq!(strip_prefix_ci("Persistént", "PersistentChatServer:"), None);
        assert_eq!(strip_prefix_ci("", "sip:"), None);
        assert_eq!(strip_prefix_ci("é", ""), Some("é"));
        assert!(starts_with_ci("HTTPS://x", "https://"));
        for s in ["😀😀", "\u{301}e", "é", "ééé", "\0\0\0\0\0"] {
            for p in ["sip:", "s", "https://", ""] {
                let _ = strip_prefix_ci(s, p);
            }
        }
    }

    #[test]
    fn suggestions_and_lists() {
        let names = ["Disabled", "Description", "Name"];
        assert_eq!(did_you_mean("Disabld", &names, "properties"), "; did you mean 'Disabled'?");
        assert_eq!(did_you_mean("Zzzzzzzzzz", &names, "properties"), "; valid properties: Disabled, Description, Name");
        assert_eq!(suggest("nmae", names.iter().copied()), Some("Name"));
        assert_eq!(suggest("😀😀😀😀😀😀😀😀😀😀😀😀😀", names.iter().copied()), None);
    }

    #[test]
    fn controls_are_found_and_escaped() {
        assert_eq!(find_control("ab\u{1b}[2J", &[]), Some((3, '\u{1b}')));
        assert_eq!(find_control("é\té", &['\t']), None);
        assert_eq!(find_control("é\u{85}", &[]), Some((2, '\u{85}')));
        assert_eq!(find_control("a\u{7f}", &[]), Some((2, '\u{7f}')));
        assert_eq!(escape_line("x\u{1b}[2J\0\u{9b}\n"), "x\\e[2J\\0\\u{9b}\\n");
        assert_eq!(escape_block("a\nb\u{1b}"), "a\nb\\e");
        assert!(matches!(escape_line("Renée 😀"), Cow::Borrowed(_)));
        assert_eq!(escape_block("a\u{202e}b\u{2069}\u{200f}"), "a\\u{202e}b\\u{2069}\u{200f}");
        assert_eq!(find_control("a\u{202e}", &[]), None, "shown written out, not refused");
        assert_eq!(clip("ééé", 2), "éé…");
        assert_eq!(clip("éé", 2), "éé");
    }
}
