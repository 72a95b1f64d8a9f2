//! Tab completion as pure functions of (text, cursor), all from the catalog; the rustyline glue
//! in `mod.rs` only adapts the result.
//!
//! The text before the cursor is scanned with a small Rhai-aware tokenizer (strings, comments,
//! `#{`, brackets) to find where the cursor is: a free word, a key of a cmdlet's parameter map,
//! the value after `Key:`, or the string argument of `help(`.

use crate::catalog::{COMMON_PARAMS, Cmdlet, Param, SHOULD_PROCESS_PARAMS, Ty};
use crate::values::text::starts_with_ci;

/// Functions offered besides the cmdlets.
pub const BUILTINS: &[&str] = &["help", "last_errors", "clear_errors", "get_credential", "print", "cmd"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// Shown in the list of choices.
    pub display: String,
    /// Inserted in place of the word being completed.
    pub replacement: String,
}

impl Candidate {
    fn new(display: impl Into<String>, replacement: impl Into<String>) -> Self {
        Candidate { display: display.into(), replacement: replacement.into() }
    }
}

/// What completion knows about the session: the available cmdlets and the REPL's variables.
pub struct Completions {
    cmdlets: Vec<(String, &'static Cmdlet)>,
    pub variables: Vec<String>,
}

impl Completions {
    pub fn new(cmdlets: impl IntoIterator<Item = &'static Cmdlet>) -> Self {
        Completions { cmdlets: cmdlets.into_iter().map(|c| (c.rhai_name(), c)).collect(), variables: Vec::new() }
    }

    fn cmdlet(&self, rhai_name: &str) -> Option<&'static Cmdlet> {
        self.cmdlets.iter().find(|(n, _)| n == rhai_name).map(|(_, c)| *c)
    }

