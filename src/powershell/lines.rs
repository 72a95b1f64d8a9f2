//! Keeping a script's line numbers through translation: each translated statement is preceded by
//! a marker naming its line in the script; [`align`] turns the markers into line breaks, so a
//! run-time error that Rhai reports at line L is at line L of the `.ps1` too, and [`strip`] drops
//! them for the compact form `:rhai` shows. (String literals never hold the marker characters:
//! the translation writes control characters in strings as escapes.)

use super::ast::Stmt;

const START: char = '\u{1}';
const END: char = '\u{2}';

/// The marker of a statement's line, or "" when the statement carries no position.
pub fn marker(s: &Stmt) -> String {
    line(s).map(|l| format!("{START}{l}{END}")).unwrap_or_default()
}

/// The line a statement starts on, as far as its parts tell.
fn line(s: &Stmt) -> Option<usize> {
    let first = |body: &[Stmt]| body.first().and_then(line);
    let l = match s {
        Stmt::Pipeline(p) => p.pos.line,
        Stmt::Assign { pos, .. } | Stmt::Step { pos, .. } | Stmt::Foreach { pos, .. } | Stmt::Function { pos, .. } => {
            pos.line
        }
        Stmt::Params(_, pos) => pos.line,
        Stmt::If { clauses, .. } => clauses.first()?.0.pos.line,
        Stmt::While { cond, .. } => cond.pos.line,
        Stmt::Switch { value, .. } => value.pos.line,
        Stmt::For { init, cond, .. } => match (init, cond) {
            (Some(i), _) => line(i)?,
            (None, Some(c)) => c.pos.line,
            _ => return None,
        },
        Stmt::Do { body, .. } | Stmt::Try { body, .. } => return first(body),
        Stmt::Throw(p) | Stmt::Return(p) | Stmt::Exit(p) => p.as_ref()?.pos.line,
        Stmt::Break | Stmt::Continue => return None,
    };
    (l > 0).then_some(l)
}

/// Each marked statement moved down to its script line (never up: a statement already past it
/// stays where it is), markers removed.
pub fn align(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut current = 1;
    let mut rest = text;
    while let Some(at) = rest.find(START) {
        let (before, after) = rest.split_at(at);
        current += before.matches('\n').count();
        out.push_str(before);
        match parse(after) {
            Some((target, len)) => {
                while current < target {
                    out.push('\n');
                    current += 1;
                }
                rest = &after[len..];
            }
            None => {
                out.push(START);
                rest = &after[START.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text without its markers.
pub fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(START) {
        let (before, after) = rest.split_at(at);
        out.push_str(before);
        match parse(after) {
            Some((_, len)) => rest = &after[len..],
            None => {
                out.push(START);
                rest = &after[START.len_utf8()..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A marker at the start of `s`: its line and its length in bytes.
fn parse(s: &str) -> Option<(usize, usize)> {
    let body = s.strip_prefix(START)?;
    let end = body.find(END)?;
    let line = body[..end].parse().ok()?;
    Some((line, START.len_utf8() + end + END.len_utf8()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_become_line_breaks_or_disappear() {
        let text = "\u{1}1\u{2}let a = 1;\n\u{1}4\u{2}let b = { \u{1}5\u{2}f(); \u{1}5\u{2}g(); };";
        assert_eq!(align(text), "let a = 1;\n\n\nlet b = { \nf(); g(); };");
        assert_eq!(strip(text), "let a = 1;\nlet b = { f(); g(); };");
        // Never upwards, and a lone marker character is left alone.
        assert_eq!(align("\u{1}3\u{2}a;\n\u{1}2\u{2}b;"), "\n\na;\nb;");
        assert_eq!(strip("x\u{1}y"), "x\u{1}y");
    }
}
