//! The validated desired state: what `config::load` produces and the controllers consume.
//! Every default lives in `config`; by the time a value is here it is explicit.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::alarm::MissingData;
use super::dynamodb::BillingMode;
use super::lambda::Architecture;
use super::metrics::Dimension;
use super::{Tags, Tier};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Desired {
    /// Time between the starts of two cycles.
    pub interval: Duration,
    /// Each sleep is `interval × (1 ± jitter)`; 0 ≤ jitter < 1.
    pub jitter: f64,
    pub cloud: CloudSettings,
    pub ownership: Ownership,
    pub notifications: Notifications,
    /// Function rules in precedence order: explicit names first, then selectors in file order.
    /// A function takes the first rule that matches it.
    pub functions: Vec<FunctionRule>,
    pub tables: Vec<TableEntry>,
    pub alarms: AlarmDefaults,
    pub application: ApplicationAlarms,
    pub observe: ObserveSettings,
    pub executor: ExecutorSettings,
    /// Reserved concurrency guard rails and the Lambda control-plane budget.
    pub capacity: CapacitySettings,
    /// Cold-start strategies by tier: provisioned concurrency (critical), warm-up (standard).
    pub cold_start: ColdStartSettings,
    /// Defaults for DynamoDB auto scaling of PROVISIONED tables.
    pub table_scaling: TableScaling,
    /// List prices used for cost estimates (AWS-FACTS.md, us-east-1).
    pub prices: Prices,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacitySettings {
    /// A plan that would leave fewer unreserved concurrent executions in the account is refused
    /// (AWS itself requires at least 100).
    pub unreserved_floor: u32,
    /// Share of the account's shared Lambda control-plane quota (15 req/s) trimtab may use on
    /// average; it sets the default rate of the `lambda:control-plane` bucket.
    pub control_plane_budget: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ColdStartSettings {
    /// The alias that carries provisioned concurrency for critical functions.
    pub alias: String,
    /// Publish a version and create the alias when it is missing (otherwise the plan says so).
    pub manage_alias: bool,
    pub provisioned: ProvisionedSettings,
    pub warmup: WarmupSettings,
}

/// Provisioned concurrency on the alias, scaled by Application Auto Scaling target tracking on
/// `LambdaProvisionedConcurrencyUtilization`. trimtab writes the scalable target and the policy;
/// the capacity itself belongs to Application Auto Scaling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProvisionedSettings {
    /// Target utilization, 0.1–0.9.
    pub target_utilization: f64,
    pub min: u32,
    pub max: u32,
    pub scale_in_cooldown_s: Option<u32>,
    pub scale_out_cooldown_s: Option<u32>,
}

/// A scheduled EventBridge rule invoking the function with a warm-up event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WarmupSettings {
    /// `rate(N minutes)` (spread per function by trimtab) or a `cron(...)` expression (used as is).
    pub schedule: String,
    /// The `concurrency` field of the warm-up event: how many instances the handler keeps warm.
    pub concurrency: u32,
    /// Billed duration assumed per warm-up invocation, for the cost estimate.
    pub assumed_duration_ms: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableScaling {
    pub enabled: bool,
    /// Target utilization in percent (DynamoDB accepts 20–90).
    pub target_utilization: f64,
    pub read_min: u32,
    pub read_max: u32,
    pub write_min: u32,
    pub write_max: u32,
    pub disable_scale_in: bool,
    pub scale_in_cooldown_s: Option<u32>,
    pub scale_out_cooldown_s: Option<u32>,
}

/// Per-table overrides of [`TableScaling`]; `None` keeps the default.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct TableScalingOverride {
    pub enabled: Option<bool>,
    pub target_utilization: Option<f64>,
    pub read_min: Option<u32>,
    pub read_max: Option<u32>,
    pub write_min: Option<u32>,
    pub write_max: Option<u32>,
    pub disable_scale_in: Option<bool>,
}

impl TableScaling {
    pub fn with(&self, o: &TableScalingOverride) -> TableScaling {
        TableScaling {
            enabled: o.enabled.unwrap_or(self.enabled),
            target_utilization: o.target_utilization.unwrap_or(self.target_utilization),
            read_min: o.read_min.unwrap_or(self.read_min),
            read_max: o.read_max.unwrap_or(self.read_max),
            write_min: o.write_min.unwrap_or(self.write_min),
            write_max: o.write_max.unwrap_or(self.write_max),
            disable_scale_in: o.disable_scale_in.unwrap_or(self.disable_scale_in),
            scale_in_cooldown_s: self.scale_in_cooldown_s,
            scale_out_cooldown_s: self.scale_out_cooldown_s,
        }
    }
}

/// Per-function overrides of the cold-start settings; `None` keeps the default.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ColdStartOverride {
    pub provisioned_min: Option<u32>,
    pub provisioned_max: Option<u32>,
    pub target_utilization: Option<f64>,
    pub warmup_concurrency: Option<u32>,
    pub warmup_schedule: Option<String>,
}

/// Prices in US dollars (us-east-1 list prices by default).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Prices {
    pub lambda_requests_per_million: f64,
    pub lambda_gb_second_x86: f64,
    pub lambda_gb_second_arm: f64,
    pub provisioned_gb_second_x86: f64,
    pub provisioned_gb_second_arm: f64,
    pub provisioned_duration_gb_second_x86: f64,
    pub provisioned_duration_gb_second_arm: f64,
}

