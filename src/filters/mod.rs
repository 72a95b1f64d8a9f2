//! Filters over output objects: PowerShell expression filters and LDAP filters.
pub mod expr;
pub mod ldap;

pub use expr::{Expr, FilterError, looks_like_expression};
pub use ldap::LdapFilter;

/// Robustness: no parser may panic, whatever it is fed.
#[cfg(test)]
mod fuzz {
    use super::{expr, ldap};
    use crate::values::{time, wildcard};
    use rhai::{Array, Dynamic, Map};

    use crate::testing::XorShift;

    const SEEDS: &[&str] = &[
        "{Name -like 'Fin*' -and (Count -gt 5 -or -not $_.Disabled -eq $True)}",
        r#"SipAddress -eq "sip:a@b" -or ObjectClass -contains 'user' -and Size -le -1.5"#,
        "Description -match '^(a|b)+$' -or Members -notcontains $Null",
        "(&(objectClass=user)(|(l=Oslo)(cn=Ann*))(!(mail=*)))",
        r"(title=*\28x\29*\2a) ",
        "l>=M",
        "3/1/2018 1:45 PM",
        "2018-03-01T13:45:00.123+02:00",
        "30.00:00:00",
        "-1.23:59:59.9999999",
        "pc0[1-3]*.contoso.`*?",
    ];

    const ALPHABET: &[char] = &[
        '{', '}', '(', ')', '[', ']', '-', '$', '_', '.', '\'', '"', '`', '*', '?', '!', '&', '|', '=', '<', '>', '~',
        '\\', ':', '/', ' ', '\t', '0', '1', '9', 'a', 'e', 'q', 'Z', 'T', 'P', 'M', ',', '+', 'é', 'İ', '\u{2019}',
        '\u{201C}', '\0', '😀',
    ];

    fn sample() -> Map {
        let mut nested = Map::new();
        nested.insert("x".into(), Dynamic::from(1_i64));
        let list: Array = vec![
            Dynamic::from("a".to_string()),
            Dynamic::UNIT,
            Dynamic::from(3_i64),
            Dynamic::from(Array::new()),
            Dynamic::from(nested.clone()),
        ];
        [
            ("Name", Dynamic::from("Finance É".to_string())),
            ("Count", Dynamic::from(7_i64)),
            ("Size", Dynamic::from(f64::NAN)),
            ("Disabled", Dynamic::from(false)),
            ("Members", Dynamic::from(list)),
            ("Description", Dynamic::UNIT),
            ("ObjectClass", Dynamic::from(nested)),
            ("l", Dynamic::from('c')),
        ]
        .into_iter()
        .map(|(k, v)| (k.into(), v))
        .collect()
    }

    fn inputs() -> Vec<String> {
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        let mut out = Vec::new();
        for _ in 0..6000 {
            let s: String = if rng.below(3) == 0 {
                (0..rng.below(40)).map(|_| ALPHABET[rng.below(ALPHABET.len())]).collect()
            } else {
                let mut chars: Vec<char> = SEEDS[rng.below(SEEDS.len())].chars().collect();
                for _ in 0..=rng.below(4) {
                    let at = rng.below(chars.len() + 1);
                    match rng.below(4) {
                        0 if at < chars.len() => {
                            chars.remove(at);
                        }
                        1 if at < chars.len() => chars[at] = ALPHABET[rng.below(ALPHABET.len())],
                        2 => chars.truncate(at),
                        _ => chars.insert(at, ALPHABET[rng.below(ALPHABET.len())]),
                    }
                }
                chars.into_iter().collect()
            };
            out.push(s);
        }
        out
    }

    #[test]
    fn parsers_never_panic() {
        let obj = sample();
        let (mut ok_expr, mut ok_ldap) = (0, 0);
        for s in inputs() {
            let _ = expr::looks_like_expression(&s);
            match expr::parse(&s) {
                Ok(e) => {
                    ok_expr += 1;
                    let _ = e.eval(&obj);
                    let _ = e.properties();
                }
                Err(e) => assert!(e.column >= 1 && e.column <= s.chars().count() + 1, "{s:?}: {e}"),
            }
            match ldap::parse(&s) {
                Ok(f) => {
                    ok_ldap += 1;
                    let _ = f.eval(&obj);
                }
                Err(e) => assert!(e.column >= 1 && e.column <= s.chars().count() + 1, "{s:?}: {e}"),
            }
            if let Ok(w) = wildcard::Wildcard::new(&s) {
                let _ = w.is_match(&s);
                let _ = w.is_match("Finance É");
            }
            let _ = wildcard::has_wildcards(&s);
            if let Ok(d) = time::parse_datetime(&s) {
                let _ = time::format_datetime(d.as_end());
                let _ = d.as_start();
            }
            if let Ok(d) = time::parse_timespan(&s) {
                assert_eq!(time::parse_timespan(&time::format_timespan(d)), Ok(d), "{s:?}");
            }
        }
        // The mutations must leave enough valid inputs for evaluation to be exercised too.
        assert!(ok_expr > 50 && ok_ldap > 50, "{ok_expr} {ok_ldap}");
    }
}
