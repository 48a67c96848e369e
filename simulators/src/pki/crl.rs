//! Revocation in the test PKI: a provider certificate whose CRL
//! distribution point names a URL the harness serves, and the CRL (DER,
//! signed by the issuing CA) that lists it as revoked. Apart from being
//! revoked the certificate is the provider's good one (see `defect`).

use rcgen::{
    CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber,
};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use time::{Duration, OffsetDateTime};

use super::defect::provider_spec;
use super::{CertifiedKey, PkiError, TestPki, gen_err, random_serial};

/// How long a CRL the harness issues says it is current.
pub const CRL_VALIDITY: Duration = Duration::days(7);

/// A provider certificate its CA has revoked, with the CRL that says so.
#[derive(Debug, Clone)]
pub struct RevokedIdentity {
    /// The certificate (with its CA) and key; its CRL distribution point
    /// is `crl_url`.
    pub identity: CertifiedKey,
    /// The CRL listing the certificate's serial, signed by its CA.
    pub crl: CertificateRevocationListDer<'static>,
    /// The URL in the certificate's CRL distribution point.
    pub crl_url: String,
}

/// The serial number of a certificate, as its DER encodes it.
pub fn serial_of(der: &CertificateDer<'_>) -> Option<Vec<u8>> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).ok()?;
    Some(cert.raw_serial().to_vec())
}

impl TestPki {
    /// A CRL signed by this CA that lists `revoked` (certificates it
    /// issued), current from an hour ago for [`CRL_VALIDITY`]. An empty
    /// list gives a CRL that revokes nothing.
    pub fn issue_crl(
        &self,
        revoked: &[CertificateDer<'_>],
    ) -> Result<CertificateRevocationListDer<'static>, PkiError> {
        let now = OffsetDateTime::now_utc();
        let revoked_certs = revoked
            .iter()
            .map(|der| {
                let serial = serial_of(der).ok_or_else(|| {
                    PkiError::Revocation("a certificate to revoke does not parse".to_owned())
                })?;
                Ok(RevokedCertParams {
                    serial_number: SerialNumber::from_slice(&serial),
                    revocation_time: now - Duration::hours(1),
                    reason_code: Some(RevocationReason::KeyCompromise),
                    invalidity_date: None,
                })
            })
            .collect::<Result<Vec<_>, PkiError>>()?;
        let params = CertificateRevocationListParams {
            this_update: now - Duration::hours(1),
            next_update: now + CRL_VALIDITY,
            crl_number: random_serial(),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: KeyIdMethod::Sha256,
        };
        let crl = params
            .signed_by(&self.issuer)
            .map_err(gen_err(format!("signing a CRL of {}", self.name)))?;
        Ok(crl.der().clone())
    }

    /// The good certificate of the provider whose federation FQDN is
    /// `fqdn`, with `crl_url` as its CRL distribution point, and a CRL that
    /// revokes it.
    pub fn issue_revoked(&self, fqdn: &str, crl_url: &str) -> Result<RevokedIdentity, PkiError> {
        let mut spec = provider_spec(fqdn);
        spec.crl_distribution_point = Some(crl_url.to_owned());
        let identity: CertifiedKey = self.issue(&spec)?;
        let leaf = identity
            .leaf()
            .cloned()
            .ok_or_else(|| PkiError::Revocation("an issued chain has no leaf".to_owned()))?;
        let crl = self.issue_crl(&[leaf])?;
        Ok(RevokedIdentity {
            identity,
            crl,
            crl_url: crl_url.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::describe_certificate;
    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::ServerCertVerifier;
    use rustls_pki_types::{ServerName, UnixTime};
    use std::sync::Arc;

    fn verify(
        pki: &TestPki,
        crls: Vec<CertificateRevocationListDer<'static>>,
        chain: &[CertificateDer<'static>],
        name: &str,
    ) -> Result<(), rustls::Error> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(pki.root_store()), provider)
                .with_crls(crls)
                .only_check_end_entity_revocation()
                .allow_unknown_revocation_status()
                .build()
                .expect("verifier");
        let name = ServerName::try_from(name.to_owned()).expect("name");
        verifier
            .verify_server_cert(&chain[0], &chain[1..], &name, &[], UnixTime::now())
            .map(|_| ())
    }

    #[test]
    fn the_revoked_certificate_is_good_but_for_its_crl() {
        let pki = TestPki::generate("revocation").expect("pki");
        let url = "http://127.0.0.1:8080/crl/r-1.crl";
        let revoked = pki.issue_revoked("sip.yahoo.com", url).expect("issue");
        let chain = &revoked.identity.chain;
        let summary = describe_certificate(&chain[0]).expect("describe");
        assert_eq!(summary.crl_distribution_points, vec![url.to_owned()]);
        assert_eq!(summary.dns_names, vec!["sip.yahoo.com".to_owned()]);
        assert!(summary.server_auth && summary.client_auth);
        assert_eq!(revoked.crl_url, url);
        // Without the CRL it is a good certificate.
        verify(&pki, vec![], chain, "sip.yahoo.com").expect("good without the CRL");
        // With it, webpki says revoked.
        let err =
            verify(&pki, vec![revoked.crl.clone()], chain, "sip.yahoo.com").expect_err("revoked");
        assert!(
            matches!(
                err,
                rustls::Error::InvalidCertificate(rustls::CertificateError::Revoked)
            ),
            "{err:?}"
        );
        // Another certificate of the same CA is not on the list.
        let other = pki
            .issue(&provider_spec("sip.oscar.aol.com"))
            .expect("issue");
        verify(
            &pki,
            vec![revoked.crl.clone()],
            &other.chain,
            "sip.oscar.aol.com",
        )
        .expect("not revoked");
    }

    #[test]
    fn a_crl_lists_what_it_is_given_and_names_its_issuer() {
        let pki = TestPki::generate("listing").expect("pki");
        let a = pki.issue(&provider_spec("a.test")).expect("issue");
        let b = pki.issue(&provider_spec("b.test")).expect("issue");
        let crl = pki
            .issue_crl(&[a.chain[0].clone(), b.chain[0].clone()])
            .expect("crl");
        let (_, parsed) = x509_parser::parse_x509_crl(crl.as_ref()).expect("parse");
        let listed: Vec<Vec<u8>> = parsed
            .iter_revoked_certificates()
            .map(|r| r.raw_serial().to_vec())
            .collect();
        assert_eq!(
            listed,
            vec![
                serial_of(&a.chain[0]).expect("serial"),
                serial_of(&b.chain[0]).expect("serial")
            ]
        );
        assert!(
            parsed
                .issuer()
                .to_string()
                .contains("picharness test root listing"),
            "{}",
            parsed.issuer()
        );
        let empty = pki.issue_crl(&[]).expect("empty crl");
        verify(&pki, vec![empty], &a.chain, "a.test").expect("an empty CRL revokes nothing");
        // A CRL from another CA says nothing about this one's certificates.
        let other = TestPki::generate("other").expect("pki");
        let foreign = other.issue_crl(&[a.chain[0].clone()]).expect("crl");
        verify(&pki, vec![foreign], &a.chain, "a.test").expect("not authoritative");
    }
}
