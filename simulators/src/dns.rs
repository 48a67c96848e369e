//! The in-process authoritative DNS server for the simulated domains, and
//! resolvers pointed at it.
//!
//! [`start_dns_server`] serves the given zones (SOA, A, AAAA, SRV; TTL 60)
//! over UDP and TCP on one address with hickory-server's `Catalog` and
//! `InMemoryZoneHandler`. It is authoritative only: names outside the zones
//! get REFUSED and nothing is ever recursed. The socket loops are our own
//! rather than hickory's `Server`, so that every UDP query and response is
//! logged byte-for-byte, with the real client and server addresses, into a
//! [`DnsQueryLog`] as `picharness_reports::Datagram`s; DNS over TCP is logged
//! as recorded TCP streams. Zones can be swapped at run time
//! ([`DnsServer::set_zones`]) for fault switches, and answers over TCP can
//! be switched off ([`DnsServer::set_answer_over_tcp`]).
//!
//! [`resolver`] and [`resolver_tcp_only`] build hickory resolvers that ask
//! only our server and do not cache (TTLs in their answers therefore read 0;
//! the log holds the real wire TTLs).

mod recording;
#[cfg(test)]
mod tests;

pub use recording::{DnsResolver, RecordingRuntime};

use std::future::Future;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use hickory_resolver::config::{NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_server::net::NetError;
use hickory_server::net::runtime::TokioTime;
use hickory_server::net::xfer::Protocol;
use hickory_server::proto::op::{
    Header, HeaderCounts, Message, MessageType, Metadata, OpCode, ResponseCode,
};
use hickory_server::proto::rr::rdata::{A, AAAA, SOA, SRV};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::proto::serialize::binary::{
    BinDecodable, BinDecoder, BinEncodable, BinEncoder,
};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponse, ZoneType};
use picharness_reports::{Datagram, TcpStream as CapturedStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, UdpSocket};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::task::{JoinHandle, JoinSet};

use crate::tls::{ConnectionRecord, RecordingStream, TcpRole};

/// TTL of every record we serve.
pub const TTL: u32 = 60;

/// A TCP DNS connection that sends nothing for this long is closed.
const TCP_IDLE: Duration = Duration::from_secs(10);

/// Errors from building zones, starting the server or building a resolver.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// A name in the zone data is not a valid DNS name.
    #[error("invalid DNS name {name:?}: {message}")]
    InvalidName { name: String, message: String },
    /// A record's owner name is not inside the zone it was given for.
    #[error("{name} is not inside zone {origin}")]
    OutOfZone { name: String, origin: String },
    /// The zone could not be built (duplicate origin, rejected record, ...).
    #[error("cannot build zone {origin}: {message}")]
    Zone { origin: String, message: String },
    /// A listening socket could not be opened.
    #[error("cannot listen for DNS on {addr} ({transport}): {source}")]
    Bind {
        addr: SocketAddr,
        transport: &'static str,
        #[source]
        source: io::Error,
    },
    /// The resolver could not be built.
    #[error("cannot build DNS resolver: {0}")]
    Resolver(String),
}

/// One SRV record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SrvRecord {
    /// Owner, e.g. `_sipfederationtls._tcp.contoso.test.`
    pub name: String,
    pub priority: u16,
    pub weight: u16,
    pub port: u16,
    /// Target host, e.g. `accessedge.contoso.test.`
    pub target: String,
}

/// The records of one zone. Names are fully qualified; the trailing dot is
/// optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ZoneData {
    /// The zone apex, e.g. `contoso.test.`
    pub origin: String,
    pub a: Vec<(String, Ipv4Addr)>,
    pub aaaa: Vec<(String, Ipv6Addr)>,
    pub srv: Vec<SrvRecord>,
}

impl ZoneData {
    /// An empty zone (it still gets its SOA).
    pub fn new(origin: &str) -> Self {
        Self {
            origin: origin.to_owned(),
            ..Self::default()
        }
    }
}

/// Parses a fully qualified name, adding the trailing dot if missing.
fn fqdn(name: &str) -> Result<Name, DnsError> {
    let mut n = Name::from_ascii(name.trim()).map_err(|e| DnsError::InvalidName {
        name: name.to_owned(),
        message: e.to_string(),
    })?;
    n.set_fqdn(true);
    Ok(n)
}

fn in_zone(origin: &Name, name: &str) -> Result<Name, DnsError> {
    let n = fqdn(name)?;
    if origin.zone_of(&n) {
        Ok(n)
    } else {
        Err(DnsError::OutOfZone {
            name: n.to_string(),
            origin: origin.to_string(),
        })
    }
}

