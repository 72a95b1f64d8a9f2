//! Character-level scanning for the PowerShell parser: positions, blanks and comments, quoted
//! strings, bare words, numbers and the extent of bracketed blocks. PowerShell tokenizes
//! differently in argument and expression mode, so the parser drives these scanners itself.

use super::PsError;
use super::ast::Pos;

/// The error of a here-string whose closing `"@` (or `'@`) has not come yet.
pub const UNTERMINATED_HERE_STRING: &str =
    "unterminated here-string: missing the closing \"@ (or '@) at the start of a line";

pub fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

pub fn is_double_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

pub fn is_quote(c: char) -> bool {
    is_single_quote(c) || is_double_quote(c)
}

/// PowerShell's dashes: a cmdlet line pasted from a web page often carries an en or em dash.
pub fn is_dash(c: char) -> bool {
    matches!(c, '-' | '\u{2013}' | '\u{2014}' | '\u{2015}')
}

pub fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Characters that end an unquoted word in argument mode.
pub fn ends_bare_word(c: char) -> bool {
    c.is_whitespace() || matches!(c, ';' | '|' | ')' | '}' | '(' | '{' | ',' | '&' | '>' | '<' | '#') || is_quote(c)
}

/// A piece of a double-quoted string before the parser handles `$(...)`.
#[derive(Debug)]
pub enum RawPart {
    Text(String),
    Var(String, Pos),
    /// `$( ... )`: char indices of the inside.
    Sub(usize, usize),
}

pub struct Cursor<'a> {
    pub chars: &'a [char],
    pub i: usize,
    pub end: usize,
    line_starts: &'a [usize],
    /// The last stretch `skip_blanks` passed over: where an expression that ended in blanks (or
    /// a comment) really ends.
    pub skipped: (usize, usize),
}

