//! Who a session acts as and what its roles let it do.
//!
//! The acting identity is declared (`--as`, `PCHAT_USER`) or taken from the operating-system
//! account; it is a declaration, not authentication. Roles come from the directory: a role is held
//! by the members, direct or nested, of the group whose logon name is the role's name. Until the
//! CsAdministrator role's group has a user, every session holds CsAdministrator, so a new store
//! cannot lock its owner out.
//!
//! The role set is resolved once and reused while the directory and roles are unchanged (see
//! `AccessKey`): a cmdlet call costs two small reads, not a directory walk.

use std::cell::RefCell;
use std::rc::Rc;

use crate::catalog::Cmdlet;
use crate::errors::{CmdletError, CmdletResult};
use crate::store::Store;
use crate::store::access::AccessKey;
use crate::store::directory::{PrincipalRow, RoleRow, dn_within, normalize_dn};

/// The role whose group turns enforcement on.
pub const ADMINISTRATOR_ROLE: &str = "CsAdministrator";

/// Where the acting identity came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Declared {
    /// `--as NAME` or `PCHAT_USER`: any identity form of exactly one user.
    Named(String),
    /// The operating-system account's logon name, matched to a user's SamAccountName.
    Os(String),
}

impl Declared {
    /// `--as`/`PCHAT_USER` when given, else the operating-system account.
    pub fn from(named: Option<&str>) -> Declared {
        match named.map(str::trim).filter(|n| !n.is_empty()) {
            Some(name) => Declared::Named(name.to_string()),
            None => Declared::Os(os_login()),
        }
    }
}

/// The logon name of the account this process runs under (cron runs a job as its owner).
fn os_login() -> String {
    #[cfg(unix)]
    {
        // SAFETY: getpwuid_r writes only into the buffers given; the name is copied out before
        // they go out of scope.
        unsafe {
            let mut pwd: libc::passwd = std::mem::zeroed();
            let mut buf = vec![0 as libc::c_char; 4096];
            let mut found: *mut libc::passwd = std::ptr::null_mut();
            if libc::getpwuid_r(libc::geteuid(), &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) == 0
                && !found.is_null()
                && !pwd.pw_name.is_null()
                && let Ok(name) = std::ffi::CStr::from_ptr(pwd.pw_name).to_str()
            {
                return name.to_string();
            }
        }
    }
    ["USER", "LOGNAME", "USERNAME"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|n| !n.is_empty()))
        .unwrap_or_else(|| "unknown".into())
}

/// What the acting identity may do, as of one moment of the directory.
#[derive(Debug)]
pub struct Grants {
    /// `DOMAIN\sam` (or the user's DN when the directory has no NetBIOS name), or
    /// `local:<login>` for an operating-system account that is no directory user.
    pub actor: String,
    /// Whether roles are enforced (the CsAdministrator role's group has a user).
    pub enforced: bool,
    /// The roles the actor holds (every role when not enforced... see `allows`).
    held: Vec<RoleRow>,
    /// Every role, to name one that would allow a refused cmdlet.
    all: Vec<RoleRow>,
    /// Why the declared identity matches no user (only for an operating-system account).
    unmatched: Option<String>,
}

/// The users a cmdlet call may change, from the scopes of the roles that allow the cmdlet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserScope {
    Any,
    /// Users inside one of these OUs (distinguished names).
    Within(Vec<String>),
}

impl UserScope {
    pub fn admits(&self, dn: &str) -> bool {
        match self {
            UserScope::Any => true,
            UserScope::Within(roots) => {
                let dn = normalize_dn(dn);
                roots.iter().any(|root| dn_within(&dn, root))
            }
        }
    }
}

impl Grants {
    /// Is this cmdlet governed by roles? Every Cs cmdlet and extension is; utilities
    /// (Get-Credential) are not.
    pub fn governs(cmdlet: &Cmdlet) -> bool {
        cmdlet.name.contains("-Cs")
    }

    /// May the actor run this cmdlet, and on which users? A refusal names the actor, the cmdlet
    /// and a role that would allow it.
    pub fn allows(&self, cmdlet: &Cmdlet) -> CmdletResult<UserScope> {
        if !self.enforced || !Grants::governs(cmdlet) {
            return Ok(UserScope::Any);
        }
        let granting: Vec<&RoleRow> = self.held.iter().filter(|r| lists(r, cmdlet.name)).collect();
        if granting.is_empty() {
            return Err(self.refusal(cmdlet));
        }
        if granting.iter().any(|r| r.user_scopes.is_empty()) {
            return Ok(UserScope::Any);
        }
        let roots = granting
            .iter()
            .flat_map(|r| &r.user_scopes)
            .map(|s| normalize_dn(s.split_once(':').map_or(s.as_str(), |(_, dn)| dn)))
            .collect();
        Ok(UserScope::Within(roots))
    }

