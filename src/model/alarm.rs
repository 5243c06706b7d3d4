//! CloudWatch alarms as trimtab models them: every field AWS stores, so that drift in any of
//! them (metric-math expressions, actions, tags) is visible to a plain `==`.

use serde::{Deserialize, Serialize};

use super::Tags;
use super::metrics::{MetricId, MetricStat};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Comparison {
    GreaterThanOrEqualToThreshold,
    GreaterThanThreshold,
    LessThanThreshold,
    LessThanOrEqualToThreshold,
}

impl Comparison {
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => "GreaterThanOrEqualToThreshold",
            Comparison::GreaterThanThreshold => "GreaterThanThreshold",
            Comparison::LessThanThreshold => "LessThanThreshold",
            Comparison::LessThanOrEqualToThreshold => "LessThanOrEqualToThreshold",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "GreaterThanOrEqualToThreshold" => Comparison::GreaterThanOrEqualToThreshold,
            "GreaterThanThreshold" => Comparison::GreaterThanThreshold,
            "LessThanThreshold" => Comparison::LessThanThreshold,
            "LessThanOrEqualToThreshold" => Comparison::LessThanOrEqualToThreshold,
            _ => return None,
        })
    }

    /// Does `value` breach a threshold under this comparison?
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThanOrEqualToThreshold => value >= threshold,
            Comparison::GreaterThanThreshold => value > threshold,
            Comparison::LessThanThreshold => value < threshold,
            Comparison::LessThanOrEqualToThreshold => value <= threshold,
        }
    }
}

/// What an alarm does when datapoints are missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MissingData {
    Breaching,
    NotBreaching,
    Ignore,
    Missing,
}

impl MissingData {
    pub fn as_str(self) -> &'static str {
        match self {
            MissingData::Breaching => "breaching",
            MissingData::NotBreaching => "notBreaching",
            MissingData::Ignore => "ignore",
            MissingData::Missing => "missing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "breaching" => MissingData::Breaching,
            "notBreaching" => MissingData::NotBreaching,
            "ignore" => MissingData::Ignore,
            "missing" => MissingData::Missing,
            _ => return None,
        })
    }
}

/// One entry of a metric-math alarm's `Metrics` list.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum MathQuery {
    /// A metric read with a statistic, referenced by `id` in expressions.
    Stat {
        id: String,
        stat: MetricStat,
        return_data: bool,
    },
    /// A metric-math expression over other ids.
    Expression {
        id: String,
        expression: String,
        label: Option<String>,
        return_data: bool,
    },
}

impl MathQuery {
    pub fn id(&self) -> &str {
        match self {
            MathQuery::Stat { id, .. } | MathQuery::Expression { id, .. } => id,
        }
    }
}

/// What an alarm watches: one metric with a statistic, or metric math.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum AlarmMetric {
    Single(MetricStat),
    Math(Vec<MathQuery>),
}

impl AlarmMetric {
    /// Every metric the alarm reads; used for pricing (alarms are billed per metric).
    pub fn metrics(&self) -> impl Iterator<Item = &MetricId> {
        let (single, queries) = match self {
            AlarmMetric::Single(stat) => (Some(&stat.metric), &[][..]),
            AlarmMetric::Math(queries) => (None, queries.as_slice()),
        };
        single
            .into_iter()
            .chain(queries.iter().filter_map(|q| match q {
                MathQuery::Stat { stat, .. } => Some(&stat.metric),
                MathQuery::Expression { .. } => None,
            }))
    }
}

/// A metric alarm, complete: the desired form and the observed form share this type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlarmSpec {
    pub name: String,
    pub description: String,
    pub metric: AlarmMetric,
    pub comparison: Comparison,
    pub threshold: f64,
    pub evaluation_periods: u32,
    pub datapoints_to_alarm: u32,
    pub treat_missing_data: MissingData,
    pub actions_enabled: bool,
    pub alarm_actions: Vec<String>,
    pub ok_actions: Vec<String>,
    pub insufficient_data_actions: Vec<String>,
    /// Tags are not part of DescribeAlarms; observe fills them from ListTagsForResource.
    pub tags: Tags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum AlarmState {
    Ok,
    Alarm,
    InsufficientData,
}

impl AlarmState {
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

/// An alarm as DescribeAlarms reports it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ObservedAlarm {
    pub arn: String,
    /// `tags` is empty here until observe has read them.
    pub spec: AlarmSpec,
    pub state: AlarmState,
    /// `AlarmConfigurationUpdatedTimestamp`; a changed value invalidates cached tags.
    pub updated_at: Option<std::time::SystemTime>,
}
