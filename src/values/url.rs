//! URL syntax checks for URL-valued properties (RoomManagementUrl).

use crate::values::dns::is_fqdn;

/// An absolute `http://` or `https://` URL with a DNS host (or IPv4 address), an optional port and an
/// optional path, query or fragment without whitespace.
pub fn is_http_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    let Some(rest) = lower.strip_prefix("https://").or_else(|| lower.strip_prefix("http://")) else {
        return false;
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (authority, None),
    };
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok_and(|n| n > 0));
    is_fqdn(host) && port_ok && !tail.chars().any(|c| c.is_whitespace() || c.is_control())
}

#[cfg(test)]
mod tests {
    use super::is_http_url;

    #[test]
    fn accepts_absolute_web_urls_only() {
        for ok in ["https://chat.contoso.com/rooms", "http://pc01:8080", "HTTPS://x.contoso.com/a?b=c#d"] {
            assert!(is_http_url(ok), "{ok}");
        }
        for bad in [
            "chat.contoso.com/rooms",
            "ftp://x.com",
            "https://",
            "https://a b.com",
            "https://x.com/a b",
            "https://x.com:99999",
            "https://x.com:",
        ] {
            assert!(!is_http_url(bad), "{bad}");
        }
    }
}
