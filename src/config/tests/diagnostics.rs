//! Every diagnostic, compared as the full rendered text: position and wording are the contract
//! with the person reading them.

use super::errors;

/// Prepends a valid `[cloud]` (lines 1-2), so cases need no region; expectations count it.
fn sim(rest: &str) -> String {
    format!("[cloud]\nbackend = \"simulated\"\n{rest}")
}

fn check(cases: &[(&str, &str)]) {
    for (input, expected) in cases {
        assert_eq!(errors(input), *expected, "input:\n{input}");
    }
}

#[test]
fn syntax_errors_report_the_first_one_only() {
    check(&[
        (
            "interval = \"60s\"\njitter = 0.1.2\nfoo = [\n",
            "t.toml:2:13: TOML syntax error: invalid float, expected nothing",
        ),
        (
            "[cloud]\nregion = \"us-east-1\"\n[cloud]\n",
            "t.toml:3:2: TOML syntax error: duplicate key `cloud`",
        ),
    ]);
}

#[test]
fn unknown_keys_name_the_section_and_suggest() {
    let input = sim(r#"regoin = "x"
intervall = "1m"
[alarms.duration]
treshold_ms = 5
colour = 1
[[functions]]
name = "f"
teir = "batch"
[functions.alarms.duration]
statistic = "p99"
[[simulated.functions]]
name = "g"
memory = 512
"#);
    let expected = "\
t.toml:3:1: unknown key `regoin` in [cloud]; did you mean `region`?
t.toml:4:1: unknown key `intervall` in [cloud]; expected one of: backend, region, endpoint_url, rate_limits
t.toml:6:1: unknown key `treshold_ms` in [alarms.duration]; did you mean `threshold_ms`?
t.toml:7:1: unknown key `colour` in [alarms.duration]; expected one of: enabled, threshold_ms, period, evaluation_periods, datapoints_to_alarm, treat_missing_data, statistic
t.toml:10:1: unknown key `teir` in [[functions]]; did you mean `tier`?
t.toml:12:1: unknown key `statistic` in [functions.alarms.duration]; expected one of: enabled, threshold_ms, period, evaluation_periods, datapoints_to_alarm, treat_missing_data
t.toml:15:1: unknown key `memory` in [[simulated.functions]]; did you mean `memory_mb`?";
    assert_eq!(errors(&input), expected);
    // TOML puts keys after a header into that section: a classic slip, worth its own hint.
    assert_eq!(
        errors(&sim("jitter = 0.2\n")),
        "t.toml:3:1: unknown key `jitter` in [cloud]; top-level keys go before the first [section]"
    );
    assert_eq!(
        errors("intervall = \"1m\"\n[cloud]\nbackend = \"simulated\"\n"),
        "t.toml:1:1: unknown key `intervall` at the top level; did you mean `interval`?"
    );
}

#[test]
fn wrong_types_say_what_was_expected_and_found() {
    let input = String::from("jitter = \"a\"\ninterval = 60\n")
        + &sim(r#"[executor]
concurrency = 1.5
[observe]
metrics = "yes"
[notifications]
emails = "ops@example.com"
[ownership]
adopt = ["a", 3]
"#);
    let expected = "\
t.toml:1:10: `jitter`: expected a number, found a string
t.toml:2:12: `interval`: expected a duration string (e.g. \"250ms\", \"60s\", \"5m\" or \"1h30m\"), found an integer
t.toml:6:15: `executor.concurrency`: expected an integer, found a float
t.toml:8:11: `observe.metrics`: expected a boolean (true or false), found a string
t.toml:10:10: `notifications.emails`: expected an array of strings, found a string
t.toml:12:15: `ownership.adopt`: expected a string, found an integer";
    assert_eq!(errors(&input), expected);
    check(&[
        (
            "functions = 3\n[cloud]\nbackend = \"simulated\"\n",
            "t.toml:1:13: `functions`: expected an array of tables ([[functions]]), found an integer",
        ),
        (
            "cloud = \"aws\"\n",
            "t.toml:1:1: missing section [cloud] with `region`: it is required when backend = \"aws\" (the default)\n\
             t.toml:1:9: `cloud`: expected a table, found a string",
        ),
    ]);
}

#[test]
fn values_out_of_range_name_the_range() {
    let input = String::from("jitter = 1.5\ninterval = \"0s\"\n")
        + &sim(r#"[alarms.error_rate]
threshold_percent = 150
[alarms.duration]
threshold_ms = 0
[executor]
concurrency = 0
[observe]
metrics_window = "30s"
[[simulated.functions]]
name = "f"
memory_mb = 64
error_rate = 2
"#);
    let expected = "\
t.toml:1:10: `jitter` must be at least 0 and less than 1, found 1.5
t.toml:2:12: `interval` must be between 1s and 24h, found 0s
t.toml:6:21: `alarms.error_rate.threshold_percent` must be between 0 and 100 percent, found 150
t.toml:8:16: `alarms.duration.threshold_ms` must be greater than 0 and at most 900000 ms, found 0
t.toml:10:15: `executor.concurrency` must be between 1 and 64, found 0
t.toml:12:18: `observe.metrics_window` must be between 1m and 24h, found 30s
t.toml:15:13: `simulated.functions.memory_mb` must be between 128 and 10240 MB, found 64
t.toml:16:14: `simulated.functions.error_rate` must be between 0 and 1, found 2";
    assert_eq!(errors(&input), expected);
}

#[test]
fn duplicates_point_at_the_second_and_name_the_first_line() {
    let input = sim(r#"[[functions]]
name = "voice-learning-semantic-search"
[[functions]]
name_prefix = "voice-"
[[functions]]
name = "voice-learning-semantic-search"
[[functions]]
name_prefix = "voice-"
[[tables]]
name = "sessions"
[[tables]]
name = "sessions"
"#);
    let expected = "\
t.toml:8:8: duplicate function `voice-learning-semantic-search`: already listed on line 4
t.toml:9:1: duplicate selector: the same `name_prefix` and `tags` as the rule on line 5, which always matches first
t.toml:14:8: duplicate table `sessions`: already listed on line 12";
    assert_eq!(errors(&input), expected);
}

#[test]
fn durations_must_have_units() {
    let input = sim("[executor]\nbase_backoff = \"5 parsecs\"\nmax_backoff = \"20\"\n");
    let expected = "\
t.toml:4:16: `executor.base_backoff`: invalid duration \"5 parsecs\"; write a number and a unit, e.g. \"250ms\", \"60s\", \"5m\" or \"1h30m\"
t.toml:5:15: `executor.max_backoff`: invalid duration \"20\"; write a number and a unit, e.g. \"250ms\", \"60s\", \"5m\" or \"1h30m\"";
    assert_eq!(errors(&input), expected);
    assert_eq!(
        errors(&sim(
            "[executor]\nbase_backoff = \"2s\"\nmax_backoff = \"1s\"\n"
        )),
        "t.toml:5:15: `executor.max_backoff` (1s) must not be less than `executor.base_backoff` (2s)"
    );
}

#[test]
fn enum_values_list_the_valid_ones() {
    let input = r#"[cloud]
backend = "sim"
[alarms]
treat_missing_data = "notbreaching"
[[functions]]
name = "f"
tier = "gold"
[[simulated.functions]]
name = "g"
architecture = "arm"
[[simulated.tables]]
name = "t12"
billing_mode = "PAY_PER_REQUEST"
"#;
    let expected = "\
t.toml:2:11: `cloud.backend`: invalid value \"sim\"; expected one of: aws, simulated
t.toml:4:22: `alarms.treat_missing_data`: invalid value \"notbreaching\"; expected one of: breaching, notBreaching, ignore, missing; did you mean `notBreaching`?
t.toml:7:8: `functions.tier`: invalid value \"gold\"; expected one of: critical, standard, batch
t.toml:10:16: `simulated.functions.architecture`: invalid value \"arm\"; expected one of: x86_64, arm64
t.toml:13:16: `simulated.tables.billing_mode`: invalid value \"PAY_PER_REQUEST\"; expected one of: provisioned, on_demand";
    assert_eq!(errors(input), expected);
}

#[test]
fn alarm_shapes_cloudwatch_rejects() {
    let input = sim(r#"[alarms]
period = "45s"
[alarms.duration]
datapoints_to_alarm = 5
[alarms.cost_per_student]
evaluation_periods = 48
[alarms.error_rate]
period = "1500ms"
statistic = "p95"
"#);
    let expected = "\
t.toml:4:10: `alarms.period` must be 10s, 30s or a multiple of 60s, found 45s
t.toml:6:23: `alarms.duration`: `datapoints_to_alarm` (5) cannot exceed `evaluation_periods` (3)
t.toml:8:22: `alarms.cost_per_student`: `period` × `evaluation_periods` = 1h × 48 = 48h exceeds CloudWatch's limit of 24h
t.toml:10:10: `alarms.error_rate.period` must be 10s, 30s or a multiple of 60s, found 1s500ms
t.toml:11:1: unknown key `statistic` in [alarms.error_rate]; expected one of: enabled, threshold_percent, period, evaluation_periods, datapoints_to_alarm, treat_missing_data";
    assert_eq!(errors(&input), expected);
}

#[test]
fn a_shared_alarm_key_is_reported_once_against_the_first_alarm_it_breaks() {
    // The cost alarm evaluates one period by default, so 2 datapoints can never be met.
    assert_eq!(
        errors(&sim("[alarms]\ndatapoints_to_alarm = 2\n")),
        "t.toml:4:23: `alarms.cost_per_student`: `datapoints_to_alarm` (2) cannot exceed `evaluation_periods` (1)"
    );
    assert_eq!(
        errors(&sim("[alarms]\ndatapoints_to_alarm = 4\n")),
        "t.toml:4:23: `alarms.duration`: `datapoints_to_alarm` (4) cannot exceed `evaluation_periods` (3)"
    );
}

#[test]
fn overrides_are_checked_against_the_rule_they_change() {
    let input = sim(r#"[alarms.duration]
evaluation_periods = 5
datapoints_to_alarm = 5
[[functions]]
name = "f"
[functions.alarms.duration]
evaluation_periods = 2
[functions.alarms.throttles]
period = "1h"
evaluation_periods = 25
[[tables]]
name = "sessions"
[tables.alarms.throttles]
threshold = -1
"#);
    let expected = "\
t.toml:9:22: `functions.alarms.duration`: `datapoints_to_alarm` (5) cannot exceed `evaluation_periods` (2)
t.toml:12:22: `functions.alarms.throttles`: `period` × `evaluation_periods` = 1h × 25 = 25h exceeds CloudWatch's limit of 24h
t.toml:16:13: `tables.alarms.throttles.threshold` must be between 0 and 1000000000 per period, found -1";
    assert_eq!(errors(&input), expected);
}

#[test]
fn selectors_must_select_something_and_names_stand_alone() {
    let input = sim(r#"[[functions]]
tier = "batch"
[[functions]]
tags = {}
[[functions]]
name = "f"
name_prefix = "f-"
[[functions]]
name = "bad name"
"#);
    let expected = "\
t.toml:3:1: empty selector in [[functions]]: set `name`, or `name_prefix` and/or `tags`
t.toml:6:8: empty selector in [[functions]]: set `name`, or `name_prefix` and/or `tags`
t.toml:9:15: `functions.name_prefix` cannot be combined with `name`: `name` selects exactly one function
t.toml:11:8: `functions.name` \"bad name\" is not a Lambda function name: use 1 to 64 letters, digits, `-` or `_`";
    assert_eq!(errors(&input), expected);
}

#[test]
fn rate_limits_name_real_buckets() {
    let input = sim(r#"[cloud.rate_limits]
"lambda:control_plane" = 3
"lambda:GetFunction" = 0
"#);
    let expected = "\
t.toml:4:1: unknown rate-limit bucket `lambda:control_plane` in [cloud.rate_limits]; did you mean `lambda:control-plane`?
t.toml:5:24: `cloud.rate_limits.\"lambda:GetFunction\"` must be greater than 0 and at most 1000 requests per second, found 0";
    assert_eq!(errors(&input), expected);
    let listed = errors(&sim("[cloud.rate_limits]\nfoo = 1\n"));
    assert!(
        listed.starts_with("t.toml:4:1: unknown rate-limit bucket `foo` in [cloud.rate_limits]; expected one of: application-autoscaling:read, "),
        "{listed}"
    );
}

#[test]
fn notifications_take_one_shape() {
    check(&[
        (
            &sim(
                "[notifications]\ntopic_arn = \"arn:aws:sns:us-east-1:123456789012:a\"\ntopic = \"b\"\nemails = [\"bob@\", \"a@b.c\"]\n",
            ),
            "t.toml:5:9: [notifications] sets both `topic_arn` (an existing topic) and `topic` (a topic trimtab creates); keep one\n\
             t.toml:6:11: `notifications.emails`: \"bob@\" is not a valid email address",
        ),
        (
            &sim(
                "[notifications]\ntopic_arn = \"arn:aws:sns:us-east-1:123456789012:a\"\nemails = [\"ops@example.com\"]\n",
            ),
            "t.toml:5:10: `notifications.emails` needs `topic`: trimtab subscribes emails only to a topic it creates; subscribe them to `topic_arn` yourself",
        ),
        (
            &sim("[notifications]\nemails = [\"ops@example.com\"]\n"),
            "t.toml:4:10: `notifications.emails` needs `topic`: the name of the topic trimtab creates for them",
        ),
        (
            &sim("[notifications]\ntopic_arn = \"arn:aws:sqs:us-east-1:123456789012:a\"\n"),
            "t.toml:4:13: `notifications.topic_arn` \"arn:aws:sqs:us-east-1:123456789012:a\" is not an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)",
        ),
        (
            &sim("[notifications]\ntopic = \"on call\"\nemails = [\"ops example.com\"]\n"),
            "t.toml:4:9: `notifications.topic` \"on call\": the topic name \"trimtab-on call\" (name_prefix + topic) may contain only letters, digits, `-` and `_`, at most 256\n\
             t.toml:5:11: `notifications.emails`: \"ops example.com\" is not a valid email address",
        ),
    ]);
}

#[test]
fn ownership_prefix_and_tag() {
    let input = sim("[ownership]\nname_prefix = \"trim tab\"\ntag_key = \"aws:owner\"\n");
    let expected = "\
t.toml:4:15: `ownership.name_prefix` \"trim tab\" is not a valid name prefix: use 1 to 32 letters, digits, `-`, `_` or `.`
t.toml:5:11: `ownership.tag_key` \"aws:owner\" must be 1 to 128 characters and not start with \"aws:\"";
    assert_eq!(errors(&input), expected);
    let long = format!("[ownership]\nname_prefix = \"{}\"\n", "x".repeat(33));
    assert_eq!(
        errors(&sim(&long)),
        format!(
            "t.toml:4:15: `ownership.name_prefix` \"{}\" is not a valid name prefix: use 1 to 32 letters, digits, `-`, `_` or `.`",
            "x".repeat(33)
        )
    );
}

#[test]
fn aws_needs_a_real_region() {
    check(&[
        (
            "interval = \"5m\"\n",
            "t.toml:1:1: missing section [cloud] with `region`: it is required when backend = \"aws\" (the default)",
        ),
        (
            "interval = \"5m\"\n[cloud]\nbackend = \"aws\"\n",
            "t.toml:2:1: missing key `region` in [cloud]: it is required when backend = \"aws\"",
        ),
        (
            "[cloud]\nregion = \"US East\"\nendpoint_url = \"localhost:4566\"\n",
            "t.toml:2:10: `cloud.region` \"US East\" is not an AWS region name such as \"us-east-1\"\n\
             t.toml:3:16: `cloud.endpoint_url` \"localhost:4566\" must be an http:// or https:// URL",
        ),
    ]);
}

#[test]
fn simulated_account_checks() {
    let input = sim(r#"[[simulated.functions]]
memory_mb = 256
used_memory_mb = 512
[[simulated.functions]]
name = "a"
[[simulated.functions]]
name = "a"
[[simulated.tables]]
name = "abc"
read_capacity = 3
[simulated.faults]
failing_operations = ["PutMetricAlrm", "PutRule"]
"#);
    let expected = "\
t.toml:3:1: missing key `name` in [[simulated.functions]]
t.toml:5:18: `simulated.functions.used_memory_mb` must be between 1 and 256 MB (memory_mb), found 512
t.toml:9:8: duplicate simulated function `a`: already defined on line 7
t.toml:12:17: `simulated.tables.read_capacity` applies only to billing_mode = \"provisioned\"
t.toml:14:23: unknown operation `PutMetricAlrm` in `simulated.faults.failing_operations`; did you mean `PutMetricAlarm`?";
    assert_eq!(errors(&input), expected);
}

#[test]
fn every_problem_is_reported_in_file_order() {
    // Problems found by different stages (reading, then checking) interleave by position.
    let input = r#"interval = "soon"
jitter = -0.5
[cloud]
backend = "simulated"
colour = "blue"
[alarms.duration]
threshold_ms = "3s"
datapoints_to_alarm = 9
[[functions]]
name = "f"
tier = "critical"
[[functions]]
name = "f"
[notifications]
emails = ["x"]
"#;
    let expected = "\
t.toml:1:12: `interval`: invalid duration \"soon\"; write a number and a unit, e.g. \"250ms\", \"60s\", \"5m\" or \"1h30m\"
t.toml:2:10: `jitter` must be at least 0 and less than 1, found -0.5
t.toml:5:1: unknown key `colour` in [cloud]; expected one of: backend, region, endpoint_url, rate_limits
t.toml:7:16: `alarms.duration.threshold_ms`: expected a number, found a string
t.toml:8:23: `alarms.duration`: `datapoints_to_alarm` (9) cannot exceed `evaluation_periods` (3)
t.toml:13:8: duplicate function `f`: already listed on line 10
t.toml:15:10: `notifications.emails` needs `topic`: the name of the topic trimtab creates for them
t.toml:15:11: `notifications.emails`: \"x\" is not a valid email address";
    assert_eq!(errors(input), expected);
}
