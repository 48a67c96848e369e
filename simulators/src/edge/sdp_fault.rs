//! The `sdp-rewritten` fault: what a meddling application-level gateway
//! does to SDP. The first relayed ICE candidate (`a=candidate ... typ
//! relay`) in a relayed INVITE or 2xx answer gets its port moved by one,
//! so media sent there misses the relay. Everything else, and every other
//! message, passes untouched.

use picharness_wire::sip::SipMessage;

/// Whether `message` is one the fault rewrites: an INVITE, or a 2xx
/// response to one, carrying SDP.
fn carries_offer_or_answer(message: &SipMessage) -> bool {
    let is_invite = if message.is_request() {
        message.method() == Some("INVITE")
    } else {
        message.status().is_some_and(|s| (200..300).contains(&s))
            && message.cseq().is_some_and(|(_, m)| m == "INVITE")
    };
    let is_sdp = message
        .headers
        .first("content-type")
        .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("application/sdp"));
    is_invite && is_sdp
}

/// The candidate line with its port (the sixth field after `candidate:`)
/// moved by one, when it is a relayed candidate.
fn moved_relay_port(line: &str) -> Option<String> {
    let value = line.strip_prefix("a=candidate:")?;
    let mut fields: Vec<String> = value.split(' ').map(str::to_owned).collect();
    let relayed = fields.windows(2).any(|w| w[0] == "typ" && w[1] == "relay");
    let port: u16 = fields.get(5)?.parse().ok()?;
    if !relayed {
        return None;
    }
    fields[5] = port.wrapping_add(1).to_string();
    Some(format!("a=candidate:{}", fields.join(" ")))
}

/// Applies the fault to `message` in place; returns whether it changed.
pub(crate) fn rewrite_sdp(message: &mut SipMessage) -> bool {
    if !carries_offer_or_answer(message) {
        return false;
    }
    let Ok(text) = std::str::from_utf8(&message.body) else {
        return false;
    };
    let mut changed = false;
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let content = line.trim_end_matches(['\r', '\n']);
        let ending = &line[content.len()..];
        match moved_relay_port(content).filter(|_| !changed) {
            Some(rewritten) => {
                out.push_str(&rewritten);
                out.push_str(ending);
                changed = true;
            }
            None => out.push_str(line),
        }
    }
    if changed {
        message.set_body(out.into_bytes());
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:bob@contoso.test SIP/2.0\r\n\
Via: SIP/2.0/TLS peer;branch=z9hG4bKa\r\nFrom: <sip:al@msn.com>;tag=1\r\n\
To: <sip:bob@contoso.test>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
Content-Type: application/sdp\r\nContent-Length: 109\r\n\r\n\
v=0\r\nm=audio 50000 RTP/AVP 0\r\n\
a=candidate:2 1 UDP 16777215 192.0.2.12 50000 typ relay raddr 0.0.0.0 rport 0\r\n";

    #[test]
    fn the_relay_candidate_port_moves_and_content_length_follows() {
        let mut message = SipMessage::parse(INVITE.as_bytes()).unwrap();
        assert!(rewrite_sdp(&mut message));
        let body = String::from_utf8(message.body.clone()).unwrap();
        assert!(body.contains("192.0.2.12 50001 typ relay"), "{body}");
        assert!(body.contains("m=audio 50000 RTP/AVP 0\r\n"));
        assert_eq!(
            message.headers.first("content-length"),
            Some(body.len().to_string().as_str())
        );
    }

    #[test]
    fn other_messages_are_untouched() {
        let text = INVITE
            .replace("INVITE sip", "MESSAGE sip")
            .replace("1 INVITE", "1 MESSAGE");
        let mut message = SipMessage::parse(text.as_bytes()).unwrap();
        assert!(!rewrite_sdp(&mut message));
        let reflexive_only = INVITE.replace("typ relay", "typ srflx");
        let mut message = SipMessage::parse(reflexive_only.as_bytes()).unwrap();
        assert!(!rewrite_sdp(&mut message));
    }
}
