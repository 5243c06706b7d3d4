//! `[capacity]`, `[cold_start]`, `[table_scaling]`, `[prices]` and their per-function and
//! per-table overrides: every diagnostic as full rendered text, then what a valid file means.

use super::{errors, ok};
use crate::controllers::coldstart::settings::{
    ColdStartOverride, ColdStartSettings, ProvisionedSettings, WarmupSettings,
};
use crate::controllers::table_scaling::{Settings as TableScaling, TableScalingOverride};
use crate::model::{Prices, Tier};

/// Prepends a valid `[cloud]` (lines 1-2), so cases need no region; expectations count it.
fn sim(rest: &str) -> String {
    format!("[cloud]\nbackend = \"simulated\"\n{rest}")
}

#[test]
fn global_sections_check_types_ranges_and_keys() {
    let input = sim(r#"[capacity]
unreserved = 200
unreserved_floor = 50
control_plane_budget = 0
[cold_start]
manage_alias = "yes"
[cold_start.provisioned]
target_utilization = 0.95
min = 0
[cold_start.warmup]
shedule = "rate(5 minutes)"
concurrency = 101
assumed_duration_ms = 0
[table_scaling]
enabled = 1
target_utilization = 95
read_min = 0
write_max = 40001
[prices]
lambda_gb_second_x86_64 = 0.00001
lambda_requests_per_million = 0
provisioned_gb_second_arm = "cheap"
"#);
    let expected = "\
t.toml:4:1: unknown key `unreserved` in [capacity]; expected one of: unreserved_floor, control_plane_budget
t.toml:5:20: `capacity.unreserved_floor` must be at least 100 (AWS keeps 100 unreserved), found 50
t.toml:6:24: `capacity.control_plane_budget` must be greater than 0 and at most 1 (a share of 15 requests per second), found 0
t.toml:8:16: `cold_start.manage_alias`: expected a boolean (true or false), found a string
t.toml:10:22: `cold_start.provisioned.target_utilization` must be between 0.1 and 0.9, found 0.95
t.toml:11:7: `cold_start.provisioned.min` must be at least 1, found 0
t.toml:13:1: unknown key `shedule` in [cold_start.warmup]; did you mean `schedule`?
t.toml:14:15: `cold_start.warmup.concurrency` must be between 1 and 100, found 101
t.toml:15:23: `cold_start.warmup.assumed_duration_ms` must be between 1 and 900000 ms, found 0
t.toml:17:11: `table_scaling.enabled`: expected a boolean (true or false), found an integer
t.toml:18:22: `table_scaling.target_utilization` must be between 20 and 90 percent, found 95
t.toml:19:12: `table_scaling.read_min` must be between 1 and 40000 units, found 0
t.toml:20:13: `table_scaling.write_max` must be between 1 and 40000 units, found 40001
t.toml:22:1: unknown key `lambda_gb_second_x86_64` in [prices]; did you mean `lambda_gb_second_x86`?
t.toml:23:31: `prices.lambda_requests_per_million` must be greater than 0 and at most 10000 dollars, found 0
t.toml:24:29: `prices.provisioned_gb_second_arm`: expected a number, found a string";
    assert_eq!(errors(&input), expected);
}

#[test]
fn the_control_plane_rate_is_set_in_one_place() {
    let input = sim(r#"[cloud.rate_limits]
"lambda:control-plane" = 5
[capacity]
control_plane_budget = 0.2
"#);
    assert_eq!(
        errors(&input),
        "t.toml:6:24: `capacity.control_plane_budget` and `cloud.rate_limits.\"lambda:control-plane\"` both set trimtab's Lambda control-plane rate; keep one"
    );
}

#[test]
fn alias_names_follow_lambdas_rules() {
    let cases = [
        (
            "$LATEST",
            "t.toml:4:9: `cold_start.alias` cannot be \"$LATEST\": provisioned concurrency needs an alias",
        ),
        (
            "12",
            "t.toml:4:9: `cold_start.alias` \"12\" is a version number, not an alias name: include a letter, `-` or `_`",
        ),
        (
            "my alias",
            "t.toml:4:9: `cold_start.alias` \"my alias\" is not a Lambda alias name: use 1 to 128 letters, digits, `-` or `_`",
        ),
        (
            "",
            "t.toml:4:9: `cold_start.alias` \"\" is not a Lambda alias name: use 1 to 128 letters, digits, `-` or `_`",
        ),
    ];
    for (alias, expected) in cases {
        let input = sim(&format!("[cold_start]\nalias = \"{alias}\"\n"));
        assert_eq!(errors(&input), expected, "{alias}");
    }
    let long = "a".repeat(129);
    assert!(errors(&sim(&format!("[cold_start]\nalias = \"{long}\"\n"))).contains("1 to 128"));
}

#[test]
fn warmup_schedules_are_eventbridge_rates_or_crons() {
    let cases = [
        (
            "rate(5 minute)",
            "\"rate(5 minute)\" must be written \"rate(5 minutes)\": EventBridge wants a plural unit above 1",
        ),
        (
            "rate(1 hours)",
            "\"rate(1 hours)\" must be written \"rate(1 hour)\": EventBridge wants a singular unit for 1",
        ),
        (
            "rate(30 seconds)",
            "\"rate(30 seconds)\" is too frequent: a warm-up rate is at least 1 minute",
        ),
        (
            "rate(0 minutes)",
            "\"rate(0 minutes)\" is too frequent: a warm-up rate is at least 1 minute",
        ),
        (
            "rate(1 day)",
            "\"rate(1 day)\" is not a warm-up rate: use minutes or hours",
        ),
        (
            "rate(five minutes)",
            "\"rate(five minutes)\" is not a rate expression: write \"rate(N minutes)\", \"rate(N hours)\" or \"cron(...)\"",
        ),
        (
            "cron(0/5 * * * *)",
            "\"cron(0/5 * * * *)\" has 5 fields: a cron expression has 6 (minutes hours day-of-month month day-of-week year)",
        ),
        (
            "every 5 minutes",
            "\"every 5 minutes\" is not a schedule expression: write \"rate(N minutes)\", \"rate(N hours)\" or \"cron(...)\"",
        ),
    ];
    for (schedule, tail) in cases {
        let input = sim(&format!("[cold_start.warmup]\nschedule = \"{schedule}\"\n"));
        let expected = format!("t.toml:4:12: `cold_start.warmup.schedule` {tail}");
        assert_eq!(errors(&input), expected, "{schedule}");
    }
}

#[test]
fn cooldowns_are_whole_seconds_up_to_a_day() {
    let input = sim(r#"[cold_start.provisioned]
scale_in_cooldown = "1500ms"
scale_out_cooldown = "2 days"
[table_scaling]
scale_in_cooldown = "soon"
scale_out_cooldown = 60
"#);
    let expected = "\
t.toml:4:21: `cold_start.provisioned.scale_in_cooldown` must be a whole number of seconds, found 1s500ms
t.toml:5:22: `cold_start.provisioned.scale_out_cooldown` must be between 0s and 24h, found 48h
t.toml:7:21: `table_scaling.scale_in_cooldown`: invalid duration \"soon\"; write a number and a unit, e.g. \"250ms\", \"60s\", \"5m\" or \"1h30m\"
t.toml:8:22: `table_scaling.scale_out_cooldown`: expected a duration string (e.g. \"250ms\", \"60s\", \"5m\" or \"1h30m\"), found an integer";
    assert_eq!(errors(&input), expected);
}

#[test]
fn minimums_and_maximums_are_compared_after_overrides_at_the_most_specific_key() {
    let input = sim(r#"[cold_start.provisioned]
min = 5
max = 2
[table_scaling]
read_max = 50
write_min = 50
write_max = 40
[[functions]]
name = "a"
tier = "critical"
[functions.cold_start]
provisioned_min = 20
[[functions]]
name = "b"
tier = "critical"
[functions.cold_start]
provisioned_max = 4
provisioned_min = 6
[[tables]]
name = "abc"
[tables.scaling]
read_min = 60
write_max = 2
"#);
    // The global pair is reported once; rule `a` breaks it again with its own minimum.
    let expected = "\
t.toml:5:7: `cold_start.provisioned.max` (2) must not be less than `cold_start.provisioned.min` (5)
t.toml:9:13: `table_scaling.write_max` (40) must not be less than `table_scaling.write_min` (50)
t.toml:14:19: `functions.cold_start.provisioned_min` (20) must not exceed `cold_start.provisioned.max` (2)
t.toml:19:19: `functions.cold_start.provisioned_max` (4) must not be less than `functions.cold_start.provisioned_min` (6)
t.toml:24:12: `tables.scaling.read_min` (60) must not exceed `table_scaling.read_max` (50)
t.toml:25:13: `tables.scaling.write_max` (2) must not be less than `table_scaling.write_min` (50)";
    assert_eq!(errors(&input), expected);
}

#[test]
fn reserved_concurrency_bounds_what_the_tier_needs() {
    let input = sim(r#"[[functions]]
name = "a"
reserved_concurrency = -1
[[functions]]
name = "b"
tier = "critical"
reserved_concurrency = 5
[[functions]]
name = "c"
tier = "critical"
reserved_concurrency = 8
[functions.cold_start]
provisioned_max = 12
[[functions]]
name = "d"
tier = "standard"
reserved_concurrency = 0
[[functions]]
name = "e"
tier = "standard"
reserved_concurrency = 2
[functions.cold_start]
warmup_concurrency = 3
[[functions]]
name = "f"
reserved_concurrency = 99999999999
"#);
    let expected = "\
t.toml:5:24: `functions.reserved_concurrency` must be between 0 and 100000, found -1
t.toml:9:24: `functions.reserved_concurrency` (5) must not be less than `cold_start.provisioned.max` (10): Lambda never provisions more than a function's reserved concurrency
t.toml:13:24: `functions.reserved_concurrency` (8) must not be less than `functions.cold_start.provisioned_max` (12): Lambda never provisions more than a function's reserved concurrency
t.toml:19:24: `functions.reserved_concurrency` (0) must not be less than `cold_start.warmup.concurrency` (1): the warm-up invocations would be throttled
t.toml:23:24: `functions.reserved_concurrency` (2) must not be less than `functions.cold_start.warmup_concurrency` (3): the warm-up invocations would be throttled
t.toml:28:24: `functions.reserved_concurrency` must be between 0 and 100000, found 99999999999";
    assert_eq!(errors(&input), expected);
}

#[test]
fn cold_start_overrides_for_another_tier_would_have_no_effect() {
    let input = sim(r#"[[functions]]
name = "a"
[functions.cold_start]
provisioned_min = 3
warmup_schedule = "rate(1 minute)"
[[functions]]
name = "b"
tier = "critical"
[functions.cold_start]
provisioned_minimum = 2
warmup_concurrency = 2
target_utilization = 0.95
[[functions]]
name = "c"
tier = "standard"
[functions.cold_start]
target_utilization = 0.5
provisioned_max = 5
warmup_concurrency = 0
warmup_schedule = "rate(10 minute)"
[[functions]]
name = "d"
tier = "gold"
[functions.cold_start]
provisioned_min = 0
"#);
    // A wrong tier is reported once; the keys below it are still range-checked.
    let expected = "\
t.toml:6:19: `functions.cold_start.provisioned_min` applies only to tier = \"critical\"; this rule's tier is \"batch\" (the default), so it would have no effect
t.toml:7:19: `functions.cold_start.warmup_schedule` applies only to tier = \"standard\"; this rule's tier is \"batch\" (the default), so it would have no effect
t.toml:12:1: unknown key `provisioned_minimum` in [functions.cold_start]; did you mean `provisioned_min`?
t.toml:13:22: `functions.cold_start.warmup_concurrency` applies only to tier = \"standard\"; this rule's tier is \"critical\", so it would have no effect
t.toml:14:22: `functions.cold_start.target_utilization` must be between 0.1 and 0.9, found 0.95
t.toml:19:22: `functions.cold_start.target_utilization` applies only to tier = \"critical\"; this rule's tier is \"standard\", so it would have no effect
t.toml:20:19: `functions.cold_start.provisioned_max` applies only to tier = \"critical\"; this rule's tier is \"standard\", so it would have no effect
t.toml:21:22: `functions.cold_start.warmup_concurrency` must be between 1 and 100, found 0
t.toml:22:19: `functions.cold_start.warmup_schedule` \"rate(10 minute)\" must be written \"rate(10 minutes)\": EventBridge wants a plural unit above 1
t.toml:25:8: `functions.tier`: invalid value \"gold\"; expected one of: critical, standard, batch
t.toml:27:19: `functions.cold_start.provisioned_min` must be at least 1, found 0";
    assert_eq!(errors(&input), expected);
}

#[test]
fn table_scaling_overrides_take_only_their_keys() {
    let input = sim(r#"[[tables]]
name = "abc"
[tables.scaling]
enabled = "no"
target_utilization = 10
read_max = 0
scale_in_cooldown = "1m"
"#);
    let expected = "\
t.toml:6:11: `tables.scaling.enabled`: expected a boolean (true or false), found a string
t.toml:7:22: `tables.scaling.target_utilization` must be between 20 and 90 percent, found 10
t.toml:8:12: `tables.scaling.read_max` must be between 1 and 40000 units, found 0
t.toml:9:1: unknown key `scale_in_cooldown` in [tables.scaling]; expected one of: enabled, target_utilization, read_min, read_max, write_min, write_max, disable_scale_in";
    assert_eq!(errors(&input), expected);
}

#[test]
fn a_file_with_many_capacity_mistakes_reports_them_all_in_order() {
    let input = r#"[cloud]
backend = "simulated"
[[functions]]
name = "voice-learning-response-generator"
tier = "critical"
reserved_concurrency = 4
[functions.cold_start]
warmup_schedule = "rate(5 minutes)"
[[tables]]
name = "voice-learning-sessions"
[tables.scaling]
write_min = 2000
[capacity]
control_plane_budget = 1.5
[cold_start]
alias = "$LATEST"
[cold_start.warmup]
schedule = "rate(1 minutes)"
[table_scaling]
write_max = 1500
[prices]
lambda_gb_second_arm = -0.0000133334
"#;
    let expected = "\
t.toml:6:24: `functions.reserved_concurrency` (4) must not be less than `cold_start.provisioned.max` (10): Lambda never provisions more than a function's reserved concurrency
t.toml:8:19: `functions.cold_start.warmup_schedule` applies only to tier = \"standard\"; this rule's tier is \"critical\", so it would have no effect
t.toml:12:13: `tables.scaling.write_min` (2000) must not exceed `table_scaling.write_max` (1500)
t.toml:14:24: `capacity.control_plane_budget` must be greater than 0 and at most 1 (a share of 15 requests per second), found 1.5
t.toml:16:9: `cold_start.alias` cannot be \"$LATEST\": provisioned concurrency needs an alias
t.toml:18:12: `cold_start.warmup.schedule` \"rate(1 minutes)\" must be written \"rate(1 minute)\": EventBridge wants a singular unit for 1
t.toml:22:24: `prices.lambda_gb_second_arm` must be greater than 0 and at most 10000 dollars, found -0.0000133334";
    assert_eq!(errors(input), expected);
}

/// Literal figures, not the constants, so a changed default fails here and gets noticed.
#[test]
fn defaults_fill_every_capacity_setting() {
    let d = ok(r#"
[cloud]
backend = "simulated"
[[functions]]
name = "f"
tier = "critical"
[[tables]]
name = "abc"
"#);
    assert_eq!(
        (
            d.controllers.concurrency.unreserved_floor,
            d.control_plane_budget
        ),
        (100, 0.1)
    );
    assert_eq!(
        d.controllers.cold_start,
        ColdStartSettings {
            alias: "live".into(),
            manage_alias: false,
            provisioned: ProvisionedSettings {
                target_utilization: 0.7,
                min: 1,
                max: 10,
                scale_in_cooldown_s: None,
                scale_out_cooldown_s: None,
            },
            warmup: WarmupSettings {
                schedule: "rate(5 minutes)".into(),
                concurrency: 1,
                assumed_duration_ms: 50,
            },
        }
    );
    assert_eq!(
        d.controllers.table_scaling,
        TableScaling {
            enabled: true,
            target_utilization: 70.0,
            read_min: 5,
            read_max: 1000,
            write_min: 5,
            write_max: 1000,
            disable_scale_in: false,
            scale_in_cooldown_s: None,
            scale_out_cooldown_s: None,
        }
    );
    assert_eq!(d.prices.lambda_requests_per_million, 0.20);
    assert_eq!(d.prices.lambda_gb_second_x86, 0.000_016_666_7);
    assert_eq!(d.prices.provisioned_duration_gb_second_arm, 0.000_007_777_8);
    assert_eq!(d.prices, Prices::default());
    assert_eq!(d.functions[0].settings.concurrency, None);
    assert_eq!(
        d.functions[0].settings.cold_start,
        ColdStartOverride::default()
    );
    assert_eq!(
        d.tables[0].settings.table_scaling,
        TableScalingOverride::default()
    );
    // The built-in defaults the controllers' fixtures use are the same values.
    assert_eq!(
        (
            d.controllers.concurrency.unreserved_floor,
            d.control_plane_budget
        ),
        (100, crate::config::defaults::CONTROL_PLANE_BUDGET)
    );
    assert_eq!(
        d.controllers.cold_start,
        crate::controllers::coldstart::settings::defaults()
    );
    assert_eq!(
        d.controllers.table_scaling,
        crate::controllers::table_scaling::defaults()
    );
}

#[test]
fn every_setting_can_be_overridden() {
    let d = ok(r#"
[cloud]
backend = "simulated"
[capacity]
unreserved_floor = 200
control_plane_budget = 0.25
[cold_start]
alias = "prod"
manage_alias = true
[cold_start.provisioned]
target_utilization = 0.6
min = 2
max = 40
scale_in_cooldown = "5m"
scale_out_cooldown = "0s"
[cold_start.warmup]
schedule = "cron(0/5 8-17 ? * MON-FRI *)"
concurrency = 2
assumed_duration_ms = 120
[table_scaling]
enabled = false
target_utilization = 50
read_min = 10
read_max = 500
write_min = 1
write_max = 100
disable_scale_in = true
scale_in_cooldown = "10m"
scale_out_cooldown = "1m"
[prices]
lambda_requests_per_million = 1
lambda_gb_second_x86 = 2
lambda_gb_second_arm = 3
provisioned_gb_second_x86 = 4
provisioned_gb_second_arm = 5
provisioned_duration_gb_second_x86 = 6
provisioned_duration_gb_second_arm = 7
[[functions]]
name = "critical-one"
tier = "critical"
reserved_concurrency = 30
[functions.cold_start]
provisioned_min = 3
provisioned_max = 30
target_utilization = 0.5
[[functions]]
name_prefix = "warm-"
tier = "standard"
reserved_concurrency = 3
[functions.cold_start]
warmup_concurrency = 3
warmup_schedule = "rate(1 minute)"
[[functions]]
name = "disabled"
reserved_concurrency = 0
[[tables]]
name = "sessions"
[tables.scaling]
enabled = true
target_utilization = 80
read_min = 400
write_max = 2000
disable_scale_in = false
"#);
    assert_eq!(
        (
            d.controllers.concurrency.unreserved_floor,
            d.control_plane_budget
        ),
        (200, 0.25)
    );
    let c = &d.controllers.cold_start;
    assert_eq!((c.alias.as_str(), c.manage_alias), ("prod", true));
    assert_eq!(
        c.provisioned,
        ProvisionedSettings {
            target_utilization: 0.6,
            min: 2,
            max: 40,
            scale_in_cooldown_s: Some(300),
            scale_out_cooldown_s: Some(0),
        }
    );
    assert_eq!(
        c.warmup,
        WarmupSettings {
            schedule: "cron(0/5 8-17 ? * MON-FRI *)".into(),
            concurrency: 2,
            assumed_duration_ms: 120,
        }
    );
    let global = TableScaling {
        enabled: false,
        target_utilization: 50.0,
        read_min: 10,
        read_max: 500,
        write_min: 1,
        write_max: 100,
        disable_scale_in: true,
        scale_in_cooldown_s: Some(600),
        scale_out_cooldown_s: Some(60),
    };
    assert_eq!(d.controllers.table_scaling, global);
    assert_eq!(
        d.prices,
        Prices {
            lambda_requests_per_million: 1.0,
            lambda_gb_second_x86: 2.0,
            lambda_gb_second_arm: 3.0,
            provisioned_gb_second_x86: 4.0,
            provisioned_gb_second_arm: 5.0,
            provisioned_duration_gb_second_x86: 6.0,
            provisioned_duration_gb_second_arm: 7.0,
            ..Prices::default()
        }
    );

    // Precedence order: names first, then selectors.
    let rules: Vec<_> = d
        .functions
        .iter()
        .map(|f| {
            (
                f.tier,
                f.settings.concurrency,
                f.settings.cold_start.clone(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            (
                Tier::Critical,
                Some(30),
                ColdStartOverride {
                    provisioned_min: Some(3),
                    provisioned_max: Some(30),
                    target_utilization: Some(0.5),
                    ..Default::default()
                }
            ),
            (Tier::Batch, Some(0), ColdStartOverride::default()),
            (
                Tier::Standard,
                Some(3),
                ColdStartOverride {
                    warmup_concurrency: Some(3),
                    warmup_schedule: Some("rate(1 minute)".into()),
                    ..Default::default()
                }
            ),
        ]
    );

    let t = &d.tables[0].settings.table_scaling;
    assert_eq!(
        *t,
        TableScalingOverride {
            enabled: Some(true),
            target_utilization: Some(80.0),
            read_min: Some(400),
            write_max: Some(2000),
            disable_scale_in: Some(false),
            ..Default::default()
        }
    );
    // The override applied: the table keeps the global maximum and cooldowns it doesn't set.
    assert_eq!(
        d.controllers.table_scaling.with(t),
        TableScaling {
            enabled: true,
            target_utilization: 80.0,
            read_min: 400,
            write_max: 2000,
            disable_scale_in: false,
            ..global
        }
    );
}

#[test]
fn the_shipped_files_show_the_feature() {
    let shipped = |name: &str| {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("config")
            .join(name);
        crate::config::load(&path).unwrap_or_else(|e| panic!("{e}"))
    };
    let demo = shipped("demo.toml");
    assert!(demo.controllers.cold_start.manage_alias);
    let reserved: Vec<_> = demo
        .functions
        .iter()
        .map(|f| (f.tier, f.settings.concurrency))
        .collect();
    assert_eq!(
        reserved,
        [
            (Tier::Critical, Some(100)),
            (Tier::Standard, None),
            (Tier::Batch, None),
            (Tier::Batch, None),
        ]
    );
    let scaling: Vec<_> = demo
        .tables
        .iter()
        .map(|t| {
            (
                t.name.as_str(),
                demo.controllers
                    .table_scaling
                    .with(&t.settings.table_scaling),
            )
        })
        .collect();
    let sized = TableScaling {
        read_min: 20,
        read_max: 200,
        write_min: 10,
        write_max: 100,
        ..crate::controllers::table_scaling::defaults()
    };
    assert_eq!(
        scaling,
        [
            ("voice-learning-sessions", sized),
            (
                "voice-learning-embeddings",
                crate::controllers::table_scaling::defaults()
            ),
        ]
    );

    // The example writes every global default explicitly, so it means the same as leaving it out.
    let example = shipped("example.toml");
    assert_eq!(
        (
            example.controllers.concurrency.unreserved_floor,
            example.control_plane_budget
        ),
        (100, crate::config::defaults::CONTROL_PLANE_BUDGET)
    );
    assert_eq!(
        example.controllers.cold_start,
        crate::controllers::coldstart::settings::defaults()
    );
    assert_eq!(
        example.controllers.table_scaling,
        crate::controllers::table_scaling::defaults()
    );
    assert_eq!(example.prices, Prices::default());
    assert_eq!(example.functions[0].settings.concurrency, Some(100));
    assert_eq!(
        example.functions[0].settings.cold_start.provisioned_max,
        Some(20)
    );
    assert_eq!(
        example.functions[1].settings.cold_start.warmup_concurrency,
        Some(2)
    );
    assert_eq!(example.tables[0].settings.table_scaling.read_max, Some(400));
}

#[test]
fn regional_prices_apply_to_the_accounts_region_only() {
    let file = |region: &str| {
        format!(
            r#"
[cloud]
backend = "simulated"
region = "{region}"
[prices]
lambda_requests_per_million = 0.25
[prices.regions."ap-south-1"]
dynamodb_write_per_million = 0.7
[prices.regions.eu-west-1]
dynamodb_write_per_million = 0.8
"#
        )
    };
    let mumbai = super::ok(&file("ap-south-1")).prices;
    assert_eq!(mumbai.regional.as_deref(), Some("ap-south-1"));
    assert_eq!(mumbai.dynamodb_write_per_million, 0.7);
    assert_eq!(mumbai.lambda_requests_per_million, 0.25, "[prices] below");
    let virginia = super::ok(&file("us-east-1")).prices;
    assert_eq!(virginia.regional, None);
    assert_eq!(virginia.dynamodb_write_per_million, 0.625, "the default");
    assert_eq!(
        super::errors(
            r#"
[cloud]
backend = "simulated"
[prices.regions.mumbai]
lambda_gb_second_x86 = 1
[prices.regions.eu-west-1]
lambda_gb_second_x86 = -1
lambda_gb_second = 1
"#
        ),
        "\
t.toml:3:17: `prices.regions.mumbai`: \"mumbai\" is not an AWS region name such as \"ap-south-1\"
t.toml:6:24: `prices.regions.eu-west-1.lambda_gb_second_x86` must be greater than 0 and at most 10000 dollars, found -1
t.toml:7:1: unknown key `lambda_gb_second` in [prices.regions.eu-west-1]; did you mean `lambda_gb_second_x86`?"
    );
}

#[test]
fn the_lease_is_off_by_default_and_checked_when_on() {
    let sim = "[cloud]\nbackend = \"simulated\"\n";
    assert_eq!(super::ok(sim).lease, None);
    let on = super::ok(&format!("{sim}[lease]\nenabled = true\n"))
        .lease
        .unwrap();
    assert_eq!(
        (on.table.as_str(), on.name.as_str(), on.ttl),
        (
            "trimtab-lease",
            "trimtab",
            std::time::Duration::from_secs(30)
        )
    );
    assert_eq!(
        super::errors(&format!(
            "{sim}[lease]\nenabled = true\ntable = \"x\"\nttl = \"2s\"\n"
        )),
        "\
t.toml:5:9: `lease.table` \"x\" is not a DynamoDB table name (3 to 255 letters, digits, `_`, `-` or `.`)
t.toml:6:7: `lease.ttl` must be between 6s and 10m, found 2s"
    );
}

/// Values that parse and pass a naive check but make no sense: giant numbers, a cron AWS would
/// reject. Each is named, the number shown as written (cut short when long).
#[test]
fn values_no_account_could_mean_are_refused() {
    let long = "9".repeat(400);
    let text = format!(
        r#"
[cloud]
backend = "simulated"
[prices]
lambda_gb_second_x86 = 1e300
dynamodb_rcu_hour = {long}.0
[alarms.throttles]
threshold = 1e300
[[functions]]
name = "f"
tier = "standard"
reserved_concurrency = 100000000
[functions.cold_start]
warmup_schedule = "cron(a b c d e f)"
[[functions]]
name = "g"
tier = "standard"
[functions.cold_start]
warmup_schedule = "cron(0 12 * * * *)"
"#
    );
    let e = super::errors(&text);
    for want in [
        "`prices.lambda_gb_second_x86` must be greater than 0 and at most 10000 dollars, found 1e300",
        "`prices.dynamodb_rcu_hour`: expected a finite number, found 9999999999999999999999999999999999999999… (402 characters)",
        "`alarms.throttles.threshold` must be between 0 and 1000000000 per period, found 1e300",
        "`functions.reserved_concurrency` must be between 0 and 100000, found 100000000",
        "\"cron(a b c d e f)\" has an invalid minutes field \"a\"",
        "\"cron(0 12 * * * *)\" must have `?` in exactly one of day-of-month and day-of-week",
    ] {
        assert!(e.contains(want), "missing {want:?} in:\n{e}");
    }
    // A 1 MB string is cut short in the message too.
    let huge = "x".repeat(1 << 20);
    let e = super::errors(&format!(
        "[cloud]\nbackend = \"simulated\"\nregion = \"{huge}\"\n"
    ));
    assert!(e.len() < 400, "{} bytes of message", e.len());
    // A valid cron passes.
    assert!(super::ok(
        "[cloud]\nbackend = \"simulated\"\n[cold_start.warmup]\nschedule = \"cron(0/5 8-17 ? JAN-DEC MON-FRI *)\"\n"
    )
    .controllers
    .cold_start
    .warmup
    .schedule
    .starts_with("cron("));
}
