//! MS-TURN checks over TCP 443 (AV-08, AV-11, AV-12): the pseudo-TLS
//! opening of [MS-TURN] §2.1.1 and, on the same connection, a framed
//! (§2.1.4) Allocate answered with the 0x0113 digest challenge; and the
//! dropped connection after a message without the leading Magic Cookie
//! attribute (§3.1.10).
//!
//! Where the specification is silent, the verdict is inconclusive rather
//! than a guess: §2.1.4 requires the framing header on what is sent *to*
//! the server and does not say in so many words that the server frames its
//! answers, so an unframed but otherwise correct answer is not judged.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use picharness_simulators::av::{MsTcpRead, MsTurnTcpClient};
use picharness_wire::ms_turn::{
    MsTcpFrame, MsTcpFrameKind, MsTurnMessage, SERVER_HELLO_LEN, ServerHello, encode_client_hello,
    ms_attr, ms_type,
};
use tokio::time::Instant;

use super::super::execute::CaseRun;
use super::super::outcome::Outcome;
use super::ms_turn::ms_view;
use crate::topology::AvView;

/// MS-Version 3 ([MS-TURN] §2.2.2.17).
const MS_VERSION: u32 = 3;
/// Longest wait for the ServerHello record or an MS-TURN answer.
pub(super) const ANSWER_WAIT: Duration = Duration::from_secs(5);
/// How long the Edge is given to drop the connection after a malformed message.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

pub(super) fn wait(run: &CaseRun<'_>, how_long: Duration) -> Instant {
    (Instant::now() + how_long).min(run.deadline)
}

pub(super) fn hex_start(bytes: &[u8]) -> String {
    let shown: String = bytes.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{} bytes starting {shown}", bytes.len())
}

/// Connects to TCP 443 and keeps the connection as case evidence.
pub(super) async fn connect(
    run: &mut CaseRun<'_>,
    view: &AvView,
) -> Result<MsTurnTcpClient, Outcome> {
    let client = MsTurnTcpClient::connect(view.client_ip, view.tcp, run.deadline)
        .await
        .map_err(|e| {
            Outcome::fail(format!(
                "the A/V Edge accepts no TCP connection on {} (PORT-05): {e}",
                view.tcp
            ))
        })?;
    let id = u64::MAX / 2 + u64::from(client.local.port());
    run.remember_connection(client.record(), id);
    run.note(format!(
        "MS-TURN over TCP {} -> {}",
        client.local, client.remote
    ));
    Ok(client)
}

/// The pseudo-TLS exchange: sends the ClientHello record and judges the
/// server's record.
pub(super) async fn pseudo_tls(
    run: &mut CaseRun<'_>,
    client: &mut MsTurnTcpClient,
) -> Result<(), Outcome> {
    let mut random: [u8; 32] = rand::random();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    random[..4].copy_from_slice(&u32::try_from(now).unwrap_or(0).to_be_bytes());
    client
        .send(&encode_client_hello(&random))
        .await
        .map_err(|e| Outcome::error(format!("the harness could not send the ClientHello: {e}")))?;
    let until = wait(run, ANSWER_WAIT);
    let record = match client.read_exact(SERVER_HELLO_LEN, until).await {
        MsTcpRead::Got(record) => record,
        MsTcpRead::Closed(got) if got.is_empty() => {
            return Err(Outcome::fail(
                "the A/V Edge closed the TCP connection after the pseudo-TLS ClientHello instead of answering ServerHello and ServerHelloDone ([MS-TURN] §2.1.1: the TURN server MUST support pseudo-TLS)",
            ));
        }
        MsTcpRead::Closed(got) => {
            return Err(Outcome::fail(format!(
                "the A/V Edge answered the pseudo-TLS ClientHello with {} and closed, not the {SERVER_HELLO_LEN}-byte ServerHello+ServerHelloDone record ([MS-TURN] §2.1.1)",
                hex_start(&got)
            )));
        }
        MsTcpRead::Silent(got) => {
            return Err(Outcome::fail(format!(
                "within {} ms the A/V Edge sent {} in answer to the pseudo-TLS ClientHello, not the {SERVER_HELLO_LEN}-byte ServerHello+ServerHelloDone record ([MS-TURN] §2.1.1)",
                ANSWER_WAIT.as_millis(),
                if got.is_empty() {
                    "nothing".to_owned()
                } else {
                    hex_start(&got)
                }
            )));
        }
    };
    ServerHello::parse(&record).map_err(|e| {
        Outcome::fail(format!(
            "the A/V Edge's pseudo-TLS ServerHello record is not the one of [MS-TURN] §2.1.1: {e}"
        ))
    })?;
    run.note(
        "pseudo-TLS: ServerHello and ServerHelloDone in one record, fields as §2.1.1 sets them",
    );
    Ok(())
}

