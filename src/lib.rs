//! trimtab: a reconciliation daemon that keeps an AWS serverless application fast and cheap.
//!
//! The loop: `config` turns a TOML file into a validated [`model::Desired`]; `engine::observe`
//! reads the account through the `cloud` ports into one [`model::Observed`] snapshot;
//! `controllers` (pure) turn `Desired × Observed` into a [`model::Plan`]; `engine::apply`
//! executes it politely (rate limits per API, backoff, per-resource isolation); `engine::runtime`
//! repeats that on a schedule, and `server` exposes health, status and metrics.

pub mod allocator;
pub mod app;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod controllers;
pub mod engine;
pub mod model;
pub mod page;
pub mod server;
pub mod telemetry;
