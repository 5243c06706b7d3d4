//! Small checks shared by the converters: numeric and duration ranges, and the shapes of names
//! AWS accepts. Each check reports at the value's span and returns the value only if it passes,
//! so callers fall back to the default and keep going.

use std::time::Duration;

use toml::Spanned;

use super::diag::Diags;
use super::duration;

/// A closed or half-open numeric range, described in words for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bounds {
    pub lo: f64,
    pub lo_inclusive: bool,
    /// Upper bound and whether it is inclusive; `None` for no upper bound.
    pub hi: Option<(f64, bool)>,
    /// Unit appended to the description, e.g. "MB"; empty for none.
    pub unit: &'static str,
}

impl Bounds {
    /// `lo ≤ x ≤ hi`.
    pub const fn between(lo: f64, hi: f64, unit: &'static str) -> Self {
        Self {
            lo,
            lo_inclusive: true,
            hi: Some((hi, true)),
            unit,
        }
    }

    /// `x ≥ lo`.
    pub const fn at_least(lo: f64, unit: &'static str) -> Self {
        Self {
            lo,
            lo_inclusive: true,
            hi: None,
            unit,
        }
    }

    /// `x > lo` (and `x ≤ hi` if given).
    pub const fn above(lo: f64, hi: Option<f64>, unit: &'static str) -> Self {
        Self {
            lo,
            lo_inclusive: false,
            hi: match hi {
                Some(hi) => Some((hi, true)),
                None => None,
            },
            unit,
        }
    }

    pub fn contains(&self, x: f64) -> bool {
        let above = if self.lo_inclusive {
            x >= self.lo
        } else {
            x > self.lo
        };
        let below = match self.hi {
            None => true,
            Some((hi, true)) => x <= hi,
            Some((hi, false)) => x < hi,
        };
        above && below
    }

    pub fn describe(&self) -> String {
        let (lo, unit) = (self.lo, self.unit);
        let text = match (self.lo_inclusive, self.hi) {
            (true, None) => format!("at least {lo}"),
            (false, None) => format!("greater than {lo}"),
            (true, Some((hi, true))) => format!("between {lo} and {hi}"),
            (true, Some((hi, false))) => format!("at least {lo} and less than {hi}"),
            (false, Some((hi, true))) => format!("greater than {lo} and at most {hi}"),
            (false, Some((hi, false))) => format!("greater than {lo} and less than {hi}"),
        };
        if unit.is_empty() {
            text
        } else {
            format!("{text} {unit}")
        }
    }
}

fn out_of_range(
    d: &mut Diags<'_>,
    span: &std::ops::Range<usize>,
    path: &str,
    b: &Bounds,
    found: &str,
) {
    d.error(
        span,
        format!("`{path}` must be {}, found {found}", b.describe()),
    );
}

/// A number within bounds.
pub(crate) fn number(
    d: &mut Diags<'_>,
    v: &Option<Spanned<f64>>,
    path: &str,
    b: Bounds,
) -> Option<f64> {
    let v = v.as_ref()?;
    let x = *v.get_ref();
    if b.contains(x) {
        Some(x)
    } else {
        out_of_range(d, &v.span(), path, &b, &shown(d.source(&v.span())));
        None
    }
}

/// A value as written, cut short if long (a 10 MB value must not flood the message).
pub(crate) fn shown(text: &str) -> String {
    const MAX: usize = 40;
    match text.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}… ({} characters)", &text[..end], text.chars().count()),
        None => text.to_string(),
    }
}

/// An integer within bounds, converted to the model's integer type.
pub(crate) fn int<T: TryFrom<i64>>(
    d: &mut Diags<'_>,
    v: &Option<Spanned<i64>>,
    path: &str,
    b: Bounds,
) -> Option<T> {
    let v = v.as_ref()?;
    let x = *v.get_ref();
    // Bounds are small enough that the f64 comparison is exact.
    match T::try_from(x) {
        Ok(t) if b.contains(x as f64) => Some(t),
        // Within an open-ended range but beyond the model's integer type.
        Err(_) if b.contains(x as f64) => {
            d.error(&v.span(), format!("`{path}`: integer {x} is too large"));
            None
        }
        _ => {
            out_of_range(d, &v.span(), path, &b, &x.to_string());
            None
        }
    }
}

