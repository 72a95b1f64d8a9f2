//! Test-CsPersistentChatMessage: a synthetic round trip
//! through the real message path. The sender posts into a room and the receiver reads it back
//! (and replies when allowed), inside a savepoint that is rolled back: the test leaves no message,
//! content size or change counter behind in either copy of the pool's data.
//!
//! A test that does not pass is a TaskOutput with Result Failure and an Error/Diagnosis saying
//! which user or object broke which rule and how to fix it; only misuse of the cmdlet itself
//! (binding, Setup arguments, variable names) is an error.

mod log;

use std::time::Instant;

use chrono::{TimeDelta, Utc};
use rhai::{Dynamic, Map};

use super::access::{Denial, check_policy, denial, sip_uri, sip_user};
use super::message::{micros, pool_data, post, room_by_identity};
use super::room::identity;
use crate::binder::Bound;
use crate::catalog::ObjType;
use crate::catalog::enums::PrincipalKind;
use crate::errors::{CmdletError, CmdletResult};
use crate::invocation::Ctx;
use crate::objects::{object, opt, text};
use crate::store::Store;
use crate::store::ancestry::Ancestry;
use crate::store::directory::PrincipalRow;
use crate::store::message::MessageQuery;
use crate::store::pools::PoolTarget;
use crate::store::room::{RoomQuery, RoomRow};
use crate::store::topology::PoolRow;
use crate::values::time::format_timespan;
use log::Log;
pub use log::{log_html, log_xml};

/// How many rejected rooms a "no usable room" diagnosis names.
const REASONS_SHOWN: usize = 3;

/// What went wrong, for the TaskOutput: the broken rule and what to do about it.
struct Failure {
    error: String,
    diagnosis: String,
}

fn failure(error: impl Into<String>, diagnosis: impl Into<String>) -> Failure {
    Failure { error: error.into(), diagnosis: diagnosis.into() }
}

/// Store errors inside the test are environment problems of the pool: reported, not thrown.
impl From<CmdletError> for Failure {
    fn from(e: CmdletError) -> Failure {
        failure(e.message, "The store could not be read; repair it or retry.")
    }
}

impl From<crate::store::db::DbError> for Failure {
    fn from(e: crate::store::db::DbError) -> Failure {
        Failure::from(CmdletError::from(e))
    }
}

/// A test user as resolved for the run.
struct Party {
    role: &'static str,
    param: &'static str,
    user: PrincipalRow,
    /// What puts the user in scope (groups, OUs), resolved once for every room tried.
    ancestry: Ancestry,
}

impl Party {
    fn sip(&self) -> &str {
        self.user.sip.as_deref().unwrap_or_default()
    }
}

/// `-OutLoggerVariable` / `-OutVerboseVariable`: a Rhai variable name.
fn variable_name(b: &Bound, param: &str) -> CmdletResult<Option<String>> {
    let Some(raw) = b.str(param) else { return Ok(None) };
    let name = raw.trim();
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name != "_";
    if let Some(bare) = name.strip_prefix('$') {
        return Err(CmdletError::invalid(format!("-{param} takes the variable name without '$': \"{bare}\"")));
    }
    if !valid {
        return Err(CmdletError::invalid(format!(
            "-{param} '{raw}' is not a variable name (letters, digits and '_', not starting with a digit)"
        )));
    }
    if matches!(name, "ARGS" | "SCRIPT_DIR") {
        return Err(CmdletError::invalid(format!("-{param}: '{name}' is a constant of pchat and cannot be set")));
    }
    Ok(Some(name.to_string()))
}

fn task_output(target: Option<&str>, result: &str, latency: Option<TimeDelta>, f: Option<&Failure>) -> Dynamic {
    object(
        ObjType::TaskOutput,
        [
            ("TargetFqdn", opt(target)),
            ("Result", text(result)),
            ("Latency", opt(latency.map(format_timespan))),
            ("Error", opt(f.map(|f| f.error.clone()))),
            ("Diagnosis", opt(f.map(|f| f.diagnosis.clone()))),
        ],
    )
}

