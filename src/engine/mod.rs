//! The engine: one reconcile cycle is observe → plan (pure) → apply, with every outcome counted.
//! `runtime` repeats cycles on a schedule; `render` prints plans and results; `status` is what
//! `/status` and `/healthz` report.
//!
//! An engine lives as long as the process: a config reload reconfigures it
//! ([`Engine::reconfigure`]) and keeps its caches, the rate limiter's adapted rates and every
//! controller's memory.

pub mod apply;
pub mod governor;
pub mod lease;
pub mod observe;
pub mod render;
pub mod runtime;
pub mod status;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use serde::Serialize;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::cloud::Cloud;
use crate::controllers::registry;
use crate::model::rightsizing::SizingState;
use crate::model::{Action, Desired, Observed, Plan, ResourceKind};
use crate::telemetry::Telemetry;

use apply::{ApplyReport, Executor};
use governor::Governor;
use observe::{ObserveError, Observer, Verification, tag_cache::TagCache};
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
    /// The account, from any ARN seen this cycle.
    pub account_id: Option<String>,
    /// The earliest next look a controller asked for, if sooner than the interval matters.
    pub requeue: Option<Duration>,
}

impl CycleReport {
    /// `partial` (a change failed), `interrupted` (shutdown began: changes not started were
    /// skipped), or `success`.
    pub fn outcome(&self) -> &'static str {
        if self.apply.failed() > 0 {
            "partial"
        } else if self.apply.skipped() > 0 {
            "interrupted"
        } else {
            "success"
        }
    }
}

/// A plan that deletes more than `ownership.max_deletions` resources at once keeps everything
/// but its deletions, which become refusals until a person confirms (a config setting for the
/// daemon, a flag on the command line): a half-edited file, a wrong selector or a bug must not
/// take down dozens of alarms in one cycle. The plan shows it, `trimtab_changes_refused`
/// counts it, and the log says what to do.
pub fn hold_mass_deletion(ownership: &crate::model::Ownership, plan: &mut Plan) {
    let deletions = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Delete)
        .count();
    if deletions <= ownership.max_deletions || ownership.allow_mass_deletion {
        return;
    }
    tracing::warn!(
        deletions,
        max = ownership.max_deletions,
        "mass deletion held back: confirm with `ownership.allow_mass_deletion = true` or `apply --allow-mass-deletion`"
    );
    let (held, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut plan.changes)
        .into_iter()
        .partition(|c| c.action == Action::Delete);
    plan.changes = kept;
    for c in held {
        plan.refusals.push(crate::model::Refusal {
            kind: c.kind,
            id: c.id,
            reason: format!(
                "held back: this plan would delete {deletions} resources at once, more than ownership.max_deletions = {}; if that is intended, confirm with `ownership.allow_mass_deletion = true` (daemon) or `trimtab apply --allow-mass-deletion`, else fix the desired state ({})",
                ownership.max_deletions, c.reason
            ),
        });
    }
}

