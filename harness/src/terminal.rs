//! What a run prints besides libtest's own lines: the closing summary table
//! for people (verdicts coloured when stdout is a terminal, plain when not,
//! following libtest's `--color`), or with `--format json` one JSON event per
//! line for tools.
//!
//! JSON events, interleaved with libtest's own JSON lines (which say
//! `"type": "suite"` or `"type": "test"`):
//!
//! ```json
//! {"type":"picharness","event":"case","id":"aol.im.inbound","verdict":"fail","reason":"...","failed_step":"2: ...","duration_ms":3,"requirements":["PORT-01"],"findings":[]}
//! {"type":"picharness","event":"case","id":"edge.cert.key-size","verdict":"pass",...,"findings":[{"kind":"warning","requirement":"CERT-07","text":"..."}]}
//! {"type":"picharness","event":"run","totals":{"pass":8,...,"warning":1,"observation":0},"sut":{...},"report_dir":"picharness-report","exit_code":1}
//! ```
//!
//! In JSON mode the cases run one at a time on the main thread, so every
//! line is written whole and lines never interleave.
//!
//! While cases run, a live progress line (indicatif) on stderr counts the
//! verdicts so far, but only when stderr is a terminal and stdout is not
//! (output redirected, or `--format json` piped to a tool): when stdout is a
//! terminal, libtest's own line per case is the live progress, and a second
//! line redrawn under it would garble both.

use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use picharness_reports::Totals;

use libtest_mimic::{Arguments, ColorSetting, FormatSetting};
use picharness_reports::{CaseRecord, FindingKind, RunRecord, Verdict};
use serde_json::json;

/// How the run reports to the terminal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Terminal {
    Human { color: bool },
    Json,
}

impl Terminal {
    /// From libtest's `--format` and `--color`; JSON mode also pins the
    /// run to one test thread (see the module docs).
    pub(crate) fn from_args(args: &mut Arguments) -> Self {
        if args.format == Some(FormatSetting::Json) {
            args.test_threads = Some(1);
            return Self::Json;
        }
        let color = match args.color {
            Some(ColorSetting::Always) => true,
            Some(ColorSetting::Never) => false,
            Some(ColorSetting::Auto) | None => std::io::stdout().is_terminal(),
        };
        Self::Human { color }
    }

    /// Called when a case has its verdict.
    pub(crate) fn case_finished(self, case: &CaseRecord) {
        if self == Self::Json {
            print_line(&case_event(case).to_string());
        }
    }

    /// Called once the reports are written.
    pub(crate) fn run_finished(self, run: &RunRecord, report_dir: &Path, exit_code: u8) {
        match self {
            Self::Json => print_line(&run_event(run, report_dir, exit_code).to_string()),
            Self::Human { color } => {
                let table = summary_table(run, report_dir, color);
                let mut out = std::io::stdout().lock();
                // A closed stdout (a reader that went away) is not an error.
                let _ = out.write_all(table.as_bytes()).and_then(|()| out.flush());
            }
        }
    }
}

/// Whether to draw the live progress line (see the module docs).
fn wants_live_progress(stdout_is_terminal: bool, stderr_is_terminal: bool) -> bool {
    stderr_is_terminal && !stdout_is_terminal
}

/// The live progress line on stderr, or nothing.
pub(crate) struct LiveProgress {
    bar: Option<ProgressBar>,
    totals: Mutex<Totals>,
}

