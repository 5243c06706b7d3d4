//! The cold-start controller's settings: `[cold_start]` and a rule's `[functions.cold_start]`
//! overrides. Each value is range-checked on its own; minimums and maximums are compared once
//! overrides are applied, and a broken pair is reported at the most specific key that set one of
//! its values, naming the key the other value came from.

use std::time::Duration;

use serde::Serialize;

use crate::config::pairs::{Side, cooldown, ordered};
use crate::config::read::{Bounds, Diags, Opt, S, Section, check};
use crate::controllers::{EntryCx, SettingsCx};
use crate::model::Tier;

/// `LambdaProvisionedConcurrencyUtilization` is a fraction. Below 0.1 provisioned instances sit
/// mostly idle; above 0.9 every burst spills over to cold starts before scaling catches up.
const LAMBDA_TARGET: Bounds = Bounds::between(0.1, 0.9, "");
const INSTANCES: Bounds = Bounds::at_least(1.0, "");
const WARMUP_CONCURRENCY: Bounds = Bounds::between(1.0, 100.0, "");

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

/// Per-function overrides of the cold-start settings; `None` keeps the default.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ColdStartOverride {
    pub provisioned_min: Option<u32>,
    pub provisioned_max: Option<u32>,
    pub target_utilization: Option<f64>,
    pub warmup_concurrency: Option<u32>,
    pub warmup_schedule: Option<String>,
}

// ---- Defaults -----------------------------------------------------------------------------

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
pub const WARMUP_CONCURRENCY_DEFAULT: u32 = 1;
/// A warm-up invocation returns at once; 50 ms is a generous billed duration for the estimate.
pub const WARMUP_ASSUMED_DURATION_MS: u32 = 50;

/// Cold-start settings with every default.
pub fn defaults() -> ColdStartSettings {
    ColdStartSettings {
        alias: ALIAS.into(),
        manage_alias: MANAGE_ALIAS,
        provisioned: ProvisionedSettings {
            target_utilization: PROVISIONED_TARGET_UTILIZATION,
            min: PROVISIONED_MIN,
            max: PROVISIONED_MAX,
            scale_in_cooldown_s: None,
            scale_out_cooldown_s: None,
        },
        warmup: WarmupSettings {
            schedule: WARMUP_SCHEDULE.into(),
            concurrency: WARMUP_CONCURRENCY_DEFAULT,
            assumed_duration_ms: WARMUP_ASSUMED_DURATION_MS,
        },
    }
}

// ---- The schema as written ----------------------------------------------------------------

pub(super) struct RawColdStart {
    pub alias: Opt<String>,
    pub manage_alias: Opt<bool>,
    pub provisioned: RawProvisioned,
    pub warmup: RawWarmup,
}

pub(super) struct RawProvisioned {
    pub target_utilization: Opt<f64>,
    pub min: Opt<i64>,
    pub max: Opt<i64>,
    pub scale_in_cooldown: Opt<Duration>,
    pub scale_out_cooldown: Opt<Duration>,
}

pub(super) struct RawWarmup {
    pub schedule: Opt<String>,
    pub concurrency: Opt<i64>,
    pub assumed_duration_ms: Opt<i64>,
}

/// `[functions.cold_start]`: per-rule overrides of `[cold_start]`.
pub(super) struct RawColdStartOverride {
    pub provisioned_min: Opt<i64>,
    pub provisioned_max: Opt<i64>,
    pub target_utilization: Opt<f64>,
    pub warmup_concurrency: Opt<i64>,
    pub warmup_schedule: Opt<String>,
}

