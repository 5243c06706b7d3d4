//! observe, plan, apply, runtime (being written).
