//! How the reference Edge meets malformed input from outside. A request the
//! SIP validator finds an error in is answered 400 Bad Request, with the
//! first error in a Warning, and is not forwarded: the Edge is the boundary
//! (RFC 3261 §16.3 asks a proxy to validate a request before forwarding it).
//! A malformed response is dropped. Bytes that are not SIP end the
//! connection (the stream is out of sync).
//! The robustness fault switches change that: `relay-malformed` forwards the
//! request, `crash-on-malformed` crashes the Edge, `hang-on-malformed`
//! leaves it accepting connections but serving nothing.

use picharness_wire::sip::{Severity, SipMessage, validate_stream};

use super::fault::{Fault, FaultSet};

/// What the Edge does with malformed input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Reaction {
    /// Answer 400 with this reason in the Warning (a request) or drop the
    /// connection (garbage).
    Refuse(String),
    /// Treat it as a good request (`relay-malformed`).
    Forward,
    /// Stop listening and drop every connection (`crash-on-malformed`).
    Crash,
    /// Serve no request from now on (`hang-on-malformed`).
    Hang,
}

/// The most header lines the reference Edge takes in a message from
/// outside. RFC 3261 sets no limit; real requests have a few dozen (RFC
/// 4475's longreq has 49), and a parser that does work per header must
/// stop somewhere: more is refused like a syntax error.
pub(super) const MAX_HEADER_LINES_FROM_OUTSIDE: usize = 256;

/// The first RFC error in `request` (or its having more header lines than
/// [`MAX_HEADER_LINES_FROM_OUTSIDE`]), `None` when it has none.
pub(super) fn problem(request: &SipMessage) -> Option<String> {
    if request.headers.len() > MAX_HEADER_LINES_FROM_OUTSIDE {
        return Some(format!(
            "{} header lines, more than the {MAX_HEADER_LINES_FROM_OUTSIDE} this Edge takes",
            request.headers.len()
        ));
    }
    validate_stream(request)
        .into_iter()
        .find(|f| f.severity == Severity::Error)
        .map(|f| f.to_string())
}

/// Whether a framing error is a message over the size limit (the stream
/// decoder's `TooLarge`), which is refused for its size, not its syntax.
pub(super) fn is_oversize(error: &str) -> bool {
    let too_large = picharness_wire::sip::FramingError::TooLarge { limit: 0 }.to_string();
    let marker = too_large.split("0-byte").nth(1).unwrap_or("-byte limit");
    error.contains(marker)
}

/// How the Edge with `faults` reacts to malformed input; `request` tells a
/// parsed request (which can be forwarded) from a response or garbage
/// (which cannot).
pub(super) fn reaction(faults: &FaultSet, why: String, request: bool) -> Reaction {
    if faults.has(Fault::CrashOnMalformed) {
        Reaction::Crash
    } else if faults.has(Fault::HangOnMalformed) {
        Reaction::Hang
    } else if request && faults.has(Fault::RelayMalformed) {
        Reaction::Forward
    } else {
        Reaction::Refuse(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> SipMessage {
        SipMessage::parse(text.replace('\n', "\r\n").as_bytes()).expect("parses")
    }

    const GOOD: &str = "MESSAGE sip:bob@contoso.test SIP/2.0
Via: SIP/2.0/TLS sip.fabrikam.test:5061;branch=z9hG4bK1
Max-Forwards: 70
From: <sip:alice@fabrikam.test>;tag=1
To: <sip:bob@contoso.test>
Call-ID: c1
CSeq: 1 MESSAGE
Content-Length: 0

";

    #[test]
    fn a_valid_request_has_no_problem_and_a_broken_one_is_named() {
        assert_eq!(problem(&parse(GOOD)), None);
        let broken = parse(&GOOD.replace("CSeq: 1 MESSAGE", "CSeq: one MESSAGE"));
        assert!(problem(&broken).is_some_and(|p| p.contains("CSeq")));
    }

    #[test]
    fn too_many_header_lines_are_a_problem() {
        let mut text = GOOD.replace("Content-Length: 0\n", "");
        for i in 0..=MAX_HEADER_LINES_FROM_OUTSIDE {
            text = text.replace("\n\n", &format!("\nX-Pad-{i}: {i}\n\n"));
        }
        text = text.replace("\n\n", "\nContent-Length: 0\n\n");
        let many = parse(&text);
        assert!(problem(&many).is_some_and(|p| p.contains("header lines")));
    }

    #[test]
    fn an_oversize_message_is_not_malformed() {
        let error = picharness_wire::sip::FramingError::TooLarge { limit: 65536 }.to_string();
        assert!(is_oversize(&error));
        assert!(!is_oversize("no SIP start line"));
    }

    #[test]
    fn each_fault_changes_the_reaction() {
        let why = || "bad".to_owned();
        assert_eq!(
            reaction(&FaultSet::new([]), why(), true),
            Reaction::Refuse("bad".to_owned())
        );
        let relay = FaultSet::new([Fault::RelayMalformed]);
        assert_eq!(reaction(&relay, why(), true), Reaction::Forward);
        assert_eq!(
            reaction(&relay, why(), false),
            Reaction::Refuse("bad".to_owned())
        );
        let crash = FaultSet::new([Fault::CrashOnMalformed]);
        assert_eq!(reaction(&crash, why(), false), Reaction::Crash);
        let hang = FaultSet::new([Fault::HangOnMalformed]);
        assert_eq!(reaction(&hang, why(), true), Reaction::Hang);
    }
}
