//! Running the binary and reading what it wrote.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

pub(crate) fn binary() -> Command {
    Command::new(env!("CARGO_BIN_EXE_picharness"))
}

/// Copies a directory tree (scenario folders, for tests that alter one).
pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy");
        }
    }
}

pub(crate) fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

/// A finished run: its exit code, output and summary.
pub(crate) struct RunResult {
    pub(crate) output: Output,
    pub(crate) report: tempfile::TempDir,
    pub(crate) summary: Value,
}

impl RunResult {
    pub(crate) fn code(&self) -> Option<i32> {
        self.output.status.code()
    }

    pub(crate) fn stdout(&self) -> String {
        String::from_utf8_lossy(&self.output.stdout).into_owned()
    }

    pub(crate) fn stderr(&self) -> String {
        String::from_utf8_lossy(&self.output.stderr).into_owned()
    }

    /// Case id to (verdict, reason).
    pub(crate) fn verdicts(&self) -> BTreeMap<String, (String, String)> {
        self.summary["cases"]
            .as_array()
            .expect("cases array")
            .iter()
            .map(|c| {
                (
                    c["id"].as_str().expect("id").to_owned(),
                    (
                        c["verdict"].as_str().expect("verdict").to_owned(),
                        c["reason"].as_str().expect("reason").to_owned(),
                    ),
                )
            })
            .collect()
    }

    /// Case id to its findings as (kind, cited requirement, text).
    pub(crate) fn findings(&self) -> BTreeMap<String, Vec<(String, String, String)>> {
        self.summary["cases"]
            .as_array()
            .expect("cases array")
            .iter()
            .map(|c| {
                let findings = c["findings"]
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .map(|f| {
                                let field = |name: &str| f[name].as_str().unwrap_or("").to_owned();
                                (field("kind"), field("requirement"), field("text"))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (c["id"].as_str().expect("id").to_owned(), findings)
            })
            .collect()
    }

    pub(crate) fn report_path(&self) -> &Path {
        self.report.path()
    }
}

/// The second octet of a test's loopback /16: `net` shifted by
/// `PICHARNESS_E2E_NET_OFFSET`, so two checkouts can run their suites on one
/// machine at the same time.
pub(crate) fn test_net(net: u8) -> u8 {
    let offset: u8 = std::env::var("PICHARNESS_E2E_NET_OFFSET")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    net.saturating_add(offset)
}

/// Runs `picharness run` on its own loopback /16 (`net` = second octet) so
/// tests can run side by side.
pub(crate) fn run_suite(net: u8, extra: &[&str]) -> RunResult {
    let net = test_net(net);
    let report = tempfile::tempdir().expect("temp dir");
    let output = binary()
        .arg("run")
        .arg("--report-dir")
        .arg(report.path())
        .arg("--embedded-net")
        .arg(format!("127.{net}.0.0"))
        .args(extra)
        .output()
        .expect("picharness runs");
    let summary_text =
        std::fs::read_to_string(report.path().join("summary.json")).unwrap_or_else(|e| {
            panic!(
                "no summary.json ({e}); exit status {:?}; stdout:\n{}\nstderr:\n{}",
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            )
        });
    let summary = serde_json::from_str(&summary_text).expect("summary.json is JSON");
    RunResult {
        output,
        report,
        summary,
    }
}

/// Runs `picharness pki init --out DIR/pki` with `extra` arguments; the
/// staging tests point their configuration files at what it writes.
pub(crate) fn pki_init(dir: &Path, extra: &[&str]) {
    let output = binary()
        .args(["pki", "init", "--out"])
        .arg(dir.join("pki"))
        .args(extra)
        .output()
        .expect("pki init runs");
    assert!(
        output.status.success(),
        "pki init: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The id of every case a run includes by default: every case file's id
/// but the robustness family's (run only with `--include-robustness`).
pub(crate) fn all_case_ids() -> Vec<String> {
    listed_cases()
        .into_iter()
        .filter(|(_, robustness)| !robustness)
        .map(|(id, _)| id)
        .collect()
}

/// Every case file's id, the robustness family's too.
pub(crate) fn all_case_ids_with_robustness() -> Vec<String> {
    listed_cases().into_iter().map(|(id, _)| id).collect()
}

/// Every case file's id and whether it is tagged `robustness`.
fn listed_cases() -> Vec<(String, bool)> {
    let output = binary()
        .args(["list", "--format", "json"])
        .output()
        .expect("list runs");
    assert!(
        output.status.success(),
        "list failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let listed: Value = serde_json::from_slice(&output.stdout).expect("list JSON");
    listed
        .as_array()
        .expect("array")
        .iter()
        .map(|c| {
            let robustness = c["tags"]
                .as_array()
                .is_some_and(|tags| tags.iter().any(|t| t == "robustness"));
            (c["id"].as_str().expect("id").to_owned(), robustness)
        })
        .collect()
}
