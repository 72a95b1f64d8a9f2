//! What a handler sees of one cmdlet call: the store, the bound call, and the shared WhatIf/Confirm
//! machinery. It sits below both the handlers and the engine,
//! and so does the [`Table`] that binds each catalog entry to its handler: the CLI hands the table
//! to the engine, which never names a handler.

use crate::values::text::escape_line;
use std::io::{IsTerminal, Write};
use std::rc::Rc;

use rhai::{Dynamic, Map};

use crate::access::{Grants, UserScope};
use crate::binder::{Bound, Common};
use crate::catalog::Cmdlet;
use crate::errors::{CmdletError, CmdletResult};
use crate::files::{Confinement, Guard};
use crate::store::Store;

/// Runs one cmdlet call: a plain function from the bound arguments to the objects it returns.
pub type Handler = fn(&mut Ctx, &Bound) -> CmdletResult<Vec<Dynamic>>;

/// Renders an object a cmdlet returned as text (the test log's `ToHTML()`); `Err` says why not.
pub type Render = fn(&Map) -> Result<String, String>;

/// One catalog entry and the function that runs it.
pub struct Registration {
    pub cmdlet: &'static Cmdlet,
    pub run: Handler,
}

/// Every cmdlet's handler, in catalog order, and the methods the engine adds to returned objects.
/// A test checks that it holds each catalog entry exactly once.
pub struct Table {
    pub cmdlets: &'static [Registration],
    /// `(method name, renderer)`: `log.ToHTML()` in a runbook calls the renderer with `log`.
    pub methods: &'static [(&'static str, Render)],
}

impl Table {
    /// The registration of a catalog entry, if the table has one.
    pub fn get(&self, cmdlet: &Cmdlet) -> Option<&'static Registration> {
        self.cmdlets.iter().find(|r| r.cmdlet.name == cmdlet.name)
    }

    pub fn has(&self, cmdlet: &Cmdlet) -> bool {
        self.get(cmdlet).is_some()
    }
}

/// Where a session's calls come from, as the audit trail records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `pchat run FILE`: the file, and whether the engine's line numbers are the file's (not for
    /// a `.ps1` runbook, which runs translated).
    Runbook(String, bool),
    /// `pchat -c CODE`.
    Code,
    /// A script read from standard input.
    Stdin,
    /// The interactive shell, with an identifier of its session.
    Repl(String),
}

impl Origin {
    pub fn source(&self, line: Option<usize>) -> String {
        match (self, line) {
            (Origin::Runbook(path, true), Some(line)) => format!("{path}:{line}"),
            (Origin::Runbook(path, _), _) => path.clone(),
            (Origin::Code, _) => "-c".into(),
            (Origin::Stdin, _) => "stdin".into(),
            (Origin::Repl(id), _) => format!("repl:{id}"),
        }
    }
}

/// How confirmation prompts are answered in this session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptMode {
    /// `--yes`: every prompt is answered Yes.
    AssumeYes,
    /// A person at a terminal answers.
    Interactive,
    /// Nobody can answer: a due prompt is a terminating error saying how to proceed.
    Unattended,
}

impl PromptMode {
    pub fn detect(yes: bool) -> PromptMode {
        if yes {
            PromptMode::AssumeYes
        } else if std::io::stdin().is_terminal() {
            PromptMode::Interactive
        } else {
            PromptMode::Unattended
        }
    }
}

