//! `index.html`: the run as one self-contained page for people. Inline CSS,
//! JS and SVG; nothing is fetched from a network.
//!
//! The page shows the run summary (counts per verdict and per provider),
//! filters by verdict, provider and tag, and for each case its reason,
//! failed step, requirement ids, links to its evidence files, a ladder
//! diagram (see [`crate::ladder`]) whose arrows open the full message text,
//! and the certificate dumps. It is rendered from the run record plus each
//! case's side files in the report directory (`messages.json` for the ladder,
//! the `.txt` dump next to each certificate `.pem`), so it can be rebuilt from
//! a report directory alone. A side file that cannot be read leaves a visible
//! note in the case instead of failing the page.
//!
//! Hooks for tools (the browser test uses them): `body` carries
//! `data-cases`, and after the script ran `data-ready="1"`,
//! `data-ladders-drawn` (ladders whose SVG has a non-empty layout box) and
//! `data-arrows-drawn` (arrows with one); each verdict count is in
//! `#count-<verdict>`, the number of cases carrying a warning or an
//! observation in `#count-warning` and `#count-observation` (each case lists
//! its findings under its reason and flags them in its summary line), and `#shown` says how many cases the filters show.
//! Filters can be preset by the URL: `index.html?verdict=fail,error&provider=aol&tag=im`.
//!
//! The page holds no character XML 1.0 forbids or discourages, whatever the
//! SUT sent (see [`crate::text::xml_safe`]); the ladder's texts come from the
//! bounded `messages.json` (see [`crate::bounds`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use minijinja::Environment;
use serde::Serialize;

use crate::ladder::{Ladder, build_ladder};
use crate::messages::read_messages;
use crate::model::{CaseRecord, RunRecord, Verdict};
use crate::text::{reason_text, xml_safe};

/// The page template (Jinja syntax, autoescaped as HTML).
const TEMPLATE: &str = include_str!("../templates/index.html");

/// Why `index.html` could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum HtmlError {
    #[error("cannot write HTML report {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot render the HTML report: {0}")]
    Template(#[from] minijinja::Error),
}

#[derive(Serialize)]
struct Page<'a> {
    run: &'a RunRecord,
    verdicts: Vec<VerdictCount>,
    providers: Vec<ProviderCounts>,
    tags: Vec<String>,
    cases: Vec<CaseView<'a>>,
}

#[derive(Serialize)]
struct VerdictCount {
    verdict: &'static str,
    count: usize,
}

#[derive(Serialize)]
struct ProviderCounts {
    name: String,
    counts: Vec<VerdictCount>,
    total: usize,
}

#[derive(Serialize)]
struct CaseView<'a> {
    index: usize,
    record: &'a CaseRecord,
    /// The record's reason, bounded and with control characters escaped.
    reason: String,
    ladder: Option<Ladder>,
    /// Why the ladder could not be drawn.
    ladder_problem: Option<String>,
    certificates: Vec<CertificateView>,
}

#[derive(Serialize)]
struct CertificateView {
    pem: String,
    name: String,
    dump: Option<String>,
    problem: Option<String>,
}

/// Renders the page for `run`, reading side files from `report_dir`.
pub fn render_html(run: &RunRecord, report_dir: &Path) -> Result<String, HtmlError> {
    render_html_with(run, report_dir, true)
}

/// The page without ladders and certificate dumps (each case says where
/// they are) when `full` is false.
fn render_html_with(run: &RunRecord, report_dir: &Path, full: bool) -> Result<String, HtmlError> {
    let mut env = Environment::new();
    env.add_template("index.html", TEMPLATE)?;
    let page = Page {
        run,
        verdicts: verdict_counts(run.cases.iter()),
        providers: provider_counts(run),
        tags: run
            .cases
            .iter()
            .flat_map(|c| c.tags.iter().cloned())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect(),
        cases: run
            .cases
            .iter()
            .enumerate()
            .map(|(index, record)| {
                if full {
                    case_view(index, record, report_dir)
                } else {
                    compact_view(index, record)
                }
            })
            .collect(),
    };
    let html = env
        .get_template("index.html")?
        .render(minijinja::value::Serde(&page))?;
    Ok(match xml_safe(&html) {
        std::borrow::Cow::Borrowed(_) => html,
        std::borrow::Cow::Owned(safe) => safe,
    })
}

/// Writes `index.html` into `report_dir` (see the module docs).
pub fn write_html(report_dir: &Path, run: &RunRecord) -> Result<(), HtmlError> {
    write_html_within(report_dir, run, u64::MAX)
}

