//! Tests of the abuse step form: a start and its end pair up, only in an
//! exclusive robustness case, run by a provider peer.

use std::path::Path;

use super::{AbuseKind, AbuseStep, Action, parse_case};

fn providers() -> Vec<String> {
    vec!["messenger".into(), "yahoo".into()]
}

const HEAD: &str = r#"id = "edge.robustness.slow.x"
title = "t"
requirements = ["ROB-01"]
providers = ["messenger", "yahoo"]
tags = ["robustness"]
exclusive = true
"#;

fn step(actor: &str, line: &str) -> String {
    format!("\n[[steps]]\nactor = \"{actor}\"\n{line}\n")
}

fn case(steps: &[String]) -> String {
    let mut text = HEAD.to_owned();
    text.push_str(&step(
        "messenger",
        "control = true\ncheck = \"liveness-probe\"",
    ));
    for s in steps {
        text.push_str(s);
    }
    text
}

#[test]
fn a_start_and_an_end_around_a_probe_load() {
    let text = case(&[
        step("yahoo", "abuse = \"slowloris\""),
        step("messenger", "check = \"liveness-probe\""),
        step("yahoo", "abuse = \"end\""),
    ]);
    let parsed = parse_case(Path::new("x.toml"), &text, &providers()).expect("loads");
    assert_eq!(
        parsed.steps[1].action,
        Action::Abuse(AbuseStep::Start(AbuseKind::Slowloris))
    );
    assert_eq!(parsed.steps[3].action, Action::Abuse(AbuseStep::End));
}

#[test]
fn an_unended_abuse_an_end_without_start_and_two_starts_are_refused() {
    let unended = case(&[step("yahoo", "abuse = \"slowloris\"")]);
    let err = parse_case(Path::new("x.toml"), &unended, &providers()).unwrap_err();
    assert!(err.message.contains("never ended"), "{err}");

    let stray = case(&[step("yahoo", "abuse = \"end\"")]);
    let err = parse_case(Path::new("x.toml"), &stray, &providers()).unwrap_err();
    assert!(err.message.contains("ends no running abuse"), "{err}");

    let twice = case(&[
        step("yahoo", "abuse = \"slowloris\""),
        step("yahoo", "abuse = \"idle-connections\""),
        step("yahoo", "abuse = \"end\""),
    ]);
    let err = parse_case(Path::new("x.toml"), &twice, &providers()).unwrap_err();
    assert!(err.message.contains("still running"), "{err}");
}

#[test]
fn an_abuse_needs_a_robustness_case_a_peer_and_a_known_name() {
    let steps = [
        step("yahoo", "abuse = \"slowloris\""),
        step("yahoo", "abuse = \"end\""),
    ];
    let shared = case(&steps).replace("exclusive = true\n", "");
    let err = parse_case(Path::new("x.toml"), &shared, &providers()).unwrap_err();
    assert!(err.message.contains("robustness case"), "{err}");

    let by_pool = case(&[
        step("pool", "abuse = \"slowloris\""),
        step("yahoo", "abuse = \"end\""),
    ]);
    let err = parse_case(Path::new("x.toml"), &by_pool, &providers()).unwrap_err();
    assert!(err.message.contains("provider peer"), "{err}");

    let unknown = case(&[
        step("yahoo", "abuse = \"flood\""),
        step("yahoo", "abuse = \"end\""),
    ]);
    let err = parse_case(Path::new("x.toml"), &unknown, &providers()).unwrap_err();
    assert!(err.message.contains("unknown abuse"), "{err}");
}
