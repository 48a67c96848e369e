//! The MS-TURN dialect ([MS-TURN], the TURN a Lync 2013 A/V Edge speaks):
//! the pre-RFC message layout (a 16-byte transaction id and no header
//! cookie; the Magic Cookie attribute first instead), its message types and
//! attribute numbers (REALM and NONCE swapped against RFC 5389), MS-Version,
//! and the TCP framing header (control vs. end-to-end data).
//!
//! The digest of a credentialed Allocate (§3.1.12) is in `integrity`, with
//! what the specification leaves open; the address attributes in `address`
//! and the relaying messages (Send, Data Indication) in `relay`. The
//! pseudo-TLS exchange that opens a session on TCP 443 (§2.1.1) is in
//! `pseudo_tls`. Not here yet: the multiplexed TURN (0xFF10) format.

mod address;
mod framing;
mod integrity;
mod message;
mod pseudo_tls;
mod relay;

#[cfg(test)]
mod spec_vectors;

#[cfg(test)]
mod pseudo_tls_vectors;

pub use address::{decode_ms_address, encode_ms_address};
pub use framing::{MsTcpFrame, MsTcpFrameKind, MsTcpFramingError, decode_tcp_frame};
pub use integrity::{MsIntegrity, check_ms_integrity, ms_turn_key};
pub use message::{MS_MAGIC_COOKIE, MsAttribute, MsTurnError, MsTurnMessage, ms_attr, ms_type};
pub use pseudo_tls::{
    CLIENT_HELLO_LEN, PSEUDO_TLS_FIRST_BYTE, PseudoTlsError, SERVER_HELLO_LEN, ServerHello,
    encode_client_hello, parse_client_hello,
};
pub use relay::{MsRelayed, ms_data_indication, ms_send_request};
