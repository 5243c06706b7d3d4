//! The schema as written: every section and key of the file, each value kept with its span so
//! that validation can point at it. Nothing here is defaulted or range-checked; that is
//! `convert`'s job. Reading reports wrong types, bad enum values, bad durations and unknown keys.

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::diag::Diags;
use super::walk::{Pairs, Section};
use crate::model::{Architecture, Backend, BillingMode, MissingData, Tier};

pub(crate) type S<T> = Spanned<T>;
type Opt<T> = Option<Spanned<T>>;

const BACKENDS: &[(&str, Backend)] = &[("aws", Backend::Aws), ("simulated", Backend::Simulated)];
const TIERS: &[(&str, Tier)] = &[
    ("critical", Tier::Critical),
    ("standard", Tier::Standard),
    ("batch", Tier::Batch),
];
const MISSING_DATA: &[(&str, MissingData)] = &[
    ("breaching", MissingData::Breaching),
    ("notBreaching", MissingData::NotBreaching),
    ("ignore", MissingData::Ignore),
    ("missing", MissingData::Missing),
];
const ARCHITECTURES: &[(&str, Architecture)] = &[
    ("x86_64", Architecture::X86_64),
    ("arm64", Architecture::Arm64),
];
const BILLING_MODES: &[(&str, BillingMode)] = &[
    ("provisioned", BillingMode::Provisioned),
    ("on_demand", BillingMode::PayPerRequest),
];

pub(crate) struct Raw {
    pub interval: Opt<Duration>,
    pub jitter: Opt<f64>,
    pub cloud: RawCloud,
    pub ownership: RawOwnership,
    pub notifications: RawNotifications,
    pub alarms: RawAlarms,
    pub functions: Vec<RawFunction>,
    pub tables: Vec<RawTable>,
    pub observe: RawObserve,
    pub executor: RawExecutor,
    pub capacity: RawCapacity,
    pub cold_start: RawColdStart,
    pub table_scaling: RawScaling,
    pub prices: RawPrices,
    pub simulated: RawSimulated,
}

pub(crate) struct RawCloud {
    pub span: Option<Range<usize>>,
    /// Whether `backend` is written at all: a wrong one is reported already, and must not also
    /// count as "aws by default", which would demand a region.
    pub backend_written: bool,
    pub backend: Opt<Backend>,
    pub region: Opt<String>,
    pub endpoint_url: Opt<String>,
    pub rate_limits: Opt<Pairs<f64>>,
}

pub(crate) struct RawOwnership {
    pub tag_key: Opt<String>,
    pub tag_value: Opt<String>,
    pub name_prefix: Opt<String>,
    pub prune: Opt<bool>,
    pub adopt: Opt<Vec<S<String>>>,
}

pub(crate) struct RawNotifications {
    pub topic_arn: Opt<String>,
    pub topic: Opt<String>,
    pub emails: Opt<Vec<S<String>>>,
}

/// The keys every alarm table shares. At the `[alarms]` level `enabled` and `threshold` are not
/// read (there is no threshold common to all alarms).
#[derive(Default)]
pub(crate) struct RawRule {
    /// Dotted path of the table, e.g. `functions.alarms.duration`, for messages.
    pub path: String,
    /// The threshold's key, which carries its unit: `threshold_ms`, `threshold_percent`, ….
    pub threshold_key: &'static str,
    pub enabled: Opt<bool>,
    pub threshold: Opt<f64>,
    pub period: Opt<Duration>,
    pub evaluation_periods: Opt<i64>,
    pub datapoints_to_alarm: Opt<i64>,
    pub treat_missing_data: Opt<MissingData>,
}

pub(crate) struct RawAlarms {
    /// `[alarms]` itself: defaults for every alarm below.
    pub shared: RawRule,
    pub duration: RawRule,
    pub duration_statistic: Opt<String>,
    pub error_rate: RawRule,
    pub throttles: RawRule,
    pub dynamodb_throttles: RawRule,
    pub cache_hit_rate: RawRule,
    pub cache: RawCacheMetrics,
    pub cost_per_student: RawRule,
    pub cost: RawCostMetric,
}

pub(crate) struct RawCacheMetrics {
    pub namespace: Opt<String>,
    pub hit_metric: Opt<String>,
    pub miss_metric: Opt<String>,
    pub dimensions: Opt<Pairs<String>>,
}

