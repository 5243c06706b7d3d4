//! `[cost]`, and the currency and model prices in `[prices]`.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::read::{Bounds, Opt, check};
use crate::controllers::SettingsCx;

/// Where the number of active students comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Students {
    /// A metric the application publishes.
    Metric {
        namespace: String,
        name: String,
        statistic: String,
    },
    /// A fixed number, for a demo or before the application publishes one.
    Constant(f64),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub enabled: bool,
    /// How far back usage is read; figures are projected from it to a 30-day month.
    pub window: Duration,
    /// How often usage is read again (CloudWatch bills per metric read).
    pub refresh: Duration,
    pub students: Students,
    /// Publish the cost per student (and the total) with PutMetricData, hourly, to the metric
    /// the cost alarm watches.
    pub publish: bool,
    /// ₹8–15 for the voice-learning application.
    pub target_per_student: (f64, f64),
    /// Model ids whose tokens count as cheap for the model-mix check.
    pub cheap_models: Vec<String>,
    /// The model-mix check: at least this share (%) of tokens on the cheap models.
    pub model_mix_min_percent: f64,
    // From `[prices]`:
    pub currency: String,
    /// Units of the currency per US dollar (AWS prices are in dollars).
    pub usd_rate: f64,
    /// Tax added to every figure (India's GST on AWS invoices: 0.18); 0 for none.
    pub gst: f64,
    /// Bedrock prices per million tokens, dollars: model id → (input, output).
    pub model_prices: BTreeMap<String, (f64, f64)>,
}

/// The application's active-students metric, by default.
const STUDENTS_NAMESPACE: &str = "VoiceLearning";
const STUDENTS_METRIC: &str = "ActiveStudents";
const STUDENTS_STATISTIC: &str = "Maximum";

pub const HAIKU_3: &str = "anthropic.claude-3-haiku-20240307-v1:0";
pub const HAIKU_35: &str = "anthropic.claude-3-5-haiku-20241022-v1:0";
pub const SONNET_35: &str = "anthropic.claude-3-5-sonnet-20241022-v2:0";

