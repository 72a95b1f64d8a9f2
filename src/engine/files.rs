//! Files from scripts: `read_csv(path)` (an array of maps, one per row, keyed by the header),
//! `read_lines(path)`, `read_text(path)`, `write_text(path, text)`, `append_text(path, text)`,
//! `file_exists(path)`, and the writer behind the PowerShell front end's Export-Csv. Relative paths
//! are relative to the current directory; use `SCRIPT_DIR` for files beside the runbook. Every
//! one goes through the file rules (`crate::files`): a runbook's confinement, regular input files
//! of bounded size, atomic owner-only writes, never a store file, nothing written under --what-if.

use std::path::Path;

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Position};

use super::SharedSession;
use crate::files::MAX_INPUT_BYTES;
use crate::invocation::what_if_line;

type RhaiResult<T> = Result<T, Box<EvalAltResult>>;

fn fail(function: &str, e: impl std::fmt::Display) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(format!("{function}: {e}").into(), Position::NONE).into()
}

fn read_text(session: &SharedSession, function: &str, path: &str) -> RhaiResult<String> {
    let files = session.borrow().files()?;
    files.read_text(Path::new(path), MAX_INPUT_BYTES).map_err(|e| fail(function, e))
}

/// The line of a quoted field that is never closed (the reader would take the rest of the file
/// as that one field, silently).
fn unclosed_quote(text: &str) -> Option<usize> {
    let (mut line, mut opened_at, mut quoted, mut field_start) = (1, 0, false, true);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                } else {
                    quoted = false;
                }
            } else if c == '\n' {
                line += 1;
            }
            continue;
        }
        match c {
            '"' if field_start => {
                quoted = true;
                opened_at = line;
                field_start = false;
            }
            ',' => field_start = true,
            '\n' => {
                line += 1;
                field_start = true;
            }
            c if c.is_whitespace() => {}
            _ => field_start = false,
        }
    }
    quoted.then_some(opened_at)
}

fn csv_rows(path: &str, text: &str) -> RhaiResult<Array> {
    let cannot = |e: String| fail("read_csv", format!("cannot read '{path}': {e}"));
    if let Some(line) = unclosed_quote(text) {
        return Err(cannot(format!("line {line}: a quoted field is never closed (a '\"' is missing)")));
    }
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| cannot(e.to_string()))?.clone();
    // A column named twice would keep one of the two values of every row without a word (as
    // Import-Csv, names compare ignoring case: runbooks look columns up that way).
    let names: Vec<&str> = headers.iter().collect();
    if let Some((_, dup)) =
        names.iter().enumerate().find(|(i, h)| names[..*i].iter().any(|o| o.eq_ignore_ascii_case(h)))
    {
        return Err(cannot(format!("line 1: the header names the column '{dup}' twice")));
    }
    let mut rows = Array::new();
    for record in reader.records() {
        // The CSV's own line, apart from the runbook's line the engine adds.
        let record = record.map_err(|e| match (e.position(), e.kind()) {
            (Some(at), csv::ErrorKind::UnequalLengths { expected_len, len, .. }) => {
                cannot(format!("line {}: {len} fields where the header has {expected_len}", at.line()))
            }
            (Some(at), _) => cannot(format!("line {}: {e}", at.line())),
            _ => cannot(e.to_string()),
        })?;
        let row: Map =
            headers.iter().zip(record.iter()).map(|(h, v)| (h.into(), Dynamic::from(v.to_string()))).collect();
        rows.push(Dynamic::from_map(row));
    }
    Ok(rows)
}

/// Replace (or append to) a file a script names; under --what-if only say so.
pub fn write(session: &SharedSession, operation: &str, path: &str, bytes: &[u8], append: bool) -> RhaiResult<()> {
    let (files, what_if) = {
        let s = session.borrow();
        (s.files()?, s.what_if)
    };
    let written = if append {
        files.append(Path::new(path), what_if, bytes)
    } else {
        files.write_bytes(Path::new(path), what_if, bytes)
    }
    .map_err(|e| fail(operation, e))?;
    if !written {
        what_if_line(operation, path);
    }
    Ok(())
}

pub fn register(engine: &mut Engine, session: &SharedSession) {
    let s = session.clone();
    engine.register_fn("read_text", move |path: &str| read_text(&s, "read_text", path));
    let s = session.clone();
    engine.register_fn("read_lines", move |path: &str| -> RhaiResult<Array> {
        let text = read_text(&s, "read_lines", path)?;
        Ok(text.lines().map(|l| Dynamic::from(l.to_string())).collect())
    });
    let s = session.clone();
    engine.register_fn("read_csv", move |path: &str| -> RhaiResult<Array> {
        let text = read_text(&s, "read_csv", path)?;
        csv_rows(path, &text)
    });
    let s = session.clone();
    engine
        .register_fn("write_text", move |path: &str, text: &str| write(&s, "write_text", path, text.as_bytes(), false));
    let s = session.clone();
    engine.register_fn("append_text", move |path: &str, text: &str| {
        write(&s, "append_text", path, text.as_bytes(), true)
    });
    let s = session.clone();
    engine.register_fn("file_exists", move |path: &str| -> RhaiResult<bool> {
        let files = s.borrow().files()?;
        let resolved = files.check(Path::new(path)).map_err(|e| fail("file_exists", e))?;
        Ok(files.exists(&resolved))
    });
    register_powershell(engine, session);
    let s = session.clone();
    engine.register_fn("ps_export_csv", move |a: Array, path: &str, delimiter: &str| -> RhaiResult<()> {
        let bytes = crate::powershell::runtime::csv_bytes(a, delimiter)?;
        write(&s, "Export-Csv", path, &bytes, false)
    });
}

