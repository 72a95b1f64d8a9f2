//! Step 3 of the port (docs/design/postgres-port.md §5): the store's NOCASE comparisons made
//! explicit. SQLite compares a column declared `COLLATE NOCASE` ignoring ASCII case wherever
//! it appears (`=`, `IN`, ranges, `ORDER BY`, `DISTINCT`, `min`/`max`); PostgreSQL prepares the
//! same text and compares exactly: a silent wrong answer. A use written with an explicit
//! `COLLATE NOCASE` means the same on SQLite (the column's own collation, the same index) and
//! `Dialect::query` spells it with `lower()` for PostgreSQL; an explicit `COLLATE BINARY` means
//! an exact comparison on both. A join of a stored reference with the NOCASE key it names
//! (`schema::CANONICAL_REFERENCES`) is exact on purpose: the store keeps those references in
//! their key's spelling. [`scan`] finds the uses that are none of these; the test below runs it
//! over every text of the inventory.

use std::collections::HashMap;

/// A token of a statement. Words keep their spelling (`r.name`); `{db}.` is dropped.
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Word(String),
    Param(String),
    Literal(String),
    Number(String),
    Op(String),
    Open,
    Close,
    Comma,
}

impl Tok {
    fn text(&self) -> &str {
        match self {
            Tok::Word(s) | Tok::Param(s) | Tok::Literal(s) | Tok::Number(s) | Tok::Op(s) => s,
            Tok::Open => "(",
            Tok::Close => ")",
            Tok::Comma => ",",
        }
    }

    fn is(&self, keyword: &str) -> bool {
        matches!(self, Tok::Word(w) if w.eq_ignore_ascii_case(keyword))
    }
}

const KEYWORDS: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "JOIN",
    "LEFT",
    "INNER",
    "CROSS",
    "ON",
    "AND",
    "OR",
    "NOT",
    "IN",
    "IS",
    "NULL",
    "ORDER",
    "GROUP",
    "BY",
    "LIMIT",
    "OFFSET",
    "HAVING",
    "AS",
    "SET",
    "UPDATE",
    "DELETE",
    "INSERT",
    "INTO",
    "VALUES",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "EXISTS",
    "DISTINCT",
    "COLLATE",
    "NOCASE",
    "LIKE",
    "GLOB",
    "BETWEEN",
    "ESCAPE",
    "ASC",
    "DESC",
    "CONFLICT",
    "DO",
    "NOTHING",
    "RETURNING",
    "USING",
    "UNION",
    "ALL",
];

fn keyword(w: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(w))
}

fn tokens(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'.';
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            _ if c.is_ascii_whitespace() => i += 1,
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            // `{db}.`, `{to}.`, `{from}.`: which copy, not which table.
            b'{' => {
                while i < b.len() && b[i] != b'}' {
                    i += 1;
                }
                i += 1;
                if b.get(i) == Some(&b'.') {
                    i += 1;
                }
            }
            b'\'' => {
                i += 1;
                while i < b.len() {
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Literal(sql[start..i.min(b.len())].to_string()));
            }
            b'?' => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(Tok::Param(sql[start..i].to_string()));
            }
            b'(' => {
                i += 1;
                out.push(Tok::Open);
            }
            b')' => {
                i += 1;
                out.push(Tok::Close);
            }
            b',' => {
                i += 1;
                out.push(Tok::Comma);
            }
            _ if c.is_ascii_digit() => {
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(Tok::Number(sql[start..i].to_string()));
            }
            _ if word(c) => {
                while i < b.len() && word(b[i]) {
                    i += 1;
                }
                out.push(Tok::Word(sql[start..i].to_string()));
            }
            _ => {
                let two = sql.get(i..i + 2).unwrap_or("");
                let op = if ["||", "<=", ">=", "<>", "!=", "=="].contains(&two) { two } else { &sql[i..i + 1] };
                i += op.len();
                out.push(Tok::Op(op.to_string()));
            }
        }
    }
    out
}

/// Table → its columns and whether each is declared NOCASE.
pub type Schema = HashMap<String, HashMap<String, bool>>;

