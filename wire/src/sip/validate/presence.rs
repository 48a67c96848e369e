//! Rules about which headers must be present and which may appear only
//! once (RFC 3261 §7.3.1, §8.1.1, §8.2.6.2, §20).

use super::{Findings, Rule};
use crate::sip::headers::name_is;
use crate::sip::message::SipMessage;

/// Headers every request carries (§8.1.1); Max-Forwards is judged apart.
const REQUIRED_IN_REQUESTS: [&str; 5] = ["To", "From", "CSeq", "Call-ID", "Via"];
/// Headers every response carries, copied from the request (§8.2.6.2).
const REQUIRED_IN_RESPONSES: [&str; 5] = ["To", "From", "CSeq", "Call-ID", "Via"];
/// Headers whose grammar allows one value only (§20).
const SINGLE_VALUED: [&str; 9] = [
    "To",
    "From",
    "Call-ID",
    "CSeq",
    "Max-Forwards",
    "Content-Length",
    "Content-Type",
    "Expires",
    "Date",
];

pub(super) fn check(message: &SipMessage, findings: &mut Findings) {
    let (required, reference) = if message.is_request() {
        (REQUIRED_IN_REQUESTS, "RFC 3261 §8.1.1")
    } else {
        (REQUIRED_IN_RESPONSES, "RFC 3261 §8.2.6.2")
    };
    for name in required {
        if message.headers.count(name) == 0 {
            findings.error(
                Rule::MissingHeader,
                Some(name),
                format!("{name} is missing"),
                reference,
            );
        }
    }
    if message.is_request() && message.headers.count("Max-Forwards") == 0 {
        findings.warning(
            Rule::MissingHeader,
            Some("Max-Forwards"),
            "Max-Forwards is missing (tolerated from RFC 2543 senders)".to_owned(),
            "RFC 3261 §8.1.1.6",
        );
    }
    for name in SINGLE_VALUED {
        let lower = name.to_ascii_lowercase();
        let lines: Vec<&str> = message
            .headers
            .iter()
            .filter(|h| name_is(&h.name, &lower))
            .map(|h| h.value.as_str())
            .collect();
        if lines.len() > 1 {
            findings.error(
                Rule::RepeatedHeader,
                Some(name),
                format!(
                    "{name} appears {} times ({}) but allows one value",
                    lines.len(),
                    lines
                        .iter()
                        .map(|v| format!("{v:?}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                "RFC 3261 §7.3.1, §20",
            );
        }
    }
}
