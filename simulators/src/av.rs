//! The A/V Edge side: a reference A/V Edge (STUN on UDP 3478 and TCP 443,
//! TURN with long-term credentials, relays in 50,000-59,999) with fault
//! switches, and the harness's own STUN/TURN/RTP client sockets, which
//! record every datagram and stream byte for the case's trace.

mod client;
mod config;
mod handler;
mod media;
mod ms_client;
mod ms_tcp_client;
mod ms_tcp_server;
mod ms_turn_handler;
mod ms_turn_relay;
mod relay;
mod server;

#[cfg(test)]
mod ms_tcp_tests;
#[cfg(test)]
mod tests;

pub use client::{
    Allocated, AvClientError, DatagramLog, MAX_CASE_DATAGRAM_BYTES, RecordingUdp, Relayed,
    StunTcpClient, TurnClient, TurnCredentials, TurnTransport, bind_recording_udp,
};
pub use config::{AvBehaviour, AvEdgeConfig, RELAY_PORTS};
pub use media::{DirectionStats, PACKET_INTERVAL, StreamReport, stream_through_relay};
pub use ms_client::ms_turn_transact;
pub use ms_tcp_client::{MsTcpRead, MsTurnTcpClient};
pub use server::{AvEdge, AvEdgeError};
