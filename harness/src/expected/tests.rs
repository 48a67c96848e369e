//! Tests of the expected-verdicts file: loading, errors with lines, and
//! judging results against it.

use super::*;
use picharness_reports::EvidenceFiles;

fn case(id: &str) -> Case {
    Case {
        id: id.to_owned(),
        title: String::new(),
        requirements: vec![],
        providers: vec![],
        tags: vec![],
        timeout: std::time::Duration::from_secs(1),
        no_fault_reason: None,
        exclusive: false,
        needs: vec![],
        steps: vec![],
        source: PathBuf::new(),
    }
}

fn catalogue() -> Vec<Case> {
    [
        "aol.sip.options",
        "messenger.sip.options",
        "edge.dns.srv-federation",
    ]
    .map(case)
    .to_vec()
}

fn record(id: &str, verdict: Verdict, reason: &str) -> CaseRecord {
    CaseRecord {
        id: id.to_owned(),
        title: String::new(),
        providers: vec![],
        requirements: vec![],
        tags: vec![],
        verdict,
        reason: reason.to_owned(),
        failed_step: None,
        duration_ms: 1,
        evidence: EvidenceFiles::default(),
        expected: None,
        retries: Vec::new(),
        flaky: false,
        findings: vec![],
    }
}

const FILE: &str = r#"
[cases."messenger.sip.options"]
verdict = "fail"
why = "no Allow header, accepted (TICKET-12)"
reason = "the 200 OK to OPTIONS has no Allow header*"

[cases."edge.dns.srv-federation"]
verdict = "inconclusive"
why = "DNS is not ours"
"#;

fn judged(id: &str, verdict: Verdict, reason: &str) -> CaseRecord {
    let expected = ExpectedVerdicts::parse(Path::new("expect.toml"), FILE, &catalogue()).unwrap();
    let mut r = record(id, verdict, reason);
    expected.judge(&mut r);
    r
}

#[test]
fn a_known_fail_with_its_reason_is_no_deviation() {
    let r = judged(
        "messenger.sip.options",
        Verdict::Fail,
        "the 200 OK to OPTIONS has no Allow header (from 127.91.0.10:5061)",
    );
    assert!(r.expected.as_ref().unwrap().held);
    assert_eq!(r.deviation(), None);
    // Any reason will do when the file names none.
    let r = judged("edge.dns.srv-federation", Verdict::Inconclusive, "anything");
    assert_eq!(r.deviation(), None);
}

#[test]
fn a_known_fail_whose_reason_changed_is_a_deviation() {
    let r = judged(
        "messenger.sip.options",
        Verdict::Fail,
        "the Edge answered 403 Forbidden",
    );
    let deviation = r.deviation().unwrap();
    assert!(deviation.contains("reason changed"), "{deviation}");
    assert!(deviation.contains("403 Forbidden"), "{deviation}");
}

#[test]
fn a_known_fail_that_passes_and_a_new_fail_are_deviations() {
    let r = judged("messenger.sip.options", Verdict::Pass, "all 2 steps held");
    let deviation = r.deviation().unwrap();
    assert!(
        deviation.starts_with("expected fail (no Allow header, accepted (TICKET-12)), now pass"),
        "{deviation}"
    );
    let r = judged("aol.sip.options", Verdict::Fail, "no answer within 5000 ms");
    assert!(r.expected.is_none());
    assert_eq!(
        r.deviation().unwrap(),
        "fail (not an expected result): no answer within 5000 ms"
    );
    // Unlisted passes and inconclusives are fine, as without a file.
    assert_eq!(
        judged("aol.sip.options", Verdict::Pass, "ok").deviation(),
        None
    );
    assert_eq!(
        judged("aol.sip.options", Verdict::Inconclusive, "x").deviation(),
        None
    );
}

#[test]
fn unknown_ids_name_the_file_and_line() {
    let text = "[cases.\"aol.sip.options\"]\nverdict = \"fail\"\nwhy = \"x\"\n\n\
                [cases.\"aol.sip.no-such-case\"]\nverdict = \"fail\"\nwhy = \"y\"\n";
    let errors =
        ExpectedVerdicts::parse(Path::new("nightly.toml"), text, &catalogue()).unwrap_err();
    assert_eq!(errors.len(), 1);
    let message = errors[0].to_string();
    assert!(
        message
            .starts_with("nightly.toml:5: field `cases.\"aol.sip.no-such-case\"`: unknown case id"),
        "{message}"
    );
}

#[test]
fn bad_entries_are_errors_with_lines() {
    let bad_verdict = "[cases.\"aol.sip.options\"]\nverdict = \"broken\"\nwhy = \"x\"\n";
    let errors =
        ExpectedVerdicts::parse(Path::new("e.toml"), bad_verdict, &catalogue()).unwrap_err();
    assert!(
        errors[0].to_string().starts_with("e.toml:2:"),
        "{}",
        errors[0]
    );
    let unknown_key = "[cases.\"aol.sip.options\"]\nverdict = \"fail\"\nwhy = \"x\"\nticket = 3\n";
    let errors =
        ExpectedVerdicts::parse(Path::new("e.toml"), unknown_key, &catalogue()).unwrap_err();
    assert!(errors[0].to_string().contains("ticket"), "{}", errors[0]);
    let no_why = "[cases.\"aol.sip.options\"]\nverdict = \"fail\"\nwhy = \" \"\n";
    let errors = ExpectedVerdicts::parse(Path::new("e.toml"), no_why, &catalogue()).unwrap_err();
    assert!(
        errors[0].to_string().starts_with("e.toml:1:"),
        "{}",
        errors[0]
    );
}

#[test]
fn reasons_match_across_nets_and_generated_names() {
    assert!(reason_matches(
        "no answer from 127.80.0.10:5061 for lync-aol-im-3fa9c1",
        "no answer from 127.92.0.10:5061 for lync-aol-im-004711"
    ));
    assert!(!reason_matches("answered 403", "answered 404"));
    assert!(reason_matches("answered *", "answered 404"));
    assert!(reason_matches("a*c*e", "abcde"));
    assert!(!reason_matches("a*c*e", "abde"));
    assert!(!reason_matches("ab*ba", "aba"));
}

#[test]
fn init_writes_a_file_that_loads_and_holds_for_its_own_run() {
    let mut run = picharness_reports::RunRecord {
        schema_version: picharness_reports::SCHEMA_VERSION,
        tool: picharness_reports::ToolInfo {
            name: "picharness".to_owned(),
            version: "0".to_owned(),
        },
        sut: picharness_reports::SutInfo {
            kind: "embedded-reference".to_owned(),
            access_edge_fqdn: String::new(),
            sip_domain: String::new(),
            access_edge_address: "127.80.0.10:5061".to_owned(),
            faults: vec![],
        },
        started_at: "2026-12-03T00:00:00Z".to_owned(),
        duration_ms: 1,
        totals: picharness_reports::Totals::default(),
        cases: vec![
            record("aol.sip.options", Verdict::Pass, "ok"),
            record(
                "messenger.sip.options",
                Verdict::Fail,
                "no \"Allow\" header\\ from 127.80.0.10:5061",
            ),
        ],
        invocation: None,
        edge_liveness: None,
        expect_file: None,
        merged: None,
    };
    let text = expectations_from_report(&run);
    assert!(!text.contains("aol.sip.options"), "{text}");
    let expected = ExpectedVerdicts::parse(Path::new("init.toml"), &text, &catalogue()).unwrap();
    for case in &mut run.cases {
        expected.judge(case);
        assert_eq!(case.deviation(), None, "{text}");
    }
}
