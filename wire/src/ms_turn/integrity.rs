//! The MS-TURN digest ([MS-TURN] §3.1.12, §3.2.5.2, §3.3.5.1): after the
//! 0x0113/401 challenge the client repeats the Allocate with Username,
//! Realm, Nonce and a Message Integrity attribute (0x0008, 20 bytes of
//! HMAC-SHA1), keyed by its long-term credentials.
//!
//! What this module does, and where the published text leaves it open:
//! - The key is MD5(username ":" realm ":" password), the long-term key of
//!   RFC 5389 §15.4 that [MS-TURN] §3.1.12 points at when it replaces
//!   TURN-08's shared secrets with "long-term credentials". The sections
//!   read here do not spell the derivation out.
//! - The HMAC covers the message from the header up to the end of the
//!   attribute before Message Integrity, with the header length field
//!   counting up to the end of Message Integrity (so, when it is last, the
//!   real length). STUN draft-02, which [MS-TURN] builds on, also pads that
//!   text with zeros to a multiple of 64 bytes; whether MS-TURN keeps the
//!   padding is not stated in what was read, and HMAC-SHA1 gives different
//!   digests either way. This module does not pad (`PAD_TO_64 = false`).
//!
//! The harness and the reference A/V Edge share this code, so a pass
//! against the reference proves the exchange, not bit-compatibility with a
//! Lync 2013 A/V Edge; see docs/av.md.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::message::{MsTurnMessage, ms_attr};
use crate::stun::long_term_key;

const HEADER_LEN: usize = 20;
/// Message Integrity attribute: 4-byte header and a 20-byte HMAC-SHA1.
const INTEGRITY_LEN: usize = 24;
/// Whether the HMAC input is zero-padded to 64 bytes (STUN draft-02 style).
const PAD_TO_64: bool = false;

/// The MS-TURN long-term key: MD5(username ":" realm ":" password).
pub fn ms_turn_key(username: &str, realm: &str, password: &str) -> Vec<u8> {
    long_term_key(username, realm, password)
}

fn hmac_sha1(key: &[u8], text: &[u8]) -> Vec<u8> {
    let mut input = text.to_vec();
    if PAD_TO_64 {
        input.resize(input.len().div_ceil(64) * 64, 0);
    }
    match Hmac::<Sha1>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(&input);
            mac.finalize().into_bytes().to_vec()
        }
        // HMAC takes keys of any length.
        Err(_) => Vec::new(),
    }
}

/// What a message's Message Integrity says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsIntegrity {
    Absent,
    Valid,
    Invalid,
}

impl MsTurnMessage {
    /// Encodes the message with Message Integrity appended as the last
    /// attribute, computed with `key`.
    pub fn encode_with_integrity(&self, key: &[u8]) -> Vec<u8> {
        let mut bytes = self.encode();
        let length = u16::try_from(bytes.len() - HEADER_LEN + INTEGRITY_LEN).unwrap_or(u16::MAX);
        bytes[2..4].copy_from_slice(&length.to_be_bytes());
        let mac = hmac_sha1(key, &bytes);
        bytes.extend_from_slice(&ms_attr::MESSAGE_INTEGRITY.to_be_bytes());
        bytes.extend_from_slice(&20u16.to_be_bytes());
        bytes.extend_from_slice(&mac);
        bytes
    }
}

/// Verifies the Message Integrity of an encoded MS-TURN message (`bytes`
/// as received) with `key`.
pub fn check_ms_integrity(bytes: &[u8], key: &[u8]) -> MsIntegrity {
    let mut offset = HEADER_LEN;
    while let Some(header) = bytes.get(offset..offset + 4) {
        let kind = u16::from_be_bytes([header[0], header[1]]);
        let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
        if kind == ms_attr::MESSAGE_INTEGRITY {
            let Some(value) = bytes
                .get(offset + 4..offset + 4 + len)
                .filter(|v| v.len() == 20)
            else {
                return MsIntegrity::Invalid;
            };
            let mut text = bytes[..offset].to_vec();
            let length = u16::try_from(offset + INTEGRITY_LEN - HEADER_LEN).unwrap_or(u16::MAX);
            text[2..4].copy_from_slice(&length.to_be_bytes());
            return if hmac_sha1(key, &text) == value {
                MsIntegrity::Valid
            } else {
                MsIntegrity::Invalid
            };
        }
        offset += 4 + ((len + 3) & !3);
    }
    MsIntegrity::Absent
}

#[cfg(test)]
mod tests {
    use super::super::message::ms_type;
    use super::*;

    const TID: [u8; 16] = [
        0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee,
        0xff,
    ];

    /// [MS-TURN] gives no digest vectors. This one was computed apart from
    /// this code (Python's hashlib/hmac) over the layout written out below:
    /// key = MD5("alice:contoso.test:secret").
    #[test]
    fn authenticated_allocate_matches_an_independently_computed_digest() {
        let key = ms_turn_key("alice", "contoso.test", "secret");
        assert_eq!(
            key,
            [
                0x20, 0x59, 0x9a, 0xd0, 0x3f, 0xfe, 0xe5, 0xaa, 0xe1, 0x55, 0x4f, 0xab, 0x1a, 0x27,
                0xa1, 0x72
            ]
        );
        let message = MsTurnMessage::new(ms_type::ALLOCATE_REQUEST, TID)
            .with(ms_attr::USERNAME, b"alice")
            .with(ms_attr::REALM, b"contoso.test")
            .with(ms_attr::NONCE, b"n0nce");
        let bytes = message.encode_with_integrity(&key);
        // Header: type 0x0003, length 72 = cookie 8 + username 12 +
        // realm 16 + nonce 12 + integrity 24.
        assert_eq!(&bytes[..4], &[0x00, 0x03, 0x00, 0x48]);
        assert_eq!(
            &bytes[bytes.len() - 24..bytes.len() - 20],
            &[0x00, 0x08, 0x00, 0x14]
        );
        assert_eq!(
            &bytes[bytes.len() - 20..],
            &[
                0x66, 0x2f, 0xab, 0x1b, 0x81, 0x12, 0x49, 0x0f, 0x33, 0x5b, 0xca, 0xd9, 0x61, 0x4c,
                0xd2, 0xe5, 0xe9, 0xa2, 0x2e, 0xbe
            ]
        );
        assert_eq!(check_ms_integrity(&bytes, &key), MsIntegrity::Valid);
        let parsed = MsTurnMessage::parse(&bytes).unwrap();
        assert!(parsed.attribute(ms_attr::MESSAGE_INTEGRITY).is_some());
    }

    #[test]
    fn a_wrong_key_or_a_changed_byte_fails_and_no_attribute_is_absent() {
        let key = ms_turn_key("alice", "contoso.test", "secret");
        let message =
            MsTurnMessage::new(ms_type::ALLOCATE_REQUEST, TID).with(ms_attr::USERNAME, b"alice");
        let mut bytes = message.encode_with_integrity(&key);
        let other = ms_turn_key("alice", "contoso.test", "guess");
        assert_eq!(check_ms_integrity(&bytes, &other), MsIntegrity::Invalid);
        bytes[33] ^= 1; // a byte of the Username value
        assert_eq!(check_ms_integrity(&bytes, &key), MsIntegrity::Invalid);
        assert_eq!(
            check_ms_integrity(&message.encode(), &key),
            MsIntegrity::Absent
        );
    }
}
