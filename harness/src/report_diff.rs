//! `picharness report diff OLD NEW`: what changed between two runs (the
//! comparison is `picharness_reports::diff`), printed as text, Markdown or
//! JSON.

use std::path::Path;

pub use picharness_reports::diff::DurationThreshold;
use picharness_reports::diff::{diff_runs, render_json, render_markdown, render_text};
use picharness_reports::summary::read_report;

use crate::run::{EXIT_CANNOT_START, EXIT_FAILURES, EXIT_OK};

/// How the diff is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiffFormat {
    Text,
    Markdown,
    Json,
}

/// Compares the reports `old` and `new` (directories or `summary.json`
/// files). Exit code: 0 when nothing got worse, 1 when something did, 2 when
/// a report cannot be read.
pub fn diff_command(
    old: &Path,
    new: &Path,
    format: DiffFormat,
    threshold: DurationThreshold,
) -> u8 {
    let (old, new) = match (read_report(old), read_report(new)) {
        (Ok(old), Ok(new)) => (old, new),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("picharness: {e}");
            return EXIT_CANNOT_START;
        }
    };
    let diff = diff_runs(&old, &new, threshold);
    let text = match format {
        DiffFormat::Text => render_text(&diff),
        DiffFormat::Markdown => render_markdown(&diff),
        DiffFormat::Json => render_json(&diff),
    };
    // A closed pipe (`| head`) must not panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), text.as_bytes());
    if diff.worse { EXIT_FAILURES } else { EXIT_OK }
}
