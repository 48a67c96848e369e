//! Sans-IO protocol codecs for picharness.
//!
//! Bytes in, typed values out, and back. Nothing in this crate touches a
//! socket, a clock or an async runtime, so every rule it implements is tested
//! with byte vectors alone. The parsed forms always keep the original bytes
//! beside them: evidence must show exactly what the system under test sent.

pub mod ms_turn;
pub mod rtcp;
pub mod rtp;
pub mod sdp;
pub mod sip;
pub mod stun;
pub mod text;
pub mod tls_legacy;
