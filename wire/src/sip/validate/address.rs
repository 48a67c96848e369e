//! Rules for name-addr / addr-spec headers: From, To, Contact, Reply-To,
//! Route, Record-Route (RFC 3261 §20.10, §20.20, §20.30, §20.34, §20.39,
//! §25.1).

use super::uri_rules::{UriUse, check_uri};
use super::{Findings, Rule};
use crate::sip::headers::Header;
use crate::sip::message::SipMessage;
use crate::sip::params::parse_params_strict;
use crate::sip::syntax::{is_token, quotes_balanced, split_outside_quotes};
use crate::sip::uri::{NameAddr, find_laquot};

pub(super) fn check_header(
    message: &SipMessage,
    header: &Header,
    canonical: &str,
    findings: &mut Findings,
) {
    let (is_list, must_be_name_addr) = match canonical {
        "from" | "to" | "reply-to" => (false, false),
        "contact" => (true, false),
        "route" | "record-route" => (true, true),
        _ => return,
    };
    let name = header.name.as_str();
    if !quotes_balanced(&header.value) {
        findings.error(
            Rule::AddressQuotes,
            Some(name),
            format!("{name} has a quoted display name that is never closed"),
            "RFC 3261 §25.1",
        );
        return;
    }
    if canonical == "contact" && header.value.trim() == "*" {
        return;
    }
    let values = if is_list {
        split_outside_quotes(&header.value, ',')
    } else {
        vec![header.value.as_str()]
    };
    for value in values {
        check_value(name, value.trim(), must_be_name_addr, findings);
    }
    if canonical == "from"
        && message.is_request()
        && NameAddr::parse(&header.value).is_some_and(|a| a.tag().is_none())
    {
        findings.warning(
            Rule::FromTag,
            Some(name),
            format!("{name} has no tag parameter"),
            "RFC 3261 §8.1.1.3",
        );
    }
}

fn check_value(name: &str, value: &str, must_be_name_addr: bool, findings: &mut Findings) {
    if value.is_empty() {
        findings.error(
            Rule::HeaderSyntax,
            Some(name),
            format!("{name} has an empty value"),
            "RFC 3261 §25.1",
        );
        return;
    }
    let (uri, after) = match find_laquot(value) {
        Some(open) => {
            check_display_name(name, value[..open].trim(), findings);
            let Some(close) = value[open..].find('>').map(|c| c + open) else {
                findings.error(
                    Rule::HeaderSyntax,
                    Some(name),
                    format!("{name} opens \"<\" and never closes it"),
                    "RFC 3261 §25.1",
                );
                return;
            };
            let inside = &value[open + 1..close];
            if inside != inside.trim() {
                findings.error(
                    Rule::AddressSpaceInAngles,
                    Some(name),
                    format!(
                        "{name} has whitespace inside the angle brackets around {:?}",
                        inside.trim()
                    ),
                    "RFC 3261 §25.1",
                );
            }
            (inside.trim(), &value[close + 1..])
        }
        None => {
            if must_be_name_addr {
                findings.error(
                    Rule::RouteNameAddr,
                    Some(name),
                    format!("{name} value {value:?} is not in name-addr form (<uri>)"),
                    "RFC 3261 §20.30, §20.34",
                );
            }
            let (uri, after) = match value.find(';') {
                Some(i) => (&value[..i], &value[i..]),
                None => (value, ""),
            };
            let uri = uri.trim();
            if uri.contains(['?', ',']) {
                findings.error(
                    Rule::AddrSpecReserved,
                    Some(name),
                    format!("{name} URI {uri:?} contains \"?\" or \",\" but is not in name-addr form (<uri>)"),
                    "RFC 3261 §20.10",
                );
            }
            if uri.contains(char::is_whitespace) {
                findings.error(
                    Rule::DisplayName,
                    Some(name),
                    format!("{name} value {value:?} has a display name but no angle brackets around the URI"),
                    "RFC 3261 §20.10, §25.1",
                );
                return;
            }
            (uri, after)
        }
    };
    check_uri(uri, UriUse::HeaderValue, Some(name), findings);
    let after = after.trim();
    if after.is_empty() {
        return;
    }
    let Some(params) = after.strip_prefix(';') else {
        findings.error(
            Rule::HeaderSyntax,
            Some(name),
            format!("{name} has {after:?} after the address, where only ;parameters may stand"),
            "RFC 3261 §25.1",
        );
        return;
    };
    if let Err(e) = parse_params_strict(params) {
        findings.error(
            Rule::HeaderSyntax,
            Some(name),
            format!("{name} {e}"),
            "RFC 3261 §25.1",
        );
    }
}

/// `display-name = *(token LWS) / quoted-string`.
fn check_display_name(name: &str, display: &str, findings: &mut Findings) {
    if display.is_empty() {
        return;
    }
    let quoted = display.len() >= 2 && display.starts_with('"') && display.ends_with('"');
    if quoted || display.split_whitespace().all(is_token) {
        return;
    }
    findings.error(
        Rule::DisplayName,
        Some(name),
        format!("{name} display name {display:?} holds characters that require quotes"),
        "RFC 3261 §25.1",
    );
}
