//! Fuzzes the SDP parser on arbitrary text (bytes decoded lossily, as an
//! offer arriving in a SIP body is) and its typed views. Any panic is a
//! bug. Run: `cd wire/fuzz && cargo +nightly fuzz run sdp_parse`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use picharness_wire::sdp::Sdp;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
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
});
