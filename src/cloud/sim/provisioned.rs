//! Provisioned concurrency and resource-policy statements, the two things Lambda scopes to a
//! function's alias or version. Provisioned concurrency goes IN_PROGRESS → READY after about two
//! virtual minutes, or FAILED when the account's unreserved pool cannot hold it.

use crate::cloud::{CloudError, CloudResult};
use crate::model::{Page, Permission, ProvisionedConcurrency, ProvisionedStatus};

use super::functions::function;
use super::state::{MIN_UNRESERVED, PROVISIONING_TAKES, ProvisionedRecord, SimFunctionState};
use super::{Cx, paging};

/// Lambda caps a function's resource policy at 20 KB.
const MAX_POLICY_BYTES: usize = 20 * 1_024;

const INSUFFICIENT_POOL: &str = "FUNCTION_ERROR_INIT_FAILURE: Insufficient unreserved concurrency to allocate the requested \
     provisioned concurrency";

fn view(function: &str, qualifier: &str, pc: &ProvisionedRecord) -> ProvisionedConcurrency {
    let allocated = match pc.status {
        ProvisionedStatus::Ready => pc.requested,
        _ => pc.allocated_before,
    };
    ProvisionedConcurrency {
        function: function.to_string(),
        qualifier: qualifier.to_string(),
        requested: pc.requested,
        allocated,
        available: allocated,
        status: pc.status,
        status_reason: pc.status_reason.clone(),
    }
}

fn pc_not_found(cx: &Cx<'_>, function: &str, qualifier: &str) -> CloudError {
    cx.not_found(format!(
        "No Provisioned Concurrency Config found for this function: {}:{qualifier}",
        cx.st.function_arn(function)
    ))
    .with_code("ProvisionedConcurrencyConfigNotFoundException")
}

/// Checks that a qualifier names an alias or a published version of the function.
fn check_qualifier(cx: &Cx<'_>, f: &SimFunctionState, qualifier: &str) -> CloudResult<()> {
    if qualifier == "$LATEST" {
        return Err(cx.invalid(
            "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
        ));
    }
    if !f.has_qualifier(qualifier) {
        return Err(cx.not_found(format!(
            "Function not found: {}:{qualifier}",
            cx.st.function_arn(&f.name)
        )));
    }
    if f.aliases
        .get(qualifier)
        .is_some_and(|a| a.function_version == "$LATEST")
    {
        return Err(cx.invalid(
            "Provisioned Concurrency Configs cannot be applied to an alias pointing to $LATEST.",
        ));
    }
    Ok(())
}

pub(crate) fn list(
    cx: &mut Cx<'_>,
    name: &str,
    next: Option<&str>,
) -> CloudResult<Page<ProvisionedConcurrency>> {
    let op = cx.op;
    let f = function(cx, name)?;
    let items = f
        .provisioned
        .iter()
        .map(|(q, pc)| (q.clone(), view(name, q, pc)));
    paging::page(op, items, next, paging::LIST_PROVISIONED)
}

pub(crate) fn get(
    cx: &mut Cx<'_>,
    name: &str,
    qualifier: &str,
) -> CloudResult<ProvisionedConcurrency> {
    let f = function(cx, name)?.clone();
    if qualifier != "$LATEST" && !f.has_qualifier(qualifier) {
        return Err(cx.not_found(format!(
            "Function not found: {}:{qualifier}",
            cx.st.function_arn(name)
        )));
    }
    match f.provisioned.get(qualifier) {
        Some(pc) => Ok(view(name, qualifier, pc)),
        None => Err(pc_not_found(cx, name, qualifier)),
    }
}

