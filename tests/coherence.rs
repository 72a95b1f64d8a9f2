//! Every cache and memo in pchat answers as the database does: after each changing cmdlet (each
//! example of its catalog entry), the objects read in the same process equal those read by a
//! fresh process.

mod common;

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
print(get_cs_user());
print(get_cs_ad_principal().len());
"#;

fn after_marker(out: &str) -> String {
    out.split_once("=== after the change ===").map(|(_, rest)| rest.to_string()).unwrap_or_default()
}

#[test]
fn each_change_reads_back_the_same_in_the_same_process_and_in_a_fresh_one() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for cmdlet in catalog::all().iter().filter(|c| !c.is_read_only()) {
        for ex in cmdlet.examples.iter().filter(|e| e.expect == Expect::Ok) {
            let s = Store::examples();
            let cwd = s.dir.path().join("cwd");
            std::fs::create_dir_all(&cwd).expect("cwd");
            #[cfg(unix)]
            let _ = std::os::unix::fs::symlink(std::path::Path::new(common::ROOT).join("scripts"), cwd.join("scripts"));
            let same = s.run_in(&cwd, &["--yes", "-c", &format!("{}\n;\n{READ}", ex.code)]);
            if same.code != 0 {
                continue; // an example that needs a prompt answered or another's objects
            }
            let fresh = s.run_in(&cwd, &["-c", READ]).ok();
            checked += 1;
            if after_marker(&same.stdout) != after_marker(&fresh.stdout) {
                failures.push(format!("{}: `{}`", cmdlet.name, ex.code));
            }
        }
    }
    assert!(checked >= 40, "only {checked} changes checked");
    assert!(failures.is_empty(), "read back differently in the same process:\n{}", failures.join("\n"));
}
