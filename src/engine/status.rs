//! The daemon's view of itself, as `/status`, `/healthz` and `/readyz` report it.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use serde::Serialize;

use crate::clock::Clock;
use crate::model::rightsizing::{Recommendation, SizingState};
use crate::model::{Action, Change, FieldDiff, Note, Refusal, ResourceKind};

use super::CycleReport;
use super::apply::Outcome;

/// How many recent errors `/status` keeps.
pub const RECENT_ERRORS: usize = 50;
/// How many cycles `/status` and the page keep.
pub const RECENT_CYCLES: usize = 20;
/// How many hourly cost-per-student points the page's chart keeps (a week).
pub const COST_POINTS: usize = 168;
/// Errors older than this leave `/status`, resolved or not.
pub const ERROR_AGE: Duration = Duration::from_secs(24 * 3_600);
/// `/healthz` fails when no cycle has completed for this many intervals.
pub const HEALTHY_INTERVALS: u32 = 3;

fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeSummary {
    pub kind: ResourceKind,
    pub id: String,
    pub action: Action,
    pub reason: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub diffs: Vec<FieldDiff>,
}

impl From<&Change> for ChangeSummary {
    fn from(c: &Change) -> Self {
        Self {
            kind: c.kind,
            id: c.id.clone(),
            action: c.action,
            reason: c.reason.clone(),
            diffs: c.diffs.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CycleSummary {
    pub started_at: String,
    pub duration_ms: u64,
    /// `success`, `partial` (some changes failed) or `failed` (nothing could be planned).
    pub outcome: String,
    pub planned: usize,
    pub applied: usize,
    pub failed: usize,
    pub skipped: usize,
    pub functions_in_scope: usize,
    pub alarms_observed: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ErrorEntry {
    pub at: String,
    pub context: String,
    pub message: String,
    /// When the resource (or, for a failed cycle, the loop) was next seen in order.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resolved_at: Option<String>,
    #[serde(skip)]
    when: SystemTime,
    /// The resource the error was about, if one.
    #[serde(skip)]
    resource: Option<(ResourceKind, String)>,
}

/// Where one managed resource stands after the last cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ResourceState {
    /// Verified to match the desired state.
    InSync,
    /// Changed by the last cycle to match it.
    Changed,
    /// Differed and the update did not complete.
    Drifted,
    /// A creation or deletion planned and not done (failed, interrupted or held).
    Pending,
    /// Refused: someone else's, a guard, or waiting for another resource.
    Refused,
}

#[derive(Debug, Clone, Serialize)]
pub struct InventoryItem {
    pub id: String,
    pub state: ResourceState,
    /// When a cycle last found it in order (in sync, or changed to be).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_verified: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct KindInventory {
    pub count: usize,
    pub by_state: BTreeMap<ResourceState, usize>,
    pub resources: Vec<InventoryItem>,
}

/// Who is answering: the build, and which account it manages.
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub version: &'static str,
    /// `single` (no `[lease]`), `leader` (holds it: the writer) or `standby` (writes nothing).
    pub role: String,
    pub backend: String,
    pub region: String,
    pub account: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusSnapshot {
    #[serde(flatten)]
    pub identity: Identity,
    pub config_path: String,
    pub config_generation: u64,
    pub interval_s: f64,
    pub started_at: String,
    pub ready: bool,
    pub healthy: bool,
    pub last_cycle: Option<CycleSummary>,
    /// The last cycles, newest last.
    pub recent_cycles: Vec<CycleSummary>,
    /// The cost per student, one point an hour (the hour's last estimate), oldest first.
    pub cost_history: Vec<(String, f64)>,
    pub last_completed_at: Option<String>,
    pub last_success_at: Option<String>,
    /// Resources whose live state differed from the desired state in the last plan, per kind.
    pub drift: BTreeMap<ResourceKind, usize>,
    /// The last plan's changes, each with its reason.
    pub last_plan: Vec<ChangeSummary>,
    /// Changes of the last plan that are still not done (failed or skipped).
    pub pending: Vec<ChangeSummary>,
    pub refusals: Vec<Refusal>,
    /// Findings of the last plan that are neither changes nor refusals (alarms whose metric
    /// has no data, recommendations): the first [`NOTES_PER_CODE`] of each kind.
    pub notes: Vec<Note>,
    /// How many notes of each kind the board left out (`trimtab plan` prints them all).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes_omitted: Vec<NotesOmitted>,
    /// Right-sizing's view of every function it looked at in the last plan.
    pub right_sizing: RightSizingStatus,
    /// The cost model's last estimate.
    pub cost: Option<crate::model::cost::CostReport>,
    /// What trimtab manages, by kind, each with its state after the last cycle.
    pub inventory: BTreeMap<ResourceKind, KindInventory>,
    /// Failures of the last day, newest last; those since put right say when.
    pub recent_errors: Vec<ErrorEntry>,
}

/// Notes the board keeps per controller and code. A plan can note every resource of a kind (an
/// alarm whose metric has had no data for two weeks: at 10,000 functions, up to 30,000 notes of
/// about 400 bytes each); `/status` and the page show the first of each kind and count the rest,
/// as the `trimtab_plan_notes` gauge counts them all.
pub const NOTES_PER_CODE: usize = 50;

/// The notes of one kind left off the board.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NotesOmitted {
    pub controller: &'static str,
    pub code: &'static str,
    pub count: usize,
}

/// The first [`NOTES_PER_CODE`] notes of each (controller, code), in the plan's order, and how
/// many of each were left out.
fn shown_notes(notes: &[Note]) -> (Vec<Note>, Vec<NotesOmitted>) {
    let mut seen: BTreeMap<(&'static str, &'static str), usize> = BTreeMap::new();
    let mut shown = Vec::new();
    for n in notes {
        let count = seen.entry((n.controller, n.code)).or_default();
        *count += 1;
        if *count <= NOTES_PER_CODE {
            shown.push(n.clone());
        }
    }
    let omitted = seen
        .into_iter()
        .filter(|(_, count)| *count > NOTES_PER_CODE)
        .map(|((controller, code), count)| NotesOmitted {
            controller,
            code,
            count: count - NOTES_PER_CODE,
        })
        .collect();
    (shown, omitted)
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RightSizingStatus {
    /// Functions by where they stand.
    pub functions_by_state: BTreeMap<SizingState, usize>,
    /// Dollars a month the recommendations not yet applied would save.
    pub monthly_saving_available: f64,
    /// Dollars a month the steps already taken save (against each function's memory before
    /// trimtab's first step).
    pub monthly_saving_realised: f64,
    /// One entry per function, the largest savings first.
    pub functions: Vec<Recommendation>,
}

impl RightSizingStatus {
    fn of(recommendations: &[Recommendation]) -> Self {
        let mut functions = recommendations.to_vec();
        functions.sort_by(|a, b| {
            let saving = |r: &Recommendation| r.monthly_saving.unwrap_or(0.0).abs();
            saving(b)
                .total_cmp(&saving(a))
                .then_with(|| a.function.cmp(&b.function))
        });
        let mut functions_by_state = BTreeMap::new();
        for r in &functions {
            *functions_by_state.entry(r.state).or_default() += 1;
        }
        Self {
            functions_by_state,
            monthly_saving_available: crate::model::rightsizing::saving_available(&functions),
            monthly_saving_realised: crate::model::rightsizing::saving_realised(&functions),
            functions,
        }
    }
}

#[derive(Debug)]
struct State {
    config_path: String,
    generation: u64,
    interval: Duration,
    started_at: SystemTime,
    ready: bool,
    last_cycle: Option<CycleSummary>,
    last_completed: Option<SystemTime>,
    last_success: Option<SystemTime>,
    drift: BTreeMap<ResourceKind, usize>,
    last_plan: Vec<ChangeSummary>,
    pending: Vec<ChangeSummary>,
    refusals: Vec<Refusal>,
    notes: Vec<Note>,
    notes_omitted: Vec<NotesOmitted>,
    right_sizing: RightSizingStatus,
    cost: Option<crate::model::cost::CostReport>,
    errors: VecDeque<ErrorEntry>,
    identity: Identity,
    cycles: VecDeque<CycleSummary>,
    /// (hour, cost per student).
    cost_history: VecDeque<(SystemTime, f64)>,
    /// By kind and id: the state, and when last found in order.
    inventory: BTreeMap<ResourceKind, BTreeMap<String, (ResourceState, Option<SystemTime>)>>,
}

/// Signs of life from inside a cycle: the engine beats after each observation and each finished
/// change, so a long first convergence (thousands of alarms at 3 TPS) is not mistaken for a hung
/// loop, and readiness comes as soon as the first observation succeeds, not after the first apply.
#[derive(Debug, Clone, Default)]
pub struct Heartbeat {
    last: Arc<std::sync::Mutex<Option<SystemTime>>>,
    observed: Arc<std::sync::atomic::AtomicBool>,
}

impl Heartbeat {
    pub fn beat(&self, now: SystemTime) {
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = Some(now);
    }

    pub fn observed(&self, now: SystemTime) {
        self.observed
            .store(true, std::sync::atomic::Ordering::Release);
        self.beat(now);
    }

    pub fn last(&self) -> Option<SystemTime> {
        *self.last.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn has_observed(&self) -> bool {
        self.observed.load(std::sync::atomic::Ordering::Acquire)
    }
}

/// Shared between the loop (writer) and the HTTP server (readers).
#[derive(Debug, Clone)]
pub struct StatusBoard {
    clock: Arc<dyn Clock>,
    heartbeat: Heartbeat,
    state: Arc<RwLock<State>>,
}

impl StatusBoard {
    pub fn new(
        clock: Arc<dyn Clock>,
        heartbeat: Heartbeat,
        config_path: String,
        interval: Duration,
    ) -> Self {
        let started_at = clock.now();
        Self {
            clock,
            heartbeat,
            state: Arc::new(RwLock::new(State {
                config_path,
                generation: 1,
                interval,
                started_at,
                ready: false,
                last_cycle: None,
                last_completed: None,
                last_success: None,
                drift: BTreeMap::new(),
                last_plan: Vec::new(),
                pending: Vec::new(),
                refusals: Vec::new(),
                notes: Vec::new(),
                notes_omitted: Vec::new(),
                right_sizing: RightSizingStatus::default(),
                cost: None,
                errors: VecDeque::new(),
                identity: Identity {
                    version: env!("CARGO_PKG_VERSION"),
                    role: "single".into(),
                    backend: String::new(),
                    region: String::new(),
                    account: None,
                },
                inventory: BTreeMap::new(),
                cycles: VecDeque::new(),
                cost_history: VecDeque::new(),
            })),
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_config(&self, generation: u64, interval: Duration) {
        let mut s = self.write();
        s.generation = generation;
        s.interval = interval;
    }

    pub fn set_identity(&self, backend: crate::model::Backend, region: &str) {
        let mut s = self.write();
        s.identity.backend = format!("{backend:?}").to_lowercase();
        s.identity.region = region.to_string();
    }

    pub fn set_role(&self, role: &str) {
        let mut s = self.write();
        if s.identity.role != role {
            s.identity.role = role.to_string();
        }
    }

    /// A standby's cycle: what the writer would do, shown; nothing applied.
    pub fn standby(&self, plan: &crate::model::Plan, started_at: SystemTime, duration: Duration) {
        let now = self.clock.now();
        let mut s = self.write();
        let summary = CycleSummary {
            started_at: rfc3339(started_at),
            duration_ms: duration.as_millis() as u64,
            outcome: "standby".into(),
            planned: plan.changes.len(),
            applied: 0,
            failed: 0,
            skipped: 0,
            functions_in_scope: 0,
            alarms_observed: 0,
            error: None,
        };
        Self::completed(&mut s, plan, summary, now);
        s.pending = s.last_plan.clone();
    }

    /// What every completed cycle shows, applied or not: its summary, the plan's changes,
    /// refusals and notes, and the cost estimate when there is one.
    fn completed(s: &mut State, plan: &crate::model::Plan, summary: CycleSummary, now: SystemTime) {
        s.ready = true;
        s.last_completed = Some(now);
        s.last_cycle = Some(summary);
        Self::remember_cycle(s);
        s.last_plan = plan.changes.iter().map(ChangeSummary::from).collect();
        s.refusals = plan.refusals.clone();
        (s.notes, s.notes_omitted) = shown_notes(&plan.notes);
        if plan.cost.is_some() {
            s.cost = plan.cost.clone();
        }
    }

    pub fn record_error(&self, context: impl Into<String>, message: impl Into<String>) {
        self.push_error(context.into(), message.into(), None);
    }

    fn push_error(
        &self,
        context: String,
        message: String,
        resource: Option<(ResourceKind, String)>,
    ) {
        let now = self.clock.now();
        let mut s = self.write();
        if s.errors.len() == RECENT_ERRORS {
            s.errors.pop_front();
        }
        s.errors.push_back(ErrorEntry {
            at: rfc3339(now),
            context,
            message,
            resolved_at: None,
            when: now,
            resource,
        });
    }

    /// The inventory after a cycle: every resource a controller manages, in its state.
    fn take_inventory(s: &mut State, report: &CycleReport, now: SystemTime) {
        let mut outcome: BTreeMap<(ResourceKind, &str), (&Outcome, Action)> = BTreeMap::new();
        for o in &report.apply.outcomes {
            outcome.insert((o.kind, o.id.as_str()), (&o.outcome, o.action));
        }
        let mut planned: BTreeMap<(ResourceKind, &str), Action> = BTreeMap::new();
        for c in &report.plan.changes {
            planned.insert((c.kind, c.id.as_str()), c.action);
        }
        let refused: std::collections::BTreeSet<(ResourceKind, &str)> = report
            .plan
            .refusals
            .iter()
            .map(|r| (r.kind, r.id.as_str()))
            .collect();
        let mut next: BTreeMap<
            ResourceKind,
            BTreeMap<String, (ResourceState, Option<SystemTime>)>,
        > = BTreeMap::new();
        for (kind, id) in &report.plan.managed {
            let key = (*kind, id.as_str());
            let state = if refused.contains(&key) {
                ResourceState::Refused
            } else {
                match (planned.get(&key), outcome.get(&key)) {
                    (None, _) => ResourceState::InSync,
                    (Some(_), Some((Outcome::Applied, _))) => ResourceState::Changed,
                    (Some(Action::Update), _) => ResourceState::Drifted,
                    (Some(_), _) => ResourceState::Pending,
                }
            };
            let before = s
                .inventory
                .get(kind)
                .and_then(|m| m.get(id))
                .and_then(|e| e.1);
            let verified = match state {
                ResourceState::InSync | ResourceState::Changed => Some(now),
                _ => before,
            };
            next.entry(*kind)
                .or_default()
                .insert(id.clone(), (state, verified));
        }
        s.inventory = next;
        // Errors about a resource now in order are resolved; a failed cycle's, by a cycle.
        let resolved = rfc3339(now);
        for e in s.errors.iter_mut().filter(|e| e.resolved_at.is_none()) {
            let fixed = match &e.resource {
                Some((kind, id)) => {
                    s.inventory
                        .get(kind)
                        .and_then(|m| m.get(id))
                        .is_some_and(|(st, _)| {
                            matches!(st, ResourceState::InSync | ResourceState::Changed)
                        })
                }
                None => e.context == "cycle",
            };
            if fixed && e.when < now {
                e.resolved_at = Some(resolved.clone());
            }
        }
        s.errors
            .retain(|e| now.duration_since(e.when).unwrap_or_default() <= ERROR_AGE);
    }

    pub fn cycle_completed(&self, report: &CycleReport) {
        let now = self.clock.now();
        let mut s = self.write();
        if report.outcome() == "success" {
            s.last_success = Some(now);
        }
        let summary = CycleSummary {
            started_at: rfc3339(report.started_at),
            duration_ms: report.duration.as_millis() as u64,
            outcome: report.outcome().to_string(),
            planned: report.plan.changes.len(),
            applied: report.apply.applied(),
            failed: report.apply.failed(),
            skipped: report.apply.skipped(),
            functions_in_scope: report.functions_in_scope,
            alarms_observed: report.alarms_observed,
            error: None,
        };
        Self::completed(&mut s, &report.plan, summary, now);
        s.drift.clear();
        for change in report
            .plan
            .changes
            .iter()
            .filter(|c| c.action == Action::Update)
        {
            *s.drift.entry(change.kind).or_default() += 1;
        }
        s.pending = report
            .plan
            .changes
            .iter()
            .filter(|c| {
                report
                    .apply
                    .outcomes
                    .iter()
                    .any(|o| o.kind == c.kind && o.id == c.id && o.outcome != Outcome::Applied)
            })
            .map(ChangeSummary::from)
            .collect();
        if let Some(p) = report
            .plan
            .cost
            .as_ref()
            .and_then(|c| c.per_student_monthly)
        {
            let secs = report
                .started_at
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let hour = std::time::UNIX_EPOCH + Duration::from_secs(secs - secs % 3_600);
            if s.cost_history.back().is_some_and(|(h, _)| *h == hour) {
                s.cost_history.pop_back();
            }
            s.cost_history.push_back((hour, p));
            if s.cost_history.len() > COST_POINTS {
                s.cost_history.pop_front();
            }
        }
        if report.account_id.is_some() {
            s.identity.account = report.account_id.clone();
        }
        Self::take_inventory(&mut s, report, report.started_at);
        s.right_sizing = RightSizingStatus::of(&report.plan.recommendations);
        let failures: Vec<_> = report
            .apply
            .outcomes
            .iter()
            .filter_map(|o| match &o.outcome {
                Outcome::Failed { error } => Some((
                    format!("{} {} {}", o.action.as_str(), o.kind, o.id),
                    error.clone(),
                    (o.kind, o.id.clone()),
                )),
                _ => None,
            })
            .collect();
        drop(s);
        for (context, message, resource) in failures {
            self.push_error(context, message, Some(resource));
        }
    }

    fn remember_cycle(s: &mut State) {
        if let Some(c) = s.last_cycle.clone() {
            if s.cycles.len() == RECENT_CYCLES {
                s.cycles.pop_front();
            }
            s.cycles.push_back(c);
        }
    }

    pub fn cycle_failed(&self, started_at: SystemTime, duration: Duration, error: String) {
        {
            let mut s = self.write();
            s.last_cycle = Some(CycleSummary {
                started_at: rfc3339(started_at),
                duration_ms: duration.as_millis() as u64,
                outcome: "failed".into(),
                planned: 0,
                applied: 0,
                failed: 0,
                skipped: 0,
                functions_in_scope: 0,
                alarms_observed: 0,
                error: Some(error.clone()),
            });
            Self::remember_cycle(&mut s);
        }
        self.record_error("cycle", error);
    }

    pub fn ready(&self) -> bool {
        self.heartbeat.has_observed() || self.read().ready
    }

    /// Alive while the last sign of progress (a completed cycle, an observation, a finished
    /// change, or else the start) is within 3 intervals.
    pub fn healthy(&self) -> bool {
        let s = self.read();
        let since = [s.last_completed, self.heartbeat.last()]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(s.started_at);
        let age = self.clock.now().duration_since(since).unwrap_or_default();
        age <= s.interval * HEALTHY_INTERVALS
    }

    pub fn snapshot(&self) -> StatusSnapshot {
        let healthy = self.healthy();
        let s = self.read();
        let inventory = s
            .inventory
            .iter()
            .map(|(kind, items)| {
                let mut k = KindInventory {
                    count: items.len(),
                    ..KindInventory::default()
                };
                for (id, (state, verified)) in items {
                    *k.by_state.entry(*state).or_default() += 1;
                    k.resources.push(InventoryItem {
                        id: id.clone(),
                        state: *state,
                        last_verified: verified.map(rfc3339),
                    });
                }
                (*kind, k)
            })
            .collect();
        StatusSnapshot {
            identity: s.identity.clone(),
            config_path: s.config_path.clone(),
            config_generation: s.generation,
            interval_s: s.interval.as_secs_f64(),
            started_at: rfc3339(s.started_at),
            ready: s.ready || self.heartbeat.has_observed(),
            healthy,
            last_cycle: s.last_cycle.clone(),
            recent_cycles: s.cycles.iter().cloned().collect(),
            cost_history: s
                .cost_history
                .iter()
                .map(|(t, v)| (rfc3339(*t), *v))
                .collect(),
            last_completed_at: s.last_completed.map(rfc3339),
            last_success_at: s.last_success.map(rfc3339),
            drift: s.drift.clone(),
            last_plan: s.last_plan.clone(),
            pending: s.pending.clone(),
            refusals: s.refusals.clone(),
            notes: s.notes.clone(),
            notes_omitted: s.notes_omitted.clone(),
            right_sizing: s.right_sizing.clone(),
            cost: s.cost.clone(),
            inventory,
            recent_errors: s.errors.iter().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn unhealthy_after_three_intervals_without_a_cycle() {
        let clock = Arc::new(ManualClock::at_epoch());
        let heartbeat = Heartbeat::default();
        let board = StatusBoard::new(
            clock.clone(),
            heartbeat.clone(),
            "c.toml".into(),
            Duration::from_secs(60),
        );
        assert!(board.healthy());
        assert!(!board.ready());
        clock.advance(Duration::from_secs(180));
        assert!(board.healthy());
        clock.advance(Duration::from_secs(1));
        assert!(!board.healthy());
        // A long apply that keeps finishing changes is alive, and ready after its observation.
        heartbeat.observed(clock.now());
        assert!(board.healthy());
        assert!(board.ready());
        clock.advance(Duration::from_secs(181));
        assert!(!board.healthy());
    }

    #[test]
    fn keeps_only_the_most_recent_errors() {
        let board = StatusBoard::new(
            Arc::new(ManualClock::at_epoch()),
            Heartbeat::default(),
            "c.toml".into(),
            Duration::from_secs(60),
        );
        for i in 0..(RECENT_ERRORS + 5) {
            board.record_error("ctx", format!("e{i}"));
        }
        let snap = board.snapshot();
        assert_eq!(snap.recent_errors.len(), RECENT_ERRORS);
        assert_eq!(snap.recent_errors[0].message, "e5");
    }

    /// The board keeps the first notes of each kind, in order, and counts the rest; a kind
    /// with few notes keeps them all, and the next plan replaces both.
    #[test]
    fn keeps_the_first_notes_of_each_kind_and_counts_the_rest() {
        let note = |controller, code, i: usize| Note {
            controller,
            code,
            id: format!("r{i}"),
            message: format!("m{i}"),
        };
        let mut plan = crate::model::Plan::default();
        for i in 0..(NOTES_PER_CODE + 7) {
            plan.notes
                .push(note("alarm_data", "metric_without_data", i));
            if i < 3 {
                plan.notes.push(note("cost", "unpriced", i));
            }
        }
        let (shown, omitted) = shown_notes(&plan.notes);
        assert_eq!(shown.len(), NOTES_PER_CODE + 3);
        let ids = |code: &str| -> Vec<String> {
            shown
                .iter()
                .filter(|n| n.code == code)
                .map(|n| n.id.clone())
                .collect()
        };
        let first: Vec<String> = (0..NOTES_PER_CODE).map(|i| format!("r{i}")).collect();
        assert_eq!(ids("metric_without_data"), first);
        assert_eq!(ids("unpriced"), ["r0", "r1", "r2"]);
        assert_eq!(
            omitted,
            [NotesOmitted {
                controller: "alarm_data",
                code: "metric_without_data",
                count: 7
            }]
        );

        let board = StatusBoard::new(
            Arc::new(ManualClock::at_epoch()),
            Heartbeat::default(),
            "c.toml".into(),
            Duration::from_secs(60),
        );
        board.standby(&plan, SystemTime::UNIX_EPOCH, Duration::ZERO);
        let snap = board.snapshot();
        assert_eq!(
            (snap.notes.len(), snap.notes_omitted.len()),
            (NOTES_PER_CODE + 3, 1)
        );
        let json = serde_json::to_value(&snap).unwrap();
        assert_eq!(json["notes_omitted"][0]["count"], 7);
        board.standby(
            &crate::model::Plan::default(),
            SystemTime::UNIX_EPOCH,
            Duration::ZERO,
        );
        let snap = board.snapshot();
        assert!(snap.notes.is_empty() && snap.notes_omitted.is_empty());
        assert!(
            serde_json::to_value(&snap)
                .unwrap()
                .get("notes_omitted")
                .is_none()
        );
    }
}
