//! `junit.xml`: the run record as a JUnit report for CI systems.
//!
//! One test suite, `picharness`, with one test case per case. JUnit has no
//! inconclusive outcome, so the mapping is:
//!
//! | verdict      | JUnit                                                 |
//! | ------------ | ----------------------------------------------------- |
//! | pass         | success                                               |
//! | fail         | `<failure type="fail" message=reason>`                |
//! | error        | `<error type="error" message=reason>`                 |
//! | skipped      | `<skipped message=reason>`                            |
//! | inconclusive | `<skipped type="inconclusive" message="inconclusive: reason">` |
//!
//! Every test case carries a `verdict` property with the real verdict, so
//! nothing is lost, plus `requirement` properties, one `warning` or
//! `observation` property per finding (value `REQ-ID: text`; JUnit has no
//! such outcome, so a passing case stays a success and CI selects on
//! `picharness run --fail-on`) and, for non-pass verdicts, `failed_step`;
//! a case listed in the expected-verdicts file (`run --expect`) also
//! carries `expected` ("fail (held): why" or "fail (deviation): why"). A
//! case re-run after failing (`run --retries`) carries its earlier attempts
//! as `<flakyFailure>`/`<flakyError>` (passed on a retry, plus a `flaky`
//! property) or `<rerunFailure>`/`<rerunError>`.
//! Its system-out holds the same facts as
//! `key: value` lines, then `[[ATTACHMENT|<report dir>/cases/<id>/trace.pcapng]]`
//! (the convention the Jenkins JUnit Attachments plugin and GitLab read; the
//! path is the report directory as given to the run, so a relative report
//! directory gives a path relative to the working directory, which is what
//! CI workspaces expect), then the case's transcript (its first
//! [`MAX_SYSTEM_OUT_TRANSCRIPT`] bytes; the file has the rest).
//!
//! The document is XML 1.0 whatever the SUT sent: characters XML forbids
//! (C0 controls, U+FFFE, ...) are written as `\u{..}` escapes (see
//! [`crate::text::xml_safe`]).

use std::path::{Path, PathBuf};
use std::time::Duration;

use quick_junit::{
    NonSuccessKind, Property, Report, TestCase, TestCaseStatus, TestRerun, TestSuite,
};

use crate::model::{CaseRecord, RunRecord, Verdict};
use crate::text::{cut_at, reason_text, xml_safe};

/// The most bytes of a case's transcript copied into its system-out.
pub const MAX_SYSTEM_OUT_TRANSCRIPT: usize = 16 * 1024;

/// Name of the report and of its single test suite.
pub const SUITE_NAME: &str = "picharness";

/// Why `junit.xml` could not be written.
#[derive(Debug, thiserror::Error)]
pub enum JunitError {
    #[error("cannot write JUnit report {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot serialize the JUnit report: {0}")]
    Serialize(#[from] quick_junit::SerializeError),
}

/// Builds the JUnit report of `run` (see the module docs for the mapping).
/// Evidence paths are resolved against `report_dir`, where each case's
/// transcript is read from.
pub fn junit_report(run: &RunRecord, report_dir: &Path) -> Report {
    junit_report_with(run, report_dir, Detail::Full)
}

/// How much of each case `junit.xml` holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Detail {
    /// Everything, with the transcript's first bytes.
    Full,
    /// No transcript.
    NoTranscript,
    /// No transcript, and reasons cut to [`SHORT_REASON_BYTES`].
    Short,
}

/// What a reason keeps in the shortest form of the report.
const SHORT_REASON_BYTES: usize = 200;

fn junit_report_with(run: &RunRecord, report_dir: &Path, detail: Detail) -> Report {
    let mut suite = TestSuite::new(SUITE_NAME);
    suite.set_time(Duration::from_millis(run.duration_ms));
    suite.add_properties([
        Property::new("tool", format!("{} {}", run.tool.name, run.tool.version)),
        Property::new("started_at", run.started_at.as_str()),
        Property::new("sut.kind", run.sut.kind.as_str()),
        Property::new("sut.access_edge_fqdn", run.sut.access_edge_fqdn.as_str()),
        Property::new(
            "sut.access_edge_address",
            run.sut.access_edge_address.as_str(),
        ),
        Property::new("sut.sip_domain", run.sut.sip_domain.as_str()),
    ]);
    suite.add_properties(
        run.sut
            .faults
            .iter()
            .map(|fault| Property::new("sut.fault", fault.as_str())),
    );
    suite.add_test_cases(run.cases.iter().map(|case| {
        if detail == Detail::Short {
            let mut short = case.clone();
            shorten(&mut short.reason);
            for attempt in &mut short.retries {
                shorten(&mut attempt.reason);
            }
            test_case(&short, report_dir, detail)
        } else {
            test_case(case, report_dir, detail)
        }
    }));

    let mut report = Report::new(SUITE_NAME);
    report.set_time(Duration::from_millis(run.duration_ms));
    report.add_test_suite(suite);
    report
}

