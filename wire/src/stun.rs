//! STUN (RFC 5389) and TURN (RFC 5766) messages: header, attributes,
//! MESSAGE-INTEGRITY, FINGERPRINT, ChannelData and stream framing.

mod attributes;
mod channel_data;
mod crc32;
mod credentials;
mod framing;
mod header;
mod message;

#[cfg(test)]
mod rfc5769_tests;

pub use attributes::{ErrorCode, attr};
pub use channel_data::{CHANNEL_RANGE, ChannelData};
pub use credentials::{long_term_key, short_term_key};
pub use framing::{OutOfSync, StreamFrame, StunStreamDecoder};
pub use header::{Class, MAGIC_COOKIE, Method, TransactionId, method};
pub use message::{Attribute, Check, MessageBuilder, StunError, StunMessage, xor_address_value};
