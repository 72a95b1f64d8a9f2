//! What a failed COMMIT left behind, told truthfully.
//!
//! A command that changes a pool writes the central database and the pool's copies (each an
//! attached database file) in one transaction, but SQLite cannot commit several WAL databases
//! atomically: they take no part in its super-journal, and COMMIT writes each database's WAL in
//! turn, `main` (the central database) first, then the attached files in the order they were
//! attached (`vdbeCommit` in SQLite's vdbeaux.c: with no database needing a super-journal,
//! phase one runs database by database and stops at the first failure). A full disk, a file-size
//! limit or a kill between two of those writes leaves the central database committed and some
//! copies not. SQLite then rolls back only what it had not committed yet.
//!
//! The central order is the safe one: the central database holds the pool's mark (generation,
//! change) and the audit record, so a copy never holds a change the store has no record of, and a
//! copy that missed the commit holds an older mark than the pool's, which makes it `Behind`:
//! never served, and changes to the pool are refused until a repair brings it back
//! (docs/failover.md). What was missing was the report: `Store::commit` reads, before COMMIT,
//! the mark every pool will have and the copies that are to hold it (the `Intent`), and after a
//! failed COMMIT reads the marks again to say which files committed, what state that leaves and
//! which command recovers it; an audit record of the failure follows the change's own record.

use std::path::PathBuf;

use super::Store;
use super::db::{self, DbError};
use super::failover::{Mark, Side, repair_call};
use crate::catalog::enums::PoolState;
use crate::errors::CmdletError;

/// A pool the open transaction moves to `mark`, and the copies that are to hold it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PoolIntent {
    pub fqdn: String,
    pub mark: Mark,
    /// The attached schemas of the copies written at `mark` (which SQL instance and side each
    /// is, is looked up only when a commit fails).
    copies: Vec<String>,
}

/// What `set_marks` set in the open transaction for one pool (`Store::marks_set`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MarksSet {
    /// The pool's name as `set_marks` was given it.
    pub fqdn: String,
    pub mark: Mark,
    /// The attached schemas of the copies set to `mark`.
    pub copies: Vec<String>,
}

/// The marks the open transaction commits (see the module comment). Empty when no pool
/// database file is written: the commit is then of the central database alone, and atomic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Intent {
    pub pools: Vec<PoolIntent>,
}

/// How far a failed COMMIT got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Nothing: the central database, which commits first, did not.
    Nothing,
    /// The central database did, and every pool it changed has a copy holding the change (a
    /// repair brings the other copy up to date: nothing is lost).
    Recoverable,
    /// The central database did, but some pool's change reached neither copy.
    Lost,
    /// Every file holds the change, though SQLite reported an error.
    Everything,
    /// What committed could not be read back; on PostgreSQL, the connection to the central
    /// database was lost during the commit point, and the next open decides.
    Unknown,
    /// PostgreSQL: the two-phase commit's decision is committed, so the change is, but a pool
    /// database's prepared branch could not be committed now; recovery commits it when pchat
    /// next opens the store (no repair needed: the copy holds the change, prepared).
    Pending,
}

/// A failed COMMIT: the error to report (it says what committed) and how far it got.
#[derive(Debug)]
pub struct CommitFailure {
    pub error: DbError,
    pub committed: Committed,
}

impl CommitFailure {
    pub(crate) fn nothing(error: DbError) -> Self {
        CommitFailure { error, committed: Committed::Nothing }
    }
}

/// `intent` as text, one pool a line (`fqdn`, generation, change, tab-separated), and back: an
/// atomic run keeps it with its files (see `Store::record_unit_files`).
pub(crate) fn encode_marks(intent: &Intent) -> String {
    intent.pools.iter().map(|p| format!("{}\t{}\t{}\n", p.fqdn, p.mark.0, p.mark.1)).collect()
}

pub(crate) fn decode_marks(text: &str) -> Vec<(String, Mark)> {
    text.lines()
        .filter_map(|line| {
            let mut parts = line.split('\t');
            let fqdn = parts.next()?.to_string();
            let generation = parts.next()?.parse().ok()?;
            let seq = parts.next()?.parse().ok()?;
            Some((fqdn, (generation, seq)))
        })
        .collect()
}

