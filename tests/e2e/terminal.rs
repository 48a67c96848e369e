//! What `run` prints: with `--format json`, one JSON object per line
//! (libtest's events plus ours with the real verdicts); otherwise a plain
//! summary table when stdout is not a terminal.

use serde_json::Value;

use crate::support::run_suite;

#[test]
fn format_json_streams_one_event_per_line_with_the_verdicts() {
    let run = run_suite(153, &["--sut-fault", "no-record-route", "--format", "json"]);
    assert_eq!(run.code(), Some(1), "stderr:\n{}", run.stderr());
    let events: Vec<Value> = run
        .stdout()
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect();
    let ours: Vec<&Value> = events
        .iter()
        .filter(|e| e["type"] == "picharness" && e["event"] == "case")
        .collect();
    let verdicts = run.verdicts();
    assert_eq!(ours.len(), verdicts.len());
    for event in &ours {
        let id = event["id"].as_str().expect("id");
        assert_eq!(event["verdict"], verdicts[id].0.as_str(), "{id}");
    }
    let last = events.last().expect("events");
    assert_eq!(last["event"], "run");
    assert_eq!(
        last["totals"]["fail"],
        crate::faults::must_fail("no-record-route").len()
    );
    assert_eq!(last["exit_code"], 1);
    // libtest's own events are there too.
    assert!(events.iter().any(|e| e["type"] == "suite"));
}

#[test]
fn plain_output_has_no_colour_codes_and_lists_non_passing_cases() {
    let run = run_suite(
        154,
        &[
            "--sut-fault",
            "ignore-max-forwards",
            "--exact",
            "aol.im.inbound",
        ],
    );
    let out = run.stdout();
    assert!(!out.contains('\x1b'), "colour codes on a pipe:\n{out}");
    assert!(
        out.lines().any(|l| l.starts_with("  fail")
            && l.contains("aol.im.inbound")
            && l.contains("[step 2: ")),
        "{out}"
    );
    assert!(out.contains("index.html"), "{out}");
}

#[test]
fn a_reader_that_goes_away_ends_list_quietly() {
    use std::io::Read;
    // The markdown catalogue is far larger than a pipe's buffer, so the
    // writer meets the closed pipe.
    let mut child = crate::support::binary()
        .args(["list", "--format", "markdown"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("list starts");
    let mut first = [0u8; 64];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("the catalogue starts");
    let output = child.wait_with_output().expect("list ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn a_reader_that_goes_away_does_not_stop_a_run_or_its_reports() {
    let net = crate::support::test_net(157);
    let report = tempfile::tempdir().expect("temp dir");
    let mut child = crate::support::binary()
        .arg("run")
        .arg("--report-dir")
        .arg(report.path())
        .args(["--embedded-net", &format!("127.{net}.0.0"), "aol.im."])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run starts");
    // The reader is gone before the first line: every write to stdout meets
    // the closed pipe (libtest's printer used to panic on the first one).
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("run ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(report.path().join("summary.json")).expect("summary.json"),
    )
    .expect("summary.json is JSON");
    let cases = summary["cases"].as_array().expect("cases");
    assert!(!cases.is_empty());
    assert!(cases.iter().all(|c| c["verdict"] == "pass"), "{summary}");
}
