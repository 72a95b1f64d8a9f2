//! LDAP filters (RFC 4515 subset) evaluated over directory objects, whose LDAP attribute
//! names are mapped to the PascalCase properties of the output objects.

use std::cmp::Ordering;

use rhai::{Dynamic, Map};

use super::expr::{FilterError, cmp_ci, eq_ci, lookup};
use crate::values::wildcard::{Wildcard, escape};

const MAX_DEPTH: usize = 64;

/// LDAP attribute names and the object properties they read (first one present wins).
const MAP: [(&str, &[&str]); 12] = [
    ("objectClass", &["ObjectClass"]),
    ("cn", &["Name"]),
    ("name", &["Name"]),
    ("displayName", &["DisplayName"]),
    ("sAMAccountName", &["SamAccountName"]),
    ("userPrincipalName", &["UserPrincipalName"]),
    // Objects without a DistinguishedName property carry the DN as their Identity.
    ("distinguishedName", &["DistinguishedName", "Identity"]),
    ("dn", &["DistinguishedName", "Identity"]),
    ("msRTCSIP-PrimaryUserAddress", &["SipAddress"]),
    ("mail", &["Mail"]),
    ("l", &["l"]),
    ("department", &["Department"]),
];

/// The LDAP attribute names with a property mapping, for suggestions.
pub const MAPPED_NAMES: [&str; 12] = {
    let mut names = [""; 12];
    let mut i = 0;
    while i < MAP.len() {
        names[i] = MAP[i].0;
        i += 1;
    }
    names
};

/// An attribute as written, with the object properties it reads (first one present wins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub name: String,
    props: &'static [&'static str],
}

impl Attr {
    fn new(name: String) -> Attr {
        let props = MAP.iter().find(|(k, _)| k.eq_ignore_ascii_case(&name)).map_or(&[][..], |(_, p)| *p);
        Attr { name, props }
    }

    /// Whether the name is one of the LDAP names mapped to an object property.
    pub fn is_mapped(&self) -> bool {
        !self.props.is_empty()
    }

    fn value<'a>(&self, obj: &'a Map) -> Option<&'a Dynamic> {
        if self.props.is_empty() { lookup(obj, &self.name) } else { self.props.iter().find_map(|p| lookup(obj, p)) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LdapFilter {
    And(Vec<LdapFilter>),
    Or(Vec<LdapFilter>),
    Not(Box<LdapFilter>),
    /// `attr=*`
    Present(Attr),
    Equal(Attr, String),
    /// `attr~=value`: case-insensitive equality.
    Approx(Attr, String),
    GreaterOrEqual(Attr, String),
    LessOrEqual(Attr, String),
    /// `attr=a*b*`
    Substring(Attr, Wildcard),
}

impl LdapFilter {
    /// Every attribute the filter reads, in order of appearance.
    pub fn attributes(&self) -> Vec<&Attr> {
        let mut out = Vec::new();
        self.collect_attributes(&mut out);
        out
    }

    fn collect_attributes<'a>(&'a self, out: &mut Vec<&'a Attr>) {
        match self {
            LdapFilter::And(items) | LdapFilter::Or(items) => items.iter().for_each(|f| f.collect_attributes(out)),
            LdapFilter::Not(f) => f.collect_attributes(out),
            LdapFilter::Present(a)
            | LdapFilter::Equal(a, _)
            | LdapFilter::Approx(a, _)
            | LdapFilter::GreaterOrEqual(a, _)
            | LdapFilter::LessOrEqual(a, _)
            | LdapFilter::Substring(a, _) => out.push(a),
        }
    }
}

fn ferr<T>(message: impl Into<String>, column: usize) -> Result<T, FilterError> {
    Err(FilterError { message: message.into(), column })
}

struct Parser {
    s: Vec<char>,
    i: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<char> {
        self.s.get(self.i).copied()
    }

    fn col(&self) -> usize {
        self.i + 1
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(char::is_whitespace) {
            self.i += 1;
        }
    }

    fn found(&self) -> String {
        self.peek().map_or("the end of the filter".into(), |c| format!("'{c}'"))
    }

