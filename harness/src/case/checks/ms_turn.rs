//! MS-TURN checks ([MS-TURN], the dialect of a Lync 2013 A/V Edge) over UDP
//! 3478: the digest challenge of an uncredentialed Allocate (AV-11, AV-15),
//! silence for a message without the leading Magic Cookie attribute
//! (AV-12), 420 for an unknown mandatory attribute (AV-13), and the
//! credentialed Allocate after the challenge (AV-15, AV-04).

use std::net::SocketAddr;
use std::time::Duration;

use picharness_reports::Verdict;
use picharness_simulators::av::{RELAY_PORTS, RecordingUdp, bind_recording_udp, ms_turn_transact};
use picharness_wire::ms_turn::{
    MsIntegrity, MsTurnMessage, check_ms_integrity, ms_attr, ms_turn_key, ms_type,
};
use tokio::time::Instant;

use super::super::execute::CaseRun;
use super::super::outcome::Outcome;
use crate::topology::AvView;

/// How long a message that must be ignored is given to draw an answer.
const SILENCE_WAIT: Duration = Duration::from_millis(1500);
/// MS-Version 3 ([MS-TURN] §2.2.2.17).
const MS_VERSION: u32 = 3;
/// REQUESTED-TRANSPORT of RFC 5766: in the mandatory range, not an MS-TURN attribute.
const NOT_AN_MS_TURN_ATTRIBUTE: u16 = 0x0019;

pub(super) fn ms_view(run: &CaseRun<'_>) -> Result<AvView, Outcome> {
    let Some(view) = run.topology.av.clone() else {
        return Err(Outcome::new(
            Verdict::Skipped,
            "A/V is off for this topology (the SUT federates IM only)",
        ));
    };
    if !view.dialects.ms_turn {
        return Err(Outcome::new(
            Verdict::Skipped,
            "the A/V Edge is judged in standard TURN only in this run, not MS-TURN",
        ));
    }
    Ok(view)
}

pub(super) async fn socket(run: &mut CaseRun<'_>, view: &AvView) -> Result<RecordingUdp, Outcome> {
    let socket = bind_recording_udp(view.client_ip, run.av_datagrams.clone())
        .await
        .map_err(|e| Outcome::error(format!("the harness could not bind its A/V socket: {e}")))?;
    run.note(format!("MS-TURN client {} -> {}", socket.local(), view.udp));
    Ok(socket)
}

pub(super) fn allocate(extra: Option<u16>) -> MsTurnMessage {
    let mut message = MsTurnMessage::new(ms_type::ALLOCATE_REQUEST, rand::random())
        .with(ms_attr::MS_VERSION, &MS_VERSION.to_be_bytes());
    if let Some(kind) = extra {
        message = message.with(kind, &[17, 0, 0, 0]);
    }
    message
}

/// Sends an Allocate and parses the answer as MS-TURN; silence or a
/// malformed answer is a fail.
async fn exchange(
    run: &mut CaseRun<'_>,
    socket: &RecordingUdp,
    view: &AvView,
    request: &MsTurnMessage,
) -> Result<MsTurnMessage, Outcome> {
    let answer = ms_turn_transact(socket, view.udp, &request.encode(), run.deadline)
        .await
        .map_err(|e| Outcome::error(format!("the harness could not send MS-TURN: {e}")))?;
    let Some(bytes) = answer else {
        return Err(Outcome::fail(format!(
            "the A/V Edge at {} never answered an MS-TURN Allocate (AV-11)",
            view.udp
        )));
    };
    let response = MsTurnMessage::parse(&bytes).map_err(|e| {
        Outcome::fail(format!(
            "the answer to an MS-TURN Allocate is not well-formed MS-TURN: {e}"
        ))
    })?;
    run.note(format!(
        "MS-TURN answer: type 0x{:04x}, {} attributes",
        response.message_type,
        response.attributes.len()
    ));
    Ok(response)
}

pub(super) fn error_code_text(message: &MsTurnMessage) -> String {
    error_code(message).map_or_else(|| "none".to_owned(), |c| c.to_string())
}

pub(super) fn error_code(message: &MsTurnMessage) -> Option<u16> {
    let v = &message.attribute(ms_attr::ERROR_CODE)?.value;
    (v.len() >= 4).then(|| u16::from(v[2] & 0x07) * 100 + u16::from(v[3]))
}

pub(crate) async fn ms_turn_auth_challenge(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = ms_view(run)?;
    let socket = socket(run, &view).await?;
    let response = exchange(run, &socket, &view, &allocate(None)).await?;
    if response.message_type != ms_type::ALLOCATE_ERROR_RESPONSE {
        return Err(Outcome::fail(format!(
            "an MS-TURN Allocate without credentials got message type 0x{:04x} instead of the 0x0113 challenge (AV-15)",
            response.message_type
        )));
    }
    if error_code(&response) != Some(401) {
        return Err(Outcome::fail(format!(
            "the MS-TURN Allocate error response carries ERROR-CODE {} instead of 401",
            error_code_text(&response)
        )));
    }
    for (kind, name) in [
        (ms_attr::REALM, "Realm (0x0015)"),
        (ms_attr::NONCE, "Nonce (0x0014)"),
    ] {
        if response.attribute(kind).is_none() {
            return Err(Outcome::fail(format!(
                "the MS-TURN 401 challenge carries no {name}"
            )));
        }
    }
    run.details.push(format!(
        "MS-TURN 0x0113 401 with Realm and Nonce{}",
        response
            .ms_version()
            .map(|v| format!(", MS-Version {v}"))
            .unwrap_or_default()
    ));
    Ok(())
}

