//! A CloudWatch dashboard of the application, owned by trimtab and reconciled like every
//! other resource: created, corrected when someone edits it, deleted when turned off. It
//! shows the seed's key metrics: response time (average, p95, p99), error rate, cache hit
//! rate, cost per student and the monthly run rate, concurrency and throttles, DynamoDB
//! throttles, and Bedrock tokens by model. Generated from the desired state, so it follows
//! the functions, tables and models trimtab is told about.
//!
//! Dashboards carry no tags. Ownership is the name prefix *and* a marker in the dashboard's
//! own text (`managed-by=trimtab`, from `[ownership]`): a dashboard with trimtab's name but
//! without the marker is someone else's, and left alone.

#[cfg(test)]
mod tests;

use std::time::Duration;

use serde_json::{Value, json};

use crate::config::read::{Bounds, Opt, check};
use crate::model::{Action, Change, Phase, Read, Reads, ResourceKind, Write};

use super::cost::{TOTAL_METRIC, cost_metric};
use super::{Controller, Cx, Planned, SettingsCx};

/// Keeps the application's CloudWatch dashboard.
pub struct Dashboard;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub enabled: bool,
    /// The dashboard's name after the ownership prefix.
    pub name: String,
    /// The period of every graph.
    pub period: Duration,
    /// Functions per graph at most (a graph holds a few hundred series; a wall of lines helps
    /// nobody): the first ones by name.
    pub max_functions: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            enabled: true,
            name: "application".into(),
            period: Duration::from_secs(300),
            max_functions: 25,
        }
    }
}

#[derive(Debug, Default)]
pub struct Memory {
    /// The body last read (by name), so the daemon need not read it every cycle; cleared
    /// when a write is planned, so the next cycle reads it back.
    known: Option<(String, Option<String>, std::time::SystemTime)>,
    /// 128-bit hashes (XXH3) of a generated body's text and of the observed text found equal
    /// to it: the same two again need no parsing (the body is tens of kilobytes of JSON,
    /// compared every cycle), and the memory holds neither body a second time.
    matched: Option<(u128, u128)>,
}

/// The full name: the ownership prefix, then the configured name.
fn full_name(cx: &Cx<'_, Dashboard>) -> String {
    format!("{}{}", cx.desired.ownership.name_prefix, cx.settings.name)
}

fn marker(cx: &Cx<'_, Dashboard>) -> String {
    format!(
        "{}={}",
        cx.desired.ownership.tag_key, cx.desired.ownership.tag_value
    )
}

impl Controller for Dashboard {
    const NAME: &'static str = "dashboard";
    type Settings = Settings;
    type RuleSettings = ();
    type TableSettings = ();
    type Memory = Memory;

    fn settings(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
        let dflt = Settings::default();
        let d = &mut *cx.d;
        let s = cx.sections.get(d, "dashboard");
        let enabled: Opt<bool> = s.bool(d, "enabled");
        let name = s.string(d, "name");
        let period = s.duration(d, "period");
        let max = s.int(d, "max_functions");
        let prefix_len = cx.ownership.name_prefix.len();
        Settings {
            enabled: enabled.is_none_or(|e| *e.get_ref()),
            name: check::text(
                d,
                &name,
                |s: &str| {
                    !s.is_empty()
                        && s.len() + prefix_len <= 255
                        && s.chars()
                            .all(|c| c.is_ascii_alphanumeric() || "-_".contains(c))
                },
                |s| {
                    format!(
                        "`dashboard.name` \"{s}\" must be letters, digits, `-` and `_`, at most {} characters with the prefix",
                        255 - prefix_len.min(254)
                    )
                },
            )
            .unwrap_or(dflt.name),
            period: check::duration(
                d,
                &period,
                "dashboard.period",
                Duration::from_secs(60),
                Duration::from_secs(86_400),
            )
            .filter(|p| p.as_secs().is_multiple_of(60))
            .unwrap_or(dflt.period),
            max_functions: check::int(
                d,
                &max,
                "dashboard.max_functions",
                Bounds::between(1.0, 100.0, "functions"),
            )
            .unwrap_or(dflt.max_functions),
        }
    }

    fn reads(cx: &Cx<'_, Self>, memory: &mut Memory, reads: &mut Reads) {
        let read = Read::Dashboard {
            name: full_name(cx),
        };
        // Known and read within `observe.tag_cache_ttl`: trusted. Known but older: re-verified
        // (every cycle of a full verification, as `plan` and `apply` do). Unknown: read now.
        match &memory.known {
            Some((name, _, at))
                if *name == full_name(cx)
                    && cx.now.duration_since(*at).unwrap_or(Duration::MAX)
                        < cx.desired.observe.tag_cache_ttl => {}
            Some((name, _, _)) if *name == full_name(cx) => reads.verify(read),
            _ => reads.now(read),
        }
    }

