//! Builds `load.json`'s record from the engine's result, and the closing
//! summary printed after the run.

use std::path::Path;
use std::time::SystemTime;

use picharness_reports::ToolInfo;
use picharness_reports::load::{
    LOAD_SCHEMA, LoadCpu, LoadRecord, LoadSettings, LoadTotals, MixWeight,
};

use super::LoadOptions;
use super::engine::{Drive, EngineResult, EngineSettings};

fn rfc3339(at: SystemTime) -> String {
    time::OffsetDateTime::from(at)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The record of a finished run.
pub fn load_record(
    options: &LoadOptions,
    settings: &EngineSettings,
    result: &EngineResult,
    started_at: SystemTime,
    sut_kind: &str,
    sut_address: &str,
) -> LoadRecord {
    let figures = &result.figures;
    let embedded = sut_kind == "embedded-reference";
    let process_us = result
        .cpu_end
        .process_us
        .saturating_sub(result.cpu_start.process_us);
    let world_us = result
        .cpu_end
        .world_us
        .saturating_sub(result.cpu_start.world_us);
    let harness_us = process_us.saturating_sub(world_us);
    let per_tx = |us: u64| {
        if figures.attempts == 0 {
            0.0
        } else {
            us as f64 / figures.attempts as f64
        }
    };
    // Sending: from the first attempt to the end of sending; traffic: to
    // the last outcome, never shorter than sending, so achieved <= offered.
    let first_s = figures.first_ms.map_or(0.0, |f| f64::from(f) / 1000.0);
    let sending_s = (result.sending_s - first_s).max(0.001);
    let duration_s = (f64::from(figures.last_ms) / 1000.0 - first_s).max(sending_s);
    let mut rows = result.rows.clone();
    if !embedded {
        for row in &mut rows {
            row.edge_cpu_us = None;
        }
    }
    LoadRecord {
        schema: LOAD_SCHEMA.to_owned(),
        tool: ToolInfo {
            name: "picharness".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        started_at: rfc3339(started_at),
        sut_kind: sut_kind.to_owned(),
        sut_address: sut_address.to_owned(),
        settings: LoadSettings {
            mix: settings
                .mix
                .iter()
                .map(|m| MixWeight {
                    scenario: m.scenario.name().to_owned(),
                    weight: m.weight,
                })
                .collect(),
            rate: match settings.drive {
                Drive::Rate { rate, .. } => Some(rate),
                Drive::FindMax(fm) => Some(fm.start),
                Drive::Users(_) => None,
            },
            users: match settings.drive {
                Drive::Users(users) => Some(users),
                _ => None,
            },
            ramp_s: options.ramp_s,
            duration_s: options.duration_s,
            connections: settings.connections,
            user_population: settings.users,
            timeout_ms: options.timeout_ms,
            pcap_seconds: options.pcap_seconds,
        },
        seconds: rows,
        totals: LoadTotals {
            duration_s,
            offered_rate: figures.attempts as f64 / sending_s,
            achieved_rate: figures.successes as f64 / duration_s,
            attempts: figures.attempts,
            successes: figures.successes,
            failures: figures.failures.clone(),
            latency: figures.latency.clone(),
            max_open_connections: result.max_open_connections,
            cpu: LoadCpu {
                process_us,
                harness_us,
                edge_us: embedded.then_some(world_us),
                harness_us_per_transaction: per_tx(harness_us),
                edge_us_per_transaction: embedded.then(|| per_tx(world_us)),
            },
        },
        find_max: result.find_max.clone(),
        presence: result.presence.clone(),
        stopped: result.stopped.clone(),
        notes: result.notes.clone(),
    }
}

/// What is printed when the run is over.
pub fn closing_summary(record: &LoadRecord, path: &Path) -> String {
    let t = &record.totals;
    let mut text = format!(
        "picharness load: {} ({:.1} s): {} attempts, {} successes, {} failures (status {}, timeout {}, connection {}, abandoned {}); \
         offered {:.0}/s, achieved {:.0}/s; harness CPU {:.1} µs per transaction",
        record.stopped,
        t.duration_s,
        t.attempts,
        t.successes,
        t.failures.total,
        t.failures.status.values().sum::<u64>(),
        t.failures.timeout,
        t.failures.connection,
        t.failures.abandoned,
        t.offered_rate,
        t.achieved_rate,
        t.cpu.harness_us_per_transaction,
    );
    if let Some(edge) = t.cpu.edge_us_per_transaction {
        text.push_str(&format!(" (reference Edge {edge:.1} µs)"));
    }
    for (kind, l) in &t.latency {
        text.push_str(&format!(
            "\n  {kind}: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
            l.p50_us as f64 / 1000.0,
            l.p90_us as f64 / 1000.0,
            l.p99_us as f64 / 1000.0,
            l.max_us as f64 / 1000.0
        ));
    }
    if let Some(fm) = &record.find_max {
        text.push_str(&format!(
            "\n  find-max: {:.0} transactions/s ({} steps)",
            fm.max_rate,
            fm.steps.len()
        ));
    }
    for note in &record.notes {
        text.push_str(&format!("\n  note: {note}"));
    }
    text.push_str(&format!("\n  results: {}", path.display()));
    text
}
