//! pchat: administer a Persistent Chat service (Lync Server 2013 / Skype for Business Server)
//! from an embedded Rhai engine over a SQLite store.

pub mod access;
pub mod binder;
pub mod catalog;
pub mod cli;
pub mod engine;
pub mod errors;
pub mod fault;
pub mod files;
pub mod filters;
pub mod handlers;
pub mod help;
pub mod interrupt;
pub mod invocation;
pub mod objects;
pub mod output;
pub mod powershell;
pub mod repl;
pub mod store;
pub mod streams;
#[cfg(test)]
mod testing;
pub mod values;
