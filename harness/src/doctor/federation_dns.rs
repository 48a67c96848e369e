//! What `doctor` asks the DNS server a staging run is judged by: the Edge's
//! own name, each provider's federation FQDN, the pool FQDN the Edge sends
//! inbound traffic to (sandwich mode), and the federation SRV record of
//! every SIP domain. Each answer that would make many cases fail for one
//! reason is a problem that says which cases and what to fix.

use std::net::{IpAddr, SocketAddr};

use hickory_proto::rr::RData;
use picharness_simulators::dns::DnsResolver as TokioResolver;
use picharness_simulators::dns::resolver;

use super::{Findings, NETWORK_TIMEOUT};
use crate::config::{StagingConfig, TopologyMode};

/// Runs every DNS check against `server`.
pub(super) async fn check_dns(config: &StagingConfig, server: SocketAddr, findings: &mut Findings) {
    let resolver = match resolver(server) {
        Ok(r) => r,
        Err(e) => {
            findings.problem(format!(
                "dns.server: cannot build a resolver for {server}: {e}"
            ));
            return;
        }
    };
    let edge: Vec<IpAddr> = config.sut.external.iter().map(SocketAddr::ip).collect();
    let name = Name {
        resolver: &resolver,
        server,
    };
    name.check(
        &config.sut.access_edge_fqdn,
        &edge,
        "sut.external",
        "peers that find the Edge by name cannot reach it",
        findings,
    )
    .await;
    // The Edge finds each provider by its federation FQDN: if that does not
    // lead to the simulated peer, outbound cases cannot reach it.
    for (provider_name, provider) in &config.providers {
        name.check(
            &provider.profile.federation_fqdn,
            &[provider.advertise],
            &format!("providers.{provider_name}.advertise"),
            "the Edge cannot reach this simulated peer: its outbound cases fail",
            findings,
        )
        .await;
    }
    if config.mode == TopologyMode::Sandwich
        && let Some(pool) = &config.pool
    {
        name.check(
            &pool.fqdn,
            &[pool.listen.ip()],
            "pool.listen",
            "the Edge cannot forward inbound requests to the simulated pool: every inbound case fails (478, lost ACK)",
            findings,
        )
        .await;
    }
    for domain in &config.sut.sip_domains {
        check_federation_srv(config, &name, domain, &edge, findings).await;
    }
}

/// One resolver and the server it asks.
struct Name<'a> {
    resolver: &'a TokioResolver,
    server: SocketAddr,
}

impl Name<'_> {
    /// Asks for the addresses of `host` and checks one of them is in
    /// `expected` (what the configuration's `field` names); `consequence`
    /// says what fails otherwise.
    async fn check(
        &self,
        host: &str,
        expected: &[IpAddr],
        field: &str,
        consequence: &str,
        findings: &mut Findings,
    ) {
        let server = self.server;
        let name = format!("{}.", host.trim_end_matches('.'));
        match tokio::time::timeout(NETWORK_TIMEOUT, self.resolver.lookup_ip(name.as_str())).await {
            Ok(Ok(ips)) => {
                let ips: Vec<IpAddr> = ips.iter().collect();
                let shown: Vec<String> = ips.iter().map(ToString::to_string).collect();
                if ips.iter().any(|ip| expected.contains(ip)) {
                    findings.ok(format!(
                        "dns.server {server}: {name} -> {}",
                        shown.join(", ")
                    ));
                } else {
                    findings.problem(format!(
                        "dns.server {server}: {name} -> {} but {field} names {expected:?}; fix the record or the file ({consequence})",
                        shown.join(", ")
                    ));
                }
            }
            Ok(Err(e)) => findings.problem(format!(
                "dns.server {server}: no address for {name}: {e} ({consequence})"
            )),
            Err(_) => findings.problem(format!(
                "dns.server {server}: no answer within {} s; is it reachable?",
                NETWORK_TIMEOUT.as_secs()
            )),
        }
    }
}

/// `_sipfederationtls._tcp.<domain>`: present, and every record points at
/// a port and host where the Edge listens.
async fn check_federation_srv(
    config: &StagingConfig,
    name: &Name<'_>,
    domain: &str,
    edge: &[IpAddr],
    findings: &mut Findings,
) {
    let server = name.server;
    let owner = format!("_sipfederationtls._tcp.{domain}.");
    let consequence =
        "providers that locate the Edge by SRV cannot reach it, and the edge.dns.* cases fail";
    let records: Vec<(u16, String)> =
        match tokio::time::timeout(NETWORK_TIMEOUT, name.resolver.srv_lookup(owner.as_str())).await
        {
            Ok(Ok(lookup)) => lookup
                .answers()
                .iter()
                .filter_map(|record| match &record.data {
                    RData::SRV(srv) => Some((srv.port, srv.target.to_string())),
                    _ => None,
                })
                .collect(),
            Ok(Err(e)) => {
                findings.problem(format!(
                    "dns.server {server}: no SRV record {owner}: {e} ({consequence})"
                ));
                return;
            }
            Err(_) => {
                findings.problem(format!(
                    "dns.server {server}: no answer for {owner} within {} s",
                    NETWORK_TIMEOUT.as_secs()
                ));
                return;
            }
        };
    if records.is_empty() {
        findings.problem(format!(
            "dns.server {server}: no SRV record {owner} ({consequence})"
        ));
        return;
    }
    let ports: Vec<u16> = config.sut.external.iter().map(SocketAddr::port).collect();
    for (port, target) in records {
        if !ports.contains(&port) {
            findings.problem(format!(
                "dns.server {server}: {owner} points at port {port} of {target}, but the Edge listens on {ports:?} (sut.external) ({consequence})"
            ));
            continue;
        }
        let addresses =
            match tokio::time::timeout(NETWORK_TIMEOUT, name.resolver.lookup_ip(target.as_str()))
                .await
            {
                Ok(Ok(ips)) => ips.iter().collect::<Vec<IpAddr>>(),
                _ => Vec::new(),
            };
        if addresses.iter().any(|ip| edge.contains(ip)) {
            findings.ok(format!(
                "dns.server {server}: {owner} -> {target}:{port}, where the Edge listens"
            ));
        } else {
            findings.problem(format!(
                "dns.server {server}: {owner} -> {target}:{port}, but {target} resolves to {addresses:?}, not to the Edge's {edge:?} (sut.external) ({consequence})"
            ));
        }
    }
}