    fn plan(cx: &Cx<'_, Self>, memory: &mut Memory, out: &mut Planned) {
        let name = full_name(cx);
        let observed = match cx.observed.dashboards.get(&name) {
            Some(body) => {
                memory.known = Some((name.clone(), body.clone(), cx.now));
                body.clone()
            }
            // Not read this cycle: what was seen last, if anything.
            None => match &memory.known {
                Some((n, body, _)) if *n == name => body.clone(),
                _ => return, // unknown: change nothing
            },
        };
        let owned = |body: &str| body.contains(&marker(cx));
        if !cx.settings.enabled {
            memory.matched = None;
            if let Some(body) = &observed
                && owned(body)
                && cx.desired.ownership.prune
            {
                out.plan.changes.push(Change {
                    kind: ResourceKind::Dashboard,
                    id: name.clone(),
                    action: Action::Delete,
                    diffs: Vec::new(),
                    reason: "dashboard.enabled = false".into(),
                    phase: Phase::Teardown,
                    writes: vec![Write::DeleteDashboard { name: name.clone() }],
                });
                // Read it back next cycle: a failed write is retried, a done one confirmed.
                memory.known = None;
            }
            return;
        }
        out.plan.managed.push((ResourceKind::Dashboard, name.clone()));
        let desired = body(cx);
        let text = desired.to_string();
        let (action, reason) = match &observed {
            None => (Action::Create, "no dashboard exists yet".to_string()),
            Some(body) if !owned(body) => {
                out.plan.refusals.push(crate::model::Refusal {
                    kind: ResourceKind::Dashboard,
                    id: name.clone(),
                    reason: format!(
                        "a dashboard with this name exists without trimtab's marker ({}): it is someone else's and left alone; rename `dashboard.name`",
                        marker(cx)
                    ),
                });
                return;
            }
            Some(body) => {
                use xxhash_rust::xxh3::xxh3_128;
                let pair = (xxh3_128(text.as_bytes()), xxh3_128(body.as_bytes()));
                if memory.matched == Some(pair) {
                    return;
                }
                if serde_json::from_str::<Value>(body).is_ok_and(|v| v == desired) {
                    memory.matched = Some(pair);
                    return;
                }
                (
                    Action::Update,
                    "its widgets differ from what the desired state generates (edited, or the desired state changed)".to_string(),
                )
            }
        };
        out.plan.changes.push(Change {
            kind: ResourceKind::Dashboard,
            id: name.clone(),
            action,
            diffs: Vec::new(),
            reason,
            phase: Phase::Monitoring,
            writes: vec![Write::PutDashboard {
                name: name.clone(),
                body: text,
            }],
        });
        // Read it back next cycle: a failed write is retried, a done one confirmed.
        memory.known = None;
        memory.matched = None;
    }
}

/// `["Namespace", "Metric", "Dim", "value", …, {options}]`, the dashboard's metric syntax.
fn metric(namespace: &str, name: &str, dims: &[(&str, &str)], options: Value) -> Value {
    let mut v = vec![json!(namespace), json!(name)];
    for (k, val) in dims {
        v.push(json!(k));
        v.push(json!(val));
    }
    if options.as_object().is_some_and(|o| !o.is_empty()) {
        v.push(options);
    }
    Value::Array(v)
}

