//! Each fault switch of the reference Edge makes exactly the cases that
//! should notice it fail, with a reason naming the symptom, and leaves every
//! other case passing. The table itself is data in
//! `picharness_harness::fault_table` (harness/src/fault_table.rs), which
//! `docs/cases.md` is generated from too; this file runs it.

use picharness_harness::fault_table::{
    FAULT_FINDINGS, FAULT_INCONCLUSIVE, FAULT_OBSERVATIONS, FAULT_PHRASE_EXCEPTIONS, FAULT_TABLE,
    cases_failed_by,
};

use crate::support::{all_case_ids, all_case_ids_with_robustness, run_suite};

/// The cases the fault table says `fault` must fail (the generated
/// mutation cases too).
pub(crate) fn must_fail(fault: &str) -> Vec<String> {
    cases_failed_by(fault)
}

pub(crate) fn check_fault(net: u8, fault: &str) {
    let (_, _, phrase) = FAULT_TABLE
        .iter()
        .find(|(f, _, _)| *f == fault)
        .expect("fault in table");
    let must_fail = cases_failed_by(fault);
    let (must_be_inconclusive, inconclusive_phrase) = FAULT_INCONCLUSIVE
        .iter()
        .find(|(f, _, _)| *f == fault)
        .map_or((&[][..], ""), |(_, cases, phrase)| (*cases, *phrase));
    let (must_observe, observed_phrase) = FAULT_OBSERVATIONS
        .iter()
        .find(|(f, _, _)| *f == fault)
        .map_or((&[][..], ""), |(_, cases, phrase)| (*cases, *phrase));
    let flagged: &[(&str, &str)] = FAULT_FINDINGS
        .iter()
        .find(|(f, _, _, _)| *f == fault)
        .map_or(&[], |(_, cases, _, _)| cases);
    let (flag_kind, flag_phrase) = FAULT_FINDINGS
        .iter()
        .find(|(f, _, _, _)| *f == fault)
        .map_or(("", ""), |(_, _, kind, phrase)| (*kind, *phrase));
    // A fault the robustness family proves runs it too; other faults run
    // the default selection.
    let robustness = must_fail.iter().any(|id| id.contains(".robustness."));
    let run = if robustness {
        run_suite(net, &["--sut-fault", fault, "--include-robustness"])
    } else {
        run_suite(net, &["--sut-fault", fault])
    };
    let expected_ids = if robustness {
        all_case_ids_with_robustness()
    } else {
        all_case_ids()
    };
    let verdicts = run.verdicts();
    let findings = run.findings();
    for (id, list) in &findings {
        match flagged.iter().find(|(case, _)| case == id) {
            Some((_, cites)) => {
                assert!(
                    list.iter()
                        .any(|(kind, requirement, text)| kind == flag_kind
                            && requirement == cites
                            && text.contains(flag_phrase)),
                    "{fault}: {id} must carry a {flag_kind} citing {cites} that mentions {flag_phrase:?}: {list:?}"
                );
                assert_eq!(
                    verdicts[id].0, "pass",
                    "{fault}: {id} must pass with its {flag_kind}: {:?}",
                    verdicts[id]
                );
            }
            None => assert!(
                list.iter().all(|(kind, _, _)| kind != "warning"),
                "{fault}: {id} must carry no warning: {list:?}"
            ),
        }
    }
    assert_eq!(verdicts.len(), expected_ids.len(), "every case must run");
    for (id, (verdict, reason)) in &verdicts {
        if must_observe.contains(&id.as_str()) && !flagged.iter().any(|(case, _)| case == id) {
            assert_eq!(
                verdict, "pass",
                "{fault}: {id} must pass with an observation, got {verdict}: {reason}"
            );
            let observation = reason.split_once("observation: ").map(|(_, o)| o);
            assert!(
                observation.is_some_and(|o| o.contains(observed_phrase)),
                "{fault}: {id} must carry an observation mentioning {observed_phrase:?}: {reason}"
            );
        } else if must_be_inconclusive.contains(&id.as_str()) {
            assert_eq!(
                verdict, "inconclusive",
                "{fault}: {id} must be inconclusive, got {verdict}: {reason}"
            );
            assert!(
                reason.contains(inconclusive_phrase),
                "{fault}: {id}'s reason must mention {inconclusive_phrase:?}: {reason}"
            );
        } else if flagged.iter().any(|(case, _)| case == id) {
            // Judged above, with its finding.
        } else if must_fail.contains(id) {
            assert_eq!(
                verdict, "fail",
                "{fault}: {id} must fail, got {verdict}: {reason}"
            );
            let phrase = FAULT_PHRASE_EXCEPTIONS
                .iter()
                .find(|(f, case, _)| *f == fault && case == id)
                .map_or(*phrase, |(_, _, phrase)| *phrase);
            assert!(
                reason.contains(phrase),
                "{fault}: {id}'s reason must mention {phrase:?}: {reason}"
            );
        } else {
            assert_eq!(
                verdict, "pass",
                "{fault}: {id} must still pass, got {verdict}: {reason}"
            );
        }
    }
    let expected_code = if must_fail.is_empty() { 0 } else { 1 };
    assert_eq!(
        run.code(),
        Some(expected_code),
        "a failing case makes the exit code 1, observations alone leave it 0"
    );
    assert!(
        run.summary["sut"]["faults"]
            .as_array()
            .expect("faults")
            .iter()
            .any(|f| f == fault)
    );
}

