//! The framework's part of the schema as written: the top-level keys and the shared sections
//! (`[cloud]`, `[ownership]`, `[observe]`, `[executor]`, `[capacity]`'s rate budget, `[prices]`,
//! `[simulated]`), each value kept with its span so that validation can point at it. Nothing
//! here is defaulted or range-checked; that is `convert`'s job. Each controller reads its own
//! sections (see `controllers::registry`).

use std::ops::Range;
use std::time::Duration;

use toml::Spanned;

use super::diag::Diags;
use super::walk::{Pairs, Section, Sections};
use crate::model::{Architecture, Backend, BillingMode, Tier};

pub(crate) type S<T> = Spanned<T>;
type Opt<T> = Option<Spanned<T>>;

const BACKENDS: &[(&str, Backend)] = &[("aws", Backend::Aws), ("simulated", Backend::Simulated)];
pub(crate) const TIERS: &[(&str, Tier)] = &[
    ("critical", Tier::Critical),
    ("standard", Tier::Standard),
    ("batch", Tier::Batch),
];
const ARCHITECTURES: &[(&str, Architecture)] = &[
    ("x86_64", Architecture::X86_64),
    ("arm64", Architecture::Arm64),
];
const BILLING_MODES: &[(&str, BillingMode)] = &[
    ("provisioned", BillingMode::Provisioned),
    ("on_demand", BillingMode::PayPerRequest),
];

/// What the file says before the controllers' sections: the schedule, the account and
/// ownership (controllers name things with its prefix).
pub(crate) struct RawHead {
    pub interval: Opt<Duration>,
    pub jitter: Opt<f64>,
    pub cloud: RawCloud,
    pub ownership: RawOwnership,
}

/// The framework's sections after the controllers'.
pub(crate) struct RawTail {
    pub lease: RawLease,
    pub observe: RawObserve,
    pub executor: RawExecutor,
    pub control_plane_budget: Opt<f64>,
    pub prices: RawPrices,
    pub simulated: RawSimulated,
}

pub(crate) struct RawLease {
    pub enabled: Opt<bool>,
    pub table: Opt<String>,
    pub name: Opt<String>,
    pub ttl: Opt<Duration>,
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
    pub max_deletions: Opt<i64>,
    pub allow_mass_deletion: Opt<bool>,
}

/// What the framework reads of a `[[functions]]` rule: which functions, and their tier.
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
}

/// What the framework reads of a `[[tables]]` entry.
pub(crate) struct RawTable {
    pub offset: usize,
    pub name: Opt<String>,
}

/// `[prices]`: each key's value, in the order of [`super::convert::PRICES`].
pub(crate) struct RawPrices {
    pub base: Vec<Opt<f64>>,
    /// `[prices.regions.<region>]`: the same keys, for one region.
    pub regions: Vec<(Spanned<String>, Vec<Opt<f64>>)>,
}

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
    pub curve: Opt<Pairs<f64>>,
    pub input_tokens: Opt<Pairs<f64>>,
    pub output_tokens: Opt<Pairs<f64>>,
    pub spread: Opt<f64>,
    pub used_memory_sigma: Opt<f64>,
    pub insights: Opt<bool>,
    pub invoked_via: Opt<String>,
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

/// Reads the top-level keys, `[cloud]` and `[ownership]`.
pub(crate) fn read_head(sections: &mut Sections<'_>, d: &mut Diags<'_>) -> RawHead {
    let root = sections.root();
    let interval = root.duration(d, "interval");
    let jitter = root.number(d, "jitter");

    let s = sections.get(d, "cloud");
    let cloud = RawCloud {
        span: s.span.clone(),
        backend_written: s.has("backend"),
        backend: s.choice(d, "backend", BACKENDS),
        region: s.string(d, "region"),
        endpoint_url: s.string(d, "endpoint_url"),
        rate_limits: s.number_map(d, "rate_limits"),
    };

    let s = sections.get(d, "ownership");
    let ownership = RawOwnership {
        tag_key: s.string(d, "tag_key"),
        tag_value: s.string(d, "tag_value"),
        name_prefix: s.string(d, "name_prefix"),
        prune: s.bool(d, "prune"),
        adopt: s.strings(d, "adopt"),
        max_deletions: s.int(d, "max_deletions"),
        allow_mass_deletion: s.bool(d, "allow_mass_deletion"),
    };
    RawHead {
        interval,
        jitter,
        cloud,
        ownership,
    }
}

/// What the framework reads of one `[[functions]]` rule, before the controllers read theirs.
pub(crate) fn read_function(s: &mut Section<'_>, d: &mut Diags<'_>) -> RawFunction {
    RawFunction {
        offset: s.offset(),
        name: s.string(d, "name"),
        name_prefix: s.string(d, "name_prefix"),
        tags: s.string_map(d, "tags"),
        tier_written: s.has("tier"),
        tier: s.choice(d, "tier", TIERS),
    }
}

pub(crate) fn read_table(s: &mut Section<'_>, d: &mut Diags<'_>) -> RawTable {
    RawTable {
        offset: s.offset(),
        name: s.string(d, "name"),
    }
}

/// Reads the framework's sections that follow the controllers'.
pub(crate) fn read_tail(sections: &mut Sections<'_>, d: &mut Diags<'_>) -> RawTail {
    let s = sections.get(d, "observe");
    let observe = RawObserve {
        metrics: s.bool(d, "metrics"),
        metrics_window: s.duration(d, "metrics_window"),
        metrics_delay: s.duration(d, "metrics_delay"),
        tag_cache_ttl: s.duration(d, "tag_cache_ttl"),
    };

    let s = sections.get(d, "lease");
    let lease = RawLease {
        enabled: s.bool(d, "enabled"),
        table: s.string(d, "table"),
        name: s.string(d, "name"),
        ttl: s.duration(d, "ttl"),
    };

    let s = sections.get(d, "executor");
    let executor = RawExecutor {
        concurrency: s.int(d, "concurrency"),
        max_attempts: s.int(d, "max_attempts"),
        base_backoff: s.duration(d, "base_backoff"),
        max_backoff: s.duration(d, "max_backoff"),
    };

    // `[capacity]` is shared: the reserved-concurrency controller reads its floor there.
    let control_plane_budget = sections
        .get(d, "capacity")
        .number(d, "control_plane_budget");

    let s = sections.get(d, "prices");
    let keys = |s: &mut Section<'_>, d: &mut Diags<'_>| -> Vec<Opt<f64>> {
        let keys = super::convert::PRICES.iter();
        keys.map(|&(key, _)| s.number(d, key)).collect()
    };
    let base = keys(s, d);
    let mut regions = Vec::new();
    for (region, mut table) in s.named_sections(d, "regions") {
        regions.push((region, keys(&mut table, d)));
        table.finish(d);
    }
    let prices = RawPrices { base, regions };

    let simulated = read_simulated(sections.get(d, "simulated"), d);

    RawTail {
        lease,
        observe,
        executor,
        control_plane_budget,
        prices,
        simulated,
    }
}

fn read_simulated(s: &mut Section<'_>, d: &mut Diags<'_>) -> RawSimulated {
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
            curve: f.number_map(d, "curve"),
            input_tokens: f.number_map(d, "input_tokens"),
            output_tokens: f.number_map(d, "output_tokens"),
            spread: f.number(d, "spread"),
            used_memory_sigma: f.number(d, "used_memory_sigma"),
            insights: f.bool(d, "insights"),
            invoked_via: f.string(d, "invoked_via"),
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
    RawSimulated {
        state_file,
        seed,
        functions,
        tables,
        faults,
    }
}
