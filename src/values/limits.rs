//! Size limits and the control-character rule for text that reaches the store, checked on every
//! path (cmdlet parameters, archives, directory and topology files). Documented in docs/limits.md.

use super::text::{clip, escape_char, find_control};

/// Room, category and add-in names, display names, and other single names.
pub const MAX_NAME_CHARS: usize = 256;
/// Descriptions of rooms, categories and policies.
pub const MAX_DESCRIPTION_CHARS: usize = 1024;
/// The text of one chat message.
pub const MAX_MESSAGE_CHARS: usize = 65_536;
/// Filters, LDAP filters and a compliance adapter's custom configuration.
pub const MAX_DOCUMENT_CHARS: usize = 65_536;
/// Any other text value: identities, SIP addresses, paths, URLs, list entries.
pub const MAX_TEXT_CHARS: usize = 4096;

/// The span of sane posting times of a chat message, in microseconds since 1970-01-01 UTC up to
/// the end of 9999: a message from the year -1199 is damaged or forged, and one pchat accepted
/// must survive its own export and import.
pub const EARLIEST_POST_US: i64 = 0;
pub const LATEST_POST_US: i64 = 253_402_300_800_000_000;

/// `Err(reason)` when a posting time lies outside [`EARLIEST_POST_US`, `LATEST_POST_US`).
pub fn check_posted_at(us: i64) -> Result<(), String> {
    if (EARLIEST_POST_US..LATEST_POST_US).contains(&us) {
        return Ok(());
    }
    let when = chrono::DateTime::<chrono::Utc>::from_timestamp_micros(us)
        .map_or_else(|| format!("{us} µs"), |t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string());
    Err(format!("{when} is outside 1970-01-01 to 9999-12-31 (UTC)"))
}

/// The kinds of text, each with its length limit and the control characters it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// One line, no control characters at all.
    Name,
    /// Tab and line breaks allowed.
    Description,
    /// Tab and line breaks allowed.
    Message,
    /// Tab and line breaks allowed (a filter may span lines).
    Document,
    /// One line, no control characters at all.
    Text,
}

/// Tab, line feed and carriage return: the only control characters multi-line text may hold.
const LINE_BREAKS: &[char] = &['\t', '\n', '\r'];

impl Field {
    /// The kind of text a cmdlet parameter holds, by its name.
    pub fn of_param(name: &str) -> Field {
        match name {
            "Name" | "DisplayName" => Field::Name,
            "Description" => Field::Description,
            "Message" | "ReplaceMessage" => Field::Message,
            "Filter" | "LdapFilter" | "LDAPFilter" | "CustomConfiguration" => Field::Document,
            _ => Field::Text,
        }
    }

    pub fn max_chars(self) -> usize {
        match self {
            Field::Name => MAX_NAME_CHARS,
            Field::Description => MAX_DESCRIPTION_CHARS,
            Field::Message => MAX_MESSAGE_CHARS,
            Field::Document => MAX_DOCUMENT_CHARS,
            Field::Text => MAX_TEXT_CHARS,
        }
    }

    fn allowed_controls(self) -> &'static [char] {
        match self {
            Field::Name | Field::Text => &[],
            Field::Description | Field::Message | Field::Document => LINE_BREAKS,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Field::Name => "a name",
            Field::Description => "a description",
            Field::Message => "a message",
            Field::Document => "a filter or configuration text",
            Field::Text => "a text value",
        }
    }
}

/// `Err(reason)` when `value` is too long for the field or holds a control character it may not.
/// The reason quotes at most the start of the value, escaped.
pub fn check(field: Field, value: &str) -> Result<(), String> {
    // Counting stops one past the limit: a hostile 8-million-character name costs no more.
    let max = field.max_chars();
    if value.chars().nth(max).is_some() {
        let total = value.chars().count();
        return Err(format!(
            "{total} characters is too long for {} (at most {max}); the value starts '{}'",
            field.noun(),
            super::text::escape_line(&clip(value, 40))
        ));
    }
    if let Some((at, c)) = find_control(value, field.allowed_controls()) {
        let may =
            if field.allowed_controls().is_empty() { "no control characters" } else { "only tab and line breaks" };
        return Err(format!(
            "control character {} (U+{:04X}) at character {at} of '{}'; {} may hold {may}",
            escape_char(c),
            c as u32,
            super::text::escape_line(&clip(value, 80)),
            field.noun()
        ));
    }
    Ok(())
}

/// Every string and key of a JSON document (a topology) as [`Field::Text`]; the error names the
/// place (`Pools[1].Fqdn`).
pub fn check_json(v: &serde_json::Value, at: &str) -> Result<(), String> {
    match v {
        serde_json::Value::String(s) => check(Field::Text, s).map_err(|e| format!("{at}: {e}")),
        serde_json::Value::Array(items) => {
            items.iter().enumerate().try_for_each(|(i, x)| check_json(x, &format!("{at}[{i}]")))
        }
        serde_json::Value::Object(map) => map.iter().try_for_each(|(k, x)| {
            check(Field::Name, k).map_err(|e| format!("{at}: key: {e}"))?;
            check_json(x, &if at.is_empty() { k.clone() } else { format!("{at}.{k}") })
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_controls_per_field() {
        assert!(check(Field::Name, &"é".repeat(256)).is_ok());
        let e = check(Field::Name, &"é".repeat(5_000_000)).unwrap_err();
        assert!(e.starts_with("5000000 characters is too long for a name (at most 256)"), "{e}");
        let e = check(Field::Name, "ab\u{1b}[2J").unwrap_err();
        assert!(e.starts_with("control character \\e (U+001B) at character 3 of 'ab\\e[2J'"), "{e}");
        assert!(check(Field::Name, "a\tb").is_err());
        assert!(check(Field::Description, "line one\r\nline\ttwo").is_ok());
        assert!(check(Field::Message, "nul\0").is_err());
        assert!(check(Field::Message, "del\u{7f}").is_err());
        assert!(check(Field::Text, "c1\u{85}").is_err());
        assert!(check(Field::Message, &"x".repeat(MAX_MESSAGE_CHARS + 1)).is_err());
        assert_eq!(Field::of_param("ReplaceMessage"), Field::Message);
        assert!(check_posted_at(0).is_ok());
        assert!(check_posted_at(-1).is_err());
        let e = check_posted_at(-99_999_999_999_999_999).unwrap_err();
        assert!(e.starts_with("-1199-02-15T14:13:20Z is outside"), "{e}");
        assert!(check_posted_at(i64::MAX).unwrap_err().contains("µs"));
    }
}
