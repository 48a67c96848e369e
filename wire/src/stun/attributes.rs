//! STUN/TURN attribute types and the value formats the harness reads and
//! writes: (XOR-)addresses, ERROR-CODE, 32-bit numbers and strings.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use super::header::{MAGIC_COOKIE, TransactionId};

/// Attribute type numbers (RFC 5389 §18.2, RFC 5766 §14).
pub mod attr {
    pub const MAPPED_ADDRESS: u16 = 0x0001;
    pub const USERNAME: u16 = 0x0006;
    pub const MESSAGE_INTEGRITY: u16 = 0x0008;
    pub const ERROR_CODE: u16 = 0x0009;
    pub const UNKNOWN_ATTRIBUTES: u16 = 0x000A;
    pub const CHANNEL_NUMBER: u16 = 0x000C;
    pub const LIFETIME: u16 = 0x000D;
    pub const XOR_PEER_ADDRESS: u16 = 0x0012;
    pub const DATA: u16 = 0x0013;
    pub const REALM: u16 = 0x0014;
    pub const NONCE: u16 = 0x0015;
    pub const XOR_RELAYED_ADDRESS: u16 = 0x0016;
    pub const REQUESTED_TRANSPORT: u16 = 0x0019;
    pub const XOR_MAPPED_ADDRESS: u16 = 0x0020;
    pub const SOFTWARE: u16 = 0x8022;
    pub const FINGERPRINT: u16 = 0x8028;

    /// A readable name for reports.
    pub fn name(kind: u16) -> String {
        match kind {
            MAPPED_ADDRESS => "MAPPED-ADDRESS".to_owned(),
            USERNAME => "USERNAME".to_owned(),
            MESSAGE_INTEGRITY => "MESSAGE-INTEGRITY".to_owned(),
            ERROR_CODE => "ERROR-CODE".to_owned(),
            UNKNOWN_ATTRIBUTES => "UNKNOWN-ATTRIBUTES".to_owned(),
            CHANNEL_NUMBER => "CHANNEL-NUMBER".to_owned(),
            LIFETIME => "LIFETIME".to_owned(),
            XOR_PEER_ADDRESS => "XOR-PEER-ADDRESS".to_owned(),
            DATA => "DATA".to_owned(),
            REALM => "REALM".to_owned(),
            NONCE => "NONCE".to_owned(),
            XOR_RELAYED_ADDRESS => "XOR-RELAYED-ADDRESS".to_owned(),
            REQUESTED_TRANSPORT => "REQUESTED-TRANSPORT".to_owned(),
            XOR_MAPPED_ADDRESS => "XOR-MAPPED-ADDRESS".to_owned(),
            SOFTWARE => "SOFTWARE".to_owned(),
            FINGERPRINT => "FINGERPRINT".to_owned(),
            other => format!("attribute 0x{other:04x}"),
        }
    }
}

/// ERROR-CODE (RFC 5389 §15.6): a code 300-699 and a reason phrase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorCode {
    pub code: u16,
    pub reason: String,
}

impl ErrorCode {
    pub fn encode(&self) -> Vec<u8> {
        let mut value = vec![
            0,
            0,
            u8::try_from(self.code / 100).unwrap_or(0) & 0x07,
            u8::try_from(self.code % 100).unwrap_or(0),
        ];
        value.extend_from_slice(self.reason.as_bytes());
        value
    }

    pub fn decode(value: &[u8]) -> Option<Self> {
        if value.len() < 4 {
            return None;
        }
        let code = u16::from(value[2] & 0x07) * 100 + u16::from(value[3]);
        Some(Self {
            code,
            reason: String::from_utf8_lossy(&value[4..]).into_owned(),
        })
    }
}

/// Encodes MAPPED-ADDRESS style values (family, port, address).
pub(crate) fn plain_address_value(address: SocketAddr) -> Vec<u8> {
    let mut value = vec![0];
    match address.ip() {
        IpAddr::V4(v4) => {
            value.push(0x01);
            value.extend_from_slice(&address.port().to_be_bytes());
            value.extend_from_slice(&v4.octets());
        }
        IpAddr::V6(v6) => {
            value.push(0x02);
            value.extend_from_slice(&address.port().to_be_bytes());
            value.extend_from_slice(&v6.octets());
        }
    }
    value
}

/// Decodes MAPPED-ADDRESS style values.
pub(crate) fn decode_plain_address(value: &[u8]) -> Option<SocketAddr> {
    let port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]);
    match (value.get(1)?, value.len()) {
        (0x01, 8) => {
            let ip = Ipv4Addr::new(value[4], value[5], value[6], value[7]);
            Some(SocketAddr::new(IpAddr::V4(ip), port))
        }
        (0x02, 20) => {
            let mut octets = [0u8; 16];
            octets.copy_from_slice(&value[4..20]);
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(octets)), port))
        }
        _ => None,
    }
}

/// The XOR mask of RFC 5389 §15.2: cookie then transaction id.
fn xor_mask(transaction_id: &TransactionId) -> [u8; 16] {
    let mut mask = [0u8; 16];
    mask[..4].copy_from_slice(&MAGIC_COOKIE.to_be_bytes());
    mask[4..].copy_from_slice(transaction_id);
    mask
}

/// XOR-encodes or decodes an address value in place (the operation is its own inverse).
pub(crate) fn xor_address_in_place(value: &mut [u8], transaction_id: &TransactionId) {
    let mask = xor_mask(transaction_id);
    if value.len() >= 4 {
        value[2] ^= mask[0];
        value[3] ^= mask[1];
    }
    for (byte, m) in value.iter_mut().skip(4).zip(mask.iter()) {
        *byte ^= m;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_code_round_trips() {
        let e = ErrorCode {
            code: 401,
            reason: "Unauthorized".into(),
        };
        assert_eq!(&e.encode()[..4], &[0, 0, 4, 1]);
        assert_eq!(ErrorCode::decode(&e.encode()), Some(e));
    }

    #[test]
    fn plain_ipv4_address() {
        let addr: SocketAddr = "192.0.2.1:32853".parse().unwrap();
        let v = plain_address_value(addr);
        assert_eq!(v, [0, 1, 0x80, 0x55, 192, 0, 2, 1]);
        assert_eq!(decode_plain_address(&v), Some(addr));
        assert_eq!(decode_plain_address(&v[..7]), None);
    }
}
