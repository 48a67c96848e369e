//! Cutting STUN messages and ChannelData out of a TCP stream (RFC 5389
//! §7.2.2, RFC 5766 §11.5): the first two bits say which one comes next,
//! and each carries its own length.

use super::channel_data::ChannelData;

/// Largest frame accepted from a stream.
const MAX_FRAME: usize = 64 * 1024 + 20;

/// One unit cut from a stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamFrame {
    /// The bytes of one STUN message, ready for `StunMessage::parse`.
    Stun(Vec<u8>),
    ChannelData(ChannelData),
}

/// Accumulates stream bytes and cuts frames.
#[derive(Debug, Default)]
pub struct StunStreamDecoder {
    buffer: Vec<u8>,
}

/// The stream holds bytes that are neither STUN nor ChannelData: it is out
/// of sync and should be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stream byte 0x{0:02x} starts neither a STUN message nor ChannelData")]
pub struct OutOfSync(pub u8);

impl StunStreamDecoder {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The next complete frame, `Ok(None)` when more bytes are needed.
    pub fn next_frame(&mut self) -> Result<Option<StreamFrame>, OutOfSync> {
        if self.buffer.len() < 4 {
            return Ok(None);
        }
        let first = self.buffer[0];
        let len = usize::from(u16::from_be_bytes([self.buffer[2], self.buffer[3]]));
        let total = match first >> 6 {
            0b00 => 20 + len,
            0b01 => 4 + ((len + 3) & !3),
            _ => return Err(OutOfSync(first)),
        };
        if total > MAX_FRAME {
            return Err(OutOfSync(first));
        }
        if self.buffer.len() < total {
            return Ok(None);
        }
        let frame: Vec<u8> = self.buffer.drain(..total).collect();
        if first >> 6 == 0 {
            Ok(Some(StreamFrame::Stun(frame)))
        } else {
            ChannelData::parse(&frame)
                .map(|c| Some(StreamFrame::ChannelData(c)))
                .ok_or(OutOfSync(first))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stun::{Class, MessageBuilder, method};

    #[test]
    fn cuts_pipelined_stun_and_channel_data_across_partial_reads() {
        let stun = MessageBuilder::new(Class::Request, method::BINDING, [7; 12]).build(None, true);
        let data = ChannelData {
            channel: 0x4000,
            data: vec![1, 2, 3, 4, 5],
        };
        let mut stream = stun.clone();
        stream.extend(data.encode(true));
        let mut decoder = StunStreamDecoder::default();
        let mut frames = Vec::new();
        for byte in &stream {
            decoder.push(std::slice::from_ref(byte));
            while let Some(frame) = decoder.next_frame().unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(
            frames,
            vec![StreamFrame::Stun(stun), StreamFrame::ChannelData(data)]
        );
    }

    #[test]
    fn bytes_that_are_neither_are_out_of_sync() {
        let mut decoder = StunStreamDecoder::default();
        decoder.push(&[0x80, 0x00, 0x00, 0x00]);
        assert_eq!(decoder.next_frame(), Err(OutOfSync(0x80)));
    }
}
