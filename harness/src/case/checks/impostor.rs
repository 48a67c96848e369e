//! The Edge as TLS client: an impostor answers at a provider's address
//! (the provider actor's listener presents a bad server certificate) and
//! the pool hands the Edge a MESSAGE for a user of that provider. The Edge
//! must not deliver it there, and must answer the Lync user.
//!
//! - pass: nothing reached the impostor, the Edge's attempt to connect to
//!   it was seen to fail (a TLS alert or a close during the handshake, or a
//!   completed handshake on which it sent no SIP), and
//!   the pool got 408, 480, 503 or 504: what RFC 3261 gives a proxy whose
//!   next hop cannot be reached (§16.9: a transport error counts as 503;
//!   §16.8: a timeout as 408) and what Lync 2013 answers for a federated
//!   peer it cannot reach (504 with ms-diagnostics, 480). Another 3xx-6xx
//!   still passes, with an observation naming it.
//! - fail: the MESSAGE reached the impostor on a connection that presented
//!   the bad certificate (the reason describes that certificate, which is
//!   kept as evidence under `impostor-chain-accepted-by-sut`), the pool got
//!   a 2xx for a MESSAGE nobody received, or no final answer at all.
//! - a certificate without the serverAuth EKU: no requirement and no Lync
//!   document says how the Edge judges a provider's EKU, so delivering to it
//!   is recorded as an observation, never a fail.
//! - inconclusive: the impostor's own side ended the handshake (it refused
//!   the Edge's client certificate), the Edge never tried to connect, or
//!   the MESSAGE came on a connection opened before the impostor took over.

use std::time::Duration;

use picharness_simulators::actor::ImpostorReport;
use picharness_simulators::pki::ImpostorCertificate;
use picharness_simulators::tls::describe_certificate;
use picharness_wire::sip::SipMessage;

use super::certificate::keep_chain;
use super::mtls_refusal::alert_name;
use crate::case::execute::CaseRun;
use crate::case::outcome::Outcome;
use crate::scenario::Actor;

/// How long the Edge gets to answer the pool after the MESSAGE.
const ANSWER_WAIT: Duration = Duration::from_secs(10);
/// Time kept back from the case's deadline so the impostor always ends here.
const RESERVE: Duration = Duration::from_secs(2);
/// The final responses that say "could not reach the provider".
const UNREACHABLE: [u16; 4] = [408, 480, 503, 504];

const OUTBOUND_MESSAGE: &str = "MESSAGE sip:{user.peer}@{peer.domain} SIP/2.0
Via: SIP/2.0/TLS {local.fqdn}:5061;branch={branch}
Max-Forwards: 70
From: <sip:{user.lync}@{sut.domain}>;tag={tag}
To: <sip:{user.peer}@{peer.domain}>
Call-ID: impostor-{call_id}
CSeq: 1 MESSAGE
Content-Type: text/plain; charset=UTF-8
Content-Length: {content_length}

This message is for the provider only, never for an impostor.
";

/// What the exchange with the impostor in place showed.
#[derive(Default)]
pub(super) struct Seen {
    /// Requests that reached the provider's actor: (connection, request).
    delivered: Vec<(u64, SipMessage)>,
    /// The pool's final response.
    answer: Option<SipMessage>,
}

pub(super) async fn check_refuses_impostor(
    run: &mut CaseRun<'_>,
    actor: &Actor,
    bad: ImpostorCertificate,
) -> Result<(), Outcome> {
    let Some(peer_pki) = &run.topology.peer_pki else {
        return Err(Outcome::inconclusive(
            "the harness holds no CA the SUT trusts, so it cannot make the impostor's certificate",
        ));
    };
    let sip_actor = run.actor(actor)?;
    let identity = peer_pki
        .impostor_identity(bad, sip_actor.fqdn())
        .map_err(|e| Outcome::error(format!("cannot issue {bad}: {e}")))?;
    let (report, seen, described) = play_impostor(run, actor, identity, &bad.to_string()).await?;
    let delivery = if bad == ImpostorCertificate::NoServerAuthEku {
        Delivery::Observe(
            "no requirement or Lync 2013 document says whether the Edge checks a provider's EKU"
                .to_owned(),
        )
    } else {
        Delivery::Fail
    };
    judge(
        run,
        actor.name(),
        &bad.to_string(),
        delivery,
        &report,
        seen,
        &described,
    )
}

/// How a MESSAGE delivered to the impostor is judged.
pub(super) enum Delivery {
    /// A fail, with the certificate the Edge accepted.
    Fail,
    /// An observation, for the reason given; the case passes.
    Observe(String),
}

/// `actor` presents `identity` (`bad` in reasons) at its address while the
/// pool sends a MESSAGE for one of its users; what happened, and the
/// impostor's certificate described.
pub(super) async fn play_impostor(
    run: &mut CaseRun<'_>,
    actor: &Actor,
    identity: std::sync::Arc<picharness_simulators::pki::CertifiedKey>,
    bad: &str,
) -> Result<(ImpostorReport, Seen, String), Outcome> {
    let sip_actor = run.actor(actor)?;
    let peer = actor.name().to_owned();
    let described = identity
        .leaf()
        .map(|leaf| describe(leaf.as_ref()))
        .unwrap_or_default();
    run.note(format!(
        "an impostor takes {peer}'s place at {}:5061 presenting {bad} ({described}); every open connection to or from {peer} is closed so the Edge must connect again",
        sip_actor.ip()
    ));
    sip_actor
        .impersonate(identity)
        .await
        .map_err(|e| Outcome::error(format!("cannot play the impostor: {e}")))?;
    run.impersonated.push(actor.clone());
    let seen = exchange(run, &peer).await;
    let report = sip_actor.stop_impersonating().await;
    run.impersonated.retain(|a| a != actor);
    run.note(format!("{peer} is itself again"));
    let seen = seen?;
    for failed in &report.failed {
        run.remember_probe_connection(&failed.record);
        run.note(format!(
            "a handshake with the impostor failed: {}",
            failed.message
        ));
    }
    Ok((report, seen, described))
}

