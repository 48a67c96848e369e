//! One TURN allocation: its relay socket in the configured port range, its
//! permissions and channel bindings, its lifetime, and the task that carries
//! peer data back to the client (RFC 5766 §9-11; for an MS-TURN client Data
//! Indications, or the datagram from its active destination: bare on UDP,
//! in a data frame on TCP).

use std::collections::{HashMap, HashSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use picharness_wire::ms_turn::ms_data_indication;
use picharness_wire::stun::{ChannelData, Class, MessageBuilder, attr, method};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::config::AvBehaviour;
use super::server::{AvState, ClientKey, ClientPath, lock};

/// How many random ports are tried before an Allocate gives up (508).
const BIND_ATTEMPTS: usize = 64;

/// The parts of an allocation both the handler and the relay task use.
pub(crate) struct RelayShared {
    pub(crate) permissions: Mutex<HashSet<IpAddr>>,
    pub(crate) channels: Mutex<HashMap<u16, SocketAddr>>,
    pub(crate) expires: Mutex<Instant>,
    /// Whether the client speaks MS-TURN (Data Indications 0x0115).
    pub(crate) ms_turn: bool,
    /// The MS-TURN active destination ([MS-TURN] §3.3.5.3), once set.
    pub(crate) active: Mutex<Option<SocketAddr>>,
    forwarded: AtomicU64,
    behaviour: AvBehaviour,
}

impl RelayShared {
    /// Whether the lossy fault eats this packet (every tenth one).
    fn lossy_drop(&self) -> bool {
        let count = self.forwarded.fetch_add(1, Ordering::Relaxed);
        self.behaviour.lossy_relay && count % 10 == 9
    }

    pub(crate) fn permitted(&self, peer: SocketAddr) -> bool {
        lock(&self.permissions).contains(&peer.ip())
    }

    pub(crate) fn permit(&self, peer: SocketAddr) {
        lock(&self.permissions).insert(peer.ip());
    }

    pub(crate) fn channel_of(&self, peer: SocketAddr) -> Option<u16> {
        lock(&self.channels)
            .iter()
            .find(|(_, p)| **p == peer)
            .map(|(c, _)| *c)
    }
}

/// A live allocation. Dropping it closes the relay.
pub(crate) struct Allocation {
    pub(crate) relayed: SocketAddr,
    pub(crate) shared: Arc<RelayShared>,
    relay: Arc<UdpSocket>,
    task: JoinHandle<()>,
}

impl Drop for Allocation {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Allocation {
    /// Sends client data to a peer through the relay, if permitted.
    pub(crate) fn send_to_peer(&self, peer: SocketAddr, data: &[u8]) {
        if !self.shared.permitted(peer) || self.shared.lossy_drop() {
            return;
        }
        let _ = self.relay.try_send_to(data, peer);
    }
}

fn bind_in_range(state: &AvState) -> std::io::Result<std::net::UdpSocket> {
    let range = state.config.relay_ports();
    let mut last = std::io::Error::other("no port tried");
    for _ in 0..BIND_ATTEMPTS {
        let port = rand::random_range(range.clone());
        match std::net::UdpSocket::bind(SocketAddr::new(state.config.relay_ip, port)) {
            Ok(socket) => return Ok(socket),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Binds a relay socket and starts its task.
pub(crate) fn open_allocation(
    state: &Arc<AvState>,
    path: ClientPath,
    lifetime: Duration,
    ms_turn: bool,
) -> std::io::Result<Allocation> {
    let socket = bind_in_range(state)?;
    socket.set_nonblocking(true)?;
    let relay = Arc::new(UdpSocket::from_std(socket)?);
    let relayed = relay.local_addr()?;
    let shared = Arc::new(RelayShared {
        permissions: Mutex::new(HashSet::new()),
        channels: Mutex::new(HashMap::new()),
        expires: Mutex::new(Instant::now() + lifetime),
        ms_turn,
        active: Mutex::new(None),
        forwarded: AtomicU64::new(0),
        behaviour: state.config.behaviour,
    });
    let task = tokio::spawn(relay_inbound(
        Arc::downgrade(state),
        path,
        relay.clone(),
        shared.clone(),
    ));
    Ok(Allocation {
        relayed,
        shared,
        relay,
        task,
    })
}

/// How long the relay task may wait: until expiry, or (under the no-expiry
/// fault) indefinitely.
fn wait_limit(shared: &RelayShared, expires: Instant) -> Instant {
    if shared.behaviour.no_expiry {
        Instant::now() + Duration::from_secs(3600)
    } else {
        expires
    }
}

/// How a peer's datagram reaches an MS-TURN client.
enum MsDelivery {
    /// From its active destination: bare (UDP) or in a data frame (TCP).
    Media(Vec<u8>),
    /// From any other peer: a Data Indication (in a control frame on TCP).
    Indication(Vec<u8>),
}

/// What an MS-TURN client gets for a datagram from `peer`.
fn ms_turn_delivery(
    shared: &RelayShared,
    path: &ClientPath,
    peer: SocketAddr,
    data: &[u8],
) -> Option<MsDelivery> {
    let tcp_fault = shared.behaviour.ms_turn_tcp_no_relay && path.key().tcp;
    if shared.behaviour.ms_turn_no_relay || tcp_fault {
        return None;
    }
    if *lock(&shared.active) == Some(peer) {
        return Some(MsDelivery::Media(data.to_vec()));
    }
    Some(MsDelivery::Indication(
        ms_data_indication(rand::random(), peer, data).encode(),
    ))
}

/// Carries peer datagrams to the client as ChannelData (when the peer has
/// a channel) or Data indications, and ends the allocation at expiry.
async fn relay_inbound(
    state: Weak<AvState>,
    path: ClientPath,
    relay: Arc<UdpSocket>,
    shared: Arc<RelayShared>,
) {
    let key: ClientKey = path.key();
    let mut buffer = vec![0u8; 65_536];
    loop {
        let expires = *lock(&shared.expires);
        if Instant::now() >= expires && !shared.behaviour.no_expiry {
            if let Some(state) = state.upgrade() {
                lock(&state.allocations).remove(&key);
            }
            return;
        }
        let received =
            tokio::time::timeout_at(wait_limit(&shared, expires), relay.recv_from(&mut buffer))
                .await;
        let Ok(Ok((len, peer))) = received else {
            continue;
        };
        if shared.behaviour.drop_inbound_relay || !shared.permitted(peer) || shared.lossy_drop() {
            continue;
        }
        let data = buffer[..len].to_vec();
        if shared.ms_turn {
            match ms_turn_delivery(&shared, &path, peer, &data) {
                Some(MsDelivery::Media(bytes)) => path.send_media(bytes),
                Some(MsDelivery::Indication(bytes)) => path.send(bytes),
                None => {}
            }
        } else if let Some(channel) = shared.channel_of(peer) {
            path.send_channel_data(&ChannelData { channel, data });
        } else {
            let indication =
                MessageBuilder::new(Class::Indication, method::DATA, rand::random::<[u8; 12]>())
                    .xor_address(attr::XOR_PEER_ADDRESS, peer)
                    .attribute(attr::DATA, &data)
                    .build(None, true);
            path.send(indication);
        }
    }
}
