//! The PowerShell-syntax front end: a pasted PowerShell command line is parsed
//! ([`parser`]) and translated ([`translate`]) into the Rhai API (docs/command-line.md), then run by the
//! same engine and binder as Rhai typed by hand. `translate("...")` shows the Rhai a line becomes.

mod ast;
mod lexer;
mod parser;
pub mod runtime;
mod translate;
mod utility;

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
    let stmts = parser::parse(src)?;
    translate::translate(&stmts)
}

/// Translate PowerShell for running: the Rhai text, or the message to print (a translation error,
/// or a cmdlet this build does not have) and whether it is a syntax error (exit code 2).
pub fn for_engine(src: &str, available: impl Fn(&crate::catalog::Cmdlet) -> bool) -> Result<String, (String, bool)> {
    let t = translate(src).map_err(|e| (e.to_string(), true))?;
    if let Some(missing) = t.cmdlets.iter().find(|c| !available(c)) {
        return Err((format!("{} is not available in this build of pchat", missing.name), false));
    }
    Ok(t.rhai)
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
/// `Verb-Noun` command or a `$variable` (Rhai has neither), or when a string is piped into one.
pub fn looks_like_powershell(src: &str) -> bool {
    let code = skip_leading_comments(src);
    if code.starts_with('$') {
        return true;
    }
    let word: String = code.chars().take_while(|c| c.is_alphanumeric() || *c == '-' || *c == '_').collect();
    if is_verb_noun(&word) {
        return true;
    }
    // `"OU=Oslo,DC=contoso,DC=com" | Get-CsAdPrincipal`
    if code.starts_with(['"', '\'']) {
        let chars: Vec<char> = code.chars().collect();
        let starts = lexer::line_starts(&chars);
        let mut c = lexer::Cursor::new(&chars, &starts, 0, chars.len());
        let parsed = if chars[0] == '"' { c.double_quoted().map(|_| ()) } else { c.single_quoted().map(|_| ()) };
        if parsed.is_ok() {
            let rest: String = chars[c.i..].iter().collect();
            let rest = rest.trim_start();
            if let Some(after) = rest.strip_prefix('|') {
                let word: String =
                    after.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '-').collect();
                return is_verb_noun(&word);
            }
        }
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

#[cfg(test)]
mod tests;
