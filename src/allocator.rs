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

#[cfg(test)]
mod tests {
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
