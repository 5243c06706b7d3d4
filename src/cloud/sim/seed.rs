//! Seeding a fresh account from `SimSettings`: the functions and tables that exist before
//! trimtab touches anything, checked so a nonsensical setting fails at start-up, not mid-run.

use std::collections::{BTreeMap, BTreeSet};

use crate::model::{BillingMode, SimSettings, UpdateStatus};

use super::SimError;
use super::state::{
    AliasRecord, SimFunctionState, SimState, TableRecord, TrafficProfile, VersionRecord,
};

/// The runtime the simulated functions report; trimtab never looks at it beyond display.
const RUNTIME: &str = "python3.13";

pub(crate) fn from_settings(settings: &SimSettings, region: &str) -> Result<SimState, SimError> {
    let mut problems = Vec::new();
    let mut state = SimState::empty(region, settings.seed);
    let mut names = BTreeSet::new();
    for f in &settings.functions {
        let at = format!("function {:?}", f.name);
        if !valid_function_name(&f.name) {
            problems.push(format!("{at}: name must be 1-64 of [A-Za-z0-9_-]"));
        }
        if !names.insert(f.name.as_str()) {
            problems.push(format!("{at}: defined twice"));
        }
        if !(128..=10_240).contains(&f.memory_mb) {
            problems.push(format!(
                "{at}: memory_mb {} is outside 128-10240",
                f.memory_mb
            ));
        }
        if !(1..=900).contains(&f.timeout_s) {
            problems.push(format!("{at}: timeout_s {} is outside 1-900", f.timeout_s));
        }
        for (field, v) in [
            ("peak_rps", f.peak_rps),
            ("cpu_ms", f.cpu_ms),
            ("io_ms", f.io_ms),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                problems.push(format!("{at}: {field} {v} must be a non-negative number"));
            }
        }
        if !(f.parallelism.is_finite() && f.parallelism > 0.0) {
            problems.push(format!(
                "{at}: parallelism {} must be positive",
                f.parallelism
            ));
        }
        if !(0.0..=1.0).contains(&f.error_rate) {
            problems.push(format!("{at}: error_rate {} is outside 0-1", f.error_rate));
        }
        state.functions.insert(
            f.name.clone(),
            SimFunctionState {
                name: f.name.clone(),
                memory_mb: f.memory_mb,
                timeout_s: f.timeout_s,
                architecture: f.architecture,
                runtime: Some(RUNTIME.to_string()),
                tags: f.tags.clone(),
                reserved_concurrency: None,
                last_update_status: UpdateStatus::Successful,
                update_done_at: None,
                revision: 0,
                code: 0,
                // Callers that go through an alias find it deployed: version 1 of the code,
                // and the alias pointing at it, as a deployment pipeline leaves them.
                versions: match &f.invoked_via {
                    Some(_) => BTreeMap::from([(
                        1,
                        VersionRecord {
                            memory_mb: f.memory_mb,
                            revision: 0,
                            timeout_s: f.timeout_s,
                            code: 0,
                        },
                    )]),
                    None => BTreeMap::new(),
                },
                aliases: match &f.invoked_via {
                    Some(alias) => BTreeMap::from([(alias.clone(), AliasRecord::new("1".into()))]),
                    None => BTreeMap::new(),
                },
                provisioned: BTreeMap::new(),
                permissions: Vec::new(),
                traffic: TrafficProfile {
                    peak_rps: f.peak_rps,
                    cpu_ms: f.cpu_ms,
                    io_ms: f.io_ms,
                    parallelism: f.parallelism,
                    error_rate: f.error_rate,
                    used_memory_mb: f.used_memory_mb,
                    curve: f.curve.clone(),
                    tokens: f.tokens.clone(),
                    spread: f.spread,
                    used_memory_sigma: f.used_memory_sigma,
                    insights: f.insights,
                    invoked_via: f.invoked_via.clone(),
                },
                history: Vec::new(),
            },
        );
    }
    for t in &settings.tables {
        let at = format!("table {:?}", t.name);
        if t.name.len() < 3 || t.name.len() > 255 {
            problems.push(format!("{at}: name must be 3-255 characters"));
        }
        if state.tables.contains_key(&t.name) {
            problems.push(format!("{at}: defined twice"));
        }
        let provisioned = t.billing_mode == BillingMode::Provisioned;
        if provisioned && (t.read_capacity == 0 || t.write_capacity == 0) {
            problems.push(format!(
                "{at}: a PROVISIONED table needs read and write capacity ≥ 1"
            ));
        }
        for (field, v) in [("peak_reads", t.peak_reads), ("peak_writes", t.peak_writes)] {
            if !(v.is_finite() && v >= 0.0) {
                problems.push(format!("{at}: {field} {v} must be a non-negative number"));
            }
        }
        state.tables.insert(
            t.name.clone(),
            TableRecord {
                billing_mode: t.billing_mode,
                read_capacity: if provisioned { t.read_capacity } else { 0 },
                write_capacity: if provisioned { t.write_capacity } else { 0 },
                indexes: t.indexes.clone(),
                peak_reads: t.peak_reads,
                peak_writes: t.peak_writes,
            },
        );
    }
    if problems.is_empty() {
        Ok(state)
    } else {
        Err(SimError::InvalidSettings { problems })
    }
}

pub(crate) fn valid_function_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