/// Renders the JUnit report of `run` as XML (evidence in `report_dir`).
pub fn render_junit(run: &RunRecord, report_dir: &Path) -> Result<String, JunitError> {
    let xml = junit_report(run, report_dir).to_string()?;
    Ok(match xml_safe(&xml) {
        std::borrow::Cow::Borrowed(_) => xml,
        std::borrow::Cow::Owned(safe) => safe,
    })
}

/// Cuts a reason to [`SHORT_REASON_BYTES`], saying so.
fn shorten(reason: &mut String) {
    if let Some(head) = cut_at(reason, SHORT_REASON_BYTES) {
        *reason = format!("{head} [cut: the full reason is in summary.json]");
    }
}

/// Writes the JUnit report of `run` to `path`; the report directory is the
/// one `path` is in.
pub fn write_junit(path: &Path, run: &RunRecord) -> Result<(), JunitError> {
    write_junit_within(path, run, u64::MAX)
}

/// Writes the JUnit report within `max` bytes if it can: the full report,
/// else without the transcripts, else with reasons cut short as well (each
/// cut says where the rest is).
pub fn write_junit_within(path: &Path, run: &RunRecord, max: u64) -> Result<(), JunitError> {
    let report_dir = path.parent().unwrap_or_else(|| Path::new(""));
    let mut xml = String::new();
    for detail in [Detail::Full, Detail::NoTranscript, Detail::Short] {
        let rendered = junit_report_with(run, report_dir, detail).to_string()?;
        xml = match xml_safe(&rendered) {
            std::borrow::Cow::Borrowed(_) => rendered,
            std::borrow::Cow::Owned(safe) => safe,
        };
        if u64::try_from(xml.len()).is_ok_and(|len| len <= max) {
            break;
        }
    }
    std::fs::write(path, xml).map_err(|source| JunitError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn test_case(case: &CaseRecord, report_dir: &Path, detail: Detail) -> TestCase {
    let reason = reason_text(&case.reason);
    let mut status = match case.verdict {
        Verdict::Pass => TestCaseStatus::success(),
        Verdict::Fail => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_type("fail").set_message(reason.as_str());
            status
        }
        Verdict::Error => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Error);
            status.set_type("error").set_message(reason.as_str());
            status
        }
        Verdict::Skipped => {
            let mut status = TestCaseStatus::skipped();
            status.set_message(reason.as_str());
            status
        }
        Verdict::Inconclusive => {
            let mut status = TestCaseStatus::skipped();
            status
                .set_type("inconclusive")
                .set_message(format!("inconclusive: {reason}"));
            status
        }
    };
    for attempt in &case.retries {
        // Earlier failed attempts: <flakyFailure> under a success, <rerunFailure> under a failure.
        let kind = if attempt.verdict == Verdict::Error {
            NonSuccessKind::Error
        } else {
            NonSuccessKind::Failure
        };
        let mut rerun = TestRerun::new(kind);
        rerun
            .set_type(attempt.verdict.as_str())
            .set_message(attempt.reason.as_str())
            .set_time(Duration::from_millis(attempt.duration_ms));
        status.add_rerun(rerun);
    }
    if let Some(step) = &case.failed_step {
        // A no-op on success, which has no description.
        status.set_description(format!("failed step {step}"));
    }

    let classname = case.id.split('.').next().unwrap_or(case.id.as_str());
    let mut test_case = TestCase::new(case.id.as_str(), status);
    test_case
        .set_classname(classname)
        .set_time(Duration::from_millis(case.duration_ms))
        .add_property(Property::new("verdict", case.verdict.as_str()))
        .add_properties(
            case.requirements
                .iter()
                .map(|requirement| Property::new("requirement", requirement.as_str())),
        );
    if let Some(step) = &case.failed_step {
        test_case.add_property(Property::new("failed_step", step.as_str()));
    }
    if case.flaky {
        test_case.add_property(Property::new(
            "flaky",
            format!("passed on attempt {}", case.retries.len() + 1),
        ));
    }
    if let Some(expected) = &case.expected {
        let held = if expected.held { "held" } else { "deviation" };
        test_case.add_property(Property::new(
            "expected",
            format!("{} ({held}): {}", expected.verdict, expected.why),
        ));
    }
    test_case.add_properties(case.findings.iter().map(|finding| {
        Property::new(
            finding.kind.as_str(),
            format!("{}: {}", finding.requirement, finding.text),
        )
    }));
    test_case.set_system_out(system_out(case, report_dir, detail));
    test_case
}

