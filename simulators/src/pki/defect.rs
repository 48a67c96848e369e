//! The one builder behind every "certificate with one defect" the harness
//! presents, whether as a peer connecting in (`bad_peer`) or as an impostor
//! answering at a provider's address (`impostor`): a certificate for the
//! provider's federation FQDN, ECDSA P-256, serverAuth and clientAuth,
//! from the trusted test CA, valid from yesterday for 30 days, with at
//! most one property changed.

use time::{Duration, OffsetDateTime};

use super::{CertifiedKey, KeyKind, LeafSpec, PkiError, TestPki, WRONG_PEER_NAME};

/// The one property a provider certificate gets wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Defect {
    /// Names `WRONG_PEER_NAME` instead of the provider's FQDN.
    WrongName,
    /// Issued by a root the SUT does not trust.
    UntrustedIssuer,
    /// Expired yesterday.
    Expired,
    /// Valid only from tomorrow.
    NotYetValid,
    /// Carries serverAuth but not clientAuth.
    NoClientAuthEku,
    /// Carries clientAuth but not serverAuth.
    NoServerAuthEku,
}

/// The good certificate of the provider whose federation FQDN is `fqdn`,
/// as the defect builder starts from it.
pub(crate) fn provider_spec(fqdn: &str) -> LeafSpec {
    let mut spec = LeafSpec::federation(fqdn, &[fqdn]);
    spec.key = KeyKind::EcdsaP256;
    spec
}

/// Issues `spec` (see [`provider_spec`]) with `defect`, or as it is when
/// `defect` is `None`: `trusted` is the PKI the SUT trusts, `untrusted`
/// one it does not.
pub(crate) fn issue_with_defect(
    defect: Option<Defect>,
    spec: LeafSpec,
    trusted: &TestPki,
    untrusted: &TestPki,
) -> Result<CertifiedKey, PkiError> {
    let now = OffsetDateTime::now_utc();
    let Some(defect) = defect else {
        return trusted.issue(&spec);
    };
    match defect {
        Defect::WrongName => trusted.issue(&LeafSpec {
            common_name: WRONG_PEER_NAME.to_owned(),
            dns_names: vec![WRONG_PEER_NAME.to_owned()],
            ..spec
        }),
        Defect::UntrustedIssuer => untrusted.issue(&spec),
        Defect::Expired => {
            trusted.issue_with_validity(&spec, now - Duration::days(31), now - Duration::days(1))
        }
        Defect::NotYetValid => {
            trusted.issue_with_validity(&spec, now + Duration::days(1), now + Duration::days(31))
        }
        Defect::NoClientAuthEku => trusted.issue(&LeafSpec {
            client_auth: false,
            ..spec
        }),
        Defect::NoServerAuthEku => trusted.issue(&LeafSpec {
            server_auth: false,
            ..spec
        }),
    }
}
