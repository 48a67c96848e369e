//! A/V robustness: hostile STUN/TURN input to the A/V Edge on UDP 3478 and
//! the A/V liveness probe that follows it.
//!
//! - `av-malformed-stun`: Bindings with a header length past the datagram,
//!   an attribute length past the message, a truncated MESSAGE-INTEGRITY,
//!   and an unknown comprehension-required attribute. The last must get 420
//!   with UNKNOWN-ATTRIBUTES (RFC 5389 §7.3.1, AV-09); for the malformed
//!   ones RFC 5389 asks for silence or an error, and a success answer is an
//!   observation (a server that mis-parses, not one that breaks).
//! - `av-allocate-flood`: [`FLOOD_SOCKETS`] sockets each send
//!   [`FLOOD_PER_SOCKET`] Allocates without credentials at once: each must
//!   be challenged (401, AV-03), never granted a relay; unanswered ones are
//!   counted (rate limiting is allowed).
//! - `av-stray-traffic`: ChannelData for a channel never bound, and
//!   datagrams to relay ports no allocation holds; any answer is recorded.
//! - `av-liveness-probe`: a fresh socket's Binding must succeed, and an
//!   Allocate with the configured credentials must be granted after its
//!   401, each within [`AV_PROBE_BOUND`]; an A/V Edge that fails it has
//!   `crashed` (its TCP listener refuses too) or `stopped serving others`.

use std::net::SocketAddr;
use std::time::Duration;

use picharness_simulators::av::{RecordingUdp, bind_recording_udp};
use picharness_simulators::tls::tcp_connect;
use picharness_wire::stun::{ChannelData, Class, MessageBuilder, StunMessage, attr, method};
use tokio::time::Instant;

use super::av::{StunTransport, av_view, connect, harness_error, release};
use super::liveness_probe::{CRASHED, STOPPED_SERVING};
use crate::case::execute::{CaseRun, WRONG_ANSWER};
use crate::case::outcome::Outcome;
use crate::topology::AvView;

/// Sockets of the Allocate flood, and Allocates each sends.
pub(crate) const FLOOD_SOCKETS: usize = 10;
pub(crate) const FLOOD_PER_SOCKET: usize = 5;
/// How long a hostile datagram's answer is waited for.
const ANSWER_WAIT: Duration = Duration::from_secs(1);
/// Each stage of the A/V liveness probe gets this long.
pub(crate) const AV_PROBE_BOUND: Duration = Duration::from_secs(3);
/// Relay ports the stray datagrams go to (no allocation holds them).
const STRAY_RELAY_PORTS: std::ops::RangeInclusive<u16> = 50_000..=50_009;
/// An unassigned attribute type in the comprehension-required range.
const UNKNOWN_REQUIRED: u16 = 0x0030;

async fn socket(run: &mut CaseRun<'_>, view: &AvView) -> Result<RecordingUdp, Outcome> {
    bind_recording_udp(view.client_ip, run.av_datagrams.clone())
        .await
        .map_err(|e| harness_error("bind an A/V socket", &e))
}

/// Sends `bytes` to `to` and waits `wait` for the first answer.
async fn exchange(
    socket: &RecordingUdp,
    to: SocketAddr,
    bytes: &[u8],
    wait: Duration,
) -> Result<Option<Vec<u8>>, Outcome> {
    socket
        .send_to(bytes, to)
        .await
        .map_err(|e| harness_error(&format!("send to {to}"), &e))?;
    Ok(socket
        .recv_until(Instant::now() + wait)
        .await
        .map(|(answer, _, _)| answer))
}

fn describe_answer(answer: Option<&[u8]>) -> String {
    match answer {
        None => "no answer (discarded)".to_owned(),
        Some(bytes) => match StunMessage::parse(bytes) {
            Ok(message) => message.summary(),
            Err(e) => format!("{} bytes that are not STUN ({e})", bytes.len()),
        },
    }
}

fn binding() -> MessageBuilder {
    MessageBuilder::new(Class::Request, method::BINDING, rand::random())
}

