//! Every cache and memo in pchat answers as the database does: after each changing cmdlet (each
//! example of its catalog entry), the objects read in the same process equal those read by a
//! fresh process.

use crate::common;
use common::Store;
use pchat::catalog::{self, Expect};

/// Everything a changing cmdlet can change, read back.
const READ: &str = r#"
print("=== after the change ===");
print(get_cs_persistent_chat_state());
print(get_cs_persistent_chat_room());
print(get_cs_persistent_chat_category());
print(get_cs_persistent_chat_addin());
print(get_cs_persistent_chat_policy());
print(get_cs_persistent_chat_configuration());
print(get_cs_persistent_chat_compliance_configuration());
print(get_cs_persistent_chat_endpoint());
print(get_cs_service());
print(get_cs_user().map(|u| `${u.Identity} ${u.PersistentChatPolicy}`));
print(get_cs_ad_principal().len());
"#;

fn after_marker(out: &str) -> String {
    out.split_once("=== after the change ===").map(|(_, rest)| rest.to_string()).unwrap_or_default()
}

#[test]
fn each_change_reads_back_the_same_in_the_same_process_and_in_a_fresh_one() {
    let examples: Vec<(&str, &str)> = catalog::all()
        .iter()
        .filter(|c| !c.is_read_only())
        .flat_map(|c| c.examples.iter().filter(|e| e.expect == Expect::Ok).map(move |e| (c.name, e.code)))
        .collect();
    // Two at a time: each is two processes over a store of its own.
    let results: Vec<(bool, Option<String>)> = std::thread::scope(|scope| {
        let halves: Vec<_> = examples
            .chunks(examples.len().div_ceil(2))
            .map(|chunk| scope.spawn(move || chunk.iter().map(|(name, code)| check(name, code)).collect::<Vec<_>>()))
            .collect();
        halves.into_iter().flat_map(|h| h.join().expect("worker")).collect()
    });
    let checked = results.iter().filter(|(ran, _)| *ran).count();
    let failures: Vec<String> = results.into_iter().filter_map(|(_, f)| f).collect();
    assert!(checked >= 40, "only {checked} changes checked");
    assert!(failures.is_empty(), "read back differently in the same process:\n{}", failures.join("\n"));
}

/// Run one example then the reads in the same process, and the reads in a fresh one: (whether
/// the example ran, the failure if the answers differ).
fn check(name: &str, code: &str) -> (bool, Option<String>) {
    let s = Store::examples();
    let cwd = s.dir.path().join("cwd");
    std::fs::create_dir_all(&cwd).expect("cwd");
    #[cfg(unix)]
    let _ = std::os::unix::fs::symlink(std::path::Path::new(common::ROOT).join("scripts"), cwd.join("scripts"));
    let same = s.run_in(&cwd, &["--yes", "-c", &format!("{code}\n;\n{READ}")]);
    if same.code != 0 {
        return (false, None); // an example that needs a prompt answered or another's objects
    }
    let fresh = s.run_in(&cwd, &["-c", READ]).ok();
    let differs = after_marker(&same.stdout) != after_marker(&fresh.stdout);
    (true, differs.then(|| format!("{name}: `{code}`")))
}
