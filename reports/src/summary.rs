//! `summary.json`: the run record written as pretty JSON, and read back.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::model::{RunRecord, SCHEMA_VERSION};

/// Why `summary.json` could not be read.
#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a valid picharness summary: {source}", path.display())]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error(
        "{} has schema_version {found}, this picharness reads version {expected}",
        path.display()
    )]
    SchemaVersion {
        path: PathBuf,
        found: u32,
        expected: u32,
    },
}

/// Renders `run` as pretty JSON with a trailing newline.
pub fn render_summary(run: &RunRecord) -> serde_json::Result<String> {
    let mut text = serde_json::to_string_pretty(run)?;
    text.push('\n');
    Ok(text)
}

/// Writes `run` to `path` as pretty JSON with a trailing newline.
pub fn write_summary(path: &Path, run: &RunRecord) -> std::io::Result<()> {
    let mut out = BufWriter::new(File::create(path)?);
    serde_json::to_writer_pretty(&mut out, run)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Reads a `summary.json`. Fails if its `schema_version` is not
/// [`SCHEMA_VERSION`].
pub fn read_summary(path: &Path) -> Result<RunRecord, SummaryError> {
    let file = File::open(path).map_err(|source| SummaryError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let run: RunRecord =
        serde_json::from_reader(BufReader::new(file)).map_err(|source| SummaryError::Json {
            path: path.to_path_buf(),
            source,
        })?;
    if run.schema_version != SCHEMA_VERSION {
        return Err(SummaryError::SchemaVersion {
            path: path.to_path_buf(),
            found: run.schema_version,
            expected: SCHEMA_VERSION,
        });
    }
    Ok(run)
}

/// Reads the run record of a report: `path` is a report directory or its
/// `summary.json`.
pub fn read_report(path: &Path) -> Result<RunRecord, SummaryError> {
    if path.is_dir() {
        read_summary(&path.join("summary.json"))
    } else {
        read_summary(path)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::model::{
        CaseRecord, EvidenceFiles, Finding, FindingKind, SutInfo, ToolInfo, Totals, Verdict,
    };

    fn case(id: &str, verdict: Verdict, reason: &str) -> CaseRecord {
        CaseRecord {
            id: id.to_owned(),
            title: format!("title of {id}"),
            providers: vec!["aol".to_owned()],
            requirements: vec!["REQ-TLS-1".to_owned(), "REQ-TLS-2".to_owned()],
            tags: vec!["tls".to_owned()],
            verdict,
            reason: reason.to_owned(),
            failed_step: (verdict != Verdict::Pass).then(|| "2: read the response".to_owned()),
            duration_ms: 1234,
            evidence: EvidenceFiles {
                trace: Some(format!("cases/{id}/trace.pcapng")),
                transcript: Some(format!("cases/{id}/transcript.txt")),
                certificates: vec![],
                messages: Some(format!("cases/{id}/messages.json")),
            },
            expected: None,
            retries: Vec::new(),
            flaky: false,
            findings: vec![],
        }
    }

    /// A run with one case of each verdict.
    pub(crate) fn sample_run() -> RunRecord {
        let mut warned = case(
            "aol.tls.client-eku",
            Verdict::Pass,
            "the Edge accepted the certificate",
        );
        warned.findings.push(Finding {
            kind: FindingKind::Warning,
            requirement: "CERT-07".to_owned(),
            text: "the key is RSA 1024 <bits> & \"acceptable\"; 2048 or more is recommended"
                .to_owned(),
        });
        let cases = vec![
            warned,
            case(
                "edge.dns.srv-federation",
                Verdict::Fail,
                "the SRV record points to <wrong> & \"bad\" host",
            ),
            case(
                "messenger.im.inbound",
                Verdict::Inconclusive,
                "registration failed",
            ),
            case(
                "av.turn.relay-range",
                Verdict::Error,
                "cannot bind 127.80.0.30:3478",
            ),
            case(
                "aol.presence.pidf",
                Verdict::Skipped,
                "not applicable to this topology",
            ),
        ];
        let totals = Totals::of(&cases);
        RunRecord {
            schema_version: SCHEMA_VERSION,
            tool: ToolInfo {
                name: "picharness".to_owned(),
                version: "0.1.0".to_owned(),
            },
            sut: SutInfo {
                kind: "embedded-reference".to_owned(),
                access_edge_fqdn: "sip.example.test".to_owned(),
                sip_domain: "example.test".to_owned(),
                access_edge_address: "127.80.0.10:5061".to_owned(),
                faults: vec![],
            },
            started_at: "2026-11-24T10:00:00Z".to_owned(),
            duration_ms: 5000,
            totals,
            cases,
            invocation: Some(crate::model::Invocation {
                argv: vec!["picharness".to_owned(), "run".to_owned()],
                rerun: vec![
                    "picharness".to_owned(),
                    "run".to_owned(),
                    "--embedded-net".to_owned(),
                    "127.80.0.0".to_owned(),
                ],
            }),
            expect_file: None,
            merged: None,
            edge_liveness: Some(crate::model::EdgeLiveness {
                stopped_answering: true,
                last_seen_alive_at: Some("2026-11-24T10:00:03Z".to_owned()),
                last_seen_during: Some("messenger.im.inbound".to_owned()),
                died_during: Some("messenger.im.inbound".to_owned()),
                cases_not_judged: vec!["aol.presence.pidf".to_owned()],
                came_back: false,
            }),
        }
    }

    #[test]
    fn summary_round_trips_as_pretty_json() {
        let run = sample_run();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        write_summary(&path, &run).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"), "no trailing newline");
        assert!(text.contains("\n  \"schema_version\": 1,\n"), "{text}");
        assert!(text.contains("\"verdict\": \"inconclusive\""), "{text}");
        assert_eq!(text, render_summary(&run).unwrap());
        assert_eq!(read_summary(&path).unwrap(), run);
    }

    #[test]
    fn reading_rejects_other_schema_versions_and_bad_json() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("summary.json");
        let mut run = sample_run();
        run.schema_version = SCHEMA_VERSION + 1;
        write_summary(&path, &run).unwrap();
        let err = read_summary(&path).unwrap_err();
        assert!(
            matches!(err, SummaryError::SchemaVersion { found, .. } if found == SCHEMA_VERSION + 1),
            "{err}"
        );

        std::fs::write(&path, "{\"schema_version\": 1}").unwrap();
        let err = read_summary(&path).unwrap_err();
        assert!(matches!(err, SummaryError::Json { .. }), "{err}");

        let err = read_summary(&dir.path().join("missing.json")).unwrap_err();
        assert!(matches!(err, SummaryError::Io { .. }), "{err}");
    }
}
