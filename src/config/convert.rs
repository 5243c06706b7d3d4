//! From the schema as written ([`Raw`]) to the validated [`Desired`]: defaults filled in, ranges
//! and cross-field rules checked. A value that fails a check is reported and replaced by its
//! default, so one mistake does not hide the next; the result is only used when nothing failed.

use std::collections::BTreeMap;
use std::time::Duration;

use super::check::{self, Bounds};
use super::defaults;
use super::diag::{Diags, hint};
use super::raw::{RawCloud, RawExecutor, RawHead, RawObserve, RawOwnership, RawPrices, RawTail};
use super::simulated;
use crate::cloud::ops::{aws_quota, buckets};
use crate::controllers::registry;
use crate::model::{
    Backend, CloudSettings, Desired, ExecutorSettings, FunctionRule, ObserveSettings, Ownership,
    Prices, TableEntry,
};

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);
/// A list price per unit, in dollars: none of AWS's is near $10,000, so a larger one is a typo
/// (a missing decimal point, an exponent).
const PRICE: Bounds = Bounds::above(0.0, Some(10_000.0), "dollars");

/// Where a key of `[prices]` goes.
type PriceField = fn(&mut Prices) -> &mut f64;

/// The keys of `[prices]` in schema order, each with its field of [`Prices`].
pub(crate) const PRICES: &[(&str, PriceField)] = &[
    ("lambda_requests_per_million", |p| {
        &mut p.lambda_requests_per_million
    }),
    ("lambda_gb_second_x86", |p| &mut p.lambda_gb_second_x86),
    ("lambda_gb_second_arm", |p| &mut p.lambda_gb_second_arm),
    ("provisioned_gb_second_x86", |p| {
        &mut p.provisioned_gb_second_x86
    }),
    ("provisioned_gb_second_arm", |p| {
        &mut p.provisioned_gb_second_arm
    }),
    ("provisioned_duration_gb_second_x86", |p| {
        &mut p.provisioned_duration_gb_second_x86
    }),
    ("provisioned_duration_gb_second_arm", |p| {
        &mut p.provisioned_duration_gb_second_arm
    }),
    ("dynamodb_read_per_million", |p| {
        &mut p.dynamodb_read_per_million
    }),
    ("dynamodb_write_per_million", |p| {
        &mut p.dynamodb_write_per_million
    }),
    ("dynamodb_rcu_hour", |p| &mut p.dynamodb_rcu_hour),
    ("dynamodb_wcu_hour", |p| &mut p.dynamodb_wcu_hour),
    ("cloudwatch_alarm_month", |p| &mut p.cloudwatch_alarm_month),
    ("cloudwatch_metric_month", |p| {
        &mut p.cloudwatch_metric_month
    }),
    ("get_metric_data_per_thousand", |p| {
        &mut p.get_metric_data_per_thousand
    }),
];

/// Everything the framework and the controllers read, to be assembled into a [`Desired`].
pub(crate) struct Parts {
    pub head: RawHead,
    pub ownership: Ownership,
    pub controllers: registry::Settings,
    pub functions: Vec<FunctionRule>,
    pub tables: Vec<TableEntry>,
    pub tail: RawTail,
}

pub(crate) fn desired(d: &mut Diags<'_>, parts: Parts) -> Desired {
    let Parts {
        head,
        ownership,
        controllers,
        functions,
        tables,
        tail,
    } = parts;
    let interval =
        check::duration(d, &head.interval, "interval", SECOND, DAY).unwrap_or(defaults::INTERVAL);
    let jitter = check::number(
        d,
        &head.jitter,
        "jitter",
        Bounds {
            lo: 0.0,
            lo_inclusive: true,
            hi: Some((1.0, false)),
            unit: "",
        },
    )
    .unwrap_or(defaults::JITTER);

    let mut cloud = cloud(d, &head.cloud);
    let region = cloud.region.clone();
    let sim = simulated::settings(d, &tail.simulated);
    // `[simulated]` is validated whatever the backend, but only a simulated account uses it.
    if cloud.backend == Backend::Simulated {
        cloud.simulated = sim;
    }
    control_plane_once(d, &head.cloud, &tail.control_plane_budget);
    let control_plane_budget = check::number(
        d,
        &tail.control_plane_budget,
        "capacity.control_plane_budget",
        Bounds::above(0.0, Some(1.0), "(a share of 15 requests per second)"),
    )
    .unwrap_or(defaults::CONTROL_PLANE_BUDGET);

    Desired {
        interval,
        jitter,
        cloud,
        ownership,
        functions,
        tables,
        observe: observe(d, &tail.observe),
        executor: executor(d, &tail.executor),
        control_plane_budget,
        prices: prices(d, &tail.prices, &region),
        controllers,
        lease: lease(d, &tail.lease),
    }
}

