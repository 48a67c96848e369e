//! The whole suite against the good reference Edge: every case passes.

use crate::support::{all_case_ids_with_robustness, run_suite};

#[test]
fn every_case_passes_against_the_good_reference_edge() {
    // The robustness family too: no good Edge may fail a robustness case.
    let run = run_suite(81, &["--include-robustness"]);
    let verdicts = run.verdicts();
    let failing: Vec<_> = verdicts.iter().filter(|(_, (v, _))| v != "pass").collect();
    assert!(
        failing.is_empty(),
        "not all cases passed: {failing:#?}\nstdout:\n{}",
        run.stdout()
    );
    assert_eq!(run.code(), Some(0), "stderr:\n{}", run.stderr());
    let ids: Vec<String> = verdicts.keys().cloned().collect();
    let mut expected = all_case_ids_with_robustness();
    expected.sort();
    assert_eq!(
        ids, expected,
        "summary.json must hold every case of the catalogue"
    );
    assert!(
        ids.len() >= 11,
        "the walking skeleton has at least 11 cases, found {}",
        ids.len()
    );
    let totals = &run.summary["totals"];
    assert_eq!(totals["pass"].as_u64(), Some(ids.len() as u64));
    // The good Edge earns no warning and no observation.
    assert_eq!(totals["warning"].as_u64(), Some(0), "{}", run.stdout());
    assert_eq!(totals["observation"].as_u64(), Some(0), "{}", run.stdout());
    assert_eq!(run.summary["schema_version"].as_u64(), Some(1));
    assert!(run.report_path().join("junit.xml").is_file());
}

#[test]
fn libtest_filters_select_cases() {
    let run = run_suite(82, &["messenger.im.in", "--skip", "session"]);
    let ids: Vec<String> = run.verdicts().keys().cloned().collect();
    assert_eq!(ids, vec!["messenger.im.inbound".to_owned()]);
    let exact = run_suite(82, &["--exact", "edge.sip.max-forwards"]);
    assert_eq!(
        exact.verdicts().keys().cloned().collect::<Vec<_>>(),
        vec!["edge.sip.max-forwards".to_owned()]
    );
}
