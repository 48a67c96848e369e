//! The reference A/V Edge's MS-TURN side of TCP 443: an optional
//! pseudo-TLS opening ([MS-TURN] §2.1.1: a ClientHello record answered
//! with one ServerHello + ServerHelloDone record), then MS-TURN messages
//! in the §2.1.4 framing header (0x02 control, 0x03 data), answered with
//! the same framing on the same connection. An improperly formed message
//! drops the connection (§3.1.10). Send and Set Active Destination in
//! control frames are relayed as over UDP (`ms_turn_relay`); end-to-end
//! data frames go to the active destination, whose datagrams come back in
//! data frames (the relay task).

use std::sync::Arc;

use picharness_wire::ms_turn::{
    CLIENT_HELLO_LEN, MsTcpFrame, MsTcpFrameKind, MsTurnError, MsTurnMessage,
    PSEUDO_TLS_FIRST_BYTE, ServerHello, decode_tcp_frame, parse_client_hello,
};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::mpsc::UnboundedSender;

use super::ms_turn_handler::handle_ms_turn;
use super::ms_turn_relay::handle_unencapsulated;
use super::server::{AvState, ClientPath};

/// Whether the first byte of a TCP connection opens an MS-TURN session:
/// the pseudo-TLS record, or (for a client that skips it) a control or
/// data framing header. RFC 5389 STUN starts with 0x00 or 0x01 and
/// ChannelData with 0x40-0x7f, so the three cannot be confused.
pub(crate) fn opens_ms_turn(first: u8) -> bool {
    matches!(first, PSEUDO_TLS_FIRST_BYTE | 0x02 | 0x03)
}

/// Reads more bytes onto `pending`; `false` when the client is gone.
async fn fill(reader: &mut OwnedReadHalf, pending: &mut Vec<u8>) -> bool {
    let mut buffer = [0u8; 4096];
    match reader.read(&mut buffer).await {
        Ok(0) | Err(_) => false,
        Ok(len) => {
            pending.extend_from_slice(&buffer[..len]);
            true
        }
    }
}

/// Serves an MS-TURN connection whose first bytes are `pending`, until the
/// client leaves or the connection must be dropped.
pub(crate) async fn serve_ms_turn_tcp(
    state: &Arc<AvState>,
    reader: &mut OwnedReadHalf,
    raw: &UnboundedSender<Vec<u8>>,
    path: &ClientPath,
    mut pending: Vec<u8>,
) {
    if pending.first() == Some(&PSEUDO_TLS_FIRST_BYTE) {
        while pending.len() < CLIENT_HELLO_LEN {
            if !fill(reader, &mut pending).await {
                return;
            }
        }
        let hello: Vec<u8> = pending.drain(..CLIENT_HELLO_LEN).collect();
        if parse_client_hello(&hello).is_err() || state.config.behaviour.no_pseudo_tls {
            return;
        }
        let answer = ServerHello {
            random: rand::random(),
            session_id: rand::random(),
        };
        let _ = raw.send(answer.encode().to_vec());
    }
    loop {
        loop {
            match decode_tcp_frame(&pending) {
                Ok(Some((frame, used))) => {
                    pending.drain(..used);
                    if !handle_frame(state, path, &frame) {
                        return;
                    }
                }
                Ok(None) => break,
                Err(_) => return,
            }
        }
        if !fill(reader, &mut pending).await {
            return;
        }
    }
}

/// One frame from the client; `false` when the connection must be dropped.
fn handle_frame(state: &Arc<AvState>, path: &ClientPath, frame: &MsTcpFrame) -> bool {
    if frame.kind == MsTcpFrameKind::Data {
        handle_unencapsulated(state, path, &frame.payload);
        return true;
    }
    let behaviour = &state.config.behaviour;
    match MsTurnMessage::parse(&frame.payload) {
        Ok(_) => {}
        // The fault answers it; handle_ms_turn knows how.
        Err(MsTurnError::MissingMagicCookie) if behaviour.ms_turn_accept_without_cookie => {}
        Err(_) => return behaviour.ms_turn_tcp_keeps_malformed,
    }
    handle_ms_turn(state, path, &frame.payload);
    true
}
