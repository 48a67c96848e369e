//! The reference A/V Edge's sockets: STUN/TURN on UDP 3478 and on TCP 443
//! (RFC 5389 §7.2.2 stream framing, or MS-TURN after its pseudo-TLS
//! opening, told apart by the first byte), and the state its allocations
//! share.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use picharness_wire::ms_turn::{MsTcpFrame, MsTcpFrameKind};
use picharness_wire::stun::{
    ChannelData, MAGIC_COOKIE, StreamFrame, StunStreamDecoder, long_term_key,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::config::AvEdgeConfig;
use super::handler::{handle_channel_data, handle_stun};
use super::ms_tcp_server::{opens_ms_turn, serve_ms_turn_tcp};
use super::ms_turn_handler::handle_ms_turn;
use super::ms_turn_relay::handle_unencapsulated;
use super::relay::Allocation;

/// Locks a mutex, carrying on with the data if a holder panicked.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Why the A/V Edge could not start.
#[derive(Debug, thiserror::Error)]
pub enum AvEdgeError {
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: SocketAddr,
        source: std::io::Error,
    },
}

/// Which client an allocation belongs to: transport and source address
/// (the 5-tuple, as the server side is fixed per transport).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct ClientKey {
    pub(crate) tcp: bool,
    pub(crate) client: SocketAddr,
}

/// How to reach a client: its UDP source, or its TCP connection.
#[derive(Debug, Clone)]
pub(crate) enum ClientPath {
    Udp {
        socket: Arc<UdpSocket>,
        client: SocketAddr,
    },
    Tcp {
        tx: mpsc::UnboundedSender<Vec<u8>>,
        client: SocketAddr,
        /// An MS-TURN connection: messages go out in the [MS-TURN] §2.1.4
        /// framing header.
        ms_framing: bool,
    },
}

impl ClientPath {
    pub(crate) fn key(&self) -> ClientKey {
        match self {
            Self::Udp { client, .. } => ClientKey {
                tcp: false,
                client: *client,
            },
            Self::Tcp { client, .. } => ClientKey {
                tcp: true,
                client: *client,
            },
        }
    }

    pub(crate) fn client(&self) -> SocketAddr {
        self.key().client
    }

    /// Sends a STUN message. UDP sends that would block are dropped, as a
    /// congested network would.
    pub(crate) fn send(&self, bytes: Vec<u8>) {
        match self {
            Self::Udp { socket, client } => {
                let _ = socket.try_send_to(&bytes, *client);
            }
            Self::Tcp {
                tx,
                ms_framing: true,
                ..
            } => {
                let frame = MsTcpFrame {
                    kind: MsTcpFrameKind::Control,
                    payload: bytes,
                };
                let _ = tx.send(frame.encode());
            }
            Self::Tcp { tx, .. } => {
                let _ = tx.send(bytes);
            }
        }
    }

    /// Sends end-to-end data from an MS-TURN client's active destination:
    /// bare on UDP, in a data frame (0x03, [MS-TURN] §2.1.4) on TCP.
    pub(crate) fn send_media(&self, bytes: Vec<u8>) {
        match self {
            Self::Tcp {
                tx,
                ms_framing: true,
                ..
            } => {
                let frame = MsTcpFrame {
                    kind: MsTcpFrameKind::Data,
                    payload: bytes,
                };
                let _ = tx.send(frame.encode());
            }
            _ => self.send(bytes),
        }
    }

    /// Sends ChannelData, padded to 32 bits on TCP (RFC 5766 §11.5).
    pub(crate) fn send_channel_data(&self, message: &ChannelData) {
        let padded = matches!(self, Self::Tcp { .. });
        self.send(message.encode(padded));
    }
}

/// State shared by the listeners and the relays.
pub(crate) struct AvState {
    pub(crate) config: AvEdgeConfig,
    pub(crate) nonce: String,
    pub(crate) key: Vec<u8>,
    pub(crate) allocations: Mutex<HashMap<ClientKey, Allocation>>,
    /// Turns `true` when malformed STUN crashed the A/V Edge (fault
    /// `av-crash-on-bad-input`): its listeners close.
    pub(crate) crashed: tokio::sync::watch::Sender<bool>,
}

/// A running reference A/V Edge. Dropping it stops its listeners and relays.
pub struct AvEdge {
    tasks: Vec<JoinHandle<()>>,
    state: Arc<AvState>,
}

impl Drop for AvEdge {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
        lock(&self.state.allocations).clear();
    }
}