pub(crate) struct RawCostMetric {
    pub namespace: Opt<String>,
    pub metric: Opt<String>,
    pub statistic: Opt<String>,
    pub dimensions: Opt<Pairs<String>>,
}

pub(crate) struct RawFunction {
    /// The `[[functions]]` header.
    pub offset: usize,
    pub name: Opt<String>,
    pub name_prefix: Opt<String>,
    pub tags: Opt<Pairs<String>>,
    /// Whether `tier` is written at all: checks that depend on the tier skip a wrong one
    /// (already reported) instead of assuming the default.
    pub tier_written: bool,
    pub tier: Opt<Tier>,
    pub duration: RawRule,
    pub error_rate: RawRule,
    pub throttles: RawRule,
    pub reserved_concurrency: Opt<i64>,
    pub cold_start: RawColdStartOverride,
}

/// `[functions.cold_start]`: per-rule overrides of `[cold_start]`.
pub(crate) struct RawColdStartOverride {
    pub provisioned_min: Opt<i64>,
    pub provisioned_max: Opt<i64>,
    pub target_utilization: Opt<f64>,
    pub warmup_concurrency: Opt<i64>,
    pub warmup_schedule: Opt<String>,
}

pub(crate) struct RawTable {
    pub offset: usize,
    pub name: Opt<String>,
    pub throttles: RawRule,
    pub scaling: RawScaling,
}

pub(crate) struct RawCapacity {
    pub unreserved_floor: Opt<i64>,
    pub control_plane_budget: Opt<f64>,
}

pub(crate) struct RawColdStart {
    pub alias: Opt<String>,
    pub manage_alias: Opt<bool>,
    pub provisioned: RawProvisioned,
    pub warmup: RawWarmup,
}

pub(crate) struct RawProvisioned {
    pub target_utilization: Opt<f64>,
    pub min: Opt<i64>,
    pub max: Opt<i64>,
    pub scale_in_cooldown: Opt<Duration>,
    pub scale_out_cooldown: Opt<Duration>,
}

pub(crate) struct RawWarmup {
    pub schedule: Opt<String>,
    pub concurrency: Opt<i64>,
    pub assumed_duration_ms: Opt<i64>,
}

/// `[table_scaling]`, or a table's `[tables.scaling]` overrides of it (which have no cooldowns).
pub(crate) struct RawScaling {
    /// Dotted path of the table, `table_scaling` or `tables.scaling`, for messages.
    pub path: String,
    pub enabled: Opt<bool>,
    pub target_utilization: Opt<f64>,
    pub read_min: Opt<i64>,
    pub read_max: Opt<i64>,
    pub write_min: Opt<i64>,
    pub write_max: Opt<i64>,
    pub disable_scale_in: Opt<bool>,
    pub scale_in_cooldown: Opt<Duration>,
    pub scale_out_cooldown: Opt<Duration>,
}

/// `[prices]`: each key's value, in the order of [`super::capacity::PRICES`].
pub(crate) struct RawPrices(pub Vec<Opt<f64>>);

pub(crate) struct RawObserve {
    pub metrics: Opt<bool>,
    pub metrics_window: Opt<Duration>,
    pub metrics_delay: Opt<Duration>,
    pub tag_cache_ttl: Opt<Duration>,
}

pub(crate) struct RawExecutor {
    pub concurrency: Opt<i64>,
    pub max_attempts: Opt<i64>,
    pub base_backoff: Opt<Duration>,
    pub max_backoff: Opt<Duration>,
}

pub(crate) struct RawSimulated {
    pub state_file: Opt<String>,
    pub seed: Opt<i64>,
    pub functions: Vec<RawSimFunction>,
    pub tables: Vec<RawSimTable>,
    pub faults: RawFaults,
}

pub(crate) struct RawSimFunction {
    pub offset: usize,
    pub name: Opt<String>,
    pub memory_mb: Opt<i64>,
    pub timeout_s: Opt<i64>,
    pub architecture: Opt<Architecture>,
    pub tags: Opt<Pairs<String>>,
    pub peak_rps: Opt<f64>,
    pub cpu_ms: Opt<f64>,
    pub io_ms: Opt<f64>,
    pub parallelism: Opt<f64>,
    pub error_rate: Opt<f64>,
    pub used_memory_mb: Opt<i64>,
}