/// The rate limits in force: the configured ones, and for the Lambda control plane (shared by
/// the whole account, 15 req/s) the configured budget's share of it unless set explicitly.
pub fn rate_limits(desired: &Desired) -> BTreeMap<String, f64> {
    let mut limits = desired.cloud.rate_limits.clone();
    let bucket = crate::cloud::Op::ListFunctions.bucket();
    limits
        .entry(bucket.to_string())
        .or_insert_with(|| crate::cloud::ops::aws_quota(bucket) * desired.control_plane_budget);
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
    /// What every controller remembers between cycles; survives reloads.
    memory: Mutex<registry::Memory>,
    /// Whether an observation of this engine has verified everything once. Until then every
    /// observation is full: a `plan` or `apply` from the command line, and the daemon's first
    /// cycle after a start, check everything they manage before saying it matches.
    verified: std::sync::atomic::AtomicBool,
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
        let tags = Arc::new(TagCache::default());
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
            memory: Mutex::new(registry::Memory::default()),
            verified: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// Takes a reloaded configuration: new rate limits and executor settings, while caches,
    /// adapted rates and controllers' memory carry on.
    pub fn reconfigure(&mut self, desired: &Desired) {
        self.gov
            .reconfigure(rate_limits(desired), desired.executor.clone());
        self.executor.set_concurrency(desired.executor.concurrency);
    }

    /// Replaces the heartbeat (the daemon shares one with its status board).
    pub fn with_heartbeat(mut self, heartbeat: Heartbeat) -> Self {
        self.executor.set_heartbeat(heartbeat.clone());
        self.heartbeat = heartbeat;
        self
    }

    /// Writes go ahead only while `gate` says so (the leader lease is held): checked before
    /// every write, so a process that lost its lease stops before its next write.
    pub fn with_write_gate(mut self, gate: apply::WriteGate) -> Self {
        self.executor.set_gate(gate);
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

    fn memory(&self) -> std::sync::MutexGuard<'_, registry::Memory> {
        self.memory.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub async fn observe(&self, desired: &Desired) -> Result<Observed, ObserveError> {
        // The memory is taken out for the observation (reads may look at it) and put back, so
        // no lock is held across an await.
        let mut memory = std::mem::take(&mut *self.memory());
        let verified = self.verified.load(std::sync::atomic::Ordering::Acquire);
        let how = if verified {
            Verification::Rotate
        } else {
            Verification::Full
        };
        let result = self.observer.observe(desired, &mut memory, how).await;
        *self.memory() = memory;
        let observed = result?;
        self.verified
            .store(true, std::sync::atomic::Ordering::Release);
        self.heartbeat.observed(self.gov.clock().now());
        self.telemetry.ready.set(1);
        Ok(observed)
    }

    /// Observes and plans; changes nothing.
    pub async fn plan(&self, desired: &Desired) -> Result<(Observed, Plan), CycleError> {
        let (observed, outcome) = self.plan_outcome(desired).await?;
        Ok((observed, outcome.plan))
    }

    /// Plans `observed` with the controllers' memory as a cycle would, without observing or
    /// recording anything: for benchmarks that time the planner of a steady daemon.
    pub fn plan_observed(&self, desired: &Desired, observed: &Observed) -> Plan {
        registry::plan(desired, observed, &mut self.memory()).plan
    }

    async fn plan_outcome(
        &self,
        desired: &Desired,
    ) -> Result<(Observed, crate::controllers::Outcome), CycleError> {
        let observed = self.observe(desired).await?;
        let mut outcome = registry::plan(desired, &observed, &mut self.memory());
        hold_mass_deletion(&desired.ownership, &mut outcome.plan);
        self.record_plan(&outcome.plan);
        Ok((observed, outcome))
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
        let mut notes: BTreeMap<(&str, &str), i64> = BTreeMap::new();
        for note in &plan.notes {
            *notes.entry((note.controller, note.code)).or_default() += 1;
        }
        for (controller, code) in registry::note_codes() {
            t.plan_notes
                .with_label_values(&[controller, code])
                .set(notes.get(&(controller, code)).copied().unwrap_or(0));
        }
        let mut sizing: BTreeMap<SizingState, i64> = BTreeMap::new();
        let (mut down, mut up) = (0.0, 0.0);
        for r in &plan.recommendations {
            *sizing.entry(r.state).or_default() += 1;
            match r.monthly_saving {
                Some(s) if s > 0.0 => down += s,
                Some(s) if s < 0.0 => up -= s,
                _ => {}
            }
        }
        for state in SizingState::ALL {
            t.rightsizing_functions
                .with_label_values(&[state.as_str()])
                .set(sizing.get(&state).copied().unwrap_or(0));
        }
        t.rightsizing_saving.with_label_values(&["down"]).set(down);
        t.rightsizing_realised
            .set(crate::model::rightsizing::saving_realised(
                &plan.recommendations,
            ));
        if let Some(cost) = &plan.cost {
            // Components come and go with the models seen: drop the stale series.
            t.cost_monthly.reset();
            for c in &cost.components {
                t.cost_monthly
                    .with_label_values(&[c.component.as_str()])
                    .set(c.monthly);
            }
            t.cost_per_student
                .set(cost.per_student_monthly.unwrap_or(f64::NAN));
        }
        t.rightsizing_saving.with_label_values(&["up"]).set(up);
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
        let result = self.plan_outcome(desired).await;
        let (observed, outcome) = match result {
            Ok(ok) => ok,
            Err(e) => {
                self.telemetry.cycles.with_label_values(&["failed"]).inc();
                self.telemetry
                    .cycle_duration
                    .observe(wall.elapsed().as_secs_f64());
                return Err(e);
            }
        };
        let apply = self.executor.apply(&outcome.plan, cancel).await;
        let report = CycleReport {
            started_at,
            duration: wall.elapsed(),
            functions_in_scope: observed.functions.len(),
            alarms_observed: observed.alarms.len(),
            account_id: observed.account_id.clone(),
            plan: outcome.plan,
            apply,
            requeue: outcome.requeue,
        };
        self.telemetry
            .cycles
            .with_label_values(&[report.outcome()])
            .inc();
        self.telemetry
            .cycle_duration
            .observe(report.duration.as_secs_f64());
        if report.outcome() == "success" {
            let now = clock
                .now()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            self.telemetry.last_success.set(now.as_secs_f64());
        }
        Ok(report)
    }
}
