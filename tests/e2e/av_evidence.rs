//! The A/V cases' evidence: STUN/TURN datagrams that tshark dissects as
//! STUN, STUN over TCP 443, and the relayed RTP stream, all in the case's
//! trace.pcapng.

use std::path::Path;
use std::process::Command;

use crate::support::run_suite;

fn tshark_lines(trace: &Path, extra: &[&str], filter: &str, field: &str) -> Vec<String> {
    let output = Command::new("tshark")
        .arg("-r")
        .arg(trace)
        .args(extra)
        .args(["-Y", filter, "-T", "fields", "-e", field])
        .output()
        .expect("tshark is required (the test command installs it)");
    assert!(
        output.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn av_traces_hold_stun_turn_and_rtp_that_tshark_decodes() {
    let run = run_suite(146, &["av."]);
    for (id, (verdict, reason)) in run.verdicts() {
        assert_eq!(verdict, "pass", "{id}: {reason}");
    }
    let cases = run.report_path().join("cases");

    let roundtrip = cases.join("av.turn.relay-roundtrip").join("trace.pcapng");
    let types = tshark_lines(&roundtrip, &[], "stun", "stun.type");
    // 0x0003 Allocate, 0x0113 Allocate error (the 401), 0x0016 Send, 0x0017 Data, 0x0009 ChannelBind.
    for wanted in [
        "0x0003", "0x0113", "0x0103", "0x0016", "0x0017", "0x0009", "0x0004",
    ] {
        assert!(
            types.iter().any(|t| t == wanted),
            "no STUN type {wanted} in {types:?}"
        );
    }
    let channels = tshark_lines(&roundtrip, &[], "stun", "stun.channel");
    assert!(channels.iter().any(|c| c == "0x4000"), "{channels:?}");

    let tcp = cases.join("av.stun.binding-tcp").join("trace.pcapng");
    let over_tcp = tshark_lines(&tcp, &["-d", "tcp.port==443,stun"], "stun", "stun.type");
    assert_eq!(
        over_tcp,
        ["0x0001", "0x0101"],
        "Binding request and success over TCP 443"
    );

    let stream = cases.join("av.media.rtp-stream").join("trace.pcapng");
    let rtp = tshark_lines(
        &stream,
        &["--enable-heuristic", "rtp_udp"],
        "rtp",
        "rtp.seq",
    );
    assert_eq!(rtp.len(), 200, "100 RTP packets each way on the peer's leg");
}

#[test]
fn the_pseudo_tls_case_trace_holds_the_tcp_stream_hello_by_hello() {
    let run = run_suite(197, &["av.msturn.tcp-"]);
    let verdicts = run.verdicts();
    assert_eq!(verdicts.len(), 3, "{verdicts:?}");
    for (id, (verdict, reason)) in verdicts {
        assert_eq!(verdict, "pass", "{id}: {reason}");
    }
    let trace = run
        .report_path()
        .join("cases")
        .join("av.msturn.tcp-pseudo-tls")
        .join("trace.pcapng");
    let payloads: Vec<String> = tshark_lines(&trace, &[], "tcp.len > 0", "tcp.payload")
        .into_iter()
        .map(|p| p.replace(':', ""))
        .collect();
    // ClientHello record, ServerHello+ServerHelloDone record, framed Allocate, framed 0x0113.
    assert_eq!(payloads.len(), 4, "{payloads:?}");
    assert!(
        payloads[0].starts_with("160301002d01000029"),
        "{payloads:?}"
    );
    assert!(
        payloads[1].starts_with("160301004e02000046"),
        "{payloads:?}"
    );
    assert!(payloads[1].ends_with("0e000000"), "{payloads:?}");
    assert!(payloads[2].starts_with("020000"), "{payloads:?}");
    assert_eq!(&payloads[2][8..12], "0003", "{payloads:?}");
    assert!(payloads[3].starts_with("020000"), "{payloads:?}");
    assert_eq!(&payloads[3][8..12], "0113", "{payloads:?}");

    // The relay case's stream holds both end-to-end data frames (0x03): the
    // client's RTP-shaped payload out and the peer's reply back.
    let relay = run
        .report_path()
        .join("cases")
        .join("av.msturn.tcp-relay")
        .join("trace.pcapng");
    let stream = tshark_lines(&relay, &[], "tcp.len > 0", "tcp.payload")
        .into_iter()
        .map(|p| p.replace(':', ""))
        .collect::<String>();
    assert!(stream.contains("0300001580000001"), "{stream}");
    assert!(stream.contains("0300001780000002"), "{stream}");
}
