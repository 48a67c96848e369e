//! `picharness list` and `picharness faults`.

use crate::support::{all_case_ids, binary};

#[test]
fn list_json_has_stable_ids_titles_and_requirements() {
    let ids = all_case_ids();
    for required in [
        "messenger.im.inbound",
        "yahoo.im.inbound",
        "aol.im.inbound",
        "messenger.im.outbound",
        "yahoo.im.outbound",
        "aol.im.outbound",
        "edge.dns.srv-exists",
        "edge.dns.srv-port",
        "edge.dns.srv-target-resolves",
        "edge.dns.srv-target-in-san",
        "edge.dns.srv-target-address",
        "edge.dns.over-tcp",
        "edge.tls.server-cert",
        "aol.tls.client-eku",
        "edge.policy.unfederated-domain",
        "edge.sip.max-forwards",
    ] {
        assert!(
            ids.iter().any(|id| id == required),
            "{required} missing from {ids:?}"
        );
    }
    let output = binary().arg("list").output().expect("list runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        text.contains("edge.sip.max-forwards") && text.contains("FED-09"),
        "{text}"
    );
}

#[test]
fn run_list_prints_trials_without_starting_anything() {
    let output = binary().args(["run", "--list"]).output().expect("runs");
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(text.contains("aol.tls.client-eku: test"), "{text}");
}

#[test]
fn the_checked_in_case_catalogue_is_current() {
    use picharness_harness::cases_doc::{CASES_DOC_PATH, REGENERATE_COMMAND};
    let output = binary()
        .args(["list", "--format", "markdown"])
        .output()
        .expect("list runs");
    assert!(output.status.success(), "{output:?}");
    let generated = String::from_utf8_lossy(&output.stdout).into_owned();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(CASES_DOC_PATH);
    let stored = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        stored == generated,
        "{CASES_DOC_PATH} is stale (a case, requirement text or fault-table row changed); \
         regenerate it from the repository root with:\n\n    {REGENERATE_COMMAND}\n"
    );
}