/// The cmdlet: Setup, or the test; either way the output variables receive the steps taken.
pub fn test(ctx: &mut Ctx, b: &Bound) -> CmdletResult<Vec<Dynamic>> {
    let logger = variable_name(b, "OutLoggerVariable")?;
    let verbose = variable_name(b, "OutVerboseVariable")?;
    if let Some(port) = b.int("RegistrarPort")
        && !(1..=65535).contains(&port)
    {
        return Err(CmdletError::new(
            crate::errors::ErrorKind::OutOfRange,
            format!("-RegistrarPort {port} is not a TCP port (1..65535)"),
        ));
    }
    let mut log = Log::default();
    let output = if b.bool("Setup") == Some(true) {
        setup(ctx, b, &mut log)?
    } else {
        for p in ["TestUser1SipAddress", "TestUser2SipAddress"] {
            if b.has(p) {
                return Err(CmdletError::invalid(format!(
                    "-{p} is used only with -Setup $True (Setup: true), which stores the pool's test users"
                )));
            }
        }
        run_test(ctx.store, b, &mut log)
    };
    if b.common.verbose {
        for line in log.verbose_text().lines() {
            eprintln!("VERBOSE: {line}");
        }
    }
    if let Some(name) = logger {
        let fields = output.read_lock::<Map>().map(|m| (*m).clone()).unwrap_or_default();
        ctx.set_variable(&name, log.object(&fields));
    }
    if let Some(name) = verbose {
        ctx.set_variable(&name, text(log.verbose_text()));
    }
    Ok(vec![output])
}

/// `-Setup $True`: store the pool's health-monitoring test users. They must be two different
/// SIP-enabled users; the output says what was stored.
fn setup(ctx: &mut Ctx, b: &Bound, log: &mut Log) -> CmdletResult<Dynamic> {
    let store = ctx.store;
    for p in ["TestUser1SipAddress", "TestUser2SipAddress"] {
        if b.str(p).is_none_or(|s| s.trim().is_empty()) {
            return Err(CmdletError::invalid(format!(
                "-{p} is required with -Setup $True: give both TestUser1SipAddress and TestUser2SipAddress"
            )));
        }
    }
    if b.has("SenderCredential") || b.has("ReceiverCredential") {
        return Err(CmdletError::invalid(
            "-Setup stores the test users of the ServerPlatform test; it takes -TargetFqdn, not credentials",
        ));
    }
    let fqdn = b.str("TargetFqdn").unwrap_or_default().trim();
    let pool = store.pools()?.into_iter().find(|p| p.fqdn.eq_ignore_ascii_case(fqdn)).ok_or_else(|| {
        CmdletError::not_found(format!("-TargetFqdn '{fqdn}' is not a pool of the topology (see get_cs_service())"))
            .with_target(fqdn)
    })?;
    let user1 = sip_user(store, "TestUser1SipAddress", b.str("TestUser1SipAddress").unwrap_or_default())?;
    let user2 = sip_user(store, "TestUser2SipAddress", b.str("TestUser2SipAddress").unwrap_or_default())?;
    let (sip1, sip2) = (user1.sip.clone().unwrap_or_default(), user2.sip.clone().unwrap_or_default());
    if user1.id == user2.id {
        return Err(CmdletError::invalid(format!(
            "-TestUser1SipAddress and -TestUser2SipAddress are the same user ({sip1}); the test needs two users"
        )));
    }
    let target = format!("{} (health test users {sip1}, {sip2})", pool.fqdn);
    // Under --what-if nothing is stored, and the output must not claim otherwise.
    let stored = ctx.should_process(&target)?;
    if stored {
        store.set_health_test_users(&pool.fqdn, &sip1, &sip2)?;
    }
    let message =
        format!("{sip1} (sender) and {sip2} (receiver) are the health-monitoring test users of {}", pool.fqdn);
    let diagnosis = if stored {
        format!("Stored: {message}. Test with test_cs_persistent_chat_message(\"{}\").", pool.fqdn)
    } else {
        format!("Not stored (WhatIf): {message} would be stored.")
    };
    log.add("Setup", if stored { "Success" } else { "Info" }, diagnosis.clone());
    Ok(object(
        ObjType::TaskOutput,
        [
            ("TargetFqdn", text(pool.fqdn.clone())),
            ("Result", text("Success")),
            ("Latency", Dynamic::UNIT),
            ("Error", Dynamic::UNIT),
            ("Diagnosis", text(diagnosis)),
        ],
    ))
}

