//! The PowerShell-syntax front end: a pasted PowerShell command line is parsed
//! ([`parser`]) and translated ([`translate`]) into the Rhai API (docs/command-line.md), then run by the
//! same engine and binder as Rhai typed by hand. `translate("...")` shows the Rhai a line becomes.

mod ast;
pub mod cmdlets;
pub mod fileio;
mod lexer;
mod lines;
mod methods;
mod parser;
pub mod runtime;
mod script;
mod statements;
mod text;
mod translate;
mod types;
mod utility;
mod utility_script;

use std::fmt;

pub use ast::Pos;
pub use translate::Translation;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PsErrorKind {
    /// Not valid PowerShell.
    Syntax,
    /// Valid PowerShell outside pchat's subset.
    Unsupported,
    /// A command or its parameters used wrongly (unknown command, missing value...).
    Command,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PsError {
    pub kind: PsErrorKind,
    pub message: String,
    pub pos: Pos,
    /// The text ended too early (an open bracket or string): more input may complete it.
    pub incomplete: bool,
}

impl PsError {
    pub fn syntax(message: impl Into<String>, pos: Pos) -> PsError {
        PsError { kind: PsErrorKind::Syntax, message: message.into(), pos, incomplete: false }
    }

    pub fn unsupported(construct: impl Into<String>, pos: Pos) -> PsError {
        PsError { kind: PsErrorKind::Unsupported, message: construct.into(), pos, incomplete: false }
    }

    pub fn command(message: impl Into<String>, pos: Pos) -> PsError {
        PsError { kind: PsErrorKind::Command, message: message.into(), pos, incomplete: false }
    }
}

impl fmt::Display for PsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let at = if self.pos.line > 1 {
            format!("line {}, column {}", self.pos.line, self.pos.col)
        } else {
            format!("column {}", self.pos.col)
        };
        match self.kind {
            PsErrorKind::Syntax => write!(f, "PowerShell syntax error: {} ({at})", self.message),
            PsErrorKind::Unsupported => {
                write!(f, "not supported in pchat's PowerShell subset: {} ({at})", self.message)
            }
            PsErrorKind::Command => write!(f, "{} ({at})", self.message),
        }
    }
}

impl std::error::Error for PsError {}

/// Names of the PowerShell pipeline commands of the subset (for completion).
pub fn utility_names() -> impl Iterator<Item = &'static str> {
    utility::names()
}

/// Parameter names of a pipeline command given by name or alias (for completion).
pub fn utility_params(command: &str) -> Vec<&'static str> {
    utility::find(command).map(|u| u.params.iter().map(|p| p.name).collect()).unwrap_or_default()
}

/// Translate a PowerShell script (one line or a whole `.ps1` file) into Rhai.
pub fn translate(src: &str) -> Result<Translation, PsError> {
    translate_in(src, &[])
}

/// Translate with the variables a session already holds (the REPL's earlier lines), so that
/// `$n += 1` on a later line updates them rather than starting afresh.
pub fn translate_in(src: &str, known: &[String]) -> Result<Translation, PsError> {
    let stmts = parser::parse(src)?;
    translate::translate(&stmts, known, false)
}

/// Translate PowerShell for running: the Rhai text, or the message to print (a translation error,
/// or a cmdlet this build does not have) and whether it is a syntax error (exit code 2).
pub fn for_engine(
    src: &str,
    known: &[String],
    available: impl Fn(&crate::catalog::Cmdlet) -> bool,
) -> Result<String, (String, bool)> {
    let t = parser::parse(src)
        .and_then(|stmts| translate::translate(&stmts, known, true))
        .map_err(|e| (e.to_string(), true))?;
    if let Some(missing) = t.cmdlets.iter().find(|c| !available(c)) {
        return Err((format!("{} is not available in this build of pchat", missing.name), false));
    }
    Ok(t.rhai)
}

/// One parameter of a `.ps1` runbook's top-level `param()` block.
pub struct ScriptParam {
    pub name: String,
    /// The declared type in lower case (`string`, `int`, `switch`, `string[]`...), when given.
    pub ty: Option<String>,
    pub mandatory: bool,
    /// `[ValidateSet(...)]` values.
    pub valid: Vec<String>,
    /// The default for `--help`: a constant's value, else the expression as written (the script
    /// computes it when it starts, e.g. `(Get-Date).AddDays(-30)`).
    pub default: Option<String>,
    /// What the parameter is for: its `.PARAMETER` section of the script's comment-based help,
    /// else the comments by it in `param()`, else its `HelpMessage`; empty without any.
    pub help: String,
}

