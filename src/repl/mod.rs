//! The interactive REPL (rustyline): prompt, multi-line input, history, tab completion.
//!
//! The REPL knows the engine only through [`ReplHost`], so it can be driven by the real shell or
//! by a plain Rhai engine in tests.
//!
//! Multi-line input is read line by line rather than with a rustyline `Validator`: rustyline 19
//! draws the prompt only on the first line of a buffer, so a validator could not show the
//! `   >> ` continuation prompt. Each line is appended to the pending input until it compiles or
//! fails with a genuine (not end-of-input) error; the whole input becomes one history entry.

pub mod complete;

use std::path::{Path, PathBuf};

use rhai::{Engine, LexError, ParseErrorType, Position};
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::history::FileHistory;
use rustyline::{CompletionType, Config, Editor, Helper, Highlighter, Hinter, Validator};

use crate::catalog::{self, Cmdlet};
use crate::{help, output};
use complete::Completions;

pub const PROMPT: &str = "pchat> ";
pub const CONTINUATION_PROMPT: &str = "   >> ";
const MAX_HISTORY: usize = 1000;

/// What the REPL needs from the shell.
pub trait ReplHost {
    /// Evaluate one complete input; Ok(value) to print, Err(message) already formatted for stderr.
    fn eval(&mut self, code: &str) -> Result<rhai::Dynamic, String>;
    /// The engine, used to decide whether input is complete (by compiling it) and for nothing else.
    fn engine(&self) -> &rhai::Engine;
    fn json(&self) -> bool;
    /// Is this cmdlet registered (its handlers exist)? Completion and help offer only these.
    fn is_available(&self, cmdlet: &Cmdlet) -> bool;
    /// Names of variables currently in the REPL scope (for completion).
    fn variables(&self) -> Vec<String>;
}

/// The startup line.
pub fn banner() -> String {
    format!(
        "pchat {} — help for the cmdlet list, help(\"Get-CsPersistentChatRoom\") for one; PowerShell lines run too (:rhai <line> shows their Rhai); Ctrl-D to leave",
        env!("CARGO_PKG_VERSION")
    )
}

