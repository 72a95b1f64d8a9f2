//! From the syntax tree to Rhai source for the API of docs/command-line.md: cmdlets become calls with one
//! parameter map (names, positions and value types from the catalog), pipelines become method
//! chains, and the PowerShell pipeline commands become array methods and the `ps_*` helpers of
//! `runtime.rs`. The Rhai text then runs through the same engine and binder as typed Rhai, so
//! validation and errors are identical whichever syntax was used.

use std::collections::HashSet;

use super::PsError;
use super::ast::*;
use super::utility::{self, Utility};
use crate::catalog::{self, Cmdlet, Param, Ty};

/// The closure parameter standing for `$_`.
const ITEM: &str = "it";

/// Rhai keywords and reserved words, which a PowerShell variable name must not become.
const RHAI_RESERVED: &[&str] = &[
    "let",
    "const",
    "fn",
    "if",
    "else",
    "while",
    "loop",
    "for",
    "in",
    "do",
    "until",
    "return",
    "throw",
    "try",
    "catch",
    "switch",
    "true",
    "false",
    "this",
    "import",
    "export",
    "as",
    "private",
    "global",
    "break",
    "continue",
    "var",
    "static",
    "shared",
    "sync",
    "async",
    "await",
    "yield",
    "default",
    "void",
    "null",
    "nil",
    "spawn",
    "thread",
    "go",
    "exit",
    "match",
    "case",
    "public",
    "protected",
    "new",
    "use",
    "with",
    "module",
    "package",
    "super",
    "include",
    "is",
    "print",
    "debug",
    "type_of",
    "eval",
    "call",
    "curry",
    "fn_ptr",
    "is_def_var",
    "is_def_fn",
    "is_shared",
    "goto",
    "Fn",
    "it",
    "ARGS",
    "SCRIPT_DIR",
];

/// Automatic variables of PowerShell that have no meaning in pchat.
const UNSUPPORTED_AUTOMATIC: &[&str] = &[
    "error",
    "input",
    "host",
    "pscmdlet",
    "myinvocation",
    "psboundparameters",
    "lastexitcode",
    "matches",
    "pwd",
    "home",
    "profile",
    "executioncontext",
    "this",
    "foreach",
    "switch",
    "pshome",
    "pid",
    "sender",
    "event",
    "eventargs",
    "stacktrace",
    "ofs",
    "psversiontable",
    "?",
    "^",
    "$",
];

/// The result of translating a PowerShell script.
#[derive(Debug, Clone)]
pub struct Translation {
    pub rhai: String,
    /// Catalog cmdlets the script calls (to report those missing from this build).
    pub cmdlets: Vec<&'static Cmdlet>,
}

/// What is known about a translated value: arrays can be chained with array methods directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Array,
    Bool,
    Value,
}

pub(super) struct Code {
    pub text: String,
    pub kind: Kind,
}

impl Code {
    pub fn new(text: impl Into<String>, kind: Kind) -> Code {
        Code { text: text.into(), kind }
    }

    /// As an array, for chaining array methods and cmdlets that take pipeline input.
    pub fn items(self) -> String {
        match self.kind {
            Kind::Array => self.text,
            _ => format!("ps_pipe({})", self.text),
        }
    }

    /// As a Rhai bool, with PowerShell's truthiness.
    pub fn truth(self) -> String {
        match self.kind {
            Kind::Bool => self.text,
            _ => format!("ps_true({})", self.text),
        }
    }
}

