//! The `crash-on-bad-tls` fault: the reference Edge crashes (stops
//! listening, drops every connection) when a connection from outside
//! breaks on malformed TLS: a ClientHello it cannot negotiate (an old
//! protocol version), a record that does not decrypt, a record longer than
//! TLS allows, a client chain of more than 10 certificates, or a
//! renegotiation ClientHello on an established TLS 1.2 connection (rustls
//! refuses it without telling the application, so a watcher reads the
//! connection's captured bytes for it). A handshake
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

/// Whether the client's bytes of a TLS 1.2 connection hold a
/// renegotiation: a second handshake record after the client's
/// ChangeCipherSpec (the first is its Finished). A TLS 1.3 client sends
/// only application-data records after it, so never matches.
pub(super) fn client_renegotiated(client_bytes: &[u8]) -> bool {
    const CHANGE_CIPHER_SPEC: u8 = 20;
    const HANDSHAKE: u8 = 22;
    let mut at = 0;
    let mut handshakes_after_ccs: Option<usize> = None;
    while let Some(header) = client_bytes.get(at..at + 5) {
        match (header[0], handshakes_after_ccs.as_mut()) {
            (CHANGE_CIPHER_SPEC, _) => handshakes_after_ccs = Some(0),
            (HANDSHAKE, Some(count)) => {
                *count += 1;
                if *count >= 2 {
                    return true;
                }
            }
            _ => {}
        }
        at += 5 + usize::from(u16::from_be_bytes([header[3], header[4]]));
    }
    false
}

/// Under `crash-on-bad-tls`, watches an external connection's captured
/// bytes and crashes the Edge when the client renegotiates; ends with the
/// connection.
pub(super) fn watch_for_renegotiation(
    faults: &FaultSet,
    record: crate::tls::ConnectionRecord,
    crashed: tokio::sync::watch::Sender<bool>,
) {
    if !faults.has(Fault::CrashOnBadTls) {
        return;
    }
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(std::time::Duration::from_millis(100));
        while !record.is_closed() && !*crashed.borrow() {
            interval.tick().await;
            let stream = record.snapshot();
            let client: Vec<u8> = stream
                .segments
                .iter()
                .filter(|s| s.direction == picharness_reports::Direction::ClientToServer)
                .flat_map(|s| s.bytes.iter().copied())
                .collect();
            if client_renegotiated(&client) {
                crashed.send_replace(true);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_second_handshake_record_after_change_cipher_spec_is_a_renegotiation() {
        let record = |kind: u8, len: u8| {
            let mut r = vec![kind, 3, 3, 0, len];
            r.extend(std::iter::repeat_n(0, usize::from(len)));
            r
        };
        let mut bytes = [
            record(22, 40),
            record(22, 70),
            record(20, 1),
            record(22, 40),
        ]
        .concat();
        bytes.extend(record(23, 30));
        assert!(
            !client_renegotiated(&bytes),
            "hello, key exchange, CCS, Finished, data"
        );
        bytes.extend(record(22, 120));
        assert!(client_renegotiated(&bytes));
        let tls13 = [
            record(22, 200),
            record(20, 1),
            record(23, 60),
            record(23, 30),
        ]
        .concat();
        assert!(!client_renegotiated(&tls13));
    }

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