/// Run the test; every way it can fail becomes a Failure result.
fn run_test(store: &Store, b: &Bound, log: &mut Log) -> Dynamic {
    let mut target = b.str("TargetFqdn").map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let outcome = exchange(store, b, &mut target, log);
    match outcome {
        Ok(latency) => {
            log.add("Result", "Success", format!("round trip in {}", format_timespan(latency)));
            task_output(target.as_deref(), "Success", Some(latency), None)
        }
        Err(f) => {
            log.add("Result", "Failure", format!("{} — {}", f.error, f.diagnosis));
            task_output(target.as_deref(), "Failure", None, Some(&f))
        }
    }
}

/// The checks in the order a client meets them, then the round trip. `target` becomes the pool
/// tested when no TargetFqdn was given.
fn exchange(store: &Store, b: &Bound, target: &mut Option<String>, log: &mut Log) -> Result<TimeDelta, Failure> {
    let client = b.set == "ClientPlatform";
    let auth = b.enum_value("Authentication").unwrap_or(if client { "Negotiate" } else { "TrustedServer" });
    log.info(
        "Connect",
        format!("{}, {auth} authentication, Registrar port {}", b.set, b.int("RegistrarPort").unwrap_or(5061)),
    );
    let (pool_row, chat_pools) = target_pools(store, target.as_deref(), log)?;
    let (sender, receiver) = parties(store, b, pool_row.as_ref(), log)?;
    if client {
        check_credential(store, b, "SenderCredential", &sender, log)?;
        check_credential(store, b, "ReceiverCredential", &receiver, log)?;
    }
    for party in [&sender, &receiver] {
        if let Err(e) = check_policy(store, &party.user) {
            let governing = store.effective_policy(party.sip())?.identity;
            return Err(failure(
                format!("the {} {}", party.role, e.message),
                format!(
                    "Enable Persistent Chat for {sip}: set_cs_persistent_chat_policy(\"{governing}\", #{{EnablePersistentChat: true}}) (the policy that governs the user), or grant the user a per-user policy that enables it: grant_cs_persistent_chat_policy(\"{sip}\", \"<policy>\").",
                    sip = party.sip()
                ),
            ));
        }
        log.add("Policy", "Success", format!("{} {} may use Persistent Chat", party.role, party.sip()));
    }
    let (pool, room) = choose_room(store, b, &chat_pools, &sender, &receiver, log)?;
    if target.is_none() {
        *target = Some(pool.fqdn.clone());
    }
    round_trip(store, &pool, &room, &sender, &receiver, log)
}

/// The pool named by TargetFqdn (any pool of the topology, 3.54) and the Persistent Chat pools
/// whose rooms the test may use: that pool if it is one, else all of them (a Registrar pool
/// reaches every Persistent Chat pool).
fn target_pools(
    store: &Store,
    target: Option<&str>,
    log: &mut Log,
) -> Result<(Option<PoolRow>, Vec<PoolTarget>), Failure> {
    let pools = store.pools()?;
    let chat: Vec<&PoolRow> = pools.iter().filter(|p| p.is_pchat).collect();
    if chat.is_empty() {
        return Err(failure(
            "the topology has no Persistent Chat pool",
            "Publish a topology with a PersistentChatServer pool (publish_cs_topology(\"topology.json\")).",
        ));
    }
    let row = match target {
        None => None,
        Some(t) => {
            let Some(row) = pools.iter().find(|p| p.fqdn.eq_ignore_ascii_case(t)) else {
                let names: Vec<&str> = chat.iter().map(|p| p.fqdn.as_str()).collect();
                return Err(failure(
                    format!("'{t}' is not a pool of the topology"),
                    format!(
                        "Give the FQDN of a pool of the topology as TargetFqdn; the Persistent Chat pools are {} (see get_cs_service(#{{PersistentChatServer: true}})).",
                        names.join(", ")
                    ),
                ));
            };
            Some(row.clone())
        }
    };
    let serving: Vec<&PoolRow> = match &row {
        Some(p) if p.is_pchat => vec![p],
        _ => chat,
    };
    let mut targets = Vec::new();
    for p in serving {
        match store.pool_target(p) {
            Ok(t) => targets.push(t),
            // A pool whose database is gone fails only when the test needs that very pool.
            Err(e) if row.as_ref().is_some_and(|r| r.is_pchat) => {
                return Err(failure(
                    format!("pool '{}' cannot be reached: {}", p.fqdn, e.message),
                    format!(
                        "Check get_cs_persistent_chat_state(\"PersistentChatServer:{}\") and the pool's database files.",
                        p.fqdn
                    ),
                ));
            }
            Err(e) => log.add("Pool", "Info", format!("skipping pool {}: {}", p.fqdn, e.message)),
        }
    }
    if let Some(r) = &row {
        log.info(
            "Pool",
            format!(
                "target {} ({})",
                r.fqdn,
                if r.is_pchat { "Persistent Chat pool" } else { "routes to the Persistent Chat pools" }
            ),
        );
    }
    Ok((row, targets))
}

