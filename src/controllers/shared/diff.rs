//! Field-by-field differences for update changes, rendered for people.

use crate::model::FieldDiff;

/// Records `field: old → new` when the two differ.
pub fn diff(diffs: &mut Vec<FieldDiff>, field: &str, old: String, new: String) {
    if old != new {
        diffs.push(FieldDiff {
            field: field.to_string(),
            old,
            new,
        });
    }
}

/// The changed fields' names, comma-separated, for a reason line.
pub fn fields(diffs: &[FieldDiff]) -> String {
    diffs
        .iter()
        .map(|d| d.field.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// An optional value as a diff shows it.
pub fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "(none)".into())
}
