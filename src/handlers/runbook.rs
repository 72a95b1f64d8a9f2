//! Get-/Set-CsPersistentChatRunbookConfiguration (pchat extension): the folders runbooks may open
//! besides their own and the store's. Confined runs read the list when they start.

use std::path::Path;

use rhai::Dynamic;

use crate::binder::{Bound, ListModifier};
use crate::catalog::ObjType;
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::objects::{list, object, text};

const GLOBAL: &str = "Global";

fn check_identity(b: &Bound) -> CmdletResult<()> {
    match b.str("Identity").map(str::trim) {
        None => Ok(()),
        Some(i) if i.eq_ignore_ascii_case(GLOBAL) => Ok(()),
        Some(other) => Err(CmdletError::not_found(format!(
            "-Identity: no runbook configuration '{other}'; there is one, 'Global'"
        ))
        .with_target(other)),
    }
}

pub fn get(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    check_identity(b)?;
    let folders = ctx.store.runbook_allowed_folders()?;
    Ok(vec![object(
        ObjType::RunbookConfiguration,
        [("Identity", text(GLOBAL.to_string())), ("AllowedFolders", list(folders))],
    )])
}

/// An absolute path to an existing folder, resolved as confinement compares it.
fn allowed_folder(raw: &str) -> CmdletResult<String> {
    let bad = |why: String| CmdletError::invalid(format!("-AllowedFolders: '{raw}' {why}")).with_target(raw);
    let path = Path::new(raw.trim());
    if !path.is_absolute() {
        return Err(bad("is not an absolute path; give the folder from the root, e.g. '/srv/exports'".into()));
    }
    let resolved = crate::files::resolve(path).map_err(|e| bad(format!("cannot be resolved: {e}")))?;
    match std::fs::metadata(&resolved) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(bad("is not a folder".into())),
        Err(e) => return Err(bad(format!("is not an existing folder ({e})"))),
    }
    resolved.to_str().map(str::to_string).ok_or_else(|| bad("is not valid UTF-8".into()))
}

/// A removal matches a stored folder as given or resolved (a folder since deleted still goes).
fn removed(stored: &str, m: &ListModifier) -> bool {
    m.remove.iter().any(|r| {
        let r = r.trim();
        r == stored || crate::files::resolve(Path::new(r)).is_ok_and(|p| p.to_str() == Some(stored))
    })
}

pub fn set(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    check_identity(b)?;
    let Some(m) = b.modifier("AllowedFolders") else {
        return Ok(Vec::new());
    };
    let current = ctx.store.runbook_allowed_folders()?;
    if let Some(line) = m.empty_replace_warning(ctx.cmdlet.name, "AllowedFolders", GLOBAL, current.len()) {
        ctx.warn(line);
    }
    // Clear and Replace start from nothing; Add and Remove from the current list.
    let mut after: Vec<String> = if m.clear || !m.replace.is_empty() {
        Vec::new()
    } else {
        current.iter().filter(|f| !removed(f, m)).cloned().collect()
    };
    for raw in m.replace.iter().chain(&m.add) {
        let folder = allowed_folder(raw)?;
        if !after.contains(&folder) {
            after.push(folder);
        }
    }
    after.sort();
    if after != current && ctx.should_process(GLOBAL)? {
        ctx.store.set_runbook_allowed_folders(&after)?;
        ctx.record_pairs(&[("AllowedFolders", list(current.clone()), list(after.clone()))]);
    }
    Ok(Vec::new())
}
