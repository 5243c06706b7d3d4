//! The whole binary against moto: `trimtab apply` through the real SDK, then an independent
//! inspection of the account with boto3, then `trimtab plan` to show that the state it wrote
//! reads back as "no changes" (so every field round-trips through AWS's own API model).
//!
//! Run: `scripts/setup-test-env && cargo test --test apply_moto`.

mod support;

use std::collections::BTreeSet;
use std::process::Command;

use serde_json::Value;
use support::moto::{ACCOUNT, MotoServer, REGION};

const CONFIG: &str = r#"
interval = "60s"

[cloud]
backend = "aws"
region = "us-east-1"

[notifications]
topic = "alerts"
emails = ["oncall@example.com"]

[[functions]]
name = "app-api"
tier = "critical"
[functions.alarms.duration]
threshold_ms = 2500

[[functions]]
tags = { app = "voice" }
tier = "standard"

[[tables]]
name = "sessions"

[observe]
metrics = true
"#;

fn trimtab(moto: &MotoServer, dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_trimtab"))
        .args(args)
        .arg("--config")
        .arg(dir.join("trimtab.toml"))
        .envs(moto.sdk_env())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run trimtab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn apply_on_moto_then_inspect_with_boto3_then_plan_is_clean() {
    let moto = MotoServer::start();
    // Functions: one by name, one by tag selector (read with GetFunction), one out of scope.
    // A provisioned table under Application Auto Scaling (moto makes TargetTracking-* alarms),
    // and an alarm someone made by hand under trimtab's prefix.
    moto.boto3(
        r#"
make_function("app-api", memory=1024, timeout=30)
make_function("app-search", tags={"app": "voice"})
make_function("unrelated")
ddb = client("dynamodb")
ddb.create_table(TableName="sessions", BillingMode="PROVISIONED",
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
aas = client("application-autoscaling")
aas.register_scalable_target(ServiceNamespace="dynamodb", ResourceId="table/sessions",
    ScalableDimension="dynamodb:table:ReadCapacityUnits", MinCapacity=5, MaxCapacity=100)
aas.put_scaling_policy(PolicyName="sessions-read", ServiceNamespace="dynamodb",
    ResourceId="table/sessions", ScalableDimension="dynamodb:table:ReadCapacityUnits",
    PolicyType="TargetTrackingScaling",
    TargetTrackingScalingPolicyConfiguration={"TargetValue": 70.0,
        "PredefinedMetricSpecification": {"PredefinedMetricType": "DynamoDBReadCapacityUtilization"}})
client("cloudwatch").put_metric_alarm(AlarmName="trimtab-made-by-hand", MetricName="Errors",
    Namespace="AWS/Lambda", Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
    ComparisonOperator="GreaterThanThreshold")
emit(True)
"#,
    );
    let before: Value = moto.boto3(
        r#"emit(sorted(a["AlarmName"] for a in client("cloudwatch").describe_alarms()["MetricAlarms"]))"#,
    );
    let foreign_before = strings(&before);
    assert!(
        foreign_before
            .iter()
            .filter(|n| n.starts_with("TargetTracking-"))
            .count()
            >= 2,
        "moto should have made target-tracking alarms: {foreign_before:?}\n{}",
        moto.logs()
    );

    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("trimtab.toml"), CONFIG).expect("write config");

    let (code, stdout, stderr) = trimtab(&moto, dir.path(), &["plan"]);
    assert_eq!(
        code,
        2,
        "plan before apply must show pending changes\n{stdout}\n{stderr}\n{}",
        moto.logs()
    );

    let (code, stdout, stderr) = trimtab(&moto, dir.path(), &["apply"]);
    assert_eq!(code, 0, "apply failed\n{stdout}\n{stderr}\n{}", moto.logs());
    assert!(stdout.contains("0 failed"), "{stdout}");

    // Independent inspection with boto3.
    let topic_arn = format!("arn:aws:sns:{REGION}:{ACCOUNT}:trimtab-alerts");
    let state = moto.boto3(&format!(
        r#"
cw = client("cloudwatch")
alarms = cw.describe_alarms(AlarmNamePrefix="trimtab-")["MetricAlarms"]
out = {{}}
for a in alarms:
    out[a["AlarmName"]] = {{
        "tags": {{t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=a["AlarmArn"])["Tags"]}},
        "actions": a.get("AlarmActions", []),
        "ok": a.get("OKActions", []),
        "threshold": a.get("Threshold"),
        "extended": a.get("ExtendedStatistic"),
        "expressions": [m["Expression"] for m in a.get("Metrics", []) if "Expression" in m],
    }}
sns = client("sns")
subs = sns.list_subscriptions_by_topic(TopicArn="{topic_arn}")["Subscriptions"]
topic_tags = {{t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn="{topic_arn}")["Tags"]}}
names = sorted(a["AlarmName"] for a in cw.describe_alarms()["MetricAlarms"])
emit({{"alarms": out, "subs": [s["Endpoint"] for s in subs], "topic_tags": topic_tags, "all": names}})
"#
    ));
    let alarms = state["alarms"].as_object().expect("alarms");
    let owned: BTreeSet<String> = alarms
        .keys()
        .filter(|n| *n != "trimtab-made-by-hand")
        .cloned()
        .collect();
    let expected: BTreeSet<String> = [
        "trimtab-lambda-app-api-duration-p95",
        "trimtab-lambda-app-api-error-rate",
        "trimtab-lambda-app-api-throttles",
        "trimtab-lambda-app-search-duration-p95",
        "trimtab-lambda-app-search-error-rate",
        "trimtab-lambda-app-search-throttles",
        "trimtab-dynamodb-sessions-throttles",
        "trimtab-app-cache-hit-rate",
        "trimtab-app-cost-per-student",
    ]
    .into_iter()
    .map(str::to_string)
    .collect();
    assert_eq!(owned, expected);
    for name in &expected {
        let a = &alarms[name];
        assert_eq!(a["tags"]["managed-by"], "trimtab", "{name}: {a}");
        assert_eq!(
            strings(&a["actions"]),
            BTreeSet::from([topic_arn.clone()]),
            "{name}"
        );
        assert_eq!(
            strings(&a["ok"]),
            BTreeSet::from([topic_arn.clone()]),
            "{name}"
        );
    }
    let p95 = &alarms["trimtab-lambda-app-api-duration-p95"];
    assert_eq!(p95["extended"], "p95");
    assert_eq!(p95["threshold"], 2500.0, "per-function override");
    assert_eq!(
        alarms["trimtab-lambda-app-search-duration-p95"]["threshold"],
        3000.0
    );
    assert_eq!(
        strings(&alarms["trimtab-lambda-app-api-error-rate"]["expressions"]),
        BTreeSet::from(["IF(invocations > 0, 100 * errors / invocations, 0)".to_string()])
    );
    assert!(
        alarms["trimtab-made-by-hand"]["tags"]
            .as_object()
            .is_some_and(|t| t.is_empty())
    );
    assert_eq!(
        strings(&state["subs"]),
        BTreeSet::from(["oncall@example.com".to_string()])
    );
    assert_eq!(state["topic_tags"]["managed-by"], "trimtab");
    // Everything that was there before is still there.
    let after = strings(&state["all"]);
    assert!(
        foreign_before.is_subset(&after),
        "{foreign_before:?} vs {after:?}"
    );

    // What apply wrote reads back identically: a second plan has nothing to do.
    let (code, stdout, stderr) = trimtab(&moto, dir.path(), &["plan"]);
    assert_eq!(
        code, 0,
        "plan after apply must be clean\n{stdout}\n{stderr}"
    );
    assert!(stdout.starts_with("no changes"), "{stdout}");
    assert!(
        stdout.contains("trimtab-made-by-hand") || !stdout.contains("Not changed"),
        "{stdout}"
    );

    // Drift made behind trimtab's back is repaired by the next apply.
    moto.boto3(
        r#"
cw = client("cloudwatch")
a = cw.describe_alarms(AlarmNames=["trimtab-lambda-app-api-throttles"])["MetricAlarms"][0]
cw.put_metric_alarm(AlarmName=a["AlarmName"], MetricName=a["MetricName"], Namespace=a["Namespace"],
    Statistic=a["Statistic"], Dimensions=a["Dimensions"], Period=a["Period"],
    EvaluationPeriods=a["EvaluationPeriods"], Threshold=99.0,
    ComparisonOperator=a["ComparisonOperator"], AlarmActions=a["AlarmActions"])
emit(True)
"#,
    );
    let (code, stdout, _) = trimtab(&moto, dir.path(), &["plan"]);
    assert_eq!(code, 2, "{stdout}");
    assert!(
        stdout.contains("~ update alarm trimtab-lambda-app-api-throttles"),
        "{stdout}"
    );
    assert!(stdout.contains("threshold: 99 → 10"), "{stdout}");
    let (code, stdout, stderr) = trimtab(&moto, dir.path(), &["apply"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let (code, stdout, _) = trimtab(&moto, dir.path(), &["plan"]);
    assert_eq!(code, 0, "{stdout}");
}
