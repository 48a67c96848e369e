//! SIP message parsing and emission (RFC 3261 §7), keeping the original bytes.

use super::headers::Headers;
use super::uri::NameAddr;
use super::via::Via;
use crate::text::excerpt;

/// The first line of a SIP message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request {
        method: String,
        uri: String,
        version: String,
    },
    Response {
        version: String,
        code: u16,
        reason: String,
    },
}

/// A parsed SIP message. `raw` holds the exact bytes it was parsed from
/// (empty for messages built in code until they are emitted).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipMessage {
    pub start: StartLine,
    pub headers: Headers,
    pub body: Vec<u8>,
    pub raw: Vec<u8>,
}

/// Why a byte string is not a SIP message, naming the part that broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("message has no blank line ending its headers (RFC 3261 §7)")]
    NoHeaderEnd,
    #[error("headers are not valid UTF-8")]
    NotUtf8,
    #[error("start line {0:?} is neither a Request-Line nor a Status-Line (RFC 3261 §7.1, §7.2)")]
    BadStartLine(String),
    #[error("status code {0:?} is not three digits (RFC 3261 §7.2)")]
    BadStatusCode(String),
    #[error("header line {0:?} has no colon (RFC 3261 §7.3)")]
    BadHeaderLine(String),
    #[error("Content-Length {0:?} is not a number (RFC 3261 §20.14)")]
    BadContentLength(String),
    #[error("Content-Length {declared} but body has {available} bytes (RFC 3261 §18.3, §20.14)")]
    ShortBody { declared: usize, available: usize },
    #[error("message has more than {limit} header lines")]
    TooManyHeaders { limit: usize },
}

/// The most header lines one message may have (after unfolding). RFC 3261
/// sets no limit; real messages stay far below it (RFC 4475's longreq has
/// 49).
pub const MAX_HEADER_LINES: usize = 1024;

fn find_header_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

impl SipMessage {
    /// Builds a request with the given method and Request-URI and no headers.
    pub fn request(method: &str, uri: &str) -> Self {
        Self {
            start: StartLine::Request {
                method: method.to_owned(),
                uri: uri.to_owned(),
                version: "SIP/2.0".to_owned(),
            },
            headers: Headers::new(),
            body: Vec::new(),
            raw: Vec::new(),
        }
    }

