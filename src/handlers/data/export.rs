//! Export-CsPersistentChatData. content.json is streamed: messages go one by
//! one from a SQL cursor into the ZIP writer, so memory stays flat however large the archive.

use std::collections::BTreeMap;
use std::io::{BufWriter, Seek, Write};

use rhai::Dynamic;
use zip::ZipWriter;
use zip::write::SimpleFileOptions;

use super::format::*;
use super::{instance_pools, progress, write_report};
use crate::binder::Bound;
use crate::catalog::enums::ExportLevel;
use crate::errors::{CmdletError, CmdletResult};
use crate::handlers::described::archived;
use crate::handlers::message::{micros, pool_data, posted_at_text};
use crate::invocation::Ctx;
use crate::store::Store;
use crate::store::ancestry::principal_key;
use crate::store::category::CategoryRow;
use crate::store::pools::PoolTarget;
use crate::store::room::{RoomQuery, RoomRow};
use crate::store::route::Target;

/// What one pool contributes to the archive.
struct PoolPart {
    target: PoolTarget,
    categories: Vec<CategoryRow>,
    rooms: Vec<RoomRow>,
}

fn io_err(what: &str) -> impl Fn(std::io::Error) -> CmdletError + '_ {
    move |e| CmdletError::invalid(format!("cannot write the archive ({what}): {e}"))
}

fn zip_err(e: zip::result::ZipError) -> CmdletError {
    CmdletError::invalid(format!("cannot write the archive: {e}"))
}

fn options() -> SimpleFileOptions {
    SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated).large_file(true)
}

fn put_json<W: Write + Seek, T: serde::Serialize>(zip: &mut ZipWriter<W>, name: &str, value: &T) -> CmdletResult<()> {
    zip.start_file(name, options()).map_err(zip_err)?;
    serde_json::to_writer_pretty(&mut *zip, value).map_err(|e| CmdletError::invalid(format!("{name}: {e}")))?;
    Ok(())
}

/// Which instance serves each Persistent Chat pool now, for an error that names where to export from.
fn serving_instances(store: &Store) -> CmdletResult<String> {
    let serving: Vec<String> = store
        .pools()?
        .into_iter()
        .filter(|p| p.is_pchat)
        .filter_map(|p| p.serving_database().map(|db| format!("{} is served by {db}", p.fqdn)))
        .collect();
    Ok(match serving.is_empty() {
        true => "the topology has no Persistent Chat pool".to_string(),
        false => format!("{} (Get-CsPersistentChatState shows fail-overs)", serving.join(", ")),
    })
}