fn lease(d: &mut Diags<'_>, raw: &super::raw::RawLease) -> Option<crate::model::LeaseSettings> {
    let table = check::text(d, &raw.table, check::is_table_name, |s| {
        format!(
            "`lease.table` \"{s}\" is not a DynamoDB table name (3 to 255 letters, digits, `_`, `-` or `.`)"
        )
    });
    let name = check::text(
        d,
        &raw.name,
        |s| !s.is_empty() && s.len() <= 255,
        |s| format!("`lease.name` must be 1 to 255 characters, found \"{s}\""),
    );
    // Renewed every third of it: long enough for a slow AWS call, short enough for a quick
    // takeover.
    let ttl = check::duration(
        d,
        &raw.ttl,
        "lease.ttl",
        Duration::from_secs(6),
        Duration::from_secs(600),
    );
    raw.enabled
        .as_ref()
        .is_some_and(|e| *e.get_ref())
        .then(|| crate::model::LeaseSettings {
            table: table.unwrap_or_else(|| defaults::LEASE_TABLE.to_string()),
            name: name.unwrap_or_else(|| defaults::LEASE_NAME.to_string()),
            ttl: ttl.unwrap_or(defaults::LEASE_TTL),
        })
}

/// The defaults (us-east-1 list prices), then `[prices]`, then `[prices.regions.<region>]` of
/// the account's region. Every regional table is checked, whichever region applies.
fn prices(d: &mut Diags<'_>, raw: &RawPrices, region: &str) -> Prices {
    let mut prices = Prices::default();
    let mut apply =
        |d: &mut Diags<'_>, values: &[Option<toml::Spanned<f64>>], at: &str, on: bool| {
            for ((key, field), v) in PRICES.iter().zip(values) {
                if let Some(x) = check::number(d, v, &format!("{at}.{key}"), PRICE)
                    && on
                {
                    *field(&mut prices) = x;
                }
            }
        };
    apply(d, &raw.base, "prices", true);
    let mut regional = None;
    for (name, values) in &raw.regions {
        if !check::is_region(name.get_ref()) {
            let msg = format!(
                "`prices.regions.{0}`: \"{0}\" is not an AWS region name such as \"ap-south-1\"",
                name.get_ref()
            );
            d.error(&name.span(), msg);
            continue;
        }
        let on = name.get_ref() == region;
        apply(d, values, &format!("prices.regions.{}", name.get_ref()), on);
        if on {
            regional = Some(name.get_ref().clone());
        }
    }
    prices.regional = regional;
    prices
}

fn cloud(d: &mut Diags<'_>, raw: &RawCloud) -> CloudSettings {
    let backend = raw
        .backend
        .as_ref()
        .map_or(defaults::BACKEND, |b| *b.get_ref());
    let region = check::text(d, &raw.region, check::is_region, |s| {
        format!("`cloud.region` \"{s}\" is not an AWS region name such as \"us-east-1\"")
    });
    let region = match (region, backend) {
        (Some(region), _) => region,
        // Only report a missing region, not one that was wrong (already reported).
        (None, Backend::Aws)
            if raw.region.is_none() && !(raw.backend_written && raw.backend.is_none()) =>
        {
            let msg = match raw.span {
                Some(_) => "missing key `region` in [cloud]: it is required when backend = \"aws\"",
                None => {
                    "missing section [cloud] with `region`: it is required when backend = \"aws\" (the default)"
                }
            };
            d.error_at(raw.span.as_ref().map_or(0, |s| s.start), msg);
            String::new()
        }
        (None, _) => defaults::SIMULATED_REGION.to_string(),
    };
    let endpoint_url = check::text(d, &raw.endpoint_url, check::is_endpoint_url, |s| {
        format!("`cloud.endpoint_url` \"{s}\" must be an http:// or https:// URL")
    });

    let known = buckets();
    let mut rate_limits = BTreeMap::new();
    for (bucket, rps) in raw.rate_limits.iter().flat_map(|m| m.get_ref()) {
        let name = bucket.get_ref();
        if !known.contains(&name.as_str()) {
            let msg = format!(
                "unknown rate-limit bucket `{name}` in [cloud.rate_limits]{}",
                hint(name, &known)
            );
            d.error(&bucket.span(), msg);
            continue;
        }
        // More than AWS allows only earns throttling; a raised quota can still be written up to
        // ten times the published figure.
        let bounds = Bounds::above(0.0, Some(aws_quota(name) * 10.0), "requests per second");
        let path = format!("cloud.rate_limits.\"{name}\"");
        if let Some(rps) = check::number(d, &Some(rps.clone()), &path, bounds) {
            rate_limits.insert(name.clone(), rps);
        }
    }

    CloudSettings {
        backend,
        region,
        endpoint_url,
        rate_limits,
        simulated: Default::default(),
    }
}

/// `capacity.control_plane_budget` sets the default rate of the `lambda:control-plane` bucket;
/// writing the bucket's rate as well leaves one of them without effect.
fn control_plane_once(d: &mut Diags<'_>, cloud: &RawCloud, budget: &Option<toml::Spanned<f64>>) {
    let bucket = "lambda:control-plane";
    let rate = cloud
        .rate_limits
        .iter()
        .flat_map(|m| m.get_ref())
        .find(|(name, _)| name.get_ref() == bucket);
    if let (Some(budget), Some((name, _))) = (budget, rate) {
        let later = budget.span().start.max(name.span().start);
        d.error_at(
            later,
            format!(
                "`capacity.control_plane_budget` and `cloud.rate_limits.\"{bucket}\"` both set trimtab's Lambda control-plane rate; keep one"
            ),
        );
    }
}

