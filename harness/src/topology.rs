//! The world a run plays in: the SUT's addresses and names, the DNS server,
//! the provider peers and the internal pool. `embedded` builds the whole
//! thing on loopback around the reference Edge.

mod chaos;
mod edge_certificate;
mod peer_pki;
mod staging;

pub use peer_pki::PeerPki;
pub use staging::{
    RELAY_PORTS, allowed_destinations, read_peer_ca, read_trust_anchors, staging_setting,
    staging_zones,
};

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use picharness_reports::SutInfo;
use picharness_simulators::actor::{ActorSpec, SipActor};
use picharness_simulators::dns::{DnsQueryLog, DnsServer, SrvRecord, ZoneData, start_dns_server};
use picharness_simulators::edge::{
    ChaosEdge, ChaosMode, EdgeConfig, EdgeTimers, Fault, FaultSet, PoolMember, ProviderRoute,
    ReferenceEdge, RoutingPolicy, VariantSet,
};
use picharness_simulators::http::{CrlResponder, HttpLog};
use picharness_simulators::pki::{CertifiedKey, KeyKind, LeafSpec, TestPki};
use picharness_simulators::tls::{ClientAuthMode, KeyLogCollector};
use rustls::RootCertStore;

use crate::locate::LocateEdge;
use crate::profile::ProviderProfile;
use chaos::start_chaos_edge;

mod av;
pub use av::{
    AvDialects, AvOptions, AvView, DEFAULT_EXPIRY_WAIT_SECS, ExternalAv, MAX_EXPIRY_WAIT_SECS,
    MAX_RTP_SECONDS, STUN_TCP_PORT, STUN_UDP_PORT,
};

/// The SIP port of every federation role.
pub const SIP_TLS_PORT: u16 = 5061;

/// What the harness knows about the system under test.
#[derive(Debug, Clone)]
pub struct SutView {
    pub sip_domain: String,
    /// Every SIP domain the Edge serves, `sip_domain` first (CERT-02).
    pub sip_domains: Vec<String>,
    pub access_edge_fqdn: String,
    pub internal_fqdn: String,
    /// Where the Access Edge's external listener answers.
    pub external: SocketAddr,
    /// Where the Access Edge's internal listener answers (sandwich mode).
    pub internal: SocketAddr,
    /// The external listener of every Access Edge pool member, `external`
    /// first (CERT-12).
    pub pool_members: Vec<SocketAddr>,
}

/// A running topology.
pub struct Topology {
    pub sut: SutView,
    pub kind: &'static str,
    pub faults: FaultSet,
    pub dns_server: SocketAddr,
    pub dns_log: DnsQueryLog,
    pub peers: BTreeMap<String, Arc<SipActor>>,
    /// The simulated internal pool; `None` in external-only mode.
    pub pool: Option<Arc<SipActor>>,
    pub profiles: Vec<ProviderProfile>,
    pub key_log: Arc<KeyLogCollector>,
    /// Trust anchors the SUT's certificates are judged against.
    pub trust_anchors: RootCertStore,
    /// Ordinary cases hold this for reading; a case that disturbs shared
    /// actors (takes the pool down) holds it for writing, alone.
    pub exclusive: tokio::sync::RwLock<()>,
    /// For the embedded topology: how to start a private copy of it (own
    /// reference Edge, pool, peers and DNS on another block of the /16) for
    /// a case that takes actors down, so nothing waits for that case.
    pub private_copies: Option<PrivateCopies>,
    /// Bad peer identities for the negative MTLS cases (`None` when the
    /// harness holds no CA the SUT trusts).
    pub peer_pki: Option<PeerPki>,
    /// The SUT's A/V Edge; `None` when A/V is off (A/V cases are skipped).
    pub av: Option<AvView>,
    /// The HTTP responder serving the CRLs at the distribution points of
    /// the provider certificates the harness issues; `None` when the
    /// staging configuration names no `[crl] listen` address.
    pub crl: Option<CrlResponder>,
    /// Where the harness's own resolvers record their DNS: the run's DNS
    /// log when the DNS server is not in-process (whose own side logs
    /// nothing), `None` otherwise (the server logs both sides).
    pub dns_client_log: Option<DnsQueryLog>,
    /// Whether the Edge is still there, as the cases saw it.
    pub liveness: crate::liveness::Liveness,
    _edge: Option<ReferenceEdge>,
    /// The misbehaving Edge of a chaos run, in the reference Edge's place.
    _chaos_edge: Option<ChaosEdge>,
    _av_edge: Option<picharness_simulators::av::AvEdge>,
    /// What this setting lets cases judge (the rest are skipped).
    pub setting: crate::applicability::Setting,
    _dns: Option<DnsServer>,
}