/// The dashboard body the desired state generates.
pub fn body(cx: &Cx<'_, Dashboard>) -> Value {
    let region = cx.desired.cloud.region.as_str();
    let period = cx.settings.period.as_secs();
    let mut functions: Vec<&str> = cx.functions_in_scope().map(|(n, _, _)| n).collect();
    let shown = functions.len().min(cx.settings.max_functions);
    let hidden = functions.len() - shown;
    functions.truncate(shown);
    let alarms = &cx.desired.controllers.alarms;
    let threshold = alarms.defaults.duration.threshold;
    let mut widgets = Vec::new();
    let mut y = 0;
    let mut text = format!(
        "# {}\nManaged by trimtab ({}): edits here are overwritten at the next cycle. Set `dashboard.enabled = false` to remove it.",
        cx.settings.name,
        marker(cx)
    );
    if hidden > 0 {
        text.push_str(&format!(
            "\n\nGraphs show the first {shown} of {} functions (`dashboard.max_functions`).",
            shown + hidden
        ));
    }
    widgets.push(json!({"type": "text", "x": 0, "y": y, "width": 24, "height": 3,
        "properties": {"markdown": text}}));
    y += 3;
    let mut graph = |title: &str, metrics: Vec<Value>, extra: Value, half: usize| {
        let mut props = json!({
            "title": title, "region": region, "view": "timeSeries", "stacked": false,
            "period": period, "metrics": metrics,
        });
        if let (Some(p), Some(e)) = (props.as_object_mut(), extra.as_object()) {
            p.extend(e.clone());
        }
        let x = if half.is_multiple_of(2) { 0 } else { 12 };
        widgets.push(json!({"type": "metric", "x": x, "y": y, "width": 12, "height": 6,
            "properties": props}));
        if half % 2 == 1 {
            y += 6;
        }
    };
    let per_fn = |name: &str, stat: &str| -> Vec<Value> {
        functions
            .iter()
            .map(|f| metric("AWS/Lambda", name, &[("FunctionName", f)], json!({"stat": stat})))
            .collect()
    };
    let target = json!({"annotations": {"horizontal": [{"label": "objective", "value": threshold}]}});
    graph("Response time, average (ms)", per_fn("Duration", "Average"), target.clone(), 0);
    graph("Response time, p95 (ms)", per_fn("Duration", "p95"), target.clone(), 1);
    graph("Response time, p99 (ms)", per_fn("Duration", "p99"), target, 2);
    // Error rate per function: metric math over Errors and Invocations.
    let mut errors = Vec::new();
    for (i, f) in functions.iter().enumerate() {
        errors.push(metric("AWS/Lambda", "Errors", &[("FunctionName", f)],
            json!({"id": format!("e{i}"), "stat": "Sum", "visible": false})));
        errors.push(metric("AWS/Lambda", "Invocations", &[("FunctionName", f)],
            json!({"id": format!("n{i}"), "stat": "Sum", "visible": false})));
        errors.push(json!([{"expression": format!("IF(n{i} > 0, 100 * e{i} / n{i}, 0)"),
            "label": format!("{f} error rate (%)"), "id": format!("r{i}")}]));
    }
    graph("Error rate (%)", errors, json!({}), 3);
    let cache = match &alarms.application.cache_hit_rate {
        Some(c) => {
            let dims: Vec<(&str, &str)> =
                c.dimensions.iter().map(|d| (d.name.as_str(), d.value.as_str())).collect();
            vec![
                metric(&c.namespace, &c.hit_metric, &dims, json!({"id": "hits", "stat": "Sum", "visible": false})),
                metric(&c.namespace, &c.miss_metric, &dims, json!({"id": "misses", "stat": "Sum", "visible": false})),
                json!([{"expression": "IF(hits + misses > 0, 100 * hits / (hits + misses), 100)",
                    "label": "Cache hit rate (%)", "id": "rate"}]),
            ]
        }
        None => Vec::new(),
    };
    graph("Cache hit rate (%)", cache,
        json!({"annotations": {"horizontal": [{"label": "target", "value":
            alarms.application.cache_hit_rate.as_ref().map_or(60.0, |c| c.rule.threshold)}]}}), 4);
    let cost = &cx.desired.controllers.cost;
    let cm = cost_metric(alarms);
    let dims: Vec<(&str, &str)> = cm.dimensions.iter().map(|d| (d.name.as_str(), d.value.as_str())).collect();
    graph(
        &format!("Cost per student ({} a month)", cost.currency),
        vec![metric(&cm.namespace, &cm.name, &dims, json!({"stat": "Maximum", "period": 3600}))],
        json!({"annotations": {"horizontal": [
            {"label": "target, low", "value": cost.target_per_student.0},
            {"label": "target, high", "value": cost.target_per_student.1}]}}),
        5,
    );
    graph(
        &format!("Monthly run rate ({})", cost.currency),
        vec![metric(&cm.namespace, TOTAL_METRIC, &dims, json!({"stat": "Maximum", "period": 3600}))],
        json!({}),
        6,
    );
    let mut conc = per_fn("ConcurrentExecutions", "Maximum");
    conc.extend(per_fn("Throttles", "Sum"));
    graph("Concurrent executions (max) and throttles", conc, json!({}), 7);
    let mut ddb = Vec::new();
    for t in &cx.desired.tables {
        for m in ["ReadThrottleEvents", "WriteThrottleEvents"] {
            ddb.push(metric("AWS/DynamoDB", m, &[("TableName", &t.name)], json!({"stat": "Sum"})));
        }
    }
    graph("DynamoDB throttle events", ddb, json!({}), 8);
    let mut tokens = Vec::new();
    for model in cost.model_prices.keys() {
        for m in ["InputTokenCount", "OutputTokenCount"] {
            tokens.push(metric("AWS/Bedrock", m, &[("ModelId", model)], json!({"stat": "Sum"})));
        }
    }
    graph("Bedrock tokens by model", tokens, json!({}), 9);
    json!({ "widgets": widgets })
}