    /// Parses one complete message. With a Content-Length header the body is
    /// exactly that long (extra bytes are ignored, as on a stream they belong
    /// to the next message); without one the body is everything after the
    /// blank line.
    ///
    /// CRLFs before the start line are skipped (RFC 3261 §7.5) and are not
    /// part of `raw`. More than [`MAX_HEADER_LINES`] header lines is an
    /// error, so a hostile peer cannot make a message arbitrarily costly.
    pub fn parse(bytes: &[u8]) -> Result<Self, ParseError> {
        let mut bytes = bytes;
        while let Some(rest) = bytes.strip_prefix(b"\r\n") {
            bytes = rest;
        }
        let header_end = find_header_end(bytes).ok_or(ParseError::NoHeaderEnd)?;
        let head =
            std::str::from_utf8(&bytes[..header_end - 4]).map_err(|_| ParseError::NotUtf8)?;
        let mut lines = unfold(head).into_iter();
        let first = lines.next().unwrap_or_default();
        let start = parse_start_line(&first)?;
        let mut headers = Headers::new();
        for line in lines {
            if headers.len() == MAX_HEADER_LINES {
                return Err(ParseError::TooManyHeaders {
                    limit: MAX_HEADER_LINES,
                });
            }
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| ParseError::BadHeaderLine(excerpt(&line)))?;
            let name = name.trim();
            if name.is_empty() || name.contains(char::is_whitespace) {
                return Err(ParseError::BadHeaderLine(excerpt(&line)));
            }
            headers.push(name, value.trim());
        }
        let rest = &bytes[header_end..];
        let body_len = match headers.first("content-length") {
            Some(v) => {
                let declared: usize = v
                    .trim()
                    .parse()
                    .map_err(|_| ParseError::BadContentLength(excerpt(v)))?;
                if declared > rest.len() {
                    return Err(ParseError::ShortBody {
                        declared,
                        available: rest.len(),
                    });
                }
                declared
            }
            None => rest.len(),
        };
        Ok(Self {
            start,
            headers,
            body: rest[..body_len].to_vec(),
            raw: bytes[..header_end + body_len].to_vec(),
        })
    }

    /// Serialises the message. Header lines are written as they are stored;
    /// callers that change the body must update Content-Length themselves
    /// (see [`SipMessage::set_body`]) so deliberately wrong lengths survive.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + self.body.len());
        match &self.start {
            StartLine::Request {
                method,
                uri,
                version,
            } => {
                out.extend_from_slice(format!("{method} {uri} {version}\r\n").as_bytes());
            }
            StartLine::Response {
                version,
                code,
                reason,
            } => {
                out.extend_from_slice(format!("{version} {code:03} {reason}\r\n").as_bytes());
            }
        }
        for h in self.headers.iter() {
            out.extend_from_slice(h.name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(h.value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&self.body);
        out
    }

    /// Replaces the body and sets Content-Length to match it.
    pub fn set_body(&mut self, body: Vec<u8>) {
        self.headers.set("Content-Length", body.len().to_string());
        self.body = body;
    }

    pub fn is_request(&self) -> bool {
        matches!(self.start, StartLine::Request { .. })
    }

    /// The request method, or `None` for a response.
    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    /// The Request-URI, or `None` for a response.
    pub fn request_uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// The status code, or `None` for a request.
    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { code, .. } => Some(*code),
            StartLine::Request { .. } => None,
        }
    }

    pub fn reason(&self) -> Option<&str> {
        match &self.start {
            StartLine::Response { reason, .. } => Some(reason),
            StartLine::Request { .. } => None,
        }
    }

    pub fn call_id(&self) -> Option<&str> {
        self.headers.first("call-id")
    }

    /// The CSeq number and method.
    pub fn cseq(&self) -> Option<(u32, &str)> {
        let value = self.headers.first("cseq")?;
        let mut parts = value.split_whitespace();
        let number = parts.next()?.parse().ok()?;
        let method = parts.next()?;
        Some((number, method))
    }

    /// The `branch` parameter of the topmost Via.
    pub fn top_via_branch(&self) -> Option<&str> {
        let via = *self.headers.values("via").first()?;
        via.split(';').skip(1).find_map(|p| {
            let (k, v) = p.split_once('=')?;
            k.trim().eq_ignore_ascii_case("branch").then(|| v.trim())
        })
    }

    /// Every Via value, topmost first, typed; values that do not parse are
    /// skipped (the validator reports them).
    pub fn vias(&self) -> Vec<Via> {
        self.headers
            .values("via")
            .into_iter()
            .filter_map(|v| Via::parse(v).ok())
            .collect()
    }

    /// The topmost Via, typed.
    pub fn top_via(&self) -> Option<Via> {
        Via::parse(self.headers.values("via").first()?).ok()
    }

    /// The From value as a name-addr.
    pub fn from_addr(&self) -> Option<NameAddr> {
        NameAddr::parse(self.headers.first("from")?)
    }

    /// The To value as a name-addr.
    pub fn to_addr(&self) -> Option<NameAddr> {
        NameAddr::parse(self.headers.first("to")?)
    }

    /// One line naming the message: "MESSAGE sip:a@b" or "200 OK".
    pub fn summary(&self) -> String {
        match &self.start {
            StartLine::Request { method, uri, .. } => format!("{method} {uri}"),
            StartLine::Response { code, reason, .. } => format!("{code} {reason}"),
        }
    }

    /// Builds a response to this request per RFC 3261 §8.2.6.2: Via, From,
    /// To, Call-ID and CSeq copied, a To tag added when given and absent.
    pub fn response(&self, code: u16, reason: &str, to_tag: Option<&str>) -> Self {
        let mut headers = Headers::new();
        for h in self.headers.iter() {
            let canonical = super::headers::canonical_header_name(&h.name);
            if matches!(
                canonical.as_str(),
                "via" | "from" | "to" | "call-id" | "cseq" | "record-route"
            ) {
                headers.push(h.name.clone(), h.value.clone());
            }
        }
        if let Some(tag) = to_tag
            && let Some(to) = headers.first("to")
            && !to.to_ascii_lowercase().contains(";tag=")
        {
            let tagged = format!("{to};tag={tag}");
            headers.set("To", tagged);
        }
        headers.push("Content-Length", "0");
        Self {
            start: StartLine::Response {
                version: "SIP/2.0".to_owned(),
                code,
                reason: reason.to_owned(),
            },
            headers,
            body: Vec::new(),
            raw: Vec::new(),
        }
    }
}