/// Why a topology could not start.
#[derive(Debug, thiserror::Error)]
pub enum TopologyError {
    #[error("test PKI: {0}")]
    Pki(String),
    #[error("DNS server on {address}: {message}")]
    Dns {
        address: SocketAddr,
        message: String,
    },
    #[error("{0}")]
    Actor(String),
    #[error("reference Edge: {0}")]
    Edge(String),
    #[error("CRL responder on {address}: {message}")]
    Crl {
        address: SocketAddr,
        message: String,
    },
}

/// What a private copy of the embedded topology is started from.
#[derive(Debug)]
pub struct PrivateCopies {
    profiles: Vec<ProviderProfile>,
    faults: FaultSet,
    variants: VariantSet,
    addresses: EmbeddedAddresses,
    chaos: Option<ChaosMode>,
    timers: EdgeTimers,
    started: std::sync::atomic::AtomicU8,
    /// The blocks private copies hold now, one bit each.
    busy: Arc<std::sync::Mutex<u64>>,
}

/// How many private copies fit on the /16 beside the shared topology.
const PRIVATE_BLOCKS: u8 = 63;

impl PrivateCopies {
    /// Starts the next private copy: the same roles, faults and names on
    /// the next free block of four third octets of the /16 (the shared
    /// topology uses the first), in the same chaos mode. The copy runs
    /// without A/V. The lease keeps the block taken until it is dropped
    /// (after the copy): a long case keeps its block while the others
    /// go round, instead of a later case starting on top of it.
    pub async fn start(&self) -> Result<(Topology, BlockLease), TopologyError> {
        let lease = self.lease()?;
        let n = lease.index;
        let [a, b, c, _] = self.addresses.base.octets();
        let addresses = EmbeddedAddresses {
            base: Ipv4Addr::new(a, b, c.wrapping_add(4 * (n + 1)), 0),
        };
        let mut copy = Topology::embedded(
            self.profiles.clone(),
            self.faults.clone(),
            self.variants.clone(),
            addresses,
            self.chaos,
            self.timers,
        )
        .await?;
        copy.private_copies = None;
        Ok((copy, lease))
    }

    /// The next free block, from where the last one was taken.
    fn lease(&self) -> Result<BlockLease, TopologyError> {
        let first = self
            .started
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            % PRIVATE_BLOCKS;
        let mut busy = self
            .busy
            .lock()
            .map_err(|_| TopologyError::Actor("the private block table is poisoned".into()))?;
        let free = (0..PRIVATE_BLOCKS)
            .map(|k| (first + k) % PRIVATE_BLOCKS)
            .find(|i| *busy & (1u64 << i) == 0)
            .ok_or_else(|| {
                TopologyError::Actor(format!(
                    "all {PRIVATE_BLOCKS} blocks for private copies of the topology are in use"
                ))
            })?;
        *busy |= 1u64 << free;
        Ok(BlockLease {
            busy: self.busy.clone(),
            index: free,
        })
    }
}

/// A block of the /16 held by a private copy of the topology; released
/// when dropped.
#[derive(Debug)]
pub struct BlockLease {
    busy: Arc<std::sync::Mutex<u64>>,
    index: u8,
}

impl Drop for BlockLease {
    fn drop(&mut self) {
        if let Ok(mut busy) = self.busy.lock() {
            *busy &= !(1u64 << self.index);
        }
    }
}

/// Loopback addresses of the embedded roles, all derived from one /16 base
/// so several embedded topologies can run side by side.
#[derive(Debug, Clone, Copy)]
pub struct EmbeddedAddresses {
    pub base: Ipv4Addr,
}

