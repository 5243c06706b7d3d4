//! The deployment template grants exactly the AWS calls trimtab makes: every operation in the
//! op table has its IAM action in the task role, so a new call cannot ship without permission.

use trimtab::cloud::{Op, Service};

/// IAM's name for an operation. GetFunction returns tags only with `lambda:ListTags` too.
fn iam_actions(op: Op) -> Vec<String> {
    let prefix = match op.service() {
        Service::CloudWatch => "cloudwatch",
        Service::Lambda => "lambda",
        Service::ApplicationAutoScaling => "application-autoscaling",
        Service::EventBridge => "events",
        Service::DynamoDb => "dynamodb",
        Service::Sns => "sns",
    };
    let mut actions = vec![format!("{prefix}:{}", op.name())];
    if op == Op::GetFunction {
        actions.push("lambda:ListTags".into());
    }
    // Tags given at registration are authorised as TagResource as well.
    if op == Op::RegisterScalableTarget {
        actions.push("application-autoscaling:TagResource".into());
    }
    actions
}

#[test]
fn task_role_allows_every_operation_trimtab_calls() {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/trimtab.yaml"))
            .expect("deploy/trimtab.yaml");
    let granted: Vec<&str> = template
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .filter(|a| a.contains(':') && !a.contains(' '))
        .collect();
    let missing: Vec<String> = Op::ALL
        .iter()
        .flat_map(|op| iam_actions(*op))
        .filter(|a| !granted.contains(&a.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "deploy/trimtab.yaml lacks IAM actions: {missing:?}"
    );
    // And nothing broader than needed: no wildcards in actions.
    assert!(granted.iter().all(|a| !a.ends_with(":*")), "{granted:?}");
}

/// The Grafana dashboard imports as is (valid JSON, panels with queries) and every metric it
/// queries is one the daemon exports: a renamed metric cannot leave a panel silently empty.
#[test]
fn grafana_dashboard_queries_only_metrics_trimtab_exports() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/grafana-trimtab.json"
    ))
    .expect("deploy/grafana-trimtab.json");
    let dash: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    let telemetry = trimtab::telemetry::Telemetry::new().expect("telemetry");
    // These series appear with the first call, wait or estimate; give each one.
    telemetry
        .cost_monthly
        .with_label_values(&["lambda"])
        .set(0.0);
    let op = ["lambda", "ListFunctions"];
    telemetry
        .api_calls
        .with_label_values(&[op[0], op[1], "success"])
        .inc();
    telemetry.api_throttled.with_label_values(&op).inc();
    telemetry.api_retries.with_label_values(&op).inc();
    telemetry
        .limiter_wait
        .with_label_values(&["lambda:control-plane"])
        .inc();
    let exported = telemetry.render();
    let panels = dash["panels"].as_array().expect("panels");
    assert!(panels.len() >= 10, "{}", panels.len());
    let mut queried = 0;
    for p in panels {
        for t in p["targets"].as_array().expect("targets") {
            let expr = t["expr"].as_str().expect("expr");
            for word in expr.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
                if !word.starts_with("trimtab_") {
                    continue;
                }
                let base = ["_bucket", "_sum", "_count"]
                    .iter()
                    .find_map(|s| word.strip_suffix(s))
                    .unwrap_or(word);
                assert!(
                    exported.contains(&format!("# TYPE {base} ")),
                    "panel {:?} queries {word}, which trimtab does not export",
                    p["title"]
                );
                queried += 1;
            }
        }
    }
    assert!(queried >= 20, "{queried}");
}

/// The container can't hurt an account by accident and runs as ECS expects: the config baked
/// into the image is the simulated demo kept in memory (what the Dockerfile makes of
/// config/demo.toml), the root filesystem is read-only, and the health check is the binary
/// probing /healthz (liveness), not /readyz.
#[test]
fn the_container_is_safe_by_default_and_checks_its_own_health() {
    let read = |rel: &str| {
        std::fs::read_to_string(format!("{}/{rel}", env!("CARGO_MANIFEST_DIR"))).expect(rel)
    };
    let dockerfile = read("Dockerfile");
    assert!(
        dockerfile.contains("sed '/^state_file/d' /tmp/demo.toml > /etc/trimtab/trimtab.toml"),
        "the baked config is the demo without its state file"
    );
    assert!(
        !dockerfile.contains("example.toml"),
        "no real-account config baked in"
    );
    let baked: String = read("config/demo.toml")
        .lines()
        .filter(|l| !l.starts_with("state_file"))
        .map(|l| format!("{l}\n"))
        .collect();
    let desired =
        trimtab::config::parse(&baked, "trimtab.toml").expect("the baked config is valid");
    assert_eq!(desired.cloud.backend, trimtab::model::Backend::Simulated);
    assert_eq!(
        desired.cloud.simulated.state_file, None,
        "writes nothing to disk"
    );
    assert!(dockerfile.contains(r#"CMD ["/usr/local/bin/trimtab", "healthcheck""#));

    let template = read("deploy/trimtab.yaml");
    assert!(template.contains("ReadonlyRootFilesystem: true"));
    // The lease: its own table, the only item writes granted, scoped to that table.
    let lease = template
        .split("- Sid: Lease")
        .nth(1)
        .expect("a Lease statement");
    let lease: String = lease.lines().take(5).collect::<Vec<_>>().join("\n");
    assert!(
        lease.contains("Resource: !GetAtt LeaseTable.Arn"),
        "{lease}"
    );
    assert!(
        template.contains("MinimumHealthyPercent: 100"),
        "a rolling deployment"
    );
    assert!(template.contains(
        r#"Command: ["CMD", "/usr/local/bin/trimtab", "healthcheck", "--addr", "127.0.0.1:9090"]"#
    ));
}
