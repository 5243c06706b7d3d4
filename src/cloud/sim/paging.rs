//! Pagination as AWS does it: fixed page sizes per listing and opaque `next` tokens. A token
//! names the first key of the following page (hex-encoded, tagged with its listing), so pages
//! stay consistent while resources come and go, and a token from one listing is rejected by
//! another, as AWS rejects foreign tokens.

use crate::cloud::{CloudError, CloudResult, Op};
use crate::model::Page;

use super::errors;

pub(crate) const LIST_FUNCTIONS: usize = 50;
pub(crate) const DESCRIBE_ALARMS: usize = 100;
pub(crate) const DESCRIBE_SCALABLE_TARGETS: usize = 50;
pub(crate) const DESCRIBE_SCALING_POLICIES: usize = 10;
pub(crate) const LIST_TOPICS: usize = 100;
pub(crate) const LIST_SUBSCRIPTIONS: usize = 100;
pub(crate) const LIST_RULES: usize = 100;
pub(crate) const LIST_TARGETS_BY_RULE: usize = 100;
pub(crate) const LIST_ALIASES: usize = 50;
pub(crate) const LIST_PROVISIONED: usize = 50;

/// One page of `items`, which must be sorted by key and keys unique.
pub(crate) fn page<T>(
    op: Op,
    items: impl IntoIterator<Item = (String, T)>,
    next: Option<&str>,
    size: usize,
) -> CloudResult<Page<T>> {
    let start = next.map(|t| decode(op, t)).transpose()?;
    let mut rest = items
        .into_iter()
        .skip_while(|(k, _)| start.as_ref().is_some_and(|s| k < s));
    let mut out = Vec::with_capacity(size.min(128));
    for (_, item) in rest.by_ref().take(size) {
        out.push(item);
    }
    let next = rest.next().map(|(k, _)| encode(op, &k));
    Ok(Page { items: out, next })
}

fn encode(op: Op, key: &str) -> String {
    let hex: String = key.bytes().map(|b| format!("{b:02x}")).collect();
    format!("{}.{hex}", op.name())
}

fn decode(op: Op, token: &str) -> CloudResult<String> {
    let bad = || -> CloudError { errors::invalid(op, format!("invalid NextToken {token:?}")) };
    let hex = token
        .strip_prefix(op.name())
        .and_then(|t| t.strip_prefix('.'))
        .ok_or_else(bad)?;
    if hex.len() % 2 != 0 {
        return Err(bad());
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2).unwrap_or("zz"), 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    String::from_utf8(bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::ErrorKind;

    #[test]
    fn pages_walk_every_item_once_and_reject_foreign_tokens() {
        let items: Vec<(String, u32)> = (0..23).map(|i| (format!("k{i:03}"), i)).collect();
        let mut seen = Vec::new();
        let mut next = None;
        let mut pages = 0;
        loop {
            let p = page(Op::ListRules, items.clone(), next.as_deref(), 10)
                .unwrap_or_else(|e| panic!("{e}"));
            pages += 1;
            seen.extend(p.items);
            match p.next {
                Some(n) => next = Some(n),
                None => break,
            }
        }
        assert_eq!(pages, 3);
        assert_eq!(seen, (0..23).collect::<Vec<_>>());
        let p = page(Op::ListRules, items.clone(), None, 10).unwrap_or_else(|e| panic!("{e}"));
        let foreign = page(Op::ListTopics, items, p.next.as_deref(), 10);
        assert_eq!(foreign.err().map(|e| e.kind), Some(ErrorKind::Invalid));
    }
}
