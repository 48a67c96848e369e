//! Tests of `load.html`: a record with every field renders every section
//! and chart, text from the record is escaped, the page references nothing
//! outside itself, and a long run's page stays small.

use std::collections::BTreeMap;

use super::*;
use crate::ToolInfo;
use crate::load::presence::PresenceMemory;
use crate::load::results::{
    FindMaxStep, FindMaxSummary, LoadCpu, LoadSettings, LoadTotals, MixWeight,
};

fn latency(p50: u64, count: u64) -> LatencySummary {
    LatencySummary {
        count,
        p50_us: p50,
        p90_us: p50 * 2,
        p99_us: p50 * 4,
        max_us: p50 * 9,
    }
}

fn row(t: u32) -> SecondRow {
    SecondRow {
        t,
        offered: 100.0,
        attempts: 100,
        successes: 98,
        failures: FailureCounts {
            total: 2,
            status: BTreeMap::from([(503, 1)]),
            timeout: 1,
            ..FailureCounts::default()
        },
        latency: BTreeMap::from([
            ("message-in".to_owned(), latency(800 + u64::from(t % 7), 60)),
            ("presence".to_owned(), latency(1_500, 38)),
        ]),
        open_connections: 8 + u64::from(t % 3),
        harness_cpu_us: 9_000,
        edge_cpu_us: Some(20_000),
    }
}

/// A record with every field set, `seconds` rows long.
pub(super) fn fixture(seconds: u32) -> LoadRecord {
    LoadRecord {
        schema: crate::load::LOAD_SCHEMA.to_owned(),
        tool: ToolInfo {
            name: "picharness".to_owned(),
            version: "0.1.0".to_owned(),
        },
        started_at: "2026-12-03T17:00:00Z".to_owned(),
        sut_kind: "embedded-reference".to_owned(),
        sut_address: "127.105.0.2:5061".to_owned(),
        settings: LoadSettings {
            mix: vec![
                MixWeight {
                    scenario: "message-in".to_owned(),
                    weight: 3,
                },
                MixWeight {
                    scenario: "presence".to_owned(),
                    weight: 1,
                },
            ],
            rate: Some(100.0),
            users: None,
            ramp_s: 1.0,
            duration_s: f64::from(seconds),
            connections: 2,
            user_population: 1000,
            timeout_ms: 8000,
            pcap_seconds: 0,
        },
        seconds: (0..seconds).map(row).collect(),
        totals: LoadTotals {
            duration_s: f64::from(seconds),
            offered_rate: 100.0,
            achieved_rate: 98.0,
            attempts: 100 * u64::from(seconds),
            successes: 98 * u64::from(seconds),
            failures: FailureCounts {
                total: 2 * u64::from(seconds),
                status: BTreeMap::from([(503, u64::from(seconds))]),
                timeout: u64::from(seconds),
                ..FailureCounts::default()
            },
            latency: BTreeMap::from([
                ("message-in".to_owned(), latency(803, 60)),
                ("presence".to_owned(), latency(1_500, 38)),
            ]),
            max_open_connections: 10,
            cpu: LoadCpu {
                process_us: 2_900_000,
                harness_us: 900_000,
                edge_us: Some(2_000_000),
                harness_us_per_transaction: 45.5,
                edge_us_per_transaction: Some(101.25),
            },
        },
        find_max: Some(FindMaxSummary {
            criterion: "no failure and achieved >= 95% of offered over a 10 s step".to_owned(),
            steps: vec![
                FindMaxStep {
                    offered: 1000.0,
                    attempts: 10_000,
                    successes: 10_000,
                    failures: 0,
                    achieved: 999.0,
                    passed: true,
                },
                FindMaxStep {
                    offered: 2000.0,
                    attempts: 20_000,
                    successes: 19_000,
                    failures: 1_000,
                    achieved: 1_900.0,
                    passed: false,
                },
            ],
            max_rate: 1000.0,
        }),
        stopped: "duration reached".to_owned(),
        presence: Some(PresenceSummary {
            requested: 10_000,
            refresh_s: 60,
            expires_s: 120,
            started: 10_000,
            established: 10_000,
            held_peak: 10_000,
            held_at_teardown: 10_000,
            refreshed: 20_000,
            torn_down: 10_000,
            failed: 0,
            ended_early: 0,
            notifies_sent: 40_000,
            notifies_received: 40_000,
            notify_rate: 222.2,
            unexpected: 0,
            latency: BTreeMap::from([("presence-notify".to_owned(), latency(1_200, 40_000))]),
            memory: PresenceMemory {
                measured_with: 10_000,
                entry_bytes: 368,
                table_bytes_per_subscription: 849,
                resident_before_bytes: Some(40_000_000),
                resident_held_bytes: Some(52_000_000),
                resident_bytes_per_subscription: Some(1_200),
            },
        }),
        notes: vec!["a note with <script>alert(1)</script> & \"quotes\"".to_owned()],
    }
}

