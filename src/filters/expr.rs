//! Expression filters: `{ Prop -op value [(-and|-or) ...] }`, evaluated over object maps
//! with PowerShell's comparison rules (case-insensitive, list-aware, missing property = `$Null`).

use std::cmp::Ordering;
use std::fmt;

use regex::{Regex, RegexBuilder};
use rhai::{Dynamic, ImmutableString, Map};

use crate::catalog::ObjType;
use crate::values::text::did_you_mean;
use crate::values::time::{self, DateArg};
use crate::values::wildcard::{Wildcard, fold};

/// Deeper nesting than any real filter; bounds recursion so hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 64;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterError {
    pub message: String,
    /// 1-based character column of the offending token (one past the end for "unexpected end").
    pub column: usize,
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (column {})", self.message, self.column)
    }
}

impl std::error::Error for FilterError {}

fn ferr<T>(message: impl Into<String>, column: usize) -> Result<T, FilterError> {
    Err(FilterError { message: message.into(), column })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Like,
    NotLike,
    Gt,
    Ge,
    Lt,
    Le,
    Contains,
    NotContains,
    Match,
    NotMatch,
}

const OPS: [(&str, Op); 12] = [
    ("eq", Op::Eq),
    ("ne", Op::Ne),
    ("like", Op::Like),
    ("notlike", Op::NotLike),
    ("gt", Op::Gt),
    ("ge", Op::Ge),
    ("lt", Op::Lt),
    ("le", Op::Le),
    ("contains", Op::Contains),
    ("notcontains", Op::NotContains),
    ("match", Op::Match),
    ("notmatch", Op::NotMatch),
];

const OP_LIST: &str = "-eq, -ne, -like, -notlike, -gt, -ge, -lt, -le, -contains, -notcontains, -match, -notmatch";

/// `name` is lowercase without the dash. The `-i` forms are PowerShell's explicit case-insensitive spellings.
fn op_by_name(name: &str) -> Option<Op> {
    let base = match name.strip_prefix('i') {
        Some(rest) if OPS.iter().any(|(n, _)| *n == rest) => rest,
        _ => name,
    };
    OPS.iter().find(|(n, _)| *n == base).map(|(_, op)| *op)
}

#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Null,
}

#[derive(Debug, Clone)]
pub struct Comparison {
    pub property: String,
    pub op: Op,
    pub value: Literal,
    matcher: Matcher,
}

/// Compiled once at parse time: filters run over every object of a large result set.
#[derive(Debug, Clone)]
enum Matcher {
    None,
    Like(Wildcard),
    Regex(Regex),
    /// The value read as a date, so `PostedAt -gt "3/1/2018"` compares instants, not text.
    Date(DateArg),
}

#[derive(Debug, Clone)]
pub enum Expr {
    Or(Vec<Expr>),
    And(Vec<Expr>),
    Not(Box<Expr>),
    Compare(Comparison),
}

// ---------------------------------------------------------------------------------------------------------
// Lexer

#[derive(Debug, Clone, PartialEq)]
enum Tk {
    LBrace,
    RBrace,
    LParen,
    RParen,
    Bang,
    Dot,
    /// `-name`, lowercased, without the dash.
    Dash(String),
    Ident(String),
    /// `$name`, lowercased, without the `$`.
    Var(String),
    Str(String),
    Num(Literal),
    End,
}

#[derive(Debug, Clone)]
struct Token {
    tk: Tk,
    col: usize,
    /// Source text, for messages.
    text: String,
}

struct Lexer {
    s: Vec<char>,
    i: usize,
}

fn is_single_quote(c: char) -> bool {
    matches!(c, '\'' | '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}')
}