/// Sender and receiver: given, or (ServerPlatform) the pool's stored health test users.
fn parties(store: &Store, b: &Bound, pool: Option<&PoolRow>, log: &mut Log) -> Result<(Party, Party), Failure> {
    let stored = match pool {
        Some(p) if b.set == "ServerPlatform" => store.health_test_users(&p.fqdn)?,
        _ => None,
    };
    let pick = |param: &str, fallback: Option<&String>| b.str(param).map(str::to_string).or_else(|| fallback.cloned());
    let sender = pick("SenderSipAddress", stored.as_ref().map(|s| &s.user1));
    let receiver = pick("ReceiverSipAddress", stored.as_ref().map(|s| &s.user2));
    let (Some(sender), Some(receiver)) = (sender, receiver) else {
        let fqdn = pool.map(|p| p.fqdn.as_str()).unwrap_or_default();
        return Err(failure(
            format!(
                "no health-monitoring test users are stored for pool '{fqdn}' and no SenderSipAddress/ReceiverSipAddress was given"
            ),
            format!(
                "Store two test users once: test_cs_persistent_chat_message(\"{fqdn}\", #{{Setup: true, TestUser1SipAddress: \"sip:...\", TestUser2SipAddress: \"sip:...\"}}), or give SenderSipAddress and ReceiverSipAddress."
            ),
        ));
    };
    if let Some(s) = &stored {
        log.info("Users", format!("health test users of {}: {} and {}", s.pool, s.user1, s.user2));
    }
    let resolve = |role: &'static str, param: &'static str, sip: &str| -> Result<Party, Failure> {
        let user = sip_user(store, param, sip).map_err(|e| {
            failure(
                format!("the {role} {} is not a SIP-enabled user: {}", sip_uri(sip), e.message),
                format!(
                    "Give the SIP address of a SIP-enabled user (get_cs_user(\"{}\")), or load the user with import_cs_ad_principal(...){}.",
                    sip_uri(sip),
                    if stored.is_some() { "; to change the stored test users run the Setup again" } else { "" }
                ),
            )
        })?;
        let ancestry = store.ancestry(&user)?;
        Ok(Party { role, param, user, ancestry })
    };
    let sender = resolve("sender", "SenderSipAddress", &sender)?;
    let receiver = resolve("receiver", "ReceiverSipAddress", &receiver)?;
    if sender.user.id == receiver.user.id {
        return Err(failure(
            format!("the sender and the receiver are the same user ({})", sender.sip()),
            "The test exchanges messages between two users: give two different SIP addresses.",
        ));
    }
    log.add("Users", "Success", format!("sender {}, receiver {}", sender.sip(), receiver.sip()));
    Ok((sender, receiver))
}

/// A credential must sign in the very user of its SIP address.
fn check_credential(store: &Store, b: &Bound, param: &str, party: &Party, log: &mut Log) -> Result<(), Failure> {
    let Some(cred) = b.credential(param) else { return Ok(()) };
    let account = cred.user.trim();
    let users: Vec<PrincipalRow> =
        store.find_principals(account)?.into_iter().filter(|p| p.kind == PrincipalKind::User).collect();
    let logon = account_names(store, &party.user);
    let fix = format!(
        "Give a credential of the {} {} as {param}: get_credential(\"{}\").",
        party.role,
        party.sip(),
        logon.replace('\\', "\\\\")
    );
    match users.as_slice() {
        [] => Err(failure(format!("{param}: the account '{account}' is not a user of the directory"), fix)),
        [u] if u.id == party.user.id => {
            log.add("Sign-in", "Success", format!("{param} {account} signs in {}", party.sip()));
            Ok(())
        }
        [u] => Err(failure(
            format!(
                "{param} is the account '{account}' ({}), not the {} {} given by {}",
                u.display_name.as_deref().unwrap_or(&u.name),
                party.role,
                party.sip(),
                party.param
            ),
            fix,
        )),
        _ => Err(failure(format!("{param}: the account '{account}' matches {} users", users.len()), fix)),
    }
}

