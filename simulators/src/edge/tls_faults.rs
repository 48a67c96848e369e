//! The `crash-on-bad-tls` fault: the reference Edge crashes (stops
//! listening, drops every connection) when a connection from outside
//! breaks on malformed TLS: a ClientHello it cannot negotiate (an old
//! protocol version), a record that does not decrypt, a record longer than
//! TLS allows. A handshake refused for the peer's certificate, a timeout or
//! a peer that just goes away are not malformed TLS and change nothing.

use super::FaultSet;
use super::fault::Fault;
use crate::tls::TlsError;

/// Whether the failed handshake `error` crashes the Edge.
pub(super) fn crashes_on_handshake(faults: &FaultSet, error: &TlsError) -> bool {
    faults.has(Fault::CrashOnBadTls)
        && matches!(
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
        assert!(crashes_on_handshake(&faults, &bad));
        assert!(!crashes_on_handshake(&FaultSet::default(), &bad));
        let certificate = TlsError::Handshake {
            peer: "127.0.0.1:1".parse().expect("address"),
            message: String::new(),
            tls_error: Some(rustls::Error::NoCertificatesPresented),
        };
        assert!(!crashes_on_handshake(&faults, &certificate));
        let decrypt = format!("read failed: {}", rustls::Error::DecryptError);
        assert!(crashes_on_close(&faults, &decrypt));
        assert!(!crashes_on_close(&faults, "peer closed the connection"));
        assert!(!crashes_on_close(&FaultSet::default(), &decrypt));
    }
}
