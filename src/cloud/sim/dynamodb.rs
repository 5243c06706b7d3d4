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

    /// Any table name serves: the lease table is trimtab's own, not a seeded application table.
    async fn acquire_lease(
        &self,
        table: &str,
        name: &str,
        holder: &str,
        now_ms: u64,
        expires_ms: u64,
    ) -> CloudResult<Option<u64>> {
        let key = format!("{table}/{name}");
        self.call(Op::AcquireLease, |cx| {
            let free = cx
                .st
                .leases
                .get(&key)
                .is_none_or(|(h, exp, _)| h == holder || *exp < now_ms);
            if !free {
                return Ok(None);
            }
            let token = cx.st.leases.get(&key).map_or(0, |l| l.2) + 1;
            cx.st
                .leases
                .insert(key, (holder.to_string(), expires_ms, token));
            Ok(Some(token))
        })
        .await
    }

    async fn release_lease(&self, table: &str, name: &str, holder: &str) -> CloudResult<()> {
        let key = format!("{table}/{name}");
        self.call(Op::ReleaseLease, |cx| {
            if let Some(l) = cx.st.leases.get_mut(&key)
                && l.0 == holder
            {
                l.1 = 0;
            }
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::super::testkit::account;
    use crate::cloud::ErrorKind;
    use crate::model::BillingMode;

    #[tokio::test]
    async fn describe_table_reports_seeded_tables_and_not_found_otherwise() {
        let (acct, _clock) = account(vec![]);
        let ddb = acct.cloud().dynamodb;
        let t = ddb
            .describe_table("orders")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            t.arn,
            "arn:aws:dynamodb:ap-south-1:123456789012:table/orders"
        );
        assert_eq!(
            (t.billing_mode, t.read_capacity, t.write_capacity),
            (BillingMode::Provisioned, Some(50), Some(10))
        );
        assert_eq!(t.indexes, vec!["by-customer".to_string()]);
        let e = ddb.describe_table("ghost").await.err();
        assert_eq!(e.map(|e| e.kind), Some(ErrorKind::NotFound));
    }
}
