//! Rules for the Request-Line and Status-Line (RFC 3261 §7.1, §7.2).

use super::uri_rules::{UriUse, check_uri};
use super::{Findings, Rule};
use crate::sip::message::{SipMessage, StartLine};
use crate::sip::syntax::is_token;

pub(super) fn check(message: &SipMessage, findings: &mut Findings) {
    match &message.start {
        StartLine::Request {
            method,
            uri,
            version,
        } => {
            if !is_token(method) {
                findings.error(
                    Rule::Method,
                    None,
                    format!("Request method {method:?} is not a token"),
                    "RFC 3261 §25.1",
                );
            }
            check_version(version, findings);
            if uri.starts_with('<') || uri.ends_with('>') {
                findings.error(
                    Rule::RequestUri,
                    None,
                    format!("Request-URI {uri:?} is enclosed in angle brackets, which only header values use"),
                    "RFC 3261 §7.1, §25.1",
                );
                return;
            }
            check_uri(uri, UriUse::RequestUri, None, findings);
        }
        StartLine::Response {
            version,
            code,
            reason,
        } => {
            check_version(version, findings);
            if !(100..=699).contains(code) {
                findings.error(
                    Rule::StatusCode,
                    None,
                    format!("status code {code} is outside 100-699"),
                    "RFC 3261 §7.2, §21",
                );
            }
            if reason.chars().any(|c| c.is_control() && c != '\t') {
                findings.error(
                    Rule::StatusCode,
                    None,
                    format!("reason phrase {reason:?} holds control characters"),
                    "RFC 3261 §25.1",
                );
            }
        }
    }
}

fn check_version(version: &str, findings: &mut Findings) {
    if !version.eq_ignore_ascii_case("SIP/2.0") {
        findings.error(
            Rule::SipVersion,
            None,
            format!("SIP-Version is {version:?}, not SIP/2.0 (a server answers 505)"),
            "RFC 3261 §7.1, §8.2.2",
        );
    }
}
