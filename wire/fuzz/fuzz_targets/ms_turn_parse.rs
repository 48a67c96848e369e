//! Fuzzes the MS-TURN core on arbitrary bytes: message parsing with its
//! typed views, the MS-TURN integrity check, the TCP framing and the
//! pseudo-TLS hellos. Any panic is a bug. Run:
//! `cd wire/fuzz && cargo +nightly fuzz run ms_turn_parse`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use picharness_wire::ms_turn::{
    MsTurnMessage, ServerHello, check_ms_integrity, decode_tcp_frame, parse_client_hello,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = MsTurnMessage::parse(data) {
        let _ = (message.ms_version(), message.unknown_mandatory());
        let _ = (
            message.send_request_parts(),
            message.data_indication_parts(),
        );
        let again = MsTurnMessage::parse(&message.encode());
        assert!(again.is_ok(), "the encoded form of a parsed message parses");
    }
    let _ = check_ms_integrity(data, b"key");
    let mut rest = data;
    while let Ok(Some((_, used))) = decode_tcp_frame(rest) {
        if used == 0 || used > rest.len() {
            break;
        }
        rest = &rest[used..];
    }
    let _ = (parse_client_hello(data), ServerHello::parse(data));
});
