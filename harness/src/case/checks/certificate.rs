//! Checks on the certificate the Edge presents, as a TLS server on its
//! external 5061 listener and as a TLS client when it connects out to a
//! provider. For the server side a peer opens a probe connection that
//! records the chain and accepts it whatever it holds (so a wrong property
//! is reported as that property, not as a failed handshake); for the client
//! side the peer's listener has recorded what the Edge presented. The chain
//! goes into the case folder as PEM and as a readable dump; then the rules
//! of `certificate_rules` judge it.

use std::sync::Arc;
use std::time::Duration;

use picharness_simulators::tls::{
    ChainRecorder, TlsVersions, connect_tls_recorded, describe_certificate, probe_client_config,
};
use rustls_pki_types::CertificateDer;

use super::certificate_rules::{
    KEY_WARNING_CITES, SIGNATURE_WARNING_CITES, judge_crl_distribution_point, judge_key,
    judge_signatures, judge_sip_domains, judge_subject, judge_trust, judge_validity, key_warning,
    now_unix, signature_warning,
};
use crate::case::execute::CaseRun;
use crate::case::outcome::Outcome;
use crate::scenario::{Actor, CheckKind};
use picharness_reports::FindingKind;

const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// Connects from `actor`'s address to the Edge's external listener and
/// returns the chain the Edge presented.
pub(super) async fn fetch_server_chain(
    run: &mut CaseRun<'_>,
    actor: &Actor,
) -> Result<Vec<CertificateDer<'static>>, Outcome> {
    let remote = run.topology.sut.external;
    let chain = fetch_server_chain_from(run, actor, remote).await?;
    keep_chain(run, "sut-server-chain", &chain);
    Ok(chain)
}

/// Connects from `actor`'s address to an external listener at `remote`
/// (the Edge or one of its pool members) and returns the chain presented.
pub(super) async fn fetch_server_chain_from(
    run: &mut CaseRun<'_>,
    actor: &Actor,
    remote: std::net::SocketAddr,
) -> Result<Vec<CertificateDer<'static>>, Outcome> {
    let sip_actor = run.actor(actor)?;
    let chains = ChainRecorder::default();
    let config = probe_client_config(
        Some(Arc::clone(sip_actor.identity())),
        TlsVersions::Tls12And13,
        run.topology.key_log.clone(),
        chains.clone(),
    )
    .map_err(|e| Outcome::error(format!("cannot build the probe's TLS configuration: {e}")))?;
    let server_name = run.topology.sut.access_edge_fqdn.clone();
    let result = connect_tls_recorded(
        Some(sip_actor.ip()),
        remote,
        &server_name,
        config,
        PROBE_TIMEOUT.min(run.time_left()),
    )
    .await;
    let error = match result {
        Ok((_tls, record)) => {
            run.remember_probe_connection(&record);
            None
        }
        Err((e, record)) => {
            if let Some(record) = record {
                run.remember_probe_connection(&record);
            }
            Some(e)
        }
    };
    let Some(presented) = chains.last_record() else {
        return Err(Outcome::fail(match error {
            Some(e) => format!("the Edge at {remote} presented no certificate: {e}"),
            None => format!("the Edge at {remote} finished a handshake without a certificate"),
        }));
    };
    run.note(format!(
        "{} probed {remote} ({server_name}); the Edge presented a chain of {}",
        actor.name(),
        presented.chain.len()
    ));
    Ok(presented.chain)
}

/// Keeps the last chain `chains` recorded as the case's `sut-server-chain`
/// evidence, unless the case already holds that exact chain.
pub(super) fn keep_server_chain(run: &mut CaseRun<'_>, chains: &ChainRecorder) {
    if let Some(presented) = chains.last_record() {
        keep_chain(run, "sut-server-chain", &presented.chain);
    }
}

/// Keeps `chain` as the case's evidence under `name`, unless the case
/// already holds that exact chain under that name.
pub(super) fn keep_chain(run: &mut CaseRun<'_>, name: &str, chain: &[CertificateDer<'static>]) {
    let already = run
        .certificates
        .iter()
        .any(|(held, held_chain)| held == name && held_chain == chain);
    if !already {
        run.certificates.push((name.to_owned(), chain.to_vec()));
    }
}

