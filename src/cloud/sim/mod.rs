//! The simulated AWS account: an in-memory implementation of all six cloud ports, faithful
//! enough for the engine's convergence, idempotence and ownership tests and for right-sizing
//! benchmarks. This module owns `SimAccount`, its public API, and the path every port call
//! takes: count it, inject faults, enforce the quota, run it against the state under one lock,
//! persist it if it wrote.

mod alarms;
mod autoscaling;
mod cloudwatch;
mod counters;
mod cpu;
mod dynamodb;
mod errors;
mod events;
mod functions;
mod lambda;
#[cfg(test)]
mod metric_tests;
mod metrics;
mod minute_cache;
mod paging;
mod persist;
mod provisioned;
mod quota;
mod seed;
mod sns;
mod sources;
pub mod state;
mod stats;
mod tagging;
mod tracking;
mod traffic;

#[cfg(test)]
mod testkit;
#[cfg(test)]
pub(crate) use testkit::alarm as testkit_alarm;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use crate::clock::Clock;
use crate::cloud::{Cloud, CloudError, CloudResult, ErrorKind, Op};
use crate::model::SimSettings;

pub use counters::{OpCount, OpCounters};
pub use metrics::MetricStore;
pub use state::{
    AlarmRecord, AliasRecord, PastConfig, PolicyRecord, ProvisionedRecord, RuleRecord,
    SimFunctionState, SimState, SubscriptionRecord, TableRecord, TopicRecord, TrafficProfile,
    VersionRecord,
};

use quota::Quotas;

/// Why building, loading or saving the simulated account failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("reading simulated account state from {path}")]
    ReadState {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("parsing simulated account state in {path}")]
    ParseState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path} holds state format version {found}; this build reads version {expected}")]
    StateVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
    #[error("{path} holds an account in region {found}, but region {expected} was asked for")]
    StateRegion {
        path: PathBuf,
        found: String,
        expected: String,
    },
    #[error("serialising simulated account state for {path}")]
    SerializeState {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("writing simulated account state to {path}")]
    WriteState {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid simulated account settings: {}", problems.join("; "))]
    InvalidSettings { problems: Vec<String> },
}

/// Call accounting and the quotas tests turn; not part of the persisted account. Faults are
/// injected in front of the account, by `cloud::faults`, not here.
#[derive(Debug)]
struct Runtime {
    counters: OpCounters,
    quotas: Quotas,
}

/// An in-memory AWS account. `Send + Sync`; share it as `Arc<SimAccount>`.
#[derive(Debug)]
pub struct SimAccount {
    account_id: String,
    clock: Arc<dyn Clock>,
    state_file: Option<PathBuf>,
    state: Mutex<SimState>,
    runtime: Mutex<Runtime>,
    /// Sequence number of the last snapshot written to `state_file`, so a slow writer can never
    /// replace a newer snapshot with an older one.
    persisted: Mutex<u64>,
    snapshots: AtomicU64,
    /// Evaluated traffic minutes, reused across GetMetricData calls.
    minutes: Mutex<minute_cache::MinuteCache>,
    cpu: cpu::CpuMeter,
}

/// What an operation body gets: the state (already settled to `now`) and its own `Op`, for errors.
pub(crate) struct Cx<'a> {
    pub st: &'a mut SimState,
    pub now: SystemTime,
    pub op: Op,
}

