//! Peer signatures Lync 2013 accepts and webpki's defaults do not: a
//! CertificateVerify made with an RSA key of 1024 to 2047 bits (CERT-07
//! calls 1024 acceptable) and certificates signed ecdsa-with-SHA1 (CERT-08
//! lists the SHA-1 family). The reference Edge verifies its peers with
//! [`lync2013_verification_provider`] unless its `reject-legacy-peer-cert`
//! fault is on.
//!
//! Only what the harness's own legacy peers present is added: RSA-PSS with
//! SHA-256 handshake signatures from small RSA keys (RustCrypto `rsa`), and
//! ecdsa-with-SHA1 by a P-256 key (RustCrypto `p256` and `sha1`). Keys of
//! 2048 bits and more still go to aws-lc-rs; everything else is webpki's.

use std::sync::{Arc, LazyLock};

use p256::ecdsa::signature::hazmat::PrehashVerifier;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::signature::Verifier;
use rsa::traits::PublicKeyParts;
use rustls::SignatureScheme;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls_pki_types::{AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm};
use sha1::{Digest, Sha1};
use sha2::Sha256;

type Algorithm = &'static dyn SignatureVerificationAlgorithm;

/// The contents of the ecdsa-with-SHA1 AlgorithmIdentifier (OID 1.2.840.10045.4.1).
const ECDSA_SHA1: AlgorithmIdentifier =
    AlgorithmIdentifier::from_slice(&[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01]);

/// The contents of the id-RSASSA-PSS SHA-256 AlgorithmIdentifier, as
/// webpki spells it (its `RSA_PSS_SHA256`).
const RSA_PSS_SHA256: AlgorithmIdentifier = rustls_pki_types::alg_id::RSA_PSS_SHA256;

/// The smallest RSA modulus accepted (CERT-07).
const MIN_LEGACY_RSA_BITS: u32 = 1024;
/// From here on aws-lc-rs judges.
const MODERN_RSA_BITS: u32 = 2048;

/// ecdsa-with-SHA1 by a P-256 key.
#[derive(Debug)]
struct EcdsaP256Sha1;

impl SignatureVerificationAlgorithm for EcdsaP256Sha1 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key =
            p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let signature =
            p256::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify_prehash(&Sha1::digest(message), &signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        rustls_pki_types::alg_id::ECDSA_P256
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        ECDSA_SHA1
    }
}

/// RSA-PSS SHA-256 from any RSA key of 1024 bits or more: small keys are
/// verified with the `rsa` crate, the rest by `modern` (aws-lc-rs).
#[derive(Debug)]
struct RsaPssSha256AnySize {
    modern: Algorithm,
}

impl SignatureVerificationAlgorithm for RsaPssSha256AnySize {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key = rsa::PublicKey::from_pkcs1_der(public_key).map_err(|_| InvalidSignature)?;
        let bits = key.n().bit_width();
        if bits >= MODERN_RSA_BITS {
            return self.modern.verify_signature(public_key, message, signature);
        }
        if bits < MIN_LEGACY_RSA_BITS {
            return Err(InvalidSignature);
        }
        let signature = rsa::pss::Signature::try_from(signature).map_err(|_| InvalidSignature)?;
        rsa::pss::VerifyingKey::<Sha256>::new(key)
            .verify(message, &signature)
            .map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        self.modern.public_key_alg_id()
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        RSA_PSS_SHA256
    }
}

fn modern() -> WebPkiSupportedAlgorithms {
    rustls::crypto::aws_lc_rs::default_provider().signature_verification_algorithms
}

static ECDSA_P256_SHA1: EcdsaP256Sha1 = EcdsaP256Sha1;

/// aws-lc-rs's RSA-PSS SHA-256 algorithm for RSA keys (the one webpki maps
/// the scheme to first), wrapped to take small keys too.
static RSA_PSS_SHA256_ANY_SIZE: LazyLock<Option<RsaPssSha256AnySize>> = LazyLock::new(|| {
    modern()
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == SignatureScheme::RSA_PSS_SHA256)
        .and_then(|(_, algs)| {
            algs.iter()
                .find(|alg| alg.public_key_alg_id() == rustls_pki_types::alg_id::RSA_ENCRYPTION)
        })
        .map(|modern| RsaPssSha256AnySize { modern: *modern })
});

static RSA_PSS_SHA256_LIST: LazyLock<Vec<Algorithm>> = LazyLock::new(|| {
    let default = modern()
        .mapping
        .iter()
        .find(|(scheme, _)| *scheme == SignatureScheme::RSA_PSS_SHA256)
        .map(|(_, algs)| *algs)
        .unwrap_or_default();
    match &*RSA_PSS_SHA256_ANY_SIZE {
        // The wrapper first: for an RSA key it is the one that decides.
        Some(any_size) => std::iter::once(any_size as Algorithm)
            .chain(default.iter().copied())
            .collect(),
        None => default.to_vec(),
    }
});

static ALL: LazyLock<Vec<Algorithm>> = LazyLock::new(|| {
    let mut all = modern().all.to_vec();
    all.push(&ECDSA_P256_SHA1);
    all
});

