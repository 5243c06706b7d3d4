//! The Lambda adapter under trimtab's own retry and wait logic, with aws-smithy-mocks (moto has
//! no provisioned-concurrency API and never reports an update in progress): a 409 "update in
//! progress" is waited out and retried, a 429 waits at least `retryAfterSeconds`, and a guarded
//! removal proceeds once provisioned concurrency goes IN_PROGRESS → READY, and not when it goes
//! to FAILED. Time is virtual, so the waits are measured without being spent.

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_sdk_lambda::Client;
use aws_sdk_lambda::operation::get_provisioned_concurrency_config::GetProvisionedConcurrencyConfigOutput;
use aws_sdk_lambda::operation::put_provisioned_concurrency_config::PutProvisionedConcurrencyConfigOutput;
use aws_sdk_lambda::types::ProvisionedConcurrencyStatusEnum;
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use tokio_util::sync::CancellationToken;

use super::tests::http_error;
use super::*;
use crate::clock::{Clock, ManualClock};
use crate::cloud::Op;
use crate::cloud::sim::SimAccount;
use crate::engine::apply::{Executor, Outcome};
use crate::engine::governor::Governor;
use crate::engine::observe::tag_cache::TagCache;
use crate::engine::status::Heartbeat;
use crate::model::{Action, Change, ExecutorSettings, Plan, ResourceKind, SimSettings, Write};
use crate::telemetry::Telemetry;

fn governor(clock: Arc<ManualClock>) -> Governor {
    Governor::new(
        clock,
        Telemetry::new().expect("telemetry"),
        BTreeMap::new(),
        ExecutorSettings::default(),
    )
}

fn client(rules: &[&aws_smithy_mocks::Rule]) -> AwsLambda {
    AwsLambda::new(mock_client!(
        aws_sdk_lambda,
        RuleMode::Sequential,
        rules,
        |c| c.retry_config(crate::cloud::aws::single_attempt())
    ))
}

fn pc_status(status: ProvisionedConcurrencyStatusEnum) -> GetProvisionedConcurrencyConfigOutput {
    GetProvisionedConcurrencyConfigOutput::builder()
        .requested_provisioned_concurrent_executions(5)
        .allocated_provisioned_concurrent_executions(0)
        .available_provisioned_concurrent_executions(0)
        .status(status)
        .status_reason("capacity")
        .build()
}

#[tokio::test]
async fn update_in_progress_is_waited_out_then_retried() {
    let rule = mock!(Client::put_provisioned_concurrency_config)
        .sequence()
        .http_response(|| {
            http_error(
                409,
                "ResourceConflictException",
                None,
                "An update is in progress",
            )
        })
        .times(2)
        .output(|| {
            PutProvisionedConcurrencyConfigOutput::builder()
                .requested_provisioned_concurrent_executions(5)
                .status(ProvisionedConcurrencyStatusEnum::InProgress)
                .build()
        })
        .build();
    let lambda = client(&[&rule]);
    let clock = Arc::new(ManualClock::at_epoch());
    let start = clock.now();
    let gov = governor(clock.clone());
    let pc = gov
        .call(Op::PutProvisionedConcurrencyConfig, || {
            lambda.put_provisioned_concurrency_config("api", "live", 5)
        })
        .await
        .expect("succeeds after the update finishes");
    assert_eq!(pc.requested, 5);
    assert_eq!(rule.num_calls(), 3);
    let waited = clock.now().duration_since(start).expect("monotonic");
    assert!(
        waited >= Duration::from_secs(2),
        "waits at least 1 s per conflict, waited {waited:?}"
    );
    assert_eq!(
        gov.telemetry()
            .calls_for(Op::PutProvisionedConcurrencyConfig),
        3
    );
}

#[tokio::test]
async fn throttling_waits_at_least_retry_after_seconds() {
    let rule = mock!(Client::put_provisioned_concurrency_config)
        .sequence()
        .http_response(|| http_error(429, "TooManyRequestsException", Some("9"), "Rate exceeded"))
        .output(|| {
            PutProvisionedConcurrencyConfigOutput::builder()
                .requested_provisioned_concurrent_executions(5)
                .build()
        })
        .build();
    let lambda = client(&[&rule]);
    let clock = Arc::new(ManualClock::at_epoch());
    let start = clock.now();
    let gov = governor(clock.clone());
    gov.call(Op::PutProvisionedConcurrencyConfig, || {
        lambda.put_provisioned_concurrency_config("api", "live", 5)
    })
    .await
    .expect("succeeds after the wait");
    assert_eq!(rule.num_calls(), 2);
    let waited = clock.now().duration_since(start).expect("monotonic");
    assert!(
        waited >= Duration::from_secs(9),
        "honours retryAfterSeconds, waited {waited:?}"
    );
    assert_eq!(
        gov.telemetry()
            .api_throttled
            .with_label_values(&["lambda", "PutProvisionedConcurrencyConfig"])
            .get(),
        1
    );
}

/// A change that removes a warm-up once provisioned concurrency on `live` is READY.
fn guarded_removal() -> Plan {
    Plan {
        changes: vec![Change {
            kind: ResourceKind::Rule,
            id: "trimtab-warmup-api".into(),
            action: Action::Delete,
            diffs: Vec::new(),
            reason: "critical tier now".into(),
            phase: crate::model::Phase::Teardown,
            writes: vec![
                Write::AwaitProvisionedConcurrency {
                    function: "api".into(),
                    qualifier: "live".into(),
                },
                Write::DeleteRule {
                    name: "trimtab-warmup-api".into(),
                },
            ],
        }],
        ..Plan::default()
    }
}

async fn run_guarded(statuses: Vec<ProvisionedConcurrencyStatusEnum>) -> (Outcome, usize) {
    let mut seq = mock!(Client::get_provisioned_concurrency_config).sequence();
    for status in statuses {
        seq = seq.output(move || pc_status(status.clone()));
    }
    let rule = seq.build();
    let clock = Arc::new(ManualClock::at_epoch());
    let sim = SimAccount::new(&SimSettings::default(), "us-east-1", clock.clone()).expect("sim");
    let mut cloud = sim.cloud();
    cloud.lambda = Arc::new(client(&[&rule]));
    let gov = governor(clock);
    let executor = Executor::new(
        cloud,
        gov,
        4,
        Heartbeat::default(),
        Arc::new(TagCache::default()),
    );
    let report = executor
        .apply(&guarded_removal(), &CancellationToken::new())
        .await;
    (report.outcomes[0].outcome.clone(), rule.num_calls())
}

#[tokio::test]
async fn guarded_removal_waits_for_in_progress_to_become_ready() {
    use ProvisionedConcurrencyStatusEnum::{InProgress, Ready};
    let (outcome, polls) = run_guarded(vec![InProgress, InProgress, Ready]).await;
    assert_eq!(outcome, Outcome::Applied);
    assert_eq!(polls, 3);
}

#[tokio::test]
async fn guarded_removal_stops_when_provisioning_fails() {
    use ProvisionedConcurrencyStatusEnum::{Failed, InProgress};
    let (outcome, polls) = run_guarded(vec![InProgress, Failed]).await;
    match outcome {
        Outcome::Failed { error } => {
            assert!(
                error.contains("FAILED") && error.contains("keeping the old cold-start strategy"),
                "{error}"
            )
        }
        other => panic!("expected failure, got {other:?}"),
    }
    assert_eq!(polls, 2);
}
