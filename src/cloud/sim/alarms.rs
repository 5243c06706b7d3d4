//! Metric alarms: PutMetricAlarm's validation and create-or-replace semantics (tags only on
//! create), DeleteAlarms and DescribeAlarms, as CloudWatch behaves.

use crate::cloud::CloudResult;
use crate::model::{
    AlarmMetric, AlarmSpec, AlarmState, MathQuery, MetricStat, ObservedAlarm, Page,
};

use super::state::AlarmRecord;
use super::{Cx, paging, tagging};

/// Metric-math alarms may read at most this many metrics.
const MAX_MATH_METRICS: usize = 10;
const MAX_ACTIONS_PER_STATE: usize = 5;
const MAX_DELETE: usize = 100;

fn valid_alarm_period(period_s: u32) -> bool {
    matches!(period_s, 10 | 30) || (period_s > 0 && period_s.is_multiple_of(60))
}

fn valid_stat_name(stat: &MetricStat) -> bool {
    matches!(
        stat.stat.as_str(),
        "Sum" | "Average" | "Minimum" | "Maximum" | "SampleCount"
    ) || stat.percentile().is_some()
}

fn check_stat(cx: &Cx<'_>, stat: &MetricStat, evaluation_periods: u32) -> CloudResult<()> {
    if !valid_alarm_period(stat.period_s) {
        return Err(cx.invalid(format!(
            "period {} must be 10, 30 or a multiple of 60",
            stat.period_s
        )));
    }
    if !valid_stat_name(stat) {
        return Err(cx.invalid(format!("statistic {:?} is not valid", stat.stat)));
    }
    if stat.metric.namespace.is_empty() || stat.metric.name.is_empty() {
        return Err(cx.invalid("metric namespace and name are required"));
    }
    // CloudWatch caps how far back an alarm may look: a day below hourly periods, a week above.
    let span = u64::from(stat.period_s) * u64::from(evaluation_periods);
    let max = if stat.period_s < 3_600 {
        86_400
    } else {
        7 * 86_400
    };
    if span > max {
        return Err(cx.invalid(format!(
            "evaluation_periods × period = {span} s exceeds {max} s"
        )));
    }
    Ok(())
}

/// Everything PutMetricAlarm rejects with a validation error.
pub(crate) fn validate(cx: &Cx<'_>, a: &AlarmSpec) -> CloudResult<()> {
    if a.name.is_empty() || a.name.chars().count() > 255 || a.name.chars().any(char::is_control) {
        return Err(cx.invalid(format!(
            "alarm name {:?} must be 1-255 printable characters",
            a.name
        )));
    }
    if a.description.chars().count() > 1_024 {
        return Err(cx.invalid("AlarmDescription is longer than 1,024 characters"));
    }
    if !a.threshold.is_finite() {
        return Err(cx.invalid(format!("threshold {} is not a finite number", a.threshold)));
    }
    if a.evaluation_periods == 0 {
        return Err(cx.invalid("EvaluationPeriods must be at least 1"));
    }
    if a.datapoints_to_alarm == 0 || a.datapoints_to_alarm > a.evaluation_periods {
        return Err(cx.invalid(format!(
            "DatapointsToAlarm {} must be between 1 and EvaluationPeriods {}",
            a.datapoints_to_alarm, a.evaluation_periods
        )));
    }
    for (which, actions) in [
        ("AlarmActions", &a.alarm_actions),
        ("OKActions", &a.ok_actions),
        ("InsufficientDataActions", &a.insufficient_data_actions),
    ] {
        if actions.len() > MAX_ACTIONS_PER_STATE {
            return Err(cx.invalid(format!("{which}: at most {MAX_ACTIONS_PER_STATE} actions")));
        }
        if let Some(bad) = actions.iter().find(|arn| !arn.starts_with("arn:")) {
            return Err(cx.invalid(format!("{which}: {bad:?} is not an ARN")));
        }
    }
    match &a.metric {
        AlarmMetric::Single(stat) => check_stat(cx, stat, a.evaluation_periods)?,
        AlarmMetric::Math(queries) => {
            let metrics = queries
                .iter()
                .filter(|q| matches!(q, MathQuery::Stat { .. }))
                .count();
            if metrics > MAX_MATH_METRICS {
                return Err(cx.invalid(format!(
                    "a metric-math alarm reads {metrics} metrics; at most {MAX_MATH_METRICS}"
                )));
            }
            let returned = queries
                .iter()
                .filter(|q| match q {
                    MathQuery::Stat { return_data, .. }
                    | MathQuery::Expression { return_data, .. } => *return_data,
                })
                .count();
            if returned != 1 {
                return Err(cx.invalid(format!(
                    "exactly one metric must have ReturnData true, not {returned}"
                )));
            }
            let mut ids = std::collections::BTreeSet::new();
            for q in queries {
                let id = q.id();
                if !id.chars().next().is_some_and(|c| c.is_ascii_lowercase()) || !ids.insert(id) {
                    return Err(cx.invalid(format!(
                        "metric id {id:?} must be unique and start with a lower-case letter"
                    )));
                }
                match q {
                    MathQuery::Stat { stat, .. } => check_stat(cx, stat, a.evaluation_periods)?,
                    MathQuery::Expression { expression, .. } if expression.trim().is_empty() => {
                        return Err(cx.invalid(format!("expression {id} is empty")));
                    }
                    MathQuery::Expression { .. } => {}
                }
            }
        }
    }
    Ok(())
}