    fn expect(&mut self, c: char) -> Result<(), FilterError> {
        if self.peek() == Some(c) {
            self.i += 1;
            Ok(())
        } else {
            ferr(format!("expected '{c}', found {}", self.found()), self.col())
        }
    }

    /// `( filtercomp )`
    fn filter(&mut self) -> Result<LdapFilter, FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return ferr("filter is nested too deeply", self.col());
        }
        self.expect('(')?;
        self.skip_ws();
        let f = match self.peek() {
            Some(c @ ('&' | '|')) => {
                self.i += 1;
                // Whitespace between components is not RFC 4515, but hand-written filters often have it.
                let mut items = Vec::new();
                loop {
                    self.skip_ws();
                    if self.peek() != Some('(') {
                        break;
                    }
                    items.push(self.filter()?);
                }
                // RFC 4526: an empty AND is true, an empty OR is false, which these constructors give.
                if c == '&' { LdapFilter::And(items) } else { LdapFilter::Or(items) }
            }
            Some('!') => {
                self.i += 1;
                self.skip_ws();
                LdapFilter::Not(Box::new(self.filter()?))
            }
            _ => self.item(false)?,
        };
        self.skip_ws();
        if self.peek() != Some(')') {
            return ferr(format!("expected ')', found {}", self.found()), self.col());
        }
        self.i += 1;
        self.depth -= 1;
        Ok(f)
    }

    /// `attr op value`; a bare item runs to the end of the input, otherwise to the next `)`.
    fn item(&mut self, bare: bool) -> Result<LdapFilter, FilterError> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_alphanumeric() || matches!(c, '-' | ';' | '.' | '_')) {
            self.i += 1;
        }
        let name: String = self.s[start..self.i].iter().collect();
        if name.is_empty() {
            return ferr(
                format!("expected an attribute name (for example l=Oslo), found {}", self.found()),
                self.col(),
            );
        }
        let attr = Attr::new(name);
        let op_col = self.col();
        let op = match (self.peek(), self.s.get(self.i + 1).copied()) {
            (Some('='), _) => "=",
            (Some(c @ ('~' | '>' | '<')), Some('=')) => match c {
                '~' => "~=",
                '>' => ">=",
                _ => "<=",
            },
            (Some(':'), _) => {
                return ferr("extensible match (attr:rule:=value) is not supported", op_col);
            }
            (Some('>' | '<'), _) => {
                return ferr("LDAP has no strict '>' or '<'; use '>=' or '<=' (with '!' to exclude equality)", op_col);
            }
            _ => {
                return ferr(
                    format!("expected '=', '~=', '>=' or '<=' after '{}', found {}", attr.name, self.found()),
                    op_col,
                );
            }
        };
        self.i += op.len();
        let value_col = self.col();
        let (segments, star_col) = self.value(bare)?;
        if op != "=" {
            if let Some(col) = star_col {
                return ferr(
                    format!("'*' is only allowed with '='; write \\2a for a literal asterisk after '{op}'"),
                    col,
                );
            }
            let v = segments.into_iter().next().unwrap_or_default();
            return Ok(match op {
                "~=" => LdapFilter::Approx(attr, v),
                ">=" => LdapFilter::GreaterOrEqual(attr, v),
                _ => LdapFilter::LessOrEqual(attr, v),
            });
        }
        Ok(match segments.as_slice() {
            [v] => LdapFilter::Equal(attr, v.clone()),
            [a, b] if a.is_empty() && b.is_empty() => LdapFilter::Present(attr),
            _ => {
                let pattern = segments.iter().map(|s| escape(s)).collect::<Vec<_>>().join("*");
                let w = Wildcard::new(&pattern).map_err(|m| FilterError { message: m, column: value_col })?;
                LdapFilter::Substring(attr, w)
            }
        })
    }

    /// The value split at unescaped `*`, with `\XX` escapes decoded, and the column of the first `*`.
    fn value(&mut self, bare: bool) -> Result<(Vec<String>, Option<usize>), FilterError> {
        let mut segments = Vec::new();
        let mut bytes: Vec<u8> = Vec::new();
        let mut seg_col = self.col();
        let mut star_col = None;
        let finish = |bytes: &mut Vec<u8>, col: usize| {
            String::from_utf8(std::mem::take(bytes)).map_err(|_| FilterError {
                message: "escaped bytes in the value are not valid UTF-8".into(),
                column: col,
            })
        };
        loop {
            let col = self.col();
            match self.peek() {
                None if !bare => return ferr("missing ')' at the end of the filter", col),
                None => break,
                Some(')') if !bare => break,
                Some(c @ ('(' | ')')) => {
                    let code = if c == '(' { "\\28" } else { "\\29" };
                    return ferr(format!("unescaped '{c}' in a value; write {code}"), col);
                }
                Some('*') => {
                    self.i += 1;
                    star_col.get_or_insert(col);
                    segments.push(finish(&mut bytes, seg_col)?);
                    seg_col = self.col();
                }
                Some('\\') => {
                    let hex: String = self.s.iter().skip(self.i + 1).take(2).collect();
                    let byte = (hex.len() == 2 && hex.chars().all(|h| h.is_ascii_hexdigit()))
                        .then(|| u8::from_str_radix(&hex, 16).ok())
                        .flatten();
                    let Some(b) = byte else {
                        return ferr("'\\' must be followed by two hex digits (\\2a, \\28, \\29, \\5c, \\00)", col);
                    };
                    bytes.push(b);
                    self.i += 3;
                }
                Some(c) => {
                    let mut buf = [0u8; 4];
                    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                    self.i += 1;
                }
            }
        }
        segments.push(finish(&mut bytes, seg_col)?);
        Ok((segments, star_col))
    }
}

