//! The reserved-concurrency controller's settings: `[capacity].unreserved_floor` and a rule's
//! `reserved_concurrency`.

use crate::config::read::{Bounds, check};
use crate::controllers::{EntryCx, SettingsCx};

/// AWS refuses reserved concurrency that leaves fewer than 100 unreserved executions; plans that
/// would go below the floor are refused before AWS is asked.
pub const UNRESERVED_FLOOR: u32 = 100;

#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// A plan that would leave fewer unreserved concurrent executions in the account is refused
    /// (AWS itself requires at least 100).
    pub unreserved_floor: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            unreserved_floor: UNRESERVED_FLOOR,
        }
    }
}

pub(super) fn read(cx: &mut SettingsCx<'_, '_, '_>) -> Settings {
    let d = &mut *cx.d;
    let raw = cx.sections.get(d, "capacity").int(d, "unreserved_floor");
    Settings {
        unreserved_floor: check::int(
            d,
            &raw,
            "capacity.unreserved_floor",
            Bounds::at_least(100.0, "(AWS keeps 100 unreserved)"),
        )
        .unwrap_or(UNRESERVED_FLOOR),
    }
}

/// Above any account's concurrency quota (the default is 1,000; raised ones are tens of
/// thousands).
const MAX_RESERVED: f64 = 100_000.0;

/// A rule's `reserved_concurrency`: the value trimtab sets on each matching function; `None`
/// leaves it alone (and removes a value trimtab itself set earlier).
pub(super) fn read_rule(cx: &mut EntryCx<'_, '_, '_>) -> Option<u32> {
    let raw = cx.section.int(cx.d, "reserved_concurrency");
    check::int(
        cx.d,
        &raw,
        "functions.reserved_concurrency",
        // No account's concurrency quota comes near this: a larger value is a typo.
        Bounds::between(0.0, MAX_RESERVED, ""),
    )
}
