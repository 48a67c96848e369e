//! A SIP actor the harness plays: a provider peer (`messenger`, `yahoo`,
//! `aol`) or the internal pool. It listens with MTLS on its own address,
//! opens client connections for cases, and delivers what arrives to the
//! inbox of the case that owns the user or Call-ID it is addressed to.
//! Requests nobody owns are answered 404, as a real server would.
//!
//! A case can make the actor's listener present another certificate for a
//! while (see `impostor`), to play an impostor at the provider's address.

mod impostor;

pub use impostor::{FailedHandshake, ImpostorReport};

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, SystemTime};

use picharness_wire::sip::{SipMessage, SipUri};
use rustls::RootCertStore;
use tokio::net::TcpListener;
use tokio::sync::mpsc::{Receiver, UnboundedSender};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::pki::CertifiedKey;
use crate::sip_conn::{ConnEvent, ConnHandle, ConnectionInfo, Unframed, spawn_connection};
use crate::tls::{
    ChainRecorder, ClientAuthMode, ClientTlsOptions, ConnectionRecord, KeyLogCollector,
    ServerTlsOptions, TlsError, accept_tls, client_config, connect_tls_recorded, presented_chain,
    server_config,
};

mod intake;

pub use intake::{Intake, IntakeEntry, IntakeKind};

const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long closing a connection waits for the other side's close.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Actors accept far larger messages than an Edge should (twice the 64 KiB
/// limit; the largest message a case sends is 70,000 bytes), so that what an
/// Edge wrongly forwards still reaches the case as evidence, while an Edge
/// that streams junk is cut off after 128 KiB, not after megabytes.
const ACTOR_MAX_MESSAGE_SIZE: usize = 128 * 1024;

/// How to build an actor.
pub struct ActorSpec {
    pub name: String,
    pub fqdn: String,
    pub listen: SocketAddr,
    pub identity: Arc<CertifiedKey>,
    pub roots: RootCertStore,
    /// What the actor demands of the certificates presented to its listener.
    pub client_auth: ClientAuthMode,
    pub key_log: Arc<KeyLogCollector>,
}

/// Something that happened on one of the actor's connections.
#[derive(Debug, Clone)]
pub struct ActorEvent {
    pub actor: String,
    pub connection: ConnHandle,
    pub at: SystemTime,
    pub kind: ActorEventKind,
}

