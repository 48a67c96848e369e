//! The reference Edge's sockets: MTLS listeners on the external and internal
//! addresses, outbound connections to the pool and to providers (found
//! through DNS), and the transaction table that carries responses back.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use picharness_wire::sip::{DEFAULT_MAX_MESSAGE_SIZE, SipMessage};
use rustls::RootCertStore;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::fault::Fault;
use super::routing::{Decision, RoutingPolicy, Side, Target};
use crate::pki::CertifiedKey;
use crate::sip_conn::{ConnEvent, ConnHandle, ConnectionInfo, spawn_connection};
use crate::tls::{
    ChainRecorder, ClientAuthMode, ClientTlsOptions, KeyLogCollector, ServerTlsOptions,
    TlsVersions, accept_tls, client_config, connect_tls, describe_certificate, server_config,
    server_config_with_versions,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Everything the reference Edge needs to run.
pub struct EdgeConfig {
    pub external: SocketAddr,
    pub internal: SocketAddr,
    pub policy: RoutingPolicy,
    /// The Edge certificate, presented on both sides and as a TLS client.
    pub identity: Arc<CertifiedKey>,
    /// A different certificate for outbound connections (fault
    /// `different-outbound-cert`); `None` means `identity`.
    pub outbound_identity: Option<Arc<CertifiedKey>>,
    pub roots: RootCertStore,
    pub pool_address: SocketAddr,
    pub pool_fqdn: String,
    /// Port providers listen on (5061).
    pub provider_port: u16,
    pub dns_server: SocketAddr,
    pub key_log: Arc<KeyLogCollector>,
}

#[derive(Debug, thiserror::Error)]
pub enum EdgeError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("DNS resolver setup failed: {0}")]
    Dns(String),
}

