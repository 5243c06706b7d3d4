//! Capacity and cold starts: `[capacity]`, `[cold_start]`, `[table_scaling]` and `[prices]`, and
//! what a function rule or a table overrides of them (`reserved_concurrency`,
//! `[functions.cold_start]`, `[tables.scaling]`). Each value is range-checked on its own; minimums
//! and maximums are compared once overrides are applied, and a broken pair is reported at the most
//! specific key that set one of its values, naming the key the other value came from.

use std::time::Duration;

use super::check::{self, Bounds};
use super::defaults;
use super::diag::Diags;
use super::duration;
use super::raw::{RawCapacity, RawColdStart, RawFunction, RawPrices, RawScaling, S};
use crate::model::{
    CapacitySettings, ColdStartOverride, ColdStartSettings, Prices, ProvisionedSettings,
    TableScaling, TableScalingOverride, Tier, WarmupSettings,
};

const DAY: Duration = Duration::from_secs(86_400);
/// `LambdaProvisionedConcurrencyUtilization` is a fraction. Below 0.1 provisioned instances sit
/// mostly idle; above 0.9 every burst spills over to cold starts before scaling catches up.
const LAMBDA_TARGET: Bounds = Bounds::between(0.1, 0.9, "");
const INSTANCES: Bounds = Bounds::at_least(1.0, "");
const WARMUP_CONCURRENCY: Bounds = Bounds::between(1.0, 100.0, "");
/// DynamoDB auto scaling accepts target utilizations from 20 to 90 percent.
const TABLE_TARGET: Bounds = Bounds::between(20.0, 90.0, "percent");
/// DynamoDB's default per-table quota of read (and of write) units.
const TABLE_UNITS: Bounds = Bounds::between(1.0, 40000.0, "units");
const PRICE: Bounds = Bounds::above(0.0, None, "dollars");

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
];

/// One side of a `low ≤ high` pair: its value and the key it came from. `at` is the key's offset
/// when the layer being checked writes it, `None` when the value comes from a layer below (which
/// was checked on its own) or from a default.
struct Side {
    key: String,
    value: u32,
    at: Option<usize>,
}

impl Side {
    /// The layer's value if it set a valid one, else the value below it.
    fn new(
        key_here: &str,
        here: Option<u32>,
        v: &Option<S<i64>>,
        key_below: &str,
        below: u32,
    ) -> Self {
        match here {
            Some(value) => Side {
                key: key_here.to_string(),
                value,
                at: v.as_ref().map(|v| v.span().start),
            },
            None => Side {
                key: key_below.to_string(),
                value: below,
                at: None,
            },
        }
    }
}

/// Reports `low > high` at the more specific of the two keys (`high` when both are written in
/// the layer checked), phrased with that key as the subject; `why` ends the message.
fn ordered(d: &mut Diags<'_>, low: &Side, high: &Side, why: &str) {
    if low.value <= high.value {
        return;
    }
    let (l, h) = (low.value, high.value);
    if let Some(at) = high.at {
        let msg = format!(
            "`{}` ({h}) must not be less than `{}` ({l}){why}",
            high.key, low.key
        );
        d.error_at(at, msg);
    } else if let Some(at) = low.at {
        let msg = format!(
            "`{}` ({l}) must not exceed `{}` ({h}){why}",
            low.key, high.key
        );
        d.error_at(at, msg);
    }
}

/// An Application Auto Scaling cooldown: whole seconds (the API's unit); a day is a sanity bound.
fn cooldown(d: &mut Diags<'_>, v: &Option<S<Duration>>, path: &str) -> Option<u32> {
    let x = check::duration(d, v, path, Duration::ZERO, DAY)?;
    if x.subsec_nanos() != 0 {
        let span = v.as_ref().map_or(0..0, S::span);
        let found = duration::format(x);
        d.error(
            &span,
            format!("`{path}` must be a whole number of seconds, found {found}"),
        );
        return None;
    }
    u32::try_from(x.as_secs()).ok()
}

fn schedule(d: &mut Diags<'_>, v: &Option<S<String>>, path: &str) -> Option<String> {
    check::text(
        d,
        v,
        |s| check::schedule_problem(s).is_none(),
        |s| {
            let problem = check::schedule_problem(s).unwrap_or_default();
            format!("`{path}` \"{s}\" {problem}")
        },
    )
}

