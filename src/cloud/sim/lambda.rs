//! `LambdaApi` on the simulated account; the behaviour lives in `functions` (configuration,
//! concurrency, tags, versions, aliases) and `provisioned` (provisioned concurrency, policies).

use async_trait::async_trait;

use crate::cloud::{CloudResult, LambdaApi, Op};
use crate::model::{
    AccountConcurrency, Alias, FunctionConfigUpdate, FunctionDetail, FunctionSummary, Page,
    Permission, ProvisionedConcurrency, Tags,
};

use super::{SimAccount, functions, provisioned};

#[async_trait]
impl LambdaApi for SimAccount {
    async fn list_functions(&self, next: Option<&str>) -> CloudResult<Page<FunctionSummary>> {
        self.call(Op::ListFunctions, |cx| functions::list(cx, next))
            .await
    }

    async fn get_function(&self, name: &str) -> CloudResult<FunctionDetail> {
        self.call(Op::GetFunction, |cx| functions::get(cx, name))
            .await
    }

    async fn get_account_settings(&self) -> CloudResult<AccountConcurrency> {
        self.call(Op::GetAccountSettings, |cx| {
            Ok(functions::account_settings(cx.st))
        })
        .await
    }

    async fn put_function_concurrency(&self, name: &str, reserved: u32) -> CloudResult<()> {
        self.call(Op::PutFunctionConcurrency, |cx| {
            functions::put_reserved(cx, name, reserved)
        })
        .await
    }

    async fn delete_function_concurrency(&self, name: &str) -> CloudResult<()> {
        self.call(Op::DeleteFunctionConcurrency, |cx| {
            functions::delete_reserved(cx, name)
        })
        .await
    }

    async fn tag_resource(&self, arn: &str, tags: &Tags) -> CloudResult<()> {
        self.call(Op::LambdaTagResource, |cx| functions::tag(cx, arn, tags))
            .await
    }

    async fn untag_resource(&self, arn: &str, keys: &[String]) -> CloudResult<()> {
        self.call(Op::LambdaUntagResource, |cx| {
            functions::untag(cx, arn, keys)
        })
        .await
    }

    async fn list_aliases(&self, function: &str, next: Option<&str>) -> CloudResult<Page<Alias>> {
        self.call(Op::ListAliases, |cx| {
            functions::list_aliases(cx, function, next)
        })
        .await
    }

    async fn publish_version(&self, function: &str) -> CloudResult<String> {
        self.call(Op::PublishVersion, |cx| {
            functions::publish_version(cx, function)
        })
        .await
    }

    async fn create_alias(&self, function: &str, alias: &str, version: &str) -> CloudResult<Alias> {
        self.call(Op::CreateAlias, |cx| {
            functions::create_alias(cx, function, alias, version)
        })
        .await
    }

    async fn list_provisioned_concurrency_configs(
        &self,
        function: &str,
        next: Option<&str>,
    ) -> CloudResult<Page<ProvisionedConcurrency>> {
        self.call(Op::ListProvisionedConcurrencyConfigs, |cx| {
            provisioned::list(cx, function, next)
        })
        .await
    }

    async fn get_provisioned_concurrency_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> CloudResult<ProvisionedConcurrency> {
        self.call(Op::GetProvisionedConcurrencyConfig, |cx| {
            provisioned::get(cx, function, qualifier)
        })
        .await
    }

    async fn put_provisioned_concurrency_config(
        &self,
        function: &str,
        qualifier: &str,
        requested: u32,
    ) -> CloudResult<ProvisionedConcurrency> {
        self.call(Op::PutProvisionedConcurrencyConfig, |cx| {
            provisioned::put(cx, function, qualifier, requested)
        })
        .await
    }

    async fn delete_provisioned_concurrency_config(
        &self,
        function: &str,
        qualifier: &str,
    ) -> CloudResult<()> {
        self.call(Op::DeleteProvisionedConcurrencyConfig, |cx| {
            provisioned::delete(cx, function, qualifier)
        })
        .await
    }

    async fn get_policy(
        &self,
        function: &str,
        qualifier: Option<&str>,
    ) -> CloudResult<Vec<Permission>> {
        self.call(Op::GetPolicy, |cx| {
            provisioned::get_policy(cx, function, qualifier)
        })
        .await
    }

    async fn add_permission(&self, function: &str, permission: &Permission) -> CloudResult<()> {
        self.call(Op::AddPermission, |cx| {
            provisioned::add_permission(cx, function, permission)
        })
        .await
    }

    async fn remove_permission(
        &self,
        function: &str,
        statement_id: &str,
        qualifier: Option<&str>,
    ) -> CloudResult<()> {
        self.call(Op::RemovePermission, |cx| {
            provisioned::remove_permission(cx, function, statement_id, qualifier)
        })
        .await
    }

    async fn update_function_configuration(
        &self,
        function: &str,
        update: &FunctionConfigUpdate,
    ) -> CloudResult<()> {
        self.call(Op::UpdateFunctionConfiguration, |cx| {
            functions::update_configuration(cx, function, update)
        })
        .await
    }
}
