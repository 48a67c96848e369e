//! Leaves signed with RSASSA-PSS, which rcgen cannot produce: the leaf is
//! made by rcgen under an RSA intermediate with sha256WithRSAEncryption, then
//! both AlgorithmIdentifiers are rewritten to id-RSASSA-PSS (RFC 4055,
//! SHA-256, MGF1-SHA-256, salt 32) and the TBSCertificate is signed again
//! with PSS. Only the reference Edge's `pss-signature` fault needs this.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_RSA_SHA256, RsaKeySize,
};
use rustls::SignatureScheme;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use super::{CertifiedKey, LeafSpec, PkiError, TestPki, gen_err, random_serial};
use crate::tls::der_to_pem;

pub(super) const TAG_SEQUENCE: u8 = 0x30;
pub(super) const TAG_OID: u8 = 0x06;
const TAG_NULL: u8 = 0x05;
const TAG_INTEGER: u8 = 0x02;
const TAG_BIT_STRING: u8 = 0x03;

/// 1.2.840.113549.1.1.10 id-RSASSA-PSS.
const OID_RSASSA_PSS: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a];
/// 1.2.840.113549.1.1.8 id-mgf1.
const OID_MGF1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08];
/// 2.16.840.1.101.3.4.2.1 id-sha256.
const OID_SHA256: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];

pub(super) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
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

/// The RSASSA-PSS AlgorithmIdentifier for SHA-256 / MGF1-SHA-256 / salt 32.
pub(crate) fn pss_sha256_algorithm_identifier() -> Vec<u8> {
    let sha256 = tlv(
        TAG_SEQUENCE,
        &[tlv(TAG_OID, OID_SHA256), tlv(TAG_NULL, &[])].concat(),
    );
    let mgf1 = tlv(
        TAG_SEQUENCE,
        &[tlv(TAG_OID, OID_MGF1), sha256.clone()].concat(),
    );
    let params = tlv(
        TAG_SEQUENCE,
        &[
            tlv(0xa0, &sha256),
            tlv(0xa1, &mgf1),
            tlv(0xa2, &tlv(TAG_INTEGER, &[32])),
        ]
        .concat(),
    );
    tlv(
        TAG_SEQUENCE,
        &[tlv(TAG_OID, OID_RSASSA_PSS), params].concat(),
    )
}

/// One DER element: its tag, and where its header and content end.
struct Element {
    tag: u8,
    end: usize,
    content_start: usize,
}

fn read_element(der: &[u8], at: usize) -> Option<Element> {
    let tag = *der.get(at)?;
    let first = *der.get(at + 1)? as usize;
    let (len, header) = if first < 0x80 {
        (first, 2)
    } else {
        let count = first & 0x7f;
        if count == 0 || count > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..count {
            len = (len << 8) | *der.get(at + 2 + i)? as usize;
        }
        (len, 2 + count)
    };
    let content_start = at + header;
    let end = content_start.checked_add(len)?;
    (end <= der.len()).then_some(Element {
        tag,
        end,
        content_start,
    })
}

/// The children of a constructed element's content.
fn children(der: &[u8], parent: &Element) -> Option<Vec<(usize, Element)>> {
    let mut out = Vec::new();
    let mut at = parent.content_start;
    while at < parent.end {
        let e = read_element(der, at)?;
        let next = e.end;
        out.push((at, e));
        at = next;
    }
    (at == parent.end).then_some(out)
}

/// Rewrites a certificate's signature AlgorithmIdentifiers to `alg_id` and
/// signs the new TBSCertificate with `sign`.
pub(super) fn resign(
    cert: &[u8],
    alg_id: &[u8],
    sign: impl FnOnce(&[u8]) -> Result<Vec<u8>, String>,
) -> Result<Vec<u8>, String> {
    let malformed = || "the certificate DER is malformed".to_owned();
    let outer = read_element(cert, 0).ok_or_else(malformed)?;
    let parts = children(cert, &outer).ok_or_else(malformed)?;
    let [(_, tbs), _, _] = parts.as_slice() else {
        return Err(malformed());
    };
    let fields = children(cert, tbs).ok_or_else(malformed)?;
    // version [0], serialNumber, signature AlgorithmIdentifier, ...
    let Some((sig_at, sig_alg)) = fields.get(2) else {
        return Err(malformed());
    };
    if tbs.tag != TAG_SEQUENCE || sig_alg.tag != TAG_SEQUENCE {
        return Err(malformed());
    }
    let tbs_content = [
        &cert[tbs.content_start..*sig_at],
        alg_id,
        &cert[sig_alg.end..tbs.end],
    ]
    .concat();
    let new_tbs = tlv(TAG_SEQUENCE, &tbs_content);
    let signature = sign(&new_tbs)?;
    let bit_string = tlv(TAG_BIT_STRING, &[&[0u8][..], &signature].concat());
    Ok(tlv(
        TAG_SEQUENCE,
        &[new_tbs, alg_id.to_vec(), bit_string].concat(),
    ))
}

