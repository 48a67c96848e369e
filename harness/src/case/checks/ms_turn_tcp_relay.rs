//! MS-TURN relaying over TCP 443 (AV-14, AV-08, AV-05): after the
//! pseudo-TLS opening and the digest Allocate in §2.1.4 control frames, a
//! signed Send request must reach the media peer from the relay with no
//! answer, the peer's reply must come back as a Data Indication in a
//! control frame; Set Active Destination must get 0x0106, after which an
//! end-to-end data frame (0x03) must reach the peer and the peer's reply
//! must come back to the client.
//!
//! Left open by the [MS-TURN] text read here, and so inconclusive rather
//! than failed: whether the server relays data frames to the active
//! destination when it still relays Send requests (as for unframed data
//! over UDP), and whether what the server sends back is framed at all
//! (§2.1.4 requires the header on what is sent *to* the server).

use std::net::SocketAddr;

use picharness_simulators::av::{MsTcpRead, MsTurnTcpClient, RecordingUdp};
use picharness_wire::ms_turn::{
    MsTcpFrame, MsTcpFrameKind, MsTurnMessage, ms_attr, ms_send_request, ms_type,
};
use tokio::time::Instant;

use super::super::execute::CaseRun;
use super::super::outcome::Outcome;
use super::av::{RELAY_WAIT, expect_at_peer, harness_error, peer_socket};
use super::ms_turn::{
    MsSession, accept_allocate_response, allocate, error_code_text, ms_view, session_from_challenge,
};
use super::ms_turn_relay::{carries_reply, reject_send_response};
use super::ms_turn_tcp::{ANSWER_WAIT, connect, control, hex_start, pseudo_tls, wait};
use crate::topology::AvView;

/// An RTP-looking payload (version 2), so it cannot be taken for STUN.
const DATA_OUT: &[u8] = b"\x80\x00\x00\x01tcp-frame-to-peer";
const DATA_BACK: &[u8] = b"\x80\x00\x00\x02tcp-frame-to-client";

/// How the peer's data reached the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Delivery {
    /// A Data Indication (0x0115) in a control frame.
    Indication,
    /// The bare payload in a data frame (0x03).
    DataFrame,
    /// The bare payload with no framing header.
    Unframed,
}

async fn send(client: &mut MsTurnTcpClient, bytes: &[u8]) -> Result<(), Outcome> {
    client
        .send(bytes)
        .await
        .map_err(|e| harness_error("send on the MS-TURN TCP connection", &e))
}

/// Sends `request` in a control frame and waits for the control frame
/// answering it; returns its payload. Other frames are skipped.
async fn transact(
    run: &CaseRun<'_>,
    client: &mut MsTurnTcpClient,
    request: Vec<u8>,
    what: &str,
) -> Result<Vec<u8>, Outcome> {
    let id = MsTurnMessage::parse(&request)
        .map_err(|e| Outcome::error(format!("the harness built a malformed {what}: {e}")))?
        .transaction_id;
    send(client, &control(request)).await?;
    let until = wait(run, ANSWER_WAIT);
    loop {
        let frame = match client.next_frame(until).await {
            Ok(MsTcpRead::Got(frame)) => frame,
            Ok(MsTcpRead::Closed(_)) => {
                return Err(Outcome::fail(format!(
                    "the A/V Edge closed the MS-TURN TCP connection instead of answering the {what} (AV-08)"
                )));
            }
            Ok(MsTcpRead::Silent(_)) => {
                return Err(Outcome::fail(format!(
                    "no framed answer to the {what} on the TCP connection within {} ms (AV-08)",
                    ANSWER_WAIT.as_millis()
                )));
            }
            Err((_, got)) => {
                return Err(Outcome::inconclusive(format!(
                    "the answer to the {what} does not start with a [MS-TURN] §2.1.4 framing header ({}); the specification requires the header on what is sent to the server and is not explicit about the server's answers",
                    hex_start(&got)
                )));
            }
        };
        if frame.kind != MsTcpFrameKind::Control {
            continue;
        }
        let Ok(message) = MsTurnMessage::parse(&frame.payload) else {
            continue;
        };
        reject_send_response(&message, " over TCP")?;
        if message.transaction_id == id {
            return Ok(frame.payload);
        }
    }
}

