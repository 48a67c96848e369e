//! A leaf whose signature is SHA-1: CERT-08 lists the SHA-1 family among
//! the signature algorithms Lync 2013 accepts, so a peer may present one.
//!
//! rcgen has no SHA-1 algorithm. The leaf is made by rcgen as usual (ECDSA
//! P-256 key, signed by the test root), then its two AlgorithmIdentifiers
//! are rewritten to ecdsa-with-SHA1 (RFC 5758 §3.2, no parameters) and the
//! TBSCertificate is signed again by the same root key over its SHA-1
//! digest with the RustCrypto `p256` crate. The root is ECDSA P-256, so
//! ecdsa-with-SHA1 (not sha1WithRSAEncryption) is the SHA-1 signature it
//! can honestly make; the chain is the usual leaf then root, and the digest
//! is the certificate's only difference from a good peer's.

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::pkcs8::DecodePrivateKey;
use rustls_pki_types::CertificateDer;
use sha1::{Digest, Sha1};

use super::pss::{TAG_OID, TAG_SEQUENCE, resign, tlv};
use super::{CertifiedKey, KeyKind, LeafSpec, PkiError, TestPki};
use crate::tls::der_to_pem;

/// 1.2.840.10045.4.1 ecdsa-with-SHA1.
const OID_ECDSA_WITH_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];

/// The ecdsa-with-SHA1 AlgorithmIdentifier (absent parameters).
pub(crate) fn ecdsa_sha1_algorithm_identifier() -> Vec<u8> {
    tlv(TAG_SEQUENCE, &tlv(TAG_OID, OID_ECDSA_WITH_SHA1))
}

impl TestPki {
    /// Issues a leaf for `spec` (its key made ECDSA P-256) signed by this
    /// root with ecdsa-with-SHA1; see the module docs.
    pub fn issue_sha1_signed(&self, spec: &LeafSpec) -> Result<CertifiedKey, PkiError> {
        let spec = LeafSpec {
            key: KeyKind::EcdsaP256,
            ..spec.clone()
        };
        let plain = self.issue(&spec)?;
        let leaf = plain
            .leaf()
            .ok_or_else(|| PkiError::Resign("rcgen produced an empty chain".into()))?;
        let root_key = p256::ecdsa::SigningKey::from_pkcs8_der(&self.issuer.key().serialize_der())
            .map_err(|e| {
                PkiError::Legacy(format!(
                    "the test root's key is not an ECDSA P-256 key: {e}"
                ))
            })?;
        let der = resign(leaf.as_ref(), &ecdsa_sha1_algorithm_identifier(), |tbs| {
            let digest = Sha1::digest(tbs);
            let signature: p256::ecdsa::Signature = root_key
                .sign_prehash(&digest)
                .map_err(|e| format!("ECDSA signing failed: {e}"))?;
            Ok(signature.to_der().as_bytes().to_vec())
        })
        .map_err(PkiError::Resign)?;
        Ok(CertifiedKey {
            cert_pem: der_to_pem("CERTIFICATE", &der),
            chain: vec![CertificateDer::from(der), self.ca_der.clone()],
            key: plain.clone_key(),
            key_pem: plain.key_pem.clone(),
            signer: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tls::describe_certificate;
    use p256::ecdsa::signature::hazmat::PrehashVerifier;

    #[test]
    fn algorithm_identifier_is_the_bare_oid() {
        assert_eq!(
            ecdsa_sha1_algorithm_identifier(),
            vec![
                0x30, 0x09, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01
            ]
        );
    }

    #[test]
    fn the_leaf_says_sha1_and_its_signature_verifies_with_the_root_key() {
        let pki = TestPki::generate("sha1").expect("pki");
        let ck = pki
            .issue_sha1_signed(&LeafSpec::federation("sip.yahoo.com", &["sip.yahoo.com"]))
            .expect("issue");
        assert_eq!(ck.chain.len(), 2);
        assert_eq!(ck.chain[1], pki.ca_der());
        let s = describe_certificate(&ck.chain[0]).expect("describe");
        assert_eq!(s.signature_algorithm, "ecdsa-with-SHA1", "{s:?}");
        assert_eq!(s.key, "EC P-256");
        assert_eq!(s.subject_cn.as_deref(), Some("sip.yahoo.com"));
        assert!(s.client_auth && s.server_auth);

        let (_, cert) = x509_parser::parse_x509_certificate(&ck.chain[0]).expect("parse");
        let (_, root) = x509_parser::parse_x509_certificate(&ck.chain[1]).expect("parse root");
        let root_key =
            p256::ecdsa::VerifyingKey::from_sec1_bytes(&root.public_key().subject_public_key.data)
                .expect("root key");
        let signature =
            p256::ecdsa::Signature::from_der(&cert.signature_value.data).expect("DER signature");
        let digest = Sha1::digest(cert.tbs_certificate.as_ref());
        root_key
            .verify_prehash(&digest, &signature)
            .expect("the root signed the SHA-1 digest of the TBSCertificate");
    }
}