/// A duration within `lo..=hi`.
pub(crate) fn duration(
    d: &mut Diags<'_>,
    v: &Option<Spanned<Duration>>,
    path: &str,
    lo: Duration,
    hi: Duration,
) -> Option<Duration> {
    let v = v.as_ref()?;
    let x = *v.get_ref();
    if (lo..=hi).contains(&x) {
        Some(x)
    } else {
        let (lo, hi, x) = (
            duration::format(lo),
            duration::format(hi),
            duration::format(x),
        );
        d.error(
            &v.span(),
            format!("`{path}` must be between {lo} and {hi}, found {x}"),
        );
        None
    }
}

/// A string that passes `valid`; otherwise `message(value)` is reported.
pub(crate) fn text(
    d: &mut Diags<'_>,
    v: &Option<Spanned<String>>,
    valid: impl Fn(&str) -> bool,
    message: impl Fn(&str) -> String,
) -> Option<String> {
    let v = v.as_ref()?;
    if valid(v.get_ref()) {
        Some(v.get_ref().clone())
    } else {
        // A long value is shown cut short.
        d.error(&v.span(), message(&shown(v.get_ref())));
        None
    }
}

fn chars_in(s: &str, extra: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || extra.contains(c))
}

/// A prefix for the names of alarms, topics and rules trimtab creates. CloudWatch alarm names
/// allow far more, but the prefix also starts SNS topic and EventBridge rule names, which allow
/// only these characters, and it must leave room for the rest of the name.
pub(crate) fn is_name_prefix(s: &str) -> bool {
    (1..=32).contains(&s.chars().count()) && chars_in(s, "-_.")
}

/// A Lambda function name (not an ARN): 1 to 64 letters, digits, `-` or `_`.
pub(crate) fn is_function_name(s: &str) -> bool {
    (1..=64).contains(&s.len()) && chars_in(s, "-_")
}

/// A Lambda alias name: 1 to 128 letters, digits, `-` or `_`, and not only digits (that would
/// be a version). `$LATEST` fails the character check.
pub(crate) fn is_alias_name(s: &str) -> bool {
    (1..=128).contains(&s.len()) && chars_in(s, "-_") && !s.chars().all(|c| c.is_ascii_digit())
}

/// Why `s` is not a warm-up schedule, completing a sentence that starts with the quoted value;
/// `None` when it is one. EventBridge takes `rate(N unit)` (singular unit for 1, plural above)
/// and six-field `cron(...)`; a warm-up rate is at least a minute and counted in minutes or
/// hours (a day apart, no instance is still warm).
pub(crate) fn schedule_problem(s: &str) -> Option<String> {
    const FORMS: &str = "write \"rate(N minutes)\", \"rate(N hours)\" or \"cron(...)\"";
    if let Some(body) = s.strip_prefix("rate(").and_then(|b| b.strip_suffix(')')) {
        let generic = Some(format!("is not a rate expression: {FORMS}"));
        let Some((n, unit)) = body.split_once(' ') else {
            return generic;
        };
        if n.is_empty() || !n.chars().all(|c| c.is_ascii_digit()) {
            return generic;
        }
        let Ok(n) = n.parse::<u64>() else {
            return generic;
        };
        let (singular, plural) = match unit {
            "minute" | "minutes" => ("minute", "minutes"),
            "hour" | "hours" => ("hour", "hours"),
            "second" | "seconds" => {
                return Some("is too frequent: a warm-up rate is at least 1 minute".into());
            }
            "day" | "days" => return Some("is not a warm-up rate: use minutes or hours".into()),
            _ => return generic,
        };
        return match n {
            0 => Some("is too frequent: a warm-up rate is at least 1 minute".into()),
            1 if unit != singular => Some(format!(
                "must be written \"rate(1 {singular})\": EventBridge wants a singular unit for 1"
            )),
            2.. if unit != plural => Some(format!(
                "must be written \"rate({n} {plural})\": EventBridge wants a plural unit above 1"
            )),
            _ => None,
        };
    }
    if let Some(body) = s.strip_prefix("cron(").and_then(|b| b.strip_suffix(')')) {
        let fields: Vec<&str> = body.split_whitespace().collect();
        if fields.len() != 6 {
            return Some(format!(
                "has {} fields: a cron expression has 6 (minutes hours day-of-month month day-of-week year)",
                fields.len()
            ));
        }
        return cron_problem(&fields);
    }
    Some(format!("is not a schedule expression: {FORMS}"))
}

