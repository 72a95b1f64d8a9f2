//! Import-CsPersistentChatData. The whole archive is validated before anything
//! is written — entry names, declared sizes, compression ratios, JSON, version, the parts the Level
//! needs, every reference — then merged: categories and rooms upserted by name, messages appended
//! skipping known MessageIds, policy assignments applied to existing users. All in the caller's
//! one transaction.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Seek};

use rhai::{Dynamic, Map};
use serde::de::DeserializeOwned;
use zip::ZipArchive;

use super::elements::ArrayElements;
use super::format::*;
use super::{instance_pools, progress, write_report};
use crate::binder::Bound;
use crate::catalog::enums::{ExportLevel, Named, PrincipalKind};
use crate::errors::{CmdletError, CmdletResult};
use crate::handlers::category::identity as category_identity;
use crate::handlers::chat::Principals;
use crate::handlers::described::{changed_values, from_archive};
use crate::handlers::message::pool_data;
use crate::handlers::room::identity as room_identity;
use crate::invocation::Changed;
use crate::invocation::Ctx;
use crate::store::Store;
use crate::store::addin::AddinRow;
use crate::store::category::CategoryRow;
use crate::store::message::{MessageAppender, NewMessage};
use crate::store::pool_data::PoolData;
use crate::store::pools::PoolTarget;
use crate::store::room::RoomRow;
use crate::store::route::Target;
use crate::values::limits::{self, Field};
use crate::values::text::clip;

/// Caps against hostile archives: the sum of the parts' uncompressed sizes, the size of each
/// part but content (these are parsed whole, so this bounds the memory validation takes), and
/// the uncompressed/compressed ratio of any part over 1 MiB. Documented in docs/limits.md.
const MAX_TOTAL_BYTES: u64 = 64 << 30;
const MAX_DIRECTORY_PART_BYTES: u64 = 64 << 20;
const MAX_RATIO: u64 = 1000;

fn corrupt(why: impl std::fmt::Display) -> CmdletError {
    CmdletError::invalid(format!("the archive is not a valid Persistent Chat export: {why}; nothing was imported"))
}

/// A reader that fails when the entry yields more or fewer bytes than its header declared.
struct Exact<R> {
    inner: R,
    name: String,
    declared: u64,
    read: u64,
}

impl<R: Read> Read for Exact<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if self.read > self.declared || (n == 0 && !buf.is_empty() && self.read != self.declared) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{} holds {} bytes but declares {}", self.name, self.read, self.declared),
            ));
        }
        Ok(n)
    }
}

struct Archive<R: Read + Seek> {
    zip: ZipArchive<R>,
    sizes: HashMap<String, u64>,
}

impl<R: Read + Seek> Archive<R> {
    /// Open and check the directory: known part names only (no paths), sizes and ratios in bounds.
    fn open(reader: R) -> CmdletResult<Archive<R>> {
        let mut zip = ZipArchive::new(reader).map_err(corrupt)?;
        // The index keeps one entry per name (the last): a second copy must not slip past.
        if zip.has_duplicate_names() {
            return Err(corrupt("an entry name appears twice"));
        }
        let mut sizes = HashMap::new();
        let mut total: u64 = 0;
        for i in 0..zip.len() {
            let f = zip.by_index_raw(i).map_err(corrupt)?;
            let name = f.name().map_err(corrupt)?.to_string();
            if name.contains(['/', '\\']) || name.contains("..") || !PARTS.contains(&name.as_str()) {
                return Err(corrupt(format!("unexpected entry '{name}' (an export holds only {})", PARTS.join(", "))));
            }
            if sizes.contains_key(&name) {
                return Err(corrupt(format!("entry '{name}' appears twice")));
            }
            let (size, packed) = (f.size(), f.compressed_size());
            if size > (1 << 20) && size / packed.max(1) > MAX_RATIO {
                return Err(corrupt(format!(
                    "{name} expands {size} bytes from {packed} (ratio over {MAX_RATIO}: a compression bomb?)"
                )));
            }
            if name != CONTENT && size > MAX_DIRECTORY_PART_BYTES {
                return Err(corrupt(format!("{name} declares {size} bytes (limit {MAX_DIRECTORY_PART_BYTES})")));
            }
            total = total.saturating_add(size);
            sizes.insert(name, size);
        }
        if total > MAX_TOTAL_BYTES {
            return Err(corrupt(format!("the parts total {total} bytes (limit {MAX_TOTAL_BYTES})")));
        }
        Ok(Archive { zip, sizes })
    }

