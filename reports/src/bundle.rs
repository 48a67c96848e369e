//! The evidence bundle of one case: a `.tar.gz` to attach to a bug report,
//! made from a report directory (`picharness evidence <case-id>`).
//!
//! Everything sits under one folder named after the case:
//!
//! ```text
//! <case id>/README.txt        verdict, reason, failed step, requirement ids, tool version,
//!                             SUT, the command that reproduces the case, and the file list
//! <case id>/case.json         the same facts as data: tool, sut, started_at, the case record,
//!                             the redacted command line (`invocation`) and `reproduce`
//! <case id>/trace.pcapng      with the TLS key log embedded (Wireshark decrypts it as is)
//! <case id>/transcript.txt, messages.json
//! <case id>/<chain>.pem/.txt  certificate chains the SUT presented, PEM and readable dump
//! ```
//!
//! An evidence file the record names but the directory lacks is listed as
//! missing in README.txt rather than failing the bundle.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde::Serialize;

use crate::model::{CaseRecord, Invocation, RunRecord, SutInfo, ToolInfo};
use crate::summary::{SummaryError, read_summary};

/// Why a bundle could not be made.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error(transparent)]
    Summary(#[from] SummaryError),
    #[error("{} has no case {case_id:?}; its cases are: {known}", summary.display())]
    UnknownCase {
        summary: PathBuf,
        case_id: String,
        known: String,
    },
    #[error("cannot write evidence bundle {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialize the case facts: {0}")]
    Json(#[from] serde_json::Error),
}

/// What went into a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleContents {
    /// Paths inside the archive.
    pub files: Vec<String>,
    /// Evidence files the record names that were not in the report directory.
    pub missing: Vec<String>,
}

#[derive(Serialize)]
struct CaseFacts<'a> {
    tool: &'a ToolInfo,
    sut: &'a SutInfo,
    started_at: &'a str,
    case: &'a CaseRecord,
    invocation: Option<&'a Invocation>,
    /// The command that runs just this case the same way.
    reproduce: Option<Vec<String>>,
    /// The text of each requirement the case cites, from the requirements
    /// catalogue the bundle was made with (empty when there was none).
    requirement_texts: &'a BTreeMap<String, String>,
}

/// The command that runs just `case_id` the way the run did, or `None` when
/// the record does not say how the run was started.
pub fn reproduce_command(run: &RunRecord, case_id: &str) -> Option<Vec<String>> {
    let invocation = run.invocation.as_ref()?;
    if invocation.rerun.is_empty() {
        return None;
    }
    let mut command = invocation.rerun.clone();
    command.extend([
        "--report-dir".to_owned(),
        format!("picharness-report-{case_id}"),
        "--exact".to_owned(),
        case_id.to_owned(),
    ]);
    Some(command)
}

