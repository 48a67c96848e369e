//! The actors picharness plays, with real sockets, and the reference Edge.
//!
//! Everything here speaks to the network: the test PKI (`pki`), TLS with
//! byte capture and key logging (`tls`), the in-process authoritative DNS
//! server (`dns`), SIP connections over TLS (`sip_conn`), the provider peers
//! and internal pool (`actor`), and the embedded reference Edge with its
//! fault switches (`edge`). Protocol rules come from `picharness-wire`;
//! captured evidence is expressed in `picharness-reports` types.

pub mod actor;
pub mod av;
pub mod destinations;
pub mod dns;
pub mod edge;
pub mod http;
pub mod pki;
pub mod sip_conn;
pub mod tls;
