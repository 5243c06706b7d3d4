//! Lambda adapter tests with aws-smithy-mocks: the provisioned-concurrency calls moto lacks, the
//! 409/429 error paths moto cannot produce, and the mapping of GetFunction and GetPolicy.

use aws_sdk_lambda::Client;
use aws_sdk_lambda::operation::delete_provisioned_concurrency_config::DeleteProvisionedConcurrencyConfigOutput;
use aws_sdk_lambda::operation::get_account_settings::GetAccountSettingsOutput;
use aws_sdk_lambda::operation::get_function::GetFunctionOutput;
use aws_sdk_lambda::operation::get_policy::{GetPolicyError, GetPolicyOutput};
use aws_sdk_lambda::operation::get_provisioned_concurrency_config::{
    GetProvisionedConcurrencyConfigError, GetProvisionedConcurrencyConfigOutput,
};
use aws_sdk_lambda::operation::list_functions::ListFunctionsOutput;
use aws_sdk_lambda::operation::list_provisioned_concurrency_configs::ListProvisionedConcurrencyConfigsOutput;
use aws_sdk_lambda::operation::put_provisioned_concurrency_config::{
    PutProvisionedConcurrencyConfigError, PutProvisionedConcurrencyConfigOutput,
};
use aws_sdk_lambda::types::error::{
    ProvisionedConcurrencyConfigNotFoundException, ResourceNotFoundException,
    TooManyRequestsException,
};
use aws_sdk_lambda::types::{
    AccountLimit, Concurrency, ProvisionedConcurrencyConfigListItem, TagsError,
};
use aws_smithy_mocks::{RuleMode, mock, mock_client};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;

use super::*;

fn meta(code: &str) -> ErrorMetadata {
    ErrorMetadata::builder()
        .code(code)
        .message("mocked")
        .build()
}

