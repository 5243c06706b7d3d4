//! What the framework reads for every controller: the functions in scope (ListFunctions pages
//! of 50; GetFunction only for functions a tag selector might match, since only it returns
//! tags), and the desired tables (DescribeTable each).

use std::collections::{BTreeMap, BTreeSet};

use crate::cloud::{ErrorKind, Op};
use crate::controllers::shared::scope::{RuleMatch, rule_for};
use crate::model::{Desired, Observed, ObservedFunction, Read, TableInfo};

use super::paging::{call_each, paginate};
use super::{ObserveError, Observer};
use crate::engine::error_chain;

/// The functions in scope, those whose state could not be read, and those read in detail.
#[derive(Default)]
struct Scope {
    functions: BTreeMap<String, ObservedFunction>,
    unknown: BTreeSet<String>,
    detailed: Vec<String>,
}

/// The framework's part of a snapshot.
pub(super) struct Shared {
    functions: Result<Scope, ObserveError>,
    tables: BTreeMap<String, TableInfo>,
    missing_tables: Vec<String>,
    unknown_tables: BTreeSet<String>,
}

impl Shared {
    /// Applies the shared reads; a failed function listing fails the observation.
    pub(super) fn apply(self, o: &mut Observed) -> Result<(), ObserveError> {
        let scope = self.functions?;
        o.functions = scope.functions;
        o.unknown_functions.extend(scope.unknown);
        for name in scope.detailed {
            o.reads.record(Read::Function(name));
        }
        o.tables = self.tables;
        o.missing_tables = self.missing_tables;
        o.unknown_tables = self.unknown_tables;
        Ok(())
    }
}

impl Observer {
    pub(super) async fn framework(&self, desired: &Desired) -> Shared {
        let (functions, tables) = tokio::join!(self.functions(desired), self.tables(desired));
        let (tables, missing_tables, unknown_tables) = tables;
        Shared {
            functions,
            tables,
            missing_tables,
            unknown_tables,
        }
    }

    async fn functions(&self, desired: &Desired) -> Result<Scope, ObserveError> {
        let mut scope = Scope::default();
        if desired.functions.is_empty() {
            return Ok(scope);
        }
        let lambda = self.cloud.lambda.clone();
        let summaries = paginate(&self.gov, Op::ListFunctions, |next| {
            let lambda = lambda.clone();
            async move { lambda.list_functions(next.as_deref()).await }
        })
        .await
        .map_err(ObserveError::ListFunctions)?;

        let mut need_tags = Vec::new();
        for summary in summaries {
            match rule_for(&desired.functions, &summary.name, None) {
                RuleMatch::Rule(_) => {
                    scope.functions.insert(
                        summary.name.clone(),
                        ObservedFunction {
                            summary,
                            detail: None,
                        },
                    );
                }
                RuleMatch::NeedsTags => need_tags.push(summary),
                RuleMatch::None => {}
            }
        }
        let lambda = &self.cloud.lambda;
        let details = call_each(&self.gov, Op::GetFunction, need_tags, |summary| {
            let lambda = lambda.clone();
            async move { lambda.get_function(&summary.name).await }
        })
        .await;
        for (summary, result) in details {
            match result {
                Ok(detail) => {
                    scope.detailed.push(summary.name.clone());
                    if let RuleMatch::Rule(_) =
                        rule_for(&desired.functions, &summary.name, Some(&detail.tags))
                    {
                        scope.functions.insert(
                            summary.name.clone(),
                            ObservedFunction {
                                summary: detail.summary.clone(),
                                detail: Some(detail),
                            },
                        );
                    }
                }
                // Deleted between ListFunctions and GetFunction: simply gone.
                Err(e) if e.kind == ErrorKind::NotFound => {}
                Err(e) => {
                    tracing::warn!(function = %summary.name, error = %error_chain(&e), "cannot read function; leaving its resources alone this cycle");
                    scope.unknown.insert(summary.name.clone());
                }
            }
        }
        Ok(scope)
    }

    async fn tables(
        &self,
        desired: &Desired,
    ) -> (BTreeMap<String, TableInfo>, Vec<String>, BTreeSet<String>) {
        let dynamodb = &self.cloud.dynamodb;
        let names = desired.tables.iter().map(|t| t.name.clone());
        let results = call_each(&self.gov, Op::DescribeTable, names, |name| {
            let dynamodb = dynamodb.clone();
            async move { dynamodb.describe_table(&name).await }
        })
        .await;
        let (mut found, mut missing, mut unknown) = (BTreeMap::new(), Vec::new(), BTreeSet::new());
        for (name, result) in results {
            match result {
                Ok(info) => {
                    found.insert(name, info);
                }
                Err(e) if e.kind == ErrorKind::NotFound => missing.push(name),
                Err(e) => {
                    tracing::warn!(table = %name, error = %error_chain(&e), "cannot describe table; leaving its resources alone this cycle");
                    unknown.insert(name);
                }
            }
        }
        missing.sort();
        (found, missing, unknown)
    }
}