/// The case's facts as `key: value` lines, for people reading CI output,
/// the trace as an attachment, and the transcript.
fn system_out(case: &CaseRecord, report_dir: &Path, detail: Detail) -> String {
    let mut out = String::new();
    let mut line = |key: &str, value: &str| {
        out.push_str(key);
        out.push_str(": ");
        out.push_str(value);
        out.push('\n');
    };
    line("title", &case.title);
    line("verdict", case.verdict.as_str());
    line("reason", &reason_text(&case.reason));
    if let Some(step) = &case.failed_step {
        line("failed step", step);
    }
    for finding in &case.findings {
        line(
            &format!("{} ({})", finding.kind, finding.requirement),
            &finding.text,
        );
    }
    if !case.requirements.is_empty() {
        line("requirements", &case.requirements.join(", "));
    }
    if !case.providers.is_empty() {
        line("providers", &case.providers.join(", "));
    }
    if let Some(trace) = &case.evidence.trace {
        line("trace", trace);
    }
    if let Some(transcript) = &case.evidence.transcript {
        line("transcript", transcript);
    }
    for certificate in &case.evidence.certificates {
        line("certificate", certificate);
    }
    if let Some(trace) = &case.evidence.trace {
        out.push_str(&format!(
            "[[ATTACHMENT|{}]]\n",
            report_dir.join(trace).display()
        ));
    }
    if detail != Detail::Full {
        out.push_str("\n[transcript left out of junit.xml: over its share of the report budget]\n");
    } else if let Some(transcript) = &case.evidence.transcript {
        let path = report_dir.join(transcript);
        out.push('\n');
        match std::fs::read_to_string(&path) {
            Ok(text) => match cut_at(&text, MAX_SYSTEM_OUT_TRANSCRIPT) {
                None => out.push_str(&text),
                Some(head) => {
                    out.push_str(head);
                    out.push_str(&format!(
                        "\n[transcript cut here: {} more bytes in {}]\n",
                        text.len() - head.len(),
                        path.display()
                    ));
                }
            },
            Err(e) => out.push_str(&format!(
                "(transcript {} unreadable: {e})\n",
                path.display()
            )),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::tests::sample_run;

    fn parsed(run: &RunRecord) -> (String, Report) {
        let xml = render_junit(run, Path::new("report")).unwrap();
        let report = Report::deserialize_from_str(&xml).unwrap();
        (xml, report)
    }

    fn property<'a>(case: &'a TestCase, name: &str) -> Vec<&'a str> {
        case.properties
            .iter()
            .filter(|p| p.name.as_str() == name)
            .map(|p| p.value.as_str())
            .collect()
    }

    #[test]
    fn verdicts_map_to_junit_elements() {
        let run = sample_run();
        let (xml, report) = parsed(&run);

        assert_eq!(report.test_suites.len(), 1);
        let suite = &report.test_suites[0];
        assert_eq!(suite.name.as_str(), "picharness");
        assert_eq!(suite.tests, 5);
        assert_eq!(suite.failures, 1);
        assert_eq!(suite.errors, 1);
        assert_eq!(suite.skipped, 2);

        let by_id = |id: &str| {
            suite
                .test_cases
                .iter()
                .find(|c| c.name.as_str() == id)
                .unwrap_or_else(|| panic!("no test case {id} in\n{xml}"))
        };

        let pass = by_id("aol.tls.client-eku");
        assert!(matches!(pass.status, TestCaseStatus::Success { .. }));
        assert_eq!(pass.classname.as_ref().unwrap().as_str(), "aol");
        assert_eq!(pass.time, Some(Duration::from_millis(1234)));
        assert_eq!(property(pass, "verdict"), ["pass"]);
        assert_eq!(property(pass, "requirement"), ["REQ-TLS-1", "REQ-TLS-2"]);
        assert!(property(pass, "failed_step").is_empty());
        let warned = pass;
        assert_eq!(
            property(warned, "warning"),
            ["CERT-07: the key is RSA 1024 <bits> & \"acceptable\"; 2048 or more is recommended"]
        );
        let out = warned.system_out.as_ref().unwrap().as_str();
        assert!(
            out.contains("warning (CERT-07): the key is RSA 1024"),
            "{out}"
        );

        let fail = by_id("edge.dns.srv-federation");
        assert_eq!(fail.classname.as_ref().unwrap().as_str(), "edge");
        match &fail.status {
            TestCaseStatus::NonSuccess {
                kind: NonSuccessKind::Failure,
                message,
                ty,
                ..
            } => {
                assert_eq!(
                    message.as_ref().unwrap().as_str(),
                    "the SRV record points to <wrong> & \"bad\" host"
                );
                assert_eq!(ty.as_ref().unwrap().as_str(), "fail");
            }
            other => panic!("fail became {other:?}"),
        }
        assert_eq!(property(fail, "verdict"), ["fail"]);
        assert_eq!(property(fail, "failed_step"), ["2: read the response"]);
        let out = fail.system_out.as_ref().unwrap().as_str();
        assert!(out.contains("failed step: 2: read the response\n"), "{out}");
        assert!(
            out.contains("requirements: REQ-TLS-1, REQ-TLS-2\n"),
            "{out}"
        );
        assert!(
            out.contains("[[ATTACHMENT|report/cases/edge.dns.srv-federation/trace.pcapng]]\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "transcript report/cases/edge.dns.srv-federation/transcript.txt unreadable"
            ),
            "{out}"
        );

        let error = by_id("av.turn.relay-range");
        assert_eq!(error.classname.as_ref().unwrap().as_str(), "av");
        assert!(matches!(
            &error.status,
            TestCaseStatus::NonSuccess { kind: NonSuccessKind::Error, message, .. }
                if message.as_ref().unwrap().as_str() == "cannot bind 127.80.0.30:3478"
        ));
        assert_eq!(property(error, "verdict"), ["error"]);

        let skipped = by_id("aol.presence.pidf");
        assert!(matches!(
            &skipped.status,
            TestCaseStatus::Skipped { message, .. }
                if message.as_ref().unwrap().as_str() == "not applicable to this topology"
        ));
        assert_eq!(property(skipped, "verdict"), ["skipped"]);

        let inconclusive = by_id("messenger.im.inbound");
        assert_eq!(
            inconclusive.classname.as_ref().unwrap().as_str(),
            "messenger"
        );
        assert!(matches!(
            &inconclusive.status,
            TestCaseStatus::Skipped { message, .. }
                if message.as_ref().unwrap().as_str() == "inconclusive: registration failed"
        ));
        assert_eq!(property(inconclusive, "verdict"), ["inconclusive"]);
    }

    #[test]
    fn xml_text_has_the_expected_elements() {
        let xml = render_junit(&sample_run(), Path::new("report")).unwrap();
        assert!(xml.contains("<testsuite name=\"picharness\""), "{xml}");
        assert_eq!(xml.matches("<testcase ").count(), 5, "{xml}");
        assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
        assert_eq!(xml.matches("<error ").count(), 1, "{xml}");
        assert_eq!(xml.matches("<skipped ").count(), 2, "{xml}");
        assert!(
            xml.contains("message=\"inconclusive: registration failed\""),
            "{xml}"
        );
        assert!(
            xml.contains("<property name=\"verdict\" value=\"inconclusive\"/>"),
            "{xml}"
        );
        assert!(
            xml.contains("&lt;wrong&gt; &amp;"),
            "reason not escaped:\n{xml}"
        );
    }

    #[test]
    fn the_transcript_is_the_system_out() {
        let run = sample_run();
        let dir = tempfile::tempdir().unwrap();
        let case_dir = dir.path().join("cases/aol.tls.client-eku");
        std::fs::create_dir_all(&case_dir).unwrap();
        let transcript =
            "[+0.000 ms] aol sent 127.80.1.1:1 -> 127.80.0.10:5061\n    OPTIONS sip:x SIP/2.0\n";
        std::fs::write(case_dir.join("transcript.txt"), transcript).unwrap();
        let report = junit_report(&run, dir.path());
        let case = report.test_suites[0]
            .test_cases
            .iter()
            .find(|c| c.name.as_str() == "aol.tls.client-eku")
            .unwrap();
        let out = case.system_out.as_ref().unwrap().as_str();
        let attachment = format!(
            "[[ATTACHMENT|{}]]\n\n",
            dir.path()
                .join("cases/aol.tls.client-eku/trace.pcapng")
                .display()
        );
        assert!(out.contains(&attachment), "{out}");
        assert!(out.ends_with(transcript), "{out}");
    }

    #[test]
    fn write_junit_writes_the_rendered_report() {
        let run = sample_run();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("junit.xml");
        write_junit(&path, &run).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            render_junit(&run, dir.path()).unwrap()
        );
        let err = write_junit(&dir.path().join("no/such/dir/junit.xml"), &run).unwrap_err();
        assert!(matches!(err, JunitError::Io { .. }), "{err}");
    }
}