/// An object a call changed, with its changed properties' values as JSON objects (None: created
/// or removed).
#[derive(Debug, Clone)]
pub struct Changed {
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// A property value as the audit trail records it: the tree `write_json` must spell (tests).
#[cfg(test)]
fn json(d: &Dynamic) -> serde_json::Value {
    if d.is_unit() {
        serde_json::Value::Null
    } else if let Ok(b) = d.as_bool() {
        serde_json::Value::Bool(b)
    } else if let Ok(i) = d.as_int() {
        serde_json::Value::from(i)
    } else if let Some(items) = d.read_lock::<rhai::Array>() {
        serde_json::Value::Array(items.iter().map(json).collect())
    } else if let Some(map) = d.read_lock::<Map>() {
        serde_json::Value::Object(map.iter().map(|(k, v)| (k.to_string(), json(v))).collect())
    } else {
        serde_json::Value::String(d.to_string())
    }
}

/// `json(d)` written as compact JSON straight into `out`: the same bytes as
/// `json(d).to_string()`, without the tree (one before and one after per changed object).
fn write_json(out: &mut Vec<u8>, d: &Dynamic) {
    // Writing into a Vec cannot fail, and these values always serialise.
    if d.is_unit() {
        out.extend_from_slice(b"null");
    } else if let Ok(b) = d.as_bool() {
        out.extend_from_slice(if b { b"true" } else { b"false" });
    } else if let Ok(i) = d.as_int() {
        let _ = serde_json::to_writer(&mut *out, &i);
    } else if let Some(items) = d.read_lock::<rhai::Array>() {
        out.push(b'[');
        for (n, item) in items.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            write_json(out, item);
        }
        out.push(b']');
    } else if let Some(map) = d.read_lock::<Map>() {
        out.push(b'{');
        for (n, (k, v)) in map.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            write_json_str(out, k.as_str());
            out.push(b':');
            write_json(out, v);
        }
        out.push(b'}');
    } else if let Some(s) = d.read_lock::<rhai::ImmutableString>() {
        write_json_str(out, s.as_str());
    } else {
        let _ = serde_json::to_writer(&mut *out, &d.to_string());
    }
}

/// A JSON string as serde_json spells it; text with nothing to escape (nearly every name and
/// value an audit record holds) without its serializer.
fn write_json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|c| c == b'"' || c == b'\\' || c < 0x20) {
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// A value as `write_json` spells it.
fn json_bytes(d: &Dynamic) -> Vec<u8> {
    let mut out = Vec::new();
    write_json(&mut out, d);
    out
}

/// The before and after objects of (name, before, after) JSON texts, spelt as a JSON map built
/// from the pairs would spell them: in the pairs' order, a repeated name in its first place with
/// its last values.
fn json_objects(pairs: &[(&str, Vec<u8>, Vec<u8>)]) -> (String, String) {
    let mut order: Vec<(&str, usize)> = Vec::with_capacity(pairs.len());
    for (i, (k, _, _)) in pairs.iter().enumerate() {
        match order.iter_mut().find(|(name, _)| name == k) {
            Some(entry) => entry.1 = i,
            None => order.push((k, i)),
        }
    }
    let object = |after: bool| {
        let value = |i: usize| if after { &pairs[i].2 } else { &pairs[i].1 };
        let size = order.iter().map(|(k, i)| k.len() + 4 + value(*i).len()).sum::<usize>();
        let mut out = Vec::with_capacity(2 + size);
        out.push(b'{');
        for (n, (k, i)) in order.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            write_json_str(&mut out, k);
            out.push(b':');
            out.extend_from_slice(value(*i));
        }
        out.push(b'}');
        // serde_json and `write_json` write UTF-8 only.
        String::from_utf8(out).unwrap_or_default()
    };
    (object(false), object(true))
}

/// `json_objects` of named values, written straight into the two objects when no name repeats
/// (one pair per changed object of a 100,000-user grant).
fn pairs_objects(pairs: &[(&str, Dynamic, Dynamic)]) -> (String, String) {
    let distinct = pairs.iter().enumerate().all(|(i, (k, _, _))| pairs[..i].iter().all(|(j, _, _)| j != k));
    if !distinct {
        let pairs: Vec<(&str, Vec<u8>, Vec<u8>)> =
            pairs.iter().map(|(k, b, a)| (*k, json_bytes(b), json_bytes(a))).collect();
        return json_objects(&pairs);
    }
    let object = |after: bool| {
        let mut out = Vec::with_capacity(64);
        out.push(b'{');
        for (n, pair) in pairs.iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            write_json_str(&mut out, pair.0);
            out.push(b':');
            write_json(&mut out, if after { &pair.2 } else { &pair.1 });
        }
        out.push(b'}');
        // serde_json and `write_json` write UTF-8 only.
        String::from_utf8(out).unwrap_or_default()
    };
    (object(false), object(true))
}

