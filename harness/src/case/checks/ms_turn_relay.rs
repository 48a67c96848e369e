//! MS-TURN relaying checks (AV-14, AV-05) after the digest Allocate: a
//! signed Send request (0x0004) must reach the media peer from the relay
//! with no answer (§2.2.1 forbids 0x0104/0x0114), the peer's reply must
//! come back as a Data Indication (0x0115) naming it; Set Active
//! Destination (0x0006) must get 0x0106, after which data flows between
//! the client and that peer without Send/Data Indication framing.

use std::net::SocketAddr;

use picharness_simulators::av::RecordingUdp;
use picharness_wire::ms_turn::{MsTurnMessage, ms_attr, ms_send_request, ms_type};
use tokio::time::Instant;

use super::super::execute::CaseRun;
use super::super::outcome::Outcome;
use super::av::{RELAY_WAIT, expect_at_peer, harness_error, peer_socket};
use super::ms_turn::{MsSession, authenticated_allocate, error_code_text, ms_view, socket};
use crate::topology::AvView;

/// How relayed data reached the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    DataIndication,
    Bare,
}

/// Sends `payload` to the peer in a signed Send request (never answered).
async fn send_request(
    socket: &RecordingUdp,
    view: &AvView,
    session: &MsSession,
    peer: SocketAddr,
    payload: &[u8],
) -> Result<(), Outcome> {
    let request = session.sign(view, ms_send_request(rand::random(), peer, payload));
    socket
        .send_to(&request, view.udp)
        .await
        .map_err(|e| harness_error("send an MS-TURN Send request", &e))
}

/// Waits for `payload` from `peer` at the client: bare, or in a Data
/// Indication naming `peer`. A Send response (0x0104/0x0114) is a fail.
async fn expect_at_client(
    run: &CaseRun<'_>,
    socket: &RecordingUdp,
    view: &AvView,
    peer: SocketAddr,
    payload: &[u8],
) -> Result<Option<Delivery>, Outcome> {
    let deadline = (Instant::now() + RELAY_WAIT).min(run.deadline);
    while let Some((bytes, from, _)) = socket.recv_until(deadline).await {
        if from != view.udp {
            continue;
        }
        if bytes == payload {
            return Ok(Some(Delivery::Bare));
        }
        let Ok(message) = MsTurnMessage::parse(&bytes) else {
            continue;
        };
        if carries_reply(&message, payload, peer, "")? {
            return Ok(Some(Delivery::DataIndication));
        }
    }
    Ok(None)
}

/// A Send response (0x0104/0x0114) fails the case: [MS-TURN] §2.2.1 says a
/// server MUST NOT send one.
pub(super) fn reject_send_response(message: &MsTurnMessage, over: &str) -> Result<(), Outcome> {
    if matches!(message.message_type, 0x0104 | 0x0114) {
        return Err(Outcome::fail(format!(
            "the A/V Edge answered a Send request{over} with type 0x{:04x}; [MS-TURN] §2.2.1 says a server MUST NOT send Send responses",
            message.message_type
        )));
    }
    Ok(())
}

/// Judges an MS-TURN message that arrived while the client waits for the
/// media peer's `payload`: a Send response fails the case (§2.2.1), a Data
/// Indication carrying `payload` must name `peer`. True when it is that
/// Data Indication; false when the wait goes on. `over` names the
/// transport in the reason (`""` or `" over TCP"`).
pub(super) fn carries_reply(
    message: &MsTurnMessage,
    payload: &[u8],
    peer: SocketAddr,
    over: &str,
) -> Result<bool, Outcome> {
    reject_send_response(message, over)?;
    let Some(parts) = message.data_indication_parts() else {
        return Ok(false);
    };
    if parts.data != payload {
        return Ok(false);
    }
    if parts.peer != peer {
        return Err(Outcome::fail(format!(
            "the Data Indication{over} names Remote Address {}, but the data came from the media peer {peer}",
            parts.peer
        )));
    }
    Ok(true)
}

/// Allocation, media peer and one Send request delivered: the common start.
async fn allocate_and_send(
    run: &mut CaseRun<'_>,
) -> Result<(AvView, RecordingUdp, MsSession, RecordingUdp), Outcome> {
    let view = ms_view(run)?;
    let socket = socket(run, &view).await?;
    let session = authenticated_allocate(run, &socket, &view).await?;
    let peer = peer_socket(run, &view).await?;
    run.note(format!(
        "MS-TURN relay {}, media peer {}",
        session.relay,
        peer.local()
    ));
    // The media peer will send to the relay: an address the allow-list
    // refuses is judged like the TURN round trips, never an unexplained error.
    if let Some(refused) = super::av::relay_refusal(session.relay) {
        run.note(refused.reason.clone());
        session.release(run, &socket, &view).await;
        return Err(refused);
    }
    send_request(&socket, &view, &session, peer.local(), b"msturn-send").await?;
    let sent = expect_at_peer(
        run,
        &peer,
        session.relay,
        b"msturn-send",
        "an MS-TURN Send request",
    )
    .await;
    if let Err(outcome) = sent {
        session.release(run, &socket, &view).await;
        return Err(Outcome::fail(format!(
            "{} (the media peer waited {} ms; AV-14)",
            outcome.reason,
            RELAY_WAIT.as_millis()
        )));
    }
    Ok((view, socket, session, peer))
}

