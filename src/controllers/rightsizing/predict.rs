//! Duration versus memory. Lambda gives a function CPU in proportion to its memory (1,769 MB
//! is one vCPU) up to what its own threads can use, so its mean duration is close to
//!
//! ```text
//! d(m) = io + cpu × 1769 / min(m, P × 1769)
//! ```
//!
//! with `io` the time spent waiting (a model API, a table), `cpu` its CPU work, and `P` its
//! parallelism. Lambda Insights' `cpu_total_time` measures `cpu` directly (Sizeless's insight:
//! CPU time over duration is what predicts speed at another size); each size the function has
//! served at pins the curve further (Parrotfish fits its curve from a few sizes).
//!
//! What the data does not pin is left open rather than guessed: the model is the *set* of
//! (io, P) that fit every observed size, and a prediction is a range. The recommender checks
//! the latency objective against the slow end of the range and prices the middle, so an
//! unknown function is cut only as far as its worst case allows, and each step narrows the
//! range for the next.

use super::learn::SizeSummary;

/// Memory at which a function gets one vCPU.
pub const MB_PER_VCPU: f64 = 1_769.0;
/// The most vCPUs Lambda gives (at 10,240 MB).
const MAX_VCPUS: f64 = 6.0;

const PARALLELISM: [f64; 7] = [1.0, 1.25, 1.5, 2.0, 3.0, 4.0, MAX_VCPUS];
const IO_STEPS: usize = 40;
/// A candidate fits when its error is within this share of the best candidate's.
const FIT_SLACK: f64 = 0.015;

/// One candidate curve.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Curve {
    io: f64,
    cpu: f64,
    parallelism: f64,
}

impl Curve {
    fn mean_ms(&self, memory_mb: u32) -> f64 {
        self.io + self.cpu * scale(memory_mb, self.parallelism)
    }
}

/// CPU time needed per unit of CPU work at `memory_mb`: 1 at one full vCPU.
fn scale(memory_mb: u32, parallelism: f64) -> f64 {
    MB_PER_VCPU / f64::from(memory_mb.max(1)).min(parallelism * MB_PER_VCPU)
}

/// A predicted mean duration: the fastest, central and slowest of the curves that fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub low: f64,
    pub mid: f64,
    pub high: f64,
}

/// The curves consistent with what was observed.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    curves: Vec<Curve>,
    /// Whether CPU time was measured (Lambda Insights) rather than inferred.
    pub measured_cpu: bool,
    /// Sizes the fit rests on.
    pub sizes: usize,
}

impl Model {
    /// Fits the curves to the sizes observed (weighted by their decayed invocations) and, when
    /// Lambda Insights measured it, the CPU time per invocation. `None` without any size.
    pub fn fit(sizes: &[SizeSummary], cpu_ms: Option<f64>) -> Option<Model> {
        let reference = sizes
            .iter()
            .filter(|s| s.mean_ms > 0.0 && s.weight > 0.0)
            .max_by(|a, b| a.weight.total_cmp(&b.weight))?;
        let mut scored: Vec<(f64, Curve)> = Vec::new();
        for &parallelism in &PARALLELISM {
            let candidates: Vec<Curve> = match cpu_ms {
                // CPU work measured: only the waiting time is fitted.
                Some(cpu) => {
                    let (mut num, mut den) = (0.0, 0.0);
                    for s in sizes {
                        num += s.weight * (s.mean_ms - cpu * scale(s.memory_mb, parallelism));
                        den += s.weight;
                    }
                    let io = (num / den.max(1e-12)).max(0.0);
                    // CPU time above what the duration allows (multi-threaded below a vCPU,
                    // or noise): scale the work to fit.
                    let cpu = if io == 0.0 {
                        cpu.min(reference.mean_ms / scale(reference.memory_mb, parallelism))
                    } else {
                        cpu
                    };
                    vec![Curve {
                        io,
                        cpu,
                        parallelism,
                    }]
                }
                // Unknown split: every share of waiting time, the CPU work fitted to each.
                None => (0..=IO_STEPS)
                    .map(|i| {
                        let io = reference.mean_ms * i as f64 / IO_STEPS as f64;
                        let (mut num, mut den) = (0.0, 0.0);
                        for s in sizes {
                            let x = scale(s.memory_mb, parallelism);
                            num += s.weight * x * (s.mean_ms - io);
                            den += s.weight * x * x;
                        }
                        Curve {
                            io,
                            cpu: (num / den.max(1e-12)).max(0.0),
                            parallelism,
                        }
                    })
                    .collect(),
            };
            for c in candidates {
                scored.push((relative_error(&c, sizes), c));
            }
        }
        let best = scored.iter().map(|(e, _)| *e).fold(f64::INFINITY, f64::min);
        // For one parallelism, the fitted work is linear in the waiting time, so every
        // prediction is too: the extremes of the range come from the extremes of the waiting
        // times that fit. Keeping only those keeps predictions cheap.
        let mut curves: Vec<Curve> = Vec::new();
        for &parallelism in &PARALLELISM {
            let fit = scored
                .iter()
                .filter(|(e, c)| *e <= best + FIT_SLACK && c.parallelism == parallelism)
                .map(|(_, c)| *c);
            let lo = fit.clone().min_by(|a, b| a.io.total_cmp(&b.io));
            let hi = fit.max_by(|a, b| a.io.total_cmp(&b.io));
            curves.extend(lo);
            if hi != lo {
                curves.extend(hi);
            }
        }
        Some(Model {
            curves,
            measured_cpu: cpu_ms.is_some(),
            sizes: sizes.len(),
        })
    }