/// A Lambda REST-JSON error response as AWS sends it, so the SDK's own deserializer runs.
pub(super) fn http_error(
    status: u16,
    code: &str,
    retry_after: Option<&str>,
    message: &str,
) -> HttpResponse {
    let body = format!(r#"{{"Type":"User","message":"{message}"}}"#);
    let mut response = HttpResponse::new(
        StatusCode::try_from(status).expect("valid status"),
        SdkBody::from(body),
    );
    response
        .headers_mut()
        .insert("x-amzn-errortype", code.to_owned());
    response
        .headers_mut()
        .insert("content-type", "application/json");
    if let Some(after) = retry_after {
        response
            .headers_mut()
            .insert("Retry-After", after.to_owned());
    }
    response
}

#[tokio::test]
async fn provisioned_concurrency_put_get_list_delete() {
    let put = mock!(Client::put_provisioned_concurrency_config)
        .match_requests(|r| {
            r.function_name() == Some("api")
                && r.qualifier() == Some("live")
                && r.provisioned_concurrent_executions() == Some(10)
        })
        .then_output(|| {
            PutProvisionedConcurrencyConfigOutput::builder()
                .requested_provisioned_concurrent_executions(10)
                .allocated_provisioned_concurrent_executions(0)
                .available_provisioned_concurrent_executions(0)
                .status(ProvisionedConcurrencyStatusEnum::InProgress)
                .build()
        });
    let get_ready = mock!(Client::get_provisioned_concurrency_config)
        .match_requests(|r| r.qualifier() == Some("live"))
        .then_output(|| {
            GetProvisionedConcurrencyConfigOutput::builder()
                .requested_provisioned_concurrent_executions(10)
                .allocated_provisioned_concurrent_executions(10)
                .available_provisioned_concurrent_executions(10)
                .status(ProvisionedConcurrencyStatusEnum::Ready)
                .build()
        });
    let list = mock!(Client::list_provisioned_concurrency_configs)
        .match_requests(|r| {
            r.function_name() == Some("api")
                && r.max_items() == Some(50)
                && r.marker() == Some("m1")
        })
        .then_output(|| {
            ListProvisionedConcurrencyConfigsOutput::builder()
                .provisioned_concurrency_configs(
                    ProvisionedConcurrencyConfigListItem::builder()
                        .function_arn("arn:aws:lambda:us-east-1:123456789012:function:api:live")
                        .requested_provisioned_concurrent_executions(10)
                        .allocated_provisioned_concurrent_executions(10)
                        .available_provisioned_concurrent_executions(10)
                        .status(ProvisionedConcurrencyStatusEnum::Ready)
                        .build(),
                )
                .provisioned_concurrency_configs(
                    ProvisionedConcurrencyConfigListItem::builder()
                        .function_arn("arn:aws:lambda:us-east-1:123456789012:function:api:7")
                        .requested_provisioned_concurrent_executions(500)
                        .allocated_provisioned_concurrent_executions(0)
                        .available_provisioned_concurrent_executions(0)
                        .status(ProvisionedConcurrencyStatusEnum::Failed)
                        .status_reason("FUNCTION_ERROR_INIT_FAILURE")
                        .build(),
                )
                .next_marker("m2")
                .build()
        });
    let delete = mock!(Client::delete_provisioned_concurrency_config)
        .match_requests(|r| r.function_name() == Some("api") && r.qualifier() == Some("live"))
        .then_output(|| DeleteProvisionedConcurrencyConfigOutput::builder().build());
    let lambda = AwsLambda::new(mock_client!(
        aws_sdk_lambda,
        RuleMode::MatchAny,
        [&put, &get_ready, &list, &delete]
    ));

    let pc = lambda
        .put_provisioned_concurrency_config("api", "live", 10)
        .await
        .unwrap();
    assert_eq!(
        pc,
        ProvisionedConcurrency {
            function: "api".into(),
            qualifier: "live".into(),
            requested: 10,
            allocated: 0,
            available: 0,
            status: ProvisionedStatus::InProgress,
            status_reason: None,
        }
    );

    let pc = lambda
        .get_provisioned_concurrency_config("api", "live")
        .await
        .unwrap();
    assert_eq!(pc.status, ProvisionedStatus::Ready);
    assert_eq!((pc.requested, pc.allocated, pc.available), (10, 10, 10));

    let page = lambda
        .list_provisioned_concurrency_configs("api", Some("m1"))
        .await
        .unwrap();
    assert_eq!(page.next.as_deref(), Some("m2"));
    assert_eq!(page.items.len(), 2);
    assert_eq!(page.items[0].qualifier, "live");
    assert_eq!(page.items[0].status, ProvisionedStatus::Ready);
    assert_eq!(page.items[1].qualifier, "7");
    assert_eq!(page.items[1].status, ProvisionedStatus::Failed);
    assert_eq!(
        page.items[1].status_reason.as_deref(),
        Some("FUNCTION_ERROR_INIT_FAILURE")
    );

    lambda
        .delete_provisioned_concurrency_config("api", "live")
        .await
        .unwrap();
    assert_eq!(
        (
            put.num_calls(),
            get_ready.num_calls(),
            list.num_calls(),
            delete.num_calls()
        ),
        (1, 1, 1, 1)
    );
}

#[tokio::test]
async fn no_provisioned_concurrency_is_not_found() {
    let rule = mock!(Client::get_provisioned_concurrency_config).then_error(|| {
        GetProvisionedConcurrencyConfigError::ProvisionedConcurrencyConfigNotFoundException(
            ProvisionedConcurrencyConfigNotFoundException::builder()
                .meta(meta("ProvisionedConcurrencyConfigNotFoundException"))
                .build(),
        )
    });
    let lambda = AwsLambda::new(mock_client!(aws_sdk_lambda, [&rule]));
    let err = lambda
        .get_provisioned_concurrency_config("api", "live")
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound);
    assert_eq!(err.op, Op::GetProvisionedConcurrencyConfig);
}

#[tokio::test]
async fn update_in_progress_409_is_a_conflict() {
    let rule = mock!(Client::put_provisioned_concurrency_config).then_http_response(|| {
        http_error(
            409,
            "ResourceConflictException",
            None,
            "An update is in progress for resource: arn:aws:lambda:us-east-1:123456789012:function:api",
        )
    });
    let lambda = AwsLambda::new(mock_client!(aws_sdk_lambda, [&rule]));
    let err = lambda
        .put_provisioned_concurrency_config("api", "live", 5)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Conflict);
    assert!(err.kind.is_retryable());
    assert_eq!(err.code.as_deref(), Some("ResourceConflictException"));
    assert!(
        err.message.contains("update is in progress"),
        "{}",
        err.message
    );
    assert!(err.source.is_some(), "the SDK error stays in the chain");
    assert_eq!(rule.num_calls(), 1);
}

