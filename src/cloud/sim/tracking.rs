//! The alarms Application Auto Scaling creates for a target-tracking policy: their names
//! (`TargetTracking-<resourceId>-AlarmHigh-<uuid>` / `-AlarmLow-<uuid>`), their metric and
//! thresholds, and writing them into the alarm store untagged, as AAS does.

use std::time::SystemTime;

use crate::model::{
    AlarmMetric, AlarmSpec, AlarmState, Comparison, Dimension, MetricId, MetricStat, MissingData,
    ScalableDimension, ScalingPolicy,
};

use super::Cx;
use super::state::AlarmRecord;

/// The names AAS gives a new policy's alarms.
pub(crate) fn tracking_alarm_names(resource_id: &str, high_id: &str, low_id: &str) -> [String; 2] {
    [
        format!("TargetTracking-{resource_id}-AlarmHigh-{high_id}"),
        format!("TargetTracking-{resource_id}-AlarmLow-{low_id}"),
    ]
}

/// The two alarms target tracking keeps on a policy's metric, as (high, low) specs.
pub(crate) fn tracking_alarms(
    cx: &Cx<'_>,
    p: &ScalingPolicy,
    arn: &str,
    names: [String; 2],
) -> [AlarmSpec; 2] {
    let (metric, stat, high, low, high_periods) = match p.dimension {
        ScalableDimension::LambdaProvisionedConcurrency => {
            let mut parts = p.resource_id.splitn(3, ':').skip(1);
            let name = parts.next().unwrap_or_default();
            let qualifier = parts.next().unwrap_or_default();
            let metric = MetricId::new(
                "AWS/Lambda",
                "ProvisionedConcurrencyUtilization",
                vec![
                    Dimension::new("FunctionName", name),
                    Dimension::new("Resource", format!("{name}:{qualifier}")),
                ],
            );
            (metric, "Average", p.target_value, p.target_value * 0.9, 3)
        }
        dim => {
            let rest = p.resource_id.strip_prefix("table/").unwrap_or_default();
            let (table, index) = match rest.split_once("/index/") {
                Some((t, i)) => (t, Some(i)),
                None => (rest, None),
            };
            let read = matches!(
                dim,
                ScalableDimension::TableRead | ScalableDimension::IndexRead
            );
            let mut dims = vec![Dimension::new("TableName", table)];
            if let Some(i) = index {
                dims.push(Dimension::new("GlobalSecondaryIndexName", i));
            }
            let name = if read {
                "ConsumedReadCapacityUnits"
            } else {
                "ConsumedWriteCapacityUnits"
            };
            let capacity = cx.st.tables.get(table).map_or(0, |t| {
                if read {
                    t.read_capacity
                } else {
                    t.write_capacity
                }
            }) as f64;
            // Consumed units per minute at the target utilisation.
            let at_target = p.target_value / 100.0 * capacity * 60.0;
            let metric = MetricId::new("AWS/DynamoDB", name, dims);
            (metric, "Sum", at_target, at_target * 0.8, 2)
        }
    };
    let spec = |name: String, comparison, threshold, periods| AlarmSpec {
        name,
        description: format!("DO NOT EDIT OR DELETE. For TargetTrackingScaling policy {arn}."),
        metric: AlarmMetric::Single(MetricStat {
            metric: metric.clone(),
            period_s: 60,
            stat: stat.into(),
        }),
        comparison,
        threshold,
        evaluation_periods: periods,
        datapoints_to_alarm: periods,
        treat_missing_data: MissingData::Missing,
        actions_enabled: true,
        alarm_actions: vec![arn.to_string()],
        ok_actions: Vec::new(),
        insufficient_data_actions: Vec::new(),
        tags: Default::default(),
    };
    let [high_name, low_name] = names;
    [
        spec(
            high_name,
            Comparison::GreaterThanThreshold,
            high,
            high_periods,
        ),
        spec(low_name, Comparison::LessThanThreshold, low, 15),
    ]
}

/// Writes an AAS-owned alarm, recreating it if someone deleted it (as AAS does on update).
pub(crate) fn upsert_alarm(cx: &mut Cx<'_>, spec: AlarmSpec, now: SystemTime) {
    match cx.st.alarms.get_mut(&spec.name) {
        Some(a) => {
            a.spec = spec;
            a.updated_at = now;
        }
        None => {
            let arn = cx.st.alarm_arn(&spec.name);
            cx.st.alarms.insert(
                spec.name.clone(),
                AlarmRecord {
                    arn,
                    spec,
                    state: AlarmState::InsufficientData,
                    updated_at: now,
                },
            );
        }
    }
}
