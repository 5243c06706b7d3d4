//! Shared helpers for integration tests. Each test binary compiles this module separately and
//! uses only part of it, hence the dead-code allowance.
#![allow(dead_code)]

pub mod moto;
pub mod sim;
