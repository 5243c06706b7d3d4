//! Desired-state configuration: the TOML file an operator writes, turned into a validated
//! [`Desired`] or into every problem found, each at `file:line:col`.
//!
//! The pipeline: TOML syntax (`toml`'s parser, keeping spans) → [`walk`] reads each section
//! into the spanned schema of [`raw`] (types, enum values, durations, unknown keys), and each
//! controller reads its own sections and per-rule keys (`controllers::registry`) →
//! [`convert`] fills [`defaults`] and checks ranges and cross-field rules. Every step reports
//! into one collector and keeps going, so a run lists all problems, not just the first.

pub(crate) mod check;
mod convert;
pub mod defaults;
mod diag;
pub(crate) mod duration;
pub(crate) mod pairs;
mod raw;
mod rules;
pub mod schema;
mod simulated;
mod walk;

/// What a controller's settings reader uses: the walker, the checks and the diagnostics.
pub(crate) mod read {
    pub(crate) use super::check::{self, Bounds};
    pub(crate) use super::diag::{Diags, suggest};
    pub(crate) use super::duration;
    pub(crate) use super::walk::{Pairs, Section, Sections};

    /// A value as written, with its span.
    pub(crate) type S<T> = toml::Spanned<T>;
    /// An optional value as written.
    pub(crate) type Opt<T> = Option<toml::Spanned<T>>;
}

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
    #[error("{}:{line}:{column}: the file is not valid UTF-8", path.display())]
    Encoding {
        path: PathBuf,
        line: usize,
        column: usize,
    },
}

/// The largest configuration file read: a desired-state file is a few kilobytes; anything
/// near this is a mistake (a log, a dump, `/dev/zero`), refused before it is read in full.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

/// Reads a configuration file, refusing what is not a regular file (a FIFO or a device would
/// block or never end), anything over [`MAX_CONFIG_BYTES`], and invalid UTF-8 (with where).
pub fn read_text(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let fail = |source: std::io::Error| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let invalid = |msg: String| fail(std::io::Error::new(std::io::ErrorKind::InvalidInput, msg));
    let meta = std::fs::metadata(path).map_err(fail)?;
    if !meta.is_file() {
        return Err(invalid(
            "not a regular file (a FIFO, a device or a directory): give the path of a TOML file"
                .into(),
        ));
    }
    let too_big = |n: u64| {
        invalid(format!(
            "{n} bytes or more; a configuration file is at most {MAX_CONFIG_BYTES} bytes"
        ))
    };
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(too_big(meta.len()));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .map_err(fail)?
        .take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(too_big(bytes.len() as u64)); // it grew while being read
    }
    String::from_utf8(bytes).map_err(|e| {
        let valid = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = valid.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = valid.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&valid[line_start..])
            .chars()
            .count()
            + 1;
        ConfigError::Encoding {
            path: path.to_path_buf(),
            line,
            column,
        }
    })
}

/// Reads, parses and validates a configuration file.
///
/// A relative `simulated.state_file` is taken relative to the configuration file, as a path in
/// a file should be, so the daemon behaves the same whatever directory it is started from.
pub fn load(path: &Path) -> Result<Desired, ConfigError> {
    let text = read_text(path)?;
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
    let mut sections = walk::Sections::new(walk::Section::root(doc));
    let head = raw::read_head(&mut sections, &mut d);
    let ownership = convert::ownership(&mut d, &head.ownership);
    let controllers =
        crate::controllers::registry::read_settings(&mut crate::controllers::SettingsCx {
            sections: &mut sections,
            d: &mut d,
            ownership: &ownership,
        });
    let functions = rules::functions(&mut sections, &mut d, &controllers);
    let tables = rules::tables(&mut sections, &mut d, &controllers);
    let tail = raw::read_tail(&mut sections, &mut d);
    sections.finish(&mut d);
    let desired = convert::desired(
        &mut d,
        convert::Parts {
            head,
            ownership,
            controllers,
            functions,
            tables,
            tail,
        },
    );
    if d.is_empty() {
        Ok(desired)
    } else {
        Err(ConfigError::Invalid(d.finish()))
    }
}
