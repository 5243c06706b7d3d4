//! The numerical kit behind the traffic model: a keyed random stream (SplitMix64) so any
//! minute's numbers can be regenerated from `(seed, resource, minute)` alone, the standard
//! normal's CDF and quantile, and `Agg`, one metric's values over some minutes (count, sum,
//! extremes and the distribution needed for exact or analytic percentiles).

/// SplitMix64's finaliser: a cheap, well-mixed 64-bit hash step.
pub(crate) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A stable hash of a name (FNV-1a, then mixed), so streams do not depend on insertion order
/// or on the standard library's randomised hasher.
pub(crate) fn hash_str(s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in s.as_bytes() {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    mix(h)
}

/// A small deterministic random stream. Not cryptographic; chosen because seeding it is free,
/// which matters when every minute of every function gets its own stream.
#[derive(Debug, Clone)]
pub(crate) struct Rng64 {
    state: u64,
}

impl Rng64 {
    pub(crate) fn from_key(parts: &[u64]) -> Self {
        let mut state = 0x5EED_u64;
        for p in parts {
            state = mix(state ^ p);
        }
        Self { state }
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        mix(self.state.wrapping_sub(0x9E37_79B9_7F4A_7C15))
    }

    /// Uniform in the open interval (0, 1), so logs and quantiles never see 0 or 1.
    pub(crate) fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    pub(crate) fn normal(&mut self) -> f64 {
        norm_quantile(self.uniform())
    }

    /// Poisson by inversion for small means, normal approximation for large ones (where the
    /// difference is far below the model's own noise).
    pub(crate) fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda.is_nan() || lambda <= 0.0 {
            return 0;
        }
        if lambda < 30.0 {
            let mut k = 0u64;
            let mut p = (-lambda).exp();
            let mut cdf = p;
            let u = self.uniform();
            while u > cdf && k < 1000 {
                k += 1;
                p *= lambda / k as f64;
                cdf += p;
            }
            k
        } else {
            (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64
        }
    }

    pub(crate) fn binomial(&mut self, n: u64, p: f64) -> u64 {
        if n == 0 || p.is_nan() || p <= 0.0 {
            return 0;
        }
        if p >= 1.0 {
            return n;
        }
        let mean = n as f64 * p;
        if mean < 30.0 && p < 0.5 {
            // Inversion: walk the CDF from 0; about `mean` steps.
            let q = p / (1.0 - p);
            let mut prob = (1.0 - p).powf(n as f64);
            let mut cdf = prob;
            let u = self.uniform();
            let mut k = 0u64;
            while u > cdf && k < n {
                prob *= (n - k) as f64 / (k + 1) as f64 * q;
                k += 1;
                cdf += prob;
            }
            return k;
        }
        let sd = (mean * (1.0 - p)).sqrt();
        (mean + sd * self.normal()).round().clamp(0.0, n as f64) as u64
    }
}

/// Standard normal CDF (Abramowitz & Stegun 7.1.26 via erfc; absolute error < 1.5e-7).
pub(crate) fn norm_cdf(x: f64) -> f64 {
    let z = x.abs() / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.327_591_1 * z);
    let poly = t
        * (0.254_829_592
            + t * (-0.284_496_736
                + t * (1.421_413_741 + t * (-1.453_152_027 + t * 1.061_405_429))));
    let erfc = poly * (-z * z).exp();
    if x >= 0.0 {
        1.0 - 0.5 * erfc
    } else {
        0.5 * erfc
    }
}

/// Standard normal quantile (Acklam's rational approximation; relative error < 1.2e-9).
pub(crate) fn norm_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p = p.clamp(1e-300, 1.0 - f64::EPSILON);
    let tail = |q: f64| {
        let r = (-2.0 * q.ln()).sqrt();
        (((((C[0] * r + C[1]) * r + C[2]) * r + C[3]) * r + C[4]) * r + C[5])
            / ((((D[0] * r + D[1]) * r + D[2]) * r + D[3]) * r + 1.0)
    };
    if p < 0.024_25 {
        tail(p)
    } else if p > 1.0 - 0.024_25 {
        -tail(1.0 - p)
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// Minutes with at most this many values keep every value, so their percentiles are true order
/// statistics; busier minutes are described analytically (their sample quantiles are within
/// the model's noise of the population quantiles anyway).
pub(crate) const SAMPLE_LIMIT: u64 = 200;

/// One source of values inside an [`Agg`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Component {
    /// `weight` values from LogNormal(mu, sigma), each clamped to at most `cap`.
    LogNormal {
        weight: f64,
        mu: f64,
        sigma: f64,
        cap: f64,
    },
    /// The values themselves.
    Values(Vec<f64>),
}