    /// The cmdlet named in `cmd("Name", ...)`: PowerShell or Rhai name, any case.
    fn cmdlet_by_any_name(&self, name: &str) -> Option<&'static Cmdlet> {
        let name = name.trim();
        self.cmdlets
            .iter()
            .find(|(n, c)| c.name.eq_ignore_ascii_case(name) || n.eq_ignore_ascii_case(name))
            .map(|(_, c)| *c)
    }

    /// Candidates for the word ending at byte offset `pos` of `line`, and the byte offset where
    /// the replaced word starts.
    pub fn complete(&self, line: &str, pos: usize) -> (usize, Vec<Candidate>) {
        let Some(text) = line.get(..pos) else {
            return (pos, Vec::new());
        };
        if crate::powershell::looks_like_powershell(text) {
            return self.complete_powershell(text);
        }
        let scan = scan(text);
        if scan.in_comment {
            return (pos, Vec::new());
        }
        if let Some(string) = &scan.open_string {
            return self.complete_in_string(text, &scan, string);
        }

        // The identifier being typed (possibly empty) and the tokens before it.
        let word_start =
            text.len() - text.chars().rev().take_while(|c| is_ident_char(*c)).map(char::len_utf8).sum::<usize>();
        let word = &text[word_start..];
        let before: Vec<&Tok> = scan.tokens.iter().filter(|t| t.end <= word_start).collect();

        if let Some(cmdlet) = self.map_cmdlet(&scan) {
            match before.last().map(|t| &t.kind) {
                Some(TokKind::Open(Frame::Map) | TokKind::Punct(',')) => {
                    return (word_start, key_candidates(cmdlet, &scan.frames[scan.frames.len() - 1].keys, word));
                }
                Some(TokKind::Punct(':')) => {
                    if let Some(p) = before
                        .len()
                        .checked_sub(2)
                        .and_then(|i| key_name(&before[i].kind))
                        .and_then(|k| find_param(cmdlet, k))
                    {
                        let values = value_candidates(p, word, false);
                        if !values.is_empty() || matches!(p.ty, Ty::Bool | Ty::Switch | Ty::Enum(_)) {
                            return (word_start, values);
                        }
                    }
                }
                _ => {}
            }
        }

        // A free word: a PowerShell name when it looks like one (`Get-CsPer`), else Rhai names.
        let dashed_start = text.len()
            - text.chars().rev().take_while(|c| is_ident_char(*c) || *c == '-').map(char::len_utf8).sum::<usize>();
        let dashed = text[dashed_start..].trim_start_matches('-');
        let dashed_start = text.len() - dashed.len();
        let after_dot = matches!(before.last().map(|t| &t.kind), Some(TokKind::Punct('.')));
        if !after_dot && (dashed.contains('-') || dashed.starts_with(|c: char| c.is_ascii_uppercase())) {
            let mut found = self.powershell_names(dashed, "");
            found.extend(self.variable_candidates(dashed));
            if !found.is_empty() {
                return (dashed_start, found);
            }
        }
        let mut found: Vec<Candidate> = Vec::new();
        let mut names: Vec<&str> = self.cmdlets.iter().map(|(n, _)| n.as_str()).collect();
        if !after_dot {
            names.extend(BUILTINS);
        }
        names.sort_unstable();
        names.dedup();
        found.extend(names.into_iter().filter(|n| starts_with_ci(n, word)).map(|n| Candidate::new(n, n)));
        if !after_dot {
            found.extend(self.variable_candidates(word));
        }
        (word_start, found)
    }

    /// PowerShell form: command names at the start of a pipeline element, `-Par<Tab>` parameter
    /// names of the element's command, enum values after `-Param `.
    fn complete_powershell(&self, text: &str) -> (usize, Vec<Candidate>) {
        let word_start =
            text.rfind(|c: char| c.is_whitespace() || matches!(c, '|' | ';' | '(' | '{' | ',')).map_or(0, |i| i + 1);
        let word = &text[word_start..];
        let element_start = text[..word_start].rfind(['|', ';', '{', '(']).map_or(0, |i| i + 1);
        let element: Vec<&str> = text[element_start..word_start].split_whitespace().collect();
        let Some(command) = element.first() else {
            let mut found = self.powershell_names(word, "");
            let mut extra: Vec<&str> = crate::powershell::utility_names().filter(|n| starts_with_ci(n, word)).collect();
            extra.sort_unstable();
            found.extend(extra.into_iter().map(|n| Candidate::new(n, n)));
            return (word_start, found);
        };
        let cmdlet = self.cmdlets.iter().map(|(_, c)| *c).find(|c| c.name.eq_ignore_ascii_case(command));
        if let Some(typed) = word.strip_prefix('-') {
            let names: Vec<&str> = match cmdlet {
                Some(c) => all_params(c).map(|p| p.name).collect(),
                None => crate::powershell::utility_params(command),
            };
            let found = names
                .into_iter()
                .filter(|n| starts_with_ci(n, typed))
                .map(|n| Candidate::new(format!("-{n}"), format!("-{n}")))
                .collect();
            return (word_start, found);
        }
        if let (Some(c), Some(prev)) = (cmdlet, element.last().and_then(|w| w.strip_prefix('-')))
            && let Some(p) = find_param(c, prev)
            && let Ty::Enum(values) = p.ty
        {
            let found = values.iter().filter(|v| starts_with_ci(v, word)).map(|v| Candidate::new(*v, *v)).collect();
            return (word_start, found);
        }
        (word_start, Vec::new())
    }

    fn complete_in_string(&self, text: &str, scan: &Scan, string: &OpenString) -> (usize, Vec<Candidate>) {
        let typed = &text[string.start + 1..];
        if string.delim != '"' || typed.contains(['\\', '\n']) {
            return (text.len(), Vec::new());
        }
        let value_start = string.start + 1;
        let before = &scan.tokens[..string.token_index];
        let top = scan.frames.last();
        // help("Get-CsPer or cmd("Get-CsPer
        if let (Some(top), Some(Tok { kind: TokKind::Open(Frame::Paren), .. })) = (top, before.last())
            && top.kind == Frame::Paren
            && matches!(top.func.as_deref(), Some("help" | "cmd"))
        {
            let use_rhai =
                typed.contains('_') || typed.starts_with(|c: char| c.is_ascii_lowercase()) && !typed.contains('-');
            let found = if use_rhai {
                let mut names: Vec<&str> = self.cmdlets.iter().map(|(n, _)| n.as_str()).collect();
                names.sort_unstable();
                names
                    .into_iter()
                    .filter(|n| starts_with_ci(n, typed))
                    .map(|n| Candidate::new(n, format!("{n}\"")))
                    .collect()
            } else {
                self.powershell_names(typed, "\"")
            };
            return (value_start, found);
        }
        // get_cs_x(#{Privacy: "Se
        if let Some(cmdlet) = self.map_cmdlet(scan)
            && let [.., key, Tok { kind: TokKind::Punct(':'), .. }] = before
            && let Some(p) = key_name(&key.kind).and_then(|k| find_param(cmdlet, k))
        {
            return (value_start, value_candidates(p, typed, true));
        }
        (text.len(), Vec::new())
    }

    /// The cmdlet whose parameter map the cursor is directly in: the innermost open bracket is
    /// `#{` and the one around it is the `(` of a call to an available cmdlet (or of the
    /// dispatcher `cmd("Name", ...)`).
    fn map_cmdlet(&self, scan: &Scan) -> Option<&'static Cmdlet> {
        let [.., call, map] = scan.frames.as_slice() else {
            return None;
        };
        if map.kind != Frame::Map || call.kind != Frame::Paren {
            return None;
        }
        match call.func.as_deref()? {
            "cmd" => match scan.tokens.get(call.open_token + 1..call.open_token + 3) {
                Some([name, comma]) if comma.kind == TokKind::Punct(',') => match &name.kind {
                    TokKind::Str(name) => self.cmdlet_by_any_name(name),
                    _ => None,
                },
                _ => None,
            },
            name => self.cmdlet(name),
        }
    }

    fn powershell_names(&self, prefix: &str, suffix: &str) -> Vec<Candidate> {
        let mut names: Vec<&str> =
            self.cmdlets.iter().map(|(_, c)| c.name).filter(|n| starts_with_ci(n, prefix)).collect();
        names.sort_unstable();
        names.into_iter().map(|n| Candidate::new(n, format!("{n}{suffix}"))).collect()
    }

    fn variable_candidates(&self, prefix: &str) -> Vec<Candidate> {
        let mut vars: Vec<&String> = self.variables.iter().filter(|v| starts_with_ci(v, prefix)).collect();
        vars.sort_unstable();
        vars.dedup();
        vars.into_iter().map(|v| Candidate::new(v.as_str(), v.as_str())).collect()
    }
}

