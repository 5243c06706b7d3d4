//! Fault injection: random transient failures from a seeded generator, added latency, and
//! operations configured to always fail.

use std::time::Duration;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::cloud::{CloudError, Op};
use crate::model::SimFaults;

use super::errors;

#[derive(Debug)]
pub(crate) struct Faults {
    pub settings: SimFaults,
    rng: StdRng,
}

/// What the injector decided for one call.
pub(crate) struct Decision {
    pub latency: Duration,
    pub error: Option<CloudError>,
}

impl Faults {
    pub(crate) fn new(settings: SimFaults, seed: u64) -> Self {
        Self {
            settings,
            // Kept apart from the traffic seed's streams so faults do not shift the traffic.
            rng: StdRng::seed_from_u64(seed ^ 0xFA17_FA17_FA17_FA17),
        }
    }

    pub(crate) fn decide(&mut self, op: Op) -> Decision {
        let named = self
            .settings
            .failing_operations
            .iter()
            .any(|n| n == op.name());
        // Draw only when random faults are on, so turning them off leaves the stream untouched.
        let random =
            self.settings.error_rate > 0.0 && self.rng.random::<f64>() < self.settings.error_rate;
        let error = if named {
            Some(errors::injected(op))
        } else if random {
            Some(errors::transient(op))
        } else {
            None
        };
        Decision {
            latency: self.settings.latency,
            error,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::ErrorKind;

    #[test]
    fn named_operations_always_fail_and_random_faults_follow_the_rate() {
        let mut f = Faults::new(
            SimFaults {
                error_rate: 0.25,
                latency: Duration::from_millis(50),
                failing_operations: vec!["PutMetricAlarm".into()],
            },
            42,
        );
        for _ in 0..20 {
            let d = f.decide(Op::PutMetricAlarm);
            let e = d.error.map(|e| (e.kind, e.code));
            assert_eq!(e, Some((ErrorKind::Other, Some("InjectedFault".into()))));
        }
        let failures = (0..4_000)
            .filter(|_| f.decide(Op::DescribeAlarms).error.is_some())
            .count();
        assert!((800..1_200).contains(&failures), "{failures}");
        assert_eq!(f.decide(Op::GetFunction).latency, Duration::from_millis(50));
    }
}