pub fn parse(src: &str) -> Result<LdapFilter, FilterError> {
    let mut p = Parser { s: src.trim_end().chars().collect(), i: 0, depth: 0 };
    p.skip_ws();
    let f = match p.peek() {
        None => {
            return ferr("empty LDAP filter; expected for example (l=Oslo) or l=Oslo", p.col());
        }
        Some('(') => p.filter()?,
        Some(_) => p.item(true)?,
    };
    p.skip_ws();
    if p.peek().is_some() {
        return ferr(
            format!("unexpected {} after the end of the filter (combine filters with (&..) or (|..))", p.found()),
            p.col(),
        );
    }
    Ok(f)
}

/// A value's text as LDAP sees it; `None` for "not set".
/// Applies `test` to a value's text as LDAP sees it; unset values (and, as in a directory, empty strings)
/// never match. Strings are borrowed, since this runs once per object.
fn test_value(d: &Dynamic, test: &impl Fn(&str) -> bool) -> bool {
    if d.is_unit() {
        return false;
    }
    let check = |t: &str| !t.is_empty() && test(t);
    if let Ok(s) = d.as_immutable_string_ref() {
        return check(&s);
    }
    match d.as_bool() {
        Ok(b) => check(if b { "TRUE" } else { "FALSE" }),
        Err(_) => check(&d.to_string()),
    }
}

fn num(s: &str) -> Option<f64> {
    let s = s.trim();
    let body = s.strip_prefix('-').unwrap_or(s);
    (!body.is_empty() && body.bytes().all(|b| b.is_ascii_digit() || b == b'.')).then(|| s.parse().ok()).flatten()
}

fn order(a: &str, b: &str) -> Option<Ordering> {
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x.partial_cmp(&y),
        _ => Some(cmp_ci(a, b)),
    }
}

impl LdapFilter {
    /// Applies `test` to each value of the attribute (multi-valued attributes match if any value does).
    fn any(attr: &Attr, obj: &Map, test: impl Fn(&str) -> bool) -> bool {
        let Some(d) = attr.value(obj) else {
            return false;
        };
        match d.as_array_ref() {
            Ok(items) => items.iter().any(|e| test_value(e, &test)),
            Err(_) => test_value(d, &test),
        }
    }

