//! tracing and metrics (being written).
