//! Certificates and mutual TLS end to end: each certificate or MTLS fault
//! switch of the reference Edge fails exactly its cases (see `FAULT_TABLE`
//! in `faults.rs`); the harness's reading of the Edge's certificate agrees
//! with `openssl x509`; the RSASSA-PSS certificate of the `pss-signature`
//! fault verifies with `openssl verify`; a refusal is visible in the case's
//! trace; `picharness pki init` writes keys
//! nobody else can read and certificates OpenSSL accepts.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::faults::check_fault;
use crate::support::{binary, run_suite};

fn openssl() -> Command {
    let found = Command::new("openssl")
        .arg("version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "openssl is required for this test (scripts/test-all.sh installs it)"
    );
    Command::new("openssl")
}

fn openssl_text(args: &[&str], input: &Path) -> String {
    let output = openssl()
        .args(args)
        .arg("-in")
        .arg(input)
        .output()
        .expect("openssl runs");
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The PEM blocks of a chain file, each written to its own file in `dir`.
fn split_chain(chain: &Path, dir: &Path) -> Vec<std::path::PathBuf> {
    let text = std::fs::read_to_string(chain).expect("chain pem");
    let mut files = Vec::new();
    for (index, block) in text
        .split_inclusive("-----END CERTIFICATE-----\n")
        .filter(|b| b.contains("BEGIN CERTIFICATE"))
        .enumerate()
    {
        let path = dir.join(format!("cert{index}.pem"));
        std::fs::write(&path, block).expect("write block");
        files.push(path);
    }
    files
}

/// The first certificate's fields from our `.txt` dump.
fn our_dump(txt: &Path) -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(txt).expect("dump");
    text.split("# certificate 1")
        .next()
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect()
}

/// `Nov 24 11:51:41 2026 GMT` as `2026-11-24T11:51:41Z`.
fn openssl_date(text: &str) -> String {
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = text.split_whitespace().collect();
    assert_eq!(parts.len(), 5, "unexpected openssl date {text:?}");
    let month = months
        .iter()
        .position(|m| *m == parts[0])
        .expect("month name")
        + 1;
    let day: u32 = parts[1].parse().expect("day");
    format!("{}-{month:02}-{day:02}T{}Z", parts[3], parts[2])
}

fn normalise_algorithm(name: &str) -> String {
    name.to_lowercase().replace(['-', '_'], "")
}

/// Compares our dump of the first certificate of `chain` with OpenSSL's.
fn assert_openssl_agrees(chain: &Path, dump: &Path, scratch: &Path) {
    let leaf = &split_chain(chain, scratch)[0];
    let ours = our_dump(dump);
    let subject = openssl_text(&["x509", "-noout", "-subject", "-nameopt", "RFC2253"], leaf);
    let cn = subject
        .trim()
        .trim_start_matches("subject=")
        .split(',')
        .find_map(|part| part.trim().strip_prefix("CN="))
        .expect("openssl subject has a CN")
        .to_owned();
    assert_eq!(ours["Subject CN"], cn);

    let text = openssl_text(&["x509", "-noout", "-text"], leaf);
    let line_after = |label: &str| -> String {
        let mut lines = text.lines();
        lines
            .find(|l| l.trim_start().starts_with(label))
            .and_then(|_| lines.next())
            .map(|l| l.trim().to_owned())
            .unwrap_or_default()
    };
    let sans: Vec<String> = line_after("X509v3 Subject Alternative Name")
        .split(", ")
        .filter_map(|e| e.strip_prefix("DNS:").map(str::to_owned))
        .collect();
    assert_eq!(ours["SAN DNS names"], sans.join(", "));

    let eku = line_after("X509v3 Extended Key Usage");
    let expected_eku: Vec<&str> = [
        ("TLS Web Server Authentication", "serverAuth"),
        ("TLS Web Client Authentication", "clientAuth"),
    ]
    .iter()
    .filter(|(long, _)| eku.contains(long))
    .map(|(_, short)| *short)
    .collect();
    assert_eq!(ours["Extended key usage"], expected_eku.join(", "));

    let cdp: Vec<String> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("URI:").map(str::to_owned))
        .collect();
    let ours_cdp = &ours["CRL distribution"];
    if cdp.is_empty() {
        assert_eq!(ours_cdp, "(none)");
    } else {
        assert_eq!(ours_cdp, &cdp.join(", "));
    }

    let dates = openssl_text(&["x509", "-noout", "-dates"], leaf);
    for (field, ours_field) in [("notBefore=", "Not before"), ("notAfter=", "Not after")] {
        let value = dates
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .expect("openssl date");
        assert_eq!(ours[ours_field], openssl_date(value), "{field}");
    }

    let bits = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Public-Key: ("))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("openssl key size");
    assert!(
        ours["Public key"].ends_with(bits) || ours["Public key"].contains(&format!("{bits} ")),
        "key: ours {:?}, openssl {bits} bit",
        ours["Public key"]
    );
    let openssl_rsa = text.contains("Public Key Algorithm: rsaEncryption");
    assert_eq!(ours["Public key"].starts_with("RSA"), openssl_rsa);

    let algorithm = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Signature Algorithm: "))
        .expect("openssl signature algorithm");
    assert_eq!(
        normalise_algorithm(&ours["Signature algorithm"]),
        normalise_algorithm(algorithm)
    );
}

