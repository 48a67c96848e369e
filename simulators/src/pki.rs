//! Test PKI: a throw-away root CA per run and the leaf certificates the
//! simulated peers, the reference Edge and the internal pool present.
//!
//! Everything is generated in memory with rcgen (aws-lc-rs backend, which is
//! the only backend that can generate RSA keys). The root is ECDSA P-256;
//! leaves can be RSA 2048 (what Lync deployments usually carry) or ECDSA
//! P-256. A leaf carries exactly the extended key usages that were asked for:
//! if neither serverAuth nor clientAuth is requested, the certificate has no
//! EKU extension at all (which webpki treats as "any purpose", see
//! `tls::ServerTlsOptions` for how the harness checks that itself).

mod bad_peer;
mod crl;
mod defect;
mod impostor;
mod load;
mod long_chain;
mod pss;
mod rsa1024;
mod sha1_signed;
mod weak_key;

use std::fmt;
use std::sync::Arc;

pub use bad_peer::{BadPeerCertificate, WRONG_PEER_NAME};
pub use crl::{CRL_VALIDITY, RevokedIdentity, serial_of};
pub use impostor::ImpostorCertificate;
pub use rsa1024::{LEGACY_RSA_BITS, Rsa1024SigningKey};

use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
    PKCS_RSA_SHA256, RsaKeySize, SanType, SerialNumber,
};
use rustls::RootCertStore;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

/// Errors from generating test certificates.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused the parameters or failed to generate or sign.
    #[error("certificate generation failed ({what}): {source}")]
    Generate {
        what: String,
        #[source]
        source: rcgen::Error,
    },
    /// A DNS name could not be put in a subjectAltName.
    #[error("invalid DNS name {name:?} for subjectAltName: {source}")]
    InvalidDnsName {
        name: String,
        #[source]
        source: rcgen::Error,
    },
    /// The requested validity window is empty or inverted.
    #[error("invalid validity window: not_before {not_before} is not before not_after {not_after}")]
    InvalidValidity {
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    },
    /// The generated root could not be added to a rustls root store.
    #[error("the test root could not be used as a trust anchor: {0}")]
    TrustAnchor(String),
    /// Re-signing a certificate (RSASSA-PSS) failed.
    #[error("re-signing a certificate failed: {0}")]
    Resign(String),
    /// A certificate to revoke could not be read.
    #[error("revocation: {0}")]
    Revocation(String),
    /// Making a legacy (RSA 1024 or SHA-1) certificate with RustCrypto failed.
    #[error("legacy certificate: {0}")]
    Legacy(String),
}

/// Key algorithm of a generated leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum KeyKind {
    /// RSA 2048 with SHA-256 (the common Lync/Skype for Business choice).
    #[default]
    Rsa2048,
    /// ECDSA on NIST P-256 with SHA-256.
    EcdsaP256,
}

/// What a leaf certificate should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafSpec {
    /// Subject CN.
    pub common_name: String,
    /// subjectAltName dNSName entries (an entry that parses as an IP address
    /// becomes an iPAddress entry).
    pub dns_names: Vec<String>,
    /// Put id-kp-serverAuth in the EKU extension.
    pub server_auth: bool,
    /// Put id-kp-clientAuth in the EKU extension.
    pub client_auth: bool,
    /// Key algorithm.
    pub key: KeyKind,
    /// A URI for the CRL distribution points extension.
    pub crl_distribution_point: Option<String>,
}

impl LeafSpec {
    /// A leaf for a federation peer or Edge: CN and SANs as given, both
    /// serverAuth and clientAuth (what MTLS on 5061 needs), RSA 2048, no CDP.
    pub fn federation(common_name: &str, dns_names: &[&str]) -> Self {
        Self {
            common_name: common_name.to_owned(),
            dns_names: dns_names.iter().map(|s| (*s).to_owned()).collect(),
            server_auth: true,
            client_auth: true,
            key: KeyKind::Rsa2048,
            crl_distribution_point: None,
        }
    }
}

/// A certificate chain with its private key, in the forms rustls and files need.
#[derive(Debug)]
pub struct CertifiedKey {
    /// Leaf first, then the CA.
    pub chain: Vec<CertificateDer<'static>>,
    /// PKCS#8 private key of the leaf.
    pub key: PrivateKeyDer<'static>,
    /// The leaf certificate in PEM.
    pub cert_pem: String,
    /// The leaf private key in PEM (PKCS#8).
    pub key_pem: String,
    /// Signs for the leaf instead of `key` when set: the `weak-key`
    /// certificate's key is held by nobody (see `weak_key`), and `key` and
    /// `key_pem` are empty.
    pub signer: Option<Arc<dyn rustls::sign::SigningKey>>,
}