/// Every parameter a cmdlet's map accepts: its own, then WhatIf/Confirm, then the common ones.
fn all_params(cmdlet: &Cmdlet) -> impl Iterator<Item = &'static Param> {
    let extra: &'static [Param] = if cmdlet.should_process { SHOULD_PROCESS_PARAMS } else { &[] };
    cmdlet.params.iter().chain(extra).chain(COMMON_PARAMS)
}

/// Keys compare as the binder compares them: case-insensitively, ignoring underscores.
fn normalize(key: &str) -> String {
    key.chars().filter(|c| *c != '_').map(|c| c.to_ascii_lowercase()).collect()
}

fn names_param(p: &Param, key: &str) -> bool {
    let key = normalize(key);
    normalize(p.name) == key || p.aliases.iter().any(|a| normalize(a) == key)
}

/// The parameter a written key means: exact name or alias, else a unique prefix.
fn find_param(cmdlet: &Cmdlet, key: &str) -> Option<&'static Param> {
    if let Some(p) = all_params(cmdlet).find(|p| names_param(p, key)) {
        return Some(p);
    }
    let key = normalize(key);
    let mut matches = all_params(cmdlet).filter(|p| normalize(p.name).starts_with(&key));
    match (matches.next(), matches.next()) {
        (Some(p), None) => Some(p),
        _ => None,
    }
}

fn key_candidates(cmdlet: &Cmdlet, present: &[String], typed: &str) -> Vec<Candidate> {
    let typed_norm = normalize(typed);
    all_params(cmdlet)
        .filter(|p| normalize(p.name).starts_with(&typed_norm))
        .filter(|p| !present.iter().any(|k| names_param(p, k)))
        .map(|p| Candidate::new(p.name, format!("{}: ", p.name)))
        .collect()
}