pub fn export(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    ctx.check_writes(b, &["FileName", "Report"], &[])?;
    let store = ctx.store;
    let level = b.choice("Level").unwrap_or(ExportLevel::All);
    let start = b.date("StartDate");
    if start.is_some() && matches!(level, ExportLevel::User | ExportLevel::Category) {
        return Err(CmdletError::invalid(format!(
            "-StartDate bounds exported content: it is valid with Level All, RoomDirectory or Content, not {level}"
        )));
    }
    let (instance, pools) = instance_pools(store, b.str("DBInstance").unwrap_or_default())?;
    if pools.is_empty() {
        // An empty archive written over last night's good one, reported as a success, is how a
        // nightly backup silently stops backing anything up after a fail-over.
        return Err(CmdletError::invalid(format!(
            "-DBInstance {instance} serves no Persistent Chat pool now, so there is nothing to export; {}",
            serving_instances(store)?
        ))
        .with_target(&instance));
    }
    let scope: Option<Vec<String>> = b.list("Scope").map(|l| l.to_vec());
    let parts = collect(store, &pools.into_iter().map(|(_, t)| t).collect::<Vec<_>>(), scope.as_deref())?;
    // Counting and streaming every message would map whole pool files into this process.
    let _streaming = store.streaming(&parts.iter().map(|p| Target::Copy(&p.target.schema)).collect::<Vec<_>>())?;
    let from = b.instant("StartDate").map(micros);
    let included = parts_of(level);
    let mut messages = 0;
    if included.contains(&CONTENT) {
        for p in &parts {
            messages += store.message_count(&p.target.schema, &room_ids(p), from)?;
        }
    }
    let manifest = Manifest {
        version: VERSION,
        level: level.to_string(),
        exported_at: posted_at_text(chrono::Utc::now().timestamp_micros()),
        source_db_instance: instance.clone(),
        db_name: b.str("DBName").unwrap_or("mgc").to_string(),
        scope: scope.clone().unwrap_or_default(),
        start_date: from.map(posted_at_text),
        pools: parts.iter().map(|p| p.target.fqdn.clone()).collect(),
        messages,
    };
    let mut out = Vec::new();
    if let Some(path) = b.str("FileName") {
        // The archive is written whole or not at all (a temporary file renamed into place).
        ctx.write_file("FileName", path, |file| {
            let mut zip = ZipWriter::new(BufWriter::new(file));
            write_archive(ctx, store, &mut zip, &manifest, &parts, from)?;
            let mut w = zip.finish().map_err(zip_err)?;
            w.flush().map_err(io_err(path))
        })
        .map_err(|e| match crate::interrupt::requested() {
            true => crate::errors::stopped(&format!("nothing was exported; no archive was written to '{path}'")),
            false => e,
        })?;
    } else {
        let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
        write_archive(ctx, store, &mut zip, &manifest, &parts, from)?;
        out.push(Dynamic::from_blob(zip.finish().map_err(zip_err)?.into_inner()));
    }
    let room_count: usize = parts.iter().map(|p| p.rooms.len()).sum();
    if b.switch("DisableExportedNodes") && included.contains(&ROOMS) {
        for p in &parts {
            let pd = pool_data(store, &p.target)?;
            for r in p.rooms.iter().filter(|r| !r.disabled()) {
                crate::fault::point("export-disable");
                crate::errors::check_stop(|| {
                    format!(
                        "the archive is complete; no room was disabled (the disabling rolled back): {}",
                        b.str("FileName").unwrap_or("in memory")
                    )
                })?;
                if ctx.should_process(&crate::handlers::room::identity(r))? {
                    store.disable_room(pd.target(), r.id)?;
                }
            }
        }
    }
    if let Some(report) = b.str("Report") {
        let cats: usize = parts.iter().map(|p| p.categories.len()).sum();
        let mut lines = vec![
            format!("Source instance: {instance}, database {}", manifest.db_name),
            format!("Level: {level}; parts: {}", included.join(", ")),
            format!("Pools: {}", manifest.pools.join(", ")),
            format!("Categories: {cats}; rooms: {room_count}; messages: {messages}"),
        ];
        if let Some(s) = &manifest.start_date {
            lines.push(format!("Content posted on or after {s}"));
        }
        if b.switch("DisableExportedNodes") {
            lines.push(format!("{room_count} exported rooms disabled"));
        }
        write_report(ctx, report, "Export-CsPersistentChatData", &lines)?;
    }
    Ok(out)
}

fn room_ids(p: &PoolPart) -> Vec<i64> {
    p.rooms.iter().map(|r| r.id).collect()
}

/// The categories (limited to -Scope) and their rooms of every pool; NotFound for a Scope name no
/// pool has.
fn collect(store: &Store, pools: &[PoolTarget], scope: Option<&[String]>) -> CmdletResult<Vec<PoolPart>> {
    let mut parts = Vec::new();
    let mut seen = vec![false; scope.map_or(0, |s| s.len())];
    for t in pools {
        let mut categories = store.categories(t)?;
        if let Some(names) = scope {
            categories.retain(|c| {
                let hit = names.iter().position(|n| n.eq_ignore_ascii_case(c.name()));
                if let Some(i) = hit {
                    seen[i] = true;
                }
                hit.is_some()
            });
        }
        let q = RoomQuery { category_ids: Some(categories.iter().map(|c| c.id).collect()), ..Default::default() };
        let mut rooms = store.rooms(t, &q)?;
        store.load_room_lists(t, &mut rooms)?;
        parts.push(PoolPart { target: t.clone(), categories, rooms });
    }
    if let Some(names) = scope
        && let Some(i) = seen.iter().position(|s| !s)
    {
        return Err(CmdletError::not_found(format!(
            "-Scope: no category '{}' in the pools served by this instance ({})",
            names[i],
            pools.iter().map(|p| p.fqdn.as_str()).collect::<Vec<_>>().join(", ")
        ))
        .with_target(names[i].clone()));
    }
    Ok(parts)
}

