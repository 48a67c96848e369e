//! A leaf issued under a long line of intermediate CAs below the test root,
//! for the robustness case that presents a chain far longer than any real
//! one (an Edge must refuse or accept it, and keep serving others).

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ECDSA_P256_SHA256,
};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

use super::{CertifiedKey, KeyKind, LeafSpec, PkiError, TestPki, gen_err, random_serial};

impl TestPki {
    /// Issues a leaf for `fqdn` (ECDSA P-256, serverAuth and clientAuth)
    /// under `count` intermediate CAs, each issued by the one above it, the
    /// first by this root. The chain is the leaf, the intermediates from the
    /// lowest up, then the root.
    pub fn issue_under_intermediates(
        &self,
        fqdn: &str,
        count: usize,
    ) -> Result<CertifiedKey, PkiError> {
        let now = OffsetDateTime::now_utc();
        let mut above: Vec<CertificateDer<'static>> = vec![self.ca_der.clone()];
        let mut issuers: Vec<Issuer<'static, KeyPair>> = Vec::new();
        for level in 1..=count {
            let key = KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256)
                .map_err(gen_err("intermediate CA key pair"))?;
            let mut params = CertificateParams::default();
            let mut dn = DistinguishedName::new();
            dn.push(DnType::OrganizationName, "picharness");
            dn.push(
                DnType::CommonName,
                format!("picharness test intermediate {level} of {count}"),
            );
            params.distinguished_name = dn;
            params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            params.not_before = now - Duration::days(1);
            params.not_after = now + Duration::days(365);
            params.serial_number = Some(random_serial());
            params.use_authority_key_identifier_extension = true;
            let signer = issuers.last().unwrap_or(&self.issuer);
            let cert = params
                .signed_by(&key, signer)
                .map_err(gen_err(format!("signing intermediate {level}")))?;
            above.insert(0, cert.der().clone());
            issuers.push(Issuer::new(params, key));
        }
        let mut spec = LeafSpec::federation(fqdn, &[fqdn]);
        spec.key = KeyKind::EcdsaP256;
        let lowest = issuers.last().unwrap_or(&self.issuer);
        self.issue_under(
            lowest,
            above,
            &spec,
            now - Duration::days(1),
            now + Duration::days(30),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chain_runs_from_the_leaf_through_every_intermediate_to_the_root() {
        let pki = TestPki::generate("long").expect("root");
        let issued = pki
            .issue_under_intermediates("sip.example.test", 3)
            .expect("issued");
        assert_eq!(issued.chain.len(), 5, "leaf, three intermediates, root");
        assert_eq!(issued.chain.last(), Some(&pki.ca_der()));
    }
}
