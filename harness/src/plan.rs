//! What a run against a configured SUT will do, said before it starts:
//! the topology mode, which cases apply (and why the others are skipped)
//! and, for `--dry-run`, every address and port the harness would bind or
//! contact.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::applicability::Setting;
use crate::config::{DnsConfig, StagingConfig};
use crate::scenario::Case;
use crate::topology::allowed_destinations;

/// The cases that apply, and the skipped ones with their reasons.
pub struct CasePlan<'a> {
    pub applying: Vec<&'a Case>,
    pub skipped: Vec<(&'a Case, String)>,
}

impl<'a> CasePlan<'a> {
    pub fn new(cases: &'a [Case], setting: &Setting) -> Self {
        let mut plan = Self {
            applying: Vec::new(),
            skipped: Vec::new(),
        };
        for case in cases {
            match setting.skip_reason(case) {
                Some(reason) => plan.skipped.push((case, reason)),
                None => plan.applying.push(case),
            }
        }
        plan
    }
}

/// The header printed before a configured run: mode, SUT, DNS, and which
/// cases apply (`every_case`: one line per case, as `--dry-run` shows).
pub fn describe_plan(config: &StagingConfig, plan: &CasePlan<'_>, every_case: bool) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "picharness: {} mode, configuration {}",
        config.mode.name(),
        config.source.display()
    );
    let externals: Vec<String> = config.sut.external.iter().map(|a| a.to_string()).collect();
    let _ = writeln!(
        out,
        "  SUT: Access Edge {} at {}; SIP domains {}",
        config.sut.access_edge_fqdn,
        externals.join(", "),
        config.sut.sip_domains.join(", ")
    );
    match &config.dns {
        DnsConfig::InProcess { listen } => {
            let _ = writeln!(
                out,
                "  DNS: the harness serves the zones itself on {listen} (edge.dns.* cases are skipped)"
            );
        }
        DnsConfig::External { server } => {
            let _ = writeln!(out, "  DNS: judged at {server}");
        }
    }
    let _ = writeln!(
        out,
        "  cases: {} apply, {} skipped",
        plan.applying.len(),
        plan.skipped.len()
    );
    if every_case {
        for case in &plan.applying {
            let _ = writeln!(out, "    run   {}", case.id);
        }
        for (case, reason) in &plan.skipped {
            let _ = writeln!(out, "    skip  {}: {reason}", case.id);
        }
    } else {
        let mut by_reason: BTreeMap<&str, usize> = BTreeMap::new();
        for (_, reason) in &plan.skipped {
            *by_reason.entry(reason.as_str()).or_default() += 1;
        }
        for (reason, count) in by_reason {
            let _ = writeln!(out, "    {count:>3} skipped: {reason}");
        }
    }
    out
}

/// Every address and port a run with `config` binds and may contact.
pub fn describe_addresses(config: &StagingConfig) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "  the harness binds:");
    for (name, provider) in &config.providers {
        let _ = writeln!(
            out,
            "    {:<24} providers.{name} (TCP, TLS listener; connects out from this address; DNS name {} -> {})",
            provider.listen.to_string(),
            provider.profile.federation_fqdn,
            provider.advertise
        );
    }
    if let Some(pool) = &config.pool {
        let _ = writeln!(
            out,
            "    {:<24} pool ({}; TCP, TLS listener)",
            pool.listen.to_string(),
            pool.fqdn
        );
    }
    if let DnsConfig::InProcess { listen } = &config.dns {
        let _ = writeln!(
            out,
            "    {:<24} dns.listen (UDP and TCP)",
            listen.to_string()
        );
    }
    if let Some(av) = &config.av {
        let _ = writeln!(
            out,
            "    {:<24} av.client_ip (UDP/TCP, ephemeral ports)",
            av.client_ip.to_string()
        );
        let _ = writeln!(
            out,
            "    {:<24} av.media_peer_ip (UDP, ephemeral ports)",
            av.media_peer_ip.to_string()
        );
    }
    let _ = writeln!(
        out,
        "  the harness sends only to (anything else is refused before a packet is sent):"
    );
    for line in allowed_destinations(config).describe() {
        let _ = writeln!(out, "    {line}");
    }
    out
}
