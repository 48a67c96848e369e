//! The user-facing error for a bad scenario or profile file.

use std::fmt;
use std::path::PathBuf;

/// What is wrong with a data file, and exactly where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: PathBuf,
    /// 1-based line, 0 when the problem is not tied to a line.
    pub line: usize,
    /// The offending field, such as `steps[2].expect`; empty when the
    /// problem is the file as a whole.
    pub field: String,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            // A problem with the file as a whole (it cannot be read).
            return write!(f, "{}: {}", self.file.display(), self.message);
        }
        if self.line > 0 {
            write!(
                f,
                "{}:{}: field `{}`: {}",
                self.file.display(),
                self.line,
                self.field,
                self.message
            )
        } else {
            write!(
                f,
                "{}: field `{}`: {}",
                self.file.display(),
                self.field,
                self.message
            )
        }
    }
}

impl std::error::Error for ScenarioError {}

/// Converts a byte offset in `text` to a 1-based line number.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

impl ScenarioError {
    /// The error serde/toml reported for `text` (the contents of `file`),
    /// with its line and the full dotted path of the field: the key at the
    /// error's position, and for a missing field the table's path with the
    /// field's name.
    pub(crate) fn from_toml(file: &std::path::Path, text: &str, e: &toml::de::Error) -> Self {
        let message = e.message().trim_end().to_owned();
        let at = e
            .span()
            .map(|s| super::key_path::key_path_at(text, s.start))
            .unwrap_or_default();
        let named = message.split('`').nth(1).unwrap_or_default();
        let field = if message.starts_with("missing field") {
            // The span is the table that lacks the field.
            if at.is_empty() {
                named.to_owned()
            } else {
                format!("{at}.{named}")
            }
        } else if at.is_empty() {
            // Before any key (an error at the top of the file).
            "(top level)".to_owned()
        } else {
            at
        };
        Self {
            file: file.to_path_buf(),
            line: e.span().map_or(0, |s| line_of(text, s.start)),
            field,
            message,
        }
    }
}