fn alias_message(s: &str) -> String {
    let path = "cold_start.alias";
    if s == "$LATEST" {
        format!("`{path}` cannot be \"$LATEST\": provisioned concurrency needs an alias")
    } else if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
        format!(
            "`{path}` \"{s}\" is a version number, not an alias name: include a letter, `-` or `_`"
        )
    } else {
        format!(
            "`{path}` \"{s}\" is not a Lambda alias name: use 1 to 128 letters, digits, `-` or `_`"
        )
    }
}

pub(crate) fn capacity(d: &mut Diags<'_>, raw: &RawCapacity) -> CapacitySettings {
    CapacitySettings {
        unreserved_floor: check::int(
            d,
            &raw.unreserved_floor,
            "capacity.unreserved_floor",
            Bounds::at_least(100.0, "(AWS keeps 100 unreserved)"),
        )
        .unwrap_or(defaults::UNRESERVED_FLOOR),
        control_plane_budget: check::number(
            d,
            &raw.control_plane_budget,
            "capacity.control_plane_budget",
            Bounds::above(0.0, Some(1.0), "(a share of 15 requests per second)"),
        )
        .unwrap_or(defaults::CONTROL_PLANE_BUDGET),
    }
}

pub(crate) fn cold_start(d: &mut Diags<'_>, raw: &RawColdStart) -> ColdStartSettings {
    let alias = check::text(d, &raw.alias, check::is_alias_name, alias_message)
        .unwrap_or_else(|| defaults::ALIAS.to_string());

    let p = &raw.provisioned;
    let (min_key, max_key) = ("cold_start.provisioned.min", "cold_start.provisioned.max");
    let min = check::int(d, &p.min, min_key, INSTANCES);
    let max = check::int(d, &p.max, max_key, INSTANCES);
    let low = Side::new(min_key, min, &p.min, min_key, defaults::PROVISIONED_MIN);
    let high = Side::new(max_key, max, &p.max, max_key, defaults::PROVISIONED_MAX);
    ordered(d, &low, &high, "");
    let provisioned = ProvisionedSettings {
        target_utilization: check::number(
            d,
            &p.target_utilization,
            "cold_start.provisioned.target_utilization",
            LAMBDA_TARGET,
        )
        .unwrap_or(defaults::PROVISIONED_TARGET_UTILIZATION),
        min: low.value,
        max: high.value,
        scale_in_cooldown_s: cooldown(
            d,
            &p.scale_in_cooldown,
            "cold_start.provisioned.scale_in_cooldown",
        ),
        scale_out_cooldown_s: cooldown(
            d,
            &p.scale_out_cooldown,
            "cold_start.provisioned.scale_out_cooldown",
        ),
    };

    let w = &raw.warmup;
    let warmup = WarmupSettings {
        schedule: schedule(d, &w.schedule, "cold_start.warmup.schedule")
            .unwrap_or_else(|| defaults::WARMUP_SCHEDULE.to_string()),
        concurrency: check::int(
            d,
            &w.concurrency,
            "cold_start.warmup.concurrency",
            WARMUP_CONCURRENCY,
        )
        .unwrap_or(defaults::WARMUP_CONCURRENCY),
        assumed_duration_ms: check::int(
            d,
            &w.assumed_duration_ms,
            "cold_start.warmup.assumed_duration_ms",
            Bounds::between(1.0, 900_000.0, "ms"),
        )
        .unwrap_or(defaults::WARMUP_ASSUMED_DURATION_MS),
    };

    ColdStartSettings {
        alias,
        manage_alias: raw
            .manage_alias
            .as_ref()
            .map_or(defaults::MANAGE_ALIAS, |m| *m.get_ref()),
        provisioned,
        warmup,
    }
}

