//! Every default of the framework's part of the desired-state schema. Each controller keeps the
//! defaults of its own settings in its folder; `config/example.toml` documents every key with
//! its default.

use std::time::Duration;

use crate::model::{Backend, Tier};

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
/// Deletions one plan may make before it waits for a person.
pub const MAX_DELETIONS: usize = 20;
pub const PRUNE: bool = true;

/// `batch` means "alarms only": trimtab spends nothing on a function's cold starts (provisioned
/// concurrency, warm-up invocations) unless the operator asks for it by naming a tier.
pub const TIER: Tier = Tier::Batch;

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

/// A tenth of the account's shared 15 req/s Lambda control plane (1.5 req/s): the rest is the
/// operator's deployments'.
pub const CONTROL_PLANE_BUDGET: f64 = 0.10;

/// `[lease]`: the table the deployment creates, the lease's key, and how long it holds.
pub const LEASE_TABLE: &str = "trimtab-lease";
pub const LEASE_NAME: &str = "trimtab";
pub const LEASE_TTL: Duration = Duration::from_secs(30);