/// One test per fault switch, each on its own loopback /16.
macro_rules! fault_test {
    ($name:ident, $net:expr, $fault:expr) => {
        #[test]
        fn $name() {
            check_fault($net, $fault);
        }
    };
}

fault_test!(no_client_eku, 60, "no-client-eku");
fault_test!(rsa_1024_cert, 201, "rsa-1024-cert");
fault_test!(sha1_signed_cert, 202, "sha1-signed-cert");
fault_test!(no_record_route, 61, "no-record-route");
fault_test!(dns_srv_wrong_port, 62, "dns-srv-wrong-port");
fault_test!(dns_target_not_in_san, 63, "dns-target-not-in-san");
fault_test!(accept_any_domain, 64, "accept-any-domain");
fault_test!(ignore_max_forwards, 65, "ignore-max-forwards");
fault_test!(drop_error_responses, 66, "drop-error-responses");
fault_test!(open_relay, 67, "open-relay");
fault_test!(ignore_options, 68, "ignore-options");
fault_test!(ignore_first_options, 235, "ignore-first-options");
fault_test!(no_keepalive_pong, 69, "no-keepalive-pong");
fault_test!(small_message_limit, 70, "small-message-limit");
fault_test!(no_message_size_limit, 71, "no-message-size-limit");
fault_test!(keep_own_route, 72, "keep-own-route");
fault_test!(keep_via_on_response, 73, "keep-via-on-response");
fault_test!(no_connection_reuse, 74, "no-connection-reuse");
fault_test!(cancel_not_forwarded, 75, "cancel-not-forwarded");
fault_test!(dns_srv_missing, 77, "dns-srv-missing");
fault_test!(dns_target_unresolvable, 78, "dns-target-unresolvable");
fault_test!(dns_target_wrong_address, 79, "dns-target-wrong-address");
fault_test!(dns_no_tcp, 80, "dns-no-tcp");
fault_test!(no_loop_detection, 58, "no-loop-detection");
fault_test!(no_lync_headers, 57, "no-lync-headers");
fault_test!(pass_through_trust_header, 56, "pass-through-trust-header");
fault_test!(silent_when_next_hop_down, 55, "silent-when-next-hop-down");
fault_test!(record_route_no_transport, 207, "record-route-no-transport");
fault_test!(no_outbound_name_check, 213, "no-outbound-name-check");
fault_test!(any_outbound_root, 214, "any-outbound-root");
fault_test!(
    no_outbound_validity_check,
    216,
    "no-outbound-validity-check"
);
fault_test!(no_outbound_eku_check, 217, "no-outbound-eku-check");
fault_test!(no_revocation_check, 155, "no-revocation-check");
fault_test!(relay_malformed, 236, "relay-malformed");
fault_test!(crash_on_malformed, 237, "crash-on-malformed");
fault_test!(hang_on_malformed, 238, "hang-on-malformed");
fault_test!(connection_slots, 173, "connection-slots");
fault_test!(serialised_handshakes, 171, "serialised-handshakes");
fault_test!(blocking_reads, 172, "blocking-reads");
fault_test!(crash_on_bad_tls, 174, "crash-on-bad-tls");
fault_test!(av_crash_on_bad_input, 175, "av-crash-on-bad-input");
fault_test!(pipelining_drops, 164, "pipelining-drops");
fault_test!(route_inward, 165, "route-inward");

