//! Rules for Via (RFC 3261 §20.42, §8.1.1.7; RFC 5118 §4.5).

use super::uri_rules::{ipv6_problem, is_valid_host};
use super::{Findings, Rule, Severity};
use crate::sip::headers::{Header, name_is};
use crate::sip::message::SipMessage;
use crate::sip::params::parse_params_strict;
use crate::sip::syntax::{is_token, split_outside_quotes};
use crate::sip::via::{BRANCH_MAGIC_COOKIE, Via};

pub(super) fn check_header(header: &Header, canonical: &str, findings: &mut Findings) {
    if canonical != "via" {
        return;
    }
    let name = header.name.as_str();
    for value in split_outside_quotes(&header.value, ',') {
        let value = value.trim();
        if value.is_empty() {
            findings.error(
                Rule::HeaderSyntax,
                Some(name),
                format!("{name} has an empty value between commas"),
                "RFC 3261 §20.42, §25.1",
            );
            continue;
        }
        check_value(name, value, findings);
    }
}

fn check_value(name: &str, value: &str, findings: &mut Findings) {
    let via = match Via::parse(value) {
        Ok(v) => v,
        Err(e) => {
            findings.error(
                Rule::HeaderSyntax,
                Some(name),
                format!("{name} {value:?}: {e}"),
                "RFC 3261 §20.42, §25.1",
            );
            return;
        }
    };
    if !via.protocol.eq_ignore_ascii_case("SIP") || via.version != "2.0" {
        findings.error(
            Rule::ViaVersion,
            Some(name),
            format!(
                "{name} sent-protocol is {}/{}, not SIP/2.0",
                via.protocol, via.version
            ),
            "RFC 3261 §20.42",
        );
    }
    if !is_token(&via.transport) {
        findings.error(
            Rule::HeaderSyntax,
            Some(name),
            format!("{name} transport {:?} is not a token", via.transport),
            "RFC 3261 §20.42, §25.1",
        );
    }
    if via.host.contains(':') {
        if let Some((severity, message, reference)) = ipv6_problem(&via.host) {
            findings.push(
                severity,
                Rule::Ipv6Reference,
                Some(name),
                format!("{name} sent-by: {message}"),
                reference,
            );
        }
    } else if !is_valid_host(&via.host) {
        findings.error(
            Rule::HeaderSyntax,
            Some(name),
            format!(
                "{name} sent-by host {:?} is neither a hostname nor an IP address",
                via.host
            ),
            "RFC 3261 §20.42, §25.1",
        );
    }
    if let Some((_, params)) = value.split_once(';')
        && let Err(e) = parse_params_strict(params)
    {
        findings.error(
            Rule::HeaderSyntax,
            Some(name),
            format!("{name} {e}"),
            "RFC 3261 §20.42, §25.1",
        );
    }
}

/// The branch rules apply to the topmost Via: the one the sender of this
/// message added.
pub(super) fn check_top_branch(message: &SipMessage, findings: &mut Findings) {
    let Some(top) = message.headers.values("via").first().copied() else {
        return;
    };
    let Ok(via) = Via::parse(top) else {
        return;
    };
    let name = message
        .headers
        .iter()
        .find(|h| name_is(&h.name, "via"))
        .map_or("Via", |h| h.name.as_str());
    match via.branch() {
        None => findings.push(
            Severity::Warning,
            Rule::ViaBranchMissing,
            Some(name),
            format!("{name} has no branch parameter (tolerated from RFC 2543 senders)"),
            "RFC 3261 §8.1.1.7, §20.42",
        ),
        Some(branch) if branch == BRANCH_MAGIC_COOKIE => findings.error(
            Rule::ViaBranchEmpty,
            Some(name),
            format!(
                "{name} branch is only the {BRANCH_MAGIC_COOKIE} magic cookie, with no transaction identifier after it"
            ),
            "RFC 3261 §8.1.1.7, RFC 4475 §3.2.1",
        ),
        Some(branch) if !branch.starts_with(BRANCH_MAGIC_COOKIE) => findings.warning(
            Rule::ViaBranchCookie,
            Some(name),
            format!(
                "{name} branch {branch:?} lacks the {BRANCH_MAGIC_COOKIE} magic cookie (tolerated from RFC 2543 senders)"
            ),
            "RFC 3261 §8.1.1.7",
        ),
        Some(_) => {}
    }
}
