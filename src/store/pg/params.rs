//! The store writes its SQL once, with SQLite's parameters (`?1`, `?2`, and bare `?` numbered on from the
//! highest so far); PostgreSQL numbers them `$1`, `$2`. The PostgreSQL session rewrites each statement
//! text once, when it prepares it (docs/design/postgres-port.md, §1 "?N parameters").

use std::borrow::Cow;

/// `sql` with SQLite's `?N`/`?` parameters spelled `$N`. Quoted strings, quoted identifiers and comments
/// are left alone. The store's SQL uses no PostgreSQL `?` JSON operator, so every `?` outside quotes is a
/// parameter.
pub fn to_postgres(sql: &str) -> Cow<'_, str> {
    if !sql.contains('?') {
        return Cow::Borrowed(sql);
    }
    let b = sql.as_bytes();
    let mut out = String::with_capacity(sql.len() + 8);
    // SQLite gives a bare `?` the number after the highest used so far.
    let mut highest = 0usize;
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        match b[i] {
            q @ (b'\'' | b'"') => {
                // A doubled quote inside is an escaped quote: scanning on to the next quote handles it.
                i += 1;
                while i < b.len() && b[i] != q {
                    i += 1;
                }
                i += 1;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..].find("*/").map_or(b.len(), |end| i + 2 + end + 2);
            }
            b'?' => {
                let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                let n = if digits == 0 { highest + 1 } else { sql[i + 1..i + 1 + digits].parse().unwrap_or(0) };
                highest = highest.max(n);
                out.push_str(&sql[copied..i]);
                out.push('$');
                out.push_str(&n.to_string());
                i += 1 + digits;
                copied = i;
            }
            _ => i += 1,
        }
    }
    out.push_str(&sql[copied.min(sql.len())..]);
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::to_postgres;

    #[test]
    fn numbered_and_bare_parameters_become_dollar_numbers() {
        assert_eq!(
            to_postgres("UPDATE pools SET state = ?2 WHERE fqdn = ?1"),
            "UPDATE pools SET state = $2 WHERE fqdn = $1"
        );
        assert_eq!(to_postgres("SELECT ?, ?, ?"), "SELECT $1, $2, $3");
        // As SQLite numbers them: a bare `?` follows the highest number so far.
        assert_eq!(to_postgres("SELECT ?3, ?, ?1, ?"), "SELECT $3, $4, $1, $5");
        assert_eq!(to_postgres("x IN (SELECT value FROM t WHERE a = ?12)"), "x IN (SELECT value FROM t WHERE a = $12)");
    }

    #[test]
    fn quotes_and_comments_are_left_alone() {
        assert_eq!(to_postgres("SELECT 'a?b', \"c?\" FROM t WHERE x = ?1"), "SELECT 'a?b', \"c?\" FROM t WHERE x = $1");
        assert_eq!(to_postgres("SELECT 'it''s ?' WHERE y = ?"), "SELECT 'it''s ?' WHERE y = $1");
        assert_eq!(to_postgres("SELECT 1 -- why?\nWHERE z = ?2"), "SELECT 1 -- why?\nWHERE z = $2");
        assert_eq!(to_postgres("SELECT /* ?? */ ?1"), "SELECT /* ?? */ $1");
        assert_eq!(to_postgres("SELECT 1"), "SELECT 1");
        // Unterminated quotes and comments end the scan instead of failing it.
        assert_eq!(to_postgres("SELECT ?1, 'open ?"), "SELECT $1, 'open ?");
        assert_eq!(to_postgres("SELECT ?1 /* open ?"), "SELECT $1 /* open ?");
    }

    #[test]
    fn the_stores_statements_translate() {
        // A sample of the store's own texts, parameters counted before and after.
        for sql in [
            "INSERT INTO main.pool_sync(pool, seq, generation) VALUES (?1, ?2, ?3)
             ON CONFLICT(pool) DO UPDATE SET seq = excluded.seq, generation = excluded.generation",
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ?1 AND sql IS NOT NULL",
            "INSERT OR REPLACE INTO audit_head(id, count, hash) VALUES (1, ?1, ?2)",
        ] {
            let pg = to_postgres(sql);
            assert_eq!(pg.matches('$').count(), sql.matches('?').count(), "{pg}");
            assert!(!pg.contains('?'), "{pg}");
        }
    }
}