impl EmbeddedAddresses {
    /// The address at `third.fourth` of the /16, the third octet counted
    /// from the base's (0 for the shared topology, further blocks for its
    /// private copies).
    fn at(self, third: u8, fourth: u8) -> IpAddr {
        let [a, b, c, _] = self.base.octets();
        IpAddr::V4(Ipv4Addr::new(a, b, c.wrapping_add(third), fourth))
    }

    pub fn dns(self) -> IpAddr {
        self.at(0, 2)
    }

    /// Where the CRL responder listens.
    pub fn crl(self) -> IpAddr {
        self.at(0, 3)
    }

    pub fn edge_external(self) -> IpAddr {
        self.at(0, 10)
    }

    pub fn edge_internal(self) -> IpAddr {
        self.at(0, 11)
    }

    /// The external address of the second Access Edge pool member.
    pub fn edge_external_member(self) -> IpAddr {
        self.at(0, 13)
    }

    pub fn pool(self) -> IpAddr {
        self.at(0, 20)
    }

    /// An address nothing in the topology listens on (the target of the
    /// `dns-target-wrong-address` fault).
    pub fn unused(self) -> IpAddr {
        self.at(0, 254)
    }

    /// The n-th open federation partner peer (0-based): partners sit in
    /// their own block so the PIC providers' addresses do not move when a
    /// partner profile is added.
    pub fn partner(self, index: usize) -> IpAddr {
        self.at(2, u8::try_from(index + 1).unwrap_or(u8::MAX))
    }

    /// Each profile's peer address, in profile order: PIC providers
    /// (`locate_edge = "fqdn"`) at `x.x.1.n`, partners (`"srv"`) at `x.x.2.n`.
    pub fn peers(self, profiles: &[ProviderProfile]) -> Vec<IpAddr> {
        let (mut providers, mut partners) = (0, 0);
        profiles
            .iter()
            .map(|p| match p.locate_edge {
                LocateEdge::Fqdn => {
                    providers += 1;
                    self.provider(providers - 1)
                }
                LocateEdge::Srv => {
                    partners += 1;
                    self.partner(partners - 1)
                }
            })
            .collect()
    }

    /// The n-th provider peer (0-based).
    pub fn provider(self, index: usize) -> IpAddr {
        self.at(1, u8::try_from(index + 1).unwrap_or(u8::MAX))
    }
}

/// The embedded SUT's SIP domain.
pub const SUT_DOMAIN: &str = "contoso.test";
/// A further SIP domain the embedded SUT serves (its certificate names
/// `sip.northwind.test`).
pub const SUT_ADDITIONAL_DOMAIN: &str = "northwind.test";
/// The embedded SUT's access-edge FQDN.
pub const ACCESS_EDGE_FQDN: &str = "sip.contoso.test";
const EDGE_INTERNAL_FQDN: &str = "edge-int.contoso.test";
const POOL_FQDN: &str = "pool.contoso.test";
/// The SRV target used by the `dns-target-not-in-san` fault.
const UNCERTIFIED_TARGET: &str = "sip-alt.contoso.test";

fn socket(ip: IpAddr, port: u16) -> SocketAddr {
    SocketAddr::new(ip, port)
}

fn pki_error(e: impl std::fmt::Display) -> TopologyError {
    TopologyError::Pki(e.to_string())
}

