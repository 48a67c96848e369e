//! The reference A/V Edge's MS-TURN relaying ([MS-TURN] §3.3.5.2,
//! §3.3.5.3): a signed Send request (Destination Address, Data) installs a
//! permission for the destination and relays the data from the allocation,
//! with no response (§2.2.1 forbids 0x0104/0x0114); Set Active Destination
//! is answered 0x0106 (0x0116 with 437 without an allocation, 400 without
//! a Destination Address) and makes the relay forward the client's
//! unencapsulated datagrams to that peer and hand the peer's back bare.
//! Over TCP the same holds with §2.1.4 framing: MS-TURN messages in control
//! frames (0x02), the end-to-end data in data frames (0x03). Data
//! Indications for other peers are sent by the relay task.

use std::sync::Arc;

use picharness_wire::ms_turn::{MsIntegrity, MsTurnMessage, check_ms_integrity, ms_attr, ms_type};

use super::server::{AvState, ClientPath, lock};

/// Whether a request after the Allocate is signed by the configured user
/// (§3.1.11): right Username and a Message Integrity that verifies.
fn signed(state: &AvState, message: &MsTurnMessage, bytes: &[u8]) -> bool {
    let user = message
        .attribute(ms_attr::USERNAME)
        .is_some_and(|a| a.value == state.config.username.as_bytes());
    user && check_ms_integrity(bytes, &state.key) == MsIntegrity::Valid
}

/// Whether a fault turns relaying off for this client's transport.
fn relay_off(state: &AvState, path: &ClientPath) -> bool {
    let behaviour = &state.config.behaviour;
    behaviour.ms_turn_no_relay || (behaviour.ms_turn_tcp_no_relay && path.key().tcp)
}

/// A Send request: relayed when signed and an allocation exists; never answered.
pub(crate) fn handle_send(
    state: &Arc<AvState>,
    path: &ClientPath,
    message: &MsTurnMessage,
    bytes: &[u8],
) {
    if relay_off(state, path) || !signed(state, message, bytes) {
        return;
    }
    let Some(parts) = message.send_request_parts() else {
        return;
    };
    if let Some(allocation) = lock(&state.allocations).get(&path.key())
        && allocation.shared.ms_turn
    {
        allocation.shared.permit(parts.peer);
        allocation.send_to_peer(parts.peer, &parts.data);
    }
}

fn sad_error(state: &AvState, transaction_id: [u8; 16], code: u16, reason: &str) -> Vec<u8> {
    let mut value = vec![
        0,
        0,
        u8::try_from(code / 100).unwrap_or(0),
        u8::try_from(code % 100).unwrap_or(0),
    ];
    value.extend_from_slice(reason.as_bytes());
    MsTurnMessage::new(
        ms_type::SET_ACTIVE_DESTINATION_ERROR_RESPONSE,
        transaction_id,
    )
    .with(ms_attr::ERROR_CODE, &value)
    .encode_with_integrity(&state.key)
}

/// A Set Active Destination request; unsigned ones are ignored.
pub(crate) fn handle_set_active_destination(
    state: &Arc<AvState>,
    path: &ClientPath,
    message: &MsTurnMessage,
    bytes: &[u8],
) {
    if !signed(state, message, bytes) {
        return;
    }
    let id = message.transaction_id;
    let reply = match (
        lock(&state.allocations).get(&path.key()),
        message.address(ms_attr::DESTINATION_ADDRESS),
    ) {
        (None, _) => sad_error(state, id, 437, "Allocation Mismatch"),
        (Some(_), None) => sad_error(state, id, 400, "Bad Request"),
        (Some(allocation), Some(destination)) => {
            allocation.shared.permit(destination);
            *lock(&allocation.shared.active) = Some(destination);
            MsTurnMessage::new(ms_type::SET_ACTIVE_DESTINATION_RESPONSE, id)
                .encode_with_integrity(&state.key)
        }
    };
    path.send(reply);
}

/// End-to-end data from an MS-TURN client (a UDP datagram that is neither
/// STUN nor ChannelData, or the payload of a TCP data frame): relayed bare
/// to its active destination, if it has one.
pub(crate) fn handle_unencapsulated(state: &AvState, path: &ClientPath, bytes: &[u8]) {
    if relay_off(state, path) {
        return;
    }
    if let Some(allocation) = lock(&state.allocations).get(&path.key()) {
        let active = *lock(&allocation.shared.active);
        if let (true, Some(peer)) = (allocation.shared.ms_turn, active) {
            allocation.send_to_peer(peer, bytes);
        }
    }
}
