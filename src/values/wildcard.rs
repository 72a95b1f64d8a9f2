//! PowerShell wildcard patterns (`-like`, `-Filter "site:*"`): `*`, `?`, `[abc]`, `[a-c]`, backtick escapes.
//! Matching is case-insensitive and anchored at both ends, like PowerShell's `WildcardPattern`.

/// Simple (one-to-one) case fold; multi-char lowercase mappings keep the original character so that
/// pattern and text positions stay aligned.
#[inline]
pub(crate) fn fold(c: char) -> char {
    if c.is_ascii() {
        return c.to_ascii_lowercase();
    }
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    One,
    Star,
    /// Index into `Wildcard::sets`.
    Set(usize),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wildcard {
    pattern: String,
    toks: Vec<Tok>,
    /// Inclusive folded ranges; a single character `x` is `(x, x)`.
    sets: Vec<Vec<(char, char)>>,
    /// Cheap pre-check: the text must be at least this many characters long.
    min_len: usize,
}

const META: [char; 4] = ['*', '?', '[', ']'];

/// True when `s` contains an unescaped `*`, `?` or `[`, i.e. it is a pattern rather than a literal name.
pub fn has_wildcards(s: &str) -> bool {
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '`' => {
                chars.next();
            }
            '*' | '?' | '[' => return true,
            _ => {}
        }
    }
    false
}

/// Escapes every wildcard metacharacter so that `s` matches only itself.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if META.contains(&c) || c == '`' {
            out.push('`');
        }
        out.push(c);
    }
    out
}

impl Wildcard {
    pub fn new(pattern: &str) -> Result<Wildcard, String> {
        let mut toks = Vec::new();
        let mut sets = Vec::new();
        let mut chars = pattern.chars().peekable();
        while let Some(c) = chars.next() {
            match c {
                '*' => {
                    // Collapsing runs of stars keeps the matcher's backtracking linear per star.
                    if toks.last() != Some(&Tok::Star) {
                        toks.push(Tok::Star);
                    }
                }
                '?' => toks.push(Tok::One),
                // A trailing backtick escapes nothing and stands for itself (as in PowerShell).
                '`' => toks.push(Tok::Lit(fold(chars.next().unwrap_or('`')))),
                '[' => {
                    let mut members: Vec<char> = Vec::new();
                    // Which members were escaped: an escaped '-' is never a range operator.
                    let mut escaped: Vec<bool> = Vec::new();
                    let mut closed = false;
                    while let Some(m) = chars.next() {
                        match m {
                            ']' => {
                                closed = true;
                                break;
                            }
                            '`' => match chars.next() {
                                Some(e) => {
                                    members.push(e);
                                    escaped.push(true);
                                }
                                None => break,
                            },
                            _ => {
                                members.push(m);
                                escaped.push(false);
                            }
                        }
                    }
                    if !closed {
                        return Err(format!(
                            "the wildcard pattern '{pattern}' is not valid: '[' has no matching ']' \
                             (write `[ to match a literal '[')"
                        ));
                    }
                    if members.is_empty() {
                        return Err(format!("the wildcard pattern '{pattern}' is not valid: empty character set '[]'"));
                    }
                    let mut ranges = Vec::new();
                    let mut i = 0;
                    while i < members.len() {
                        let lo = members[i];
                        let is_range = i + 2 < members.len() && members[i + 1] == '-' && !escaped[i + 1];
                        if is_range {
                            let hi = members[i + 2];
                            let (flo, fhi) = (fold(lo), fold(hi));
                            if flo > fhi {
                                return Err(format!(
                                    "the wildcard pattern '{pattern}' is not valid: range '{lo}-{hi}' is reversed"
                                ));
                            }
                            ranges.push((flo, fhi));
                            i += 3;
                        } else {
                            ranges.push((fold(lo), fold(lo)));
                            i += 1;
                        }
                    }
                    sets.push(ranges);
                    toks.push(Tok::Set(sets.len() - 1));
                }
                _ => toks.push(Tok::Lit(fold(c))),
            }
        }
        let min_len = toks.iter().filter(|t| **t != Tok::Star).count();
        Ok(Wildcard { pattern: pattern.to_string(), toks, sets, min_len })
    }

    pub fn pattern(&self) -> &str {
        &self.pattern
    }

    /// The (folded) literal text every match starts with: the pattern up to its first wildcard.
    pub fn literal_prefix(&self) -> String {
        self.toks.iter().map_while(|t| if let Tok::Lit(c) = t { Some(*c) } else { None }).collect()
    }

    pub fn is_match(&self, text: &str) -> bool {
        if text.is_ascii() {
            let b = text.as_bytes();
            self.run(b.len(), |i| (b[i] as char).to_ascii_lowercase())
        } else {
            let chars: Vec<char> = text.chars().map(fold).collect();
            self.run(chars.len(), |i| chars[i])
        }
    }

    #[inline]
    fn tok_matches(&self, tok: &Tok, c: char) -> bool {
        match tok {
            Tok::Lit(l) => *l == c,
            Tok::One => true,
            Tok::Set(i) => self.sets[*i].iter().any(|&(lo, hi)| lo <= c && c <= hi),
            Tok::Star => false,
        }
    }