impl CertifiedKey {
    /// A copy of the private key (`PrivateKeyDer` is deliberately not `Clone`).
    pub fn clone_key(&self) -> PrivateKeyDer<'static> {
        self.key.clone_key()
    }

    /// The leaf certificate.
    pub fn leaf(&self) -> Option<&CertificateDer<'static>> {
        self.chain.first()
    }
}

impl Clone for CertifiedKey {
    fn clone(&self) -> Self {
        Self {
            chain: self.chain.clone(),
            key: self.clone_key(),
            cert_pem: self.cert_pem.clone(),
            key_pem: self.key_pem.clone(),
            signer: self.signer.clone(),
        }
    }
}

/// A self-signed root CA that issues leaves.
pub struct TestPki {
    name: String,
    issuer: Issuer<'static, KeyPair>,
    ca_der: CertificateDer<'static>,
    ca_pem: String,
    /// Whether RSA 2048 leaves share one key (see [`TestPki::sharing_rsa_keys`]).
    share_rsa_key: bool,
}

impl fmt::Debug for TestPki {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TestPki")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn gen_err(what: impl Into<String>) -> impl FnOnce(rcgen::Error) -> PkiError {
    let what = what.into();
    move |source| PkiError::Generate { what, source }
}

/// 16 random bytes with the top bit clear: a positive, unique serial number.
fn random_serial() -> SerialNumber {
    let mut bytes: [u8; 16] = rand::random();
    bytes[0] &= 0x7f;
    // A leading zero byte would be stripped by DER; keep it non-zero.
    if bytes[0] == 0 {
        bytes[0] = 0x01;
    }
    SerialNumber::from_slice(&bytes)
}

