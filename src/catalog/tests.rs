//! Self-checks of the catalog: every entry is checked against itself, against the common parameters and against
//! the cmdlet list of the reference.

use super::*;
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The 40 cmdlets of the reference, in its order.
const REFERENCE: [&str; 40] = [
    "Get-CsService",
    "Get-CsAdPrincipal",
    "Get-CsAdminRole",
    "Get-CsPersistentChatState",
    "Set-CsPersistentChatState",
    "Set-CsPersistentChatActiveServer",
    "Get-CsPersistentChatConfiguration",
    "New-CsPersistentChatConfiguration",
    "Set-CsPersistentChatConfiguration",
    "Remove-CsPersistentChatConfiguration",
    "Get-CsPersistentChatComplianceConfiguration",
    "New-CsPersistentChatComplianceConfiguration",
    "Set-CsPersistentChatComplianceConfiguration",
    "Remove-CsPersistentChatComplianceConfiguration",
    "Get-CsPersistentChatPolicy",
    "New-CsPersistentChatPolicy",
    "Set-CsPersistentChatPolicy",
    "Remove-CsPersistentChatPolicy",
    "Grant-CsPersistentChatPolicy",
    "Get-CsPersistentChatCategory",
    "New-CsPersistentChatCategory",
    "Set-CsPersistentChatCategory",
    "Remove-CsPersistentChatCategory",
    "Get-CsPersistentChatRoom",
    "New-CsPersistentChatRoom",
    "Set-CsPersistentChatRoom",
    "Remove-CsPersistentChatRoom",
    "Clear-CsPersistentChatRoom",
    "Remove-CsPersistentChatMessage",
    "Get-CsPersistentChatAddin",
    "New-CsPersistentChatAddin",
    "Set-CsPersistentChatAddin",
    "Remove-CsPersistentChatAddin",
    "Get-CsPersistentChatEndpoint",
    "New-CsPersistentChatEndpoint",
    "Remove-CsPersistentChatEndpoint",
    "Get-CsPersistentChatEligiblePrincipal",
    "Export-CsPersistentChatData",
    "Import-CsPersistentChatData",
    "Test-CsPersistentChatMessage",
];

/// The pchat extensions, in catalog order.
const EXTENSIONS: [&str; 17] = [
    "Publish-CsTopology",
    "Import-CsAdPrincipal",
    "Remove-CsAdPrincipal",
    "Get-CsUser",
    "Get-Credential",
    "Get-CsEffectivePersistentChatConfiguration",
    "Get-CsEffectivePersistentChatComplianceConfiguration",
    "Get-CsEffectivePersistentChatPolicy",
    "Send-CsPersistentChatMessage",
    "Get-CsPersistentChatMessage",
    "Repair-CsPersistentChatDatabase",
    "Get-CsPersistentChatRunbookConfiguration",
    "Set-CsPersistentChatRunbookConfiguration",
    "Get-CsPool",
    "Get-CsComputer",
    "Get-CsPersistentChatAuditRecord",
    "Test-CsPersistentChatAuditRecord",
];

const VERBS: [&str; 12] =
    ["Clear", "Export", "Get", "Grant", "Import", "New", "Publish", "Remove", "Repair", "Send", "Set", "Test"];

/// The error identifiers errors may carry.
const ERROR_IDS: [&str; 11] = [
    "ParameterBinding",
    "AmbiguousParameterSet",
    "InvalidArgument",
    "OutOfRange",
    "NotFound",
    "AlreadyExists",
    "NotEmpty",
    "NotEligible",
    "InvalidOperation",
    "Canceled",
    "AccessDenied",
];

fn cmdlet(name: &str) -> &'static Cmdlet {
    find(name).unwrap_or_else(|| panic!("{name} is not in the catalog"))
}

