//! `picharness load --mix presence=1` against the embedded reference Edge:
//! every subscription asked for is held, each SUBSCRIBE gets its NOTIFY,
//! every one is torn down, the numbers add up, and `load.html` shows the
//! run; and the flags presence cannot run with are refused. Net 127.105.

use serde_json::Value;

use crate::support::binary;

fn u(v: &Value) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a count: {v}"))
}

#[test]
fn a_short_presence_run_holds_every_subscription_and_tears_it_down() {
    let dir = tempfile::tempdir().expect("tempdir");
    let output = binary()
        .arg("load")
        .args(["--embedded-net", "127.105.0.0", "--quiet", "--report-dir"])
        .arg(dir.path())
        .args([
            "--mix",
            "presence=1",
            "--subscriptions",
            "60",
            "--refresh",
            "1",
            "--rate",
            "200",
            "--duration",
            "2",
        ])
        .output()
        .expect("run picharness load");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "stderr:\n{stderr}");
    let text = std::fs::read_to_string(dir.path().join("load.json")).expect("load.json");
    let record: Value = serde_json::from_str(&text).expect("load.json parses");
    let p = &record["presence"];
    let requested = u(&p["requested"]);
    assert_eq!(requested, 60);
    for field in [
        "started",
        "established",
        "held_peak",
        "held_at_teardown",
        "torn_down",
    ] {
        assert_eq!(u(&p[field]), requested, "{field}: {p}");
    }
    assert_eq!(u(&p["failed"]), 0, "{p}");
    assert_eq!(u(&p["unexpected"]), 0, "{p}");
    // One NOTIFY per SUBSCRIBE answered: the initial one, each refresh,
    // the unsubscribe; each reached its watcher.
    let refreshed = u(&p["refreshed"]);
    let notifies = u(&p["notifies_sent"]);
    assert_eq!(notifies, 2 * requested + refreshed, "{p}");
    assert_eq!(u(&p["notifies_received"]), notifies, "{p}");
    // Every presence request is one transaction, and all succeeded.
    let totals = &record["totals"];
    let attempts = u(&totals["attempts"]);
    assert_eq!(attempts, 2 * requested + refreshed + notifies, "{totals}");
    assert_eq!(u(&totals["successes"]), attempts, "{totals}");
    assert_eq!(u(&totals["failures"]["total"]), 0, "{totals}");
    let latency = &p["latency"];
    assert_eq!(u(&latency["presence-subscribe"]["count"]), requested);
    assert_eq!(u(&latency["presence-unsubscribe"]["count"]), requested);
    assert_eq!(u(&latency["presence-notify"]["count"]), notifies);
    assert_eq!(
        u(&totals["latency"]["presence"]["count"]),
        attempts,
        "{totals}"
    );
    let l = &latency["presence-notify"];
    assert!(u(&l["p50_us"]) <= u(&l["p99_us"]) && u(&l["p99_us"]) <= u(&l["max_us"]));
    // The memory of the held subscriptions was measured.
    let memory = &p["memory"];
    assert_eq!(u(&memory["measured_with"]), requested, "{memory}");
    assert!(u(&memory["table_bytes_per_subscription"]) > 0, "{memory}");
    assert!(memory["resident_before_bytes"].is_u64(), "{memory}");
    // The page beside it.
    let html = std::fs::read_to_string(dir.path().join("load.html")).expect("load.html");
    for needle in [
        "id=\"plot-rate\"",
        "id=\"plot-latency\"",
        "id=\"plot-connections\"",
        "id=\"presence\"",
        "presence-notify",
    ] {
        assert!(html.contains(needle), "load.html lacks {needle}");
    }
    assert!(!html.contains("http://") && !html.contains("https://"));
}

#[test]
fn presence_refuses_what_it_cannot_run_with() {
    for (args, phrase) in [
        (vec!["--users", "5"], "cannot run with --users"),
        (vec!["--find-max"], "cannot run with --find-max"),
        (
            vec!["--rate", "10", "--subscriptions", "0"],
            "--subscriptions",
        ),
        (vec!["--rate", "10", "--refresh", "0"], "--refresh"),
    ] {
        let output = binary()
            .arg("load")
            .args(["--mix", "presence=1"])
            .args(&args)
            .output()
            .expect("run picharness load");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(phrase), "{args:?}: {stderr}");
        assert!(stderr.contains("nothing was sent"), "{args:?}: {stderr}");
    }
}
