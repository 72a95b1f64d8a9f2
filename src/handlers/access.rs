//! Who may post where (Send-CsPersistentChatMessage, Test-CsPersistentChatMessage): the effective
//! policy, the room being enabled, privacy, membership and category scope; one function shared by the message path and the synthetic test, so both
//! enforce exactly the same rules.

use crate::catalog::enums::{Named, PrincipalKind, Privacy, RoomType};
use crate::errors::{CmdletError, CmdletResult};
use crate::handlers::room::{category_of_room, identity};
use crate::store::Store;
use crate::store::ancestry::{Ancestry, in_scope};
use crate::store::directory::PrincipalRow;
use crate::store::pools::PoolTarget;
use crate::store::room::RoomRow;

/// Normalise a SIP address to carry the `sip:` prefix.
pub fn sip_uri(s: &str) -> String {
    let s = s.trim();
    if crate::values::text::starts_with_ci(s, "sip:") { s.to_string() } else { format!("sip:{s}") }
}

/// The one directory principal a user parameter names, in any identity form (SIP address, UPN,
/// DOMAIN\logon, display name, DN). NotFound suggests the nearest name; a name shared by several
/// principals, or a wildcard, is an error listing them.
pub fn one_principal(store: &Store, param: &str, identity: &str) -> CmdletResult<PrincipalRow> {
    let id = identity.trim();
    if crate::values::wildcard::has_wildcards(id) {
        return Err(CmdletError::invalid(format!("-{param} names one user; '{id}' is a wildcard")).with_target(id));
    }
    let mut found = store.find_principals(id)?;
    if found.is_empty() && id.contains('@') {
        found = store.principal_by_sip(&sip_uri(id))?.into_iter().collect();
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => {
            let users = store.users()?;
            let names = users.iter().flat_map(|u| {
                [u.sip.as_deref(), u.upn.as_deref(), u.display_name.as_deref(), Some(u.dn.as_str())]
                    .into_iter()
                    .flatten()
            });
            let bare = |s: &str| s.strip_prefix("sip:").unwrap_or(s).to_string();
            let hint = crate::binder::suggest(&bare(id), names)
                .or_else(|| {
                    // DOMAIN\logon: compare the logon part with logon names.
                    let logon = id.rsplit('\\').next().unwrap_or(id);
                    crate::binder::suggest(logon, users.iter().filter_map(|u| u.sam.as_deref()))
                })
                .map(|n| format!("; did you mean '{n}'?"))
                .unwrap_or_default();
            Err(CmdletError::not_found(format!(
                "-{param}: no user '{id}' in the directory{hint} (give a SIP address, UPN, DOMAIN\\logon, display name or DN; see get_cs_user())"
            ))
            .with_target(id))
        }
        n => Err(CmdletError::invalid(format!(
            "-{param}: '{id}' names {n} principals ({}); give a SIP address or DN",
            found.iter().map(|p| p.dn.as_str()).collect::<Vec<_>>().join("; ")
        ))
        .with_target(id)),
    }
}

/// The SIP-enabled user a parameter names (any identity form); NotFound names what would be valid.
pub fn sip_user(store: &Store, param: &str, identity: &str) -> CmdletResult<PrincipalRow> {
    let p = one_principal(store, param, identity)?;
    if p.kind == PrincipalKind::User && p.sip.is_some() {
        return Ok(p);
    }
    Err(CmdletError::invalid(format!(
        "-{param} '{}' is a {} ({}), not a SIP-enabled user",
        identity.trim(),
        p.kind.name().to_lowercase(),
        p.dn
    ))
    .with_target(identity.trim()))
}

/// A user parameter that filters by what users left behind (room lists, messages): the user it
/// names, or a SIP address no longer in the directory, whose entries outlive the user. The
/// caller answers `gone`'s NotFound when nothing at all matches the address.
pub struct UserFilter {
    /// The key list entries and messages hold (SIP address of a user, else DN).
    pub key: String,
    pub gone: Option<CmdletError>,
}