pub(crate) async fn ms_turn_no_cookie_ignored(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = ms_view(run)?;
    let socket = socket(run, &view).await?;
    // First prove the Edge answers well-formed MS-TURN at all, or silence proves nothing.
    if let Err(outcome) = exchange(run, &socket, &view, &allocate(None)).await {
        return Err(Outcome::inconclusive(format!(
            "the A/V Edge does not answer a well-formed MS-TURN Allocate, so its silence to a malformed one says nothing: {}",
            outcome.reason
        )));
    }
    let mut bytes = allocate(None).encode();
    // Cut the Magic Cookie attribute (bytes 20..28) and fix the length.
    bytes.drain(20..28);
    let length = u16::try_from(bytes.len() - 20).unwrap_or(0);
    bytes[2..4].copy_from_slice(&length.to_be_bytes());
    let until = (Instant::now() + SILENCE_WAIT).min(run.deadline);
    let answer = ms_turn_transact(&socket, view.udp, &bytes, until)
        .await
        .map_err(|e| Outcome::error(format!("the harness could not send MS-TURN: {e}")))?;
    if answer.is_some() {
        return Err(Outcome::fail(
            "the A/V Edge answered an MS-TURN Allocate without the leading Magic Cookie attribute; [MS-TURN] §3.1.10 says to ignore it (AV-12)",
        ));
    }
    run.details.push(format!(
        "no answer within {} ms to an Allocate without the Magic Cookie",
        SILENCE_WAIT.as_millis()
    ));
    Ok(())
}

pub(crate) async fn ms_turn_unknown_attribute(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = ms_view(run)?;
    let socket = socket(run, &view).await?;
    let response = exchange(
        run,
        &socket,
        &view,
        &allocate(Some(NOT_AN_MS_TURN_ATTRIBUTE)),
    )
    .await?;
    if response.message_type != ms_type::ALLOCATE_ERROR_RESPONSE
        || error_code(&response) != Some(420)
    {
        return Err(Outcome::fail(format!(
            "an MS-TURN Allocate with the unknown mandatory attribute 0x{NOT_AN_MS_TURN_ATTRIBUTE:04x} got type 0x{:04x} ERROR-CODE {} instead of 0x0113 with 420 (AV-13)",
            response.message_type,
            error_code_text(&response)
        )));
    }
    let listed = response
        .attribute(ms_attr::UNKNOWN_ATTRIBUTES)
        .is_some_and(|a| {
            a.value
                .chunks(2)
                .any(|c| c == NOT_AN_MS_TURN_ATTRIBUTE.to_be_bytes())
        });
    if !listed {
        return Err(Outcome::fail(format!(
            "the MS-TURN 420 response does not list 0x{NOT_AN_MS_TURN_ATTRIBUTE:04x} in Unknown Attributes"
        )));
    }
    run.details.push(format!(
        "MS-TURN 0x0113 420 naming 0x{NOT_AN_MS_TURN_ATTRIBUTE:04x}"
    ));
    Ok(())
}

fn text_attribute(message: &MsTurnMessage, kind: u16) -> Option<String> {
    String::from_utf8(message.attribute(kind)?.value.clone()).ok()
}

/// A granted MS-TURN allocation and what signs the requests that follow.
pub(super) struct MsSession {
    pub(super) key: Vec<u8>,
    pub(super) realm: String,
    pub(super) nonce: String,
    pub(super) relay: SocketAddr,
    /// How the 0x0103's Message Integrity came out, for the details.
    pub(super) integrity: &'static str,
}

impl MsSession {
    /// `request` with Username, Realm, Nonce and Message Integrity (§3.1.11).
    pub(super) fn sign(&self, view: &AvView, request: MsTurnMessage) -> Vec<u8> {
        request
            .with(ms_attr::USERNAME, view.credentials.username.as_bytes())
            .with(ms_attr::REALM, self.realm.as_bytes())
            .with(ms_attr::NONCE, self.nonce.as_bytes())
            .encode_with_integrity(&self.key)
    }

    /// Deletes the allocation (Allocate with Lifetime 0); a failure is noted.
    pub(super) async fn release(
        &self,
        run: &mut CaseRun<'_>,
        socket: &RecordingUdp,
        view: &AvView,
    ) {
        let request = allocate(None).with(ms_attr::LIFETIME, &0u32.to_be_bytes());
        let release =
            ms_turn_transact(socket, view.udp, &self.sign(view, request), run.deadline).await;
        if !matches!(release, Ok(Some(_))) {
            run.note("the allocation was not acknowledged as deleted (Allocate with Lifetime 0)");
        }
    }
}

