//! A case's evidence: gathered from the capture points when the case ends,
//! then written to `cases/<id>/` as pcapng, transcript (text and
//! `messages.json`) and certificates.

use std::path::Path;
use std::time::SystemTime;

use std::borrow::Cow;

use picharness_reports::bounds::{Limits, bounded_entries, bounded_entries_within, cost};
use picharness_reports::budget::{CaseBudget, MAX_TRACE_BYTES};
use picharness_reports::keylog::key_log_for;
use picharness_reports::messages::write_messages;
use picharness_reports::pcapng::pcapng_bytes;
use picharness_reports::pcapng::write_pcapng;
use picharness_reports::transcript::write_transcript;
use picharness_reports::{CaseEvidence, Datagram, EvidenceFiles, TranscriptEntry};
use picharness_simulators::tls::capture_cap::{
    MAX_CASE_BYTES, MAX_CONNECTION_BYTES, MIN_CONNECTION_BYTES, NotKept, kept_bytes, stream_cost,
    truncate_stream,
};
use picharness_simulators::tls::{ConnectionRecord, chain_to_pem, describe_certificate};
use rustls_pki_types::CertificateDer;

use super::capture_gaps::note_gaps;
use super::trace_budget::fit_trace;

/// Everything one case captured, ready to be written.
#[derive(Debug, Default)]
pub struct CaseArtifacts {
    pub evidence: CaseEvidence,
    /// Named certificate chains the SUT presented.
    pub certificates: Vec<(String, Vec<CertificateDer<'static>>)>,
    /// How long the case waited for others before it started (an exclusive
    /// case against a configured SUT); not part of its duration.
    pub waited: std::time::Duration,
    /// When the case began (connections opened before are shared).
    pub started: Option<SystemTime>,
}

impl CaseArtifacts {
    pub(crate) fn gather(
        connections: Vec<ConnectionRecord>,
        datagrams: Vec<Datagram>,
        key_log: Vec<u8>,
        transcript: Vec<TranscriptEntry>,
        mut certificates: Vec<(String, Vec<CertificateDer<'static>>)>,
    ) -> Self {
        let (streams, transcript, trace_notes) = capped_streams(&connections, transcript);
        // The secrets of this case's connections only, not the whole run's.
        let key_log = key_log_for(&key_log, &streams);
        // One file per name: the first chain recorded under a name wins.
        let mut seen = std::collections::HashSet::new();
        certificates.retain(|(name, _)| seen.insert(name.clone()));
        Self {
            evidence: CaseEvidence {
                streams,
                datagrams,
                key_log,
                transcript,
                trace_notes,
            },
            certificates,
            waited: std::time::Duration::ZERO,
            started: None,
        }
    }

    /// What these artifacts would keep under the per-case maxima alone: the
    /// allowance that cuts nothing (the trace as rendered, up to 1 MiB; the
    /// transcript as the default bounds keep it).
    pub fn need(&self) -> CaseBudget {
        let trace = pcapng_bytes(&self.evidence)
            .map_or(0, |b| b.len())
            .min(MAX_TRACE_BYTES);
        let kept = bounded_entries(&self.evidence.transcript);
        let case_bytes = kept.iter().map(|e| cost(&e.text)).sum::<usize>();
        CaseBudget {
            trace,
            transcript: Limits {
                case_bytes: case_bytes.min(Limits::DEFAULT.case_bytes),
                entries: kept.len().min(Limits::DEFAULT.entries),
                ..Limits::DEFAULT
            },
            certificates: 0,
        }
    }

    /// Notes the gaps the capture left in long connections where they touch
    /// this case, then cuts the artifacts to an attempt's share of the run's
    /// report budget: the trace first (its notes join the transcript), then
    /// the transcript.
    /// Certificates are fitted as they are written.
    pub fn fit(&mut self, budget: &CaseBudget) {
        let started = self
            .started
            .or_else(|| self.evidence.streams.iter().map(|s| s.opened_at).min())
            .unwrap_or_else(SystemTime::now);
        note_gaps(&mut self.evidence, started);
        fit_trace(&mut self.evidence, started, budget.trace);
        if let Cow::Owned(kept) =
            bounded_entries_within(&self.evidence.transcript, budget.transcript)
        {
            self.evidence.transcript = kept;
        }
    }
}

/// Writes the artifacts into `case_dir` (created if needed) and returns the
/// written files' paths relative to `report_dir`, with the first error met.
/// Each file is attempted even when an earlier one failed, so one broken
/// writer never costs the others' evidence.
pub fn write_case_evidence(
    report_dir: &Path,
    case_dir: &Path,
    artifacts: &CaseArtifacts,
    certificate_bytes: usize,
) -> (EvidenceFiles, Option<String>) {
    if let Err(e) = std::fs::create_dir_all(case_dir) {
        return (
            EvidenceFiles::default(),
            Some(format!("cannot create {}: {e}", case_dir.display())),
        );
    }
    let relative = |name: &str| {
        case_dir.join(name).strip_prefix(report_dir).map_or_else(
            |_| case_dir.join(name).display().to_string(),
            |p| p.display().to_string(),
        )
    };
    let mut files = EvidenceFiles::default();
    let mut first_error = None;
    match write_pcapng(&case_dir.join("trace.pcapng"), &artifacts.evidence) {
        Ok(()) => files.trace = Some(relative("trace.pcapng")),
        Err(e) => first_error = first_error.or(Some(format!("trace.pcapng: {e}"))),
    }
    match write_transcript(
        &case_dir.join("transcript.txt"),
        &artifacts.evidence.transcript,
    ) {
        Ok(()) => files.transcript = Some(relative("transcript.txt")),
        Err(e) => first_error = first_error.or(Some(format!("transcript.txt: {e}"))),
    }
    match write_messages(
        &case_dir.join("messages.json"),
        &artifacts.evidence.transcript,
    ) {
        Ok(()) => files.messages = Some(relative("messages.json")),
        Err(e) => first_error = first_error.or(Some(format!("messages.json: {e}"))),
    }
    let mut certificate_room = certificate_bytes;
    for (name, chain) in &artifacts.certificates {
        let pem_name = format!("{name}.pem");
        let pem = chain_to_pem(chain);
        let mut dump = String::new();
        for (index, der) in chain.iter().enumerate() {
            dump.push_str(&format!("# certificate {index}\n"));
            match describe_certificate(der) {
                Ok(summary) => dump.push_str(&summary.to_text()),
                Err(e) => dump.push_str(&format!("unparseable: {e}\n")),
            }
            dump.push('\n');
        }
        if pem.len() + dump.len() > certificate_room {
            // Over this case's share of the report budget: a line saying
            // so instead; the chain's bytes are in trace.pcapng.
            let note = format!(
                "certificate chain {name} ({} certificates, {} bytes of PEM) not kept: \
                 over this case's share of the report budget; its bytes are in trace.pcapng\n",
                chain.len(),
                pem.len()
            );
            certificate_room = certificate_room.saturating_sub(note.len());
            if let Err(e) = std::fs::write(case_dir.join(format!("{name}.txt")), note) {
                first_error = first_error.or(Some(format!("{name}.txt: {e}")));
            }
            continue;
        }
        certificate_room -= pem.len() + dump.len();
        let written = std::fs::write(case_dir.join(&pem_name), pem)
            .and_then(|()| std::fs::write(case_dir.join(format!("{name}.txt")), dump));
        match written {
            Ok(()) => files.certificates.push(relative(&pem_name)),
            Err(e) => first_error = first_error.or(Some(format!("{pem_name}: {e}"))),
        }
    }
    (files, first_error)
}

/// The case's connections as captured, each within its own cap and all
/// within [`MAX_CASE_BYTES`] (see `capture_cap`), and `transcript` with a
/// note for each connection whose capture was cut here, saying how much was
/// kept and how much was left out. (A gap the capture itself left between
/// a connection's head and tail is noted when the case's start is known:
/// see `trace_budget::note_gaps`.)
fn capped_streams(
    connections: &[ConnectionRecord],
    mut transcript: Vec<TranscriptEntry>,
) -> (
    Vec<picharness_reports::TcpStream>,
    Vec<TranscriptEntry>,
    Vec<String>,
) {
    let mut budget = MAX_CASE_BYTES;
    let mut trace_notes = Vec::new();
    let mut streams = Vec::with_capacity(connections.len());
    for record in connections {
        let mut stream = record.snapshot();
        let mut not_kept = NotKept::default();
        let mut cap = MAX_CONNECTION_BYTES;
        if stream_cost(&stream) > budget {
            cap = budget.max(MIN_CONNECTION_BYTES);
            not_kept.add(truncate_stream(&mut stream, cap));
        }
        budget = budget.saturating_sub(stream_cost(&stream));
        if not_kept.any() {
            let note = truncation_note(&stream, not_kept, cap);
            if trace_notes.len() < MAX_CAPTURE_NOTES {
                trace_notes.push(note.text.clone());
            }
            let at = transcript.partition_point(|e| e.at <= note.at);
            transcript.insert(at, note);
        }
        streams.push(stream);
    }
    (streams, transcript, trace_notes)
}

/// The most capture notes copied into a trace's comments (each is also in
/// the transcript).
const MAX_CAPTURE_NOTES: usize = 4;

fn truncation_note(
    stream: &picharness_reports::TcpStream,
    not_kept: NotKept,
    cap: usize,
) -> TranscriptEntry {
    let at = stream.segments.last().map_or(stream.opened_at, |s| s.at);
    TranscriptEntry {
        at,
        actor: "capture".to_owned(),
        kind: "note".to_owned(),
        local: Some(stream.client),
        remote: Some(stream.server),
        text: format!(
            "capture of {} -> {} truncated after {} bytes; {} more bytes ({} reads or writes) not kept \
             (a connection keeps at most {} KiB of trace, a case {} KiB)",
            stream.client,
            stream.server,
            kept_bytes(stream),
            not_kept.bytes,
            not_kept.segments,
            cap / 1024,
            MAX_CASE_BYTES / 1024,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use picharness_simulators::tls::capture_cap::{SEGMENT_COST, kept_bytes};
    use picharness_simulators::tls::{RecordingStream, TcpRole};
    use tokio::io::AsyncWriteExt;

    /// A connection whose client wrote `len` bytes in 1000-byte writes.
    async fn connection(port: u16, len: usize) -> ConnectionRecord {
        let record = ConnectionRecord::new(
            format!("127.0.0.1:{port}").parse().unwrap(),
            "127.0.0.2:5061".parse().unwrap(),
        );
        let (near, mut far) = tokio::io::duplex(1 << 20);
        let drain = tokio::spawn(async move {
            let mut sink = tokio::io::sink();
            tokio::io::copy(&mut far, &mut sink).await
        });
        let mut stream = RecordingStream::new(near, record.clone(), TcpRole::Client);
        for chunk in vec![b'x'; len].chunks(1000) {
            stream.write_all(chunk).await.unwrap();
        }
        stream.shutdown().await.unwrap();
        drop(stream);
        drain.await.unwrap().unwrap();
        record
    }

    // Each connection now keeps its head and latest bytes with a gap between
    // (no longer a prefix with a "truncated" note); the case's cap still
    // cuts the third to a prefix, with a note.
    #[tokio::test]
    async fn a_case_keeps_at_most_its_budget_and_notes_what_it_left_out() {
        // Three connections at their own cap: the third no longer fits the case.
        let mut records = Vec::new();
        for port in 40000..40003 {
            records.push(connection(port, 2 * MAX_CONNECTION_BYTES).await);
        }
        let artifacts =
            CaseArtifacts::gather(records, Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let streams = &artifacts.evidence.streams;
        let total: usize = streams.iter().map(stream_cost).sum();
        assert!(total <= MAX_CASE_BYTES + MIN_CONNECTION_BYTES, "{total}");
        assert!(stream_cost(&streams[0]) > MAX_CONNECTION_BYTES - 1000 - SEGMENT_COST);
        assert!(stream_cost(&streams[2]) >= MIN_CONNECTION_BYTES - 1000 - SEGMENT_COST);
        for stream in &streams[..2] {
            let gap = stream.omitted.expect("a gap between head and tail");
            assert_eq!(
                gap.bytes() + kept_bytes(stream),
                2 * MAX_CONNECTION_BYTES as u64
            );
        }
        assert!(streams[2].omitted.is_none(), "cut to a prefix");
        let notes: Vec<&str> = artifacts
            .evidence
            .transcript
            .iter()
            .map(|e| e.text.as_str())
            .collect();
        assert_eq!(notes.len(), 1, "{notes:#?}");
        let kept = kept_bytes(&streams[2]);
        let left = 2 * MAX_CONNECTION_BYTES as u64 - kept;
        assert!(
            notes[0].contains(&format!("truncated after {kept} bytes; {left} more bytes")),
            "{}",
            notes[0]
        );
    }

    /// The Edge's connection to the pool outlives many cases: after far more
    /// than a connection keeps has crossed it, a case's part (which crossed
    /// it last) is still in the case's trace, even cut to a small share,
    /// with the bytes before it counted as a gap.
    #[tokio::test]
    async fn a_case_keeps_its_part_of_a_long_shared_connection() {
        let record = ConnectionRecord::new(
            "127.0.0.1:40000".parse().unwrap(),
            "127.0.0.2:5061".parse().unwrap(),
        );
        let (near, mut far) = tokio::io::duplex(1 << 20);
        let drain = tokio::spawn(async move {
            let mut sink = tokio::io::sink();
            tokio::io::copy(&mut far, &mut sink).await
        });
        let mut stream = RecordingStream::new(near, record.clone(), TcpRole::Client);
        // Earlier cases: 2 MiB in 2.3 kB messages.
        for _ in 0..(2 << 20) / 2300 {
            stream.write_all(&[b'o'; 2300]).await.unwrap();
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        let started = SystemTime::now();
        for _ in 0..3 {
            stream.write_all(&[b'c'; 2300]).await.unwrap();
        }
        let mut artifacts =
            CaseArtifacts::gather(vec![record], Vec::new(), Vec::new(), Vec::new(), Vec::new());
        artifacts.started = Some(started);
        let budget = CaseBudget {
            trace: 40_000,
            transcript: Limits::DEFAULT,
            certificates: 0,
        };
        artifacts.fit(&budget);
        let kept = &artifacts.evidence.streams[0];
        let case_part: usize = kept
            .segments
            .iter()
            .filter(|s| s.bytes.iter().all(|b| *b == b'c'))
            .map(|s| s.bytes.len())
            .sum();
        assert_eq!(case_part, 3 * 2300, "the case's part is whole");
        let gap = kept.omitted.expect("a gap");
        assert_eq!(
            gap.bytes() + kept_bytes(kept),
            ((2 << 20) / 2300 * 2300 + 3 * 2300) as u64
        );
        assert!(
            !artifacts
                .evidence
                .transcript
                .iter()
                .any(|e| e.text.contains("not in the trace")),
            "no note of a lost part"
        );
        drop(stream);
        drain.await.unwrap().unwrap();
    }

    #[tokio::test]
    async fn a_small_case_is_kept_whole_without_a_note() {
        let records = vec![connection(40000, 5000).await];
        let artifacts =
            CaseArtifacts::gather(records, Vec::new(), Vec::new(), Vec::new(), Vec::new());
        assert_eq!(kept_bytes(&artifacts.evidence.streams[0]), 5000);
        assert!(artifacts.evidence.transcript.is_empty());
    }
}
