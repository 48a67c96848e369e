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

#[test]
fn three_shards_side_by_side_on_one_machine_merge_as_one_sut() {
    let root = tempfile::tempdir().expect("temp dir");
    // Three processes at once, each on its own loopback net (177-179).
    let children: Vec<_> = (1..=3)
        .map(|k| {
            let net = crate::support::test_net(176 + k);
            binary()
                .arg("run")
                .arg("--report-dir")
                .arg(root.path().join(format!("shard-{k}")))
                .args(["--embedded-net", &format!("127.{net}.0.0")])
                .args(["--shard", &format!("{k}/3"), "aol."])
                .stdout(std::process::Stdio::null())
                .spawn()
                .expect("shard starts")
        })
        .collect();
    for mut child in children {
        let status = child.wait().expect("shard ends");
        assert_eq!(status.code(), Some(0));
    }
    let merged_dir = root.path().join("merged");
    let output = binary()
        .args(["report", "merge"])
        .args((1..=3).map(|k| root.path().join(format!("shard-{k}"))))
        .arg("--out")
        .arg(&merged_dir)
        .output()
        .expect("merge runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("one SUT: the embedded reference Edge"),
        "{stdout}"
    );
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(merged_dir.join("summary.json")).expect("merged summary"),
    )
    .expect("JSON");
    let aol: BTreeSet<String> = all_case_ids()
        .into_iter()
        .filter(|id| id.starts_with("aol."))
        .collect();
    assert_eq!(summary["cases"].as_array().expect("cases").len(), aol.len());
    assert_eq!(summary["merged"]["reports"], 3);
    let note = summary["merged"]["note"].as_str().expect("note");
    assert!(note.contains("on 3 loopback nets"), "{note}");
    let html = std::fs::read_to_string(merged_dir.join("index.html")).expect("html");
    assert!(
        html.contains("merged from 3 reports (one SUT"),
        "one SUT note in the HTML"
    );
}
