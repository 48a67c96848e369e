//! The evidence a run leaves: pcapng traces that tshark decrypts with no
//! extra setup, transcripts, certificate chains, and JUnit.

use std::process::Command;

use crate::support::{run_suite, test_net};

fn tshark() -> Command {
    let found = Command::new("tshark")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "tshark is required for this test (the README's test command installs it)"
    );
    Command::new("tshark")
}

#[test]
fn tshark_decrypts_the_sip_of_an_inbound_case() {
    let run = run_suite(89, &["--exact", "messenger.im.inbound"]);
    let case = run.report_path().join("cases").join("messenger.im.inbound");
    let trace = case.join("trace.pcapng");
    assert!(trace.is_file(), "trace.pcapng missing");
    let output = tshark()
        .arg("-r")
        .arg(&trace)
        .args([
            "-Y",
            "sip",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "ip.dst",
            "-e",
            "sip.Method",
            "-e",
            "sip.Status-Code",
            "-e",
            "sip.Call-ID",
            "-e",
            "frame.time_epoch",
        ])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let ours: Vec<&Vec<&str>> = rows
        .iter()
        .filter(|r| r.get(4).is_some_and(|c| c.contains("messenger-im-inbound")))
        .collect();
    let has = |method: &str, status: &str, src: &str, dst: &str| {
        ours.iter()
            .any(|r| r[2] == method && r[3] == status && r[0] == src && r[1] == dst)
    };
    // Messenger peer -> Edge external, Edge internal -> pool, and the 200s back.
    let net = test_net(89);
    let at = |host: &str| format!("127.{net}.{host}");
    assert!(
        has("MESSAGE", "", &at("1.2"), &at("0.10")),
        "peer's MESSAGE to the Edge not found:\n{text}"
    );
    assert!(
        has("MESSAGE", "", &at("0.11"), &at("0.20")),
        "Edge's MESSAGE to the pool not found:\n{text}"
    );
    assert!(
        has("", "200", &at("0.20"), &at("0.11")),
        "pool's 200 not found:\n{text}"
    );
    assert!(
        has("", "200", &at("0.10"), &at("1.2")),
        "Edge's 200 to the peer not found:\n{text}"
    );
    // The frames' times follow causality along the relay: the peer's
    // MESSAGE, the Edge's copy to the pool, the pool's 200, then the Edge's
    // 200 to the peer. (Each leg is recorded by a different endpoint.)
    let time_of = |method: &str, status: &str, src: &str, dst: &str| -> f64 {
        ours.iter()
            .find(|r| r[2] == method && r[3] == status && r[0] == src && r[1] == dst)
            .and_then(|r| r.get(5))
            .and_then(|t| t.parse().ok())
            .unwrap_or_else(|| panic!("no time for {method}{status} {src} -> {dst}:\n{text}"))
    };
    let legs = [
        time_of("MESSAGE", "", &at("1.2"), &at("0.10")),
        time_of("MESSAGE", "", &at("0.11"), &at("0.20")),
        time_of("", "200", &at("0.20"), &at("0.11")),
        time_of("", "200", &at("0.10"), &at("1.2")),
    ];
    assert!(
        legs.windows(2).all(|w| w[0] <= w[1]),
        "frames out of causal order {legs:?}:\n{text}"
    );
    let transcript = std::fs::read_to_string(case.join("transcript.txt")).expect("transcript");
    assert!(
        transcript.contains("MESSAGE sip:lync-messenger-im-inbound"),
        "{transcript}"
    );
}

#[test]
fn server_certificate_case_keeps_the_chain() {
    let run = run_suite(90, &["--exact", "edge.tls.server-cert"]);
    let case = run.report_path().join("cases").join("edge.tls.server-cert");
    let pem =
        std::fs::read_to_string(case.join("sut-server-chain.pem")).expect("chain PEM written");
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
    let dump =
        std::fs::read_to_string(case.join("sut-server-chain.txt")).expect("chain dump written");
    assert!(dump.contains("sip.contoso.test"), "{dump}");
    let evidence = &run.summary["cases"][0]["evidence"];
    assert_eq!(
        evidence["certificates"][0],
        "cases/edge.tls.server-cert/sut-server-chain.pem"
    );
}

#[test]
fn junit_reports_failures_by_case_id() {
    let run = run_suite(
        91,
        &[
            "--sut-fault",
            "dns-srv-wrong-port",
            "--exact",
            "edge.dns.srv-port",
        ],
    );
    let junit = std::fs::read_to_string(run.report_path().join("junit.xml")).expect("junit.xml");
    assert!(junit.contains("edge.dns.srv-port"), "{junit}");
    assert!(junit.contains("<failure"), "{junit}");
    // The trace is attached the way Jenkins and GitLab read it, and the
    // transcript is the system-out.
    let trace = run
        .report_path()
        .join("cases/edge.dns.srv-port/trace.pcapng");
    assert!(trace.is_file());
    assert!(
        junit.contains(&format!("[[ATTACHMENT|{}]]", trace.display())),
        "{junit}"
    );
    assert!(junit.contains("runner note: DNS "), "{junit}");
}

