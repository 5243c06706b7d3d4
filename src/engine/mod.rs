//! The engine: one reconcile cycle is observe → plan (pure) → apply, with every outcome counted.
//! `runtime` repeats cycles on a schedule; `render` prints plans and results; `status` is what
//! `/status` and `/healthz` report.

pub mod apply;
pub mod governor;
pub mod observe;
mod observe_capacity;
pub mod render;
pub mod runtime;
pub mod status;
pub mod tag_cache;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::cloud::Cloud;
use crate::cloud::sim::SimAccount;
use crate::controllers;
use crate::model::{Action, Desired, Observed, Plan, ResourceKind};
use crate::telemetry::Telemetry;

use apply::{ApplyReport, Executor};
use governor::Governor;
use observe::{ObserveError, Observer};
use status::Heartbeat;

/// Renders an error and all its causes on one line, so logs keep the whole SDK chain.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = cause.source();
    }
    out
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("connecting to AWS")]
    Aws(#[source] crate::cloud::aws::AwsSetupError),
    #[error("starting the simulated account")]
    Simulated(#[source] crate::cloud::sim::SimError),
}

/// The account a process talks to, and the simulated account behind it when there is one.
#[derive(Clone)]
pub struct Account {
    pub cloud: Cloud,
    pub sim: Option<Arc<SimAccount>>,
}

impl std::fmt::Debug for Account {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Account")
            .field("simulated", &self.sim.is_some())
            .finish()
    }
}

