//! `DynamoDbApi` on the simulated account: DescribeTable over the seeded tables.

use async_trait::async_trait;

use crate::cloud::{CloudResult, DynamoDbApi, Op};
use crate::model::{BillingMode, TableInfo};

use super::SimAccount;

#[async_trait]
impl DynamoDbApi for SimAccount {
    async fn describe_table(&self, name: &str) -> CloudResult<TableInfo> {
        self.call(Op::DescribeTable, |cx| {
            let t = cx.st.tables.get(name).ok_or_else(|| {
                cx.not_found(format!(
                    "Requested resource not found: Table: {name} not found"
                ))
            })?;
            let provisioned = t.billing_mode == BillingMode::Provisioned;
            Ok(TableInfo {
                name: name.to_string(),
                arn: cx.st.table_arn(name),
                billing_mode: t.billing_mode,
                read_capacity: provisioned.then_some(t.read_capacity),
                write_capacity: provisioned.then_some(t.write_capacity),
                indexes: t.indexes.clone(),
            })
        })
        .await
    }
}