fn is_double_quote(c: char) -> bool {
    matches!(c, '"' | '\u{201C}' | '\u{201D}' | '\u{201E}')
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

impl Lexer {
    fn new(src: &str) -> Lexer {
        Lexer { s: src.chars().collect(), i: 0 }
    }

    fn peek_at(&self, k: usize) -> Option<char> {
        self.s.get(self.i + k).copied()
    }

    fn take_while(&mut self, f: impl Fn(char) -> bool) -> String {
        let start = self.i;
        while self.peek_at(0).is_some_and(&f) {
            self.i += 1;
        }
        self.s[start..self.i].iter().collect()
    }

    fn next_token(&mut self) -> Result<Token, FilterError> {
        while self.peek_at(0).is_some_and(char::is_whitespace) {
            self.i += 1;
        }
        let start = self.i;
        let col = start + 1;
        let Some(c) = self.peek_at(0) else {
            return Ok(Token { tk: Tk::End, col, text: "end of filter".into() });
        };
        let simple = match c {
            '{' => Some(Tk::LBrace),
            '}' => Some(Tk::RBrace),
            '(' => Some(Tk::LParen),
            ')' => Some(Tk::RParen),
            '!' => Some(Tk::Bang),
            '.' if !self.peek_at(1).is_some_and(|d| d.is_ascii_digit()) => Some(Tk::Dot),
            _ => None,
        };
        let tk = if let Some(tk) = simple {
            self.i += 1;
            tk
        } else if is_single_quote(c) || is_double_quote(c) {
            self.i += 1;
            Tk::Str(self.string(is_double_quote(c), col)?)
        } else if c == '$' {
            self.i += 1;
            let name = self.take_while(is_ident_char);
            if name.is_empty() {
                return ferr("expected a variable name after '$'", col);
            }
            Tk::Var(name.to_lowercase())
        } else if c == '-' && !self.peek_at(1).is_some_and(|d| d.is_ascii_digit() || d == '.') {
            self.i += 1;
            let name = self.take_while(|c| c.is_ascii_alphabetic());
            if name.is_empty() {
                return ferr("expected an operator name after '-' (for example -eq)", col);
            }
            Tk::Dash(name.to_ascii_lowercase())
        } else if c.is_ascii_digit() || c == '-' || c == '.' {
            Tk::Num(self.number(col)?)
        } else if is_ident_start(c) {
            Tk::Ident(self.ident())
        } else {
            return ferr(format!("unexpected character '{c}'"), col);
        };
        let text = self.s[start..self.i].iter().collect();
        Ok(Token { tk, col, text })
    }

    /// PowerShell quoting: doubled quote inside either kind; backtick escapes inside double quotes.
    fn string(&mut self, double: bool, col: usize) -> Result<String, FilterError> {
        let is_quote = if double { is_double_quote } else { is_single_quote };
        let mut out = String::new();
        loop {
            let Some(c) = self.peek_at(0) else {
                return ferr("unterminated string: missing closing quote", col);
            };
            self.i += 1;
            if is_quote(c) {
                if self.peek_at(0).is_some_and(is_quote) {
                    self.i += 1;
                    out.push(c);
                    continue;
                }
                return Ok(out);
            }
            if double && c == '`' {
                let Some(e) = self.peek_at(0) else {
                    return ferr("unterminated string: missing closing quote", col);
                };
                self.i += 1;
                out.push(match e {
                    '0' => '\0',
                    'a' => '\u{7}',
                    'b' => '\u{8}',
                    'f' => '\u{c}',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'v' => '\u{b}',
                    other => other,
                });
                continue;
            }
            out.push(c);
        }
    }

    /// A name may contain inner hyphens (`msRTCSIP-PrimaryUserAddress`); like PowerShell, `Name-eq` is therefore
    /// one word, not a name and an operator.
    fn ident(&mut self) -> String {
        let start = self.i;
        while let Some(c) = self.peek_at(0) {
            let inner_dash = c == '-' && self.peek_at(1).is_some_and(char::is_alphanumeric);
            if !(is_ident_char(c) || inner_dash) {
                break;
            }
            self.i += 1;
        }
        self.s[start..self.i].iter().collect()
    }

    fn number(&mut self, col: usize) -> Result<Literal, FilterError> {
        let start = self.i;
        if self.peek_at(0) == Some('-') {
            self.i += 1;
        }
        self.take_while(|c| c.is_ascii_digit());
        if self.peek_at(0) == Some('.') && self.peek_at(1).is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
            self.take_while(|c| c.is_ascii_digit());
        }
        let text: String = self.s[start..self.i].iter().collect();
        if self.peek_at(0).is_some_and(|c| is_ident_char(c) || c == '.') {
            let tail = self.take_while(|c| is_ident_char(c) || c == '.');
            return ferr(format!("invalid number '{text}{tail}'"), col);
        }
        parse_num(&text).ok_or_else(|| FilterError { message: format!("invalid number '{text}'"), column: col })
    }
}

/// A number written as `[-]digits[.digits]`; anything else (including "NaN", "1e5") is not numeric here.
fn parse_num(s: &str) -> Option<Literal> {
    let s = s.trim();
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = match body.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (body, None),
    };
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !frac.is_none_or(|f| !f.is_empty() && digits(f)) || (int.is_empty() && frac.is_none()) {
        return None;
    }
    if frac.is_none()
        && let Ok(i) = s.parse::<i64>()
    {
        return Some(Literal::Int(i));
    }
    s.parse::<f64>().ok().map(Literal::Float)
}

// ---------------------------------------------------------------------------------------------------------
// Parser

struct Parser {
    lx: Lexer,
    tok: Token,
    depth: usize,
}

fn describe(t: &Token) -> String {
    match t.tk {
        Tk::End => "the end of the filter".into(),
        _ => format!("'{}'", t.text),
    }
}

impl Parser {
    fn bump(&mut self) -> Result<Token, FilterError> {
        let next = self.lx.next_token()?;
        Ok(std::mem::replace(&mut self.tok, next))
    }

    fn is_dash(&self, name: &str) -> bool {
        matches!(&self.tok.tk, Tk::Dash(n) if n == name)
    }

