//! Reading files from runbooks: `read_csv(path)` (an array of maps, one per row, keyed by the
//! header), `read_lines(path)` and `read_text(path)`. Relative paths are relative to the current
//! directory; use `SCRIPT_DIR` for files beside the runbook.

use rhai::{Array, Dynamic, Engine, EvalAltResult, Map, Position};

fn fail(function: &str, path: &str, e: impl std::fmt::Display) -> Box<EvalAltResult> {
    EvalAltResult::ErrorRuntime(format!("{function}: cannot read '{path}': {e}").into(), Position::NONE).into()
}

fn read_text(path: &str) -> Result<String, Box<EvalAltResult>> {
    std::fs::read_to_string(path).map_err(|e| fail("read_text", path, e))
}

fn read_lines(path: &str) -> Result<Array, Box<EvalAltResult>> {
    let text = std::fs::read_to_string(path).map_err(|e| fail("read_lines", path, e))?;
    Ok(text.lines().map(|l| Dynamic::from(l.to_string())).collect())
}

fn read_csv(path: &str) -> Result<Array, Box<EvalAltResult>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_path(path)
        .map_err(|e| fail("read_csv", path, e))?;
    let headers = reader.headers().map_err(|e| fail("read_csv", path, e))?.clone();
    let mut rows = Array::new();
    for record in reader.records() {
        // The CSV's own line, apart from the runbook's line the engine adds.
        let record = record.map_err(|e| match (e.position(), e.kind()) {
            (Some(at), csv::ErrorKind::UnequalLengths { expected_len, len, .. }) => {
                fail("read_csv", path, format!("line {}: {len} fields where the header has {expected_len}", at.line()))
            }
            (Some(at), _) => fail("read_csv", path, format!("line {}: {e}", at.line())),
            _ => fail("read_csv", path, e),
        })?;
        let row: Map =
            headers.iter().zip(record.iter()).map(|(h, v)| (h.into(), Dynamic::from(v.to_string()))).collect();
        rows.push(Dynamic::from_map(row));
    }
    Ok(rows)
}

pub fn register(engine: &mut Engine) {
    engine.register_fn("read_text", read_text);
    engine.register_fn("read_lines", read_lines);
    engine.register_fn("read_csv", read_csv);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_are_maps_keyed_by_header() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.csv");
        std::fs::write(&path, "Pool, Room\npc01.contoso.com,\"A, B\"\n").unwrap();
        let rows = read_csv(&path.to_string_lossy()).unwrap();
        let row = rows[0].read_lock::<Map>().unwrap().clone();
        assert_eq!(row["Room"].to_string(), "A, B");
        assert!(
            read_csv("/nonexistent.csv").unwrap_err().to_string().contains("read_csv: cannot read '/nonexistent.csv'")
        );
        std::fs::write(&path, "a,b\n1\n").unwrap();
        assert!(read_csv(&path.to_string_lossy()).is_err(), "a ragged row is an error, not a silent gap");
    }
}
