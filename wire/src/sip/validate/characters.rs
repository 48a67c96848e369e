//! Which characters a header value may hold at all: no control characters
//! but horizontal tab (RFC 3261 §25.1: `TEXT-UTF8char` is `%x21-7E` or
//! non-ASCII UTF-8, and linear whitespace is space or tab). A NUL or an
//! ESC in a header is an error whatever the header, not a tolerated
//! leftover, so it fails a message without `--strict` too. The one place a
//! control character may stand is right after a backslash inside a quoted
//! string or a comment (`quoted-pair`, `%x00-09 / %x0B-0C / %x0E-7F`; RFC
//! 4475 §3.1.1.2 has a valid message with an escaped BEL, NUL and DEL).

use super::{Findings, Rule};
use crate::sip::headers::Header;
use crate::text::quote;

pub(super) fn check_header(header: &Header, findings: &mut Findings) {
    let Some(control) = unescaped_control(&header.value) else {
        return;
    };
    let name = header.name.as_str();
    findings.error(
        Rule::ControlCharacter,
        Some(name),
        format!(
            "{name} value {} holds the control character U+{:04X}; header values allow none but horizontal tab",
            quote(&header.value),
            u32::from(control)
        ),
        "RFC 3261 §25.1",
    );
}

/// The first control character that is not part of a `quoted-pair`.
fn unescaped_control(value: &str) -> Option<char> {
    let mut quoted = false;
    let mut comment_depth = 0usize;
    let mut escaped = false;
    for c in value.chars() {
        if escaped {
            escaped = false;
            if c != '\r' && c != '\n' {
                continue;
            }
        }
        if is_forbidden_control(c) {
            return Some(c);
        }
        match c {
            '\\' if quoted || comment_depth > 0 => escaped = true,
            '"' if comment_depth == 0 => quoted = !quoted,
            '(' if !quoted => comment_depth += 1,
            ')' if !quoted => comment_depth = comment_depth.saturating_sub(1),
            _ => {}
        }
    }
    None
}

/// C0 controls other than horizontal tab, and DEL.
fn is_forbidden_control(c: char) -> bool {
    (c.is_ascii_control() && c != '\t') || c == '\u{7f}'
}

#[cfg(test)]
mod tests {
    use crate::sip::{Rule, Severity, lint};

    fn with_subject(value: &str) -> Vec<u8> {
        format!(
            "MESSAGE sip:b@example.com SIP/2.0\r\nVia: SIP/2.0/TLS a.example.com;branch=z9hG4bK1\r\nMax-Forwards: 70\r\nTo: <sip:b@example.com>\r\nFrom: <sip:a@example.com>;tag=1\r\nCall-ID: c1\r\nCSeq: 1 MESSAGE\r\nSubject: {value}\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    #[test]
    fn nul_esc_and_del_are_errors_even_without_strict() {
        for (value, code) in [
            ("a\u{0}b", "U+0000"),
            ("\u{1b}[2J\u{1b}[Hcleared", "U+001B"),
            ("bell\u{7}", "U+0007"),
            ("del\u{7f}", "U+007F"),
        ] {
            let report = lint(&with_subject(value));
            let finding = report
                .findings
                .iter()
                .find(|f| f.rule == Rule::ControlCharacter)
                .unwrap_or_else(|| panic!("{value:?}: {:?}", report.findings));
            assert_eq!(finding.severity, Severity::Error);
            assert_eq!(finding.header.as_deref(), Some("Subject"));
            assert!(finding.message.contains(code), "{}", finding.message);
            assert!(
                !finding.message.chars().any(char::is_control),
                "the finding itself carries no control character: {:?}",
                finding.message
            );
            assert!(!report.passes(false));
        }
    }

    #[test]
    fn an_escaped_control_inside_quotes_or_a_comment_is_allowed_but_not_outside() {
        for value in ["\"a\\\u{7}b\"", "x (c\\\u{0}d)", "\"\\\u{7f}\""] {
            let report = lint(&with_subject(value));
            assert!(
                report.findings.is_empty(),
                "{value:?}: {:?}",
                report.findings
            );
        }
        for value in ["a\\\u{7}b", "\"a\\\r\"", "\"a\" \u{1b}"] {
            let report = lint(&with_subject(value));
            assert!(
                report
                    .findings
                    .iter()
                    .any(|f| f.rule == Rule::ControlCharacter),
                "{value:?}: {:?}",
                report.findings
            );
        }
    }

    #[test]
    fn tab_and_non_ascii_text_are_allowed() {
        let report = lint(&with_subject("caf\u{e9}\tau lait"));
        assert!(report.findings.is_empty(), "{:?}", report.findings);
    }

    #[test]
    fn the_rule_has_a_stable_id() {
        assert_eq!(Rule::ControlCharacter.id(), "control-character");
    }
}
