//! Cost estimates of the cold-start strategies, from the list prices in `desired.prices`, so a
//! plan says what a change will cost before anyone applies it. Estimates, not bills: they ignore
//! the free tier and volume discounts, and assume a 30-day month.

use crate::model::{Architecture, Prices};

/// Seconds in the 30-day month the estimates assume.
pub const SECONDS_PER_MONTH: f64 = 30.0 * 24.0 * 3600.0;
/// Minutes in the same month.
pub const MINUTES_PER_MONTH: f64 = 30.0 * 24.0 * 60.0;

fn gb(memory_mb: u32) -> f64 {
    f64::from(memory_mb) / 1024.0
}

/// Provisioned concurrency held at `instances` for a whole month: the allocation charge only.
/// Invocations served by it are billed on top at the (lower) provisioned duration price, and
/// Application Auto Scaling may hold more than the minimum, so this is the floor of the bill.
pub fn provisioned_monthly(
    prices: &Prices,
    arch: Architecture,
    memory_mb: u32,
    instances: u32,
) -> f64 {
    let per_gb_s = match arch {
        Architecture::X86_64 => prices.provisioned_gb_second_x86,
        Architecture::Arm64 => prices.provisioned_gb_second_arm,
    };
    f64::from(instances) * gb(memory_mb) * SECONDS_PER_MONTH * per_gb_s
}

/// A warm-up firing every `every_minutes` with `concurrency` invocations each time, each billed
/// as one request plus `assumed_duration_ms` of duration.
pub fn warmup_monthly(
    prices: &Prices,
    arch: Architecture,
    memory_mb: u32,
    every_minutes: u32,
    concurrency: u32,
    assumed_duration_ms: u32,
) -> f64 {
    if every_minutes == 0 {
        return 0.0;
    }
    let per_gb_s = match arch {
        Architecture::X86_64 => prices.lambda_gb_second_x86,
        Architecture::Arm64 => prices.lambda_gb_second_arm,
    };
    let invocations = MINUTES_PER_MONTH / f64::from(every_minutes) * f64::from(concurrency);
    let per_invocation = prices.lambda_requests_per_million / 1_000_000.0
        + f64::from(assumed_duration_ms) / 1000.0 * gb(memory_mb) * per_gb_s;
    invocations * per_invocation
}

/// Dollars for people: cents for ordinary figures, four decimals for tiny ones (a warm-up
/// costs fractions of a cent), so "$0.00" never hides a real cost.
pub fn dollars(amount: f64) -> String {
    if amount > 0.0 && amount < 0.01 {
        format!("${amount:.4}")
    } else {
        format!("${amount:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn provisioned_cost_is_min_times_gb_times_month_times_price() {
        let p = Prices::default();
        // (instances, arch, MB, hand-computed $): 1 × 1 GB × 2,592,000 s × $0.0000041667.
        let cases = [
            (1, Architecture::X86_64, 1024, 10.800_086_4),
            (2, Architecture::X86_64, 512, 10.800_086_4),
            (5, Architecture::Arm64, 2048, 86.401_728),
            (0, Architecture::X86_64, 1024, 0.0),
        ];
        for (n, arch, mb, want) in cases {
            let got = provisioned_monthly(&p, arch, mb, n);
            assert!(close(got, want), "{n} × {mb} MB {arch:?}: {got} != {want}");
        }
        assert_eq!(
            dollars(provisioned_monthly(&p, Architecture::X86_64, 1024, 1)),
            "$10.80"
        );
    }

    #[test]
    fn warmup_cost_is_invocations_times_request_plus_duration() {
        let p = Prices::default();
        // Every 5 min, 1 at a time: 43,200 / 5 = 8,640 invocations; each $0.0000002 +
        // 0.05 s × 1 GB × $0.0000166667 = $0.000001033335 → $0.0089280144.
        let got = warmup_monthly(&p, Architecture::X86_64, 1024, 5, 1, 50);
        assert!(close(got, 0.008_928_014_4), "{got}");
        assert_eq!(dollars(got), "$0.0089");
        // Every minute, 10 at a time, arm64 512 MB, 100 ms: 432,000 × ($0.0000002 +
        // 0.1 × 0.5 × $0.0000133334) = 432,000 × $0.00000086667 = $0.37440144.
        let got = warmup_monthly(&p, Architecture::Arm64, 512, 1, 10, 100);
        assert!(close(got, 0.374_401_44), "{got}");
        assert_eq!(dollars(got), "$0.37");
        assert_eq!(
            warmup_monthly(&p, Architecture::Arm64, 512, 0, 10, 100),
            0.0
        );
    }
}
