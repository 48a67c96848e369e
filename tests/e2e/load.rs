//! `picharness load` against the embedded reference Edge: a short run
//! whose numbers add up, a short find-max, and the flags refused before
//! anything is sent, closed-loop users and Ctrl-C. Nets 127.100-127.104.

use serde_json::Value;

use crate::support::binary;

fn load(net: &str, args: &[&str]) -> (std::process::Output, Value, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = binary()
        .arg("load")
        .args(["--embedded-net", net, "--quiet", "--report-dir"])
        .arg(dir.path())
        .args(args)
        .output()
        .expect("run picharness load");
    let text = std::fs::read_to_string(dir.path().join("load.json")).unwrap_or_else(|e| {
        panic!(
            "load.json missing ({e}); stderr:\n{}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    let record: Value = serde_json::from_str(&text).expect("load.json parses");
    (output, record, dir)
}

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Percentiles in order and counts that add up, for a latency map.
fn check_latency(latency: &Value, what: &str) {
    for (kind, l) in latency.as_object().expect("latency map") {
        let (p50, p90, p99, max) = (
            u(&l["p50_us"]),
            u(&l["p90_us"]),
            u(&l["p99_us"]),
            u(&l["max_us"]),
        );
        assert!(
            p50 <= p90 && p90 <= p99 && p99 <= max,
            "{what} {kind}: percentiles out of order: {l}"
        );
    }
}

#[test]
fn a_short_load_run_adds_up() {
    let (output, record, dir) = load(
        "127.100.0.0",
        &[
            "--rate",
            "200",
            "--duration",
            "2",
            "--mix",
            "message-in=3,message-out=1",
            "--pcap-seconds",
            "1",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    assert_eq!(record["schema"], "picharness-load/1");
    assert_eq!(record["sut_kind"], "embedded-reference");
    let totals = &record["totals"];
    let attempts = u(&totals["attempts"]);
    let successes = u(&totals["successes"]);
    let failures = &totals["failures"];
    assert!(attempts > 0, "nothing was sent: {totals}");
    assert_eq!(successes + u(&failures["total"]), attempts, "{totals}");
    assert_eq!(
        u(&failures["total"]),
        0,
        "the good reference Edge failed: {totals}\n{stderr}"
    );
    let status_sum: u64 = failures["status"]
        .as_object()
        .expect("status map")
        .values()
        .map(u)
        .sum();
    assert_eq!(
        status_sum
            + u(&failures["timeout"])
            + u(&failures["connection"])
            + u(&failures["abandoned"]),
        u(&failures["total"])
    );
    assert!(
        f(&totals["achieved_rate"]) <= f(&totals["offered_rate"]),
        "{totals}"
    );
    check_latency(&totals["latency"], "totals");
    let latency = totals["latency"].as_object().expect("latency");
    assert!(
        latency.contains_key("message-in") && latency.contains_key("message-out"),
        "{totals}"
    );
    let cpu = &totals["cpu"];
    assert!(f(&cpu["harness_us_per_transaction"]) > 0.0, "{cpu}");
    assert!(
        cpu["edge_us"].is_u64(),
        "the embedded Edge's CPU is reported: {cpu}"
    );
    assert!(
        u(&totals["max_open_connections"]) >= 16,
        "3 providers and the pool, 4 each: {totals}"
    );
    // The rows add up to the totals.
    let rows = record["seconds"].as_array().expect("rows");
    assert!(!rows.is_empty());
    let sum = |field: &str| rows.iter().map(|r| u(&r[field])).sum::<u64>();
    assert_eq!(sum("attempts"), attempts);
    assert_eq!(sum("successes"), successes);
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(u(&row["t"]), i as u64);
        check_latency(&row["latency"], &format!("second {i}"));
    }
    assert_eq!(record["stopped"], "duration reached");
    // The first second's capture, with its keys.
    let pcap = std::fs::metadata(dir.path().join("load.pcapng")).expect("load.pcapng");
    assert!(pcap.len() > 1000, "{pcap:?}");
    assert_eq!(u(&record["settings"]["pcap_seconds"]), 1);
}

#[test]
fn find_max_ends_in_one_number() {
    let (output, record, _dir) = load(
        "127.101.0.0",
        &[
            "--find-max",
            "--rate",
            "100",
            "--max-rate",
            "200",
            "--step",
            "1",
            "--timeout",
            "1000",
            "--duration",
            "30",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    let search = &record["find_max"];
    let steps = search["steps"].as_array().expect("steps");
    // 100/s passes, 200/s (the cap) passes: the search ends at the cap.
    assert_eq!(steps.len(), 2, "{search}");
    assert_eq!(f(&search["max_rate"]), 200.0, "{search}");
    assert!(
        search["criterion"]
            .as_str()
            .is_some_and(|c| c.contains("0 failures"))
    );
    assert!(stderr.contains("find-max: 200 transactions/s"), "{stderr}");
}

#[test]
fn bad_flags_are_refused_before_anything_is_sent() {
    for (args, phrase) in [
        (
            vec!["--rate", "30000"],
            "raise it explicitly with --max-rate 30000",
        ),
        (
            vec!["--rate", "10", "--duration", "700"],
            "raise it explicitly with --max-duration 700",
        ),
        (vec!["--rate", "10", "--users", "5"], "not both"),
        (vec![], "give --rate N"),
        (vec!["--rate", "0"], "more than 0"),
        (
            vec!["--rate", "10", "--mix", "message-sideways"],
            "unknown scenario",
        ),
        (vec!["--rate", "10", "--connections", "0"], "--connections"),
        (
            vec!["--find-max", "--users", "5"],
            "cannot run with --users",
        ),
        (vec!["--rate", "10", "--ramp", "20"], "--ramp"),
        (vec!["--rate", "10", "--timeout", "5"], "--timeout"),
    ] {
        let output = binary()
            .arg("load")
            .args(&args)
            .output()
            .expect("run picharness load");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(phrase), "{args:?}: {stderr}");
        assert!(stderr.contains("nothing was sent"), "{args:?}: {stderr}");
    }
}

#[test]
fn users_keep_one_transaction_each_and_the_numbers_add_up() {
    let (output, record, _dir) = load(
        "127.103.0.0",
        &[
            "--users",
            "30",
            "--duration",
            "2",
            "--mix",
            "message-in,message-out",
        ],
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    let totals = &record["totals"];
    assert_eq!(record["settings"]["users"], 30);
    assert!(u(&totals["attempts"]) > 30, "{totals}");
    assert_eq!(
        u(&totals["successes"]) + u(&totals["failures"]["total"]),
        u(&totals["attempts"])
    );
    for row in record["seconds"].as_array().expect("rows") {
        // With users the offered figure is what was sent.
        assert_eq!(f(&row["offered"]), u(&row["attempts"]) as f64, "{row}");
    }
}

/// Ctrl-C (SIGINT) stops the run and still writes the results.
#[test]
fn an_interrupt_stops_cleanly_and_writes_the_results() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = binary()
        .arg("load")
        .args([
            "--embedded-net",
            "127.104.0.0",
            "--rate",
            "100",
            "--duration",
            "60",
        ])
        .arg("--report-dir")
        .arg(dir.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("picharness load starts");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = std::io::BufReader::new(stderr).lines();
    // The first progress line: the traffic runs and Ctrl-C is handled.
    let first = lines
        .by_ref()
        .map_while(Result::ok)
        .find(|l| l.starts_with("t=0s"));
    assert!(first.is_some(), "no progress line");
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let exit = child.wait().expect("exits");
    assert_eq!(exit.code(), Some(0), "{}", rest.join("\n"));
    let text = std::fs::read_to_string(dir.path().join("load.json")).expect("load.json written");
    let record: Value = serde_json::from_str(&text).expect("parses");
    assert_eq!(record["stopped"], "interrupted (Ctrl-C)");
    let totals = &record["totals"];
    assert!(u(&totals["attempts"]) > 0);
    assert_eq!(
        u(&totals["successes"]) + u(&totals["failures"]["total"]),
        u(&totals["attempts"])
    );
}