/// The digest Allocate (§3.1.12) in control frames.
async fn tcp_allocate(
    run: &mut CaseRun<'_>,
    client: &mut MsTurnTcpClient,
    view: &AvView,
) -> Result<MsSession, Outcome> {
    let what = "MS-TURN Allocate";
    let bytes = transact(run, client, allocate(None).encode(), what).await?;
    let challenge = MsTurnMessage::parse(&bytes).map_err(|e| {
        Outcome::fail(format!(
            "the answer to the MS-TURN Allocate over TCP is not well-formed: {e}"
        ))
    })?;
    let mut session = session_from_challenge(view, &challenge)?;
    let request = session.sign(view, allocate(None));
    let bytes = transact(run, client, request, "credentialed MS-TURN Allocate").await?;
    accept_allocate_response(run, &mut session, &bytes)?;
    Ok(session)
}

/// Waits for `payload` from `peer` at the client, in whatever form it comes.
async fn expect_at_client(
    run: &CaseRun<'_>,
    client: &mut MsTurnTcpClient,
    peer: SocketAddr,
    payload: &[u8],
) -> Result<Option<Delivery>, Outcome> {
    let until = (Instant::now() + RELAY_WAIT).min(run.deadline);
    loop {
        let frame = match client.next_frame(until).await {
            Ok(MsTcpRead::Got(frame)) => frame,
            Ok(MsTcpRead::Closed(_)) => {
                return Err(Outcome::fail(
                    "the A/V Edge closed the MS-TURN TCP connection while the media peer's data was on its way (AV-08)",
                ));
            }
            Ok(MsTcpRead::Silent(_)) => return Ok(None),
            Err((_, got)) if got.starts_with(payload) => return Ok(Some(Delivery::Unframed)),
            Err((e, got)) => {
                return Err(Outcome::fail(format!(
                    "the A/V Edge sent bytes that are not in the [MS-TURN] §2.1.4 framing: {e} ({})",
                    hex_start(&got)
                )));
            }
        };
        if frame.kind == MsTcpFrameKind::Data {
            if frame.payload == payload {
                return Ok(Some(Delivery::DataFrame));
            }
            continue;
        }
        let Ok(message) = MsTurnMessage::parse(&frame.payload) else {
            continue;
        };
        if carries_reply(&message, payload, peer, " over TCP")? {
            return Ok(Some(Delivery::Indication));
        }
    }
}

/// A signed Send request in a control frame must reach the peer from the relay.
async fn relayed_send(
    run: &CaseRun<'_>,
    client: &mut MsTurnTcpClient,
    view: &AvView,
    session: &MsSession,
    peer: &RecordingUdp,
    payload: &[u8],
) -> Result<(), Outcome> {
    let request = session.sign(view, ms_send_request(rand::random(), peer.local(), payload));
    send(client, &control(request)).await?;
    expect_at_peer(
        run,
        peer,
        session.relay,
        payload,
        "an MS-TURN Send request over TCP",
    )
    .await
}

pub(crate) async fn ms_turn_tcp_relay(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = ms_view(run)?;
    let mut client = connect(run, &view).await?;
    pseudo_tls(run, &mut client).await?;
    let session = tcp_allocate(run, &mut client, &view).await?;
    let peer = peer_socket(run, &view).await?;
    run.note(format!(
        "MS-TURN relay {} over TCP, media peer {}",
        session.relay,
        peer.local()
    ));
    let result = relay_steps(run, &mut client, &view, &session, &peer).await;
    // Release before judging, so a verdict never leaves an allocation behind.
    let release = allocate(None).with(ms_attr::LIFETIME, &0u32.to_be_bytes());
    let request = session.sign(&view, release);
    if transact(run, &mut client, request, "release Allocate (Lifetime 0)")
        .await
        .is_err()
    {
        run.note("the allocation was not acknowledged as deleted (Allocate with Lifetime 0); it ends with the TCP connection");
    }
    result
}

