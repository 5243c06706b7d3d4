//! `LambdaApi` over aws-sdk-lambda: function configuration, tags, reserved and provisioned
//! concurrency, aliases and versions, and resource-policy permissions.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_lambda::error::SdkError;
use aws_sdk_lambda::types::{
    Architecture as SdkArchitecture, FunctionConfiguration, LastUpdateStatus,
    ProvisionedConcurrencyStatusEnum,
};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::error::{classify, from_sdk_with, parse_retry_after};
use super::{missing, to_i32, to_u32};
use crate::cloud::{CloudError, CloudResult, ErrorKind, LambdaApi, Op};
use crate::model::{
    AccountConcurrency, Alias, Architecture, FunctionConfigUpdate, FunctionDetail, FunctionSummary,
    Page, Permission, ProvisionedConcurrency, ProvisionedStatus, Tags, UpdateStatus, VersionWeight,
};

/// The most ListFunctions and ListProvisionedConcurrencyConfigs accept as `MaxItems`.
const FUNCTIONS_PAGE: i32 = 50;
const PROVISIONED_PAGE: i32 = 50;
/// The most ListAliases accepts as `MaxItems`.
const ALIASES_PAGE: i32 = 10_000;

/// Lambda's 429 carries `retryAfterSeconds` (bound to the `Retry-After` header). The header is
/// read generically; this reads the modeled field, for errors built without a raw response.
trait ModeledRetryAfter {
    fn retry_after(&self) -> Option<Duration>;
}

macro_rules! modeled_retry_after {
    ($($module:ident :: $error:ident),+ $(,)?) => {$(
        impl ModeledRetryAfter for aws_sdk_lambda::operation::$module::$error {
            fn retry_after(&self) -> Option<Duration> {
                match self {
                    Self::TooManyRequestsException(e) => {
                        e.retry_after_seconds().and_then(parse_retry_after)
                    }
                    _ => None,
                }
            }
        }
    )+};
}

modeled_retry_after!(
    list_functions::ListFunctionsError,
    get_function::GetFunctionError,
    get_function_configuration::GetFunctionConfigurationError,
    get_account_settings::GetAccountSettingsError,
    put_function_concurrency::PutFunctionConcurrencyError,
    delete_function_concurrency::DeleteFunctionConcurrencyError,
    tag_resource::TagResourceError,
    untag_resource::UntagResourceError,
    list_aliases::ListAliasesError,
    publish_version::PublishVersionError,
    create_alias::CreateAliasError,
    update_alias::UpdateAliasError,
    list_provisioned_concurrency_configs::ListProvisionedConcurrencyConfigsError,
    get_provisioned_concurrency_config::GetProvisionedConcurrencyConfigError,
    put_provisioned_concurrency_config::PutProvisionedConcurrencyConfigError,
    delete_provisioned_concurrency_config::DeleteProvisionedConcurrencyConfigError,
    get_policy::GetPolicyError,
    add_permission::AddPermissionError,
    remove_permission::RemovePermissionError,
    update_function_configuration::UpdateFunctionConfigurationError,
);

fn lambda_err<E>(op: Op) -> impl FnOnce(SdkError<E, HttpResponse>) -> CloudError
where
    E: ModeledRetryAfter + ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    move |e| from_sdk_with(op, e, E::retry_after)
}

pub(crate) struct AwsLambda {
    client: aws_sdk_lambda::Client,
}

impl AwsLambda {
    pub(crate) fn new(client: aws_sdk_lambda::Client) -> Self {
        Self { client }
    }
}

