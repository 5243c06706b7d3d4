//! What a valid file means: defaults, overrides, rule precedence, and the shipped examples.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use super::{ok, text};
use crate::config::{ConfigError, load};
use crate::controllers::alarms::{AlarmRule, RuleOverride};
use crate::controllers::notifications;
use crate::model::{
    Architecture, Backend, BillingMode, ExecutorSettings, FunctionMatch, MissingData, Tier,
};

fn rule(threshold: f64, period_s: u32, eval: u32, dta: u32, missing: MissingData) -> AlarmRule {
    AlarmRule {
        enabled: true,
        threshold,
        period_s,
        evaluation_periods: eval,
        datapoints_to_alarm: dta,
        treat_missing_data: missing,
    }
}

/// Literal figures, not the constants, so a changed default fails here and gets noticed.
#[test]
fn an_almost_empty_file_gets_the_documented_defaults() {
    let d = ok("[cloud]\nbackend = \"simulated\"\n");
    assert_eq!(d.interval, Duration::from_secs(60));
    assert_eq!(d.jitter, 0.1);
    assert_eq!(d.cloud.backend, Backend::Simulated);
    assert_eq!(d.cloud.region, "us-east-1");
    assert_eq!(d.cloud.endpoint_url, None);
    assert!(d.cloud.rate_limits.is_empty());
    assert_eq!(d.cloud.simulated.seed, 42);
    assert_eq!(
        d.ownership.tag(),
        ("managed-by".to_string(), "trimtab".to_string())
    );
    assert_eq!(d.ownership.name_prefix, "trimtab-");
    assert!(d.ownership.prune);
    assert!(d.ownership.adopt.is_empty());
    assert_eq!(d.controllers.notifications, notifications::Settings::None);
    assert!(d.functions.is_empty() && d.tables.is_empty());

    let nb = MissingData::NotBreaching;
    assert_eq!(
        d.controllers.alarms.defaults.duration,
        rule(3000.0, 60, 3, 3, nb)
    );
    assert_eq!(d.controllers.alarms.defaults.duration_statistic, "p95");
    assert_eq!(
        d.controllers.alarms.defaults.error_rate,
        rule(5.0, 60, 3, 3, nb)
    );
    assert_eq!(
        d.controllers.alarms.defaults.throttles,
        rule(10.0, 60, 3, 3, nb)
    );
    assert_eq!(
        d.controllers.alarms.defaults.dynamodb_throttles,
        rule(5.0, 60, 3, 3, nb)
    );

    let cache = d
        .controllers
        .alarms
        .application
        .cache_hit_rate
        .as_ref()
        .map(|c| {
            (
                c.rule.clone(),
                c.namespace.as_str(),
                c.hit_metric.as_str(),
                c.miss_metric.as_str(),
                c.dimensions.len(),
            )
        });
    let cache_rule = rule(40.0, 300, 3, 3, MissingData::Missing);
    assert_eq!(
        cache,
        Some((cache_rule, "VoiceLearning", "CacheHits", "CacheMisses", 0))
    );
    let cost = d
        .controllers
        .alarms
        .application
        .cost_per_student
        .as_ref()
        .map(|c| {
            (
                c.rule.clone(),
                c.namespace.as_str(),
                c.metric.as_str(),
                c.statistic.as_str(),
            )
        });
    let cost_rule = rule(15.0, 3600, 1, 1, MissingData::Ignore);
    assert_eq!(
        cost,
        Some((
            cost_rule,
            "VoiceLearning",
            "CostPerStudentMonthly",
            "Maximum"
        ))
    );

    assert!(d.observe.metrics);
    assert_eq!(d.observe.metrics_window, Duration::from_secs(900));
    assert_eq!(d.observe.metrics_delay, Duration::from_secs(180));
    assert_eq!(d.observe.tag_cache_ttl, Duration::from_secs(3600));
    assert_eq!(d.executor, ExecutorSettings::default());
}

