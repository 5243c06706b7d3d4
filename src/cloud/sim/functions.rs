//! Lambda functions' own operations: listing, GetFunction, account concurrency, reserved
//! concurrency, configuration updates (with the `InProgress` window that makes other writes
//! fail with 409), tags, versions and aliases.

use crate::cloud::CloudResult;
use crate::model::{
    AccountConcurrency, Alias, FunctionConfigUpdate, FunctionDetail, FunctionSummary, Page, Tags,
    UpdateStatus, VersionWeight,
};

use super::state::{
    AliasRecord, MIN_UNRESERVED, PastAlias, SimFunctionState, SimState, UPDATE_IN_PROGRESS_FOR,
    VersionRecord,
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
        revision_id: Some(f.revision_id()),
        code_sha256: Some(f.code_sha256(f.code)),
        layers: layers(st, f),
    }
}

/// The Lambda Insights extension's layer, where the function has it.
fn layers(st: &SimState, f: &SimFunctionState) -> Vec<String> {
    if f.traffic.insights {
        vec![format!(
            "arn:aws:lambda:{}:580247275435:layer:LambdaInsightsExtension:53",
            st.region
        )]
    } else {
        Vec::new()
    }
}

/// GetFunctionConfiguration of `$LATEST`, a published version, or an alias (its primary
/// version).
pub(crate) fn configuration(
    cx: &mut Cx<'_>,
    name: &str,
    qualifier: &str,
) -> CloudResult<FunctionSummary> {
    let f = function(cx, name)?.clone();
    let latest = summary(cx.st, &f);
    if qualifier == "$LATEST" {
        return Ok(latest);
    }
    let version = match f.aliases.get(qualifier) {
        Some(alias) => alias.function_version.clone(),
        None => qualifier.to_string(),
    };
    if version == "$LATEST" {
        return Ok(latest);
    }
    let rec = version
        .parse::<u32>()
        .ok()
        .and_then(|v| f.versions.get(&v))
        .ok_or_else(|| {
            cx.not_found(format!(
                "Function not found: {}:{qualifier}",
                cx.st.function_arn(name)
            ))
        })?;
    Ok(FunctionSummary {
        arn: format!("{}:{version}", latest.arn),
        memory_mb: rec.memory_mb,
        timeout_s: rec.timeout_s,
        last_update_status: UpdateStatus::Successful,
        revision_id: Some(format!("{}-v{version}", f.revision_id())),
        code_sha256: Some(f.code_sha256(rec.code)),
        ..latest
    })
}

/// Lambda's 412 when a write names a revision the function is no longer at.
fn check_revision(cx: &Cx<'_>, f: &SimFunctionState, revision_id: Option<&str>) -> CloudResult<()> {
    match revision_id {
        Some(r) if r != f.revision_id() => Err(super::errors::precondition(
            cx.op,
            format!(
                "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API to retrieve the latest Revision Id ({})",
                f.name
            ),
        )),
        _ => Ok(()),
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
    let current = function(cx, name)?.clone();
    check_revision(cx, &current, update.revision_id.as_deref())?;
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
pub(crate) fn publish_version(
    cx: &mut Cx<'_>,
    name: &str,
    revision_id: Option<&str>,
) -> CloudResult<String> {
    let arn = cx.st.function_arn(name);
    let busy = cx.conflict(format!(
        "The operation cannot be performed at this time. An update is in progress for resource: {arn}"
    ));
    let current = function(cx, name)?.clone();
    check_revision(cx, &current, revision_id)?;
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
            code: f.code,
            timeout_s: f.timeout_s,
        },
    );
    Ok(v.to_string())
}

fn alias_arn(st: &SimState, function: &str, alias: &str) -> String {
    format!("{}:{alias}", st.function_arn(function))
}

fn alias_of(st: &SimState, function: &str, alias: &str, rec: &AliasRecord) -> Alias {
    Alias {
        name: alias.to_string(),
        arn: alias_arn(st, function, alias),
        function_version: rec.function_version.clone(),
        routing: rec.routing.as_ref().map(|(version, weight)| VersionWeight {
            version: version.clone(),
            weight: *weight,
        }),
    }
}

fn version_exists(f: &SimFunctionState, version: &str) -> bool {
    version == "$LATEST"
        || version
            .parse::<u32>()
            .is_ok_and(|v| f.versions.contains_key(&v))
}

pub(crate) fn list_aliases(
    cx: &mut Cx<'_>,
    name: &str,
    next: Option<&str>,
) -> CloudResult<Page<Alias>> {
    let op = cx.op;
    let f = function(cx, name)?.clone();
    let items = f
        .aliases
        .iter()
        .map(|(a, rec)| (a.clone(), alias_of(cx.st, name, a, rec)));
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
    if !version_exists(f, version) {
        return Err(no_version);
    }
    f.aliases
        .insert(alias.to_string(), AliasRecord::new(version.to_string()));
    Ok(Alias {
        name: alias.to_string(),
        arn,
        function_version: version.to_string(),
        routing: None,
    })
}

/// Points an alias at a version, with an optional weighted second version. As in AWS, the
/// routed version must be a published version other than the primary, and the primary must
/// not be `$LATEST` when routing.
pub(crate) fn update_alias(
    cx: &mut Cx<'_>,
    name: &str,
    alias: &str,
    version: &str,
    routing: Option<&VersionWeight>,
) -> CloudResult<Alias> {
    let now = cx.now;
    let missing_alias = cx.not_found(format!(
        "Alias not found: {}",
        alias_arn(cx.st, name, alias)
    ));
    let no_version = |v: &str| format!("Function not found: {}:{v}", cx.st.function_arn(name));
    let (bad_primary, bad_routed) = (no_version(version), routing.map(|r| no_version(&r.version)));
    if let Some(r) = routing {
        if !(0.0..=1.0).contains(&r.weight) {
            return Err(cx.invalid(format!("FunctionWeight {} is outside 0.0-1.0", r.weight)));
        }
        if r.version == version || r.version == "$LATEST" || version == "$LATEST" {
            return Err(cx.invalid(
                "routing needs two different published versions (not $LATEST)".to_string(),
            ));
        }
    }
    let f = function(cx, name)?.clone();
    if !f.aliases.contains_key(alias) {
        return Err(missing_alias);
    }
    if !version_exists(&f, version) {
        return Err(cx.not_found(bad_primary));
    }
    if let (Some(r), Some(msg)) = (routing, bad_routed)
        && !version_exists(&f, &r.version)
    {
        return Err(cx.not_found(msg));
    }
    let f = function(cx, name)?;
    let Some(rec) = f.aliases.get_mut(alias) else {
        return Err(missing_alias);
    };
    let routing = routing.map(|r| (r.version.clone(), r.weight));
    if rec.function_version != version || rec.routing != routing {
        rec.history.push(PastAlias {
            until: now,
            function_version: rec.function_version.clone(),
            routing: rec.routing.clone(),
        });
        rec.function_version = version.to_string();
        rec.routing = routing;
    }
    let rec = rec.clone();
    Ok(alias_of(cx.st, name, alias, &rec))
}