/// A running reference Edge. Dropping it stops its listeners.
pub struct ReferenceEdge {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for ReferenceEdge {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

struct Pending {
    origin: ConnHandle,
    request: SipMessage,
    egress_connection: u64,
}

struct EdgeState {
    policy: RoutingPolicy,
    client: Arc<rustls::ClientConfig>,
    resolver: hickory_resolver::TokioResolver,
    external_ip: IpAddr,
    internal_ip: IpAddr,
    pool_address: SocketAddr,
    pool_fqdn: String,
    provider_port: u16,
    transactions: Mutex<HashMap<String, Pending>>,
    outbound: tokio::sync::Mutex<HashMap<Target, ConnHandle>>,
}

impl ReferenceEdge {
    /// Binds both listeners and starts serving.
    pub async fn start(config: EdgeConfig) -> Result<Self, EdgeError> {
        let internal_server = server_config(ServerTlsOptions {
            identity: config.identity.clone(),
            client_roots: config.roots.clone(),
            client_auth: ClientAuthMode::Required {
                require_client_auth_eku: false,
            },
            key_log: config.key_log.clone(),
            chains: ChainRecorder::default(),
        })
        .map_err(|e| EdgeError::Tls(e.to_string()))?;
        let external_server = external_server_config(&config)?;
        let client = client_config(ClientTlsOptions {
            identity: Some(
                config
                    .outbound_identity
                    .clone()
                    .unwrap_or_else(|| config.identity.clone()),
            ),
            server_roots: config.roots.clone(),
            key_log: config.key_log.clone(),
            chains: ChainRecorder::default(),
        })
        .map_err(|e| EdgeError::Tls(e.to_string()))?;
        let resolver =
            crate::dns::resolver(config.dns_server).map_err(|e| EdgeError::Dns(e.to_string()))?;
        let state = Arc::new(EdgeState {
            policy: config.policy,
            client,
            resolver,
            external_ip: config.external.ip(),
            internal_ip: config.internal.ip(),
            pool_address: config.pool_address,
            pool_fqdn: config.pool_fqdn,
            provider_port: config.provider_port,
            transactions: Mutex::new(HashMap::new()),
            outbound: tokio::sync::Mutex::new(HashMap::new()),
        });
        let mut tasks = Vec::new();
        for (address, side, server) in [
            (config.external, Side::External, external_server),
            (config.internal, Side::Internal, internal_server),
        ] {
            let listener = TcpListener::bind(address)
                .await
                .map_err(|source| EdgeError::Bind { address, source })?;
            let acceptor = TlsAcceptor::from(server);
            tasks.push(tokio::spawn(accept_loop(
                state.clone(),
                listener,
                acceptor,
                side,
            )));
        }
        Ok(Self { tasks })
    }
}

/// The external listener's TLS: mutual TLS that demands a client
/// certificate chaining to the roots and carrying clientAuth, TLS 1.2 and
/// 1.3, unless a fault switch says otherwise.
fn external_server_config(config: &EdgeConfig) -> Result<Arc<rustls::ServerConfig>, EdgeError> {
    let faults = &config.policy.faults;
    let client_auth = if faults.has(Fault::AcceptNoClientCert) {
        ClientAuthMode::OptionalRequiringClientAuthEku
    } else if faults.has(Fault::AcceptAnyClientCert) {
        ClientAuthMode::AnyCertificate
    } else {
        ClientAuthMode::Required {
            require_client_auth_eku: true,
        }
    };
    let versions = if faults.has(Fault::Tls13Only) {
        TlsVersions::Tls13Only
    } else {
        TlsVersions::Tls12And13
    };
    server_config_with_versions(
        ServerTlsOptions {
            identity: config.identity.clone(),
            client_roots: config.roots.clone(),
            client_auth,
            key_log: config.key_log.clone(),
            chains: ChainRecorder::default(),
        },
        versions,
    )
    .map_err(|e| EdgeError::Tls(e.to_string()))
}

async fn accept_loop(
    state: Arc<EdgeState>,
    listener: TcpListener,
    acceptor: TlsAcceptor,
    side: Side,
) {
    loop {
        let Ok((tcp, remote)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().unwrap_or(remote);
        let state = state.clone();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let Ok((tls, record)) = accept_tls(tcp, &acceptor, HANDSHAKE_TIMEOUT).await else {
                return;
            };
            let peer_chain: Vec<_> = tls
                .get_ref()
                .1
                .peer_certificates()
                .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
                .unwrap_or_default();
            let provider = match side {
                Side::External => identify_provider(&state.policy, &peer_chain),
                Side::Internal => None,
            };
            let (handle, events) = spawn_connection(
                tls,
                ConnectionInfo {
                    local,
                    remote,
                    record,
                    peer_chain,
                    max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
                },
            );
            serve_connection(state, handle, events, side, provider).await;
        });
    }
}

/// The provider whose federation FQDN the peer's leaf certificate names.
fn identify_provider(
    policy: &RoutingPolicy,
    chain: &[rustls_pki_types::CertificateDer<'static>],
) -> Option<String> {
    let leaf = chain.first()?;
    let summary = describe_certificate(leaf).ok()?;
    let mut names = summary.dns_names.clone();
    names.extend(summary.subject_cn.clone());
    policy.provider_by_fqdn(&names).map(|p| p.name.clone())
}

async fn serve_connection(
    state: Arc<EdgeState>,
    handle: ConnHandle,
    mut events: tokio::sync::mpsc::UnboundedReceiver<ConnEvent>,
    side: Side,
    provider: Option<String>,
) {
    while let Some(event) = events.recv().await {
        match event {
            ConnEvent::Message { message, .. } if message.is_request() => {
                handle_request(&state, &handle, side, provider.as_deref(), message).await;
            }
            ConnEvent::Message { message, .. } => handle_response(&state, message),
            ConnEvent::Garbage { .. } => {}
            ConnEvent::Closed { .. } => break,
        }
    }
    fail_pending_on(&state, handle.id, "the next hop closed the connection");
}

/// Serves an outbound connection on its own task. A plain function that
/// erases the future's type: `serve_connection` reaches `next_hop`, which
/// reaches here, and the compiler cannot prove `Send` through that cycle.
fn spawn_serve(
    state: Arc<EdgeState>,
    handle: ConnHandle,
    events: tokio::sync::mpsc::UnboundedReceiver<ConnEvent>,
    side: Side,
    provider: Option<String>,
) {
    let task: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> =
        Box::pin(serve_connection(state, handle, events, side, provider));
    tokio::spawn(task);
}

fn new_branch() -> String {
    format!("z9hG4bK-edge-{:016x}", rand::random::<u64>())
}

fn new_tag() -> String {
    format!("edge{:08x}", rand::random::<u32>())
}

fn refusal(request: &SipMessage, status: u16, reason: &str, warning: Option<&str>) -> SipMessage {
    let mut response = request.response(status, reason, Some(&new_tag()));
    if let Some(text) = warning {
        response.headers.prepend(
            "Warning",
            format!(
                "399 picharness-reference-edge \"{}\"",
                text.replace('"', "'")
            ),
        );
    }
    response
}

async fn handle_request(
    state: &Arc<EdgeState>,
    origin: &ConnHandle,
    side: Side,
    provider: Option<&str>,
    request: SipMessage,
) {
    if request.method() == Some("ACK") {
        // ACKs for non-2xx finals end at the hop that sent the final; this
        // Edge generates no 2xx itself, so there is nothing to forward.
        return;
    }
    let branch = new_branch();
    let original = request.clone();
    match state.policy.route(side, provider, request, &branch) {
        Decision::Respond {
            status,
            reason,
            warning,
        } => {
            let _ = origin.send(refusal(&original, status, reason, warning.as_deref()).to_bytes());
        }
        Decision::Forward { target, request } => {
            let connection = match next_hop(state, &target).await {
                Ok(c) => c,
                Err(why) => {
                    let _ = origin.send(
                        refusal(&original, 503, "Service Unavailable", Some(&why)).to_bytes(),
                    );
                    return;
                }
            };
            if let Ok(mut table) = state.transactions.lock() {
                table.insert(
                    branch,
                    Pending {
                        origin: origin.clone(),
                        request: original.clone(),
                        egress_connection: connection.id,
                    },
                );
            }
            if connection.send(request.to_bytes()).is_err() {
                fail_pending_on(state, connection.id, "the next hop connection closed");
            }
        }
    }
}

fn handle_response(state: &EdgeState, mut response: SipMessage) {
    let Some(top_via) = response.headers.pop_first_value("via") else {
        return;
    };
    let Some(branch) = top_via
        .split(';')
        .find_map(|p| p.trim().strip_prefix("branch="))
    else {
        return;
    };
    let Ok(mut table) = state.transactions.lock() else {
        return;
    };
    let is_final = response.status().is_some_and(|s| s >= 200);
    let origin = if is_final {
        table.remove(branch).map(|p| p.origin)
    } else {
        table.get(branch).map(|p| p.origin.clone())
    };
    drop(table);
    if let Some(origin) = origin {
        let _ = origin.send(response.to_bytes());
    }
}

/// Answers 503 for every transaction waiting on a connection that is gone.
fn fail_pending_on(state: &EdgeState, connection_id: u64, why: &str) {
    let failed: Vec<Pending> = match state.transactions.lock() {
        Ok(mut table) => {
            let branches: Vec<String> = table
                .iter()
                .filter(|(_, p)| p.egress_connection == connection_id)
                .map(|(b, _)| b.clone())
                .collect();
            branches.iter().filter_map(|b| table.remove(b)).collect()
        }
        Err(_) => return,
    };
    for pending in failed {
        let _ = pending
            .origin
            .send(refusal(&pending.request, 503, "Service Unavailable", Some(why)).to_bytes());
    }
}

/// The open connection to `target`, connecting (and resolving) if needed.
async fn next_hop(state: &Arc<EdgeState>, target: &Target) -> Result<ConnHandle, String> {
    let mut outbound = state.outbound.lock().await;
    if let Some(existing) = outbound.get(target).filter(|c| !c.is_closed()) {
        return Ok(existing.clone());
    }
    let (address, server_name, local_ip, side, provider) = match target {
        Target::Pool => (
            state.pool_address,
            state.pool_fqdn.clone(),
            state.internal_ip,
            Side::Internal,
            None,
        ),
        Target::Provider(name) => {
            let route = state
                .policy
                .providers
                .iter()
                .find(|p| &p.name == name)
                .ok_or_else(|| format!("no route for provider {name}"))?;
            let lookup = state
                .resolver
                .lookup_ip(route.fqdn.as_str())
                .await
                .map_err(|e| format!("DNS lookup of {} failed: {e}", route.fqdn))?;
            let ip = lookup
                .iter()
                .next()
                .ok_or_else(|| format!("DNS lookup of {} returned no address", route.fqdn))?;
            (
                SocketAddr::new(ip, state.provider_port),
                route.fqdn.clone(),
                state.external_ip,
                Side::External,
                Some(name.clone()),
            )
        }
    };
    let (tls, record) = tokio::time::timeout(
        CONNECT_TIMEOUT + HANDSHAKE_TIMEOUT,
        connect_tls(
            Some(local_ip),
            address,
            &server_name,
            state.client.clone(),
            HANDSHAKE_TIMEOUT,
        ),
    )
    .await
    .map_err(|_| format!("connecting to {server_name} ({address}) timed out"))?
    .map_err(|e| format!("connecting to {server_name} ({address}) failed: {e}"))?;
    let local = record.snapshot().client;
    let peer_chain = tls
        .get_ref()
        .1
        .peer_certificates()
        .map(|c| c.iter().map(|d| d.clone().into_owned()).collect())
        .unwrap_or_default();
    let (handle, events) = spawn_connection(
        tls,
        ConnectionInfo {
            local,
            remote: address,
            record,
            peer_chain,
            max_message_size: DEFAULT_MAX_MESSAGE_SIZE,
        },
    );
    outbound.insert(target.clone(), handle.clone());
    spawn_serve(state.clone(), handle.clone(), events, side, provider);
    Ok(handle)
}
