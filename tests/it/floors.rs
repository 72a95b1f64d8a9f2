//! The house has floors: a module may import from its own floor and the floors below, never from
//! a floor above, and the top-level modules import each other without a cycle. Every SQL statement
//! lives in the store. Checked by reading `crate::` paths in src/ (test modules excepted: they may
//! reach any floor to build their fixtures).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// Top-level modules by floor, ground first. A new module must be given a floor here.
const FLOORS: &[&[&str]] = &[
    &["values", "errors", "catalog", "objects", "testing", "fault", "interrupt", "streams", "files"],
    &["store", "binder", "filters", "invocation", "access"],
    &["handlers"],
    &["engine", "repl", "powershell", "output", "help"],
    &["cli"],
];

fn floor(module: &str) -> Option<usize> {
    FLOORS.iter().position(|f| f.contains(&module))
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src").flatten() {
        let path = entry.path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to (`None` for the crate roots).
fn module_of(rel: &Path) -> Option<String> {
    let first = rel.components().next()?.as_os_str().to_string_lossy().to_string();
    let name = first.strip_suffix(".rs").unwrap_or(&first).to_string();
    (name != "lib" && name != "main").then_some(name)
}

/// The file's code without comments and without its trailing test module.
fn production_code(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let end = (0..lines.len())
        .find(|&i| {
            lines[i].trim() == "#[cfg(test)]"
                && lines[i + 1..]
                    .iter()
                    .find(|l| !l.trim().starts_with("#["))
                    .is_some_and(|l| l.trim_start_matches("pub(crate) ").starts_with("mod "))
        })
        .unwrap_or(lines.len());
    lines[..end].iter().filter(|l| !l.trim_start().starts_with("//")).copied().collect::<Vec<_>>().join("\n")
}

/// The top-level modules a piece of code names through `crate::` (also `use crate::{a, b::c}`).
fn imported_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| s.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect::<String>();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut start = 0;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        out.insert(ident(group[start..j].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.insert(ident(group[start..j].trim()));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
        } else {
            out.insert(ident(rest));
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

/// module → (imported module → a file that imports it)
fn import_graph() -> BTreeMap<String, BTreeMap<String, String>> {
    let src = Path::new(ROOT).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    let mut graph: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src").to_path_buf();
        let Some(module) = module_of(&rel) else { continue };
        // Files that are whole test modules (`#[cfg(test)] mod tests;`).
        if rel.file_name().is_some_and(|n| n == "tests.rs") {
            continue;
        }
        let code = production_code(&std::fs::read_to_string(&file).expect("read source"));
        let edges = graph.entry(module.clone()).or_default();
        for imported in imported_modules(&code) {
            if imported != module {
                edges.entry(imported).or_insert_with(|| rel.display().to_string());
            }
        }
    }
    graph
}

#[test]
fn no_module_imports_from_a_higher_floor() {
    let graph = import_graph();
    let mut problems = Vec::new();
    for (module, edges) in &graph {
        let Some(own) = floor(module) else {
            problems.push(format!("src/{module} has no floor in tests/it/floors.rs FLOORS"));
            continue;
        };
        for (imported, file) in edges {
            match floor(imported) {
                Some(f) if f > own => {
                    problems.push(format!("src/{file}: {module} (floor {own}) imports {imported} (floor {f})"))
                }
                None => problems.push(format!("src/{file}: imports {imported}, which has no floor")),
                _ => {}
            }
        }
    }
    assert!(problems.is_empty(), "upward imports:\n{}", problems.join("\n"));
}

#[test]
fn top_level_modules_import_each_other_without_a_cycle() {
    let graph = import_graph();
    // Depth-first search; a module met again while still on the path closes a cycle.
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeMap<String, String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == m) {
            let mut cycle = path[i..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if !done.insert(m.to_string()) {
            return None;
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flat_map(|e| e.keys()) {
            if let Some(cycle) = visit(next, graph, path, done) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for m in graph.keys() {
        if let Some(cycle) = visit(m, &graph, &mut Vec::new(), &mut done) {
            panic!("import cycle: {}", cycle.join(" -> "));
        }
    }
}

#[test]
fn the_checks_see_imports_in_every_form() {
    let code =
        "use crate::binder::Bound;\nuse crate::{handlers, output::{self, x}};\nlet a = crate::store::Store::open(p);";
    let found: Vec<String> = imported_modules(code).into_iter().collect();
    assert_eq!(found, ["binder", "handlers", "output", "store"]);
    let text = "use crate::a;\n// use crate::b;\n#[cfg(test)]\nmod tests {\n    use crate::c;\n}\n";
    assert_eq!(imported_modules(&production_code(text)).into_iter().collect::<Vec<_>>(), ["a"]);
    // A test module other test modules use (`pub(crate) mod tests`) is one too.
    let shared = text.replace("mod tests", "pub(crate) mod tests");
    assert_eq!(imported_modules(&production_code(&shared)).into_iter().collect::<Vec<_>>(), ["a"]);
}

#[test]
fn every_sql_statement_is_in_the_store() {
    let sql = regex::Regex::new(
        r#""[^"]*\b(SELECT\s.*\sFROM|INSERT\s+INTO|DELETE\s+FROM|UPDATE\s+\S+\s+SET|CREATE\s+(TABLE|INDEX)|PRAGMA\s|ATTACH\s+DATABASE)\b"#,
    )
    .expect("regex");
    let src = Path::new(ROOT).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut outside = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).expect("under src");
        if rel.starts_with("store") {
            continue;
        }
        let code = production_code(&std::fs::read_to_string(&file).expect("read source"));
        for line in code.lines().filter(|l| sql.is_match(l)) {
            outside.push(format!("src/{}: {}", rel.display(), line.trim()));
        }
    }
    assert!(outside.is_empty(), "SQL outside src/store:\n{}", outside.join("\n"));
    assert!(sql.is_match(r#"x.execute("DELETE FROM meta WHERE key = ?1", [k])"#), "the pattern finds SQL");
}
