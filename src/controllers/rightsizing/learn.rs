//! What right-sizing learns of a function from its metrics, folded period by period into a
//! few hundred bytes: per memory size it has served at, decaying statistics of its duration
//! (VPA's idea: recent behaviour counts more, with a half-life), and per day the peaks that
//! must never be undercut (memory used, the longest duration, p99).
//!
//! Periods are hours (six hours for the first read of a function's history). Each period is
//! folded once, into the size that served all of it; a period that straddles a change, or
//! falls inside an alias canary (two sizes at once), is counted in the daily peaks only.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One period of a function's metrics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Period {
    pub start: SystemTime,
    pub length: Duration,
    pub invocations: f64,
    pub errors: f64,
    /// The objective's statistic (p95 by default) over the period, ms.
    pub objective_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub max_ms: Option<f64>,
    pub mean_ms: Option<f64>,
    /// Lambda Insights `used_memory_max`, Maximum over the period, MB.
    pub memory_used_mb: Option<f64>,
    /// Lambda Insights `cpu_total_time`, Average over the period, ms.
    pub cpu_ms: Option<f64>,
}

impl Period {
    pub fn empty(start: SystemTime, length: Duration) -> Self {
        Self {
            start,
            length,
            invocations: 0.0,
            errors: 0.0,
            objective_ms: None,
            p99_ms: None,
            max_ms: None,
            mean_ms: None,
            memory_used_mb: None,
            cpu_ms: None,
        }
    }

    pub fn end(&self) -> SystemTime {
        self.start + self.length
    }
}

/// Histogram buckets grow by 2 %: quantiles are within 1 % of the values folded.
const BUCKET_GROWTH: f64 = 1.02;
/// Days of peaks kept (CloudWatch keeps 1-minute data for 15 days).
const DAYS: usize = 15;

fn bucket(ms: f64) -> u16 {
    (ms.max(1.0).ln() / BUCKET_GROWTH.ln()).floor().min(f64::from(u16::MAX)) as u16
}

fn bucket_value(b: u16) -> f64 {
    BUCKET_GROWTH.powf(f64::from(b) + 0.5)
}

/// Values weighted by decaying weights, in sparse logarithmic buckets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    buckets: Vec<(u16, f32)>,
}

impl Histogram {
    fn add(&mut self, ms: f64, weight: f64) {
        let b = bucket(ms);
        match self.buckets.binary_search_by_key(&b, |(k, _)| *k) {
            Ok(i) => self.buckets[i].1 += weight as f32,
            Err(i) => self.buckets.insert(i, (b, weight as f32)),
        }
    }

    fn scale(&mut self, k: f64) {
        for (_, w) in &mut self.buckets {
            *w *= k as f32;
        }
        // Buckets whose weight has decayed to nothing are dropped.
        self.buckets.retain(|(_, w)| *w > 1e-6);
    }

    /// The weighted `q` quantile (0–1).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total: f64 = self.buckets.iter().map(|(_, w)| f64::from(*w)).sum();
        if total <= 0.0 {
            return None;
        }
        let mut seen = 0.0;
        for (b, w) in &self.buckets {
            seen += f64::from(*w);
            if seen >= q * total {
                return Some(bucket_value(*b));
            }
        }
        self.buckets.last().map(|(b, _)| bucket_value(*b))
    }
}

/// Decaying statistics of one memory size.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeStats {
    pub memory_mb: u32,
    as_of: SystemTime,
    /// Decayed invocations, the weight of everything below.
    weight: f64,
    mean_sum: f64,
    mean_weight: f64,
    error_sum: f64,
    objective: Histogram,
    /// Invocations seen at this size, not decayed.
    pub invocations: f64,
    pub periods: u32,
    pub last: SystemTime,
}