/// The schema every SQLite store has (both databases, every step), as its catalog describes it.
pub fn schema() -> Schema {
    use crate::catalog::descriptor::Database;
    use crate::store::schema::describe::{describe, replayed};
    use crate::store::schema::sqlite_steps;
    let mut out = Schema::new();
    for db in [Database::Central, Database::Pool] {
        for t in describe(&replayed(sqlite_steps(db))).tables {
            out.insert(t.name, t.columns.into_iter().map(|c| (c.name, c.nocase)).collect());
        }
    }
    out
}

/// A use of a NOCASE column that compares case-sensitively on PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Use {
    /// `comparison`, `column pair`, `IN`, `BETWEEN`, `LIKE`, `GLOB`, `ORDER BY`, `GROUP BY`,
    /// `DISTINCT`, `min/max`.
    pub what: &'static str,
    /// `table.column`.
    pub column: String,
    /// The tokens of the use, joined by spaces (`r.name = ?2`).
    pub text: String,
}

/// What the scan of one text found: the uses not made explicit, and how many are.
#[derive(Debug, Default)]
pub struct Scan {
    pub uses: Vec<Use>,
    pub explicit: usize,
    /// Joins of a canonical reference with its key (`schema::CANONICAL_REFERENCES`).
    pub canonical: usize,
}

/// Whether `a` and `b` (`table.column`) are a reference the store keeps canonical and its key.
fn canonical_pair(a: &str, b: &str) -> bool {
    crate::store::schema::CANONICAL_REFERENCES.iter().any(|&(r, k)| (r, k) == (a, b) || (k, r) == (a, b))
}

struct Scope {
    parent: Option<usize>,
    /// (name or alias, table).
    tables: Vec<(String, String)>,
}

