//! The statements of a PowerShell script around its pipelines: `if`, the loops, `switch`,
//! `function` with `param()`, `try`/`catch`/`finally`, `throw`, `return`, `break`, `continue`,
//! and the assignment forms (`=`, `+=`..., `++`, `--`).

use super::PsError;
use super::ast::*;
use super::lexer::{self, is_dash, is_double_quote, is_name_char, is_single_quote};
use super::parser::Parser;

/// Keywords of statements the subset leaves out.
const UNSUPPORTED: &[&str] = &[
    "filter",
    "begin",
    "process",
    "end",
    "trap",
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

/// Value types a `param()` declaration may name.
pub const PARAM_TYPES: &[&str] = &[
    "string",
    "int",
    "int32",
    "int64",
    "long",
    "double",
    "bool",
    "boolean",
    "switch",
    "datetime",
    "string[]",
    "int[]",
    "array",
    "object",
    "psobject",
    "hashtable",
];

impl<'a> Parser<'a> {
    pub(super) fn statement(&mut self) -> Result<Stmt, PsError> {
        let at = self.c.i;
        let word = self.peek_word();
        let lower = word.to_ascii_lowercase();
        let after = self.c.peek_at(word.chars().count());
        let keyword_end = after.is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '{' | ';' | '#'));
        if keyword_end {
            match lower.as_str() {
                "if" => return self.if_statement(),
                "foreach" if self.next_after(&word) == Some('(') => return self.foreach_statement(),
                "for" => return self.for_statement(),
                "while" => return self.while_statement(),
                "do" => return self.do_statement(),
                "switch" => return self.switch_statement(),
                "function" => return self.function_statement(),
                "param" => {
                    self.c.i += word.chars().count();
                    let pos = self.c.pos_of(at);
                    return Ok(Stmt::Params(self.param_list()?, pos));
                }
                "try" => return self.try_statement(),
                "throw" => {
                    self.c.i += 5;
                    let value = self.optional_pipeline()?;
                    return Ok(Stmt::Throw(value));
                }
                "return" => {
                    self.c.i += 6;
                    return Ok(Stmt::Return(self.optional_pipeline()?));
                }
                "exit" => {
                    self.c.i += 4;
                    return Ok(Stmt::Exit(self.optional_pipeline()?));
                }
                "break" | "continue" => {
                    self.c.i += word.len();
                    self.c.skip_blanks(false)?;
                    if self.c.peek().is_some_and(|c| is_name_char(c) || c == ':') {
                        return self.c.unsupported(self.c.i, format!("a label after '{lower}'"));
                    }
                    return Ok(if lower == "break" { Stmt::Break } else { Stmt::Continue });
                }
                "elseif" | "else" | "catch" | "finally" | "until" => {
                    return self.c.err(at, format!("'{lower}' without the statement it belongs to"));
                }
                w if UNSUPPORTED.contains(&w) => {
                    return self.c.unsupported(at, format!("the '{w}' statement"));
                }
                _ => {}
            }
        }
        // `[CmdletBinding()]` before a script's or a function's param() block.
        if self.c.peek() == Some('[') {
            let close = self.c.block_end(at)?;
            let inner = self.c.text(at + 1, close).to_ascii_lowercase();
            if inner.starts_with("cmdletbinding") || inner.starts_with("outputtype") {
                self.c.i = close + 1;
                self.c.skip_blanks(true)?;
                return self.statement();
            }
            // `[int]$count = 0`: the value converted to the type, then assigned.
            if let Some(ty) = super::types::cast_type(&inner)
                && self.c.chars.get(close + 1) == Some(&'$')
            {
                self.c.i = close + 1;
                let target = self.postfix_expr()?;
                self.c.skip_blanks(false)?;
                if self.c.peek() == Some('=') && self.c.peek_at(1) != Some('=') && assignable(&target) {
                    self.c.i += 1;
                    self.c.skip_blanks(true)?;
                    let pos = self.c.pos_of(at);
                    let value = self.pipeline()?;
                    let cast = Expr::Cast(ty.to_string(), Box::new(Expr::Paren(Box::new(value))));
                    let value = Stmt::Pipeline(Pipeline { elements: vec![Element::Expr(cast)], pos });
                    return Ok(Stmt::Assign { target, pos, op: AssignOp::Set, value: Box::new(value) });
                }
                self.c.i = at;
            }
        }
        for (prefix, delta) in [("++", 1), ("--", -1)] {
            if self.c.starts_with(prefix) && self.c.peek_at(2) == Some('$') {
                self.c.i += 2;
                let target = self.postfix_expr()?;
                return self.step(target, at, delta);
            }
        }
        if self.c.peek() == Some('$') {
            let target = self.postfix_expr()?;
            self.c.skip_blanks(false)?;
            let op_at = self.c.i;
            let op = match (self.c.peek(), self.c.peek_at(1)) {
                (Some('='), n) if n != Some('=') => Some((AssignOp::Set, 1)),
                (Some('+'), Some('=')) => Some((AssignOp::Add, 2)),
                (Some(d), Some('=')) if is_dash(d) => Some((AssignOp::Sub, 2)),
                (Some('*'), Some('=')) => Some((AssignOp::Mul, 2)),
                (Some('/'), Some('=')) => Some((AssignOp::Div, 2)),
                (Some('%'), Some('=')) => Some((AssignOp::Rem, 2)),
                (Some('?'), Some('?')) => return self.c.unsupported(op_at, "the '??' operator"),
                (Some('+'), Some('+')) => {
                    self.c.i += 2;
                    return self.step(target, at, 1);
                }
                (Some(d), Some(e)) if is_dash(d) && is_dash(e) => {
                    self.c.i += 2;
                    return self.step(target, at, -1);
                }
                _ => None,
            };
            if let Some((op, len)) = op {
                if !assignable(&target) {
                    return self.c.unsupported(at, "assigning to anything but a variable, a property or an index");
                }
                self.c.i += len;
                self.c.skip_blanks(true)?;
                let value = self.value_statement()?;
                return Ok(Stmt::Assign { target, pos: self.c.pos_of(at), op, value: Box::new(value) });
            }
            self.c.i = at;
        }
        Ok(Stmt::Pipeline(self.pipeline()?))
    }

    fn step(&mut self, target: Expr, at: usize, delta: i64) -> Result<Stmt, PsError> {
        if !assignable(&target) {
            return self.c.unsupported(at, "'++' and '--' on anything but a variable, a property or an index");
        }
        Ok(Stmt::Step { target, pos: self.c.pos_of(at), delta })
    }

    /// The right of `=`: a pipeline, or a statement whose output is the value (`if`, `foreach`...).
    fn value_statement(&mut self) -> Result<Stmt, PsError> {
        let word = self.peek_word().to_ascii_lowercase();
        let after = self.c.peek_at(word.chars().count());
        if matches!(word.as_str(), "if" | "switch" | "foreach" | "for" | "while" | "do" | "try")
            && after.is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '{'))
        {
            return self.statement();
        }
        if self.c.peek() == Some('$') {
            // `$a = $b = 0` assigns both.
            let save = self.c.i;
            let target = self.postfix_expr()?;
            self.c.skip_blanks(false)?;
            let chained = self.c.peek() == Some('=') && self.c.peek_at(1) != Some('=') && assignable(&target);
            self.c.i = save;
            if chained {
                return self.statement();
            }
        }
        Ok(Stmt::Pipeline(self.pipeline()?))
    }

    /// The first character after `word` and the blanks that follow it.
    fn next_after(&self, word: &str) -> Option<char> {
        let mut k = word.chars().count();
        while self.c.peek_at(k).is_some_and(|c| c == ' ' || c == '\t') {
            k += 1;
        }
        self.c.peek_at(k)
    }

    fn keyword(&mut self, word: &str) {
        self.c.i += word.chars().count();
    }

    fn optional_pipeline(&mut self) -> Result<Option<Pipeline>, PsError> {
        self.c.skip_blanks(false)?;
        match self.c.peek() {
            None | Some(';' | '\n' | '\r' | '}') => Ok(None),
            _ => Ok(Some(self.pipeline()?)),
        }
    }

    /// `( pipeline )` after a keyword.
    fn condition(&mut self, what: &str) -> Result<Pipeline, PsError> {
        self.c.skip_blanks(true)?;
        let at = self.c.i;
        if self.c.peek() != Some('(') {
            return if self.c.at_end() {
                self.c.eof_err(at, format!("missing '(' after '{what}'"))
            } else {
                self.c.err(at, format!("missing '(' after '{what}'"))
            };
        }
        let close = self.c.block_end(at)?;
        let mut p = self.sub(at + 1, close);
        p.c.skip_blanks(true)?;
        if p.c.at_end() {
            return self.c.err(at, format!("missing the condition of '{what}'"));
        }
        let cond = p.pipeline()?;
        p.c.skip_blanks(true)?;
        if !p.c.at_end() {
            return p.c.err(p.c.i, format!("unexpected text in the condition of '{what}'"));
        }
        self.c.i = close + 1;
        Ok(cond)
    }

    /// `{ statements }` after a keyword or a condition.
    pub(super) fn statement_block(&mut self, what: &str) -> Result<Vec<Stmt>, PsError> {
        self.c.skip_blanks(true)?;
        let at = self.c.i;
        if self.c.peek() != Some('{') {
            return if self.c.at_end() {
                self.c.eof_err(at, format!("missing '{{' to open the body of '{what}'"))
            } else {
                self.c.err(at, format!("missing '{{' to open the body of '{what}'"))
            };
        }
        let close = self.c.block_end(at)?;
        let body = self.sub(at + 1, close).statements()?;
        self.c.i = close + 1;
        Ok(body)
    }

    /// The keyword that continues a statement on a later line (`else`, `catch`, `while`...), if
    /// any: consumed and returned in lower case; otherwise the cursor is left where it was.
    fn continuation(&mut self, words: &[&str]) -> Result<Option<String>, PsError> {
        let save = self.c.i;
        self.c.skip_blanks(true)?;
        let word = self.peek_word().to_ascii_lowercase();
        let after = self.c.peek_at(word.chars().count());
        if words.contains(&word.as_str()) && after.is_none_or(|c| c.is_whitespace() || matches!(c, '(' | '{' | '[')) {
            self.keyword(&word);
            return Ok(Some(word));
        }
        self.c.i = save;
        Ok(None)
    }

    fn if_statement(&mut self) -> Result<Stmt, PsError> {
        self.keyword("if");
        let cond = self.condition("if")?;
        let body = self.statement_block("if")?;
        let mut clauses = vec![(cond, body)];
        let mut otherwise = None;
        while let Some(w) = self.continuation(&["elseif", "else"])? {
            if w == "elseif" {
                let cond = self.condition("elseif")?;
                clauses.push((cond, self.statement_block("elseif")?));
            } else {
                otherwise = Some(self.statement_block("else")?);
                break;
            }
        }
        Ok(Stmt::If { clauses, otherwise })
    }

    fn foreach_statement(&mut self) -> Result<Stmt, PsError> {
        self.keyword("foreach");
        self.c.skip_blanks(false)?;
        let at = self.c.i;
        let close = self.c.block_end(at)?;
        let mut p = self.sub(at + 1, close);
        p.c.skip_blanks(true)?;
        let var_at = p.c.i;
        if p.c.peek() != Some('$') {
            return p.c.err(var_at, "expected a variable after 'foreach ('");
        }
        p.c.i += 1;
        let var = p.c.variable_name();
        p.c.skip_blanks(true)?;
        if !p.peek_word().eq_ignore_ascii_case("in") {
            return p.c.err(p.c.i, "expected 'in' after the foreach variable");
        }
        p.c.i += 2;
        p.c.skip_blanks(true)?;
        let items = p.pipeline()?;
        p.c.skip_blanks(true)?;
        if !p.c.at_end() {
            return p.c.err(p.c.i, "unexpected text after the foreach collection");
        }
        self.c.i = close + 1;
        let body = self.statement_block("foreach")?;
        Ok(Stmt::Foreach { var, pos: self.c.pos_of(var_at), items, body })
    }

    fn for_statement(&mut self) -> Result<Stmt, PsError> {
        self.keyword("for");
        self.c.skip_blanks(false)?;
        let at = self.c.i;
        if self.c.peek() != Some('(') {
            return self.c.err(at, "missing '(' after 'for'");
        }
        let close = self.c.block_end(at)?;
        let mut p = self.sub(at + 1, close);
        let part = |p: &mut Parser<'a>, last: bool| -> Result<Option<Stmt>, PsError> {
            p.c.skip_blanks(true)?;
            let stmt = match p.c.peek() {
                Some(';') | None => None,
                _ => Some(p.statement()?),
            };
            p.c.skip_blanks(true)?;
            if !last {
                if p.c.peek() != Some(';') {
                    return p.c.err(p.c.i, "expected ';' between the parts of 'for ( ; ; )'");
                }
                p.c.i += 1;
            } else if !p.c.at_end() {
                return p.c.err(p.c.i, "unexpected text in 'for ( ; ; )'");
            }
            Ok(stmt)
        };
        let init = part(&mut p, false)?;
        let cond = match part(&mut p, false)? {
            None => None,
            Some(Stmt::Pipeline(c)) => Some(c),
            Some(_) => return self.c.err(at, "the condition of 'for' must be an expression"),
        };
        let step = part(&mut p, true)?;
        self.c.i = close + 1;
        let body = self.statement_block("for")?;
        Ok(Stmt::For { init: init.map(Box::new), cond, step: step.map(Box::new), body })
    }

    fn while_statement(&mut self) -> Result<Stmt, PsError> {
        self.keyword("while");
        let cond = self.condition("while")?;
        Ok(Stmt::While { cond, body: self.statement_block("while")? })
    }

    fn do_statement(&mut self) -> Result<Stmt, PsError> {
        self.keyword("do");
        let body = self.statement_block("do")?;
        let at = self.c.i;
        match self.continuation(&["while", "until"])? {
            Some(w) => {
                let cond = self.condition(&w)?;
                Ok(Stmt::Do { body, cond, until: w == "until" })
            }
            None if self.c.at_end() => self.c.eof_err(at, "missing 'while' or 'until' after the body of 'do'"),
            None => self.c.err(at, "missing 'while' or 'until' after the body of 'do'"),
        }
    }

    fn switch_statement(&mut self) -> Result<Stmt, PsError> {
        self.keyword("switch");
        let mut mode = SwitchMode::Exact;
        loop {
            self.c.skip_blanks(false)?;
            let at = self.c.i;
            if !self.c.peek().is_some_and(is_dash) {
                break;
            }
            self.c.i += 1;
            let flag = self.peek_word();
            self.c.i += flag.chars().count();
            match flag.to_ascii_lowercase().as_str() {
                "wildcard" => mode = SwitchMode::Wildcard,
                "regex" => mode = SwitchMode::Regex,
                "exact" => mode = SwitchMode::Exact,
                "casesensitive" | "file" | "parallel" => {
                    return self.c.unsupported(at, format!("switch -{flag}"));
                }
                _ => return self.c.err(at, format!("unknown switch option '-{flag}' (-Wildcard, -Regex, -Exact)")),
            }
        }
        let value = self.condition("switch")?;
        self.c.skip_blanks(true)?;
        let at = self.c.i;
        if self.c.peek() != Some('{') {
            return self.c.err(at, "missing '{' to open the clauses of 'switch'");
        }
        let close = self.c.block_end(at)?;
        let mut p = self.sub(at + 1, close);
        let mut clauses = Vec::new();
        let mut default = None;
        loop {
            if p.at_end_of_entries()? {
                break;
            }
            let test_at = p.c.i;
            let test = match p.c.peek() {
                Some(q) if lexer::is_quote(q) || matches!(q, '$' | '{' | '(') => p.postfix_expr()?,
                Some(_) => {
                    let word = p.c.bare_word();
                    if word.is_empty() {
                        return p.c.err(test_at, "expected a switch clause (a value, { condition } or default)");
                    }
                    if word.eq_ignore_ascii_case("default") {
                        if default.is_some() {
                            return p.c.err(test_at, "a switch has one 'default' clause");
                        }
                        default = Some(p.statement_block("default")?);
                        continue;
                    }
                    match lexer::parse_number(&word) {
                        Some(lexer::NumberLit::Int(i)) => Expr::Int(i),
                        Some(lexer::NumberLit::Float(f)) => Expr::Float(f),
                        None => Expr::Bare(word),
                    }
                }
                None => break,
            };
            let body = p.statement_block("switch clause")?;
            clauses.push((test, body));
        }
        self.c.i = close + 1;
        Ok(Stmt::Switch { value, mode, clauses, default })
    }

    fn function_statement(&mut self) -> Result<Stmt, PsError> {
        let at = self.c.i;
        self.keyword("function");
        self.c.skip_blanks(false)?;
        let name_at = self.c.i;
        let start = self.c.i;
        while self.c.peek().is_some_and(|c| is_name_char(c) || c == '-' || c == '.') {
            self.c.i += 1;
        }
        let name = self.c.text(start, self.c.i);
        if name.is_empty() {
            return self.c.err(name_at, "expected a function name after 'function'");
        }
        self.c.skip_blanks(false)?;
        let mut params = if self.c.peek() == Some('(') { self.param_list()? } else { Vec::new() };
        let mut body = self.statement_block("function")?;
        if let Some(Stmt::Params(..)) = body.first() {
            let Stmt::Params(declared, ppos) = body.remove(0) else { unreachable!() };
            if !params.is_empty() {
                return Err(PsError::syntax(
                    format!("function {name} declares its parameters twice (in parentheses and in param())"),
                    ppos,
                ));
            }
            params = declared;
        }
        if let Some(Stmt::Params(_, ppos)) = body.iter().find(|s| matches!(s, Stmt::Params(..))) {
            return Err(PsError::syntax("param() must be the first statement of a function", *ppos));
        }
        Ok(Stmt::Function { name, pos: self.c.pos_of(at), params, body })
    }

    /// `( [attributes] [type] $Name = default, ... )`; the cursor is before the `(`.
    fn param_list(&mut self) -> Result<Vec<ParamDecl>, PsError> {
        self.c.skip_blanks(true)?;
        let at = self.c.i;
        if self.c.peek() != Some('(') {
            return self.c.err(at, "missing '(' after 'param'");
        }
        let close = self.c.block_end(at)?;
        let mut p = self.sub(at + 1, close);
        let mut out: Vec<ParamDecl> = Vec::new();
        // Comments describe parameters (`--help` shows them): one on the line where a parameter
        // ends, after it or its comma, is that parameter's; any other belongs to the next one.
        let mut pending: Vec<String> = Vec::new();
        let mut end_line = None;
        loop {
            let from = p.c.i;
            p.c.skip_blanks(true)?;
            p.param_comments(from, end_line, &mut out, &mut pending);
            if p.c.at_end() {
                break;
            }
            let mut decl = p.param_decl()?;
            if out.iter().any(|d| d.name.eq_ignore_ascii_case(&decl.name)) {
                return Err(PsError::syntax(format!("the parameter ${} is declared twice", decl.name), decl.pos));
            }
            pending.append(&mut decl.comments);
            decl.comments = std::mem::take(&mut pending);
            end_line = Some(p.c.pos().line);
            out.push(decl);
            let from = p.c.i;
            p.c.skip_blanks(true)?;
            p.param_comments(from, end_line, &mut out, &mut pending);
            match p.c.peek() {
                Some(',') => p.c.i += 1,
                None => break,
                Some(c) => return p.c.err(p.c.i, format!("unexpected '{c}' (separate parameters with ',')")),
            }
        }
        self.c.i = close + 1;
        Ok(out)
    }

    /// File the comments of `from..` (up to the cursor) as `param_list` says.
    fn param_comments(&self, from: usize, end_line: Option<usize>, decls: &mut [ParamDecl], pending: &mut Vec<String>) {
        for (at, text) in self.c.comments(from, self.c.i) {
            match decls.last_mut() {
                Some(last) if end_line == Some(self.c.pos_of(at).line) => last.comments.push(text),
                _ => pending.push(text),
            }
        }
    }

    fn param_decl(&mut self) -> Result<ParamDecl, PsError> {
        let mut ty = None;
        let mut mandatory = false;
        let mut valid = Vec::new();
        let mut help_message = None;
        let mut comments = Vec::new();
        loop {
            let from = self.c.i;
            self.c.skip_blanks(true)?;
            comments.extend(self.c.comments(from, self.c.i).into_iter().map(|(_, text)| text));
            let at = self.c.i;
            match self.c.peek() {
                Some('[') => {
                    let close = self.c.block_end(at)?;
                    let inner = self.c.text(at + 1, close);
                    let trimmed = inner.trim();
                    if let Some(paren) = trimmed.find('(') {
                        let attribute = trimmed[..paren].trim().to_ascii_lowercase();
                        let args = &trimmed[paren + 1..trimmed.rfind(')').unwrap_or(trimmed.len())];
                        match attribute.as_str() {
                            "parameter" => {
                                // The message is taken out first: its text is not an argument.
                                let (message, rest) = attribute_string(args, "helpmessage");
                                help_message = message;
                                mandatory = mandatory_flag(&rest);
                            }
                            "validateset" => {
                                let open = at + 1 + inner.find('(').unwrap_or(0);
                                let end = self.c.block_end(open)?;
                                let mut v = self.sub(open + 1, end);
                                v.c.skip_blanks(true)?;
                                let list = v.expr()?;
                                for item in match list {
                                    Expr::Array(items) => items,
                                    other => vec![other],
                                } {
                                    match item {
                                        Expr::Str(s) => valid.push(s),
                                        Expr::Int(i) => valid.push(i.to_string()),
                                        _ => {
                                            return self.c.unsupported(at, "ValidateSet values that are not constants");
                                        }
                                    }
                                }
                            }
                            "validatenotnullorempty"
                            | "validatenotnull"
                            | "alias"
                            | "allowemptystring"
                            | "allownull"
                            | "cmdletbinding" => {}
                            other => return self.c.unsupported(at, format!("the [{other}()] attribute")),
                        }
                    } else {
                        let lower = trimmed.to_ascii_lowercase();
                        let lower = lower.strip_prefix("system.").unwrap_or(&lower).to_string();
                        if !PARAM_TYPES.contains(&lower.as_str()) {
                            return self.c.unsupported(at, format!("the parameter type [{trimmed}]"));
                        }
                        ty = Some(lower);
                    }
                    self.c.i = close + 1;
                }
                Some('$') => break,
                Some(c) => return self.c.err(at, format!("unexpected '{c}' in a parameter declaration")),
                None => return self.c.err(at, "expected a parameter ($Name)"),
            }
        }
        let at = self.c.i;
        self.c.i += 1;
        let name = self.c.variable_name();
        if name.is_empty() || name.contains(':') {
            return self.c.err(at, "expected a parameter name after '$'");
        }
        self.c.skip_blanks(true)?;
        let mut default_text = None;
        let default = if self.c.peek() == Some('=') {
            self.c.i += 1;
            self.c.skip_blanks(true)?;
            let start = self.c.i;
            self.no_comma = true;
            let value = self.expr();
            self.no_comma = false;
            // The expression may have passed over the blanks and a comment after it: the text
            // ends before them, and the comment describes the parameter.
            let end = match self.c.skipped {
                (from, to) if to == self.c.i && from >= start => from,
                _ => self.c.i,
            };
            comments.extend(self.c.comments(end, self.c.i).into_iter().map(|(_, text)| text));
            default_text = Some(self.c.text(start, end));
            Some(value?)
        } else {
            None
        };
        Ok(ParamDecl {
            name,
            pos: self.c.pos_of(at),
            ty,
            mandatory,
            default,
            default_text,
            valid,
            help_message,
            comments,
        })
    }

    fn try_statement(&mut self) -> Result<Stmt, PsError> {
        self.keyword("try");
        let body = self.statement_block("try")?;
        let mut catch = None;
        let mut finally = None;
        while let Some(w) = self.continuation(&["catch", "finally"])? {
            if w == "catch" {
                if catch.is_some() {
                    return self.c.unsupported(self.c.i, "several catch blocks (one catch takes every error)");
                }
                // `catch [System.Exception] { }`: every error is caught, whatever the type named.
                loop {
                    self.c.skip_blanks(true)?;
                    match self.c.peek() {
                        Some('[') => self.c.i = self.c.block_end(self.c.i)? + 1,
                        Some(',') => self.c.i += 1,
                        _ => break,
                    }
                }
                catch = Some(self.statement_block("catch")?);
            } else {
                finally = Some(self.statement_block("finally")?);
                break;
            }
        }
        if catch.is_none() && finally.is_none() {
            return self.c.err(self.c.i, "a 'try' needs a 'catch' or a 'finally'");
        }
        Ok(Stmt::Try { body, catch, finally })
    }
}