/// Run the REPL until `exit`, `quit` or Ctrl-D. History is loaded from and saved to
/// `history_path` (its folder is created when missing); history problems are warnings only.
pub fn run(host: &mut dyn ReplHost, history_path: Option<PathBuf>) -> anyhow::Result<()> {
    let config = Config::builder()
        .max_history_size(MAX_HISTORY)?
        .history_ignore_dups(true)?
        .auto_add_history(false)
        .completion_type(CompletionType::List)
        .build();
    let mut editor: Editor<ReplHelper, FileHistory> = Editor::with_config(config)?;
    let available: Vec<&'static Cmdlet> = catalog::all().iter().filter(|c| host.is_available(c)).collect();
    editor.set_helper(Some(ReplHelper { completions: Completions::new(available), pending: String::new() }));
    if let Some(path) = &history_path
        && path.exists()
        && let Err(e) = editor.load_history(path)
    {
        crate::streams::warning(&format!("warning: could not read history {}: {e}", path.display()));
    }
    let mut history_warned = false;

    println!("{}", banner());
    let mut pending = String::new();
    loop {
        if let Some(helper) = editor.helper_mut() {
            helper.completions.variables = host.variables();
            helper.pending.clone_from(&pending);
        }
        let prompt = if pending.is_empty() { PROMPT } else { CONTINUATION_PROMPT };
        let line = match editor.readline(prompt) {
            Ok(line) => line,
            // Ctrl-C abandons the current input, not the session.
            Err(ReadlineError::Interrupted) => {
                pending.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(e.into()),
        };
        if !take_line(host.engine(), &mut pending, &line) {
            continue;
        }
        let input = std::mem::take(&mut pending);
        let input = input.trim_end();

        let _ = editor.add_history_entry(input);
        if let Some(path) = &history_path
            && let Err(e) = save_history(&mut editor, path)
            && !history_warned
        {
            crate::streams::warning(&format!("warning: could not save history {}: {e}", path.display()));
            history_warned = true;
        }

        match command(input) {
            Some(Command::Exit) => break,
            Some(Command::Help(None)) => print!("{}", help::overview(&|c| host.is_available(c))),
            Some(Command::Translate(line)) => match crate::powershell::translate(line) {
                Ok(t) => println!("{}", t.rhai),
                Err(e) => crate::streams::error(&crate::values::text::escape_block(&e.to_string())),
            },
            Some(Command::Help(Some(name))) => match catalog::find(name) {
                Some(c) if host.is_available(c) => print!("{}", help::render(c)),
                _ => crate::streams::error(&format!(
                    "help: {}",
                    crate::values::text::escape_line(&crate::engine::no_cmdlet(name))
                )),
            },
            None => match host.eval(input) {
                Ok(value) => {
                    let text = output::render(&value, host.json());
                    if !text.is_empty() {
                        println!("{}", text.trim_end_matches('\n'));
                    }
                }
                Err(message) => crate::streams::error(&message),
            },
        }
    }
    Ok(())
}

/// Words the REPL handles itself rather than evaluating.
#[derive(Debug, PartialEq, Eq)]
enum Command<'a> {
    Exit,
    /// `help` alone, or PowerShell-style `help Get-CsPersistentChatRoom` (no parentheses).
    Help(Option<&'a str>),
    /// `:rhai <PowerShell line>`: show the Rhai the line becomes, without running it.
    Translate(&'a str),
}

fn command(input: &str) -> Option<Command<'_>> {
    if let Some(line) = input.trim_start().strip_prefix(":rhai") {
        return Some(Command::Translate(line.trim()));
    }
    let input = input.trim().trim_end_matches(';').trim_end();
    match input {
        "exit" | "quit" => Some(Command::Exit),
        "help" => Some(Command::Help(None)),
        _ => {
            let name = input.strip_prefix("help ")?.trim();
            let is_name = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            is_name.then_some(Command::Help(Some(name)))
        }
    }
}

/// `help`, `help NAME`, `exit` or `quit` as a whole script (`pchat -c help`, standard input, a
/// runbook): the Rhai call that does what the REPL does with the word, so it answers alike.
pub fn word_as_call(input: &str) -> Option<String> {
    // `exit 3` (PowerShell's, and a shell's, spelling) as the whole input: the code it names.
    let words: Vec<&str> = input.trim().trim_end_matches(';').split_whitespace().collect();
    if let [word, code] = words.as_slice()
        && word.eq_ignore_ascii_case("exit")
        && let Ok(code) = code.parse::<i64>()
    {
        return Some(format!("exit({code})"));
    }
    match command(input)? {
        Command::Exit => Some("exit()".into()),
        Command::Help(None) => Some("help()".into()),
        // `command` took only letters, digits, '-' and '_': nothing to escape.
        Command::Help(Some(name)) => Some(format!("help(\"{name}\")")),
        Command::Translate(_) => None,
    }
}

fn save_history(editor: &mut Editor<ReplHelper, FileHistory>, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        crate::files::create_private_dir_all(dir)?;
    }
    // Owner-only: the history holds what the administrator typed. The editor rewrites the file in place.
    crate::files::create_private_file(path)?;
    editor.save_history(path)?;
    Ok(())
}

/// Add a typed line to the pending input: true when the input is now to be evaluated, false
/// when the REPL reads another line (the input is open: a block, a string, a here-string...).
/// An empty line in continuation mode submits what there is (and shows its error), except
/// inside a string spanning lines (a here-string, a Rhai backtick string), whose text it is.
fn take_line(engine: &Engine, pending: &mut String, line: &str) -> bool {
    if line.trim().is_empty() {
        if pending.is_empty() {
            return false;
        }
        if !in_open_string(engine, pending) {
            return true;
        }
    }
    pending.push_str(line);
    let open = if crate::powershell::looks_like_powershell(pending) {
        crate::powershell::is_incomplete(pending)
    } else {
        is_incomplete(engine, pending)
    };
    if open {
        pending.push('\n');
    }
    !open
}