impl TestPki {
    /// Issues a leaf signed with RSASSA-PSS by a fresh RSA 2048 intermediate
    /// (itself signed by this root). The chain is leaf, intermediate, root.
    pub fn issue_pss_signed(&self, spec: &LeafSpec) -> Result<CertifiedKey, PkiError> {
        let key = KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
            .map_err(gen_err("RSA intermediate key pair"))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "picharness");
        dn.push(
            DnType::CommonName,
            format!("picharness test intermediate {} (RSA)", self.name),
        );
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(365);
        params.serial_number = Some(random_serial());
        params.use_authority_key_identifier_extension = true;
        let intermediate = params
            .signed_by(&key, &self.issuer)
            .map_err(gen_err("signing the RSA intermediate"))?;
        let intermediate_der = intermediate.der().clone();
        let signer_key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        let issuer = Issuer::new(params, key);

        let plain = self.issue_under(
            &issuer,
            vec![intermediate_der.clone(), self.ca_der.clone()],
            spec,
            now - Duration::days(1),
            now + Duration::days(30),
        )?;
        let leaf = plain
            .leaf()
            .ok_or_else(|| PkiError::Resign("rcgen produced an empty chain".into()))?;
        let signing_key = rustls::crypto::aws_lc_rs::sign::any_supported_type(&signer_key)
            .map_err(|e| PkiError::Resign(format!("intermediate key: {e}")))?;
        let signer = signing_key
            .choose_scheme(&[SignatureScheme::RSA_PSS_SHA256])
            .ok_or_else(|| PkiError::Resign("the intermediate key cannot sign PSS".into()))?;
        let der = resign(leaf.as_ref(), &pss_sha256_algorithm_identifier(), |tbs| {
            signer.sign(tbs).map_err(|e| e.to_string())
        })
        .map_err(PkiError::Resign)?;
        Ok(CertifiedKey {
            cert_pem: der_to_pem("CERTIFICATE", &der),
            chain: vec![
                CertificateDer::from(der),
                intermediate_der,
                self.ca_der.clone(),
            ],
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
    use rustls::client::WebPkiServerVerifier;
    use rustls::client::danger::ServerCertVerifier;
    use rustls_pki_types::{ServerName, UnixTime};
    use std::sync::Arc;

    #[test]
    fn algorithm_identifier_matches_the_rfc4055_encoding() {
        // RFC 4055 §2.1 parameters for SHA-256 with explicit NULL hash
        // parameters, as commonly emitted (e.g. by OpenSSL).
        let expected: &[u8] = &[
            0x30, 0x41, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0a, 0x30,
            0x34, 0xa0, 0x0f, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
            0x02, 0x01, 0x05, 0x00, 0xa1, 0x1c, 0x30, 0x1a, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86,
            0xf7, 0x0d, 0x01, 0x01, 0x08, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65,
            0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0xa2, 0x03, 0x02, 0x01, 0x20,
        ];
        assert_eq!(pss_sha256_algorithm_identifier(), expected);
    }

    #[test]
    fn pss_leaf_parses_says_pss_and_still_chains() {
        let pki = TestPki::generate("pss").expect("pki");
        let ck = pki
            .issue_pss_signed(&LeafSpec::federation(
                "sip.contoso.test",
                &["sip.contoso.test"],
            ))
            .expect("issue");
        assert_eq!(ck.chain.len(), 3);
        let s = describe_certificate(&ck.chain[0]).expect("describe");
        assert_eq!(s.signature_algorithm, "rsassa-pss", "{s:?}");
        assert_eq!(s.subject_cn.as_deref(), Some("sip.contoso.test"));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::new(pki.root_store()), provider)
                .build()
                .expect("verifier");
        let name = ServerName::try_from("sip.contoso.test").expect("name");
        verifier
            .verify_server_cert(&ck.chain[0], &ck.chain[1..2], &name, &[], UnixTime::now())
            .expect("a PSS signature by the intermediate verifies");
    }

    #[test]
    fn malformed_der_is_an_error() {
        assert!(resign(&[0x30, 0x05, 0x01], &[], |_| Ok(vec![])).is_err());
        assert!(resign(&[], &[], |_| Ok(vec![])).is_err());
    }
}