/// `Mandatory`, `Mandatory=$true` or `Mandatory = $false` in `[Parameter(...)]`.
/// The quoted value of `key = '...'` (or `"..."`) in an attribute's arguments, and the arguments
/// without that value. Attribute arguments are constants: no variables are expanded.
fn attribute_string(args: &str, key: &str) -> (Option<String>, String) {
    let chars: Vec<char> = args.chars().collect();
    let lower: Vec<char> = args.to_lowercase().chars().collect();
    let key: Vec<char> = key.chars().collect();
    let skip_blanks = |mut i: usize| {
        while chars.get(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        i
    };
    for start in 0..chars.len() {
        // Lower-casing may change the length (rare letters): then the key is simply not found.
        if lower.len() != chars.len() || lower.get(start..start + key.len()) != Some(&key[..]) {
            continue;
        }
        if start > 0 && chars.get(start - 1).is_some_and(|c| c.is_alphanumeric() || *c == '_') {
            continue;
        }
        let eq = skip_blanks(start + key.len());
        if chars.get(eq) != Some(&'=') {
            continue;
        }
        let open = skip_blanks(eq + 1);
        let Some(&quote) = chars.get(open) else { continue };
        let single = is_single_quote(quote);
        if !single && !is_double_quote(quote) {
            continue;
        }
        let is_quote = |c: char| if single { is_single_quote(c) } else { is_double_quote(c) };
        let mut value = String::new();
        let mut i = open + 1;
        while let Some(&c) = chars.get(i) {
            if is_quote(c) {
                // A doubled quote is one quote character; a lone one ends the string.
                if chars.get(i + 1).is_some_and(|n| is_quote(*n)) {
                    value.push(c);
                    i += 2;
                    continue;
                }
                let rest: String = chars[..start].iter().chain(&chars[i + 1..]).collect();
                return (Some(value), rest);
            }
            if c == '`' && !single {
                if let Some(&n) = chars.get(i + 1) {
                    value.push(n);
                }
                i += 2;
                continue;
            }
            value.push(c);
            i += 1;
        }
    }
    (None, args.to_string())
}

fn mandatory_flag(args: &str) -> bool {
    args.split(',').any(|a| {
        let a = a.trim().to_ascii_lowercase();
        match a.split_once('=') {
            Some((k, v)) => k.trim() == "mandatory" && v.trim() != "$false" && v.trim() != "0",
            None => a == "mandatory",
        }
    })
}

pub fn assignable(e: &Expr) -> bool {
    match e {
        Expr::Var(..) => true,
        Expr::Member(inner, _) | Expr::Index(inner, _) => assignable(inner),
        _ => false,
    }
}