pub(crate) async fn av_malformed_stun(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let socket = socket(run, &view).await?;
    let mut bad_length = binding()
        .attribute(attr::SOFTWARE, b"picharness robustness")
        .build(None, false);
    if let Some(length) = bad_length.get_mut(2..4) {
        let claimed = u16::from_be_bytes([length[0], length[1]]).saturating_add(64);
        length.copy_from_slice(&claimed.to_be_bytes());
    }
    let mut bad_attribute = binding()
        .attribute(attr::SOFTWARE, b"12345678")
        .build(None, false);
    // The SOFTWARE attribute's own length (right after the 20-byte header)
    // claims 200 bytes where 8 follow.
    if let Some(length) = bad_attribute.get_mut(22..24) {
        length.copy_from_slice(&200u16.to_be_bytes());
    }
    let truncated_integrity = binding()
        .attribute(attr::MESSAGE_INTEGRITY, &[0xab; 10])
        .build(None, false);
    let malformed = [
        ("a header length 64 bytes past the datagram", bad_length),
        (
            "an attribute length past the end of the message",
            bad_attribute,
        ),
        (
            "a MESSAGE-INTEGRITY of 10 bytes instead of 20",
            truncated_integrity,
        ),
    ];
    for (what, bytes) in malformed {
        run.note(format!(
            "hostile STUN to {}: a Binding with {what} ({} bytes)",
            view.udp,
            bytes.len()
        ));
        let answer = exchange(&socket, view.udp, &bytes, ANSWER_WAIT).await?;
        let said = describe_answer(answer.as_deref());
        run.note(format!("answer: {said}"));
        let success = answer
            .as_deref()
            .and_then(|a| StunMessage::parse(a).ok())
            .is_some_and(|m| m.class == Class::SuccessResponse);
        if success {
            run.observe(format!(
                "the A/V Edge answered a Binding with {what} with success ({said}); RFC 5389 §7.3 discards or refuses a malformed message"
            ));
        } else {
            run.finding(format!("a Binding with {what}: {said}"));
        }
    }
    let unknown = binding()
        .attribute(UNKNOWN_REQUIRED, &[0, 0, 0, 0])
        .build(None, true);
    run.note(format!(
        "hostile STUN to {}: a Binding with the unknown comprehension-required attribute 0x{UNKNOWN_REQUIRED:04x}",
        view.udp
    ));
    // An answer is asked for here (AV-09): it gets the probe's time, so a
    // slow wrong answer is not taken for silence.
    let answer = exchange(&socket, view.udp, &unknown, AV_PROBE_BOUND).await?;
    let said = describe_answer(answer.as_deref());
    run.note(format!("answer: {said}"));
    let parsed = answer.as_deref().and_then(|a| StunMessage::parse(a).ok());
    let listed = parsed.as_ref().is_some_and(|m| {
        m.error_code().map(|e| e.code) == Some(420)
            && m.attribute(attr::UNKNOWN_ATTRIBUTES).is_some_and(|a| {
                a.value
                    .chunks(2)
                    .any(|c| c == UNKNOWN_REQUIRED.to_be_bytes())
            })
    });
    if parsed.is_some() && !listed {
        return Err(Outcome::fail(format!(
            "{WRONG_ANSWER}: a Binding with the unknown comprehension-required attribute 0x{UNKNOWN_REQUIRED:04x} got {said} instead of 420 with UNKNOWN-ATTRIBUTES listing it (RFC 5389 §7.3.1, AV-09)"
        )));
    }
    if parsed.is_none() {
        // Silence is judged by the probe that follows: an A/V Edge that
        // stopped answering fails it.
        run.finding(format!(
            "a Binding with the unknown attribute 0x{UNKNOWN_REQUIRED:04x}: {said}"
        ));
    } else {
        run.finding(format!(
            "420 with UNKNOWN-ATTRIBUTES 0x{UNKNOWN_REQUIRED:04x}"
        ));
    }
    Ok(())
}

pub(crate) async fn av_allocate_flood(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let mut sockets = Vec::new();
    for _ in 0..FLOOD_SOCKETS {
        sockets.push(socket(run, &view).await?);
    }
    let total = FLOOD_SOCKETS * FLOOD_PER_SOCKET;
    run.note(format!(
        "hostile input: {total} Allocates without credentials at once, {FLOOD_PER_SOCKET} from each of {FLOOD_SOCKETS} sockets, to {}",
        view.udp
    ));
    for socket in &sockets {
        for _ in 0..FLOOD_PER_SOCKET {
            let request = MessageBuilder::new(Class::Request, method::ALLOCATE, rand::random())
                .attribute(attr::REQUESTED_TRANSPORT, &[17, 0, 0, 0])
                .build(None, true);
            socket
                .send_to(&request, view.udp)
                .await
                .map_err(|e| harness_error("send an Allocate", &e))?;
        }
    }
    let deadline = Instant::now() + ANSWER_WAIT * 2;
    let (mut challenged, mut granted, mut other) = (0, Vec::new(), Vec::new());
    for socket in &sockets {
        for _ in 0..FLOOD_PER_SOCKET {
            let Some((bytes, _, _)) = socket.recv_until(deadline).await else {
                break;
            };
            match StunMessage::parse(&bytes) {
                Ok(m) if m.class == Class::SuccessResponse => granted.push(m.summary()),
                Ok(m) if m.error_code().map(|e| e.code) == Some(401) => challenged += 1,
                Ok(m) => other.push(m.summary()),
                Err(e) => other.push(format!("bytes that are not STUN ({e})")),
            }
        }
    }
    let unanswered = total - challenged - granted.len() - other.len();
    run.note(format!(
        "{total} Allocates without credentials: {challenged} challenged with 401, {} granted, {} other answers, {unanswered} unanswered within {} ms",
        granted.len(),
        other.len(),
        (ANSWER_WAIT * 2).as_millis()
    ));
    if let Some(first) = granted.first() {
        return Err(Outcome::fail(format!(
            "{WRONG_ANSWER}: the A/V Edge granted {} of {total} Allocates without credentials a relay instead of the 401 challenge with REALM and NONCE (AV-03), the first: {first}",
            granted.len()
        )));
    }
    if let Some(first) = other.first() {
        run.finding(format!(
            "{} of {total} unauthenticated Allocates got another answer than 401, the first: {first}",
            other.len()
        ));
    }
    run.finding(format!(
        "{challenged} of {total} Allocates without credentials challenged with 401, {unanswered} unanswered, none granted"
    ));
    Ok(())
}

