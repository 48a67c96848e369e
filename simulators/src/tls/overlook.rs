//! Server-certificate checks a TLS client can be told to skip: the fault
//! switches of the reference Edge's outbound side (an Edge that connects
//! out to a provider and does not check the provider's host name, its
//! root, its validity dates or its serverAuth EKU). Each skipped check
//! lets exactly that one defect through; every other check still holds.
//!
//! webpki checks the chain (validity, EKU, path to a root) before the
//! name, and reports the first failure. Name, root and EKU are skipped by
//! accepting that one error. Validity is skipped by verifying again at a
//! time inside the leaf's own validity window, so the chain's signatures
//! and the name are still checked.

use std::collections::BTreeSet;

use rustls::CertificateError;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{ServerCertVerified, ServerCertVerifier};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// One check of the server's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ServerCheck {
    /// The certificate names the host connected to.
    HostName,
    /// The chain ends in a trusted root.
    Root,
    /// Now is within notBefore..notAfter.
    Validity,
    /// The leaf carries the serverAuth EKU.
    ServerAuthEku,
}

/// The checks a client skips; empty for a client that checks everything.
pub type OverlookedChecks = BTreeSet<ServerCheck>;

fn skippable(error: &rustls::Error) -> Option<ServerCheck> {
    let rustls::Error::InvalidCertificate(error) = error else {
        return None;
    };
    match error {
        CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
            Some(ServerCheck::HostName)
        }
        CertificateError::UnknownIssuer => Some(ServerCheck::Root),
        CertificateError::Expired
        | CertificateError::ExpiredContext { .. }
        | CertificateError::NotValidYet
        | CertificateError::NotValidYetContext { .. } => Some(ServerCheck::Validity),
        CertificateError::InvalidPurpose | CertificateError::InvalidPurposeContext { .. } => {
            Some(ServerCheck::ServerAuthEku)
        }
        _ => None,
    }
}

/// A moment inside the leaf's validity window, if it can be read.
fn inside_validity(end_entity: &CertificateDer<'_>) -> Option<UnixTime> {
    let (_, cert) = x509_parser::parse_x509_certificate(end_entity).ok()?;
    let from = u64::try_from(cert.validity().not_before.timestamp()).ok()?;
    let to = u64::try_from(cert.validity().not_after.timestamp()).ok()?;
    (from <= to)
        .then(|| UnixTime::since_unix_epoch(std::time::Duration::from_secs(from / 2 + to / 2)))
}

/// Verifies with `delegate`, skipping the checks in `overlook`.
pub(super) fn verify(
    delegate: &WebPkiServerVerifier,
    overlook: &OverlookedChecks,
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    server_name: &ServerName<'_>,
    ocsp_response: &[u8],
    now: UnixTime,
) -> Result<ServerCertVerified, rustls::Error> {
    let result =
        delegate.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now);
    let Err(error) = &result else {
        return result;
    };
    match skippable(error).filter(|check| overlook.contains(check)) {
        Some(ServerCheck::Validity) => match inside_validity(end_entity) {
            Some(then) => delegate.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                then,
            ),
            None => result,
        },
        Some(_) => Ok(ServerCertVerified::assertion()),
        None => result,
    }
}
