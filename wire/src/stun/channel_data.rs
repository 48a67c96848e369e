//! TURN ChannelData messages (RFC 5766 §11.4): a 4-byte header with the
//! channel number (0x4000-0x7FFF) and the data length, then the data.

/// One ChannelData message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelData {
    pub channel: u16,
    pub data: Vec<u8>,
}

/// Channel numbers a client may bind (RFC 5766 §11).
pub const CHANNEL_RANGE: std::ops::RangeInclusive<u16> = 0x4000..=0x7FFF;

impl ChannelData {
    /// Encodes the message; `pad` rounds it up to a multiple of 4 bytes, as
    /// stream transports require (RFC 5766 §11.5).
    pub fn encode(&self, pad: bool) -> Vec<u8> {
        let len = u16::try_from(self.data.len()).unwrap_or(u16::MAX);
        let mut bytes = Vec::with_capacity(4 + self.data.len() + 3);
        bytes.extend_from_slice(&self.channel.to_be_bytes());
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&self.data[..usize::from(len)]);
        if pad {
            bytes.resize((bytes.len() + 3) & !3, 0);
        }
        bytes
    }

    /// Parses a ChannelData message; trailing padding is allowed.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < 4 {
            return None;
        }
        let channel = u16::from_be_bytes([bytes[0], bytes[1]]);
        let len = usize::from(u16::from_be_bytes([bytes[2], bytes[3]]));
        if !CHANNEL_RANGE.contains(&channel) || bytes.len() < 4 + len {
            return None;
        }
        Some(Self {
            channel,
            data: bytes[4..4 + len].to_vec(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_header_then_data_with_stream_padding() {
        let m = ChannelData {
            channel: 0x4001,
            data: vec![0xaa, 0xbb, 0xcc],
        };
        assert_eq!(m.encode(false), [0x40, 0x01, 0x00, 0x03, 0xaa, 0xbb, 0xcc]);
        assert_eq!(
            m.encode(true),
            [0x40, 0x01, 0x00, 0x03, 0xaa, 0xbb, 0xcc, 0x00]
        );
        assert_eq!(ChannelData::parse(&m.encode(true)), Some(m));
    }

    #[test]
    fn rejects_channels_outside_the_range_and_short_data() {
        assert_eq!(ChannelData::parse(&[0x80, 0x00, 0x00, 0x00]), None);
        assert_eq!(ChannelData::parse(&[0x40, 0x00, 0x00, 0x04, 1]), None);
        assert_eq!(ChannelData::parse(&[0x40]), None);
    }
}
