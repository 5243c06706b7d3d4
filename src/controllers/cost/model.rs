//! The cost model: usage read from CloudWatch and the configuration trimtab already reads,
//! priced with `[prices]` and `[cost]`, projected from the window read to a 30-day month.
//! Estimates, not bills: no free tier, no volume tiers.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::model::cost::{CostComponent, CostReport};
use crate::model::{Architecture, Prices};

use super::settings::Settings;

const MONTH: Duration = Duration::from_secs(30 * 86_400);

/// One function's usage over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionUsage {
    pub architecture: Architecture,
    pub memory_mb: u32,
    pub invocations: f64,
    /// Sum of durations, ms.
    pub duration_ms: f64,
    /// Provisioned concurrency held (instances), at least the scalable target's minimum.
    pub provisioned: u32,
}

/// One table's usage over the window.
#[derive(Debug, Clone, PartialEq)]
pub enum TableUsage {
    OnDemand { read_units: f64, write_units: f64 },
    /// Capacity held over the window (unit-hours), billed per hour: a table or
    /// `TABLE/index/INDEX`; `None` when CloudWatch had no figure for it.
    Provisioned {
        name: String,
        rcu_hours: Option<f64>,
        wcu_hours: Option<f64>,
    },
}

/// Everything the estimate rests on.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Usage {
    pub window: Duration,
    pub functions: Vec<FunctionUsage>,
    pub tables: Vec<TableUsage>,
    /// Bedrock tokens by model id: (input, output).
    pub tokens: BTreeMap<String, (f64, f64)>,
    /// Alarms trimtab owns (standard resolution, one metric each).
    pub alarms: usize,
    /// Custom metrics trimtab publishes.
    pub published_metrics: usize,
    /// CloudWatch metrics trimtab requests per month (GetMetricData, billed per metric).
    pub metrics_requested_per_month: f64,
    pub students: Option<f64>,
    pub students_source: String,
    /// What trimtab's warm-ups cost a month, dollars (from the cold-start controller).
    pub warmups_monthly: Option<f64>,
    /// What right-sizing's recommendations not yet applied would save a month, dollars.
    pub right_sizing_available: Option<f64>,
    /// What right-sizing's steps already taken save a month, dollars.
    pub right_sizing_realised: Option<f64>,
}

fn gb(memory_mb: u32) -> f64 {
    f64::from(memory_mb) / 1024.0
}

