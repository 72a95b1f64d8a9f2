//! Running a call again when its transaction lost a race with another session
//! (docs/design/postgres-port.md §4; for users, docs/atomic-and-plan.md, "Concurrent changes"):
//! which failures are retried, how long to wait between attempts, and what the user reads when
//! the attempts run out. The loop itself is in invoke.rs, at the invocation boundary: a handler
//! never retries.

use std::time::Duration;

use crate::errors::{CmdletError, Transient};

/// Attempts of one call before it gives up (the first run included).
pub const MAX_ATTEMPTS: u32 = 8;
/// The wait after the first failed attempt; it doubles after each further one, up to `MAX_DELAY`.
const FIRST_DELAY: Duration = Duration::from_millis(5);
const MAX_DELAY: Duration = Duration::from_millis(500);

/// Whether a failed attempt may be run again from its `begin`.
///
/// A lost race (serialization failure, deadlock) always may. A lock wait that timed out may on
/// PostgreSQL only: there the wait is short (`lock_timeout`, a few seconds, so that a blocked
/// writer looks for a dead coordinator's branch, §3) and the next attempt comes after that
/// recovery. On SQLite the busy timeout has already waited five seconds or more for a writer
/// that holds the whole database; waiting up to eight times that, silently, serves nobody: the
/// user learns now that another process holds the store. (SQLite never reports a lost race: a
/// writer takes the write lock at `BEGIN IMMEDIATE`, before its first read.)
pub fn retryable(e: &CmdletError, on_postgres: bool) -> bool {
    match e.transient {
        Some(Transient::Conflict | Transient::CopyOutOfStep) => true,
        Some(Transient::LockTimeout) => on_postgres,
        // Once, and only after the store is opened again: engine/reconnect.rs.
        Some(Transient::ConnectionLost) | None => false,
    }
}

/// The waits between attempts: exponential, capped, with jitter so that two sessions that
/// collided do not collide again at the same moment.
pub struct Backoff {
    failed: u32,
    state: u64,
}

impl Backoff {
    /// Seeded at the first failure (every call makes one; few ever wait), from the clock and the
    /// process id: no two processes draw the same waits, and no dependency is needed for a few
    /// random bits.
    pub fn new() -> Backoff {
        Backoff { failed: 0, state: 0 }
    }

    fn seed() -> u64 {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        nanos ^ (u64::from(std::process::id()) << 32)
    }

    #[cfg(test)]
    fn seeded(seed: u64) -> Backoff {
        // xorshift must not start from 0 (it would stay there).
        Backoff { failed: 0, state: seed | 1 }
    }

    /// Attempts failed so far.
    pub fn failed(&self) -> u32 {
        self.failed
    }

    /// Count a failed attempt; the wait before the next one: between half and all of
    /// `FIRST_DELAY · 2^(failed-1)`, at most `MAX_DELAY`.
    pub fn next_delay(&mut self) -> Duration {
        self.failed += 1;
        RETRIED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let doubled = FIRST_DELAY.saturating_mul(1 << (self.failed - 1).min(16));
        let ceiling = doubled.min(MAX_DELAY);
        let half = ceiling / 2;
        let spread = (ceiling - half).as_micros() as u64;
        half + Duration::from_micros(self.random() % (spread + 1))
    }

