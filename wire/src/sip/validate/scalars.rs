//! Rules for single-value headers with simple grammars: CSeq, Max-Forwards,
//! Expires, Call-ID, Date, Content-Type, and header names themselves
//! (RFC 3261 §7.3, §8.1.1, §20).

use super::{Findings, Rule};
use crate::sip::headers::Header;
use crate::sip::message::SipMessage;
use crate::sip::params::parse_params_strict;
use crate::sip::syntax::{is_token, is_word_char};
use crate::text::quote;

pub(super) fn check_header(
    message: &SipMessage,
    header: &Header,
    canonical: &str,
    findings: &mut Findings,
) {
    let name = header.name.as_str();
    let value = header.value.trim();
    if !is_token(name) {
        findings.error(
            Rule::HeaderName,
            Some(name),
            format!("header name {name:?} is not a token"),
            "RFC 3261 §7.3.1, §25.1",
        );
        return;
    }
    match canonical {
        "cseq" => check_cseq(message, name, value, findings),
        "max-forwards" => match parse_digits(value) {
            Some(n) if n <= 255 => {}
            Some(n) => findings.error(
                Rule::MaxForwards,
                Some(name),
                format!("{name} {n} exceeds 255"),
                "RFC 3261 §20.22",
            ),
            None => findings.error(
                Rule::MaxForwards,
                Some(name),
                format!("{name} {value:?} is not a number from 0 to 255"),
                "RFC 3261 §20.22",
            ),
        },
        "expires" | "retry-after" => {
            // Retry-After may carry a comment and parameters after the number.
            let seconds = value.split([' ', ';', '(']).next().unwrap_or_default();
            if parse_digits(seconds).is_none_or(|n| n > u128::from(u32::MAX)) {
                findings.error(
                    Rule::DeltaSeconds,
                    Some(name),
                    format!(
                        "{name} {} is not a number of seconds from 0 to 2**32-1",
                        shorten(seconds)
                    ),
                    if canonical == "expires" {
                        "RFC 3261 §20.19"
                    } else {
                        "RFC 3261 §20.33"
                    },
                );
            }
        }
        "warning" => {
            for warning in crate::sip::syntax::split_outside_quotes(value, ',') {
                let code = warning.split_whitespace().next().unwrap_or_default();
                if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
                    findings.error(
                        Rule::HeaderSyntax,
                        Some(name),
                        format!("{name} code {code:?} is not three digits"),
                        "RFC 3261 §20.43",
                    );
                }
            }
        }
        "call-id" => {
            let ok = match value.split_once('@') {
                Some((a, b)) => is_word(a) && is_word(b),
                None => is_word(value),
            };
            if !ok {
                findings.error(
                    Rule::HeaderSyntax,
                    Some(name),
                    format!("{name} {value:?} is not word[@word]"),
                    "RFC 3261 §20.8, §25.1",
                );
            }
        }
        "date" if !is_rfc1123_gmt(value) => {
            findings.error(
                Rule::DateGmt,
                Some(name),
                format!("{name} {value:?} is not an RFC 1123 date in GMT"),
                "RFC 3261 §20.17",
            );
        }
        "content-type" => {
            let (media, params) = value.split_once(';').unwrap_or((value, ""));
            let media_ok = media
                .split_once('/')
                .is_some_and(|(t, s)| is_token(t.trim()) && is_token(s.trim()));
            let params_ok = params.is_empty() || parse_params_strict(params).is_ok();
            if !media_ok || !params_ok {
                findings.error(
                    Rule::HeaderSyntax,
                    Some(name),
                    format!("{name} {value:?} is not type/subtype[;parameters]"),
                    "RFC 3261 §20.15",
                );
            }
        }
        _ => {}
    }
}

