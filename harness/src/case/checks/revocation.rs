//! Revoked provider certificates, in both directions. The harness issues
//! the provider's good certificate with a CRL distribution point on its
//! own CRL responder (a path of its own for each case, so no Edge can
//! answer from a cache) and publishes a CRL, signed by the CA the Edge
//! trusts, that revokes it. Then:
//!
//! - `refuses-revoked-peer`: the peer connects in presenting it and sends
//!   a MESSAGE for a Lync user (the `mtls_refusal` probe);
//! - `refuses-revoked-impostor`: the provider's actor presents it at the
//!   provider's address while the pool sends a MESSAGE for one of its
//!   users (the `impostor` exchange).
//!
//! The judged property is PORT-09 as its method states it: "an HTTP
//! listener on the CDP URL observes a GET". No GET for the case's CRL is a
//! fail. No requirement asks the Edge to refuse a revoked certificate
//! (CERT-01..15 say nothing of revocation), and no Lync 2013 source this
//! project cites says what the Edge does with one, so refusing is reported
//! and accepting is an observation, never a fail. The impostor case keeps
//! the impostor cases' other rules (an answer to the pool, inconclusive
//! when the Edge never met the certificate).

use picharness_simulators::http::{CrlResponder, HttpRequestRecord};
use picharness_simulators::pki::RevokedIdentity;

use super::impostor::{self, Delivery};
use super::mtls_refusal::{Answer, probe_peer};
use crate::case::execute::CaseRun;
use crate::case::outcome::Outcome;
use crate::scenario::Actor;

const NO_REQUIREMENT: &str = "no requirement asks the Edge to refuse a revoked certificate and no Lync 2013 document cited here says whether it does";

/// Issues the revoked certificate for `actor` and publishes its CRL on a
/// path of this case's own.
fn revoked_for(run: &mut CaseRun<'_>, actor: &Actor) -> Result<(RevokedIdentity, String), Outcome> {
    let Some(peer_pki) = &run.topology.peer_pki else {
        return Err(Outcome::inconclusive(
            "the harness holds no CA the SUT trusts, so it cannot make the revoked certificate",
        ));
    };
    let Some(crl) = &run.topology.crl else {
        return Err(Outcome::inconclusive(
            "the harness serves no CRL (no [crl] listen address), so it cannot present a revoked certificate",
        ));
    };
    let path = format!("/crl/revoked-{:016x}.crl", rand::random::<u64>());
    let url = crl.url(&path);
    let fqdn = run.actor(actor)?.fqdn().to_owned();
    let revoked = peer_pki
        .revoked_identity(&fqdn, &url)
        .map_err(|e| Outcome::error(format!("cannot issue the revoked certificate: {e}")))?;
    crl.publish(&path, &revoked.crl);
    run.note(format!(
        "the CA revoked a certificate for {fqdn}; its CRL distribution point is {url}, where the harness serves the CRL that lists it"
    ));
    Ok((revoked, path))
}

/// The GETs for `path` the responder saw (the case's evidence lists every
/// request of its time).
fn fetches(run: &CaseRun<'_>, responder_path: &str) -> Vec<HttpRequestRecord> {
    run.topology
        .crl
        .as_ref()
        .map(CrlResponder::log)
        .map(|log| log.requests())
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.method == "GET" && r.target.split('?').next() == Some(responder_path))
        .collect()
}

fn fetched_from(gets: &[HttpRequestRecord]) -> String {
    let clients: Vec<String> = gets.iter().map(|r| r.client.ip().to_string()).collect();
    format!(
        "fetched the CRL over HTTP ({} GET from {})",
        gets.len(),
        clients.join(", ")
    )
}

fn no_fetch(url: &str) -> String {
    format!(
        "no GET reached the certificate's CRL distribution point {url}: PORT-09 says the Edge fetches CRLs over HTTP, observed as a GET on the CDP URL"
    )
}

pub(super) async fn check_refuses_revoked_peer(
    run: &mut CaseRun<'_>,
    actor: &Actor,
) -> Result<(), Outcome> {
    let (revoked, path) = revoked_for(run, actor)?;
    let url = revoked.crl_url.clone();
    let identity = std::sync::Arc::new(revoked.identity);
    let answer = probe_peer(
        run,
        actor,
        Some(identity),
        "its provider's certificate, revoked by the CA",
        "its provider's certificate, revoked by the CA (CRL at the distribution point)",
    )
    .await?;
    let accepted = match answer {
        Answer::HandshakeRefused(how) => Err(format!("refused the TLS handshake with {how}")),
        Answer::Refused(how) => Err(format!(
            "completed the handshake and refused the connection with {how} before any SIP"
        )),
        Answer::Sip(response) if response.status().is_some_and(|s| s >= 400) => Err(format!(
            "completed TLS and refused the MESSAGE with {}",
            response.summary()
        )),
        Answer::Sip(response) => Ok(format!("answered its MESSAGE {}", response.summary())),
        Answer::Forwarded(at, message) => Ok(format!("delivered {} to {at}", message.summary())),
        Answer::Silence => {
            Ok("completed TLS and kept the connection open without refusing it".to_owned())
        }
    };
    let gets = fetches(run, &path);
    match (gets.is_empty(), accepted) {
        (true, Ok(how)) => Err(Outcome::fail(format!(
            "the Edge accepted a peer presenting a revoked certificate ({how}) and {}",
            no_fetch(&url)
        ))),
        (true, Err(how)) => Err(Outcome::fail(format!(
            "the Edge {how} when a peer presented a revoked certificate, but {}",
            no_fetch(&url)
        ))),
        (false, Ok(how)) => {
            run.observe(format!(
                "the Edge {} yet accepted a peer presenting a certificate that CRL revokes: it {how}; {NO_REQUIREMENT}",
                fetched_from(&gets)
            ));
            Ok(())
        }
        (false, Err(how)) => {
            run.finding(format!(
                "the Edge {} and {how} when a peer presented a revoked certificate",
                fetched_from(&gets)
            ));
            Ok(())
        }
    }
}

pub(super) async fn check_refuses_revoked_impostor(
    run: &mut CaseRun<'_>,
    actor: &Actor,
) -> Result<(), Outcome> {
    let (revoked, path) = revoked_for(run, actor)?;
    let url = revoked.crl_url.clone();
    let identity = std::sync::Arc::new(revoked.identity);
    let what = "the provider's own certificate, revoked by the CA";
    let (report, seen, described) = impostor::play_impostor(run, actor, identity, what).await?;
    let gets = fetches(run, &path);
    let delivery = if gets.is_empty() {
        Delivery::Fail
    } else {
        Delivery::Observe(format!(
            "the Edge {} before it; {NO_REQUIREMENT}",
            fetched_from(&gets)
        ))
    };
    let judged = impostor::judge(run, actor.name(), what, delivery, &report, seen, &described);
    match (&judged, gets.is_empty()) {
        (Err(outcome), true) if outcome.verdict == picharness_reports::Verdict::Fail => Err(
            Outcome::fail(format!("{}; and {}", outcome.reason, no_fetch(&url))),
        ),
        (Ok(()), true) => Err(Outcome::fail(format!(
            "the Edge did not deliver to the server presenting a revoked certificate, but {}",
            no_fetch(&url)
        ))),
        (Ok(()), false) => {
            run.finding(format!(
                "the Edge {} for the certificate the server at the provider's address presented",
                fetched_from(&gets)
            ));
            judged
        }
        _ => judged,
    }
}