/// What the recommender reads of one size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizeSummary {
    pub memory_mb: u32,
    /// Mean duration, ms.
    pub mean_ms: f64,
    /// The objective statistic, as a high quantile (p90) of its per-period values: the level
    /// most periods stay under, not the average period.
    pub objective_ms: f64,
    pub error_rate: f64,
    pub invocations: f64,
    /// Weight decayed to now, for weighing sizes against each other.
    pub weight: f64,
}

fn decay(from: SystemTime, to: SystemTime, half_life: Duration) -> f64 {
    let dt = to.duration_since(from).unwrap_or_default().as_secs_f64();
    0.5f64.powf(dt / half_life.as_secs_f64().max(1.0))
}

impl SizeStats {
    fn new(memory_mb: u32, at: SystemTime) -> Self {
        Self {
            memory_mb,
            as_of: at,
            weight: 0.0,
            mean_sum: 0.0,
            mean_weight: 0.0,
            error_sum: 0.0,
            objective: Histogram::default(),
            invocations: 0.0,
            periods: 0,
            last: at,
        }
    }

    fn age_to(&mut self, at: SystemTime, half_life: Duration) {
        if at <= self.as_of {
            return;
        }
        let k = decay(self.as_of, at, half_life);
        self.weight *= k;
        self.mean_sum *= k;
        self.mean_weight *= k;
        self.error_sum *= k;
        self.objective.scale(k);
        self.as_of = at;
    }

    /// Folds one period's figures, weighted by its invocations and its age.
    fn add(
        &mut self,
        at: SystemTime,
        half_life: Duration,
        invocations: f64,
        errors: f64,
        mean_ms: Option<f64>,
        objective_ms: Option<f64>,
    ) {
        if invocations <= 0.0 {
            return;
        }
        // A period older than what is folded already is weighed by its own age.
        let w = if at < self.as_of {
            invocations * decay(at, self.as_of, half_life)
        } else {
            self.age_to(at, half_life);
            invocations
        };
        self.weight += w;
        self.error_sum += errors.min(invocations) * w / invocations;
        if let Some(m) = mean_ms {
            self.mean_sum += m * w;
            self.mean_weight += w;
        }
        if let Some(p) = objective_ms {
            self.objective.add(p, w);
        }
        self.invocations += invocations;
        self.periods += 1;
        self.last = self.last.max(at);
    }

    pub fn summary(&self, now: SystemTime, half_life: Duration) -> Option<SizeSummary> {
        // A high quantile of the periods' values: the level most periods stay under. But a
        // p95 over a few dozen invocations is one of its top few samples, so over sparse
        // periods the median of their values is the better estimate.
        let per_period = self.invocations / f64::from(self.periods.max(1));
        let q = if per_period >= 200.0 { 0.9 } else { 0.5 };
        let objective_ms = self.objective.quantile(q)?;
        if self.mean_weight <= 0.0 || self.weight <= 0.0 {
            return None;
        }
        Some(SizeSummary {
            memory_mb: self.memory_mb,
            mean_ms: self.mean_sum / self.mean_weight,
            objective_ms,
            error_rate: self.error_sum / self.weight,
            invocations: self.invocations,
            weight: self.weight * decay(self.as_of, now, half_life),
        })
    }
}

/// One day's peaks.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Day {
    day: u32,
    invocations: f64,
    errors: f64,
    longest_ms: f32,
    p99_ms: f32,
    memory_peak_mb: f32,
}

fn day_of(t: SystemTime) -> u32 {
    (t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) / 86_400) as u32
}

/// Everything learned of one function.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Learned {
    /// Periods ending at or before this are folded.
    pub folded_until: Option<SystemTime>,
    /// The first period with invocations.
    pub first: Option<SystemTime>,
    sizes: Vec<SizeStats>,
    days: Vec<Day>,
    cpu_sum: f64,
    cpu_weight: f64,
    cpu_as_of: Option<SystemTime>,
    /// The last period an out-of-memory kill showed in (memory used at the size, with errors).
    pub last_oom: Option<SystemTime>,
    /// The last period whose longest invocation reached the timeout, with errors.
    pub last_timeout: Option<SystemTime>,
    /// Bumped by every fold that changed anything, so a recommendation can be reused until
    /// there is something new to learn from.
    pub revision: u64,
}