    fn or_expr(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.and_expr()?];
        while self.is_dash("or") {
            self.bump()?;
            items.push(self.and_expr()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::Or(items) })
    }

    fn and_expr(&mut self) -> Result<Expr, FilterError> {
        let mut items = vec![self.unary()?];
        while self.is_dash("and") {
            self.bump()?;
            items.push(self.unary()?);
        }
        Ok(if items.len() == 1 { items.remove(0) } else { Expr::And(items) })
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return ferr("filter is nested too deeply", self.tok.col);
        }
        let e = if self.is_dash("not") || self.tok.tk == Tk::Bang {
            self.bump()?;
            // `-not` negates the whole comparison that follows, which is what a filter author means
            // (PowerShell would apply it to the property value alone).
            Expr::Not(Box::new(self.unary()?))
        } else if self.tok.tk == Tk::LParen {
            let open = self.bump()?;
            let e = self.or_expr()?;
            if self.tok.tk != Tk::RParen {
                return ferr(
                    format!("expected ')' to close the '(' at column {}, found {}", open.col, describe(&self.tok)),
                    self.tok.col,
                );
            }
            self.bump()?;
            e
        } else {
            Expr::Compare(self.comparison()?)
        };
        self.depth -= 1;
        Ok(e)
    }

    fn property(&mut self) -> Result<String, FilterError> {
        let t = self.bump()?;
        match &t.tk {
            Tk::Ident(name) => Ok(name.clone()),
            Tk::Var(v) if v == "_" || v == "psitem" => {
                if self.tok.tk != Tk::Dot {
                    return ferr(format!("expected '.' and a property name after '{}'", t.text), self.tok.col);
                }
                self.bump()?;
                let p = self.bump()?;
                match p.tk {
                    Tk::Ident(name) => Ok(name),
                    _ => ferr(format!("expected a property name after '{}.', found {}", t.text, describe(&p)), p.col),
                }
            }
            Tk::Var(_) => {
                ferr(format!("variables are not supported in filters ('{}'); write the value itself", t.text), t.col)
            }
            _ => ferr(format!("expected a property name (for example Name -eq 'x'), found {}", describe(&t)), t.col),
        }
    }

    fn comparison(&mut self) -> Result<Comparison, FilterError> {
        let property = self.property()?;
        let t = self.bump()?;
        let op = match &t.tk {
            Tk::Dash(name) => op_by_name(name).ok_or_else(|| FilterError {
                message: format!("unknown operator '{}' after '{property}'; expected one of {OP_LIST}", t.text),
                column: t.col,
            })?,
            _ => {
                return ferr(
                    format!("expected an operator after '{property}' ({OP_LIST}), found {}", describe(&t)),
                    t.col,
                );
            }
        };
        let v = self.bump()?;
        let value = match v.tk {
            Tk::Str(s) => Literal::Str(s),
            Tk::Num(n) => n,
            Tk::Var(ref name) => match name.as_str() {
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                "null" => Literal::Null,
                _ => {
                    return ferr(
                        format!(
                            "variables are not supported in filters ('{}'); use a quoted value, $True, $False or $Null",
                            v.text
                        ),
                        v.col,
                    );
                }
            },
            Tk::Ident(ref word) => {
                return ferr(format!("text values must be quoted: write '{word}' instead of {word}"), v.col);
            }
            _ => {
                return ferr(
                    format!(
                        "expected a value after {} (a quoted string, a number, $True, $False or $Null), found {}",
                        t.text,
                        describe(&v)
                    ),
                    v.col,
                );
            }
        };
        let matcher = matcher(op, &value).map_err(|message| FilterError { message, column: v.col })?;
        Ok(Comparison { property, op, value, matcher })
    }
}

/// Compile what the operator needs once (wildcard, regex, date), not once per object.
fn matcher(op: Op, value: &Literal) -> Result<Matcher, String> {
    Ok(match op {
        Op::Like | Op::NotLike => Matcher::Like(Wildcard::new(&literal_text(value))?),
        Op::Match | Op::NotMatch => {
            let pattern = literal_text(value);
            let re = RegexBuilder::new(&pattern).case_insensitive(true).size_limit(1 << 20).build().map_err(|e| {
                // The regex crate's message is multi-line with a caret diagram; its last line says what is wrong.
                let why = e.to_string().lines().last().unwrap_or_default().trim().to_string();
                format!("invalid regular expression '{pattern}': {why}")
            })?;
            Matcher::Regex(re)
        }
        Op::Gt | Op::Ge | Op::Lt | Op::Le => match value {
            Literal::Str(s) => time::parse_datetime(s).map_or(Matcher::None, Matcher::Date),
            _ => Matcher::None,
        },
        _ => Matcher::None,
    })
}

/// The operator named `name` (lowercase, without the dash; `i`-prefixed forms accepted).
pub fn operator(name: &str) -> Option<Op> {
    op_by_name(name)
}

impl Literal {
    /// A runtime value as a comparison operand; lists and maps compare as their text.
    pub fn from_dynamic(d: &Dynamic) -> Literal {
        match scalar(d) {
            Scalar::Null => Literal::Null,
            Scalar::Bool(b) => Literal::Bool(b),
            Scalar::Int(i) => Literal::Int(i),
            Scalar::Float(f) => Literal::Float(f),
            Scalar::Str(s) => Literal::Str(s.to_string()),
        }
    }
}

impl Comparison {
    /// A comparison against a value computed at run time (PowerShell front end's Where-Object).
    pub fn with_value(op: Op, value: Literal) -> Result<Comparison, String> {
        let matcher = matcher(op, &value)?;
        Ok(Comparison { property: String::new(), op, value, matcher })
    }

    /// PowerShell's operator on one value: true when the value (or, for a list, any element)
    /// satisfies it. Negated operators apply per element, as PowerShell filters a list
    /// (`@(1,2) -ne 1` is `@(2)`, which is true).
    pub fn test_value(&self, d: &Dynamic) -> bool {
        let negated = matches!(self.op, Op::Ne | Op::NotLike | Op::NotContains | Op::NotMatch);
        match d.as_array_ref() {
            Ok(items) => items.iter().any(|e| self.test(&scalar(e)) != negated),
            Err(_) => self.test(&scalar(d)) != negated,
        }
    }

    /// `-contains`: the value (a list, or one value) has an element equal to the operand.
    pub fn contains(&self, d: &Dynamic) -> bool {
        match d.as_array_ref() {
            Ok(items) => items.iter().any(|e| equals(&scalar(e), &self.value)),
            Err(_) => equals(&scalar(d), &self.value),
        }
    }
}

