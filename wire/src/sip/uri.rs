//! URIs: SIP and SIPS (RFC 3261 §19.1) with parameters, headers,
//! %-escapes and IPv6 references (RFC 5118), tel URIs (RFC 3966), and the
//! name-addr / addr-spec values of From, To, Contact and Route
//! (RFC 3261 §20.10, §25.1). Parsing here is lenient; the validator judges
//! the grammar (see `validate`).

use std::fmt;

use super::params::{Param, find_param, parse_params_lenient, write_params};
use crate::text::excerpt;

/// A `sip:` or `sips:` URI split into its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    pub scheme: String,
    /// The userinfo before `@` as written (user, and `:password` if any),
    /// still %-escaped.
    pub user: Option<String>,
    /// Host in lower case, IPv6 references without their brackets.
    pub host: String,
    pub port: Option<u16>,
    /// URI parameters in order, `(name, value)`; value is `None` for flags such as `lr`.
    pub params: Vec<(String, Option<String>)>,
    /// URI headers after `?`, in order, still %-escaped.
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    #[error("URI {0:?} does not start with sip: or sips:")]
    Scheme(String),
    #[error("URI {0:?} has no host")]
    NoHost(String),
    #[error("URI {0:?} has a port that is not a number from 0 to 65535")]
    Port(String),
    #[error("URI {0:?} is not a tel URI with a number (RFC 3966 §3)")]
    Tel(String),
}

/// The parts of a SIP URI as written, before any judgement: used by the
/// validator to check each part against the grammar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SipUriParts<'a> {
    pub(crate) scheme: &'a str,
    pub(crate) userinfo: Option<&'a str>,
    pub(crate) hostport: &'a str,
    pub(crate) params: Option<&'a str>,
    pub(crate) headers: Option<&'a str>,
}

/// Cuts a SIP URI into its parts without judging them.
pub(crate) fn split_sip_uri(text: &str) -> Option<SipUriParts<'_>> {
    let (scheme, rest) = text.split_once(':')?;
    if !(scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")) {
        return None;
    }
    // The user part may hold `?`, `;` and `/` but never an unescaped `@`.
    let (userinfo, rest) = match rest.split_once('@') {
        Some((u, r)) => (Some(u), r),
        None => (None, rest),
    };
    let (rest, headers) = match rest.split_once('?') {
        Some((r, h)) => (r, Some(h)),
        None => (rest, None),
    };
    let (hostport, params) = match rest.split_once(';') {
        Some((h, p)) => (h, Some(p)),
        None => (rest, None),
    };
    Some(SipUriParts {
        scheme,
        userinfo,
        hostport,
        params,
        headers,
    })
}

impl SipUri {
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let text = text.trim();
        let parts = split_sip_uri(text).ok_or_else(|| UriError::Scheme(excerpt(text)))?;
        let (host, port) =
            split_host_port(parts.hostport).ok_or_else(|| UriError::Port(excerpt(text)))?;
        if host.is_empty() {
            return Err(UriError::NoHost(excerpt(text)));
        }
        let headers = parts
            .headers
            .map(|h| {
                h.split('&')
                    .filter(|p| !p.is_empty())
                    .map(|p| match p.split_once('=') {
                        Some((k, v)) => (k.to_owned(), v.to_owned()),
                        None => (p.to_owned(), String::new()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self {
            scheme: parts.scheme.to_ascii_lowercase(),
            user: parts.userinfo.map(str::to_owned),
            host: host.to_ascii_lowercase(),
            port,
            params: parts.params.map(parse_params_lenient).unwrap_or_default(),
            headers,
        })
    }

    /// A URI with just a scheme-less `sip:` user and host.
    pub fn new(user: Option<&str>, host: &str) -> Self {
        Self {
            scheme: "sip".to_owned(),
            user: user.map(str::to_owned),
            host: host.to_ascii_lowercase(),
            port: None,
            params: Vec::new(),
            headers: Vec::new(),
        }
    }

    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// The user part with %-escapes decoded (RFC 3261 §19.1.4), without the
    /// password.
    pub fn user_unescaped(&self) -> Option<Vec<u8>> {
        let user = self.user.as_deref()?;
        let user = user.split_once(':').map_or(user, |(u, _)| u);
        Some(super::syntax::unescape(user))
    }

    /// Whether the `lr` parameter marks this as a loose router (RFC 3261 §19.1.1).
    pub fn is_loose_router(&self) -> bool {
        self.param("lr").is_some()
    }
}

impl fmt::Display for SipUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.scheme)?;
        if let Some(user) = &self.user {
            write!(f, "{user}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]", self.host)?;
        } else {
            f.write_str(&self.host)?;
        }
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        let mut params = String::new();
        write_params(&self.params, &mut params);
        f.write_str(&params)?;
        for (i, (k, v)) in self.headers.iter().enumerate() {
            write!(f, "{}{k}={v}", if i == 0 { '?' } else { '&' })?;
        }
        Ok(())
    }
}