#[derive(Debug, Clone)]
pub enum ActorEventKind {
    Message(SipMessage),
    Garbage {
        bytes: Vec<u8>,
        error: String,
    },
    Closed {
        reason: String,
    },
    /// A CRLF keep-alive ping (`ping: true`) or pong arrived.
    KeepAlive {
        ping: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ActorError {
    #[error("actor {actor} cannot listen on {address}: {source}")]
    Bind {
        actor: String,
        address: SocketAddr,
        source: std::io::Error,
    },
    #[error("actor {actor}: TLS setup failed: {message}")]
    Tls { actor: String, message: String },
}

type Inbox = UnboundedSender<ActorEvent>;

/// A running actor. Dropping the last `Arc` stops its listener.
pub struct SipActor {
    name: String,
    fqdn: String,
    ip: IpAddr,
    identity: Arc<CertifiedKey>,
    client: Arc<rustls::ClientConfig>,
    users: Mutex<HashMap<String, Inbox>>,
    /// Chains presented to this actor's listener (the Edge as TLS client).
    presented_to_us: ChainRecorder,
    /// Chains servers presented when this actor connected out (the Edge as TLS server).
    presented_by_servers: ChainRecorder,
    listener: Mutex<Option<JoinHandle<()>>>,
    listen: SocketAddr,
    acceptor: TlsAcceptor,
    /// `true` while the actor plays a server that is down: its listener is
    /// closed and every accepted connection is dropped.
    down: watch::Sender<bool>,
    /// Accepted connections a case sent on: what else arrives on them
    /// (responses, keep-alives, garbage, the close) goes to that case.
    connection_owners: Mutex<HashMap<u64, Inbox>>,
    /// Accepted connections still open, so a case that waited in vain can
    /// say what arrived on them that is not (yet) a message.
    accepted: Mutex<HashMap<u64, ConnHandle>>,
    /// Client connections the actor opened that are still open.
    opened: Mutex<HashMap<u64, ConnHandle>>,
    /// How the listener's TLS is set up, to present another certificate.
    server_options: ServerTlsOptions,
    /// The other certificate the listener presents while impersonating.
    impostor: Mutex<Option<impostor::Impostor>>,
    impersonations: std::sync::atomic::AtomicU64,
    /// Every message and every run of garbage that reached the actor lately.
    intake: Intake,
}

impl Drop for SipActor {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.listener.lock()
            && let Some(task) = slot.take()
        {
            task.abort();
        }
    }
}

/// Keeps a user routed to a case's inbox; dropping it removes the route.
pub struct UserRoute {
    actor: Weak<SipActor>,
    user: String,
}

impl Drop for UserRoute {
    fn drop(&mut self) {
        if let Some(actor) = self.actor.upgrade()
            && let Ok(mut users) = actor.users.lock()
        {
            users.remove(&self.user);
        }
    }
}

impl SipActor {
    /// Binds the listener and starts accepting.
    pub async fn start(spec: ActorSpec) -> Result<Arc<Self>, ActorError> {
        let tls_error = |e: TlsError| ActorError::Tls {
            actor: spec.name.clone(),
            message: e.to_string(),
        };
        let presented_to_us = ChainRecorder::default();
        let presented_by_servers = ChainRecorder::default();
        let server_options = ServerTlsOptions {
            identity: spec.identity.clone(),
            client_roots: spec.roots.clone(),
            client_auth: spec.client_auth,
            key_log: spec.key_log.clone(),
            chains: presented_to_us.clone(),
            // The Edge's certificate as a TLS client is judged as the 2013
            // providers judged it (RSA 1024 and SHA-1 accepted); only the
            // certificate cases judge key size and signature algorithm.
            peer_signatures: crate::tls::PeerSignatures::Lync2013,
        };
        let server = server_config(server_options.clone()).map_err(tls_error)?;
        let client = client_config(ClientTlsOptions {
            identity: Some(spec.identity.clone()),
            server_roots: spec.roots.clone(),
            key_log: spec.key_log.clone(),
            chains: presented_by_servers.clone(),
        })
        .map_err(tls_error)?;
        let listener = TcpListener::bind(spec.listen)
            .await
            .map_err(|source| ActorError::Bind {
                actor: spec.name.clone(),
                address: spec.listen,
                source,
            })?;
        let actor = Arc::new(Self {
            name: spec.name,
            fqdn: spec.fqdn,
            ip: spec.listen.ip(),
            identity: spec.identity.clone(),
            client,
            users: Mutex::new(HashMap::new()),
            presented_to_us,
            presented_by_servers,
            listener: Mutex::new(None),
            listen: spec.listen,
            acceptor: TlsAcceptor::from(server),
            down: watch::channel(false).0,
            connection_owners: Mutex::new(HashMap::new()),
            accepted: Mutex::new(HashMap::new()),
            opened: Mutex::new(HashMap::new()),
            server_options,
            impostor: Mutex::new(None),
            impersonations: std::sync::atomic::AtomicU64::new(0),
            intake: Intake::default(),
        });
        actor.serve(listener);
        Ok(actor)
    }

    fn serve(self: &Arc<Self>, listener: TcpListener) {
        let task = tokio::spawn(accept_loop(Arc::downgrade(self), listener));
        if let Ok(mut slot) = self.listener.lock()
            && let Some(old) = slot.replace(task)
        {
            old.abort();
        }
    }

    /// Plays a crashed server: stops listening (connections are refused)
    /// and closes every accepted connection.
    pub fn go_down(&self) {
        if let Ok(mut slot) = self.listener.lock()
            && let Some(task) = slot.take()
        {
            task.abort();
        }
        self.down.send_replace(true);
    }