    fn refusal(&self, cmdlet: &Cmdlet) -> CmdletError {
        if let Some(why) = &self.unmatched {
            return CmdletError::access_denied(format!(
                "{} may not run {}: {why}, and roles are enforced in this store; run pchat with --as NAME (or set PCHAT_USER=NAME) naming your directory user",
                self.actor, cmdlet.name
            ))
            .terminating();
        }
        // The narrowest role that allows it: the least to ask for.
        let would = self.all.iter().filter(|r| lists(r, cmdlet.name)).min_by_key(|r| r.cmdlets.len());
        let held = if self.held.is_empty() {
            "holds no role".to_string()
        } else {
            format!("holds {}", self.held.iter().map(|r| r.identity.as_str()).collect::<Vec<_>>().join(", "))
        };
        let hint = match would {
            Some(r) => format!("; the role {0} allows it (membership of the directory group '{0}')", r.identity),
            None => "; no role allows it".to_string(),
        };
        CmdletError::access_denied(format!("{} may not run {} ({held}){hint}", self.actor, cmdlet.name)).terminating()
    }

    /// The per-object refusal for a user outside the scopes of the actor's roles.
    pub fn out_of_scope(&self, cmdlet: &Cmdlet, scope: &UserScope, dn: &str) -> CmdletError {
        let scopes = match scope {
            UserScope::Any => String::new(),
            UserScope::Within(roots) => roots.iter().map(|r| format!("OU:{r}")).collect::<Vec<_>>().join(", "),
        };
        CmdletError::access_denied(format!(
            "{} may not run {} on '{dn}': outside the user scopes of the roles that allow it ({scopes})",
            self.actor, cmdlet.name
        ))
        .with_target(dn)
    }
}

fn lists(role: &RoleRow, cmdlet: &str) -> bool {
    role.cmdlets.iter().any(|c| c.eq_ignore_ascii_case(cmdlet))
}

/// The session's acting identity and its role set, resolved when first needed and again only
/// when the directory or roles changed.
pub struct Access {
    declared: Declared,
    /// The grants, the key they were resolved at, and the locked moment they were last found
    /// current in (see `Store::locked_moment`): a pipeline under one write lock reads no key.
    resolved: RefCell<Option<Resolved>>,
}

/// Grants with the key they were resolved at and the locked moment they were last found current in.
type Resolved = (AccessKey, Option<(u64, u64)>, Rc<Grants>);

impl Access {
    pub fn new(declared: Declared) -> Access {
        Access { declared, resolved: RefCell::new(None) }
    }

    /// Forget the grants: the store was opened again (engine/reconnect.rs), and the locked
    /// moment they were last found current in counts the old store's transactions.
    pub fn forget(&self) {
        *self.resolved.borrow_mut() = None;
    }

    /// A declared name must be exactly one user (checked when the session starts).
    pub fn check_declared(&self, store: &Store) -> Result<(), String> {
        match &self.declared {
            Declared::Named(name) => named_user(store, name).map(|_| ()),
            Declared::Os(_) => Ok(()),
        }
    }

    /// The grants as of now: the cached ones when nothing they depend on changed.
    pub fn grants(&self, store: &Store) -> CmdletResult<Rc<Grants>> {
        let moment = store.locked_moment();
        if let Some((_, seen, grants)) = self.resolved.borrow().as_ref()
            && moment.is_some()
            && *seen == moment
        {
            return Ok(grants.clone());
        }
        let key = store.access_key()?;
        let mut resolved = self.resolved.borrow_mut();
        if let Some((k, seen, grants)) = resolved.as_mut()
            && *k == key
        {
            *seen = moment;
            return Ok(grants.clone());
        }
        let grants = Rc::new(self.resolve(store)?);
        *resolved = Some((key, moment, grants.clone()));
        Ok(grants)
    }

