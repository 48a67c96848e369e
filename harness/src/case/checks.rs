//! Built-in checks: judgements that take more than one SIP message (DNS
//! records, certificate properties). This file dispatches; the certificate
//! property checks, the TLS version probe and the negative MTLS probes live
//! in `checks/`.

mod certificate;
mod certificate_pool;
pub(crate) mod certificate_rules;
mod impostor;
mod mtls_legacy;
mod mtls_refusal;
mod revocation;
mod tls_versions;

mod inward;
pub(crate) use inward::relayed_phrase;
pub(crate) mod liveness_probe;
mod outward;
mod pipelining;

use std::time::Duration;

use hickory_proto::rr::RData;
use picharness_simulators::dns::resolver_recorded;
use picharness_simulators::tls::{CertificateSummary, describe_certificate};
use rustls_pki_types::CertificateDer;

mod av;
mod av_abuse;
mod av_call;
pub(crate) mod av_expiry;
mod av_stream;
mod dns;
mod ms_turn;
mod ms_turn_relay;
mod ms_turn_tcp;
mod ms_turn_tcp_relay;

pub(crate) use av_call::CallMedia;

use super::execute::CaseRun;
use super::outcome::Outcome;
use crate::scenario::{Actor, CheckKind};

pub(crate) async fn run_check(
    run: &mut CaseRun<'_>,
    actor: &Actor,
    kind: CheckKind,
) -> Result<(), Outcome> {
    match kind {
        CheckKind::DnsSrvExists => dns::srv_exists(run).await,
        CheckKind::DnsSrvPort => dns::srv_port(run).await,
        CheckKind::DnsSrvTargetResolves => dns::srv_target_resolves(run).await,
        CheckKind::DnsSrvTargetInSan => dns::srv_target_in_san(run, actor).await,
        CheckKind::DnsSrvTargetAddress => dns::srv_target_address(run).await,
        CheckKind::DnsOverTcp => dns::over_tcp(run).await,
        CheckKind::ServerCertificate => server_certificate(run, actor).await,
        CheckKind::ClientCertificateEku => client_certificate_eku(run, actor).await,
        CheckKind::CertificateSubject
        | CheckKind::CertificateTrust
        | CheckKind::CertificateValidity
        | CheckKind::CertificateSignature
        | CheckKind::CertificateCrlDistributionPoint
        | CheckKind::CertificateKey
        | CheckKind::CertificateSipDomains => {
            certificate::check_server_certificate_property(run, actor, kind).await
        }
        CheckKind::CertificatePoolMembers => certificate_pool::check_pool_members(run, actor).await,
        CheckKind::ClientCertificateProperties => {
            certificate::check_client_certificate_properties(run, actor).await
        }
        CheckKind::TlsVersions => tls_versions::check_tls_versions(run, actor).await,
        CheckKind::RefusesPeer(bad) => mtls_refusal::check_refuses_peer(run, actor, bad).await,
        CheckKind::RefusesImpostor(bad) => impostor::check_refuses_impostor(run, actor, bad).await,
        CheckKind::RefusesRevokedPeer => revocation::check_refuses_revoked_peer(run, actor).await,
        CheckKind::RefusesRevokedImpostor => {
            revocation::check_refuses_revoked_impostor(run, actor).await
        }
        CheckKind::AcceptsLegacyPeer(legacy) => {
            mtls_legacy::check_accepts_legacy_peer(run, actor, legacy).await
        }
        CheckKind::StunBindingUdp => av::stun_binding(run, av::StunTransport::Udp).await,
        CheckKind::StunBindingTcp => av::stun_binding(run, av::StunTransport::Tcp).await,
        CheckKind::TurnAuthChallenge => av::turn_auth_challenge(run).await,
        CheckKind::TurnRelayRange => av::turn_relay_range(run).await,
        CheckKind::TurnRelayRoundtrip => {
            av::turn_relay_roundtrip(run, av::StunTransport::Udp).await
        }
        CheckKind::MsTurnAuthChallenge => ms_turn::ms_turn_auth_challenge(run).await,
        CheckKind::MsTurnNoCookieIgnored => ms_turn::ms_turn_no_cookie_ignored(run).await,
        CheckKind::MsTurnUnknownAttribute => ms_turn::ms_turn_unknown_attribute(run).await,
        CheckKind::TurnRelayRoundtripTcp => {
            av::turn_relay_roundtrip(run, av::StunTransport::Tcp).await
        }
        CheckKind::RtpStream => av::rtp_stream(run).await,
        CheckKind::StunUnknownAttribute => av::stun_unknown_attribute(run).await,
        CheckKind::MsTurnAllocate => ms_turn::ms_turn_allocate(run).await,
        CheckKind::MsTurnTcpPseudoTls => ms_turn_tcp::ms_turn_tcp_pseudo_tls(run).await,
        CheckKind::MsTurnTcpNoCookieCloses => ms_turn_tcp::ms_turn_tcp_no_cookie_closes(run).await,
        CheckKind::MsTurnSendAndData => ms_turn_relay::ms_turn_send_and_data(run).await,
        CheckKind::MsTurnActiveDestination => ms_turn_relay::ms_turn_active_destination(run).await,
        CheckKind::MsTurnTcpRelay => ms_turn_tcp_relay::ms_turn_tcp_relay(run).await,
        CheckKind::TurnAllocationExpiry => av_expiry::turn_allocation_expiry(run).await,
        CheckKind::AvCallAllocate => av_call::call_allocate(run).await,
        CheckKind::AvCallMedia => av_call::call_media(run).await,
        CheckKind::LivenessProbe => liveness_probe::check_liveness(run, actor)
            .await
            .map_err(|failed| run.during_abuse(failed)),
        CheckKind::PipelinedMessages => pipelining::check_pipelined(run, actor).await,
        CheckKind::NothingRelayedOutward => outward::check_nothing_relayed_outward(run),
        CheckKind::NothingMalformedInward => inward::check_nothing_malformed_inward(run),
        CheckKind::AvMalformedStun => av_abuse::av_malformed_stun(run).await,
        CheckKind::AvAllocateFlood => av_abuse::av_allocate_flood(run).await,
        CheckKind::AvStrayTraffic => av_abuse::av_stray_traffic(run).await,
        CheckKind::AvLivenessProbe => av_abuse::av_liveness_probe(run).await,
    }
}

