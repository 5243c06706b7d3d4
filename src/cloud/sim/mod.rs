//! The simulated account (being written).
