//! What the reference A/V Edge is told at start: where it listens, its
//! relay range, its long-term credentials, and which faults it plays.

use std::net::{IpAddr, SocketAddr};
use std::ops::RangeInclusive;

/// The media relay range of a Lync 2013 A/V Edge's external interface.
pub const RELAY_PORTS: RangeInclusive<u16> = 50_000..=59_999;

/// Deliberate defects of the reference A/V Edge (each maps to a `Fault`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AvBehaviour {
    /// Binding responses carry a XOR-MAPPED-ADDRESS one port off.
    pub wrong_mapped_address: bool,
    /// Allocate succeeds without MESSAGE-INTEGRITY (no 401 challenge).
    pub no_auth: bool,
    /// Nothing listens on TCP 443.
    pub no_tcp_443: bool,
    /// Relay ports come from 40,000-49,999.
    pub relay_out_of_range: bool,
    /// Data arriving at a relay from the peer is dropped.
    pub drop_inbound_relay: bool,
    /// Every tenth packet a relay forwards (either way) is dropped.
    pub lossy_relay: bool,
    /// Unknown comprehension-required attributes are ignored instead of
    /// answered with 420.
    pub ignore_unknown_attributes: bool,
    /// MS-TURN messages without the leading Magic Cookie attribute are
    /// answered instead of ignored.
    pub ms_turn_accept_without_cookie: bool,
    /// A TCP 443 connection opening with the pseudo-TLS ClientHello is
    /// closed instead of answered with ServerHello and ServerHelloDone.
    pub no_pseudo_tls: bool,
    /// On an MS-TURN TCP connection, an improperly formed message is
    /// skipped and the connection kept, instead of dropped.
    pub ms_turn_tcp_keeps_malformed: bool,
    /// MS-TURN clients get no relaying: Send requests and unencapsulated
    /// data are dropped and no Data Indication is ever sent.
    pub ms_turn_no_relay: bool,
    /// On an MS-TURN TCP connection, Send requests and end-to-end data
    /// frames are dropped (UDP relaying is unaffected).
    pub ms_turn_tcp_no_relay: bool,
    /// Allocations never expire (their lifetime is not enforced).
    pub no_expiry: bool,
    /// Standard TURN allocations relay nothing the client sends: Send
    /// indications and ChannelData are dropped (an allocation with no relay
    /// behind it).
    pub no_relay: bool,
    /// A STUN message with the RFC 5389 cookie that does not parse, or
    /// ChannelData for a channel nobody bound, makes the A/V Edge stop
    /// serving: UDP 3478 and TCP 443 close.
    pub crash_on_bad_input: bool,
}

/// Everything the reference A/V Edge needs to run.
#[derive(Debug, Clone)]
pub struct AvEdgeConfig {
    /// STUN/TURN over UDP (port 3478).
    pub udp: SocketAddr,
    /// STUN/TURN over TCP (port 443).
    pub tcp: SocketAddr,
    /// The external address relays are bound on.
    pub relay_ip: IpAddr,
    pub realm: String,
    pub username: String,
    pub password: String,
    pub behaviour: AvBehaviour,
}

impl AvEdgeConfig {
    /// The range relay ports are drawn from, after faults.
    pub fn relay_ports(&self) -> RangeInclusive<u16> {
        if self.behaviour.relay_out_of_range {
            40_000..=49_999
        } else {
            RELAY_PORTS
        }
    }
}
