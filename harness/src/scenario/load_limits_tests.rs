//! Scenario files the loader must refuse with file, line and field: an
//! unbounded `{fill_to:N}`, a provider listed twice, and a dialog variable
//! in a send that no earlier expect step could have given a dialog.

use std::path::Path;

use super::parse_case;

fn providers() -> Vec<String> {
    vec!["messenger".into(), "yahoo".into()]
}

fn case(providers_line: &str, send: &str, expect_first: bool) -> String {
    let expect = if expect_first {
        "[[steps]]\nactor = \"messenger\"\nexpect = \"request INVITE\"\n\n"
    } else {
        ""
    };
    format!(
        "id = \"messenger.im.x\"\ntitle = \"t\"\nrequirements = [\"IM-01\"]\nproviders = {providers_line}\n\n{expect}[[steps]]\nactor = \"messenger\"\nsend = \"\"\"\n{send}\n\"\"\"\n"
    )
}

const MESSAGE: &str =
    "MESSAGE sip:{user.lync}@{sut.domain} SIP/2.0\nContent-Length: {content_length}\n\n{fill_to:N}";

#[test]
fn fill_to_over_one_mebibyte_is_refused_at_load_naming_line_and_field() {
    let text = case(
        "[\"messenger\"]",
        &MESSAGE.replace('N', "99999999999"),
        false,
    );
    let error = parse_case(Path::new("big.toml"), &text, &providers()).expect_err("refused");
    assert_eq!(error.field, "steps[0].send");
    assert_eq!(error.line, 8, "{error}");
    assert!(
        error
            .to_string()
            .contains("{fill_to:99999999999} must be a byte count of at most 1048576"),
        "{error}"
    );
    let at_limit = case("[\"messenger\"]", &MESSAGE.replace('N', "1048576"), false);
    assert!(parse_case(Path::new("ok.toml"), &at_limit, &providers()).is_ok());
}

#[test]
fn a_provider_listed_twice_is_refused() {
    let text = case(
        "[\"messenger\", \"messenger\"]",
        "OPTIONS sip:{sut.domain} SIP/2.0",
        false,
    );
    let error = parse_case(Path::new("dup.toml"), &text, &providers()).expect_err("refused");
    assert_eq!(error.field, "providers");
    assert!(error.message.contains("listed twice"), "{error}");
}

#[test]
fn a_dialog_variable_with_no_earlier_expect_is_a_scenario_error() {
    let bye = "BYE {dialog.target} SIP/2.0\n{dialog.route}\nTo: {dialog.remote}";
    let text = case("[\"messenger\"]", bye, false);
    let error = parse_case(Path::new("bye.toml"), &text, &providers()).expect_err("refused");
    assert_eq!(error.field, "steps[0].send");
    assert!(
        error
            .message
            .contains("{dialog.target} needs a dialog, but messenger has no earlier expect step"),
        "{error}"
    );
    let in_dialog = case("[\"messenger\"]", bye, true);
    assert!(parse_case(Path::new("ok.toml"), &in_dialog, &providers()).is_ok());
}
