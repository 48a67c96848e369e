//! Message templates: `{variable}` substitution, CRLF line ends and a
//! computed `{content_length}`.

use std::collections::BTreeMap;

/// Variables a template may use.
pub(crate) const KNOWN_VARIABLES: &[&str] = &[
    "user.lync",
    "user.peer",
    "peer.domain",
    "peer.fqdn",
    "sut.domain",
    "sut.fqdn",
    "sut.internal_fqdn",
    "local.fqdn",
    "call_id",
    "branch",
    "tag",
    "content_length",
];

/// Values for one rendering.
#[derive(Debug, Clone, Default)]
pub struct TemplateVars(BTreeMap<String, String>);

impl TemplateVars {
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        self.0.insert(name.to_owned(), value.into());
    }

    pub fn value(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// The `{name}` tokens used in `text`, in order.
pub(crate) fn variables_in(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                out.push(&after[..close]);
                rest = &after[close + 1..];
            }
            None => break,
        }
    }
    out
}

/// Substitutes variables (unknown ones are left as they are; the loader has
/// already rejected them).
pub fn substitute(text: &str, vars: &TemplateVars) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}') {
            Some(close) => {
                let name = &after[..close];
                match vars.value(name) {
                    Some(value) => out.push_str(value),
                    None => {
                        out.push('{');
                        out.push_str(name);
                        out.push('}');
                    }
                }
                rest = &after[close + 1..];
            }
            None => {
                out.push_str(&rest[open..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Renders a message template: variables substituted, lines ended with CRLF,
/// the header block closed by an empty line, `{content_length}` set to the
/// body's length in bytes.
pub fn render_message(template: &str, vars: &TemplateVars) -> Vec<u8> {
    let text = substitute(template, vars);
    let normalised = text.replace("\r\n", "\n");
    let (head, body) = match normalised.split_once("\n\n") {
        Some((head, body)) => (head.to_owned(), body.to_owned()),
        None => (normalised.trim_end_matches('\n').to_owned(), String::new()),
    };
    let body = body.replace('\n', "\r\n");
    let head = head
        .replace('\n', "\r\n")
        .replace("{content_length}", &body.len().to_string());
    let mut out = Vec::with_capacity(head.len() + body.len() + 4);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_crlf_and_content_length() {
        let mut vars = TemplateVars::default();
        vars.set("user.lync", "bob");
        let bytes = render_message(
            "MESSAGE sip:{user.lync}@x SIP/2.0\nContent-Length: {content_length}\n\nhi\n",
            &vars,
        );
        assert_eq!(
            bytes,
            b"MESSAGE sip:bob@x SIP/2.0\r\nContent-Length: 4\r\n\r\nhi\r\n"
        );
    }

    #[test]
    fn template_without_body_gets_blank_line() {
        let bytes = render_message(
            "OPTIONS sip:x SIP/2.0\nContent-Length: {content_length}\n",
            &TemplateVars::default(),
        );
        assert_eq!(bytes, b"OPTIONS sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n");
    }

    #[test]
    fn finds_variables() {
        assert_eq!(variables_in("a {x} b {y.z}"), vec!["x", "y.z"]);
    }
}