/// The IM-session faults (hop-by-hop ACK, in-dialog CSeq, Call-ID and To tag) share one loopback
/// /16, one after the other.
#[test]
fn im_session_faults_fail_their_session_cases() {
    check_fault(76, "no-hop-ack");
    check_fault(76, "hop-ack-new-branch");
    check_fault(76, "hop-ack-copies-vias");
    check_fault(76, "renumber-in-dialog");
    check_fault(76, "new-call-id-in-dialog");
    check_fault(76, "retag-in-dialog");
}

/// The presence faults share one loopback /16, one after the other.
#[test]
fn presence_relay_faults_fail_their_presence_cases() {
    check_fault(208, "lengthen-subscription");
    check_fault(208, "unsubscribe-as-refresh");
    check_fault(208, "strip-event");
    check_fault(208, "pidf-entity-rewritten");
}

#[test]
fn no_client_eku_names_the_missing_eku() {
    let run = run_suite(
        83,
        &[
            "--sut-fault",
            "no-client-eku",
            "--exact",
            "aol.tls.client-eku",
        ],
    );
    let (_, reason) = &run.verdicts()["aol.tls.client-eku"];
    assert!(reason.contains("clientAuth"), "{reason}");
}

#[test]
fn ignore_max_forwards_case_names_the_483() {
    let run = run_suite(
        88,
        &[
            "--sut-fault",
            "ignore-max-forwards",
            "--exact",
            "edge.sip.max-forwards",
        ],
    );
    let (_, reason) = &run.verdicts()["edge.sip.max-forwards"];
    assert!(reason.contains("483"), "{reason}");
}

#[test]
fn record_route_addr_spec_fails_the_relayed_im_cases_as_invalid_sip() {
    check_fault(110, "record-route-addr-spec");
    let run = run_suite(
        110,
        &[
            "--sut-fault",
            "record-route-addr-spec",
            "--exact",
            "messenger.im.inbound",
        ],
    );
    let (_, reason) = &run.verdicts()["messenger.im.inbound"];
    assert!(reason.contains("as invalid SIP"), "{reason}");
    assert!(reason.contains("(RFC 3261 §20.30, §20.34)"), "{reason}");
}

#[test]
fn av_relay_out_of_range_fails_the_range_case() {
    check_fault(140, "av-relay-out-of-range");
}

#[test]
fn av_no_tcp_443_fails_the_tcp_binding_case() {
    check_fault(141, "av-no-tcp-443");
}

#[test]
fn av_wrong_mapped_address_fails_both_binding_cases() {
    check_fault(142, "av-wrong-mapped-address");
}

#[test]
fn av_no_auth_and_msturn_accepts_no_cookie_fail_their_cases() {
    check_fault(143, "av-no-auth");
    check_fault(143, "av-msturn-accepts-no-cookie");
}

#[test]
fn av_relay_drops_inbound_fails_the_round_trip_and_the_stream() {
    check_fault(144, "av-relay-drops-inbound");
}

#[test]
fn av_relay_lossy_is_observed_and_ignore_unknown_attributes_fails_its_cases() {
    check_fault(145, "av-relay-lossy");
    check_fault(145, "av-ignore-unknown-attributes");
}

#[test]
fn av_msturn_no_relay_fails_the_msturn_relay_cases() {
    check_fault(190, "av-msturn-no-relay");
}

#[test]
fn av_msturn_tcp_no_relay_fails_the_tcp_relay_case() {
    check_fault(200, "av-msturn-tcp-no-relay");
}

