//! Loopback tests of the TLS helpers with the test PKI.

use super::*;
use crate::pki::{KeyKind, LeafSpec, TestPki};
use picharness_reports::Direction;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const T: Duration = Duration::from_secs(10);
const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn leaf(pki: &TestPki, name: &str, server_auth: bool, client_auth: bool) -> Arc<CertifiedKey> {
    Arc::new(
        pki.issue(&LeafSpec {
            common_name: name.into(),
            dns_names: vec![name.into()],
            server_auth,
            client_auth,
            key: KeyKind::EcdsaP256,
            crl_distribution_point: None,
        })
        .expect("issue"),
    )
}

struct Side {
    key_log: Arc<KeyLogCollector>,
    chains: ChainRecorder,
}

impl Side {
    fn new() -> Self {
        Self {
            key_log: KeyLogCollector::shared(),
            chains: ChainRecorder::new(),
        }
    }
}

struct ServerOutcome {
    result: Result<Vec<u8>, TlsError>,
    record: ConnectionRecord,
}

/// Accepts one connection; on success reads "ping\n" and answers "pong\n".
async fn serve_once(listener: TcpListener, config: Arc<ServerConfig>) -> ServerOutcome {
    let (tcp, _) = listener.accept().await.expect("accept");
    let acceptor = TlsAcceptor::from(config);
    match accept_tls(tcp, &acceptor, T).await {
        Ok((mut tls, record)) => {
            let mut buf = [0u8; 5];
            let result = match tls.read_exact(&mut buf).await {
                Ok(_) => {
                    tls.write_all(b"pong\n").await.expect("write");
                    tls.shutdown().await.expect("shutdown");
                    Ok(buf.to_vec())
                }
                Err(e) => Err(TlsError::Io(e)),
            };
            ServerOutcome { result, record }
        }
        Err((e, record)) => ServerOutcome {
            result: Err(e),
            record,
        },
    }
}

async fn listener() -> (TcpListener, SocketAddr) {
    let l = TcpListener::bind((LOCALHOST, 0)).await.expect("bind");
    let a = l.local_addr().expect("addr");
    (l, a)
}

fn server_cfg(
    pki: &TestPki,
    identity: Arc<CertifiedKey>,
    mode: ClientAuthMode,
    side: &Side,
) -> Arc<ServerConfig> {
    server_config(ServerTlsOptions {
        identity,
        client_roots: pki.root_store(),
        client_auth: mode,
        key_log: side.key_log.clone(),
        chains: side.chains.clone(),
        peer_signatures: crate::tls::PeerSignatures::Modern,
    })
    .expect("server config")
}

fn client_cfg(
    pki: &TestPki,
    identity: Option<Arc<CertifiedKey>>,
    side: &Side,
) -> Arc<ClientConfig> {
    client_config(ClientTlsOptions {
        identity,
        server_roots: pki.root_store(),
        key_log: side.key_log.clone(),
        chains: side.chains.clone(),
    })
    .expect("client config")
}

/// Runs one client exchange; returns what the client read or the read error.
async fn ping(
    addr: SocketAddr,
    name: &str,
    config: Arc<ClientConfig>,
) -> (Result<Vec<u8>, io::Error>, ConnectionRecord) {
    let (mut tls, record) = connect_tls(Some(LOCALHOST), addr, name, config, T)
        .await
        .expect("connect_tls (TLS 1.3 client handshake completes even if the server rejects us)");
    if let Err(e) = tls.write_all(b"ping\n").await {
        return (Err(e), record);
    }
    let mut out = Vec::new();
    let r = tls.read_to_end(&mut out).await.map(|_| out);
    (r, record)
}

fn key_log_is_nss(bytes: &[u8]) {
    let text = String::from_utf8(bytes.to_vec()).expect("utf8");
    assert!(!text.is_empty());
    assert!(text.ends_with('\n'));
    let mut labels = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        assert_eq!(parts.len(), 3, "{line}");
        assert_eq!(parts[1].len(), 64, "client random is 32 bytes: {line}");
        assert!(parts[1].chars().all(|c| c.is_ascii_hexdigit()));
        assert!(parts[2].len() >= 64 && parts[2].chars().all(|c| c.is_ascii_hexdigit()));
        labels.push(parts[0].to_owned());
    }
    for l in [
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
    ] {
        assert!(labels.iter().any(|x| x == l), "missing {l} in {labels:?}");
    }
}