pub fn parse(src: &str) -> Result<Expr, FilterError> {
    let mut lx = Lexer::new(src);
    let first = lx.next_token()?;
    let mut p = Parser { lx, tok: first, depth: 0 };
    let braced = p.tok.tk == Tk::LBrace;
    if braced {
        p.bump()?;
    }
    if matches!(p.tok.tk, Tk::End | Tk::RBrace) {
        return ferr("empty filter; expected a comparison such as Name -eq 'value'", p.tok.col);
    }
    let e = p.or_expr()?;
    if braced {
        if p.tok.tk != Tk::RBrace {
            return ferr(format!("expected '}}' or -and/-or, found {}", describe(&p.tok)), p.tok.col);
        }
        p.bump()?;
    }
    if p.tok.tk != Tk::End {
        return ferr(
            format!("unexpected {} (expected -and, -or or the end of the filter)", describe(&p.tok)),
            p.tok.col,
        );
    }
    Ok(e)
}

/// True when `s` (braces optional) starts like an expression, `[$_.]Name -op`, as opposed to plain search text.
pub fn looks_like_expression(s: &str) -> bool {
    let mut lx = Lexer::new(s);
    let mut next = || lx.next_token().map(|t| t.tk).unwrap_or(Tk::End);
    let mut t = next();
    // Leading grouping and negation do not change what kind of text this is.
    while matches!(&t, Tk::LBrace | Tk::LParen | Tk::Bang) || t == Tk::Dash("not".into()) {
        t = next();
    }
    let named = match t {
        Tk::Ident(_) => true,
        Tk::Var(v) if v == "_" || v == "psitem" => next() == Tk::Dot && matches!(next(), Tk::Ident(_)),
        _ => false,
    };
    named && matches!(next(), Tk::Dash(op) if op_by_name(&op).is_some())
}

/// A `-Filter` text shaped as `Property -op ...` whose operator is not one: the operator as
/// written and the message for it. (Such a text would otherwise be searched for as plain text and
/// match nothing, silently.)
pub fn misspelled_operator(s: &str) -> Option<String> {
    let mut lx = Lexer::new(s);
    let mut next = || lx.next_token().map(|t| t.tk).unwrap_or(Tk::End);
    let mut t = next();
    while matches!(&t, Tk::LBrace | Tk::LParen | Tk::Bang) || t == Tk::Dash("not".into()) {
        t = next();
    }
    if !matches!(t, Tk::Ident(_)) {
        return None;
    }
    let Tk::Dash(op) = next() else { return None };
    if op_by_name(&op).is_some() {
        return None;
    }
    let names: Vec<String> = OPS.iter().map(|(n, _)| format!("-{n}")).collect();
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let given = format!("-{op}");
    Some(format!("'{given}' is not a comparison operator{}", did_you_mean(&given, &names, "operators")))
}

// ---------------------------------------------------------------------------------------------------------
// Evaluation

/// One property value (or list element) as the comparisons see it.
enum Scalar {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(ImmutableString),
}

fn scalar(d: &Dynamic) -> Scalar {
    if d.is_unit() {
        Scalar::Null
    } else if let Ok(b) = d.as_bool() {
        Scalar::Bool(b)
    } else if let Ok(i) = d.as_int() {
        Scalar::Int(i)
    } else if let Ok(f) = d.as_float() {
        Scalar::Float(f)
    } else if let Ok(s) = d.as_immutable_string_ref() {
        Scalar::Str(s.clone())
    } else {
        Scalar::Str(d.to_string().into())
    }
}

/// Case-insensitive property lookup (PowerShell's rule), for the rest of the crate.
pub fn lookup_ci<'a>(obj: &'a Map, name: &str) -> Option<&'a Dynamic> {
    lookup(obj, name)
}

/// Case-insensitive lookup; exact spelling first because that is the common case.
pub(crate) fn lookup<'a>(obj: &'a Map, name: &str) -> Option<&'a Dynamic> {
    obj.get(name).or_else(|| obj.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v))
}

pub(crate) fn eq_ci(a: &str, b: &str) -> bool {
    if a.is_ascii() && b.is_ascii() { a.eq_ignore_ascii_case(b) } else { a.chars().map(fold).eq(b.chars().map(fold)) }
}

pub(crate) fn cmp_ci(a: &str, b: &str) -> Ordering {
    a.chars().map(fold).cmp(b.chars().map(fold))
}

fn bool_text(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

fn literal_text(l: &Literal) -> String {
    match l {
        Literal::Str(s) => s.clone(),
        Literal::Int(i) => i.to_string(),
        Literal::Float(f) => f.to_string(),
        Literal::Bool(b) => bool_text(*b).into(),
        Literal::Null => String::new(),
    }
}

fn scalar_text(s: &Scalar) -> std::borrow::Cow<'_, str> {
    match s {
        Scalar::Null => "".into(),
        Scalar::Bool(b) => bool_text(*b).into(),
        Scalar::Int(i) => i.to_string().into(),
        Scalar::Float(f) => f.to_string().into(),
        Scalar::Str(s) => s.as_str().into(),
    }
}

#[derive(Clone, Copy)]
enum Num {
    I(i64),
    F(f64),
}

fn num_of_scalar(s: &Scalar) -> Option<Num> {
    match s {
        Scalar::Int(i) => Some(Num::I(*i)),
        Scalar::Float(f) => Some(Num::F(*f)),
        Scalar::Str(s) => num_of_literal(&parse_num(s)?),
        _ => None,
    }
}

fn num_of_literal(l: &Literal) -> Option<Num> {
    match l {
        Literal::Int(i) => Some(Num::I(*i)),
        Literal::Float(f) => Some(Num::F(*f)),
        Literal::Str(s) => num_of_literal(&parse_num(s)?),
        _ => None,
    }
}

