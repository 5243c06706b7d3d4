//! Time, passed in rather than read from the OS, so the simulated account, tests and benchmarks
//! can run a simulated day in seconds. Nothing else in the crate calls `SystemTime::now()` or
//! sleeps directly.

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;

/// A source of wall-clock time and a way to wait.
#[async_trait]
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> SystemTime;
    async fn sleep(&self, duration: Duration);
}

/// The real clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// tokio's clock, reported as wall time from `base`. Under a paused tokio runtime
/// (`tokio::time::pause`, or `start_paused`) this is a discrete-event clock: time advances only
/// when every task is waiting, and sleepers wake in deadline order, so rate limits and AWS
/// quotas interleave as they would in real time. The benchmarks use it; unpaused, it is real
/// time.
#[derive(Debug)]
pub struct TokioClock {
    base: SystemTime,
    start: tokio::time::Instant,
}

impl TokioClock {
    pub fn new(base: SystemTime) -> Self {
        Self {
            base,
            start: tokio::time::Instant::now(),
        }
    }
}

#[async_trait]
impl Clock for TokioClock {
    fn now(&self) -> SystemTime {
        self.base + self.start.elapsed()
    }
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}

/// Virtual time for tests: deterministic and instant, but coarse. `sleep(d)` does not wait: it moves the clock forward to at least
/// `now_at_call + d` and yields, so back-offs and rate limiters cost no wall time while still
/// being accounted for in virtual seconds. Concurrent sleepers each push the clock to their own
/// deadline and then all resume together at the latest one, so calls that a rate limiter spaced
/// out can reach the (simulated) account in a bunch. That is fine for tests of behaviour; for
/// figures where the interleaving of calls matters (benchmarks), use [`TokioClock`] on a paused
/// runtime.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<SystemTime>,
}

impl ManualClock {
    pub fn new(start: SystemTime) -> Self {
        Self {
            now: Mutex::new(start),
        }
    }

    /// A fixed, reproducible starting point: 2026-01-05T00:00:00Z (a Monday).
    pub fn at_epoch() -> Self {
        Self::new(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_571_200))
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    pub fn set(&self, to: SystemTime) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        if to > *now {
            *now = to;
        }
    }
}

#[async_trait]
impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
    async fn sleep(&self, duration: Duration) {
        let deadline = self.now() + duration;
        self.set(deadline);
        tokio::task::yield_now().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_sleep_advances_without_waiting() {
        let clock = ManualClock::at_epoch();
        let start = clock.now();
        clock.sleep(Duration::from_secs(3600)).await;
        assert_eq!(
            clock.now().duration_since(start).ok(),
            Some(Duration::from_secs(3600))
        );
        clock.set(start); // never goes backwards
        assert_eq!(
            clock.now().duration_since(start).ok(),
            Some(Duration::from_secs(3600))
        );
    }
}
