//! The process's allocator: mimalloc (set as the global allocator in `main.rs` and the cycle
//! benchmark), tuned for a small resident footprint rather than mimalloc's default of keeping
//! freed memory for a while.
//!
//! A reconcile cycle makes and drops hundreds of thousands of small values. With glibc's
//! malloc a steady cycle at 1,000 functions spent about a third of its CPU in malloc, free and
//! consolidation; mimalloc halves trimtab's CPU per cycle. Its defaults, though, nearly
//! doubled the daemon's resident memory (scripts/bench-footprint, against moto: 112–120 MiB
//! against glibc's 67): transparent huge pages inside its arena, and freed pages returned to
//! the system only after a delay. The crate's `no_thp` feature leaves huge pages out; `tune`
//! returns freed pages at once.
//!
//! [`Counting`] wraps it to count the bytes the process has allocated and not yet freed (and
//! their high-water mark), exported as `trimtab_heap_live_bytes` and
//! `trimtab_heap_peak_bytes`: beside the process's resident memory they tell what trimtab
//! holds from what the allocator keeps around it. Two relaxed atomic operations per call. C
//! code that calls malloc itself (aws-lc) goes to glibc, not through here, and is not counted.

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// mimalloc v3's `mi_option_purge_delay` (see its `mimalloc.h`; libmimalloc-sys is pinned to
/// the version that bundles it, and its extended API names only the older options).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Call once, first thing in `main`. `MIMALLOC_PURGE_DELAY` in the environment (milliseconds;
/// mimalloc reads it itself) wins over this choice.
pub fn tune() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: `mi_option_set` stores an integer option; any value is valid for this option
    // (0: purge freed memory immediately).
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
}

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// mimalloc, counting what is live. Install it with `#[global_allocator]`.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counting;

fn grew(by: usize) {
    let now = LIVE.fetch_add(by, Relaxed) + by;
    if now > PEAK.load(Relaxed) {
        PEAK.fetch_max(now, Relaxed);
    }
}

// SAFETY: every call is passed to mimalloc unchanged; the counters never touch the memory.
// Not inlined: with LTO, inlining the counters into every allocation site grew the binary's
// text by 0.9 MB; the price is one more call per allocation.
unsafe impl GlobalAlloc for Counting {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: the caller's contract is mimalloc's.
        let p = unsafe { mimalloc::MiMalloc.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    #[inline(never)]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as in `alloc`.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as in `alloc`.
        let p = unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // On failure the old block is still allocated, and still counted.
            LIVE.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

/// Bytes allocated through [`Counting`] and not yet freed, and their high-water mark; `None`
/// when [`Counting`] has served no allocation, i.e. is not the allocator in use (a test binary,
/// or a benchmark with another allocator): the peak never falls back to zero once it rose.
pub fn heap() -> Option<(usize, usize)> {
    let peak = PEAK.load(Relaxed);
    (peak > 0).then(|| (LIVE.load(Relaxed), peak))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What is live follows every allocation, reallocation and free, and the peak holds the
    /// highest. (The test binary's global allocator is the system's, so only this test moves
    /// the counters.)
    #[test]
    fn counts_what_is_live_through_realloc_and_free() {
        let layout = |size| Layout::from_size_align(size, 8).expect("layout");
        let live = || LIVE.load(Relaxed);
        assert_eq!(heap(), None, "nothing allocated through Counting yet");
        // SAFETY: each block is freed once, with the layout it was last allocated with.
        unsafe {
            let a = Counting.alloc(layout(100));
            assert!(!a.is_null());
            assert_eq!(live(), 100);
            let a = Counting.realloc(a, layout(100), 300);
            assert!(!a.is_null());
            assert_eq!(live(), 300);
            let z = Counting.alloc_zeroed(layout(50));
            assert!(!z.is_null());
            assert!(std::slice::from_raw_parts(z, 50).iter().all(|b| *b == 0));
            assert_eq!(heap(), Some((350, 350)));
            Counting.dealloc(a, layout(300));
            let b = Counting.realloc(z, layout(50), 10);
            assert_eq!(heap(), Some((10, 350)));
            Counting.dealloc(b, layout(10));
        }
        assert_eq!(heap(), Some((0, 350)));
    }

    /// The option index is the one mimalloc reads back as the purge delay.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // SAFETY: reading and setting integer options.
        unsafe {
            let before = libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY);
            // The bundled mimalloc's default for this option (its options.c), unless the
            // environment overrides it: an index pointing at another option would differ.
            if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
                assert_eq!(before, 1000);
            }
            libmimalloc_sys::mi_option_set(super::MI_OPTION_PURGE_DELAY, 7);
            super::tune();
            let want = if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
                0
            } else {
                7
            };
            assert_eq!(
                libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY),
                want
            );
            libmimalloc_sys::mi_option_set(super::MI_OPTION_PURGE_DELAY, before);
        }
    }
}
