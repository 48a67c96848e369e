//! A parsed STUN message that keeps its bytes (so MESSAGE-INTEGRITY and
//! FINGERPRINT can be verified over exactly what was received), and a
//! builder that appends both.

use std::net::SocketAddr;

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::attributes::{
    ErrorCode, attr, decode_plain_address, plain_address_value, xor_address_in_place,
};
use super::crc32::crc32;
use super::header::{Class, MAGIC_COOKIE, Method, TransactionId, message_type, split_message_type};

/// XORed into the CRC-32 of FINGERPRINT (RFC 5389 §15.5): "STUN".
const FINGERPRINT_XOR: u32 = 0x5354_554e;
const HEADER_LEN: usize = 20;
const INTEGRITY_LEN: usize = 20;

/// Why bytes are not a STUN message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StunError {
    #[error("{0} bytes is shorter than the 20-byte STUN header")]
    TooShort(usize),
    #[error("the first two bits are not 0b00 (first byte 0x{0:02x}), so this is not STUN")]
    NotStun(u8),
    #[error("magic cookie is 0x{0:08x}, not 0x2112a442 (RFC 5389 §6)")]
    BadCookie(u32),
    #[error("header length {declared} does not match the {actual} bytes after the header")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("attribute at offset {offset} runs past the end of the message")]
    TruncatedAttribute { offset: usize },
}

/// One attribute as received: type, value (without padding) and where its
/// 4-byte header starts in the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    pub kind: u16,
    pub value: Vec<u8>,
    pub offset: usize,
}

/// The outcome of verifying MESSAGE-INTEGRITY or FINGERPRINT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The message does not carry the attribute.
    Absent,
    Valid,
    Invalid,
}

/// A STUN message (RFC 5389) with its original bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StunMessage {
    pub class: Class,
    pub method: Method,
    pub transaction_id: TransactionId,
    pub attributes: Vec<Attribute>,
    pub raw: Vec<u8>,
}

fn padded(len: usize) -> usize {
    (len + 3) & !3
}

fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([bytes[at], bytes[at + 1]])
}

