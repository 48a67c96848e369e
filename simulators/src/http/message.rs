//! HTTP/1.1 messages without sockets: parsing a request head and a
//! response, writing a response, and reading an `http://` URL. Every size
//! is bounded by a named constant.

use std::fmt::Write as _;

/// The largest request head the responder reads (request line and headers).
pub const MAX_REQUEST_HEAD: usize = 8 * 1024;
/// The largest response head the client reads.
pub const MAX_RESPONSE_HEAD: usize = 16 * 1024;
/// The most header fields in one head.
const MAX_HEADERS: usize = 64;

/// Why an HTTP message or URL could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    /// The head did not end within the limit.
    #[error("the HTTP head is longer than {limit} bytes")]
    HeadTooLarge { limit: usize },
    /// More header fields than [`MAX_HEADERS`].
    #[error("more than {MAX_HEADERS} HTTP header fields")]
    TooManyHeaders,
    /// The body is longer than the caller allows.
    #[error("the HTTP body is longer than {limit} bytes")]
    BodyTooLarge { limit: usize },
    /// The message breaks HTTP/1.1 syntax.
    #[error("malformed HTTP {what}: {detail}")]
    Malformed { what: &'static str, detail: String },
    /// A framing the client does not speak (chunked bodies).
    #[error("unsupported HTTP response: {0}")]
    Unsupported(String),
    /// The connection ended before the message did.
    #[error("the connection ended after {got} bytes, before the HTTP response was complete")]
    Truncated { got: usize },
    /// The URL is not an `http://host[:port]/path` URL.
    #[error("{url:?} is not an http:// URL the client can fetch: {detail}")]
    BadUrl { url: String, detail: String },
    /// Connecting, sending or receiving failed.
    #[error("HTTP transport: {0}")]
    Transport(String),
    /// The server did not answer in time.
    #[error("no complete HTTP response within {after_ms} ms")]
    Timeout { after_ms: u128 },
}

fn malformed(what: &'static str, detail: impl Into<String>) -> HttpError {
    HttpError::Malformed {
        what,
        detail: detail.into(),
    }
}

/// A request line and its header fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    pub method: String,
    /// The request target as sent (origin form: path and query).
    pub target: String,
    /// `HTTP/1.1` or `HTTP/1.0`.
    pub version: String,
    pub headers: Vec<(String, String)>,
}

impl RequestHead {
    /// The value of the first header field named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The target's path, without a query.
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Where the head ends (the index after the empty line), if it has.
fn head_end(buf: &[u8], limit: usize) -> Result<Option<usize>, HttpError> {
    let window = &buf[..buf.len().min(limit)];
    match window.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(at) => Ok(Some(at + 4)),
        None if buf.len() >= limit => Err(HttpError::HeadTooLarge { limit }),
        None => Ok(None),
    }
}

/// The start line and header fields of a head (without the empty line).
fn split_head(
    head: &[u8],
    what: &'static str,
) -> Result<(String, Vec<(String, String)>), HttpError> {
    let text = std::str::from_utf8(head).map_err(|_| malformed(what, "the head is not UTF-8"))?;
    let mut lines = text.split("\r\n");
    let start = lines.next().unwrap_or_default().to_owned();
    let mut headers = Vec::new();
    for line in lines.filter(|l| !l.is_empty()) {
        if headers.len() == MAX_HEADERS {
            return Err(HttpError::TooManyHeaders);
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| malformed(what, format!("header line without a colon: {line:?}")))?;
        if name.is_empty() || name.contains(char::is_whitespace) {
            return Err(malformed(what, format!("bad header name {name:?}")));
        }
        headers.push((name.to_owned(), value.trim().to_owned()));
    }
    Ok((start, headers))
}

/// Parses a request head from the start of `buf`: `Ok(None)` while it is
/// incomplete, the head and its length once the empty line arrived.
pub fn parse_request_head(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, HttpError> {
    let Some(end) = head_end(buf, MAX_REQUEST_HEAD)? else {
        return Ok(None);
    };
    let (start, headers) = split_head(&buf[..end - 4], "request")?;
    let mut parts = start.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("request", format!("request line {start:?}")));
    };
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(malformed("request", format!("method {method:?}")));
    }
    if !target.starts_with('/') {
        return Err(malformed(
            "request",
            format!("target {target:?} is not a path"),
        ));
    }
    if version != "HTTP/1.1" && version != "HTTP/1.0" {
        return Err(malformed("request", format!("version {version:?}")));
    }
    Ok(Some((
        RequestHead {
            method: method.to_owned(),
            target: target.to_owned(),
            version: version.to_owned(),
            headers,
        },
        end,
    )))
}

