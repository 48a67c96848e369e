//! The certificate properties the PIC certificate summary asks for, judged
//! on certificates already received: each rule returns `Ok(detail)` when the
//! property holds and `Err(reason)` naming what is wrong when it does not.
//! No I/O here; `certificate.rs` fetches the chain.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use picharness_simulators::tls::{CertificateSummary, describe_certificate};
use rustls::RootCertStore;
use rustls::server::ParsedCertificate;
use rustls_pki_types::{CertificateDer, UnixTime};

/// sha{1,224,256,384,512}WithRSAEncryption and ecdsa-with-SHA{1,224,256,384,512}
/// (CERT-08), by dotted OID.
const ACCEPTED_SIGNATURES: &[(&str, &str)] = &[
    ("1.2.840.113549.1.1.5", "sha1WithRSAEncryption"),
    ("1.2.840.113549.1.1.14", "sha224WithRSAEncryption"),
    ("1.2.840.113549.1.1.11", "sha256WithRSAEncryption"),
    ("1.2.840.113549.1.1.12", "sha384WithRSAEncryption"),
    ("1.2.840.113549.1.1.13", "sha512WithRSAEncryption"),
    ("1.2.840.10045.4.1", "ecdsa-with-SHA1"),
    ("1.2.840.10045.4.3.1", "ecdsa-with-SHA224"),
    ("1.2.840.10045.4.3.2", "ecdsa-with-SHA256"),
    ("1.2.840.10045.4.3.3", "ecdsa-with-SHA384"),
    ("1.2.840.10045.4.3.4", "ecdsa-with-SHA512"),
];

/// id-RSASSA-PSS (CERT-09).
const OID_RSASSA_PSS: &str = "1.2.840.113549.1.1.10";

fn parse(der: &[u8]) -> Result<x509_parser::certificate::X509Certificate<'_>, String> {
    x509_parser::parse_x509_certificate(der)
        .map(|(_, cert)| cert)
        .map_err(|e| format!("the certificate cannot be parsed: {e}"))
}

/// CERT-01 / CERT-13: subject CN is the access-edge FQDN and the SAN holds it.
pub(crate) fn judge_subject(leaf: &CertificateSummary, fqdn: &str) -> Result<String, String> {
    let cn = leaf.subject_cn.as_deref().unwrap_or("");
    if !cn.eq_ignore_ascii_case(fqdn) {
        return Err(format!(
            "the certificate's subject CN is {:?}, not the access-edge FQDN {fqdn} (PIC providers match the subject name)",
            leaf.subject_cn.as_deref().unwrap_or("(none)")
        ));
    }
    match leaf
        .dns_names
        .iter()
        .position(|n| n.eq_ignore_ascii_case(fqdn))
    {
        Some(index) => Ok(format!(
            "subject CN {cn}; SAN entry {} of {} is {fqdn}",
            index + 1,
            leaf.dns_names.len()
        )),
        None => Err(format!(
            "the access-edge FQDN {fqdn} is the subject CN but not in the SAN [{}]",
            leaf.dns_names.join(", ")
        )),
    }
}

/// CERT-02: every SIP domain the Edge serves has a SAN entry, either the
/// domain itself or `sip.<domain>` (the name Lync's certificate wizard adds
/// for each SIP domain).
pub(super) fn judge_sip_domains(
    leaf: &CertificateSummary,
    sip_domains: &[String],
) -> Result<String, String> {
    if sip_domains.is_empty() {
        return Err("the topology names no SIP domain of the Edge to look for".to_owned());
    }
    let in_san = |name: &str| leaf.dns_names.iter().any(|n| n.eq_ignore_ascii_case(name));
    let mut found = Vec::new();
    for domain in sip_domains {
        let prefixed = format!("sip.{domain}");
        if in_san(domain) {
            found.push(format!("{domain} (as itself)"));
        } else if in_san(&prefixed) {
            found.push(format!("{domain} (as {prefixed})"));
        } else {
            return Err(format!(
                "the Edge serves SIP domain {domain} but neither {domain} nor {prefixed} is in the SAN [{}]",
                leaf.dns_names.join(", ")
            ));
        }
    }
    Ok(format!(
        "every SIP domain the Edge serves is in its SAN: {}",
        found.join(", ")
    ))
}