/// Whether a `[functions.cold_start]` key suits the rule's tier; a key for another tier is
/// reported, because it would silently do nothing.
fn suits_tier<T>(
    d: &mut Diags<'_>,
    f: &RawFunction,
    tier: Option<Tier>,
    key: &str,
    v: &Option<S<T>>,
    needs: Tier,
) -> bool {
    match (v, tier) {
        (Some(v), Some(tier)) if tier != needs => {
            let default = if f.tier_written { "" } else { " (the default)" };
            d.error(
                &v.span(),
                format!(
                    "`functions.cold_start.{key}` applies only to tier = \"{needs}\"; this rule's tier is \"{tier}\"{default}, so it would have no effect"
                ),
            );
            false
        }
        _ => true,
    }
}

/// `reserved_concurrency` and `[functions.cold_start]` of one rule, checked against `[cold_start]`
/// and the rule's tier. `tier` is `None` when the rule's tier is written but invalid (already
/// reported): the checks that depend on it are skipped.
pub(crate) fn function(
    d: &mut Diags<'_>,
    f: &RawFunction,
    tier: Option<Tier>,
    g: &ColdStartSettings,
) -> (Option<u32>, ColdStartOverride) {
    let c = &f.cold_start;
    let reserved = check::int(
        d,
        &f.reserved_concurrency,
        "functions.reserved_concurrency",
        Bounds::at_least(0.0, ""),
    );
    let (critical, standard) = (Tier::Critical, Tier::Standard);
    let (min_key, max_key) = (
        "functions.cold_start.provisioned_min",
        "functions.cold_start.provisioned_max",
    );
    let mut min = None;
    if suits_tier(d, f, tier, "provisioned_min", &c.provisioned_min, critical) {
        min = check::int(d, &c.provisioned_min, min_key, INSTANCES);
    }
    let mut max = None;
    if suits_tier(d, f, tier, "provisioned_max", &c.provisioned_max, critical) {
        max = check::int(d, &c.provisioned_max, max_key, INSTANCES);
    }
    let mut target_utilization = None;
    let key = "target_utilization";
    if suits_tier(d, f, tier, key, &c.target_utilization, critical) {
        let path = format!("functions.cold_start.{key}");
        target_utilization = check::number(d, &c.target_utilization, &path, LAMBDA_TARGET);
    }
    let mut warmup_concurrency = None;
    let wc_key = "functions.cold_start.warmup_concurrency";
    if suits_tier(
        d,
        f,
        tier,
        "warmup_concurrency",
        &c.warmup_concurrency,
        standard,
    ) {
        warmup_concurrency = check::int(d, &c.warmup_concurrency, wc_key, WARMUP_CONCURRENCY);
    }
    let mut warmup_schedule = None;
    if suits_tier(d, f, tier, "warmup_schedule", &c.warmup_schedule, standard) {
        let path = "functions.cold_start.warmup_schedule";
        warmup_schedule = schedule(d, &c.warmup_schedule, path);
    }

    let p = &g.provisioned;
    let low = Side::new(
        min_key,
        min,
        &c.provisioned_min,
        "cold_start.provisioned.min",
        p.min,
    );
    let high = Side::new(
        max_key,
        max,
        &c.provisioned_max,
        "cold_start.provisioned.max",
        p.max,
    );
    ordered(d, &low, &high, "");
    if let (Some(value), Some(r)) = (reserved, &f.reserved_concurrency) {
        let reserved = Side {
            key: "functions.reserved_concurrency".to_string(),
            value,
            at: Some(r.span().start),
        };
        match tier {
            Some(Tier::Critical) => ordered(
                d,
                &high,
                &reserved,
                ": Lambda never provisions more than a function's reserved concurrency",
            ),
            Some(Tier::Standard) => {
                let wc = &c.warmup_concurrency;
                let default = g.warmup.concurrency;
                let wc = Side::new(
                    wc_key,
                    warmup_concurrency,
                    wc,
                    "cold_start.warmup.concurrency",
                    default,
                );
                ordered(
                    d,
                    &wc,
                    &reserved,
                    ": the warm-up invocations would be throttled",
                );
            }
            Some(Tier::Batch) | None => {}
        }
    }
    let o = ColdStartOverride {
        provisioned_min: min,
        provisioned_max: max,
        target_utilization,
        warmup_concurrency,
        warmup_schedule,
    };
    (reserved, o)
}