fn allocate() -> MsTurnMessage {
    MsTurnMessage::new(ms_type::ALLOCATE_REQUEST, rand::random())
        .with(ms_attr::MS_VERSION, &MS_VERSION.to_be_bytes())
}

pub(super) fn control(payload: Vec<u8>) -> Vec<u8> {
    MsTcpFrame {
        kind: MsTcpFrameKind::Control,
        payload,
    }
    .encode()
}

fn error_code(message: &MsTurnMessage) -> Option<u16> {
    let v = &message.attribute(ms_attr::ERROR_CODE)?.value;
    (v.len() >= 4).then(|| u16::from(v[2] & 0x07) * 100 + u16::from(v[3]))
}

/// Sends a framed uncredentialed Allocate and returns the framed,
/// well-formed MS-TURN answer with the same transaction id.
async fn exchange(
    run: &mut CaseRun<'_>,
    client: &mut MsTurnTcpClient,
) -> Result<MsTurnMessage, Outcome> {
    let request = allocate();
    client
        .send(&control(request.encode()))
        .await
        .map_err(|e| Outcome::error(format!("the harness could not send MS-TURN: {e}")))?;
    let until = wait(run, ANSWER_WAIT);
    let frame = match client.next_frame(until).await {
        Ok(MsTcpRead::Got(frame)) => frame,
        Ok(MsTcpRead::Closed(_)) => {
            return Err(Outcome::fail(
                "the A/V Edge closed the TCP connection instead of answering the framed MS-TURN Allocate (AV-08, AV-11)",
            ));
        }
        Ok(MsTcpRead::Silent(got)) => {
            return Err(Outcome::fail(format!(
                "no framed answer to the MS-TURN Allocate on the same TCP connection within {} ms ({} bytes pending) (AV-08, AV-11)",
                ANSWER_WAIT.as_millis(),
                got.len()
            )));
        }
        Err((e, got)) => {
            if MsTurnMessage::parse(&got).is_ok() {
                return Err(Outcome::inconclusive(format!(
                    "the A/V Edge answered with an MS-TURN message without the [MS-TURN] §2.1.4 framing header ({}); the specification requires the header on what is sent to the server and is not explicit about the server's answers",
                    hex_start(&got)
                )));
            }
            return Err(Outcome::fail(format!(
                "the answer to the framed MS-TURN Allocate does not start with a §2.1.4 framing header: {e} ({})",
                hex_start(&got)
            )));
        }
    };
    if frame.kind != MsTcpFrameKind::Control {
        return Err(Outcome::fail(
            "the answer to the MS-TURN Allocate came in an end-to-end data frame (0x03), not a control frame (0x02) ([MS-TURN] §2.1.4)",
        ));
    }
    let response = MsTurnMessage::parse(&frame.payload).map_err(|e| {
        Outcome::fail(format!(
            "the answer to the framed MS-TURN Allocate is not well-formed MS-TURN: {e} (AV-11)"
        ))
    })?;
    if response.transaction_id != request.transaction_id {
        return Err(Outcome::fail(
            "the framed answer carries a transaction id other than the Allocate's",
        ));
    }
    run.note(format!(
        "framed MS-TURN answer over TCP: type 0x{:04x}",
        response.message_type
    ));
    Ok(response)
}