/// Writes `index.html` of at most `max` bytes: the full page if it fits,
/// else the page without ladders and certificate dumps, else a short page
/// that says why and points to `summary.json` and `junit.xml`.
pub fn write_html_within(report_dir: &Path, run: &RunRecord, max: u64) -> Result<(), HtmlError> {
    let fits = |html: &String| u64::try_from(html.len()).is_ok_and(|len| len <= max);
    let mut html = render_html_with(run, report_dir, true)?;
    if !fits(&html) {
        html = render_html_with(run, report_dir, false)?;
    }
    if !fits(&html) {
        html = format!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>picharness report</title></head><body>\n\
             <p>This page would take {} bytes, more than its share of the report budget ({max} bytes). \
             Every case's verdict and reason are in <a href=\"summary.json\">summary.json</a> and \
             <a href=\"junit.xml\">junit.xml</a>, its evidence under <code>cases/</code>.</p>\n</body></html>\n",
            html.len()
        );
    }
    let path = report_dir.join("index.html");
    std::fs::write(&path, html).map_err(|source| HtmlError::Io { path, source })
}

/// A case without its ladder and certificate dumps.
fn compact_view(index: usize, record: &CaseRecord) -> CaseView<'_> {
    CaseView {
        index,
        record,
        reason: reason_text(&record.reason),
        ladder: None,
        ladder_problem: Some(
            "ladder left out: the full page is over its share of the report budget; \
             the messages are in the case's transcript.txt and messages.json"
                .to_owned(),
        ),
        certificates: record
            .evidence
            .certificates
            .iter()
            .map(|pem| CertificateView {
                pem: pem.clone(),
                name: Path::new(pem)
                    .file_stem()
                    .map_or_else(|| pem.clone(), |s| s.to_string_lossy().into_owned()),
                dump: None,
                problem: Some("dump left out of this page: see the .txt beside the PEM".to_owned()),
            })
            .collect(),
    }
}

fn verdict_counts<'a>(cases: impl Iterator<Item = &'a CaseRecord>) -> Vec<VerdictCount> {
    let mut counts: BTreeMap<Verdict, usize> = BTreeMap::new();
    for case in cases {
        *counts.entry(case.verdict).or_default() += 1;
    }
    Verdict::ALL
        .iter()
        .map(|v| VerdictCount {
            verdict: v.as_str(),
            count: counts.get(v).copied().unwrap_or(0),
        })
        .collect()
}

fn provider_counts(run: &RunRecord) -> Vec<ProviderCounts> {
    let names: BTreeSet<&String> = run.cases.iter().flat_map(|c| &c.providers).collect();
    names
        .into_iter()
        .map(|name| {
            let cases: Vec<&CaseRecord> = run
                .cases
                .iter()
                .filter(|c| c.providers.contains(name))
                .collect();
            ProviderCounts {
                name: name.clone(),
                total: cases.len(),
                counts: verdict_counts(cases.into_iter()),
            }
        })
        .collect()
}

