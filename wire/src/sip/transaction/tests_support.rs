//! Messages shared by the transaction tests.

use crate::sip::message::SipMessage;

pub(super) fn parse(text: &str) -> SipMessage {
    SipMessage::parse(text.replace('\n', "\r\n").as_bytes()).expect("test message parses")
}

pub(super) fn invite() -> SipMessage {
    parse(
        "INVITE sip:bob@contoso.test SIP/2.0
Via: SIP/2.0/TLS a.example.com:5061;branch=z9hG4bKinv1
Route: <sip:p1.example.com;lr>
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@contoso.test>
Call-ID: call-1
CSeq: 7 INVITE
Contact: <sip:alice@a.example.com;transport=tls>
Content-Length: 0

",
    )
}

pub(super) fn message_request() -> SipMessage {
    parse(
        "MESSAGE sip:bob@contoso.test SIP/2.0
Via: SIP/2.0/TLS a.example.com:5061;branch=z9hG4bKmsg1
Max-Forwards: 70
From: <sip:alice@example.com>;tag=a1
To: <sip:bob@contoso.test>
Call-ID: call-2
CSeq: 1 MESSAGE
Content-Type: text/plain
Content-Length: 2

hi",
    )
}

pub(super) fn response_to(request: &SipMessage, code: u16) -> SipMessage {
    request.response(code, "Reason", (code > 100).then_some("b1"))
}

pub(super) fn ack_for(invite: &SipMessage) -> SipMessage {
    let mut ack = invite.clone();
    ack.start = crate::sip::message::StartLine::Request {
        method: "ACK".to_owned(),
        uri: invite.request_uri().unwrap_or_default().to_owned(),
        version: "SIP/2.0".to_owned(),
    };
    let n = invite.cseq().map_or(1, |(n, _)| n);
    ack.headers.set("CSeq", format!("{n} ACK"));
    ack
}
