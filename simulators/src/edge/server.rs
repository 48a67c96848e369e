//! The reference Edge's sockets: MTLS listeners on the external and internal
//! addresses, outbound connections to the pool and to providers (found
//! through DNS), and the async side of the proxy core: every message goes
//! through [`ProxyCore`], whose timers a task of its own fires.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use picharness_wire::sip::{DEFAULT_MAX_MESSAGE_SIZE, SipMessage};
use rustls::RootCertStore;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use super::dialog_fault::rewrite_dialog_ids;
use super::fault::Fault;
use super::malformed::{Reaction, is_oversize, problem, reaction};
use super::pidf_fault::rewrite_pidf_entity;
use super::proxy::{EdgeTimers, Link, ProxyCore, RequestId, Transmit};
use super::refusal::{new_tag, refusal};
use super::revocation::{PeerRole, Revocation, RevocationChecker};
use super::routing::{ALLOWED_METHODS, Decision, RoutingPolicy, Side, Target};
use super::sdp_fault::rewrite_sdp;
use super::slow_faults::SlowClients;
use super::tls_faults::{crashes_on_close, crashes_on_handshake, watch_for_renegotiation};
use super::variant::Variant;
use crate::pki::CertifiedKey;
use crate::sip_conn::{ConnEvent, ConnHandle, ConnectionInfo, spawn_connection};
use crate::tls::{
    ChainRecorder, ClientAuthMode, ClientTlsOptions, KeyLogCollector, OverlookedChecks,
    PeerSignatures, ServerCheck, ServerTlsOptions, TlsVersions, accept_tls,
    client_config_overlooking, connect_tls, describe_certificate, presented_chain, server_config,
    server_config_with_versions,
};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// The message size cap under the `small-message-limit` fault.
const SMALL_MESSAGE_LIMIT: usize = 16 * 1024;
/// The message size cap under the `no-message-size-limit` fault.
const UNLIMITED_MESSAGE_SIZE: usize = 4 * 1024 * 1024;
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
    /// Further external listeners: the other members of an Access Edge
    /// pool, each with its own certificate, serving like `external`.
    pub pool_members: Vec<PoolMember>,
    pub roots: RootCertStore,
    pub pool_address: SocketAddr,
    pub pool_fqdn: String,
    /// Port providers listen on (5061).
    pub provider_port: u16,
    pub dns_server: SocketAddr,
    pub key_log: Arc<KeyLogCollector>,
    /// Chaos, not a fault: the Edge stops (listeners closed, every
    /// connection dropped) on receiving request number N + 1 from outside.
    pub crash_after_requests: Option<usize>,
    /// T1 and Timer C (RFC 3261 defaults unless a test scales them down).
    pub timers: EdgeTimers,
}

/// Another Access Edge pool member's external listener.
pub struct PoolMember {
    pub external: SocketAddr,
    pub identity: Arc<CertifiedKey>,
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

impl Link for ConnHandle {
    fn link_id(&self) -> u64 {
        self.id
    }
}

struct EdgeState {
    policy: RoutingPolicy,
    client: Arc<rustls::ClientConfig>,
    resolver: crate::dns::DnsResolver,
    external_ip: IpAddr,
    internal_ip: IpAddr,
    pool_address: SocketAddr,
    pool_fqdn: String,
    provider_port: u16,
    max_message_size: usize,
    answer_pings: bool,
    /// Every transaction the Edge is part of.
    proxy: Mutex<ProxyCore<ConnHandle>>,
    /// Wakes the timer task when a deadline may have come closer.
    timers_changed: tokio::sync::Notify,
    /// Connections providers opened with a Via `alias` (RFC 5923): requests
    /// to that provider reuse them while they are open.
    aliased: Mutex<HashMap<String, ConnHandle>>,
    outbound: tokio::sync::Mutex<HashMap<Target, ConnHandle>>,
    crash_after_requests: Option<usize>,
    external_requests: std::sync::atomic::AtomicUsize,
    /// Turns `true` when the Edge has crashed (chaos `crash-mid-run`).
    crashed: tokio::sync::watch::Sender<bool>,
    /// Turns `true` when malformed input hung the Edge (`hang-on-malformed`).
    hung: std::sync::atomic::AtomicBool,
    /// Checks providers' certificates against their CRLs.
    revocation: RevocationChecker,
    /// How the external listener treats slow clients (robustness faults).
    slow: SlowClients,
    /// The chains peers presented on the external side.
    external_chains: ChainRecorder,
}

impl EdgeState {
    /// Runs `step` on the proxy core, writes what it sends and wakes the
    /// timer task; `None` when the core is unusable (a panic poisoned it).
    fn with_proxy<T>(
        &self,
        step: impl FnOnce(&mut ProxyCore<ConnHandle>) -> (Vec<Transmit<ConnHandle>>, T),
    ) -> Option<T> {
        let (sends, out) = {
            let mut proxy = self.proxy.lock().ok()?;
            step(&mut proxy)
        };
        self.timers_changed.notify_one();
        transmit(sends);
        Some(out)
    }

