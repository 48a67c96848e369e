//! Negative mutual TLS: a peer presents a bad client certificate (or none)
//! to the Edge's external listener and sends a MESSAGE for a Lync user. The
//! Edge must refuse, and the verdict says how:
//!
//! - no certificate, untrusted issuer, expired, not yet valid, no clientAuth
//!   EKU (FED-01, FED-02, CERT-15): the TLS connection itself must be
//!   refused (a TLS alert, a reset or a close). Answering at the SIP level,
//!   even with 403, means the Edge accepted the certificate: fail.
//! - a trusted certificate that names no provider (CERT-11): a TLS refusal,
//!   or a SIP refusal (4xx-6xx) with nothing forwarded, passes.
//!
//! Whatever the kind, a MESSAGE reaching the pool fails the case on the
//! spot. The probe accepts the Edge's own certificate whatever it holds, so
//! the handshake only tests how the Edge judges the peer.

use std::time::Duration;

use picharness_simulators::pki::BadPeerCertificate;
use picharness_simulators::tls::{
    ChainRecorder, TlsError, TlsVersions, alert_of, connect_tls_recorded, probe_client_config,
};
use picharness_wire::sip::{DEFAULT_MAX_MESSAGE_SIZE, Frame, SipMessage, StreamDecoder};
use rustls::AlertDescription;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::certificate::keep_server_chain;
use crate::case::execute::CaseRun;
use crate::case::outcome::Outcome;
use crate::scenario::{Actor, render_message};

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the Edge gets to refuse, answer or forward after the MESSAGE.
const ANSWER_WAIT: Duration = Duration::from_secs(2);

const PROBE_MESSAGE: &str = "MESSAGE sip:{user.lync}@{sut.domain} SIP/2.0
Via: SIP/2.0/TLS {local.fqdn}:5061;branch={branch}
Max-Forwards: 70
From: <sip:{user.peer}@{peer.domain}>;tag={tag}
To: <sip:{user.lync}@{sut.domain}>
Call-ID: refusal-{call_id}
CSeq: 1 MESSAGE
Content-Type: text/plain; charset=UTF-8
Content-Length: {content_length}

This peer's certificate should have been refused.
";

/// The RFC 8446 §6 name of a TLS alert.
pub(super) fn alert_name(alert: AlertDescription) -> String {
    let name = match alert {
        AlertDescription::CloseNotify => "close_notify",
        AlertDescription::UnexpectedMessage => "unexpected_message",
        AlertDescription::BadRecordMac => "bad_record_mac",
        AlertDescription::HandshakeFailure => "handshake_failure",
        AlertDescription::BadCertificate => "bad_certificate",
        AlertDescription::UnsupportedCertificate => "unsupported_certificate",
        AlertDescription::CertificateRevoked => "certificate_revoked",
        AlertDescription::CertificateExpired => "certificate_expired",
        AlertDescription::CertificateUnknown => "certificate_unknown",
        AlertDescription::IllegalParameter => "illegal_parameter",
        AlertDescription::UnknownCA => "unknown_ca",
        AlertDescription::AccessDenied => "access_denied",
        AlertDescription::DecodeError => "decode_error",
        AlertDescription::DecryptError => "decrypt_error",
        AlertDescription::ProtocolVersion => "protocol_version",
        AlertDescription::InsufficientSecurity => "insufficient_security",
        AlertDescription::InternalError => "internal_error",
        AlertDescription::CertificateRequired => "certificate_required",
        other => return format!("{other:?}"),
    };
    name.to_owned()
}

/// How a TLS-level refusal looked.
pub(super) fn io_refusal(error: &std::io::Error) -> String {
    if let Some(alert) = alert_of(error) {
        return format!("TLS alert {}", alert_name(alert));
    }
    match error.kind() {
        std::io::ErrorKind::ConnectionReset => "a TCP reset".to_owned(),
        std::io::ErrorKind::UnexpectedEof => "closing the connection".to_owned(),
        _ => format!("a connection error ({error})"),
    }
}