/// Sends a framed uncredentialed Allocate and judges the answer as the
/// digest challenge: 0x0113, ERROR-CODE 401, Realm and Nonce.
async fn challenge(run: &mut CaseRun<'_>, client: &mut MsTurnTcpClient) -> Result<(), Outcome> {
    let response = exchange(run, client).await?;
    if response.message_type != ms_type::ALLOCATE_ERROR_RESPONSE
        || error_code(&response) != Some(401)
    {
        return Err(Outcome::fail(format!(
            "an MS-TURN Allocate without credentials over TCP got type 0x{:04x} ERROR-CODE {} instead of the 0x0113 challenge with 401 (AV-11, AV-15)",
            response.message_type,
            error_code(&response).map_or_else(|| "none".to_owned(), |c| c.to_string())
        )));
    }
    for (kind, name) in [
        (ms_attr::REALM, "Realm (0x0015)"),
        (ms_attr::NONCE, "Nonce (0x0014)"),
    ] {
        if response.attribute(kind).is_none() {
            return Err(Outcome::fail(format!(
                "the MS-TURN 401 challenge over TCP carries no {name}"
            )));
        }
    }
    Ok(())
}

pub(crate) async fn ms_turn_tcp_pseudo_tls(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = ms_view(run)?;
    let mut client = connect(run, &view).await?;
    pseudo_tls(run, &mut client).await?;
    challenge(run, &mut client).await?;
    run.details.push(format!(
        "pseudo-TLS ServerHello+ServerHelloDone, then a framed 0x0113 401 with Realm and Nonce on the same connection to {}",
        view.tcp
    ));
    Ok(())
}

pub(crate) async fn ms_turn_tcp_no_cookie_closes(run: &mut CaseRun<'_>) -> Result<(), Outcome> {
    let view = ms_view(run)?;
    let mut client = connect(run, &view).await?;
    // Prove the connection works first, or a close would say nothing.
    let ready = match pseudo_tls(run, &mut client).await {
        Ok(()) => exchange(run, &mut client).await.map(|_| ()),
        Err(outcome) => Err(outcome),
    };
    if let Err(outcome) = ready {
        return Err(Outcome::inconclusive(format!(
            "the MS-TURN session over TCP does not answer a well-formed Allocate, so how the Edge treats a malformed one says nothing: {}",
            outcome.reason
        )));
    }
    let mut bytes = allocate().encode();
    // Cut the Magic Cookie attribute (bytes 20..28) and fix the length.
    bytes.drain(20..28);
    let length = u16::try_from(bytes.len() - 20).unwrap_or(0);
    bytes[2..4].copy_from_slice(&length.to_be_bytes());
    client
        .send(&control(bytes))
        .await
        .map_err(|e| Outcome::error(format!("the harness could not send MS-TURN: {e}")))?;
    match client.wait_closed(wait(run, CLOSE_WAIT)).await {
        MsTcpRead::Got(()) => {
            run.details.push(
                "the connection was closed after an Allocate without the Magic Cookie attribute"
                    .to_owned(),
            );
            Ok(())
        }
        MsTcpRead::Closed(got) | MsTcpRead::Silent(got) if !got.is_empty() => {
            Err(Outcome::fail(format!(
                "the A/V Edge answered ({}) an MS-TURN Allocate without the leading Magic Cookie attribute; [MS-TURN] §3.1.10 says to ignore it and drop the TCP connection (AV-12)",
                hex_start(&got)
            )))
        }
        _ => Err(Outcome::fail(format!(
            "the A/V Edge kept the TCP connection open {} ms after an MS-TURN Allocate without the leading Magic Cookie attribute; [MS-TURN] §3.1.10 and AV-12 expect it dropped",
            CLOSE_WAIT.as_millis()
        ))),
    }
}