#[test]
fn every_section_and_chart_is_on_the_page() {
    let html = render_load_html(&fixture(30)).expect("renders");
    for needle in [
        "id=\"totals\"",
        "id=\"failures\"",
        "id=\"cpu\"",
        "id=\"settings\"",
        "id=\"latency\"",
        "id=\"find-max\"",
        "id=\"presence\"",
        "id=\"notes\"",
        "<svg class=\"plot\" id=\"plot-rate\"",
        "<svg class=\"plot\" id=\"plot-latency\"",
        "<svg class=\"plot\" id=\"plot-connections\"",
        "data-series=\"offered\"",
        "data-series=\"sent\"",
        "data-series=\"achieved\"",
        "data-series=\"message-in p50\"",
        "data-series=\"presence p99\"",
        "data-series=\"open\"",
        "data-seconds=\"30\" data-points=\"30\"",
        "98.0&#x2f;s achieved of 100.0&#x2f;s offered",
        "1000.0&#x2f;s",
        "503: 30",
        "presence-notify",
        "resident per idle subscription",
        "1200 B",
        "45.5 µs",
        "803 µs",
        "1.50 ms",
    ] {
        assert!(html.contains(needle), "missing {needle}");
    }
    assert!(!html.contains("id=\"downsampled\""));
}

#[test]
fn text_from_the_record_is_escaped() {
    let mut record = fixture(3);
    record
        .totals
        .latency
        .insert("<b>odd</b>".to_owned(), latency(5, 1));
    record.seconds[0]
        .latency
        .insert("<b>odd</b>".to_owned(), latency(5, 1));
    let html = render_load_html(&record).expect("renders");
    assert!(!html.contains("<script>alert"));
    // The template escapes `/` too.
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt; &amp; &quot;quotes&quot;"));
    assert!(!html.contains("<b>odd</b>"));
    assert!(html.contains("&lt;b&gt;odd&lt;&#x2f;b&gt;"));
    // The charts' own escaping (inside the SVG).
    assert!(html.contains("data-series=\"&lt;b&gt;odd&lt;/b&gt; p50\""));
}

#[test]
fn the_page_is_self_contained() {
    let html = render_load_html(&fixture(30)).expect("renders");
    for needle in [
        "http://", "https://", "src=", "href=", "<script", "@import", "url(",
    ] {
        assert!(!html.contains(needle), "the page has {needle}");
    }
}

#[test]
fn a_long_run_is_thinned_to_a_bounded_page() {
    let hour = render_load_html(&fixture(3_600)).expect("renders");
    assert!(hour.contains("data-points=\"3600\""));
    let day = render_load_html(&fixture(10_800)).expect("renders");
    assert!(day.contains("data-seconds=\"10800\" data-points=\"1800\""));
    assert!(day.contains("id=\"downsampled\""));
    assert!(day.contains("each point covers 6 seconds"));
    let longer = render_load_html(&fixture(40_000)).expect("renders");
    assert!(longer.contains("data-points=\"1740\""));
    // The page does not grow with the run beyond the thinning.
    assert!(
        longer.len() < day.len() + 1_000,
        "{} vs {}",
        longer.len(),
        day.len()
    );
    assert!(day.len() < 600_000, "{} bytes", day.len());
}

#[test]
fn thinning_keeps_spikes_and_averages_rates() {
    let mut rows: Vec<SecondRow> = (0..4).map(row).collect();
    rows[1].open_connections = 50;
    rows[2].successes = 0;
    if let Some(l) = rows[3].latency.get_mut("presence") {
        l.p99_us = 90_000;
    }
    let p = points(&rows, 4);
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].connections, 50.0);
    assert_eq!(p[0].achieved, 98.0 * 3.0 / 4.0);
    assert_eq!(p[0].latency.get("presence").map(|l| l.1), Some(90.0));
    assert_eq!(p[0].latency.get("presence").map(|l| l.0), Some(1.5));
}

#[test]
fn a_record_without_options_renders() {
    let mut record = fixture(0);
    record.find_max = None;
    record.presence = None;
    record.notes.clear();
    record.totals.latency.clear();
    record.totals.cpu.edge_us = None;
    record.totals.cpu.edge_us_per_transaction = None;
    let html = render_load_html(&record).expect("renders");
    assert!(!html.contains("id=\"find-max\""));
    assert!(!html.contains("id=\"presence\""));
    assert!(html.contains("No transaction got a final response."));
    assert!(html.contains("id=\"plot-rate\""));
}

#[test]
fn write_load_html_writes_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_load_html(dir.path(), &fixture(5)).expect("writes");
    let html = std::fs::read_to_string(dir.path().join("load.html")).expect("reads");
    assert!(html.starts_with("<!DOCTYPE html>"));
}
