//! `picharness pki init`: writes a test PKI to a directory so a staging Edge
//! can be set up to federate with the harness's simulated providers: the
//! root CA to install as a trusted root, an Access Edge certificate, one
//! certificate per provider peer for its federation FQDN (serverAuth and
//! clientAuth), the bad peer certificates the negative MTLS cases
//! present, and the certificates an impostor at a provider's address
//! presents to the Edge connecting out (docs/certificates-outbound.md),
//! among them a revoked one each way and the CRL (DER) that revokes them.
//! Private keys are written mode 0600.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use picharness_simulators::pki::{
    BadPeerCertificate, CertifiedKey, ImpostorCertificate, LeafSpec, TestPki,
};
use picharness_simulators::tls::chain_to_pem;

use crate::profile::ProviderProfile;

/// What to generate.
#[derive(Debug, Clone)]
pub struct PkiInitOptions {
    /// The directory to create (it must not exist or be empty).
    pub out: PathBuf,
    pub profiles: Vec<ProviderProfile>,
    pub access_edge_fqdn: String,
    pub sip_domain: String,
    /// Also write a certificate for the Edge's internal interface (the
    /// name the pool connects to in sandwich mode).
    pub internal_edge_fqdn: Option<String>,
}

/// Why the PKI could not be written.
#[derive(Debug, thiserror::Error)]
pub enum PkiInitError {
    #[error("{path}: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{0}: the output directory exists and is not empty; choose a new directory")]
    NotEmpty(PathBuf),
    #[error("generating certificates: {0}")]
    Pki(String),
    #[error("{option} {name:?}: {problem}")]
    BadName {
        option: &'static str,
        name: String,
        problem: String,
    },
}

/// Every name the certificates will carry is a DNS host name.
fn check_names(options: &PkiInitOptions) -> Result<(), PkiInitError> {
    let names = [
        ("--access-edge-fqdn", Some(&options.access_edge_fqdn)),
        ("--sip-domain", Some(&options.sip_domain)),
        ("--internal-edge-fqdn", options.internal_edge_fqdn.as_ref()),
    ];
    for (option, name) in names {
        if let Some(name) = name
            && let Some(problem) = crate::dns_name::dns_name_problem(name)
        {
            return Err(PkiInitError::BadName {
                option,
                name: name.chars().take(80).collect(),
                problem,
            });
        }
    }
    Ok(())
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> PkiInitError + '_ {
    move |e| PkiInitError::Io {
        path: path.to_owned(),
        message: e.to_string(),
    }
}

fn pki_error(e: impl std::fmt::Display) -> PkiInitError {
    PkiInitError::Pki(e.to_string())
}

/// Writes a public file (certificates).
fn write_public(path: &Path, text: &str) -> Result<(), PkiInitError> {
    std::fs::write(path, text).map_err(io_error(path))
}

/// Writes a public binary file (the CRL).
fn write_public_bytes(path: &Path, bytes: &[u8]) -> Result<(), PkiInitError> {
    std::fs::write(path, bytes).map_err(io_error(path))
}

/// Writes a secret file (keys): created with mode 0600, never readable by
/// group or others, even for a moment.
fn write_secret(path: &Path, text: &str) -> Result<(), PkiInitError> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_error(path))?;
    file.write_all(text.as_bytes()).map_err(io_error(path))
}

fn write_pair(dir: &Path, stem: &str, key: &CertifiedKey) -> Result<(), PkiInitError> {
    std::fs::create_dir_all(dir).map_err(io_error(dir))?;
    write_public(&dir.join(format!("{stem}.pem")), &chain_to_pem(&key.chain))?;
    write_secret(&dir.join(format!("{stem}.key")), &key.key_pem)
}

fn prepare_out_dir(out: &Path) -> Result<(), PkiInitError> {
    if out.exists() {
        let mut entries = std::fs::read_dir(out).map_err(io_error(out))?;
        if entries.next().is_some() {
            return Err(PkiInitError::NotEmpty(out.to_owned()));
        }
    }
    std::fs::create_dir_all(out).map_err(io_error(out))
}