    fn has(&self, name: &str) -> bool {
        self.sizes.contains_key(name)
    }

    fn part(&mut self, name: &str) -> CmdletResult<impl BufRead + '_> {
        let declared = *self.sizes.get(name).ok_or_else(|| corrupt(format!("{name} is missing")))?;
        let inner = self.zip.by_name(name).map_err(corrupt)?;
        Ok(BufReader::with_capacity(1 << 16, Exact { inner, name: name.to_string(), declared, read: 0 }))
    }

    fn json<T: DeserializeOwned>(&mut self, name: &str) -> CmdletResult<T> {
        let reader = self.part(name)?;
        serde_json::from_reader(reader).map_err(|e| corrupt(format!("{name}: {e}")))
    }

    /// Visit the messages of content.json one by one (never all in memory).
    fn each_message(&mut self, mut f: impl FnMut(MessageDoc) -> Result<(), String>) -> CmdletResult<u64> {
        let mut elements = ArrayElements::new(self.part(CONTENT)?);
        let mut n = 0;
        while let Some(bytes) = elements.next_element().map_err(|e| corrupt(format!("{CONTENT}: {e}")))? {
            n += 1;
            let m = serde_json::from_slice(bytes).map_err(|e| corrupt(format!("{CONTENT}: message {n}: {e}")))?;
            f(m).map_err(|e| corrupt(format!("{CONTENT}: message {n}: {e}")))?;
        }
        Ok(n)
    }
}

/// Where archived objects go: their own pool when the instance serves it, else the instance's only pool.
struct Targets {
    pools: Vec<PoolTarget>,
    instance: String,
}

impl Targets {
    fn of(&self, pool: &str) -> CmdletResult<&PoolTarget> {
        if let Some(t) = self.pools.iter().find(|t| t.fqdn.eq_ignore_ascii_case(pool)) {
            return Ok(t);
        }
        match &self.pools[..] {
            [only] => Ok(only),
            [] => Err(CmdletError::invalid(format!(
                "-DBInstance {} serves no Persistent Chat pool now: there is nowhere to import to",
                self.instance
            ))),
            many => Err(CmdletError::invalid(format!(
                "pool '{pool}' of the archive is not served by {}, which serves several pools ({}): import on the instance serving '{pool}'",
                self.instance,
                many.iter().map(|t| t.fqdn.as_str()).collect::<Vec<_>>().join(", ")
            ))),
        }
    }
}

fn split_room(identity: &str) -> Result<(&str, &str), String> {
    identity
        .split_once('\\')
        .filter(|(p, n)| !p.is_empty() && !n.is_empty())
        .ok_or_else(|| format!("Room '{identity}' is not <poolFqdn>\\<Name>"))
}

/// Everything validated, ready to merge.
struct Plan {
    manifest: Manifest,
    users: Vec<UserDoc>,
    categories: Vec<CategoryDoc>,
    rooms: Vec<RoomDoc>,
    messages: u64,
}

