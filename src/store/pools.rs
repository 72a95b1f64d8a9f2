//! Which pool databases a chat-object call reads and writes: one Persistent Chat pool or all of
//! them, each with the database serving it now and, in Normal state, the backup every change must
//! also reach (see `store::pool_data`).

use super::Store;
use super::failover::{self, CopyState, Mark, Side};
use super::sessions::Behind;
use super::topology::PoolRow;
use crate::catalog::enums::PoolState;
use crate::errors::{CmdletError, CmdletResult};

/// A Persistent Chat pool, the attached schema serving it, and the schema mirroring it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolTarget {
    pub fqdn: String,
    /// Read from here; writes go here first.
    pub schema: String,
    /// The backup of a pool in Normal state: every write is applied here too.
    pub mirror: Option<String>,
    /// Why the backup a write must also reach is unavailable (writes are refused).
    pub mirror_missing: Option<String>,
}

impl Store {
    /// The pool as it must be accessed now. The copy serving it must hold the pool's mark (see
    /// `store::failover`), else the pool cannot be accessed at all; a backup that does not (Normal
    /// state) leaves the pool readable, but every write is refused, so a change can never reach
    /// one copy and miss the other. Checked in the caller's transaction: under the write lock for
    /// a change; for a read, a mismatch seen without the lock is checked again under it (a
    /// writer may have been between the commits of the two files).
    ///
    /// On PostgreSQL a copy behind the pool's mark may only be between a writer's decision and
    /// its `COMMIT PREPARED` there (`Store::why_behind`): that is a retryable error, or, after a
    /// dead writer's branches were recovered, the marks read again.
    pub fn pool_target(&self, pool: &PoolRow) -> CmdletResult<PoolTarget> {
        // Once per copy at most: each recovery completes the branches of one.
        for _ in 0..2 {
            if let Some(target) = self.pool_target_once(pool, true)? {
                return Ok(target);
            }
        }
        self.pool_target_once(pool, false)?.ok_or_else(|| {
            CmdletError::invalid_operation(format!("internal: the marks of pool '{}' keep moving", pool.fqdn))
        })
    }

    /// A PostgreSQL copy (`alias`) behind the pool's mark: `Ok(false)` when it is behind,
    /// `Ok(true)` when a dead writer's branches were just recovered there and `recheck` allows
    /// reading the marks again, a retryable error when a change is being completed there.
    fn behind_recovered(&self, alias: &str, recheck: bool) -> CmdletResult<bool> {
        match self.why_behind(alias)? {
            Behind::Truly => Ok(false),
            Behind::Transient(e) => Err(e),
            Behind::Recovered => Ok(recheck),
        }
    }

    /// `pool_target`, or `None` when the marks must be read again (`behind_recovered`).
    fn pool_target_once(&self, pool: &PoolRow, recheck: bool) -> CmdletResult<Option<PoolTarget>> {
        let mark = self.pool_mark(&pool.fqdn)?;
        let (serving, side) = if pool.state == PoolState::FailedOver {
            (pool.backup_database.as_deref(), Side::Backup)
        } else {
            (pool.database.as_deref(), Side::Primary)
        };
        let serving = serving.ok_or_else(|| {
            CmdletError::invalid_operation(format!("pool '{}' has no database in the topology", pool.fqdn))
        })?;
        let schema = match self.copy_state(serving, &pool.fqdn)? {
            CopyState::Ready { schema, mark: held } if held == mark => schema,
            CopyState::Ready { schema, mark: held } => {
                if held < mark && self.is_postgres() && self.behind_recovered(&schema, recheck)? {
                    return Ok(None);
                }
                if !self.is_locked() {
                    self.want_recheck();
                }
                return Err(self.in_flight(self.out_of_step(pool, serving, side, held, mark)));
            }
            CopyState::Unavailable(why) => return Err(self.serving_unavailable(pool, serving, &why)),
        };
        let (mirror, mirror_missing) = match (pool.state, &pool.backup_database) {
            (PoolState::Normal, Some(backup)) => match self.copy_state(backup, &pool.fqdn)? {
                CopyState::Ready { schema, mark: held } if held == mark => (Some(schema), None),
                CopyState::Ready { schema, mark: held }
                    if held < mark && self.is_postgres() && self.behind_recovered(&schema, recheck)? =>
                {
                    return Ok(None);
                }
                CopyState::Ready { mark: held, .. } => {
                    let why = format!(
                        "the backup database {backup} of pool '{}' holds change {} of generation {} but the pool is at change {} of generation {}; changes would not reach it in step: {}",
                        pool.fqdn,
                        held.1,
                        held.0,
                        mark.1,
                        mark.0,
                        failover::repair_call(&pool.fqdn, Side::Primary)
                    );
                    if self.is_postgres() && self.is_locked() {
                        // A change would be refused: on PostgreSQL, most likely a race (below).
                        return Err(self.in_flight(CmdletError::invalid_operation(why)));
                    }
                    (None, Some(why))
                }
                CopyState::Unavailable(why) if why.contains(super::pool_files::DISK_FULL) => (
                    None,
                    Some(format!(
                        "the backup database {backup} of pool '{}' is unavailable ({why}); changes would not reach it until there is room (no repair or fail-over is needed for this)",
                        pool.fqdn
                    )),
                ),
                CopyState::Unavailable(why) => (
                    None,
                    Some(format!(
                        "the backup database {backup} of pool '{}' is unavailable ({why}); changes would not reach it (rebuild it: {})",
                        pool.fqdn,
                        self.rebuild_advice(backup, &why, failover::repair_call(&pool.fqdn, Side::Primary))
                    )),
                ),
            },
            _ => (None, None),
        };
        Ok(Some(PoolTarget { fqdn: pool.fqdn.clone(), schema, mirror, mirror_missing }))
    }

