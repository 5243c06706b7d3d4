//! Durations as people write them in the config: `"250ms"`, `"60s"`, `"5m"`, `"1h30m"`.
//!
//! Parsing is humantime's (it also takes `"1h 30m"`, `"2 days"`, `"1.5h"`); formatting is ours,
//! compact and parseable again, so messages quote values in the form the user writes them.

use std::time::Duration;

/// The accepted forms, for error messages.
pub(crate) const FORMS: &str = "e.g. \"250ms\", \"60s\", \"5m\" or \"1h30m\"";

/// Parses a humantime duration; `None` when the text is not one.
pub(crate) fn parse(text: &str) -> Option<Duration> {
    humantime::parse_duration(text.trim()).ok()
}

/// Formats a duration compactly: `250ms`, `45s`, `1m30s`, `24h`, `0s`.
pub(crate) fn format(d: Duration) -> String {
    let mut out = String::new();
    let secs = d.as_secs();
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let ms = d.subsec_millis();
    for (value, unit) in [(h, "h"), (m, "m"), (s, "s"), (u64::from(ms), "ms")] {
        if value > 0 {
            out.push_str(&format!("{value}{unit}"));
        }
    }
    if out.is_empty() {
        // Below a millisecond rounds to "0s": the config has no use for finer units.
        out.push_str("0s");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        assert_eq!(parse("60s"), Some(Duration::from_secs(60)));
        assert_eq!(parse("5m"), Some(Duration::from_secs(300)));
        assert_eq!(parse("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse("250ms"), Some(Duration::from_millis(250)));
        assert_eq!(parse("60"), None);
        assert_eq!(parse("-5s"), None);
        assert_eq!(parse("soon"), None);
    }

    #[test]
    fn formats_round_trip() {
        for text in ["250ms", "45s", "1m30s", "24h", "0s", "1h0m5s250ms"] {
            let d = parse(text).unwrap_or_default();
            assert_eq!(parse(&format(d)), Some(d), "{text}");
        }
        assert_eq!(format(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format(Duration::from_millis(1500)), "1s500ms");
    }
}
