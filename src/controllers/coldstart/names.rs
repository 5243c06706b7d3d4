//! The cold-start controller's names and ownership markers. What trimtab built for a function's
//! cold starts is recorded as tags on the function (written before the resources, removed after
//! them), so a teardown follows the record and nothing else.

use crate::controllers::shared::names::fnv1a;

/// Function tag: the alias on which trimtab built provisioned concurrency (its value).
pub const TAG_PROVISIONED: &str = "trimtab:provisioned";
/// Function tag: the name of the warm-up rule trimtab built for the function.
pub const TAG_WARMUP: &str = "trimtab:warmup";

/// EventBridge rule names are at most 64 characters.
pub const RULE_NAME_MAX: usize = 64;

/// Target-tracking policy on a function alias's provisioned concurrency.
pub fn provisioned_policy_name(prefix: &str, function: &str) -> String {
    format!("{prefix}pc-{function}")
}

/// Prefix of every warm-up rule trimtab makes.
pub fn warmup_rule_prefix(prefix: &str) -> String {
    format!("{prefix}warmup-")
}

/// The warm-up rule of a function: `{prefix}warmup-{function}`, shortened with a stable hash
/// when that would pass EventBridge's 64-character limit.
pub fn warmup_rule_name(prefix: &str, function: &str) -> String {
    let full = format!("{}{function}", warmup_rule_prefix(prefix));
    if full.len() <= RULE_NAME_MAX {
        return full;
    }
    let hash = format!("{:08x}", fnv1a(function.as_bytes()) as u32);
    let keep = RULE_NAME_MAX - warmup_rule_prefix(prefix).len() - hash.len() - 1;
    let cut: String = function.chars().take(keep).collect();
    format!("{}{cut}-{hash}", warmup_rule_prefix(prefix))
}

/// Target id of the function in its warm-up rule.
pub const WARMUP_TARGET_ID: &str = "trimtab-warmup";

/// Statement id of the permission that lets EventBridge invoke the function.
pub fn warmup_statement_id(prefix: &str) -> String {
    format!("{prefix}warmup")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_rule_names_are_shortened_stably() {
        let short = warmup_rule_name("trimtab-", "api");
        assert_eq!(short, "trimtab-warmup-api");
        let long_fn = "voice-learning-a-very-long-function-name-that-goes-on-and-on-forever";
        let a = warmup_rule_name("trimtab-", long_fn);
        assert_eq!(a.len(), RULE_NAME_MAX);
        assert_eq!(a, warmup_rule_name("trimtab-", long_fn));
        assert_ne!(a, warmup_rule_name("trimtab-", &format!("{long_fn}-2")));
        assert!(a.starts_with("trimtab-warmup-voice-learning"));
    }
}