/// `pairs_objects` of one name whose values are optional texts (see `Ctx::record_text`).
fn text_objects(name: &str, before: Option<&str>, after: Option<&str>) -> (String, String) {
    let object = |value: Option<&str>| {
        let mut out = Vec::with_capacity(name.len() + value.map_or(4, str::len) + 8);
        out.push(b'{');
        write_json_str(&mut out, name);
        out.push(b':');
        match value {
            Some(value) => write_json_str(&mut out, value),
            None => out.extend_from_slice(b"null"),
        }
        out.push(b'}');
        // `write_json_str` writes UTF-8 only.
        String::from_utf8(out).unwrap_or_default()
    };
    (object(before), object(after))
}

/// "Yes to All" / "No to All" last for the rest of one cmdlet call (all its pipeline items).
#[derive(Debug, Default, Clone, Copy)]
pub struct Sticky(pub Option<bool>);

pub struct Ctx<'a> {
    pub store: &'a Store,
    pub cmdlet: &'static Cmdlet,
    pub common: Common,
    /// `WhatIf: true` or the session's `--what-if`.
    pub what_if: bool,
    pub mode: PromptMode,
    pub sticky: &'a mut Sticky,
    /// Objects this invocation changed, each with the values that changed (written to the audit
    /// trail in the call's transaction).
    pub changed: Vec<Changed>,
    /// Caller variables this invocation sets (`-OutLoggerVariable NAME`), by name; the engine
    /// assigns them in the script's scope (see `engine::OutVariables`).
    pub variables: Vec<(String, Dynamic)>,
    /// The folders this run may open files in (None: `-c` and the REPL, not confined).
    pub confinement: Option<Rc<Confinement>>,
    /// When the run's time budget ends, and its length in seconds (None: no time budget).
    pub deadline: Option<(std::time::Instant, u64)>,
    /// Where files wait for the commit of an atomic run or a plan, or of the call's own
    /// transaction (placed just before it commits: a failed attempt's are dropped, see
    /// engine/invoke.rs). None: written at once.
    pub staging: Option<Rc<crate::files::Staging>>,
    /// What the acting identity may do (checked for the cmdlet before the handler runs).
    pub grants: Rc<Grants>,
    /// The users this call may change (see `check_user`).
    pub user_scope: UserScope,
    /// Non-terminating errors of a call that also returns its objects (written after it).
    pub reported: Vec<CmdletError>,
    /// A confirmation prompt was shown and answered: after a lost race the engine runs the call
    /// again asking again, not alone (engine/invoke.rs `again`).
    pub prompted: bool,
    /// Warnings about the change this attempt makes, shown only once it has committed: an
    /// attempt that loses a race is run again and would say them twice, and one that fails
    /// speaks of a change that never happened (engine/invoke.rs `Effects`).
    pub warnings: Vec<String>,
}

impl<'a> Ctx<'a> {
    /// A warning about the change this call makes, printed once the change has committed.
    pub fn warn(&mut self, line: String) {
        self.warnings.push(line);
    }

    /// Ask before changing `target`. Returns false under WhatIf (after printing what would happen);
    /// prompts when `Confirm: true`, or by default for cmdlets that always confirm.
    /// `should_process` for a change to a pool's data: under WhatIf, a pool whose changes would be
    /// refused (its backup unavailable) fails as the real run would, instead of "What if".
    pub fn should_process_in(&mut self, pool: &crate::store::pools::PoolTarget, target: &str) -> CmdletResult<bool> {
        if self.what_if
            && let Some(why) = &pool.mirror_missing
        {
            return Err(CmdletError::invalid_operation(why.clone()).with_target(target));
        }
        self.should_process(target)
    }

    pub fn should_process(&mut self, target: &str) -> CmdletResult<bool> {
        if self.what_if {
            self.announce_what_if(target);
            return Ok(false);
        }
        let due = match self.common.confirm {
            Some(c) => c,
            None => self.cmdlet.confirm_by_default,
        };
        if due {
            self.ask(target, None)?;
            if self.prompted {
                // Testing: another session changes the object between the answer and the write.
                crate::fault::point("confirmed");
            }
        }
        self.changed.push(Changed { target: target.to_string(), before: None, after: None });
        Ok(true)
    }

