//! Fuzzes the RTP and RTCP parsers on arbitrary datagrams. Any panic is a
//! bug. Run: `cd wire/fuzz && cargo +nightly fuzz run rtp_parse`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use picharness_wire::rtcp::{ReceiverReport, is_rtcp};
use picharness_wire::rtp::RtpPacket;

fuzz_target!(|data: &[u8]| {
    if let Ok(packet) = RtpPacket::parse(data) {
        let _ = packet.encode();
    }
    if is_rtcp(data) {
        let _ = ReceiverReport::parse(data);
    }
});
