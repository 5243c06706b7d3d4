//! Alarm rules: built-in defaults, overlaid by the shared keys of `[alarms]`, overlaid by each
//! alarm's own table; per-function and per-table overrides on top of that. Each layer is
//! range-checked on its own, and the combinations CloudWatch would reject (more datapoints to
//! alarm than periods evaluated, a window longer than a day) are reported at the most specific
//! key that produced them.

use std::collections::BTreeSet;

use crate::config::read::{Bounds, Diags, Pairs, S, check, duration, suggest};
use crate::model::{Dimension, MissingData};

use super::settings::{
    self as defaults, AlarmDefaults, AlarmRule, ApplicationAlarms, CacheHitAlarm,
    CustomMetricAlarm, RawAlarms, RawCacheMetrics, RawCostMetric, RawRule, RuleDefault,
    RuleOverride,
};

/// One kind of alarm: its built-in settings and what its threshold may be.
pub(crate) struct Kind {
    pub default: RuleDefault,
    pub threshold: Bounds,
}

pub(crate) const DURATION: Kind = Kind {
    default: defaults::DURATION,
    // Lambda's maximum timeout: no invocation can take longer.
    threshold: Bounds::above(0.0, Some(900_000.0), "ms"),
};
pub(crate) const ERROR_RATE: Kind = Kind {
    default: defaults::ERROR_RATE,
    threshold: Bounds::between(0.0, 100.0, "percent"),
};
pub(crate) const THROTTLES: Kind = Kind {
    default: defaults::THROTTLES,
    threshold: Bounds::between(0.0, SANE, "per period"),
};
pub(crate) const DYNAMODB_THROTTLES: Kind = Kind {
    default: defaults::DYNAMODB_THROTTLES,
    threshold: Bounds::between(0.0, SANE, "per period"),
};
const CACHE_HIT_RATE: Kind = Kind {
    default: defaults::CACHE_HIT_RATE,
    threshold: Bounds::between(0.0, 100.0, "percent"),
};
const MODEL_MIX: Kind = Kind {
    default: defaults::MODEL_MIX,
    threshold: Bounds::between(0.0, 100.0, "percent"),
};
const COST_PER_STUDENT: Kind = Kind {
    default: defaults::COST_PER_STUDENT,
    threshold: Bounds::between(0.0, SANE, ""),
};

/// Far above any sensible threshold (CloudWatch takes any double): larger is a typo.
const SANE: f64 = 1e9;

/// CloudWatch evaluates at most one day of data: `period × evaluation_periods ≤ 86,400 s`.
const MAX_WINDOW_S: u64 = 86_400;
/// One day of the shortest (10 s) periods.
const PERIODS: Bounds = Bounds::between(1.0, 8640.0, "");
const STATISTICS: &[&str] = &["SampleCount", "Average", "Sum", "Minimum", "Maximum"];

/// The checked values one layer sets, each with the offset of its key.
#[derive(Default)]
struct Layer {
    enabled: Option<bool>,
    threshold: Option<f64>,
    period_s: Option<(u32, usize)>,
    evaluation_periods: Option<(u32, usize)>,
    datapoints_to_alarm: Option<(u32, usize)>,
    treat_missing_data: Option<MissingData>,
}

/// An effective rule and, for the fields the combined checks look at, where each was last set.
struct Resolved {
    rule: AlarmRule,
    period_at: Option<usize>,
    eval_at: Option<usize>,
    dta_at: Option<usize>,
}

fn at<T>(v: &Option<S<T>>) -> usize {
    v.as_ref().map_or(0, |v| v.span().start)
}

/// CloudWatch accepts 10 s and 30 s (high resolution) or whole minutes.
fn period(d: &mut Diags<'_>, raw: &RawRule) -> Option<(u32, usize)> {
    let v = raw.period.as_ref()?;
    let p = *v.get_ref();
    let secs = p.as_secs();
    let valid = p.subsec_nanos() == 0 && (secs == 10 || secs == 30 || (secs > 0 && secs % 60 == 0));
    match u32::try_from(secs) {
        Ok(s) if valid && u64::from(s) <= MAX_WINDOW_S => Some((s, v.span().start)),
        _ => {
            let found = duration::format(p);
            let path = format!("{}.period", raw.path);
            let msg = if valid {
                format!("`{path}` must be at most 24h, found {found}")
            } else {
                format!("`{path}` must be 10s, 30s or a multiple of 60s, found {found}")
            };
            d.error(&v.span(), msg);
            None
        }
    }
}

