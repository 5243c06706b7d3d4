//! The one ownership check every controller makes before it changes something that exists:
//! is it trimtab's (its marker says so), or explicitly adopted (`ownership.adopt`)? If neither,
//! it is someone else's, and the refusal says why and how to take it over.

use crate::model::{Ownership, Refusal, ResourceKind};

/// Whether an existing resource may be changed: it carries trimtab's marker, or the operator
/// listed `adopt_id` in `ownership.adopt`.
pub fn may_change(own: &Ownership, marked: bool, adopt_id: &str) -> bool {
    marked || own.adopt.iter().any(|a| a == adopt_id)
}

/// The ownership tag alone, for resources that take tags at creation.
pub fn owner_tags(own: &Ownership) -> crate::model::Tags {
    crate::model::Tags::from([(own.tag_key.clone(), own.tag_value.clone())])
}

/// Whether tags carry the ownership tag.
pub fn has_owner_tag(own: &Ownership, tags: &crate::model::Tags) -> bool {
    tags.value(&own.tag_key) == Some(own.tag_value.as_str())
}

/// Every marker trimtab writes on resources it does not own (functions: reserved and
/// provisioned concurrency, warm-up, right-sizing) has a key with this prefix.
pub const MARKER_PREFIX: &str = "trimtab:";

/// Whether tags carry anything of trimtab's: a marker or the ownership tag. A function without
/// either has nothing for trimtab to verify.
pub fn carries_marker(own: &Ownership, tags: &crate::model::Tags) -> bool {
    has_owner_tag(own, tags) || tags.keys().any(|k| k.starts_with(MARKER_PREFIX))
}

/// Whether a scalable target is trimtab's: its registration carried the ownership tag (read
/// back with ListTagsForResource), or trimtab's policy is on it (targets registered before
/// the tag was recorded at creation). `None`: no policy, and its tags were not read.
pub fn owns_target(
    own: &Ownership,
    observed: &crate::model::Observed,
    target: &crate::model::ScalableTarget,
    has_policy: bool,
) -> Option<bool> {
    if has_policy {
        return Some(true);
    }
    let arn = target.arn.as_ref()?;
    observed.target_tags.get(arn).map(|t| has_owner_tag(own, t))
}

/// Someone else's resource, left alone.
pub struct Foreign<'a> {
    pub kind: ResourceKind,
    pub id: &'a str,
    /// What exists, e.g. "an alarm with this name exists but is not owned by trimtab".
    pub what: String,
    /// The missing evidence, e.g. "no managed-by=trimtab tag".
    pub evidence: String,
    /// What is left alone, e.g. "it and its policies are left alone".
    pub left_alone: &'a str,
    /// What to write in `ownership.adopt` to take it over.
    pub adopt_id: &'a str,
}

impl Foreign<'_> {
    pub fn refusal(self) -> Refusal {
        Refusal {
            kind: self.kind,
            id: self.id.to_string(),
            reason: format!(
                "{} ({}); {} (list {} in ownership.adopt to take it over)",
                self.what, self.evidence, self.left_alone, self.adopt_id
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_marker_key_has_the_marker_prefix() {
        for key in [
            crate::controllers::concurrency::TAG_RESERVED,
            crate::controllers::coldstart::names::TAG_PROVISIONED,
            crate::controllers::coldstart::names::TAG_WARMUP,
            crate::controllers::rightsizing::marker::TAG,
            crate::controllers::alarms::TARGET_TAG,
        ] {
            assert!(key.starts_with(MARKER_PREFIX), "{key}");
        }
        let own = Ownership {
            tag_key: "managed-by".into(),
            tag_value: "trimtab".into(),
            name_prefix: "trimtab-".into(),
            prune: true,
            adopt: vec![],
            max_deletions: 20,
            allow_mass_deletion: false,
        };
        let tags = |k: &str, v: &str| crate::model::Tags::from([(k.to_string(), v.to_string())]);
        assert!(carries_marker(&own, &tags("trimtab:warmup", "x")));
        assert!(carries_marker(&own, &tags("managed-by", "trimtab")));
        assert!(!carries_marker(&own, &tags("team", "growth")));
        assert!(!carries_marker(&own, &tags("managed-by", "someone-else")));
    }

    #[test]
    fn adopted_or_marked_resources_may_change_and_others_are_refused_with_the_way_out() {
        let own = Ownership {
            tag_key: "managed-by".into(),
            tag_value: "trimtab".into(),
            name_prefix: "trimtab-".into(),
            prune: true,
            adopt: vec!["theirs".into()],
            max_deletions: 20,
            allow_mass_deletion: false,
        };
        assert!(may_change(&own, true, "x"));
        assert!(may_change(&own, false, "theirs"));
        assert!(!may_change(&own, false, "x"));
        let r = Foreign {
            kind: ResourceKind::Rule,
            id: "r",
            what: "a rule with this name exists".into(),
            evidence: "no marker".into(),
            left_alone: "it is left alone",
            adopt_id: "r",
        }
        .refusal();
        assert_eq!(
            r.reason,
            "a rule with this name exists (no marker); it is left alone (list r in ownership.adopt to take it over)"
        );
    }
}
