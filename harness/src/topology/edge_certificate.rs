//! The embedded reference Edge's certificate: RSA 2048, serverAuth and
//! clientAuth, subject CN = access-edge FQDN, SAN = access-edge FQDN, SIP
//! domain, internal FQDN and `sip.<domain>` for each additional SIP domain,
//! a CRL distribution point, issued by the run's test root. The second pool
//! member gets its own certificate made the same way. Each certificate fault
//! switch changes exactly one of those.

use std::sync::Arc;

use picharness_simulators::edge::{Fault, FaultSet};
use picharness_simulators::pki::{CertifiedKey, KeyKind, LeafSpec, PkiError, TestPki};
use rustls_pki_types::CertificateDer;
use time::{Duration, OffsetDateTime};

/// The Edge's identity, and the root of a private CA that issued it when
/// the `private-ca-cert` fault is on (peers trust it; the configured trust
/// anchors do not).
pub(crate) struct EdgeCertificate {
    pub(crate) identity: Arc<CertifiedKey>,
    pub(crate) private_root: Option<CertificateDer<'static>>,
    /// A second certificate with the same names for outbound connections
    /// (fault `different-outbound-cert`).
    pub(crate) outbound_identity: Option<Arc<CertifiedKey>>,
    /// The second Access Edge pool member's own certificate (without
    /// clientAuth under the `pool-member-different-cert` fault).
    pub(crate) pool_member_identity: Arc<CertifiedKey>,
}

/// The RSA key size the `weak-key` fault uses (below the 1024 that
/// CERT-07 still tolerates with a warning).
const WEAK_KEY_BITS: usize = 512;

/// The subject CN the `subject-cn-mismatch` fault uses.
const MISMATCHED_CN: &str = "edge01.contoso.test";

/// Issues the Edge certificate for `names` = [access-edge FQDN, SIP domain,
/// internal FQDN] plus `sip.<d>` for each of `additional_domains` under
/// `pki`, as `faults` dictate (`san-missing-sip-domain` drops the last
/// additional domain's name).
pub(crate) fn issue_edge_certificate(
    pki: &TestPki,
    faults: &FaultSet,
    names: [&str; 3],
    additional_domains: &[&str],
) -> Result<EdgeCertificate, PkiError> {
    let [access_edge_fqdn, ..] = names;
    let mut additional: Vec<String> = additional_domains
        .iter()
        .map(|d| format!("sip.{d}"))
        .collect();
    if faults.has(Fault::SanMissingSipDomain) {
        additional.pop();
    }
    let spec = LeafSpec {
        common_name: if faults.has(Fault::SubjectCnMismatch) {
            MISMATCHED_CN.to_owned()
        } else {
            access_edge_fqdn.to_owned()
        },
        dns_names: names
            .iter()
            .filter(|n| !(faults.has(Fault::SanMismatch) && **n == access_edge_fqdn))
            .map(|n| (*n).to_owned())
            .chain(additional)
            .collect(),
        server_auth: !faults.has(Fault::NoServerEku),
        client_auth: !faults.has(Fault::NoClientEku),
        key: KeyKind::Rsa2048,
        crl_distribution_point: (!faults.has(Fault::NoCdp))
            .then(|| format!("http://{access_edge_fqdn}/crl/picharness.crl")),
    };
    let member_spec = LeafSpec {
        client_auth: spec.client_auth && !faults.has(Fault::PoolMemberDifferentCert),
        ..spec.clone()
    };
    if faults.has(Fault::PrivateCaCert) {
        let private = TestPki::generate("enterprise private CA")?;
        return Ok(EdgeCertificate {
            identity: Arc::new(private.issue(&spec)?),
            private_root: Some(private.ca_der()),
            outbound_identity: None,
            pool_member_identity: Arc::new(private.issue(&member_spec)?),
        });
    }
    let outbound_identity = if faults.has(Fault::DifferentOutboundCert) {
        Some(Arc::new(pki.issue(&spec)?))
    } else {
        None
    };
    Ok(EdgeCertificate {
        identity: Arc::new(issue_with_faults(pki, faults, &spec)?),
        private_root: None,
        outbound_identity,
        pool_member_identity: Arc::new(issue_with_faults(pki, faults, &member_spec)?),
    })
}

