//! What several controllers share: which rule governs a function (`scope`), AWS identifiers
//! (`names`), the ownership check (`ownership`), field diffs (`diff`), Application Auto Scaling
//! comparisons (`aas`), price estimates (`cost`) and the per-function usage metrics (`usage`).

pub mod aas;
pub mod cost;
pub mod diff;
pub mod names;
pub mod ownership;
pub mod scope;
pub mod usage;