pub(super) fn handshake_refusal(error: &TlsError) -> String {
    match error {
        TlsError::Handshake {
            tls_error: Some(rustls::Error::AlertReceived(alert)),
            ..
        } => format!("TLS alert {}", alert_name(*alert)),
        TlsError::Handshake { message, .. } => format!("ending the handshake ({message})"),
        other => other.to_string(),
    }
}

/// What the Edge did with a probing peer and its MESSAGE.
pub(super) enum Answer {
    /// It refused the TLS handshake (how).
    HandshakeRefused(String),
    /// It ended the connection after the handshake (how).
    Refused(String),
    Sip(SipMessage),
    Forwarded(String, SipMessage),
    Silence,
}

pub(super) async fn check_refuses_peer(
    run: &mut CaseRun<'_>,
    actor: &Actor,
    bad: BadPeerCertificate,
) -> Result<(), Outcome> {
    let Some(peer_pki) = &run.topology.peer_pki else {
        return Err(Outcome::inconclusive(
            "the harness holds no CA the SUT trusts, so it cannot make the bad peer certificate",
        ));
    };
    let sip_actor = run.actor(actor)?;
    let fqdn = sip_actor.fqdn().to_owned();
    let identity = peer_pki
        .bad_identity(bad, &fqdn)
        .map_err(|e| Outcome::error(format!("cannot issue {bad}: {e}")))?;
    let what = format!("{bad} ({})", bad.label());
    let answer = probe_peer(run, actor, identity, &bad.to_string(), &what).await?;
    judge(run, bad, answer).await
}

