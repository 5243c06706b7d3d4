//! Tests of the configuration loader: every diagnostic's exact text, defaults, overrides, rule
//! precedence, and the shipped example files.

mod capacity;
mod diagnostics;
mod semantics;

use super::{ConfigError, parse, render};
use crate::model::Desired;

/// Test inputs start on the line after `r#"`, so line numbers in expectations match the text.
pub(super) fn text(s: &str) -> &str {
    s.strip_prefix('\n').unwrap_or(s)
}

/// The rendered diagnostics of an invalid file; panics if the file is valid.
pub(super) fn errors(s: &str) -> String {
    match parse(text(s), "t.toml") {
        Ok(_) => panic!("expected diagnostics, the file was valid"),
        Err(ConfigError::Invalid(d)) => render(&d),
        Err(e) => panic!("unexpected error: {e}"),
    }
}

/// The desired state of a valid file; panics with the diagnostics otherwise.
pub(super) fn ok(s: &str) -> Desired {
    match parse(text(s), "t.toml") {
        Ok(desired) => desired,
        Err(e) => panic!("expected a valid file:\n{e}"),
    }
}
