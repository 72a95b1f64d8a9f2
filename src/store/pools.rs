//! Which pool databases a chat-object call reads and writes: one Persistent Chat pool or all of
//! them, each with the database serving it now and, in Normal state, the backup every change must
//! also reach (see `store::pool_data`).

use std::cell::Cell;

use super::Store;
use super::topology::PoolRow;
use crate::errors::CmdletResult;

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
    /// Whether this invocation already counted its change in `pool_sync`.
    pub(super) counted: Cell<bool>,
}

impl Store {
    /// The pool as it must be accessed now. A pool whose serving database is unavailable cannot
    /// be accessed at all; one whose backup is unavailable (Normal state) can be read, but every
    /// write is refused, so a change can never reach one copy and miss the other.
    pub fn pool_target(&self, pool: &PoolRow) -> CmdletResult<PoolTarget> {
        let schema = self.serving_schema(pool)?;
        let (mirror, mirror_missing) = match (&pool.state[..], &pool.backup_database) {
            ("Normal", Some(backup)) => match self.pool_schema(backup) {
                Some(m) => (Some(m), None),
                None => (
                    None,
                    Some(format!(
                        "the backup database {backup} of pool '{}' is unavailable{}; changes would not reach it (repair the file, or fail the pool over)",
                        pool.fqdn,
                        self.unavailable_reason(backup).map(|r| format!(" ({r})")).unwrap_or_default()
                    )),
                ),
            },
            _ => (None, None),
        };
        Ok(PoolTarget { fqdn: pool.fqdn.clone(), schema, mirror, mirror_missing, counted: Cell::new(false) })
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
    use crate::errors::{CmdletError, ErrorKind};

    #[test]
    fn a_write_that_cannot_reach_the_backup_is_refused_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("s.db")).unwrap();
        let target = PoolTarget {
            fqdn: "pc01.contoso.com".into(),
            schema: "main".into(),
            mirror: None,
            mirror_missing: Some("the backup database sql02 of pool 'pc01.contoso.com' is unavailable".into()),
            counted: Cell::new(false),
        };
        let err = store.pool_write(&target, "DELETE FROM {db}.meta", &[]).unwrap_err();
        let err = CmdletError::from(err);
        assert_eq!(err.kind, ErrorKind::InvalidOperation);
        assert!(err.message.starts_with("the backup database sql02"), "{}", err.message);
    }
}
