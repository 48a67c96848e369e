//! An actor playing an impostor at its own address: its listener presents
//! another certificate (wrong name, untrusted root, out of its validity
//! dates, no serverAuth) to whoever connects, while everything else about
//! it stays the same. A case uses this to see whether the Edge, connecting
//! out to a provider, checks the certificate of the server that answers.
//!
//! The actor remembers which connections it accepted while impersonating
//! and how the handshakes that failed ended, so the case can tell a request
//! the Edge sent to the impostor from one on an older connection, and show
//! the refusal in its trace.

use std::collections::HashSet;

use rustls_pki_types::CertificateDer;
use tokio_rustls::TlsAcceptor;

use crate::tls::{ConnectionRecord, TlsError};

/// A handshake with the impostor that did not complete.
#[derive(Debug, Clone)]
pub struct FailedHandshake {
    /// The bytes both sides sent (the Edge's alert, if it sent one).
    pub record: ConnectionRecord,
    /// The rustls error the impostor's side saw.
    pub tls_error: Option<rustls::Error>,
    /// The error as text.
    pub message: String,
}

impl FailedHandshake {
    pub(super) fn new(error: &TlsError, record: ConnectionRecord) -> Self {
        let tls_error = match error {
            TlsError::Handshake { tls_error, .. } => tls_error.clone(),
            _ => None,
        };
        Self {
            record,
            tls_error,
            message: error.to_string(),
        }
    }
}

/// What happened while the actor impersonated.
#[derive(Debug, Clone, Default)]
pub struct ImpostorReport {
    /// The chain the impostor presented, leaf first.
    pub chain: Vec<CertificateDer<'static>>,
    /// TCP connections taken while impersonating (handshakes begun).
    pub attempts: usize,
    /// Connections accepted (handshake completed) while impersonating.
    pub accepted: HashSet<u64>,
    /// Handshakes that failed while impersonating.
    pub failed: Vec<FailedHandshake>,
}

/// The actor's impersonation while it lasts.
pub(super) struct Impostor {
    pub(super) acceptor: TlsAcceptor,
    /// Tells this impersonation from a later one, for handshakes that
    /// finish after it ended.
    pub(super) generation: u64,
    pub(super) report: ImpostorReport,
}

impl Impostor {
    pub(super) fn new(
        acceptor: TlsAcceptor,
        generation: u64,
        chain: Vec<CertificateDer<'static>>,
    ) -> Self {
        Self {
            acceptor,
            generation,
            report: ImpostorReport {
                chain,
                ..ImpostorReport::default()
            },
        }
    }
}

impl ImpostorReport {
    /// Whether every handshake begun has ended, one way or the other.
    pub(super) fn settled(&self) -> bool {
        self.accepted.len() + self.failed.len() >= self.attempts
    }
}