/// The embedded topology's DNS zones: the SUT's zone (federation and
/// remote-access SRV, A records of every SUT role) and one zone per
/// provider federation FQDN, shaped by the DNS fault switches.
pub(crate) fn embedded_zones(
    addresses: EmbeddedAddresses,
    profiles: &[ProviderProfile],
    faults: &FaultSet,
) -> Vec<ZoneData> {
    let v4 = |ip: IpAddr| match ip {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(_) => Ipv4Addr::LOCALHOST,
    };
    let srv_port = if faults.has(Fault::DnsSrvWrongPort) {
        SIP_TLS_PORT + 1
    } else {
        SIP_TLS_PORT
    };
    // dns-target-unresolvable and dns-target-wrong-address point the SRV at
    // the bare SIP domain, a name the Edge certificate holds, so that only
    // the name's address records are wrong (and the PIC providers, who use
    // the access-edge FQDN, are unaffected).
    let srv_target = if faults.has(Fault::DnsTargetNotInSan) {
        UNCERTIFIED_TARGET
    } else if faults.has(Fault::DnsTargetUnresolvable) || faults.has(Fault::DnsTargetWrongAddress) {
        SUT_DOMAIN
    } else {
        ACCESS_EDGE_FQDN
    };
    let mut sut_a = vec![
        (
            format!("{ACCESS_EDGE_FQDN}."),
            v4(addresses.edge_external()),
        ),
        (
            format!("{UNCERTIFIED_TARGET}."),
            v4(addresses.edge_external()),
        ),
        (
            format!("{EDGE_INTERNAL_FQDN}."),
            v4(addresses.edge_internal()),
        ),
        (format!("{POOL_FQDN}."), v4(addresses.pool())),
    ];
    if faults.has(Fault::DnsTargetWrongAddress) {
        sut_a.push((format!("{SUT_DOMAIN}."), v4(addresses.unused())));
    }
    let mut sut_srv = vec![SrvRecord {
        // Lync's remote-access record: sign-in of external users on 443.
        name: format!("_sip._tls.{SUT_DOMAIN}."),
        priority: 0,
        weight: 0,
        port: 443,
        target: format!("{ACCESS_EDGE_FQDN}."),
    }];
    if !faults.has(Fault::DnsSrvMissing) {
        sut_srv.push(SrvRecord {
            name: format!("_sipfederationtls._tcp.{SUT_DOMAIN}."),
            priority: 0,
            weight: 0,
            port: srv_port,
            target: format!("{srv_target}."),
        });
    }
    let mut zones = vec![ZoneData {
        origin: format!("{SUT_DOMAIN}."),
        a: sut_a,
        aaaa: vec![],
        srv: sut_srv,
    }];
    for (profile, peer) in profiles.iter().zip(addresses.peers(profiles)) {
        zones.push(ZoneData {
            origin: format!("{}.", profile.federation_fqdn),
            a: vec![(format!("{}.", profile.federation_fqdn), v4(peer))],
            aaaa: vec![],
            srv: vec![],
        });
    }
    zones
}

/// The path of the CRL that covers the provider certificates the harness
/// issues at start (it revokes none of them).
pub const PROVIDER_CRL_PATH: &str = "/crl/providers.crl";

