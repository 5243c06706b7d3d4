//! What right-sizing recommends for a function: shown by `trimtab plan`, carried by `/status`
//! (per function) and `/metrics` (totals), whatever the mode.

use serde::Serialize;

/// Where a function stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SizingState {
    /// The current size is the best the data supports.
    Optimal,
    /// A cheaper (or, to meet the objective, larger) size is recommended.
    Recommended,
    /// A step toward it is planned, or being watched as a canary.
    Changing,
    /// Out of memory or timing out: more memory or time at once.
    Emergency,
    /// Too little traffic or history to recommend anything yet.
    NotEnoughData,
    /// Someone else changed what right-sizing manages: it stands back.
    StandingBack,
    /// A change is due but must wait (the function is updating, the last change was recent).
    Waiting,
}

impl SizingState {
    pub const ALL: [SizingState; 7] = [
        SizingState::Optimal,
        SizingState::Recommended,
        SizingState::Changing,
        SizingState::Emergency,
        SizingState::NotEnoughData,
        SizingState::StandingBack,
        SizingState::Waiting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SizingState::Optimal => "optimal",
            SizingState::Recommended => "recommended",
            SizingState::Changing => "changing",
            SizingState::Emergency => "emergency",
            SizingState::NotEnoughData => "not_enough_data",
            SizingState::StandingBack => "standing_back",
            SizingState::Waiting => "waiting",
        }
    }
}

/// A memory size and timeout, with what the model predicts there.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Sizing {
    pub memory_mb: u32,
    pub timeout_s: u32,
    /// The objective's statistic (p95 by default), ms: observed at the current size, predicted
    /// (the slow end of the model's range) elsewhere.
    pub latency_ms: Option<f64>,
    /// Estimated monthly cost of the function's invocations at this size, dollars.
    pub monthly_cost: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recommendation {
    pub function: String,
    pub mode: &'static str,
    pub state: SizingState,
    pub current: Sizing,
    /// Where the data says the function should end up.
    pub proposed: Option<Sizing>,
    /// The size of the next step (bounded: a step never cuts more than `max_step`).
    pub next_memory_mb: Option<u32>,
    /// For example `p95 ≤ 3000 ms`.
    pub objective: String,
    /// Dollars a month saved at the proposed size (negative: it costs more, to meet the
    /// objective).
    pub monthly_saving: Option<f64>,
    /// Dollars a month that right-sizing's steps already taken save (negative: memory added
    /// to meet the objective costs that much), against the size before its first step.
    pub realised_monthly_saving: Option<f64>,
    /// 0–1: how narrow the model's range is, and how much traffic it rests on.
    pub confidence: Option<f64>,
    /// The signals it had: `duration`, `invocations`, `errors`, `memory_used`, `cpu_time`.
    pub signals: Vec<&'static str>,
    /// What the recommendation rests on (invocations, history, sizes observed).
    pub evidence: String,
    pub reason: String,
}

/// Dollars a month the recommendations that cut cost would save (those that add memory to
/// meet the objective are not counted against it).
pub fn saving_available(recs: &[Recommendation]) -> f64 {
    recs.iter()
        .filter_map(|r| r.monthly_saving)
        .filter(|s| *s > 0.0)
        .sum::<f64>()
        + 0.0 // an empty f64 sum is −0.0
}

/// Dollars a month that right-sizing's steps already taken save, net of those that added
/// memory.
pub fn saving_realised(recs: &[Recommendation]) -> f64 {
    recs.iter()
        .filter_map(|r| r.realised_monthly_saving)
        .sum::<f64>()
        + 0.0 // an empty f64 sum is −0.0
}

impl Recommendation {
    pub fn confidence_label(&self) -> &'static str {
        match self.confidence {
            Some(c) if c >= 0.8 => "high",
            Some(c) if c >= 0.5 => "medium",
            Some(_) => "low",
            None => "none",
        }
    }
}