#[tokio::test]
async fn throttled_429_carries_retry_after() {
    // Over the wire: retryAfterSeconds travels in the Retry-After header.
    let wire = mock!(Client::put_provisioned_concurrency_config).then_http_response(|| {
        http_error(429, "TooManyRequestsException", Some("7"), "Rate exceeded")
    });
    // Configured as `connect` configures it, so the call count shows there is no SDK retry.
    let lambda = AwsLambda::new(mock_client!(
        aws_sdk_lambda,
        RuleMode::Sequential,
        [&wire],
        |c| c.retry_config(crate::cloud::aws::single_attempt())
    ));
    let err = lambda
        .put_provisioned_concurrency_config("api", "live", 5)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled);
    assert_eq!(err.code.as_deref(), Some("TooManyRequestsException"));
    assert_eq!(err.retry_after, Some(Duration::from_secs(7)));
    // One attempt only: the executor owns retries.
    assert_eq!(wire.num_calls(), 1);

    // As a modeled error (no raw headers to read): the modeled field is used.
    let modeled = mock!(Client::put_provisioned_concurrency_config).then_error(|| {
        PutProvisionedConcurrencyConfigError::TooManyRequestsException(
            TooManyRequestsException::builder()
                .retry_after_seconds("3")
                .meta(meta("TooManyRequestsException"))
                .build(),
        )
    });
    let lambda = AwsLambda::new(mock_client!(
        aws_sdk_lambda,
        RuleMode::Sequential,
        [&modeled],
        |c| c.retry_config(crate::cloud::aws::single_attempt())
    ));
    let err = lambda
        .put_provisioned_concurrency_config("api", "live", 5)
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Throttled);
    assert_eq!(err.retry_after, Some(Duration::from_secs(3)));
}

#[tokio::test]
async fn list_functions_pages_of_fifty() {
    let rule = mock!(Client::list_functions)
        .match_requests(|r| r.max_items() == Some(50) && r.marker() == Some("p2"))
        .then_output(|| {
            ListFunctionsOutput::builder()
                .functions(
                    FunctionConfiguration::builder()
                        .function_name("api")
                        .function_arn("arn:aws:lambda:us-east-1:123456789012:function:api")
                        .memory_size(512)
                        .timeout(30)
                        .architectures(SdkArchitecture::Arm64)
                        .runtime(aws_sdk_lambda::types::Runtime::Python312)
                        .last_update_status(LastUpdateStatus::InProgress)
                        .build(),
                )
                .functions(
                    // Everything optional left out.
                    FunctionConfiguration::builder()
                        .function_name("img")
                        .function_arn("arn:aws:lambda:us-east-1:123456789012:function:img")
                        .build(),
                )
                .next_marker("p3")
                .build()
        });
    let lambda = AwsLambda::new(mock_client!(aws_sdk_lambda, [&rule]));
    let page = lambda.list_functions(Some("p2")).await.unwrap();
    assert_eq!(page.next.as_deref(), Some("p3"));
    let api = &page.items[0];
    assert_eq!((api.memory_mb, api.timeout_s), (512, 30));
    assert_eq!(api.architecture, Architecture::Arm64);
    assert_eq!(api.runtime.as_deref(), Some("python3.12"));
    assert_eq!(api.last_update_status, UpdateStatus::InProgress);
    let img = &page.items[1];
    assert_eq!((img.memory_mb, img.timeout_s), (128, 3));
    assert_eq!(img.architecture, Architecture::X86_64);
    assert_eq!(img.runtime, None);
    assert_eq!(img.last_update_status, UpdateStatus::Successful);
}

fn config() -> FunctionConfiguration {
    FunctionConfiguration::builder()
        .function_name("api")
        .function_arn("arn:aws:lambda:us-east-1:123456789012:function:api")
        .build()
}