/// What EventBridge would reject in a six-field cron expression: each field's values and
/// ranges, names of months and days, and `?` in exactly one of day-of-month and day-of-week.
fn cron_problem(fields: &[&str]) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ];
    const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    // (name, lowest, highest, names, extra wildcards)
    let spec: [(&str, u32, u32, &[&str], &str); 6] = [
        ("minutes", 0, 59, &[], ""),
        ("hours", 0, 23, &[], ""),
        ("day-of-month", 1, 31, &[], "?LW"),
        ("month", 1, 12, &MONTHS, ""),
        ("day-of-week", 1, 7, &DAYS, "?L#"),
        ("year", 1970, 2199, &[], ""),
    ];
    let value = |v: &str, lo: u32, hi: u32, names: &[&str]| -> bool {
        let v = v.trim_end_matches(['L', 'W']);
        let v = v.split('#').next().unwrap_or(v);
        v.parse::<u32>().is_ok_and(|n| (lo..=hi).contains(&n))
            || names.contains(&v.to_ascii_uppercase().as_str())
            || (v.is_empty() && lo == 1)
    };
    for (field, (name, lo, hi, names, extra)) in fields.iter().zip(spec) {
        let ok = field.split(',').all(|part| {
            if part == "*" || (part.len() == 1 && extra.contains(part)) {
                return true;
            }
            let (range, step) = match part.split_once('/') {
                Some((r, s)) => (r, Some(s)),
                None => (part, None),
            };
            let step_ok = step.is_none_or(|s| s.parse::<u32>().is_ok_and(|n| n >= 1));
            let range_ok = range == "*"
                || match range.split_once('-') {
                    Some((a, b)) => value(a, lo, hi, names) && value(b, lo, hi, names),
                    None => value(range, lo, hi, names),
                };
            step_ok && range_ok && !range.is_empty()
        });
        if !ok {
            return Some(format!(
                "has an invalid {name} field \"{field}\" ({lo}-{hi}{}, `*`, `,`, `-`, `/`{})",
                if names.is_empty() {
                    String::new()
                } else {
                    format!(" or {}-{}", names[0], names[names.len() - 1])
                },
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", {}",
                        extra
                            .chars()
                            .map(|c| format!("`{c}`"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    )
                }
            ));
        }
    }
    let (dom, dow) = (fields[2], fields[4]);
    if (dom == "?") == (dow == "?") {
        return Some(
            "must have `?` in exactly one of day-of-month and day-of-week, as EventBridge requires"
                .into(),
        );
    }
    None
}

/// A DynamoDB table name: 3 to 255 letters, digits, `_`, `-` or `.`.
pub(crate) fn is_table_name(s: &str) -> bool {
    (3..=255).contains(&s.len()) && chars_in(s, "-_.")
}

/// An SNS topic name: 1 to 256 letters, digits, `-` or `_`.
pub(crate) fn is_topic_name(s: &str) -> bool {
    (1..=256).contains(&s.len()) && chars_in(s, "-_")
}

/// `arn:PARTITION:sns:REGION:ACCOUNT:NAME`.
pub(crate) fn is_topic_arn(s: &str) -> bool {
    let parts: Vec<&str> = s.split(':').collect();
    matches!(parts.as_slice(),
        ["arn", partition, "sns", region, account, name]
            if partition.starts_with("aws")
                && is_region(region)
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit())
                && is_topic_name(name.trim_end_matches(".fifo")))
}

