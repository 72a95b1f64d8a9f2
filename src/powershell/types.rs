//! The .NET type names the subset understands in casts (`[int]$x`), type tests (`-is [string]`)
//! and static members (`[Math]::Round`), under the one name the runtime uses for each.

/// Cast and type-test names: (written forms, canonical name).
const CASTS: &[(&[&str], &str)] = &[
    (&["string", "system.string"], "string"),
    (&["int", "int32", "system.int32", "int64", "long", "system.int64"], "int"),
    (&["double", "float", "single", "decimal", "system.double", "system.decimal"], "double"),
    (&["bool", "boolean", "system.boolean", "switch"], "bool"),
    (&["datetime", "system.datetime"], "datetime"),
    (&["array", "object[]", "system.array", "system.object[]", "string[]", "int[]", "psobject[]"], "array"),
    (
        &[
            "system.collections.arraylist",
            "collections.arraylist",
            "system.collections.generic.list[string]",
            "collections.generic.list[string]",
            "system.collections.generic.list[object]",
            "collections.generic.list[object]",
            "system.collections.generic.list[psobject]",
            "collections.generic.list[psobject]",
            "system.collections.generic.list[system.string]",
            "collections.generic.list[system.string]",
            "system.collections.generic.list[system.object]",
            "collections.generic.list[system.object]",
            "system.collections.generic.list[system.management.automation.psobject]",
        ],
        "arraylist",
    ),
    (&["void"], "void"),
    (&["pscustomobject", "psobject", "system.management.automation.pscustomobject"], "pscustomobject"),
    (&["hashtable", "system.collections.hashtable", "ordered"], "hashtable"),
    (&["object", "system.object"], "object"),
];

/// Types with static members: (written forms, canonical name).
const STATICS: &[(&[&str], &str)] = &[
    (&["math", "system.math"], "math"),
    (&["string", "system.string"], "string"),
    (&["array", "system.array"], "array"),
    (&["datetime", "system.datetime"], "datetime"),
    (&["int", "int32", "system.int32"], "int"),
    (&["environment", "system.environment"], "environment"),
];

fn find(table: &[(&[&str], &'static str)], written: &str) -> Option<&'static str> {
    let lower: String = written.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    table.iter().find(|(forms, _)| forms.contains(&lower.as_str())).map(|(_, name)| *name)
}

pub fn cast_type(written: &str) -> Option<&'static str> {
    find(CASTS, written)
}

pub fn static_type(written: &str) -> Option<&'static str> {
    find(STATICS, written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalised() {
        assert_eq!(cast_type("System.String"), Some("string"));
        assert_eq!(cast_type("Int32"), Some("int"));
        assert_eq!(cast_type("System.Collections.ArrayList"), Some("arraylist"));
        assert_eq!(cast_type("System.IO.File"), None);
        assert_eq!(static_type("Math"), Some("math"));
        assert_eq!(static_type("System.IO.Path"), None);
    }
}
