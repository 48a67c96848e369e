//! The reference A/V Edge's MS-TURN side ([MS-TURN], what a Lync 2013 A/V
//! Edge speaks) on the same sockets as RFC 5389: an Allocate without
//! credentials gets the digest challenge (error response 0x0113, ERROR-CODE
//! 401, REALM 0x0015 and NONCE 0x0014); unknown mandatory attributes get
//! 420; a message without the leading Magic Cookie attribute is ignored
//! (§3.1.10). The digest check of a credentialed Allocate (§3.1.11) is not
//! implemented: such a request is answered 400.

use std::sync::Arc;

use picharness_wire::ms_turn::{MsTurnError, MsTurnMessage, ms_attr, ms_type};

use super::server::{AvState, ClientPath};

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
    if message.message_type != ms_type::ALLOCATE_REQUEST {
        return;
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
        let reply = MsTurnMessage::new(ms_type::ALLOCATE_ERROR_RESPONSE, message.transaction_id)
            .with(
                ms_attr::ERROR_CODE,
                &error_code(
                    400,
                    "MS-TURN digest not implemented by the reference A/V Edge",
                ),
            )
            .encode();
        path.send(reply);
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