impl Default for Settings {
    fn default() -> Self {
        Self {
            enabled: true,
            window: Duration::from_secs(24 * 3_600),
            refresh: Duration::from_secs(3_600),
            students: Students::Metric {
                namespace: STUDENTS_NAMESPACE.into(),
                name: STUDENTS_METRIC.into(),
                statistic: STUDENTS_STATISTIC.into(),
            },
            publish: true,
            target_per_student: (8.0, 15.0),
            cheap_models: vec![HAIKU_3.into(), HAIKU_35.into()],
            model_mix_min_percent: 95.0,
            currency: "INR".into(),
            usd_rate: 84.0,
            gst: 0.18,
            model_prices: [
                (HAIKU_3, (0.25, 1.25)),
                (HAIKU_35, (0.80, 4.0)),
                (SONNET_35, (3.0, 15.0)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        }
    }
}

const HOUR: Duration = Duration::from_secs(3_600);

pub(super) fn read(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
    let dflt = Settings::default();
    let d = &mut *cx.d;
    let s = cx.sections.get(d, "cost");
    let enabled: Opt<bool> = s.bool(d, "enabled");
    let window = s.duration(d, "window");
    let refresh = s.duration(d, "refresh");
    let students = s.number(d, "students");
    let students_namespace = s.string(d, "students_namespace");
    let students_metric = s.string(d, "students_metric");
    let students_statistic = s.choice(
        d,
        "students_statistic",
        &[
            ("Maximum", "Maximum"),
            ("Average", "Average"),
            ("Minimum", "Minimum"),
        ],
    );
    let publish: Opt<bool> = s.bool(d, "publish");
    let target_min = s.number(d, "target_min_per_student");
    let target_max = s.number(d, "target_max_per_student");
    let cheap = s.strings(d, "cheap_models");
    let mix = s.number(d, "model_mix_min_percent");

    let p = cx.sections.get(d, "prices");
    let currency = p.string(d, "currency");
    let usd_rate = p.number(d, "usd_rate");
    let gst = p.number(d, "gst");
    let input = p.number_map(d, "bedrock_input_per_million");
    let output = p.number_map(d, "bedrock_output_per_million");

    // Upper bounds far above any real figure: a larger one is a typo (an exponent, a lost point).
    let money = Bounds::between(0.0, 1e6, "");
    let window = check::duration(d, &window, "cost.window", HOUR, 7 * 24 * HOUR);
    let refresh = check::duration(
        d,
        &refresh,
        "cost.refresh",
        Duration::from_secs(300),
        24 * HOUR,
    );
    let constant = check::number(d, &students, "cost.students", Bounds::between(0.0, 1e10, "students"));
    let text = |d: &mut _, v: &Opt<String>, path: &str, dflt: &str| {
        check::text(d, v, |s: &str| !s.is_empty() && s.len() <= 255, |s| {
            format!("`{path}` must be 1 to 255 characters, found \"{s}\"")
        })
        .unwrap_or_else(|| dflt.to_string())
    };
    let students = match constant {
        Some(n) => Students::Constant(n),
        None => Students::Metric {
            namespace: text(
                d,
                &students_namespace,
                "cost.students_namespace",
                STUDENTS_NAMESPACE,
            ),
            name: text(d, &students_metric, "cost.students_metric", STUDENTS_METRIC),
            statistic: students_statistic
                .map_or(STUDENTS_STATISTIC, |s| *s.get_ref())
                .to_string(),
        },
    };
    let lo = check::number(d, &target_min, "cost.target_min_per_student", money)
        .unwrap_or(dflt.target_per_student.0);
    let hi = check::number(d, &target_max, "cost.target_max_per_student", money)
        .unwrap_or(dflt.target_per_student.1);
    if lo > hi
        && let Some(at) = target_max.as_ref().or(target_min.as_ref())
    {
        d.error(
            &at.span(),
            format!("`cost` target per student is reversed: min {lo} above max {hi}"),
        );
    }
    let mut model_prices = dflt.model_prices.clone();
    let mut seen_input = Vec::new();
    for (model, v) in input.map(|m| m.into_inner()).unwrap_or_default() {
        let path = format!("prices.bedrock_input_per_million.{}", model.get_ref());
        if let Some(x) = check::number(d, &Some(v), &path, money) {
            model_prices.entry(model.get_ref().clone()).or_insert((0.0, 0.0)).0 = x;
            seen_input.push(model.get_ref().clone());
        }
    }
    for (model, v) in output.map(|m| m.into_inner()).unwrap_or_default() {
        let path = format!("prices.bedrock_output_per_million.{}", model.get_ref());
        if let Some(x) = check::number(d, &Some(v), &path, money) {
            let known = model_prices.contains_key(model.get_ref());
            if !known && !seen_input.contains(model.get_ref()) {
                d.error(
                    &model.span(),
                    format!(
                        "`prices.bedrock_output_per_million` has model \"{}\" but `prices.bedrock_input_per_million` does not",
                        model.get_ref()
                    ),
                );
            }
            model_prices.entry(model.get_ref().clone()).or_insert((0.0, 0.0)).1 = x;
        }
    }
    Settings {
        enabled: enabled.is_none_or(|e| *e.get_ref()),
        window: window.unwrap_or(dflt.window),
        refresh: refresh.unwrap_or(dflt.refresh),
        students,
        publish: publish.is_none_or(|e| *e.get_ref()),
        target_per_student: (lo, hi),
        cheap_models: cheap
            .map(|c| c.into_inner().into_iter().map(|s| s.into_inner()).collect())
            .unwrap_or(dflt.cheap_models),
        model_mix_min_percent: check::number(
            d,
            &mix,
            "cost.model_mix_min_percent",
            Bounds::between(0.0, 100.0, "%"),
        )
        .unwrap_or(dflt.model_mix_min_percent),
        currency: check::text(
            d,
            &currency,
            |s: &str| s.len() == 3 && s.chars().all(|c| c.is_ascii_uppercase()),
            |s| format!("`prices.currency` must be an ISO 4217 code such as \"INR\" or \"USD\", found \"{s}\""),
        )
        .unwrap_or(dflt.currency),
        usd_rate: check::number(d, &usd_rate, "prices.usd_rate", Bounds::above(0.0, Some(1e6), ""))
            .unwrap_or(dflt.usd_rate),
        gst: check::number(d, &gst, "prices.gst", Bounds::between(0.0, 1.0, ""))
            .unwrap_or(dflt.gst),
        model_prices,
    }
}
