//! Legacy but acceptable peer certificates: a peer presents an RSA 1024-bit
//! key (CERT-07) or a certificate signed with SHA-1 (CERT-08), which Lync
//! 2013 still accepts, and sends a MESSAGE for a Lync user. The Edge must
//! complete mutual TLS (FED-01) and deliver it: the MESSAGE reaches the
//! pool, the pool answers 200 and the 200 comes back to the peer.
//!
//! Refusing the handshake (an alert, a reset or a close, in TLS 1.3 often
//! only on the first read) or answering without forwarding fails. When the
//! probe's own side of the handshake breaks, the Edge's judgement cannot be
//! seen: inconclusive. The probe accepts the Edge's own certificate whatever
//! it holds, so the handshake only tests how the Edge judges the peer.

use std::time::Duration;

use picharness_simulators::pki::BadPeerCertificate;
use picharness_simulators::tls::{
    ChainRecorder, TlsError, TlsVersions, connect_tls_recorded, probe_client_config,
};
use picharness_wire::sip::{DEFAULT_MAX_MESSAGE_SIZE, Frame, SipMessage, StreamDecoder};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::certificate::keep_server_chain;
use super::mtls_refusal::{handshake_refusal, io_refusal};
use crate::case::execute::{CaseRun, warning_note};
use crate::case::outcome::Outcome;
use crate::scenario::{Actor, render_message};

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the Edge gets to forward the MESSAGE, and then to relay the 200.
const ANSWER_WAIT: Duration = Duration::from_secs(4);

const LEGACY_MESSAGE: &str = "MESSAGE sip:{user.lync}@{sut.domain} SIP/2.0
Via: SIP/2.0/TLS {local.fqdn}:5061;branch={branch}
Max-Forwards: 70
From: <sip:{user.peer}@{peer.domain}>;tag={tag}
To: <sip:{user.lync}@{sut.domain}>
Call-ID: legacy-{call_id}
CSeq: 1 MESSAGE
Content-Type: text/plain; charset=UTF-8
Content-Length: {content_length}

Sent over mutual TLS with a legacy but acceptable certificate.
";

/// The requirement that makes `legacy` acceptable.
fn requirement(legacy: BadPeerCertificate) -> &'static str {
    match legacy {
        BadPeerCertificate::Rsa1024Key => {
            "Lync 2013 accepts RSA keys of 1024 bits, with a warning (CERT-07)"
        }
        _ => "Lync 2013 accepts SHA-1 signatures (CERT-08)",
    }
}

/// What the peer's TLS connection said while it waited.
pub(super) enum Read {
    Response(SipMessage),
    Closed(String),
    Silence,
}