    /// The audit record of the object `should_process` just named names it by `identity`, where
    /// the text shown in `What if:` and the prompt says more ("pool\\room (3 messages deleted)"):
    /// a record is found by its object's identity (Get-CsPersistentChatAuditRecord -Target).
    pub fn record_target(&mut self, identity: &str) {
        if let Some(last) = self.changed.last_mut() {
            last.target = identity.to_string();
        }
    }

    /// The object `should_process` just named was already as asked: it gets no audit record
    /// (a no-op is not a change; refusals and failures write none either, as the call fails).
    pub fn unchanged(&mut self) {
        self.changed.pop();
    }

    /// The values of the object just changed (after `should_process`) before and after the
    /// change: the audit keeps the properties whose values differ, and no record at all when
    /// none does (the object is as it was).
    pub fn record_values(&mut self, before: &Map, after: &Map) {
        if self.changed.is_empty() {
            return;
        }
        let mut keys: Vec<&str> = before.keys().map(|k| k.as_str()).collect();
        keys.extend(after.keys().map(|k| k.as_str()).filter(|k| !before.contains_key(*k)));
        // Two values are equal exactly when their JSON texts are: maps write their keys in
        // their (sorted) order, and nothing here writes a float.
        let null = || b"null".to_vec();
        let pairs: Vec<(&str, Vec<u8>, Vec<u8>)> = keys
            .into_iter()
            .map(|k| (k, before.get(k).map_or_else(null, json_bytes), after.get(k).map_or_else(null, json_bytes)))
            .filter(|(_, b, a)| b != a)
            .collect();
        if pairs.is_empty() {
            self.unchanged();
            return;
        }
        self.record_json(&pairs);
    }

    /// `record_values` for a few named values.
    pub fn record_pairs(&mut self, pairs: &[(&str, Dynamic, Dynamic)]) {
        if self.changed.is_empty() {
            return;
        }
        let (before, after) = pairs_objects(pairs);
        if let Some(last) = self.changed.last_mut() {
            last.before = Some(before);
            last.after = Some(after);
        }
    }

    /// Counts of the object just changed, before and after, as given: unlike `record_pairs`, the
    /// two sides may name different counts (a room's messages before; after, its messages and
    /// how many the call removed or replaced).
    pub fn record_counts(&mut self, before: &[(&str, i64)], after: &[(&str, i64)]) {
        let object = |counts: &[(&str, i64)]| {
            serde_json::Value::Object(counts.iter().map(|(k, v)| (k.to_string(), (*v).into())).collect()).to_string()
        };
        if let Some(last) = self.changed.last_mut() {
            last.before = Some(object(before));
            last.after = Some(object(after));
        }
    }

    /// `record_pairs` of one optional text (None: `$null`), written without building values
    /// (a grant to 100,000 users records one per user).
    pub fn record_text(&mut self, name: &str, before: Option<&str>, after: Option<&str>) {
        if let Some(last) = self.changed.last_mut() {
            let (before, after) = text_objects(name, before, after);
            last.before = Some(before);
            last.after = Some(after);
        }
    }

    fn record_json(&mut self, pairs: &[(&str, Vec<u8>, Vec<u8>)]) {
        let Some(last) = self.changed.last_mut() else { return };
        let (before, after) = json_objects(pairs);
        last.before = Some(before);
        last.after = Some(after);
    }

    /// A principal this call is about to change must be inside the user scopes of the roles that
    /// allow the cmdlet: otherwise a per-object `AccessDenied`.
    pub fn check_user(&self, dn: &str) -> CmdletResult<()> {
        if self.user_scope.admits(dn) {
            Ok(())
        } else {
            Err(self.grants.out_of_scope(self.cmdlet, &self.user_scope, dn))
        }
    }

    /// A non-terminating error the call writes while still returning its objects.
    pub fn report(&mut self, e: CmdletError) {
        self.reported.push(e);
    }

    /// The `What if:` line for a target that is not changed.
    pub fn announce_what_if(&self, target: &str) {
        what_if_line(self.cmdlet.name, target);
    }

    /// The rules every file this call reads or writes goes through: the run's confinement and
    /// the store's database files, which are never written.
    pub fn files(&self) -> CmdletResult<Guard> {
        let databases = self
            .store
            .database_files()
            .map_err(|e| CmdletError::invalid_operation(format!("cannot list the store's files: {e:#}")))?;
        let state = self
            .store
            .state_folder()
            .map_err(|e| CmdletError::invalid_operation(format!("cannot find the store's state folder: {e:#}")))?;
        Ok(Guard::new(self.confinement.clone(), &databases)
            .protecting(state)
            .protecting_password_file(self.store.password_file())
            .staged(self.staging.clone()))
    }

