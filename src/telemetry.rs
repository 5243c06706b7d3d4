//! What trimtab says about itself: structured logs (tracing) and the Prometheus registry.
//!
//! Every metric lives in one [`Telemetry`] value with its own registry (never the global one),
//! so tests and benchmarks can run several engines side by side. Names follow Prometheus
//! conventions: `trimtab_` prefix, base units, `_total` for counters, bounded label sets
//! (labels are resource kinds, actions, services and operations — never resource names).

use prometheus::{
    CounterVec, Encoder, Gauge, GaugeVec, Histogram, HistogramOpts, IntCounter, IntCounterVec,
    IntGauge, IntGaugeVec, Opts, Registry, TextEncoder,
};

use crate::cloud::Op;
use crate::cloud::error::ErrorKind;
use crate::model::{Action, ResourceKind};

/// Price of GetMetricData per metric requested, in dollars (AWS-FACTS.md: $0.01 per 1,000).
pub const GET_METRIC_DATA_DOLLARS_PER_METRIC: f64 = 0.01 / 1000.0;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("registering metric: {0}")]
    Register(#[from] prometheus::Error),
    #[error("log filter {filter:?} is invalid: {source}")]
    LogFilter {
        filter: String,
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },
    #[error("installing the log subscriber: {0}")]
    Subscriber(String),
}

/// The outcome of one call as counted in `trimtab_aws_api_calls_total`.
pub fn call_outcome(result: Result<(), ErrorKind>) -> &'static str {
    match result {
        Ok(()) => "ok",
        Err(kind) => kind.as_str(),
    }
}

#[derive(Clone)]
pub struct Telemetry {
    registry: Registry,
    pub cycles: IntCounterVec,
    pub cycle_duration: Histogram,
    pub changes_planned: IntCounterVec,
    pub changes_applied: IntCounterVec,
    pub changes_failed: IntCounterVec,
    pub changes_refused: IntGaugeVec,
    pub plan_notes: IntGaugeVec,
    pub drifted_resources: IntGaugeVec,
    pub pending_changes: IntGaugeVec,
    pub api_calls: IntCounterVec,
    pub api_throttled: IntCounterVec,
    pub api_retries: IntCounterVec,
    pub metrics_requested: IntCounter,
    pub metrics_cost: Gauge,
    pub last_success: Gauge,
    pub config_reloads: IntCounterVec,
    pub config_generation: IntGauge,
    pub ready: IntGauge,
    pub leader: IntGauge,
    pub limiter_wait: CounterVec,
    pub rightsizing_functions: IntGaugeVec,
    pub rightsizing_saving: GaugeVec,
    pub rightsizing_realised: Gauge,
    pub cost_monthly: GaugeVec,
    pub cost_per_student: Gauge,
    heap_live: Gauge,
    heap_peak: Gauge,
}

impl std::fmt::Debug for Telemetry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Telemetry { .. }")
    }
}