/// The checked values one scaling layer sets.
struct ScalingLayer {
    enabled: Option<bool>,
    target_utilization: Option<f64>,
    read_min: Option<u32>,
    read_max: Option<u32>,
    write_min: Option<u32>,
    write_max: Option<u32>,
    disable_scale_in: Option<bool>,
}

/// Reads one layer and checks its minimums against its maximums, each pair completed from
/// `below` (keys under `below_path`) where the layer leaves a value out.
fn scaling_layer(
    d: &mut Diags<'_>,
    raw: &RawScaling,
    below: &TableScaling,
    below_path: &str,
) -> ScalingLayer {
    let key = |k: &str| format!("{}.{k}", raw.path);
    let units =
        |d: &mut Diags<'_>, v: &Option<S<i64>>, k: &str| check::int(d, v, &key(k), TABLE_UNITS);
    let layer = ScalingLayer {
        enabled: raw.enabled.as_ref().map(|v| *v.get_ref()),
        target_utilization: check::number(
            d,
            &raw.target_utilization,
            &key("target_utilization"),
            TABLE_TARGET,
        ),
        read_min: units(d, &raw.read_min, "read_min"),
        read_max: units(d, &raw.read_max, "read_max"),
        write_min: units(d, &raw.write_min, "write_min"),
        write_max: units(d, &raw.write_max, "write_max"),
        disable_scale_in: raw.disable_scale_in.as_ref().map(|v| *v.get_ref()),
    };
    let pairs = [
        (
            ("read_min", layer.read_min, &raw.read_min, below.read_min),
            ("read_max", layer.read_max, &raw.read_max, below.read_max),
        ),
        (
            (
                "write_min",
                layer.write_min,
                &raw.write_min,
                below.write_min,
            ),
            (
                "write_max",
                layer.write_max,
                &raw.write_max,
                below.write_max,
            ),
        ),
    ];
    for ((lk, lv, lraw, lbelow), (hk, hv, hraw, hbelow)) in pairs {
        let low = Side::new(&key(lk), lv, lraw, &format!("{below_path}.{lk}"), lbelow);
        let high = Side::new(&key(hk), hv, hraw, &format!("{below_path}.{hk}"), hbelow);
        ordered(d, &low, &high, "");
    }
    layer
}

pub(crate) fn table_scaling(d: &mut Diags<'_>, raw: &RawScaling) -> TableScaling {
    let base = defaults::table_scaling();
    let l = scaling_layer(d, raw, &base, &raw.path);
    let p = |k: &str| format!("{}.{k}", raw.path);
    TableScaling {
        enabled: l.enabled.unwrap_or(base.enabled),
        target_utilization: l.target_utilization.unwrap_or(base.target_utilization),
        read_min: l.read_min.unwrap_or(base.read_min),
        read_max: l.read_max.unwrap_or(base.read_max),
        write_min: l.write_min.unwrap_or(base.write_min),
        write_max: l.write_max.unwrap_or(base.write_max),
        disable_scale_in: l.disable_scale_in.unwrap_or(base.disable_scale_in),
        scale_in_cooldown_s: cooldown(d, &raw.scale_in_cooldown, &p("scale_in_cooldown")),
        scale_out_cooldown_s: cooldown(d, &raw.scale_out_cooldown, &p("scale_out_cooldown")),
    }
}

/// A table's `[tables.scaling]`, checked against the `[table_scaling]` it overrides.
pub(crate) fn table(d: &mut Diags<'_>, raw: &RawScaling, g: &TableScaling) -> TableScalingOverride {
    let l = scaling_layer(d, raw, g, "table_scaling");
    TableScalingOverride {
        enabled: l.enabled,
        target_utilization: l.target_utilization,
        read_min: l.read_min,
        read_max: l.read_max,
        write_min: l.write_min,
        write_max: l.write_max,
        disable_scale_in: l.disable_scale_in,
    }
}

pub(crate) fn prices(d: &mut Diags<'_>, raw: &RawPrices) -> Prices {
    let mut prices = Prices::default();
    for ((key, field), v) in PRICES.iter().zip(&raw.0) {
        if let Some(x) = check::number(d, v, &format!("prices.{key}"), PRICE) {
            *field(&mut prices) = x;
        }
    }
    prices
}
