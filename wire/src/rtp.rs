//! RTP (RFC 3550): the fixed 12-byte header, and the receiver statistics a
//! media check reports: loss from sequence numbers and the interarrival
//! jitter estimator of RFC 3550 §6.4.1 / appendix A.8. Arrival times are
//! arguments (in RTP timestamp units), never read from a clock.

/// The fixed RTP header (no CSRCs, no extension are written; both are
/// skipped when parsing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// An RTP packet: header and payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpPacket {
    pub header: RtpHeader,
    pub payload: Vec<u8>,
}

/// Why bytes are not an RTP packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("{0} bytes is shorter than the 12-byte RTP header")]
    TooShort(usize),
    #[error("RTP version is {0}, not 2")]
    Version(u8),
    #[error("CSRC list, extension or padding runs past the end of the packet")]
    Truncated,
}

impl RtpPacket {
    pub fn encode(&self) -> Vec<u8> {
        let h = &self.header;
        let mut bytes = Vec::with_capacity(12 + self.payload.len());
        bytes.push(0x80);
        bytes.push((u8::from(h.marker) << 7) | (h.payload_type & 0x7f));
        bytes.extend_from_slice(&h.sequence.to_be_bytes());
        bytes.extend_from_slice(&h.timestamp.to_be_bytes());
        bytes.extend_from_slice(&h.ssrc.to_be_bytes());
        bytes.extend_from_slice(&self.payload);
        bytes
    }

    pub fn parse(bytes: &[u8]) -> Result<Self, RtpError> {
        if bytes.len() < 12 {
            return Err(RtpError::TooShort(bytes.len()));
        }
        let version = bytes[0] >> 6;
        if version != 2 {
            return Err(RtpError::Version(version));
        }
        let padding = bytes[0] & 0x20 != 0;
        let extension = bytes[0] & 0x10 != 0;
        let csrc_count = usize::from(bytes[0] & 0x0f);
        let mut start = 12 + 4 * csrc_count;
        if extension {
            let words = bytes.get(start + 2..start + 4).ok_or(RtpError::Truncated)?;
            start += 4 + 4 * usize::from(u16::from_be_bytes([words[0], words[1]]));
        }
        let mut end = bytes.len();
        if padding {
            let pad = usize::from(*bytes.last().ok_or(RtpError::Truncated)?);
            end = end.checked_sub(pad).ok_or(RtpError::Truncated)?;
        }
        if start > end {
            return Err(RtpError::Truncated);
        }
        Ok(Self {
            header: RtpHeader {
                marker: bytes[1] & 0x80 != 0,
                payload_type: bytes[1] & 0x7f,
                sequence: u16::from_be_bytes([bytes[2], bytes[3]]),
                timestamp: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
                ssrc: u32::from_be_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]),
            },
            payload: bytes[start..end].to_vec(),
        })
    }
}

/// Receiver statistics for one SSRC.
#[derive(Debug, Clone, Default)]
pub struct ReceiverStats {
    received: u64,
    /// Extended highest and first sequence numbers.
    first: Option<u64>,
    highest: u64,
    cycles: u64,
    last_transit: Option<i64>,
    /// The jitter estimate J of RFC 3550 §6.4.1, in timestamp units.
    jitter: f64,
}

impl ReceiverStats {
    /// Accounts for one packet with RTP `timestamp`, arriving at `arrival`
    /// (the receiver's clock, converted to the same timestamp units).
    pub fn record(&mut self, sequence: u16, timestamp: u32, arrival: u32) {
        self.received += 1;
        let seq = u64::from(sequence);
        match self.first {
            None => {
                self.first = Some(seq);
                self.highest = seq;
            }
            Some(_) => {
                let highest_low = self.highest & 0xffff;
                if seq < highest_low && highest_low - seq > 0x8000 {
                    self.cycles += 0x1_0000;
                }
                self.highest = self.highest.max(self.cycles + seq);
            }
        }
        // D(i,j) = (Rj - Ri) - (Sj - Si) = transit_j - transit_i (RFC 3550 §6.4.1);
        // wrapping arithmetic on the 32-bit clocks, read as a signed difference.
        let transit = i64::from(arrival.wrapping_sub(timestamp) as i32);
        if let Some(previous) = self.last_transit {
            let d = (transit - previous).abs() as f64;
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    /// Packets expected from the first to the highest sequence number seen.
    pub fn expected(&self) -> u64 {
        self.first.map_or(0, |first| self.highest + 1 - first)
    }

    /// The extended highest sequence number received (cycles in the top 16 bits).
    pub fn extended_highest(&self) -> u32 {
        u32::try_from(self.highest).unwrap_or(u32::MAX)
    }

    /// The interarrival jitter, in timestamp units.
    pub fn jitter(&self) -> f64 {
        self.jitter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_bytes_follow_rfc3550_section_5_1() {
        let packet = RtpPacket {
            header: RtpHeader {
                marker: true,
                payload_type: 0,
                sequence: 0x1234,
                timestamp: 0x0000_00a0,
                ssrc: 0xdead_beef,
            },
            payload: vec![0xff; 4],
        };
        let bytes = packet.encode();
        assert_eq!(
            bytes[..12],
            [
                0x80, 0x80, 0x12, 0x34, 0x00, 0x00, 0x00, 0xa0, 0xde, 0xad, 0xbe, 0xef
            ]
        );
        assert_eq!(RtpPacket::parse(&bytes), Ok(packet));
    }

    #[test]
    fn csrcs_extension_and_padding_are_skipped() {
        // V=2, P=1, X=1, CC=1; PT=8; one CSRC; a one-word extension; 2 bytes payload; 2 bytes padding.
        let bytes = [
            0xb1, 0x08, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, // header
            0, 0, 0, 2, // CSRC
            0xbe, 0xde, 0, 1, 1, 2, 3, 4, // extension
            0xaa, 0xbb, // payload
            0, 2, // padding, last byte = count
        ];
        let packet = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(packet.payload, [0xaa, 0xbb]);
        assert_eq!(packet.header.payload_type, 8);
        assert_eq!(RtpPacket::parse(&bytes[..14]), Err(RtpError::Truncated));
        assert_eq!(RtpPacket::parse(&[0x40; 12]), Err(RtpError::Version(1)));
    }

    #[test]
    fn constant_transit_has_no_jitter_and_gaps_are_loss() {
        let mut stats = ReceiverStats::default();
        for seq in [10u16, 11, 13, 14] {
            let ts = u32::from(seq) * 160;
            stats.record(seq, ts, ts + 5_000);
        }
        assert_eq!((stats.received(), stats.expected()), (4, 5));
        assert_eq!(stats.jitter(), 0.0);
    }

    #[test]
    fn jitter_follows_the_one_sixteenth_gain() {
        // Transit alternates 0, 16: |D| = 16 each time after the first.
        let mut stats = ReceiverStats::default();
        let mut expected = 0.0;
        for i in 0..20u32 {
            let ts = i * 160;
            stats.record(i as u16, ts, ts + (i % 2) * 16);
            if i > 0 {
                expected += (16.0 - expected) / 16.0;
            }
        }
        assert!((stats.jitter() - expected).abs() < 1e-9);
        assert!(stats.jitter() > 11.0 && stats.jitter() < 16.0);
    }

    #[test]
    fn sequence_wrap_extends_the_count() {
        let mut stats = ReceiverStats::default();
        for seq in [65_534u16, 65_535, 0, 1] {
            stats.record(seq, 0, 0);
        }
        assert_eq!(stats.expected(), 4);
    }
}