/// A response that closes the connection after it: status line,
/// Content-Type (when given), Content-Length and the body.
pub fn response_bytes(
    status: u16,
    reason: &str,
    extra_headers: &[(&str, &str)],
    body: &[u8],
) -> Vec<u8> {
    let mut head = format!("HTTP/1.1 {status} {reason}\r\n");
    for (name, value) in extra_headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    let _ = write!(
        head,
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// A response as the client read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    /// The value of the first header field named `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

/// Parses a response from `buf`. `ended` says the connection has closed
/// (a body without Content-Length runs to the close). `Ok(None)` while
/// more bytes are needed.
pub fn parse_response(
    buf: &[u8],
    ended: bool,
    max_body: usize,
) -> Result<Option<Response>, HttpError> {
    let Some(end) = head_end(buf, MAX_RESPONSE_HEAD)? else {
        return if ended {
            Err(HttpError::Truncated { got: buf.len() })
        } else {
            Ok(None)
        };
    };
    let (start, headers) = split_head(&buf[..end - 4], "response")?;
    let mut parts = start.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(malformed("response", format!("status line {start:?}")));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..=999).contains(s))
        .ok_or_else(|| malformed("response", format!("status line {start:?}")))?;
    if header(&headers, "transfer-encoding").is_some() {
        return Err(HttpError::Unsupported(
            "a Transfer-Encoding body (only Content-Length or read-to-close)".to_owned(),
        ));
    }
    let body = &buf[end..];
    let length = match header(&headers, "content-length") {
        Some(value) => Some(
            value
                .parse::<usize>()
                .map_err(|_| malformed("response", format!("Content-Length {value:?}")))?,
        ),
        None => None,
    };
    if length.unwrap_or(body.len()) > max_body || body.len() > max_body {
        return Err(HttpError::BodyTooLarge { limit: max_body });
    }
    let body = match length {
        Some(length) if body.len() >= length => &body[..length],
        Some(_) if ended => return Err(HttpError::Truncated { got: buf.len() }),
        Some(_) => return Ok(None),
        None if ended => body,
        None => return Ok(None),
    };
    Ok(Some(Response {
        status,
        headers,
        body: body.to_vec(),
    }))
}

/// An `http://host[:port]/path` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpUrl {
    /// A DNS name or an IP address (without brackets).
    pub host: String,
    pub port: u16,
    /// The path and query, `/` when the URL has none.
    pub target: String,
}

