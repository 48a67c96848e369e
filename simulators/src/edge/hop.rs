//! Requests the reference Edge makes itself on a hop, sans-IO: the CANCEL
//! it sends downstream for a cancelled INVITE (RFC 3261 §9.1) and the ACK
//! it sends for a non-2xx final response (RFC 3261 §17.1.1.3).

use picharness_wire::sip::SipMessage;

/// Copies the headers a hop-by-hop request shares with the INVITE it
/// belongs to: the topmost Via only (same branch), Route, From, Call-ID.
fn hop_request(method: &str, invite: &SipMessage, to: Option<&str>) -> SipMessage {
    let uri = invite.request_uri().unwrap_or_default();
    let mut request = SipMessage::request(method, uri);
    if let Some(via) = invite.headers.values("via").first() {
        request.headers.push("Via", *via);
    }
    request.headers.push("Max-Forwards", "70");
    for route in invite.headers.values("route") {
        request.headers.push("Route", route);
    }
    for name in ["From", "To", "Call-ID"] {
        let value = if name == "To" {
            to.or(invite.headers.first("to"))
        } else {
            invite.headers.first(name)
        };
        if let Some(value) = value {
            request.headers.push(name, value);
        }
    }
    let number = invite.cseq().map_or(1, |(n, _)| n);
    request.headers.push("CSeq", format!("{number} {method}"));
    request.headers.push("Content-Length", "0");
    request
}

/// The CANCEL for an INVITE this hop forwarded.
pub(crate) fn cancel_for(forwarded_invite: &SipMessage) -> SipMessage {
    hop_request("CANCEL", forwarded_invite, None)
}

/// The ACK for a non-2xx final response to an INVITE this hop forwarded:
/// the To (with its tag) comes from the response.
pub(crate) fn ack_for(forwarded_invite: &SipMessage, response: &SipMessage) -> SipMessage {
    hop_request("ACK", forwarded_invite, response.headers.first("to"))
}

/// The `hop-ack-new-branch` fault: the ACK's Via gets a branch of its own,
/// as if the ACK for a non-2xx final response were a new transaction
/// (RFC 3261 §17.1.1.3 asks for the INVITE's branch).
pub(crate) fn give_new_branch(ack: &mut SipMessage) {
    let Some(via) = ack.headers.first("via").map(str::to_owned) else {
        return;
    };
    let Some((sent_by, _)) = via.split_once(";branch=") else {
        return;
    };
    ack.headers.set(
        "Via",
        format!(
            "{sent_by};branch=z9hG4bK-ack-{:016x}",
            rand::random::<u64>()
        ),
    );
}

/// The `hop-ack-copies-vias` fault: the ACK carries every Via of the
/// INVITE, the previous hops' too, as if it were forwarded end to end
/// (RFC 3261 §17.1.1.3 asks for one Via, the INVITE's topmost).
pub(crate) fn copy_all_vias(ack: &mut SipMessage, forwarded_invite: &SipMessage) {
    for via in forwarded_invite.headers.values("via").into_iter().skip(1) {
        ack.headers.push("Via", via);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &[u8] = b"INVITE sip:bob@pool.contoso.test SIP/2.0\r\n\
Via: SIP/2.0/TLS edge-int.contoso.test:5061;branch=z9hG4bK-edge-1\r\n\
Via: SIP/2.0/TLS peer.example:5061;branch=z9hG4bK-peer\r\n\
Record-Route: <sip:edge-int.contoso.test;lr>\r\n\
Max-Forwards: 69\r\n\
From: <sip:al@hotmail.com>;tag=a1\r\n\
To: <sip:bob@contoso.test>\r\n\
Call-ID: c1\r\n\
CSeq: 7 INVITE\r\n\
Content-Length: 0\r\n\r\n";

    #[test]
    fn cancel_matches_the_invite_transaction() {
        let invite = SipMessage::parse(INVITE).expect("parses");
        let cancel = cancel_for(&invite);
        assert_eq!(cancel.method(), Some("CANCEL"));
        assert_eq!(cancel.request_uri(), Some("sip:bob@pool.contoso.test"));
        assert_eq!(
            cancel.headers.values("via"),
            vec!["SIP/2.0/TLS edge-int.contoso.test:5061;branch=z9hG4bK-edge-1"]
        );
        assert_eq!(cancel.cseq(), Some((7, "CANCEL")));
        assert_eq!(cancel.headers.first("to"), Some("<sip:bob@contoso.test>"));
        assert_eq!(cancel.headers.count("record-route"), 0);
    }

    #[test]
    fn the_fault_gives_the_ack_a_branch_of_its_own_and_keeps_one_via() {
        let invite = SipMessage::parse(INVITE).expect("parses");
        let response = invite.response(486, "Busy Here", Some("pool-9"));
        let mut ack = ack_for(&invite, &response);
        give_new_branch(&mut ack);
        let vias = ack.headers.values("via");
        assert_eq!(vias.len(), 1, "{vias:?}");
        assert!(
            vias[0].starts_with("SIP/2.0/TLS edge-int.contoso.test:5061;branch=z9hG4bK-ack-"),
            "{vias:?}"
        );
        assert!(!vias[0].contains("z9hG4bK-edge-1"), "{vias:?}");
    }

    #[test]
    fn the_copying_fault_gives_the_ack_the_invite_s_vias_in_order() {
        let invite = SipMessage::parse(INVITE).expect("parses");
        let response = invite.response(486, "Busy Here", Some("pool-9"));
        let mut ack = ack_for(&invite, &response);
        copy_all_vias(&mut ack, &invite);
        assert_eq!(ack.headers.values("via"), invite.headers.values("via"));
        assert!(SipMessage::parse(&ack.to_bytes()).is_ok());
    }

    #[test]
    fn ack_takes_the_to_tag_of_the_response() {
        let invite = SipMessage::parse(INVITE).expect("parses");
        let response = invite.response(487, "Request Terminated", Some("pool-9"));
        let ack = ack_for(&invite, &response);
        assert_eq!(ack.cseq(), Some((7, "ACK")));
        assert_eq!(
            ack.headers.first("to"),
            Some("<sip:bob@contoso.test>;tag=pool-9")
        );
        assert_eq!(ack.top_via_branch(), Some("z9hG4bK-edge-1"));
    }
}