fn hmac_sha1(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this constructor cannot fail.
    match Hmac::<Sha1>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// `bytes[..end]` with the header length field set as if the message ended
/// at `end + extra`.
fn prefix_with_length(bytes: &[u8], end: usize, extra: usize) -> Vec<u8> {
    let mut prefix = bytes[..end].to_vec();
    let length = u16::try_from(end + extra - HEADER_LEN).unwrap_or(u16::MAX);
    prefix[2..4].copy_from_slice(&length.to_be_bytes());
    prefix
}

/// Encodes an address as an XOR-*-ADDRESS value for this transaction.
pub fn xor_address_value(address: SocketAddr, transaction_id: &TransactionId) -> Vec<u8> {
    let mut value = plain_address_value(address);
    xor_address_in_place(&mut value, transaction_id);
    value
}

impl StunMessage {
    /// Parses one whole message (a datagram, or a frame cut from a stream).
    pub fn parse(bytes: &[u8]) -> Result<Self, StunError> {
        if bytes.len() < HEADER_LEN {
            return Err(StunError::TooShort(bytes.len()));
        }
        let (class, method) =
            split_message_type(u16_at(bytes, 0)).ok_or(StunError::NotStun(bytes[0]))?;
        let cookie = u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]);
        if cookie != MAGIC_COOKIE {
            return Err(StunError::BadCookie(cookie));
        }
        let declared = usize::from(u16_at(bytes, 2));
        let actual = bytes.len() - HEADER_LEN;
        if declared != actual || declared % 4 != 0 {
            return Err(StunError::LengthMismatch { declared, actual });
        }
        let mut transaction_id = [0u8; 12];
        transaction_id.copy_from_slice(&bytes[8..20]);
        let mut attributes = Vec::new();
        let mut offset = HEADER_LEN;
        while offset < bytes.len() {
            if offset + 4 > bytes.len() {
                return Err(StunError::TruncatedAttribute { offset });
            }
            let kind = u16_at(bytes, offset);
            let len = usize::from(u16_at(bytes, offset + 2));
            let end = offset + 4 + len;
            if end > bytes.len() {
                return Err(StunError::TruncatedAttribute { offset });
            }
            attributes.push(Attribute {
                kind,
                value: bytes[offset + 4..end].to_vec(),
                offset,
            });
            offset += 4 + padded(len);
        }
        Ok(Self {
            class,
            method,
            transaction_id,
            attributes,
            raw: bytes.to_vec(),
        })
    }

    /// The first attribute of this type.
    pub fn attribute(&self, kind: u16) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.kind == kind)
    }

    /// An XOR-*-ADDRESS attribute, decoded.
    pub fn xor_address(&self, kind: u16) -> Option<SocketAddr> {
        let mut value = self.attribute(kind)?.value.clone();
        xor_address_in_place(&mut value, &self.transaction_id);
        decode_plain_address(&value)
    }

    /// A MAPPED-ADDRESS style attribute, decoded.
    pub fn plain_address(&self, kind: u16) -> Option<SocketAddr> {
        decode_plain_address(&self.attribute(kind)?.value)
    }

    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::decode(&self.attribute(attr::ERROR_CODE)?.value)
    }

    /// A text attribute (USERNAME, REALM, NONCE, SOFTWARE).
    pub fn text(&self, kind: u16) -> Option<String> {
        self.attribute(kind)
            .map(|a| String::from_utf8_lossy(&a.value).into_owned())
    }

    /// A 32-bit attribute (LIFETIME).
    pub fn u32_value(&self, kind: u16) -> Option<u32> {
        let v = &self.attribute(kind)?.value;
        (v.len() == 4).then(|| u32::from_be_bytes([v[0], v[1], v[2], v[3]]))
    }

    /// Comprehension-required types (0x0000-0x7FFF) not in `known`.
    pub fn unknown_required(&self, known: &[u16]) -> Vec<u16> {
        self.attributes
            .iter()
            .map(|a| a.kind)
            .filter(|k| *k < 0x8000 && !known.contains(k))
            .collect()
    }

    /// Verifies MESSAGE-INTEGRITY with `key` (RFC 5389 §15.4).
    pub fn check_integrity(&self, key: &[u8]) -> Check {
        let Some(mi) = self.attribute(attr::MESSAGE_INTEGRITY) else {
            return Check::Absent;
        };
        if mi.value.len() != INTEGRITY_LEN {
            return Check::Invalid;
        }
        let prefix = prefix_with_length(&self.raw, mi.offset, 4 + INTEGRITY_LEN);
        if hmac_sha1(key, &prefix) == mi.value {
            Check::Valid
        } else {
            Check::Invalid
        }
    }

    /// Verifies FINGERPRINT (RFC 5389 §15.5); it must be the last attribute.
    pub fn check_fingerprint(&self) -> Check {
        let Some(fp) = self.attribute(attr::FINGERPRINT) else {
            return Check::Absent;
        };
        let is_last = fp.offset + 8 == self.raw.len();
        if fp.value.len() != 4 || !is_last {
            return Check::Invalid;
        }
        let prefix = prefix_with_length(&self.raw, fp.offset, 8);
        let expected = crc32(&prefix) ^ FINGERPRINT_XOR;
        if expected.to_be_bytes() == fp.value.as_slice() {
            Check::Valid
        } else {
            Check::Invalid
        }
    }

    /// "Allocate error response 401 Unauthorized" style summary.
    pub fn summary(&self) -> String {
        let mut text = format!("{} {}", self.method.name(), self.class.name());
        if let Some(e) = self.error_code() {
            text.push_str(&format!(" {} {}", e.code, e.reason));
        }
        text
    }
}

/// Builds a STUN message attribute by attribute.
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    bytes: Vec<u8>,
    transaction_id: TransactionId,
}

impl MessageBuilder {
    pub fn new(class: Class, method: Method, transaction_id: TransactionId) -> Self {
        let mut bytes = Vec::with_capacity(128);
        bytes.extend_from_slice(&message_type(class, method).to_be_bytes());
        bytes.extend_from_slice(&[0, 0]);
        bytes.extend_from_slice(&MAGIC_COOKIE.to_be_bytes());
        bytes.extend_from_slice(&transaction_id);
        Self {
            bytes,
            transaction_id,
        }
    }

    /// Appends an attribute, zero-padded to 32 bits.
    pub fn attribute(mut self, kind: u16, value: &[u8]) -> Self {
        self.bytes.extend_from_slice(&kind.to_be_bytes());
        let len = u16::try_from(value.len()).unwrap_or(u16::MAX);
        self.bytes.extend_from_slice(&len.to_be_bytes());
        self.bytes.extend_from_slice(&value[..usize::from(len)]);
        self.bytes
            .resize(self.bytes.len() + padded(value.len()) - value.len(), 0);
        self
    }

    pub fn text(self, kind: u16, value: &str) -> Self {
        self.attribute(kind, value.as_bytes())
    }

    pub fn u32_value(self, kind: u16, value: u32) -> Self {
        self.attribute(kind, &value.to_be_bytes())
    }

