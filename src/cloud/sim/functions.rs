//! Lambda functions' own operations: listing, GetFunction, account concurrency, reserved
//! concurrency, configuration updates (with the `InProgress` window that makes other writes
//! fail with 409), tags, versions and aliases.

use crate::cloud::CloudResult;
use crate::model::{
    AccountConcurrency, Alias, FunctionConfigUpdate, FunctionDetail, FunctionSummary, Page, Tags,
    UpdateStatus,
};

use super::state::{
    AliasRecord, MIN_UNRESERVED, SimFunctionState, SimState, UPDATE_IN_PROGRESS_FOR, VersionRecord,
};
use super::{Cx, paging, tagging};

pub(crate) fn function<'s>(
    cx: &'s mut Cx<'_>,
    name: &str,
) -> CloudResult<&'s mut SimFunctionState> {
    let arn = cx.st.function_arn(name);
    let not_found = cx.not_found(format!("Function not found: {arn}"));
    cx.st.functions.get_mut(name).ok_or(not_found)
}

fn summary(st: &SimState, f: &SimFunctionState) -> FunctionSummary {
    FunctionSummary {
        name: f.name.clone(),
        arn: st.function_arn(&f.name),
        memory_mb: f.memory_mb,
        timeout_s: f.timeout_s,
        architecture: f.architecture,
        runtime: f.runtime.clone(),
        last_update_status: f.last_update_status,
    }
}

pub(crate) fn list(cx: &Cx<'_>, next: Option<&str>) -> CloudResult<Page<FunctionSummary>> {
    let items = cx.st.functions.iter().map(|(n, f)| (n.clone(), f));
    let page = paging::page(cx.op, items, next, paging::LIST_FUNCTIONS)?;
    Ok(Page {
        items: page.items.into_iter().map(|f| summary(cx.st, f)).collect(),
        next: page.next,
    })
}

pub(crate) fn get(cx: &mut Cx<'_>, name: &str) -> CloudResult<FunctionDetail> {
    let f = function(cx, name)?.clone();
    Ok(FunctionDetail {
        summary: summary(cx.st, &f),
        tags: f.tags,
        reserved_concurrency: f.reserved_concurrency,
    })
}

pub(crate) fn account_settings(st: &SimState) -> AccountConcurrency {
    AccountConcurrency {
        limit: st.concurrency_limit,
        unreserved: st.unreserved(),
    }
}

pub(crate) fn put_reserved(cx: &mut Cx<'_>, name: &str, reserved: u32) -> CloudResult<()> {
    let now = cx.now;
    let current = function(cx, name)?;
    let provisioned: u32 = current.provisioned.values().map(|pc| pc.requested).sum();
    let others: u64 = cx
        .st
        .functions
        .values()
        .filter(|f| f.name != name)
        .filter_map(|f| f.reserved_concurrency)
        .map(u64::from)
        .sum();
    let left = i64::from(cx.st.concurrency_limit) - others as i64 - i64::from(reserved);
    if left < i64::from(MIN_UNRESERVED) {
        return Err(cx.invalid(format!(
            "Specified ReservedConcurrentExecutions for function decreases account's \
             UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
        )));
    }
    if reserved < provisioned {
        return Err(cx.invalid(format!(
            "ReservedConcurrentExecutions {reserved} is below the function's provisioned \
             concurrency {provisioned}"
        )));
    }
    let f = function(cx, name)?;
    if f.reserved_concurrency != Some(reserved) {
        f.remember_config(now, false);
        f.reserved_concurrency = Some(reserved);
    }
    Ok(())
}

pub(crate) fn delete_reserved(cx: &mut Cx<'_>, name: &str) -> CloudResult<()> {
    let now = cx.now;
    let f = function(cx, name)?;
    if f.reserved_concurrency.is_some() {
        f.remember_config(now, false);
        f.reserved_concurrency = None;
    }
    Ok(())
}