pub(crate) struct RawSimTable {
    pub offset: usize,
    pub name: Opt<String>,
    pub billing_mode: Opt<BillingMode>,
    pub indexes: Opt<Vec<S<String>>>,
    pub read_capacity: Opt<i64>,
    pub write_capacity: Opt<i64>,
    pub peak_reads: Opt<f64>,
    pub peak_writes: Opt<f64>,
}

pub(crate) struct RawFaults {
    pub error_rate: Opt<f64>,
    pub latency: Opt<Duration>,
    pub failing_operations: Opt<Vec<S<String>>>,
}

/// Reads the whole document. Keys are read in schema order, which is also the order unknown-key
/// messages list them in.
pub(crate) fn read(mut root: Section<'_>, d: &mut Diags<'_>) -> Raw {
    let interval = root.duration(d, "interval");
    let jitter = root.number(d, "jitter");

    let mut s = root.section(d, "cloud");
    let cloud = RawCloud {
        span: s.span.clone(),
        backend_written: s.has("backend"),
        backend: s.choice(d, "backend", BACKENDS),
        region: s.string(d, "region"),
        endpoint_url: s.string(d, "endpoint_url"),
        rate_limits: s.number_map(d, "rate_limits"),
    };
    s.finish(d);

    let mut s = root.section(d, "ownership");
    let ownership = RawOwnership {
        tag_key: s.string(d, "tag_key"),
        tag_value: s.string(d, "tag_value"),
        name_prefix: s.string(d, "name_prefix"),
        prune: s.bool(d, "prune"),
        adopt: s.strings(d, "adopt"),
    };
    s.finish(d);

    let mut s = root.section(d, "notifications");
    let notifications = RawNotifications {
        topic_arn: s.string(d, "topic_arn"),
        topic: s.string(d, "topic"),
        emails: s.strings(d, "emails"),
    };
    s.finish(d);

    let alarms = read_alarms(root.section(d, "alarms"), d);
    let functions = root
        .sections(d, "functions")
        .into_iter()
        .map(|s| read_function(s, d))
        .collect();
    let tables = root
        .sections(d, "tables")
        .into_iter()
        .map(|s| read_table(s, d))
        .collect();

    let mut s = root.section(d, "observe");
    let observe = RawObserve {
        metrics: s.bool(d, "metrics"),
        metrics_window: s.duration(d, "metrics_window"),
        metrics_delay: s.duration(d, "metrics_delay"),
        tag_cache_ttl: s.duration(d, "tag_cache_ttl"),
    };
    s.finish(d);

    let mut s = root.section(d, "executor");
    let executor = RawExecutor {
        concurrency: s.int(d, "concurrency"),
        max_attempts: s.int(d, "max_attempts"),
        base_backoff: s.duration(d, "base_backoff"),
        max_backoff: s.duration(d, "max_backoff"),
    };
    s.finish(d);

    let mut s = root.section(d, "capacity");
    let capacity = RawCapacity {
        unreserved_floor: s.int(d, "unreserved_floor"),
        control_plane_budget: s.number(d, "control_plane_budget"),
    };
    s.finish(d);

    let cold_start = read_cold_start(root.section(d, "cold_start"), d);

    let mut s = root.section(d, "table_scaling");
    let table_scaling = read_scaling(&mut s, d, true);
    s.finish(d);

    let mut s = root.section(d, "prices");
    let prices = RawPrices(
        super::capacity::PRICES
            .iter()
            .map(|&(key, _)| s.number(d, key))
            .collect(),
    );
    s.finish(d);

    let simulated = read_simulated(root.section(d, "simulated"), d);
    root.finish(d);

    Raw {
        interval,
        jitter,
        cloud,
        ownership,
        notifications,
        alarms,
        functions,
        tables,
        observe,
        executor,
        capacity,
        cold_start,
        table_scaling,
        prices,
        simulated,
    }
}

