//! Warm-up schedules: a configured `rate(...)` becomes a per-function cron expression, so
//! hundreds of warm-ups do not all fire in the same minute.

use crate::controllers::shared::names::fnv1a;

/// Turns a configured schedule into the one the function's rule uses, and how many minutes
/// apart it fires when that is known (for the cost estimate).
///
/// A `rate(...)` would fire every function's warm-up at the same moment, a burst of invocations
/// (and of cold starts on the warm-up itself) every N minutes. So it is rewritten as a cron
/// expression with a per-function offset from a stable hash of the name, which spreads hundreds
/// of functions evenly over the interval. EventBridge schedules have minute resolution and no
/// control over the second, so the minute is the finest spread available. A `cron(...)` is the
/// user's explicit choice and is used as is.
pub fn spread_schedule(expr: &str, function: &str) -> Result<(String, Option<u32>), String> {
    let expr = expr.trim();
    if expr.starts_with("cron(") && expr.ends_with(')') {
        return Ok((expr.to_string(), cron_interval(expr)));
    }
    let bad = || {
        format!(
            "warm-up schedule {expr:?} is not rate(N minutes) with N 1–59, rate(N hours) with N 1–23, or cron(...)"
        )
    };
    let inner = expr
        .strip_prefix("rate(")
        .and_then(|s| s.strip_suffix(')'))
        .ok_or_else(bad)?;
    let (n, unit) = inner.trim().split_once(' ').ok_or_else(bad)?;
    let n: u32 = n.parse().map_err(|_| bad())?;
    let hash = fnv1a(function.as_bytes());
    let minutes = match unit.trim() {
        "minute" | "minutes" if n.is_multiple_of(60) => n,
        "minute" | "minutes" => {
            if !(1..=59).contains(&n) {
                return Err(bad());
            }
            // Fires at O, O+N, ... each hour: exact when N divides 60, which rates usually do.
            let offset = hash % u64::from(n);
            return Ok((format!("cron({offset}/{n} * * * ? *)"), Some(n)));
        }
        "hour" | "hours" => n.saturating_mul(60),
        _ => return Err(bad()),
    };
    let hours = minutes / 60;
    if !(1..=23).contains(&hours) {
        return Err(bad());
    }
    let minute = hash % 60;
    // Spread over the hours of the interval too, from another part of the hash.
    let hour = (hash / 60) % u64::from(hours);
    Ok((
        format!("cron({minute} {hour}/{hours} * * ? *)"),
        Some(minutes),
    ))
}

/// The interval of the simple crons `spread_schedule` writes (or a user writes alike).
fn cron_interval(expr: &str) -> Option<u32> {
    let fields: Vec<&str> = expr
        .strip_prefix("cron(")?
        .strip_suffix(')')?
        .split_whitespace()
        .collect();
    let [minute, hour, "*", "*", "?", "*"] = fields.as_slice() else {
        return None;
    };
    let step = |f: &str| -> Option<u32> { f.split_once('/')?.1.parse().ok() };
    match (minute.parse::<u32>().is_ok(), *hour) {
        (false, "*") => step(minute),
        (true, "*") => Some(60),
        (true, h) => step(h).map(|n| n * 60),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn schedules_are_spread_per_function_and_deterministic() {
        let cases = [
            (
                "rate(5 minutes)",
                "api",
                Ok((format!("cron({}/5 * * * ? *)", fnv1a(b"api") % 5), Some(5))),
            ),
            (
                "rate(1 minute)",
                "api",
                Ok(("cron(0/1 * * * ? *)".to_string(), Some(1))),
            ),
            (
                "rate(2 hours)",
                "api",
                Ok((
                    format!(
                        "cron({} {}/2 * * ? *)",
                        fnv1a(b"api") % 60,
                        fnv1a(b"api") / 60 % 2
                    ),
                    Some(120),
                )),
            ),
            (
                "rate(120 minutes)",
                "api",
                Ok((
                    format!(
                        "cron({} {}/2 * * ? *)",
                        fnv1a(b"api") % 60,
                        fnv1a(b"api") / 60 % 2
                    ),
                    Some(120),
                )),
            ),
            (
                "cron(0/15 8-18 ? * MON-FRI *)",
                "api",
                Ok(("cron(0/15 8-18 ? * MON-FRI *)".to_string(), None)),
            ),
            (
                "cron(7/10 * * * ? *)",
                "api",
                Ok(("cron(7/10 * * * ? *)".to_string(), Some(10))),
            ),
        ];
        for (expr, f, want) in cases {
            assert_eq!(spread_schedule(expr, f), want, "{expr}");
        }
        for bad in [
            "rate(90 minutes)",
            "rate(0 minutes)",
            "rate(1 day)",
            "every 5 minutes",
            "rate(x minutes)",
        ] {
            let err = spread_schedule(bad, "api").expect_err(bad);
            assert!(err.contains("is not rate(N minutes)"), "{err}");
        }

        // 200 functions over 10 minutes use every minute, with no minute holding a crowd.
        let mut per_minute = [0u32; 10];
        for i in 0..200 {
            let name = format!("svc-{i}");
            let (a, _) = spread_schedule("rate(10 minutes)", &name).expect("valid");
            let (b, _) = spread_schedule("rate(10 minutes)", &name).expect("valid");
            assert_eq!(a, b, "deterministic");
            let offset: usize = a["cron(".len()..a.find('/').expect("step")]
                .parse()
                .expect("minute");
            per_minute[offset] += 1;
        }
        assert!(
            per_minute.iter().all(|n| (8..=32).contains(n)),
            "{per_minute:?}"
        );
        let offsets: BTreeSet<String> = ["api", "web", "auth", "search"]
            .iter()
            .map(|f| {
                spread_schedule("rate(5 minutes)", f)
                    .map(|s| s.0)
                    .unwrap_or_default()
            })
            .collect();
        assert!(
            offsets.len() > 1,
            "different functions, different minutes: {offsets:?}"
        );
    }
}
