//! AWS's identifiers shared by several controllers, and a small stable hash for names.
//!
//! Settings that cannot carry tags of their own (reserved concurrency, provisioned concurrency,
//! a warm-up) are recorded as tags **on the function** when trimtab creates them, and the tag is
//! removed last when trimtab tears them down; each controller names its own marker. The record
//! lives in AWS, so a crash half-way through a teardown is finished by the next cycle, and
//! trimtab never removes a setting it did not make.

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
    fn resource_ids_round_trip() {
        let id = lambda_resource_id("api", "live");
        assert_eq!(parse_lambda_resource_id(&id), Some(("api", "live")));
        assert_eq!(table_resource_id("t", Some("gsi1")), "table/t/index/gsi1");
    }
}