/// One SRV answer.
struct SrvAnswer {
    port: u16,
    target: String,
}

fn federation_srv_name(run: &CaseRun<'_>) -> String {
    format!("_sipfederationtls._tcp.{}.", run.topology.sut.sip_domain)
}

/// Looks up the federation SRV record. `Ok(vec![])` when the name has no
/// SRV records; `Err` (inconclusive) when DNS itself could not be asked.
async fn lookup_federation_srv(run: &mut CaseRun<'_>) -> Result<Vec<SrvAnswer>, Outcome> {
    let name = federation_srv_name(run);
    let dns = run.topology.dns_server;
    let resolver = resolver_recorded(dns, false, run.topology.dns_client_log.clone())
        .map_err(|e| Outcome::error(format!("cannot build a DNS resolver for {dns}: {e}")))?;
    match resolver.srv_lookup(name.as_str()).await {
        Ok(lookup) => {
            let answers: Vec<SrvAnswer> = lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::SRV(srv) => Some(SrvAnswer {
                        port: srv.port,
                        target: srv.target.to_string().trim_end_matches('.').to_owned(),
                    }),
                    _ => None,
                })
                .collect();
            let listing: Vec<String> = answers
                .iter()
                .map(|a| format!("{}:{}", a.target, a.port))
                .collect();
            run.note(format!("DNS {dns}: SRV {name} -> [{}]", listing.join(", ")));
            Ok(answers)
        }
        Err(e) if e.is_no_records_found() || e.is_nx_domain() => {
            run.note(format!("DNS {dns}: SRV {name} -> no records ({e})"));
            Ok(Vec::new())
        }
        Err(e) => Err(Outcome::inconclusive(format!(
            "the DNS server at {dns} did not answer the SRV query for {name}: {e}"
        ))),
    }
}