    /// Counts a request from outside; `true` when it is the one the Edge
    /// crashes on, which it then does.
    fn crashes_on_external_request(&self) -> bool {
        let Some(limit) = self.crash_after_requests else {
            return false;
        };
        let seen = self
            .external_requests
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if seen >= limit {
            self.crashed.send_replace(true);
            return true;
        }
        false
    }
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
            peer_signatures: PeerSignatures::Modern,
        })
        .map_err(|e| EdgeError::Tls(e.to_string()))?;
        // The chains peers present on the external side (for the
        // `crash-on-bad-tls` fault's long-chain trigger).
        let external_chains = ChainRecorder::default();
        let external_server =
            external_server_config(&config, &config.identity, external_chains.clone())?;
        let mut listeners = vec![
            (config.external, Side::External, external_server),
            (config.internal, Side::Internal, internal_server),
        ];
        for member in &config.pool_members {
            listeners.push((
                member.external,
                Side::External,
                external_server_config(&config, &member.identity, external_chains.clone())?,
            ));
        }
        let client = client_config_overlooking(
            ClientTlsOptions {
                identity: Some(
                    config
                        .outbound_identity
                        .clone()
                        .unwrap_or_else(|| config.identity.clone()),
                ),
                server_roots: config.roots.clone(),
                key_log: config.key_log.clone(),
                chains: ChainRecorder::default(),
            },
            TlsVersions::Tls12And13,
            outbound_checks_overlooked(&config.policy.faults),
        )
        .map_err(|e| EdgeError::Tls(e.to_string()))?;
        let resolver =
            crate::dns::resolver(config.dns_server).map_err(|e| EdgeError::Dns(e.to_string()))?;
        let faults = &config.policy.faults;
        let max_message_size = if faults.has(Fault::NoMessageSizeLimit) {
            UNLIMITED_MESSAGE_SIZE
        } else if faults.has(Fault::SmallMessageLimit) {
            SMALL_MESSAGE_LIMIT
        } else {
            DEFAULT_MAX_MESSAGE_SIZE
        };
        let answer_pings = !faults.has(Fault::NoKeepalivePong);
        let revocation = RevocationChecker::new(
            !faults.has(Fault::NoRevocationCheck),
            config.roots.clone(),
            config.external.ip(),
        );
        let slow = SlowClients::new(&config.policy.faults);
        let proxy = ProxyCore::new(config.timers, config.policy.faults.clone());
        let state = Arc::new(EdgeState {
            revocation,
            max_message_size,
            answer_pings,
            policy: config.policy,
            client,
            resolver,
            external_ip: config.external.ip(),
            internal_ip: config.internal.ip(),
            pool_address: config.pool_address,
            pool_fqdn: config.pool_fqdn,
            provider_port: config.provider_port,
            proxy: Mutex::new(proxy),
            timers_changed: tokio::sync::Notify::new(),
            aliased: Mutex::new(HashMap::new()),
            outbound: tokio::sync::Mutex::new(HashMap::new()),
            crash_after_requests: config.crash_after_requests,
            external_requests: std::sync::atomic::AtomicUsize::new(0),
            crashed: tokio::sync::watch::channel(false).0,
            hung: std::sync::atomic::AtomicBool::new(false),
            slow,
            external_chains,
        });
        let mut tasks = vec![tokio::spawn(fire_timers(state.clone()))];
        for (address, side, server) in listeners {
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

/// The checks of a provider's certificate the Edge skips when it connects
/// out, one per outbound fault switch.
fn outbound_checks_overlooked(faults: &super::FaultSet) -> OverlookedChecks {
    [
        (Fault::NoOutboundNameCheck, ServerCheck::HostName),
        (Fault::AnyOutboundRoot, ServerCheck::Root),
        (Fault::NoOutboundValidityCheck, ServerCheck::Validity),
        (Fault::NoOutboundEkuCheck, ServerCheck::ServerAuthEku),
    ]
    .into_iter()
    .filter(|(fault, _)| faults.has(*fault))
    .map(|(_, check)| check)
    .collect()
}

/// The external listener's TLS: mutual TLS that demands a client
/// certificate chaining to the roots and carrying clientAuth, TLS 1.2 and
/// 1.3, unless a fault switch says otherwise.
fn external_server_config(
    config: &EdgeConfig,
    identity: &Arc<CertifiedKey>,
    chains: ChainRecorder,
) -> Result<Arc<rustls::ServerConfig>, EdgeError> {
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
    // Lync 2013 takes RSA 1024 peer keys and SHA-1 signatures (CERT-07,
    // CERT-08); a hardened Edge does not.
    let peer_signatures = if faults.has(Fault::RejectLegacyPeerCert) {
        PeerSignatures::Modern
    } else {
        PeerSignatures::Lync2013
    };
    let versions = if faults.has(Fault::Tls13Only) {
        TlsVersions::Tls13Only
    } else {
        TlsVersions::Tls12And13
    };
    server_config_with_versions(
        ServerTlsOptions {
            identity: identity.clone(),
            client_roots: config.roots.clone(),
            client_auth,
            key_log: config.key_log.clone(),
            chains,
            peer_signatures,
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
    let mut crashed = state.crashed.subscribe();
    let external = side == Side::External;
    loop {
        let slot = if external {
            tokio::select! {
                slot = state.slow.slot() => slot,
                _ = crashed.wait_for(|c| *c) => return,
            }
        } else {
            None
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            // A crashed Edge listens no more: connections are refused.
            _ = crashed.wait_for(|c| *c) => return,
        };
        let Ok((tcp, remote)) = accepted else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().unwrap_or(remote);
        let timeout = if external {
            state.slow.handshake_timeout(HANDSHAKE_TIMEOUT)
        } else {
            HANDSHAKE_TIMEOUT
        };
        let state = state.clone();
        if external && state.slow.serialised_handshakes() {
            // `serialised-handshakes`: the next connection waits for this one.
            let (tls, record) = match accept_tls(tcp, &acceptor, timeout).await {
                Ok(accepted) => accepted,
                Err((error, _)) => {
                    if crashes_on_handshake(&state.policy.faults, &error, &state.external_chains) {
                        state.crashed.send_replace(true);
                    }
                    continue;
                }
            };
            tokio::spawn(serve_accepted(
                state, tls, record, local, remote, side, slot,
            ));
            continue;
        }
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let (tls, record) = match accept_tls(tcp, &acceptor, timeout).await {
                Ok(accepted) => accepted,
                Err((error, _)) => {
                    if external
                        && crashes_on_handshake(
                            &state.policy.faults,
                            &error,
                            &state.external_chains,
                        )
                    {
                        state.crashed.send_replace(true);
                    }
                    return;
                }
            };
            serve_accepted(state, tls, record, local, remote, side, slot).await;
        });
    }
}

/// Serves a connection whose handshake finished; `slot` (the
/// `connection-slots` fault) is given back at its first complete message.
async fn serve_accepted(
    state: Arc<EdgeState>,
    tls: tokio_rustls::server::TlsStream<crate::tls::RecordingStream<tokio::net::TcpStream>>,
    record: crate::tls::ConnectionRecord,
    local: SocketAddr,
    remote: SocketAddr,
    side: Side,
    slot: Option<tokio::sync::OwnedSemaphorePermit>,
) {
    let peer_chain = presented_chain(tls.get_ref().1);
    if side == Side::External
        && let Revocation::Revoked { .. } = state
            .revocation
            .check(&peer_chain, PeerRole::Client, &state.resolver)
            .await
    {
        // A revoked provider certificate: no SIP on this connection.
        let mut tls = tls;
        let _ = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.shutdown()).await;
        return;
    }
    let provider = match side {
        Side::External => identify_provider(&state.policy, &peer_chain),
        Side::Internal => None,
    };
    if side == Side::External {
        watch_for_renegotiation(&state.policy.faults, record.clone(), state.crashed.clone());
    }
    let (handle, events) = spawn_connection(
        tls,
        ConnectionInfo {
            local,
            remote,
            record,
            peer_chain,
            max_message_size: state.max_message_size,
            answer_pings: state.answer_pings,
        },
    );
    if side == Side::External {
        state.slow.opened(&handle);
    }
    serve_connection(state, handle, events, side, provider, slot).await;
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
    mut events: tokio::sync::mpsc::Receiver<ConnEvent>,
    side: Side,
    provider: Option<String>,
    mut slot: Option<tokio::sync::OwnedSemaphorePermit>,
) {
    let mut crashed = state.crashed.subscribe();
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            // A crashed Edge drops every connection.
            _ = crashed.wait_for(|c| *c) => None,
        };
        let Some(event) = event else {
            break;
        };
        // A complete message (or the connection's end) frees its slot.
        drop(slot.take());
        if side == Side::External
            && matches!(&event, ConnEvent::Message { message, .. } if message.is_request())
        {
            state.slow.wait_turn(handle.id).await;
        }
        let is_request =
            matches!(&event, ConnEvent::Message { message, .. } if message.is_request());
        if side == Side::External {
            let malformed = match &event {
                ConnEvent::Message { message, .. } if message.is_request() => {
                    problem(message).map(|why| (why, true))
                }
                // A malformed response is dropped: it answers nothing.
                ConnEvent::Message { message, .. } => problem(message).map(|why| (why, false)),
                // A message over the size limit is refused as too large
                // (SIP-21), not as malformed.
                ConnEvent::Garbage { error, .. } if !is_oversize(error) => {
                    Some((error.clone(), false))
                }
                _ => None,
            };
            if let Some((why, request)) = malformed {
                match reaction(&state.policy.faults, why, request) {
                    Reaction::Forward => {}
                    Reaction::Crash => {
                        state.crashed.send_replace(true);
                        break;
                    }
                    Reaction::Hang => {
                        state.hung.store(true, std::sync::atomic::Ordering::SeqCst);
                        continue;
                    }
                    Reaction::Refuse(why) => {
                        if let ConnEvent::Message { message, .. } = &event
                            && message.is_request()
                        {
                            let refused = refusal(message, 400, "Bad Request", Some(&why));
                            let _ = handle.send(refused.to_bytes());
                        }
                        continue;
                    }
                }
            }
        }
        if is_request && state.hung.load(std::sync::atomic::Ordering::SeqCst) {
            continue;
        }
        match event {
            ConnEvent::Message { message, .. }
                if message.is_request()
                    && side == Side::External
                    && state.crashes_on_external_request() =>
            {
                break;
            }
            ConnEvent::Message { message, .. }
                if message.is_request()
                    && side == Side::External
                    && state.policy.faults.has(Fault::PipeliningDrops)
                    && !matches!(message.method(), Some("CANCEL" | "ACK"))
                    && has_pending_from(&state, handle.id) =>
            {
                // The faulty Edge serves one request per connection at a time.
                continue;
            }
            ConnEvent::Message { message, .. } if message.is_request() => {
                if let Some(name) = provider.as_deref()
                    && side == Side::External
                    && offers_alias(&message)
                    && !state.policy.faults.has(Fault::NoConnectionReuse)
                    && !state.policy.variants.has(Variant::NoAlias)
                    && let Ok(mut aliased) = state.aliased.lock()
                {
                    aliased.insert(name.to_owned(), handle.clone());
                }
                handle_request(&state, &handle, side, provider.as_deref(), message).await;
            }
            ConnEvent::Message { message, .. } => handle_response(&state, message),
            ConnEvent::Garbage { .. } | ConnEvent::KeepAlive { .. } => {}
            ConnEvent::Closed { reason, .. } => {
                if side == Side::External && crashes_on_close(&state.policy.faults, &reason) {
                    state.crashed.send_replace(true);
                }
                break;
            }
        }
    }
    if let Ok(mut aliased) = state.aliased.lock() {
        aliased.retain(|_, c| c.id != handle.id);
    }
    fail_pending_on(&state, handle.id, "the next hop closed the connection");
}

