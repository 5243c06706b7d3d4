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
        Service::Tagging => "tag",
    };
    let mut actions = vec![format!("{prefix}:{}", op.name())];
    if op == Op::GetFunction {
        actions.push("lambda:ListTags".into());
    }
    actions
}

/// The task role's statements: (Sid, actions, resource is "*", has a condition).
fn statements(template: &str) -> Vec<(String, Vec<String>, bool, bool)> {
    let role = template
        .split("TaskRole:")
        .nth(1)
        .and_then(|r| r.split("\n  TaskDefinition:").next())
        .expect("the TaskRole resource");
    role.split("- Sid: ")
        .skip(1)
        .map(|block| {
            let sid = block.lines().next().unwrap_or("").trim().to_string();
            // The `Action:` list (or single inline action), comments skipped.
            let mut actions = Vec::new();
            let mut lines = block
                .lines()
                .map(str::trim)
                .skip_while(|l| !l.starts_with("Action:"));
            if let Some(first) = lines.next() {
                let inline = first.trim_start_matches("Action:").trim();
                if !inline.is_empty() {
                    actions.push(inline.to_string());
                }
                for l in lines.filter(|l| !l.starts_with('#')) {
                    match l.strip_prefix("- ") {
                        Some(a) => actions.push(a.to_string()),
                        None => break,
                    }
                }
            }
            (
                sid,
                actions,
                block.contains(r#"Resource: "*""#),
                block.contains("Condition:"),
            )
        })
        .collect()
}

/// Actions granted beyond one per operation, each with why.
const EXTRA: &[&str] = &[
    // GetFunction returns tags only with it.
    "lambda:ListTags",
    // Tags given at RegisterScalableTarget are authorised as TagResource.
    "application-autoscaling:TagResource",
    // Application Auto Scaling creates its service-linked role on first use.
    "iam:CreateServiceLinkedRole",
];

/// Both directions: every call trimtab makes is granted, and nothing is granted that no code
/// path calls; and every write is scoped (by name prefix, table, function pattern or a
/// condition) wherever AWS allows it.
#[test]
fn task_role_grants_exactly_the_calls_trimtab_makes_and_scopes_its_writes() {
    let template =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/deploy/trimtab.yaml"))
            .expect("deploy/trimtab.yaml");
    let statements = statements(&template);
    let granted: Vec<&str> = statements
        .iter()
        .flat_map(|(_, actions, _, _)| actions.iter().map(String::as_str))
        .collect();
    let called: Vec<String> = Op::ALL.iter().flat_map(|op| iam_actions(*op)).collect();
    let missing: Vec<&String> = called
        .iter()
        .filter(|a| !granted.contains(&a.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "deploy/trimtab.yaml lacks IAM actions: {missing:?}"
    );
    let unused: Vec<&&str> = granted
        .iter()
        .filter(|a| !called.iter().any(|c| c == **a) && !EXTRA.contains(a))
        .collect();
    assert!(unused.is_empty(), "granted but never called: {unused:?}");
    assert!(granted.iter().all(|a| !a.ends_with(":*")), "{granted:?}");

    // Writes on resources AWS lets a policy name are scoped; the exceptions say why in the
    // template (Application Auto Scaling's generated ARNs, the service-linked role).
    for op in Op::ALL
        .iter()
        .filter(|op| op.is_write() || op.service() == Service::DynamoDb)
    {
        if op.service() == Service::ApplicationAutoScaling
            || !op.is_write() && op.name() == "DescribeTable"
        {
            continue;
        }
        let action = iam_actions(*op).remove(0);
        let (sid, _, star, condition) = statements
            .iter()
            .find(|(_, actions, _, _)| actions.contains(&action))
            .expect("granted");
        assert!(
            !*star || *condition,
            "{action} is granted on every resource (statement {sid}) with no condition"
        );
    }
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
