//! What the harness needs to impersonate provider peers beyond their normal
//! identity: the CA the SUT trusts (to issue expired, misnamed or
//! EKU-less peer certificates, and the certificates of impostors at a
//! provider's address), a CA it does not trust, and the roots the peers
//! trust the SUT's certificate with.

use std::sync::Arc;

use picharness_simulators::edge::{Fault, FaultSet};
use picharness_simulators::pki::{
    BadPeerCertificate, CertifiedKey, ImpostorCertificate, PkiError, RevokedIdentity, TestPki,
};
use rustls::RootCertStore;

/// The embedded topology's peer-side PKI.
pub struct PeerPki {
    trusted: Arc<TestPki>,
    untrusted: TestPki,
    /// The roots the simulated peers verify the SUT's certificate against.
    pub peer_roots: RootCertStore,
}

impl PeerPki {
    pub(crate) fn new(trusted: Arc<TestPki>, peer_roots: RootCertStore) -> Result<Self, PkiError> {
        Ok(Self {
            trusted,
            untrusted: TestPki::generate("untrusted")?,
            peer_roots,
        })
    }

    /// The roots the reference Edge verifies peers with: the configured
    /// anchors, plus the untrusted root when the `accept-untrusted-peer`
    /// fault is on.
    pub(crate) fn edge_peer_roots(
        &self,
        anchors: &RootCertStore,
        faults: &FaultSet,
    ) -> Result<RootCertStore, PkiError> {
        let mut roots = anchors.clone();
        if faults.has(Fault::AcceptUntrustedPeer) {
            roots
                .add(self.untrusted.ca_der())
                .map_err(|e| PkiError::TrustAnchor(e.to_string()))?;
        }
        Ok(roots)
    }

    /// The certificate (or none) a peer for `fqdn` presents when it is
    /// wrong in the way `bad` says.
    pub fn bad_identity(
        &self,
        bad: BadPeerCertificate,
        fqdn: &str,
    ) -> Result<Option<Arc<CertifiedKey>>, PkiError> {
        Ok(bad
            .issue(&self.trusted, &self.untrusted, fqdn)?
            .map(Arc::new))
    }

    /// The certificate an impostor at the address of the provider whose
    /// federation FQDN is `fqdn` presents when it is wrong in the way `bad` says.
    pub fn impostor_identity(
        &self,
        bad: ImpostorCertificate,
        fqdn: &str,
    ) -> Result<Arc<CertifiedKey>, PkiError> {
        Ok(Arc::new(bad.issue(&self.trusted, &self.untrusted, fqdn)?))
    }

    /// A certificate for the provider whose federation FQDN is `fqdn`,
    /// issued under `intermediates` intermediate CAs below the trusted root.
    pub fn long_chain_identity(
        &self,
        fqdn: &str,
        intermediates: usize,
    ) -> Result<Arc<CertifiedKey>, PkiError> {
        Ok(Arc::new(
            self.trusted
                .issue_under_intermediates(fqdn, intermediates)?,
        ))
    }

    /// The good certificate of the provider whose federation FQDN is
    /// `fqdn`, with `crl_url` as its CRL distribution point, revoked by the
    /// CA the SUT trusts (the CRL comes with it).
    pub fn revoked_identity(&self, fqdn: &str, crl_url: &str) -> Result<RevokedIdentity, PkiError> {
        self.trusted.issue_revoked(fqdn, crl_url)
    }
}