/// The NOCASE columns of `sql` used case-sensitively (for PostgreSQL), and the explicit uses.
pub fn scan(sql: &str, schema: &Schema) -> Scan {
    let t = tokens(sql);
    let n = t.len();
    let at = |i: usize| t.get(i);
    let is = |i: usize, k: &str| at(i).is_some_and(|x| x.is(k));

    // Scopes: the statement, then each parenthesised SELECT. `scope_of[i]` is token i's.
    let mut scopes = vec![Scope { parent: None, tables: Vec::new() }];
    let mut scope_of = vec![0; n];
    let mut depth_of = vec![0usize; n];
    let mut stack: Vec<(usize, usize)> = vec![(0, 0)]; // (scope, depth it opened at)
    let mut depth = 0;
    for i in 0..n {
        match t[i] {
            Tok::Open => {
                depth += 1;
                if is(i + 1, "SELECT") {
                    scopes.push(Scope { parent: Some(stack.last().expect("the statement").0), tables: Vec::new() });
                    stack.push((scopes.len() - 1, depth));
                }
            }
            Tok::Close => {
                if stack.len() > 1 && stack.last().is_some_and(|&(_, d)| d == depth) {
                    stack.pop();
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        scope_of[i] = stack.last().expect("the statement").0;
        depth_of[i] = depth;
    }
    // Tables: after FROM, JOIN, UPDATE, INTO, and after a comma of a FROM list.
    let table_name = |w: &str| w.strip_prefix("main.").or(w.strip_prefix("temp.")).unwrap_or(w).to_string();
    let mut i = 0;
    while i < n {
        if ["FROM", "JOIN", "UPDATE", "INTO"].iter().any(|k| t[i].is(k)) {
            let mut j = i + 1;
            while let Some(Tok::Word(w)) = at(j) {
                let name = table_name(w);
                if !schema.contains_key(&name) {
                    break;
                }
                let scope = scope_of[j];
                scopes[scope].tables.push((name.clone(), name.clone()));
                j += 1;
                if is(j, "AS") {
                    j += 1;
                }
                if let Some(Tok::Word(alias)) = at(j)
                    && !keyword(alias)
                {
                    scopes[scope].tables.push((alias.clone(), name));
                    j += 1;
                }
                if t[i].is("FROM") && at(j) == Some(&Tok::Comma) {
                    j += 1;
                    continue;
                }
                break;
            }
        }
        i += 1;
    }
    // The column token i names, with whether it is NOCASE: resolved in its scope, then outward.
    let column = |i: usize| -> Option<(String, bool)> {
        let Some(Tok::Word(w)) = at(i) else { return None };
        if keyword(w) || at(i + 1) == Some(&Tok::Open) {
            return None;
        }
        let mut scope = Some(scope_of[i]);
        while let Some(s) = scope {
            let found = match w.split_once('.') {
                Some((q, c)) => scopes[s]
                    .tables
                    .iter()
                    .find(|(name, _)| name == q)
                    .and_then(|(_, table)| schema[table].get(c).map(|&nc| (format!("{table}.{c}"), nc))),
                None => scopes[s]
                    .tables
                    .iter()
                    .find_map(|(_, table)| schema[table].get(w.as_str()).map(|&nc| (format!("{table}.{w}"), nc))),
            };
            if found.is_some() {
                return found;
            }
            scope = scopes[s].parent;
        }
        None
    };
    let nocase = |i: usize| column(i).filter(|(_, nc)| *nc).map(|(c, _)| c);
    // An explicit collation: NOCASE (spelt with lower() for PostgreSQL) or BINARY (exact on both).
    let collated = |i: usize| is(i, "COLLATE") && (is(i + 1, "NOCASE") || is(i + 1, "BINARY"));
    let nocase_collated = |i: usize| is(i, "COLLATE") && is(i + 1, "NOCASE");
    let text = |from: usize, to: usize| t[from..to.min(n)].iter().map(Tok::text).collect::<Vec<_>>().join(" ");
    // The end (exclusive) of the operand starting at i: a primary, `||` more.
    let operand_end = |mut i: usize| -> usize {
        loop {
            if at(i) == Some(&Tok::Open) {
                let d = depth_of[i];
                i += 1;
                while i < n && !(t[i] == Tok::Close && depth_of[i] + 1 == d) {
                    i += 1;
                }
                i = (i + 1).min(n);
            } else {
                i += 1;
                if at(i) == Some(&Tok::Open) {
                    continue;
                }
            }
            if at(i) == Some(&Tok::Op("||".into())) {
                i += 1;
                continue;
            }
            return i;
        }
    };

    let mut canonical = 0;
    let mut scan = Scan::default();
    let mut flag = |what: &'static str, column: String, text: String, explicit: bool| {
        if explicit {
            scan.explicit += 1;
        } else {
            scan.uses.push(Use { what, column, text });
        }
    };
    // The SET clause of an UPDATE (or an upsert): its `=` assign.
    let mut set_depth: Option<usize> = None;
    // Inside ORDER BY / GROUP BY (which, at what depth), and the select list of a DISTINCT.
    let mut by: Option<(&'static str, usize)> = None;
    let mut distinct: Option<usize> = None;
    for i in 0..n {
        let d = depth_of[i];
        if t[i].is("SET") {
            set_depth = Some(d);
        } else if set_depth.is_some_and(|s| d < s || d == s && (t[i].is("WHERE") || t[i].is("RETURNING"))) {
            set_depth = None;
        }
        if let Some((_, bd)) = by
            && (d < bd || d == bd && (t[i].is("LIMIT") || t[i].is("HAVING") || t[i] == Tok::Op(";".into())))
        {
            by = None;
        }
        if distinct.is_some_and(|dd| d < dd || d == dd && t[i].is("FROM")) {
            distinct = None;
        }
        if t[i].is("BY") && i > 0 {
            by = if t[i - 1].is("ORDER") {
                Some(("ORDER BY", d))
            } else if t[i - 1].is("GROUP") {
                Some(("GROUP BY", d))
            } else {
                by
            };
        }
        if t[i].is("DISTINCT") && i > 0 && t[i - 1].is("SELECT") {
            distinct = Some(d);
        }
        // A term of ORDER BY, GROUP BY or a DISTINCT select list that is a bare column.
        let term_start = i > 0 && (t[i - 1].is("BY") || t[i - 1] == Tok::Comma || t[i - 1].is("DISTINCT"));
        let term_end = |j: usize| {
            at(j).is_none_or(|x| {
                matches!(x, Tok::Comma | Tok::Close)
                    || ["LIMIT", "ASC", "DESC", "FROM", "COLLATE"].iter().any(|k| x.is(k))
                    || *x == Tok::Op(";".into())
            })
        };
        if term_start && term_end(i + 1) {
            let what = match (by, distinct) {
                (Some((what, bd)), _) if bd == d => Some(what),
                (_, Some(dd)) if dd == d => Some("DISTINCT"),
                _ => None,
            };
            if let (Some(what), Some(c)) = (what, nocase(i)) {
                flag(what, c, text(i, i + 1), collated(i + 1));
            }
        }
        if (t[i].is("min") || t[i].is("max"))
            && at(i + 1) == Some(&Tok::Open)
            && at(i + 3) == Some(&Tok::Close)
            && let Some(c) = nocase(i + 2)
        {
            flag("min/max", c, text(i, i + 4), false);
        }
        match &t[i] {
            Tok::Op(op) if ["=", "==", "<>", "!=", "<", "<=", ">", ">="].contains(&op.as_str()) => {
                if set_depth == Some(d) && i >= 1 && column(i - 1).is_some() && !collated(i.saturating_sub(2)) {
                    continue; // an assignment
                }
                let left_collated = i >= 3 && collated(i - 2);
                let left = if left_collated { i - 3 } else { i.saturating_sub(1) };
                let right_end = operand_end(i + 1);
                let right_col = (right_end == i + 2).then(|| column(i + 1)).flatten();
                let explicit = left_collated || collated(right_end);
                let left_col = (i >= 1).then(|| column(left)).flatten();
                let nc = left_col.iter().chain(&right_col).find(|(_, nc)| *nc).map(|(c, _)| c.clone());
                let Some(c) = nc else { continue };
                if let (Some((l, _)), Some((r, _))) = (&left_col, &right_col)
                    && canonical_pair(l, r)
                    && !explicit
                {
                    canonical += 1;
                    continue;
                }
                let what = if left_col.is_some() && right_col.is_some() { "column pair" } else { "comparison" };
                flag(what, c, text(left, right_end), explicit);
            }
            Tok::Word(w) if ["IN", "BETWEEN", "LIKE", "GLOB"].iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                let what = ["IN", "BETWEEN", "LIKE", "GLOB"].into_iter().find(|k| w.eq_ignore_ascii_case(k));
                let what = what.expect("one of them");
                let j = if i >= 1 && t[i - 1].is("NOT") { i - 1 } else { i };
                if j == 0 {
                    continue;
                }
                let (col, explicit) =
                    if j >= 3 && collated(j - 2) { (nocase(j - 3), true) } else { (nocase(j - 1), false) };
                let Some(c) = col else { continue };
                let end = operand_end(i + 1);
                // LIKE ignores ASCII case on SQLite whatever the collation: NOCASE only.
                let explicit = explicit || what == "LIKE" && nocase_collated(end);
                flag(what, c, text(j - 1, end), explicit && what != "GLOB");
            }
            _ => {}
        }
    }
    scan.canonical = canonical;
    scan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::descriptor::Database;
    use crate::store::db::inventory::{self, Kind};
    use crate::store::schema;

    /// Texts in code another engineer is changing (src/store/mod.rs's open and attach code, see
    /// the brief of step 3 in docs/design/postgres-port.md §5): made explicit with that change.
    /// `(text, reason)`; the test fails on an entry that matches no text or has no use left.
    const ELSEWHERE: &[(&str, &str)] = &[
        ("SELECT identity, file, file_id FROM sql_instances ORDER BY identity", "Store::read_instance_rows (open)"),
        ("SELECT file FROM sql_instances WHERE identity = ?1", "Store::pool_file_path (attach)"),
    ];

    /// Every text of the inventory the store runs on a database (not the released migration
    /// steps, whose DDL PostgreSQL replaces by the baseline, nor the copies between two
    /// databases, which it replaces by COPY): no NOCASE column is used case-sensitively but the
    /// listed ones.
    #[test]
    fn no_store_statement_compares_a_nocase_column_silently() {
        let schema = schema();
        let steps: Vec<&str> = [Database::Central, Database::Pool]
            .into_iter()
            .flat_map(|db| schema::sqlite_steps(db).iter().copied())
            .collect();
        let mut canonical = 0;
        let mut elsewhere_used = vec![0; ELSEWHERE.len()];
        let (mut texts, mut flagged, mut explicit_texts, mut explicit) = (0, 0, 0, 0);
        let mut gaps = Vec::new();
        for line in inventory::CHECKED_IN.lines() {
            let (kind, text) = line.split_once('\t').expect("kind<TAB>text");
            let sql = inventory::unescape(text);
            if Kind::parse(kind) == Some(Kind::Across) || steps.contains(&sql.as_str()) {
                continue;
            }
            texts += 1;
            let scan = scan(&sql, &schema);
            explicit += scan.explicit;
            explicit_texts += usize::from(scan.explicit > 0);
            let elsewhere = ELSEWHERE.iter().position(|(t, _)| *t == sql);
            if let Some(e) = elsewhere {
                elsewhere_used[e] += usize::from(!scan.uses.is_empty());
            }
            canonical += scan.canonical;
            let left = &scan.uses;
            if !left.is_empty() {
                flagged += 1;
                if elsewhere.is_none() {
                    let uses: Vec<String> =
                        left.iter().map(|u| format!("{} ({}): {}", u.what, u.column, u.text)).collect();
                    gaps.push(format!("[{kind}] {}\n  {sql}", uses.join("; ")));
                }
            }
        }
        for (i, n) in elsewhere_used.iter().enumerate() {
            if *n == 0 {
                gaps.push(format!("ELSEWHERE entry {:?} matches no text with a use: remove it", ELSEWHERE[i].0));
            }
        }
        eprintln!(
            "{texts} texts: {explicit} explicit NOCASE uses in {explicit_texts}; {canonical} joins of a canonical \
             reference with its key; {flagged} texts with an implicit use ({} of them listed as changed elsewhere)",
            ELSEWHERE.len()
        );
        assert!(gaps.is_empty(), "{} NOCASE uses PostgreSQL would compare exactly:\n{}", gaps.len(), gaps.join("\n"));
    }

    /// An explicit `COLLATE NOCASE` on a NOCASE column is the column's own collation: SQLite
    /// plans the explicit text as the implicit one (same indexes, no added sort), for
    /// representative texts of the store: a room by name, a name prefix range, IN lists (of
    /// values, of a JSON list, of a subquery), principals by an indexed name, a join.
    #[test]
    fn explicit_nocase_keeps_sqlite_plans() {
        use crate::store::db::{Db, Value, params_from_iter};
        let dbs: Vec<Db> = [Database::Central, Database::Pool]
            .into_iter()
            .map(|db| schema::describe::replayed(schema::sqlite_steps(db)))
            .collect();
        let plan = |sql: &str| -> Vec<String> {
            let sql = format!("EXPLAIN QUERY PLAN {}", sql.replace("{db}.", ""));
            let n = (1..=9).filter(|i| sql.contains(&format!("?{i}"))).count();
            dbs.iter()
                .find_map(|db| db.query_map(&sql, params_from_iter(vec![Value::Null; n]), |r| r.get::<String>(3)).ok())
                .unwrap_or_else(|| panic!("plans on neither database: {sql}"))
        };
        const ROOM: &str =
            "SELECT r.id, j3.name FROM {db}.rooms r LEFT JOIN {db}.categories j3 ON j3.id = r.category_id";
        let pairs = [
            (
                "SELECT id FROM {db}.rooms WHERE pool = ?1 AND name = ?2".to_string(),
                "SELECT id FROM {db}.rooms WHERE pool = ?1 COLLATE NOCASE AND name = ?2 COLLATE NOCASE".to_string(),
            ),
            (
                format!("{ROOM} WHERE r.pool = ?1 AND r.name >= ?2 AND r.name < ?3 ORDER BY r.name COLLATE NOCASE"),
                format!(
                    "{ROOM} WHERE r.pool = ?1 COLLATE NOCASE AND r.name >= ?2 COLLATE NOCASE AND r.name < ?3 COLLATE NOCASE \
                     ORDER BY r.name COLLATE NOCASE"
                ),
            ),
            (
                format!("{ROOM} WHERE r.pool = ?1 AND r.name = ?2 ORDER BY r.name COLLATE NOCASE"),
                format!("{ROOM} WHERE r.pool = ?1 COLLATE NOCASE AND r.name = ?2 COLLATE NOCASE ORDER BY r.name COLLATE NOCASE"),
            ),
            (
                "SELECT identity FROM configurations WHERE identity IN (?1, ?2, 'Global') \
                 ORDER BY CASE WHEN identity = ?1 THEN 0 WHEN identity = ?2 THEN 1 ELSE 2 END LIMIT 1"
                    .to_string(),
                "SELECT identity FROM configurations WHERE identity COLLATE NOCASE IN (?1, ?2, 'Global') \
                 ORDER BY CASE WHEN identity = ?1 COLLATE NOCASE THEN 0 WHEN identity = ?2 COLLATE NOCASE THEN 1 ELSE 2 END LIMIT 1"
                    .to_string(),
            ),
            (
                "SELECT DISTINCT e.room_id FROM {db}.room_entries e JOIN {db}.rooms r ON r.id = e.room_id \
                 WHERE e.entry IN (SELECT value FROM json_each(?1)) AND e.list = ?2 AND r.pool = ?3"
                    .to_string(),
                "SELECT DISTINCT e.room_id FROM {db}.room_entries e JOIN {db}.rooms r ON r.id = e.room_id \
                 WHERE e.entry COLLATE NOCASE IN (SELECT value FROM json_each(?1)) AND e.list = ?2 AND r.pool = ?3 COLLATE NOCASE"
                    .to_string(),
            ),
            (
                "DELETE FROM principals WHERE endpoint_pool IS NOT NULL AND endpoint_pool NOT IN (SELECT pool FROM services WHERE role = ?1)".to_string(),
                "DELETE FROM principals WHERE endpoint_pool IS NOT NULL AND endpoint_pool COLLATE NOCASE NOT IN (SELECT pool FROM services WHERE role = ?1)".to_string(),
            ),
            (
                "SELECT id FROM principals WHERE sam = ?1 ORDER BY coalesce(display_name, name) COLLATE NOCASE, dn COLLATE NOCASE".to_string(),
                "SELECT id FROM principals WHERE sam = ?1 COLLATE NOCASE ORDER BY coalesce(display_name, name) COLLATE NOCASE, dn COLLATE NOCASE".to_string(),
            ),
            (
                "SELECT id FROM principals WHERE sip = ?1".to_string(),
                "SELECT id FROM principals WHERE sip = ?1 COLLATE NOCASE".to_string(),
            ),
            (
                "SELECT g.dn FROM group_members m JOIN principals g ON g.id = m.group_id WHERE m.member_dn = ?1 AND g.kind = 'Group'".to_string(),
                "SELECT g.dn FROM group_members m JOIN principals g ON g.id = m.group_id WHERE m.member_dn = ?1 COLLATE NOCASE AND g.kind = 'Group'".to_string(),
            ),
            (
                "SELECT p.identity FROM principals u LEFT JOIN pools pl ON pl.fqdn = u.registrar_pool \
                 JOIN policies p ON p.identity IN ('Tag:' || u.policy, 'Site:' || pl.site, 'Global') \
                 WHERE u.sip = ?1 AND u.kind = 'User' \
                 ORDER BY CASE WHEN p.identity = 'Tag:' || u.policy THEN 0 WHEN p.identity = 'Global' THEN 2 ELSE 1 END LIMIT 1"
                    .to_string(),
                "SELECT p.identity FROM principals u LEFT JOIN pools pl ON pl.fqdn = u.registrar_pool \
                 JOIN policies p ON p.identity COLLATE NOCASE IN ('Tag:' || u.policy, 'Site:' || pl.site, 'Global') \
                 WHERE u.sip = ?1 COLLATE NOCASE AND u.kind = 'User' \
                 ORDER BY CASE WHEN p.identity = ('Tag:' || u.policy) COLLATE NOCASE THEN 0 \
                 WHEN p.identity = 'Global' COLLATE NOCASE THEN 2 ELSE 1 END LIMIT 1"
                    .to_string(),
            ),
        ];
        for (implicit, explicit) in &pairs {
            let before = plan(implicit);
            eprintln!("{explicit}\n  {before:?}");
            assert_eq!(plan(explicit), before, "{explicit}");
            assert!(
                !before.iter().any(|step| step.starts_with("SCAN r") || step.starts_with("SCAN rooms")),
                "{before:?}"
            );
        }
    }

    #[test]
    fn the_scan_flags_implicit_nocase_uses_and_passes_explicit_ones() {
        let schema = schema();
        let uses =
            |sql: &str| scan(sql, &schema).uses.iter().map(|u| format!("{}: {}", u.what, u.text)).collect::<Vec<_>>();
        assert_eq!(
            uses(
                "SELECT r.id FROM {db}.rooms r JOIN {db}.categories c ON c.id = r.category_id \
                 WHERE r.pool = ?1 AND name >= ?2 AND r.name IN (?3, 'x') AND c.name NOT LIKE ?4 \
                 AND r.description = ?5 ORDER BY r.name, c.name COLLATE NOCASE LIMIT 3"
            ),
            [
                "comparison: r.pool = ?1",
                "comparison: name >= ?2",
                "IN: r.name IN ( ?3 , 'x' )",
                "LIKE: c.name NOT LIKE ?4",
                "ORDER BY: r.name",
            ]
        );
        assert_eq!(
            uses(
                "SELECT p.dn, max(p.sam) FROM group_members m JOIN principals p ON p.sam = m.member_dn \
                 WHERE m.group_id = ?1 AND policy NOT IN (SELECT identity FROM policies WHERE tenant = ?2) GROUP BY sip"
            ),
            [
                "min/max: max ( p.sam )",
                "column pair: p.sam = m.member_dn",
                "IN: policy NOT IN ( SELECT identity FROM policies WHERE tenant = ?2 )",
                "GROUP BY: sip"
            ]
        );
        assert_eq!(uses("SELECT DISTINCT e.entry, e.list FROM {db}.room_entries e"), ["DISTINCT: e.entry"]);
        // Explicit, assignments, and columns not declared NOCASE (principals.name, services.pool).
        let passing = [
            "SELECT r.id FROM {db}.rooms r WHERE r.pool = ?1 COLLATE NOCASE AND r.name >= ?2 COLLATE NOCASE \
             AND r.name COLLATE NOCASE IN (?3, 'x') AND r.name LIKE ?4 COLLATE NOCASE ESCAPE '\\' \
             ORDER BY r.name COLLATE NOCASE",
            "UPDATE {db}.rooms SET name = ?2, pool = ?3 WHERE id = ?1",
            "INSERT INTO health_test_users(pool, user1, user2) VALUES (?1, ?2, ?3) \
             ON CONFLICT(pool) DO UPDATE SET pool = excluded.pool",
            "SELECT 1 FROM principals WHERE name = ?1 AND identity = 'x' ORDER BY name",
            "SELECT 1 FROM policies p WHERE p.identity = ('Tag:' || ?1) COLLATE NOCASE \
             AND CASE WHEN p.identity = 'Global' COLLATE NOCASE THEN 1 END",
            "SELECT pool FROM services WHERE pool = ?1 ORDER BY pool",
            // Exact on both: an explicit BINARY, a canonical reference joined with its key.
            "UPDATE group_members SET member_dn = ?1 WHERE member_dn = ?1 COLLATE NOCASE AND member_dn <> ?1 COLLATE BINARY",
            "SELECT p.kind FROM group_members m JOIN principals p ON p.dn = m.member_dn WHERE m.group_id = ?1",
            "SELECT 1 FROM principals u LEFT JOIN pools pl ON pl.fqdn = u.registrar_pool",
        ];
        for sql in passing {
            assert_eq!(uses(sql), Vec::<String>::new(), "{sql}");
        }
        assert_eq!(scan(passing[0], &schema).explicit, 5);
        assert_eq!(scan(passing[6], &schema).explicit, 2);
        assert_eq!(scan(passing[7], &schema).canonical, 1);
        // A canonical reference is canonical for its key only.
        assert_eq!(
            uses("SELECT 1 FROM principals u JOIN principals p ON p.dn = u.registrar_pool"),
            ["column pair: p.dn = u.registrar_pool"]
        );
    }
}