fn build_zone(zone: &ZoneData) -> Result<(Name, InMemoryZoneHandler), DnsError> {
    let origin = fqdn(&zone.origin)?;
    let zone_err = |message: String| DnsError::Zone {
        origin: origin.to_string(),
        message,
    };
    let label = |l: &str| -> Result<Name, DnsError> {
        Name::from_ascii(l)
            .and_then(|n| n.append_domain(&origin))
            .map_err(|e| zone_err(e.to_string()))
    };
    let serial = 1;
    let mut handler =
        InMemoryZoneHandler::empty(origin.clone(), ZoneType::Primary, AxfrPolicy::Deny);
    let soa = SOA::new(
        label("ns")?,
        label("hostmaster")?,
        serial,
        3600,
        600,
        86_400,
        TTL,
    );
    let mut records = vec![Record::from_rdata(origin.clone(), TTL, RData::SOA(soa))];
    for (name, ip) in &zone.a {
        records.push(Record::from_rdata(
            in_zone(&origin, name)?,
            TTL,
            RData::A(A(*ip)),
        ));
    }
    for (name, ip) in &zone.aaaa {
        records.push(Record::from_rdata(
            in_zone(&origin, name)?,
            TTL,
            RData::AAAA(AAAA(*ip)),
        ));
    }
    for srv in &zone.srv {
        records.push(Record::from_rdata(
            in_zone(&origin, &srv.name)?,
            TTL,
            RData::SRV(SRV::new(
                srv.priority,
                srv.weight,
                srv.port,
                fqdn(&srv.target)?,
            )),
        ));
    }
    for record in records {
        let what = format!("{} {}", record.name, record.record_type());
        if !handler.upsert_mut(record, serial) {
            return Err(zone_err(format!("record {what} was rejected")));
        }
    }
    Ok((origin, handler))
}

fn build_catalog(zones: &[ZoneData]) -> Result<Catalog, DnsError> {
    let mut catalog = Catalog::new();
    for zone in zones {
        let (origin, handler) = build_zone(zone)?;
        let lower = LowerName::new(&origin);
        if catalog.contains(&lower) {
            return Err(DnsError::Zone {
                origin: origin.to_string(),
                message: "zone given twice".to_owned(),
            });
        }
        catalog.upsert(lower, vec![Arc::new(handler)]);
    }
    Ok(catalog)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Every DNS message the server received or sent: UDP as datagrams (exact
/// bytes, real addresses), TCP as recorded streams. Cheap to clone.
#[derive(Clone, Default)]
pub struct DnsQueryLog {
    datagrams: Arc<Mutex<Vec<Datagram>>>,
    tcp: Arc<Mutex<Vec<ConnectionRecord>>>,
    watcher: Arc<Mutex<Option<UnboundedSender<DnsExchange>>>>,
    /// Keep nothing, only report to the watcher: a server that runs until
    /// stopped (`picharness dns serve`) must not grow with every query.
    reporting_only: bool,
    /// Payload bytes of the datagrams kept, and messages (datagrams and
    /// TCP connections) counted but not kept past [`MAX_LOG_BYTES`] and
    /// [`MAX_TCP_CONNECTIONS`].
    kept: Arc<Mutex<(usize, u64)>>,
}

/// The most datagram payload a run's DNS log keeps in memory (a good run
/// of the whole catalogue logs about 40 kB): an Edge that floods the DNS
/// server must not grow the harness's memory without bound.
pub const MAX_LOG_BYTES: usize = 4 * 1024 * 1024;
/// The most DNS-over-TCP connections the log keeps (a good run opens
/// three); each keeps at most 512 KiB.
pub const MAX_TCP_CONNECTIONS: usize = 64;

/// One query the server received and what it sent back, as reported to a
/// [`DnsQueryLog::watch`]er.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsExchange {
    pub at: SystemTime,
    pub client: SocketAddr,
    /// `UDP` or `TCP`.
    pub transport: &'static str,
    pub query: Vec<u8>,
    /// `None` when nothing was sent back.
    pub response: Option<Vec<u8>>,
}

impl DnsExchange {
    /// One line for a console: the client, the question and the answer,
    /// e.g. `UDP 127.0.0.1:40001 SRV _sipfederationtls._tcp.contoso.test. -> NOERROR [0 0 5061 sip.contoso.test.]`.
    pub fn one_line(&self) -> String {
        let question = Message::from_vec(&self.query).map_or_else(
            |e| format!("unparseable query ({e})"),
            |m| {
                m.queries
                    .iter()
                    .map(|q| format!("{} {}", q.query_type(), q.name()))
                    .collect::<Vec<_>>()
                    .join(", ")
            },
        );
        let answer = match &self.response {
            None => "no answer sent".to_owned(),
            Some(bytes) => Message::from_vec(bytes).map_or_else(
                |e| format!("unparseable response ({e})"),
                |m| {
                    let records: Vec<String> = m
                        .answers
                        .iter()
                        .map(|r| format!("{} {}", r.record_type(), r.data))
                        .collect();
                    format!(
                        "{} [{}]",
                        format!("{:?}", m.metadata.response_code).to_uppercase(),
                        records.join(", ")
                    )
                },
            ),
        };
        format!("{} {} {question} -> {answer}", self.transport, self.client)
    }
}

impl std::fmt::Debug for DnsQueryLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsQueryLog")
            .field("datagrams", &lock(&self.datagrams).len())
            .field("tcp_connections", &lock(&self.tcp).len())
            .finish()
    }
}

