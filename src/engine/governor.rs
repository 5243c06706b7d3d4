//! Politeness toward the account: every cloud call trimtab makes goes through [`Governor::call`],
//! which waits for a token from the call's quota bucket, counts the attempt, and retries
//! throttling, transient and conflict errors with jittered exponential backoff.
//!
//! The buckets mirror AWS's quotas (`cloud::ops`), so calls that share a quota in AWS (the whole
//! Lambda control plane) share one bucket here. By default trimtab takes half of each quota and
//! leaves the rest to the account's other users; `[cloud.rate_limits]` overrides any bucket.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use rand::Rng;

use crate::clock::Clock;
use crate::cloud::ops::{Op, aws_quota};
use crate::cloud::{CloudError, CloudResult, ErrorKind};
use crate::model::ExecutorSettings;
use crate::telemetry::Telemetry;

/// Share of each AWS quota that trimtab allows itself unless configured otherwise.
pub const DEFAULT_QUOTA_SHARE: f64 = 0.5;

/// Shortest wait after a conflict (an update in progress): Lambda updates take seconds.
const CONFLICT_MIN_WAIT: Duration = Duration::from_secs(1);

/// trimtab's own rate for a bucket, in requests per second.
pub fn default_rate(bucket: &str) -> f64 {
    aws_quota(bucket) * DEFAULT_QUOTA_SHARE
}

/// On throttling a bucket's rate is halved, down to this share of its configured rate; each
/// success gives back this share of the configured rate (additive increase, multiplicative
/// decrease, as in the AWS SDKs' adaptive retry mode).
const MIN_RATE_SHARE: f64 = 1.0 / 16.0;
const RECOVERY_SHARE: f64 = 0.05;

#[derive(Debug)]
struct Bucket {
    /// The configured rate; `rate` adapts below it after throttling.
    ceiling: f64,
    rate: f64,
    burst: f64,
    /// May go negative: each waiter reserves its token, so waiters queue in arrival order.
    tokens: f64,
    updated: SystemTime,
}

/// Token buckets per quota bucket, on the injected clock.
#[derive(Debug)]
pub struct RateLimiter {
    clock: Arc<dyn Clock>,
    overrides: RwLock<BTreeMap<String, f64>>,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
}

impl RateLimiter {
    pub fn new(clock: Arc<dyn Clock>, overrides: BTreeMap<String, f64>) -> Self {
        Self {
            clock,
            overrides: RwLock::new(overrides),
            buckets: Mutex::new(HashMap::new()),
        }
    }

    pub fn rate(&self, bucket: &str) -> f64 {
        self.overrides
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(bucket)
            .copied()
            .unwrap_or_else(|| default_rate(bucket))
    }

    /// New configured rates. A bucket keeps what it learned: a rate AWS's throttling pushed
    /// below its ceiling stays there (and recovers as before), capped by the new ceiling.
    pub fn set_rates(&self, overrides: BTreeMap<String, f64>) {
        *self.overrides.write().unwrap_or_else(|p| p.into_inner()) = overrides;
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        for (name, b) in buckets.iter_mut() {
            let ceiling = self.rate(name).max(0.01);
            let learned = b.rate / b.ceiling;
            b.ceiling = ceiling;
            b.rate = (ceiling * learned).min(ceiling);
            b.burst = ceiling.max(1.0);
            b.tokens = b.tokens.min(b.burst);
        }
    }

    /// Reserves one token and returns how long the caller must wait before using it.
    fn reserve(&self, bucket: &'static str) -> Duration {
        let now = self.clock.now();
        let rate = self.rate(bucket).max(0.01);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        let b = buckets.entry(bucket).or_insert_with(|| Bucket {
            ceiling: rate,
            rate,
            burst: rate.max(1.0),
            tokens: rate.max(1.0),
            updated: now,
        });
        let elapsed = now.duration_since(b.updated).unwrap_or_default();
        b.tokens = (b.tokens + elapsed.as_secs_f64() * b.rate).min(b.burst);
        b.updated = now;
        b.tokens -= 1.0;
        if b.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-b.tokens / b.rate)
        }
    }

    /// AWS throttled a call from this bucket: slow down, and drop any saved-up burst.
    pub fn throttled(&self, bucket: &'static str) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = buckets.get_mut(bucket) {
            b.rate = (b.rate / 2.0).max(b.ceiling * MIN_RATE_SHARE);
            b.tokens = b.tokens.min(0.0);
        }
    }

    /// A call from this bucket succeeded: recover towards the configured rate.
    pub fn succeeded(&self, bucket: &'static str) {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(b) = buckets.get_mut(bucket)
            && b.rate < b.ceiling
        {
            b.rate = (b.rate + b.ceiling * RECOVERY_SHARE).min(b.ceiling);
        }
    }

    /// The rate a bucket currently runs at, after adaptation.
    pub fn current_rate(&self, bucket: &'static str) -> f64 {
        let buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        buckets
            .get(bucket)
            .map_or_else(|| self.rate(bucket), |b| b.rate)
    }

    /// Waits until the bucket allows one more call; returns the time waited.
    pub async fn acquire(&self, bucket: &'static str) -> Duration {
        let wait = self.reserve(bucket);
        if !wait.is_zero() {
            self.clock.sleep(wait).await;
        }
        wait
    }
}