/// `aligned`: each statement starts on the line of the Rhai text where it stands in the script,
/// so a run-time error's line is the script's (for running; `:rhai` shows the compact form).
pub fn translate(stmts: &[Stmt], known: &[String], aligned: bool) -> Result<Translation, PsError> {
    let mut t = Translator::new();
    t.frames[0].declared.extend(known.iter().cloned());
    t.collect_functions(stmts)?;
    if !t.functions.is_empty() {
        // Functions are closures: the script's variables must exist before they are defined.
        let mut names = Vec::new();
        super::script::assigned_variables(stmts, &mut names);
        for n in names {
            if let Ok(v) = Self_::rhai_variable(&n, Pos::default()) {
                t.hoist(v);
            }
        }
    }
    let mut out = Vec::with_capacity(stmts.len());
    let body = match stmts.first() {
        Some(Stmt::Params(decls, _)) => {
            out.push(t.script_params(decls)?);
            &stmts[1..]
        }
        _ => stmts,
    };
    for (i, s) in body.iter().enumerate() {
        let last = i + 1 == body.len();
        out.push(format!("{}{}", super::lines::marker(s), t.top_statement(s, last)?));
    }
    // Variables first set inside blocks must exist before Rhai's strict-variable check sees them.
    let frame = t.frames.pop().unwrap_or_default();
    let declarations: Vec<String> = frame.hoisted.iter().map(|v| format!("let {v};")).collect();
    let body = out.join("\n");
    let rhai = if aligned {
        // On the first line, so that every statement can still start on its own line.
        format!("{}{}", declarations.iter().map(|d| format!("{d} ")).collect::<String>(), super::lines::align(&body))
    } else {
        format!("{}{}", declarations.iter().map(|d| format!("{d}\n")).collect::<String>(), super::lines::strip(&body))
    };
    Ok(Translation { rhai, cmdlets: t.cmdlets })
}

type Self_ = Translator;

/// A variable scope: the script or one function.
#[derive(Default)]
pub(super) struct Frame {
    /// Variables that exist in this scope (Rhai names).
    pub declared: HashSet<String>,
    /// Variables declared at the start of the scope because they are first set inside a block.
    pub hoisted: Vec<String>,
    /// Nesting of Rhai blocks within the scope: a `let` is only emitted at level 0.
    pub depth: usize,
}

/// Where a statement's output goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sink {
    /// Printed as it comes (the script's top level).
    Print,
    /// Appended to `ps_o` (a function, a script block, `@( ... )`); `ret` is the value `return` gives back.
    Collect { ret: &'static str },
}

pub(super) struct Translator {
    pub frames: Vec<Frame>,
    pub sinks: Vec<Sink>,
    /// Nesting of script blocks and switch clauses in which `$_` is bound.
    pub in_block: usize,
    pub cmdlets: Vec<&'static Cmdlet>,
    /// The script's functions by lower-case name.
    pub functions: std::collections::HashMap<String, super::script::Function>,
    /// A counter for unique helper variable names.
    pub unique: usize,
    /// Nesting of catch blocks (a bare `throw` rethrows there).
    pub catch_depth: usize,
    /// `$ErrorActionPreference = "Stop"`: the -ErrorAction of later Cs cmdlet calls that give none.
    pub error_action: Option<String>,
}