/// Current unix time, for `judge_validity`.
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// The leaf is inside its validity window at `now` (unix seconds).
pub(crate) fn judge_validity(leaf: &[u8], now: i64) -> Result<String, String> {
    let cert = parse(leaf)?;
    let summary = describe_certificate(leaf).map_err(|e| e.to_string())?;
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    if now < not_before {
        return Err(format!(
            "the certificate is not valid yet: its validity starts {}",
            summary.not_before
        ));
    }
    if now > not_after {
        return Err(format!(
            "the certificate expired on {} ({} days ago)",
            summary.not_after,
            (now - not_after) / 86_400
        ));
    }
    Ok(format!(
        "valid from {} to {} ({} days left)",
        summary.not_before,
        summary.not_after,
        (not_after - now) / 86_400
    ))
}

/// CERT-08 / CERT-09: every certificate presented is signed with an RSA
/// PKCS#1 v1.5 or ECDSA algorithm of the SHA-1/SHA-2 family; RSASSA-PSS
/// fails by name.
pub(super) fn judge_signatures(chain: &[CertificateDer<'_>]) -> Result<String, String> {
    let mut seen = Vec::new();
    for (index, der) in chain.iter().enumerate() {
        let cert = parse(der)?;
        let oid = cert.signature_algorithm.algorithm.to_id_string();
        let who = if index == 0 {
            "the leaf".to_owned()
        } else {
            format!("chain certificate {index} ({})", cert.subject())
        };
        if oid == OID_RSASSA_PSS {
            return Err(format!(
                "{who} is signed with RSASSA-PSS ({OID_RSASSA_PSS}), which Lync does not support"
            ));
        }
        match ACCEPTED_SIGNATURES.iter().find(|(o, _)| *o == oid) {
            Some((_, name)) => seen.push(format!("{index}: {name}")),
            None => {
                return Err(format!(
                    "{who} is signed with {oid}, which is not an RSA or ECDSA signature of the SHA-1/SHA-2 family"
                ));
            }
        }
    }
    Ok(format!("signature algorithms [{}]", seen.join(", ")))
}

/// CERT-07: RSA 2048 or larger passes, RSA 1024 passes (with the warning
/// [`key_warning`] gives), smaller RSA fails; EC keys on P-256/P-384/P-521
/// pass (CERT-07 speaks of RSA only; ECDSA signatures are allowed by
/// CERT-08); anything else fails.
pub(super) fn judge_key(leaf: &CertificateSummary) -> Result<String, String> {
    let key = leaf.key.as_str();
    if let Some(bits) = key.strip_prefix("RSA ").and_then(|b| b.parse::<u32>().ok()) {
        return match bits {
            1024.. => Ok(format!("key {key}")),
            _ => Err(format!("the key is {key}, below 1024 bits")),
        };
    }
    match key {
        "EC P-256" | "EC P-384" | "EC P-521" => Ok(format!("key {key}")),
        other => Err(format!(
            "the key is {other}, neither RSA nor ECDSA on a NIST curve"
        )),
    }
}

/// The requirement [`key_warning`] cites.
pub(crate) const KEY_WARNING_CITES: &str = "CERT-07";

/// CERT-07's WARN: an RSA key of 1024 to 2047 bits is acceptable, but
/// flagged (2048 or more is the recommended value).
pub(crate) fn key_warning(leaf: &CertificateSummary) -> Option<String> {
    let bits = leaf
        .key
        .strip_prefix("RSA ")
        .and_then(|b| b.parse::<u32>().ok())?;
    (1024..2048).contains(&bits).then(|| {
        format!(
            "the key is RSA {bits}: acceptable under CERT-07, but 2048 bits or more is the recommended value"
        )
    })
}

/// The requirement [`signature_warning`] cites.
pub(crate) const SIGNATURE_WARNING_CITES: &str = "CERT-08";

/// A chain certificate signed with SHA-1: CERT-08 accepts it (the 2013
/// providers did), but it is flagged, since SHA-1 signatures are no longer
/// trusted by current TLS clients.
pub(crate) fn signature_warning(chain: &[CertificateDer<'_>]) -> Option<String> {
    let sha1: Vec<String> = chain
        .iter()
        .enumerate()
        .filter_map(|(index, der)| {
            let cert = parse(der).ok()?;
            let oid = cert.signature_algorithm.algorithm.to_id_string();
            let name = ACCEPTED_SIGNATURES
                .iter()
                .find(|(o, name)| *o == oid && name.contains("SHA1"))?
                .1;
            Some(if index == 0 {
                format!("the leaf ({name})")
            } else {
                format!("chain certificate {index} ({name})")
            })
        })
        .collect();
    (!sha1.is_empty()).then(|| {
        format!(
            "{} signed with SHA-1: accepted under CERT-08, but SHA-1 signatures are deprecated and refused by current TLS clients",
            sha1.join(", ")
        )
    })
}

/// CERT-06: the leaf names at least one CRL distribution point URI.
pub(super) fn judge_crl_distribution_point(leaf: &CertificateSummary) -> Result<String, String> {
    if leaf.crl_distribution_points.is_empty() {
        return Err(
            "the certificate has no CRL distribution point URI (extension 2.5.29.31)".to_owned(),
        );
    }
    Ok(format!(
        "CRL distribution points [{}]",
        leaf.crl_distribution_points.join(", ")
    ))
}

/// CERT-05: the chain leads to one of the configured trust anchors. Judged
/// at a moment inside the leaf's validity window, so an expired leaf is
/// reported by the validity rule rather than here.
pub(crate) fn judge_trust(
    chain: &[CertificateDer<'_>],
    anchors: &RootCertStore,
) -> Result<String, String> {
    let Some(leaf) = chain.first() else {
        return Err("the presented chain is empty".to_owned());
    };
    let cert = parse(leaf)?;
    let now = now_unix();
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    let at = if (not_before..=not_after).contains(&now) {
        now
    } else {
        not_before + (not_after - not_before) / 2
    };
    let at = UnixTime::since_unix_epoch(Duration::from_secs(u64::try_from(at).unwrap_or(0)));
    let parsed = ParsedCertificate::try_from(leaf)
        .map_err(|e| format!("the leaf certificate cannot be parsed: {e}"))?;
    // The algorithms Lync 2013 and the 2013 providers took (SHA-1, RSA
    // 1024): key size and signature algorithm are judged by their own rules.
    let provider = picharness_simulators::tls::lync2013_verification_provider();
    let top_issuer = chain
        .last()
        .and_then(|c| parse(c).ok().map(|c| c.issuer().to_string()))
        .unwrap_or_default();
    let algorithms = provider.signature_verification_algorithms;
    let as_server = rustls::client::verify_server_cert_signed_by_trust_anchor(
        &parsed,
        anchors,
        &chain[1..],
        at,
        algorithms.all,
    );
    // webpki builds the path for one EKU; a leaf without serverAuth is an
    // EKU problem (judged by `server-certificate`), so build it again for
    // clientAuth before calling the chain untrusted.
    let verdict = match as_server {
        Err(e) if is_purpose_error(&e) => {
            verify_as_client(leaf, &chain[1..], anchors, at, algorithms).map_err(|_| e)
        }
        other => other,
    };
    match verdict {
        Ok(()) => Ok(format!(
            "the chain of {} leads to one of the {} configured trust anchors",
            chain.len(),
            anchors.len()
        )),
        Err(rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer)) => {
            Err(format!(
                "the chain does not lead to any of the {} configured trust anchors (its top certificate was issued by {top_issuer:?})",
                anchors.len()
            ))
        }
        Err(e) => Err(format!(
            "the chain does not verify against the configured trust anchors: {e}"
        )),
    }
}

fn is_purpose_error(e: &rustls::Error) -> bool {
    matches!(
        e,
        rustls::Error::InvalidCertificate(
            rustls::CertificateError::InvalidPurpose
                | rustls::CertificateError::InvalidPurposeContext { .. }
        )
    )
}

fn verify_as_client(
    leaf: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
    anchors: &RootCertStore,
    at: UnixTime,
    algorithms: rustls::crypto::WebPkiSupportedAlgorithms,
) -> Result<(), rustls::Error> {
    let provider = rustls::crypto::CryptoProvider {
        signature_verification_algorithms: algorithms,
        ..rustls::crypto::aws_lc_rs::default_provider()
    };
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        std::sync::Arc::new(anchors.clone()),
        std::sync::Arc::new(provider),
    )
    .build()
    .map_err(|e| rustls::Error::General(e.to_string()))?;
    verifier
        .verify_client_cert(leaf, intermediates, at)
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use picharness_simulators::pki::{LeafSpec, TestPki};
    use time::OffsetDateTime;

    fn issue(pki: &TestPki, spec: &LeafSpec) -> Vec<CertificateDer<'static>> {
        pki.issue(spec).expect("issue").chain
    }

    #[test]
    fn sip_domains_rule() {
        let pki = TestPki::generate("rules").expect("pki");
        let chain = issue(
            &pki,
            &LeafSpec::federation(
                "sip.contoso.test",
                &["sip.contoso.test", "contoso.test", "SIP.northwind.test"],
            ),
        );
        let s = describe_certificate(&chain[0]).expect("describe");
        let domains = |list: &[&str]| list.iter().map(|d| (*d).to_owned()).collect::<Vec<_>>();
        let detail =
            judge_sip_domains(&s, &domains(&["contoso.test", "northwind.test"])).expect("pass");
        assert!(detail.contains("contoso.test (as itself)"), "{detail}");
        assert!(
            detail.contains("northwind.test (as sip.northwind.test)"),
            "{detail}"
        );
        let missing = judge_sip_domains(&s, &domains(&["contoso.test", "fabrikam.test"]))
            .expect_err("fabrikam.test is not there");
        assert!(
            missing.contains("fabrikam.test nor sip.fabrikam.test"),
            "{missing}"
        );
        // A name that merely ends in the domain does not count.
        assert!(judge_sip_domains(&s, &domains(&["test"])).is_err());
        assert!(judge_sip_domains(&s, &[]).is_err());
    }

    #[test]
    fn subject_rule() {
        let pki = TestPki::generate("rules").expect("pki");
        let good = issue(
            &pki,
            &LeafSpec::federation("sip.contoso.test", &["contoso.test", "sip.contoso.test"]),
        );
        let s = describe_certificate(&good[0]).expect("describe");
        assert!(
            judge_subject(&s, "SIP.contoso.test")
                .expect("pass")
                .contains("entry 2 of 2")
        );
        let other = describe_certificate(
            &issue(
                &pki,
                &LeafSpec::federation("edge.contoso.test", &["sip.contoso.test"]),
            )[0],
        )
        .expect("describe");
        assert!(
            judge_subject(&other, "sip.contoso.test")
                .expect_err("cn")
                .contains("subject CN is \"edge.contoso.test\"")
        );
        let no_san = describe_certificate(
            &issue(
                &pki,
                &LeafSpec::federation("sip.contoso.test", &["x.contoso.test"]),
            )[0],
        )
        .expect("describe");
        assert!(
            judge_subject(&no_san, "sip.contoso.test")
                .expect_err("san")
                .contains("not in the SAN")
        );
    }

    #[test]
    fn validity_rule() {
        let pki = TestPki::generate("rules").expect("pki");
        let chain = issue(&pki, &LeafSpec::federation("a.test", &["a.test"]));
        let now = OffsetDateTime::now_utc().unix_timestamp();
        assert!(judge_validity(&chain[0], now).is_ok());
        assert!(
            judge_validity(&chain[0], now + 40 * 86_400)
                .expect_err("expired")
                .contains("expired on")
        );
        assert!(
            judge_validity(&chain[0], now - 2 * 86_400)
                .expect_err("early")
                .contains("not valid yet")
        );
    }

    #[test]
    fn signature_rule_accepts_sha2_and_refuses_pss() {
        let pki = TestPki::generate("rules").expect("pki");
        let chain = issue(&pki, &LeafSpec::federation("a.test", &["a.test"]));
        assert!(
            judge_signatures(&chain)
                .expect("pass")
                .contains("ecdsa-with-SHA256")
        );
        let pss = pki
            .issue_pss_signed(&LeafSpec::federation("a.test", &["a.test"]))
            .expect("pss")
            .chain;
        assert!(
            judge_signatures(&pss)
                .expect_err("pss")
                .contains("RSASSA-PSS")
        );
        // The intermediate itself is signed by the ECDSA root: fine on its own.
        assert!(judge_signatures(&pss[1..]).is_ok());
        assert_eq!(signature_warning(&chain), None);
        let sha1 = pki
            .issue_sha1_signed(&LeafSpec::federation("a.test", &["a.test"]))
            .expect("sha1")
            .chain;
        assert!(
            judge_signatures(&sha1)
                .expect("sha1 passes")
                .contains("ecdsa-with-SHA1")
        );
        assert!(
            signature_warning(&sha1)
                .expect("sha1 warns")
                .starts_with("the leaf (ecdsa-with-SHA1) signed with SHA-1")
        );
        assert!(
            judge_trust(&sha1, &pki.root_store()).is_ok(),
            "SHA-1 chains still verify"
        );
    }

    #[test]
    fn key_rule_passes_2048_warns_1024_fails_512() {
        let pki = TestPki::generate("rules").expect("pki");
        let spec = LeafSpec::federation("a.test", &["a.test"]);
        let key_of =
            |chain: &[CertificateDer<'static>]| describe_certificate(&chain[0]).expect("describe");
        assert_eq!(
            judge_key(&key_of(&issue(&pki, &spec))).expect("2048"),
            "key RSA 2048"
        );
        let k1024 = pki
            .issue_with_unheld_rsa_key(&spec, 1024)
            .expect("1024")
            .chain;
        assert_eq!(
            judge_key(&key_of(&k1024)).expect("1024 passes"),
            "key RSA 1024"
        );
        assert!(
            key_warning(&key_of(&k1024))
                .expect("1024 warns")
                .contains("RSA 1024")
        );
        assert_eq!(key_warning(&key_of(&issue(&pki, &spec))), None);
        let k512 = pki
            .issue_with_unheld_rsa_key(&spec, 512)
            .expect("512")
            .chain;
        assert!(
            judge_key(&key_of(&k512))
                .expect_err("512")
                .contains("RSA 512")
        );
        let mut ec = spec.clone();
        ec.key = picharness_simulators::pki::KeyKind::EcdsaP256;
        assert!(judge_key(&key_of(&issue(&pki, &ec))).is_ok());
    }

    #[test]
    fn crl_rule() {
        let pki = TestPki::generate("rules").expect("pki");
        let mut spec = LeafSpec::federation("a.test", &["a.test"]);
        let without = describe_certificate(&issue(&pki, &spec)[0]).expect("describe");
        assert!(judge_crl_distribution_point(&without).is_err());
        spec.crl_distribution_point = Some("http://a.test/x.crl".into());
        let with = describe_certificate(&issue(&pki, &spec)[0]).expect("describe");
        assert!(
            judge_crl_distribution_point(&with)
                .expect("pass")
                .contains("http://a.test/x.crl")
        );
    }

    #[test]
    fn trust_rule_names_the_foreign_issuer() {
        let pki = TestPki::generate("anchor").expect("pki");
        let other = TestPki::generate("foreign").expect("pki");
        let spec = LeafSpec::federation("a.test", &["a.test"]);
        assert!(judge_trust(&issue(&pki, &spec), &pki.root_store()).is_ok());
        let err = judge_trust(&issue(&other, &spec), &pki.root_store()).expect_err("foreign");
        assert!(err.contains("picharness test root foreign"), "{err}");
        // An expired leaf from the right root is still judged trusted here.
        let now = OffsetDateTime::now_utc();
        let old = pki
            .issue_with_validity(
                &spec,
                now - time::Duration::days(30),
                now - time::Duration::days(2),
            )
            .expect("issue")
            .chain;
        assert!(judge_trust(&old, &pki.root_store()).is_ok());
        // A PSS leaf under an intermediate chains too.
        let pss = pki.issue_pss_signed(&spec).expect("pss").chain;
        assert!(judge_trust(&pss, &pki.root_store()).is_ok());
        assert!(judge_trust(&[], &pki.root_store()).is_err());
    }
}