#[test]
fn dns_over_udp_and_tcp_is_in_the_trace_of_the_case_that_asked() {
    let run = run_suite(134, &["--exact", "edge.dns.over-tcp"]);
    let (verdict, reason) = &run.verdicts()["edge.dns.over-tcp"];
    assert_eq!(verdict, "pass", "{reason}");
    let trace = run
        .report_path()
        .join("cases")
        .join("edge.dns.over-tcp")
        .join("trace.pcapng");
    let output = tshark()
        .arg("-r")
        .arg(&trace)
        .args([
            "-d",
            "udp.port==5353,dns",
            "-d",
            "tcp.port==5353,dns",
            "-Y",
            "dns.flags.response == 1",
            "-T",
            "fields",
            "-e",
            "ip.proto",
            "-e",
            "dns.qry.name",
            "-e",
            "dns.srv.port",
            "-e",
            "dns.a",
        ])
        .output()
        .expect("tshark runs");
    assert!(
        output.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split('\t').collect()).collect();
    let net = test_net(134);
    for proto in ["17", "6"] {
        assert!(
            rows.iter().any(|r| r[0] == proto
                && r[1] == "_sipfederationtls._tcp.contoso.test"
                && r[2] == "5061"),
            "SRV answer over IP protocol {proto} missing:\n{text}"
        );
        assert!(
            rows.iter().any(|r| r[0] == proto
                && r[1] == "sip.contoso.test"
                && r[3] == format!("127.{net}.0.10")),
            "A answer over IP protocol {proto} missing:\n{text}"
        );
    }
}

#[test]
fn a_handshake_the_harness_refuses_is_in_the_trace() {
    // The peers refuse the expired Edge certificate: the case fails, and
    // its trace holds the handshake that failed, down to our alert.
    let run = run_suite(
        215,
        &[
            "--sut-fault",
            "expired-cert",
            "--exact",
            "messenger.im.inbound",
        ],
    );
    let (verdict, reason) = &run.verdicts()["messenger.im.inbound"];
    assert_eq!(verdict, "fail", "{reason}");
    let trace = run
        .report_path()
        .join("cases")
        .join("messenger.im.inbound")
        .join("trace.pcapng");
    let output = tshark()
        .arg("-r")
        .arg(&trace)
        .args([
            "-Y",
            "tls.handshake or tls.alert_message",
            "-T",
            "fields",
            "-e",
            "tls.handshake.type",
            "-e",
            "tls.alert_message.desc",
        ])
        .output()
        .expect("tshark runs");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let fields: Vec<&str> = text.split(['\t', '\n', ',']).collect();
    // ClientHello, ServerHello, the Edge's Certificate, and certificate_expired (45).
    for wanted in ["1", "2", "11", "45"] {
        assert!(
            fields.contains(&wanted),
            "{wanted} missing from the trace:\n{text}"
        );
    }
}

#[test]
fn peers_locate_the_edge_through_dns_as_their_profile_says() {
    let run = run_suite(138, &["im.inbound"]);
    let verdicts = run.verdicts();
    for id in ["messenger.im.inbound", "partner.im.inbound"] {
        assert_eq!(verdicts[id].0, "pass", "{id}: {}", verdicts[id].1);
    }
    let transcript = |id: &str| {
        std::fs::read_to_string(
            run.report_path()
                .join("cases")
                .join(id)
                .join("transcript.txt"),
        )
        .expect("transcript")
    };
    let net = test_net(138);
    // A PIC provider resolves the provisioned FQDN and asks for no SRV.
    let messenger = transcript("messenger.im.inbound");
    assert!(
        messenger.contains(&format!(
            "messenger locating the Edge: DNS 127.{net}.0.2:53: A/AAAA sip.contoso.test. -> [127.{net}.0.10] (from the provisioned access-edge FQDN sip.contoso.test)"
        )),
        "{messenger}"
    );
    assert!(
        !messenger.contains(&format!(
            "messenger locating the Edge: DNS 127.{net}.0.2:53: SRV"
        )),
        "{messenger}"
    );
    // An open federation partner asks for the SRV first, then its target.
    let partner = transcript("partner.im.inbound");
    let srv = partner
        .find("partner locating the Edge: DNS")
        .and_then(|_| {
            partner.find("SRV _sipfederationtls._tcp.contoso.test. -> [0 0 5061 sip.contoso.test.]")
        });
    let a = partner.find(&format!(
        "A/AAAA sip.contoso.test. -> [127.{net}.0.10] (from SRV"
    ));
    assert!(
        matches!((srv, a), (Some(s), Some(a)) if s < a),
        "SRV then A expected:\n{partner}"
    );
}

#[test]
fn the_run_keeps_every_dns_message_in_dns_pcapng() {
    let run = run_suite(139, &["--exact", "edge.dns.srv-exists"]);
    let output = tshark()
        .arg("-r")
        .arg(run.report_path().join("dns.pcapng"))
        .args(["-Y", "dns", "-T", "fields", "-e", "dns.qry.name"])
        .output()
        .expect("tshark runs");
    assert!(output.status.success(), "{output:?}");
    let names = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        names
            .lines()
            .any(|n| n == "_sipfederationtls._tcp.contoso.test"),
        "{names}"
    );
}