impl LiveProgress {
    /// Starts the line if the terminals call for it (see the module docs).
    pub(crate) fn start() -> Self {
        let show = wants_live_progress(
            std::io::stdout().is_terminal(),
            std::io::stderr().is_terminal(),
        );
        let bar = show.then(|| {
            let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
            if let Ok(style) = ProgressStyle::with_template("{spinner} {pos} done: {wide_msg}") {
                bar.set_style(style);
            }
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Self {
            bar,
            totals: Mutex::new(Totals::default()),
        }
    }

    /// Counts a finished case.
    pub(crate) fn case_finished(&self, case: &CaseRecord) {
        let Some(bar) = &self.bar else {
            return;
        };
        let totals = match self.totals.lock() {
            Ok(mut totals) => {
                totals.add(case.verdict);
                *totals
            }
            Err(_) => return,
        };
        bar.inc(1);
        bar.set_message(format!(
            "{} pass, {} fail, {} inconclusive, {} error, {} skipped (last: {} {})",
            totals.pass,
            totals.fail,
            totals.inconclusive,
            totals.error,
            totals.skipped,
            case.id,
            case.verdict
        ));
    }

    /// Removes the line (the summary follows on stdout).
    pub(crate) fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Writes `line` and a newline (see [`crate::stdout_relay::write_line`]).
fn print_line(line: &str) {
    crate::stdout_relay::write_line(line);
}

pub(crate) fn case_event(case: &CaseRecord) -> serde_json::Value {
    json!({
        "type": "picharness",
        "event": "case",
        "id": case.id,
        "verdict": case.verdict,
        "reason": case.reason,
        "failed_step": case.failed_step,
        "duration_ms": case.duration_ms,
        "requirements": case.requirements,
        "expected": case.expected,
        "flaky": case.flaky,
        "retries": case.retries.len(),
        "findings": case.findings,
    })
}

pub(crate) fn run_event(run: &RunRecord, report_dir: &Path, exit_code: u8) -> serde_json::Value {
    let deviations: Vec<serde_json::Value> = match run.expect_file {
        Some(_) => run
            .cases
            .iter()
            .filter_map(|c| c.deviation().map(|d| json!({"id": c.id, "deviation": d})))
            .collect(),
        None => Vec::new(),
    };
    json!({
        "type": "picharness",
        "event": "run",
        "totals": run.totals,
        "sut": run.sut,
        "duration_ms": run.duration_ms,
        "report_dir": report_dir.display().to_string(),
        "exit_code": exit_code,
        "expect_file": run.expect_file,
        "deviations": deviations,
        "edge_liveness": run.edge_liveness,
    })
}

/// ANSI SGR code of a verdict's colour.
fn colour(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "32",
        Verdict::Fail => "31;1",
        Verdict::Inconclusive => "33",
        Verdict::Error => "35;1",
        Verdict::Skipped => "2",
    }
}

fn paint(text: &str, verdict: Verdict, color: bool) -> String {
    if color {
        format!("\x1b[{}m{text}\x1b[0m", colour(verdict))
    } else {
        text.to_owned()
    }
}

/// The closing summary: one line of totals (verdicts, then how many cases
/// carry a warning or an observation), a table of every case that did not
/// pass (verdict, id, reason, failed step) followed by each warning and
/// observation (kind, id, cited requirement, text), and where the report is.
pub(crate) fn summary_table(run: &RunRecord, report_dir: &Path, color: bool) -> String {
    let t = run.totals;
    let count = |n: usize, verdict: Verdict| {
        let text = format!("{n} {verdict}");
        if n > 0 {
            paint(&text, verdict, color)
        } else {
            text
        }
    };
    let flagged = |n: usize, kind: FindingKind| {
        let text = format!("{n} with {kind}s");
        if n > 0 {
            paint(&text, Verdict::Inconclusive, color)
        } else {
            text
        }
    };
    // A dead Edge explains every verdict after it, so it is said first.
    let mut out = run
        .edge_liveness
        .as_ref()
        .map(|record| format!("\npicharness: {}", crate::liveness::describe(record)))
        .unwrap_or_default();
    out += &format!(
        "\npicharness: {} cases against {} ({}{}): {}, {}, {}, {}, {}; {}, {}\n",
        t.total(),
        run.sut.access_edge_address,
        run.sut.kind,
        if run.sut.faults.is_empty() {
            String::new()
        } else {
            format!(", faults: {}", run.sut.faults.join(", "))
        },
        count(t.pass, Verdict::Pass),
        count(t.fail, Verdict::Fail),
        count(t.inconclusive, Verdict::Inconclusive),
        count(t.error, Verdict::Error),
        count(t.skipped, Verdict::Skipped),
        flagged(t.warning, FindingKind::Warning),
        flagged(t.observation, FindingKind::Observation),
    );
    out.push_str(&flaky_lines(run));
    if let Some(file) = &run.expect_file {
        out.push_str(&deviation_lines(run, file, color));
        out.push_str(&format!(
            "report: {} (open {})\n",
            report_dir.display(),
            report_dir.join("index.html").display()
        ));
        return out;
    }
    let width = run
        .cases
        .iter()
        .filter(|c| c.verdict != Verdict::Pass || !c.findings.is_empty())
        .map(|c| c.id.len())
        .max()
        .unwrap_or(0);
    for case in run.cases.iter().filter(|c| c.verdict != Verdict::Pass) {
        let verdict = paint(
            &format!("{:<12}", case.verdict.as_str()),
            case.verdict,
            color,
        );
        out.push_str(&format!("  {verdict} {:<width$}  {}", case.id, case.reason));
        if let Some(step) = &case.failed_step {
            out.push_str(&format!(" [step {step}]"));
        }
        out.push('\n');
    }
    for case in &run.cases {
        for finding in &case.findings {
            let kind = paint(
                &format!("{:<12}", finding.kind.as_str()),
                Verdict::Inconclusive,
                color,
            );
            out.push_str(&format!(
                "  {kind} {:<width$}  {}: {}\n",
                case.id, finding.requirement, finding.text
            ));
        }
    }
    out.push_str(&format!(
        "report: {} (open {})\n",
        report_dir.display(),
        report_dir.join("index.html").display()
    ));
    out
}

/// One line per case that passed only on a retry: flaky, never simply green.
fn flaky_lines(run: &RunRecord) -> String {
    let mut out = String::new();
    for case in run.cases.iter().filter(|c| c.flaky) {
        let first = case.retries.first();
        out.push_str(&format!(
            "  flaky        {}  passed on attempt {} after {}: {}\n",
            case.id,
            case.retries.len() + 1,
            first.map_or("-", |a| a.verdict.as_str()),
            first.map_or("", |a| a.reason.as_str())
        ));
    }
    out
}

/// With an expected-verdicts file: one line per deviation from it, then
/// how many results were as expected.
fn deviation_lines(run: &RunRecord, file: &str, color: bool) -> String {
    let deviations: Vec<(&CaseRecord, String)> = run
        .cases
        .iter()
        .filter_map(|c| c.deviation().map(|d| (c, d)))
        .collect();
    let held = run
        .cases
        .iter()
        .filter(|c| {
            c.expected
                .as_ref()
                .is_some_and(|e| e.held && e.verdict != Verdict::Pass)
        })
        .count();
    let mut out = if deviations.is_empty() {
        format!("no deviation from the expected verdicts in {file}\n")
    } else {
        format!(
            "{} deviation(s) from the expected verdicts in {file}:\n",
            deviations.len()
        )
    };
    let width = deviations
        .iter()
        .map(|(c, _)| c.id.len())
        .max()
        .unwrap_or(0);
    for (case, deviation) in &deviations {
        let verdict = paint(
            &format!("{:<12}", case.verdict.as_str()),
            case.verdict,
            color,
        );
        out.push_str(&format!("  {verdict} {:<width$}  {deviation}", case.id));
        if let Some(step) = &case.failed_step {
            out.push_str(&format!(" [step {step}]"));
        }
        out.push('\n');
    }
    if held > 0 {
        out.push_str(&format!(
            "{held} result(s) other than pass were as expected (see the report)\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use picharness_reports::{EvidenceFiles, Finding, SCHEMA_VERSION, SutInfo, ToolInfo};

    fn run() -> RunRecord {
        let case = |id: &str, verdict, reason: &str| CaseRecord {
            id: id.to_owned(),
            title: String::new(),
            providers: vec![],
            requirements: vec!["FED-08".to_owned()],
            tags: vec![],
            verdict,
            reason: reason.to_owned(),
            failed_step: (verdict != Verdict::Pass)
                .then(|| "2: pool expects request MESSAGE".to_owned()),
            duration_ms: 3,
            evidence: EvidenceFiles::default(),
            expected: None,
            retries: Vec::new(),
            flaky: false,
            findings: vec![],
        };
        let mut observed = case("aol.sip.keepalive", Verdict::Pass, "all 2 steps held");
        observed.findings.push(Finding {
            kind: FindingKind::Observation,
            requirement: "SIP-13".to_owned(),
            text: "no CRLF pong came back".to_owned(),
        });
        let cases = vec![
            case("aol.im.inbound", Verdict::Fail, "no Record-Route"),
            observed,
            case(
                "edge.dns.srv-federation",
                Verdict::Inconclusive,
                "DNS did not answer",
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
                access_edge_fqdn: "sip.contoso.test".to_owned(),
                sip_domain: "contoso.test".to_owned(),
                access_edge_address: "127.80.0.10:5061".to_owned(),
                faults: vec!["no-record-route".to_owned()],
            },
            started_at: "2026-11-25T11:00:00Z".to_owned(),
            duration_ms: 50,
            totals,
            cases,
            invocation: None,
            expect_file: None,
            merged: None,
            edge_liveness: None,
        }
    }

    #[test]
    fn the_plain_table_lists_every_case_that_did_not_pass() {
        let text = summary_table(&run(), Path::new("rep"), false);
        assert_eq!(
            text,
            "\npicharness: 3 cases against 127.80.0.10:5061 (embedded-reference, faults: no-record-route): \
             1 pass, 1 fail, 1 inconclusive, 0 error, 0 skipped; 0 with warnings, 1 with observations\n\
             \x20 fail         aol.im.inbound           no Record-Route [step 2: pool expects request MESSAGE]\n\
             \x20 inconclusive edge.dns.srv-federation  DNS did not answer [step 2: pool expects request MESSAGE]\n\
             \x20 observation  aol.sip.keepalive        SIP-13: no CRLF pong came back\n\
             report: rep (open rep/index.html)\n"
        );
        assert!(!text.contains('\x1b'));
    }

    #[test]
    fn with_expected_verdicts_only_deviations_are_listed() {
        let mut run = run();
        run.expect_file = Some("nightly.toml".to_owned());
        run.cases[0].expected = Some(picharness_reports::Expected {
            verdict: Verdict::Fail,
            why: "TICKET-1".to_owned(),
            reason: None,
            held: true,
        });
        run.cases[1].verdict = Verdict::Error;
        run.cases[1].reason = "cannot bind".to_owned();
        run.cases[1].failed_step = None;
        let text = summary_table(&run, Path::new("rep"), false);
        assert!(
            text.contains(
                "1 deviation(s) from the expected verdicts in nightly.toml:\n\
                 \x20 error        aol.sip.keepalive  error (not an expected result): cannot bind\n\
                 1 result(s) other than pass were as expected (see the report)\n"
            ),
            "{text}"
        );
        assert!(!text.contains("aol.im.inbound"), "{text}");
        let end = run_event(&run, Path::new("rep"), 1);
        assert_eq!(end["deviations"][0]["id"], "aol.sip.keepalive");
    }

    #[test]
    fn colour_is_only_added_when_asked() {
        let text = summary_table(&run(), Path::new("rep"), true);
        assert!(text.contains("\x1b[31;1mfail        \x1b[0m"), "{text:?}");
        assert!(text.contains("\x1b[32m1 pass\x1b[0m"), "{text:?}");
        assert!(
            text.contains("0 error,"),
            "zero counts stay plain: {text:?}"
        );
    }

    #[test]
    fn the_live_line_is_drawn_only_where_it_cannot_garble_stdout() {
        assert!(wants_live_progress(false, true));
        assert!(!wants_live_progress(true, true));
        assert!(!wants_live_progress(false, false));
        assert!(!wants_live_progress(true, false));
        // Without a terminal it counts nothing and draws nothing.
        let progress = LiveProgress {
            bar: None,
            totals: Mutex::new(Totals::default()),
        };
        progress.case_finished(&run().cases[0]);
        progress.finish();
        assert_eq!(progress.totals.lock().unwrap().total(), 0);
    }

    #[test]
    fn json_events_carry_the_verdicts() {
        let run = run();
        let event = case_event(&run.cases[2]);
        assert_eq!(event["type"], "picharness");
        assert_eq!(event["verdict"], "inconclusive");
        assert_eq!(event["requirements"][0], "FED-08");
        let event = case_event(&run.cases[1]);
        assert_eq!(event["findings"][0]["kind"], "observation");
        assert_eq!(event["findings"][0]["requirement"], "SIP-13");
        let end = run_event(&run, Path::new("rep"), 1);
        assert_eq!(end["totals"]["observation"], 1);
        assert_eq!(end["totals"]["fail"], 1);
        assert_eq!(end["exit_code"], 1);
        assert!(!end.to_string().contains('\n'));

        let mut args = Arguments::from_iter(["picharness", "--format", "json"]);
        assert_eq!(Terminal::from_args(&mut args), Terminal::Json);
        assert_eq!(args.test_threads, Some(1));
        let mut args = Arguments::from_iter(["picharness", "--color", "always"]);
        assert_eq!(
            Terminal::from_args(&mut args),
            Terminal::Human { color: true }
        );
        let mut args = Arguments::from_iter(["picharness", "--color", "never"]);
        assert_eq!(
            Terminal::from_args(&mut args),
            Terminal::Human { color: false }
        );
    }
}