/// How an administrator names a user's account: DOMAIN\logon, else the UPN, else the DN.
fn account_names(store: &Store, user: &PrincipalRow) -> String {
    let domain = store.meta("domain_netbios").ok().flatten();
    match (&domain, &user.sam, &user.upn) {
        (Some(d), Some(sam), _) => format!("{d}\\{sam}"),
        (_, _, Some(upn)) => upn.clone(),
        _ => user.dn.clone(),
    }
}

/// The broken rule, naming the user it keeps out.
fn denial_text(d: &Denial, room: &RoomRow, party: &Party) -> String {
    let message = d.error(room, party.sip()).message;
    match d {
        Denial::Disabled => message,
        _ => format!("the {} {message}", party.role),
    }
}

/// What to change so that a user may use a room.
fn fix_for(d: &Denial, room: &RoomRow, party: &Party) -> String {
    let id = identity(room).replace('\\', "\\\\");
    let sip = party.sip();
    match d {
        Denial::Disabled => format!("Enable the room: set_cs_persistent_chat_room(\"{id}\", #{{Disabled: false}})."),
        Denial::OutOfScope { category } => format!(
            "Bring {sip} into the scope of category '{category}': add the user (or a group or OU holding it) to its AllowedMembers and make sure no DeniedMembers entry covers it (set_cs_persistent_chat_category(\"{}\\\\{category}\", #{{AllowedMembers: #{{Add: \"{sip}\"}}}})).",
            room.pool()
        ),
        Denial::NotMember { .. } => format!(
            "Add {sip} to the room's Members: set_cs_persistent_chat_room(\"{id}\", #{{Members: #{{Add: \"{sip}\"}}}})."
        ),
        Denial::NotPresenter => format!(
            "Make {sip} a presenter of the Auditorium room (set_cs_persistent_chat_room(\"{id}\", #{{Presenters: #{{Add: \"{sip}\"}}}})), or test in a Normal room."
        ),
    }
}

/// Why the pair cannot use a room (the sender must post, the receiver must join), if they cannot.
fn pair_denial(
    store: &Store,
    pool: &PoolTarget,
    room: &RoomRow,
    sender: &Party,
    receiver: &Party,
) -> Result<Option<(Denial, bool)>, Failure> {
    if let Some(d) = denial(store, pool, room, &sender.ancestry, true)? {
        return Ok(Some((d, true)));
    }
    Ok(denial(store, pool, room, &receiver.ancestry, false)?.map(|d| (d, false)))
}