fn check_cseq(message: &SipMessage, name: &str, value: &str, findings: &mut Findings) {
    let mut parts = value.split_whitespace();
    let (Some(number), Some(method), None) = (parts.next(), parts.next(), parts.next()) else {
        findings.error(
            Rule::HeaderSyntax,
            Some(name),
            format!("{name} {value:?} is not a sequence number and a method"),
            "RFC 3261 §20.16",
        );
        return;
    };
    match parse_digits(number) {
        Some(n) if n < 1 << 31 => {}
        Some(_) => findings.error(
            Rule::CseqNumber,
            Some(name),
            format!(
                "{name} sequence number {} is not below 2**31",
                shorten(number)
            ),
            "RFC 3261 §8.1.1.5",
        ),
        None => findings.error(
            Rule::CseqNumber,
            Some(name),
            format!("{name} sequence number {number:?} is not a number"),
            "RFC 3261 §8.1.1.5, §20.16",
        ),
    }
    if let Some(request_method) = message.method()
        && request_method != method
    {
        findings.error(
            Rule::CseqMethod,
            Some(name),
            format!("{name} method {method} does not match the request method {request_method}"),
            "RFC 3261 §8.1.1.5",
        );
    }
}

/// `1*DIGIT`, saturating to `u128::MAX` for absurd lengths.
fn parse_digits(text: &str) -> Option<u128> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(text.parse().unwrap_or(u128::MAX))
}

fn is_word(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(is_word_char)
}

/// A number as evidence: short digit strings as they are, long ones as
/// their first 20 digits and their length, anything else quoted (bounded,
/// control characters escaped). Counts characters, never bytes: the text
/// came off the wire and may hold any UTF-8.
fn shorten(text: &str) -> String {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return quote(text);
    }
    // All ASCII digits from here on, so bytes are characters.
    match text.get(..20) {
        Some(head) if text.len() > 24 => format!("{head}... ({} digits)", text.len()),
        _ => text.to_owned(),
    }
}

/// `wkday "," SP date1 SP time SP "GMT"` with `date1 = 2DIGIT SP month SP 4DIGIT`.
fn is_rfc1123_gmt(value: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Some((day, rest)) = value.split_once(", ") else {
        return false;
    };
    let fields: Vec<&str> = rest.split(' ').collect();
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    let time_ok = |t: &str| {
        let p: Vec<&str> = t.split(':').collect();
        p.len() == 3 && p.iter().all(|x| digits(x, 2))
    };
    DAYS.contains(&day)
        && fields.len() == 5
        && digits(fields[0], 2)
        && MONTHS.contains(&fields[1])
        && digits(fields[2], 4)
        && time_ok(fields[3])
        && fields[4] == "GMT"
}

#[cfg(test)]
mod tests {
    use crate::sip::{Rule, lint};

    fn message_with(header: &str) -> Vec<u8> {
        format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS a.example.com;branch=z9hG4bK1\r\nTo: <sip:b@example.com>;tag=2\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\n{header}\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn non_numeric_values_with_multi_byte_characters_are_findings_not_panics() {
        // A multi-byte character straddling byte 20 once made the excerpt
        // slice inside a character.
        for header in [
            "Expires: 1234567890123456789€abcdefgh",
            "Retry-After: 1234567890123456789é0000000",
            "Expires: ééééééééééééééééééééééééé",
            "CSeq: 1234567890123456789€abcdefgh OPTIONS",
        ] {
            let report = lint(&message_with(header));
            let finding = report
                .findings
                .iter()
                .find(|f| matches!(f.rule, Rule::DeltaSeconds | Rule::CseqNumber))
                .unwrap_or_else(|| panic!("{header}: {:?}", report.findings));
            assert!(finding.message.contains('"'), "{}", finding.message);
        }
    }

    #[test]
    fn long_numbers_are_shown_by_their_first_digits_and_length() {
        let report = lint(&message_with(&format!("Expires: {}", "9".repeat(40))));
        let finding = report
            .findings
            .iter()
            .find(|f| f.rule == Rule::DeltaSeconds)
            .expect("flagged");
        assert_eq!(
            finding.message,
            "Expires 99999999999999999999... (40 digits) is not a number of seconds from 0 to 2**32-1"
        );
    }
}
