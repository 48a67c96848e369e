//! What the reference A/V Edge answers: Binding (RFC 5389 §7.3), and the
//! TURN methods Allocate, Refresh, CreatePermission, ChannelBind and the
//! Send indication (RFC 5766), behind the long-term credential challenge
//! (RFC 5389 §10.2).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use picharness_wire::stun::{
    CHANNEL_RANGE, ChannelData, Check, Class, MessageBuilder, StunMessage, attr, method,
};
use tokio::time::Instant;

use super::relay::open_allocation;
use super::server::{AvState, ClientPath, lock};

const SOFTWARE: &str = "picharness reference A/V Edge";
const DEFAULT_LIFETIME: u32 = 600;
const MAX_LIFETIME: u32 = 3600;
/// The shortest lifetime granted when a client asks for less than the
/// default (RFC 5766 §6.2 lets the server pick); short enough for a test to
/// watch an allocation expire.
const MIN_LIFETIME: u32 = 2;
/// REQUESTED-TRANSPORT protocol number for UDP.
const UDP_PROTOCOL: u8 = 17;

/// Attribute types this server understands (others < 0x8000 get a 420).
const KNOWN: &[u16] = &[
    attr::MAPPED_ADDRESS,
    attr::USERNAME,
    attr::MESSAGE_INTEGRITY,
    attr::ERROR_CODE,
    attr::UNKNOWN_ATTRIBUTES,
    attr::CHANNEL_NUMBER,
    attr::LIFETIME,
    attr::XOR_PEER_ADDRESS,
    attr::DATA,
    attr::REALM,
    attr::NONCE,
    attr::XOR_RELAYED_ADDRESS,
    attr::REQUESTED_TRANSPORT,
    attr::XOR_MAPPED_ADDRESS,
];

fn response(request: &StunMessage, class: Class) -> MessageBuilder {
    MessageBuilder::new(class, request.method, request.transaction_id)
        .text(attr::SOFTWARE, SOFTWARE)
}

fn error(request: &StunMessage, code: u16, reason: &str, key: Option<&[u8]>) -> Vec<u8> {
    response(request, Class::ErrorResponse)
        .error_code(code, reason)
        .build(key, true)
}

/// A STUN message from a client.
pub(crate) fn handle_stun(state: &Arc<AvState>, path: &ClientPath, bytes: &[u8]) {
    let Ok(request) = StunMessage::parse(bytes) else {
        if state.config.behaviour.crash_on_bad_input {
            state.crashed.send_replace(true);
        }
        return;
    };
    if request.check_fingerprint() == Check::Invalid {
        return;
    }
    if request.class == Class::Indication {
        if request.method == method::SEND {
            send_indication(state, path, &request);
        }
        return;
    }
    if request.class != Class::Request {
        return;
    }
    // A MESSAGE-INTEGRITY is an HMAC-SHA1: 20 bytes (RFC 5389 §15.4).
    if request
        .attribute(attr::MESSAGE_INTEGRITY)
        .is_some_and(|mi| mi.value.len() != 20)
    {
        path.send(error(&request, 400, "Bad Request", None));
        return;
    }
    let unknown = request.unknown_required(KNOWN);
    if !unknown.is_empty() && !state.config.behaviour.ignore_unknown_attributes {
        let list: Vec<u8> = unknown.iter().flat_map(|k| k.to_be_bytes()).collect();
        let reply = response(&request, Class::ErrorResponse)
            .error_code(420, "Unknown Attribute")
            .attribute(attr::UNKNOWN_ATTRIBUTES, &list)
            .build(None, true);
        path.send(reply);
        return;
    }
    if request.method == method::BINDING {
        path.send(binding(state, path, &request));
        return;
    }
    let turn_methods = [
        method::ALLOCATE,
        method::REFRESH,
        method::CREATE_PERMISSION,
        method::CHANNEL_BIND,
    ];
    if !turn_methods.contains(&request.method) {
        path.send(error(&request, 400, "Bad Request", None));
        return;
    }
    let key = match authenticate(state, &request) {
        Ok(key) => key,
        Err(reply) => {
            path.send(reply);
            return;
        }
    };
    let key = key.as_deref();
    let reply = match request.method {
        method::ALLOCATE => allocate(state, path, &request, key),
        method::REFRESH => refresh(state, path, &request, key),
        method::CREATE_PERMISSION => create_permission(state, path, &request, key),
        _ => channel_bind(state, path, &request, key),
    };
    path.send(reply);
}