pub fn import(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let store = ctx.store;
    let (instance, pools) = instance_pools(store, b.str("DBInstance").unwrap_or_default())?;
    let targets = Targets { pools: pools.into_iter().map(|(_, t)| t).collect(), instance: instance.clone() };
    if let Some(path) = b.str("FileName") {
        let file = ctx
            .files()?
            .open_input(std::path::Path::new(path))
            .map_err(|e| crate::invocation::in_param("FileName", e.into()))?;
        run(ctx, b, Archive::open(BufReader::new(file))?, &targets)
    } else {
        let bytes = b.bytes("ByteInput").unwrap_or_default();
        run(ctx, b, Archive::open(std::io::Cursor::new(bytes))?, &targets)
    }
    .map(|_| {
        let _ = store;
        Vec::new()
    })
}

fn run<R: Read + Seek>(ctx: &mut Ctx, b: &Bound, mut ar: Archive<R>, targets: &Targets) -> CmdletResult<()> {
    ctx.check_writes(b, &["Report"], &["FileName"])?;
    let plan = validate(ctx.store, &mut ar, targets)?;
    // The merge runs first, inside the call's transaction, and what it did is what the WhatIf
    // line, the prompt and the audit record say: under WhatIf, or when the prompt is declined,
    // the transaction is rolled back (run_one), so nothing of it stays. No estimate made apart
    // from the merge can disagree with it.
    let (report, done) = merge(ctx.store, &mut ar, targets, &plan)?;
    if !ctx.should_process(&done.summary(&targets.instance))? {
        return Ok(());
    }
    done.record(ctx, &targets.instance);
    if let Some(path) = b.str("Report") {
        write_report(ctx, path, "Import-CsPersistentChatData", &report)?;
    }
    Ok(())
}

/// What the merge did, object by object: the WhatIf line, the prompt, the audit records and the
/// report all say this.
#[derive(Default)]
struct Outcome {
    categories_created: Vec<String>,
    /// Identity, changed properties before and after.
    categories_replaced: Vec<(String, Map, Map)>,
    categories_unchanged: usize,
    rooms_created: Vec<String>,
    rooms_replaced: Vec<(String, Map, Map)>,
    rooms_unchanged: usize,
    /// Replaced rooms whose membership (Category, Members, Managers, Presenters) changed, each
    /// with what changed.
    membership: Vec<(String, String)>,
    policies_changed: u64,
    policies_kept: u64,
    policies_skipped: u64,
    messages_added: u64,
    messages_skipped: u64,
    content: bool,
}

/// A list's size for the summary.
fn entries(list: &Dynamic) -> String {
    match list.read_lock::<rhai::Array>().map(|a| a.len()) {
        Some(0) | None => "none".into(),
        Some(1) => "1 entry".into(),
        Some(n) => format!("{n} entries"),
    }
}

impl Outcome {
    fn changed_anything(&self) -> bool {
        !(self.categories_created.is_empty()
            && self.categories_replaced.is_empty()
            && self.rooms_created.is_empty()
            && self.rooms_replaced.is_empty()
            && self.policies_changed == 0
            && self.messages_added == 0)
    }

    /// The change of a replaced room's membership, if any: "Members 2 entries → none (the whole
    /// category scope); Category Engineering → Builds".
    fn membership_change(old: &Map, new: &Map) -> Option<String> {
        let mut parts = Vec::new();
        if let (Some(was), Some(is)) = (old.get("Category"), new.get("Category")) {
            parts.push(format!("Category {was} → {is}"));
        }
        for list in ["Members", "Managers", "Presenters"] {
            if let (Some(was), Some(is)) = (old.get(list), new.get(list)) {
                let empty = list == "Members" && entries(is) == "none";
                let scope = if empty { " (open to the whole category scope)" } else { "" };
                parts.push(format!("{list} {} → {}{scope}", entries(was), entries(is)));
            }
        }
        (!parts.is_empty()).then(|| parts.join(", "))
    }