#[tokio::test]
async fn mutual_tls_round_trip_records_ciphertext_and_keys() {
    let pki = TestPki::generate("mtls").expect("pki");
    let server_id = leaf(&pki, "edge.contoso.test", true, true);
    let client_id = leaf(&pki, "sip.fabrikam.test", true, true);
    let (ss, cs) = (Side::new(), Side::new());
    let scfg = server_cfg(
        &pki,
        server_id.clone(),
        ClientAuthMode::Required {
            require_client_auth_eku: true,
        },
        &ss,
    );
    let ccfg = client_cfg(&pki, Some(client_id.clone()), &cs);
    let (l, addr) = listener().await;
    let server = tokio::spawn(serve_once(l, scfg));

    let (read, crec) = ping(addr, "edge.contoso.test", ccfg).await;
    assert_eq!(read.expect("client read"), b"pong\n");
    let so = server.await.expect("join");
    assert_eq!(so.result.expect("server"), b"ping\n");

    // Key logs on both sides, NSS format, TLS 1.3 labels.
    key_log_is_nss(&cs.key_log.snapshot());
    key_log_is_nss(&ss.key_log.snapshot());
    assert!(cs.key_log.line_count() >= 4);

    // Both records saw both directions, agree with each other, and hold ciphertext.
    let c = crec.snapshot();
    let s = so.record.snapshot();
    assert_eq!(c.server, addr);
    assert_eq!(c.client.ip(), LOCALHOST);
    assert_eq!((c.client, c.server), (s.client, s.server));
    for d in [Direction::ClientToServer, Direction::ServerToClient] {
        assert!(c.segments.iter().any(|seg| seg.direction == d), "{d:?}");
        assert_eq!(crec.bytes(d), so.record.bytes(d), "{d:?}");
    }
    let first = &c.segments[0];
    assert_eq!(first.direction, Direction::ClientToServer);
    assert_eq!(first.bytes[0], 0x16, "a TLS handshake record comes first");
    let all: Vec<u8> = c.segments.iter().flat_map(|s| s.bytes.clone()).collect();
    assert!(!all.windows(5).any(|w| w == b"ping\n" || w == b"pong\n"));
    assert!(c.segments.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(so.record.is_closed());
    assert!(s.opened_at <= s.segments[0].at);

    // Each side recorded the peer chain as accepted.
    let sc = ss.chains.last_record().expect("server saw client chain");
    assert!(sc.accepted, "{sc:?}");
    assert_eq!(sc.chain[0], client_id.chain[0]);
    let cc = cs.chains.all();
    assert_eq!(cc.len(), 1);
    assert!(cc[0].accepted);
    assert_eq!(cc[0].chain, server_id.chain);
    assert_eq!(cs.chains.last(), Some(server_id.chain.clone()));
}

/// Server requires a client cert; returns (client read result, server outcome, server chains).
async fn run_eku_case(
    server_auth: bool,
    client_auth: bool,
    require_client_auth_eku: bool,
) -> (
    Result<Vec<u8>, io::Error>,
    ServerOutcome,
    Side,
    Arc<CertifiedKey>,
) {
    let pki = TestPki::generate("eku-case").expect("pki");
    let server_id = leaf(&pki, "edge.contoso.test", true, true);
    let client_id = leaf(&pki, "sip.fabrikam.test", server_auth, client_auth);
    let (ss, cs) = (Side::new(), Side::new());
    let scfg = server_cfg(
        &pki,
        server_id,
        ClientAuthMode::Required {
            require_client_auth_eku,
        },
        &ss,
    );
    let ccfg = client_cfg(&pki, Some(client_id.clone()), &cs);
    let (l, addr) = listener().await;
    let server = tokio::spawn(serve_once(l, scfg));
    let (read, _) = ping(addr, "edge.contoso.test", ccfg).await;
    let so = server.await.expect("join");
    (read, so, ss, client_id)
}

fn assert_rejected_on_first_read(
    read: Result<Vec<u8>, io::Error>,
    so: &ServerOutcome,
    ss: &Side,
    client_id: &CertifiedKey,
) {
    let err = read.expect_err("the client must see the rejection on first read");
    assert_eq!(
        alert_of(&err),
        Some(rustls::AlertDescription::UnsupportedCertificate),
        "{err}"
    );
    match &so.result {
        Err(TlsError::Handshake { tls_error, .. }) => assert!(
            matches!(
                tls_error,
                Some(rustls::Error::InvalidCertificate(
                    CertificateError::InvalidPurpose
                        | CertificateError::InvalidPurposeContext { .. }
                ))
            ),
            "{tls_error:?}"
        ),
        other => panic!(
            "server should fail the handshake, got {:?}",
            other.as_ref().err()
        ),
    }
    let rec = ss.chains.last_record().expect("rejected chain is recorded");
    assert!(!rec.accepted);
    assert!(rec.error.is_some());
    assert_eq!(rec.chain[0], client_id.chain[0]);
    // The failed handshake's bytes are still in the record.
    assert!(so.record.bytes(Direction::ClientToServer) > 0);
    assert!(so.record.bytes(Direction::ServerToClient) > 0);
}

#[tokio::test]
async fn server_auth_only_client_cert_rejected_when_eku_required() {
    let (read, so, ss, id) = run_eku_case(true, false, true).await;
    assert_rejected_on_first_read(read, &so, &ss, &id);
}

#[tokio::test]
async fn server_auth_only_client_cert_accepted_when_eku_not_required() {
    let (read, so, ss, _) = run_eku_case(true, false, false).await;
    assert_eq!(read.expect("read"), b"pong\n");
    assert_eq!(so.result.expect("server"), b"ping\n");
    assert!(ss.chains.last_record().expect("chain").accepted);
}

#[tokio::test]
async fn client_cert_without_eku_extension_rejected_when_eku_required() {
    let (read, so, ss, id) = run_eku_case(false, false, true).await;
    assert_rejected_on_first_read(read, &so, &ss, &id);
}

#[tokio::test]
async fn client_cert_without_eku_extension_accepted_when_eku_not_required() {
    let (read, so, _, _) = run_eku_case(false, false, false).await;
    assert_eq!(read.expect("read"), b"pong\n");
    assert_eq!(so.result.expect("server"), b"ping\n");
}

#[tokio::test]
async fn untrusted_client_cert_with_wrong_eku_is_still_rejected() {
    // webpki reports the EKU before it looks for an issuer; the EKU leniency
    // must not let an unknown CA in.
    let pki = TestPki::generate("trusted").expect("pki");
    let rogue = TestPki::generate("rogue").expect("pki");
    let server_id = leaf(&pki, "edge.contoso.test", true, true);
    let client_id = leaf(&rogue, "sip.fabrikam.test", true, false);
    let (ss, cs) = (Side::new(), Side::new());
    let scfg = server_cfg(
        &pki,
        server_id,
        ClientAuthMode::Required {
            require_client_auth_eku: false,
        },
        &ss,
    );
    let ccfg = client_cfg(&pki, Some(client_id), &cs);
    let (l, addr) = listener().await;
    let server = tokio::spawn(serve_once(l, scfg));
    let (read, _) = ping(addr, "edge.contoso.test", ccfg).await;
    let err = read.expect_err("rejected");
    assert_eq!(
        alert_of(&err),
        Some(rustls::AlertDescription::UnknownCA),
        "{err}"
    );
    let so = server.await.expect("join");
    assert!(matches!(
        so.result,
        Err(TlsError::Handshake {
            tls_error: Some(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer
            )),
            ..
        })
    ));
    assert!(!ss.chains.last_record().expect("chain").accepted);
}

