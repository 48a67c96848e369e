//! The little HTTP/1.1 the harness needs for revocation: a responder that
//! serves CRLs at the distribution points of the certificates it issues
//! (GET only, one request per connection, every request logged for the
//! case evidence), and the client the reference Edge fetches them with.
//!
//! `message` is the sans-IO part (request head, response, URL); the
//! sockets are in `responder` and `client`. No HTTP crate is pulled in:
//! a CRL is one GET with a Content-Length answer.

mod client;
mod message;
mod responder;

pub use client::fetch;
pub use message::{
    HttpError, HttpUrl, MAX_REQUEST_HEAD, MAX_RESPONSE_HEAD, RequestHead, Response,
    parse_request_head, parse_response, response_bytes,
};
pub use responder::{CRL_CONTENT_TYPE, CrlResponder, HttpLog, HttpRequestRecord};

#[cfg(test)]
mod tests;