    /// The target of the WhatIf line and the prompt.
    fn summary(&self, instance: &str) -> String {
        let names = |v: &mut dyn Iterator<Item = &String>| v.cloned().collect::<Vec<_>>().join(", ");
        let mut out = format!(
            "{instance}: categories {} created, {} replaced, {} unchanged; rooms {} created, {} replaced, {} unchanged",
            self.categories_created.len(),
            self.categories_replaced.len(),
            self.categories_unchanged,
            self.rooms_created.len(),
            self.rooms_replaced.len(),
            self.rooms_unchanged,
        );
        if self.content {
            out += &format!(
                "; messages {} added, {} already present (skipped)",
                self.messages_added, self.messages_skipped
            );
        }
        if self.policies_changed + self.policies_kept + self.policies_skipped > 0 {
            out += &format!(
                "; policy assignments {} changed, {} already so, {} skipped (unknown user or policy)",
                self.policies_changed, self.policies_kept, self.policies_skipped
            );
        }
        for (what, list) in [("categories created", &self.categories_created), ("rooms created", &self.rooms_created)] {
            if !list.is_empty() {
                out += &format!("; {what}: {}", names(&mut list.iter()));
            }
        }
        if !self.categories_replaced.is_empty() {
            out += &format!("; categories replaced: {}", names(&mut self.categories_replaced.iter().map(|r| &r.0)));
        }
        if !self.rooms_replaced.is_empty() {
            out += &format!("; rooms replaced: {}", names(&mut self.rooms_replaced.iter().map(|r| &r.0)));
        }
        if !self.membership.is_empty() {
            let each: Vec<String> = self.membership.iter().map(|(room, what)| format!("{room} ({what})")).collect();
            out += &format!("; membership changes: {}", each.join("; "));
        }
        out
    }

    /// The audit records (after `should_process`, which opened the instance's): the instance's
    /// with the counts in After, then one per category and room created (as New records them)
    /// or replaced (its changed properties before and after, as Set records them).
    fn record(&self, ctx: &mut Ctx, instance: &str) {
        if !self.changed_anything() {
            ctx.unchanged();
            return;
        }
        ctx.record_target(instance);
        let mut counts = vec![
            ("CategoriesCreated", self.categories_created.len() as i64),
            ("CategoriesReplaced", self.categories_replaced.len() as i64),
            ("RoomsCreated", self.rooms_created.len() as i64),
            ("RoomsReplaced", self.rooms_replaced.len() as i64),
        ];
        if self.content {
            counts.push(("MessagesAdded", self.messages_added as i64));
            counts.push(("MessagesSkipped", self.messages_skipped as i64));
        }
        if self.policies_changed > 0 {
            counts.push(("PolicyAssignmentsChanged", self.policies_changed as i64));
        }
        ctx.record_counts(&[], &counts);
        if let Some(last) = ctx.changed.last_mut() {
            last.before = None;
        }
        for created in self.categories_created.iter().chain(&self.rooms_created) {
            ctx.changed.push(Changed { target: created.clone(), before: None, after: None });
        }
        for (identity, old, new) in self.categories_replaced.iter().chain(&self.rooms_replaced) {
            ctx.changed.push(Changed { target: identity.clone(), before: None, after: None });
            ctx.record_values(old, new);
        }
    }
}

