//! Judging a received message against a step's expectation, with reasons
//! that name the symptom.

use picharness_wire::sip::SipMessage;

use crate::scenario::template_substitute;
use crate::scenario::{HeaderExpectation, MessageExpectation, TemplateVars};

/// Whether `message` is the kind of message the expectation waits for
/// (method or status), ignoring header rules.
pub(crate) fn is_expected_kind(expectation: &MessageExpectation, message: &SipMessage) -> bool {
    match expectation {
        MessageExpectation::Request { method, .. } => message.method() == Some(method.as_str()),
        MessageExpectation::Response { status, .. } => {
            message.status().is_some_and(|s| status.matches(s))
        }
        MessageExpectation::Refusal { .. } => message.status().is_some_and(|s| s >= 300),
        MessageExpectation::Pong => false,
    }
}

/// Checks the header rules; returns the first broken one as a sentence.
pub(crate) fn header_problem(
    expectation: &MessageExpectation,
    message: &SipMessage,
    actor: &str,
    vars: &TemplateVars,
) -> Option<String> {
    let rules = match expectation {
        MessageExpectation::Request { headers, .. }
        | MessageExpectation::Response { headers, .. }
        | MessageExpectation::Refusal { headers } => headers,
        MessageExpectation::Pong => return None,
    };
    let what = message.summary();
    for rule in rules {
        match rule {
            HeaderExpectation::Present(name) if message.headers.count(name) == 0 => {
                return Some(format!("{what} reached {actor} without a {name} header"));
            }
            HeaderExpectation::Absent(name) if message.headers.count(name) > 0 => {
                return Some(format!(
                    "{what} reached {actor} with a {name} header it must not carry"
                ));
            }
            HeaderExpectation::Contains { name, needle } => {
                let needle = template_substitute(needle, vars);
                let values = message.headers.values(name);
                if values.is_empty() {
                    return Some(format!(
                        "{what} reached {actor} without a {name} header (expected one containing {needle:?})"
                    ));
                }
                if !values.iter().any(|v| v.contains(&needle)) {
                    return Some(format!(
                        "{what} reached {actor} with {name}: {} (expected a value containing {needle:?})",
                        values.join(", ")
                    ));
                }
            }
            HeaderExpectation::FirstContains { name, needle } => {
                let needle = template_substitute(needle, vars);
                match message.headers.values(name).first() {
                    None => {
                        return Some(format!(
                            "{what} reached {actor} without a {name} header (expected the topmost to contain {needle:?})"
                        ));
                    }
                    Some(top) if !top.contains(&needle) => {
                        return Some(format!(
                            "{what} reached {actor} with topmost {name}: {top} (expected it to contain {needle:?})"
                        ));
                    }
                    Some(_) => {}
                }
            }
            HeaderExpectation::Count { name, count } => {
                let values = message.headers.values(name);
                if values.len() != *count {
                    return Some(format!(
                        "{what} reached {actor} with {} {name} value(s) [{}], expected {count}",
                        values.len(),
                        values.join(", ")
                    ));
                }
            }
            HeaderExpectation::BodyContains(needle) => {
                let needle = template_substitute(needle, vars);
                let body = String::from_utf8_lossy(&message.body);
                if !body.contains(&needle) {
                    let shown: String = body.chars().take(120).collect();
                    return Some(format!(
                        "{what} reached {actor} with a body lacking {needle:?} (body starts {shown:?})"
                    ));
                }
            }
            _ => {}
        }
    }
    None
}

/// How an arrived body differs from the sent one, naming the first line
/// that differs; `None` when they are byte-identical.
pub(crate) fn body_difference(sent: &[u8], arrived: &[u8]) -> Option<String> {
    if sent == arrived {
        return None;
    }
    let sent_text = String::from_utf8_lossy(sent);
    let arrived_text = String::from_utf8_lossy(arrived);
    let mut sent_lines = sent_text.split('\n');
    let mut arrived_lines = arrived_text.split('\n');
    for number in 1.. {
        match (sent_lines.next(), arrived_lines.next()) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                return Some(format!(
                    "line {number} was sent as {:?} and arrived as {:?}",
                    a.trim_end_matches('\r'),
                    b.trim_end_matches('\r')
                ));
            }
            (Some(a), None) => {
                return Some(format!(
                    "line {number} {:?} and what follows it never arrived",
                    a.trim_end_matches('\r')
                ));
            }
            (None, Some(b)) => {
                return Some(format!(
                    "line {number} {:?} arrived but was never sent",
                    b.trim_end_matches('\r')
                ));
            }
            (None, None) => break,
        }
    }
    Some(format!(
        "{} bytes were sent and {} arrived",
        sent.len(),
        arrived.len()
    ))
}

/// Describes an expectation for reasons: "request MESSAGE", "response 200".
pub(crate) fn describe(expectation: &MessageExpectation) -> String {
    match expectation {
        MessageExpectation::Request { method, .. } => format!("request {method}"),
        MessageExpectation::Response { status, .. } => format!("response {status}"),
        MessageExpectation::Refusal { .. } => {
            "a refusal (a final response of 300 or more, or the connection closed)".to_owned()
        }
        MessageExpectation::Pong => "a CRLF keep-alive pong".to_owned(),
    }
}