/// Whether the topmost Via carries the `alias` parameter: the sender offers
/// its connection for requests back to it (RFC 5923 §5).
fn offers_alias(request: &SipMessage) -> bool {
    request.headers.values("via").first().is_some_and(|via| {
        via.split(';')
            .skip(1)
            .any(|param| param.trim().eq_ignore_ascii_case("alias"))
    })
}

/// Serves an outbound connection on its own task. A plain function that
/// erases the future's type: `serve_connection` reaches `next_hop`, which
/// reaches here, and the compiler cannot prove `Send` through that cycle.
fn spawn_serve(
    state: Arc<EdgeState>,
    handle: ConnHandle,
    events: tokio::sync::mpsc::Receiver<ConnEvent>,
    side: Side,
    provider: Option<String>,
) {
    let task: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> = Box::pin(
        serve_connection(state, handle, events, side, provider, None),
    );
    tokio::spawn(task);
}

fn new_branch() -> String {
    format!("z9hG4bK-edge-{:016x}", rand::random::<u64>())
}

/// Writes each message on its connection; one that cannot be written is
/// lost like a message on a broken connection.
fn transmit(sends: Vec<Transmit<ConnHandle>>) {
    for Transmit { to, message } in sends {
        let _ = to.send(message.to_bytes());
    }
}