fn validate<R: Read + Seek>(store: &Store, ar: &mut Archive<R>, targets: &Targets) -> CmdletResult<Plan> {
    let manifest: Manifest = ar.json(MANIFEST)?;
    if manifest.version != VERSION {
        return Err(corrupt(format!("version {} (this pchat reads version {VERSION})", manifest.version)));
    }
    let Some(level) = level_of(&manifest) else {
        let valid = ExportLevel::NAMES.join(", ");
        return Err(corrupt(format!("unknown level '{}' (valid: {valid})", manifest.level)));
    };
    for part in parts_of(level) {
        if !ar.has(part) {
            return Err(corrupt(format!("level {} needs {part}, which is missing", manifest.level)));
        }
    }
    let users: Vec<UserDoc> = if ar.has(USERS) { ar.json(USERS)? } else { Vec::new() };
    let categories: Vec<CategoryDoc> = if ar.has(CATEGORIES) { ar.json(CATEGORIES)? } else { Vec::new() };
    let rooms: Vec<RoomDoc> = if ar.has(ROOMS) { ar.json(ROOMS)? } else { Vec::new() };
    // Names the archive will leave in each target pool (case-insensitive), to check references.
    let mut category_names = HashSet::new();
    for u in &users {
        let at = format!("user '{}'", clip(&u.distinguished_name, 80));
        limit(USERS, &at, "DistinguishedName", Field::Text, &u.distinguished_name)?;
        for (field, v) in [("SipAddress", &u.sip_address), ("PersistentChatPolicy", &u.persistent_chat_policy)] {
            v.as_deref().map_or(Ok(()), |v| limit(USERS, &at, field, Field::Text, v))?;
        }
        u.display_name.as_deref().map_or(Ok(()), |v| limit(USERS, &at, "DisplayName", Field::Name, v))?;
    }
    for c in &categories {
        let t = targets.of(&c.persistent_chat_pool_fqdn)?;
        check_text(CATEGORIES, "Name", &c.name)?;
        let at = format!("category '{}'", clip(&c.name, 80));
        from_archive::<CategoryRow>(&c.stored).map_err(|e| corrupt(format!("{CATEGORIES}: {at}: {e}")))?;
        for (field, list) in
            [("AllowedMembers", &c.allowed_members), ("DeniedMembers", &c.denied_members), ("Creators", &c.creators)]
        {
            list.iter().try_for_each(|v| limit(CATEGORIES, &at, field, Field::Text, v))?;
        }
        if !category_names.insert((t.fqdn.to_ascii_lowercase(), c.name.to_ascii_lowercase())) {
            return Err(corrupt(format!("{CATEGORIES}: category '{}' appears twice for pool {}", c.name, t.fqdn)));
        }
    }
    let mut room_names = HashSet::new();
    for r in &rooms {
        let t = targets.of(&r.persistent_chat_pool_fqdn)?;
        check_text(ROOMS, "Name", &r.name)?;
        let at = format!("room '{}'", clip(&r.name, 80));
        check_text(ROOMS, "Category", &r.category)?;
        from_archive::<RoomRow>(&r.stored).map_err(|e| corrupt(format!("{ROOMS}: {at}: {e}")))?;
        r.addin.as_deref().map_or(Ok(()), |v| limit(ROOMS, &at, "Addin", Field::Name, v))?;
        r.addin_url.as_deref().map_or(Ok(()), |v| limit(ROOMS, &at, "AddinUrl", Field::Text, v))?;
        for (field, list) in [("Members", &r.members), ("Managers", &r.managers), ("Presenters", &r.presenters)] {
            list.iter().try_for_each(|v| limit(ROOMS, &at, field, Field::Text, v))?;
        }
        if !category_names.contains(&(t.fqdn.to_ascii_lowercase(), r.category.to_ascii_lowercase()))
            && store.category_by_name(t, &r.category)?.is_none()
        {
            return Err(corrupt(format!(
                "{ROOMS}: room '{}' is in category '{}', which neither the archive nor pool {} has",
                r.name, r.category, t.fqdn
            )));
        }
        if let Some(a) = &r.addin
            && r.addin_url.is_none()
            && store.addin_by_name(t, a)?.is_none()
        {
            return Err(corrupt(format!(
                "{ROOMS}: room '{}' uses add-in '{a}' with no URL, unknown to pool {}",
                r.name, t.fqdn
            )));
        }
        if !room_names.insert((t.fqdn.to_ascii_lowercase(), r.name.to_ascii_lowercase())) {
            return Err(corrupt(format!("{ROOMS}: room '{}' appears twice for pool {}", r.name, t.fqdn)));
        }
    }
    let mut messages = 0;
    if ar.has(CONTENT) {
        let mut known_rooms: HashSet<String> = HashSet::new();
        let mut checked: Vec<String> = Vec::new();
        messages = ar.each_message(|m| {
            if m.message_id.trim().is_empty() {
                return Err("empty MessageId".into());
            }
            if !m.sender.to_ascii_lowercase().starts_with("sip:") {
                return Err(format!("Sender '{}' is not a sip: address", m.sender));
            }
            limits::check_posted_at(m.posted_at_us).map_err(|e| format!("PostedAtUs {}: {e}", m.posted_at_us))?;
            for (field, kind, v) in [
                ("MessageId", Field::Text, &m.message_id),
                ("Sender", Field::Text, &m.sender),
                ("Room", Field::Text, &m.room),
                ("Text", Field::Message, &m.text),
            ] {
                limits::check(kind, v).map_err(|e| format!("{field}: {e}"))?;
            }
            if !known_rooms.contains(&m.room.to_ascii_lowercase()) {
                split_room(&m.room)?;
                known_rooms.insert(m.room.to_ascii_lowercase());
                checked.push(m.room.clone());
            }
            Ok(())
        })?;
        for identity in checked {
            let (pool, name) = split_room(&identity).map_err(corrupt)?;
            let t = targets.of(pool)?;
            if !room_names.contains(&(t.fqdn.to_ascii_lowercase(), name.to_ascii_lowercase()))
                && store.room_by_name(t, name)?.is_none()
            {
                return Err(corrupt(format!(
                    "{CONTENT}: messages of room '{identity}', which neither the archive nor pool {} has",
                    t.fqdn
                )));
            }
        }
    }
    Ok(Plan { manifest, users, categories, rooms, messages })
}