pub(crate) async fn av_stray_traffic(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let socket = socket(run, &view).await?;
    let stray = ChannelData {
        channel: 0x4abc,
        data: b"ChannelData for a channel nobody bound".to_vec(),
    }
    .encode(false);
    run.note(format!(
        "hostile input: ChannelData for channel 0x4abc (never bound) to {}",
        view.udp
    ));
    let answer = exchange(&socket, view.udp, &stray, ANSWER_WAIT).await?;
    let said = describe_answer(answer.as_deref());
    run.note(format!("answer: {said}"));
    run.finding(format!("ChannelData for an unbound channel: {said}"));
    let mut answered = 0;
    let mut sent = 0;
    for port in STRAY_RELAY_PORTS {
        let to = SocketAddr::new(view.udp.ip(), port);
        if let Err(e) = socket.send_to(b"datagram for no allocation", to).await {
            run.note(format!("not sent to {to}: {e}"));
            continue;
        }
        sent += 1;
    }
    while socket
        .recv_until(Instant::now() + ANSWER_WAIT)
        .await
        .is_some()
    {
        answered += 1;
        if answered > 64 {
            break;
        }
    }
    run.note(format!(
        "{sent} datagrams to relay ports {}-{} that no allocation holds; {answered} answers",
        STRAY_RELAY_PORTS.start(),
        STRAY_RELAY_PORTS.end()
    ));
    run.finding(format!(
        "{sent} datagrams to unallocated relay ports: {answered} answered"
    ));
    Ok(())
}

pub(crate) async fn av_liveness_probe(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = av_view(run)?;
    let started = std::time::Instant::now();
    run.note(format!(
        "A/V liveness probe: a good Binding and an authenticated Allocate to {}",
        view.udp
    ));
    let mut client = connect(run, &view, StunTransport::Udp).await?;
    let bound = |run: &CaseRun<'_>| (Instant::now() + AV_PROBE_BOUND).min(run.deadline);
    let deadline = bound(run);
    let binding = client.binding(deadline).await;
    let binding = match binding {
        Ok(response) if response.class == Class::SuccessResponse => response,
        Ok(response) => {
            return Err(Outcome::fail(format!(
                "{STOPPED_SERVING}: the A/V Edge answered a good Binding with {}",
                response.summary()
            )));
        }
        Err(e) => return Err(silent(&view, format!("a good Binding: {e}")).await),
    };
    run.note(format!("A/V liveness probe: {}", binding.summary()));
    let deadline = bound(run);
    match client.unauthenticated_allocate(deadline).await {
        Ok(granted) if granted.class == Class::SuccessResponse => {
            // Granted without credentials: wrong, but the Allocate checks
            // judge that; the A/V Edge is serving.
            run.note(format!(
                "A/V liveness probe: the A/V Edge served a fresh client (Binding, and an Allocate granted without the 401 challenge: {}) in {} ms",
                granted.summary(),
                started.elapsed().as_millis()
            ));
            release(run, &mut client).await;
            return Ok(());
        }
        Ok(challenge) => run.note(format!("A/V liveness probe: {}", challenge.summary())),
        Err(e) => {
            return Err(silent(
                &view,
                format!("the Allocate that asks for the challenge: {e}"),
            )
            .await);
        }
    }
    let deadline = bound(run);
    let allocated = client.allocate(deadline).await.map_err(|e| {
        Outcome::fail(format!(
            "{STOPPED_SERVING}: the A/V Edge did not grant a good Allocate with the configured credentials: {e}"
        ))
    })?;
    run.note(format!(
        "A/V liveness probe: the A/V Edge served a fresh client (Binding, 401, Allocate with relay {}) in {} ms",
        allocated.relayed,
        started.elapsed().as_millis()
    ));
    release(run, &mut client).await;
    Ok(())
}

/// The A/V Edge did not answer the probe: `crashed` when its TCP listener
/// refuses connections too, `stopped serving others` otherwise.
async fn silent(view: &AvView, what: String) -> Outcome {
    let refused = matches!(
        tcp_connect(Some(view.client_ip), view.tcp, Duration::from_secs(1)).await,
        Err(picharness_simulators::tls::TlsError::ConnectRefused { .. })
    );
    if refused {
        Outcome::fail(format!(
            "{CRASHED}: the A/V Edge no longer answers on {} and refuses TCP connections on {}: {what}",
            view.udp, view.tcp
        ))
    } else {
        Outcome::fail(format!(
            "{STOPPED_SERVING}: the A/V Edge did not answer {what}"
        ))
    }
}