#[tokio::test]
async fn get_function_reads_tags_and_reserved_concurrency() {
    let ok = mock!(Client::get_function)
        .match_requests(|r| r.function_name() == Some("api"))
        .then_output(|| {
            GetFunctionOutput::builder()
                .configuration(config())
                .tags("managed-by", "trimtab")
                .concurrency(
                    Concurrency::builder()
                        .reserved_concurrent_executions(25)
                        .build(),
                )
                .build()
        });
    let tags_denied = mock!(Client::get_function)
        .match_requests(|r| r.function_name() == Some("secret"))
        .then_output(|| {
            GetFunctionOutput::builder()
                .configuration(config())
                .tags_error(
                    TagsError::builder()
                        .error_code("AccessDeniedException")
                        .message("not authorized to perform: lambda:ListTags")
                        .build()
                        .unwrap(),
                )
                .build()
        });
    let lambda = AwsLambda::new(mock_client!(
        aws_sdk_lambda,
        RuleMode::MatchAny,
        [&ok, &tags_denied]
    ));
    let detail = lambda.get_function("api").await.unwrap();
    assert_eq!(detail.tags.value("managed-by"), Some("trimtab"));
    assert_eq!(detail.reserved_concurrency, Some(25));

    let err = lambda.get_function("secret").await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::AccessDenied);
}

#[tokio::test]
async fn get_policy_parses_statements_and_404_is_empty() {
    const DOC: &str = r#"{"Version":"2012-10-17","Id":"default","Statement":[
        {"Sid":"warmup","Effect":"Allow","Principal":{"Service":"events.amazonaws.com"},
         "Action":"lambda:InvokeFunction",
         "Resource":"arn:aws:lambda:us-east-1:123456789012:function:api:live",
         "Condition":{"ArnLike":{"AWS:SourceArn":"arn:aws:events:us-east-1:123456789012:rule/trimtab-warm-api"}}},
        {"Sid":"anyone","Effect":"Allow","Principal":"*","Action":["lambda:InvokeFunction"],
         "Resource":"arn:aws:lambda:us-east-1:123456789012:function:api"}]}"#;
    let with_policy = mock!(Client::get_policy)
        .match_requests(|r| r.function_name() == Some("api"))
        .then_output(|| GetPolicyOutput::builder().policy(DOC).build());
    let without = mock!(Client::get_policy)
        .match_requests(|r| r.function_name() == Some("bare"))
        .then_error(|| {
            GetPolicyError::ResourceNotFoundException(
                ResourceNotFoundException::builder()
                    .meta(meta("ResourceNotFoundException"))
                    .build(),
            )
        });
    let lambda = AwsLambda::new(mock_client!(
        aws_sdk_lambda,
        RuleMode::MatchAny,
        [&with_policy, &without]
    ));
    let perms = lambda.get_policy("api", None).await.unwrap();
    assert_eq!(
        perms,
        vec![
            Permission {
                statement_id: "warmup".into(),
                action: "lambda:InvokeFunction".into(),
                principal: "events.amazonaws.com".into(),
                source_arn: Some(
                    "arn:aws:events:us-east-1:123456789012:rule/trimtab-warm-api".into()
                ),
                qualifier: Some("live".into()),
            },
            Permission {
                statement_id: "anyone".into(),
                action: "lambda:InvokeFunction".into(),
                principal: "*".into(),
                source_arn: None,
                qualifier: None,
            },
        ]
    );
    assert!(lambda.get_policy("bare", None).await.unwrap().is_empty());
}

#[test]
fn qualifier_comes_from_the_ninth_arn_field() {
    assert_eq!(
        arn_qualifier("arn:aws:lambda:us-east-1:1:function:api:live"),
        Some("live")
    );
    assert_eq!(
        arn_qualifier("arn:aws:lambda:us-east-1:1:function:api"),
        None
    );
}

/// moto has no GetAccountSettings.
#[tokio::test]
async fn account_settings_concurrency() {
    let rule = mock!(Client::get_account_settings).then_output(|| {
        GetAccountSettingsOutput::builder()
            .account_limit(
                AccountLimit::builder()
                    .concurrent_executions(1000)
                    .unreserved_concurrent_executions(870)
                    .build(),
            )
            .build()
    });
    let lambda = AwsLambda::new(mock_client!(aws_sdk_lambda, [&rule]));
    assert_eq!(
        lambda.get_account_settings().await.unwrap(),
        AccountConcurrency {
            limit: 1000,
            unreserved: 870
        }
    );
}

