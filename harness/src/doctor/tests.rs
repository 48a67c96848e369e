//! `doctor` against loopback servers it can be wrong about: an Edge (a
//! TLS listener) whose certificate is good, expired, or has a key the
//! simulated peers refuse, and a DNS server whose zone serves, or lacks,
//! the pool FQDN and the federation SRV record. Each condition that fails
//! many cases for one reason must be a problem; the good setup has none.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use picharness_simulators::dns::{DnsQueryLog, DnsServer, SrvRecord, ZoneData, start_dns_server};
use picharness_simulators::pki::{CertifiedKey, LeafSpec, TestPki};
use picharness_simulators::tls::{
    ChainRecorder, ClientAuthMode, KeyLogCollector, PeerSignatures, ServerTlsOptions,
    install_crypto_provider, server_config,
};
use time::{Duration, OffsetDateTime};

use super::examine;
use crate::config::{
    DnsConfig, PoolConfig, ProviderConfig, StagingConfig, SutConfig, TopologyMode,
};
use crate::profile::ProviderProfile;

const EDGE_FQDN: &str = "sip.contoso.test";
const POOL_FQDN: &str = "pool.contoso.test";
const PEER_FQDN: &str = "federation.messenger.test";

/// What the loopback world gets wrong.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trouble {
    None,
    ExpiredCertificate,
    /// RSA 1024: Lync tolerates it, the peers' TLS client (RSA 2048+) does not.
    SmallKey,
    PoolNotInDns,
    NoSrv,
    SrvWrongPort,
}

fn at(net: u8, host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, net, 0, host))
}

/// Accepts TLS connections with `identity` until dropped.
struct TlsListener {
    stop: Arc<AtomicBool>,
    address: SocketAddr,
}

impl TlsListener {
    fn start(address: SocketAddr, identity: Arc<CertifiedKey>, roots: &TestPki) -> Self {
        let mut client_roots = rustls::RootCertStore::empty();
        client_roots.add(roots.ca_der()).expect("root");
        let config = server_config(ServerTlsOptions {
            identity,
            client_roots,
            client_auth: ClientAuthMode::Optional,
            key_log: Arc::new(KeyLogCollector::default()),
            chains: ChainRecorder::default(),
            peer_signatures: PeerSignatures::Modern,
        })
        .expect("server config");
        let listener = TcpListener::bind(address).expect("bind the Edge");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let Ok((mut tcp, _)) = listener.accept() else {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                    continue;
                };
                let config = config.clone();
                // One thread per connection: doctor holds one open while it
                // makes the next.
                std::thread::spawn(move || {
                    let _ = tcp.set_nonblocking(false);
                    let _ = tcp.set_read_timeout(Some(std::time::Duration::from_secs(3)));
                    if let Ok(mut connection) = rustls::ServerConnection::new(config) {
                        while connection.is_handshaking() {
                            if connection.complete_io(&mut tcp).is_err() {
                                break;
                            }
                        }
                    }
                });
            }
        });
        Self { stop, address }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = std::net::TcpStream::connect(self.address);
    }
}

struct World {
    _dir: tempfile::TempDir,
    config: StagingConfig,
    _edge: TlsListener,
    _internal: TcpListener,
    _dns: DnsServer,
    _runtime: tokio::runtime::Runtime,
}