pub fn user_filter(store: &Store, param: &str, identity: &str) -> CmdletResult<UserFilter> {
    match one_principal(store, param, identity) {
        Ok(p) => Ok(UserFilter { key: crate::store::ancestry::principal_key(&p), gone: None }),
        Err(e)
            if e.kind == crate::errors::ErrorKind::NotFound && identity.contains('@') && !identity.contains('\\') =>
        {
            Ok(UserFilter { key: sip_uri(identity), gone: Some(e) })
        }
        Err(e) => Err(e),
    }
}

/// Can the user use Persistent Chat at all (the effective policy enables Persistent Chat)?
pub fn check_policy(store: &Store, user: &PrincipalRow) -> CmdletResult<()> {
    let sip = user.sip.clone().unwrap_or_default();
    let policy = store.effective_policy(&sip)?;
    if policy.enable_persistent_chat {
        return Ok(());
    }
    Err(CmdletError::new(
        crate::errors::ErrorKind::NotEligible,
        format!(
            "'{sip}' may not use Persistent Chat: the effective policy {} has EnablePersistentChat False (grant a per-user policy that enables it, or enable the site or Global policy)",
            policy.identity
        ),
    )
    .with_target(sip))
}

/// Why a user may not use a room: the policy, room and membership rules, each a separate case so the
/// synthetic test can say exactly what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denial {
    Disabled,
    /// Outside the category's AllowedMembers (or inside its DeniedMembers).
    OutOfScope {
        category: String,
    },
    /// A Closed or Secret room with Members that do not cover the user.
    NotMember {
        privacy: Privacy,
    },
    /// An Auditorium room in which the user is not a presenter (posting only).
    NotPresenter,
}

impl Denial {
    /// The error the message path reports for this denial.
    pub fn error(&self, room: &RoomRow, sip: &str) -> CmdletError {
        let room_id = identity(room);
        let (kind, message) = match self {
            Denial::Disabled => (
                crate::errors::ErrorKind::InvalidOperation,
                format!(
                    "chat room '{room_id}' is disabled (enable it with set_cs_persistent_chat_room(#{{Disabled: false}}))"
                ),
            ),
            Denial::OutOfScope { category } => (
                crate::errors::ErrorKind::NotEligible,
                format!(
                    "'{sip}' may not take part in '{room_id}': not in the scope of category '{category}' (AllowedMembers/DeniedMembers)"
                ),
            ),
            Denial::NotMember { privacy } => (
                crate::errors::ErrorKind::NotEligible,
                format!(
                    "'{sip}' may not take part in '{room_id}': the room is {privacy} and the user is not one of its Members"
                ),
            ),
            Denial::NotPresenter => (
                crate::errors::ErrorKind::NotEligible,
                format!("'{sip}' may not post in '{room_id}': it is an Auditorium room and only its Presenters post"),
            ),
        };
        CmdletError::new(kind, message).with_target(room_id)
    }
}

/// The first rule that keeps a user (given by the ancestry of their directory entry, which a
/// caller trying many rooms resolves once) out of the room (`post`: also the Auditorium rule).
pub fn denial(
    store: &Store,
    pool: &PoolTarget,
    room: &RoomRow,
    ancestry: &Ancestry,
    post: bool,
) -> CmdletResult<Option<Denial>> {
    if room.disabled() {
        return Ok(Some(Denial::Disabled));
    }
    let category = category_of_room(store, pool, room)?;
    if !in_scope(ancestry, &category.allowed, &category.denied) {
        return Ok(Some(Denial::OutOfScope { category: category.name().to_string() }));
    }
    if room.privacy() != Privacy::Open && !room.members.is_empty() && !ancestry.covered_by(&room.members) {
        return Ok(Some(Denial::NotMember { privacy: room.privacy() }));
    }
    if post && room.room_type() == RoomType::Auditorium && !ancestry.covered_by(&room.presenters) {
        return Ok(Some(Denial::NotPresenter));
    }
    Ok(None)
}

/// May the user post in the room: may join it, and in an Auditorium room is a presenter.
pub fn check_post(store: &Store, pool: &PoolTarget, room: &RoomRow, user: &PrincipalRow) -> CmdletResult<()> {
    match denial(store, pool, room, &store.ancestry(user)?, true)? {
        Some(d) => Err(d.error(room, user.sip.as_deref().unwrap_or_default())),
        None => Ok(()),
    }
}