/// Starts the CRL responder on `ip`: port 80 where it may bind it (what
/// PORT-09 names), otherwise a high port; the URLs carry the port.
async fn start_crl_responder(ip: IpAddr) -> Result<CrlResponder, TopologyError> {
    let mut last_error = String::new();
    for port in [80, 8080, 10080] {
        match CrlResponder::start(socket(ip, port), HttpLog::default()).await {
            Ok(responder) => return Ok(responder),
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(TopologyError::Crl {
        address: socket(ip, 80),
        message: last_error,
    })
}

/// Publishes the providers' CRL on `responder`; returns its URL, the CRL
/// distribution point of the provider certificates.
pub(crate) fn publish_provider_crl(
    responder: &CrlResponder,
    pki: &TestPki,
) -> Result<String, TopologyError> {
    let crl = pki.issue_crl(&[]).map_err(pki_error)?;
    responder.publish(PROVIDER_CRL_PATH, &crl);
    Ok(responder.url(PROVIDER_CRL_PATH))
}

fn leaf(
    common_name: &str,
    dns_names: &[&str],
    server_auth: bool,
    client_auth: bool,
    key: KeyKind,
) -> LeafSpec {
    LeafSpec {
        common_name: common_name.to_owned(),
        dns_names: dns_names.iter().map(|s| (*s).to_owned()).collect(),
        server_auth,
        client_auth,
        key,
        crl_distribution_point: Some(format!("http://{common_name}/crl/picharness.crl")),
    }
}

async fn start_dns(
    ip: IpAddr,
    zones: Vec<ZoneData>,
    log: DnsQueryLog,
) -> Result<(DnsServer, SocketAddr), TopologyError> {
    // Port 53 where we may bind it (tshark dissects DNS there); otherwise a
    // high port, which resolvers here are told about explicitly.
    let mut last_error = String::new();
    for port in [53, 5353, 10053] {
        let address = socket(ip, port);
        match start_dns_server(address, zones.clone(), log.clone()).await {
            Ok(server) => return Ok((server, address)),
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(TopologyError::Dns {
        address: socket(ip, 53),
        message: last_error,
    })
}

impl Topology {
    /// Starts the embedded topology: test PKI, DNS, reference Edge (with
    /// `faults`), internal pool and one peer per provider profile.
    pub async fn embedded(
        profiles: Vec<ProviderProfile>,
        faults: FaultSet,
        variants: VariantSet,
        addresses: EmbeddedAddresses,
        chaos: Option<ChaosMode>,
        timers: EdgeTimers,
    ) -> Result<Self, TopologyError> {
        let pki = Arc::new(
            TestPki::generate("embedded")
                .map_err(pki_error)?
                .sharing_rsa_keys(),
        );
        let key_log = Arc::new(KeyLogCollector::default());
        let edge_certificate = edge_certificate::issue_edge_certificate(
            &pki,
            &faults,
            [ACCESS_EDGE_FQDN, SUT_DOMAIN, EDGE_INTERNAL_FQDN],
            &[SUT_ADDITIONAL_DOMAIN],
        )
        .map_err(pki_error)?;
        let edge_identity = edge_certificate.identity;
        let edge_outbound_identity = edge_certificate.outbound_identity;
        let pool_member_identity = edge_certificate.pool_member_identity;
        // The Edge and the configured trust anchors trust the test root; the
        // simulated peers and pool also trust a private CA that issued the
        // Edge certificate (fault `private-ca-cert`).
        let trust_anchors = pki.root_store();
        let mut roots = pki.root_store();
        if let Some(private_root) = edge_certificate.private_root {
            roots.add(private_root).map_err(pki_error)?;
        }
        let peer_pki = PeerPki::new(pki.clone(), roots.clone()).map_err(pki_error)?;
        let pool_identity: Arc<CertifiedKey> = Arc::new(
            pki.issue(&leaf(
                POOL_FQDN,
                &[POOL_FQDN],
                true,
                true,
                KeyKind::EcdsaP256,
            ))
            .map_err(pki_error)?,
        );

        let dns_log = DnsQueryLog::default();
        let (dns, dns_server) = start_dns(
            addresses.dns(),
            embedded_zones(addresses, &profiles, &faults),
            dns_log.clone(),
        )
        .await?;
        if faults.has(Fault::DnsNoTcp) {
            dns.set_answer_over_tcp(false);
        }
        let crl = start_crl_responder(addresses.crl()).await?;
        let provider_crl_url = publish_provider_crl(&crl, &pki)?;

        let sut = SutView {
            sip_domain: SUT_DOMAIN.to_owned(),
            sip_domains: vec![SUT_DOMAIN.to_owned(), SUT_ADDITIONAL_DOMAIN.to_owned()],
            access_edge_fqdn: ACCESS_EDGE_FQDN.to_owned(),
            internal_fqdn: EDGE_INTERNAL_FQDN.to_owned(),
            external: socket(addresses.edge_external(), SIP_TLS_PORT),
            internal: socket(addresses.edge_internal(), SIP_TLS_PORT),
            pool_members: vec![
                socket(addresses.edge_external(), SIP_TLS_PORT),
                socket(addresses.edge_external_member(), SIP_TLS_PORT),
            ],
        };
        let chaos_edge = match chaos {
            Some(mode) if mode != ChaosMode::CrashMidRun => {
                Some(start_chaos_edge(mode, &sut, &edge_identity, &trust_anchors, &key_log).await?)
            }
            _ => None,
        };
        let edge = if chaos_edge.is_some() {
            None
        } else {
            Some(
                ReferenceEdge::start(EdgeConfig {
                    external: sut.external,
                    internal: sut.internal,
                    policy: RoutingPolicy {
                        sip_domain: SUT_DOMAIN.to_owned(),
                        additional_domains: vec![SUT_ADDITIONAL_DOMAIN.to_owned()],
                        external_fqdn: ACCESS_EDGE_FQDN.to_owned(),
                        internal_fqdn: EDGE_INTERNAL_FQDN.to_owned(),
                        pool_fqdn: POOL_FQDN.to_owned(),
                        providers: profiles
                            .iter()
                            .map(|p| ProviderRoute {
                                name: p.name.clone(),
                                fqdn: p.federation_fqdn.clone(),
                                domains: p.domains.clone(),
                            })
                            .collect(),
                        faults: faults.clone(),
                        options_seen: Default::default(),
                        variants: variants.clone(),
                        external_ip: addresses.edge_external(),
                        internal_ip: addresses.edge_internal(),
                    },
                    identity: edge_identity,
                    outbound_identity: edge_outbound_identity,
                    pool_members: vec![PoolMember {
                        external: socket(addresses.edge_external_member(), SIP_TLS_PORT),
                        identity: pool_member_identity,
                    }],
                    roots: peer_pki
                        .edge_peer_roots(&trust_anchors, &faults)
                        .map_err(pki_error)?,
                    pool_address: socket(addresses.pool(), SIP_TLS_PORT),
                    pool_fqdn: POOL_FQDN.to_owned(),
                    provider_port: SIP_TLS_PORT,
                    dns_server,
                    key_log: key_log.clone(),
                    crash_after_requests: (chaos == Some(ChaosMode::CrashMidRun))
                        .then_some(ChaosMode::CRASH_AFTER_REQUESTS),
                    timers,
                })
                .await
                .map_err(|e| TopologyError::Edge(e.to_string()))?,
            )
        };

        let pool = SipActor::start(ActorSpec {
            name: "pool".to_owned(),
            fqdn: POOL_FQDN.to_owned(),
            listen: socket(addresses.pool(), SIP_TLS_PORT),
            identity: pool_identity,
            roots: roots.clone(),
            client_auth: ClientAuthMode::Required {
                require_client_auth_eku: false,
            },
            key_log: key_log.clone(),
        })
        .await
        .map_err(|e| TopologyError::Actor(e.to_string()))?;

        let (av, av_edge) = av::start_embedded_av(addresses, &faults).await?;

        let mut peers = BTreeMap::new();
        for (profile, peer) in profiles.iter().zip(addresses.peers(&profiles)) {
            let fqdn = profile.federation_fqdn.as_str();
            let mut spec = leaf(fqdn, &[fqdn], true, true, KeyKind::EcdsaP256);
            spec.crl_distribution_point = Some(provider_crl_url.clone());
            let identity = Arc::new(pki.issue(&spec).map_err(pki_error)?);
            let actor = SipActor::start(ActorSpec {
                name: profile.name.clone(),
                fqdn: profile.federation_fqdn.clone(),
                listen: socket(peer, SIP_TLS_PORT),
                identity,
                roots: roots.clone(),
                client_auth: ClientAuthMode::Required {
                    require_client_auth_eku: profile.require_client_auth_eku,
                },
                key_log: key_log.clone(),
            })
            .await
            .map_err(|e| TopologyError::Actor(e.to_string()))?;
            peers.insert(profile.name.clone(), actor);
        }

        let private_copies = Some(PrivateCopies {
            profiles: profiles.clone(),
            faults: faults.clone(),
            variants,
            addresses,
            chaos,
            timers,
            started: std::sync::atomic::AtomicU8::new(0),
            busy: Arc::default(),
        });
        Ok(Self {
            sut,
            kind: "embedded-reference",
            faults,
            dns_server,
            dns_log,
            peers,
            pool: Some(pool),
            profiles,
            key_log,

            exclusive: tokio::sync::RwLock::new(()),
            private_copies,
            trust_anchors,
            peer_pki: Some(peer_pki),
            av: Some(av),
            crl: Some(crl),
            _edge: edge,
            _chaos_edge: chaos_edge,
            liveness: crate::liveness::Liveness::default(),
            dns_client_log: None,
            _av_edge: Some(av_edge),
            setting: crate::applicability::Setting::everything(),
            _dns: Some(dns),
        })
    }

    pub fn profile(&self, name: &str) -> Option<&ProviderProfile> {
        self.profiles.iter().find(|p| p.name == name)
    }

    /// The SUT description recorded in `summary.json`.
    pub fn sut_info(&self) -> SutInfo {
        SutInfo {
            kind: self.kind.to_owned(),
            access_edge_fqdn: self.sut.access_edge_fqdn.clone(),
            sip_domain: self.sut.sip_domain.clone(),
            access_edge_address: self.sut.external.to_string(),
            faults: self.faults.names(),
        }
    }
}
