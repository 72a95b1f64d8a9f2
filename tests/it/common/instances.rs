//! The SQL instances of the demo topology (`pchat --demo`), in the order its `sql_instances`
//! rows sort: the one list the integration tests and the benchmarks (benches/parts, by `#[path]`)
//! name them by.

/// The demo's SQL instances, as its topology spells their identities.
pub const INSTANCES: [&str; 3] = ["sql01.contoso.com\\rtc", "sql02.contoso.com\\rtc", "sql03.contoso.com\\rtc"];