impl DnsQueryLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// A log that keeps no message, only reports each exchange to its
    /// watcher: its memory does not grow with the queries served.
    pub fn reporting_only() -> Self {
        Self {
            reporting_only: true,
            ..Self::default()
        }
    }

    /// All UDP datagrams, queries and responses, in the order seen.
    pub fn snapshot(&self) -> Vec<Datagram> {
        lock(&self.datagrams).clone()
    }

    /// UDP datagrams with `from <= at <= to`.
    pub fn between(&self, from: SystemTime, to: SystemTime) -> Vec<Datagram> {
        lock(&self.datagrams)
            .iter()
            .filter(|d| d.at >= from && d.at <= to)
            .cloned()
            .collect()
    }

    /// DNS-over-TCP connections, as captured streams (2-byte length
    /// prefixes included, exactly as on the wire).
    pub fn tcp_streams(&self) -> Vec<CapturedStream> {
        lock(&self.tcp)
            .iter()
            .map(ConnectionRecord::snapshot)
            .collect()
    }

    /// TCP connections opened with `from <= opened_at <= to`.
    pub fn tcp_streams_between(&self, from: SystemTime, to: SystemTime) -> Vec<CapturedStream> {
        lock(&self.tcp)
            .iter()
            .map(ConnectionRecord::snapshot)
            .filter(|s| s.opened_at >= from && s.opened_at <= to)
            .collect()
    }

    fn push(&self, d: Datagram) {
        if self.reporting_only {
            return;
        }
        let mut kept = lock(&self.kept);
        if kept.0 + d.bytes.len() > MAX_LOG_BYTES {
            kept.1 += 1;
            return;
        }
        kept.0 += d.bytes.len();
        drop(kept);
        lock(&self.datagrams).push(d);
    }

    fn push_tcp(&self, record: ConnectionRecord) {
        if self.reporting_only {
            return;
        }
        let mut tcp = lock(&self.tcp);
        if tcp.len() >= MAX_TCP_CONNECTIONS {
            lock(&self.kept).1 += 1;
            return;
        }
        tcp.push(record);
    }

    /// Messages and connections counted but not kept (see [`MAX_LOG_BYTES`]).
    pub fn not_kept(&self) -> u64 {
        lock(&self.kept).1
    }

    /// Reports every later query, with its answer, on the returned channel
    /// (replacing an earlier watcher).
    pub fn watch(&self) -> UnboundedReceiver<DnsExchange> {
        let (tx, rx) = unbounded_channel();
        *lock(&self.watcher) = Some(tx);
        rx
    }

    fn report(
        &self,
        client: SocketAddr,
        transport: &'static str,
        query: &[u8],
        response: Option<&[u8]>,
    ) {
        if let Some(tx) = lock(&self.watcher).as_ref() {
            let _ = tx.send(DnsExchange {
                at: SystemTime::now(),
                client,
                transport,
                query: query.to_vec(),
                response: response.map(<[u8]>::to_vec),
            });
        }
    }
}

