//! Provider profiles are data: a profile that lacks a feature makes the
//! cases needing it `skipped` (with the reason), never failed; a profile
//! naming an unknown feature stops the run with file, line and field.

use crate::support::{binary, copy_dir, scenarios_dir, test_net};

fn scenarios_with_yahoo_features(features: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(&scenarios_dir(), dir.path());
    let profile = dir.path().join("profiles/yahoo.toml");
    let text = std::fs::read_to_string(&profile).expect("yahoo profile");
    std::fs::write(&profile, format!("{text}features = {features}\n")).expect("write profile");
    dir
}

#[test]
fn cases_needing_a_feature_the_profile_lacks_are_skipped() {
    let scenarios = scenarios_with_yahoo_features("[\"im-page\"]");
    let report = tempfile::tempdir().expect("report dir");
    let output = binary()
        .arg("run")
        .arg("--scenarios")
        .arg(scenarios.path())
        .arg("--report-dir")
        .arg(report.path())
        .arg("--embedded-net")
        .arg(format!("127.{}.0.0", test_net(59)))
        .arg("yahoo.")
        .output()
        .expect("runs");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.path().join("summary.json")).expect("summary"),
    )
    .expect("json");
    let mut skipped = 0;
    for case in summary["cases"].as_array().expect("cases") {
        let id = case["id"].as_str().expect("id");
        let verdict = case["verdict"].as_str().expect("verdict");
        let reason = case["reason"].as_str().expect("reason");
        let needs_more =
            id.contains(".presence.") || id.contains("session") || id.contains("cancel");
        if needs_more {
            assert_eq!(verdict, "skipped", "{id}: {reason}");
            assert!(
                reason.contains("Yahoo!")
                    && (reason.contains("im-session") || reason.contains("presence-pidf")),
                "{reason}"
            );
            skipped += 1;
        } else {
            assert_eq!(verdict, "pass", "{id}: {reason}");
        }
    }
    assert!(skipped >= 9, "only {skipped} yahoo cases were skipped");
}

#[test]
fn an_unknown_feature_in_a_profile_names_file_line_and_field() {
    let scenarios = scenarios_with_yahoo_features("[\"im-page\", \"telepathy\"]");
    let output = binary()
        .arg("list")
        .arg("--scenarios")
        .arg(scenarios.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    let profile = scenarios.path().join("profiles/yahoo.toml");
    let line = std::fs::read_to_string(&profile)
        .expect("read")
        .lines()
        .position(|l| l.starts_with("features"))
        .expect("line")
        + 1;
    assert!(
        stderr.contains(&format!("{}:{line}: field `features`", profile.display())),
        "{stderr}"
    );
    assert!(stderr.contains("telepathy"), "{stderr}");
}
