//! `DynamoDbApi` over aws-sdk-dynamodb: DescribeTable, reduced to what capacity management needs.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{BillingMode as SdkBillingMode, TableDescription};

use super::error::from_sdk;
use super::missing;
use crate::cloud::{CloudResult, DynamoDbApi, Op};
use crate::model::{BillingMode, TableInfo};

pub(crate) struct AwsDynamoDb {
    client: aws_sdk_dynamodb::Client,
}

impl AwsDynamoDb {
    pub(crate) fn new(client: aws_sdk_dynamodb::Client) -> Self {
        Self { client }
    }
}

#[async_trait]
impl DynamoDbApi for AwsDynamoDb {
    async fn describe_table(&self, name: &str) -> CloudResult<TableInfo> {
        const OP: Op = Op::DescribeTable;
        let out = self
            .client
            .describe_table()
            .table_name(name)
            .send()
            .await
            .map_err(|e| from_sdk(OP, e))?;
        let table = out.table().ok_or_else(|| missing(OP, "Table"))?;
        table_info(table)
    }

    async fn acquire_lease(
        &self,
        table: &str,
        name: &str,
        holder: &str,
        now_ms: u64,
        expires_ms: u64,
    ) -> CloudResult<Option<u64>> {
        use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};
        const OP: Op = Op::AcquireLease;
        let n = |v: u64| AttributeValue::N(v.to_string());
        let result = self
            .lease_update(table, name, holder)
            .update_expression("SET holder = :me, expires_ms = :exp ADD #token :one")
            .condition_expression("attribute_not_exists(pk) OR holder = :me OR expires_ms < :now")
            .expression_attribute_names("#token", "token")
            .expression_attribute_values(":exp", n(expires_ms))
            .expression_attribute_values(":now", n(now_ms))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await;
        match result {
            Ok(out) => {
                let token = out
                    .attributes()
                    .and_then(|a| a.get("token"))
                    .and_then(|v| v.as_n().ok())
                    .and_then(|v| v.parse().ok())
                    .ok_or_else(|| missing(OP, "Attributes.token"))?;
                Ok(Some(token))
            }
            Err(e) if condition_failed(&e) => Ok(None),
            Err(e) => Err(from_sdk(OP, e)),
        }
    }

    async fn release_lease(&self, table: &str, name: &str, holder: &str) -> CloudResult<()> {
        use aws_sdk_dynamodb::types::AttributeValue;
        let result = self
            .lease_update(table, name, holder)
            .update_expression("SET expires_ms = :zero")
            .condition_expression("holder = :me")
            .expression_attribute_values(":zero", AttributeValue::N("0".into()))
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            // Someone else holds it now: nothing of ours to give up.
            Err(e) if condition_failed(&e) => Ok(()),
            Err(e) => Err(from_sdk(Op::ReleaseLease, e)),
        }
    }
}

impl AwsDynamoDb {
    /// An UpdateItem on the lease item `name` of `table`, with `:me` bound to `holder`.
    fn lease_update(
        &self,
        table: &str,
        name: &str,
        holder: &str,
    ) -> aws_sdk_dynamodb::operation::update_item::builders::UpdateItemFluentBuilder {
        use aws_sdk_dynamodb::types::AttributeValue;
        self.client
            .update_item()
            .table_name(table)
            .key("pk", AttributeValue::S(name.to_owned()))
            .expression_attribute_values(":me", AttributeValue::S(holder.to_owned()))
    }
}

/// Whether an UpdateItem failed its condition only: the lease is another holder's.
fn condition_failed<R>(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::update_item::UpdateItemError,
        R,
    >,
) -> bool {
    e.as_service_error()
        .is_some_and(|s| s.is_conditional_check_failed_exception())
}

fn table_info(table: &TableDescription) -> CloudResult<TableInfo> {
    const OP: Op = Op::DescribeTable;
    // Tables created before on-demand existed, and every table never switched to it, carry no
    // BillingModeSummary at all: absence means PROVISIONED.
    let billing_mode = match table.billing_mode_summary().and_then(|s| s.billing_mode()) {
        Some(SdkBillingMode::PayPerRequest) => BillingMode::PayPerRequest,
        _ => BillingMode::Provisioned,
    };
    // On-demand tables report 0/0 throughput, which is not a capacity anyone set.
    let (read_capacity, write_capacity) = match billing_mode {
        BillingMode::PayPerRequest => (None, None),
        BillingMode::Provisioned => {
            let throughput = table.provisioned_throughput();
            let units = |v: Option<i64>| v.and_then(|v| u64::try_from(v).ok());
            (
                units(throughput.and_then(|t| t.read_capacity_units())),
                units(throughput.and_then(|t| t.write_capacity_units())),
            )
        }
    };
    Ok(TableInfo {
        name: table
            .table_name()
            .ok_or_else(|| missing(OP, "Table.TableName"))?
            .to_owned(),
        arn: table
            .table_arn()
            .ok_or_else(|| missing(OP, "Table.TableArn"))?
            .to_owned(),
        billing_mode,
        read_capacity,
        write_capacity,
        indexes: table
            .global_secondary_indexes()
            .iter()
            .filter_map(|gsi| gsi.index_name().map(str::to_owned))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use aws_sdk_dynamodb::types::{
        BillingModeSummary, GlobalSecondaryIndexDescription, ProvisionedThroughputDescription,
    };

    use super::*;

    fn base() -> aws_sdk_dynamodb::types::builders::TableDescriptionBuilder {
        TableDescription::builder()
            .table_name("orders")
            .table_arn("arn:aws:dynamodb:us-east-1:123456789012:table/orders")
            .provisioned_throughput(
                ProvisionedThroughputDescription::builder()
                    .read_capacity_units(5)
                    .write_capacity_units(7)
                    .build(),
            )
    }

    #[test]
    fn absent_billing_summary_means_provisioned() {
        let t = table_info(
            &base()
                .global_secondary_indexes(
                    GlobalSecondaryIndexDescription::builder()
                        .index_name("by-customer")
                        .build(),
                )
                .build(),
        )
        .unwrap();
        assert_eq!(t.billing_mode, BillingMode::Provisioned);
        assert_eq!((t.read_capacity, t.write_capacity), (Some(5), Some(7)));
        assert_eq!(t.indexes, vec!["by-customer".to_owned()]);
    }

    #[test]
    fn on_demand_has_no_capacity() {
        let t = table_info(
            &base()
                .billing_mode_summary(
                    BillingModeSummary::builder()
                        .billing_mode(SdkBillingMode::PayPerRequest)
                        .build(),
                )
                .build(),
        )
        .unwrap();
        assert_eq!(t.billing_mode, BillingMode::PayPerRequest);
        assert_eq!((t.read_capacity, t.write_capacity), (None, None));
    }
}
