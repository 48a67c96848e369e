//! SIP URIs (RFC 3261 §19.1) and name-addr values (RFC 3261 §25.1), enough to
//! route by user and host and to read tags.

/// A `sip:` or `sips:` URI split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    pub scheme: String,
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// URI parameters in order, `(name, value)`; value is `None` for flags such as `lr`.
    pub params: Vec<(String, Option<String>)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("URI {0:?} does not start with sip: or sips:")]
    Scheme(String),
    #[error("URI {0:?} has no host")]
    NoHost(String),
    #[error("URI {0:?} has a port that is not a number from 0 to 65535")]
    Port(String),
}

impl SipUri {
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let text = text.trim();
        let (scheme, rest) = text
            .split_once(':')
            .filter(|(s, _)| s.eq_ignore_ascii_case("sip") || s.eq_ignore_ascii_case("sips"))
            .ok_or_else(|| UriError::Scheme(text.to_owned()))?;
        let rest = rest.split_once('?').map_or(rest, |(r, _)| r);
        let (user, hostport_params) = match rest.rsplit_once('@') {
            Some((u, h)) => (Some(u.to_owned()), h),
            None => (None, rest),
        };
        let mut pieces = hostport_params.split(';');
        let hostport = pieces.next().unwrap_or_default();
        let (host, port) =
            split_host_port(hostport).ok_or_else(|| UriError::Port(text.to_owned()))?;
        if host.is_empty() {
            return Err(UriError::NoHost(text.to_owned()));
        }
        let params = pieces
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                None => (p.to_owned(), None),
            })
            .collect();
        Ok(Self {
            scheme: scheme.to_ascii_lowercase(),
            user,
            host: host.to_ascii_lowercase(),
            port,
            params,
        })
    }

    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }
}

fn split_host_port(hostport: &str) -> Option<(&str, Option<u16>)> {
    if let Some(rest) = hostport.strip_prefix('[') {
        let (addr, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((addr, port));
    }
    match hostport.rsplit_once(':') {
        Some((h, p)) => Some((h, Some(p.parse().ok()?))),
        None => Some((hostport, None)),
    }
}

/// A From/To/Contact/Route value: optional display name, the URI, and the
/// header parameters after it (such as `tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub display: Option<String>,
    pub uri: String,
    pub params: Vec<(String, Option<String>)>,
}

impl NameAddr {
    /// Parses `"Name" <uri>;p=v` or the bare addr-spec form `uri;p=v`.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (display, uri, after) = if let Some(open) = text.find('<') {
            let close = text[open..].find('>')? + open;
            let display = text[..open].trim().trim_matches('"').trim();
            (
                (!display.is_empty()).then(|| display.to_owned()),
                text[open + 1..close].to_owned(),
                &text[close + 1..],
            )
        } else {
            let (uri, after) = text.split_once(';').unwrap_or((text, ""));
            (None, uri.to_owned(), after)
        };
        let params = after
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| match p.split_once('=') {
                Some((k, v)) => (k.trim().to_owned(), Some(v.trim().to_owned())),
                None => (p.to_owned(), None),
            })
            .collect();
        Some(Self {
            display,
            uri,
            params,
        })
    }

    pub fn tag(&self) -> Option<&str> {
        self.params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("tag"))
            .and_then(|(_, v)| v.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_user_host_port_params() {
        let u = SipUri::parse("sip:alice@Hotmail.com:5061;transport=tls;lr").expect("uri");
        assert_eq!(u.user.as_deref(), Some("alice"));
        assert_eq!(u.host, "hotmail.com");
        assert_eq!(u.port, Some(5061));
        assert_eq!(u.param("transport"), Some(Some("tls")));
        assert_eq!(u.param("lr"), Some(None));
    }

    #[test]
    fn parses_ipv6_reference() {
        let u = SipUri::parse("sip:[2001:db8::10]:5070").expect("uri");
        assert_eq!(u.host, "2001:db8::10");
        assert_eq!(u.port, Some(5070));
    }

    #[test]
    fn rejects_other_schemes() {
        assert!(matches!(
            SipUri::parse("tel:+1234"),
            Err(UriError::Scheme(_))
        ));
    }

    #[test]
    fn name_addr_with_tag() {
        let n = NameAddr::parse("\"Alice\" <sip:alice@hotmail.com>;tag=88a").expect("name-addr");
        assert_eq!(n.display.as_deref(), Some("Alice"));
        assert_eq!(n.uri, "sip:alice@hotmail.com");
        assert_eq!(n.tag(), Some("88a"));
        let bare = NameAddr::parse("sip:bob@contoso.test;tag=1").expect("addr-spec");
        assert_eq!(bare.uri, "sip:bob@contoso.test");
        assert_eq!(bare.tag(), Some("1"));
    }
}