impl<'a> Cursor<'a> {
    pub fn new(chars: &'a [char], line_starts: &'a [usize], start: usize, end: usize) -> Cursor<'a> {
        Cursor { chars, i: start, end: end.min(chars.len()), line_starts, skipped: (start, start) }
    }

    /// A cursor over `start..end` of the same text (a bracketed part parsed on its own).
    pub fn sub(&self, start: usize, end: usize) -> Cursor<'a> {
        Cursor::new(self.chars, self.line_starts, start, end)
    }

    pub fn pos_of(&self, i: usize) -> Pos {
        let line = self.line_starts.partition_point(|&s| s <= i).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        Pos { line, col: i.saturating_sub(start) + 1 }
    }

    pub fn pos(&self) -> Pos {
        self.pos_of(self.i)
    }

    pub fn err<T>(&self, at: usize, message: impl Into<String>) -> Result<T, PsError> {
        Err(PsError::syntax(message, self.pos_of(at)))
    }

    /// An error because the text stops too early (the REPL then reads another line).
    pub fn eof_err<T>(&self, at: usize, message: impl Into<String>) -> Result<T, PsError> {
        let mut e = PsError::syntax(message, self.pos_of(at));
        e.incomplete = true;
        Err(e)
    }

    pub fn unsupported<T>(&self, at: usize, construct: impl Into<String>) -> Result<T, PsError> {
        Err(PsError::unsupported(construct, self.pos_of(at)))
    }

    pub fn peek(&self) -> Option<char> {
        self.peek_at(0)
    }

    pub fn peek_at(&self, k: usize) -> Option<char> {
        let j = self.i.checked_add(k)?;
        if j < self.end { self.chars.get(j).copied() } else { None }
    }

    pub fn at_end(&self) -> bool {
        self.i >= self.end
    }

    pub fn text(&self, from: usize, to: usize) -> String {
        let to = to.min(self.chars.len());
        self.chars.get(from.min(to)..to).map(|s| s.iter().collect()).unwrap_or_default()
    }

    /// The comments in `from..to`, a stretch `skip_blanks` passed over (blanks and comments
    /// only): where each starts, and its text without `#` or `<#`/`#>`.
    pub fn comments(&self, from: usize, to: usize) -> Vec<(usize, String)> {
        let to = to.min(self.chars.len());
        let at = |i: usize| self.chars.get(i).copied();
        let mut out = Vec::new();
        let mut i = from;
        while i < to {
            let start = i;
            if at(i) == Some('<') && at(i + 1) == Some('#') {
                i += 2;
                while i < to && !(at(i) == Some('#') && at(i + 1) == Some('>')) {
                    i += 1;
                }
                out.push((start, self.text(start + 2, i)));
                i += 2;
            } else if at(i) == Some('#') {
                while i < to && !matches!(at(i), Some('\n' | '\r')) {
                    i += 1;
                }
                out.push((start, self.text(start + 1, i)));
            } else {
                i += 1;
            }
        }
        out
    }

    pub fn starts_with(&self, s: &str) -> bool {
        s.chars().enumerate().all(|(k, c)| self.peek_at(k) == Some(c))
    }

    /// Skip blanks, comments and backtick line continuations; newlines too when `newlines`.
    pub fn skip_blanks(&mut self, newlines: bool) -> Result<(), PsError> {
        let from = self.i;
        let result = self.skip_blanks_from_here(newlines);
        if self.i > from {
            self.skipped = (from, self.i);
        }
        result
    }

    fn skip_blanks_from_here(&mut self, newlines: bool) -> Result<(), PsError> {
        loop {
            match self.peek() {
                Some(c) if c == '\n' || c == '\r' => {
                    if !newlines {
                        return Ok(());
                    }
                    self.i += 1;
                }
                Some(c) if c.is_whitespace() => self.i += 1,
                Some('`') if matches!(self.peek_at(1), Some('\n' | '\r')) => {
                    let crlf = self.peek_at(1) == Some('\r') && self.peek_at(2) == Some('\n');
                    self.i += if crlf { 3 } else { 2 };
                }
                Some('`') if self.peek_at(1).is_some_and(|c| c == ' ' || c == '\t') && self.rest_of_line_blank(1) => {
                    // A backtick followed only by trailing blanks still continues the line.
                    while self.peek().is_some_and(|c| c == ' ' || c == '\t' || c == '`') {
                        self.i += 1;
                    }
                    if self.peek() == Some('\r') {
                        self.i += 1;
                    }
                    if self.peek() == Some('\n') {
                        self.i += 1;
                    }
                }
                Some('<') if self.peek_at(1) == Some('#') => {
                    let start = self.i;
                    self.i += 2;
                    loop {
                        match self.peek() {
                            None => return self.eof_err(start, "unterminated comment: '<#' without '#>'"),
                            Some('#') if self.peek_at(1) == Some('>') => {
                                self.i += 2;
                                break;
                            }
                            Some(_) => self.i += 1,
                        }
                    }
                }
                Some('#') => {
                    while self.peek().is_some_and(|c| c != '\n' && c != '\r') {
                        self.i += 1;
                    }
                }
                _ => return Ok(()),
            }
        }
    }

    fn rest_of_line_blank(&self, from: usize) -> bool {
        let mut k = from;
        loop {
            match self.peek_at(k) {
                Some(' ' | '\t') => k += 1,
                Some('\n' | '\r') => return true,
                _ => return false,
            }
        }
    }

    /// `'...'` with `''` for a quote; the cursor is on the opening quote.
    pub fn single_quoted(&mut self) -> Result<String, PsError> {
        let start = self.i;
        self.i += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else {
                return self.eof_err(start, "unterminated string: missing closing quote (')");
            };
            self.i += 1;
            if is_single_quote(c) {
                if self.peek().is_some_and(is_single_quote) {
                    self.i += 1;
                    out.push(c);
                    continue;
                }
                return Ok(out);
            }
            out.push(c);
        }
    }

    /// `"..."` with backtick escapes, `""`, `$name`, `${name}` and `$( ... )`; the cursor is on
    /// the opening quote.
    pub fn double_quoted(&mut self) -> Result<Vec<RawPart>, PsError> {
        let start = self.i;
        self.i += 1;
        self.expandable_text(start, true)
    }

    /// `@"` newline ... newline `"@` (expanded) or `@'` ... `'@` (verbatim); the cursor is on `@`.
    pub fn here_string(&mut self) -> Result<Vec<RawPart>, PsError> {
        let start = self.i;
        let (body_start, body_end, after) = self.here_extent(start)?;
        let double = self.chars.get(start + 1).is_some_and(|q| is_double_quote(*q));
        let parts = if double {
            self.sub(body_start, body_end).expandable_text(start, false)?
        } else {
            vec![RawPart::Text(self.text(body_start, body_end))]
        };
        self.i = after;
        Ok(parts)
    }

    /// A here-string opening at `at`: (start of its text, end of its text, index after `"@`).
    pub fn here_extent(&self, at: usize) -> Result<(usize, usize, usize), PsError> {
        let quote = self.chars.get(at + 1).copied().unwrap_or('"');
        let mut j = at + 2;
        while j < self.end && matches!(self.chars[j], ' ' | '\t') {
            j += 1;
        }
        if j < self.end && self.chars[j] == '\r' {
            j += 1;
        }
        // Nothing after the opening yet: the body is still to come (the REPL reads on).
        if j >= self.end {
            return self.eof_err(at, UNTERMINATED_HERE_STRING);
        }
        if self.chars[j] != '\n' {
            return self.err(at, "a here-string's opening @\" or @' must end its line");
        }
        let body_start = j + 1;
        let mut line = body_start;
        while line < self.end {
            let closes = self.chars.get(line).is_some_and(|c| {
                *c == quote
                    || (is_double_quote(quote) && is_double_quote(*c))
                    || (is_single_quote(quote) && is_single_quote(*c))
            }) && self.chars.get(line + 1) == Some(&'@');
            if closes && line + 1 < self.end {
                // The text ends before the line break that precedes the closing quote.
                let mut body_end = if line > body_start { line - 1 } else { body_start };
                if body_end > body_start && self.chars[body_end - 1] == '\r' {
                    body_end -= 1;
                }
                return Ok((body_start, body_end, line + 2));
            }
            match self.chars[line..self.end].iter().position(|c| *c == '\n') {
                Some(k) => line += k + 1,
                None => break,
            }
        }
        self.eof_err(at, UNTERMINATED_HERE_STRING)
    }

    /// The inside of an expandable string: up to the closing quote when `quoted`, else to the end
    /// of this cursor (a here-string's body, where quotes are plain text).
    fn expandable_text(&mut self, start: usize, quoted: bool) -> Result<Vec<RawPart>, PsError> {
        let mut parts = Vec::new();
        let mut text = String::new();
        loop {
            let Some(c) = self.peek() else {
                if !quoted {
                    break;
                }
                return self.eof_err(start, "unterminated string: missing closing quote (\")");
            };
            if quoted && is_double_quote(c) {
                self.i += 1;
                if self.peek().is_some_and(is_double_quote) {
                    self.i += 1;
                    text.push(c);
                    continue;
                }
                break;
            }
            if c == '`' {
                self.i += 1;
                let Some(e) = self.peek() else {
                    if !quoted {
                        text.push('`');
                        break;
                    }
                    return self.eof_err(start, "unterminated string: missing closing quote (\")");
                };
                self.i += 1;
                text.push(match e {
                    '0' => '\0',
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'e' => '\u{1b}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    other => other,
                });
                continue;
            }
            if c == '$' {
                let at = self.i;
                match self.peek_at(1) {
                    Some('(') => {
                        let close = self.block_end(at + 1)?;
                        flush(&mut parts, &mut text);
                        parts.push(RawPart::Sub(at + 2, close));
                        self.i = close + 1;
                        continue;
                    }
                    Some('{') => {
                        self.i += 2;
                        let name_start = self.i;
                        while self.peek().is_some_and(|c| c != '}') {
                            self.i += 1;
                        }
                        if self.peek().is_none() {
                            return self.err(at, "missing '}' after '${'");
                        }
                        let name = self.text(name_start, self.i);
                        self.i += 1;
                        flush(&mut parts, &mut text);
                        parts.push(RawPart::Var(name, self.pos_of(at)));
                        continue;
                    }
                    Some(n) if is_name_char(n) || n == ':' => {
                        self.i += 1;
                        let name = self.variable_name();
                        flush(&mut parts, &mut text);
                        parts.push(RawPart::Var(name, self.pos_of(at)));
                        continue;
                    }
                    // PowerShell expands these in a string too; refused there as they are outside one.
                    Some(n @ ('?' | '$' | '^')) => {
                        return self.unsupported(at, format!("the automatic variable '${n}'"));
                    }
                    _ => {}
                }
            }
            self.i += 1;
            text.push(c);
        }
        flush(&mut parts, &mut text);
        Ok(parts)
    }

    /// After `$`: a name, with an optional scope or drive prefix (`env:`, `global:`) kept in it.
    pub fn variable_name(&mut self) -> String {
        let start = self.i;
        while self.peek().is_some_and(is_name_char) {
            self.i += 1;
        }
        if self.peek() == Some(':') && self.peek_at(1).is_some_and(is_name_char) && self.i > start {
            self.i += 1;
            while self.peek().is_some_and(is_name_char) {
                self.i += 1;
            }
        }
        self.text(start, self.i)
    }

    /// Index of the bracket closing the one at `open` (`(`, `{` or `[`), skipping strings and
    /// comments. Here-strings are outside the subset.
    pub fn block_end(&self, open: usize) -> Result<usize, PsError> {
        let mut stack = vec![open];
        let mut j = open + 1;
        while j < self.end {
            let c = self.chars[j];
            match c {
                '(' | '{' | '[' => stack.push(j),
                ')' | '}' | ']' => {
                    let Some(o) = stack.pop() else { break };
                    let expected = match self.chars[o] {
                        '(' => ')',
                        '{' => '}',
                        _ => ']',
                    };
                    if c != expected {
                        return self.err(
                            j,
                            format!("'{c}' does not close the '{}' at {}", self.chars[o], describe_pos(self.pos_of(o))),
                        );
                    }
                    if stack.is_empty() {
                        return Ok(j);
                    }
                }
                '`' => j += 1,
                '#' => {
                    while j < self.end && self.chars[j] != '\n' {
                        j += 1;
                    }
                    continue;
                }
                '<' if self.chars.get(j + 1) == Some(&'#') => {
                    j += 2;
                    while j + 1 < self.end && !(self.chars[j] == '#' && self.chars[j + 1] == '>') {
                        j += 1;
                    }
                    j += 1;
                }
                '@' if matches!(self.chars.get(j + 1), Some(q) if is_quote(*q))
                    && self.chars.get(j + 2..self.end).is_some_and(|rest| {
                        rest.iter().take_while(|c| **c != '\n').all(|c| c.is_whitespace()) && rest.contains(&'\n')
                    }) =>
                {
                    let (_, _, after) = self.here_extent(j)?;
                    j = after;
                    continue;
                }
                q if is_quote(q) => {
                    let single = is_single_quote(q);
                    j += 1;
                    loop {
                        let Some(&d) = self.chars.get(j).filter(|_| j < self.end) else {
                            return self.eof_err(j.saturating_sub(1), "unterminated string: missing closing quote");
                        };
                        if !single && d == '`' {
                            j += 2;
                            continue;
                        }
                        if (single && is_single_quote(d)) || (!single && is_double_quote(d)) {
                            if self
                                .chars
                                .get(j + 1)
                                .is_some_and(|n| if single { is_single_quote(*n) } else { is_double_quote(*n) })
                            {
                                j += 2;
                                continue;
                            }
                            break;
                        }
                        if !single && d == '$' && self.chars.get(j + 1) == Some(&'(') {
                            j = self.block_end(j + 1)? + 1;
                            continue;
                        }
                        j += 1;
                    }
                }
                _ => {}
            }
            j += 1;
        }
        let o = stack.first().copied().unwrap_or(open);
        let close = match self.chars.get(o) {
            Some('(') => ')',
            Some('{') => '}',
            _ => ']',
        };
        self.eof_err(o, format!("missing '{close}' to close this '{}'", self.chars.get(o).copied().unwrap_or('(')))
    }

    /// An unquoted word of argument mode; the cursor is on its first character.
    pub fn bare_word(&mut self) -> String {
        let start = self.i;
        while let Some(c) = self.peek() {
            if ends_bare_word(c) {
                break;
            }
            if c == '`' {
                self.i += 2;
                continue;
            }
            self.i += 1;
        }
        self.i = self.i.min(self.end);
        self.text(start, self.i).replace('`', "")
    }
}

