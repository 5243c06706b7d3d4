//! What the application costs, as trimtab estimates it: shown by `trimtab cost` and `plan`,
//! carried by `/status`, `/metrics` (by component) and the published cost-per-student metric.

use serde::Serialize;

/// One hour of the window, priced and projected to a month like the whole.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourlyCost {
    pub hour: String,
    pub total_monthly: f64,
    pub per_student_monthly: Option<f64>,
}

/// One part of the bill.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostComponent {
    /// `lambda`, `provisioned_concurrency`, `dynamodb`, `bedrock:MODEL`, `cloudwatch`,
    /// `trimtab`: a bounded set (models are those configured or seen).
    pub component: String,
    /// The monthly run rate, in the configured currency (GST included when configured).
    pub monthly: f64,
    /// Where the figure came from, for people.
    pub source: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CostReport {
    pub currency: String,
    /// The window the usage was read over; figures are projected from it to a 30-day month.
    pub window_s: u64,
    /// Which price table applied: `[prices.regions.REGION]` or `[prices]`.
    pub prices: String,
    pub components: Vec<CostComponent>,
    pub total_monthly: f64,
    /// Active students, and where the figure came from.
    pub students: Option<f64>,
    pub students_source: String,
    pub per_student_monthly: Option<f64>,
    /// The configured target range per student per month.
    pub target_per_student: (f64, f64),
    /// Share (%) of Bedrock tokens that went to the cheap models configured.
    pub cheap_model_share: Option<f64>,
    /// What the estimate could not price or read (a model without a price, a missing read).
    pub warnings: Vec<String>,
    /// What trimtab's own means cost a month: warm-ups, provisioned concurrency, its alarms
    /// and published metrics, its reads.
    pub means_monthly: f64,
    /// What right-sizing's recommendations not yet applied would save a month.
    pub right_sizing_available: Option<f64>,
    /// What right-sizing's steps already taken save a month (against each function's memory
    /// before trimtab's first step, at today's traffic).
    pub right_sizing_realised: Option<f64>,
    /// The cost hour by hour over the window, oldest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub hourly: Vec<HourlyCost>,
}

impl CostReport {
    pub fn component(&self, name: &str) -> Option<f64> {
        self.components
            .iter()
            .find(|c| c.component == name)
            .map(|c| c.monthly)
    }
}