/// Every parameter the binder accepts for `c`: its own, the common ones and, with ShouldProcess, WhatIf/Confirm.
fn accepted_params(c: &Cmdlet) -> Vec<&'static Param> {
    let mut all: Vec<&'static Param> = c.params.iter().collect();
    all.extend(COMMON_PARAMS.iter());
    if c.should_process {
        all.extend(SHOULD_PROCESS_PARAMS.iter());
    }
    all
}

fn is_pascal_identifier(s: &str) -> bool {
    s.chars().next().is_some_and(|c| c.is_ascii_uppercase()) && s.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The example code with the contents of string literals blanked out (quotes kept), so that checks on the code
/// itself are not fooled by text inside strings. Panics on an unterminated string.
fn code_outside_strings(code: &str) -> String {
    let mut out = String::with_capacity(code.len());
    let mut chars = code.chars();
    let mut in_string = false;
    while let Some(c) = chars.next() {
        if in_string {
            match c {
                '\\' => {
                    let escaped = chars.next();
                    assert!(escaped.is_some(), "dangling escape in example `{code}`");
                }
                '"' => {
                    in_string = false;
                    out.push('"');
                }
                _ => {}
            }
        } else {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
        }
    }
    assert!(!in_string, "unterminated string in example `{code}`");
    out
}

fn brackets_balanced(code: &str) -> bool {
    let mut stack = Vec::new();
    for c in code.chars() {
        match c {
            '(' | '[' | '{' => stack.push(c),
            ')' | ']' | '}' => {
                let open = match c {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                if stack.pop() != Some(open) {
                    return false;
                }
            }
            _ => {}
        }
    }
    stack.is_empty()
}

#[test]
fn rhai_name_spot_checks() {
    assert_eq!(rhai_name("Get-CsAdPrincipal"), "get_cs_ad_principal");
    assert_eq!(rhai_name("Set-CsPersistentChatState"), "set_cs_persistent_chat_state");
    assert_eq!(rhai_name("Get-CsPersistentChatEligiblePrincipal"), "get_cs_persistent_chat_eligible_principal");
    assert_eq!(rhai_name("Import-CsAdPrincipal"), "import_cs_ad_principal");
    assert_eq!(rhai_name("Get-CsPersistentChatRoom"), "get_cs_persistent_chat_room");
    assert_eq!(rhai_name("Get-CsAdminRole"), "get_cs_admin_role");
    assert_eq!(rhai_name("Set-CsPersistentChatAddin"), "set_cs_persistent_chat_addin");
    assert_eq!(rhai_name("Get-Credential"), "get_credential");
    assert_eq!(rhai_name("Get-CsUser"), "get_cs_user");
    for (name, expected) in [
        ("Get-CsAdPrincipal", "get_cs_ad_principal"),
        ("Set-CsPersistentChatState", "set_cs_persistent_chat_state"),
        ("Get-CsPersistentChatEligiblePrincipal", "get_cs_persistent_chat_eligible_principal"),
        ("Import-CsAdPrincipal", "import_cs_ad_principal"),
    ] {
        assert_eq!(cmdlet(name).rhai_name(), expected);
    }
}

#[test]
fn names_are_verb_noun_and_mangle_to_snake_case() {
    for c in all() {
        let (verb, noun) = c.name.split_once('-').unwrap_or_else(|| panic!("{}: not Verb-Noun", c.name));
        assert!(VERBS.contains(&verb), "{}: unexpected verb {verb}", c.name);
        assert_eq!(c.verb(), verb);
        assert!(is_pascal_identifier(noun), "{}: noun is not PascalCase", c.name);
        assert!(noun.starts_with("Cs") || c.name == "Get-Credential", "{}: noun without the Cs prefix", c.name);

        let rhai = c.rhai_name();
        assert!(rhai.chars().all(|ch| ch.is_ascii_lowercase() || ch == '_'), "{}: bad Rhai name {rhai}", c.name);
        assert!(!rhai.starts_with('_') && !rhai.ends_with('_') && !rhai.contains("__"), "{}: {rhai}", c.name);
        assert_eq!(rhai.replace('_', ""), c.name.replace('-', "").to_ascii_lowercase(), "{}: {rhai}", c.name);
        assert!(rhai.starts_with(&format!("{}_", verb.to_ascii_lowercase())), "{}: {rhai}", c.name);
    }
}

#[test]
fn names_are_unique_and_findable() {
    let mut ps = HashSet::new();
    let mut rhai = HashSet::new();
    for c in all() {
        assert!(ps.insert(c.name.to_ascii_lowercase()), "duplicate cmdlet {}", c.name);
        assert!(rhai.insert(c.rhai_name()), "duplicate Rhai name {}", c.rhai_name());
        assert_eq!(find(c.name).map(|f| f.name), Some(c.name));
        assert_eq!(find(&c.name.to_ascii_uppercase()).map(|f| f.name), Some(c.name));
        assert_eq!(find(&c.rhai_name()).map(|f| f.name), Some(c.name));
    }
    assert!(find("Get-CsNoSuchThing").is_none());
}

#[test]
fn reference_cmdlets_come_first_in_order_then_extensions() {
    let names: Vec<&str> = all().iter().map(|c| c.name).collect();
    assert_eq!(names.len(), REFERENCE.len() + EXTENSIONS.len());
    assert_eq!(&names[..REFERENCE.len()], &REFERENCE[..]);
    assert_eq!(&names[REFERENCE.len()..], &EXTENSIONS[..]);
    for c in all() {
        assert_eq!(c.extension, EXTENSIONS.contains(&c.name), "{}: wrong extension flag", c.name);
    }
}

#[test]
fn every_param_is_described_and_well_formed() {
    for c in all() {
        for p in c.params {
            let at = format!("{} -{}", c.name, p.name);
            assert!(is_pascal_identifier(p.name), "{at}: parameter name is not PascalCase");
            let d = p.description;
            assert!(!d.trim().is_empty(), "{at}: empty description");
            assert_eq!(d, d.trim(), "{at}: description has surrounding whitespace");
            assert!(d.ends_with('.') || d.ends_with(".\""), "{at}: description does not end with a full stop");
            for alias in p.aliases {
                assert!(!alias.is_empty() && alias.chars().all(|ch| ch.is_ascii_alphanumeric()), "{at}: alias {alias}");
            }
        }
        let d = c.synopsis;
        assert!(!d.trim().is_empty() && d.ends_with('.'), "{}: synopsis", c.name);
    }
}

#[test]
fn param_sets_exist_and_mandatory_sets_are_member_sets() {
    for c in all() {
        assert_ne!(c.sets.len(), 1, "{}: a single set is declared as `sets: &[]`", c.name);
        let declared: HashSet<&str> = c.sets.iter().copied().collect();
        assert_eq!(declared.len(), c.sets.len(), "{}: duplicate set names", c.name);
        assert!(!declared.contains(DEFAULT_SET), "{}: {DEFAULT_SET} is implicit", c.name);
        for p in c.params {
            let at = format!("{} -{}", c.name, p.name);
            let own: HashSet<&str> = p.sets.iter().copied().collect();
            assert_eq!(own.len(), p.sets.len(), "{at}: duplicate set names");
            assert!(
                p.sets.len() < c.sets.len() || p.sets.is_empty(),
                "{at}: lists every set; leave `sets` empty instead"
            );
            for s in p.sets {
                assert!(declared.contains(s), "{at}: unknown set {s}");
            }
            if let Mandatory::In(sets) = p.mandatory {
                assert!(!sets.is_empty(), "{at}: mandatory_in with no set");
                for s in sets {
                    assert!(declared.contains(s), "{at}: mandatory in unknown set {s}");
                    assert!(p.in_set(s), "{at}: mandatory in {s}, which it does not belong to");
                }
                assert!(
                    sets.len() < c.set_names().iter().filter(|s| p.in_set(s)).count(),
                    "{at}: mandatory in all its sets; use mandatory()"
                );
            }
        }
    }
}

#[test]
fn every_set_is_reachable() {
    for c in all() {
        for (i, set) in c.sets.iter().enumerate() {
            let specific = c.params.iter().any(|p| !p.sets.is_empty() && p.sets.contains(set));
            assert!(i == 0 || specific, "{}: set {set} has no parameter of its own", c.name);
        }
        assert_eq!(c.default_set(), c.set_names()[0]);
    }
}

#[test]
fn sets_are_distinguishable() {
    // Two sets with exactly the same parameters could never be told apart by the binder.
    for c in all() {
        let mut seen: BTreeMap<Vec<&str>, &str> = BTreeMap::new();
        for set in c.set_names() {
            let members: Vec<&str> = c.params.iter().filter(|p| p.in_set(set)).map(|p| p.name).collect();
            if let Some(other) = seen.insert(members, set) {
                panic!("{}: sets {other} and {set} have the same parameters", c.name);
            }
        }
    }
}

#[test]
fn names_and_aliases_are_unique_case_insensitively() {
    for c in all() {
        let mut seen: BTreeMap<String, &str> = BTreeMap::new();
        for p in accepted_params(c) {
            for n in std::iter::once(&p.name).chain(p.aliases.iter()) {
                if let Some(owner) = seen.insert(n.to_ascii_lowercase(), p.name) {
                    panic!("{}: `{n}` of -{} clashes with -{owner}", c.name, p.name);
                }
            }
        }
        if !c.should_process {
            for sp in SHOULD_PROCESS_PARAMS {
                assert!(c.param(sp.name).is_none(), "{}: lists -{} instead of should_process", c.name, sp.name);
            }
        }
    }
}

#[test]
fn positions_are_unique_and_contiguous_per_set() {
    for c in all() {
        for set in c.set_names() {
            let mut slots: Vec<(u8, &str)> =
                c.params.iter().filter(|p| p.in_set(set)).filter_map(|p| p.position.map(|n| (n, p.name))).collect();
            slots.sort();
            for (i, (slot, name)) in slots.iter().enumerate() {
                assert_eq!(*slot as usize, i, "{} [{set}]: -{name} has slot {slot}; slots {slots:?}", c.name);
            }
        }
        // A bare positional value binds to the first declared slot-0 parameter whatever the set (3.19), so that
        // one must take text: Identity before Instance, Identity before Sid.
        if let Some(first) = c.params.iter().find(|p| p.position == Some(0)) {
            let text = matches!(first.ty, Ty::String | Ty::Sip | Ty::Fqdn | Ty::Path);
            assert!(text, "{}: first positional parameter -{} does not take text", c.name, first.name);
        }
    }
}

#[test]
fn types_ranges_and_pipeline_bindings_are_consistent() {
    for c in all() {
        for p in c.params {
            let at = format!("{} -{}", c.name, p.name);
            if let Ty::Enum(values) = p.ty {
                assert!(!values.is_empty(), "{at}: enum without values");
                let distinct: HashSet<String> = values.iter().map(|v| v.to_ascii_lowercase()).collect();
                assert_eq!(distinct.len(), values.len(), "{at}: duplicate enum values");
                assert!(values.iter().all(|v| is_pascal_identifier(v)), "{at}: enum values {values:?}");
            }
            match p.range {
                None => {}
                Some(Range::Int(min, max)) => {
                    assert!(min <= max, "{at}: empty range");
                    let (lo, hi) = match p.ty {
                        Ty::Int16 => (i16::MIN as i64, i16::MAX as i64),
                        Ty::Int32 => (i32::MIN as i64, i32::MAX as i64),
                        Ty::UInt32 => (0, u32::MAX as i64),
                        Ty::Unlimited => (0, i32::MAX as i64),
                        other => panic!("{at}: integer range on {other:?}"),
                    };
                    assert!(lo <= min && max <= hi, "{at}: range {min}..{max} outside the type");
                }
                Some(Range::Span(min, max)) => {
                    assert_eq!(p.ty, Ty::TimeSpan, "{at}: time-span range on a non-TimeSpan");
                    assert!(0 <= min && min <= max, "{at}: bad span range");
                }
            }
            if p.name == "ResultSize" {
                assert_eq!(p.range, Some(Range::Int(0, i32::MAX as i64)), "{at}: ResultSize range");
            }
            if p.name == "Instance" {
                assert!(matches!(p.ty, Ty::Object(_)) && p.by_value, "{at}: Instance is a piped object");
            }
            if matches!(p.ty, Ty::Object(_)) {
                assert!(p.by_value, "{at}: object parameters bind ByValue");
            }
            if p.ty == Ty::Switch {
                assert!(p.position.is_none(), "{at}: a switch cannot be positional");
            }
        }
        // At most one ByValue parameter per set and per kind of value, or piping would be ambiguous.
        for set in c.set_names() {
            let mut kinds = HashSet::new();
            for p in c.params.iter().filter(|p| p.by_value && p.in_set(set)) {
                let kind = match p.ty {
                    Ty::Object(t) => format!("{t:?}"),
                    Ty::Bytes => "bytes".to_string(),
                    _ => "scalar".to_string(),
                };
                assert!(kinds.insert(kind), "{} [{set}]: two ByValue parameters for the same input", c.name);
            }
        }
    }
}

#[test]
fn exclusive_groups_name_existing_params() {
    for c in all() {
        for group in c.exclusive {
            assert!(group.len() >= 2, "{}: exclusive group {group:?} is too small", c.name);
            let distinct: HashSet<&str> = group.iter().copied().collect();
            assert_eq!(distinct.len(), group.len(), "{}: exclusive group repeats a name", c.name);
            for name in *group {
                let p = c.params.iter().find(|p| p.name == *name);
                assert!(p.is_some(), "{}: exclusive group names unknown -{name}", c.name);
            }
        }
    }
    let room = cmdlet("Get-CsPersistentChatRoom");
    assert_eq!(room.exclusive, &[&["Identity", "Category", "PersistentChatPoolFqdn", "Filter"][..]]);
}

#[test]
fn should_process_confirm_and_output_are_consistent() {
    for c in all() {
        if c.confirm_by_default {
            assert!(c.should_process, "{}: prompts by default without Confirm", c.name);
        }
        match c.verb() {
            "Get" => {
                assert!(!c.should_process, "{}: a Get does not change anything", c.name);
                assert!(c.is_read_only());
                if c.name != "Get-Credential" {
                    assert!(matches!(c.output, Output::Collection(_)), "{}: a Get returns a collection", c.name);
                }
            }
            "New" => assert!(
                matches!(c.output, Output::Object(_) | Output::PassThru(_)),
                "{}: New returns the object",
                c.name
            ),
            "Set" | "Remove" | "Clear" | "Publish" => {
                assert_eq!(c.output, Output::Nothing, "{}: returns nothing", c.name);
                assert!(c.should_process, "{}: changing cmdlets support WhatIf", c.name);
            }
            _ => {}
        }
        let passthru = c.param("PassThru").is_some();
        assert_eq!(passthru, matches!(c.output, Output::PassThru(_)), "{}: PassThru and output disagree", c.name);
    }
    let prompting: Vec<&str> = all().iter().filter(|c| c.confirm_by_default).map(|c| c.name).collect();
    assert_eq!(prompting, ["Clear-CsPersistentChatRoom"]);
    // Reference 3.28: no WhatIf/Confirm on these.
    for name in [
        "New-CsPersistentChatCategory",
        "New-CsPersistentChatRoom",
        "New-CsPersistentChatAddin",
        "Export-CsPersistentChatData",
        "Test-CsPersistentChatMessage",
    ] {
        assert!(!cmdlet(name).should_process, "{name}: has no WhatIf/Confirm");
    }
    // ... and no Force on these.
    for name in [
        "Remove-CsPersistentChatCategory",
        "Set-CsPersistentChatCategory",
        "Set-CsPersistentChatAddin",
        "New-CsPersistentChatCategory",
    ] {
        assert!(cmdlet(name).param("Force").is_none(), "{name}: has no Force");
    }
}

#[test]
fn every_cmdlet_has_runnable_looking_examples() {
    for c in all() {
        assert!(!c.examples.is_empty(), "{}: no example", c.name);
        assert!(c.examples.iter().any(|e| e.expect == Expect::Ok), "{}: no succeeding example", c.name);
        let rhai = c.rhai_name();
        for e in c.examples {
            let at = format!("{} example `{}`", c.name, e.code);
            assert!(!e.summary.trim().is_empty() && e.summary.ends_with('.'), "{at}: summary");
            assert_eq!(e.code, e.code.trim(), "{at}: surrounding whitespace");
            let code = code_outside_strings(e.code);
            assert!(brackets_balanced(&code), "{at}: unbalanced brackets");
            let calls_itself = code.contains(&format!("{rhai}(")) || code.contains(&format!(".{rhai}("));
            assert!(calls_itself, "{at}: does not call {rhai}");
            // A string literal as first argument binds positionally, which needs a positional parameter.
            let positional = c.params.iter().any(|p| p.position == Some(0));
            assert!(
                positional || !code.contains(&format!("{rhai}(\"")),
                "{at}: {} has no positional parameter",
                c.name
            );
            // Written in Rhai, not PowerShell.
            for ps in ["$", "@{", "@(", " -eq ", " -ne ", "|%", "| %", "Where-Object", "\\\\"] {
                assert!(!code.contains(ps), "{at}: PowerShell syntax `{ps}` outside a string");
            }
            assert!(!code.contains('\''), "{at}: single quotes are not Rhai strings");
            // Every called function is a cmdlet or a Rhai built-in used by the examples.
            for word in code.split(|ch: char| !(ch.is_ascii_alphanumeric() || ch == '_')) {
                if word.contains('_') && word.chars().next().is_some_and(|ch| ch.is_ascii_lowercase()) {
                    assert!(find(word).is_some(), "{at}: `{word}` is not a cmdlet");
                }
            }
            if let Expect::Error(id) = e.expect {
                assert!(ERROR_IDS.contains(&id), "{at}: unknown error id {id}");
            }
            // Parameter names used in a `#{...}` map after the cmdlet's own call must be real parameters.
            for key in map_keys_of_call(&code, &rhai) {
                let known = accepted_params(c).iter().any(|p| {
                    p.name.eq_ignore_ascii_case(&key) || p.aliases.iter().any(|a| a.eq_ignore_ascii_case(&key))
                });
                let meant_to_fail = matches!(e.expect, Expect::Error("ParameterBinding"));
                assert!(known || meant_to_fail, "{at}: -{key} is not a parameter of {}", c.name);
            }
        }
    }
}

/// The keys of the top-level object maps passed directly to calls of `rhai` in `code` (strings already blanked).
fn map_keys_of_call(code: &str, rhai: &str) -> Vec<String> {
    let mut keys = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(&format!("{rhai}(")) {
        // Skip matches that are only the tail of a longer name.
        let before = rest[..at].chars().next_back();
        rest = &rest[at + rhai.len() + 1..];
        if before.is_some_and(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
            continue;
        }
        // The argument list up to the matching `)`.
        let mut depth = 1;
        let mut end = rest.len();
        for (i, ch) in rest.char_indices() {
            match ch {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        break;
                    }
                }
                _ => {}
            }
        }
        let args = &rest[..end];
        // Keys at map depth 1: `#{Key: ...}` and `, Key: ...` at that level.
        let mut depth = 0;
        let mut token = String::new();
        for ch in args.chars() {
            match ch {
                '{' | '(' | '[' => {
                    depth += 1;
                    token.clear();
                }
                '}' | ')' | ']' => {
                    depth -= 1;
                    token.clear();
                }
                ':' if depth == 1 => {
                    if !token.trim().is_empty() {
                        keys.push(token.trim().to_string());
                    }
                    token.clear();
                }
                ',' => token.clear(),
                _ => token.push(ch),
            }
        }
    }
    keys
}