/// The catalog cmdlet a mistyped name most likely means. Plain Levenshtein: the binder's
/// Damerau distance is too slow for the fuzz test's thousands of unknown names.
fn suggest_cmdlet(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    catalog::all()
        .iter()
        .filter(|c| c.name.len().abs_diff(lower.len()) <= 3)
        .map(|c| (strsim::levenshtein(&lower, &c.name.to_ascii_lowercase()), c.name))
        .filter(|(d, c)| *d <= 3.max(c.len() / 8))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// A Rhai string literal.
pub fn rhai_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn float_literal(f: f64) -> String {
    if !f.is_finite() {
        return "0.0".into();
    }
    let s = format!("{f:?}");
    if s.contains(['.', 'e']) { s } else { format!("{s}.0") }
}

fn is_rhai_ident(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && s != "_"
}

/// A value that cannot be a list: a comparison with it on the left gives a bool.
fn scalar(e: &Expr) -> bool {
    match e {
        Expr::Str(_) | Expr::Expand(_) | Expr::Bare(_) | Expr::Int(_) | Expr::Float(_) => true,
        Expr::Var(v, _) => matches!(v.to_ascii_lowercase().as_str(), "null" | "true" | "false"),
        Expr::Binary(BinOp::Cmp(_) | BinOp::Format | BinOp::Join | BinOp::Replace, ..) => true,
        Expr::Cast(ty, _) => !matches!(ty.as_str(), "array" | "arraylist" | "object"),
        _ => false,
    }
}

/// A map key: bare when it is an identifier, quoted otherwise.
fn map_key(k: &str) -> String {
    if is_rhai_ident(k) && !RHAI_RESERVED.contains(&k) { k.to_string() } else { rhai_string(k) }
}

impl Translator {
    /// A PowerShell variable as a Rhai variable: names are case-insensitive in PowerShell.
    pub(super) fn variable_name(&self, var: &str, pos: Pos) -> Result<String, PsError> {
        let lower = var.to_lowercase();
        if let Some((scope, _)) = lower.split_once(':') {
            return Err(match scope {
                "env" => PsError::unsupported(format!("environment variables (${var})"), pos),
                _ => PsError::unsupported(format!("scope and drive qualifiers (${var})"), pos),
            });
        }
        if matches!(lower.as_str(), "true" | "false" | "null" | "_" | "psitem" | "args" | "psscriptroot")
            || UNSUPPORTED_AUTOMATIC.contains(&lower.as_str())
        {
            return Err(PsError::unsupported(format!("assigning to the automatic variable ${var}"), pos));
        }
        Self::rhai_variable(var, pos)
    }

    pub(super) fn rhai_variable(var: &str, pos: Pos) -> Result<String, PsError> {
        let lower = var.to_lowercase();
        if !lower.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || lower.is_empty() {
            return Err(PsError::unsupported(format!("the variable name '{var}' (use letters, digits and '_')"), pos));
        }
        Ok(if is_rhai_ident(&lower) && !RHAI_RESERVED.contains(&lower.as_str()) { lower } else { format!("v_{lower}") })
    }

    pub(super) fn variable(&self, var: &str, pos: Pos) -> Result<Code, PsError> {
        let lower = var.to_lowercase();
        Ok(match lower.as_str() {
            "true" => Code::new("true", Kind::Bool),
            "false" => Code::new("false", Kind::Bool),
            "null" => Code::new("()", Kind::Value),
            "_" | "psitem" => {
                if self.in_block == 0 {
                    return Err(PsError::command(
                        format!("${var} is only set inside the script block of Where-Object or ForEach-Object"),
                        pos,
                    ));
                }
                Code::new(ITEM, Kind::Value)
            }
            "args" => Code::new("ARGS", Kind::Value),
            "psscriptroot" => Code::new("SCRIPT_DIR", Kind::Value),
            _ if lower.starts_with("env:") => Code::new(format!("ps_env({})", rhai_string(&var[4..])), Kind::Value),
            _ if ["script:", "global:", "local:"].iter().any(|s| lower.starts_with(s)) => {
                let (_, rest) = lower.split_once(':').unwrap_or_default();
                return self.variable(rest, pos);
            }
            _ if lower.contains(':') => return self.variable_name(var, pos).map(|n| Code::new(n, Kind::Value)),
            _ if UNSUPPORTED_AUTOMATIC.contains(&lower.as_str()) => {
                return Err(PsError::unsupported(format!("the automatic variable ${var}"), pos));
            }
            _ => Code::new(Self::rhai_variable(var, pos)?, Kind::Value),
        })
    }

    pub(super) fn pipeline(&mut self, p: &Pipeline) -> Result<Code, PsError> {
        let mut current: Option<Code> = None;
        for el in &p.elements {
            current = Some(match el {
                Element::Expr(e) => self.expr(e)?,
                Element::Command(c) => self.command(c, current.take())?,
            });
        }
        current.ok_or_else(|| PsError::syntax("empty pipeline", p.pos))
    }

    fn command(&mut self, c: &Command, input: Option<Code>) -> Result<Code, PsError> {
        if let Some(f) = self.functions.get(&c.name.to_ascii_lowercase()).cloned() {
            return self.call_function(&f, c, input);
        }
        if let Some(cmdlet) = catalog::all().iter().find(|k| k.name.eq_ignore_ascii_case(&c.name)) {
            if !self.cmdlets.iter().any(|k| k.name == cmdlet.name) {
                self.cmdlets.push(cmdlet);
            }
            return self.cmdlet_call(cmdlet, c, input);
        }
        if let Some(u) = utility::find(&c.name) {
            return self.utility(u, c, input);
        }
        // A near miss of a catalog cmdlet is a typo; anything else is PowerShell outside the subset.
        match suggest_cmdlet(&c.name) {
            Some(n) => Err(PsError::command(format!("unknown command '{}'; did you mean '{n}'?", c.name), c.pos)),
            None => Err(PsError::unsupported(format!("the command '{}'", c.name), c.pos)),
        }
    }

    // ----- catalog cmdlets -----

    fn cmdlet_call(&mut self, cmdlet: &'static Cmdlet, c: &Command, input: Option<Code>) -> Result<Code, PsError> {
        let mut named: Vec<(String, String, Pos)> = Vec::new();
        let mut captures: Vec<(String, String)> = Vec::new();
        let mut positional: Vec<(&Expr, usize, Pos)> = Vec::new();
        let mut args = c.args.iter().peekable();
        while let Some(arg) = args.next() {
            match arg {
                Arg::Value(e, vpos) => positional.push((e, positional.len(), *vpos)),
                Arg::Param { name, pos, value } => {
                    let param = crate::binder::resolve_name(cmdlet, name).ok();
                    // Unknown or ambiguous names go to the binder as typed, which reports them.
                    let key = param.map_or_else(|| name.clone(), |p| p.name.to_string());
                    let takes_value = param.is_none_or(|p| p.ty != Ty::Switch);
                    let code = match value {
                        Some(v) => self.cs_value(cmdlet, param, v, *pos)?,
                        None if !takes_value => "true".to_string(),
                        None => match args.peek() {
                            Some(Arg::Value(v, vpos)) => {
                                args.next();
                                self.cs_value(cmdlet, param, v, *vpos)?
                            }
                            _ if param.is_none() => "true".to_string(),
                            _ => {
                                return Err(PsError::command(
                                    format!(
                                        "{}: parameter -{key} needs a value ({})",
                                        cmdlet.name,
                                        param.map(|p| p.ty.display()).unwrap_or_default()
                                    ),
                                    *pos,
                                ));
                            }
                        },
                    };
                    let code =
                        if param.is_some_and(|p| p.sets_variable()) { self.variable_parameter(code) } else { code };
                    if named.iter().any(|(k, _, _)| k.eq_ignore_ascii_case(&key)) {
                        return Err(PsError::command(
                            format!("{}: parameter -{key} is given more than once", cmdlet.name),
                            *pos,
                        ));
                    }
                    // -OutVariable/-ErrorVariable set script variables around the call.
                    if key == "OutVariable" || key == "ErrorVariable" {
                        let var = code.strip_prefix('"').and_then(|c| c.strip_suffix('"')).unwrap_or_default();
                        let var = var.strip_prefix('+').unwrap_or(var);
                        let name = Self::rhai_variable(var, *pos)?;
                        self.hoist_outer(name.clone());
                        captures.push((key, name));
                        continue;
                    }
                    named.push((key, code, *pos));
                }
            }
        }
        let mut lead = Vec::new();
        for (e, i, vpos) in positional {
            let candidates: Vec<&'static Param> =
                cmdlet.params.iter().filter(|p| p.position == Some(i as u8)).collect();
            let scalar = matches!(e, Expr::Str(_) | Expr::Expand(_) | Expr::Bare(_) | Expr::Int(_) | Expr::Float(_));
            match candidates.first() {
                // The first positional stays positional (`f("x", #{...})`), as a Rhai user writes it.
                Some(p) if i == 0 && scalar => lead.push(self.cs_value(cmdlet, Some(p), e, vpos)?),
                Some(p) => {
                    if named.iter().any(|(k, _, _)| k.eq_ignore_ascii_case(p.name)) {
                        return Err(PsError::command(
                            format!("{}: parameter -{} is given both by position and by name", cmdlet.name, p.name),
                            vpos,
                        ));
                    }
                    let code = self.cs_value(cmdlet, Some(p), e, vpos)?;
                    named.push((p.name.to_string(), code, vpos));
                }
                // No such position: passed on positionally so the binder reports it.
                None => lead.push(self.expr(e)?.text),
            }
        }
        if lead.len() > 2 {
            return Err(PsError::command(
                format!("{}: too many positional arguments ({})", cmdlet.name, lead.len()),
                c.pos,
            ));
        }
        if let Some(action) = &self.error_action
            && !named.iter().any(|(k, _, _)| k == "ErrorAction")
        {
            named.push(("ErrorAction".into(), rhai_string(action), c.pos));
        }
        let mut call_args = lead;
        if !named.is_empty() {
            let entries: Vec<String> = named.iter().map(|(k, v, _)| format!("{}: {v}", map_key(k))).collect();
            call_args.push(format!("#{{{}}}", entries.join(", ")));
        }
        let f = cmdlet.rhai_name();
        let text = match input {
            Some(i) => format!("{}.{f}({})", i.items(), call_args.join(", ")),
            None => format!("{f}({})", call_args.join(", ")),
        };
        let kind = match cmdlet.output {
            catalog::Output::Collection(_) => Kind::Array,
            _ => Kind::Value,
        };
        if captures.is_empty() {
            return Ok(Code::new(text, kind));
        }
        let mut wrapped = String::from("{ let ps_errors_before = last_errors().len(); let ps_result = ");
        wrapped.push_str(&text);
        wrapped.push(';');
        for (key, var) in &captures {
            if key == "OutVariable" {
                wrapped.push_str(&format!(" {var} = ps_result;"));
            } else {
                wrapped.push_str(&format!(" {var} = last_errors().extract(ps_errors_before);"));
            }
        }
        wrapped.push_str(" ps_result }");
        Ok(Code::new(wrapped, kind))
    }

    /// `-OutLoggerVariable TestLog`: the variable `$TestLog` as Rhai names it, declared once. A
    /// value that is not a literal name goes to the cmdlet unchanged.
    fn variable_parameter(&mut self, code: String) -> String {
        let literal = code.strip_prefix('"').and_then(|c| c.strip_suffix('"')).filter(|c| is_rhai_ident(c));
        let Some(name) = literal.and_then(|l| Self::rhai_variable(l, Pos::default()).ok()) else {
            return code;
        };
        self.hoist(name.clone());
        rhai_string(&name)
    }

    /// A value given to a path parameter (`-Path`, `-FilePath`, `-FileName`, `-Report`...), as a
    /// path on this machine (`fileio::ps_path`): a literal is translated, or refused, now, before
    /// anything runs; a computed one (`"$PSScriptRoot\rooms.csv"`) when its value is known.
    pub(super) fn path_arg(&mut self, e: &Expr, command: &str, param: &str, pos: Pos) -> Result<String, PsError> {
        match e {
            Expr::Str(s) | Expr::Bare(s) => super::fileio::ps_path(s)
                .map(|p| rhai_string(&p))
                .map_err(|m| PsError::command(format!("{command}: -{param} {m}"), pos)),
            _ => Ok(format!("ps_path({}, {}, {})", self.expr(e)?.text, rhai_string(command), rhai_string(param))),
        }
    }

    /// The value of a catalog cmdlet's parameter: a path as [`Self::path_arg`] makes it, any
    /// other as [`Self::param_value`].
    fn cs_value(&mut self, cmdlet: &Cmdlet, p: Option<&Param>, e: &Expr, pos: Pos) -> Result<String, PsError> {
        match p {
            Some(p) if p.ty == Ty::Path => self.path_arg(e, cmdlet.name, p.name, pos),
            _ => self.param_value(p, e),
        }
    }

    /// A parameter value, converted as PowerShell's binder would before the value reaches ours:
    /// numbers given to text parameters become text, a script block given to -Filter is its text.
    fn param_value(&mut self, p: Option<&Param>, e: &Expr) -> Result<String, PsError> {
        let ty = p.map(|p| p.ty);
        let textual = ty.is_some_and(|t| {
            !matches!(t, Ty::Bool | Ty::Switch | Ty::Int16 | Ty::Int32 | Ty::UInt32 | Ty::Unlimited | Ty::Object(_))
        });
        match e {
            Expr::Block(b) if ty == Some(Ty::Filter) => Ok(rhai_string(b.text.trim())),
            Expr::Block(b) => Err(PsError::unsupported(
                format!(
                    "a script block as the value of -{} (only -Filter takes one)",
                    p.map(|p| p.name).unwrap_or("parameter")
                ),
                b.pos,
            )),
            // A list modifier (`@{Add="x"}`) goes to the binder as a plain map.
            Expr::Hash(entries) => {
                let mut out = Vec::with_capacity(entries.len());
                for (k, v) in entries {
                    out.push(format!("{}: {}", map_key(k), self.param_value(p, v)?));
                }
                Ok(format!("#{{{}}}", out.join(", ")))
            }
            Expr::Int(i) if textual => Ok(rhai_string(&i.to_string())),
            Expr::Float(f) if textual => Ok(rhai_string(&f.to_string())),
            Expr::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.param_value(p, item)?);
                }
                Ok(format!("[{}]", out.join(", ")))
            }
            _ => Ok(self.expr(e)?.text),
        }
    }

    // ----- expressions -----

    pub(super) fn expr(&mut self, e: &Expr) -> Result<Code, PsError> {
        Ok(match e {
            Expr::Str(s) | Expr::Bare(s) => Code::new(rhai_string(s), Kind::Value),
            Expr::Expand(parts) => {
                let mut pieces = Vec::with_capacity(parts.len());
                for part in parts {
                    pieces.push(match part {
                        Part::Text(t) => rhai_string(t),
                        Part::Var(v, pos) => format!("ps_str({})", self.variable(v, *pos)?.text),
                        Part::Sub(stmts) => format!("ps_str({})", self.sub_expression(stmts)?.text),
                    });
                }
                if !matches!(parts.first(), Some(Part::Text(_))) {
                    pieces.insert(0, "\"\"".into());
                }
                Code::new(format!("({})", pieces.join(" + ")), Kind::Value)
            }
            Expr::Int(i) if *i < 0 => Code::new(format!("({i})"), Kind::Value),
            Expr::Int(i) => Code::new(i.to_string(), Kind::Value),
            Expr::Float(f) if *f < 0.0 => Code::new(format!("({})", float_literal(*f)), Kind::Value),
            Expr::Float(f) => Code::new(float_literal(*f), Kind::Value),
            Expr::Var(v, pos) => self.variable(v, *pos)?,
            Expr::Member(inner, name) => {
                Code::new(format!("ps_prop({}, {})", self.expr(inner)?.text, rhai_string(name)), Kind::Value)
            }
            Expr::Index(inner, index) => {
                Code::new(format!("ps_index({}, {})", self.expr(inner)?.text, self.expr(index)?.text), Kind::Value)
            }
            Expr::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.expr(item)?.text);
                }
                Code::new(format!("[{}]", out.join(", ")), Kind::Array)
            }
            Expr::Sub(stmts) => self.sub_expression(stmts)?,
            Expr::Paren(p) => {
                let inner = self.pipeline(p)?;
                Code::new(format!("({})", inner.text), inner.kind)
            }
            Expr::Hash(entries) => {
                let mut out: Vec<String> = Vec::with_capacity(entries.len());
                let mut seen: Vec<&str> = Vec::new();
                for (k, v) in entries {
                    if seen.iter().any(|s| s.eq_ignore_ascii_case(k)) {
                        return Err(PsError::syntax(format!("duplicate key '{k}' in a hashtable"), Pos::default()));
                    }
                    seen.push(k);
                    out.push(format!("{}: {}", map_key(k), self.expr(v)?.text));
                }
                // Rhai maps are sorted: the written order is kept for display and CSV columns.
                let keys: Vec<String> = entries.iter().map(|(k, _)| rhai_string(k)).collect();
                Code::new(format!("ps_ordered(#{{{}}}, [{}])", out.join(", "), keys.join(", ")), Kind::Value)
            }
            Expr::Block(b) => {
                return Err(PsError::unsupported(
                    "a script block as a value (blocks go to Where-Object, ForEach-Object or -Filter)",
                    b.pos,
                ));
            }
            Expr::Binary(op, l, r) => self.binary(*op, l, r)?,
            Expr::Not(inner) => Code::new(format!("!{}", self.expr(inner)?.truth()), Kind::Bool),
            Expr::Neg(inner) => Code::new(format!("ps_sub(0, {})", self.expr(inner)?.text), Kind::Value),
            Expr::UnaryJoin(inner) => Code::new(format!("ps_join({}, \"\")", self.expr(inner)?.text), Kind::Value),
            Expr::UnarySplit(inner) => Code::new(format!("ps_split_blanks({})", self.expr(inner)?.text), Kind::Array),
            Expr::Method(target, name, args) => {
                let mut list = Vec::with_capacity(args.len());
                for a in args {
                    list.push(self.expr(a)?.text);
                }
                let args = format!("[{}]", list.join(", "));
                let name = rhai_string(name);
                // On a variable the method may change it in place (`$list.Add(...)`).
                match target.as_ref() {
                    Expr::Var(v, pos) if !matches!(v.to_ascii_lowercase().as_str(), "true" | "false" | "null") => {
                        let var = self.variable(v, *pos)?.text;
                        Code::new(format!("{var}.ps_call({name}, {args})"), Kind::Value)
                    }
                    other => Code::new(format!("ps_call_on({}, {name}, {args})", self.expr(other)?.text), Kind::Value),
                }
            }
            Expr::Cast(ty, inner) => {
                let v = self.expr(inner)?;
                match ty.as_str() {
                    "void" => Code::new(format!("ps_discard({})", v.text), Kind::Value),
                    "array" | "arraylist" => Code::new(v.items(), Kind::Array),
                    "bool" => Code::new(v.truth(), Kind::Bool),
                    _ => Code::new(format!("ps_cast({}, {})", v.text, rhai_string(ty)), Kind::Value),
                }
            }
            Expr::Type(ty, pos) => {
                return Err(PsError::unsupported(format!("the type [{ty}] as a value (only after -is)"), *pos));
            }
            Expr::Static(ty, member, Some(args), pos)
                if ty == "array" && matches!(member.to_ascii_lowercase().as_str(), "sort") =>
            {
                // `[array]::Sort($list)` sorts the variable itself.
                match args.as_slice() {
                    [Expr::Var(v, vpos)] => {
                        let var = self.variable(v, *vpos)?.text;
                        Code::new(format!("{var}.ps_sort_in_place()"), Kind::Value)
                    }
                    _ => return Err(PsError::unsupported("[array]::Sort of anything but a variable", *pos)),
                }
            }
            Expr::Static(ty, member, args, _) => {
                let args = match args {
                    Some(list) => {
                        let mut out = Vec::with_capacity(list.len());
                        for a in list {
                            out.push(self.expr(a)?.text);
                        }
                        format!("[{}]", out.join(", "))
                    }
                    None => "()".into(),
                };
                Code::new(format!("ps_static({}, {}, {args})", rhai_string(ty), rhai_string(member)), Kind::Value)
            }
        })
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr) -> Result<Code, PsError> {
        let left = self.expr(l)?;
        let right = match (op, r) {
            (BinOp::Is(_), Expr::Type(..)) => Code::new("()", Kind::Value),
            _ => self.expr(r)?,
        };
        let helper = |name: &str| Code::new(format!("ps_{name}({}, {})", left.text, right.text), Kind::Value);
        Ok(match op {
            BinOp::And => Code::new(format!("({} && {})", left.truth(), right.truth()), Kind::Bool),
            BinOp::Or => Code::new(format!("({} || {})", left.truth(), right.truth()), Kind::Bool),
            BinOp::Xor => Code::new(format!("({} != {})", left.truth(), right.truth()), Kind::Bool),
            BinOp::Add => helper("add"),
            BinOp::Sub => helper("sub"),
            BinOp::Mul => helper("mul"),
            BinOp::Div => helper("div"),
            BinOp::Rem => helper("rem"),
            // An array on the left filters it (`$list -eq $null`); a single value gives a bool.
            BinOp::Cmp(name) if matches!(name, "contains" | "notcontains" | "in" | "notin") || scalar(l) => {
                Code::new(helper(name).text, Kind::Bool)
            }
            BinOp::Cmp(name) => helper(name),
            BinOp::Format => helper("format"),
            BinOp::Join => helper("join"),
            BinOp::Split => Code::new(helper("split").text, Kind::Array),
            BinOp::Replace => helper("replace"),
            BinOp::Range => Code::new(helper("range").text, Kind::Array),
            BinOp::Is(positive) => {
                let Expr::Type(ty, _) = r else { return Ok(helper("is")) };
                let test = format!("ps_is({}, {})", left.text, rhai_string(ty));
                Code::new(if positive { test } else { format!("!{test}") }, Kind::Bool)
            }
        })
    }

    /// `@( ... )` / `$( ... )`: every statement's output, collected into one array.
    fn sub_expression(&mut self, stmts: &[Stmt]) -> Result<Code, PsError> {
        match stmts {
            [] => Ok(Code::new("[]", Kind::Array)),
            [Stmt::Pipeline(p)] => {
                let code = self.pipeline(p)?;
                Ok(Code::new(code.items(), Kind::Array))
            }
            _ => Ok(Code::new(self.collected(stmts, "ps_o")?, Kind::Array)),
        }
    }

    /// A script block run per pipeline item, with `$_` bound: its output collected into an array
    /// (ForEach-Object) or as one value to test (Where-Object).
    pub(super) fn item_block(&mut self, b: &ScriptBlock, collect: bool) -> Result<Code, PsError> {
        let body = b.body.as_ref().map_err(Clone::clone)?;
        self.in_block += 1;
        let result = match body.as_slice() {
            [] => Ok(Code::new(if collect { "[]" } else { "()" }, Kind::Value)),
            [Stmt::Pipeline(p)] => self.pipeline(p),
            _ => self.collected(body, "ps_o").map(|t| Code::new(t, Kind::Array)),
        };
        self.in_block -= 1;
        result
    }

    // ----- pipeline commands (Where-Object, Select-Object, ...) -----

    fn utility(&mut self, u: &'static Utility, c: &Command, input: Option<Code>) -> Result<Code, PsError> {
        let args = utility::bind(u, c)?;
        utility::translate(self, u, c, &args, input)
    }
}