pub(crate) fn put(
    cx: &mut Cx<'_>,
    name: &str,
    qualifier: &str,
    requested: u32,
) -> CloudResult<ProvisionedConcurrency> {
    let now = cx.now;
    let f = function(cx, name)?.clone();
    check_qualifier(cx, &f, qualifier)?;
    if requested == 0 {
        return Err(cx.invalid("ProvisionedConcurrentExecutions must be at least 1"));
    }
    let on_other_qualifiers: u32 = f
        .provisioned
        .iter()
        .filter(|(q, _)| q.as_str() != qualifier)
        .map(|(_, pc)| pc.requested)
        .sum();
    let will_fail = match f.reserved_concurrency {
        Some(reserved) if on_other_qualifiers + requested > reserved => {
            return Err(cx.invalid(format!(
                "Requested Provisioned Concurrency should not be greater than the \
                 reservedConcurrentExecution for function ({reserved})"
            )));
        }
        Some(_) => None,
        None => {
            // Functions without reserved concurrency draw provisioned concurrency from the
            // unreserved pool, which must keep its minimum free.
            let elsewhere: u32 = cx
                .st
                .functions
                .values()
                .filter(|g| g.reserved_concurrency.is_none())
                .flat_map(|g| g.provisioned.iter().map(move |(q, pc)| (g, q, pc)))
                .filter(|(g, q, pc)| {
                    !(g.name == name && q.as_str() == qualifier)
                        && pc.status != ProvisionedStatus::Failed
                        && pc.will_fail.is_none()
                })
                .map(|(_, _, pc)| pc.requested)
                .sum();
            let room = cx.st.unreserved().saturating_sub(MIN_UNRESERVED);
            (elsewhere + requested > room).then(|| INSUFFICIENT_POOL.to_string())
        }
    };
    let allocated_before = f.provisioned.get(qualifier).map_or(0, |pc| {
        if pc.status == ProvisionedStatus::Ready {
            pc.requested
        } else {
            pc.allocated_before
        }
    });
    let record = ProvisionedRecord {
        requested,
        allocated_before,
        status: ProvisionedStatus::InProgress,
        status_reason: None,
        settles_at: now + PROVISIONING_TAKES,
        will_fail,
    };
    let out = view(name, qualifier, &record);
    function(cx, name)?
        .provisioned
        .insert(qualifier.to_string(), record);
    Ok(out)
}

pub(crate) fn delete(cx: &mut Cx<'_>, name: &str, qualifier: &str) -> CloudResult<()> {
    let missing = pc_not_found(cx, name, qualifier);
    let f = function(cx, name)?;
    f.provisioned.remove(qualifier).map(|_| ()).ok_or(missing)
}

pub(crate) fn get_policy(
    cx: &mut Cx<'_>,
    name: &str,
    qualifier: Option<&str>,
) -> CloudResult<Vec<Permission>> {
    let f = function(cx, name)?.clone();
    if let Some(q) = qualifier
        && !f.has_qualifier(q)
    {
        return Err(cx.not_found(format!(
            "Function not found: {}:{q}",
            cx.st.function_arn(name)
        )));
    }
    Ok(f.permissions
        .into_iter()
        .filter(|p| p.qualifier.as_deref() == qualifier)
        .collect())
}

pub(crate) fn add_permission(cx: &mut Cx<'_>, name: &str, p: &Permission) -> CloudResult<()> {
    let sid_ok = (1..=100).contains(&p.statement_id.len())
        && p.statement_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !sid_ok {
        return Err(cx.invalid(format!(
            "StatementId {:?} must be 1-100 of [A-Za-z0-9_-]",
            p.statement_id
        )));
    }
    if !p.action.starts_with("lambda:") || p.principal.is_empty() {
        return Err(cx.invalid("Action must be a lambda: action and Principal is required"));
    }
    let f = function(cx, name)?.clone();
    if let Some(q) = &p.qualifier
        && !f.has_qualifier(q)
    {
        return Err(cx.not_found(format!(
            "Function not found: {}:{q}",
            cx.st.function_arn(name)
        )));
    }
    if f.permissions
        .iter()
        .any(|e| e.statement_id == p.statement_id && e.qualifier == p.qualifier)
    {
        return Err(cx.conflict(format!(
            "The statement id ({}) provided already exists. Please provide a new statement id, or remove the existing statement.",
            p.statement_id
        )));
    }
    let mut after: Vec<&Permission> = f
        .permissions
        .iter()
        .filter(|e| e.qualifier == p.qualifier)
        .collect();
    after.push(p);
    let size = serde_json::to_vec(&after).map_or(usize::MAX, |b| b.len());
    if size > MAX_POLICY_BYTES {
        return Err(cx
            .limit("The final policy size is bigger than the limit.")
            .with_code("PolicyLengthExceededException"));
    }
    function(cx, name)?.permissions.push(p.clone());
    Ok(())
}

pub(crate) fn remove_permission(
    cx: &mut Cx<'_>,
    name: &str,
    statement_id: &str,
    qualifier: Option<&str>,
) -> CloudResult<()> {
    let missing = cx.not_found(format!(
        "Statement {statement_id} is not found in resource policy."
    ));
    let f = function(cx, name)?;
    let before = f.permissions.len();
    f.permissions
        .retain(|p| !(p.statement_id == statement_id && p.qualifier.as_deref() == qualifier));
    if f.permissions.len() == before {
        return Err(missing);
    }
    Ok(())
}
