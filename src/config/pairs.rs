//! Checks shared by settings readers: a `low ≤ high` pair whose two values may come from
//! different layers (a rule's override and the global default), reported at the most specific
//! key with the other key named; and Application Auto Scaling cooldowns.

use std::time::Duration;

use super::check;
use super::diag::Diags;
use super::duration;
use super::read::S;

const DAY: Duration = Duration::from_secs(86_400);

/// One side of a `low ≤ high` pair: its value and the key it came from. `at` is the key's offset
/// when the layer being checked writes it, `None` when the value comes from a layer below (which
/// was checked on its own) or from a default.
pub(crate) struct Side {
    pub key: String,
    pub value: u32,
    pub at: Option<usize>,
}

impl Side {
    /// The layer's value if it set a valid one, else the value below it.
    pub fn new(
        key_here: &str,
        here: Option<u32>,
        v: &Option<S<i64>>,
        key_below: &str,
        below: u32,
    ) -> Self {
        match here {
            Some(value) => Side {
                key: key_here.to_string(),
                value,
                at: v.as_ref().map(|v| v.span().start),
            },
            None => Side {
                key: key_below.to_string(),
                value: below,
                at: None,
            },
        }
    }
}

/// Reports `low > high` at the more specific of the two keys (`high` when both are written in
/// the layer checked), phrased with that key as the subject; `why` ends the message.
pub(crate) fn ordered(d: &mut Diags<'_>, low: &Side, high: &Side, why: &str) {
    if low.value <= high.value {
        return;
    }
    let (l, h) = (low.value, high.value);
    if let Some(at) = high.at {
        let msg = format!(
            "`{}` ({h}) must not be less than `{}` ({l}){why}",
            high.key, low.key
        );
        d.error_at(at, msg);
    } else if let Some(at) = low.at {
        let msg = format!(
            "`{}` ({l}) must not exceed `{}` ({h}){why}",
            low.key, high.key
        );
        d.error_at(at, msg);
    }
}

/// An Application Auto Scaling cooldown: whole seconds (the API's unit); a day is a sanity bound.
pub(crate) fn cooldown(d: &mut Diags<'_>, v: &Option<S<Duration>>, path: &str) -> Option<u32> {
    let x = check::duration(d, v, path, Duration::ZERO, DAY)?;
    if x.subsec_nanos() != 0 {
        let span = v.as_ref().map_or(0..0, S::span);
        let found = duration::format(x);
        d.error(
            &span,
            format!("`{path}` must be a whole number of seconds, found {found}"),
        );
        return None;
    }
    u32::try_from(x.as_secs()).ok()
}