pub fn describe_pos(p: Pos) -> String {
    if p.line > 1 { format!("line {}, column {}", p.line, p.col) } else { format!("column {}", p.col) }
}

fn flush(parts: &mut Vec<RawPart>, text: &mut String) {
    if !text.is_empty() {
        parts.push(RawPart::Text(std::mem::take(text)));
    }
}

/// A PowerShell number literal: decimal, `0x` hex, with an optional `kb`/`mb`/`gb`/`tb`/`pb`
/// multiplier. `None` when `s` is not one.
pub fn parse_number(s: &str) -> Option<NumberLit> {
    let lower = s.to_ascii_lowercase();
    let (body, mult) = [("kb", 1i64 << 10), ("mb", 1 << 20), ("gb", 1 << 30), ("tb", 1 << 40), ("pb", 1 << 50)]
        .iter()
        .find_map(|(suffix, m)| lower.strip_suffix(suffix).map(|b| (b.to_string(), *m)))
        .unwrap_or((lower, 1));
    let (neg, digits) = match body.strip_prefix('-') {
        Some(rest) => (true, rest.to_string()),
        None => (false, body.clone()),
    };
    if digits.is_empty() {
        return None;
    }
    let value = if let Some(hex) = digits.strip_prefix("0x") {
        if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        NumberLit::Int(i64::from_str_radix(hex, 16).ok()?)
    } else if digits.bytes().all(|b| b.is_ascii_digit()) {
        match digits.parse::<i64>() {
            Ok(i) => NumberLit::Int(i),
            Err(_) => NumberLit::Float(digits.parse::<f64>().ok()?),
        }
    } else {
        let (int, frac) = digits.split_once('.')?;
        let all_digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int) || !all_digits(frac) || (int.is_empty() && frac.is_empty()) {
            return None;
        }
        NumberLit::Float(digits.parse::<f64>().ok()?)
    };
    let scaled = match value {
        NumberLit::Int(i) => {
            i.checked_mul(mult).map(NumberLit::Int).unwrap_or(NumberLit::Float(i as f64 * mult as f64))
        }
        NumberLit::Float(f) => NumberLit::Float(f * mult as f64),
    };
    Some(match (neg, scaled) {
        (false, v) => v,
        (true, NumberLit::Int(i)) => NumberLit::Int(-i),
        (true, NumberLit::Float(f)) => NumberLit::Float(-f),
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum NumberLit {
    Int(i64),
    Float(f64),
}

/// 0-based char index of the start of every line.
pub fn line_starts(chars: &[char]) -> Vec<usize> {
    let mut starts = vec![0];
    for (i, c) in chars.iter().enumerate() {
        if *c == '\n' {
            starts.push(i + 1);
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_number("150"), Some(NumberLit::Int(150)));
        assert_eq!(parse_number("-3"), Some(NumberLit::Int(-3)));
        assert_eq!(parse_number("1.5"), Some(NumberLit::Float(1.5)));
        assert_eq!(parse_number("2KB"), Some(NumberLit::Int(2048)));
        assert_eq!(parse_number("0x1F"), Some(NumberLit::Int(31)));
        for not in ["pc01.contoso.com", "1.2.3", "", "-", "0x", "12/31/2019", "1e5", "."] {
            assert_eq!(parse_number(not), None, "{not}");
        }
    }

    #[test]
    fn blocks_skip_strings_and_comments() {
        let src: Vec<char> = "{ '}' \"}\" # }\n { } }x".chars().collect();
        let starts = line_starts(&src);
        let c = Cursor::new(&src, &starts, 0, src.len());
        assert_eq!(c.block_end(0).map(|j| src[j + 1]), Ok('x'));
        let src: Vec<char> = "{ (".chars().collect();
        let c = Cursor::new(&src, &starts, 0, src.len());
        assert!(c.block_end(0).is_err());
    }
}