/// A name of the archive: not empty, no backslash (the pool separator), within the limits.
fn check_text(part: &str, field: &str, v: &str) -> CmdletResult<()> {
    limits::check(Field::Name, v).map_err(|e| corrupt(format!("{part}: {field}: {e}")))?;
    if v.trim().is_empty() || v.contains('\\') {
        return Err(corrupt(format!("{part}: {field} '{v}' is empty or contains a backslash")));
    }
    Ok(())
}

/// A text of the archive within its limit and control-character rule (docs/limits.md).
fn limit(part: &str, at: &str, field: &str, kind: Field, v: &str) -> CmdletResult<()> {
    limits::check(kind, v).map_err(|e| corrupt(format!("{part}: {at}: {field}: {e}")))
}

fn merge<R: Read + Seek>(
    store: &Store,
    ar: &mut Archive<R>,
    targets: &Targets,
    plan: &Plan,
) -> CmdletResult<(Vec<String>, Outcome)> {
    let mut done = Outcome { content: ar.has(CONTENT), ..Outcome::default() };
    let mut names = Principals::new(store, false);
    let mut report = vec![
        format!(
            "Archive: level {}, exported {} from {}",
            plan.manifest.level, plan.manifest.exported_at, plan.manifest.source_db_instance
        ),
        format!("Target instance: {}", targets.instance),
    ];
    for u in &plan.users {
        let Some(tag) = &u.persistent_chat_policy else { continue };
        let user = match &u.sip_address {
            Some(sip) => store.principal_by_sip(sip)?,
            None => store.principal_by_dn(&u.distinguished_name)?,
        };
        match user.filter(|p| p.kind == PrincipalKind::User) {
            Some(p) if store.tag_policy_exists(tag)? => {
                if p.policy.as_deref() == Some(tag.as_str()) {
                    done.policies_kept += 1;
                } else {
                    store.set_user_policy(p.id, Some(tag))?;
                    done.policies_changed += 1;
                }
            }
            _ => done.policies_skipped += 1,
        }
    }
    if !plan.users.is_empty() {
        report.push(format!(
            "Policy assignments changed: {}; already so: {}; skipped (unknown user or policy): {}",
            done.policies_changed, done.policies_kept, done.policies_skipped
        ));
    }
    for c in &plan.categories {
        let t = targets.of(&c.persistent_chat_pool_fqdn)?;
        let existing = store.category_by_name(t, &c.name)?;
        let mut row = match &existing {
            Some(e) => e.clone(),
            None => CategoryRow::new(store.new_id(), &t.fqdn, c.name.clone()),
        };
        row.set_name(c.name.clone());
        for (cell, v) in from_archive::<CategoryRow>(&c.stored).map_err(corrupt)? {
            row.cells[cell] = v;
        }
        row.allowed = c.allowed_members.clone();
        row.denied = c.denied_members.clone();
        row.creators = c.creators.clone();
        match &existing {
            Some(before) if *before == row => done.categories_unchanged += 1,
            Some(before) => {
                store.update_category(t, before, &row)?;
                let (old, new) = changed_values(before, &row, &mut names);
                done.categories_replaced.push((category_identity(&row), old, new));
            }
            None => {
                store.insert_category(t, &row)?;
                done.categories_created.push(category_identity(&row));
            }
        }
    }
    if !plan.categories.is_empty() {
        report.push(format!(
            "Categories created: {}; replaced: {}; unchanged: {}",
            done.categories_created.len(),
            done.categories_replaced.len(),
            done.categories_unchanged
        ));
    }
    for r in &plan.rooms {
        let t = targets.of(&r.persistent_chat_pool_fqdn)?;
        let category = store
            .category_by_name(t, &r.category)?
            .ok_or_else(|| corrupt(format!("category '{}' missing in pool {}", r.category, t.fqdn)))?;
        let addin = match &r.addin {
            None => None,
            Some(name) => Some(match store.addin_by_name(t, name)? {
                Some(a) => a,
                None => {
                    let a =
                        AddinRow::new(store.new_id(), &t.fqdn, name.clone(), r.addin_url.clone().unwrap_or_default());
                    store.insert_addin(t, &a)?;
                    a
                }
            }),
        };
        let existing = store.room_by_name(t, &r.name)?;
        let category = (category.id, category.name().to_string());
        let mut row = match &existing {
            Some(e) => e.clone(),
            None => RoomRow::new(store.new_id(), &t.fqdn, r.name.clone(), category.clone()),
        };
        row.set_name(r.name.clone());
        row.set_category(category.0, category.1);
        row.set_addin(addin.map(|a| (a.id, a.name().to_string())));
        for (cell, v) in from_archive::<RoomRow>(&r.stored).map_err(corrupt)? {
            row.cells[cell] = v;
        }
        row.members = r.members.clone();
        row.managers = r.managers.clone();
        row.presenters = r.presenters.clone();
        match &existing {
            Some(before) if *before == row => done.rooms_unchanged += 1,
            Some(before) => {
                store.update_room(t, before, &row)?;
                let (old, new) = changed_values(before, &row, &mut names);
                let id = room_identity(&row);
                if let Some(what) = Outcome::membership_change(&old, &new) {
                    done.membership.push((id.clone(), what));
                }
                done.rooms_replaced.push((id, old, new));
            }
            None => {
                store.insert_room(t, &row)?;
                done.rooms_created.push(room_identity(&row));
            }
        }
    }
    if !plan.rooms.is_empty() {
        report.push(format!(
            "Rooms created: {}; replaced: {}; unchanged: {}",
            done.rooms_created.len(),
            done.rooms_replaced.len(),
            done.rooms_unchanged
        ));
        for (room, what) in &done.membership {
            report.push(format!("Membership of {room} changed: {what}"));
        }
    }
    if done.content {
        let (added, skipped) = merge_messages(store, ar, targets, plan.messages)?;
        report.push(format!("Messages added: {added}; skipped (MessageId already present): {skipped}"));
        (done.messages_added, done.messages_skipped) = (added, skipped);
    }
    Ok((report, done))
}

