//! Fuzzes the whole SIP core on arbitrary bytes: parse, emit and re-parse
//! (must be the identity on the parsed form), validate, lint, the typed
//! header views, transaction keys and the stream decoder. Any panic is a
//! bug. Run: `cd wire/fuzz && cargo +nightly fuzz run sip_parse`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use picharness_wire::sip::transaction::{ClientKey, ServerKey};
use picharness_wire::sip::{
    NameAddr, SipMessage, SipUri, StreamDecoder, TelUri, Via, lint, parse_params_strict,
    validate_stream,
};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = SipMessage::parse(data) {
        let emitted = message.to_bytes();
        let again = SipMessage::parse(&emitted).expect("the emitted form of a parsed message parses");
        assert_eq!(again.start, message.start);
        assert_eq!(again.headers, message.headers);
        assert_eq!(again.body, message.body);
        let _ = validate_stream(&message);
        let _ = (message.vias(), message.from_addr(), message.to_addr(), message.cseq());
        let _ = (ClientKey::of(&message), ServerKey::of(&message));
        if message.is_request() {
            let _ = message.response(486, "Busy Here", Some("t"));
        }
    }
    let _ = lint(data);
    let mut decoder = StreamDecoder::new(4096);
    for chunk in data.chunks(13) {
        decoder.push(chunk);
        while let Ok(Some(_)) = decoder.next_frame() {}
    }
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = (SipUri::parse(text), TelUri::parse(text), NameAddr::parse(text), Via::parse(text));
        let _ = parse_params_strict(text);
    }
});