/// Values for `Key: ` (`in_string`: the cursor is after an opening quote, so the candidate
/// ends the string; otherwise an enum value comes with both quotes).
fn value_candidates(p: &Param, typed: &str, in_string: bool) -> Vec<Candidate> {
    match p.ty {
        Ty::Enum(values) => values
            .iter()
            .filter(|v| starts_with_ci(v, typed.trim_start_matches('"')))
            .map(|v| Candidate::new(*v, if in_string { format!("{v}\"") } else { format!("\"{v}\"") }))
            .collect(),
        Ty::Bool | Ty::Switch if !in_string => {
            ["true", "false"].iter().filter(|v| starts_with_ci(v, typed)).map(|v| Candidate::new(*v, *v)).collect()
        }
        _ => Vec::new(),
    }
}

fn key_name(kind: &TokKind) -> Option<&str> {
    match kind {
        TokKind::Ident(s) | TokKind::Str(s) => Some(s),
        _ => None,
    }
}

fn is_ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

// ---------------------------------------------------------------------------------------------
// A tolerant scanner for the text before the cursor.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Paren,
    Map,
    Block,
    Bracket,
}

#[derive(Debug, Clone, PartialEq)]
enum TokKind {
    Ident(String),
    /// A complete string literal (its raw contents).
    Str(String),
    Open(Frame),
    Close,
    Punct(char),
    Other,
}

#[derive(Debug, Clone)]
struct Tok {
    kind: TokKind,
    end: usize,
}

#[derive(Debug)]
struct OpenFrame {
    kind: Frame,
    /// For `(`: the identifier just before it (the function called).
    func: Option<String>,
    /// For `#{`: keys written so far (`Key:` at this level).
    keys: Vec<String>,
    /// Index of the opening token in `Scan::tokens`.
    open_token: usize,
}

#[derive(Debug)]
struct OpenString {
    /// Byte offset of the opening quote.
    start: usize,
    delim: char,
    /// Number of tokens before the string.
    token_index: usize,
}

#[derive(Debug, Default)]
struct Scan {
    tokens: Vec<Tok>,
    frames: Vec<OpenFrame>,
    open_string: Option<OpenString>,
    in_comment: bool,
}