/// A `.ps1` runbook's top-level `param()` block (`None` without one), read without running it,
/// so the command line can check `--arg` and answer `--help` as for any runbook. Defaults are
/// computed when the script starts.
pub fn script_params(src: &str) -> Result<Option<Vec<ScriptParam>>, String> {
    let stmts = parser::parse(src).map_err(|e| e.to_string())?;
    let Some(ast::Stmt::Params(decls, _)) = stmts.first() else {
        return Ok(None);
    };
    let sections = parameter_help(&src[..src.len() - skip_leading_comments(src).len()]);
    Ok(Some(
        decls
            .iter()
            .map(|d| {
                let from_comments = one_line(&d.comments.join(" "));
                let help = sections
                    .iter()
                    .find(|(name, _)| name.eq_ignore_ascii_case(&d.name))
                    .map(|(_, text)| text.clone())
                    .filter(|t| !t.is_empty())
                    .or_else(|| Some(from_comments).filter(|t| !t.is_empty()))
                    .or_else(|| d.help_message.as_deref().map(one_line))
                    .unwrap_or_default();
                ScriptParam {
                    name: d.name.clone(),
                    ty: d.ty.clone(),
                    mandatory: d.mandatory,
                    valid: d.valid.clone(),
                    default: d.default.as_ref().map(|e| shown_default(e, d.default_text.as_deref().unwrap_or(""))),
                    help,
                }
            })
            .collect(),
    ))
}

/// A default as `--help` shows it: strings and numbers (and lists of them) by value, as a `.rhai`
/// runbook's are; anything else as written.
fn shown_default(e: &ast::Expr, written: &str) -> String {
    let constant = |e: &ast::Expr| match e {
        ast::Expr::Str(s) => Some(s.clone()),
        ast::Expr::Int(n) => Some(n.to_string()),
        _ => None,
    };
    let list = |items: &[ast::Expr]| items.iter().map(constant).collect::<Option<Vec<_>>>().map(|v| v.join(","));
    match e {
        ast::Expr::Array(items) => list(items),
        // `@('a', 'b')`: one pipeline of one array.
        ast::Expr::Sub(stmts) => match stmts.as_slice() {
            [ast::Stmt::Pipeline(p)] => match p.elements.as_slice() {
                [ast::Element::Expr(ast::Expr::Array(items))] => list(items),
                [ast::Element::Expr(one)] => constant(one),
                _ => None,
            },
            _ => None,
        },
        other => constant(other),
    }
    .unwrap_or_else(|| one_line(written))
}

/// Text on one line, runs of blanks as one space.
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The keywords of PowerShell's comment-based help: a line starting `.` and one of them starts a
/// section; any other line (`.csv files are read`) is text.
const HELP_KEYWORDS: &[&str] = &[
    "SYNOPSIS",
    "DESCRIPTION",
    "PARAMETER",
    "EXAMPLE",
    "INPUTS",
    "OUTPUTS",
    "NOTES",
    "LINK",
    "COMPONENT",
    "ROLE",
    "FUNCTIONALITY",
    "FORWARDHELPTARGETNAME",
    "FORWARDHELPCATEGORY",
    "REMOTEHELPRUNSPACE",
    "EXTERNALHELP",
];

/// The `.PARAMETER <Name>` sections of the comment-based help in `comments` (the comments before
/// `param()`, in `<# #>` or `#` lines): each parameter name with its text on one line.
fn parameter_help(comments: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut current: Option<usize> = None;
    for line in comments.lines() {
        let line = line.trim().trim_start_matches("<#").trim_end_matches("#>").trim().trim_start_matches('#').trim();
        let keyword = line.strip_prefix('.').map(|k| k.split_once(char::is_whitespace).unwrap_or((k, "")));
        if let Some((word, rest)) = keyword.filter(|(w, _)| HELP_KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(w))) {
            current = None;
            if word.eq_ignore_ascii_case("parameter") && !rest.trim().is_empty() {
                out.push((rest.trim().to_string(), String::new()));
                current = Some(out.len() - 1);
            }
            continue;
        }
        if let Some(entry) = current.and_then(|i| out.get_mut(i))
            && !line.is_empty()
        {
            if !entry.1.is_empty() {
                entry.1.push(' ');
            }
            entry.1.push_str(&one_line(line));
        }
    }
    out
}