impl Default for Prices {
    fn default() -> Self {
        Self {
            lambda_requests_per_million: 0.20,
            lambda_gb_second_x86: 0.000_016_666_7,
            lambda_gb_second_arm: 0.000_013_333_4,
            provisioned_gb_second_x86: 0.000_004_166_7,
            provisioned_gb_second_arm: 0.000_003_333_4,
            provisioned_duration_gb_second_x86: 0.000_009_722_2,
            provisioned_duration_gb_second_arm: 0.000_007_777_8,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Aws,
    Simulated,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CloudSettings {
    pub backend: Backend,
    pub region: String,
    pub endpoint_url: Option<String>,
    /// Requests per second per quota bucket (see `cloud::ops::Bucket`), overriding the defaults.
    pub rate_limits: BTreeMap<String, f64>,
    pub simulated: SimSettings,
}

/// The simulated account's contents and behaviour (`backend = "simulated"`).
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SimSettings {
    /// When set, the account's state is loaded from and saved to this JSON file, so separate
    /// processes (`apply`, then `plan`) see the same account.
    pub state_file: Option<PathBuf>,
    /// Seed of the traffic model's random numbers.
    pub seed: u64,
    pub functions: Vec<SimFunction>,
    pub tables: Vec<SimTable>,
    pub faults: SimFaults,
}

/// A function that exists in the simulated account, with its traffic and performance model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimFunction {
    pub name: String,
    pub memory_mb: u32,
    pub timeout_s: u32,
    pub architecture: Architecture,
    pub tags: Tags,
    /// Mean invocations per second at the daily peak.
    pub peak_rps: f64,
    /// CPU work per invocation in milliseconds at one full vCPU (1,769 MB).
    pub cpu_ms: f64,
    /// Time per invocation spent waiting on I/O; does not change with memory.
    pub io_ms: f64,
    /// Threads the handler can use; CPU speed-up stops at this many vCPUs.
    pub parallelism: f64,
    /// Fraction of invocations that fail.
    pub error_rate: f64,
    /// Memory the handler actually uses, in MB.
    pub used_memory_mb: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SimTable {
    pub name: String,
    pub billing_mode: BillingMode,
    pub indexes: Vec<String>,
    /// Provisioned capacity, for PROVISIONED tables.
    pub read_capacity: u64,
    pub write_capacity: u64,
    /// Mean consumed units per second at the daily peak.
    pub peak_reads: f64,
    pub peak_writes: f64,
}

/// Faults the simulated account injects into every API call.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct SimFaults {
    /// Probability that any call fails with a transient error.
    pub error_rate: f64,
    /// Latency added to every call.
    pub latency: Duration,
    /// Operations (AWS names, e.g. `PutMetricAlarm`) that always fail.
    pub failing_operations: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ownership {
    pub tag_key: String,
    pub tag_value: String,
    /// Prefix of the names of every resource trimtab creates, e.g. `trimtab-`.
    pub name_prefix: String,
    /// Delete owned resources that are no longer desired.
    pub prune: bool,
    /// Names of existing, unowned resources trimtab may take over (explicit opt-in).
    pub adopt: Vec<String>,
}

impl Ownership {
    pub fn tag(&self) -> (String, String) {
        (self.tag_key.clone(), self.tag_value.clone())
    }

    /// Does this tag set carry trimtab's ownership marker?
    pub fn owns(&self, tags: &Tags) -> bool {
        tags.get(&self.tag_key) == Some(&self.tag_value)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum Notifications {
    /// Alarms get no actions.
    None,
    /// Alarm actions go to a topic someone else owns.
    Existing { topic_arn: String },
    /// trimtab creates and owns the topic (named `name_prefix + name`) and its email subscriptions.
    Managed { name: String, emails: Vec<String> },
}

/// Which functions a rule applies to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum FunctionMatch {
    Name(String),
    /// Every listed condition must hold; an empty selector is rejected by validation.
    Selector {
        name_prefix: Option<String>,
        tags: Tags,
    },
}

impl FunctionMatch {
    /// Whether the match needs tags, which only GetFunction returns.
    pub fn needs_tags(&self) -> bool {
        matches!(self, FunctionMatch::Selector { tags, .. } if !tags.is_empty())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunctionRule {
    pub matcher: FunctionMatch,
    pub tier: Tier,
    pub alarms: FunctionAlarmOverrides,
    /// Reserved concurrency trimtab sets on each matching function; `None` leaves it alone
    /// (and removes a value trimtab itself set earlier).
    pub reserved_concurrency: Option<u32>,
    pub cold_start: ColdStartOverride,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct FunctionAlarmOverrides {
    pub duration: RuleOverride,
    pub error_rate: RuleOverride,
    pub throttles: RuleOverride,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TableEntry {
    pub name: String,
    pub alarms: TableAlarmOverrides,
    pub scaling: TableScalingOverride,
}

#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct TableAlarmOverrides {
    pub throttles: RuleOverride,
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
    /// DynamoDB ThrottledRequests (Sum per period) above `threshold`.
    pub dynamodb_throttles: AlarmRule,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ApplicationAlarms {
    pub cache_hit_rate: Option<CacheHitAlarm>,
    pub cost_per_student: Option<CustomMetricAlarm>,
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

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ObserveSettings {
    /// Read per-function CloudWatch metrics each cycle (billed per metric).
    pub metrics: bool,
    /// How far back metric reads look.
    pub metrics_window: Duration,
    /// How far behind "now" metric windows end, because CloudWatch data settles late.
    pub metrics_delay: Duration,
    /// How long alarm tags read with ListTagsForResource are trusted before being re-read.
    pub tag_cache_ttl: Duration,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExecutorSettings {
    /// Changes applied at the same time.
    pub concurrency: usize,
    /// Attempts per call, the first included, for throttling and transient errors.
    pub max_attempts: u32,
    pub base_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ExecutorSettings {
    fn default() -> Self {
        Self {
            concurrency: 8,
            max_attempts: 6,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
        }
    }
}
