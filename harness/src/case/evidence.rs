//! A case's evidence: gathered from the capture points when the case ends,
//! then written to `cases/<id>/` as pcapng, transcript (text and
//! `messages.json`) and certificates.

use std::path::Path;

use picharness_reports::messages::write_messages;
use picharness_reports::pcapng::write_pcapng;
use picharness_reports::transcript::write_transcript;
use picharness_reports::{CaseEvidence, Datagram, EvidenceFiles, TranscriptEntry};
use picharness_simulators::tls::{ConnectionRecord, chain_to_pem, describe_certificate};
use rustls_pki_types::CertificateDer;

/// Everything one case captured, ready to be written.
#[derive(Debug, Default)]
pub struct CaseArtifacts {
    pub evidence: CaseEvidence,
    /// Named certificate chains the SUT presented.
    pub certificates: Vec<(String, Vec<CertificateDer<'static>>)>,
    /// How long the case waited for others before it started (an exclusive
    /// case against a configured SUT); not part of its duration.
    pub waited: std::time::Duration,
}

impl CaseArtifacts {
    pub(crate) fn gather(
        connections: Vec<ConnectionRecord>,
        datagrams: Vec<Datagram>,
        key_log: Vec<u8>,
        transcript: Vec<TranscriptEntry>,
        mut certificates: Vec<(String, Vec<CertificateDer<'static>>)>,
    ) -> Self {
        // One file per name: the first chain recorded under a name wins.
        let mut seen = std::collections::HashSet::new();
        certificates.retain(|(name, _)| seen.insert(name.clone()));
        Self {
            evidence: CaseEvidence {
                streams: connections.iter().map(ConnectionRecord::snapshot).collect(),
                datagrams,
                key_log,
                transcript,
            },
            certificates,
            waited: std::time::Duration::ZERO,
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
    for (name, chain) in &artifacts.certificates {
        let pem_name = format!("{name}.pem");
        let mut dump = String::new();
        for (index, der) in chain.iter().enumerate() {
            dump.push_str(&format!("# certificate {index}\n"));
            match describe_certificate(der) {
                Ok(summary) => dump.push_str(&summary.to_text()),
                Err(e) => dump.push_str(&format!("unparseable: {e}\n")),
            }
            dump.push('\n');
        }
        let written = std::fs::write(case_dir.join(&pem_name), chain_to_pem(chain))
            .and_then(|()| std::fs::write(case_dir.join(format!("{name}.txt")), dump));
        match written {
            Ok(()) => files.certificates.push(relative(&pem_name)),
            Err(e) => first_error = first_error.or(Some(format!("{pem_name}: {e}"))),
        }
    }
    (files, first_error)
}