/// Does the pending input (which ends with the line break of its last line) stop inside a
/// string that spans lines?
fn in_open_string(engine: &Engine, pending: &str) -> bool {
    if crate::powershell::looks_like_powershell(pending) {
        return crate::powershell::in_here_string(pending);
    }
    matches!(engine.compile(pending), Err(e)
        if matches!(e.err_type(), ParseErrorType::BadInput(LexError::UnterminatedString))
            && char_at(pending, e.position()) == Some('`'))
}

/// Does `input` stop before its end (an open bracket, block, string or a dangling operator), so
/// that the next line should continue it? A genuine syntax error is *not* incomplete: the input
/// must be evaluated so the error is reported, not keep the user in continuation mode.
pub fn is_incomplete(engine: &Engine, input: &str) -> bool {
    let Err(err) = engine.compile(input) else {
        return false;
    };
    match err.err_type() {
        ParseErrorType::UnexpectedEOF => true,
        // Only backtick strings span lines; a `"` string continues after a trailing backslash.
        ParseErrorType::BadInput(LexError::UnterminatedString) => {
            char_at(input, err.position()) == Some('`') || input.ends_with('\\')
        }
        ParseErrorType::BadInput(_) => false,
        // Missing `}`, `)`, `]`, an expression, a property… reported at the end of the input.
        _ => after_last_char(input, err.position()),
    }
}

/// Is `pos` (Rhai's 1-based line and column, counted in characters) past the last
/// non-whitespace character of `input`?
fn after_last_char(input: &str, pos: Position) -> bool {
    let (Some(line), Some(col)) = (pos.line(), pos.position()) else {
        return false;
    };
    let mut last = (0, 0);
    for (l, text) in input.split('\n').enumerate() {
        if let Some(c) = text.trim_end().chars().count().checked_sub(1) {
            last = (l + 1, c + 1);
        }
    }
    (line, col) > last
}

fn char_at(input: &str, pos: Position) -> Option<char> {
    let (line, col) = (pos.line()?, pos.position()?);
    input.split('\n').nth(line.checked_sub(1)?)?.chars().nth(col.checked_sub(1)?)
}

/// The rustyline helper: completion only (no hints, highlighting or validation).
#[derive(Helper, Hinter, Highlighter, Validator)]
struct ReplHelper {
    completions: Completions,
    /// Lines already entered of an unfinished input, so completion sees the whole call.
    pending: String,
}

