//! SIP (RFC 3261): messages, header access, URIs, Via, parameters, stream
//! framing, validation, linting, and the transaction and dialog state
//! machines.

pub mod dialog;
mod framing;
mod headers;
mod lint;
mod message;
mod params;
mod syntax;
pub mod transaction;
mod uri;
mod validate;
mod via;

pub use framing::{
    DEFAULT_MAX_MESSAGE_SIZE, Frame, FramingError, KEEPALIVE_PING, KEEPALIVE_PONG, StreamDecoder,
};
pub use headers::{Header, Headers, canonical_header_name};
pub use lint::{LintReport, lint};
pub use message::{MAX_HEADER_LINES, ParseError, SipMessage, StartLine};
pub use params::{Param, ParamError, parse_params_lenient, parse_params_strict};
pub use syntax::unescape;
pub use uri::{NameAddr, SipUri, TelUri, UriError};
pub use validate::{Finding, Rule, Severity, validate, validate_stream};
pub use via::{BRANCH_MAGIC_COOKIE, Via, ViaError};
