//! Tests of the load rule for refusal cases: a case that counts a refusal
//! as a pass must carry a control step proving the Edge works.

use std::path::Path;

use super::parse_case;

fn providers() -> Vec<String> {
    vec!["aol".into()]
}

const REFUSAL: &str = r#"id = "aol.policy.x"
title = "t"
requirements = ["FED-14"]
providers = ["aol"]

[[steps]]
actor = "aol"
send = """
MESSAGE sip:{user.peer}@elsewhere.test SIP/2.0
Content-Length: {content_length}
"""

[[steps]]
actor = "aol"
expect = "refusal"
"#;

const CONTROL: &str = r#"
[[steps]]
actor = "aol"
control = true
send = """
MESSAGE sip:{user.lync}@{sut.domain} SIP/2.0
Content-Length: {content_length}
"""

[[steps]]
actor = "pool"
control = true
expect = "request MESSAGE"
"#;

#[test]
fn a_refusal_without_a_control_step_is_rejected_at_its_step() {
    let err = parse_case(Path::new("r.toml"), REFUSAL, &providers()).unwrap_err();
    assert_eq!(err.field, "steps[1].control");
    assert_eq!(err.line, 13, "{err}");
    assert!(err.message.contains("control = true"), "{err}");
}

#[test]
fn a_refusal_with_a_control_expect_step_loads() {
    let text = format!("{REFUSAL}{CONTROL}");
    let case = parse_case(Path::new("r.toml"), &text, &providers()).expect("loads");
    let controls: Vec<bool> = case.steps.iter().map(|s| s.control).collect();
    assert_eq!(controls, [false, false, true, true]);
    assert!(case.steps[1].is_refusal());
}

#[test]
fn a_control_that_only_sends_proves_nothing() {
    let text = format!("{REFUSAL}{CONTROL}").replace(
        "control = true\nexpect = \"request MESSAGE\"",
        "expect = \"request MESSAGE\"",
    );
    let err = parse_case(Path::new("r.toml"), &text, &providers()).unwrap_err();
    assert_eq!(err.field, "steps[1].control", "{err}");
}

#[test]
fn a_refusal_step_cannot_be_its_own_control() {
    let text = format!("{REFUSAL}{CONTROL}").replace(
        "expect = \"refusal\"",
        "control = true\nexpect = \"refusal\"",
    );
    let err = parse_case(Path::new("r.toml"), &text, &providers()).unwrap_err();
    assert_eq!(err.field, "steps[1].control", "{err}");
}
