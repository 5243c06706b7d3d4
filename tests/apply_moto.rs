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
        "trimtab-app-model-mix",
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

    // The dashboard, as CloudWatch stores it: trimtab's marker, and the seed's key metrics on
    // the functions in scope.
    let dash = moto.boto3(
        r#"
import json
d = client("cloudwatch").get_dashboard(DashboardName="trimtab-application")
body = json.loads(d["DashboardBody"])
emit({"titles": [w["properties"].get("title") for w in body["widgets"] if w["type"] == "metric"],
      "text": body["widgets"][0]["properties"]["markdown"],
      "functions": sorted({m[3] for w in body["widgets"] if w["type"] == "metric"
                           for m in w["properties"]["metrics"]
                           if isinstance(m[0], str) and m[0] == "AWS/Lambda" and len(m) > 3})})
"#,
    );
    assert!(
        dash["text"]
            .as_str()
            .unwrap()
            .contains("managed-by=trimtab"),
        "{dash}"
    );
    let titles = strings(&dash["titles"]);
    for t in [
        "Response time, p95 (ms)",
        "Error rate (%)",
        "DynamoDB throttle events",
    ] {
        assert!(titles.contains(t), "{t}: {dash}");
    }
    assert_eq!(
        strings(&dash["functions"]),
        BTreeSet::from(["app-api".to_string(), "app-search".to_string()])
    );

    // What apply wrote reads back identically: a second plan has nothing to do.
    let (code, stdout, stderr) = trimtab(&moto, dir.path(), &["plan"]);
    assert_eq!(
        code, 0,
        "plan after apply must be clean\n{stdout}\n{stderr}"
    );
    assert!(stdout.starts_with("no changes"), "{stdout}");

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

const CAPACITY: &str = r#"
interval = "60s"

[cloud]
backend = "aws"
region = "us-east-1"

[cold_start]
manage_alias = true

[[functions]]
name = "cap-api"
tier = "critical"
reserved_concurrency = 50

[[functions]]
name = "cap-search"
tier = "standard"

[[functions]]
name = "cap-batch"
tier = "batch"

[[tables]]
name = "orders"

[[tables]]
name = "events"

[alarms.cache_hit_rate]
enabled = false

[alarms.cost_per_student]
enabled = false

[observe]
metrics = false
"#;

