//! Bad scenario files stop the run before anything starts, with an error
//! naming the file, line and field, and exit code 2.

use crate::support::{binary, copy_dir, scenarios_dir};

fn run_with_broken(file: &str, from: &str, to: &str) -> (Option<i32>, String, std::path::PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenarios = dir.path().join("scenarios");
    copy_dir(&scenarios_dir(), &scenarios);
    let path = scenarios.join(file);
    let text = std::fs::read_to_string(&path).expect("read case");
    assert!(text.contains(from), "fixture text {from:?} not in {file}");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write case");
    let report = dir.path().join("report");
    let output = binary()
        .arg("run")
        .arg("--scenarios")
        .arg(&scenarios)
        .arg("--report-dir")
        .arg(&report)
        .output()
        .expect("runs");
    let _keep = dir.keep();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        path,
    )
}

#[test]
fn unknown_actor_is_reported_with_file_line_and_field() {
    let (code, stderr, path) = run_with_broken(
        "cases/edge/sip.max-forwards.toml",
        "actor = \"messenger\"\nexpect",
        "actor = \"msn\"\nexpect",
    );
    assert_eq!(code, Some(2), "{stderr}");
    let line = std::fs::read_to_string(&path)
        .expect("read")
        .lines()
        .position(|l| l == "actor = \"msn\"")
        .expect("line")
        + 1;
    let expected = format!("{}:{}: field `steps[1].actor`", path.display(), line);
    assert!(
        stderr.contains(&expected),
        "expected {expected:?} in:\n{stderr}"
    );
}

#[test]
fn unknown_key_is_reported_with_its_name() {
    let (code, stderr, path) =
        run_with_broken("cases/edge/dns.srv-port.toml", "check = ", "chekc = ");
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains(&format!("{}:", path.display())), "{stderr}");
    assert!(stderr.contains("chekc"), "{stderr}");
}

#[test]
fn bad_status_pattern_is_reported() {
    let (code, stderr, _) = run_with_broken(
        "cases/edge/sip.max-forwards.toml",
        "response 483",
        "response 48",
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("field `steps[1].expect`"), "{stderr}");
}

#[test]
fn unknown_fault_is_a_usage_error() {
    let output = binary()
        .args(["run", "--sut-fault", "no-such-fault"])
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-record-route"));
}

/// A send in a dialog the actor never got (the MESSAGE that reached the
/// pool has no Contact, so it forms none) is the scenario's error, not a
/// failure of the SUT: the request would go out with an empty target.
#[test]
fn a_send_in_a_dialog_the_actor_does_not_have_is_an_error_not_a_fail() {
    let dir = tempfile::tempdir().expect("temp dir");
    let scenarios = dir.path().join("scenarios");
    copy_dir(&scenarios_dir(), &scenarios);
    let inbound = std::fs::read_to_string(scenarios.join("cases/messenger/im.inbound.toml"))
        .expect("read case");
    let misuse = inbound.replace(
        "id = \"messenger.im.inbound\"",
        "id = \"messenger.im.dialog-misuse\"",
    ) + "\n[[steps]]\nactor = \"pool\"\nsend = \"\"\"\nBYE {dialog.target} SIP/2.0\nTo: {dialog.remote}\nContent-Length: 0\n\"\"\"\n";
    std::fs::write(
        scenarios.join("cases/messenger/im.dialog-misuse.toml"),
        misuse,
    )
    .expect("write case");
    let net = format!("127.{}.0.0", crate::support::test_net(246));
    let report = dir.path().join("report");
    let output = binary()
        .arg("run")
        .arg("--scenarios")
        .arg(&scenarios)
        .arg("--report-dir")
        .arg(&report)
        .args([
            "--embedded-net",
            &net,
            "messenger.im.dialog-misuse",
            "--exact",
        ])
        .output()
        .expect("runs");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.join("summary.json")).expect("summary"),
    )
    .expect("json");
    let case = &summary["cases"][0];
    assert_eq!(case["verdict"], "error", "{case}");
    assert!(
        case["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("the scenario sends in a dialog, but pool is in none"),
        "{case}"
    );
    assert_eq!(output.status.code(), Some(1));
}
