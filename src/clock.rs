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

/// Virtual time. `sleep(d)` does not wait: it moves the clock forward to at least
/// `now_at_call + d` and yields, so back-offs and rate limiters cost no wall time while still
/// being accounted for in virtual seconds. Concurrent sleepers each push the clock to their own
/// deadline, which is the behaviour of a discrete-event simulation with one shared timeline.
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
