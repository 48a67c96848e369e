//! `picharness evidence`: one case's evidence from a report directory as a
//! `.tar.gz` for a bug report (the format is in `picharness_reports::bundle`).

use std::path::{Path, PathBuf};

use picharness_reports::bundle::write_bundle;

use crate::run::{EXIT_CANNOT_START, EXIT_OK};

/// Writes the bundle of `case_id` from `report_dir` to `out` (default
/// `<case id>.evidence.tar.gz`), prints what went in, and returns the exit
/// code: 0 when written, 2 when not (no such report or case, unwritable).
pub fn evidence_command(report_dir: &Path, case_id: &str, out: Option<PathBuf>) -> u8 {
    let out = out.unwrap_or_else(|| PathBuf::from(format!("{case_id}.evidence.tar.gz")));
    match write_bundle(report_dir, case_id, &out) {
        Ok(contents) => {
            println!("{}", out.display());
            for file in &contents.files {
                println!("  {file}");
            }
            for file in &contents.missing {
                eprintln!("picharness: not in the report directory: {file}");
            }
            EXIT_OK
        }
        Err(e) => {
            eprintln!("picharness: {e}");
            EXIT_CANNOT_START
        }
    }
}
