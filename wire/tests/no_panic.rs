//! Property tests on stable Rust: every parser of the wire core is fed
//! arbitrary bytes and mutated valid messages (bytes flipped, inserted and
//! removed, and arbitrary Unicode, multi-byte characters and control
//! characters spliced into SIP header values), and must return a value or
//! an error, never panic. Each property runs a few hundred cases, so the
//! whole file takes a few seconds; the libFuzzer targets in `wire/fuzz/`
//! run the same entry points for as long as one wants.

use std::net::SocketAddr;

use picharness_wire::ms_turn::{
    MsTurnMessage, ServerHello, check_ms_integrity, decode_tcp_frame, ms_attr, ms_send_request,
    ms_turn_key, parse_client_hello,
};
use picharness_wire::rtcp::{ReceiverReport, is_rtcp};
use picharness_wire::rtp::{RtpHeader, RtpPacket};
use picharness_wire::sdp::Sdp;
use picharness_wire::sip::{SipMessage, StreamDecoder, lint, validate_stream};
use picharness_wire::stun::{
    ChannelData, Class, MessageBuilder, StunMessage, StunStreamDecoder, attr, method,
};
use proptest::prelude::*;

const SIP_REQUEST: &str = "INVITE sip:bob@contoso.test;transport=tls SIP/2.0\r\nVia: SIP/2.0/TLS sip.example.com:5061;branch=z9hG4bK-1;received=192.0.2.1\r\nMax-Forwards: 70\r\nRecord-Route: <sip:edge.contoso.test:5061;transport=tls;lr>\r\nRoute: <sip:[2001:db8::1]:5061;lr>\r\nFrom: \"Alice \\\"A\\\"\" <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@contoso.test>\r\nCall-ID: c1@example.com\r\nCSeq: 1 INVITE\r\nContact: <sip:alice@192.0.2.1:5061;transport=tls>;expires=3600\r\nExpires: 120\r\nRetry-After: 30 (busy);duration=60\r\nDate: Sat, 13 Nov 2010 23:29:00 GMT\r\nWarning: 399 edge \"text\"\r\nContent-Type: application/sdp\r\nContent-Length: 4\r\n\r\nv=0\n";

const SIP_RESPONSE: &str = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS sip.example.com:5061;branch=z9hG4bK-1\r\nFrom: <sip:alice@example.com>;tag=1\r\nTo: <sip:bob@contoso.test>;tag=2\r\nCall-ID: c1@example.com\r\nCSeq: 1 INVITE\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n";

const SDP: &str = "v=0\r\no=- 1 1 IN IP4 192.0.2.10\r\ns=-\r\nc=IN IP4 192.0.2.10\r\nt=0 0\r\nm=audio 50123 RTP/AVP 0 101\r\nc=IN IP4 203.0.113.12\r\na=rtpmap:0 PCMU/8000\r\na=candidate:1 1 UDP 2130706431 192.0.2.10 40000 typ host\r\na=candidate:2 1 UDP 16777215 203.0.113.12 50123 typ relay raddr 192.0.2.10 rport 40000\r\na=sendrecv\r\n";

fn peer() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 7], 50_000))
}

/// A STUN Allocate-style request with every kind of attribute the parser
/// reads, signed and fingerprinted.
fn stun_seed() -> Vec<u8> {
    MessageBuilder::new(Class::Request, method::ALLOCATE, [7; 12])
        .text(attr::USERNAME, "messenger-av")
        .text(attr::REALM, "contoso.test")
        .xor_address(attr::XOR_PEER_ADDRESS, peer())
        .plain_address(attr::MAPPED_ADDRESS, peer())
        .u32_value(attr::LIFETIME, 600)
        .error_code(438, "Stale Nonce")
        .build(Some(b"key"), true)
}

fn ms_turn_seed() -> Vec<u8> {
    ms_send_request([9; 16], peer(), b"hello peer")
        .with(ms_attr::USERNAME, b"user")
        .encode_with_integrity(&ms_turn_key("user", "realm", "pass"))
}

