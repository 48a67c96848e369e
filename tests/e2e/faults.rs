//! Each fault switch of the reference Edge makes exactly the cases that
//! should notice it fail, with a reason naming the symptom, and leaves every
//! other case passing. This table is the catalogue's proof that its checks
//! can fail.

use crate::support::{all_case_ids, run_suite};

/// Fault, the cases it must fail, and a phrase each failing reason must hold.
const FAULT_TABLE: &[(&str, &[&str], &str)] = &[
    (
        "no-client-eku",
        &["aol.tls.client-eku", "aol.im.outbound"],
        "",
    ),
    (
        "no-record-route",
        &["messenger.im.inbound", "yahoo.im.inbound", "aol.im.inbound"],
        "Record-Route",
    ),
    ("dns-srv-wrong-port", &["edge.dns.srv-federation"], "5062"),
    ("dns-target-not-in-san", &["edge.tls.server-cert"], "SAN"),
    (
        "accept-any-domain",
        &["edge.policy.unfederated-domain"],
        "arrived at pool",
    ),
    (
        "ignore-max-forwards",
        &[
            "edge.sip.max-forwards",
            "messenger.im.inbound",
            "yahoo.im.inbound",
            "aol.im.inbound",
            "messenger.im.outbound",
            "yahoo.im.outbound",
            "aol.im.outbound",
        ],
        "",
    ),
    (
        "av-relay-out-of-range",
        &["av.turn.relay-range"],
        "50,000-59,999",
    ),
    (
        "av-no-tcp-443",
        &["av.stun.binding-tcp", "av.turn.relay-roundtrip-tcp"],
        "TCP",
    ),
    (
        "av-wrong-mapped-address",
        &["av.stun.binding-udp", "av.stun.binding-tcp"],
        "XOR-MAPPED-ADDRESS",
    ),
    (
        "av-no-auth",
        &["av.turn.auth-challenge", "av.msturn.auth-challenge"],
        "challenge",
    ),
    (
        "av-relay-drops-inbound",
        &[
            "av.turn.relay-roundtrip",
            "av.turn.relay-roundtrip-tcp",
            "av.media.rtp-stream",
        ],
        "peer",
    ),
    ("av-relay-lossy", &["av.media.rtp-stream"], "loss"),
    (
        "av-ignore-unknown-attributes",
        &["av.stun.unknown-attribute", "av.msturn.unknown-attribute"],
        "420",
    ),
    (
        "av-msturn-accepts-no-cookie",
        &["av.msturn.no-cookie-ignored"],
        "Magic Cookie",
    ),
];

fn check_fault(net: u8, fault: &str) {
    let (_, must_fail, phrase) = FAULT_TABLE
        .iter()
        .find(|(f, _, _)| *f == fault)
        .expect("fault in table");
    let run = run_suite(net, &["--sut-fault", fault]);
    let verdicts = run.verdicts();
    assert_eq!(verdicts.len(), all_case_ids().len(), "every case must run");
    for (id, (verdict, reason)) in &verdicts {
        if must_fail.contains(&id.as_str()) {
            assert_eq!(
                verdict, "fail",
                "{fault}: {id} must fail, got {verdict}: {reason}"
            );
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
    assert_eq!(run.code(), Some(1), "a failing case makes the exit code 1");
    assert!(
        run.summary["sut"]["faults"]
            .as_array()
            .expect("faults")
            .iter()
            .any(|f| f == fault)
    );
}

#[test]
fn no_client_eku_fails_the_aol_outbound_cases() {
    check_fault(83, "no-client-eku");
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
fn no_record_route_fails_the_inbound_cases() {
    check_fault(84, "no-record-route");
}

#[test]
fn dns_srv_wrong_port_fails_the_srv_case() {
    check_fault(85, "dns-srv-wrong-port");
}

#[test]
fn dns_target_not_in_san_fails_the_server_certificate_case() {
    check_fault(86, "dns-target-not-in-san");
}

#[test]
fn accept_any_domain_fails_the_policy_case() {
    check_fault(87, "accept-any-domain");
}

#[test]
fn ignore_max_forwards_fails_the_hop_count_cases() {
    check_fault(88, "ignore-max-forwards");
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
fn av_relay_lossy_and_ignore_unknown_attributes_fail_their_cases() {
    check_fault(145, "av-relay-lossy");
    check_fault(145, "av-ignore-unknown-attributes");
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
    for id in all_case_ids() {
        let covered = FAULT_TABLE
            .iter()
            .any(|(_, cases, _)| cases.contains(&id.as_str()));
        assert!(
            covered,
            "case {id} is failed by no fault switch; add one or give it a no_fault_reason"
        );
    }
}
