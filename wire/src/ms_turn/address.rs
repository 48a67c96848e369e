//! The address attributes of [MS-TURN] §2.2.2: Mapped Address (0x0001),
//! Destination Address (0x0011) and Remote Address (0x0012) share one
//! layout, unlike RFC 5389 not XORed: a reserved byte, the family (0x01
//! IPv4, 0x02 IPv6), the port and the address, all in network order.

use std::net::{IpAddr, SocketAddr};

use super::message::MsTurnMessage;

const IPV4: u8 = 0x01;
const IPV6: u8 = 0x02;

/// Encodes an address attribute value (8 bytes for IPv4, 20 for IPv6).
pub fn encode_ms_address(address: SocketAddr) -> Vec<u8> {
    let mut value = vec![0];
    match address.ip() {
        IpAddr::V4(ip) => {
            value.push(IPV4);
            value.extend_from_slice(&address.port().to_be_bytes());
            value.extend_from_slice(&ip.octets());
        }
        IpAddr::V6(ip) => {
            value.push(IPV6);
            value.extend_from_slice(&address.port().to_be_bytes());
            value.extend_from_slice(&ip.octets());
        }
    }
    value
}

/// Decodes an address attribute value; `None` for an unknown family (which
/// the specification says to ignore) or a value of the wrong length.
pub fn decode_ms_address(value: &[u8]) -> Option<SocketAddr> {
    let port = u16::from_be_bytes([*value.get(2)?, *value.get(3)?]);
    let ip: IpAddr = match (value.get(1)?, value.len()) {
        (&IPV4, 8) => <[u8; 4]>::try_from(value.get(4..8)?).ok()?.into(),
        (&IPV6, 20) => <[u8; 16]>::try_from(value.get(4..20)?).ok()?.into(),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

impl MsTurnMessage {
    /// The address in the first attribute of type `kind`, if well-formed.
    pub fn address(&self, kind: u16) -> Option<SocketAddr> {
        decode_ms_address(&self.attribute(kind)?.value)
    }

    /// Appends an address attribute of type `kind`.
    pub fn with_address(self, kind: u16, address: SocketAddr) -> Self {
        self.with(kind, &encode_ms_address(address))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_layout_is_reserved_family_port_address() {
        let address: SocketAddr = "192.0.2.30:49170".parse().unwrap();
        let value = encode_ms_address(address);
        assert_eq!(value, [0x00, 0x01, 0xc0, 0x12, 192, 0, 2, 30]);
        assert_eq!(decode_ms_address(&value), Some(address));
    }

    #[test]
    fn ipv6_layout_carries_sixteen_address_bytes() {
        let address: SocketAddr = "[2001:db8::1]:3478".parse().unwrap();
        let value = encode_ms_address(address);
        assert_eq!(value.len(), 20);
        assert_eq!(&value[..4], &[0x00, 0x02, 0x0d, 0x96]);
        assert_eq!(decode_ms_address(&value), Some(address));
    }

    #[test]
    fn unknown_family_or_short_value_is_ignored() {
        assert_eq!(decode_ms_address(&[0, 0x03, 0, 1, 1, 2, 3, 4]), None);
        assert_eq!(decode_ms_address(&[0, 0x01, 0, 1, 1, 2, 3]), None);
        assert_eq!(decode_ms_address(&[]), None);
    }
}