impl Store {
    /// Inside the transaction, just before COMMIT: each pool whose marks it set (`set_marks`:
    /// every write to a copy moves its pool's mark, so only those copies can have been written),
    /// with the mark it leaves and the copies that hold that mark. What `set_marks` noted is used
    /// as it is, unless a savepoint rolled back since: then the marks are read back. A read that
    /// fails gives an empty intent: the commit goes ahead, only its report is poorer. Runs before
    /// every commit, so in the usual case it reads nothing (which instance and file each copy is,
    /// is looked up only when a commit fails).
    pub(crate) fn commit_intent(&self) -> Intent {
        let noted = self.marks_set.borrow();
        let mut pools = Vec::with_capacity(noted.len());
        let mut unsure = Vec::new();
        for (key, note) in noted.iter() {
            match note {
                Some(set) => {
                    pools.push(PoolIntent { fqdn: set.fqdn.clone(), mark: set.mark, copies: set.copies.clone() })
                }
                None => unsure.push(key.as_str()),
            }
        }
        // One order for the report, whatever the map's.
        pools.sort_by(|a, b| a.fqdn.cmp(&b.fqdn));
        if unsure.is_empty() {
            return Intent { pools };
        }
        let read = |pools: &mut Vec<PoolIntent>| -> db::Result<()> {
            for pool in self.shared_pools()?.iter().filter(|p| unsure.contains(&p.fqdn.to_ascii_lowercase().as_str())) {
                let mark = self.pool_mark(&pool.fqdn)?;
                let mut copies = Vec::new();
                for instance in [&pool.database, &pool.backup_database].into_iter().flatten() {
                    let Some(schema) = self.pool_schema(instance) else { continue };
                    if self.copies_locked.borrow().contains(&schema) && self.copy_mark(&schema, &pool.fqdn)? == mark {
                        copies.push(schema);
                    }
                }
                if !copies.is_empty() {
                    pools.push(PoolIntent { fqdn: pool.fqdn.clone(), mark, copies });
                }
            }
            Ok(())
        };
        match read(&mut pools) {
            Ok(()) => Intent { pools },
            Err(_) => Intent::default(),
        }
    }

    /// After COMMIT failed with `error`: end what is left of the transaction, read back what
    /// committed, record a failure that left the store ahead of a copy in the audit trail, and
    /// say all of it in the error.
    pub(crate) fn commit_failed(&self, intent: &Intent, error: DbError) -> CommitFailure {
        // A repair's rebuilt files stand if the central database (which records their identity)
        // committed, and are put back if it did not: decided below, not by `rollback`.
        let rebuilt = self.rebuilt.take();
        self.rollback();
        let mut failure = self.what_committed(intent, error);
        if rebuilt.is_empty() {
            return failure;
        }
        let told = match failure.committed {
            Committed::Nothing => {
                *self.rebuilt.borrow_mut() = rebuilt;
                format!("; the repair's files were put back: {}", self.undo_rebuilt().join("; "))
            }
            _ => format!(
                "; the rebuilt file{} {} in place{}",
                if rebuilt.len() == 1 { "" } else { "s" },
                rebuilt.iter().map(|r| r.path.display().to_string()).collect::<Vec<_>>().join(", "),
                rebuilt
                    .iter()
                    .filter_map(|r| r.aside.as_ref().map(|a| format!(", the previous one kept as {}", a.display())))
                    .collect::<String>()
            ),
        };
        let message = format!("{}{told}", failure.error);
        let mut e = CmdletError::invalid_operation(message);
        if failure.committed != Committed::Nothing {
            e = e.terminating();
        }
        failure.error = DbError::refused(e);
        failure
    }

    /// Put back the files of the open transaction's repairs (see `pool_files::undo_swap`): what
    /// was done, or what is where.
    pub(crate) fn undo_rebuilt(&self) -> Vec<String> {
        let swaps = self.rebuilt.take();
        swaps
            .iter()
            .map(|swap| match super::pool_files::undo_swap(swap) {
                Ok(done) => done,
                Err(left) => format!("the repair did not commit, and its files could not all be put back: {left}"),
            })
            .collect()
    }

