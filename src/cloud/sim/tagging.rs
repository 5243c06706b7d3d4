//! Tag rules shared by every taggable resource: AWS's limits (50 tags, key ≤ 128 and value
//! ≤ 256 characters, no `aws:` prefix) applied the same way everywhere.

use crate::cloud::{CloudResult, Op};
use crate::model::Tags;

use super::errors;

pub(crate) const MAX_TAGS: usize = 50;

/// Checks `new` tags on their own (as on a create call).
pub(crate) fn check(op: Op, new: &Tags) -> CloudResult<()> {
    for (k, v) in new {
        if k.is_empty() || k.chars().count() > 128 || v.chars().count() > 256 {
            return Err(errors::invalid(
                op,
                format!("tag {k:?}: keys must be 1-128 characters and values at most 256"),
            ));
        }
        if k.to_ascii_lowercase().starts_with("aws:") {
            return Err(errors::invalid(
                op,
                format!("tag key {k:?} uses the reserved aws: prefix"),
            ));
        }
    }
    if new.len() > MAX_TAGS {
        return Err(errors::invalid(
            op,
            format!("{} tags: at most {MAX_TAGS}", new.len()),
        ));
    }
    Ok(())
}

/// Adds `new` to `existing` (TagResource overwrites values of existing keys), within the limits.
pub(crate) fn merge(op: Op, existing: &mut Tags, new: &Tags) -> CloudResult<()> {
    let mut merged = existing.clone();
    merged.extend(new.iter().map(|(k, v)| (k.clone(), v.clone())));
    check(op, &merged)?;
    *existing = merged;
    Ok(())
}

pub(crate) fn remove(existing: &mut Tags, keys: &[String]) {
    for k in keys {
        existing.remove(k);
    }
}
