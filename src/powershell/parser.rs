//! Recursive-descent parser for pchat's PowerShell subset. Commands are read in PowerShell's
//! argument mode (bare words are strings, `-Name` is a parameter), everything else in
//! expression mode. Bracketed parts are parsed over their own extent, so nesting can never make
//! the parser read past a closing bracket. Anything outside the subset is reported with its
//! position rather than parsed differently.

use super::PsError;
use super::ast::*;
use super::lexer::{self, Cursor, NumberLit, RawPart, is_dash, is_double_quote, is_name_char, is_single_quote};
use super::types;

/// Deeper nesting than any real command line; keeps hostile input from exhausting the stack.
const MAX_DEPTH: usize = 48;

/// Modules whose commands pchat provides, for module-qualified command names.
const KNOWN_MODULES: &[&str] = &[
    "SkypeForBusiness",
    "Lync",
    "Microsoft.PowerShell.Utility",
    "Microsoft.PowerShell.Management",
    "Microsoft.PowerShell.Core",
];

/// The variables in an unquoted argument (`userserver:$pool`), as in a double-quoted string.
fn bare_parts(word: &str, pos: Pos) -> Vec<Part> {
    let chars: Vec<char> = word.chars().collect();
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '$' && chars.get(i + 1).is_some_and(|n| is_name_char(*n) || *n == '{') {
            let braced = chars[i + 1] == '{';
            let start = i + if braced { 2 } else { 1 };
            let mut j = start;
            while j < chars.len() && (if braced { chars[j] != '}' } else { is_name_char(chars[j]) }) {
                j += 1;
            }
            let name: String = chars[start..j].iter().collect();
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Var(name, pos));
            i = if braced { j + 1 } else { j };
            continue;
        }
        text.push(c);
        i += 1;
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    parts
}

pub fn parse(src: &str) -> Result<Vec<Stmt>, PsError> {
    let chars: Vec<char> = src.chars().collect();
    let starts = lexer::line_starts(&chars);
    let mut p = Parser { c: Cursor::new(&chars, &starts, 0, chars.len()), depth: 0, no_comma: false };
    let stmts = p.statements()?;
    if let Some(Stmt::Params(_, pos)) = stmts.iter().skip(1).find(|s| matches!(s, Stmt::Params(..))) {
        return Err(PsError::syntax("param() must be the first statement of a script", *pos));
    }
    Ok(stmts)
}

pub(super) struct Parser<'a> {
    pub(super) c: Cursor<'a>,
    depth: usize,
    /// Inside a parameter default: a `,` ends the value rather than making an array.
    pub(super) no_comma: bool,
}

pub(super) fn op_name(word: &str) -> Option<&'static str> {
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
        || matches!(w.as_str(), "creplace" | "csplit" | "as" | "band" | "bor" | "bxor" | "bnot" | "shl" | "shr")
}

impl<'a> Parser<'a> {
    /// Skip the blanks and `;` between the entries of a hashtable or the clauses of a switch;
    /// true when none is left.
    pub(super) fn at_end_of_entries(&mut self) -> Result<bool, PsError> {
        self.c.skip_blanks(true)?;
        while self.c.peek() == Some(';') {
            self.c.i += 1;
            self.c.skip_blanks(true)?;
        }
        Ok(self.c.at_end())
    }