    /// Listens again after [`SipActor::go_down`]; retries the bind briefly in
    /// case the old socket is still being released.
    pub async fn come_up(self: &Arc<Self>) -> Result<(), ActorError> {
        self.down.send_replace(false);
        let mut last_error = None;
        for _ in 0..20 {
            match TcpListener::bind(self.listen).await {
                Ok(listener) => {
                    self.serve(listener);
                    return Ok(());
                }
                Err(e) => last_error = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(ActorError::Bind {
            actor: self.name.clone(),
            address: self.listen,
            source: last_error.unwrap_or_else(|| std::io::Error::other("bind failed")),
        })
    }

    /// Where the actor's listener is (or was, while it is down).
    pub fn listen_address(&self) -> SocketAddr {
        self.listen
    }

    pub fn is_down(&self) -> bool {
        *self.down.borrow()
    }

    /// Plays an impostor: from now on the listener presents `identity`
    /// (with the same client-certificate policy), and every connection
    /// open so far, accepted or opened, is closed so that whoever talks to
    /// this actor next has to connect again and meet the impostor.
    pub async fn impersonate(&self, identity: Arc<CertifiedKey>) -> Result<(), ActorError> {
        let chain = identity.chain.clone();
        let server = server_config(ServerTlsOptions {
            identity,
            ..self.server_options.clone()
        })
        .map_err(|e| ActorError::Tls {
            actor: self.name.clone(),
            message: e.to_string(),
        })?;
        let generation = self
            .impersonations
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Ok(mut slot) = self.impostor.lock() {
            *slot = Some(impostor::Impostor::new(
                TlsAcceptor::from(server),
                generation,
                chain,
            ));
        }
        self.close_all(|_| true).await;
        Ok(())
    }

    /// Stops impersonating: the listener presents the actor's own
    /// certificate again and the connections accepted as the impostor are
    /// closed. Returns what happened meanwhile (empty if it was not
    /// impersonating).
    pub async fn stop_impersonating(&self) -> ImpostorReport {
        // A handshake still under way decides how the impostor was met:
        // wait for it (each is bounded by the handshake timeout).
        let settle_by = tokio::time::Instant::now() + HANDSHAKE_TIMEOUT + CLOSE_WAIT;
        while tokio::time::Instant::now() < settle_by && !self.impostor_settled() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let report = self
            .impostor
            .lock()
            .ok()
            .and_then(|mut slot| slot.take())
            .map(|i| i.report)
            .unwrap_or_default();
        self.close_all(|id| report.accepted.contains(&id)).await;
        report
    }

    /// Closes the open connections whose id `which` picks, waiting a
    /// moment for the other side to close too.
    async fn close_all(&self, which: impl Fn(u64) -> bool) {
        let mut open: Vec<ConnHandle> = Vec::new();
        for map in [&self.accepted, &self.opened] {
            if let Ok(map) = map.lock() {
                open.extend(map.values().filter(|c| which(c.id)).cloned());
            }
        }
        let closing: Vec<_> = open
            .into_iter()
            .map(|c| tokio::spawn(async move { c.close(CLOSE_WAIT).await }))
            .collect();
        for task in closing {
            let _ = task.await;
        }
    }

    fn impostor_settled(&self) -> bool {
        match self.impostor.lock().ok().as_deref() {
            Some(Some(impostor)) => impostor.report.settled(),
            _ => true,
        }
    }

    /// The listener's acceptor for a connection just taken, and the
    /// impersonation it belongs to (if any), which counts the attempt.
    fn current_acceptor(&self) -> (TlsAcceptor, Option<u64>) {
        match self.impostor.lock().ok().as_deref_mut() {
            Some(Some(impostor)) => {
                impostor.report.attempts += 1;
                (impostor.acceptor.clone(), Some(impostor.generation))
            }
            _ => (self.acceptor.clone(), None),
        }
    }

    /// Notes how a handshake of impersonation `generation` ended.
    fn impostor_handshake(&self, generation: u64, outcome: Result<u64, FailedHandshake>) {
        if let Ok(mut slot) = self.impostor.lock()
            && let Some(impostor) = slot.as_mut().filter(|i| i.generation == generation)
        {
            match outcome {
                Ok(id) => {
                    impostor.report.accepted.insert(id);
                }
                Err(failed) => impostor.report.failed.push(failed),
            }
        }
    }

    fn claimed_by(&self, connection: u64) -> Option<Inbox> {
        self.connection_owners
            .lock()
            .ok()?
            .get(&connection)
            .cloned()
    }

    /// Makes `inbox` the owner of a connection: everything but new requests
    /// that arrives on it goes there.
    pub fn claim_connection(&self, connection: u64, inbox: Inbox) {
        if let Ok(mut owners) = self.connection_owners.lock() {
            owners.insert(connection, inbox);
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn fqdn(&self) -> &str {
        &self.fqdn
    }

    /// The address the actor listens on and connects from.
    pub fn ip(&self) -> IpAddr {
        self.ip
    }

    /// The certificate and key the actor presents.
    pub fn identity(&self) -> &Arc<CertifiedKey> {
        &self.identity
    }

    /// Certificate chains presented to this actor's listener.
    pub fn chains_presented_to_us(&self) -> &ChainRecorder {
        &self.presented_to_us
    }

    /// Certificate chains servers presented to this actor's client connections.
    pub fn chains_presented_by_servers(&self) -> &ChainRecorder {
        &self.presented_by_servers
    }

    /// Delivers requests addressed to `user` (Request-URI user part) to `inbox`.
    pub fn route_user(self: &Arc<Self>, user: &str, inbox: Inbox) -> UserRoute {
        if let Ok(mut users) = self.users.lock() {
            users.insert(user.to_owned(), inbox);
        }
        UserRoute {
            actor: Arc::downgrade(self),
            user: user.to_owned(),
        }
    }

    /// What reached the actor lately (messages and garbage), any case's.
    pub fn intake(&self) -> &Intake {
        &self.intake
    }

    /// Opens a client connection from this actor's address; everything that
    /// arrives on it goes to `inbox`.
    pub async fn connect(
        self: &Arc<Self>,
        remote: SocketAddr,
        server_name: &str,
        inbox: Inbox,
    ) -> Result<ConnHandle, (TlsError, Option<ConnectionRecord>)> {
        // A handshake that fails (our verifier refusing the Edge's
        // certificate, an alert, a timeout) still hands back its record, so
        // the bytes that made it fail reach the case's trace.
        let (tls, record) = connect_tls_recorded(
            Some(self.ip),
            remote,
            server_name,
            self.client.clone(),
            HANDSHAKE_TIMEOUT,
        )
        .await?;
        let local = record.snapshot().client;
        let peer_chain = presented_chain(tls.get_ref().1);
        let (handle, events) = start_connection(tls, local, remote, record, peer_chain);
        if let Ok(mut opened) = self.opened.lock() {
            opened.insert(handle.id, handle.clone());
        }
        tokio::spawn(forward_all(
            Arc::downgrade(self),
            self.name.clone(),
            handle.clone(),
            events,
            inbox,
        ));
        Ok(handle)
    }

    /// The accepted connections holding bytes that are not (yet) a
    /// complete message: (connection, what is waiting).
    pub fn unframed_accepted(&self) -> Vec<(ConnHandle, Unframed)> {
        let Ok(accepted) = self.accepted.lock() else {
            return Vec::new();
        };
        accepted
            .values()
            .map(|c| (c.clone(), c.unframed()))
            .filter(|(_, u)| u.total > 0)
            .collect()
    }

    fn inbox_for(&self, request: &SipMessage) -> Option<Inbox> {
        let user = request
            .request_uri()
            .and_then(|u| SipUri::parse(u).ok())?
            .user?;
        self.users.lock().ok()?.get(&user).cloned()
    }
}

/// A fresh tag for what `actor` answers or sends as a user agent (RFC 3261
/// §19.3: random, here prefixed with the actor's name to read traces).
pub fn new_tag(actor: &str) -> String {
    format!("{actor}-{:08x}", rand::random::<u32>())
}

/// A connection task for a TLS stream the actor opened or accepted.
fn start_connection<S>(
    tls: S,
    local: SocketAddr,
    remote: SocketAddr,
    record: ConnectionRecord,
    peer_chain: Vec<rustls_pki_types::CertificateDer<'static>>,
) -> (ConnHandle, Receiver<ConnEvent>)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Send + 'static,
{
    spawn_connection(
        tls,
        ConnectionInfo {
            local,
            remote,
            record,
            peer_chain,
            max_message_size: ACTOR_MAX_MESSAGE_SIZE,
            answer_pings: true,
        },
    )
}

fn event(actor: &str, connection: &ConnHandle, event: ConnEvent) -> ActorEvent {
    let (at, kind) = match event {
        ConnEvent::Message { message, at } => (at, ActorEventKind::Message(message)),
        ConnEvent::Garbage { bytes, error, at } => (at, ActorEventKind::Garbage { bytes, error }),
        ConnEvent::Closed { reason, at } => (at, ActorEventKind::Closed { reason }),
        ConnEvent::KeepAlive { ping, at } => (at, ActorEventKind::KeepAlive { ping }),
    };
    ActorEvent {
        actor: actor.to_owned(),
        connection: connection.clone(),
        at,
        kind,
    }
}

/// Serves a connection the actor opened: everything goes to the inbox of
/// the case that opened it, except requests for a user another case owns
/// and what arrives on a connection another case claimed. The SUT may
/// reuse the connection (RFC 5923 alias) after its case has ended, so the
/// connection stays open until the SUT closes it or the topology stops;
/// events for a case that has ended are dropped.
async fn forward_all(
    actor: Weak<SipActor>,
    name: String,
    handle: ConnHandle,
    mut events: Receiver<ConnEvent>,
    inbox: Inbox,
) {
    while let Some(e) = events.recv().await {
        if let Some(actor) = actor.upgrade() {
            actor.intake.record(handle.remote, &e);
        }
        let closed = matches!(e, ConnEvent::Closed { .. });
        let owner = match (&e, actor.upgrade()) {
            (ConnEvent::Message { message, .. }, Some(actor)) if message.is_request() => {
                actor.inbox_for(message).unwrap_or_else(|| inbox.clone())
            }
            (_, Some(actor)) => actor.claimed_by(handle.id).unwrap_or_else(|| inbox.clone()),
            (_, None) => inbox.clone(),
        };
        let _ = owner.send(event(&name, &handle, e));
        if closed {
            break;
        }
    }
    if let Some(actor) = actor.upgrade() {
        if let Ok(mut owners) = actor.connection_owners.lock() {
            owners.remove(&handle.id);
        }
        if let Ok(mut opened) = actor.opened.lock() {
            opened.remove(&handle.id);
        }
    }
}

async fn accept_loop(actor: Weak<SipActor>, listener: TcpListener) {
    loop {
        let Ok((tcp, remote)) = listener.accept().await else {
            continue;
        };
        let _ = tcp.set_nodelay(true);
        let local = tcp.local_addr().unwrap_or(remote);
        let Some((acceptor, impersonation)) = actor.upgrade().map(|a| a.current_acceptor()) else {
            return;
        };
        let actor = actor.clone();
        tokio::spawn(async move {
            let (tls, record) = match accept_tls(tcp, &acceptor, HANDSHAKE_TIMEOUT).await {
                Ok(accepted) => accepted,
                Err((error, record)) => {
                    if let (Some(generation), Some(actor)) = (impersonation, actor.upgrade()) {
                        actor.impostor_handshake(
                            generation,
                            Err(FailedHandshake::new(&error, record)),
                        );
                    }
                    return;
                }
            };
            let peer_chain = presented_chain(tls.get_ref().1);
            let (handle, events) = start_connection(tls, local, remote, record, peer_chain);
            if let Some(actor) = actor.upgrade() {
                if let Some(generation) = impersonation {
                    actor.impostor_handshake(generation, Ok(handle.id));
                }
                if let Ok(mut accepted) = actor.accepted.lock() {
                    accepted.insert(handle.id, handle.clone());
                }
            }
            dispatch(actor, handle, events).await;
        });
    }
}

/// Serves an accepted connection: requests go to the inbox of the case that
/// owns their user; anything else goes to the case that claimed the
/// connection. The connection is dropped when the actor goes down.
async fn dispatch(actor: Weak<SipActor>, handle: ConnHandle, mut events: Receiver<ConnEvent>) {
    let Some(mut down) = actor.upgrade().map(|a| a.down.subscribe()) else {
        return;
    };
    loop {
        let e = tokio::select! {
            e = events.recv() => e,
            _ = down.wait_for(|d| *d) => None,
        };
        let Some(e) = e else {
            break;
        };
        let Some(actor) = actor.upgrade() else {
            return;
        };
        actor.intake.record(handle.remote, &e);
        let owner = actor
            .connection_owners
            .lock()
            .ok()
            .and_then(|owners| owners.get(&handle.id).cloned());
        let is_new_request =
            matches!(&e, ConnEvent::Message { message, .. } if message.is_request());
        if let Some(owner) = owner.filter(|_| !is_new_request) {
            let closed = matches!(e, ConnEvent::Closed { .. });
            let _ = owner.send(event(&actor.name, &handle, e));
            if closed {
                break;
            }
            continue;
        }
        match e {
            ConnEvent::Message { message, at } if message.is_request() => {
                match actor.inbox_for(&message) {
                    Some(inbox) => {
                        let _ = inbox.send(event(
                            &actor.name,
                            &handle,
                            ConnEvent::Message { message, at },
                        ));
                    }
                    None if message.method() != Some("ACK") => {
                        let tag = new_tag(&actor.name);
                        let _ =
                            handle.send(message.response(404, "Not Found", Some(&tag)).to_bytes());
                    }
                    None => {}
                }
            }
            ConnEvent::Closed { .. } => break,
            ConnEvent::Message { .. } | ConnEvent::Garbage { .. } | ConnEvent::KeepAlive { .. } => {
            }
        }
    }
    if let Some(actor) = actor.upgrade() {
        if let Ok(mut owners) = actor.connection_owners.lock() {
            owners.remove(&handle.id);
        }
        if let Ok(mut accepted) = actor.accepted.lock() {
            accepted.remove(&handle.id);
        }
    }
}