/// Sizes kept: the current one and the few before it (a model needs two or three).
const SIZES: usize = 4;

/// The configuration that served a period, as far as the fold needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Served {
    /// The size that served all of the period; `None` when it straddled a change.
    pub memory_mb: Option<u32>,
    /// The timeout then, when known.
    pub timeout_s: Option<u32>,
}

impl Learned {
    /// Folds a period. Periods ending at or before `folded_until` are skipped, so reading
    /// overlapping windows never counts a period twice.
    pub fn fold(&mut self, p: &Period, served: Served, half_life: Duration) {
        let end = p.end();
        if self.folded_until.is_some_and(|f| end <= f) {
            return;
        }
        self.revision += 1;
        if p.invocations > 0.0 {
            self.first = Some(self.first.map_or(p.start, |f| f.min(p.start)));
            self.fold_day(p);
            if let Some(cpu) = p.cpu_ms {
                let at = self.cpu_as_of.unwrap_or(p.start);
                let k = decay(at, p.start, half_life);
                self.cpu_sum = self.cpu_sum * k + cpu * p.invocations;
                self.cpu_weight = self.cpu_weight * k + p.invocations;
                self.cpu_as_of = Some(at.max(p.start));
            }
            if let Some(mb) = served.memory_mb {
                self.size_mut(mb, p.start).add(
                    p.start,
                    half_life,
                    p.invocations,
                    p.errors,
                    p.mean_ms,
                    p.objective_ms,
                );
                if p.errors > 0.0
                    && p.memory_used_mb
                        .is_some_and(|used| used >= 0.97 * f64::from(mb))
                {
                    self.last_oom = Some(self.last_oom.map_or(p.start, |t| t.max(p.start)));
                }
            }
            if let (Some(timeout), Some(max)) = (served.timeout_s, p.max_ms)
                && p.errors > 0.0
                && max >= 0.98 * f64::from(timeout) * 1_000.0
            {
                self.last_timeout = Some(self.last_timeout.map_or(p.start, |t| t.max(p.start)));
            }
        }
        self.folded_until = Some(self.folded_until.map_or(end, |f| f.max(end)));
    }

    /// Folds what a canary's version served (by `ExecutedVersion`), summed into one period,
    /// into its size. Only the per-size statistics: the function's own periods count the
    /// canary's invocations already.
    pub fn fold_canary(&mut self, memory_mb: u32, p: &Period, half_life: Duration) {
        self.revision += 1;
        self.size_mut(memory_mb, p.start).add(
            p.start,
            half_life,
            p.invocations,
            p.errors,
            p.mean_ms,
            p.objective_ms,
        );
    }

    fn size_mut(&mut self, memory_mb: u32, at: SystemTime) -> &mut SizeStats {
        let i = match self.sizes.iter().position(|s| s.memory_mb == memory_mb) {
            Some(i) => i,
            None => {
                if self.sizes.len() >= SIZES {
                    // Forget the size seen longest ago.
                    if let Some(oldest) = (0..self.sizes.len()).min_by_key(|i| self.sizes[*i].last)
                    {
                        self.sizes.remove(oldest);
                    }
                }
                self.sizes.push(SizeStats::new(memory_mb, at));
                self.sizes.len() - 1
            }
        };
        &mut self.sizes[i]
    }

