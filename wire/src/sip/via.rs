//! The Via header value (RFC 3261 §20.42): sent-protocol, sent-by and
//! parameters, with the linear white space the grammar allows around `/`,
//! `:`, `;` and `=`.

use std::fmt;

use super::params::{Param, find_param, parse_params_lenient, write_params};
use super::syntax::{split_outside_quotes, strip_lws};
use super::uri::split_host_port;
use crate::text::excerpt;

/// The magic cookie that starts every RFC 3261 branch (§8.1.1.7).
pub const BRANCH_MAGIC_COOKIE: &str = "z9hG4bK";

/// One Via value (a Via header line may hold several, comma-separated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// `SIP` in every message this product handles.
    pub protocol: String,
    /// `2.0`.
    pub version: String,
    /// `UDP`, `TCP`, `TLS`, `SCTP` or an extension token.
    pub transport: String,
    /// Host, IPv6 references without brackets.
    pub host: String,
    pub port: Option<u16>,
    pub params: Vec<Param>,
}

/// Why a Via value could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViaError {
    #[error("sent-protocol is not protocol/version/transport")]
    Protocol,
    #[error("has no sent-by host")]
    NoHost,
    #[error("sent-by {0:?} is not host[:port]")]
    SentBy(String),
}

impl Via {
    pub fn parse(value: &str) -> Result<Self, ViaError> {
        let pieces = split_outside_quotes(value, ';');
        let head = pieces.first().copied().unwrap_or_default();
        let mut slash = head.splitn(3, '/');
        let protocol = slash.next().map(str::trim).unwrap_or_default();
        let version = slash.next().map(str::trim).ok_or(ViaError::Protocol)?;
        let rest = slash.next().ok_or(ViaError::Protocol)?.trim_start();
        let transport_end = rest
            .find(|c: char| c.is_ascii_whitespace())
            .unwrap_or(rest.len());
        let transport = &rest[..transport_end];
        let sent_by = strip_lws(&rest[transport_end..]);
        if protocol.is_empty() || version.is_empty() || transport.is_empty() {
            return Err(ViaError::Protocol);
        }
        if sent_by.is_empty() {
            return Err(ViaError::NoHost);
        }
        let (host, port) =
            split_host_port(&sent_by).ok_or_else(|| ViaError::SentBy(excerpt(&sent_by)))?;
        if host.is_empty() {
            return Err(ViaError::NoHost);
        }
        let params = pieces
            .get(1..)
            .map(|p| parse_params_lenient(&p.join(";")))
            .unwrap_or_default();
        Ok(Self {
            protocol: protocol.to_owned(),
            version: version.to_owned(),
            transport: transport.to_owned(),
            host: host.to_ascii_lowercase(),
            port,
            params,
        })
    }

    /// A Via for this transport, host and port with the given branch.
    pub fn new(transport: &str, host: &str, port: Option<u16>, branch: &str) -> Self {
        Self {
            protocol: "SIP".to_owned(),
            version: "2.0".to_owned(),
            transport: transport.to_owned(),
            host: host.to_owned(),
            port,
            params: vec![("branch".to_owned(), Some(branch.to_owned()))],
        }
    }

    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }

    /// Whether the branch carries the RFC 3261 magic cookie (§8.1.1.7).
    pub fn has_rfc3261_branch(&self) -> bool {
        self.branch()
            .is_some_and(|b| b.starts_with(BRANCH_MAGIC_COOKIE))
    }

    /// `host[:port]` as the transaction layer compares it (§17.2.3).
    pub fn sent_by(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        match self.port {
            Some(p) => format!("{host}:{p}"),
            None => host,
        }
    }
}

impl fmt::Display for Via {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{} {}",
            self.protocol,
            self.version,
            self.transport,
            self.sent_by()
        )?;
        let mut params = String::new();
        write_params(&self.params, &mut params);
        f.write_str(&params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerates_lws_inside_sent_protocol() {
        let v = Via::parse("SIP  /   2.0 /UDP     192.0.2.2;branch=390skdjuw").expect("via");
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.host, "192.0.2.2");
        assert_eq!(v.branch(), Some("390skdjuw"));
        assert!(!v.has_rfc3261_branch());
        let w = Via::parse("SIP  /    2.0   / UDP  192.168.255.111   ; branch= z9hG4bK30239")
            .expect("via");
        assert_eq!(w.branch(), Some("z9hG4bK30239"));
        assert!(w.has_rfc3261_branch());
    }

    #[test]
    fn ipv6_sent_by_and_received() {
        let v = Via::parse(
            "SIP/2.0/UDP [2001:db8::9:1]:6050;received=2001:db8::9:255;branch=z9hG4bKas3",
        )
        .expect("via");
        assert_eq!(v.host, "2001:db8::9:1");
        assert_eq!(v.port, Some(6050));
        assert_eq!(v.param("received"), Some(Some("2001:db8::9:255")));
        assert_eq!(v.sent_by(), "[2001:db8::9:1]:6050");
    }

    #[test]
    fn emits_and_reparses() {
        let v = Via::new("TLS", "sip.contoso.test", Some(5061), "z9hG4bK-1");
        assert_eq!(
            v.to_string(),
            "SIP/2.0/TLS sip.contoso.test:5061;branch=z9hG4bK-1"
        );
        assert_eq!(Via::parse(&v.to_string()), Ok(v));
    }

    #[test]
    fn rejects_missing_parts() {
        assert_eq!(Via::parse("SIP/2.0 host"), Err(ViaError::Protocol));
        assert_eq!(Via::parse("SIP/2.0/UDP ;branch=x"), Err(ViaError::NoHost));
        assert!(matches!(
            Via::parse("SIP/2.0/UDP [::1"),
            Err(ViaError::SentBy(_))
        ));
    }
}
