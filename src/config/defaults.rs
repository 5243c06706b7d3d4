//! Every default of the desired-state schema, in one place.
//!
//! Alarm thresholds come from the application's own targets (p95 < 3 s, error rate alert > 5 %,
//! cache hit rate alert < 40 %, cost per student alert > ₹15/month, Lambda throttles alert
//! > 10/minute); `config/example.toml` documents each of these next to its key.

use std::time::Duration;

use crate::model::{Backend, MissingData, Tier};

/// Time between the starts of two cycles.
pub const INTERVAL: Duration = Duration::from_secs(60);
/// Each sleep is `interval × (1 ± jitter)`, so replicas and restarts don't fall into step.
pub const JITTER: f64 = 0.1;

pub const BACKEND: Backend = Backend::Aws;
/// The simulated account needs some region for ARNs; a real account must name its own.
pub const SIMULATED_REGION: &str = "us-east-1";

pub const TAG_KEY: &str = "managed-by";
pub const TAG_VALUE: &str = "trimtab";
pub const NAME_PREFIX: &str = "trimtab-";
pub const PRUNE: bool = true;

/// `batch` means "alarms only": trimtab spends nothing on a function's cold starts (provisioned
/// concurrency, warm-up invocations) unless the operator asks for it by naming a tier.
pub const TIER: Tier = Tier::Batch;

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

/// DynamoDB ThrottledRequests above 5 per minute. The application has no target for it; a
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

pub const OBSERVE_METRICS: bool = true;
pub const METRICS_WINDOW: Duration = Duration::from_secs(15 * 60);
/// CloudWatch data settles late; windows end this far in the past.
pub const METRICS_DELAY: Duration = Duration::from_secs(3 * 60);
pub const TAG_CACHE_TTL: Duration = Duration::from_secs(3600);

pub const CONCURRENCY: usize = 8;
pub const MAX_ATTEMPTS: u32 = 6;
pub const BASE_BACKOFF: Duration = Duration::from_millis(200);
/// The AWS SDK's own maximum backoff in standard retry mode.
pub const MAX_BACKOFF: Duration = Duration::from_secs(20);

pub const SIM_SEED: u64 = 42;
/// AWS's own defaults for a new function.
pub const SIM_MEMORY_MB: u32 = 128;
pub const SIM_TIMEOUT_S: u32 = 3;
pub const SIM_PEAK_RPS: f64 = 1.0;
pub const SIM_CPU_MS: f64 = 100.0;
pub const SIM_IO_MS: f64 = 0.0;
pub const SIM_PARALLELISM: f64 = 1.0;
pub const SIM_ERROR_RATE: f64 = 0.0;
/// Unless told otherwise, a simulated handler uses half its memory.
pub const SIM_USED_MEMORY_FRACTION: f64 = 0.5;
/// The DynamoDB console's default for a new provisioned table.
pub const SIM_CAPACITY: u64 = 5;
pub const SIM_PEAK_UNITS: f64 = 1.0;

/// AWS refuses reserved concurrency that leaves fewer than 100 unreserved executions; plans that
/// would go below the floor are refused before AWS is asked.
pub const UNRESERVED_FLOOR: u32 = 100;
/// A tenth of the account's shared 15 req/s Lambda control plane (1.5 req/s): the rest is the
/// operator's deployments'.
pub const CONTROL_PLANE_BUDGET: f64 = 0.10;

/// The alias that carries provisioned concurrency (never `$LATEST`, which AWS refuses).
pub const ALIAS: &str = "live";
/// Publishing versions and moving an alias is the deployment pipeline's job unless asked.
pub const MANAGE_ALIAS: bool = false;
/// Scale out when 70 % of the provisioned instances are busy, as in AWS's own examples: headroom
/// for a burst while scaling catches up.
pub const PROVISIONED_TARGET_UTILIZATION: f64 = 0.7;
pub const PROVISIONED_MIN: u32 = 1;
pub const PROVISIONED_MAX: u32 = 10;
/// Lambda reclaims idle execution environments after some minutes (undocumented; commonly 5 to
/// 15), so a ping every 5 minutes keeps one warm.
pub const WARMUP_SCHEDULE: &str = "rate(5 minutes)";
pub const WARMUP_CONCURRENCY: u32 = 1;
/// A warm-up invocation returns at once; 50 ms is a generous billed duration for the estimate.
pub const WARMUP_ASSUMED_DURATION_MS: u32 = 50;

pub const TABLE_SCALING_ENABLED: bool = true;
/// Percent of provisioned capacity consumed before scaling out, the DynamoDB console's default.
pub const TABLE_TARGET_UTILIZATION: f64 = 70.0;
/// Read and write units, each: the floor matches a new provisioned table's 5 units.
pub const TABLE_MIN_UNITS: u32 = 5;
pub const TABLE_MAX_UNITS: u32 = 1000;
pub const TABLE_DISABLE_SCALE_IN: bool = false;

// Prices default to `Prices::default()` in the model: AWS-FACTS.md's us-east-1 list prices.

/// Capacity guard rails with every default.
pub fn capacity() -> crate::model::CapacitySettings {
    crate::model::CapacitySettings {
        unreserved_floor: UNRESERVED_FLOOR,
        control_plane_budget: CONTROL_PLANE_BUDGET,
    }
}

/// Cold-start settings with every default.
pub fn cold_start() -> crate::model::ColdStartSettings {
    crate::model::ColdStartSettings {
        alias: ALIAS.into(),
        manage_alias: MANAGE_ALIAS,
        provisioned: crate::model::ProvisionedSettings {
            target_utilization: PROVISIONED_TARGET_UTILIZATION,
            min: PROVISIONED_MIN,
            max: PROVISIONED_MAX,
            scale_in_cooldown_s: None,
            scale_out_cooldown_s: None,
        },
        warmup: crate::model::WarmupSettings {
            schedule: WARMUP_SCHEDULE.into(),
            concurrency: WARMUP_CONCURRENCY,
            assumed_duration_ms: WARMUP_ASSUMED_DURATION_MS,
        },
    }
}

/// DynamoDB auto scaling with every default.
pub fn table_scaling() -> crate::model::TableScaling {
    crate::model::TableScaling {
        enabled: TABLE_SCALING_ENABLED,
        target_utilization: TABLE_TARGET_UTILIZATION,
        read_min: TABLE_MIN_UNITS,
        read_max: TABLE_MAX_UNITS,
        write_min: TABLE_MIN_UNITS,
        write_max: TABLE_MAX_UNITS,
        disable_scale_in: TABLE_DISABLE_SCALE_IN,
        scale_in_cooldown_s: None,
        scale_out_cooldown_s: None,
    }
}