/// The PowerShell front end's file cmdlets, through the same rules as the Rhai functions above.
fn register_powershell(engine: &mut Engine, session: &SharedSession) {
    use crate::powershell::{cmdlets, fileio};
    // The paths arrive through `ps_path` (the translation puts it around every path argument).
    fn read(session: &SharedSession, command: &str, path: &str) -> RhaiResult<String> {
        let bytes =
            session.borrow().files()?.read_bytes(Path::new(path), MAX_INPUT_BYTES).map_err(|e| fail(command, e))?;
        fileio::decode(bytes, path, command).map_err(|e| fail(command, e))
    }
    fn ps_path(v: Dynamic, command: &str, param: &str) -> RhaiResult<Dynamic> {
        if v.is_array() {
            let items = v.cast::<Array>().into_iter().map(|i| ps_path(i, command, param)).collect::<RhaiResult<_>>()?;
            return Ok(Dynamic::from_array(items));
        }
        if v.is_unit() {
            return Ok(v);
        }
        let written = crate::powershell::runtime::text(v);
        fileio::ps_path(&written).map(Dynamic::from).map_err(|e| fail(command, format!("-{param} {e}")))
    }
    engine.register_fn("ps_path", ps_path);
    let s = session.clone();
    engine.register_fn("ps_out_file", move |items: Array, path: &str, append: bool| {
        write(&s, "Out-File", path, cmdlets::out_file_body(items).as_bytes(), append)
    });
    let s = session.clone();
    engine.register_fn("ps_set_content", move |items: Array, path: &str, append: bool| {
        let command = if append { "Add-Content" } else { "Set-Content" };
        write(&s, command, path, cmdlets::content_body(items).as_bytes(), append)
    });
    let s = session.clone();
    engine.register_fn("ps_get_content", move |path: &str, raw: bool, total: Dynamic| {
        cmdlets::content_lines(read(&s, "Get-Content", path)?, raw, total)
    });
    let s = session.clone();
    engine.register_fn("ps_import_csv", move |path: &str, delimiter: &str| {
        cmdlets::csv_rows(path, &read(&s, "Import-Csv", path)?, delimiter)
    });
    let s = session.clone();
    engine.register_fn("ps_test_path", move |paths: Dynamic, kind: Dynamic| -> RhaiResult<bool> {
        let kind = (!kind.is_unit()).then(|| crate::powershell::runtime::text(kind).to_ascii_lowercase());
        let files = s.borrow().files()?;
        for p in crate::powershell::runtime::pipe(paths) {
            let p = crate::powershell::runtime::text(p);
            let resolved = files.check(Path::new(&p)).map_err(|e| fail("Test-Path", e))?;
            let found = match kind.as_deref() {
                Some("leaf") => resolved.is_file() || (!resolved.exists() && files.exists(&resolved)),
                Some("container") => resolved.is_dir(),
                _ => files.exists(&resolved),
            };
            if !found {
                return Ok(false);
            }
        }
        Ok(true)
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_maps_keyed_by_header() {
        let rows = csv_rows("x.csv", "Pool, Room\npc01.contoso.com,\"A, B\"\n").unwrap();
        let row = rows[0].read_lock::<Map>().unwrap().clone();
        assert_eq!(row["Room"].to_string(), "A, B");
        assert!(csv_rows("x.csv", "a,b\n1\n").is_err(), "a ragged row is an error, not a silent gap");
    }

    #[test]
    fn a_column_named_twice_is_refused_not_half_read() {
        for text in ["Pool,Room,Room\npc01,a,b\n", "Pool,Room,room\npc01,a,b\n"] {
            let e = csv_rows("x.csv", text).unwrap_err().to_string();
            assert!(e.contains("read_csv") && e.contains("names the column") && e.contains("twice"), "{e}");
        }
    }

    #[test]
    fn an_unclosed_quoted_field_is_found_with_its_line() {
        assert_eq!(unclosed_quote("a,b\n1,\"x\"\"y\"\n2,\"multi\nline\"\n"), None);
        assert_eq!(unclosed_quote("a,b\n5\" screen,ok\n"), None);
        assert_eq!(unclosed_quote("a,b\n1,\"oops\n2,ok\n"), Some(2));
        assert_eq!(unclosed_quote("a,b\n1, \"open\n"), Some(2));
    }
}