    fn fold_day(&mut self, p: &Period) {
        let day = day_of(p.start);
        let i = match self.days.binary_search_by_key(&day, |d| d.day) {
            Ok(i) => i,
            Err(i) => {
                self.days.insert(i, Day { day, ..Day::default() });
                if self.days.len() > DAYS {
                    self.days.remove(0);
                    i.saturating_sub(1)
                } else {
                    i
                }
            }
        };
        let d = &mut self.days[i];
        if d.day != day {
            // Older than every day kept.
            return;
        }
        d.invocations += p.invocations;
        d.errors += p.errors;
        let max = |a: &mut f32, v: Option<f64>| {
            if let Some(v) = v {
                *a = a.max(v as f32);
            }
        };
        max(&mut d.longest_ms, p.max_ms);
        max(&mut d.p99_ms, p.p99_ms);
        max(&mut d.memory_peak_mb, p.memory_used_mb);
    }

    fn recent_days(&self, now: SystemTime, days: u32) -> impl Iterator<Item = &Day> {
        let today = day_of(now);
        self.days
            .iter()
            .filter(move |d| d.day + days > today && d.day <= today)
    }

    /// Invocations over the days kept.
    pub fn invocations(&self) -> f64 {
        self.days.iter().map(|d| d.invocations).sum()
    }

    /// Invocations a day, over the last week (or what there is of it).
    pub fn daily_invocations(&self, now: SystemTime) -> f64 {
        let days: Vec<&Day> = self.recent_days(now, 7).collect();
        if days.is_empty() {
            return 0.0;
        }
        let first = days.iter().map(|d| d.day).min().unwrap_or(0);
        let span = f64::from(day_of(now) - first + 1).min(7.0);
        days.iter().map(|d| d.invocations).sum::<f64>() / span
    }

    /// The highest memory used over the days kept, MB (Lambda Insights).
    pub fn memory_peak_mb(&self) -> Option<f64> {
        self.days
            .iter()
            .map(|d| f64::from(d.memory_peak_mb))
            .filter(|v| *v > 0.0)
            .reduce(f64::max)
    }

    /// The longest invocation over the days kept, ms.
    pub fn longest_ms(&self) -> Option<f64> {
        self.days
            .iter()
            .map(|d| f64::from(d.longest_ms))
            .filter(|v| *v > 0.0)
            .reduce(f64::max)
    }

    /// The highest per-period p99 over the days kept, ms.
    pub fn p99_ms(&self) -> Option<f64> {
        self.days
            .iter()
            .map(|d| f64::from(d.p99_ms))
            .filter(|v| *v > 0.0)
            .reduce(f64::max)
    }

    /// CPU time per invocation (Lambda Insights), ms.
    pub fn cpu_ms(&self) -> Option<f64> {
        (self.cpu_weight > 0.0).then(|| self.cpu_sum / self.cpu_weight)
    }

    pub fn size(&self, memory_mb: u32, now: SystemTime, half_life: Duration) -> Option<SizeSummary> {
        self.sizes
            .iter()
            .find(|s| s.memory_mb == memory_mb)
            .and_then(|s| s.summary(now, half_life))
    }

    pub fn sizes(&self, now: SystemTime, half_life: Duration) -> Vec<SizeSummary> {
        self.sizes
            .iter()
            .filter_map(|s| s.summary(now, half_life))
            .collect()
    }

    /// How long there has been traffic to learn from.
    pub fn history(&self, now: SystemTime) -> Duration {
        self.first
            .map_or(Duration::ZERO, |f| now.duration_since(f).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3_600);
    const HALF_LIFE: Duration = Duration::from_secs(3 * 86_400);

    fn at(h: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_764_806_400 + h * 3_600)
    }

    fn hour(h: u64, inv: f64, p95: f64, mean: f64) -> Period {
        Period {
            invocations: inv,
            errors: 0.0,
            objective_ms: Some(p95),
            p99_ms: Some(p95 * 1.3),
            max_ms: Some(p95 * 2.0),
            mean_ms: Some(mean),
            memory_used_mb: Some(100.0 + h as f64 % 7.0),
            cpu_ms: Some(40.0),
            ..Period::empty(at(h), HOUR)
        }
    }