async fn server_certificate(run: &mut CaseRun<'_>, actor: &Actor) -> Result<(), Outcome> {
    let answers = lookup_federation_srv(run).await?;
    let Some(srv) = answers.first() else {
        return Err(Outcome::inconclusive(format!(
            "there is no SRV record for {}, so there is no target to look for in the certificate",
            federation_srv_name(run)
        )));
    };
    let target = srv.target.clone();
    let remote = run.topology.sut.external;
    let server_name = run.topology.sut.access_edge_fqdn.clone();
    let ServerProbe {
        summary,
        handshake_error,
    } = probe_server_certificate(run, actor, &server_name, |e| {
        Outcome::fail(format!(
            "the Edge at {remote} presented no certificate: {e}"
        ))
    })
    .await?;
    run.note(format!("Edge server certificate:\n{}", summary.to_text()));
    if !summary.server_auth {
        let why = if summary.has_eku {
            "its EKU extension lacks serverAuth"
        } else {
            "it has no EKU extension"
        };
        return Err(Outcome::fail(format!(
            "the Edge's 5061 certificate cannot be used for serverAuth: {why}"
        )));
    }
    let in_san = summary
        .dns_names
        .iter()
        .any(|n| n.eq_ignore_ascii_case(&target));
    if !in_san {
        return Err(Outcome::fail(format!(
            "the SRV target {target} is not in the Edge certificate's SAN [{}]",
            summary.dns_names.join(", ")
        )));
    }
    if let Some(e) = handshake_error {
        return Err(Outcome::fail(format!(
            "the Edge's certificate was refused by a standard verifier: {e}"
        )));
    }
    Ok(())
}

/// What a peer saw of the certificate the Edge serves on its external port.
pub(crate) struct ServerProbe {
    pub(crate) summary: CertificateSummary,
    /// Why a standard verifier refused the handshake, when it did.
    pub(crate) handshake_error: Option<String>,
}

/// Connects `actor` to the Edge's external listener naming `server_name`
/// and reads the leaf the Edge presented, recorded even when the handshake
/// failed; the chain goes into the case's evidence. When the Edge presented
/// no certificate, `no_chain` turns the handshake error into the verdict.
pub(crate) async fn probe_server_certificate(
    run: &mut CaseRun<'_>,
    actor: &Actor,
    server_name: &str,
    no_chain: impl FnOnce(String) -> Outcome,
) -> Result<ServerProbe, Outcome> {
    let sip_actor = run.actor(actor)?;
    let before = sip_actor.chains_presented_by_servers().all().len();
    let remote = run.topology.sut.external;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let connected = sip_actor.connect(remote, server_name, tx).await;
    let recorded = sip_actor.chains_presented_by_servers().all();
    let Some(presented) = recorded.get(before..).and_then(|new| new.last()).cloned() else {
        return Err(match connected {
            Ok(_) => {
                Outcome::error("the TLS handshake finished but no server certificate was recorded")
            }
            Err((e, _)) => no_chain(e.to_string()),
        });
    };
    let handshake_error = match &connected {
        Ok(connection) => {
            run.remember_connection(&connection.record, connection.id);
            None
        }
        Err((e, _)) => Some(e.to_string()),
    };
    run.certificates
        .push(("sut-server-chain".to_owned(), presented.chain.clone()));
    let leaf = first_certificate(&presented.chain)?;
    let summary = describe_certificate(leaf)
        .map_err(|e| Outcome::fail(format!("the Edge's certificate cannot be parsed: {e}")))?;
    Ok(ServerProbe {
        summary,
        handshake_error,
    })
}

fn first_certificate<'c>(
    chain: &'c [CertificateDer<'static>],
) -> Result<&'c CertificateDer<'static>, Outcome> {
    chain
        .first()
        .ok_or_else(|| Outcome::fail("the presented certificate chain is empty"))
}

async fn client_certificate_eku(run: &mut CaseRun<'_>, actor: &Actor) -> Result<(), Outcome> {
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
    let leaf = first_certificate(&presented.chain)?;
    let summary = describe_certificate(leaf).map_err(|e| {
        Outcome::fail(format!(
            "the Edge's client certificate cannot be parsed: {e}"
        ))
    })?;
    run.note(format!(
        "certificate the Edge presented to {name}:\n{}",
        summary.to_text()
    ));
    if !summary.client_auth {
        let why = if summary.has_eku {
            "its EKU extension lacks clientAuth (1.3.6.1.5.5.7.3.2)"
        } else {
            "it has no EKU extension"
        };
        let refused = presented
            .error
            .map(|e| format!("; {name} refused the handshake: {e}"))
            .unwrap_or_default();
        return Err(Outcome::fail(format!(
            "the certificate the Edge presented to {name} is not valid for clientAuth: {why}{refused}"
        )));
    }
    if let Some(error) = presented.error {
        return Err(Outcome::fail(format!(
            "{name} refused the certificate the Edge presented: {error}"
        )));
    }
    Ok(())
}
