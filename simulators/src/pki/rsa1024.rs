//! A leaf with a real RSA 1024-bit key, for the peer that presents one
//! (CERT-07 calls 1024 bits acceptable for Lync 2013, with a warning).
//!
//! aws-lc-rs neither generates nor signs with RSA keys below 2048 bits, so
//! the key comes from the RustCrypto `rsa` crate, which also signs the
//! peer's CertificateVerify ([`Rsa1024SigningKey`], RSASSA-PSS with SHA-256,
//! which TLS 1.3 requires and TLS 1.2 allows). The certificate itself is an
//! ordinary rcgen leaf signed by the test root; only its key is small.

use std::sync::Arc;

use getrandom::SysRng;
use rcgen::{PKCS_RSA_SHA256, PublicKeyData, SignatureAlgorithm};
use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs8::EncodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer as _};
use rustls::SignatureScheme;
use rustls::sign::{Signer, SigningKey};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use super::{CertifiedKey, KeyKind, LeafSpec, PkiError, TestPki, gen_err, leaf_params};
use crate::tls::der_to_pem;

/// The key size this module makes.
pub const LEGACY_RSA_BITS: usize = 1024;

/// The public half as rcgen wants it: an RSAPublicKey under rsaEncryption.
struct RsaPublicKeyDer(Vec<u8>);

impl PublicKeyData for RsaPublicKeyDer {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        // Only the SubjectPublicKeyInfo algorithm (rsaEncryption) is taken
        // from this; the certificate is signed by the issuer's key.
        &PKCS_RSA_SHA256
    }
}

/// Signs TLS handshakes with an RSA key of any size the `rsa` crate takes
/// (1024 bits and up), RSASSA-PSS with SHA-256 only.
#[derive(Debug)]
pub struct Rsa1024SigningKey {
    key: rsa::pss::SigningKey<Sha256>,
}

impl SigningKey for Rsa1024SigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered.contains(&SignatureScheme::RSA_PSS_SHA256).then(|| {
            Box::new(PssSha256Signer {
                key: self.key.clone(),
            }) as Box<dyn Signer>
        })
    }

    fn algorithm(&self) -> rustls::SignatureAlgorithm {
        rustls::SignatureAlgorithm::RSA
    }
}

#[derive(Debug)]
struct PssSha256Signer {
    key: rsa::pss::SigningKey<Sha256>,
}

impl Signer for PssSha256Signer {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        self.key
            .try_sign(message)
            .map(|signature| signature.to_vec())
            .map_err(|e| rustls::Error::General(format!("RSA-PSS signing failed: {e}")))
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::RSA_PSS_SHA256
    }
}

impl TestPki {
    /// Issues a leaf (valid yesterday to +30 days, signed by the root like
    /// any other) whose key is a fresh RSA key of [`LEGACY_RSA_BITS`]; its
    /// handshakes are signed through [`CertifiedKey::signer`].
    pub fn issue_with_rsa_1024_key(&self, spec: &LeafSpec) -> Result<CertifiedKey, PkiError> {
        let legacy = |what: &str, e: &dyn std::fmt::Display| {
            PkiError::Legacy(format!("RSA {LEGACY_RSA_BITS} {what}: {e}"))
        };
        let private = rsa::PrivateKey::new(&mut SysRng, LEGACY_RSA_BITS)
            .map_err(|e| legacy("key generation", &e))?;
        let public_der = private
            .to_public_key()
            .to_pkcs1_der()
            .map_err(|e| legacy("public key encoding", &e))?;
        let pkcs8 = private
            .to_pkcs8_der()
            .map_err(|e| legacy("private key encoding", &e))?;
        let now = OffsetDateTime::now_utc();
        let params = leaf_params(
            spec,
            KeyKind::Rsa2048,
            now - Duration::days(1),
            now + Duration::days(30),
        )?;
        let cert = params
            .signed_by(
                &RsaPublicKeyDer(public_der.as_bytes().to_vec()),
                &self.issuer,
            )
            .map_err(gen_err(format!(
                "signing the RSA {LEGACY_RSA_BITS} leaf {:?}",
                spec.common_name
            )))?;
        Ok(CertifiedKey {
            chain: vec![cert.der().clone(), self.ca_der.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8.as_bytes().to_vec())),
            cert_pem: cert.pem(),
            key_pem: der_to_pem("PRIVATE KEY", pkcs8.as_bytes()),
            signer: Some(Arc::new(Rsa1024SigningKey {
                key: rsa::pss::SigningKey::new(private),
            })),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::describe_certificate;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::signature::Verifier;

    #[test]
    fn the_leaf_holds_a_working_rsa_1024_key_and_chains() {
        let pki = TestPki::generate("rsa1024").expect("pki");
        let started = std::time::Instant::now();
        let ck = pki
            .issue_with_rsa_1024_key(&LeafSpec::federation("sip.yahoo.com", &["sip.yahoo.com"]))
            .expect("issue");
        eprintln!("RSA 1024 leaf issued in {:?}", started.elapsed());
        let s = describe_certificate(&ck.chain[0]).expect("describe");
        assert_eq!(s.key, "RSA 1024");
        assert_eq!(s.signature_algorithm, "ecdsa-with-SHA256", "{s:?}");
        assert_eq!(ck.chain[1], pki.ca_der());
        assert!(ck.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let signer = ck.signer.as_ref().expect("signer");
        assert!(
            signer
                .choose_scheme(&[SignatureScheme::RSA_PKCS1_SHA256])
                .is_none()
        );
        let chosen = signer
            .choose_scheme(&[
                SignatureScheme::ECDSA_NISTP256_SHA256,
                SignatureScheme::RSA_PSS_SHA256,
            ])
            .expect("PSS");
        let signature = chosen.sign(b"handshake").expect("sign");
        assert_eq!(signature.len(), 128);
        // The signature verifies with the public half of the key written out.
        let private = rsa::PrivateKey::from_pkcs8_der(ck.key.secret_der()).expect("key parses");
        let verifying = rsa::pss::VerifyingKey::<Sha256>::new(private.to_public_key());
        let parsed = rsa::pss::Signature::try_from(signature.as_slice()).expect("signature");
        verifying.verify(b"handshake", &parsed).expect("verifies");
        assert!(verifying.verify(b"other", &parsed).is_err());
    }
}