fn read_cold_start(s: &mut Section<'_>, d: &mut Diags<'_>) -> RawColdStart {
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
    RawColdStart {
        alias,
        manage_alias,
        provisioned,
        warmup,
    }
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

fn cold_start(d: &mut Diags<'_>, raw: &RawColdStart) -> ColdStartSettings {
    let alias = check::text(d, &raw.alias, check::is_alias_name, alias_message)
        .unwrap_or_else(|| ALIAS.to_string());

    let p = &raw.provisioned;
    let (min_key, max_key) = ("cold_start.provisioned.min", "cold_start.provisioned.max");
    let min = check::int(d, &p.min, min_key, INSTANCES);
    let max = check::int(d, &p.max, max_key, INSTANCES);
    let low = Side::new(min_key, min, &p.min, min_key, PROVISIONED_MIN);
    let high = Side::new(max_key, max, &p.max, max_key, PROVISIONED_MAX);
    ordered(d, &low, &high, "");
    let provisioned = ProvisionedSettings {
        target_utilization: check::number(
            d,
            &p.target_utilization,
            "cold_start.provisioned.target_utilization",
            LAMBDA_TARGET,
        )
        .unwrap_or(PROVISIONED_TARGET_UTILIZATION),
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
            .unwrap_or_else(|| WARMUP_SCHEDULE.to_string()),
        concurrency: check::int(
            d,
            &w.concurrency,
            "cold_start.warmup.concurrency",
            WARMUP_CONCURRENCY,
        )
        .unwrap_or(WARMUP_CONCURRENCY_DEFAULT),
        assumed_duration_ms: check::int(
            d,
            &w.assumed_duration_ms,
            "cold_start.warmup.assumed_duration_ms",
            Bounds::between(1.0, 900_000.0, "ms"),
        )
        .unwrap_or(WARMUP_ASSUMED_DURATION_MS),
    };

    ColdStartSettings {
        alias,
        manage_alias: raw
            .manage_alias
            .as_ref()
            .map_or(MANAGE_ALIAS, |m| *m.get_ref()),
        provisioned,
        warmup,
    }
}

/// Whether a `[functions.cold_start]` key suits the rule's tier; a key for another tier is
/// reported, because it would silently do nothing.
fn suits_tier<T>(
    d: &mut Diags<'_>,
    tier_written: bool,
    tier: Option<Tier>,
    key: &str,
    v: &Option<S<T>>,
    needs: Tier,
) -> bool {
    match (v, tier) {
        (Some(v), Some(tier)) if tier != needs => {
            let default = if tier_written { "" } else { " (the default)" };
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

/// Reads and checks `[cold_start]`.
pub(super) fn read(cx: &mut SettingsCx<'_, '_, '_>) -> ColdStartSettings {
    let d = &mut *cx.d;
    let s = cx.sections.get(d, "cold_start");
    let raw = read_cold_start(s, d);
    cold_start(d, &raw)
}

/// `[functions.cold_start]` of one rule, checked against `[cold_start]` and the rule's tier
/// (`None` when written but invalid, already reported: the checks that depend on it are
/// skipped), and against the rule's `reserved_concurrency` (the concurrency controller's key,
/// looked at, not read): Lambda never provisions more than a function reserves.
pub(super) fn read_rule(cx: &mut EntryCx<'_, '_, '_>, g: &ColdStartSettings) -> ColdStartOverride {
    let (d, tier, tier_written) = (&mut *cx.d, cx.tier, cx.tier_written);
    let mut cs = cx.section.section(d, "cold_start");
    let c = RawColdStartOverride {
        provisioned_min: cs.int(d, "provisioned_min"),
        provisioned_max: cs.int(d, "provisioned_max"),
        target_utilization: cs.number(d, "target_utilization"),
        warmup_concurrency: cs.int(d, "warmup_concurrency"),
        warmup_schedule: cs.string(d, "warmup_schedule"),
    };
    cs.finish(d);
    // Reported by its own reader when invalid; here only a valid value takes part.
    let reserved_raw = cx
        .section
        .peek_int("reserved_concurrency")
        .filter(|v| u32::try_from(*v.get_ref()).is_ok());
    let reserved = reserved_raw
        .as_ref()
        .and_then(|v| u32::try_from(*v.get_ref()).ok());
    let (critical, standard) = (Tier::Critical, Tier::Standard);
    let (min_key, max_key) = (
        "functions.cold_start.provisioned_min",
        "functions.cold_start.provisioned_max",
    );
    let tw = tier_written;
    let mut min = None;
    if suits_tier(d, tw, tier, "provisioned_min", &c.provisioned_min, critical) {
        min = check::int(d, &c.provisioned_min, min_key, INSTANCES);
    }
    let mut max = None;
    if suits_tier(d, tw, tier, "provisioned_max", &c.provisioned_max, critical) {
        max = check::int(d, &c.provisioned_max, max_key, INSTANCES);
    }
    let mut target_utilization = None;
    let key = "target_utilization";
    if suits_tier(d, tw, tier, key, &c.target_utilization, critical) {
        let path = format!("functions.cold_start.{key}");
        target_utilization = check::number(d, &c.target_utilization, &path, LAMBDA_TARGET);
    }
    let mut warmup_concurrency = None;
    let wc_key = "functions.cold_start.warmup_concurrency";
    if suits_tier(
        d,
        tw,
        tier,
        "warmup_concurrency",
        &c.warmup_concurrency,
        standard,
    ) {
        warmup_concurrency = check::int(d, &c.warmup_concurrency, wc_key, WARMUP_CONCURRENCY);
    }
    let mut warmup_schedule = None;
    if suits_tier(d, tw, tier, "warmup_schedule", &c.warmup_schedule, standard) {
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
    if let (Some(value), Some(r)) = (reserved, &reserved_raw) {
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
    ColdStartOverride {
        provisioned_min: min,
        provisioned_max: max,
        target_utilization,
        warmup_concurrency,
        warmup_schedule,
    }
}