pub(crate) async fn ms_turn_send_and_data(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let (view, socket, session, peer) = allocate_and_send(run).await?;
    let io = |e| harness_error("send from the media peer", &e);
    peer.send_to(b"msturn-data", session.relay)
        .await
        .map_err(io)?;
    let got = expect_at_client(run, &socket, &view, peer.local(), b"msturn-data").await;
    session.release(run, &socket, &view).await;
    match got? {
        Some(Delivery::DataIndication) => {}
        Some(Delivery::Bare) => {
            return Err(Outcome::fail(
                "the media peer's data came back bare, not in a Data Indication (0x0115), though no active destination was set (AV-14)",
            ));
        }
        None => {
            return Err(Outcome::fail(format!(
                "what the media peer sent to the relay {} never came back to the client as a Data Indication (0x0115) (AV-14)",
                session.relay
            )));
        }
    }
    run.details.push(format!(
        "Send request relayed to the media peer from {} without a response; the reply came back as a Data Indication naming the peer",
        session.relay
    ));
    Ok(())
}

/// An RTP-looking payload (version 2), so it cannot be taken for STUN.
const BARE_OUT: &[u8] = b"\x80\x00\x00\x01bare-to-peer";
const BARE_BACK: &[u8] = b"\x80\x00\x00\x02bare-to-client";

pub(crate) async fn ms_turn_active_destination(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let (view, socket, session, peer) = allocate_and_send(run).await?;
    let result = active_destination(run, &view, &socket, &session, &peer).await;
    session.release(run, &socket, &view).await;
    result
}

async fn active_destination(
    run: &mut CaseRun<'_>,
    view: &AvView,
    socket: &RecordingUdp,
    session: &MsSession,
    peer: &RecordingUdp,
) -> Result<(), Outcome> {
    let request = MsTurnMessage::new(ms_type::SET_ACTIVE_DESTINATION_REQUEST, rand::random())
        .with_address(ms_attr::DESTINATION_ADDRESS, peer.local());
    let answer = picharness_simulators::av::ms_turn_transact(
        socket,
        view.udp,
        &session.sign(view, request),
        run.deadline,
    )
    .await
    .map_err(|e| harness_error("send Set Active Destination", &e))?;
    let Some(bytes) = answer else {
        return Err(Outcome::fail(
            "the A/V Edge never answered Set Active Destination (0x0006) (AV-14)",
        ));
    };
    let response = MsTurnMessage::parse(&bytes).map_err(|e| {
        Outcome::fail(format!(
            "the answer to Set Active Destination is not well-formed MS-TURN: {e}"
        ))
    })?;
    if response.message_type != ms_type::SET_ACTIVE_DESTINATION_RESPONSE {
        return Err(Outcome::fail(format!(
            "Set Active Destination to the media peer got type 0x{:04x} ERROR-CODE {} instead of 0x0106 (AV-14)",
            response.message_type,
            error_code_text(&response)
        )));
    }
    let io = |e| harness_error("send relayed data", &e);
    socket.send_to(BARE_OUT, view.udp).await.map_err(io)?;
    let bare = expect_at_peer(
        run,
        peer,
        session.relay,
        BARE_OUT,
        "the client without framing",
    )
    .await;
    if let Err(outcome) = bare {
        send_request(socket, view, session, peer.local(), b"msturn-send-again").await?;
        let framed = expect_at_peer(
            run,
            peer,
            session.relay,
            b"msturn-send-again",
            "a Send request",
        )
        .await;
        return Err(match framed {
            Ok(()) => Outcome::inconclusive(format!(
                "after 0x0106 the A/V Edge relays Send requests but not unencapsulated data to the active destination ({}); the [MS-TURN] text read here does not settle which it must",
                outcome.reason
            )),
            Err(_) => Outcome::fail(format!(
                "after Set Active Destination nothing the client sends reaches the media peer: {} (AV-14)",
                outcome.reason
            )),
        });
    }
    peer.send_to(BARE_BACK, session.relay).await.map_err(io)?;
    let back = expect_at_client(run, socket, view, peer.local(), BARE_BACK).await?;
    let how = match back {
        Some(Delivery::Bare) => "bare",
        Some(Delivery::DataIndication) => "still in a Data Indication",
        None => {
            return Err(Outcome::fail(format!(
                "what the media peer (the active destination) sent to the relay {} never reached the client (AV-14)",
                session.relay
            )));
        }
    };
    run.details.push(format!(
        "0x0106 for Set Active Destination; unencapsulated data reached the peer from {}, the peer's reply came back {how}",
        session.relay
    ));
    Ok(())
}
