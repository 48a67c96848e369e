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
    "pool.fqdn",
    "local.fqdn",
    "call_id",
    "branch",
    "tag",
    "content_length",
    "dialog.target",
    "dialog.remote",
    "dialog.route",
    "last_branch",
    "response.to",
    "av.client_ip",
    "av.client_port",
    "av.relay_ip",
    "av.relay_port",
    "av.media_ip",
    "av.media_port",
    "av.lync_relay_ip",
    "av.lync_relay_port",
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

/// The largest message `{fill_to:N}` may ask for: 1 MiB, sixteen times the
/// largest message a Lync Edge accepts, so every oversize case fits and a
/// typo cannot make the harness allocate gigabytes.
pub(crate) const MAX_FILL_TO: usize = 1 << 20;

/// The most header lines `{header_lines:N}` may make: ten times the 1,024
/// the wire parser accepts, far over any sane limit.
pub(crate) const MAX_HEADER_LINES: usize = 10_240;

/// Whether `name` is a variable a template may use: a known name,
/// `fill_to:N` (N at most [`MAX_FILL_TO`]), which pads the body so the
/// whole message is N bytes long, `pad:N` (N bytes of `x` where it stands,
/// a header value too; N at most [`MAX_FILL_TO`]) or `header_lines:N` (N
/// extension header lines `X-Pad-i: i`; N at most [`MAX_HEADER_LINES`]).
pub(crate) fn is_known_variable(name: &str) -> bool {
    let count = |prefix: &str, max: usize| {
        name.strip_prefix(prefix)
            .and_then(|n| n.parse::<usize>().ok())
            .is_some_and(|n| n <= max)
    };
    KNOWN_VARIABLES.contains(&name)
        || count("fill_to:", MAX_FILL_TO)
        || count("pad:", MAX_FILL_TO)
        || count("header_lines:", MAX_HEADER_LINES)
}

/// The text of a generated variable (`pad:N`, `header_lines:N`), `None`
/// for any other name.
fn generated(name: &str) -> Option<String> {
    if let Some(n) = name.strip_prefix("pad:") {
        let n = n.parse::<usize>().ok()?.min(MAX_FILL_TO);
        return Some("x".repeat(n));
    }
    let n = name
        .strip_prefix("header_lines:")?
        .parse::<usize>()
        .ok()?
        .min(MAX_HEADER_LINES);
    Some(
        (1..=n)
            .map(|i| format!("X-Pad-{i}: {i}"))
            .collect::<Vec<_>>()
            .join("\n"),
    )
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
                    None if generated(name).is_some() => {
                        out.push_str(&generated(name).unwrap_or_default());
                    }
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
/// header lines left empty by a variable (such as `{dialog.route}` outside a
/// dialog) dropped, the header block closed by an empty line, a
/// `{fill_to:N}` in the body replaced by filler so the whole message is N
/// bytes, and `{content_length}` set to the body's length in bytes.
pub fn render_message(template: &str, vars: &TemplateVars) -> Vec<u8> {
    // Split the template, not the result: a variable that expands to
    // nothing must not end the header block early.
    let normalised = template.replace("\r\n", "\n");
    let (head, body) = match normalised.split_once("\n\n") {
        Some((head, body)) => (substitute(head, vars), substitute(body, vars)),
        None => (
            substitute(normalised.trim_end_matches('\n'), vars),
            String::new(),
        ),
    };
    let head = head
        .lines()
        .filter(|line| !line.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\r\n");
    let mut body = body.replace('\n', "\r\n");
    if let Some((token, total)) = fill_target(&body) {
        let base_body = body.len() - token.len();
        let filler = filler_length(&head, base_body, total);
        body = body.replacen(&token, &"x".repeat(filler), 1);
    }
    let head = head.replace("{content_length}", &body.len().to_string());
    let mut out = Vec::with_capacity(head.len() + body.len() + 4);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body.as_bytes());
    out
}

/// How much filler makes the message `total` bytes long, given the header
/// block (with its `{content_length}` placeholder) and the body's length
/// without filler. 0 when the message is already that long or longer.
fn filler_length(head: &str, base_body: usize, total: usize) -> usize {
    let placeholders = head.matches("{content_length}").count();
    let fixed = head.len() - placeholders * "{content_length}".len() + 4;
    for digits in 1..=20 {
        let Some(body) = total.checked_sub(fixed + placeholders * digits) else {
            return 0;
        };
        if body >= base_body && body.to_string().len() == digits {
            return body - base_body;
        }
    }
    0
}

/// The first `{fill_to:N}` token in `body` and its N.
fn fill_target(body: &str) -> Option<(String, usize)> {
    let start = body.find("{fill_to:")?;
    let end = body[start..].find('}')? + start;
    let total: usize = body[start + "{fill_to:".len()..end].parse().ok()?;
    // Loading refuses more; a template built some other way is capped too.
    let total = total.min(MAX_FILL_TO);
    Some((body[start..=end].to_owned(), total))
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
    fn fill_to_makes_the_message_exactly_that_long() {
        for total in [200, 999, 1000, 1001, 65_536, 65_537] {
            let bytes = render_message(
                "MESSAGE sip:x SIP/2.0\nContent-Length: {content_length}\n\n{fill_to:TOTAL}"
                    .replace("TOTAL", &total.to_string())
                    .as_str(),
                &TemplateVars::default(),
            );
            assert_eq!(bytes.len(), total, "fill_to:{total}");
            let message = picharness_wire::sip::SipMessage::parse(&bytes).expect("parses");
            assert_eq!(
                message.body.len(),
                bytes.len()
                    - (bytes
                        .windows(4)
                        .position(|w| w == b"\r\n\r\n")
                        .expect("blank line")
                        + 4)
            );
        }
    }

    #[test]
    fn empty_header_lines_are_dropped() {
        let bytes = render_message(
            "BYE sip:x SIP/2.0\n{dialog.route}\nContent-Length: {content_length}\n",
            &TemplateVars::default(),
        );
        assert_eq!(
            bytes,
            b"BYE sip:x SIP/2.0\r\n{dialog.route}\r\nContent-Length: 0\r\n\r\n"
        );
        let mut vars = TemplateVars::default();
        vars.set("dialog.route", "");
        let bytes = render_message(
            "BYE sip:x SIP/2.0\n{dialog.route}\nContent-Length: {content_length}\n",
            &vars,
        );
        assert_eq!(bytes, b"BYE sip:x SIP/2.0\r\nContent-Length: 0\r\n\r\n");
    }

    #[test]
    fn pad_and_header_lines_expand_in_the_header_block() {
        let bytes = render_message(
            "MESSAGE sip:x SIP/2.0\nSubject: {pad:5}\n{header_lines:3}\nContent-Length: {content_length}\n",
            &TemplateVars::default(),
        );
        assert_eq!(
            bytes,
            b"MESSAGE sip:x SIP/2.0\r\nSubject: xxxxx\r\nX-Pad-1: 1\r\nX-Pad-2: 2\r\nX-Pad-3: 3\r\nContent-Length: 0\r\n\r\n"
        );
        assert!(is_known_variable("pad:1048576"));
        assert!(!is_known_variable("pad:1048577"));
        assert!(is_known_variable("header_lines:10240"));
        assert!(!is_known_variable("header_lines:x"));
    }

    #[test]
    fn finds_variables() {
        assert_eq!(variables_in("a {x} b {y.z}"), vec!["x", "y.z"]);
    }
}