    pub fn eval(&self, obj: &Map) -> bool {
        match self {
            LdapFilter::And(items) => items.iter().all(|f| f.eval(obj)),
            LdapFilter::Or(items) => items.iter().any(|f| f.eval(obj)),
            LdapFilter::Not(f) => !f.eval(obj),
            LdapFilter::Present(a) => Self::any(a, obj, |_| true),
            LdapFilter::Equal(a, v) | LdapFilter::Approx(a, v) => Self::any(a, obj, |t| eq_ci(t, v)),
            LdapFilter::GreaterOrEqual(a, v) => {
                Self::any(a, obj, |t| matches!(order(t, v), Some(Ordering::Greater | Ordering::Equal)))
            }
            LdapFilter::LessOrEqual(a, v) => {
                Self::any(a, obj, |t| matches!(order(t, v), Some(Ordering::Less | Ordering::Equal)))
            }
            LdapFilter::Substring(a, w) => Self::any(a, obj, |t| w.is_match(t)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::Array;

    fn s(v: &str) -> Dynamic {
        Dynamic::from(v.to_string())
    }

    fn ann() -> Map {
        let classes: Array = ["top", "person", "organizationalPerson", "user"].iter().map(|c| s(c)).collect();
        [
            ("Identity", s("CN=Ann Beebe,OU=Finance,DC=contoso,DC=com")),
            ("Name", s("Ann Beebe")),
            ("DisplayName", s("Ann Beebe")),
            ("SamAccountName", s("annb")),
            ("UserPrincipalName", s("annb@contoso.com")),
            ("SipAddress", s("sip:annb@contoso.com")),
            ("ObjectClass", Dynamic::from(classes)),
            ("l", s("Oslo")),
            ("Department", s("Finance")),
            ("Title", s("Analyst (Senior) *")),
            ("Mail", Dynamic::UNIT),
            ("Fax", s("")),
            ("EmployeeNumber", s("1200")),
            ("Enabled", Dynamic::from(true)),
            ("Count", Dynamic::from(7_i64)),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v))
        .collect()
    }

    fn t(src: &str) -> bool {
        parse(src).unwrap_or_else(|e| panic!("{src}: {e}")).eval(&ann())
    }

    fn err(src: &str) -> FilterError {
        match parse(src) {
            Ok(f) => panic!("{src} should fail, parsed as {f:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn doc_examples() {
        assert!(t("l=Oslo"));
        assert!(t("l=oslo"));
        assert!(!t("l=Redmond"));
        assert!(t("Department=Finance"));
        assert!(t("department=FINANCE"));
        assert!(t("(l=Oslo)"));
    }

    #[test]
    fn attribute_mapping() {
        assert!(t("(objectClass=user)"));
        assert!(t("(OBJECTCLASS=Person)"));
        assert!(!t("(objectClass=contact)"));
        assert!(t("(cn=Ann Beebe)"));
        assert!(t("(name=ann beebe)"));
        assert!(t("(displayName=Ann*)"));
        assert!(t("(sAMAccountName=annb)"));
        assert!(t("(userPrincipalName=annb@contoso.com)"));
        assert!(t("(distinguishedName=CN=Ann Beebe,OU=Finance,DC=contoso,DC=com)"));
        assert!(t("(dn=*,OU=Finance,*)"));
        assert!(t("(msRTCSIP-PrimaryUserAddress=sip:annb@contoso.com)"));
        assert!(t("(title=Analyst*)"));
        assert!(!t("(mail=*)"));
        assert!(!t("(fax=*)"));
        assert!(!t("(nosuchattr=*)"));
        assert!(t("(Enabled=true)"));
        assert!(t("(count=7)"));
        let with_dn: Map =
            [("DistinguishedName".into(), s("CN=X,DC=c")), ("Identity".into(), s("other"))].into_iter().collect();
        assert!(parse("dn=cn=x,dc=c").unwrap().eval(&with_dn));
    }

    #[test]
    fn presence_substring_and_composites() {
        assert!(t("(l=*)"));
        assert!(t("l=*"));
        assert!(t("(l=O*)"));
        assert!(t("(l=*lo)"));
        assert!(t("(l=O*l*o)"));
        assert!(!t("(l=O*x*)"));
        assert!(t("(&(objectClass=user)(l=Oslo))"));
        assert!(!t("(&(objectClass=user)(l=Bergen))"));
        assert!(t("(|(l=Bergen)(Department=Finance))"));
        assert!(!t("(|(l=Bergen)(Department=Sales))"));
        assert!(t("(!(l=Bergen))"));
        assert!(t("(!(mail=x))"));
        assert!(t("(&(|(l=Bergen)(l=Oslo))(!(objectClass=contact)))"));
        assert!(t("( & (l=Oslo) (cn=Ann*) )"));
        assert!(t("(&)"));
        assert!(!t("(|)"));
        // '?' and '[' are not LDAP wildcards.
        assert!(!t("(l=Osl?)"));
        assert!(!t("(l=[O]slo)"));
    }

    #[test]
    fn ordering_and_approx() {
        assert!(t("(l>=M)"));
        assert!(!t("(l<=M)"));
        assert!(t("(l<=oslo)"));
        assert!(t("(employeeNumber>=999)"));
        assert!(!t("(employeeNumber<=999)"));
        assert!(t("(count>=7)"));
        assert!(t("(count<=7.5)"));
        assert!(t("(l~=OSLO)"));
        assert!(!t("(mail>=a)"));
    }

    #[test]
    fn escapes() {
        assert!(t(r"(title=Analyst \28Senior\29 \2a)"));
        assert!(t(r"(title=*\28senior\29*)"));
        assert!(!t(r"(title=Analyst \28Senior\29 \2aX)"));
        let m: Map = [("Name".into(), s("a\\b\0é"))].into_iter().collect();
        assert!(parse(r"(cn=a\5cb\00\c3\a9)").unwrap().eval(&m));
        assert!(parse(r"(cn=A\5CB\00\C3\A9)").unwrap().eval(&m));
        assert!(parse(r"cn=a\5c*").unwrap().eval(&m));
    }

    #[test]
    fn errors_and_columns() {
        let e = err("(l=Oslo");
        assert_eq!(e.column, 8);
        assert!(e.message.contains("')'"), "{e}");
        let e = err("(=Oslo)");
        assert_eq!(e.column, 2);
        assert!(e.message.contains("attribute name"), "{e}");
        let e = err("(l Oslo)");
        assert_eq!(e.column, 3);
        let e = err("(l>Oslo)");
        assert_eq!(e.column, 3);
        assert!(e.message.contains(">="), "{e}");
        let e = err("(cn:dn:=x)");
        assert!(e.message.contains("extensible"), "{e}");
        let e = err(r"(cn=a\2)");
        assert_eq!(e.column, 6);
        assert!(e.message.contains("two hex digits"), "{e}");
        let e = err(r"(cn=a\zz)");
        assert_eq!(e.column, 6);
        let e = err(r"(cn=\ff)");
        assert!(e.message.contains("UTF-8"), "{e}");
        let e = err("cn=Smith (Sales)");
        assert_eq!(e.column, 10);
        assert!(e.message.contains("\\28"), "{e}");
        let e = err("(l=Oslo))");
        assert_eq!(e.column, 9);
        assert!(e.message.contains("after the end"), "{e}");
        let e = err("(l=Oslo)(l=Bergen)");
        assert_eq!(e.column, 9);
        let e = err("(&(l=Oslo)x)");
        assert_eq!(e.column, 11);
        let e = err("(l>=a*)");
        assert_eq!(e.column, 6);
        assert!(e.message.contains("\\2a"), "{e}");
        let e = err("(!)");
        assert_eq!(e.column, 3);
        assert_eq!(err("   ").column, 1);
        assert_eq!(e.to_string(), "expected '(', found ')' (column 3)");
        let deep = format!("{}(l=x){}", "(!".repeat(200), ")".repeat(200));
        assert!(err(&deep).message.contains("nested too deeply"));
        assert!(parse(&format!("{}(l=x){}", "(!".repeat(20), ")".repeat(20))).is_ok());
    }
}
