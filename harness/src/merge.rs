//! `picharness report merge`: joins shard reports into one (the rules are in
//! `picharness_reports::merge`) and prints the merged totals.

use std::path::{Path, PathBuf};

use picharness_reports::FindingKind;
use picharness_reports::merge::merge_reports;

use crate::run::{EXIT_CANNOT_START, EXIT_FAILURES, EXIT_OK};

/// Merges `inputs` into `out`. Exit code: 0 when no merged case failed or
/// errored (when the shards ran with `--expect`: when none deviates from the
/// expected verdicts; a finding of a kind in `fail_on` counts too), 1 when one
/// did, 2 when the reports could not be merged.
pub fn merge_command(inputs: &[PathBuf], out: &Path, fail_on: &[FindingKind]) -> u8 {
    match merge_reports(inputs, out) {
        Ok(merged) => {
            let t = merged.totals;
            println!(
                "picharness: merged {} report(s), {} cases: {} pass, {} fail, {} inconclusive, {} error, {} skipped; {} with warnings, {} with observations",
                inputs.len(),
                t.total(),
                t.pass,
                t.fail,
                t.inconclusive,
                t.error,
                t.skipped,
                t.warning,
                t.observation
            );
            if let Some(note) = merged.merged.as_ref().and_then(|m| m.note.as_ref()) {
                println!("picharness: {note}");
            }
            println!("report: {}", out.display());
            if merged.has_failures(fail_on) {
                EXIT_FAILURES
            } else {
                EXIT_OK
            }
        }
        Err(e) => {
            eprintln!("picharness: {e}");
            EXIT_CANNOT_START
        }
    }
}
