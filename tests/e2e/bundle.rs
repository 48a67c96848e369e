//! `picharness evidence`: the bug-report bundle of one case holds a trace
//! tshark decrypts, the facts, and a command that reproduces the verdict.

use std::process::Command;

use serde_json::Value;

use crate::support::{binary, run_suite};

#[test]
fn the_evidence_bundle_reproduces_the_failure() {
    let case = "messenger.im.inbound";
    let run = run_suite(
        151,
        &["--sut-fault", "ignore-max-forwards", "--exact", case],
    );
    assert_eq!(run.verdicts()[case].0, "fail", "{}", run.stdout());
    let out_dir = tempfile::tempdir().expect("temp dir");
    let bundle = out_dir.path().join("bug.tar.gz");
    // A requirements catalogue in the Markdown table form the project's uses.
    let catalogue = out_dir.path().join("requirements.md");
    std::fs::write(
        &catalogue,
        "| id | requirement |\n|---|---|\n| IM-01 | catalogue text for IM-01 | src |\n",
    )
    .expect("write catalogue");
    let made = binary()
        .args(["evidence", case, "--report-dir"])
        .arg(run.report_path())
        .arg("--out")
        .arg(&bundle)
        .arg("--requirements")
        .arg(&catalogue)
        .output()
        .expect("evidence runs");
    assert!(
        made.status.success(),
        "evidence failed: {}",
        String::from_utf8_lossy(&made.stderr)
    );

    let unpacked = out_dir.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).expect("dir");
    let untar = Command::new("tar")
        .arg("-xzf")
        .arg(&bundle)
        .arg("-C")
        .arg(&unpacked)
        .status()
        .expect("tar runs");
    assert!(untar.success());
    let dir = unpacked.join(case);
    for file in [
        "README.txt",
        "case.json",
        "trace.pcapng",
        "transcript.txt",
        "messages.json",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing from the bundle");
    }

    // The trace decrypts on its own: tshark shows this case's SIP.
    let tshark = Command::new("tshark")
        .arg("-r")
        .arg(dir.join("trace.pcapng"))
        .args(["-Y", "sip", "-T", "fields", "-e", "sip.Call-ID"])
        .output()
        .expect("tshark runs (the README's test command installs it)");
    let calls = String::from_utf8_lossy(&tshark.stdout);
    assert!(calls.contains("messenger-im-inbound"), "{calls}");

    let facts: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("case.json")).expect("case.json"))
            .expect("case.json is JSON");
    assert_eq!(facts["case"]["verdict"], "fail");
    assert_eq!(facts["sut"]["faults"][0], "ignore-max-forwards");
    let readme = std::fs::read_to_string(dir.join("README.txt")).expect("README");
    assert!(
        readme.contains("reason         MESSAGE sip:lync-messenger-im-inbound"),
        "{readme}"
    );
    assert!(
        readme.contains("  IM-01: catalogue text for IM-01"),
        "{readme}"
    );
    assert_eq!(
        facts["requirement_texts"]["IM-01"],
        "catalogue text for IM-01"
    );

    // The command in the bundle reproduces the verdict.
    let reproduce: Vec<String> = facts["reproduce"]
        .as_array()
        .expect("reproduce command")
        .iter()
        .map(|a| a.as_str().expect("string").to_owned())
        .collect();
    assert_eq!(reproduce[0], "picharness");
    let again = binary()
        .args(&reproduce[1..])
        .current_dir(out_dir.path())
        .output()
        .expect("reproduce runs");
    let summary: Value = serde_json::from_str(
        &std::fs::read_to_string(
            out_dir
                .path()
                .join(format!("picharness-report-{case}"))
                .join("summary.json"),
        )
        .expect("reproduced summary"),
    )
    .expect("JSON");
    assert_eq!(summary["cases"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        summary["cases"][0]["verdict"],
        "fail",
        "{}",
        String::from_utf8_lossy(&again.stdout)
    );
}

#[test]
fn an_unknown_case_is_a_usage_error() {
    let report = tempfile::tempdir().expect("temp dir");
    let output = binary()
        .args(["evidence", "no.such.case", "--report-dir"])
        .arg(report.path())
        .output()
        .expect("evidence runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("summary.json"), "{stderr}");
}
