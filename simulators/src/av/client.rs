//! The harness's side of STUN/TURN: UDP sockets and TCP connections that
//! record every datagram and byte (the case trace), request/response
//! matching by transaction id with bounded retransmission, and a TURN
//! client with the long-term credential dance (RFC 5389 §10.2, RFC 5766).

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use picharness_reports::{Datagram, TcpStream as CapturedStream};
use picharness_wire::stun::{
    ChannelData, Check, Class, MessageBuilder, Method, StreamFrame, StunMessage, StunStreamDecoder,
    attr, long_term_key, method,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, UdpSocket};
use tokio::time::Instant;

use super::server::lock;
use crate::tls::{ConnectionRecord, RecordingStream, TcpRole};

/// First retransmission timeout for STUN over UDP (RFC 5389 §7.2.1).
const INITIAL_RTO: Duration = Duration::from_millis(500);

/// What went wrong talking to an A/V Edge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AvClientError {
    #[error("{0}")]
    Io(String),
    #[error("no answer to {0} before the deadline")]
    Timeout(String),
    #[error("the A/V Edge closed the TCP connection")]
    Closed,
    #[error("the A/V Edge sent bytes that are not STUN: {0}")]
    Malformed(String),
    #[error("{0}")]
    ErrorResponse(String),
    #[error("{0} carries a MESSAGE-INTEGRITY that does not verify")]
    BadIntegrity(String),
    #[error("{0} carries a FINGERPRINT that does not verify")]
    BadFingerprint(String),
}

fn io(e: &std::io::Error) -> AvClientError {
    AvClientError::Io(e.to_string())
}

/// Datagrams recorded at the harness's UDP sockets, shared by a case's
/// sockets. It keeps at most [`MAX_CASE_DATAGRAM_BYTES`] of payload (a
/// good RTP stream is about 25 kB) and counts the rest, so an A/V Edge that
/// floods a case's sockets cannot grow the harness's memory without bound.
#[derive(Debug, Clone, Default)]
pub struct DatagramLog(Arc<Mutex<KeptDatagrams>>);

#[derive(Debug, Default)]
struct KeptDatagrams {
    datagrams: Vec<Datagram>,
    bytes: usize,
    not_kept: u64,
}

/// The most datagram payload one case's log keeps.
pub const MAX_CASE_DATAGRAM_BYTES: usize = 2 * 1024 * 1024;

impl DatagramLog {
    fn push(&self, datagram: Datagram) {
        let mut kept = lock(&self.0);
        if kept.bytes + datagram.bytes.len() > MAX_CASE_DATAGRAM_BYTES {
            kept.not_kept += 1;
            return;
        }
        kept.bytes += datagram.bytes.len();
        kept.datagrams.push(datagram);
    }

    pub fn snapshot(&self) -> Vec<Datagram> {
        lock(&self.0).datagrams.clone()
    }

    /// Datagrams counted but not kept.
    pub fn not_kept(&self) -> u64 {
        lock(&self.0).not_kept
    }
}

/// A UDP socket whose every datagram, sent or received, is recorded.
#[derive(Debug)]
pub struct RecordingUdp {
    socket: UdpSocket,
    local: SocketAddr,
    log: DatagramLog,
}

/// Binds a recording UDP socket on `ip` (ephemeral port).
pub async fn bind_recording_udp(
    ip: IpAddr,
    log: DatagramLog,
) -> Result<RecordingUdp, AvClientError> {
    let socket = UdpSocket::bind(SocketAddr::new(ip, 0))
        .await
        .map_err(|e| io(&e))?;
    let local = socket.local_addr().map_err(|e| io(&e))?;
    Ok(RecordingUdp { socket, local, log })
}

impl RecordingUdp {
    pub fn local(&self) -> SocketAddr {
        self.local
    }

    pub async fn send_to(&self, bytes: &[u8], to: SocketAddr) -> Result<(), AvClientError> {
        crate::destinations::check_destination(to)
            .map_err(|refused| AvClientError::Io(refused.to_string()))?;
        self.log.push(Datagram {
            at: SystemTime::now(),
            source: self.local,
            destination: to,
            bytes: bytes.to_vec(),
        });
        self.socket
            .send_to(bytes, to)
            .await
            .map(|_| ())
            .map_err(|e| io(&e))
    }