/// A short description of a logged DNS message, e.g.
/// `query id=4660 _sipfederationtls._tcp.contoso.test. SRV` or
/// `response id=4660 _sipfederationtls._tcp.contoso.test. SRV NOERROR answers=1`.
/// `None` if the bytes do not parse.
pub fn describe_message(bytes: &[u8]) -> Option<String> {
    let m = Message::from_vec(bytes).ok()?;
    let q = m
        .queries
        .iter()
        .map(|q| format!("{} {}", q.name(), q.query_type()))
        .collect::<Vec<_>>()
        .join(", ");
    Some(match m.metadata.message_type {
        MessageType::Query => format!("query id={} {q}", m.metadata.id),
        MessageType::Response => format!(
            "response id={} {q} {} answers={}",
            m.metadata.id,
            // dig's spelling: NOERROR, NXDOMAIN, REFUSED, SERVFAIL, ...
            format!("{:?}", m.metadata.response_code).to_uppercase(),
            m.answers.len()
        ),
    })
}

/// The DNS response code inside a resolver error (REFUSED, NXDOMAIN, ...),
/// if the error came from an answer rather than from the transport.
pub fn response_code_of(err: &NetError) -> Option<ResponseCode> {
    use hickory_server::net::DnsError as E;
    match err {
        NetError::Dns(E::ResponseCode(code)) => Some(*code),
        NetError::Dns(E::NoRecordsFound(nr)) => Some(nr.response_code),
        _ => None,
    }
}

struct Shared {
    catalog: RwLock<Arc<Catalog>>,
    log: DnsQueryLog,
    /// When false, TCP queries are read (and logged) but never answered:
    /// the connection is closed instead, as behind a firewall that drops
    /// TCP 53.
    answer_over_tcp: AtomicBool,
}

impl Shared {
    fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A running DNS server. Dropping it, or [`DnsServer::shutdown`], stops it.
pub struct DnsServer {
    local: SocketAddr,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
}

impl std::fmt::Debug for DnsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsServer")
            .field("local", &self.local)
            .finish_non_exhaustive()
    }
}

impl DnsServer {
    /// The address it listens on (UDP and TCP), with the real port.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The query log it writes to.
    pub fn log(&self) -> &DnsQueryLog {
        &self.shared.log
    }

    /// Replaces all zones; later queries see the new data.
    pub fn set_zones(&self, zones: Vec<ZoneData>) -> Result<(), DnsError> {
        let catalog = Arc::new(build_catalog(&zones)?);
        *self
            .shared
            .catalog
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = catalog;
        Ok(())
    }

    /// Whether queries over TCP are answered (the default) or the
    /// connection is closed after the query is read.
    pub fn set_answer_over_tcp(&self, answer: bool) {
        self.shared.answer_over_tcp.store(answer, Ordering::Relaxed);
    }

