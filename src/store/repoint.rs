//! Publish-CsTopology giving an SQL instance another `File` (SQLite) or `Connection`
//! (PostgreSQL) while it holds a copy of a pool: the instance then names a place where that copy
//! is not. pchat never moves a copy, nor drops the old database or deletes the old file, so such
//! a publish is refused when the old copy is the only one holding the pool's whole history, and
//! otherwise goes ahead with a warning naming the pool, both places and the repair that rebuilds
//! the copy from the other one.

use super::Store;
use super::failover::{CopyState, Side, describe, repair_call};
use super::topology::{PCHAT_ROLE, PoolRow, TopologySpec};
use crate::errors::{CmdletError, CmdletResult};

impl Store {
    /// The warnings of a publish of `spec` that re-points SQL instances holding copies of the
    /// pools `old`; an error when a re-pointed copy is the pool's only complete one.
    pub(super) fn repointed_copies(&self, old: &[PoolRow], spec: &TopologySpec) -> CmdletResult<Vec<String>> {
        let instances = self.sql_instances()?;
        let mut warnings = Vec::new();
        for pool in old.iter().filter(|p| p.is_pchat) {
            let Some(new) = spec
                .pools
                .iter()
                .find(|n| n.fqdn.eq_ignore_ascii_case(&pool.fqdn) && n.services.iter().any(|s| s.role == PCHAT_ROLE))
            else {
                continue;
            };
            for (side, was, now) in [
                (Side::Primary, &pool.database, &new.database),
                (Side::Backup, &pool.backup_database, &new.backup_database),
            ] {
                // A copy given to another instance is a move, refused or allowed by replace_topology.
                let Some(instance) =
                    was.as_deref().filter(|w| now.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(w)))
                else {
                    continue;
                };
                let place = |list: &[super::topology::SqlInstanceSpec]| {
                    list.iter().find(|s| s.identity.eq_ignore_ascii_case(instance)).map(|s| s.file.clone())
                };
                let (Some(before), Some(after)) = (place(&instances), place(&spec.sql_instances)) else {
                    continue;
                };
                // A pool never written to has nothing to lose: the new place's copy starts at
                // the pool's first mark, in step.
                if before == after
                    || (!self.is_postgres() && self.dir().join(&after).exists())
                    || self.pool_mark(&pool.fqdn)? == (1, 0)
                {
                    // Unchanged; or, on SQLite, a file already there (a copy of the old one,
                    // say): publishing adopts it only when it is this store's, and its mark
                    // tells whether it is in step.
                    continue;
                }
                if let Some(e) = self.repoint_refusal(pool, side, instance, &before, &after)? {
                    return Err(e);
                }
                let other = if side == Side::Primary { Side::Backup } else { Side::Primary };
                warnings.push(format!(
                    "Publish-CsTopology: SQL instance {instance} now names {} instead of {}: the {} copy of pool '{}' is not there, so the pool is out of step and its changes are refused until you rebuild that copy with {}; {} is left as it is (pchat never drops a database or deletes a file)",
                    self.shown_place(&after),
                    self.shown_place(&before),
                    side.name().to_lowercase(),
                    pool.fqdn,
                    repair_call(&pool.fqdn, other),
                    self.shown_place(&before),
                ));
            }
        }
        Ok(warnings)
    }

    /// Why re-pointing `instance` (the `side` copy of `pool`) from `before` to `after` is
    /// refused: the copy holds changes no other copy holds, or the other copy is not in step
    /// with the pool (none, unavailable, behind), so the old copy is the only complete one.
    fn repoint_refusal(
        &self,
        pool: &PoolRow,
        side: Side,
        instance: &str,
        before: &str,
        after: &str,
    ) -> CmdletResult<Option<CmdletError>> {
        let fqdn = &pool.fqdn;
        let must_stay =
            self.copies_that_must_stay(pool)?.into_iter().find(|(s, _, _)| *s == side).map(|(_, _, why)| why);
        let why = match must_stay {
            Some(why) => why,
            None => {
                let other = if side == Side::Primary { &pool.backup_database } else { &pool.database };
                let mark = self.pool_mark(fqdn)?;
                let other_complete = match other {
                    Some(o) => matches!(self.copy_state(o, fqdn)?, CopyState::Ready { mark: m, .. } if m == mark),
                    None => false,
                };
                if other_complete {
                    return Ok(None);
                }
                match other {
                    None => format!("it is the pool's only copy (the pool has no backup), at {}", describe(mark)),
                    Some(o) => format!("the other copy, {o}, does not hold the pool's {}", describe(mark)),
                }
            }
        };
        let how = if self.is_postgres() {
            "keep its Connection; to move the pool's data to another server, give the pool a backup database there, repair it from this copy, then fail over"
        } else {
            "keep its File, or copy the file (with the store not in use) to the new File first"
        };
        Ok(Some(CmdletError::invalid_operation(format!(
            "the {} database {instance} of pool '{fqdn}' holds the pool's whole history: {why}; the topology would point {instance} at {} instead of {}, where that copy is not, and the pool would lose it ({how})",
            side.name().to_lowercase(),
            self.shown_place(after),
            self.shown_place(before),
        ))))
    }

    /// A pool database's place as messages show it: a file in the store's folder, or a
    /// connection string without its password.
    fn shown_place(&self, place: &str) -> String {
        if self.is_postgres() { super::pg::shown_url(place) } else { self.dir().join(place).display().to_string() }
    }
}
