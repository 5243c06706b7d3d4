//! Desired-state configuration: the TOML file an operator writes, turned into a validated
//! [`Desired`] or into every problem found, each at `file:line:col`.
//!
//! The pipeline: TOML syntax (`toml`'s parser, keeping spans) → [`walk`] reads each section
//! into the spanned schema of [`raw`] (types, enum values, durations, unknown keys) →
//! [`convert`] fills [`defaults`] and checks ranges and cross-field rules. Every step reports
//! into one collector and keeps going, so a run lists all problems, not just the first.

mod alarms;
mod capacity;
mod check;
mod convert;
pub mod defaults;
mod diag;
mod duration;
mod raw;
mod rules;
mod simulated;
mod walk;

#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};

pub use diag::{Diagnostic, render};

use crate::model::Desired;
use diag::Diags;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Every problem in the file, in file order.
    #[error("{}", render(.0))]
    Invalid(Vec<Diagnostic>),
}

/// Reads, parses and validates a configuration file.
///
/// A relative `simulated.state_file` is taken relative to the configuration file, as a path in
/// a file should be, so the daemon behaves the same whatever directory it is started from.
pub fn load(path: &Path) -> Result<Desired, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut desired = parse(&text, &path.display().to_string())?;
    if let (Some(state), Some(dir)) = (&desired.cloud.simulated.state_file, path.parent())
        && state.is_relative()
    {
        desired.cloud.simulated.state_file = Some(dir.join(state));
    }
    Ok(desired)
}

/// Parses and validates configuration text; `file_name` is only used in diagnostics.
pub fn parse(text: &str, file_name: &str) -> Result<Desired, ConfigError> {
    let mut d = Diags::new(file_name, text);
    let (doc, errors) = toml::de::DeTable::parse_recoverable(text);
    // After a syntax error the parser's recovery cascades into spurious errors (and a tree that
    // no longer matches what was meant), so only the first one is trustworthy.
    if let Some(first) = errors
        .iter()
        .min_by_key(|e| e.span().map_or(0, |s| s.start))
    {
        let span = first.span().unwrap_or(0..0);
        let message = match first.message() {
            "duplicate key" => format!("duplicate key `{}`", d.source(&span)),
            other => other.to_string(),
        };
        d.error(&span, format!("TOML syntax error: {message}"));
        return Err(ConfigError::Invalid(d.finish()));
    }
    let raw = raw::read(walk::Section::root(doc), &mut d);
    let desired = convert::desired(&mut d, &raw);
    if d.is_empty() {
        Ok(desired)
    } else {
        Err(ConfigError::Invalid(d.finish()))
    }
}
