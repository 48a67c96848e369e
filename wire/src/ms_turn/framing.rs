//! The TCP framing header of [MS-TURN] §2.1.4: one type byte (0x02 a TURN
//! control message, 0x03 end-to-end data), one reserved zero byte, and a
//! 16-bit length of what follows.

/// What a TCP frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsTcpFrameKind {
    Control,
    Data,
}

impl MsTcpFrameKind {
    fn byte(self) -> u8 {
        match self {
            Self::Control => 0x02,
            Self::Data => 0x03,
        }
    }
}

/// One framed unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MsTcpFrame {
    pub kind: MsTcpFrameKind,
    pub payload: Vec<u8>,
}

/// Why the stream cannot be framed (the connection should be dropped).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MsTcpFramingError {
    #[error("frame type 0x{0:02x} is neither 0x02 (control) nor 0x03 (data)")]
    UnknownType(u8),
}

impl MsTcpFrame {
    pub fn encode(&self) -> Vec<u8> {
        let len = u16::try_from(self.payload.len()).unwrap_or(u16::MAX);
        let mut bytes = vec![self.kind.byte(), 0];
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes.extend_from_slice(&self.payload[..usize::from(len)]);
        bytes
    }
}

/// Cuts one frame from the front of `buffer`: `Ok(Some((frame, consumed)))`,
/// `Ok(None)` when more bytes are needed.
pub fn decode_tcp_frame(buffer: &[u8]) -> Result<Option<(MsTcpFrame, usize)>, MsTcpFramingError> {
    let Some(header) = buffer.get(..4) else {
        return Ok(None);
    };
    let kind = match header[0] {
        0x02 => MsTcpFrameKind::Control,
        0x03 => MsTcpFrameKind::Data,
        other => return Err(MsTcpFramingError::UnknownType(other)),
    };
    let len = usize::from(u16::from_be_bytes([header[2], header[3]]));
    let Some(payload) = buffer.get(4..4 + len) else {
        return Ok(None);
    };
    Ok(Some((
        MsTcpFrame {
            kind,
            payload: payload.to_vec(),
        },
        4 + len,
    )))
}
