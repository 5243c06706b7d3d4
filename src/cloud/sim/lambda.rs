//! `LambdaApi` on the simulated account; the behaviour lives in `functions` (configuration,
//! concurrency, tags, versions, aliases) and `provisioned` (provisioned concurrency, policies).

use async_trait::async_trait;

use crate::cloud::{CloudResult, LambdaApi, Op};
use crate::model::{
    AccountConcurrency, Alias, FunctionConfigUpdate, FunctionDetail, FunctionSummary, Page,
    Permission, ProvisionedConcurrency, Tags, VersionWeight,
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

    async fn get_function_configuration(
        &self,
        function: &str,
        qualifier: &str,
    ) -> CloudResult<FunctionSummary> {
        self.call(Op::GetFunctionConfiguration, |cx| {
            functions::configuration(cx, function, qualifier)
        })
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

    async fn publish_version(
        &self,
        function: &str,
        revision_id: Option<&str>,
    ) -> CloudResult<String> {
        self.call(Op::PublishVersion, |cx| {
            functions::publish_version(cx, function, revision_id)
        })
        .await
    }

    async fn update_alias(
        &self,
        function: &str,
        alias: &str,
        version: &str,
        routing: Option<&VersionWeight>,
    ) -> CloudResult<Alias> {
        self.call(Op::UpdateAlias, |cx| {
            functions::update_alias(cx, function, alias, version, routing)
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::super::testkit::{MINUTE, account, sim_function};
    use crate::cloud::ErrorKind;
    use crate::model::{FunctionConfigUpdate, Permission, ProvisionedStatus, UpdateStatus};

    #[tokio::test]
    async fn list_functions_pages_by_50_and_get_function_has_tags_and_reserved_concurrency() {
        let mut fns: Vec<_> = (0..120)
            .map(|i| sim_function(&format!("f{i:03}"), 256))
            .collect();
        fns[0].tags = [("team".to_string(), "core".to_string())].into();
        let (acct, _clock) = account(fns);
        let lambda = acct.cloud().lambda;
        let (mut sizes, mut next) = (Vec::new(), None);
        loop {
            let p = lambda
                .list_functions(next.as_deref())
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            sizes.push(p.items.len());
            match p.next {
                Some(n) => next = Some(n),
                None => break,
            }
        }
        assert_eq!(sizes, vec![50, 50, 20]);
        assert!(lambda.put_function_concurrency("f000", 10).await.is_ok());
        let d = lambda
            .get_function("f000")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.reserved_concurrency, Some(10));
        assert_eq!(d.tags.value("team"), Some("core"));
        assert_eq!(
            d.summary.arn,
            "arn:aws:lambda:ap-south-1:123456789012:function:f000"
        );
        let e = lambda.get_function("ghost").await.err();
        assert_eq!(
            e.map(|e| (e.kind, e.code)),
            Some((
                ErrorKind::NotFound,
                Some("ResourceNotFoundException".into())
            ))
        );
    }

    #[tokio::test]
    async fn reserved_concurrency_must_leave_100_unreserved() {
        let (acct, _clock) = account(vec![sim_function("a", 256), sim_function("b", 256)]);
        let lambda = acct.cloud().lambda;
        assert!(lambda.put_function_concurrency("a", 600).await.is_ok());
        let e = lambda.put_function_concurrency("b", 301).await.err();
        assert_eq!(
            e.map(|e| (e.kind, e.code)),
            Some((
                ErrorKind::Invalid,
                Some("InvalidParameterValueException".into())
            ))
        );
        assert!(lambda.put_function_concurrency("b", 300).await.is_ok());
        let s = lambda
            .get_account_settings()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((s.limit, s.unreserved), (1_000, 100));
        assert!(lambda.delete_function_concurrency("a").await.is_ok());
        assert_eq!(
            lambda
                .get_account_settings()
                .await
                .map(|s| s.unreserved)
                .ok(),
            Some(700)
        );
    }

    #[tokio::test]
    async fn configuration_writes_conflict_while_an_update_is_in_progress() {
        let (acct, clock) = account(vec![sim_function("api", 512)]);
        let lambda = acct.cloud().lambda;
        let up = FunctionConfigUpdate {
            memory_mb: Some(1_024),
            timeout_s: None,
            ..Default::default()
        };
        assert!(
            lambda
                .update_function_configuration("api", &up)
                .await
                .is_ok()
        );
        let status = |acct: &super::super::SimAccount| {
            acct.with_state(|s| s.functions["api"].last_update_status)
        };
        assert_eq!(status(&acct), UpdateStatus::InProgress);
        let again = lambda.update_function_configuration("api", &up).await.err();
        assert_eq!(
            again.map(|e| (e.kind, e.code)),
            Some((
                ErrorKind::Conflict,
                Some("ResourceConflictException".into())
            ))
        );
        assert_eq!(
            lambda
                .publish_version("api", None)
                .await
                .err()
                .map(|e| e.kind),
            Some(ErrorKind::Conflict)
        );
        clock.advance(Duration::from_secs(5));
        assert_eq!(status(&acct), UpdateStatus::Successful);
        assert!(
            lambda
                .update_function_configuration("api", &up)
                .await
                .is_ok()
        );
        let d = lambda
            .get_function("api")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.summary.memory_mb, 1_024);
        let bad = FunctionConfigUpdate {
            memory_mb: Some(64),
            timeout_s: None,
            ..Default::default()
        };
        clock.advance(MINUTE);
        let e = lambda
            .update_function_configuration("api", &bad)
            .await
            .err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::Invalid));
    }

    #[tokio::test]
    async fn provisioned_concurrency_needs_a_qualifier_and_settles_after_two_minutes() {
        let (acct, clock) = account(vec![sim_function("api", 512), sim_function("big", 512)]);
        let lambda = acct.cloud().lambda;
        let e = lambda
            .put_provisioned_concurrency_config("api", "$LATEST", 5)
            .await
            .err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::Invalid));
        let e = lambda
            .put_provisioned_concurrency_config("api", "live", 5)
            .await
            .err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::NotFound));

        let v = lambda
            .publish_version("api", None)
            .await
            .unwrap_or_default();
        assert_eq!(v, "1");
        assert_eq!(
            lambda.publish_version("api", None).await.ok().as_deref(),
            Some("1"),
            "unchanged $LATEST"
        );
        let alias = lambda
            .create_alias("api", "live", &v)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            alias.arn,
            "arn:aws:lambda:ap-south-1:123456789012:function:api:live"
        );
        assert_eq!(
            lambda
                .create_alias("api", "live", &v)
                .await
                .err()
                .map(|e| e.kind),
            Some(ErrorKind::Conflict)
        );

        let pc = lambda
            .put_provisioned_concurrency_config("api", "live", 5)
            .await;
        assert_eq!(
            pc.map(|p| (p.status, p.allocated)).ok(),
            Some((ProvisionedStatus::InProgress, 0))
        );
        clock.advance(MINUTE);
        let pc = lambda
            .get_provisioned_concurrency_config("api", "live")
            .await;
        assert_eq!(
            pc.map(|p| p.status).ok(),
            Some(ProvisionedStatus::InProgress)
        );
        clock.advance(MINUTE);
        let pc = lambda
            .get_provisioned_concurrency_config("api", "live")
            .await;
        assert_eq!(
            pc.map(|p| (p.status, p.allocated)).ok(),
            Some((ProvisionedStatus::Ready, 5))
        );

        // More than the unreserved pool can spare (900 of 1,000 with 100 kept free) fails.
        let v = lambda
            .publish_version("big", None)
            .await
            .unwrap_or_default();
        assert!(lambda.create_alias("big", "live", &v).await.is_ok());
        assert!(
            lambda
                .put_provisioned_concurrency_config("big", "live", 896)
                .await
                .is_ok()
        );
        clock.advance(2 * MINUTE);
        let pc = lambda
            .get_provisioned_concurrency_config("big", "live")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pc.status, ProvisionedStatus::Failed);
        assert!(pc.status_reason.is_some());
        let list = lambda
            .list_provisioned_concurrency_configs("api", None)
            .await;
        assert_eq!(list.map(|p| p.items.len()).ok(), Some(1));
        assert!(
            lambda
                .delete_provisioned_concurrency_config("api", "live")
                .await
                .is_ok()
        );
        let gone = lambda
            .get_provisioned_concurrency_config("api", "live")
            .await
            .err();
        assert_eq!(gone.map(|e| e.kind), Some(ErrorKind::NotFound));
    }

    #[tokio::test]
    async fn permissions_are_per_qualifier_and_statement_ids_are_unique() {
        let (acct, _clock) = account(vec![sim_function("api", 512)]);
        let lambda = acct.cloud().lambda;
        let perm = Permission {
            statement_id: "trimtab-warmup".into(),
            action: "lambda:InvokeFunction".into(),
            principal: "events.amazonaws.com".into(),
            source_arn: Some("arn:aws:events:ap-south-1:123456789012:rule/trimtab-warm".into()),
            qualifier: None,
        };
        assert_eq!(lambda.get_policy("api", None).await.ok(), Some(vec![]));
        assert!(lambda.add_permission("api", &perm).await.is_ok());
        let dup = lambda.add_permission("api", &perm).await.err();
        assert_eq!(dup.map(|e| e.kind), Some(ErrorKind::Conflict));
        assert_eq!(
            lambda.get_policy("api", None).await.ok(),
            Some(vec![perm.clone()])
        );
        let on_alias = Permission {
            qualifier: Some("live".into()),
            ..perm.clone()
        };
        assert_eq!(
            lambda
                .add_permission("api", &on_alias)
                .await
                .err()
                .map(|e| e.kind),
            Some(ErrorKind::NotFound)
        );
        assert!(
            lambda
                .remove_permission("api", "trimtab-warmup", None)
                .await
                .is_ok()
        );
        let gone = lambda
            .remove_permission("api", "trimtab-warmup", None)
            .await
            .err();
        assert_eq!(gone.map(|e| e.kind), Some(ErrorKind::NotFound));
    }

    #[tokio::test]
    async fn function_tags_are_set_and_removed_by_arn() {
        let (acct, _clock) = account(vec![sim_function("api", 512)]);
        let lambda = acct.cloud().lambda;
        let arn = "arn:aws:lambda:ap-south-1:123456789012:function:api";
        let tags = [("managed-by".to_string(), "trimtab".to_string())].into();
        assert!(lambda.tag_resource(arn, &tags).await.is_ok());
        assert_eq!(
            lambda.get_function("api").await.map(|d| d.tags).ok(),
            Some(tags)
        );
        assert!(
            lambda
                .untag_resource(arn, &["managed-by".into()])
                .await
                .is_ok()
        );
        assert_eq!(
            lambda.get_function("api").await.map(|d| d.tags.len()).ok(),
            Some(0)
        );
        let e = lambda
            .tag_resource(&arn.replace("api", "ghost"), &Default::default())
            .await
            .err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::NotFound));
    }
}
