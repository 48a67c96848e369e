//! A small SDP reader (RFC 4566) for what the A/V call checks judge: each
//! media section's `m=` line (media, port, transport protocol, formats), its
//! connection address, its ICE candidates (RFC 5245 §15.1 `a=candidate`
//! grammar) and its other attributes. It reads; it never rewrites, so the
//! checks compare the bytes the SUT forwarded with the bytes sent.
//!
//! Lync's own MS-ICE candidate format (the older "ICE draft 6" lines) is
//! not parsed; such lines are kept as attributes and show up as
//! "no candidates" in a verdict reason rather than as a parse error.

use std::net::{IpAddr, SocketAddr};

/// Why text is not SDP this reader can judge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("line {line} {text:?} is not `<type>=<value>` (RFC 4566 §5)")]
    NotTypeValue { line: usize, text: String },
    #[error("the first line is not v=0 (RFC 4566 §5.1)")]
    NoVersion,
    #[error("m= line {line} {text:?} is not `media port proto fmt...` (RFC 4566 §5.14)")]
    BadMedia { line: usize, text: String },
    #[error("a=candidate line {line} {text:?} does not follow the RFC 5245 §15.1 grammar ({why})")]
    BadCandidate {
        line: usize,
        text: String,
        why: &'static str,
    },
}

/// A candidate type (RFC 5245 §15.1 `cand-type`); open, so an unexpected
/// one is reported rather than refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateType {
    Host,
    ServerReflexive,
    PeerReflexive,
    Relayed,
    Other(String),
}

impl CandidateType {
    fn from_token(token: &str) -> Self {
        match token {
            "host" => Self::Host,
            "srflx" => Self::ServerReflexive,
            "prflx" => Self::PeerReflexive,
            "relay" => Self::Relayed,
            other => Self::Other(other.to_owned()),
        }
    }
}

/// One `a=candidate` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub foundation: String,
    pub component: u16,
    pub transport: String,
    pub priority: u32,
    /// The connection address as written (an IP address or an FQDN).
    pub address: String,
    pub port: u16,
    pub kind: CandidateType,
    /// `raddr`/`rport`, when given.
    pub related: Option<(String, u16)>,
}

impl Candidate {
    /// The candidate's transport address, when its address is an IP literal.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        let ip: IpAddr = self.address.parse().ok()?;
        Some(SocketAddr::new(ip, self.port))
    }

    /// Parses the value after `a=candidate:`.
    fn parse(value: &str, line: usize) -> Result<Self, SdpError> {
        let bad = |why| SdpError::BadCandidate {
            line,
            text: format!("a=candidate:{value}"),
            why,
        };
        let fields: Vec<&str> = value.split_ascii_whitespace().collect();
        let [
            foundation,
            component,
            transport,
            priority,
            address,
            port,
            typ,
            kind,
            rest @ ..,
        ] = fields.as_slice()
        else {
            return Err(bad("fewer than eight fields"));
        };
        if *typ != "typ" {
            return Err(bad("the seventh field is not `typ`"));
        }
        let component = component.parse().map_err(|_| bad("component id"))?;
        let priority = priority.parse().map_err(|_| bad("priority"))?;
        let port = port.parse().map_err(|_| bad("port"))?;
        let mut raddr = None;
        let mut rport = None;
        for pair in rest.chunks(2) {
            match pair {
                ["raddr", a] => raddr = Some((*a).to_owned()),
                ["rport", p] => rport = Some(p.parse().map_err(|_| bad("rport"))?),
                _ => {}
            }
        }
        Ok(Self {
            foundation: (*foundation).to_owned(),
            component,
            transport: (*transport).to_owned(),
            priority,
            address: (*address).to_owned(),
            port,
            kind: CandidateType::from_token(kind),
            related: raddr.zip(rport),
        })
    }
}

/// One media section: its `m=` line and what follows up to the next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSection {
    pub media: String,
    pub port: u16,
    /// `RTP/AVP`, `RTP/SAVP`, ...
    pub proto: String,
    pub formats: Vec<String>,
    /// The section's `c=` address, or the session's when it has none.
    pub connection: Option<String>,
    pub candidates: Vec<Candidate>,
    /// Other `a=` lines, without the `a=`.
    pub attributes: Vec<String>,
}

impl MediaSection {
    /// Whether an `a=<name>` or `a=<name>:...` attribute is present.
    pub fn has_attribute(&self, name: &str) -> bool {
        self.attributes.iter().any(|a| {
            a == name
                || a.strip_prefix(name)
                    .is_some_and(|rest| rest.starts_with(':'))
        })
    }
}

/// A parsed session description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sdp {
    pub media: Vec<MediaSection>,
}

