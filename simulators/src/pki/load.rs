//! A test PKI whose root already exists: the CA a staging Edge was told to
//! trust (written by `picharness pki init`), read back from its PEM files
//! so the simulated peers can be issued certificates that Edge accepts.

use rcgen::{Issuer, KeyPair, PublicKeyData};
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;

use super::{PkiError, TestPki, gen_err};

impl TestPki {
    /// A PKI issuing under the root in `ca_pem` with the key in `key_pem`
    /// (PKCS#8 or SEC1/PKCS#1 PEM).
    pub fn from_pem(name: &str, ca_pem: &str, key_pem: &str) -> Result<Self, PkiError> {
        let key = KeyPair::from_pem(key_pem).map_err(gen_err("reading the CA private key"))?;
        let ca_der = CertificateDer::from_pem_slice(ca_pem.as_bytes())
            .map_err(|e| PkiError::TrustAnchor(format!("reading the CA certificate: {e}")))?;
        let issuer = Issuer::from_ca_cert_der(&ca_der, key)
            .map_err(gen_err("using the CA certificate as issuer"))?;
        if issuer.key().subject_public_key_info() != public_key_of(&ca_der)? {
            return Err(PkiError::TrustAnchor(
                "the CA private key does not belong to the CA certificate".to_owned(),
            ));
        }
        Ok(Self {
            name: name.to_owned(),
            issuer,
            ca_pem: ca_pem.to_owned(),
            ca_der,
            share_rsa_key: false,
        })
    }
}

/// The DER SubjectPublicKeyInfo of `cert`.
fn public_key_of(cert: &CertificateDer<'_>) -> Result<Vec<u8>, PkiError> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref())
        .map_err(|e| PkiError::TrustAnchor(format!("parsing the CA certificate: {e}")))?;
    Ok(parsed.public_key().raw.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::LeafSpec;

    #[test]
    fn a_loaded_root_issues_leaves_that_chain_to_it() {
        let original = TestPki::generate("original").expect("generate");
        let loaded =
            TestPki::from_pem("loaded", &original.ca_pem(), &original.ca_key_pem()).expect("load");
        assert_eq!(loaded.ca_der(), original.ca_der());
        let leaf = loaded
            .issue(&LeafSpec::federation(
                "sip.example.test",
                &["sip.example.test"],
            ))
            .expect("issue");
        let roots = std::sync::Arc::new(original.root_store());
        let verifier = rustls::server::WebPkiClientVerifier::builder(roots)
            .build()
            .expect("verifier");
        let end_entity = leaf.leaf().expect("leaf").clone();
        verifier
            .verify_client_cert(&end_entity, &[], rustls_pki_types::UnixTime::now())
            .expect("the loaded root's leaf verifies against the original root");
    }

    #[test]
    fn a_key_from_another_root_is_refused() {
        let one = TestPki::generate("one").expect("generate");
        let other = TestPki::generate("other").expect("generate");
        let err = TestPki::from_pem("mixed", &one.ca_pem(), &other.ca_key_pem())
            .expect_err("mismatched key");
        assert!(err.to_string().contains("does not belong"), "{err}");
    }
}
