//! CPU time the simulated account spends answering calls, so a benchmark can report the
//! daemon's own CPU apart from its stand-in for AWS. Measured per thread around the
//! synchronous part of each call (settling the state, the operation, encoding a snapshot,
//! evaluating metrics); the async parts do no work of their own.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

#[derive(Debug, Default)]
pub(crate) struct CpuMeter {
    nanos: AtomicU64,
}

impl CpuMeter {
    pub(crate) fn measure<T>(&self, f: impl FnOnce() -> T) -> T {
        let before = thread_cpu();
        let out = f();
        let spent = thread_cpu().saturating_sub(before);
        self.nanos
            .fetch_add(spent.as_nanos() as u64, Ordering::Relaxed);
        out
    }

    pub(crate) fn total(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Ordering::Relaxed))
    }
}

/// This thread's CPU time (user + system); zero where the clock is unavailable.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime only writes into the struct we pass.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return Duration::ZERO;
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_inside_is_counted_and_work_outside_is_not() {
        let meter = CpuMeter::default();
        let spin = |n: u64| (0..n).fold(0u64, |a, i| a.wrapping_mul(31).wrapping_add(i));
        std::hint::black_box(spin(50_000_000));
        assert_eq!(meter.total(), Duration::ZERO);
        let v = meter.measure(|| spin(std::hint::black_box(50_000_000)));
        std::hint::black_box(v);
        assert!(meter.total() > Duration::ZERO);
    }
}
