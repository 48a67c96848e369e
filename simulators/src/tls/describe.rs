//! Readable summaries of certificates for reports: names, EKUs, validity,
//! key type, CRL distribution points, and PEM dumps of chains.

use std::fmt::Write as _;

use rustls_pki_types::CertificateDer;
use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::oid_registry::{self, Oid};
use x509_parser::public_key::PublicKey;
use x509_parser::time::ASN1Time;

use super::TlsError;

/// The properties of one certificate a conformance report cares about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateSummary {
    /// First subject CN, if any.
    pub subject_cn: Option<String>,
    /// Subject DN, RFC 4514-like.
    pub subject: String,
    /// Issuer DN.
    pub issuer: String,
    /// subjectAltName dNSName entries (iPAddress entries as text too).
    pub dns_names: Vec<String>,
    /// EKU contains id-kp-serverAuth.
    pub server_auth: bool,
    /// EKU contains id-kp-clientAuth.
    pub client_auth: bool,
    /// The certificate has an EKU extension at all.
    pub has_eku: bool,
    /// notBefore, RFC 3339 UTC.
    pub not_before: String,
    /// notAfter, RFC 3339 UTC.
    pub not_after: String,
    /// Key type and size, e.g. `RSA 2048` or `EC P-256`.
    pub key: String,
    /// Signature algorithm name, e.g. `ecdsa-with-SHA256`.
    pub signature_algorithm: String,
    /// URIs from the CRL distribution points extension.
    pub crl_distribution_points: Vec<String>,
}

impl CertificateSummary {
    /// A multi-line, human-readable dump.
    pub fn to_text(&self) -> String {
        let mut s = String::new();
        let none = "(none)";
        let _ = writeln!(s, "Subject:             {}", self.subject);
        let _ = writeln!(
            s,
            "Subject CN:          {}",
            self.subject_cn.as_deref().unwrap_or(none)
        );
        let _ = writeln!(s, "Issuer:              {}", self.issuer);
        let _ = writeln!(
            s,
            "SAN DNS names:       {}",
            if self.dns_names.is_empty() {
                none.to_owned()
            } else {
                self.dns_names.join(", ")
            }
        );
        let eku = if self.has_eku {
            let mut v = Vec::new();
            if self.server_auth {
                v.push("serverAuth");
            }
            if self.client_auth {
                v.push("clientAuth");
            }
            if v.is_empty() {
                "present, without serverAuth or clientAuth".to_owned()
            } else {
                v.join(", ")
            }
        } else {
            "(no EKU extension)".to_owned()
        };
        let _ = writeln!(s, "Extended key usage:  {eku}");
        let _ = writeln!(s, "Not before:          {}", self.not_before);
        let _ = writeln!(s, "Not after:           {}", self.not_after);
        let _ = writeln!(s, "Public key:          {}", self.key);
        let _ = writeln!(s, "Signature algorithm: {}", self.signature_algorithm);
        let _ = writeln!(
            s,
            "CRL distribution:    {}",
            if self.crl_distribution_points.is_empty() {
                none.to_owned()
            } else {
                self.crl_distribution_points.join(", ")
            }
        );
        s
    }
}

fn format_time(t: &ASN1Time) -> String {
    match time::OffsetDateTime::from_unix_timestamp(t.timestamp()) {
        Ok(dt) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            dt.year(),
            u8::from(dt.month()),
            dt.day(),
            dt.hour(),
            dt.minute(),
            dt.second()
        ),
        Err(_) => format!("unix {}", t.timestamp()),
    }
}

/// Names x509-parser's OID registry lacks.
const EXTRA_OID_NAMES: &[(&str, &str)] = &[("1.2.840.10045.4.1", "ecdsa-with-SHA1")];

fn oid_name(oid: &Oid<'_>) -> String {
    match x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry()) {
        Ok(sn) => sn.to_owned(),
        Err(_) => {
            let dotted = oid.to_id_string();
            EXTRA_OID_NAMES
                .iter()
                .find(|(id, _)| *id == dotted)
                .map_or(dotted, |(_, name)| (*name).to_owned())
        }
    }
}