fn layer(d: &mut Diags<'_>, raw: &RawRule, threshold: Option<Bounds>) -> Layer {
    let key = |k: &str| format!("{}.{k}", raw.path);
    Layer {
        enabled: raw.enabled.as_ref().map(|v| *v.get_ref()),
        threshold: threshold
            .and_then(|b| check::number(d, &raw.threshold, &key(raw.threshold_key), b)),
        period_s: period(d, raw),
        evaluation_periods: check::int(
            d,
            &raw.evaluation_periods,
            &key("evaluation_periods"),
            PERIODS,
        )
        .map(|n| (n, at(&raw.evaluation_periods))),
        datapoints_to_alarm: check::int(
            d,
            &raw.datapoints_to_alarm,
            &key("datapoints_to_alarm"),
            PERIODS,
        )
        .map(|n| (n, at(&raw.datapoints_to_alarm))),
        treat_missing_data: raw.treat_missing_data.as_ref().map(|v| *v.get_ref()),
    }
}

impl Resolved {
    fn new(def: &RuleDefault) -> Self {
        Self {
            rule: AlarmRule {
                enabled: true,
                threshold: def.threshold,
                period_s: def.period_s,
                evaluation_periods: def.evaluation_periods,
                datapoints_to_alarm: def.datapoints_to_alarm,
                treat_missing_data: def.treat_missing_data,
            },
            period_at: None,
            eval_at: None,
            dta_at: None,
        }
    }

    fn apply(mut self, l: &Layer) -> Self {
        let r = &mut self.rule;
        r.enabled = l.enabled.unwrap_or(r.enabled);
        r.threshold = l.threshold.unwrap_or(r.threshold);
        r.treat_missing_data = l.treat_missing_data.unwrap_or(r.treat_missing_data);
        if let Some((v, at)) = l.period_s {
            (r.period_s, self.period_at) = (v, Some(at));
        }
        if let Some((v, at)) = l.evaluation_periods {
            (r.evaluation_periods, self.eval_at) = (v, Some(at));
        }
        if let Some((v, at)) = l.datapoints_to_alarm {
            (r.datapoints_to_alarm, self.dta_at) = (v, Some(at));
        }
        self
    }

    /// Reports combinations CloudWatch rejects, once per key they point at (`reported`), so a
    /// bad shared `[alarms]` key is not repeated for every alarm.
    fn check(&self, d: &mut Diags<'_>, alarm: &str, reported: &mut BTreeSet<usize>) {
        let r = &self.rule;
        if r.datapoints_to_alarm > r.evaluation_periods
            && let Some(at) = self.dta_at.or(self.eval_at)
            && reported.insert(at)
        {
            let (dta, eval) = (r.datapoints_to_alarm, r.evaluation_periods);
            d.error_at(
                at,
                format!("`{alarm}`: `datapoints_to_alarm` ({dta}) cannot exceed `evaluation_periods` ({eval})"),
            );
        }
        let window = u64::from(r.period_s) * u64::from(r.evaluation_periods);
        if window > MAX_WINDOW_S
            && let Some(at) = self.eval_at.or(self.period_at)
            && reported.insert(at)
        {
            let p = duration::format(std::time::Duration::from_secs(u64::from(r.period_s)));
            let w = duration::format(std::time::Duration::from_secs(window));
            let e = r.evaluation_periods;
            d.error_at(
                at,
                format!("`{alarm}`: `period` × `evaluation_periods` = {p} × {e} = {w} exceeds CloudWatch's limit of 24h"),
            );
        }
    }
}

/// The global rule of one kind: defaults, then `[alarms]`, then the alarm's own table.
fn resolve(
    d: &mut Diags<'_>,
    shared: &Layer,
    own: &RawRule,
    kind: &Kind,
    reported: &mut BTreeSet<usize>,
) -> AlarmRule {
    let own_layer = layer(d, own, Some(kind.threshold));
    let resolved = Resolved::new(&kind.default).apply(shared).apply(&own_layer);
    resolved.check(d, &own.path, reported);
    resolved.rule
}

/// A per-resource override of `global`. Combined checks run only when the override itself sets
/// one of the fields involved; otherwise the global rule's check has already spoken.
pub(crate) fn override_rule(
    d: &mut Diags<'_>,
    raw: &RawRule,
    kind: &Kind,
    global: &AlarmRule,
) -> RuleOverride {
    let l = layer(d, raw, Some(kind.threshold));
    let mut base = Resolved::new(&kind.default);
    base.rule = global.clone();
    let resolved = base.apply(&l);
    resolved.check(d, &raw.path, &mut BTreeSet::new());
    RuleOverride {
        enabled: l.enabled,
        threshold: l.threshold,
        period_s: l.period_s.map(|(v, _)| v),
        evaluation_periods: l.evaluation_periods.map(|(v, _)| v),
        datapoints_to_alarm: l.datapoints_to_alarm.map(|(v, _)| v),
        treat_missing_data: l.treat_missing_data,
    }
}

fn is_percentile(s: &str) -> bool {
    s.strip_prefix('p')
        .and_then(|n| n.parse::<f64>().ok())
        .is_some_and(|n| n > 0.0 && n < 100.0)
}

fn metric_name(d: &mut Diags<'_>, v: &Option<S<String>>, path: &str, default: &str) -> String {
    check::text(
        d,
        v,
        |s| (1..=255).contains(&s.len()),
        |_| format!("`{path}` must be 1 to 255 characters"),
    )
    .unwrap_or_else(|| default.to_string())
}