impl Telemetry {
    pub fn new() -> Result<Self, TelemetryError> {
        let registry = Registry::new();
        let kind_action = &["kind", "action"];
        let t = Telemetry {
            cycles: IntCounterVec::new(
                Opts::new(
                    "trimtab_cycles_total",
                    "Reconcile cycles by outcome (success; partial: some changes failed; interrupted: shutdown skipped changes not yet started; failed: no plan).",
                ),
                &["outcome"],
            )?,
            cycle_duration: Histogram::with_opts(
                HistogramOpts::new(
                    "trimtab_cycle_duration_seconds",
                    "Wall time of a reconcile cycle, observe through apply.",
                )
                .buckets(vec![
                    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
                ]),
            )?,
            changes_planned: IntCounterVec::new(
                Opts::new(
                    "trimtab_changes_planned_total",
                    "Changes planned, by resource kind and action.",
                ),
                kind_action,
            )?,
            changes_applied: IntCounterVec::new(
                Opts::new(
                    "trimtab_changes_applied_total",
                    "Changes applied successfully, by resource kind and action.",
                ),
                kind_action,
            )?,
            changes_failed: IntCounterVec::new(
                Opts::new(
                    "trimtab_changes_failed_total",
                    "Changes that failed after retries, by resource kind and action.",
                ),
                kind_action,
            )?,
            changes_refused: IntGaugeVec::new(
                Opts::new(
                    "trimtab_changes_refused",
                    "Changes the last plan refused to make (not owned, guard, missing input), by resource kind.",
                ),
                &["kind"],
            )?,
            plan_notes: IntGaugeVec::new(
                Opts::new(
                    "trimtab_plan_notes",
                    "Notes in the last plan (findings that are neither changes nor refusals, such as managed alarms whose metric has no data), by controller and code.",
                ),
                &["controller", "code"],
            )?,
            drifted_resources: IntGaugeVec::new(
                Opts::new(
                    "trimtab_drifted_resources",
                    "Existing resources whose live state differed from the desired state in the last plan, by kind.",
                ),
                &["kind"],
            )?,
            pending_changes: IntGaugeVec::new(
                Opts::new(
                    "trimtab_pending_changes",
                    "Changes in the last plan, by resource kind and action.",
                ),
                kind_action,
            )?,
            api_calls: IntCounterVec::new(
                Opts::new(
                    "trimtab_aws_api_calls_total",
                    "AWS API calls (each attempt counts), by service, operation and outcome.",
                ),
                &["service", "operation", "outcome"],
            )?,
            api_throttled: IntCounterVec::new(
                Opts::new(
                    "trimtab_aws_api_throttled_total",
                    "AWS API calls rejected by throttling, by service and operation.",
                ),
                &["service", "operation"],
            )?,
            api_retries: IntCounterVec::new(
                Opts::new(
                    "trimtab_aws_api_retries_total",
                    "AWS API calls retried after a throttling, transient or conflict error.",
                ),
                &["service", "operation"],
            )?,
            metrics_requested: IntCounter::new(
                "trimtab_cloudwatch_metrics_requested_total",
                "CloudWatch metrics requested with GetMetricData (billed per metric).",
            )?,
            metrics_cost: Gauge::new(
                "trimtab_cloudwatch_metrics_cost_dollars",
                "Estimated GetMetricData cost of this process so far, in US dollars.",
            )?,
            last_success: Gauge::new(
                "trimtab_last_successful_cycle_timestamp_seconds",
                "Unix time at which the last successful cycle finished.",
            )?,
            config_reloads: IntCounterVec::new(
                Opts::new(
                    "trimtab_config_reloads_total",
                    "Configuration reloads by outcome (success, failure).",
                ),
                &["outcome"],
            )?,
            config_generation: IntGauge::new(
                "trimtab_config_generation",
                "Generation of the configuration in force; starts at 1 and grows with each successful reload.",
            )?,
            ready: IntGauge::new(
                "trimtab_ready",
                "1 once the first observation of the account has succeeded.",
            )?,
            leader: IntGauge::new(
                "trimtab_leader",
                "1 while this process may write to the account (it holds the [lease], or runs without one); 0 on a standby, which observes and plans but writes nothing.",
            )?,
            limiter_wait: CounterVec::new(
                Opts::new(
                    "trimtab_rate_limiter_wait_seconds_total",
                    "Time spent waiting on trimtab's own rate limiter, by quota bucket.",
                ),
                &["bucket"],
            )?,
            rightsizing_functions: IntGaugeVec::new(
                Opts::new(
                    "trimtab_rightsizing_functions",
                    "Functions right-sizing looked at in the last plan, by where they stand (optimal, recommended, changing, emergency, not_enough_data, standing_back, waiting).",
                ),
                &["state"],
            )?,
            rightsizing_saving: GaugeVec::new(
                Opts::new(
                    "trimtab_rightsizing_monthly_saving_dollars",
                    "Estimated monthly saving, in US dollars, of right-sizing's recommendations not yet applied (direction=down) and the monthly cost of those that add memory to meet the objective (direction=up).",
                ),
                &["direction"],
            )?,
            rightsizing_realised: Gauge::new(
                "trimtab_rightsizing_realised_monthly_saving_dollars",
                "Estimated monthly saving, in US dollars, of right-sizing's steps already taken: today's traffic at each function's memory before trimtab's first step, less its cost now (net of memory added to meet the objective).",
            )?,
            cost_monthly: GaugeVec::new(
                Opts::new(
                    "trimtab_cost_monthly",
                    "The application's monthly run rate by component (lambda, provisioned_concurrency, dynamodb, bedrock:MODEL, cloudwatch, trimtab), in the configured currency, projected from cost.window.",
                ),
                &["component"],
            )?,
            cost_per_student: Gauge::new(
                "trimtab_cost_per_student_monthly",
                "The application's monthly cost per active student, in the configured currency (NaN while unknown).",
            )?,
            heap_live: Gauge::new(
                "trimtab_heap_live_bytes",
                "Bytes allocated through Rust's allocator and not yet freed, not counting what C libraries (aws-lc) allocate with their own malloc (NaN when not counted); beside the process's resident memory, what trimtab holds apart from what the allocator and the binary keep.",
            )?,
            heap_peak: Gauge::new(
                "trimtab_heap_peak_bytes",
                "The highest trimtab_heap_live_bytes since the process started (NaN when not counted).",
            )?,
            registry,
        };
        let r = &t.registry;
        r.register(Box::new(t.cycles.clone()))?;
        r.register(Box::new(t.cycle_duration.clone()))?;
        r.register(Box::new(t.changes_planned.clone()))?;
        r.register(Box::new(t.changes_applied.clone()))?;
        r.register(Box::new(t.changes_failed.clone()))?;
        r.register(Box::new(t.changes_refused.clone()))?;
        r.register(Box::new(t.plan_notes.clone()))?;
        r.register(Box::new(t.drifted_resources.clone()))?;
        r.register(Box::new(t.pending_changes.clone()))?;
        r.register(Box::new(t.api_calls.clone()))?;
        r.register(Box::new(t.api_throttled.clone()))?;
        r.register(Box::new(t.api_retries.clone()))?;
        r.register(Box::new(t.metrics_requested.clone()))?;
        r.register(Box::new(t.metrics_cost.clone()))?;
        r.register(Box::new(t.last_success.clone()))?;
        r.register(Box::new(t.config_reloads.clone()))?;
        r.register(Box::new(t.config_generation.clone()))?;
        r.register(Box::new(t.ready.clone()))?;
        r.register(Box::new(t.leader.clone()))?;
        r.register(Box::new(t.limiter_wait.clone()))?;
        r.register(Box::new(t.rightsizing_functions.clone()))?;
        r.register(Box::new(t.rightsizing_saving.clone()))?;
        r.register(Box::new(t.rightsizing_realised.clone()))?;
        r.register(Box::new(t.cost_monthly.clone()))?;
        r.register(Box::new(t.cost_per_student.clone()))?;
        r.register(Box::new(t.heap_live.clone()))?;
        r.register(Box::new(t.heap_peak.clone()))?;
        t.initialise_series();
        Ok(t)
    }