/// Fires the proxy core's timers (Timers B, C, F and H) when they fall
/// due, for as long as the Edge runs.
async fn fire_timers(state: Arc<EdgeState>) {
    loop {
        let deadline = state
            .proxy
            .lock()
            .ok()
            .and_then(|proxy| proxy.next_deadline());
        let Some(deadline) = deadline else {
            state.timers_changed.notified().await;
            continue;
        };
        tokio::select! {
            () = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline)) => {}
            () = state.timers_changed.notified() => continue,
        }
        // Not through `with_proxy`: firing timers must not wake this task.
        let sends = match state.proxy.lock() {
            Ok(mut proxy) => proxy.on_timer(Instant::now()),
            Err(_) => return,
        };
        transmit(sends);
    }
}

async fn handle_request(
    state: &Arc<EdgeState>,
    origin: &ConnHandle,
    side: Side,
    provider: Option<&str>,
    request: SipMessage,
) {
    // The transaction layer first: a retransmission, a CANCEL and the ACK
    // for a non-2xx final response end there.
    let Some(Some((id, request))) = state.with_proxy(|proxy| {
        let received = proxy.on_request(origin, request, Instant::now());
        (received.sends, received.new)
    }) else {
        return;
    };
    let merged = !state.policy.faults.has(Fault::NoLoopDetection)
        && state
            .proxy
            .lock()
            .is_ok_and(|proxy| proxy.merges_with_pending(&id, &request));
    if merged {
        let refused = refusal(
            &request,
            482,
            "Loop Detected",
            Some("a request with this Call-ID, From tag and CSeq is already pending here"),
        );
        respond(state, &id, refused);
        return;
    }
    let branch = new_branch();
    let original = request.clone();
    match state.policy.route(side, provider, request, &branch) {
        Decision::Ignore => forget(state, &id),
        Decision::AnswerOptions => {
            let mut response = original.response(200, "OK", Some(&new_tag()));
            response.headers.push("Allow", ALLOWED_METHODS);
            response.headers.push(
                "Accept",
                "application/sdp, text/plain, application/pidf+xml",
            );
            response
                .headers
                .push("Supported", "ms-dialog-route-set-update");
            respond(state, &id, response);
        }
        Decision::Respond {
            status,
            reason,
            warning,
        } => {
            let mut response = refusal(&original, status, reason, warning.as_deref());
            if status == 403 && !state.policy.faults.has(Fault::NoLyncHeaders) {
                // Lync explains refusals in ms-diagnostics; the code is this
                // Edge's own, the reason the refusal's.
                let why = warning.as_deref().unwrap_or(reason).replace('"', "'");
                let source = &state.policy.external_fqdn;
                response.headers.push(
                    "ms-diagnostics",
                    format!("1000;reason=\"{why}\";source=\"{source}\""),
                );
            }
            respond(state, &id, response);
        }
        Decision::Forward {
            target,
            mut request,
            stateless,
        } => {
            if state.policy.faults.has(Fault::SdpRewritten) {
                rewrite_sdp(&mut request);
            }
            if state.policy.faults.has(Fault::PidfEntityRewritten) {
                rewrite_pidf_entity(&mut request);
            }
            if state.policy.faults.has(Fault::StripEvent) && request.method() == Some("SUBSCRIBE") {
                request.headers.remove_all("Event");
            }
            rewrite_dialog_ids(&state.policy.faults, &mut request);
            if state.policy.faults.has(Fault::UnsubscribeAsRefresh)
                && request.method() == Some("SUBSCRIBE")
                && request
                    .headers
                    .first("expires")
                    .is_some_and(|v| v.trim() == "0")
            {
                request.headers.set("Expires", "3600");
            }
            let connection = match next_hop(state, &target).await {
                Ok(c) => c,
                Err(_) if stateless || state.policy.faults.has(Fault::SilentWhenNextHopDown) => {
                    forget(state, &id);
                    return;
                }
                Err(why) => {
                    respond(
                        state,
                        &id,
                        refusal(&original, 503, "Service Unavailable", Some(&why)),
                    );
                    return;
                }
            };
            let sends = match state.proxy.lock() {
                Ok(mut proxy) => proxy.forward(&id, &connection, request, Instant::now()),
                Err(_) => return,
            };
            state.timers_changed.notify_one();
            let lost = sends
                .into_iter()
                .any(|Transmit { to, message }| to.send(message.to_bytes()).is_err());
            if lost && !stateless {
                fail_pending_on(state, connection.id, "the next hop connection closed");
            }
        }
    }
}