    pub(super) fn sub(&self, start: usize, end: usize) -> Parser<'a> {
        Parser { c: self.c.sub(start, end), depth: self.depth + 1, no_comma: false }
    }

    fn enter(&mut self) -> Result<(), PsError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH { self.c.err(self.c.i, "the command is nested too deeply") } else { Ok(()) }
    }

    /// Statements separated by `;` or newlines, up to the end of this parser's extent.
    pub(super) fn statements(&mut self) -> Result<Vec<Stmt>, PsError> {
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
            let stmt = self.statement()?;
            // A compound statement ends at its closing brace; the next may follow on the same line.
            let braced = !matches!(
                stmt,
                Stmt::Pipeline(_)
                    | Stmt::Assign { .. }
                    | Stmt::Step { .. }
                    | Stmt::Throw(_)
                    | Stmt::Return(_)
                    | Stmt::Exit(_)
                    | Stmt::Break
                    | Stmt::Continue
            );
            out.push(stmt);
            self.c.skip_blanks(false)?;
            match self.c.peek() {
                None | Some(';' | '\n' | '\r') => {}
                Some(_) if braced => {}
                Some(c) => return self.c.err(self.c.i, format!("unexpected '{c}'")),
            }
        }
        self.depth -= 1;
        Ok(out)
    }

    /// The word at the cursor (letters, digits, `_`, `-`), without consuming it.
    pub(super) fn peek_word(&self) -> String {
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

    pub(super) fn pipeline(&mut self) -> Result<Pipeline, PsError> {
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
        let written = self.c.bare_word();
        // `SkypeForBusiness\Grant-CsPersistentChatPolicy`: the module a command comes from.
        let name = match written.rsplit_once('\\') {
            Some((module, name)) if KNOWN_MODULES.iter().any(|m| m.eq_ignore_ascii_case(module)) => name.to_string(),
            Some((module, _)) => return Err(PsError::unsupported(format!("commands of the module '{module}'"), pos)),
            None => written,
        };
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
            Some('$') if self.c.peek_at(1).is_some_and(|n| is_name_char(n) || n == '{') => {
                let value = self.postfix_expr()?;
                // `$pool\Room` in argument mode is one string, as if in double quotes.
                if self.c.peek().is_some_and(|c| !lexer::ends_bare_word(c)) {
                    let rest_pos = self.c.pos();
                    let rest = self.c.bare_word();
                    let mut parts = vec![Part::Sub(vec![Stmt::Pipeline(Pipeline {
                        elements: vec![Element::Expr(value)],
                        pos: self.c.pos_of(at),
                    })])];
                    parts.extend(bare_parts(&rest, rest_pos));
                    Expr::Expand(parts)
                } else {
                    value
                }
            }
            Some(q) if lexer::is_quote(q) || matches!(q, '$' | '(' | '@' | '{') => self.postfix_expr()?,
            Some(c) if lexer::ends_bare_word(c) => return self.c.err(at, format!("unexpected '{c}'")),
            None => return self.c.eof_err(at, "expected a value"),
            Some(_) => {
                let word = self.c.bare_word();
                if word.is_empty() {
                    return self.c.err(at, "expected a value");
                }
                if word.contains('$') {
                    return Ok(Expr::Expand(bare_parts(&word, self.c.pos_of(at))));
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

    pub(super) fn expr(&mut self) -> Result<Expr, PsError> {
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
            let lower = w.to_ascii_lowercase();
            let base = match lower.strip_prefix('i') {
                Some(rest @ ("replace" | "split")) => rest,
                _ => lower.as_str(),
            };
            let op = if let Some(op) = op_name(&w) {
                BinOp::Cmp(op)
            } else {
                match base {
                    "join" => BinOp::Join,
                    "split" => BinOp::Split,
                    "replace" => BinOp::Replace,
                    "is" => BinOp::Is(true),
                    "isnot" => BinOp::Is(false),
                    "and" | "or" | "xor" => break,
                    _ if is_other_operator(&w) => return self.c.unsupported(at, format!("the -{w} operator")),
                    _ => return self.c.err(at, format!("unknown operator '-{w}'")),
                }
            };
            self.take_dash_word(&w)?;
            let right = self.additive()?;
            if let BinOp::Is(_) = op
                && !matches!(right, Expr::Type(..))
            {
                return self.c.err(at, format!("-{w} needs a type on its right, such as [string]"));
            }
            left = Expr::Binary(op, Box::new(left), Box::new(right));
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
        let mut left = self.format()?;
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
            let right = self.format()?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    /// `"{0} {1}" -f $a, $b`: the format operator binds tighter than arithmetic.
    fn format(&mut self) -> Result<Expr, PsError> {
        let mut left = self.range()?;
        while let Some((w, _)) = self.peek_dash_word()? {
            if !w.eq_ignore_ascii_case("f") {
                break;
            }
            self.take_dash_word(&w)?;
            let right = self.range()?;
            left = Expr::Binary(BinOp::Format, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn range(&mut self) -> Result<Expr, PsError> {
        let left = self.comma()?;
        self.c.skip_blanks(false)?;
        if self.c.starts_with("..") {
            self.c.i += 2;
            self.c.skip_blanks(true)?;
            let right = self.comma()?;
            return Ok(Expr::Binary(BinOp::Range, Box::new(left), Box::new(right)));
        }
        Ok(left)
    }

    fn comma(&mut self) -> Result<Expr, PsError> {
        let first = self.unary()?;
        if self.no_comma {
            return Ok(first);
        }
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
                match w.to_ascii_lowercase().as_str() {
                    "not" => {
                        self.take_dash_word(&w)?;
                        Expr::Not(Box::new(self.unary()?))
                    }
                    "join" => {
                        self.take_dash_word(&w)?;
                        Expr::UnaryJoin(Box::new(self.unary()?))
                    }
                    "split" => {
                        self.take_dash_word(&w)?;
                        Expr::UnarySplit(Box::new(self.unary()?))
                    }
                    "bnot" => return self.c.unsupported(at, format!("the unary -{w} operator")),
                    _ => return self.c.err(at, format!("unexpected '-{w}': an operator needs a value before it")),
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
            (Some('+'), Some('+')) => return self.c.unsupported(at, "the '++' operator inside an expression"),
            (Some('+'), _) => {
                self.c.i += 1;
                self.unary()?
            }
            (Some('['), _) => self.type_expr()?,
            _ => self.postfix_expr()?,
        };
        self.depth -= 1;
        Ok(e)
    }

    /// `[type]value` (a cast), `[type]::Member` (a static member) or `[type]` alone.
    fn type_expr(&mut self) -> Result<Expr, PsError> {
        let at = self.c.i;
        let close = self.c.block_end(at)?;
        let written = self.c.text(at + 1, close).trim().to_string();
        let pos = self.c.pos_of(at);
        self.c.i = close + 1;
        if self.c.starts_with("::") {
            self.c.i += 2;
            let start = self.c.i;
            while self.c.peek().is_some_and(is_name_char) {
                self.c.i += 1;
            }
            let member = self.c.text(start, self.c.i);
            // `[System.Collections.ArrayList]::new()`, `[System.Collections.Generic.List[string]]::new()`,
            // `[hashtable]::new()`: an empty collection, as `[type]@()` / `@{}` give it.
            if member.eq_ignore_ascii_case("new")
                && let Some(ty @ ("arraylist" | "hashtable")) = types::cast_type(&written)
                && self.c.peek() == Some('(')
            {
                let args_at = self.c.i;
                if !self.call_args()?.is_empty() {
                    return self.c.unsupported(args_at, format!("arguments to [{written}]::new()"));
                }
                let empty = if ty == "hashtable" { Expr::Hash(Vec::new()) } else { Expr::Sub(Vec::new()) };
                return self.postfix(Expr::Cast(ty.to_string(), Box::new(empty)));
            }
            let Some(ty) = types::static_type(&written) else {
                return self.c.unsupported(at, format!(".NET static members of [{written}]"));
            };
            if member.is_empty() {
                return self.c.err(start, format!("expected a member name after '[{written}]::'"));
            }
            let args = if self.c.peek() == Some('(') { Some(self.call_args()?) } else { None };
            return self.postfix(Expr::Static(ty.to_string(), member, args, pos));
        }
        let Some(ty) = types::cast_type(&written) else {
            return self.c.unsupported(at, format!("the .NET type [{written}]"));
        };
        self.c.skip_blanks(false)?;
        let value_follows = match (self.c.peek(), self.c.peek_at(1)) {
            (Some(c), _) if lexer::is_quote(c) || matches!(c, '$' | '(' | '@' | '[') => true,
            (Some(c), _) if c.is_ascii_digit() => true,
            (Some(d), Some(n)) if is_dash(d) && n.is_ascii_digit() => true,
            _ => false,
        };
        if value_follows {
            let value = self.unary()?;
            return Ok(Expr::Cast(ty.to_string(), Box::new(value)));
        }
        Ok(Expr::Type(ty.to_string(), pos))
    }

    /// `( a, b )` after a method or static member name: its arguments.
    fn call_args(&mut self) -> Result<Vec<Expr>, PsError> {
        let at = self.c.i;
        let close = self.c.block_end(at)?;
        let mut p = self.sub(at + 1, close);
        p.c.skip_blanks(true)?;
        // Commas separate the arguments (they do not build an array here).
        let mut args = Vec::new();
        p.no_comma = true;
        while !p.c.at_end() {
            args.push(p.expr()?);
            p.c.skip_blanks(true)?;
            match p.c.peek() {
                Some(',') => {
                    p.c.i += 1;
                    p.c.skip_blanks(true)?;
                }
                None => break,
                Some(c) => return p.c.err(p.c.i, format!("unexpected '{c}' in the arguments")),
            }
        }
        self.c.i = close + 1;
        Ok(args)
    }

    /// A primary value followed by `.Member`, `.Method(...)` and `[index]` (written without spaces).
    pub(super) fn postfix_expr(&mut self) -> Result<Expr, PsError> {
        let e = self.primary()?;
        self.postfix(e)
    }

    fn postfix(&mut self, mut e: Expr) -> Result<Expr, PsError> {
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
                        let args = self.call_args()?;
                        e = Expr::Method(Box::new(e), name, args);
                    } else {
                        e = Expr::Member(Box::new(e), name);
                    }
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
            ('@', Some(q)) if lexer::is_quote(q) => {
                let raw = self.c.here_string()?;
                self.parts_expr(raw)
            }
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
        self.parts_expr(raw)
    }

    fn parts_expr(&mut self, raw: Vec<RawPart>) -> Result<Expr, PsError> {
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
            if p.at_end_of_entries()? {
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
