//! Quota emulation: one token bucket per AWS quota bucket (`Op::bucket`), refilled by the
//! injected clock, so a `ManualClock` makes throttling exact and reproducible.

use std::collections::{BTreeMap, HashMap};
use std::time::SystemTime;

use crate::cloud::ops::aws_quota;

#[derive(Debug)]
pub(crate) struct Quotas {
    pub enabled: bool,
    overrides: BTreeMap<String, f64>,
    buckets: HashMap<&'static str, TokenBucket>,
}

#[derive(Debug)]
struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: SystemTime,
}

impl TokenBucket {
    /// A bucket starts full: AWS lets a quiet account burst straight away.
    fn new(rate: f64, now: SystemTime) -> Self {
        let rate = rate.max(0.0);
        let burst = rate.max(1.0);
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    fn try_take(&mut self, now: SystemTime) -> bool {
        // A clock that stepped backwards refills nothing rather than panicking.
        if let Ok(elapsed) = now.duration_since(self.last) {
            self.tokens = (self.tokens + elapsed.as_secs_f64() * self.rate).min(self.burst);
            self.last = now;
        }
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

impl Default for Quotas {
    fn default() -> Self {
        Self {
            enabled: true,
            overrides: BTreeMap::new(),
            buckets: HashMap::new(),
        }
    }
}

impl Quotas {
    pub(crate) fn rate(&self, bucket: &str) -> f64 {
        self.overrides
            .get(bucket)
            .copied()
            .unwrap_or_else(|| aws_quota(bucket))
    }

    pub(crate) fn set(&mut self, bucket: &str, rps: f64) {
        self.overrides.insert(bucket.to_string(), rps);
        // The next call rebuilds the bucket at the new rate.
        self.buckets.retain(|k, _| *k != bucket);
    }

    /// Takes one token from `bucket`; `false` means the call is throttled.
    pub(crate) fn admit(&mut self, bucket: &'static str, now: SystemTime) -> bool {
        if !self.enabled {
            return true;
        }
        let rate = self.rate(bucket);
        self.buckets
            .entry(bucket)
            .or_insert_with(|| TokenBucket::new(rate, now))
            .try_take(now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn bucket_allows_a_burst_of_its_rate_then_refills_with_time() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut q = Quotas::default();
        let admitted = (0..10)
            .filter(|_| q.admit("cloudwatch:PutMetricAlarm", t0))
            .count();
        assert_eq!(admitted, 3);
        let t1 = t0 + Duration::from_millis(400);
        assert!(q.admit("cloudwatch:PutMetricAlarm", t1)); // 1.2 tokens refilled
        assert!(!q.admit("cloudwatch:PutMetricAlarm", t1));
        q.set("cloudwatch:PutMetricAlarm", 0.5);
        assert!(q.admit("cloudwatch:PutMetricAlarm", t1)); // burst is at least 1
        assert!(!q.admit("cloudwatch:PutMetricAlarm", t1 + Duration::from_secs(1)));
        assert!(q.admit("cloudwatch:PutMetricAlarm", t1 + Duration::from_secs(2)));
    }
}