    /// How far the failed COMMIT got (`commit_failed`), with the error that says so.
    fn what_committed(&self, intent: &Intent, error: DbError) -> CommitFailure {
        if intent.pools.is_empty() {
            // One database file written: SQLite's commit of it is atomic.
            return CommitFailure::nothing(error);
        }
        // Terminating: a runbook must not go on as if the change were done, nor as if it were not.
        let refused = |message: String| DbError::refused(CmdletError::invalid_operation(message).terminating());
        let central =
            intent.pools.iter().map(|p| self.pool_mark(&p.fqdn).map(|m| m == p.mark)).collect::<db::Result<Vec<_>>>();
        let central = match central {
            Ok(held) => held,
            Err(e) => {
                return CommitFailure {
                    error: refused(format!(
                        "the commit failed ({error}), and what it committed cannot be read back ({e}); see get_cs_persistent_chat_state() before changing anything"
                    )),
                    committed: Committed::Unknown,
                };
            }
        };
        if central.iter().any(|held| !held) {
            // The central database commits first: had it committed, every pool's mark would read
            // as the transaction left it.
            return CommitFailure {
                error: DbError::refused(CmdletError::invalid_operation(format!(
                    "the commit failed ({error}); nothing was committed"
                ))),
                committed: Committed::Nothing,
            };
        }
        self.forget_pools();
        let now: Vec<_> = self.shared_pools().map(|p| p.to_vec()).unwrap_or_default();
        let mut lines = Vec::new();
        let mut lost = false;
        let mut notes = Vec::new();
        for pool in &intent.pools {
            let mut holding = Vec::new();
            let mut missing = Vec::new();
            let row = now.iter().find(|p| p.fqdn.eq_ignore_ascii_case(&pool.fqdn));
            let sides = row.map(|p| [(Side::Primary, p.database.clone()), (Side::Backup, p.backup_database.clone())]);
            for schema in &pool.copies {
                let of_schema = |(_, instance): &&(Side, Option<String>)| {
                    instance.as_deref().is_some_and(|i| self.pool_schema(i).as_deref() == Some(schema.as_str()))
                };
                let Some((side, Some(instance))) = sides.iter().flatten().find(of_schema).cloned() else {
                    missing.push(format!("{schema}, no longer a copy of the pool"));
                    continue;
                };
                let side = &side;
                let file = self.pool_file_path(&instance).ok().flatten().unwrap_or_else(|| PathBuf::from(&instance));
                let shown = format!("{instance} ({})", file.display());
                match self.copy_mark(schema, &pool.fqdn) {
                    Ok(m) if m == pool.mark => holding.push((*side, shown)),
                    Ok(_) => missing.push(shown),
                    Err(e) => missing.push(format!("{shown}, unreadable now: {e}")),
                }
            }
            if missing.is_empty() {
                continue;
            }
            let state = now.iter().find(|p| p.fqdn.eq_ignore_ascii_case(&pool.fqdn)).map(|p| p.state);
            let serving = if state == Some(PoolState::FailedOver) { Side::Backup } else { Side::Primary };
            let change = format!("change {} of generation {} of pool '{}'", pool.mark.1, pool.mark.0, pool.fqdn);
            let next = match holding.iter().find(|(s, _)| *s == serving).or(holding.first()) {
                Some((side, _)) if *side == serving => format!(
                    "the pool is served from its {} and changes to it are refused until you run {}",
                    side.name().to_lowercase(),
                    repair_call(&pool.fqdn, *side)
                ),
                Some((side, _)) => format!(
                    "the pool is unavailable until you run {} (it then runs on its {}; {})",
                    repair_call(&pool.fqdn, *side),
                    side.name().to_lowercase(),
                    if *side == Side::Backup {
                        "scripts/fail_back.rhai returns it to the primary"
                    } else {
                        "set_cs_persistent_chat_state or scripts/fail_over.rhai moves it back to the backup"
                    }
                ),
                None => {
                    lost = true;
                    format!(
                        "the change is lost, though the store recorded it and its audit record stands; {} drops it and makes the pool usable again",
                        repair_call(&pool.fqdn, serving)
                    )
                }
            };
            let held = if holding.is_empty() {
                "in no copy".to_string()
            } else {
                format!("in {}", holding.iter().map(|(_, f)| f.as_str()).collect::<Vec<_>>().join(" and "))
            };
            let behind = if missing.len() == 1 { "which is now behind" } else { "which are now behind" };
            lines.push(format!(
                "{change} is committed in the store {} and {held}, but not in {}, {behind}: {next}",
                self.path.display(),
                missing.join(" and ")
            ));
            notes.push((
                pool.fqdn.clone(),
                format!("{change} committed in the store and {held}, not in {}", missing.join(" and ")),
            ));
        }
        if lines.is_empty() {
            return CommitFailure {
                error: refused(format!(
                    "SQLite reported an error at the commit ({error}), but the store and every pool database file it wrote hold the change: it was committed"
                )),
                committed: Committed::Everything,
            };
        }
        let mut message = format!("the commit was incomplete ({error}): {}", lines.join("; "));
        if let Err(e) = self.record_incomplete_commit(&notes) {
            message.push_str(&format!(" (the audit record of this failure could not be written: {e})"));
        }
        CommitFailure {
            error: refused(message),
            committed: if lost { Committed::Lost } else { Committed::Recoverable },
        }
    }

    /// One audit record per pool a failed commit left ahead of a copy, after the change's own
    /// record, so that the trail does not claim more than the files hold. In a transaction of
    /// its own on the central database (which just committed, so it has room).
    fn record_incomplete_commit(&self, notes: &[(String, String)]) -> db::Result<()> {
        let time = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.begin(true)?;
        let appended = notes.iter().try_for_each(|(fqdn, note)| {
            let after = serde_json::json!({ "Incomplete": note }).to_string();
            self.append_audit_record(&super::audit::NewRecord {
                time: &time,
                // Written by pchat itself, not by the command's user.
                actor: "pchat",
                cmdlet: "(commit)",
                target: &format!("PersistentChatServer:{fqdn}"),
                parameters: "{}",
                before: None,
                after: Some(&after),
                source: "pchat",
            })
        });
        match appended.and_then(|()| self.commit()) {
            Ok(()) => Ok(()),
            Err(e) => {
                self.rollback();
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_survive_their_text_form() {
        let intent = Intent {
            pools: vec![
                PoolIntent { fqdn: "pc01.contoso.com".into(), mark: (3, 41), copies: Vec::new() },
                PoolIntent { fqdn: "pc02.contoso.com".into(), mark: (1, 7), copies: Vec::new() },
            ],
        };
        assert_eq!(
            decode_marks(&encode_marks(&intent)),
            [("pc01.contoso.com".to_string(), (3, 41)), ("pc02.contoso.com".to_string(), (1, 7))]
        );
        assert!(decode_marks("garbage\nx\t1").is_empty());
    }
}
