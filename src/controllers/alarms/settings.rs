//! The alarms controller's settings: `[alarms]` (defaults of every alarm, the application's own
//! alarms), `[functions.alarms.*]` and `[tables.alarms.*]` overrides. Thresholds come from the
//! application's own targets (p95 < 3 s, error rate alert > 5 %, cache hit rate alert < 40 %,
//! cost per student alert > ₹15/month, Lambda throttles alert > 10/minute);
//! `config/example.toml` documents each of these next to its key.

use std::time::Duration;

use serde::Serialize;

use crate::config::read::{Diags, Opt, Pairs, Section};
use crate::controllers::{EntryCx, SettingsCx};
use crate::model::{Dimension, MissingData};

use super::layers::{self, override_rule};

/// Everything `[alarms]` says.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub defaults: AlarmDefaults,
    pub application: ApplicationAlarms,
}

/// The common shape of every alarm trimtab makes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmRule {
    pub enabled: bool,
    pub threshold: f64,
    pub period_s: u32,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub treat_missing_data: MissingData,
}

/// Per-resource overrides of an [`AlarmRule`]; `None` keeps the default.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct RuleOverride {
    pub enabled: Option<bool>,
    pub threshold: Option<f64>,
    pub period_s: Option<u32>,
    pub evaluation_periods: Option<u32>,
    pub datapoints_to_alarm: Option<u32>,
    pub treat_missing_data: Option<MissingData>,
}

