//! Serde types of `load.json`. Every rate is transactions per second,
//! every latency microseconds, every CPU time microseconds. A transaction
//! is one request and its final response (a page-mode MESSAGE and its
//! 200, a SUBSCRIBE and its 200, ...); its kind is the scenario that
//! made it (`message-in`, `message-out`, ...).
//!
//! Accounting, so that the numbers add up: a transaction is an *attempt*
//! in the second it was sent (or, when no connection could carry it, in
//! the second it was due); it is a *success* (a 2xx) or a *failure* in the
//! second its outcome was known. At the end of a run every attempt has an
//! outcome, so in the totals `successes + failures.total == attempts`.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The version of this format; a reader refuses any other.
pub const LOAD_SCHEMA: &str = "picharness-load/1";

/// The whole record of one load run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadRecord {
    /// [`LOAD_SCHEMA`].
    pub schema: String,
    pub tool: crate::ToolInfo,
    /// When the traffic started (RFC 3339, UTC).
    pub started_at: String,
    /// `embedded-reference` or `staging-sandwich`.
    pub sut_kind: String,
    /// Where the Edge's external listener was.
    pub sut_address: String,
    pub settings: LoadSettings,
    /// One row per second of traffic, in order.
    pub seconds: Vec<SecondRow>,
    pub totals: LoadTotals,
    /// Set when the run was `--find-max`.
    pub find_max: Option<FindMaxSummary>,
    /// Why the run ended: `duration reached`, `interrupted (Ctrl-C)`,
    /// `find-max done`, ...
    pub stopped: String,
    /// Set when the mix had presence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence: Option<super::presence::PresenceSummary>,
    /// Things a reader must know (a capped rate, a generator that could not
    /// keep up, connections that failed to open).
    pub notes: Vec<String>,
}

/// What the run was asked to do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSettings {
    /// The scenarios and their weights.
    pub mix: Vec<MixWeight>,
    /// The target rate (absent with `users`).
    pub rate: Option<f64>,
    /// Concurrent users, each with one transaction outstanding (absent with `rate`).
    pub users: Option<u32>,
    pub ramp_s: f64,
    pub duration_s: f64,
    /// MTLS connections each provider peer keeps to the Edge, and the pool too.
    pub connections: u32,
    /// Distinct Lync users and distinct users per provider addressed.
    pub user_population: u32,
    /// How long a transaction may wait for its final response.
    pub timeout_ms: u64,
    /// Seconds of traffic captured to `load.pcapng` (0: none).
    pub pcap_seconds: u32,
}

/// One scenario of the mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MixWeight {
    pub scenario: String,
    pub weight: u32,
}

/// Failures by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FailureCounts {
    /// Every failure (the sum of the others).
    pub total: u64,
    /// Final responses other than 2xx, by status code.
    pub status: BTreeMap<u16, u64>,
    /// No final response within the timeout.
    pub timeout: u64,
    /// The connection could not be opened, or closed with the transaction
    /// outstanding.
    pub connection: u64,
    /// Still unanswered when the run was stopped a second time (Ctrl-C
    /// twice), before the timeout had passed.
    pub abandoned: u64,
}

impl FailureCounts {
    /// Adds `other` to these counts.
    pub fn add(&mut self, other: &Self) {
        self.total += other.total;
        for (code, n) in &other.status {
            *self.status.entry(*code).or_default() += n;
        }
        self.timeout += other.timeout;
        self.connection += other.connection;
        self.abandoned += other.abandoned;
    }
}

/// Latency of the transactions that got a final response (successes and
/// status failures), in microseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// One second of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecondRow {
    /// Seconds since the traffic started (this row covers `[t, t+1)`).
    pub t: u32,
    /// The rate the generator was asked to offer at the end of the second
    /// (with `--users`: the attempts of the second).
    pub offered: f64,
    pub attempts: u64,
    pub successes: u64,
    pub failures: FailureCounts,
    /// Latency by transaction kind.
    pub latency: BTreeMap<String, LatencySummary>,
    /// MTLS connections open at the end of the second (the harness's own:
    /// to the Edge and accepted from it).
    pub open_connections: u64,
    /// CPU time the harness used in this second (the embedded reference
    /// Edge's threads not counted).
    pub harness_cpu_us: u64,
    /// CPU time of the embedded reference Edge's threads (absent against a
    /// staging Edge).
    pub edge_cpu_us: Option<u64>,
}

/// CPU use over the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadCpu {
    /// The whole process (getrusage user + system).
    pub process_us: u64,
    /// The harness: the process without the embedded Edge's threads.
    pub harness_us: u64,
    /// The embedded reference Edge's threads (with its DNS server); absent
    /// against a staging Edge.
    pub edge_us: Option<u64>,
    /// `harness_us` per transaction attempted (peers and pool together).
    pub harness_us_per_transaction: f64,
    /// `edge_us` per transaction attempted.
    pub edge_us_per_transaction: Option<f64>,
}

/// The whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadTotals {
    /// Seconds of traffic (first send to last outcome).
    pub duration_s: f64,
    /// Attempts per second of sending.
    pub offered_rate: f64,
    /// Successes per second of traffic.
    pub achieved_rate: f64,
    pub attempts: u64,
    pub successes: u64,
    pub failures: FailureCounts,
    pub latency: BTreeMap<String, LatencySummary>,
    pub max_open_connections: u64,
    pub cpu: LoadCpu,
}

/// A `--find-max` search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindMaxSummary {
    /// The pass criterion of a step, in words.
    pub criterion: String,
    /// Each step, in the order run.
    pub steps: Vec<FindMaxStep>,
    /// The highest offered rate that passed (0 when none did).
    pub max_rate: f64,
}

/// One step of a `--find-max` search.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FindMaxStep {
    pub offered: f64,
    pub attempts: u64,
    pub successes: u64,
    pub failures: u64,
    /// Successes per second, from the step's start to its last outcome.
    pub achieved: f64,
    pub passed: bool,
}

/// Writes `record` as pretty JSON to `path`.
pub fn write_load_json(path: &Path, record: &LoadRecord) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    serde_json::to_writer_pretty(&mut out, record)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Reads a `load.json`; refuses another schema version.
pub fn read_load_json(path: &Path) -> Result<LoadRecord, String> {
    let file = File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let record: LoadRecord = serde_json::from_reader(BufReader::new(file))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if record.schema != LOAD_SCHEMA {
        return Err(format!(
            "{}: schema {} is not {LOAD_SCHEMA}",
            path.display(),
            record.schema
        ));
    }
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_counts_add_up() {
        let mut a = FailureCounts {
            total: 2,
            status: BTreeMap::from([(503, 2)]),
            ..FailureCounts::default()
        };
        a.add(&FailureCounts {
            total: 3,
            status: BTreeMap::from([(503, 1), (404, 1)]),
            timeout: 1,
            ..FailureCounts::default()
        });
        assert_eq!(a.total, 5);
        assert_eq!(a.status, BTreeMap::from([(404, 1), (503, 3)]));
        assert_eq!(a.timeout, 1);
    }
}