pub(crate) fn update_configuration(
    cx: &mut Cx<'_>,
    name: &str,
    update: &FunctionConfigUpdate,
) -> CloudResult<()> {
    if let Some(m) = update.memory_mb
        && !(128..=10_240).contains(&m)
    {
        return Err(cx.invalid(format!("MemorySize {m} is outside 128-10240")));
    }
    if let Some(t) = update.timeout_s
        && !(1..=900).contains(&t)
    {
        return Err(cx.invalid(format!("Timeout {t} is outside 1-900")));
    }
    let now = cx.now;
    let arn = cx.st.function_arn(name);
    let busy = cx.conflict(format!(
        "The operation cannot be performed at this time. An update is in progress for resource: {arn}"
    ));
    let f = function(cx, name)?;
    if f.last_update_status == UpdateStatus::InProgress {
        return Err(busy);
    }
    f.remember_config(now, true);
    if let Some(m) = update.memory_mb {
        f.memory_mb = m;
    }
    if let Some(t) = update.timeout_s {
        f.timeout_s = t;
    }
    f.revision += 1;
    f.last_update_status = UpdateStatus::InProgress;
    f.update_done_at = Some(now + UPDATE_IN_PROGRESS_FOR);
    Ok(())
}

/// The function an ARN names; tags live on functions only (not aliases or versions).
pub(crate) fn tags_by_arn<'s>(cx: &'s mut Cx<'_>, arn: &str) -> CloudResult<&'s mut Tags> {
    let name = cx
        .st
        .function_from_arn(arn)
        .ok_or_else(|| cx.invalid(format!("{arn:?} is not a function ARN of this account")))?
        .to_string();
    Ok(&mut function(cx, &name)?.tags)
}

pub(crate) fn tag(cx: &mut Cx<'_>, arn: &str, tags: &Tags) -> CloudResult<()> {
    let op = cx.op;
    tagging::merge(op, tags_by_arn(cx, arn)?, tags)
}

pub(crate) fn untag(cx: &mut Cx<'_>, arn: &str, keys: &[String]) -> CloudResult<()> {
    tagging::remove(tags_by_arn(cx, arn)?, keys);
    Ok(())
}

/// Publishes `$LATEST`; when nothing changed since the last version, returns that version.
pub(crate) fn publish_version(cx: &mut Cx<'_>, name: &str) -> CloudResult<String> {
    let arn = cx.st.function_arn(name);
    let busy = cx.conflict(format!(
        "The operation cannot be performed at this time. An update is in progress for resource: {arn}"
    ));
    let f = function(cx, name)?;
    if f.last_update_status == UpdateStatus::InProgress {
        return Err(busy);
    }
    if let Some((v, rec)) = f.versions.iter().next_back()
        && rec.revision == f.revision
    {
        return Ok(v.to_string());
    }
    let v = f.versions.keys().next_back().map_or(1, |v| v + 1);
    f.versions.insert(
        v,
        VersionRecord {
            memory_mb: f.memory_mb,
            revision: f.revision,
        },
    );
    Ok(v.to_string())
}

fn alias_arn(st: &SimState, function: &str, alias: &str) -> String {
    format!("{}:{alias}", st.function_arn(function))
}

pub(crate) fn list_aliases(
    cx: &mut Cx<'_>,
    name: &str,
    next: Option<&str>,
) -> CloudResult<Page<Alias>> {
    let op = cx.op;
    let f = function(cx, name)?.clone();
    let items = f.aliases.iter().map(|(a, rec)| {
        let alias = Alias {
            name: a.clone(),
            arn: alias_arn(cx.st, name, a),
            function_version: rec.function_version.clone(),
        };
        (a.clone(), alias)
    });
    paging::page(op, items, next, paging::LIST_ALIASES)
}

pub(crate) fn create_alias(
    cx: &mut Cx<'_>,
    name: &str,
    alias: &str,
    version: &str,
) -> CloudResult<Alias> {
    let valid = (1..=128).contains(&alias.len())
        && alias
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !alias.chars().all(|c| c.is_ascii_digit());
    if !valid {
        return Err(cx.invalid(format!(
            "alias name {alias:?} must be 1-128 of [A-Za-z0-9_-] and not all digits"
        )));
    }
    let arn = alias_arn(cx.st, name, alias);
    let exists = cx.conflict(format!("Alias already exists: {arn}"));
    let no_version = cx.not_found(format!(
        "Function not found: {}:{version}",
        cx.st.function_arn(name)
    ));
    let f = function(cx, name)?;
    if f.aliases.contains_key(alias) {
        return Err(exists);
    }
    let version_exists = version == "$LATEST"
        || version
            .parse::<u32>()
            .is_ok_and(|v| f.versions.contains_key(&v));
    if !version_exists {
        return Err(no_version);
    }
    f.aliases.insert(
        alias.to_string(),
        AliasRecord {
            function_version: version.to_string(),
        },
    );
    Ok(Alias {
        name: alias.to_string(),
        arn,
        function_version: version.to_string(),
    })
}