    /// The next datagram before `deadline`, with its arrival time.
    pub async fn recv_until(&self, deadline: Instant) -> Option<(Vec<u8>, SocketAddr, SystemTime)> {
        let mut buffer = vec![0u8; 65_536];
        loop {
            let received = tokio::time::timeout_at(deadline, self.socket.recv_from(&mut buffer))
                .await
                .ok()?;
            let Ok((len, from)) = received else {
                // ICMP port unreachable surfaces as an error on some systems: keep waiting.
                continue;
            };
            let at = SystemTime::now();
            let bytes = buffer[..len].to_vec();
            self.log.push(Datagram {
                at,
                source: from,
                destination: self.local,
                bytes: bytes.clone(),
            });
            return Some((bytes, from, at));
        }
    }
}

/// A recorded TCP connection carrying framed STUN and ChannelData.
#[derive(Debug)]
pub struct StunTcpClient {
    stream: RecordingStream<tokio::net::TcpStream>,
    record: ConnectionRecord,
    decoder: StunStreamDecoder,
    pub local: SocketAddr,
    pub remote: SocketAddr,
}

/// A recorded TCP connection from `local_ip` (any port) to `remote`, opened
/// before `deadline` if the destination allow-list permits it; with the
/// local address it got.
pub(crate) async fn connect_recorded(
    local_ip: IpAddr,
    remote: SocketAddr,
    deadline: Instant,
) -> Result<
    (
        RecordingStream<tokio::net::TcpStream>,
        ConnectionRecord,
        SocketAddr,
    ),
    AvClientError,
> {
    crate::destinations::check_destination(remote)
        .map_err(|refused| AvClientError::Io(refused.to_string()))?;
    let socket = TcpSocket::new_v4().map_err(|e| io(&e))?;
    socket
        .bind(SocketAddr::new(local_ip, 0))
        .map_err(|e| io(&e))?;
    let tcp = tokio::time::timeout_at(deadline, socket.connect(remote))
        .await
        .map_err(|_| AvClientError::Timeout(format!("a TCP connection to {remote}")))?
        .map_err(|e| AvClientError::Io(format!("TCP connect to {remote}: {e}")))?;
    let local = tcp.local_addr().map_err(|e| io(&e))?;
    let (stream, record) = RecordingStream::from_tcp(tcp, TcpRole::Client).map_err(|e| io(&e))?;
    Ok((stream, record, local))
}

impl StunTcpClient {
    /// Connects from `local_ip` to `remote` before `deadline`.
    pub async fn connect(
        local_ip: IpAddr,
        remote: SocketAddr,
        deadline: Instant,
    ) -> Result<Self, AvClientError> {
        let (stream, record, local) = connect_recorded(local_ip, remote, deadline).await?;
        Ok(Self {
            stream,
            record,
            decoder: StunStreamDecoder::default(),
            local,
            remote,
        })
    }

    pub fn capture(&self) -> CapturedStream {
        self.record.snapshot()
    }

    /// The live record of this connection's bytes.
    pub fn record(&self) -> &ConnectionRecord {
        &self.record
    }

    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), AvClientError> {
        self.stream.write_all(bytes).await.map_err(|e| io(&e))
    }

    /// The next frame before `deadline`; `Ok(None)` at the deadline.
    pub async fn next_frame(
        &mut self,
        deadline: Instant,
    ) -> Result<Option<StreamFrame>, AvClientError> {
        let mut buffer = vec![0u8; 16_384];
        loop {
            match self.decoder.next_frame() {
                Ok(Some(frame)) => return Ok(Some(frame)),
                Ok(None) => {}
                Err(e) => return Err(AvClientError::Malformed(e.to_string())),
            }
            let Ok(read) = tokio::time::timeout_at(deadline, self.stream.read(&mut buffer)).await
            else {
                return Ok(None);
            };
            match read {
                Ok(0) => return Err(AvClientError::Closed),
                Ok(len) => self.decoder.push(&buffer[..len]),
                Err(e) => return Err(io(&e)),
            }
        }
    }
}

/// How a TURN client reaches its server.
#[derive(Debug)]
pub enum TurnTransport {
    Udp {
        socket: RecordingUdp,
        server: SocketAddr,
    },
    Tcp(StunTcpClient),
}

/// Data that came back through the relay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relayed {
    /// XOR-PEER-ADDRESS of a Data indication; `None` for ChannelData.
    pub peer: Option<SocketAddr>,
    pub channel: Option<u16>,
    pub data: Vec<u8>,
    pub at: SystemTime,
}

/// Something the server sent.
enum Incoming {
    Stun(StunMessage),
    Channel(ChannelData, SystemTime),
}

