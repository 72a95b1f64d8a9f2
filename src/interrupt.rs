//! Ctrl-C (SIGINT) and SIGTERM. The first signal asks the running statement to stop: loops of
//! long cmdlets and pipelines check [`requested`], a running SQL statement is interrupted, and a
//! confirmation prompt gives up waiting. The object in progress rolls back; what was completed is
//! reported. A second signal while the first is still pending ends the process at once.
//!
//! A non-interactive run stopped this way exits with 128 + the signal (130 for SIGINT, 143 for
//! SIGTERM).
//!
//! A statement that does not stop within [`GRACE`] — blocked on a database server that accepts
//! connections but never answers, where even the cancel request hangs — ends the process then,
//! saying so: one SIGTERM (`timeout`, systemd, cron's supervisor) must end a run. Ending there
//! is what a kill is, which every store change survives (a two-phase commit's next command
//! completes or undoes it).

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};

static PENDING: AtomicBool = AtomicBool::new(false);
/// Counts `reset`s: a stop that was handled (the REPL's next statement) is not ended by its grace.
static HANDLED: AtomicU64 = AtomicU64::new(0);

/// How long a stop may take before the process ends anyway.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(5);
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The write end of the self-pipe the handler wakes the watcher thread with.
static WAKE: AtomicI32 = AtomicI32::new(-1);

/// Interrupts the running SQL statement of each open store connection. Callbacks rather than
/// the database's handle type: this module sits below the store.
type Interrupter = Box<dyn Fn() + Send>;
/// Each open connection's interrupter, by the id of its [`Registered`]: one entry per connection
/// alive now, so a store opened again (a lost PostgreSQL session) does not leave the closed
/// connections' entries behind, each a cancel request to a dead server on every Ctrl-C.
static HANDLES: Mutex<Vec<(u64, Interrupter)>> = Mutex::new(Vec::new());
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Has a signal asked the running statement to stop?
pub fn requested() -> bool {
    PENDING.load(Ordering::SeqCst)
}

/// The signal that asked (SIGINT, SIGTERM), if any.
pub fn signal() -> Option<i32> {
    Some(SIGNAL.load(Ordering::SeqCst)).filter(|s| *s != 0)
}

/// The exit code of a run stopped by a signal: 128 + its number.
pub fn exit_code() -> Option<i32> {
    signal().map(|s| 128 + s)
}

/// When the run's time budget ends (`--max-seconds`, set by the engine): a wait that the store
/// makes in slices (for the writers' lock, `Store::wait_for_writers`) ends there too.
static DEADLINE: Mutex<Option<std::time::Instant>> = Mutex::new(None);

/// Record when the run's time budget ends (None: no budget).
pub fn set_deadline(at: Option<std::time::Instant>) {
    if let Ok(mut d) = DEADLINE.lock() {
        *d = at;
    }
}

/// Has the run's time budget ended?
pub fn past_deadline() -> bool {
    DEADLINE.lock().ok().and_then(|d| *d).is_some_and(|at| std::time::Instant::now() >= at)
}

/// A new statement starts with no stop pending (the REPL after a Ctrl-C).
pub fn reset() {
    HANDLED.fetch_add(1, Ordering::SeqCst);
    PENDING.store(false, Ordering::SeqCst);
    SIGNAL.store(0, Ordering::SeqCst);
}

/// Ask the running statement to stop, as a signal does (tests, and a prompt that sees Ctrl-C).
pub fn request(signal: i32) {
    SIGNAL.store(signal, Ordering::SeqCst);
    PENDING.store(true, Ordering::SeqCst);
}

/// What a stopped statement reports: which signal stopped it and what was completed (`done`).
pub fn describe(done: &str) -> String {
    let name = match signal() {
        Some(s) if s == SIGTERM => "SIGTERM",
        _ => "Ctrl-C",
    };
    let done = if done.is_empty() { String::new() } else { format!("; {done}") };
    format!("interrupted ({name}){done}")
}

/// A connection's place among those a signal interrupts, held as long as the connection is open:
/// dropping it (with the connection's store or session) takes the interrupter out.
#[must_use = "the interrupter is taken out when this is dropped"]
pub struct Registered(u64);

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut handles) = HANDLES.lock() {
            handles.retain(|(id, _)| *id != self.0);
        }
    }
}

/// Let a signal interrupt this connection's running statement, until the guard is dropped.
pub fn register(interrupt: impl Fn() + Send + 'static) -> Registered {
    let id = NEXT_ID.fetch_add(1, Ordering::SeqCst);
    if let Ok(mut handles) = HANDLES.lock() {
        handles.push((id, Box::new(interrupt)));
    }
    Registered(id)
}

#[cfg(test)]
impl Registered {
    pub(crate) fn id(&self) -> u64 {
        self.0
    }
}

/// Is the registration `id`'s interrupter among those a signal calls (tests)?
#[cfg(test)]
pub(crate) fn is_registered(id: u64) -> bool {
    HANDLES.lock().is_ok_and(|h| h.iter().any(|(i, _)| *i == id))
}