/// Answers request `id` through its server transaction.
fn respond(state: &EdgeState, id: &RequestId, response: SipMessage) {
    state.with_proxy(|proxy| (proxy.respond(id, response, Instant::now()), ()));
}

/// Drops request `id` unanswered.
fn forget(state: &EdgeState, id: &RequestId) {
    if let Ok(mut proxy) = state.proxy.lock() {
        proxy.forget(id);
    }
}

fn handle_response(state: &EdgeState, response: SipMessage) {
    state.with_proxy(|proxy| (proxy.on_response(response, Instant::now()), ()));
}

/// Whether a request that arrived on connection `origin_id` is still
/// pending here (fault `pipelining-drops`).
fn has_pending_from(state: &EdgeState, origin_id: u64) -> bool {
    state
        .proxy
        .lock()
        .is_ok_and(|proxy| proxy.has_pending_from(origin_id))
}

/// Answers 503 for every request forwarded on a connection that is gone.
fn fail_pending_on(state: &EdgeState, connection_id: u64, why: &str) {
    state.with_proxy(|proxy| (proxy.on_closed(connection_id, why, Instant::now()), ()));
}

/// The open connection to `target`, connecting (and resolving) if needed.
async fn next_hop(state: &Arc<EdgeState>, target: &Target) -> Result<ConnHandle, String> {
    let mut outbound = state.outbound.lock().await;
    let reuse = !state.policy.faults.has(Fault::NoConnectionReuse);
    if let Target::Provider(name) = target
        && reuse
        && let Some(aliased) = state
            .aliased
            .lock()
            .ok()
            .and_then(|a| a.get(name).filter(|c| !c.is_closed()).cloned())
    {
        return Ok(aliased);
    }
    if let Some(existing) = outbound.get(target).filter(|c| reuse && !c.is_closed()) {
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
    let peer_chain = presented_chain(tls.get_ref().1);
    if side == Side::External
        && let Revocation::Revoked { url } = state
            .revocation
            .check(&peer_chain, PeerRole::Server(&server_name), &state.resolver)
            .await
    {
        let mut tls = tls;
        let _ = tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.shutdown()).await;
        return Err(format!(
            "the certificate of {server_name} ({address}) is revoked: the CRL at {url} lists it"
        ));
    }
    let (handle, events) = spawn_connection(
        tls,
        ConnectionInfo {
            local,
            remote: address,
            record,
            peer_chain,
            max_message_size: state.max_message_size,
            answer_pings: state.answer_pings,
        },
    );
    outbound.insert(target.clone(), handle.clone());
    spawn_serve(state.clone(), handle.clone(), events, side, provider);
    Ok(handle)
}
