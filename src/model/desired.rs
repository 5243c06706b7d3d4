//! The validated desired state: what `config::load` produces and the controllers consume.
//! Every default lives in `config` (or, for a controller's own settings, in its folder); by the
//! time a value is here it is explicit.
//!
//! The shared part is here: the schedule, the account, ownership, which functions and tables
//! trimtab looks after (and each function's tier), prices. Each controller's own settings sit
//! in [`crate::controllers::registry`]'s generated structs: `controllers` for its config
//! section, and `settings` on every function rule and table for its per-resource keys.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::dynamodb::BillingMode;
use super::lambda::Architecture;
use super::{Tags, Tier};
use crate::controllers::registry;

#[derive(Debug, Clone)]
pub struct Desired {
    /// Time between the starts of two cycles.
    pub interval: Duration,
    /// Each sleep is `interval × (1 ± jitter)`; 0 ≤ jitter < 1.
    pub jitter: f64,
    pub cloud: CloudSettings,
    pub ownership: Ownership,
    /// Function rules in precedence order: explicit names first, then selectors in file order.
    /// A function takes the first rule that matches it.
    pub functions: Vec<FunctionRule>,
    pub tables: Vec<TableEntry>,
    pub observe: ObserveSettings,
    pub executor: ExecutorSettings,
    /// Share of the account's shared Lambda control-plane quota (15 req/s) trimtab may use on
    /// average; it sets the default rate of the `lambda:control-plane` bucket.
    pub control_plane_budget: f64,
    /// List prices used for cost estimates (AWS-FACTS.md, us-east-1).
    pub prices: Prices,
    /// Every controller's own settings, one field per registered controller.
    pub controllers: registry::Settings,
    /// Leader election between replicas (`[lease]`); `None`: this process is the only writer.
    pub lease: Option<LeaseSettings>,
}

/// A lease in a DynamoDB table of the account: one writer among replicas.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseSettings {
    /// The table (partition key `pk`, a string), created by the deployment.
    pub table: String,
    /// The lease's key: replicas managing the same account share it.
    pub name: String,
    /// How long a lease holds without renewal; renewed every third of it.
    pub ttl: Duration,
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
    pub dynamodb_read_per_million: f64,
    pub dynamodb_write_per_million: f64,
    pub dynamodb_rcu_hour: f64,
    pub dynamodb_wcu_hour: f64,
    pub cloudwatch_alarm_month: f64,
    pub cloudwatch_metric_month: f64,
    pub get_metric_data_per_thousand: f64,
    /// The region whose `[prices.regions.<region>]` table applies, if any.
    pub regional: Option<String>,
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
            dynamodb_read_per_million: 0.125,
            dynamodb_write_per_million: 0.625,
            dynamodb_rcu_hour: 0.000_13,
            dynamodb_wcu_hour: 0.000_65,
            cloudwatch_alarm_month: 0.10,
            cloudwatch_metric_month: 0.30,
            get_metric_data_per_thousand: 0.01,
            regional: None,
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
    /// Median duration (ms) at given memory sizes (MB), replacing the cpu/io formula when set,
    /// to replay a function whose duration-versus-memory curve was measured.
    pub curve: Vec<(u32, f64)>,
    /// Lognormal shape of per-invocation durations; `None` for a seeded 0.25–0.45.
    pub spread: Option<f64>,
    /// Lognormal shape of the memory each invocation uses (0.03: steady).
    pub used_memory_sigma: f64,
    /// Whether the Lambda Insights extension publishes `LambdaInsights` metrics.
    pub insights: bool,
    /// The alias callers invoke (its routing decides which version serves); `None` for
    /// `$LATEST`.
    pub invoked_via: Option<String>,
    /// Amazon Bedrock tokens per invocation: (model id, input, output).
    pub tokens: Vec<(String, f64, f64)>,
}

impl Default for SimFunction {
    fn default() -> Self {
        Self {
            name: String::new(),
            memory_mb: 128,
            timeout_s: 3,
            architecture: Architecture::default(),
            tags: Tags::new(),
            peak_rps: 1.0,
            cpu_ms: 100.0,
            io_ms: 0.0,
            parallelism: 1.0,
            error_rate: 0.0,
            used_memory_mb: 64,
            curve: Vec::new(),
            spread: None,
            used_memory_sigma: 0.03,
            insights: true,
            invoked_via: None,
            tokens: Vec::new(),
        }
    }
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
    /// A plan deleting more than this many resources at once is refused (its deletions held
    /// back, everything else done) until a person confirms it.
    pub max_deletions: usize,
    /// The confirmation: `ownership.allow_mass_deletion = true` for the daemon (then set it
    /// back), `apply --allow-mass-deletion` on the command line.
    pub allow_mass_deletion: bool,
}

impl Ownership {
    pub fn tag(&self) -> (String, String) {
        (self.tag_key.clone(), self.tag_value.clone())
    }

    /// Does this tag set carry trimtab's ownership marker?
    pub fn owns(&self, tags: &Tags) -> bool {
        tags.value(&self.tag_key) == Some(self.tag_value.as_str())
    }
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

/// One `[[functions]]` rule: which functions, their tier, and each controller's keys.
#[derive(Debug, Clone)]
pub struct FunctionRule {
    pub matcher: FunctionMatch,
    pub tier: Tier,
    /// Each controller's per-rule settings, one field per registered controller.
    pub settings: registry::RuleSettings,
}

/// One `[[tables]]` entry: a DynamoDB table trimtab looks after, and each controller's keys.
#[derive(Debug, Clone)]
pub struct TableEntry {
    pub name: String,
    pub settings: registry::TableSettings,
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