    /// Write a file named by a parameter through the file rules; under WhatIf only announce it.
    pub fn write_file(
        &self,
        param: &str,
        path: &str,
        fill: impl FnOnce(&mut std::fs::File) -> CmdletResult<()>,
    ) -> CmdletResult<()> {
        let written =
            self.files()?.write(std::path::Path::new(path), self.what_if, fill).map_err(|e| in_param(param, e))?;
        if !written {
            self.announce_what_if(path);
        }
        Ok(())
    }

    /// For long loops inside a cmdlet (an export of millions of messages): stop once the run's
    /// time budget is spent, as the script itself would be stopped.
    pub fn check_time(&self) -> CmdletResult<()> {
        match self.deadline {
            Some((at, seconds)) if std::time::Instant::now() >= at => Err(CmdletError::invalid_operation(format!(
                "the run used its time budget of {seconds} seconds; raise it with --max-seconds N"
            ))
            .terminating()),
            _ => Ok(()),
        }
    }

    /// Check the files a call will write (each parameter that names one) before it writes any:
    /// a refused -Report must not come after a written archive. No two of them, and none of them
    /// and a file the call reads (`reads`), may be the same file however spelt: the later write
    /// would replace the archive just written or read (an export whose -Report is its -FileName
    /// left only the report, and succeeded).
    pub fn check_writes(&self, b: &crate::binder::Bound, params: &[&str], reads: &[&str]) -> CmdletResult<()> {
        let files = self.files()?;
        let mut seen: Vec<(&str, std::path::PathBuf)> = Vec::new();
        for param in reads {
            // An input that does not resolve is reported by its read; only a clash matters here.
            if let Some(resolved) = b.str(param).and_then(|p| crate::files::resolve(std::path::Path::new(p)).ok()) {
                seen.push((param, resolved));
            }
        }
        for param in params {
            if let Some(path) = b.str(param) {
                let resolved = files.check_write(std::path::Path::new(path)).map_err(|e| in_param(param, e.into()))?;
                if let Some((other, _)) = seen.iter().find(|(_, p)| *p == resolved) {
                    return Err(CmdletError::invalid(format!(
                        "-{param} '{path}' is the file of -{other}; writing it would replace that file: give -{param} another file name"
                    ))
                    .with_target(path));
                }
                seen.push((param, resolved));
            }
        }
        Ok(())
    }

    /// Read a whole text file named by a parameter (a regular file of at most `MAX_INPUT_BYTES`).
    pub fn read_file(&self, param: &str, path: &str) -> CmdletResult<String> {
        self.files()?
            .read_text(std::path::Path::new(path), crate::files::MAX_INPUT_BYTES)
            .map_err(|e| in_param(param, e.into()))
    }

    /// A situational prompt (an in-use policy or add-in): asked unless `Force` or `Confirm: false`.
    /// Call after `should_process`.
    pub fn confirm_situation(&mut self, target: &str, force: bool, situation: &str) -> CmdletResult<()> {
        if force || self.common.confirm == Some(false) || self.what_if {
            return Ok(());
        }
        self.ask(target, Some(situation))
    }

