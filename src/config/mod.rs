//! Desired-state configuration (being written).