    /// Stops the server and waits until its sockets are closed.
    pub async fn shutdown(mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

impl Drop for DnsServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts an authoritative server for `zones` on `listen`, UDP and TCP (with
/// port 0, one free port is picked for both).
pub async fn start_dns_server(
    listen: SocketAddr,
    zones: Vec<ZoneData>,
    log: DnsQueryLog,
) -> Result<DnsServer, DnsError> {
    let catalog = build_catalog(&zones)?;
    let (udp, tcp) = bind_pair(listen).await?;
    let local = udp.local_addr().map_err(|source| DnsError::Bind {
        addr: listen,
        transport: "UDP",
        source,
    })?;
    let shared = Arc::new(Shared {
        catalog: RwLock::new(Arc::new(catalog)),
        log,
        answer_over_tcp: AtomicBool::new(true),
    });
    let tasks = vec![
        tokio::spawn(serve_udp(udp, local, shared.clone())),
        tokio::spawn(serve_tcp(tcp, shared.clone())),
    ];
    Ok(DnsServer {
        local,
        shared,
        tasks,
    })
}

async fn bind_pair(listen: SocketAddr) -> Result<(UdpSocket, TcpListener), DnsError> {
    let attempts = if listen.port() == 0 { 20 } else { 1 };
    let mut last = None;
    for _ in 0..attempts {
        let udp = UdpSocket::bind(listen)
            .await
            .map_err(|source| DnsError::Bind {
                addr: listen,
                transport: "UDP",
                source,
            })?;
        let addr = udp.local_addr().map_err(|source| DnsError::Bind {
            addr: listen,
            transport: "UDP",
            source,
        })?;
        match bind_tcp(addr) {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(source) => last = Some((addr, source)),
        }
    }
    let (addr, source) = last.unwrap_or_else(|| (listen, io::Error::other("no attempt made")));
    Err(DnsError::Bind {
        addr,
        transport: "TCP",
        source,
    })
}

fn bind_tcp(addr: SocketAddr) -> io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(128)
}

async fn serve_udp(socket: UdpSocket, local: SocketAddr, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let Ok((n, src)) = socket.recv_from(&mut buf).await else {
            // e.g. an ICMP error surfacing; do not spin.
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        let query = buf[..n].to_vec();
        shared.log.push(Datagram {
            at: SystemTime::now(),
            source: src,
            destination: local,
            bytes: query.clone(),
        });
        if src.port() == 0 {
            continue;
        }
        let catalog = shared.catalog();
        let Some(response) = answer(&catalog, query.clone(), src, Protocol::Udp).await else {
            shared.log.report(src, "UDP", &query, None);
            continue;
        };
        if send_logged(&socket, &shared.log, local, src, &response).await {
            shared.log.report(src, "UDP", &query, Some(&response));
        } else {
            shared.log.report(src, "UDP", &query, None);
        }
    }
}

/// Sends `bytes` to `to` and logs the datagram with the log locked across
/// the send, so whoever receives it and then reads the log (a case ending)
/// always finds it there. `false` when the send failed.
async fn send_logged(
    socket: &UdpSocket,
    log: &DnsQueryLog,
    local: SocketAddr,
    to: SocketAddr,
    bytes: &[u8],
) -> bool {
    loop {
        if socket.writable().await.is_err() {
            return false;
        }
        let mut datagrams = lock(&log.datagrams);
        let at = SystemTime::now();
        match socket.try_send_to(bytes, to) {
            Ok(_) if log.reporting_only => return true,
            Ok(_) => {
                datagrams.push(Datagram {
                    at,
                    source: local,
                    destination: to,
                    bytes: bytes.to_vec(),
                });
                return true;
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return false,
        }
    }
}

async fn serve_tcp(listener: TcpListener, shared: Arc<Shared>) {
    let mut connections = JoinSet::new();
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // e.g. out of file descriptors; do not spin.
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        };
        while connections.try_join_next().is_some() {}
        let _ = tcp.set_nodelay(true);
        let Ok((stream, record)) = RecordingStream::from_tcp(tcp, TcpRole::Server) else {
            continue;
        };
        shared.log.push_tcp(record);
        connections.spawn(serve_tcp_connection(stream, shared.clone()));
    }
}

async fn serve_tcp_connection(
    mut stream: RecordingStream<tokio::net::TcpStream>,
    shared: Arc<Shared>,
) {
    let (src, _) = stream.record().endpoints();
    loop {
        let mut len = [0u8; 2];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut len)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
        match tokio::time::timeout(TCP_IDLE, stream.read_exact(&mut query)).await {
            Ok(Ok(_)) => {}
            _ => return,
        }
        if !shared.answer_over_tcp.load(Ordering::Relaxed) {
            shared.log.report(src, "TCP", &query, None);
            return;
        }
        let catalog = shared.catalog();
        let Some(response) = answer(&catalog, query.clone(), src, Protocol::Tcp).await else {
            shared.log.report(src, "TCP", &query, None);
            continue;
        };
        shared.log.report(src, "TCP", &query, Some(&response));
        let Ok(len) = u16::try_from(response.len()) else {
            return;
        };
        let mut framed = Vec::with_capacity(2 + response.len());
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(&response);
        if stream.write_all(&framed).await.is_err() {
            return;
        }
    }
}

/// Answers one raw DNS message: `None` when no answer must be sent (too
/// short to have a header, or itself a response).
async fn answer(
    catalog: &Catalog,
    raw: Vec<u8>,
    src: SocketAddr,
    protocol: Protocol,
) -> Option<Vec<u8>> {
    let header = Header::read(&mut BinDecoder::new(&raw)).ok()?;
    if header.metadata.message_type == MessageType::Response {
        return None;
    }
    let Ok(request) = Request::from_bytes(raw, src, protocol) else {
        return form_error(&header);
    };
    let responder = CaptureResponder {
        protocol,
        out: Arc::new(Mutex::new(None)),
    };
    catalog
        .handle_request::<_, TokioTime>(&request, responder.clone())
        .await;
    lock(&responder.out).take()
}

fn form_error(request: &Header) -> Option<Vec<u8>> {
    let mut m = Message::query();
    m.metadata = Metadata::response_from_request(&request.metadata);
    m.metadata.response_code = ResponseCode::FormErr;
    m.to_vec().ok()
}

/// A `ResponseHandler` that encodes the response (as hickory's own handle
/// would) and keeps the bytes for the caller to send and log.
#[derive(Clone)]
struct CaptureResponder {
    protocol: Protocol,
    out: Arc<Mutex<Option<Vec<u8>>>>,
}