    fn ask(&mut self, target: &str, situation: Option<&str>) -> CmdletResult<()> {
        if let Some(answer) = self.sticky.0 {
            return if answer { Ok(()) } else { Err(self.declined(target)) };
        }
        match self.mode {
            PromptMode::AssumeYes => Ok(()),
            PromptMode::Unattended => {
                let has_force = self.cmdlet.param("Force").is_some();
                // Said in the language the user is writing.
                let pass = match (crate::errors::in_powershell(), has_force) {
                    (true, true) => "add -Confirm:$false -Force",
                    (true, false) => "add -Confirm:$false",
                    (false, true) => "pass Confirm: false, Force: true",
                    (false, false) => "pass Confirm: false",
                };
                Err(CmdletError::invalid_operation(format!(
                    "confirmation is required to perform \"{}\" on target \"{target}\"{} but no one can answer (standard input is not a terminal); {pass}, or run pchat with --yes",
                    self.cmdlet.name,
                    situation.map(|s| format!(" ({s})")).unwrap_or_default()
                ))
                .terminating())
            }
            PromptMode::Interactive => {
                self.prompted = true;
                let mut err = std::io::stderr();
                let _ = writeln!(err, "\nConfirm");
                if let Some(s) = situation {
                    let _ = writeln!(err, "{s}.");
                }
                let _ = writeln!(err, "Are you sure you want to perform this action?");
                let shown = escape_line(target);
                let _ = writeln!(err, "Performing the operation \"{}\" on target \"{shown}\".", self.cmdlet.name);
                loop {
                    let _ =
                        write!(err, "[Y] Yes  [A] Yes to All  [N] No  [L] No to All  [?] Help (default is \"Y\"): ");
                    let _ = err.flush();
                    // Ctrl-C here stops the whole statement (a terminating error), never answers.
                    // End of input (Ctrl-D) answers nothing: the statement stops as for Ctrl-C,
                    // rather than reading the silence as "No" and asking again for the next item.
                    let Some(line) = read_answer()? else {
                        let _ = writeln!(err);
                        return Err(CmdletError::canceled(format!(
                            "no answer to the confirmation for \"{shown}\" (end of input): the statement stops here; nothing more is changed"
                        ))
                        .with_target(target)
                        .terminating());
                    };
                    match line.trim().to_ascii_lowercase().as_str() {
                        "" | "y" | "yes" => return Ok(()),
                        "a" => {
                            self.sticky.0 = Some(true);
                            return Ok(());
                        }
                        "n" | "no" => return Err(self.declined(target)),
                        "l" => {
                            self.sticky.0 = Some(false);
                            return Err(self.declined(target));
                        }
                        // PowerShell's help for the choices; an answer it does not know gets it too,
                        // rather than the same question again without a word.
                        other => {
                            if other != "?" {
                                let _ = writeln!(err, "\"{}\" is not one of the answers.", escape_line(line.trim()));
                            }
                            let _ = writeln!(err, "Y - Continue with only the next step of the operation.");
                            let _ = writeln!(err, "A - Continue with all the steps of the operation.");
                            let _ = writeln!(err, "N - Skip this operation and proceed with the next operation.");
                            let _ = writeln!(err, "L - Skip this operation and all subsequent operations.");
                            continue;
                        }
                    }
                }
            }
        }
    }

    /// Have the engine set the caller's variable `name` to `value` once this call returns.
    pub fn set_variable(&mut self, name: &str, value: Dynamic) {
        self.variables.retain(|(n, _)| n != name);
        self.variables.push((name.to_string(), value));
    }

    fn declined(&self, target: &str) -> CmdletError {
        let mut e = CmdletError::canceled(format!("the operation on \"{target}\" was declined")).with_target(target);
        e.declined = true;
        e
    }
}

/// Read one line of a prompt's answer from standard input, giving up when a signal asks to stop.
/// `Ok(None)`: end of input.
#[cfg(unix)]
pub fn read_answer() -> Result<Option<String>, CmdletError> {
    let mut line = Vec::new();
    loop {
        crate::errors::check_stop(String::new)?;
        let mut fd = libc::pollfd { fd: 0, events: libc::POLLIN, revents: 0 };
        // SAFETY: one valid pollfd; blocks until input or a signal (EINTR, then checked above).
        let ready = unsafe { libc::poll(&mut fd, 1, -1) };
        if ready < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return Ok(None);
        }
        if ready <= 0 {
            continue;
        }
        let mut byte = [0u8; 1];
        // SAFETY: reads one byte into a local buffer.
        let n = unsafe { libc::read(0, byte.as_mut_ptr().cast(), 1) };
        match n {
            0 if line.is_empty() => return Ok(None),
            0 => break,
            n if n < 0 && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => continue,
            n if n < 0 => return Ok(None),
            _ if byte[0] == b'\n' => break,
            _ => line.push(byte[0]),
        }
    }
    Ok(Some(String::from_utf8_lossy(&line).into_owned()))
}