/// Reads the keys of one alarm table; `threshold_key: None` for the `[alarms]` level.
fn read_rule(
    s: &mut Section<'_>,
    d: &mut Diags<'_>,
    threshold_key: Option<&'static str>,
) -> RawRule {
    let (enabled, threshold) = match threshold_key {
        Some(key) => (s.bool(d, "enabled"), s.number(d, key)),
        None => (None, None),
    };
    RawRule {
        path: s.path().to_string(),
        threshold_key: threshold_key.unwrap_or("threshold"),
        enabled,
        threshold,
        period: s.duration(d, "period"),
        evaluation_periods: s.int(d, "evaluation_periods"),
        datapoints_to_alarm: s.int(d, "datapoints_to_alarm"),
        treat_missing_data: s.choice(d, "treat_missing_data", MISSING_DATA),
    }
}

/// A table that holds only alarm keys.
fn read_rule_table(
    parent: &mut Section<'_>,
    d: &mut Diags<'_>,
    key: &'static str,
    threshold_key: &'static str,
) -> RawRule {
    let mut s = parent.section(d, key);
    let rule = read_rule(&mut s, d, Some(threshold_key));
    s.finish(d);
    rule
}

fn read_alarms(mut s: Section<'_>, d: &mut Diags<'_>) -> RawAlarms {
    let shared = read_rule(&mut s, d, None);

    let mut t = s.section(d, "duration");
    let duration = read_rule(&mut t, d, Some("threshold_ms"));
    let duration_statistic = t.string(d, "statistic");
    t.finish(d);

    let error_rate = read_rule_table(&mut s, d, "error_rate", "threshold_percent");
    let throttles = read_rule_table(&mut s, d, "throttles", "threshold");
    let dynamodb_throttles = read_rule_table(&mut s, d, "dynamodb_throttles", "threshold");

    let mut t = s.section(d, "cache_hit_rate");
    let cache_hit_rate = read_rule(&mut t, d, Some("threshold_percent"));
    let cache = RawCacheMetrics {
        namespace: t.string(d, "namespace"),
        hit_metric: t.string(d, "hit_metric"),
        miss_metric: t.string(d, "miss_metric"),
        dimensions: t.string_map(d, "dimensions"),
    };
    t.finish(d);

    let mut t = s.section(d, "cost_per_student");
    let cost_per_student = read_rule(&mut t, d, Some("threshold"));
    let cost = RawCostMetric {
        namespace: t.string(d, "namespace"),
        metric: t.string(d, "metric"),
        statistic: t.string(d, "statistic"),
        dimensions: t.string_map(d, "dimensions"),
    };
    t.finish(d);
    s.finish(d);

    RawAlarms {
        shared,
        duration,
        duration_statistic,
        error_rate,
        throttles,
        dynamodb_throttles,
        cache_hit_rate,
        cache,
        cost_per_student,
        cost,
    }
}

fn read_function(mut s: Section<'_>, d: &mut Diags<'_>) -> RawFunction {
    let offset = s.offset();
    let name = s.string(d, "name");
    let name_prefix = s.string(d, "name_prefix");
    let tags = s.string_map(d, "tags");
    let tier_written = s.has("tier");
    let tier = s.choice(d, "tier", TIERS);
    let mut a = s.section(d, "alarms");
    let duration = read_rule_table(&mut a, d, "duration", "threshold_ms");
    let error_rate = read_rule_table(&mut a, d, "error_rate", "threshold_percent");
    let throttles = read_rule_table(&mut a, d, "throttles", "threshold");
    a.finish(d);
    let reserved_concurrency = s.int(d, "reserved_concurrency");
    let mut c = s.section(d, "cold_start");
    let cold_start = RawColdStartOverride {
        provisioned_min: c.int(d, "provisioned_min"),
        provisioned_max: c.int(d, "provisioned_max"),
        target_utilization: c.number(d, "target_utilization"),
        warmup_concurrency: c.int(d, "warmup_concurrency"),
        warmup_schedule: c.string(d, "warmup_schedule"),
    };
    c.finish(d);
    s.finish(d);
    RawFunction {
        offset,
        name,
        name_prefix,
        tags,
        tier_written,
        tier,
        duration,
        error_rate,
        throttles,
        reserved_concurrency,
        cold_start,
    }
}

