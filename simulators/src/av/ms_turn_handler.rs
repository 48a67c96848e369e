//! The reference A/V Edge's MS-TURN side ([MS-TURN], what a Lync 2013 A/V
//! Edge speaks) on the same sockets as RFC 5389: an Allocate without
//! credentials gets the digest challenge (error response 0x0113, ERROR-CODE
//! 401, REALM 0x0015 and NONCE 0x0014); unknown mandatory attributes get
//! 420; a message without the leading Magic Cookie attribute is ignored
//! (§3.1.10). A credentialed Allocate (§3.1.12, §3.3.5.1) is verified
//! (432 without Username, 434/435 without Realm/Nonce, 436 for an unknown
//! user, 438 for a stale nonce, the 401 challenge for a wrong digest) and
//! answered 0x0103 with the relay as Mapped Address; LIFETIME 0 deletes it.
//! Send and Set Active Destination go to `ms_turn_relay`.

use std::sync::Arc;
use std::time::Duration;

use picharness_wire::ms_turn::{
    MsIntegrity, MsTurnError, MsTurnMessage, check_ms_integrity, encode_ms_address, ms_attr,
    ms_type,
};

use super::ms_turn_relay::{handle_send, handle_set_active_destination};
use super::relay::open_allocation;
use super::server::{AvState, ClientPath, lock};

/// Allocation lifetime granted to MS-TURN clients, in seconds.
const LIFETIME: u32 = 600;

fn error_code(code: u16, reason: &str) -> Vec<u8> {
    let mut value = vec![
        0,
        0,
        u8::try_from(code / 100).unwrap_or(0),
        u8::try_from(code % 100).unwrap_or(0),
    ];
    value.extend_from_slice(reason.as_bytes());
    value
}

/// The Allocate error response with the digest challenge.
fn challenge(state: &AvState, transaction_id: [u8; 16]) -> Vec<u8> {
    MsTurnMessage::new(ms_type::ALLOCATE_ERROR_RESPONSE, transaction_id)
        .with(ms_attr::ERROR_CODE, &error_code(401, "Unauthorized"))
        .with(ms_attr::REALM, state.config.realm.as_bytes())
        .with(ms_attr::NONCE, state.nonce.as_bytes())
        .with(ms_attr::MS_VERSION, &3u32.to_be_bytes())
        .encode()
}

/// An MS-TURN message from a client.
pub(crate) fn handle_ms_turn(state: &Arc<AvState>, path: &ClientPath, bytes: &[u8]) {
    let message = match MsTurnMessage::parse(bytes) {
        Ok(message) => message,
        Err(MsTurnError::MissingMagicCookie)
            if state.config.behaviour.ms_turn_accept_without_cookie =>
        {
            // The fault: answer what §3.1.10 says must be ignored.
            let mut transaction_id = [0u8; 16];
            transaction_id.copy_from_slice(&bytes[4..20]);
            path.send(challenge(state, transaction_id));
            return;
        }
        Err(_) => return,
    };
    match message.message_type {
        ms_type::ALLOCATE_REQUEST => {}
        ms_type::SEND_REQUEST => return handle_send(state, path, &message, bytes),
        ms_type::SET_ACTIVE_DESTINATION_REQUEST => {
            return handle_set_active_destination(state, path, &message, bytes);
        }
        _ => return,
    }
    let unknown = message.unknown_mandatory();
    if !unknown.is_empty() && !state.config.behaviour.ignore_unknown_attributes {
        let list: Vec<u8> = unknown.iter().flat_map(|k| k.to_be_bytes()).collect();
        let reply = MsTurnMessage::new(ms_type::ALLOCATE_ERROR_RESPONSE, message.transaction_id)
            .with(ms_attr::ERROR_CODE, &error_code(420, "Unknown Attribute"))
            .with(ms_attr::UNKNOWN_ATTRIBUTES, &list)
            .encode();
        path.send(reply);
        return;
    }
    if message.attribute(ms_attr::MESSAGE_INTEGRITY).is_some() {
        path.send(credentialed_allocate(state, path, &message, bytes));
        return;
    }
    if state.config.behaviour.no_auth {
        let reply = MsTurnMessage::new(ms_type::ALLOCATE_RESPONSE, message.transaction_id)
            .with(ms_attr::MS_VERSION, &3u32.to_be_bytes())
            .encode();
        path.send(reply);
        return;
    }
    path.send(challenge(state, message.transaction_id));
}

fn text(message: &MsTurnMessage, kind: u16) -> Option<String> {
    message
        .attribute(kind)
        .and_then(|a| String::from_utf8(a.value.clone()).ok())
}

fn plain_error(transaction_id: [u8; 16], code: u16, reason: &str) -> Vec<u8> {
    MsTurnMessage::new(ms_type::ALLOCATE_ERROR_RESPONSE, transaction_id)
        .with(ms_attr::ERROR_CODE, &error_code(code, reason))
        .encode()
}

/// The second Allocate of the digest exchange ([MS-TURN] §3.3.5.1).
fn credentialed_allocate(
    state: &Arc<AvState>,
    path: &ClientPath,
    message: &MsTurnMessage,
    bytes: &[u8],
) -> Vec<u8> {
    let id = message.transaction_id;
    let Some(username) = text(message, ms_attr::USERNAME) else {
        return plain_error(id, 432, "Missing Username");
    };
    let Some(realm) = text(message, ms_attr::REALM) else {
        return plain_error(id, 434, "Missing Realm");
    };
    let Some(nonce) = text(message, ms_attr::NONCE) else {
        return plain_error(id, 435, "Missing Nonce");
    };
    if username != state.config.username {
        return plain_error(id, 436, "Unknown User");
    }
    if nonce != state.nonce {
        return MsTurnMessage::new(ms_type::ALLOCATE_ERROR_RESPONSE, id)
            .with(ms_attr::ERROR_CODE, &error_code(438, "Stale Nonce"))
            .with(ms_attr::REALM, state.config.realm.as_bytes())
            .with(ms_attr::NONCE, state.nonce.as_bytes())
            .encode();
    }
    if realm != state.config.realm || check_ms_integrity(bytes, &state.key) != MsIntegrity::Valid {
        return challenge(state, id);
    }
    let asked = message
        .attribute(ms_attr::LIFETIME)
        .filter(|a| a.value.len() == 4)
        .map(|a| u32::from_be_bytes([a.value[0], a.value[1], a.value[2], a.value[3]]));
    let mut allocations = lock(&state.allocations);
    if asked == Some(0) {
        allocations.remove(&path.key());
        return MsTurnMessage::new(ms_type::ALLOCATE_RESPONSE, id)
            .with(ms_attr::LIFETIME, &0u32.to_be_bytes())
            .encode_with_integrity(&state.key);
    }
    if allocations.contains_key(&path.key()) {
        return plain_error(id, 437, "Allocation Mismatch");
    }
    let lifetime = Duration::from_secs(u64::from(LIFETIME));
    let Ok(allocation) = open_allocation(state, path.clone(), lifetime, true) else {
        return plain_error(id, 508, "Insufficient Capacity");
    };
    let relayed = allocation.relayed;
    allocations.insert(path.key(), allocation);
    MsTurnMessage::new(ms_type::ALLOCATE_RESPONSE, id)
        .with(ms_attr::MAPPED_ADDRESS, &encode_ms_address(relayed))
        .with(ms_attr::LIFETIME, &LIFETIME.to_be_bytes())
        .with(ms_attr::MS_VERSION, &3u32.to_be_bytes())
        .encode_with_integrity(&state.key)
}
