//! AWS adapters over aws-sdk-* (being written).
