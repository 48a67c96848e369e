//! `picharness doctor --config FILE`: checks a staging configuration and
//! the machine before a run, and says what to fix: every address the
//! harness binds is bindable here, the CA and trust anchors are readable
//! and usable, the Edge answers where the file says and presents a
//! certificate for its FQDN that chains to the anchors, and the DNS server
//! to judge it by answers. It sends only to addresses the file names.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use picharness_simulators::destinations::restrict_destinations;
use picharness_simulators::pki::{LeafSpec, TestPki};
use picharness_simulators::tls::{
    ChainRecorder, ClientTlsOptions, KeyLogCollector, TlsVersions, client_config,
    connect_tls_recorded, describe_certificate, probe_client_config, tcp_connect,
};
use rustls::RootCertStore;

use crate::case::checks::certificate_rules::{
    judge_subject, judge_trust, judge_validity, now_unix,
};
use crate::catalogue::load_catalogue;
use crate::config::{DnsConfig, StagingConfig, TopologyMode, load_config};
use crate::run::{EXIT_CANNOT_START, EXIT_FAILURES, EXIT_OK};
use crate::topology::{allowed_destinations, read_peer_ca, read_trust_anchors};

mod federation_dns;

const NETWORK_TIMEOUT: Duration = Duration::from_secs(3);

/// The findings, in order: `Ok(what)` or `Err(what is wrong and what to do)`.
#[derive(Default)]
struct Findings {
    lines: Vec<Result<String, String>>,
}

impl Findings {
    fn ok(&mut self, what: impl Into<String>) {
        self.lines.push(Ok(what.into()));
    }

    fn problem(&mut self, what: impl Into<String>) {
        self.lines.push(Err(what.into()));
    }

    fn problems(&self) -> usize {
        self.lines.iter().filter(|l| l.is_err()).count()
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for line in &self.lines {
            let _ = match line {
                Ok(what) => writeln!(out, "  ok       {what}"),
                Err(what) => writeln!(out, "  PROBLEM  {what}"),
            };
        }
        out
    }
}

/// Runs every check; returns the exit code (0 all good, 1 problems found,
/// 2 the configuration cannot be read).
pub fn doctor(config_path: &Path, scenarios_dir: &Path) -> u8 {
    let profiles = match load_catalogue(scenarios_dir) {
        Ok(catalogue) => catalogue.profiles,
        Err(errors) => {
            for e in errors {
                eprintln!("error: {e}");
            }
            return EXIT_CANNOT_START;
        }
    };
    let config = match load_config(config_path, &profiles) {
        Ok(config) => config,
        Err(errors) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            eprintln!(
                "picharness doctor: {} problem(s) in the configuration; fix them first",
                errors.len()
            );
            return EXIT_CANNOT_START;
        }
    };
    println!(
        "picharness doctor: {} ({} mode)",
        config.source.display(),
        config.mode.name()
    );
    restrict_destinations(allowed_destinations(&config));
    let findings = examine(&config);
    print!("{}", findings.render());
    match findings.problems() {
        0 => {
            println!("picharness doctor: everything checked is ready for a run");
            EXIT_OK
        }
        n => {
            println!("picharness doctor: {n} problem(s); fix them before a run");
            EXIT_FAILURES
        }
    }
}

/// Every check of `config` and this machine, in order. It sends only to
/// the addresses the configuration names (the caller restricts them).
fn examine(config: &StagingConfig) -> Findings {
    let mut findings = Findings::default();
    findings.ok(format!(
        "configuration reads: {} provider peer(s), A/V {}",
        config.providers.len(),
        if config.av.is_some() { "on" } else { "off" }
    ));
    check_binds(config, &mut findings);
    let anchors = check_trust_anchors(config, &mut findings);
    let ca = check_ca(config, &mut findings);
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(check_network(
            config,
            anchors.as_ref(),
            ca.as_ref(),
            &mut findings,
        )),
        Err(e) => findings.problem(format!("cannot start the async runtime: {e}")),
    }
    findings
}

/// Why a bind failed, in words that say what to do.
fn bind_advice(error: &std::io::Error, address: SocketAddr, field: &str) -> String {
    let what = match error.kind() {
        std::io::ErrorKind::AddrNotAvailable => format!(
            "{address} is not an address of this machine: add it to an interface or change {field}"
        ),
        std::io::ErrorKind::AddrInUse => {
            format!("{address} is in use by another program: stop it or change {field}")
        }
        std::io::ErrorKind::PermissionDenied => format!(
            "{address}: port {} needs root (or CAP_NET_BIND_SERVICE); run as root or change {field}",
            address.port()
        ),
        _ => format!("{address}: {error} ({field})"),
    };
    format!("bind {field}: {what}")
}