#[tokio::test]
async fn right_sizing_writes_carry_the_revision_and_a_stale_one_is_a_precondition_failure() {
    use aws_sdk_lambda::operation::publish_version::PublishVersionOutput;
    use aws_sdk_lambda::operation::update_alias::UpdateAliasOutput;
    use aws_sdk_lambda::operation::update_function_configuration::UpdateFunctionConfigurationOutput;
    use aws_sdk_lambda::types::AliasRoutingConfiguration;

    let stale = mock!(Client::update_function_configuration)
        .match_requests(|r| r.revision_id() == Some("rev-old") && r.memory_size() == Some(768))
        .then_http_response(|| {
            http_error(
                412,
                "PreconditionFailedException",
                None,
                "The Revision Id provided does not match the latest Revision Id.",
            )
        });
    let current = mock!(Client::update_function_configuration)
        .match_requests(|r| r.revision_id() == Some("rev-1") && r.memory_size() == Some(768))
        .then_output(|| {
            UpdateFunctionConfigurationOutput::builder()
                .revision_id("rev-2")
                .build()
        });
    let publish = mock!(Client::publish_version)
        .match_requests(|r| r.function_name() == Some("api") && r.revision_id() == Some("rev-2"))
        .then_output(|| PublishVersionOutput::builder().version("7").build());
    let route = mock!(Client::update_alias)
        .match_requests(|r| {
            r.name() == Some("live")
                && r.function_version() == Some("6")
                && r.routing_config()
                    .and_then(|c| c.additional_version_weights())
                    .and_then(|w| w.get("7"))
                    == Some(&0.1)
        })
        .then_output(|| {
            UpdateAliasOutput::builder()
                .name("live")
                .alias_arn("arn:aws:lambda:us-east-1:1:function:api:live")
                .function_version("6")
                .routing_config(
                    AliasRoutingConfiguration::builder()
                        .additional_version_weights("7", 0.1)
                        .build(),
                )
                .build()
        });
    let promote = mock!(Client::update_alias)
        .match_requests(|r| {
            r.function_version() == Some("7")
                && r.routing_config()
                    .and_then(|c| c.additional_version_weights())
                    .is_some_and(|w| w.is_empty())
        })
        .then_output(|| {
            UpdateAliasOutput::builder()
                .name("live")
                .alias_arn("arn:aws:lambda:us-east-1:1:function:api:live")
                .function_version("7")
                .build()
        });
    let client = mock_client!(
        aws_sdk_lambda,
        RuleMode::MatchAny,
        [&stale, &current, &publish, &route, &promote]
    );
    let lambda = AwsLambda::new(client);
    let update = |rev: &str| FunctionConfigUpdate {
        memory_mb: Some(768),
        timeout_s: None,
        revision_id: Some(rev.to_string()),
    };
    let e = lambda
        .update_function_configuration("api", &update("rev-old"))
        .await
        .err();
    assert_eq!(
        e.map(|e| (e.kind, e.code)),
        Some((
            crate::cloud::ErrorKind::Precondition,
            Some("PreconditionFailedException".into())
        ))
    );
    assert!(!crate::cloud::ErrorKind::Precondition.is_retryable());
    lambda
        .update_function_configuration("api", &update("rev-1"))
        .await
        .expect("current revision");
    let version = lambda
        .publish_version("api", Some("rev-2"))
        .await
        .expect("publish");
    let routing = VersionWeight {
        version,
        weight: 0.1,
    };
    let alias = lambda
        .update_alias("api", "live", "6", Some(&routing))
        .await
        .expect("route");
    assert_eq!(alias.routing, Some(routing));
    let alias = lambda
        .update_alias("api", "live", "7", None)
        .await
        .expect("promote");
    assert_eq!(
        (alias.function_version.as_str(), alias.routing),
        ("7", None)
    );
    assert_eq!(
        (
            stale.num_calls(),
            current.num_calls(),
            publish.num_calls(),
            route.num_calls(),
            promote.num_calls()
        ),
        (1, 1, 1, 1, 1)
    );
}