/// A region name such as `us-east-1` or `ap-southeast-2`: lowercase words joined by `-`, ending
/// in a number. A sanity check against typos, not a list, so new regions need no release.
pub(crate) fn is_region(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() >= 3
        && parts
            .last()
            .is_some_and(|n| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()))
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
}

/// A plausible email address: `local@domain.tld`, no spaces. SNS confirms the address by mail;
/// this only catches typos that would make the subscription fail outright.
pub(crate) fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let labels: Vec<&str> = domain.split('.').collect();
    s.len() <= 254
        && !local.is_empty()
        && !s.chars().any(|c| c.is_whitespace() || c.is_control())
        && !domain.contains('@')
        && labels.len() >= 2
        && labels.iter().all(|l| !l.is_empty() && chars_in(l, "-"))
}

/// An `http://` or `https://` URL with a host.
pub(crate) fn is_endpoint_url(s: &str) -> bool {
    ["http://", "https://"].iter().any(|scheme| {
        s.strip_prefix(scheme)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(' '))
    })
}

/// A tag key: 1 to 128 characters, not in AWS's reserved `aws:` namespace.
pub(crate) fn is_tag_key(s: &str) -> bool {
    (1..=128).contains(&s.chars().count()) && !s.to_ascii_lowercase().starts_with("aws:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_shapes() {
        assert!(is_name_prefix("trimtab-"));
        assert!(!is_name_prefix("trim tab"));
        assert!(!is_name_prefix(""));
        assert!(!is_name_prefix(&"x".repeat(33)));
        assert!(
            is_region("us-east-1") && is_region("ap-southeast-2") && is_region("us-gov-west-1")
        );
        assert!(!is_region("US East") && !is_region("us-east") && !is_region("useast1"));
        assert!(is_email("ops@example.com") && is_email("a.b+c@mail.example.in"));
        assert!(
            !is_email("ops@")
                && !is_email("ops example.com")
                && !is_email("a@b")
                && !is_email("a@@b.c")
        );
        assert!(is_topic_arn("arn:aws:sns:us-east-1:123456789012:alerts"));
        assert!(!is_topic_arn("arn:aws:sqs:us-east-1:123456789012:alerts"));
        assert!(is_endpoint_url("http://127.0.0.1:5000") && !is_endpoint_url("localhost:5000"));
        assert!(!is_tag_key("aws:cloudformation:stack-name") && is_tag_key("team"));
        assert!(is_alias_name("live") && is_alias_name("v2") && is_alias_name("blue_green-1"));
        assert!(!is_alias_name("$LATEST") && !is_alias_name("12") && !is_alias_name(""));
        assert!(!is_alias_name(&"a".repeat(129)) && !is_alias_name("my alias"));
    }

    #[test]
    fn schedules() {
        for ok in [
            "rate(1 minute)",
            "rate(5 minutes)",
            "rate(1 hour)",
            "rate(2 hours)",
            "cron(0/5 8-17 ? * MON-FRI *)",
        ] {
            assert_eq!(schedule_problem(ok), None, "{ok}");
        }
        for bad in [
            "rate(5 minute)",
            "rate(1 minutes)",
            "rate(0 minutes)",
            "rate(30 seconds)",
            "rate(1 day)",
            "rate(5  minutes)",
            "rate(-5 minutes)",
            "rate(five minutes)",
            "rate(5)",
            "cron(0/5 * * * *)",
            "every 5 minutes",
            "",
        ] {
            assert!(schedule_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn bounds_read_naturally() {
        assert_eq!(
            Bounds::between(0.0, 100.0, "percent").describe(),
            "between 0 and 100 percent"
        );
        assert_eq!(
            Bounds::above(0.0, Some(900000.0), "ms").describe(),
            "greater than 0 and at most 900000 ms"
        );
        assert_eq!(Bounds::at_least(1.0, "").describe(), "at least 1");
        assert!(!Bounds::above(0.0, None, "").contains(0.0));
    }
}
