//! The reference Edge in its conformant variants (`--sut-variant`): ways
//! real Edges differ that no requirement forbids. Every case must give the
//! verdict of a good run; where the harness says more than the requirement
//! (RFC 5922 §7 names in Record-Route, RFC 5923 connection reuse) the case
//! passes with an observation, never a fail.

use crate::support::{all_case_ids, run_suite};

/// Variant, and the cases that pass with an observation holding the phrase.
const VARIANT_OBSERVATIONS: &[(&str, &[&str], &str)] = &[
    (
        "addresses",
        &[
            "edge.sip.record-route-fqdn-inbound",
            "edge.sip.record-route-fqdn-outbound",
        ],
        "rather than",
    ),
    (
        "no-alias",
        &[
            "aol.sip.connection-reuse-inbound",
            "messenger.sip.connection-reuse-inbound",
            "yahoo.sip.connection-reuse-inbound",
        ],
        "on a new connection",
    ),
];

#[test]
fn every_case_passes_against_an_edge_using_addresses_and_no_alias() {
    let run = run_suite(
        211,
        &["--sut-variant", "addresses", "--sut-variant", "no-alias"],
    );
    let verdicts = run.verdicts();
    assert_eq!(verdicts.len(), all_case_ids().len(), "every case must run");
    let mut wrong = Vec::new();
    for (id, (verdict, reason)) in &verdicts {
        let observed = VARIANT_OBSERVATIONS
            .iter()
            .find(|(_, cases, _)| cases.contains(&id.as_str()));
        let observation = reason.split_once("observation: ").map(|(_, o)| o);
        match (verdict.as_str(), observed, observation) {
            ("pass", Some((_, _, phrase)), Some(text)) if text.contains(phrase) => {}
            ("pass", None, None) => {}
            _ => wrong.push(format!(
                "{id}: {verdict}: {reason} (expected pass{})",
                observed.map_or(String::new(), |(variant, _, phrase)| format!(
                    " with an observation about {variant} holding {phrase:?}"
                ))
            )),
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert_eq!(run.code(), Some(0), "observations never fail a run");
    let (_, reason) = &verdicts["edge.sip.record-route-fqdn-outbound"];
    assert!(
        reason.contains(".0.10:5061") && reason.contains("sip.contoso.test"),
        "the observation names the address and the FQDN: {reason}"
    );
}
