//! The MS-TURN relaying messages ([MS-TURN] §2.2.1): the Send request
//! (0x0004: Destination Address and Data; the server never answers it,
//! 0x0104 and 0x0114 are forbidden), the Data Indication (0x0115: Remote
//! Address and Data) and Set Active Destination (0x0006, answered 0x0106
//! or 0x0116).

use std::net::SocketAddr;

use super::message::{MsTurnMessage, ms_attr, ms_type};

/// A Send request carrying `data` for `destination` (unsigned; sign it
/// with `encode_with_integrity`).
pub fn ms_send_request(
    transaction_id: [u8; 16],
    destination: SocketAddr,
    data: &[u8],
) -> MsTurnMessage {
    MsTurnMessage::new(ms_type::SEND_REQUEST, transaction_id)
        .with_address(ms_attr::DESTINATION_ADDRESS, destination)
        .with(ms_attr::DATA, data)
}

/// A Data Indication carrying `data` that arrived from `remote`.
pub fn ms_data_indication(
    transaction_id: [u8; 16],
    remote: SocketAddr,
    data: &[u8],
) -> MsTurnMessage {
    MsTurnMessage::new(ms_type::DATA_INDICATION, transaction_id)
        .with_address(ms_attr::REMOTE_ADDRESS, remote)
        .with(ms_attr::DATA, data)
}

/// What a relaying message carries: the peer address and the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsRelayed {
    pub peer: SocketAddr,
    pub data: Vec<u8>,
}

impl MsTurnMessage {
    /// A Send request's Destination Address and Data, if both are there.
    pub fn send_request_parts(&self) -> Option<MsRelayed> {
        (self.message_type == ms_type::SEND_REQUEST).then_some(())?;
        Some(MsRelayed {
            peer: self.address(ms_attr::DESTINATION_ADDRESS)?,
            data: self.attribute(ms_attr::DATA)?.value.clone(),
        })
    }

    /// A Data Indication's Remote Address and Data, if both are there.
    pub fn data_indication_parts(&self) -> Option<MsRelayed> {
        (self.message_type == ms_type::DATA_INDICATION).then_some(())?;
        Some(MsRelayed {
            peer: self.address(ms_attr::REMOTE_ADDRESS)?,
            data: self.attribute(ms_attr::DATA)?.value.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: [u8; 16] = [7; 16];

    /// Written out from §2.2.1, §2.2.2.8, §2.2.2.10 and §2.2.2.12: header,
    /// Magic Cookie first, Destination Address, then Data padded to 32 bits.
    #[test]
    fn send_request_bytes_follow_the_attribute_layouts() {
        let destination: SocketAddr = "192.0.2.30:5000".parse().unwrap();
        let bytes = ms_send_request(TID, destination, b"hello").encode();
        let mut expected = vec![0x00, 0x04, 0x00, 0x20];
        expected.extend_from_slice(&TID);
        expected.extend_from_slice(&[0x00, 0x0f, 0x00, 0x04, 0x72, 0xc6, 0x4b, 0xc6]);
        expected.extend_from_slice(&[0x00, 0x11, 0x00, 0x08, 0x00, 0x01, 0x13, 0x88]);
        expected.extend_from_slice(&[192, 0, 2, 30]);
        expected.extend_from_slice(&[0x00, 0x13, 0x00, 0x05]);
        expected.extend_from_slice(b"hello\0\0\0");
        assert_eq!(bytes, expected);
        let parsed = MsTurnMessage::parse(&bytes).unwrap();
        assert_eq!(
            parsed.send_request_parts(),
            Some(MsRelayed {
                peer: destination,
                data: b"hello".to_vec()
            })
        );
        assert_eq!(parsed.data_indication_parts(), None);
    }

    #[test]
    fn data_indication_bytes_carry_remote_address_then_data() {
        let remote: SocketAddr = "198.51.100.7:50001".parse().unwrap();
        let bytes = ms_data_indication(TID, remote, &[0x80, 0x00, 0x00, 0x01]).encode();
        assert_eq!(&bytes[..4], &[0x01, 0x15, 0x00, 0x1c]);
        assert_eq!(
            &bytes[28..40],
            &[
                0x00, 0x12, 0x00, 0x08, 0x00, 0x01, 0xc3, 0x51, 198, 51, 100, 7
            ]
        );
        assert_eq!(
            &bytes[40..],
            &[0x00, 0x13, 0x00, 0x04, 0x80, 0x00, 0x00, 0x01]
        );
        let parsed = MsTurnMessage::parse(&bytes).unwrap();
        let parts = parsed.data_indication_parts().unwrap();
        assert_eq!(parts.peer, remote);
        assert_eq!(parts.data, [0x80, 0, 0, 1]);
    }

    #[test]
    fn a_send_request_without_data_has_no_parts() {
        let destination: SocketAddr = "192.0.2.30:5000".parse().unwrap();
        let message = MsTurnMessage::new(ms_type::SEND_REQUEST, TID)
            .with_address(ms_attr::DESTINATION_ADDRESS, destination);
        assert_eq!(message.send_request_parts(), None);
    }
}