/// The estimate, in the configured currency (GST included when configured).
pub fn estimate(usage: &Usage, prices: &Prices, settings: &Settings) -> CostReport {
    let scale = MONTH.as_secs_f64() / usage.window.as_secs_f64().max(1.0);
    // Dollars a month → the currency, with tax.
    let money = |usd: f64| usd * settings.usd_rate * (1.0 + settings.gst);
    let mut components = Vec::new();
    let mut warnings = Vec::new();
    let mut push = |name: &str, usd_month: f64, source: String| {
        components.push(CostComponent {
            component: name.to_string(),
            monthly: money(usd_month),
            source,
        });
    };

    let (mut requests, mut compute, mut pc) = (0.0, 0.0, 0.0);
    for f in &usage.functions {
        let (gb_s, pc_gb_s) = match f.architecture {
            Architecture::X86_64 => (prices.lambda_gb_second_x86, prices.provisioned_gb_second_x86),
            Architecture::Arm64 => (prices.lambda_gb_second_arm, prices.provisioned_gb_second_arm),
        };
        requests += f.invocations * prices.lambda_requests_per_million / 1e6;
        compute += f.duration_ms / 1_000.0 * gb(f.memory_mb) * gb_s;
        pc += f64::from(f.provisioned) * gb(f.memory_mb) * usage.window.as_secs_f64() * pc_gb_s;
    }
    // Warm-up invocations are in Lambda's own figures too: shown apart, taken out of `lambda`.
    let warmups = usage.warmups_monthly.unwrap_or(0.0);
    push(
        "lambda",
        ((requests + compute) * scale - warmups).max(0.0),
        format!(
            "AWS/Lambda Invocations and Duration (Sum) of {} functions × memory, by architecture{}",
            usage.functions.len(),
            if warmups > 0.0 { ", less the warm-ups" } else { "" }
        ),
    );
    if usage.warmups_monthly.is_some() {
        push(
            "warmups",
            warmups,
            "the warm-up rules of standard-tier functions: schedule × concurrency × assumed duration".into(),
        );
    }
    push(
        "provisioned_concurrency",
        pc * scale,
        "provisioned concurrency allocated (ListProvisionedConcurrencyConfigs, once per refresh) × memory × time".into(),
    );

    let mut ddb = 0.0;
    let (mut on_demand, mut capacities) = (0, 0);
    for t in &usage.tables {
        ddb += match t {
            TableUsage::OnDemand {
                read_units,
                write_units,
            } => {
                on_demand += 1;
                (read_units * prices.dynamodb_read_per_million
                    + write_units * prices.dynamodb_write_per_million)
                    / 1e6
            }
            TableUsage::Provisioned {
                name,
                rcu_hours,
                wcu_hours,
            } => {
                capacities += 1;
                if rcu_hours.is_none() || wcu_hours.is_none() {
                    warnings.push(format!(
                        "{name}: no ProvisionedRead/WriteCapacityUnits data in the window: its capacity is left out of the total"
                    ));
                }
                rcu_hours.unwrap_or(0.0) * prices.dynamodb_rcu_hour
                    + wcu_hours.unwrap_or(0.0) * prices.dynamodb_wcu_hour
            }
        };
    }
    push(
        "dynamodb",
        ddb * scale,
        format!(
            "{on_demand} on-demand tables: consumed units; {capacities} provisioned tables and indexes: capacity-hours held (hourly Average of ProvisionedRead/WriteCapacityUnits)"
        ),
    );

    let (mut cheap, mut all) = (0.0, 0.0);
    for (model, (input, output)) in &usage.tokens {
        all += input + output;
        if settings.cheap_models.iter().any(|m| m == model) {
            cheap += input + output;
        }
        match settings.model_prices.get(model) {
            Some((pi, po)) => push(
                &format!("bedrock:{model}"),
                (input * pi + output * po) / 1e6 * scale,
                format!("AWS/Bedrock InputTokenCount and OutputTokenCount, ModelId={model}"),
            ),
            None if input + output > 0.0 => warnings.push(format!(
                "model {model} had {:.0} tokens but has no price in `cost.model_prices`: it is left out of the total",
                input + output
            )),
            None => {}
        }
    }

    push(
        "cloudwatch",
        usage.alarms as f64 * prices.cloudwatch_alarm_month
            + usage.published_metrics as f64 * prices.cloudwatch_metric_month,
        format!(
            "{} alarms trimtab owns, {} metrics it publishes",
            usage.alarms, usage.published_metrics
        ),
    );
    push(
        "trimtab",
        usage.metrics_requested_per_month * prices.get_metric_data_per_thousand / 1_000.0,
        "GetMetricData: metrics trimtab requests a month, at the pace of this process".into(),
    );

    let total_monthly = components.iter().map(|c| c.monthly).sum();
    let means_monthly = components
        .iter()
        .filter(|c| {
            matches!(
                c.component.as_str(),
                "warmups" | "provisioned_concurrency" | "cloudwatch" | "trimtab"
            )
        })
        .map(|c| c.monthly)
        .sum();
    let students = usage.students.filter(|s| *s > 0.0);
    if usage.students.is_some() && students.is_none() {
        warnings.push("no active students in the window: no cost per student".into());
    }
    CostReport {
        currency: settings.currency.clone(),
        window_s: usage.window.as_secs(),
        prices: match &prices.regional {
            Some(r) => format!("[prices.regions.{r}] over [prices]"),
            None => "[prices] (us-east-1 list prices where not set)".into(),
        },
        components,
        total_monthly,
        students,
        students_source: usage.students_source.clone(),
        per_student_monthly: students.map(|s| total_monthly / s),
        target_per_student: settings.target_per_student,
        cheap_model_share: (all > 0.0).then(|| 100.0 * cheap / all),
        warnings,
        means_monthly,
        right_sizing_available: usage.right_sizing_available.map(money),
        right_sizing_realised: usage.right_sizing_realised.map(money),
        hourly: Vec::new(),
    }
}