pub(super) async fn check_accepts_legacy_peer(
    run: &mut CaseRun<'_>,
    actor: &Actor,
    legacy: BadPeerCertificate,
) -> Result<(), Outcome> {
    if !legacy.acceptable_to_lync() {
        return Err(Outcome::error(format!(
            "{legacy} is not a certificate Lync 2013 accepts; use a refuses-* check"
        )));
    }
    let Some(peer_pki) = &run.topology.peer_pki else {
        return Err(Outcome::inconclusive(
            "the harness holds no CA the SUT trusts, so it cannot make the legacy peer certificate",
        ));
    };
    let sip_actor = run.actor(actor)?;
    let fqdn = sip_actor.fqdn().to_owned();
    let identity = peer_pki
        .bad_identity(legacy, &fqdn)
        .map_err(|e| Outcome::error(format!("cannot issue {legacy}: {e}")))?;
    let peer = actor.name().to_owned();
    if let Some(identity) = &identity {
        run.certificates.push((
            format!("{peer}-{}-chain", legacy.label()),
            identity.chain.clone(),
        ));
    }
    let chains = ChainRecorder::default();
    let config = probe_client_config(
        identity,
        TlsVersions::Tls12And13,
        run.topology.key_log.clone(),
        chains.clone(),
    )
    .map_err(|e| Outcome::error(format!("cannot build the probe's TLS configuration: {e}")))?;
    let remote = run.topology.sut.external;
    let server_name = run.topology.sut.access_edge_fqdn.clone();
    run.note(format!(
        "{peer} connects to {remote} presenting {legacy} ({})",
        legacy.label()
    ));
    let connected = connect_tls_recorded(
        Some(sip_actor.ip()),
        remote,
        &server_name,
        config,
        PROBE_TIMEOUT.min(run.time_left()),
    )
    .await;
    keep_server_chain(run, &chains);
    let why = requirement(legacy);
    let mut tls = match connected {
        Ok((tls, record)) => {
            run.remember_probe_connection(&record);
            tls
        }
        Err((error, record)) => {
            let Some(record) = record else {
                return Err(Outcome::inconclusive(format!(
                    "{peer} could not reach the Edge at {remote}, so its judgement of {legacy} cannot be seen: {error}"
                )));
            };
            run.remember_probe_connection(&record);
            if let TlsError::Handshake {
                tls_error: Some(own),
                ..
            } = &error
                && !matches!(own, rustls::Error::AlertReceived(_))
            {
                return Err(Outcome::inconclusive(format!(
                    "the probe's own side of the handshake failed ({own}), so the Edge's judgement of {legacy} cannot be seen"
                )));
            }
            return Err(Outcome::fail(format!(
                "the Edge refused the TLS handshake with a peer presenting {legacy} ({}); {why}",
                handshake_refusal(&error)
            )));
        }
    };

    let sip_actor = run.actor(actor)?;
    run.vars.set("local.fqdn", sip_actor.fqdn().to_owned());
    run.vars
        .set("tag", format!("{peer}-{:08x}", rand::random::<u32>()));
    run.vars.set(
        "branch",
        format!("z9hG4bK-ph-{:016x}", rand::random::<u64>()),
    );
    let message = render_message(LEGACY_MESSAGE, &run.vars);
    run.note(format!(
        "{peer} ({}) sends:\n{}",
        legacy.label(),
        String::from_utf8_lossy(&message)
    ));
    if let Err(e) = tls.write_all(&message).await {
        return Err(Outcome::fail(format!(
            "the Edge refused the connection from a peer presenting {legacy} with {}; {why}",
            io_refusal(&e)
        )));
    }
    let mut decoder = StreamDecoder::new(DEFAULT_MAX_MESSAGE_SIZE);
    let mut buffer = vec![0u8; 16 * 1024];

    // 1. The MESSAGE must reach the pool before anything comes back.
    let wait = ANSWER_WAIT.min(run.time_left());
    let deadline = tokio::time::Instant::now() + wait;
    let forwarded = tokio::select! {
        read = read_response(&mut tls, &mut decoder, &mut buffer, deadline) => {
            let read = read?;
            if let Read::Response(response) = &read {
                run.note(format!(
                    "{peer} received:\n{}",
                    String::from_utf8_lossy(&response.raw)
                ));
            }
            return Err(match read {
                Read::Closed(how) => Outcome::fail(format!(
                    "the Edge refused the connection from a peer presenting {legacy} with {how}; {why}"
                )),
                Read::Response(response) => Outcome::fail(format!(
                    "the Edge answered the MESSAGE from a peer presenting {legacy} with {}{} instead of forwarding it; {why}",
                    response.summary(),
                    warning_note(&response)
                )),
                Read::Silence => Outcome::fail(format!(
                    "the Edge neither forwarded nor answered the MESSAGE from a peer presenting {legacy} within {} ms",
                    wait.as_millis()
                )),
            });
        }
        arrival = run.next_arrival_to_answer(wait) => match arrival {
            Some((at, m)) if at == "pool" && m.method() == Some("MESSAGE") => m,
            Some((at, m)) => return Err(Outcome::fail(format!(
                "{} reached {at} instead of the MESSAGE reaching the pool", m.summary()
            ))),
            None => return Err(Outcome::fail(format!(
                "the Edge did not forward the MESSAGE from a peer presenting {legacy} to the pool within {} ms",
                wait.as_millis()
            ))),
        },
    };
    run.note(format!(
        "the MESSAGE reached the pool: {}",
        forwarded.summary()
    ));

    // 2. The pool's 200 must come back to the peer on its connection.
    run.reply(&Actor::Pool, 200, Some("MESSAGE"), None)?;
    let wait = ANSWER_WAIT.min(run.time_left());
    let deadline = tokio::time::Instant::now() + wait;
    match read_response(&mut tls, &mut decoder, &mut buffer, deadline).await? {
        Read::Response(response) if response.status() == Some(200) => {
            run.note(format!(
                "{peer} received:\n{}",
                String::from_utf8_lossy(&response.raw)
            ));
            run.finding(format!(
                "the Edge completed mutual TLS with a peer presenting {legacy}, forwarded its MESSAGE to the pool and relayed the 200"
            ));
            Ok(())
        }
        Read::Response(response) => Err(Outcome::fail(format!(
            "the pool answered 200 but the peer presenting {legacy} received {}",
            response.summary()
        ))),
        Read::Closed(how) => Err(Outcome::fail(format!(
            "the Edge forwarded the MESSAGE but then ended the connection from the peer presenting {legacy} with {how}"
        ))),
        Read::Silence => Err(Outcome::fail(format!(
            "the pool answered 200 but the Edge did not relay it to the peer presenting {legacy} within {} ms",
            wait.as_millis()
        ))),
    }
}

/// Reads from the peer's connection until one SIP message, the end of the
/// connection, or `deadline`.
pub(super) async fn read_response<S: tokio::io::AsyncRead + Unpin>(
    tls: &mut S,
    decoder: &mut StreamDecoder,
    buffer: &mut [u8],
    deadline: tokio::time::Instant,
) -> Result<Read, Outcome> {
    loop {
        match decoder.next_frame() {
            Ok(Some(Frame::Message(bytes))) => {
                return SipMessage::parse(&bytes).map(Read::Response).map_err(|e| {
                    Outcome::fail(format!("the Edge sent bytes that are not SIP: {e}"))
                });
            }
            Ok(Some(_)) => continue,
            Ok(None) => {}
            Err(e) => {
                return Err(Outcome::fail(format!(
                    "the Edge sent unframeable bytes: {e}"
                )));
            }
        }
        match tokio::time::timeout_at(deadline, tls.read(buffer)).await {
            Err(_) => return Ok(Read::Silence),
            Ok(Err(e)) => return Ok(Read::Closed(io_refusal(&e))),
            Ok(Ok(0)) => return Ok(Read::Closed("closing the connection".to_owned())),
            Ok(Ok(n)) => decoder.push(buffer.get(..n).unwrap_or_default()),
        }
    }
}