#[cfg(not(unix))]
pub fn read_answer() -> Result<Option<String>, CmdletError> {
    use std::io::BufRead;
    let mut line = String::new();
    if std::io::stdin().lock().read_line(&mut line).unwrap_or(0) == 0 {
        return Ok(None);
    }
    crate::errors::check_stop(String::new)?;
    Ok(Some(line))
}

/// Prefix a file error with the parameter that named the file.
pub fn in_param(param: &str, mut e: CmdletError) -> CmdletError {
    if !e.message.starts_with('-') {
        e.message = format!("-{param}: {}", e.message);
    }
    e
}

/// Say what WhatIf kept from happening (PowerShell's wording), the target shown escaped.
pub fn what_if_line(operation: &str, target: &str) {
    let target = escape_line(target);
    crate::streams::say(&format!("What if: Performing the operation \"{operation}\" on target \"{target}\"."));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct writer spells every kind of value exactly as the JSON tree did (the records'
    /// hashes cover these bytes).
    #[test]
    fn values_are_written_as_the_tree_spells_them() {
        let mut inner = Map::new();
        inner.insert("b".into(), Dynamic::from(2_i64));
        inner.insert("a".into(), Dynamic::from("x\"y\\\u{7}\u{e9}"));
        let values = [
            Dynamic::UNIT,
            Dynamic::from(true),
            Dynamic::from(false),
            Dynamic::from(-42_i64),
            Dynamic::from(i64::MIN),
            Dynamic::from("plain"),
            Dynamic::from("quote \" backslash \\ tab \t nul \u{0} emoji \u{1F600}"),
            Dynamic::from('c'),
            Dynamic::from(1.5_f64),
            Dynamic::from_array(vec![Dynamic::UNIT, Dynamic::from(1_i64), Dynamic::from("s")]),
            Dynamic::from_array(vec![]),
            Dynamic::from(inner.clone()),
            Dynamic::from(Map::new()),
            Dynamic::from(inner).into_shared(),
        ];
        for v in &values {
            assert_eq!(String::from_utf8(json_bytes(v)).unwrap(), json(v).to_string(), "{v:?}");
        }
    }

    /// Before and after are the maps the tree built: a repeated name keeps its first place and
    /// takes its last values.
    #[test]
    fn before_and_after_are_the_maps_the_tree_built() {
        let pairs: Vec<(&str, Dynamic, Dynamic)> = vec![
            ("Name", Dynamic::from("a"), Dynamic::from("b")),
            ("Size", Dynamic::UNIT, Dynamic::from(3_i64)),
            ("Name", Dynamic::from("c"), Dynamic::from("d\"")),
            ("K\u{e9}y\"", Dynamic::from(false), Dynamic::from(true)),
        ];
        for n in 0..=pairs.len() {
            let pairs = &pairs[..n];
            let mut before = serde_json::Map::new();
            let mut after = serde_json::Map::new();
            for (k, b, a) in pairs {
                before.insert(k.to_string(), json(b));
                after.insert(k.to_string(), json(a));
            }
            let bytes: Vec<(&str, Vec<u8>, Vec<u8>)> =
                pairs.iter().map(|(k, b, a)| (*k, json_bytes(b), json_bytes(a))).collect();
            let tree = (serde_json::Value::Object(before).to_string(), serde_json::Value::Object(after).to_string());
            assert_eq!(json_objects(&bytes), tree);
            // Also when written straight from the values (distinct names) or through the texts.
            assert_eq!(pairs_objects(pairs), tree);
            let distinct: Vec<_> = pairs.iter().filter(|p| p.1.to_string() != "c").cloned().collect();
            let bytes: Vec<(&str, Vec<u8>, Vec<u8>)> =
                distinct.iter().map(|(k, b, a)| (*k, json_bytes(b), json_bytes(a))).collect();
            assert_eq!(pairs_objects(&distinct), json_objects(&bytes));
        }
        for name in ["PersistentChatPolicy", "K\u{e9}y\""] {
            for (before, after) in [(None, Some("x")), (Some("a\"b\\\u{1}"), None), (Some(""), Some("\u{1F600}"))] {
                let pairs = [(name, crate::objects::opt(before), crate::objects::opt(after))];
                assert_eq!(text_objects(name, before, after), pairs_objects(&pairs));
            }
        }
    }
}