/// Splits the header section into logical lines, joining continuation lines
/// (RFC 3261 §7.3.1 folding) with a single space.
fn unfold(head: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for line in head.split("\r\n") {
        if line.starts_with([' ', '\t'])
            && let Some(last) = lines.last_mut()
        {
            last.push(' ');
            last.push_str(line.trim());
            continue;
        }
        lines.push(line.to_owned());
    }
    lines
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    let bad = || ParseError::BadStartLine(excerpt(line));
    if let Some(rest) = line.strip_prefix("SIP/") {
        let mut parts = rest.splitn(3, ' ');
        let version = format!("SIP/{}", parts.next().ok_or_else(bad)?);
        let code_text = parts.next().ok_or_else(bad)?;
        if code_text.len() != 3 || !code_text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ParseError::BadStatusCode(excerpt(code_text)));
        }
        let code = code_text
            .parse()
            .map_err(|_| ParseError::BadStatusCode(excerpt(code_text)))?;
        let reason = parts.next().unwrap_or("").to_owned();
        return Ok(StartLine::Response {
            version,
            code,
            reason,
        });
    }
    let mut parts = line.split(' ');
    let method = parts.next().filter(|m| !m.is_empty()).ok_or_else(bad)?;
    let uri = parts.next().filter(|u| !u.is_empty()).ok_or_else(bad)?;
    let version = parts
        .next()
        .filter(|v| v.starts_with("SIP/"))
        .ok_or_else(bad)?;
    if parts.next().is_some() {
        return Err(bad());
    }
    Ok(StartLine::Request {
        method: method.to_owned(),
        uri: uri.to_owned(),
        version: version.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MESSAGE: &[u8] = b"MESSAGE sip:bob@contoso.test SIP/2.0\r\n\
Via: SIP/2.0/TLS 192.0.2.1:5061;branch=z9hG4bK776asdhds\r\n\
Max-Forwards: 70\r\n\
To: <sip:bob@contoso.test>\r\n\
From: <sip:alice@hotmail.com>;tag=1928301774\r\n\
Call-ID: a84b4c76e66710\r\n\
CSeq: 1 MESSAGE\r\n\
Subject: long\r\n subject\r\n\
Content-Type: text/plain\r\n\
Content-Length: 5\r\n\
\r\n\
helloEXTRA";

    #[test]
    fn parses_request_and_keeps_raw_bytes() {
        let m = SipMessage::parse(MESSAGE).expect("valid message");
        assert_eq!(m.method(), Some("MESSAGE"));
        assert_eq!(m.request_uri(), Some("sip:bob@contoso.test"));
        assert_eq!(m.body, b"hello");
        assert_eq!(m.raw, &MESSAGE[..MESSAGE.len() - 5]);
        assert_eq!(m.cseq(), Some((1, "MESSAGE")));
        assert_eq!(m.top_via_branch(), Some("z9hG4bK776asdhds"));
        assert_eq!(m.headers.first("subject"), Some("long subject"));
    }

    #[test]
    fn emits_what_it_parsed() {
        let m = SipMessage::parse(b"SIP/2.0 200 OK\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n")
            .expect("valid response");
        assert_eq!(m.status(), Some(200));
        assert_eq!(
            m.to_bytes(),
            b"SIP/2.0 200 OK\r\nCall-ID: x\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn short_body_is_an_error_naming_both_lengths() {
        let err = SipMessage::parse(b"SIP/2.0 200 OK\r\nContent-Length: 9\r\n\r\nabc").unwrap_err();
        assert_eq!(
            err,
            ParseError::ShortBody {
                declared: 9,
                available: 3
            }
        );
    }

    #[test]
    fn status_code_keeps_three_digits_on_emission() {
        // Found by the fuzzer: "000" parsed to 0 and was emitted as "0".
        let m = SipMessage::parse(b"SIP/2.0 007 odd\r\nContent-Length: 0\r\n\r\n").expect("parses");
        assert_eq!(
            m.to_bytes(),
            b"SIP/2.0 007 odd\r\nContent-Length: 0\r\n\r\n"
        );
    }

    #[test]
    fn leading_crlfs_are_skipped() {
        let m = SipMessage::parse(b"\r\n\r\nSIP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n")
            .expect("parses");
        assert_eq!(m.status(), Some(200));
        assert!(m.raw.starts_with(b"SIP/2.0"));
    }

    #[test]
    fn too_many_header_lines_are_refused() {
        let mut text = String::from("OPTIONS sip:a SIP/2.0\r\n");
        for i in 0..=MAX_HEADER_LINES {
            text.push_str(&format!("X-{i}: v\r\n"));
        }
        text.push_str("\r\n");
        assert_eq!(
            SipMessage::parse(text.as_bytes()),
            Err(ParseError::TooManyHeaders {
                limit: MAX_HEADER_LINES
            })
        );
    }

    #[test]
    fn rejects_bad_status_code() {
        let err = SipMessage::parse(b"SIP/2.0 2000 OK\r\n\r\n").unwrap_err();
        assert!(matches!(err, ParseError::BadStatusCode(_)));
    }

    #[test]
    fn response_copies_dialog_headers_and_adds_tag() {
        let m = SipMessage::parse(MESSAGE).expect("valid message");
        let r = m.response(200, "OK", Some("xyz"));
        assert_eq!(
            r.headers.first("to"),
            Some("<sip:bob@contoso.test>;tag=xyz")
        );
        assert_eq!(r.headers.first("call-id"), Some("a84b4c76e66710"));
        assert_eq!(r.headers.first("content-length"), Some("0"));
    }
}