impl Component {
    fn weight(&self) -> f64 {
        match self {
            Component::LogNormal { weight, .. } => *weight,
            Component::Values(v) => v.len() as f64,
        }
    }

    /// How many of the component's values are ≤ x.
    fn count_le(&self, x: f64) -> f64 {
        match self {
            Component::LogNormal {
                weight,
                mu,
                sigma,
                cap,
            } => {
                if x >= *cap {
                    *weight
                } else if x <= 0.0 {
                    0.0
                } else {
                    weight * norm_cdf((x.ln() - mu) / sigma)
                }
            }
            Component::Values(v) => v.partition_point(|y| *y <= x) as f64,
        }
    }
}

/// A metric's values over one or more minutes: what every CloudWatch statistic is computed from.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Agg {
    pub count: f64,
    pub sum: f64,
    pub min: f64,
    pub max: f64,
    /// Empty for metrics AWS publishes only as aggregates (no percentiles for those).
    pub components: Vec<Component>,
}

impl Agg {
    /// `count` values whose total is `sum`, with no distribution (counters such as Invocations).
    pub(crate) fn counter(sum: f64, count: f64, min: f64, max: f64) -> Self {
        Self {
            count,
            sum,
            min,
            max,
            components: Vec::new(),
        }
    }

    /// The same count, sum and extremes without the distribution (enough for every standard
    /// statistic).
    pub(crate) fn summary(&self) -> Self {
        Self::counter(self.sum, self.count, self.min, self.max)
    }

    /// A single raw value.
    pub(crate) fn single(v: f64) -> Self {
        Self {
            count: 1.0,
            sum: v,
            min: v,
            max: v,
            components: vec![Component::Values(vec![v])],
        }
    }

    /// Exact raw values (e.g. from PutMetricData).
    pub(crate) fn values(mut values: Vec<f64>) -> Option<Self> {
        if values.is_empty() {
            return None;
        }
        values.sort_by(f64::total_cmp);
        let sum = values.iter().sum();
        Some(Self {
            count: values.len() as f64,
            sum,
            min: values[0],
            max: values[values.len() - 1],
            components: vec![Component::Values(values)],
        })
    }

    /// `n` values from a lognormal with the given mean (before clamping) and shape, clamped to
    /// `cap`. Extremes of the analytic form are drawn exactly: the max of n iid values is
    /// `F⁻¹(U^(1/n))`.
    pub(crate) fn lognormal(rng: &mut Rng64, n: u64, mean: f64, sigma: f64, cap: f64) -> Self {
        let mu = mean.max(1e-9).ln() - sigma * sigma / 2.0;
        if n <= SAMPLE_LIMIT {
            let values = (0..n)
                .map(|_| (mu + sigma * rng.normal()).exp().min(cap))
                .collect();
            return Self::values(values).unwrap_or_default();
        }
        let nf = n as f64;
        let q = |z: f64| (mu + sigma * z).exp().min(cap);
        // 1 − U^(1/n), computed without cancellation.
        let top_tail = -((rng.uniform().ln() / nf).exp_m1());
        let bottom_tail = -((rng.uniform().ln() / nf).exp_m1());
        Self {
            count: nf,
            sum: nf * clamped_lognormal_mean(mu, sigma, cap),
            min: q(norm_quantile(bottom_tail)),
            max: q(-norm_quantile(top_tail)),
            components: vec![Component::LogNormal {
                weight: nf,
                mu,
                sigma,
                cap,
            }],
        }
    }

    /// The same values multiplied by `k` > 0 (e.g. MB used → % of memory).
    pub(crate) fn scaled(mut self, k: f64) -> Self {
        self.sum *= k;
        self.min *= k;
        self.max *= k;
        for c in &mut self.components {
            match c {
                Component::LogNormal { mu, cap, .. } => {
                    *mu += k.ln();
                    *cap *= k;
                }
                Component::Values(v) => v.iter_mut().for_each(|x| *x *= k),
            }
        }
        self
    }