fn scan(text: &str) -> Scan {
    let mut s = Scan::default();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map(|(_, c)| *c);
    let offset = |i: usize| chars.get(i).map(|(o, _)| *o).unwrap_or(text.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i].1;
        let start = offset(i);
        match c {
            _ if c.is_whitespace() => {
                i += 1;
                continue;
            }
            '/' if at(i + 1) == Some('/') => {
                while i < chars.len() && chars[i].1 != '\n' {
                    i += 1;
                }
                if i == chars.len() {
                    s.in_comment = true;
                }
                continue;
            }
            '/' if at(i + 1) == Some('*') => {
                // Rhai block comments nest.
                let mut depth = 0;
                while i < chars.len() {
                    if chars[i].1 == '/' && at(i + 1) == Some('*') {
                        depth += 1;
                        i += 2;
                    } else if chars[i].1 == '*' && at(i + 1) == Some('/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
                if depth > 0 {
                    s.in_comment = true;
                }
                continue;
            }
            '"' | '`' | '\'' => {
                let mut j = i + 1;
                let mut closed = false;
                while j < chars.len() {
                    match chars[j].1 {
                        '\\' if c != '`' => j += 2,
                        ch if ch == c => {
                            closed = true;
                            break;
                        }
                        _ => j += 1,
                    }
                }
                if !closed {
                    s.open_string = Some(OpenString { start, delim: c, token_index: s.tokens.len() });
                    return s;
                }
                let contents = text[offset(i + 1)..offset(j)].to_string();
                i = j + 1;
                s.tokens.push(Tok { kind: TokKind::Str(contents), end: offset(i) });
                continue;
            }
            _ if c.is_ascii_alphabetic() || c == '_' => {
                let mut j = i;
                while j < chars.len() && is_ident_char(chars[j].1) {
                    j += 1;
                }
                s.tokens.push(Tok { kind: TokKind::Ident(text[start..offset(j)].to_string()), end: offset(j) });
                i = j;
                continue;
            }
            _ if c.is_ascii_digit() => {
                let mut j = i;
                while j < chars.len()
                    && (is_ident_char(chars[j].1) || chars[j].1 == '.' && at(j + 1).is_some_and(|d| d.is_ascii_digit()))
                {
                    j += 1;
                }
                s.tokens.push(Tok { kind: TokKind::Other, end: offset(j) });
                i = j;
                continue;
            }
            '#' if at(i + 1) == Some('{') => {
                s.frames.push(OpenFrame { kind: Frame::Map, func: None, keys: Vec::new(), open_token: s.tokens.len() });
                i += 2;
                s.tokens.push(Tok { kind: TokKind::Open(Frame::Map), end: offset(i) });
                continue;
            }
            '(' | '{' | '[' => {
                let kind = match c {
                    '(' => Frame::Paren,
                    '{' => Frame::Block,
                    _ => Frame::Bracket,
                };
                let func = match (kind, s.tokens.last()) {
                    (Frame::Paren, Some(Tok { kind: TokKind::Ident(name), .. })) => Some(name.clone()),
                    _ => None,
                };
                s.frames.push(OpenFrame { kind, func, keys: Vec::new(), open_token: s.tokens.len() });
                s.tokens.push(Tok { kind: TokKind::Open(kind), end: offset(i + 1) });
            }
            ')' | '}' | ']' => {
                s.frames.pop();
                s.tokens.push(Tok { kind: TokKind::Close, end: offset(i + 1) });
            }
            ':' if at(i + 1) == Some(':') => {
                // `::` (namespace path), not a key separator.
                i += 2;
                s.tokens.push(Tok { kind: TokKind::Other, end: offset(i) });
                continue;
            }
            ':' => {
                if let (Some(frame), Some(key)) = (s.frames.last_mut(), s.tokens.last().and_then(|t| key_name(&t.kind)))
                    && frame.kind == Frame::Map
                {
                    frame.keys.push(key.to_string());
                }
                s.tokens.push(Tok { kind: TokKind::Punct(':'), end: offset(i + 1) });
            }
            ',' | '.' => s.tokens.push(Tok { kind: TokKind::Punct(c), end: offset(i + 1) }),
            _ => s.tokens.push(Tok { kind: TokKind::Other, end: offset(i + 1) }),
        }
        i += 1;
    }
    s
}

#[cfg(test)]
mod powershell_tests {
    use super::*;
    use crate::catalog;

    fn complete(line: &str) -> Vec<String> {
        let c =
            Completions::new(catalog::all().iter().filter(|c| c.name.contains("Service") || c.name.contains("Room")));
        c.complete(line, line.len()).1.into_iter().map(|c| c.replacement).collect()
    }

    #[test]
    fn powershell_form_completes_parameters_and_values() {
        assert_eq!(complete("Get-CsPersistentChatRoom -Per"), vec!["-PersistentChatPoolFqdn"]);
        assert_eq!(
            complete("Get-CsService | Where-Object {$_} | Get-CsPersistentChatRoom -Privacy Se"),
            vec!["Secret"]
        );
        assert_eq!(complete("Get-CsService | Sort-Object -Desc"), vec!["-Descending"]);
        assert!(complete("Get-CsService | Sel").contains(&"Select-Object".to_string()));
        assert_eq!(complete("Get-CsSer"), vec!["Get-CsService"]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{self, Noun, ObjType, Output, param};

    static ROOM: Cmdlet = Cmdlet {
        name: "Get-CsPersistentChatRoom",
        noun: Noun::Room,
        synopsis: "Rooms.",
        sets: &[],
        params: &[
            param("Identity", Ty::String, "").pos(0),
            param("Privacy", Ty::Enum(&["Open", "Secret", "Closed"]), ""),
            param("PersistentChatPoolFqdn", Ty::Fqdn, ""),
            param("Disabled", Ty::Bool, ""),
            param("AsObject", Ty::Switch, ""),
        ],
        exclusive: &[],
        should_process: false,
        confirm_by_default: false,
        output: Output::Collection(ObjType::ChatRoom),
        examples: &[],
        extension: false,
    };
    static SET_ROOM: Cmdlet =
        Cmdlet { name: "Set-CsPersistentChatRoom", should_process: true, output: Output::Nothing, ..ROOM };
    static STATE: Cmdlet = Cmdlet {
        name: "Set-CsPersistentChatState",
        noun: Noun::State,
        params: &[param("PoolState", Ty::Enum(&["Normal", "FailedOver"]), "")],
        should_process: true,
        ..ROOM
    };

    fn completions() -> Completions {
        let list: Vec<&'static Cmdlet> = vec![&ROOM, &SET_ROOM, &STATE];
        let mut c = Completions::new(list);
        c.variables = vec!["rooms".into(), "ARGS".into(), "result".into()];
        c
    }

    /// Complete at the `|` marker (or at the end) and return (start, replacements).
    fn at(input: &str) -> (usize, Vec<String>) {
        let (line, pos) = match input.find('|') {
            Some(p) => (input.replacen('|', "", 1), p),
            None => (input.to_string(), input.len()),
        };
        let (start, found) = completions().complete(&line, pos);
        (start, found.into_iter().map(|c| c.replacement).collect())
    }

    fn replacements(input: &str) -> Vec<String> {
        at(input).1
    }

    #[test]
    fn cmdlet_names_builtins_and_variables() {
        assert_eq!(at("get_cs_per"), (0, vec!["get_cs_persistent_chat_room".to_string()]));
        assert_eq!(replacements("let x = set_cs"), ["set_cs_persistent_chat_room", "set_cs_persistent_chat_state"]);
        assert_eq!(replacements("last"), ["last_errors"]);
        assert_eq!(replacements("ro"), ["rooms"]);
        assert_eq!(replacements("re"), ["result"]);
        assert_eq!(at("x + GET_CS_PER").0, 4);
        // Rhai names match case-insensitively, PowerShell names when the word starts uppercase.
        assert_eq!(replacements("Get-CsPer"), ["Get-CsPersistentChatRoom"]);
        assert_eq!(at("x = get-cspers"), (4, vec!["Get-CsPersistentChatRoom".to_string()]));
        assert_eq!(replacements("Set"), ["Set-CsPersistentChatRoom", "Set-CsPersistentChatState"]);
        assert_eq!(replacements("AR"), ["ARGS"]);
        // A method call offers cmdlets only.
        assert_eq!(replacements("rooms.set_cs_persistent_chat_r"), ["set_cs_persistent_chat_room"]);
        assert!(replacements("rooms.").iter().all(|r| r.contains("_cs_")));
        // Nothing inside a comment or an unrelated string.
        assert!(replacements("// get_cs").is_empty());
        assert!(replacements("print(\"get_cs").is_empty());
    }

    #[test]
    fn empty_word_offers_everything() {
        let all = replacements("");
        assert!(all.contains(&"help".to_string()));
        assert!(all.contains(&"get_cs_persistent_chat_room".to_string()));
        assert!(all.contains(&"rooms".to_string()));
    }

    #[test]
    fn parameter_keys() {
        let (start, keys) = at("get_cs_persistent_chat_room(#{");
        assert_eq!(start, 30);
        assert_eq!(keys[..5], ["Identity: ", "Privacy: ", "PersistentChatPoolFqdn: ", "Disabled: ", "AsObject: "]);
        assert!(keys.contains(&"ErrorAction: ".to_string()));
        assert!(!keys.contains(&"WhatIf: ".to_string()), "not a ShouldProcess cmdlet");
        assert_eq!(
            replacements("get_cs_persistent_chat_room(#{p"),
            ["Privacy: ", "PersistentChatPoolFqdn: ", "PipelineVariable: "]
        );
        assert_eq!(replacements("set_cs_persistent_chat_room(\"x\", #{ Wh"), ["WhatIf: "]);
        assert_eq!(replacements("set_cs_persistent_chat_room(#{conf"), ["Confirm: "]);
        // Keys already present are skipped, whatever their spelling.
        assert_eq!(
            replacements("get_cs_persistent_chat_room(#{privacy: \"Open\", persistent_chat_pool_fqdn: \"x\", P"),
            ["PipelineVariable: "]
        );
        assert_eq!(replacements("get_cs_persistent_chat_room(#{ea: \"Stop\", Error"), ["ErrorVariable: "]);
        // Across lines and after nested values.
        assert_eq!(replacements("get_cs_persistent_chat_room(#{\n  Identity: [1, #{a: 2}],\n  Dis"), ["Disabled: "]);
        // Method-call form.
        assert_eq!(replacements("rooms.set_cs_persistent_chat_room(#{Dis"), ["Disabled: "]);
        // Not in a map that is not a direct cmdlet argument, or of an unknown function.
        assert!(replacements("get_cs_persistent_chat_room([#{Pri").iter().all(|r| !r.ends_with(": ")));
        assert!(replacements("foo(#{Pri").iter().all(|r| !r.ends_with(": ")));
        assert!(replacements("let m = #{Pri").iter().all(|r| !r.ends_with(": ")));
    }

    #[test]
    fn enum_and_bool_values() {
        assert_eq!(at("get_cs_persistent_chat_room(#{Privacy: \"Se"), (40, vec!["Secret\"".to_string()]));
        assert_eq!(replacements("get_cs_persistent_chat_room(#{privacy: \""), ["Open\"", "Secret\"", "Closed\""]);
        assert_eq!(replacements("set_cs_persistent_chat_state(#{PoolState: \"f"), ["FailedOver\""]);
        assert_eq!(replacements("set_cs_persistent_chat_state(#{Pool: \"f"), ["FailedOver\""], "unique prefix");
        assert_eq!(replacements("get_cs_persistent_chat_room(#{ErrorAction: \"S"), ["Stop\"", "SilentlyContinue\""]);
        assert_eq!(replacements("get_cs_persistent_chat_room(#{Privacy: "), ["\"Open\"", "\"Secret\"", "\"Closed\""]);
        assert_eq!(replacements("get_cs_persistent_chat_room(#{Disabled: "), ["true", "false"]);
        assert_eq!(replacements("get_cs_persistent_chat_room(#{AsObject: t"), ["true"]);
        assert_eq!(replacements("set_cs_persistent_chat_room(#{WhatIf: f"), ["false"]);
        // A string parameter's value falls back to names and variables.
        assert_eq!(replacements("get_cs_persistent_chat_room(#{Identity: ro"), ["rooms"]);
        assert!(replacements("get_cs_persistent_chat_room(#{Identity: \"x").is_empty());
    }

    #[test]
    fn cmd_dispatcher() {
        assert_eq!(replacements("cmd(\"Set-CsPersistentChatS"), ["Set-CsPersistentChatState\""]);
        assert_eq!(replacements("cmd(\"set-cspersistentchatstate\", #{Pool"), ["PoolState: "]);
        assert_eq!(replacements("cmd(\"set_cs_persistent_chat_state\", #{PoolState: \"N"), ["Normal\""]);
        assert!(replacements("cmd(\"NoSuchCmdlet\", #{Pool").iter().all(|r| !r.ends_with(": ")));
        assert!(replacements("cmd(x, #{Pool").iter().all(|r| !r.ends_with(": ")));
    }

    #[test]
    fn help_argument() {
        assert_eq!(at("help(\"Get-CsPersistentChatR"), (6, vec!["Get-CsPersistentChatRoom\"".to_string()]));
        assert_eq!(replacements("help(\"set_cs"), ["set_cs_persistent_chat_room\"", "set_cs_persistent_chat_state\""]);
        assert_eq!(replacements("help(\"set-cs"), ["Set-CsPersistentChatRoom\"", "Set-CsPersistentChatState\""]);
        assert_eq!(replacements("help(\"").len(), 3);
    }

    #[test]
    fn cursor_in_the_middle_and_odd_input() {
        assert_eq!(at("get_cs_per| + 1"), (0, vec!["get_cs_persistent_chat_room".to_string()]));
        // Non-ASCII text and unbalanced closers do not panic.
        assert!(replacements("\"é\" + )) ]} get_cs_p").contains(&"get_cs_persistent_chat_room".to_string()));
        assert!(completions().complete("é", 1).1.is_empty());
        assert!(replacements("/* open comment get").is_empty());
        assert!(replacements("a::b").is_empty());
    }

    #[test]
    fn real_catalog_entries_complete() {
        let list: Vec<&'static Cmdlet> = catalog::all().iter().collect();
        let c = Completions::new(list);
        for cmdlet in catalog::all() {
            let name = cmdlet.rhai_name();
            let (_, found) = c.complete(&format!("{name}(#{{"), name.len() + 3);
            for p in cmdlet.params {
                assert!(found.iter().any(|f| f.display == p.name), "{} lacks {}", cmdlet.name, p.name);
            }
            assert_eq!(found.iter().any(|f| f.display == "WhatIf"), cmdlet.should_process);
        }
    }
}