#[test]
fn map_key_extraction_works() {
    let code =
        code_outside_strings(r#"get_x(#{A: 1, B: #{Add: ["x"]}}).set_x(#{C: ()}); set_x("p", #{D: true, E: |v| v})"#);
    assert_eq!(map_keys_of_call(&code, "get_x"), ["A", "B"]);
    assert_eq!(map_keys_of_call(&code, "set_x"), ["C", "D", "E"]);
}

#[test]
fn reference_specific_entries() {
    // Get-CsService: Identity, Filter and one set per role switch (32 in all); PoolFqdn in every set.
    let svc = cmdlet("Get-CsService");
    assert_eq!(svc.sets.len(), 32);
    assert_eq!(svc.default_set(), "Identity");
    assert!(svc.param("PoolFqdn").unwrap().sets.is_empty());
    let switches: Vec<&Param> = svc.params.iter().filter(|p| p.ty == Ty::Switch).collect();
    assert_eq!(switches.len(), 30);
    for p in &switches {
        assert_eq!(p.sets.len(), 1, "Get-CsService -{}", p.name);
        let expected = if p.name == "ConferencingServer" { "ConferenceServer" } else { p.name };
        assert_eq!(p.sets[0], expected);
    }
    assert_eq!(svc.param("ConferencingServer").unwrap().aliases, &["ConferenceServer"]);
    assert_eq!(svc.param("TrustedApplicationPool").unwrap().aliases, &["ExternalServer"]);

    // Ranges of 1.9.
    for name in ["New-CsPersistentChatConfiguration", "Set-CsPersistentChatConfiguration"] {
        let p = cmdlet(name).param("DefaultChatHistory").unwrap();
        assert_eq!((p.ty, p.range), (Ty::Int16, Some(Range::Int(1, 500))));
    }
    for name in ["New-CsPersistentChatComplianceConfiguration", "Set-CsPersistentChatComplianceConfiguration"] {
        let p = cmdlet(name).param("RunInterval").unwrap();
        assert_eq!((p.ty, p.range), (Ty::TimeSpan, Some(Range::Span(60, 30 * 86400))));
    }

    // Grant: the only cmdlet with two positional parameters (3.18).
    let grant = cmdlet("Grant-CsPersistentChatPolicy");
    assert_eq!(grant.param("Identity").unwrap().position, Some(0));
    assert_eq!(grant.param("PolicyName").unwrap().position, Some(1));
    for c in all().iter().filter(|c| c.name != grant.name) {
        assert!(c.params.iter().all(|p| p.position.unwrap_or(0) == 0), "{}: second positional slot", c.name);
    }

    // 3.20: Set-CsPersistentChatCategory -Instance is not positional; 3.24: piped strings bind to Identity.
    assert_eq!(cmdlet("Set-CsPersistentChatCategory").param("Instance").unwrap().position, None);
    for name in ["Remove-CsPersistentChatAddin", "Remove-CsPersistentChatCategory"] {
        assert!(cmdlet(name).param("Identity").unwrap().by_value, "{name}");
    }

    // 3.22: Remove-CsPersistentChatMessage.
    let rm = cmdlet("Remove-CsPersistentChatMessage");
    assert_eq!(rm.sets, &["Remove", "Replace"]);
    assert_eq!(rm.param("Remove").unwrap().mandatory, Mandatory::No);
    assert!(rm.param("ReplaceMessage").unwrap().is_mandatory_in("Replace"));
    assert_eq!(rm.param("Identity").unwrap().position, None);

    // 3.23: Test-CsPersistentChatMessage follows SYNTAX; only TargetFqdn resolves to ServerPlatform.
    let test = cmdlet("Test-CsPersistentChatMessage");
    assert_eq!(test.default_set(), "ServerPlatform");
    let target = test.param("TargetFqdn").unwrap();
    assert!(target.is_mandatory_in("ServerPlatform") && !target.is_mandatory_in("ClientPlatform"));
    for name in ["SenderSipAddress", "ReceiverSipAddress", "SenderCredential", "ReceiverCredential"] {
        let p = test.param(name).unwrap();
        assert!(p.is_mandatory_in("ClientPlatform") && !p.is_mandatory_in("ServerPlatform"), "{name}");
    }
    for (name, alias) in [
        ("TargetFqdn", "t"),
        ("SenderSipAddress", "sa"),
        ("SenderCredential", "sc"),
        ("ReceiverSipAddress", "ra"),
        ("ReceiverCredential", "rc"),
        ("Authentication", "Ath"),
        ("OutLoggerVariable", "olv"),
        ("OutVerboseVariable", "ovv"),
        ("RegistrarPort", "rp"),
    ] {
        assert_eq!(test.param(name).unwrap().aliases, &[alias], "{name}");
    }

    // 3.57: pre-release parameters are not accepted.
    for name in ["New-CsPersistentChatConfiguration", "Set-CsPersistentChatConfiguration"] {
        let c = cmdlet(name);
        assert!(c.param("MaxChatContentSizeMB").is_none() && c.param("FileServiceUrl").is_none(), "{name}");
    }
    assert!(cmdlet("New-CsPersistentChatConfiguration").param("Instance").is_none());

    // Export: FileName (default) or AsBytes, each mandatory in its set; Import: ByteInput binds piped bytes.
    let export = cmdlet("Export-CsPersistentChatData");
    assert_eq!(export.sets, &["FileName", "AsBytes"]);
    assert!(export.param("FileName").unwrap().is_mandatory_in("FileName"));
    assert!(export.param("AsBytes").unwrap().is_mandatory_in("AsBytes"));
    let import = cmdlet("Import-CsPersistentChatData");
    let bytes = import.param("ByteInput").unwrap();
    assert!(bytes.ty == Ty::Bytes && bytes.by_value && bytes.is_mandatory_in("ByteInput"));

    // Eligible principals: exactly one of Category/Room.
    let elig = cmdlet("Get-CsPersistentChatEligiblePrincipal");
    assert!(elig.param("Category").unwrap().is_mandatory_in("Category"));
    assert!(elig.param("Room").unwrap().is_mandatory_in("Room"));
    assert_eq!(elig.param("Presenters").unwrap().sets, &["Room"]);

    // Output kinds the engine relies on.
    assert_eq!(cmdlet("New-CsPersistentChatEndpoint").output, Output::PassThru(ObjType::Endpoint));
    assert_eq!(grant.output, Output::PassThru(ObjType::User));
    assert_eq!(export.output, Output::Bytes);
    assert_eq!(test.output, Output::Object(ObjType::TaskOutput));
    assert_eq!(cmdlet("Get-Credential").output, Output::Object(ObjType::Credential));
}

#[test]
fn expression_filters_are_typed_as_filters() {
    let expression: BTreeSet<&str> =
        ["Get-CsAdPrincipal", "Get-CsPersistentChatEndpoint", "Get-CsUser", "Get-CsPersistentChatRoom"].into();
    for c in all() {
        if let Some(p) = c.param("Filter") {
            let want = if expression.contains(c.name) { Ty::Filter } else { Ty::String };
            assert_eq!(p.ty, want, "{} -Filter", c.name);
        }
    }
}

#[test]
fn instance_params_match_the_object_their_noun_returns() {
    for c in all() {
        let Some(p) = c.param("Instance") else {
            continue;
        };
        let Ty::Object(t) = p.ty else { panic!("{}: -Instance is not an object", c.name) };
        let getter = all().iter().find(|g| g.verb() == "Get" && g.noun == c.noun && g.output == Output::Collection(t));
        assert!(getter.is_some(), "{}: no Get cmdlet of its noun returns {t:?}", c.name);
    }
}
