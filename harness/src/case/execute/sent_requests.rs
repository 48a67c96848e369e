//! Which requests each actor of a case sent, by client transaction key
//! (`wire::sip::transaction::ClientKey`: Via branch and CSeq method, RFC
//! 3261 §17.1.3), so a response is taken only as the answer to a request
//! its actor really sent, and the dialog a 2xx forms is made from the
//! request it answers. A response that matches none is what a real UA
//! discards; the runner passes it over with a note instead of taking it as
//! the answer it waits for.
//!
//! Where this differs from a client transaction: any Via of the response
//! may carry the branch, not only the topmost (see
//! [`SentRequests::request_answered_by`]); and there are no transaction
//! states or timers, because the runner sends over TLS (nothing to
//! retransmit) and judges what arrives within the case's deadline rather
//! than acting on a timeout.

use std::collections::HashMap;

use picharness_wire::sip::SipMessage;
use picharness_wire::sip::transaction::ClientKey;

/// Whether a response answers a request its actor sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Answers {
    /// Its Via branch and CSeq method are those of a sent request.
    Yes,
    /// It matches no request the actor sent.
    No,
    /// The actor sent something whose branch could not be read (a
    /// deliberately malformed request): the response is not judged.
    CannotTell,
}

#[derive(Debug, Default)]
struct ActorSends {
    /// Every request sent, by its client transaction key.
    requests: HashMap<ClientKey, SipMessage>,
    /// Whether a sent message could not be read back.
    unreadable: bool,
}

/// The requests every actor of one case sent.
#[derive(Debug, Default)]
pub(crate) struct SentRequests {
    by_actor: HashMap<String, ActorSends>,
}

impl SentRequests {
    /// Records the message `actor` is about to send, as rendered.
    pub(crate) fn record(&mut self, actor: &str, bytes: &[u8]) {
        let sends = self.by_actor.entry(actor.to_owned()).or_default();
        match SipMessage::parse(bytes) {
            Ok(message) if message.is_request() => match ClientKey::of(&message) {
                Some(key) => {
                    sends.requests.insert(key, message);
                }
                None => sends.unreadable = true,
            },
            Ok(_) => {}
            Err(_) => sends.unreadable = true,
        }
    }

    /// The request `actor` sent that `response` answers. Any Via, not only
    /// the topmost: a response that still carries the Edge's own Via above
    /// ours answers our request, and the validator names that defect better
    /// than a wait that times out would.
    pub(crate) fn request_answered_by(
        &self,
        actor: &str,
        response: &SipMessage,
    ) -> Option<&SipMessage> {
        let sends = self.by_actor.get(actor)?;
        let (_, method) = response.cseq()?;
        response.vias().iter().find_map(|via| {
            let key = ClientKey {
                branch: via.branch()?.to_owned(),
                method: method.to_owned(),
            };
            sends.requests.get(&key)
        })
    }

    /// Whether `response`, received by `actor`, answers a request it sent.
    pub(crate) fn answers(&self, actor: &str, response: &SipMessage) -> Answers {
        let unreadable = self.by_actor.get(actor).is_some_and(|s| s.unreadable);
        match (self.request_answered_by(actor, response), unreadable) {
            (Some(_), _) => Answers::Yes,
            (None, true) => Answers::CannotTell,
            (None, false) => Answers::No,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(branch: &str, method: &str) -> Vec<u8> {
        format!(
            "{method} sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/TLS peer.example.net;branch={branch}\r\n\
             From: <sip:alice@example.net>;tag=1\r\nTo: <sip:bob@example.com>\r\nCall-ID: c1\r\n\
             CSeq: 1 {method}\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    fn response(branch: &str, method: &str) -> SipMessage {
        let text = format!(
            "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS peer.example.net;branch={branch}\r\n\
             From: <sip:alice@example.net>;tag=1\r\nTo: <sip:bob@example.com>;tag=2\r\n\
             Call-ID: c1\r\nCSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
        );
        SipMessage::parse(text.as_bytes()).expect("response parses")
    }

    #[test]
    fn a_response_with_the_branch_and_method_of_a_sent_request_answers_it() {
        let mut sent = SentRequests::default();
        sent.record("aol", &request("z9hG4bK-1", "OPTIONS"));
        assert_eq!(
            sent.answers("aol", &response("z9hG4bK-1", "OPTIONS")),
            Answers::Yes
        );
    }

    #[test]
    fn another_branch_another_method_or_another_actor_answers_nothing() {
        let mut sent = SentRequests::default();
        sent.record("aol", &request("z9hG4bK-1", "OPTIONS"));
        assert_eq!(
            sent.answers("aol", &response("z9hG4bK-2", "OPTIONS")),
            Answers::No
        );
        assert_eq!(
            sent.answers("aol", &response("z9hG4bK-1", "MESSAGE")),
            Answers::No
        );
        assert_eq!(
            sent.answers("pool", &response("z9hG4bK-1", "OPTIONS")),
            Answers::No
        );
    }

    #[test]
    fn a_cancel_and_its_invite_share_a_branch_and_both_are_answered() {
        let mut sent = SentRequests::default();
        sent.record("aol", &request("z9hG4bK-1", "INVITE"));
        sent.record("aol", &request("z9hG4bK-1", "CANCEL"));
        assert_eq!(
            sent.answers("aol", &response("z9hG4bK-1", "CANCEL")),
            Answers::Yes
        );
        assert_eq!(
            sent.answers("aol", &response("z9hG4bK-1", "INVITE")),
            Answers::Yes
        );
    }

    #[test]
    fn our_branch_below_a_via_the_edge_left_on_still_answers_the_request() {
        let mut sent = SentRequests::default();
        sent.record("aol", &request("z9hG4bK-1", "MESSAGE"));
        let text = "SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS edge.example.com;branch=z9hG4bK-edge\r\n\
                    Via: SIP/2.0/TLS peer.example.net;branch=z9hG4bK-1\r\nCSeq: 1 MESSAGE\r\n\
                    Content-Length: 0\r\n\r\n";
        let response = SipMessage::parse(text.as_bytes()).expect("response parses");
        assert_eq!(sent.answers("aol", &response), Answers::Yes);
    }

    #[test]
    fn after_an_unreadable_send_a_stray_response_cannot_be_told() {
        let mut sent = SentRequests::default();
        sent.record("aol", b"NOT SIP AT ALL\r\n\r\n");
        assert_eq!(
            sent.answers("aol", &response("z9hG4bK-9", "OPTIONS")),
            Answers::CannotTell
        );
    }

    #[test]
    fn responses_the_actor_sends_are_not_requests_it_waits_on() {
        let mut sent = SentRequests::default();
        let answer = b"SIP/2.0 200 OK\r\nVia: SIP/2.0/TLS edge;branch=z9hG4bK-e\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n";
        sent.record("pool", answer);
        assert_eq!(
            sent.answers("pool", &response("z9hG4bK-e", "MESSAGE")),
            Answers::No
        );
    }

    #[test]
    fn the_answered_request_is_the_one_sent_with_that_branch_and_method() {
        let mut sent = SentRequests::default();
        sent.record("aol", &request("z9hG4bK-1", "INVITE"));
        sent.record("aol", &request("z9hG4bK-2", "MESSAGE"));
        let answered = sent
            .request_answered_by("aol", &response("z9hG4bK-2", "MESSAGE"))
            .expect("answers the MESSAGE");
        assert_eq!(answered.method(), Some("MESSAGE"));
        assert!(
            sent.request_answered_by("aol", &response("z9hG4bK-2", "INVITE"))
                .is_none()
        );
    }
}