    /// xorshift64: plenty for spreading waits.
    fn random(&mut self) -> u64 {
        if self.state == 0 {
            self.state = Backoff::seed() | 1;
        }
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// Whether another attempt is allowed.
    pub fn may_retry(&self) -> bool {
        self.failed + 1 < MAX_ATTEMPTS
    }
}

/// Attempts this process ran again (every call's): `PCHAT_REPORT_RETRIES=1` prints the count on
/// standard error when pchat exits (scripts/pg-concurrency reads it).
static RETRIED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// How many failed attempts this process has run again so far.
pub fn retried() -> u64 {
    RETRIED.load(std::sync::atomic::Ordering::Relaxed)
}

/// What a call that kept losing the race ends with. `objects`: how many objects a piped call
/// was given (None: one call on one object).
pub fn exhausted(attempts: u32, objects: Option<usize>) -> CmdletError {
    let nothing = nothing_changed(objects);
    CmdletError::invalid_operation(format!(
        "other sessions kept changing the same objects at the same time: the call was tried {attempts} times and gave up; {nothing}: run it again"
    ))
    .terminating()
}

/// What a call ends with when another session held a lock it needs through every attempt (on
/// PostgreSQL: each wait ended by `lock_timeout`): that session is named as the cause, with how to
/// find it, not "other sessions kept changing", which is a race's wording.
pub fn lock_held(attempts: u32, objects: Option<usize>, last: &str) -> CmdletError {
    CmdletError::invalid_operation(format!(
        "another session held a lock this call needs through all {attempts} attempts ({last}); {}: run it again once that session has committed or ended (PostgreSQL's pg_locks and pg_stat_activity show which session holds it)",
        nothing_changed(objects)
    ))
    .terminating()
}

fn nothing_changed(objects: Option<usize>) -> String {
    match objects {
        Some(n) => format!("nothing was changed (none of the {n} objects)"),
        None => "nothing was changed".to_string(),
    }
}

/// What a call that lost the race after a confirmation prompt says before it runs again. The
/// answers are not replayed: the next attempt reads the objects as the other session left them,
/// so it may ask about other objects, or the same objects in another state, than the answers were
/// given for; it asks again instead (docs/atomic-and-plan.md, "Concurrent changes").
pub fn asking_again(cmdlet: &str) -> String {
    format!(
        "WARNING: {cmdlet}: another session changed the same objects after the confirmation was answered; nothing was changed yet: asking again about them as they are now"
    )
}

/// What a cmdlet that manages its own files or locks (Publish-CsTopology, a repair, a
/// fail-over) ends with when it loses the race: what it did outside the transaction cannot be
/// undone, so it is not run again on its own; its changes to the store were rolled back.
pub fn own_commit() -> CmdletError {
    CmdletError::invalid_operation(
        "another session changed the same objects at the same time; this cmdlet is not run again automatically (it manages files or locks outside the store's transaction): its changes to the store were rolled back: run it again",
    )
    .terminating()
}

/// What a call inside an atomic run or a plan ends with when it loses the race: the unit's
/// transaction spans the whole runbook, whose own effects (what it printed) cannot be undone, so
/// it is not run again; the unit is rolled back.
pub fn in_unit(plan: bool) -> CmdletError {
    let unit = if plan { "plan" } else { "atomic run" };
    CmdletError::invalid_operation(format!(
        "another session changed the same objects at the same time; an {unit} is not retried automatically: it stops here and nothing it did is kept: run it again"
    ))
    .terminating()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conflicts_are_retried_and_lock_waits_only_on_postgres() {
        let mut e = CmdletError::invalid_operation("store error: x");
        assert!(!retryable(&e, true));
        e.transient = Some(Transient::Conflict);
        assert!(retryable(&e, false) && retryable(&e, true));
        e.transient = Some(Transient::LockTimeout);
        assert!(retryable(&e, true));
        assert!(!retryable(&e, false), "SQLite's busy timeout has already waited");
    }

    #[test]
    fn store_errors_keep_their_kind() {
        use crate::store::db::{DbError, ErrorKind};
        let from = |kind| CmdletError::from(DbError::new(kind, "x")).transient;
        assert_eq!(from(ErrorKind::Serialization), Some(Transient::Conflict));
        assert_eq!(from(ErrorKind::Busy), Some(Transient::LockTimeout));
        assert_eq!(from(ErrorKind::Constraint), None);
        assert_eq!(from(ErrorKind::Other), None);
    }

    #[test]
    fn waits_double_with_jitter_up_to_the_cap() {
        for seed in [0, 1, 42, u64::MAX] {
            let mut b = Backoff::seeded(seed);
            let mut ceiling = FIRST_DELAY;
            for _ in 0..12 {
                let d = b.next_delay();
                assert!(d >= ceiling / 2 && d <= ceiling, "{d:?} within {ceiling:?}");
                ceiling = (ceiling * 2).min(MAX_DELAY);
            }
        }
        let mut b = Backoff::seeded(7);
        let waits: Vec<Duration> = (0..3).map(|_| b.next_delay()).collect();
        assert!(waits[0] <= FIRST_DELAY && waits[2] >= FIRST_DELAY * 2);
    }

    #[test]
    fn an_unseeded_backoff_seeds_itself() {
        let mut b = Backoff::new();
        let d = b.next_delay();
        assert!(d >= FIRST_DELAY / 2 && d <= FIRST_DELAY);
    }

    #[test]
    fn attempts_are_bounded() {
        let mut b = Backoff::seeded(3);
        let mut attempts = 1;
        while b.may_retry() {
            b.next_delay();
            attempts += 1;
        }
        assert_eq!(attempts, MAX_ATTEMPTS);
        assert_eq!(b.failed() + 1, MAX_ATTEMPTS);
    }

    #[test]
    fn the_user_reads_what_happened_and_what_to_do() {
        let e = exhausted(8, Some(5));
        assert!(e.terminating);
        assert!(e.message.contains("8 times") && e.message.contains("none of the 5 objects"));
        assert!(e.message.contains("run it again") && !e.message.contains("40001"));
        assert!(asking_again("Set-CsPersistentChatRoom").contains("asking again"));
        assert!(in_unit(false).message.contains("atomic run"));
        assert!(own_commit().terminating && own_commit().message.contains("run it again"));
    }
}
