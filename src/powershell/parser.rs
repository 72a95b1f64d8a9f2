//! Recursive-descent parser for pchat's PowerShell subset. Commands are read in PowerShell's
//! argument mode (bare words are strings, `-Name` is a parameter), everything else in
//! expression mode. Bracketed parts are parsed over their own extent, so nesting can never make
//! the parser read past a closing bracket. Anything outside the subset is reported with its
//! position rather than parsed differently.

use super::PsError;
use super::ast::*;
use super::lexer::{self, Cursor, NumberLit, RawPart, is_dash, is_double_quote, is_name_char, is_single_quote};

/// Deeper nesting than any real command line; keeps hostile input from exhausting the stack.
const MAX_DEPTH: usize = 48;

/// PowerShell statements that pchat's subset leaves out (Rhai runbooks cover them).
const KEYWORDS: &[&str] = &[
    "if",
    "elseif",
    "else",
    "foreach",
    "for",
    "while",
    "do",
    "until",
    "switch",
    "function",
    "filter",
    "param",
    "begin",
    "process",
    "end",
    "try",
    "catch",
    "finally",
    "trap",
    "return",
    "throw",
    "break",
    "continue",
    "exit",
    "class",
    "enum",
    "using",
    "data",
    "workflow",
    "parallel",
    "sequence",
    "inlinescript",
    "dynamicparam",
    "configuration",
];

pub fn parse(src: &str) -> Result<Vec<Stmt>, PsError> {
    let chars: Vec<char> = src.chars().collect();
    let starts = lexer::line_starts(&chars);
    let mut p = Parser { c: Cursor::new(&chars, &starts, 0, chars.len()), depth: 0 };
    p.statements()
}

struct Parser<'a> {
    c: Cursor<'a>,
    depth: usize,
}

fn op_name(word: &str) -> Option<&'static str> {
    const OPS: &[&str] = &[
        "eq",
        "ne",
        "gt",
        "ge",
        "lt",
        "le",
        "like",
        "notlike",
        "match",
        "notmatch",
        "contains",
        "notcontains",
        "in",
        "notin",
    ];
    let w = word.to_ascii_lowercase();
    let base = match w.strip_prefix('i') {
        Some(rest) if OPS.contains(&rest) => rest,
        _ => w.as_str(),
    };
    OPS.iter().find(|o| **o == base).copied()
}

/// Operators PowerShell has and the subset leaves out.
fn is_other_operator(word: &str) -> bool {
    let w = word.to_ascii_lowercase();
    let case_sensitive = w.strip_prefix('c').is_some_and(|rest| op_name(rest).is_some());
    case_sensitive
        || matches!(
            w.as_str(),
            "replace"
                | "ireplace"
                | "creplace"
                | "split"
                | "isplit"
                | "csplit"
                | "join"
                | "f"
                | "is"
                | "isnot"
                | "as"
                | "band"
                | "bor"
                | "bxor"
                | "bnot"
                | "shl"
                | "shr"
        )
}