impl TurnTransport {
    pub fn local(&self) -> SocketAddr {
        match self {
            Self::Udp { socket, .. } => socket.local(),
            Self::Tcp(tcp) => tcp.local,
        }
    }

    pub fn server(&self) -> SocketAddr {
        match self {
            Self::Udp { server, .. } => *server,
            Self::Tcp(tcp) => tcp.remote,
        }
    }

    pub fn is_tcp(&self) -> bool {
        matches!(self, Self::Tcp(_))
    }

    /// The TCP record, if this is TCP.
    pub fn record(&self) -> Option<&ConnectionRecord> {
        match self {
            Self::Udp { .. } => None,
            Self::Tcp(tcp) => Some(tcp.record()),
        }
    }

    /// The TCP capture, if this is TCP.
    pub fn capture(&self) -> Option<CapturedStream> {
        match self {
            Self::Udp { .. } => None,
            Self::Tcp(tcp) => Some(tcp.capture()),
        }
    }

    pub async fn send(&mut self, bytes: &[u8]) -> Result<(), AvClientError> {
        match self {
            Self::Udp { socket, server } => socket.send_to(bytes, *server).await,
            Self::Tcp(tcp) => tcp.send(bytes).await,
        }
    }

    async fn receive(&mut self, deadline: Instant) -> Result<Option<Incoming>, AvClientError> {
        loop {
            let (bytes, at) = match self {
                Self::Udp { socket, server } => {
                    let Some((bytes, from, at)) = socket.recv_until(deadline).await else {
                        return Ok(None);
                    };
                    if from != *server {
                        continue;
                    }
                    (bytes, at)
                }
                Self::Tcp(tcp) => match tcp.next_frame(deadline).await? {
                    None => return Ok(None),
                    Some(StreamFrame::Stun(bytes)) => (bytes, SystemTime::now()),
                    Some(StreamFrame::ChannelData(data)) => {
                        return Ok(Some(Incoming::Channel(data, SystemTime::now())));
                    }
                },
            };
            if bytes.first().is_some_and(|b| b >> 6 == 0b01) {
                match ChannelData::parse(&bytes) {
                    Some(data) => return Ok(Some(Incoming::Channel(data, at))),
                    None => continue,
                }
            }
            return match StunMessage::parse(&bytes) {
                Ok(message) => Ok(Some(Incoming::Stun(message))),
                Err(e) => Err(AvClientError::Malformed(e.to_string())),
            };
        }
    }
}

/// Long-term credentials for TURN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnCredentials {
    pub username: String,
    pub password: String,
}

/// A TURN (and STUN) client over one transport.
#[derive(Debug)]
pub struct TurnClient {
    pub transport: TurnTransport,
    credentials: TurnCredentials,
    realm: Option<String>,
    nonce: Option<String>,
    key: Option<Vec<u8>>,
    relayed: VecDeque<Relayed>,
}

/// An Allocate that succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocated {
    pub relayed: SocketAddr,
    pub mapped: Option<SocketAddr>,
    pub lifetime: Option<u32>,
}

impl TurnClient {
    pub fn new(transport: TurnTransport, credentials: TurnCredentials) -> Self {
        Self {
            transport,
            credentials,
            realm: None,
            nonce: None,
            key: None,
            relayed: VecDeque::new(),
        }
    }

    /// Sends a request and waits for the response with its transaction id,
    /// retransmitting over UDP (500 ms, doubling) until `deadline`. Data
    /// that arrives meanwhile is kept for [`Self::recv_relayed`].
    pub async fn transact(
        &mut self,
        request: &[u8],
        deadline: Instant,
    ) -> Result<StunMessage, AvClientError> {
        let parsed =
            StunMessage::parse(request).map_err(|e| AvClientError::Malformed(e.to_string()))?;
        let what = format!("{} request", parsed.method.name());
        let mut rto = INITIAL_RTO;
        loop {
            self.transport.send(request).await?;
            let resend_at = if self.transport.is_tcp() {
                deadline
            } else {
                (Instant::now() + rto).min(deadline)
            };
            rto *= 2;
            loop {
                match self.transport.receive(resend_at).await? {
                    None => break,
                    Some(Incoming::Stun(m)) if m.transaction_id == parsed.transaction_id => {
                        if m.check_fingerprint() == Check::Invalid {
                            return Err(AvClientError::BadFingerprint(m.summary()));
                        }
                        return Ok(m);
                    }
                    Some(Incoming::Stun(m)) => self.keep_data_indication(&m),
                    Some(Incoming::Channel(data, at)) => self.relayed.push_back(Relayed {
                        peer: None,
                        channel: Some(data.channel),
                        data: data.data,
                        at,
                    }),
                }
            }
            if Instant::now() >= deadline {
                return Err(AvClientError::Timeout(format!(
                    "the {what} sent to {}",
                    self.transport.server()
                )));
            }
        }
    }

