//! Budgets for a run: operations, wall time and memory (docs/files-and-confinement.md). A spent
//! budget stops the script with an error naming the budget and the flag that raises it; it never
//! aborts the process.
//!
//! Memory is measured by counting the bytes the program has allocated (`CountingAllocator`, the
//! binary's global allocator) and checked after every script operation. The functions that make
//! a value of a size given as a number (`pad`, `blob`) check the budget before they allocate, so
//! `[].pad(100_000_000, 0)` is refused before it is attempted; everything else grows by at most
//! doubling what already fits in the budget. An array holds at most half the budget in item slots
//! ([`max_array_items`]), checked in O(1) by each function that grows one. (The engine's own string
//! and array size limits are not used: with any of them set it re-measures a whole array after each
//! `push`.)

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rhai::{Array, Blob, Dynamic, Engine, EvalAltResult, INT, ImmutableString, Position};

/// Defaults: far beyond what a real runbook needs (a 100,000-room runbook performs some tens of
/// millions of operations), far below what would take down a 2-core, 24 GB host.
pub const DEFAULT_MAX_OPERATIONS: u64 = 1_000_000_000;
pub const DEFAULT_MAX_SECONDS: u64 = 3600;
pub const DEFAULT_MAX_MEMORY_MB: u64 = 2048;

/// Nested script function calls (the engine's own default in release builds).
pub const MAX_CALL_LEVELS: usize = 64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// None: not limited (the REPL, where Ctrl-C ends an input).
    pub max_operations: Option<u64>,
    pub max_seconds: Option<u64>,
    pub max_memory_mb: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            max_operations: Some(DEFAULT_MAX_OPERATIONS),
            max_seconds: Some(DEFAULT_MAX_SECONDS),
            max_memory_mb: DEFAULT_MAX_MEMORY_MB,
        }
    }
}

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);

/// The system allocator, counting the bytes currently allocated.
pub struct CountingAllocator;

// SAFETY: every call is passed to the system allocator unchanged; only a counter is kept.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is System's.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for alloc.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            ALLOCATED.fetch_add(layout.size(), Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as for alloc.
        unsafe { System.dealloc(ptr, layout) };
        ALLOCATED.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for alloc.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                ALLOCATED.fetch_add(new_size - layout.size(), Ordering::Relaxed);
            } else {
                ALLOCATED.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

/// Bytes allocated now (0 when the counting allocator is not installed, as in unit tests).
pub fn allocated() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}

impl Budget {
    fn memory_bytes(&self) -> usize {
        (self.max_memory_mb as usize).saturating_mul(1 << 20)
    }

    /// When the time budget, starting now, ends.
    pub fn deadline(&self) -> Option<(Instant, u64)> {
        self.max_seconds.map(|s| (Instant::now() + Duration::from_secs(s), s))
    }

    /// Apply the budgets to the engine; returns the check to run after each operation (time and
    /// memory), with the clock started now.
    pub fn apply(&self, engine: &mut Engine) -> impl Fn(u64) -> Option<Dynamic> + use<> {
        let bytes = self.memory_bytes();
        register_sized(engine, bytes, self.max_memory_mb);
        engine.set_max_call_levels(MAX_CALL_LEVELS);
        if let Some(n) = self.max_operations {
            engine.set_max_operations(n);
        }
        let deadline = self.deadline();
        crate::interrupt::set_deadline(deadline.map(|(at, _)| at));
        let memory_mb = self.max_memory_mb;
        move |operations: u64| {
            if allocated() > bytes {
                return Some(Dynamic::from(memory_spent(memory_mb)));
            }
            // The clock every 256 operations.
            if operations.is_multiple_of(256)
                && let Some((at, seconds)) = deadline
                && Instant::now() >= at
            {
                return Some(Dynamic::from(format!(
                    "the run used its time budget of {seconds} seconds; raise it with --max-seconds N"
                )));
            }
            None
        }
    }

    /// The message for an error the engine raised when a limit set by `apply` was reached.
    pub fn describe(&self, err: &rhai::EvalAltResult) -> Option<String> {
        use rhai::EvalAltResult::*;
        Some(match err {
            ErrorTooManyOperations(_) => format!(
                "the run used its operations budget of {} operations; raise it with --max-operations N",
                self.max_operations.unwrap_or_default()
            ),
            ErrorStackOverflow(_) => {
                format!("functions nested more than {MAX_CALL_LEVELS} calls deep (a runaway recursion?)")
            }
            _ => return None,
        })
    }
}

fn memory_spent(memory_mb: u64) -> String {
    format!("the run used its memory budget of {memory_mb} MB; raise it with --max-memory-mb N")
}

/// Refuse to allocate `more` bytes that would take the run past its memory budget.
fn reserve(function: &str, more: usize, bytes: usize, memory_mb: u64) -> Result<(), Box<EvalAltResult>> {
    if allocated().saturating_add(more) > bytes {
        return Err(EvalAltResult::ErrorRuntime(
            format!("{function}: {more} bytes would exceed the run's memory budget of {memory_mb} MB; raise it with --max-memory-mb N").into(),
            Position::NONE,
        )
        .into());
    }
    Ok(())
}

/// How many more items `len` asks for beyond `have` (0 when none or negative).
fn growth(len: INT, have: usize) -> usize {
    usize::try_from(len).unwrap_or(0).saturating_sub(have)
}

