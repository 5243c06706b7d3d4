//! Controllers: pure functions from `Desired × Observed` to a [`Plan`]. No I/O and no clock:
//! whatever they need to know arrives in their arguments, which is what makes `trimtab plan`
//! trustworthy and the controllers testable with tables of cases.

pub mod alarms;
pub mod coldstart;
pub mod concurrency;
pub mod cost;
pub mod names;
pub mod notifications;
pub mod scope;
pub mod table_scaling;

#[cfg(test)]
pub(crate) mod fixtures;

use crate::model::{Desired, Observed, Plan};

/// Execution phases. Changes in a later phase start only after every change of the earlier
/// phases has finished.
pub const PHASE_TOPIC: u8 = 0;
pub const PHASE_SUBSCRIPTIONS: u8 = 1;
pub const PHASE_ALARMS: u8 = 2;
/// Prerequisites of capacity changes: aliases, ownership markers on functions.
pub const PHASE_PREPARE: u8 = 3;
/// New capacity and cold-start settings: reserved concurrency, scalable targets and policies,
/// warm-up rules. A tier change builds its new strategy here...
pub const PHASE_BUILD: u8 = 4;
/// ...and removes the old one only here, after every build has finished, so a function is
/// never left without warm capacity in between.
pub const PHASE_REMOVE: u8 = 5;

/// Where alarm actions point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicRef {
    /// No notifications configured: alarms get no actions.
    None,
    Known(String),
    /// The topic's ARN cannot be known yet; alarms wait for the next cycle.
    Pending(String),
}

/// The whole plan for one cycle, in execution order.
pub fn plan(desired: &Desired, observed: &Observed) -> Plan {
    let (mut plan, topic) = notifications::plan(desired, observed);
    plan.extend(alarms::plan(desired, observed, &topic));
    plan.extend(concurrency::plan(desired, observed));
    plan.extend(coldstart::plan(desired, observed));
    plan.extend(table_scaling::plan(desired, observed));
    plan.sort();
    plan
}