impl Cx<'_> {
    pub(crate) fn invalid(&self, message: impl Into<String>) -> CloudError {
        errors::invalid(self.op, message)
    }
    pub(crate) fn not_found(&self, message: impl Into<String>) -> CloudError {
        errors::not_found(self.op, message)
    }
    pub(crate) fn conflict(&self, message: impl Into<String>) -> CloudError {
        errors::conflict(self.op, message)
    }
    pub(crate) fn limit(&self, message: impl Into<String>) -> CloudError {
        errors::limit(self.op, message)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic in another test thread must not wedge the account for everyone else.
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl SimAccount {
    /// Builds the account from settings (functions, tables, faults, seed); when
    /// `settings.state_file` is set and the file exists, loads the persisted state from it
    /// instead of seeding. Nothing is written until the first successful write call (or
    /// [`SimAccount::save`]), so `plan` leaves no file behind.
    pub fn new(
        settings: &SimSettings,
        region: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, SimError> {
        let loaded = match &settings.state_file {
            Some(path) => persist::load(path)?,
            None => None,
        };
        let state = match loaded {
            Some(state) if state.region != region => {
                return Err(SimError::StateRegion {
                    path: settings.state_file.clone().unwrap_or_default(),
                    found: state.region,
                    expected: region.to_string(),
                });
            }
            Some(state) => state,
            None => seed::from_settings(settings, region)?,
        };
        let account = Arc::new(Self {
            account_id: state.account_id.clone(),
            clock,
            state_file: settings.state_file.clone(),
            runtime: Mutex::new(Runtime {
                counters: OpCounters::default(),
                quotas: Quotas::default(),
            }),
            state: Mutex::new(state),
            persisted: Mutex::new(0),
            snapshots: AtomicU64::new(0),
            minutes: Mutex::new(minute_cache::MinuteCache::default()),
            cpu: cpu::CpuMeter::default(),
        });
        Ok(account)
    }

    /// All seven ports, backed by this account.
    pub fn cloud(self: &Arc<Self>) -> Cloud {
        Cloud {
            cloudwatch: self.clone(),
            lambda: self.clone(),
            autoscaling: self.clone(),
            events: self.clone(),
            dynamodb: self.clone(),
            sns: self.clone(),
            tagging: self.clone(),
        }
    }

    pub fn account_id(&self) -> &str {
        &self.account_id
    }

    pub fn counters(&self) -> OpCounters {
        lock(&self.runtime).counters.clone()
    }

    pub fn reset_counters(&self) {
        lock(&self.runtime).counters = OpCounters::default();
    }

    /// Quota emulation is on by default.
    pub fn set_quota_enforcement(&self, enabled: bool) {
        lock(&self.runtime).quotas.enabled = enabled;
    }

    /// Overrides one bucket's quota (requests per second; the burst equals the rate, at least 1).
    pub fn set_quota(&self, bucket: &str, rps: f64) {
        lock(&self.runtime).quotas.set(bucket, rps);
    }

    /// Direct access "as another party": no call is counted, no quota or fault applies, and
    /// nothing is persisted until the next write call or [`SimAccount::save`].
    pub fn with_state<R>(&self, f: impl FnOnce(&mut SimState) -> R) -> R {
        let now = self.clock.now();
        let mut st = lock(&self.state);
        st.settle(now);
        f(&mut st)
    }

    /// A function's true mean duration (ms) at a memory size, what its bill is proportional
    /// to. `None` for an unknown function.
    pub fn true_mean_ms(&self, function: &str, memory_mb: u32) -> Option<f64> {
        let st = lock(&self.state);
        let f = st.functions.get(function)?;
        let sigma = traffic::duration_sigma(st.seed, f);
        Some(traffic::true_mean_ms(&f.traffic, sigma, memory_mb))
    }

    /// A function's true duration percentile (ms) at a memory size, from the traffic model
    /// itself, without the minute-to-minute noise: the right-sizing benchmark's oracle. `None`
    /// for an unknown function.
    pub fn true_duration_ms(&self, function: &str, memory_mb: u32, percentile: f64) -> Option<f64> {
        let st = lock(&self.state);
        let f = st.functions.get(function)?;
        let sigma = traffic::duration_sigma(st.seed, f);
        let mean = traffic::true_mean_ms(&f.traffic, sigma, memory_mb);
        let mu = mean.max(1e-9).ln() - sigma * sigma / 2.0;
        let z = stats::norm_quantile(percentile / 100.0);
        Some((mu + sigma * z).exp())
    }

    /// Invocations a function is expected to receive in `[from, to)` (the daily shape and
    /// bursts, without the per-minute noise): what the right-sizing benchmark charges a size
    /// with.
    pub fn expected_invocations(&self, function: &str, from: SystemTime, to: SystemTime) -> f64 {
        let st = lock(&self.state);
        let Some(f) = st.functions.get(function) else {
            return 0.0;
        };
        let key = stats::hash_str(function);
        (traffic::minute_of(from)..traffic::minute_of(to))
            .map(|m| traffic::expected_rate(st.seed, key, f.traffic.peak_rps, m) * 60.0)
            .sum()
    }

    /// The share of a function's invocations killed for memory at a memory size.
    pub fn true_oom_share(&self, function: &str, memory_mb: u32) -> Option<f64> {
        let st = lock(&self.state);
        Some(traffic::oom_share(
            &st.functions.get(function)?.traffic,
            memory_mb,
        ))
    }

    /// Writes the state to `state_file`, if there is one (atomically: temp file, then rename).
    pub fn save(&self) -> Result<(), SimError> {
        let Some(path) = &self.state_file else {
            return Ok(());
        };
        let (seq, bytes) = {
            let st = lock(&self.state);
            let seq = self.snapshots.fetch_add(1, Ordering::SeqCst) + 1;
            (seq, persist::encode(path, &st)?)
        };
        self.write_snapshot(path, seq, &bytes)
    }

    fn write_snapshot(
        &self,
        path: &std::path::Path,
        seq: u64,
        bytes: &[u8],
    ) -> Result<(), SimError> {
        let mut written = lock(&self.persisted);
        if seq <= *written {
            return Ok(()); // a newer snapshot is already on disk
        }
        persist::write_atomic(path, bytes)?;
        *written = seq;
        Ok(())
    }

    /// CPU time this account has spent answering calls (on the calling threads), so a
    /// benchmark can tell the daemon's own CPU from the stand-in's.
    pub fn cpu_spent(&self) -> Duration {
        self.cpu.total()
    }

    pub(crate) fn cpu_measure<T>(&self, f: impl FnOnce() -> T) -> T {
        self.cpu.measure(f)
    }

    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Counts the call, then applies the quota. Every port call starts here.
    pub(crate) async fn admit(&self, op: Op) -> CloudResult<()> {
        let now = self.clock.now();
        let mut rt = lock(&self.runtime);
        rt.counters.entry(op).calls += 1;
        if rt.quotas.admit(op.bucket(), now) {
            Ok(())
        } else {
            rt.counters.entry(op).throttled += 1;
            Err(errors::throttled(op))
        }
    }

    pub(crate) fn record_failure(&self, op: Op) {
        lock(&self.runtime).counters.entry(op).failed += 1;
    }

    /// Runs one operation: admission, then `body` against the settled state, then persistence
    /// of a successful write.
    pub(crate) async fn call<T, F>(&self, op: Op, body: F) -> CloudResult<T>
    where
        T: Send,
        F: FnOnce(&mut Cx<'_>) -> CloudResult<T> + Send,
    {
        self.admit(op).await?;
        let now = self.clock.now();
        let (result, snapshot) = self.cpu.measure(|| {
            let mut st = lock(&self.state);
            st.settle(now);
            let result = body(&mut Cx {
                st: &mut st,
                now,
                op,
            });
            let snapshot = match (&self.state_file, &result) {
                (Some(path), Ok(_)) if op.is_write() => {
                    let seq = self.snapshots.fetch_add(1, Ordering::SeqCst) + 1;
                    Some((path, seq, persist::encode(path, &st)))
                }
                _ => None,
            };
            (result, snapshot)
        });
        if result.is_err() {
            self.record_failure(op);
        }
        if let Some((path, seq, bytes)) = snapshot {
            let written = bytes.and_then(|b| self.write_snapshot(path, seq, &b));
            if let Err(e) = written {
                // The change happened in memory but another process would not see it: report
                // it rather than let `apply` and a later `plan` silently disagree.
                tracing::error!(error = %e, op = op.name(), "simulated account state not saved");
                self.record_failure(op);
                return Err(CloudError::new(
                    ErrorKind::Other,
                    op,
                    "simulated account state not saved",
                )
                .with_code("SimStateNotSaved")
                .with_source(e));
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::testkit::{account, alarm};
    use super::*;
    use crate::cloud::ErrorKind;

    #[tokio::test]
    async fn a_burst_beyond_the_quota_is_throttled_until_time_passes() {
        let (acct, clock) = account(vec![]);
        acct.set_quota_enforcement(true);
        let cw = acct.cloud().cloudwatch;
        let mut outcomes = Vec::new();
        for i in 0..5 {
            outcomes.push(cw.put_metric_alarm(&alarm(&format!("a{i}"))).await);
        }
        let throttled: Vec<_> = outcomes.iter().filter_map(|r| r.as_ref().err()).collect();
        assert_eq!(throttled.len(), 2, "PutMetricAlarm allows 3 per second");
        assert!(
            throttled.iter().all(|e| e.kind == ErrorKind::Throttled
                && e.code.as_deref() == Some("ThrottlingException"))
        );
        let c = acct.counters();
        assert_eq!(
            (c.calls(Op::PutMetricAlarm), c.throttled(Op::PutMetricAlarm)),
            (5, 2)
        );
        assert_eq!(acct.with_state(|s| s.alarms.len()), 3);

        clock.advance(Duration::from_secs(1));
        for i in 5..8 {
            let r = cw.put_metric_alarm(&alarm(&format!("a{i}"))).await;
            assert!(r.is_ok(), "{r:?}");
        }
    }

    #[tokio::test]
    async fn lambda_control_plane_is_one_bucket_and_get_function_has_its_own() {
        let (acct, clock) = account(vec![testkit::sim_function("api", 512)]);
        acct.set_quota_enforcement(true);
        let lambda = acct.cloud().lambda;
        for i in 0..15 {
            let r = if i % 2 == 0 {
                lambda.list_functions(None).await.map(|_| ())
            } else {
                lambda.get_account_settings().await.map(|_| ())
            };
            assert!(r.is_ok(), "call {i}: {r:?}");
        }
        let e = lambda.get_account_settings().await.err();
        let e = e.unwrap_or_else(|| panic!("the 16th control-plane call should be throttled"));
        assert_eq!(e.code.as_deref(), Some("TooManyRequestsException"));
        assert_eq!(e.retry_after, Some(Duration::from_secs(1)));
        assert!(lambda.get_function("api").await.is_ok());
        clock.advance(Duration::from_millis(200)); // three tokens back at 15/s
        assert!(lambda.list_functions(None).await.is_ok());
        acct.set_quota("lambda:control-plane", 1.0);
        assert!(lambda.list_functions(None).await.is_ok());
        assert!(lambda.list_functions(None).await.is_err());
    }

    #[tokio::test]
    async fn direct_state_access_is_not_an_api_call() {
        let (acct, _clock) = account(vec![]);
        acct.with_state(|s| s.dashboards.insert("ops".into(), "{}".into()));
        assert_eq!(acct.counters().total_calls(), 0);
        let got = acct
            .cloud()
            .cloudwatch
            .get_dashboard("ops")
            .await
            .ok()
            .flatten();
        assert_eq!(got.as_deref(), Some("{}"));
        assert_eq!(acct.counters().total_calls(), 1);
        acct.reset_counters();
        assert_eq!(acct.counters().total_calls(), 0);
        assert_eq!(acct.account_id(), "123456789012");
    }

    #[test]
    fn invalid_settings_are_all_reported() {
        let mut bad = testkit::sim_function("api", 64);
        bad.error_rate = 2.0;
        let dup = testkit::sim_function("api", 512);
        let clock: Arc<dyn Clock> = Arc::new(crate::clock::ManualClock::at_epoch());
        let err = SimAccount::new(&testkit::settings(vec![bad, dup]), "us-east-1", clock).err();
        let msg = err.map(|e| e.to_string()).unwrap_or_default();
        assert!(msg.contains("memory_mb 64"), "{msg}");
        assert!(msg.contains("error_rate 2"), "{msg}");
        assert!(msg.contains("defined twice"), "{msg}");
    }
}
