//! The run's own DNS trace: every DNS message the in-process server saw
//! during the run (UDP datagrams and TCP streams), including those no case
//! caused (the Edge's own lookups between cases), written as
//! `dns.pcapng` beside `summary.json`.

use std::path::Path;

use picharness_reports::CaseEvidence;
use picharness_reports::pcapng::write_pcapng;
use picharness_simulators::dns::DnsQueryLog;

/// Writes everything in `log` to `path` as pcapng, within `max_bytes`
/// (the first messages; a comment in the file says what was left out).
pub fn write_dns_trace(path: &Path, log: &DnsQueryLog, max_bytes: u64) -> Result<(), String> {
    let mut evidence = CaseEvidence {
        streams: log.tcp_streams(),
        datagrams: log.snapshot(),
        key_log: Vec::new(),
        transcript: Vec::new(),
        trace_notes: Vec::new(),
    };
    if log.not_kept() > 0 {
        evidence.trace_notes.push(format!(
            "{} later DNS datagrams or TCP connections not kept: the run's DNS log keeps at most {} bytes of \
             datagrams and {} TCP connections in memory",
            log.not_kept(),
            picharness_simulators::dns::MAX_LOG_BYTES,
            picharness_simulators::dns::MAX_TCP_CONNECTIONS
        ));
    }
    let max = usize::try_from(max_bytes).unwrap_or(usize::MAX);
    let started = evidence
        .datagrams
        .iter()
        .map(|d| d.at)
        .chain(evidence.streams.iter().map(|s| s.opened_at))
        .min()
        .unwrap_or_else(std::time::SystemTime::now);
    crate::case::fit_trace(&mut evidence, started, max);
    write_pcapng(path, &evidence).map_err(|e| e.to_string())
}