fn check_binds(config: &StagingConfig, findings: &mut Findings) {
    let mut tcp: Vec<(SocketAddr, String)> = config
        .providers
        .iter()
        .map(|(name, p)| (p.listen, format!("providers.{name}.listen")))
        .collect();
    if let Some(pool) = &config.pool {
        tcp.push((pool.listen, "pool.listen".to_owned()));
    }
    if let Some(listen) = config.crl_listen {
        tcp.push((listen, "crl.listen".to_owned()));
    }
    let mut udp: Vec<(SocketAddr, String)> = Vec::new();
    if let DnsConfig::InProcess { listen } = &config.dns {
        tcp.push((*listen, "dns.listen".to_owned()));
        udp.push((*listen, "dns.listen".to_owned()));
    }
    if let Some(av) = &config.av {
        udp.push((SocketAddr::new(av.client_ip, 0), "av.client_ip".to_owned()));
        udp.push((
            SocketAddr::new(av.media_peer_ip, 0),
            "av.media_peer_ip".to_owned(),
        ));
    }
    for (address, field) in tcp {
        match TcpListener::bind(address) {
            Ok(_) => findings.ok(format!("bind {field}: {address} (TCP) is free")),
            Err(e) => findings.problem(bind_advice(&e, address, &field)),
        }
    }
    for (address, field) in udp {
        match UdpSocket::bind(address) {
            Ok(_) => findings.ok(format!("bind {field}: {address} (UDP) is free")),
            Err(e) => findings.problem(bind_advice(&e, address, &field)),
        }
    }
}

fn check_trust_anchors(config: &StagingConfig, findings: &mut Findings) -> Option<RootCertStore> {
    match read_trust_anchors(&config.sut.trust_anchors) {
        Ok(store) => {
            findings.ok(format!(
                "sut.trust_anchors: {} root(s) usable",
                store.roots.len()
            ));
            Some(store)
        }
        Err(e) => {
            findings.problem(format!(
                "sut.trust_anchors: {e}; give PEM files holding the root(s) the Edge's certificate chains to"
            ));
            None
        }
    }
}

fn check_ca(config: &StagingConfig, findings: &mut Findings) -> Option<TestPki> {
    match read_peer_ca(config) {
        Ok(ca) => {
            match judge_validity(ca.ca_der().as_ref(), now_unix()) {
                Ok(validity) => findings.ok(format!(
                    "pki: the CA and its key match; the CA certificate is {validity}"
                )),
                Err(e) => findings.problem(format!(
                    "pki.ca_certificate: {e}; make a new one with `picharness pki init`"
                )),
            }
            Some(ca)
        }
        Err(e) => {
            findings.problem(format!(
                "pki: {e}; point ca_certificate and ca_key at ca/root.pem and ca/root.key from `picharness pki init`"
            ));
            None
        }
    }
}

