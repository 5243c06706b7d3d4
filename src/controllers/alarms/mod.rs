//! The alarms controller: from the desired state and the observed account, the alarms trimtab
//! should own, and the changes that get the account there.
//!
//! Rules it keeps:
//! - an alarm is created or updated only on drift, comparing every field AWS stores;
//! - tags are compared too, but AWS ignores tags on PutMetricAlarm for an existing alarm, so tag
//!   drift is repaired with TagResource; tags that other people added are left alone;
//! - it only updates or deletes alarms it owns (name prefix *and* ownership tag, or listed in
//!   `ownership.adopt`), never `TargetTracking-*` alarms, and never the alarms of a resource
//!   whose state could not be read this cycle.

mod layers;
pub mod settings;

use std::collections::BTreeMap;

use crate::model::{
    Action, AlarmMetric, AlarmSpec, Change, Comparison, Desired, Dimension, FieldDiff, MathQuery,
    MetricId, MetricStat, Observed, ObservedAlarm, Phase, Plan, Read, Reads, Refusal, ResourceKind,
    Tags, Write,
};

use super::notifications::{AlarmTopic, TopicRef};
use super::shared::ownership::{Foreign, may_change};
use super::shared::scope::{RuleMatch, rule_for};
use super::{Controller, Cx, EntryCx, Fact, Planned, Registered, SettingsCx};

pub use settings::{
    AlarmDefaults, AlarmRule, ApplicationAlarms, CacheHitAlarm, CustomMetricAlarm,
    FunctionAlarmOverrides, RuleOverride, Settings, TableAlarmOverrides,
};

/// The alarms of the functions and tables trimtab looks after, and the application's own.
pub struct Alarms;

impl Controller for Alarms {
    const NAME: &'static str = "alarms";
    type Settings = Settings;
    type RuleSettings = FunctionAlarmOverrides;
    type TableSettings = TableAlarmOverrides;
    type Memory = Memo;

    fn settings(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
        settings::read(cx)
    }

    fn rule_settings(cx: &mut EntryCx<'_, '_, '_>, s: &Settings) -> FunctionAlarmOverrides {
        settings::read_function(cx, s)
    }

    fn table_settings(cx: &mut EntryCx<'_, '_, '_>, s: &Settings) -> TableAlarmOverrides {
        settings::read_table(cx, s)
    }

    fn reads(cx: &Cx<'_, Self>, _: &mut Memo, reads: &mut Reads) {
        reads.now(Read::Alarms {
            prefix: cx.desired.ownership.name_prefix.clone(),
        });
    }

    fn plan(cx: &Cx<'_, Self>, memo: &mut Memo, out: &mut Planned) {
        let topic = cx.fact::<AlarmTopic>().map_or_else(
            || TopicRef::Pending("the notifications controller did not run".into()),
            |t| t.0.clone(),
        );
        out.plan = plan_with(cx.desired, cx.settings, cx.observed, &topic, memo);
        out.facts.publish(DurationAlarm::of(cx.settings));
    }
}

/// Each function's duration alarm, which right-sizing takes as its default latency
/// objective: the function is meant to stay below what would page someone.
#[derive(Debug, Clone)]
pub struct DurationAlarm {
    pub statistic: String,
    pub rule: AlarmRule,
}

impl Fact for DurationAlarm {}

impl DurationAlarm {
    pub fn of(settings: &Settings) -> Self {
        Self {
            statistic: settings.defaults.duration_statistic.clone(),
            rule: settings.defaults.duration.clone(),
        }
    }

    /// The (statistic, threshold in ms) of a rule's duration alarm; `None` when disabled.
    pub fn for_rule(&self, rule: &crate::model::FunctionRule) -> Option<(&str, f64)> {
        let r = self.rule.with(&Alarms::rule_of(&rule.settings).duration);
        r.enabled.then_some((self.statistic.as_str(), r.threshold))
    }
}

/// Tag naming the resource an alarm watches (`lambda:NAME`, `dynamodb:NAME`, `app`), so pruning
/// can tell which resource an owned alarm belonged to.
pub const TARGET_TAG: &str = "trimtab:target";

/// Alarms Application Auto Scaling creates for its target-tracking policies. Never ours.
pub const AAS_ALARM_PREFIX: &str = "TargetTracking-";

