//! Per-operation call counters: what tests and benchmarks assert on ("the second cycle makes
//! zero writes", "observation costs N GetMetricData calls").

use std::collections::BTreeMap;

use crate::cloud::Op;

/// Calls made against the simulated account, by operation.
#[derive(Debug, Clone, Default)]
pub struct OpCounters {
    pub by_op: BTreeMap<Op, OpCount>,
}

/// One operation's calls. Every call counts in `calls`; a call refused by the quota counts in
/// `throttled`, any other failure (injected or a real error such as `NotFound`) in `failed`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OpCount {
    pub calls: u64,
    pub throttled: u64,
    pub failed: u64,
}

impl OpCounters {
    pub fn calls(&self, op: Op) -> u64 {
        self.by_op.get(&op).map_or(0, |c| c.calls)
    }

    pub fn throttled(&self, op: Op) -> u64 {
        self.by_op.get(&op).map_or(0, |c| c.throttled)
    }

    pub fn failed(&self, op: Op) -> u64 {
        self.by_op.get(&op).map_or(0, |c| c.failed)
    }

    pub fn total_calls(&self) -> u64 {
        self.by_op.values().map(|c| c.calls).sum()
    }

    /// Calls of operations that change the account, whatever their outcome.
    pub fn write_calls(&self) -> u64 {
        self.by_op
            .iter()
            .filter(|(op, _)| op.is_write())
            .map(|(_, c)| c.calls)
            .sum()
    }

    pub fn total_throttled(&self) -> u64 {
        self.by_op.values().map(|c| c.throttled).sum()
    }

    pub(crate) fn entry(&mut self, op: Op) -> &mut OpCount {
        self.by_op.entry(op).or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_calls_count_only_writing_operations() {
        let mut c = OpCounters::default();
        c.entry(Op::DescribeAlarms).calls = 3;
        c.entry(Op::PutMetricAlarm).calls = 2;
        c.entry(Op::PutMetricAlarm).failed = 1;
        c.entry(Op::DeleteAlarms).calls = 1;
        assert_eq!(c.total_calls(), 6);
        assert_eq!(c.write_calls(), 3);
        assert_eq!(c.calls(Op::GetFunction), 0);
    }
}
