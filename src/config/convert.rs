//! From the schema as written ([`Raw`]) to the validated [`Desired`]: defaults filled in, ranges
//! and cross-field rules checked. A value that fails a check is reported and replaced by its
//! default, so one mistake does not hide the next; the result is only used when nothing failed.

use std::collections::BTreeMap;
use std::time::Duration;

use super::alarms;
use super::capacity;
use super::check::{self, Bounds};
use super::defaults;
use super::diag::{Diags, hint};
use super::raw::{Raw, RawCloud, RawExecutor, RawNotifications, RawObserve, RawOwnership};
use super::rules;
use super::simulated;
use crate::cloud::ops::{aws_quota, buckets};
use crate::model::{
    Backend, CloudSettings, Desired, ExecutorSettings, Notifications, ObserveSettings, Ownership,
};

const SECOND: Duration = Duration::from_secs(1);
const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);

pub(crate) fn desired(d: &mut Diags<'_>, raw: &Raw) -> Desired {
    let interval =
        check::duration(d, &raw.interval, "interval", SECOND, DAY).unwrap_or(defaults::INTERVAL);
    let jitter = check::number(
        d,
        &raw.jitter,
        "jitter",
        Bounds {
            lo: 0.0,
            lo_inclusive: true,
            hi: Some((1.0, false)),
            unit: "",
        },
    )
    .unwrap_or(defaults::JITTER);

    let mut cloud = cloud(d, &raw.cloud);
    let sim = simulated::settings(d, &raw.simulated);
    // `[simulated]` is validated whatever the backend, but only a simulated account uses it.
    if cloud.backend == Backend::Simulated {
        cloud.simulated = sim;
    }
    let ownership = ownership(d, &raw.ownership);
    let notifications = notifications(d, &raw.notifications, &ownership.name_prefix);
    let (alarms, application) = alarms::global(d, &raw.alarms);
    let capacity = capacity::capacity(d, &raw.capacity);
    control_plane_once(d, raw);
    let cold_start = capacity::cold_start(d, &raw.cold_start);
    let table_scaling = capacity::table_scaling(d, &raw.table_scaling);
    let functions = rules::functions(d, &raw.functions, &alarms, &cold_start);
    let tables = rules::tables(d, &raw.tables, &alarms, &table_scaling);

    Desired {
        interval,
        jitter,
        cloud,
        ownership,
        notifications,
        functions,
        tables,
        alarms,
        application,
        observe: observe(d, &raw.observe),
        executor: executor(d, &raw.executor),
        capacity,
        cold_start,
        table_scaling,
        prices: capacity::prices(d, &raw.prices),
    }
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
fn control_plane_once(d: &mut Diags<'_>, raw: &Raw) {
    let bucket = "lambda:control-plane";
    let rate = raw
        .cloud
        .rate_limits
        .iter()
        .flat_map(|m| m.get_ref())
        .find(|(name, _)| name.get_ref() == bucket);
    if let (Some(budget), Some((name, _))) = (&raw.capacity.control_plane_budget, rate) {
        let later = budget.span().start.max(name.span().start);
        d.error_at(
            later,
            format!(
                "`capacity.control_plane_budget` and `cloud.rate_limits.\"{bucket}\"` both set trimtab's Lambda control-plane rate; keep one"
            ),
        );
    }
}

fn ownership(d: &mut Diags<'_>, raw: &RawOwnership) -> Ownership {
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
    }
}

/// `topic_arn` names a topic someone else owns; `topic` (+ `emails`) a topic trimtab creates.
fn notifications(d: &mut Diags<'_>, raw: &RawNotifications, prefix: &str) -> Notifications {
    let mut emails = Vec::new();
    for email in raw.emails.iter().flat_map(|e| e.get_ref()) {
        if check::is_email(email.get_ref()) {
            emails.push(email.get_ref().clone());
        } else {
            let msg = format!(
                "`notifications.emails`: \"{}\" is not a valid email address",
                email.get_ref()
            );
            d.error(&email.span(), msg);
        }
    }
    if let (Some(emails), None) = (&raw.emails, &raw.topic) {
        let msg = if raw.topic_arn.is_some() {
            "`notifications.emails` needs `topic`: trimtab subscribes emails only to a topic it creates; subscribe them to `topic_arn` yourself"
        } else {
            "`notifications.emails` needs `topic`: the name of the topic trimtab creates for them"
        };
        d.error(&emails.span(), msg);
    }
    match (&raw.topic_arn, &raw.topic) {
        (Some(arn), Some(topic)) => {
            let later = arn.span().start.max(topic.span().start);
            d.error_at(
                later,
                "[notifications] sets both `topic_arn` (an existing topic) and `topic` (a topic trimtab creates); keep one",
            );
            Notifications::None
        }
        (Some(_), None) => {
            let arn = check::text(d, &raw.topic_arn, check::is_topic_arn, |s| {
                format!(
                    "`notifications.topic_arn` \"{s}\" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                )
            });
            arn.map_or(Notifications::None, |topic_arn| Notifications::Existing {
                topic_arn,
            })
        }
        (None, Some(_)) => {
            let name = check::text(
                d,
                &raw.topic,
                |s| check::is_topic_name(&format!("{prefix}{s}")),
                |s| {
                    format!(
                        "`notifications.topic` \"{s}\": the topic name \"{prefix}{s}\" (name_prefix + topic) may contain only letters, digits, `-` and `_`, at most 256"
                    )
                },
            );
            name.map_or(Notifications::None, |name| Notifications::Managed {
                name,
                emails,
            })
        }
        (None, None) => Notifications::None,
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