#[test]
fn no_server_eku_fails_every_case_that_connects_to_the_edge() {
    check_fault(120, "no-server-eku");
    let run = run_suite(
        120,
        &[
            "--sut-fault",
            "no-server-eku",
            "--exact",
            "edge.tls.server-cert",
        ],
    );
    let (_, reason) = &run.verdicts()["edge.tls.server-cert"];
    assert!(reason.contains("lacks serverAuth"), "{reason}");
}

#[test]
fn subject_cn_mismatch_fails_the_subject_case_and_openssl_reads_the_certificate_as_we_do() {
    check_fault(121, "subject-cn-mismatch");
    let run = run_suite(121, &["--exact", "edge.cert.subject-name"]);
    let case = run
        .report_path()
        .join("cases")
        .join("edge.cert.subject-name");
    let scratch = tempfile::tempdir().expect("tempdir");
    assert_openssl_agrees(
        &case.join("sut-server-chain.pem"),
        &case.join("sut-server-chain.txt"),
        scratch.path(),
    );
}

#[test]
fn expired_cert_fails_the_validity_case_and_every_connection() {
    check_fault(122, "expired-cert");
    let run = run_suite(
        122,
        &[
            "--sut-fault",
            "expired-cert",
            "--exact",
            "edge.cert.validity",
        ],
    );
    let (_, reason) = &run.verdicts()["edge.cert.validity"];
    assert!(reason.contains("expired on"), "{reason}");
}

#[test]
fn private_ca_cert_fails_the_trust_case() {
    check_fault(123, "private-ca-cert");
}

