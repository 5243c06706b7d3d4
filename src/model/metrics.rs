//! CloudWatch metric identities, statistics, and GetMetricData / PutMetricData shapes.

use std::time::SystemTime;

use compact_str::CompactString;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Dimension {
    pub name: CompactString,
    pub value: CompactString,
}

impl Dimension {
    pub fn new(name: impl AsRef<str>, value: impl AsRef<str>) -> Self {
        Self {
            name: CompactString::new(name),
            value: CompactString::new(value),
        }
    }
}

/// A metric's identity. Dimensions are kept sorted by name so that two descriptions of the same
/// metric compare equal whatever order AWS returned them in.
///
/// Its strings are short (a namespace, a metric name, a function's name, a statistic) and a
/// cycle at 1,000 functions holds about 21,000 of them: each is kept inline when it fits in 24
/// bytes (`CompactString`) instead of in a heap allocation of its own.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MetricId {
    pub namespace: CompactString,
    pub name: CompactString,
    pub dimensions: Vec<Dimension>,
}

impl MetricId {
    pub fn new(
        namespace: impl AsRef<str>,
        name: impl AsRef<str>,
        mut dimensions: Vec<Dimension>,
    ) -> Self {
        dimensions.sort();
        Self {
            namespace: CompactString::new(namespace),
            name: CompactString::new(name),
            dimensions,
        }
    }
}

/// A metric read with a statistic over a period. `stat` is AWS's spelling: `Sum`, `Average`,
/// `Minimum`, `Maximum`, `SampleCount`, or an extended statistic such as `p95`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MetricStat {
    pub metric: MetricId,
    pub period_s: u32,
    pub stat: CompactString,
}

impl MetricStat {
    /// Standard statistics go in `Statistic`; everything else (percentiles) in `ExtendedStatistic`.
    pub fn is_extended(&self) -> bool {
        !matches!(
            self.stat.as_str(),
            "Sum" | "Average" | "Minimum" | "Maximum" | "SampleCount"
        )
    }

    /// The percentile asked for, if the statistic is `pNN` or `pNN.N`.
    pub fn percentile(&self) -> Option<f64> {
        self.stat
            .strip_prefix('p')?
            .parse::<f64>()
            .ok()
            .filter(|p| (0.0..=100.0).contains(p))
    }
}

/// One query of a GetMetricData call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricQuery {
    /// Must start with a lower-case letter; unique within a call.
    pub id: String,
    pub stat: MetricStat,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricSeries {
    pub id: String,
    /// Newest first, as CloudWatch returns them by default.
    pub points: Vec<(SystemTime, f64)>,
    /// `false` when CloudWatch reported `PartialData` and more pages follow.
    pub complete: bool,
}

/// One page of GetMetricData output.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricDataPage {
    pub series: Vec<MetricSeries>,
    pub next: Option<String>,
}

/// One value for PutMetricData.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricDatum {
    pub metric: MetricId,
    pub timestamp: SystemTime,
    pub value: f64,
    pub unit: Option<String>,
}