#[cfg(unix)]
pub const SIGTERM: i32 = libc::SIGTERM;
#[cfg(not(unix))]
pub const SIGTERM: i32 = 15;

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    if PENDING.swap(true, Ordering::SeqCst) {
        const SAID: &[u8] = b"pchat: a second signal: ending at once (a change in progress is completed or undone by the next command)\n";
        // SAFETY: write(2) and _exit(2) are async-signal-safe; the text is static.
        unsafe {
            libc::write(2, SAID.as_ptr().cast(), SAID.len());
            libc::_exit(128 + sig)
        }
    }
    SIGNAL.store(sig, Ordering::SeqCst);
    let fd = WAKE.load(Ordering::SeqCst);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; a lost wake-up only delays the SQL interrupt.
        unsafe {
            libc::write(fd, [1u8].as_ptr().cast(), 1);
        }
    }
}

/// Install the handlers (once, at start-up). SQL statements are interrupted from a thread woken
/// through a pipe, since sqlite3_interrupt is not to be called from a signal handler.
#[cfg(unix)]
pub fn install() {
    let mut fds = [0; 2];
    // SAFETY: plain system calls on descriptors this function owns; the handler only touches atomics and write(2).
    unsafe {
        if libc::pipe(fds.as_mut_ptr()) == 0 {
            WAKE.store(fds[1], Ordering::SeqCst);
            let read_fd = fds[0];
            std::thread::spawn(move || {
                let mut byte = [0u8; 1];
                loop {
                    let n = libc::read(read_fd, byte.as_mut_ptr().cast(), 1);
                    if n == 0 || (n < 0 && std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted) {
                        return;
                    }
                    if n > 0 {
                        // Before the interrupts, which may block themselves (a PostgreSQL cancel
                        // request to a server that does not answer).
                        end_after_grace();
                        if let Ok(handles) = HANDLES.lock() {
                            handles.iter().for_each(|(_, interrupt)| interrupt());
                        }
                    }
                }
            });
        }
        for sig in [libc::SIGINT, libc::SIGTERM] {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as *const () as usize;
            // No SA_RESTART: a prompt blocked in poll(2) wakes up with EINTR.
            action.sa_flags = 0;
            libc::sigemptyset(&mut action.sa_mask);
            libc::sigaction(sig, &action, std::ptr::null_mut());
        }
    }
}

#[cfg(not(unix))]
pub fn install() {}

/// How long after a run's time budget ends the process ends anyway: longer than a wait for the
/// writers' lock takes to see the budget spent (its 5-second slices, store/turns.rs), which ends
/// the call more clearly ("nothing was changed").
pub const BUDGET_GRACE: std::time::Duration = std::time::Duration::from_secs(15);

/// End the process if it still runs [`BUDGET_GRACE`] after `deadline`, the end of a run's time
/// budget of `seconds` (`--max-seconds`): the budget's own check, between statements, stops a
/// run that is working; one blocked on a database server that never answers (or stuck opening
/// the store) never reaches it. Exit 1, a terminating error's, as the budget's own stop.
pub fn end_after(deadline: std::time::Instant, seconds: u64) {
    std::thread::spawn(move || {
        let end = deadline + BUDGET_GRACE;
        while let Some(left) = end.checked_duration_since(std::time::Instant::now()).filter(|d| !d.is_zero()) {
            std::thread::sleep(left);
        }
        let text = format!(
            "pchat: the run used its time budget of {seconds} seconds and did not stop within {} s more (a database server that does not answer?); ending now (raise the budget with --max-seconds N). A change in progress is completed or undone by the next command.\n",
            BUDGET_GRACE.as_secs()
        );
        end_now(&text, 1);
    });
}

/// Say `text` on standard error and end the process with `code`, taking no lock (the main thread
/// may hold the stderr lock while it is blocked).
fn end_now(text: &str, code: i32) -> ! {
    // SAFETY: write(2) and _exit(2) on this process's own standard error.
    unsafe {
        libc::write(2, text.as_ptr().cast(), text.len());
        libc::_exit(code)
    }
}

/// End the process if the stop pending now is still pending after [`GRACE`] (see the module
/// comment).
#[cfg(unix)]
fn end_after_grace() {
    let handled = HANDLED.load(Ordering::SeqCst);
    std::thread::spawn(move || {
        let until = std::time::Instant::now() + GRACE;
        while std::time::Instant::now() < until {
            if !requested() || HANDLED.load(Ordering::SeqCst) != handled {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if !requested() || HANDLED.load(Ordering::SeqCst) != handled {
            return;
        }
        let code = exit_code().unwrap_or(130);
        let text = format!(
            "pchat: {}: the statement did not stop within {} s (a database server that does not answer?); ending now. A change in progress is completed or undone by the next command.\n",
            describe(""),
            GRACE.as_secs()
        );
        end_now(&text, code);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_interrupter_is_called_only_while_its_registration_is_held() {
        let first = register(|| {});
        let second = register(|| {});
        let (a, b) = (first.id(), second.id());
        assert_ne!(a, b);
        assert!(is_registered(a) && is_registered(b));
        drop(first);
        assert!(!is_registered(a), "a dropped registration stayed");
        assert!(is_registered(b), "dropping one registration took out another");
        drop(second);
        assert!(!is_registered(b));
    }
}
