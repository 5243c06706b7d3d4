//! The simulated AWS account: an in-memory implementation of all six cloud ports, faithful
//! enough for the engine's convergence, idempotence and ownership tests and for right-sizing
//! benchmarks. This module owns `SimAccount`, its public API, and the path every port call
//! takes: count it, inject faults, enforce the quota, run it against the state under one lock,
//! persist it if it wrote.

mod alarms;
mod autoscaling;
mod cloudwatch;
mod counters;
mod dynamodb;
mod errors;
mod events;
mod faults;
mod functions;
mod lambda;
mod metrics;
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
mod traffic;

#[cfg(test)]
mod testkit;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use crate::clock::Clock;
use crate::cloud::{Cloud, CloudError, CloudResult, ErrorKind, Op};
use crate::model::{SimFaults, SimSettings};

pub use counters::{OpCount, OpCounters};
pub use metrics::MetricStore;
pub use state::{
    AlarmRecord, AliasRecord, PastConfig, PolicyRecord, ProvisionedRecord, RuleRecord,
    SimFunctionState, SimState, SubscriptionRecord, TableRecord, TopicRecord, TrafficProfile,
    VersionRecord,
};

use faults::Faults;
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

/// Call accounting and the knobs tests turn; not part of the persisted account.
#[derive(Debug)]
struct Runtime {
    counters: OpCounters,
    quotas: Quotas,
    faults: Faults,
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
    /// instead of seeding (and saves a freshly seeded account there when it does not).
    pub fn new(
        settings: &SimSettings,
        region: &str,
        clock: Arc<dyn Clock>,
    ) -> Result<Arc<Self>, SimError> {
        let loaded = match &settings.state_file {
            Some(path) => persist::load(path)?,
            None => None,
        };
        let fresh = loaded.is_none();
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
                faults: Faults::new(settings.faults.clone(), settings.seed),
            }),
            state: Mutex::new(state),
            persisted: Mutex::new(0),
            snapshots: AtomicU64::new(0),
        });
        if fresh {
            account.save()?;
        }
        Ok(account)
    }

    /// All six ports, backed by this account.
    pub fn cloud(self: &Arc<Self>) -> Cloud {
        Cloud {
            cloudwatch: self.clone(),
            lambda: self.clone(),
            autoscaling: self.clone(),
            events: self.clone(),
            dynamodb: self.clone(),
            sns: self.clone(),
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

    pub fn set_faults(&self, faults: SimFaults) {
        lock(&self.runtime).faults.settings = faults;
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

    pub(crate) fn now(&self) -> SystemTime {
        self.clock.now()
    }

    /// Counts the call, applies fault injection, then the quota. Every port call starts here.
    pub(crate) async fn admit(&self, op: Op) -> CloudResult<()> {
        let decision = {
            let mut rt = lock(&self.runtime);
            rt.counters.entry(op).calls += 1;
            rt.faults.decide(op)
        };
        if !decision.latency.is_zero() {
            self.clock.sleep(decision.latency).await;
        }
        if let Some(e) = decision.error {
            lock(&self.runtime).counters.entry(op).failed += 1;
            return Err(e);
        }
        let now = self.clock.now();
        let mut rt = lock(&self.runtime);
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
        let (result, snapshot) = {
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
        };
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