    pub fn xor_address(self, kind: u16, address: SocketAddr) -> Self {
        let value = xor_address_value(address, &self.transaction_id);
        self.attribute(kind, &value)
    }

    pub fn plain_address(self, kind: u16, address: SocketAddr) -> Self {
        self.attribute(kind, &plain_address_value(address))
    }

    pub fn error_code(self, code: u16, reason: &str) -> Self {
        let value = ErrorCode {
            code,
            reason: reason.to_owned(),
        }
        .encode();
        self.attribute(attr::ERROR_CODE, &value)
    }

    /// Finishes the message: MESSAGE-INTEGRITY with `integrity_key` when
    /// given, then FINGERPRINT when asked.
    pub fn build(mut self, integrity_key: Option<&[u8]>, fingerprint: bool) -> Vec<u8> {
        if let Some(key) = integrity_key {
            let end = self.bytes.len();
            let prefix = prefix_with_length(&self.bytes, end, 4 + INTEGRITY_LEN);
            let mac = hmac_sha1(key, &prefix);
            self = self.attribute(attr::MESSAGE_INTEGRITY, &mac);
        }
        if fingerprint {
            let end = self.bytes.len();
            let prefix = prefix_with_length(&self.bytes, end, 8);
            let crc = crc32(&prefix) ^ FINGERPRINT_XOR;
            self = self.attribute(attr::FINGERPRINT, &crc.to_be_bytes());
        }
        let length = u16::try_from(self.bytes.len() - HEADER_LEN).unwrap_or(u16::MAX);
        self.bytes[2..4].copy_from_slice(&length.to_be_bytes());
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stun::method;

    const TID: TransactionId = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

    #[test]
    fn built_binding_request_parses_with_valid_checks() {
        let bytes = MessageBuilder::new(Class::Request, method::BINDING, TID)
            .text(attr::SOFTWARE, "picharness")
            .build(Some(b"secret"), true);
        let m = StunMessage::parse(&bytes).unwrap();
        assert_eq!((m.class, m.method), (Class::Request, method::BINDING));
        assert_eq!(m.check_integrity(b"secret"), Check::Valid);
        assert_eq!(m.check_integrity(b"other"), Check::Invalid);
        assert_eq!(m.check_fingerprint(), Check::Valid);
        assert_eq!(m.text(attr::SOFTWARE).as_deref(), Some("picharness"));
    }

    #[test]
    fn a_flipped_bit_breaks_the_fingerprint() {
        let mut bytes = MessageBuilder::new(Class::Request, method::BINDING, TID).build(None, true);
        bytes[19] ^= 1;
        assert_eq!(
            StunMessage::parse(&bytes).unwrap().check_fingerprint(),
            Check::Invalid
        );
    }

    #[test]
    fn xor_addresses_round_trip_v4_and_v6() {
        for addr in ["127.0.0.1:50000", "[2001:db8::1]:3478"] {
            let addr: SocketAddr = addr.parse().unwrap();
            let bytes = MessageBuilder::new(Class::SuccessResponse, method::BINDING, TID)
                .xor_address(attr::XOR_MAPPED_ADDRESS, addr)
                .build(None, false);
            let m = StunMessage::parse(&bytes).unwrap();
            assert_eq!(m.xor_address(attr::XOR_MAPPED_ADDRESS), Some(addr));
        }
    }

    #[test]
    fn malformed_inputs_are_errors_not_panics() {
        assert_eq!(StunMessage::parse(&[0; 4]), Err(StunError::TooShort(4)));
        let good = MessageBuilder::new(Class::Request, method::BINDING, TID)
            .text(attr::SOFTWARE, "x")
            .build(None, false);
        let mut bad_cookie = good.clone();
        bad_cookie[4] = 0;
        assert!(matches!(
            StunMessage::parse(&bad_cookie),
            Err(StunError::BadCookie(_))
        ));
        assert!(matches!(
            StunMessage::parse(&good[..good.len() - 4]),
            Err(StunError::LengthMismatch { .. })
        ));
        let mut long_attr = good.clone();
        long_attr[23] = 0x40;
        assert!(matches!(
            StunMessage::parse(&long_attr),
            Err(StunError::TruncatedAttribute { .. })
        ));
        let mut rtp = good;
        rtp[0] = 0x80;
        assert!(matches!(
            StunMessage::parse(&rtp),
            Err(StunError::NotStun(0x80))
        ));
        for cut in 0..24 {
            let _ = StunMessage::parse(&[0x00, 0x01, 0x00, 0x04][..cut.min(4)]);
        }
    }
}