    /// Classic star-backtracking glob match: O(len(text) * len(pattern)) worst case, no recursion.
    /// `at(i)` yields the folded i-th character of the text.
    fn run(&self, n: usize, at: impl Fn(usize) -> char) -> bool {
        if n < self.min_len {
            return false;
        }
        let toks = &self.toks;
        let (mut p, mut t) = (0usize, 0usize);
        // Position of the last star seen and the text position it is currently absorbing up to.
        let mut star: Option<(usize, usize)> = None;
        while t < n {
            if p < toks.len() {
                if toks[p] == Tok::Star {
                    star = Some((p, t));
                    p += 1;
                    continue;
                }
                if self.tok_matches(&toks[p], at(t)) {
                    p += 1;
                    t += 1;
                    continue;
                }
            }
            match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            }
        }
        toks[p..].iter().all(|t| *t == Tok::Star)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, t: &str) -> bool {
        Wildcard::new(p).expect("valid pattern").is_match(t)
    }

    #[test]
    fn literals_are_whole_string_and_case_insensitive() {
        assert!(m("Global", "global"));
        assert!(m("SITE:Redmond", "site:redmond"));
        assert!(!m("site", "site:redmond"));
        assert!(!m("redmond", "site:redmond"));
        assert!(m("", ""));
        assert!(!m("", "a"));
        assert!(m("ÄBC", "äbc"));
        assert!(m("Straße", "STRAßE"));
    }

    #[test]
    fn star_and_question() {
        assert!(m("site:*", "Site:Redmond"));
        assert!(m("site:*", "site:"));
        assert!(!m("site:*", "Service:x"));
        assert!(m("*.contoso.com", "pc01.CONTOSO.com"));
        assert!(!m("*.contoso.com", "pc01.contoso.com.au"));
        assert!(m("*Archiving*", "CsArchivingAdministrator"));
        assert!(m("*", ""));
        assert!(m("**", "anything"));
        assert!(m("a*b*c", "aXXbYYc"));
        assert!(m("a*b*c", "abc"));
        assert!(!m("a*b*c", "acb"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(!m("a?c", "abbc"));
        assert!(m("?", "é"));
        assert!(m("*beebe*", "sip:ann.beebe@contoso.com"));
        assert!(m("*a*a*a*a*b", "aaaaaaaaab"));
        assert!(!m("*a*a*a*a*b", "aaaaaaaaaa"));
    }

    #[test]
    fn sets_and_ranges() {
        assert!(m("[abc]x", "Bx"));
        assert!(!m("[abc]x", "dx"));
        assert!(m("pc0[1-3].contoso.com", "PC02.contoso.com"));
        assert!(!m("pc0[1-3].contoso.com", "pc04.contoso.com"));
        assert!(m("[A-C]", "b"));
        assert!(m("[a-]", "-"));
        assert!(m("[-a]", "-"));
        assert!(m("[a`-c]", "-"));
        assert!(!m("[a`-c]", "b"));
        assert!(m("[`]]", "]"));
        assert!(m("[*?]", "*"));
        assert!(!m("[*?]", "x"));
        assert!(m("[a-cx-z]1", "y1"));
    }

    #[test]
    fn escapes() {
        assert!(m("a`*b", "a*b"));
        assert!(!m("a`*b", "aXb"));
        assert!(m("`[x`]", "[x]"));
        assert!(m("a`?", "a?"));
        assert!(!m("a`?", "ab"));
        assert!(m("a``b", "a`b"));
        assert!(m("ab`", "ab`"));
        assert!(m("`a", "A"));
        let lit = "Tag:[x]*?`y";
        assert!(m(&escape(lit), lit));
        assert!(!m(&escape(lit), "Tag:x"));
        assert!(!has_wildcards(&escape(lit)));
    }

    #[test]
    fn errors() {
        let e = Wildcard::new("site:[ab").unwrap_err();
        assert!(e.contains("no matching ']'"), "{e}");
        assert!(e.contains("site:[ab"), "{e}");
        assert!(Wildcard::new("[").is_err());
        assert!(Wildcard::new("[`]").is_err());
        assert!(Wildcard::new("[]").unwrap_err().contains("empty"));
        assert!(Wildcard::new("[z-a]").unwrap_err().contains("reversed"));
        // A stray ']' is an ordinary character.
        assert!(m("a]", "a]"));
    }

    #[test]
    fn has_wildcards_detects_unescaped_meta() {
        assert!(has_wildcards("*"));
        assert!(has_wildcards("a?"));
        assert!(has_wildcards("[ab]"));
        assert!(!has_wildcards("site:Redmond"));
        assert!(!has_wildcards("a`*b`?`["));
        assert!(!has_wildcards("a]"));
        assert!(has_wildcards("``*"));
    }

    #[test]
    fn pattern_is_kept() {
        assert_eq!(Wildcard::new("Site:*").unwrap().pattern(), "Site:*");
    }

    #[test]
    fn pathological_patterns_stay_fast() {
        let text = "a".repeat(5_000);
        let p = Wildcard::new(&format!("{}b", "*a".repeat(50))).unwrap();
        let start = std::time::Instant::now();
        for _ in 0..20 {
            assert!(!p.is_match(&text));
        }
        assert!(start.elapsed().as_secs() < 5);
    }
}