/// Append the messages of content.json; returns (added, skipped).
fn merge_messages<R: Read + Seek>(
    store: &Store,
    ar: &mut Archive<R>,
    targets: &Targets,
    total: u64,
) -> CmdletResult<(u64, u64)> {
    let mut writers: HashMap<String, PoolData> = HashMap::new();
    for t in &targets.pools {
        writers.insert(t.fqdn.to_ascii_lowercase(), pool_data(store, t)?);
    }
    let copies: Vec<Target> = targets
        .pools
        .iter()
        .flat_map(|t| std::iter::once(t.schema.as_str()).chain(t.mirror.as_deref()))
        .map(Target::Copy)
        .collect();
    let _unmapped = store.unmapped(&copies)?;
    // One appender per pool, for every message (millions of them).
    let mut inserts: HashMap<String, MessageAppender> = HashMap::new();
    for (pool, pd) in &writers {
        inserts.insert(pool.clone(), pd.appender()?);
    }
    // Archived room identity → (pool key, room id).
    let mut rooms: HashMap<String, (String, i64)> = HashMap::new();
    let bar = progress(total, "Importing");
    let mut failure: Option<CmdletError> = None;
    ar.each_message(|m| {
        crate::fault::point("import-message");
        if let Err(e) = crate::errors::check_stop(|| "nothing was imported (an import is all or nothing)".into()) {
            let text = e.message.clone();
            failure = Some(e);
            return Err(text);
        }
        let key = m.room.to_ascii_lowercase();
        if !rooms.contains_key(&key) {
            let resolved = (|| -> CmdletResult<(String, i64)> {
                let (pool, name) = split_room(&m.room).map_err(corrupt)?;
                let t = targets.of(pool)?;
                let room = store.room_by_name(t, name)?.ok_or_else(|| corrupt(format!("room '{}' missing", m.room)))?;
                Ok((t.fqdn.to_ascii_lowercase(), room.id))
            })();
            match resolved {
                Ok(v) => {
                    rooms.insert(key.clone(), v);
                }
                Err(e) => {
                    let text = e.message.clone();
                    failure = Some(e);
                    return Err(text);
                }
            }
        }
        let (pool, room_id) = &rooms[&key];
        let Some(appender) = inserts.get_mut(pool) else { return Err(format!("no writer for pool {pool}")) };
        let message = NewMessage {
            room_id: *room_id,
            message_id: m.message_id,
            sender: m.sender,
            posted_at: m.posted_at_us,
            text: m.text,
            replaced: m.replaced,
        };
        appender.append(message).map_err(|e| store_failed(&mut failure, e))?;
        bar.inc(1);
        Ok(())
    })
    .map_err(|e| failure.take().unwrap_or(e))?;
    let (mut added, mut skipped) = (0u64, 0u64);
    // Pools in a steady order, so that a failure is the same one from run to run.
    let mut inserts: Vec<(String, MessageAppender)> = inserts.into_iter().collect();
    inserts.sort_by(|a, b| a.0.cmp(&b.0));
    for (pool, appender) in inserts {
        let done = appender.finish().map_err(CmdletError::from)?;
        (added, skipped) = (added + done.added, skipped + done.skipped);
        if let Some(pd) = writers.get(&pool) {
            for (room_id, bytes) in done.bytes {
                pd.add_content(room_id, bytes)?;
            }
        }
    }
    bar.finish_and_clear();
    Ok((added, skipped))
}

/// A store error (a full disk) is the store's, not the archive's: kept whole, so it is not
/// reported as a damaged archive, which an administrator might then throw away.
fn store_failed(failure: &mut Option<CmdletError>, e: crate::store::db::DbError) -> String {
    let e = CmdletError::from(e);
    let text = e.message.clone();
    *failure = Some(e);
    text
}