fn dimensions(d: &mut Diags<'_>, v: &Option<S<Pairs<String>>>, path: &str) -> Vec<Dimension> {
    let Some(pairs) = v else { return Vec::new() };
    if pairs.get_ref().len() > 30 {
        d.error(
            &pairs.span(),
            format!("`{path}` may have at most 30 dimensions"),
        );
    }
    let mut out = Vec::new();
    for (name, value) in pairs.get_ref() {
        if value.get_ref().is_empty() || value.get_ref().len() > 1024 {
            let msg = format!("`{path}.{}` must be 1 to 1024 characters", name.get_ref());
            d.error(&value.span(), msg);
        } else {
            out.push(Dimension::new(
                name.get_ref().clone(),
                value.get_ref().clone(),
            ));
        }
    }
    out
}

fn cache_alarm(d: &mut Diags<'_>, rule: AlarmRule, m: &RawCacheMetrics) -> CacheHitAlarm {
    let p = "alarms.cache_hit_rate";
    CacheHitAlarm {
        rule,
        namespace: metric_name(
            d,
            &m.namespace,
            &format!("{p}.namespace"),
            defaults::APP_NAMESPACE,
        ),
        hit_metric: metric_name(
            d,
            &m.hit_metric,
            &format!("{p}.hit_metric"),
            defaults::CACHE_HIT_METRIC,
        ),
        miss_metric: metric_name(
            d,
            &m.miss_metric,
            &format!("{p}.miss_metric"),
            defaults::CACHE_MISS_METRIC,
        ),
        dimensions: dimensions(d, &m.dimensions, &format!("{p}.dimensions")),
    }
}

fn cost_alarm(d: &mut Diags<'_>, rule: AlarmRule, m: &RawCostMetric) -> CustomMetricAlarm {
    let p = "alarms.cost_per_student";
    let statistic = check::text(
        d,
        &m.statistic,
        |s| STATISTICS.contains(&s) || is_percentile(s),
        |s| {
            let close = suggest(s, STATISTICS)
                .map(|c| format!("; did you mean `{c}`?"))
                .unwrap_or_default();
            format!(
                "`{p}.statistic` must be one of {} or a percentile such as \"p95\", found \"{s}\"{close}",
                STATISTICS.join(", ")
            )
        },
    );
    CustomMetricAlarm {
        rule,
        namespace: metric_name(
            d,
            &m.namespace,
            &format!("{p}.namespace"),
            defaults::APP_NAMESPACE,
        ),
        metric: metric_name(d, &m.metric, &format!("{p}.metric"), defaults::COST_METRIC),
        statistic: statistic.unwrap_or_else(|| defaults::COST_STATISTIC.to_string()),
        dimensions: dimensions(d, &m.dimensions, &format!("{p}.dimensions")),
    }
}

/// The account-wide alarm rules and the application's own alarms.
pub(crate) fn global(d: &mut Diags<'_>, raw: &RawAlarms) -> (AlarmDefaults, ApplicationAlarms) {
    let shared = layer(d, &raw.shared, None);
    let mut reported = BTreeSet::new();
    let mut rule = |d: &mut Diags<'_>, own: &RawRule, kind: &Kind| {
        resolve(d, &shared, own, kind, &mut reported)
    };

    let duration = rule(d, &raw.duration, &DURATION);
    let error_rate = rule(d, &raw.error_rate, &ERROR_RATE);
    let throttles = rule(d, &raw.throttles, &THROTTLES);
    let dynamodb_throttles = rule(d, &raw.dynamodb_throttles, &DYNAMODB_THROTTLES);
    let cache_rule = rule(d, &raw.cache_hit_rate, &CACHE_HIT_RATE);
    let cost_rule = rule(d, &raw.cost_per_student, &COST_PER_STUDENT);
    let mix_rule = rule(d, &raw.model_mix, &MODEL_MIX);

    let duration_statistic = check::text(d, &raw.duration_statistic, is_percentile, |s| {
        format!("`alarms.duration.statistic` must be a percentile such as \"p95\" or \"p99.9\", found \"{s}\"")
    })
    .unwrap_or_else(|| defaults::DURATION_STATISTIC.to_string());

    // The application alarms are validated even when disabled, so turning one back on later
    // does not surprise anyone with old mistakes.
    let cache = cache_alarm(d, cache_rule, &raw.cache);
    let cost = cost_alarm(d, cost_rule, &raw.cost);
    let application = ApplicationAlarms {
        cache_hit_rate: cache.rule.enabled.then_some(cache),
        cost_per_student: cost.rule.enabled.then_some(cost),
        model_mix: mix_rule.enabled.then_some(mix_rule),
    };
    let alarms = AlarmDefaults {
        duration,
        duration_statistic,
        error_rate,
        throttles,
        dynamodb_throttles,
    };
    (alarms, application)
}
