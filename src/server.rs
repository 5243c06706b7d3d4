//! HTTP endpoints (being written).