fn write_archive<W: Write + Seek>(
    ctx: &Ctx,
    store: &Store,
    zip: &mut ZipWriter<W>,
    manifest: &Manifest,
    parts: &[PoolPart],
    from: Option<i64>,
) -> CmdletResult<()> {
    put_json(zip, MANIFEST, manifest)?;
    let included = level_of(manifest).map(parts_of).unwrap_or_default();
    if included.contains(&USERS) {
        put_json(zip, USERS, &users(store, parts)?)?;
    }
    if included.contains(&CATEGORIES) {
        let docs: Vec<CategoryDoc> = parts.iter().flat_map(|p| p.categories.iter().map(category_doc)).collect();
        put_json(zip, CATEGORIES, &docs)?;
    }
    if included.contains(&ROOMS) {
        // One room at a time: a pool can hold a hundred thousand of them.
        zip.start_file(ROOMS, options()).map_err(zip_err)?;
        let mut out = BufWriter::with_capacity(1 << 16, &mut *zip);
        let mut first = true;
        out.write_all(b"[").map_err(io_err(ROOMS))?;
        for p in parts {
            let urls: BTreeMap<String, String> =
                store.addins(&p.target)?.into_iter().map(|a| (a.name().to_lowercase(), a.url().to_string())).collect();
            for r in &p.rooms {
                crate::errors::check_stop(String::new)?;
                out.write_all(if first { b"\n" } else { b",\n" }).map_err(io_err(ROOMS))?;
                first = false;
                serde_json::to_writer_pretty(&mut out, &room_doc(r, &urls))
                    .map_err(|e| CmdletError::invalid(format!("{ROOMS}: {e}")))?;
            }
        }
        out.write_all(b"\n]\n").map_err(io_err(ROOMS))?;
        out.flush().map_err(io_err(ROOMS))?;
    }
    if included.contains(&CONTENT) {
        zip.start_file(CONTENT, options()).map_err(zip_err)?;
        let bar = progress(manifest.messages, "Exporting");
        // serde_json writes a message in a dozen small pieces; the compressor wants big ones.
        let mut out = BufWriter::with_capacity(1 << 16, &mut *zip);
        out.write_all(b"[").map_err(io_err(CONTENT))?;
        let mut first = true;
        let mut written = 0u64;
        for p in parts {
            let names: BTreeMap<i64, String> =
                p.rooms.iter().map(|r| (r.id, crate::handlers::room::identity(r))).collect();
            store
                .for_each_message(&p.target.schema, &room_ids(p), from, |m| {
                    crate::fault::point("export-message");
                    if crate::interrupt::requested() {
                        anyhow::bail!("interrupted");
                    }
                    let doc = MessageDoc {
                        message_id: m.message_id.clone(),
                        room: names.get(&m.room_id).cloned().unwrap_or_default(),
                        sender: m.sender.clone(),
                        posted_at_us: m.posted_at,
                        text: m.text.clone(),
                        replaced: m.replaced,
                    };
                    out.write_all(if first { b"\n" } else { b",\n" })?;
                    first = false;
                    serde_json::to_writer(&mut out, &doc)?;
                    bar.inc(1);
                    written += 1;
                    if written.is_multiple_of(4096) {
                        ctx.check_time()?;
                    }
                    Ok(())
                })
                .map_err(|e| CmdletError::invalid(format!("cannot write {CONTENT}: {e:#}")))?;
        }
        out.write_all(b"\n]\n").map_err(io_err(CONTENT))?;
        out.flush().map_err(io_err(CONTENT))?;
        bar.finish_and_clear();
    }
    Ok(())
}

fn category_doc(c: &CategoryRow) -> CategoryDoc {
    CategoryDoc {
        persistent_chat_pool_fqdn: c.pool().to_string(),
        name: c.name().to_string(),
        allowed_members: c.allowed.clone(),
        denied_members: c.denied.clone(),
        creators: c.creators.clone(),
        stored: archived(c),
    }
}

fn room_doc(r: &RoomRow, urls: &BTreeMap<String, String>) -> RoomDoc {
    RoomDoc {
        persistent_chat_pool_fqdn: r.pool().to_string(),
        name: r.name().to_string(),
        category: r.category().to_string(),
        addin: r.addin().map(str::to_string),
        addin_url: r.addin().and_then(|a| urls.get(&a.to_lowercase()).cloned()),
        members: r.members.clone(),
        managers: r.managers.clone(),
        presenters: r.presenters.clone(),
        stored: archived(r),
    }
}

/// Principals referenced by the exported lists, and users holding a per-user policy.
fn users(store: &Store, parts: &[PoolPart]) -> CmdletResult<Vec<UserDoc>> {
    let mut keys: Vec<&String> = Vec::new();
    for p in parts {
        for c in &p.categories {
            keys.extend(c.allowed.iter().chain(&c.denied).chain(&c.creators));
        }
        for r in &p.rooms {
            keys.extend(r.members.iter().chain(&r.managers).chain(&r.presenters));
        }
    }
    let mut found = BTreeMap::new();
    for k in keys {
        let p = if k.contains('=') { store.principal_by_dn(k)? } else { store.principal_by_sip(k)? };
        if let Some(p) = p {
            found.insert(principal_key(&p).to_lowercase(), p);
        }
    }
    for u in store.users_with_policy()? {
        found.insert(principal_key(&u).to_lowercase(), u);
    }
    Ok(found
        .into_values()
        .map(|p| UserDoc {
            distinguished_name: p.dn,
            sip_address: p.sip,
            display_name: p.display_name,
            persistent_chat_policy: p.policy,
        })
        .collect())
}