    fn served(mb: u32) -> Served {
        Served {
            memory_mb: Some(mb),
            timeout_s: Some(30),
        }
    }

    #[test]
    fn folds_each_period_once_and_keeps_peaks() {
        let mut l = Learned::default();
        for h in 0..48 {
            l.fold(&hour(h, 1_000.0, 500.0, 300.0), served(1_024), HALF_LIFE);
        }
        // Overlapping windows: the same hours again change nothing.
        let before = l.clone();
        for h in 40..48 {
            l.fold(&hour(h, 1_000.0, 900.0, 300.0), served(1_024), HALF_LIFE);
        }
        assert_eq!(l, before);
        let s = l.size(1_024, at(48), HALF_LIFE).unwrap();
        assert!((s.mean_ms - 300.0).abs() < 1e-9);
        assert!((s.objective_ms - 500.0).abs() < 5.0, "{}", s.objective_ms);
        assert_eq!(s.invocations, 48_000.0);
        assert_eq!(l.invocations(), 48_000.0);
        assert_eq!(l.memory_peak_mb(), Some(106.0));
        assert!((l.longest_ms().unwrap() - 1_000.0).abs() < 1e-3);
        assert!((l.cpu_ms().unwrap() - 40.0).abs() < 1e-9);
        assert_eq!(l.history(at(48)), 48 * HOUR);
    }

    #[test]
    fn recent_periods_outweigh_old_ones() {
        let mut l = Learned::default();
        for h in 0..240 {
            let p95 = if h < 120 { 400.0 } else { 800.0 };
            l.fold(&hour(h, 100.0, p95, p95 / 2.0), served(512), HALF_LIFE);
        }
        let s = l.size(512, at(240), HALF_LIFE).unwrap();
        // Five days at 800 against five older days at 400, half-life three days.
        assert!(s.mean_ms > 300.0 && s.mean_ms < 400.0, "{}", s.mean_ms);
        assert!((s.objective_ms - 800.0).abs() < 10.0, "{}", s.objective_ms);
    }

    #[test]
    fn straddling_periods_count_only_in_the_peaks() {
        let mut l = Learned::default();
        let unknown = Served {
            memory_mb: None,
            timeout_s: None,
        };
        l.fold(&hour(0, 100.0, 500.0, 300.0), unknown, HALF_LIFE);
        assert!(l.sizes(at(1), HALF_LIFE).is_empty());
        assert_eq!(l.invocations(), 100.0);
    }

    #[test]
    fn out_of_memory_and_timeouts_are_noticed() {
        let mut l = Learned::default();
        let mut p = hour(0, 100.0, 500.0, 300.0);
        p.errors = 3.0;
        p.memory_used_mb = Some(127.0);
        l.fold(&p, served(128), HALF_LIFE);
        assert_eq!(l.last_oom, Some(at(0)));
        assert_eq!(l.last_timeout, None);
        let mut p = hour(1, 100.0, 500.0, 300.0);
        p.errors = 1.0;
        p.max_ms = Some(29_990.0);
        l.fold(&p, served(1_024), HALF_LIFE);
        assert_eq!(l.last_timeout, Some(at(1)));
        assert_eq!(l.last_oom, Some(at(0)));
    }

    #[test]
    fn keeps_few_sizes_and_fifteen_days() {
        let mut l = Learned::default();
        for (i, mb) in [1_024, 768, 512, 384, 256].into_iter().enumerate() {
            for h in 0..24 {
                let h = i as u64 * 96 + h;
                l.fold(&hour(h, 10.0, 500.0, 300.0), served(mb), HALF_LIFE);
            }
        }
        let sizes: Vec<u32> = l.sizes(at(500), HALF_LIFE).iter().map(|s| s.memory_mb).collect();
        assert_eq!(sizes, vec![768, 512, 384, 256]);
        assert!(l.days.len() <= DAYS);
    }
}