fn binding(state: &AvState, path: &ClientPath, request: &StunMessage) -> Vec<u8> {
    let mut mapped = path.client();
    if state.config.behaviour.wrong_mapped_address {
        mapped.set_port(mapped.port().wrapping_add(1));
    }
    response(request, Class::SuccessResponse)
        .xor_address(attr::XOR_MAPPED_ADDRESS, mapped)
        .build(None, true)
}

/// The long-term credential check: `Ok(Some(key))` when the request is
/// signed right, `Ok(None)` when the no-auth fault lets it through
/// unsigned, `Err(reply)` with a 401 (or 438) otherwise.
fn authenticate(state: &AvState, request: &StunMessage) -> Result<Option<Vec<u8>>, Vec<u8>> {
    let challenge = |code: u16, reason: &str| {
        response(request, Class::ErrorResponse)
            .error_code(code, reason)
            .text(attr::REALM, &state.config.realm)
            .text(attr::NONCE, &state.nonce)
            .build(None, true)
    };
    if request.attribute(attr::MESSAGE_INTEGRITY).is_none() {
        if state.config.behaviour.no_auth {
            return Ok(None);
        }
        return Err(challenge(401, "Unauthorized"));
    }
    let fields = (
        request.text(attr::USERNAME),
        request.text(attr::REALM),
        request.text(attr::NONCE),
    );
    let (Some(username), Some(realm), Some(nonce)) = fields else {
        return Err(error(request, 400, "Bad Request", None));
    };
    if nonce != state.nonce {
        return Err(challenge(438, "Stale Nonce"));
    }
    if username != state.config.username
        || realm != state.config.realm
        || request.check_integrity(&state.key) != Check::Valid
    {
        return Err(challenge(401, "Unauthorized"));
    }
    Ok(Some(state.key.clone()))
}

fn granted_lifetime(request: &StunMessage) -> u32 {
    request
        .u32_value(attr::LIFETIME)
        .map_or(DEFAULT_LIFETIME, |asked| {
            asked.clamp(MIN_LIFETIME, MAX_LIFETIME)
        })
}

fn allocate(
    state: &Arc<AvState>,
    path: &ClientPath,
    request: &StunMessage,
    key: Option<&[u8]>,
) -> Vec<u8> {
    if lock(&state.allocations).contains_key(&path.key()) {
        return error(request, 437, "Allocation Mismatch", key);
    }
    let Some(transport) = request.attribute(attr::REQUESTED_TRANSPORT) else {
        return error(request, 400, "Bad Request", key);
    };
    if transport.value.first() != Some(&UDP_PROTOCOL) {
        return error(request, 442, "Unsupported Transport Protocol", key);
    }
    let lifetime = granted_lifetime(request);
    let lifetime_secs = Duration::from_secs(u64::from(lifetime));
    let Ok(allocation) = open_allocation(state, path.clone(), lifetime_secs, false) else {
        return error(request, 508, "Insufficient Capacity", key);
    };
    let relayed = allocation.relayed;
    lock(&state.allocations).insert(path.key(), allocation);
    response(request, Class::SuccessResponse)
        .xor_address(attr::XOR_RELAYED_ADDRESS, relayed)
        .u32_value(attr::LIFETIME, lifetime)
        .xor_address(attr::XOR_MAPPED_ADDRESS, path.client())
        .build(key, true)
}