/// Generates and writes the PKI; returns the installation notes (also
/// written to `README.txt` in the directory).
pub fn write_test_pki(options: &PkiInitOptions) -> Result<String, PkiInitError> {
    let out = &options.out;
    check_names(options)?;
    prepare_out_dir(out)?;
    let root = TestPki::generate("staging").map_err(pki_error)?;
    let untrusted = TestPki::generate("untrusted").map_err(pki_error)?;

    let ca_dir = out.join("ca");
    std::fs::create_dir_all(&ca_dir).map_err(io_error(&ca_dir))?;
    write_public(&ca_dir.join("root.pem"), &root.ca_pem())?;
    write_secret(&ca_dir.join("root.key"), &root.ca_key_pem())?;
    let untrusted_dir = out.join("untrusted-ca");
    std::fs::create_dir_all(&untrusted_dir).map_err(io_error(&untrusted_dir))?;
    write_public(&untrusted_dir.join("root.pem"), &untrusted.ca_pem())?;

    let fqdn = options.access_edge_fqdn.as_str();
    let crl_url = format!("http://{fqdn}/crl/picharness.crl");
    let mut edge_spec = LeafSpec::federation(fqdn, &[fqdn, options.sip_domain.as_str()]);
    edge_spec.crl_distribution_point = Some(crl_url.clone());
    let edge = root.issue(&edge_spec).map_err(pki_error)?;
    write_pair(&out.join("edge"), "access-edge", &edge)?;
    if let Some(internal) = &options.internal_edge_fqdn {
        let mut spec = LeafSpec::federation(internal, &[internal.as_str()]);
        spec.crl_distribution_point = Some(format!("http://{internal}/crl/picharness.crl"));
        let key = root.issue(&spec).map_err(pki_error)?;
        write_pair(&out.join("edge"), "internal-edge", &key)?;
    }

    let mut notes = String::new();
    let _ = writeln!(notes, "picharness test PKI in {}", out.display());
    let _ = writeln!(notes);
    let _ = writeln!(
        notes,
        "On the staging Edge, install ca/root.pem as a trusted root certification authority"
    );
    let _ = writeln!(
        notes,
        "(Local Computer > Trusted Root Certification Authorities). Do NOT install untrusted-ca/root.pem."
    );
    let _ = writeln!(
        notes,
        "edge/access-edge.pem + .key: an Access Edge certificate for {fqdn} (SAN {fqdn}, {}; serverAuth + clientAuth),",
        options.sip_domain
    );
    let _ = writeln!(
        notes,
        "  for an Edge that should use the test CA rather than its own public certificate."
    );
    if let Some(internal) = &options.internal_edge_fqdn {
        let _ = writeln!(
            notes,
            "edge/internal-edge.pem + .key: a certificate for the Edge's internal interface, {internal} (sandwich mode)."
        );
    }
    let _ = writeln!(notes);
    let _ = writeln!(
        notes,
        "Provider peers (each peer connects from, and must resolve as, its federation FQDN):"
    );
    let mut revoked = Vec::new();
    for profile in &options.profiles {
        let peer_fqdn = profile.federation_fqdn.as_str();
        let dir = out.join("peers").join(&profile.name);
        let good = root
            .issue(&LeafSpec::federation(peer_fqdn, &[peer_fqdn]))
            .map_err(pki_error)?;
        write_pair(&dir, "peer", &good)?;
        for bad in BadPeerCertificate::ALL {
            if let Some(key) = bad.issue(&root, &untrusted, peer_fqdn).map_err(pki_error)? {
                write_pair(&dir.join("bad"), bad.label(), &key)?;
            }
        }
        for bad in ImpostorCertificate::ALL {
            let key = bad.issue(&root, &untrusted, peer_fqdn).map_err(pki_error)?;
            write_pair(&dir.join("impostor"), bad.label(), &key)?;
        }
        // The provider's good certificate with the CRL distribution point,
        // once as a peer connecting in and once as an impostor's server
        // certificate; crl/picharness.crl revokes both.
        for side in ["bad", "impostor"] {
            let key = root
                .issue_revoked(peer_fqdn, &crl_url)
                .map_err(pki_error)?
                .identity;
            write_pair(&dir.join(side), "revoked", &key)?;
            revoked.extend(key.leaf().cloned());
        }
        let _ = writeln!(
            notes,
            "  {:<10} {peer_fqdn:<30} peers/{}/peer.pem (bad ones: peers/{}/bad/, impostor server certificates: peers/{}/impostor/)",
            profile.name, profile.name, profile.name, profile.name
        );
    }
    let crl_dir = out.join("crl");
    std::fs::create_dir_all(&crl_dir).map_err(io_error(&crl_dir))?;
    let crl = root.issue_crl(&revoked).map_err(pki_error)?;
    write_public_bytes(&crl_dir.join("picharness.crl"), crl.as_ref())?;
    let _ = writeln!(notes);
    let _ = writeln!(
        notes,
        "crl/picharness.crl (DER, signed by ca/root.pem) revokes peers/*/bad/revoked.pem and peers/*/impostor/revoked.pem;"
    );
    let _ = writeln!(
        notes,
        "  their CRL distribution point, like the Edge certificate's, is {crl_url}. A run issues its own, served at [crl] listen."
    );
    let _ = writeln!(notes);
    let _ = writeln!(
        notes,
        "Private keys (*.key) are mode 0600; ca/root.key can issue certificates the staging Edge trusts: keep it safe."
    );
    write_public(&out.join("README.txt"), &notes)?;
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::pem::PemObject;

    fn profile(name: &str, fqdn: &str) -> ProviderProfile {
        ProviderProfile {
            name: name.to_owned(),
            display_name: name.to_owned(),
            federation_fqdn: fqdn.to_owned(),
            domains: vec![format!("{name}.test")],
            require_client_auth_eku: false,
            locate_edge: crate::locate::LocateEdge::default(),
            features: vec![],
            quirks: vec![],
        }
    }

    #[test]
    fn refuses_names_no_certificate_can_carry_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("pki");
        let long = "x".repeat(70_000);
        for (fqdn, domain, internal, option) in [
            ("bad fqdn!", "contoso.test", None, "--access-edge-fqdn"),
            ("sip.contoso.test", "", None, "--sip-domain"),
            ("sip.contoso.test", long.as_str(), None, "--sip-domain"),
            (
                "sip.contoso.test",
                "contoso.test",
                Some("a..b"),
                "--internal-edge-fqdn",
            ),
        ] {
            let err = write_test_pki(&PkiInitOptions {
                out: out.clone(),
                profiles: vec![],
                access_edge_fqdn: fqdn.into(),
                sip_domain: domain.into(),
                internal_edge_fqdn: internal.map(str::to_owned),
            })
            .expect_err("a bad name");
            assert!(
                matches!(&err, PkiInitError::BadName { option: o, .. } if *o == option),
                "{err}"
            );
            assert!(err.to_string().len() < 300, "{err}");
            assert!(
                !out.exists(),
                "{fqdn:?} {domain:?}: the directory was created"
            );
        }
    }

    #[test]
    fn refuses_a_non_empty_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("x"), "x").expect("write");
        let err = write_test_pki(&PkiInitOptions {
            out: dir.path().to_owned(),
            profiles: vec![],
            access_edge_fqdn: "sip.contoso.test".into(),
            sip_domain: "contoso.test".into(),
            internal_edge_fqdn: None,
        })
        .expect_err("not empty");
        assert!(matches!(err, PkiInitError::NotEmpty(_)), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn keys_are_private_and_certificates_are_written() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let out = dir.path().join("pki");
        let notes = write_test_pki(&PkiInitOptions {
            out: out.clone(),
            profiles: vec![profile("yahoo", "sip.yahoo.com")],
            access_edge_fqdn: "sip.contoso.test".into(),
            sip_domain: "contoso.test".into(),
            internal_edge_fqdn: None,
        })
        .expect("write");
        assert!(notes.contains("sip.yahoo.com"), "{notes}");
        assert!(notes.contains("ca/root.pem"), "{notes}");
        let mut keys = 0;
        let mut walk = vec![out.clone()];
        while let Some(d) = walk.pop() {
            for entry in std::fs::read_dir(&d).expect("read_dir") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    walk.push(path);
                } else if path.extension().is_some_and(|e| e == "key") {
                    keys += 1;
                    let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
                    assert_eq!(mode & 0o777, 0o600, "{}", path.display());
                }
            }
        }
        // root + edge + peer + 7 bad peer keys (5 refused, RSA 1024 and
        // SHA-1 accepted) + 5 impostor server keys + 2 revoked.
        assert_eq!(keys, 17);
        let crl = std::fs::read(out.join("crl/picharness.crl")).expect("crl");
        let (_, crl) = x509_parser::parse_x509_crl(&crl).expect("a DER CRL");
        let listed: Vec<Vec<u8>> = crl
            .iter_revoked_certificates()
            .map(|r| r.raw_serial().to_vec())
            .collect();
        for side in ["bad", "impostor"] {
            let pem =
                std::fs::read(out.join(format!("peers/yahoo/{side}/revoked.pem"))).expect("read");
            let der = rustls_pki_types::CertificateDer::from_pem_slice(&pem).expect("pem");
            let serial = picharness_simulators::pki::serial_of(&der).expect("serial");
            assert!(listed.contains(&serial), "{side}/revoked.pem is on the CRL");
            let summary = picharness_simulators::tls::describe_certificate(&der).expect("describe");
            assert_eq!(
                summary.crl_distribution_points,
                vec!["http://sip.contoso.test/crl/picharness.crl".to_owned()]
            );
        }
        for impostor in ImpostorCertificate::ALL {
            let pem = std::fs::read_to_string(
                out.join(format!("peers/yahoo/impostor/{}.pem", impostor.label())),
            )
            .expect("read");
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        }
        for legacy in ["rsa-1024", "sha1-signature"] {
            let pem = std::fs::read_to_string(out.join(format!("peers/yahoo/bad/{legacy}.pem")))
                .expect("read");
            assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"));
        }
        let bad = std::fs::read_to_string(out.join("peers/yahoo/bad/expired.pem")).expect("read");
        assert!(bad.starts_with("-----BEGIN CERTIFICATE-----"));
    }
}