/// `[ValidateSet(...)]` of a `.ps1` runbook's parameters, checked against `--arg` before it runs.
pub fn check_valid_sets(src: &str, given: &[(String, String)]) -> Result<(), String> {
    let stmts = parser::parse(src).map_err(|e| e.to_string())?;
    let Some(ast::Stmt::Params(decls, _)) = stmts.first() else {
        return Ok(());
    };
    for (name, value) in given {
        if let Some(d) = decls.iter().find(|d| d.name.eq_ignore_ascii_case(name))
            && !d.valid.is_empty()
            && !d.valid.iter().any(|v| v.eq_ignore_ascii_case(value))
        {
            return Err(format!("--arg {}: '{value}' is not one of {}", d.name, d.valid.join(", ")));
        }
    }
    Ok(())
}

/// Verbs of the cmdlets and pipeline commands the front end knows.
const VERBS: &[&str] = &[
    "get",
    "set",
    "new",
    "remove",
    "clear",
    "grant",
    "export",
    "import",
    "test",
    "publish",
    "send",
    "where",
    "foreach",
    "select",
    "sort",
    "measure",
    "format",
    "convertto",
    "write",
    "out",
];

/// Is this input PowerShell rather than Rhai? True when its first statement starts with a
/// `Verb-Noun` command, a `$variable`, `@(`/`@{` or a `[type]` cast (Rhai has none of them), with
/// a PowerShell statement keyword in a text that uses `$variables`, with a parenthesised command
/// (`(Get-CsPersistentChatRoom).Count`), or when strings are piped into a command.
/// `@"` or `@'` (Rhai has no `@`): a here-string, e.g. piped into a command.
fn starts_here_string(code: &str) -> bool {
    code.strip_prefix('@').and_then(|r| r.chars().next()).is_some_and(lexer::is_quote)
}

pub fn looks_like_powershell(src: &str) -> bool {
    let code = skip_leading_comments(src);
    if code.starts_with('$') || code.starts_with("@(") || code.starts_with("@{") || starts_here_string(code) {
        return true;
    }
    let word: String = code.chars().take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_').collect();
    if is_verb_noun(&word) {
        return true;
    }
    let lower = word.to_ascii_lowercase();
    let after = code[word.len()..].trim_start();
    if (lower == "function" && !after.starts_with('(')) || (lower == "param" && after.starts_with('(')) {
        return true;
    }
    if matches!(lower.as_str(), "if" | "foreach" | "for" | "while" | "do" | "switch" | "try" | "function")
        && uses_variables(code)
    {
        return true;
    }
    let chars: Vec<char> = code.chars().collect();
    let starts = lexer::line_starts(&chars);
    let c = lexer::Cursor::new(&chars, &starts, 0, chars.len());
    match chars.first() {
        // `[int]$x`, `[void]$list.Add(1)`, `[Math]::Round(...)`, `[PSCustomObject]@{...}`.
        Some('[') => {
            if let Ok(close) = c.block_end(0) {
                let inner: String = chars[1..close].iter().collect();
                let next = chars.get(close + 1).copied();
                return inner.chars().all(|c| c.is_alphanumeric() || c == '.' || c == '[' || c == ']')
                    && !inner.is_empty()
                    && inner.chars().next().is_some_and(char::is_alphabetic)
                    && matches!(next, Some('$' | '@' | ':' | '(' | '"' | '\''));
            }
            false
        }
        // `(Get-CsPersistentChatRoom).Count`
        Some('(') => {
            let inner = skip_leading_comments(&code[1..]);
            let word: String = inner.chars().take_while(|c| c.is_alphanumeric() || *c == '-').collect();
            is_verb_noun(&word) || inner.starts_with('$')
        }
        // `"a", "b" | ForEach-Object { ... }`
        Some(q) if lexer::is_quote(*q) => {
            let mut c = c;
            loop {
                let parsed = if lexer::is_double_quote(chars[c.i]) {
                    c.double_quoted().map(|_| ())
                } else {
                    match c.single_quoted() {
                        // Rhai's '...' holds one character (or an escape): `'ab' + 'c'` and
                        // `'abc'.Length` can only be PowerShell.
                        Ok(text) if text.chars().count() != 1 && !text.starts_with('\\') => return true,
                        other => other.map(|_| ()),
                    }
                };
                if parsed.is_err() {
                    return false;
                }
                while c.peek().is_some_and(|ch| ch == ' ' || ch == '\t') {
                    c.i += 1;
                }
                match c.peek() {
                    Some(',') => {
                        c.i += 1;
                        while c.peek().is_some_and(char::is_whitespace) {
                            c.i += 1;
                        }
                        if !c.peek().is_some_and(lexer::is_quote) {
                            return false;
                        }
                    }
                    Some('|') => {
                        let rest: String = chars[c.i + 1..].iter().collect();
                        let word: String =
                            rest.trim_start().chars().take_while(|c| !c.is_whitespace() && *c != '{').collect();
                        return is_verb_noun(&word) || utility::find(&word).is_some();
                    }
                    _ => {
                        let rest: String = chars[c.i..].iter().collect();
                        return operator_follows(&rest);
                    }
                }
            }
        }
        // `5 -gt 3`, `1.5 -eq '1.5'`: Rhai has no `-gt` (it would read `5 - gt`).
        Some(d) if d.is_ascii_digit() => {
            let rest = code.trim_start_matches(|c: char| c.is_ascii_alphanumeric() || c == '.');
            operator_follows(rest)
        }
        _ => false,
    }
}