/// A desired alarm plus the words that explain why it exists.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredAlarm {
    pub spec: AlarmSpec,
    pub target: String,
    pub purpose: String,
}

fn lambda_metric(name: &str, function: &str) -> MetricId {
    MetricId::new(
        "AWS/Lambda",
        name,
        vec![Dimension::new("FunctionName", function)],
    )
}

fn stat(metric: MetricId, period_s: u32, stat: &str) -> MetricStat {
    MetricStat {
        metric,
        period_s,
        stat: stat.into(),
    }
}

/// Builds an alarm from a rule; the caller names it and says what it watches.
struct AlarmBuilder<'a> {
    desired: &'a Desired,
    actions: &'a [String],
}

fn table_overrides(entry: &crate::model::TableEntry) -> &TableAlarmOverrides {
    Alarms::table_of(&entry.settings)
}

impl AlarmBuilder<'_> {
    #[allow(clippy::too_many_arguments)]
    fn build(
        &self,
        name: String,
        target: String,
        purpose: String,
        metric: AlarmMetric,
        comparison: Comparison,
        rule: &AlarmRule,
        unit: &str,
    ) -> DesiredAlarm {
        let own = &self.desired.ownership;
        let tags: Tags = [
            (own.tag_key.clone(), own.tag_value.clone()),
            (TARGET_TAG.to_string(), target.clone()),
        ]
        .into_iter()
        .collect();
        let op = match comparison {
            Comparison::GreaterThanThreshold => ">",
            Comparison::GreaterThanOrEqualToThreshold => ">=",
            Comparison::LessThanThreshold => "<",
            Comparison::LessThanOrEqualToThreshold => "<=",
        };
        let description = format!(
            "{purpose} {op} {threshold}{unit} for {dp} of {ev} periods of {period}s. Managed by trimtab: edit the desired-state file, not this alarm.",
            threshold = rule.threshold,
            dp = rule.datapoints_to_alarm,
            ev = rule.evaluation_periods,
            period = rule.period_s,
        );
        DesiredAlarm {
            spec: AlarmSpec {
                name,
                description,
                metric,
                comparison,
                threshold: rule.threshold,
                evaluation_periods: rule.evaluation_periods,
                datapoints_to_alarm: rule.datapoints_to_alarm,
                treat_missing_data: rule.treat_missing_data,
                actions_enabled: true,
                alarm_actions: self.actions.to_vec(),
                ok_actions: self.actions.to_vec(),
                insufficient_data_actions: Vec::new(),
                tags,
            },
            target,
            purpose,
        }
    }
}

/// Every alarm the desired state calls for, given which functions and tables exist.
pub fn desired_alarms(
    desired: &Desired,
    settings: &Settings,
    observed: &Observed,
    actions: &[String],
) -> Vec<DesiredAlarm> {
    let b = AlarmBuilder { desired, actions };
    let mut out: Vec<DesiredAlarm> = functions_in_scope(desired, settings, observed)
        .flat_map(|(name, key)| function_alarms(&b, &settings.defaults, name, &key))
        .collect();
    out.extend(resource_and_app_alarms(desired, settings, observed, actions));
    out
}