impl AlarmRule {
    pub fn with(&self, o: &RuleOverride) -> AlarmRule {
        AlarmRule {
            enabled: o.enabled.unwrap_or(self.enabled),
            threshold: o.threshold.unwrap_or(self.threshold),
            period_s: o.period_s.unwrap_or(self.period_s),
            evaluation_periods: o.evaluation_periods.unwrap_or(self.evaluation_periods),
            datapoints_to_alarm: o.datapoints_to_alarm.unwrap_or(self.datapoints_to_alarm),
            treat_missing_data: o.treat_missing_data.unwrap_or(self.treat_missing_data),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlarmDefaults {
    /// Duration percentile above `threshold` milliseconds.
    pub duration: AlarmRule,
    /// The percentile statistic for the duration alarm, e.g. `p95`.
    pub duration_statistic: String,
    /// 100 × Errors / Invocations above `threshold` percent.
    pub error_rate: AlarmRule,
    /// Throttles (Sum per period) above `threshold`.
    pub throttles: AlarmRule,
    /// DynamoDB ReadThrottleEvents + WriteThrottleEvents (Sum per period, per table) above
    /// `threshold`.
    pub dynamodb_throttles: AlarmRule,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplicationAlarms {
    pub cache_hit_rate: Option<CacheHitAlarm>,
    pub cost_per_student: Option<CustomMetricAlarm>,
    /// Share (%) of Bedrock tokens on the cheap models (`cost.cheap_models`) below
    /// `threshold_percent`; the models are the cost model's (`[prices]`).
    pub model_mix: Option<AlarmRule>,
}

/// 100 × hits / (hits + misses) below `rule.threshold` percent, over the application's own metrics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CacheHitAlarm {
    pub rule: AlarmRule,
    pub namespace: String,
    pub hit_metric: String,
    pub miss_metric: String,
    pub dimensions: Vec<Dimension>,
}

/// A custom metric compared with a threshold, e.g. cost per student per month (₹) above 15.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomMetricAlarm {
    pub rule: AlarmRule,
    pub namespace: String,
    pub metric: String,
    pub statistic: String,
    pub dimensions: Vec<Dimension>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FunctionAlarmOverrides {
    pub duration: RuleOverride,
    pub error_rate: RuleOverride,
    pub throttles: RuleOverride,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct TableAlarmOverrides {
    pub throttles: RuleOverride,
}

// ---- Built-in defaults --------------------------------------------------------------------

/// Built-in settings of one alarm, before the file's `[alarms]` and per-alarm keys apply.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RuleDefault {
    pub threshold: f64,
    pub period_s: u32,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub treat_missing_data: MissingData,
}

/// 3 of 3 one-minute datapoints: a single slow or throttled minute is a blip, three in a row is
/// an incident. An idle function publishes nothing, and idle is not a problem: `notBreaching`.
const PER_MINUTE: RuleDefault = RuleDefault {
    threshold: 0.0,
    period_s: 60,
    evaluation_periods: 3,
    datapoints_to_alarm: 3,
    treat_missing_data: MissingData::NotBreaching,
};

/// p95 duration above 3,000 ms (the application's response-time target).
pub const DURATION: RuleDefault = RuleDefault {
    threshold: 3000.0,
    ..PER_MINUTE
};
pub const DURATION_STATISTIC: &str = "p95";

/// 100 × Errors / Invocations above 5 %.
pub const ERROR_RATE: RuleDefault = RuleDefault {
    threshold: 5.0,
    ..PER_MINUTE
};

/// Lambda Throttles above 10 per minute.
pub const THROTTLES: RuleDefault = RuleDefault {
    threshold: 10.0,
    ..PER_MINUTE
};

/// DynamoDB throttle events (reads + writes) above 5 per minute. The application has no target for it; a
/// handful per minute is absorbed by SDK retries, sustained throttling is not. DynamoDB only
/// publishes the metric when requests are throttled, so missing data is `notBreaching`.
pub const DYNAMODB_THROTTLES: RuleDefault = RuleDefault {
    threshold: 5.0,
    ..PER_MINUTE
};

/// Cache hit rate below 40 %, over 5-minute periods: at a few requests a minute a one-minute
/// ratio swings wildly. With no traffic there is no ratio, and `missing` shows that honestly
/// (INSUFFICIENT_DATA, no notification) instead of claiming the cache is fine.
pub const CACHE_HIT_RATE: RuleDefault = RuleDefault {
    threshold: 40.0,
    period_s: 300,
    evaluation_periods: 3,
    datapoints_to_alarm: 3,
    treat_missing_data: MissingData::Missing,
};

/// Less than 95 % of Bedrock tokens on the cheap models ("AI API usage should be 95 % Haiku",
/// the seed's troubleshooting), over hours: a burst of long answers on the big model in a
/// minute is not a trend. No tokens, no share: `missing`.
pub const MODEL_MIX: RuleDefault = RuleDefault {
    threshold: 95.0,
    period_s: 3600,
    evaluation_periods: 3,
    datapoints_to_alarm: 3,
    treat_missing_data: MissingData::Missing,
};

/// Cost per student above ₹15 per month. The metric is a monthly estimate the application
/// publishes now and then, so one hourly datapoint over budget is the signal, and between
/// publications the alarm keeps its state (`ignore`).
pub const COST_PER_STUDENT: RuleDefault = RuleDefault {
    threshold: 15.0,
    period_s: 3600,
    evaluation_periods: 1,
    datapoints_to_alarm: 1,
    treat_missing_data: MissingData::Ignore,
};

/// Namespace of the application's own metrics.
pub const APP_NAMESPACE: &str = "VoiceLearning";
pub const CACHE_HIT_METRIC: &str = "CacheHits";
pub const CACHE_MISS_METRIC: &str = "CacheMisses";
pub const COST_METRIC: &str = "CostPerStudentMonthly";
pub const COST_STATISTIC: &str = "Maximum";

// ---- The schema as written ----------------------------------------------------------------

const MISSING_DATA: &[(&str, MissingData)] = &[
    ("breaching", MissingData::Breaching),
    ("notBreaching", MissingData::NotBreaching),
    ("ignore", MissingData::Ignore),
    ("missing", MissingData::Missing),
];

/// The keys every alarm table shares. At the `[alarms]` level `enabled` and `threshold` are not
/// read (there is no threshold common to all alarms).
#[derive(Default)]
pub(super) struct RawRule {
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

pub(super) struct RawAlarms {
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
    pub model_mix: RawRule,
}

pub(super) struct RawCacheMetrics {
    pub namespace: Opt<String>,
    pub hit_metric: Opt<String>,
    pub miss_metric: Opt<String>,
    pub dimensions: Opt<Pairs<String>>,
}

pub(super) struct RawCostMetric {
    pub namespace: Opt<String>,
    pub metric: Opt<String>,
    pub statistic: Opt<String>,
    pub dimensions: Opt<Pairs<String>>,
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

fn read_alarms(s: &mut Section<'_>, d: &mut Diags<'_>) -> RawAlarms {
    let shared = read_rule(s, d, None);

    let mut t = s.section(d, "duration");
    let duration = read_rule(&mut t, d, Some("threshold_ms"));
    let duration_statistic = t.string(d, "statistic");
    t.finish(d);

    let error_rate = read_rule_table(s, d, "error_rate", "threshold_percent");
    let throttles = read_rule_table(s, d, "throttles", "threshold");
    let dynamodb_throttles = read_rule_table(s, d, "dynamodb_throttles", "threshold");

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

    let model_mix = read_rule_table(s, d, "model_mix", "threshold_percent");

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
        model_mix,
    }
}

/// Reads and checks `[alarms]`.
pub(super) fn read(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
    let d = &mut *cx.d;
    let section = cx.sections.get(d, "alarms");
    let raw = read_alarms(section, d);
    let (defaults, application) = layers::global(d, &raw);
    Settings {
        defaults,
        application,
    }
}

/// Reads and checks one rule's `[functions.alarms.*]` overrides.
pub(super) fn read_function(cx: &mut EntryCx<'_, '_, '_>, g: &Settings) -> FunctionAlarmOverrides {
    let d = &mut *cx.d;
    let mut a = cx.section.section(d, "alarms");
    let duration = read_rule_table(&mut a, d, "duration", "threshold_ms");
    let error_rate = read_rule_table(&mut a, d, "error_rate", "threshold_percent");
    let throttles = read_rule_table(&mut a, d, "throttles", "threshold");
    a.finish(d);
    let g = &g.defaults;
    FunctionAlarmOverrides {
        duration: override_rule(d, &duration, &layers::DURATION, &g.duration),
        error_rate: override_rule(d, &error_rate, &layers::ERROR_RATE, &g.error_rate),
        throttles: override_rule(d, &throttles, &layers::THROTTLES, &g.throttles),
    }
}

/// Reads and checks one table's `[tables.alarms.*]` overrides.
pub(super) fn read_table(cx: &mut EntryCx<'_, '_, '_>, g: &Settings) -> TableAlarmOverrides {
    let d = &mut *cx.d;
    let mut a = cx.section.section(d, "alarms");
    let throttles = read_rule_table(&mut a, d, "throttles", "threshold");
    a.finish(d);
    TableAlarmOverrides {
        throttles: override_rule(
            d,
            &throttles,
            &layers::DYNAMODB_THROTTLES,
            &g.defaults.dynamodb_throttles,
        ),
    }
}