#[tokio::test]
async fn optional_client_auth_lets_anonymous_clients_in() {
    let pki = TestPki::generate("optional").expect("pki");
    let (ss, cs) = (Side::new(), Side::new());
    let scfg = server_cfg(
        &pki,
        leaf(&pki, "edge.contoso.test", true, false),
        ClientAuthMode::Optional,
        &ss,
    );
    let ccfg = client_cfg(&pki, None, &cs);
    let (l, addr) = listener().await;
    let server = tokio::spawn(serve_once(l, scfg));
    let (read, _) = ping(addr, "edge.contoso.test", ccfg).await;
    assert_eq!(read.expect("read"), b"pong\n");
    assert!(server.await.expect("join").result.is_ok());
    assert!(ss.chains.all().is_empty());
}

#[tokio::test]
async fn wrong_server_name_fails_connect_and_records_chain() {
    let pki = TestPki::generate("name").expect("pki");
    let (ss, cs) = (Side::new(), Side::new());
    let server_id = leaf(&pki, "edge.contoso.test", true, true);
    let scfg = server_cfg(&pki, server_id.clone(), ClientAuthMode::None, &ss);
    let ccfg = client_cfg(&pki, None, &cs);
    let (l, addr) = listener().await;
    let server = tokio::spawn(serve_once(l, scfg));
    let (err, rec) = connect_tls_recorded(None, addr, "other.contoso.test", ccfg, T)
        .await
        .expect_err("name mismatch");
    assert!(
        matches!(
            &err,
            TlsError::Handshake {
                tls_error: Some(rustls::Error::InvalidCertificate(
                    CertificateError::NotValidForName
                        | CertificateError::NotValidForNameContext { .. }
                )),
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("TLS handshake with"), "{err}");
    let rec = rec.expect("record");
    assert!(rec.bytes(Direction::ServerToClient) > 0);
    let chain = cs.chains.last_record().expect("chain");
    assert!(!chain.accepted);
    assert_eq!(chain.chain, server_id.chain);
    let so = server.await.expect("join");
    assert!(so.result.is_err());
}

#[tokio::test]
async fn connect_refused_and_timeout_are_distinct_errors() {
    let pki = TestPki::generate("errors").expect("pki");
    let cs = Side::new();
    let ccfg = client_cfg(&pki, None, &cs);

    let (l, addr) = listener().await;
    drop(l);
    let err = connect_tls(None, addr, "x.test", ccfg.clone(), T)
        .await
        .expect_err("refused");
    assert!(matches!(err, TlsError::ConnectRefused { .. }), "{err}");
    assert!(err.to_string().contains("refused"));

    // A listener that accepts but never speaks TLS.
    let (l, addr) = listener().await;
    let hold = tokio::spawn(async move {
        let (s, _) = l.accept().await.expect("accept");
        tokio::time::sleep(Duration::from_secs(5)).await;
        drop(s);
    });
    let err = connect_tls(
        None,
        addr,
        "x.test",
        ccfg.clone(),
        Duration::from_millis(300),
    )
    .await
    .expect_err("timeout");
    assert!(
        matches!(
            err,
            TlsError::Timeout {
                stage: "TLS handshake",
                ..
            }
        ),
        "{err}"
    );
    hold.abort();

    let err = connect_tls(None, addr, "not a name!", ccfg, T)
        .await
        .expect_err("bad name");
    assert!(matches!(err, TlsError::InvalidServerName(_)));
}

#[test]
fn config_without_roots_is_an_error() {
    let pki = TestPki::generate("noroots").expect("pki");
    let err = server_config(ServerTlsOptions {
        identity: leaf(&pki, "a.test", true, true),
        client_roots: RootCertStore::empty(),
        client_auth: ClientAuthMode::Optional,
        key_log: KeyLogCollector::shared(),
        chains: ChainRecorder::new(),
        peer_signatures: crate::tls::PeerSignatures::Modern,
    })
    .expect_err("no roots");
    assert!(matches!(err, TlsError::Config(_)));
    let err = client_config(ClientTlsOptions {
        identity: None,
        server_roots: RootCertStore::empty(),
        key_log: KeyLogCollector::shared(),
        chains: ChainRecorder::new(),
    })
    .expect_err("no roots");
    assert!(matches!(err, TlsError::Config(_)));
}

#[test]
fn describe_and_pem_dump() {
    let pki = TestPki::generate("describe").expect("pki");
    let ck = pki
        .issue(&LeafSpec {
            common_name: "sip.contoso.test".into(),
            dns_names: vec!["sip.contoso.test".into(), "192.0.2.7".into()],
            server_auth: true,
            client_auth: false,
            key: KeyKind::Rsa2048,
            crl_distribution_point: Some("http://pki.contoso.test/crl".into()),
        })
        .expect("issue");
    let s = describe_certificate(&ck.chain[0]).expect("describe");
    assert_eq!(s.dns_names, vec!["sip.contoso.test", "192.0.2.7"]);
    assert_eq!(s.signature_algorithm, "ecdsa-with-SHA256");
    assert_eq!(s.key, "RSA 2048");
    assert!(
        s.not_before.ends_with('Z') && s.not_before.len() == 20,
        "{}",
        s.not_before
    );
    assert_eq!(s.subject, "CN=sip.contoso.test");
    let text = s.to_text();
    assert!(text.contains("Extended key usage:  serverAuth\n"), "{text}");
    assert!(text.contains("http://pki.contoso.test/crl"), "{text}");
    assert!(text.contains("RSA 2048"));

    let pem = chain_to_pem(&ck.chain);
    assert_eq!(
        pem,
        format!("{}{}", ck.cert_pem, pki.ca_pem()).replace("\r\n", "\n")
    );
}

#[test]
fn install_crypto_provider_is_idempotent() {
    install_crypto_provider();
    install_crypto_provider();
    assert!(rustls::crypto::CryptoProvider::get_default().is_some());
}

/// Whether a server in `mode` lets `client` (None = no certificate) in.
async fn admitted(
    pki: &TestPki,
    mode: ClientAuthMode,
    client: Option<Arc<CertifiedKey>>,
) -> (bool, ChainRecorder) {
    let server_id = leaf(pki, "edge.contoso.test", true, true);
    let (ss, cs) = (Side::new(), Side::new());
    let (l, addr) = listener().await;
    let server = tokio::spawn(serve_once(l, server_cfg(pki, server_id, mode, &ss)));
    let (client_result, _) = ping(addr, "edge.contoso.test", client_cfg(pki, client, &cs)).await;
    let outcome = server.await.expect("server task");
    let ok = outcome.result.is_ok();
    assert_eq!(ok, client_result.is_ok(), "both ends agree");
    (ok, ss.chains)
}

#[tokio::test]
async fn any_certificate_mode_admits_untrusted_and_records_it_but_not_the_certless() {
    let pki = TestPki::generate("any").expect("pki");
    let stranger = TestPki::generate("stranger").expect("pki");
    let untrusted = leaf(&stranger, "sip.fabrikam.test", true, false);
    let (ok, chains) = admitted(
        &pki,
        ClientAuthMode::AnyCertificate,
        Some(untrusted.clone()),
    )
    .await;
    assert!(ok, "any certificate is let in");
    assert_eq!(
        chains.last_record().expect("recorded").chain[0],
        untrusted.chain[0]
    );
    let (ok, _) = admitted(&pki, ClientAuthMode::AnyCertificate, None).await;
    assert!(!ok, "a certificate is still required");
    // The normal strict mode refuses the stranger.
    let strict = ClientAuthMode::Required {
        require_client_auth_eku: true,
    };
    let (ok, _) = admitted(&pki, strict, Some(untrusted)).await;
    assert!(!ok);
}

#[tokio::test]
async fn optional_requiring_eku_admits_the_certless_but_not_a_serverauth_only_peer() {
    let pki = TestPki::generate("opt").expect("pki");
    let mode = ClientAuthMode::OptionalRequiringClientAuthEku;
    let (ok, _) = admitted(&pki, mode, None).await;
    assert!(ok, "no certificate is let in");
    let (ok, _) = admitted(&pki, mode, Some(leaf(&pki, "a.test", true, false))).await;
    assert!(!ok, "serverAuth-only is refused");
    let (ok, _) = admitted(&pki, mode, Some(leaf(&pki, "b.test", true, true))).await;
    assert!(ok, "clientAuth is let in");
}

#[tokio::test]
async fn version_restricted_configs_meet_only_their_own_version() {
    let pki = TestPki::generate("versions").expect("pki");
    let server_id = leaf(&pki, "edge.contoso.test", true, true);
    let client_id = leaf(&pki, "sip.fabrikam.test", true, true);
    for (server_versions, client_versions, expect_ok) in [
        (TlsVersions::Tls13Only, TlsVersions::Tls12Only, false),
        (TlsVersions::Tls13Only, TlsVersions::Tls13Only, true),
        (TlsVersions::Tls12And13, TlsVersions::Tls12Only, true),
        (TlsVersions::Tls12Only, TlsVersions::Tls13Only, false),
    ] {
        let ss = Side::new();
        let server = server_config_with_versions(
            ServerTlsOptions {
                identity: server_id.clone(),
                client_roots: pki.root_store(),
                client_auth: ClientAuthMode::Required {
                    require_client_auth_eku: true,
                },
                key_log: ss.key_log.clone(),
                chains: ss.chains.clone(),
                peer_signatures: crate::tls::PeerSignatures::Modern,
            },
            server_versions,
        )
        .expect("server config");
        let probe_chains = ChainRecorder::new();
        let client = probe_client_config(
            Some(client_id.clone()),
            client_versions,
            KeyLogCollector::shared(),
            probe_chains.clone(),
        )
        .expect("probe config");
        let (l, addr) = listener().await;
        let accept = tokio::spawn(async move {
            let (tcp, _) = l.accept().await.expect("accept");
            accept_tls(tcp, &TlsAcceptor::from(server), T).await.is_ok()
        });
        let connected = connect_tls(Some(LOCALHOST), addr, "edge.contoso.test", client, T).await;
        let accepted = accept.await.expect("task");
        assert_eq!(
            (connected.is_ok(), accepted),
            (expect_ok, expect_ok),
            "{server_versions:?} vs {client_versions:?}"
        );
        if let Err(TlsError::Handshake { tls_error, .. }) = connected {
            assert!(
                matches!(
                    tls_error,
                    Some(rustls::Error::AlertReceived(
                        rustls::AlertDescription::ProtocolVersion
                    ))
                ),
                "{tls_error:?}"
            );
        }
        if expect_ok {
            assert!(
                probe_chains.last_record().is_some(),
                "the probe records the server chain"
            );
        }
    }
}

#[tokio::test]
async fn probe_accepts_a_server_certificate_a_normal_client_refuses() {
    let pki = TestPki::generate("probe").expect("pki");
    let stranger = TestPki::generate("stranger").expect("pki");
    let server_id = leaf(&stranger, "edge.contoso.test", true, false);
    let ss = Side::new();
    let (l, addr) = listener().await;
    let server = tokio::spawn(serve_once(
        l,
        server_cfg(&pki, server_id.clone(), ClientAuthMode::None, &ss),
    ));
    let chains = ChainRecorder::new();
    let probe = probe_client_config(
        None,
        TlsVersions::Tls12And13,
        KeyLogCollector::shared(),
        chains.clone(),
    )
    .expect("probe");
    let (read, _) = ping(addr, "edge.contoso.test", probe).await;
    assert_eq!(read.expect("probe talks to an untrusted server"), b"pong\n");
    assert!(server.await.expect("task").result.is_ok());
    let recorded = chains.last_record().expect("recorded");
    assert!(recorded.accepted);
    assert_eq!(recorded.chain[0], server_id.chain[0]);
}

#[tokio::test]
async fn lync2013_signatures_admit_rsa_1024_and_sha1_peers_that_modern_refuses() {
    let pki = TestPki::generate("legacy-peers").expect("pki");
    let server_id = leaf(&pki, "edge.contoso.test", true, true);
    let spec = crate::pki::LeafSpec::federation("sip.yahoo.com", &["sip.yahoo.com"]);
    let peers = [
        (
            "RSA 1024",
            Arc::new(pki.issue_with_rsa_1024_key(&spec).expect("issue")),
        ),
        (
            "SHA-1",
            Arc::new(pki.issue_sha1_signed(&spec).expect("issue")),
        ),
    ];
    for (what, peer) in &peers {
        for versions in [TlsVersions::Tls12Only, TlsVersions::Tls13Only] {
            for (signatures, expect_ok) in [
                (crate::tls::PeerSignatures::Modern, false),
                (crate::tls::PeerSignatures::Lync2013, true),
            ] {
                let ss = Side::new();
                let server = server_config_with_versions(
                    ServerTlsOptions {
                        identity: server_id.clone(),
                        client_roots: pki.root_store(),
                        client_auth: ClientAuthMode::Required {
                            require_client_auth_eku: true,
                        },
                        key_log: ss.key_log.clone(),
                        chains: ss.chains.clone(),
                        peer_signatures: signatures,
                    },
                    TlsVersions::Tls12And13,
                )
                .expect("server config");
                let client = probe_client_config(
                    Some(peer.clone()),
                    versions,
                    KeyLogCollector::shared(),
                    ChainRecorder::new(),
                )
                .expect("probe config");
                let (l, addr) = listener().await;
                let accept = tokio::spawn(async move {
                    let (tcp, _) = l.accept().await.expect("accept");
                    accept_tls(tcp, &TlsAcceptor::from(server), T)
                        .await
                        .map(|_| ())
                        .map_err(|(e, _)| e.to_string())
                });
                let _client =
                    connect_tls(Some(LOCALHOST), addr, "edge.contoso.test", client, T).await;
                let accepted = accept.await.expect("task");
                assert_eq!(
                    accepted.is_ok(),
                    expect_ok,
                    "{what} peer, {versions:?}, {signatures:?}: {accepted:?}"
                );
                assert_eq!(
                    ss.chains.last_record().map(|r| r.chain[0].clone()),
                    Some(peer.chain[0].clone())
                );
            }
        }
    }
}

#[tokio::test]
async fn peers_complete_tls_with_an_rsa_1024_or_sha1_signed_server_but_still_check_name_and_chain()
{
    let pki = TestPki::generate("legacy-server").expect("pki");
    let spec = crate::pki::LeafSpec::federation("sip.contoso.test", &["sip.contoso.test"]);
    let servers = [
        Arc::new(pki.issue_with_rsa_1024_key(&spec).expect("issue")),
        Arc::new(pki.issue_sha1_signed(&spec).expect("issue")),
    ];
    for server_id in &servers {
        for (name, expect_ok) in [("sip.contoso.test", true), ("wrong.contoso.test", false)] {
            let ss = Side::new();
            let cs = Side::new();
            let (l, addr) = listener().await;
            let server = server_cfg(&pki, server_id.clone(), ClientAuthMode::None, &ss);
            let serve = tokio::spawn(serve_once(l, server));
            let result =
                connect_tls(Some(LOCALHOST), addr, name, client_cfg(&pki, None, &cs), T).await;
            assert_eq!(result.is_ok(), expect_ok, "{name}: {:?}", result.err());
            drop(result);
            let _ = serve.await;
        }
    }
    // A server from another root is still refused.
    let other = TestPki::generate("other-root").expect("pki");
    let foreign = Arc::new(other.issue_with_rsa_1024_key(&spec).expect("issue"));
    let ss = Side::new();
    let cs = Side::new();
    let (l, addr) = listener().await;
    let serve = tokio::spawn(serve_once(
        l,
        server_cfg(&other, foreign, ClientAuthMode::None, &ss),
    ));
    let result = connect_tls(
        Some(LOCALHOST),
        addr,
        "sip.contoso.test",
        client_cfg(&pki, None, &cs),
        T,
    )
    .await;
    assert!(result.is_err(), "an untrusted chain must still fail");
    let _ = serve.await;
}