/// The functions whose alarms trimtab manages, by name, each with what its alarms are built
/// from.
fn functions_in_scope<'a>(
    desired: &'a Desired,
    settings: &'a Settings,
    observed: &'a Observed,
) -> impl Iterator<Item = (&'a String, FunctionKey)> + 'a {
    let defaults = &settings.defaults;
    observed.functions.iter().filter_map(move |(name, function)| {
        let RuleMatch::Rule(rule) = rule_for(&desired.functions, name, function.tags()) else {
            return None;
        };
        let overrides = Alarms::rule_of(&rule.settings);
        Some((
            name,
            FunctionKey {
                duration: defaults.duration.with(&overrides.duration),
                errors: defaults.error_rate.with(&overrides.error_rate),
                throttles: defaults.throttles.with(&overrides.throttles),
            },
        ))
    })
}

/// What a function's alarms are built from, besides its name: its rule's three alarm rules
/// with the overrides applied.
#[derive(Debug, Clone, PartialEq)]
struct FunctionKey {
    duration: AlarmRule,
    errors: AlarmRule,
    throttles: AlarmRule,
}

/// What every function's alarms are built from: the names' prefix, the ownership tag, the
/// duration statistic and where the alarms notify.
#[derive(Debug, Clone, PartialEq)]
struct SharedKey {
    prefix: String,
    tag: (String, String),
    statistic: String,
    actions: Vec<String>,
}

impl SharedKey {
    fn of(desired: &Desired, settings: &Settings, actions: &[String]) -> Self {
        let own = &desired.ownership;
        Self {
            prefix: own.name_prefix.clone(),
            tag: (own.tag_key.clone(), own.tag_value.clone()),
            statistic: settings.defaults.duration_statistic.clone(),
            actions: actions.to_vec(),
        }
    }
}

/// The alarms controller's memory: for each function, what its alarms were built from, and of
/// each alarm its name and a fingerprint of everything the plan compares. A steady cycle at
/// 1,000 functions would otherwise format and allocate 3,000 alarm specs only to find them
/// equal to what is observed; and keeping the specs themselves from one cycle to the next
/// would hold an estimated 3.6 MB (about 1.2 KB a spec). A function whose inputs are
/// unchanged and whose observed alarms all match their fingerprints has nothing to plan; any
/// other has its alarms built and compared in full, so the plan is the one building
/// everything would give.
#[derive(Debug, Default)]
pub struct Memo {
    shared: Option<SharedKey>,
    /// The functions in scope this cycle only, by name in order: brought up to date by one
    /// merge with the observed functions (in the same order), not a map search for each.
    functions: Vec<(String, FunctionKey, Vec<Remembered>)>,
}

/// One desired alarm, remembered.
#[derive(Debug)]
struct Remembered {
    name: String,
    /// `None` when its tags are not the two every function alarm carries: then it is always
    /// built and compared.
    fingerprint: Option<Fingerprint>,
}

/// A 128-bit hash (XXH3-128) of what [`spec_diff`] and [`missing_tags`] compare: equal specs
/// always agree; different ones agree only by a 128-bit collision (about 10^-35 for 3,000
/// alarms a cycle). A disagreement only means comparing in full. One pass over each alarm,
/// where two 64-bit hashes read every description twice (a tenth of a steady plan).
type Fingerprint = u128;

/// The fingerprint of an alarm, observed or desired, with its values of the tags `keys`.
fn fingerprint(spec: &AlarmSpec, keys: [&str; 2]) -> Fingerprint {
    use std::hash::Hash;
    // Every field, so that one added to the spec must be placed here or on purpose left out.
    let AlarmSpec {
        name,
        description,
        metric,
        comparison,
        threshold,
        evaluation_periods,
        datapoints_to_alarm,
        treat_missing_data,
        actions_enabled,
        alarm_actions,
        ok_actions,
        insufficient_data_actions,
        tags,
    } = spec;
    // The fields laid out as `Hash` writes them, then hashed in one call: XXH3's streaming
    // state copies each small write into its buffer, which cost more than the hashing.
    struct Bytes(Vec<u8>);
    impl std::hash::Hasher for Bytes {
        fn write(&mut self, bytes: &[u8]) {
            self.0.extend_from_slice(bytes);
        }
        // Never called by `Hash` (the bytes are read with `xxh3_128` below); were a field's
        // `Hash` to call it, a 64-bit hash of the bytes so far is still a hash of them.
        fn finish(&self) -> u64 {
            xxhash_rust::xxh3::xxh3_64(&self.0)
        }
    }
    let mut h = Bytes(Vec::with_capacity(512));
    (name, description, metric, comparison).hash(&mut h);
    // By bits: 0.0 and -0.0 differ here and are equal to `spec_diff`, which only sends the
    // alarm to the full comparison.
    threshold.to_bits().hash(&mut h);
    (evaluation_periods, datapoints_to_alarm, treat_missing_data).hash(&mut h);
    (actions_enabled, alarm_actions, ok_actions, insufficient_data_actions).hash(&mut h);
    for key in keys {
        (key, tags.get(key)).hash(&mut h);
    }
    xxhash_rust::xxh3::xxh3_128(&h.0)
}

impl Remembered {
    fn of(alarm: &DesiredAlarm, keys: [&str; 2]) -> Self {
        let tags = &alarm.spec.tags;
        let usual = tags.len() == 2 && keys.iter().all(|k| tags.contains_key(*k));
        Self {
            name: alarm.spec.name.clone(),
            fingerprint: usual.then(|| fingerprint(&alarm.spec, keys)),
        }
    }

    /// Whether the observed alarm is trimtab's and matches: nothing to plan for it.
    fn matches(&self, desired: &Desired, observed: &Observed, keys: [&str; 2]) -> bool {
        self.fingerprint.is_some_and(|want| {
            observed.alarms.get(&self.name).is_some_and(|alarm| {
                is_owned(desired, alarm) && fingerprint(&alarm.spec, keys) == want
            })
        })
    }
}

/// The tags every function alarm carries.
fn function_tag_keys(desired: &Desired) -> [&str; 2] {
    [desired.ownership.tag_key.as_str(), TARGET_TAG]
}

impl Memo {
    /// Brings the memo up to this cycle's functions and settings; returns the alarms of the
    /// functions it had to build them for (new, or built from something else), by name.
    fn refresh(
        &mut self,
        desired: &Desired,
        settings: &Settings,
        observed: &Observed,
        actions: &[String],
    ) -> BTreeMap<String, Vec<DesiredAlarm>> {
        let shared = SharedKey::of(desired, settings, actions);
        if self.shared.as_ref() != Some(&shared) {
            self.shared = Some(shared);
            self.functions.clear();
        }
        let b = AlarmBuilder { desired, actions };
        let keys = function_tag_keys(desired);
        let mut built = BTreeMap::new();
        let mut last = std::mem::take(&mut self.functions).into_iter().peekable();
        for (name, key) in functions_in_scope(desired, settings, observed) {
            // Both in name order: what is before `name` left scope.
            while last.next_if(|(n, _, _)| n < name).is_some() {}
            let (name, remembered) = match last.next_if(|(n, _, _)| n == name) {
                Some((name, k, remembered)) if k == key => (name, remembered),
                _ => {
                    let alarms = function_alarms(&b, &settings.defaults, name, &key);
                    let remembered = alarms.iter().map(|a| Remembered::of(a, keys)).collect();
                    built.insert(name.clone(), alarms);
                    (name.clone(), remembered)
                }
            };
            self.functions.push((name, key, remembered));
        }
        built
    }
}

/// One function's alarms: duration, error rate and throttles, each unless disabled.
fn function_alarms(
    b: &AlarmBuilder<'_>,
    defaults: &AlarmDefaults,
    name: &str,
    key: &FunctionKey,
) -> Vec<DesiredAlarm> {
    let prefix = &b.desired.ownership.name_prefix;
    let target = format!("lambda:{name}");
    let mut out = Vec::new();
    let duration = &key.duration;
    if duration.enabled {
        let statistic = &defaults.duration_statistic;
        out.push(b.build(
            format!("{prefix}lambda-{name}-duration-{statistic}"),
            target.clone(),
            format!("{statistic} duration of {name}"),
            AlarmMetric::Single(stat(
                lambda_metric("Duration", name),
                duration.period_s,
                statistic,
            )),
            Comparison::GreaterThanThreshold,
            duration,
            " ms",
        ));
    }
    let errors = &key.errors;
    if errors.enabled {
        out.push(b.build(
            format!("{prefix}lambda-{name}-error-rate"),
            target.clone(),
            format!("error rate of {name}"),
            AlarmMetric::Math(vec![
                MathQuery::Stat {
                    id: "errors".into(),
                    stat: stat(lambda_metric("Errors", name), errors.period_s, "Sum"),
                    return_data: false,
                },
                MathQuery::Stat {
                    id: "invocations".into(),
                    stat: stat(lambda_metric("Invocations", name), errors.period_s, "Sum"),
                    return_data: false,
                },
                MathQuery::Expression {
                    id: "error_rate".into(),
                    expression: "IF(invocations > 0, 100 * errors / invocations, 0)".into(),
                    label: Some("Error rate (%)".into()),
                    return_data: true,
                },
            ]),
            Comparison::GreaterThanThreshold,
            errors,
            " %",
        ));
    }
    let throttles = &key.throttles;
    if throttles.enabled {
        out.push(b.build(
            format!("{prefix}lambda-{name}-throttles"),
            target,
            format!("throttles of {name}"),
            AlarmMetric::Single(stat(
                lambda_metric("Throttles", name),
                throttles.period_s,
                "Sum",
            )),
            Comparison::GreaterThanThreshold,
            throttles,
            "",
        ));
    }
    out
}

/// The alarms of the tables and of the application as a whole.
fn resource_and_app_alarms(
    desired: &Desired,
    settings: &Settings,
    observed: &Observed,
    actions: &[String],
) -> Vec<DesiredAlarm> {
    let b = AlarmBuilder { desired, actions };
    let prefix = &desired.ownership.name_prefix;
    let defaults = &settings.defaults;
    let mut out = Vec::new();

    for table in &desired.tables {
        if !observed.tables.contains_key(&table.name) {
            continue;
        }
        let rule = defaults
            .dynamodb_throttles
            .with(&table_overrides(table).throttles);
        if rule.enabled {
            // AWS publishes ThrottledRequests only per TableName + Operation; per table alone
            // it publishes ReadThrottleEvents and WriteThrottleEvents. Either may be absent in
            // a period, so each is filled with 0 before they are added.
            let events = |id: &str, name: &str| MathQuery::Stat {
                id: id.into(),
                stat: stat(
                    MetricId::new(
                        "AWS/DynamoDB",
                        name,
                        vec![Dimension::new("TableName", &table.name)],
                    ),
                    rule.period_s,
                    "Sum",
                ),
                return_data: false,
            };
            out.push(b.build(
                format!("{prefix}dynamodb-{}-throttles", table.name),
                format!("dynamodb:{}", table.name),
                format!("throttled reads and writes on table {}", table.name),
                AlarmMetric::Math(vec![
                    events("reads", "ReadThrottleEvents"),
                    events("writes", "WriteThrottleEvents"),
                    MathQuery::Expression {
                        id: "throttles".into(),
                        expression: "FILL(reads, 0) + FILL(writes, 0)".into(),
                        label: Some("Throttle events".into()),
                        return_data: true,
                    },
                ]),
                Comparison::GreaterThanThreshold,
                &rule,
                "",
            ));
        }
    }

    if let Some(cache) = settings
        .application
        .cache_hit_rate
        .as_ref()
        .filter(|c| c.rule.enabled)
    {
        let metric =
            |name: &str| MetricId::new(cache.namespace.clone(), name, cache.dimensions.clone());
        out.push(b.build(
            format!("{prefix}app-cache-hit-rate"),
            "app".into(),
            format!(
                "cache hit rate ({}/{} vs {})",
                cache.namespace, cache.hit_metric, cache.miss_metric
            ),
            AlarmMetric::Math(vec![
                MathQuery::Stat {
                    id: "hits".into(),
                    stat: stat(metric(&cache.hit_metric), cache.rule.period_s, "Sum"),
                    return_data: false,
                },
                MathQuery::Stat {
                    id: "misses".into(),
                    stat: stat(metric(&cache.miss_metric), cache.rule.period_s, "Sum"),
                    return_data: false,
                },
                MathQuery::Expression {
                    id: "hit_rate".into(),
                    expression: "IF(hits + misses > 0, 100 * hits / (hits + misses), 100)".into(),
                    label: Some("Cache hit rate (%)".into()),
                    return_data: true,
                },
            ]),
            Comparison::LessThanThreshold,
            &cache.rule,
            " %",
        ));
    }

    if let Some(cost) = settings
        .application
        .cost_per_student
        .as_ref()
        .filter(|c| c.rule.enabled)
    {
        out.push(b.build(
            format!("{prefix}app-cost-per-student"),
            "app".into(),
            format!("{} {}/{}", cost.statistic, cost.namespace, cost.metric),
            AlarmMetric::Single(stat(
                MetricId::new(
                    cost.namespace.clone(),
                    cost.metric.clone(),
                    cost.dimensions.clone(),
                ),
                cost.rule.period_s,
                &cost.statistic,
            )),
            Comparison::GreaterThanThreshold,
            &cost.rule,
            "",
        ));
    }
    if let Some(rule) = &settings.application.model_mix {
        let c = &desired.controllers.cost;
        if let Some(metric) = model_mix_metric(c, rule.period_s) {
            out.push(b.build(
                format!("{prefix}app-model-mix"),
                "app".into(),
                format!(
                    "share of Bedrock tokens on the cheap models ({})",
                    c.cheap_models.join(", ")
                ),
                metric,
                Comparison::LessThanThreshold,
                rule,
                " %",
            ));
        }
    }
    out
}

/// CloudWatch alarms take at most 10 metrics: two per model (input and output tokens).
const MODEL_MIX_MODELS: usize = 5;

/// 100 × tokens on the cheap models / all tokens, over the models the cost model prices (the
/// cheap ones first, at most five). `None` when there is no cheap model or no other.
fn model_mix_metric(c: &crate::controllers::cost::Settings, period_s: u32) -> Option<AlarmMetric> {
    let mut models: Vec<(&str, bool)> = c.cheap_models.iter().map(|m| (m.as_str(), true)).collect();
    for m in c.model_prices.keys() {
        if !c.cheap_models.contains(m) {
            models.push((m.as_str(), false));
        }
    }
    models.truncate(MODEL_MIX_MODELS);
    if !models.iter().any(|(_, cheap)| *cheap) || models.iter().all(|(_, cheap)| *cheap) {
        return None;
    }
    let mut queries = Vec::new();
    let (mut cheap, mut all) = (Vec::new(), Vec::new());
    for (i, (model, is_cheap)) in models.iter().enumerate() {
        for (suffix, name) in [("i", "InputTokenCount"), ("o", "OutputTokenCount")] {
            let id = format!("m{i}{suffix}");
            queries.push(MathQuery::Stat {
                id: id.clone(),
                stat: stat(
                    MetricId::new("AWS/Bedrock", name, vec![Dimension::new("ModelId", *model)]),
                    period_s,
                    "Sum",
                ),
                return_data: false,
            });
            let term = format!("FILL({id}, 0)");
            if *is_cheap {
                cheap.push(term.clone());
            }
            all.push(term);
        }
    }
    let (cheap, all) = (cheap.join(" + "), all.join(" + "));
    queries.push(MathQuery::Expression {
        id: "mix".into(),
        expression: format!("IF(({all}) > 0, 100 * ({cheap}) / ({all}), 100)"),
        label: Some("Tokens on the cheap models (%)".into()),
        return_data: true,
    });
    Some(AlarmMetric::Math(queries))
}

/// Renders what an alarm watches, for plan output.
pub fn describe_metric(metric: &AlarmMetric) -> String {
    fn one(s: &MetricStat) -> String {
        let dims: Vec<String> = s
            .metric
            .dimensions
            .iter()
            .map(|d| format!("{}={}", d.name, d.value))
            .collect();
        format!(
            "{}/{} {} [{}] {}s",
            s.metric.namespace,
            s.metric.name,
            s.stat,
            dims.join(","),
            s.period_s
        )
    }
    match metric {
        AlarmMetric::Single(s) => one(s),
        AlarmMetric::Math(queries) => queries
            .iter()
            .map(|q| match q {
                MathQuery::Stat {
                    id,
                    stat,
                    return_data,
                } => {
                    format!("{id}{}: {}", if *return_data { "*" } else { "" }, one(stat))
                }
                MathQuery::Expression {
                    id,
                    expression,
                    return_data,
                    ..
                } => {
                    format!("{id}{}: {expression}", if *return_data { "*" } else { "" })
                }
            })
            .collect::<Vec<_>>()
            .join("; "),
    }
}

fn list(v: &[String]) -> String {
    format!("[{}]", v.join(", "))
}

/// Every field (tags aside) where `observed` differs from `desired`.
pub fn spec_diff(observed: &AlarmSpec, desired: &AlarmSpec) -> Vec<FieldDiff> {
    // Compared as typed values and rendered only when they differ: every steady cycle
    // compares every owned alarm, and nearly all of them match.
    fn field<T: PartialEq + ?Sized>(
        diffs: &mut Vec<FieldDiff>,
        name: &str,
        old: &T,
        new: &T,
        render: impl Fn(&T) -> String,
    ) {
        if old != new {
            diffs.push(FieldDiff {
                field: name.to_string(),
                old: render(old),
                new: render(new),
            });
        }
    }
    let (o, d) = (observed, desired);
    let mut diffs = Vec::new();
    field(&mut diffs, "description", &o.description, &d.description, String::clone);
    if o.metric != d.metric {
        let (old, new) = (describe_metric(&o.metric), describe_metric(&d.metric));
        // Two metrics can render alike yet differ (e.g. a label); still report the drift.
        let new = if old == new {
            format!("{new} (label or return-data differs)")
        } else {
            new
        };
        diffs.push(FieldDiff {
            field: "metric".into(),
            old,
            new,
        });
    }
    field(&mut diffs, "comparison", &o.comparison, &d.comparison, |c| {
        c.as_str().into()
    });
    field(&mut diffs, "threshold", &o.threshold, &d.threshold, f64::to_string);
    let count = |n: &u32| n.to_string();
    field(
        &mut diffs,
        "evaluation_periods",
        &o.evaluation_periods,
        &d.evaluation_periods,
        count,
    );
    field(
        &mut diffs,
        "datapoints_to_alarm",
        &o.datapoints_to_alarm,
        &d.datapoints_to_alarm,
        count,
    );
    field(
        &mut diffs,
        "treat_missing_data",
        &o.treat_missing_data,
        &d.treat_missing_data,
        |t| t.as_str().into(),
    );
    field(
        &mut diffs,
        "actions_enabled",
        &o.actions_enabled,
        &d.actions_enabled,
        bool::to_string,
    );
    let actions = |v: &Vec<String>| list(v);
    field(&mut diffs, "alarm_actions", &o.alarm_actions, &d.alarm_actions, actions);
    field(&mut diffs, "ok_actions", &o.ok_actions, &d.ok_actions, actions);
    field(
        &mut diffs,
        "insufficient_data_actions",
        &o.insufficient_data_actions,
        &d.insufficient_data_actions,
        actions,
    );
    diffs
}

/// Desired tags that are missing or different on the observed alarm.
fn missing_tags(observed: &Tags, desired: &Tags) -> Tags {
    desired
        .iter()
        .filter(|(k, v)| observed.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// Is this observed alarm trimtab's to change?
pub fn is_owned(desired: &Desired, alarm: &ObservedAlarm) -> bool {
    let own = &desired.ownership;
    let name = &alarm.spec.name;
    if name.starts_with(AAS_ALARM_PREFIX) {
        return false;
    }
    let marked = name.starts_with(&own.name_prefix) && own.owns(&alarm.spec.tags);
    may_change(own, marked, name)
}

/// Plans the alarms. `topic` is where alarm actions go, if anywhere.
pub fn plan(desired: &Desired, settings: &Settings, observed: &Observed, topic: &TopicRef) -> Plan {
    plan_with(desired, settings, observed, topic, &mut Memo::default())
}

/// [`plan`], with `memo` carried from one cycle to the next: only the functions it cannot
/// vouch for have their alarms built and compared.
fn plan_with(
    desired: &Desired,
    settings: &Settings,
    observed: &Observed,
    topic: &TopicRef,
    memo: &mut Memo,
) -> Plan {
    let mut plan = Plan::default();
    let actions: Vec<String> = match topic {
        TopicRef::None => Vec::new(),
        TopicRef::Known(arn) => vec![arn.clone()],
        TopicRef::Pending(why) => {
            plan.refusals.push(Refusal {
                kind: ResourceKind::Alarm,
                id: "*".into(),
                reason: format!("alarms wait for their notification topic: {why}"),
            });
            return plan;
        }
    };
    let mut built = memo.refresh(desired, settings, observed, &actions);
    let others = resource_and_app_alarms(desired, settings, observed, &actions);
    let remembered = memo.functions.iter().flat_map(|(_, _, r)| r);
    // Hashed, not ordered: 3,000 names sharing long prefixes, each looked up once.
    let wanted_names: std::collections::HashSet<&str, foldhash::fast::RandomState> = remembered
        .map(|r| r.name.as_str())
        .chain(others.iter().map(|a| a.spec.name.as_str()))
        .collect();
    plan.managed
        .extend(wanted_names.iter().map(|n| (ResourceKind::Alarm, n.to_string())));

    let b = AlarmBuilder {
        desired,
        actions: &actions,
    };
    let keys = function_tag_keys(desired);
    for (function, key, remembered) in &memo.functions {
        let alarms = match built.remove(function) {
            Some(alarms) => alarms,
            None if remembered.iter().all(|r| r.matches(desired, observed, keys)) => continue,
            None => function_alarms(&b, &settings.defaults, function, key),
        };
        for alarm in &alarms {
            plan_alarm(desired, observed, alarm, &mut plan);
        }
    }
    for alarm in &others {
        plan_alarm(desired, observed, alarm, &mut plan);
    }

    let mut prunable: BTreeMap<&str, &ObservedAlarm> = BTreeMap::new();
    for (name, alarm) in &observed.alarms {
        if wanted_names.contains(name.as_str()) || !is_owned(desired, alarm) {
            continue;
        }
        let target = alarm
            .spec
            .tags
            .value(TARGET_TAG)
            .unwrap_or("");
        let unknown = match target.split_once(':') {
            Some(("lambda", f)) => observed.unknown_functions.contains(f),
            Some(("dynamodb", t)) => observed.unknown_tables.contains(t),
            _ => false,
        };
        if unknown {
            continue;
        }
        prunable.insert(name, alarm);
    }
    for (name, alarm) in prunable {
        let target = alarm
            .spec
            .tags
            .get(TARGET_TAG)
            .cloned()
            .unwrap_or_else(|| "unknown".into());
        if desired.ownership.prune {
            plan.changes.push(Change {
                kind: ResourceKind::Alarm,
                id: name.to_string(),
                action: Action::Delete,
                diffs: Vec::new(),
                reason: format!(
                    "owned by trimtab but no longer desired (watched {target}); prune is on"
                ),
                phase: Phase::Monitoring,
                writes: vec![Write::DeleteAlarms {
                    names: vec![name.to_string()],
                }],
            });
        } else {
            plan.refusals.push(Refusal {
                kind: ResourceKind::Alarm,
                id: name.to_string(),
                reason: format!(
                    "owned by trimtab and no longer desired (watched {target}), but prune is off"
                ),
            });
        }
    }
    plan
}

/// Plans one desired alarm against what is observed: create, update, or refuse.
fn plan_alarm(desired: &Desired, observed: &Observed, alarm: &DesiredAlarm, plan: &mut Plan) {
    let name = &alarm.spec.name;
    match observed.alarms.get(name) {
        None => plan.changes.push(Change {
            kind: ResourceKind::Alarm,
            id: name.clone(),
            action: Action::Create,
            diffs: Vec::new(),
            reason: format!("no alarm exists yet for the {}", alarm.purpose),
            phase: Phase::Monitoring,
            writes: vec![Write::PutMetricAlarm {
                alarm: alarm.spec.clone(),
            }],
        }),
        Some(existing) if !is_owned(desired, existing) => plan.refusals.push(
            Foreign {
                kind: ResourceKind::Alarm,
                id: name,
                what: "an alarm with this name exists but is not owned by trimtab".into(),
                evidence: format!(
                    "no {}={} tag",
                    desired.ownership.tag_key, desired.ownership.tag_value
                ),
                left_alone: "it is left alone",
                adopt_id: name,
            }
            .refusal(),
        ),
        Some(existing) => {
            let mut diffs = spec_diff(&existing.spec, &alarm.spec);
            let mut writes = Vec::new();
            if !diffs.is_empty() {
                writes.push(Write::PutMetricAlarm {
                    alarm: alarm.spec.clone(),
                });
            }
            let tags = missing_tags(&existing.spec.tags, &alarm.spec.tags);
            for (key, value) in &tags {
                diffs.push(FieldDiff {
                    field: format!("tags.{key}"),
                    old: existing
                        .spec
                        .tags
                        .value(key)
                        .unwrap_or("(none)")
                        .to_string(),
                    new: value.to_string(),
                });
            }
            if !tags.is_empty() {
                writes.push(Write::TagAlarm {
                    arn: existing.arn.clone(),
                    tags,
                });
            }
            if !writes.is_empty() {
                let fields: Vec<&str> = diffs.iter().map(|d| d.field.as_str()).collect();
                plan.changes.push(Change {
                    kind: ResourceKind::Alarm,
                    id: name.clone(),
                    action: Action::Update,
                    reason: format!("drift in {}", fields.join(", ")),
                    diffs,
                    phase: Phase::Monitoring,
                    writes,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
