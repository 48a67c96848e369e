//! The A/V Edge part of the topology: where the SUT's STUN/TURN listeners
//! are, the long-term credentials the harness uses, and the loopback
//! addresses of the harness's A/V client (the Messenger side) and of the
//! media peer (the simulated Lync endpoint). The embedded topology starts
//! the reference A/V Edge here.

use std::net::{IpAddr, SocketAddr};

use picharness_simulators::av::{AvBehaviour, AvEdge, AvEdgeConfig, TurnCredentials};
use picharness_simulators::edge::{Fault, FaultSet};

use super::{EmbeddedAddresses, TopologyError};

/// STUN/TURN over UDP.
pub const STUN_UDP_PORT: u16 = 3478;
/// STUN/TURN over TCP.
pub const STUN_TCP_PORT: u16 = 443;
/// Where the embedded A/V Edge listens for TCP when 443 cannot be bound (not root).
pub(super) const FALLBACK_TCP_PORT: u16 = 10443;

const REALM: &str = "contoso.test";
const USERNAME: &str = "messenger-av";

/// What the harness knows about the SUT's A/V Edge.
#[derive(Debug, Clone)]
pub struct AvView {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub credentials: TurnCredentials,
    /// Where the harness's A/V client binds (ephemeral ports).
    pub client_ip: IpAddr,
    /// Where the media peer binds (ephemeral ports).
    pub peer_ip: IpAddr,
    /// RTP packets each way in the `rtp-stream` check (20 ms apart).
    pub rtp_packets: u32,
    /// Which dialects the A/V Edge is judged in.
    pub dialects: AvDialects,
    /// The longest allocation lifetime, in seconds, the expiry case waits
    /// out (default [`DEFAULT_EXPIRY_WAIT_SECS`]; `--av-expiry-wait`).
    pub expiry_wait_secs: u32,
}

/// The longest lifetime the expiry case waits out unless told otherwise.
pub const DEFAULT_EXPIRY_WAIT_SECS: u32 = 3;
/// The longest lifetime `--av-expiry-wait` may ask the case to wait out
/// (RFC 5766 §6.2 suggests at most 3600 s).
pub const MAX_EXPIRY_WAIT_SECS: u32 = 3600;

/// The TURN dialects an A/V Edge is expected to speak; checks of the other
/// dialect are skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AvDialects {
    /// RFC 5389 STUN / RFC 5766 TURN (coturn and most edges).
    pub standard: bool,
    /// [MS-TURN] (a Lync 2013 A/V Edge).
    pub ms_turn: bool,
}

impl AvDialects {
    pub const BOTH: Self = Self {
        standard: true,
        ms_turn: true,
    };
}

/// RTP packets each way by default: a two-second stream.
pub(super) const DEFAULT_RTP_PACKETS: u32 = 100;
/// The longest stream `--rtp-seconds` may ask for (it must fit the case timeout).
pub const MAX_RTP_SECONDS: u32 = 25;

/// An A/V Edge outside the embedded topology (a real SUT, or coturn).
#[derive(Debug, Clone)]
pub struct ExternalAv {
    pub udp: SocketAddr,
    pub tcp: SocketAddr,
    pub credentials: TurnCredentials,
}

/// How a run treats A/V.
#[derive(Debug, Clone, Default)]
pub struct AvOptions {
    /// A/V is off: the SUT federates IM only, so `av.*` cases are skipped.
    pub disabled: bool,
    /// Judge this A/V Edge instead of the embedded reference one.
    pub external: Option<ExternalAv>,
    /// Length of the RTP stream, in seconds (default 2).
    pub rtp_seconds: Option<u32>,
    /// Dialects to judge (default: both, as the reference A/V Edge speaks both).
    pub dialects: Option<AvDialects>,
    /// The longest granted lifetime the expiry case waits out, in seconds.
    pub expiry_wait_secs: Option<u32>,
}

