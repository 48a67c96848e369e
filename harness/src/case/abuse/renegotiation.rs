//! The renegotiation abuse: after a mutual TLS 1.2 handshake, the peer
//! sends a new ClientHello on the established connection, encrypted under
//! the connection's keys (no TLS library of ours renegotiates, so the
//! record is made here with the keys the library hands out). Its
//! renegotiation_info is empty, so it is the insecure renegotiation RFC
//! 5746 closes. What the Edge answers is recorded: a `no_renegotiation`
//! warning, another alert, a close, silence, or a ServerHello (it went
//! along: an observation, since no requirement of the catalogue names
//! renegotiation). What fails the case is the Edge crashing or no longer
//! serving others, which the probe after it judges.

use std::time::Duration;

use picharness_simulators::tls::TlsVersions;
use picharness_wire::tls_legacy::{alert_name, renegotiation_client_hello};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;

use super::AbuseContext;
use super::tls_abuse::open_mutual_tls;
use super::tls12_record::RecordKey;

/// How long the Edge gets to answer the renegotiation.
const ANSWER_WAIT: Duration = Duration::from_secs(3);
/// The most answer bytes read.
const ANSWER_LIMIT: usize = 64 * 1024;
const HANDSHAKE: u8 = 22;
const ALERT: u8 = 21;
const SERVER_HELLO: u8 = 2;
const NO_RENEGOTIATION: u8 = 100;

type Ready = oneshot::Sender<Result<String, String>>;

pub(super) async fn renegotiation(ctx: AbuseContext, ready: Ready) {
    let tls = match open_mutual_tls(&ctx, TlsVersions::Tls12Only, true).await {
        Ok(tls) => tls,
        Err(error) => {
            let _ = ready.send(Err(format!(
                "the mutual TLS 1.2 connection to renegotiate on could not be opened: {error}"
            )));
            return;
        }
    };
    let (mut io, connection) = tls.into_inner();
    let keys = connection
        .dangerous_extract_secrets()
        .ok()
        .and_then(|secrets| {
            let (tx_sequence, tx) = secrets.tx;
            let (rx_sequence, rx) = secrets.rx;
            Some((
                (tx_sequence, RecordKey::new(&tx)?),
                (rx_sequence, RecordKey::new(&rx)?),
            ))
        });
    let Some(((tx_sequence, sender), (rx_sequence, receiver))) = keys else {
        let _ = ready.send(Err(
            "the Edge chose a cipher suite whose records this harness cannot protect by hand"
                .to_owned(),
        ));
        return;
    };
    let hello = renegotiation_client_hello(rand::random(), &ctx.server_name);
    let Some(record) = sender.seal(tx_sequence, HANDSHAKE, &hello) else {
        let _ = ready.send(Err(
            "the renegotiation record could not be sealed".to_owned()
        ));
        return;
    };
    ctx.log.note(format!(
        "after the TLS 1.2 handshake, a renegotiation ClientHello ({} bytes, empty renegotiation_info) in an encrypted handshake record",
        hello.len()
    ));
    if io.write_all(&record).await.is_err() {
        let _ = ready.send(Err(
            "the Edge closed the connection before the renegotiation could be sent".to_owned(),
        ));
        return;
    }
    let _ = ready.send(Ok("a renegotiation ClientHello sent".to_owned()));
    let answer = read_answer(&mut io, &receiver, rx_sequence).await;
    match answer {
        Answer::WentAlong => ctx.log.observation(
            "the Edge answered the renegotiation ClientHello with a ServerHello: it renegotiates with a client that did not prove the previous handshake (RFC 5746 §3.7 refuses that)",
        ),
        Answer::Said(what) => ctx.log.finding(format!("to the renegotiation, the Edge {what}")),
    }
}

enum Answer {
    /// A ServerHello: the Edge renegotiates.
    WentAlong,
    /// Anything else, in words.
    Said(String),
}

/// Reads the Edge's records after the renegotiation hello, decrypting them
/// from `sequence` on, until one tells what the Edge made of it.
async fn read_answer(
    io: &mut (impl AsyncReadExt + Unpin),
    key: &RecordKey,
    mut sequence: u64,
) -> Answer {
    let mut buffer = Vec::new();
    let deadline = tokio::time::Instant::now() + ANSWER_WAIT;
    loop {
        while buffer.len() >= 5 {
            let length = usize::from(u16::from_be_bytes([buffer[3], buffer[4]]));
            if buffer.len() < 5 + length {
                break;
            }
            let content_type = buffer[0];
            let payload: Vec<u8> = buffer.drain(..5 + length).skip(5).collect();
            let Some(plain) = key.open(sequence, content_type, &payload) else {
                return Answer::Said(format!(
                    "answered with a record (type {content_type}) that does not decrypt under the connection's keys"
                ));
            };
            sequence += 1;
            match (content_type, plain.as_slice()) {
                (ALERT, [1, NO_RENEGOTIATION, ..]) => {
                    return Answer::Said(
                        "refused it with the warning alert no_renegotiation".to_owned(),
                    );
                }
                (ALERT, [level, description, ..]) => {
                    let kind = if *level == 2 { "fatal" } else { "warning" };
                    return Answer::Said(format!(
                        "answered with the {kind} alert {}",
                        alert_name(*description)
                    ));
                }
                (HANDSHAKE, [SERVER_HELLO, ..]) => return Answer::WentAlong,
                _ => {}
            }
        }
        if buffer.len() > ANSWER_LIMIT {
            return Answer::Said(format!(
                "sent more than {ANSWER_LIMIT} bytes without an alert or a ServerHello"
            ));
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout_at(deadline, io.read(&mut chunk)).await {
            Ok(Ok(0)) => return Answer::Said("closed the connection".to_owned()),
            Ok(Ok(n)) => buffer.extend_from_slice(&chunk[..n]),
            Ok(Err(e)) => return Answer::Said(format!("ended the connection ({e})")),
            Err(_) => {
                return Answer::Said(format!(
                    "said nothing for {} ms (RFC 5246 §7.4.1.2 lets a server ignore it)",
                    ANSWER_WAIT.as_millis()
                ));
            }
        }
    }
}
