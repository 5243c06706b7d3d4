//! Lambda resource policies (GetPolicy's `Policy`): an IAM policy document as JSON text, read
//! into the statements trimtab manages. Typed rather than walked as `serde_json::Value`, with
//! IAM's "one or many" spellings accepted wherever IAM allows them.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::lambda::arn_qualifier;
use crate::model::Permission;

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl<T> OneOrMany<T> {
    fn first(&self) -> Option<&T> {
        match self {
            OneOrMany::One(v) => Some(v),
            OneOrMany::Many(v) => v.first(),
        }
    }

    fn into_vec(self) -> Vec<T> {
        match self {
            OneOrMany::One(v) => vec![v],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Principal {
    /// `"*"`.
    Any(String),
    /// `{"Service": "events.amazonaws.com"}`, `{"AWS": "arn:aws:iam::…:root"}`.
    Typed(BTreeMap<String, OneOrMany<String>>),
}

#[derive(Deserialize)]
struct Document {
    #[serde(rename = "Statement", default)]
    statement: OneOrMany<Statement>,
}

#[derive(Deserialize)]
struct Statement {
    #[serde(rename = "Sid", default)]
    sid: Option<String>,
    #[serde(rename = "Action", default)]
    action: OneOrMany<String>,
    #[serde(rename = "Principal")]
    principal: Option<Principal>,
    #[serde(rename = "Resource", default)]
    resource: OneOrMany<String>,
    /// Operator (`ArnLike`) → condition key (`AWS:SourceArn`) → values.
    #[serde(rename = "Condition", default)]
    condition: BTreeMap<String, BTreeMap<String, OneOrMany<String>>>,
}

pub(crate) fn permissions(doc: &str) -> Result<Vec<Permission>, serde_json::Error> {
    let doc: Document = serde_json::from_str(doc)?;
    Ok(doc
        .statement
        .into_vec()
        .into_iter()
        .map(|s| {
            let principal = match &s.principal {
                Some(Principal::Any(p)) => p.clone(),
                Some(Principal::Typed(map)) => map
                    .values()
                    .find_map(|v| v.first().cloned())
                    .unwrap_or_default(),
                None => String::new(),
            };
            // Condition keys are case-insensitive in IAM.
            let source_arn = s
                .condition
                .values()
                .flat_map(|keys| keys.iter())
                .find(|(key, _)| key.eq_ignore_ascii_case("AWS:SourceArn"))
                .and_then(|(_, v)| v.first().cloned());
            Permission {
                statement_id: s.sid.clone().unwrap_or_default(),
                action: s.action.first().cloned().unwrap_or_default(),
                principal,
                source_arn,
                qualifier: s
                    .resource
                    .first()
                    .and_then(|r| arn_qualifier(r))
                    .map(str::to_owned),
            }
        })
        .collect())
}