impl super::Topology {
    /// Applies the run's A/V options to a started topology.
    pub fn apply_av_options(&mut self, options: &AvOptions) {
        if options.disabled {
            self.av = None;
            return;
        }
        let Some(view) = self.av.as_mut() else {
            return;
        };
        if let Some(external) = &options.external {
            view.udp = external.udp;
            view.tcp = external.tcp;
            view.credentials = external.credentials.clone();
        }
        if let Some(dialects) = options.dialects {
            view.dialects = dialects;
        }
        if let Some(seconds) = options.rtp_seconds {
            view.rtp_packets = seconds.clamp(1, MAX_RTP_SECONDS) * 50;
        }
        if let Some(seconds) = options.expiry_wait_secs {
            view.expiry_wait_secs = seconds.clamp(DEFAULT_EXPIRY_WAIT_SECS, MAX_EXPIRY_WAIT_SECS);
        }
    }
}

impl EmbeddedAddresses {
    /// The reference A/V Edge's external address (listeners and relays).
    pub fn av_edge(self) -> IpAddr {
        self.at(0, 12)
    }

    /// The simulated Lync endpoint that is the far end of relayed media.
    pub fn av_peer(self) -> IpAddr {
        self.at(0, 21)
    }

    /// The Messenger-side A/V client.
    pub fn av_client(self) -> IpAddr {
        self.at(1, 100)
    }
}

fn behaviour(faults: &FaultSet) -> AvBehaviour {
    AvBehaviour {
        wrong_mapped_address: faults.has(Fault::AvWrongMappedAddress),
        no_auth: faults.has(Fault::AvNoAuth),
        no_tcp_443: faults.has(Fault::AvNoTcp443),
        relay_out_of_range: faults.has(Fault::AvRelayOutOfRange),
        drop_inbound_relay: faults.has(Fault::AvRelayDropsInbound),
        lossy_relay: faults.has(Fault::AvRelayLossy),
        ignore_unknown_attributes: faults.has(Fault::AvIgnoreUnknownAttributes),
        ms_turn_accept_without_cookie: faults.has(Fault::AvMsTurnAcceptsNoCookie),
        no_pseudo_tls: faults.has(Fault::AvNoPseudoTls),
        ms_turn_tcp_keeps_malformed: faults.has(Fault::AvMsTurnTcpKeepsMalformed),
        ms_turn_no_relay: faults.has(Fault::AvMsTurnNoRelay),
        ms_turn_tcp_no_relay: faults.has(Fault::AvMsTurnTcpNoRelay),
        no_expiry: faults.has(Fault::AvNoExpiry),
        no_relay: faults.has(Fault::AvNoRelay),
        crash_on_bad_input: faults.has(Fault::AvCrashOnBadInput),
    }
}

/// Starts the reference A/V Edge with a fresh random password.
pub(super) async fn start_embedded_av(
    addresses: EmbeddedAddresses,
    faults: &FaultSet,
) -> Result<(AvView, AvEdge), TopologyError> {
    let credentials = TurnCredentials {
        username: USERNAME.to_owned(),
        password: format!("{:016x}", rand::random::<u64>()),
    };
    // TCP 443 is privileged: without root, the A/V Edge listens on a high
    // port instead (the harness reaches it wherever it listens).
    let mut last_error = String::new();
    for tcp_port in [STUN_TCP_PORT, FALLBACK_TCP_PORT] {
        let view = AvView {
            udp: SocketAddr::new(addresses.av_edge(), STUN_UDP_PORT),
            tcp: SocketAddr::new(addresses.av_edge(), tcp_port),
            credentials: credentials.clone(),
            client_ip: addresses.av_client(),
            peer_ip: addresses.av_peer(),
            rtp_packets: DEFAULT_RTP_PACKETS,
            expiry_wait_secs: DEFAULT_EXPIRY_WAIT_SECS,
            dialects: AvDialects::BOTH,
        };
        match AvEdge::start(AvEdgeConfig {
            udp: view.udp,
            tcp: view.tcp,
            relay_ip: addresses.av_edge(),
            realm: REALM.to_owned(),
            username: credentials.username.clone(),
            password: credentials.password.clone(),
            behaviour: behaviour(faults),
        })
        .await
        {
            Ok(edge) => return Ok((view, edge)),
            Err(e) => last_error = e.to_string(),
        }
    }
    Err(TopologyError::Edge(format!("A/V Edge: {last_error}")))
}
