//! A leaf with a small RSA key, for the reference Edge's `weak-key` fault.
//! aws-lc-rs neither generates nor signs with RSA keys below 2048 bits, so
//! the certificate carries a public key nobody holds the private half of:
//! a random odd modulus of the asked size with exponent 65537, signed
//! properly by the test root. Its handshake signatures are random bytes, so
//! every peer refuses it after its verifier has recorded the chain, which
//! is what the certificate checks read.

use std::sync::Arc;

use rcgen::{PKCS_RSA_SHA256, PublicKeyData, SignatureAlgorithm};
use rustls::SignatureScheme;
use rustls::sign::{Signer, SigningKey};
use rustls_pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use super::{CertifiedKey, KeyKind, LeafSpec, PkiError, TestPki, gen_err, leaf_params};

/// DER of an INTEGER holding the unsigned big-endian `bytes`.
fn der_unsigned_integer(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(bytes);
    der_tlv(0x02, &content)
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// An RSAPublicKey (RFC 8017 A.1.1) with a random modulus of `bits`.
struct UnheldRsaPublicKey {
    der: Vec<u8>,
}

impl UnheldRsaPublicKey {
    fn random(bits: usize) -> Self {
        let mut modulus: Vec<u8> = (0..bits.div_ceil(8)).map(|_| rand::random()).collect();
        if let Some(first) = modulus.first_mut() {
            *first |= 0x80;
        }
        if let Some(last) = modulus.last_mut() {
            *last |= 0x01;
        }
        let der = der_tlv(
            0x30,
            &[
                der_unsigned_integer(&modulus),
                der_unsigned_integer(&[0x01, 0x00, 0x01]),
            ]
            .concat(),
        );
        Self { der }
    }
}

impl PublicKeyData for UnheldRsaPublicKey {
    fn der_bytes(&self) -> &[u8] {
        &self.der
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &PKCS_RSA_SHA256
    }
}

/// "Signs" with random bytes of the modulus length.
#[derive(Debug)]
struct RandomBytesSigner {
    scheme: SignatureScheme,
    len: usize,
}

impl Signer for RandomBytesSigner {
    fn sign(&self, _message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        Ok((0..self.len).map(|_| rand::random()).collect())
    }

    fn scheme(&self) -> SignatureScheme {
        self.scheme
    }
}

/// The signing key of an unheld RSA key: offers RSA schemes, signs garbage.
#[derive(Debug)]
struct UnheldRsaSigningKey {
    len: usize,
}

impl SigningKey for UnheldRsaSigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        [
            SignatureScheme::RSA_PSS_SHA256,
            SignatureScheme::RSA_PKCS1_SHA256,
        ]
        .into_iter()
        .find(|s| offered.contains(s))
        .map(|scheme| {
            Box::new(RandomBytesSigner {
                scheme,
                len: self.len,
            }) as Box<dyn Signer>
        })
    }

    fn algorithm(&self) -> rustls::SignatureAlgorithm {
        rustls::SignatureAlgorithm::RSA
    }
}

impl TestPki {
    /// Issues a leaf (valid yesterday to +30 days) whose subject public key
    /// is an RSA key of `bits` that nobody holds; see the module docs.
    pub fn issue_with_unheld_rsa_key(
        &self,
        spec: &LeafSpec,
        bits: usize,
    ) -> Result<CertifiedKey, PkiError> {
        let now = OffsetDateTime::now_utc();
        let params = leaf_params(
            spec,
            KeyKind::Rsa2048,
            now - Duration::days(1),
            now + Duration::days(30),
        )?;
        let public = UnheldRsaPublicKey::random(bits);
        let cert = params
            .signed_by(&public, &self.issuer)
            .map_err(gen_err(format!("signing weak leaf {:?}", spec.common_name)))?;
        Ok(CertifiedKey {
            chain: vec![cert.der().clone(), self.ca_der.clone()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(Vec::new())),
            cert_pem: cert.pem(),
            key_pem: String::new(),
            signer: Some(Arc::new(UnheldRsaSigningKey {
                len: bits.div_ceil(8),
            })),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::describe_certificate;

    #[test]
    fn the_certificate_says_rsa_of_the_asked_size_and_chains() {
        let pki = TestPki::generate("weak").expect("pki");
        for bits in [512, 1024] {
            let ck = pki
                .issue_with_unheld_rsa_key(
                    &LeafSpec::federation("sip.contoso.test", &["sip.contoso.test"]),
                    bits,
                )
                .expect("issue");
            let s = describe_certificate(&ck.chain[0]).expect("describe");
            assert_eq!(s.key, format!("RSA {bits}"));
            assert_eq!(ck.chain[1], pki.ca_der());
            let signer = ck.signer.as_ref().expect("signer");
            let chosen = signer
                .choose_scheme(&[
                    SignatureScheme::ECDSA_NISTP256_SHA256,
                    SignatureScheme::RSA_PKCS1_SHA256,
                ])
                .expect("an RSA scheme");
            assert_eq!(chosen.scheme(), SignatureScheme::RSA_PKCS1_SHA256);
            assert_eq!(chosen.sign(b"x").expect("sign").len(), bits / 8);
            assert!(signer.choose_scheme(&[SignatureScheme::ED25519]).is_none());
        }
        assert_eq!(der_unsigned_integer(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(
            der_unsigned_integer(&[0x01, 0x00, 0x01]),
            vec![0x02, 0x03, 0x01, 0x00, 0x01]
        );
    }
}
