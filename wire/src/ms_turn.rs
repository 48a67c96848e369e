//! The MS-TURN dialect ([MS-TURN], the TURN a Lync 2013 A/V Edge speaks):
//! the pre-RFC message layout (a 16-byte transaction id and no header
//! cookie; the Magic Cookie attribute first instead), its message types and
//! attribute numbers (REALM and NONCE swapped against RFC 5389), MS-Version,
//! and the TCP framing header (control vs. end-to-end data).
//!
//! Not here yet: MESSAGE-INTEGRITY digest computation of [MS-TURN] §3.1.11
//! and §3.1.12, the pseudo-TLS exchange on TCP 443, and the multiplexed
//! TURN (0xFF10) format.

mod framing;
mod message;

#[cfg(test)]
mod spec_vectors;

pub use framing::{MsTcpFrame, MsTcpFrameKind, MsTcpFramingError, decode_tcp_frame};
pub use message::{MS_MAGIC_COOKIE, MsAttribute, MsTurnError, MsTurnMessage, ms_attr, ms_type};