/// The session the digest challenge (the answer to an uncredentialed
/// Allocate) sets up: Realm, Nonce and the key; a grant or a challenge
/// without Realm and Nonce is a fail (AV-15).
pub(super) fn session_from_challenge(
    view: &AvView,
    challenge: &MsTurnMessage,
) -> Result<MsSession, Outcome> {
    if challenge.message_type == ms_type::ALLOCATE_RESPONSE {
        return Err(Outcome::fail(
            "an MS-TURN Allocate without credentials was granted instead of answered with the digest challenge (AV-15)",
        ));
    }
    let (Some(realm), Some(nonce)) = (
        text_attribute(challenge, ms_attr::REALM),
        text_attribute(challenge, ms_attr::NONCE),
    ) else {
        return Err(Outcome::fail(format!(
            "the answer to an MS-TURN Allocate without credentials (type 0x{:04x}, ERROR-CODE {}) is not a challenge with Realm and Nonce (AV-15)",
            challenge.message_type,
            error_code_text(challenge)
        )));
    };
    let credentials = &view.credentials;
    let key = ms_turn_key(&credentials.username, &realm, &credentials.password);
    Ok(MsSession {
        key,
        realm,
        nonce,
        relay: SocketAddr::from(([0, 0, 0, 0], 0)),
        integrity: "",
    })
}

/// Judges the answer (`bytes`) to the credentialed Allocate: a 0x0103 whose
/// Message Integrity (if any) verifies and whose Mapped Address is the relay.
pub(super) fn accept_allocate_response(
    run: &mut CaseRun<'_>,
    session: &mut MsSession,
    bytes: &[u8],
) -> Result<(), Outcome> {
    let response = MsTurnMessage::parse(bytes).map_err(|e| {
        Outcome::fail(format!(
            "the answer to the credentialed MS-TURN Allocate is not well-formed MS-TURN: {e}"
        ))
    })?;
    run.note(format!(
        "credentialed MS-TURN Allocate answered with type 0x{:04x}",
        response.message_type
    ));
    if response.message_type != ms_type::ALLOCATE_RESPONSE {
        return Err(Outcome::fail(format!(
            "the MS-TURN Allocate with Username, Realm, Nonce and Message Integrity got type 0x{:04x} ERROR-CODE {} instead of the 0x0103 Allocate response (AV-03, AV-15)",
            response.message_type,
            error_code_text(&response)
        )));
    }
    session.integrity = match check_ms_integrity(bytes, &session.key) {
        MsIntegrity::Invalid => {
            return Err(Outcome::fail(
                "the 0x0103 Allocate response's Message Integrity does not verify with the credentials",
            ));
        }
        MsIntegrity::Valid => "Message Integrity verified",
        MsIntegrity::Absent => "no Message Integrity on the response",
    };
    let Some(relay) = response.address(ms_attr::MAPPED_ADDRESS) else {
        return Err(Outcome::fail(
            "the 0x0103 Allocate response carries no usable Mapped Address (the relay)",
        ));
    };
    session.relay = relay;
    Ok(())
}

/// The digest exchange of [MS-TURN] §3.1.12 over UDP: an Allocate, the 401
/// challenge, the Allocate again with credentials, and a 0x0103 with a
/// Mapped Address. Anything else is a fail.
pub(super) async fn authenticated_allocate(
    run: &mut CaseRun<'_>,
    socket: &RecordingUdp,
    view: &AvView,
) -> Result<MsSession, Outcome> {
    let challenge = exchange(run, socket, view, &allocate(None)).await?;
    let mut session = session_from_challenge(view, &challenge)?;
    let request = session.sign(view, allocate(None));
    let answer = ms_turn_transact(socket, view.udp, &request, run.deadline)
        .await
        .map_err(|e| Outcome::error(format!("the harness could not send MS-TURN: {e}")))?;
    let Some(bytes) = answer else {
        return Err(Outcome::fail(format!(
            "the A/V Edge at {} never answered the credentialed MS-TURN Allocate",
            view.udp
        )));
    };
    accept_allocate_response(run, &mut session, &bytes)?;
    Ok(session)
}

pub(crate) async fn ms_turn_allocate(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = ms_view(run)?;
    let socket = socket(run, &view).await?;
    let session = authenticated_allocate(run, &socket, &view).await?;
    // Release before judging, so a verdict never leaves an allocation behind.
    session.release(run, &socket, &view).await;
    let relay = session.relay;
    if !RELAY_PORTS.contains(&relay.port()) || relay.ip() != view.udp.ip() {
        return Err(Outcome::fail(format!(
            "the MS-TURN relay {relay} is not on the A/V Edge's address {} within 50,000-59,999 (AV-04, PORT-06)",
            view.udp.ip()
        )));
    }
    run.details.push(format!(
        "MS-TURN 401 challenge, then 0x0103 with relay {relay} ({})",
        session.integrity
    ));
    Ok(())
}