impl HttpUrl {
    /// Reads `url`; only the `http` scheme is accepted.
    pub fn parse(url: &str) -> Result<Self, HttpError> {
        let bad = |detail: &str| HttpError::BadUrl {
            url: url.chars().take(200).collect(),
            detail: detail.to_owned(),
        };
        let rest = url
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
            .map(|_| &url[7..])
            .ok_or_else(|| bad("not the http scheme"))?;
        let (authority, target) = match rest.find('/') {
            Some(at) => (&rest[..at], &rest[at..]),
            None => (rest, "/"),
        };
        if authority.contains('@') {
            return Err(bad("user information is not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed ["))?;
            match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None if after.is_empty() => (host, None),
                None => return Err(bad("junk after the IPv6 address")),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(port) => port
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("bad port"))?,
            None => 80,
        };
        if target
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(bad("whitespace or control characters in the path"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            target: target.to_owned(),
        })
    }

    /// The Host header value.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        if self.port == 80 {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_head_parses_once_complete() {
        let raw = b"GET /crl/a.crl?x=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: t\r\n\r\nrest";
        for cut in 0..raw.len() - 4 {
            assert_eq!(parse_request_head(&raw[..cut]), Ok(None), "cut at {cut}");
        }
        let (head, used) = parse_request_head(raw).expect("parse").expect("complete");
        assert_eq!(used, raw.len() - 4);
        assert_eq!(head.method, "GET");
        assert_eq!(head.target, "/crl/a.crl?x=1");
        assert_eq!(head.path(), "/crl/a.crl");
        assert_eq!(head.header("user-agent"), Some("t"));
    }

    #[test]
    fn bad_requests_are_errors_with_their_reason() {
        let long = format!("GET /{} HTTP/1.1\r\n", "a".repeat(MAX_REQUEST_HEAD));
        let many = format!(
            "GET / HTTP/1.1\r\n{}\r\n",
            "X: y\r\n".repeat(MAX_HEADERS + 1)
        );
        let cases: [(&[u8], &str); 7] = [
            (long.as_bytes(), "longer than 8192"),
            (many.as_bytes(), "more than 64"),
            (b"GET /\r\n\r\n", "request line"),
            (b"get / HTTP/1.1\r\n\r\n", "method"),
            (b"GET crl HTTP/1.1\r\n\r\n", "not a path"),
            (b"GET / HTTP/2\r\n\r\n", "version"),
            (b"GET / HTTP/1.1\r\nNoColon\r\n\r\n", "colon"),
        ];
        for (raw, expected) in cases {
            let err = parse_request_head(raw).expect_err("bad");
            assert!(err.to_string().contains(expected), "{err} / {expected}");
        }
    }

    #[test]
    fn a_response_round_trips_and_is_bounded() {
        let bytes = response_bytes(
            200,
            "OK",
            &[("Content-Type", "application/pkix-crl")],
            b"abc",
        );
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("HTTP/1.1 200 OK\r\nContent-Type: application/pkix-crl\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc"), "{text}");
        for cut in 0..bytes.len() {
            assert_eq!(
                parse_response(&bytes[..cut], false, 100),
                Ok(None),
                "cut {cut}"
            );
        }
        let response = parse_response(&bytes, false, 100)
            .expect("ok")
            .expect("complete");
        assert_eq!(response.status, 200);
        assert_eq!(
            response.header("content-type"),
            Some("application/pkix-crl")
        );
        assert_eq!(response.body, b"abc");
        assert!(matches!(
            parse_response(&bytes, false, 2),
            Err(HttpError::BodyTooLarge { limit: 2 })
        ));
        assert!(matches!(
            parse_response(&bytes[..bytes.len() - 1], true, 100),
            Err(HttpError::Truncated { .. })
        ));
        // Without Content-Length the body runs to the close.
        let open = b"HTTP/1.0 404 Not Found\r\n\r\nnope";
        assert_eq!(parse_response(open, false, 100), Ok(None));
        let response = parse_response(open, true, 100)
            .expect("ok")
            .expect("complete");
        assert_eq!(
            (response.status, response.body.as_slice()),
            (404, &b"nope"[..])
        );
        assert!(matches!(
            parse_response(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
                false,
                9
            ),
            Err(HttpError::Unsupported(_))
        ));
        assert!(matches!(
            parse_response(b"SIP/2.0 200 OK\r\n\r\n", true, 9),
            Err(HttpError::Malformed { .. })
        ));
    }

    #[test]
    fn urls_are_read_and_refused() {
        let url = HttpUrl::parse("http://127.0.0.30:8080/crl/a.crl").expect("url");
        assert_eq!(
            (url.host.as_str(), url.port, url.target.as_str()),
            ("127.0.0.30", 8080, "/crl/a.crl")
        );
        assert_eq!(url.host_header(), "127.0.0.30:8080");
        let url = HttpUrl::parse("HTTP://crl.contoso.test").expect("url");
        assert_eq!((url.port, url.target.as_str()), (80, "/"));
        assert_eq!(url.host_header(), "crl.contoso.test");
        let url = HttpUrl::parse("http://[2001:db8::1]:81/x").expect("url");
        assert_eq!((url.host.as_str(), url.port), ("2001:db8::1", 81));
        assert_eq!(url.host_header(), "[2001:db8::1]:81");
        for bad in [
            "https://a/x",
            "ldap://a/x",
            "http:///x",
            "http://a:0/x",
            "http://a:99999/x",
            "http://u@a/x",
            "http://a/x y",
            "http://[::1/x",
        ] {
            assert!(HttpUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
