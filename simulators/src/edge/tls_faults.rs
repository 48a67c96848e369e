//! The `crash-on-bad-tls` fault: the reference Edge crashes (stops
//! listening, drops every connection) when a connection from outside
//! breaks on malformed TLS: a ClientHello it cannot negotiate (an old
//! protocol version), a record that does not decrypt, a record longer than
//! TLS allows, or a client chain of more than 10 certificates. A handshake
//! refused for another certificate reason, a timeout or a peer that just
//! goes away are not malformed TLS and change nothing.

use super::FaultSet;
use super::fault::Fault;
use crate::tls::{ChainRecorder, TlsError};

/// A client chain longer than this crashes the Edge under the fault (the
/// long-chain case presents 32 certificates; real chains have 2 to 4).
const LONGEST_CHAIN: usize = 10;

/// Whether the failed handshake `error` crashes the Edge; `chains` holds
/// the chains presented on the external side.
pub(super) fn crashes_on_handshake(
    faults: &FaultSet,
    error: &TlsError,
    chains: &ChainRecorder,
) -> bool {
    if !faults.has(Fault::CrashOnBadTls) {
        return false;
    }
    let long_chain = chains
        .last_record()
        .is_some_and(|r| r.chain.len() > LONGEST_CHAIN);
    long_chain
        || matches!(
            error,
            TlsError::Handshake {
                tls_error: Some(
                    rustls::Error::InvalidMessage(_)
                        | rustls::Error::PeerIncompatible(_)
                        | rustls::Error::DecryptError
                        | rustls::Error::PeerMisbehaved(_)
                ),
                ..
            }
        )
}

/// Whether a connection that ended with `reason` (the connection task's
/// words for a failed read) ended on malformed TLS and crashes the Edge.
pub(super) fn crashes_on_close(faults: &FaultSet, reason: &str) -> bool {
    faults.has(Fault::CrashOnBadTls)
        && reason.starts_with("read failed")
        && [
            rustls::Error::DecryptError.to_string(),
            "received corrupt message".to_owned(),
            "peer is incompatible".to_owned(),
            "peer misbehaved".to_owned(),
        ]
        .iter()
        .any(|marker| reason.contains(marker.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_malformed_tls_crashes_and_only_under_the_fault() {
        let faults = FaultSet::new([Fault::CrashOnBadTls]);
        let bad = TlsError::Handshake {
            peer: "127.0.0.1:1".parse().expect("address"),
            message: String::new(),
            tls_error: Some(rustls::Error::PeerIncompatible(
                rustls::PeerIncompatible::SupportedVersionsExtensionRequired,
            )),
        };
        let none = ChainRecorder::default();
        assert!(crashes_on_handshake(&faults, &bad, &none));
        assert!(!crashes_on_handshake(&FaultSet::default(), &bad, &none));
        let certificate = TlsError::Handshake {
            peer: "127.0.0.1:1".parse().expect("address"),
            message: String::new(),
            tls_error: Some(rustls::Error::NoCertificatesPresented),
        };
        assert!(!crashes_on_handshake(&faults, &certificate, &none));
        let decrypt = format!("read failed: {}", rustls::Error::DecryptError);
        assert!(crashes_on_close(&faults, &decrypt));
        assert!(!crashes_on_close(&faults, "peer closed the connection"));
        assert!(!crashes_on_close(&FaultSet::default(), &decrypt));
    }
}