impl Completer for ReplHelper {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, _ctx: &rustyline::Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let offset = self.pending.len();
        let text = format!("{}{line}", self.pending);
        let (start, found) = self.completions.complete(&text, pos + offset);
        // A word never spans lines, so the start is on the current line; guard anyway.
        let Some(start) = start.checked_sub(offset) else {
            return Ok((pos, Vec::new()));
        };
        Ok((start, found.into_iter().map(|c| Pair { display: c.display, replacement: c.replacement }).collect()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incomplete(input: &str) -> bool {
        is_incomplete(&Engine::new(), input)
    }

    #[test]
    fn open_constructs_continue() {
        for input in [
            "let x = [1,",
            "get_cs_persistent_chat_room(#{",
            "f(#{Identity: \"x\",\n  Privacy: \"Open\"",
            "if x {",
            "if x { 1 } else",
            "fn f() {",
            "let x = 1 +",
            "for x in",
            "x.",
            "let x = `multi",
            "let x = \"abc\\",
            "rooms.filter(|r|\n  r.Privacy == \"Secret\"",
            "let a = 1;\nlet b = (",
            "f( // a comment",
            "try {",
        ] {
            assert!(incomplete(input), "{input:?} should continue");
        }
    }

    #[test]
    fn complete_or_wrong_input_is_submitted() {
        for input in [
            "1 + 2",
            "let x = 1;",
            "get_cs_persistent_chat_room()",
            "f(#{a: 1})",
            "let x = )",
            "let x = 1 1",
            "f(1 2",
            "#{a: 1 b: 2}",
            "}",
            "\"abc",
            "let x = \"abc\ndef\"",
            "f(1,,)",
            "let x = 1 1 // comment",
            "",
            "// just a comment",
        ] {
            assert!(!incomplete(input), "{input:?} should be submitted");
        }
    }

    /// Feed lines as the REPL reads them; the inputs submitted, and what is left pending.
    fn feed(lines: &[&str]) -> (Vec<String>, String) {
        let engine = Engine::new();
        let (mut pending, mut submitted) = (String::new(), Vec::new());
        for line in lines {
            if take_line(&engine, &mut pending, line) {
                submitted.push(std::mem::take(&mut pending));
            }
        }
        (submitted, pending)
    }

    #[test]
    fn a_here_string_is_read_to_its_closing_line_not_run_line_by_line() {
        for (open, close) in [("@\"", "\"@"), ("@'", "'@")] {
            let first = format!("$note = {open}");
            let body = "Set-CsPersistentChatRoom -Identity FinanceRoom -Description \"from here-string\"";
            // The body is neither submitted nor run: the input goes on to the closing line.
            let (submitted, pending) = feed(&[&first, body]);
            assert!(submitted.is_empty(), "{submitted:?}");
            assert_eq!(pending, format!("{first}\n{body}\n"));
            // An empty line inside is text; a line that only starts like the closing does not close.
            let (submitted, pending) = feed(&[&first, body, "", &format!(" {close}"), "x", close]);
            assert_eq!(submitted, [format!("{first}\n{body}\n\n {close}\nx\n{close}")], "{pending:?}");
            assert!(crate::powershell::translate(&submitted[0]).is_ok());
            // Piped from the start of a line too.
            let (submitted, _) = feed(&[open, "a", &format!("{close} | Write-Output")]);
            assert_eq!(submitted.len(), 1);
        }
        // Text after the opening on its line is a genuine error, submitted at once to be shown.
        assert_eq!(feed(&["$x = @\" text"]).0.len(), 1);
    }

    #[test]
    fn a_rhai_backtick_string_keeps_its_empty_lines() {
        let (submitted, pending) = feed(&["let x = `multi", "", "line`;"]);
        assert_eq!(submitted, ["let x = `multi\n\nline`;"], "{pending:?}");
        // Outside a string an empty line still submits what there is.
        let (submitted, _) = feed(&["let x = [1,", ""]);
        assert_eq!(submitted, ["let x = [1,\n"]);
        assert_eq!(feed(&["", "  "]).0.len(), 0);
    }

    #[test]
    fn positions() {
        assert!(after_last_char("ab  ", Position::new(1, 3)));
        assert!(!after_last_char("ab  ", Position::new(1, 2)));
        assert!(after_last_char("ab\n\n", Position::new(3, 1)));
        assert!(!after_last_char("ab", Position::NONE));
        assert_eq!(char_at("x\n é`", Position::new(2, 3)), Some('`'));
        assert_eq!(char_at("x", Position::new(5, 1)), None);
    }

    #[test]
    fn repl_commands() {
        assert_eq!(command("exit"), Some(Command::Exit));
        assert_eq!(command("  quit; "), Some(Command::Exit));
        assert_eq!(command("help"), Some(Command::Help(None)));
        assert_eq!(word_as_call(" help; ").as_deref(), Some("help()"));
        assert_eq!(word_as_call("help Get-CsUser").as_deref(), Some("help(\"Get-CsUser\")"));
        assert_eq!(word_as_call("quit").as_deref(), Some("exit()"));
        assert_eq!(word_as_call("help(\"x\")"), None);
        assert_eq!(word_as_call(":rhai Get-CsUser"), None);
        assert_eq!(command("help Get-CsPersistentChatRoom"), Some(Command::Help(Some("Get-CsPersistentChatRoom"))));
        assert_eq!(command("help(\"x\")"), None);
        assert_eq!(command("help + 1"), None);
        assert_eq!(command("exit()"), None);
        assert_eq!(command(":rhai Get-CsService | sort Role"), Some(Command::Translate("Get-CsService | sort Role")));
        assert_eq!(command("let exit = 1"), None);
    }

    #[test]
    fn banner_names_the_version() {
        assert!(banner().starts_with(&format!("pchat {} — help", env!("CARGO_PKG_VERSION"))));
        assert!(banner().ends_with("Ctrl-D to leave"));
    }
}
