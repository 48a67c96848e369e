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
        &[
            "messenger.im.inbound",
            "yahoo.im.inbound",
            "aol.im.inbound",
            "partner.im.inbound",
        ],
        "Record-Route",
    ),
    (
        "dns-srv-wrong-port",
        &["edge.dns.srv-port", "partner.im.inbound"],
        "5062",
    ),
    (
        "dns-target-not-in-san",
        &[
            "edge.tls.server-cert",
            "edge.dns.srv-target-in-san",
            "partner.im.inbound",
        ],
        "sip-alt.contoso.test",
    ),
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
            "partner.im.inbound",
        ],
        "",
    ),
    (
        "dns-srv-missing",
        &["edge.dns.srv-exists", "partner.im.inbound"],
        "no SRV record for _sipfederationtls._tcp.contoso.test.",
    ),
    (
        "dns-target-unresolvable",
        &["edge.dns.srv-target-resolves", "partner.im.inbound"],
        "contoso.test does not resolve",
    ),
    (
        "dns-target-wrong-address",
        &["edge.dns.srv-target-address", "partner.im.inbound"],
        ".0.254:5061",
    ),
    ("dns-no-tcp", &["edge.dns.over-tcp"], "over TCP"),
];

/// Fault, the cases it must make inconclusive (a precondition the fault
/// breaks, judged by another case), and a phrase their reasons must hold.
/// Every case in neither table must pass.
const FAULT_INCONCLUSIVE: &[(&str, &[&str], &str)] = &[
    (
        "dns-srv-missing",
        &[
            "edge.dns.srv-port",
            "edge.dns.srv-target-resolves",
            "edge.dns.srv-target-in-san",
            "edge.dns.srv-target-address",
            "edge.dns.over-tcp",
            "edge.tls.server-cert",
        ],
        "no SRV record",
    ),
    (
        "dns-target-unresolvable",
        &["edge.dns.srv-target-address"],
        "has no address",
    ),
];

fn check_fault(net: u8, fault: &str) {
    let (_, must_fail, phrase) = FAULT_TABLE
        .iter()
        .find(|(f, _, _)| *f == fault)
        .expect("fault in table");
    let (must_be_inconclusive, inconclusive_phrase) = FAULT_INCONCLUSIVE
        .iter()
        .find(|(f, _, _)| *f == fault)
        .map_or((&[][..], ""), |(_, cases, phrase)| (*cases, *phrase));
    let run = run_suite(net, &["--sut-fault", fault]);
    let verdicts = run.verdicts();
    assert_eq!(verdicts.len(), all_case_ids().len(), "every case must run");
    for (id, (verdict, reason)) in &verdicts {
        if must_be_inconclusive.contains(&id.as_str()) {
            assert_eq!(
                verdict, "inconclusive",
                "{fault}: {id} must be inconclusive, got {verdict}: {reason}"
            );
            assert!(
                reason.contains(inconclusive_phrase),
                "{fault}: {id}'s reason must mention {inconclusive_phrase:?}: {reason}"
            );
        } else if must_fail.contains(&id.as_str()) {
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
fn dns_srv_missing_fails_the_srv_exists_case() {
    check_fault(130, "dns-srv-missing");
}

#[test]
fn dns_target_unresolvable_fails_the_target_resolves_case() {
    check_fault(131, "dns-target-unresolvable");
}

#[test]
fn dns_target_wrong_address_fails_the_target_address_case() {
    check_fault(132, "dns-target-wrong-address");
}

#[test]
fn dns_no_tcp_fails_the_over_tcp_case() {
    check_fault(133, "dns-no-tcp");
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
    for (fault, cases, _) in FAULT_INCONCLUSIVE {
        assert!(table.contains(fault), "{fault} is not a fault");
        for id in *cases {
            assert!(
                all_case_ids().contains(&(*id).to_owned()),
                "FAULT_INCONCLUSIVE names unknown case {id}"
            );
        }
    }
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