#[test]
fn pss_signature_fails_the_signature_case_and_openssl_verifies_the_pss_chain() {
    check_fault(124, "pss-signature");
    let run = run_suite(
        124,
        &[
            "--sut-fault",
            "pss-signature",
            "--exact",
            "edge.cert.signature-algorithm",
        ],
    );
    let case = run
        .report_path()
        .join("cases")
        .join("edge.cert.signature-algorithm");
    let scratch = tempfile::tempdir().expect("tempdir");
    let chain = case.join("sut-server-chain.pem");
    let parts = split_chain(&chain, scratch.path());
    assert_eq!(parts.len(), 3, "leaf, RSA intermediate, root");
    let verify = openssl()
        .arg("verify")
        .arg("-CAfile")
        .arg(&parts[2])
        .arg("-untrusted")
        .arg(&parts[1])
        .arg(&parts[0])
        .output()
        .expect("openssl verify runs");
    assert!(
        verify.status.success(),
        "openssl rejects the PSS chain: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let text = openssl_text(&["x509", "-noout", "-text"], &parts[0]);
    assert!(text.contains("rsassaPss"), "{text}");
    assert_openssl_agrees(&chain, &case.join("sut-server-chain.txt"), scratch.path());
}

#[test]
fn no_cdp_and_different_outbound_cert_fail_their_cases() {
    // Two faults share net 125 (the reserved block has ten nets); the runs
    // are sequential.
    check_fault(125, "no-cdp");
    check_fault(125, "different-outbound-cert");
}

#[test]
fn tls13_only_and_weak_key_fail_their_cases() {
    // Two faults share net 126; the runs are sequential.
    check_fault(126, "tls13-only");
    check_fault(126, "weak-key");
    let run = run_suite(
        126,
        &["--sut-fault", "weak-key", "--exact", "edge.cert.key-size"],
    );
    let (_, reason) = &run.verdicts()["edge.cert.key-size"];
    assert!(reason.contains("RSA 512"), "{reason}");
}

#[test]
fn accept_no_client_cert_and_san_mismatch_fail_their_cases() {
    // Two faults share net 127; the runs are sequential.
    check_fault(127, "accept-no-client-cert");
    check_fault(127, "san-mismatch");
    let run = run_suite(
        127,
        &[
            "--sut-fault",
            "san-mismatch",
            "--exact",
            "edge.cert.subject-name",
        ],
    );
    let (_, reason) = &run.verdicts()["edge.cert.subject-name"];
    assert!(reason.contains("not in the SAN"), "{reason}");
}

#[test]
fn accept_any_client_cert_fails_the_bad_certificate_cases_and_good_verdicts_say_how_the_edge_refused()
 {
    check_fault(128, "accept-any-client-cert");
    let run = run_suite(128, &["tls."]);
    let verdicts = run.verdicts();
    for (id, how) in [
        (
            "messenger.tls.peer-without-certificate",
            "TLS alert certificate_required",
        ),
        ("messenger.tls.untrusted-peer", "TLS alert unknown_ca"),
        ("yahoo.tls.expired-peer", "TLS alert certificate_expired"),
        ("yahoo.tls.not-yet-valid-peer", "TLS alert"),
        ("aol.tls.peer-without-client-eku", "TLS alert"),
        ("messenger.tls.wrong-name-peer", "SIP 403"),
        ("edge.tls.versions", "TLS 1.2 accepted"),
        (
            "messenger.tls.client-cert-properties",
            "the same certificate as on 5061",
        ),
    ] {
        let (verdict, reason) = &verdicts[id];
        assert_eq!(verdict, "pass", "{id}: {reason}");
        assert!(reason.contains(how), "{id}: {reason}");
    }
    // The refusal is in the case's trace: the Edge's unknown_ca alert (48),
    // decrypted by tshark with the key log the trace carries.
    let trace = run
        .report_path()
        .join("cases/messenger.tls.untrusted-peer/trace.pcapng");
    let output = Command::new("tshark")
        .arg("-r")
        .arg(&trace)
        .args([
            "-Y",
            "tls.alert_message",
            "-T",
            "fields",
            "-e",
            "ip.src",
            "-e",
            "tls.alert_message.desc",
        ])
        .output()
        .expect("tshark runs (scripts/test-all.sh installs it)");
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    let edge = format!("127.{}.0.10", crate::support::test_net(128));
    assert!(
        text.lines().any(|l| l == format!("{edge}\t48")),
        "no unknown_ca alert from {edge} in the trace:\n{text}"
    );
}

#[test]
fn accept_any_peer_name_and_accept_untrusted_peer_fail_their_cases() {
    // Two faults share net 129; the runs are sequential.
    check_fault(129, "accept-any-peer-name");
    check_fault(129, "accept-untrusted-peer");
}

#[test]
fn pki_init_writes_private_keys_and_certificates_openssl_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("pki");
    let output = binary()
        .args(["pki", "init", "--out"])
        .arg(&out)
        .output()
        .expect("pki init runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let notes = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "ca/root.pem",
        "sip.oscar.aol.com",
        "federation.messenger.msn.com",
        "sip.yahoo.com",
    ] {
        assert!(
            notes.contains(expected),
            "{expected} missing from:\n{notes}"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for key in [
            "ca/root.key",
            "edge/access-edge.key",
            "peers/aol/peer.key",
            "peers/aol/bad/expired.key",
        ] {
            let mode = std::fs::metadata(out.join(key))
                .expect(key)
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{key} is readable by others: {mode:o}");
        }
    }
    let root = out.join("ca/root.pem");
    let verify = |cert: &str| {
        openssl()
            .arg("verify")
            .arg("-CAfile")
            .arg(&root)
            .arg(out.join(cert))
            .output()
            .expect("openssl verify runs")
    };
    // The legacy peers differ in key size or digest only, so OpenSSL
    // verifies them against the root like the good ones (this also checks
    // the ecdsa-with-SHA1 signature, made outside rcgen).
    for good in [
        "edge/access-edge.pem",
        "peers/messenger/peer.pem",
        "peers/aol/bad/wrong-name.pem",
        "peers/aol/impostor/wrong-name.pem",
        "peers/aol/impostor/no-server-auth-eku.pem",
        "peers/aol/bad/rsa-1024.pem",
        "peers/aol/bad/sha1-signature.pem",
    ] {
        let result = verify(good);
        assert!(
            result.status.success(),
            "{good}: {}",
            String::from_utf8_lossy(&result.stdout)
        );
    }
    for (bad, why) in [
        ("peers/yahoo/bad/expired.pem", "expired"),
        ("peers/yahoo/bad/not-yet-valid.pem", "not yet valid"),
        ("peers/yahoo/impostor/expired.pem", "expired"),
        ("peers/yahoo/impostor/not-yet-valid.pem", "not yet valid"),
        (
            "peers/yahoo/impostor/untrusted-issuer.pem",
            "unable to get local issuer",
        ),
        (
            "peers/yahoo/bad/untrusted-issuer.pem",
            "unable to get local issuer",
        ),
    ] {
        let result = verify(bad);
        let text = String::from_utf8_lossy(&result.stdout).into_owned()
            + &String::from_utf8_lossy(&result.stderr);
        assert!(
            !result.status.success() && text.contains(why),
            "{bad}: {text}"
        );
    }
    let eku = openssl_text(
        &["x509", "-noout", "-ext", "extendedKeyUsage"],
        &out.join("peers/aol/bad/no-client-auth-eku.pem"),
    );
    assert!(
        eku.contains("Server Authentication") && !eku.contains("Client Authentication"),
        "{eku}"
    );
    let eku = openssl_text(
        &["x509", "-noout", "-ext", "extendedKeyUsage"],
        &out.join("peers/aol/impostor/no-server-auth-eku.pem"),
    );
    assert!(
        eku.contains("Client Authentication") && !eku.contains("Server Authentication"),
        "{eku}"
    );
    let rsa_1024 = openssl_text(
        &["x509", "-noout", "-text"],
        &out.join("peers/aol/bad/rsa-1024.pem"),
    );
    assert!(rsa_1024.contains("Public-Key: (1024 bit)"), "{rsa_1024}");
    let sha1 = openssl_text(
        &["x509", "-noout", "-text"],
        &out.join("peers/aol/bad/sha1-signature.pem"),
    );
    assert!(
        sha1.contains("Signature Algorithm: ecdsa-with-SHA1"),
        "{sha1}"
    );
    // The RSA 1024 key written beside it is the certificate's.
    let modulus_of = |args: &[&str], file: &str| openssl_text(args, &out.join(file));
    assert_eq!(
        modulus_of(
            &["x509", "-noout", "-modulus"],
            "peers/aol/bad/rsa-1024.pem"
        ),
        modulus_of(&["rsa", "-noout", "-modulus"], "peers/aol/bad/rsa-1024.key")
    );
    // A second run into the same directory refuses to overwrite anything.
    let again = binary()
        .args(["pki", "init", "--out"])
        .arg(&out)
        .output()
        .expect("runs");
    assert_eq!(again.status.code(), Some(2));
}

#[test]
fn reject_legacy_peer_cert_fails_the_rsa_1024_and_sha1_peer_cases() {
    check_fault(160, "reject-legacy-peer-cert");
}

#[test]
fn san_missing_sip_domain_fails_the_sip_domains_case() {
    check_fault(161, "san-missing-sip-domain");
}

#[test]
fn pool_member_different_cert_fails_the_pool_members_case() {
    check_fault(162, "pool-member-different-cert");
}

/// The legacy peer's trace holds its whole exchange: the handshake in which
/// it signs CertificateVerify with its RSA 1024 key (RSA-PSS SHA-256,
/// 0x0804), the MESSAGE, the copy the Edge forwards to the pool and the 200
/// coming back; the certificate it presented is kept beside the trace.
#[test]
fn rsa_1024_peer_trace_shows_its_handshake_and_the_delivered_message() {
    let run = run_suite(163, &["--exact", "yahoo.tls.peer-rsa-1024"]);
    assert_eq!(run.code(), Some(0), "{}", run.stdout());
    let case = run.report_path().join("cases/yahoo.tls.peer-rsa-1024");
    let dump = std::fs::read_to_string(case.join("yahoo-rsa-1024-chain.txt")).expect("chain dump");
    assert!(dump.contains("Public key:          RSA 1024"), "{dump}");
    let tshark = |filter: &str, fields: &[&str]| {
        let mut command = Command::new("tshark");
        command
            .arg("-r")
            .arg(case.join("trace.pcapng"))
            .args(["-Y", filter, "-T", "fields"]);
        for field in fields {
            command.args(["-e", field]);
        }
        let output = command.output().expect("tshark runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    let sip = tshark(
        "sip.Call-ID contains \"legacy\"",
        &["ip.src", "sip.Method", "sip.Status-Code"],
    );
    let rows: Vec<Vec<&str>> = sip
        .lines()
        .map(|l| l.split('\t').filter(|f| !f.is_empty()).collect())
        .collect();
    let what: Vec<&str> = rows.iter().filter_map(|r| r.get(1).copied()).collect();
    assert_eq!(what, ["MESSAGE", "MESSAGE", "200", "200"], "{sip}");
    let peer = rows.first().and_then(|r| r.first()).expect("peer address");
    // The peer's own CertificateVerify, signed with its 1024-bit key.
    let verify = tshark(
        &format!("ip.src == {peer} && tls.handshake.type == 15"),
        &["tls.handshake.sig_hash_alg"],
    );
    assert_eq!(verify.trim(), "0x0804", "{verify}");
}
