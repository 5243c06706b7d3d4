//! Test fixtures shared by the simulated account's tests: a small seeded account on a manual
//! clock, and builders for the settings and specs the tests vary.

use std::sync::Arc;
use std::time::Duration;

use crate::clock::{Clock, ManualClock};
use crate::model::{
    AlarmMetric, AlarmSpec, Architecture, BillingMode, Comparison, Dimension, MetricId, MetricStat,
    MissingData, SimFunction, SimSettings, SimTable,
};

use super::SimAccount;

pub(crate) fn sim_function(name: &str, memory_mb: u32) -> SimFunction {
    SimFunction {
        name: name.to_string(),
        memory_mb,
        timeout_s: 30,
        architecture: Architecture::X86_64,
        tags: Default::default(),
        peak_rps: 20.0,
        cpu_ms: 200.0,
        io_ms: 50.0,
        parallelism: 1.0,
        error_rate: 0.01,
        used_memory_mb: 90,
        ..SimFunction::default()
    }
}

pub(crate) fn settings(functions: Vec<SimFunction>) -> SimSettings {
    SimSettings {
        state_file: None,
        seed: 42,
        functions,
        tables: vec![SimTable {
            name: "orders".into(),
            billing_mode: BillingMode::Provisioned,
            indexes: vec!["by-customer".into()],
            read_capacity: 50,
            write_capacity: 10,
            peak_reads: 100.0,
            peak_writes: 5.0,
        }],
        faults: Default::default(),
    }
}

/// An account on a manual clock at 2026-01-05T00:00Z, quotas off unless a test turns them on.
pub(crate) fn account(functions: Vec<SimFunction>) -> (Arc<SimAccount>, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::at_epoch());
    let dyn_clock: Arc<dyn Clock> = clock.clone();
    let acct = SimAccount::new(&settings(functions), "ap-south-1", dyn_clock)
        .unwrap_or_else(|e| panic!("building the test account: {e}"));
    acct.set_quota_enforcement(false);
    (acct, clock)
}

pub(crate) fn alarm(name: &str) -> AlarmSpec {
    AlarmSpec {
        name: name.to_string(),
        description: "test alarm".into(),
        metric: AlarmMetric::Single(MetricStat {
            metric: MetricId::new(
                "AWS/Lambda",
                "Errors",
                vec![Dimension::new("FunctionName", "api")],
            ),
            period_s: 60,
            stat: "Sum".into(),
        }),
        comparison: Comparison::GreaterThanThreshold,
        threshold: 1.0,
        evaluation_periods: 3,
        datapoints_to_alarm: 2,
        treat_missing_data: MissingData::NotBreaching,
        actions_enabled: true,
        alarm_actions: vec![],
        ok_actions: vec![],
        insufficient_data_actions: vec![],
        tags: [("managed-by".to_string(), "trimtab".to_string())].into(),
    }
}

pub(crate) const MINUTE: Duration = Duration::from_secs(60);