/// Rate limiting, retries and call accounting for every cloud call.
#[derive(Debug, Clone)]
pub struct Governor {
    limiter: Arc<RateLimiter>,
    clock: Arc<dyn Clock>,
    telemetry: Telemetry,
    /// Shared by every clone, so a reload reaches the observer and the executor alike.
    settings: Arc<RwLock<ExecutorSettings>>,
}

impl Governor {
    pub fn new(
        clock: Arc<dyn Clock>,
        telemetry: Telemetry,
        rate_overrides: BTreeMap<String, f64>,
        settings: ExecutorSettings,
    ) -> Self {
        Self {
            limiter: Arc::new(RateLimiter::new(clock.clone(), rate_overrides)),
            clock,
            telemetry,
            settings: Arc::new(RwLock::new(settings)),
        }
    }

    /// A reloaded configuration's rates and retry settings; adapted rates carry on.
    pub fn reconfigure(&self, rate_overrides: BTreeMap<String, f64>, settings: ExecutorSettings) {
        self.limiter.set_rates(rate_overrides);
        *self.settings.write().unwrap_or_else(|p| p.into_inner()) = settings;
    }

    fn settings(&self) -> ExecutorSettings {
        self.settings
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn limiter(&self) -> &RateLimiter {
        &self.limiter
    }

    /// Backoff before retry number `attempt` (1-based): "full jitter" over an exponentially
    /// growing ceiling, so many callers throttled at once spread out instead of retrying in step.
    pub fn backoff(&self, attempt: u32, error: &CloudError) -> Duration {
        let settings = self.settings();
        let base = settings.base_backoff.as_secs_f64();
        let ceiling = (base * 2f64.powi(attempt.saturating_sub(1) as i32))
            .min(settings.max_backoff.as_secs_f64());
        let jittered = Duration::from_secs_f64(rand::rng().random_range(0.0..=ceiling.max(0.001)));
        let floor = match error.kind {
            ErrorKind::Conflict => CONFLICT_MIN_WAIT,
            _ => Duration::ZERO,
        };
        jittered
            .max(floor)
            .max(error.retry_after.unwrap_or_default())
    }

    /// Runs one cloud call with rate limiting and retries. `f` is called once per attempt.
    pub async fn call<T, F, Fut>(&self, op: Op, mut f: F) -> CloudResult<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = CloudResult<T>>,
    {
        let max_attempts = self.settings().max_attempts.max(1);
        let mut attempt = 1;
        loop {
            let waited = self.limiter.acquire(op.bucket()).await;
            if !waited.is_zero() {
                self.telemetry
                    .limiter_wait
                    .with_label_values(&[op.bucket()])
                    .inc_by(waited.as_secs_f64());
            }
            let result = f().await;
            self.telemetry
                .record_call(op, result.as_ref().map(|_| ()).map_err(|e| e.kind));
            match &result {
                Ok(_) => self.limiter.succeeded(op.bucket()),
                Err(e) if e.kind == ErrorKind::Throttled => self.limiter.throttled(op.bucket()),
                Err(_) => {}
            }
            match result {
                Ok(value) => return Ok(value),
                Err(error) if error.kind.is_retryable() && attempt < max_attempts => {
                    let wait = self.backoff(attempt, &error);
                    tracing::debug!(
                        operation = op.name(),
                        service = op.service().as_str(),
                        kind = %error.kind,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "retrying AWS call"
                    );
                    self.telemetry
                        .api_retries
                        .with_label_values(&[op.service().as_str(), op.name()])
                        .inc();
                    self.clock.sleep(wait).await;
                    attempt += 1;
                }
                Err(error) => return Err(error),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn governor(clock: Arc<ManualClock>) -> Governor {
        Governor::new(
            clock,
            Telemetry::new().expect("telemetry"),
            BTreeMap::new(),
            ExecutorSettings::default(),
        )
    }

    #[tokio::test]
    async fn limiter_spaces_calls_at_the_bucket_rate() {
        let clock = Arc::new(ManualClock::at_epoch());
        let start = clock.now();
        let limiter = RateLimiter::new(
            clock.clone(),
            BTreeMap::from([("cloudwatch:PutMetricAlarm".to_string(), 2.0)]),
        );
        for _ in 0..10 {
            limiter.acquire("cloudwatch:PutMetricAlarm").await;
        }
        // Burst of 2, then 8 more at 2/s: 4 virtual seconds.
        let elapsed = clock.now().duration_since(start).expect("monotonic");
        assert_eq!(elapsed, Duration::from_secs(4));
    }

    #[tokio::test]
    async fn throttling_halves_the_rate_and_success_recovers_it() {
        let clock = Arc::new(ManualClock::at_epoch());
        let limiter = RateLimiter::new(
            clock,
            BTreeMap::from([("cloudwatch:PutMetricAlarm".to_string(), 2.0)]),
        );
        let bucket = "cloudwatch:PutMetricAlarm";
        limiter.acquire(bucket).await;
        limiter.throttled(bucket);
        assert_eq!(limiter.current_rate(bucket), 1.0);
        for _ in 0..10 {
            limiter.throttled(bucket);
        }
        assert_eq!(limiter.current_rate(bucket), 2.0 * MIN_RATE_SHARE);
        for _ in 0..100 {
            limiter.succeeded(bucket);
        }
        assert_eq!(limiter.current_rate(bucket), 2.0);
    }

    #[tokio::test]
    async fn a_reload_keeps_what_throttling_taught_within_the_new_ceiling() {
        let clock = Arc::new(ManualClock::at_epoch());
        let bucket = "cloudwatch:PutMetricAlarm";
        let limiter = RateLimiter::new(clock, BTreeMap::from([(bucket.to_string(), 2.0)]));
        limiter.acquire(bucket).await;
        limiter.throttled(bucket);
        assert_eq!(limiter.current_rate(bucket), 1.0);
        // Same rates reloaded: the learned half stays.
        limiter.set_rates(BTreeMap::from([(bucket.to_string(), 2.0)]));
        assert_eq!(limiter.current_rate(bucket), 1.0);
        // A new ceiling keeps the learned share of it.
        limiter.set_rates(BTreeMap::from([(bucket.to_string(), 1.0)]));
        assert_eq!(limiter.current_rate(bucket), 0.5);
        assert_eq!(limiter.rate(bucket), 1.0);
    }

    #[tokio::test]
    async fn retries_throttling_then_succeeds_and_counts_every_attempt() {
        let clock = Arc::new(ManualClock::at_epoch());
        let gov = governor(clock);
        let attempts = AtomicU32::new(0);
        let result = gov
            .call(Op::PutMetricAlarm, || async {
                if attempts.fetch_add(1, Ordering::SeqCst) < 2 {
                    Err(CloudError::new(
                        ErrorKind::Throttled,
                        Op::PutMetricAlarm,
                        "Rate exceeded",
                    ))
                } else {
                    Ok(7)
                }
            })
            .await;
        assert_eq!(result.ok(), Some(7));
        assert_eq!(attempts.load(Ordering::SeqCst), 3);
        assert_eq!(gov.telemetry().calls_for(Op::PutMetricAlarm), 3);
    }

    #[tokio::test]
    async fn does_not_retry_invalid_requests() {
        let gov = governor(Arc::new(ManualClock::at_epoch()));
        let attempts = AtomicU32::new(0);
        let result: CloudResult<()> = gov
            .call(Op::PutMetricAlarm, || async {
                attempts.fetch_add(1, Ordering::SeqCst);
                Err(CloudError::new(
                    ErrorKind::Invalid,
                    Op::PutMetricAlarm,
                    "bad threshold",
                ))
            })
            .await;
        assert!(matches!(result, Err(e) if e.kind == ErrorKind::Invalid));
        assert_eq!(attempts.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let gov = governor(Arc::new(ManualClock::at_epoch()));
        let attempts = AtomicU32::new(0);
        let result: CloudResult<()> = gov
            .call(Op::DescribeAlarms, || async {
                attempts.fetch_add(1, Ordering::SeqCst);
                Err(CloudError::new(
                    ErrorKind::Transient,
                    Op::DescribeAlarms,
                    "503",
                ))
            })
            .await;
        assert!(result.is_err());
        assert_eq!(
            attempts.load(Ordering::SeqCst),
            ExecutorSettings::default().max_attempts
        );
    }

    #[test]
    fn backoff_honours_retry_after_and_conflict_floor() {
        let gov = governor(Arc::new(ManualClock::at_epoch()));
        let throttled = CloudError::new(
            ErrorKind::Throttled,
            Op::PutFunctionConcurrency,
            "slow down",
        )
        .with_retry_after(Duration::from_secs(7));
        assert!(gov.backoff(1, &throttled) >= Duration::from_secs(7));
        let conflict = CloudError::new(
            ErrorKind::Conflict,
            Op::UpdateFunctionConfiguration,
            "in progress",
        );
        assert!(gov.backoff(1, &conflict) >= CONFLICT_MIN_WAIT);
        let transient = CloudError::new(ErrorKind::Transient, Op::DescribeAlarms, "503");
        for attempt in 1..20 {
            assert!(gov.backoff(attempt, &transient) <= ExecutorSettings::default().max_backoff);
        }
    }
}
