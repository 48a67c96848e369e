//! `report diff OLD NEW` between two real runs: a fault that appears is
//! "worse" (exit 1) in every format; the way back is not.

use std::path::Path;

use crate::support::{binary, run_suite};

fn diff(old: &Path, new: &Path, format: &str) -> (Option<i32>, String) {
    let output = binary()
        .args(["report", "diff"])
        .arg(old)
        .arg(new)
        .args(["--format", format])
        .output()
        .expect("report diff runs");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn a_new_fault_shows_as_newly_failing_and_exits_1() {
    let good = run_suite(234, &["aol.im.session"]);
    let bad = run_suite(234, &["--sut-fault", "no-record-route", "aol.im.session"]);
    let (code, text) = diff(good.report_path(), bad.report_path(), "text");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("newly failing (2):"), "{text}");
    assert!(
        text.contains("  aol.im.session-inbound  pass -> fail: "),
        "{text}"
    );

    let (code, markdown) = diff(
        &good.report_path().join("summary.json"),
        bad.report_path(),
        "markdown",
    );
    assert_eq!(code, Some(1));
    assert!(
        markdown.contains("| `aol.im.session-outbound` | pass -> fail: "),
        "{markdown}"
    );
    let (code, json) = diff(good.report_path(), bad.report_path(), "json");
    assert_eq!(code, Some(1));
    let json: serde_json::Value = serde_json::from_str(&json).expect("JSON");
    assert_eq!(json["worse"], true);

    // Back to good: newly passing, nothing worse.
    let (code, text) = diff(bad.report_path(), good.report_path(), "text");
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("newly passing (2):"), "{text}");

    // An unreadable report: exit 2.
    let (code, _) = diff(good.report_path(), &good.report_path().join("nope"), "text");
    assert_eq!(code, Some(2));
}