#[test]
fn av_no_relay_fails_the_delivery_cases_and_leaves_the_range_unshown() {
    check_fault(192, "av-no-relay");
}

#[test]
fn av_no_expiry_fails_the_expiry_case() {
    check_fault(191, "av-no-expiry");
}

#[test]
fn sdp_rewritten_fails_the_av_call_naming_the_altered_candidate() {
    check_fault(170, "sdp-rewritten");
    let run = run_suite(
        170,
        &[
            "--sut-fault",
            "sdp-rewritten",
            "--exact",
            "messenger.av.call",
        ],
    );
    let (_, reason) = &run.verdicts()["messenger.av.call"];
    assert!(reason.contains("a=candidate:2"), "{reason}");
    assert!(reason.contains("typ relay"), "{reason}");
}

#[test]
fn every_fault_is_in_the_table_and_every_case_can_fail() {
    let output = crate::support::binary()
        .arg("faults")
        .output()
        .expect("faults runs");
    let listed = String::from_utf8_lossy(&output.stdout).into_owned();
    let names: Vec<&str> = listed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let table: Vec<&str> = FAULT_TABLE.iter().map(|(f, _, _)| *f).collect();
    assert_eq!(
        names, table,
        "FAULT_TABLE must cover exactly the faults `picharness faults` lists"
    );
    for (fault, cases, _) in FAULT_INCONCLUSIVE.iter().chain(FAULT_OBSERVATIONS) {
        assert!(table.contains(fault), "{fault} is not a fault");
        for id in *cases {
            assert!(
                all_case_ids().contains(&(*id).to_owned()),
                "FAULT_INCONCLUSIVE names unknown case {id}"
            );
        }
    }
    for (fault, case, _) in FAULT_PHRASE_EXCEPTIONS {
        assert!(
            must_fail(fault).iter().any(|c| c == case),
            "FAULT_PHRASE_EXCEPTIONS: {fault} does not fail {case}"
        );
    }
    for (fault, cases, _, _) in FAULT_FINDINGS {
        assert!(table.contains(fault), "{fault} is not a fault");
        for (id, _) in *cases {
            assert!(
                all_case_ids().contains(&(*id).to_owned()),
                "FAULT_FINDINGS names unknown case {id}"
            );
        }
    }
    for id in all_case_ids_with_robustness() {
        let covered = FAULT_TABLE
            .iter()
            .any(|(fault, _, _)| cases_failed_by(fault).contains(&id))
            || FAULT_FINDINGS
                .iter()
                .any(|(_, cases, _, _)| cases.iter().any(|(case, _)| *case == id));
        assert!(
            covered,
            "case {id} is failed (or flagged) by no fault switch; add one or give it a no_fault_reason"
        );
    }
}

#[test]
fn av_no_pseudo_tls_fails_the_pseudo_tls_case() {
    check_fault(195, "av-no-pseudo-tls");
}

#[test]
fn av_msturn_tcp_keeps_malformed_fails_the_tcp_no_cookie_case() {
    check_fault(196, "av-msturn-tcp-keeps-malformed");
}

#[test]
fn fail_on_observation_turns_a_recorded_observation_into_exit_1() {
    let args = [
        "--sut-fault",
        "no-keepalive-pong",
        "--exact",
        "messenger.sip.keepalive",
    ];
    let plain = run_suite(198, &args);
    assert_eq!(plain.verdicts()["messenger.sip.keepalive"].0, "pass");
    assert_eq!(plain.summary["totals"]["observation"].as_u64(), Some(1));
    assert_eq!(plain.code(), Some(0), "an observation alone exits 0");
    assert!(
        plain.stdout().contains("1 with observations"),
        "{}",
        plain.stdout()
    );
    let mut strict = args.to_vec();
    strict.extend(["--fail-on", "warning,observation"]);
    let strict = run_suite(198, &strict);
    assert_eq!(strict.code(), Some(1), "--fail-on observation exits 1");
    let junit = std::fs::read_to_string(strict.report_path().join("junit.xml")).expect("junit");
    assert!(
        junit.contains("<property name=\"observation\" value=\"SIP-13: "),
        "{junit}"
    );
}
