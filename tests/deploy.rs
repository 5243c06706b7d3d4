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
