//! The strict judgement: every RFC violation in a parsed message, each
//! named with its header and RFC section. Kept apart from `parse`, which is
//! what a robust receiver accepts: a message can parse and still break
//! rules (a conformance tool must say which), and findings never stop the
//! other checks from running.

mod address;
mod characters;
mod presence;
mod scalars;
mod start_line;
mod uri_rules;
mod via_rules;

use std::fmt;

use super::message::SipMessage;
use crate::text::{MAX_FINDING_CHARS, MAX_QUOTED_CHARS, elide, visible};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The message breaks the grammar or a rule receivers enforce: a
    /// receiver should reject it (typically 400).
    Error,
    /// The sender broke an RFC 3261 rule that receivers tolerate for
    /// backward compatibility (RFC 2543 senders, RFC 4475 §3.4; RFC 5118
    /// §4.10). A strict conformance judgement counts these too.
    Warning,
}

/// Which rule a finding is about: stable ids for tests and reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The bytes are not a SIP message at all (the parse error says why).
    Unparseable,
    /// Lines end in a bare LF instead of CRLF.
    LineEnding,
    RequestUri,
    RequestUriHeaders,
    SipVersion,
    Method,
    StatusCode,
    HeaderName,
    MissingHeader,
    RepeatedHeader,
    /// A header value that does not follow its grammar.
    HeaderSyntax,
    CseqNumber,
    CseqMethod,
    MaxForwards,
    /// Expires, Retry-After: delta-seconds out of range.
    DeltaSeconds,
    ViaVersion,
    ViaBranchCookie,
    ViaBranchEmpty,
    ViaBranchMissing,
    AddressQuotes,
    AddressSpaceInAngles,
    DisplayName,
    AddrSpecReserved,
    RouteNameAddr,
    FromTag,
    DateGmt,
    UriSyntax,
    Ipv6Reference,
    ContentLengthMissing,
    /// A control character (NUL, ESC, ...; anything below U+0020 but
    /// horizontal tab, and DEL) in a header value.
    ControlCharacter,
}

impl Rule {
    /// A stable kebab-case id.
    pub fn id(self) -> &'static str {
        match self {
            Self::Unparseable => "unparseable",
            Self::LineEnding => "line-ending",
            Self::RequestUri => "request-uri",
            Self::RequestUriHeaders => "request-uri-headers",
            Self::SipVersion => "sip-version",
            Self::Method => "method",
            Self::StatusCode => "status-code",
            Self::HeaderName => "header-name",
            Self::MissingHeader => "missing-header",
            Self::RepeatedHeader => "repeated-header",
            Self::HeaderSyntax => "header-syntax",
            Self::CseqNumber => "cseq-number",
            Self::CseqMethod => "cseq-method",
            Self::MaxForwards => "max-forwards",
            Self::DeltaSeconds => "delta-seconds",
            Self::ViaVersion => "via-version",
            Self::ViaBranchCookie => "via-branch-cookie",
            Self::ViaBranchEmpty => "via-branch-empty",
            Self::ViaBranchMissing => "via-branch-missing",
            Self::AddressQuotes => "address-quotes",
            Self::AddressSpaceInAngles => "address-space-in-angles",
            Self::DisplayName => "display-name",
            Self::AddrSpecReserved => "addr-spec-reserved",
            Self::RouteNameAddr => "route-name-addr",
            Self::FromTag => "from-tag",
            Self::DateGmt => "date-gmt",
            Self::UriSyntax => "uri-syntax",
            Self::Ipv6Reference => "ipv6-reference",
            Self::ContentLengthMissing => "content-length-missing",
            Self::ControlCharacter => "control-character",
        }
    }
}

/// One violation: the rule, how bad, the header it is in (as the message
/// spelled it), a sentence, and the RFC section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: Rule,
    pub severity: Severity,
    pub header: Option<String>,
    pub message: String,
    /// "RFC 3261 §8.1.1.7"; empty when the message already names it.
    pub reference: &'static str,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        f.write_str(&self.message)?;
        if !self.reference.is_empty() {
            write!(f, " ({})", self.reference)?;
        }
        Ok(())
    }
}

/// Collects findings while the rule modules run.
#[derive(Debug, Default)]
pub(crate) struct Findings(Vec<Finding>);

impl Findings {
    pub(crate) fn error(
        &mut self,
        rule: Rule,
        header: Option<&str>,
        message: String,
        reference: &'static str,
    ) {
        self.push(Severity::Error, rule, header, message, reference);
    }

    pub(crate) fn warning(
        &mut self,
        rule: Rule,
        header: Option<&str>,
        message: String,
        reference: &'static str,
    ) {
        self.push(Severity::Warning, rule, header, message, reference);
    }

    /// Adds a finding. Whatever the rule modules quoted, the sentence is
    /// bounded to [`MAX_FINDING_CHARS`] and the header name to
    /// [`MAX_QUOTED_CHARS`], with control characters made visible: a
    /// finding ends up in terminals and reports.
    pub(crate) fn push(
        &mut self,
        severity: Severity,
        rule: Rule,
        header: Option<&str>,
        message: String,
        reference: &'static str,
    ) {
        let message = visible(&elide(&message, MAX_FINDING_CHARS)).into_owned();
        let header = header.map(|h| visible(&elide(h, MAX_QUOTED_CHARS)).into_owned());
        self.0.push(Finding {
            rule,
            severity,
            header,
            message,
            reference,
        });
    }
}

/// Every violation in a message as it would arrive in a datagram or a
/// file: Content-Length may be absent.
pub fn validate(message: &SipMessage) -> Vec<Finding> {
    let mut findings = Findings::default();
    start_line::check(message, &mut findings);
    for header in message.headers.iter() {
        let canonical = super::headers::canonical_header_name(&header.name);
        characters::check_header(header, &mut findings);
        scalars::check_header(message, header, &canonical, &mut findings);
        address::check_header(message, header, &canonical, &mut findings);
        via_rules::check_header(header, &canonical, &mut findings);
    }
    via_rules::check_top_branch(message, &mut findings);
    presence::check(message, &mut findings);
    findings.0
}

/// As [`validate`], for a message that arrived on a stream transport
/// (TCP/TLS), where Content-Length is mandatory (RFC 3261 §18.3, §20.14).
pub fn validate_stream(message: &SipMessage) -> Vec<Finding> {
    let mut findings = validate(message);
    if message.headers.first("content-length").is_none() {
        findings.push(Finding {
            rule: Rule::ContentLengthMissing,
            severity: Severity::Error,
            header: None,
            message: "Content-Length is missing, required on stream transports".to_owned(),
            reference: "RFC 3261 §18.3, §20.14",
        });
    }
    findings
}
