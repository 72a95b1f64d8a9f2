//! Topologies derived from the demo's (scripts/demo/topology.json) for fail-over and Publish
//! tests: a pool's backup removed or moved, the warning naming a pool.

use serde_json::Value;

/// The demo topology, to edit.
pub fn demo_topology() -> Value {
    serde_json::from_str(include_str!("../../../scripts/demo/topology.json")).expect("the demo topology")
}

/// Gives pool `fqdn` of `doc` the backup `backup`, or none (its primary then holds its only copy).
pub fn set_backup(doc: &mut Value, fqdn: &str, backup: Option<&str>) {
    let pool = doc["Pools"]
        .as_array_mut()
        .expect("Pools")
        .iter_mut()
        .find(|p| p["Fqdn"] == fqdn)
        .and_then(Value::as_object_mut)
        .unwrap_or_else(|| panic!("no pool {fqdn}"));
    match backup {
        Some(backup) => pool.insert("BackupDatabase".into(), backup.into()),
        None => pool.remove("BackupDatabase"),
    };
}

/// The line of `stderr` naming pool `fqdn` (`pool 'fqdn'`), as Publish-CsTopology's warnings do.
pub fn line_naming_pool<'a>(stderr: &'a str, fqdn: &str) -> &'a str {
    stderr.lines().find(|l| l.contains(&format!("pool '{fqdn}'"))).unwrap_or_else(|| panic!("{fqdn}: {stderr}"))
}