    /// The serving copy cannot be used: say which file, why, and the command that recovers.
    fn serving_unavailable(&self, pool: &PoolRow, instance: &str, why: &str) -> CmdletError {
        let fqdn = &pool.fqdn;
        let advice = match (pool.state, &pool.backup_database) {
            _ if why.contains(super::WRITTEN_BY_NEWER) => {
                "do not fail over or repair because of it (that would set the newer changes aside)".to_string()
            }
            _ if why.contains(super::pool_files::DISK_FULL) => "no fail-over or repair is needed for this".to_string(),
            (PoolState::Normal, Some(_)) => format!(
                "fail the pool over to its backup: set_cs_persistent_chat_state(\"PersistentChatServer:{fqdn}\", #{{PoolState: \"FailedOver\"}})"
            ),
            (PoolState::FailedOver, _) => {
                format!(
                    "return to the primary: {}",
                    self.rebuild_advice(instance, why, failover::repair_call(fqdn, Side::Primary))
                )
            }
            // Its server answers: there is no server to bring back.
            _ if why.contains(super::DATABASE_MISSING) => "restore the database from a backup of it".to_string(),
            _ if self.is_postgres() => "bring its server back, or restore the database from a backup of it".to_string(),
            _ => "restore the file from a backup of it".to_string(),
        };
        CmdletError::invalid_operation(format!(
            "the database {instance} serving pool '{fqdn}' is unavailable ({why}); {advice}"
        ))
    }

    /// On PostgreSQL a copy's mark read apart from the central one is, as a rule, another
    /// writer's change seen half: each database is read in a snapshot of its own session, taken
    /// at its first statement, so a writer that committed between the two (its decision in the
    /// central database, then `COMMIT PREPARED` in each copy, design notes §3) shows the copy
    /// ahead of or behind the central mark. Such an error is a lost race: the call is run again
    /// from `begin` with new snapshots (engine/retry.rs). A copy that stays out of step uses up
    /// the attempts (step 5 of the port tells a real one apart, by the copies' identity and
    /// prepared branches).
    fn in_flight(&self, mut e: CmdletError) -> CmdletError {
        if self.is_postgres() {
            e.transient = Some(crate::errors::Transient::CopyOutOfStep);
        }
        e
    }

    fn out_of_step(&self, pool: &PoolRow, instance: &str, side: Side, held: Mark, mark: Mark) -> CmdletError {
        let fqdn = &pool.fqdn;
        let other = if side == Side::Primary { pool.backup_database.as_deref() } else { pool.database.as_deref() };
        let other_side = if side == Side::Primary { Side::Backup } else { Side::Primary };
        let other_good = other
            .is_some_and(|o| matches!(self.copy_state(o, fqdn), Ok(CopyState::Ready { mark: m, .. }) if m == mark));
        let way = if other_good {
            failover::repair_call(fqdn, other_side)
        } else {
            format!("{} (see its help for which copy to trust)", failover::repair_call(fqdn, side))
        };
        let what = if held < mark {
            if self.is_postgres() {
                "it is older than the pool's data (a database restored from an older backup, or a change interrupted between the two databases)"
            } else {
                "it is older than the pool's data (an older copy of the file, or a change interrupted between the two files)"
            }
        } else {
            "it is later than the store's record of the pool (the central database was restored from an older copy?)"
        };
        CmdletError::invalid_operation(format!(
            "the database {instance} serving pool '{fqdn}' holds change {} of generation {} but the pool is at change {} of generation {}: {what}; {way}",
            held.1, held.0, mark.1, mark.0
        ))
    }

    /// The named pool (NotFound when it is not a Persistent Chat pool), or every Persistent Chat
    /// pool in FQDN order when `fqdn` is `None`.
    pub fn chat_pools(&self, fqdn: Option<&str>) -> CmdletResult<Vec<PoolTarget>> {
        let pools = match fqdn {
            Some(f) => vec![self.pchat_pool(Some(f))?],
            None => self.pools()?.into_iter().filter(|p| p.is_pchat).collect(),
        };
        pools.iter().map(|p| self.pool_target(p)).collect()
    }

    /// The pool a New-* cmdlet writes to: the named one, or the only one.
    pub fn chat_pool_for_new(&self, fqdn: Option<&str>) -> CmdletResult<PoolTarget> {
        self.pool_target(&self.pchat_pool(fqdn)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::errors::ErrorKind;

    #[test]
    fn a_write_that_cannot_reach_the_backup_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let target = PoolTarget {
            fqdn: "pc01.contoso.com".into(),
            schema: "main".into(),
            mirror: None,
            mirror_missing: Some("the backup database sql02 of pool 'pc01.contoso.com' is unavailable".into()),
        };
        let err = store.pool_write(&target, "DELETE FROM {db}.meta", ()).unwrap_err();
        let err = CmdletError::from(err);
        assert_eq!(err.kind, ErrorKind::InvalidOperation);
        assert!(err.message.starts_with("the backup database sql02"), "{}", err.message);
    }
}
