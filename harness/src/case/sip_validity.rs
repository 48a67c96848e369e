//! Judging whether a message the SUT sent is valid SIP, with the
//! validator of the wire core: every message an `expect` step accepts must
//! also be free of RFC errors (warnings about RFC 2543 leftovers are noted
//! in the transcript, not failed).

use picharness_wire::sip::{Severity, SipMessage, validate_stream};

/// The first RFC error in `message` as a sentence naming the header and RFC
/// section, with a count of any further ones; `None` when there are none.
pub(crate) fn validity_problem(message: &SipMessage, actor: &str) -> Option<String> {
    let errors: Vec<String> = validate_stream(message)
        .into_iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.to_string())
        .collect();
    let first = errors.first()?;
    let more = match errors.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Some(format!(
        "{} reached {actor} as invalid SIP: {first}{more}",
        message.summary()
    ))
}

/// Warnings worth a note in the transcript.
pub(crate) fn validity_warnings(message: &SipMessage) -> Vec<String> {
    validate_stream(message)
        .into_iter()
        .filter(|f| f.severity == Severity::Warning)
        .map(|f| f.to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> SipMessage {
        SipMessage::parse(text.replace('\n', "\r\n").as_bytes()).expect("test message parses")
    }

    const VALID: &str = "MESSAGE sip:bob@contoso.test SIP/2.0
Via: SIP/2.0/TLS sip.contoso.test:5061;branch=z9hG4bK1
Record-Route: <sip:sip.contoso.test:5061;transport=tls;lr>
Max-Forwards: 69
From: <sip:alice@hotmail.com>;tag=1
To: <sip:bob@contoso.test>
Call-ID: c1
CSeq: 1 MESSAGE
Content-Length: 0

";

    #[test]
    fn valid_message_has_no_problem() {
        assert_eq!(validity_problem(&parse(VALID), "pool"), None);
    }

    #[test]
    fn addr_spec_record_route_is_named_with_its_section() {
        let bad = VALID.replace(
            "<sip:sip.contoso.test:5061;transport=tls;lr>",
            "sip:sip.contoso.test:5061;transport=tls;lr",
        );
        let problem = validity_problem(&parse(&bad), "pool").expect("flagged");
        assert_eq!(
            problem,
            "MESSAGE sip:bob@contoso.test reached pool as invalid SIP: Record-Route value \"sip:sip.contoso.test:5061;transport=tls;lr\" is not in name-addr form (<uri>) (RFC 3261 §20.30, §20.34)"
        );
    }

    #[test]
    fn missing_content_length_counts_on_a_stream_and_extra_errors_are_counted() {
        let bad = VALID
            .replace("Content-Length: 0\n", "")
            .replace("CSeq: 1 MESSAGE", "CSeq: 1 INVITE");
        let problem = validity_problem(&parse(&bad), "pool").expect("flagged");
        assert!(problem.contains("CSeq method INVITE"), "{problem}");
        assert!(problem.ends_with("(and 1 more)"), "{problem}");
    }

    #[test]
    fn warnings_are_not_problems() {
        let old = VALID.replace("z9hG4bK1", "1");
        assert_eq!(validity_problem(&parse(&old), "pool"), None);
        assert_eq!(validity_warnings(&parse(&old)).len(), 1);
    }
}