/// Runs one certificate property check.
pub(super) async fn check_server_certificate_property(
    run: &mut CaseRun<'_>,
    actor: &Actor,
    kind: CheckKind,
) -> Result<(), Outcome> {
    let chain = fetch_server_chain(run, actor).await?;
    let Some(leaf) = chain.first() else {
        return Err(Outcome::fail(
            "the Edge presented an empty certificate chain",
        ));
    };
    let summary = describe_certificate(leaf)
        .map_err(|e| Outcome::fail(format!("the Edge's certificate cannot be parsed: {e}")))?;
    run.note(format!("Edge server certificate:\n{}", summary.to_text()));
    let fqdn = run.topology.sut.access_edge_fqdn.clone();
    let judged = match kind {
        CheckKind::CertificateSubject => judge_subject(&summary, &fqdn),
        CheckKind::CertificateTrust => judge_trust(&chain, &run.topology.trust_anchors),
        CheckKind::CertificateValidity => judge_validity(leaf, now_unix()),
        CheckKind::CertificateSignature => judge_signatures(&chain),
        CheckKind::CertificateCrlDistributionPoint => judge_crl_distribution_point(&summary),
        CheckKind::CertificateKey => judge_key(&summary),
        CheckKind::CertificateSipDomains => {
            judge_sip_domains(&summary, &run.topology.sut.sip_domains)
        }
        other => {
            return Err(Outcome::error(format!(
                "check {} is not a certificate property",
                other.name()
            )));
        }
    };
    match judged {
        Ok(detail) => {
            run.finding(detail);
            // What the requirement accepts but flags (CERT-07 WARN; SHA-1
            // under CERT-08) is a warning beside the pass.
            let warning = match kind {
                CheckKind::CertificateKey => key_warning(&summary).map(|w| (KEY_WARNING_CITES, w)),
                CheckKind::CertificateSignature => {
                    signature_warning(&chain).map(|w| (SIGNATURE_WARNING_CITES, w))
                }
                _ => None,
            };
            if let Some((cites, text)) = warning {
                run.record_finding(
                    FindingKind::Warning,
                    cites,
                    format!("Edge 5061 certificate: {text}"),
                );
            }
            Ok(())
        }
        Err(reason) => Err(Outcome::fail(format!("Edge 5061 certificate: {reason}"))),
    }
}

/// The Edge's certificate as a TLS client (what it presented to `actor`'s
/// listener when connecting out) is the one it serves on 5061 (CERT-10) and
/// passes every property rule: subject, trust, validity, key, signature
/// algorithms and CRL distribution point.
pub(super) async fn check_client_certificate_properties(
    run: &mut CaseRun<'_>,
    actor: &Actor,
) -> Result<(), Outcome> {
    let sip_actor = run.actor(actor)?;
    let name = actor.name().to_owned();
    let presented = loop {
        if let Some(last) = sip_actor.chains_presented_to_us().last_record() {
            break last;
        }
        if run.time_left().is_zero() {
            return Err(Outcome::fail(format!(
                "the Edge never opened a TLS connection to {name}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(20).min(run.time_left())).await;
    };
    run.certificates.push((
        format!("sut-client-chain-to-{name}"),
        presented.chain.clone(),
    ));
    let chain = presented.chain;
    let Some(leaf) = chain.first() else {
        return Err(Outcome::fail(format!(
            "the Edge presented an empty certificate chain to {name}"
        )));
    };
    let summary = describe_certificate(leaf).map_err(|e| {
        Outcome::fail(format!(
            "the certificate the Edge presented to {name} cannot be parsed: {e}"
        ))
    })?;
    run.note(format!(
        "certificate the Edge presented to {name}:\n{}",
        summary.to_text()
    ));
    // CERT-10: the same certificate as on the 5061 listener.
    let served = fetch_server_chain(run, actor).await?;
    if served.first() != Some(leaf) {
        return Err(Outcome::fail(format!(
            "the Edge presented a different certificate to {name} as a TLS client than it serves on 5061 (CERT-10; compare sut-client-chain-to-{name}.pem with sut-server-chain.pem)"
        )));
    }
    let fqdn = run.topology.sut.access_edge_fqdn.clone();
    let rules = [
        judge_subject(&summary, &fqdn),
        judge_trust(&chain, &run.topology.trust_anchors),
        judge_validity(leaf, now_unix()),
        judge_key(&summary),
        judge_signatures(&chain),
        judge_crl_distribution_point(&summary),
    ];
    let mut details = Vec::new();
    for rule in rules {
        match rule {
            Ok(detail) => details.push(detail),
            Err(reason) => {
                return Err(Outcome::fail(format!(
                    "Edge certificate presented to {name}: {reason}"
                )));
            }
        }
    }
    run.finding(format!(
        "as a TLS client to {name}, the same certificate as on 5061: {}",
        details.join("; ")
    ));
    let warnings = [
        key_warning(&summary).map(|w| (KEY_WARNING_CITES, w)),
        signature_warning(&chain).map(|w| (SIGNATURE_WARNING_CITES, w)),
    ];
    for (cites, text) in warnings.into_iter().flatten() {
        run.record_finding(
            FindingKind::Warning,
            cites,
            format!("Edge certificate presented to {name}: {text}"),
        );
    }
    Ok(())
}
