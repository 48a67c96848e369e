//! `picharness report merge`: joins shard reports into one (the rules are in
//! `picharness_reports::merge`) and prints the merged totals.

use std::path::{Path, PathBuf};

use picharness_reports::FindingKind;
use picharness_reports::budget::RunBudget;
use picharness_reports::merge::{dir_bytes, merge_reports_within};

use crate::run::{EXIT_CANNOT_START, EXIT_FAILURES, EXIT_OK};

/// Merges `inputs` into `out` within `limit` bytes (default
/// [`RunBudget::LIMIT`]; the copied case folders are not cut, so a warning
/// says when they alone are over it). Exit code: 0 when no merged case failed or
/// errored (when the shards ran with `--expect`: when none deviates from the
/// expected verdicts; a finding of a kind in `fail_on` counts too), 1 when one
/// did, 2 when the reports could not be merged.
pub fn merge_command(
    inputs: &[PathBuf],
    out: &Path,
    fail_on: &[FindingKind],
    limit: Option<u64>,
) -> u8 {
    let limit = limit.unwrap_or(RunBudget::LIMIT);
    match merge_reports_within(inputs, out, limit) {
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
            let size = dir_bytes(out);
            if size > limit {
                eprintln!(
                    "picharness: warning: the merged report takes {size} bytes, over its limit of {limit}: \
                     the shards' case evidence is copied whole; run each of N shards with --report-limit \
                     of the limit divided by N"
                );
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
