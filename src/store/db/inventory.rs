//! The inventory of the store's SQL texts (docs/design/postgres-port.md §5, step 3): every distinct
//! text the store runs, so that `store::pg::statements` can prepare each one on PostgreSQL.
//!
//! Debug builds only (the module is `cfg(debug_assertions)`): a release build has no hook at all,
//! and a debug build without `PCHAT_SQL_INVENTORY` pays one `OnceLock` read per statement.
//!
//! * `PCHAT_SQL_INVENTORY=<file>`: append each distinct text this process runs to `<file>`, one
//!   line `kind<TAB>text` (see [`escape`]). `scripts/sql-inventory` runs the integration suite so
//!   and writes the sorted, distinct lines to `src/store/pg/sql_inventory.txt`.
//! * `PCHAT_SQL_INVENTORY=check`: a text missing from that checked-in file aborts the process,
//!   naming it. The integration suite sets this for every `pchat` it runs (tests/it/common), so a
//!   new statement fails the suite until the inventory holds it: the file is current.
//!
//! Texts are recorded neutral: a routed statement as `store::route` received it (`{db}` unspelt)
//! with the kind of database it was routed to; a statement run on a connection directly, as run.
//! A routed text reaches `Db::prepare*` spelt for SQLite (`pdb1.rooms`); that spelling is not
//! recorded again.

use std::collections::HashSet;
use std::io::Write;
use std::sync::{Mutex, OnceLock};

/// The database a recorded text runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Routed to the central database (`Target::Central`).
    Central,
    /// Routed to a copy of a pool's data (`Target::Copy`).
    Pool,
    /// Across two copies (`route_across`).
    Across,
    /// Run on a connection without routing: the store's (central) one, or a pool file's own.
    Direct,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Central => "central",
            Kind::Pool => "pool",
            Kind::Across => "across",
            Kind::Direct => "direct",
        }
    }

    pub fn parse(name: &str) -> Option<Kind> {
        [Kind::Central, Kind::Pool, Kind::Across, Kind::Direct].into_iter().find(|k| k.name() == name)
    }
}

/// The checked-in inventory (`scripts/sql-inventory` writes it).
pub const CHECKED_IN: &str = include_str!("../pg/sql_inventory.txt");

enum Mode {
    Record(std::fs::File),
    Check(HashSet<&'static str>),
}

struct Recorder {
    mode: Mode,
    /// Lines seen by this process, and texts routed (their SQLite spelling is not recorded).
    seen: HashSet<String>,
    spelt: HashSet<String>,
}

fn recorder() -> Option<&'static Mutex<Recorder>> {
    static RECORDER: OnceLock<Option<Mutex<Recorder>>> = OnceLock::new();
    RECORDER
        .get_or_init(|| {
            let target = std::env::var_os("PCHAT_SQL_INVENTORY")?;
            let mode = if target == "check" {
                Mode::Check(CHECKED_IN.lines().collect())
            } else {
                match std::fs::OpenOptions::new().create(true).append(true).open(&target) {
                    Ok(file) => Mode::Record(file),
                    Err(e) => {
                        eprintln!("PCHAT_SQL_INVENTORY: cannot open {}: {e}", target.to_string_lossy());
                        return None;
                    }
                }
            };
            Some(Mutex::new(Recorder { mode, seen: HashSet::new(), spelt: HashSet::new() }))
        })
        .as_ref()
}

/// A text as one line: backslash, newline, carriage return and tab escaped.
pub fn escape(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    for c in sql.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c => out.push(c),
        }
    }
    out
}

/// The text of an [`escape`]d line.
pub fn unescape(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some(c) => out.push(c),
            None => out.push('\\'),
        }
    }
    out
}

/// Records a text run on a connection without routing, unless it is a routed text's spelling.
#[inline]
pub fn direct(sql: &str) {
    if let Some(r) = recorder() {
        let mut r = r.lock().unwrap_or_else(|e| e.into_inner());
        if !r.spelt.contains(sql) {
            r.record(Kind::Direct, sql);
        }
    }
}

/// Records a routed text (neutral) and remembers its spelling on the connection.
#[inline]
pub fn routed(kind: Kind, neutral: &str, spelt: &str) {
    if let Some(r) = recorder() {
        let mut r = r.lock().unwrap_or_else(|e| e.into_inner());
        if !r.spelt.contains(spelt) {
            r.spelt.insert(spelt.to_string());
        }
        r.record(kind, neutral);
    }
}

impl Recorder {
    fn record(&mut self, kind: Kind, sql: &str) {
        let line = format!("{}\t{}", kind.name(), escape(sql));
        if self.seen.contains(&line) {
            return;
        }
        match &mut self.mode {
            // One write per line on an O_APPEND file: processes running at once do not interleave.
            Mode::Record(file) => {
                let _ = file.write_all(format!("{line}\n").as_bytes());
            }
            Mode::Check(known) => {
                if !known.contains(line.as_str()) {
                    eprintln!(
                        "PCHAT_SQL_INVENTORY=check: a SQL text the inventory lacks (run scripts/sql-inventory):\n{line}"
                    );
                    std::process::abort();
                }
            }
        }
        self.seen.insert(line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_round_trip() {
        for sql in ["SELECT 1", "a\\nb\n\tc\r\\", "x\\"] {
            let line = escape(sql);
            assert!(!line.contains(['\n', '\t', '\r']));
            assert_eq!(unescape(&line), sql);
        }
    }

    #[test]
    fn the_checked_in_inventory_is_sorted_distinct_and_parses() {
        let lines: Vec<&str> = CHECKED_IN.lines().collect();
        let mut sorted = lines.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(lines, sorted, "src/store/pg/sql_inventory.txt: run scripts/sql-inventory");
        for line in lines {
            let (kind, _) = line.split_once('\t').expect("kind<TAB>text");
            assert!(Kind::parse(kind).is_some(), "{line}");
        }
    }
}