    fn resolve(&self, store: &Store) -> CmdletResult<Grants> {
        let enforced = store.group_has_user(ADMINISTRATOR_ROLE)?;
        let all = store.roles()?;
        let (user, unmatched) = match &self.declared {
            Declared::Named(name) => match named_user(store, name) {
                Ok(user) => (Some(user), None),
                Err(why) => (None, Some(why)),
            },
            Declared::Os(login) => {
                let mut users = store.users_by_logon(login)?;
                match users.len() {
                    1 => (users.pop(), None),
                    0 => (None, Some(format!("the account '{login}' matches no directory user's logon name"))),
                    n => (None, Some(format!("the account '{login}' matches {n} directory users' logon names"))),
                }
            }
        };
        let actor = match (&user, &self.declared) {
            (Some(u), _) => actor_name(store, u)?,
            (None, Declared::Os(login)) => format!("local:{login}"),
            (None, Declared::Named(name)) => name.clone(),
        };
        let held = if !enforced {
            all.iter().filter(|r| r.identity.eq_ignore_ascii_case(ADMINISTRATOR_ROLE)).cloned().collect()
        } else if let Some(u) = &user {
            let groups = store.group_names_of(&u.dn)?;
            all.iter().filter(|r| groups.iter().any(|g| g.eq_ignore_ascii_case(&r.identity))).cloned().collect()
        } else {
            Vec::new()
        };
        Ok(Grants { actor, enforced, held, all, unmatched })
    }
}

/// The one user a declared name names. A bare name (no `\`, `@`, `:` or `=`) is a display name
/// or a logon name (SamAccountName, as the operating-system account is matched): `--as annb`
/// needs no `contoso\`. Both are looked for, so a name that is one user's display name and
/// another's logon name is refused as ambiguous rather than acting as either.
fn named_user(store: &Store, name: &str) -> Result<PrincipalRow, String> {
    let is_user = |p: &PrincipalRow| p.kind == crate::catalog::enums::PrincipalKind::User;
    let mut users: Vec<PrincipalRow> =
        store.find_principals(name).map_err(|e| e.to_string())?.into_iter().filter(is_user).collect();
    let bare = !name.contains(['\\', '@', ':', '=']) && !crate::values::wildcard::has_wildcards(name);
    if bare {
        let mut by_logon = store.users_by_logon(name).map_err(|e| e.to_string())?;
        if by_logon.is_empty() && !name.is_ascii() {
            // The column folds A–Z only; `DOMAIN\logon` folds every letter (by a scan), as the
            // directory does.
            let domain = store.meta("domain_netbios").map_err(|e| e.to_string())?.unwrap_or_default();
            by_logon = store.find_principals(&format!("{domain}\\{name}")).map_err(|e| e.to_string())?;
        }
        for user in by_logon.into_iter().filter(is_user) {
            if !users.iter().any(|u| u.dn == user.dn) {
                users.push(user);
            }
        }
    }
    let forms = "give a SIP address, UPN, DOMAIN\\logon, logon name, display name or DN of a user";
    match users.len() {
        1 => Ok(users.remove(0)),
        0 => Err(format!(
            "'{name}' (from --as or PCHAT_USER) names no directory user{}; {forms}",
            nearest_user(store, name)?
        )),
        n => {
            let domain = store.meta("domain_netbios").map_err(|e| e.to_string())?;
            let named: Vec<String> = users
                .iter()
                .take(5)
                .map(|u| match (&domain, &u.sam) {
                    (Some(d), Some(sam)) => format!("{d}\\{sam} ({})", u.dn),
                    _ => u.dn.clone(),
                })
                .collect();
            let more = if n > named.len() { format!("; and {} more", n - named.len()) } else { String::new() };
            Err(format!(
                "'{name}' (from --as or PCHAT_USER) names {n} directory users ({}{more}); give a SIP address or DOMAIN\\logon",
                named.join("; ")
            ))
        }
    }
}

/// "; did you mean 'annb'?": the user identity closest to a name that names nobody.
fn nearest_user(store: &Store, name: &str) -> Result<String, String> {
    let users: Vec<PrincipalRow> = store
        .principals()
        .map_err(|e| e.to_string())?
        .into_iter()
        .filter(|p| p.kind == crate::catalog::enums::PrincipalKind::User)
        .collect();
    let names = users.iter().flat_map(|u| {
        [u.sam.as_deref(), u.sip.as_deref(), u.upn.as_deref(), u.display_name.as_deref(), Some(u.dn.as_str())]
            .into_iter()
            .flatten()
    });
    // `contoso\annbb` is compared by its logon part.
    let given = name.rsplit('\\').next().unwrap_or(name);
    Ok(crate::binder::suggest(given, names).map(|n| format!("; did you mean '{n}'?")).unwrap_or_default())
}

/// How the audit names a user: `DOMAIN\sam`, else the DN.
fn actor_name(store: &Store, user: &PrincipalRow) -> CmdletResult<String> {
    Ok(match (store.meta("domain_netbios")?, &user.sam) {
        (Some(domain), Some(sam)) => format!("{domain}\\{sam}"),
        _ => user.dn.clone(),
    })
}