/// Splits `host[:port]`, keeping IPv6 references whole. `None` when the
/// port is not a number in range or the brackets do not close.
pub(crate) fn split_host_port(hostport: &str) -> Option<(&str, Option<u16>)> {
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

/// A tel URI (RFC 3966): the number and its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelUri {
    /// The number as written: global (`+` then digits and visual
    /// separators) or local (needs a `phone-context` parameter).
    pub number: String,
    pub params: Vec<Param>,
}

impl TelUri {
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let text = text.trim();
        let bad = || UriError::Tel(excerpt(text));
        let (scheme, rest) = text.split_once(':').ok_or_else(bad)?;
        if !scheme.eq_ignore_ascii_case("tel") {
            return Err(bad());
        }
        let (number, params) = rest.split_once(';').unwrap_or((rest, ""));
        let params = parse_params_lenient(params);
        let digits = number.strip_prefix('+').unwrap_or(number);
        let visual = |c: char| matches!(c, '-' | '.' | '(' | ')');
        let global = number.starts_with('+');
        let ok_char = |c: char| {
            c.is_ascii_digit()
                || visual(c)
                || (!global && (c.is_ascii_hexdigit() || "*#".contains(c)))
        };
        if !digits
            .chars()
            .any(|c| c.is_ascii_hexdigit() || "*#".contains(c))
            || !digits.chars().all(ok_char)
            || (!global && find_param(&params, "phone-context").is_none())
        {
            return Err(bad());
        }
        Ok(Self {
            number: number.to_owned(),
            params,
        })
    }

    /// The number with visual separators removed.
    pub fn digits(&self) -> String {
        self.number
            .chars()
            .filter(|c| !matches!(c, '-' | '.' | '(' | ')'))
            .collect()
    }
}

impl fmt::Display for TelUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut params = String::new();
        write_params(&self.params, &mut params);
        write!(f, "tel:{}{params}", self.number)
    }
}

/// A From/To/Contact/Route value: optional display name, the URI, and the
/// header parameters after it (such as `tag`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    /// The display name without its surrounding quotes; quoted-pair
    /// escapes are kept as written so emission reproduces them.
    pub display: Option<String>,
    pub uri: String,
    pub params: Vec<(String, Option<String>)>,
}

impl NameAddr {
    /// Parses `"Name" <uri>;p=v` or the bare addr-spec form `uri;p=v`. In
    /// the addr-spec form every `;` starts a header parameter (RFC 3261
    /// §20.10), so URI parameters need the angle brackets.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let (display, uri, after) = match find_laquot(text) {
            Some(open) => {
                let close = text[open..].find('>')? + open;
                let display = text[..open].trim();
                let display = display
                    .strip_prefix('"')
                    .and_then(|d| d.strip_suffix('"'))
                    .unwrap_or(display);
                (
                    (!display.is_empty()).then(|| display.to_owned()),
                    text[open + 1..close].trim().to_owned(),
                    &text[close + 1..],
                )
            }
            None => {
                let (uri, after) = text.split_once(';').unwrap_or((text, ""));
                (None, uri.trim().to_owned(), after)
            }
        };
        Some(Self {
            display,
            uri,
            params: parse_params_lenient(after),
        })
    }

    /// Builds `<uri>` with no display name or parameters.
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            display: None,
            uri: uri.into(),
            params: Vec::new(),
        }
    }

    pub fn tag(&self) -> Option<&str> {
        self.param("tag").flatten()
    }

    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        find_param(&self.params, name)
    }

    /// Sets or replaces a header parameter.
    pub fn set_param(&mut self, name: &str, value: Option<&str>) {
        let value = value.map(str::to_owned);
        match self
            .params
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some(p) => p.1 = value,
            None => self.params.push((name.to_owned(), value)),
        }
    }
}

