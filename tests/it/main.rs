//! The integration tests, in one test binary (one link instead of one per file): each module runs
//! real `.rhai` runbooks through the built binary against a temporary store (see `common`), except
//! `floors`, which reads the sources.

mod common;

mod access;
mod answers;
mod as_read;
mod atomic;
mod audit;
mod coherence;
mod commits;
mod confinement;
mod content;
#[cfg(unix)]
mod copy_interrupted;
#[cfg(unix)]
mod copy_store;
mod demo;
mod endpoints;
mod examples;
mod failover;
mod faults;
mod floors;
mod foundation;
mod hostile_archives;
mod input;
mod interrupts;
#[cfg(unix)]
mod pg_failover;
#[cfg(unix)]
mod pg_identity;
#[cfg(unix)]
mod pg_reconnect;
#[cfg(unix)]
mod pg_turns;
#[cfg(unix)]
mod postgres;
mod powershell;

mod powershell_idioms;
mod ps_scripts;
mod retries;
mod rooms;
mod runbooks;
mod scenario;
mod settings;
mod streams;
mod test_message;
mod unicode_fuzz;
mod warnings_once;
