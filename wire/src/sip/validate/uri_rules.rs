//! Grammar of the URIs inside a message: SIP/SIPS (RFC 3261 §19.1.1,
//! §25.1), tel (RFC 3966), IPv6 references (RFC 5118) and the generic
//! absoluteURI other schemes must follow.

use super::{Findings, Rule, Severity};
use crate::sip::syntax::{escapes_are_valid, is_escaped_run, is_unreserved};
use crate::sip::uri::{TelUri, split_sip_uri};

/// Where the URI stands, which decides what it may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum UriUse {
    RequestUri,
    HeaderValue,
}

/// Checks one URI, adding findings naming `header` (None: the Request-URI).
pub(super) fn check_uri(uri: &str, usage: UriUse, header: Option<&str>, findings: &mut Findings) {
    let place = header.map_or_else(|| "Request-URI".to_owned(), |h| format!("{h} URI"));
    let rule = if header.is_none() {
        Rule::RequestUri
    } else {
        Rule::UriSyntax
    };
    let mut report = |severity: Severity, rule: Rule, message: String, reference: &'static str| {
        findings.push(severity, rule, header, message, reference);
    };
    if uri.contains(|c: char| c.is_whitespace() || matches!(c, '<' | '>' | '"')) {
        report(
            Severity::Error,
            rule,
            format!("{place} {uri:?} contains whitespace, quotes or angle brackets"),
            "RFC 3261 §25.1",
        );
        return;
    }
    let Some((scheme, rest)) = uri.split_once(':') else {
        report(
            Severity::Error,
            rule,
            format!("{place} {uri:?} has no scheme"),
            "RFC 3261 §25.1",
        );
        return;
    };
    if scheme.eq_ignore_ascii_case("tel") {
        if TelUri::parse(uri).is_err() {
            report(
                Severity::Error,
                rule,
                format!("{place} {uri:?} is not a valid tel URI"),
                "RFC 3966 §3",
            );
        }
        return;
    }
    let Some(parts) = split_sip_uri(uri) else {
        let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !scheme_ok || rest.is_empty() || !escapes_are_valid(rest) {
            report(
                Severity::Error,
                rule,
                format!("{place} {uri:?} is not an absoluteURI"),
                "RFC 3261 §25.1",
            );
        }
        return;
    };
    if let Some(userinfo) = parts.userinfo {
        let (user, password) = match userinfo.split_once(':') {
            Some((u, p)) => (u, Some(p)),
            None => (userinfo, None),
        };
        let user_ok = !user.is_empty()
            && is_escaped_run(user, |b| is_unreserved(b) || b"&=+$,;?/".contains(&b));
        let password_ok = password
            .is_none_or(|p| is_escaped_run(p, |b| is_unreserved(b) || b"&=+$,".contains(&b)));
        if !user_ok || !password_ok {
            report(
                Severity::Error,
                rule,
                format!("{place} {uri:?} has a user part with characters that must be escaped"),
                "RFC 3261 §19.1.1, §25.1",
            );
        }
    }
    check_hostport(parts.hostport, &place, uri, rule, &mut report);
    if let Some(params) = parts.params {
        let param_char = |b: u8| is_unreserved(b) || b"[]/:&+$".contains(&b);
        let bad = params.split(';').any(|p| {
            let (name, value) = p.split_once('=').unwrap_or((p, "x"));
            name.is_empty()
                || !is_escaped_run(name, param_char)
                || value.is_empty()
                || !is_escaped_run(value, param_char)
        });
        if bad {
            report(
                Severity::Error,
                rule,
                format!("{place} {uri:?} has an empty or malformed URI parameter"),
                "RFC 3261 §19.1.1, §25.1",
            );
        }
    }
    if let Some(headers) = parts.headers {
        if usage == UriUse::RequestUri {
            report(
                Severity::Error,
                Rule::RequestUriHeaders,
                format!(
                    "Request-URI {uri:?} carries a headers component, which a Request-URI must not"
                ),
                "RFC 3261 §19.1.1",
            );
        }
        let hnv = |b: u8| is_unreserved(b) || b"[]/?:+$".contains(&b);
        let bad = headers.split('&').any(|h| match h.split_once('=') {
            Some((name, value)) => {
                name.is_empty() || !is_escaped_run(name, hnv) || !is_escaped_run(value, hnv)
            }
            None => true,
        });
        if bad {
            report(
                Severity::Error,
                rule,
                format!("{place} {uri:?} has a malformed headers component"),
                "RFC 3261 §19.1.1, §25.1",
            );
        }
    }
}

fn check_hostport(
    hostport: &str,
    place: &str,
    uri: &str,
    rule: Rule,
    report: &mut impl FnMut(Severity, Rule, String, &'static str),
) {
    let (host, port) = if let Some(rest) = hostport.strip_prefix('[') {
        let Some((inside, after)) = rest.split_once(']') else {
            report(
                Severity::Error,
                rule,
                format!("{place} {uri:?} opens an IPv6 reference and never closes it"),
                "RFC 3261 §25.1, RFC 5118 §4.2",
            );
            return;
        };
        if let Some(problem) = ipv6_problem(inside) {
            report(
                problem.0,
                Rule::Ipv6Reference,
                format!("{place} {uri:?}: {}", problem.1),
                problem.2,
            );
        }
        (
            None,
            after
                .strip_prefix(':')
                .map(Some)
                .unwrap_or(if after.is_empty() { None } else { Some(after) }),
        )
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (Some(h), Some(p)),
            None => (Some(hostport), None),
        }
    };
    if let Some(host) = host
        && !is_valid_host(host)
    {
        let hint = if host.contains(':') {
            "; an IPv6 address must be in brackets"
        } else {
            ""
        };
        report(
            Severity::Error,
            rule,
            format!(
                "{place} {uri:?} has host {host:?}, which is neither a hostname nor an IPv4 address{hint}"
            ),
            if host.contains(':') {
                "RFC 3261 §25.1, RFC 5118 §4.2"
            } else {
                "RFC 3261 §25.1"
            },
        );
    }
    if let Some(port) = port
        && (port.is_empty()
            || !port.bytes().all(|b| b.is_ascii_digit())
            || port.parse::<u16>().is_err())
    {
        report(
            Severity::Error,
            rule,
            format!("{place} {uri:?} has port {port:?}, which is not a number from 0 to 65535"),
            "RFC 3261 §25.1",
        );
    }
}

/// What is wrong with the inside of an IPv6 reference, if anything.
pub(super) fn ipv6_problem(inside: &str) -> Option<(Severity, String, &'static str)> {
    if inside.parse::<std::net::Ipv6Addr>().is_ok() {
        return None;
    }
    if inside.contains(":::")
        && inside
            .replacen(":::", "::", 1)
            .parse::<std::net::Ipv6Addr>()
            .is_ok()
    {
        return Some((
            Severity::Warning,
            format!(
                "IPv6 reference [{inside}] has three colons, which only the RFC 3261 ABNF error allowed"
            ),
            "RFC 5118 §4.10",
        ));
    }
    Some((
        Severity::Error,
        format!("[{inside}] is not a valid IPv6 reference"),
        "RFC 3261 §25.1, RFC 5118",
    ))
}

/// `hostname / IPv4address` (IPv6 references are handled by the caller).
pub(super) fn is_valid_host(host: &str) -> bool {
    if host.is_empty() {
        return false;
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return host.parse::<std::net::Ipv4Addr>().is_ok();
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    let labels: Vec<&str> = host.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|top| top.starts_with(|c: char| c.is_ascii_alphabetic()))
}