/// A function's configuration as the SDK reports it. GetFunctionConfiguration's output and
/// the `FunctionConfiguration` of ListFunctions and GetFunction are different types with the
/// same getters, hence a macro.
macro_rules! summary_of {
    ($op:expr, $f:expr) => {{
        let (op, f) = ($op, $f);
        Ok::<_, CloudError>(FunctionSummary {
            name: f
                .function_name()
                .ok_or_else(|| missing(op, "FunctionName"))?
                .to_owned(),
            arn: f
                .function_arn()
                .ok_or_else(|| missing(op, "FunctionArn"))?
                .to_owned(),
            // AWS's defaults, for responses that leave them out.
            memory_mb: f.memory_size().map(to_u32).unwrap_or(128),
            timeout_s: f.timeout().map(to_u32).unwrap_or(3),
            architecture: match f.architectures().first() {
                Some(SdkArchitecture::Arm64) => Architecture::Arm64,
                _ => Architecture::X86_64,
            },
            runtime: f.runtime().map(|r| r.as_str().to_owned()),
            last_update_status: match f.last_update_status() {
                Some(LastUpdateStatus::InProgress) => UpdateStatus::InProgress,
                Some(LastUpdateStatus::Failed) => UpdateStatus::Failed,
                _ => UpdateStatus::Successful,
            },
            revision_id: f.revision_id().map(str::to_owned),
            code_sha256: f.code_sha256().map(str::to_owned),
            layers: f
                .layers()
                .iter()
                .filter_map(|l| l.arn().map(str::to_owned))
                .collect(),
        })
    }};
}

fn summary(op: Op, f: &FunctionConfiguration) -> CloudResult<FunctionSummary> {
    summary_of!(op, f)
}

/// An alias as the SDK reports it (list, create and update share the shape).
fn alias_of(
    op: Op,
    name: Option<&str>,
    arn: Option<&str>,
    version: Option<&str>,
    routing: Option<&aws_sdk_lambda::types::AliasRoutingConfiguration>,
) -> CloudResult<Alias> {
    let routing = routing
        .and_then(|r| r.additional_version_weights())
        .and_then(|w| w.iter().next())
        .map(|(version, weight)| VersionWeight {
            version: version.clone(),
            weight: *weight,
        });
    Ok(Alias {
        name: name.ok_or_else(|| missing(op, "Name"))?.to_owned(),
        arn: arn.ok_or_else(|| missing(op, "AliasArn"))?.to_owned(),
        function_version: version.unwrap_or_default().to_owned(),
        routing,
    })
}

/// The qualifier of a qualified function ARN (`arn:aws:lambda:REGION:ACCOUNT:function:NAME:Q`).
pub(crate) fn arn_qualifier(arn: &str) -> Option<&str> {
    arn.splitn(8, ':').nth(7).filter(|q| !q.is_empty())
}

fn provisioned_status(status: Option<&ProvisionedConcurrencyStatusEnum>) -> ProvisionedStatus {
    match status {
        Some(ProvisionedConcurrencyStatusEnum::Ready) => ProvisionedStatus::Ready,
        Some(ProvisionedConcurrencyStatusEnum::Failed) => ProvisionedStatus::Failed,
        // Absent or a status newer than this SDK: not ready, so nothing relies on it yet.
        _ => ProvisionedStatus::InProgress,
    }
}

/// The three PC outputs (Get, Put, list item) have the same fields but no common type.
struct PcFields<'a> {
    requested: Option<i32>,
    allocated: Option<i32>,
    available: Option<i32>,
    status: Option<&'a ProvisionedConcurrencyStatusEnum>,
    reason: Option<&'a str>,
}

fn provisioned(function: &str, qualifier: &str, f: PcFields<'_>) -> ProvisionedConcurrency {
    ProvisionedConcurrency {
        function: function.to_owned(),
        qualifier: qualifier.to_owned(),
        requested: f.requested.map(to_u32).unwrap_or(0),
        allocated: f.allocated.map(to_u32).unwrap_or(0),
        available: f.available.map(to_u32).unwrap_or(0),
        status: provisioned_status(f.status),
        status_reason: f.reason.map(str::to_owned),
    }
}