/// The pool sends the MESSAGE; waits for the impostor to receive it or
/// the pool to get a final answer.
async fn exchange(run: &mut CaseRun<'_>, peer: &str) -> Result<Seen, Outcome> {
    run.send(&Actor::Pool, OUTBOUND_MESSAGE, false).await?;
    let wait = ANSWER_WAIT.min(run.time_left().saturating_sub(RESERVE));
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen = Seen::default();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let Some((at, message, connection)) = run.next_arrival_on(left).await else {
            return Ok(seen);
        };
        if at == peer && message.is_request() {
            let method = message.method().unwrap_or_default().to_owned();
            seen.delivered.push((connection, message));
            // Answer as the impostor would, so the Edge's transaction ends.
            run.reply(&Actor::Peer(peer.to_owned()), 200, Some(&method), None)?;
            return Ok(seen);
        }
        if at == "pool" && message.status().is_some_and(|s| s >= 200) {
            seen.answer = Some(message);
            return Ok(seen);
        }
    }
}

pub(super) fn judge(
    run: &mut CaseRun<'_>,
    peer: &str,
    bad: &str,
    delivery: Delivery,
    report: &ImpostorReport,
    seen: Seen,
    described: &str,
) -> Result<(), Outcome> {
    if let Some((connection, request)) = seen.delivered.first() {
        if !report.accepted.contains(connection) {
            return Err(Outcome::inconclusive(format!(
                "{} reached {peer} on a connection opened before the impostor took over, so the Edge never met the impostor's certificate",
                request.summary()
            )));
        }
        keep_chain(run, "impostor-chain-accepted-by-sut", &report.chain);
        if let Delivery::Observe(why) = delivery {
            run.observe(format!(
                "the Edge delivered {} to a server at {peer}'s address presenting {bad} ({described}); {why}",
                request.summary()
            ));
            return Ok(());
        }
        return Err(Outcome::fail(format!(
            "the Edge accepted an impostor at {peer}'s address presenting {bad} and delivered the Lync user's {} to it; the certificate it accepted: {described} (kept as impostor-chain-accepted-by-sut)",
            request.summary()
        )));
    }
    let refusal = how_refused(report)?;
    let Some(answer) = seen.answer else {
        return Err(Outcome::fail(format!(
            "nothing arrived at pool within {} ms: the Edge kept the MESSAGE from the impostor ({}) but left the Lync user's request without a final answer; expected one of 408, 480, 503, 504",
            ANSWER_WAIT.as_millis(),
            refusal.as_deref().unwrap_or("it never connected")
        )));
    };
    let status = answer.status().unwrap_or(0);
    let reason = answer.reason().unwrap_or_default().to_owned();
    if (200..300).contains(&status) {
        return Err(Outcome::fail(format!(
            "the Edge answered the Lync user's MESSAGE {status} {reason}, yet nothing reached {peer} or the impostor"
        )));
    }
    let Some(refusal) = refusal else {
        return Err(Outcome::inconclusive(format!(
            "the Edge answered {status} {reason} without connecting to the impostor, so how it judges {bad} was not seen"
        )));
    };
    if !UNREACHABLE.contains(&status) {
        run.observe(format!(
            "the Edge answered the undeliverable MESSAGE {status} {reason}, not one of 408, 480, 503, 504"
        ));
    }
    run.finding(format!(
        "the Edge refused the impostor presenting {bad} ({refusal}) and answered the Lync user {status} {reason}"
    ));
    Ok(())
}

/// How the Edge ended its handshakes with the impostor; `None` when it
/// never tried. The impostor's own side refusing (the Edge's client
/// certificate) hides the Edge's judgement: inconclusive.
fn how_refused(report: &ImpostorReport) -> Result<Option<String>, Outcome> {
    let Some(failed) = report.failed.first() else {
        // A handshake that completed, on which nothing was delivered: the
        // Edge judged the certificate after the handshake and sent no SIP.
        return Ok((!report.accepted.is_empty()).then(|| {
            "completing the handshake, then sending no SIP on the connection".to_owned()
        }));
    };
    match &failed.tls_error {
        Some(rustls::Error::AlertReceived(alert)) => {
            Ok(Some(format!("TLS alert {}", alert_name(*alert))))
        }
        Some(own) => Err(Outcome::inconclusive(format!(
            "the impostor's own side ended the handshake ({own}): the Edge's outbound TLS was not shown to work, so its judgement of the impostor's certificate cannot be seen"
        ))),
        None => Ok(Some(format!(
            "closing the connection during the handshake: {}",
            failed.message
        ))),
    }
}

/// The facts of a certificate that tell an impostor's from the provider's.
fn describe(der: &[u8]) -> String {
    match describe_certificate(der) {
        Ok(s) => format!(
            "subject {}, SAN [{}], issuer {}, valid {} to {}, serverAuth {}",
            s.subject,
            s.dns_names.join(", "),
            s.issuer,
            s.not_before,
            s.not_after,
            if s.server_auth { "yes" } else { "no" }
        ),
        Err(e) => format!("unreadable certificate: {e}"),
    }
}