    fn keep_data_indication(&mut self, message: &StunMessage) {
        if message.class == Class::Indication
            && message.method == method::DATA
            && let Some(data) = message.attribute(attr::DATA)
        {
            self.relayed.push_back(Relayed {
                peer: message.xor_address(attr::XOR_PEER_ADDRESS),
                channel: None,
                data: data.value.clone(),
                at: SystemTime::now(),
            });
        }
    }

    /// A Binding request (with FINGERPRINT) and its response.
    pub async fn binding(&mut self, deadline: Instant) -> Result<StunMessage, AvClientError> {
        let request =
            MessageBuilder::new(Class::Request, method::BINDING, rand::random()).build(None, true);
        self.transact(&request, deadline).await
    }

    /// Allocate with no credentials: the response should be the 401 challenge.
    /// Realm and nonce are remembered when it is.
    pub async fn unauthenticated_allocate(
        &mut self,
        deadline: Instant,
    ) -> Result<StunMessage, AvClientError> {
        let request = MessageBuilder::new(Class::Request, method::ALLOCATE, rand::random())
            .attribute(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
            .build(None, true);
        let response = self.transact(&request, deadline).await?;
        self.learn_challenge(&response);
        Ok(response)
    }

    fn learn_challenge(&mut self, response: &StunMessage) {
        if response.class != Class::ErrorResponse {
            return;
        }
        if let (Some(realm), Some(nonce)) = (response.text(attr::REALM), response.text(attr::NONCE))
        {
            self.key = Some(long_term_key(
                &self.credentials.username,
                &realm,
                &self.credentials.password,
            ));
            self.realm = Some(realm);
            self.nonce = Some(nonce);
        }
    }

    /// Sends an authenticated request built by `attributes` (USERNAME, REALM,
    /// NONCE and MESSAGE-INTEGRITY are added); retries once on a 401/438
    /// carrying a fresh nonce. A success whose MESSAGE-INTEGRITY does not
    /// verify is an error; error responses are returned as messages.
    pub async fn authenticated(
        &mut self,
        method: Method,
        attributes: impl Fn(MessageBuilder) -> MessageBuilder,
        deadline: Instant,
    ) -> Result<StunMessage, AvClientError> {
        if self.key.is_none() {
            let probe = attributes(MessageBuilder::new(Class::Request, method, rand::random()))
                .build(None, true);
            let response = self.transact(&probe, deadline).await?;
            if response.class != Class::ErrorResponse || response.text(attr::NONCE).is_none() {
                return Ok(response);
            }
            self.learn_challenge(&response);
        }
        let mut retried = false;
        loop {
            let (Some(key), Some(realm), Some(nonce)) =
                (self.key.clone(), self.realm.clone(), self.nonce.clone())
            else {
                return Err(AvClientError::ErrorResponse(
                    "the server never sent REALM and NONCE".to_owned(),
                ));
            };
            let request = attributes(MessageBuilder::new(Class::Request, method, rand::random()))
                .text(attr::USERNAME, &self.credentials.username)
                .text(attr::REALM, &realm)
                .text(attr::NONCE, &nonce)
                .build(Some(&key), true);
            let response = self.transact(&request, deadline).await?;
            let challenged = response
                .error_code()
                .is_some_and(|e| e.code == 401 || e.code == 438);
            if challenged && !retried && response.text(attr::NONCE).is_some_and(|n| n != nonce) {
                self.learn_challenge(&response);
                retried = true;
                continue;
            }
            if response.check_integrity(&key) == Check::Invalid {
                return Err(AvClientError::BadIntegrity(response.summary()));
            }
            return Ok(response);
        }
    }

    fn success(response: StunMessage) -> Result<StunMessage, AvClientError> {
        if response.class == Class::SuccessResponse {
            Ok(response)
        } else {
            Err(AvClientError::ErrorResponse(format!(
                "the A/V Edge answered {}",
                response.summary()
            )))
        }
    }

    /// Allocate (UDP relay) with the credential challenge.
    pub async fn allocate(&mut self, deadline: Instant) -> Result<Allocated, AvClientError> {
        let response = self
            .authenticated(
                method::ALLOCATE,
                |b| b.attribute(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0]),
                deadline,
            )
            .await?;
        let response = Self::success(response)?;
        let relayed = response
            .xor_address(attr::XOR_RELAYED_ADDRESS)
            .ok_or_else(|| {
                AvClientError::ErrorResponse(
                    "the Allocate success response has no XOR-RELAYED-ADDRESS".to_owned(),
                )
            })?;
        Ok(Allocated {
            relayed,
            mapped: response.xor_address(attr::XOR_MAPPED_ADDRESS),
            lifetime: response.u32_value(attr::LIFETIME),
        })
    }