    /// The predicted mean duration at `memory_mb`.
    pub fn mean_ms(&self, memory_mb: u32) -> Range {
        let mut low = f64::INFINITY;
        let mut high: f64 = 0.0;
        for c in &self.curves {
            let d = c.mean_ms(memory_mb);
            low = low.min(d);
            high = high.max(d);
        }
        Range {
            low,
            mid: (low + high) / 2.0,
            high,
        }
    }

    /// The share of the duration that is waiting rather than computing, at `memory_mb`
    /// (central estimate).
    pub fn io_share(&self, memory_mb: u32) -> f64 {
        let n = self.curves.len().max(1) as f64;
        self.curves
            .iter()
            .map(|c| c.io / c.mean_ms(memory_mb).max(1e-9))
            .sum::<f64>()
            / n
    }
}

/// Weighted relative RMS error of a curve against the sizes observed.
fn relative_error(c: &Curve, sizes: &[SizeSummary]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for s in sizes {
        let e = (c.mean_ms(s.memory_mb) - s.mean_ms) / s.mean_ms.max(1e-9);
        num += s.weight * e * e;
        den += s.weight;
    }
    (num / den.max(1e-12)).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(memory_mb: u32, mean_ms: f64) -> SizeSummary {
        SizeSummary {
            memory_mb,
            mean_ms,
            objective_ms: mean_ms * 1.6,
            error_rate: 0.0,
            invocations: 10_000.0,
            weight: 1_000.0,
        }
    }

    fn truth(io: f64, cpu: f64, p: f64, m: u32) -> f64 {
        Curve {
            io,
            cpu,
            parallelism: p,
        }
        .mean_ms(m)
    }

    #[test]
    fn measured_cpu_pins_the_curve_below_one_vcpu() {
        let (io, cpu) = (300.0, 200.0);
        let m = Model::fit(&[size(1_024, truth(io, cpu, 1.0, 1_024))], Some(cpu)).unwrap();
        for mb in [128, 256, 512, 1_024, 1_769] {
            let r = m.mean_ms(mb);
            let want = truth(io, cpu, 1.0, mb);
            assert!((r.high - want).abs() < 1e-6 && (r.low - want).abs() < 1e-6, "{mb}: {r:?} vs {want}");
        }
        // Above a vCPU, parallelism is unknown: the range opens.
        let r = m.mean_ms(3_538);
        assert!(r.high > r.low + 50.0, "{r:?}");
        assert!((r.high - truth(io, cpu, 1.0, 3_538)).abs() < 1e-6);
    }

    #[test]
    fn one_size_without_cpu_time_brackets_every_split() {
        let m = Model::fit(&[size(1_024, 500.0)], None).unwrap();
        let down = m.mean_ms(512);
        // All CPU: twice as slow; all waiting: as fast.
        assert!((down.high - 1_000.0).abs() < 1e-6, "{down:?}");
        assert!((down.low - 500.0).abs() < 1e-6, "{down:?}");
        let up = m.mean_ms(2_048);
        assert!((up.high - 500.0).abs() < 1e-6, "{up:?}");
        assert!(up.low < 500.0);
    }

    #[test]
    fn two_sizes_without_cpu_time_find_the_split() {
        let (io, cpu) = (400.0, 100.0);
        let sizes = [
            size(1_024, truth(io, cpu, 1.0, 1_024)),
            size(512, truth(io, cpu, 1.0, 512)),
        ];
        let m = Model::fit(&sizes, None).unwrap();
        let r = m.mean_ms(256);
        let want = truth(io, cpu, 1.0, 256);
        assert!(r.high < want * 1.1 && r.low > want * 0.9, "{r:?} vs {want}");
        assert!(m.io_share(1_024) > 0.6, "{}", m.io_share(1_024));
    }

    #[test]
    fn sizes_above_one_vcpu_reveal_parallelism() {
        let (io, cpu) = (10.0, 2_000.0);
        let sizes = [
            size(1_769, truth(io, cpu, 1.0, 1_769)),
            size(3_538, truth(io, cpu, 1.0, 3_538)),
        ];
        let m = Model::fit(&sizes, Some(cpu)).unwrap();
        // Single-threaded: nothing to gain above a vCPU, and the model knows it.
        let r = m.mean_ms(7_076);
        assert!((r.low - truth(io, cpu, 1.0, 7_076)).abs() < 1.0, "{r:?}");
    }
}
