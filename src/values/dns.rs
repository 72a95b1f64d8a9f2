//! DNS name syntax, for FQDN-valued parameters and the hosts of URLs.

/// A DNS name: labels of letters, digits and hyphens separated by dots.
pub fn is_fqdn(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}
