//! Property tests: emission then parsing is the identity on the parsed
//! form, for generated messages, URIs, name-addrs and Via values; and
//! nothing in the SIP core panics on arbitrary bytes.

use picharness_wire::sip::{
    NameAddr, SipMessage, SipUri, StartLine, StreamDecoder, Via, lint, validate_stream,
};
use proptest::prelude::*;

fn token() -> impl Strategy<Value = String> {
    "[A-Za-z0-9!%*_+`'~.-]{1,12}"
}

fn host() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z][a-z0-9-]{0,8}(\\.[a-z][a-z0-9]{0,8}){0,3}",
        (0u8..=255, 0u8..=255, 0u8..=255, 0u8..=255)
            .prop_map(|(a, b, c, d)| format!("{a}.{b}.{c}.{d}")),
        any::<[u16; 8]>().prop_map(|g| std::net::Ipv6Addr::from(g).to_string()),
    ]
}

fn param() -> impl Strategy<Value = (String, Option<String>)> {
    (
        "[a-z][a-z0-9-]{0,8}",
        proptest::option::of("[A-Za-z0-9.-]{1,10}"),
    )
}

fn sip_uri() -> impl Strategy<Value = SipUri> {
    (
        prop_oneof![Just("sip".to_owned()), Just("sips".to_owned())],
        proptest::option::of("[a-z0-9._+-]{1,10}(%[0-9A-F]{2})?"),
        host(),
        proptest::option::of(any::<u16>()),
        proptest::collection::vec(param(), 0..3),
        proptest::collection::vec(("[A-Za-z]{1,6}", "[A-Za-z0-9%]{0,8}"), 0..2),
    )
        .prop_map(|(scheme, user, host, port, params, headers)| SipUri {
            scheme,
            user,
            host,
            port,
            params,
            headers,
        })
}

/// A header value without CR, LF, leading or trailing whitespace.
fn header_value() -> impl Strategy<Value = String> {
    "[!-~]([ -~]{0,40}[!-~])?"
}

fn message() -> impl Strategy<Value = SipMessage> {
    let start = prop_oneof![
        (token(), sip_uri()).prop_map(|(method, uri)| StartLine::Request {
            method,
            uri: uri.to_string(),
            version: "SIP/2.0".to_owned(),
        }),
        (100u16..=699, "[A-Za-z][A-Za-z ]{0,20}[A-Za-z]").prop_map(|(code, reason)| {
            StartLine::Response {
                version: "SIP/2.0".to_owned(),
                code,
                reason,
            }
        }),
    ];
    let headers = proptest::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,15}", header_value()), 0..12);
    let body = proptest::collection::vec(any::<u8>(), 0..200);
    (start, headers, body).prop_map(|(start, headers, body)| {
        let mut m = SipMessage::request("X", "sip:x");
        m.start = start;
        for (name, value) in headers {
            if !name.eq_ignore_ascii_case("content-length") && !name.eq_ignore_ascii_case("l") {
                m.headers.push(name, value);
            }
        }
        m.set_body(body);
        m
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn built_messages_survive_emit_and_parse(m in message()) {
        let parsed = SipMessage::parse(&m.to_bytes()).expect("emitted message parses");
        prop_assert_eq!(&parsed.start, &m.start);
        prop_assert_eq!(&parsed.headers, &m.headers);
        prop_assert_eq!(&parsed.body, &m.body);
        prop_assert_eq!(parsed.raw, m.to_bytes());
    }

    #[test]
    fn sip_uris_survive_display_and_parse(u in sip_uri()) {
        let text = u.to_string();
        let mut expected = u.clone();
        expected.host = expected.host.to_ascii_lowercase();
        prop_assert_eq!(SipUri::parse(&text).expect("displayed URI parses"), expected);
    }

    #[test]
    fn name_addrs_survive_display_and_parse(
        display in proptest::option::of("[A-Za-z][A-Za-z .]{0,10}[A-Za-z]"),
        uri in sip_uri(),
        params in proptest::collection::vec(param(), 0..3),
    ) {
        let a = NameAddr { display, uri: uri.to_string(), params };
        prop_assert_eq!(NameAddr::parse(&a.to_string()), Some(a));
    }

    #[test]
    fn vias_survive_display_and_parse(
        transport in "[A-Z]{2,5}",
        host in host(),
        port in proptest::option::of(any::<u16>()),
        params in proptest::collection::vec(param(), 0..3),
    ) {
        let via = Via { protocol: "SIP".to_owned(), version: "2.0".to_owned(), transport, host, port, params };
        prop_assert_eq!(Via::parse(&via.to_string()), Ok(via));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_parsed_forms_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        if let Ok(m) = SipMessage::parse(&bytes) {
            let again = SipMessage::parse(&m.to_bytes()).expect("emitted form of a parsed message parses");
            prop_assert_eq!(&again.start, &m.start);
            prop_assert_eq!(&again.headers, &m.headers);
            prop_assert_eq!(&again.body, &m.body);
            let _ = validate_stream(&m);
        }
        let _ = lint(&bytes);
        let mut decoder = StreamDecoder::new(512);
        for chunk in bytes.chunks(7) {
            decoder.push(chunk);
            while let Ok(Some(_)) = decoder.next_frame() {}
        }
    }

    #[test]
    fn sip_shaped_noise_never_panics(
        lines in proptest::collection::vec("[ -~\t]{0,60}", 0..12),
        start in prop_oneof![Just("INVITE sip:a@b SIP/2.0"), Just("SIP/2.0 200 OK"), Just("OPTIONS sip:[::1 SIP/2.0")],
    ) {
        let names = ["Via", "v", "To", "From", "Contact", "Route", "CSeq", "Max-Forwards", "Date", "Content-Length", "Expires", "Warning"];
        let mut text = format!("{start}\r\n");
        for (i, line) in lines.iter().enumerate() {
            text.push_str(&format!("{}: {line}\r\n", names[i % names.len()]));
        }
        text.push_str("\r\n");
        let report = lint(text.as_bytes());
        for finding in &report.findings {
            prop_assert!(!finding.to_string().is_empty());
        }
    }
}
