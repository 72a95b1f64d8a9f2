//! Which pool databases a chat-object call reads: one Persistent Chat pool or all of them, each
//! with the schema alias of the database serving it now.

use super::Store;
use crate::errors::CmdletResult;

/// A Persistent Chat pool and the attached schema serving it (see `Store::serving_schema`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolTarget {
    pub fqdn: String,
    pub schema: String,
}

impl Store {
    /// The named pool (NotFound when it is not a Persistent Chat pool), or every Persistent Chat
    /// pool in FQDN order when `fqdn` is `None`.
    pub fn chat_pools(&self, fqdn: Option<&str>) -> CmdletResult<Vec<PoolTarget>> {
        let pools = match fqdn {
            Some(f) => vec![self.pchat_pool(Some(f))?],
            None => self.pools()?.into_iter().filter(|p| p.is_pchat).collect(),
        };
        pools.into_iter().map(|p| Ok(PoolTarget { schema: self.serving_schema(&p)?, fqdn: p.fqdn })).collect()
    }

    /// The pool a New-* cmdlet writes to: the named one, or the only one (reference 1.10 #1-2).
    pub fn chat_pool_for_new(&self, fqdn: Option<&str>) -> CmdletResult<PoolTarget> {
        let p = self.pchat_pool(fqdn)?;
        Ok(PoolTarget { schema: self.serving_schema(&p)?, fqdn: p.fqdn })
    }
}