    pub(crate) fn merge(&mut self, other: Agg) {
        if other.count <= 0.0 && other.components.is_empty() {
            return;
        }
        if self.count <= 0.0 && self.components.is_empty() {
            *self = other;
            return;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        self.components.extend(other.components);
    }

    /// How many values exceed `x`, where the distribution is known.
    pub(crate) fn count_above(&self, x: f64) -> f64 {
        self.components
            .iter()
            .map(|c| c.weight() - c.count_le(x))
            .sum()
    }

    /// The `p`th percentile (0–100), nearest-rank for exact values, the inverse of the mixture's
    /// CDF otherwise. `None` when the metric has no distribution.
    pub(crate) fn percentile(&self, p: f64) -> Option<f64> {
        if self.components.is_empty() {
            return None;
        }
        let frac = (p / 100.0).clamp(0.0, 1.0);
        if self
            .components
            .iter()
            .all(|c| matches!(c, Component::Values(_)))
        {
            let mut all: Vec<f64> = Vec::with_capacity(self.count.max(0.0) as usize);
            for c in &self.components {
                if let Component::Values(v) = c {
                    all.extend_from_slice(v);
                }
            }
            if all.is_empty() {
                return None;
            }
            let rank = ((frac * all.len() as f64).ceil() as usize).clamp(1, all.len());
            // Selection, not a full sort: the nearest-rank value is all that is needed.
            let (_, v, _) = all.select_nth_unstable_by(rank - 1, f64::total_cmp);
            return Some(*v);
        }
        let total: f64 = self.components.iter().map(Component::weight).sum();
        let target = frac * total;
        let (mut lo, mut hi) = (self.min.min(self.max), self.max.max(self.min));
        if self.count_le(lo) >= target {
            return Some(lo);
        }
        // Bisection on the mixture CDF; 100 halvings reach f64 resolution for any range.
        for _ in 0..100 {
            let mid = lo + (hi - lo) / 2.0;
            if mid <= lo || mid >= hi {
                break;
            }
            if self.count_le(mid) >= target {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        Some(hi)
    }

    fn count_le(&self, x: f64) -> f64 {
        self.components.iter().map(|c| c.count_le(x)).sum()
    }
}

/// E[min(X, cap)] for X ~ LogNormal(mu, sigma).
pub(crate) fn clamped_lognormal_mean(mu: f64, sigma: f64, cap: f64) -> f64 {
    if !cap.is_finite() {
        return (mu + sigma * sigma / 2.0).exp();
    }
    let lc = cap.ln();
    (mu + sigma * sigma / 2.0).exp() * norm_cdf((lc - mu - sigma * sigma) / sigma)
        + cap * (1.0 - norm_cdf((lc - mu) / sigma))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantile_inverts_cdf() {
        for p in [0.001, 0.05, 0.3, 0.5, 0.8, 0.95, 0.999] {
            let x = norm_quantile(p);
            assert!((norm_cdf(x) - p).abs() < 1e-6, "p={p} x={x}");
        }
        assert!((norm_quantile(0.95) - 1.644_853_6).abs() < 1e-6);
    }

    #[test]
    fn exact_values_use_nearest_rank() {
        let agg = Agg::values((1..=100).map(f64::from).collect()).unwrap_or_default();
        assert_eq!(agg.percentile(95.0), Some(95.0));
        assert_eq!(agg.percentile(50.0), Some(50.0));
        assert_eq!(agg.percentile(100.0), Some(100.0));
        assert_eq!(Agg::counter(5.0, 5.0, 1.0, 1.0).percentile(95.0), None);
    }

    #[test]
    fn analytic_percentile_matches_lognormal_quantile() {
        let mut rng = Rng64::from_key(&[1, 2, 3]);
        let agg = Agg::lognormal(&mut rng, 10_000, 100.0, 0.3, f64::INFINITY);
        let mu = 100f64.ln() - 0.045;
        let expected = (mu + 0.3 * norm_quantile(0.95)).exp();
        let got = agg.percentile(95.0).unwrap_or(f64::NAN);
        assert!(
            (got - expected).abs() / expected < 1e-4,
            "{got} vs {expected}"
        );
        assert!((agg.sum / agg.count - 100.0).abs() < 0.01);
        assert!(agg.min < got && got < agg.max);
    }

    #[test]
    fn merged_minutes_give_mixture_percentiles_between_their_own() {
        let mut rng = Rng64::from_key(&[9]);
        let mut a = Agg::lognormal(&mut rng, 1_000, 100.0, 0.2, f64::INFINITY);
        let b = Agg::lognormal(&mut rng, 1_000, 200.0, 0.2, f64::INFINITY);
        let (pa, pb) = (
            a.percentile(50.0).unwrap_or(0.0),
            b.percentile(50.0).unwrap_or(0.0),
        );
        a.merge(b);
        let pm = a.percentile(50.0).unwrap_or(0.0);
        assert!(pa < pm && pm < pb, "{pa} {pm} {pb}");
    }

    #[test]
    fn poisson_and_binomial_have_the_right_means() {
        let mut rng = Rng64::from_key(&[7]);
        let n = 20_000;
        let small: u64 = (0..n).map(|_| rng.poisson(3.0)).sum();
        let large: u64 = (0..n).map(|_| rng.poisson(500.0)).sum();
        let bin: u64 = (0..n).map(|_| rng.binomial(1_000, 0.1)).sum();
        assert!((small as f64 / n as f64 - 3.0).abs() < 0.1);
        assert!((large as f64 / n as f64 - 500.0).abs() < 2.0);
        assert!((bin as f64 / n as f64 - 100.0).abs() < 1.0);
    }
}