#[async_trait]
impl LambdaApi for AwsLambda {
    async fn list_functions(&self, next: Option<&str>) -> CloudResult<Page<FunctionSummary>> {
        const OP: Op = Op::ListFunctions;
        let out = self
            .client
            .list_functions()
            .set_marker(next.map(str::to_owned))
            .max_items(FUNCTIONS_PAGE)
            .send()
            .await
            .map_err(lambda_err(OP))?;
        Ok(Page {
            items: out
                .functions()
                .iter()
                .map(|f| summary(OP, f))
                .collect::<CloudResult<_>>()?,
            next: out.next_marker().map(str::to_owned),
        })
    }

    async fn get_function(&self, name: &str) -> CloudResult<FunctionDetail> {
        const OP: Op = Op::GetFunction;
        let out = self
            .client
            .get_function()
            .function_name(name)
            .send()
            .await
            .map_err(lambda_err(OP))?;
        // Without lambda:ListTags, GetFunction still succeeds but reports TagsError instead of
        // tags. Reading that as "no tags" would make every function look unowned.
        if let Some(tags_error) = out.tags_error() {
            let code = tags_error.error_code();
            return Err(CloudError::new(
                classify(Some(code), Some(tags_error.message()), None),
                OP,
                format!("tags unreadable: {}", tags_error.message()),
            )
            .with_code(code));
        }
        let config = out
            .configuration()
            .ok_or_else(|| missing(OP, "Configuration"))?;
        Ok(FunctionDetail {
            summary: summary(OP, config)?,
            tags: out
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            reserved_concurrency: out
                .concurrency()
                .and_then(|c| c.reserved_concurrent_executions())
                .map(to_u32),
        })
    }

    async fn get_function_configuration(
        &self,
        function: &str,
        qualifier: &str,
    ) -> CloudResult<FunctionSummary> {
        const OP: Op = Op::GetFunctionConfiguration;
        let out = self
            .client
            .get_function_configuration()
            .function_name(function)
            .qualifier(qualifier)
            .send()
            .await
            .map_err(lambda_err(OP))?;
        summary_of!(OP, &out)
    }

    async fn get_account_settings(&self) -> CloudResult<AccountConcurrency> {
        const OP: Op = Op::GetAccountSettings;
        let out = self
            .client
            .get_account_settings()
            .send()
            .await
            .map_err(lambda_err(OP))?;
        let limit = out
            .account_limit()
            .ok_or_else(|| missing(OP, "AccountLimit"))?;
        Ok(AccountConcurrency {
            limit: to_u32(limit.concurrent_executions()),
            unreserved: to_u32(
                limit
                    .unreserved_concurrent_executions()
                    .ok_or_else(|| missing(OP, "AccountLimit.UnreservedConcurrentExecutions"))?,
            ),
        })
    }

    async fn put_function_concurrency(&self, name: &str, reserved: u32) -> CloudResult<()> {
        self.client
            .put_function_concurrency()
            .function_name(name)
            .reserved_concurrent_executions(to_i32(reserved))
            .send()
            .await
            .map_err(lambda_err(Op::PutFunctionConcurrency))?;
        Ok(())
    }