    /// Creates the zero-valued series people alert on, so a rate() over them works from the
    /// first scrape instead of appearing only after the first event.
    fn initialise_series(&self) {
        for outcome in ["success", "partial", "interrupted", "failed"] {
            self.cycles.with_label_values(&[outcome]);
        }
        for outcome in ["success", "failure"] {
            self.config_reloads.with_label_values(&[outcome]);
        }
        for state in crate::model::rightsizing::SizingState::ALL {
            self.rightsizing_functions
                .with_label_values(&[state.as_str()]);
        }
        for direction in ["down", "up"] {
            self.rightsizing_saving.with_label_values(&[direction]);
        }
        for (controller, code) in crate::controllers::registry::note_codes() {
            self.plan_notes.with_label_values(&[controller, code]);
        }
        for kind in ResourceKind::ALL {
            for action in Action::ALL {
                let labels = [kind.as_str(), action.as_str()];
                self.changes_planned.with_label_values(&labels);
                self.changes_applied.with_label_values(&labels);
                self.changes_failed.with_label_values(&labels);
                self.pending_changes.with_label_values(&labels);
            }
            self.drifted_resources.with_label_values(&[kind.as_str()]);
            self.changes_refused.with_label_values(&[kind.as_str()]);
        }
    }

    /// Records one API call attempt.
    pub fn record_call(&self, op: Op, result: Result<(), ErrorKind>) {
        let (service, operation) = (op.service().as_str(), op.name());
        self.api_calls
            .with_label_values(&[service, operation, call_outcome(result)])
            .inc();
        if result == Err(ErrorKind::Throttled) {
            self.api_throttled
                .with_label_values(&[service, operation])
                .inc();
        }
    }