#[test]
fn capacity_and_cold_starts_on_moto_through_the_real_sdk() {
    let moto = MotoServer::start();
    moto.boto3(
        r#"
for name in ["cap-api", "cap-search", "cap-batch"]:
    make_function(name, memory=512)
ddb = client("dynamodb")
ddb.create_table(TableName="orders", BillingMode="PROVISIONED",
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"},
                          {"AttributeName": "user", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
    GlobalSecondaryIndexes=[{"IndexName": "by-user",
        "KeySchema": [{"AttributeName": "user", "KeyType": "HASH"}],
        "Projection": {"ProjectionType": "ALL"},
        "ProvisionedThroughput": {"ReadCapacityUnits": 5, "WriteCapacityUnits": 5}}],
    ProvisionedThroughput={"ReadCapacityUnits": 5, "WriteCapacityUnits": 5})
ddb.create_table(TableName="events", BillingMode="PAY_PER_REQUEST",
    AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
    KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}])
# Someone else's reserved concurrency on the batch function: trimtab must leave it.
client("lambda").put_function_concurrency(FunctionName="cap-batch", ReservedConcurrentExecutions=7)
emit(True)
"#,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("trimtab.toml"), CAPACITY).expect("write config");

    let (code, stdout, stderr) = trimtab(&moto, dir.path(), &["apply"]);
    assert_eq!(code, 0, "apply failed\n{stdout}\n{stderr}\n{}", moto.logs());

    let state = moto.boto3(
        r#"
lam = client("lambda")
aas = client("application-autoscaling")
ev = client("events")
def concurrency(name):
    return lam.get_function_concurrency(FunctionName=name).get("ReservedConcurrentExecutions")
targets = []
for ns in ["lambda", "dynamodb"]:
    for t in aas.describe_scalable_targets(ServiceNamespace=ns)["ScalableTargets"]:
        targets.append([t["ResourceId"], t["ScalableDimension"], t["MinCapacity"], t["MaxCapacity"]])
policies = []
for ns in ["lambda", "dynamodb"]:
    for p in aas.describe_scaling_policies(ServiceNamespace=ns)["ScalingPolicies"]:
        c = p["TargetTrackingScalingPolicyConfiguration"]
        policies.append([p["PolicyName"], p["ResourceId"], c["TargetValue"],
                         c["PredefinedMetricSpecification"]["PredefinedMetricType"]])
rules = {r["Name"]: r.get("ScheduleExpression") for r in ev.list_rules(NamePrefix="trimtab-")["Rules"]}
rule_targets = [t for name in rules for t in ev.list_targets_by_rule(Rule=name)["Targets"]]
policy = json.loads(lam.get_policy(FunctionName="cap-search")["Policy"])
tags = {n: lam.list_tags(Resource=lam.get_function(FunctionName=n)["Configuration"]["FunctionArn"])["Tags"]
        for n in ["cap-api", "cap-search", "cap-batch"]}
emit({
    "reserved": {n: concurrency(n) for n in ["cap-api", "cap-search", "cap-batch"]},
    "aliases": [a["Name"] for a in lam.list_aliases(FunctionName="cap-api")["Aliases"]],
    "targets": targets, "policies": policies, "rules": rules,
    "rule_targets": [[t["Arn"], json.loads(t["Input"])] for t in rule_targets],
    "statements": [[s["Sid"], s["Principal"], s.get("Condition")] for s in policy["Statement"]],
    "tags": tags,
})
"#,
    );
    // Reserved concurrency: GetAccountSettings is not in moto, so the budget guard cannot prove
    // the increase safe and refuses it (the plan says so); someone else's 7 stays.
    assert_eq!(state["reserved"]["cap-api"], Value::Null, "{state}");
    assert_eq!(state["reserved"]["cap-batch"], 7);
    // Critical: alias, scalable target and target-tracking policy on it.
    assert_eq!(
        strings(&state["aliases"]),
        BTreeSet::from(["live".to_string()])
    );
    let targets: Vec<(String, String)> = state["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| {
            (
                t[0].as_str().unwrap_or("").to_string(),
                t[1].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    for (id, dim) in [
        (
            "function:cap-api:live",
            "lambda:function:ProvisionedConcurrency",
        ),
        ("table/orders", "dynamodb:table:ReadCapacityUnits"),
        ("table/orders", "dynamodb:table:WriteCapacityUnits"),
        (
            "table/orders/index/by-user",
            "dynamodb:index:ReadCapacityUnits",
        ),
        (
            "table/orders/index/by-user",
            "dynamodb:index:WriteCapacityUnits",
        ),
    ] {
        assert!(
            targets.contains(&(id.to_string(), dim.to_string())),
            "{id} {dim} missing: {targets:?}"
        );
    }
    assert!(
        targets.iter().all(|(id, _)| !id.contains("events")),
        "on-demand table untouched: {targets:?}"
    );
    let policies = state["policies"].as_array().expect("policies");
    let pc = policies
        .iter()
        .find(|p| p[0] == "trimtab-pc-cap-api")
        .expect("pc policy");
    assert_eq!(pc[2], 0.7);
    assert_eq!(pc[3], "LambdaProvisionedConcurrencyUtilization");
    assert_eq!(
        policies
            .iter()
            .filter(|p| p[0]
                .as_str()
                .is_some_and(|n| n.starts_with("trimtab-ddb-orders")))
            .count(),
        4
    );
    // Standard: a spread warm-up rule, its target with the warm-up event, the permission.
    let schedule = state["rules"]["trimtab-warmup-cap-search"]
        .as_str()
        .expect("rule");
    assert!(
        schedule.starts_with("cron(") && schedule.contains("/5 "),
        "{schedule}"
    );
    let rule_targets = state["rule_targets"].as_array().expect("targets");
    assert_eq!(rule_targets.len(), 1);
    assert!(
        rule_targets[0][0]
            .as_str()
            .is_some_and(|a| a.ends_with(":function:cap-search"))
    );
    assert_eq!(rule_targets[0][1]["source"], "trimtab.warmup");
    let statements = state["statements"].as_array().expect("statements");
    assert!(
        statements.iter().any(|s| s[0] == "trimtab-warmup"),
        "{statements:?}"
    );
    // Ownership markers on the functions.
    assert_eq!(state["tags"]["cap-api"]["trimtab:provisioned"], "live");
    assert_eq!(
        state["tags"]["cap-search"]["trimtab:warmup"],
        "trimtab-warmup-cap-search"
    );
    assert!(
        state["tags"]["cap-batch"]
            .as_object()
            .is_some_and(|t| t.keys().all(|k| !k.starts_with("trimtab:")))
    );

    // Idempotent on moto too: only the refused reservation and the on-demand note remain.
    let (code, stdout, stderr) = trimtab(&moto, dir.path(), &["plan"]);
    assert_eq!(
        code, 0,
        "plan after apply must have no changes\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("events"),
        "on-demand table explained: {stdout}"
    );
    assert!(
        stdout.contains("cap-api"),
        "refused reservation explained: {stdout}"
    );

    // Tier change on moto: cap-search becomes batch; its warm-up goes, everything of it.
    std::fs::write(
        dir.path().join("trimtab.toml"),
        CAPACITY.replace(
            "name = \"cap-search\"\ntier = \"standard\"",
            "name = \"cap-search\"\ntier = \"batch\"",
        ),
    )
    .expect("write config");
    let (code, stdout, stderr) = trimtab(&moto, dir.path(), &["apply"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let after = moto.boto3(
        r#"
lam = client("lambda")
rules = [r["Name"] for r in client("events").list_rules(NamePrefix="trimtab-")["Rules"]]
arn = lam.get_function(FunctionName="cap-search")["Configuration"]["FunctionArn"]
try:
    statements = json.loads(lam.get_policy(FunctionName="cap-search")["Policy"])["Statement"]
except lam.exceptions.ResourceNotFoundException:
    statements = []
emit({"rules": rules, "statements": len(statements), "tags": lam.list_tags(Resource=arn)["Tags"]})
"#,
    );
    assert_eq!(after["rules"], serde_json::json!([]), "{after}");
    assert_eq!(after["statements"], 0, "{after}");
    assert!(
        after["tags"]
            .as_object()
            .is_some_and(|t| !t.contains_key("trimtab:warmup")),
        "{after}"
    );
    let (code, stdout, _) = trimtab(&moto, dir.path(), &["plan"]);
    assert_eq!(code, 0, "{stdout}");
}