fn refresh(
    state: &AvState,
    path: &ClientPath,
    request: &StunMessage,
    key: Option<&[u8]>,
) -> Vec<u8> {
    let mut allocations = lock(&state.allocations);
    let Some(allocation) = allocations.get(&path.key()) else {
        return error(request, 437, "Allocation Mismatch", key);
    };
    let lifetime = if request.u32_value(attr::LIFETIME) == Some(0) {
        allocations.remove(&path.key());
        0
    } else {
        let lifetime = granted_lifetime(request);
        *lock(&allocation.shared.expires) =
            Instant::now() + Duration::from_secs(u64::from(lifetime));
        lifetime
    };
    response(request, Class::SuccessResponse)
        .u32_value(attr::LIFETIME, lifetime)
        .build(key, true)
}

fn peer_addresses(request: &StunMessage) -> Vec<SocketAddr> {
    let mut peers = Vec::new();
    for attribute in &request.attributes {
        if attribute.kind == attr::XOR_PEER_ADDRESS {
            let single = StunMessage {
                attributes: vec![attribute.clone()],
                ..request.clone()
            };
            if let Some(peer) = single.xor_address(attr::XOR_PEER_ADDRESS) {
                peers.push(peer);
            }
        }
    }
    peers
}

fn create_permission(
    state: &AvState,
    path: &ClientPath,
    request: &StunMessage,
    key: Option<&[u8]>,
) -> Vec<u8> {
    let allocations = lock(&state.allocations);
    let Some(allocation) = allocations.get(&path.key()) else {
        return error(request, 437, "Allocation Mismatch", key);
    };
    let peers = peer_addresses(request);
    if peers.is_empty() {
        return error(request, 400, "Bad Request", key);
    }
    lock(&allocation.shared.permissions).extend(peers.iter().map(SocketAddr::ip));
    response(request, Class::SuccessResponse).build(key, true)
}

fn channel_bind(
    state: &AvState,
    path: &ClientPath,
    request: &StunMessage,
    key: Option<&[u8]>,
) -> Vec<u8> {
    let allocations = lock(&state.allocations);
    let Some(allocation) = allocations.get(&path.key()) else {
        return error(request, 437, "Allocation Mismatch", key);
    };
    let channel = request
        .attribute(attr::CHANNEL_NUMBER)
        .filter(|a| a.value.len() == 4)
        .map(|a| u16::from_be_bytes([a.value[0], a.value[1]]));
    let peer = request.xor_address(attr::XOR_PEER_ADDRESS);
    let (Some(channel), Some(peer)) = (channel, peer) else {
        return error(request, 400, "Bad Request", key);
    };
    if !CHANNEL_RANGE.contains(&channel) {
        return error(request, 400, "Bad Request", key);
    }
    let mut channels = lock(&allocation.shared.channels);
    let clash = channels
        .iter()
        .any(|(c, p)| (*c == channel) != (*p == peer));
    if clash {
        return error(request, 400, "Bad Request", key);
    }
    channels.insert(channel, peer);
    lock(&allocation.shared.permissions).insert(peer.ip());
    response(request, Class::SuccessResponse).build(key, true)
}

fn send_indication(state: &AvState, path: &ClientPath, indication: &StunMessage) {
    let (Some(peer), Some(data)) = (
        indication.xor_address(attr::XOR_PEER_ADDRESS),
        indication.attribute(attr::DATA),
    ) else {
        return;
    };
    if state.config.behaviour.no_relay {
        return;
    }
    if let Some(allocation) = lock(&state.allocations).get(&path.key()) {
        allocation.send_to_peer(peer, &data.value);
    }
}

/// ChannelData from a client: relayed to the channel's peer.
pub(crate) fn handle_channel_data(state: &AvState, path: &ClientPath, message: &ChannelData) {
    if state.config.behaviour.no_relay {
        return;
    }
    let mut bound = false;
    if let Some(allocation) = lock(&state.allocations).get(&path.key()) {
        let peer = lock(&allocation.shared.channels)
            .get(&message.channel)
            .copied();
        if let Some(peer) = peer {
            bound = true;
            allocation.send_to_peer(peer, &message.data);
        }
    }
    if !bound && state.config.behaviour.crash_on_bad_input {
        state.crashed.send_replace(true);
    }
}
