//! Domain types shared by everything: what we want (`Desired`), what we saw (`Observed`), and
//! what we will do about it (`Plan`). No SDK types live here; the cloud ports speak these.

pub mod alarm;
pub mod cost;
pub mod desired;
pub mod dynamodb;
pub mod events;
pub mod lambda;
pub mod metrics;
pub mod observed;
pub mod plan;
pub mod reads;
pub mod rightsizing;
pub mod scaling;
pub mod sns;
pub mod tags;

pub use alarm::*;
pub use desired::*;
pub use dynamodb::*;
pub use events::*;
pub use lambda::*;
pub use metrics::*;
pub use observed::*;
pub use plan::*;
pub use reads::*;
pub use rightsizing::*;
pub use scaling::*;
pub use sns::*;
pub use tags::Tags;

/// One page of a paginated listing; `next` is the opaque token for the following page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

impl<T> Page<T> {
    pub fn last(items: Vec<T>) -> Self {
        Self { items, next: None }
    }
}

/// Cold-start strategy class of a function.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    /// Provisioned concurrency on an alias.
    Critical,
    /// A scheduled EventBridge warm-up.
    Standard,
    /// Nothing: cold starts are acceptable.
    Batch,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Critical => "critical",
            Tier::Standard => "standard",
            Tier::Batch => "batch",
        }
    }
}

impl std::fmt::Display for Tier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