impl<'a> Parser<'a> {
    fn sub(&self, start: usize, end: usize) -> Parser<'a> {
        Parser { c: self.c.sub(start, end), depth: self.depth + 1 }
    }

    fn enter(&mut self) -> Result<(), PsError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { self.c.err(self.c.i, "the command is nested too deeply") } else { Ok(()) }
    }

    /// Statements separated by `;` or newlines, up to the end of this parser's extent.
    fn statements(&mut self) -> Result<Vec<Stmt>, PsError> {
        self.enter()?;
        let mut out = Vec::new();
        loop {
            self.c.skip_blanks(true)?;
            while self.c.peek() == Some(';') {
                self.c.i += 1;
                self.c.skip_blanks(true)?;
            }
            if self.c.at_end() {
                break;
            }
            out.push(self.statement()?);
            self.c.skip_blanks(false)?;
            match self.c.peek() {
                None | Some(';' | '\n' | '\r') => {}
                Some(c) => return self.c.err(self.c.i, format!("unexpected '{c}'")),
            }
        }
        self.depth -= 1;
        Ok(out)
    }

    /// The word at the cursor (letters, digits, `_`, `-`), without consuming it.
    fn peek_word(&self) -> String {
        let mut k = 0;
        let mut w = String::new();
        while let Some(c) = self.c.peek_at(k) {
            if !(is_name_char(c) || c == '-') {
                break;
            }
            w.push(c);
            k += 1;
        }
        w
    }

    fn statement(&mut self) -> Result<Stmt, PsError> {
        let word = self.peek_word();
        if KEYWORDS.contains(&word.to_ascii_lowercase().as_str()) {
            return self.c.unsupported(self.c.i, format!("the '{}' statement", word.to_ascii_lowercase()));
        }
        if self.c.peek() == Some('$') {
            let start = self.c.i;
            let target = self.postfix_expr()?;
            self.c.skip_blanks(false)?;
            let at = self.c.i;
            let next = (self.c.peek(), self.c.peek_at(1));
            if let (Some('='), n) = next
                && n != Some('=')
            {
                let (var, var_pos, props) = assignable(&target).ok_or_else(|| {
                    PsError::unsupported(
                        "assigning to anything but a variable or one of its properties",
                        self.c.pos_of(start),
                    )
                })?;
                self.c.i += 1;
                self.c.skip_blanks(true)?;
                let value = self.pipeline()?;
                return Ok(Stmt::Assign { var, var_pos, props, value });
            }
            if let (Some('+' | '-' | '*' | '/' | '%' | '?'), Some('=')) = next {
                return self.c.unsupported(at, format!("the '{}=' assignment operator", next.0.unwrap_or('=')));
            }
            self.c.i = start;
        }
        Ok(Stmt::Pipeline(self.pipeline()?))
    }

    fn pipeline(&mut self) -> Result<Pipeline, PsError> {
        self.c.skip_blanks(false)?;
        let pos = self.c.pos();
        let mut elements = vec![self.element(true)?];
        loop {
            self.c.skip_blanks(false)?;
            if self.c.peek() != Some('|') {
                break;
            }
            if self.c.peek_at(1) == Some('|') {
                return self.c.unsupported(self.c.i, "the pipeline chain operator '||'");
            }
            self.c.i += 1;
            self.c.skip_blanks(true)?;
            elements.push(self.element(false)?);
        }
        Ok(Pipeline { elements, pos })
    }

    fn element(&mut self, first: bool) -> Result<Element, PsError> {
        self.c.skip_blanks(false)?;
        let at = self.c.i;
        match (self.c.peek(), self.c.peek_at(1)) {
            (None, _) | (Some(';' | '\n' | '\r' | '|' | ')' | '}'), _) => {
                if first {
                    self.c.err(at, "expected a command or an expression")
                } else if self.c.at_end() {
                    self.c.eof_err(at, "expected a command after '|'")
                } else {
                    self.c.err(at, "expected a command after '|'")
                }
            }
            (Some('&'), Some('&')) => self.c.unsupported(at, "the pipeline chain operator '&&'"),
            (Some('&'), _) => self.c.unsupported(at, "the call operator '&'"),
            (Some('.'), Some(n)) if n.is_whitespace() || lexer::is_quote(n) || n == '$' => {
                self.c.unsupported(at, "dot-sourcing ('. script')")
            }
            (Some(c), n)
                if c.is_alphabetic()
                    || c == '_'
                    || ((c == '?' || c == '%') && n.is_none_or(|n| n.is_whitespace() || n == '{')) =>
            {
                Ok(Element::Command(self.command()?))
            }
            _ if !first => self.c.err(at, "only a command can follow '|' (an expression may only start a pipeline)"),
            _ => Ok(Element::Expr(self.expr()?)),
        }
    }

    fn command(&mut self) -> Result<Command, PsError> {
        let pos = self.c.pos();
        let name = self.c.bare_word();
        let mut args = Vec::new();
        loop {
            self.c.skip_blanks(false)?;
            let at = self.c.i;
            match (self.c.peek(), self.c.peek_at(1)) {
                (None | Some(';' | '\n' | '\r' | '|' | ')' | '}'), _) => break,
                (Some('&'), Some('&')) => return self.c.unsupported(at, "the pipeline chain operator '&&'"),
                (Some('&'), _) => return self.c.unsupported(at, "'&' (background jobs)"),
                (Some('>'), _) => return self.c.unsupported(at, "output redirection ('>')"),
                (Some('<'), _) => return self.c.unsupported(at, "input redirection ('<')"),
                (Some(d), Some('-')) if is_dash(d) && self.c.peek_at(2) == Some('%') => {
                    return self.c.unsupported(at, "the stop-parsing token '--%'");
                }
                (Some(d), Some(n)) if is_dash(d) && (n.is_alphabetic() || n == '_' || n == '?') => {
                    self.c.i += 1;
                    let start = self.c.i;
                    while self.c.peek().is_some_and(|c| is_name_char(c) || c == '?') {
                        self.c.i += 1;
                    }
                    let pname = self.c.text(start, self.c.i);
                    let ppos = self.c.pos_of(at);
                    if self.c.peek() == Some(':') {
                        self.c.i += 1;
                        self.c.skip_blanks(false)?;
                        let value = self.arg_value()?;
                        args.push(Arg::Param { name: pname, pos: ppos, value: Some(value) });
                    } else {
                        if self.c.peek().is_some_and(|c| !lexer::ends_bare_word(c)) {
                            return self.c.err(
                                self.c.i,
                                format!("unexpected '{}' in parameter name '-{pname}'", self.c.peek().unwrap_or(' ')),
                            );
                        }
                        args.push(Arg::Param { name: pname, pos: ppos, value: None });
                    }
                }
                (Some(d), _) if d.is_ascii_digit() && self.redirection_ahead() => {
                    return self.c.unsupported(at, "output redirection ('2>', '2>&1')");
                }
                _ => {
                    let vpos = self.c.pos();
                    args.push(Arg::Value(self.arg_value()?, vpos));
                }
            }
        }
        Ok(Command { name, pos, args })
    }

    /// `2>`, `2>&1`, `*>`: a stream number glued to `>`.
    fn redirection_ahead(&self) -> bool {
        let mut k = 0;
        while self.c.peek_at(k).is_some_and(|c| c.is_ascii_digit()) {
            k += 1;
        }
        self.c.peek_at(k) == Some('>')
    }

    /// One argument in argument mode; `a, b, c` is one array argument.
    fn arg_value(&mut self) -> Result<Expr, PsError> {
        let first = self.arg_primary()?;
        self.c.skip_blanks(false)?;
        if self.c.peek() != Some(',') {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.c.peek() == Some(',') {
            self.c.i += 1;
            self.c.skip_blanks(true)?;
            items.push(self.arg_primary()?);
            self.c.skip_blanks(false)?;
        }
        Ok(Expr::Array(items))
    }

    fn arg_primary(&mut self) -> Result<Expr, PsError> {
        self.enter()?;
        let at = self.c.i;
        let e = match self.c.peek() {
            Some(q) if lexer::is_quote(q) || matches!(q, '$' | '(' | '@' | '{') => self.postfix_expr()?,
            Some(c) if lexer::ends_bare_word(c) => return self.c.err(at, format!("unexpected '{c}'")),
            None => return self.c.eof_err(at, "expected a value"),
            Some(_) => {
                let word = self.c.bare_word();
                if word.is_empty() {
                    return self.c.err(at, "expected a value");
                }
                match lexer::parse_number(&word) {
                    Some(NumberLit::Int(i)) => Expr::Int(i),
                    Some(NumberLit::Float(f)) => Expr::Float(f),
                    None => Expr::Bare(word),
                }
            }
        };
        self.depth -= 1;
        Ok(e)
    }

    // ----- expression mode -----

    fn expr(&mut self) -> Result<Expr, PsError> {
        self.enter()?;
        let e = self.logical()?;
        self.depth -= 1;
        Ok(e)
    }

    /// `-word` at the cursor (after blanks on this line), without consuming it: (word, start).
    fn peek_dash_word(&mut self) -> Result<Option<(String, usize)>, PsError> {
        self.c.skip_blanks(false)?;
        let at = self.c.i;
        if !self.c.peek().is_some_and(is_dash) || !self.c.peek_at(1).is_some_and(|c| c.is_alphabetic()) {
            return Ok(None);
        }
        let mut k = 1;
        let mut w = String::new();
        while let Some(c) = self.c.peek_at(k).filter(|c| c.is_alphanumeric()) {
            w.push(c);
            k += 1;
        }
        Ok(Some((w, at)))
    }

    fn take_dash_word(&mut self, word: &str) -> Result<(), PsError> {
        self.c.i += 1 + word.chars().count();
        self.c.skip_blanks(true)
    }

    /// `-and`, `-or`, `-xor`: PowerShell gives them equal precedence, left to right.
    fn logical(&mut self) -> Result<Expr, PsError> {
        let mut left = self.comparison()?;
        while let Some((w, _)) = self.peek_dash_word()? {
            let op = match w.to_ascii_lowercase().as_str() {
                "and" => BinOp::And,
                "or" => BinOp::Or,
                "xor" => BinOp::Xor,
                _ => break,
            };
            self.take_dash_word(&w)?;
            let right = self.comparison()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comparison(&mut self) -> Result<Expr, PsError> {
        let mut left = self.additive()?;
        while let Some((w, at)) = self.peek_dash_word()? {
            if let Some(op) = op_name(&w) {
                self.take_dash_word(&w)?;
                let right = self.additive()?;
                left = Expr::Binary(BinOp::Cmp(op), Box::new(left), Box::new(right));
            } else if is_other_operator(&w) {
                return self.c.unsupported(at, format!("the -{w} operator"));
            } else if matches!(w.to_ascii_lowercase().as_str(), "and" | "or" | "xor") {
                break;
            } else {
                return self.c.err(at, format!("unknown operator '-{w}'"));
            }
        }
        Ok(left)
    }

    fn additive(&mut self) -> Result<Expr, PsError> {
        let mut left = self.multiplicative()?;
        loop {
            self.c.skip_blanks(false)?;
            let op = match (self.c.peek(), self.c.peek_at(1)) {
                (Some('+'), n) if n != Some('=') && n != Some('+') => BinOp::Add,
                (Some(d), n) if is_dash(d) && !n.is_some_and(|n| n.is_alphabetic() || n == '=' || is_dash(n)) => {
                    BinOp::Sub
                }
                _ => break,
            };
            self.c.i += 1;
            self.c.skip_blanks(true)?;
            let right = self.multiplicative()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn multiplicative(&mut self) -> Result<Expr, PsError> {
        let mut left = self.comma()?;
        loop {
            self.c.skip_blanks(false)?;
            let op = match (self.c.peek(), self.c.peek_at(1)) {
                (Some('*'), n) if n != Some('=') => BinOp::Mul,
                (Some('/'), n) if n != Some('=') => BinOp::Div,
                (Some('%'), n) if n != Some('=') => BinOp::Rem,
                _ => break,
            };
            self.c.i += 1;
            self.c.skip_blanks(true)?;
            let right = self.comma()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn comma(&mut self) -> Result<Expr, PsError> {
        let first = self.unary()?;
        self.c.skip_blanks(false)?;
        if self.c.peek() != Some(',') {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.c.peek() == Some(',') {
            self.c.i += 1;
            self.c.skip_blanks(true)?;
            items.push(self.unary()?);
            self.c.skip_blanks(false)?;
        }
        Ok(Expr::Array(items))
    }

    fn unary(&mut self) -> Result<Expr, PsError> {
        self.enter()?;
        self.c.skip_blanks(false)?;
        let at = self.c.i;
        let e = match (self.c.peek(), self.c.peek_at(1)) {
            (Some('!'), _) => {
                self.c.i += 1;
                self.c.skip_blanks(false)?;
                Expr::Not(Box::new(self.unary()?))
            }
            (Some(d), Some(n)) if is_dash(d) && n.is_alphabetic() => {
                let (w, _) = self.peek_dash_word()?.unwrap_or_default();
                if w.eq_ignore_ascii_case("not") {
                    self.take_dash_word(&w)?;
                    Expr::Not(Box::new(self.unary()?))
                } else if matches!(w.to_ascii_lowercase().as_str(), "split" | "join" | "bnot") {
                    return self.c.unsupported(at, format!("the unary -{w} operator"));
                } else {
                    return self.c.err(at, format!("unexpected '-{w}': an operator needs a value before it"));
                }
            }
            (Some(d), Some(n)) if is_dash(d) && is_dash(n) => return self.c.unsupported(at, "the '--' operator"),
            (Some(d), _) if is_dash(d) => {
                self.c.i += 1;
                match self.unary()? {
                    Expr::Int(i) => Expr::Int(i.wrapping_neg()),
                    Expr::Float(f) => Expr::Float(-f),
                    other => Expr::Neg(Box::new(other)),
                }
            }
            (Some('+'), Some('+')) => return self.c.unsupported(at, "the '++' operator"),
            (Some('+'), _) => {
                self.c.i += 1;
                self.unary()?
            }
            (Some('['), _) => {
                let close = self.c.block_end(at)?;
                return if self.c.chars.get(close + 1) == Some(&':') && self.c.chars.get(close + 2) == Some(&':') {
                    self.c.unsupported(at, format!(".NET static members ('{}::')", self.c.text(at, close + 1)))
                } else {
                    self.c.unsupported(at, format!("type casts and type literals ('{}')", self.c.text(at, close + 1)))
                };
            }
            _ => self.postfix_expr()?,
        };
        self.depth -= 1;
        Ok(e)
    }

    /// A primary value followed by `.Member` and `[index]` (written without spaces).
    fn postfix_expr(&mut self) -> Result<Expr, PsError> {
        let mut e = self.primary()?;
        loop {
            let at = self.c.i;
            match (self.c.peek(), self.c.peek_at(1)) {
                (Some('.'), Some(n)) if is_name_char(n) || lexer::is_quote(n) => {
                    self.c.i += 1;
                    let name = if lexer::is_quote(n) {
                        match self.primary()? {
                            Expr::Str(s) => s,
                            _ => return self.c.unsupported(at + 1, "computed member names"),
                        }
                    } else {
                        let start = self.c.i;
                        while self.c.peek().is_some_and(is_name_char) {
                            self.c.i += 1;
                        }
                        self.c.text(start, self.c.i)
                    };
                    if self.c.peek() == Some('(') {
                        return self.c.unsupported(at, format!(".NET method calls ('.{name}()')"));
                    }
                    e = Expr::Member(Box::new(e), name);
                }
                (Some(':'), Some(':')) => return self.c.unsupported(at, ".NET static members ('::')"),
                (Some('?'), Some('.' | '[')) => return self.c.unsupported(at, "null-conditional member access ('?.')"),
                (Some('['), _) => {
                    let close = self.c.block_end(at)?;
                    let mut p = self.sub(at + 1, close);
                    p.c.skip_blanks(true)?;
                    let index = p.expr()?;
                    p.c.skip_blanks(true)?;
                    if !p.c.at_end() {
                        return p.c.err(p.c.i, "unexpected text in the index");
                    }
                    self.c.i = close + 1;
                    e = Expr::Index(Box::new(e), Box::new(index));
                }
                _ => return Ok(e),
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, PsError> {
        let at = self.c.i;
        let (Some(c), next) = (self.c.peek(), self.c.peek_at(1)) else {
            return self.c.eof_err(at, "expected a value");
        };
        if is_single_quote(c) {
            return Ok(Expr::Str(self.c.single_quoted()?));
        }
        if is_double_quote(c) {
            return self.expandable();
        }
        match (c, next) {
            ('$', Some('(')) => {
                let close = self.c.block_end(at + 1)?;
                let body = self.sub(at + 2, close).statements()?;
                self.c.i = close + 1;
                Ok(Expr::Sub(body))
            }
            ('$', Some('{')) => {
                let close = self.c.block_end(at + 1)?;
                let name = self.c.text(at + 2, close);
                self.c.i = close + 1;
                Ok(Expr::Var(name, self.c.pos_of(at)))
            }
            ('$', Some(n)) if is_name_char(n) => {
                self.c.i += 1;
                let name = self.c.variable_name();
                Ok(Expr::Var(name, self.c.pos_of(at)))
            }
            ('$', _) => self
                .c
                .unsupported(at, format!("the automatic variable '${}'", next.map(String::from).unwrap_or_default())),
            ('(', _) => {
                let close = self.c.block_end(at)?;
                let mut p = self.sub(at + 1, close);
                p.c.skip_blanks(true)?;
                if p.c.at_end() {
                    return self.c.err(at, "empty parentheses: expected a command or an expression inside");
                }
                let pipeline = p.pipeline()?;
                p.c.skip_blanks(true)?;
                if !p.c.at_end() {
                    return p.c.err(
                        p.c.i,
                        format!(
                            "unexpected '{}' (one pipeline per parentheses; use @( ) for several)",
                            p.c.peek().unwrap_or(' ')
                        ),
                    );
                }
                self.c.i = close + 1;
                Ok(Expr::Paren(Box::new(pipeline)))
            }
            ('@', Some('(')) => {
                let close = self.c.block_end(at + 1)?;
                let body = self.sub(at + 2, close).statements()?;
                self.c.i = close + 1;
                Ok(Expr::Sub(body))
            }
            ('@', Some('{')) => self.hashtable(),
            ('@', Some(q)) if lexer::is_quote(q) => self.c.unsupported(at, "here-strings (@\"...\"@)"),
            ('@', _) => self.c.unsupported(at, "splatting ('@name')"),
            ('{', _) => {
                let close = self.c.block_end(at)?;
                let text = self.c.text(at + 1, close);
                let body = self.sub(at + 1, close).statements();
                self.c.i = close + 1;
                Ok(Expr::Block(Box::new(ScriptBlock { text, pos: self.c.pos_of(at), body })))
            }
            (d, _) if d.is_ascii_digit() || (d == '.' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let start = self.c.i;
                while self.c.peek().is_some_and(|c| c.is_alphanumeric() || c == '.') {
                    // `1..5` is a range, not a number.
                    if self.c.peek() == Some('.') && self.c.peek_at(1) == Some('.') {
                        break;
                    }
                    self.c.i += 1;
                }
                let word = self.c.text(start, self.c.i);
                if self.c.starts_with("..") {
                    return self.c.unsupported(self.c.i, "the range operator '..'");
                }
                match lexer::parse_number(&word) {
                    Some(NumberLit::Int(i)) => Ok(Expr::Int(i)),
                    Some(NumberLit::Float(f)) => Ok(Expr::Float(f)),
                    None => self.c.err(start, format!("'{word}' is not a number")),
                }
            }
            (c, _) if c.is_alphabetic() || c == '_' => {
                let word = self.peek_word();
                self.c.err(
                    at,
                    format!("unexpected word '{word}' in an expression (quote text; put a command in parentheses)"),
                )
            }
            (c, _) => self.c.err(at, format!("unexpected '{c}'")),
        }
    }

    fn expandable(&mut self) -> Result<Expr, PsError> {
        let raw = self.c.double_quoted()?;
        let mut parts = Vec::with_capacity(raw.len());
        for r in raw {
            parts.push(match r {
                RawPart::Text(t) => Part::Text(t),
                RawPart::Var(name, pos) => Part::Var(name, pos),
                RawPart::Sub(start, end) => Part::Sub(self.sub(start, end).statements()?),
            });
        }
        Ok(match parts.as_slice() {
            [] => Expr::Str(String::new()),
            [Part::Text(t)] => Expr::Str(t.clone()),
            _ => Expr::Expand(parts),
        })
    }

    /// `@{ Key = value; ... }`; the cursor is on `@`.
    fn hashtable(&mut self) -> Result<Expr, PsError> {
        let at = self.c.i;
        let close = self.c.block_end(at + 1)?;
        let mut p = self.sub(at + 2, close);
        let mut entries = Vec::new();
        loop {
            p.c.skip_blanks(true)?;
            while p.c.peek() == Some(';') {
                p.c.i += 1;
                p.c.skip_blanks(true)?;
            }
            if p.c.at_end() {
                break;
            }
            let key_at = p.c.i;
            let key = match p.c.peek() {
                Some(q) if is_single_quote(q) => p.c.single_quoted()?,
                Some(q) if is_double_quote(q) => match p.expandable()? {
                    Expr::Str(s) => s,
                    _ => return p.c.unsupported(key_at, "computed hashtable keys"),
                },
                Some(c) if is_name_char(c) => {
                    let start = p.c.i;
                    while p.c.peek().is_some_and(|c| is_name_char(c) || c == '-') {
                        p.c.i += 1;
                    }
                    p.c.text(start, p.c.i)
                }
                Some(c) => return p.c.err(key_at, format!("unexpected '{c}': expected a hashtable key")),
                None => break,
            };
            p.c.skip_blanks(false)?;
            if p.c.peek() != Some('=') {
                return p.c.err(p.c.i, format!("expected '=' after the key '{key}'"));
            }
            p.c.i += 1;
            p.c.skip_blanks(true)?;
            let value = p.pipeline()?;
            let value = match value.elements.as_slice() {
                [Element::Expr(e)] => e.clone(),
                _ => Expr::Paren(Box::new(value)),
            };
            entries.push((key, value));
            p.c.skip_blanks(false)?;
            match p.c.peek() {
                None | Some(';' | '\n' | '\r') => {}
                Some(c) => return p.c.err(p.c.i, format!("unexpected '{c}' (separate hashtable entries with ';')")),
            }
        }
        self.c.i = close + 1;
        Ok(Expr::Hash(entries))
    }
}

/// `$var` or `$var.A.B` as an assignment target: (name, position, properties).
fn assignable(e: &Expr) -> Option<(String, Pos, Vec<String>)> {
    match e {
        Expr::Var(name, pos) => Some((name.clone(), *pos, Vec::new())),
        Expr::Member(inner, prop) => {
            let (name, pos, mut props) = assignable(inner)?;
            props.push(prop.clone());
            Some((name, pos, props))
        }
        _ => None,
    }
}
