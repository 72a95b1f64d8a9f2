//! The last check of `copy-store` out of PostgreSQL (`copy_back`): the pool marks of the built
//! copy (each pool's change and generation in the central `pools`, and each copy of its data's
//! `pool_sync`) stand in the same relation as the source's: a source in step yields a copy in
//! step. A copy whose databases came from different moments shows a pool in step as Behind (or
//! ahead), which the per-table checksums cannot see: each file matches its own snapshot.
//!
//! The source's relation is read afresh, at a moment of its own (`copy_gate`), not through the
//! copy's snapshots, which the copy matches by construction. Writes keep a copy's relation (a
//! change reaches every copy of its pool or none); only fail-over, fail-back and repair change
//! it, and one of those during the copy fails the copy, which is then to be run again.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::{Context, bail};

use super::copy_gate::Gate;
use crate::store::db::Db;

/// (generation, change) of a pool; the change is NULL before its first one.
type Mark = (i64, Option<i64>);

/// A pool as the central database names it: its databases and mark.
#[derive(Debug, Clone)]
pub(super) struct PoolRow {
    fqdn: String,
    databases: Vec<String>,
    mark: Mark,
}

/// The marks of a store: the central ones, and each pool database's by lower-case SQL instance
/// (lower-case pool name → mark).
#[derive(Debug, Default)]
pub(super) struct Marks {
    pub central: Vec<PoolRow>,
    pub pools: HashMap<String, HashMap<String, Mark>>,
}

const CENTRAL: &str = "SELECT fqdn, database, backup_database, generation, seq FROM pools";
const POOL: &str = "SELECT pool, seq, generation FROM pool_sync";

pub(super) fn central_marks(db: &Db) -> anyhow::Result<Vec<PoolRow>> {
    Ok(db.query_map(CENTRAL, (), |r| {
        let (primary, backup): (Option<String>, Option<String>) = (r.get(1)?, r.get(2)?);
        Ok(PoolRow {
            fqdn: r.get(0)?,
            databases: primary.into_iter().chain(backup).map(|d| d.to_ascii_lowercase()).collect(),
            mark: (r.get(3)?, r.get(4)?),
        })
    })?)
}

pub(super) fn pool_marks(db: &Db) -> anyhow::Result<HashMap<String, Mark>> {
    let rows: Vec<(String, Option<i64>, i64)> = db.query_map(POOL, (), |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.into_iter().map(|(pool, seq, generation)| (pool.to_ascii_lowercase(), (generation, seq))).collect())
}

/// How a copy of a pool's data stands to the pool's mark.
fn relation(marks: &Marks, pool: &PoolRow, instance: &str) -> Option<String> {
    let held = marks.pools.get(instance)?.get(&pool.fqdn.to_ascii_lowercase()).copied();
    Some(match held {
        None => "holds no mark".to_string(),
        Some(m) if m == pool.mark => "in step".to_string(),
        Some(m) => format!(
            "{} (holds change {} of generation {}; the pool is at change {} of generation {})",
            if m < pool.mark { "behind" } else { "ahead" },
            show(m.1),
            m.0,
            show(pool.mark.1),
            pool.mark.0
        ),
    })
}

fn show(seq: Option<i64>) -> String {
    seq.map_or_else(|| "none".into(), |s| s.to_string())
}

/// The marks of the source store at `url` (pool databases: `sources`, by SQL instance), read at
/// one moment.
fn settled(url: &str, sources: &[(String, String)]) -> anyhow::Result<Marks> {
    let gate = Gate::close(url)?;
    let mut marks = Marks { central: central_marks(gate.central())?, pools: HashMap::new() };
    for (instance, connection) in sources {
        let db = Db::open_postgres(connection)
            .with_context(|| format!("cannot open the pool database of {instance} again to check the copy"))?;
        gate.drain(&db)?;
        marks.pools.insert(instance.to_ascii_lowercase(), pool_marks(&db)?);
    }
    Ok(marks)
}

/// The staged files (`None`: the central one) against the source's marks.
pub(super) fn check(
    url: &str,
    sources: &[(String, String)],
    staged: &[(Option<String>, PathBuf)],
) -> anyhow::Result<()> {
    let source = &settled(url, sources)?;
    let mut copy = Marks::default();
    for (instance, path) in staged {
        let db = Db::open_sqlite_existing(path)?;
        match instance {
            None => copy.central = central_marks(&db)?,
            Some(i) => {
                copy.pools.insert(i.to_ascii_lowercase(), pool_marks(&db)?);
            }
        }
    }
    for pool in &source.central {
        let Some(built) = copy.central.iter().find(|p| p.fqdn.eq_ignore_ascii_case(&pool.fqdn)) else {
            bail!("the copy lacks the pool {}; nothing was copied", pool.fqdn);
        };
        for instance in &pool.databases {
            // A database whose marks could not be read at the moment is refused before this.
            let Some(was) = relation(source, pool, instance) else { continue };
            let is = relation(&copy, built, instance).unwrap_or_else(|| "missing".into());
            if was != is {
                bail!(
                    "the copy is not consistent: in the source the database {instance} of pool {} was {was}, in the copy it is {is}; the store changed while it was copied in a way copy-store could not hold still; run copy-store again (nothing was copied)",
                    pool.fqdn
                );
            }
        }
    }
    Ok(())
}
