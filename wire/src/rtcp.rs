//! RTCP receiver reports (RFC 3550 §6.4.2) with one report block, and the
//! RTP/RTCP demultiplexing rule of RFC 5761 §4 (payload types 192-223 on
//! a shared port are RTCP).

/// RTCP packet type of a receiver report.
pub const RTCP_RR: u8 = 201;

/// Whether a packet on an RTP/RTCP-multiplexed port is RTCP (RFC 5761 §4).
pub fn is_rtcp(bytes: &[u8]) -> bool {
    bytes.len() >= 8 && bytes[0] >> 6 == 2 && (192..=223).contains(&bytes[1])
}

/// One receiver report about one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiverReport {
    /// Who sends the report.
    pub reporter_ssrc: u32,
    /// The source reported on.
    pub source_ssrc: u32,
    /// Fraction lost since the last report, in 1/256 units.
    pub fraction_lost: u8,
    /// Cumulative packets lost (24-bit signed).
    pub cumulative_lost: i32,
    pub extended_highest_sequence: u32,
    /// Interarrival jitter in timestamp units.
    pub jitter: u32,
    pub last_sr: u32,
    pub delay_since_last_sr: u32,
}

impl ReceiverReport {
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = vec![0x81, RTCP_RR, 0x00, 0x07];
        bytes.extend_from_slice(&self.reporter_ssrc.to_be_bytes());
        bytes.extend_from_slice(&self.source_ssrc.to_be_bytes());
        let lost = self.cumulative_lost.clamp(-0x80_0000, 0x7f_ffff) as u32 & 0x00ff_ffff;
        bytes.push(self.fraction_lost);
        bytes.extend_from_slice(&lost.to_be_bytes()[1..]);
        bytes.extend_from_slice(&self.extended_highest_sequence.to_be_bytes());
        bytes.extend_from_slice(&self.jitter.to_be_bytes());
        bytes.extend_from_slice(&self.last_sr.to_be_bytes());
        bytes.extend_from_slice(&self.delay_since_last_sr.to_be_bytes());
        bytes
    }

    /// Parses a receiver report carrying at least one report block (the
    /// first is returned); `None` for anything else.
    pub fn parse(bytes: &[u8]) -> Option<Self> {
        if bytes.len() < 32 || bytes[0] >> 6 != 2 || bytes[0] & 0x1f == 0 || bytes[1] != RTCP_RR {
            return None;
        }
        let word = |at: usize| {
            u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
        };
        let raw_lost = u32::from_be_bytes([0, bytes[13], bytes[14], bytes[15]]);
        // Sign-extend the 24-bit field.
        let cumulative_lost = ((raw_lost << 8) as i32) >> 8;
        Some(Self {
            reporter_ssrc: word(4),
            source_ssrc: word(8),
            fraction_lost: bytes[12],
            cumulative_lost,
            extended_highest_sequence: word(16),
            jitter: word(20),
            last_sr: word(24),
            delay_since_last_sr: word(28),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A receiver report written from the RFC 3550 §6.4.2 layout: V=2,
    /// RC=1, PT=201, length 7; sender 0x01020304 reporting on 0xdeadbeef,
    /// fraction lost 0x19 (25/256), cumulative lost 10, highest sequence
    /// 0x00010063, jitter 42, no SR seen.
    const RR: [u8; 32] = [
        0x81, 0xc9, 0x00, 0x07, 0x01, 0x02, 0x03, 0x04, 0xde, 0xad, 0xbe, 0xef, 0x19, 0x00, 0x00,
        0x0a, 0x00, 0x01, 0x00, 0x63, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x00, 0x00,
    ];

    fn report() -> ReceiverReport {
        ReceiverReport {
            reporter_ssrc: 0x0102_0304,
            source_ssrc: 0xdead_beef,
            fraction_lost: 0x19,
            cumulative_lost: 10,
            extended_highest_sequence: 0x0001_0063,
            jitter: 42,
            last_sr: 0,
            delay_since_last_sr: 0,
        }
    }

    #[test]
    fn receiver_report_matches_the_rfc_layout() {
        assert_eq!(report().encode(), RR);
        assert_eq!(ReceiverReport::parse(&RR), Some(report()));
    }

    #[test]
    fn negative_cumulative_loss_is_sign_extended() {
        let r = ReceiverReport {
            cumulative_lost: -2,
            ..report()
        };
        let bytes = r.encode();
        assert_eq!(&bytes[13..16], &[0xff, 0xff, 0xfe]);
        assert_eq!(
            ReceiverReport::parse(&bytes).map(|p| p.cumulative_lost),
            Some(-2)
        );
    }

    #[test]
    fn rtcp_and_rtp_are_told_apart_on_a_shared_port() {
        assert!(is_rtcp(&RR));
        let rtp = [0x80, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
        assert!(!is_rtcp(&rtp));
        assert_eq!(ReceiverReport::parse(&rtp), None);
        assert_eq!(ReceiverReport::parse(&RR[..31]), None);
    }
}