/// Builds the account named by `[cloud]`: the real one through the SDK, or the simulated one.
pub async fn connect(desired: &Desired, clock: Arc<dyn Clock>) -> Result<Account, ConnectError> {
    match desired.cloud.backend {
        crate::model::Backend::Aws => Ok(Account {
            cloud: crate::cloud::aws::connect(&desired.cloud)
                .await
                .map_err(ConnectError::Aws)?,
            sim: None,
        }),
        crate::model::Backend::Simulated => {
            let sim = SimAccount::new(&desired.cloud.simulated, &desired.cloud.region, clock)
                .map_err(ConnectError::Simulated)?;
            Ok(Account {
                cloud: sim.cloud(),
                sim: Some(sim),
            })
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CycleError {
    #[error("observing the account")]
    Observe(#[from] ObserveError),
}

/// Everything one cycle did.
#[derive(Debug, Clone, Serialize)]
pub struct CycleReport {
    pub started_at: SystemTime,
    pub duration: Duration,
    pub plan: Plan,
    pub apply: ApplyReport,
    pub functions_in_scope: usize,
    pub alarms_observed: usize,
}

impl CycleReport {
    pub fn outcome(&self) -> &'static str {
        if self.apply.failed() > 0 {
            "partial"
        } else {
            "success"
        }
    }
}

/// The rate limits in force: the configured ones, and for the Lambda control plane (shared by
/// the whole account, 15 req/s) the configured budget's share of it unless set explicitly.
pub fn rate_limits(desired: &Desired) -> BTreeMap<String, f64> {
    let mut limits = desired.cloud.rate_limits.clone();
    let bucket = crate::cloud::Op::ListFunctions.bucket();
    limits.entry(bucket.to_string()).or_insert_with(|| {
        crate::cloud::ops::aws_quota(bucket) * desired.capacity.control_plane_budget
    });
    limits
}

/// Observe, plan and apply against one account.
#[derive(Debug)]
pub struct Engine {
    observer: Observer,
    executor: Executor,
    gov: Governor,
    telemetry: Telemetry,
    heartbeat: Heartbeat,
}

impl Engine {
    pub fn new(
        cloud: Cloud,
        clock: Arc<dyn Clock>,
        telemetry: Telemetry,
        desired: &Desired,
    ) -> Self {
        let gov = Governor::new(
            clock,
            telemetry.clone(),
            rate_limits(desired),
            desired.executor.clone(),
        );
        let heartbeat = Heartbeat::default();
        let tags = Arc::new(tag_cache::TagCache::default());
        Self {
            observer: Observer::new(cloud.clone(), gov.clone(), tags.clone()),
            executor: Executor::new(
                cloud,
                gov.clone(),
                desired.executor.concurrency,
                heartbeat.clone(),
                tags,
            ),
            gov,
            telemetry,
            heartbeat,
        }
    }

    /// Replaces the heartbeat (the daemon shares one across engine rebuilds on reload).
    pub fn with_heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.executor.set_heartbeat(heartbeat.clone());
        self.heartbeat = heartbeat;
        self
    }

    pub fn heartbeat(&self) -> &Heartbeat {
        &self.heartbeat
    }

    pub fn governor(&self) -> &Governor {
        &self.gov
    }

    pub fn telemetry(&self) -> &Telemetry {
        &self.telemetry
    }

    pub async fn observe(&self, desired: &Desired) -> Result<Observed, ObserveError> {
        let observed = self.observer.observe(desired).await?;
        self.heartbeat.observed(self.gov.clock().now());
        self.telemetry.ready.set(1);
        Ok(observed)
    }

    /// Observes and plans; changes nothing.
    pub async fn plan(&self, desired: &Desired) -> Result<(Observed, Plan), CycleError> {
        let observed = self.observe(desired).await?;
        let plan = controllers::plan(desired, &observed);
        self.record_plan(&plan);
        Ok((observed, plan))
    }

    fn record_plan(&self, plan: &Plan) {
        let t = &self.telemetry;
        let mut pending: BTreeMap<(ResourceKind, Action), i64> = BTreeMap::new();
        let mut drifted: BTreeMap<ResourceKind, i64> = BTreeMap::new();
        let mut refused: BTreeMap<ResourceKind, i64> = BTreeMap::new();
        for change in &plan.changes {
            *pending.entry((change.kind, change.action)).or_default() += 1;
            if change.action == Action::Update {
                *drifted.entry(change.kind).or_default() += 1;
            }
            t.changes_planned
                .with_label_values(&[change.kind.as_str(), change.action.as_str()])
                .inc();
        }
        for refusal in &plan.refusals {
            *refused.entry(refusal.kind).or_default() += 1;
        }
        for kind in ResourceKind::ALL {
            for action in Action::ALL {
                t.pending_changes
                    .with_label_values(&[kind.as_str(), action.as_str()])
                    .set(pending.get(&(kind, action)).copied().unwrap_or(0));
            }
            t.drifted_resources
                .with_label_values(&[kind.as_str()])
                .set(drifted.get(&kind).copied().unwrap_or(0));
            t.changes_refused
                .with_label_values(&[kind.as_str()])
                .set(refused.get(&kind).copied().unwrap_or(0));
        }
    }

    /// One full cycle. Returns an error only when nothing could be planned.
    pub async fn cycle(
        &self,
        desired: &Desired,
        cancel: &CancellationToken,
    ) -> Result<CycleReport, CycleError> {
        let clock = self.gov.clock().clone();
        let started_at = clock.now();
        let wall = std::time::Instant::now();
        let result = self.plan(desired).await;
        let (observed, plan) = match result {
            Ok(ok) => ok,
            Err(e) => {
                self.telemetry.cycles.with_label_values(&["failed"]).inc();
                self.telemetry
                    .cycle_duration
                    .observe(wall.elapsed().as_secs_f64());
                return Err(e);
            }
        };
        let apply = self.executor.apply(&plan, cancel).await;
        let report = CycleReport {
            started_at,
            duration: wall.elapsed(),
            functions_in_scope: observed.functions.len(),
            alarms_observed: observed.alarms.len(),
            plan,
            apply,
        };
        self.telemetry
            .cycles
            .with_label_values(&[report.outcome()])
            .inc();
        self.telemetry
            .cycle_duration
            .observe(report.duration.as_secs_f64());
        if report.apply.failed() == 0 {
            let now = clock
                .now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            self.telemetry.last_success.set(now.as_secs_f64());
        }
        Ok(report)
    }
}