    pub fn record_metrics_requested(&self, count: usize) {
        self.metrics_requested.inc_by(count as u64);
        self.metrics_cost
            .add(count as f64 * GET_METRIC_DATA_DOLLARS_PER_METRIC);
    }

    /// Total API calls counted so far for one operation, whatever their outcome.
    pub fn calls_for(&self, op: Op) -> u64 {
        let (service, operation) = (op.service().as_str(), op.name());
        let outcomes = [Ok(())]
            .into_iter()
            .chain(ErrorKind::ALL.iter().map(|k| Err(*k)))
            .map(call_outcome);
        outcomes
            .map(|outcome| {
                self.api_calls
                    .with_label_values(&[service, operation, outcome])
                    .get()
            })
            .sum()
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let (live, peak) = crate::allocator::heap().map_or((f64::NAN, f64::NAN), |(live, peak)| {
            (live as f64, peak as f64)
        });
        self.heap_live.set(live);
        self.heap_peak.set(peak);
        let mut buf = Vec::new();
        // Encoding into a Vec cannot fail for I/O reasons; a failure would mean a malformed
        // metric family, which the registry already rejects at registration.
        if TextEncoder::new()
            .encode(&self.registry.gather(), &mut buf)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(buf).unwrap_or_default()
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Installs the global tracing subscriber. The filter comes from `RUST_LOG` when set, else from
/// `level` (e.g. `info`, `trimtab=debug`). Logs go to stderr so stdout stays for command output.
pub fn init_tracing(format: LogFormat, level: Option<&str>) -> Result<(), TelemetryError> {
    use tracing_subscriber::EnvFilter;
    let filter = match (std::env::var("RUST_LOG").ok(), level) {
        (_, Some(level)) => {
            EnvFilter::try_new(level).map_err(|source| TelemetryError::LogFilter {
                filter: level.to_string(),
                source,
            })?
        }
        (Some(env), None) => {
            EnvFilter::try_new(&env).map_err(|source| TelemetryError::LogFilter {
                filter: env,
                source,
            })?
        }
        (None, None) => EnvFilter::new("info"),
    };
    // Colour only for a person at a terminal (and not when NO_COLOR is set): a log file or
    // a collector gets plain text.
    use std::io::IsTerminal;
    let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    result.map_err(|e| TelemetryError::Subscriber(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_has_every_family_with_help_and_type() {
        let t = Telemetry::new().expect("telemetry");
        t.record_call(Op::PutMetricAlarm, Ok(()));
        t.record_call(Op::PutMetricAlarm, Err(ErrorKind::Throttled));
        t.record_metrics_requested(500);
        let text = t.render();
        for name in [
            "trimtab_cycles_total",
            "trimtab_cycle_duration_seconds",
            "trimtab_changes_planned_total",
            "trimtab_aws_api_calls_total",
            "trimtab_aws_api_throttled_total",
            "trimtab_cloudwatch_metrics_requested_total",
            "trimtab_config_reloads_total",
            "trimtab_config_generation",
            "trimtab_last_successful_cycle_timestamp_seconds",
            "trimtab_heap_live_bytes",
            "trimtab_heap_peak_bytes",
        ] {
            assert!(
                text.contains(&format!("# TYPE {name} ")),
                "{name} missing:\n{text}"
            );
        }
        assert!(text.contains(
            "trimtab_aws_api_calls_total{operation=\"PutMetricAlarm\",outcome=\"throttled\",service=\"cloudwatch\"} 1"
        ));
        assert_eq!(t.calls_for(Op::PutMetricAlarm), 2);
        assert!(text.contains("trimtab_cloudwatch_metrics_requested_total 500"));
        assert!(text.contains("trimtab_cloudwatch_metrics_cost_dollars 0.005"));
    }
}