/// Issues `spec` with the validity, signature or key the faults ask for.
fn issue_with_faults(
    pki: &TestPki,
    faults: &FaultSet,
    spec: &LeafSpec,
) -> Result<CertifiedKey, PkiError> {
    let now = OffsetDateTime::now_utc();
    if faults.has(Fault::ExpiredCert) {
        pki.issue_with_validity(spec, now - Duration::days(366), now - Duration::days(1))
    } else if faults.has(Fault::PssSignature) {
        pki.issue_pss_signed(spec)
    } else if faults.has(Fault::WeakKey) {
        pki.issue_with_unheld_rsa_key(spec, WEAK_KEY_BITS)
    } else if faults.has(Fault::Rsa1024Cert) {
        pki.issue_with_rsa_1024_key(spec)
    } else if faults.has(Fault::Sha1SignedCert) {
        pki.issue_sha1_signed(spec)
    } else {
        pki.issue(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use picharness_simulators::tls::describe_certificate;

    const NAMES: [&str; 3] = ["sip.contoso.test", "contoso.test", "edge-int.contoso.test"];
    const ADDITIONAL: [&str; 1] = ["northwind.test"];

    fn issue(pki: &TestPki, faults: &[Fault]) -> EdgeCertificate {
        issue_edge_certificate(
            pki,
            &FaultSet::new(faults.iter().copied()),
            NAMES,
            &ADDITIONAL,
        )
        .expect("issue")
    }

    fn summary(faults: &[Fault]) -> picharness_simulators::tls::CertificateSummary {
        let pki = TestPki::generate("edge-cert").expect("pki");
        describe_certificate(&issue(&pki, faults).identity.chain[0]).expect("describe")
    }

    #[test]
    fn good_certificate_has_every_property() {
        let s = summary(&[]);
        assert_eq!(s.subject_cn.as_deref(), Some("sip.contoso.test"));
        let mut names = NAMES.map(str::to_owned).to_vec();
        names.push("sip.northwind.test".to_owned());
        assert_eq!(s.dns_names, names);
        assert!(s.server_auth && s.client_auth);
        assert_eq!(s.key, "RSA 2048");
        assert_eq!(s.crl_distribution_points.len(), 1);
    }

    #[test]
    fn pool_member_has_its_own_certificate_with_the_same_names() {
        let pki = TestPki::generate("edge-cert").expect("pki");
        let good = issue(&pki, &[]);
        assert_ne!(good.pool_member_identity.chain[0], good.identity.chain[0]);
        let first = describe_certificate(&good.identity.chain[0]).expect("describe");
        let member = describe_certificate(&good.pool_member_identity.chain[0]).expect("describe");
        assert_eq!(
            (
                &first.subject,
                &first.dns_names,
                first.server_auth,
                first.client_auth
            ),
            (
                &member.subject,
                &member.dns_names,
                member.server_auth,
                member.client_auth
            )
        );
        let faulty = issue(&pki, &[Fault::PoolMemberDifferentCert]);
        let first = describe_certificate(&faulty.identity.chain[0]).expect("describe");
        let member = describe_certificate(&faulty.pool_member_identity.chain[0]).expect("describe");
        assert!(first.client_auth && !member.client_auth);
        assert_eq!(first.dns_names, member.dns_names);
        let dropped = summary(&[Fault::SanMissingSipDomain]);
        assert_eq!(dropped.dns_names, NAMES.map(str::to_owned).to_vec());
    }

    #[test]
    fn each_fault_changes_its_property() {
        assert_eq!(
            summary(&[Fault::SubjectCnMismatch]).subject_cn.as_deref(),
            Some(MISMATCHED_CN)
        );
        assert!(!summary(&[Fault::NoServerEku]).server_auth);
        assert!(summary(&[Fault::NoCdp]).crl_distribution_points.is_empty());
        assert_eq!(summary(&[Fault::WeakKey]).key, "RSA 512");
        let san = summary(&[Fault::SanMismatch]);
        assert_eq!(san.subject_cn.as_deref(), Some("sip.contoso.test"));
        assert!(!san.dns_names.iter().any(|n| n == "sip.contoso.test"));
        assert_eq!(
            summary(&[Fault::PssSignature]).signature_algorithm,
            "rsassa-pss"
        );
        let pki = TestPki::generate("edge-cert").expect("pki");
        let expired = issue(&pki, &[Fault::ExpiredCert]);
        let (_, cert) =
            x509_parser::parse_x509_certificate(&expired.identity.chain[0]).expect("parse");
        assert!(cert.validity().not_after.timestamp() < OffsetDateTime::now_utc().unix_timestamp());
        let pki = TestPki::generate("edge-cert").expect("pki");
        let private = issue(&pki, &[Fault::PrivateCaCert]);
        assert!(private.private_root.is_some());
        assert!(private.outbound_identity.is_none());
        let two = issue(&pki, &[Fault::DifferentOutboundCert]);
        let outbound = two.outbound_identity.expect("second certificate");
        assert_ne!(outbound.chain[0], two.identity.chain[0]);
        assert_eq!(
            describe_certificate(&outbound.chain[0])
                .expect("describe")
                .dns_names,
            describe_certificate(&two.identity.chain[0])
                .expect("describe")
                .dns_names
        );
        assert_ne!(private.identity.chain.last(), Some(&pki.ca_der()));
    }
}