fn num_cmp(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::I(x), Num::F(y)) => (x as f64).partial_cmp(&y),
        (Num::F(x), Num::I(y)) => x.partial_cmp(&(y as f64)),
        (Num::F(x), Num::F(y)) => x.partial_cmp(&y),
    }
}

/// PowerShell's number-to-bool conversion.
fn truthy(n: Num) -> bool {
    num_cmp(n, Num::I(0)) != Some(Ordering::Equal)
}

fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

fn is_number(l: &Literal) -> bool {
    matches!(l, Literal::Int(_) | Literal::Float(_))
}

/// Orders a value against the literal: numerically when either side is a number and the other reads as one,
/// as booleans for booleans, otherwise as case-insensitive text. `None`: not comparable (e.g. `$Null`).
fn compare(s: &Scalar, lit: &Literal) -> Option<Ordering> {
    match (s, lit) {
        (Scalar::Null, _) | (_, Literal::Null) => None,
        (Scalar::Bool(b), Literal::Bool(l)) => Some(b.cmp(l)),
        (Scalar::Bool(b), Literal::Str(t)) => parse_bool(t).map(|l| b.cmp(&l)),
        (Scalar::Bool(b), _) => num_of_literal(lit).map(|n| b.cmp(&truthy(n))),
        (_, Literal::Bool(l)) => match s {
            Scalar::Str(t) => parse_bool(t).map(|b| b.cmp(l)),
            _ => num_of_scalar(s).map(|n| truthy(n).cmp(l)),
        },
        (Scalar::Int(_) | Scalar::Float(_), _) | (_, Literal::Int(_) | Literal::Float(_)) => {
            match (num_of_scalar(s), num_of_literal(lit)) {
                (Some(a), Some(b)) => num_cmp(a, b),
                _ => Some(cmp_ci(&scalar_text(s), &literal_text(lit))),
            }
        }
        (Scalar::Str(a), Literal::Str(b)) => Some(cmp_ci(a, b)),
    }
}

fn equals(s: &Scalar, lit: &Literal) -> bool {
    match (s, lit) {
        (Scalar::Null, Literal::Null) => true,
        (Scalar::Null, _) | (_, Literal::Null) => false,
        // Equality of text needs no ordering and no allocation.
        (Scalar::Str(a), Literal::Str(b)) => eq_ci(a, b),
        (Scalar::Str(a), l) if is_number(l) && parse_num(a).is_none() => false,
        _ => compare(s, lit) == Some(Ordering::Equal),
    }
}

impl Comparison {
    fn test(&self, s: &Scalar) -> bool {
        let ord = || match (&self.matcher, s) {
            (Matcher::Date(d), Scalar::Str(t)) => match time::parse_datetime(t) {
                Ok(v) => Some(v.at.cmp(&d.at)),
                Err(_) => compare(s, &self.value),
            },
            _ => compare(s, &self.value),
        };
        match (&self.matcher, self.op) {
            (Matcher::Like(w), _) => w.is_match(&scalar_text(s)),
            (Matcher::Regex(r), _) => r.is_match(&scalar_text(s)),
            (_, Op::Eq | Op::Ne | Op::Contains | Op::NotContains) => equals(s, &self.value),
            (_, Op::Gt) => ord() == Some(Ordering::Greater),
            (_, Op::Ge) => matches!(ord(), Some(Ordering::Greater | Ordering::Equal)),
            (_, Op::Lt) => ord() == Some(Ordering::Less),
            (_, Op::Le) => matches!(ord(), Some(Ordering::Less | Ordering::Equal)),
            _ => false,
        }
    }

    /// The positive form of the operator; a list is true if any element satisfies it (filter-left semantics).
    fn holds(&self, obj: &Map) -> bool {
        let Some(d) = lookup(obj, &self.property) else {
            return self.test(&Scalar::Null);
        };
        match d.as_array_ref() {
            Ok(items) => {
                // An empty multi-valued property is "not set", i.e. $Null.
                if self.value == Literal::Null && matches!(self.op, Op::Eq | Op::Ne) && items.is_empty() {
                    return true;
                }
                items.iter().any(|e| self.test(&scalar(e)))
            }
            Err(_) => self.test(&scalar(d)),
        }
    }

    pub fn eval(&self, obj: &Map) -> bool {
        let negated = matches!(self.op, Op::Ne | Op::NotLike | Op::NotContains | Op::NotMatch);
        // Negated operators are the exact complement, so `-ne` on a list means "no element equals".
        self.holds(obj) != negated
    }
}

impl Expr {
    pub fn eval(&self, obj: &Map) -> bool {
        match self {
            Expr::Or(items) => items.iter().any(|e| e.eval(obj)),
            Expr::And(items) => items.iter().all(|e| e.eval(obj)),
            Expr::Not(e) => !e.eval(obj),
            Expr::Compare(c) => c.eval(obj),
        }
    }

    /// A text that `property` of every matching object starts with, compared case-insensitively
    /// (`Name -like 'Room42-*'` → `room42-`). A store can narrow its scan with an index on that
    /// property and still run the whole expression on what is left, so this may be shorter than
    /// the tightest prefix but never claim more.
    pub fn required_prefix(&self, property: &str) -> Option<String> {
        let prefix = match self {
            Expr::And(items) => items.iter().filter_map(|e| e.required_prefix(property)).max_by_key(String::len),
            // Every branch must constrain the property; their common prefix then holds for all.
            Expr::Or(items) => {
                let mut prefixes = items.iter().map(|e| e.required_prefix(property));
                let first = prefixes.next().flatten()?;
                prefixes.try_fold(first, |common, p| {
                    let p = p?;
                    let n = common.chars().zip(p.chars()).take_while(|(a, b)| fold(*a) == fold(*b)).count();
                    Some(common.chars().take(n).collect())
                })
            }
            Expr::Not(_) => None,
            Expr::Compare(c) if c.property.eq_ignore_ascii_case(property) => match (&c.op, &c.matcher, &c.value) {
                (Op::Like, Matcher::Like(w), _) => Some(w.literal_prefix()),
                (Op::Eq, _, Literal::Str(s)) => Some(s.clone()),
                _ => None,
            },
            Expr::Compare(_) => None,
        };
        prefix.filter(|p| !p.is_empty())
    }