fn rtp_seed() -> Vec<u8> {
    RtpPacket {
        header: RtpHeader {
            marker: true,
            payload_type: 0,
            sequence: 1,
            timestamp: 160,
            ssrc: 0x1234_5678,
        },
        payload: vec![0xd5; 20],
    }
    .encode()
}

fn rtcp_seed() -> Vec<u8> {
    ReceiverReport {
        reporter_ssrc: 1,
        source_ssrc: 2,
        fraction_lost: 3,
        cumulative_lost: -4,
        extended_highest_sequence: 5,
        jitter: 6,
        last_sr: 7,
        delay_since_last_sr: 8,
    }
    .encode()
}

/// One edit of a byte string.
#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Remove(usize, usize),
    Truncate(usize),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let interesting = prop_oneof![
        any::<u8>().prop_map(|b| vec![b]),
        Just(b"\r\n".to_vec()),
        Just(b"\r\n\r\n".to_vec()),
        Just("\u{20ac}".as_bytes().to_vec()),
        Just("\u{1f600}".as_bytes().to_vec()),
        Just(vec![0x00]),
        Just(vec![0x1b, b'[']),
        Just(vec![0xff, 0xfe]),
        Just(b";".to_vec()),
        Just(b"<".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\\".to_vec()),
        Just(b":".to_vec()),
        Just(b"[".to_vec()),
        Just(b"%".to_vec()),
        Just(b"9999999999999999999999999".to_vec()),
    ];
    let edit = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        (any::<usize>(), interesting).prop_map(|(i, b)| Edit::Insert(i, b)),
        (any::<usize>(), 1..8usize).prop_map(|(i, n)| Edit::Remove(i, n)),
        any::<usize>().prop_map(Edit::Truncate),
    ];
    proptest::collection::vec(edit, 1..8)
}