fn world(net: u8, trouble: Trouble) -> World {
    install_crypto_provider();
    let dir = tempfile::tempdir().expect("temp dir");
    let pki = TestPki::generate("doctor test").expect("pki");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        path
    };
    let ca_certificate = write("root.pem", &pki.ca_pem());
    let ca_key = write("root.key", &pki.ca_key_pem());
    let spec = LeafSpec::federation(EDGE_FQDN, &[EDGE_FQDN, "contoso.test"]);
    let now = OffsetDateTime::now_utc();
    let identity = match trouble {
        Trouble::ExpiredCertificate => {
            pki.issue_with_validity(&spec, now - Duration::days(400), now - Duration::days(2))
        }
        Trouble::SmallKey => pki.issue_with_unheld_rsa_key(&spec, 1024),
        _ => pki.issue(&spec),
    }
    .expect("edge certificate");
    let external = SocketAddr::new(at(net, 10), 5061);
    let internal = SocketAddr::new(at(net, 11), 5061);
    let edge = TlsListener::start(external, Arc::new(identity), &pki);
    let internal_listener = TcpListener::bind(internal).expect("bind internal");
    let pool_listen = SocketAddr::new(at(net, 20), 5061);
    let peer_listen = SocketAddr::new(at(net, 2), 5061);
    let mut a = vec![(format!("{EDGE_FQDN}."), Ipv4Addr::new(127, net, 0, 10))];
    if trouble != Trouble::PoolNotInDns {
        a.push((format!("{POOL_FQDN}."), Ipv4Addr::new(127, net, 0, 20)));
    }
    let srv = match trouble {
        Trouble::NoSrv => vec![],
        _ => vec![SrvRecord {
            name: "_sipfederationtls._tcp.contoso.test.".to_owned(),
            priority: 0,
            weight: 0,
            port: if trouble == Trouble::SrvWrongPort {
                443
            } else {
                5061
            },
            target: format!("{EDGE_FQDN}."),
        }],
    };
    let zones = vec![
        ZoneData {
            origin: "contoso.test.".to_owned(),
            a,
            aaaa: vec![],
            srv,
        },
        ZoneData {
            origin: "messenger.test.".to_owned(),
            a: vec![(format!("{PEER_FQDN}."), Ipv4Addr::new(127, net, 0, 2))],
            aaaa: vec![],
            srv: vec![],
        },
    ];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let dns_address = SocketAddr::new(at(net, 53), 53);
    let dns = runtime
        .block_on(start_dns_server(dns_address, zones, DnsQueryLog::new()))
        .expect("dns server");
    let profile = ProviderProfile {
        name: "messenger".to_owned(),
        display_name: "Messenger".to_owned(),
        federation_fqdn: PEER_FQDN.to_owned(),
        domains: vec!["messenger.test".to_owned()],
        require_client_auth_eku: false,
        locate_edge: crate::locate::LocateEdge::default(),
        features: vec![],
        quirks: vec![],
    };
    let config = StagingConfig {
        source: dir.path().join("staging.toml"),
        mode: TopologyMode::Sandwich,
        sut: SutConfig {
            access_edge_fqdn: EDGE_FQDN.to_owned(),
            sip_domains: vec!["contoso.test".to_owned()],
            external: vec![external],
            internal: Some(internal),
            internal_fqdn: Some("edge-int.contoso.test".to_owned()),
            trust_anchors: vec![ca_certificate.clone()],
        },
        ca_certificate,
        ca_key,
        dns: DnsConfig::External {
            server: dns.local_addr(),
        },
        pool: Some(PoolConfig {
            fqdn: POOL_FQDN.to_owned(),
            listen: pool_listen,
        }),
        av: None,
        providers: BTreeMap::from([(
            "messenger".to_owned(),
            ProviderConfig {
                profile,
                listen: peer_listen,
                advertise: peer_listen.ip(),
            },
        )]),
        case_timeout: None,
        crl_listen: None,
    };
    World {
        _dir: dir,
        config,
        _edge: edge,
        _internal: internal_listener,
        _dns: dns,
        _runtime: runtime,
    }
}

fn problems(net: u8, trouble: Trouble) -> Vec<String> {
    let world = world(net, trouble);
    let findings = examine(&world.config);
    findings.lines.into_iter().filter_map(Result::err).collect()
}

fn assert_one_problem_saying(problems: &[String], phrases: &[&str]) {
    let matching: Vec<&String> = problems
        .iter()
        .filter(|p| phrases.iter().all(|phrase| p.contains(phrase)))
        .collect();
    assert!(
        !matching.is_empty(),
        "no problem says {phrases:?}; problems:\n{}",
        problems.join("\n")
    );
}

#[test]
fn a_good_setup_has_no_problem() {
    let world = world(231, Trouble::None);
    let findings = examine(&world.config);
    let text = findings.render();
    assert_eq!(findings.problems(), 0, "{text}");
    for checked in [
        "the simulated peers' TLS client accepts the Edge's certificate",
        "the Edge's certificate is valid from",
        "pool.contoso.test. -> 127.231.0.20",
        "_sipfederationtls._tcp.contoso.test. -> sip.contoso.test.:5061, where the Edge listens",
    ] {
        assert!(text.contains(checked), "{checked:?} missing from:\n{text}");
    }
}

#[test]
fn an_expired_edge_certificate_is_a_problem() {
    let found = problems(232, Trouble::ExpiredCertificate);
    assert_one_problem_saying(&found, &["sut.external[0]", "expired", "every case"]);
    assert_one_problem_saying(&found, &["the simulated peers' TLS client refuses"]);
}

#[test]
fn a_key_the_peers_refuse_is_a_problem() {
    let found = problems(233, Trouble::SmallKey);
    assert_one_problem_saying(
        &found,
        &[
            "sut.external[0]",
            "the simulated peers' TLS client refuses the Edge's certificate",
        ],
    );
}

#[test]
fn a_pool_fqdn_the_dns_cannot_resolve_is_a_problem() {
    let found = problems(235, Trouble::PoolNotInDns);
    assert_one_problem_saying(&found, &["pool.contoso.test.", "every inbound case fails"]);
    assert_eq!(found.len(), 1, "{}", found.join("\n"));
}

#[test]
fn federation_srv_problems_are_problems() {
    let missing = problems(236, Trouble::NoSrv);
    assert_one_problem_saying(
        &missing,
        &["_sipfederationtls._tcp.contoso.test.", "edge.dns"],
    );
    let wrong_port = problems(237, Trouble::SrvWrongPort);
    assert_one_problem_saying(&wrong_port, &["points at port 443", "sut.external"]);
}
