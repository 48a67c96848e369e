//! Ordered, case-preserving header storage with compact-form aware lookup.

/// One header line as it arrived: the name with its original casing and the
/// value with surrounding whitespace trimmed and folded lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub name: String,
    pub value: String,
}

/// The headers of a message, in arrival order. Lookups ignore case and treat
/// the RFC 3261 §7.3.3 compact forms as their long names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<Header>);

/// Maps a header name to its canonical long form in lower case, expanding
/// the compact forms of RFC 3261 §7.3.3 and RFC 3265/3515/3892/4028/3841/4474 extensions.
pub fn canonical_header_name(name: &str) -> String {
    match compact_long_form(name) {
        Some(long) => long.to_owned(),
        None => name.to_ascii_lowercase(),
    }
}

/// The long form of a one-letter compact header name.
fn compact_long_form(name: &str) -> Option<&'static str> {
    let [letter] = name.as_bytes() else {
        return None;
    };
    Some(match letter.to_ascii_lowercase() {
        b'i' => "call-id",
        b'm' => "contact",
        b'e' => "content-encoding",
        b'l' => "content-length",
        b'c' => "content-type",
        b'f' => "from",
        b's' => "subject",
        b'k' => "supported",
        b't' => "to",
        b'v' => "via",
        b'o' => "event",
        b'r' => "refer-to",
        b'u' => "allow-events",
        b'b' => "referred-by",
        b'x' => "session-expires",
        b'a' => "accept-contact",
        b'j' => "reject-contact",
        b'd' => "request-disposition",
        b'y' => "identity",
        b'n' => "identity-info",
        _ => return None,
    })
}

/// Whether a header name as written means `canonical` (a lower-case long
/// name), without allocating.
pub(crate) fn name_is(name: &str, canonical: &str) -> bool {
    match compact_long_form(name) {
        Some(long) => long == canonical,
        None => name.eq_ignore_ascii_case(canonical),
    }
}

impl Headers {
    pub fn new() -> Self {
        Self(Vec::new())
    }

    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn matches(header: &Header, canonical: &str) -> bool {
        name_is(&header.name, canonical)
    }

    /// The first value of the named header.
    pub fn first(&self, name: &str) -> Option<&str> {
        let canonical = canonical_header_name(name);
        self.0
            .iter()
            .find(|h| Self::matches(h, &canonical))
            .map(|h| h.value.as_str())
    }

    /// Every value of the named header, splitting comma-separated lists of
    /// the headers RFC 3261 §7.3.1 allows to be combined.
    pub fn values(&self, name: &str) -> Vec<&str> {
        let canonical = canonical_header_name(name);
        let splittable = matches!(
            canonical.as_str(),
            "via" | "route" | "record-route" | "contact" | "allow" | "supported" | "require"
        );
        let mut out = Vec::new();
        for header in self.0.iter().filter(|h| Self::matches(h, &canonical)) {
            if splittable {
                out.extend(split_list(&header.value));
            } else {
                out.push(header.value.as_str());
            }
        }
        out
    }

    /// Number of header lines carrying this name.
    pub fn count(&self, name: &str) -> usize {
        let canonical = canonical_header_name(name);
        self.0
            .iter()
            .filter(|h| Self::matches(h, &canonical))
            .count()
    }

    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push(Header {
            name: name.into(),
            value: value.into(),
        });
    }

    /// Inserts a header line above the first line of the same name, or at
    /// the top when there is none (how a proxy adds Via and Record-Route).
    pub fn prepend(&mut self, name: &str, value: impl Into<String>) {
        let canonical = canonical_header_name(name);
        let at = self
            .0
            .iter()
            .position(|h| Self::matches(h, &canonical))
            .unwrap_or(0);
        self.0.insert(
            at,
            Header {
                name: name.to_owned(),
                value: value.into(),
            },
        );
    }

    /// Replaces the first line of this name, or appends one.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let canonical = canonical_header_name(name);
        match self.0.iter_mut().find(|h| Self::matches(h, &canonical)) {
            Some(h) => h.value = value.into(),
            None => self.push(name, value),
        }
    }

    /// Removes every line of this name.
    pub fn remove_all(&mut self, name: &str) {
        let canonical = canonical_header_name(name);
        self.0.retain(|h| !Self::matches(h, &canonical));
    }

    /// Removes the topmost value of a possibly comma-combined header and
    /// returns it (how a proxy pops its own Via from a response).
    pub fn pop_first_value(&mut self, name: &str) -> Option<String> {
        let canonical = canonical_header_name(name);
        let index = self.0.iter().position(|h| Self::matches(h, &canonical))?;
        let parts = split_list(&self.0[index].value);
        let first = parts.first().map(|s| (*s).to_owned())?;
        let rest: Vec<&str> = parts.into_iter().skip(1).collect();
        if rest.is_empty() {
            self.0.remove(index);
        } else {
            self.0[index].value = rest.join(", ");
        }
        Some(first)
    }
}

/// Splits a header value on commas that are outside quotes and angle
/// brackets.
pub(crate) fn split_list(value: &str) -> Vec<&str> {
    crate::sip::syntax::split_outside_quotes(value, ',')
        .into_iter()
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_forms_resolve_to_long_names() {
        let mut h = Headers::new();
        h.push("v", "SIP/2.0/TLS a;branch=z9hG4bK1");
        h.push("i", "abc");
        assert_eq!(h.first("Via"), Some("SIP/2.0/TLS a;branch=z9hG4bK1"));
        assert_eq!(h.first("call-id"), Some("abc"));
    }

    #[test]
    fn list_values_split_outside_quotes_and_brackets() {
        let mut h = Headers::new();
        h.push("Record-Route", "<sip:a;lr>, <sip:b,c;lr>");
        h.push("Record-Route", "<sip:d;lr>");
        assert_eq!(
            h.values("record-route"),
            vec!["<sip:a;lr>", "<sip:b,c;lr>", "<sip:d;lr>"]
        );
    }

    #[test]
    fn prepend_goes_above_existing_line() {
        let mut h = Headers::new();
        h.push("To", "x");
        h.push("Via", "old");
        h.prepend("Via", "new");
        assert_eq!(h.values("via"), vec!["new", "old"]);
    }

    #[test]
    fn pop_first_value_of_combined_header() {
        let mut h = Headers::new();
        h.push("Via", "a, b");
        assert_eq!(h.pop_first_value("via").as_deref(), Some("a"));
        assert_eq!(h.values("via"), vec!["b"]);
        assert_eq!(h.pop_first_value("via").as_deref(), Some("b"));
        assert_eq!(h.count("via"), 0);
    }
}