static MAPPING: LazyLock<Vec<(SignatureScheme, &'static [Algorithm])>> = LazyLock::new(|| {
    modern()
        .mapping
        .iter()
        .map(|(scheme, algs)| {
            if *scheme == SignatureScheme::RSA_PSS_SHA256 {
                (*scheme, RSA_PSS_SHA256_LIST.as_slice())
            } else {
                (*scheme, *algs)
            }
        })
        .collect()
});

/// aws-lc-rs with the verification algorithms above added: use it for the
/// client certificate verifier of a listener that should judge peers the
/// way Lync 2013 does.
pub fn lync2013_verification_provider() -> Arc<CryptoProvider> {
    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.signature_verification_algorithms = WebPkiSupportedAlgorithms {
        all: ALL.as_slice(),
        mapping: MAPPING.as_slice(),
    };
    Arc::new(provider)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::{LeafSpec, TestPki};
    use rustls::server::WebPkiClientVerifier;
    use rustls::server::danger::ClientCertVerifier;
    use rustls_pki_types::UnixTime;

    fn verifier(pki: &TestPki, provider: Arc<CryptoProvider>) -> Arc<dyn ClientCertVerifier> {
        WebPkiClientVerifier::builder_with_provider(Arc::new(pki.root_store()), provider)
            .build()
            .expect("verifier")
    }

    #[test]
    fn sha1_signed_peer_is_refused_by_default_and_accepted_as_lync_does() {
        let pki = TestPki::generate("legacy").expect("pki");
        let ck = pki
            .issue_sha1_signed(&LeafSpec::federation("sip.yahoo.com", &["sip.yahoo.com"]))
            .expect("issue");
        let modern = verifier(
            &pki,
            Arc::new(rustls::crypto::aws_lc_rs::default_provider()),
        );
        let err = modern
            .verify_client_cert(&ck.chain[0], &[], UnixTime::now())
            .expect_err("webpki's defaults refuse SHA-1");
        assert!(
            format!("{err:?}").contains("UnsupportedSignatureAlgorithm"),
            "{err:?}"
        );
        verifier(&pki, lync2013_verification_provider())
            .verify_client_cert(&ck.chain[0], &[], UnixTime::now())
            .expect("accepted with the Lync 2013 algorithms");
        // A SHA-1 signature by another root still fails.
        let other = TestPki::generate("other").expect("pki");
        let foreign = other
            .issue_sha1_signed(&LeafSpec::federation("sip.yahoo.com", &["sip.yahoo.com"]))
            .expect("issue");
        assert!(
            verifier(&pki, lync2013_verification_provider())
                .verify_client_cert(&foreign.chain[0], &[], UnixTime::now())
                .is_err()
        );
    }

    /// The subjectPublicKey bytes of a leaf.
    fn public_key(ck: &crate::pki::CertifiedKey) -> Vec<u8> {
        let (_, cert) = x509_parser::parse_x509_certificate(&ck.chain[0]).expect("parse");
        cert.public_key().subject_public_key.data.to_vec()
    }

    fn pss_sign(ck: &crate::pki::CertifiedKey, message: &[u8]) -> Vec<u8> {
        match &ck.signer {
            Some(signer) => signer
                .choose_scheme(&[SignatureScheme::RSA_PSS_SHA256])
                .expect("PSS")
                .sign(message)
                .expect("sign"),
            None => rustls::crypto::aws_lc_rs::sign::any_supported_type(&ck.key)
                .expect("key")
                .choose_scheme(&[SignatureScheme::RSA_PSS_SHA256])
                .expect("PSS")
                .sign(message)
                .expect("sign"),
        }
    }

    #[test]
    fn rsa_pss_sha256_takes_1024_bit_keys_and_still_2048() {
        let pki = TestPki::generate("legacy").expect("pki");
        let small = pki
            .issue_with_rsa_1024_key(&LeafSpec::federation("sip.yahoo.com", &["sip.yahoo.com"]))
            .expect("issue");
        let big = pki
            .issue(&LeafSpec::federation("sip.yahoo.com", &["sip.yahoo.com"]))
            .expect("issue");
        let lync = RSA_PSS_SHA256_LIST[0];
        let default = modern()
            .mapping
            .iter()
            .find(|(scheme, _)| *scheme == SignatureScheme::RSA_PSS_SHA256)
            .map(|(_, algs)| algs[0])
            .expect("aws-lc-rs maps RSA-PSS SHA-256");
        for ck in [&small, &big] {
            let key = public_key(ck);
            let signature = pss_sign(ck, b"transcript");
            lync.verify_signature(&key, b"transcript", &signature)
                .expect("verifies");
            assert!(lync.verify_signature(&key, b"other", &signature).is_err());
            assert!(
                lync.verify_signature(&key, b"transcript", &vec![0x5a; signature.len()])
                    .is_err()
            );
        }
        // webpki's own algorithm refuses the small key outright.
        let signature = pss_sign(&small, b"transcript");
        assert!(
            default
                .verify_signature(&public_key(&small), b"transcript", &signature)
                .is_err()
        );
        assert!(
            lync2013_verification_provider()
                .signature_verification_algorithms
                .supported_schemes()
                .contains(&SignatureScheme::RSA_PSS_SHA256)
        );
    }
}