/// Creates or replaces an alarm. On replace the tags in the request are ignored and the alarm
/// keeps its state, as CloudWatch does.
pub(crate) fn put(cx: &mut Cx<'_>, a: &AlarmSpec) -> CloudResult<()> {
    validate(cx, a)?;
    let now = cx.now;
    if let Some(existing) = cx.st.alarms.get_mut(&a.name) {
        let tags = std::mem::take(&mut existing.spec.tags);
        existing.spec = AlarmSpec { tags, ..a.clone() };
        existing.updated_at = now;
        return Ok(());
    }
    tagging::check(cx.op, &a.tags)?;
    let arn = cx.st.alarm_arn(&a.name);
    cx.st.alarms.insert(
        a.name.clone(),
        AlarmRecord {
            arn,
            spec: a.clone(),
            state: AlarmState::InsufficientData,
            updated_at: now,
        },
    );
    Ok(())
}

pub(crate) fn delete(cx: &mut Cx<'_>, names: &[String]) -> CloudResult<()> {
    if names.len() > MAX_DELETE {
        return Err(cx.invalid(format!(
            "{} alarm names: DeleteAlarms takes at most {MAX_DELETE}",
            names.len()
        )));
    }
    for n in names {
        cx.st.alarms.remove(n);
    }
    Ok(())
}

/// DescribeAlarms reports no tags; those come from ListTagsForResource.
pub(crate) fn describe(
    cx: &Cx<'_>,
    prefix: Option<&str>,
    next: Option<&str>,
) -> CloudResult<Page<ObservedAlarm>> {
    let items = cx
        .st
        .alarms
        .iter()
        .filter(|(n, _)| prefix.is_none_or(|p| n.starts_with(p)))
        .map(|(n, a)| (n.clone(), a));
    let page = paging::page(cx.op, items, next, paging::DESCRIBE_ALARMS)?;
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|a| ObservedAlarm {
                arn: a.arn.clone(),
                spec: AlarmSpec {
                    tags: Default::default(),
                    ..a.spec.clone()
                },
                state: a.state,
                updated_at: Some(a.updated_at),
            })
            .collect(),
        next: page.next,
    })
}

/// The alarm an ARN names, by name.
pub(crate) fn name_from_arn<'a>(cx: &Cx<'_>, arn: &'a str) -> Option<&'a str> {
    let prefix = format!(
        "arn:aws:cloudwatch:{}:{}:alarm:",
        cx.st.region, cx.st.account_id
    );
    arn.strip_prefix(&prefix)
}