async fn check_network(
    config: &StagingConfig,
    anchors: Option<&RootCertStore>,
    ca: Option<&TestPki>,
    findings: &mut Findings,
) {
    let peer = config.providers.values().next();
    for (index, external) in config.sut.external.iter().enumerate() {
        let field = format!("sut.external[{index}]");
        let local = peer.map(|p| p.listen.ip());
        match tcp_connect(local, *external, NETWORK_TIMEOUT).await {
            Ok(_) => findings.ok(format!("{field}: the Edge accepts TCP on {external}")),
            Err(e) => {
                findings.problem(format!(
                    "{field}: {e}; check the address, the Edge's listener and any firewall between"
                ));
                continue;
            }
        }
        if let (Some(ca), Some(anchors), Some(peer)) = (ca, anchors, peer) {
            check_edge_certificate(
                config,
                *external,
                &field,
                ca,
                anchors,
                peer.listen.ip(),
                &peer.profile.federation_fqdn,
                findings,
            )
            .await;
        }
    }
    if config.mode == TopologyMode::Sandwich
        && let Some(internal) = config.sut.internal
    {
        let local = config.pool.as_ref().map(|p| p.listen.ip());
        match tcp_connect(local, internal, NETWORK_TIMEOUT).await {
            Ok(_) => findings.ok(format!("sut.internal: the Edge accepts TCP on {internal}")),
            Err(e) => findings.problem(format!(
                "sut.internal: {e}; the simulated pool connects there in sandwich mode"
            )),
        }
    }
    if let DnsConfig::External { server } = &config.dns {
        federation_dns::check_dns(config, *server, findings).await;
    }
    if let Some(av) = &config.av {
        match tcp_connect(Some(av.client_ip), av.tcp, NETWORK_TIMEOUT).await {
            Ok(_) => findings.ok(format!("av.tcp: the A/V Edge accepts TCP on {}", av.tcp)),
            Err(e) => findings.problem(format!("av.tcp: {e}")),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn check_edge_certificate(
    config: &StagingConfig,
    external: SocketAddr,
    field: &str,
    ca: &TestPki,
    anchors: &RootCertStore,
    local: IpAddr,
    peer_fqdn: &str,
    findings: &mut Findings,
) {
    let identity = match ca.issue(&LeafSpec::federation(peer_fqdn, &[peer_fqdn])) {
        Ok(identity) => Arc::new(identity),
        Err(e) => {
            findings.problem(format!("pki: cannot issue a peer certificate: {e}"));
            return;
        }
    };
    let chains = ChainRecorder::default();
    let tls = match probe_client_config(
        Some(identity.clone()),
        TlsVersions::Tls12And13,
        Arc::new(KeyLogCollector::default()),
        chains.clone(),
    ) {
        Ok(tls) => tls,
        Err(e) => {
            findings.problem(format!("cannot build a TLS client: {e}"));
            return;
        }
    };
    let fqdn = &config.sut.access_edge_fqdn;
    let handshake = connect_tls_recorded(Some(local), external, fqdn, tls, NETWORK_TIMEOUT).await;
    let Some(presented) = chains.last_record() else {
        let why = handshake
            .err()
            .map(|(e, _)| e.to_string())
            .unwrap_or_default();
        findings.problem(format!(
            "{field}: the Edge presented no certificate ({why}); is it listening with TLS?"
        ));
        return;
    };
    let Some(leaf) = presented.chain.first() else {
        findings.problem(format!("{field}: the Edge presented an empty chain"));
        return;
    };
    let judged = describe_certificate(leaf)
        .map_err(|e| e.to_string())
        .and_then(|summary| judge_subject(&summary, fqdn))
        .and_then(|subject| {
            judge_trust(&presented.chain, anchors).map(|trust| format!("{subject}; {trust}"))
        });
    match judged {
        Ok(what) => findings.ok(format!("{field}: the Edge's certificate: {what}")),
        Err(e) => findings.problem(format!(
            "{field}: the Edge's certificate: {e}; fix the certificate or sut.access_edge_fqdn / sut.trust_anchors"
        )),
    }
    match judge_validity(leaf.as_ref(), now_unix()) {
        Ok(validity) => findings.ok(format!("{field}: the Edge's certificate is {validity}")),
        Err(e) => findings.problem(format!(
            "{field}: the Edge's certificate: {e}; the simulated peers refuse it, so every case in which a peer connects to the Edge fails: renew it"
        )),
    }
    let refused = as_a_peer_would(&identity, anchors, local, external, fqdn).await;
    match refused {
        None => findings.ok(format!(
            "{field}: the simulated peers' TLS client accepts the Edge's certificate (key, signature, chain, name, validity)"
        )),
        Some(e) => findings.problem(format!(
            "{field}: the simulated peers' TLS client refuses the Edge's certificate: {e}; every case in which a peer connects to the Edge will fail: fix the certificate (RSA 2048+ or ECDSA key, SHA-2 signature, chain to sut.trust_anchors)"
        )),
    }
    if let Err((e, _)) = handshake {
        findings.problem(format!(
            "{field}: the mutual TLS handshake as {peer_fqdn} failed: {e}; the Edge must trust pki.ca_certificate"
        ));
    } else {
        findings.ok(format!(
            "{field}: mutual TLS as {peer_fqdn} completes (the Edge trusts the harness's CA)"
        ));
    }
}

/// Why a provider peer's own TLS client (the verifier the run uses,
/// trusting `sut.trust_anchors`) refuses the Edge's certificate, or `None`
/// when it accepts it. Only a refusal by the client side counts: the Edge
/// refusing the peer is judged by the mutual TLS check.
async fn as_a_peer_would(
    identity: &Arc<picharness_simulators::pki::CertifiedKey>,
    anchors: &RootCertStore,
    local: IpAddr,
    external: SocketAddr,
    fqdn: &str,
) -> Option<String> {
    let config = match client_config(ClientTlsOptions {
        identity: Some(identity.clone()),
        server_roots: anchors.clone(),
        key_log: Arc::new(KeyLogCollector::default()),
        chains: ChainRecorder::default(),
    }) {
        Ok(config) => config,
        Err(e) => return Some(format!("cannot build the peers' TLS client: {e}")),
    };
    let (error, _) = connect_tls_recorded(Some(local), external, fqdn, config, NETWORK_TIMEOUT)
        .await
        .err()?;
    let refused_by_us = error.to_string();
    // An alert from the Edge is the Edge refusing us; any other rustls
    // error is our verifier refusing the Edge.
    let ours = matches!(
        &error,
        picharness_simulators::tls::TlsError::Handshake { tls_error: Some(e), .. }
            if !matches!(e, rustls::Error::AlertReceived(_))
    );
    ours.then_some(refused_by_us)
}

#[cfg(test)]
mod tests;
