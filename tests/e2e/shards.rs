//! `run --shard K/N` splits the suite into disjoint, complete slices, and
//! `report merge` joins their reports into one.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::support::{all_case_ids, binary, run_suite};

#[test]
fn two_shards_cover_the_suite_and_merge_into_one_report() {
    let first = run_suite(152, &["--shard", "1/2", "--sut-fault", "no-record-route"]);
    let second = run_suite(152, &["--shard", "2/2", "--sut-fault", "no-record-route"]);
    let ids = |run: &crate::support::RunResult| -> BTreeSet<String> {
        run.verdicts().into_keys().collect()
    };
    let (a, b) = (ids(&first), ids(&second));
    assert!(a.is_disjoint(&b), "shards overlap: {a:?} {b:?}");
    let all: BTreeSet<String> = all_case_ids().into_iter().collect();
    assert_eq!(a.union(&b).cloned().collect::<BTreeSet<_>>(), all);
    assert!(
        a.len().abs_diff(b.len()) <= 1,
        "{} versus {}",
        a.len(),
        b.len()
    );

    let out = tempfile::tempdir().expect("temp dir");
    let merged_dir = out.path().join("merged");
    let output = binary()
        .args(["report", "merge"])
        .arg(first.report_path())
        .arg(second.report_path())
        .arg("--out")
        .arg(&merged_dir)
        .output()
        .expect("merge runs");
    // no-record-route fails three cases, so the merged report exits 1.
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(merged_dir.join("summary.json")).expect("merged summary"),
    )
    .expect("JSON");
    let cases = summary["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), all.len());
    assert_eq!(
        summary["totals"]["fail"],
        crate::faults::must_fail("no-record-route").len()
    );
    let junit = std::fs::read_to_string(merged_dir.join("junit.xml")).expect("junit");
    assert_eq!(junit.matches("<testcase ").count(), all.len());
    assert!(merged_dir.join("index.html").is_file());
    for case in cases {
        let trace = case["evidence"]["trace"].as_str().expect("trace path");
        assert!(merged_dir.join(trace).is_file(), "{trace} not copied");
    }

    // Merging a shard with itself is refused (exit 2), naming the case.
    let again = binary()
        .args(["report", "merge"])
        .arg(first.report_path())
        .arg(first.report_path())
        .arg("--out")
        .arg(out.path().join("twice"))
        .output()
        .expect("merge runs");
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("is in both"));
}
