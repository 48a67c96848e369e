//! The certificates an impostor presents when it answers, as TLS server,
//! at a provider's address: what the Edge meets when it connects out to a
//! provider it found through DNS and someone has redirected the name or the
//! route. Each differs from the provider's good certificate in one property:
//! a name that is not the provider's federation FQDN (CERT-11), an issuer
//! the Edge does not trust (CERT-15), a validity window that has ended or
//! not begun, or no serverAuth EKU.

use std::fmt;

use super::defect::{Defect, issue_with_defect, provider_spec};
use super::{CertifiedKey, PkiError, TestPki};

/// One way the certificate of the server the Edge connects out to can be wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImpostorCertificate {
    /// Trusted, valid, but names `WRONG_PEER_NAME`, not the provider's FQDN.
    WrongName,
    /// Names the provider, but issued by a root the SUT does not trust.
    UntrustedIssuer,
    /// Names the provider, trusted issuer, expired yesterday.
    Expired,
    /// Names the provider, trusted issuer, valid only from tomorrow.
    NotYetValid,
    /// Names the provider, trusted and valid, but carries clientAuth only.
    NoServerAuthEku,
}

impl ImpostorCertificate {
    pub const ALL: [Self; 5] = [
        Self::WrongName,
        Self::UntrustedIssuer,
        Self::Expired,
        Self::NotYetValid,
        Self::NoServerAuthEku,
    ];

    /// A file-name-friendly label.
    pub fn label(self) -> &'static str {
        match self {
            Self::WrongName => "wrong-name",
            Self::UntrustedIssuer => "untrusted-issuer",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::NoServerAuthEku => "no-server-auth-eku",
        }
    }

    /// What the impostor presents, as a phrase for verdict reasons.
    pub fn description(self) -> &'static str {
        match self {
            Self::WrongName => "a trusted certificate for another name",
            Self::UntrustedIssuer => "a certificate for the provider's FQDN from an untrusted root",
            Self::Expired => "an expired certificate for the provider's FQDN",
            Self::NotYetValid => "a certificate for the provider's FQDN that is not valid yet",
            Self::NoServerAuthEku => {
                "a certificate for the provider's FQDN without the serverAuth EKU"
            }
        }
    }

    /// Issues the certificate an impostor at the address of the provider
    /// whose federation FQDN is `fqdn` presents: `trusted` is the PKI the
    /// SUT trusts, `untrusted` one it does not.
    pub fn issue(
        self,
        trusted: &TestPki,
        untrusted: &TestPki,
        fqdn: &str,
    ) -> Result<CertifiedKey, PkiError> {
        let defect = match self {
            Self::WrongName => Defect::WrongName,
            Self::UntrustedIssuer => Defect::UntrustedIssuer,
            Self::Expired => Defect::Expired,
            Self::NotYetValid => Defect::NotYetValid,
            Self::NoServerAuthEku => Defect::NoServerAuthEku,
        };
        issue_with_defect(Some(defect), provider_spec(fqdn), trusted, untrusted)
    }
}

impl fmt::Display for ImpostorCertificate {
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
    fn each_impostor_certificate_is_wrong_in_its_own_way() {
        let trusted = TestPki::generate("trusted").expect("pki");
        let untrusted = TestPki::generate("untrusted").expect("pki");
        let fqdn = "sip.yahoo.com";
        for bad in ImpostorCertificate::ALL {
            let ck = bad.issue(&trusted, &untrusted, fqdn).expect("issue");
            let s = describe_certificate(&ck.chain[0]).expect("describe");
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let (_, cert) = x509_parser::parse_x509_certificate(&ck.chain[0]).expect("parse");
            let valid_now = cert.validity().not_before.timestamp() <= now
                && now <= cert.validity().not_after.timestamp();
            let from_trusted = ck.chain.last() == Some(&trusted.ca_der());
            let names_fqdn = s.dns_names.iter().any(|n| n == fqdn);
            let expected = match bad {
                ImpostorCertificate::WrongName => (true, true, false, true),
                ImpostorCertificate::UntrustedIssuer => (false, true, true, true),
                ImpostorCertificate::Expired | ImpostorCertificate::NotYetValid => {
                    (true, false, true, true)
                }
                ImpostorCertificate::NoServerAuthEku => (true, true, true, false),
            };
            assert_eq!(
                (from_trusted, valid_now, names_fqdn, s.server_auth),
                expected,
                "{bad:?}: {s:?}"
            );
            assert!(s.client_auth, "{bad:?}: a provider presents clientAuth too");
        }
    }
}
