//! Diagnostics: one problem in the configuration file, located at `file:line:col`.
//!
//! Readers and validators report problems at byte offsets into the text (what the TOML parser's
//! spans give); [`Diags`] collects them all and turns offsets into 1-based lines and columns
//! only at the end, so no check needs to know about positions.

use std::fmt;
use std::ops::Range;

/// One problem in a configuration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters, so it matches what an editor shows.
    pub col: usize,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}:{}:{}: {}",
            self.file, self.line, self.col, self.message
        )
    }
}

/// All diagnostics, one per line, in file order.
pub fn render(diags: &[Diagnostic]) -> String {
    diags
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

/// Collects problems while a file is read and validated.
pub(crate) struct Diags<'t> {
    file: &'t str,
    text: &'t str,
    /// Byte offset at which each line starts.
    line_starts: Vec<usize>,
    found: Vec<(usize, String)>,
}

impl<'t> Diags<'t> {
    pub fn new(file: &'t str, text: &'t str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            file,
            text,
            line_starts,
            found: Vec::new(),
        }
    }

    /// Reports a problem at the start of `span`.
    pub fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        self.found.push((span.start, message.into()));
    }

    /// Reports a problem at a byte offset.
    pub fn error_at(&mut self, offset: usize, message: impl Into<String>) {
        self.found.push((offset, message.into()));
    }

    pub fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// The source text of a span, for messages that quote what was written.
    pub fn source(&self, span: &Range<usize>) -> &'t str {
        self.text.get(span.clone()).unwrap_or("")
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    fn position(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_of(offset);
        let start = self.line_starts[line - 1];
        // Offsets from the parser are on char boundaries; fall back to bytes if one is not.
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line, col + 1)
    }

    /// Every problem, in file order; problems at the same place keep the order they were found.
    pub fn finish(mut self) -> Vec<Diagnostic> {
        self.found.sort_by_key(|(offset, _)| *offset);
        self.found
            .iter()
            .map(|(offset, message)| {
                let (line, col) = self.position(*offset);
                Diagnostic {
                    file: self.file.to_string(),
                    line,
                    col,
                    message: message.clone(),
                }
            })
            .collect()
    }
}

/// The candidate closest to `word`, if it is close enough to be a likely typo.
///
/// Case differences cost nothing (`notbreaching` → `notBreaching`); otherwise the
/// Damerau-Levenshtein distance may be at most a third of the candidate's length (at least 1),
/// so short keys only match near-identical words.
pub(crate) fn suggest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    let lower = word.to_lowercase();
    candidates
        .iter()
        .map(|c| (strsim::damerau_levenshtein(&lower, &c.to_lowercase()), *c))
        .filter(|(distance, c)| {
            let len = c.chars().count();
            *distance <= (len / 3).max(1) && *distance < len
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, c)| c)
}

/// `"; did you mean `x`?"` when a candidate is close, else `"; expected one of: a, b, c"`.
pub(crate) fn hint(word: &str, candidates: &[&str]) -> String {
    match suggest(word, candidates) {
        Some(close) => format!("; did you mean `{close}`?"),
        None => format!("; expected one of: {}", candidates.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_one_based_and_count_characters() {
        let text = "a = 1\n# ₹15 ₹\nb = 2\n";
        let mut d = Diags::new("f.toml", text);
        d.error_at(text.find('b').unwrap_or(0), "at b");
        d.error_at(text.rfind('₹').unwrap_or(0), "at rupee");
        d.error_at(0, "at start");
        let out: Vec<String> = d.finish().iter().map(ToString::to_string).collect();
        assert_eq!(
            out,
            [
                "f.toml:1:1: at start",
                "f.toml:2:7: at rupee",
                "f.toml:3:1: at b"
            ]
        );
    }

    #[test]
    fn suggestions_are_close_or_absent() {
        let keys = ["threshold_ms", "period", "enabled"];
        assert_eq!(suggest("treshold_ms", &keys), Some("threshold_ms"));
        assert_eq!(suggest("PERIOD", &keys), Some("period"));
        assert_eq!(suggest("colour", &keys), None);
        assert_eq!(hint("x", &["a", "b"]), "; expected one of: a, b");
    }
}
