//! PostgreSQL groundwork (issue #18), internal: nothing here is reachable from the command line yet, and
//! `--db postgres://` is not accepted until the whole store runs on PostgreSQL. The porting plan is
//! docs/design/postgres-port.md.

pub mod migrate;
#[cfg(test)]
mod nocase;
pub mod params;
mod statements;
#[cfg(all(test, unix))]
pub(crate) mod test_cluster;
pub mod twophase;
