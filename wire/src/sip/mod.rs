//! SIP (RFC 3261): messages, header access, URIs and stream framing.

mod framing;
mod headers;
mod message;
mod uri;

pub use framing::{DEFAULT_MAX_MESSAGE_SIZE, Frame, FramingError, StreamDecoder};
pub use headers::{Header, Headers, canonical_header_name};
pub use message::{ParseError, SipMessage, StartLine};
pub use uri::{NameAddr, SipUri, UriError};
