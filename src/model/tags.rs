//! Resource tags: a map from key to value, ordered by key so comparisons and rendered plans are
//! deterministic.
//!
//! Stored as one sorted vector of pairs (`litemap`), not a `BTreeMap`: a resource has a handful
//! of tags, and a `BTreeMap`'s first node is 544 bytes whatever it holds. At 1,000 functions
//! trimtab holds about 10,000 tag sets at a cycle's peak (each alarm's desired and observed
//! tags, the tag cache, the functions'), so the node alone was about 5 MiB. Keys and values are
//! `CompactString`s: trimtab's own tags (`managed-by = trimtab`, the target's name) fit in 24
//! bytes and are kept inline, so a tag set is one allocation instead of five.

use std::fmt;
use std::ops::{Deref, DerefMut};

use compact_str::CompactString;
use litemap::LiteMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Resource tags, ordered by key. Reads like a `BTreeMap<String, String>` (`get`, `iter`,
/// `insert`, `remove`, … through `Deref`), collects from pairs (the last value of a repeated
/// key wins, as with a map) and serializes as a map.
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Tags(LiteMap<CompactString, CompactString>);

impl Tags {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of `key`, as a `&str`.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(CompactString::as_str)
    }
}

impl Deref for Tags {
    type Target = LiteMap<CompactString, CompactString>;

    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Tags {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl<K: Into<CompactString>, V: Into<CompactString>> FromIterator<(K, V)> for Tags {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        Self(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }
}

impl<K: Into<CompactString>, V: Into<CompactString>, const N: usize> From<[(K, V); N]> for Tags {
    fn from(pairs: [(K, V); N]) -> Self {
        pairs.into_iter().collect()
    }
}

impl<K: Into<CompactString>, V: Into<CompactString>> Extend<(K, V)> for Tags {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, pairs: I) {
        for (k, v) in pairs {
            self.0.insert(k.into(), v.into());
        }
    }
}

impl IntoIterator for Tags {
    type Item = (CompactString, CompactString);
    type IntoIter = std::vec::IntoIter<(CompactString, CompactString)>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_tuple_vec().into_iter()
    }
}

impl<'a> IntoIterator for &'a Tags {
    type Item = (&'a CompactString, &'a CompactString);
    type IntoIter = <&'a LiteMap<CompactString, CompactString> as IntoIterator>::IntoIter;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl fmt::Debug for Tags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl Serialize for Tags {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for Tags {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let map = std::collections::BTreeMap::<CompactString, CompactString>::deserialize(d)?;
        Ok(map.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use compact_str::CompactString;

    use super::Tags;

    #[test]
    fn reads_like_an_ordered_map() {
        let mut t: Tags = [("team", "ai"), ("env", "prod"), ("team", "data")].into();
        assert_eq!(
            t.iter().collect::<Vec<_>>(),
            [
                (&"env".into(), &"prod".into()),
                (&"team".into(), &"data".into())
            ],
            "sorted by key, the last value of a repeated key wins"
        );
        assert_eq!(t.get("env").map(|v| v.as_str()), Some("prod"));
        assert!(!t.contains_key("x"));
        t.extend([("a", "1"), ("env", "dev")]);
        assert_eq!(t.keys().collect::<Vec<_>>(), ["a", "env", "team"]);
        assert_eq!(t.get("env").map(|v| v.as_str()), Some("dev"));
        assert_eq!(t.remove("a").as_deref(), Some("1"));
        assert_eq!(format!("{t:?}"), r#"{"env": "dev", "team": "data"}"#);
        let json = serde_json::to_string(&t).unwrap_or_default();
        assert_eq!(json, r#"{"env":"dev","team":"data"}"#);
        let back: Tags = serde_json::from_str(&json).unwrap_or_default();
        assert_eq!(back, t);
        let owned: Vec<(CompactString, CompactString)> = t.into_iter().collect();
        assert_eq!(owned.len(), 2);
    }
}
