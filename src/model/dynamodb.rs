//! DynamoDB tables, as far as capacity management needs them.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BillingMode {
    Provisioned,
    PayPerRequest,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableInfo {
    pub name: String,
    pub arn: String,
    pub billing_mode: BillingMode,
    pub read_capacity: Option<u64>,
    pub write_capacity: Option<u64>,
    /// Global secondary index names.
    pub indexes: Vec<String>,
}