pub(crate) fn ownership(d: &mut Diags<'_>, raw: &RawOwnership) -> Ownership {
    let tag_key = check::text(d, &raw.tag_key, check::is_tag_key, |s| {
        format!(
            "`ownership.tag_key` \"{s}\" must be 1 to 128 characters and not start with \"aws:\""
        )
    });
    let tag_value = check::text(
        d,
        &raw.tag_value,
        |s| s.chars().count() <= 256,
        |_| "`ownership.tag_value` must be at most 256 characters".to_string(),
    );
    let name_prefix = check::text(d, &raw.name_prefix, check::is_name_prefix, |s| {
        format!(
            "`ownership.name_prefix` \"{s}\" is not a valid name prefix: use 1 to 32 letters, digits, `-`, `_` or `.`"
        )
    });
    let mut adopt = Vec::new();
    for name in raw.adopt.iter().flat_map(|a| a.get_ref()) {
        if name.get_ref().trim().is_empty() {
            d.error(
                &name.span(),
                "`ownership.adopt` entries must be resource names, found \"\"",
            );
        } else {
            adopt.push(name.get_ref().clone());
        }
    }
    Ownership {
        tag_key: tag_key.unwrap_or_else(|| defaults::TAG_KEY.to_string()),
        tag_value: tag_value.unwrap_or_else(|| defaults::TAG_VALUE.to_string()),
        name_prefix: name_prefix.unwrap_or_else(|| defaults::NAME_PREFIX.to_string()),
        prune: raw.prune.as_ref().map_or(defaults::PRUNE, |p| *p.get_ref()),
        adopt,
        max_deletions: check::int(
            d,
            &raw.max_deletions,
            "ownership.max_deletions",
            Bounds::at_least(0.0, "resources"),
        )
        .unwrap_or(defaults::MAX_DELETIONS),
        allow_mass_deletion: raw
            .allow_mass_deletion
            .as_ref()
            .is_some_and(|a| *a.get_ref()),
    }
}

fn observe(d: &mut Diags<'_>, raw: &RawObserve) -> ObserveSettings {
    ObserveSettings {
        metrics: raw
            .metrics
            .as_ref()
            .map_or(defaults::OBSERVE_METRICS, |m| *m.get_ref()),
        // Lambda metrics have one-minute resolution; a shorter window reads nothing.
        metrics_window: check::duration(
            d,
            &raw.metrics_window,
            "observe.metrics_window",
            MINUTE,
            DAY,
        )
        .unwrap_or(defaults::METRICS_WINDOW),
        metrics_delay: check::duration(
            d,
            &raw.metrics_delay,
            "observe.metrics_delay",
            Duration::ZERO,
            HOUR,
        )
        .unwrap_or(defaults::METRICS_DELAY),
        tag_cache_ttl: check::duration(
            d,
            &raw.tag_cache_ttl,
            "observe.tag_cache_ttl",
            Duration::ZERO,
            DAY,
        )
        .unwrap_or(defaults::TAG_CACHE_TTL),
    }
}

fn executor(d: &mut Diags<'_>, raw: &RawExecutor) -> ExecutorSettings {
    let concurrency = check::int(
        d,
        &raw.concurrency,
        "executor.concurrency",
        Bounds::between(1.0, 64.0, ""),
    );
    let max_attempts = check::int(
        d,
        &raw.max_attempts,
        "executor.max_attempts",
        Bounds::between(1.0, 20.0, ""),
    );
    let base = check::duration(
        d,
        &raw.base_backoff,
        "executor.base_backoff",
        Duration::from_millis(1),
        MINUTE,
    );
    let max = check::duration(
        d,
        &raw.max_backoff,
        "executor.max_backoff",
        Duration::from_millis(1),
        15 * MINUTE,
    );
    let (base_backoff, max_backoff) = (
        base.unwrap_or(defaults::BASE_BACKOFF),
        max.unwrap_or(defaults::MAX_BACKOFF),
    );
    if max_backoff < base_backoff
        && let Some(at) = raw.max_backoff.as_ref().or(raw.base_backoff.as_ref())
    {
        let (b, m) = (
            super::duration::format(base_backoff),
            super::duration::format(max_backoff),
        );
        d.error(
            &at.span(),
            format!(
                "`executor.max_backoff` ({m}) must not be less than `executor.base_backoff` ({b})"
            ),
        );
    }
    ExecutorSettings {
        concurrency: concurrency.unwrap_or(defaults::CONCURRENCY),
        max_attempts: max_attempts.unwrap_or(defaults::MAX_ATTEMPTS),
        base_backoff,
        max_backoff,
    }
}