fn mutate(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    for edit in edits {
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
        match edit {
            Edit::Flip(i, b) => {
                if !bytes.is_empty() {
                    let i = i % bytes.len();
                    bytes[i] = *b;
                }
            }
            Edit::Insert(i, more) => {
                let i = at(*i, bytes.len());
                bytes.splice(i..i, more.iter().copied());
            }
            Edit::Remove(i, n) => {
                let i = at(*i, bytes.len());
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Truncate(i) => {
                let i = at(*i, bytes.len());
                bytes.truncate(i);
            }
        }
    }
    bytes
}

/// Everything the SIP core does with bytes from a peer.
fn judge_sip(bytes: &[u8]) {
    if let Ok(message) = SipMessage::parse(bytes) {
        let _ = validate_stream(&message);
        let _ = (message.vias(), message.from_addr(), message.to_addr());
        let _ = (message.cseq(), message.summary());
        let _ = SipMessage::parse(&message.to_bytes());
    }
    for finding in lint(bytes).findings {
        assert!(!finding.to_string().is_empty());
        assert!(
            !finding.message.chars().any(char::is_control),
            "a finding carries a raw control character: {:?}",
            finding.message
        );
    }
    let mut decoder = StreamDecoder::new(2048);
    for chunk in bytes.chunks(5) {
        decoder.push(chunk);
        while let Ok(Some(_)) = decoder.next_frame() {}
    }
}

fn judge_stun(bytes: &[u8]) {
    if let Ok(message) = StunMessage::parse(bytes) {
        let _ = (message.check_integrity(b"key"), message.check_fingerprint());
        let _ = (message.error_code(), message.summary());
        let _ = message.xor_address(attr::XOR_PEER_ADDRESS);
        let _ = message.plain_address(attr::MAPPED_ADDRESS);
        let _ = (
            message.text(attr::USERNAME),
            message.u32_value(attr::LIFETIME),
        );
        let _ = message.unknown_required(&[attr::USERNAME]);
    }
    let _ = ChannelData::parse(bytes);
    let mut decoder = StunStreamDecoder::default();
    for chunk in bytes.chunks(9) {
        decoder.push(chunk);
        while let Ok(Some(_)) = decoder.next_frame() {}
    }
}

fn judge_ms_turn(bytes: &[u8]) {
    if let Ok(message) = MsTurnMessage::parse(bytes) {
        let _ = (message.ms_version(), message.unknown_mandatory());
        let _ = (
            message.send_request_parts(),
            message.data_indication_parts(),
        );
        let _ = message.encode();
    }
    let _ = check_ms_integrity(bytes, b"key");
    let mut rest = bytes;
    while let Ok(Some((_, used))) = decode_tcp_frame(rest) {
        if used == 0 || used > rest.len() {
            break;
        }
        rest = &rest[used..];
    }
    let _ = (parse_client_hello(bytes), ServerHello::parse(bytes));
}

fn judge_media(bytes: &[u8]) {
    let _ = RtpPacket::parse(bytes);
    let _ = (is_rtcp(bytes), ReceiverReport::parse(bytes));
}

fn judge_sdp(bytes: &[u8]) {
    let text = String::from_utf8_lossy(bytes);
    if let Ok(sdp) = Sdp::parse(&text) {
        for section in ["audio", "video"] {
            if let Some(media) = sdp.section(section) {
                let _ = media.has_attribute("sendrecv");
                for candidate in &media.candidates {
                    let _ = candidate.socket_addr();
                }
            }
        }
    }
}

/// A SIP message with `value` as the value of header `name`.
fn sip_with(name: &str, value: &str) -> Vec<u8> {
    SIP_RESPONSE
        .replacen("Expires: 3600", &format!("{name}: {value}"), 1)
        .into_bytes()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn sip_survives_mutated_messages(
        seed in prop_oneof![Just(SIP_REQUEST), Just(SIP_RESPONSE)],
        edits in edits(),
    ) {
        judge_sip(&mutate(seed.as_bytes(), &edits));
    }

    #[test]
    fn sip_survives_any_unicode_in_any_header(
        name in prop_oneof![
            Just("Expires"), Just("Retry-After"), Just("CSeq"), Just("Max-Forwards"),
            Just("Via"), Just("To"), Just("From"), Just("Contact"), Just("Route"),
            Just("Record-Route"), Just("Call-ID"), Just("Date"), Just("Content-Type"),
            Just("Warning"), Just("Subject"),
        ],
        prefix in "[0-9a-z<>:;@\"\\\\ ]{0,30}",
        value in any::<String>(),
    ) {
        let value: String = format!("{prefix}{value}")
            .chars()
            .filter(|c| *c != '\r' && *c != '\n')
            .collect();
        judge_sip(&sip_with(name, &value));
    }

    #[test]
    fn stun_survives_arbitrary_and_mutated_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        edits in edits(),
    ) {
        judge_stun(&bytes);
        judge_stun(&mutate(&stun_seed(), &edits));
    }

    #[test]
    fn ms_turn_survives_arbitrary_and_mutated_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..200),
        edits in edits(),
    ) {
        judge_ms_turn(&bytes);
        judge_ms_turn(&mutate(&ms_turn_seed(), &edits));
    }

    #[test]
    fn sdp_survives_arbitrary_and_mutated_text(
        bytes in proptest::collection::vec(any::<u8>(), 0..300),
        edits in edits(),
    ) {
        judge_sdp(&bytes);
        judge_sdp(&mutate(SDP.as_bytes(), &edits));
    }

    #[test]
    fn rtp_and_rtcp_survive_arbitrary_and_mutated_bytes(
        bytes in proptest::collection::vec(any::<u8>(), 0..100),
        edits in edits(),
    ) {
        judge_media(&bytes);
        judge_media(&mutate(&rtp_seed(), &edits));
        judge_media(&mutate(&rtcp_seed(), &edits));
    }
}

#[test]
fn the_issue_15_message_is_a_finding_not_a_panic() {
    // What an Edge sent: a non-numeric Expires with a multi-byte character
    // before byte 20 of a long value.
    judge_sip(&sip_with("Expires", "1234567890123456789\u{20ac}abcdefgh"));
    judge_sip(&sip_with("Retry-After", "1234567890123456789\u{e9}0000000"));
}
