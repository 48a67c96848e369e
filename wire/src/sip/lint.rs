//! Judging one pasted or saved message end to end: parse, then validate,
//! with every problem as a [`Finding`]. Pure: the caller reads the bytes.

use super::message::SipMessage;
use super::validate::{Finding, Rule, Severity, validate};

/// What linting one message found.
#[derive(Debug, Clone)]
pub struct LintReport {
    /// Parse failures, line-ending problems and validation findings, in
    /// that order.
    pub findings: Vec<Finding>,
    /// The parsed message, when it parsed.
    pub message: Option<SipMessage>,
}

impl LintReport {
    /// Whether the message passes: no errors, and no warnings either when
    /// `strict`.
    pub fn passes(&self, strict: bool) -> bool {
        self.findings
            .iter()
            .all(|f| f.severity == Severity::Warning && !strict)
    }
}

/// Parses and validates one message. Text pasted from a log often has bare
/// LF line ends: that is reported, and the header section is then read with
/// CRLF restored so the other findings still show.
pub fn lint(bytes: &[u8]) -> LintReport {
    let mut findings = Vec::new();
    let normalised = restore_crlf(bytes);
    let input = match &normalised {
        Some(fixed) => {
            findings.push(Finding {
                rule: Rule::LineEnding,
                severity: Severity::Error,
                header: None,
                message: "header lines end in a bare LF, not CRLF".to_owned(),
                reference: "RFC 3261 §7",
            });
            fixed.as_slice()
        }
        None => bytes,
    };
    match SipMessage::parse(input) {
        Ok(message) => {
            findings.extend(validate(&message));
            LintReport {
                findings,
                message: Some(message),
            }
        }
        Err(e) => {
            findings.push(Finding {
                rule: Rule::Unparseable,
                severity: Severity::Error,
                header: None,
                message: format!("not a SIP message: {e}"),
                reference: "",
            });
            LintReport {
                findings,
                message: None,
            }
        }
    }
}

/// When the header section (up to the first empty line) uses bare LFs,
/// returns the bytes with those LFs turned into CRLF; the body is kept.
fn restore_crlf(bytes: &[u8]) -> Option<Vec<u8>> {
    let crlf_end = bytes.windows(4).position(|w| w == b"\r\n\r\n");
    let lf_end = bytes.windows(2).position(|w| w == b"\n\n");
    let head_end = match (crlf_end, lf_end) {
        (Some(c), Some(l)) if c < l => return None,
        (Some(_), None) => return None,
        (_, Some(l)) => l + 2,
        (None, None) => bytes.len(),
    };
    let head = &bytes[..head_end];
    let bare = head
        .iter()
        .enumerate()
        .any(|(i, b)| *b == b'\n' && (i == 0 || head[i - 1] != b'\r'));
    if !bare {
        return None;
    }
    let mut out = Vec::with_capacity(bytes.len() + 64);
    for (i, b) in head.iter().enumerate() {
        if *b == b'\n' && (i == 0 || head[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(*b);
    }
    out.extend_from_slice(&bytes[head_end..]);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "OPTIONS sip:bob@contoso.test SIP/2.0\r\nVia: SIP/2.0/TLS a.example.com;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nTo: <sip:bob@contoso.test>\r\nFrom: <sip:alice@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";

    #[test]
    fn a_good_message_passes_strictly() {
        let report = lint(GOOD.as_bytes());
        assert!(report.findings.is_empty(), "{:?}", report.findings);
        assert!(report.passes(true));
    }

    #[test]
    fn bare_lf_is_reported_and_the_rest_still_judged() {
        let text = GOOD
            .replace("\r\n", "\n")
            .replace("CSeq: 1 OPTIONS", "CSeq: 1 INVITE");
        let report = lint(text.as_bytes());
        let rules: Vec<Rule> = report.findings.iter().map(|f| f.rule).collect();
        assert_eq!(rules, vec![Rule::LineEnding, Rule::CseqMethod]);
        assert!(!report.passes(false));
    }

    #[test]
    fn unparseable_input_is_one_finding() {
        let report = lint(b"hello");
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].rule, Rule::Unparseable);
        assert!(report.message.is_none());
    }

    #[test]
    fn warnings_pass_unless_strict() {
        let text = GOOD.replace("z9hG4bK1", "abc");
        let report = lint(text.as_bytes());
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].rule, Rule::ViaBranchCookie);
        assert!(report.passes(false));
        assert!(!report.passes(true));
        assert_eq!(
            report.findings[0].to_string(),
            "warning: Via branch \"abc\" lacks the z9hG4bK magic cookie (tolerated from RFC 2543 senders) (RFC 3261 §8.1.1.7)"
        );
    }
}