    async fn delete_function_concurrency(&self, name: &str) -> CloudResult<()> {
        self.client
            .delete_function_concurrency()
            .function_name(name)
            .send()
            .await
            .map_err(lambda_err(Op::DeleteFunctionConcurrency))?;
        Ok(())
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()> {
        let tags: HashMap<String, String> = tags
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.client
            .tag_resource()
            .resource(arn)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(lambda_err(Op::LambdaTagResource))?;
        Ok(())
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> CloudResult<()> {
        self.client
            .untag_resource()
            .resource(arn)
            .set_tag_keys(Some(keys.to_vec()))
            .send()
            .await
            .map_err(lambda_err(Op::LambdaUntagResource))?;
        Ok(())
    }

    async fn list_aliases(&self, function: &str, next: Option<&str>) -> CloudResult<Page<Alias>> {
        const OP: Op = Op::ListAliases;
        let out = self
            .client
            .list_aliases()
            .function_name(function)
            .set_marker(next.map(str::to_owned))
            .max_items(ALIASES_PAGE)
            .send()
            .await
            .map_err(lambda_err(OP))?;
        let items = out
            .aliases()
            .iter()
            .map(|a| {
                alias_of(
                    OP,
                    a.name(),
                    a.alias_arn(),
                    a.function_version(),
                    a.routing_config(),
                )
            })
            .collect::<CloudResult<_>>()?;
        Ok(Page {
            items,
            next: out.next_marker().map(str::to_owned),
        })
    }

    async fn publish_version(
        &self,
        function: &str,
        revision_id: Option<&str>,
    ) -> CloudResult<String> {
        const OP: Op = Op::PublishVersion;
        let out = self
            .client
            .publish_version()
            .function_name(function)
            .set_revision_id(revision_id.map(str::to_owned))
            .send()
            .await
            .map_err(lambda_err(OP))?;
        out.version()
            .map(str::to_owned)
            .ok_or_else(|| missing(OP, "Version"))
    }

    async fn create_alias(&self, function: &str, alias: &str, version: &str) -> CloudResult<Alias> {
        const OP: Op = Op::CreateAlias;
        let out = self
            .client
            .create_alias()
            .function_name(function)
            .name(alias)
            .function_version(version)
            .send()
            .await
            .map_err(lambda_err(OP))?;
        alias_of(
            OP,
            out.name().or(Some(alias)),
            out.alias_arn(),
            out.function_version().or(Some(version)),
            out.routing_config(),
        )
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        routing: Option<&VersionWeight>,
    ) -> CloudResult<Alias> {
        const OP: Op = Op::UpdateAlias;
        // An empty map removes the routing; leaving it out would keep the old one.
        let weights: std::collections::HashMap<String, f64> = routing
            .map(|r| (r.version.clone(), r.weight))
            .into_iter()
            .collect();
        let out = self
            .client
            .update_alias()
            .function_name(function)
            .name(alias)
            .function_version(version)
            .routing_config(
                aws_sdk_lambda::types::AliasRoutingConfiguration::builder()
                    .set_additional_version_weights(Some(weights))
                    .build(),
            )
            .send()
            .await
            .map_err(lambda_err(OP))?;
        alias_of(
            OP,
            out.name().or(Some(alias)),
            out.alias_arn(),
            out.function_version().or(Some(version)),
            out.routing_config(),
        )
    }

    async fn list_provisioned_concurrency_configs(
        &self,
        function: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<ProvisionedConcurrency>> {
        const OP: Op = Op::ListProvisionedConcurrencyConfigs;
        let out = self
            .client
            .list_provisioned_concurrency_configs()
            .function_name(function)
            .set_marker(next.map(str::to_owned))
            .max_items(PROVISIONED_PAGE)
            .send()
            .await
            .map_err(lambda_err(OP))?;
        let items = out
            .provisioned_concurrency_configs()
            .iter()
            .map(|c| {
                let arn = c
                    .function_arn()
                    .ok_or_else(|| missing(OP, "ProvisionedConcurrencyConfigs[].FunctionArn"))?;
                let qualifier = arn_qualifier(arn).ok_or_else(|| {
                    CloudError::new(
                        ErrorKind::Other,
                        OP,
                        format!(
                            "unqualified function ARN {arn:?} in a provisioned-concurrency config"
                        ),
                    )
                })?;
                Ok(provisioned(
                    function,
                    qualifier,
                    PcFields {
                        requested: c.requested_provisioned_concurrent_executions(),
                        allocated: c.allocated_provisioned_concurrent_executions(),
                        available: c.available_provisioned_concurrent_executions(),
                        status: c.status(),
                        reason: c.status_reason(),
                    },
                ))
            })
            .collect::<CloudResult<_>>()?;
        Ok(Page {
            items,
            next: out.next_marker().map(str::to_owned),
        })
    }

    async fn get_provisioned_concurrency_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> CloudResult<ProvisionedConcurrency> {
        // "None configured" is ProvisionedConcurrencyConfigNotFoundException, mapped to NotFound.
        let out = self
            .client
            .get_provisioned_concurrency_config()
            .function_name(function)
            .qualifier(qualifier)
            .send()
            .await
            .map_err(lambda_err(Op::GetProvisionedConcurrencyConfig))?;
        Ok(provisioned(
            function,
            qualifier,
            PcFields {
                requested: out.requested_provisioned_concurrent_executions(),
                allocated: out.allocated_provisioned_concurrent_executions(),
                available: out.available_provisioned_concurrent_executions(),
                status: out.status(),
                reason: out.status_reason(),
            },
        ))
    }

    async fn put_provisioned_concurrency_config(
        &self,
        function: &str,
        qualifier: &str,
        requested: u32,
    ) -> CloudResult<ProvisionedConcurrency> {
        let out = self
            .client
            .put_provisioned_concurrency_config()
            .function_name(function)
            .qualifier(qualifier)
            .provisioned_concurrent_executions(to_i32(requested))
            .send()
            .await
            .map_err(lambda_err(Op::PutProvisionedConcurrencyConfig))?;
        Ok(provisioned(
            function,
            qualifier,
            PcFields {
                requested: out
                    .requested_provisioned_concurrent_executions()
                    .or(Some(to_i32(requested))),
                allocated: out.allocated_provisioned_concurrent_executions(),
                available: out.available_provisioned_concurrent_executions(),
                status: out.status(),
                reason: out.status_reason(),
            },
        ))
    }

    async fn delete_provisioned_concurrency_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> CloudResult<()> {
        self.client
            .delete_provisioned_concurrency_config()
            .function_name(function)
            .qualifier(qualifier)
            .send()
            .await
            .map_err(lambda_err(Op::DeleteProvisionedConcurrencyConfig))?;
        Ok(())
    }

    async fn get_policy(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> CloudResult<Vec<Permission>> {
        const OP: Op = Op::GetPolicy;
        let result = self
            .client
            .get_policy()
            .function_name(function)
            .set_qualifier(qualifier.map(str::to_owned))
            .send()
            .await;
        let out = match result {
            Ok(out) => out,
            Err(e) => {
                // A function without a resource policy answers 404. (So does a function that
                // does not exist; the next write to it will say so.)
                let err = lambda_err(OP)(e);
                return if err.is(ErrorKind::NotFound) {
                    Ok(Vec::new())
                } else {
                    Err(err)
                };
            }
        };
        match out.policy() {
            Some(doc) => super::lambda_policy::permissions(doc).map_err(|e| {
                CloudError::new(ErrorKind::Other, OP, "resource policy is not valid JSON")
                    .with_source(e)
            }),
            None => Ok(Vec::new()),
        }
    }

    async fn add_permission(&self, function: &str, permission: &Permission) -> CloudResult<()> {
        self.client
            .add_permission()
            .function_name(function)
            .statement_id(&permission.statement_id)
            .action(&permission.action)
            .principal(&permission.principal)
            .set_source_arn(permission.source_arn.clone())
            .set_qualifier(permission.qualifier.clone())
            .send()
            .await
            .map_err(lambda_err(Op::AddPermission))?;
        Ok(())
    }

    async fn remove_permission(
        &self,
        function: &str,
        statement_id: &str,
        qualifier: Option<&str>,
    ) -> CloudResult<()> {
        self.client
            .remove_permission()
            .function_name(function)
            .statement_id(statement_id)
            .set_qualifier(qualifier.map(str::to_owned))
            .send()
            .await
            .map_err(lambda_err(Op::RemovePermission))?;
        Ok(())
    }

    async fn update_function_configuration(
        &self,
        function: &str,
        update: &FunctionConfigUpdate,
    ) -> CloudResult<()> {
        self.client
            .update_function_configuration()
            .function_name(function)
            .set_memory_size(update.memory_mb.map(to_i32))
            .set_timeout(update.timeout_s.map(to_i32))
            .set_revision_id(update.revision_id.clone())
            .send()
            .await
            .map_err(lambda_err(Op::UpdateFunctionConfiguration))?;
        Ok(())
    }
}

#[cfg(test)]
#[path = "lambda_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "lambda_flow_tests.rs"]
mod flow_tests;
