//! `run --expect FILE` and `expect init`: known results stop failing the
//! run, and every deviation from them (a new fail, a known fail that passes,
//! a known fail with another reason) makes it exit 1.

use std::path::Path;

use serde_json::Value;

use crate::support::{binary, run_suite};

/// `expect init --from REPORT --out FILE`, asserting it worked.
fn expect_init(report: &Path, out: &Path) {
    let output = binary()
        .args(["expect", "init", "--from"])
        .arg(report)
        .arg("--out")
        .arg(out)
        .output()
        .expect("expect init runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

fn case<'a>(summary: &'a Value, id: &str) -> &'a Value {
    summary["cases"]
        .as_array()
        .and_then(|cases| cases.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("{id} not in the summary"))
}

#[test]
fn known_results_pass_and_deviations_fail_the_run() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("expected.toml");
    let fault = ["--sut-fault", "no-record-route"];

    // Tonight's state: two known fails among the aol.im.session cases.
    let first = run_suite(244, &[&fault[..], &["aol.im.session"]].concat());
    assert_eq!(first.code(), Some(1), "{}", first.stdout());
    expect_init(first.report_path(), &file);
    let text = std::fs::read_to_string(&file).expect("file written");
    assert_eq!(text.matches("verdict = \"fail\"").count(), 2, "{text}");
    let expect = file.to_str().expect("utf-8 path");

    // The same results with the file: exit 0, and the report marks them.
    let again = run_suite(
        244,
        &[&fault[..], &["--expect", expect, "aol.im.session"]].concat(),
    );
    assert_eq!(again.code(), Some(0), "{}", again.stdout());
    assert!(
        again
            .stdout()
            .contains("no deviation from the expected verdicts")
    );
    let known = case(&again.summary, "aol.im.session-inbound");
    assert_eq!(known["verdict"], "fail");
    assert_eq!(known["expected"]["held"], true);
    assert_eq!(again.summary["expect_file"], expect);

    // Regressions among the known fails: the aol cases the file does not
    // list that also fail (the subscriptions, Record-Route outbound).
    let wider = run_suite(244, &[&fault[..], &["--expect", expect, "aol."]].concat());
    assert_eq!(wider.code(), Some(1), "{}", wider.stdout());
    let stdout = wider.stdout();
    assert!(
        stdout.contains("deviation(s) from the expected")
            && stdout.contains("aol.presence.subscribe-inbound")
            && !stdout.contains("  fail         aol.im.session-inbound"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 result(s) other than pass were as expected"),
        "{stdout}"
    );

    // Fixed: the known fails now pass, which is a deviation too.
    let fixed = run_suite(244, &["--expect", expect, "aol.im.session"]);
    assert_eq!(fixed.code(), Some(1), "{}", fixed.stdout());
    assert!(
        fixed.stdout().contains("expected fail"),
        "{}",
        fixed.stdout()
    );

    // A known fail whose reason changed.
    let changed = text.replacen("reason = \"", "reason = \"something else: ", 1);
    std::fs::write(&file, changed).expect("rewrite");
    let reason = run_suite(
        244,
        &[&fault[..], &["--expect", expect, "aol.im.session"]].concat(),
    );
    assert_eq!(reason.code(), Some(1), "{}", reason.stdout());
    assert!(
        reason.stdout().contains("the reason changed"),
        "{}",
        reason.stdout()
    );

    // An unknown case id: exit 2 naming file and line, nothing run.
    std::fs::write(
        &file,
        "# nightly\n[cases.\"aol.im.no-such-case\"]\nverdict = \"fail\"\nwhy = \"x\"\n",
    )
    .expect("rewrite");
    let output = binary()
        .args(["run", "--expect", expect, "--report-dir"])
        .arg(dir.path().join("never"))
        .output()
        .expect("run runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("{expect}:2:")) && stderr.contains("unknown case id"),
        "{stderr}"
    );
    assert!(!dir.path().join("never").exists());
}
