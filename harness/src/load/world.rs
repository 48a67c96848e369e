//! The world a load run plays in: the embedded topology (reference Edge,
//! DNS, test PKI) or a staging configuration's simulated roles, started as
//! `run` starts them, on a runtime of their own whose threads are named
//! [`WORLD_THREAD_PREFIX`] so their CPU time is told apart from the
//! harness's. The topology's case actors (the pool and the provider peers)
//! are stopped and their listening addresses taken over by the load
//! engine's lean answering listeners, with the same certificates.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use picharness_simulators::edge::{EdgeTimers, FaultSet, VariantSet};
use picharness_simulators::tls::{
    ChainRecorder, ClientAuthMode, ClientTlsOptions, PeerSignatures, ServerTlsOptions,
    client_config, server_config,
};
use rustls::RootCertStore;

use super::cpu::WORLD_THREAD_PREFIX;
use super::scenario::ProviderUsers;
use crate::config::{StagingConfig, TopologyMode};
use crate::locate::LocateEdge;
use crate::profile::ProviderProfile;
use crate::topology::{EmbeddedAddresses, SutView, Topology};

/// One of the harness's roles: the pool or a provider peer.
pub struct Role {
    pub name: String,
    pub fqdn: String,
    /// Its listener, taken over from the stopped case actor.
    pub listener: std::net::TcpListener,
    pub client: Arc<rustls::ClientConfig>,
    pub server: Arc<rustls::ServerConfig>,
    /// The provider's users (`None` for the pool).
    pub users: Option<ProviderUsers>,
}

/// A running world.
pub struct World {
    runtime: Option<tokio::runtime::Runtime>,
    topology: Option<Topology>,
    pub sut: SutView,
    pub kind: &'static str,
    pub pool: Role,
    pub peers: Vec<Role>,
    /// The TLS secrets of every connection (for `--pcap-seconds`).
    pub key_log: Arc<picharness_simulators::tls::KeyLogCollector>,
}

impl World {
    /// Starts the embedded topology on `base`, or the roles of `config`.
    pub fn start(
        config: Option<&StagingConfig>,
        profiles: Vec<ProviderProfile>,
        base: Ipv4Addr,
    ) -> Result<Self, String> {
        if let Some(config) = config
            && config.mode == TopologyMode::ExternalOnly
        {
            return Err(
                "load needs the harness to play the pool (a sandwich configuration: [pool] listen); \
                 this configuration is external-only"
                    .to_owned(),
            );
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name(WORLD_THREAD_PREFIX)
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the async runtime: {e}"))?;
        let pic: Vec<ProviderProfile> = profiles
            .into_iter()
            .filter(|p| p.locate_edge == LocateEdge::Fqdn)
            .collect();
        let topology = match config {
            Some(config) => runtime
                .block_on(Topology::from_config(config, pic.clone()))
                .map_err(|e| {
                    format!("cannot start the simulated roles of the configuration: {e}")
                })?,
            None => runtime
                .block_on(Topology::embedded(
                    pic.clone(),
                    FaultSet::default(),
                    VariantSet::default(),
                    EmbeddedAddresses { base },
                    None,
                    EdgeTimers::default(),
                ))
                .map_err(|e| format!("cannot start the embedded topology: {e}"))?,
        };
        let roots = topology.trust_anchors.clone();
        let key_log = topology.key_log.clone();
        let take_over = |actor: &picharness_simulators::actor::SipActor,
                         users: Option<ProviderUsers>|
         -> Result<Role, String> {
            actor.go_down();
            let address = actor.listen_address();
            let listener = bind_again(address)?;
            let tls_error = |e: picharness_simulators::tls::TlsError| {
                format!("{}: TLS setup failed: {e}", actor.name())
            };
            let client = client_config(ClientTlsOptions {
                identity: Some(actor.identity().clone()),
                server_roots: roots.clone(),
                key_log: key_log.clone(),
                chains: ChainRecorder::default(),
            })
            .map_err(tls_error)?;
            let server = server_config(ServerTlsOptions {
                identity: actor.identity().clone(),
                client_roots: roots_or_empty(&roots),
                client_auth: ClientAuthMode::Required {
                    require_client_auth_eku: false,
                },
                key_log: key_log.clone(),
                chains: ChainRecorder::default(),
                peer_signatures: PeerSignatures::Lync2013,
            })
            .map_err(tls_error)?;
            Ok(Role {
                name: actor.name().to_owned(),
                fqdn: actor.fqdn().to_owned(),
                listener,
                client,
                server,
                users,
            })
        };
        let pool = topology
            .pool
            .as_ref()
            .ok_or("the configuration has no pool for the harness to play")?;
        let pool = runtime.block_on(async { take_over(pool, None) })?;
        let mut peers = Vec::new();
        for profile in &pic {
            let Some(actor) = topology.peers.get(&profile.name) else {
                continue;
            };
            let users = ProviderUsers {
                name: profile.name.clone(),
                fqdn: profile.federation_fqdn.clone(),
                domains: profile.domains.clone(),
            };
            peers.push(runtime.block_on(async { take_over(actor, Some(users)) })?);
        }
        if peers.is_empty() {
            return Err("no provider peer to send from (no PIC provider profile)".to_owned());
        }
        Ok(Self {
            sut: topology.sut.clone(),
            kind: topology.kind,
            key_log: topology.key_log.clone(),
            topology: Some(topology),
            runtime: Some(runtime),
            pool,
            peers,
        })
    }

    /// The providers' users, in peer order.
    pub fn providers(&self) -> Vec<ProviderUsers> {
        self.peers.iter().filter_map(|p| p.users.clone()).collect()
    }

    /// Stops everything the world started.
    pub fn stop(mut self) {
        if let Some(runtime) = self.runtime.take() {
            let topology = self.topology.take();
            runtime.block_on(async move { drop(topology) });
            runtime.shutdown_background();
        }
    }
}

fn roots_or_empty(roots: &RootCertStore) -> RootCertStore {
    roots.clone()
}

/// Binds `address` again once the stopped actor has let it go (its
/// listener closes when its task is next polled).
fn bind_again(address: SocketAddr) -> Result<std::net::TcpListener, String> {
    let mut last = None;
    for _ in 0..40 {
        match std::net::TcpListener::bind(address) {
            Ok(listener) => {
                listener
                    .set_nonblocking(true)
                    .map_err(|e| format!("{address}: {e}"))?;
                return Ok(listener);
            }
            Err(e) => last = Some(e),
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!(
        "cannot listen on {address} again after stopping the case actor: {}",
        last.map_or_else(|| "unknown error".to_owned(), |e| e.to_string())
    ))
}
