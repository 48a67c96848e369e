//! The reference Edge is a transaction-stateful proxy: cases of this
//! test's own (tests/e2e/proxy_cases/, not in the catalogue, as no fault
//! switch stands against them) run against it with Timer C scaled down
//! to one second. Each case fails when its behaviour is missing: no 408
//! when Timer C fires, an ACK for a non-2xx final response or a
//! retransmitted request reaching the pool (the pool then sees it before
//! the MESSAGE that follows), a 2xx lost after a CANCEL.

use std::path::PathBuf;

use crate::support::{binary, copy_dir, scenarios_dir, test_net};

const CASES: [&str; 5] = [
    "edge.proxy.ack-for-4xx",
    "edge.proxy.cancel-races-200",
    "edge.proxy.message-retransmission",
    "edge.proxy.retransmission",
    "edge.proxy.timer-c",
];

#[test]
fn the_reference_edge_absorbs_retransmissions_and_hop_acks_and_times_out_with_408() {
    let scenarios = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &scenarios_dir().join("profiles"),
        &scenarios.path().join("profiles"),
    );
    copy_dir(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/proxy_cases"),
        &scenarios.path().join("cases/edge"),
    );
    let report = tempfile::tempdir().expect("report dir");
    let output = binary()
        .arg("run")
        .arg("--scenarios")
        .arg(scenarios.path())
        .arg("--report-dir")
        .arg(report.path())
        .arg("--embedded-net")
        .arg(format!("127.{}.0.0", test_net(231)))
        .args(["--sut-timer-c-ms", "1000"])
        .output()
        .expect("runs");
    let summary: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report.path().join("summary.json")).unwrap_or_else(|e| {
            panic!(
                "no summary.json ({e}): {}",
                String::from_utf8_lossy(&output.stderr)
            )
        }),
    )
    .expect("json");
    let cases = summary["cases"].as_array().expect("cases");
    let mut ids: Vec<&str> = cases.iter().filter_map(|c| c["id"].as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, CASES);
    for case in cases {
        assert_eq!(
            case["verdict"], "pass",
            "{}: {}",
            case["id"], case["reason"]
        );
    }
    assert_eq!(output.status.code(), Some(0));
}
