//! Whether a text is a DNS host name a certificate or a zone can carry
//! (RFC 1035 §2.3.1 and §2.3.4, with digits allowed first as RFC 1123
//! permits): labels of letters, digits and hyphens, no hyphen at either end,
//! at most 63 octets each, at most 253 octets in all.

/// The longest label (RFC 1035 §2.3.4).
pub const MAX_LABEL: usize = 63;
/// The longest name in text form without the final dot (255 octets on the
/// wire, RFC 1035 §2.3.4).
pub const MAX_NAME: usize = 253;

/// What is wrong with `name` as a DNS host name, or `None` when it is one
/// (a single final dot is allowed).
pub fn dns_name_problem(name: &str) -> Option<String> {
    let bare = name.strip_suffix('.').unwrap_or(name);
    if bare.is_empty() {
        return Some("a DNS name cannot be empty".to_owned());
    }
    if bare.len() > MAX_NAME {
        return Some(format!(
            "a DNS name is at most {MAX_NAME} characters (RFC 1035 §2.3.4); this one has {}",
            bare.len()
        ));
    }
    for label in bare.split('.') {
        if label.is_empty() {
            return Some(format!("{name:?} has an empty label (two dots in a row?)"));
        }
        if label.len() > MAX_LABEL {
            return Some(format!(
                "a DNS label is at most {MAX_LABEL} characters (RFC 1035 §2.3.4); one has {}",
                label.len()
            ));
        }
        if let Some(bad) = label
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '-'))
        {
            return Some(format!(
                "{name:?} holds {bad:?}; a DNS label has letters, digits and hyphens only (RFC 1035 §2.3.1)"
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Some(format!(
                "{name:?} has a label that starts or ends with a hyphen (RFC 1035 §2.3.1)"
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::dns_name_problem;

    #[test]
    fn accepts_host_names_and_names_what_is_wrong_with_the_rest() {
        for good in ["sip.contoso.com", "SIP.Contoso.com.", "a-1.b2", "localhost"] {
            assert_eq!(dns_name_problem(good), None, "{good}");
        }
        let long_label = format!("{}.com", "a".repeat(64));
        let long_name = ["abcdefghij"; 24].join(".");
        for (bad, says) in [
            ("bad fqdn!", "letters, digits and hyphens"),
            ("", "cannot be empty"),
            (".", "cannot be empty"),
            ("a..b", "empty label"),
            ("-a.com", "hyphen"),
            (long_label.as_str(), "at most 63"),
            (long_name.as_str(), "at most 253"),
        ] {
            let problem = dns_name_problem(bad).unwrap_or_default();
            assert!(problem.contains(says), "{bad:?}: {problem:?}");
        }
        assert!(dns_name_problem(&"x".repeat(70_000)).is_some());
    }
}