async fn relay_steps(
    run: &mut CaseRun<'_>,
    client: &mut MsTurnTcpClient,
    view: &AvView,
    session: &MsSession,
    peer: &RecordingUdp,
) -> Result<(), Outcome> {
    let relay = session.relay;
    // The media peer will send to the relay: an address the allow-list
    // refuses is judged like the TURN round trips, never an unexplained error.
    if let Some(refused) = super::av::relay_refusal(relay) {
        run.note(refused.reason.clone());
        return Err(refused);
    }
    if let Err(outcome) = relayed_send(run, client, view, session, peer, b"msturn-tcp-send").await {
        return Err(Outcome::fail(format!(
            "{} (the media peer waited {} ms; AV-14, AV-08)",
            outcome.reason,
            RELAY_WAIT.as_millis()
        )));
    }
    let io = |e| harness_error("send from the media peer", &e);
    peer.send_to(b"msturn-tcp-data", relay).await.map_err(io)?;
    match expect_at_client(run, client, peer.local(), b"msturn-tcp-data").await? {
        Some(Delivery::Indication) => {}
        Some(Delivery::DataFrame | Delivery::Unframed) => {
            return Err(Outcome::fail(
                "the media peer's data came back over TCP bare, not in a Data Indication (0x0115), though no active destination was set (AV-14)",
            ));
        }
        None => {
            return Err(Outcome::fail(format!(
                "what the media peer sent to the relay {relay} never came back over TCP as a Data Indication (0x0115) (AV-14, AV-08)"
            )));
        }
    }
    set_active_destination(run, client, view, session, peer).await?;
    send(
        client,
        &MsTcpFrame {
            kind: MsTcpFrameKind::Data,
            payload: DATA_OUT.to_vec(),
        }
        .encode(),
    )
    .await?;
    let framed = expect_at_peer(run, peer, relay, DATA_OUT, "a TCP data frame (0x03)").await;
    if let Err(outcome) = framed {
        let again = relayed_send(run, client, view, session, peer, b"msturn-tcp-again").await;
        return Err(match again {
            Ok(()) => Outcome::inconclusive(format!(
                "after 0x0106 the A/V Edge relays Send requests but not data frames (0x03) to the active destination ({}); the [MS-TURN] text read here does not settle which it must",
                outcome.reason
            )),
            Err(_) => Outcome::fail(format!(
                "after Set Active Destination nothing the client sends over TCP reaches the media peer: {} (AV-14, AV-08)",
                outcome.reason
            )),
        });
    }
    peer.send_to(DATA_BACK, relay).await.map_err(io)?;
    let how = match expect_at_client(run, client, peer.local(), DATA_BACK).await? {
        Some(Delivery::DataFrame) => "in a data frame (0x03)",
        Some(Delivery::Indication) => "still in a Data Indication in a control frame",
        Some(Delivery::Unframed) => {
            return Err(Outcome::inconclusive(
                "the active destination's data came back over TCP without a [MS-TURN] §2.1.4 framing header; the specification requires the header on what is sent to the server and is not explicit about what the server sends",
            ));
        }
        None => {
            return Err(Outcome::fail(format!(
                "what the media peer (the active destination) sent to the relay {relay} never reached the client over TCP (AV-14, AV-08)"
            )));
        }
    };
    run.details.push(format!(
        "over TCP {}: Send relayed from {relay} without a response, the reply in a Data Indication; 0x0106, then a data frame reached the peer and its reply came back {how}",
        view.tcp
    ));
    Ok(())
}

async fn set_active_destination(
    run: &CaseRun<'_>,
    client: &mut MsTurnTcpClient,
    view: &AvView,
    session: &MsSession,
    peer: &RecordingUdp,
) -> Result<(), Outcome> {
    let request = MsTurnMessage::new(ms_type::SET_ACTIVE_DESTINATION_REQUEST, rand::random())
        .with_address(ms_attr::DESTINATION_ADDRESS, peer.local());
    let what = "Set Active Destination (0x0006)";
    let bytes = transact(run, client, session.sign(view, request), what).await?;
    let response = MsTurnMessage::parse(&bytes).map_err(|e| {
        Outcome::fail(format!(
            "the answer to Set Active Destination over TCP is not well-formed MS-TURN: {e}"
        ))
    })?;
    if response.message_type != ms_type::SET_ACTIVE_DESTINATION_RESPONSE {
        return Err(Outcome::fail(format!(
            "Set Active Destination to the media peer over TCP got type 0x{:04x} ERROR-CODE {} instead of 0x0106 (AV-14)",
            response.message_type,
            error_code_text(&response)
        )));
    }
    Ok(())
}