fn case_view<'a>(index: usize, record: &'a CaseRecord, report_dir: &Path) -> CaseView<'a> {
    let (ladder, ladder_problem) = match &record.evidence.messages {
        None => (
            None,
            Some("no messages.json was recorded for this case".to_owned()),
        ),
        Some(path) => match read_messages(&report_dir.join(path)) {
            Ok(entries) => (
                Some(build_ladder(
                    &entries,
                    &record.providers,
                    record.failed_step.as_deref(),
                )),
                None,
            ),
            Err(e) => (None, Some(e.to_string())),
        },
    };
    let certificates = record
        .evidence
        .certificates
        .iter()
        .map(|pem| {
            let dump_path = report_dir.join(pem).with_extension("txt");
            let name = Path::new(pem)
                .file_stem()
                .map_or_else(|| pem.clone(), |s| s.to_string_lossy().into_owned());
            match std::fs::read_to_string(&dump_path) {
                Ok(dump) => CertificateView {
                    pem: pem.clone(),
                    name,
                    dump: Some(dump),
                    problem: None,
                },
                Err(e) => CertificateView {
                    pem: pem.clone(),
                    name,
                    dump: None,
                    problem: Some(format!("cannot read {}: {e}", dump_path.display())),
                },
            }
        })
        .collect();
    CaseView {
        index,
        record,
        reason: reason_text(&record.reason),
        ladder,
        ladder_problem,
        certificates,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evidence::TranscriptEntry;
    use crate::messages::write_messages;
    use crate::summary::tests::sample_run;
    use std::time::{Duration, SystemTime};

    fn entry(ms: u64, actor: &str, kind: &str, text: &str) -> TranscriptEntry {
        let message = kind != "note";
        TranscriptEntry {
            at: SystemTime::UNIX_EPOCH
                + Duration::from_secs(1_795_606_661)
                + Duration::from_millis(ms),
            actor: actor.to_owned(),
            kind: kind.to_owned(),
            local: message.then(|| "127.80.1.1:40491".parse().unwrap()),
            remote: message.then(|| "127.80.0.10:5061".parse().unwrap()),
            text: text.to_owned(),
        }
    }

    /// The sample run with side files for its first two cases in `dir`.
    fn run_with_side_files(dir: &Path) -> RunRecord {
        let mut run = sample_run();
        let pass = run.cases[0].clone();
        let case_dir = dir.join("cases").join(&pass.id);
        std::fs::create_dir_all(&case_dir).unwrap();
        write_messages(
            &case_dir.join("messages.json"),
            &[
                entry(0, "runner", "note", "step 1: aol sends MESSAGE"),
                entry(
                    1,
                    "aol",
                    "sent",
                    "MESSAGE sip:a@contoso.test SIP/2.0\r\nSubject: <b>&\r\n\r\n",
                ),
                entry(3, "aol", "received", "SIP/2.0 200 OK\r\n\r\n"),
            ],
        )
        .unwrap();
        let fail = run.cases[1].clone();
        let case_dir = dir.join("cases").join(&fail.id);
        std::fs::create_dir_all(&case_dir).unwrap();
        write_messages(
            &case_dir.join("messages.json"),
            &[
                entry(0, "runner", "note", "step 1: dns checks srv-federation"),
                entry(0, "runner", "note", "step 2: read the response"),
                entry(1, "runner", "note", "verdict fail: wrong port"),
            ],
        )
        .unwrap();
        run.cases[0].evidence.certificates =
            vec![format!("cases/{}/sut-server-chain.pem", pass.id)];
        std::fs::write(
            dir.join("cases")
                .join(&pass.id)
                .join("sut-server-chain.txt"),
            "Subject: CN=sip.contoso.test\n",
        )
        .unwrap();
        run
    }

    #[test]
    fn the_page_has_counts_ladders_and_escaped_text() {
        let dir = tempfile::tempdir().unwrap();
        let run = run_with_side_files(dir.path());
        let html = render_html(&run, dir.path()).unwrap();
        for verdict in ["pass", "fail", "inconclusive", "error", "skipped"] {
            assert!(
                html.contains(&format!("id=\"count-{verdict}\">1<")),
                "count of {verdict} missing"
            );
        }
        assert!(html.contains("data-cases=\"5\""));
        assert!(html.contains("id=\"count-warning\">1<"), "warning count");
        assert!(html.contains("id=\"count-observation\">0<"));
        assert!(
            html.contains("<span class=\"kind\">warning</span> <code>CERT-07</code>: the key is RSA 1024 &lt;bits&gt; &amp;"),
            "finding missing or unescaped"
        );
        assert_eq!(html.matches("<svg class=\"ladder\"").count(), 2);
        assert_eq!(html.matches("class=\"arrow").count(), 2, "two SIP arrows");
        assert!(
            html.contains("Subject: &lt;b&gt;&amp;"),
            "message text not escaped"
        );
        assert!(html.contains("the SRV record points to &lt;wrong&gt; &amp;"));
        assert!(
            html.contains("class=\"step failed\""),
            "failed step not marked"
        );
        assert!(
            html.contains("Subject: CN=sip.contoso.test"),
            "certificate dump missing"
        );
        // minijinja's HTML escaping writes '/' as "&#x2f;", which browsers read back.
        assert!(html.contains("href=\"cases&#x2f;aol.tls.client-eku&#x2f;trace.pcapng\""));
        // Three cases have no messages.json on disk: each says so.
        assert_eq!(html.matches("cannot read").count(), 3, "{html}");
        // Self-contained: nothing loaded from elsewhere.
        for remote in ["http://", "https://", "src=\"//"] {
            assert!(!html.contains(remote), "page refers to {remote}");
        }
    }

    #[test]
    fn providers_are_counted_per_verdict() {
        let run = sample_run();
        let counts = provider_counts(&run);
        assert_eq!(counts.len(), 1);
        assert_eq!(counts[0].name, "aol");
        assert_eq!(counts[0].total, 5);
        assert!(counts[0].counts.iter().all(|c| c.count == 1));
    }

    #[test]
    fn write_html_writes_index_html() {
        let dir = tempfile::tempdir().unwrap();
        let run = run_with_side_files(dir.path());
        write_html(dir.path(), &run).unwrap();
        let written = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
        assert_eq!(written, render_html(&run, dir.path()).unwrap());
        let err = write_html(&dir.path().join("missing"), &run).unwrap_err();
        assert!(matches!(err, HtmlError::Io { .. }), "{err}");
    }
}