/// The room of the test: -ChatRoomUri, else the first room (pools in order, rooms by name) the
/// sender may post in and the receiver may join.
fn choose_room(
    store: &Store,
    b: &Bound,
    pools: &[PoolTarget],
    sender: &Party,
    receiver: &Party,
    log: &mut Log,
) -> Result<(PoolTarget, RoomRow), Failure> {
    let who = |is_sender: bool| if is_sender { sender } else { receiver };
    if let Some(uri) = b.str("ChatRoomUri") {
        let (pool, room) = room_by_identity(store, uri).map_err(|e| {
            failure(
                format!("ChatRoomUri: {}", e.message),
                "Give an existing room as <poolFqdn>\\<Name> (get_cs_persistent_chat_room() lists them), or omit ChatRoomUri to use the first room both users can join.",
            )
        })?;
        if !pools.iter().any(|p| p.fqdn.eq_ignore_ascii_case(&pool.fqdn)) {
            return Err(failure(
                format!(
                    "chat room '{}' is on pool {}, which the target pool does not serve",
                    identity(&room),
                    pool.fqdn
                ),
                format!("Give a room of the target pool, or test with TargetFqdn {}.", pool.fqdn),
            ));
        }
        if let Some((d, is_sender)) = pair_denial(store, &pool, &room, sender, receiver)? {
            let party = who(is_sender);
            return Err(failure(denial_text(&d, &room, party), fix_for(&d, &room, party)));
        }
        log.add("Room", "Success", format!("{} (given)", identity(&room)));
        return Ok((pool, room));
    }
    let mut seen = 0;
    let mut reasons = Vec::new();
    let mut first_fix = None;
    for pool in pools {
        let mut rooms = store.rooms(pool, &RoomQuery::default())?;
        store.load_room_lists(pool, &mut rooms)?;
        for room in rooms {
            seen += 1;
            match pair_denial(store, pool, &room, sender, receiver)? {
                None => {
                    log.add("Room", "Success", format!("{} (the first room both users can use)", identity(&room)));
                    return Ok((pool.clone(), room));
                }
                Some((d, is_sender)) => {
                    let party = who(is_sender);
                    let why = denial_text(&d, &room, party);
                    log.info("Room", format!("skipping {}: {why}", identity(&room)));
                    if reasons.len() < REASONS_SHOWN {
                        reasons.push(why);
                    }
                    // The cheapest fix wins: a membership before a scope, a scope before enabling a room.
                    let rank = match d {
                        Denial::NotMember { .. } => 0,
                        Denial::OutOfScope { .. } => 1,
                        Denial::NotPresenter => 2,
                        Denial::Disabled => 3,
                    };
                    if first_fix.as_ref().is_none_or(|(r, _)| rank < *r) {
                        first_fix = Some((rank, fix_for(&d, &room, party)));
                    }
                }
            }
        }
    }
    let pools_text = pools.iter().map(|p| p.fqdn.as_str()).collect::<Vec<_>>().join(", ");
    if seen == 0 {
        return Err(failure(
            format!("no chat room exists on {pools_text}"),
            format!(
                "Create a room both users can join: new_cs_persistent_chat_room(#{{Name: \"HealthCheck\", PersistentChatPoolFqdn: \"{}\", Category: \"<category>\"}}).",
                pools.first().map(|p| p.fqdn.as_str()).unwrap_or_default()
            ),
        ));
    }
    let more = if seen > reasons.len() { format!(" (and {} more)", seen - reasons.len()) } else { String::new() };
    Err(failure(
        format!(
            "none of the {seen} chat rooms of {pools_text} lets {} post and {} join: {}{more}",
            sender.sip(),
            receiver.sip(),
            reasons.join("; ")
        ),
        format!(
            "{} Or give a room both users can use with ChatRoomUri.",
            first_fix.map(|(_, fix)| fix).unwrap_or_default()
        ),
    ))
}

/// Post as the sender, read back as the receiver, and the reverse when the receiver may post,
/// through the message path; everything is undone afterwards. Returns the measured latency.
fn round_trip(
    store: &Store,
    pool: &PoolTarget,
    room: &RoomRow,
    sender: &Party,
    receiver: &Party,
    log: &mut Log,
) -> Result<TimeDelta, Failure> {
    let reply = denial(store, pool, room, &receiver.ancestry, true)?.is_none();
    store.savepoint()?;
    let started = Instant::now();
    let result = (|| -> CmdletResult<()> {
        let pd = pool_data(store, pool)?;
        let mut legs = vec![(sender, receiver)];
        if reply {
            legs.push((receiver, sender));
        }
        for (from, to) in legs {
            let at = micros(Utc::now().naive_utc());
            let body = format!("Test-CsPersistentChatMessage {} from {}", uuid::Uuid::new_v4(), from.sip());
            let sent = post(&pd, room, from.sip(), &body, at)?;
            let q = MessageQuery { from: Some(at), ..Default::default() };
            let seen =
                store.messages(&pd.target().schema, room.id, &q)?.iter().any(|m| m.message_id == sent.message_id);
            if !seen {
                return Err(CmdletError::invalid_operation(format!(
                    "{} posted message {} but {} could not read it back",
                    from.sip(),
                    sent.message_id,
                    to.sip()
                )));
            }
            log.add(
                "Message",
                "Success",
                format!("{} posted in {} and {} read it", from.sip(), identity(room), to.sip()),
            );
        }
        Ok(())
    })();
    let elapsed = started.elapsed();
    store.rollback_to_savepoint();
    if !reply {
        log.info(
            "Message",
            format!("no reply: {} may join but not post in Auditorium room {}", receiver.sip(), identity(room)),
        );
    }
    log.info("Cleanup", "the test messages were rolled back; nothing was kept");
    result.map_err(|e| {
        failure(
            format!("the message exchange in '{}' failed: {}", identity(room), e.message),
            format!(
                "The pool must accept writes to its databases: check get_cs_persistent_chat_state(\"PersistentChatServer:{}\") and its database files.",
                pool.fqdn
            ),
        )
    })?;
    Ok(TimeDelta::from_std(elapsed).unwrap_or(TimeDelta::MAX))
}
