//! `run --retries N`: a case that fails its first attempt only (fault
//! `ignore-first-options`) passes on the retry and is marked flaky in
//! every output, with the failed attempt's evidence kept.

use crate::support::run_suite;

#[test]
fn a_case_that_passes_on_retry_is_flaky_everywhere() {
    let fault = ["--sut-fault", "ignore-first-options", "sip.options"];
    let plain = run_suite(243, &fault);
    assert_eq!(plain.code(), Some(1), "{}", plain.stdout());
    let verdicts = plain.verdicts();
    assert_eq!(verdicts.len(), 3, "{verdicts:?}");
    assert!(verdicts.values().all(|(v, _)| v == "fail"), "{verdicts:?}");

    let retried = run_suite(243, &[&fault[..], &["--retries", "2"]].concat());
    assert_eq!(retried.code(), Some(0), "{}", retried.stdout());
    let cases = retried.summary["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 3);
    for case in cases {
        let id = case["id"].as_str().expect("id");
        assert_eq!(case["verdict"], "pass", "{case}");
        assert_eq!(case["flaky"], true, "{case}");
        let retries = case["retries"].as_array().expect("retries");
        assert_eq!(retries.len(), 1, "one failed attempt, then a pass: {case}");
        assert_eq!(retries[0]["verdict"], "fail");
        assert!(
            retries[0]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("nothing arrived")),
            "{case}"
        );
        let trace = retries[0]["evidence"]["trace"].as_str().expect("trace");
        assert_eq!(trace, format!("cases/{id}/attempt-1/trace.pcapng"));
        assert!(retried.report_path().join(trace).is_file(), "{trace}");
        assert!(
            retried
                .report_path()
                .join(case["evidence"]["trace"].as_str().expect("trace"))
                .is_file()
        );
    }
    let stdout = retried.stdout();
    assert_eq!(stdout.matches("  flaky        ").count(), 3, "{stdout}");
    assert!(
        stdout.contains("passed on attempt 2 after fail"),
        "{stdout}"
    );
    let junit =
        std::fs::read_to_string(retried.report_path().join("junit.xml")).expect("junit.xml");
    assert_eq!(junit.matches("<flakyFailure").count(), 3, "{junit}");
    assert_eq!(junit.matches("name=\"flaky\"").count(), 3, "{junit}");
    let html =
        std::fs::read_to_string(retried.report_path().join("index.html")).expect("index.html");
    assert!(html.contains(">flaky</span>"));
}