/// The most items an array may hold under a memory budget of `bytes`: half the budget in item
/// slots. An array that full doubles its allocation past the budget when it next grows, so the
/// limit only says earlier, and in one check per growth, what the budget would say anyway; it is
/// what stops `[].pad(100_000_000, 0)` (1.6 GB of slots) under the default budget of 2 GB.
pub fn max_array_items(bytes: usize) -> usize {
    bytes / (2 * std::mem::size_of::<Dynamic>())
}

/// Refuse to grow an array to `len` items past [`max_array_items`].
fn allow_items(function: &str, len: usize, max: usize, memory_mb: u64) -> Result<(), Box<EvalAltResult>> {
    if len > max {
        return Err(EvalAltResult::ErrorRuntime(
            format!("{function}: an array of {len} items is more than the run's memory budget of {memory_mb} MB allows ({max} items); raise it with --max-memory-mb N").into(),
            Position::NONE,
        )
        .into());
    }
    Ok(())
}

/// `pad` and `blob` with the budget checked before the allocation, and the functions that grow an
/// array (`push`, `append`, `+`, `insert`) with its item limit checked in O(1); otherwise as the
/// engine's own.
fn register_sized(engine: &mut Engine, bytes: usize, mb: u64) {
    let value_size = std::mem::size_of::<Dynamic>();
    let max = max_array_items(bytes);
    engine.register_fn("pad", move |a: &mut Array, len: INT, item: Dynamic| -> Result<(), Box<EvalAltResult>> {
        let more = growth(len, a.len());
        if more > 0 {
            allow_items("pad", a.len().saturating_add(more), max, mb)?;
            reserve("pad", more.saturating_mul(value_size), bytes, mb)?;
            a.resize(a.len() + more, item);
        }
        Ok(())
    });
    // (`+=` on an array is the engine's built-in operator, out of reach here: the memory budget,
    // checked after each operation, stops it.)
    engine.register_fn("push", move |a: &mut Array, item: Dynamic| -> Result<(), Box<EvalAltResult>> {
        allow_items("push", a.len() + 1, max, mb)?;
        a.push(item);
        Ok(())
    });
    engine.register_fn("append", move |a: &mut Array, more: Array| -> Result<(), Box<EvalAltResult>> {
        allow_items("append", a.len().saturating_add(more.len()), max, mb)?;
        a.extend(more);
        Ok(())
    });
    engine.register_fn("+", move |mut a: Array, more: Array| -> Result<Array, Box<EvalAltResult>> {
        allow_items("+", a.len().saturating_add(more.len()), max, mb)?;
        a.extend(more);
        Ok(a)
    });
    engine.register_fn("insert", move |a: &mut Array, at: INT, item: Dynamic| -> Result<(), Box<EvalAltResult>> {
        allow_items("insert", a.len() + 1, max, mb)?;
        // As the engine's own: a negative position counts from the end; out of range appends or prepends.
        let len = a.len() as INT;
        let at = if at < 0 { (len + at).max(0) } else { at.min(len) };
        a.insert(at as usize, item);
        Ok(())
    });
    engine.register_fn("pad", move |b: &mut Blob, len: INT, value: INT| -> Result<(), Box<EvalAltResult>> {
        let more = growth(len, b.len());
        if more > 0 {
            reserve("pad", more, bytes, mb)?;
            b.resize(b.len() + more, (value & 0xff) as u8);
        }
        Ok(())
    });
    engine.register_fn("blob", move |len: INT| -> Result<Blob, Box<EvalAltResult>> {
        reserve("blob", growth(len, 0), bytes, mb)?;
        Ok(vec![0; growth(len, 0)])
    });
    engine.register_fn("blob", move |len: INT, value: INT| -> Result<Blob, Box<EvalAltResult>> {
        reserve("blob", growth(len, 0), bytes, mb)?;
        Ok(vec![(value & 0xff) as u8; growth(len, 0)])
    });
    engine.register_fn("pad", move |s: &mut ImmutableString, len: INT, c: char| -> Result<(), Box<EvalAltResult>> {
        let more = growth(len, s.chars().count());
        if more > 0 {
            reserve("pad", more.saturating_mul(c.len_utf8()), bytes, mb)?;
            let p = s.make_mut();
            p.extend(std::iter::repeat_n(c, more));
        }
        Ok(())
    });
    engine.register_fn(
        "pad",
        move |s: &mut ImmutableString, len: INT, padding: &str| -> Result<(), Box<EvalAltResult>> {
            let more = growth(len, s.chars().count());
            if more > 0 && !padding.is_empty() {
                reserve("pad", more.saturating_mul(4), bytes, mb)?;
                let p = s.make_mut();
                p.extend(padding.chars().cycle().take(more));
            }
            Ok(())
        },
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_array_holds_half_the_budget_in_item_slots() {
        let default = Budget::default().memory_bytes();
        assert_eq!(max_array_items(default), 67_108_864);
        assert!(max_array_items(default) < 100_000_000, "10^8 items are refused under the default budget");
        assert!(allow_items("push", 67_108_864, max_array_items(default), 2048).is_ok());
        let e = allow_items("push", 67_108_865, max_array_items(default), 2048).unwrap_err().to_string();
        assert!(e.contains("memory budget of 2048 MB allows (67108864 items); raise it with --max-memory-mb N"), "{e}");
    }
}