impl CaptureResponder {
    fn encode<'a, A, N, S, D>(
        &self,
        response: MessageResponse<'_, 'a, A, N, S, D>,
    ) -> Result<ResponseInfo, NetError>
    where
        A: Iterator<Item = &'a Record> + Send + 'a,
        N: Iterator<Item = &'a Record> + Send + 'a,
        S: Iterator<Item = &'a Record> + Send + 'a,
        D: Iterator<Item = &'a Record> + Send + 'a,
    {
        let id = response.metadata().id;
        let max_size = match self.protocol {
            Protocol::Udp => response.edns().map_or(512, |e| e.max_payload().max(512)),
            _ => u16::MAX,
        };
        let mut bytes = Vec::with_capacity(512);
        let emitted = {
            let mut encoder = BinEncoder::new(&mut bytes);
            encoder.set_max_size(max_size);
            response.destructive_emit(&mut encoder)
        };
        let info = match emitted {
            Ok(info) => info,
            Err(_) => {
                // Same fallback as hickory's encoder: a bare SERVFAIL.
                bytes.clear();
                let mut metadata = Metadata::new(id, MessageType::Response, OpCode::Query);
                metadata.response_code = ResponseCode::ServFail;
                let header = Header {
                    metadata,
                    counts: HeaderCounts::default(),
                };
                let mut encoder = BinEncoder::new(&mut bytes);
                header.emit(&mut encoder)?;
                ResponseInfo::from(header)
            }
        };
        *lock(&self.out) = Some(bytes);
        Ok(info)
    }
}

// `ResponseHandler` is declared with `#[async_trait]`; this is the signature
// that macro produces, written out so we need no extra dependency.
impl ResponseHandler for CaptureResponder {
    fn send_response<'a, 'life0, 'life1, 'async_trait>(
        &'life0 mut self,
        response: MessageResponse<
            'life1,
            'a,
            impl 'async_trait + Iterator<Item = &'a Record> + Send + 'a,
            impl 'async_trait + Iterator<Item = &'a Record> + Send + 'a,
            impl 'async_trait + Iterator<Item = &'a Record> + Send + 'a,
            impl 'async_trait + Iterator<Item = &'a Record> + Send + 'a,
        >,
    ) -> Pin<Box<dyn Future<Output = Result<ResponseInfo, NetError>> + Send + 'async_trait>>
    where
        'a: 'async_trait,
        'life0: 'async_trait,
        'life1: 'async_trait,
        Self: 'async_trait,
    {
        let result = self.encode(response);
        Box::pin(std::future::ready(result))
    }
}

fn resolver_with(
    server: SocketAddr,
    tcp_only: bool,
    log: Option<DnsQueryLog>,
) -> Result<DnsResolver, DnsError> {
    let mut ns = if tcp_only {
        NameServerConfig::tcp(server.ip())
    } else {
        NameServerConfig::udp_and_tcp(server.ip())
    };
    for c in &mut ns.connections {
        c.port = server.port();
    }
    let config = ResolverConfig::from_name_servers(vec![ns]);
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_secs(2);
    opts.attempts = 1;
    opts.num_concurrent_reqs = 1;
    opts.try_tcp_on_error = !tcp_only;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.cache_size = 0;
    opts.positive_max_ttl = Some(Duration::ZERO);
    opts.negative_max_ttl = Some(Duration::ZERO);
    DnsResolver::builder_with_config(config, RecordingRuntime::new(log))
        .with_options(opts)
        .build()
        .map_err(|e| DnsError::Resolver(e.to_string()))
}

/// A resolver that asks only `server` (UDP, falling back to TCP), does not
/// cache, makes one attempt with a 2 s timeout, and ignores /etc/hosts.
pub fn resolver(server: SocketAddr) -> Result<DnsResolver, DnsError> {
    resolver_with(server, false, None)
}

/// Like [`resolver`] but over TCP only.
pub fn resolver_tcp_only(server: SocketAddr) -> Result<DnsResolver, DnsError> {
    resolver_with(server, true, None)
}

/// Like [`resolver`] (`tcp_only`: [`resolver_tcp_only`]), recording every
/// query and answer into `log` when there is one (a DNS server that is not
/// ours, whose own side no log sees).
pub fn resolver_recorded(
    server: SocketAddr,
    tcp_only: bool,
    log: Option<DnsQueryLog>,
) -> Result<DnsResolver, DnsError> {
    resolver_with(server, tcp_only, log)
}
