//! A global allocator that counts what the test binary allocates: calls,
//! the largest request, bytes live now and their peak, bytes ever asked
//! for. Knows nothing of what the tests allocate for.
//!
//! Include it with `#[path = "common/counting_alloc.rs"] mod counting_alloc;`
//! in a test binary of its own: it installs itself as the global allocator,
//! and its counters are global, so the binary's tests take turns
//! ([`turn`]).
#![allow(dead_code)] // each binary reads the counters it needs

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

pub struct Counting;

/// Allocations and reallocations made.
pub static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);
/// The largest size asked for.
pub static LARGEST: AtomicU64 = AtomicU64::new(0);
/// Bytes currently allocated.
pub static CURRENT: AtomicUsize = AtomicUsize::new(0);
/// Highest value `CURRENT` reached since the last reset.
pub static PEAK: AtomicUsize = AtomicUsize::new(0);
/// Bytes ever allocated (growth by `realloc` counts the new size).
pub static TOTAL: AtomicU64 = AtomicU64::new(0);

/// Counts one allocation or reallocation asking for `size` bytes.
fn asked(size: usize) {
    ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
    LARGEST.fetch_max(size as u64, Ordering::Relaxed);
}

/// Counts `size` bytes that are now live.
fn grew(size: usize) {
    let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
    TOTAL.fetch_add(size as u64, Ordering::Relaxed);
}

// SAFETY: forwards to the system allocator unchanged; only counts calls
// and bytes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        asked(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        asked(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc_zeroed`'s contract.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: the caller upholds `GlobalAlloc::dealloc`'s contract.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        asked(new_size);
        // SAFETY: the caller upholds `GlobalAlloc::realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        new
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Serializes the tests: the counters are global.
static TURN: Mutex<()> = Mutex::new(());

/// Waits for this test's turn to count; the turn lasts while the guard
/// lives.
pub fn turn() -> MutexGuard<'static, ()> {
    TURN.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// What a closure allocated while it ran.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    /// Most bytes live at once beyond what was live before.
    pub peak: usize,
    /// Bytes allocated in all.
    pub total: u64,
}

/// Runs `f`, reporting what it allocated. Call with the turn held.
pub fn measure<R>(f: impl FnOnce() -> R) -> (R, Usage) {
    let base = CURRENT.load(Ordering::SeqCst);
    PEAK.store(base, Ordering::SeqCst);
    let total = TOTAL.load(Ordering::SeqCst);
    let result = f();
    let usage = Usage {
        peak: PEAK.load(Ordering::SeqCst).saturating_sub(base),
        total: TOTAL.load(Ordering::SeqCst) - total,
    };
    (result, usage)
}
