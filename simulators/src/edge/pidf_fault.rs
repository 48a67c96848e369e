//! The `pidf-entity-rewritten` fault: what a topology-hiding gateway that
//! rewrites addresses in bodies does to presence. In a relayed NOTIFY with
//! a PIDF body, the `entity` of the `<presence>` root names a user other
//! than the presentity, so the watcher can no longer tell whose presence it
//! got (PRES-05). Every other message passes untouched.

use picharness_wire::sip::SipMessage;

/// The presentity every rewritten document claims to be.
const OTHER_ENTITY: &str = "sip:hidden@edge.invalid";

/// Applies the fault to `message` in place; returns whether it changed.
pub(crate) fn rewrite_pidf_entity(message: &mut SipMessage) -> bool {
    let is_pidf_notify = message.method() == Some("NOTIFY")
        && message.headers.first("content-type").is_some_and(|t| {
            t.trim()
                .to_ascii_lowercase()
                .starts_with("application/pidf+xml")
        });
    if !is_pidf_notify {
        return false;
    }
    let Ok(text) = std::str::from_utf8(&message.body) else {
        return false;
    };
    let Some(start) = text.find("entity=\"").map(|i| i + "entity=\"".len()) else {
        return false;
    };
    let Some(len) = text[start..].find('"') else {
        return false;
    };
    let rewritten = format!("{}{OTHER_ENTITY}{}", &text[..start], &text[start + len..]);
    message.set_body(rewritten.into_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = "<presence xmlns=\"urn:ietf:params:xml:ns:pidf\" entity=\"sip:bob@contoso.test\"><tuple id=\"t\"><status><basic>open</basic></status></tuple></presence>";

    fn notify(content_type: &str) -> SipMessage {
        let text = format!(
            "NOTIFY sip:al@msn.com SIP/2.0\r\nVia: SIP/2.0/TLS pool;branch=z9hG4bKa\r\n\
From: <sip:bob@contoso.test>;tag=1\r\nTo: <sip:al@msn.com>;tag=2\r\nCall-ID: c\r\n\
CSeq: 1 NOTIFY\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\r\n{BODY}",
            BODY.len()
        );
        SipMessage::parse(text.as_bytes()).expect("notify parses")
    }

    #[test]
    fn the_entity_of_a_relayed_pidf_notify_changes_and_content_length_follows() {
        let mut message = notify("application/pidf+xml");
        assert!(rewrite_pidf_entity(&mut message));
        let body = String::from_utf8(message.body.clone()).expect("utf-8");
        assert!(
            body.contains("entity=\"sip:hidden@edge.invalid\""),
            "{body}"
        );
        assert!(body.contains("<basic>open</basic>"), "{body}");
        let reparsed = SipMessage::parse(&message.to_bytes()).expect("still parses");
        assert_eq!(reparsed.body, message.body);
    }

    #[test]
    fn other_bodies_pass_untouched() {
        let mut message = notify("text/plain");
        assert!(!rewrite_pidf_entity(&mut message));
        assert!(String::from_utf8_lossy(&message.body).contains("sip:bob@contoso.test"));
    }
}