/// Does `rest` start (after blanks) with a PowerShell operator such as `-eq`, `-like` or `-join`,
/// followed by a blank?
fn operator_follows(rest: &str) -> bool {
    let Some(after) = rest.trim_start_matches([' ', '\t']).strip_prefix('-') else { return false };
    let word: String = after.chars().take_while(char::is_ascii_alphabetic).collect();
    let known = parser::op_name(&word).is_some()
        || matches!(
            word.to_ascii_lowercase().as_str(),
            "and" | "or" | "xor" | "join" | "split" | "replace" | "f" | "is" | "isnot"
        );
    known && after[word.len()..].starts_with([' ', '\t'])
}

/// A `$name` outside quotes: Rhai has no such token.
fn uses_variables(code: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for c in code.chars() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == '"' || c == '\'' => quote = Some(c),
            None if prev == '$' && (c.is_alphabetic() || c == '_' || c == '(') => return true,
            None => {}
        }
        prev = c;
    }
    false
}

/// `Verb-Noun`: two words of letters joined by a dash (in Rhai that would be a pointless
/// subtraction of two variables at the start of a script).
fn is_verb_noun(word: &str) -> bool {
    match word.split_once('-') {
        Some((verb, noun)) => {
            (VERBS.contains(&verb.to_ascii_lowercase().as_str())
                || verb.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
                && verb.chars().all(|c| c.is_ascii_alphabetic())
                && noun.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        }
        None => false,
    }
}

/// Leading blanks and `#` comments (Rhai's `//` comments never start a PowerShell line).
fn skip_leading_comments(src: &str) -> &str {
    let mut s = src.trim_start();
    loop {
        if let Some(rest) = s.strip_prefix("<#") {
            s = rest.find("#>").map_or("", |i| &rest[i + 2..]).trim_start();
        } else if s.starts_with('#') && !s.starts_with("#{") {
            s = s.find('\n').map_or("", |i| &s[i + 1..]).trim_start();
        } else {
            return s;
        }
    }
}

/// Does the PowerShell input stop before its end (open bracket or string, trailing `|`,
/// backtick or `,`), so that the REPL should read another line?
pub fn is_incomplete(src: &str) -> bool {
    let t = src.trim_end();
    if t.ends_with('`') || t.ends_with('|') || t.ends_with(',') {
        return true;
    }
    matches!(parser::parse(src), Err(e) if e.incomplete)
}

/// Does `src` stop inside a here-string (`@"` or `@'` whose closing line has not come)? Its
/// empty lines are text, so the REPL keeps them rather than submitting on an empty line.
pub fn in_here_string(src: &str) -> bool {
    matches!(parser::parse(src), Err(e) if e.incomplete && e.message == lexer::UNTERMINATED_HERE_STRING)
}

#[cfg(test)]
mod tests;