    pub async fn create_permission(
        &mut self,
        peer: SocketAddr,
        deadline: Instant,
    ) -> Result<(), AvClientError> {
        let response = self
            .authenticated(
                method::CREATE_PERMISSION,
                |b| b.xor_address(attr::XOR_PEER_ADDRESS, peer),
                deadline,
            )
            .await?;
        Self::success(response).map(|_| ())
    }

    pub async fn channel_bind(
        &mut self,
        channel: u16,
        peer: SocketAddr,
        deadline: Instant,
    ) -> Result<(), AvClientError> {
        let mut number = channel.to_be_bytes().to_vec();
        number.extend_from_slice(&[0, 0]);
        let response = self
            .authenticated(
                method::CHANNEL_BIND,
                |b| {
                    b.attribute(attr::CHANNEL_NUMBER, &number)
                        .xor_address(attr::XOR_PEER_ADDRESS, peer)
                },
                deadline,
            )
            .await?;
        Self::success(response).map(|_| ())
    }

    /// Refresh with `lifetime` seconds (0 deletes); returns the granted lifetime.
    pub async fn refresh(
        &mut self,
        lifetime: u32,
        deadline: Instant,
    ) -> Result<Option<u32>, AvClientError> {
        let response = self
            .authenticated(
                method::REFRESH,
                |b| b.u32_value(attr::LIFETIME, lifetime),
                deadline,
            )
            .await?;
        Self::success(response).map(|r| r.u32_value(attr::LIFETIME))
    }

    pub async fn send_indication(
        &mut self,
        peer: SocketAddr,
        data: &[u8],
    ) -> Result<(), AvClientError> {
        let indication = MessageBuilder::new(Class::Indication, method::SEND, rand::random())
            .xor_address(attr::XOR_PEER_ADDRESS, peer)
            .attribute(attr::DATA, data)
            .build(None, true);
        self.transport.send(&indication).await
    }

    pub async fn send_channel_data(
        &mut self,
        channel: u16,
        data: &[u8],
    ) -> Result<(), AvClientError> {
        let padded = self.transport.is_tcp();
        let bytes = ChannelData {
            channel,
            data: data.to_vec(),
        }
        .encode(padded);
        self.transport.send(&bytes).await
    }

    /// The next relayed data before `deadline`.
    pub async fn recv_relayed(
        &mut self,
        deadline: Instant,
    ) -> Result<Option<Relayed>, AvClientError> {
        if let Some(kept) = self.relayed.pop_front() {
            return Ok(Some(kept));
        }
        loop {
            match self.transport.receive(deadline).await? {
                None => return Ok(None),
                Some(Incoming::Channel(data, at)) => {
                    return Ok(Some(Relayed {
                        peer: None,
                        channel: Some(data.channel),
                        data: data.data,
                        at,
                    }));
                }
                Some(Incoming::Stun(m)) => {
                    self.keep_data_indication(&m);
                    if let Some(kept) = self.relayed.pop_front() {
                        return Ok(Some(kept));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod log_tests {
    use super::*;

    #[test]
    fn a_flood_of_datagrams_is_counted_past_the_cap() {
        let log = DatagramLog::default();
        for _ in 0..3_000 {
            log.push(Datagram {
                at: SystemTime::UNIX_EPOCH,
                source: "127.0.0.1:1".parse().expect("address"),
                destination: "127.0.0.1:2".parse().expect("address"),
                bytes: vec![0; 1_200],
            });
        }
        let kept: usize = log.snapshot().iter().map(|d| d.bytes.len()).sum();
        assert!(kept <= MAX_CASE_DATAGRAM_BYTES);
        assert_eq!(log.snapshot().len() as u64 + log.not_kept(), 3_000);
        assert!(log.not_kept() > 0);
    }
}
