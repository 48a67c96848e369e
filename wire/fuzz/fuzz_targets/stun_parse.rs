//! Fuzzes the STUN/TURN core on arbitrary bytes: message parsing and every
//! typed attribute view, integrity and fingerprint checks, ChannelData, and
//! the stream decoder. Any panic is a bug. Run:
//! `cd wire/fuzz && cargo +nightly fuzz run stun_parse`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use picharness_wire::stun::{ChannelData, StunMessage, StunStreamDecoder, attr};

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = StunMessage::parse(data) {
        let _ = (message.check_integrity(b"key"), message.check_fingerprint());
        let _ = (message.error_code(), message.summary());
        let _ = message.xor_address(attr::XOR_PEER_ADDRESS);
        let _ = message.xor_address(attr::XOR_RELAYED_ADDRESS);
        let _ = message.plain_address(attr::MAPPED_ADDRESS);
        let _ = (
            message.text(attr::USERNAME),
            message.u32_value(attr::LIFETIME),
        );
        let _ = message.unknown_required(&[attr::USERNAME]);
    }
    let _ = ChannelData::parse(data);
    let mut decoder = StunStreamDecoder::default();
    for chunk in data.chunks(11) {
        decoder.push(chunk);
        while let Ok(Some(_)) = decoder.next_frame() {}
    }
});