/// The parameters of a leaf as `spec` describes it (CN, SAN, EKU, CDP,
/// validity, a fresh serial); `key` decides the key usages.
fn leaf_params(
    spec: &LeafSpec,
    key: KeyKind,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<CertificateParams, PkiError> {
    if not_before >= not_after {
        return Err(PkiError::InvalidValidity {
            not_before,
            not_after,
        });
    }
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, spec.common_name.clone());
    params.distinguished_name = dn;
    params.subject_alt_names = spec
        .dns_names
        .iter()
        .map(|name| match name.parse::<std::net::IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => name
                .clone()
                .try_into()
                .map(SanType::DnsName)
                .map_err(|source| PkiError::InvalidDnsName {
                    name: name.clone(),
                    source,
                }),
        })
        .collect::<Result<Vec<_>, _>>()?;
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = match key {
        KeyKind::Rsa2048 => vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ],
        KeyKind::EcdsaP256 => vec![KeyUsagePurpose::DigitalSignature],
    };
    let mut ekus = Vec::new();
    if spec.server_auth {
        ekus.push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if spec.client_auth {
        ekus.push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    // An empty list makes rcgen omit the extension entirely.
    params.extended_key_usages = ekus;
    if let Some(uri) = &spec.crl_distribution_point {
        params.crl_distribution_points = vec![CrlDistributionPoint {
            uris: vec![uri.clone()],
        }];
    }
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(random_serial());
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// The process's shared RSA 2048 key (PKCS#8), made on first use.
fn shared_rsa_2048() -> Result<KeyPair, PkiError> {
    static SHARED: std::sync::OnceLock<Result<Vec<u8>, rcgen::Error>> = std::sync::OnceLock::new();
    let der = SHARED.get_or_init(|| {
        KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
            .map(|key| key.serialize_der())
    });
    let der = der
        .as_ref()
        .map_err(|e| gen_err("the shared RSA 2048 leaf key pair")(e.clone()))?;
    KeyPair::try_from(der.as_slice()).map_err(gen_err("reading the shared RSA 2048 key pair"))
}

impl TestPki {
    /// Generates a root CA with subject CN `picharness test root <name>`
    /// (ECDSA P-256, valid from a day ago for ten years).
    pub fn generate(name: &str) -> Result<Self, PkiError> {
        let key =
            KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).map_err(gen_err("root CA key pair"))?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "picharness");
        dn.push(DnType::CommonName, format!("picharness test root {name}"));
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        params.not_before = now - Duration::days(1);
        params.not_after = now + Duration::days(3650);
        params.serial_number = Some(random_serial());
        let cert = params
            .self_signed(&key)
            .map_err(gen_err("self-signing the root CA"))?;
        let ca_der = cert.der().clone();
        let ca_pem = cert.pem();
        Ok(Self {
            name: name.to_owned(),
            issuer: Issuer::new(params, key),
            ca_der,
            ca_pem,
            share_rsa_key: false,
        })
    }

    /// This PKI's RSA 2048 leaves all take one key made once per process.
    /// An RSA 2048 key costs about 135 ms of CPU to make in a debug build,
    /// and every private copy of the embedded topology issues several: the
    /// robustness family, one copy per case, spent most of its CPU there.
    /// The harness and the Edge tell certificates apart by names, serials
    /// and fingerprints, never by key, so the embedded topology shares;
    /// `pki init` (certificates handed to a staging Edge) does not.
    pub fn sharing_rsa_keys(mut self) -> Self {
        self.share_rsa_key = true;
        self
    }

    /// The name given to [`TestPki::generate`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Issues a leaf valid from now-1day to now+30days.
    pub fn issue(&self, spec: &LeafSpec) -> Result<CertifiedKey, PkiError> {
        let now = OffsetDateTime::now_utc();
        self.issue_with_validity(spec, now - Duration::days(1), now + Duration::days(30))
    }

    /// Issues a leaf with an explicit validity window (for expired or
    /// not-yet-valid certificate cases).
    pub fn issue_with_validity(
        &self,
        spec: &LeafSpec,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<CertifiedKey, PkiError> {
        self.issue_under(
            &self.issuer,
            vec![self.ca_der.clone()],
            spec,
            not_before,
            not_after,
        )
    }

    /// Issues a leaf under `issuer`; the chain is the leaf then `ca_chain`.
    fn issue_under(
        &self,
        issuer: &Issuer<'_, KeyPair>,
        ca_chain: Vec<CertificateDer<'static>>,
        spec: &LeafSpec,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> Result<CertifiedKey, PkiError> {
        let params = leaf_params(spec, spec.key, not_before, not_after)?;
        let key = match spec.key {
            KeyKind::Rsa2048 if self.share_rsa_key => shared_rsa_2048()?,
            KeyKind::Rsa2048 => KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, RsaKeySize::_2048)
                .map_err(gen_err("RSA 2048 leaf key pair"))?,
            KeyKind::EcdsaP256 => KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
                .map_err(gen_err("ECDSA P-256 leaf key pair"))?,
        };
        let cert = params
            .signed_by(&key, issuer)
            .map_err(gen_err(format!("signing leaf {:?}", spec.common_name)))?;
        let mut chain = vec![cert.der().clone()];
        chain.extend(ca_chain);
        Ok(CertifiedKey {
            chain,
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            signer: None,
        })
    }

    /// The root certificate (DER).
    pub fn ca_der(&self) -> CertificateDer<'static> {
        self.ca_der.clone()
    }

    /// The root certificate (PEM), for the SUT's trusted root store.
    pub fn ca_pem(&self) -> String {
        self.ca_pem.clone()
    }

    /// The root's private key (PEM, PKCS#8). Secret: whoever holds it can
    /// issue certificates the harness trusts.
    pub fn ca_key_pem(&self) -> String {
        self.issuer.key().serialize_pem()
    }

    /// A root store holding only this root.
    pub fn root_store(&self) -> RootCertStore {
        let mut store = RootCertStore::empty();
        // Our own freshly generated root always parses; if it ever did not,
        // the store stays empty and every verifier built on it refuses to
        // build (NoRootAnchors), which surfaces as a clear error there.
        let _ = store.add(self.ca_der.clone());
        store
    }

    /// Like [`TestPki::root_store`], but reports a root that rustls refuses.
    pub fn try_root_store(&self) -> Result<RootCertStore, PkiError> {
        let mut store = RootCertStore::empty();
        store
            .add(self.ca_der.clone())
            .map_err(|e| PkiError::TrustAnchor(e.to_string()))?;
        Ok(store)
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

    fn verifier(pki: &TestPki) -> Arc<WebPkiServerVerifier> {
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        WebPkiServerVerifier::builder_with_provider(Arc::new(pki.root_store()), provider)
            .build()
            .expect("verifier")
    }

    #[test]
    fn test_pki_is_send_and_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<TestPki>();
        assert_send_sync::<CertifiedKey>();
    }

    #[test]
    fn leaf_chains_to_root_for_both_key_kinds() {
        let pki = TestPki::generate("chain").expect("pki");
        for key in [KeyKind::Rsa2048, KeyKind::EcdsaP256] {
            let spec = LeafSpec {
                common_name: "sip.contoso.test".into(),
                dns_names: vec!["sip.contoso.test".into(), "accessedge.contoso.test".into()],
                server_auth: true,
                client_auth: true,
                key,
                crl_distribution_point: None,
            };
            let ck = pki.issue(&spec).expect("issue");
            assert_eq!(ck.chain.len(), 2);
            assert_eq!(ck.chain[1], pki.ca_der());
            let name = ServerName::try_from("accessedge.contoso.test").expect("name");
            verifier(&pki)
                .verify_server_cert(&ck.chain[0], &ck.chain[1..], &name, &[], UnixTime::now())
                .expect("leaf verifies against the test root");
            // A different root does not accept it.
            let other = TestPki::generate("other").expect("pki");
            assert!(
                verifier(&other)
                    .verify_server_cert(&ck.chain[0], &[], &name, &[], UnixTime::now())
                    .is_err()
            );
            let s = describe_certificate(&ck.chain[0]).expect("describe");
            match key {
                KeyKind::Rsa2048 => assert_eq!(s.key, "RSA 2048"),
                KeyKind::EcdsaP256 => assert_eq!(s.key, "EC P-256"),
            }
            assert!(ck.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
            assert!(ck.key_pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        }
        assert!(pki.ca_pem().contains("BEGIN CERTIFICATE"));
        let root = describe_certificate(&pki.ca_der()).expect("describe root");
        assert_eq!(
            root.subject_cn.as_deref(),
            Some("picharness test root chain")
        );
        assert_eq!(root.key, "EC P-256");
    }

    #[test]
    fn eku_flags_are_honoured() {
        let pki = TestPki::generate("eku").expect("pki");
        let cases = [(true, false), (false, true), (true, true), (false, false)];
        for (server_auth, client_auth) in cases {
            let spec = LeafSpec {
                common_name: "peer.fabrikam.test".into(),
                dns_names: vec!["peer.fabrikam.test".into()],
                server_auth,
                client_auth,
                key: KeyKind::EcdsaP256,
                crl_distribution_point: Some("http://crl.fabrikam.test/root.crl".into()),
            };
            let ck = pki.issue(&spec).expect("issue");
            let s = describe_certificate(&ck.chain[0]).expect("describe");
            assert_eq!(s.server_auth, server_auth, "{spec:?}");
            assert_eq!(s.client_auth, client_auth, "{spec:?}");
            assert_eq!(s.has_eku, server_auth || client_auth, "{spec:?}");
            assert_eq!(s.subject_cn.as_deref(), Some("peer.fabrikam.test"));
            assert_eq!(s.dns_names, vec!["peer.fabrikam.test".to_string()]);
            assert_eq!(
                s.crl_distribution_points,
                vec!["http://crl.fabrikam.test/root.crl".to_string()]
            );
            assert!(
                s.issuer.contains("picharness test root eku"),
                "{}",
                s.issuer
            );
        }
    }

    #[test]
    fn validity_window_is_yesterday_to_thirty_days() {
        let pki = TestPki::generate("validity").expect("pki");
        let ck = pki
            .issue(&LeafSpec::federation("a.test", &["a.test"]))
            .expect("issue");
        let (_, cert) = x509_parser::parse_x509_certificate(&ck.chain[0]).expect("parse");
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let nb = cert.validity().not_before.timestamp();
        let na = cert.validity().not_after.timestamp();
        assert!((now - 86_400 - nb).abs() < 120, "not_before {nb} now {now}");
        assert!(
            (na - (now + 30 * 86_400)).abs() < 120,
            "not_after {na} now {now}"
        );
    }

    #[test]
    fn expired_leaf_is_rejected_and_bad_window_is_an_error() {
        let pki = TestPki::generate("expired").expect("pki");
        let now = OffsetDateTime::now_utc();
        let ck = pki
            .issue_with_validity(
                &LeafSpec::federation("old.test", &["old.test"]),
                now - Duration::days(60),
                now - Duration::days(30),
            )
            .expect("issue");
        let name = ServerName::try_from("old.test").expect("name");
        let err = verifier(&pki)
            .verify_server_cert(&ck.chain[0], &[], &name, &[], UnixTime::now())
            .expect_err("expired");
        assert!(format!("{err}").to_lowercase().contains("expired"), "{err}");
        assert!(matches!(
            pki.issue_with_validity(&LeafSpec::federation("x.test", &[]), now, now),
            Err(PkiError::InvalidValidity { .. })
        ));
    }

    #[test]
    fn bad_dns_name_is_an_error() {
        let pki = TestPki::generate("bad").expect("pki");
        let spec = LeafSpec::federation("x", &["bad name\u{e9}"]);
        assert!(matches!(
            pki.issue(&spec),
            Err(PkiError::InvalidDnsName { .. })
        ));
    }
}