fn read_table(mut s: Section<'_>, d: &mut Diags<'_>) -> RawTable {
    let offset = s.offset();
    let name = s.string(d, "name");
    let mut a = s.section(d, "alarms");
    let throttles = read_rule_table(&mut a, d, "throttles", "threshold");
    a.finish(d);
    let mut t = s.section(d, "scaling");
    let scaling = read_scaling(&mut t, d, false);
    t.finish(d);
    s.finish(d);
    RawTable {
        offset,
        name,
        throttles,
        scaling,
    }
}

fn read_cold_start(mut s: Section<'_>, d: &mut Diags<'_>) -> RawColdStart {
    let alias = s.string(d, "alias");
    let manage_alias = s.bool(d, "manage_alias");
    let mut p = s.section(d, "provisioned");
    let provisioned = RawProvisioned {
        target_utilization: p.number(d, "target_utilization"),
        min: p.int(d, "min"),
        max: p.int(d, "max"),
        scale_in_cooldown: p.duration(d, "scale_in_cooldown"),
        scale_out_cooldown: p.duration(d, "scale_out_cooldown"),
    };
    p.finish(d);
    let mut w = s.section(d, "warmup");
    let warmup = RawWarmup {
        schedule: w.string(d, "schedule"),
        concurrency: w.int(d, "concurrency"),
        assumed_duration_ms: w.int(d, "assumed_duration_ms"),
    };
    w.finish(d);
    s.finish(d);
    RawColdStart {
        alias,
        manage_alias,
        provisioned,
        warmup,
    }
}

/// The keys of `[table_scaling]`; a table's `[tables.scaling]` has the same but the cooldowns.
fn read_scaling(s: &mut Section<'_>, d: &mut Diags<'_>, cooldowns: bool) -> RawScaling {
    let mut raw = RawScaling {
        path: s.path().to_string(),
        enabled: s.bool(d, "enabled"),
        target_utilization: s.number(d, "target_utilization"),
        read_min: s.int(d, "read_min"),
        read_max: s.int(d, "read_max"),
        write_min: s.int(d, "write_min"),
        write_max: s.int(d, "write_max"),
        disable_scale_in: s.bool(d, "disable_scale_in"),
        scale_in_cooldown: None,
        scale_out_cooldown: None,
    };
    if cooldowns {
        raw.scale_in_cooldown = s.duration(d, "scale_in_cooldown");
        raw.scale_out_cooldown = s.duration(d, "scale_out_cooldown");
    }
    raw
}

fn read_simulated(mut s: Section<'_>, d: &mut Diags<'_>) -> RawSimulated {
    let state_file = s.string(d, "state_file");
    let seed = s.int(d, "seed");
    let mut functions = Vec::new();
    for mut f in s.sections(d, "functions") {
        functions.push(RawSimFunction {
            offset: f.offset(),
            name: f.string(d, "name"),
            memory_mb: f.int(d, "memory_mb"),
            timeout_s: f.int(d, "timeout_s"),
            architecture: f.choice(d, "architecture", ARCHITECTURES),
            tags: f.string_map(d, "tags"),
            peak_rps: f.number(d, "peak_rps"),
            cpu_ms: f.number(d, "cpu_ms"),
            io_ms: f.number(d, "io_ms"),
            parallelism: f.number(d, "parallelism"),
            error_rate: f.number(d, "error_rate"),
            used_memory_mb: f.int(d, "used_memory_mb"),
        });
        f.finish(d);
    }
    let mut tables = Vec::new();
    for mut t in s.sections(d, "tables") {
        tables.push(RawSimTable {
            offset: t.offset(),
            name: t.string(d, "name"),
            billing_mode: t.choice(d, "billing_mode", BILLING_MODES),
            indexes: t.strings(d, "indexes"),
            read_capacity: t.int(d, "read_capacity"),
            write_capacity: t.int(d, "write_capacity"),
            peak_reads: t.number(d, "peak_reads"),
            peak_writes: t.number(d, "peak_writes"),
        });
        t.finish(d);
    }
    let mut f = s.section(d, "faults");
    let faults = RawFaults {
        error_rate: f.number(d, "error_rate"),
        latency: f.duration(d, "latency"),
        failing_operations: f.strings(d, "failing_operations"),
    };
    f.finish(d);
    s.finish(d);
    RawSimulated {
        state_file,
        seed,
        functions,
        tables,
        faults,
    }
}
