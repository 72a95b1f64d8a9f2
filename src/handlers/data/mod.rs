//! Export-/Import-CsPersistentChatData: the pools an SQL instance serves, the
//! archive format, and the progress bar both show on a terminal.

mod elements;
pub mod export;
mod format;
pub mod import;

use std::io::{IsTerminal, Write};

use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::store::Store;
use crate::store::pools::PoolTarget;
use crate::store::topology::PoolRow;

/// The Persistent Chat pools whose data the instance's database serves now: its primary when
/// Normal, its backup when failed over. NotFound for an instance the topology does not have.
pub fn instance_pools(store: &Store, instance: &str) -> CmdletResult<(String, Vec<(PoolRow, PoolTarget)>)> {
    let known = store.sql_instances()?;
    let Some(spec) = known.iter().find(|s| s.identity.eq_ignore_ascii_case(instance.trim())) else {
        let names: Vec<&str> = known.iter().map(|s| s.identity.as_str()).collect();
        return Err(CmdletError::not_found(format!(
            "-DBInstance: no SQL instance '{instance}' in the topology (known: {})",
            if names.is_empty() { "none".to_string() } else { names.join(", ") }
        ))
        .with_target(instance));
    };
    let mut out = Vec::new();
    for p in store.pools()?.into_iter().filter(|p| p.is_pchat) {
        if p.serving_database().is_some_and(|s| s.eq_ignore_ascii_case(&spec.identity)) {
            let target = store.pool_target(&p)?;
            out.push((p, target));
        }
    }
    Ok((spec.identity.clone(), out))
}

/// A progress bar on stderr when it is a terminal; hidden otherwise (cron logs stay clean).
pub fn progress(total: u64, what: &str) -> indicatif::ProgressBar {
    if !std::io::stderr().is_terminal() || total < 10_000 {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} messages ({per_sec}, eta {eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Write the -Report HTML log (replaced if present).
pub fn write_report(ctx: &Ctx, path: &str, title: &str, lines: &[String]) -> CmdletResult<()> {
    let esc = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
    let mut html = format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{0}</title></head><body>\n<h1>{0}</h1>\n<ul>\n",
        esc(title)
    );
    for l in lines {
        html.push_str(&format!("<li>{}</li>\n", esc(l)));
    }
    html.push_str("</ul>\n</body></html>\n");
    ctx.write_file("Report", path, |file| {
        file.write_all(html.as_bytes())
            .map_err(|e| CmdletError::invalid(format!("-Report: cannot write '{path}': {e}")).with_target(path))
    })
}