    /// Every property the expression reads must exist on objects of type `t` (or be one of
    /// `also`): a misspelled property would otherwise read as `$Null` on every object, and
    /// `Disabld -ne $false` would match everything.
    pub fn check_properties(&self, t: ObjType, also: &[&str]) -> Result<(), String> {
        self.properties().iter().try_for_each(|p| t.check_property(p, also))
    }

    /// Property names referenced, first spelling kept, duplicates (case-insensitive) removed.
    pub fn properties(&self) -> Vec<String> {
        fn walk(e: &Expr, out: &mut Vec<String>) {
            match e {
                Expr::Or(items) | Expr::And(items) => items.iter().for_each(|i| walk(i, out)),
                Expr::Not(e) => walk(e, out),
                Expr::Compare(c) => {
                    if !out.iter().any(|p| p.eq_ignore_ascii_case(&c.property)) {
                        out.push(c.property.clone());
                    }
                }
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rhai::Array;

    fn obj(pairs: &[(&str, Dynamic)]) -> Map {
        pairs.iter().map(|(k, v)| ((*k).into(), v.clone())).collect()
    }

    fn s(v: &str) -> Dynamic {
        Dynamic::from(v.to_string())
    }

    fn list(v: &[&str]) -> Dynamic {
        Dynamic::from(v.iter().map(|x| s(x)).collect::<Array>())
    }

    fn principal() -> Map {
        obj(&[
            ("Name", s("Ann Beebe")),
            ("SipAddress", s("sip:annb@contoso.com")),
            ("DisplayName", s("Ann Beebe")),
            ("ObjectClass", list(&["top", "person", "organizationalPerson", "user"])),
            ("Members", Dynamic::from(Array::new())),
            ("ConferencingPolicy", Dynamic::UNIT),
            ("Disabled", Dynamic::from(false)),
            ("Count", Dynamic::from(42_i64)),
            ("Size", Dynamic::from(2.5_f64)),
            ("Code", s("0042")),
            ("PostedAt", s("2018-03-01T13:45:00Z")),
            ("Invitations", s("Inherit")),
        ])
    }

    fn t(src: &str) -> bool {
        parse(src).unwrap_or_else(|e| panic!("{src}: {e}")).eval(&principal())
    }

    fn err(src: &str) -> FilterError {
        match parse(src) {
            Ok(e) => panic!("{src} should fail, parsed as {e:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn doc_examples() {
        assert!(t(r#"{SipAddress -eq "sip:annb@contoso.com"}"#));
        assert!(t(r#"{SipAddress -eq "SIP:ANNB@contoso.com"}"#));
        assert!(!t(r#"{SipAddress -eq "sip:LobbyKiosk@contoso.com"}"#));
        assert!(!t("{ConferencingPolicy -ne $Null}"));
        assert!(t("{ConferencingPolicy -eq $Null}"));
        assert!(t(r#"{Name -like "Ann*"}"#));
        assert!(t(r#"Name -like "ann*""#));
        assert!(!t(r#"{Name -like "Fin*"}"#));
    }

    #[test]
    fn string_ops() {
        assert!(t("Name -ne 'Bob'"));
        assert!(!t("Name -ne 'ann beebe'"));
        assert!(t("Name -notlike 'B*'"));
        assert!(t("Name -match 'bee'"));
        assert!(t("Name -match '^ANN'"));
        assert!(!t("Name -match '^bee'"));
        assert!(t("Name -notmatch 'xyz'"));
        assert!(t("Name -gt 'aaa'"));
        assert!(t("Name -lt 'B'"));
        assert!(t("Name -ge 'ANN BEEBE'"));
        assert!(t("Name -le 'ann beebe'"));
        assert!(!t("Name -gt 'ann beebe'"));
        assert!(t("Name -contains 'ann beebe'"));
        assert!(!t("Name -contains 'ann'"));
        assert!(t("Name -ieq 'ANN BEEBE'"));
    }

    #[test]
    fn list_properties() {
        assert!(t("ObjectClass -eq 'user'"));
        assert!(t("ObjectClass -eq 'USER'"));
        assert!(!t("ObjectClass -eq 'contact'"));
        assert!(t("ObjectClass -ne 'contact'"));
        assert!(!t("ObjectClass -ne 'user'"));
        assert!(t("ObjectClass -contains 'Person'"));
        assert!(!t("ObjectClass -contains 'pers'"));
        assert!(t("ObjectClass -notcontains 'contact'"));
        assert!(t("ObjectClass -like 'organizational*'"));
        assert!(t("ObjectClass -match 'zation'"));
        assert!(!t("ObjectClass -notmatch 'zation'"));
        assert!(t("Members -eq $Null"));
        assert!(!t("Members -ne $Null"));
        assert!(!t("Members -eq 'x'"));
        assert!(!t("Members -contains 'x'"));
    }

    #[test]
    fn null_and_missing() {
        assert!(t("NoSuchProperty -eq $null"));
        assert!(!t("NoSuchProperty -ne $NULL"));
        assert!(!t("NoSuchProperty -eq 'x'"));
        assert!(t("NoSuchProperty -ne 'x'"));
        assert!(t("NoSuchProperty -like '*'"));
        assert!(!t("NoSuchProperty -gt 0"));
        assert!(!t("NoSuchProperty -lt 0"));
        assert!(!t("Name -eq $null"));
        assert!(t("Name -ne $null"));
        assert!(!t("Name -gt $null"));
    }

    #[test]
    fn numbers_and_booleans() {
        assert!(t("Count -eq 42"));
        assert!(t("Count -eq '42'"));
        assert!(t("Count -eq 42.0"));
        assert!(t("Count -gt 5"));
        assert!(!t("Count -gt 100"));
        assert!(t("Count -ge -1"));
        assert!(t("Size -gt 2"));
        assert!(t("Size -lt 2.6"));
        assert!(t("Size -eq 2.5"));
        assert!(t("Code -eq 42"));
        assert!(t("Code -gt 9"));
        assert!(!t("Code -gt '9'"));
        assert!(!t("Name -eq 42"));
        assert!(t("Disabled -eq $False"));
        assert!(!t("Disabled -eq $True"));
        assert!(t("Disabled -ne $true"));
        assert!(t("Disabled -eq 'false'"));
        assert!(t("Disabled -eq 0"));
        assert!(t("Count -eq $true"));
        assert!(t("Disabled -lt $true"));
        assert!(t("Count -like '4*'"));
        assert!(t("Disabled -like 'f*'"));
    }

    #[test]
    fn dates_compare_as_instants() {
        assert!(t("PostedAt -gt '3/1/2018'"));
        assert!(t("PostedAt -lt '3/2/2018'"));
        assert!(t("PostedAt -le '2018-03-01T13:45:00Z'"));
        assert!(!t("PostedAt -gt '2018-03-01T14:00:00+00:00'"));
        assert!(t("PostedAt -like '2018-03-01*'"));
    }

    #[test]
    fn logic_and_precedence() {
        assert!(t("Name -eq 'x' -or Count -eq 42"));
        assert!(!t("Name -eq 'x' -and Count -eq 42"));
        // -and binds tighter: false -and false -or true == true.
        assert!(t("Name -eq 'x' -and Count -eq 1 -or Disabled -eq $false"));
        assert!(!t("Name -eq 'x' -and (Count -eq 1 -or Disabled -eq $false)"));
        assert!(t("(Name -eq 'x' -or Count -eq 42) -and Disabled -eq $false"));
        assert!(t("-not Name -eq 'x'"));
        assert!(t("!(Name -eq 'x')"));
        assert!(!t("-not (Name -eq 'Ann Beebe')"));
        assert!(t("-NOT -not (Name -eq 'Ann Beebe')"));
        assert!(t("{ (((Name -eq 'Ann Beebe'))) }"));
        assert!(t("Name -EQ 'ann beebe' -AND count -Eq 42"));
    }

    #[test]
    fn misspelled_properties_are_refused_before_evaluation() {
        let e = parse("Name -like 'F*' -and Disabld -ne $false").unwrap();
        let msg = e.check_properties(ObjType::ChatRoom, &[]).unwrap_err();
        assert_eq!(msg, "ChatRoomObject has no property 'Disabld'; did you mean 'Disabled'?");
        assert!(parse("$_.disabled -eq $true").unwrap().check_properties(ObjType::ChatRoom, &[]).is_ok());
    }

    #[test]
    fn property_forms() {
        assert!(t("$_.Name -eq 'Ann Beebe'"));
        assert!(t("{ $_.name -eq 'Ann Beebe' }"));
        assert!(t("$PSItem.Name -like 'A*'"));
        assert!(t("sipaddress -like '*@contoso.com'"));
        let m = obj(&[("msRTCSIP-PrimaryUserAddress", s("sip:a@b"))]);
        assert!(parse("msRTCSIP-PrimaryUserAddress -eq 'SIP:A@B'").unwrap().eval(&m));
        assert!(err("Name-eq 'x'").message.contains("after 'Name-eq'"));
        let e =
            parse("{$_.SipAddress -like 'x' -or (Name -eq 'a' -and sipaddress -ne 'b') -or -not Count -gt 1}").unwrap();
        assert_eq!(e.properties(), vec!["SipAddress", "Name", "Count"]);
    }

    #[test]
    fn quoting() {
        let m = obj(&[("Name", s("O'Brien \"Bob\"\tx"))]);
        let ev = |src: &str| parse(src).unwrap_or_else(|e| panic!("{src}: {e}")).eval(&m);
        assert!(ev(r#"Name -eq 'O''Brien "Bob"	x'"#));
        assert!(ev(r#"Name -eq "O'Brien `"Bob`"`tx""#));
        assert!(ev(r#"Name -eq "O'Brien ""Bob""`tx""#));
        assert!(ev("Name -like \u{2018}O*\u{2019}"));
        assert!(ev("Name -like \u{201C}*x\u{201D}"));
        // `` is a literal backtick in the string, which then escapes the quote for the wildcard.
        assert!(ev(r#"Name -like "O'Brien ```"*""#));
        assert!(!ev(r#"Name -like "O'Brien ```"x*""#));
        assert!(ev("Name -ne ''"));
    }

    #[test]
    fn error_messages_and_columns() {
        let e = err("{Name -eqq 'x'}");
        assert_eq!(e.column, 7);
        assert!(e.message.contains("unknown operator '-eqq'") && e.message.contains("-like"), "{e}");
        let e = err("{Name -eq 'x'");
        assert_eq!(e.column, 14);
        assert!(e.message.contains("'}'"), "{e}");
        let e = err("Name -eq 'x");
        assert_eq!((e.column, e.message.contains("unterminated")), (10, true), "{e}");
        let e = err("Privacy -eq Secret");
        assert_eq!(e.column, 13);
        assert!(e.message.contains("quoted") && e.message.contains("'Secret'"), "{e}");
        let e = err("Name 'x'");
        assert_eq!(e.column, 6);
        assert!(e.message.contains("expected an operator"), "{e}");
        let e = err("Name -eq");
        assert_eq!(e.column, 9);
        assert!(e.message.contains("expected a value"), "{e}");
        let e = err("Name -eq 'x' Count -eq 1");
        assert_eq!(e.column, 14);
        let e = err("(Name -eq 'x'");
        assert_eq!(e.column, 14);
        assert!(e.message.contains("')'"), "{e}");
        let e = err("Name -eq 'x')");
        assert_eq!(e.column, 13);
        let e = err("Name -like '[ab'");
        assert_eq!(e.column, 12);
        assert!(e.message.contains("'['"), "{e}");
        let e = err("Name -match '(unclosed'");
        assert_eq!(e.column, 13);
        assert!(e.message.contains("invalid regular expression"), "{e}");
        let e = err("Name -eq $x");
        assert_eq!(e.column, 10);
        assert!(e.message.contains("variables"), "{e}");
        let e = err("$x.Name -eq 1");
        assert_eq!(e.column, 1);
        let e = err("$_ -eq 1");
        assert!(e.message.contains("'.'"), "{e}");
        let e = err("Count -gt 10MB");
        assert!(e.message.contains("invalid number '10MB'"), "{e}");
        assert_eq!(e.column, 11);
        assert_eq!(err("").column, 1);
        assert_eq!(err("{ }").column, 3);
        assert!(err("{}").message.contains("empty filter"));
        let e = err("Name -eq 'x' -and");
        assert_eq!(e.column, 18);
        let e = err("Name -and 'x'");
        assert!(e.message.contains("unknown operator '-and'"), "{e}");
        let e = err("Name # 1");
        assert_eq!((e.column, e.message.as_str()), (6, "unexpected character '#'"));
        assert_eq!(err("Name - 1").column, 6);
        assert_eq!(e.to_string(), "unexpected character '#' (column 6)");
        let e = err("Näme -eq 'x' -xor 1");
        assert_eq!(e.column, 14);
        let deep = format!("{}Name -eq 1{}", "(".repeat(500), ")".repeat(500));
        assert!(err(&deep).message.contains("nested too deeply"));
        assert!(parse(&format!("{}Name -eq 1{}", "(".repeat(20), ")".repeat(20))).is_ok());
        assert!(err(&"!".repeat(1000)).message.contains("nested too deeply"));
    }

    #[test]
    fn expression_detection() {
        for s in [
            "{Name -like 'Fin*'}",
            "Name -eq 'x'",
            "$_.Description -match 'x'",
            "{ $_.Name -ne $null }",
            "(Name -eq 1)",
            "-not Name -eq 1",
            "!(Name -eq 1)",
            "Name -ilike 'x'",
            "Name -eq",
        ] {
            assert!(looks_like_expression(s), "{s}");
        }
        for s in ["budget", "budget report", "Fin*", "Q3 -draft", "", "{", "$_", "'Name' -eq 'x'", "Name 'x'", "q3-eq"]
        {
            assert!(!looks_like_expression(s), "{s}");
        }
    }

    #[test]
    fn numbers_lex() {
        assert_eq!(parse_num("42"), Some(Literal::Int(42)));
        assert_eq!(parse_num("-4.5"), Some(Literal::Float(-4.5)));
        assert_eq!(parse_num(".5"), Some(Literal::Float(0.5)));
        assert_eq!(parse_num("99999999999999999999"), Some(Literal::Float(1e20)));
        for bad in ["", "-", ".", "1.", "1e5", "NaN", "inf", "1.2.3", "+1"] {
            assert_eq!(parse_num(bad), None, "{bad}");
        }
        assert!(t("Size -gt .5"));
        assert!(t("Count -lt 99999999999999999999"));
    }

    #[test]
    fn required_prefix_never_claims_more_than_the_expression() {
        let prefix = |src: &str| parse(src).unwrap().required_prefix("Name");
        assert_eq!(prefix("Name -like 'Room42-*'").as_deref(), Some("room42-"));
        assert_eq!(prefix("name -eq 'Sales'").as_deref(), Some("Sales"));
        assert_eq!(prefix("Name -like 'Ro?m*'").as_deref(), Some("ro"));
        assert_eq!(prefix("Name -like 'Ro`*m*'").as_deref(), Some("ro*m"));
        assert_eq!(prefix("Name -like 'A*' -and Name -like 'Abc*'").as_deref(), Some("abc"));
        assert_eq!(prefix("Name -like 'Abc*' -or Name -like 'ABd*'").as_deref(), Some("ab"));
        assert_eq!(prefix("Disabled -eq $true -and Name -like 'R*'").as_deref(), Some("r"));
        for none in [
            "Name -like '*42'",
            "Name -notlike 'R*'",
            "-not (Name -like 'R*')",
            "Name -like 'R*' -or Disabled -eq $true",
            "Name -match '^R'",
            "Description -like 'R*'",
            "Name -gt 'R'",
        ] {
            assert_eq!(prefix(none), None, "{none}");
        }
    }
}
