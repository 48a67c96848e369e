//! Matching messages to transactions (RFC 3261 §17.1.3, §17.2.3).

use crate::sip::message::SipMessage;
use crate::sip::via::Via;

/// What a client transaction matches responses by: the branch of the top
/// Via and the CSeq method (§17.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientKey {
    pub branch: String,
    pub method: String,
}

impl ClientKey {
    /// The key of a request (when it is sent) or of a response (when it
    /// arrives); `None` without a top Via branch or CSeq.
    pub fn of(message: &SipMessage) -> Option<Self> {
        let branch = message.top_via()?.branch()?.to_owned();
        let (_, method) = message.cseq()?;
        Some(Self {
            branch,
            method: method.to_owned(),
        })
    }
}

/// What a server transaction matches requests by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ServerKey {
    /// RFC 3261 branches: branch, sent-by and method, with ACK matching
    /// the INVITE (§17.2.3).
    Rfc3261 {
        branch: String,
        sent_by: String,
        method: String,
    },
    /// RFC 2543 requests without the magic cookie: Request-URI, tags,
    /// Call-ID, CSeq number and top Via (§17.2.3, last paragraphs). The
    /// To tag is left out so the ACK for a final response matches.
    Rfc2543 {
        request_uri: String,
        from_tag: String,
        call_id: String,
        cseq: u32,
        top_via: String,
        method: String,
    },
}

impl ServerKey {
    /// The key of an arriving request; `None` when it lacks the headers
    /// needed to match.
    pub fn of(request: &SipMessage) -> Option<Self> {
        let via: Via = request.top_via()?;
        let method = request.method()?;
        let method = if method == "ACK" { "INVITE" } else { method }.to_owned();
        if via.has_rfc3261_branch() {
            return Some(Self::Rfc3261 {
                branch: via.branch()?.to_owned(),
                sent_by: via.sent_by().to_ascii_lowercase(),
                method,
            });
        }
        let (cseq, _) = request.cseq()?;
        Some(Self::Rfc2543 {
            request_uri: request.request_uri()?.to_owned(),
            from_tag: request.from_addr()?.tag().unwrap_or_default().to_owned(),
            call_id: request.call_id()?.to_owned(),
            cseq,
            top_via: via.to_string(),
            method,
        })
    }

    /// For the key of a CANCEL, the key of the INVITE server transaction it
    /// cancels: the same match with the method taken as INVITE (§9.2).
    pub fn cancelled_invite(&self) -> Option<Self> {
        let mut key = self.clone();
        let method = match &mut key {
            Self::Rfc3261 { method, .. } | Self::Rfc2543 { method, .. } => method,
        };
        if method != "CANCEL" {
            return None;
        }
        "INVITE".clone_into(method);
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> SipMessage {
        SipMessage::parse(text.replace('\n', "\r\n").as_bytes()).expect("test message parses")
    }

    #[test]
    fn ack_matches_its_invite_server_transaction() {
        let invite = msg(
            "INVITE sip:b@x SIP/2.0\nVia: SIP/2.0/TLS a.example.com:5061;branch=z9hG4bK1\nCSeq: 1 INVITE\nContent-Length: 0\n\n",
        );
        let ack = msg(
            "ACK sip:b@x SIP/2.0\nVia: SIP/2.0/TLS A.example.com:5061;branch=z9hG4bK1\nCSeq: 1 ACK\nContent-Length: 0\n\n",
        );
        let bye = msg(
            "BYE sip:b@x SIP/2.0\nVia: SIP/2.0/TLS a.example.com:5061;branch=z9hG4bK1\nCSeq: 2 BYE\nContent-Length: 0\n\n",
        );
        assert_eq!(ServerKey::of(&invite), ServerKey::of(&ack));
        assert_ne!(ServerKey::of(&invite), ServerKey::of(&bye));
    }

    #[test]
    fn cancel_finds_its_invite_and_other_methods_find_none() {
        let invite = msg(
            "INVITE sip:b@x SIP/2.0\nVia: SIP/2.0/TLS a.example.com:5061;branch=z9hG4bK1\nCSeq: 1 INVITE\nContent-Length: 0\n\n",
        );
        let cancel = msg(
            "CANCEL sip:b@x SIP/2.0\nVia: SIP/2.0/TLS a.example.com:5061;branch=z9hG4bK1\nCSeq: 1 CANCEL\nContent-Length: 0\n\n",
        );
        let cancel_key = ServerKey::of(&cancel).expect("keyed");
        assert_ne!(Some(&cancel_key), ServerKey::of(&invite).as_ref());
        assert_eq!(cancel_key.cancelled_invite(), ServerKey::of(&invite));
        let invite_key = ServerKey::of(&invite).expect("keyed");
        assert_eq!(invite_key.cancelled_invite(), None);
    }

    #[test]
    fn client_key_needs_branch_and_method() {
        let response = msg(
            "SIP/2.0 200 OK\nVia: SIP/2.0/TLS a;branch=z9hG4bK9\nCSeq: 4 MESSAGE\nContent-Length: 0\n\n",
        );
        assert_eq!(
            ClientKey::of(&response),
            Some(ClientKey {
                branch: "z9hG4bK9".to_owned(),
                method: "MESSAGE".to_owned()
            })
        );
        let no_via = msg("SIP/2.0 200 OK\nCSeq: 4 MESSAGE\nContent-Length: 0\n\n");
        assert_eq!(ClientKey::of(&no_via), None);
    }

    #[test]
    fn rfc2543_requests_match_by_dialog_fields() {
        let a = msg(
            "INVITE sip:b@x SIP/2.0\nVia: SIP/2.0/TCP a\nFrom: <sip:a@x>;tag=1\nCall-ID: c\nCSeq: 1 INVITE\nContent-Length: 0\n\n",
        );
        let ack = msg(
            "ACK sip:b@x SIP/2.0\nVia: SIP/2.0/TCP a\nFrom: <sip:a@x>;tag=1\nTo: <sip:b@x>;tag=2\nCall-ID: c\nCSeq: 1 ACK\nContent-Length: 0\n\n",
        );
        assert!(matches!(ServerKey::of(&a), Some(ServerKey::Rfc2543 { .. })));
        assert_eq!(ServerKey::of(&a), ServerKey::of(&ack));
    }
}
