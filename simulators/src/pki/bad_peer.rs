//! The deliberately unusual identities a simulated provider peer can
//! present to the SUT. Most are wrong, so a case can check that the Edge
//! refuses them: no certificate at all, an untrusted issuer, an expired or
//! not-yet-valid certificate, a name that is not the provider's federation
//! FQDN, and a certificate without the clientAuth EKU.
//!
//! Two are legacy but acceptable to Lync 2013, so a case can check that the
//! Edge still lets them in ([`BadPeerCertificate::acceptable_to_lync`]): an
//! RSA 1024-bit key (CERT-07; made and used with the RustCrypto `rsa` crate,
//! see `rsa1024`) and an ecdsa-with-SHA1 signature by the test root (CERT-08;
//! see `sha1_signed`). Each differs from a good peer certificate in that one
//! property only.

use std::fmt;

use super::defect::{Defect, issue_with_defect, provider_spec};
use super::{CertifiedKey, KeyKind, LeafSpec, PkiError, TestPki};

/// One way a peer's client certificate can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BadPeerCertificate {
    /// The peer presents no certificate.
    NoCertificate,
    /// Valid in every way but issued by a root the SUT does not trust.
    UntrustedIssuer,
    /// Expired yesterday.
    Expired,
    /// Valid only from tomorrow.
    NotYetValid,
    /// Names `WRONG_PEER_NAME` instead of the provider's federation FQDN.
    WrongName,
    /// Carries serverAuth but not clientAuth.
    NoClientAuthEku,
    /// An RSA 1024-bit key (acceptable to Lync 2013, CERT-07).
    Rsa1024Key,
    /// Signed by the test root with ecdsa-with-SHA1 (acceptable to Lync 2013, CERT-08).
    Sha1Signature,
}

/// The name a `WrongName` certificate carries.
pub const WRONG_PEER_NAME: &str = "sip.rogue-provider.test";

impl BadPeerCertificate {
    pub const ALL: [Self; 8] = [
        Self::NoCertificate,
        Self::UntrustedIssuer,
        Self::Expired,
        Self::NotYetValid,
        Self::WrongName,
        Self::NoClientAuthEku,
        Self::Rsa1024Key,
        Self::Sha1Signature,
    ];

    /// Whether Lync 2013 accepts this certificate from a peer (the legacy
    /// key size and signature digest it still allows).
    pub fn acceptable_to_lync(self) -> bool {
        matches!(self, Self::Rsa1024Key | Self::Sha1Signature)
    }

    /// A file-name-friendly label.
    pub fn label(self) -> &'static str {
        match self {
            Self::NoCertificate => "no-certificate",
            Self::UntrustedIssuer => "untrusted-issuer",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::WrongName => "wrong-name",
            Self::NoClientAuthEku => "no-client-auth-eku",
            Self::Rsa1024Key => "rsa-1024",
            Self::Sha1Signature => "sha1-signature",
        }
    }

    /// What the peer presents, as a phrase for verdict reasons.
    pub fn description(self) -> &'static str {
        match self {
            Self::NoCertificate => "no client certificate",
            Self::UntrustedIssuer => "a certificate from an untrusted issuer",
            Self::Expired => "an expired certificate",
            Self::NotYetValid => "a certificate that is not valid yet",
            Self::WrongName => "a certificate that does not name the provider's FQDN",
            Self::NoClientAuthEku => "a certificate without the clientAuth EKU",
            Self::Rsa1024Key => "a certificate with an RSA 1024-bit key",
            Self::Sha1Signature => "a certificate signed with SHA-1 (ecdsa-with-SHA1)",
        }
    }

    /// Issues the certificate for a peer whose federation FQDN is `fqdn`:
    /// `trusted` is the PKI the SUT trusts, `untrusted` one it does not.
    /// `None` for [`BadPeerCertificate::NoCertificate`].
    pub fn issue(
        self,
        trusted: &TestPki,
        untrusted: &TestPki,
        fqdn: &str,
    ) -> Result<Option<CertifiedKey>, PkiError> {
        let spec = provider_spec(fqdn);
        let defect = match self {
            Self::NoCertificate => return Ok(None),
            Self::Rsa1024Key => {
                return trusted
                    .issue_with_rsa_1024_key(&LeafSpec {
                        key: KeyKind::Rsa2048,
                        ..spec
                    })
                    .map(Some);
            }
            Self::Sha1Signature => return trusted.issue_sha1_signed(&spec).map(Some),
            Self::UntrustedIssuer => Defect::UntrustedIssuer,
            Self::Expired => Defect::Expired,
            Self::NotYetValid => Defect::NotYetValid,
            Self::WrongName => Defect::WrongName,
            Self::NoClientAuthEku => Defect::NoClientAuthEku,
        };
        issue_with_defect(Some(defect), spec, trusted, untrusted).map(Some)
    }
}

impl fmt::Display for BadPeerCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.description())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::describe_certificate;
    use time::OffsetDateTime;

    #[test]
    fn each_bad_certificate_is_wrong_in_its_own_way() {
        let trusted = TestPki::generate("trusted").expect("pki");
        let untrusted = TestPki::generate("untrusted").expect("pki");
        let fqdn = "sip.yahoo.com";
        for bad in BadPeerCertificate::ALL {
            let issued = bad.issue(&trusted, &untrusted, fqdn).expect("issue");
            let Some(ck) = issued else {
                assert_eq!(bad, BadPeerCertificate::NoCertificate);
                continue;
            };
            let s = describe_certificate(&ck.chain[0]).expect("describe");
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let (_, cert) = x509_parser::parse_x509_certificate(&ck.chain[0]).expect("parse");
            let valid_now = cert.validity().not_before.timestamp() <= now
                && now <= cert.validity().not_after.timestamp();
            let from_trusted = ck.chain.last() == Some(&trusted.ca_der());
            let names_fqdn = s.dns_names.iter().any(|n| n == fqdn);
            let legacy = (s.key.as_str(), s.signature_algorithm.as_str());
            let expected_legacy = match bad {
                BadPeerCertificate::Rsa1024Key => ("RSA 1024", "ecdsa-with-SHA256"),
                BadPeerCertificate::Sha1Signature => ("EC P-256", "ecdsa-with-SHA1"),
                _ => ("EC P-256", "ecdsa-with-SHA256"),
            };
            assert_eq!(legacy, expected_legacy, "{bad:?}");
            assert_eq!(
                bad.acceptable_to_lync(),
                expected_legacy != ("EC P-256", "ecdsa-with-SHA256")
            );
            let expected = match bad {
                BadPeerCertificate::Rsa1024Key | BadPeerCertificate::Sha1Signature => {
                    (true, true, true, true)
                }
                BadPeerCertificate::UntrustedIssuer => (false, true, true, true),
                BadPeerCertificate::Expired | BadPeerCertificate::NotYetValid => {
                    (true, false, true, true)
                }
                BadPeerCertificate::WrongName => (true, true, false, true),
                BadPeerCertificate::NoClientAuthEku => (true, true, true, false),
                BadPeerCertificate::NoCertificate => unreachable!(),
            };
            assert_eq!(
                (from_trusted, valid_now, names_fqdn, s.client_auth),
                expected,
                "{bad:?}: {s:?}"
            );
        }
    }
}
