//! SIP address syntax: one rule for every place a SIP address is made (the directory file's
//! `SipAddress`, New-CsPersistentChatEndpoint's `-SipAddress`). Parameters that name an existing
//! principal (room members, `-UserUri`) look the address up instead.

use super::dns::is_fqdn;
use super::text::strip_prefix_ci;

/// What a SIP user part may hold besides letters and digits of any script: RFC 3261's unreserved
/// and user-unreserved marks, and `%` of an escape.
const USER_MARKS: &str = "-_.!~*'()&=+$,;?/%";

/// How the rule reads in an error.
pub const FORM: &str =
    "sip:user@domain (the user part letters and digits of any script and -_.!~*'()&=+$,;?/%; the domain a DNS name)";

/// The user and domain parts of `sip:user@domain` (the prefix in any letter case), or None when
/// `sip` does not have that form.
pub fn parts(sip: &str) -> Option<(&str, &str)> {
    let (user, domain) = strip_prefix_ci(sip, "sip:")?.split_once('@')?;
    let user_ok = !user.is_empty() && user.chars().all(|c| c.is_alphanumeric() || USER_MARKS.contains(c));
    (user_ok && is_fqdn(domain)).then_some((user, domain))
}

#[cfg(test)]
mod tests {
    use super::parts;

    #[test]
    fn letters_of_any_script_and_the_rfc_marks_pass() {
        assert_eq!(parts("sip:jörg.müller@contoso.com"), Some(("jörg.müller", "contoso.com")));
        assert_eq!(parts("SIP:o'brien+chat@contoso.com"), Some(("o'brien+chat", "contoso.com")));
        assert_eq!(parts("sip:张伟@contoso.com"), Some(("张伟", "contoso.com")));
        for bad in [
            "jörg@contoso.com",
            "sip:@contoso.com",
            "sip:a b@contoso.com",
            "sip:a@b@contoso.com",
            "sip:a@",
            "sip:a@bad_domain.com",
            "sip:a<b@contoso.com",
        ] {
            assert_eq!(parts(bad), None, "{bad}");
        }
    }
}