impl AvEdge {
    /// Binds UDP 3478 and (unless faulted) TCP 443, and starts serving.
    pub async fn start(config: AvEdgeConfig) -> Result<Self, AvEdgeError> {
        let udp = UdpSocket::bind(config.udp)
            .await
            .map_err(|source| AvEdgeError::Bind {
                address: config.udp,
                source,
            })?;
        let tcp = if config.behaviour.no_tcp_443 {
            None
        } else {
            Some(
                TcpListener::bind(config.tcp)
                    .await
                    .map_err(|source| AvEdgeError::Bind {
                        address: config.tcp,
                        source,
                    })?,
            )
        };
        let key = long_term_key(&config.username, &config.realm, &config.password);
        let state = Arc::new(AvState {
            nonce: format!("{:016x}", rand::random::<u64>()),
            key,
            config,
            allocations: Mutex::new(HashMap::new()),
            crashed: tokio::sync::watch::channel(false).0,
        });
        let mut tasks = vec![tokio::spawn(serve_udp(state.clone(), Arc::new(udp)))];
        if let Some(listener) = tcp {
            tasks.push(tokio::spawn(serve_tcp(state.clone(), listener)));
        }
        Ok(Self { tasks, state })
    }

    /// How many allocations are live (for tests).
    pub fn allocation_count(&self) -> usize {
        lock(&self.state.allocations).len()
    }
}

/// Whether a message with STUN's first two bits is RFC 5389 (the fixed
/// cookie in the header) rather than MS-TURN (a 16-byte transaction id).
fn is_rfc5389(bytes: &[u8]) -> bool {
    bytes.get(4..8) == Some(&MAGIC_COOKIE.to_be_bytes()[..])
}

fn dispatch(state: &Arc<AvState>, path: &ClientPath, bytes: &[u8]) {
    match bytes.first().map(|b| b >> 6) {
        Some(0b00) if is_rfc5389(bytes) => handle_stun(state, path, bytes),
        Some(0b00) => handle_ms_turn(state, path, bytes),
        Some(0b01) => {
            if let Some(message) = ChannelData::parse(bytes) {
                handle_channel_data(state, path, &message);
            }
        }
        _ => handle_unencapsulated(state, path, bytes),
    }
}

async fn serve_udp(state: Arc<AvState>, socket: Arc<UdpSocket>) {
    let mut buffer = vec![0u8; 65_536];
    loop {
        let Ok((len, client)) = socket.recv_from(&mut buffer).await else {
            continue;
        };
        let path = ClientPath::Udp {
            socket: socket.clone(),
            client,
        };
        dispatch(&state, &path, &buffer[..len]);
        if *state.crashed.borrow() {
            return;
        }
    }
}

async fn serve_tcp(state: Arc<AvState>, listener: TcpListener) {
    let mut crashed = state.crashed.subscribe();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = crashed.wait_for(|c| *c) => return,
        };
        let Ok((stream, client)) = accepted else {
            continue;
        };
        tokio::spawn(serve_connection(state.clone(), stream, client));
    }
}

async fn serve_connection(state: Arc<AvState>, stream: TcpStream, client: SocketAddr) {
    let (mut reader, mut writer) = stream.into_split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer_task = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if writer.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut buffer = vec![0u8; 16_384];
    let first = match reader.read(&mut buffer).await {
        Ok(0) | Err(_) => None,
        Ok(len) => buffer.get(..len).map(<[u8]>::to_vec),
    };
    if let Some(opening) = first {
        let ms_framing = opening.first().is_some_and(|b| opens_ms_turn(*b));
        let path = ClientPath::Tcp {
            tx: tx.clone(),
            client,
            ms_framing,
        };
        if ms_framing {
            serve_ms_turn_tcp(&state, &mut reader, &tx, &path, opening).await;
        } else {
            serve_stun_stream(&state, &mut reader, &path, &opening, &mut buffer).await;
        }
        lock(&state.allocations).remove(&path.key());
    }
    drop(tx);
    writer_task.abort();
}

/// RFC 5389 STUN and ChannelData on a TCP connection, starting with the
/// `opening` bytes already read.
async fn serve_stun_stream(
    state: &Arc<AvState>,
    reader: &mut tokio::net::tcp::OwnedReadHalf,
    path: &ClientPath,
    opening: &[u8],
    buffer: &mut [u8],
) {
    let mut decoder = StunStreamDecoder::default();
    decoder.push(opening);
    loop {
        loop {
            match decoder.next_frame() {
                Ok(Some(StreamFrame::Stun(bytes))) => handle_stun(state, path, &bytes),
                Ok(Some(StreamFrame::ChannelData(message))) => {
                    handle_channel_data(state, path, &message);
                }
                Ok(None) => break,
                // Out of sync: close the connection (RFC 5389 gives no way back).
                Err(_) => return,
            }
        }
        let len = match reader.read(buffer).await {
            Ok(0) | Err(_) => return,
            Ok(len) => len,
        };
        decoder.push(&buffer[..len]);
    }
}
