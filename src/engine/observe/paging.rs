//! Governed reads: every page one call through the governor, per-key reads bounded in
//! concurrency, each key's result its own.

use std::future::Future;

use futures::StreamExt;

use crate::cloud::{CloudResult, Op};
use crate::engine::governor::Governor;
use crate::model::Page;

/// Concurrent per-resource reads (GetFunction, ListTagsForResource, DescribeTable).
pub const READ_CONCURRENCY: usize = 16;

/// Reads every page of a listing, each page one governed call.
pub async fn paginate<T, F, Fut>(gov: &Governor, op: Op, mut fetch: F) -> CloudResult<Vec<T>>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = CloudResult<Page<T>>>,
{
    let mut items = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let page = gov.call(op, || fetch(next.clone())).await?;
        items.extend(page.items);
        match page.next {
            Some(token) if Some(&token) != next.as_ref() => next = Some(token),
            _ => return Ok(items),
        }
    }
}

/// One governed call per key, `READ_CONCURRENCY` at a time; each key comes back with its result,
/// so one key's failure is that key's alone.
pub async fn call_each<K, T, F, Fut>(
    gov: &Governor,
    op: Op,
    keys: impl IntoIterator<Item = K>,
    call: F,
) -> Vec<(K, CloudResult<T>)>
where
    K: Clone,
    F: Fn(K) -> Fut,
    Fut: Future<Output = CloudResult<T>>,
{
    let call = &call;
    futures::stream::iter(keys)
        .map(|key| async move {
            let result = gov.call(op, || call(key.clone())).await;
            (key, result)
        })
        .buffer_unordered(READ_CONCURRENCY)
        .collect()
        .await
}

/// Reads every page of one listing per key, `READ_CONCURRENCY` keys at a time, and returns each
/// key with its result, so one key's failure is that key's alone.
pub async fn paginate_each<K, T, F, Fut>(
    gov: &Governor,
    op: Op,
    keys: impl IntoIterator<Item = K>,
    fetch: F,
) -> Vec<(K, CloudResult<Vec<T>>)>
where
    K: Clone,
    F: Fn(K, Option<String>) -> Fut,
    Fut: Future<Output = CloudResult<Page<T>>>,
{
    let fetch = &fetch;
    futures::stream::iter(keys)
        .map(|key| async move {
            let result = paginate(gov, op, |next| fetch(key.clone(), next)).await;
            (key, result)
        })
        .buffer_unordered(READ_CONCURRENCY)
        .collect()
        .await
}