fn describe_key(cert: &X509Certificate<'_>) -> String {
    let spki = cert.public_key();
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let m = rsa.modulus;
            let first = m.iter().position(|b| *b != 0);
            let bits = match first {
                Some(i) => (m.len() - i) * 8 - m[i].leading_zeros() as usize,
                None => 0,
            };
            format!("RSA {bits}")
        }
        Ok(PublicKey::EC(point)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            match curve {
                Some(c) if c == oid_registry::OID_EC_P256 => "EC P-256".to_owned(),
                Some(c) if c == oid_registry::OID_NIST_EC_P384 => "EC P-384".to_owned(),
                Some(c) if c == oid_registry::OID_NIST_EC_P521 => "EC P-521".to_owned(),
                Some(c) => format!("EC {} ({} bits)", oid_name(&c), point.key_size()),
                None => format!("EC ({} bits)", point.key_size()),
            }
        }
        Ok(PublicKey::DSA(_)) => "DSA".to_owned(),
        Ok(_) | Err(_) => oid_name(&spki.algorithm.algorithm),
    }
}

/// Summarises one DER certificate.
pub fn describe_certificate(der: &[u8]) -> Result<CertificateSummary, TlsError> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| TlsError::Certificate(format!("cannot parse certificate: {e}")))?;

    let subject_cn = cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .map(str::to_owned);

    let mut dns_names = Vec::new();
    let mut server_auth = false;
    let mut client_auth = false;
    let mut has_eku = false;
    let mut crl_distribution_points = Vec::new();
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::SubjectAlternativeName(san) => {
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(d) => dns_names.push((*d).to_owned()),
                        GeneralName::IPAddress(bytes) => {
                            if let Some(ip) = ip_from_bytes(bytes) {
                                dns_names.push(ip.to_string());
                            }
                        }
                        _ => {}
                    }
                }
            }
            ParsedExtension::ExtendedKeyUsage(eku) => {
                has_eku = true;
                server_auth |= eku.server_auth;
                client_auth |= eku.client_auth;
            }
            ParsedExtension::CRLDistributionPoints(points) => {
                for p in points.iter() {
                    if let Some(DistributionPointName::FullName(names)) = &p.distribution_point {
                        for n in names {
                            if let GeneralName::URI(uri) = n {
                                crl_distribution_points.push((*uri).to_owned());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }

    Ok(CertificateSummary {
        subject_cn,
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        dns_names,
        server_auth,
        client_auth,
        has_eku,
        not_before: format_time(&cert.validity().not_before),
        not_after: format_time(&cert.validity().not_after),
        key: describe_key(&cert),
        signature_algorithm: oid_name(&cert.signature_algorithm.algorithm),
        crl_distribution_points,
    })
}

fn ip_from_bytes(bytes: &[u8]) -> Option<std::net::IpAddr> {
    match bytes.len() {
        4 => {
            let a: [u8; 4] = bytes.try_into().ok()?;
            Some(std::net::IpAddr::from(a))
        }
        16 => {
            let a: [u8; 16] = bytes.try_into().ok()?;
            Some(std::net::IpAddr::from(a))
        }
        _ => None,
    }
}

/// Whether a DER certificate carries an EKU extension listing clientAuth.
/// `Ok(None)` means there is no EKU extension at all.
pub(crate) fn client_auth_eku(der: &[u8]) -> Result<Option<bool>, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("cannot parse certificate: {e}"))?;
    match cert.extended_key_usage() {
        Ok(Some(eku)) => Ok(Some(eku.value.client_auth)),
        Ok(None) => Ok(None),
        Err(e) => Err(format!("cannot parse the EKU extension: {e}")),
    }
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b0 = chunk[0];
        let b1 = chunk.get(1).copied().unwrap_or(0);
        let b2 = chunk.get(2).copied().unwrap_or(0);
        let n = (u32::from(b0) << 16) | (u32::from(b1) << 8) | u32::from(b2);
        let idx = |shift: u32| char::from(B64[((n >> shift) & 0x3f) as usize]);
        out.push(idx(18));
        out.push(idx(12));
        out.push(if chunk.len() > 1 { idx(6) } else { '=' });
        out.push(if chunk.len() > 2 { idx(0) } else { '=' });
    }
    out
}

/// One PEM block (`-----BEGIN {label}-----`, 64-column base64, LF line ends).
pub fn der_to_pem(label: &str, der: &[u8]) -> String {
    let b64 = base64(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        s.push_str(&String::from_utf8_lossy(line));
        s.push('\n');
    }
    let _ = writeln!(s, "-----END {label}-----");
    s
}

/// The chain as concatenated PEM `CERTIFICATE` blocks.
pub fn chain_to_pem(chain: &[CertificateDer<'_>]) -> String {
    chain
        .iter()
        .map(|c| der_to_pem("CERTIFICATE", c.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (i, o) in cases {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(describe_certificate(b"not a certificate").is_err());
        assert!(describe_certificate(&[]).is_err());
        assert!(client_auth_eku(&[0x30, 0x03, 0x02, 0x01]).is_err());
    }
}