/// Quotes `args` for a POSIX shell where needed.
fn shell_line(args: &[String]) -> String {
    args.iter()
        .map(|a| {
            let plain = !a.is_empty()
                && a.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+".contains(c));
            if plain {
                a.clone()
            } else {
                format!("'{}'", a.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Writes the bundle of `case_id` from `report_dir` to `out` (see the
/// module docs).
/// `requirement_texts` maps requirement ids to their text; the ids the case
/// cites are written out with it.
pub fn write_bundle(
    report_dir: &Path,
    case_id: &str,
    out: &Path,
    requirement_texts: &BTreeMap<String, String>,
) -> Result<BundleContents, BundleError> {
    let summary_path = report_dir.join("summary.json");
    let run = read_summary(&summary_path)?;
    let Some(case) = run.cases.iter().find(|c| c.id == case_id) else {
        return Err(BundleError::UnknownCase {
            summary: summary_path,
            case_id: case_id.to_owned(),
            known: run
                .cases
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let io = |source| BundleError::Io {
        path: out.to_path_buf(),
        source,
    };

    // Evidence files named by the record: (path in report dir, name in archive).
    let mut wanted: Vec<String> = Vec::new();
    wanted.extend(case.evidence.trace.iter().cloned());
    wanted.extend(case.evidence.transcript.iter().cloned());
    wanted.extend(case.evidence.messages.iter().cloned());
    for pem in &case.evidence.certificates {
        wanted.push(pem.clone());
        wanted.push(
            Path::new(pem)
                .with_extension("txt")
                .to_string_lossy()
                .into_owned(),
        );
    }
    let mut present = Vec::new();
    let mut missing = Vec::new();
    for relative in wanted {
        let path = report_dir.join(&relative);
        match std::fs::read(&path) {
            Ok(bytes) => {
                let name = Path::new(&relative)
                    .file_name()
                    .map_or_else(|| relative.clone(), |n| n.to_string_lossy().into_owned());
                present.push((name, bytes));
            }
            Err(e) => missing.push(format!("{relative} ({e})")),
        }
    }

    let reproduce = reproduce_command(&run, case_id);
    let cited: BTreeMap<String, String> = case
        .requirements
        .iter()
        .filter_map(|id| {
            requirement_texts
                .get(id)
                .map(|text| (id.clone(), text.clone()))
        })
        .collect();
    let facts = CaseFacts {
        requirement_texts: &cited,
        tool: &run.tool,
        sut: &run.sut,
        started_at: &run.started_at,
        case,
        invocation: run.invocation.as_ref(),
        reproduce: reproduce.clone(),
    };
    let mut case_json = serde_json::to_string_pretty(&facts)?;
    case_json.push('\n');

    let mut files: Vec<String> = vec!["README.txt".to_owned(), "case.json".to_owned()];
    files.extend(present.iter().map(|(name, _)| name.clone()));
    let mut readme = readme(&run, case, reproduce.as_deref(), &files, &missing);
    if !cited.is_empty() {
        readme.push_str("\nrequirements cited\n");
        for (id, text) in &cited {
            readme.push_str(&format!("  {id}: {text}\n"));
        }
    }

    let file = std::fs::File::create(out).map_err(io)?;
    let mut archive = tar::Builder::new(GzEncoder::new(file, Compression::default()));
    let mtime = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut append = |name: &str, bytes: &[u8]| -> std::io::Result<()> {
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(mtime);
        header.set_cksum();
        archive.append_data(&mut header, format!("{case_id}/{name}"), bytes)
    };
    append("README.txt", readme.as_bytes()).map_err(io)?;
    append("case.json", case_json.as_bytes()).map_err(io)?;
    for (name, bytes) in &present {
        append(name, bytes).map_err(io)?;
    }
    archive
        .into_inner()
        .and_then(|gz| gz.finish())
        .and_then(|mut file| file.flush())
        .map_err(io)?;
    Ok(BundleContents {
        files: files.iter().map(|f| format!("{case_id}/{f}")).collect(),
        missing,
    })
}

fn readme(
    run: &RunRecord,
    case: &CaseRecord,
    reproduce: Option<&[String]>,
    files: &[String],
    missing: &[String],
) -> String {
    let mut out = String::new();
    let mut line = |key: &str, value: &str| {
        out.push_str(&format!("{key:<14} {value}\n"));
    };
    line("case", &case.id);
    line("title", &case.title);
    line("verdict", case.verdict.as_str());
    line("reason", &case.reason);
    line("failed step", case.failed_step.as_deref().unwrap_or("-"));
    line("requirements", &case.requirements.join(", "));
    line("providers", &case.providers.join(", "));
    line("tool", &format!("{} {}", run.tool.name, run.tool.version));
    line("run started", &run.started_at);
    line(
        "SUT",
        &format!(
            "{} {} ({}), SIP domain {}",
            run.sut.kind, run.sut.access_edge_fqdn, run.sut.access_edge_address, run.sut.sip_domain
        ),
    );
    if !run.sut.faults.is_empty() {
        line("fault switches", &run.sut.faults.join(", "));
    }
    line(
        "reproduce",
        &reproduce.map_or_else(
            || "(the run record does not say how it was started)".to_owned(),
            shell_line,
        ),
    );
    out.push_str("\nfiles:\n");
    for file in files {
        out.push_str(&format!("  {file}\n"));
    }
    if !missing.is_empty() {
        out.push_str("\nmissing from the report directory:\n");
        for file in missing {
            out.push_str(&format!("  {file}\n"));
        }
    }
    out.push_str(
        "\nThe trace carries its TLS key log: `tshark -r trace.pcapng -Y sip` shows the SIP with no setup.\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::sample_run;
    use crate::summary::write_summary;
    use std::io::Read;

    /// (name, contents) of every file in the gzipped tar at `path`.
    fn unpack(path: &Path) -> Vec<(String, Vec<u8>)> {
        let file = std::fs::File::open(path).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(file));
        archive
            .entries()
            .unwrap()
            .map(|entry| {
                let mut entry = entry.unwrap();
                let name = entry.path().unwrap().to_string_lossy().into_owned();
                let mut bytes = Vec::new();
                entry.read_to_end(&mut bytes).unwrap();
                (name, bytes)
            })
            .collect()
    }

    #[test]
    fn a_bundle_holds_the_evidence_the_facts_and_the_command() {
        let dir = tempfile::tempdir().unwrap();
        let mut run = sample_run();
        let id = "edge.dns.srv-federation";
        let case = run.cases.iter_mut().find(|c| c.id == id).unwrap();
        case.evidence.certificates = vec![format!("cases/{id}/sut-server-chain.pem")];
        let case_dir = dir.path().join("cases").join(id);
        std::fs::create_dir_all(&case_dir).unwrap();
        std::fs::write(case_dir.join("trace.pcapng"), b"pcapng bytes").unwrap();
        std::fs::write(case_dir.join("transcript.txt"), b"transcript").unwrap();
        std::fs::write(case_dir.join("sut-server-chain.pem"), b"PEM").unwrap();
        std::fs::write(case_dir.join("sut-server-chain.txt"), b"dump").unwrap();
        run.sut.faults = vec!["dns-srv-wrong-port".to_owned()];
        run.invocation
            .as_mut()
            .unwrap()
            .rerun
            .extend(["--sut-fault".to_owned(), "dns-srv-wrong-port".to_owned()]);
        write_summary(&dir.path().join("summary.json"), &run).unwrap();

        let out = dir.path().join("bundle.tar.gz");
        let contents = write_bundle(dir.path(), id, &out, &BTreeMap::new()).unwrap();
        assert_eq!(contents.missing.len(), 1, "{:?}", contents.missing);
        assert!(contents.missing[0].starts_with(&format!("cases/{id}/messages.json")));

        let files = unpack(&out);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "edge.dns.srv-federation/README.txt",
                "edge.dns.srv-federation/case.json",
                "edge.dns.srv-federation/trace.pcapng",
                "edge.dns.srv-federation/transcript.txt",
                "edge.dns.srv-federation/sut-server-chain.pem",
                "edge.dns.srv-federation/sut-server-chain.txt",
            ]
        );
        assert_eq!(files[2].1, b"pcapng bytes");
        let readme = String::from_utf8(files[0].1.clone()).unwrap();
        assert!(readme.contains("verdict        fail\n"), "{readme}");
        assert!(
            readme.contains("requirements   REQ-TLS-1, REQ-TLS-2\n"),
            "{readme}"
        );
        assert!(
            readme.contains("fault switches dns-srv-wrong-port\n"),
            "{readme}"
        );
        assert!(
            readme.contains(
                "reproduce      picharness run --embedded-net 127.80.0.0 --sut-fault dns-srv-wrong-port \
                 --report-dir picharness-report-edge.dns.srv-federation --exact edge.dns.srv-federation\n"
            ),
            "{readme}"
        );
        assert!(
            readme.contains("missing from the report directory:\n  cases/"),
            "{readme}"
        );
        let facts: serde_json::Value = serde_json::from_slice(&files[1].1).unwrap();
        assert_eq!(facts["case"]["id"], id);
        assert_eq!(facts["tool"]["version"], "0.1.0");
        assert_eq!(facts["reproduce"].as_array().unwrap().last().unwrap(), id);
    }

    #[test]
    fn an_unknown_case_names_the_known_ones() {
        let dir = tempfile::tempdir().unwrap();
        write_summary(&dir.path().join("summary.json"), &sample_run()).unwrap();
        let err = write_bundle(
            dir.path(),
            "nope",
            &dir.path().join("b.tar.gz"),
            &BTreeMap::new(),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(text.contains("has no case \"nope\""), "{text}");
        assert!(text.contains("aol.tls.client-eku"), "{text}");
        let err = write_bundle(
            &dir.path().join("none"),
            "x",
            &dir.path().join("b.tar.gz"),
            &BTreeMap::new(),
        );
        assert!(matches!(err, Err(BundleError::Summary(_))));
    }

    #[test]
    fn odd_arguments_are_quoted_for_the_shell() {
        let args = ["picharness", "run", "--scenarios", "/tmp/my cases", "it's"].map(str::to_owned);
        assert_eq!(
            shell_line(&args),
            r"picharness run --scenarios '/tmp/my cases' 'it'\''s'"
        );
    }
}