/// Finds the `<` that opens the URI, skipping a quoted display name.
pub(crate) fn find_laquot(text: &str) -> Option<usize> {
    let mut quoted = false;
    let mut escaped = false;
    for (i, ch) in text.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match ch {
            '\\' if quoted => escaped = true,
            '"' => quoted = !quoted,
            '<' if !quoted => return Some(i),
            _ => {}
        }
    }
    None
}

impl fmt::Display for NameAddr {
    /// Always the name-addr form, quoting the display name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(display) = &self.display {
            write!(f, "\"{display}\" ")?;
        }
        write!(f, "<{}>", self.uri)?;
        let mut params = String::new();
        write_params(&self.params, &mut params);
        f.write_str(&params)
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
        assert!(u.is_loose_router());
    }

    #[test]
    fn parses_ipv6_reference() {
        let u = SipUri::parse("sip:[2001:db8::10]:5070").expect("uri");
        assert_eq!(u.host, "2001:db8::10");
        assert_eq!(u.port, Some(5070));
        let ambiguous = SipUri::parse("sip:[2001:db8::10:5070]").expect("uri");
        assert_eq!(ambiguous.host, "2001:db8::10:5070");
        assert_eq!(ambiguous.port, None);
        assert_eq!(u.to_string(), "sip:[2001:db8::10]:5070");
    }

    #[test]
    fn user_part_may_hold_reserved_characters_and_escapes() {
        let u = SipUri::parse("sip:user;par=u%40example.net@example.com").expect("uri");
        assert_eq!(u.user.as_deref(), Some("user;par=u%40example.net"));
        assert_eq!(u.host, "example.com");
        let e = SipUri::parse("sip:%75se%72@example.com").expect("uri");
        assert_eq!(e.user_unescaped().as_deref(), Some(&b"user"[..]));
        let odd = SipUri::parse("sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com").expect("uri");
        assert_eq!(odd.host, "example.com");
    }

    #[test]
    fn headers_component() {
        let u = SipUri::parse("sip:user@example.com?Route=%3Csip:example.com%3E&Subject=x")
            .expect("uri");
        assert_eq!(
            u.headers,
            vec![
                ("Route".to_owned(), "%3Csip:example.com%3E".to_owned()),
                ("Subject".to_owned(), "x".to_owned())
            ]
        );
        assert_eq!(
            u.to_string(),
            "sip:user@example.com?Route=%3Csip:example.com%3E&Subject=x"
        );
    }

    #[test]
    fn rejects_other_schemes() {
        assert!(matches!(
            SipUri::parse("tel:+1234"),
            Err(UriError::Scheme(_))
        ));
    }

    #[test]
    fn tel_uris() {
        let t = TelUri::parse("tel:+1-201-555-0123;ext=1").expect("tel");
        assert_eq!(t.digits(), "+12015550123");
        assert_eq!(t.to_string(), "tel:+1-201-555-0123;ext=1");
        assert!(TelUri::parse("tel:7042;phone-context=example.com").is_ok());
        assert!(
            TelUri::parse("tel:7042").is_err(),
            "local numbers need phone-context"
        );
        assert!(TelUri::parse("tel:+").is_err());
        assert!(TelUri::parse("sip:+1").is_err());
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
        let tricky = NameAddr::parse("\"a <b>\" <sip:c@d>").expect("quoted angle");
        assert_eq!(tricky.uri, "sip:c@d");
        assert_eq!(tricky.display.as_deref(), Some("a <b>"));
    }

    #[test]
    fn name_addr_emits_and_reparses() {
        let mut n = NameAddr::parse("Bob <sip:bob@contoso.test>").expect("name-addr");
        n.set_param("tag", Some("9"));
        let text = n.to_string();
        assert_eq!(text, "\"Bob\" <sip:bob@contoso.test>;tag=9");
        assert_eq!(NameAddr::parse(&text), Some(n));
    }
}