#[test]
fn aws_backend_takes_its_region_and_ignores_simulated() {
    let d = ok(r#"
[cloud]
region = "ap-south-1"
endpoint_url = "http://127.0.0.1:5000"
[cloud.rate_limits]
"lambda:control-plane" = 5
[simulated]
seed = 7
[[simulated.functions]]
name = "f"
"#);
    assert_eq!(d.cloud.backend, Backend::Aws);
    assert_eq!(d.cloud.region, "ap-south-1");
    assert_eq!(
        d.cloud.endpoint_url.as_deref(),
        Some("http://127.0.0.1:5000")
    );
    assert_eq!(
        d.cloud.rate_limits,
        BTreeMap::from([("lambda:control-plane".to_string(), 5.0)])
    );
    assert_eq!(d.cloud.simulated, Default::default());
}

#[test]
fn alarm_keys_layer_shared_then_own_then_per_resource() {
    let d = ok(r#"
[cloud]
backend = "simulated"
[alarms]
evaluation_periods = 5
treat_missing_data = "missing"
[alarms.duration]
threshold_ms = 2500
statistic = "p99"
datapoints_to_alarm = 2
[alarms.cache_hit_rate]
enabled = false
[alarms.cost_per_student]
threshold = 12.5
dimensions = { Environment = "prod" }
[[functions]]
name = "slow"
[functions.alarms.duration]
threshold_ms = 20000
period = "5m"
[functions.alarms.throttles]
enabled = false
[[tables]]
name = "sessions"
[tables.alarms.throttles]
threshold = 50
"#);
    let m = MissingData::Missing;
    assert_eq!(
        d.controllers.alarms.defaults.duration,
        rule(2500.0, 60, 5, 2, m)
    );
    assert_eq!(d.controllers.alarms.defaults.duration_statistic, "p99");
    assert_eq!(
        d.controllers.alarms.defaults.error_rate,
        rule(5.0, 60, 5, 3, m)
    );
    assert_eq!(d.controllers.alarms.application.cache_hit_rate, None);
    let cost = d
        .controllers
        .alarms
        .application
        .cost_per_student
        .as_ref()
        .map(|c| (c.rule.clone(), c.dimensions.clone()));
    let dims = vec![crate::model::Dimension::new("Environment", "prod")];
    assert_eq!(cost, Some((rule(12.5, 3600, 5, 1, m), dims)));

    let f = &d.functions[0];
    assert_eq!(
        f.settings.alarms.duration,
        RuleOverride {
            threshold: Some(20000.0),
            period_s: Some(300),
            ..Default::default()
        }
    );
    assert_eq!(
        d.controllers
            .alarms
            .defaults
            .duration
            .with(&f.settings.alarms.duration),
        rule(20000.0, 300, 5, 2, m)
    );
    assert_eq!(f.settings.alarms.throttles.enabled, Some(false));
    assert_eq!(f.settings.alarms.error_rate, RuleOverride::default());
    assert_eq!(f.tier, Tier::Batch);
    assert_eq!(d.tables[0].settings.alarms.throttles.threshold, Some(50.0));
}

#[test]
fn names_take_precedence_over_selectors_which_keep_file_order() {
    let d = ok(r#"
[cloud]
backend = "simulated"
[[functions]]
name_prefix = "voice-"
tier = "standard"
[[functions]]
name = "voice-learning-response-generator"
tier = "critical"
[[functions]]
tags = { team = "learning" }
[[functions]]
name = "voice-learning-content-chunking"
"#);
    let order: Vec<(String, Tier)> = d
        .functions
        .iter()
        .map(|f| match &f.matcher {
            FunctionMatch::Name(n) => (n.clone(), f.tier),
            FunctionMatch::Selector { name_prefix, tags } => {
                (format!("{name_prefix:?} {tags:?}"), f.tier)
            }
        })
        .collect();
    assert_eq!(
        order,
        [
            (
                "voice-learning-response-generator".to_string(),
                Tier::Critical
            ),
            ("voice-learning-content-chunking".to_string(), Tier::Batch),
            ("Some(\"voice-\") {}".to_string(), Tier::Standard),
            ("None {\"team\": \"learning\"}".to_string(), Tier::Batch),
        ]
    );
    assert!(d.functions[3].matcher.needs_tags());
}

#[test]
fn managed_notifications_and_simulated_defaults() {
    let d = ok(r#"
[cloud]
backend = "simulated"
[notifications]
topic = "alerts"
emails = ["oncall@example.com"]
[simulated]
state_file = "/tmp/state.json"
[[simulated.functions]]
name = "f"
memory_mb = 1024
[[simulated.tables]]
name = "provisioned-table"
billing_mode = "provisioned"
[[simulated.tables]]
name = "on-demand-table"
"#);
    assert_eq!(
        d.controllers.notifications,
        notifications::Settings::Managed {
            name: "alerts".into(),
            emails: vec!["oncall@example.com".into()]
        }
    );
    let sim = &d.cloud.simulated;
    assert_eq!(
        sim.state_file.as_deref(),
        Some(Path::new("/tmp/state.json"))
    );
    let f = &sim.functions[0];
    assert_eq!(
        (
            f.memory_mb,
            f.timeout_s,
            f.architecture,
            f.used_memory_mb,
            f.parallelism,
            f.error_rate
        ),
        (1024, 3, Architecture::X86_64, 512, 1.0, 0.0)
    );
    let t: Vec<_> = sim
        .tables
        .iter()
        .map(|t| (t.billing_mode, t.read_capacity, t.write_capacity))
        .collect();
    assert_eq!(
        t,
        [
            (BillingMode::Provisioned, 5, 5),
            (BillingMode::PayPerRequest, 0, 0)
        ]
    );
}

fn shipped(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("config")
        .join(name)
}

#[test]
fn example_toml_loads() {
    let d = load(&shipped("example.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.cloud.backend, Backend::Aws);
    assert!(matches!(
        d.controllers.notifications,
        notifications::Settings::Existing { .. }
    ));
    assert_eq!(d.functions.len(), 4);
    assert_eq!(d.tables.len(), 2);
}

#[test]
fn demo_toml_loads_with_the_application() {
    let d = load(&shipped("demo.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(d.cloud.backend, Backend::Simulated);
    assert_eq!(d.interval, Duration::from_secs(15));
    assert!(
        matches!(&d.controllers.notifications, notifications::Settings::Managed { emails, .. } if emails.len() == 1)
    );
    let tiers: Vec<_> = d
        .functions
        .iter()
        .filter_map(|f| match &f.matcher {
            FunctionMatch::Name(n) => Some((n.as_str(), f.tier)),
            FunctionMatch::Selector { .. } => None,
        })
        .collect();
    assert_eq!(
        tiers,
        [
            ("voice-learning-response-generator", Tier::Critical),
            ("voice-learning-semantic-search", Tier::Standard),
            ("voice-learning-content-chunking", Tier::Batch),
        ]
    );
    let sim = &d.cloud.simulated;
    let names: Vec<_> = sim.functions.iter().map(|f| f.name.as_str()).collect();
    assert!(
        names.contains(&"legacy-image-resizer"),
        "an unowned function shows ownership"
    );
    let tables: Vec<_> = sim
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t.billing_mode, t.indexes.len()))
        .collect();
    assert_eq!(
        tables,
        [
            ("voice-learning-sessions", BillingMode::Provisioned, 1),
            ("voice-learning-embeddings", BillingMode::PayPerRequest, 0),
        ]
    );
}

#[test]
fn load_reports_unreadable_files_and_resolves_state_file() {
    let missing = Path::new("/nonexistent/trimtab.toml");
    match load(missing) {
        Err(e @ ConfigError::Read { .. }) => assert_eq!(
            e.to_string(),
            "cannot read /nonexistent/trimtab.toml: No such file or directory (os error 2)"
        ),
        other => panic!("expected a read error, got {other:?}"),
    }

    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("t.toml");
    let body =
        text("\n[cloud]\nbackend = \"simulated\"\n[simulated]\nstate_file = \"state.json\"\n");
    std::fs::write(&path, body).unwrap_or_else(|e| panic!("{e}"));
    let d = load(&path).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        d.cloud.simulated.state_file,
        Some(dir.path().join("state.json"))
    );

    std::fs::write(&path, "jitter = 2\n[cloud]\nbackend = \"simulated\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let shown = path.display().to_string();
    match load(&path) {
        Err(e) => assert_eq!(
            e.to_string(),
            format!("{shown}:1:10: `jitter` must be at least 0 and less than 1, found 2")
        ),
        Ok(_) => panic!("expected an invalid file"),
    }
}