impl Sdp {
    /// Parses SDP text (CRLF or LF line ends; an empty trailing line is fine).
    pub fn parse(text: &str) -> Result<Self, SdpError> {
        let mut session_connection = None;
        let mut media: Vec<MediaSection> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let raw = raw.trim_end_matches('\r');
            if raw.is_empty() {
                continue;
            }
            let Some((kind, value)) = raw.split_once('=').filter(|(k, _)| k.len() == 1) else {
                return Err(SdpError::NotTypeValue {
                    line,
                    text: raw.to_owned(),
                });
            };
            if line == 1 && (kind, value) != ("v", "0") {
                return Err(SdpError::NoVersion);
            }
            match (kind, media.last_mut()) {
                ("c", section) => {
                    // c=<nettype> <addrtype> <address>
                    let address = value.split_ascii_whitespace().nth(2).map(str::to_owned);
                    match section {
                        Some(section) => section.connection = address,
                        None => session_connection = address,
                    }
                }
                ("m", _) => {
                    let fields: Vec<&str> = value.split_ascii_whitespace().collect();
                    let bad = || SdpError::BadMedia {
                        line,
                        text: raw.to_owned(),
                    };
                    let [name, port, proto, formats @ ..] = fields.as_slice() else {
                        return Err(bad());
                    };
                    // `port/count` is allowed; the count does not matter here.
                    let port = port.split('/').next().unwrap_or_default();
                    media.push(MediaSection {
                        media: (*name).to_owned(),
                        port: port.parse().map_err(|_| bad())?,
                        proto: (*proto).to_owned(),
                        formats: formats.iter().map(|f| (*f).to_owned()).collect(),
                        connection: session_connection.clone(),
                        candidates: Vec::new(),
                        attributes: Vec::new(),
                    });
                }
                ("a", Some(section)) => match value.strip_prefix("candidate:") {
                    Some(candidate) => section.candidates.push(Candidate::parse(candidate, line)?),
                    None => section.attributes.push(value.to_owned()),
                },
                _ => {}
            }
        }
        if media.is_empty() && session_connection.is_none() && text.trim().is_empty() {
            return Err(SdpError::NoVersion);
        }
        Ok(Self { media })
    }

    /// The first media section of this kind (`audio`, `video`, ...).
    pub fn section(&self, media: &str) -> Option<&MediaSection> {
        self.media.iter().find(|m| m.media == media)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An audio offer with a host and a relayed candidate (RFC 5245 §15.1
    /// grammar; addresses from the documentation ranges of RFC 5737).
    const OFFER: &[u8] = b"v=0\r\n\
o=- 1 1 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 50123 RTP/AVP 0 101\r\n\
c=IN IP4 203.0.113.12\r\n\
a=rtpmap:0 PCMU/8000\r\n\
a=candidate:1 1 UDP 2130706431 192.0.2.10 40000 typ host\r\n\
a=candidate:2 1 UDP 16777215 203.0.113.12 50123 typ relay raddr 192.0.2.10 rport 40000\r\n\
a=sendrecv\r\n";

    #[test]
    fn an_audio_offer_with_host_and_relay_candidates() {
        let sdp = Sdp::parse(std::str::from_utf8(OFFER).unwrap()).unwrap();
        let audio = sdp.section("audio").unwrap();
        assert_eq!(
            (audio.port, audio.proto.as_str(), audio.formats.clone()),
            (50123, "RTP/AVP", vec!["0".to_owned(), "101".to_owned()])
        );
        assert_eq!(audio.connection.as_deref(), Some("203.0.113.12"));
        assert_eq!(audio.candidates.len(), 2);
        let relay = &audio.candidates[1];
        assert_eq!(relay.kind, CandidateType::Relayed);
        assert_eq!(relay.priority, 16_777_215);
        assert_eq!(
            relay.socket_addr(),
            Some("203.0.113.12:50123".parse().unwrap())
        );
        assert_eq!(relay.related, Some(("192.0.2.10".to_owned(), 40000)));
        assert_eq!(audio.candidates[0].kind, CandidateType::Host);
        assert!(audio.has_attribute("rtpmap"));
        assert!(audio.has_attribute("sendrecv"));
        assert!(!audio.has_attribute("crypto"));
    }

    #[test]
    fn the_session_connection_applies_to_sections_without_their_own() {
        let sdp = Sdp::parse("v=0\nc=IN IP4 192.0.2.1\nm=message 5061 sip null\n").unwrap();
        assert_eq!(sdp.media[0].connection.as_deref(), Some("192.0.2.1"));
        assert_eq!(sdp.section("audio"), None);
    }

    #[test]
    fn malformed_lines_are_errors_naming_the_line() {
        assert_eq!(Sdp::parse("o=- 0 0\n"), Err(SdpError::NoVersion));
        assert!(matches!(
            Sdp::parse("v=0\nm=audio\n"),
            Err(SdpError::BadMedia { line: 2, .. })
        ));
        assert!(matches!(
            Sdp::parse("v=0\nm=audio 1 RTP/AVP 0\na=candidate:1 1 UDP 9 192.0.2.1 7 type host\n"),
            Err(SdpError::BadCandidate { line: 3, .. })
        ));
        assert!(matches!(
            Sdp::parse("v=0\nnot sdp\n"),
            Err(SdpError::NotTypeValue { line: 2, .. })
        ));
        // Unknown candidate types are kept, not refused.
        let sdp =
            Sdp::parse("v=0\nm=audio 1 RTP/AVP 0\na=candidate:1 1 UDP 9 192.0.2.1 7 typ odd\n")
                .unwrap();
        assert_eq!(
            sdp.media[0].candidates[0].kind,
            CandidateType::Other("odd".to_owned())
        );
    }
}
