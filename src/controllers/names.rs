//! Names and markers shared by observe and the capacity controllers, so both sides agree on
//! what trimtab owns.
//!
//! Settings that cannot carry tags of their own (reserved concurrency, provisioned concurrency,
//! a warm-up) are recorded as tags **on the function** when trimtab creates them, and the tag is
//! removed last when trimtab tears them down. The record lives in AWS, so a crash half-way
//! through a teardown is finished by the next cycle, and trimtab never removes a setting it did
//! not make.

/// Function tag: the reserved concurrency trimtab set (its value). If the live value differs,
/// someone else changed it since, and it is theirs.
pub const TAG_RESERVED: &str = "trimtab:reserved-concurrency";
/// Function tag: the alias on which trimtab built provisioned concurrency (its value).
pub const TAG_PROVISIONED: &str = "trimtab:provisioned";
/// Function tag: the name of the warm-up rule trimtab built for the function.
pub const TAG_WARMUP: &str = "trimtab:warmup";

/// EventBridge rule names are at most 64 characters.
pub const RULE_NAME_MAX: usize = 64;

/// The Application Auto Scaling resource id of a function alias.
pub fn lambda_resource_id(function: &str, alias: &str) -> String {
    format!("function:{function}:{alias}")
}

/// The (function, alias) of a Lambda resource id.
pub fn parse_lambda_resource_id(id: &str) -> Option<(&str, &str)> {
    let rest = id.strip_prefix("function:")?;
    rest.split_once(':')
}

pub fn table_resource_id(table: &str, index: Option<&str>) -> String {
    match index {
        Some(index) => format!("table/{table}/index/{index}"),
        None => format!("table/{table}"),
    }
}

/// Target-tracking policy on a function alias's provisioned concurrency.
pub fn provisioned_policy_name(prefix: &str, function: &str) -> String {
    format!("{prefix}pc-{function}")
}

/// Target-tracking policy on a table's (or index's) read or write capacity.
pub fn table_policy_name(prefix: &str, table: &str, index: Option<&str>, write: bool) -> String {
    let rw = if write { "write" } else { "read" };
    match index {
        Some(index) => format!("{prefix}ddb-{table}-{index}-{rw}"),
        None => format!("{prefix}ddb-{table}-{rw}"),
    }
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

/// A small stable hash (FNV-1a), for names and for spreading schedules.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
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

    #[test]
    fn resource_ids_round_trip() {
        let id = lambda_resource_id("api", "live");
        assert_eq!(parse_lambda_resource_id(&id), Some(("api", "live")));
        assert_eq!(table_resource_id("t", Some("gsi1")), "table/t/index/gsi1");
    }
}
