//! The run's own DNS trace: every DNS message the in-process server saw
//! during the run (UDP datagrams and TCP streams), including those no case
//! caused (the Edge's own lookups between cases), written as
//! `dns.pcapng` beside `summary.json`.

use std::path::Path;

use picharness_reports::CaseEvidence;
use picharness_reports::pcapng::write_pcapng;
use picharness_simulators::dns::DnsQueryLog;

/// Writes everything in `log` to `path` as pcapng.
pub fn write_dns_trace(path: &Path, log: &DnsQueryLog) -> Result<(), String> {
    let evidence = CaseEvidence {
        streams: log.tcp_streams(),
        datagrams: log.snapshot(),
        key_log: Vec::new(),
        transcript: Vec::new(),
    };
    write_pcapng(path, &evidence).map_err(|e| e.to_string())
}