/// `actor` connects to the Edge presenting `identity` (`described` in
/// reasons, `what` in the transcript) and sends a MESSAGE for a Lync user;
/// what the Edge did with it.
pub(super) async fn probe_peer(
    run: &mut CaseRun<'_>,
    actor: &Actor,
    identity: Option<std::sync::Arc<picharness_simulators::pki::CertifiedKey>>,
    described: &str,
    what: &str,
) -> Result<Answer, Outcome> {
    let bad = described;
    let sip_actor = run.actor(actor)?;
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
    let peer = actor.name().to_owned();
    run.note(format!("{peer} connects to {remote} presenting {what}"));
    let connected = connect_tls_recorded(
        Some(sip_actor.ip()),
        remote,
        &server_name,
        config,
        PROBE_TIMEOUT.min(run.time_left()),
    )
    .await;
    keep_server_chain(run, &chains);
    let mut tls = match connected {
        Ok((tls, record)) => {
            run.remember_probe_connection(&record);
            tls
        }
        Err((error, record)) => {
            let Some(record) = record else {
                return Err(Outcome::inconclusive(format!(
                    "{peer} could not reach the Edge at {remote}, so its refusal cannot be judged: {error}"
                )));
            };
            run.remember_probe_connection(&record);
            if let TlsError::Timeout { .. } = error {
                return Err(Outcome::fail(format!(
                    "the Edge neither finished nor refused the handshake with a peer presenting {bad}: {error}"
                )));
            }
            // Only an alert from the Edge or the connection ending is the
            // Edge's refusal; any other rustls error is our own side
            // failing, which says nothing about how the Edge judged us.
            if let TlsError::Handshake {
                tls_error: Some(own),
                ..
            } = &error
                && !matches!(own, rustls::Error::AlertReceived(_))
            {
                return Err(Outcome::inconclusive(format!(
                    "the probe's own side of the handshake failed ({own}), so the Edge's judgement of {bad} cannot be seen"
                )));
            }
            let how = handshake_refusal(&error);
            run.note(format!("the Edge refused the handshake: {how}"));
            return Ok(Answer::HandshakeRefused(how));
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
    let message = render_message(PROBE_MESSAGE, &run.vars);
    run.note(format!(
        "{peer} (bad certificate) sends:\n{}",
        String::from_utf8_lossy(&message)
    ));
    Ok(match tls.write_all(&message).await {
        Err(e) => Answer::Refused(io_refusal(&e)),
        Ok(()) => {
            let mut decoder = StreamDecoder::new(DEFAULT_MAX_MESSAGE_SIZE);
            let mut buffer = vec![0u8; 16 * 1024];
            let wait = ANSWER_WAIT.min(run.time_left());
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                tokio::select! {
                    read = tokio::time::timeout_at(deadline, tls.read(&mut buffer)) => match read {
                        Err(_) => break Answer::Silence,
                        Ok(Err(e)) => break Answer::Refused(io_refusal(&e)),
                        Ok(Ok(0)) => break Answer::Refused("closing the connection".to_owned()),
                        Ok(Ok(n)) => {
                            decoder.push(&buffer[..n]);
                            match decoder.next_frame() {
                                Ok(Some(Frame::Message(bytes))) => match SipMessage::parse(&bytes) {
                                    Ok(m) => break Answer::Sip(m),
                                    Err(e) => return Err(Outcome::fail(format!(
                                        "the Edge answered the peer presenting {bad} with bytes that are not SIP: {e}"
                                    ))),
                                },
                                Ok(_) => {}
                                Err(e) => return Err(Outcome::fail(format!(
                                    "the Edge answered the peer presenting {bad} with unframeable bytes: {e}"
                                ))),
                            }
                        }
                    },
                    arrival = run.next_arrival(wait) => match arrival {
                        Some((at, m)) => break Answer::Forwarded(at, m),
                        None => break Answer::Silence,
                    },
                }
            }
        }
    })
}

/// The bad peer got no SIP through: make sure nothing reached the pool
/// meanwhile, then pass with how the Edge refused.
async fn finish(run: &mut CaseRun<'_>, bad: BadPeerCertificate, how: &str) -> Result<(), Outcome> {
    if let Some((at, message)) = run.next_arrival(Duration::ZERO).await {
        return Err(Outcome::fail(format!(
            "{} reached {at} from a peer presenting {bad}",
            message.summary()
        )));
    }
    run.finding(format!("the Edge {how} when a peer presented {bad}"));
    Ok(())
}

async fn judge(
    run: &mut CaseRun<'_>,
    bad: BadPeerCertificate,
    answer: Answer,
) -> Result<(), Outcome> {
    let sip_refusal_allowed = bad == BadPeerCertificate::WrongName;
    match answer {
        Answer::HandshakeRefused(how) => {
            finish(run, bad, &format!("refused the TLS handshake with {how}")).await
        }
        Answer::Refused(how) => {
            finish(run, bad, &format!("refused the connection with {how}")).await
        }
        Answer::Forwarded(at, message) => Err(Outcome::fail(format!(
            "the Edge accepted a peer presenting {bad}: {} reached {at}",
            message.summary()
        ))),
        Answer::Sip(response) => {
            run.note(format!(
                "the Edge answered the bad peer:\n{}",
                String::from_utf8_lossy(&response.raw)
            ));
            let status = response.status().unwrap_or(0);
            if sip_refusal_allowed && status >= 400 {
                let reason = response.reason().unwrap_or_default().to_owned();
                finish(
                    run,
                    bad,
                    &format!("completed TLS and refused the MESSAGE with SIP {status} {reason}"),
                )
                .await
            } else {
                Err(Outcome::fail(format!(
                    "the Edge completed the TLS handshake with a peer presenting {bad} and answered its MESSAGE with {}; it must refuse the connection instead",
                    response.summary()
                )))
            }
        }
        Answer::Silence if sip_refusal_allowed => {
            finish(
                run,
                bad,
                &format!(
                    "completed TLS but neither answered nor forwarded the MESSAGE within {} ms",
                    ANSWER_WAIT.as_millis()
                ),
            )
            .await
        }
        Answer::Silence => Err(Outcome::fail(format!(
            "the Edge completed the TLS handshake with a peer presenting {bad} and did not refuse the connection within {} ms",
            ANSWER_WAIT.as_millis()
        ))),
    }
}
